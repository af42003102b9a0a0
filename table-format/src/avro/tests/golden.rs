//! Golden files written by real clients (see `testdata/avro/generate.py`) decode to exactly
//! what fastavro reads from them.
//!
//! Each `.avro` file has a `.avro.json` dump made by fastavro without logical-type conversion.
//! The expected structs are built from those dumps here, independently of the decoder:
//! - manifest lists: v1 lists lack `content` (data) and the sequence numbers (0); their null
//!   file counts read as 1 (the spec's "assume non-zero") and null row counts as 0;
//! - manifests read without inheritance equal the dump; read with inheritance they equal the
//!   dump with the spec's rules applied: null snapshot ids take the manifest's
//!   `added_snapshot_id`; null sequence numbers take the manifest's sequence number for ADDED
//!   entries, and for all entries when that number is 0 (v1); in a data manifest with a
//!   `first_row_id`, live data files with a null `first_row_id` take it plus the record counts
//!   of the earlier such files.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value as JsonValue;

use super::{read, read_json, testdata, unhex};
use crate::avro::decode::NULL_FILES_COUNT;
use crate::avro::{ManifestList, ManifestMetadata, ManifestReader, read_manifest};
use crate::spec::manifest::{
    DataContentType, DataFile, DataFileFormat, FieldSummary, ManifestContentType, ManifestEntry,
    ManifestFile, ManifestStatus,
};
use crate::spec::table_metadata::{FormatVersion, TableMetadata};
use crate::spec::types::{PrimitiveType, StructType};
use crate::spec::values::Datum;

fn i64_of(v: &JsonValue) -> Option<i64> {
    v.as_i64()
}

fn i32_of(v: &JsonValue) -> Option<i32> {
    v.as_i64().map(|v| i32::try_from(v).expect("int"))
}

fn bytes_of(v: &JsonValue) -> Option<Vec<u8>> {
    v.as_str().map(unhex)
}

fn expected_datum(v: &JsonValue, ty: &PrimitiveType) -> Option<Datum> {
    if v.is_null() {
        return None;
    }
    let int = || v.as_i64().expect("integer partition value");
    Some(match ty {
        PrimitiveType::Boolean => Datum::Boolean(v.as_bool().expect("bool")),
        PrimitiveType::Int => Datum::Int(int() as i32),
        PrimitiveType::Date => Datum::Date(int() as i32),
        PrimitiveType::Long => Datum::Long(int()),
        PrimitiveType::Time => Datum::Time(int()),
        PrimitiveType::Timestamp => Datum::Timestamp(int()),
        PrimitiveType::Timestamptz => Datum::Timestamptz(int()),
        PrimitiveType::TimestampNs => Datum::TimestampNs(int()),
        PrimitiveType::TimestamptzNs => Datum::TimestamptzNs(int()),
        PrimitiveType::Float => Datum::Float(v.as_f64().expect("float") as f32),
        PrimitiveType::Double => Datum::Double(v.as_f64().expect("double")),
        PrimitiveType::String => Datum::String(v.as_str().expect("string").to_string()),
        PrimitiveType::Binary => Datum::Binary(bytes_of(v).expect("hex")),
        PrimitiveType::Fixed(_) => Datum::Fixed(bytes_of(v).expect("hex")),
        PrimitiveType::Uuid => {
            Datum::Uuid(uuid::Uuid::from_slice(&bytes_of(v).expect("hex")).expect("16 bytes"))
        }
        PrimitiveType::Decimal { precision, scale } => {
            let b = bytes_of(v).expect("hex");
            let fill = if b[0] & 0x80 != 0 { 0xff } else { 0 };
            let mut buf = [fill; 16];
            buf[16 - b.len()..].copy_from_slice(&b);
            Datum::decimal(i128::from_be_bytes(buf), *precision, *scale).expect("decimal")
        }
    })
}

