//! Metadata tables (`GET /management/v1/warehouses/{wh}/namespaces/{ns}/tables/{t}/{kind}`).
//!
//! - `inspect_matches_pyiceberg`: pyiceberg 0.12 builds a table through the server (two
//!   appends, an overwrite, a delete, partition evolution, another append, a branch and a
//!   tag; `tests/interop/inspect_tables.py`) and prints its `table.inspect.*` results; every
//!   kind must equal Floe's rows, row for row, read in pages of 2.
//!   What is normalized: pyiceberg's event times (timestamp[ms] columns) become ms since the
//!   epoch on the Python side, Floe's ISO-8601 strings become ms here; pyiceberg's Arrow maps
//!   become objects keyed by the key as text, binary as lower-case hex (Floe's form), dates and
//!   timestamps the Iceberg JSON single-value form (Floe's form); a null metrics map is {} on
//!   both sides. Floe's `entries.data_file` carries `spec_id`, which pyiceberg's struct lacks:
//!   it is dropped before comparing. `refs` is compared sorted by name (pyiceberg keeps the
//!   metadata file's order, Floe sorts). Nothing else is touched.
//! - `inspect_pages_every_file_once`: 2,000 files in 20 manifests (table-format fast appends
//!   of file entries, no data written) paged by 100: every file once; `entries` in pages of 7,
//!   `changes` across the whole lineage, CSV, and a token that keeps reading its snapshot
//!   after another commit.
//! - `inspect_pages_ten_thousand_files_each_once`: 10,000 file entries in 10 manifests, paged
//!   by 1,000 and by 333: exactly the files appended, each once. Bounded memory: with every
//!   manifest but the first deleted from storage, the pages inside the first manifest are
//!   still served (a page reads the manifests it needs, not the whole file list), and the
//!   page that needs the second manifest fails with a 5xx rather than skip it.
//! - `inspect_health_reports_small_files`: many one-file appends → small_file_ratio 1 and a
//!   compaction recommendation.
//! - `inspect_arrow_stream_matches_json_rows`: every kind as an Arrow IPC stream, read back
//!   by pyarrow (`tests/interop/read_arrow_stream.py`), equals the JSON rows cell for cell
//!   (event times as ms, nested values as their JSON text); pages follow the
//!   `next-page-token` header.
//! - `inspect_health_after_compaction`: twelve appends of real small Parquet files (a target
//!   size that makes them all small) → compaction advised; after table-format's
//!   `RewriteDataFiles` through the server, fewer and larger files, the same records, small
//!   files no longer the majority and no compaction advice.
//! - `inspect_errors`: unknown kind, snapshot, ref, table, namespace, warehouse; bad page
//!   tokens and sizes; conflicting selectors; unacceptable formats: 4xx in the error model.

use std::collections::{BTreeSet, HashMap};
use std::process::Stdio;

use reqwest::StatusCode;
use serde_json::{Value, json};
use table_format::arrow::iceberg_schema_to_arrow;
use table_format::catalog::{Catalog, RestCatalog, RestCatalogConfig, TableCreation, TableIdent};
use table_format::spec::{
    DataFile, DataFileFormat, NestedField, PrimitiveType, Schema, TableUpdate,
};
use table_format::table::Table;

use crate::common::{TestServer, assert_error, client, get};
use crate::interop::venv_python;

fn inspect_url(server: &TestServer, ns: &str, table: &str, kind: &str) -> String {
    format!(
        "{}/management/v1/warehouses/default/namespaces/{ns}/tables/{table}/{kind}",
        server.url()
    )
}

