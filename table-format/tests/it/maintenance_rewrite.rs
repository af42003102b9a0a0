//! Compaction and manifest rewriting: file counts after binpack, sort and zorder rewrites,
//! delete files folded in, scans (Floe's and pyiceberg's) skipping files after a zorder
//! rewrite, rewrites racing deletes and appends, merged manifests with time travel intact,
//! and dry runs that change nothing. Rows are checked after every step, and by pyiceberg and
//! DuckDB where they can read the table.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

use arrow_array::{Array, Date32Array, Float64Array, Int64Array, RecordBatch, StringArray};
use table_format::ErrorKind;
use table_format::arrow::iceberg_schema_to_arrow;
use table_format::catalog::{Catalog, MemoryCatalog, TableCreation, TableIdent};
use table_format::expr::{Predicate, Reference};
use table_format::io::FileIO;
use table_format::maintenance::rewrite_data_files::RewriteStrategy;
use table_format::scan::plan::load_manifest_list;
use table_format::spec::{
    Datum, ManifestContentType, NestedField, NullOrder, Operation, PrimitiveType, Schema,
    SortDirection, SortField, SortOrder, SourceId, Transform, UnboundPartitionField,
    UnboundPartitionSpec,
};
use table_format::table::Table;

use crate::interop::{interop, python, temp_warehouse, write_ipc};

/// `id` (identifier), `region` (two values), `value`.
fn events_schema() -> Schema {
    Schema::builder()
        .with_identifier_field_ids([1])
        .with_fields([
            NestedField::required(1, "id", PrimitiveType::Long),
            NestedField::optional(2, "region", PrimitiveType::String),
            NestedField::optional(3, "value", PrimitiveType::Double),
        ])
        .build()
        .unwrap()
}

/// Rows `ids` of the events table; `region` alternates `eu`/`us`, `value` is `id * factor`.
fn events(ids: impl IntoIterator<Item = i64>, factor: f64) -> RecordBatch {
    let ids: Vec<i64> = ids.into_iter().collect();
    let schema = Arc::new(iceberg_schema_to_arrow(&events_schema()).unwrap());
    RecordBatch::try_new(
        schema,
        vec![
            Arc::new(Int64Array::from(ids.clone())),
            Arc::new(StringArray::from_iter_values(
                ids.iter().map(|i| if i % 2 == 0 { "eu" } else { "us" }),
            )),
            Arc::new(Float64Array::from_iter_values(
                ids.iter().map(|i| *i as f64 * factor),
            )),
        ],
    )
    .unwrap()
}

fn by_region() -> UnboundPartitionSpec {
    UnboundPartitionSpec {
        spec_id: None,
        fields: vec![UnboundPartitionField {
            source_id: SourceId::from(2),
            field_id: None,
            name: "region".into(),
            transform: Transform::Identity,
        }],
    }
}

fn catalog_at(dir: &Path) -> MemoryCatalog {
    MemoryCatalog::new(FileIO::local(), format!("file://{}", dir.display()))
}

/// A table of `appends` small appends of `rows` rows each (ids counting up).
async fn events_table(
    catalog: &MemoryCatalog,
    name: &str,
    creation: TableCreation,
    appends: i64,
    rows: i64,
) -> Table {
    let mut t = catalog
        .create_table(&TableIdent::new(["db"], name), creation)
        .await
        .unwrap();
    for k in 0..appends {
        t = t
            .fast_append()
            .add_batches(&[events(k * rows..(k + 1) * rows, 1.5)])
            .await
            .unwrap()
            .commit(catalog)
            .await
            .unwrap();
    }
    t
}

/// Every live row as (id, region, value-bits), sorted: exact, duplicates kept.
async fn rows_of(t: &Table) -> Vec<(i64, String, u64)> {
    let mut out = Vec::new();
    for b in t.scan().to_arrow().await.unwrap() {
        let ids = b.column(0).as_any().downcast_ref::<Int64Array>().unwrap();
        let regions = b.column(1).as_any().downcast_ref::<StringArray>().unwrap();
        let values = b.column(2).as_any().downcast_ref::<Float64Array>().unwrap();
        for i in 0..b.num_rows() {
            out.push((
                ids.value(i),
                regions.value(i).to_string(),
                values.value(i).to_bits(),
            ));
        }
    }
    out.sort();
    out
}

async fn data_file_count(t: &Table) -> usize {
    t.scan().plan_files().await.unwrap().len()
}