fn pairs<T>(v: &JsonValue, value: impl Fn(&JsonValue) -> T) -> Vec<(i32, T)> {
    match v {
        JsonValue::Null => Vec::new(),
        JsonValue::Array(items) => items
            .iter()
            .map(|kv| (i32_of(&kv["key"]).expect("key"), value(&kv["value"])))
            .collect(),
        // A string-keyed Avro map (another writer's form). The dump sorts keys as text; the
        // file has them in field-id order, as the writer listed them.
        JsonValue::Object(map) => {
            let mut pairs: Vec<(i32, T)> = map
                .iter()
                .map(|(k, v)| (k.parse().expect("int key"), value(v)))
                .collect();
            pairs.sort_by_key(|(k, _)| *k);
            pairs
        }
        other => panic!("unexpected map {other}"),
    }
}

fn expected_data_file(j: &JsonValue, partition_type: &StructType) -> DataFile {
    let list = |v: &JsonValue| -> Option<Vec<i64>> {
        v.as_array()
            .map(|a| a.iter().map(|x| x.as_i64().expect("long")).collect())
    };
    DataFile {
        content: DataContentType::from_code(i32_of(&j["content"]).unwrap_or(0)).expect("content"),
        file_path: j["file_path"].as_str().expect("path").to_string(),
        file_format: DataFileFormat::parse(j["file_format"].as_str().expect("format"))
            .expect("format"),
        partition: partition_type
            .fields()
            .iter()
            .map(|f| {
                expected_datum(
                    &j["partition"][&f.name],
                    f.field_type.as_primitive().expect("primitive"),
                )
            })
            .collect(),
        record_count: j["record_count"].as_i64().expect("record_count"),
        file_size_in_bytes: j["file_size_in_bytes"].as_i64().expect("size"),
        column_sizes: pairs(&j["column_sizes"], |v| v.as_i64().expect("long")),
        value_counts: pairs(&j["value_counts"], |v| v.as_i64().expect("long")),
        null_value_counts: pairs(&j["null_value_counts"], |v| v.as_i64().expect("long")),
        nan_value_counts: pairs(&j["nan_value_counts"], |v| v.as_i64().expect("long")),
        lower_bounds: pairs(&j["lower_bounds"], |v| bytes_of(v).expect("hex")),
        upper_bounds: pairs(&j["upper_bounds"], |v| bytes_of(v).expect("hex")),
        key_metadata: bytes_of(&j["key_metadata"]),
        split_offsets: list(&j["split_offsets"]),
        equality_ids: list(&j["equality_ids"])
            .map(|ids| ids.into_iter().map(|i| i as i32).collect()),
        sort_order_id: i32_of(&j["sort_order_id"]),
        first_row_id: i64_of(&j["first_row_id"]),
        referenced_data_file: j["referenced_data_file"].as_str().map(str::to_string),
        content_offset: i64_of(&j["content_offset"]),
        content_size_in_bytes: i64_of(&j["content_size_in_bytes"]),
    }
}

fn raw_entry(j: &JsonValue, partition_type: &StructType) -> ManifestEntry {
    ManifestEntry {
        status: ManifestStatus::from_code(i32_of(&j["status"]).expect("status")).expect("status"),
        snapshot_id: i64_of(&j["snapshot_id"]),
        sequence_number: i64_of(&j["sequence_number"]),
        file_sequence_number: i64_of(&j["file_sequence_number"]),
        data_file: expected_data_file(&j["data_file"], partition_type),
    }
}

/// The spec's inheritance rules, applied to entries as written.
fn inherit(raw: &[ManifestEntry], m: &ManifestFile) -> Vec<ManifestEntry> {
    let mut next_row_id = match m.content {
        ManifestContentType::Data => m.first_row_id,
        ManifestContentType::Deletes => None,
    };
    raw.iter()
        .cloned()
        .map(|mut e| {
            e.snapshot_id = e.snapshot_id.or(Some(m.added_snapshot_id));
            if e.status == ManifestStatus::Added || m.sequence_number == 0 {
                e.sequence_number = e.sequence_number.or(Some(m.sequence_number));
                e.file_sequence_number = e.file_sequence_number.or(Some(m.sequence_number));
            }
            if let Some(next) = next_row_id.as_mut()
                && e.status != ManifestStatus::Deleted
                && e.data_file.content == DataContentType::Data
                && e.data_file.first_row_id.is_none()
            {
                e.data_file.first_row_id = Some(*next);
                *next += e.data_file.record_count;
            }
            e
        })
        .collect()
}

