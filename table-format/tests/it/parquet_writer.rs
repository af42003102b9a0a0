//! Parquet data files: round trips of every type with field ids, exact column metrics under
//! every metrics mode, the same statistics pyiceberg computes for the same file, and the
//! partitioned writer (routing, partition tuples, rolling, refusals).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use arrow_array::builder::{
    BooleanBuilder, Date32Builder, Decimal128Builder, FixedSizeBinaryBuilder, LargeBinaryBuilder,
    Time64MicrosecondBuilder, TimestampNanosecondBuilder,
};
use arrow_array::cast::AsArray;
use arrow_array::types::{Int32Type, Int64Type, TimestampMicrosecondType};
use arrow_array::{
    Array, ArrayRef, Float64Array, Int64Array, ListArray, MapArray, RecordBatch, StringArray,
    StructArray, TimestampMicrosecondArray,
};
use arrow_buffer::{NullBuffer, OffsetBuffer};
use arrow_schema::{DataType, Field, Schema as ArrowSchema};
use bytes::Bytes;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::file::metadata::ParquetMetaData;
use table_format::ErrorKind;
use table_format::arrow::iceberg_schema_to_arrow;
use table_format::io::FileIO;
use table_format::parquet::{
    MetricsConfig, ParquetFileWriter, ParquetWriteOptions, write_data_file,
};
use table_format::spec::manifest::{bound, metric};
use table_format::spec::properties::MetricsMode;
use table_format::spec::{
    DataFile, DataFileFormat, Datum, ListType, MapType, NestedField, PartitionField, PartitionSpec,
    PrimitiveType, Schema, StructType, Transform, Type,
};
use table_format::writer::PartitionedWriter;

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

fn dec(precision: u32, scale: u32) -> PrimitiveType {
    PrimitiveType::Decimal { precision, scale }
}

/// One column of every primitive type, plus a struct, a list and a map.
fn every_type_schema() -> Schema {
    use PrimitiveType as P;
    Schema::builder()
        .with_fields([
            NestedField::optional(1, "b", P::Boolean),
            NestedField::optional(2, "i", P::Int),
            NestedField::required(3, "l", P::Long),
            NestedField::optional(4, "f", P::Float),
            NestedField::optional(5, "d", P::Double),
            NestedField::optional(6, "dec9", dec(9, 2)),
            NestedField::optional(7, "dec18", dec(18, 4)),
            NestedField::optional(8, "dec38", dec(38, 10)),
            NestedField::optional(9, "date", P::Date),
            NestedField::optional(10, "time", P::Time),
            NestedField::optional(11, "ts", P::Timestamp),
            NestedField::optional(12, "tstz", P::Timestamptz),
            NestedField::optional(13, "tsns", P::TimestampNs),
            NestedField::optional(14, "tstzns", P::TimestamptzNs),
            NestedField::optional(15, "s", P::String),
            NestedField::optional(16, "u", P::Uuid),
            NestedField::optional(17, "fx", P::Fixed(3)),
            NestedField::optional(18, "bin", P::Binary),
            NestedField::optional(
                19,
                "st",
                Type::Struct(StructType::new(vec![
                    NestedField::required(20, "x", P::Int),
                    NestedField::optional(21, "y", P::String),
                ])),
            ),
            NestedField::optional(
                22,
                "li",
                Type::List(ListType::new(23, P::Long.into(), false)),
            ),
            NestedField::optional(
                24,
                "m",
                Type::Map(MapType::new(
                    25,
                    P::String.into(),
                    26,
                    P::Double.into(),
                    false,
                )),
            ),
        ])
        .build()
        .unwrap()
}

fn child_fields(arrow: &ArrowSchema, name: &str) -> arrow_schema::Fields {
    match arrow.field_with_name(name).unwrap().data_type() {
        DataType::Struct(f) => f.clone(),
        other => panic!("{other}"),
    }
}

fn list_field(arrow: &ArrowSchema, name: &str) -> Arc<Field> {
    match arrow.field_with_name(name).unwrap().data_type() {
        DataType::List(f) => f.clone(),
        other => panic!("{other}"),
    }
}

fn map_entries(arrow: &ArrowSchema, name: &str) -> Arc<Field> {
    match arrow.field_with_name(name).unwrap().data_type() {
        DataType::Map(f, _) => f.clone(),
        other => panic!("{other}"),
    }
}

const UUID_A: [u8; 16] = [
    0xf7, 0x9c, 0x3e, 0x09, 0x67, 0x7c, 0x4b, 0xbd, 0xa4, 0x79, 0x3f, 0x34, 0x9c, 0xb7, 0x85, 0xe7,
];
const UUID_B: [u8; 16] = [0x01; 16];

