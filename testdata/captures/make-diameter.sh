#!/usr/bin/env bash
# make-diameter.sh — regenerate pcap/diameter/ks_diameter_peers.pcap (+ .tshark.json), DIAMETER
# over TCP, and the synthetic SCTP capture pcap/diameter/ks_diameter_sctp.pcap (+ .tshark.json)
# built by make-diameter-sctp.py (the kernel used here has no SCTP sockets).
# Needs root (network namespace), tcpdump, tshark, freediameterd + freediameter-extensions
# (freeDiameterd 1.2.1, dict_nasreq/dict_dcca/dict_dcca_3gpp/acl_wl), python3, and for the
# SCTP file scapy (pip install scapy).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
PORT=3868
out="$PCAP_DIR/diameter/ks_diameter_peers.pcap"
capture "$out" "tcp port $PORT" "$CAPTURES_DIR/diameter_scenario.sh"
# 3868 is tshark's default port for DIAMETER (TCP and SCTP): no .decode-as needed
"$CAPTURES_DIR/../make-references.sh" "$out"
sctp="$PCAP_DIR/diameter/ks_diameter_sctp.pcap"
python3 "$CAPTURES_DIR/make-diameter-sctp.py" "$sctp"
"$CAPTURES_DIR/../make-references.sh" "$sctp"
