#!/usr/bin/env bash
# tls_scenario.sh NAME CERTDIR KEYLOG — run inside the capture namespace by make-tls.sh.
# NAME is the capture stem without "ks_" (tls13_h1, tls13_h2, tls12_h1, tls12_h2,
# tls13_keyupdate, tls13_resume, tls12_resume, tls_wrongkey, tls_alert).
# CERTDIR holds rsa.pem/rsa.key (RSA 2048) and ecdsa.pem/ecdsa.key (P-256), throw-away
# self-signed certificates for ks.test made by make-tls.sh. KEYLOG is the NSS key log
# file to write (curl: SSLKEYLOGFILE; openssl s_client: -keylogfile).
# Servers: nginx (tls_nginx.conf) or openssl s_server, on 127.0.0.1:443; every client
# connects to https://ks.test/ resolved to 127.0.0.1.
set -euo pipefail
name="$1" certs="$2" keylog="$3"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
tmp="$(mktemp -d)"
srv=""
stop_server() {
    if [ -n "$srv" ]; then kill "$srv" 2>/dev/null || true; wait "$srv" 2>/dev/null || true; srv=""; fi
}
trap 'stop_server; rm -rf "$tmp"' EXIT
rm -f "$keylog"
wait_port() { for _ in $(seq 100); do ss -ltn | grep -q '127.0.0.1:443 ' && return 0; sleep 0.1; done; return 1; }

# content served by nginx
mkdir -p "$tmp/www/api"
printf '<!doctype html>\n<html><head><title>ks.test</title></head><body><h1>Hello over TLS</h1></body></html>\n' \
    > "$tmp/www/index.html"
printf '{"service":"ks","items":[{"id":1,"name":"alpha"},{"id":2,"name":"beta"}],"ok":true}\n' \
    > "$tmp/www/api/data.json"
python3 -c 'import sys; sys.stdout.write("".join("%05d TLS records span TCP segments: lorem ipsum dolor sit amet\n" % i for i in range(620)))' \
    > "$tmp/www/big.txt"   # 39680 bytes

# nginx CERT PROTOCOLS [CIPHERS [http2 [EARLY]]]
nginx_start() {
    local cert="$1" protocols="$2" ciphers="${3:-HIGH:!aNULL:!MD5}" h2="${4:-}" early="${5:-off}"
    sed -e "/^#/d" -e "s|@TMP@|$tmp|g" -e "s|@CERT@|$certs/$cert.pem|" -e "s|@KEY@|$certs/$cert.key|" \
        -e "s|@HTTP2@|$h2|" -e "s|@PROTOCOLS@|$protocols|" -e "s|@CIPHERS@|$ciphers|" \
        -e "s|@EARLY@|$early|" "$here/tls_nginx.conf" > "$tmp/nginx.conf"
    nginx -c "$tmp/nginx.conf" -e "$tmp/error.log" &
    srv=$!
    wait_port
}

# curl with the key log and the throw-away CA; CA=none leaves the CA out (verification fails).
# The common options are repeated after each --next (which resets them); the connection
# stays open across --next.
kcurl() {
    local common=(-sS --resolve ks.test:443:127.0.0.1 --cacert "$certs/${CA:-rsa}.pem") args=() a
    [ "${CA:-}" = none ] && common=(-sS --resolve ks.test:443:127.0.0.1)
    for a in "$@"; do
        args+=("$a")
        [ "$a" = --next ] && args+=("${common[@]}")
    done
    SSLKEYLOGFILE="$keylog" curl "${common[@]}" "${args[@]}" >> "$tmp/client.log"
}
U=https://ks.test
JSON='{"name":"gamma","tags":["tls","keylog"],"note":"posted over TLS"}'

# s_client ARGS...: stdin is sent to the server (letter commands stay enabled)
sclient() {
    openssl s_client -connect 127.0.0.1:443 -servername ks.test -CAfile "$certs/rsa.pem" \
        -keylogfile "$keylog" "$@" >> "$tmp/client.log" 2>&1
}
REQ=$'GET / HTTP/1.1\r\nHost: ks.test\r\nUser-Agent: openssl-s_client\r\nConnection: close\r\n\r\n'

