#!/usr/bin/env bash
# Throughput benchmark: ks-dissect against tshark on the same generated captures.
#
#   benches/throughput.sh [SIZE]        SIZE of the mixed corpus: 1GiB (default), 50MB, ...
#
# Installs tshark and GNU time when missing (apt, as root), builds ks in release, writes the
# mixed corpus (ks-gencorpus --size SIZE) and the synthetic file of short HTTP/1.1
# connections (ks-gencorpus --synthetic-http N), then times on each file:
#   ks-dissect --format jsonl FILE > /dev/null      (full dissection and output)
#   ks-dissect --count FILE                         (full dissection, no output)
#   the same with --threads 1 and --threads 2       (when ks-dissect --help lists --threads)
#   both with -Y 'http && status_code >= 500'      (when it lists -Y: what filtering costs)
#   tshark -n -r FILE -T fields -e frame.number -e _ws.col.Protocol -e _ws.col.Info > /dev/null
# and prints the median wall time, MB/s, packets/s, entries/s, peak RSS and the ks/tshark
# ratios as a Markdown table. See docs/performance.md.
#
# Environment:
#   RUNS=5            timed runs of every ks command (median reported)
#   TSHARK_RUNS=      timed tshark runs; default 3 on files up to 300 MB, 1 above (tshark
#                     does ~8 MB/s, so one run of 1 GiB is already two minutes or more)
#   SYNTH_N=100000    connections in the synthetic file (0 skips it)
#   BENCH_DIR=        where the captures go (default: $CARGO_TARGET_DIR or target/, + /bench)
#   WAIT_QUIET=60     minutes to wait for running fuzzers/compilers to finish before timing
#                     (checked every minute; 0 = do not wait)
#   SEED=1            ks-gencorpus seed
set -euo pipefail

SIZE="${1:-1GiB}"
RUNS="${RUNS:-5}"
SYNTH_N="${SYNTH_N:-100000}"
WAIT_QUIET="${WAIT_QUIET:-60}"
SEED="${SEED:-1}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
BENCH_DIR="${BENCH_DIR:-$TARGET/bench}"
KS="$TARGET/release/ks-dissect"
GEN="$TARGET/release/ks-gencorpus"

log() { printf '== %s\n' "$*" >&2; }