/// Every row of a kind, following page tokens; asserts that pages are at most `size` long.
async fn all_rows(url: &str, size: usize, extra: &str) -> Vec<Value> {
    let mut rows = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..100_000 {
        let mut u = format!("{url}?page-size={size}{extra}");
        if let Some(t) = &token {
            u.push_str(&format!("&page-token={t}"));
        }
        let (s, body) = get(&u).await;
        assert_eq!(s, StatusCode::OK, "{u}: {body}");
        let page = body["rows"].as_array().expect("rows").clone();
        assert!(page.len() <= size, "{u}: a page of {}", page.len());
        rows.extend(page);
        match body["next-page-token"].as_str() {
            Some(t) => token = Some(t.to_string()),
            None => return rows,
        }
    }
    panic!("{url}: paging did not end");
}

const EVENT_TIMES: &[&str] = &[
    "committed_at",
    "made_current_at",
    "timestamp",
    "last_updated_at",
];

/// Floe's row with event times as ms since the epoch (see the module note).
fn normalize_floe(mut row: Value) -> Value {
    if let Value::Object(m) = &mut row {
        for k in EVENT_TIMES {
            if let Some(Value::String(s)) = m.get(*k) {
                let t = chrono::DateTime::parse_from_rfc3339(s)
                    .unwrap_or_else(|e| panic!("{k}: {s}: {e}"));
                m.insert(k.to_string(), json!(t.timestamp_millis()));
            }
        }
        if let Some(Value::Object(df)) = m.get_mut("data_file") {
            df.remove("spec_id");
        }
    }
    row
}

