"""DuckDB writes through Floe's REST catalog; Floe reads the result (catalog-server/tests/it/duckdb_floe.rs).

    python duckdb_writes.py --uri http://127.0.0.1:PORT --namespace NS --table T

DuckDB attaches the catalog, creates the table, inserts 20 rows, then UPDATEs and DELETEs some
of them (DuckDB writes position delete files for both and commits through
/v1/{prefix}/transactions/commit). The last stdout line is DuckDB's own view of the table as
JSON: [[id, name], ...] sorted by id, which the Rust side compares with Floe's scan.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rest_scenarios import duckdb_connect  # noqa: E402


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--uri", required=True)
    p.add_argument("--namespace", required=True)
    p.add_argument("--table", required=True)
    a = p.parse_args()
    con = duckdb_connect(tempfile.mkdtemp(prefix="floe-duckdb-ext-"))
    con.sql(f"ATTACH 'default' AS cat (TYPE iceberg, ENDPOINT '{a.uri}', AUTHORIZATION_TYPE 'none')")
    t = f"cat.{a.namespace}.{a.table}"
    con.sql(f"CREATE SCHEMA cat.{a.namespace}")
    con.sql(f"CREATE TABLE {t} (id BIGINT, name VARCHAR)")
    con.sql(f"INSERT INTO {t} SELECT i, 'n' || i FROM range(20) r(i)")
    con.sql(f"UPDATE {t} SET name = 'updated' WHERE id % 5 = 0")
    con.sql(f"DELETE FROM {t} WHERE id % 3 = 0")
    rows = con.sql(f"SELECT id, name FROM {t} ORDER BY id").fetchall()
    print(json.dumps([[r[0], r[1]] for r in rows]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
