#!/usr/bin/env bash
# scenario.sh CERTDIR KEYLOG LOGDIR — run by make.sh inside the capture namespace:
# nginx (testdata/captures/tls_nginx.conf with room for 4096 connections) and curl jobs:
# 1050 short HTTPS connections (2000 requests: single, 5 on a reused connection,
# 4 parallel h2 streams) and 32 downloads of 10 MiB, TLS 1.2 and 1.3, h1 and h2,
# three suites per version; curl writes the key log (SSLKEYLOGFILE).
set -euo pipefail
certs="$1" keylog="$2" logdir="$3"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
tmp="$(mktemp -d)"
srv=""
trap '[ -n "$srv" ] && { kill $srv; wait $srv || true; }; cp $tmp/access.log $logdir/ 2>/dev/null; rm -rf "$tmp"' EXIT
rm -f "$keylog"
mkdir -p "$tmp/www/api"
printf '<!doctype html>\n<html><head><title>ks.test</title></head><body><h1>Hello over TLS</h1></body></html>\n' > "$tmp/www/index.html"
printf '{"service":"ks","items":[{"id":1,"name":"alpha"},{"id":2,"name":"beta"}],"ok":true}\n' > "$tmp/www/api/data.json"
python3 -c 'import sys; sys.stdout.write("".join("%05d TLS records span TCP segments: lorem ipsum dolor sit amet\n" % i for i in range(620)))' > "$tmp/www/big.txt"
head -c 10485760 /dev/urandom > "$tmp/www/large.bin"
sed -e "/^#/d" -e "s|@TMP@|$tmp|g" -e "s|@CERT@|$certs/rsa.pem|" -e "s|@KEY@|$certs/rsa.key|" \
    -e "s|@HTTP2@|http2|" -e "s|@PROTOCOLS@|TLSv1.2 TLSv1.3|" -e "s|@CIPHERS@|HIGH:!aNULL:!MD5|" \
    -e "s|@EARLY@|off|" -e "s|worker_connections 64;|worker_connections 4096;|" \
    -e "s|^daemon off;|daemon off;\nworker_rlimit_nofile 8192;|" \
    "$here/../../testdata/captures/tls_nginx.conf" > "$tmp/nginx.conf"
nginx -c "$tmp/nginx.conf" -e "$tmp/error.log" &
srv=$!
for _ in $(seq 100); do ss -ltn | grep -q '127.0.0.1:443 ' && break; sleep 0.1; done
export certs keylog U=https://ks.test
# job: KIND TLS HTTP CIPHER
job() {
    local kind="$1" tls="$2" http="$3" cipher="$4" c=() u
    c=(-sS --resolve ks.test:443:127.0.0.1 --cacert "$certs/rsa.pem" -w '%{stderr}W %{http_version} %{response_code} %{num_connects}\n')
    if [ "$tls" = 13 ]; then c+=(--tlsv1.3 --tls13-ciphers "$cipher"); else c+=(--tlsv1.2 --tls-max 1.2 --ciphers "$cipher"); fi
    if [ "$http" = h2 ]; then c+=(--http2); else c+=(--http1.1); fi
    case "$kind" in
    single) u=("$U/" "$U/api/data.json" "$U/big.txt" "$U/missing"); SSLKEYLOGFILE="$keylog" curl "${c[@]}" "${u[RANDOM % 4]}" ;;
    reuse)  SSLKEYLOGFILE="$keylog" curl "${c[@]}" "$U/" "$U/api/data.json" "$U/big.txt" "$U/missing" \
              --next "${c[@]}" -H 'Content-Type: application/json' --data '{"name":"gamma","note":"posted over TLS"}' "$U/api/items" ;;
    par)    SSLKEYLOGFILE="$keylog" curl --parallel "${c[@]}" "$U/" "$U/api/data.json" "$U/big.txt" "$U/api/data.json" ;;
    large)  SSLKEYLOGFILE="$keylog" curl "${c[@]}" "$U/large.bin" ;;
    esac
}
export -f job
T13=(TLS_AES_128_GCM_SHA256 TLS_AES_256_GCM_SHA384 TLS_CHACHA20_POLY1305_SHA256)
T12=(ECDHE-RSA-AES128-GCM-SHA256 ECDHE-RSA-AES256-GCM-SHA384 ECDHE-RSA-CHACHA20-POLY1305)
{
  for i in $(seq 0 799); do v=$((i%2?13:12)); h=$((i/2%2)); h=$([ $h = 1 ] && echo h2 || echo h1)
      if [ $v = 13 ]; then c=${T13[i/4%3]}; else c=${T12[i/4%3]}; fi; echo "single $v $h $c"; done
  for i in $(seq 0 199); do v=$((i%2?13:12)); h=$((i/2%2)); h=$([ $h = 1 ] && echo h2 || echo h1)
      if [ $v = 13 ]; then c=${T13[i/4%3]}; else c=${T12[i/4%3]}; fi; echo "reuse $v $h $c"; done
  for i in $(seq 0 49); do v=$((i%2?13:12)); if [ $v = 13 ]; then c=${T13[i/2%3]}; else c=${T12[i/2%3]}; fi; echo "par $v h2 $c"; done
} | shuf --random-source=<(yes) > "$logdir/small.jobs"
xargs -P 8 -L 1 bash -c 'job "$@"' _ < "$logdir/small.jobs" > /dev/null 2> "$logdir/small.log"
# large: 4 suites x {h1,h2} x 4 = 32 x 10 MiB, 2 at a time
for r in 1 2 3 4; do for h in h1 h2; do
  echo "large 13 $h TLS_AES_128_GCM_SHA256"; echo "large 13 $h TLS_AES_256_GCM_SHA384"
  echo "large 12 $h ECDHE-RSA-AES128-GCM-SHA256"; echo "large 12 $h ECDHE-RSA-CHACHA20-POLY1305"
done; done > "$logdir/large.jobs"
xargs -P 2 -L 1 bash -c 'job "$@"' _ < "$logdir/large.jobs" > /dev/null 2> "$logdir/large.log"
sleep 0.5