fn expected_manifest_file(j: &JsonValue) -> ManifestFile {
    let files = |v: &JsonValue| i32_of(v).unwrap_or(NULL_FILES_COUNT);
    ManifestFile {
        manifest_path: j["manifest_path"].as_str().expect("path").to_string(),
        manifest_length: j["manifest_length"].as_i64().expect("length"),
        partition_spec_id: i32_of(&j["partition_spec_id"]).expect("spec id"),
        content: match i32_of(&j["content"]).unwrap_or(0) {
            0 => ManifestContentType::Data,
            _ => ManifestContentType::Deletes,
        },
        sequence_number: j["sequence_number"].as_i64().unwrap_or(0),
        min_sequence_number: j["min_sequence_number"].as_i64().unwrap_or(0),
        added_snapshot_id: j["added_snapshot_id"].as_i64().expect("snapshot"),
        added_files_count: files(&j["added_files_count"]),
        existing_files_count: files(&j["existing_files_count"]),
        deleted_files_count: files(&j["deleted_files_count"]),
        added_rows_count: j["added_rows_count"].as_i64().unwrap_or(0),
        existing_rows_count: j["existing_rows_count"].as_i64().unwrap_or(0),
        deleted_rows_count: j["deleted_rows_count"].as_i64().unwrap_or(0),
        partitions: j["partitions"].as_array().map(|a| {
            a.iter()
                .map(|s| FieldSummary {
                    contains_null: s["contains_null"].as_bool().expect("contains_null"),
                    contains_nan: s["contains_nan"].as_bool(),
                    lower_bound: bytes_of(&s["lower_bound"]),
                    upper_bound: bytes_of(&s["upper_bound"]),
                })
                .collect()
        }),
        key_metadata: bytes_of(&j["key_metadata"]),
        first_row_id: i64_of(&j["first_row_id"]),
    }
}

fn meta_str<'a>(dump: &'a JsonValue, key: &str) -> Option<&'a str> {
    dump["metadata"][key].as_str()
}

fn check_manifest_metadata(md: &ManifestMetadata, dump: &JsonValue, partition_type: &StructType) {
    let fv = meta_str(dump, "format-version").map_or(1, |v| v.parse::<i64>().unwrap());
    assert_eq!(md.format_version, FormatVersion::try_from(fv).unwrap());
    assert_eq!(md.schema_json.as_deref(), meta_str(dump, "schema"));
    assert_eq!(
        md.partition_spec_fields_json.as_deref(),
        meta_str(dump, "partition-spec")
    );
    assert_eq!(
        md.partition_spec_id,
        meta_str(dump, "partition-spec-id").map(|v| v.parse().unwrap())
    );
    let schema: JsonValue = serde_json::from_str(meta_str(dump, "schema").unwrap()).unwrap();
    let schema_id = meta_str(dump, "schema-id")
        .map(|v| v.parse::<i64>().unwrap())
        .or(schema["schema-id"].as_i64());
    assert_eq!(md.schema_id.map(i64::from), schema_id);
    let content = match meta_str(dump, "content") {
        None | Some("data") => ManifestContentType::Data,
        _ => ManifestContentType::Deletes,
    };
    assert_eq!(md.content, content);
    assert_eq!(&md.partition_type().unwrap(), partition_type);
}

/// What the golden walk saw, to check the files cover what they should.
#[derive(Default)]
struct Seen {
    files: BTreeSet<String>,
    statuses: BTreeSet<i32>,
    entries: usize,
    null_partition_values: usize,
}

