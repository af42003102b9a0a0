#!/usr/bin/env python3
"""Regenerate Floe's pyiceberg golden files (table metadata + commit captures).

Run from the repository root:

    $(scripts/interop-venv.sh | tail -1)/bin/python table-format/testdata/pyiceberg/generate.py

What it does
------------
Uses pyiceberg 0.12's own ``SqlCatalog`` (SQLite) with a ``file://`` warehouse in a
scratch directory (default ``<tmp>/floe-pyiceberg-golden``, wiped at start, removed at
the end unless ``--keep``; a fixed path keeps the locations inside the golden files
stable from run to run). Several scenarios are driven through real pyiceberg
operations (create, appends, overwrite, delete, schema/partition/sort-order evolution,
branches/tags, properties, statistics, snapshot expiry ...). Outputs, next to this file:

``<scenario>/NNNNN.metadata.json``
    Byte-for-byte copies of every ``*.metadata.json`` pyiceberg wrote for that table,
    in version order.
``<scenario>/manifest.json``
    Original file names, the step that produced each file, and any step pyiceberg
    could not perform (with the error).
``v3_model/`` and ``commits/v3_model/``
    Format-version 3 goldens pyiceberg cannot write through its catalogs, produced by its
    metadata model and commit path without data files; see generate_v3.py.
``commits/<scenario>/NNN-<step>.json``
    One file per ``commit_table`` call: ``{"base": <metadata before, or null when the
    table did not exist yet>, "request": <CommitTableRequest exactly as pyiceberg's REST
    client serialises it>, "result": <metadata pyiceberg wrote>}``. When pyiceberg
    itself rejects the commit, ``result`` is null and ``"error"`` holds the message.

Timestamps, UUIDs, snapshot ids and file sizes change between runs; the structure
(scenarios, steps, files, update/requirement kinds) does not.
"""

from __future__ import annotations

import argparse
import datetime as dt
import decimal
import json
import os
import re
import shutil
import sys
import tempfile
import traceback
import uuid
import warnings
from pathlib import Path
from typing import Any, Callable

import pyarrow as pa
import pyiceberg
from pyiceberg.catalog import Catalog
from pyiceberg.catalog.sql import SqlCatalog
from pyiceberg.exceptions import NoSuchTableError
from pyiceberg.expressions import EqualTo, GreaterThanOrEqual, In
from pyiceberg.io.pyarrow import schema_to_pyarrow
from pyiceberg.partitioning import UNPARTITIONED_PARTITION_SPEC, PartitionField, PartitionSpec
from pyiceberg.schema import Schema
from pyiceberg.table import CommitTableRequest, CommitTableResponse, Table, TableIdentifier
from pyiceberg.table.sorting import UNSORTED_SORT_ORDER, NullOrder, SortDirection, SortField, SortOrder
from pyiceberg.table.statistics import BlobMetadata, StatisticsFile
from pyiceberg.transforms import (
    BucketTransform,
    DayTransform,
    HourTransform,
    IdentityTransform,
    MonthTransform,
    TruncateTransform,
    YearTransform,
)
from pyiceberg.types import (
    BinaryType,
    BooleanType,
    DateType,
    DecimalType,
    DoubleType,
    FixedType,
    FloatType,
    IcebergType,
    IntegerType,
    ListType,
    LongType,
    MapType,
    NestedField,
    StringType,
    StructType,
    TimestampType,
    TimestamptzType,
    TimeType,
    UUIDType,
)

try:  # only usable with format-version 3
    from pyiceberg.types import TimestampNanoType, TimestamptzNanoType
except ImportError:  # pragma: no cover - older pyiceberg
    TimestampNanoType = TimestamptzNanoType = None  # type: ignore[assignment,misc]

OUT_DIR = Path(__file__).resolve().parent
NAMESPACE = "golden"
METADATA_RE = re.compile(r"^(\d+)-.*\.metadata\.json$")

warnings.filterwarnings("ignore", message="Delete operation did not match any records")


# --------------------------------------------------------------------------------------
# Commit capture
# --------------------------------------------------------------------------------------


def _read_json(location: str) -> Any:
    path = location[len("file://") :] if location.startswith("file://") else location
    with open(path, "rb") as f:
        return json.loads(f.read())