#[tokio::test]
async fn inspect_matches_pyiceberg() {
    let python = venv_python();
    let server = TestServer::start().await;
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/interop/inspect_tables.py");
    let out = tokio::process::Command::new(&python)
        .arg(&script)
        .args(["build", "--uri", server.url(), "--namespace", "insp"])
        .args(["--table", "events"])
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(std::time::Duration::from_secs(300), out)
        .await
        .expect("inspect_tables.py build finished in time")
        .expect("inspect_tables.py ran");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "inspect_tables.py build failed\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let py: Value = serde_json::from_str(stdout.lines().last().expect("output")).unwrap();
    let kinds = py["kinds"].as_object().expect("kinds");
    assert_eq!(kinds.len(), 10);
    for (kind, want) in kinds {
        let url = inspect_url(&server, "insp", "events", kind);
        let mut got: Vec<Value> = all_rows(&url, 2, "")
            .await
            .into_iter()
            .map(normalize_floe)
            .collect();
        let mut want = want.as_array().expect("rows").clone();
        if kind == "refs" {
            let by_name = |v: &Value| v["name"].as_str().unwrap_or("").to_string();
            got.sort_by_key(by_name);
            want.sort_by_key(by_name);
        }
        assert_eq!(got.len(), want.len(), "{kind}: row counts differ");
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            assert_eq!(
                g, w,
                "{kind} row {i} differs\n floe:      {g}\n pyiceberg: {w}"
            );
        }
        println!("{kind}: {} rows equal pyiceberg's", got.len());
    }
    // The table really went through what the comparison is meant to cover.
    let ops: BTreeSet<String> = kinds["snapshots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["operation"].as_str().unwrap().to_string())
        .collect();
    assert!(
        ops.contains("append") && ops.contains("overwrite") && ops.contains("delete"),
        "{ops:?}"
    );
    let specs: BTreeSet<i64> = kinds["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["spec_id"].as_i64().unwrap())
        .collect();
    assert_eq!(specs.len(), 2, "files of both partition specs");
    // Time travel: a tag and an id read the same snapshot's files.
    let tagged = all_rows(
        &inspect_url(&server, "insp", "events", "files"),
        100,
        "&ref=v1",
    )
    .await;
    let v1 = kinds["refs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "v1")
        .unwrap()["snapshot_id"]
        .as_i64()
        .unwrap();
    let by_id = all_rows(
        &inspect_url(&server, "insp", "events", "files"),
        100,
        &format!("&snapshot-id={v1}"),
    )
    .await;
    assert_eq!(tagged, by_id);
    assert!(!tagged.is_empty());
}

fn schema() -> Schema {
    Schema::builder()
        .with_fields([
            NestedField::optional(1, "id", PrimitiveType::Long),
            NestedField::optional(2, "name", PrimitiveType::String),
        ])
        .build()
        .unwrap()
}

async fn connect(server: &TestServer) -> RestCatalog {
    RestCatalog::connect(RestCatalogConfig::new(server.url()).warehouse("default"))
        .await
        .unwrap()
}

/// `n` file entries (the files themselves are never read).
fn files(table: &Table, tag: &str, n: usize, size: i64) -> Vec<DataFile> {
    (0..n)
        .map(|i| DataFile {
            file_path: format!("{}/data/{tag}-{i:05}.parquet", table.metadata().location()),
            file_format: DataFileFormat::Parquet,
            record_count: 10,
            file_size_in_bytes: size,
            ..Default::default()
        })
        .collect()
}

async fn table_with_appends(
    server: &TestServer,
    ns: &str,
    name: &str,
    appends: usize,
    per_append: usize,
    size: i64,
) -> Table {
    let catalog = connect(server).await;
    catalog
        .create_namespace(&[ns.to_string()], HashMap::new())
        .await
        .unwrap();
    let mut t = catalog
        .create_table(&TableIdent::new([ns], name), TableCreation::new(schema()))
        .await
        .unwrap();
    for a in 0..appends {
        t = t
            .fast_append()
            .add_files(files(&t, &format!("a{a:03}"), per_append, size))
            .commit(&catalog)
            .await
            .unwrap();
    }
    t
}

#[tokio::test]
async fn inspect_pages_every_file_once() {
    let server = TestServer::start().await;
    let t = table_with_appends(&server, "paging", "many", 20, 100, 4096).await;
    let url = inspect_url(&server, "paging", "many", "files");
    let rows = all_rows(&url, 100, "").await;
    let paths: Vec<String> = rows
        .iter()
        .map(|r| r["file_path"].as_str().unwrap().to_string())
        .collect();
    let unique: BTreeSet<&String> = paths.iter().collect();
    assert_eq!(paths.len(), 2000, "every file");
    assert_eq!(unique.len(), 2000, "no file twice");

    // Odd page sizes cross manifest boundaries anywhere.
    let entries = all_rows(&inspect_url(&server, "paging", "many", "entries"), 7, "").await;
    assert_eq!(entries.len(), 2000);
    let unique: BTreeSet<&str> = entries
        .iter()
        .map(|e| e["data_file"]["file_path"].as_str().unwrap())
        .collect();
    assert_eq!(unique.len(), 2000);
    let data = all_rows(
        &inspect_url(&server, "paging", "many", "data-files"),
        1000,
        "",
    )
    .await;
    assert_eq!(data.len(), 2000);
    let deletes = all_rows(
        &inspect_url(&server, "paging", "many", "delete-files"),
        10,
        "",
    )
    .await;
    assert!(deletes.is_empty());
    let manifests = all_rows(&inspect_url(&server, "paging", "many", "manifests"), 3, "").await;
    assert_eq!(manifests.len(), 20);

    // changes: everything after the first snapshot, each file once, with its snapshot.
    let snaps = all_rows(
        &inspect_url(&server, "paging", "many", "snapshots"),
        100,
        "",
    )
    .await;
    assert_eq!(snaps.len(), 20);
    let first = snaps[0]["snapshot_id"].as_i64().unwrap();
    let changes = all_rows(
        &inspect_url(&server, "paging", "many", "changes"),
        150,
        &format!("&from-snapshot-id={first}"),
    )
    .await;
    assert_eq!(changes.len(), 1900);
    assert!(
        changes
            .iter()
            .all(|c| c["change"] == "added" && c["operation"] == "append")
    );
    let unique: BTreeSet<&str> = changes
        .iter()
        .map(|c| c["file_path"].as_str().unwrap())
        .collect();
    assert_eq!(unique.len(), 1900);

    // A token keeps reading the snapshot of the first page, whatever lands meanwhile. JSON
    // answers repeat the token in a header, for clients that fetch ahead; the last page has
    // none.
    let r = client()
        .get(format!("{url}?page-size=1000"))
        .send()
        .await
        .unwrap();
    let header = r.headers()["next-page-token"].to_str().unwrap().to_string();
    let page: Value = r.json().await.unwrap();
    let token = page["next-page-token"].as_str().unwrap().to_string();
    assert_eq!(header, token);
    let r = client()
        .get(format!("{url}?page-size=1000&page-token={token}"))
        .send()
        .await
        .unwrap();
    assert!(!r.headers().contains_key("next-page-token"));
    assert!(r.json::<Value>().await.unwrap()["next-page-token"].is_null());
    let catalog = connect(&server).await;
    t.fast_append()
        .add_files(files(&t, "late", 10, 4096))
        .commit(&catalog)
        .await
        .unwrap();
    let (_, rest) = get(&format!("{url}?page-size=1000&page-token={token}")).await;
    assert_eq!(rest["rows"].as_array().unwrap().len(), 1000);
    assert!(rest["next-page-token"].is_null());
    assert_eq!(all_rows(&url, 1000, "").await.len(), 2010);

    // CSV: a header, one line per row, the token in a header.
    let r = client()
        .get(format!("{url}?page-size=5"))
        .header("accept", "text/csv")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    assert!(r.headers().contains_key("next-page-token"));
    let text = r.text().await.unwrap();
    let mut lines = text.lines();
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with("content,file_path,file_format,spec_id")
    );
    assert_eq!(lines.count(), 5);
}

#[tokio::test]
async fn inspect_health_reports_small_files() {
    let server = TestServer::start().await;
    table_with_appends(&server, "health", "tiny", 12, 1, 2048).await;
    let (s, body) = get(&inspect_url(&server, "health", "tiny", "health")).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let h = &body["rows"][0];
    assert_eq!(h["data_file_count"], 12, "{h}");
    assert_eq!(h["snapshot_count"], 12, "{h}");
    assert_eq!(h["manifest_count"], 12, "{h}");
    assert_eq!(h["total_records"], 120, "{h}");
    assert_eq!(h["total_data_size_bytes"], 12 * 2048, "{h}");
    assert_eq!(h["median_file_size_bytes"], 2048, "{h}");
    assert_eq!(h["small_file_ratio"], 1.0, "{h}");
    let recs = h["recommendations"].as_array().unwrap();
    assert!(
        recs.iter()
            .any(|r| r.as_str().unwrap().starts_with("compact the table: 100% ")),
        "{h}"
    );

    // Big files are not small: no compaction advice.
    let catalog = connect(&server).await;
    catalog
        .create_table(
            &TableIdent::new(["health"], "big"),
            TableCreation::new(schema()).with_property("write.target-file-size-bytes", "1000"),
        )
        .await
        .unwrap();
    let t = catalog
        .load_table(&TableIdent::new(["health"], "big"))
        .await
        .unwrap();
    t.fast_append()
        .add_files(files(&t, "b", 3, 2048))
        .commit(&catalog)
        .await
        .unwrap();
    let (_, body) = get(&inspect_url(&server, "health", "big", "health")).await;
    let h = &body["rows"][0];
    assert_eq!(h["small_file_ratio"], 0.0, "{h}");
    assert_eq!(h["recommendations"], json!([]), "{h}");
}

#[tokio::test]
async fn inspect_errors() {
    let server = TestServer::start().await;
    table_with_appends(&server, "errs", "t", 2, 3, 100).await;
    let u = |kind: &str| inspect_url(&server, "errs", "t", kind);
    let cases: Vec<(String, StatusCode, &str)> = vec![
        (u("nope"), StatusCode::NOT_FOUND, "NotFoundException"),
        (
            u("files?snapshot-id=1"),
            StatusCode::NOT_FOUND,
            "NoSuchSnapshotException",
        ),
        (
            u("entries?ref=nope"),
            StatusCode::NOT_FOUND,
            "NoSuchSnapshotException",
        ),
        (
            u("partitions?as-of-ms=1"),
            StatusCode::NOT_FOUND,
            "NoSuchSnapshotException",
        ),
        (
            u("files?page-token=zz"),
            StatusCode::BAD_REQUEST,
            "BadRequestException",
        ),
        (
            u("files?page-token=00ff"),
            StatusCode::BAD_REQUEST,
            "BadRequestException",
        ),
        (
            u("snapshots?page-size=0"),
            StatusCode::BAD_REQUEST,
            "BadRequestException",
        ),
        (
            u("snapshots?page-size=1001"),
            StatusCode::BAD_REQUEST,
            "BadRequestException",
        ),
        (
            u("files?page-size=10001"),
            StatusCode::BAD_REQUEST,
            "BadRequestException",
        ),
        (
            u("files?snapshot-id=x"),
            StatusCode::BAD_REQUEST,
            "BadRequestException",
        ),
        (
            u("files?snapshot-id=1&ref=main"),
            StatusCode::BAD_REQUEST,
            "BadRequestException",
        ),
        (u("changes"), StatusCode::BAD_REQUEST, "BadRequestException"),
        (
            u("changes?from-snapshot-id=5"),
            StatusCode::NOT_FOUND,
            "NoSuchSnapshotException",
        ),
        (
            inspect_url(&server, "errs", "missing", "files"),
            StatusCode::NOT_FOUND,
            "NoSuchTableException",
        ),
        (
            inspect_url(&server, "nowhere", "t", "files"),
            StatusCode::NOT_FOUND,
            "NoSuchNamespaceException",
        ),
        (
            format!(
                "{}/management/v1/warehouses/nope/namespaces/errs/tables/t/files",
                server.url()
            ),
            StatusCode::NOT_FOUND,
            "NoSuchWarehouseException",
        ),
    ];
    for (url, status, kind) in cases {
        let (s, body) = get(&url).await;
        println!("{url} -> {s} {body}");
        assert_error(s, &body, status, kind);
    }
    // A token of one kind is refused by another.
    let (_, page) = get(&format!("{}?page-size=1", u("files"))).await;
    let token = page["next-page-token"].as_str().unwrap();
    let (s, body) = get(&format!("{}?page-token={token}", u("entries"))).await;
    assert_error(s, &body, StatusCode::BAD_REQUEST, "BadRequestException");
    // A snapshot that is not an ancestor: changes are per lineage.
    let snaps = all_rows(&u("snapshots"), 10, "").await;
    let (a, b) = (
        snaps[0]["snapshot_id"].as_i64().unwrap(),
        snaps[1]["snapshot_id"].as_i64().unwrap(),
    );
    let (s, body) = get(&format!(
        "{}?from-snapshot-id={b}&to-snapshot-id={a}",
        u("changes")
    ))
    .await;
    assert_error(s, &body, StatusCode::BAD_REQUEST, "BadRequestException");
    // Formats the server cannot produce.
    let r = client()
        .get(u("files"))
        .header("accept", "image/png")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_ACCEPTABLE);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["type"], "NotAcceptableException");
}

