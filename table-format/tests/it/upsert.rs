//! Upserts by identifier fields write equality deletes plus new rows; reads (Floe's,
//! pyiceberg's, DuckDB's) see one live row per key.

use std::sync::Arc;

use arrow_array::{Array, Int64Array, RecordBatch, StringArray};
use table_format::arrow::iceberg_schema_to_arrow;
use table_format::catalog::{Catalog, MemoryCatalog, TableCreation, TableIdent};
use table_format::io::FileIO;
use table_format::spec::{NestedField, Operation, PrimitiveType, Schema};

use crate::interop::{interop, python, temp_warehouse, write_ipc};

fn keyed_schema() -> Schema {
    Schema::builder()
        .with_identifier_field_ids([1])
        .with_fields([
            NestedField::required(1, "id", PrimitiveType::Long),
            NestedField::optional(2, "value", PrimitiveType::String),
        ])
        .build()
        .unwrap()
}

fn rows(ids: &[i64], tag: &str) -> RecordBatch {
    let schema = Arc::new(iceberg_schema_to_arrow(&keyed_schema()).unwrap());
    RecordBatch::try_new(
        schema,
        vec![
            Arc::new(Int64Array::from(ids.to_vec())),
            Arc::new(StringArray::from_iter_values(
                ids.iter().map(|i| format!("{tag}-{i}")),
            )),
        ],
    )
    .unwrap()
}

