#!/usr/bin/env bash
# Live capture throughput and loss (issue 9): traffic at increasing rates on
# loopback, captured and dissected by `ks-dissect -i lo` with each backend,
# and by tcpdump (writing to /dev/null) for comparison. A benchmark, not a
# test: numbers depend on the machine. Needs root.
#
#   benches/live/run.sh [SECONDS_PER_STEP]
#   KS_BENCH_MTUS=1500 KS_BENCH_HTTP=0 benches/live/run.sh   # one part only
#
# Two workloads:
#   1. bulk TCP (iperf3 -b RATE, one stream): the rate where drops start,
#      and the CPU time the capturer spent per Gbit of traffic;
#   2. short HTTP/1.1 requests (wrk against nginx, keep-alive): entries/s.
# Prints markdown tables (docs/performance.md, "Live capture").
#
# Everything runs in a network namespace of its own (ksbench), whose loopback
# is not the host's: its MTU and offloads can be set without touching the
# machine, and no other traffic lands in the capture. Bulk runs twice: on the
# loopback as it comes (MTU 65536, TSO/GSO on: ~64 KiB packets), and with
# MTU 1500 and segmentation offloads off (ethtool), so that the capture sees
# real Ethernet-sized packets, ~40x as many for the same bytes.
set -euo pipefail
cd "$(dirname "$0")/../.."
SECS=${1:-5}
if [ "$(id -u)" != 0 ]; then echo "needs root" >&2; exit 1; fi
if [ "${KS_BENCH_NETNS:-}" != 1 ]; then
    command -v iperf3 >/dev/null && command -v wrk >/dev/null && command -v nginx >/dev/null \
        && [ -x /usr/bin/time ] \
        || apt-get install -y -qq iperf3 wrk nginx-light tcpdump time ethtool >/dev/null
    command -v ethtool >/dev/null || apt-get install -y -qq ethtool >/dev/null
    cargo build --release -q -p ks-dissect --features libpcap,ebpf
    ip netns del ksbench 2>/dev/null || true
    ip netns add ksbench
    trap 'ip netns del ksbench' EXIT
    ip netns exec ksbench ip link set lo up
    KS_BENCH_NETNS=1 ip netns exec ksbench bash "$0" "$SECS"
    exit
fi
KS=target/release/ks-dissect
TMP=$(mktemp -d)
trap 'kill $(jobs -p) $(cat $TMP/iperf.pid 2>/dev/null) 2>/dev/null || true; nginx -s stop -c $TMP/nginx.conf 2>/dev/null || true; rm -rf $TMP' EXIT

# Runs the capturer given as arguments for SECS+2 seconds around a traffic
# command; prints "cpu_s drops received" of the capturer.
capture() {
    local traffic=$1; shift
    /usr/bin/time -f "%U %S" -o $TMP/time "$@" >/dev/null 2>$TMP/err &
    local pid=$!
    for _ in $(seq 50); do grep -q "capturing on\|listening on" $TMP/err 2>/dev/null && break; sleep 0.1; done
    eval "$traffic" >/dev/null 2>&1 || true
    wait $pid || true
    # time(1) puts "Command exited with non-zero status" first when timeout(1)
    # ended tcpdump; the CPU line is the last.
    local cpu; cpu=$(tail -1 $TMP/time | awk '{print $1 + $2}')
    local rec drop
    if grep -q "packets received by the capture" $TMP/err; then
        rec=$(grep -o "[0-9]* packets received by the capture" $TMP/err | awk '{s+=$1} END {print s}')
        drop=$(grep -o "[0-9]* dropped by it" $TMP/err | awk '{s+=$1} END {print s}')
    else # tcpdump
        rec=$(grep -o "^[0-9]* packets received by filter" $TMP/err | awk '{print $1}')
        drop=$(grep -o "^[0-9]* packets dropped by kernel" $TMP/err | awk '{print $1}')
    fi
    echo "$cpu ${drop:-?} ${rec:-?}"
}

iperf3 -s -D -B 127.0.0.1 -p 5201 -I $TMP/iperf.pid --logfile $TMP/iperf-server.log
sleep 0.5
DUR=$((SECS + 2))
for mtu in ${KS_BENCH_MTUS:-65536 1500}; do
ip link set lo mtu $mtu
offloads=on
if [ $mtu = 1500 ]; then
    ethtool -K lo tso off gso off gro off >/dev/null 2>&1 && offloads=off
fi
echo "### Bulk TCP on loopback, MTU $mtu, segmentation offloads $offloads (iperf3, one stream, ${SECS} s per step)"
echo
echo "| target rate | capturer | achieved Gbit/s | packets | dropped | capturer CPU s | CPU s per Gbit |"
echo "|---|---|---|---|---|---|---|"
for rate in 1G 2G 5G 10G 0; do
    for who in afpacket libpcap ebpf tcpdump; do
        if [ $who = tcpdump ]; then
            cmd=(timeout -s INT $DUR tcpdump -i lo -n -w /dev/null)
        else
            cmd=($KS -i lo --backend $who --count --duration $DUR)
        fi
        traffic="sleep 0.5; iperf3 -c 127.0.0.1 -p 5201 -t $SECS -b $rate -J > $TMP/iperf.json"
        read -r cpu drop rec < <(capture "$traffic" "${cmd[@]}")
        gbps=$(python3 -c "import json;d=json.load(open('$TMP/iperf.json'));print('%.2f'%(d['end']['sum_received']['bits_per_second']/1e9))" 2>/dev/null || echo "?")
        per=$(python3 -c "print('%.2f'%($cpu/($gbps*$SECS)))" 2>/dev/null || echo "?")
        label=$rate; [ $rate = 0 ] && label=unlimited
        echo "| $label | $who | $gbps | $rec | $drop | $cpu | $per |"
    done
done
echo
done
ip link set lo mtu 65536
ethtool -K lo tso on gso on gro on >/dev/null 2>&1 || true

mkdir -p $TMP/www && echo "hello" > $TMP/www/index.html
cat > $TMP/nginx.conf <<CONF
worker_processes 1;
pid $TMP/nginx.pid;
error_log $TMP/nginx-error.log;
events { worker_connections 1024; }
http { access_log off; server { listen 127.0.0.1:18081; root $TMP/www; } }
CONF
nginx -c $TMP/nginx.conf
echo "### Short HTTP/1.1 requests on loopback (wrk -c 32 -t 1, keep-alive, ${SECS} s)"
echo
echo "| capturer | requests/s (wrk) | HTTP entries | entries/s | packets | dropped | capturer CPU s |"
echo "|---|---|---|---|---|---|---|"
[ "${KS_BENCH_HTTP:-1}" = 1 ] || exit 0
for who in afpacket libpcap ebpf tcpdump; do
    if [ $who = tcpdump ]; then
        cmd=(timeout -s INT $DUR tcpdump -i lo -n -w /dev/null "tcp port 18081")
    else
        cmd=($KS -i lo --backend $who --count --duration $DUR)
    fi
    traffic="sleep 0.5; wrk -c 32 -t 1 -d ${SECS}s http://127.0.0.1:18081/ > $TMP/wrk.txt"
    read -r cpu drop rec < <(capture "$traffic" "${cmd[@]}")
    rps=$(awk '/Requests\/sec/ {print $2}' $TMP/wrk.txt)
    entries=$(grep -o "http=[0-9]*" $TMP/err | head -1 | cut -d= -f2 || true)
    eps=$(python3 -c "print('%.0f'%(${entries:-0}/$SECS))")
    echo "| $who | $rps | ${entries:--} | $eps | $rec | $drop | $cpu |"
done