case "$name" in
tls13_h1)
    nginx_start rsa TLSv1.3
    # one connection, three requests (--next keeps the connection)
    kcurl --tlsv1.3 --http1.1 --tls13-ciphers TLS_AES_128_GCM_SHA256 "$U/" "$U/api/data.json" \
        --next --tlsv1.3 --http1.1 --tls13-ciphers TLS_AES_128_GCM_SHA256 \
        -H 'Content-Type: application/json' --data "$JSON" "$U/api/items"
    kcurl --tlsv1.3 --http1.1 --tls13-ciphers TLS_AES_256_GCM_SHA384 "$U/api/data.json"
    kcurl --tlsv1.3 --http1.1 --tls13-ciphers TLS_CHACHA20_POLY1305_SHA256 "$U/"
    ;;
tls13_h2)
    nginx_start ecdsa TLSv1.3 'HIGH:!aNULL:!MD5' http2
    CA=ecdsa kcurl --tlsv1.3 --http2 "$U/" "$U/api/data.json" "$U/big.txt" "$U/missing" \
        --next --tlsv1.3 --http2 -H 'Content-Type: application/json' --data "$JSON" "$U/api/items"
    ;;
tls12_h1)
    nginx_start rsa TLSv1.2
    kcurl --tlsv1.2 --tls-max 1.2 --http1.1 --ciphers ECDHE-RSA-AES128-GCM-SHA256 "$U/" "$U/api/data.json" \
        --next --tlsv1.2 --tls-max 1.2 --http1.1 --ciphers ECDHE-RSA-AES128-GCM-SHA256 \
        -H 'Content-Type: application/json' --data "$JSON" "$U/api/items"
    for c in ECDHE-RSA-AES256-GCM-SHA384 ECDHE-RSA-CHACHA20-POLY1305 ECDHE-RSA-AES128-SHA256 ECDHE-RSA-AES256-SHA; do
        kcurl --tlsv1.2 --tls-max 1.2 --http1.1 --ciphers "$c" "$U/api/data.json"
    done
    ;;
tls12_h2)
    nginx_start ecdsa TLSv1.2 'ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-CHACHA20-POLY1305' http2
    CA=ecdsa kcurl --tlsv1.2 --tls-max 1.2 --http2 --ciphers ECDHE-ECDSA-AES128-GCM-SHA256 \
        "$U/" "$U/api/data.json" "$U/missing" \
        --next --tlsv1.2 --tls-max 1.2 --http2 --ciphers ECDHE-ECDSA-AES128-GCM-SHA256 \
        -H 'Content-Type: application/json' --data "$JSON" "$U/api/items"
    CA=ecdsa kcurl --tlsv1.2 --tls-max 1.2 --http2 --ciphers ECDHE-ECDSA-CHACHA20-POLY1305 "$U/api/data.json"
    ;;
tls13_keyupdate)
    # openssl s_server (plain mode: prints what the client sends, sends its own stdin) and
    # s_client, both fed by timed scripts; "k"/"K" alone on a line are KeyUpdate commands.
    resp() { printf 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s' "${#1}" "$1"; }
    req() { printf 'GET /%s HTTP/1.1\r\nHost: ks.test\r\nUser-Agent: openssl-s_client\r\n\r\n' "$1"; }
    # (-no_ticket only makes s_server's tickets stateful: it still sends 2 NewSessionTickets)
    # times (s) after start: server resp 1.0, 2.5, 4.0, k 4.5, resp 6.0, EOF 8.0;
    # client req 0.5, k 1.5, req 2.0, K 3.0, req 3.5, req 5.5, EOF 6.5 (client closes first)
    {
        sleep 1.0; resp $'first answer\n'
        sleep 1.5; resp $'second answer, after the client KeyUpdate\n'
        sleep 1.5; resp $'third answer, after the KeyUpdate the client requested\n'
        sleep 0.5; printf 'k\n'          # server KeyUpdate (update_not_requested)
        sleep 1.5; resp $'fourth answer, after the server KeyUpdate\n'
        sleep 2.0
    } | openssl s_server -accept 127.0.0.1:443 -naccept 1 -tls1_3 -alpn http/1.1 -cert "$certs/rsa.pem" \
            -key "$certs/rsa.key" -no_ticket > "$tmp/server.log" 2>&1 &
    srv=$!
    wait_port
    {
        sleep 0.5; req one
        sleep 1.0; printf 'k\n'          # client KeyUpdate, update_not_requested
        sleep 0.5; req two
        sleep 1.0; printf 'K\n'          # client KeyUpdate, update_requested
        sleep 0.5; req three
        sleep 2.0; req four
        sleep 1.0
    } | sclient -tls1_3 -alpn http/1.1
    wait "$srv" || true; srv=""
    cat "$tmp/server.log" >> "$tmp/client.log"
    ;;
tls13_resume)
    nginx_start rsa TLSv1.3 'HIGH:!aNULL:!MD5' '' on
    # 1 full handshake (+ NewSessionTickets), 2 PSK resumption (psk_dhe_ke), 3 PSK + 0-RTT early data
    { printf '%s' "$REQ"; sleep 1; } | sclient -tls1_3 -alpn http/1.1 -sess_out "$tmp/s1.pem"
    { printf '%s' "${REQ/GET \//GET /api/data.json}"; sleep 1; } | sclient -tls1_3 -alpn http/1.1 \
        -sess_in "$tmp/s1.pem" -sess_out "$tmp/s2.pem"
    printf '%s' "${REQ/GET \//GET /index.html}" > "$tmp/early.txt"
    sleep 1 | sclient -tls1_3 -alpn http/1.1 -sess_in "$tmp/s2.pem" -early_data "$tmp/early.txt"
    ;;
