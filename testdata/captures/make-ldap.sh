#!/usr/bin/env bash
# make-ldap.sh — regenerate pcap/ldap/ks_ldap_slapd.pcap (+ .tshark.json).
# Needs root (network namespace), tcpdump, tshark, openssl, slapd and ldap-utils
# (ldapsearch, ldapadd, ldapmodify, ldapmodrdn, ldapcompare, ldapdelete, ldapwhoami,
# ldappasswd) and libsasl2-modules (DIGEST-MD5).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
PORT=389
out="$PCAP_DIR/ldap/ks_ldap_slapd.pcap"
capture "$out" "tcp port $PORT" "$CAPTURES_DIR/ldap_scenario.sh" "$PORT"
# 389 is tshark's default port for LDAP: no .decode-as needed
"$CAPTURES_DIR/../make-references.sh" "$out"
