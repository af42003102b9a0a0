//! What our writers write, our reader reads back unchanged.

use serde_json::Value as JsonValue;

use crate::ErrorKind;
use crate::avro::container::Blocks;
use crate::avro::{
    Codec, Header, ManifestList, ManifestListWriter, ManifestReader, ManifestWriter,
    UNASSIGNED_SEQUENCE_NUMBER, read_manifest, read_manifest_list,
};
use crate::spec::manifest::{
    DataContentType, DataFile, DataFileFormat, FieldSummary, ManifestContentType, ManifestEntry,
    ManifestFile, ManifestStatus,
};
use crate::spec::partition::{PartitionField, PartitionSpec};
use crate::spec::schema::Schema;
use crate::spec::table_metadata::FormatVersion;
use crate::spec::transform::Transform;
use crate::spec::types::{NestedField, PrimitiveType as P, StructType};
use crate::spec::values::Datum;

/// Columns of every primitive type, partitioned by identity on each (two decimals and two
/// fixed of the same type, so named Avro types are reused) plus bucket, day, hour and truncate.
pub(super) fn all_types_table() -> (Schema, PartitionSpec) {
    let types = [
        P::Boolean,
        P::Int,
        P::Long,
        P::Float,
        P::Double,
        P::Decimal {
            precision: 9,
            scale: 2,
        },
        P::Decimal {
            precision: 38,
            scale: 10,
        },
        P::Decimal {
            precision: 9,
            scale: 2,
        },
        P::Date,
        P::Time,
        P::Timestamp,
        P::Timestamptz,
        P::TimestampNs,
        P::TimestamptzNs,
        P::String,
        P::Uuid,
        P::Fixed(3),
        P::Fixed(3),
        P::Binary,
    ];
    let fields: Vec<NestedField> = types
        .iter()
        .enumerate()
        .map(|(i, t)| NestedField::optional(i as i32 + 1, format!("c{}", i + 1), *t))
        .collect();
    let schema = Schema::builder()
        .with_schema_id(3)
        .with_fields(fields)
        .build()
        .unwrap();
    let mut parts: Vec<PartitionField> = (0..types.len())
        .map(|i| PartitionField {
            source_id: (i as i32 + 1).into(),
            field_id: 1000 + i as i32,
            // A name Avro cannot take as is: the writer sanitizes it.
            name: if i == 0 {
                "1st-bool".into()
            } else {
                format!("c{}_id", i + 1)
            },
            transform: Transform::Identity,
        })
        .collect();
    let extra = [
        (15, Transform::Bucket(16), "c15_bucket"),
        (11, Transform::Day, "c11_day"),
        (11, Transform::Hour, "c11_hour"),
        (15, Transform::Truncate(2), "c15_trunc"),
    ];
    for (source, transform, name) in extra {
        let id = 1000 + parts.len() as i32;
        parts.push(PartitionField {
            source_id: source.into(),
            field_id: id,
            name: name.into(),
            transform,
        });
    }
    (schema, PartitionSpec::new(5, parts))
}

/// One partition tuple of the all-types spec; `k` varies the values, `nulls` makes every
/// other value null.
pub(super) fn tuple(k: i64, nulls: bool) -> Vec<Option<Datum>> {
    let k32 = k as i32;
    let mut v = vec![
        Some(Datum::Boolean(k % 2 == 0)),
        Some(Datum::Int(k32 - 3)),
        Some(Datum::Long(k * 1_000_000_007)),
        Some(Datum::Float(if k == 2 { f32::NAN } else { k as f32 * 0.5 })),
        Some(Datum::Double(if k == 1 { -0.0 } else { k as f64 * -1.25 })),
        Some(Datum::decimal(i128::from(k) * 12345 - 99, 9, 2).unwrap()),
        Some(Datum::decimal(-(10i128.pow(37)) + i128::from(k), 38, 10).unwrap()),
        Some(Datum::decimal(i128::from(k), 9, 2).unwrap()),
        Some(Datum::Date(19_000 + k32)),
        Some(Datum::Time(k * 3_600_000_000)),
        Some(Datum::Timestamp(1_700_000_000_000_000 + k)),
        Some(Datum::Timestamptz(-1_000 - k)),
        Some(Datum::TimestampNs(1_700_000_000_000_000_000 + k)),
        Some(Datum::TimestamptzNs(k)),
        Some(Datum::String(format!("välue-{k}"))),
        Some(Datum::Uuid(uuid::Uuid::from_u128(
            0x1234_5678_9abc_def0 + k as u128,
        ))),
        Some(Datum::Fixed(vec![k as u8, 0xff, 0])),
        Some(Datum::Fixed(vec![0, 0, k as u8])),
        Some(Datum::Binary(vec![0xde, 0xad, k as u8])),
        Some(Datum::Int((k % 16) as i32)),
        Some(Datum::Date(19_000 + k32)),
        Some(Datum::Int(470_000 + k32)),
        Some(Datum::String("vä".into())),
    ];
    if nulls {
        for (i, x) in v.iter_mut().enumerate() {
            if i % 2 == 1 {
                *x = None;
            }
        }
    }
    v
}