/// GET `url` with `Accept: application/vnd.apache.arrow.stream`: the body and the
/// `next-page-token` header.
async fn get_arrow(url: &str) -> (Vec<u8>, Option<String>) {
    let r = client()
        .get(url)
        .header("accept", "application/vnd.apache.arrow.stream")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{url}");
    assert_eq!(
        r.headers()["content-type"],
        "application/vnd.apache.arrow.stream"
    );
    let token = r
        .headers()
        .get("next-page-token")
        .map(|v| v.to_str().unwrap().to_string());
    (r.bytes().await.unwrap().to_vec(), token)
}

/// Arrow's value of a cell against the JSON row's: event times are ms on the Arrow side;
/// nested JSON values travel as their JSON text.
fn assert_cell_equal(kind: &str, column: &str, ty: &str, arrow: &Value, json: &Value) {
    let want = if ty.starts_with("timestamp[ms") {
        match json {
            Value::String(s) => json!(
                chrono::DateTime::parse_from_rfc3339(s)
                    .unwrap()
                    .timestamp_millis()
            ),
            other => other.clone(),
        }
    } else {
        json.clone()
    };
    let got = match (arrow, &want) {
        (Value::String(text), Value::Object(_) | Value::Array(_)) => {
            serde_json::from_str(text).unwrap_or_else(|e| panic!("{kind}.{column}: {text}: {e}"))
        }
        _ => arrow.clone(),
    };
    assert_eq!(got, want, "{kind}.{column} ({ty})");
}

