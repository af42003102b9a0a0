//! Replacing the default sort order: the order and its id in the metadata, files written after
//! the change sorted by it and carrying its id, and pyiceberg reading the same order.

use std::sync::Arc;

use arrow_array::{Array, Float64Array, Int64Array, RecordBatch};
use table_format::ErrorKind;
use table_format::catalog::{Catalog, MemoryCatalog, TableCreation, TableIdent};
use table_format::io::FileIO;
use table_format::scan::ArrowReader;
use table_format::spec::{NullOrder, SortDirection, Transform};
use table_format::table::Table;

use crate::interop::{batch, interop, python, schema, temp_warehouse};

/// The live data files of the current snapshot.
async fn data_files(t: &Table) -> Vec<table_format::spec::DataFile> {
    let tasks = t.scan().plan_files().await.unwrap();
    tasks.into_iter().map(|task| task.data_file).collect()
}

/// The rows of one data file, in file order.
async fn file_rows(t: &Table, path: &str) -> Vec<RecordBatch> {
    let schema = Arc::new(t.metadata().current_schema().clone());
    let ids = schema.fields().iter().map(|f| f.id).collect();
    let reader = ArrowReader::new(t.file_io().clone(), schema.clone(), ids).unwrap();
    reader.read_parquet(path, &schema).await.unwrap()
}

