#!/usr/bin/env bash
# Runs Floe's whole test suite on a fresh machine: installs what it needs (the Python interop
# clients, in a venv outside the clone), then the Rust tests, then a bounded fuzzing run.
#
#   scripts/test.sh                 # everything
#   FLOE_FUZZ_SECONDS=0 scripts/test.sh   # skip the fuzzer
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/floe-target}"
FUZZ_SECONDS="${FLOE_FUZZ_SECONDS:-60}"

echo "== interop clients (pyiceberg, DuckDB, moto) =="
VENV="$(bash scripts/interop-venv.sh | tail -n 1)"
export FLOE_VENV="$VENV"
"$VENV/bin/python" -c 'import pyiceberg, duckdb; print("pyiceberg", pyiceberg.__version__, "duckdb", duckdb.__version__)'

echo "== cargo test =="
cargo test --workspace

if [ "$FUZZ_SECONDS" != "0" ]; then
  echo "== fuzz the metadata parser and builder for ${FUZZ_SECONDS}s =="
  cargo run --release -q -p floe-fuzz -- --seconds "$FUZZ_SECONDS"
fi