pub(super) fn data_file(k: i64, partition: Vec<Option<Datum>>) -> DataFile {
    DataFile {
        content: DataContentType::Data,
        file_path: format!("s3://bucket/t/data/part-{k:05}.parquet"),
        file_format: DataFileFormat::Parquet,
        partition,
        record_count: 100 + k,
        file_size_in_bytes: 4096 + k,
        column_sizes: (1..=10).map(|c| (c, c as i64 * 17 + k)).collect(),
        value_counts: (1..=10).map(|c| (c, 100 + k)).collect(),
        null_value_counts: (1..=10).map(|c| (c, k % 3)).collect(),
        nan_value_counts: vec![(4, 0), (5, k % 2)],
        lower_bounds: (1..=10).map(|c| (c, vec![c as u8, k as u8])).collect(),
        upper_bounds: (1..=10)
            .map(|c| (c, vec![c as u8, k as u8, 0xff]))
            .collect(),
        key_metadata: (k % 2 == 0).then(|| vec![1, 2, 3]),
        split_offsets: Some(vec![4, 1000 + k]),
        equality_ids: None,
        sort_order_id: Some(0),
        first_row_id: None,
        referenced_data_file: None,
        content_offset: None,
        content_size_in_bytes: None,
    }
}

/// `assert_eq!` through `Debug`, so NaN partition values compare equal, with a short message.
#[track_caller]
pub(super) fn assert_same<T: std::fmt::Debug>(got: &T, want: &T, what: &str) {
    let (g, w) = (format!("{got:?}"), format!("{want:?}"));
    if g != w {
        let at = g.bytes().zip(w.bytes()).take_while(|(a, b)| a == b).count();
        let from = at.saturating_sub(200);
        panic!(
            "{what}: differs at byte {at}\n got: ...{}\nwant: ...{}",
            &g[from..(at + 200).min(g.len())],
            &w[from..(at + 200).min(w.len())]
        );
    }
}

fn partition_type() -> StructType {
    let (schema, spec) = all_types_table();
    spec.partition_type(&schema).unwrap()
}

pub(super) fn entry(status: ManifestStatus, snap: i64, seq: i64, f: DataFile) -> ManifestEntry {
    ManifestEntry {
        status,
        snapshot_id: Some(snap),
        sequence_number: Some(seq),
        file_sequence_number: Some(seq),
        data_file: f,
    }
}

