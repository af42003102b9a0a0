"""Format-version 3 goldens from pyiceberg 0.12's own table-metadata code (metadata only).

Not a standalone script: ``generate.py`` runs it as scenario ``v3_model``
(``generate.py --only v3_model`` regenerates just this one).

Why a separate path
-------------------
pyiceberg 0.12 can read v3 metadata but refuses to write it through a catalog:

* ``TableMetadataV3.model_dump_json`` only raises ``NotImplementedError("Writing V3 is not
  yet supported ...")``, so ``ToOutputFile.table_metadata`` cannot write a v3 file;
* the ``upgrade-format-version`` handler in ``update_table_metadata`` rejects any version
  above ``pyiceberg.table.update.SUPPORTED_TABLE_FORMAT_VERSION`` (2), so the
  ``CreateTableTransaction`` of a v3 table fails at commit;
* ``write_manifest`` / ``write_manifest_list`` refuse format version 3, so ``Table.append``
  and friends cannot produce a v3 snapshot.

What runs, and what is changed
------------------------------
Everything goes through the same ``CapturingSqlCatalog`` as the other scenarios (so
``SqlCatalog.commit_table`` -> ``_update_and_stage_table`` -> ``update_table_metadata``,
the metadata-log, file naming and commit captures are pyiceberg's), with three levers:

1. ``_write_metadata`` serialises exactly like ``ToOutputFile.table_metadata``
   (``model_dump_json(exclude_none=True)``, UTF-8, compressor chosen by file name) but
   calls ``IcebergBaseModel.model_dump_json`` directly, i.e. the serialiser the v3 model
   would inherit without its one-line refusal.
2. The create commit starts from an empty *v3* base
   (``TableMetadataV3.model_construct(last_column_id=-1, schemas=[], next_row_id=0)``)
   instead of pyiceberg's empty v1 base, and runs with ``SUPPORTED_TABLE_FORMAT_VERSION``
   raised to 3 for that one commit, so the request's ``upgrade-format-version: 3`` is the
   no-op pyiceberg's handler makes of it on a v3 base. ``next-row-id: 0`` is the only value
   we choose ourselves: pyiceberg never initialises it (``new_table_metadata`` and an
   upgraded table both leave it unset, and then row lineage is never tracked), while the
   spec requires it in v3 and Java starts it at 0.
3. Snapshots are built the way ``_SnapshotProducer._commit`` builds them (same
   requirement/updates, pyiceberg's ``Snapshot``, ``SnapshotSummaryCollector`` +
   ``update_snapshot_summaries``, manifest-list name from ``_new_manifest_list_file_name``),
   except that no data, manifest or manifest-list file is written (pyiceberg cannot write
   v3 ones) and ``added-rows`` is set (pyiceberg's producer never sets it):
   ``first-row-id`` = the table's ``next-row-id``, ``added-rows`` = records in the added
   (fictitious) data files. The manifest-list paths therefore point at files that do not
   exist.

All other steps (schema/partition/sort-order evolution, refs, properties, statistics,
rollback, expiry) are pyiceberg's table API unchanged. Each written file is read back with
pyiceberg (``load_table`` -> ``TableMetadataUtil.parse_raw``) and checked to re-serialise to
the same bytes.
"""

from __future__ import annotations

import contextlib
import copy
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pyiceberg
import pyiceberg.table.update as pyiceberg_update
from pyiceberg.catalog import Catalog
from pyiceberg.io import FileIO
from pyiceberg.manifest import DataFile, DataFileContent, FileFormat
from pyiceberg.serializers import Compressor
from pyiceberg.table import CommitTableRequest, Table, TableProperties
from pyiceberg.table.metadata import TableMetadata, TableMetadataUtil, TableMetadataV3
from pyiceberg.table.refs import MAIN_BRANCH, SnapshotRefType
from pyiceberg.table.snapshots import Operation, Snapshot, SnapshotSummaryCollector, Summary, update_snapshot_summaries
from pyiceberg.table.sorting import NullOrder, SortDirection, SortField, SortOrder
from pyiceberg.table.statistics import BlobMetadata, StatisticsFile
from pyiceberg.table.update import AddSnapshotUpdate, AssertRefSnapshotId, AssertTableUUID, SetSnapshotRefUpdate
from pyiceberg.table.update.snapshot import _new_manifest_list_file_name
from pyiceberg.transforms import BucketTransform, DayTransform, HourTransform, IdentityTransform, TruncateTransform, YearTransform
from pyiceberg.typedef import IcebergBaseModel, Record
from pyiceberg.types import DecimalType, DoubleType, LongType, StringType
from pyiceberg.utils.config import Config