class Recorder:
    """Collects commit captures and the step that produced each metadata file."""

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = out_dir
        self.scenario: str | None = None
        self.step: str = "unknown"
        self.commit_no = 0
        self.location_steps: dict[str, str] = {}  # metadata file name -> step
        self.failed: list[dict[str, str]] = []
        self.commit_files: list[str] = []

    def start(self, scenario: str) -> None:
        self.scenario = scenario
        self.step = "unknown"
        self.commit_no = 0
        self.location_steps = {}
        self.failed = []
        self.commit_files = []
        d = self.out_dir / "commits" / scenario
        if d.exists():
            shutil.rmtree(d)

    def note_metadata(self, location: str, step: str) -> None:
        self.location_steps.setdefault(os.path.basename(location), step)

    def write_commit(self, capture: dict[str, Any]) -> None:
        assert self.scenario is not None
        d = self.out_dir / "commits" / self.scenario
        d.mkdir(parents=True, exist_ok=True)
        name = f"{self.commit_no:03d}-{self.step}.json"
        self.commit_no += 1
        # base/result compact (they are whole metadata files); the request with one
        # requirement/update per line, for review. Same JSON value either way.
        compact = lambda v: json.dumps(v, separators=(",", ":"))  # noqa: E731
        req = capture["request"]
        req_lines = []
        for key, val in req.items():
            if isinstance(val, list) and val:
                inner = ",\n".join(f"  {compact(v)}" for v in val)
                req_lines.append(f' "{key}": [\n{inner}\n ]')
            else:
                req_lines.append(f' "{key}": {compact(val)}')
        request_text = "{\n" + ",\n".join(req_lines) + "\n}"
        assert json.loads(request_text) == req
        parts = [f'"base": {compact(capture["base"])}', f'"request": {request_text}', f'"result": {compact(capture["result"])}']
        if "error" in capture:
            parts.append(f'"error": {json.dumps(capture["error"])}')
        with open(d / name, "w") as f:
            f.write("{\n" + ",\n".join(parts) + "\n}\n")
        self.commit_files.append(name)


RECORDER: Recorder | None = None


class CapturingSqlCatalog(SqlCatalog):
    """SqlCatalog whose commit_table records base / REST request / result."""

    def commit_table(self, table: Table, requirements: tuple, updates: tuple) -> CommitTableResponse:  # type: ignore[override]
        rec = RECORDER
        identifier = table.name()
        # Same construction and serialisation as pyiceberg.catalog.rest.RestCatalog.commit_table:
        #   CommitTableRequest(identifier=TableIdentifier(namespace=identifier[:-1], name=identifier[-1]), ...)
        #   data=table_request.model_dump_json().encode(UTF8)
        # (IcebergBaseModel.model_dump_json defaults to by_alias=True, exclude_none=True.)
        table_request = CommitTableRequest(
            identifier=TableIdentifier(namespace=identifier[:-1], name=identifier[-1]),
            requirements=requirements,
            updates=updates,
        )
        wire = table_request.model_dump_json().encode("utf-8")
        try:
            current = self.load_table(identifier)
            base = _read_json(current.metadata_location)
        except NoSuchTableError:
            base = None
        try:
            response = super().commit_table(table, requirements, updates)
        except Exception as e:
            if rec is not None:
                rec.write_commit({"base": base, "request": json.loads(wire), "result": None, "error": f"{type(e).__name__}: {e}"})
            raise
        if rec is not None:
            rec.write_commit({"base": base, "request": json.loads(wire), "result": _read_json(response.metadata_location)})
            rec.note_metadata(response.metadata_location, rec.step)
        return response


# --------------------------------------------------------------------------------------
# Schemas, specs and data
# --------------------------------------------------------------------------------------