#[test]
fn v2_data_manifest_and_list_round_trip_with_inheritance() {
    let (schema, spec) = all_types_table();
    let pt = partition_type();
    let mut w = ManifestWriter::new(
        FormatVersion::V2,
        ManifestContentType::Data,
        100,
        &schema,
        &spec,
    )
    .unwrap();
    let added = data_file(0, tuple(0, false));
    let added_old = data_file(1, tuple(1, true));
    let existing = entry(
        ManifestStatus::Existing,
        50,
        2,
        data_file(2, tuple(2, false)),
    );
    let gone = entry(ManifestStatus::Deleted, 40, 1, data_file(3, tuple(3, true)));
    w.add(&added).unwrap();
    w.add_with_sequence_number(&added_old, 3).unwrap();
    w.existing(&existing).unwrap();
    w.delete(&gone).unwrap();
    let (bytes, mut mf) = w.finish().unwrap();
    mf.manifest_path = "mem://t/metadata/m0.avro".into();

    assert_eq!(mf.manifest_length, bytes.len() as i64);
    assert_eq!(mf.partition_spec_id, 5);
    assert_eq!(mf.sequence_number, UNASSIGNED_SEQUENCE_NUMBER);
    assert_eq!(
        mf.min_sequence_number, 2,
        "lowest explicit live data sequence number"
    );
    assert_eq!(mf.added_snapshot_id, 100);
    assert_eq!(
        (
            mf.added_files_count,
            mf.existing_files_count,
            mf.deleted_files_count
        ),
        (2, 1, 1)
    );
    assert_eq!(
        (
            mf.added_rows_count,
            mf.existing_rows_count,
            mf.deleted_rows_count
        ),
        (201, 102, 103)
    );
    let summaries = mf.partitions.clone().unwrap();
    assert_eq!(summaries.len(), pt.fields().len());
    // Boolean: k = 0..3 gives true and false; the null tuples make contains_null.
    assert_eq!(
        summaries[0],
        FieldSummary {
            contains_null: false,
            contains_nan: Some(false),
            lower_bound: Some(vec![0]),
            upper_bound: Some(vec![1]),
        }
    );
    // Int (index 1) is null in the two null tuples; k = 0 and 2 leave -3 and -1.
    assert!(summaries[1].contains_null);
    assert_eq!(
        summaries[1].lower_bound,
        Some((-3i32).to_le_bytes().to_vec())
    );
    assert_eq!(
        summaries[1].upper_bound,
        Some((-1i32).to_le_bytes().to_vec())
    );
    // Float (index 3): 0.0 at k = 0, NaN at k = 2 (flagged, never a bound), null otherwise.
    assert_eq!(summaries[3].contains_nan, Some(true));
    assert!(summaries[3].contains_null);
    assert_eq!(summaries[3].lower_bound, Some(0f32.to_le_bytes().to_vec()));
    assert_eq!(summaries[3].upper_bound, Some(0f32.to_le_bytes().to_vec()));
    // Double (index 4): -0.0 (k = 0, 1), -2.5, -3.75; with no +0.0 the upper bound is -0.0.
    assert_eq!(
        summaries[4].lower_bound,
        Some((-3.75f64).to_le_bytes().to_vec())
    );
    assert_eq!(
        summaries[4].upper_bound,
        Some((-0.0f64).to_le_bytes().to_vec())
    );

    let mut lw = ManifestListWriter::new(FormatVersion::V2, 100, Some(99), 7, None).unwrap();
    let written = lw.add_manifest(&mf).unwrap();
    assert_eq!(
        (written.sequence_number, written.min_sequence_number),
        (7, 2)
    );
    let older = ManifestFile {
        manifest_path: "mem://t/metadata/old.avro".into(),
        manifest_length: 10,
        partition_spec_id: 0,
        content: ManifestContentType::Deletes,
        sequence_number: 4,
        min_sequence_number: 3,
        added_snapshot_id: 60,
        added_files_count: 1,
        partitions: None,
        key_metadata: Some(vec![9]),
        ..ManifestFile::default()
    };
    assert_eq!(lw.add_manifest(&older).unwrap(), older);
    let (list_bytes, next) = lw.finish().unwrap();
    assert_eq!(next, None);
    let list = ManifestList::parse(&list_bytes).unwrap();
    assert_eq!(list.manifests, vec![written.clone(), older]);
    assert_eq!(list.metadata.snapshot_id, Some(100));
    assert_eq!(list.metadata.parent_snapshot_id, Some(99));
    assert_eq!(list.metadata.sequence_number, Some(7));
    assert_eq!(list.metadata.format_version, Some(2));
    assert_eq!(list.metadata.first_row_id, None);

    // As written: ADDED entries of the committing snapshot leave everything to inheritance.
    let plain: Vec<ManifestEntry> = ManifestReader::without_inheritance(&bytes, &pt)
        .unwrap()
        .collect::<crate::Result<_>>()
        .unwrap();
    assert_eq!(plain[0].snapshot_id, None);
    assert_eq!(plain[0].sequence_number, None);
    assert_eq!(plain[1].sequence_number, Some(3));
    assert_eq!(plain[1].file_sequence_number, None);

    let (md, entries) = read_manifest(&bytes, &written, &pt).unwrap();
    assert_eq!(md.format_version, FormatVersion::V2);
    assert_eq!(md.schema_id, Some(3));
    assert_eq!(md.partition_spec_id, Some(5));
    assert_eq!(md.content, ManifestContentType::Data);
    assert_eq!(md.schema().unwrap().unwrap(), schema);
    assert_eq!(md.partition_spec().unwrap().unwrap(), spec);
    assert_eq!(md.partition_type().unwrap(), pt);
    let expected = vec![
        ManifestEntry {
            status: ManifestStatus::Added,
            snapshot_id: Some(100),
            sequence_number: Some(7),
            file_sequence_number: Some(7),
            data_file: added,
        },
        ManifestEntry {
            status: ManifestStatus::Added,
            snapshot_id: Some(100),
            sequence_number: Some(3),
            file_sequence_number: Some(7),
            data_file: added_old,
        },
        existing,
        ManifestEntry {
            snapshot_id: Some(100),
            ..gone
        },
    ];
    assert_same(&entries, &expected, "entries with inheritance");
}

