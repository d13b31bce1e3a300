"""Client that cancels a stream: python `h2` over plain TCP (h2c prior knowledge).

Usage: h2_cancel.py HOST PORT
  SETTINGS_INITIAL_WINDOW_SIZE 16384, so the server sends at most 16 KiB of /big.txt
  stream 1: GET /big.txt, RST_STREAM(CANCEL) after the first DATA frame
  stream 3: GET /index.html, read to the end
  then GOAWAY(NO_ERROR) and close.
"""
import socket
import sys

import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.settings

host, port = sys.argv[1], int(sys.argv[2])
sock = socket.create_connection((host, port))
conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
conn.local_settings = h2.settings.Settings(
    client=True, initial_values={h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 16384,
                                 h2.settings.SettingCodes.ENABLE_PUSH: 0})
conn.initiate_connection()
sock.sendall(conn.data_to_send())


def req(sid, path):
    conn.send_headers(sid, [(":method", "GET"), (":scheme", "http"),
                            (":authority", "%s:%d" % (host, port)), (":path", path),
                            ("user-agent", "ks-capture-h2/" + h2.__version__)], end_stream=True)
    sock.sendall(conn.data_to_send())


req(1, "/big.txt")
cancelled = done = False
while not done:
    data = sock.recv(65535)
    if not data:
        break
    for ev in conn.receive_data(data):
        if isinstance(ev, h2.events.DataReceived):
            if ev.stream_id != 1:
                conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
            if ev.stream_id == 1 and not cancelled:
                conn.reset_stream(1, h2.errors.ErrorCodes.CANCEL)
                cancelled = True
                req(3, "/index.html")
        elif isinstance(ev, h2.events.StreamEnded) and ev.stream_id == 3:
            done = True
    sock.sendall(conn.data_to_send())
conn.close_connection()
sock.sendall(conn.data_to_send())
sock.close()
print("cancelled stream 1, stream 3 done:", done)
