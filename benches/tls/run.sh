#!/usr/bin/env bash
# TLS throughput: ks-dissect with and without --tls-keylog against tshark with the same
# key log, on a capture of real HTTPS traffic (docs/performance.md, "TLS").
#
#   sudo benches/tls/run.sh [DIR]      DIR: where the capture goes (default target/bench/tls)
#
# Makes DIR/ks_tls_bench.pcap + .keylog once (scenario.sh inside a private network
# namespace, as testdata/captures/make-*.sh do; about 390 MB, 1082 connections; needs
# nginx-light, curl, openssl, tcpdump), builds ks-dissect in release, then prints the median
# wall time and peak RSS of RUNS runs of each command (tshark: TSHARK_RUNS).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
DIR="${1:-$TARGET/bench/tls}"
RUNS="${RUNS:-5}"
TSHARK_RUNS="${TSHARK_RUNS:-3}"
KS="$TARGET/release/ks-dissect"
PCAP="$DIR/ks_tls_bench.pcap"
KEYS="$DIR/ks_tls_bench.keylog"
mkdir -p "$DIR/logs"

if [ ! -s "$PCAP" ]; then
    for tool in nginx curl openssl tcpdump; do
        command -v "$tool" >/dev/null || apt-get install -y -qq nginx-light curl openssl tcpdump
    done
    # shellcheck source=../../testdata/captures/lib.sh
    TCPDUMP_BUFFERING="-B 65536" source "$ROOT/testdata/captures/lib.sh"
    certs="$(mktemp -d)"
    trap 'rm -rf "$certs"' EXIT
    openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj /CN=ks.test \
        -addext subjectAltName=DNS:ks.test -keyout "$certs/rsa.key" -out "$certs/rsa.pem" 2>/dev/null
    capture "$PCAP" "tcp port 443" "$ROOT/benches/tls/scenario.sh" "$certs" "$KEYS" "$DIR/logs"
    chmod 644 "$KEYS"
fi
command -v tshark >/dev/null || apt-get install -y -qq tshark
[ -x /usr/bin/time ] || apt-get install -y -qq time
(cd "$ROOT" && cargo build --release -q -p ks-dissect)

# median wall seconds and max RSS (MB) of N runs of a shell command
timed() {
    local n="$1" cmd="$2" i walls=() rss=0
    for i in $(seq "$n"); do
        /usr/bin/time -f '%e %M' -o "$DIR/time.out" bash -c "$cmd" >/dev/null 2>&1
        read -r w r < "$DIR/time.out"
        walls+=("$w")
        [ "$r" -gt "$rss" ] && rss="$r"
    done
    printf '%s %d\n' "$(printf '%s\n' "${walls[@]}" | sort -n | sed -n "$(( (n + 1) / 2 ))p")" $((rss / 1024))
}

size=$(stat -c %s "$PCAP")
echo "| command | wall s | MB/s | peak RSS MB |"
echo "|---|---|---|---|"
row() {
    local label="$1" n="$2" cmd="$3" w r
    read -r w r < <(timed "$n" "$cmd")
    printf '| %s | %s | %.0f | %s |\n' "$label" "$w" "$(awk -v s="$size" -v w="$w" 'BEGIN { print s / 1e6 / w }')" "$r"
}
row "ks --count (no keys)" "$RUNS" "$KS --count --no-progress $PCAP"
row "ks --count --threads 1 (no keys)" "$RUNS" "$KS --count --no-progress --threads 1 $PCAP"
row "ks --count --tls-keylog" "$RUNS" "$KS --count --no-progress --tls-keylog $KEYS $PCAP"
row "ks --count --tls-keylog --threads 1" "$RUNS" "$KS --count --no-progress --threads 1 --tls-keylog $KEYS $PCAP"
row "ks --format jsonl --tls-keylog" "$RUNS" "$KS --format jsonl --no-progress --tls-keylog $KEYS $PCAP"
row "tshark with the key log, -Y 'http || http2'" "$TSHARK_RUNS" \
    "tshark -n -r $PCAP -o tls.keylog_file:$KEYS -o tls.desegment_ssl_records:TRUE -o tcp.desegment_tcp_streams:TRUE -Y 'http || http2' -T fields -e frame.number -e http.request.method -e http2.headers.method"
row "tshark without keys, -Y tls.handshake.type==1" "$TSHARK_RUNS" \
    "tshark -n -r $PCAP -Y tls.handshake.type==1 -T fields -e frame.number"
