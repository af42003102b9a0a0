#!/usr/bin/env python3
"""Check manifests and manifest lists written by Floe with fastavro and pyiceberg.

Usage: check_written.py DIR

DIR holds the files and ``expected.json`` (written by the Rust test
``avro::tests::interop``). Checks:

fastavro (the files as written)
    record names (``manifest_entry``, ``r2``, ``r102``, ``k117_v118``..., ``manifest_file``,
    ``r508``), ``field-id`` on every field, ``element-id`` on arrays, int-keyed maps as arrays
    of ``k<key>_v<value>`` records with ``logicalType: map``, optional fields as
    ``["null", T]`` with a null default, the file metadata keys and values, codec deflate,
    and the entries as written (null snapshot ids and sequence numbers left to inheritance).
pyiceberg 0.12
    ``read_manifest_list`` and ``ManifestFile.fetch_manifest_entry`` return every manifest and
    entry with the expected values, after pyiceberg's own inheritance.

Prints "all checks passed" and exits 0, or raises.
"""

from __future__ import annotations

import decimal
import json
import math
import sys
import uuid
from pathlib import Path
from typing import Any

import fastavro
from pyiceberg.io.pyarrow import PyArrowFileIO
from pyiceberg.manifest import read_manifest_list


def fail(message: str) -> None:
    raise AssertionError(message)


def check(cond: bool, message: str) -> None:
    if not cond:
        fail(message)


def walk_schema(node: Any, names: list[str], where: str) -> None:
    """Check Iceberg's Avro conventions on a writer schema; collect record names."""
    if isinstance(node, list):
        for b in node:
            walk_schema(b, names, where)
        return
    if not isinstance(node, dict):
        return
    t = node.get("type")
    if t == "record":
        names.append(node["name"])
        for f in node["fields"]:
            check(isinstance(f.get("field-id"), int), f"{where}: field {f['name']} has no field-id")
            ft = f["type"]
            if isinstance(ft, list):
                check(len(ft) == 2 and ft[0] == "null", f"{where}: {f['name']} is not ['null', T]: {ft}")
                check("default" in f and f["default"] is None, f"{where}: {f['name']} has no null default")
            walk_schema(ft, names, f"{where}.{f['name']}")
    elif t == "array":
        if node.get("logicalType") == "map":
            items = node["items"]
            key, value = items["fields"]
            check(key["name"] == "key" and value["name"] == "value", f"{where}: map record fields")
            check(
                items["name"] == f"k{key['field-id']}_v{value['field-id']}",
                f"{where}: map record named {items['name']}",
            )
        else:
            check(isinstance(node.get("element-id"), int), f"{where}: array without element-id")
        walk_schema(node["items"], names, where)


def read_avro(path: str) -> tuple[dict, dict, list]:
    with open(path, "rb") as f:
        r = fastavro.reader(f)
        meta = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in r.metadata.items()}
        records = list(r)
    return meta, json.loads(meta["avro.schema"]), records


def same_value(got: Any, want: Any) -> bool:
    """Compare a pyiceberg partition value with its JSON expectation."""
    if want is None:
        return got is None
    if isinstance(want, dict):
        if "decimal" in want:
            return isinstance(got, decimal.Decimal) and got == decimal.Decimal(want["decimal"])
        if "uuid" in want:
            return str(got if isinstance(got, uuid.UUID) else uuid.UUID(bytes=got)) == want["uuid"]
        if "hex" in want:
            return bytes(got).hex() == want["hex"]
    if want == "NaN":
        return isinstance(got, float) and math.isnan(got)
    if isinstance(want, bool):
        return got is want
    if isinstance(want, float):
        return got == want
    return got == want


def hexmap(d: Any) -> dict:
    return {str(k): (v.hex() if isinstance(v, (bytes, bytearray)) else v) for k, v in (d or {}).items()}


def check_list_file(io: PyArrowFileIO, exp: dict) -> None:
    path = exp["file"]
    meta, schema, records = read_avro(path)
    names: list[str] = []
    walk_schema(schema, names, path)
    check(names == ["manifest_file", "r508"], f"{path}: record names {names}")
    check(meta["avro.codec"] == "deflate", f"{path}: codec {meta['avro.codec']}")
    for k, v in exp["metadata"].items():
        check(meta.get(k) == v, f"{path}: metadata {k} = {meta.get(k)!r}, want {v!r}")
    has_first_row_id = any(f["name"] == "first_row_id" for f in schema["fields"])
    check(has_first_row_id == (exp["format_version"] >= 3), f"{path}: first_row_id field")
    want = exp["manifests"]
    check(len(records) == len(want), f"{path}: {len(records)} records")
    for r, w in zip(records, want):
        for k, v in w.items():
            got = r.get(k)
            if k == "partitions":
                got = [{kk: (vv.hex() if isinstance(vv, bytes) else vv) for kk, vv in s.items()} for s in got] if got is not None else None
            elif k == "key_metadata" and got is not None:
                got = got.hex()
            if k == "first_row_id" and exp["format_version"] < 3:
                continue
            check(got == v, f"{path}: {k} = {got!r}, want {v!r}")

    manifests = list(read_manifest_list(io.new_input(path)))
    check(len(manifests) == len(want), f"pyiceberg: {len(manifests)} manifests in {path}")
    for m, w in zip(manifests, want):
        for k in [
            "manifest_path",
            "manifest_length",
            "partition_spec_id",
            "sequence_number",
            "min_sequence_number",
            "added_snapshot_id",
            "added_files_count",
            "existing_files_count",
            "deleted_files_count",
            "added_rows_count",
            "existing_rows_count",
            "deleted_rows_count",
        ]:
            check(getattr(m, k) == w[k], f"pyiceberg {path}: {k} = {getattr(m, k)!r}, want {w[k]!r}")
        check(int(m.content) == w["content"], f"pyiceberg {path}: content")
        got_parts = [
            {
                "contains_null": s.contains_null,
                "contains_nan": s.contains_nan,
                "lower_bound": s.lower_bound.hex() if s.lower_bound is not None else None,
                "upper_bound": s.upper_bound.hex() if s.upper_bound is not None else None,
            }
            for s in (m.partitions or [])
        ]
        check(got_parts == (w["partitions"] or []), f"pyiceberg {path}: partition summaries")


