#!/usr/bin/env bash
# Overhead of the eBPF TLS tracer on the traced programs (issue 10): wrk
# against nginx over TLS on loopback (HTTP/1.1 keep-alive), requests/s
#   1. without the tracer,
#   2. with `ks-dissect --tls-trace --comm nobody` (every probe attached,
#      nothing in scope: the cost of the probes firing at all),
#   3. with `ks-dissect --tls-trace` tracing everything (wrk and nginx both,
#      every entry dissected; output counted, not printed),
# for a 6-byte and a 1 MB response. A benchmark, not a test: numbers depend
# on the machine. Needs root. Prints a markdown table (docs/tls.md).
#
#   benches/tls-trace/run.sh [SECONDS_PER_RUN]
set -euo pipefail
cd "$(dirname "$0")/../.."
SECS=${1:-10}
if [ "$(id -u)" != 0 ]; then echo "needs root" >&2; exit 1; fi
command -v wrk >/dev/null && command -v nginx >/dev/null \
    || apt-get install -y -qq wrk nginx-light openssl >/dev/null
cargo build --release -q -p ks-dissect --features tls-trace
KS=$PWD/target/release/ks-dissect
TMP=$(mktemp -d)
# nginx's workers run as another user: the files must be readable by it.
chmod 755 "$TMP"
trap 'kill $(cat "$TMP/nginx.pid" 2>/dev/null) 2>/dev/null || true; rm -rf "$TMP"' EXIT
openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=localhost -days 1 \
    -keyout "$TMP/key.pem" -out "$TMP/cert.pem" 2>/dev/null
printf 'hello\n' > "$TMP/small"
head -c 1000000 /dev/zero | tr '\0' 'x' > "$TMP/big"
chmod 644 "$TMP"/*
mkdir -p "$TMP/tmp"
cat > "$TMP/nginx.conf" <<CONF
worker_processes 1; pid $TMP/nginx.pid; error_log $TMP/error.log;
events { worker_connections 256; }
http { access_log off; client_body_temp_path $TMP/tmp; proxy_temp_path $TMP/tmp;
  fastcgi_temp_path $TMP/tmp; uwsgi_temp_path $TMP/tmp; scgi_temp_path $TMP/tmp;
  server { listen 127.0.0.1:19443 ssl; ssl_certificate $TMP/cert.pem;
    ssl_certificate_key $TMP/key.pem; root $TMP; keepalive_requests 1000000; } }
CONF
nginx -c "$TMP/nginx.conf"
sleep 0.5

rate() { # path -> requests/s
    wrk -t1 -c8 -d"${SECS}s" "https://127.0.0.1:19443/$1" | awk '/Requests\/sec/ {print $2}'
}
with_tracer() { # path, ks-dissect args...
    local path=$1; shift
    "$KS" --count -q "$@" 2>"$TMP/ks.err" & local pid=$!
    # Wait for the probes: the first line says so.
    for _ in $(seq 100); do grep -q "capturing from" "$TMP/ks.err" 2>/dev/null && break; sleep 0.1; done
    local r; r=$(rate "$path")
    kill -INT $pid; wait $pid || true
    echo "$r"
}
echo "| response | no tracer | probes attached, nothing in scope | tracing wrk and nginx |"
echo "|---|---|---|---|"
for f in small big; do
    a=$(rate $f)
    b=$(with_tracer $f --tls-trace --comm nobody)
    c=$(with_tracer $f --tls-trace)
    label=$([ $f = small ] && echo "6 bytes" || echo "1 MB")
    echo "| $label | $a req/s | $b req/s | $c req/s |"
done
