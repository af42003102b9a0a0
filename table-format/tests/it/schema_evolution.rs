//! Schema evolution (`Table::update_schema`): the schema each operation makes (ids, names,
//! types, required, order), the changes it refuses (before anything is written), retries on
//! a conflicting commit, old data files read through the evolved schema, and pyiceberg and
//! DuckDB reading the same rows as Floe after append + evolve + append.

use std::sync::Arc;

use arrow_array::{
    Array, ArrayRef, Float32Array, Float64Array, Int32Array, Int64Array, RecordBatch, StringArray,
    StructArray,
};
use table_format::arrow::iceberg_schema_to_arrow;
use table_format::catalog::{Catalog, MemoryCatalog, TableCreation, TableIdent};
use table_format::io::FileIO;
use table_format::spec::{
    Datum, ListType, NestedField, NullOrder, PrimitiveType, Schema, SortDirection, SortField,
    SortOrder, SourceId, StructType, Transform, Type, UnboundPartitionField, UnboundPartitionSpec,
};
use table_format::table::Table;
use table_format::{Error, ErrorKind};

use crate::interop::{batch, interop, python, schema, temp_warehouse, write_ipc};

fn catalog() -> MemoryCatalog {
    MemoryCatalog::new(FileIO::memory(), "memory://warehouse")
}

/// id long required (1), count int (2), name string required (3), ratio float (4),
/// loc struct<lat double (6), lon double (7)> (5).
fn evo_schema() -> Schema {
    Schema::builder()
        .with_fields([
            NestedField::required(1, "id", PrimitiveType::Long),
            NestedField::optional(2, "count", PrimitiveType::Int),
            NestedField::required(3, "name", PrimitiveType::String),
            NestedField::optional(4, "ratio", PrimitiveType::Float),
            NestedField::optional(
                5,
                "loc",
                Type::Struct(StructType::new(vec![
                    NestedField::optional(6, "lat", PrimitiveType::Double),
                    NestedField::optional(7, "lon", PrimitiveType::Double),
                ])),
            ),
        ])
        .build()
        .unwrap()
}

async fn create(catalog: &MemoryCatalog, name: &str, creation: TableCreation) -> Table {
    catalog
        .create_table(&TableIdent::new(["db"], name), creation)
        .await
        .unwrap()
}

async fn evo_table(catalog: &MemoryCatalog, name: &str, version: u8) -> Table {
    create(
        catalog,
        name,
        TableCreation::new(evo_schema()).with_property("format-version", version.to_string()),
    )
    .await
}

/// (id, name, type, required) of each top-level field, in order.
fn shape(s: &Schema) -> Vec<(i32, String, String, bool)> {
    s.fields()
        .iter()
        .map(|f| (f.id, f.name.clone(), f.field_type.to_string(), f.required))
        .collect()
}

fn row(id: i32, name: &str, ty: &str, required: bool) -> (i32, String, String, bool) {
    (id, name.to_string(), ty.to_string(), required)
}

/// The error of a refused update; checks the kind and that the table did not change.
async fn refused(
    catalog: &MemoryCatalog,
    table: &Table,
    result: table_format::Result<Table>,
) -> Error {
    let e = result.expect_err("the update should be refused");
    assert!(
        matches!(e.kind(), ErrorKind::InvalidUpdate | ErrorKind::DataInvalid),
        "{e}"
    );
    let now = catalog.load_table(table.ident()).await.unwrap();
    assert_eq!(now.metadata_location(), table.metadata_location(), "{e}");
    e
}

