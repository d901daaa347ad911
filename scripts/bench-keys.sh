#!/usr/bin/env bash
# Other clients during a KEYS: loads the same keys into Strata and redis-server, then, on each,
# runs `KEYS *no-such-key` (a walk of every key that matches none) on one connection while
# another sends PINGs one at a time, and prints how long the KEYS took and what the PINGs waited.
#
#   bash scripts/bench-keys.sh                       # 1000000 keys, 3 walks per server
#   KEYS=300000 WALKS=5 bash scripts/bench-keys.sh
#   BIN=/path/to/strata-server bash scripts/bench-keys.sh
#
# Needs redis-server, redis-cli, redis-benchmark and python3.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
strata_binary
KEYS="${KEYS:-1000000}"
WALKS="${WALKS:-3}"
work_dir

cat > "$WORK/probe.py" <<'PY'
import socket, sys, threading, time
port = int(sys.argv[1])
def conn():
    c = socket.create_connection(("127.0.0.1", port))
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return c
def reply(c):
    # Both replies here fit one line: "*0" or "+PONG".
    buf = b""
    while not buf.endswith(b"\r\n"):
        chunk = c.recv(64)
        if not chunk:
            raise SystemExit("connection closed")
        buf += chunk
walker, pinger = conn(), conn()
done, took = threading.Event(), []
def walk():
    t = time.time()
    walker.sendall(b"*2\r\n$4\r\nKEYS\r\n$12\r\n*no-such-key\r\n")
    reply(walker)
    took.append(time.time() - t)
    done.set()
th = threading.Thread(target=walk)
th.start()
time.sleep(0.002)
rtts = []
while not done.is_set():
    t = time.time()
    pinger.sendall(b"*1\r\n$4\r\nPING\r\n")
    reply(pinger)
    rtts.append(time.time() - t)
th.join()
rtts.sort()
print(f"| {sys.argv[2]} | {took[0] * 1000:.0f} ms | {len(rtts)} | {rtts[len(rtts) // 2] * 1000:.2f} ms "
      f"| {rtts[-1] * 1000:.1f} ms |")
PY

echo "KEYS over $KEYS keys while another client PINGs ($(nproc) cores, $(git rev-parse --short HEAD 2>/dev/null || echo unknown)):"
echo
echo "| server | KEYS took | PINGs answered during it | PING p50 | PING max |"
echo "|---|---|---|---|---|"
for system in strata redis; do
    port=$(free_port)
    mkdir -p "$WORK/$system"
    if [ "$system" = strata ]; then
        "$BIN" --bind 127.0.0.1 --port "$port" --dir "$WORK/$system" --loglevel warning \
            >/dev/null 2>&1 &
    else
        redis-server --bind 127.0.0.1 --port "$port" --dir "$WORK/$system" --save "" \
            --appendonly no >/dev/null 2>&1 &
    fi
    PID=$!
    wait_up "$port" "$PID"
    redis-benchmark -h 127.0.0.1 -p "$port" -t set -n "$KEYS" -r 100000000 -P 64 -q >/dev/null
    for _ in $(seq "$WALKS"); do
        python3 "$WORK/probe.py" "$port" "$system ($(redis-cli -p "$port" DBSIZE) keys)"
    done
    kill "$PID"
    wait "$PID" 2>/dev/null || true
    PID=""
done
