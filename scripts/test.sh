#!/usr/bin/env bash
# The whole test suite: formatting, lints, then every unit and integration test, all in the
# release profile (one RocksDB build serves tests, benchmarks and the binary).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/strata/target}"
cargo fmt --all --check
cargo clippy --release --workspace --all-targets -- -D warnings
cargo test --release --workspace
