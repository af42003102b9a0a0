//! The commit language, requirement by requirement and update by update: each one succeeds when
//! it should and fails, with the error kind a REST server maps to the right status, in every
//! way the metadata builder refuses it (interop checklist §2 "Commit protocol").
//!
//! - Requirements: `TableRequirement::check` and `apply_commit` with a requirement list.
//! - JSON: the exact REST names of every requirement and update, legacy aliases, refusals.
//! - Updates: `apply_commit_with_clock` against a small v2 (or v3) fixture table.
//! - Build: the metadata log, no-op commits, `last-updated-ms`.

use std::collections::{BTreeMap, HashSet};

use serde_json::{Value, json};
use table_format::spec::builder::{
    BuildResult, TableMetadataBuilder, apply_commit, apply_commit_with_clock,
};
use table_format::spec::snapshot::{MetadataLogEntry, SnapshotLogEntry};
use table_format::spec::statistics::{
    BlobMetadata, EncryptedKey, PartitionStatisticsFile, StatisticsFile,
};
use table_format::spec::{
    FormatVersion, NestedField, NullOrder, Operation, PrimitiveType, Schema, Snapshot,
    SnapshotReference, SnapshotRetention, SortDirection, SortField, SortOrder, StructType, Summary,
    TableMetadata, TableRequirement, TableUpdate, Transform, Type, UnboundPartitionField,
    UnboundPartitionSpec,
};
use table_format::{Error, ErrorKind, Result};
use uuid::Uuid;

// ---------------------------------------------------------------------------------------------
// Fixture
// ---------------------------------------------------------------------------------------------

/// When the fixture table was created.
const T0: i64 = 1_700_000_000_000;
/// The clock of commits that do not say otherwise.
const T1: i64 = T0 + 10_000;
const LOC: &str = "s3://bucket/warehouse/db/t";
/// The file the base metadata of a commit was read from.
const META0: &str = "s3://bucket/warehouse/db/t/metadata/00000-a.metadata.json";
const OTHER_UUID: &str = "9c12d441-03fe-4693-9a96-a0705ddf69c1";

/// Fields 1..=6: `id` (identifier), `data`, `ts`, and a struct `point` {x, y}.
fn base_fields() -> Vec<NestedField> {
    vec![
        NestedField::required(1, "id", PrimitiveType::Long),
        NestedField::optional(2, "data", PrimitiveType::String),
        NestedField::optional(3, "ts", PrimitiveType::Timestamptz),
        NestedField::optional(
            4,
            "point",
            Type::Struct(StructType::new(vec![
                NestedField::required(5, "x", PrimitiveType::Double),
                NestedField::required(6, "y", PrimitiveType::Double),
            ])),
        ),
    ]
}

fn schema_of(schema_id: i32, identifier: &[i32], fields: Vec<NestedField>) -> Schema {
    Schema::builder()
        .with_schema_id(schema_id)
        .with_identifier_field_ids(identifier.iter().copied())
        .with_fields(fields)
        .build()
        .unwrap()
}

fn base_schema() -> Schema {
    schema_of(0, &[1], base_fields())
}

/// The base schema plus `extra` top-level fields.
fn schema_with(extra: Vec<NestedField>) -> Schema {
    let mut fields = base_fields();
    fields.extend(extra);
    schema_of(0, &[1], fields)
}

fn unbound_field(source: i32, name: &str, transform: Transform) -> UnboundPartitionField {
    UnboundPartitionField {
        source_id: source.into(),
        field_id: None,
        name: name.to_string(),
        transform,
    }
}

fn unbound_spec(fields: Vec<UnboundPartitionField>) -> UnboundPartitionSpec {
    UnboundPartitionSpec {
        spec_id: None,
        fields,
    }
}

/// The fixture's spec: `bucket[16](id)`, which gets partition field id 1000.
fn base_spec() -> UnboundPartitionSpec {
    unbound_spec(vec![unbound_field(1, "id_bucket", Transform::Bucket(16))])
}

fn sort_field(source: i32, direction: SortDirection) -> SortField {
    SortField {
        source_id: source.into(),
        transform: Transform::Identity,
        direction,
        null_order: NullOrder::NullsFirst,
    }
}

/// The fixture's order: `id` ascending, which gets order id 1.
fn base_order() -> SortOrder {
    SortOrder::new(1, vec![sort_field(1, SortDirection::Asc)])
}

/// A fresh table of `format_version`, created at `T0`.
fn table(format_version: i64) -> TableMetadata {
    let properties = BTreeMap::from([
        ("format-version".to_string(), format_version.to_string()),
        ("owner".to_string(), "floe".to_string()),
    ]);
    TableMetadataBuilder::new_table(base_schema(), base_spec(), base_order(), LOC, properties)
        .unwrap()
        .with_now_ms(T0)
        .build()
        .unwrap()
        .metadata
}

fn v2() -> TableMetadata {
    table(2)
}

fn v3() -> TableMetadata {
    table(3)
}

fn snap(id: i64, parent: Option<i64>, seq: i64, ts: i64) -> Snapshot {
    Snapshot {
        snapshot_id: id,
        parent_snapshot_id: parent,
        sequence_number: seq,
        timestamp_ms: ts,
        manifest_list: format!("{LOC}/metadata/snap-{id}.avro"),
        manifests: None,
        summary: Summary::new(Operation::Append),
        schema_id: Some(0),
        first_row_id: None,
        added_rows: None,
        key_id: None,
    }
}

fn v3_snap(id: i64, parent: Option<i64>, seq: i64, first_row_id: i64, added: i64) -> Snapshot {
    Snapshot {
        first_row_id: Some(first_row_id),
        added_rows: Some(added),
        ..snap(id, parent, seq, T1)
    }
}

fn add(snapshot: Snapshot) -> TableUpdate {
    TableUpdate::AddSnapshot { snapshot }
}

fn set_ref(name: &str, reference: SnapshotReference) -> TableUpdate {
    TableUpdate::SetSnapshotRef {
        ref_name: name.to_string(),
        reference,
    }
}

fn main_at(id: i64) -> TableUpdate {
    set_ref("main", SnapshotReference::branch(id))
}

fn tag(id: i64) -> SnapshotReference {
    SnapshotReference {
        snapshot_id: id,
        retention: SnapshotRetention::Tag {
            max_ref_age_ms: None,
        },
    }
}

fn stats(snapshot_id: i64, name: &str) -> StatisticsFile {
    StatisticsFile {
        snapshot_id,
        statistics_path: format!("{LOC}/metadata/{name}.stats"),
        file_size_in_bytes: 100,
        file_footer_size_in_bytes: 10,
        key_metadata: None,
        blob_metadata: vec![],
    }
}

fn partition_stats(snapshot_id: i64, name: &str) -> PartitionStatisticsFile {
    PartitionStatisticsFile {
        snapshot_id,
        statistics_path: format!("{LOC}/metadata/{name}.parquet"),
        file_size_in_bytes: 50,
    }
}

fn key(id: &str, metadata: &str) -> EncryptedKey {
    EncryptedKey {
        key_id: id.to_string(),
        encrypted_key_metadata: metadata.to_string(),
        encrypted_by_id: None,
        properties: BTreeMap::new(),
    }
}

/// Commit `updates` (no requirements) to `base`, read from `META0`, with the clock at `now`.
fn try_commit_at(
    base: &TableMetadata,
    updates: Vec<TableUpdate>,
    now: i64,
) -> Result<Option<BuildResult>> {
    apply_commit_with_clock(Some((base, META0)), &[], updates, now)
}

fn try_commit(base: &TableMetadata, updates: Vec<TableUpdate>) -> Result<Option<BuildResult>> {
    try_commit_at(base, updates, T1)
}

/// Commit and return the new metadata; the commit must succeed and change something.
#[track_caller]
fn commit_at(base: &TableMetadata, updates: Vec<TableUpdate>, now: i64) -> TableMetadata {
    match try_commit_at(base, updates, now) {
        Ok(Some(r)) => r.metadata,
        Ok(None) => panic!("the commit changed nothing"),
        Err(e) => panic!("the commit failed: {e}"),
    }
}

#[track_caller]
fn commit(base: &TableMetadata, updates: Vec<TableUpdate>) -> TableMetadata {
    commit_at(base, updates, T1)
}

/// The commit must succeed without changing anything (no new metadata file).
#[track_caller]
fn assert_no_op(base: &TableMetadata, updates: Vec<TableUpdate>) {
    match try_commit(base, updates) {
        Ok(None) => {}
        Ok(Some(r)) => panic!("expected a no-op, but it changed: {:?}", r.changes),
        Err(e) => panic!("expected a no-op, but it failed: {e}"),
    }
}

/// The result must be an error of `kind` whose message mentions `needle`.
#[track_caller]
fn assert_fails<T: std::fmt::Debug>(result: Result<T>, kind: ErrorKind, needle: &str) -> Error {
    match result {
        Ok(v) => panic!("expected {kind} mentioning '{needle}', got Ok({v:?})"),
        Err(e) => {
            assert_eq!(e.kind(), kind, "wrong kind: {e}");
            assert!(
                e.message().contains(needle),
                "'{}' does not mention '{needle}'",
                e.message()
            );
            e
        }
    }
}

#[track_caller]
fn assert_refused(base: &TableMetadata, updates: Vec<TableUpdate>, needle: &str) {
    assert_fails(try_commit(base, updates), ErrorKind::InvalidUpdate, needle);
}

/// Append snapshot `id` (child of the current one) to main at time `ts`.
fn append(base: &TableMetadata, id: i64, ts: i64) -> TableMetadata {
    let parent = base.current_snapshot_id();
    let seq = base.next_sequence_number();
    commit_at(base, vec![add(snap(id, parent, seq, ts)), main_at(id)], ts)
}

/// A v2 table with snapshots 1 <- 2 <- 3 on main (made current at T0+1000, +2000, +3000), tag
/// `t1` at 1, branch `b` at 2, and statistics and partition statistics for 1 and 2.
fn with_history() -> TableMetadata {
    let mut md = v2();
    for id in 1..=3 {
        md = append(&md, id, T0 + id * 1000);
    }
    commit_at(
        &md,
        vec![
            set_ref("t1", tag(1)),
            set_ref("b", SnapshotReference::branch(2)),
            TableUpdate::SetStatistics {
                snapshot_id: None,
                statistics: stats(1, "s1"),
            },
            TableUpdate::SetStatistics {
                snapshot_id: None,
                statistics: stats(2, "s2"),
            },
            TableUpdate::SetPartitionStatistics {
                partition_statistics: partition_stats(1, "p1"),
            },
            TableUpdate::SetPartitionStatistics {
                partition_statistics: partition_stats(2, "p2"),
            },
        ],
        T0 + 4000,
    )
}

fn create_updates(uuid: Uuid) -> Vec<TableUpdate> {
    vec![
        TableUpdate::AssignUuid { uuid },
        TableUpdate::UpgradeFormatVersion { format_version: 2 },
        TableUpdate::AddSchema {
            schema: base_schema(),
            last_column_id: None,
        },
        TableUpdate::SetCurrentSchema { schema_id: -1 },
        TableUpdate::AddSpec { spec: base_spec() },
        TableUpdate::SetDefaultSpec { spec_id: -1 },
        TableUpdate::AddSortOrder {
            sort_order: base_order(),
        },
        TableUpdate::SetDefaultSortOrder { sort_order_id: -1 },
        TableUpdate::SetLocation {
            location: LOC.to_string(),
        },
    ]
}

fn snapshot_ids(md: &TableMetadata) -> Vec<i64> {
    md.snapshots().iter().map(|s| s.snapshot_id).collect()
}

fn ref_names(md: &TableMetadata) -> Vec<&str> {
    md.refs().keys().map(String::as_str).collect()
}