#[tokio::test]
async fn add_columns_get_fresh_ids_after_the_last_column_id() {
    let catalog = catalog();
    let t = evo_table(&catalog, "add", 2).await;
    let t = t
        .update_schema()
        .add_column(None, "note", PrimitiveType::String, Some("free text"))
        .add_column(
            None,
            "point",
            Type::Struct(StructType::new(vec![
                NestedField::optional(100, "x", PrimitiveType::Int),
                NestedField::optional(
                    101,
                    "tags",
                    Type::List(ListType::new(102, PrimitiveType::String.into(), false)),
                ),
            ])),
            None,
        )
        .add_column(Some("loc"), "alt", PrimitiveType::Float, None)
        .commit(&catalog)
        .await
        .unwrap();
    let md = t.metadata();
    let s = md.current_schema();
    assert_eq!(md.current_schema_id(), 1);
    assert_eq!(md.schemas().len(), 2);
    assert_eq!(md.last_column_id(), 13);
    let f = s.field_by_name("note").unwrap();
    assert_eq!(
        (f.id, f.required, f.doc.as_deref()),
        (8, false, Some("free text"))
    );
    // The struct gets 9, then its fields 10 and 11, then the list element 12.
    assert_eq!(s.field_by_name("point").unwrap().id, 9);
    assert_eq!(s.field_by_name("point.x").unwrap().id, 10);
    assert_eq!(s.field_by_name("point.tags").unwrap().id, 11);
    assert_eq!(s.field_by_name("point.tags.element").unwrap().id, 12);
    let alt = s.field_by_name("loc.alt").unwrap();
    assert_eq!((alt.id, alt.required), (13, false));
    let loc: Vec<&str> = match s.field_by_name("loc").unwrap().field_type.as_ref() {
        Type::Struct(st) => st.fields().iter().map(|f| f.name.as_str()).collect(),
        other => panic!("{other}"),
    };
    assert_eq!(loc, ["lat", "lon", "alt"]);
    assert_eq!(
        shape(s).into_iter().map(|r| (r.0, r.1)).collect::<Vec<_>>(),
        [
            (1, "id".to_string()),
            (2, "count".into()),
            (3, "name".into()),
            (4, "ratio".into()),
            (5, "loc".into()),
            (8, "note".into()),
            (9, "point".into()),
        ]
    );
    // The next update continues from the last column id.
    let t = t
        .update_schema()
        .add_column(None, "more", PrimitiveType::Long, None)
        .commit(&catalog)
        .await
        .unwrap();
    assert_eq!(
        t.metadata()
            .current_schema()
            .field_by_name("more")
            .unwrap()
            .id,
        14
    );
    assert_eq!(t.metadata().last_column_id(), 14);
}

#[tokio::test]
async fn delete_rename_make_optional_promote_and_doc() {
    let catalog = catalog();
    let t = evo_table(&catalog, "ops", 2).await;
    let t = t
        .update_schema()
        .rename_column("name", "full_name")
        .make_optional("name")
        .update_column_type("count", PrimitiveType::Long)
        .update_column_type("ratio", PrimitiveType::Double)
        .update_doc("id", Some("the key"))
        .delete_column("loc.lon")
        .rename_column("loc.lat", "latitude")
        .commit(&catalog)
        .await
        .unwrap();
    let s = t.metadata().current_schema();
    assert_eq!(
        shape(s),
        [
            row(1, "id", "long", true),
            row(2, "count", "long", false),
            row(3, "full_name", "string", false),
            row(4, "ratio", "double", false),
            row(5, "loc", "struct<latitude: double>", false),
        ]
    );
    assert_eq!(s.field_by_id(1).unwrap().doc.as_deref(), Some("the key"));
    assert_eq!(t.metadata().last_column_id(), 7);
    let t = t
        .update_schema()
        .delete_column("loc")
        .update_doc("id", None)
        .commit(&catalog)
        .await
        .unwrap();
    let s = t.metadata().current_schema();
    assert_eq!(s.fields().len(), 4);
    assert!(s.field_by_name("loc").is_none() && s.field_by_id(6).is_none());
    assert_eq!(s.field_by_id(1).unwrap().doc, None);
    assert_eq!(t.metadata().schemas().len(), 3);
    // Nothing changed: no new schema, no commit.
    let same = t.update_schema().commit(&catalog).await.unwrap();
    assert_eq!(same.metadata_location(), t.metadata_location());
}

