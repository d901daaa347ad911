#!/usr/bin/env bash
# Memory per key: loads the same keys into Strata (everything in the memory tier) and into
# redis-server, and prints what each key costs: Strata's INFO `hot_used_memory` (what the tier
# charges, checked against jemalloc by tests/it/tiering.rs) and the growth of its
# `used_memory`, against Redis's `used_memory` growth.
#
#   bash scripts/bench-memory.sh                    # 300000 keys of 16 bytes; values 8, 128, 1000
#   KEYS=100000 SIZES=32,512 bash scripts/bench-memory.sh
#   BIN=/path/to/strata-server bash scripts/bench-memory.sh
#
# Needs redis-server, redis-cli and python3.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
strata_binary
KEYS="${KEYS:-300000}"
SIZES="${SIZES:-8,128,1000}"
work_dir
field() { # field PORT SECTION NAME
    redis-cli -p "$1" INFO "$2" | tr -d '\r' | awk -F: -v n="$3" '$1 == n { print $2 }'
}

echo "| value bytes | keys | Strata hot tier, bytes/key | Strata used_memory growth, bytes/key | Redis used_memory growth, bytes/key | Strata/Redis |"
echo "|---|---|---|---|---|---|"
for size in ${SIZES//,/ }; do
    # SET key:%012d (16 bytes) to a value of `size` bytes, as RESP for redis-cli --pipe.
    python3 - "$KEYS" "$size" > "$WORK/load" <<'PY'
import sys
n, size = int(sys.argv[1]), int(sys.argv[2])
v = b"x" * size
out = sys.stdout.buffer
for i in range(n):
    out.write(b"*3\r\n$3\r\nSET\r\n$16\r\nkey:%012d\r\n$%d\r\n%s\r\n" % (i, size, v))
PY
    port=$(free_port)
    rm -rf "$WORK/strata"
    "$BIN" --bind 127.0.0.1 --port "$port" --dir "$WORK/strata" --hot-memory 8gb \
        --loglevel warning >/dev/null 2>&1 &
    PID=$!
    wait_up "$port"
    before=$(field "$port" memory used_memory)
    redis-cli -p "$port" --pipe < "$WORK/load" >/dev/null
    sleep 0.3 # one evictor pass measures the tables
    hot=$(field "$port" tiering hot_used_memory)
    held=$(field "$port" tiering hot_keys)
    after=$(field "$port" memory used_memory)
    kill "$PID"
    wait "$PID" 2>/dev/null || true
    [ "$held" = "$KEYS" ] || { echo "Strata held $held of $KEYS keys in memory" >&2; exit 1; }

    port=$(free_port)
    rm -rf "$WORK/redis"
    mkdir -p "$WORK/redis"
    redis-server --bind 127.0.0.1 --port "$port" --dir "$WORK/redis" --save "" \
        --appendonly no >/dev/null 2>&1 &
    PID=$!
    wait_up "$port"
    rbefore=$(field "$port" memory used_memory)
    redis-cli -p "$port" --pipe < "$WORK/load" >/dev/null
    rafter=$(field "$port" memory used_memory)
    kill "$PID"
    wait "$PID" 2>/dev/null || true
    PID=""
    python3 - "$size" "$KEYS" "$hot" "$before" "$after" "$rbefore" "$rafter" <<'PY'
import sys
size, keys, hot, b, a, rb, ra = map(int, sys.argv[1:])
s, g, r = hot / keys, (a - b) / keys, (ra - rb) / keys
print(f"| {size} | {keys} | {s:.0f} | {g:.0f} | {r:.0f} | {s / r:.2f} |")
PY
done