def check_manifest_file(io: PyArrowFileIO, exp: dict, listed: dict) -> int:
    path = exp["file"]
    meta, schema, records = read_avro(path)
    names: list[str] = []
    walk_schema(schema, names, path)
    check(
        names[:3] == ["manifest_entry", "r2", "r102"]
        and names[3:] == ["k117_v118", "k119_v120", "k121_v122", "k138_v139", "k126_v127", "k129_v130"],
        f"{path}: record names {names}",
    )
    check(meta["avro.codec"] == "deflate", f"{path}: codec")
    for k, v in exp["metadata"].items():
        check(meta.get(k) == v, f"{path}: metadata {k} = {meta.get(k)!r}, want {v!r}")
    json.loads(meta["schema"])
    check(isinstance(json.loads(meta["partition-spec"]), list), f"{path}: partition-spec is not an array")
    entries = exp["entries"]
    check(len(records) == len(entries), f"{path}: {len(records)} records")
    v3 = exp["format_version"] >= 3
    for r, e in zip(records, entries):
        check(r["status"] == e["status"], f"{path}: status")
        check(r["snapshot_id"] == e["raw_snapshot_id"], f"{path}: raw snapshot_id {r['snapshot_id']}")
        check(r["sequence_number"] == e["raw_sequence_number"], f"{path}: raw sequence_number")
        check(r["file_sequence_number"] == e["raw_file_sequence_number"], f"{path}: raw file_sequence_number")
        df = r["data_file"]
        check(("first_row_id" in df) == v3, f"{path}: first_row_id field presence")
        if v3:
            check(df["first_row_id"] == e["raw_first_row_id"], f"{path}: raw first_row_id")
        check(df["file_path"] == e["file_path"], f"{path}: file_path")

    # pyiceberg, with its own inheritance from the manifest list entry.
    m = listed[path]
    got = m.fetch_manifest_entry(io, discard_deleted=False)
    check(len(got) == len(entries), f"pyiceberg {path}: {len(got)} entries")
    for g, e in zip(got, entries):
        f = g.data_file
        where = f"pyiceberg {path} {f.file_path}"
        check(int(g.status) == e["status"], f"{where}: status")
        check(g.snapshot_id == e["snapshot_id"], f"{where}: snapshot_id {g.snapshot_id} want {e['snapshot_id']}")
        check(g.sequence_number == e["sequence_number"], f"{where}: sequence_number {g.sequence_number}")
        check(g.file_sequence_number == e["file_sequence_number"], f"{where}: file_sequence_number")
        check(int(f.content) == e["content"], f"{where}: content")
        check(f.file_path == e["file_path"], f"{where}: file_path")
        check(f.file_format.value == e["file_format"], f"{where}: file_format {f.file_format}")
        check(f.record_count == e["record_count"], f"{where}: record_count")
        check(f.file_size_in_bytes == e["file_size_in_bytes"], f"{where}: file_size_in_bytes")
        part = list(f.partition._data)
        check(len(part) == len(e["partition"]), f"{where}: {len(part)} partition values")
        for i, (pg, pw) in enumerate(zip(part, e["partition"])):
            check(same_value(pg, pw), f"{where}: partition value {i} = {pg!r}, want {pw!r}")
        for k in ["column_sizes", "value_counts", "null_value_counts", "nan_value_counts", "lower_bounds", "upper_bounds"]:
            check(hexmap(getattr(f, k)) == e[k], f"{where}: {k}")
        check((f.key_metadata.hex() if f.key_metadata else None) == e["key_metadata"], f"{where}: key_metadata")
        check(f.split_offsets == e["split_offsets"], f"{where}: split_offsets")
        check(f.equality_ids == e["equality_ids"], f"{where}: equality_ids")
        check(f.sort_order_id == e["sort_order_id"], f"{where}: sort_order_id")
    return len(got)


def main() -> int:
    out = Path(sys.argv[1])
    expected = json.loads((out / "expected.json").read_text())
    io = PyArrowFileIO()
    listed = {}
    for lst in expected["lists"]:
        check_list_file(io, lst)
        for m in read_manifest_list(io.new_input(lst["file"])):
            listed[m.manifest_path] = m
    entries = 0
    for m in expected["manifests"]:
        entries += check_manifest_file(io, m, listed)
    print(f"checked {len(expected['lists'])} manifest lists, {len(expected['manifests'])} manifests, {entries} entries")
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