#[tokio::test]
async fn inspect_arrow_stream_matches_json_rows() {
    let python = venv_python();
    let server = TestServer::start().await;
    table_with_appends(&server, "arrow", "t", 3, 4, 512).await;
    let first =
        all_rows(&inspect_url(&server, "arrow", "t", "snapshots"), 10, "").await[0]["snapshot_id"]
            .as_i64()
            .unwrap();
    let dir = server.data_dir().join("arrow-pages");
    std::fs::create_dir_all(&dir).unwrap();
    let kinds: Vec<(&str, String)> = vec![
        ("snapshots", String::new()),
        ("history", String::new()),
        ("refs", String::new()),
        ("metadata-log", String::new()),
        ("manifests", String::new()),
        ("files", String::new()),
        ("entries", String::new()),
        ("partitions", String::new()),
        ("health", String::new()),
        ("changes", format!("&from-snapshot-id={first}")),
    ];
    let mut json_rows: HashMap<String, Vec<Value>> = HashMap::new();
    let mut files: Vec<String> = Vec::new();
    for (kind, extra) in &kinds {
        let url = inspect_url(&server, "arrow", "t", kind);
        json_rows.insert(kind.to_string(), all_rows(&url, 1000, extra).await);
        let (bytes, token) = get_arrow(&format!("{url}?page-size=1000{extra}")).await;
        assert_eq!(token, None, "{kind}: one page");
        let path = dir.join(format!("{kind}.arrows"));
        std::fs::write(&path, bytes).unwrap();
        files.push(path.display().to_string());
    }
    // Paged: 12 files in pages of 5, the token in a header.
    let url = inspect_url(&server, "arrow", "t", "files");
    let mut token: Option<String> = None;
    let mut paged = Vec::new();
    loop {
        let mut u = format!("{url}?page-size=5");
        if let Some(t) = &token {
            u.push_str(&format!("&page-token={t}"));
        }
        let (bytes, next) = get_arrow(&u).await;
        let path = dir.join(format!("files-page-{}.arrows", paged.len()));
        std::fs::write(&path, bytes).unwrap();
        paged.push(path.display().to_string());
        token = next;
        if token.is_none() {
            break;
        }
    }
    assert_eq!(paged.len(), 3, "12 files in pages of 5");

    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/interop/read_arrow_stream.py");
    let out = tokio::process::Command::new(&python)
        .arg(&script)
        .args(files.iter().chain(&paged))
        .stdin(Stdio::null())
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let read: Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).lines().last().unwrap()).unwrap();
    for ((kind, _), file) in kinds.iter().zip(&files) {
        let arrow = &read[file];
        let schema: Vec<(String, String)> = arrow["schema"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                (
                    f[0].as_str().unwrap().to_string(),
                    f[1].as_str().unwrap().to_string(),
                )
            })
            .collect();
        let rows = arrow["rows"].as_array().unwrap();
        let want = &json_rows[*kind];
        assert_eq!(rows.len(), want.len(), "{kind}: row counts");
        assert!(!want.is_empty(), "{kind}: rows to compare");
        for (a, j) in rows.iter().zip(want) {
            // Every JSON column is in the stream.
            if let Value::Object(m) = j {
                for k in m.keys() {
                    assert!(schema.iter().any(|(n, _)| n == k), "{kind}: no column {k}");
                }
            }
            for (column, ty) in &schema {
                if column == "hours_since_update" {
                    continue; // the clock moved between the two requests
                }
                let jv = j.get(column).cloned().unwrap_or(Value::Null);
                assert_cell_equal(kind, column, ty, &a[column], &jv);
            }
        }
        println!("{kind}: {} rows, schema {schema:?}", rows.len());
    }
    let types: HashMap<String, String> = read[&files[5]]["schema"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f[0].as_str().unwrap().into(), f[1].as_str().unwrap().into()))
        .collect();
    assert_eq!(types["file_size_in_bytes"], "int64");
    assert_eq!(types["content"], "int32");
    assert_eq!(types["readable_metrics"], "string");
    let snaps = &read[&files[0]]["schema"][0];
    assert_eq!(snaps, &json!(["committed_at", "timestamp[ms, tz=UTC]"]));
    let paged_paths: Vec<&str> = paged
        .iter()
        .flat_map(|p| read[p]["rows"].as_array().unwrap())
        .map(|r| r["file_path"].as_str().unwrap())
        .collect();
    let json_paths: Vec<&str> = json_rows["files"]
        .iter()
        .map(|r| r["file_path"].as_str().unwrap())
        .collect();
    assert_eq!(paged_paths, json_paths);
}

