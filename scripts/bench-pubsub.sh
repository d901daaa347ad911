#!/usr/bin/env bash
# Pub/sub fan-out: one publisher, SUBS subscriber connections on one channel; reports messages
# per second received (summed over the subscribers) and published, for Strata and redis-server
# in the same run. The publisher pipelines PUBLISH in batches of BATCH and keeps at most
# WINDOW messages in flight per subscriber, so neither server hits its output-buffer limit.
# Prints Markdown. Servers listen on 127.0.0.1 on free ports.
#
#   bash scripts/bench-pubsub.sh                         # SUBS=100 SECS=10 SIZE=64
#   SUBS=10 SECS=2 bash scripts/bench-pubsub.sh          # smoke run
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/strata/target}"
BIN="$CARGO_TARGET_DIR/release/strata-server"
[ -x "$BIN" ] || cargo build --release --bin strata-server
command -v redis-server >/dev/null || { echo "redis-server is not installed" >&2; exit 1; }
SUBS="${SUBS:-100}"
SECS="${SECS:-10}"
SIZE="${SIZE:-64}"
BATCH="${BATCH:-50}"
WORK="$(mktemp -d)"
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
    rm -rf "$WORK"
}
trap cleanup EXIT

SPORT=$(free_port)
"$BIN" --port "$SPORT" --dir "$WORK/strata" --loglevel warning &
PIDS+=($!)
RPORT=$(free_port)
mkdir -p "$WORK/redis"
redis-server --port "$RPORT" --dir "$WORK/redis" --save "" --appendonly no --loglevel warning >/dev/null &
PIDS+=($!)
wait_up "$SPORT"
wait_up "$RPORT"

run() { # run PORT: prints "received/s published/s"
    python3 - "$1" "$SUBS" "$SECS" "$SIZE" "$BATCH" <<'PY'
import asyncio, sys, time
port, subs, secs, size, batch = (int(x) for x in sys.argv[1:6])
window = max(4 * batch, 1000)

def enc(*a):
    return b"*%d\r\n" % len(a) + b"".join(b"$%d\r\n%s\r\n" % (len(x), x) for x in a)

async def main():
    received = [0] * subs
    stop = asyncio.Event()
    ready = 0
    all_ready = asyncio.Event()

    async def subscriber(i):
        nonlocal ready
        r, w = await asyncio.open_connection("127.0.0.1", port, limit=1 << 20)
        w.write(enc(b"SUBSCRIBE", b"bench"))
        await w.drain()
        await r.readuntil(b":1\r\n")
        ready += 1
        if ready == subs:
            all_ready.set()
        # Every message is `*3 $7 message $5 bench $SIZE payload`: a fixed length.
        msg_len = len(enc(b"message", b"bench", b"x" * size))
        pending = b""
        while not stop.is_set():
            chunk = await r.read(1 << 16)
            if not chunk:
                break
            pending += chunk
            n, rest = divmod(len(pending), msg_len)
            received[i] += n
            pending = pending[n * msg_len:]
        w.close()

    tasks = [asyncio.create_task(subscriber(i)) for i in range(subs)]
    await asyncio.wait_for(all_ready.wait(), 30)
    r, w = await asyncio.open_connection("127.0.0.1", port, limit=1 << 20)
    req = enc(b"PUBLISH", b"bench", b"x" * size) * batch
    published = 0
    start = time.monotonic()
    base = list(received)
    while time.monotonic() - start < secs:
        # Stay at most `window` messages ahead of the slowest subscriber.
        while published - min(x - b for x, b in zip(received, base)) > window:
            await asyncio.sleep(0.001)
        w.write(req)
        await w.drain()
        got = 0
        while got < batch:
            line = await r.readline()
            if not line.startswith(b":"):
                raise SystemExit("unexpected reply %r" % line)
            got += 1
        published += batch
    elapsed = time.monotonic() - start
    total = sum(x - b for x, b in zip(received, base))
    stop.set()
    w.close()
    for t in tasks:
        t.cancel()
    print(f"{total / elapsed:.0f} {published / elapsed:.0f}")

asyncio.run(main())
PY
}

S=$(run "$SPORT")
R=$(run "$RPORT")
echo "### Pub/sub fan-out: 1 publisher, $SUBS subscribers, ${SIZE}-byte messages, ${SECS}s"
echo
echo "| server | messages received/s | PUBLISH/s |"
echo "|---|---:|---:|"
echo "| Strata | ${S% *} | ${S#* } |"
echo "| redis-server $(redis-server --version | sed -E 's/.*v=([0-9.]+).*/\1/') | ${R% *} | ${R#* } |"
