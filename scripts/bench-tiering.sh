#!/usr/bin/env bash
# Tiering load tests with redis-benchmark against the release binary. Prints Markdown for
# docs/benchmarks.md. Every server listens on 127.0.0.1 on a free port and is stopped by PID.
#
#   bash scripts/bench-tiering.sh            # all cases (about 5 minutes on 2 cores)
#   HOT=64mb KEYS=640000 bash scripts/bench-tiering.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/strata/target}"
BIN="$CARGO_TARGET_DIR/release/strata-server"
[ -x "$BIN" ] || cargo build --release --bin strata-server
HOT="${HOT:-64mb}"          # hot-memory budget
KEYS="${KEYS:-640000}"      # distinct keys; x VALUE bytes = about 10x HOT by default
VALUE="${VALUE:-1000}"
HOTSET="${HOTSET:-16000}"   # keys in the hot set (fits the memory tier)
WORK="$(mktemp -d)"
PIDS=()
cleanup() { for p in "${PIDS[@]:-}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT

start() { # start NAME ARGS... ; sets PORT and PID
    PORT=$(free_port)
    "$BIN" --port "$PORT" --dir "$WORK/$1" --loglevel warning "${@:2}" &
    PID=$!
    PIDS+=("$PID")
    wait_up "$PORT" "$PID"
}
stop() { kill "$1"; wait "$1" 2>/dev/null || true; }
rss_mb() { awk '/VmRSS/ {printf "%.1f", $2/1024}' "/proc/$1/status"; }
info() { redis-cli -p "$PORT" INFO "$1" | tr -d '\r' | awk -F: -v k="$2" '$1==k {print $2}'; }
load() { # fill KEYS keys (about 3 passes of random SETs cover >95% of them)
    redis-benchmark -p "$PORT" -t set -n $((KEYS * 3)) -r "$KEYS" -d "$VALUE" -c 50 -P 16 -q >/dev/null
}
bench_get() { # bench_get CLIENTS N RANGE -> ops/s
    redis-benchmark -p "$PORT" -c "$1" -n "$2" -r "$3" -q GET "key:__rand_int__" | awk '{for(i=1;i<=NF;i++) if($i=="requests") print $(i-1)}' | tail -1
}

echo "## Tiering ($(date -u +%Y-%m-%d), $(nproc) cores, hot-memory $HOT, $KEYS keys x $VALUE B)"
echo

# 1. Load 10x hot-memory; sample RSS every 200 ms.
start load --hot-memory "$HOT"
MAXRSS=0
( while kill -0 "$PID" 2>/dev/null; do rss_mb "$PID"; echo; sleep 0.2; done ) > "$WORK/rss.txt" &
SAMPLER=$!
T0=$(date +%s.%N)
load
T1=$(date +%s.%N)
sleep 2
kill "$SAMPLER" 2>/dev/null || true
MAXRSS=$(sort -n "$WORK/rss.txt" | tail -1)
BUDGET_MB=$(python3 -c "print(round($(info memory hot_memory)/1048576, 1))")
LIMIT=$(python3 -c "print(round(1.15*$BUDGET_MB + 64, 1))")
echo "### Loading a data set larger than hot-memory"
echo
echo "| logical data | keys | load time | max RSS sampled | limit 1.15 x budget + 64 MiB | hot keys at end |"
echo "|---|---|---|---|---|---|"
echo "| $(python3 -c "print(round($(info tiering logical_data_size)/1048576))") MiB | $(redis-cli -p "$PORT" DBSIZE) | $(python3 -c "print(round($T1-$T0,1))") s | $MAXRSS MiB | $LIMIT MiB | $(info tiering hot_keys) |"
echo

# 2. GET throughput, 90/10 hot/cold, against all in memory; 3. cold-read latency.
hotcold() { # runs hot and cold clients together: 45 clients on the hot set, 5 on everything
    local t0 t1
    t0=$(date +%s.%N)
    bench_get 45 450000 "$HOTSET" > "$WORK/hot.txt" &
    local h=$!
    bench_get 5 50000 "$KEYS" > "$WORK/cold.txt"
    wait "$h"
    t1=$(date +%s.%N)
    python3 -c "print(round(500000/($t1-$t0)))"
}
bench_get 45 200000 "$HOTSET" >/dev/null   # warm the hot set
TIERED=$(hotcold)
COLD_READS=$(info tiering cold_reads)
redis-cli -p "$PORT" TIER DROP >/dev/null
LAT=$(redis-benchmark -p "$PORT" -c 1 -n 20000 -r "$KEYS" GET "key:__rand_int__" | awk '/latency summary/ {getline; getline; print $3" "$5}')
stop "$PID"
start mem --hot-memory 4gb --dir "$WORK/load"
bench_get 50 $((KEYS)) "$KEYS" >/dev/null   # load everything into memory
ALLMEM=$(hotcold)
WARMLAT=$(redis-benchmark -p "$PORT" -c 1 -n 20000 -r "$KEYS" GET "key:__rand_int__" | awk '/latency summary/ {getline; getline; print $3" "$5}')
stop "$PID"
echo "### GET, 90% of requests on a hot set, 10% anywhere"
echo
echo "45 clients GET from the $HOTSET-key hot set while 5 clients GET any of the $KEYS keys."
echo
echo "| memory | GET ops/s | ratio |"
echo "|---|---|---|"
echo "| tiered, hot-memory $HOT | $TIERED | $(python3 -c "print(round($TIERED/$ALLMEM, 2))") |"
echo "| everything in memory (hot-memory 4gb) | $ALLMEM | 1.00 |"
echo
echo "### Read latency, one client, uniform keys"
echo
echo "| tier | p50 ms | p99 ms |"
echo "|---|---|---|"
echo "| disk (after TIER DROP) | ${LAT% *} | ${LAT#* } |"
echo "| memory | ${WARMLAT% *} | ${WARMLAT#* } |"
echo

# 4. Writes crossing the data cap under optimistic-volatile.
CAP=$((64 * 1024 * 1024))
start cap --hot-memory "$HOT" --max-data-size "$CAP" --eviction-policy optimistic-volatile
redis-benchmark -p "$PORT" -t set -n "${CAP_SETS:-600000}" -r 100000000 -d "$VALUE" -c 50 -q >/dev/null 2>&1 &
BENCH=$!
prev=0; s=0
while kill -0 "$BENCH" 2>/dev/null; do   # one sample a second while the load runs
    cur=$(info stats total_commands_processed); size=$(info tiering logical_data_size)
    [ "$s" -gt 0 ] && echo "$s $((cur - prev)) $size" >> "$WORK/series.txt"
    prev=$cur; s=$((s + 1)); sleep 1
done
wait "$BENCH" || true
echo "### Writes crossing the data cap (optimistic-volatile, cap 64 MiB)"
echo
echo "SET of $VALUE-byte values to random keys, 50 clients. Throughput per second and logical size:"
echo
echo "| second | SET ops/s | logical size MiB |"
echo "|---|---|---|"
awk '{printf "| %d | %d | %.1f |\n", $1, $2, $3/1048576}' "$WORK/series.txt"
echo
echo "evicted_keys: $(info stats evicted_keys), final logical size $(python3 -c "print(round($(info tiering logical_data_size)/1048576,1))") MiB"
stop "$PID"