#[tokio::test]
async fn inspect_pages_ten_thousand_files_each_once() {
    let server = TestServer::start().await;
    let started = std::time::Instant::now();
    let t = table_with_appends(&server, "big", "files10k", 10, 1000, 4096).await;
    println!("10,000 file entries committed in {:?}", started.elapsed());
    let location = t.metadata().location().to_string();
    let expected: BTreeSet<String> = (0..10)
        .flat_map(|a| (0..1000).map(move |i| (a, i)))
        .map(|(a, i)| format!("{location}/data/a{a:03}-{i:05}.parquet"))
        .collect();
    let url = inspect_url(&server, "big", "files10k", "files");
    // The largest page (the whole table in one), a page of manifests' size whose ends fall on
    // manifest boundaries, and an odd size whose pages end anywhere inside a manifest.
    for size in [10_000, 1000, 333] {
        let started = std::time::Instant::now();
        let rows = all_rows(&url, size, "").await;
        let paths: Vec<String> = rows
            .iter()
            .map(|r| r["file_path"].as_str().unwrap().to_string())
            .collect();
        let unique: BTreeSet<String> = paths.iter().cloned().collect();
        assert_eq!(paths.len(), 10_000, "page size {size}: every file");
        assert_eq!(unique.len(), 10_000, "page size {size}: no file twice");
        assert_eq!(unique, expected, "page size {size}: no file missing");
        println!("pages of {size}: {:?}", started.elapsed());
    }

    // A page reads only the manifests it needs, never the table's whole file list: with every
    // manifest but the first one gone from storage, the first pages are still served.
    let manifests = all_rows(
        &inspect_url(&server, "big", "files10k", "manifests"),
        100,
        "",
    )
    .await;
    assert_eq!(manifests.len(), 10);
    for m in &manifests[1..] {
        let path = m["path"].as_str().unwrap();
        std::fs::remove_file(path.trim_start_matches("file://")).unwrap();
    }
    let (s, body) = get(&format!("{url}?page-size=500")).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["rows"].as_array().unwrap().len(), 500);
    let token = body["next-page-token"].as_str().unwrap();
    let (s, body) = get(&format!("{url}?page-size=400&page-token={token}")).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["rows"].as_array().unwrap().len(), 400);
    // A page that ends with the first manifest takes the next page's start from the manifest
    // list's counts, without reading the second one.
    let (s, body) = get(&format!("{url}?page-size=1000")).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert!(body["next-page-token"].is_string());
    // Reading on past the first manifest needs the second one: a 5xx, not a silent gap.
    let (s, _) = get(&format!("{url}?page-size=1001")).await;
    assert!(s.is_server_error(), "{s}");
}