fn check_manifest(
    dir: &Path,
    m: &ManifestFile,
    partition_type: &StructType,
    seen: &mut Seen,
) -> Vec<ManifestEntry> {
    let name = m.manifest_path.rsplit('/').next().unwrap();
    let bytes = read(&dir.join(name));
    assert_eq!(bytes.len() as i64, m.manifest_length, "{name}");
    let dump = read_json(&dir.join(format!("{name}.json")));
    let raw: Vec<ManifestEntry> = dump["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| raw_entry(r, partition_type))
        .collect();

    let plain: Vec<ManifestEntry> = ManifestReader::without_inheritance(&bytes, partition_type)
        .unwrap()
        .collect::<crate::Result<_>>()
        .unwrap();
    assert_eq!(plain, raw, "{name} as written");

    let (md, entries) = read_manifest(&bytes, m, partition_type).unwrap();
    check_manifest_metadata(&md, &dump, partition_type);
    assert_eq!(entries, inherit(&raw, m), "{name} with inheritance");
    for e in &entries {
        assert!(
            e.snapshot_id.is_some(),
            "{name}: snapshot id after inheritance"
        );
        if e.status == ManifestStatus::Added || md.format_version == FormatVersion::V1 {
            assert!(e.sequence_number.is_some() && e.file_sequence_number.is_some());
        }
        seen.statuses.insert(e.status as i32);
        seen.null_partition_values += e.data_file.partition.iter().filter(|v| v.is_none()).count();
    }
    seen.entries += entries.len();
    seen.files.insert(format!("{}/{name}", dir.display()));
    entries
}

fn check_list(dir: &Path, name: &str, seen: &mut Seen) -> ManifestList {
    let bytes = read(&dir.join(name));
    let dump = read_json(&dir.join(format!("{name}.json")));
    let list = ManifestList::parse(&bytes).unwrap();
    let expected: Vec<ManifestFile> = dump["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(expected_manifest_file)
        .collect();
    assert_eq!(list.manifests, expected, "{name}");
    let num = |k: &str| {
        meta_str(&dump, k)
            .filter(|v| *v != "null")
            .map(|v| v.parse::<i64>().unwrap())
    };
    assert_eq!(list.metadata.snapshot_id, num("snapshot-id"));
    assert_eq!(list.metadata.parent_snapshot_id, num("parent-snapshot-id"));
    assert_eq!(list.metadata.sequence_number, num("sequence-number"));
    assert_eq!(list.metadata.first_row_id, num("first-row-id"));
    assert_eq!(
        list.metadata.format_version.map(i64::from),
        num("format-version")
    );
    seen.files.insert(format!("{}/{name}", dir.display()));
    list
}

fn avro_files(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "avro"))
        .map(|p| p.display().to_string())
        .collect()
}

fn walk_scenario(scenario: &str, seen: &mut Seen) {
    let dir = testdata().join(scenario);
    let index = read_json(&dir.join("index.json"));
    let table = TableMetadata::from_slice(&read(&dir.join("metadata.json"))).unwrap();
    let snapshots = index["snapshots"].as_array().unwrap();
    assert!(!snapshots.is_empty());
    for snap in snapshots {
        let list = check_list(&dir, snap["manifest_list"].as_str().unwrap(), seen);
        if table.format_version() >= FormatVersion::V2 {
            assert_eq!(
                list.metadata.sequence_number,
                snap["sequence_number"].as_i64()
            );
        }
        assert_eq!(
            list.manifests.len(),
            snap["manifests"].as_array().unwrap().len()
        );
        for m in &list.manifests {
            let spec = table.partition_spec_by_id(m.partition_spec_id).unwrap();
            let partition_type = spec.partition_type(table.current_schema()).unwrap();
            check_manifest(&dir, m, &partition_type, seen);
        }
    }
}

#[test]
fn pyiceberg_v1_v2_manifests_and_lists_decode_like_fastavro() {
    let mut all = Seen::default();
    for scenario in ["v1_partitioned", "v2_partitioned", "v2_unpartitioned"] {
        let mut seen = Seen::default();
        walk_scenario(scenario, &mut seen);
        // Every golden file of the scenario was decoded.
        assert_eq!(
            seen.files,
            avro_files(&testdata().join(scenario)),
            "{scenario}"
        );
        all.files.extend(seen.files);
        all.statuses.extend(seen.statuses);
        all.entries += seen.entries;
        all.null_partition_values += seen.null_partition_values;
    }
    // The scenarios cover EXISTING, ADDED and DELETED entries and null partition values.
    assert_eq!(all.statuses, BTreeSet::from([0, 1, 2]));
    assert!(all.null_partition_values > 0);
    assert!(all.entries >= 40, "{} entries", all.entries);
}

