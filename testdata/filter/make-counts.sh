#!/usr/bin/env bash
# make-counts.sh — what tshark's own display filters count on the bundled
# captures, for the filter examples whose fields the tshark references beside
# the captures do not carry (crates/ks-query/tests/examples.rs).
#
# Writes user-agent-curl.tshark.json: for every capture under testdata/pcap,
# the number of HTTP requests (HTTP/1 and HTTP/2) whose User-Agent contains
# "curl", i.e. the User-Agent values of the frames matching
#   http.user_agent contains "curl" || http2.headers.user_agent contains "curl"
# (a frame with several requests lists several values), and, apart, how many
# of those requests asked for an h2c upgrade and were answered (ks gives such a
# request two entries: the 101, and HTTP/2 stream 1 answering the same request,
# RFC 9113 §3.2). The capture's
# <stem>.decode-as rules are passed as -d, as for the references.
#
# Needs tshark (Debian: apt-get install tshark; 4.0.17 made the committed file).
set -euo pipefail
cd "$(dirname "$0")"
out=user-agent-curl.tshark.json
{
    printf '{\n  "tshark_version": "%s",\n' "$(tshark --version | head -1 | awk '{print $3}')"
    printf '  "filter": "http.user_agent contains \\"curl\\" || http2.headers.user_agent contains \\"curl\\"",\n'
    printf '  "captures": {\n'
    first=1
    for f in $(cd ../pcap && ls */*.pcap */*.pcapng | sort); do
        args=()
        rules=../pcap/${f%.*}.decode-as
        if [ -f "$rules" ]; then
            while read -r l; do [ -n "$l" ] && args+=(-d "$l"); done < "$rules"
        fi
        n=$(tshark -n -r "../pcap/$f" "${args[@]}" \
                -Y 'http.user_agent contains "curl" || http2.headers.user_agent contains "curl"' \
                -T fields -E occurrence=a -E aggregator=$'\x1f' \
                -e http.user_agent -e http2.headers.user_agent 2>/dev/null \
            | tr $'\t\x1f' '\n\n' | grep -c curl || true)
        [ "$n" = 0 ] && continue
        # Upgrade requests (curl's) whose connection switched (a 101 with Upgrade: h2c).
        tshark -n -r "../pcap/$f" "${args[@]}" \
            -Y 'http.request && http.upgrade contains "h2c" && http.user_agent contains "curl"' \
            -T fields -e tcp.stream 2>/dev/null | sort > /tmp/ks-upgrade-req.$$ || true
        tshark -n -r "../pcap/$f" "${args[@]}" \
            -Y 'http.response.code == 101 && http.upgrade contains "h2c"' \
            -T fields -e tcp.stream 2>/dev/null | sort -u > /tmp/ks-upgrade-101.$$ || true
        u=$(join /tmp/ks-upgrade-req.$$ /tmp/ks-upgrade-101.$$ | grep -c . || true)
        rm -f /tmp/ks-upgrade-req.$$ /tmp/ks-upgrade-101.$$
        [ $first = 1 ] || printf ',\n'
        first=0
        printf '    "%s": { "requests": %s, "h2c_upgrades": %s }' "$f" "$n" "$u"
    done
    printf '\n  }\n}\n'
} > $out
cat $out