async fn live(t: &table_format::table::Table) -> Vec<(i64, String)> {
    let mut out = Vec::new();
    for b in t.scan().to_arrow().await.unwrap() {
        let ids = b.column(0).as_any().downcast_ref::<Int64Array>().unwrap();
        let vals = b.column(1).as_any().downcast_ref::<StringArray>().unwrap();
        for i in 0..b.num_rows() {
            out.push((ids.value(i), vals.value(i).to_string()));
        }
    }
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upserts_replace_rows_by_key_and_real_clients_agree() {
    let dir = temp_warehouse("upsert");
    let catalog = MemoryCatalog::new(FileIO::local(), format!("file://{}", dir.display()));
    let ident = TableIdent::new(["db"], "kv");
    let t = catalog
        .create_table(&ident, TableCreation::new(keyed_schema()))
        .await
        .unwrap();
    let t = t
        .fast_append()
        .add_batches(&[rows(&(0..10).collect::<Vec<_>>(), "v1")])
        .await
        .unwrap()
        .commit(&catalog)
        .await
        .unwrap();
    // Keys 5..15: five replace old rows, five are new; key 7 twice in one upsert (last wins).
    let mut batch_ids: Vec<i64> = (5..15).collect();
    batch_ids.push(7);
    let mut b = rows(&batch_ids, "v2");
    // Make the repeated key's last row distinguishable.
    let vals: Vec<String> = batch_ids
        .iter()
        .enumerate()
        .map(|(i, k)| {
            if i == batch_ids.len() - 1 {
                "v2-last".to_string()
            } else {
                format!("v2-{k}")
            }
        })
        .collect();
    b = RecordBatch::try_new(
        b.schema(),
        vec![b.column(0).clone(), Arc::new(StringArray::from(vals))],
    )
    .unwrap();
    let t = t
        .upsert()
        .add_batches(&[b])
        .await
        .unwrap()
        .commit(&catalog)
        .await
        .unwrap();
    let snap = t.metadata().current_snapshot().unwrap();
    assert_eq!(snap.summary.operation, Operation::Overwrite);
    assert_eq!(snap.summary.get("added-equality-deletes"), Some("10"));
    let got = live(&t).await;
    assert_eq!(got.len(), 15, "one live row per key: {got:?}");
    assert_eq!(got[0], (0, "v1-0".to_string()));
    assert_eq!(got[5], (5, "v2-5".to_string()));
    assert_eq!(got[7], (7, "v2-last".to_string()));
    assert_eq!(got[14], (14, "v2-14".to_string()));

    if let Some(py) = python() {
        let batches = t.scan().to_arrow().await.unwrap();
        let schema = Arc::new(iceberg_schema_to_arrow(t.metadata().current_schema()).unwrap());
        let ipc = dir.join("floe.arrows");
        write_ipc(&ipc, &schema, &batches);
        // pyiceberg 0.12 refuses equality deletes ("does not yet support equality deletes"), so
        // DuckDB is the real client that checks them.
        let (ok, report) = interop(
            &py,
            &[
                "compare",
                "--metadata",
                t.metadata_location(),
                "--expected",
                &ipc.display().to_string(),
                "--no-pyiceberg",
            ],
        );
        assert!(ok, "{report}");
        assert_eq!(report["duckdb_equal"], true, "{report}");
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn a_stream_of_small_upserts_leaves_one_live_row_per_key() {
    let catalog = MemoryCatalog::new(FileIO::memory(), "memory://wh");
    let ident = TableIdent::new(["db"], "stream");
    let mut t = catalog
        .create_table(&ident, TableCreation::new(keyed_schema()))
        .await
        .unwrap();
    for i in 0..1_000i64 {
        let keys = [i % 40, (i * 7) % 40];
        t = t
            .upsert()
            .add_batches(&[rows(&keys, &format!("u{i}"))])
            .await
            .unwrap()
            .commit(&catalog)
            .await
            .unwrap();
    }
    let got = live(&t).await;
    assert_eq!(got.len(), 40, "one live row per key");
    // Each key holds the value of the last upsert that wrote it.
    for (k, v) in &got {
        let last = (0..1_000i64)
            .rev()
            .find(|i| i % 40 == *k || (i * 7) % 40 == *k)
            .unwrap();
        assert_eq!(v, &format!("u{last}-{k}"));
    }
}

#[tokio::test]
async fn upsert_needs_identifier_fields() {
    let catalog = MemoryCatalog::new(FileIO::memory(), "memory://wh");
    let ident = TableIdent::new(["db"], "nokey");
    let schema = Schema::builder()
        .with_fields([
            NestedField::required(1, "id", PrimitiveType::Long),
            NestedField::optional(2, "value", PrimitiveType::String),
        ])
        .build()
        .unwrap();
    let t = catalog
        .create_table(&ident, TableCreation::new(schema))
        .await
        .unwrap();
    let err = t
        .upsert()
        .add_batches(&[rows(&[1], "x")])
        .await
        .unwrap_err();
    assert!(err.message().contains("identifier fields"), "{err}");
}

/// (data manifests, delete manifests) of the current snapshot.
async fn manifest_counts(t: &table_format::table::Table) -> (usize, usize) {
    use table_format::spec::ManifestContentType;
    let snap = t.metadata().current_snapshot().unwrap();
    let list = table_format::scan::plan::load_manifest_list(t.file_io(), snap)
        .await
        .unwrap();
    let deletes = list
        .iter()
        .filter(|m| m.content == ManifestContentType::Deletes)
        .count();
    (list.len() - deletes, deletes)
}

#[tokio::test]
async fn upserts_merge_small_manifests_on_commit_and_fast_appends_do_not() {
    let catalog = MemoryCatalog::new(FileIO::memory(), "memory://wh");
    let create = |merge: bool| {
        TableCreation::new(keyed_schema())
            .with_property("commit.manifest.min-count-to-merge", "10")
            .with_property("commit.manifest-merge.enabled", merge.to_string())
    };
    let mut merged = catalog
        .create_table(&TableIdent::new(["db"], "merged"), create(true))
        .await
        .unwrap();
    let mut plain = catalog
        .create_table(&TableIdent::new(["db"], "plain"), create(false))
        .await
        .unwrap();
    let mut middle = None;
    for i in 0..30i64 {
        let keys = [i % 12, 100 + i];
        for t in [&mut merged, &mut plain] {
            *t = t
                .upsert()
                .add_batches(&[rows(&keys, &format!("u{i}"))])
                .await
                .unwrap()
                .commit(&catalog)
                .await
                .unwrap();
        }
        if i == 14 {
            middle = Some((
                merged.metadata().current_snapshot_id().unwrap(),
                live(&plain).await,
            ));
        }
    }
    let (data, deletes) = manifest_counts(&merged).await;
    assert!(
        data < 10 && deletes < 10,
        "merged: {data} data, {deletes} delete manifests"
    );
    assert_eq!(manifest_counts(&plain).await, (30, 30));
    // Same rows, and sequence numbers kept: every equality delete still applies correctly.
    let got = live(&merged).await;
    assert_eq!(got, live(&plain).await);
    assert_eq!(got.len(), 12 + 30);
    // Time travel to a snapshot before later merges reads what it read then.
    let (id, want) = middle.unwrap();
    let mut then = Vec::new();
    for b in merged.scan().snapshot_id(id).to_arrow().await.unwrap() {
        let ids = b.column(0).as_any().downcast_ref::<Int64Array>().unwrap();
        let vals = b.column(1).as_any().downcast_ref::<StringArray>().unwrap();
        for i in 0..b.num_rows() {
            then.push((ids.value(i), vals.value(i).to_string()));
        }
    }
    then.sort();
    assert_eq!(then, want);

    // A fast append never rewrites manifests.
    let mut t = catalog
        .create_table(&TableIdent::new(["db"], "fast"), create(true))
        .await
        .unwrap();
    for i in 0..15i64 {
        t = t
            .fast_append()
            .add_batches(&[rows(&[1000 + i], "a")])
            .await
            .unwrap()
            .commit(&catalog)
            .await
            .unwrap();
    }
    assert_eq!(manifest_counts(&t).await, (15, 0));
}
