//! Partition spec evolution: a table partitioned by day(ts), then also by bucket(4, id), then
//! with day replaced by hour; data appended under each spec is scanned with filters that
//! prune files of every spec, and read by pyiceberg and DuckDB.

use std::collections::HashSet;
use std::sync::Arc;

use table_format::ErrorKind;
use table_format::catalog::{Catalog, MemoryCatalog, TableCreation, TableIdent};
use table_format::expr::{Predicate, Reference};
use table_format::io::FileIO;
use table_format::spec::{Datum, SourceId, Transform, UnboundPartitionField, UnboundPartitionSpec};
use table_format::table::Table;

use crate::interop::{batch, interop, python, schema, temp_warehouse, write_ipc};
use crate::operations::ids_of;

const BASE_US: i64 = 1_767_225_600_000_000; // ts of row 0; row i is i * 5 hours later
const HOUR_US: i64 = 3_600_000_000;
const DAY_US: i64 = 24 * HOUR_US;

fn by_day() -> UnboundPartitionSpec {
    UnboundPartitionSpec {
        spec_id: None,
        fields: vec![UnboundPartitionField {
            source_id: SourceId::from(4),
            field_id: None,
            name: "ts_day".into(),
            transform: Transform::Day,
        }],
    }
}

async fn append(t: Table, catalog: &dyn Catalog, start: i64, n: i64) -> Table {
    t.fast_append()
        .add_batches(&[batch(&schema(), start, n)])
        .await
        .unwrap()
        .commit(catalog)
        .await
        .unwrap()
}

fn bucket4(id: i64) -> i32 {
    match Transform::Bucket(4).apply(Some(&Datum::Long(id))).unwrap() {
        Some(Datum::Int(b)) => b,
        other => panic!("bucket of {id}: {other:?}"),
    }
}

fn day_of(id: i64) -> i64 {
    id * 5 / 24
}

/// Rows 0..24 under day(ts); 24..48 under day(ts), bucket(4, id); 48..72 under
/// bucket(4, id), hour(ts).
async fn evolved(catalog: &MemoryCatalog, name: &str, version: u8) -> Table {
    let ident = TableIdent::new(["db"], name);
    let t = catalog
        .create_table(
            &ident,
            TableCreation::new(schema())
                .with_partition_spec(by_day())
                .with_property("format-version", version.to_string()),
        )
        .await
        .unwrap();
    let t = append(t, catalog, 0, 24).await;
    let t = t
        .update_spec()
        .add_field("id", Transform::Bucket(4), None)
        .commit(catalog)
        .await
        .unwrap();
    let t = append(t, catalog, 24, 24).await;
    let t = t
        .update_spec()
        .remove_field("ts_day")
        .add_field("ts", Transform::Hour, None)
        .commit(catalog)
        .await
        .unwrap();
    append(t, catalog, 48, 24).await
}

async fn planned(t: &Table, filter: Predicate) -> (usize, Vec<i64>) {
    let scan = t.scan().with_filter(filter);
    let tasks = scan.plan_files().await.unwrap();
    (tasks.len(), ids_of(&scan.to_arrow().await.unwrap()))
}

fn ts(us: i64) -> Datum {
    Datum::Timestamptz(BASE_US + us)
}

#[tokio::test]
async fn specs_evolve_with_field_ids_kept_and_reused() {
    let catalog = MemoryCatalog::new(FileIO::memory(), "memory://wh");
    let t = evolved(&catalog, "ids", 2).await;
    let md = t.metadata();
    assert_eq!(md.partition_specs().len(), 3);
    assert_eq!(md.default_spec_id(), 2);
    let fields = |id: i32| -> Vec<(i32, String, Transform)> {
        md.partition_spec_by_id(id)
            .unwrap()
            .fields()
            .iter()
            .map(|f| (f.field_id, f.name.clone(), f.transform.clone()))
            .collect()
    };
    assert_eq!(fields(0), vec![(1000, "ts_day".into(), Transform::Day)]);
    assert_eq!(
        fields(1),
        vec![
            (1000, "ts_day".into(), Transform::Day),
            (1001, "id_bucket_4".into(), Transform::Bucket(4)),
        ]
    );
    assert_eq!(
        fields(2),
        vec![
            (1001, "id_bucket_4".into(), Transform::Bucket(4)),
            (1002, "ts_hour".into(), Transform::Hour),
        ]
    );
    assert_eq!(md.last_partition_id(), 1002);
    // Files carry the spec they were written with.
    let tasks = t.scan().plan_files().await.unwrap();
    let mut per_spec = [0usize; 3];
    for task in &tasks {
        per_spec[task.spec_id as usize] += 1;
    }
    assert_eq!(per_spec[0], 5, "days 0..4");
    assert_eq!(per_spec[2], 24, "one hour per row");

    // Going back to day(ts) alone reuses spec 0 and its field id.
    let t = t
        .update_spec()
        .remove_field("id_bucket_4")
        .remove_field("ts_hour")
        .add_field("ts", Transform::Day, None)
        .commit(&catalog)
        .await
        .unwrap();
    assert_eq!(t.metadata().default_spec_id(), 0);
    assert_eq!(t.metadata().partition_specs().len(), 3);

    // Renaming keeps the field id.
    let t = t
        .update_spec()
        .rename_field("ts_day", "day")
        .commit(&catalog)
        .await
        .unwrap();
    let spec = t.metadata().default_partition_spec();
    assert_eq!(spec.spec_id(), 3);
    assert_eq!(spec.fields()[0].field_id, 1000);
    assert_eq!(spec.fields()[0].name, "day");

    // No change: no commit.
    let same = t.update_spec().commit(&catalog).await.unwrap();
    assert_eq!(same.metadata_location(), t.metadata_location());
}

