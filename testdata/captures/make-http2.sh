#!/usr/bin/env bash
# make-http2.sh — regenerate pcap/http2/ks_h2c_{prior-knowledge,upgrade,push,websocket-rfc8441}.pcap
# (+ .tshark.json). MODES='push h2ws' make-http2.sh regenerates only some of them.
# Needs root (network namespace), tcpdump, tshark, nghttpd (nghttp2-server), nghttp
# (nghttp2-client), curl with HTTP/2, python3 with h2 and hypercorn.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
PORT=8080   # tshark's HTTP port list includes 8080: no .decode-as needed
for mode in ${MODES:-prior upgrade push h2ws}; do
    case $mode in prior) name=ks_h2c_prior-knowledge ;; upgrade) name=ks_h2c_upgrade ;;
        push) name=ks_h2c_push ;; h2ws) name=ks_h2c_websocket-rfc8441 ;; esac
    out="$PCAP_DIR/http2/$name.pcap"
    capture "$out" "tcp port $PORT" bash "$CAPTURES_DIR/http2_scenario.sh" "$mode" "$PORT"
    "$CAPTURES_DIR/../make-references.sh" "$out"
done
