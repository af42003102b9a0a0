#!/usr/bin/env bash
# Create (or reuse) the Python virtualenv holding the interop clients
# (pyiceberg 0.12, duckdb 1.5.5 + extension wheels, moto server, boto3,
# fastavro, pytest). The venv lives OUTSIDE the clone:
#   ${FLOE_VENV:-$HOME/.cache/floe-venv}
# The package set is pinned in tests/interop/requirements.txt; pip runs only
# when the stamp file in the venv does not hold that file's sha256.
# The last line of stdout is the venv path, so callers can do:
#   VENV=$(scripts/interop-venv.sh | tail -1); "$VENV/bin/python" ...
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
req="$repo_root/tests/interop/requirements.txt"
venv="${FLOE_VENV:-$HOME/.cache/floe-venv}"
stamp="$venv/.floe-requirements.sha256"
python="${PYTHON:-python3}"

want="$(sha256sum "$req" | cut -d' ' -f1)"

if [[ -x "$venv/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  echo "interop venv up to date ($venv)" >&2
else
  if [[ ! -x "$venv/bin/python" ]] || ! "$venv/bin/python" -c 'import sys' >/dev/null 2>&1; then
    echo "creating interop venv at $venv" >&2
    rm -rf "$venv"
    mkdir -p "$(dirname "$venv")"
    "$python" -m venv "$venv"
  fi
  echo "installing $req into $venv" >&2
  # Progress goes to stderr so stdout stays clean for the path.
  "$venv/bin/python" -m pip install --disable-pip-version-check -q -r "$req" >&2
  echo "$want" > "$stamp"
fi

echo "$venv"
