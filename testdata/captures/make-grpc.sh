#!/usr/bin/env bash
# make-grpc.sh — regenerate pcap/grpc/ks_grpc_python.pcap (+ .tshark.json).
# Needs root (network namespace), tcpdump, tshark, python3 with grpcio + grpcio-tools.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
PORT=50051
out="$PCAP_DIR/grpc/ks_grpc_python.pcap"
stubs="$(mktemp -d)"
trap 'rm -rf "$stubs"' EXIT
cp "$PCAP_DIR/grpc/ks_grpc_python.proto" "$stubs/demo.proto"
python3 -m grpc_tools.protoc -I"$stubs" --python_out="$stubs" --grpc_python_out="$stubs" "$stubs/demo.proto"
capture "$out" "tcp port $PORT" python3 "$CAPTURES_DIR/grpc_demo.py" "$stubs" "$PORT"
echo "tcp.port==$PORT,http2" > "${out%.pcap}.decode-as"
"$CAPTURES_DIR/../make-references.sh" "$out"