#[tokio::test]
async fn moves_reorder_fields_in_their_struct() {
    let catalog = catalog();
    let t = evo_table(&catalog, "moves", 2).await;
    let t = t
        .update_schema()
        .move_first("ratio")
        .move_after("id", "name")
        .add_column(None, "note", PrimitiveType::String, None)
        .move_before("note", "count")
        .move_first("loc.lon")
        .commit(&catalog)
        .await
        .unwrap();
    let s = t.metadata().current_schema();
    let names: Vec<&str> = s.fields().iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["ratio", "note", "count", "name", "id", "loc"]);
    let ids: Vec<i32> = s.fields().iter().map(|f| f.id).collect();
    assert_eq!(ids, [4, 8, 2, 3, 1, 5]);
    assert_eq!(
        s.field_by_name("loc").unwrap().field_type.to_string(),
        "struct<lon: double, lat: double>"
    );
    // Moving next to a column of another struct is refused.
    let e = refused(
        &catalog,
        &t,
        t.update_schema()
            .move_after("loc.lat", "id")
            .commit(&catalog)
            .await,
    )
    .await;
    assert!(e.message().contains("loc.lat"), "{e}");
}

#[tokio::test]
async fn identifier_fields_are_set_and_protected() {
    let catalog = catalog();
    let t = evo_table(&catalog, "ident", 2).await;
    let t = t
        .update_schema()
        .set_identifier_fields(["id", "name"])
        .commit(&catalog)
        .await
        .unwrap();
    assert_eq!(t.metadata().current_schema().identifier_field_ids(), [1, 3]);

    let e = refused(
        &catalog,
        &t,
        t.update_schema().delete_column("id").commit(&catalog).await,
    )
    .await;
    assert!(
        e.message().contains("'id'") && e.message().contains("identifier"),
        "{e}"
    );
    let e = refused(
        &catalog,
        &t,
        t.update_schema()
            .make_optional("name")
            .commit(&catalog)
            .await,
    )
    .await;
    assert!(e.message().contains("name"), "{e}");
    let e = refused(
        &catalog,
        &t,
        t.update_schema()
            .set_identifier_fields(["ratio"])
            .commit(&catalog)
            .await,
    )
    .await;
    assert!(e.message().contains("ratio"), "{e}");
    let e = refused(
        &catalog,
        &t,
        t.update_schema()
            .set_identifier_fields(["nope"])
            .commit(&catalog)
            .await,
    )
    .await;
    assert!(e.message().contains("nope"), "{e}");

    // Dropping a column from the identifier fields first makes it deletable, in one update.
    let t = t
        .update_schema()
        .set_identifier_fields(["id"])
        .make_optional("name")
        .commit(&catalog)
        .await
        .unwrap();
    let s = t.metadata().current_schema();
    assert_eq!(s.identifier_field_ids(), [1]);
    assert!(!s.field_by_name("name").unwrap().required);
}

