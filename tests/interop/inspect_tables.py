"""Build tables with pyiceberg through a Floe catalog-server and print pyiceberg's metadata
tables (`table.inspect.*`) as JSON, for catalog-server/tests/it/inspect.rs to compare with
Floe's `/management/v1/.../tables/{t}/{kind}` endpoints.

  python inspect_tables.py build --uri URL --namespace NS --table T
      a partitioned table through two appends, an overwrite, a delete, partition evolution
      (adds day(ts)), another append, a branch `audit` and a tag `v1`; prints
      {"kinds": {snapshots, history, refs, metadata-log, manifests, files, data-files,
      delete-files, entries, partitions: rows}} on the last stdout line.
  python inspect_tables.py small --uri URL --namespace NS --table T --appends N
      N single-row appends to an unpartitioned table (N small files).
  python inspect_tables.py dump --uri URL --namespace NS --table T [--kinds files,partitions]
      print the given kinds of an existing table, with the seconds each took.

Normalization (applied here to pyiceberg's values, so that they read as Floe's JSON does):
- timestamps of metadata events (committed_at, made_current_at, timestamp,
  last_updated_at) become integer milliseconds since the epoch (Floe's ISO strings are
  converted to ms by the Rust test);
- values (partition values, readable bounds) take the Iceberg JSON single-value form: dates
  `YYYY-MM-DD`, timestamps `YYYY-MM-DDTHH:MM:SS.ffffff`, bytes lower-case hex;
- maps (Arrow lists of key/value pairs) become objects keyed by the key as a string, binary
  map values hex; a null map becomes {} (Floe writes no metrics as {}).
"""

from __future__ import annotations

import argparse
import datetime as dt
import decimal
import json
import sys
import time
import uuid

import pyarrow as pa
from pyiceberg.catalog import load_catalog

EPOCH = dt.datetime(1970, 1, 1)
EVENT_TIMES = {"committed_at", "made_current_at", "timestamp", "last_updated_at"}
MAPS = {"column_sizes", "value_counts", "null_value_counts", "nan_value_counts", "lower_bounds", "upper_bounds", "summary"}


def value(v):
    if isinstance(v, dt.datetime):
        v = v.replace(tzinfo=None) if v.tzinfo is None else v.astimezone(dt.timezone.utc).replace(tzinfo=None)
        return v.strftime("%Y-%m-%dT%H:%M:%S.%f")
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, (bytes, bytearray)):
        return bytes(v).hex()
    if isinstance(v, decimal.Decimal):
        return str(v)
    if isinstance(v, uuid.UUID):
        return str(v)
    if isinstance(v, dict):
        return {k: value(x) for k, x in v.items()}
    if isinstance(v, list):
        return [value(x) for x in v]
    return v


def ms(v):
    if v is None:
        return None
    if isinstance(v, dt.datetime):
        if v.tzinfo is not None:
            v = v.astimezone(dt.timezone.utc).replace(tzinfo=None)
        return (v - EPOCH) // dt.timedelta(milliseconds=1)
    return v


def normalize_row(row: dict) -> dict:
    out = {}
    for k, v in row.items():
        if k in EVENT_TIMES:
            out[k] = ms(v)
        elif k in MAPS:
            out[k] = {str(a): value(b) for a, b in (v or [])}
        elif k == "data_file":
            out[k] = normalize_row(v)
        else:
            out[k] = value(v)
    return out


def rows(table: pa.Table) -> list:
    return [normalize_row(r) for r in table.to_pylist()]


def catalog(uri: str):
    return load_catalog("floe", type="rest", uri=uri, warehouse="default")


SCHEMA = pa.schema([
    pa.field("id", pa.int64()),
    pa.field("category", pa.string()),
    pa.field("value", pa.float64()),
    pa.field("ts", pa.timestamp("us")),
])


def iceberg_schema():
    from pyiceberg.schema import Schema
    from pyiceberg.types import DoubleType, LongType, NestedField, StringType, TimestampType

    return Schema(
        NestedField(1, "id", LongType(), required=False),
        NestedField(2, "category", StringType(), required=False),
        NestedField(3, "value", DoubleType(), required=False),
        NestedField(4, "ts", TimestampType(), required=False),
    )