#[tokio::test]
async fn filtered_scans_across_three_specs_prune_files() {
    let catalog = MemoryCatalog::new(FileIO::memory(), "memory://wh");
    let t = evolved(&catalog, "scan", 2).await;
    let day_bucket = |rows: std::ops::Range<i64>| -> usize {
        rows.map(|i| (day_of(i), bucket4(i)))
            .collect::<HashSet<_>>()
            .len()
    };
    let total = t.scan().plan_files().await.unwrap().len();
    assert_eq!(total, 5 + day_bucket(24..48) + 24);
    assert_eq!(
        ids_of(&t.scan().to_arrow().await.unwrap()),
        (0..72).collect::<Vec<_>>()
    );

    // Days 6..11: no spec-0 file, the spec-1 files of days 6..9, ten spec-2 hours.
    let f = Reference::new("ts")
        .greater_than_or_eq(ts(6 * DAY_US))
        .and(Reference::new("ts").less_than(ts(12 * DAY_US)));
    let (files, ids) = planned(&t, f).await;
    assert_eq!(ids, (29..58).collect::<Vec<_>>());
    assert_eq!(files, day_bucket(29..48) + 10);
    assert!(files < total);

    // Day 1 only: one spec-0 file.
    let f = Reference::new("ts")
        .greater_than_or_eq(ts(DAY_US))
        .and(Reference::new("ts").less_than(ts(2 * DAY_US)));
    let (files, ids) = planned(&t, f).await;
    assert_eq!(ids, (5..10).collect::<Vec<_>>());
    assert_eq!(files, 1);

    // One id: its bucket and the id bounds leave one file.
    let (files, ids) = planned(&t, Reference::new("id").equal_to(Datum::Long(40))).await;
    assert_eq!(ids, vec![40]);
    assert_eq!(files, 1);

    // A bucket's ids under specs 1 and 2, and an hour range under spec 2.
    let b = bucket4(60);
    let wanted: Vec<i64> = (24..72).filter(|i| bucket4(*i) == b).collect();
    let f = Reference::new("id").is_in(wanted.iter().map(|i| Datum::Long(*i)));
    let (files, ids) = planned(&t, f).await;
    assert_eq!(ids, wanted);
    assert!(files < total, "{files} of {total}");
    let f = Reference::new("ts")
        .greater_than_or_eq(ts(60 * 5 * HOUR_US))
        .and(Reference::new("ts").less_than_or_eq(ts(62 * 5 * HOUR_US)));
    let (files, ids) = planned(&t, f).await;
    assert_eq!(ids, vec![60, 61, 62]);
    assert_eq!(files, 3);
}

const V1: &str = r#"{
  "format-version": 1,
  "table-uuid": "d20125c8-7284-442c-9aea-15fee620737c",
  "location": "memory://wh/db/v1",
  "last-updated-ms": 1700000000000,
  "last-column-id": 2,
  "schema": {"type": "struct", "schema-id": 0, "fields": [
    {"id": 1, "name": "id", "required": false, "type": "long"},
    {"id": 2, "name": "ts", "required": false, "type": "timestamptz"}]},
  "partition-spec": [{"name": "ts_day", "transform": "day", "source-id": 2, "field-id": 1000}],
  "properties": {}
}"#;

#[test]
fn v1_removal_keeps_a_void_field() {
    use table_format::spec::TableMetadata;
    use table_format::spec::TableUpdate;
    use table_format::spec::builder::TableMetadataBuilder;
    let md = TableMetadata::from_json(V1).unwrap();
    let t = Table::new(
        TableIdent::new(["db"], "v1"),
        md.clone(),
        "memory://wh/db/v1/metadata/v1.metadata.json".into(),
        FileIO::memory(),
    );
    let apply = |md: &TableMetadata, u: table_format::transaction::update_spec::UpdateSpec| {
        let spec = u.apply(md).unwrap().unwrap();
        let mut b = TableMetadataBuilder::from_metadata(md.clone(), None);
        b.apply_all([
            TableUpdate::AddSpec { spec },
            TableUpdate::SetDefaultSpec { spec_id: -1 },
        ])
        .unwrap();
        b.build().unwrap().metadata
    };
    let md = apply(
        &md,
        t.update_spec().add_field("id", Transform::Bucket(4), None),
    );
    let t = Table::new(t.ident().clone(), md.clone(), "x".into(), FileIO::memory());
    let md = apply(
        &md,
        t.update_spec()
            .remove_field("ts_day")
            .add_field("ts", Transform::Hour, None),
    );
    let fields: Vec<(i32, String, Transform)> = md
        .default_partition_spec()
        .fields()
        .iter()
        .map(|f| (f.field_id, f.name.clone(), f.transform.clone()))
        .collect();
    assert_eq!(
        fields,
        vec![
            (1000, "ts_day".into(), Transform::Void),
            (1001, "id_bucket_4".into(), Transform::Bucket(4)),
            (1002, "ts_hour".into(), Transform::Hour),
        ]
    );
    // Re-adding a removed v1 field's name renames the void field.
    let t = Table::new(t.ident().clone(), md.clone(), "x".into(), FileIO::memory());
    let spec = t
        .update_spec()
        .remove_field("ts_hour")
        .add_field("ts", Transform::Day, Some("ts_day"))
        .apply(&md)
        .unwrap()
        .unwrap();
    let names: Vec<&str> = spec.fields.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(
        names,
        vec!["ts_day_1000", "id_bucket_4", "ts_hour", "ts_day"]
    );
}

