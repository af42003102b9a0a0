//! fastavro and pyiceberg read what our writers write.
//!
//! Writes v2 and v3 manifests (data and deletes) and manifest lists to a temporary directory,
//! with an `expected.json` describing them, then runs `testdata/avro/check_written.py` in the
//! interop venv. The script checks, with fastavro, record names, field ids, element ids,
//! optional-field unions, metadata keys and values and the values as written, and with
//! pyiceberg's `read_manifest_list` and `ManifestFile.fetch_manifest_entry` every manifest and
//! entry after pyiceberg's inheritance.
//!
//! Python comes from `$FLOE_VENV` (set by `scripts/test.sh`), else from
//! `scripts/interop-venv.sh`. Without either the test is skipped with a note, except when `CI`
//! is set: then it fails.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value as JsonValue, json};

use super::round_trip::{all_types_table, data_file, entry, tuple as all_types_tuple};
use crate::avro::{ManifestListWriter, ManifestWriter, read_manifest};
use crate::spec::manifest::{
    DataContentType, DataFile, DataFileFormat, ManifestContentType, ManifestEntry, ManifestFile,
    ManifestStatus,
};
use crate::spec::partition::PartitionSpec;
use crate::spec::schema::Schema;
use crate::spec::table_metadata::FormatVersion;
use crate::spec::values::Datum;

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// A partition value as pyiceberg returns it, in JSON (the script compares decimals as
/// `Decimal`, uuids as strings, bytes as hex).
fn py_value(d: &Option<Datum>) -> JsonValue {
    let Some(d) = d else { return JsonValue::Null };
    match d {
        Datum::Boolean(b) => json!(b),
        Datum::Int(v) | Datum::Date(v) => json!(v),
        Datum::Long(v)
        | Datum::Time(v)
        | Datum::Timestamp(v)
        | Datum::Timestamptz(v)
        | Datum::TimestampNs(v)
        | Datum::TimestamptzNs(v) => json!(v),
        Datum::Float(v) if v.is_nan() => json!("NaN"),
        Datum::Double(v) if v.is_nan() => json!("NaN"),
        Datum::Float(v) => json!(v),
        Datum::Double(v) => json!(v),
        Datum::String(s) => json!(s),
        Datum::Uuid(u) => json!({"uuid": u.to_string()}),
        Datum::Decimal { .. } => json!({"decimal": d.human_string()}),
        Datum::Fixed(b) | Datum::Binary(b) => json!({"hex": hex(b)}),
    }
}

fn pairs<T>(list: &[(i32, T)], f: impl Fn(&T) -> JsonValue) -> JsonValue {
    JsonValue::Object(list.iter().map(|(k, v)| (k.to_string(), f(v))).collect())
}

fn entry_json(e: &ManifestEntry, raw: &ManifestEntry) -> JsonValue {
    let f = &e.data_file;
    json!({
        "status": e.status as i32,
        "snapshot_id": e.snapshot_id,
        "sequence_number": e.sequence_number,
        "file_sequence_number": e.file_sequence_number,
        "raw_snapshot_id": raw.snapshot_id,
        "raw_sequence_number": raw.sequence_number,
        "raw_file_sequence_number": raw.file_sequence_number,
        "raw_first_row_id": raw.data_file.first_row_id,
        "content": f.content as i32,
        "file_path": f.file_path,
        "file_format": f.file_format.as_str(),
        "partition": f.partition.iter().map(py_value).collect::<Vec<_>>(),
        "record_count": f.record_count,
        "file_size_in_bytes": f.file_size_in_bytes,
        "column_sizes": pairs(&f.column_sizes, |v| json!(v)),
        "value_counts": pairs(&f.value_counts, |v| json!(v)),
        "null_value_counts": pairs(&f.null_value_counts, |v| json!(v)),
        "nan_value_counts": pairs(&f.nan_value_counts, |v| json!(v)),
        "lower_bounds": pairs(&f.lower_bounds, |v| json!(hex(v))),
        "upper_bounds": pairs(&f.upper_bounds, |v| json!(hex(v))),
        "key_metadata": f.key_metadata.as_deref().map(hex),
        "split_offsets": f.split_offsets,
        "equality_ids": f.equality_ids,
        "sort_order_id": f.sort_order_id,
        "referenced_data_file": f.referenced_data_file,
        "content_offset": f.content_offset,
        "content_size_in_bytes": f.content_size_in_bytes,
    })
}

