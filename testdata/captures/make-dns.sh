#!/usr/bin/env bash
# make-dns.sh — regenerate pcap/dns/ks_dns_unbound.pcap (+ .tshark.json).
# Needs root (network namespace), tcpdump, tshark, unbound and dnsutils (dig).
# The scenario runs its own unbound with a private config (no recursion, no internet);
# an unbound service running in the root namespace is not touched.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
out="$PCAP_DIR/dns/ks_dns_unbound.pcap"
capture "$out" "port 53" "$CAPTURES_DIR/dns_scenario.sh"
# 53 is tshark's default port for DNS: no .decode-as needed
"$CAPTURES_DIR/../make-references.sh" "$out"