#[test]
fn v1_entries_inherit_sequence_number_zero() {
    let dir = testdata().join("v1_partitioned");
    let index = read_json(&dir.join("index.json"));
    let table = TableMetadata::from_slice(&read(&dir.join("metadata.json"))).unwrap();
    let last = index["snapshots"].as_array().unwrap().last().unwrap();
    let list =
        ManifestList::parse(&read(&dir.join(last["manifest_list"].as_str().unwrap()))).unwrap();
    assert_eq!(list.metadata.format_version, Some(1));
    let partition_type = table
        .default_partition_spec()
        .partition_type(table.current_schema())
        .unwrap();
    let mut seen = Seen::default();
    for m in &list.manifests {
        assert_eq!((m.sequence_number, m.min_sequence_number), (0, 0));
        assert_eq!(m.content, ManifestContentType::Data);
        for e in check_manifest(&dir, m, &partition_type, &mut seen) {
            assert_eq!(
                (e.sequence_number, e.file_sequence_number),
                (Some(0), Some(0))
            );
        }
    }
}

#[test]
fn other_field_orders_and_unknown_fields_decode_the_same() {
    let dir = testdata().join("other_writers");
    let index = read_json(&dir.join("index.json"));
    let table = TableMetadata::from_slice(&read(&dir.join("metadata.json"))).unwrap();
    let partition_type = table
        .default_partition_spec()
        .partition_type(table.current_schema())
        .unwrap();

    let source = read(&testdata().join(index["source"].as_str().unwrap()));
    let reordered_name = index["reordered"].as_str().unwrap();
    let reordered = read(&dir.join(reordered_name));
    let dump = read_json(&dir.join(format!("{reordered_name}.json")));
    assert_eq!(dump["codec"], "zstandard");

    let from_source: Vec<ManifestEntry> =
        ManifestReader::without_inheritance(&source, &partition_type)
            .unwrap()
            .collect::<crate::Result<_>>()
            .unwrap();
    let from_reordered: Vec<ManifestEntry> =
        ManifestReader::without_inheritance(&reordered, &partition_type)
            .unwrap()
            .collect::<crate::Result<_>>()
            .unwrap();
    assert!(!from_source.is_empty());
    assert_eq!(from_reordered, from_source);
    let raw: Vec<ManifestEntry> = dump["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| raw_entry(r, &partition_type))
        .collect();
    assert_eq!(from_reordered, raw);
}

#[test]
fn v3_manifests_inherit_first_row_ids_in_java_layout() {
    let dir = testdata().join("other_writers");
    let index = read_json(&dir.join("index.json"));
    let table = TableMetadata::from_slice(&read(&dir.join("metadata.json"))).unwrap();
    let partition_type = table
        .default_partition_spec()
        .partition_type(table.current_schema())
        .unwrap();
    let mut seen = Seen::default();
    let list = check_list(&dir, index["v3_manifest_list"].as_str().unwrap(), &mut seen);
    assert_eq!(list.metadata.format_version, Some(3));
    assert_eq!(list.metadata.first_row_id, Some(5000));
    assert_eq!(list.manifests.len(), 1);
    let m = &list.manifests[0];
    assert_eq!(m.first_row_id, Some(5000));
    let entries = check_manifest(&dir, m, &partition_type, &mut seen);

    // Spelled out: files written with a first_row_id keep it; other live data files count up
    // from 5000 by record counts; DELETED entries get none.
    let dump = read_json(&dir.join(format!("{}.json", index["v3_manifest"].as_str().unwrap())));
    let mut next = 5000;
    let mut assigned = 0;
    for (e, r) in entries.iter().zip(dump["records"].as_array().unwrap()) {
        let written = r["data_file"]["first_row_id"].as_i64();
        match (written, e.status) {
            (Some(id), _) => assert_eq!(e.data_file.first_row_id, Some(id)),
            (None, ManifestStatus::Deleted) => assert_eq!(e.data_file.first_row_id, None),
            (None, _) => {
                assert_eq!(e.data_file.first_row_id, Some(next));
                next += e.data_file.record_count;
                assigned += 1;
            }
        }
    }
    assert!(assigned > 0);
}
