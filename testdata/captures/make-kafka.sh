#!/usr/bin/env bash
# make-kafka.sh — regenerate pcap/kafka/ks_kafka_clients.pcap (+ .tshark.json).
# Needs root (network namespace), tcpdump, tshark, python3 with kafka-python (+ lz4,
# python-snappy, zstandard for the codecs),
# and the Tansu broker (`cargo install tansu --locked --features dynostore`; put it on PATH
# or set TANSU=/path/to/tansu).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
PORT=9092
out="$PCAP_DIR/kafka/ks_kafka_clients.pcap"
capture "$out" "tcp port $PORT" "$CAPTURES_DIR/kafka_scenario.sh" "$PORT"
# 9092 is tshark's default port for Kafka: no .decode-as needed
"$CAPTURES_DIR/../make-references.sh" "$out"