/// Four rows of the every-type schema, with nulls, NaN and signed zeros. Nanosecond values
/// are whole microseconds: pyiceberg 0.12 cannot read other ones back from the statistics.
fn every_type_batch(schema: &Schema) -> RecordBatch {
    let arrow = Arc::new(iceberg_schema_to_arrow(schema).unwrap());
    let mut b = BooleanBuilder::new();
    b.append_value(true);
    b.append_null();
    b.append_value(false);
    b.append_value(true);
    let i = arrow_array::Int32Array::from(vec![Some(7), None, Some(-3), Some(i32::MAX)]);
    let l = Int64Array::from(vec![10, -20, 30, i64::MIN]);
    let f = arrow_array::Float32Array::from(vec![Some(f32::NAN), Some(-0.0), Some(0.0), None]);
    let d = Float64Array::from(vec![Some(1.5), Some(f64::NAN), None, Some(-2.25)]);
    let mut dec9 = Decimal128Builder::new();
    dec9.append_value(123);
    dec9.append_value(-456);
    dec9.append_null();
    dec9.append_value(99_999);
    let dec9 = dec9.finish().with_precision_and_scale(9, 2).unwrap();
    let dec18 = arrow_array::Decimal128Array::from(vec![Some(1_0000), None, Some(-5), Some(7)])
        .with_precision_and_scale(18, 4)
        .unwrap();
    let dec38 = arrow_array::Decimal128Array::from(vec![
        Some(12_345_678_901_234_567_890_i128),
        Some(-1),
        None,
        Some(0),
    ])
    .with_precision_and_scale(38, 10)
    .unwrap();
    let mut date = Date32Builder::new();
    date.append_value(17486);
    date.append_value(-1);
    date.append_null();
    date.append_value(0);
    let mut time = Time64MicrosecondBuilder::new();
    time.append_value(3_600_000_000);
    time.append_null();
    time.append_value(0);
    time.append_value(86_399_999_999);
    let ts =
        TimestampMicrosecondArray::from(vec![Some(1_510_871_468_000_001), None, Some(-1), Some(0)]);
    let tstz = TimestampMicrosecondArray::from(vec![Some(5), Some(6), None, Some(-7)])
        .with_timezone("+00:00");
    let mut tsns = TimestampNanosecondBuilder::new();
    tsns.append_value(1_000_001_000);
    tsns.append_null();
    tsns.append_value(-1_000);
    tsns.append_value(2_000);
    let tstzns = tsns.finish().with_timezone("+00:00");
    let mut tsns = TimestampNanosecondBuilder::new();
    tsns.append_value(1_000_001_000);
    tsns.append_null();
    tsns.append_value(-1_000);
    tsns.append_value(2_000);
    let s = StringArray::from(vec![
        Some("short"),
        Some("a string longer than sixteen code points"),
        None,
        Some("ééééééééééééééééééé"),
    ]);
    let mut u = FixedSizeBinaryBuilder::new(16);
    u.append_value(UUID_A).unwrap();
    u.append_null();
    u.append_value(UUID_B).unwrap();
    u.append_value(UUID_B).unwrap();
    let mut fx = FixedSizeBinaryBuilder::new(3);
    fx.append_value([1, 2, 3]).unwrap();
    fx.append_value([0, 0, 0]).unwrap();
    fx.append_null();
    fx.append_value([9, 9, 9]).unwrap();
    let mut bin = LargeBinaryBuilder::new();
    bin.append_value([0u8; 20]);
    bin.append_value([0xFFu8; 20]);
    bin.append_null();
    bin.append_value(b"mid");
    let st = StructArray::new(
        child_fields(&arrow, "st"),
        vec![
            Arc::new(arrow_array::Int32Array::from(vec![1, 2, 0, 4])) as ArrayRef,
            Arc::new(StringArray::from(vec![Some("p"), None, None, Some("q")])),
        ],
        Some(NullBuffer::from(vec![true, true, false, true])),
    );
    // [[1, 2], null, [], [null, 5]]
    let li = ListArray::new(
        list_field(&arrow, "li"),
        OffsetBuffer::new(vec![0, 2, 2, 2, 4].into()),
        Arc::new(Int64Array::from(vec![Some(1), Some(2), None, Some(5)])),
        Some(NullBuffer::from(vec![true, false, true, true])),
    );
    // [{a: 1.0}, {}, null, {b: null, c: 3.0}]
    let entries = map_entries(&arrow, "m");
    let DataType::Struct(kv) = entries.data_type() else {
        panic!()
    };
    let m = MapArray::new(
        entries.clone(),
        OffsetBuffer::new(vec![0, 1, 1, 1, 3].into()),
        StructArray::new(
            kv.clone(),
            vec![
                Arc::new(StringArray::from(vec!["a", "b", "c"])) as ArrayRef,
                Arc::new(Float64Array::from(vec![Some(1.0), None, Some(3.0)])),
            ],
            None,
        ),
        Some(NullBuffer::from(vec![true, true, false, true])),
        false,
    );
    RecordBatch::try_new(
        arrow,
        vec![
            Arc::new(b.finish()),
            Arc::new(i),
            Arc::new(l),
            Arc::new(f),
            Arc::new(d),
            Arc::new(dec9),
            Arc::new(dec18),
            Arc::new(dec38),
            Arc::new(date.finish()),
            Arc::new(time.finish()),
            Arc::new(ts),
            Arc::new(tstz),
            Arc::new(tsns.finish()),
            Arc::new(tstzns),
            Arc::new(s),
            Arc::new(u.finish()),
            Arc::new(fx.finish()),
            Arc::new(bin.finish()),
            Arc::new(st),
            Arc::new(li),
            Arc::new(m),
        ],
    )
    .unwrap()
}

async fn read_parquet(io: &FileIO, path: &str) -> (Vec<RecordBatch>, Arc<ParquetMetaData>) {
    let bytes: Bytes = io.read(path).await.unwrap();
    let builder = ParquetRecordBatchReaderBuilder::try_new(bytes).unwrap();
    let meta = builder.metadata().clone();
    let batches = builder
        .build()
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    (batches, meta)
}

fn concat(batches: &[RecordBatch]) -> RecordBatch {
    arrow_select::concat::concat_batches(&batches[0].schema(), batches).unwrap()
}

fn opts() -> ParquetWriteOptions {
    ParquetWriteOptions::default()
}

fn opts_with(mode: MetricsMode) -> ParquetWriteOptions {
    ParquetWriteOptions::default().with_metrics(MetricsConfig::uniform(mode))
}

fn le32(v: i32) -> Vec<u8> {
    v.to_le_bytes().to_vec()
}
fn le64(v: i64) -> Vec<u8> {
    v.to_le_bytes().to_vec()
}

fn ids(list: &[(i32, impl Sized)]) -> Vec<i32> {
    list.iter().map(|(id, _)| *id).collect()
}

fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("floe-{tag}-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

// ---------------------------------------------------------------------------------------------
// Round trips
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn every_type_round_trips_with_field_ids_in_the_parquet_schema() {
    let schema = Arc::new(every_type_schema());
    let batch = every_type_batch(&schema);
    let io = FileIO::memory();
    let path = "memory://wh/t/data/every.parquet";
    let file = write_data_file(
        &io,
        path,
        schema.clone(),
        &opts(),
        &[batch.clone(), batch.clone()],
    )
    .await
    .unwrap();
    assert_eq!(file.file_path, path);
    assert_eq!(file.file_format, DataFileFormat::Parquet);
    assert_eq!(file.record_count, 8);
    assert_eq!(file.file_size_in_bytes as u64, io.size(path).await.unwrap());

    let (batches, meta) = read_parquet(&io, path).await;
    let back = concat(&batches);
    let expected = concat(&[batch.clone(), batch]);
    assert_eq!(back.num_rows(), 8);
    for (i, field) in expected.schema().fields().iter().enumerate() {
        assert_eq!(
            back.column(i).as_ref(),
            expected.column(i).as_ref(),
            "column {}",
            field.name()
        );
        assert_eq!(back.schema().field(i).data_type(), field.data_type());
    }
    // Every leaf column carries its Iceberg field id.
    let leaf_ids: Vec<i32> = meta
        .file_metadata()
        .schema_descr()
        .columns()
        .iter()
        .map(|c| {
            let info = c.self_type().get_basic_info();
            assert!(info.has_id(), "{} has no field id", c.path());
            info.id()
        })
        .collect();
    assert_eq!(
        leaf_ids,
        vec![
            1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 20, 21, 23, 25, 26
        ]
    );
    // Groups (struct, list, map) carry theirs too.
    let root = meta.file_metadata().schema_descr().root_schema();
    let group_ids: Vec<i32> = root
        .get_fields()
        .iter()
        .filter(|f| f.is_group())
        .map(|f| f.get_basic_info().id())
        .collect();
    assert_eq!(group_ids, vec![19, 22, 24]);
    // The Iceberg schema is in the footer, as Java writes it.
    let kv = meta.file_metadata().key_value_metadata().unwrap();
    let json = kv
        .iter()
        .find(|k| k.key == "iceberg.schema")
        .and_then(|k| k.value.clone())
        .unwrap();
    let parsed: Schema = serde_json::from_str(&json).unwrap();
    assert_eq!(parsed.as_struct(), schema.as_struct());
}

#[tokio::test]
async fn batches_without_field_ids_or_in_other_representations_are_accepted() {
    let schema = Arc::new(
        Schema::builder()
            .with_fields([
                NestedField::required(1, "id", PrimitiveType::Long),
                NestedField::optional(2, "name", PrimitiveType::String),
                NestedField::optional(3, "blob", PrimitiveType::Binary),
                NestedField::optional(4, "at", PrimitiveType::Timestamptz),
                NestedField::optional(5, "missing", PrimitiveType::Int),
            ])
            .build()
            .unwrap(),
    );
    // Plain names, columns in another order, LargeUtf8/Binary/"UTC", no `missing` column.
    let batch = RecordBatch::try_new(
        Arc::new(ArrowSchema::new(vec![
            Field::new("name", DataType::LargeUtf8, true),
            Field::new("id", DataType::Int64, true),
            Field::new("blob", DataType::Binary, true),
            Field::new(
                "at",
                DataType::Timestamp(arrow_schema::TimeUnit::Microsecond, Some("UTC".into())),
                true,
            ),
        ])),
        vec![
            Arc::new(arrow_array::LargeStringArray::from(vec!["x", "y"])),
            Arc::new(Int64Array::from(vec![1, 2])),
            Arc::new(arrow_array::BinaryArray::from(vec![&b"a"[..], b"b"])),
            Arc::new(TimestampMicrosecondArray::from(vec![1, 2]).with_timezone("UTC")),
        ],
    )
    .unwrap();
    let io = FileIO::memory();
    let file = write_data_file(
        &io,
        "memory://t/a.parquet",
        schema.clone(),
        &opts(),
        &[batch],
    )
    .await
    .unwrap();
    assert_eq!(file.record_count, 2);
    assert_eq!(metric(&file.null_value_counts, 5), Some(2));
    let (batches, _) = read_parquet(&io, "memory://t/a.parquet").await;
    let back = &batches[0];
    assert_eq!(back.schema().field(0).name(), "id");
    assert_eq!(back.column(1).as_string::<i32>().value(1), "y");
    assert_eq!(back.column(4).null_count(), 2);
}

#[tokio::test]
async fn each_codec_is_written_and_read_back() {
    let schema = Arc::new(every_type_schema());
    let batch = every_type_batch(&schema);
    for (codec, expected) in [
        ("zstd", "ZSTD"),
        ("snappy", "SNAPPY"),
        ("gzip", "GZIP"),
        ("uncompressed", "UNCOMPRESSED"),
        ("lz4", "LZ4_RAW"),
    ] {
        let props: BTreeMap<String, String> = [(
            "write.parquet.compression-codec".to_string(),
            codec.to_string(),
        )]
        .into();
        let options = ParquetWriteOptions::from_table(&props, &schema, None).unwrap();
        let io = FileIO::memory();
        let path = format!("memory://t/{codec}.parquet");
        write_data_file(
            &io,
            &path,
            schema.clone(),
            &options,
            std::slice::from_ref(&batch),
        )
        .await
        .unwrap();
        let (batches, meta) = read_parquet(&io, &path).await;
        assert_eq!(
            concat(&batches).column(14).as_ref(),
            batch.column(14).as_ref()
        );
        let used = meta.row_group(0).column(0).compression().to_string();
        assert!(used.starts_with(expected), "{codec}: {used}");
    }
    let props: BTreeMap<String, String> = [(
        "write.parquet.compression-codec".to_string(),
        "brotli".to_string(),
    )]
    .into();
    let err = ParquetWriteOptions::from_table(&props, &schema, None).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::FeatureUnsupported);
}

