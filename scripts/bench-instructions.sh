#!/usr/bin/env bash
# Instructions per request, counted by callgrind: repeatable to a few tenths of a percent on a
# noisy machine, where ops/s swing by 20-30 % between runs. Starts the release binary under
# valgrind with one worker thread (`--io-threads 1`) on a fresh temp dir, drives it with redis-benchmark, counts
# only the benchmark's window (callgrind_control zeroes, then dumps), and prints Ir per request.
#
#   bash scripts/bench-instructions.sh                  # SET and GET, -P 16, 20000 requests
#   TESTS=set,incr P=1 N=5000 bash scripts/bench-instructions.sh
#   R=10000 TESTS=get bash scripts/bench-instructions.sh  # GETs that hit
#   REDIS=1 bash scripts/bench-instructions.sh          # the same for redis-server (AOF on)
#
# GET runs after a SET load of the same size (so most GETs of -r 1000000 keys miss, as in
# bench-compare.sh). Needs valgrind, redis-benchmark and redis-cli.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/strata/target}"
BIN="${BIN:-$CARGO_TARGET_DIR/release/strata-server}"
TESTS="${TESTS:-set,get}"
N="${N:-20000}"
P="${P:-16}"
# Key range: a smaller one makes GETs hit (R=10000: nearly every GET finds its key).
R="${R:-1000000}"
if [ "${SKIP_BUILD:-0}" != 1 ] && [ "${REDIS:-0}" != 1 ]; then
    cargo build --release --bin strata-server >&2
fi
WORK="$(mktemp -d)"
VPID=""
cleanup() {
    [ -n "$VPID" ] && kill "$VPID" 2>/dev/null || true
    [ -n "$VPID" ] && wait "$VPID" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

echo "| server | test | -P | requests | instructions per request |"
echo "|---|---|---|---|---|"
for t in ${TESTS//,/ }; do
    rm -rf "$WORK/data" "$WORK"/cg.out*
    mkdir -p "$WORK/data"
    if [ "${REDIS:-0}" = 1 ]; then
        NAME="redis-server"
        valgrind --tool=callgrind --callgrind-out-file="$WORK/cg.out" redis-server \
            --bind 127.0.0.1 --port "$PORT" --dir "$WORK/data" --save "" --appendonly yes \
            --appendfsync everysec >"$WORK/server.log" 2>&1 &
    else
        NAME="strata"
        valgrind --tool=callgrind --callgrind-out-file="$WORK/cg.out" \
            "$BIN" --bind 127.0.0.1 --port "$PORT" --dir "$WORK/data" --io-threads 1 \
            --loglevel warning >"$WORK/server.log" 2>&1 &
    fi
    VPID=$!
    for _ in $(seq 100); do
        redis-cli -p "$PORT" PING >/dev/null 2>&1 && break
        sleep 0.3
    done
    if [ "$t" = get ]; then
        redis-benchmark -p "$PORT" -t set -n "$N" -c 50 -d 128 -r "$R" -P 16 -q >/dev/null
    fi
    callgrind_control -z "$VPID" >/dev/null 2>&1
    redis-benchmark -p "$PORT" -t "$t" -n "$N" -c 50 -d 128 -r "$R" -P "$P" -q >/dev/null
    callgrind_control -d "$VPID" >/dev/null 2>&1
    redis-cli -p "$PORT" SHUTDOWN NOSAVE >/dev/null 2>&1 || true
    wait "$VPID" 2>/dev/null || true
    VPID=""
    total=$(callgrind_annotate "$WORK/cg.out.1" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}')
    echo "| $NAME | ${t^^} | $P | $N | $((total / N)) |"
done
