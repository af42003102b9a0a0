"""Real clients against a running Floe catalog-server (Iceberg REST): pyiceberg 0.12 and DuckDB 1.5.5.

  python rest_scenarios.py pyiceberg --uri http://127.0.0.1:PORT [--warehouse default] [--warehouse-dir DIR]
  python rest_scenarios.py duckdb    --uri http://127.0.0.1:PORT [--warehouse default]
  python rest_scenarios.py race      --uri http://127.0.0.1:PORT [--warehouse default] [--rounds 20]
  python rest_scenarios.py contention --uri http://127.0.0.1:PORT [--writers 16] [--rounds 20] [--rebase on|off] [--duckdb]
                                     [--replica-uri http://127.0.0.1:PORT2 ...]

Every check prints one line: `PASS <scenario>/<step>: <check>` or `FAIL ...` followed by the
expected and the actual value. Unsupported client features print `NOTE` lines (not failures).
The last line is `SUMMARY <scenario>: P passed, F failed`; the exit code is 0 only if F == 0.

Each run works in namespaces named after a fresh run id, so runs never see each other's tables.

pyiceberg   namespaces (nested, properties, listing, existence), a partitioned table through
            appends, overwrite, delete, schema and partition evolution, renames (also across
            namespaces), drop with and without purge, register, paginated listings, ETag/304,
            and malformed requests (4xx with the error model, nothing changed afterwards).
            --warehouse-dir (the server's data dir) additionally checks that table locations
            lie inside it; purge/keep file checks run whenever locations are local file:// URLs.
duckdb      DuckDB's iceberg extension attached over REST: CREATE SCHEMA/TABLE, INSERT, SELECT,
            SHOW ALL TABLES, UPDATE, DELETE, MERGE INTO, ALTER TABLE, transactions; after every
            statement pyiceberg (loading through the same server) must see exactly DuckDB's rows.
race        two pyiceberg writers with commit.retry.num-retries=0 append concurrently (server-side
            rebasing off); every acknowledged append (and nothing else) is in the table, one
            snapshot per ack.
contention  --writers pyiceberg appender processes (client retries off), --rounds appends each, to
            one table: with server-side rebasing on, every append lands; with it off, losers get
            409; either way exactly the acknowledged rows are there, the history is linear with
            strictly increasing sequence numbers, and pyiceberg (and with --duckdb DuckDB) read
            the same count and id checksum. Prints the share of attempts that landed. With
            --replica-uri (other servers on the same catalog database), the writers are spread
            round-robin over all the servers, and every server must then load the same state.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import shutil
import socket
import sys
import tempfile
import threading
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request
import uuid
from typing import Any, Callable

import pyarrow as pa

# ---------------------------------------------------------------------------------------------
# Checks and reporting
# ---------------------------------------------------------------------------------------------


def short(value: Any, limit: int = 1500) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} chars)"


class Checks:
    def __init__(self, scenario: str):
        self.scenario = scenario
        self.step = "setup"
        self.passed = 0
        self.failed: list[str] = []

    def _name(self, name: str) -> str:
        return f"{self.scenario}/{self.step}: {name}"

    def ok(self, name: str, detail: str = "") -> None:
        self.passed += 1
        print(f"PASS {self._name(name)}" + (f" ({detail})" if detail else ""), flush=True)

    def fail(self, name: str, expected: Any, got: Any) -> None:
        self.failed.append(self._name(name))
        print(f"FAIL {self._name(name)}", flush=True)
        print(f"     expected: {short(expected)}", flush=True)
        print(f"     got:      {short(got)}", flush=True)

    def check(self, name: str, cond: bool, expected: Any = True, got: Any = None, detail: str = "") -> bool:
        if callable(cond):
            try:
                cond = cond()
            except Exception as e:
                self.fail(name, expected, f"raised {type(e).__name__}: {e}")
                return False
        if cond:
            self.ok(name, detail)
        else:
            self.fail(name, expected, got)
        return bool(cond)

    def equal(self, name: str, expected: Any, got: Any, detail: str = "") -> bool:
        """`got` may be a zero-argument callable: an exception it raises is a failed check."""
        if callable(got):
            try:
                got = got()
            except Exception as e:
                self.fail(name, expected, f"raised {type(e).__name__}: {short(str(e), 600)}")
                return False
        return self.check(name, expected == got, expected, got, detail)

    def raises(self, name: str, exc_types: tuple, fn: Callable[[], Any]) -> bool:
        try:
            result = fn()
        except exc_types as e:  # noqa: PERF203
            self.ok(name, f"{type(e).__name__}: {short(str(e), 200)}")
            return True
        except Exception as e:  # pragma: no cover - reported as a failure
            self.fail(name, f"one of {[t.__name__ for t in exc_types]}", f"{type(e).__name__}: {e}")
            return False
        self.fail(name, f"one of {[t.__name__ for t in exc_types]}", f"no exception (returned {short(result, 300)})")
        return False

    def note(self, text: str) -> None:
        print(f"NOTE {self.scenario}/{self.step}: {text}", flush=True)

    def run_step(self, name: str, fn: Callable[[], None]) -> None:
        self.step = name
        print(f"== {self.scenario}/{name}", flush=True)
        try:
            fn()
        except Exception as e:
            self.fail("step ran without an unexpected exception", "no exception",
                      f"{type(e).__name__}: {e}\n{traceback.format_exc()}")

    def summary(self) -> int:
        print(f"SUMMARY {self.scenario}: {self.passed} passed, {len(self.failed)} failed", flush=True)
        for name in self.failed:
            print(f"  failed: {name}", flush=True)
        return 0 if not self.failed and self.passed > 0 else 1


# ---------------------------------------------------------------------------------------------
# Raw HTTP (urllib / http.client), for what the clients do not expose
# ---------------------------------------------------------------------------------------------


class Resp:
    def __init__(self, method: str, url: str, status: int, headers: dict[str, str], body: bytes, sent: bytes | None):
        self.method = method
        self.url = url
        self.status = status
        self.headers = {k.lower(): v for k, v in headers.items()}
        self.body = body
        self.sent = sent
        try:
            self.json = json.loads(body) if body else None
        except ValueError:
            self.json = None

    def describe(self) -> str:
        sent = "" if self.sent is None else f" body={short(self.sent.decode('utf-8', 'replace'), 300)}"
        return f"{self.method} {self.url}{sent} -> {self.status} {short(self.body.decode('utf-8', 'replace'), 600)}"


def ns_path(levels: tuple[str, ...] | list[str]) -> str:
    """A namespace as one path segment: levels percent-encoded and joined with %1F."""
    return "%1F".join(urllib.parse.quote(level, safe="") for level in levels)


class Raw:
    def __init__(self, uri: str, warehouse: str):
        self.uri = uri.rstrip("/")
        cfg = self.request("GET", f"/v1/config?warehouse={urllib.parse.quote(warehouse)}")
        if cfg.status != 200 or not isinstance(cfg.json, dict):
            raise RuntimeError(f"GET /v1/config failed: {cfg.describe()}")
        prefix = (cfg.json.get("overrides") or {}).get("prefix") or (cfg.json.get("defaults") or {}).get("prefix") or ""
        self.config = cfg.json
        self.base = f"/v1/{prefix}" if prefix else "/v1"

    def request(self, method: str, path: str, body: Any = None, data: bytes | None = None,
                headers: dict[str, str] | None = None, timeout: float = 60) -> Resp:
        url = self.uri + path
        hdrs = dict(headers or {})
        if body is not None:
            data = json.dumps(body).encode()
        if data is not None:
            hdrs.setdefault("Content-Type", "application/json")
        req = urllib.request.Request(url, data=data, method=method, headers=hdrs)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return Resp(method, url, r.status, dict(r.headers), r.read(), data)
        except urllib.error.HTTPError as e:
            return Resp(method, url, e.code, dict(e.headers or {}), e.read() or b"", data)

    def table_path(self, ns: tuple[str, ...], name: str) -> str:
        return f"{self.base}/namespaces/{ns_path(ns)}/tables/{urllib.parse.quote(name, safe='')}"

    def big_post_chunked(self, path: str, size: int) -> tuple[int | None, bytes, str]:
        """POST `size` bytes with Transfer-Encoding: chunked (no Content-Length to reject up front)."""
        parsed = urllib.parse.urlsplit(self.uri)
        chunk = b"x" * (1 << 20)
        try:
            conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=60)
            conn.putrequest("POST", path)
            conn.putheader("Content-Type", "application/json")
            conn.putheader("Transfer-Encoding", "chunked")
            conn.endheaders()
            try:
                sent = 0
                while sent < size:
                    conn.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    sent += len(chunk)
                conn.send(b"0\r\n\r\n")
            except (BrokenPipeError, ConnectionResetError):
                pass
            r = conn.getresponse()
            body = r.read()
            conn.close()
            return r.status, body, "chunked upload"
        except (OSError, http.client.HTTPException) as e:
            return None, f"{type(e).__name__}: {e}".encode(), "chunked upload failed"

    def big_post(self, path: str, size: int) -> tuple[int | None, bytes, str]:
        """POST a `size`-byte JSON-ish body. Returns (status, body, how). A server may answer 413
        before reading the body and close the connection, so the plain attempt can end in a reset;
        then retry with `Expect: 100-continue`, which lets the server reject before the upload."""
        parsed = urllib.parse.urlsplit(self.uri)
        payload = b'{"requirements":[],"updates":[],"pad":"' + b"x" * (size - 42) + b'"}'
        try:
            conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=60)
            conn.putrequest("POST", path)
            conn.putheader("Content-Type", "application/json")
            conn.putheader("Content-Length", str(len(payload)))
            conn.endheaders()
            try:
                view = memoryview(payload)
                for i in range(0, len(payload), 1 << 20):
                    conn.send(view[i:i + (1 << 20)])
            except (BrokenPipeError, ConnectionResetError):
                pass  # the server stopped reading: its answer may still be readable
            r = conn.getresponse()
            body = r.read()
            conn.close()
            return r.status, body, "plain upload"
        except (OSError, http.client.HTTPException) as e:
            plain_error = f"{type(e).__name__}: {e}"
        # Expect: 100-continue over a raw socket.
        with socket.create_connection((parsed.hostname, parsed.port), timeout=30) as s:
            head = (f"POST {path} HTTP/1.1\r\nHost: {parsed.hostname}:{parsed.port}\r\n"
                    f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n"
                    "Expect: 100-continue\r\nConnection: close\r\n\r\n").encode()
            s.sendall(head)
            s.settimeout(5)
            try:
                first = s.recv(65536)
            except socket.timeout:
                first = b""
            if first.startswith(b"HTTP/1.1 100"):
                first = first.split(b"\r\n\r\n", 1)[1]
                try:
                    s.sendall(payload)
                except OSError:
                    pass
            elif not first:
                try:
                    s.sendall(payload)
                except OSError:
                    pass
            s.settimeout(30)
            data = first
            try:
                while True:
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    data += chunk
            except OSError:
                pass
        if not data.startswith(b"HTTP/"):
            return None, data, f"plain upload failed ({plain_error}); expect-100 got no response"
        head, _, body = data.partition(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        return status, body, f"expect-100 (plain upload failed: {plain_error})"


def check_error_model(c: Checks, name: str, r: Resp, statuses: tuple[int, ...] | None = None,
                      type_: str | tuple[str, ...] | None = None) -> bool:
    """4xx (or one of `statuses`) with {"error": {"message": str, "type": str, "code": status}}."""
    good_status = r.status in statuses if statuses else 400 <= r.status < 500
    err = r.json.get("error") if isinstance(r.json, dict) else None
    good_model = (
        isinstance(err, dict)
        and isinstance(err.get("message"), str)
        and isinstance(err.get("type"), str)
        and err.get("code") == r.status
    )
    if type_ is not None and good_model:
        good_model = err.get("type") in ((type_,) if isinstance(type_, str) else type_)
    want = f"status {'in ' + str(statuses) if statuses else '4xx'} with error model" + (f" type {type_}" if type_ else "")
    return c.check(name, good_status and good_model, want, r.describe(), detail=f"{r.status} {err.get('type') if isinstance(err, dict) else ''}")


# ---------------------------------------------------------------------------------------------
# Shared helpers
# ---------------------------------------------------------------------------------------------


def load_rest_catalog(uri: str, warehouse: str, **extra: str):
    from pyiceberg.catalog import load_catalog

    return load_catalog("floe", type="rest", uri=uri, warehouse=warehouse, **extra)


def run_id() -> str:
    return uuid.uuid4().hex[:10]


def sort_key(row: Any):
    values = row.values() if isinstance(row, dict) else row
    return tuple((v is None, v) for v in values)


def rows_sorted(rows: list, key: str = "id") -> list:
    if rows and isinstance(rows[0], dict):
        return sorted(rows, key=lambda r: (r.get(key) is None, r.get(key)))
    return sorted(rows, key=sort_key)


def local_path(location: str) -> str | None:
    parsed = urllib.parse.urlsplit(location)
    if parsed.scheme == "file":
        return urllib.parse.unquote(parsed.path)
    if parsed.scheme == "" and location.startswith("/"):
        return location
    return None


def files_under(path: str) -> list[str]:
    out = []
    for root, _dirs, files in os.walk(path):
        out.extend(os.path.join(root, f) for f in files)
    return sorted(out)


# ---------------------------------------------------------------------------------------------
# Scenario: pyiceberg
# ---------------------------------------------------------------------------------------------

BASE_TS = dt.datetime(2026, 3, 1, tzinfo=dt.timezone.utc)


def events_schema():
    from pyiceberg.schema import Schema
    from pyiceberg.types import DoubleType, LongType, NestedField, StringType, TimestamptzType

    return Schema(
        NestedField(1, "id", LongType(), required=False),
        NestedField(2, "category", StringType(), required=False),
        NestedField(3, "ts", TimestamptzType(), required=False),
        NestedField(4, "value", DoubleType(), required=False),
    )


def events_batch(ids: list[int], category: str | None = None) -> pa.Table:
    return pa.table(
        {
            "id": pa.array(ids, pa.int64()),
            "category": pa.array([category or "xyz"[i % 3] for i in ids], pa.string()),
            "ts": pa.array([BASE_TS + dt.timedelta(hours=7 * i) for i in ids], pa.timestamp("us", tz="UTC")),
            "value": pa.array([i * 1.25 for i in ids], pa.float64()),
        }
    )


class PyicebergScenario:
    def __init__(self, args):
        self.args = args
        self.c = Checks("pyiceberg")
        self.run = run_id()
        self.ns = f"a_{self.run}"
        self.child = (self.ns, "b")
        self.cat = None
        self.raw: Raw | None = None
        self.warehouse_dir = os.path.realpath(args.warehouse_dir) if args.warehouse_dir else None

    # -- helpers ---------------------------------------------------------------------------
    def scan_rows(self, ident, row_filter: str | None = None) -> list[dict]:
        tbl = self.cat.load_table(ident)
        scan = tbl.scan(row_filter=row_filter) if row_filter else tbl.scan()
        return rows_sorted(scan.to_arrow().to_pylist())

    def check_rows(self, name: str, ident, expected: list[dict], row_filter: str | None = None) -> bool:
        got = self.scan_rows(ident, row_filter)
        exp = rows_sorted(expected)
        if got == exp:
            self.c.ok(name, f"{len(got)} rows")
            return True
        missing = [r for r in exp if r not in got][:5]
        extra = [r for r in got if r not in exp][:5]
        self.c.fail(name, f"{len(exp)} rows; first missing {missing}", f"{len(got)} rows; first unexpected {extra}")
        return False

    def check_location(self, name: str, location: str) -> None:
        if not self.warehouse_dir:
            return
        path = local_path(location)
        real = os.path.realpath(path) if path else None
        self.c.check(name, real is not None and (real + "/").startswith(self.warehouse_dir.rstrip("/") + "/"),
                     f"a location under {self.warehouse_dir}", location)

    def metadata_location(self, ident: tuple[str, ...]) -> str | None:
        r = self.raw.request("GET", self.raw.table_path(ident[:-1], ident[-1]))
        return r.json.get("metadata-location") if r.status == 200 and isinstance(r.json, dict) else None

    # -- steps -----------------------------------------------------------------------------
    def step_connect(self) -> None:
        self.raw = Raw(self.args.uri, self.args.warehouse)
        self.c.ok("GET /v1/config", f"base path {self.raw.base}")
        cfg = self.raw.config
        self.c.check("config defaults and overrides are objects",
                     isinstance(cfg.get("defaults"), dict) and isinstance(cfg.get("overrides"), dict),
                     "objects", cfg)
        self.cat = load_rest_catalog(self.args.uri, self.args.warehouse)
        self.c.ok("pyiceberg load_catalog(type=rest)")

    def step_namespaces(self) -> None:
        from pyiceberg.exceptions import NamespaceAlreadyExistsError, NamespaceNotEmptyError

        cat, ns, child = self.cat, self.ns, self.child
        cat.create_namespace(ns, {"owner": "floe-interop", "k1": "v1", "k2": "v2"})
        cat.create_namespace(child, {"level": "two"})
        self.c.ok(f"create_namespace {ns} and {ns}.b")
        props = cat.load_namespace_properties(ns)
        self.c.check("load_namespace_properties (parent)",
                     {k: props.get(k) for k in ("owner", "k1", "k2")} == {"owner": "floe-interop", "k1": "v1", "k2": "v2"},
                     {"owner": "floe-interop", "k1": "v1", "k2": "v2"}, props)
        props_b = cat.load_namespace_properties(child)
        self.c.equal("load_namespace_properties (nested)", "two", props_b.get("level"))
        summary = cat.update_namespace_properties(ns, removals={"k1", "not-there"}, updates={"k2": "v2b", "k3": "v3"})
        self.c.equal("update_namespace_properties: removed", ["k1"], sorted(summary.removed))
        self.c.equal("update_namespace_properties: updated", ["k2", "k3"], sorted(summary.updated))
        self.c.equal("update_namespace_properties: missing", ["not-there"], sorted(summary.missing or []))
        props = cat.load_namespace_properties(ns)
        self.c.check("properties after update",
                     "k1" not in props and props.get("k2") == "v2b" and props.get("k3") == "v3" and props.get("owner") == "floe-interop",
                     "k1 gone, k2=v2b, k3=v3, owner kept", props)
        top = cat.list_namespaces()
        self.c.check("list_namespaces() contains the new top-level namespace", (ns,) in top, f"({ns!r},) in list", top)
        self.c.check("list_namespaces() lists top-level namespaces only", all(len(t) == 1 for t in top), "1-level identifiers", top)
        self.c.equal("list_namespaces(parent)", [child], lambda: cat.list_namespaces(ns))
        self.c.equal("list_namespaces(leaf)", [], lambda: cat.list_namespaces(child))
        self.c.equal("namespace_exists(parent)", True, lambda: cat.namespace_exists(ns))
        self.c.equal("namespace_exists(nested)", True, lambda: cat.namespace_exists(child))
        self.c.equal("namespace_exists(missing)", False, lambda: cat.namespace_exists(f"{ns}_missing"))
        self.c.equal("namespace_exists(missing nested)", False, lambda: cat.namespace_exists((ns, "nope")))
        self.c.raises("create_namespace twice -> NamespaceAlreadyExistsError", (NamespaceAlreadyExistsError,),
                      lambda: cat.create_namespace(child))
        orphan = (f"{ns}_noparent", "x")
        self.c.raises("create nested namespace without parent fails", (Exception,), lambda: cat.create_namespace(orphan))
        self.c.equal("orphan namespace was not created", False, lambda: cat.namespace_exists(orphan))
        self.c.raises("drop namespace with a child -> NamespaceNotEmptyError", (NamespaceNotEmptyError,),
                      lambda: cat.drop_namespace(ns))
        # A throwaway namespace can be dropped.
        gone = (ns, "gone")
        cat.create_namespace(gone)
        cat.drop_namespace(gone)
        self.c.equal("drop_namespace of an empty nested namespace", False, lambda: cat.namespace_exists(gone))
        self.c.equal("list_namespaces(parent) after drop", [child], lambda: cat.list_namespaces(ns))
        # Raw HEAD / GET shapes.
        r = self.raw.request("HEAD", f"{self.raw.base}/namespaces/{ns_path(child)}")
        self.c.equal("HEAD nested namespace -> 204", 204, r.status)
        r = self.raw.request("GET", f"{self.raw.base}/namespaces/{ns_path(child)}")
        self.c.equal("GET nested namespace returns its levels", [ns, "b"], (r.json or {}).get("namespace"))

    def step_table_lifecycle(self) -> None:
        from pyiceberg.partitioning import PartitionField, PartitionSpec
        from pyiceberg.transforms import BucketTransform, DayTransform, IdentityTransform
        from pyiceberg.types import StringType

        cat = self.cat
        ident = (self.ns, "events")
        spec = PartitionSpec(
            PartitionField(source_id=3, field_id=1000, transform=DayTransform(), name="ts_day"),
            PartitionField(source_id=2, field_id=1001, transform=IdentityTransform(), name="category"),
        )
        tbl = cat.create_table(ident, schema=events_schema(), partition_spec=spec, properties={"floe.test": "yes"})
        self.c.ok("create_table partitioned by day(ts), identity(category)")
        self.check_location("table location is inside the warehouse dir", tbl.location())
        tbl = cat.load_table(ident)
        self.c.equal("loaded spec fields", [("ts_day", "day"), ("category", "identity")],
                     [(f.name, str(f.transform)) for f in tbl.spec().fields])
        self.c.equal("loaded table property", "yes", tbl.properties.get("floe.test"))
        self.c.equal("new table has no snapshots", 0, len(tbl.metadata.snapshots))
        self.check_rows("empty table scans to no rows", ident, [])

        expected: dict[int, dict] = {}
        for k in range(3):
            batch = events_batch(list(range(k * 10, k * 10 + 10)))
            before = self.metadata_location(ident)
            tbl = cat.load_table(ident)
            tbl.append(batch)
            for row in batch.to_pylist():
                expected[row["id"]] = row
            loaded = cat.load_table(ident)
            self.c.equal(f"append {k + 1}: snapshot count", k + 1, len(loaded.metadata.snapshots))
            self.c.check(f"append {k + 1}: metadata location changed", self.metadata_location(ident) != before,
                         "a new metadata file", before)
            self.c.equal(f"append {k + 1}: operation", "append", loaded.current_snapshot().summary.operation.value)
            self.check_rows(f"append {k + 1}: rows read back", ident, list(expected.values()))

        # Overwrite every 'x' row with new rows.
        tbl = cat.load_table(ident)
        n_before = len(tbl.metadata.snapshots)
        new = events_batch([100, 101, 102, 103])
        tbl.overwrite(new, overwrite_filter="category = 'x'")
        expected = {i: r for i, r in expected.items() if r["category"] != "x"}
        for row in new.to_pylist():
            expected[row["id"]] = row
        loaded = cat.load_table(ident)
        self.c.check("overwrite: new snapshots committed", len(loaded.metadata.snapshots) > n_before,
                     f"> {n_before} snapshots", len(loaded.metadata.snapshots))
        self.check_rows("overwrite(filter category = 'x'): rows read back", ident, list(expected.values()))

        # Delete by a non-partition column (pyiceberg rewrites the touched files).
        tbl = cat.load_table(ident)
        tbl.delete("id < 5")
        expected = {i: r for i, r in expected.items() if i >= 5}
        self.check_rows("delete(id < 5): rows read back", ident, list(expected.values()))
        loaded = cat.load_table(ident)
        self.c.check("delete: main ref equals current snapshot",
                     loaded.metadata.refs.get("main") is not None
                     and loaded.metadata.refs["main"].snapshot_id == loaded.metadata.current_snapshot_id,
                     "refs.main == current-snapshot-id", (loaded.metadata.refs, loaded.metadata.current_snapshot_id))

        # Schema evolution: add a column, rename a column, append with the new shape.
        tbl = cat.load_table(ident)
        with tbl.update_schema() as upd:
            upd.add_column("note", StringType())
            upd.rename_column("value", "amount")
        loaded = cat.load_table(ident)
        self.c.equal("schema evolution: column names", ["id", "category", "ts", "amount", "note"],
                     [f.name for f in loaded.schema().fields])
        self.c.equal("schema evolution: field ids kept, new id assigned", [1, 2, 3, 4, 5],
                     [f.field_id for f in loaded.schema().fields])
        self.c.equal("schema evolution: two schemas", 2, len(loaded.metadata.schemas))
        expected = {i: {"id": r["id"], "category": r["category"], "ts": r["ts"], "amount": r["value"], "note": None}
                    for i, r in expected.items()}
        self.check_rows("schema evolution: old rows under the new schema", ident, list(expected.values()))
        evolved = events_batch([200, 201, 202]).rename_columns(["id", "category", "ts", "amount"])
        evolved = evolved.append_column("note", pa.array(["n200", None, "n202"], pa.string()))
        loaded.append(evolved)
        for row in evolved.to_pylist():
            expected[row["id"]] = row
        self.check_rows("schema evolution: old + new rows", ident, list(expected.values()))

        # Partition evolution: add bucket(id, 4).
        tbl = cat.load_table(ident)
        with tbl.update_spec() as us:
            us.add_field("id", BucketTransform(4), "id_bucket")
        loaded = cat.load_table(ident)
        self.c.equal("partition evolution: two specs", 2, len(loaded.metadata.partition_specs))
        self.c.equal("partition evolution: default spec fields", ["ts_day", "category", "id_bucket"],
                     [f.name for f in loaded.spec().fields])
        self.c.equal("partition evolution: field ids", [1000, 1001, 1002], [f.field_id for f in loaded.spec().fields])
        new_spec_id = loaded.spec().spec_id
        more = events_batch([300, 301, 302, 303, 304, 305]).rename_columns(["id", "category", "ts", "amount"])
        more = more.append_column("note", pa.array([f"n{i}" for i in range(300, 306)], pa.string()))
        loaded.append(more)
        for row in more.to_pylist():
            expected[row["id"]] = row
        self.check_rows("partition evolution: all rows", ident, list(expected.values()))
        self.check_rows("partition evolution: filtered scan id >= 300", ident,
                        [r for r in expected.values() if r["id"] >= 300], row_filter="id >= 300")
        tasks = list(cat.load_table(ident).scan().plan_files())
        specs = sorted({t.file.spec_id for t in tasks})
        self.c.equal("partition evolution: data files under both specs", sorted({0, new_spec_id}), specs)
        self.events_expected = expected
        self.events_ident = ident

    def step_rename(self) -> None:
        from pyiceberg.exceptions import NoSuchTableError, TableAlreadyExistsError

        cat = self.cat
        src = getattr(self, "events_ident", None)
        expected = getattr(self, "events_expected", None)
        if src is None:
            src = (self.ns, "events")
            cat.create_table(src, schema=events_schema())
            cat.load_table(src).append(events_batch([1, 2, 3]))
            expected = {r["id"]: r for r in events_batch([1, 2, 3]).to_pylist()}
        rows = list(expected.values())
        uuid_before = cat.load_table(src).metadata.table_uuid
        same_ns = (self.ns, "events_renamed")
        cat.rename_table(src, same_ns)
        self.c.equal("rename within namespace: old name gone", False, cat.table_exists(src))
        self.c.equal("rename within namespace: new name exists", True, cat.table_exists(same_ns))
        self.c.equal("rename keeps the table uuid", uuid_before, cat.load_table(same_ns).metadata.table_uuid)
        self.check_rows("rename within namespace: rows", same_ns, rows)
        self.c.raises("load old name -> NoSuchTableError", (NoSuchTableError,), lambda: cat.load_table(src))
        other = (*self.child, "events_moved")
        cat.rename_table(same_ns, other)
        self.c.equal("rename across namespaces: listed in destination", [other], cat.list_tables(self.child))
        self.c.check("rename across namespaces: not listed in source", same_ns not in cat.list_tables(self.ns),
                     f"{same_ns} absent", cat.list_tables(self.ns))
        self.check_rows("rename across namespaces: rows", other, rows)
        # Commits still work after the move.
        extra = events_batch([400])
        if "amount" in [f.name for f in cat.load_table(other).schema().fields]:  # evolved by table-lifecycle
            extra = extra.rename_columns(["id", "category", "ts", "amount"]).append_column("note", pa.array(["moved"], pa.string()))
        cat.load_table(other).append(extra)
        self.check_rows("append after rename: rows", other, rows + extra.to_pylist())
        # Renaming onto an existing table fails and changes nothing.
        blocker = (self.ns, "blocker")
        cat.create_table(blocker, schema=events_schema())
        self.c.raises("rename onto an existing table -> TableAlreadyExistsError", (TableAlreadyExistsError,),
                      lambda: cat.rename_table(other, blocker))
        self.c.equal("failed rename left the source in place", True, cat.table_exists(other))
        self.c.raises("rename of a missing table -> NoSuchTableError", (NoSuchTableError,),
                      lambda: cat.rename_table((self.ns, "no_such_table"), (self.ns, "whatever")))
        r = self.raw.request("POST", f"{self.raw.base}/tables/rename",
                             {"source": {"namespace": list(other[:-1]), "name": other[-1]},
                              "destination": {"namespace": [f"{self.ns}_no_ns"], "name": "x"}})
        check_error_model(self.c, "rename into a missing namespace -> 404", r, (404,))
        self.c.equal("rename into a missing namespace left the table", True, cat.table_exists(other))

    def step_drop_and_register(self) -> None:
        from pyiceberg.exceptions import NoSuchTableError, TableAlreadyExistsError

        cat = self.cat
        # Purge: files go away.
        purge = (self.ns, "purge_me")
        tbl = cat.create_table(purge, schema=events_schema())
        tbl.append(events_batch([1, 2, 3]))
        tbl.append(events_batch([4, 5]))
        tbl = cat.load_table(purge)
        loc = local_path(tbl.location())
        self.check_location("purge table location inside the warehouse dir", tbl.location())
        files_before = files_under(loc) if loc else []
        if loc:
            self.c.check("purge table has files before the drop", len(files_before) >= 3, ">= 3 files", files_before)
        cat.drop_table(purge, purge_requested=True)
        self.c.equal("drop_table(purge_requested=True): table gone", False, cat.table_exists(purge))
        self.c.raises("load after purge -> NoSuchTableError", (NoSuchTableError,), lambda: cat.load_table(purge))
        if loc:
            deadline = time.time() + 15
            left = [f for f in files_before if os.path.exists(f)]
            while left and time.time() < deadline:
                time.sleep(0.25)
                left = [f for f in files_before if os.path.exists(f)]
            self.c.equal("purge removed the table's data and metadata files", [], left)
        else:
            self.c.note(f"table location {tbl.location()} is not local; purge file check skipped")

        # No purge: files stay, and the table can be registered again from its metadata.
        keep = (self.ns, "keep_me")
        tbl = cat.create_table(keep, schema=events_schema(), properties={"kept": "1"})
        tbl.append(events_batch([10, 11, 12]))
        tbl.append(events_batch([13]))
        tbl = cat.load_table(keep)
        kept_metadata = tbl.metadata_location
        kept_snapshots = [s.snapshot_id for s in tbl.metadata.snapshots]
        kept_rows = self.scan_rows(keep)
        loc = local_path(tbl.location())
        files_before = files_under(loc) if loc else []
        cat.drop_table(keep)  # purgeRequested=False
        self.c.equal("drop_table without purge: table gone", False, cat.table_exists(keep))
        if loc:
            time.sleep(0.5)
            self.c.equal("drop without purge kept every file", files_before, [f for f in files_before if os.path.exists(f)])
            self.c.check("kept metadata file exists", os.path.exists(local_path(kept_metadata) or ""), "exists", kept_metadata)
        # Register under the old name and under a new name in the nested namespace.
        reg = cat.register_table(keep, kept_metadata)
        self.c.equal("register_table: metadata location is the registered file", kept_metadata, reg.metadata_location)
        self.c.equal("register_table: snapshots", kept_snapshots, [s.snapshot_id for s in cat.load_table(keep).metadata.snapshots])
        self.c.equal("register_table: properties", "1", cat.load_table(keep).properties.get("kept"))
        self.c.equal("register_table: rows", kept_rows, self.scan_rows(keep))
        self.c.raises("register over an existing table -> TableAlreadyExistsError", (TableAlreadyExistsError,),
                      lambda: cat.register_table(keep, kept_metadata))
        cat.load_table(keep).append(events_batch([14]))
        self.check_rows("append after register: rows", keep, kept_rows + events_batch([14]).to_pylist())
        r = self.raw.request("POST", f"{self.raw.base}/namespaces/{ns_path((self.ns,))}/register",
                             {"name": "from_nowhere", "metadata-location": kept_metadata + ".does-not-exist.json"})
        self.c.check("register of a missing metadata file fails with 4xx", 400 <= r.status < 500, "4xx", r.describe())
        self.c.equal("register of a missing metadata file created nothing", 404,
                     self.raw.request("HEAD", self.raw.table_path((self.ns,), "from_nowhere")).status)

    def step_pagination(self) -> None:
        cat = self.cat
        pns = f"p_{self.run}"
        cat.create_namespace(pns)
        names = [f"t{i:02d}" for i in range(7)]
        for n in names:
            cat.create_table((pns, n), schema=events_schema())
        want = sorted((pns, n) for n in names)
        self.c.equal("list_tables (default page size)", want, sorted(cat.list_tables(pns)))
        paged_cat = load_rest_catalog(self.args.uri, self.args.warehouse, **{"rest-page-size": "2"})
        got = paged_cat.list_tables(pns)
        self.c.equal("pyiceberg list_tables with rest-page-size=2 follows page tokens", want, sorted(got))
        self.c.equal("pyiceberg paged listing has no duplicates", len(got), len(set(got)))

        def raw_pages(path: str, key: str) -> tuple[list, list[int], list[Resp]]:
            items, sizes, resps = [], [], []
            token = None
            for _ in range(50):
                q = "pageSize=2" + (f"&pageToken={urllib.parse.quote(token, safe='')}" if token else "")
                r = self.raw.request("GET", f"{path}{'&' if '?' in path else '?'}{q}")
                resps.append(r)
                if r.status != 200 or not isinstance(r.json, dict):
                    break
                page = r.json.get(key) or []
                items.extend(page)
                sizes.append(len(page))
                token = r.json.get("next-page-token")
                if not token:
                    break
            return items, sizes, resps

        items, sizes, resps = raw_pages(f"{self.raw.base}/namespaces/{ns_path((pns,))}/tables", "identifiers")
        got = sorted((*i["namespace"], i["name"]) for i in items)
        self.c.equal("raw list tables pageSize=2: full set", want, got, detail=f"page sizes {sizes}")
        self.c.check("raw list tables pageSize=2: pages hold at most 2", bool(sizes) and max(sizes) <= 2 and len(sizes) >= 4,
                     ">= 4 pages of <= 2", sizes)
        self.c.check("raw list tables: next-page-token key present on every page (null on the last)",
                     all(isinstance(r.json, dict) and "next-page-token" in r.json for r in resps)
                     and resps[-1].json.get("next-page-token") is None,
                     "key present, null at the end", [r.describe()[:200] for r in resps][-2:])
        # Namespaces under a parent, paged.
        kids = [f"c{i}" for i in range(5)]
        for k in kids:
            cat.create_namespace((pns, k))
        want_ns = sorted([pns, k] for k in kids)
        items, sizes, _ = raw_pages(f"{self.raw.base}/namespaces?parent={ns_path((pns,))}", "namespaces")
        self.c.equal("raw list namespaces(parent) pageSize=2: full set", want_ns, sorted(items), detail=f"page sizes {sizes}")
        self.c.check("raw list namespaces pageSize=2: pages hold at most 2", bool(sizes) and max(sizes) <= 2 and len(sizes) >= 3,
                     ">= 3 pages of <= 2", sizes)
        self.c.equal("pyiceberg list_namespaces(parent) with rest-page-size=2", sorted((pns, k) for k in kids),
                     sorted(paged_cat.list_namespaces(pns)))
        # Top-level listing, paged, must contain our namespaces exactly once.
        items, sizes, _ = raw_pages(f"{self.raw.base}/namespaces", "namespaces")
        mine = [i for i in items if i and i[0] in (self.ns, pns)]
        self.c.equal("raw list top-level namespaces pageSize=2 finds ours once", sorted([[self.ns], [pns]]), sorted(mine))

    def step_etag(self) -> None:
        cat = self.cat
        ident = (self.ns, "etag_t")
        cat.create_table(ident, schema=events_schema())
        cat.load_table(ident).append(events_batch([1]))
        path = self.raw.table_path(ident[:-1], ident[-1])
        r1 = self.raw.request("GET", path)
        etag = r1.headers.get("etag")
        self.c.check("loadTable returns an ETag", r1.status == 200 and bool(etag), "200 with ETag", r1.status)
        r2 = self.raw.request("GET", path, headers={"If-None-Match": etag or '"none"'})
        self.c.equal("If-None-Match with the current ETag -> 304", 304, r2.status, detail=f"etag {etag}")
        self.c.equal("304 has an empty body", b"", r2.body)
        r3 = self.raw.request("GET", path, headers={"If-None-Match": '"something-else"'})
        self.c.equal("If-None-Match with another ETag -> 200", 200, r3.status)
        cat.load_table(ident).append(events_batch([2]))
        r4 = self.raw.request("GET", path, headers={"If-None-Match": etag or '"none"'})
        self.c.equal("after a commit the old ETag -> 200", 200, r4.status)
        self.c.check("after a commit the ETag changes", r4.headers.get("etag") not in (None, etag), "a new ETag",
                     r4.headers.get("etag"))
        r5 = self.raw.request("GET", path + "?snapshots=refs")
        self.c.check("loadTable snapshots=refs -> 200 with metadata", r5.status == 200 and "metadata" in (r5.json or {}),
                     "200", r5.describe())
        r6 = self.raw.request("GET", path + "?snapshots=all")
        self.c.equal("loadTable snapshots=all has both snapshots", 2, len(((r6.json or {}).get("metadata") or {}).get("snapshots") or []))
        self.c.equal("HEAD table -> 204", 204, self.raw.request("HEAD", path).status)
        self.c.equal("HEAD missing table -> 404", 404, self.raw.request("HEAD", path + "_missing").status)

    def step_bad_requests(self) -> None:
        cat, raw = self.cat, self.raw
        ident = (self.ns, "guarded")
        cat.create_table(ident, schema=events_schema())
        cat.load_table(ident).append(events_batch([1, 2, 3]))
        rows_before = self.scan_rows(ident)
        loc_before = self.metadata_location(ident)
        props_before = cat.load_namespace_properties(self.ns)
        children_before = sorted(cat.list_namespaces(self.ns))
        tables_before = sorted(cat.list_tables(self.ns))
        tpath = raw.table_path(ident[:-1], ident[-1])
        tbl_uuid = str(cat.load_table(ident).metadata.table_uuid)
        ns_tables = f"{raw.base}/namespaces/{ns_path((self.ns,))}/tables"

        def post(name, path, statuses=None, type_=None, **kw):
            check_error_model(self.c, name, raw.request("POST", path, **kw), statuses, type_)

        post("commit: malformed JSON", tpath, data=b'{"requirements": [', statuses=(400,))
        post("commit: unknown update action", tpath, body={"requirements": [], "updates": [{"action": "frobnicate", "x": 1}]},
             statuses=(400,))
        post("commit: wrong types (requirements a string, updates an object)", tpath,
             body={"requirements": "nope", "updates": {"a": 1}})
        post("commit: set-properties with a non-string value", tpath,
             body={"requirements": [], "updates": [{"action": "set-properties", "updates": {"k": 5}}]})
        post("commit: add-snapshot without a snapshot", tpath, body={"requirements": [], "updates": [{"action": "add-snapshot"}]})
        post("commit: requirement not met -> 409 CommitFailedException", tpath,
             body={"requirements": [{"type": "assert-ref-snapshot-id", "ref": "main", "snapshot-id": 12345}],
                   "updates": [{"action": "set-properties", "updates": {"should": "not-apply"}}]},
             statuses=(409,), type_="CommitFailedException")
        post("commit: wrong table uuid -> 409", tpath,
             body={"requirements": [{"type": "assert-table-uuid", "uuid": str(uuid.uuid4())}],
                   "updates": [{"action": "set-properties", "updates": {"should": "not-apply"}}]},
             statuses=(409,), type_="CommitFailedException")
        post("commit: missing table -> 404 NoSuchTableException", raw.table_path(ident[:-1], "no_such_table"),
             body={"requirements": [], "updates": [{"action": "set-properties", "updates": {"a": "b"}}]},
             statuses=(404,), type_="NoSuchTableException")
        post("commit: non-JSON content type", tpath, data=b"hello", headers={"Content-Type": "text/plain"},
             statuses=(400, 415))
        post("create namespace: namespace is not a list", f"{raw.base}/namespaces", body={"namespace": "flat"})
        post("create namespace: empty level", f"{raw.base}/namespaces", body={"namespace": [self.ns, ""]})
        post("create namespace: control character", f"{raw.base}/namespaces", body={"namespace": [self.ns, "bad\u0001name"]})
        post("create namespace: '..'", f"{raw.base}/namespaces", body={"namespace": [self.ns, ".."]})
        post("create namespace: no levels", f"{raw.base}/namespaces", body={"namespace": []})
        post("create namespace: properties not strings", f"{raw.base}/namespaces",
             body={"namespace": [self.ns, "typed"], "properties": {"a": 1}})
        schema_json = json.loads(events_schema().model_dump_json())
        post("create table: empty name", ns_tables, body={"name": "", "schema": schema_json})
        post("create table: '..'", ns_tables, body={"name": "..", "schema": schema_json})
        post("create table: control character", ns_tables, body={"name": "t\u0007x", "schema": schema_json})
        post("create table: missing schema", ns_tables, body={"name": "no_schema"})
        post("create table: malformed schema", ns_tables, body={"name": "bad_schema", "schema": {"type": "struct", "fields": "x"}})
        post("rename: destination '..'", f"{raw.base}/tables/rename",
             body={"source": {"namespace": [self.ns], "name": "guarded"}, "destination": {"namespace": [self.ns], "name": ".."}})
        post("rename: destination with an empty namespace level", f"{raw.base}/tables/rename",
             body={"source": {"namespace": [self.ns], "name": "guarded"}, "destination": {"namespace": [self.ns, ""], "name": "x"}})
        post("register: name '..'", f"{raw.base}/namespaces/{ns_path((self.ns,))}/register",
             body={"name": "..", "metadata-location": loc_before})
        post("update properties: key both removed and updated", f"{raw.base}/namespaces/{ns_path((self.ns,))}/properties",
             body={"removals": ["owner"], "updates": {"owner": "x"}}, statuses=(400, 422))
        post("update properties: malformed JSON", f"{raw.base}/namespaces/{ns_path((self.ns,))}/properties", data=b"{,}",
             statuses=(400,))
        for label, seg in [("'..' as namespace", "%2E%2E"), ("empty namespace level", ns_path((self.ns,)) + "%1F"),
                           ("control character in namespace", ns_path((self.ns,)) + "%1Fx%01y")]:
            check_error_model(self.c, f"GET tables of {label}", raw.request("GET", f"{raw.base}/namespaces/{seg}/tables"))
        for label, seg in [("'..'", "%2E%2E"), ("control character", "a%07b"), ("empty name", "")]:
            r = raw.request("GET", f"{ns_tables}/{seg}")
            if seg == "":
                # `.../tables/` may be routed as the list endpoint; only a 4xx or the plain listing is fine.
                self.c.check("GET table with an empty name is a 4xx or the listing", r.status in (200, 400, 404, 405),
                             "4xx or 200 listing", r.describe())
            else:
                check_error_model(self.c, f"GET table named {label}", r)
        check_error_model(self.c, "GET /v1/config of an unknown warehouse -> 404",
                          raw.request("GET", f"/v1/config?warehouse=nope_{self.run}"), (404,))
        check_error_model(self.c, "list tables with pageToken garbage",
                          raw.request("GET", f"{ns_tables}?pageToken=%%%garbage"), (400,))
        check_error_model(self.c, "list tables with pageSize=abc", raw.request("GET", f"{ns_tables}?pageSize=abc"), (400,))
        check_error_model(self.c, "list tables with pageSize=0", raw.request("GET", f"{ns_tables}?pageSize=0"), (400,))
        status, body, how = raw.big_post(tpath, 17 * 1024 * 1024)
        fake = Resp("POST", raw.uri + tpath, status or 0, {}, body, b"<17 MiB body>")
        check_error_model(self.c, f"commit with a 17 MiB body -> 413 ({how})", fake, (413,))
        status, body, how = raw.big_post_chunked(tpath, 17 * 1024 * 1024)
        fake = Resp("POST", raw.uri + tpath, status or 0, {}, body, b"<17 MiB chunked body>")
        check_error_model(self.c, f"commit with a 17 MiB chunked body -> 413 ({how})", fake, (413,))
        # Everything is unchanged.
        self.c.equal("after the bad requests: metadata-location unchanged", loc_before, lambda: self.metadata_location(ident))
        self.c.equal("after the bad requests: rows unchanged", rows_before, lambda: self.scan_rows(ident))
        self.c.equal("after the bad requests: no property 'should' or 'k'", set(),
                     lambda: {"should", "k"} & set(cat.load_table(ident).properties))
        self.c.equal("after the bad requests: namespace properties unchanged", props_before,
                     lambda: cat.load_namespace_properties(self.ns))
        self.c.equal("after the bad requests: child namespaces unchanged", children_before,
                     lambda: sorted(cat.list_namespaces(self.ns)))
        self.c.equal("after the bad requests: tables unchanged", tables_before, lambda: sorted(cat.list_tables(self.ns)))
        self.c.equal("after the bad requests: table uuid unchanged", tbl_uuid,
                     lambda: str(cat.load_table(ident).metadata.table_uuid))
        # And the table still takes a normal commit.
        cat.load_table(ident).append(events_batch([4]))
        self.c.equal("after the bad requests: a normal append works", rows_sorted(rows_before + events_batch([4]).to_pylist()),
                     self.scan_rows(ident))

    def run_all(self) -> int:
        c = self.c
        c.run_step("connect", self.step_connect)
        if self.cat is None:
            return c.summary()
        c.run_step("namespaces", self.step_namespaces)
        c.run_step("table-lifecycle", self.step_table_lifecycle)
        c.run_step("rename", self.step_rename)
        c.run_step("drop-and-register", self.step_drop_and_register)
        c.run_step("pagination", self.step_pagination)
        c.run_step("etag", self.step_etag)
        c.run_step("bad-requests", self.step_bad_requests)
        return c.summary()


# ---------------------------------------------------------------------------------------------
# Scenario: duckdb
# ---------------------------------------------------------------------------------------------


def duckdb_connect(ext_dir: str):
    import duckdb
    from duckdb_extensions import import_extension

    con = duckdb.connect(config={"extension_directory": ext_dir, "autoinstall_known_extensions": False,
                                 "autoload_known_extensions": False})
    for ext in ("avro", "iceberg", "httpfs"):
        import_extension(ext, con=con)
    con.sql("LOAD avro; LOAD iceberg; LOAD httpfs")
    return con


UNSUPPORTED_MARKERS = ("not supported", "not implemented", "not yet supported", "only supports", "Not implemented")


class DuckdbScenario:
    def __init__(self, args):
        self.args = args
        self.c = Checks("duckdb")
        self.run = run_id()
        self.schema = f"d_{self.run}"
        self.ext_dir = tempfile.mkdtemp(prefix="floe-duckdb-ext-")
        self.con = None
        self.cat = None

    def sql(self, statement: str):
        return self.con.sql(statement)

    def duck_rows(self, table: str, columns: list[str]) -> list[tuple]:
        cols = ", ".join(f'"{c}"' for c in columns)
        # Through Arrow: fetchall() would need pytz for TIMESTAMPTZ columns, which the venv lacks.
        arrow = self.con.sql(f"SELECT {cols} FROM cat.{self.schema}.{table}").to_arrow_table()
        return rows_sorted([tuple(r[c] for c in columns) for r in arrow.to_pylist()])

    def py_rows(self, table: str) -> tuple[list[str], list[tuple]]:
        tbl = self.cat.load_table((self.schema, table))
        arrow = tbl.scan().to_arrow()
        cols = [f.name for f in tbl.schema().fields]
        return cols, rows_sorted([tuple(r[c] for c in cols) for r in arrow.to_pylist()])

    def agree(self, name: str, table: str, expected: list[tuple] | None = None) -> bool:
        """pyiceberg (through the server) sees exactly the rows DuckDB sees (and `expected`)."""
        cols, py = self.py_rows(table)
        duck_cols = [d[0] for d in self.con.sql(f"SELECT * FROM cat.{self.schema}.{table} LIMIT 0").description]
        self.c.equal(f"{name}: same columns in DuckDB and pyiceberg", cols, duck_cols)
        duck = self.duck_rows(table, cols)
        ok = self.c.equal(f"{name}: pyiceberg sees DuckDB's rows", duck, py, detail=f"{len(py)} rows")
        if expected is not None:
            ok &= self.c.equal(f"{name}: rows are the expected ones", rows_sorted(expected), duck)
        return ok

    def attempt(self, name: str, statement: str) -> bool:
        """Run a statement whose support in DuckDB 1.5.5 is uncertain: unsupported -> NOTE."""
        try:
            self.sql(statement)
            self.c.ok(f"{name} executed")
            return True
        except Exception as e:
            msg = str(e)
            if any(m.lower() in msg.lower() for m in UNSUPPORTED_MARKERS):
                self.c.note(f"{name}: DuckDB 1.5.5 does not support it: {type(e).__name__}: {msg}")
            else:
                self.c.fail(f"{name} executed", "success (or a DuckDB 'not supported' error)", f"{type(e).__name__}: {msg}")
            return False

    def create_table(self, name: str, columns: list[tuple[str, str]]) -> None:
        """CREATE TABLE through DuckDB (checked). If DuckDB's create fails, the failure is recorded and
        pyiceberg creates the same table, so that the later DuckDB steps still run."""
        from pyiceberg.schema import Schema
        from pyiceberg.types import DateType, DoubleType, IntegerType, NestedField, StringType

        s = self.schema
        cols = ", ".join(f"{n} {t}" for n, t in columns)
        try:
            self.sql(f"CREATE TABLE cat.{s}.{name} ({cols})")
            self.c.ok(f"CREATE TABLE {name}")
            return
        except Exception as e:
            self.c.fail(f"CREATE TABLE {name}", "success", f"{type(e).__name__}: {e}")
        types = {"INTEGER": IntegerType(), "VARCHAR": StringType(), "DOUBLE": DoubleType(), "DATE": DateType()}
        fields = [NestedField(i + 1, n, types[t], required=False) for i, (n, t) in enumerate(columns)]
        self.cat.create_table((s, name), schema=Schema(*fields), properties={"format-version": "2"})
        self.c.note(f"created {name} with pyiceberg instead, to go on with the DuckDB steps")

    def step_attach(self) -> None:
        self.con = duckdb_connect(self.ext_dir)
        self.c.ok("extensions avro, iceberg, httpfs loaded")
        uri = self.args.uri.rstrip("/")
        self.sql(f"ATTACH '{self.args.warehouse}' AS cat (TYPE iceberg, ENDPOINT '{uri}', AUTHORIZATION_TYPE 'none')")
        self.c.ok("ATTACH over REST")
        self.cat = load_rest_catalog(self.args.uri, self.args.warehouse)

    def step_schema_and_table(self) -> None:
        s = self.schema
        self.sql(f"CREATE SCHEMA cat.{s}")
        self.c.equal("CREATE SCHEMA: pyiceberg sees the namespace", True, self.cat.namespace_exists(s))
        self.create_table("t", [("id", "INTEGER"), ("name", "VARCHAR"), ("amount", "DOUBLE"), ("day", "DATE")])
        self.c.equal("CREATE TABLE: pyiceberg sees the table", True, self.cat.table_exists((s, "t")))
        tbl = self.cat.load_table((s, "t"))
        self.c.equal("CREATE TABLE: schema", [("id", "int"), ("name", "string"), ("amount", "double"), ("day", "date")],
                     [(f.name, str(f.field_type)) for f in tbl.schema().fields])
        self.agree("empty table", "t", [])
        tables = self.sql("SHOW ALL TABLES").fetchall()
        mine = [(r[0], r[1], r[2]) for r in tables if r[1] == s]
        self.c.equal("SHOW ALL TABLES lists the table", [("cat", s, "t")], mine)

    def step_insert(self) -> None:
        s = self.schema
        self.sql(f"INSERT INTO cat.{s}.t VALUES (1, 'a', 1.5, DATE '2026-01-01'), (2, 'b', 2.5, DATE '2026-01-02'), "
                 f"(3, 'c', 3.5, NULL)")
        d1, d2 = dt.date(2026, 1, 1), dt.date(2026, 1, 2)
        self.expected = [(1, "a", 1.5, d1), (2, "b", 2.5, d2), (3, "c", 3.5, None)]
        self.agree("INSERT INTO", "t", self.expected)
        self.sql(f"INSERT INTO cat.{s}.t SELECT i, 'gen' || i, i * 0.5, DATE '2026-02-01' + i::INTEGER FROM range(10, 15) r(i)")
        self.expected += [(i, f"gen{i}", i * 0.5, dt.date(2026, 2, 1) + dt.timedelta(days=i)) for i in range(10, 15)]
        self.agree("INSERT INTO ... SELECT", "t", self.expected)
        got = self.sql(f"SELECT id FROM cat.{s}.t WHERE amount > 5 ORDER BY id").fetchall()
        self.c.equal("SELECT with a filter", [(11,), (12,), (13,), (14,)], got)
        snaps = len(self.cat.load_table((s, "t")).metadata.snapshots)
        self.c.equal("two INSERTs made two snapshots", 2, snaps)

    def step_update_delete(self) -> None:
        s = self.schema
        self.sql(f"UPDATE cat.{s}.t SET amount = amount * 10, name = 'B' WHERE id = 2")
        self.expected = [(i, "B", 25.0, d) if i == 2 else (i, n, a, d) for (i, n, a, d) in self.expected]
        self.agree("UPDATE", "t", self.expected)
        self.sql(f"DELETE FROM cat.{s}.t WHERE id = 1 OR id = 12")
        self.expected = [r for r in self.expected if r[0] not in (1, 12)]
        self.agree("DELETE", "t", self.expected)
        tbl = self.cat.load_table((s, "t"))
        deletes = [t for t in tbl.scan().plan_files() if t.delete_files]
        self.c.check("DuckDB wrote delete files that pyiceberg plans", len(deletes) > 0, "data files with deletes", deletes)

    def step_merge(self) -> None:
        s = self.schema
        ok = self.attempt(
            "MERGE INTO (update matched, insert not matched)",
            f"MERGE INTO cat.{s}.t AS tgt USING (VALUES (3, 'c2', 30.0), (4, 'd', 4.0)) AS src(id, name, amount) "
            f"ON tgt.id = src.id "
            f"WHEN MATCHED THEN UPDATE SET name = src.name, amount = src.amount "
            f"WHEN NOT MATCHED THEN INSERT (id, name, amount, day) VALUES (src.id, src.name, src.amount, NULL)",
        )
        if ok:
            self.expected = [(3, "c2", 30.0, None) if r[0] == 3 else r for r in self.expected] + [(4, "d", 4.0, None)]
        self.agree("after MERGE INTO", "t", self.expected)
        ok = self.attempt(
            "MERGE INTO (delete matched)",
            f"MERGE INTO cat.{s}.t AS tgt USING (VALUES (13)) AS src(id) ON tgt.id = src.id WHEN MATCHED THEN DELETE",
        )
        if ok:
            self.expected = [r for r in self.expected if r[0] != 13]
        self.agree("after MERGE INTO ... DELETE", "t", self.expected)

    def step_alter(self) -> None:
        s = self.schema
        if self.attempt("ALTER TABLE ADD COLUMN", f"ALTER TABLE cat.{s}.t ADD COLUMN note VARCHAR"):
            self.expected = [(*r, None) for r in self.expected]
            self.agree("after ADD COLUMN", "t", self.expected)
            self.sql(f"INSERT INTO cat.{s}.t VALUES (20, 'n', 20.0, DATE '2026-03-01', 'hello')")
            self.expected.append((20, "n", 20.0, dt.date(2026, 3, 1), "hello"))
            self.agree("INSERT with the new column", "t", self.expected)
        if self.attempt("ALTER TABLE RENAME COLUMN", f"ALTER TABLE cat.{s}.t RENAME COLUMN name TO label"):
            cols, _ = self.py_rows("t")
            self.c.check("pyiceberg sees the renamed column", "label" in cols and "name" not in cols, "label, no name", cols)
            self.agree("after RENAME COLUMN", "t", self.expected)
        if self.attempt("ALTER TABLE ALTER COLUMN TYPE (int -> bigint)", f"ALTER TABLE cat.{s}.t ALTER COLUMN id TYPE BIGINT"):
            tbl = self.cat.load_table((s, "t"))
            self.c.equal("pyiceberg sees id as long", "long", str(tbl.schema().find_field("id").field_type))
            self.agree("after ALTER COLUMN TYPE", "t", self.expected)
        if self.attempt("ALTER TABLE DROP COLUMN", f"ALTER TABLE cat.{s}.t DROP COLUMN day"):
            cols, _ = self.py_rows("t")
            self.c.check("pyiceberg no longer sees the dropped column", "day" not in cols, "no day column", cols)
            day_idx = 3
            self.expected = [tuple(v for k, v in enumerate(r) if k != day_idx) for r in self.expected]
            self.agree("after DROP COLUMN", "t", self.expected)

    def step_transactions(self) -> None:
        s = self.schema
        # Several statements in one DuckDB transaction commit together (stage-create + transactions/commit).
        self.sql("BEGIN TRANSACTION")
        self.sql(f"CREATE TABLE cat.{s}.tx (k INTEGER, v VARCHAR)")
        self.sql(f"INSERT INTO cat.{s}.tx VALUES (1, 'one'), (2, 'two')")
        self.sql(f"INSERT INTO cat.{s}.tx VALUES (3, 'three')")
        self.c.equal("inside an open transaction the table is not in the catalog yet", False, lambda: self.cat.table_exists((s, "tx")))
        committed = False
        try:
            self.sql("COMMIT")
            committed = True
            self.c.ok("COMMIT of CREATE TABLE + 2 INSERTs")
        except Exception as e:
            hint = ""
            if "Cannot open file" in str(e) and "/metadata/" in str(e):
                hint = (" [DuckDB writes the manifest into <table location>/metadata/ without creating the directory; "
                        "with a file:// warehouse that directory only exists if the server made it at stage-create]")
            self.c.fail("COMMIT of CREATE TABLE + 2 INSERTs", "success", f"{type(e).__name__}: {e}{hint}")
            try:
                self.sql("ROLLBACK")
            except Exception:
                pass
        if committed:
            self.c.equal("after COMMIT pyiceberg sees the table", True, lambda: self.cat.table_exists((s, "tx")))
            self.agree("CREATE + 2 INSERTs in one transaction", "tx", [(1, "one"), (2, "two"), (3, "three")])
        # A rolled-back staged create never reaches the catalog.
        self.sql("BEGIN TRANSACTION")
        self.sql(f"CREATE TABLE cat.{s}.rolled (k INTEGER)")
        self.sql(f"INSERT INTO cat.{s}.rolled VALUES (1)")
        self.sql("ROLLBACK")
        self.c.equal("ROLLBACK: staged table not created", False, self.cat.table_exists((s, "rolled")))
        names = sorted(t[-1] for t in self.cat.list_tables(s))
        self.c.check("ROLLBACK: not listed", "rolled" not in names, "no 'rolled'", names)
        # Several changes to existing tables in one transaction (one transactions/commit).
        self.create_table("tx2", [("k", "INTEGER"), ("v", "VARCHAR")])
        self.sql(f"INSERT INTO cat.{s}.tx2 VALUES (1, 'one'), (2, 'two'), (3, 'three')")
        self.sql("BEGIN TRANSACTION")
        self.sql(f"INSERT INTO cat.{s}.tx2 VALUES (4, 'four')")
        self.sql(f"DELETE FROM cat.{s}.tx2 WHERE k = 1")
        self.sql("COMMIT")
        self.agree("INSERT + DELETE in one transaction", "tx2", [(2, "two"), (3, "three"), (4, "four")])
        # Two tables changed in one transaction.
        self.create_table("tx3", [("k", "INTEGER")])
        self.sql("BEGIN TRANSACTION")
        self.sql(f"INSERT INTO cat.{s}.tx2 VALUES (5, 'five')")
        self.sql(f"INSERT INTO cat.{s}.tx3 VALUES (50)")
        self.sql("COMMIT")
        self.agree("two tables in one transaction (first)", "tx2", [(2, "two"), (3, "three"), (4, "four"), (5, "five")])
        self.agree("two tables in one transaction (second)", "tx3", [(50,)])

    def step_pyiceberg_to_duckdb(self) -> None:
        """The other direction: pyiceberg writes a partitioned table, DuckDB reads and changes it."""
        from pyiceberg.partitioning import PartitionField, PartitionSpec
        from pyiceberg.transforms import DayTransform, IdentityTransform

        s = self.schema
        spec = PartitionSpec(
            PartitionField(source_id=3, field_id=1000, transform=DayTransform(), name="ts_day"),
            PartitionField(source_id=2, field_id=1001, transform=IdentityTransform(), name="category"),
        )
        tbl = self.cat.create_table((s, "events"), schema=events_schema(), partition_spec=spec)
        tbl.append(events_batch(list(range(0, 12))))
        self.agree("DuckDB reads pyiceberg's partitioned table", "events")
        self.sql(f"DELETE FROM cat.{s}.events WHERE category = 'y'")
        self.agree("DuckDB DELETE on pyiceberg's partitioned table", "events")
        n = len(self.cat.load_table((s, "events")).scan().to_arrow())
        self.c.equal("DuckDB DELETE removed the 'y' rows", 8, n)
        if self.attempt("INSERT into a partitioned table",
                        f"INSERT INTO cat.{s}.events VALUES (50, 'x', TIMESTAMPTZ '2026-04-01 10:00:00+00', 1.0)"):
            self.agree("after DuckDB INSERT into a partitioned table", "events")
        tbl = self.cat.load_table((s, "events"))
        tbl.append(events_batch([60, 61]))
        got = self.sql(f"SELECT count(*) FROM cat.{s}.events WHERE id >= 60").fetchall()
        self.c.equal("DuckDB sees pyiceberg's later append", [(2,)], got)

    def step_drop(self) -> None:
        s = self.schema
        self.create_table("dropme", [("k", "INTEGER")])
        self.sql(f"INSERT INTO cat.{s}.dropme VALUES (1)")
        self.c.equal("table to drop exists", True, lambda: self.cat.table_exists((s, "dropme")))
        self.sql(f"DROP TABLE cat.{s}.dropme")
        self.c.equal("DROP TABLE: pyiceberg no longer sees it", False, lambda: self.cat.table_exists((s, "dropme")))
        tables = [r[2] for r in self.sql("SHOW ALL TABLES").fetchall() if r[1] == s]
        self.c.check("SHOW ALL TABLES after DROP", "dropme" not in tables and "t" in tables, "t listed, dropme not", tables)

    def run_all(self) -> int:
        c = self.c
        try:
            c.run_step("attach", self.step_attach)
            if self.con is None or self.cat is None:
                return c.summary()
            c.run_step("create", self.step_schema_and_table)
            c.run_step("insert-select", self.step_insert)
            if hasattr(self, "expected"):
                c.run_step("update-delete", self.step_update_delete)
                c.run_step("merge", self.step_merge)
                c.run_step("alter", self.step_alter)
            c.run_step("transactions", self.step_transactions)
            c.run_step("pyiceberg-to-duckdb", self.step_pyiceberg_to_duckdb)
            c.run_step("drop", self.step_drop)
            return c.summary()
        finally:
            if self.con is not None:
                self.con.close()
            shutil.rmtree(self.ext_dir, ignore_errors=True)


# ---------------------------------------------------------------------------------------------
# Scenario: race
# ---------------------------------------------------------------------------------------------


def scenario_race(args) -> int:
    from pyiceberg.exceptions import CommitFailedException
    from pyiceberg.schema import Schema
    from pyiceberg.types import LongType, NestedField

    c = Checks("race")
    run = run_id()
    ns = f"r_{run}"
    ident = (ns, "contended")
    rounds = args.rounds
    writers = 2
    results: dict[int, dict[str, list]] = {w: {"acked": [], "conflicts": [], "errors": []} for w in range(writers)}

    def setup() -> None:
        cat = load_rest_catalog(args.uri, args.warehouse)
        cat.create_namespace(ns)
        schema = Schema(NestedField(1, "writer", LongType(), required=False), NestedField(2, "seq", LongType(), required=False),
                        NestedField(3, "k", LongType(), required=False))
        # The server would rebase the stale appends (see the contention scenario); this race is
        # about the 409 path, so rebasing is off.
        tbl = cat.create_table(ident, schema=schema, properties={"commit.retry.num-retries": "0",
                                                                 "floe.commit.rebase-appends": "false"})
        c.equal("table property commit.retry.num-retries", "0", tbl.properties.get("commit.retry.num-retries"))

    c.run_step("setup", setup)
    barrier = threading.Barrier(writers)

    def batch(w: int, i: int) -> pa.Table:
        return pa.table({"writer": pa.array([w] * 3, pa.int64()), "seq": pa.array([i] * 3, pa.int64()),
                         "k": pa.array([0, 1, 2], pa.int64())})

    def writer(w: int) -> None:
        cat = load_rest_catalog(args.uri, args.warehouse)
        for i in range(rounds):
            try:
                tbl = cat.load_table(ident)
            except Exception as e:
                results[w]["errors"].append((i, f"load: {type(e).__name__}: {e}"))
                barrier.wait()
                continue
            barrier.wait()  # both writers start from the same snapshot, then race
            try:
                tbl.append(batch(w, i))
                results[w]["acked"].append(i)
            except CommitFailedException as e:
                results[w]["conflicts"].append((i, str(e)[:200]))
            except Exception as e:
                results[w]["errors"].append((i, f"{type(e).__name__}: {e}"))

    def race() -> None:
        threads = [threading.Thread(target=writer, args=(w,), daemon=True) for w in range(writers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=600)
        c.check("writers finished", not any(t.is_alive() for t in threads), "both joined", "still running")
        acked = sum(len(r["acked"]) for r in results.values())
        conflicts = sum(len(r["conflicts"]) for r in results.values())
        errors = [e for r in results.values() for e in r["errors"]]
        c.note(f"{writers} writers x {rounds} appends: {acked} acknowledged, {conflicts} CommitFailedException")
        c.equal("no errors other than CommitFailedException", [], errors)
        c.equal("every append was acknowledged or got CommitFailedException", writers * rounds, acked + conflicts)
        # Both writers load the same snapshot, wait at the barrier, then append: exactly one of the two
        # commits can satisfy assert-ref-snapshot-id, and it must be accepted.
        winners = {i: [w for w, r in results.items() if i in r["acked"]] for i in range(rounds)}
        bad_rounds = {i: ws for i, ws in winners.items() if len(ws) != 1}
        c.equal("exactly one acknowledged append per round", {}, bad_rounds)
        if conflicts == 0:
            c.note("no conflict happened (the writers never overlapped)")
        else:
            sample = next(r["conflicts"][0] for r in results.values() if r["conflicts"])
            c.note(f"sample conflict: {sample}")

        cat = load_rest_catalog(args.uri, args.warehouse)
        tbl = cat.load_table(ident)
        rows = tbl.scan().to_arrow().to_pylist()
        got = sorted((r["writer"], r["seq"], r["k"]) for r in rows)
        want = sorted((w, i, k) for w, r in results.items() for i in r["acked"] for k in range(3))
        if got == want:
            c.ok("table holds exactly the acknowledged appends' rows", f"{len(got)} rows")
        else:
            c.fail("table holds exactly the acknowledged appends' rows",
                   f"{len(want)} rows; missing {sorted(set(want) - set(got))[:10]}",
                   f"{len(got)} rows; unexpected {sorted(set(got) - set(want))[:10]}; duplicates {len(got) - len(set(got))}")
        snaps = tbl.metadata.snapshots
        c.equal("one snapshot per acknowledged append", acked, len(snaps))
        by_id = {s.snapshot_id: s for s in snaps}
        chain, cur = [], tbl.metadata.current_snapshot_id
        while cur is not None and cur in by_id:
            chain.append(cur)
            cur = by_id[cur].parent_snapshot_id
        c.equal("snapshots form one linear history from the current snapshot", len(snaps), len(chain))
        c.equal("sequence numbers are 1..acked", list(range(1, acked + 1)), sorted(s.sequence_number for s in snaps))
        c.equal("last-sequence-number", acked, tbl.metadata.last_sequence_number)
        c.equal("snapshot-log has one entry per snapshot", acked, len(tbl.metadata.snapshot_log))

    c.run_step("concurrent-appends", race)
    return c.summary()



# ---------------------------------------------------------------------------------------------
# Scenario: contention
# ---------------------------------------------------------------------------------------------

CONTENTION_ROWS = 3  # rows per append


def contention_ids(w: int, i: int, rounds: int) -> list[int]:
    """The ids writer `w` appends in round `i`: unique across writers and rounds."""
    first = (w * rounds + i) * CONTENTION_ROWS
    return list(range(first, first + CONTENTION_ROWS))


def contention_writer(uri: str, warehouse: str, ident: tuple[str, str], w: int, rounds: int, barrier, out) -> None:
    """One appender process: `rounds` times load the table and append (client retries off); reports
    which rounds were acknowledged, which got CommitFailedException, and any other error."""
    result: dict[str, Any] = {"w": w, "acked": [], "conflicts": [], "errors": [], "cpu": 0.0, "wall": 0.0}
    try:
        from pyiceberg.exceptions import CommitFailedException

        cat = load_rest_catalog(uri, warehouse)
        barrier.wait(timeout=300)
        started, cpu0 = time.monotonic(), time.process_time()
        for i in range(rounds):
            ids = contention_ids(w, i, rounds)
            batch = pa.table({"id": pa.array(ids, pa.int64()), "writer": pa.array([w] * len(ids), pa.int64()),
                              "round": pa.array([i] * len(ids), pa.int64())})
            try:
                cat.load_table(ident).append(batch)
                result["acked"].append(i)
            except CommitFailedException as e:
                result["conflicts"].append((i, str(e)[:1000]))
            except Exception as e:  # noqa: BLE001 - reported as a failure by the parent
                result["errors"].append((i, f"{type(e).__name__}: {short(str(e), 300)}"))
        result["wall"] = time.monotonic() - started
        result["cpu"] = time.process_time() - cpu0
    except Exception as e:  # noqa: BLE001
        result["errors"].append((-1, f"{type(e).__name__}: {e}\n{traceback.format_exc()}"))
    out.put(result)


def scenario_contention(args) -> int:
    """`args.writers` pyiceberg appender processes with commit.retry.num-retries=0, `args.rounds`
    appends each, to one table. With server-side rebasing on (`--rebase on`, the default table
    setting) every append must land; with it off (`floe.commit.rebase-appends=false`) the losers get
    CommitFailedException (409). Either way the table holds exactly the acknowledged rows, the
    history is linear with strictly increasing sequence numbers, and pyiceberg (and, with rebasing
    on, DuckDB) read the same row count and id checksum."""
    import multiprocessing as mp

    from pyiceberg.schema import Schema
    from pyiceberg.types import LongType, NestedField

    rebase = args.rebase == "on"
    c = Checks(f"contention-{args.rebase}")
    run = run_id()
    ns = f"c_{run}"
    ident = (ns, "appends")
    writers, rounds = args.writers, args.rounds
    # Writer w talks to uris[w % len(uris)]: several replicas of one catalog share the writers.
    uris = [args.uri] + list(args.replica_uri or [])
    results: list[dict[str, Any]] = []
    timing: dict[str, float] = {}

    def setup() -> None:
        cat = load_rest_catalog(args.uri, args.warehouse)
        cat.create_namespace(ns)
        schema = Schema(NestedField(1, "id", LongType(), required=False), NestedField(2, "writer", LongType(), required=False),
                        NestedField(3, "round", LongType(), required=False))
        props = {"commit.retry.num-retries": "0"}
        if not rebase:
            props["floe.commit.rebase-appends"] = "false"
        tbl = cat.create_table(ident, schema=schema, properties=props)
        c.equal("client retries are off", "0", tbl.properties.get("commit.retry.num-retries"))
        c.equal("floe.commit.rebase-appends", None if rebase else "false", tbl.properties.get("floe.commit.rebase-appends"))

    def race() -> None:
        ctx = mp.get_context("spawn")
        barrier = ctx.Barrier(writers + 1)
        out = ctx.Queue()
        procs = [ctx.Process(target=contention_writer, args=(uris[w % len(uris)], args.warehouse, ident, w, rounds, barrier, out),
                             daemon=True)
                 for w in range(writers)]
        if len(uris) > 1:
            c.note(f"{writers} writers spread over {len(uris)} servers: {', '.join(uris)}")
        for p in procs:
            p.start()
        barrier.wait(timeout=300)  # every writer has imported pyiceberg and connected
        started = time.monotonic()
        for _ in procs:
            try:
                results.append(out.get(timeout=900))
            except Exception as e:  # noqa: BLE001
                c.fail("every writer reported", writers, f"{len(results)} ({type(e).__name__})")
                break
        timing["wall"] = time.monotonic() - started
        for p in procs:
            p.join(timeout=30)
        c.equal("every writer process reported", writers, len(results))
        acked = sum(len(r["acked"]) for r in results)
        conflicts = sum(len(r["conflicts"]) for r in results)
        errors = [e for r in results for e in r["errors"]]
        cpu = sum(r["cpu"] for r in results)
        c.equal("no errors other than CommitFailedException", [], errors)
        c.equal("every append was acknowledged or got CommitFailedException", writers * rounds, acked + conflicts)
        share = acked / (writers * rounds)
        c.note(f"{writers} writers x {rounds} appends, rebase {args.rebase}: {acked} landed, {conflicts} "
               f"CommitFailedException; attempts landed {share:.1%}; {timing['wall']:.1f}s wall, "
               f"{acked / max(timing['wall'], 1e-9):.2f} commits/s, writers' CPU {cpu:.1f}s")
        if rebase:
            c.equal("every append landed (no losers)", writers * rounds, acked)
            for w, (i, msg) in [(r["w"], x) for r in results for x in r["conflicts"]][:3]:
                c.note(f"writer {w} round {i} lost: {msg}")
        else:
            # 16 writers appending to one branch at once cannot all win without rebasing.
            c.check("with rebasing off, losers get CommitFailedException (409)", conflicts > 0 or writers < 4,
                    "some conflicts", conflicts)
            if conflicts:
                sample = next(r["conflicts"][0] for r in results if r["conflicts"])
                c.check("a loser's CommitFailedException is the 409 of the branch requirement",
                        "main" in sample[1] and "rebase-appends=false" in sample[1],
                        "message naming branch main and the property", sample)

    def verify() -> None:
        acked = {(r["w"], i) for r in results for i in r["acked"]}
        cat = load_rest_catalog(args.uri, args.warehouse)
        tbl = cat.load_table(ident)
        arrow = tbl.scan().to_arrow()
        ids = sorted(arrow.column("id").to_pylist())
        want = sorted(x for (w, i) in acked for x in contention_ids(w, i, rounds))
        c.equal("row count is exact", len(want), len(ids))
        c.equal("id checksum (sum, sum of squares)", (sum(want), sum(x * x for x in want)),
                (sum(ids), sum(x * x for x in ids)))
        if ids != want:
            c.fail("rows are exactly the acknowledged appends'",
                   f"missing {sorted(set(want) - set(ids))[:10]}",
                   f"unexpected {sorted(set(ids) - set(want))[:10]}; duplicates {len(ids) - len(set(ids))}")
        md = tbl.metadata
        snaps = md.snapshots
        c.equal("one snapshot per acknowledged append", len(acked), len(snaps))
        by_id = {s.snapshot_id: s for s in snaps}
        chain, cur = [], md.current_snapshot_id
        while cur is not None and cur in by_id:
            chain.append(by_id[cur])
            cur = by_id[cur].parent_snapshot_id
        chain.reverse()
        c.equal("the history is one linear chain from the current snapshot", len(snaps), len(chain))
        seqs = [s.sequence_number for s in chain]
        c.check("sequence numbers strictly increase along the chain", all(a < b for a, b in zip(seqs, seqs[1:])),
                "strictly increasing", seqs[:20])
        c.equal("sequence numbers are 1..n", list(range(1, len(acked) + 1)), seqs)
        c.equal("last-sequence-number", len(acked), md.last_sequence_number)
        if chain:
            total = chain[-1].summary.get("total-records") if chain[-1].summary else None
            c.equal("head summary total-records", str(len(want)), total)
        # Each snapshot's manifest list: its own appended manifest plus all of its parent's.
        sample = chain[-5:] if len(chain) >= 5 else chain
        io = tbl.io
        for s in sample:
            own = [m for m in s.manifests(io) if m.added_snapshot_id == s.snapshot_id]
            c.check(f"snapshot seq {s.sequence_number}: its own manifest carries its sequence number",
                    len(own) == 1 and own[0].sequence_number == s.sequence_number and own[0].min_sequence_number == s.sequence_number,
                    s.sequence_number, [(m.sequence_number, m.min_sequence_number) for m in own])
            if s.parent_snapshot_id is not None:
                parent = {m.manifest_path for m in by_id[s.parent_snapshot_id].manifests(io)}
                mine = {m.manifest_path for m in s.manifests(io)}
                c.check(f"snapshot seq {s.sequence_number}: keeps every manifest of its parent", parent <= mine,
                        "superset", f"{len(parent - mine)} missing")
        # Each row's data sequence number is its own snapshot's (inherited through the rebased list).
        entries = tbl.inspect.entries().to_pylist()
        live = [e for e in entries if e["status"] != 2]
        per_snapshot = {s.snapshot_id: s.sequence_number for s in snaps}
        bad = [(e["snapshot_id"], e["sequence_number"]) for e in live if per_snapshot.get(e["snapshot_id"]) != e["sequence_number"]]
        c.equal("every data file's sequence number is the one of the snapshot that added it", [], bad[:10])
        timing["count"] = len(want)
        timing["checksum"] = sum(want)
        # Every replica serves the same state, right after the last commit.
        for uri in uris[1:]:
            other = load_rest_catalog(uri, args.warehouse).load_table(ident)
            c.equal(f"{uri} loads the same metadata location", tbl.metadata_location, other.metadata_location)
            c.equal(f"{uri} sees the same snapshots", [s.snapshot_id for s in snaps],
                    [s.snapshot_id for s in other.metadata.snapshots])
            c.equal(f"{uri} reads the same row count", len(want), len(other.scan().to_arrow()))

    def duckdb_reads() -> None:
        ext_dir = tempfile.mkdtemp(prefix="floe-duckdb-ext-")
        con = None
        try:
            con = duckdb_connect(ext_dir)
            uri = args.uri.rstrip("/")
            con.sql(f"ATTACH '{args.warehouse}' AS cat (TYPE iceberg, ENDPOINT '{uri}', AUTHORIZATION_TYPE 'none')")
            got = con.sql(f"SELECT count(*), sum(id) FROM cat.{ns}.appends").fetchall()
            c.equal("DuckDB reads the same row count and id sum", [(timing.get("count"), timing.get("checksum"))], got)
        finally:
            if con is not None:
                con.close()
            shutil.rmtree(ext_dir, ignore_errors=True)

    c.run_step("setup", setup)
    c.run_step("concurrent-appends", race)
    c.run_step("verify", verify)
    if args.duckdb:
        c.run_step("duckdb", duckdb_reads)
    return c.summary()

# ---------------------------------------------------------------------------------------------


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("scenario", choices=["pyiceberg", "duckdb", "race", "contention"])
    ap.add_argument("--uri", required=True, help="the catalog server, e.g. http://127.0.0.1:8181")
    ap.add_argument("--warehouse", default="default")
    ap.add_argument("--warehouse-dir", help="the server's data dir (table locations must lie inside it)")
    ap.add_argument("--rounds", type=int, default=20, help="race, contention: appends per writer")
    ap.add_argument("--writers", type=int, default=16, help="contention: appender processes")
    ap.add_argument("--rebase", choices=["on", "off"], default="on",
                    help="contention: leave server-side rebasing on, or set floe.commit.rebase-appends=false")
    ap.add_argument("--duckdb", action="store_true", help="contention: DuckDB reads the table afterwards")
    ap.add_argument("--replica-uri", action="append", default=[],
                    help="contention: another server on the same catalog (repeatable); writers alternate between servers")
    args = ap.parse_args()
    if args.scenario == "pyiceberg":
        return PyicebergScenario(args).run_all()
    if args.scenario == "duckdb":
        return DuckdbScenario(args).run_all()
    if args.scenario == "contention":
        return scenario_contention(args)
    return scenario_race(args)


if __name__ == "__main__":
    sys.exit(main())
