//! Reading data files by field id: schema evolution and row-level deletes.

use std::sync::Arc;

use arrow_array::{Array, ArrayRef, Int32Array, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema as ArrowSchema};
use bytes::Bytes;
use parquet::arrow::ArrowWriter;
use table_format::arrow::FIELD_ID_KEY;
use table_format::io::FileIO;
use table_format::scan::{ArrowReader, DeleteFileRef, FileScanTask};
use table_format::spec::{
    DataContentType, DataFile, DataFileFormat, NestedField, PrimitiveType, Schema,
};

fn field(name: &str, dt: DataType, id: i32, nullable: bool) -> Field {
    Field::new(name, dt, nullable).with_metadata(std::collections::HashMap::from([(
        FIELD_ID_KEY.to_string(),
        id.to_string(),
    )]))
}

fn parquet_bytes(schema: Arc<ArrowSchema>, cols: Vec<ArrayRef>) -> Bytes {
    let batch = RecordBatch::try_new(schema.clone(), cols).unwrap();
    let mut buf = Vec::new();
    let mut w = ArrowWriter::try_new(&mut buf, schema, None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    Bytes::from(buf)
}

async fn put(io: &FileIO, path: &str, bytes: Bytes) -> DataFile {
    let len = bytes.len() as i64;
    io.write(path, bytes).await.unwrap();
    DataFile {
        file_path: path.to_string(),
        file_format: DataFileFormat::Parquet,
        file_size_in_bytes: len,
        ..Default::default()
    }
}

/// A file written with the old schema: id int (1), name string (2).
async fn old_file(io: &FileIO) -> DataFile {
    let schema = Arc::new(ArrowSchema::new(vec![
        field("id", DataType::Int32, 1, false),
        field("name", DataType::Utf8, 2, true),
    ]));
    let bytes = parquet_bytes(
        schema,
        vec![
            Arc::new(Int32Array::from(vec![1, 2, 3, 4])),
            Arc::new(StringArray::from(vec![
                Some("a"),
                None,
                Some("c"),
                Some("d"),
            ])),
        ],
    );
    let mut f = put(io, "memory://t/data/old.parquet", bytes).await;
    f.record_count = 4;
    f
}

/// The current schema: id promoted to long, name renamed, a new optional column.
fn evolved_schema() -> Arc<Schema> {
    Arc::new(
        Schema::builder()
            .with_schema_id(1)
            .with_fields([
                NestedField::required(1, "id", PrimitiveType::Long),
                NestedField::optional(2, "full_name", PrimitiveType::String),
                NestedField::optional(3, "score", PrimitiveType::Double),
            ])
            .build()
            .unwrap(),
    )
}

fn task(file: DataFile, deletes: Vec<DeleteFileRef>) -> FileScanTask {
    FileScanTask {
        data_file: file,
        spec_id: 0,
        sequence_number: 1,
        deletes,
    }
}

#[tokio::test]
async fn renamed_promoted_and_added_columns_read_by_field_id() {
    let io = FileIO::memory();
    let f = old_file(&io).await;
    let reader = ArrowReader::new(io, evolved_schema(), vec![3, 1, 2]).unwrap();
    let batches = reader.read(&task(f, vec![])).await.unwrap();
    let b = &batches[0];
    assert_eq!(b.schema().field(0).name(), "score");
    assert_eq!(b.schema().field(2).name(), "full_name");
    assert_eq!(b.column(0).null_count(), 4);
    let ids = b.column(1).as_any().downcast_ref::<Int64Array>().unwrap();
    assert_eq!(ids.values(), &[1, 2, 3, 4]);
    let names = b.column(2).as_any().downcast_ref::<StringArray>().unwrap();
    assert_eq!(names.value(0), "a");
    assert!(names.is_null(1));
}

#[tokio::test]
async fn position_and_equality_deletes_drop_their_rows() {
    let io = FileIO::memory();
    let f = old_file(&io).await;
    let pos_schema = Arc::new(ArrowSchema::new(vec![
        field("file_path", DataType::Utf8, 2_147_483_546, false),
        field("pos", DataType::Int64, 2_147_483_545, false),
    ]));
    let pos = parquet_bytes(
        pos_schema,
        vec![
            Arc::new(StringArray::from(vec![
                f.file_path.as_str(),
                "memory://t/data/other.parquet",
            ])),
            Arc::new(Int64Array::from(vec![0, 2])),
        ],
    );
    let mut pos_file = put(&io, "memory://t/data/pos-del.parquet", pos).await;
    pos_file.content = DataContentType::PositionDeletes;
    let eq_schema = Arc::new(ArrowSchema::new(vec![field(
        "name",
        DataType::Utf8,
        2,
        true,
    )]));
    let eq = parquet_bytes(
        eq_schema,
        vec![Arc::new(StringArray::from(vec![Some("d")]))],
    );
    let mut eq_file = put(&io, "memory://t/data/eq-del.parquet", eq).await;
    eq_file.content = DataContentType::EqualityDeletes;
    eq_file.equality_ids = Some(vec![2]);

    let reader = ArrowReader::new(io, evolved_schema(), vec![1]).unwrap();
    let deletes = vec![
        DeleteFileRef {
            file: pos_file.into(),
            sequence_number: 2,
        },
        DeleteFileRef {
            file: eq_file.into(),
            sequence_number: 2,
        },
    ];
    let batches = reader.read(&task(f, deletes)).await.unwrap();
    let ids: Vec<i64> = batches
        .iter()
        .flat_map(|b| {
            b.column(0)
                .as_any()
                .downcast_ref::<Int64Array>()
                .unwrap()
                .values()
                .to_vec()
        })
        .collect();
    // Row 0 (id 1) by position, row 3 (name "d") by equality; the other file's position 2 is
    // not ours.
    assert_eq!(ids, vec![2, 3]);
    assert_eq!(
        batches[0].num_columns(),
        1,
        "columns read only for deletes are dropped"
    );
}

#[tokio::test]
async fn a_missing_required_column_is_an_error() {
    let io = FileIO::memory();
    let f = old_file(&io).await;
    let schema = Arc::new(
        Schema::builder()
            .with_fields([NestedField::required(9, "must", PrimitiveType::Int)])
            .build()
            .unwrap(),
    );
    let reader = ArrowReader::new(io, schema, vec![9]).unwrap();
    let err = reader.read(&task(f, vec![])).await.unwrap_err();
    assert!(err.message().contains("required column 'must'"), "{err}");
}

#[tokio::test]
async fn a_deletion_vector_drops_its_positions() {
    let io = FileIO::memory();
    let f = old_file(&io).await;
    let mut positions = roaring::RoaringTreemap::new();
    positions.insert(1);
    positions.insert(3);
    let blob = table_format::scan::dv::encode_deletion_vector(&positions).unwrap();
    // A Puffin file holds the blob somewhere after its magic; only the range is read.
    let mut puffin = b"PFA1".to_vec();
    let offset = puffin.len() as i64;
    puffin.extend_from_slice(&blob);
    puffin.extend_from_slice(b"footer");
    let mut dv = put(&io, "memory://t/data/dv.puffin", Bytes::from(puffin)).await;
    dv.content = DataContentType::PositionDeletes;
    dv.file_format = DataFileFormat::Puffin;
    dv.referenced_data_file = Some(f.file_path.clone());
    dv.content_offset = Some(offset);
    dv.content_size_in_bytes = Some(blob.len() as i64);
    let reader = ArrowReader::new(io, evolved_schema(), vec![1]).unwrap();
    let deletes = vec![DeleteFileRef {
        file: dv.into(),
        sequence_number: 2,
    }];
    let batches = reader.read(&task(f, deletes)).await.unwrap();
    let ids: Vec<i64> = batches
        .iter()
        .flat_map(|b| {
            b.column(0)
                .as_any()
                .downcast_ref::<Int64Array>()
                .unwrap()
                .values()
                .to_vec()
        })
        .collect();
    assert_eq!(ids, vec![1, 3]);
}
