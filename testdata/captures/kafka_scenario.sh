#!/usr/bin/env bash
# kafka_scenario.sh PORT — run inside the capture namespace by make-kafka.sh.
# Starts a Tansu broker (Apache Kafka compatible, Rust; in-memory storage), then:
#   1. kcat -L (ApiVersions, Metadata);
#   2. kafka_demo.py (kafka-python): admin CreateTopics (and again: TOPIC_ALREADY_EXISTS),
#      producer acks=all with keys, headers and gzip, producer acks=0 (no response),
#      consumer group (FindCoordinator, JoinGroup, SyncGroup, Heartbeat, Fetch,
#      OffsetCommit, OffsetFetch, LeaveGroup), Metadata of a missing topic, DeleteTopics;
#   3. kcat producing one batch each with snappy, lz4 and zstd, then consuming them.
set -euo pipefail
port="$1"
tansu="${TANSU:-$(command -v tansu)}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
url="tcp://127.0.0.1:$port"
"$tansu" broker --listener-url "$url" --advertised-listener-url "$url" \
    --storage-engine memory://tansu/ >/tmp/ks-tansu.log 2>&1 &
srv=$!
trap 'kill $srv 2>/dev/null || true; wait $srv 2>/dev/null || true' EXIT
for _ in $(seq 100); do ss -ltn | grep -q ":$port " && break; sleep 0.1; done
b="127.0.0.1:$port"

kcat -b "$b" -L >/dev/null

python3 "$here/kafka_demo.py" "$b"

for codec in snappy lz4 zstd; do
    printf 'k1:compressed with %s, record one\nk2:compressed with %s, record two\n' "$codec" "$codec" |
        kcat -b "$b" -P -t codecs -z "$codec" -K: -X linger.ms=50 2>&1 || true
done
kcat -b "$b" -C -t codecs -o beginning -e -q >/dev/null