SCENARIO = "v3_model"


# --------------------------------------------------------------------------------------
# Serialisation (lever 1) and the create base (lever 2)
# --------------------------------------------------------------------------------------


def metadata_json_bytes(metadata: TableMetadata) -> bytes:
    """``ToOutputFile.table_metadata``'s bytes, without ``TableMetadataV3.model_dump_json``'s refusal."""
    exclude_none = False if Config().get_bool("legacy-current-snapshot-id") else True
    return IcebergBaseModel.model_dump_json(metadata, exclude_none=exclude_none).encode("utf-8")


def empty_v3_metadata() -> TableMetadata:
    """Like ``MetastoreCatalog._empty_table_metadata`` (a v1 model), but v3 with next-row-id 0."""
    return TableMetadataV3.model_construct(last_column_id=-1, schemas=[], next_row_id=0)


@contextlib.contextmanager
def v3_upgrade_accepted() -> Iterator[None]:
    """Let ``update_table_metadata`` accept ``upgrade-format-version: 3`` (a no-op on a v3 base)."""
    saved = pyiceberg_update.SUPPORTED_TABLE_FORMAT_VERSION
    pyiceberg_update.SUPPORTED_TABLE_FORMAT_VERSION = 3
    try:
        yield
    finally:
        pyiceberg_update.SUPPORTED_TABLE_FORMAT_VERSION = saved


def v3_catalog(g: ModuleType, like: Catalog) -> Catalog:
    """generate.py's CapturingSqlCatalog (same SQLite db and warehouse) with levers 1 and 2."""

    class V3ModelCatalog(g.CapturingSqlCatalog):  # type: ignore[name-defined,misc]
        @staticmethod
        def _write_metadata(metadata: TableMetadata, io: FileIO, metadata_path: str) -> None:
            output_file = io.new_output(metadata_path)
            with output_file.create(overwrite=False) as output_stream:
                compress = Compressor.get_compressor(output_file.location).bytes_compressor()
                output_stream.write(compress(metadata_json_bytes(metadata)))

        @staticmethod
        def _empty_table_metadata() -> TableMetadata:
            return empty_v3_metadata()

    return V3ModelCatalog(like.name, **like.properties)


# --------------------------------------------------------------------------------------
# Snapshots (lever 3)
# --------------------------------------------------------------------------------------


class FakeFiles:
    """Fictitious data files (path, record count, size) live on main, for consistent summaries."""

    def __init__(self, table_location: str) -> None:
        self.location = table_location
        self.live: list[DataFile] = []

    def new(self, records: int) -> DataFile:
        return DataFile.from_args(
            content=DataFileContent.DATA,
            file_path=f"{self.location}/data/{uuid.uuid4()}.parquet",
            file_format=FileFormat.PARQUET,
            partition=Record(),
            record_count=records,
            file_size_in_bytes=4096 + 512 * records,
        )


def snapshot_changes(
    table: Table,
    operation: Operation,
    added: list[DataFile] = [],  # noqa: B006 - never mutated
    removed: list[DataFile] = [],  # noqa: B006
    branch: str = MAIN_BRANCH,
    first_row_id: int | None | str = "next-row-id",
    added_rows: int | None | str = "added-records",
) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    """The updates and requirements of one snapshot, as pyiceberg's _SnapshotProducer makes them.

    ``first_row_id`` / ``added_rows`` default to the table's next-row-id and the number of
    added records; other values are only used to record the commits pyiceberg rejects.
    """
    metadata = table.metadata
    snapshot_id = metadata.new_snapshot_id()
    parent = metadata.snapshot_by_name(branch)
    commit_uuid = uuid.uuid4()
    manifest_list = table.location_provider().new_metadata_location(
        _new_manifest_list_file_name(snapshot_id=snapshot_id, attempt=0, commit_uuid=commit_uuid)
    )

    # As _SnapshotProducer._summary.
    schema = metadata.schema()
    ssc = SnapshotSummaryCollector(
        partition_summary_limit=int(
            metadata.properties.get(TableProperties.WRITE_PARTITION_SUMMARY_LIMIT, TableProperties.WRITE_PARTITION_SUMMARY_LIMIT_DEFAULT)
        )
    )
    for f in added:
        ssc.add_file(data_file=f, partition_spec=metadata.spec(), schema=schema)
    for f in removed:
        ssc.remove_file(data_file=f, partition_spec=metadata.spec(), schema=schema)
    summary = update_snapshot_summaries(
        summary=Summary(operation=operation, **ssc.build()),
        previous_summary=parent.summary if parent is not None else None,
    )

    snapshot = Snapshot(
        snapshot_id=snapshot_id,
        parent_snapshot_id=parent.snapshot_id if parent is not None else None,
        manifest_list=manifest_list,
        sequence_number=metadata.next_sequence_number(),
        summary=summary,
        schema_id=metadata.current_schema_id,
        first_row_id=metadata.next_row_id if first_row_id == "next-row-id" else first_row_id,  # type: ignore[attr-defined]
        added_rows=sum(f.record_count for f in added) if added_rows == "added-records" else added_rows,
    )
    # As _SnapshotProducer._commit (target branch set, which is what append/overwrite/delete use).
    updates = (
        AddSnapshotUpdate(snapshot=snapshot),
        SetSnapshotRefUpdate(snapshot_id=snapshot_id, ref_name=branch, type=SnapshotRefType.BRANCH),
    )
    requirements = (
        AssertRefSnapshotId(snapshot_id=metadata.refs[branch].snapshot_id if branch in metadata.refs else None, ref=branch),
    )
    return updates, requirements