#[tokio::test]
async fn bad_spec_changes_are_refused_by_name() {
    let catalog = MemoryCatalog::new(FileIO::memory(), "memory://wh");
    let t = evolved(&catalog, "bad", 2).await;
    let err = t
        .update_spec()
        .add_field("nope", Transform::Identity, None)
        .commit(&catalog)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidUpdate);
    assert!(err.to_string().contains("'nope'"), "{err}");
    let err = t
        .update_spec()
        .add_field("id", Transform::Bucket(4), Some("again"))
        .commit(&catalog)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("id_bucket_4"), "{err}");
    let err = t
        .update_spec()
        .add_field("ts", Transform::Day, None)
        .commit(&catalog)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("redundant"), "{err}");
    let err = t
        .update_spec()
        .remove_field("ts_day")
        .commit(&catalog)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("ts_day"), "{err}");
    let err = t
        .update_spec()
        .rename_field("ts_hour", "id_bucket_4")
        .commit(&catalog)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("id_bucket_4"), "{err}");
    let err = t
        .update_spec()
        .add_field("name", Transform::Bucket(2), Some("id"))
        .commit(&catalog)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("schema column"), "{err}");
}

#[tokio::test]
async fn a_spec_change_commits_over_a_concurrent_append() {
    let catalog = MemoryCatalog::new(FileIO::memory(), "memory://wh");
    let t = evolved(&catalog, "retry", 2).await;
    let stale = t.clone();
    let t = append(t, &catalog, 72, 5).await;
    let t2 = stale
        .update_spec()
        .add_field("category", Transform::Identity, None)
        .commit(&catalog)
        .await
        .unwrap();
    assert_eq!(t2.metadata().default_spec_id(), 3);
    assert_eq!(
        t2.metadata().current_snapshot_id(),
        t.metadata().current_snapshot_id()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pyiceberg_and_duckdb_read_the_table_after_three_specs() {
    let Some(py) = python() else { return };
    let dir = temp_warehouse("spec-evolution");
    let catalog = MemoryCatalog::new(FileIO::local(), format!("file://{}", dir.display()));
    let t = evolved(&catalog, "evolved", 2).await;
    let scan = t.scan();
    let batches = scan.to_arrow().await.unwrap();
    assert_eq!(ids_of(&batches), (0..72).collect::<Vec<_>>());
    let arrow_schema =
        Arc::new(table_format::arrow::iceberg_schema_to_arrow(&scan.schema().unwrap()).unwrap());
    let ipc = dir.join("floe.arrows");
    write_ipc(&ipc, &arrow_schema, &batches);
    let md = t.metadata_location().to_string();
    let ipc_s = ipc.display().to_string();
    let (ok, report) = interop(&py, &["compare", "--metadata", &md, "--expected", &ipc_s]);
    assert!(ok, "{report}");
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn a_spec_change_retries_over_a_concurrent_spec_change() {
    let catalog = MemoryCatalog::new(FileIO::memory(), "memory://wh");
    let t = evolved(&catalog, "spec-race", 2).await;
    let stale = t.clone();
    t.update_spec()
        .add_field("name", Transform::Truncate(3), None)
        .commit(&catalog)
        .await
        .unwrap();
    // The stale change fails assert-default-spec-id, reloads and applies on top.
    let t = stale
        .update_spec()
        .add_field("category", Transform::Identity, None)
        .commit(&catalog)
        .await
        .unwrap();
    let names: Vec<&str> = t
        .metadata()
        .default_partition_spec()
        .fields()
        .iter()
        .map(|f| f.name.as_str())
        .collect();
    assert_eq!(
        names,
        vec!["id_bucket_4", "ts_hour", "name_trunc_3", "category"]
    );
    // The same field added concurrently: the retry finds it and refuses.
    let err = stale
        .update_spec()
        .add_field("name", Transform::Truncate(3), Some("n3"))
        .commit(&catalog)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidUpdate);
    assert!(err.to_string().contains("name_trunc_3"), "{err}");
}
