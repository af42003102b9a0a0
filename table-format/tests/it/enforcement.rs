//! Schema enforcement on write, and opt-in schema merge in the same commit.

use std::sync::Arc;

use arrow_array::{Array, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema as ArrowSchema};
use table_format::catalog::{Catalog, MemoryCatalog, TableCreation, TableIdent};
use table_format::io::FileIO;
use table_format::spec::{NestedField, PrimitiveType, Schema};

use crate::interop::{batch, interop, python, schema, temp_warehouse, write_ipc};

fn required_schema() -> Schema {
    Schema::builder()
        .with_fields([
            NestedField::required(1, "id", PrimitiveType::Long),
            NestedField::optional(2, "name", PrimitiveType::String),
        ])
        .build()
        .unwrap()
}

fn plain_batch(fields: Vec<(&str, DataType)>, cols: Vec<Arc<dyn Array>>) -> RecordBatch {
    let schema = Arc::new(ArrowSchema::new(
        fields
            .into_iter()
            .map(|(n, t)| Field::new(n, t, true))
            .collect::<Vec<_>>(),
    ));
    RecordBatch::try_new(schema, cols).unwrap()
}

#[tokio::test]
async fn mismatched_batches_are_refused_with_nothing_written() {
    let catalog = MemoryCatalog::new(FileIO::memory(), "memory://wh");
    let ident = TableIdent::new(["db"], "strict");
    let t = catalog
        .create_table(&ident, TableCreation::new(required_schema()))
        .await
        .unwrap();
    // A wrong type.
    let wrong_type = plain_batch(
        vec![("id", DataType::Utf8), ("name", DataType::Utf8)],
        vec![
            Arc::new(StringArray::from(vec!["1"])),
            Arc::new(StringArray::from(vec!["a"])),
        ],
    );
    let err = t
        .fast_append()
        .add_batches(&[wrong_type])
        .await
        .unwrap_err();
    assert!(err.message().contains("id"), "{err}");
    // A missing required column.
    let missing = plain_batch(
        vec![("name", DataType::Utf8)],
        vec![Arc::new(StringArray::from(vec!["a"]))],
    );
    let err = t.fast_append().add_batches(&[missing]).await.unwrap_err();
    assert!(err.message().contains("id"), "{err}");
    // An extra column, without schema merge.
    let extra = plain_batch(
        vec![
            ("id", DataType::Int64),
            ("name", DataType::Utf8),
            ("country", DataType::Utf8),
        ],
        vec![
            Arc::new(Int64Array::from(vec![1])),
            Arc::new(StringArray::from(vec!["a"])),
            Arc::new(StringArray::from(vec!["fr"])),
        ],
    );
    let err = t.fast_append().add_batches(&[extra]).await.unwrap_err();
    assert!(err.message().contains("country"), "{err}");
    // Nothing was written and the table did not change.
    assert!(
        catalog
            .file_io()
            .list("memory://wh/db/strict/data")
            .await
            .unwrap()
            .is_empty()
    );
    let now = catalog.load_table(&ident).await.unwrap();
    assert_eq!(now.metadata_location(), t.metadata_location());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schema_merge_adds_new_columns_in_the_same_commit() {
    let dir = temp_warehouse("merge");
    let catalog = MemoryCatalog::new(FileIO::local(), format!("file://{}", dir.display()));
    let ident = TableIdent::new(["db"], "merge");
    let t = catalog
        .create_table(&ident, TableCreation::new(schema()))
        .await
        .unwrap();
    let t = t
        .fast_append()
        .add_batches(&[batch(&schema(), 0, 5)])
        .await
        .unwrap()
        .commit(&catalog)
        .await
        .unwrap();
    // The same columns plus `country`.
    let base = batch(&schema(), 100, 3);
    let mut fields: Vec<Field> = base
        .schema()
        .fields()
        .iter()
        .map(|f| f.as_ref().clone())
        .collect();
    fields.push(Field::new("country", DataType::Utf8, true));
    let mut cols = base.columns().to_vec();
    cols.push(Arc::new(StringArray::from(vec!["fr", "de", "jp"])));
    let wider = RecordBatch::try_new(Arc::new(ArrowSchema::new(fields)), cols).unwrap();

    let t = t
        .fast_append()
        .with_schema_merge()
        .add_batches(&[wider])
        .await
        .unwrap()
        .commit(&catalog)
        .await
        .unwrap();
    let md = t.metadata();
    assert_eq!(md.current_schema_id(), 1);
    let country = md.current_schema().field_by_name("country").unwrap();
    assert_eq!(country.id, 7);
    assert!(!country.required);
    assert_eq!(md.last_column_id(), 7);
    assert_eq!(md.current_snapshot().unwrap().schema_id, Some(1));
    // Old rows read the new column as null; new rows have it.
    let batches = t.scan().to_arrow().await.unwrap();
    let mut seen = Vec::new();
    for b in &batches {
        let ids = b.column(0).as_any().downcast_ref::<Int64Array>().unwrap();
        let c = b.column(6).as_any().downcast_ref::<StringArray>().unwrap();
        for i in 0..b.num_rows() {
            seen.push((ids.value(i), c.is_valid(i).then(|| c.value(i).to_string())));
        }
    }
    seen.sort();
    assert_eq!(seen.len(), 8);
    assert_eq!(seen[0], (0, None));
    assert_eq!(seen[5], (100, Some("fr".to_string())));
    // pyiceberg and DuckDB see the same rows under the merged schema.
    if let Some(py) = python() {
        let arrow_schema =
            Arc::new(table_format::arrow::iceberg_schema_to_arrow(md.current_schema()).unwrap());
        let ipc = dir.join("floe.arrows");
        write_ipc(&ipc, &arrow_schema, &batches);
        let (ok, report) = interop(
            &py,
            &[
                "compare",
                "--metadata",
                t.metadata_location(),
                "--expected",
                &ipc.display().to_string(),
            ],
        );
        assert!(ok, "{report}");
    }
    std::fs::remove_dir_all(&dir).ok();
}
