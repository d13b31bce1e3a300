#!/usr/bin/env bash
# make-redis.sh — regenerate pcap/redis/ks_redis_cli.pcap (+ .tshark.json).
# Needs root (network namespace), tcpdump, tshark, redis-server and redis-tools (redis-cli).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
PORT=6379
out="$PCAP_DIR/redis/ks_redis_cli.pcap"
capture "$out" "tcp port $PORT" "$CAPTURES_DIR/redis_scenario.sh" "$PORT"
# 6379 is tshark's default port for RESP: no .decode-as needed
"$CAPTURES_DIR/../make-references.sh" "$out"
