#!/usr/bin/env bash
# Collection cost does not grow with collection size: write latency on a 10-element collection
# against a 1,000,000-element one, and DEL of a 1,000,000-element hash while other clients GET.
# Prints Markdown for docs/benchmarks.md. Servers listen on 127.0.0.1 on a free port.
#
#   bash scripts/bench-collections.sh             # N=1000000, about 3 minutes on 2 cores
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/strata/target}"
BIN="$CARGO_TARGET_DIR/release/strata-server"
[ -x "$BIN" ] || cargo build --release --bin strata-server
N="${N:-1000000}"
WORK="$(mktemp -d)"
PID=""
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$BIN" --port "$PORT" --dir "$WORK/data" --loglevel warning &
PID=$!
for _ in $(seq 100); do redis-cli -p "$PORT" PING >/dev/null 2>&1 && break; sleep 0.1; done

fill() { # fill KIND KEY COUNT: one RESP stream through redis-cli --pipe
    python3 - "$1" "$2" "$3" <<'PY' | redis-cli -p "$PORT" --pipe >/dev/null
import sys
kind, key, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
out = sys.stdout.buffer
def cmd(*a):
    out.write(b"*%d\r\n" % len(a) + b"".join(b"$%d\r\n%s\r\n" % (len(x), x) for x in a))
k = key.encode()
step = 1000
for i in range(0, n, step):
    items = range(i, min(n, i + step))
    if kind == "hash":
        cmd(b"HSET", k, *[x for j in items for x in (b"f:%d" % j, b"v:%d" % j)])
    elif kind == "zset":
        cmd(b"ZADD", k, *[x for j in items for x in (b"%d" % j, b"m:%d" % j)])
    else:
        cmd(b"RPUSH", k, *[b"item:%d" % j for j in items])
PY
}
lat() { # lat ARGS... -> "p50 p99" in ms, one client
    redis-benchmark -p "$PORT" -c 1 -n 20000 -r 100000000 "$@" | awk '/latency summary/ {getline; getline; print $3" "$5}'
}

for kind in hash zset list; do
    fill "$kind" "small:$kind" 10
    fill "$kind" "big:$kind" "$N"
done
echo "## Collections: cost does not grow with size ($(date -u +%Y-%m-%d), $(nproc) cores, $N elements)"
echo
echo "Produced by \`bash scripts/bench-collections.sh\`. One client, 20,000 requests each, new random"
echo "fields/members, latency in ms. The memory tier holds the metadata; elements come from RocksDB."
echo
echo "| command | 10 elements p50 / p99 | $N elements p50 / p99 | p50 ratio |"
echo "|---|---|---|---|"
row() { # row LABEL SMALL_ARGS... -- BIG_ARGS...
    local label=$1; shift
    local small=() big=()
    while [ "$1" != "--" ]; do small+=("$1"); shift; done; shift
    big=("$@")
    read -r s50 s99 <<<"$(lat "${small[@]}")"
    read -r b50 b99 <<<"$(lat "${big[@]}")"
    echo "| $label | $s50 / $s99 | $b50 / $b99 | $(python3 -c "print(round($b50/$s50, 2))") |"
}
row HSET HSET small:hash f:__rand_int__ v -- HSET big:hash f:__rand_int__ v
row ZADD ZADD small:zset __rand_int__ m:__rand_int__ -- ZADD big:zset __rand_int__ m:__rand_int__
row LPUSH LPUSH small:list x -- LPUSH big:list x
echo
echo "Sizes: HLEN $(redis-cli -p "$PORT" HLEN big:hash), ZCARD $(redis-cli -p "$PORT" ZCARD big:zset), LLEN $(redis-cli -p "$PORT" LLEN big:list)."
echo

# DEL of a big hash while 10 other clients GET.
redis-cli -p "$PORT" SET k v >/dev/null
base=$(redis-benchmark -p "$PORT" -c 10 -n 100000 GET k | awk '/latency summary/ {getline; getline; print $5}')
redis-benchmark -p "$PORT" -c 10 -n 300000 GET k > "$WORK/during.txt" &
B=$!
sleep 1
DEL_MS=$(python3 - "$PORT" <<'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
t0 = time.perf_counter()
s.sendall(b"*2\r\n$3\r\nDEL\r\n$8\r\nbig:hash\r\n")
assert s.recv(64) == b":1\r\n"
print(round((time.perf_counter() - t0) * 1000, 2))
PY
)
wait "$B"
during=$(awk '/latency summary/ {getline; getline; print $5}' "$WORK/during.txt")
echo "| DEL of the $N-field hash | GET p99, 10 clients, before | GET p99 while DEL runs |"
echo "|---|---|---|"
echo "| $DEL_MS ms (client round trip) | $base ms | $during ms |"
echo
echo "After DEL: EXISTS $(redis-cli -p "$PORT" EXISTS big:hash), DBSIZE $(redis-cli -p "$PORT" DBSIZE). The elements are reclaimed by compaction."