#[tokio::test]
async fn conflicting_and_invalid_changes_are_refused_naming_the_column() {
    let catalog = catalog();
    let t = evo_table(&catalog, "bad", 2).await;
    let cases: Vec<(table_format::transaction::update_schema::UpdateSchema, &str)> = vec![
        (
            t.update_schema()
                .delete_column("name")
                .rename_column("name", "n"),
            "name",
        ),
        (
            t.update_schema()
                .rename_column("name", "n")
                .delete_column("name"),
            "name",
        ),
        (
            t.update_schema()
                .rename_column("name", "a")
                .rename_column("name", "b"),
            "name",
        ),
        (
            t.update_schema()
                .delete_column("count")
                .delete_column("count"),
            "count",
        ),
        (
            t.update_schema()
                .delete_column("ratio")
                .update_column_type("ratio", PrimitiveType::Double),
            "ratio",
        ),
        (
            t.update_schema()
                .add_column(None, "count", PrimitiveType::Int, None),
            "count",
        ),
        (
            t.update_schema()
                .add_column(Some("loc"), "lat", PrimitiveType::Int, None),
            "loc.lat",
        ),
        (
            t.update_schema()
                .add_column(None, "x", PrimitiveType::Int, None)
                .add_column(None, "x", PrimitiveType::Long, None),
            "x",
        ),
        (
            t.update_schema()
                .add_column(Some("nope"), "x", PrimitiveType::Int, None),
            "nope",
        ),
        (
            t.update_schema()
                .add_column(Some("count"), "x", PrimitiveType::Int, None),
            "count",
        ),
        (
            t.update_schema()
                .add_column(None, "a.b", PrimitiveType::Int, None),
            "a.b",
        ),
        (t.update_schema().rename_column("count", "name"), "count"),
        (
            t.update_schema()
                .add_column(None, "extra", PrimitiveType::Int, None)
                .rename_column("count", "extra"),
            "count",
        ),
        (t.update_schema().delete_column("missing"), "missing"),
        (t.update_schema().rename_column("missing", "x"), "missing"),
        (
            t.update_schema()
                .update_column_type("id", PrimitiveType::Int),
            "id",
        ),
        (
            t.update_schema()
                .update_column_type("name", PrimitiveType::Binary),
            "name",
        ),
        (
            t.update_schema()
                .update_column_type("loc", PrimitiveType::Long),
            "loc",
        ),
        (
            t.update_schema()
                .add_required_column(None, "r", PrimitiveType::Int, None),
            "r",
        ),
        (
            t.update_schema().add_column_with_default(
                None,
                "r",
                PrimitiveType::Int,
                None,
                true,
                Datum::Int(1),
            ),
            "r",
        ),
        (
            t.update_schema()
                .add_column(None, "ts", PrimitiveType::TimestampNs, None),
            "ts",
        ),
        (t.update_schema().move_before("id", "id"), "id"),
        (
            t.update_schema()
                .delete_column("loc")
                .rename_column("loc.lat", "y"),
            "loc.lat",
        ),
        (
            t.update_schema()
                .rename_column("loc.lat", "y")
                .delete_column("loc"),
            "loc.lat",
        ),
        (
            t.update_schema()
                .add_column(Some("loc"), "alt", PrimitiveType::Float, None)
                .delete_column("loc"),
            "loc",
        ),
        (
            t.update_schema().delete_column("loc").add_column(
                Some("loc"),
                "alt",
                PrimitiveType::Float,
                None,
            ),
            "loc",
        ),
        (
            t.update_schema().move_first("loc.lat").delete_column("loc"),
            "loc.lat",
        ),
    ];
    for (update, column) in cases {
        let what = format!("{update:?}");
        let e = refused(&catalog, &t, update.commit(&catalog).await).await;
        assert!(
            e.message().contains(&format!("'{column}'")),
            "{what}: the error should name '{column}': {e}"
        );
    }
    // v2: a default (needed by a required column) needs format version 3.
    let e = refused(
        &catalog,
        &t,
        t.update_schema()
            .add_column_with_default(None, "r", PrimitiveType::Int, None, true, Datum::Int(1))
            .commit(&catalog)
            .await,
    )
    .await;
    assert!(e.message().contains("format version 3"), "{e}");
    // date -> timestamp is a v3 promotion.
    let t2 = create(
        &catalog,
        "dates",
        TableCreation::new(
            Schema::builder()
                .with_fields([NestedField::optional(1, "d", PrimitiveType::Date)])
                .build()
                .unwrap(),
        ),
    )
    .await;
    let e = refused(
        &catalog,
        &t2,
        t2.update_schema()
            .update_column_type("d", PrimitiveType::Timestamp)
            .commit(&catalog)
            .await,
    )
    .await;
    assert!(e.message().contains("'d'"), "{e}");
}

#[tokio::test]
async fn v3_required_columns_with_defaults_and_date_promotion() {
    let catalog = catalog();
    let t = evo_table(&catalog, "v3", 3).await;
    let t = t
        .update_schema()
        .add_column_with_default(
            None,
            "level",
            PrimitiveType::Int,
            Some("defaulted"),
            true,
            Datum::Int(5),
        )
        .add_column(None, "d", PrimitiveType::Date, None)
        .commit(&catalog)
        .await
        .unwrap();
    let f = t
        .metadata()
        .current_schema()
        .field_by_name("level")
        .unwrap()
        .clone();
    assert_eq!((f.id, f.required), (8, true));
    assert_eq!(f.initial_default, Some(serde_json::json!(5)));
    assert_eq!(f.write_default, Some(serde_json::json!(5)));
    // A default of the wrong type is refused.
    let e = refused(
        &catalog,
        &t,
        t.update_schema()
            .add_column_with_default(
                None,
                "w",
                PrimitiveType::Int,
                None,
                false,
                Datum::String("x".into()),
            )
            .commit(&catalog)
            .await,
    )
    .await;
    assert!(e.message().contains("'w'"), "{e}");
    let t = t
        .update_schema()
        .update_column_type("d", PrimitiveType::Timestamp)
        .commit(&catalog)
        .await
        .unwrap();
    assert_eq!(
        t.metadata()
            .current_schema()
            .field_by_name("d")
            .unwrap()
            .field_type
            .to_string(),
        "timestamp"
    );
}