def wide_schema(format_version: int) -> Schema:
    """Every primitive type pyiceberg supports for the format version, plus struct/list/map.

    Field ids follow pyiceberg's fresh-id assignment order (top-level first) so the ids
    here are the ids in the written metadata.
    """
    top: list[tuple[str, IcebergType, bool]] = [
        ("id", LongType(), True),  # identifier field
        ("req_s", StringType(), True),  # required, made optional later
        ("b", BooleanType(), False),
        ("i", IntegerType(), False),  # widened to long later
        ("f", FloatType(), False),  # widened to double later
        ("d", DoubleType(), False),
        ("dec", DecimalType(10, 2), False),  # precision widened later
        ("dt", DateType(), False),
        ("tm", TimeType(), False),
        ("ts", TimestampType(), False),
        ("tstz", TimestamptzType(), False),
        ("s", StringType(), False),
        ("u", UUIDType(), False),
        ("fx", FixedType(16), False),
        ("bin", BinaryType(), False),
    ]
    if format_version >= 3 and TimestampNanoType is not None:
        top += [("ts_ns", TimestampNanoType(), False), ("tstz_ns", TimestamptzNanoType(), False)]
    fields = [NestedField(i + 1, name, typ, required=req) for i, (name, typ, req) in enumerate(top)]
    n = len(fields)
    st_id, l_id, m_id = n + 1, n + 2, n + 3
    nxt = n + 4
    fields.append(
        NestedField(
            st_id,
            "st",
            StructType(NestedField(nxt, "x", IntegerType()), NestedField(nxt + 1, "y", StringType())),
        )
    )
    fields.append(NestedField(l_id, "l", ListType(nxt + 2, StringType(), element_required=False)))
    fields.append(NestedField(m_id, "m", MapType(nxt + 3, StringType(), nxt + 4, LongType(), value_required=False)))
    return Schema(*fields, identifier_field_ids=[1])


def field_id(schema: Schema, name: str) -> int:
    return schema.find_field(name).field_id


def multi_transform_spec(schema: Schema) -> PartitionSpec:
    fid = lambda n: field_id(schema, n)  # noqa: E731
    return PartitionSpec(
        PartitionField(fid("b"), 1000, IdentityTransform(), "b"),
        PartitionField(fid("id"), 1001, BucketTransform(16), "id_bucket"),
        PartitionField(fid("s"), 1002, TruncateTransform(4), "s_trunc"),
        PartitionField(fid("dt"), 1003, DayTransform(), "dt_day"),
        PartitionField(fid("tstz"), 1004, HourTransform(), "tstz_hour"),
        PartitionField(fid("ts"), 1005, MonthTransform(), "ts_month"),
    )


def value_for(typ: IcebergType, k: int) -> Any:
    if isinstance(typ, BooleanType):
        return k % 2 == 0
    if isinstance(typ, (IntegerType, LongType)):
        return k
    if isinstance(typ, (FloatType, DoubleType)):
        return k + 0.5
    if isinstance(typ, DecimalType):
        return decimal.Decimal(k).scaleb(-typ.scale) + decimal.Decimal(k)
    if isinstance(typ, DateType):
        return dt.date(2024, 1, 1) + dt.timedelta(days=k)
    if isinstance(typ, TimeType):
        return dt.time(12, k % 60, k % 60)
    if isinstance(typ, TimestamptzType) or (TimestamptzNanoType is not None and isinstance(typ, TimestamptzNanoType)):
        return dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc) + dt.timedelta(hours=k, microseconds=k)
    if isinstance(typ, TimestampType) or (TimestampNanoType is not None and isinstance(typ, TimestampNanoType)):
        return dt.datetime(2024, 1, 1) + dt.timedelta(days=31 * k, microseconds=k)
    if isinstance(typ, StringType):
        return f"str-{k:04d}"
    if isinstance(typ, UUIDType):
        return uuid.UUID(int=k + 1).bytes
    if isinstance(typ, FixedType):
        return bytes([k % 256]) * len(typ)
    if isinstance(typ, BinaryType):
        return bytes([k % 256, 0xFF])
    if isinstance(typ, StructType):
        return {f.name: value_for(f.field_type, k) for f in typ.fields}
    if isinstance(typ, ListType):
        return [value_for(typ.element_type, k), value_for(typ.element_type, k + 1)]
    if isinstance(typ, MapType):
        return [(value_for(typ.key_type, k), value_for(typ.value_type, k))]
    raise TypeError(f"no test value for {typ}")


def rows(table: Table, keys: list[int]) -> pa.Table:
    """A pyarrow table matching the table's current schema, one row per key."""
    schema = table.schema()
    arrow_schema = schema_to_pyarrow(schema)
    data = [{f.name: value_for(f.field_type, k) for f in schema.fields} for k in keys]
    return pa.Table.from_pylist(data, schema=arrow_schema)


# --------------------------------------------------------------------------------------
# Scenario driver
# --------------------------------------------------------------------------------------


class Unsupported(Exception):
    """pyiceberg cannot do what a scenario needs; the scenario stops here."""