/// Rows `start..start + n` of [`schema`].
fn batch(start: i64, n: i64) -> arrow_array::RecordBatch {
    use arrow_array::{Int64Array, StringArray};
    let arrow = std::sync::Arc::new(iceberg_schema_to_arrow(&schema()).unwrap());
    let ids: Vec<i64> = (start..start + n).collect();
    arrow_array::RecordBatch::try_new(
        arrow,
        vec![
            std::sync::Arc::new(Int64Array::from(ids.clone())),
            std::sync::Arc::new(StringArray::from_iter_values(
                ids.iter().map(|i| format!("user-{i:06}")),
            )),
        ],
    )
    .unwrap()
}

#[tokio::test]
async fn inspect_health_after_compaction() {
    let server = TestServer::start().await;
    let catalog = connect(&server).await;
    catalog
        .create_namespace(&["compaction".to_string()], HashMap::new())
        .await
        .unwrap();
    let ident = TableIdent::new(["compaction"], "events");
    let mut t = catalog
        .create_table(&ident, TableCreation::new(schema()))
        .await
        .unwrap();
    // Twelve small appends of real Parquet files (compaction reads them).
    for i in 0..12 {
        t = t
            .fast_append()
            .add_batches(&[batch(i * 50, 50)])
            .await
            .unwrap()
            .commit(&catalog)
            .await
            .unwrap();
    }
    // A target size that makes all twelve small: four times the largest, so "small" (under a
    // quarter of the target) is anything up to the largest file.
    let largest = all_rows(
        &inspect_url(&server, "compaction", "events", "files"),
        100,
        "",
    )
    .await
    .iter()
    .map(|f| f["file_size_in_bytes"].as_i64().unwrap())
    .max()
    .unwrap();
    let target = 4 * (largest + 1);
    catalog
        .commit_table(
            &ident,
            vec![],
            vec![TableUpdate::SetProperties {
                updates: [(
                    "write.target-file-size-bytes".to_string(),
                    target.to_string(),
                )]
                .into(),
            }],
        )
        .await
        .unwrap();
    let health = || async {
        let (s, body) = get(&inspect_url(&server, "compaction", "events", "health")).await;
        assert_eq!(s, StatusCode::OK, "{body}");
        body["rows"][0].clone()
    };
    let compact_advice = |h: &Value| {
        h["recommendations"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r.as_str().unwrap().starts_with("compact"))
    };
    let before = health().await;
    println!("before compaction: {before}");
    assert_eq!(before["data_file_count"], 12, "{before}");
    assert_eq!(before["small_file_ratio"], 1.0, "{before}");
    assert_eq!(before["total_records"], 600, "{before}");
    assert!(compact_advice(&before), "{before}");

    let t = catalog.load_table(&ident).await.unwrap();
    let report = t.rewrite_data_files().execute(&catalog).await.unwrap();
    assert_eq!(report.rewritten_data_files, 12);
    assert!(report.added_data_files >= 1 && report.added_data_files < 12);

    let after = health().await;
    println!("after compaction: {after}");
    assert_eq!(
        after["data_file_count"],
        json!(report.added_data_files),
        "{after}"
    );
    assert_eq!(after["total_records"], 600, "records unchanged: {after}");
    assert_eq!(
        after["snapshot_count"], 13,
        "twelve appends and a replace: {after}"
    );
    assert!(
        after["small_file_ratio"].as_f64().unwrap() < 0.5,
        "small files no longer the majority: {after}"
    );
    assert!(
        after["avg_file_size_bytes"].as_i64().unwrap()
            > before["avg_file_size_bytes"].as_i64().unwrap(),
        "{after}"
    );
    assert!(!compact_advice(&after), "no compaction advice: {after}");
}