#[test]
fn v3_first_row_ids_are_assigned_by_the_list_and_inherited_by_entries() {
    let (schema, spec) = all_types_table();
    let pt = partition_type();
    let mut w = ManifestWriter::new(
        FormatVersion::V3,
        ManifestContentType::Data,
        7,
        &schema,
        &spec,
    )
    .unwrap();
    let a = data_file(10, tuple(0, false)); // 110 rows
    let b = data_file(5, tuple(1, false)); // 105 rows
    let mut kept = entry(ManifestStatus::Existing, 6, 1, data_file(7, tuple(2, true)));
    kept.data_file.first_row_id = Some(3);
    let upgraded = entry(
        ManifestStatus::Existing,
        5,
        1,
        data_file(4, tuple(3, false)),
    ); // 104
    let removed = entry(ManifestStatus::Deleted, 5, 1, data_file(2, tuple(4, false)));
    w.add(&a).unwrap();
    w.add(&b).unwrap();
    w.existing(&kept).unwrap();
    w.existing(&upgraded).unwrap();
    w.delete(&removed).unwrap();
    let (bytes, mut mf) = w.finish().unwrap();
    mf.manifest_path = "m-data.avro".into();
    assert_eq!(mf.first_row_id, None);

    // A delete manifest: a deletion vector and an equality delete file.
    let mut dw = ManifestWriter::new(
        FormatVersion::V3,
        ManifestContentType::Deletes,
        7,
        &schema,
        &spec,
    )
    .unwrap();
    let dv = DataFile {
        content: DataContentType::PositionDeletes,
        file_format: DataFileFormat::Puffin,
        referenced_data_file: Some(a.file_path.clone()),
        content_offset: Some(4),
        content_size_in_bytes: Some(40),
        file_path: "s3://bucket/t/data/dv.puffin".into(),
        ..data_file(1, tuple(0, false))
    };
    let eq = DataFile {
        content: DataContentType::EqualityDeletes,
        file_format: DataFileFormat::Avro,
        equality_ids: Some(vec![2, 3]),
        file_path: "s3://bucket/t/data/eq.avro".into(),
        ..data_file(2, tuple(1, true))
    };
    dw.add(&dv).unwrap();
    dw.add(&eq).unwrap();
    let (del_bytes, mut dmf) = dw.finish().unwrap();
    dmf.manifest_path = "m-deletes.avro".into();

    let pre_assigned = ManifestFile {
        manifest_path: "m-old.avro".into(),
        sequence_number: 1,
        min_sequence_number: 1,
        added_snapshot_id: 5,
        added_rows_count: 1000,
        first_row_id: Some(0),
        partitions: Some(vec![]),
        ..ManifestFile::default()
    };
    let mut lw = ManifestListWriter::new(FormatVersion::V3, 7, Some(6), 9, Some(2000)).unwrap();
    let m1 = lw.add_manifest(&mf).unwrap();
    let m2 = lw.add_manifest(&dmf).unwrap();
    let m3 = lw.add_manifest(&pre_assigned).unwrap();
    assert_eq!(m1.first_row_id, Some(2000));
    assert_eq!(
        m2.first_row_id, None,
        "delete manifests never get a first row id"
    );
    assert_eq!(m3.first_row_id, Some(0), "existing assignments are kept");
    // Next: 2000 + added (110 + 105) + existing (107 + 104) rows of the one assigned manifest.
    assert_eq!(lw.next_row_id(), Some(2000 + 215 + 211));
    let (list_bytes, next) = lw.finish().unwrap();
    assert_eq!(next, Some(2426));
    let list = ManifestList::parse(&list_bytes).unwrap();
    assert_eq!(list.metadata.first_row_id, Some(2000));
    assert_eq!(list.metadata.format_version, Some(3));
    assert_eq!(list.manifests, vec![m1.clone(), m2.clone(), m3]);
    assert_eq!(read_manifest_list(&list_bytes).unwrap(), list.manifests);

    let (md, entries) = read_manifest(&bytes, &m1, &pt).unwrap();
    assert_eq!(md.format_version, FormatVersion::V3);
    let ids: Vec<Option<i64>> = entries.iter().map(|e| e.data_file.first_row_id).collect();
    assert_eq!(
        ids,
        vec![Some(2000), Some(2110), Some(3), Some(2215), None],
        "added and upgraded files count up from the manifest's first row id; DELETED gets none"
    );
    assert!(entries.iter().all(|e| e.sequence_number.is_some()));

    let (dmd, dentries) = read_manifest(&del_bytes, &m2, &pt).unwrap();
    assert_eq!(dmd.content, ManifestContentType::Deletes);
    let files: Vec<DataFile> = dentries.into_iter().map(|e| e.data_file).collect();
    assert_same(&files, &vec![dv, eq], "delete files");
}

