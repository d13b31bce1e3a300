#!/usr/bin/env bash
# redis_scenario.sh PORT — run inside the capture namespace by make-redis.sh.
# Starts redis-server (no persistence) and drives it with redis-cli only; each
# redis-cli invocation is one TCP connection.
# redis-cli 7.0 reading commands from stdin first sends COMMAND DOCS (a ~180 KB reply) to
# build its help; the server renames COMMAND away so that costs two short -ERR replies
# (COMMAND DOCS, then the fallback COMMAND) instead.
set -euo pipefail
port="$1"
tmp="$(mktemp -d)"
redis-server --bind 127.0.0.1 --port "$port" --save '' --appendonly no --daemonize no \
    --rename-command COMMAND '' --dir "$tmp" --logfile "$tmp/redis.log" &
srv=$!
trap 'kill $srv 2>/dev/null || true; wait $srv 2>/dev/null || true; rm -rf "$tmp"' EXIT
for _ in $(seq 100); do ss -ltn | grep -q ":$port " && break; sleep 0.1; done
cli() { redis-cli -h 127.0.0.1 -p "$port" "$@"; }

# 1. RESP2, one connection (commands read from stdin): strings, integers, nil, -ERR, MULTI/EXEC
cli <<'CMDS'
SET greeting "hello redis"
GET greeting
SET counter 41
INCR counter
INCRBY counter 10
GET missing:key
INCR greeting
HSET user:1 name alice age 30 city paris
SADD tags red green blue
ZADD scores 1.5 alice 2.25 bob
LPUSH queue a b c
LRANGE queue 0 -1
HGET user:1 nope
MULTI
SET tx:a 1
INCR tx:a
GET tx:a
EXEC
DEL greeting counter tx:a queue
EXISTS greeting
CMDS

# 2. RESP3: redis-cli -3 sends HELLO 3 first; map, set, double, null, boolean-ish replies
cli -3 <<'CMDS'
HGETALL user:1
SMEMBERS tags
ZSCORE scores bob
ZRANGE scores 0 -1 WITHSCORES
GET missing:key
CONFIG GET maxmemory
INCR user:1
DEL user:1 tags scores
CMDS

# 3. pipeline: raw RESP from stdin with --pipe (redis-cli appends its own ECHO marker)
for i in 1 2 3 4 5; do
    printf '*3\r\n$3\r\nSET\r\n$6\r\npipe:%d\r\n$7\r\nvalue-%d\r\n' "$i" "$i"
done | cli --pipe

# 4. pub/sub: SUBSCRIBE and PSUBSCRIBE clients, two PUBLISHes from a third
timeout 2 redis-cli -h 127.0.0.1 -p "$port" subscribe news &
s1=$!
timeout 2 redis-cli -h 127.0.0.1 -p "$port" psubscribe 'ne*' &
s2=$!
sleep 0.5
cli publish news "first message"
cli publish news "second message"
wait $s1 $s2 || true

# 5. a ~130 KB value (kept this size so the pcap stays under 400 KB): the bulk string spans many TCP segments both ways
python3 -c 'import sys; sys.stdout.write("".join("%06d the quick brown fox jumps over the lazy dog\n" % i for i in range(2600)))' > "$tmp/big"
cli -x SET big:value < "$tmp/big"
cli STRLEN big:value
cli GET big:value > /dev/null
cli DEL big:value
