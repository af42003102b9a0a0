#!/usr/bin/env bash
# Property-based check of a running Floe catalog-server against spec/openapi.yaml.
#
#   FLOE_URL=http://127.0.0.1:PORT tests/interop/schemathesis_check.sh [extra `schemathesis run` args]
#
# Schemathesis (pinned in tests/interop/requirements.txt, installed by scripts/interop-venv.sh)
# generates requests for every operation of the document, valid ones and deliberately invalid
# ones, and checks each answer:
#   not_a_server_error            no 5xx
#   status_code_conformance       the status is one the document lists for that operation
#   content_type_conformance      the Content-Type is the documented one
#   response_headers_conformance  documented required headers are present (ETag on load)
#   response_schema_conformance   the body matches the documented schema (error model included)
# Exit status: 0 when all pass, non-zero otherwise (1 = failures found, 124 = time budget hit,
# 2 = setup problem).
#
# The server must be a throwaway: the run creates and drops namespaces, tables and warehouses.
# Before the run the script creates namespace `sch_ns`, `sch_ns`.`child` and table `sch_ns.sch_t`
# in warehouse `default`; schemathesis.toml steers most generated paths to those. Storage
# locations in generated bodies are rewritten to a scratch directory (schemathesis_hooks.py).
#
# Settings (environment):
#   FLOE_URL                          base URL of the server (required)
#   FLOE_VENV                         venv holding schemathesis (default ~/.cache/floe-venv)
#   FLOE_SCHEMATHESIS_MAX_EXAMPLES    test cases per operation and phase (default 20)
#   FLOE_SCHEMATHESIS_SEED            random seed (default 1; "random" for a fresh one)
#   FLOE_SCHEMATHESIS_TIMEOUT         wall-clock budget in seconds (default 150)
#   FLOE_SCHEMATHESIS_REPORT_DIR      where the JUnit report goes (default: the scratch dir)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd "$here/../.." && pwd)"
: "${FLOE_URL:?set FLOE_URL to the server base URL, e.g. http://127.0.0.1:8181}"
FLOE_URL="${FLOE_URL%/}"
venv="${FLOE_VENV:-$HOME/.cache/floe-venv}"
schemathesis="$venv/bin/schemathesis"
python="$venv/bin/python"
if [[ ! -x "$schemathesis" ]]; then
  echo "schemathesis_check: $schemathesis not found; run scripts/interop-venv.sh first" >&2
  exit 2
fi

scratch="$(mktemp -d "${TMPDIR:-/tmp}/floe-schemathesis.XXXXXX")"
report_dir="$(realpath -m "${FLOE_SCHEMATHESIS_REPORT_DIR:-$scratch/report}")"
mkdir -p "$report_dir"

export PYTHONPATH="$here${PYTHONPATH:+:$PYTHONPATH}"
export FLOE_URL

# Objects for the generated requests to find (schemathesis.toml names them).
"$python" -c 'import schemathesis_hooks as h; h.ensure_fixtures()' \
  || { echo "schemathesis_check: could not prepare the server at $FLOE_URL" >&2; exit 2; }

seed="${FLOE_SCHEMATHESIS_SEED:-1}"
seed_args=()
[[ "$seed" != "random" ]] && seed_args=(--seed "$seed")

export FLOE_SCHEMATHESIS_SCRATCH="$scratch/locations"
export SCHEMATHESIS_HOOKS=schemathesis_hooks

# Run from the scratch dir: schemathesis keeps a cache (.schemathesis/) in its working directory.
cd "$scratch"
set +e
timeout --kill-after=10 "${FLOE_SCHEMATHESIS_TIMEOUT:-150}" \
  "$schemathesis" --config-file "$here/schemathesis.toml" --no-color \
  run "$repo_root/spec/openapi.yaml" \
  --url "$FLOE_URL" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance \
  --max-examples "${FLOE_SCHEMATHESIS_MAX_EXAMPLES:-20}" \
  "${seed_args[@]}" \
  --exclude-path /metrics --exclude-path /docs \
  --workers 1 \
  --request-timeout 20 \
  --generation-database none \
  --suppress-health-check all \
  --report junit --report-junit-path "$report_dir/schemathesis-junit.xml" \
  "$@"
rc=$?
set -e
if [[ $rc -eq 124 || $rc -eq 137 ]]; then
  echo "schemathesis_check: FAILED: over the time budget of ${FLOE_SCHEMATHESIS_TIMEOUT:-150}s" >&2
elif [[ $rc -ne 0 ]]; then
  echo "schemathesis_check: FAILED (exit $rc); JUnit report: $report_dir/schemathesis-junit.xml" >&2
else
  echo "schemathesis_check: passed"
fi
rm -rf "$scratch/locations" 2>/dev/null || true
exit $rc