#[test]
fn every_codec_round_trips() {
    let (schema, spec) = all_types_table();
    let pt = partition_type();
    let files: Vec<DataFile> = (0..50)
        .map(|k| data_file(k, tuple(k, k % 3 == 0)))
        .collect();
    let mut outputs = Vec::new();
    for codec in [Codec::Null, Codec::Deflate, Codec::Snappy, Codec::Zstandard] {
        let mut w = ManifestWriter::with_codec(
            FormatVersion::V2,
            ManifestContentType::Data,
            1,
            &schema,
            &spec,
            codec,
        )
        .unwrap();
        for f in &files {
            w.add(f).unwrap();
        }
        let (bytes, mut mf) = w.finish().unwrap();
        assert_eq!(Header::parse(&bytes).unwrap().codec, codec);
        mf.sequence_number = 1;
        let (_, entries) = read_manifest(&bytes, &mf, &pt).unwrap();
        let got: Vec<DataFile> = entries.into_iter().map(|e| e.data_file).collect();
        assert_same(&got, &files, &format!("{codec:?}"));
        outputs.push(bytes.len());
    }
    assert!(outputs[1] < outputs[0], "deflate compresses: {outputs:?}");
}

#[test]
fn large_manifests_stream_in_many_blocks() {
    let (schema, spec) = all_types_table();
    let pt = partition_type();
    let mut w = ManifestWriter::new(
        FormatVersion::V2,
        ManifestContentType::Data,
        1,
        &schema,
        &spec,
    )
    .unwrap();
    let n = 3000;
    for k in 0..n {
        w.add(&data_file(k, tuple(k % 7, false))).unwrap();
    }
    let (bytes, mut mf) = w.finish().unwrap();
    mf.sequence_number = 1;
    let header = Header::parse(&bytes).unwrap();
    let mut blocks = Blocks::new(&bytes, &header);
    let mut count = 0;
    while blocks.next_block().unwrap().is_some() {
        count += 1;
    }
    assert!(count > 5, "{count} blocks");
    let mut seen = 0;
    for (k, e) in ManifestReader::new(&bytes, &mf, &pt).unwrap().enumerate() {
        let e = e.unwrap();
        assert_eq!(e.data_file.record_count, 100 + k as i64);
        seen += 1;
    }
    assert_eq!(seen, n);
    // A summary read keeps each file's content, partition, count and size and the entry's
    // inherited fields; the rest comes out empty.
    let full = ManifestReader::new(&bytes, &mf, &pt).unwrap();
    let summary = ManifestReader::summary_only(&bytes, &mf, &pt).unwrap();
    for (a, b) in full.zip(summary) {
        let (a, b) = (a.unwrap(), b.unwrap());
        assert_eq!(
            (a.status, a.snapshot_id, a.sequence_number),
            (b.status, b.snapshot_id, b.sequence_number)
        );
        let (f, s) = (&a.data_file, &b.data_file);
        assert_eq!(f.content, s.content);
        // Debug text, so that a NaN partition value equals itself.
        assert_eq!(format!("{:?}", f.partition), format!("{:?}", s.partition));
        assert_eq!(f.record_count, s.record_count);
        assert_eq!(f.file_size_in_bytes, s.file_size_in_bytes);
        assert!(!f.file_path.is_empty() && !f.lower_bounds.is_empty());
        assert!(s.file_path.is_empty() && s.lower_bounds.is_empty() && s.column_sizes.is_empty());
    }
}