fn manifest_file_json(m: &ManifestFile) -> JsonValue {
    json!({
        "manifest_path": m.manifest_path,
        "manifest_length": m.manifest_length,
        "partition_spec_id": m.partition_spec_id,
        "content": m.content as i32,
        "sequence_number": m.sequence_number,
        "min_sequence_number": m.min_sequence_number,
        "added_snapshot_id": m.added_snapshot_id,
        "added_files_count": m.added_files_count,
        "existing_files_count": m.existing_files_count,
        "deleted_files_count": m.deleted_files_count,
        "added_rows_count": m.added_rows_count,
        "existing_rows_count": m.existing_rows_count,
        "deleted_rows_count": m.deleted_rows_count,
        "partitions": m.partitions.as_ref().map(|ps| ps.iter().map(|s| json!({
            "contains_null": s.contains_null,
            "contains_nan": s.contains_nan,
            "lower_bound": s.lower_bound.as_deref().map(hex),
            "upper_bound": s.upper_bound.as_deref().map(hex),
        })).collect::<Vec<_>>()),
        "key_metadata": m.key_metadata.as_deref().map(hex),
        "first_row_id": m.first_row_id,
    })
}

/// The all-types table without its nanosecond timestamp partition fields (positions 12 and
/// 13), which pyiceberg 0.12 cannot read (`timestamp-nanos` is v3-only and unknown to it).
fn pyiceberg_table() -> (Schema, PartitionSpec) {
    let (schema, spec) = all_types_table();
    let fields = spec
        .fields()
        .iter()
        .enumerate()
        .filter(|(i, _)| !NS_FIELDS.contains(i))
        .map(|(_, f)| f.clone())
        .collect();
    (schema, PartitionSpec::new(spec.spec_id(), fields))
}

const NS_FIELDS: [usize; 2] = [12, 13];

fn tuple(k: i64, nulls: bool) -> Vec<Option<Datum>> {
    all_types_tuple(k, nulls)
        .into_iter()
        .enumerate()
        .filter(|(i, _)| !NS_FIELDS.contains(i))
        .map(|(_, v)| v)
        .collect()
}

