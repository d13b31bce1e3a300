#!/usr/bin/env bash
# make-tls.sh [NAME ...] — regenerate pcap/tls/ks_tls*.pcap with their TLS key logs
# (ks_*.keylog) and references (.tshark.json without keys, .keylog.tshark.json with them).
# NAME: tls13_h1 tls13_h2 tls12_h1 tls12_h2 tls13_keyupdate tls13_resume tls12_resume
# tls_wrongkey tls_alert (default: all).
# Needs root (network namespace), tcpdump, tshark, openssl, curl and nginx (nginx-light).
# Certificates are throw-away ones made here at run time (self-signed, CN/SAN ks.test):
# RSA 2048 and ECDSA P-256. Port 443 is tshark's default port for TLS: no .decode-as.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
certs="$(mktemp -d)"
trap 'rm -rf "$certs"' EXIT
openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj /CN=ks.test \
    -addext subjectAltName=DNS:ks.test -keyout "$certs/rsa.key" -out "$certs/rsa.pem" 2>/dev/null
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -subj /CN=ks.test \
    -addext subjectAltName=DNS:ks.test -keyout "$certs/ecdsa.key" -out "$certs/ecdsa.pem" 2>/dev/null
names=("$@")
[ "${#names[@]}" -gt 0 ] || names=(tls13_h1 tls13_h2 tls12_h1 tls12_h2 tls13_keyupdate tls13_resume
                                    tls12_resume tls_wrongkey tls_alert)
for n in "${names[@]}"; do
    out="$PCAP_DIR/tls/ks_$n.pcap"
    capture "$out" "tcp port 443" "$CAPTURES_DIR/tls_scenario.sh" "$n" "$certs" "${out%.pcap}.keylog"
    chmod 644 "${out%.pcap}.keylog"
    "$CAPTURES_DIR/../make-references.sh" "$out"
done