def commit_snapshot(table: Table, operation: Operation, **kwargs: Any) -> None:
    """Commit a snapshot through pyiceberg's Transaction (which adds assert-table-uuid)."""
    tx = table.transaction()
    tx._apply(*snapshot_changes(table, operation, **kwargs))
    tx.commit_transaction()


def send_snapshot(table: Table, operation: Operation, **kwargs: Any) -> None:
    """Send a snapshot commit straight to the catalog, as a REST client would send it.

    For the commits pyiceberg's own Transaction already refuses on the client (it applies
    the updates locally before committing), so that the catalog-side rejection is captured
    too. Requirements as Transaction.commit_transaction would send them.
    """
    updates, requirements = snapshot_changes(table, operation, **kwargs)
    table.catalog.commit_table(table, requirements + (AssertTableUUID(uuid=table.metadata.table_uuid),), updates)


# --------------------------------------------------------------------------------------
# The scenario
# --------------------------------------------------------------------------------------


def scenario_v3_model(g: ModuleType, catalog: Catalog, name: str, format_version: int) -> None:
    """Wide v3 schema (with timestamp_ns / timestamptz_ns), partitioned, row lineage, refs, evolution."""
    assert format_version == 3
    cat = v3_catalog(g, catalog)
    sc = g.Scenario(cat, name, format_version)
    rec = g.RECORDER
    rejections: list[dict[str, str]] = []

    def expect_rejection(label: str, fn: Any) -> None:
        """A commit pyiceberg must refuse; its capture (result null, error) is kept."""
        rec.step = label
        try:
            fn()
        except Exception as e:  # noqa: BLE001
            rejections.append({"step": label, "error": f"{type(e).__name__}: {e}".splitlines()[0]})
        else:
            raise RuntimeError(f"pyiceberg accepted the commit of step {label!r}, expected a rejection")
        finally:
            rec.step = "unknown"
        sc.table = sc.catalog.load_table(sc.identifier)

    try:
        schema = g.wide_schema(3)
        fid = lambda n: g.field_id(schema, n)  # noqa: E731
        order = SortOrder(SortField(source_id=fid("id"), transform=IdentityTransform(), direction=SortDirection.ASC, null_order=NullOrder.NULLS_FIRST))
        with v3_upgrade_accepted():
            sc.create_transaction(
                schema,
                g.multi_transform_spec(schema),
                order,
                {"format-version": "3", "owner": "floe-golden", "write.parquet.compression-codec": "zstd"},
            )
        files = FakeFiles(sc.t.location())

        def append(records: list[int], branch: str = MAIN_BRANCH) -> None:
            new = [files.new(r) for r in records]
            commit_snapshot(sc.t, Operation.APPEND, added=new, branch=branch)
            if branch == MAIN_BRANCH:
                files.live += new

        def overwrite(records: list[int], remove: int) -> None:
            new, gone = [files.new(r) for r in records], files.live[remove]
            commit_snapshot(sc.t, Operation.OVERWRITE, added=new, removed=[gone])
            files.live = [f for f in files.live if f is not gone] + new

        def delete(remove: int) -> None:
            gone = files.live[remove]
            commit_snapshot(sc.t, Operation.DELETE, removed=[gone])
            files.live = [f for f in files.live if f is not gone]

        sc.step("append-1", lambda: append([1, 1]))  # first-row-id 0, added-rows 2
        sc.step("append-2", lambda: append([1, 2]))  # 2, 3
        sc.step("overwrite", lambda: overwrite([2], remove=0))  # 5, 2
        sc.step("delete", lambda: delete(remove=0))  # 7, 0
        for label, bad_first_row_id in [
            ("append-first-row-id-behind-next-row-id", sc.t.metadata.next_row_id - 1),  # type: ignore[attr-defined]
            ("append-without-first-row-id", None),
        ]:
            for how, fn in [("transaction", commit_snapshot), ("catalog", send_snapshot)]:
                expect_rejection(f"{label}-via-{how}", lambda: fn(sc.t, Operation.APPEND, added=[files.new(1)], first_row_id=bad_first_row_id))

        def sort_order() -> None:
            with sc.t.update_sort_order() as u:
                u.desc("i", IdentityTransform(), NullOrder.NULLS_LAST)
                u.asc("s", TruncateTransform(2), NullOrder.NULLS_FIRST)
                u.asc("tstz_ns", DayTransform())

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

        def add_defaulted_columns() -> None:
            # v3: column defaults (initial-default / write-default), incl. a required column.
            with sc.t.update_schema() as u:
                u.add_column("region", StringType(), required=True, default_value="eu")
                u.add_column("score", LongType(), default_value=7)

        sc.step("add-columns-with-defaults", add_defaulted_columns)
        sc.step("append-after-schema-change", lambda: append([2]))

        def evolve_spec() -> None:
            with sc.t.update_spec() as u:
                u.remove_field("dt_day")
                u.add_field("dt", YearTransform(), "dt_year")
                u.add_field("i", BucketTransform(4), "i_bucket")
                u.rename_field("s_trunc", "s_prefix")
                u.add_field("ts_ns", DayTransform(), "ts_ns_day")
                u.add_field("tstz_ns", HourTransform(), "tstz_ns_hour")

        sc.step("evolve-partition-spec", evolve_spec)
        sc.step("append-after-spec-change", lambda: append([1, 3]))

        def refs() -> None:
            ids = sc.snapshot_ids()
            (
                sc.t.manage_snapshots()
                .create_branch(ids[-1], "dev", max_ref_age_ms=7 * 86_400_000, max_snapshot_age_ms=86_400_000, min_snapshots_to_keep=3)
                .create_tag(ids[0], "v1", max_ref_age_ms=30 * 86_400_000)
                .commit()
            )

        sc.step("create-branch-and-tag", refs)
        sc.step("append-to-branch", lambda: append([4], branch="dev"))
        sc.step("append-after-branch", lambda: append([1]))
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
        sc.step("append-after-rollback", lambda: append([1]))  # next-row-id keeps growing across the rollback
        sc.step("expire-snapshot", lambda: sc.t.maintenance.expire_snapshots().by_id(sc.t.metadata.snapshots[2].snapshot_id).commit())
        sc.step("remove-tag", lambda: sc.t.manage_snapshots().remove_tag("v1").commit())
    except g.Unsupported:
        pass
    sc.finish()
    _document(sc, rejections)


