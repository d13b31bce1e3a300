#!/usr/bin/env bash
# make-graphql.sh — regenerate pcap/graphql/ks_graphql_strawberry.pcap (+ .tshark.json).
# Needs root (network namespace), tcpdump, tshark, python3 with strawberry-graphql,
# uvicorn and websockets.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
PORT=8000
out="$PCAP_DIR/graphql/ks_graphql_strawberry.pcap"
mkdir -p "$PCAP_DIR/graphql"
capture "$out" "tcp port $PORT" bash -c '
    python3 "$0/gql_demo.py" serve "$1" & srv=$!
    for _ in $(seq 100); do ss -ltn | grep -q ":$1 " && break; sleep 0.1; done
    python3 "$0/gql_demo.py" client "$1"; rc=$?
    sleep 0.3; kill $srv; wait $srv; exit $rc' "$CAPTURES_DIR" "$PORT"
echo "tcp.port==$PORT,http" > "${out%.pcap}.decode-as"
"$CAPTURES_DIR/../make-references.sh" "$out"
