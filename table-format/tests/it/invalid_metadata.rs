//! Invalid metadata is refused with an error that names the field, never a panic.

use serde_json::{Value, json};
use table_format::ErrorKind;
use table_format::spec::TableMetadata;

use crate::common::pyiceberg_dir;

/// The latest metadata of the partitioned v2 scenario: snapshots, refs, statistics, evolution.
fn base() -> Value {
    let dir = pyiceberg_dir().join("v2_partitioned");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".metadata.json"))
        .collect();
    files.sort();
    serde_json::from_str(&std::fs::read_to_string(files.last().unwrap()).unwrap()).unwrap()
}

fn refuse(v: &Value, needle: &str) {
    let err = TableMetadata::from_json(&v.to_string()).expect_err("must be refused");
    assert_eq!(err.kind(), ErrorKind::DataInvalid, "{err}");
    assert!(
        err.message().contains(needle),
        "error should name '{needle}': {err}"
    );
}

#[test]
fn the_base_fixture_is_valid() {
    TableMetadata::from_json(&base().to_string()).unwrap();
}

#[test]
fn each_missing_required_v2_field_is_named() {
    for field in [
        "table-uuid",
        "location",
        "last-sequence-number",
        "last-updated-ms",
        "last-column-id",
        "schemas",
        "current-schema-id",
        "partition-specs",
        "default-spec-id",
        "last-partition-id",
        "sort-orders",
        "default-sort-order-id",
    ] {
        let mut v = base();
        v.as_object_mut().unwrap().remove(field);
        refuse(&v, field);
    }
    let mut v = base();
    v.as_object_mut().unwrap().remove("format-version");
    refuse(&v, "format-version");
}

#[test]
fn v3_requires_next_row_id() {
    let mut v = base();
    v["format-version"] = json!(3);
    refuse(&v, "next-row-id");
}

#[test]
fn unsupported_format_version_is_refused() {
    let mut v = base();
    v["format-version"] = json!(4);
    let err = TableMetadata::from_json(&v.to_string()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::FeatureUnsupported);
    assert!(err.message().contains("format-version 4"), "{err}");
}

#[test]
fn a_ref_to_a_missing_snapshot_is_refused() {
    let mut v = base();
    v["refs"]["dangling"] = json!({"snapshot-id": 42, "type": "tag"});
    refuse(&v, "dangling");
}

#[test]
fn a_missing_current_snapshot_is_refused() {
    let mut v = base();
    v["current-snapshot-id"] = json!(42);
    refuse(&v, "current-snapshot-id");
}

#[test]
fn main_must_agree_with_the_current_snapshot() {
    let mut v = base();
    let other = v["snapshots"][0]["snapshot-id"].clone();
    v["refs"]["main"]["snapshot-id"] = other;
    refuse(&v, "main");
}

#[test]
fn a_missing_current_schema_is_refused() {
    let mut v = base();
    v["current-schema-id"] = json!(99);
    refuse(&v, "current-schema-id");
}

#[test]
fn a_missing_default_spec_or_sort_order_is_refused() {
    let mut v = base();
    v["default-spec-id"] = json!(99);
    refuse(&v, "default-spec-id");
    let mut v = base();
    v["default-sort-order-id"] = json!(99);
    refuse(&v, "default-sort-order-id");
}

#[test]
fn wrong_types_name_the_path() {
    let mut v = base();
    v["last-column-id"] = json!("twelve");
    refuse(&v, "last-column-id");
    let mut v = base();
    v["snapshots"][1]["timestamp-ms"] = json!("yesterday");
    refuse(&v, "snapshots[1].timestamp-ms");
    let mut v = base();
    v["schemas"][0]["fields"][0]["type"] = json!("integer");
    refuse(&v, "integer");
    let mut v = base();
    v["partition-specs"][0]["fields"][0]["transform"] = json!("bucket[x]");
    refuse(&v, "bucket[x]");
}

#[test]
fn ids_below_their_high_water_marks_are_refused() {
    let mut v = base();
    v["last-column-id"] = json!(1);
    refuse(&v, "last-column-id");
    let mut v = base();
    v["last-partition-id"] = json!(1000);
    refuse(&v, "last-partition-id");
    let mut v = base();
    v["last-sequence-number"] = json!(1);
    refuse(&v, "last-sequence-number");
}

#[test]
fn duplicate_ids_are_refused() {
    let mut v = base();
    let s = v["snapshots"][0].clone();
    v["snapshots"].as_array_mut().unwrap().push(s);
    refuse(&v, "twice");
    let mut v = base();
    let s = v["schemas"][0].clone();
    v["schemas"].as_array_mut().unwrap().push(s);
    refuse(&v, "twice");
}

#[test]
fn logs_out_of_order_are_refused() {
    let mut v = base();
    let log = v["snapshot-log"].as_array_mut().unwrap();
    log.reverse();
    log[0]["timestamp-ms"] = json!(log[0]["timestamp-ms"].as_i64().unwrap() + 3_600_000);
    refuse(&v, "snapshot-log");
}

#[test]
fn an_unknown_snapshot_operation_is_refused() {
    let mut v = base();
    v["snapshots"][0]["summary"]["operation"] = json!("upsert");
    refuse(&v, "operation");
}

#[test]
fn garbage_is_refused_not_panicked_on() {
    for text in [
        "",
        "null",
        "[]",
        "{",
        "{\"format-version\": 2}",
        "\u{0}",
        "{\"format-version\": -1}",
    ] {
        assert!(TableMetadata::from_json(text).is_err(), "{text:?}");
    }
}

#[test]
fn minus_one_and_null_both_mean_no_current_snapshot() {
    let mut v = base();
    v["refs"] = json!({});
    v["snapshot-log"] = json!([]);
    for none in [json!(-1), Value::Null] {
        v["current-snapshot-id"] = none;
        let md = TableMetadata::from_json(&v.to_string()).unwrap();
        assert_eq!(md.current_snapshot_id(), None);
        assert!(md.current_snapshot().is_none());
    }
    v.as_object_mut().unwrap().remove("current-snapshot-id");
    let md = TableMetadata::from_json(&v.to_string()).unwrap();
    assert_eq!(md.current_snapshot_id(), None);
}
