#!/usr/bin/env bash
# Side-by-side load test of Strata and redis-server 7.0 with redis-benchmark. Prints Markdown
# (machine facts, the command line, one table) to stdout; progress goes to stderr.
#
# Both servers are durable: Strata with its defaults (appendfsync everysec), redis-server with
# --appendonly yes --appendfsync everysec --save "". Each listens on 127.0.0.1 on a free port
# with its own temp dir and is stopped by PID. Runs alternate A/B/A/B so drift cancels out, and
# each starts once the machine is idle, so no run pays for the work the one before left behind.
#
#   bash scripts/bench-compare.sh                             # every case (15-20 min on 2 cores)
#   N=2000 ROUNDS=1 HOT=8mb HC_KEYS=80000 bash scripts/bench-compare.sh   # smoke run
#   CASES=p1,always bash scripts/bench-compare.sh
#
# Knobs (environment):
#   CASES     comma-separated subset of: p1 p16 hotcold always (default: all four)
#   ROUNDS    runs per system and case, alternating (default 2)
#   N         requests per test without pipelining (default 100000)
#   N16       requests per test with -P 16 (default 4 x N)
#   TESTS     the -t list of the p1/p16 cases
#   HOT       Strata's hot-memory in the hotcold case (default 64mb)
#   HC_KEYS   keys loaded in the hotcold case (default 640000: x HC_VALUE = 10x HOT)
#   HC_VALUE  value size of the hotcold case (default 1000)
#   HOTSET    keys of the hot set (default HC_KEYS / 40)
#   STRATA_ARGS   extra arguments for every Strata server, e.g. "--io-threads 2"
#   SKIP_BUILD=1  use the existing release binary as is
#   BIN       the strata-server binary to measure (default: the release build; implies no build)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

CASES="${CASES:-p1,p16,hotcold,always}"
ROUNDS="${ROUNDS:-2}"
N="${N:-100000}"
N16="${N16:-$((N * 4))}"
TESTS="${TESTS:-set,get,incr,lpush,rpush,lpop,rpop,sadd,hset,spop,zadd,zpopmin,lrange_100,mset}"
HOT="${HOT:-64mb}"
HC_KEYS="${HC_KEYS:-640000}"
HC_VALUE="${HC_VALUE:-1000}"
HOTSET="${HOTSET:-$((HC_KEYS / 40))}"
COMMON=(-c 50 -d 128 -r 1000000)

strata_binary
[ -x "$BIN" ] || { echo "no binary at $BIN" >&2; exit 1; }
for tool in redis-server redis-benchmark redis-cli python3; do
    command -v "$tool" >/dev/null || { echo "$tool is required" >&2; exit 1; }
done