#[test]
fn unpartitioned_manifests_round_trip() {
    let schema = Schema::builder()
        .with_fields([NestedField::required(1, "id", P::Long)])
        .build()
        .unwrap();
    let spec = PartitionSpec::unpartitioned();
    let mut w = ManifestWriter::new(
        FormatVersion::V2,
        ManifestContentType::Data,
        1,
        &schema,
        &spec,
    )
    .unwrap();
    let f = data_file(1, vec![]);
    w.add(&f).unwrap();
    let (bytes, mut mf) = w.finish().unwrap();
    assert_eq!(mf.partitions, Some(vec![]));
    mf.sequence_number = 4;
    let (md, entries) = read_manifest(&bytes, &mf, &StructType::default()).unwrap();
    assert_eq!(md.partition_type().unwrap(), StructType::default());
    assert_eq!(entries[0].data_file, f);
    assert_eq!(entries[0].sequence_number, Some(4));
}

/// Every record field carries a field-id; arrays carry an element-id or are int-keyed maps
/// whose key/value records are named `k<key>_v<value>`; optional fields are `["null", T]`
/// with a null default.
pub(super) fn check_iceberg_avro_schema(node: &JsonValue, names: &mut Vec<String>) {
    match node {
        JsonValue::Array(branches) => {
            for b in branches {
                check_iceberg_avro_schema(b, names);
            }
        }
        JsonValue::Object(o) => match o.get("type").and_then(JsonValue::as_str) {
            Some("record") => {
                names.push(o["name"].as_str().unwrap().to_string());
                for f in o["fields"].as_array().unwrap() {
                    assert!(f.get("field-id").is_some_and(JsonValue::is_i64), "{f}");
                    if let JsonValue::Array(u) = &f["type"] {
                        assert_eq!(u[0], "null", "{f}");
                        assert_eq!(f["default"], JsonValue::Null, "{f}");
                        assert!(f.as_object().unwrap().contains_key("default"));
                    }
                    check_iceberg_avro_schema(&f["type"], names);
                }
            }
            Some("array") => {
                if o.get("logicalType").and_then(JsonValue::as_str) == Some("map") {
                    let items = &o["items"];
                    let fields = items["fields"].as_array().unwrap();
                    let (k, v) = (&fields[0]["field-id"], &fields[1]["field-id"]);
                    assert_eq!(items["name"], format!("k{k}_v{v}"));
                } else {
                    assert!(o.get("element-id").is_some_and(JsonValue::is_i64), "{node}");
                }
                check_iceberg_avro_schema(&o["items"], names);
            }
            _ => {}
        },
        _ => {}
    }
}

