#!/usr/bin/env bash
# amqp_scenario.sh PORT — run inside the capture namespace by make-amqp.sh.
# Starts a throw-away RabbitMQ node (state in a temp dir) on 127.0.0.1:PORT, runs
# amqp_demo.py (pika) against it, then stops the node and its epmd.
set -euo pipefail
port="$1" here="$(cd "$(dirname "$0")" && pwd)"
tmp="$(mktemp -d)"
# the Debian rabbitmq-server wrapper drops to the rabbitmq user; erl_crash.dump goes to the cwd
chown rabbitmq: "$tmp"; cd "$tmp"
export RABBITMQ_NODENAME=ks@localhost RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 RABBITMQ_NODE_PORT="$port" \
       RABBITMQ_MNESIA_BASE="$tmp/mnesia" RABBITMQ_LOG_BASE="$tmp/log" RABBITMQ_PID_FILE="$tmp/pid"
cleanup() {
    rabbitmqctl -n "$RABBITMQ_NODENAME" stop >/dev/null 2>&1 || kill $srv 2>/dev/null || true
    wait $srv 2>/dev/null || true
    epmd -kill >/dev/null 2>&1 || true
    rm -rf "$tmp"
}
rabbitmq-server > "$tmp/server.out" 2>&1 &
srv=$!
trap cleanup EXIT
for _ in $(seq 1800); do kill -0 $srv 2>/dev/null || break; ss -ltn | grep -q "127.0.0.1:$port " && break; sleep 0.1; done
ss -ltn | grep -q "127.0.0.1:$port " || { cat "$tmp/server.out" >&2; exit 1; }
sleep 1
python3 "$here/amqp_demo.py" "$port"