/// Write one snapshot's manifests (a data manifest with all three statuses, a delete
/// manifest) and its manifest list into `dir`; return the expectations.
fn write_snapshot(dir: &Path, version: FormatVersion) -> (JsonValue, Vec<JsonValue>) {
    let (schema, spec) = pyiceberg_table();
    let pt = spec.partition_type(&schema).unwrap();
    let v = version.as_u8();
    let snapshot_id = 1_000 + i64::from(v);
    let seq = 5;

    let mut w = ManifestWriter::new(
        version,
        ManifestContentType::Data,
        snapshot_id,
        &schema,
        &spec,
    )
    .unwrap();
    w.add(&data_file(1, tuple(1, false))).unwrap();
    w.add(&data_file(2, tuple(4, true))).unwrap();
    let mut existing = entry(
        ManifestStatus::Existing,
        77,
        3,
        data_file(3, tuple(3, false)),
    );
    if version >= FormatVersion::V3 {
        existing.data_file.first_row_id = Some(12);
    }
    w.existing(&existing).unwrap();
    w.delete(&entry(
        ManifestStatus::Deleted,
        76,
        2,
        data_file(4, tuple(5, true)),
    ))
    .unwrap();
    let (data_bytes, mut data_mf) = w.finish().unwrap();
    let data_path = dir.join(format!("v{v}-data-m0.avro"));
    data_mf.manifest_path = data_path.display().to_string();
    std::fs::write(&data_path, &data_bytes).unwrap();

    let mut dw = ManifestWriter::new(
        version,
        ManifestContentType::Deletes,
        snapshot_id,
        &schema,
        &spec,
    )
    .unwrap();
    let mut pos = DataFile {
        content: DataContentType::PositionDeletes,
        referenced_data_file: Some(data_file(1, vec![]).file_path),
        file_path: format!("s3://bucket/t/data/deletes-v{v}.parquet"),
        ..data_file(5, tuple(1, false))
    };
    if version >= FormatVersion::V3 {
        pos.file_format = DataFileFormat::Puffin;
        pos.content_offset = Some(4);
        pos.content_size_in_bytes = Some(42);
    }
    let eq = DataFile {
        content: DataContentType::EqualityDeletes,
        equality_ids: Some(vec![1, 2]),
        file_path: format!("s3://bucket/t/data/eq-v{v}.parquet"),
        ..data_file(6, tuple(6, true))
    };
    dw.add(&pos).unwrap();
    dw.add(&eq).unwrap();
    let (del_bytes, mut del_mf) = dw.finish().unwrap();
    let del_path = dir.join(format!("v{v}-deletes-m0.avro"));
    del_mf.manifest_path = del_path.display().to_string();
    std::fs::write(&del_path, &del_bytes).unwrap();

    let first_row_id = (version >= FormatVersion::V3).then_some(100);
    let mut lw = ManifestListWriter::new(
        version,
        snapshot_id,
        Some(snapshot_id - 1),
        seq,
        first_row_id,
    )
    .unwrap();
    let listed = [
        lw.add_manifest(&data_mf).unwrap(),
        lw.add_manifest(&del_mf).unwrap(),
    ];
    let (list_bytes, next_row_id) = lw.finish().unwrap();
    let list_path = dir.join(format!("snap-v{v}.avro"));
    std::fs::write(&list_path, &list_bytes).unwrap();

    let mut list_meta = json!({
        "snapshot-id": snapshot_id.to_string(),
        "parent-snapshot-id": (snapshot_id - 1).to_string(),
        "sequence-number": seq.to_string(),
        "format-version": v.to_string(),
    });
    if let Some(f) = first_row_id {
        list_meta["first-row-id"] = json!(f.to_string());
        assert_eq!(next_row_id, Some(f + 203 + 103), "added + existing rows");
    }
    let list = json!({
        "file": list_path.display().to_string(),
        "format_version": v,
        "metadata": list_meta,
        "manifests": listed.iter().map(manifest_file_json).collect::<Vec<_>>(),
    });

    let mut manifests = Vec::new();
    for (m, bytes, content) in [
        (&listed[0], &data_bytes, "data"),
        (&listed[1], &del_bytes, "deletes"),
    ] {
        let (_, entries) = read_manifest(bytes, m, &pt).unwrap();
        let raw: Vec<ManifestEntry> = crate::avro::ManifestReader::without_inheritance(bytes, &pt)
            .unwrap()
            .collect::<crate::Result<_>>()
            .unwrap();
        manifests.push(json!({
            "file": m.manifest_path,
            "format_version": v,
            "metadata": {
                "schema": serde_json::to_string(&schema).unwrap(),
                "schema-id": schema.schema_id().to_string(),
                "partition-spec": serde_json::to_string(spec.fields()).unwrap(),
                "partition-spec-id": spec.spec_id().to_string(),
                "format-version": v.to_string(),
                "content": content,
            },
            "entries": entries.iter().zip(&raw).map(|(e, r)| entry_json(e, r)).collect::<Vec<_>>(),
        }));
    }
    (list, manifests)
}

fn python() -> Option<PathBuf> {
    if let Some(venv) = std::env::var_os("FLOE_VENV") {
        let py = PathBuf::from(venv).join("bin/python");
        if py.exists() {
            return Some(py);
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = Command::new("bash")
        .arg(root.join("scripts/interop-venv.sh"))
        .output()
        .ok()?;
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

#[test]
fn fastavro_and_pyiceberg_read_our_manifests_and_lists() {
    let Some(py) = python() else {
        if std::env::var_os("CI").is_some_and(|v| !v.is_empty()) {
            panic!(
                "CI is set but no Python interop venv was found (set FLOE_VENV or run scripts/interop-venv.sh)"
            );
        }
        eprintln!("note: skipping the pyiceberg interop test: no interop venv (set FLOE_VENV)");
        return;
    };
    let dir = std::env::temp_dir().join(format!("floe-avro-interop-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut lists = Vec::new();
    let mut manifests = Vec::new();
    for version in [FormatVersion::V2, FormatVersion::V3] {
        let (l, ms) = write_snapshot(&dir, version);
        lists.push(l);
        manifests.extend(ms);
    }
    let expected = json!({"lists": lists, "manifests": manifests});
    std::fs::write(dir.join("expected.json"), expected.to_string()).unwrap();

    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/avro/check_written.py");
    let out = Command::new(&py).arg(&script).arg(&dir).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "check_written.py failed\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(stdout.contains("all checks passed"), "{stdout}");
    eprint!("{stdout}");
    let _ = std::fs::remove_dir_all(&dir);
}
