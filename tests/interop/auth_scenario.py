"""Grants enforced for real clients: pyiceberg (credential=) and DuckDB (CLIENT_ID/CLIENT_SECRET)
against a Floe catalog-server started with --auth oauth2.

  python auth_scenario.py --uri http://127.0.0.1:PORT --root-id ID --root-secret SECRET

The scenario: principal `feature-pipeline` holds SELECT and MODIFY on gold.user_features (and
USAGE on gold) and appends; `ml-training` holds SELECT and reads the rows, its append is refused
with ForbiddenError and nothing changes; revoking its SELECT makes its next load fail; SELECT on
the namespace makes a new table readable. Then DuckDB, as `analyst` (SELECT on user_features
only), attaches with client credentials, reads that table and is refused another one.

Prints `PASS`/`FAIL` lines and a closing `SUMMARY auth: P passed, F failed`; exit code 0 only when
nothing failed.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import traceback
import urllib.error
import urllib.parse
import urllib.request

import pyarrow as pa

passed = 0
failed = 0


def check(name: str, ok: bool, detail: object = "") -> None:
    global passed, failed
    if ok:
        passed += 1
        print(f"PASS auth: {name}")
    else:
        failed += 1
        print(f"FAIL auth: {name}: {detail}")


def http(method: str, url: str, token: str | None = None, body: object | None = None,
         form: dict | None = None) -> tuple[int, object]:
    data = None
    headers = {}
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    if form is not None:
        data = urllib.parse.urlencode(form).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    if token:
        headers["Authorization"] = f"Bearer {token}"
    req = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(req) as r:
            text = r.read().decode()
            return r.status, (json.loads(text) if text else None)
    except urllib.error.HTTPError as e:
        text = e.read().decode()
        try:
            return e.code, json.loads(text)
        except ValueError:
            return e.code, text


class Admin:
    def __init__(self, uri: str, root_id: str, root_secret: str):
        self.uri = uri
        status, body = http("POST", f"{uri}/v1/oauth/tokens", form={
            "grant_type": "client_credentials", "client_id": root_id, "client_secret": root_secret})
        assert status == 200, body
        self.token = body["access_token"]

    def ok(self, method: str, path: str, body: object | None = None) -> object:
        status, out = http(method, f"{self.uri}{path}", self.token, body)
        assert 200 <= status < 300, f"{method} {path}: {status} {out}"
        return out

    def principal(self, name: str) -> tuple[str, str]:
        out = self.ok("POST", "/management/v1/principals", {"name": name})
        return out["client-id"], out["client-secret"]

    def grant(self, on: str, principal: str, privileges: list[str], remove: bool = False) -> None:
        key = "remove" if remove else "add"
        self.ok("PATCH", f"/management/v1/warehouses/default{on}/permissions",
                {"changes": [{"principal": principal, key: privileges}]})


def catalog(uri: str, client_id: str, secret: str):
    from pyiceberg.catalog import load_catalog
    return load_catalog("floe", **{"type": "rest", "uri": uri, "credential": f"{client_id}:{secret}",
                                   "warehouse": "default"})


def rows(n0: int, n: int) -> pa.Table:
    return pa.table({"user_id": pa.array(range(n0, n0 + n), pa.int64()),
                     "score": pa.array([float(i) / 10 for i in range(n0, n0 + n)], pa.float64())})


def scenario(args) -> None:
    from pyiceberg.exceptions import ForbiddenError
    from pyiceberg.schema import Schema
    from pyiceberg.types import DoubleType, LongType, NestedField

    admin = Admin(args.uri, args.root_id, args.root_secret)
    root = catalog(args.uri, args.root_id, args.root_secret)
    root.create_namespace("gold")
    schema = Schema(NestedField(1, "user_id", LongType(), required=False),
                    NestedField(2, "score", DoubleType(), required=False))
    root.create_table("gold.user_features", schema=schema)
    root.create_table("gold.secret_table", schema=schema).append(rows(1000, 3))

    pipeline_id, pipeline_secret = admin.principal("feature-pipeline")
    training_id, training_secret = admin.principal("ml-training")
    for p in ("feature-pipeline", "ml-training"):
        admin.grant("/namespaces/gold", p, ["USAGE"])
    table = "/namespaces/gold/tables/user_features"
    admin.grant(table, "feature-pipeline", ["SELECT", "MODIFY"])
    admin.grant(table, "ml-training", ["SELECT"])

    pipeline = catalog(args.uri, pipeline_id, pipeline_secret)
    pipeline.load_table("gold.user_features").append(rows(0, 10))
    pipeline.load_table("gold.user_features").append(rows(10, 5))
    check("the pipeline appends", len(pipeline.load_table("gold.user_features").scan().to_arrow()) == 15)

    training = catalog(args.uri, training_id, training_secret)
    t = training.load_table("gold.user_features")
    got = sorted(t.scan().to_arrow().column("user_id").to_pylist())
    check("ml-training reads the pipeline's rows", got == list(range(15)), got)
    before = t.metadata_location
    try:
        t.append(rows(100, 1))
        check("ml-training's append is refused", False, "the append succeeded")
    except ForbiddenError as e:
        check("ml-training's append is refused with ForbiddenError", True)
        check("the refusal names the missing privilege", "MODIFY" in str(e), e)
    after = root.load_table("gold.user_features")
    check("the refused append changed nothing", after.metadata_location == before,
          (before, after.metadata_location))
    check("the table still holds 15 rows", len(after.scan().to_arrow()) == 15)
    try:
        training.load_table("gold.secret_table")
        check("ml-training cannot load a table it holds nothing on", False, "loaded")
    except ForbiddenError:
        check("ml-training cannot load a table it holds nothing on", True)

    admin.grant(table, "ml-training", ["SELECT"], remove=True)
    try:
        training.load_table("gold.user_features")
        check("after the revoke the next load fails", False, "loaded")
    except ForbiddenError:
        check("after the revoke the next load fails", True)

    admin.grant("/namespaces/gold", "ml-training", ["SELECT"])
    root.create_table("gold.new_features", schema=schema).append(rows(0, 4))
    n = len(training.load_table("gold.new_features").scan().to_arrow())
    check("SELECT on the namespace makes a new table readable", n == 4, n)

    # DuckDB as a third principal that may read only user_features.
    analyst_id, analyst_secret = admin.principal("analyst")
    admin.grant("/namespaces/gold", "analyst", ["USAGE"])
    admin.grant(table, "analyst", ["SELECT"])
    sys.path.insert(0, str(__import__("pathlib").Path(__file__).parent))
    from rest_scenarios import duckdb_connect

    ext_dir = tempfile.mkdtemp(prefix="floe-duckdb-ext-")
    try:
        con = duckdb_connect(ext_dir)
        con.sql(f"""CREATE SECRET floe_auth (TYPE iceberg, CLIENT_ID '{analyst_id}',
                    CLIENT_SECRET '{analyst_secret}', OAUTH2_SERVER_URI '{args.uri}/v1/oauth/tokens')""")
        con.sql(f"ATTACH 'default' AS cat (TYPE iceberg, SECRET floe_auth, ENDPOINT '{args.uri}')")
        check("DuckDB attaches with client credentials", True)
        count = con.sql("SELECT count(*), sum(user_id) FROM cat.gold.user_features").fetchone()
        check("DuckDB reads the table it holds SELECT on", count == (15, sum(range(15))), count)
        try:
            con.sql("SELECT count(*) FROM cat.gold.secret_table").fetchone()
            check("DuckDB is refused the table it holds nothing on", False, "read it")
        except Exception as e:  # noqa: BLE001 - DuckDB raises its own error types
            check("DuckDB is refused the table it holds nothing on", "403" in str(e) or "orbidden" in str(e), e)
        try:
            con.sql("INSERT INTO cat.gold.user_features VALUES (999, 9.9)")
            check("DuckDB's insert without MODIFY is refused", False, "inserted")
        except Exception as e:  # noqa: BLE001
            check("DuckDB's insert without MODIFY is refused", "403" in str(e) or "orbidden" in str(e), e)
        n = len(root.load_table("gold.user_features").scan().to_arrow())
        check("nothing DuckDB was refused changed the table", n == 15, n)
        con.close()
    finally:
        shutil.rmtree(ext_dir, ignore_errors=True)

    # The audit log saw the refusals and the commits.
    events = admin.ok("GET", "/management/v1/audit?principal=ml-training&action=deny")["events"]
    check("the audit log holds ml-training's denials", len(events) >= 3, events)
    commits = admin.ok("GET", "/management/v1/audit?principal=feature-pipeline&action=commit")["events"]
    check("the audit log holds the pipeline's commits", len(commits) == 2, commits)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--uri", required=True)
    ap.add_argument("--root-id", required=True)
    ap.add_argument("--root-secret", required=True)
    args = ap.parse_args()
    try:
        scenario(args)
    except Exception:  # noqa: BLE001 - report, then fail
        check("the scenario ran to the end", False, traceback.format_exc())
    print(f"SUMMARY auth: {passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
