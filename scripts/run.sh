#!/usr/bin/env bash
# Installs what is needed, builds the server and starts it on 127.0.0.1:6379 with its data in
# ./strata-data. Extra arguments are passed to strata-server (e.g. --port 6380).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/strata/target}"
cargo build --release --bin strata-server
exec "$CARGO_TARGET_DIR/release/strata-server" "$@"
