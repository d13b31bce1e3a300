#!/usr/bin/env bash
# http2_scenario.sh MODE PORT — run inside the capture namespace by make-http2.sh.
#   MODE prior   : h2c with prior knowledge (curl, nghttp, python h2 cancel client) to hypercorn
#   MODE upgrade : HTTP/1.1 Upgrade: h2c -> 101 -> HTTP/2 (curl --http2) to hypercorn
#   MODE push    : nghttpd server push (PUSH_PROMISE) to nghttp
#   MODE h2ws    : WebSocket over HTTP/2 (RFC 8441 extended CONNECT) to hypercorn
set -euo pipefail
mode="$1" port="$2" here="$(cd "$(dirname "$0")" && pwd)"
doc="$(mktemp -d)"
trap 'kill $srv 2>/dev/null || true; wait $srv 2>/dev/null || true; rm -rf "$doc"' EXIT
python3 - "$doc" <<'PY'
import sys, os
d = sys.argv[1]
open(os.path.join(d, "index.html"), "w").write(
    '<!doctype html>\n<html><head><title>ks h2c</title><link rel="stylesheet" href="/style.css">'
    '</head><body><h1>hello over h2c</h1></body></html>\n')
open(os.path.join(d, "style.css"), "w").write("body { font-family: sans-serif; color: #123; }\n")
# 200 KiB of numbered lines: the response spans many DATA frames and TCP segments
with open(os.path.join(d, "big.txt"), "w") as f:
    n = 0
    while f.tell() < 200 * 1024:
        f.write("%06d the quick brown fox jumps over the lazy dog 0123456789\n" % n)
        n += 1
open(os.path.join(d, "upload.json"), "w").write('{"user":"ks","items":[1,2,3],"note":"posted over h2c"}\n')
PY
url="http://127.0.0.1:$port"
wait_listen() { for _ in $(seq 100); do ss -ltn | grep -q ":$port " && return; sleep 0.1; done; exit 1; }
if [ "$mode" = push ]; then
    # nghttpd pushes /style.css with /index.html; nghttp fetches two URIs concurrently (200 + 404)
    nghttpd --no-tls -a 127.0.0.1 -d "$doc" -p/index.html=/style.css "$port" &
    srv=$!; wait_listen
    nghttp -n -s "$url/index.html" "$url/missing"
else
    # hypercorn (h2c by prior knowledge and by Upgrade) serving h2_app.py
    (cd "$here" && exec hypercorn -b "127.0.0.1:$port" h2_app:app) &
    srv=$!; wait_listen
fi
if [ "$mode" = prior ]; then
    # curl 7.88.1 fails ("Error in the HTTP2 framing layer") when it reuses a
    # prior-knowledge connection, so each curl call makes one request:
    # connection 1: curl GET; connection 2: curl POST with a JSON body (echoed back)
    curl -sS --http2-prior-knowledge -o /dev/null "$url/index.html" -w '%{http_version} %{http_code}\n'
    curl -sS --http2-prior-knowledge -o /dev/null -H 'content-type: application/json' \
        --data-binary @"$doc/upload.json" "$url/api/echo" -w '%{http_version} %{http_code}\n'
    # connection 3 (nghttp): three concurrent streams (200, 200 KiB, 404), PRIORITY frames
    nghttp -n -s "$url/index.html" "$url/big.txt" "$url/missing"
    # connection 4 (python h2): RST_STREAM(CANCEL) of a running download, then another request
    python3 "$here/h2_cancel.py" 127.0.0.1 "$port"
elif [ "$mode" = h2ws ]; then
    python3 "$here/h2_ws_client.py" 127.0.0.1 "$port"
elif [ "$mode" = upgrade ]; then
    # curl sends Upgrade: h2c + HTTP2-Settings; the first request becomes stream 1,
    # the second URL reuses the upgraded connection as stream 3
    curl -sS --http2 -o /dev/null "$url/index.html" -o /dev/null "$url/missing" -w '%{http_version} %{http_code}\n'
fi
sleep 0.3
