#!/usr/bin/env python3
"""Write a large, valid Iceberg v2 table metadata JSON file for parse benchmarks.

    python3 table-format/benches/data/gen_big_metadata.py [OUT] [--check]

OUT defaults to /tmp/floe-big-metadata.json. Standard library only; the output is
byte-for-byte reproducible (fixed seed, fixed clock). ``--check`` additionally parses
the file with pyiceberg (run it with the interop venv's python:
``$(scripts/interop-venv.sh | tail -1)/bin/python``).

Contents (about 7 MB, compact JSON like pyiceberg writes):
  * 10,000 snapshots in one linear chain (appends, overwrites, deletes) with
    pyiceberg-style summaries whose running totals add up, manifest-list paths, schema-id;
  * 50 schemas: a ~20-column schema with nested struct/list/map, each later version
    adding one column;
  * 4 partition specs, 2 sort orders, refs (main + branches + tags with retention);
  * snapshot-log with 10,000 entries, metadata-log with 100 entries, properties.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import uuid
from typing import Any

SEED = 20240611
N_SNAPSHOTS = 10_000
N_SCHEMAS = 50
N_METADATA_LOG = 100
LOCATION = "s3://floe-bench-warehouse/analytics/events_big"
START_MS = 1_700_000_000_000


def make_uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def base_fields() -> tuple[list[dict[str, Any]], int]:
    """~20 top-level columns, nested struct/list/map; returns (fields, last_column_id)."""
    prim = [
        ("id", "long", True),
        ("event_time", "timestamptz", True),
        ("event_date", "date", False),
        ("category", "string", False),
        ("name", "string", False),
        ("user_id", "long", False),
        ("session_id", "uuid", False),
        ("amount", "decimal(18, 4)", False),
        ("quantity", "int", False),
        ("score", "double", False),
        ("ratio", "float", False),
        ("is_test", "boolean", False),
        ("local_time", "time", False),
        ("ingested_at", "timestamp", False),
        ("payload", "binary", False),
        ("checksum", "fixed[16]", False),
        ("country", "string", False),
    ]
    fields: list[dict[str, Any]] = []
    fid = 0
    for name, typ, req in prim:
        fid += 1
        fields.append({"id": fid, "name": name, "type": typ, "required": req})
    # nested: struct, list, map (ids after top-level ids, as Iceberg assigns them)
    s_id, l_id, m_id = fid + 1, fid + 2, fid + 3
    nxt = fid + 4
    device = {
        "id": s_id,
        "name": "device",
        "type": {
            "type": "struct",
            "fields": [
                {"id": nxt, "name": "os", "type": "string", "required": False},
                {"id": nxt + 1, "name": "version", "type": "string", "required": False},
                {"id": nxt + 2, "name": "screen", "type": {"type": "struct", "fields": [
                    {"id": nxt + 5, "name": "w", "type": "int", "required": False},
                    {"id": nxt + 6, "name": "h", "type": "int", "required": False},
                ]}, "required": False},
            ],
        },
        "required": False,
    }
    tags = {
        "id": l_id,
        "name": "tags",
        "type": {"type": "list", "element-id": nxt + 3, "element": "string", "element-required": False},
        "required": False,
    }
    attrs = {
        "id": m_id,
        "name": "attributes",
        "type": {
            "type": "map",
            "key-id": nxt + 4,
            "key": "string",
            "value-id": nxt + 7,
            "value": {"type": "list", "element-id": nxt + 8, "element": "double", "element-required": False},
            "value-required": False,
        },
        "required": False,
        "doc": "free-form attributes",
    }
    fields += [device, tags, attrs]
    return fields, nxt + 8


ADDED_TYPES = ["string", "long", "double", "date", "timestamptz", "decimal(38, 10)", "boolean", "int", "binary", "uuid"]


def schemas() -> tuple[list[dict[str, Any]], int]:
    fields, last_id = base_fields()
    out = []
    for sid in range(N_SCHEMAS):
        if sid > 0:
            last_id += 1
            if sid % 10 == 5:  # every tenth addition is a nested struct
                col = {
                    "id": last_id,
                    "name": f"added_struct_{sid}",
                    "type": {"type": "struct", "fields": [
                        {"id": last_id + 1, "name": "a", "type": "long", "required": False},
                        {"id": last_id + 2, "name": "b", "type": "string", "required": False},
                    ]},
                    "required": False,
                }
                last_id += 2
            else:
                col = {"id": last_id, "name": f"added_col_{sid}", "type": ADDED_TYPES[sid % len(ADDED_TYPES)], "required": False}
                if sid % 7 == 0:
                    col["doc"] = f"column added in schema {sid}"
            fields = fields + [col]
        out.append({"type": "struct", "fields": fields, "schema-id": sid, "identifier-field-ids": [1]})
    return out, last_id


def partition_specs() -> tuple[list[dict[str, Any]], int]:
    specs = [
        {"spec-id": 0, "fields": [{"source-id": 2, "field-id": 1000, "transform": "day", "name": "event_time_day"}]},
        {"spec-id": 1, "fields": [
            {"source-id": 2, "field-id": 1000, "transform": "day", "name": "event_time_day"},
            {"source-id": 1, "field-id": 1001, "transform": "bucket[16]", "name": "id_bucket"},
        ]},
        {"spec-id": 2, "fields": [
            {"source-id": 1, "field-id": 1001, "transform": "bucket[16]", "name": "id_bucket"},
            {"source-id": 4, "field-id": 1002, "transform": "identity", "name": "category"},
        ]},
        {"spec-id": 3, "fields": [
            {"source-id": 2, "field-id": 1003, "transform": "hour", "name": "event_time_hour"},
            {"source-id": 5, "field-id": 1004, "transform": "truncate[10]", "name": "name_trunc"},
            {"source-id": 17, "field-id": 1005, "transform": "identity", "name": "country"},
        ]},
    ]
    return specs, 1005


def build() -> dict[str, Any]:
    rng = random.Random(SEED)
    table_uuid = make_uuid(rng)
    schema_list, last_column_id = schemas()
    specs, last_partition_id = partition_specs()

    snapshots: list[dict[str, Any]] = []
    snapshot_log: list[dict[str, Any]] = []
    used_ids: set[int] = set()
    ts = START_MS
    parent: int | None = None
    total_records = total_files = total_size = 0
    total_delete_files = total_pos_deletes = total_eq_deletes = 0
    per_schema = N_SNAPSHOTS // N_SCHEMAS
    for i in range(N_SNAPSHOTS):
        snap_id = rng.getrandbits(63)
        while snap_id in used_ids or snap_id == 0:
            snap_id = rng.getrandbits(63)
        used_ids.add(snap_id)
        ts += rng.randint(30_000, 900_000)
        r = rng.random()
        if i == 0 or r < 0.80 or total_files < 4:
            op = "append"
        elif r < 0.92:
            op = "overwrite"
        else:
            op = "delete"
        summary: dict[str, str] = {"operation": op}
        if op in ("append", "overwrite"):
            added_files = rng.randint(1, 12)
            added_records = added_files * rng.randint(1_000, 250_000)
            added_size = added_records * rng.randint(20, 60)
            summary["added-files-size"] = str(added_size)
            summary["added-data-files"] = str(added_files)
            summary["added-records"] = str(added_records)
        if op in ("overwrite", "delete"):
            removed_files = rng.randint(1, min(6, total_files - 1))
            removed_records = min(total_records - 1, removed_files * rng.randint(1_000, 200_000))
            removed_size = min(total_size - 1, removed_records * rng.randint(20, 60))
            summary["removed-files-size"] = str(removed_size)
            summary["deleted-data-files"] = str(removed_files)
            summary["deleted-records"] = str(removed_records)
        else:
            removed_files = removed_records = removed_size = 0
        if op in ("append", "overwrite"):
            added_files_n, added_records_n, added_size_n = int(summary["added-data-files"]), int(summary["added-records"]), int(summary["added-files-size"])
        else:
            added_files_n = added_records_n = added_size_n = 0
        summary["changed-partition-count"] = str(rng.randint(1, max(1, added_files_n + removed_files)))
        total_files += added_files_n - removed_files
        total_records += added_records_n - removed_records
        total_size += added_size_n - removed_size
        summary["total-data-files"] = str(total_files)
        summary["total-delete-files"] = str(total_delete_files)
        summary["total-records"] = str(total_records)
        summary["total-files-size"] = str(total_size)
        summary["total-position-deletes"] = str(total_pos_deletes)
        summary["total-equality-deletes"] = str(total_eq_deletes)
        if i % 500 == 0:
            summary["engine-name"] = "floe-bench"
            summary["engine-version"] = "0.1.0"
        snap: dict[str, Any] = {"snapshot-id": snap_id}
        if parent is not None:
            snap["parent-snapshot-id"] = parent
        snap["sequence-number"] = i + 1
        snap["timestamp-ms"] = ts
        snap["manifest-list"] = f"{LOCATION}/metadata/snap-{snap_id}-1-{make_uuid(rng)}.avro"
        snap["summary"] = summary
        snap["schema-id"] = min(i // per_schema, N_SCHEMAS - 1)
        snapshots.append(snap)
        snapshot_log.append({"snapshot-id": snap_id, "timestamp-ms": ts})
        parent = snap_id
    last_updated = ts + 1_000

    metadata_log = []
    step = (last_updated - START_MS) // (N_METADATA_LOG + 1)
    for n in range(N_METADATA_LOG):
        version = (N_SNAPSHOTS + 60) - N_METADATA_LOG + n
        metadata_log.append(
            {
                "metadata-file": f"{LOCATION}/metadata/{version:05d}-{make_uuid(rng)}.metadata.json",
                "timestamp-ms": START_MS + step * (n + 1),
            }
        )

    def snap_at(k: int) -> int:
        return snapshots[k]["snapshot-id"]

    refs = {
        "main": {"snapshot-id": snap_at(-1), "type": "branch"},
        "dev": {"snapshot-id": snap_at(-20), "type": "branch", "max-ref-age-ms": 604_800_000, "max-snapshot-age-ms": 86_400_000, "min-snapshots-to-keep": 10},
        "audit": {"snapshot-id": snap_at(-5), "type": "branch", "min-snapshots-to-keep": 3},
        "v1.0": {"snapshot-id": snap_at(N_SNAPSHOTS // 10), "type": "tag"},
        "v2.0": {"snapshot-id": snap_at(N_SNAPSHOTS // 2), "type": "tag", "max-ref-age-ms": 31_536_000_000},
        "release-2024-06": {"snapshot-id": snap_at(N_SNAPSHOTS * 9 // 10), "type": "tag", "max-ref-age-ms": 7_776_000_000},
    }

    properties = {
        "owner": "floe-bench",
        "write.format.default": "parquet",
        "write.parquet.compression-codec": "zstd",
        "write.metadata.delete-after-commit.enabled": "true",
        "write.metadata.previous-versions-max": str(N_METADATA_LOG),
        "commit.retry.num-retries": "4",
        "history.expire.max-snapshot-age-ms": "432000000",
        "history.expire.min-snapshots-to-keep": "100",
        "write.target-file-size-bytes": "536870912",
        "comment": "synthetic table for metadata parse benchmarks",
    }

    # Key order as pyiceberg 0.12 writes v2 metadata.
    return {
        "location": LOCATION,
        "table-uuid": table_uuid,
        "last-updated-ms": last_updated,
        "last-column-id": last_column_id,
        "schemas": schema_list,
        "current-schema-id": N_SCHEMAS - 1,
        "partition-specs": specs,
        "default-spec-id": specs[-1]["spec-id"],
        "last-partition-id": last_partition_id,
        "properties": properties,
        "current-snapshot-id": snap_at(-1),
        "snapshots": snapshots,
        "snapshot-log": snapshot_log,
        "metadata-log": metadata_log,
        "sort-orders": [
            {"order-id": 0, "fields": []},
            {"order-id": 1, "fields": [
                {"source-id": 2, "transform": "identity", "direction": "asc", "null-order": "nulls-first"},
                {"source-id": 1, "transform": "bucket[16]", "direction": "desc", "null-order": "nulls-last"},
            ]},
        ],
        "default-sort-order-id": 1,
        "refs": refs,
        "statistics": [],
        "partition-statistics": [],
        "format-version": 2,
        "last-sequence-number": N_SNAPSHOTS,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", nargs="?", default="/tmp/floe-big-metadata.json")
    ap.add_argument("--snapshots", type=int, default=None, help="number of snapshots (default 10,000)")
    ap.add_argument("--check", action="store_true", help="parse the result with pyiceberg's TableMetadataUtil")
    args = ap.parse_args()
    if args.snapshots is not None:
        global N_SNAPSHOTS
        N_SNAPSHOTS = max(args.snapshots, N_SCHEMAS)
    data = json.dumps(build(), separators=(",", ":")).encode("utf-8")
    with open(args.out, "wb") as f:
        f.write(data)
    print(f"wrote {args.out}: {len(data)} bytes", file=sys.stderr)
    if args.check:
        from pyiceberg.table.metadata import TableMetadataUtil

        md = TableMetadataUtil.parse_raw(data)
        assert md.format_version == 2
        assert len(md.snapshots) == N_SNAPSHOTS and len(md.snapshot_log) == N_SNAPSHOTS
        assert len(md.schemas) == N_SCHEMAS and len(md.metadata_log) == N_METADATA_LOG
        assert md.current_snapshot_id == md.snapshots[-1].snapshot_id
        print(f"pyiceberg parsed it: {len(md.snapshots)} snapshots, {len(md.schemas)} schemas, {len(md.refs)} refs", file=sys.stderr)
    print(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