#[tokio::test]
async fn columns_the_partition_spec_or_sort_order_use_cannot_be_deleted() {
    let catalog = catalog();
    let spec = UnboundPartitionSpec {
        spec_id: None,
        fields: vec![UnboundPartitionField {
            source_id: SourceId::from(2),
            field_id: None,
            name: "count_bucket".into(),
            transform: Transform::Bucket(4),
        }],
    };
    let mut creation = TableCreation::new(evo_schema()).with_partition_spec(spec);
    creation.sort_order = SortOrder::new(
        1,
        vec![SortField {
            source_id: SourceId::from(6),
            transform: Transform::Identity,
            direction: SortDirection::Asc,
            null_order: NullOrder::NullsFirst,
        }],
    );
    let t = create(&catalog, "used", creation).await;
    let e = refused(
        &catalog,
        &t,
        t.update_schema()
            .delete_column("count")
            .commit(&catalog)
            .await,
    )
    .await;
    assert!(
        e.message().contains("'count'") && e.message().contains("partition"),
        "{e}"
    );
    let e = refused(
        &catalog,
        &t,
        t.update_schema()
            .delete_column("loc.lat")
            .commit(&catalog)
            .await,
    )
    .await;
    assert!(
        e.message().contains("'loc.lat'") && e.message().contains("sort order"),
        "{e}"
    );
    // Deleting the struct that holds the sort column is refused too, naming that column.
    let e = refused(
        &catalog,
        &t,
        t.update_schema()
            .delete_column("loc")
            .commit(&catalog)
            .await,
    )
    .await;
    assert!(e.message().contains("'loc.lat'"), "{e}");
    // Renaming and promoting a partition source is fine (partitions bind by id).
    let t = t
        .update_schema()
        .rename_column("count", "n")
        .update_column_type("count", PrimitiveType::Long)
        .commit(&catalog)
        .await
        .unwrap();
    assert_eq!(
        shape(t.metadata().current_schema())[1],
        row(2, "n", "long", false)
    );
}

#[tokio::test]
async fn a_conflicting_commit_is_retried_against_the_new_schema() {
    let catalog = catalog();
    let t = evo_table(&catalog, "retry", 2).await;
    // Both start from the same version; the second commits after the first.
    let first = t
        .update_schema()
        .add_column(None, "a", PrimitiveType::Int, None);
    let second = t
        .update_schema()
        .add_column(None, "b", PrimitiveType::Int, None)
        .rename_column("count", "c");
    first.commit(&catalog).await.unwrap();
    let t2 = second.commit(&catalog).await.unwrap();
    let s = t2.metadata().current_schema();
    let names: Vec<(i32, &str)> = s.fields().iter().map(|f| (f.id, f.name.as_str())).collect();
    assert_eq!(
        names,
        [
            (1, "id"),
            (2, "c"),
            (3, "name"),
            (4, "ratio"),
            (5, "loc"),
            (8, "a"),
            (9, "b")
        ]
    );
    assert_eq!(t2.metadata().last_column_id(), 9);
    // A stale update whose change no longer applies fails, naming the column.
    let stale = t.update_schema().delete_column("count");
    let e = stale.commit(&catalog).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidUpdate, "{e}");
    assert!(e.message().contains("'count'"), "{e}");
}

