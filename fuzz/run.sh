#!/usr/bin/env bash
# Run every fuzz target for a while, one after the other (one process, one job).
#
#   fuzz/run.sh [SECONDS_PER_TARGET]        (default 60)
#
# Environment:
#   SANITIZER=none|address   none (default) builds with the stable toolchain as is;
#                            address (ASan) needs -Zsanitizer, so the script sets
#                            RUSTC_BOOTSTRAP=1 for it. See docs/fuzzing.md.
#   TARGETS="http1 engine"   a subset (default: all twenty)
#   SECS_<target>=N          seconds for one target (e.g. SECS_engine=900), overriding
#                            SECONDS_PER_TARGET: the targets' exec rates differ 10x
#
# Steps: install cargo-fuzz if missing; (re)create the seed corpora from
# testdata/pcap (fuzz/corpus/<target>/seed-*; what the fuzzer added is kept); build
# all targets; run each for SECONDS_PER_TARGET; print executions, exec/s and
# crashes per target. Crash inputs land in fuzz/artifacts/<target>/, libFuzzer's
# output in fuzz/artifacts/<target>.log. Exit status 1 when any target crashed.
set -euo pipefail
cd "$(dirname "$0")"

SECS=${1:-60}
SANITIZER=${SANITIZER:-none}
TARGETS=${TARGETS:-"pcap_reader link_ip_decode tcp_reassembly http1 engine http2 websocket grpc graphql redis kafka amqp dns radius icmp ldap diameter sctp tls query"}

case "$SANITIZER" in
none) ;;
address) export RUSTC_BOOTSTRAP=1 ;;
*)
    echo "SANITIZER must be none or address" >&2
    exit 2
    ;;
esac

if ! command -v cargo-fuzz >/dev/null; then
    echo "== installing cargo-fuzz"
    cargo install cargo-fuzz --version 0.13.2 --locked
fi

echo "== seeding fuzz/corpus from testdata/pcap"
cargo run -q --example seed -- ../testdata/pcap corpus

echo "== building (sanitizer: $SANITIZER)"
cargo fuzz build -s "$SANITIZER"

# Extra libFuzzer flags per target. Captures in the seed corpus reach 500 KB; the
# reader's paths are all reached well below 64 KiB, and short inputs run faster.
# The engine costs the most per byte (every segment goes through decode,
# reassembly, parser, pairing): 4 KiB of stream bytes still hold several messages.
extra_flags() {
    case "$1" in
    pcap_reader) echo "-max_len=65536" ;;
    engine) echo "-max_len=4096" ;;
    *) echo "" ;;
    esac
}

count_artifacts() {
    find "artifacts/$1" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'oom-*' -o -name 'timeout-*' -o -name 'leak-*' \) 2>/dev/null | wc -l
}

mkdir -p artifacts
results=()
failed=0
for t in $TARGETS; do
    mkdir -p "artifacts/$t"
    before=$(count_artifacts "$t")
    log="artifacts/$t.log"
    var="SECS_$t"
    secs=${!var:-$SECS}
    echo "== $t: ${secs}s"
    # shellcheck disable=SC2046
    if cargo fuzz run -s "$SANITIZER" "$t" -- \
        -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        $(extra_flags "$t") >"$log" 2>&1; then
        status=ok
    else
        status="FAILED (see fuzz/$log)"
        failed=1
    fi
    after=$(count_artifacts "$t")
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    corpus=$(find "corpus/$t" -type f | wc -l)
    crashes=$((after - before))
    [ "$crashes" -gt 0 ] && failed=1
    results+=("$(printf '%-15s %6s %12s %8s %8s %7s  %s' "$t" "$secs" "${execs:-?}" "${rate:-?}" "$crashes" "$corpus" "$status")")
done

echo
echo "== results ($(date -u +%Y-%m-%dT%H:%MZ), sanitizer $SANITIZER, $(nproc) cores)"
printf '%-15s %6s %12s %8s %8s %7s  %s\n' target secs executions exec/s crashes corpus status
for r in "${results[@]}"; do
    echo "$r"
done
exit "$failed"
