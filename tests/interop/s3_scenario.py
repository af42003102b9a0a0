"""pyiceberg 0.12 and DuckDB 1.5.5 against a Floe warehouse on S3 (moto's S3 server), with NO
client-side S3 settings: both clients get the endpoint, region, addressing style and keys only
from the catalog (loadTable `config`).

  python s3_scenario.py --uri http://127.0.0.1:PORT --warehouse NAME \
      --s3-endpoint http://127.0.0.1:S3PORT --bucket BUCKET [--prefix PREFIX]

The warehouse must already exist (POST /management/v1/warehouses, type s3, location
s3://BUCKET/PREFIX); this script creates the bucket (boto3, the only S3 client here that is
configured by hand: it checks what lands in the bucket). Output as in rest_scenarios.py: one
`PASS`/`FAIL` line per check, then `SUMMARY s3: P passed, F failed`; exit 0 only if F == 0.

Steps: the client environment has no AWS settings; pyiceberg creates a table and appends;
loadTable and the credentials endpoint carry the S3 settings; DuckDB attaches the same warehouse,
reads pyiceberg's rows and INSERTs; pyiceberg commits again; both clients read the same rows;
DuckDB creates its own table (stage-create) that pyiceberg reads; a drop without purge keeps the
table's objects, a drop with purgeRequested=true removes them all.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import urllib.parse

import pyarrow as pa

from rest_scenarios import Checks, Raw, duckdb_connect, load_rest_catalog, rows_sorted, run_id

S3_KEYS = ("s3.endpoint", "s3.region", "s3.path-style-access", "s3.access-key-id", "s3.secret-access-key")


class S3Scenario:
    def __init__(self, args):
        self.args = args
        self.c = Checks("s3")
        self.ns = f"s3_{run_id()}"
        self.cat = None
        self.raw: Raw | None = None
        self.con = None
        self.s3 = None
        self.ext_dir = tempfile.mkdtemp(prefix="floe-duckdb-ext-")
        self.expected: list[tuple] = []
        self.py_location = ""
        self.duck_location = ""

    # -- helpers ---------------------------------------------------------------------------
    def keys_under(self, location: str) -> list[str]:
        """Every object key under a table location (s3://bucket/path), via boto3."""
        parsed = urllib.parse.urlsplit(location)
        prefix = parsed.path.lstrip("/").rstrip("/") + "/"
        keys: list[str] = []
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=parsed.netloc, Prefix=prefix):
            keys.extend(o["Key"] for o in page.get("Contents", []))
        return sorted(keys)

    def py_rows(self, table: str) -> list[tuple]:
        tbl = self.cat.load_table((self.ns, table))
        cols = [f.name for f in tbl.schema().fields]
        return rows_sorted([tuple(r[c] for c in cols) for r in tbl.scan().to_arrow().to_pylist()])

    def duck_rows(self, table: str) -> list[tuple]:
        return rows_sorted(self.con.sql(f"SELECT * FROM cat.{self.ns}.{table}").fetchall())

    def agree(self, name: str, table: str, expected: list[tuple]) -> None:
        py = self.py_rows(table)
        duck = self.duck_rows(table)
        self.c.equal(f"{name}: pyiceberg reads the expected rows", rows_sorted(expected), py, detail=f"{len(py)} rows")
        self.c.equal(f"{name}: DuckDB reads the same rows as pyiceberg", py, duck)

    # -- steps -----------------------------------------------------------------------------
    def step_setup(self) -> None:
        import boto3

        aws = sorted(k for k in os.environ if k.startswith("AWS_") and k != "AWS_CA_BUNDLE")
        self.c.equal("no AWS_* settings in the clients' environment", [], aws)
        self.s3 = boto3.client("s3", endpoint_url=self.args.s3_endpoint, region_name="us-east-1",
                               aws_access_key_id="test", aws_secret_access_key="test")
        self.s3.create_bucket(Bucket=self.args.bucket)
        names = [b["Name"] for b in self.s3.list_buckets()["Buckets"]]
        self.c.check("bucket created", self.args.bucket in names, self.args.bucket, names)
        self.raw = Raw(self.args.uri, self.args.warehouse)
        self.c.ok("GET /v1/config", f"base path {self.raw.base}")
        # Only the catalog's address and the warehouse name: no s3.* properties at all.
        self.cat = load_rest_catalog(self.args.uri, self.args.warehouse)
        self.c.ok("pyiceberg load_catalog(type=rest) with no S3 settings")

    def step_pyiceberg_create_append(self) -> None:
        from pyiceberg.schema import Schema
        from pyiceberg.types import LongType, NestedField, StringType

        self.cat.create_namespace(self.ns)
        schema = Schema(NestedField(1, "id", LongType(), required=False),
                        NestedField(2, "name", StringType(), required=False))
        tbl = self.cat.create_table((self.ns, "events"), schema=schema)
        self.py_location = tbl.location()
        root = f"s3://{self.args.bucket}/{self.args.prefix}/" if self.args.prefix else f"s3://{self.args.bucket}/"
        self.c.check("table location is inside the S3 warehouse", self.py_location.startswith(root), root,
                     self.py_location)
        self.c.check("metadata file is on S3", tbl.metadata_location.startswith(root), root, tbl.metadata_location)
        tbl.append(pa.table({"id": pa.array([1, 2, 3], pa.int64()), "name": ["a", "b", "c"]}))
        self.expected = [(1, "a"), (2, "b"), (3, "c")]
        self.c.equal("pyiceberg append reads back", self.expected, self.py_rows("events"))
        keys = self.keys_under(self.py_location)
        self.c.check("data and metadata files are in the bucket",
                     any(k.endswith(".parquet") for k in keys) and any(k.endswith(".metadata.json") for k in keys),
                     "a .parquet and a .metadata.json under the table location", keys)

    def step_load_config(self) -> None:
        path = self.raw.table_path((self.ns,), "events")
        r = self.raw.request("GET", path, headers={"X-Iceberg-Access-Delegation": "vended-credentials"})
        self.c.equal("loadTable 200", 200, r.status, detail=r.describe()[:200] if r.status != 200 else "")
        config = (r.json or {}).get("config") or {}
        want = {
            "s3.endpoint": self.args.s3_endpoint,
            "s3.region": "us-east-1",
            "client.region": "us-east-1",
            "s3.path-style-access": "true",
            "s3.access-key-id": "test",
            "s3.secret-access-key": "test",
        }
        self.c.equal("loadTable config carries the S3 settings", want, {k: config.get(k) for k in want})
        r = self.raw.request("GET", path + "/credentials")
        self.c.equal("credentials endpoint 200", 200, r.status)
        creds = (r.json or {}).get("storage-credentials") or []
        self.c.check("credentials cover the table location with the same settings",
                     any(self.py_location.startswith(cr.get("prefix", "\0"))
                         and all(cr.get("config", {}).get(k) == want[k] for k in S3_KEYS) for cr in creds),
                     f"a storage credential whose prefix covers {self.py_location}", creds)

    def step_duckdb(self) -> None:
        self.con = duckdb_connect(self.ext_dir)
        secrets = self.con.sql("SELECT name FROM duckdb_secrets()").fetchall()
        self.c.equal("DuckDB starts with no secrets", [], secrets)
        uri = self.args.uri.rstrip("/")
        self.con.sql(f"ATTACH '{self.args.warehouse}' AS cat (TYPE iceberg, ENDPOINT '{uri}', AUTHORIZATION_TYPE 'none')")
        self.c.ok("ATTACH over REST (no S3 secret)")
        self.c.equal("DuckDB reads pyiceberg's rows", self.expected, self.duck_rows("events"))
        self.con.sql(f"INSERT INTO cat.{self.ns}.events VALUES (4, 'd'), (5, 'e')")
        self.expected += [(4, "d"), (5, "e")]
        self.agree("after DuckDB INSERT", "events", self.expected)

    def step_pyiceberg_commit(self) -> None:
        tbl = self.cat.load_table((self.ns, "events"))
        before = len(tbl.metadata.snapshots)
        tbl.append(pa.table({"id": pa.array([6], pa.int64()), "name": ["f"]}))
        self.expected.append((6, "f"))
        tbl = self.cat.load_table((self.ns, "events"))
        self.c.equal("pyiceberg commit on top of DuckDB's snapshot", before + 1, len(tbl.metadata.snapshots))
        with tbl.transaction() as tx:
            tx.set_properties({"floe.test": "s3"})
        self.c.equal("property commit", "s3", self.cat.load_table((self.ns, "events")).properties.get("floe.test"))
        self.agree("after pyiceberg commits", "events", self.expected)

    def step_duckdb_table(self) -> None:
        s = self.ns
        self.con.sql(f"CREATE TABLE cat.{s}.duck (id INTEGER, v VARCHAR)")
        self.con.sql(f"INSERT INTO cat.{s}.duck VALUES (1, 'x'), (2, 'y')")
        self.agree("DuckDB-created table", "duck", [(1, "x"), (2, "y")])
        self.duck_location = self.cat.load_table((s, "duck")).location()
        keys = self.keys_under(self.duck_location)
        self.c.check("DuckDB's files are in the bucket", any(k.endswith(".parquet") for k in keys),
                     "a .parquet under the table location", keys)

    def step_drop(self) -> None:
        s = self.ns
        kept_before = self.keys_under(self.duck_location)
        self.cat.drop_table((s, "duck"))
        self.c.equal("drop without purge: table gone", False, self.cat.table_exists((s, "duck")))
        self.c.equal("drop without purge keeps every object", kept_before, self.keys_under(self.duck_location))

        purged_before = self.keys_under(self.py_location)
        self.c.check("purge target has objects", len(purged_before) > 0, "> 0 objects", purged_before)
        r = self.raw.request("DELETE", self.raw.table_path((s,), "events") + "?purgeRequested=true")
        self.c.equal("drop with purgeRequested=true: 204", 204, r.status, detail="" if r.status == 204 else r.describe())
        self.c.equal("drop with purge: table gone", False, self.cat.table_exists((s, "events")))
        self.c.equal("drop with purge removes every object of the table", [], self.keys_under(self.py_location))
        self.c.equal("the kept table's objects are untouched by the purge", kept_before,
                     self.keys_under(self.duck_location))

    def run_all(self) -> int:
        c = self.c
        c.run_step("setup", self.step_setup)
        if c.failed:
            return c.summary()
        c.run_step("pyiceberg-create-append", self.step_pyiceberg_create_append)
        c.run_step("load-config", self.step_load_config)
        c.run_step("duckdb", self.step_duckdb)
        c.run_step("pyiceberg-commit", self.step_pyiceberg_commit)
        c.run_step("duckdb-table", self.step_duckdb_table)
        c.run_step("drop", self.step_drop)
        return c.summary()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--uri", required=True, help="the catalog server, e.g. http://127.0.0.1:8181")
    ap.add_argument("--warehouse", required=True, help="an existing s3 warehouse")
    ap.add_argument("--s3-endpoint", required=True, help="moto's S3 endpoint, e.g. http://127.0.0.1:9000")
    ap.add_argument("--bucket", required=True)
    ap.add_argument("--prefix", default="", help="the warehouse location's path inside the bucket")
    return S3Scenario(ap.parse_args()).run_all()


if __name__ == "__main__":
    sys.exit(main())
