"""Real-client side of Floe's interop tests (pyiceberg 0.12 and DuckDB 1.5.5).

The Rust tests call this script with the interop venv's python (FLOE_VENV). Subcommands:

  compare  --metadata M --expected F.arrows [--filter EXPR] [--snapshot-id N]
           Read the table at metadata file M with pyiceberg (StaticTable) and with DuckDB's
           iceberg_scan, optionally filtered, and compare both with the rows Floe read
           (an Arrow IPC stream file). Prints a JSON report; exits 1 on any mismatch.
  plan     --metadata M [--filter EXPR]
           Print (JSON) the data files pyiceberg's own planner selects for the filter.
  make-table --warehouse DIR --name NAME [--format-version 2] [--partitioned]
           Create a table with pyiceberg's SqlCatalog under DIR, append three batches, then
           overwrite and delete some rows. Prints JSON with the metadata location and writes
           pyiceberg's own scan of the final state to DIR/NAME.expected.arrows.
  inspect  --metadata M
           Print (JSON) pyiceberg's view of snapshots, summaries, files (partition, sort order id)
           and the default sort order.
  snapshot-rows --metadata M --column C
           Print (JSON) the sorted values of column C that pyiceberg reads at every snapshot
           of the table: {"snapshots": {"<id>": [...]}}.

EXPR is pyiceberg's string filter syntax (also valid as a DuckDB WHERE clause for the
comparisons used in the tests, e.g. "id > 5 and name = 'x'").
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile

import pyarrow as pa
import pyarrow.ipc as ipc


def load_static(metadata: str):
    from pyiceberg.table import StaticTable

    return StaticTable.from_metadata(metadata)


def canonical(table: pa.Table) -> pa.Table:
    """Sort rows by every sortable column so that order does not matter."""
    keys = [
        (name, "ascending")
        for name, field in zip(table.column_names, table.schema)
        if not (pa.types.is_nested(field.type))
    ]
    return table.sort_by(keys) if keys else table


def normalize_types(table: pa.Table) -> pa.Table:
    """Bring equivalent Arrow encodings together (large vs regular strings, tz names)."""
    fields = []
    cols = []
    for name, col in zip(table.column_names, table.columns):
        t = col.type
        if pa.types.is_large_string(t) or pa.types.is_string_view(t):
            col = col.cast(pa.string())
        elif pa.types.is_large_binary(t) or pa.types.is_binary_view(t):
            col = col.cast(pa.binary())
        elif pa.types.is_timestamp(t) and t.tz is not None:
            col = col.cast(pa.timestamp(t.unit, tz="UTC"))
        fields.append(pa.field(name, col.type))
        cols.append(col)
    return pa.Table.from_arrays(cols, schema=pa.schema(fields))


def duckdb_read(metadata: str, where: str | None, columns: list[str]) -> pa.Table:
    import duckdb
    from duckdb_extensions import import_extension

    ext_dir = os.path.join(tempfile.gettempdir(), "floe-duckdb-ext")
    con = duckdb.connect(config={"extension_directory": ext_dir, "autoinstall_known_extensions": False})
    for ext in ("avro", "iceberg"):
        import_extension(ext, con=con)
    con.sql("LOAD avro; LOAD iceberg")
    cols = ", ".join(f'"{c}"' for c in columns)
    sql = f"SELECT {cols} FROM iceberg_scan('{metadata}')"
    if where:
        sql += f" WHERE {where}"
    return con.sql(sql).to_arrow_table()


def cmd_compare(args) -> int:
    with open(args.expected, "rb") as f:
        expected = ipc.open_stream(f).read_all()
    tbl = load_static(args.metadata)
    scan_kwargs = {}
    if args.filter:
        scan_kwargs["row_filter"] = args.filter
    if args.snapshot_id is not None:
        scan_kwargs["snapshot_id"] = args.snapshot_id
    report = {"expected_rows": expected.num_rows}
    ok = True
    exp = canonical(normalize_types(expected))
    if not args.no_pyiceberg:
        py = tbl.scan(**scan_kwargs).to_arrow().select(expected.column_names)
        py_n = canonical(normalize_types(py))
        report["pyiceberg_rows"] = py.num_rows
        report["pyiceberg_equal"] = py_n.equals(exp)
        ok &= report["pyiceberg_equal"]
        if not report["pyiceberg_equal"]:
            report["pyiceberg_first_rows"] = py_n.slice(0, 5).to_pylist()
            report["expected_first_rows"] = exp.slice(0, 5).to_pylist()
    if args.snapshot_id is None and not args.no_duckdb:
        dk = duckdb_read(args.metadata, args.filter, expected.column_names)
        dk_n = canonical(normalize_types(dk))
        report["duckdb_rows"] = dk.num_rows
        # DuckDB may widen types (e.g. decimals); compare through Python values.
        report["duckdb_equal"] = dk_n.to_pylist() == exp.to_pylist()
        ok &= report["duckdb_equal"]
        if not report["duckdb_equal"]:
            report["duckdb_first_rows"] = dk_n.slice(0, 5).to_pylist()
    print(json.dumps(report, default=str))
    return 0 if ok else 1


def cmd_plan(args) -> int:
    tbl = load_static(args.metadata)
    scan = tbl.scan(row_filter=args.filter) if args.filter else tbl.scan()
    files = sorted(t.file.file_path for t in scan.plan_files())
    print(json.dumps({"files": files}))
    return 0


def cmd_inspect(args) -> int:
    tbl = load_static(args.metadata)
    out = {
        "snapshots": [
            {
                "snapshot_id": s.snapshot_id,
                "parent_id": s.parent_snapshot_id,
                "sequence_number": s.sequence_number,
                "summary": s.summary.model_dump() if s.summary else None,
            }
            for s in tbl.metadata.snapshots
        ],
        "files": tbl.inspect.files().select(["file_path", "record_count", "partition", "sort_order_id"]).to_pylist(),
        "sort_order": json.loads(tbl.sort_order().model_dump_json(by_alias=True)),
    }
    print(json.dumps(out, default=str))
    return 0


def sample_batch(start: int, n: int) -> pa.Table:
    import datetime as dt
    from decimal import Decimal

    base = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    return pa.table(
        {
            "id": pa.array(range(start, start + n), pa.int64()),
            "name": pa.array([f"user-{i % 7}" for i in range(start, start + n)], pa.string()),
            "category": pa.array(["abcdef"[i % 6] * 3 for i in range(start, start + n)], pa.string()),
            "ts": pa.array([base + dt.timedelta(hours=5 * i) for i in range(start, start + n)], pa.timestamp("us", tz="UTC")),
            "amount": pa.array([Decimal(i) / 4 for i in range(start, start + n)], pa.decimal128(10, 2)),
            "score": pa.array([float(i) * 1.5 if i % 5 else None for i in range(start, start + n)], pa.float64()),
        }
    )


def cmd_make_table(args) -> int:
    from pyiceberg.catalog.sql import SqlCatalog
    from pyiceberg.partitioning import PartitionField, PartitionSpec
    from pyiceberg.schema import Schema
    from pyiceberg.transforms import BucketTransform, DayTransform, HourTransform, IdentityTransform, TruncateTransform
    from pyiceberg.types import DecimalType, DoubleType, LongType, NestedField, StringType, TimestamptzType

    os.makedirs(args.warehouse, exist_ok=True)
    catalog = SqlCatalog(
        "interop",
        uri=f"sqlite:///{args.warehouse}/pyiceberg-catalog.db",
        warehouse=f"file://{args.warehouse}",
    )
    try:
        catalog.create_namespace("db")
    except Exception:
        pass
    schema = Schema(
        NestedField(1, "id", LongType(), required=False),
        NestedField(2, "name", StringType(), required=False),
        NestedField(3, "category", StringType(), required=False),
        NestedField(4, "ts", TimestamptzType(), required=False),
        NestedField(5, "amount", DecimalType(10, 2), required=False),
        NestedField(6, "score", DoubleType(), required=False),
    )
    spec = PartitionSpec()
    if args.partitioned:
        spec = PartitionSpec(
            PartitionField(source_id=3, field_id=1000, transform=IdentityTransform(), name="category"),
            PartitionField(source_id=1, field_id=1001, transform=BucketTransform(4), name="id_bucket"),
            PartitionField(source_id=2, field_id=1002, transform=TruncateTransform(4), name="name_trunc"),
            PartitionField(source_id=4, field_id=1003, transform=DayTransform(), name="ts_day"),
        )
    tbl = catalog.create_table(
        f"db.{args.name}", schema=schema, partition_spec=spec,
        properties={"format-version": str(args.format_version)},
    )
    for k in range(3):
        tbl.append(sample_batch(k * 20, 20))
    tbl.overwrite(sample_batch(1000, 5), overwrite_filter="category = 'aaa'")
    tbl.delete(delete_filter="id < 5")
    if args.evolve:
        # Schema and partition evolution the pyiceberg way, then more data under both.
        with tbl.update_schema() as u:
            u.add_column("country", StringType())
            u.rename_column("name", "full_name")
        with tbl.update_spec() as s:
            if args.partitioned:
                s.remove_field("name_trunc")
            else:
                s.add_field("id", BucketTransform(8), "id_b8")
        more = sample_batch(5000, 12).rename_columns(["id", "full_name", "category", "ts", "amount", "score"])
        more = more.append_column("country", pa.array(["fr", "de", None] * 4, pa.string()))
        tbl.append(more)
    tbl = catalog.load_table(f"db.{args.name}")
    expected = tbl.scan().to_arrow()
    out = os.path.join(args.warehouse, f"{args.name}.expected.arrows")
    with pa.OSFile(out, "wb") as f:
        with ipc.new_stream(f, expected.schema) as w:
            w.write_table(expected)
    print(json.dumps({"metadata": tbl.metadata_location, "expected": out, "rows": expected.num_rows}))
    return 0


def cmd_snapshot_rows(args) -> int:
    tbl = load_static(args.metadata)
    out = {}
    for s in tbl.metadata.snapshots:
        values = tbl.scan(snapshot_id=s.snapshot_id, selected_fields=(args.column,)).to_arrow()
        out[str(s.snapshot_id)] = sorted(values.column(args.column).to_pylist())
    print(json.dumps({"snapshots": out}))
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("compare")
    c.add_argument("--metadata", required=True)
    c.add_argument("--expected", required=True)
    c.add_argument("--filter")
    c.add_argument("--snapshot-id", type=int)
    c.add_argument("--no-duckdb", action="store_true")
    c.add_argument("--no-pyiceberg", action="store_true", help="pyiceberg 0.12 cannot read equality deletes")
    p = sub.add_parser("plan")
    p.add_argument("--metadata", required=True)
    p.add_argument("--filter")
    m = sub.add_parser("make-table")
    m.add_argument("--warehouse", required=True)
    m.add_argument("--name", required=True)
    m.add_argument("--format-version", type=int, default=2)
    m.add_argument("--partitioned", action="store_true")
    m.add_argument("--evolve", action="store_true", help="evolve schema and spec, then append more")
    i = sub.add_parser("inspect")
    i.add_argument("--metadata", required=True)
    r = sub.add_parser("snapshot-rows")
    r.add_argument("--metadata", required=True)
    r.add_argument("--column", required=True)
    args = ap.parse_args()
    return {"compare": cmd_compare, "plan": cmd_plan, "inspect": cmd_inspect, "make-table": cmd_make_table,
            "snapshot-rows": cmd_snapshot_rows}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
