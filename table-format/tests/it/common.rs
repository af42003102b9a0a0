//! Helpers shared by the integration tests.

use std::path::{Path, PathBuf};

use serde_json::Value;

/// The folder of golden files written by pyiceberg.
pub fn pyiceberg_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/pyiceberg")
}

/// Every `*.metadata.json` golden file, sorted.
pub fn golden_metadata_files() -> Vec<PathBuf> {
    let mut out = Vec::new();
    for scenario in std::fs::read_dir(pyiceberg_dir()).unwrap() {
        let dir = scenario.unwrap().path();
        if !dir.is_dir() || dir.file_name().is_some_and(|n| n == "commits") {
            continue;
        }
        for f in std::fs::read_dir(&dir).unwrap() {
            let p = f.unwrap().path();
            if p.to_string_lossy().ends_with(".metadata.json") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Normalize the representations the spec treats as equal, so that a comparison only fails
/// on a real difference: null-valued keys are dropped (null and absent mean the same), and
/// `current-snapshot-id: -1` means "no current snapshot".
pub fn normalize(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut out = serde_json::Map::new();
            for (k, val) in m {
                if val.is_null() {
                    continue;
                }
                if k == "current-snapshot-id" && val.as_i64() == Some(-1) {
                    continue;
                }
                out.insert(k.clone(), normalize(val));
            }
            Value::Object(out)
        }
        Value::Array(a) => Value::Array(a.iter().map(normalize).collect()),
        other => other.clone(),
    }
}

/// Describe the first difference between two JSON values, by path.
pub fn first_difference(path: &str, a: &Value, b: &Value) -> Option<String> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for (k, va) in x {
                match y.get(k) {
                    None => return Some(format!("{path}/{k}: missing on the right")),
                    Some(vb) => {
                        if let Some(d) = first_difference(&format!("{path}/{k}"), va, vb) {
                            return Some(d);
                        }
                    }
                }
            }
            for k in y.keys() {
                if !x.contains_key(k) {
                    return Some(format!("{path}/{k}: missing on the left"));
                }
            }
            None
        }
        (Value::Array(x), Value::Array(y)) => {
            if x.len() != y.len() {
                return Some(format!("{path}: length {} vs {}", x.len(), y.len()));
            }
            x.iter()
                .zip(y)
                .enumerate()
                .find_map(|(i, (va, vb))| first_difference(&format!("{path}[{i}]"), va, vb))
        }
        _ if a == b => None,
        _ => Some(format!("{path}: {a} vs {b}")),
    }
}

/// Drop v1's deprecated `partition-spec` and `schema` mirrors: pyiceberg 0.12 leaves
/// `partition-spec` as it was at creation while Java (and Floe) mirror the default spec.
pub fn strip_v1_mirrors(v: &mut Value) {
    if v["format-version"] == 1
        && let Some(m) = v.as_object_mut()
    {
        m.remove("partition-spec");
        m.remove("schema");
    }
}
