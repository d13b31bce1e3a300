"""WebSocket over HTTP/2 (RFC 8441 extended CONNECT) client: python `h2` + `wsproto` framing.

Usage: h2_ws_client.py HOST PORT   (server: hypercorn serving h2_app.py, which sends
SETTINGS_ENABLE_CONNECT_PROTOCOL=1)
  stream 1: CONNECT :protocol websocket :path /ws  -> 200
            DATA: masked text "hello over h2", binary 0..63, ping (server echoes / pongs)
  stream 3: GET /index.html on the same connection while the WebSocket is open
  stream 1: close 1000 "bye" -> server close frame; the server ends stream 1
            (hypercorn 0.18 drops the whole connection if the client then also sends
            END_STREAM on it, so the client does not), then GOAWAY
"""
import socket
import sys

import h2.config
import h2.connection
import h2.events
from wsproto.frame_protocol import CloseReason, FrameProtocol, Opcode

host, port = sys.argv[1], int(sys.argv[2])
sock = socket.create_connection((host, port))
conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
conn.initiate_connection()
sock.sendall(conn.data_to_send())
ws = FrameProtocol(client=True, extensions=[])
auth = "%s:%d" % (host, port)


def pump(until):
    """read and handle events until until() is true"""
    while not until():
        data = sock.recv(65535)
        if not data:
            return
        for ev in conn.receive_data(data):
            handle(ev)
        sock.sendall(conn.data_to_send())


state = {"settings": False, "ws_open": False, "frames": [], "closed": False, "s3": False}


def handle(ev):
    if isinstance(ev, h2.events.RemoteSettingsChanged):
        state["settings"] = True
    elif isinstance(ev, h2.events.ResponseReceived) and ev.stream_id == 1:
        state["ws_open"] = dict(ev.headers).get(b":status") == b"200"
    elif isinstance(ev, h2.events.DataReceived):
        conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
        if ev.stream_id == 1:
            ws.receive_bytes(ev.data)
            for f in ws.received_frames():
                state["frames"].append((f.opcode, f.payload))
                if f.opcode == Opcode.CLOSE:
                    state["closed"] = True
    elif isinstance(ev, h2.events.StreamEnded) and ev.stream_id == 3:
        state["s3"] = True
    elif isinstance(ev, h2.events.StreamEnded) and ev.stream_id == 1:
        state["s1_ended"] = True


pump(lambda: state["settings"])
conn.send_headers(1, [(":method", "CONNECT"), (":protocol", "websocket"), (":scheme", "http"),
                      (":path", "/ws"), (":authority", auth), ("sec-websocket-version", "13"),
                      ("user-agent", "ks-capture-h2ws")])
sock.sendall(conn.data_to_send())
pump(lambda: state["ws_open"])
for out in (ws.send_data("hello over h2", fin=True), ws.send_data(bytes(range(64)), fin=True),
            ws.ping(b"h2-ping")):
    n = len(state["frames"])
    conn.send_data(1, out)
    sock.sendall(conn.data_to_send())
    pump(lambda: len(state["frames"]) > n)
conn.send_headers(3, [(":method", "GET"), (":scheme", "http"), (":path", "/index.html"),
                      (":authority", auth)], end_stream=True)
sock.sendall(conn.data_to_send())
pump(lambda: state["s3"])
conn.send_data(1, ws.close(CloseReason.NORMAL_CLOSURE, "bye"))
sock.sendall(conn.data_to_send())
pump(lambda: state["closed"] and state.get("s1_ended"))
conn.close_connection()
sock.sendall(conn.data_to_send())
sock.close()
print("frames:", [o.name for o, p in state["frames"]], "stream 3 done:", state["s3"],
      "server ended stream 1:", state.get("s1_ended"))