/// pyiceberg (unless `no_pyiceberg`) and DuckDB read exactly the rows Floe reads.
async fn assert_clients_agree(py: &Path, t: &Table, dir: &Path, no_pyiceberg: bool) {
    let scan = t.scan();
    let batches = scan.to_arrow().await.unwrap();
    let schema = Arc::new(iceberg_schema_to_arrow(&scan.schema().unwrap()).unwrap());
    let ipc = dir.join(format!("floe-{}.arrows", uuid::Uuid::new_v4()));
    write_ipc(&ipc, &schema, &batches);
    let ipc_s = ipc.display().to_string();
    let mut args = vec![
        "compare",
        "--metadata",
        t.metadata_location(),
        "--expected",
        &ipc_s,
    ];
    if no_pyiceberg {
        args.push("--no-pyiceberg");
    }
    let (ok, report) = interop(py, &args);
    assert!(ok, "{report}");
    if !no_pyiceberg {
        assert_eq!(report["pyiceberg_equal"], true, "{report}");
    }
    assert_eq!(report["duckdb_equal"], true, "{report}");
}

/// Every file under a directory, recursively.
fn files_under(dir: &Path) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.insert(p.display().to_string());
            }
        }
    }
    out
}

/// Data files referenced by any snapshot of the table.
async fn referenced_data_files(t: &Table) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for s in t.metadata().snapshots() {
        for task in t
            .scan()
            .snapshot_id(s.snapshot_id)
            .plan_files()
            .await
            .unwrap()
        {
            out.insert(
                task.data_file
                    .file_path
                    .trim_start_matches("file://")
                    .to_string(),
            );
            for d in task.deletes {
                out.insert(d.file.file_path.trim_start_matches("file://").to_string());
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binpack_compacts_forty_small_files_into_one_per_partition() {
    let dir = temp_warehouse("compact-binpack");
    let catalog = catalog_at(&dir);
    let creation = TableCreation::new(events_schema()).with_partition_spec(by_region());
    // 20 appends, each writing one small file per region: 40 files in 2 partitions.
    let t = events_table(&catalog, "binpack", creation, 20, 50).await;
    assert_eq!(data_file_count(&t).await, 40);
    let before = rows_of(&t).await;

    let report = t.rewrite_data_files().execute(&catalog).await.unwrap();
    assert!(!report.dry_run);
    assert_eq!(report.rewritten_data_files, 40);
    assert_eq!(report.added_data_files, 2);
    assert!(report.rewritten_bytes > 0 && report.added_bytes > 0);
    let t = catalog.load_table(t.ident()).await.unwrap();
    let snap = t.metadata().current_snapshot().unwrap();
    assert_eq!(Some(snap.snapshot_id), report.snapshot_id);
    assert_eq!(snap.summary.operation, Operation::Replace);
    assert_eq!(snap.summary.get("deleted-data-files"), Some("40"));
    assert_eq!(snap.summary.get("added-data-files"), Some("2"));
    assert_eq!(snap.summary.get("total-data-files"), Some("2"));
    assert_eq!(snap.summary.get("total-records"), Some("1000"));
    assert_eq!(data_file_count(&t).await, 2);
    assert_eq!(rows_of(&t).await, before);
    // The previous snapshot still reads the 40 files.
    let parent = snap.parent_snapshot_id.unwrap();
    let old = t.scan().snapshot_id(parent).plan_files().await.unwrap();
    assert_eq!(old.len(), 40);

    // A second run finds nothing worth rewriting.
    let again = t.rewrite_data_files().execute(&catalog).await.unwrap();
    assert_eq!(again.rewritten_data_files, 0);
    assert_eq!(again.snapshot_id, None);

    if let Some(py) = python() {
        assert_clients_agree(&py, &t, &dir, false).await;
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binpack_with_a_small_target_cuts_each_partition_into_target_sized_files() {
    let dir = temp_warehouse("compact-small-target");
    let catalog = catalog_at(&dir);
    let creation = TableCreation::new(events_schema()).with_partition_spec(by_region());
    let t = events_table(&catalog, "small", creation, 20, 200).await;
    let tasks = t.scan().plan_files().await.unwrap();
    assert_eq!(tasks.len(), 40);
    let mut bytes_per_partition: BTreeMap<String, u64> = BTreeMap::new();
    for task in &tasks {
        *bytes_per_partition
            .entry(format!("{:?}", task.data_file.partition))
            .or_default() += task.data_file.file_size_in_bytes as u64;
    }
    let total: u64 = bytes_per_partition.values().sum();
    // About four files per partition.
    let target = total / 8 + 1;
    let expected: usize = bytes_per_partition
        .values()
        .map(|b| b.div_ceil(target) as usize)
        .sum();
    assert!((6..=10).contains(&expected), "{expected}");
    let before = rows_of(&t).await;
    let report = t
        .rewrite_data_files()
        .target_file_size_bytes(target)
        .execute(&catalog)
        .await
        .unwrap();
    assert_eq!(report.rewritten_data_files, 40);
    assert_eq!(report.added_data_files, expected);
    let t = catalog.load_table(t.ident()).await.unwrap();
    let after = t.scan().plan_files().await.unwrap();
    assert_eq!(after.len(), expected);
    // Every new file holds one partition's rows, and the files of a partition are even.
    for task in &after {
        assert!(
            task.data_file.record_count >= 400,
            "{}",
            task.data_file.record_count
        );
    }
    assert_eq!(rows_of(&t).await, before);
    if let Some(py) = python() {
        assert_clients_agree(&py, &t, &dir, false).await;
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn a_filter_in_rest_json_form_limits_compaction_to_matching_files() {
    let catalog = MemoryCatalog::new(FileIO::memory(), "memory://wh");
    let creation = TableCreation::new(events_schema()).with_partition_spec(by_region());
    let t = events_table(&catalog, "filtered", creation, 10, 20).await;
    let before = rows_of(&t).await;
    let filter = serde_json::json!({"type": "eq", "term": "region", "value": "eu"});
    let report = t
        .rewrite_data_files()
        .filter_json(&filter)
        .unwrap()
        .execute(&catalog)
        .await
        .unwrap();
    assert_eq!(report.rewritten_data_files, 10);
    assert_eq!(report.added_data_files, 1);
    let t = catalog.load_table(t.ident()).await.unwrap();
    assert_eq!(
        data_file_count(&t).await,
        11,
        "the us partition is untouched"
    );
    assert_eq!(rows_of(&t).await, before);
    let bad = serde_json::json!({"type": "eq", "term": "nope", "value": 1});
    assert!(t.rewrite_data_files().filter_json(&bad).is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compaction_folds_in_position_and_equality_deletes() {
    let dir = temp_warehouse("compact-deletes");
    let catalog = catalog_at(&dir);
    let creation =
        TableCreation::new(events_schema()).with_property("write.delete.mode", "merge-on-read");
    let t = events_table(&catalog, "deletes", creation, 6, 20).await;
    // Position deletes (merge-on-read) in two files, then an upsert: equality deletes plus a
    // new data file.
    let filter = Reference::new("id")
        .less_than(Datum::Long(5))
        .or(Reference::new("id").equal_to(Datum::Long(55)));
    let t = t.delete_where(filter).commit(&catalog).await.unwrap();
    let t = t
        .upsert()
        .add_batches(&[events(100..110, 10.0)])
        .await
        .unwrap()
        .commit(&catalog)
        .await
        .unwrap();
    let tasks = t.scan().plan_files().await.unwrap();
    assert_eq!(tasks.len(), 7);
    assert!(tasks.iter().any(|t| !t.deletes.is_empty()));
    let before = rows_of(&t).await;
    assert_eq!(before.len(), 120 - 6);
    assert!(before.contains(&(105, "us".to_string(), 1050f64.to_bits())));
    assert!(!before.contains(&(105, "us".to_string(), (105.0f64 * 1.5).to_bits())));
    if let Some(py) = python() {
        // pyiceberg 0.12 refuses equality deletes; DuckDB reads them.
        assert_clients_agree(&py, &t, &dir, true).await;
    }
    let start_seq = t.metadata().current_snapshot().unwrap().sequence_number;

    let report = t.rewrite_data_files().execute(&catalog).await.unwrap();
    assert_eq!(report.rewritten_data_files, 7);
    assert_eq!(report.added_data_files, 1);
    assert_eq!(report.removed_delete_files, 3, "{report:?}");
    let t = catalog.load_table(t.ident()).await.unwrap();
    let snap = t.metadata().current_snapshot().unwrap();
    assert_eq!(snap.summary.operation, Operation::Replace);
    assert_eq!(snap.summary.get("total-delete-files"), Some("0"));
    assert_eq!(snap.summary.get("total-records"), Some("114"));
    let tasks = t.scan().plan_files().await.unwrap();
    assert_eq!(tasks.len(), 1);
    assert!(tasks[0].deletes.is_empty());
    // The new file keeps the starting snapshot's sequence number as its data sequence number.
    assert_eq!(tasks[0].sequence_number, start_seq);
    assert_eq!(rows_of(&t).await, before);
    if let Some(py) = python() {
        // No delete files remain, so pyiceberg reads the table again.
        assert_clients_agree(&py, &t, &dir, false).await;
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sort_rewrites_by_the_table_sort_order_or_given_columns() {
    let dir = temp_warehouse("compact-sort");
    let catalog = catalog_at(&dir);
    let mut creation = TableCreation::new(events_schema());
    creation.sort_order = SortOrder::new(
        1,
        vec![SortField {
            source_id: SourceId::from(3),
            transform: Transform::Identity,
            direction: SortDirection::Desc,
            null_order: NullOrder::NullsLast,
        }],
    );
    let mut t = catalog
        .create_table(&TableIdent::new(["db"], "sorted"), creation)
        .await
        .unwrap();
    // Appends in an order the sort must undo.
    for k in [3i64, 0, 4, 1, 5, 2] {
        t = t
            .fast_append()
            .add_batches(&[events(k * 10..(k + 1) * 10, 1.0)])
            .await
            .unwrap()
            .commit(&catalog)
            .await
            .unwrap();
    }
    let before = rows_of(&t).await;
    let report = t
        .rewrite_data_files()
        .strategy(RewriteStrategy::Sort)
        .execute(&catalog)
        .await
        .unwrap();
    assert_eq!(report.added_data_files, 1);
    let t = catalog.load_table(t.ident()).await.unwrap();
    let tasks = t.scan().plan_files().await.unwrap();
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0].data_file.sort_order_id, Some(1));
    let ids: Vec<i64> = file_ids(&t).await;
    assert_eq!(
        ids,
        (0..60).rev().collect::<Vec<_>>(),
        "descending by value"
    );
    assert_eq!(rows_of(&t).await, before);

    // Given columns (ascending), rewriting every file whatever its size.
    let report = t
        .rewrite_data_files()
        .strategy(RewriteStrategy::Sort)
        .sort_columns(["id"])
        .min_input_files(1)
        .rewrite_all(true)
        .execute(&catalog)
        .await
        .unwrap();
    assert_eq!(report.rewritten_data_files, 1);
    let t = catalog.load_table(t.ident()).await.unwrap();
    assert_eq!(file_ids(&t).await, (0..60).collect::<Vec<_>>());
    let tasks = t.scan().plan_files().await.unwrap();
    assert_eq!(
        tasks[0].data_file.sort_order_id, None,
        "not one of the table's orders"
    );

    // Sorting needs an order; zorder needs two or more columns.
    let unsorted = events_table(
        &catalog,
        "unsorted",
        TableCreation::new(events_schema()),
        1,
        5,
    )
    .await;
    let err = unsorted
        .rewrite_data_files()
        .strategy(RewriteStrategy::Sort)
        .plan()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::DataInvalid);
    let err = unsorted
        .rewrite_data_files()
        .strategy(RewriteStrategy::ZOrder)
        .sort_columns(["id"])
        .plan()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::DataInvalid);
    std::fs::remove_dir_all(&dir).ok();
}

/// The `id` column in scan order (one file: file order).
async fn file_ids(t: &Table) -> Vec<i64> {
    let mut out = Vec::new();
    for b in t.scan().to_arrow().await.unwrap() {
        let ids = b.column(0).as_any().downcast_ref::<Int64Array>().unwrap();
        out.extend((0..ids.len()).map(|i| ids.value(i)));
    }
    out
}

/// `user_id`, `feature_date`, `payload`.
fn features_schema() -> Schema {
    Schema::builder()
        .with_fields([
            NestedField::required(1, "user_id", PrimitiveType::Long),
            NestedField::required(2, "feature_date", PrimitiveType::Date),
            NestedField::optional(3, "payload", PrimitiveType::String),
        ])
        .build()
        .unwrap()
}

/// `n` rows with pseudo-random user ids (0..10,000) and dates (365 days of 2025), the same
/// for the same `seed`.
fn features(seed: u64, n: usize) -> RecordBatch {
    let mut state = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
    let mut next = move || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        state >> 33
    };
    let mut users = Vec::with_capacity(n);
    let mut dates = Vec::with_capacity(n);
    for _ in 0..n {
        users.push((next() % 10_000) as i64);
        dates.push(20_089 + (next() % 365) as i32); // 2025-01-01 + 0..365 days
    }
    let schema = Arc::new(iceberg_schema_to_arrow(&features_schema()).unwrap());
    RecordBatch::try_new(
        schema,
        vec![
            Arc::new(Int64Array::from(users.clone())),
            Arc::new(Date32Array::from(dates)),
            Arc::new(StringArray::from_iter_values(
                users.iter().map(|u| format!("p{u}")),
            )),
        ],
    )
    .unwrap()
}

async fn features_table(catalog: &MemoryCatalog, name: &str) -> Table {
    let mut t = catalog
        .create_table(
            &TableIdent::new(["db"], name),
            TableCreation::new(features_schema()),
        )
        .await
        .unwrap();
    for k in 0..128 {
        t = t
            .fast_append()
            .add_batches(&[features(k, 125)])
            .await
            .unwrap()
            .commit(catalog)
            .await
            .unwrap();
    }
    t
}

/// Files Floe plans for a filter.
async fn planned(t: &Table, filter: &Predicate) -> BTreeSet<String> {
    t.scan()
        .with_filter(filter.clone())
        .plan_files()
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.data_file.file_path)
        .collect()
}

/// Files pyiceberg plans for a filter (its own string syntax).
fn py_planned(py: &Path, t: &Table, filter: &str) -> BTreeSet<String> {
    let (ok, report) = interop(
        py,
        &[
            "plan",
            "--metadata",
            t.metadata_location(),
            "--filter",
            filter,
        ],
    );
    assert!(ok, "{report}");
    report["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zorder_lets_a_filter_on_either_column_skip_most_files() {
    let dir = temp_warehouse("compact-zorder");
    let catalog = catalog_at(&dir);
    let z = features_table(&catalog, "z").await;
    let b = features_table(&catalog, "b").await;
    let total_bytes: u64 = z
        .scan()
        .plan_files()
        .await
        .unwrap()
        .iter()
        .map(|t| t.data_file.file_size_in_bytes as u64)
        .sum();
    // About 64 output files.
    let target = total_bytes / 64 + 1;
    let filters = [
        (
            Reference::new("user_id").equal_to(Datum::Long(4321)),
            "user_id = 4321",
        ),
        (
            // 2025-06-15
            Reference::new("feature_date").equal_to(Datum::Date(20_254)),
            "feature_date = '2025-06-15'",
        ),
    ];
    let mut before = Vec::new();
    for (f, _) in &filters {
        before.push(planned(&z, f).await.len());
    }
    assert!(
        before.iter().all(|n| *n == 128),
        "random data: nothing pruned ({before:?})"
    );
    let rows_before = z.scan().to_arrow().await.unwrap();

    let zr = z
        .rewrite_data_files()
        .strategy(RewriteStrategy::ZOrder)
        .sort_columns(["user_id", "feature_date"])
        .target_file_size_bytes(target)
        .execute(&catalog)
        .await
        .unwrap();
    let br = b
        .rewrite_data_files()
        .target_file_size_bytes(target)
        .execute(&catalog)
        .await
        .unwrap();
    assert_eq!(zr.rewritten_data_files, 128);
    assert_eq!(br.rewritten_data_files, 128);
    assert!(zr.added_data_files >= 48, "{zr:?}");
    let z = catalog.load_table(z.ident()).await.unwrap();
    let b = catalog.load_table(b.ident()).await.unwrap();
    let z_total = data_file_count(&z).await;
    let b_total = data_file_count(&b).await;
    let py = python();
    let mut figures = Vec::new();
    for ((f, py_f), before) in filters.iter().zip(&before) {
        let zf = planned(&z, f).await;
        let bf = planned(&b, f).await;
        figures.push(format!(
            "{py_f}: before {before}/128, binpack {}/{b_total}, zorder {}/{z_total}",
            bf.len(),
            zf.len()
        ));
        assert!(zf.len() * 4 <= z_total, "{figures:?}");
        assert!(zf.len() * 4 <= bf.len(), "{figures:?}");
        assert!(zf.len() * 2 <= *before, "{figures:?}");
        if let Some(py) = &py {
            assert_eq!(
                py_planned(py, &z, py_f),
                zf,
                "pyiceberg plans what Floe plans"
            );
            assert_eq!(py_planned(py, &b, py_f).len(), bf.len());
        }
    }
    eprintln!("zorder pruning: {figures:?}");
    // Same rows, and the filters return the same rows as before.
    let sorted_pairs = |batches: &[RecordBatch]| {
        let mut v: Vec<(i64, i32)> = batches
            .iter()
            .flat_map(|b| {
                let u = b
                    .column(0)
                    .as_any()
                    .downcast_ref::<Int64Array>()
                    .unwrap()
                    .clone();
                let d = b
                    .column(1)
                    .as_any()
                    .downcast_ref::<Date32Array>()
                    .unwrap()
                    .clone();
                (0..u.len()).map(move |i| (u.value(i), d.value(i)))
            })
            .collect();
        v.sort_unstable();
        v
    };
    assert_eq!(
        sorted_pairs(&z.scan().to_arrow().await.unwrap()),
        sorted_pairs(&rows_before)
    );
    if let Some(py) = &py {
        let scan = z.scan();
        let batches = scan.to_arrow().await.unwrap();
        let schema = Arc::new(iceberg_schema_to_arrow(&scan.schema().unwrap()).unwrap());
        let ipc = dir.join("z.arrows");
        write_ipc(&ipc, &schema, &batches);
        let (ok, report) = interop(
            py,
            &[
                "compare",
                "--metadata",
                z.metadata_location(),
                "--expected",
                &ipc.display().to_string(),
            ],
        );
        assert!(ok, "{report}");
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delete_committed_between_planning_and_commit_fails_the_rewrite() {
    let dir = temp_warehouse("compact-race-delete");
    let catalog = catalog_at(&dir);
    let t = events_table(&catalog, "race", TableCreation::new(events_schema()), 6, 20).await;
    let plan = t.rewrite_data_files().plan().await.unwrap();
    assert_eq!(plan.rewritten_paths().len(), 6);
    // A copy-on-write delete touching one of the planned files lands first.
    let deleted = t
        .delete_where(Reference::new("id").less_than(Datum::Long(5)))
        .commit(&catalog)
        .await
        .unwrap();
    let err = plan.execute(&catalog).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::CommitConflict, "{err}");
    assert!(!err.is_retryable());
    let now = catalog.load_table(t.ident()).await.unwrap();
    assert_eq!(now.metadata_location(), deleted.metadata_location());
    let ids: Vec<i64> = rows_of(&now).await.into_iter().map(|r| r.0).collect();
    assert_eq!(ids, (5..120).collect::<Vec<_>>());
    // The rewrite removed what it wrote: every data file on disk is referenced.
    let on_disk: BTreeSet<String> = files_under(&dir)
        .into_iter()
        .filter(|p| p.ends_with(".parquet"))
        .collect();
    assert_eq!(on_disk, referenced_data_files(&now).await);
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delete_planned_before_a_rewrite_commits_fails_after_it() {
    let dir = temp_warehouse("compact-race-rewrite-first");
    let catalog = catalog_at(&dir);
    let t = events_table(&catalog, "race", TableCreation::new(events_schema()), 6, 20).await;
    let report = t.rewrite_data_files().execute(&catalog).await.unwrap();
    assert!(report.snapshot_id.is_some());
    // The delete was built on the table as it was before the rewrite.
    let err = t
        .delete_where(Reference::new("id").less_than(Datum::Long(5)))
        .commit(&catalog)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::CommitConflict, "{err}");
    let now = catalog.load_table(t.ident()).await.unwrap();
    assert_eq!(now.metadata().current_snapshot_id(), report.snapshot_id);
    let ids: Vec<i64> = rows_of(&now).await.into_iter().map(|r| r.0).collect();
    assert_eq!(ids, (0..120).collect::<Vec<_>>());
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_position_delete_against_a_planned_file_fails_the_rewrite() {
    let catalog = MemoryCatalog::new(FileIO::memory(), "memory://wh");
    let creation =
        TableCreation::new(events_schema()).with_property("write.delete.mode", "merge-on-read");
    let t = events_table(&catalog, "race-pos", creation, 6, 20).await;
    let plan = t.rewrite_data_files().plan().await.unwrap();
    let deleted = t
        .delete_where(Reference::new("id").equal_to(Datum::Long(42)))
        .commit(&catalog)
        .await
        .unwrap();
    let err = plan.execute(&catalog).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::CommitConflict, "{err}");
    let now = catalog.load_table(t.ident()).await.unwrap();
    assert_eq!(now.metadata_location(), deleted.metadata_location());
    assert_eq!(rows_of(&now).await.len(), 119);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_concurrent_append_survives_the_rewrite() {
    let dir = temp_warehouse("compact-race-append");
    let catalog = catalog_at(&dir);
    let t = events_table(&catalog, "race", TableCreation::new(events_schema()), 6, 20).await;
    let plan = t.rewrite_data_files().plan().await.unwrap();
    let appended = t
        .fast_append()
        .add_batches(&[events(1000..1010, 1.5)])
        .await
        .unwrap()
        .commit(&catalog)
        .await
        .unwrap();
    let report = plan.execute(&catalog).await.unwrap();
    let now = catalog.load_table(t.ident()).await.unwrap();
    let snap = now.metadata().current_snapshot().unwrap();
    assert_eq!(Some(snap.snapshot_id), report.snapshot_id);
    assert_eq!(snap.summary.operation, Operation::Replace);
    assert_eq!(
        snap.parent_snapshot_id,
        appended.metadata().current_snapshot_id(),
        "rebased onto the append"
    );
    assert_eq!(
        data_file_count(&now).await,
        2,
        "the compacted file and the appended one"
    );
    let ids: Vec<i64> = rows_of(&now).await.into_iter().map(|r| r.0).collect();
    let expected: Vec<i64> = (0..120).chain(1000..1010).collect();
    assert_eq!(ids, expected);
    if let Some(py) = python() {
        assert_clients_agree(&py, &now, &dir, false).await;
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_concurrent_equality_delete_still_applies_to_the_rewritten_rows() {
    let catalog = MemoryCatalog::new(FileIO::memory(), "memory://wh");
    let t = events_table(
        &catalog,
        "race-eq",
        TableCreation::new(events_schema()),
        6,
        20,
    )
    .await;
    let plan = t.rewrite_data_files().plan().await.unwrap();
    // Upsert keys 10..15: equality deletes with a higher sequence number than the start.
    t.upsert()
        .add_batches(&[events(10..15, 100.0)])
        .await
        .unwrap()
        .commit(&catalog)
        .await
        .unwrap();
    plan.execute(&catalog).await.unwrap();
    let now = catalog.load_table(t.ident()).await.unwrap();
    let rows = rows_of(&now).await;
    assert_eq!(rows.len(), 120, "one row per key: {rows:?}");
    for k in 10..15i64 {
        let matching: Vec<_> = rows.iter().filter(|r| r.0 == k).collect();
        assert_eq!(matching.len(), 1);
        assert_eq!(
            matching[0].2,
            (k as f64 * 100.0).to_bits(),
            "the upserted row wins"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rewrite_manifests_merges_small_manifests_and_keeps_time_travel() {
    let dir = temp_warehouse("rewrite-manifests");
    let catalog = catalog_at(&dir);
    let creation = TableCreation::new(events_schema()).with_partition_spec(by_region());
    let t = events_table(&catalog, "manifests", creation, 12, 10).await;
    let io = t.file_io().clone();
    let manifests = load_manifest_list(&io, t.metadata().current_snapshot().unwrap())
        .await
        .unwrap();
    assert_eq!(manifests.len(), 12);
    // Rows as of each snapshot, and every file's sequence numbers, before.
    let mut history = Vec::new();
    for s in t.metadata().snapshots() {
        let rows: usize = t
            .scan()
            .snapshot_id(s.snapshot_id)
            .to_arrow()
            .await
            .unwrap()
            .iter()
            .map(|b| b.num_rows())
            .sum();
        history.push((s.snapshot_id, rows));
    }
    let seqs: BTreeMap<String, i64> = t
        .scan()
        .plan_files()
        .await
        .unwrap()
        .into_iter()
        .map(|t| (t.data_file.file_path, t.sequence_number))
        .collect();
    let before = rows_of(&t).await;

    // A small target first: the twelve manifests become about three.
    let total_len: u64 = manifests.iter().map(|m| m.manifest_length as u64).sum();
    let report = t
        .rewrite_manifests()
        .target_size_bytes(total_len / 3)
        .execute(&catalog)
        .await
        .unwrap();
    assert_eq!(report.rewritten_manifests, 12);
    assert!((2..=4).contains(&report.added_manifests), "{report:?}");
    let t = catalog.load_table(t.ident()).await.unwrap();
    let three = load_manifest_list(&io, t.metadata().current_snapshot().unwrap())
        .await
        .unwrap();
    assert_eq!(three.len(), report.added_manifests);
    assert_eq!(rows_of(&t).await, before);

    // Then the default target (8 MiB): one manifest.
    let report = t.rewrite_manifests().execute(&catalog).await.unwrap();
    assert_eq!(report.rewritten_manifests, three.len());
    assert_eq!(report.added_manifests, 1);
    let t = catalog.load_table(t.ident()).await.unwrap();
    let snap = t.metadata().current_snapshot().unwrap();
    assert_eq!(Some(snap.snapshot_id), report.snapshot_id);
    assert_eq!(snap.summary.operation, Operation::Replace);
    assert_eq!(snap.summary.get("total-data-files"), Some("24"));
    let manifests = load_manifest_list(&io, snap).await.unwrap();
    assert_eq!(manifests.len(), 1);
    assert_eq!(manifests[0].content, ManifestContentType::Data);
    assert_eq!(manifests[0].existing_files_count, 24);
    assert_eq!(manifests[0].added_files_count, 0);
    let now_seqs: BTreeMap<String, i64> = t
        .scan()
        .plan_files()
        .await
        .unwrap()
        .into_iter()
        .map(|t| (t.data_file.file_path, t.sequence_number))
        .collect();
    assert_eq!(now_seqs, seqs, "files keep their sequence numbers");
    assert_eq!(rows_of(&t).await, before);
    for (id, rows) in &history {
        let n: usize = t
            .scan()
            .snapshot_id(*id)
            .to_arrow()
            .await
            .unwrap()
            .iter()
            .map(|b| b.num_rows())
            .sum();
        assert_eq!(n, *rows, "time travel to {id}");
    }
    // Nothing left to merge.
    let again = t.rewrite_manifests().execute(&catalog).await.unwrap();
    assert_eq!(again.rewritten_manifests, 0);
    assert_eq!(again.snapshot_id, None);

    if let Some(py) = python() {
        assert_clients_agree(&py, &t, &dir, false).await;
        // pyiceberg time travel to a snapshot from before both rewrites.
        let (old_id, old_rows) = history[4];
        let batches = t.scan().snapshot_id(old_id).to_arrow().await.unwrap();
        assert_eq!(
            batches.iter().map(|b| b.num_rows()).sum::<usize>(),
            old_rows
        );
        let schema = Arc::new(iceberg_schema_to_arrow(t.metadata().current_schema()).unwrap());
        let ipc = dir.join("old.arrows");
        write_ipc(&ipc, &schema, &batches);
        let (ok, report) = interop(
            &py,
            &[
                "compare",
                "--metadata",
                t.metadata_location(),
                "--expected",
                &ipc.display().to_string(),
                "--snapshot-id",
                &old_id.to_string(),
            ],
        );
        assert!(ok, "{report}");
        assert_eq!(report["pyiceberg_equal"], true, "{report}");
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v3_tables_compact_and_merge_manifests_too() {
    let dir = temp_warehouse("compact-v3");
    let catalog = catalog_at(&dir);
    let creation = TableCreation::new(events_schema())
        .with_partition_spec(by_region())
        .with_property("format-version", "3");
    let t = events_table(&catalog, "v3", creation, 6, 20).await;
    let before = rows_of(&t).await;
    let report = t.rewrite_data_files().execute(&catalog).await.unwrap();
    assert_eq!(report.rewritten_data_files, 12);
    assert_eq!(report.added_data_files, 2);
    let t = catalog.load_table(t.ident()).await.unwrap();
    let t = t
        .fast_append()
        .add_batches(&[events(500..510, 1.5)])
        .await
        .unwrap()
        .commit(&catalog)
        .await
        .unwrap();
    // The compacted file's manifest and the append's: the append left out the six manifests
    // that only recorded the compaction's deletions.
    let list = table_format::scan::plan::load_manifest_list(
        t.file_io(),
        t.metadata().current_snapshot().unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(list.len(), 2);
    let report = t.rewrite_manifests().execute(&catalog).await.unwrap();
    assert_eq!(report.rewritten_manifests, 2);
    assert_eq!(report.added_manifests, 1);
    let t = catalog.load_table(t.ident()).await.unwrap();
    let mut expected = before;
    expected.extend(rows_of_batch(&events(500..510, 1.5)));
    expected.sort();
    assert_eq!(rows_of(&t).await, expected);
    if let Some(py) = python() {
        assert_clients_agree(&py, &t, &dir, false).await;
    }
    std::fs::remove_dir_all(&dir).ok();
}

fn rows_of_batch(b: &RecordBatch) -> Vec<(i64, String, u64)> {
    let ids = b.column(0).as_any().downcast_ref::<Int64Array>().unwrap();
    let regions = b.column(1).as_any().downcast_ref::<StringArray>().unwrap();
    let values = b.column(2).as_any().downcast_ref::<Float64Array>().unwrap();
    (0..b.num_rows())
        .map(|i| {
            (
                ids.value(i),
                regions.value(i).to_string(),
                values.value(i).to_bits(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_runs_report_and_change_nothing() {
    let dir = temp_warehouse("compact-dry-run");
    let catalog = catalog_at(&dir);
    let creation = TableCreation::new(events_schema()).with_partition_spec(by_region());
    let t = events_table(&catalog, "dry", creation, 10, 20).await;
    let files_before = files_under(&dir);

    let report = t
        .rewrite_data_files()
        .strategy(RewriteStrategy::ZOrder)
        .sort_columns(["id", "value"])
        .dry_run(true)
        .execute(&catalog)
        .await
        .unwrap();
    assert!(report.dry_run);
    assert_eq!(report.rewritten_data_files, 20);
    assert_eq!(report.added_data_files, 2);
    assert_eq!(report.rewritten_paths.len(), 20);
    assert!(report.rewritten_bytes > 0);
    assert_eq!(report.snapshot_id, None);

    let report = t
        .rewrite_manifests()
        .dry_run(true)
        .execute(&catalog)
        .await
        .unwrap();
    assert!(report.dry_run);
    assert_eq!(report.rewritten_manifests, 10);
    assert_eq!(report.added_manifests, 1);
    assert_eq!(report.snapshot_id, None);

    let now = catalog.load_table(t.ident()).await.unwrap();
    assert_eq!(now.metadata_location(), t.metadata_location());
    assert_eq!(files_under(&dir), files_before);
    std::fs::remove_dir_all(&dir).ok();
}