class Scenario:
    def __init__(self, catalog: Catalog, name: str, format_version: int) -> None:
        self.catalog = catalog
        self.name = name
        self.format_version = format_version
        self.identifier = f"{NAMESPACE}.{name}"
        self.table: Table | None = None
        assert RECORDER is not None
        RECORDER.start(name)

    def step(self, label: str, fn: Callable[[], Any], required: bool = False) -> Any:
        """Run one step; a failure is recorded (and stops the scenario only if required)."""
        assert RECORDER is not None
        RECORDER.step = label
        try:
            result = fn()
        except Exception as e:  # noqa: BLE001
            msg = f"{type(e).__name__}: {e}".splitlines()[0]
            RECORDER.failed.append({"step": label, "error": msg})
            print(f"  [{self.name}] step {label!r} not possible with pyiceberg {pyiceberg.__version__}: {msg}")
            if os.environ.get("FLOE_GOLDEN_DEBUG"):
                traceback.print_exc()
            if required:
                raise Unsupported(msg) from e
            return None
        finally:
            RECORDER.step = "unknown"
        if self.table is not None:
            self.table = self.catalog.load_table(self.identifier)
        return result

    # helpers -------------------------------------------------------------------------

    def create(self, schema: Schema, spec: PartitionSpec, order: SortOrder, props: dict[str, str]) -> None:
        def go() -> None:
            tbl = self.catalog.create_table(
                self.identifier, schema=schema, partition_spec=spec, sort_order=order, properties=props
            )
            assert RECORDER is not None
            RECORDER.note_metadata(tbl.metadata_location, "create-table")
            self.table = tbl

        self.step("create-table", go, required=True)

    def create_transaction(self, schema: Schema, spec: PartitionSpec, order: SortOrder, props: dict[str, str]) -> None:
        def go() -> None:
            tx = self.catalog.create_table_transaction(
                self.identifier, schema=schema, partition_spec=spec, sort_order=order, properties=props
            )
            tx.commit_transaction()
            self.table = self.catalog.load_table(self.identifier)

        self.step("create-table-transaction", go, required=True)

    @property
    def t(self) -> Table:
        assert self.table is not None
        return self.table

    def snapshot_ids(self) -> list[int]:
        return [s.snapshot_id for s in self.t.metadata.snapshots]

    def finish(self) -> None:
        """Copy every metadata file pyiceberg wrote and write manifest.json."""
        assert RECORDER is not None
        out = OUT_DIR / self.name
        if out.exists():
            shutil.rmtree(out)
        out.mkdir(parents=True)
        files: list[dict[str, Any]] = []
        if self.table is not None:
            meta_dir = Path(self.t.metadata_location[len("file://") :]).parent
            originals = sorted(
                (p for p in meta_dir.iterdir() if METADATA_RE.match(p.name)),
                key=lambda p: int(METADATA_RE.match(p.name).group(1)),  # type: ignore[union-attr]
            )
            for i, p in enumerate(originals):
                name = f"{i:05d}.metadata.json"
                shutil.copyfile(p, out / name)
                files.append(
                    {
                        "file": name,
                        "original": p.name,
                        "step": RECORDER.location_steps.get(p.name, "unknown"),
                    }
                )
        manifest = {
            "scenario": self.name,
            "format-version": self.format_version,
            "generator": f"pyiceberg {pyiceberg.__version__} SqlCatalog (sqlite), see generate.py",
            "metadata-files": files,
            "commit-captures": [f"commits/{self.name}/{c}" for c in RECORDER.commit_files],
            "unsupported-steps": RECORDER.failed,
        }
        with open(out / "manifest.json", "w") as f:
            json.dump(manifest, f, indent=2)
            f.write("\n")
        print(f"  [{self.name}] {len(files)} metadata files, {len(RECORDER.commit_files)} commits, {len(RECORDER.failed)} unsupported steps")


# --------------------------------------------------------------------------------------
# Scenarios
# --------------------------------------------------------------------------------------