#[test]
fn written_schemas_have_iceberg_names_and_ids() {
    let (schema, spec) = all_types_table();
    for version in [FormatVersion::V2, FormatVersion::V3] {
        let w = ManifestWriter::new(version, ManifestContentType::Data, 1, &schema, &spec).unwrap();
        let (bytes, _) = w.finish().unwrap();
        let header = Header::parse(&bytes).unwrap();
        for key in [
            "schema",
            "schema-id",
            "partition-spec",
            "partition-spec-id",
            "format-version",
            "content",
        ] {
            assert!(header.get(key).is_some(), "{key}");
        }
        assert_eq!(header.get_str("partition-spec-id").unwrap(), Some("5"));
        assert_eq!(header.get_str("schema-id").unwrap(), Some("3"));
        assert!(
            header
                .get_str("partition-spec")
                .unwrap()
                .unwrap()
                .starts_with('[')
        );
        let avro: JsonValue = serde_json::from_slice(header.get("avro.schema").unwrap()).unwrap();
        let mut names = Vec::new();
        check_iceberg_avro_schema(&avro, &mut names);
        assert_eq!(
            names,
            [
                "manifest_entry",
                "r2",
                "r102",
                "k117_v118",
                "k119_v120",
                "k121_v122",
                "k138_v139",
                "k126_v127",
                "k129_v130"
            ]
        );
        let text = String::from_utf8(header.get("avro.schema").unwrap().to_vec()).unwrap();
        assert!(
            text.contains(r#""name":"_1st_x2Dbool""#),
            "sanitized partition name"
        );
        assert_eq!(
            text.matches(r#""name":"decimal_9_2""#).count(),
            1,
            "Java's name once"
        );
        assert!(
            text.contains(r#""name":"decimal_9_2_1007""#),
            "then a copy of its own"
        );
        assert!(text.contains(r#""name":"fixed_3_1017""#));
        assert_eq!(text.contains("first_row_id"), version == FormatVersion::V3);
    }
    let lw = ManifestListWriter::new(FormatVersion::V3, 1, None, 1, Some(0)).unwrap();
    let (bytes, _) = lw.finish().unwrap();
    let header = Header::parse(&bytes).unwrap();
    assert_eq!(header.get_str("parent-snapshot-id").unwrap(), Some("null"));
    assert_eq!(header.get_str("first-row-id").unwrap(), Some("0"));
    let avro: JsonValue = serde_json::from_slice(header.get("avro.schema").unwrap()).unwrap();
    let mut names = Vec::new();
    check_iceberg_avro_schema(&avro, &mut names);
    assert_eq!(names, ["manifest_file", "r508"]);
}

#[test]
fn writers_refuse_what_the_spec_forbids() {
    let (schema, spec) = all_types_table();
    let new = |v, c| ManifestWriter::new(v, c, 9, &schema, &spec);
    assert_eq!(
        new(FormatVersion::V1, ManifestContentType::Data)
            .unwrap_err()
            .kind(),
        ErrorKind::FeatureUnsupported
    );
    let mut w = new(FormatVersion::V2, ManifestContentType::Data).unwrap();
    // EXISTING and DELETED entries need explicit sequence numbers.
    let mut e = entry(
        ManifestStatus::Existing,
        1,
        1,
        data_file(0, tuple(0, false)),
    );
    e.sequence_number = None;
    assert!(w.existing(&e).is_err());
    assert!(w.delete(&e).is_err());
    // Partition values must match the spec.
    let mut f = data_file(0, tuple(0, false));
    f.partition[1] = Some(Datum::Long(1));
    assert!(w.add(&f).is_err());
    f.partition.pop();
    assert!(w.add(&f).is_err());
    // Decimal beyond its precision.
    let mut f = data_file(0, tuple(0, false));
    f.partition[5] = Some(Datum::Decimal {
        unscaled: 10i128.pow(10),
        precision: 38,
        scale: 2,
    });
    assert!(w.add(&f).is_err());
    // Delete files do not go into data manifests, nor v3 fields into v2 manifests.
    let mut f = data_file(0, tuple(0, false));
    f.content = DataContentType::PositionDeletes;
    assert!(w.add(&f).is_err());
    let mut f = data_file(0, tuple(0, false));
    f.first_row_id = Some(1);
    assert!(w.add(&f).is_err());
    // An ADDED entry of another snapshot cannot inherit this commit's sequence number.
    let mut e = entry(ManifestStatus::Added, 1, 1, data_file(0, tuple(0, false)));
    e.sequence_number = None;
    assert!(w.write_entry(&e).is_err());

    assert!(ManifestListWriter::new(FormatVersion::V3, 1, None, 1, None).is_err());
    assert!(ManifestListWriter::new(FormatVersion::V2, 1, None, 1, Some(0)).is_err());
    let mut lw = ManifestListWriter::new(FormatVersion::V2, 1, None, 1, None).unwrap();
    let foreign = ManifestFile {
        sequence_number: UNASSIGNED_SEQUENCE_NUMBER,
        added_snapshot_id: 2,
        ..ManifestFile::default()
    };
    assert!(lw.add_manifest(&foreign).is_err());
}
