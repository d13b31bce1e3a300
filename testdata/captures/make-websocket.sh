#!/usr/bin/env bash
# make-websocket.sh — regenerate pcap/websocket/ks_ws_{deflate,plain,nctx}.pcap (+ .tshark.json).
# Needs root (network namespace), tcpdump, tshark, python3 with websockets.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
PORT=8765
for spec in deflate:127.0.0.1 plain:::1 nctx:127.0.0.1; do
    mode="${spec%%:*}" host="${spec#*:}"
    out="$PCAP_DIR/websocket/ks_ws_$mode.pcap"
    capture "$out" "tcp port $PORT" python3 "$CAPTURES_DIR/ws_demo.py" "$mode" "$host" "$PORT"
    # tshark does not try HTTP on port 8765 by itself; the Upgrade then switches to websocket
    echo "tcp.port==$PORT,http" > "${out%.pcap}.decode-as"
    "$CAPTURES_DIR/../make-references.sh" "$out"
done
