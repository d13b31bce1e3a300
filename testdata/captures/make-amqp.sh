#!/usr/bin/env bash
# make-amqp.sh — regenerate pcap/amqp/ks_amqp_pika.pcap (+ .tshark.json).
# Needs root (network namespace), tcpdump, tshark, rabbitmq-server (apt) and python3 with pika.
# Only the AMQP port is captured (not epmd / Erlang distribution traffic of rabbitmqctl).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
PORT=5672
out="$PCAP_DIR/amqp/ks_amqp_pika.pcap"
capture "$out" "tcp port $PORT" "$CAPTURES_DIR/amqp_scenario.sh" "$PORT"
# 5672 is tshark's default port for AMQP: no .decode-as needed
"$CAPTURES_DIR/../make-references.sh" "$out"
