"""Schemathesis hooks for Floe's API check (loaded through SCHEMATHESIS_HOOKS).

Generated request bodies can name storage locations: a table `location`, a `metadata-location`
to register, a warehouse's `file://` directory or S3 endpoint, a `set-location` update. Sent
as generated, they would make the server write files anywhere on this machine (it may run as
root) or open connections to arbitrary hosts. Before each request this hook rewrites every such
value to a harmless one:

- any string that looks like a URI (contains `://`) or sits under a location-like key becomes
  `<default warehouse location>/schemathesis/<letters of the original>`: inside the throwaway
  server's own data directory, where the server accepts table locations;
- a new `file` warehouse's root becomes `file://$FLOE_SCHEMATHESIS_SCRATCH/<letters>`;
- S3 storage settings keep their `s3://` location but get the endpoint `http://127.0.0.1:9` (nothing listens there) and dummy
  keys, so no client ever looks for cloud credentials or a cloud endpoint.

Everything else (identifiers, schemas, updates, headers, query strings) reaches the server as
generated.
"""
import json
import os
import re
import urllib.error
import urllib.request

import schemathesis

SCRATCH = os.environ.get("FLOE_SCHEMATHESIS_SCRATCH") or "/tmp/floe-schemathesis-scratch"
LOCATION_KEYS = {
    "location",
    "metadata-location",
    "manifest-list",
    "statistics-path",
    "write.metadata.path",
    "write.data.path",
    "write.object-storage.path",
    "write.folder-storage.path",
}
DEAD_ENDPOINT = "http://127.0.0.1:9"


_warehouse_base = None


def _tail(value: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "_", value).strip("_")[:40] or "x"


def _table_location(value: str) -> str:
    """A location inside the default warehouse (looked up once from the server)."""
    global _warehouse_base
    if _warehouse_base is None:
        _warehouse_base = f"file://{SCRATCH}"
        base = os.environ.get("FLOE_URL", "").rstrip("/")
        try:
            with urllib.request.urlopen(f"{base}/management/v1/warehouses/default", timeout=10) as r:
                loc = json.load(r)["storage"]["location"]
            if loc.startswith("file:///"):
                _warehouse_base = loc.rstrip("/") + "/schemathesis"
        except Exception:  # noqa: BLE001 - fall back to the scratch directory
            pass
    return f"{_warehouse_base}/{_tail(value)}"


def _scrub(value, key=None):
    if isinstance(value, dict):
        s3_location = value.get("type") == "s3" and isinstance(value.get("location"), str) \
            and value["location"].startswith("s3://")
        out = {k: _scrub(v, k) for k, v in value.items()}
        if s3_location:
            # Harmless once the endpoint is dead: keep it so S3 warehouses get created.
            out["location"] = value["location"]
        elif value.get("type") == "file" and isinstance(value.get("location"), str):
            out["location"] = f"file://{SCRATCH}/{_tail(value['location'])}"
        if out.get("type") == "s3" or "endpoint" in out:
            out["endpoint"] = DEAD_ENDPOINT
        if out.get("type") == "s3":
            out["region"] = "us-east-1"
            out["access-key-id"] = "schemathesis"
            out["secret-access-key"] = "schemathesis"
        return out
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    if isinstance(value, str) and (key in LOCATION_KEYS or "://" in value):
        return _table_location(value)
    return value


@schemathesis.hook
def before_call(context, case, kwargs):
    body = getattr(case, "body", None)
    if isinstance(body, (dict, list, str)):
        case.body = _scrub(body)


# ----- fixtures -----------------------------------------------------------------------------
# The objects schemathesis.toml steers generated paths to. Created before the run, and again
# after any request that may have dropped, renamed or replaced them.

FIXTURE_NAMESPACES = (["sch_ns"], ["sch_ns", "child"])
FIXTURE_TABLE = ("sch_ns", "sch_t")
FIXTURE_SCHEMA = {"type": "struct", "fields": [
    {"id": 1, "name": "id", "type": "long", "required": False},
    {"id": 2, "name": "ts", "type": "timestamptz", "required": False},
]}


FIXTURE_PRINCIPAL = "sch_principal"
FIXTURE_ROLE = "sch_role"


def _post(base, path, body, method="POST"):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data,
                                 headers={"Content-Type": "application/json"}, method=method)
    try:
        urllib.request.urlopen(req, timeout=30).read()
    except urllib.error.HTTPError as e:
        if e.code != 409:  # already there: fine
            raise RuntimeError(f"POST {path} -> {e.code}: {e.read()[:300]!r}") from None


def ensure_fixtures(base=None):
    """Create the fixture namespaces and table in warehouse `default`, and the fixture
    principal and role (the principal a member), unless they exist."""
    base = (base or os.environ["FLOE_URL"]).rstrip("/")
    for ns in FIXTURE_NAMESPACES:
        _post(base, "/v1/default/namespaces", {"namespace": ns})
    ns, table = FIXTURE_TABLE
    _post(base, f"/v1/default/namespaces/{ns}/tables", {"name": table, "schema": FIXTURE_SCHEMA})
    _post(base, "/management/v1/principals", {"name": FIXTURE_PRINCIPAL})
    _post(base, "/management/v1/roles", {"name": FIXTURE_ROLE})
    _post(base, f"/management/v1/roles/{FIXTURE_ROLE}/members/{FIXTURE_PRINCIPAL}", None, "PUT")


@schemathesis.hook
def after_call(context, case, response):
    method = case.method.upper()
    path = case.operation.path
    if response.status_code < 300 and (
        method == "DELETE" or path.endswith("/rename") or path.endswith("/transactions/commit")
    ):
        ensure_fixtures()