# --------------------------------------------------------------------------------------
# Verification and manifest
# --------------------------------------------------------------------------------------


def _verify(out: Path, commits: Path) -> list[str]:
    """Round-trip every file through pyiceberg and check row lineage; return what was checked."""
    checks: list[str] = []
    files = sorted(out.glob("*.metadata.json"))
    results: dict[str, bytes] = {}
    for p in files:
        raw = p.read_bytes()
        md = TableMetadataUtil.parse_raw(raw.decode("utf-8"))
        assert isinstance(md, TableMetadataV3), p
        assert metadata_json_bytes(md) == raw, f"{p.name}: re-serialisation differs"
        assert md.next_row_id is not None, p
        lineage = 0
        for s in md.snapshots:
            assert s.first_row_id is not None and s.added_rows is not None, (p, s)
            lineage = max(lineage, s.first_row_id + s.added_rows)
        assert md.next_row_id >= lineage, p
        results[json.dumps(json.loads(raw), sort_keys=True)] = raw
    checks.append(f"{len(files)} files: TableMetadataUtil.parse_raw gives TableMetadataV3, re-serialises byte-for-byte")
    checks.append("every snapshot has first-row-id and added-rows; next-row-id >= max(first-row-id + added-rows)")
    n = 0
    for c in sorted(commits.glob("*.json")):
        cap = json.loads(c.read_text())
        req = CommitTableRequest.model_validate(copy.deepcopy(cap["request"]))  # validators mutate their input
        assert json.loads(req.model_dump_json()) == cap["request"], c
        if cap["result"] is not None:
            assert json.dumps(cap["result"], sort_keys=True) in results, f"{c.name}: result is not one of the metadata files"
        n += 1
    checks.append(f"{n} commit captures: request re-parses as CommitTableRequest and re-serialises identically; each result is one of the metadata files")
    return checks


