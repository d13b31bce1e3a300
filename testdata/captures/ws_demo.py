"""WebSocket scenario for the ks_ws_*.pcap captures (python `websockets`).

Usage: ws_demo.py MODE HOST PORT
  MODE deflate : permessage-deflate as websockets negotiates it by default
                 (context takeover, client_max_window_bits)
       plain   : compression=None, subprotocol "chat.ks.v1"
       nctx    : permessage-deflate with server_no_context_takeover,
                 client_no_context_takeover and server_max_window_bits=11
Server (echo) and client run in this process, one connection.

Client sends, waiting for each answer:
  text "hello ks"                  -> echoed
  binary bytes 0..255              -> echoed
  ping "ks-ping"                   -> pong "ks-ping"
  text "ping me"                   -> server sends ping "srv-ping", client pongs, server echoes
  ~11 KB repetitive text, twice    -> echoed twice (compressed sizes differ a
                                      little with and without context takeover)
  ~18 KB seeded random words       -> echoed (compresses to ~6 KB: spans TCP segments)
  text in 3 fragments (continuation frames) -> echoed as one frame
  text "fragments please"          -> server answers a binary message in 3 fragments
  close 1000 "bye bye"             -> close echoed
"""
import asyncio
import random
import sys

from websockets.asyncio.client import connect
from websockets.asyncio.server import serve
from websockets.extensions.permessage_deflate import (
    ClientPerMessageDeflateFactory, ServerPerMessageDeflateFactory)

MODE, HOST, PORT = sys.argv[1], sys.argv[2], int(sys.argv[3])
BIG = "".join("line %04d: the quick brown fox jumps over the lazy dog\n" % i for i in range(200))
_rng = random.Random(8441)
_WORDS = ("alpha bravo charlie delta echo foxtrot golf hotel india juliett kilo lima mike "
          "november oscar papa quebec romeo sierra tango uniform victor whiskey xray").split()
WORDS = " ".join(_rng.choice(_WORDS) + str(_rng.randrange(1000)) for _ in range(2000))


async def echo(ws):
    async for msg in ws:
        if msg == "fragments please":
            await ws.send([b"part-one|", b"part-two|", b"part-three"])
        elif msg == "ping me":
            await (await ws.ping(b"srv-ping"))
            await ws.send(msg)
        else:
            await ws.send(msg)


def options():
    common = dict(ping_interval=None, max_size=2**20)
    if MODE == "deflate":
        return dict(common), dict(common)
    if MODE == "plain":
        return (dict(common, compression=None, subprotocols=["chat.ks.v1"]),
                dict(common, compression=None, subprotocols=["chat.ks.v1"]))
    if MODE == "nctx":
        srv = ServerPerMessageDeflateFactory(server_no_context_takeover=True,
                                             client_no_context_takeover=True,
                                             server_max_window_bits=11)
        cli = ClientPerMessageDeflateFactory(server_no_context_takeover=True,
                                             client_no_context_takeover=True,
                                             server_max_window_bits=11)
        return (dict(common, compression=None, extensions=[srv]),
                dict(common, compression=None, extensions=[cli]))
    raise SystemExit("unknown mode " + MODE)


async def main():
    sopts, copts = options()
    host = "[%s]" % HOST if ":" in HOST else HOST
    async with serve(echo, HOST, PORT, **sopts):
        async with connect("ws://%s:%d/ks/echo?mode=%s" % (host, PORT, MODE), **copts) as ws:
            print("extensions:", ws.response.headers.get("Sec-WebSocket-Extensions"),
                  "subprotocol:", ws.subprotocol)
            # fragmented messages last: tshark 4.0 does not inflate fragmented
            # compressed messages and loses its inflate context after them
            for msg in ["hello ks", bytes(range(256)), None, "ping me", BIG, BIG, WORDS,
                        ["frag-one ", "frag-two ", "frag-three"], "fragments please"]:
                if msg is None:
                    await (await ws.ping(b"ks-ping"))
                    print("pong")
                    continue
                await ws.send(msg)
                got = await ws.recv()
                print(type(got).__name__, len(got))
            await ws.close(1000, "bye bye")
        await asyncio.sleep(0.2)


asyncio.run(main())