tls12_resume)
    nginx_start rsa TLSv1.2 'ECDHE-RSA-AES128-GCM-SHA256'
    # 1 full handshake, server sends a ticket; 2 resumed with the ticket;
    # 3 full handshake without ticket support (session id); 4 resumed by session id
    { printf '%s' "$REQ"; sleep 1; } | sclient -tls1_2 -alpn http/1.1 -sess_out "$tmp/t.pem"
    { printf '%s' "$REQ"; sleep 1; } | sclient -tls1_2 -alpn http/1.1 -sess_in "$tmp/t.pem"
    { printf '%s' "$REQ"; sleep 1; } | sclient -tls1_2 -alpn http/1.1 -no_ticket -sess_out "$tmp/i.pem"
    { printf '%s' "$REQ"; sleep 1; } | sclient -tls1_2 -alpn http/1.1 -no_ticket -sess_in "$tmp/i.pem"
    ;;
tls_wrongkey)
    nginx_start rsa 'TLSv1.2 TLSv1.3'
    # stream 0 TLS 1.3, stream 1 TLS 1.2, stream 2 TLS 1.3 (control); each with its own log,
    # then the key log is assembled: stream 0 left out (missing key), one byte of stream 1's
    # master secret flipped (wrong key), stream 2 as written.
    final="$keylog"
    keylog="$tmp/k0"; kcurl --tlsv1.3 --http1.1 "$U/" "$U/api/data.json"
    keylog="$tmp/k1"; kcurl --tlsv1.2 --tls-max 1.2 --http1.1 --ciphers ECDHE-RSA-AES128-GCM-SHA256 "$U/" "$U/api/data.json"
    keylog="$tmp/k2"; kcurl --tlsv1.3 --http1.1 "$U/api/data.json"
    python3 - "$tmp/k1" "$tmp/k2" "$final" <<'PY'
import sys
k1, k2, out = sys.argv[1:]
lines = []
for l in open(k1):
    label, rnd, secret = l.split()
    assert label == "CLIENT_RANDOM"
    b = bytearray.fromhex(secret); b[0] ^= 0x01          # flip one bit of the first byte
    lines.append("%s %s %s\n" % (label, rnd, b.hex()))
lines += open(k2).readlines()
open(out, "w").writelines(lines)
PY
    ;;
tls_alert)
    nginx_start rsa 'TLSv1.2 TLSv1.3'
    # 1 TLS 1.3, CA not given: curl rejects the certificate (alert, encrypted in 1.3)
    CA=none kcurl --tlsv1.3 --http1.1 "$U/" || true
    # 2 same with TLS 1.2: the alert goes in clear
    CA=none kcurl --tlsv1.2 --tls-max 1.2 --http1.1 "$U/" || true
    stop_server
    # 3 TLS 1.3-only server, TLS 1.2-only client: server alert protocol_version
    nginx_start rsa TLSv1.3
    kcurl --tlsv1.2 --tls-max 1.2 --http1.1 "$U/" || true
    ;;
*) echo "unknown scenario $name" >&2; exit 2 ;;
esac
sleep 0.3
cat "$tmp/client.log" >&2