def batch(ids, cats, day):
    base = dt.datetime(2024, 3, day, 12, 0, 0)
    return pa.table({
        "id": pa.array(ids, pa.int64()),
        "category": pa.array(cats, pa.string()),
        "value": pa.array([i * 1.5 for i in ids], pa.float64()),
        "ts": pa.array([base + dt.timedelta(minutes=i) for i in ids], pa.timestamp("us")),
    }, schema=SCHEMA)


def build(args) -> None:
    from pyiceberg.partitioning import PartitionField, PartitionSpec
    from pyiceberg.transforms import DayTransform, IdentityTransform

    cat = catalog(args.uri)
    cat.create_namespace_if_not_exists(args.namespace)
    ident = f"{args.namespace}.{args.table}"
    spec = PartitionSpec(PartitionField(source_id=2, field_id=1000, transform=IdentityTransform(), name="category"))
    tbl = cat.create_table(ident, schema=iceberg_schema(), partition_spec=spec)
    tbl.append(batch([1, 2, 3], ["a", "b", "a"], 1))
    tbl.append(batch([4, 5], ["b", "c"], 2))
    tbl.overwrite(batch([6, 7], ["c", "c"], 3), overwrite_filter="category == 'c'")
    tbl.delete("category == 'b'")  # whole files: a delete snapshot
    tbl.delete("id == 1")  # part of a file: rewritten, an overwrite snapshot
    with tbl.update_spec() as u:
        u.add_field("ts", DayTransform(), "ts_day")
    tbl = cat.load_table(ident)
    tbl.append(batch([8, 9, 10], ["a", "d", "d"], 4))
    tbl = cat.load_table(ident)
    snaps = tbl.metadata.snapshots
    tbl.manage_snapshots().create_branch(snaps[1].snapshot_id, "audit").create_tag(snaps[2].snapshot_id, "v1").commit()
    tbl = cat.load_table(ident)
    print(json.dumps({"kinds": dump_kinds(tbl, ALL_KINDS)[0]}))


def small(args) -> None:
    cat = catalog(args.uri)
    cat.create_namespace_if_not_exists(args.namespace)
    ident = f"{args.namespace}.{args.table}"
    tbl = cat.create_table(ident, schema=iceberg_schema())
    for i in range(args.appends):
        tbl.append(batch([i], ["x"], 1))
    print(json.dumps({"snapshots": len(cat.load_table(ident).metadata.snapshots)}))


ALL_KINDS = ["snapshots", "history", "refs", "metadata-log", "manifests", "files", "data-files", "delete-files", "entries", "partitions"]


def dump_kinds(tbl, kinds):
    ins = tbl.inspect
    calls = {
        "snapshots": ins.snapshots,
        "history": ins.history,
        "refs": ins.refs,
        "metadata-log": ins.metadata_log_entries,
        "manifests": ins.manifests,
        "files": ins.files,
        "data-files": ins.data_files,
        "delete-files": ins.delete_files,
        "entries": ins.entries,
        "partitions": ins.partitions,
    }
    out, seconds = {}, {}
    for k in kinds:
        started = time.perf_counter()
        t = calls[k]()
        seconds[k] = time.perf_counter() - started
        out[k] = rows(t) if len(kinds) > 2 else t.num_rows
    return out, seconds


def dump(args) -> None:
    tbl = catalog(args.uri).load_table(f"{args.namespace}.{args.table}")
    out, seconds = dump_kinds(tbl, args.kinds.split(","))
    print(json.dumps({"kinds": out, "seconds": seconds}))


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("command", choices=["build", "small", "dump"])
    p.add_argument("--uri", required=True)
    p.add_argument("--namespace", required=True)
    p.add_argument("--table", required=True)
    p.add_argument("--appends", type=int, default=20)
    p.add_argument("--kinds", default=",".join(ALL_KINDS))
    args = p.parse_args()
    {"build": build, "small": small, "dump": dump}[args.command](args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
