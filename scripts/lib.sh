# Helpers the bench scripts share; sourced, not run.

# strata_binary: sets BIN to the strata-server to measure: $BIN as given, else the release build
# (built first unless SKIP_BUILD=1).
strata_binary() {
    export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/strata/target}"
    if [ -z "${BIN:-}" ]; then
        BIN="$CARGO_TARGET_DIR/release/strata-server"
        [ "${SKIP_BUILD:-0}" = 1 ] || cargo build --release --bin strata-server >&2
    fi
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# wait_up PORT [PID]: returns once the server on PORT answers PING (30 s at most, or until PID
# exits); otherwise stops the script.
wait_up() {
    for _ in $(seq 300); do
        redis-cli -p "$1" PING >/dev/null 2>&1 && return
        if [ -n "${2:-}" ] && ! kill -0 "$2" 2>/dev/null; then
            break
        fi
        sleep 0.1
    done
    echo "server on port $1 did not start" >&2
    exit 1
}

# work_dir: WORK, a temp dir removed at exit, when the server whose pid is in PID (if any) is
# stopped too.
work_dir() {
    WORK="$(mktemp -d)"
    PID=""
    trap stop_and_clean EXIT
}
stop_and_clean() {
    if [ -n "${PID:-}" ]; then
        kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
    fi
    rm -rf "$WORK"
}
