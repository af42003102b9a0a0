//! Table operations: append, overwrite and delete by filter (copy-on-write), replace
//! partitions, time travel, retries on conflict, and failures that leave the table intact.
//! Each checks the rows, the snapshot summaries and the sequence numbers; the final state is
//! also read by pyiceberg and DuckDB.

use std::sync::Arc;

use arrow_array::{Array, Int64Array, RecordBatch};
use table_format::ErrorKind;
use table_format::catalog::{Catalog, MemoryCatalog, TableCreation, TableIdent};
use table_format::expr::Reference;
use table_format::io::FileIO;
use table_format::spec::{
    Datum, ManifestStatus, Operation, SourceId, Transform, UnboundPartitionField,
    UnboundPartitionSpec,
};
use table_format::table::Table;

use crate::failing_store::FailingStore;
use crate::interop::{batch, interop, python, schema, temp_warehouse, write_ipc};

fn by_category() -> UnboundPartitionSpec {
    UnboundPartitionSpec {
        spec_id: None,
        fields: vec![UnboundPartitionField {
            source_id: SourceId::from(3),
            field_id: None,
            name: "category".into(),
            transform: Transform::Identity,
        }],
    }
}

/// The sorted `id` values of what a scan of the table's current snapshot returns.
pub async fn ids(table: &Table) -> Vec<i64> {
    ids_of(&table.scan().to_arrow().await.unwrap())
}

/// The sorted `id` column values of some batches.
pub fn ids_of(batches: &[RecordBatch]) -> Vec<i64> {
    let mut v: Vec<i64> = batches
        .iter()
        .flat_map(|b| {
            let idx = b.schema().index_of("id").unwrap();
            let a = b
                .column(idx)
                .as_any()
                .downcast_ref::<Int64Array>()
                .unwrap()
                .clone();
            (0..a.len()).map(move |i| a.value(i))
        })
        .collect();
    v.sort_unstable();
    v
}

async fn setup(catalog: &MemoryCatalog, name: &str, spec: UnboundPartitionSpec) -> Table {
    let ident = TableIdent::new(["db"], name);
    let t = catalog
        .create_table(
            &ident,
            TableCreation::new(schema()).with_partition_spec(spec),
        )
        .await
        .unwrap();
    let t = t
        .fast_append()
        .add_batches(&[batch(&schema(), 0, 30)])
        .await
        .unwrap()
        .commit(catalog)
        .await
        .unwrap();
    t.fast_append()
        .add_batches(&[batch(&schema(), 30, 30)])
        .await
        .unwrap()
        .commit(catalog)
        .await
        .unwrap()
}

