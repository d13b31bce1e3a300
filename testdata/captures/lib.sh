# lib.sh — shared by the make-*.sh scripts (source it; needs root for `ip netns`).
#
# Every scenario runs inside a private network namespace whose loopback has
# MTU 1500 and GSO limited to one segment, so the capture looks like a real
# Ethernet link (1448-byte TCP segments) instead of lo's 64 KiB super-packets.
# Traffic never leaves the namespace.
#
#   capture OUT.pcap 'BPF FILTER' CMD [ARGS...]
#     creates the namespace, starts tcpdump on its lo, runs CMD inside it,
#     waits until the connections are closed, stops tcpdump (SIGINT) and
#     fails if the kernel dropped packets.
set -euo pipefail

CAPTURES_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PCAP_DIR="$(cd "$CAPTURES_DIR/../pcap" && pwd)"
# Packet-at-a-time writes keep small captures exact; a bulk capture (benches/tls)
# sets a bigger buffer without them so tcpdump keeps up.
TCPDUMP_BUFFERING="${TCPDUMP_BUFFERING:--U --immediate-mode -B 32768}"

capture() {
    local out="$1" filter="$2"; shift 2
    local ns="kscap$$" log rc=0
    log="$(mktemp)"
    ip netns add "$ns"
    trap "ip netns del $ns 2>/dev/null || true" RETURN
    ip netns exec "$ns" ip link set lo mtu 1500 up
    ip netns exec "$ns" ip link set lo gso_max_size 1500 gso_max_segs 1
    rm -f "$out"
    # shellcheck disable=SC2086 # several options
    ip netns exec "$ns" tcpdump -i lo -n $TCPDUMP_BUFFERING -Z root -s 0 \
        -w "$out" "$filter" 2>"$log" &
    local td=$!
    for _ in $(seq 50); do grep -q listening "$log" && break; sleep 0.1; done
    ip netns exec "$ns" "$@" || rc=$?
    sleep 1    # let FIN/ACKs of closed connections reach the capture
    kill -INT "$td"; wait "$td" || true
    cat "$log" >&2
    if ! grep -q '^0 packets dropped by kernel' "$log"; then
        echo "capture: tcpdump dropped packets" >&2; rc=1
    fi
    rm -f "$log"
    chmod 644 "$out"
    return "$rc"
}