WORK="$(mktemp -d)"
PIDS=()
STEP="start-up"
FAILED=""
cleanup() {
    # A failed run still prints the rows it measured, and says where it stopped.
    if [ -s "${RESULTS:-}" ] && [ -z "${REPORTED:-}" ]; then
        report || true
    fi
    if [ -n "$FAILED" ]; then
        echo
        echo "- **Partial run**: it stopped during \"$STEP\" ($FAILED)."
    fi
    for p in "${PIDS[@]:-}"; do
        [ -n "$p" ] && kill "$p" 2>/dev/null || true
    done
    for p in "${PIDS[@]:-}"; do
        [ -n "$p" ] && wait "$p" 2>/dev/null || true
    done
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'FAILED="exit status $? at line $LINENO: $BASH_COMMAND"; echo "[bench-compare] failed during $STEP: $FAILED" >&2' ERR
RESULTS="$WORK/results.csv" # case,row,system,round,test,rps,p50,p99
: > "$RESULTS"

log() { STEP="$*"; echo "[bench-compare] $*" >&2; }

# start_strata NAME DIR ARGS... ; start_redis NAME DIR ARGS...  -> set PORT and PID
start_strata() {
    PORT=$(free_port)
    mkdir -p "$2"
    # shellcheck disable=SC2086 # STRATA_ARGS is a list of words
    "$BIN" --bind 127.0.0.1 --port "$PORT" --dir "$2" --loglevel warning ${STRATA_ARGS:-} "${@:3}" \
        > "$WORK/$1.log" 2>&1 &
    PID=$!
    PIDS+=("$PID")
    wait_up "$PORT" "$PID"
}
start_redis() {
    PORT=$(free_port)
    mkdir -p "$2"
    redis-server --bind 127.0.0.1 --port "$PORT" --dir "$2" --save "" --appendonly yes \
        --loglevel warning "${@:3}" > "$WORK/$1.log" 2>&1 &
    PID=$!
    PIDS+=("$PID")
    wait_up "$PORT" "$PID"
}
stop() { # stop PID
    kill "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}

# record CASE ROW SYSTEM ROUND < redis-benchmark --csv output; ROW empty = the test's name
cat > "$WORK/record.py" <<'PY'
import csv, sys
case, row, system, rnd = sys.argv[1:5]
for r in csv.reader(sys.stdin):
    if not r or r[0] == "test" or r[0].startswith("LPUSH (needed"):
        continue
    name = row or r[0].split(" ")[0]
    print(",".join([case, name, system, rnd, r[0].replace(",", ";"), r[1], r[4], r[6]]))
PY
record() { python3 "$WORK/record.py" "$@" >> "$RESULTS"; }

# settle: waits (60 s at most) until the CPUs are 90 % idle and no disk is more than 10 % busy
# over half a second. A run must not share the machine with work the previous run left behind:
# Redis's AOF rewrite child, started near the end of its suite, went on into Strata's next SET
# test (on 2 cores it takes one), RocksDB's flushes and compactions can do the same to Redis's
# next run, and the writeback and deletion of the previous case's data dirs keep the disk busy
# (waiting on it counts as idle CPU), which the `always` case's fsyncs then queue behind.
settle() {
    local waited
    waited=$(python3 - <<'PY'
import time
def snap():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    with open("/proc/diskstats") as f:
        # Milliseconds each device spent doing I/O (the 13th field).
        disks = {d[2]: int(d[12]) for d in map(str.split, f) if len(d) > 12}
    return sum(v), v[3] + v[4], disks
start = time.time()
t0, i0, d0 = snap()
while time.time() - start < 60:
    time.sleep(0.5)
    t1, i1, d1 = snap()
    busy = max((d1[k] - d0.get(k, d1[k]) for k in d1), default=0) / 500
    if t1 > t0 and (i1 - i0) / (t1 - t0) >= 0.9 and busy <= 0.1:
        break
    t0, i0, d0 = t1, i1, d1
print(f"{time.time() - start:.1f}")
PY
)
    echo "[bench-compare]   machine idle after ${waited}s" >&2
}

bench() { # bench PORT ARGS... -> CSV on stdout
    redis-benchmark -h 127.0.0.1 -p "$1" --csv "${@:2}"
}

# ---- cases ------------------------------------------------------------------------------------

case_suite() { # case_suite CASE PIPELINE REQUESTS [APPENDFSYNC TESTS]
    local name=$1 pipe=$2 n=$3 fsync=${4:-everysec} tests=${5:-$TESTS} sp spid rp rpid r
    start_strata "$name-strata" "$WORK/$name-strata" --appendfsync "$fsync"
    sp=$PORT spid=$PID
    start_redis "$name-redis" "$WORK/$name-redis" --appendfsync "$fsync"
    rp=$PORT rpid=$PID
    for r in $(seq "$ROUNDS"); do
        log "$name round $r/$ROUNDS: Strata"
        settle
        bench "$sp" -t "$tests" "${COMMON[@]}" -P "$pipe" -n "$n" | record "$name" "" strata "$r"
        log "$name round $r/$ROUNDS: Redis"
        settle
        bench "$rp" -t "$tests" "${COMMON[@]}" -P "$pipe" -n "$n" | record "$name" "" redis "$r"
    done
    stop "$spid"
    stop "$rpid"
}

gen_load() { # gen_load OP: RESP for OP (SET or GET) of every key:000000000000 .. HC_KEYS-1
    python3 - "$1" "$HC_KEYS" "$HC_VALUE" <<'PY'
import sys
op, keys, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
out = sys.stdout.buffer
value = b"x" * size
for i in range(keys):
    key = b"key:%012d" % i
    if op == "SET":
        out.write(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(key), key, size, value))
    else:
        out.write(b"*2\r\n$3\r\nGET\r\n$%d\r\n%s\r\n" % (len(key), key))
PY
}

pipe_in() { # pipe_in PORT OP
    gen_load "$2" | redis-cli -h 127.0.0.1 -p "$1" --pipe --pipe-timeout 600 >/dev/null
}

hotcold_run() { # hotcold_run PORT ROW SYSTEM ROUND: 45 clients on the hot set, 5 on every key
    local n_hot=$((N * 9 / 10)) n_cold=$((N / 10)) t0 t1 h
    settle
    t0=$(date +%s.%N)
    bench "$1" -c 45 -n "$n_hot" -r "$HOTSET" GET "key:__rand_int__" > "$WORK/hot.csv" &
    h=$!
    bench "$1" -c 5 -n "$n_cold" -r "$HC_KEYS" GET "key:__rand_int__" > "$WORK/cold.csv"
    wait "$h"
    t1=$(date +%s.%N)
    record hotcold "$2: hot 90% (45 clients)" "$3" "$4" < "$WORK/hot.csv"
    record hotcold "$2: any key 10% (5 clients)" "$3" "$4" < "$WORK/cold.csv"
    python3 -c "print('hotcold,$2: both together,$3,$4,GET,%.2f,,' % ($N / ($t1 - $t0)))" \
        >> "$RESULTS"
}

case_hotcold() {
    local tp tpid mp mpid rp rpid r
    log "hotcold: loading $HC_KEYS keys x $HC_VALUE B into Strata"
    start_strata hc-load "$WORK/hc-tiered" --hot-memory 4gb
    pipe_in "$PORT" SET
    stop "$PID"
    cp -a "$WORK/hc-tiered" "$WORK/hc-mem"
    start_strata hc-tiered "$WORK/hc-tiered" --hot-memory "$HOT"
    tp=$PORT tpid=$PID
    start_strata hc-mem "$WORK/hc-mem" --hot-memory 4gb
    mp=$PORT mpid=$PID
    log "hotcold: loading Redis; reading every key into Strata's memory tier"
    start_redis hc-redis "$WORK/hc-redis" --appendfsync everysec
    rp=$PORT rpid=$PID
    pipe_in "$rp" SET
    pipe_in "$mp" GET
    # Warm the hot set in the tiered server.
    redis-benchmark -h 127.0.0.1 -p "$tp" -c 45 -n $((HOTSET * 3)) -r "$HOTSET" -q \
        GET "key:__rand_int__" >/dev/null
    for r in $(seq "$ROUNDS"); do
        log "hotcold round $r/$ROUNDS: Strata tiered"
        hotcold_run "$tp" "tiered (hot-memory $HOT)" strata "$r"
        log "hotcold round $r/$ROUNDS: Redis"
        hotcold_run "$rp" "tiered (hot-memory $HOT)" redis "$r"
        log "hotcold round $r/$ROUNDS: Strata all in memory"
        hotcold_run "$mp" "all in memory (hot-memory 4gb)" strata "$r"
    done
    # Redis is the same server for both rows.
    python3 - "$RESULTS" <<'PY'
import sys
path = sys.argv[1]
rows = open(path).read().splitlines()
extra = []
for line in rows:
    f = line.split(",")
    if f[0] == "hotcold" and f[2] == "redis" and f[1].startswith("tiered"):
        f[1] = f[1].replace(f[1].split(":")[0], "all in memory (hot-memory 4gb)")
        extra.append(",".join(f))
open(path, "a").write("".join(x + "\n" for x in extra))
PY
    stop "$tpid"
    stop "$mpid"
    stop "$rpid"
}

# report: the Markdown table of every row measured so far.
report() {
python3 - "$RESULTS" "$N" "$N16" "$HC_KEYS" "$HC_VALUE" "$HOTSET" "$HOT" <<'PY'
import sys
from collections import OrderedDict
path, n, n16, keys, value, hotset, hot = sys.argv[1:]
titles = {
    "p1": f"-P 1, {n} requests, -c 50 -d 128 -r 1000000",
    "p16": f"-P 16, {n16} requests, -c 50 -d 128 -r 1000000",
    "hotcold": f"GET, {keys} keys x {value} B, hot set {hotset} keys",
    "always": f"appendfsync always on both, -P 1, {n} requests",
}
data = OrderedDict()
for line in open(path):
    case, row, system, rnd, test, rps, p50, p99 = line.rstrip("\n").split(",")
    d = data.setdefault((case, row), {}).setdefault(system, [])
    d.append((float(rps), float(p50) if p50 else None, float(p99) if p99 else None))

def mean(xs):
    xs = [x for x in xs if x is not None]
    return sum(xs) / len(xs) if xs else None

def fmt(x, digits):
    if x is None:
        return "-"
    return f"{x:,.0f}" if digits == 0 else f"{x:.{digits}f}"

def ratio(a, b):
    return "-" if a is None or b in (None, 0) else f"{a / b:.2f}"

# Each round's own ratio, Strata's run over the Redis run beside it: how far a mean moves
# with the machine's spells shows in their spread.
print("| case | test | Strata ops/s | Strata p50 ms | Strata p99 ms | Redis ops/s | Redis p50 ms "
      "| Redis p99 ms | ops/s Strata/Redis | by round | p99 Strata/Redis |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
for (case, row), systems in data.items():
    sr, rr = systems.get("strata", []), systems.get("redis", [])
    s = [mean(col) for col in zip(*(sr or [(None, None, None)]))]
    r = [mean(col) for col in zip(*(rr or [(None, None, None)]))]
    rounds = " ".join(ratio(a[0], b[0]) for a, b in zip(sr, rr)) or "-"
    print(f"| {case} | {row} | {fmt(s[0], 0)} | {fmt(s[1], 3)} | {fmt(s[2], 3)} | {fmt(r[0], 0)} "
          f"| {fmt(r[1], 3)} | {fmt(r[2], 3)} | {ratio(s[0], r[0])} | {rounds} "
          f"| {ratio(s[2], r[2])} |")
print()
for c, t in titles.items():
    if any(k[0] == c for k in data):
        print(f"- {c}: {t}")
tiered = data.get(("hotcold", f"tiered (hot-memory {hot}): both together"), {}).get("strata")
allmem = data.get(("hotcold", "all in memory (hot-memory 4gb): both together"), {}).get("strata")
if tiered and allmem:
    t, m = mean([x[0] for x in tiered]), mean([x[0] for x in allmem])
    print(f"- hotcold: Strata tiered / Strata all in memory, GET ops/s: {t / m:.2f}")
PY
}

# ---- run --------------------------------------------------------------------------------------

CPU=$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)
echo "## Strata vs redis-server, side by side ($(date -u +%Y-%m-%d))"
echo
echo "- Machine: $(nproc) cores, ${CPU:-unknown CPU}, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr)"
echo "- Strata: $("$BIN" --version 2>/dev/null | head -1) ($(git rev-parse --short HEAD 2>/dev/null || echo unknown))"
echo "- $(redis-server --version | cut -d' ' -f1-3), $(redis-benchmark --version)"
echo "- Command: \`${STRATA_ARGS:+STRATA_ARGS=\"$STRATA_ARGS\" }CASES=$CASES ROUNDS=$ROUNDS N=$N N16=$N16 HOT=$HOT HC_KEYS=$HC_KEYS HC_VALUE=$HC_VALUE HOTSET=$HOTSET bash scripts/bench-compare.sh\`"
echo "- Each case alternates Strata and Redis, $ROUNDS runs each; the table shows the mean of the runs,"
echo "  and (\"by round\") the ops/s ratio of each Strata run to the Redis run beside it."
echo "- Each run starts on an idle machine (90 % idle over 0.5 s): the other server's background work"
echo "  (Redis's AOF rewrite, RocksDB's compactions) does not overlap it."
echo

for c in ${CASES//,/ }; do
    case "$c" in
        p1) case_suite p1 1 "$N" ;;
        p16) case_suite p16 16 "$N16" ;;
        always) case_suite always 1 "$N" always set ;;
        hotcold) case_hotcold ;;
        *) echo "unknown case $c (p1 p16 hotcold always)" >&2; exit 1 ;;
    esac
done

report
REPORTED=1