def scenario_partitioned(catalog: Catalog, name: str, format_version: int) -> None:
    """Wide schema, multi-transform spec, sort order; the full tour of table changes."""
    sc = Scenario(catalog, name, format_version)
    try:
        schema = wide_schema(format_version)
        order = SortOrder(
            SortField(source_id=field_id(schema, "id"), transform=IdentityTransform(), direction=SortDirection.ASC, null_order=NullOrder.NULLS_FIRST)
        )
        sc.create(
            schema,
            multi_transform_spec(schema),
            order,
            {"format-version": str(format_version), "owner": "floe-golden", "write.parquet.compression-codec": "zstd"},
        )
        sc.step("append-1", lambda: sc.t.append(rows(sc.t, [0, 1])))
        sc.step("append-2", lambda: sc.t.append(rows(sc.t, [2, 3, 4])))
        sc.step("overwrite", lambda: sc.t.overwrite(rows(sc.t, [5, 6]), overwrite_filter=EqualTo("id", 1)))
        sc.step("delete", lambda: sc.t.delete(delete_filter=EqualTo("id", 2)))

        def sort_order() -> None:
            with sc.t.update_sort_order() as u:
                u.desc("i", IdentityTransform(), NullOrder.NULLS_LAST)
                u.asc("s", TruncateTransform(2), NullOrder.NULLS_FIRST)
                u.asc("tstz", DayTransform())

        sc.step("update-sort-order", sort_order)

        def evolve_schema() -> None:
            with sc.t.update_schema() as u:
                u.add_column("added", StringType(), doc="added by evolution")
                u.add_column(("st", "z"), DoubleType())
                u.rename_column("s", "s_renamed")
                u.update_column("i", field_type=LongType())
                u.update_column("f", field_type=DoubleType())
                u.update_column("dec", field_type=DecimalType(12, 2))
                u.make_column_optional("req_s")
                u.update_column("d", doc="a documented double")

        sc.step("evolve-schema", evolve_schema)
        sc.step("append-after-schema-change", lambda: sc.t.append(rows(sc.t, [7, 8])))

        def evolve_spec() -> None:
            with sc.t.update_spec() as u:
                u.remove_field("dt_day")
                u.add_field("dt", YearTransform(), "dt_year")
                u.add_field("i", BucketTransform(4), "i_bucket")
                u.rename_field("s_trunc", "s_prefix")

        sc.step("evolve-partition-spec", evolve_spec)
        sc.step("append-after-spec-change", lambda: sc.t.append(rows(sc.t, [9, 10])))

        def refs() -> None:
            ids = sc.snapshot_ids()
            (
                sc.t.manage_snapshots()
                .create_branch(ids[-1], "dev", max_ref_age_ms=7 * 86_400_000, max_snapshot_age_ms=86_400_000, min_snapshots_to_keep=3)
                .create_tag(ids[0], "v1", max_ref_age_ms=30 * 86_400_000)
                .commit()
            )

        sc.step("create-branch-and-tag", refs)
        sc.step("append-to-branch", lambda: sc.t.append(rows(sc.t, [11]), branch="dev"))
        sc.step("set-properties", lambda: sc.t.transaction().set_properties({"commit.retry.num-retries": "0", "floe.test": "yes"}).commit_transaction())
        sc.step("remove-properties", lambda: sc.t.transaction().remove_properties("owner").commit_transaction())

        def statistics() -> None:
            snap = sc.t.metadata.current_snapshot_id
            assert snap is not None
            seq = sc.t.metadata.snapshot_by_id(snap).sequence_number  # type: ignore[union-attr]
            stats = StatisticsFile(
                snapshot_id=snap,
                statistics_path=f"{sc.t.location()}/metadata/{snap}-stats.puffin",
                file_size_in_bytes=413,
                file_footer_size_in_bytes=42,
                blob_metadata=[BlobMetadata(type="apache-datasketches-theta-v1", snapshot_id=snap, sequence_number=seq or 0, fields=[1], properties={"ndv": "11"})],
            )
            with sc.t.update_statistics() as u:
                u.set_statistics(stats)

        sc.step("set-statistics", statistics)
        sc.step("rollback-main", lambda: sc.t.manage_snapshots().rollback_to_snapshot(sc.t.metadata.snapshots[1].snapshot_id).commit())
        sc.step("expire-snapshot", lambda: sc.t.maintenance.expire_snapshots().by_id(sc.t.metadata.snapshots[2].snapshot_id).commit())
        sc.step("remove-tag", lambda: sc.t.manage_snapshots().remove_tag("v1").commit())
    except Unsupported:
        pass
    sc.finish()