fn evo_batch(schema: &Schema, ids: &[i64]) -> RecordBatch {
    let arrow = Arc::new(iceberg_schema_to_arrow(schema).unwrap());
    let loc_type = match arrow.field_with_name("loc").unwrap().data_type() {
        arrow_schema::DataType::Struct(f) => f.clone(),
        other => panic!("{other}"),
    };
    let loc = StructArray::new(
        loc_type,
        vec![
            Arc::new(Float64Array::from_iter_values(
                ids.iter().map(|i| *i as f64),
            )) as ArrayRef,
            Arc::new(Float64Array::from_iter_values(
                ids.iter().map(|i| -(*i as f64)),
            )),
        ],
        None,
    );
    RecordBatch::try_new(
        arrow,
        vec![
            Arc::new(Int64Array::from(ids.to_vec())),
            Arc::new(Int32Array::from_iter_values(
                ids.iter().map(|i| *i as i32 * 10),
            )),
            Arc::new(StringArray::from_iter_values(
                ids.iter().map(|i| format!("n{i}")),
            )),
            Arc::new(Float32Array::from_iter_values(
                ids.iter().map(|i| *i as f32 / 2.0),
            )),
            Arc::new(loc),
        ],
    )
    .unwrap()
}

fn column<'a, T: 'static>(b: &'a RecordBatch, name: &str) -> &'a T {
    b.column(
        b.schema()
            .index_of(name)
            .unwrap_or_else(|_| panic!("no column {name}")),
    )
    .as_any()
    .downcast_ref::<T>()
    .unwrap_or_else(|| panic!("column {name} has another type"))
}

#[tokio::test]
async fn old_data_files_read_through_the_evolved_schema() {
    let catalog = catalog();
    let t = evo_table(&catalog, "read", 2).await;
    let t = t
        .fast_append()
        .add_batches(&[evo_batch(&evo_schema(), &[1, 2, 3])])
        .await
        .unwrap()
        .commit(&catalog)
        .await
        .unwrap();
    let t = t
        .update_schema()
        .rename_column("name", "label")
        .update_column_type("count", PrimitiveType::Long)
        .update_column_type("ratio", PrimitiveType::Double)
        .delete_column("loc")
        .add_column(None, "note", PrimitiveType::String, None)
        .move_first("note")
        .commit(&catalog)
        .await
        .unwrap();
    let batches = t.scan().to_arrow().await.unwrap();
    let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
    assert_eq!(rows, 3);
    for b in &batches {
        let names: Vec<String> = b
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        assert_eq!(names, ["note", "id", "count", "label", "ratio"]);
        let ids = column::<Int64Array>(b, "id");
        let counts = column::<Int64Array>(b, "count");
        let labels = column::<StringArray>(b, "label");
        let ratios = column::<Float64Array>(b, "ratio");
        let notes = column::<StringArray>(b, "note");
        for i in 0..b.num_rows() {
            let id = ids.value(i);
            assert_eq!(counts.value(i), id * 10);
            assert_eq!(labels.value(i), format!("n{id}"));
            assert_eq!(ratios.value(i), id as f64 / 2.0);
            assert!(notes.is_null(i));
        }
    }
    // New rows under the new schema read alongside the old ones.
    let new_schema = t.metadata().current_schema().clone();
    let arrow = Arc::new(iceberg_schema_to_arrow(&new_schema).unwrap());
    let new = RecordBatch::try_new(
        arrow,
        vec![
            Arc::new(StringArray::from(vec![Some("hello")])) as ArrayRef,
            Arc::new(Int64Array::from(vec![4])),
            Arc::new(Int64Array::from(vec![5_000_000_000])),
            Arc::new(StringArray::from(vec!["n4"])),
            Arc::new(Float64Array::from(vec![0.25])),
        ],
    )
    .unwrap();
    let t = t
        .fast_append()
        .add_batches(&[new])
        .await
        .unwrap()
        .commit(&catalog)
        .await
        .unwrap();
    let batches = t.scan().to_arrow().await.unwrap();
    let mut seen = Vec::new();
    for b in &batches {
        let ids = column::<Int64Array>(b, "id");
        let counts = column::<Int64Array>(b, "count");
        let notes = column::<StringArray>(b, "note");
        for i in 0..b.num_rows() {
            seen.push((
                ids.value(i),
                counts.value(i),
                (!notes.is_null(i)).then(|| notes.value(i).to_string()),
            ));
        }
    }
    seen.sort();
    assert_eq!(
        seen,
        [
            (1, 10, None),
            (2, 20, None),
            (3, 30, None),
            (4, 5_000_000_000, Some("hello".to_string())),
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pyiceberg_and_duckdb_read_rows_after_evolution() {
    let Some(py) = python() else { return };
    for version in [2u8, 3] {
        let dir = temp_warehouse("schema-evolution");
        let catalog = MemoryCatalog::new(FileIO::local(), format!("file://{}", dir.display()));
        let t = create(
            &catalog,
            "evolved",
            TableCreation::new(schema()).with_property("format-version", version.to_string()),
        )
        .await;
        let t = t
            .fast_append()
            .add_batches(&[batch(&schema(), 0, 20)])
            .await
            .unwrap()
            .commit(&catalog)
            .await
            .unwrap();
        let t = t
            .update_schema()
            .rename_column("name", "user_name")
            .delete_column("score")
            .add_column(None, "note", PrimitiveType::String, Some("added later"))
            .add_column(None, "weight", PrimitiveType::Float, None)
            .move_after("note", "id")
            .commit(&catalog)
            .await
            .unwrap();
        let t = t
            .update_schema()
            .update_column_type("weight", PrimitiveType::Double)
            .commit(&catalog)
            .await
            .unwrap();
        // Rows 20..40 under the new schema: the old columns by name, plus the new ones.
        let new_schema = t.metadata().current_schema().clone();
        let old = batch(&schema(), 20, 20);
        let arrow = Arc::new(iceberg_schema_to_arrow(&new_schema).unwrap());
        let columns: Vec<ArrayRef> = new_schema
            .fields()
            .iter()
            .map(|f| match f.name.as_str() {
                "user_name" => old.column_by_name("name").unwrap().clone(),
                "note" => Arc::new(StringArray::from_iter(
                    (20..40).map(|i| (i % 3 != 0).then(|| format!("note-{i}"))),
                )) as ArrayRef,
                "weight" => Arc::new(Float64Array::from_iter_values(
                    (20..40).map(|i| i as f64 * 0.5),
                )),
                other => old.column_by_name(other).unwrap().clone(),
            })
            .collect();
        let new = RecordBatch::try_new(arrow, columns).unwrap();
        let t = t
            .fast_append()
            .add_batches(&[new])
            .await
            .unwrap()
            .commit(&catalog)
            .await
            .unwrap();
        let scan = t.scan();
        let batches = scan.to_arrow().await.unwrap();
        assert_eq!(batches.iter().map(|b| b.num_rows()).sum::<usize>(), 40);
        let arrow_schema = Arc::new(iceberg_schema_to_arrow(&scan.schema().unwrap()).unwrap());
        let names: Vec<&str> = arrow_schema
            .fields()
            .iter()
            .map(|f| f.name().as_str())
            .collect();
        assert_eq!(
            names,
            [
                "id",
                "note",
                "user_name",
                "category",
                "ts",
                "amount",
                "weight"
            ]
        );
        let ipc = dir.join("floe.arrows");
        write_ipc(&ipc, &arrow_schema, &batches);
        let md = t.metadata_location().to_string();
        let ipc_s = ipc.display().to_string();
        let (ok, report) = interop(&py, &["compare", "--metadata", &md, "--expected", &ipc_s]);
        assert!(ok, "v{version}: {report}");
        assert_eq!(report["pyiceberg_equal"], true, "v{version}: {report}");
        assert_eq!(report["duckdb_equal"], true, "v{version}: {report}");
        assert_eq!(report["pyiceberg_rows"], 40, "v{version}: {report}");
        std::fs::remove_dir_all(&dir).ok();
    }
}

#[tokio::test]
async fn an_update_from_a_stale_handle_keeps_a_concurrent_append() {
    let catalog = catalog();
    let t = evo_table(&catalog, "stale", 2).await;
    let update = t.update_schema().rename_column("name", "label");
    let appended = t
        .fast_append()
        .add_batches(&[evo_batch(&evo_schema(), &[1, 2])])
        .await
        .unwrap()
        .commit(&catalog)
        .await
        .unwrap();
    let evolved = update.commit(&catalog).await.unwrap();
    assert_eq!(
        evolved.metadata().current_snapshot().map(|s| s.snapshot_id),
        appended
            .metadata()
            .current_snapshot()
            .map(|s| s.snapshot_id)
    );
    let batches = evolved.scan().to_arrow().await.unwrap();
    let labels: Vec<String> = batches
        .iter()
        .flat_map(|b| {
            let a = column::<StringArray>(b, "label").clone();
            (0..a.len()).map(move |i| a.value(i).to_string())
        })
        .collect();
    assert_eq!(labels.len(), 2);
    assert!(labels.contains(&"n1".to_string()), "{labels:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v3_columns_added_with_a_default_read_it_for_older_files_in_floe_and_pyiceberg() {
    let dir = temp_warehouse("initial-default");
    let catalog = MemoryCatalog::new(FileIO::local(), format!("file://{}", dir.display()));
    let t = create(
        &catalog,
        "defaults",
        TableCreation::new(schema()).with_property("format-version", "3"),
    )
    .await;
    let t = t
        .fast_append()
        .add_batches(&[batch(&schema(), 0, 10)])
        .await
        .unwrap()
        .commit(&catalog)
        .await
        .unwrap();
    let t = t
        .update_schema()
        .add_column_with_default(None, "level", PrimitiveType::Int, None, true, Datum::Int(5))
        .add_column_with_default(
            None,
            "tag",
            PrimitiveType::String,
            None,
            false,
            Datum::String("none".into()),
        )
        .commit(&catalog)
        .await
        .unwrap();
    // Rows 10..15 written with their own values for the new columns.
    let new_schema = t.metadata().current_schema().clone();
    let old = batch(&schema(), 10, 5);
    let arrow = Arc::new(iceberg_schema_to_arrow(&new_schema).unwrap());
    let columns: Vec<ArrayRef> = new_schema
        .fields()
        .iter()
        .map(|f| match f.name.as_str() {
            "level" => Arc::new(Int32Array::from(vec![7; 5])) as ArrayRef,
            "tag" => Arc::new(StringArray::from(vec![
                Some("x"),
                None,
                Some("y"),
                None,
                None,
            ])),
            other => old.column_by_name(other).unwrap().clone(),
        })
        .collect();
    let t = t
        .fast_append()
        .add_batches(&[RecordBatch::try_new(arrow.clone(), columns).unwrap()])
        .await
        .unwrap()
        .commit(&catalog)
        .await
        .unwrap();
    let batches = t.scan().to_arrow().await.unwrap();
    let mut got: Vec<(i64, i32, Option<String>)> = Vec::new();
    for b in &batches {
        let id = b.column_by_name("id").unwrap();
        let id = id.as_any().downcast_ref::<Int64Array>().unwrap();
        let level = b.column_by_name("level").unwrap();
        let level = level.as_any().downcast_ref::<Int32Array>().unwrap();
        let tag = b.column_by_name("tag").unwrap();
        let tag = tag.as_any().downcast_ref::<StringArray>().unwrap();
        for i in 0..b.num_rows() {
            got.push((
                id.value(i),
                level.value(i),
                tag.is_valid(i).then(|| tag.value(i).to_string()),
            ));
        }
    }
    got.sort();
    assert_eq!(got.len(), 15);
    for (id, level, tag) in &got[..10] {
        assert_eq!((*level, tag.as_deref()), (5, Some("none")), "row {id}");
    }
    assert_eq!(got[10], (10, 7, Some("x".to_string())));
    assert_eq!(got[11], (11, 7, None), "an explicit null stays null");
    // A filter on the defaulted column sees the default in old files.
    let filtered = t
        .scan()
        .with_filter(table_format::expr::Reference::new("level").equal_to(Datum::Int(5)))
        .to_arrow()
        .await
        .unwrap();
    assert_eq!(filtered.iter().map(|b| b.num_rows()).sum::<usize>(), 10);

    if let Some(py) = python() {
        let ipc = dir.join("floe.arrows");
        write_ipc(&ipc, &arrow, &batches);
        let (ok, report) = interop(
            &py,
            &[
                "compare",
                "--metadata",
                t.metadata_location(),
                "--expected",
                &ipc.display().to_string(),
                "--no-duckdb",
            ],
        );
        assert!(ok, "{report}");
    }
    std::fs::remove_dir_all(&dir).ok();
}