fn summary_i64(t: &Table, key: &str) -> i64 {
    t.metadata()
        .current_snapshot()
        .unwrap()
        .summary
        .get(key)
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn appends_number_snapshots_and_keep_totals() {
    let catalog = MemoryCatalog::new(FileIO::memory(), "memory://wh");
    let t = setup(&catalog, "append", UnboundPartitionSpec::default()).await;
    let md = t.metadata();
    assert_eq!(md.snapshots().len(), 2);
    let (s1, s2) = (&md.snapshots()[0], &md.snapshots()[1]);
    assert_eq!((s1.sequence_number, s2.sequence_number), (1, 2));
    assert_eq!(s2.parent_snapshot_id, Some(s1.snapshot_id));
    assert_eq!(s2.summary.operation, Operation::Append);
    assert_eq!(summary_i64(&t, "added-records"), 30);
    assert_eq!(summary_i64(&t, "total-records"), 60);
    assert_eq!(summary_i64(&t, "total-data-files"), 2);
    assert_eq!(ids(&t).await, (0..60).collect::<Vec<_>>());
    // Entries carry the sequence number of the snapshot that added them (inherited).
    let tasks = t.scan().plan_files().await.unwrap();
    let mut seqs: Vec<i64> = tasks.iter().map(|t| t.sequence_number).collect();
    seqs.sort_unstable();
    assert_eq!(seqs, vec![1, 2]);
}

#[tokio::test]
async fn delete_by_filter_drops_whole_files_and_rewrites_partial_ones() {
    let catalog = MemoryCatalog::new(FileIO::memory(), "memory://wh");
    let t = setup(&catalog, "del", by_category()).await;
    // category 'aaa' partitions are dropped whole; id < 10 needs rewrites of other files.
    let filter = Reference::new("category")
        .equal_to(Datum::String("aaa".into()))
        .or(Reference::new("id").less_than(Datum::Long(10)));
    let before_files = t.scan().plan_files().await.unwrap().len();
    let t = t.delete_where(filter).commit(&catalog).await.unwrap();
    let expected: Vec<i64> = (0..60).filter(|i| i % 6 != 0 && *i >= 10).collect();
    assert_eq!(ids(&t).await, expected);
    let snap = t.metadata().current_snapshot().unwrap();
    assert_eq!(
        snap.summary.operation,
        Operation::Overwrite,
        "partial rewrites add files"
    );
    assert_eq!(snap.sequence_number, 3);
    assert_eq!(summary_i64(&t, "total-records"), expected.len() as i64);
    assert!(summary_i64(&t, "deleted-data-files") > 0);
    assert_eq!(
        summary_i64(&t, "total-records"),
        summary_i64(&t, "added-records") + 60 - summary_i64(&t, "deleted-records")
    );
    assert!(t.scan().plan_files().await.unwrap().len() <= before_files);

    // A delete that only drops whole partitions is a `delete` snapshot.
    let t = t
        .delete_where(Reference::new("category").equal_to(Datum::String("bbb".into())))
        .commit(&catalog)
        .await
        .unwrap();
    let snap = t.metadata().current_snapshot().unwrap();
    assert_eq!(snap.summary.operation, Operation::Delete);
    assert!(snap.summary.get("added-data-files").is_none());
    assert_eq!(
        ids(&t).await,
        expected
            .iter()
            .copied()
            .filter(|i| i % 6 != 1)
            .collect::<Vec<_>>()
    );

    // A delete that matches nothing makes no snapshot.
    let n = t.metadata().snapshots().len();
    let t = t
        .delete_where(Reference::new("id").greater_than(Datum::Long(1_000)))
        .commit(&catalog)
        .await
        .unwrap();
    assert_eq!(t.metadata().snapshots().len(), n);
}

#[tokio::test]
async fn overwrite_by_filter_replaces_matching_rows() {
    let catalog = MemoryCatalog::new(FileIO::memory(), "memory://wh");
    let t = setup(&catalog, "ow", by_category()).await;
    let filter = Reference::new("category").equal_to(Datum::String("ccc".into()));
    let new_rows = batch(&schema(), 1000, 6);
    let t = t
        .overwrite(filter)
        .add_batches(&[new_rows])
        .await
        .unwrap()
        .commit(&catalog)
        .await
        .unwrap();
    let mut expected: Vec<i64> = (0..60).filter(|i| i % 6 != 2).collect();
    expected.extend(1000..1006);
    expected.sort_unstable();
    assert_eq!(ids(&t).await, expected);
    let snap = t.metadata().current_snapshot().unwrap();
    assert_eq!(snap.summary.operation, Operation::Overwrite);
    assert_eq!(summary_i64(&t, "added-records"), 6);
    assert_eq!(summary_i64(&t, "deleted-records"), 10);
    assert_eq!(summary_i64(&t, "total-records"), 56);
}

#[tokio::test]
async fn replace_partitions_swaps_only_the_touched_partitions() {
    let catalog = MemoryCatalog::new(FileIO::memory(), "memory://wh");
    let t = setup(&catalog, "rp", by_category()).await;
    // Rows 1000..1006 cover every category once: all six partitions are replaced.
    let t2 = t
        .replace_partitions()
        .add_batches(&[batch(&schema(), 1000, 2)])
        .await
        .unwrap()
        .commit(&catalog)
        .await
        .unwrap();
    // 1000 % 6 = 4 ('eee'), 1001 % 6 = 5 ('fff'): those two partitions are replaced.
    let mut expected: Vec<i64> = (0..60).filter(|i| i % 6 != 4 && i % 6 != 5).collect();
    expected.extend([1000, 1001]);
    assert_eq!(ids(&t2).await, expected);
    assert_eq!(
        t2.metadata().current_snapshot().unwrap().summary.operation,
        Operation::Overwrite
    );
    assert_eq!(summary_i64(&t2, "changed-partition-count"), 2);
    // Time travel: the snapshot before still has every row, by id and by timestamp.
    let before = t.metadata().current_snapshot_id().unwrap();
    assert_eq!(
        ids_of(&t2.scan().snapshot_id(before).to_arrow().await.unwrap()),
        (0..60).collect::<Vec<_>>()
    );
    let ts = t.metadata().current_snapshot().unwrap().timestamp_ms;
    let as_of = t2
        .scan()
        .as_of_timestamp(ts)
        .snapshot()
        .unwrap()
        .unwrap()
        .snapshot_id;
    assert!(as_of == before || t2.metadata().snapshot_by_id(as_of).unwrap().timestamp_ms <= ts);
    let first = t2.metadata().snapshots()[0].snapshot_id;
    assert_eq!(
        ids_of(&t2.scan().snapshot_id(first).to_arrow().await.unwrap()),
        (0..30).collect::<Vec<_>>()
    );
    assert!(t2.scan().snapshot_id(42).to_arrow().await.is_err());
}

#[tokio::test]
async fn manifests_mark_deleted_entries_with_the_deleting_snapshot() {
    let catalog = MemoryCatalog::new(FileIO::memory(), "memory://wh");
    let t = setup(&catalog, "entries", by_category()).await;
    let t = t
        .delete_where(Reference::new("category").equal_to(Datum::String("ddd".into())))
        .commit(&catalog)
        .await
        .unwrap();
    let snap = t.metadata().current_snapshot().unwrap().clone();
    let manifests = table_format::scan::plan::load_manifest_list(t.file_io(), &snap)
        .await
        .unwrap();
    let mut deleted = 0;
    for m in &manifests {
        for e in table_format::scan::plan::load_manifest(t.file_io(), t.metadata(), m)
            .await
            .unwrap()
        {
            if e.status == ManifestStatus::Deleted {
                deleted += 1;
                assert_eq!(e.snapshot_id, Some(snap.snapshot_id));
                assert!(
                    e.sequence_number.unwrap() < snap.sequence_number,
                    "keeps its data sequence number"
                );
            } else {
                assert!(e.sequence_number.is_some() && e.snapshot_id.is_some());
            }
        }
    }
    assert_eq!(deleted, 2, "one 'ddd' file per append");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_appends_both_land_through_retries() {
    let catalog = MemoryCatalog::new(FileIO::memory(), "memory://wh");
    let t = setup(&catalog, "race", UnboundPartitionSpec::default()).await;
    // Two writers start from the same table state.
    let a = t
        .fast_append()
        .add_batches(&[batch(&schema(), 100, 5)])
        .await
        .unwrap();
    let b = t
        .fast_append()
        .add_batches(&[batch(&schema(), 200, 5)])
        .await
        .unwrap();
    let ta = a.commit(&catalog).await.unwrap();
    let tb = b.commit(&catalog).await.unwrap();
    assert_ne!(ta.metadata_location(), tb.metadata_location());
    let t = catalog.load_table(t.ident()).await.unwrap();
    let got = ids(&t).await;
    assert_eq!(got.len(), 70);
    assert!(got.contains(&100) && got.contains(&200));
    let seqs: Vec<i64> = t
        .metadata()
        .snapshots()
        .iter()
        .map(|s| s.sequence_number)
        .collect();
    assert_eq!(seqs, vec![1, 2, 3, 4]);
    assert_eq!(summary_i64(&t, "total-records"), 70);
}

#[tokio::test]
async fn a_delete_racing_a_delete_of_the_same_file_fails_cleanly() {
    let catalog = MemoryCatalog::new(FileIO::memory(), "memory://wh");
    let t = setup(&catalog, "dd", by_category()).await;
    let f = || Reference::new("category").equal_to(Datum::String("eee".into()));
    let first = t.delete_where(f()).commit(&catalog).await.unwrap();
    // The second started from the old state; its files are gone at the new head.
    let err = t.delete_where(f()).commit(&catalog).await;
    match err {
        // Either it notices the files are already gone (nothing left to delete)...
        Ok(t2) => assert_eq!(t2.metadata_location(), first.metadata_location()),
        // ...or it reports the conflict; both leave the table as the first delete made it.
        Err(e) => assert_eq!(e.kind(), ErrorKind::CommitConflict),
    }
    let now = catalog.load_table(t.ident()).await.unwrap();
    assert_eq!(now.metadata_location(), first.metadata_location());
}

#[tokio::test]
async fn a_storage_failure_mid_append_leaves_the_table_untouched() {
    let store = Arc::new(FailingStore::new(Arc::new(
        object_store::memory::InMemory::new(),
    )));
    let io = FileIO::from_store(store.clone());
    let catalog = MemoryCatalog::new(io, "memory://wh");
    let t = setup(&catalog, "fail", by_category()).await;
    let before = catalog.load_table(t.ident()).await.unwrap();
    // Fail at every point of an append: data files, manifest, manifest list, metadata file.
    let mut failures = 0;
    let mut landed = false;
    for allowed in 0..40 {
        store.fail_after(allowed);
        let result = async {
            t.fast_append()
                .add_batches(&[batch(&schema(), 500, 12)])
                .await?
                .commit(&catalog)
                .await
        }
        .await;
        store.heal();
        let now = catalog.load_table(t.ident()).await.unwrap();
        match result {
            Err(_) => {
                failures += 1;
                assert_eq!(
                    now.metadata_location(),
                    before.metadata_location(),
                    "failure after {allowed} writes"
                );
                assert_eq!(ids(&now).await, (0..60).collect::<Vec<_>>());
            }
            Ok(_) => {
                // Enough writes were allowed for the whole append: it landed completely.
                assert_eq!(ids(&now).await.len(), 72);
                landed = true;
                break;
            }
        }
    }
    // Six category files, a manifest, a manifest list and a metadata file: eight writes
    // can fail before the append lands.
    assert!(
        failures >= 8,
        "only {failures} injected failures were exercised"
    );
    assert!(landed, "the append never succeeded once the store healed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pyiceberg_and_duckdb_read_the_result_of_every_operation() {
    let Some(py) = python() else { return };
    for version in [2, 3] {
        let dir = temp_warehouse("ops");
        let catalog = MemoryCatalog::new(FileIO::local(), format!("file://{}", dir.display()));
        let ident = TableIdent::new(["db"], "ops");
        let t = catalog
            .create_table(
                &ident,
                TableCreation::new(schema())
                    .with_partition_spec(by_category())
                    .with_property("format-version", version.to_string()),
            )
            .await
            .unwrap();
        let t = t
            .fast_append()
            .add_batches(&[batch(&schema(), 0, 40)])
            .await
            .unwrap()
            .commit(&catalog)
            .await
            .unwrap();
        let t = t
            .delete_where(Reference::new("id").less_than(Datum::Long(7)))
            .commit(&catalog)
            .await
            .unwrap();
        let t = t
            .overwrite(Reference::new("category").equal_to(Datum::String("bbb".into())))
            .add_batches(&[batch(&schema(), 2000, 3)])
            .await
            .unwrap()
            .commit(&catalog)
            .await
            .unwrap();
        let t = t
            .replace_partitions()
            .add_batches(&[batch(&schema(), 3000, 1)])
            .await
            .unwrap()
            .commit(&catalog)
            .await
            .unwrap();
        // v2 row-level deletes written as a position delete file (v3 uses deletion vectors).
        let t = if version == 2 {
            let target = t.scan().plan_files().await.unwrap()[0].data_file.clone();
            let del_path = format!("file://{}/db/ops/data/pos-del-1.parquet", dir.display());
            let mut del =
                position_delete_file(t.file_io(), &del_path, &target.file_path, &[0]).await;
            del.partition = target.partition.clone();
            t.fast_append()
                .add_files([del])
                .commit(&catalog)
                .await
                .unwrap()
        } else {
            t
        };
        let scan = t.scan();
        let batches = scan.to_arrow().await.unwrap();
        let arrow_schema = Arc::new(
            table_format::arrow::iceberg_schema_to_arrow(&scan.schema().unwrap()).unwrap(),
        );
        let ipc = dir.join("floe.arrows");
        write_ipc(&ipc, &arrow_schema, &batches);
        let md = t.metadata_location().to_string();
        let ipc_s = ipc.display().to_string();
        let (ok, report) = interop(&py, &["compare", "--metadata", &md, "--expected", &ipc_s]);
        assert!(ok, "v{version}: {report}");
        std::fs::remove_dir_all(&dir).ok();
    }
}

#[tokio::test]
async fn a_delete_retried_after_a_concurrent_append_keeps_both() {
    let catalog = MemoryCatalog::new(FileIO::memory(), "memory://wh");
    let ident = TableIdent::new(["db"], "retry");
    let t = catalog
        .create_table(&ident, TableCreation::new(schema()))
        .await
        .unwrap();
    let t = t
        .fast_append()
        .add_batches(&[batch(&schema(), 0, 10)])
        .await
        .unwrap()
        .commit(&catalog)
        .await
        .unwrap();
    // Another writer appends first; our delete started from the older state.
    let stale = t.clone();
    t.fast_append()
        .add_batches(&[batch(&schema(), 100, 2)])
        .await
        .unwrap()
        .commit(&catalog)
        .await
        .unwrap();
    let after = stale
        .delete_where(Reference::new("id").less_than(Datum::Long(3)))
        .commit(&catalog)
        .await
        .unwrap();
    let mut expected: Vec<i64> = (3..10).collect();
    expected.extend([100, 101]);
    assert_eq!(ids(&after).await, expected);
    assert_eq!(summary_i64(&after, "total-records"), 9);
}

#[tokio::test]
async fn a_delete_retried_after_an_append_it_partly_matches_rewrites_that_file_too() {
    let catalog = MemoryCatalog::new(FileIO::memory(), "memory://wh");
    let ident = TableIdent::new(["db"], "retry2");
    let t = catalog
        .create_table(&ident, TableCreation::new(schema()))
        .await
        .unwrap();
    let t = t
        .fast_append()
        .add_batches(&[batch(&schema(), 0, 10)])
        .await
        .unwrap()
        .commit(&catalog)
        .await
        .unwrap();
    let stale = t.clone();
    // The concurrent append holds ids 1..4: the delete of id < 3 partly matches it as well.
    t.fast_append()
        .add_batches(&[batch(&schema(), 1, 3)])
        .await
        .unwrap()
        .commit(&catalog)
        .await
        .unwrap();
    let after = stale
        .delete_where(Reference::new("id").less_than(Datum::Long(3)))
        .commit(&catalog)
        .await
        .unwrap();
    let mut expected: Vec<i64> = (3..10).collect();
    expected.push(3);
    expected.sort_unstable();
    assert_eq!(ids(&after).await, expected);
    assert_eq!(summary_i64(&after, "total-records"), 8);
}

/// A position delete file (Parquet, reserved field ids) for `data_path` at `positions`.
async fn position_delete_file(
    io: &FileIO,
    path: &str,
    data_path: &str,
    positions: &[i64],
) -> table_format::spec::DataFile {
    use arrow_array::StringArray;
    use arrow_schema::{DataType, Field, Schema as ArrowSchema};
    let field = |name: &str, dt: DataType, id: i32| {
        Field::new(name, dt, false).with_metadata(std::collections::HashMap::from([(
            table_format::arrow::FIELD_ID_KEY.to_string(),
            id.to_string(),
        )]))
    };
    let schema = Arc::new(ArrowSchema::new(vec![
        field("file_path", DataType::Utf8, 2_147_483_546),
        field("pos", DataType::Int64, 2_147_483_545),
    ]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(StringArray::from(vec![data_path; positions.len()])),
            Arc::new(Int64Array::from(positions.to_vec())),
        ],
    )
    .unwrap();
    let mut buf = Vec::new();
    let mut w = parquet::arrow::ArrowWriter::try_new(&mut buf, schema, None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    let len = buf.len() as i64;
    io.write(path, bytes::Bytes::from(buf)).await.unwrap();
    table_format::spec::DataFile {
        content: table_format::spec::DataContentType::PositionDeletes,
        file_path: path.to_string(),
        file_format: table_format::spec::DataFileFormat::Parquet,
        record_count: positions.len() as i64,
        file_size_in_bytes: len,
        referenced_data_file: Some(data_path.to_string()),
        ..Default::default()
    }
}

#[tokio::test]
async fn position_deletes_apply_to_scans_and_survive_a_copy_on_write_rewrite() {
    let catalog = MemoryCatalog::new(FileIO::memory(), "memory://wh");
    let ident = TableIdent::new(["db"], "posdel");
    let t = catalog
        .create_table(&ident, TableCreation::new(schema()))
        .await
        .unwrap();
    let t = t
        .fast_append()
        .add_batches(&[batch(&schema(), 0, 10)])
        .await
        .unwrap()
        .commit(&catalog)
        .await
        .unwrap();
    let data_path = t.scan().plan_files().await.unwrap()[0]
        .data_file
        .file_path
        .clone();
    let del = position_delete_file(
        t.file_io(),
        "memory://wh/db/posdel/data/del-1.parquet",
        &data_path,
        &[0, 1],
    )
    .await;
    let t = t
        .fast_append()
        .add_files([del])
        .commit(&catalog)
        .await
        .unwrap();
    // The planner attaches the delete file (its sequence number is above the data file's).
    let tasks = t.scan().plan_files().await.unwrap();
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0].deletes.len(), 1);
    assert_eq!(ids(&t).await, (2..10).collect::<Vec<_>>());
    // Time travel to before the delete file: all rows.
    let first = t.metadata().snapshots()[0].snapshot_id;
    assert_eq!(
        ids_of(&t.scan().snapshot_id(first).to_arrow().await.unwrap()),
        (0..10).collect::<Vec<_>>()
    );
    // A copy-on-write delete rewrites the file: deleted rows must not come back.
    let t = t
        .delete_where(Reference::new("id").equal_to(Datum::Long(5)))
        .commit(&catalog)
        .await
        .unwrap();
    assert_eq!(ids(&t).await, vec![2, 3, 4, 6, 7, 8, 9]);
}

#[tokio::test]
async fn committing_only_delete_files_is_a_delete_snapshot() {
    let catalog = MemoryCatalog::new(FileIO::memory(), "memory://wh");
    let ident = TableIdent::new(["db"], "opkind");
    let t = catalog
        .create_table(&ident, TableCreation::new(schema()))
        .await
        .unwrap();
    let t = t
        .fast_append()
        .add_batches(&[batch(&schema(), 0, 4)])
        .await
        .unwrap()
        .commit(&catalog)
        .await
        .unwrap();
    let data_path = t.scan().plan_files().await.unwrap()[0]
        .data_file
        .file_path
        .clone();
    let del = position_delete_file(
        t.file_io(),
        "memory://wh/db/opkind/data/d.parquet",
        &data_path,
        &[3],
    )
    .await;
    let t = t
        .fast_append()
        .add_files([del])
        .commit(&catalog)
        .await
        .unwrap();
    let snap = t.metadata().current_snapshot().unwrap();
    assert_eq!(snap.summary.operation, Operation::Delete);
    assert_eq!(snap.summary.get("added-position-deletes"), Some("1"));
    assert_eq!(snap.summary.get("total-position-deletes"), Some("1"));
    assert_eq!(ids(&t).await, vec![0, 1, 2]);
}

#[tokio::test]
async fn writers_sort_rows_by_the_table_sort_order() {
    use table_format::spec::{NullOrder, SortDirection, SortField, SortOrder};
    let catalog = MemoryCatalog::new(FileIO::memory(), "memory://wh");
    let ident = TableIdent::new(["db"], "sorted");
    let mut creation = TableCreation::new(schema());
    creation.sort_order = SortOrder::new(
        1,
        vec![
            SortField {
                source_id: SourceId::from(3),
                transform: Transform::Identity,
                direction: SortDirection::Asc,
                null_order: NullOrder::NullsFirst,
            },
            SortField {
                source_id: SourceId::from(1),
                transform: Transform::Identity,
                direction: SortDirection::Desc,
                null_order: NullOrder::NullsLast,
            },
        ],
    );
    let t = catalog.create_table(&ident, creation).await.unwrap();
    let t = t
        .fast_append()
        .add_batches(&[batch(&schema(), 0, 13), batch(&schema(), 50, 5)])
        .await
        .unwrap()
        .commit(&catalog)
        .await
        .unwrap();
    let tasks = t.scan().plan_files().await.unwrap();
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0].data_file.sort_order_id, Some(1));
    let batches = t.scan().to_arrow().await.unwrap();
    let mut rows: Vec<(String, i64)> = Vec::new();
    for b in &batches {
        let cat = b
            .column(2)
            .as_any()
            .downcast_ref::<arrow_array::StringArray>()
            .unwrap();
        let id = b.column(0).as_any().downcast_ref::<Int64Array>().unwrap();
        for i in 0..b.num_rows() {
            rows.push((cat.value(i).to_string(), id.value(i)));
        }
    }
    let mut expected = rows.clone();
    expected.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
    assert_eq!(
        rows, expected,
        "rows are stored by category asc, then id desc"
    );
    assert_eq!(rows.len(), 18);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merge_on_read_deletes_write_position_deletes_that_real_clients_apply() {
    let dir = temp_warehouse("mor");
    let catalog = MemoryCatalog::new(FileIO::local(), format!("file://{}", dir.display()));
    let ident = TableIdent::new(["db"], "mor");
    let t = catalog
        .create_table(
            &ident,
            TableCreation::new(schema()).with_property("write.delete.mode", "merge-on-read"),
        )
        .await
        .unwrap();
    let t = t
        .fast_append()
        .add_batches(&[batch(&schema(), 0, 20)])
        .await
        .unwrap()
        .commit(&catalog)
        .await
        .unwrap();
    let data_files_before: Vec<String> = t
        .scan()
        .plan_files()
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.data_file.file_path)
        .collect();
    let filter = Reference::new("id")
        .less_than(Datum::Long(5))
        .or(Reference::new("id").equal_to(Datum::Long(12)));
    let t = t.delete_where(filter).commit(&catalog).await.unwrap();
    let snap = t.metadata().current_snapshot().unwrap();
    assert_eq!(snap.summary.operation, Operation::Delete);
    assert_eq!(snap.summary.get("added-position-deletes"), Some("6"));
    assert!(
        snap.summary.get("deleted-data-files").is_none(),
        "no data file is rewritten"
    );
    let tasks = t.scan().plan_files().await.unwrap();
    let after: Vec<String> = tasks
        .iter()
        .map(|t| t.data_file.file_path.clone())
        .collect();
    assert_eq!(after, data_files_before);
    assert_eq!(tasks[0].deletes.len(), 1);
    let expected: Vec<i64> = (5..20).filter(|i| *i != 12).collect();
    assert_eq!(ids(&t).await, expected);
    if let Some(py) = python() {
        let scan = t.scan();
        let batches = scan.to_arrow().await.unwrap();
        let arrow_schema = Arc::new(
            table_format::arrow::iceberg_schema_to_arrow(&scan.schema().unwrap()).unwrap(),
        );
        let ipc = dir.join("floe.arrows");
        write_ipc(&ipc, &arrow_schema, &batches);
        let md = t.metadata_location().to_string();
        let (ok, report) = interop(
            &py,
            &[
                "compare",
                "--metadata",
                &md,
                "--expected",
                &ipc.display().to_string(),
            ],
        );
        assert!(ok, "{report}");
        assert_eq!(report["pyiceberg_equal"], true);
        assert_eq!(report["duckdb_equal"], true);
    }
    std::fs::remove_dir_all(&dir).ok();
}
