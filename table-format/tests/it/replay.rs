//! pyiceberg's own commits (captured by testdata/pyiceberg/generate.py), replayed through
//! Floe's metadata builder, give the metadata pyiceberg itself wrote.

use serde_json::Value;
use table_format::spec::{TableMetadata, TableRequirement, TableUpdate};

use crate::common::{first_difference, normalize, pyiceberg_dir, strip_v1_mirrors};

/// Every capture file, sorted by scenario and step.
fn captures() -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for scenario in std::fs::read_dir(pyiceberg_dir().join("commits")).unwrap() {
        let dir = scenario.unwrap().path();
        for f in std::fs::read_dir(&dir).unwrap() {
            out.push(f.unwrap().path());
        }
    }
    out.sort();
    out
}

#[test]
fn replaying_pyiceberg_commits_gives_pyiceberg_metadata() {
    let mut replayed = 0;
    let mut creates = 0;
    for path in captures() {
        let capture: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        if capture["result"].is_null() {
            continue; // pyiceberg itself refused this step (recorded with an error)
        }
        let name = path.display().to_string();
        let requirements: Vec<TableRequirement> =
            serde_json::from_value(capture["request"]["requirements"].clone())
                .unwrap_or_else(|e| panic!("{name}: requirements: {e}"));
        let updates: Vec<TableUpdate> =
            serde_json::from_value(capture["request"]["updates"].clone())
                .unwrap_or_else(|e| panic!("{name}: updates: {e}"));
        let expected = &capture["result"];
        let base = (!capture["base"].is_null())
            .then(|| TableMetadata::from_json(&capture["base"].to_string()).unwrap());
        // The file the base was read from is the last metadata-log entry of the result.
        let base_location = expected["metadata-log"]
            .as_array()
            .and_then(|l| l.last())
            .and_then(|e| e["metadata-file"].as_str())
            .unwrap_or("")
            .to_string();
        let now = expected["last-updated-ms"].as_i64().unwrap();
        let current = base.as_ref().map(|md| (md, base_location.as_str()));
        let result = apply_commit_at(current, &requirements, updates, now)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut ours = normalize(&serde_json::to_value(&result).unwrap());
        let mut theirs = normalize(expected);
        strip_v1_mirrors(&mut ours);
        strip_v1_mirrors(&mut theirs);
        if capture["request"]["updates"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["action"] == "remove-snapshots")
        {
            align_expiry_divergences(&capture["base"], &mut theirs, &ours);
        }
        if let Some(d) = first_difference("", &theirs, &ours) {
            panic!("{name}: differs from pyiceberg's result at {d}");
        }
        if base.is_none() {
            creates += 1;
        }
        replayed += 1;
    }
    assert!(replayed >= 40, "replayed only {replayed} commits");
    assert!(creates >= 1, "no create-transaction commit was replayed");
}

/// `apply_commit` with the clock fixed at `now` so that timestamps match the capture.
fn apply_commit_at(
    current: Option<(&TableMetadata, &str)>,
    requirements: &[TableRequirement],
    updates: Vec<TableUpdate>,
    now: i64,
) -> table_format::Result<TableMetadata> {
    let built =
        table_format::spec::builder::apply_commit_with_clock(current, requirements, updates, now)?;
    Ok(built.expect("pyiceberg only commits changes").metadata)
}

/// Where pyiceberg 0.12 departs from the spec on `remove-snapshots`, check Floe against the
/// spec and then align pyiceberg's result, so the rest of the comparison stays exact:
/// - the spec drops every snapshot-log entry before an expired snapshot; pyiceberg drops only
///   the expired snapshot's own entries;
/// - Java keeps the parent id of a snapshot whose parent expired; pyiceberg nulls it.
fn align_expiry_divergences(base: &Value, theirs: &mut Value, ours: &Value) {
    let kept: std::collections::HashSet<i64> = ours["snapshots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["snapshot-id"].as_i64().unwrap())
        .collect();
    let mut expected_log = Vec::new();
    for e in base["snapshot-log"].as_array().unwrap() {
        if kept.contains(&e["snapshot-id"].as_i64().unwrap()) {
            expected_log.push(e.clone());
        } else {
            expected_log.clear();
        }
    }
    assert_eq!(
        ours["snapshot-log"],
        Value::Array(expected_log),
        "snapshot-log after expiry"
    );
    theirs["snapshot-log"] = ours["snapshot-log"].clone();
    let base_parents: std::collections::HashMap<i64, Value> = base["snapshots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["snapshot-id"].as_i64().unwrap(),
                s["parent-snapshot-id"].clone(),
            )
        })
        .collect();
    for s in theirs["snapshots"].as_array_mut().unwrap() {
        let id = s["snapshot-id"].as_i64().unwrap();
        if let Some(p) = base_parents.get(&id).filter(|p| !p.is_null()) {
            s["parent-snapshot-id"] = p.clone();
        }
    }
}