#[test]
fn the_fixture_table_is_what_the_tests_assume() {
    let md = v2();
    assert_eq!(md.format_version(), FormatVersion::V2);
    assert_eq!(md.location(), LOC);
    assert_eq!(md.last_column_id(), 6);
    assert_eq!(md.current_schema_id(), 0);
    assert_eq!(md.default_spec_id(), 0);
    assert_eq!(md.last_partition_id(), 1000);
    assert_eq!(md.default_partition_spec().fields()[0].field_id, 1000);
    assert_eq!(md.default_sort_order_id(), 1);
    assert_eq!(md.last_updated_ms(), T0);
    assert_eq!(md.next_row_id(), None);
    assert_eq!(v3().next_row_id(), Some(0));
    let h = with_history();
    assert_eq!(snapshot_ids(&h), vec![1, 2, 3]);
    assert_eq!(h.current_snapshot_id(), Some(3));
    assert_eq!(ref_names(&h), vec!["b", "main", "t1"]);
    assert_eq!(h.last_sequence_number(), 3);
    assert_eq!(h.snapshot_log().len(), 3);
}

// ---------------------------------------------------------------------------------------------
// Requirements
// ---------------------------------------------------------------------------------------------

/// The check must fail with a commit conflict that names the requirement type.
#[track_caller]
fn assert_conflict(requirement: &TableRequirement, md: Option<&TableMetadata>) {
    let e = assert_fails(
        requirement.check(md),
        ErrorKind::CommitConflict,
        requirement.kind(),
    );
    assert!(e.is_retryable());
}

#[test]
fn assert_create_passes_when_the_table_does_not_exist() {
    TableRequirement::AssertCreate.check(None).unwrap();
    let uuid = Uuid::parse_str(OTHER_UUID).unwrap();
    let created = apply_commit(
        None,
        &[TableRequirement::AssertCreate],
        create_updates(uuid),
    )
    .unwrap()
    .expect("a create always writes metadata");
    assert_eq!(created.metadata.table_uuid(), uuid);
    assert_eq!(created.metadata.location(), LOC);
    assert_eq!(created.metadata.metadata_log(), &[]);
}

/// DuckDB 1.5 sends `set-current-schema` after the spec and sort order of a new table: they
/// bind to the schema added in the same commit.
#[test]
fn create_binds_spec_and_order_to_the_added_schema_when_current_is_set_last() {
    let uuid = Uuid::parse_str(OTHER_UUID).unwrap();
    let mut updates = create_updates(uuid);
    let set_current = updates.remove(3);
    assert!(matches!(set_current, TableUpdate::SetCurrentSchema { .. }));
    updates.push(set_current);
    let created = apply_commit(None, &[TableRequirement::AssertCreate], updates)
        .unwrap()
        .expect("a create always writes metadata");
    let reference = apply_commit(
        None,
        &[TableRequirement::AssertCreate],
        create_updates(uuid),
    )
    .unwrap()
    .unwrap();
    assert_eq!(created.metadata.current_schema_id(), 0);
    assert_eq!(
        created.metadata.default_partition_spec(),
        reference.metadata.default_partition_spec()
    );
    assert_eq!(
        created.metadata.default_sort_order_id(),
        reference.metadata.default_sort_order_id()
    );
}

#[test]
fn assert_create_conflicts_when_the_table_exists() {
    let md = v2();
    assert_conflict(&TableRequirement::AssertCreate, Some(&md));
    let uuid = Uuid::parse_str(OTHER_UUID).unwrap();
    assert_fails(
        apply_commit(
            Some((&md, META0)),
            &[TableRequirement::AssertCreate],
            create_updates(uuid),
        ),
        ErrorKind::CommitConflict,
        "assert-create",
    );
}

#[test]
fn assert_create_with_another_requirement_is_an_invalid_update() {
    let uuid = Uuid::parse_str(OTHER_UUID).unwrap();
    let requirements = [
        TableRequirement::AssertCreate,
        TableRequirement::AssertRefSnapshotId {
            r#ref: "main".into(),
            snapshot_id: None,
        },
    ];
    assert_fails(
        apply_commit(None, &requirements, create_updates(uuid)),
        ErrorKind::InvalidUpdate,
        "assert-create must be the only requirement",
    );
}

#[test]
fn assert_table_uuid_passes_on_the_same_uuid_and_conflicts_on_another() {
    let md = v2();
    TableRequirement::AssertTableUuid {
        uuid: md.table_uuid(),
    }
    .check(Some(&md))
    .unwrap();
    assert_conflict(
        &TableRequirement::AssertTableUuid {
            uuid: Uuid::parse_str(OTHER_UUID).unwrap(),
        },
        Some(&md),
    );
}

#[test]
fn assert_table_uuid_compares_an_uppercase_uuid_case_insensitively() {
    let md = v2();
    let upper = md.table_uuid().to_string().to_uppercase();
    let r: TableRequirement =
        serde_json::from_value(json!({"type": "assert-table-uuid", "uuid": upper})).unwrap();
    r.check(Some(&md)).unwrap();
    apply_commit(Some((&md, META0)), &[r], vec![]).unwrap();
}

fn assert_ref(name: &str, snapshot_id: Option<i64>) -> TableRequirement {
    TableRequirement::AssertRefSnapshotId {
        r#ref: name.to_string(),
        snapshot_id,
    }
}

#[test]
fn assert_ref_snapshot_id_null_passes_when_the_ref_is_absent() {
    assert_ref("main", None).check(Some(&v2())).unwrap();
    assert_ref("dev", None)
        .check(Some(&with_history()))
        .unwrap();
}

#[test]
fn assert_ref_snapshot_id_null_conflicts_when_the_ref_exists() {
    assert_conflict(&assert_ref("main", None), Some(&with_history()));
}

#[test]
fn assert_ref_snapshot_id_passes_when_the_ref_is_at_that_snapshot() {
    let md = with_history();
    assert_ref("main", Some(3)).check(Some(&md)).unwrap();
    assert_ref("t1", Some(1)).check(Some(&md)).unwrap();
}

#[test]
fn assert_ref_snapshot_id_conflicts_when_the_ref_moved() {
    assert_conflict(&assert_ref("main", Some(2)), Some(&with_history()));
}

#[test]
fn assert_ref_snapshot_id_conflicts_when_the_ref_is_absent() {
    assert_conflict(&assert_ref("main", Some(1)), Some(&v2()));
    assert_conflict(&assert_ref("dev", Some(1)), Some(&with_history()));
}

#[test]
fn assert_last_assigned_field_id_passes_on_equal_and_conflicts_otherwise() {
    let md = v2();
    let ok = TableRequirement::AssertLastAssignedFieldId {
        last_assigned_field_id: 6,
    };
    ok.check(Some(&md)).unwrap();
    for other in [5, 7] {
        assert_conflict(
            &TableRequirement::AssertLastAssignedFieldId {
                last_assigned_field_id: other,
            },
            Some(&md),
        );
    }
}

#[test]
fn assert_current_schema_id_passes_on_equal_and_conflicts_otherwise() {
    let md = v2();
    TableRequirement::AssertCurrentSchemaId {
        current_schema_id: 0,
    }
    .check(Some(&md))
    .unwrap();
    assert_conflict(
        &TableRequirement::AssertCurrentSchemaId {
            current_schema_id: 1,
        },
        Some(&md),
    );
}

#[test]
fn assert_last_assigned_partition_id_passes_on_equal_and_conflicts_otherwise() {
    let md = v2();
    TableRequirement::AssertLastAssignedPartitionId {
        last_assigned_partition_id: 1000,
    }
    .check(Some(&md))
    .unwrap();
    assert_conflict(
        &TableRequirement::AssertLastAssignedPartitionId {
            last_assigned_partition_id: 999,
        },
        Some(&md),
    );
}

#[test]
fn assert_default_spec_id_passes_on_equal_and_conflicts_otherwise() {
    let md = v2();
    TableRequirement::AssertDefaultSpecId { default_spec_id: 0 }
        .check(Some(&md))
        .unwrap();
    assert_conflict(
        &TableRequirement::AssertDefaultSpecId { default_spec_id: 1 },
        Some(&md),
    );
}

#[test]
fn assert_default_sort_order_id_passes_on_equal_and_conflicts_otherwise() {
    let md = v2();
    TableRequirement::AssertDefaultSortOrderId {
        default_sort_order_id: 1,
    }
    .check(Some(&md))
    .unwrap();
    assert_conflict(
        &TableRequirement::AssertDefaultSortOrderId {
            default_sort_order_id: 0,
        },
        Some(&md),
    );
}

fn every_non_create_requirement(md: &TableMetadata) -> Vec<TableRequirement> {
    vec![
        TableRequirement::AssertTableUuid {
            uuid: md.table_uuid(),
        },
        assert_ref("main", None),
        TableRequirement::AssertLastAssignedFieldId {
            last_assigned_field_id: md.last_column_id(),
        },
        TableRequirement::AssertCurrentSchemaId {
            current_schema_id: md.current_schema_id(),
        },
        TableRequirement::AssertLastAssignedPartitionId {
            last_assigned_partition_id: md.last_partition_id(),
        },
        TableRequirement::AssertDefaultSpecId {
            default_spec_id: md.default_spec_id(),
        },
        TableRequirement::AssertDefaultSortOrderId {
            default_sort_order_id: md.default_sort_order_id(),
        },
    ]
}

#[test]
fn every_non_create_requirement_conflicts_against_a_missing_table() {
    let md = v2();
    let requirements = every_non_create_requirement(&md);
    assert_eq!(requirements.len(), 7);
    for r in &requirements {
        // Each holds against the table...
        r.check(Some(&md)).unwrap();
        // ...and conflicts once it is gone.
        assert_conflict(r, None);
        let e = assert_fails(
            apply_commit(None, std::slice::from_ref(r), vec![]),
            ErrorKind::CommitConflict,
            r.kind(),
        );
        assert!(e.message().contains("does not exist"), "{e}");
    }
}

#[test]
fn a_commit_without_requirements_against_a_missing_table_is_refused() {
    assert_fails(
        apply_commit(
            None,
            &[],
            vec![TableUpdate::SetLocation {
                location: LOC.into(),
            }],
        ),
        ErrorKind::InvalidUpdate,
        "assert-create",
    );
}

#[test]
fn a_failed_requirement_changes_nothing() {
    let md = with_history();
    let before = md.clone();
    let json_before = md.to_json().unwrap();
    let requirements = [
        TableRequirement::AssertTableUuid {
            uuid: md.table_uuid(),
        },
        assert_ref("main", Some(2)), // main is at 3
    ];
    let updates = vec![
        add(snap(4, Some(2), 4, T1)),
        main_at(4),
        TableUpdate::SetProperties {
            updates: BTreeMap::from([("k".to_string(), "v".to_string())]),
        },
    ];
    let result = apply_commit_with_clock(Some((&md, META0)), &requirements, updates, T1);
    assert_fails(result, ErrorKind::CommitConflict, "assert-ref-snapshot-id");
    assert_eq!(md, before);
    assert_eq!(md.to_json().unwrap(), json_before);
}

#[test]
fn every_requirement_that_holds_lets_the_commit_apply() {
    let md = with_history();
    let requirements = every_non_create_requirement(&md)
        .into_iter()
        .map(|r| match r {
            TableRequirement::AssertRefSnapshotId { .. } => assert_ref("main", Some(3)),
            other => other,
        })
        .collect::<Vec<_>>();
    let result = apply_commit_with_clock(
        Some((&md, META0)),
        &requirements,
        vec![add(snap(4, Some(3), 4, T1)), main_at(4)],
        T1,
    )
    .unwrap()
    .unwrap();
    assert_eq!(result.metadata.current_snapshot_id(), Some(4));
}

// ---------------------------------------------------------------------------------------------
// JSON
// ---------------------------------------------------------------------------------------------