def _document(sc: Any, rejections: list[dict[str, str]]) -> None:
    out = Path(__file__).resolve().parent / sc.name
    commits = out.parent / "commits" / sc.name
    manifest_path = out / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["generator"] = (
        f"pyiceberg {pyiceberg.__version__} SqlCatalog (sqlite) commit path + metadata model, metadata only; "
        "see generate_v3.py (run by generate.py)"
    )
    manifest["metadata-only"] = (
        "No data files, manifests or manifest lists exist: every snapshot's manifest-list (and the "
        "data file paths behind its summary) point at files that were never written, because "
        "pyiceberg 0.12 cannot write v3 manifests. Use these goldens for table metadata and commit "
        "handling only."
    )
    manifest["how-produced"] = [
        "Every file is the result of SqlCatalog.commit_table -> _update_and_stage_table -> "
        "update_table_metadata (pyiceberg.table.update) on the previous file, which pyiceberg "
        "read back with load_table / TableMetadataUtil.parse_raw; 00000 is the result of the "
        "create commit.",
        "Serialisation: ToOutputFile.table_metadata's call (model_dump_json(exclude_none=True), UTF-8) "
        "made as IcebergBaseModel.model_dump_json(metadata) because TableMetadataV3.model_dump_json "
        "only raises NotImplementedError('Writing V3 is not yet supported').",
        "create-table-transaction: request = pyiceberg's CreateTableTransaction for "
        "new_table_metadata(..., properties={'format-version': '3', ...}) (assign-uuid, "
        "upgrade-format-version 3, add-schema, ...; requirement assert-create). Applied by "
        "update_table_metadata to an empty TableMetadataV3 with next-row-id 0 (pyiceberg uses an "
        "empty v1 model) with pyiceberg.table.update.SUPPORTED_TABLE_FORMAT_VERSION raised to 3 for "
        "this commit only (otherwise: 'Unsupported table format version: 3'); on a v3 base the "
        "upgrade is a no-op.",
        "next-row-id 0 at creation is the only value not computed by pyiceberg: pyiceberg 0.12 "
        "never initialises it (new_table_metadata and upgrade-format-version leave it null, and "
        "add-snapshot then keeps it null).",
        "Snapshot steps (append*, overwrite, delete): AddSnapshotUpdate + SetSnapshotRefUpdate(branch) "
        "with AssertRefSnapshotId(branch), as pyiceberg's _SnapshotProducer._commit emits them, "
        "committed through Transaction (which adds assert-table-uuid). Snapshot built with "
        "pyiceberg's Snapshot model: sequence-number = next_sequence_number(), first-row-id = the "
        "table's next-row-id, added-rows = records of the added stand-in data files (pyiceberg's "
        "own producer never sets added-rows), summary from SnapshotSummaryCollector + "
        "update_snapshot_summaries (stand-in files are unpartitioned, so no changed-partition-count), "
        "manifest-list name from _new_manifest_list_file_name. next-row-id is then advanced by "
        "pyiceberg's add-snapshot handler (next-row-id += added-rows).",
        "All other steps use pyiceberg's table API unchanged (update_sort_order, update_schema incl. "
        "default_value, update_spec, manage_snapshots, set/remove properties, update_statistics, "
        "rollback_to_snapshot, maintenance.expire_snapshots).",
    ]
    # Commits pyiceberg refused on purpose; captures are named NNN-<step>.json. Through a
    # Transaction pyiceberg refuses before sending anything (no capture); sent to the catalog
    # directly, the capture holds the request, result null and the error.
    for r in rejections:
        r["capture"] = next((c for c in manifest["commit-captures"] if c.endswith(f"-{r['step']}.json")), None)
    manifest["expected-rejections"] = rejections
    manifest["verification"] = _verify(out, commits)
    with open(manifest_path, "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    print(f"  [{sc.name}] verified: " + "; ".join(manifest["verification"]))