def scenario_unpartitioned(catalog: Catalog, name: str, format_version: int) -> None:
    """Wide schema, no partition spec, unsorted; upsert, column deletes and moves."""
    sc = Scenario(catalog, name, format_version)
    try:
        schema = wide_schema(format_version)
        sc.create(schema, UNPARTITIONED_PARTITION_SPEC, UNSORTED_SORT_ORDER, {"format-version": str(format_version)})
        sc.step("append-1", lambda: sc.t.append(rows(sc.t, [0, 1])))
        sc.step("append-2", lambda: sc.t.append(rows(sc.t, [2, 3])))
        sc.step("overwrite-all", lambda: sc.t.overwrite(rows(sc.t, [4, 5, 6])))
        sc.step("delete-rewrite", lambda: sc.t.delete(delete_filter=In("id", {4, 99})))
        sc.step("upsert", lambda: sc.t.upsert(rows(sc.t, [5, 7]).set_column(2, "b", pa.array([True, True]))))

        def evolve_schema() -> None:
            with sc.t.update_schema() as u:
                u.delete_column("bin")
                u.move_first("s")
                u.move_after("fx", "u")
                u.add_column("note", StringType(), required=False)
                u.set_identifier_fields("id", "req_s")

        sc.step("evolve-schema", evolve_schema)
        sc.step("append-after-schema-change", lambda: sc.t.append(rows(sc.t, [8])))
        sc.step("create-tag", lambda: sc.t.manage_snapshots().create_tag(sc.snapshot_ids()[0], "first").commit())
        sc.step("create-branch", lambda: sc.t.manage_snapshots().create_branch(sc.snapshot_ids()[-1], "audit").commit())
        sc.step("set-current-snapshot", lambda: sc.t.manage_snapshots().set_current_snapshot(sc.snapshot_ids()[-2]).commit())
        sc.step("set-properties", lambda: sc.t.transaction().set_properties({"write.metadata.previous-versions-max": "50"}).commit_transaction())
        sc.step("upgrade-format-version-3", lambda: sc.t.transaction().upgrade_table_version(3).commit_transaction())  # type: ignore[arg-type]
    except Unsupported:
        pass
    sc.finish()


def scenario_create_transaction(catalog: Catalog, name: str, format_version: int) -> None:
    """Every commit goes through commit_table: create transaction, data and metadata changes."""
    sc = Scenario(catalog, name, format_version)
    try:
        schema = wide_schema(format_version)
        spec = PartitionSpec(
            PartitionField(field_id(schema, "tstz"), 1000, DayTransform(), "tstz_day"),
            PartitionField(field_id(schema, "id"), 1001, BucketTransform(8), "id_bucket"),
        )
        order = SortOrder(
            SortField(source_id=field_id(schema, "ts"), transform=IdentityTransform(), direction=SortDirection.DESC, null_order=NullOrder.NULLS_LAST)
        )
        sc.create_transaction(schema, spec, order, {"format-version": str(format_version), "owner": "floe-golden"})
        sc.step("append-1", lambda: sc.t.append(rows(sc.t, [0, 1])))
        sc.step("append-2", lambda: sc.t.append(rows(sc.t, [2, 3])))

        def multi_change_transaction() -> None:
            with sc.t.transaction() as tx:
                tx.set_properties({"floe.multi": "1"})
                tx.update_schema().add_column("comment", StringType()).commit()
                tx.append(rows(sc.t, [4]).append_column("comment", pa.array(["hello"], pa.large_string())))

        sc.step("transaction-props-schema-append", multi_change_transaction)
        sc.step("overwrite", lambda: sc.t.overwrite(rows(sc.t, [5]), overwrite_filter=GreaterThanOrEqual("id", 3)))

        def evolve_schema() -> None:
            with sc.t.update_schema() as u:
                u.rename_column("comment", "remark")
                u.update_column("i", field_type=LongType())

        sc.step("evolve-schema", evolve_schema)

        def evolve_spec() -> None:
            with sc.t.update_spec() as u:
                u.add_identity("b")
                u.remove_field("id_bucket")

        sc.step("evolve-partition-spec", evolve_spec)
        sc.step("append-after-spec-change", lambda: sc.t.append(rows(sc.t, [6, 7])))
        sc.step("set-properties", lambda: sc.t.transaction().set_properties({"commit.retry.num-retries": "0"}).commit_transaction())
        sc.step("remove-properties", lambda: sc.t.transaction().remove_properties("floe.multi").commit_transaction())
        sc.step(
            "create-branch-and-tag",
            lambda: sc.t.manage_snapshots()
            .create_branch(sc.snapshot_ids()[-1], "etl", max_snapshot_age_ms=3_600_000, min_snapshots_to_keep=1)
            .create_tag(sc.snapshot_ids()[-1], "release-1", max_ref_age_ms=86_400_000)
            .commit(),
        )
        sc.step("append-to-branch", lambda: sc.t.append(rows(sc.t, [8]), branch="etl"))
        sc.step("remove-branch", lambda: sc.t.manage_snapshots().remove_branch("etl").commit())
    except Unsupported:
        pass
    sc.finish()