# --- 1. tools -------------------------------------------------------------------------
need_apt=()
command -v tshark >/dev/null || need_apt+=(tshark)
[ -x /usr/bin/time ] || need_apt+=(time)
if [ ${#need_apt[@]} -gt 0 ]; then
    if [ "$(id -u)" != 0 ]; then
        echo "missing ${need_apt[*]}: install them (apt-get install ${need_apt[*]}) or run as root" >&2
        exit 1
    fi
    log "installing ${need_apt[*]}"
    # wireshark-common asks whether non-root users may capture; answer no, non-interactively.
    echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

# --- 2. build ---------------------------------------------------------------------------
log "building ks-dissect and ks-gencorpus (release)"
(cd "$ROOT" && cargo build --release -q -p ks-dissect -p ks-gencorpus)

# --- 3. captures -------------------------------------------------------------------------
mkdir -p "$BENCH_DIR"
MIXED="$BENCH_DIR/mixed-$SIZE.pcap"
log "generating $MIXED"
"$GEN" --size "$SIZE" --seed "$SEED" -o "$MIXED"
FILES=("$MIXED")
if [ "$SYNTH_N" != 0 ]; then
    SYNTH="$BENCH_DIR/synthetic-http-$SYNTH_N.pcap"
    log "generating $SYNTH"
    "$GEN" --synthetic-http "$SYNTH_N" --seed "$SEED" -o "$SYNTH"
    FILES+=("$SYNTH")
fi

# --- 4. a quiet machine -----------------------------------------------------------------
# Timings are worthless while a fuzzer or a compiler shares the cores: wait for them to end
# before every command, watch for them during it (sampled every second), and redo the
# command (up to 3 times) when one showed up.
busy() { pgrep -fa 'fuzz/run.sh|fuzz/target|cargo-fuzz|cargo fuzz|rustc ' || true; }
NOTE=""
wait_quiet() {
    local waited=0
    while [ -n "$(busy)" ] && [ "$waited" -lt "$WAIT_QUIET" ]; do
        log "waiting for other CPU-heavy jobs to end (${waited}/${WAIT_QUIET} min):"
        busy | cut -c1-120 | head -3 >&2
        sleep 60
        waited=$((waited + 1))
    done
}

# --- 5. measure ------------------------------------------------------------------------------
TMP="$(mktemp -d)"
: >"$TMP/busy.log"
(while :; do
    b=$(busy)
    [ -z "$b" ] || echo "$b" >>"$TMP/busy.log"
    sleep 1
done) &
MONITOR=$!
trap 'kill "$MONITOR" 2>/dev/null; rm -rf "$TMP"' EXIT

median() { sort -g | awk '{a[NR]=$1} END {if (NR==0) print 0; else if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
maxval() { sort -g | tail -1; }

# run NAME RUNS CMD... : times CMD (stdout to /dev/null) RUNS times; records
# "<median s> <peak RSS KiB> <packets> <entries>" in $TMP/NAME.res
run() {
    local name="$1" n="$2" attempt
    shift 2
    for attempt in 1 2 3 4; do
        wait_quiet
        : >"$TMP/busy.log"
        run_once "$name" "$n" "$@"
        [ -s "$TMP/busy.log" ] || return 0
        log "  disturbed by another job (attempt $attempt):"
        sort -u "$TMP/busy.log" | cut -c1-120 | head -3 >&2
    done
    NOTE="WARNING: other CPU-heavy jobs ran during some measurements (see the log)"
}

run_once() {
    local name="$1" n="$2"
    shift 2
    : >"$TMP/$name.t"
    : >"$TMP/$name.m"
    for _ in $(seq "$n"); do
        local t0 t1
        t0=$(date +%s%N)
        /usr/bin/time -f '%M' -o "$TMP/$name.rss" "$@" >/dev/null 2>"$TMP/$name.err" || {
            echo "command failed: $*" >&2
            cat "$TMP/$name.err" >&2
            exit 1
        }
        t1=$(date +%s%N)
        echo "$(( (t1 - t0) / 1000 ))" | awk '{print $1/1e6}' >>"$TMP/$name.t"
        cat "$TMP/$name.rss" >>"$TMP/$name.m"
    done
    local summary packets entries
    summary=$(grep '^ks-dissect: [0-9]* packets' "$TMP/$name.err" | tail -1 || true)
    packets=$(sed -nE 's/^ks-dissect: ([0-9]+) packets.*/\1/p' <<<"$summary")
    entries=$(sed -nE 's/.*, ([0-9]+) entries.*/\1/p' <<<"$summary")
    echo "$(median <"$TMP/$name.t") $(maxval <"$TMP/$name.m") ${packets:--} ${entries:--}" >"$TMP/$name.res"
    [ -z "$summary" ] || echo "$summary" >"$TMP/$name.summary"
}

THREADS=0
"$KS" --help 2>/dev/null | grep -q -- '--threads' && THREADS=1
FILTER=0
"$KS" --help 2>/dev/null | grep -q -- '-Y, --filter' && FILTER=1
FILTER_EXPR='http && status_code >= 500'
NPROC=$(nproc)

echo
echo "# ks throughput"
echo
echo "- machine: $NPROC cores ($(lscpu 2>/dev/null | sed -nE 's/^Model name: *//p' | head -1)), $(free -g | awk '/^Mem/{print $2}') GiB RAM, $(uname -sr)"
echo "- ks-dissect $("$KS" --version | awk '{print $2}') ($(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo '?')), $(rustc --version | cut -d' ' -f1-2), tshark $(tshark --version 2>/dev/null | head -1 | awk '{print $3}')"
echo "- ks runs per command: $RUNS; page cache warm (each file is read once before timing)"
for f in "${FILES[@]}"; do
    bytes=$(stat -c %s "$f")
    cat "$f" >/dev/null # warm the page cache so that the disk is not what is measured
    if [ -n "${TSHARK_RUNS:-}" ]; then
        tr="$TSHARK_RUNS"
    elif [ "$bytes" -le 300000000 ]; then
        tr=3
    else
        tr=1
    fi
    log "timing on $f ($bytes bytes)"
    modes=("jsonl" "count")
    [ "$THREADS" = 1 ] && modes+=("jsonl-t1" "count-t1" "jsonl-t2" "count-t2")
    [ "$FILTER" = 1 ] && modes+=("jsonl-Y" "count-Y")
    for m in "${modes[@]}"; do
        args=()
        case "$m" in
            jsonl*) args+=(--format jsonl) ;;
            count*) args+=(--count) ;;
        esac
        case "$m" in
            *-t1) args+=(--threads 1) ;;
            *-t2) args+=(--threads 2) ;;
            *-Y) args+=(-Y "$FILTER_EXPR") ;;
        esac
        log "  ks-dissect ${args[*]} ($RUNS runs)"
        run "ks-$m" "$RUNS" "$KS" --no-progress "${args[@]}" "$f"
    done
    log "  tshark ($tr run(s))"
    run tshark "$tr" tshark -n -r "$f" -T fields -e frame.number -e _ws.col.Protocol -e _ws.col.Info
    read -r _ _ kpk _ <"$TMP/ks-count.res"

    echo
    echo "## $(basename "$f"): $(awk -v b="$bytes" 'BEGIN{printf "%.1f MB", b/1e6}'), $kpk packets"
    [ -f "$TMP/ks-count.summary" ] && echo && echo "\`$(cat "$TMP/ks-count.summary")\`"
    echo
    echo "| command | runs | median s | MB/s | packets/s | entries/s | peak RSS MB | speed vs tshark |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|"
    read -r tts _ _ _ <"$TMP/tshark.res"
    for m in "${modes[@]}" tshark; do
        if [ "$m" = tshark ]; then
            name=tshark
            label="tshark -T fields (frame.number, Protocol, Info)"
            n=$tr
        else
            name="ks-$m"
            n=$RUNS
            case "$m" in
                jsonl) label="ks-dissect --format jsonl" ;;
                count) label="ks-dissect --count" ;;
                jsonl-t1) label="ks-dissect --format jsonl --threads 1" ;;
                count-t1) label="ks-dissect --count --threads 1" ;;
                jsonl-t2) label="ks-dissect --format jsonl --threads 2" ;;
                count-t2) label="ks-dissect --count --threads 2" ;;
                jsonl-Y) label="ks-dissect --format jsonl -Y '$FILTER_EXPR'" ;;
                count-Y) label="ks-dissect --count -Y '$FILTER_EXPR'" ;;
            esac
        fi
        read -r s rss _ ent <"$TMP/$name.res"
        awk -v label="$label" -v n="$n" -v s="$s" -v b="$bytes" -v p="$kpk" -v e="$ent" -v rss="$rss" -v ts="$tts" 'BEGIN {
            if (s <= 0) s = 0.000001
            es = (e == "-") ? "-" : sprintf("%.0f", e / s)
            printf "| `%s` | %d | %.3f | %.1f | %.0f | %s | %.1f | %.1fx |\n", label, n, s, b / 1e6 / s, p / s, es, rss / 1024, ts / s
        }'
    done
done
echo
echo "Measured on $(date -u +%Y-%m-%d), finished $(date -u +%H:%MZ)."
[ -z "$NOTE" ] || printf '\n%s\n' "$NOTE"
