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
