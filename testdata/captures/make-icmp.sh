#!/usr/bin/env bash
# make-icmp.sh — regenerate pcap/icmp/ks_icmp_errors.pcap (+ .tshark.json).
# Needs root (network namespaces, veth), iproute2, tcpdump, tshark, iputils-ping and
# traceroute (the "modern" one, 2.1).
#
# Three namespaces joined by veth pairs (fixed MACs, so reruns differ only in timing):
#
#   client  cli0 10.1.0.2/24 fd00:1::2/64 ── rtr0 10.1.0.1 fd00:1::1   router
#   router  rtr1 10.2.0.1/24 fd00:2::1/64 ── srv0 10.2.0.2 fd00:2::2   server
#
# The router forwards v4 and v6; its link to the server has MTU 1280. It has no default
# route, an `unreachable` route for 10.4.0.0/24 and fd00:4::/64 and a `prohibit` route for
# 10.3.0.0/24 and fd00:3::/64. ICMP rate limiting is off in router and server. tcpdump
# records cli0 in the client namespace (lib.sh's `capture` only records lo, so the capture
# steps are here, with the same care). Nothing is filtered: ARP and IPv6 neighbour
# discovery happen on their own and are in the capture.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
out="$PCAP_DIR/icmp/ks_icmp_errors.pcap"
C="kscli$$" R="ksrtr$$" S="kssrv$$"
td="" log="$(mktemp)"
cleanup() {
    [ -n "$td" ] && kill -INT "$td" 2>/dev/null || true
    for ns in "$C" "$R" "$S"; do ip netns del "$ns" 2>/dev/null || true; done
    rm -f "$log"
}
trap cleanup EXIT
for ns in "$C" "$R" "$S"; do
    ip netns add "$ns"
    ip -n "$ns" link set lo up
done
ip link add cli0 netns "$C" address 02:00:00:00:01:02 type veth \
    peer rtr0 netns "$R" address 02:00:00:00:01:01
ip link add rtr1 netns "$R" address 02:00:00:00:02:01 type veth \
    peer srv0 netns "$S" address 02:00:00:00:02:02
nsx() { local ns="$1"; shift; ip netns exec "$ns" "$@"; }
for ns in "$R" "$S"; do
    nsx "$ns" sysctl -qw net.ipv4.icmp_ratelimit=0 net.ipv6.icmp.ratelimit=0
done
nsx "$R" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
# client
ip -n "$C" addr add 10.1.0.2/24 dev cli0
ip -n "$C" addr add fd00:1::2/64 dev cli0
ip -n "$C" link set cli0 up
ip -n "$C" route add default via 10.1.0.1
ip -n "$C" -6 route add default via fd00:1::1
# router
ip -n "$R" addr add 10.1.0.1/24 dev rtr0
ip -n "$R" addr add fd00:1::1/64 dev rtr0
ip -n "$R" addr add 10.2.0.1/24 dev rtr1
ip -n "$R" addr add fd00:2::1/64 dev rtr1
ip -n "$R" link set rtr0 up
ip -n "$R" link set rtr1 mtu 1280 up
ip -n "$R" route add unreachable 10.4.0.0/24
ip -n "$R" route add prohibit 10.3.0.0/24
ip -n "$R" -6 route add unreachable fd00:4::/64
ip -n "$R" -6 route add prohibit fd00:3::/64
# server
ip -n "$S" addr add 10.2.0.2/24 dev srv0
ip -n "$S" addr add fd00:2::2/64 dev srv0
ip -n "$S" link set srv0 mtu 1280 up
ip -n "$S" route add default via 10.2.0.1
ip -n "$S" -6 route add default via fd00:2::1
# wait for duplicate address detection to end everywhere (no "tentative" addresses left;
# right after `link set up` the flag may not be there yet, hence the first sleep)
sleep 2
for _ in $(seq 100); do
    t=0
    for ns in "$C" "$R" "$S"; do ip -n "$ns" -6 addr | grep -q tentative && t=1; done
    [ "$t" = 0 ] && break
    sleep 0.1
done

rm -f "$out"
ip netns exec "$C" tcpdump -i cli0 -n -U --immediate-mode -B 32768 -Z root -s 0 -w "$out" 2>"$log" &
td=$!
for _ in $(seq 50); do grep -q listening "$log" && break; sleep 0.1; done
c() { echo "+ $*" >&2; nsx "$C" "$@" || true; }

# 1. echo across the router (ARP / neighbour solicitation for the router first)
c ping -n -c 3 -i 0.2 10.2.0.2
c ping -6 -n -c 3 -i 0.2 fd00:2::2
# 2. UDP to a closed port on the server: port unreachable quoting IP + UDP header
c bash -c 'echo "anyone on 9999?" >/dev/udp/10.2.0.2/9999'
c bash -c 'echo "anyone on 9999?" >/dev/udp/fd00:2::2/9999'
sleep 0.3
# 3. traceroute (UDP probes from port 33434, 2 per hop, one at a time): hop 1 time exceeded
#    from the router, hop 2 port unreachable from the server
c traceroute -n -q 2 -N 1 -w 1 -m 4 10.2.0.2
c traceroute -6 -n -q 2 -N 1 -w 1 -m 4 fd00:2::2
# 4. packet too big: 1428-byte IPv4 echo with DF -> fragmentation needed (mtu 1280);
#    1448-byte IPv6 echo -> ICMPv6 packet too big (mtu 1280), then the client fragments the
#    second echo itself and the server fragments its reply
c ping -n -c 1 -M do -s 1400 10.2.0.2
c ping -6 -n -c 2 -i 0.5 -s 1400 fd00:2::2
# 5. unreachables from the router: no route (net unreachable / ICMPv6 no route),
#    `unreachable` route (host unreachable / no route), `prohibit` route (communication
#    administratively prohibited, code 13 / ICMPv6 code 1)
#    The router sends these v4 errors from ip_error(), which allows one per second per
#    source (net.ipv4.route.error_cost, host-wide, left alone) and shares its token bucket
#    with icmp_send(), which empties it even with icmp_ratelimit=0: hence the sleeps.
for dst in 10.9.9.9 10.4.0.1 10.3.0.1; do
    sleep 1.1
    c ping -n -c 1 -W 1 "$dst"
done
c ping -6 -n -c 1 -W 1 fd00:9::9
c ping -6 -n -c 1 -W 1 fd00:4::1
c ping -6 -n -c 1 -W 1 fd00:3::1
# 6. address resolution fails on the router's server-side link (3 s): host unreachable /
#    ICMPv6 address unreachable
c ping -n -c 1 -W 5 10.2.0.99
c ping -6 -n -c 1 -W 5 fd00:2::99
# 7. the client's interface goes down and up: duplicate address detection (NS from ::),
#    MLDv2 reports, router solicitation (no router advertises, the kernel sends no RA)
ip -n "$C" link set cli0 down
ip -n "$C" link set cli0 up
sleep 5

kill -INT "$td"; wait "$td" || true; td=""
cat "$log" >&2
grep -q '^0 packets dropped by kernel' "$log" || { echo "tcpdump dropped packets" >&2; exit 1; }
chmod 644 "$out"
"$CAPTURES_DIR/../make-references.sh" "$out"
