#!/usr/bin/env python3
"""Regenerate Floe's Avro golden files: manifests and manifest lists written by real clients.

Run from the repository root:

    V=$(scripts/interop-venv.sh | tail -1)
    $V/bin/python table-format/testdata/avro/generate.py

What it does
------------
Drives pyiceberg 0.12's own ``SqlCatalog`` (SQLite, ``file://`` warehouse in a scratch
directory that is removed afterwards) through a few scenarios, then copies every manifest
list and manifest the table's snapshots reference into ``<scenario>/`` next to this file:

``<scenario>/metadata.json``
    The table's final metadata (schemas and partition specs the manifests were written with).
``<scenario>/index.json``
    One item per snapshot, oldest first: snapshot id, sequence number, the manifest list's
    file name and the file names of the manifests it lists.
``<scenario>/*.avro``
    Byte-for-byte copies (manifest lists ``snap-*.avro``, manifests ``*-m<N>.avro``).
``<scenario>/*.avro.json``
    A dump of each file made with fastavro, without logical-type conversion: the file's
    key/value metadata (all but ``avro.schema``, the writer schema), codec and records. ``bytes``/``fixed`` values are
    lower-case hex; ints stay ints (dates are days, timestamps microseconds).

Scenarios
---------
``v1_partitioned``, ``v2_partitioned``
    Format versions 1 and 2, partitioned by identity/bucket/truncate/day/hour over
    int/long/string/date/timestamp/decimal columns; appends, an overwrite and a delete,
    with manifest merging on so that merged manifests carry EXISTING and DELETED entries.
    v1 uses zstandard for its Avro files, v2 the default (deflate).
``v2_unpartitioned``
    Format version 2, no partition spec, null codec; NaN and null values in the metrics.
``other_writers``
    Files no pyiceberg table writes, made with fastavro from the v2 goldens: a manifest in
    another field order, with unknown extra fields (as another writer might add), deprecated
    v1 fields, optional fields as ``[T, "null"]``, a decimal partition field as ``bytes`` and a
    string-keyed Avro map for ``value_counts``; and a v3
    manifest plus manifest list in Java's V3Metadata layout (``first_row_id``, null
    first-row ids left for inheritance, deletion-vector fields).

Snapshot ids, UUIDs, timestamps and file sizes change from run to run; the structure does not.
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import decimal
import io
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import fastavro
from fastavro import _read_py, _write_py
import pyarrow as pa
import pyiceberg
from pyiceberg.catalog.sql import SqlCatalog
from pyiceberg.expressions import EqualTo, GreaterThanOrEqual
from pyiceberg.partitioning import PartitionField, PartitionSpec
from pyiceberg.schema import Schema
from pyiceberg.transforms import BucketTransform, DayTransform, HourTransform, IdentityTransform, TruncateTransform
from pyiceberg.types import (
    DateType,
    DecimalType,
    DoubleType,
    IntegerType,
    LongType,
    NestedField,
    StringType,
    TimestampType,
)

OUT_DIR = Path(__file__).resolve().parent
NAMESPACE = "golden"


def register_zstandard() -> None:
    """fastavro's zstandard codec wants backports.zstd; give its pure-Python reader and writer
    (used for every file here) the zstandard module pyiceberg itself uses."""
    import zstandard

    def read_block(decoder: Any) -> io.BytesIO:
        return io.BytesIO(zstandard.ZstdDecompressor().decompressobj().decompress(decoder.read_bytes()))

    def write_block(encoder: Any, block_bytes: bytes, compression_level: Any) -> None:
        data = zstandard.ZstdCompressor().compress(block_bytes)
        encoder.write_long(len(data))
        encoder._fo.write(data)

    _read_py.BLOCK_READERS["zstandard"] = read_block
    _write_py.BLOCK_WRITERS["zstandard"] = write_block
    # Raw Avro values in the dumps: no date/datetime/Decimal/UUID conversion.
    _read_py.LOGICAL_READERS.clear()


# ---------------------------------------------------------------------------------------------
# Dumps
# ---------------------------------------------------------------------------------------------


def jsonable(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray)):
        return value.hex()
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, float) and value != value:
        return "NaN"
    return value


def dump(path: Path) -> None:
    with open(path, "rb") as f:
        reader = _read_py.reader(f)
        meta = {k: (v.decode("utf-8") if isinstance(v, bytes) else v) for k, v in reader.metadata.items()}
        records = [jsonable(r) for r in reader]
    # The writer schema stays in the .avro file; the dump keeps the other metadata keys.
    out = {"metadata": {k: v for k, v in meta.items() if k != "avro.schema"}, "codec": meta.get("avro.codec", "null"), "records": records}
    text = json.dumps(out, sort_keys=True, separators=(",", ":")).replace(',"records":[', ',"records":[\n')
    path.with_name(path.name + ".json").write_text(text.replace('},{"data_file"', '},\n{"data_file"') + "\n")


def local_path(location: str) -> Path:
    return Path(location.removeprefix("file://"))


def export(table: Any, name: str) -> None:
    out = OUT_DIR / name
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    table = table.refresh()
    md = table.metadata
    index = []
    for snap in sorted(md.snapshots, key=lambda s: s.sequence_number or s.timestamp_ms):
        ml = local_path(snap.manifest_list)
        shutil.copyfile(ml, out / ml.name)
        manifests = []
        for m in snap.manifests(table.io):
            mp = local_path(m.manifest_path)
            if not (out / mp.name).exists():
                shutil.copyfile(mp, out / mp.name)
            manifests.append(mp.name)
        index.append(
            {
                "snapshot_id": snap.snapshot_id,
                "sequence_number": snap.sequence_number,
                "operation": snap.summary.operation.value if snap.summary else None,
                "manifest_list": ml.name,
                "manifests": manifests,
            }
        )
    shutil.copyfile(local_path(table.metadata_location), out / "metadata.json")
    (out / "index.json").write_text(json.dumps({"format_version": md.format_version, "snapshots": index}, indent=1) + "\n")
    for p in sorted(out.glob("*.avro")):
        dump(p)


# ---------------------------------------------------------------------------------------------
# Scenarios
# ---------------------------------------------------------------------------------------------

PARTITIONED_SCHEMA = Schema(
    NestedField(1, "id", LongType(), required=False),
    NestedField(2, "i", IntegerType(), required=False),
    NestedField(3, "s", StringType(), required=False),
    NestedField(4, "d", DateType(), required=False),
    NestedField(5, "ts", TimestampType(), required=False),
    NestedField(6, "dec", DecimalType(10, 2), required=False),
    NestedField(7, "x", DoubleType(), required=False),
)

PARTITIONED_SPEC = PartitionSpec(
    PartitionField(source_id=2, field_id=1000, transform=IdentityTransform(), name="i"),
    PartitionField(source_id=1, field_id=1001, transform=BucketTransform(4), name="id_bucket"),
    PartitionField(source_id=3, field_id=1002, transform=TruncateTransform(2), name="s_trunc"),
    PartitionField(source_id=4, field_id=1003, transform=DayTransform(), name="d_day"),
    PartitionField(source_id=5, field_id=1004, transform=HourTransform(), name="ts_hour"),
    PartitionField(source_id=6, field_id=1005, transform=IdentityTransform(), name="dec"),
)


def rows(start: int, n: int, *, nulls: bool = False) -> pa.Table:
    schema = pa.schema(
        [
            ("id", pa.int64()),
            ("i", pa.int32()),
            ("s", pa.string()),
            ("d", pa.date32()),
            ("ts", pa.timestamp("us")),
            ("dec", pa.decimal128(10, 2)),
            ("x", pa.float64()),
        ]
    )
    ids = list(range(start, start + n))
    data = {
        "id": ids,
        "i": [k % 2 for k in ids],
        "s": [f"s{k % 3}-val" for k in ids],
        "d": [dt.date(2024, 1, 1) + dt.timedelta(days=k % 2) for k in ids],
        "ts": [dt.datetime(2024, 1, 1, 10) + dt.timedelta(hours=k % 2) for k in ids],
        "dec": [decimal.Decimal(f"{(k % 2) * 123}.45") for k in ids],
        "x": [float("nan") if k % 4 == 3 else k * 1.5 for k in ids],
    }
    if nulls:
        data["i"] = [None if k % 2 == 0 else k % 2 for k in ids]
        data["s"] = [None] * n
    return pa.table(data, schema=schema)


def partitioned(catalog: SqlCatalog, name: str, fv: int, codec: str) -> None:
    table = catalog.create_table(
        f"{NAMESPACE}.{name}",
        schema=PARTITIONED_SCHEMA,
        partition_spec=PARTITIONED_SPEC,
        properties={
            "format-version": str(fv),
            "write.avro.compression-codec": codec,
            "commit.manifest-merge.enabled": "true",
            "commit.manifest.min-count-to-merge": "2",
        },
    )
    table.append(rows(0, 4))
    table.append(rows(10, 2, nulls=True))
    table.overwrite(rows(20, 2), overwrite_filter=EqualTo("i", 1))
    table.delete(delete_filter=GreaterThanOrEqual("id", 21))
    table.append(rows(30, 3))
    export(table, name)


def unpartitioned(catalog: SqlCatalog, name: str, fv: int) -> None:
    table = catalog.create_table(
        f"{NAMESPACE}.{name}",
        schema=PARTITIONED_SCHEMA,
        properties={"format-version": str(fv), "write.avro.compression-codec": "null"},
    )
    table.append(rows(0, 4, nulls=True))
    table.append(rows(5, 2))
    table.delete(delete_filter=EqualTo("id", 5))
    export(table, name)


# ---------------------------------------------------------------------------------------------
# Files from other writers, made with fastavro
# ---------------------------------------------------------------------------------------------


def write_avro(path: Path, schema: dict, records: list, metadata: dict, codec: str) -> None:
    buf = io.BytesIO()
    _write_py.writer(buf, fastavro.parse_schema(schema), records, codec=codec, metadata=metadata, sync_interval=600)
    path.write_bytes(buf.getvalue())
    dump(path)


def read_raw(path: Path) -> tuple[dict, dict, list]:
    with open(path, "rb") as f:
        reader = _read_py.reader(f)
        meta = {k: (v.decode("utf-8") if isinstance(v, bytes) else v) for k, v in reader.metadata.items()}
        schema = json.loads(meta["avro.schema"])
    with open(path, "rb") as f:
        records = list(_read_py.reader(f))
    return meta, schema, records


def opt(t: Any) -> list:
    return ["null", t]


def other_writers() -> None:
    out = OUT_DIR / "other_writers"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    src = OUT_DIR / "v2_partitioned"
    index = json.loads((src / "index.json").read_text())
    last = index["snapshots"][-1]
    # The biggest manifest of the last snapshot: most entries, all three statuses if any.
    manifest = max(last["manifests"], key=lambda m: (src / m).stat().st_size)
    meta, schema, records = read_raw(src / manifest)
    user_meta = {k: v for k, v in meta.items() if not k.startswith("avro.")}

    # 1. Another field order, and unknown fields at three levels.
    reordered = copy.deepcopy(schema)
    entry_fields = reordered["fields"]
    data_file = next(f for f in entry_fields if f["name"] == "data_file")
    df_fields = data_file["type"]["fields"]
    df_fields.reverse()
    df_fields.insert(
        3,
        {
            "name": "extra_stats",
            "field-id": 9001,
            "type": opt({"type": "array", "element-id": 9002, "items": {"type": "map", "values": "double", "key-id": 9003, "value-id": 9004}}),
            "default": None,
        },
    )
    df_fields.append(
        {
            "name": "extra_record",
            "field-id": 9005,
            "type": {
                "type": "record",
                "name": "r9005",
                "fields": [
                    {"name": "a", "field-id": 9006, "type": {"type": "fixed", "name": "f3", "size": 3}},
                    {"name": "b", "field-id": 9007, "type": {"type": "enum", "name": "e2", "symbols": ["X", "Y"]}},
                    {"name": "c", "field-id": 9008, "type": ["float", "boolean", "null"]},
                ],
            },
        }
    )
    entry_fields.reverse()
    entry_fields.insert(1, {"name": "extra_entry_field", "field-id": 9009, "type": "string"})
    partition = next(f for f in df_fields if f["name"] == "partition")
    partition["type"]["fields"].reverse()
    partition["type"]["fields"].insert(1, {"name": "dropped_partition_field", "field-id": 1999, "type": opt("long"), "default": None})
    # Decimals as bytes instead of fixed.
    for f in partition["type"]["fields"]:
        if isinstance(f["type"][1], dict) and f["type"][1].get("logicalType") == "decimal":
            f["type"][1] = {"type": "bytes", "logicalType": "decimal", "precision": 10, "scale": 2}
    # value_counts as a string-keyed Avro map.
    for f in df_fields:
        if f["name"] == "value_counts":
            f["type"] = opt({"type": "map", "values": "long", "key-id": 119, "value-id": 120})
    # Deprecated v1 fields another writer may still carry.
    df_fields.insert(5, {"name": "file_ordinal", "field-id": 106, "type": opt("long"), "default": None})
    df_fields.insert(6, {"name": "sort_columns", "field-id": 107, "type": opt({"type": "array", "items": "int", "element-id": 112}), "default": None})

    # Optional fields as [T, "null"] (the default must then be of type T, so none is given).
    def flip(fields: list) -> None:
        for f in fields:
            t = f["type"]
            if isinstance(t, list) and len(t) == 2 and t[0] == "null":
                f["type"] = [t[1], "null"]
                f.pop("default", None)
            inner = f["type"] if isinstance(f["type"], dict) else None
            if inner and inner.get("type") == "record":
                flip(inner["fields"])

    flip(entry_fields)
    rec2 = []
    for n, r in enumerate(records):
        r = copy.deepcopy(r)
        r["extra_entry_field"] = f"e{n}"
        r["data_file"]["extra_stats"] = None if n % 2 else [{"p": 0.5, "q": -1.0}, {}]
        r["data_file"]["extra_record"] = {"a": b"abc", "b": "Y", "c": 1.5 if n % 2 else None}
        r["data_file"]["partition"]["dropped_partition_field"] = n
        if r["data_file"]["value_counts"] is not None:
            r["data_file"]["value_counts"] = {str(kv["key"]): kv["value"] for kv in r["data_file"]["value_counts"]}
        r["data_file"]["file_ordinal"] = n if n % 2 else None
        r["data_file"]["sort_columns"] = [1, 2] if n % 2 else None
        rec2.append(r)
    write_avro(out / "reordered-extra-fields-m0.avro", reordered, rec2, user_meta, "zstandard")

    # 2. A v3 manifest in Java's V3Metadata layout, and a v3 manifest list pointing at it.
    v3 = copy.deepcopy(schema)
    df = next(f for f in v3["fields"] if f["name"] == "data_file")["type"]["fields"]
    for f in df:
        if f["name"] == "equality_ids":
            f["type"] = opt({"type": "array", "items": "int", "element-id": 136})
    df.extend(
        [
            {"name": "first_row_id", "field-id": 142, "type": opt("long"), "default": None},
            {"name": "referenced_data_file", "field-id": 143, "type": opt("string"), "default": None},
            {"name": "content_offset", "field-id": 144, "type": opt("long"), "default": None},
            {"name": "content_size_in_bytes", "field-id": 145, "type": opt("long"), "default": None},
        ]
    )
    v3_records = []
    for n, r in enumerate(records):
        r = copy.deepcopy(r)
        f = r["data_file"]
        # Every third file already has a first row id; the others inherit one.
        f["first_row_id"] = 1000 + n if n % 3 == 2 else None
        f["referenced_data_file"] = None
        f["content_offset"] = None
        f["content_size_in_bytes"] = None
        v3_records.append(r)
    v3_meta = dict(user_meta)
    v3_meta["format-version"] = "3"
    write_avro(out / "v3-m0.avro", v3, v3_records, v3_meta, "deflate")

    list_src = src / last["manifest_list"]
    lmeta, lschema, lrecords = read_raw(list_src)
    lschema = copy.deepcopy(lschema)
    lschema["fields"].append({"name": "first_row_id", "field-id": 520, "type": opt("long"), "default": None})
    listed = []
    for r in lrecords:
        if r["manifest_path"].endswith("/" + manifest):
            r = dict(r)
            r["manifest_path"] = "v3-m0.avro"
            r["manifest_length"] = (out / "v3-m0.avro").stat().st_size
            r["first_row_id"] = 5000
            listed.append(r)
    lmeta = {k: v for k, v in lmeta.items() if not k.startswith("avro.")}
    lmeta["format-version"] = "3"
    lmeta["first-row-id"] = "5000"
    write_avro(out / "snap-v3.avro", lschema, listed, lmeta, "deflate")
    shutil.copyfile(src / "metadata.json", out / "metadata.json")
    (out / "index.json").write_text(
        json.dumps(
            {
                "source": f"v2_partitioned/{manifest}",
                "reordered": "reordered-extra-fields-m0.avro",
                "v3_manifest": "v3-m0.avro",
                "v3_manifest_list": "snap-v3.avro",
            },
            indent=1,
        )
        + "\n"
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workdir", default=os.path.join(tempfile.gettempdir(), "floe-avro-golden"))
    args = ap.parse_args()
    register_zstandard()
    if not pyiceberg.__version__.startswith("0.12."):
        print(f"warning: generated with pyiceberg {pyiceberg.__version__}, goldens expect 0.12.x", file=sys.stderr)
    work = Path(args.workdir)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    catalog = SqlCatalog("floe_avro_golden", uri=f"sqlite:///{work}/catalog.db", warehouse=f"file://{work}/warehouse")
    catalog.create_namespace(NAMESPACE)
    partitioned(catalog, "v1_partitioned", 1, "zstd")
    partitioned(catalog, "v2_partitioned", 2, "gzip")
    unpartitioned(catalog, "v2_unpartitioned", 2)
    other_writers()
    shutil.rmtree(work)
    total = sum(p.stat().st_size for p in OUT_DIR.rglob("*") if p.is_file())
    print(f"golden files: {total / 1024:.0f} KiB in {OUT_DIR}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