/// Rows `ids` in the given order (not sorted).
fn shuffled(ids: &[i64]) -> RecordBatch {
    let all = batch(&schema(), 0, 100);
    let idx = arrow_array::UInt32Array::from(ids.iter().map(|i| *i as u32).collect::<Vec<_>>());
    let cols = all
        .columns()
        .iter()
        .map(|c| arrow_select::take::take(c.as_ref(), &idx, None).unwrap())
        .collect();
    RecordBatch::try_new(all.schema(), cols).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replaced_sort_order_sorts_new_files_and_pyiceberg_reads_it() {
    let dir = temp_warehouse("sort-order");
    let catalog = MemoryCatalog::new(FileIO::local(), format!("file://{}", dir.display()));
    let ident = TableIdent::new(["db"], "sorted");
    let t = catalog
        .create_table(&ident, TableCreation::new(schema()))
        .await
        .unwrap();
    assert_eq!(t.metadata().default_sort_order_id(), 0);
    // Before the change: unsorted, files carry no order id.
    let order: Vec<i64> = (0..40).rev().collect();
    let t = t
        .fast_append()
        .add_batches(&[shuffled(&order)])
        .await
        .unwrap()
        .commit(&catalog)
        .await
        .unwrap();
    let before = data_files(&t).await;
    assert_eq!(before.len(), 1);
    assert_eq!(before[0].sort_order_id, None);

    // score descending with nulls last, then day(ts) ascending with nulls first.
    let t = t
        .replace_sort_order()
        .desc("score", Transform::Identity, NullOrder::NullsLast)
        .asc("ts", Transform::Day, NullOrder::NullsFirst)
        .commit(&catalog)
        .await
        .unwrap();
    let md = t.metadata();
    assert_eq!(md.default_sort_order_id(), 1);
    let o = md.default_sort_order().unwrap();
    assert_eq!(o.fields().len(), 2);
    assert_eq!(*o.fields()[0].source_id, 6);
    assert_eq!(o.fields()[0].direction, SortDirection::Desc);
    assert_eq!(o.fields()[0].null_order, NullOrder::NullsLast);
    assert_eq!(*o.fields()[1].source_id, 4);
    assert_eq!(o.fields()[1].transform, Transform::Day);
    assert_eq!(o.fields()[1].direction, SortDirection::Asc);
    assert_eq!(o.fields()[1].null_order, NullOrder::NullsFirst);
    assert_eq!(md.sort_orders().len(), 2, "unsorted order 0 is kept");

    // The same order again commits nothing.
    let same = t
        .replace_sort_order()
        .desc("score", Transform::Identity, NullOrder::NullsLast)
        .asc("ts", Transform::Day, NullOrder::NullsFirst)
        .commit(&catalog)
        .await
        .unwrap();
    assert_eq!(same.metadata_location(), t.metadata_location());

    // After the change: rows written in shuffled order come out sorted, with the order id.
    let order: Vec<i64> = (40..100).map(|i| (i * 37) % 60 + 40).collect();
    let t = t
        .fast_append()
        .add_batches(&[shuffled(&order)])
        .await
        .unwrap()
        .commit(&catalog)
        .await
        .unwrap();
    let new_files: Vec<_> = data_files(&t)
        .await
        .into_iter()
        .filter(|f| before.iter().all(|b| b.file_path != f.file_path))
        .collect();
    assert_eq!(new_files.len(), 1);
    assert_eq!(new_files[0].sort_order_id, Some(1));
    let rows = file_rows(&t, &new_files[0].file_path).await;
    let mut scores: Vec<Option<f64>> = Vec::new();
    for b in &rows {
        let s = b.column(5).as_any().downcast_ref::<Float64Array>().unwrap();
        scores.extend((0..s.len()).map(|i| s.is_valid(i).then(|| s.value(i))));
    }
    assert_eq!(scores.len(), 60);
    let nulls = scores.iter().filter(|s| s.is_none()).count();
    assert_eq!(nulls, 12);
    assert!(
        scores[60 - nulls..].iter().all(Option::is_none),
        "nulls last: {scores:?}"
    );
    let values: Vec<f64> = scores.iter().flatten().copied().collect();
    assert!(
        values.windows(2).all(|w| w[0] >= w[1]),
        "descending: {values:?}"
    );
    // Among the null scores (ids 40, 45, .., 95, a day or more apart), day(ts) ascending.
    let ids: Vec<i64> = rows
        .iter()
        .flat_map(|b| {
            let a = b.column(0).as_any().downcast_ref::<Int64Array>().unwrap();
            a.values().to_vec()
        })
        .collect();
    assert_eq!(
        ids[60 - nulls..],
        (8..20).map(|i| i * 5).collect::<Vec<_>>()
    );

    if let Some(py) = python() {
        let (ok, report) = interop(&py, &["inspect", "--metadata", t.metadata_location()]);
        assert!(ok, "{report}");
        let ours = serde_json::to_value(t.metadata().default_sort_order().unwrap()).unwrap();
        assert_eq!(report["sort_order"], ours, "{report}");
        let new_name = new_files[0].file_path.rsplit('/').next().unwrap();
        let files = report["files"].as_array().unwrap();
        assert_eq!(files.len(), 2, "{report}");
        for f in files {
            let path = f["file_path"].as_str().unwrap();
            let expect = if path.ends_with(new_name) {
                serde_json::json!(1)
            } else {
                serde_json::Value::Null
            };
            assert_eq!(f["sort_order_id"], expect, "{path}");
        }
    }

    // Replacing with no fields makes the table unsorted again (order 0).
    let t = t.replace_sort_order().commit(&catalog).await.unwrap();
    assert_eq!(t.metadata().default_sort_order_id(), 0);
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn replace_sort_order_refuses_unknown_columns_and_bad_transforms() {
    let catalog = MemoryCatalog::new(FileIO::memory(), "memory://wh");
    let t = catalog
        .create_table(
            &TableIdent::new(["db"], "bad"),
            TableCreation::new(schema()),
        )
        .await
        .unwrap();
    let e = t
        .replace_sort_order()
        .asc("nope", Transform::Identity, NullOrder::NullsFirst)
        .commit(&catalog)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidUpdate, "{e}");
    assert!(e.to_string().contains("nope"), "{e}");
    let e = t
        .replace_sort_order()
        .asc("name", Transform::Day, NullOrder::NullsFirst)
        .commit(&catalog)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidUpdate, "{e}");
    let e = t
        .replace_sort_order()
        .asc("id", Transform::Identity, NullOrder::NullsFirst)
        .desc("id", Transform::Identity, NullOrder::NullsLast)
        .commit(&catalog)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidUpdate, "{e}");
    let loaded = catalog.load_table(t.ident()).await.unwrap();
    assert_eq!(loaded.metadata().default_sort_order_id(), 0);
}

#[tokio::test]
async fn replace_sort_order_retries_against_a_concurrent_change() {
    let catalog = MemoryCatalog::new(FileIO::memory(), "memory://wh");
    let t = catalog
        .create_table(
            &TableIdent::new(["db"], "race"),
            TableCreation::new(schema()),
        )
        .await
        .unwrap();
    // Another writer sets an order first; ours, built from the stale table, still lands.
    t.replace_sort_order()
        .asc("id", Transform::Identity, NullOrder::NullsFirst)
        .commit(&catalog)
        .await
        .unwrap();
    let t2 = t
        .replace_sort_order()
        .desc("ts", Transform::Hour, NullOrder::NullsLast)
        .commit(&catalog)
        .await
        .unwrap();
    assert_eq!(t2.metadata().default_sort_order_id(), 2);
    assert_eq!(t2.metadata().sort_orders().len(), 3);
}