#[tokio::test]
async fn a_file_is_invisible_until_closed_and_nothing_remains_after_abort() {
    let schema = Arc::new(every_type_schema());
    let batch = every_type_batch(&schema);
    let dir = temp_dir("visibility");
    let io = FileIO::local();
    let path = format!("file://{}/data/f.parquet", dir.display());
    let mut w = ParquetFileWriter::try_new(&io, &path, schema.clone(), &opts()).unwrap();
    w.write(&batch).await.unwrap();
    assert!(!io.exists(&path).await.unwrap());
    let file = w.close().await.unwrap();
    assert_eq!(
        io.size(&path).await.unwrap(),
        file.file_size_in_bytes as u64
    );

    let aborted = format!("file://{}/data/g.parquet", dir.display());
    let mut w = ParquetFileWriter::try_new(&io, &aborted, schema, &opts()).unwrap();
    w.write(&batch).await.unwrap();
    w.abort().await.unwrap();
    assert!(!io.exists(&aborted).await.unwrap());
    let listed = io.list(&format!("file://{}", dir.display())).await.unwrap();
    assert_eq!(listed.len(), 1, "{listed:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn small_row_groups_give_one_split_offset_each() {
    let schema = Arc::new(
        Schema::builder()
            .with_fields([NestedField::required(1, "id", PrimitiveType::Long)])
            .build()
            .unwrap(),
    );
    let arrow = Arc::new(iceberg_schema_to_arrow(&schema).unwrap());
    let batches: Vec<RecordBatch> = (0..5)
        .map(|k| {
            RecordBatch::try_new(
                arrow.clone(),
                vec![Arc::new(Int64Array::from_iter_values(
                    k * 10_000..(k + 1) * 10_000,
                ))],
            )
            .unwrap()
        })
        .collect();
    let io = FileIO::memory();
    let options = opts().with_row_group_size_bytes(20_000);
    let file = write_data_file(&io, "memory://t/rg.parquet", schema, &options, &batches)
        .await
        .unwrap();
    let (_, meta) = read_parquet(&io, "memory://t/rg.parquet").await;
    let offsets = file.split_offsets.unwrap();
    assert!(meta.num_row_groups() > 2, "{}", meta.num_row_groups());
    assert_eq!(offsets.len(), meta.num_row_groups());
    assert_eq!(offsets[0], 4);
    assert!(offsets.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(file.record_count, 50_000);
    assert_eq!(metric(&file.value_counts, 1), Some(50_000));
    assert_eq!(bound(&file.lower_bounds, 1), Some(&le64(0)[..]));
    assert_eq!(bound(&file.upper_bounds, 1), Some(&le64(49_999)[..]));
    let sizes: i64 = meta
        .row_groups()
        .iter()
        .map(|rg| rg.column(0).compressed_size())
        .sum();
    assert_eq!(metric(&file.column_sizes, 1), Some(sizes));
}

// ---------------------------------------------------------------------------------------------
// Metrics
// ---------------------------------------------------------------------------------------------

async fn write_every_type(options: &ParquetWriteOptions) -> DataFile {
    let schema = Arc::new(every_type_schema());
    let batch = every_type_batch(&schema);
    let io = FileIO::memory();
    write_data_file(&io, "memory://t/m.parquet", schema, options, &[batch])
        .await
        .unwrap()
}

#[tokio::test]
async fn metrics_are_exact_for_every_type() {
    let f = write_every_type(&opts()).await;
    let all_leaves = vec![
        1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 20, 21, 23, 25, 26,
    ];
    assert_eq!(ids(&f.column_sizes), all_leaves);
    assert!(f.column_sizes.iter().all(|(_, s)| *s > 0));
    assert_eq!(ids(&f.null_value_counts), all_leaves);

    // Top-level and struct columns: one value per row.
    for id in 1..=21 {
        if id == 19 {
            continue;
        }
        assert_eq!(metric(&f.value_counts, id), Some(4), "value count of {id}");
    }
    let nulls = |id| metric(&f.null_value_counts, id);
    assert_eq!(
        (1..=18).map(nulls).collect::<Vec<_>>(),
        [1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]
            .map(Some)
            .to_vec()
    );
    // Struct fields: a null struct makes its fields null.
    assert_eq!(nulls(20), Some(1));
    assert_eq!(nulls(21), Some(2));
    // List elements: every slot counts ([1, 2], null, [], [null, 5] -> 6 slots, 3 "null").
    assert_eq!(metric(&f.value_counts, 23), Some(6));
    assert_eq!(nulls(23), Some(3));
    // Map keys and values: {a}, {}, null, {b, c} -> 5 slots.
    assert_eq!(metric(&f.value_counts, 25), Some(5));
    assert_eq!(nulls(25), Some(2));
    assert_eq!(metric(&f.value_counts, 26), Some(5));
    assert_eq!(nulls(26), Some(3));

    // NaN counts for float and double columns only.
    assert_eq!(f.nan_value_counts, vec![(4, 1), (5, 1), (26, 0)]);

    let lo = |id| bound(&f.lower_bounds, id).map(<[u8]>::to_vec);
    let hi = |id| bound(&f.upper_bounds, id).map(<[u8]>::to_vec);
    assert_eq!((lo(1), hi(1)), (Some(vec![0]), Some(vec![1])));
    assert_eq!((lo(2), hi(2)), (Some(le32(-3)), Some(le32(i32::MAX))));
    assert_eq!((lo(3), hi(3)), (Some(le64(i64::MIN)), Some(le64(30))));
    // NaN is never a bound; -0.0 sorts before +0.0.
    assert_eq!(lo(4), Some((-0.0f32).to_le_bytes().to_vec()));
    assert_eq!(hi(4), Some(0.0f32.to_le_bytes().to_vec()));
    assert_eq!(lo(5), Some((-2.25f64).to_le_bytes().to_vec()));
    assert_eq!(hi(5), Some(1.5f64.to_le_bytes().to_vec()));
    // Decimals: minimal big-endian two's complement of the unscaled value.
    assert_eq!(
        (lo(6), hi(6)),
        (Some(vec![0xFE, 0x38]), Some(vec![0x01, 0x86, 0x9F]))
    );
    assert_eq!((lo(7), hi(7)), (Some(vec![0xFB]), Some(vec![0x27, 0x10])));
    assert_eq!(lo(8), Some(vec![0xFF]));
    assert_eq!(
        hi(8),
        Some(
            Datum::decimal(12_345_678_901_234_567_890, 38, 10)
                .unwrap()
                .to_bytes()
        )
    );
    assert_eq!((lo(9), hi(9)), (Some(le32(-1)), Some(le32(17486))));
    assert_eq!(
        (lo(10), hi(10)),
        (Some(le64(0)), Some(le64(86_399_999_999)))
    );
    assert_eq!(
        (lo(11), hi(11)),
        (Some(le64(-1)), Some(le64(1_510_871_468_000_001)))
    );
    assert_eq!((lo(12), hi(12)), (Some(le64(-7)), Some(le64(6))));
    assert_eq!(
        (lo(13), hi(13)),
        (Some(le64(-1_000)), Some(le64(1_000_001_000)))
    );
    assert_eq!(
        (lo(14), hi(14)),
        (Some(le64(-1_000)), Some(le64(1_000_001_000)))
    );
    // Strings: 16 code points; the upper bound increments the last one.
    assert_eq!(lo(15), Some(b"a string longer ".to_vec()));
    assert_eq!(hi(15), Some(format!("{}ê", "é".repeat(15)).into_bytes()));
    assert_eq!(
        (lo(16), hi(16)),
        (Some(UUID_B.to_vec()), Some(UUID_A.to_vec()))
    );
    assert_eq!((lo(17), hi(17)), (Some(vec![0, 0, 0]), Some(vec![9, 9, 9])));
    // Binary: 16 bytes; 0xFF... has no upper bound once truncated.
    assert_eq!(lo(18), Some(vec![0; 16]));
    assert_eq!(hi(18), None);
    // Struct fields have bounds; list and map contents have none.
    assert_eq!((lo(20), hi(20)), (Some(le32(1)), Some(le32(4))));
    assert_eq!((lo(21), hi(21)), (Some(b"p".to_vec()), Some(b"q".to_vec())));
    for id in [23, 25, 26] {
        assert_eq!((lo(id), hi(id)), (None, None), "{id}");
    }
}

#[tokio::test]
async fn all_null_and_all_nan_columns_have_counts_but_no_bounds() {
    let schema = Arc::new(
        Schema::builder()
            .with_fields([
                NestedField::optional(1, "s", PrimitiveType::String),
                NestedField::optional(2, "d", PrimitiveType::Double),
                NestedField::optional(3, "z", PrimitiveType::Float),
            ])
            .build()
            .unwrap(),
    );
    let arrow = Arc::new(iceberg_schema_to_arrow(&schema).unwrap());
    let batch = RecordBatch::try_new(
        arrow,
        vec![
            Arc::new(StringArray::from(vec![None::<&str>, None, None])),
            Arc::new(Float64Array::from(vec![
                Some(f64::NAN),
                None,
                Some(-f64::NAN),
            ])),
            Arc::new(arrow_array::Float32Array::from(vec![0.0, f32::NAN, 0.0])),
        ],
    )
    .unwrap();
    let io = FileIO::memory();
    let f = write_data_file(&io, "memory://t/n.parquet", schema, &opts(), &[batch])
        .await
        .unwrap();
    assert_eq!(f.value_counts, vec![(1, 3), (2, 3), (3, 3)]);
    assert_eq!(f.null_value_counts, vec![(1, 3), (2, 1), (3, 0)]);
    assert_eq!(f.nan_value_counts, vec![(2, 2), (3, 1)]);
    // Only +0.0 values: both bounds are +0.0.
    assert_eq!(f.lower_bounds, vec![(3, 0.0f32.to_le_bytes().to_vec())]);
    assert_eq!(f.upper_bounds, vec![(3, 0.0f32.to_le_bytes().to_vec())]);
}

#[tokio::test]
async fn metrics_modes_decide_what_is_kept() {
    // none: nothing at all.
    let f = write_every_type(&opts_with(MetricsMode::None)).await;
    assert!(f.column_sizes.is_empty() && f.value_counts.is_empty());
    assert!(f.null_value_counts.is_empty() && f.nan_value_counts.is_empty());
    assert!(f.lower_bounds.is_empty() && f.upper_bounds.is_empty());
    assert_eq!(f.record_count, 4);

    // counts: sizes and counts, no bounds.
    let f = write_every_type(&opts_with(MetricsMode::Counts)).await;
    assert_eq!(f.column_sizes.len(), 23);
    assert_eq!(f.value_counts.len(), 23);
    assert_eq!(f.null_value_counts.len(), 23);
    assert_eq!(f.nan_value_counts.len(), 3);
    assert!(f.lower_bounds.is_empty() && f.upper_bounds.is_empty());

    // full: untruncated strings and binary.
    let f = write_every_type(&opts_with(MetricsMode::Full)).await;
    assert_eq!(
        bound(&f.lower_bounds, 15),
        Some(&b"a string longer than sixteen code points"[..])
    );
    assert_eq!(
        bound(&f.upper_bounds, 15),
        Some("ééééééééééééééééééé".as_bytes())
    );
    assert_eq!(bound(&f.upper_bounds, 18), Some(&[0xFF; 20][..]));
    assert_eq!(bound(&f.lower_bounds, 18), Some(&[0; 20][..]));

    // truncate(2): strings and binary only; other types stay whole.
    let f = write_every_type(&opts_with(MetricsMode::Truncate(2))).await;
    assert_eq!(bound(&f.lower_bounds, 15), Some(&b"a "[..]));
    assert_eq!(bound(&f.upper_bounds, 15), Some("éê".as_bytes()));
    assert_eq!(bound(&f.lower_bounds, 18), Some(&[0, 0][..]));
    assert_eq!(bound(&f.upper_bounds, 18), None);
    assert_eq!(bound(&f.upper_bounds, 17), Some(&[9, 9, 9][..]));
    assert_eq!(
        bound(&f.upper_bounds, 11),
        Some(&le64(1_510_871_468_000_001)[..])
    );

    // Per-column overrides from the table properties, by full column name.
    let schema = every_type_schema();
    let props: BTreeMap<String, String> = [
        ("write.metadata.metrics.default", "counts"),
        ("write.metadata.metrics.column.s", "truncate(3)"),
        ("write.metadata.metrics.column.st.y", "full"),
        ("write.metadata.metrics.column.li.element", "full"),
        ("write.metadata.metrics.column.l", "none"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let options = ParquetWriteOptions::from_table(&props, &schema, None).unwrap();
    let f = write_every_type(&options).await;
    assert_eq!(ids(&f.lower_bounds), vec![15, 21]);
    assert_eq!(bound(&f.lower_bounds, 15), Some(&b"a s"[..]));
    assert_eq!(bound(&f.upper_bounds, 15), Some("ééê".as_bytes()));
    assert!(metric(&f.value_counts, 3).is_none());
    assert!(metric(&f.column_sizes, 3).is_none());
    assert_eq!(metric(&f.value_counts, 23), Some(6));
}

#[tokio::test]
async fn columns_beyond_the_inferred_limit_get_no_metrics() {
    let schema = Arc::new(
        Schema::builder()
            .with_fields(
                (1..=105).map(|i| NestedField::optional(i, format!("c{i}"), PrimitiveType::Int)),
            )
            .build()
            .unwrap(),
    );
    let arrow = Arc::new(iceberg_schema_to_arrow(&schema).unwrap());
    let columns: Vec<ArrayRef> = (0..105)
        .map(|i| Arc::new(arrow_array::Int32Array::from(vec![i, i + 1])) as ArrayRef)
        .collect();
    let batch = RecordBatch::try_new(arrow, columns).unwrap();
    let options = ParquetWriteOptions::from_table(&BTreeMap::new(), &schema, None).unwrap();
    let io = FileIO::memory();
    let f = write_data_file(
        &io,
        "memory://t/wide.parquet",
        schema.clone(),
        &options,
        std::slice::from_ref(&batch),
    )
    .await
    .unwrap();
    assert_eq!(ids(&f.value_counts), (1..=100).collect::<Vec<_>>());
    assert_eq!(ids(&f.lower_bounds), (1..=100).collect::<Vec<_>>());

    // An explicit default applies to every column.
    let props: BTreeMap<String, String> = [(
        "write.metadata.metrics.default".to_string(),
        "truncate(16)".to_string(),
    )]
    .into();
    let options = ParquetWriteOptions::from_table(&props, &schema, None).unwrap();
    let f = write_data_file(&io, "memory://t/wide2.parquet", schema, &options, &[batch])
        .await
        .unwrap();
    assert_eq!(f.value_counts.len(), 105);
}

// ---------------------------------------------------------------------------------------------
// Cross-check with pyiceberg
// ---------------------------------------------------------------------------------------------

/// The interop venv's python: `$FLOE_VENV/bin/python`, else the venv `scripts/interop-venv.sh`
/// makes or finds. `None` when neither works (the caller fails under CI, skips otherwise).
fn interop_python() -> Option<PathBuf> {
    if let Ok(venv) = std::env::var("FLOE_VENV") {
        let py = Path::new(&venv).join("bin/python");
        if py.exists() {
            return Some(py);
        }
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/interop-venv.sh");
    let out = Command::new("bash").arg(script).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let venv = String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()?
        .trim()
        .to_string();
    let py = Path::new(&venv).join("bin/python");
    py.exists().then_some(py)
}

fn pyiceberg_stats(
    py: &Path,
    file: &Path,
    schema: &Schema,
    props: &BTreeMap<String, String>,
) -> serde_json::Value {
    let dir = file.parent().unwrap();
    let schema_path = dir.join("schema.json");
    let props_path = dir.join("props.json");
    std::fs::write(&schema_path, serde_json::to_string(schema).unwrap()).unwrap();
    std::fs::write(&props_path, serde_json::to_string(props).unwrap()).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/parquet/pyiceberg_stats.py");
    let out = Command::new(py)
        .arg(script)
        .arg(file)
        .arg(&schema_path)
        .arg(&props_path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "pyiceberg_stats.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn counts_json(list: &[(i32, i64)]) -> serde_json::Value {
    list.iter()
        .map(|(id, v)| (id.to_string(), serde_json::Value::from(*v)))
        .collect::<serde_json::Map<_, _>>()
        .into()
}

fn bounds_json(list: &[(i32, Vec<u8>)]) -> serde_json::Value {
    list.iter()
        .map(|(id, v)| {
            let hex: String = v.iter().map(|b| format!("{b:02x}")).collect();
            (id.to_string(), serde_json::Value::from(hex))
        })
        .collect::<serde_json::Map<_, _>>()
        .into()
}

fn without(v: &serde_json::Value, drop: &[i32]) -> serde_json::Value {
    let mut m = v.as_object().unwrap().clone();
    for id in drop {
        m.remove(&id.to_string());
    }
    serde_json::Value::Object(m)
}

/// Write the every-type table in several row groups, and compare our metrics with the ones
/// pyiceberg computes for the same file. Deliberate differences, asserted as such:
/// - struct fields (20, 21) have bounds in ours, as in Java; pyiceberg keeps only counts for
///   every nested column;
/// - NaN counts: ours come from the Parquet statistics; pyiceberg 0.12 records none;
/// - a `none` column has no column size in ours (Java); pyiceberg still records its size;
/// - float and double bounds (4, 5): the Parquet writer records float statistics under the
///   IEEE 754 total order column order, which pyarrow 26 does not know, so pyarrow hides
///   their min/max and pyiceberg has no bounds for them. Ours come from the same statistics
///   (checked exactly in `metrics_are_exact_for_every_type`).
#[tokio::test]
async fn metrics_match_pyiceberg_for_the_same_file() {
    let Some(py) = interop_python() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "the pyiceberg cross-check needs the interop venv (FLOE_VENV or scripts/interop-venv.sh)"
        );
        eprintln!("skipping the pyiceberg cross-check: no interop venv");
        return;
    };
    let schema = Arc::new(every_type_schema());
    let batch = every_type_batch(&schema);
    let dir = temp_dir("pyiceberg-stats");
    let io = FileIO::local();
    for (tag, props) in [
        ("defaults", vec![]),
        (
            "modes",
            vec![
                ("write.metadata.metrics.default", "counts"),
                ("write.metadata.metrics.column.s", "truncate(4)"),
                ("write.metadata.metrics.column.bin", "full"),
                ("write.metadata.metrics.column.i", "full"),
                ("write.metadata.metrics.column.d", "none"),
            ],
        ),
    ] {
        let props: BTreeMap<String, String> = props
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let options = ParquetWriteOptions::from_table(&props, &schema, None)
            .unwrap()
            .with_row_group_size_bytes(1);
        let file_path = dir.join(format!("{tag}.parquet"));
        let uri = format!("file://{}", file_path.display());
        let f = write_data_file(
            &io,
            &uri,
            schema.clone(),
            &options,
            &[batch.clone(), batch.slice(1, 3), batch.slice(0, 2)],
        )
        .await
        .unwrap();
        let py_stats = pyiceberg_stats(&py, &file_path, &schema, &props);
        assert!(f.split_offsets.as_ref().unwrap().len() > 1);
        if tag == "defaults" {
            assert!(bound(&f.lower_bounds, 4).is_some() && bound(&f.upper_bounds, 5).is_some());
        }
        assert_eq!(py_stats["record_count"], f.record_count, "{tag}");
        assert_eq!(
            py_stats["split_offsets"],
            serde_json::to_value(f.split_offsets.as_ref().unwrap()).unwrap(),
            "{tag}"
        );
        let none_cols: Vec<i32> = if tag == "modes" { vec![5] } else { vec![] };
        assert_eq!(
            without(&py_stats["column_sizes"], &none_cols),
            counts_json(&f.column_sizes),
            "{tag}"
        );
        for id in &none_cols {
            assert!(py_stats["column_sizes"].get(id.to_string()).is_some());
        }
        assert_eq!(
            py_stats["value_counts"],
            counts_json(&f.value_counts),
            "{tag}"
        );
        assert_eq!(
            py_stats["null_value_counts"],
            counts_json(&f.null_value_counts),
            "{tag}"
        );
        assert_eq!(py_stats["nan_value_counts"], serde_json::json!({}), "{tag}");
        let differ = [4, 5, 20, 21];
        for (ours, theirs) in [
            (&f.lower_bounds, &py_stats["lower_bounds"]),
            (&f.upper_bounds, &py_stats["upper_bounds"]),
        ] {
            assert_eq!(theirs, &without(&bounds_json(ours), &differ), "{tag}");
            for id in differ {
                assert!(theirs.get(id.to_string()).is_none(), "{tag}: {id}");
            }
        }
        if tag == "defaults" {
            assert!(bound(&f.lower_bounds, 20).is_some() && bound(&f.upper_bounds, 21).is_some());
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

// ---------------------------------------------------------------------------------------------
// Partitioned writer
// ---------------------------------------------------------------------------------------------

fn events_schema() -> Schema {
    Schema::builder()
        .with_fields([
            NestedField::required(1, "id", PrimitiveType::Long),
            NestedField::optional(2, "ts", PrimitiveType::Timestamptz),
            NestedField::optional(3, "user", PrimitiveType::String),
            NestedField::optional(4, "value", PrimitiveType::Double),
        ])
        .build()
        .unwrap()
}

const HOUR: i64 = 3_600_000_000;
const DAY: i64 = 24 * HOUR;

fn events(arrow: &Arc<ArrowSchema>, n: i64, start: i64) -> RecordBatch {
    let ids: Vec<i64> = (start..start + n).collect();
    let ts: Vec<Option<i64>> = ids
        .iter()
        .map(|i| (i % 17 != 0).then_some(1_700_000_000_000_000 + (i % 5) * DAY + (i % 3) * HOUR))
        .collect();
    let users: Vec<Option<String>> = ids
        .iter()
        .map(|i| (i % 11 != 0).then(|| format!("user {} é", i % 7)))
        .collect();
    RecordBatch::try_new(
        arrow.clone(),
        vec![
            Arc::new(Int64Array::from(ids.clone())),
            Arc::new(TimestampMicrosecondArray::from(ts).with_timezone("+00:00")),
            Arc::new(StringArray::from(users)),
            Arc::new(Float64Array::from_iter_values(
                ids.iter().map(|i| *i as f64 / 2.0),
            )),
        ],
    )
    .unwrap()
}

fn spec(fields: &[(i32, &str, Transform)]) -> PartitionSpec {
    PartitionSpec::new(
        1,
        fields
            .iter()
            .enumerate()
            .map(|(k, (source, name, t))| PartitionField {
                source_id: (*source).into(),
                field_id: 1000 + k as i32,
                name: name.to_string(),
                transform: t.clone(),
            })
            .collect(),
    )
}

/// Every row of every file transforms to the file's partition tuple; all rows are there once.
async fn check_routing(
    io: &FileIO,
    schema: &Schema,
    spec: &PartitionSpec,
    files: &[DataFile],
    expected_rows: usize,
) {
    let mut seen = Vec::new();
    for f in files {
        assert_eq!(f.partition.len(), spec.fields().len());
        let (batches, _) = read_parquet(io, &f.file_path).await;
        let back = concat(&batches);
        assert_eq!(back.num_rows() as i64, f.record_count);
        for (field, value) in spec.fields().iter().zip(&f.partition) {
            let source = schema.field_by_id(*field.source_id).unwrap();
            let col = back.column_by_name(&source.name).unwrap();
            let transformed = field.transform.apply_array(col.as_ref()).unwrap();
            for row in 0..back.num_rows() {
                let got = match (transformed.data_type(), transformed.is_null(row)) {
                    (_, true) => None,
                    (DataType::Int32, _) => Some(Datum::Int(
                        transformed.as_primitive::<Int32Type>().value(row),
                    )),
                    (DataType::Date32, _) => Some(Datum::Date(
                        transformed
                            .as_primitive::<arrow_array::types::Date32Type>()
                            .value(row),
                    )),
                    (DataType::Int64, _) => Some(Datum::Long(
                        transformed.as_primitive::<Int64Type>().value(row),
                    )),
                    (DataType::Utf8, _) => Some(Datum::String(
                        transformed.as_string::<i32>().value(row).to_string(),
                    )),
                    (DataType::Timestamp(_, _), _) => Some(Datum::Timestamptz(
                        transformed
                            .as_primitive::<TimestampMicrosecondType>()
                            .value(row),
                    )),
                    other => panic!("{other:?}"),
                };
                assert_eq!(&got, value, "{} in {}", field.name, f.file_path);
            }
        }
        seen.extend(
            back.column(0)
                .as_primitive::<Int64Type>()
                .values()
                .iter()
                .copied(),
        );
    }
    seen.sort_unstable();
    assert_eq!(seen.len(), expected_rows);
    seen.dedup();
    assert_eq!(seen.len(), expected_rows, "a row was written twice");
}

#[tokio::test]
async fn rows_land_in_their_partitions_for_each_transform() {
    let schema = Arc::new(events_schema());
    let arrow = Arc::new(iceberg_schema_to_arrow(&schema).unwrap());
    let cases = vec![
        spec(&[(3, "user", Transform::Identity)]),
        spec(&[(1, "id_bucket", Transform::Bucket(4))]),
        spec(&[(3, "user_trunc", Transform::Truncate(5))]),
        spec(&[(2, "ts_day", Transform::Day)]),
        spec(&[(2, "ts_hour", Transform::Hour)]),
        spec(&[
            (2, "ts_day", Transform::Day),
            (1, "id_bucket", Transform::Bucket(3)),
        ]),
        spec(&[(4, "gone", Transform::Void)]),
    ];
    let batches = [events(&arrow, 500, 0), events(&arrow, 300, 500)];
    for spec in cases {
        // The distinct tuples, from the single-value transforms.
        let mut tuples = std::collections::HashSet::new();
        for b in &batches {
            for row in 0..b.num_rows() {
                let tuple: Vec<String> = spec
                    .fields()
                    .iter()
                    .map(|f| {
                        let col = b.column((*f.source_id - 1) as usize);
                        let v = (!col.is_null(row)).then(|| match *f.source_id {
                            1 => Datum::Long(col.as_primitive::<Int64Type>().value(row)),
                            2 => Datum::Timestamptz(
                                col.as_primitive::<TimestampMicrosecondType>().value(row),
                            ),
                            3 => Datum::String(col.as_string::<i32>().value(row).to_string()),
                            _ => Datum::Double(0.0),
                        });
                        format!("{:?}", f.transform.apply(v.as_ref()).unwrap())
                    })
                    .collect();
                tuples.insert(tuple);
            }
        }
        let partitions = tuples.len();
        assert!(partitions > 1 || spec.is_unpartitioned());
        let io = FileIO::memory();
        let mut w = PartitionedWriter::builder(schema.clone(), io.clone(), "memory://wh/t/data/")
            .partition_spec(spec.clone())
            .build()
            .unwrap();
        for b in &batches {
            w.write(b).await.unwrap();
        }
        let files = w.close().await.unwrap();
        assert_eq!(files.len(), partitions, "{spec:?}");
        check_routing(&io, &schema, &spec, &files, 800).await;
        let first = &files[0].file_path;
        assert!(first.starts_with("memory://wh/t/data/"), "{first}");
        assert!(first.ends_with("-00000.parquet"), "{first}");
    }
}

#[tokio::test]
async fn partition_tuples_and_paths_are_the_transform_results() {
    let schema = Arc::new(events_schema());
    let arrow = Arc::new(iceberg_schema_to_arrow(&schema).unwrap());
    let spec = spec(&[
        (2, "ts_day", Transform::Day),
        (2, "ts_hour", Transform::Hour),
        (3, "user", Transform::Identity),
        (1, "b", Transform::Bucket(16)),
    ]);
    let io = FileIO::memory();
    let mut w = PartitionedWriter::builder(schema.clone(), io.clone(), "memory://wh/t/data")
        .partition_spec(spec.clone())
        .build()
        .unwrap();
    let batch = RecordBatch::try_new(
        arrow,
        vec![
            Arc::new(Int64Array::from(vec![34, 35])),
            Arc::new(
                TimestampMicrosecondArray::from(vec![Some(1_510_871_468_123_456), None])
                    .with_timezone("+00:00"),
            ),
            Arc::new(StringArray::from(vec![Some("a b/c"), None])),
            Arc::new(Float64Array::from(vec![1.0, 2.0])),
        ],
    )
    .unwrap();
    w.write(&batch).await.unwrap();
    let files = w.close().await.unwrap();
    assert_eq!(files.len(), 2);
    let first = &files[0];
    assert_eq!(
        first.partition,
        vec![
            Some(Datum::Date(17486)),
            Some(Datum::Int(419686)),
            Some(Datum::String("a b/c".into())),
            Some(Datum::Int(3)), // bucket[16] of 34: 2017239379 % 16
        ]
    );
    assert!(
        first.file_path.starts_with(
            "memory://wh/t/data/ts_day=2017-11-16/ts_hour=2017-11-16-22/user=a+b%2Fc/b=3/"
        ),
        "{}",
        first.file_path
    );
    assert_eq!(files[1].partition[..3], [None, None, None]);
    assert!(
        files[1]
            .file_path
            .contains("/ts_day=null/ts_hour=null/user=null/b="),
        "{}",
        files[1].file_path
    );
    assert_eq!(first.record_count, 1);
    assert_eq!(bound(&first.lower_bounds, 1), Some(&le64(34)[..]));
}

#[tokio::test]
async fn files_roll_at_the_target_size() {
    let schema = Arc::new(events_schema());
    let arrow = Arc::new(iceberg_schema_to_arrow(&schema).unwrap());
    let dir = temp_dir("rolling");
    let io = FileIO::local();
    let location = format!("file://{}/data", dir.display());
    let props: BTreeMap<String, String> = [
        (
            "write.target-file-size-bytes".to_string(),
            "200000".to_string(),
        ),
        (
            "write.parquet.row-group-size-bytes".to_string(),
            "100000".to_string(),
        ),
    ]
    .into();
    let spec = spec(&[(1, "b", Transform::Bucket(2))]);
    let mut w = PartitionedWriter::builder(schema.clone(), io.clone(), &location)
        .partition_spec(spec.clone())
        .table_properties(&props)
        .build()
        .unwrap();
    for k in 0..10 {
        w.write(&events(&arrow, 50_000, k * 50_000)).await.unwrap();
    }
    let files = w.close().await.unwrap();
    assert!(files.len() >= 6, "{} files", files.len());
    for bucket in 0..2 {
        let n = files
            .iter()
            .filter(|f| f.partition == vec![Some(Datum::Int(bucket))])
            .count();
        assert!(n >= 3, "bucket {bucket}: {n} files");
    }
    let total: i64 = files.iter().map(|f| f.record_count).sum();
    assert_eq!(total, 500_000);
    let on_disk = io.list(&location).await.unwrap();
    assert_eq!(on_disk.len(), files.len());
    for f in &files {
        let listed = on_disk.iter().find(|l| l.path == f.file_path).unwrap();
        assert_eq!(listed.size as i64, f.file_size_in_bytes);
        assert!(f.file_size_in_bytes < 400_000, "{}", f.file_size_in_bytes);
    }
    check_routing(&io, &schema, &spec, &files, 500_000).await;

    // Unpartitioned: the same rolling, no partition directory.
    let mut w = PartitionedWriter::builder(schema.clone(), io.clone(), format!("{location}2"))
        .target_file_size_bytes(300_000)
        .build()
        .unwrap();
    for k in 0..4 {
        w.write(&events(&arrow, 50_000, k * 50_000)).await.unwrap();
    }
    let files = w.close().await.unwrap();
    assert!(files.len() >= 2, "{}", files.len());
    assert!(files.iter().all(|f| f.partition.is_empty()));
    assert!(files[0].file_path.starts_with(&format!("{location}2/")));
    assert!(!files[0].file_path[location.len() + 2..].contains('/'));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn mismatched_batches_and_nulls_in_required_columns_write_nothing() {
    let schema = Arc::new(events_schema());
    let arrow = Arc::new(iceberg_schema_to_arrow(&schema).unwrap());
    let io = FileIO::memory();
    let spec = spec(&[(2, "ts_day", Transform::Day)]);
    let new_writer = || {
        PartitionedWriter::builder(schema.clone(), io.clone(), "memory://wh/t/data")
            .partition_spec(spec.clone())
            .build()
            .unwrap()
    };
    let good = events(&arrow, 10, 0);

    // A null in the required `id` column.
    let nullable = Arc::new(ArrowSchema::new(
        arrow
            .fields()
            .iter()
            .map(|f| f.as_ref().clone().with_nullable(true))
            .collect::<Vec<_>>(),
    ));
    let mut cols = good.columns().to_vec();
    cols[0] = Arc::new(Int64Array::from(vec![
        Some(1),
        None,
        Some(3),
        Some(4),
        Some(5),
        Some(6),
        Some(7),
        Some(8),
        Some(9),
        Some(10),
    ]));
    let with_null = RecordBatch::try_new(nullable, cols).unwrap();
    let mut w = new_writer();
    let err = w.write(&with_null).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::DataInvalid);
    assert!(
        err.message().contains("'id'") && err.message().contains("required"),
        "{err}"
    );

    // A column of the wrong type.
    let wrong = RecordBatch::try_new(
        Arc::new(ArrowSchema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("ts", DataType::Utf8, true),
        ])),
        vec![
            Arc::new(Int64Array::from(vec![1])),
            Arc::new(StringArray::from(vec!["2024-01-01"])),
        ],
    )
    .unwrap();
    let err = w.write(&wrong).await.unwrap_err();
    assert!(
        err.message().contains("'ts'") && err.message().contains("timestamptz"),
        "{err}"
    );

    // A column the table does not have, and a missing required column.
    let extra = RecordBatch::try_new(
        Arc::new(ArrowSchema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("other", DataType::Int32, true),
        ])),
        vec![
            Arc::new(Int64Array::from(vec![1])),
            Arc::new(arrow_array::Int32Array::from(vec![1])),
        ],
    )
    .unwrap();
    let err = w.write(&extra).await.unwrap_err();
    assert!(err.message().contains("'other'"), "{err}");
    let missing = RecordBatch::try_new(
        Arc::new(ArrowSchema::new(vec![Field::new(
            "user",
            DataType::Utf8,
            true,
        )])),
        vec![Arc::new(StringArray::from(vec!["x"]))],
    )
    .unwrap();
    let err = w.write(&missing).await.unwrap_err();
    assert!(
        err.message().contains("'id'") && err.message().contains("missing"),
        "{err}"
    );

    assert!(io.list("memory://wh").await.unwrap().is_empty());
    // The writer still works after refusals; abort removes what it wrote.
    w.write(&good).await.unwrap();
    w.abort().await.unwrap();
    assert!(io.list("memory://wh").await.unwrap().is_empty());

    // Required fields nested in structs are checked where the struct is present.
    let nested = Arc::new(
        Schema::builder()
            .with_fields([NestedField::optional(
                1,
                "p",
                Type::Struct(StructType::new(vec![NestedField::required(
                    2,
                    "x",
                    PrimitiveType::Int,
                )])),
            )])
            .build()
            .unwrap(),
    );
    let fields = arrow_schema::Fields::from(vec![Field::new("x", DataType::Int32, true)]);
    let make = |validity: Vec<bool>| {
        RecordBatch::try_new(
            Arc::new(ArrowSchema::new(vec![Field::new(
                "p",
                DataType::Struct(fields.clone()),
                true,
            )])),
            vec![Arc::new(StructArray::new(
                fields.clone(),
                vec![Arc::new(arrow_array::Int32Array::from(vec![Some(1), None]))],
                Some(NullBuffer::from(validity)),
            ))],
        )
        .unwrap()
    };
    let mut w = PartitionedWriter::builder(nested.clone(), io.clone(), "memory://wh/n")
        .build()
        .unwrap();
    let err = w.write(&make(vec![true, true])).await.unwrap_err();
    assert!(err.message().contains("'p.x'"), "{err}");
    w.write(&make(vec![true, false])).await.unwrap();
    let files = w.close().await.unwrap();
    assert_eq!(files[0].record_count, 2);
    assert_eq!(metric(&files[0].null_value_counts, 2), Some(1));
}

#[test]
fn a_spec_that_does_not_fit_the_schema_is_refused() {
    let schema = Arc::new(events_schema());
    let err = PartitionedWriter::builder(schema.clone(), FileIO::memory(), "memory://x")
        .partition_spec(spec(&[(4, "v", Transform::Bucket(4))]))
        .build()
        .unwrap_err();
    assert!(err.message().contains("bucket"), "{err}");
    let err = PartitionedWriter::builder(schema, FileIO::memory(), "memory://x")
        .partition_spec(spec(&[(9, "v", Transform::Identity)]))
        .build()
        .unwrap_err();
    assert!(err.message().contains('9'), "{err}");
}