def scenario_v1_upgrade(catalog: Catalog, name: str, format_version: int) -> None:
    """A v1 table (small schema) that gets data, then is upgraded to v2."""
    sc = Scenario(catalog, name, format_version)
    try:
        schema = Schema(
            NestedField(1, "id", LongType(), required=True),
            NestedField(2, "s", StringType()),
            NestedField(3, "dt", DateType()),
        )
        spec = PartitionSpec(PartitionField(3, 1000, MonthTransform(), "dt_month"))
        sc.create(schema, spec, UNSORTED_SORT_ORDER, {"format-version": "1"})
        sc.step("append-1", lambda: sc.t.append(rows(sc.t, [0, 1])))
        sc.step("evolve-partition-spec", lambda: sc.t.update_spec().remove_field("dt_month").add_identity("s").commit())
        sc.step("upgrade-format-version-2", lambda: sc.t.transaction().upgrade_table_version(2).commit_transaction())
        sc.step("append-2", lambda: sc.t.append(rows(sc.t, [2])))
    except Unsupported:
        pass
    sc.finish()


def scenario_v3_model(catalog: Catalog, name: str, format_version: int) -> None:
    """Format-version 3 through pyiceberg's metadata model and commit path, metadata only.

    pyiceberg 0.12 cannot write v3 tables (see v3_partitioned / v3_create_transaction); the
    sibling generate_v3.py gets v3 metadata out of pyiceberg's own code, see its docstring.
    """
    import generate_v3  # next to this file, so on sys.path when run as a script

    generate_v3.scenario_v3_model(sys.modules[__name__], catalog, name, format_version)


SCENARIOS: list[tuple[Callable[[Catalog, str, int], None], str, int]] = [
    (scenario_partitioned, "v2_partitioned", 2),
    (scenario_partitioned, "v3_partitioned", 3),
    (scenario_unpartitioned, "v2_unpartitioned", 2),
    (scenario_create_transaction, "v2_create_transaction", 2),
    (scenario_create_transaction, "v3_create_transaction", 3),
    (scenario_v1_upgrade, "v1_upgraded_to_v2", 1),
    (scenario_v3_model, "v3_model", 3),
]


def main() -> int:
    global RECORDER
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workdir", default=os.path.join(tempfile.gettempdir(), "floe-pyiceberg-golden"), help="scratch dir (wiped)")
    ap.add_argument("--keep", action="store_true", help="keep the scratch warehouse (data, manifests) afterwards")
    ap.add_argument("--only", action="append", help="run only these scenarios (repeatable)")
    args = ap.parse_args()

    if not pyiceberg.__version__.startswith("0.12."):
        print(f"warning: generated with pyiceberg {pyiceberg.__version__}, goldens expect 0.12.x", file=sys.stderr)

    work = Path(args.workdir)
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    catalog = CapturingSqlCatalog(
        "floe_golden",
        uri=f"sqlite:///{work}/catalog.db",
        warehouse=f"file://{work}/warehouse",
    )
    catalog.create_namespace(NAMESPACE)
    RECORDER = Recorder(OUT_DIR)

    if not args.only:
        # A full run owns the commits/ folder: drop captures of scenarios that no longer exist.
        shutil.rmtree(OUT_DIR / "commits", ignore_errors=True)
    for fn, name, fv in SCENARIOS:
        if args.only and name not in args.only:
            continue
        print(f"scenario {name} (format-version {fv})")
        fn(catalog, name, fv)

    if not args.keep:
        shutil.rmtree(work)
    else:
        print(f"warehouse kept at {work}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
