#!/usr/bin/env bash
# dns_scenario.sh — run inside the capture namespace by make-dns.sh.
# Starts unbound on 127.0.0.1:53 and [::1]:53 with a private config: zone example. is served
# from local-data (A, AAAA, MX, TXT, CNAME, SRV, PTR, CAA, NS, SOA, HTTPS), zone.test. from
# an auth-zone file (ANY answered with A, AAAA, MX, TXT), everything else is refused (local-zone "." refuse), except broken.test. which is forwarded to
# 127.0.0.1@5300 — unbound never queries localhost (do-not-query-localhost), so that
# gives SERVFAIL without any upstream traffic. No recursion, no internet.
# Then drives it with dig (each dig call: one UDP exchange or one TCP connection).
set -euo pipefail
tmp="$(mktemp -d)"
# a TXT RRset of 3 strings × 200 characters: ~650 bytes, so it does not fit a 512-byte
# UDP response without EDNS
s1="$(printf 'ks-long-txt-1-%.0s' $(seq 14) | cut -c1-200)"
s2="$(printf 'abcdefghijklmnopqrstuvwxyz0123456789' | head -c 200; printf '%0164d' 0)"
s3="$(python3 -c 'print(("v=spf1 include:_spf.example. ip4:192.0.2.0/24 " * 6)[:200])')"
# (unbound.conf: a local-data with quoted strings inside goes in single quotes)
cat >"$tmp/unbound.conf" <<CONF
server:
    verbosity: 1
    username: ""
    chroot: ""
    directory: "$tmp"
    pidfile: "$tmp/unbound.pid"
    use-syslog: no
    logfile: "$tmp/unbound.log"
    interface: 127.0.0.1
    interface: ::1
    port: 53
    do-ip6: yes
    do-tcp: yes
    access-control: 127.0.0.0/8 allow
    access-control: ::1/128 allow
    module-config: "iterator"
    do-not-query-localhost: yes
    edns-tcp-keepalive: yes
    nsid: "ascii_ks-unbound"
    ede: yes
    qname-minimisation: no
    local-zone: "." refuse
    local-zone: "broken.test." transparent
    local-zone: "example." static
    local-zone: "zone.test." transparent
    local-data: "example. 3600 IN SOA ns1.example. hostmaster.example. 2024010101 7200 3600 1209600 300"
    local-data: "example. 3600 IN NS ns1.example."
    local-data: "example. 3600 IN MX 10 mail.example."
    local-data: "example. 3600 IN MX 20 mail2.example."
    local-data: 'example. 3600 IN TXT "v=spf1 mx -all"'
    local-data: 'example. 3600 IN CAA 0 issue "letsencrypt.org"'
    local-data: "ns1.example. 3600 IN A 192.0.2.53"
    local-data: "www.example. 300 IN A 192.0.2.10"
    local-data: "www.example. 300 IN A 192.0.2.11"
    local-data: "www.example. 300 IN AAAA 2001:db8::10"
    local-data: "mail.example. 300 IN A 192.0.2.25"
    local-data: "mail2.example. 300 IN A 192.0.2.26"
    local-data: "alias.example. 300 IN CNAME www.example."
    local-data: "_sip._tcp.example. 300 IN SRV 10 60 5060 sip.example."
    local-data: "sip.example. 300 IN A 192.0.2.60"
    local-data: "svc.example. 300 IN HTTPS 1 . alpn=h2,h3"
    local-data: 'long.example. 300 IN TXT "$s1" "$s2" "$s3"'
    local-data: "a.example. 300 IN A 192.0.2.1"
    local-data: "b.example. 300 IN AAAA 2001:db8::b"
    local-data-ptr: "192.0.2.10 www.example."
    local-data-ptr: "2001:db8::10 www.example."
auth-zone:
    name: "zone.test."
    zonefile: "$tmp/zone.test.zone"
    for-downstream: yes
    for-upstream: no
    fallback-enabled: no
forward-zone:
    name: "broken.test."
    forward-addr: 127.0.0.1@5300
CONF
cat >"$tmp/zone.test.zone" <<'ZONE'
$ORIGIN zone.test.
$TTL 600
@       IN SOA  ns1 hostmaster 7 3600 900 604800 60
@       IN NS   ns1
@       IN A    198.51.100.1
@       IN AAAA 2001:db8:100::1
@       IN MX   5 mx
@       IN TXT  "served from an unbound auth-zone"
ns1     IN A    198.51.100.53
mx      IN A    198.51.100.25
ftp     IN CNAME @
ZONE
unbound-checkconf "$tmp/unbound.conf" >/dev/null
unbound -d -c "$tmp/unbound.conf" &
srv=$!
trap 'kill $srv 2>/dev/null || true; wait $srv 2>/dev/null || true; rm -rf "$tmp"' EXIT
for _ in $(seq 100); do ss -lun | grep -q '127.0.0.1:53 ' && ss -ltn | grep -q '127.0.0.1:53 ' && break; sleep 0.1; done
q() { echo "+ dig $*" >&2; dig -p 53 +tries=1 +time=3 "$@" || true; }
S=@127.0.0.1

# UDP, EDNS (dig 9.18 default: EDNS0 bufsize 1232 + client COOKIE)
q $S www.example. A
q $S www.example. AAAA
q $S example. MX
q $S example. TXT
q $S alias.example. A            # CNAME chain inside the zone
q $S _sip._tcp.example. SRV
q $S -x 192.0.2.10               # PTR (in-addr.arpa)
q $S -x 2001:db8::10             # PTR (ip6.arpa)
q $S example. CAA
q $S svc.example. HTTPS
q $S example. ANY                # dig uses TCP for ANY; local-data gives NODATA + SOA
q $S +notcp zone.test. ANY      # ANY over UDP; auth-zone answers with every RRset
q $S ftp.zone.test. A            # CNAME to the apex + the apex A
q $S nosuch.zone.test. AAAA      # NXDOMAIN from the auth-zone
q $S nosuch.example. A           # NXDOMAIN with SOA in authority
q $S www.example. MX             # NOERROR, no answer (NODATA)
q $S www.not-served.org. A       # REFUSED
q $S www.broken.test. A          # SERVFAIL (forwarder is localhost, never queried)
q $S +dnssec +nsid www.example. A       # DO bit + NSID request
q $S long.example. TXT           # 650-byte answer fits EDNS bufsize 1232
# no EDNS: 512-byte limit -> TC=1, dig retries the same query over TCP by itself
q $S +noedns long.example. TXT
# the truncated UDP response alone (no TCP retry)
q $S +noedns +ignore long.example. TXT
# TCP
q $S +tcp www.example. A
q $S +tcp +keepalive example. MX        # edns-tcp-keepalive option both ways
# two queries on one TCP connection
q $S +tcp +keepopen a.example. A b.example. AAAA
# IPv6 transport
q @::1 www.example. AAAA
q @::1 +tcp nosuch.example. TXT
sleep 0.5
