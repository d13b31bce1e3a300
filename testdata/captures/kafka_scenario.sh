#!/usr/bin/env bash
# kafka_scenario.sh PORT — run inside the capture namespace by make-kafka.sh.
# Starts a Tansu broker (Apache Kafka compatible, Rust; in-memory storage), then runs
# kafka_demo.py (kafka-python): admin CreateTopics (and again: TOPIC_ALREADY_EXISTS),
# producer acks=all with keys, headers and gzip, producer acks=0 (no response), one batch
# each with snappy, lz4 and zstd, a consumer group (FindCoordinator, JoinGroup, SyncGroup,
# Heartbeat, ListOffsets, Fetch, OffsetCommit, OffsetFetch, LeaveGroup), Metadata of a
# missing topic, DeleteTopics.
# (kcat 1.7.1 / librdkafka 2.0 from Debian 12 fails on Tansu's ApiVersions v3 response,
# "Read underflow", so it is not used.)
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

python3 "$here/kafka_demo.py" "$b"