#[test]
fn every_requirement_round_trips_with_its_rest_json_names() {
    let uuid = Uuid::parse_str(OTHER_UUID).unwrap();
    let cases: Vec<(TableRequirement, Value)> = vec![
        (
            TableRequirement::AssertCreate,
            json!({"type": "assert-create"}),
        ),
        (
            TableRequirement::AssertTableUuid { uuid },
            json!({"type": "assert-table-uuid", "uuid": OTHER_UUID}),
        ),
        (
            assert_ref("main", Some(3051729675574597004)),
            json!({"type": "assert-ref-snapshot-id", "ref": "main", "snapshot-id": 3051729675574597004i64}),
        ),
        (
            assert_ref("dev", None),
            json!({"type": "assert-ref-snapshot-id", "ref": "dev", "snapshot-id": null}),
        ),
        (
            TableRequirement::AssertLastAssignedFieldId {
                last_assigned_field_id: 23,
            },
            json!({"type": "assert-last-assigned-field-id", "last-assigned-field-id": 23}),
        ),
        (
            TableRequirement::AssertCurrentSchemaId {
                current_schema_id: 1,
            },
            json!({"type": "assert-current-schema-id", "current-schema-id": 1}),
        ),
        (
            TableRequirement::AssertLastAssignedPartitionId {
                last_assigned_partition_id: 1005,
            },
            json!({"type": "assert-last-assigned-partition-id", "last-assigned-partition-id": 1005}),
        ),
        (
            TableRequirement::AssertDefaultSpecId { default_spec_id: 2 },
            json!({"type": "assert-default-spec-id", "default-spec-id": 2}),
        ),
        (
            TableRequirement::AssertDefaultSortOrderId {
                default_sort_order_id: 3,
            },
            json!({"type": "assert-default-sort-order-id", "default-sort-order-id": 3}),
        ),
    ];
    let kinds: HashSet<&str> = cases.iter().map(|(r, _)| r.kind()).collect();
    assert_eq!(kinds.len(), 8, "every requirement type is covered");
    for (requirement, expected) in cases {
        assert_eq!(
            serde_json::to_value(&requirement).unwrap(),
            expected,
            "serializing {requirement:?}"
        );
        let parsed: TableRequirement = serde_json::from_value(expected.clone()).unwrap();
        assert_eq!(parsed, requirement, "parsing {expected}");
        assert_eq!(expected["type"], requirement.kind());
    }
}

