#!/usr/bin/env bash
# make-radius.sh — regenerate pcap/radius/ks_radius_freeradius.pcap and
# pcap/radius/ks_radius_tcp.pcap (+ .tshark.json).
# Needs root (network namespace), tcpdump, tshark, freeradius and freeradius-utils
# (radtest, radclient). The scenario runs its own freeradius with a private config; a
# freeradius service in the root namespace is not touched.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
out="$PCAP_DIR/radius/ks_radius_freeradius.pcap"
capture "$out" "udp and (port 1812 or port 1813 or port 3799)" "$CAPTURES_DIR/radius_scenario.sh" udp
# 1812, 1813 and 3799 are tshark's default ports for RADIUS: no .decode-as needed
"$CAPTURES_DIR/../make-references.sh" "$out"
out="$PCAP_DIR/radius/ks_radius_tcp.pcap"
capture "$out" "tcp port 1812" "$CAPTURES_DIR/radius_scenario.sh" tcp
# tshark 4.0 has no RADIUS-over-TCP dissector (RADIUS registers on UDP ports only and
# cannot be chosen for tcp.port), so this reference has the flow but no messages
"$CAPTURES_DIR/../make-references.sh" "$out"