#[test]
fn assert_ref_snapshot_id_serializes_an_explicit_null() {
    let text = serde_json::to_string(&assert_ref("main", None)).unwrap();
    assert!(text.contains(r#""snapshot-id":null"#), "{text}");
}

fn every_update_with_its_json() -> Vec<(TableUpdate, Value)> {
    let uuid = Uuid::parse_str(OTHER_UUID).unwrap();
    let added_schema = schema_of(
        1,
        &[1],
        vec![
            NestedField::required(1, "id", PrimitiveType::Long),
            NestedField::optional(2, "data", PrimitiveType::String).with_doc("payload"),
        ],
    );
    let mut summary = Summary::new(Operation::Append);
    summary.set("added-data-files", "1");
    let snapshot = Snapshot {
        summary,
        ..snap(2, Some(1), 2, T0 + 2000)
    };
    let manifest_list = snapshot.manifest_list.clone();
    vec![
        (
            TableUpdate::AssignUuid { uuid },
            json!({"action": "assign-uuid", "uuid": OTHER_UUID}),
        ),
        (
            TableUpdate::UpgradeFormatVersion { format_version: 3 },
            json!({"action": "upgrade-format-version", "format-version": 3}),
        ),
        (
            TableUpdate::AddSchema {
                schema: added_schema.clone(),
                last_column_id: Some(2),
            },
            json!({"action": "add-schema", "last-column-id": 2, "schema": {
            "type": "struct", "schema-id": 1, "identifier-field-ids": [1], "fields": [
                {"id": 1, "name": "id", "required": true, "type": "long"},
                {"id": 2, "name": "data", "required": false, "type": "string", "doc": "payload"}
            ]}}),
        ),
        (
            TableUpdate::AddSchema {
                schema: added_schema,
                last_column_id: None,
            },
            json!({"action": "add-schema", "schema": {
            "type": "struct", "schema-id": 1, "identifier-field-ids": [1], "fields": [
                {"id": 1, "name": "id", "required": true, "type": "long"},
                {"id": 2, "name": "data", "required": false, "type": "string", "doc": "payload"}
            ]}}),
        ),
        (
            TableUpdate::SetCurrentSchema { schema_id: -1 },
            json!({"action": "set-current-schema", "schema-id": -1}),
        ),
        (
            TableUpdate::AddSpec {
                spec: UnboundPartitionSpec {
                    spec_id: Some(1),
                    fields: vec![
                        UnboundPartitionField {
                            field_id: Some(1000),
                            ..unbound_field(1, "id_bucket", Transform::Bucket(16))
                        },
                        unbound_field(3, "ts_day", Transform::Day),
                    ],
                },
            },
            json!({"action": "add-spec", "spec": {"spec-id": 1, "fields": [
                {"source-id": 1, "field-id": 1000, "name": "id_bucket", "transform": "bucket[16]"},
                {"source-id": 3, "name": "ts_day", "transform": "day"}
            ]}}),
        ),
        (
            TableUpdate::SetDefaultSpec { spec_id: -1 },
            json!({"action": "set-default-spec", "spec-id": -1}),
        ),
        (
            TableUpdate::AddSortOrder {
                sort_order: SortOrder::new(
                    1,
                    vec![
                        sort_field(1, SortDirection::Asc),
                        SortField {
                            source_id: 3.into(),
                            transform: Transform::Day,
                            direction: SortDirection::Desc,
                            null_order: NullOrder::NullsLast,
                        },
                    ],
                ),
            },
            json!({"action": "add-sort-order", "sort-order": {"order-id": 1, "fields": [
                {"source-id": 1, "transform": "identity", "direction": "asc", "null-order": "nulls-first"},
                {"source-id": 3, "transform": "day", "direction": "desc", "null-order": "nulls-last"}
            ]}}),
        ),
        (
            TableUpdate::SetDefaultSortOrder { sort_order_id: -1 },
            json!({"action": "set-default-sort-order", "sort-order-id": -1}),
        ),
        (
            add(snapshot),
            json!({"action": "add-snapshot", "snapshot": {
                "snapshot-id": 2, "parent-snapshot-id": 1, "sequence-number": 2,
                "timestamp-ms": T0 + 2000, "manifest-list": manifest_list,
                "summary": {"operation": "append", "added-data-files": "1"}, "schema-id": 0
            }}),
        ),
        (
            add(v3_snap(5, None, 1, 100, 42)),
            json!({"action": "add-snapshot", "snapshot": {
                "snapshot-id": 5, "sequence-number": 1, "timestamp-ms": T1,
                "manifest-list": format!("{LOC}/metadata/snap-5.avro"),
                "summary": {"operation": "append"}, "schema-id": 0,
                "first-row-id": 100, "added-rows": 42
            }}),
        ),
        (
            set_ref(
                "main",
                SnapshotReference {
                    snapshot_id: 1,
                    retention: SnapshotRetention::Branch {
                        min_snapshots_to_keep: Some(5),
                        max_snapshot_age_ms: Some(86_400_000),
                        max_ref_age_ms: Some(604_800_000),
                    },
                },
            ),
            json!({"action": "set-snapshot-ref", "ref-name": "main", "type": "branch",
                "snapshot-id": 1, "max-ref-age-ms": 604_800_000, "max-snapshot-age-ms": 86_400_000,
                "min-snapshots-to-keep": 5}),
        ),
        (
            main_at(3051729675574597004),
            json!({"action": "set-snapshot-ref", "ref-name": "main", "type": "branch",
                "snapshot-id": 3051729675574597004i64}),
        ),
        (
            set_ref(
                "v1.0",
                SnapshotReference {
                    snapshot_id: 1,
                    retention: SnapshotRetention::Tag {
                        max_ref_age_ms: Some(3_600_000),
                    },
                },
            ),
            json!({"action": "set-snapshot-ref", "ref-name": "v1.0", "type": "tag",
                "snapshot-id": 1, "max-ref-age-ms": 3_600_000}),
        ),
        (
            TableUpdate::RemoveSnapshots {
                snapshot_ids: vec![1, 2],
            },
            json!({"action": "remove-snapshots", "snapshot-ids": [1, 2]}),
        ),
        (
            TableUpdate::RemoveSnapshotRef {
                ref_name: "dev".into(),
            },
            json!({"action": "remove-snapshot-ref", "ref-name": "dev"}),
        ),
        (
            TableUpdate::SetLocation {
                location: "s3://bucket/new".into(),
            },
            json!({"action": "set-location", "location": "s3://bucket/new"}),
        ),
        (
            TableUpdate::SetProperties {
                updates: BTreeMap::from([
                    ("owner".to_string(), "floe".to_string()),
                    ("write.format.default".to_string(), "parquet".to_string()),
                ]),
            },
            json!({"action": "set-properties", "updates": {"owner": "floe", "write.format.default": "parquet"}}),
        ),
        (
            TableUpdate::RemoveProperties {
                removals: vec!["owner".into(), "comment".into()],
            },
            json!({"action": "remove-properties", "removals": ["owner", "comment"]}),
        ),
        (
            TableUpdate::SetStatistics {
                snapshot_id: Some(1),
                statistics: StatisticsFile {
                    blob_metadata: vec![BlobMetadata {
                        blob_type: "apache-datasketches-theta-v1".into(),
                        snapshot_id: 1,
                        sequence_number: 1,
                        fields: vec![1],
                        properties: BTreeMap::from([("ndv".to_string(), "3".to_string())]),
                    }],
                    ..stats(1, "s1")
                },
            },
            json!({"action": "set-statistics", "snapshot-id": 1, "statistics": {
                "snapshot-id": 1, "statistics-path": format!("{LOC}/metadata/s1.stats"),
                "file-size-in-bytes": 100, "file-footer-size-in-bytes": 10,
                "blob-metadata": [{"type": "apache-datasketches-theta-v1", "snapshot-id": 1,
                    "sequence-number": 1, "fields": [1], "properties": {"ndv": "3"}}]
            }}),
        ),
        (
            TableUpdate::SetStatistics {
                snapshot_id: None,
                statistics: stats(1, "s1"),
            },
            json!({"action": "set-statistics", "statistics": {
                "snapshot-id": 1, "statistics-path": format!("{LOC}/metadata/s1.stats"),
                "file-size-in-bytes": 100, "file-footer-size-in-bytes": 10, "blob-metadata": []
            }}),
        ),
        (
            TableUpdate::RemoveStatistics { snapshot_id: 1 },
            json!({"action": "remove-statistics", "snapshot-id": 1}),
        ),
        (
            TableUpdate::SetPartitionStatistics {
                partition_statistics: partition_stats(1, "p1"),
            },
            json!({"action": "set-partition-statistics", "partition-statistics": {
                "snapshot-id": 1, "statistics-path": format!("{LOC}/metadata/p1.parquet"),
                "file-size-in-bytes": 50
            }}),
        ),
        (
            TableUpdate::RemovePartitionStatistics { snapshot_id: 1 },
            json!({"action": "remove-partition-statistics", "snapshot-id": 1}),
        ),
        (
            TableUpdate::RemovePartitionSpecs {
                spec_ids: vec![1, 2],
            },
            json!({"action": "remove-partition-specs", "spec-ids": [1, 2]}),
        ),
        (
            TableUpdate::RemoveSchemas {
                schema_ids: vec![0],
            },
            json!({"action": "remove-schemas", "schema-ids": [0]}),
        ),
        (
            TableUpdate::AddEncryptionKey {
                encryption_key: EncryptedKey {
                    encrypted_by_id: Some("kms-1".into()),
                    properties: BTreeMap::from([(
                        "purpose".to_string(),
                        "manifest-list".to_string(),
                    )]),
                    ..key("k1", "AAECAw==")
                },
            },
            json!({"action": "add-encryption-key", "encryption-key": {
                "key-id": "k1", "encrypted-key-metadata": "AAECAw==",
                "encrypted-by-id": "kms-1", "properties": {"purpose": "manifest-list"}
            }}),
        ),
        (
            TableUpdate::AddEncryptionKey {
                encryption_key: key("k2", "BAU="),
            },
            json!({"action": "add-encryption-key", "encryption-key": {
                "key-id": "k2", "encrypted-key-metadata": "BAU="
            }}),
        ),
        (
            TableUpdate::RemoveEncryptionKey {
                key_id: "k1".into(),
            },
            json!({"action": "remove-encryption-key", "key-id": "k1"}),
        ),
    ]
}

#[test]
fn every_update_round_trips_with_its_rest_json_names() {
    let cases = every_update_with_its_json();
    let actions: HashSet<&str> = cases.iter().map(|(u, _)| u.action()).collect();
    assert_eq!(actions.len(), 23, "every update action is covered");
    for (update, expected) in cases {
        assert_eq!(
            serde_json::to_value(&update).unwrap(),
            expected,
            "serializing {update:?}"
        );
        let parsed: TableUpdate = serde_json::from_value(expected.clone())
            .unwrap_or_else(|e| panic!("parsing {expected}: {e}"));
        assert_eq!(parsed, update, "parsing {expected}");
        assert_eq!(expected["action"], update.action());
    }
}

#[test]
fn legacy_updated_and_removed_field_names_parse() {
    let set: TableUpdate =
        serde_json::from_value(json!({"action": "set-properties", "updated": {"a": "1"}})).unwrap();
    assert_eq!(
        set,
        TableUpdate::SetProperties {
            updates: BTreeMap::from([("a".to_string(), "1".to_string())]),
        }
    );
    let remove: TableUpdate =
        serde_json::from_value(json!({"action": "remove-properties", "removed": ["a", "b"]}))
            .unwrap();
    assert_eq!(
        remove,
        TableUpdate::RemoveProperties {
            removals: vec!["a".into(), "b".into()],
        }
    );
    // Written back, they use the current names.
    assert_eq!(
        serde_json::to_value(&set).unwrap(),
        json!({"action": "set-properties", "updates": {"a": "1"}})
    );
    assert_eq!(
        serde_json::to_value(&remove).unwrap(),
        json!({"action": "remove-properties", "removals": ["a", "b"]})
    );
}

#[test]
fn an_unknown_action_or_requirement_type_fails_to_parse() {
    for update in [
        json!({"action": "enable-row-lineage"}),
        json!({"action": "add-view-version", "view-version": {}}),
        json!({"action": "set-current-view-version", "view-version-id": -1}),
        json!({"action": "Set-Location", "location": "s3://b/t"}),
        json!({"location": "s3://b/t"}),
    ] {
        assert!(
            serde_json::from_value::<TableUpdate>(update.clone()).is_err(),
            "{update} parsed"
        );
    }
    for requirement in [
        json!({"type": "assert-view-uuid", "uuid": OTHER_UUID}),
        json!({"type": "assert-nothing"}),
        json!({"uuid": OTHER_UUID}),
    ] {
        assert!(
            serde_json::from_value::<TableRequirement>(requirement.clone()).is_err(),
            "{requirement} parsed"
        );
    }
}

#[test]
fn a_wrong_field_type_fails_to_parse() {
    for update in [
        json!({"action": "assign-uuid", "uuid": "not-a-uuid"}),
        json!({"action": "assign-uuid", "uuid": 7}),
        json!({"action": "upgrade-format-version", "format-version": "3"}),
        json!({"action": "set-current-schema", "schema-id": "1"}),
        json!({"action": "set-default-spec", "spec-id": 1.5}),
        json!({"action": "remove-snapshots", "snapshot-ids": 1}),
        json!({"action": "remove-snapshots", "snapshot-ids": ["1"]}),
        json!({"action": "set-snapshot-ref", "ref-name": "main", "type": "branch", "snapshot-id": "1"}),
        json!({"action": "set-snapshot-ref", "ref-name": "main", "type": "trunk", "snapshot-id": 1}),
        json!({"action": "set-snapshot-ref", "ref-name": 1, "type": "branch", "snapshot-id": 1}),
        json!({"action": "set-location", "location": ["s3://b"]}),
        json!({"action": "set-properties", "updates": {"a": 1}}),
        json!({"action": "set-properties", "updates": ["a"]}),
        json!({"action": "remove-properties", "removals": "a"}),
        json!({"action": "remove-statistics", "snapshot-id": "1"}),
        json!({"action": "remove-encryption-key", "key-id": 1}),
        json!({"action": "add-schema", "schema": {"type": "struct", "fields": [{"id": "1", "name": "a", "required": true, "type": "int"}]}}),
        json!({"action": "add-spec", "spec": {"fields": [{"source-id": 1, "name": "a", "transform": 5}]}}),
        json!({"action": "add-sort-order", "sort-order": {"order-id": 1, "fields": [{"source-id": 1, "transform": "identity", "direction": "up", "null-order": "nulls-first"}]}}),
        // A required field missing altogether.
        json!({"action": "assign-uuid"}),
        json!({"action": "set-location"}),
    ] {
        assert!(
            serde_json::from_value::<TableUpdate>(update.clone()).is_err(),
            "{update} parsed"
        );
    }
    for requirement in [
        json!({"type": "assert-table-uuid", "uuid": "xyz"}),
        json!({"type": "assert-ref-snapshot-id", "ref": "main", "snapshot-id": "1"}),
        json!({"type": "assert-ref-snapshot-id", "ref": 1, "snapshot-id": 1}),
        json!({"type": "assert-current-schema-id", "current-schema-id": "0"}),
        json!({"type": "assert-last-assigned-field-id", "last-assigned-field-id": null}),
        json!({"type": "assert-default-sort-order-id", "default-sort-order-id": true}),
    ] {
        assert!(
            serde_json::from_value::<TableRequirement>(requirement.clone()).is_err(),
            "{requirement} parsed"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// assign-uuid, upgrade-format-version
// ---------------------------------------------------------------------------------------------

#[test]
fn assign_uuid_to_the_same_uuid_is_a_no_op() {
    let md = v2();
    assert_no_op(
        &md,
        vec![TableUpdate::AssignUuid {
            uuid: md.table_uuid(),
        }],
    );
}

#[test]
fn assign_uuid_to_another_uuid_on_an_existing_table_is_refused() {
    assert_refused(
        &v2(),
        vec![TableUpdate::AssignUuid {
            uuid: Uuid::parse_str(OTHER_UUID).unwrap(),
        }],
        "cannot change the UUID",
    );
}

#[test]
fn assign_uuid_on_create_sets_the_uuid() {
    let uuid = Uuid::parse_str(OTHER_UUID).unwrap();
    let r = apply_commit(
        None,
        &[TableRequirement::AssertCreate],
        create_updates(uuid),
    )
    .unwrap()
    .unwrap();
    assert_eq!(r.metadata.table_uuid(), uuid);
    assert!(r.changes.contains(&TableUpdate::AssignUuid { uuid }));
}

#[test]
fn assign_uuid_on_create_refuses_the_nil_uuid() {
    let mut updates = create_updates(Uuid::nil());
    updates[0] = TableUpdate::AssignUuid {
        uuid: Uuid::parse_str(OTHER_UUID).unwrap(),
    };
    updates.push(TableUpdate::AssignUuid { uuid: Uuid::nil() });
    assert_fails(
        apply_commit(None, &[TableRequirement::AssertCreate], updates),
        ErrorKind::InvalidUpdate,
        "nil UUID",
    );
}

#[test]
fn upgrade_format_version_to_the_same_version_is_a_no_op() {
    assert_no_op(
        &v2(),
        vec![TableUpdate::UpgradeFormatVersion { format_version: 2 }],
    );
    assert_no_op(
        &v3(),
        vec![TableUpdate::UpgradeFormatVersion { format_version: 3 }],
    );
}

#[test]
fn upgrade_format_version_from_2_to_3_starts_next_row_id_at_0() {
    let md = commit(
        &v2(),
        vec![TableUpdate::UpgradeFormatVersion { format_version: 3 }],
    );
    assert_eq!(md.format_version(), FormatVersion::V3);
    assert_eq!(md.next_row_id(), Some(0));
    let json: Value = serde_json::from_str(&md.to_json().unwrap()).unwrap();
    assert_eq!(json["format-version"], 3);
    assert_eq!(json["next-row-id"], 0);
}

#[test]
fn upgrade_format_version_from_2_to_3_keeps_existing_snapshots() {
    // Snapshots written before the upgrade have no first-row-id: spec "Row Lineage", enabling
    // it on a non-empty table (their rows have null row ids). Java checks first-row-id only
    // on snapshots added after the upgrade.
    let md = commit(
        &with_history(),
        vec![TableUpdate::UpgradeFormatVersion { format_version: 3 }],
    );
    assert_eq!(md.format_version(), FormatVersion::V3);
    assert_eq!(snapshot_ids(&md), vec![1, 2, 3]);
    assert_eq!(md.next_row_id(), Some(0));
    TableMetadata::from_json(&md.to_json().unwrap()).unwrap();
    // New snapshots then carry row ids.
    let md = commit(&md, vec![add(v3_snap(4, Some(3), 4, 0, 10)), main_at(4)]);
    assert_eq!(md.next_row_id(), Some(10));
}

#[test]
fn upgrade_format_version_refuses_a_downgrade() {
    assert_refused(
        &v3(),
        vec![TableUpdate::UpgradeFormatVersion { format_version: 2 }],
        "cannot downgrade",
    );
    assert_refused(
        &v2(),
        vec![TableUpdate::UpgradeFormatVersion { format_version: 1 }],
        "cannot downgrade",
    );
}

#[test]
fn upgrade_format_version_refuses_an_unknown_version() {
    for version in [4, 0, -1] {
        assert_refused(
            &v2(),
            vec![TableUpdate::UpgradeFormatVersion {
                format_version: version,
            }],
            &format!("format-version {version} is not supported"),
        );
    }
}

#[test]
fn upgrade_format_version_on_create_refuses_version_1() {
    let mut updates = create_updates(Uuid::parse_str(OTHER_UUID).unwrap());
    updates[1] = TableUpdate::UpgradeFormatVersion { format_version: 1 };
    assert_fails(
        apply_commit(None, &[TableRequirement::AssertCreate], updates),
        ErrorKind::FeatureUnsupported,
        "does not create format version 1 tables",
    );
}

#[test]
fn upgrade_format_version_on_create_picks_the_version() {
    let mut updates = create_updates(Uuid::parse_str(OTHER_UUID).unwrap());
    updates[1] = TableUpdate::UpgradeFormatVersion { format_version: 3 };
    let r = apply_commit(None, &[TableRequirement::AssertCreate], updates)
        .unwrap()
        .unwrap();
    assert_eq!(r.metadata.format_version(), FormatVersion::V3);
    assert_eq!(r.metadata.next_row_id(), Some(0));
}

// ---------------------------------------------------------------------------------------------
// add-schema, set-current-schema
// ---------------------------------------------------------------------------------------------

fn add_schema(schema: Schema) -> TableUpdate {
    TableUpdate::AddSchema {
        schema,
        last_column_id: None,
    }
}

#[test]
fn add_schema_gets_the_next_schema_id_whatever_the_client_sent() {
    let proposed =
        schema_with(vec![NestedField::optional(7, "extra", PrimitiveType::Int)]).with_schema_id(42);
    let r = try_commit(&v2(), vec![add_schema(proposed)])
        .unwrap()
        .unwrap();
    let md = &r.metadata;
    assert_eq!(
        md.schemas()
            .iter()
            .map(|s| s.schema_id())
            .collect::<Vec<_>>(),
        vec![0, 1]
    );
    assert_eq!(md.current_schema_id(), 0, "adding does not make it current");
    assert!(md.schema_by_id(1).unwrap().field_by_name("extra").is_some());
    match &r.changes[..] {
        [TableUpdate::AddSchema { schema, .. }] => assert_eq!(schema.schema_id(), 1),
        other => panic!("unexpected changes {other:?}"),
    }
    // A second one gets max + 1.
    let md = commit(
        md,
        vec![add_schema(schema_with(vec![NestedField::optional(
            8,
            "more",
            PrimitiveType::Int,
        )]))],
    );
    assert_eq!(md.schemas().last().unwrap().schema_id(), 2);
}

#[test]
fn add_schema_reuses_an_equivalent_schema_without_a_new_entry() {
    let base = v2();
    // Equal to the current schema under another id: nothing to do.
    assert_no_op(
        &base,
        vec![
            add_schema(base_schema().with_schema_id(9)),
            TableUpdate::SetCurrentSchema { schema_id: -1 },
        ],
    );
    // Equal to an older schema: that one becomes current again, nothing is added.
    let evolved = commit(
        &base,
        vec![
            add_schema(schema_with(vec![NestedField::optional(
                7,
                "extra",
                PrimitiveType::Int,
            )])),
            TableUpdate::SetCurrentSchema { schema_id: -1 },
        ],
    );
    assert_eq!(evolved.current_schema_id(), 1);
    let back = commit(
        &evolved,
        vec![
            add_schema(base_schema().with_schema_id(5)),
            TableUpdate::SetCurrentSchema { schema_id: -1 },
        ],
    );
    assert_eq!(back.schemas().len(), 2);
    assert_eq!(back.current_schema_id(), 0);
}

#[test]
fn add_schema_raises_last_column_id_to_the_highest_field_id() {
    let md = commit(
        &v2(),
        vec![add_schema(schema_with(vec![NestedField::optional(
            10,
            "extra",
            PrimitiveType::Int,
        )]))],
    );
    assert_eq!(md.last_column_id(), 10);
    // A schema with fewer columns never lowers it.
    let narrow = schema_of(
        0,
        &[1],
        vec![NestedField::required(1, "id", PrimitiveType::Long)],
    );
    let md = commit(&md, vec![add_schema(narrow)]);
    assert_eq!(md.last_column_id(), 10);
    // The deprecated last-column-id may raise it too.
    let md = commit(
        &md,
        vec![TableUpdate::AddSchema {
            schema: schema_with(vec![NestedField::optional(11, "x2", PrimitiveType::Int)]),
            last_column_id: Some(15),
        }],
    );
    assert_eq!(md.last_column_id(), 15);
}

#[test]
fn add_schema_of_an_existing_schema_with_a_higher_last_column_id_still_raises_it() {
    // A client that added a column and dropped it again sends the old schema with a higher
    // last-column-id; the id stays used (Java records this change too).
    let r = try_commit(
        &v2(),
        vec![TableUpdate::AddSchema {
            schema: base_schema(),
            last_column_id: Some(8),
        }],
    )
    .unwrap()
    .expect("raising last-column-id is a change");
    assert_eq!(r.metadata.last_column_id(), 8);
    assert_eq!(r.metadata.schemas().len(), 1);
}

#[test]
fn add_schema_refuses_a_deprecated_last_column_id_below_the_tables() {
    assert_refused(
        &v2(),
        vec![TableUpdate::AddSchema {
            schema: schema_with(vec![NestedField::optional(7, "extra", PrimitiveType::Int)]),
            last_column_id: Some(5),
        }],
        "last-column-id 5 is below",
    );
}

#[test]
fn add_schema_refuses_v3_only_types_on_a_v2_table_and_accepts_them_on_v3() {
    let ns = schema_with(vec![NestedField::optional(
        7,
        "ts_ns",
        PrimitiveType::TimestampNs,
    )]);
    assert_refused(
        &v2(),
        vec![add_schema(ns.clone())],
        "needs format version 3",
    );
    let nested = schema_with(vec![NestedField::optional(
        7,
        "s",
        Type::Struct(StructType::new(vec![NestedField::optional(
            8,
            "tz_ns",
            PrimitiveType::TimestamptzNs,
        )])),
    )]);
    assert_refused(&v2(), vec![add_schema(nested)], "needs format version 3");
    let md = commit(
        &v3(),
        vec![
            add_schema(ns),
            TableUpdate::SetCurrentSchema { schema_id: -1 },
        ],
    );
    assert_eq!(
        md.current_schema()
            .field_by_name("ts_ns")
            .unwrap()
            .field_type
            .as_primitive(),
        Some(&PrimitiveType::TimestampNs)
    );
}

#[test]
fn add_schema_refuses_defaults_on_a_v2_table_and_accepts_them_on_v3() {
    let with_default = |initial: Option<Value>, write: Option<Value>| {
        let mut f = NestedField::optional(7, "n", PrimitiveType::Int);
        f.initial_default = initial;
        f.write_default = write;
        schema_with(vec![f])
    };
    assert_refused(
        &v2(),
        vec![add_schema(with_default(Some(json!(0)), None))],
        "default value",
    );
    assert_refused(
        &v2(),
        vec![add_schema(with_default(None, Some(json!(1))))],
        "default value",
    );
    let md = commit(
        &v3(),
        vec![add_schema(with_default(Some(json!(0)), Some(json!(1))))],
    );
    let f = md.schema_by_id(1).unwrap().field_by_name("n").unwrap();
    assert_eq!(f.initial_default, Some(json!(0)));
    assert_eq!(f.write_default, Some(json!(1)));
}

#[test]
fn add_schema_with_invalid_identifier_fields_is_refused_when_parsed() {
    // A `Schema` cannot hold invalid identifier fields (its builder checks them), so such an
    // add-schema is refused where it enters: parsing the update.
    for (fields, needle) in [
        (
            json!([{"id": 1, "name": "id", "required": false, "type": "long"}]),
            "must be required",
        ),
        (
            json!([{"id": 1, "name": "id", "required": true, "type": "double"}]),
            "float or double",
        ),
        (
            json!([{"id": 2, "name": "other", "required": true, "type": "long"}]),
            "identifier field id 1",
        ),
    ] {
        let update = json!({"action": "add-schema", "schema": {
            "type": "struct", "schema-id": 1, "identifier-field-ids": [1], "fields": fields}});
        let e = serde_json::from_value::<TableUpdate>(update).unwrap_err();
        assert!(e.to_string().contains(needle), "{e}");
    }
}

#[test]
fn set_current_schema_minus_one_means_the_schema_added_last() {
    let r = try_commit(
        &v2(),
        vec![
            add_schema(schema_with(vec![NestedField::optional(
                7,
                "extra",
                PrimitiveType::Int,
            )])),
            TableUpdate::SetCurrentSchema { schema_id: -1 },
        ],
    )
    .unwrap()
    .unwrap();
    assert_eq!(r.metadata.current_schema_id(), 1);
    assert_eq!(
        r.changes.last(),
        Some(&TableUpdate::SetCurrentSchema { schema_id: -1 })
    );
}

#[test]
fn set_current_schema_by_id_switches_to_an_existing_schema() {
    let md = commit(
        &v2(),
        vec![add_schema(schema_with(vec![NestedField::optional(
            7,
            "extra",
            PrimitiveType::Int,
        )]))],
    );
    let md = commit(&md, vec![TableUpdate::SetCurrentSchema { schema_id: 1 }]);
    assert_eq!(md.current_schema_id(), 1);
    assert_no_op(&md, vec![TableUpdate::SetCurrentSchema { schema_id: 1 }]);
}

#[test]
fn set_current_schema_minus_one_without_an_added_schema_is_refused() {
    assert_refused(
        &v2(),
        vec![TableUpdate::SetCurrentSchema { schema_id: -1 }],
        "this commit added none",
    );
}

#[test]
fn set_current_schema_to_an_unknown_id_is_refused() {
    assert_refused(
        &v2(),
        vec![TableUpdate::SetCurrentSchema { schema_id: 7 }],
        "schema 7 does not exist",
    );
}

#[test]
fn set_current_schema_refuses_a_schema_without_a_default_partition_source() {
    // Column 1 is the source of the default spec's bucket field.
    let without_id = schema_of(
        0,
        &[],
        base_fields().into_iter().filter(|f| f.id != 1).collect(),
    );
    assert_refused(
        &v2(),
        vec![
            add_schema(without_id),
            TableUpdate::SetCurrentSchema { schema_id: -1 },
        ],
        "breaks the default partition spec",
    );
}

#[test]
fn set_current_schema_refuses_a_schema_without_a_default_sort_source() {
    let md = commit(
        &v2(),
        vec![
            TableUpdate::AddSpec {
                spec: unbound_spec(vec![]),
            },
            TableUpdate::SetDefaultSpec { spec_id: -1 },
            TableUpdate::AddSortOrder {
                sort_order: SortOrder::new(1, vec![sort_field(2, SortDirection::Asc)]),
            },
            TableUpdate::SetDefaultSortOrder { sort_order_id: -1 },
        ],
    );
    let without_data = schema_of(
        0,
        &[1],
        base_fields().into_iter().filter(|f| f.id != 2).collect(),
    );
    assert_refused(
        &md,
        vec![
            add_schema(without_data),
            TableUpdate::SetCurrentSchema { schema_id: -1 },
        ],
        "breaks the default sort order",
    );
}

// ---------------------------------------------------------------------------------------------
// add-spec, set-default-spec
// ---------------------------------------------------------------------------------------------

fn add_spec(fields: Vec<UnboundPartitionField>) -> TableUpdate {
    TableUpdate::AddSpec {
        spec: unbound_spec(fields),
    }
}

#[test]
fn add_spec_assigns_field_ids_after_last_partition_id() {
    let md = commit(
        &v2(),
        vec![TableUpdate::AddSpec {
            spec: UnboundPartitionSpec {
                spec_id: Some(9), // the server assigns its own
                fields: vec![
                    unbound_field(2, "data", Transform::Identity),
                    unbound_field(3, "ts_day", Transform::Day),
                ],
            },
        }],
    );
    assert_eq!(
        md.partition_specs()
            .iter()
            .map(|s| s.spec_id())
            .collect::<Vec<_>>(),
        vec![0, 1]
    );
    let spec = md.partition_spec_by_id(1).unwrap();
    assert_eq!(
        spec.fields().iter().map(|f| f.field_id).collect::<Vec<_>>(),
        vec![1001, 1002]
    );
    assert_eq!(md.last_partition_id(), 1002);
    assert_eq!(
        md.default_spec_id(),
        0,
        "adding does not make it the default"
    );
}

#[test]
fn add_spec_reuses_the_id_of_an_equivalent_field() {
    let md = commit(
        &v2(),
        vec![add_spec(vec![
            unbound_field(2, "data", Transform::Identity),
            // Same source and transform as field 1000 of spec 0, under another name.
            unbound_field(1, "renamed_bucket", Transform::Bucket(16)),
        ])],
    );
    let spec = md.partition_spec_by_id(1).unwrap();
    let ids: Vec<(i32, &str)> = spec
        .fields()
        .iter()
        .map(|f| (f.field_id, f.name.as_str()))
        .collect();
    assert_eq!(ids, vec![(1001, "data"), (1000, "renamed_bucket")]);
    assert_eq!(md.last_partition_id(), 1001);
    // A different transform of the same source is a new field.
    let md = commit(
        &md,
        vec![add_spec(vec![unbound_field(
            1,
            "id_b8",
            Transform::Bucket(8),
        )])],
    );
    assert_eq!(
        md.partition_spec_by_id(2).unwrap().fields()[0].field_id,
        1002
    );
}

#[test]
fn add_spec_reuses_an_equivalent_spec() {
    let base = v2();
    assert_no_op(
        &base,
        vec![
            TableUpdate::AddSpec { spec: base_spec() },
            TableUpdate::SetDefaultSpec { spec_id: -1 },
        ],
    );
    // Back to an older spec: it becomes the default again without a new entry.
    let evolved = commit(
        &base,
        vec![
            add_spec(vec![unbound_field(2, "data", Transform::Identity)]),
            TableUpdate::SetDefaultSpec { spec_id: -1 },
        ],
    );
    assert_eq!(evolved.default_spec_id(), 1);
    let back = commit(
        &evolved,
        vec![
            TableUpdate::AddSpec { spec: base_spec() },
            TableUpdate::SetDefaultSpec { spec_id: -1 },
        ],
    );
    assert_eq!(back.partition_specs().len(), 2);
    assert_eq!(back.default_spec_id(), 0);
}

#[test]
fn add_spec_refuses_a_field_id_of_a_different_existing_field() {
    assert_refused(
        &v2(),
        vec![add_spec(vec![UnboundPartitionField {
            field_id: Some(1000),
            ..unbound_field(2, "data", Transform::Identity)
        }])],
        "partition field id 1000 already belongs to 'id_bucket'",
    );
    // The same field under its own id is fine.
    let md = commit(
        &v2(),
        vec![add_spec(vec![
            UnboundPartitionField {
                field_id: Some(1000),
                ..unbound_field(1, "id_bucket", Transform::Bucket(16))
            },
            unbound_field(2, "data", Transform::Identity),
        ])],
    );
    assert_eq!(
        md.partition_spec_by_id(1).unwrap().fields()[0].field_id,
        1000
    );
}

#[test]
fn add_spec_refuses_a_field_id_below_1000() {
    assert_refused(
        &v2(),
        vec![add_spec(vec![UnboundPartitionField {
            field_id: Some(7),
            ..unbound_field(2, "data", Transform::Identity)
        }])],
        "partition field ids start at 1000",
    );
}

#[test]
fn add_spec_refuses_an_unknown_source_column() {
    assert_refused(
        &v2(),
        vec![add_spec(vec![unbound_field(
            99,
            "nope",
            Transform::Identity,
        )])],
        "source column 99",
    );
}

#[test]
fn add_spec_refuses_a_transform_of_a_nested_column() {
    assert_refused(
        &v2(),
        vec![add_spec(vec![unbound_field(
            4,
            "point",
            Transform::Identity,
        )])],
        "cannot be applied to column 'point'",
    );
}

#[test]
fn add_spec_refuses_a_transform_the_source_type_cannot_take() {
    for (source, transform) in [
        (2, Transform::Day),         // day of a string
        (3, Transform::Truncate(4)), // truncate of a timestamptz
        (1, Transform::Year),        // year of a long
        (5, Transform::Bucket(16)),  // bucket of a double
    ] {
        assert_refused(
            &v2(),
            vec![add_spec(vec![unbound_field(source, "p", transform)])],
            "cannot be applied",
        );
    }
}

#[test]
fn add_spec_refuses_duplicate_field_names() {
    assert_refused(
        &v2(),
        vec![add_spec(vec![
            unbound_field(2, "p", Transform::Identity),
            unbound_field(3, "p", Transform::Day),
        ])],
        "field name 'p' twice",
    );
}

#[test]
fn add_spec_refuses_an_unknown_transform() {
    assert_fails(
        try_commit(
            &v2(),
            vec![add_spec(vec![unbound_field(
                2,
                "p",
                Transform::Unknown("zorder".into()),
            )])],
        ),
        ErrorKind::InvalidUpdate,
        "unknown transform 'zorder'",
    );
}

#[test]
fn set_default_spec_minus_one_means_the_spec_added_last() {
    let r = try_commit(
        &v2(),
        vec![
            add_spec(vec![unbound_field(2, "data", Transform::Identity)]),
            TableUpdate::SetDefaultSpec { spec_id: -1 },
        ],
    )
    .unwrap()
    .unwrap();
    assert_eq!(r.metadata.default_spec_id(), 1);
    let md = commit(
        &r.metadata,
        vec![TableUpdate::SetDefaultSpec { spec_id: 0 }],
    );
    assert_eq!(md.default_spec_id(), 0);
}

#[test]
fn set_default_spec_minus_one_without_an_added_spec_is_refused() {
    assert_refused(
        &v2(),
        vec![TableUpdate::SetDefaultSpec { spec_id: -1 }],
        "this commit added none",
    );
}

#[test]
fn set_default_spec_to_an_unknown_id_is_refused() {
    assert_refused(
        &v2(),
        vec![TableUpdate::SetDefaultSpec { spec_id: 3 }],
        "partition spec 3 does not exist",
    );
}

// ---------------------------------------------------------------------------------------------
// add-sort-order, set-default-sort-order
// ---------------------------------------------------------------------------------------------

fn add_order(fields: Vec<SortField>) -> TableUpdate {
    TableUpdate::AddSortOrder {
        sort_order: SortOrder::new(77, fields),
    }
}

#[test]
fn add_sort_order_unsorted_always_gets_order_id_0() {
    let md = commit(
        &v2(),
        vec![
            add_order(vec![]),
            TableUpdate::SetDefaultSortOrder { sort_order_id: -1 },
        ],
    );
    assert_eq!(md.default_sort_order_id(), 0);
    assert!(md.default_sort_order().unwrap().is_unsorted());
    assert_eq!(
        md.sort_orders()
            .iter()
            .map(|o| o.order_id())
            .collect::<Vec<_>>(),
        vec![1, 0]
    );
    // Once there, adding it again changes nothing.
    assert_no_op(
        &md,
        vec![
            add_order(vec![]),
            TableUpdate::SetDefaultSortOrder { sort_order_id: -1 },
        ],
    );
}

#[test]
fn add_sort_order_gets_the_next_order_id() {
    let md = commit(
        &v2(),
        vec![
            add_order(vec![sort_field(2, SortDirection::Desc)]),
            TableUpdate::SetDefaultSortOrder { sort_order_id: -1 },
        ],
    );
    assert_eq!(md.default_sort_order_id(), 2);
    assert_eq!(
        md.default_sort_order().unwrap().fields(),
        &[sort_field(2, SortDirection::Desc)]
    );
}

#[test]
fn add_sort_order_reuses_an_equivalent_order() {
    assert_no_op(
        &v2(),
        vec![
            add_order(base_order().fields().to_vec()),
            TableUpdate::SetDefaultSortOrder { sort_order_id: -1 },
        ],
    );
    let md = commit(
        &v2(),
        vec![
            add_order(vec![sort_field(2, SortDirection::Desc)]),
            TableUpdate::SetDefaultSortOrder { sort_order_id: -1 },
        ],
    );
    let back = commit(
        &md,
        vec![
            add_order(base_order().fields().to_vec()),
            TableUpdate::SetDefaultSortOrder { sort_order_id: -1 },
        ],
    );
    assert_eq!(back.sort_orders().len(), 2);
    assert_eq!(back.default_sort_order_id(), 1);
}

#[test]
fn add_sort_order_refuses_an_unknown_source_column() {
    assert_refused(
        &v2(),
        vec![add_order(vec![sort_field(99, SortDirection::Asc)])],
        "source column 99",
    );
}

#[test]
fn add_sort_order_refuses_a_nested_source_column() {
    assert_refused(
        &v2(),
        vec![add_order(vec![sort_field(4, SortDirection::Asc)])],
        "cannot be applied to column 'point'",
    );
}

#[test]
fn set_default_sort_order_minus_one_without_an_added_order_is_refused() {
    assert_refused(
        &v2(),
        vec![TableUpdate::SetDefaultSortOrder { sort_order_id: -1 }],
        "this commit added none",
    );
}

#[test]
fn set_default_sort_order_to_an_unknown_id_is_refused() {
    assert_refused(
        &v2(),
        vec![TableUpdate::SetDefaultSortOrder { sort_order_id: 5 }],
        "sort order 5 does not exist",
    );
}

// ---------------------------------------------------------------------------------------------
// add-snapshot
// ---------------------------------------------------------------------------------------------

#[test]
fn add_snapshot_adds_it_and_takes_its_sequence_number_without_moving_main() {
    let md = commit(&v2(), vec![add(snap(1, None, 1, T1 - 500))]);
    assert_eq!(snapshot_ids(&md), vec![1]);
    assert_eq!(md.last_sequence_number(), 1);
    assert_eq!(md.current_snapshot_id(), None);
    assert!(md.refs().is_empty());
    assert_eq!(md.snapshot_log(), &[]);
}

#[test]
fn add_snapshot_refuses_a_duplicate_id() {
    assert_refused(
        &with_history(),
        vec![add(snap(2, Some(3), 4, T1))],
        "snapshot 2 already exists",
    );
    // Also within one commit.
    assert_refused(
        &v2(),
        vec![add(snap(1, None, 1, T1)), add(snap(1, None, 2, T1))],
        "snapshot 1 already exists",
    );
}

#[test]
fn add_snapshot_with_a_stale_sequence_number_is_a_retryable_conflict() {
    let md = with_history(); // last sequence number 3
    for seq in [3, 2] {
        let e = assert_fails(
            try_commit(&md, vec![add(snap(4, Some(3), seq, T1))]),
            ErrorKind::CommitConflict,
            "not above the table's last sequence number 3",
        );
        assert!(e.is_retryable());
    }
}

#[test]
fn add_snapshot_refuses_a_missing_manifest_list_on_v2() {
    let mut s = snap(1, None, 1, T1);
    s.manifest_list = String::new();
    s.manifests = Some(vec![format!("{LOC}/metadata/m1.avro")]);
    assert_refused(&v2(), vec![add(s)], "has no manifest-list");
}

#[test]
fn add_snapshot_refuses_an_unknown_schema_id() {
    let mut s = snap(1, None, 1, T1);
    s.schema_id = Some(9);
    assert_refused(
        &v2(),
        vec![add(s)],
        "refers to schema 9, which does not exist",
    );
}

#[test]
fn add_snapshot_refuses_a_snapshot_that_is_its_own_parent() {
    assert_refused(
        &with_history(),
        vec![add(snap(4, Some(4), 4, T1))],
        "cannot be its own parent",
    );
}

#[test]
fn add_snapshot_refuses_a_timestamp_more_than_a_minute_before_the_last_update() {
    let md = v2(); // last updated at T0
    assert_refused(
        &md,
        vec![add(snap(1, None, 1, T0 - 60_001))],
        "older than the table's last update",
    );
    // Within a minute of clock skew is fine.
    let ok = commit(&md, vec![add(snap(1, None, 1, T0 - 30_000))]);
    assert_eq!(snapshot_ids(&ok), vec![1]);
}

#[test]
fn add_snapshot_on_v3_refuses_a_missing_first_row_id() {
    let mut s = v3_snap(1, None, 1, 0, 10);
    s.first_row_id = None;
    assert_refused(&v3(), vec![add(s)], "needs first-row-id");
}

#[test]
fn add_snapshot_on_v3_refuses_missing_or_negative_added_rows() {
    let mut s = v3_snap(1, None, 1, 0, 10);
    s.added_rows = None;
    assert_refused(&v3(), vec![add(s)], "needs added-rows");
    assert_refused(
        &v3(),
        vec![add(v3_snap(1, None, 1, 0, -1))],
        "negative added-rows",
    );
}

#[test]
fn add_snapshot_on_v3_advances_next_row_id_by_the_added_rows() {
    let md = commit(&v3(), vec![add(v3_snap(1, None, 1, 0, 10)), main_at(1)]);
    assert_eq!(md.next_row_id(), Some(10));
    // first-row-id may leave a gap above next-row-id.
    let md = commit(&md, vec![add(v3_snap(2, Some(1), 2, 15, 5)), main_at(2)]);
    assert_eq!(md.next_row_id(), Some(15));
}

#[test]
fn add_snapshot_on_v3_with_first_row_id_below_next_row_id_is_a_conflict() {
    let md = commit(&v3(), vec![add(v3_snap(1, None, 1, 0, 10)), main_at(1)]);
    let e = assert_fails(
        try_commit(&md, vec![add(v3_snap(2, Some(1), 2, 9, 5))]),
        ErrorKind::CommitConflict,
        "first-row-id 9, below the table's next-row-id 10",
    );
    assert!(e.is_retryable());
}

// ---------------------------------------------------------------------------------------------
// set-snapshot-ref, remove-snapshot-ref
// ---------------------------------------------------------------------------------------------

#[test]
fn set_snapshot_ref_main_in_an_append_moves_the_current_snapshot_and_logs_it() {
    let ts = T1 - 2000;
    let md = commit(&v2(), vec![add(snap(1, None, 1, ts)), main_at(1)]);
    assert_eq!(md.current_snapshot_id(), Some(1));
    assert_eq!(md.refs()["main"], SnapshotReference::branch(1));
    assert_eq!(
        md.snapshot_log(),
        &[SnapshotLogEntry {
            snapshot_id: 1,
            timestamp_ms: ts
        }]
    );
}

#[test]
fn set_snapshot_ref_main_to_an_older_snapshot_logs_the_commit_time() {
    let md = with_history();
    let now = T0 + 9000;
    let rolled_back = commit_at(&md, vec![main_at(1)], now);
    assert_eq!(rolled_back.current_snapshot_id(), Some(1));
    assert_eq!(rolled_back.snapshot_log().len(), 4);
    assert_eq!(
        rolled_back.snapshot_log().last(),
        Some(&SnapshotLogEntry {
            snapshot_id: 1,
            timestamp_ms: now
        })
    );
    assert_eq!(rolled_back.last_updated_ms(), now);
}

#[test]
fn set_snapshot_ref_on_another_branch_leaves_main_alone() {
    let md = with_history();
    let moved = commit(&md, vec![set_ref("b", SnapshotReference::branch(3))]);
    assert_eq!(moved.refs()["b"].snapshot_id, 3);
    assert_eq!(moved.current_snapshot_id(), Some(3));
    assert_eq!(moved.snapshot_log(), md.snapshot_log());
}

#[test]
fn set_snapshot_ref_refuses_a_tag_named_main() {
    assert_refused(
        &with_history(),
        vec![set_ref("main", tag(2))],
        "'main' must be a branch",
    );
}

#[test]
fn set_snapshot_ref_refuses_an_unknown_snapshot() {
    assert_refused(
        &with_history(),
        vec![set_ref("dev", SnapshotReference::branch(99))],
        "snapshot 99, which does not exist",
    );
    assert_refused(&v2(), vec![main_at(1)], "snapshot 1, which does not exist");
    // Nor one removed earlier in the same commit.
    assert_refused(
        &with_history(),
        vec![
            remove_snapshots(&[2]),
            set_ref("b", SnapshotReference::branch(2)),
        ],
        "snapshot 2, which does not exist",
    );
}

#[test]
fn set_snapshot_ref_refuses_an_empty_name() {
    assert_refused(
        &with_history(),
        vec![set_ref("", SnapshotReference::branch(1))],
        "the ref name is empty",
    );
}

#[test]
fn set_snapshot_ref_to_the_same_ref_is_a_no_op_without_a_log_entry() {
    let md = with_history();
    assert_no_op(&md, vec![main_at(3)]);
    assert_no_op(&md, vec![set_ref("t1", tag(1))]);
}

#[test]
fn set_snapshot_ref_keeps_branch_and_tag_retention() {
    let branch = SnapshotReference {
        snapshot_id: 2,
        retention: SnapshotRetention::Branch {
            min_snapshots_to_keep: Some(5),
            max_snapshot_age_ms: Some(86_400_000),
            max_ref_age_ms: Some(604_800_000),
        },
    };
    let tagged = SnapshotReference {
        snapshot_id: 1,
        retention: SnapshotRetention::Tag {
            max_ref_age_ms: Some(3_600_000),
        },
    };
    let md = commit(
        &with_history(),
        vec![
            set_ref("audit", branch.clone()),
            set_ref("v1", tagged.clone()),
        ],
    );
    assert_eq!(md.refs()["audit"], branch);
    assert_eq!(md.refs()["v1"], tagged);
    let json: Value = serde_json::from_str(&md.to_json().unwrap()).unwrap();
    assert_eq!(
        json["refs"]["audit"],
        json!({"snapshot-id": 2, "type": "branch", "min-snapshots-to-keep": 5,
            "max-snapshot-age-ms": 86_400_000, "max-ref-age-ms": 604_800_000})
    );
    assert_eq!(
        json["refs"]["v1"],
        json!({"snapshot-id": 1, "type": "tag", "max-ref-age-ms": 3_600_000})
    );
}

#[test]
fn remove_snapshot_ref_main_clears_the_current_snapshot() {
    let md = commit(
        &with_history(),
        vec![TableUpdate::RemoveSnapshotRef {
            ref_name: "main".into(),
        }],
    );
    assert_eq!(md.current_snapshot_id(), None);
    assert_eq!(ref_names(&md), vec!["b", "t1"]);
    assert_eq!(snapshot_ids(&md), vec![1, 2, 3], "snapshots stay");
}

#[test]
fn remove_snapshot_ref_of_a_branch_or_tag_keeps_main() {
    let md = commit(
        &with_history(),
        vec![
            TableUpdate::RemoveSnapshotRef {
                ref_name: "t1".into(),
            },
            TableUpdate::RemoveSnapshotRef {
                ref_name: "b".into(),
            },
        ],
    );
    assert_eq!(ref_names(&md), vec!["main"]);
    assert_eq!(md.current_snapshot_id(), Some(3));
}

#[test]
fn remove_snapshot_ref_of_an_unknown_ref_is_a_no_op() {
    assert_no_op(
        &with_history(),
        vec![TableUpdate::RemoveSnapshotRef {
            ref_name: "nope".into(),
        }],
    );
}

// ---------------------------------------------------------------------------------------------
// remove-snapshots
// ---------------------------------------------------------------------------------------------

fn remove_snapshots(ids: &[i64]) -> TableUpdate {
    TableUpdate::RemoveSnapshots {
        snapshot_ids: ids.to_vec(),
    }
}

#[test]
fn remove_snapshots_drops_refs_that_point_at_them() {
    let r = try_commit(&with_history(), vec![remove_snapshots(&[2])])
        .unwrap()
        .unwrap();
    let md = &r.metadata;
    assert_eq!(snapshot_ids(md), vec![1, 3]);
    assert_eq!(ref_names(md), vec!["main", "t1"]);
    assert_eq!(md.current_snapshot_id(), Some(3));
    assert!(r.changes.contains(&TableUpdate::RemoveSnapshotRef {
        ref_name: "b".into()
    }));
}

#[test]
fn remove_snapshots_of_mains_snapshot_clears_the_current_snapshot() {
    let md = commit(&with_history(), vec![remove_snapshots(&[3])]);
    assert_eq!(md.current_snapshot_id(), None);
    assert_eq!(ref_names(&md), vec!["b", "t1"]);
    TableMetadata::from_json(&md.to_json().unwrap()).unwrap();
}

#[test]
fn remove_snapshots_drops_their_statistics_and_partition_statistics() {
    let md = commit(&with_history(), vec![remove_snapshots(&[1])]);
    assert_eq!(md.statistics(), &[stats(2, "s2")]);
    assert_eq!(md.partition_statistics(), &[partition_stats(2, "p2")]);
    assert_eq!(ref_names(&md), vec!["b", "main"]);
}

#[test]
fn remove_snapshots_truncates_the_snapshot_log_before_a_removed_snapshot() {
    let base = with_history();
    let log = base.snapshot_log().to_vec();
    assert_eq!(
        log.iter().map(|e| e.snapshot_id).collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    // Removing 2 drops its entry and every entry before it, even 1's.
    let md = commit(&base, vec![remove_snapshots(&[2])]);
    assert_eq!(md.snapshot_log(), &log[2..]);
    // Removing the oldest drops only its own entry.
    let md = commit(&base, vec![remove_snapshots(&[1])]);
    assert_eq!(md.snapshot_log(), &log[1..]);
}

#[test]
fn remove_snapshots_ignores_unknown_ids() {
    let base = with_history();
    assert_no_op(&base, vec![remove_snapshots(&[99, 100])]);
    let r = try_commit(&base, vec![remove_snapshots(&[99, 1])])
        .unwrap()
        .unwrap();
    assert_eq!(snapshot_ids(&r.metadata), vec![2, 3]);
    // The recorded change names only the snapshot that existed.
    assert!(
        r.changes.contains(&remove_snapshots(&[1])),
        "{:?}",
        r.changes
    );
}

// ---------------------------------------------------------------------------------------------
// set-location, set-properties, remove-properties
// ---------------------------------------------------------------------------------------------

#[test]
fn set_location_trims_a_trailing_slash() {
    let md = commit(
        &v2(),
        vec![TableUpdate::SetLocation {
            location: "s3://bucket/moved/".into(),
        }],
    );
    assert_eq!(md.location(), "s3://bucket/moved");
    assert_no_op(
        &v2(),
        vec![TableUpdate::SetLocation {
            location: format!("{LOC}/"),
        }],
    );
}

#[test]
fn set_location_refuses_an_empty_location() {
    for location in ["", "/"] {
        assert_refused(
            &v2(),
            vec![TableUpdate::SetLocation {
                location: location.into(),
            }],
            "the location is empty",
        );
    }
}

fn set_props(pairs: &[(&str, &str)]) -> TableUpdate {
    TableUpdate::SetProperties {
        updates: pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    }
}

#[test]
fn set_properties_never_persists_reserved_properties() {
    let r = try_commit(
        &v2(),
        vec![set_props(&[
            ("uuid", OTHER_UUID),
            ("snapshot-count", "4"),
            ("current-snapshot-id", "1"),
            ("current-snapshot-summary", "{}"),
            ("current-snapshot-timestamp-ms", "1"),
            ("current-schema", "{}"),
            ("default-partition-spec", "{}"),
            ("default-sort-order", "{}"),
            ("comment", "hello"),
        ])],
    )
    .unwrap()
    .unwrap();
    assert_eq!(
        r.metadata.properties(),
        &BTreeMap::from([
            ("comment".to_string(), "hello".to_string()),
            ("owner".to_string(), "floe".to_string()),
        ])
    );
    assert_eq!(r.changes, vec![set_props(&[("comment", "hello")])]);
    assert_no_op(&v2(), vec![set_props(&[("snapshot-count", "4")])]);
}

#[test]
fn set_properties_format_version_upgrades_instead_of_being_stored() {
    let md = commit(&v2(), vec![set_props(&[("format-version", "3")])]);
    assert_eq!(md.format_version(), FormatVersion::V3);
    assert_eq!(md.next_row_id(), Some(0));
    assert!(!md.properties().contains_key("format-version"));
    assert_no_op(&v2(), vec![set_props(&[("format-version", "2")])]);
    assert_refused(
        &v3(),
        vec![set_props(&[("format-version", "2")])],
        "cannot downgrade",
    );
    assert_refused(
        &v2(),
        vec![set_props(&[("format-version", "three")])],
        "'format-version' must be a number",
    );
}

#[test]
fn set_properties_refuses_a_bad_value_for_a_known_property() {
    assert_refused(
        &v2(),
        vec![set_props(&[("commit.retry.num-retries", "abc")])],
        "commit.retry.num-retries",
    );
    assert_refused(
        &v2(),
        vec![set_props(&[(
            "write.metadata.previous-versions-max",
            "many",
        )])],
        "write.metadata.previous-versions-max",
    );
    // Unknown properties are stored as they are.
    let md = commit(&v2(), vec![set_props(&[("my.own.setting", "abc")])]);
    assert_eq!(md.properties()["my.own.setting"], "abc");
}

#[test]
fn set_properties_refuses_an_empty_key() {
    assert_refused(
        &v2(),
        vec![set_props(&[("", "x")])],
        "a property key is empty",
    );
}

#[test]
fn set_properties_to_the_same_values_is_a_no_op() {
    assert_no_op(&v2(), vec![set_props(&[("owner", "floe")])]);
}

#[test]
fn remove_properties_removes_present_keys_and_ignores_missing_ones() {
    let r = try_commit(
        &v2(),
        vec![TableUpdate::RemoveProperties {
            removals: vec!["owner".into(), "missing".into()],
        }],
    )
    .unwrap()
    .unwrap();
    assert!(r.metadata.properties().is_empty());
    assert_eq!(
        r.changes,
        vec![TableUpdate::RemoveProperties {
            removals: vec!["owner".into()]
        }]
    );
    assert_no_op(
        &v2(),
        vec![TableUpdate::RemoveProperties {
            removals: vec!["missing".into()],
        }],
    );
}

// ---------------------------------------------------------------------------------------------
// Statistics
// ---------------------------------------------------------------------------------------------

#[test]
fn set_statistics_replaces_the_file_of_the_same_snapshot() {
    let md = commit(
        &with_history(),
        vec![TableUpdate::SetStatistics {
            snapshot_id: Some(1),
            statistics: stats(1, "s1-new"),
        }],
    );
    assert_eq!(md.statistics().len(), 2);
    assert_eq!(
        md.statistics()
            .iter()
            .find(|s| s.snapshot_id == 1)
            .unwrap()
            .statistics_path,
        format!("{LOC}/metadata/s1-new.stats")
    );
    let md = commit(
        &md,
        vec![TableUpdate::SetStatistics {
            snapshot_id: None,
            statistics: stats(3, "s3"),
        }],
    );
    assert_eq!(md.statistics().len(), 3);
}

#[test]
fn set_statistics_refuses_a_mismatched_deprecated_snapshot_id() {
    assert_refused(
        &with_history(),
        vec![TableUpdate::SetStatistics {
            snapshot_id: Some(2),
            statistics: stats(1, "s1"),
        }],
        "snapshot-id 2 differs from the statistics file's snapshot-id 1",
    );
}

#[test]
fn remove_statistics_removes_the_file_of_a_snapshot() {
    let md = commit(
        &with_history(),
        vec![TableUpdate::RemoveStatistics { snapshot_id: 1 }],
    );
    assert_eq!(md.statistics(), &[stats(2, "s2")]);
    assert_no_op(&md, vec![TableUpdate::RemoveStatistics { snapshot_id: 1 }]);
}

#[test]
fn set_partition_statistics_replaces_the_file_of_the_same_snapshot() {
    let md = commit(
        &with_history(),
        vec![TableUpdate::SetPartitionStatistics {
            partition_statistics: partition_stats(2, "p2-new"),
        }],
    );
    assert_eq!(md.partition_statistics().len(), 2);
    assert!(
        md.partition_statistics()
            .contains(&partition_stats(2, "p2-new"))
    );
    assert!(
        !md.partition_statistics()
            .contains(&partition_stats(2, "p2"))
    );
}

#[test]
fn remove_partition_statistics_removes_the_file_of_a_snapshot() {
    let md = commit(
        &with_history(),
        vec![TableUpdate::RemovePartitionStatistics { snapshot_id: 2 }],
    );
    assert_eq!(md.partition_statistics(), &[partition_stats(1, "p1")]);
    assert_no_op(
        &md,
        vec![TableUpdate::RemovePartitionStatistics { snapshot_id: 2 }],
    );
}

// ---------------------------------------------------------------------------------------------
// remove-partition-specs, remove-schemas
// ---------------------------------------------------------------------------------------------

#[test]
fn remove_partition_specs_removes_an_old_spec_but_refuses_the_default() {
    let md = commit(
        &v2(),
        vec![
            add_spec(vec![unbound_field(2, "data", Transform::Identity)]),
            TableUpdate::SetDefaultSpec { spec_id: -1 },
        ],
    );
    assert_refused(
        &md,
        vec![TableUpdate::RemovePartitionSpecs { spec_ids: vec![1] }],
        "spec 1 is the default spec",
    );
    let removed = commit(
        &md,
        vec![TableUpdate::RemovePartitionSpecs { spec_ids: vec![0] }],
    );
    assert_eq!(
        removed
            .partition_specs()
            .iter()
            .map(|s| s.spec_id())
            .collect::<Vec<_>>(),
        vec![1]
    );
    assert_eq!(removed.last_partition_id(), 1001, "ids are never reused");
    assert_no_op(
        &removed,
        vec![TableUpdate::RemovePartitionSpecs { spec_ids: vec![0] }],
    );
}

#[test]
fn remove_schemas_removes_an_old_schema_but_refuses_the_current_one() {
    let md = commit(
        &v2(),
        vec![
            add_schema(schema_with(vec![NestedField::optional(
                7,
                "extra",
                PrimitiveType::Int,
            )])),
            TableUpdate::SetCurrentSchema { schema_id: -1 },
        ],
    );
    assert_refused(
        &md,
        vec![TableUpdate::RemoveSchemas {
            schema_ids: vec![1],
        }],
        "schema 1 is the current schema",
    );
    let removed = commit(
        &md,
        vec![TableUpdate::RemoveSchemas {
            schema_ids: vec![0],
        }],
    );
    assert_eq!(
        removed
            .schemas()
            .iter()
            .map(|s| s.schema_id())
            .collect::<Vec<_>>(),
        vec![1]
    );
    assert_eq!(removed.last_column_id(), 7);
    assert_no_op(
        &removed,
        vec![TableUpdate::RemoveSchemas {
            schema_ids: vec![0],
        }],
    );
}

// ---------------------------------------------------------------------------------------------
// Encryption keys
// ---------------------------------------------------------------------------------------------

fn add_key(k: EncryptedKey) -> TableUpdate {
    TableUpdate::AddEncryptionKey { encryption_key: k }
}

#[test]
fn add_encryption_key_is_refused_before_v3() {
    assert_refused(
        &v2(),
        vec![add_key(key("k1", "AAEC"))],
        "needs format version 3",
    );
}

#[test]
fn add_encryption_key_on_v3_stores_the_key() {
    let md = commit(&v3(), vec![add_key(key("k1", "AAEC"))]);
    assert_eq!(md.encryption_keys(), &[key("k1", "AAEC")]);
    let json: Value = serde_json::from_str(&md.to_json().unwrap()).unwrap();
    assert_eq!(
        json["encryption-keys"],
        json!([{"key-id": "k1", "encrypted-key-metadata": "AAEC"}])
    );
    // The same key again changes nothing.
    assert_no_op(&md, vec![add_key(key("k1", "AAEC"))]);
}

#[test]
fn add_encryption_key_refuses_a_different_key_under_an_existing_id() {
    let md = commit(&v3(), vec![add_key(key("k1", "AAEC"))]);
    assert_refused(
        &md,
        vec![add_key(key("k1", "BBBB"))],
        "a different key with id 'k1' already exists",
    );
}

#[test]
fn add_encryption_key_refuses_an_empty_key_id() {
    assert_refused(&v3(), vec![add_key(key("", "AAEC"))], "key-id is empty");
}

#[test]
fn remove_encryption_key_removes_it_and_ignores_unknown_ids() {
    let md = commit(
        &v3(),
        vec![add_key(key("k1", "AAEC")), add_key(key("k2", "BBBB"))],
    );
    let md = commit(
        &md,
        vec![TableUpdate::RemoveEncryptionKey {
            key_id: "k1".into(),
        }],
    );
    assert_eq!(md.encryption_keys(), &[key("k2", "BBBB")]);
    assert_no_op(
        &md,
        vec![TableUpdate::RemoveEncryptionKey {
            key_id: "k1".into(),
        }],
    );
}

// ---------------------------------------------------------------------------------------------
// Build
// ---------------------------------------------------------------------------------------------

#[test]
fn a_commit_records_the_previous_metadata_file_in_the_metadata_log() {
    let base = v2();
    assert_eq!(base.metadata_log(), &[]);
    let md = commit(&base, vec![set_props(&[("k", "v")])]);
    assert_eq!(
        md.metadata_log(),
        &[MetadataLogEntry {
            metadata_file: META0.to_string(),
            timestamp_ms: T0,
        }]
    );
}

#[test]
fn the_metadata_log_is_trimmed_to_previous_versions_max() {
    let mut md = commit(
        &v2(),
        vec![set_props(&[("write.metadata.previous-versions-max", "2")])],
    );
    for i in 1..=4i64 {
        let location = format!("{LOC}/metadata/0000{i}.metadata.json");
        md = apply_commit_with_clock(
            Some((&md, &location)),
            &[],
            vec![set_props(&[("step", &i.to_string())])],
            T1 + i * 1000,
        )
        .unwrap()
        .unwrap()
        .metadata;
    }
    assert_eq!(
        md.metadata_log(),
        &[
            MetadataLogEntry {
                metadata_file: format!("{LOC}/metadata/00003.metadata.json"),
                timestamp_ms: T1 + 2000,
            },
            MetadataLogEntry {
                metadata_file: format!("{LOC}/metadata/00004.metadata.json"),
                timestamp_ms: T1 + 3000,
            },
        ]
    );
}

#[test]
fn a_commit_of_only_no_op_updates_returns_none() {
    let md = with_history();
    let result = try_commit(
        &md,
        vec![
            TableUpdate::AssignUuid {
                uuid: md.table_uuid(),
            },
            TableUpdate::UpgradeFormatVersion { format_version: 2 },
            TableUpdate::SetCurrentSchema { schema_id: 0 },
            TableUpdate::SetDefaultSpec { spec_id: 0 },
            TableUpdate::SetDefaultSortOrder { sort_order_id: 1 },
            main_at(3),
            TableUpdate::SetLocation {
                location: LOC.into(),
            },
            set_props(&[("owner", "floe")]),
            TableUpdate::RemoveProperties {
                removals: vec!["missing".into()],
            },
            TableUpdate::RemoveSnapshotRef {
                ref_name: "missing".into(),
            },
            remove_snapshots(&[99]),
        ],
    )
    .unwrap();
    assert!(result.is_none(), "{result:?}");
    assert_no_op(&md, vec![]);
}

#[test]
fn last_updated_ms_comes_from_the_added_snapshot() {
    let snapshot_ts = T1 - 3000;
    let md = commit_at(
        &v2(),
        vec![add(snap(1, None, 1, snapshot_ts)), main_at(1)],
        T1 + 5000,
    );
    assert_eq!(md.last_updated_ms(), snapshot_ts);
}

#[test]
fn last_updated_ms_is_the_commit_time_without_a_snapshot() {
    let md = commit_at(&v2(), vec![set_props(&[("k", "v")])], T1 + 5000);
    assert_eq!(md.last_updated_ms(), T1 + 5000);
}

#[test]
fn a_create_commit_fills_in_an_unpartitioned_spec_and_unsorted_order() {
    let r = apply_commit(
        None,
        &[TableRequirement::AssertCreate],
        vec![
            add_schema(base_schema()),
            TableUpdate::SetLocation {
                location: LOC.into(),
            },
        ],
    )
    .unwrap()
    .unwrap();
    let md = r.metadata;
    assert_eq!(md.current_schema_id(), 0);
    assert!(md.default_partition_spec().is_unpartitioned());
    assert!(md.default_sort_order().unwrap().is_unsorted());
    assert!(!md.table_uuid().is_nil());
}

#[test]
fn a_create_commit_without_a_schema_or_location_is_refused() {
    assert_fails(
        apply_commit(
            None,
            &[TableRequirement::AssertCreate],
            vec![TableUpdate::SetLocation {
                location: LOC.into(),
            }],
        ),
        ErrorKind::InvalidUpdate,
        "needs a schema",
    );
    assert_fails(
        apply_commit(
            None,
            &[TableRequirement::AssertCreate],
            vec![add_schema(base_schema())],
        ),
        ErrorKind::InvalidUpdate,
        "needs a location",
    );
}
