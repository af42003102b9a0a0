//! Table maintenance through the server: the four `maintenance/{action}` endpoints on a table
//! written with real data by table-format's `RestCatalog` and read back by pyiceberg, their
//! errors and authorization, the task queue's store contract (exclusive claims, leases,
//! idempotent slots), scheduled snapshot expiry, and two replicas running each scheduled task
//! once (PostgreSQL).

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow_array::{Int64Array, RecordBatch, StringArray};
use catalog_server::store::tasks::{NewTask, TaskStatus};
use catalog_server::testing::{TestDatabase, TestServer};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use table_format::arrow::iceberg_schema_to_arrow;
use table_format::catalog::{Catalog, RestCatalog, RestCatalogConfig, TableCreation, TableIdent};
use table_format::spec::{NestedField, PrimitiveType, Schema, TableUpdate};
use table_format::table::Table;

use crate::auth::{Admin, call, start_authed};
use crate::common::{assert_error, get, post};
use crate::interop::venv_python;

fn schema() -> Schema {
    Schema::builder()
        .with_fields([
            NestedField::optional(1, "id", PrimitiveType::Long),
            NestedField::optional(2, "name", PrimitiveType::String),
        ])
        .build()
        .unwrap()
}

fn batch(start: i64, n: i64) -> RecordBatch {
    let arrow = Arc::new(iceberg_schema_to_arrow(&schema()).unwrap());
    let ids: Vec<i64> = (start..start + n).collect();
    RecordBatch::try_new(
        arrow,
        vec![
            Arc::new(Int64Array::from(ids.clone())),
            Arc::new(StringArray::from_iter_values(
                ids.iter().map(|i| format!("user-{i}")),
            )),
        ],
    )
    .unwrap()
}

async fn connect(server: &TestServer) -> RestCatalog {
    RestCatalog::connect(RestCatalogConfig::new(server.url()).warehouse("default"))
        .await
        .unwrap()
}

/// A table `ns.name` with `appends` snapshots of 5 rows each (one data file per append).
async fn table_with_appends(catalog: &RestCatalog, ns: &str, name: &str, appends: i64) -> Table {
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
            .add_batches(&[batch(a * 5, 5)])
            .await
            .unwrap()
            .commit(catalog)
            .await
            .unwrap();
    }
    t
}

fn action_url(server: &TestServer, ns: &str, table: &str, action: &str) -> String {
    format!(
        "{}/management/v1/warehouses/default/namespaces/{ns}/tables/{table}/maintenance/{action}",
        server.url()
    )
}

async fn run(server: &TestServer, ns: &str, table: &str, action: &str, body: Value) -> Value {
    let (status, report) = post(&action_url(server, ns, table, action), &body).await;
    assert_eq!(status, StatusCode::OK, "{action} {body}: {report}");
    report
}

/// What pyiceberg reads from the table's current snapshot: sorted ids and the number of
/// snapshots in the metadata.
async fn pyiceberg_read(server: &TestServer, ns: &str, table: &str) -> (Vec<i64>, usize) {
    let script = r#"
import json, sys
from pyiceberg.catalog import load_catalog
c = load_catalog("floe", type="rest", uri=sys.argv[1], warehouse="default")
t = c.load_table((sys.argv[2], sys.argv[3]))
ids = sorted(t.scan().to_arrow().column("id").to_pylist())
print(json.dumps({"ids": ids, "snapshots": len(t.metadata.snapshots)}))
"#;
    let out = tokio::process::Command::new(venv_python())
        .args(["-c", script, server.url(), ns, table])
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(120), out)
        .await
        .expect("pyiceberg finished in time")
        .expect("pyiceberg ran");
    assert!(
        out.status.success(),
        "pyiceberg failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("pyiceberg output");
    let ids = v["ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i.as_i64().unwrap())
        .collect();
    (ids, v["snapshots"].as_u64().unwrap() as usize)
}

fn local(path: &str) -> &Path {
    Path::new(path.strip_prefix("file://").unwrap_or(path))
}

/// Every data file the table's current snapshot reads.
async fn live_data_files(t: &Table) -> Vec<String> {
    let tasks = t.scan().plan_files().await.unwrap();
    tasks
        .iter()
        .map(|t| t.data_file.file_path.clone())
        .collect()
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

#[tokio::test]
async fn maintenance_endpoints_compact_expire_and_clean_a_real_table() {
    let server = TestServer::start().await;
    let catalog = connect(&server).await;
    let ident = TableIdent::new(["maint"], "events");
    let t = table_with_appends(&catalog, "maint", "events", 4).await;
    let want: Vec<i64> = (0..20).collect();
    let original_files = live_data_files(&t).await;
    assert_eq!(original_files.len(), 4);

    // rewrite-manifests: four one-entry manifests become one.
    let dry = run(
        &server,
        "maint",
        "events",
        "rewrite-manifests",
        json!({"dry-run": true}),
    )
    .await;
    assert_eq!(
        dry,
        json!({"dry-run": true, "rewritten-manifests": 4, "added-manifests": 1, "snapshot-id": null})
    );
    let head = catalog.load_table(&ident).await.unwrap();
    assert_eq!(
        head.metadata_location(),
        t.metadata_location(),
        "a dry run commits nothing"
    );
    let done = run(&server, "maint", "events", "rewrite-manifests", json!({})).await;
    assert_eq!(done["rewritten-manifests"], 4);
    assert_eq!(done["added-manifests"], 1);
    let t = catalog.load_table(&ident).await.unwrap();
    assert_eq!(
        done["snapshot-id"].as_i64(),
        t.metadata().current_snapshot_id()
    );

    // rewrite-data-files: the four small files become one.
    let dry = run(
        &server,
        "maint",
        "events",
        "rewrite-data-files",
        json!({"dry-run": true, "min-input-files": 2, "strategy": "binpack"}),
    )
    .await;
    assert_eq!(dry["dry-run"], true);
    assert_eq!(dry["rewritten-data-files"], 4);
    assert_eq!(dry["added-data-files"], 1);
    assert_eq!(dry["snapshot-id"], Value::Null);
    assert!(dry["rewritten-bytes"].as_u64().unwrap() > 0);
    assert_eq!(
        catalog
            .load_table(&ident)
            .await
            .unwrap()
            .metadata_location(),
        t.metadata_location()
    );
    let done = run(
        &server,
        "maint",
        "events",
        "rewrite-data-files",
        json!({"min-input-files": 2, "filter": {"type": "gt-eq", "term": "id", "value": 0}}),
    )
    .await;
    assert_eq!(done["dry-run"], false);
    assert_eq!(done["rewritten-data-files"], 4);
    assert_eq!(done["added-data-files"], 1);
    assert!(done["added-bytes"].as_u64().unwrap() > 0);
    let t = catalog.load_table(&ident).await.unwrap();
    assert_eq!(
        done["snapshot-id"].as_i64(),
        t.metadata().current_snapshot_id()
    );
    assert_eq!(live_data_files(&t).await.len(), 1);
    let (ids, snapshots) = pyiceberg_read(&server, "maint", "events").await;
    assert_eq!(ids, want, "pyiceberg reads the same rows after compaction");
    assert_eq!(snapshots, 6);

    // expire-snapshots: everything but the head goes, and with it the four original data
    // files, their manifests and the old manifest lists.
    let body = json!({"retain-last": 1, "older-than-ms": now_ms() + 60_000});
    let mut dry_body = body.clone();
    dry_body["dry-run"] = json!(true);
    let dry = run(&server, "maint", "events", "expire-snapshots", dry_body).await;
    assert_eq!(dry["dry-run"], true);
    assert_eq!(dry["expired-snapshot-ids"].as_array().unwrap().len(), 5);
    assert_eq!(dry["deleted-files"]["data-files"], 4);
    assert_eq!(dry["deleted-files"]["manifest-lists"], 5);
    assert_eq!(dry["deleted-files"]["delete-files"], 0);
    assert!(dry["deleted-bytes"].as_u64().unwrap() > 0);
    for f in &original_files {
        assert!(local(f).exists(), "a dry run deletes nothing: {f}");
    }
    assert_eq!(
        catalog
            .load_table(&ident)
            .await
            .unwrap()
            .metadata()
            .snapshots()
            .len(),
        6
    );
    let done = run(&server, "maint", "events", "expire-snapshots", body).await;
    assert_eq!(done["dry-run"], false);
    assert_eq!(done["expired-snapshot-ids"], dry["expired-snapshot-ids"]);
    assert_eq!(done["deleted-files"], dry["deleted-files"]);
    assert_eq!(done["deleted-bytes"], dry["deleted-bytes"]);
    let t = catalog.load_table(&ident).await.unwrap();
    let kept: BTreeSet<i64> = t
        .metadata()
        .snapshots()
        .iter()
        .map(|s| s.snapshot_id)
        .collect();
    assert_eq!(kept.len(), 1);
    for id in dry["expired-snapshot-ids"].as_array().unwrap() {
        assert!(
            !kept.contains(&id.as_i64().unwrap()),
            "snapshot {id} is gone"
        );
    }
    for f in &original_files {
        assert!(
            !local(f).exists(),
            "an expired-only data file is deleted: {f}"
        );
    }
    for f in live_data_files(&t).await {
        assert!(local(&f).exists(), "a live data file stays: {f}");
    }
    let (ids, snapshots) = pyiceberg_read(&server, "maint", "events").await;
    assert_eq!(ids, want, "pyiceberg reads the same rows after expiry");
    assert_eq!(snapshots, 1);

    // remove-orphan-files: a stray file goes, everything metadata references stays.
    let stray = format!("{}/data/stray-00000.parquet", t.metadata().location());
    std::fs::write(local(&stray), b"not referenced by anything").unwrap();
    let body = json!({"older-than-ms": now_ms() + 60_000});
    let mut dry_body = body.clone();
    dry_body["dry-run"] = json!(true);
    let dry = run(&server, "maint", "events", "remove-orphan-files", dry_body).await;
    assert_eq!(dry["dry-run"], true);
    assert_eq!(dry["orphan-file-count"], 1, "{dry}");
    assert!(
        dry["orphan-files"][0]
            .as_str()
            .unwrap()
            .ends_with("/data/stray-00000.parquet"),
        "{dry}"
    );
    assert_eq!(dry["deleted-bytes"], 26);
    assert!(local(&stray).exists());
    let done = run(&server, "maint", "events", "remove-orphan-files", body).await;
    assert_eq!(done["orphan-file-count"], 1);
    assert!(!local(&stray).exists(), "the orphan is deleted");
    for f in live_data_files(&t).await {
        assert!(local(&f).exists(), "a referenced file stays: {f}");
    }
    assert!(local(t.metadata_location()).exists());
    let (ids, _) = pyiceberg_read(&server, "maint", "events").await;
    assert_eq!(ids, want);

    // Each run is in the audit log (dry runs too).
    let (s, audit) = get(&format!(
        "{}/management/v1/audit?action=maintenance.expire-snapshots",
        server.url()
    ))
    .await;
    assert_eq!(s, StatusCode::OK, "{audit}");
    assert_eq!(audit["events"].as_array().unwrap().len(), 2, "{audit}");
    assert_eq!(audit["events"][0]["target"], "default/maint/events");
}

/// Rows of the table's current snapshot, as Floe reads them: (id, name), sorted.
async fn rows_of(t: &Table) -> Vec<(i64, String)> {
    let mut out = Vec::new();
    for b in t.scan().to_arrow().await.unwrap() {
        let ids = b.column(0).as_any().downcast_ref::<Int64Array>().unwrap();
        let names = b.column(1).as_any().downcast_ref::<StringArray>().unwrap();
        for i in 0..b.num_rows() {
            out.push((ids.value(i), names.value(i).to_string()));
        }
    }
    out.sort();
    out
}

/// Upserts committed by a writer that does not merge its deltas (another engine, or Floe
/// with `floe.upsert.merge-deltas.min-delete-files=0`) leave an equality delete file each;
/// `rewrite-data-files` with `merge-deltas` folds them into one, and a read sees the same rows.
#[tokio::test]
async fn merge_deltas_folds_upserts_written_elsewhere() {
    let server = TestServer::start().await;
    let catalog = connect(&server).await;
    catalog
        .create_namespace(&["deltas".to_string()], HashMap::new())
        .await
        .unwrap();
    let keyed = Schema::builder()
        .with_identifier_field_ids([1])
        .with_fields([
            NestedField::required(1, "id", PrimitiveType::Long),
            NestedField::optional(2, "name", PrimitiveType::String),
        ])
        .build()
        .unwrap();
    let ident = TableIdent::new(["deltas"], "kv");
    let mut t = catalog
        .create_table(
            &ident,
            TableCreation::new(keyed.clone())
                .with_property("floe.upsert.merge-deltas.min-delete-files", "0"),
        )
        .await
        .unwrap();
    let rows = |ids: &[i64], tag: &str| {
        let arrow = Arc::new(iceberg_schema_to_arrow(&keyed).unwrap());
        RecordBatch::try_new(
            arrow,
            vec![
                Arc::new(Int64Array::from(ids.to_vec())),
                Arc::new(StringArray::from_iter_values(
                    ids.iter().map(|i| format!("{tag}-{i}")),
                )),
            ],
        )
        .unwrap()
    };
    // Large enough that the merge carries the keys rather than rewriting the whole table.
    let base: Vec<i64> = (0..200).collect();
    t = t
        .fast_append()
        .add_batches(&[rows(&base, "base")])
        .await
        .unwrap()
        .commit(&catalog)
        .await
        .unwrap();
    for i in 0..5i64 {
        t = t
            .upsert()
            .add_batches(&[rows(&[i, 50 + i, 300 + i], &format!("u{i}"))])
            .await
            .unwrap()
            .commit(&catalog)
            .await
            .unwrap();
    }
    let before = rows_of(&t).await;
    assert_eq!(before.len(), 205);

    // Not with the options that pick files by size.
    let (status, body) = post(
        &action_url(&server, "deltas", "kv", "rewrite-data-files"),
        &json!({"merge-deltas": 3, "min-input-files": 2}),
    )
    .await;
    assert_error(
        status,
        &body,
        StatusCode::BAD_REQUEST,
        "BadRequestException",
    );
    // Fewer delete files than asked for: nothing to do.
    let none = run(
        &server,
        "deltas",
        "kv",
        "rewrite-data-files",
        json!({"merge-deltas": 6}),
    )
    .await;
    assert_eq!(none["snapshot-id"], Value::Null);
    assert_eq!(none["rewritten-data-files"], 0);

    let done = run(
        &server,
        "deltas",
        "kv",
        "rewrite-data-files",
        json!({"merge-deltas": 5}),
    )
    .await;
    assert_eq!(done["rewritten-data-files"], 5, "{done}");
    assert_eq!(done["added-data-files"], 1, "{done}");
    assert_eq!(done["removed-delete-files"], 5, "{done}");
    assert_eq!(done["added-delete-files"], 1, "{done}");
    let t = catalog.load_table(&ident).await.unwrap();
    assert_eq!(
        done["snapshot-id"].as_i64(),
        t.metadata().current_snapshot_id()
    );
    assert_eq!(rows_of(&t).await, before);
    let snap = t.metadata().current_snapshot().unwrap();
    assert_eq!(snap.summary.get("total-delete-files"), Some("1"));
    assert_eq!(snap.summary.get("total-data-files"), Some("2"));

    // Sixteen delete files: the health table advises folding them; after the merge (here a
    // rewrite of the whole table, so many rows were written since) it no longer does.
    let advice = || async {
        let url = format!(
            "{}/management/v1/warehouses/default/namespaces/deltas/tables/kv/health",
            server.url()
        );
        let (status, body) = get(&url).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["rows"][0]["recommendations"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r.as_str().unwrap().starts_with("fold delete files"))
    };
    assert!(!advice().await);
    let mut t = t;
    for i in 0..15i64 {
        t = t
            .upsert()
            .add_batches(&[rows(&[10 + i, 400 + i], &format!("w{i}"))])
            .await
            .unwrap()
            .commit(&catalog)
            .await
            .unwrap();
    }
    assert!(advice().await);
    let before = rows_of(&t).await;
    let done = run(
        &server,
        "deltas",
        "kv",
        "rewrite-data-files",
        json!({"merge-deltas": 16}),
    )
    .await;
    assert_eq!(done["removed-delete-files"], 16, "{done}");
    let t = catalog.load_table(&ident).await.unwrap();
    assert_eq!(rows_of(&t).await, before);
    assert!(!advice().await);
}

#[tokio::test]
async fn maintenance_errors_use_the_error_model() {
    let server = TestServer::start().await;
    let catalog = connect(&server).await;
    let t = table_with_appends(&catalog, "errs", "t", 2).await;
    let url = |action: &str| action_url(&server, "errs", "t", action);

    let (s, v) = post(&url("vacuum"), &json!({})).await;
    assert_error(s, &v, StatusCode::NOT_FOUND, "NotFoundException");
    let (s, v) = post(
        &url("expire-snapshots"),
        &json!({"retain-last": 1, "keep": 2}),
    )
    .await;
    assert_error(s, &v, StatusCode::BAD_REQUEST, "BadRequestException");
    assert!(
        v["error"]["message"].as_str().unwrap().contains("keep"),
        "{v}"
    );
    let (s, v) = post(&url("expire-snapshots"), &json!({"retain-last": 0})).await;
    assert_error(s, &v, StatusCode::BAD_REQUEST, "BadRequestException");
    let (s, v) = post(&url("remove-orphan-files"), &json!({"older-than-ms": -1})).await;
    assert_error(s, &v, StatusCode::BAD_REQUEST, "BadRequestException");
    let (s, v) = post(
        &url("rewrite-data-files"),
        &json!({"target-file-size-bytes": 0}),
    )
    .await;
    assert_error(s, &v, StatusCode::BAD_REQUEST, "BadRequestException");
    let (s, v) = post(&url("expire-snapshots"), &json!({"snapshot-ids": [42]})).await;
    assert_error(s, &v, StatusCode::BAD_REQUEST, "BadRequestException");
    // The head of main cannot be expired.
    let head = t.metadata().current_snapshot_id().unwrap();
    let (s, v) = post(&url("expire-snapshots"), &json!({"snapshot-ids": [head]})).await;
    assert_error(s, &v, StatusCode::BAD_REQUEST, "BadRequestException");
    let (s, v) = post(&url("rewrite-data-files"), &json!({"strategy": "shuffle"})).await;
    assert_error(s, &v, StatusCode::BAD_REQUEST, "BadRequestException");
    let (s, v) = post(
        &url("rewrite-data-files"),
        &json!({"filter": {"type": "eq", "term": "nope", "value": 1}}),
    )
    .await;
    assert_error(s, &v, StatusCode::BAD_REQUEST, "BadRequestException");
    let (s, v) = post(&url("rewrite-manifests"), &json!([])).await;
    assert_error(s, &v, StatusCode::BAD_REQUEST, "BadRequestException");
    let (s, v) = post(&url("rewrite-manifests"), &json!({"dry-run": "yes"})).await;
    assert_error(s, &v, StatusCode::BAD_REQUEST, "BadRequestException");
    let (s, v) = post(
        &action_url(&server, "errs", "missing", "expire-snapshots"),
        &json!({}),
    )
    .await;
    assert_error(s, &v, StatusCode::NOT_FOUND, "NoSuchTableException");
    // An empty body is `{}`.
    let r = reqwest::Client::new()
        .post(url("rewrite-manifests"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["dry-run"], false);
    // A malformed schedule property is refused before the commit.
    let catalog_err = catalog
        .commit_table(
            t.ident(),
            vec![],
            vec![TableUpdate::SetProperties {
                updates: [(
                    "floe.maintenance.expire-snapshots.interval-ms".to_string(),
                    "soon".to_string(),
                )]
                .into(),
            }],
        )
        .await
        .unwrap_err();
    assert!(
        catalog_err.message().contains("interval-ms"),
        "{catalog_err}"
    );
}

#[tokio::test]
async fn maintenance_needs_manage_on_the_table() {
    let server = start_authed().await;
    let a = Admin::new(&server).await;
    a.namespace("gold").await;
    a.table("gold", "t").await;
    let who = a.principal_token("compactor").await;
    let url = |action: &str| {
        a.url(&format!(
            "/management/v1/warehouses/default/namespaces/gold/tables/t/maintenance/{action}"
        ))
    };
    let body = json!({"dry-run": true});
    let (s, v) = call(Method::POST, &url("expire-snapshots"), None, Some(&body)).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{v}");
    a.grant("/namespaces/gold", ("principal", "compactor"), &["USAGE"])
        .await;
    a.grant(
        "/namespaces/gold/tables/t",
        ("principal", "compactor"),
        &["SELECT", "MODIFY"],
    )
    .await;
    for action in [
        "expire-snapshots",
        "remove-orphan-files",
        "rewrite-data-files",
        "rewrite-manifests",
    ] {
        let (s, v) = call(Method::POST, &url(action), Some(&who), Some(&body)).await;
        assert_error(s, &v, StatusCode::FORBIDDEN, "ForbiddenException");
    }
    a.grant(
        "/namespaces/gold/tables/t",
        ("principal", "compactor"),
        &["MANAGE"],
    )
    .await;
    for action in [
        "expire-snapshots",
        "remove-orphan-files",
        "rewrite-data-files",
        "rewrite-manifests",
    ] {
        let (s, v) = call(Method::POST, &url(action), Some(&who), Some(&body)).await;
        assert_eq!(s, StatusCode::OK, "{action}: {v}");
        assert_eq!(v["dry-run"], true);
    }
    // The task list is the root's.
    let (s, v) = call(
        Method::GET,
        &a.url("/management/v1/tasks"),
        Some(&who),
        None,
    )
    .await;
    assert_error(s, &v, StatusCode::FORBIDDEN, "ForbiddenException");
    let (s, v) = call(
        Method::GET,
        &a.url("/management/v1/tasks"),
        Some(&a.root),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let audit = a
        .ok(
            Method::GET,
            "/management/v1/audit?action=maintenance.rewrite-manifests",
            None,
        )
        .await;
    assert_eq!(audit["events"][0]["principal"], "compactor", "{audit}");
}

fn new_task(slot: &str) -> NewTask {
    NewTask {
        slot_key: slot.to_string(),
        warehouse_id: "wh".into(),
        warehouse: "default".into(),
        namespace: "ns".into(),
        table_name: "t".into(),
        table_uuid: "uuid".into(),
        action: "expire-snapshots".into(),
        options: "{}".into(),
        created_ms: now_ms(),
    }
}

#[tokio::test]
async fn task_queue_claims_are_exclusive_and_expired_leases_are_taken_over() {
    // No worker of its own: the test drives the queue.
    let server = TestServer::start_with(|c| c.maintenance_poll = Duration::ZERO).await;
    let store = server.state().service.store().clone();
    let now = now_ms();

    // One task per slot, however often it is enqueued.
    let first = store.enqueue_task(&new_task("slot-1")).await.unwrap();
    assert!(first.is_some());
    assert_eq!(store.enqueue_task(&new_task("slot-1")).await.unwrap(), None);

    // A claim holds until its lease expires; then another worker takes the task over.
    let a = store.claim_task("a", now, 1_000, 3).await.unwrap().unwrap();
    assert_eq!(
        (a.status, a.attempts, a.worker_id.as_deref()),
        (TaskStatus::Running, 1, Some("a"))
    );
    assert!(
        store
            .claim_task("b", now + 10, 1_000, 3)
            .await
            .unwrap()
            .is_none()
    );
    assert!(store.renew_lease(a.id, "a", now + 2_000).await.unwrap());
    assert!(
        store
            .claim_task("b", now + 1_500, 1_000, 3)
            .await
            .unwrap()
            .is_none()
    );
    let b = store
        .claim_task("b", now + 2_500, 1_000, 3)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((b.id, b.attempts), (a.id, 2));
    // The worker that lost the lease cannot record its outcome over the new holder's.
    assert!(
        !store
            .finish_task(
                a.id,
                "a",
                TaskStatus::Succeeded,
                Some("{}"),
                None,
                now + 2_600
            )
            .await
            .unwrap()
    );
    assert!(
        store
            .finish_task(
                b.id,
                "b",
                TaskStatus::Succeeded,
                Some("{\"ok\":1}"),
                None,
                now + 2_700
            )
            .await
            .unwrap()
    );
    let done = store.get_task(a.id).await.unwrap();
    assert_eq!(done.status, TaskStatus::Succeeded);
    assert_eq!(done.result.as_deref(), Some("{\"ok\":1}"));

    // A task abandoned on every attempt is failed, not retried forever.
    store
        .enqueue_task(&new_task("slot-2"))
        .await
        .unwrap()
        .unwrap();
    let t = store.claim_task("a", now, 10, 1).await.unwrap().unwrap();
    assert!(
        store
            .claim_task("b", now + 100, 10, 1)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(store.fail_abandoned_tasks(now + 100, 1).await.unwrap(), 1);
    assert_eq!(
        store.get_task(t.id).await.unwrap().status,
        TaskStatus::Failed
    );

    // Concurrent claimers: each of ten tasks goes to exactly one of them.
    for i in 0..10 {
        store
            .enqueue_task(&new_task(&format!("many-{i}")))
            .await
            .unwrap()
            .unwrap();
    }
    let mut claimers = Vec::new();
    for w in 0..6 {
        let store = store.clone();
        claimers.push(tokio::spawn(async move {
            let mut got = Vec::new();
            while let Some(t) = store
                .claim_task(&format!("w{w}"), now_ms(), 60_000, 3)
                .await
                .unwrap()
            {
                got.push(t.id);
            }
            got
        }));
    }
    let mut all = Vec::new();
    for c in claimers {
        all.extend(c.await.unwrap());
    }
    let unique: BTreeSet<i64> = all.iter().copied().collect();
    assert_eq!(all.len(), 10, "{all:?}");
    assert_eq!(unique.len(), 10, "{all:?}");
}

/// Wait until `f` gives `Some`, for at most `limit`.
async fn eventually<T, F: std::future::Future<Output = Option<T>>>(
    limit: Duration,
    mut f: impl FnMut() -> F,
) -> T {
    let started = Instant::now();
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(started.elapsed() < limit, "gave up after {limit:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn set_properties(catalog: &RestCatalog, ident: &TableIdent, kv: &[(&str, &str)]) {
    catalog
        .commit_table(
            ident,
            vec![],
            vec![TableUpdate::SetProperties {
                updates: kv
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            }],
        )
        .await
        .unwrap();
}

async fn tasks(server: &TestServer, query: &str) -> Vec<Value> {
    let (s, v) = get(&format!("{}/management/v1/tasks{query}", server.url())).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v["tasks"].as_array().unwrap().clone()
}

#[tokio::test]
async fn scheduled_expiry_runs_through_the_task_queue() {
    let server = TestServer::start_with(|c| c.maintenance_poll = Duration::from_millis(100)).await;
    let catalog = connect(&server).await;
    let ident = TableIdent::new(["sched"], "events");
    let t = table_with_appends(&catalog, "sched", "events", 3).await;
    let first_files = live_data_files(&t).await;
    assert_eq!(t.metadata().snapshots().len(), 3);
    set_properties(
        &catalog,
        &ident,
        &[
            ("floe.maintenance.expire-snapshots.enabled", "true"),
            ("floe.maintenance.expire-snapshots.interval-ms", "300"),
            ("floe.maintenance.expire-snapshots.retain-last", "1"),
            ("floe.maintenance.expire-snapshots.max-snapshot-age-ms", "1"),
        ],
    )
    .await;
    let task = eventually(Duration::from_secs(20), || async {
        tasks(&server, "?status=succeeded&table=events")
            .await
            .into_iter()
            .last()
    })
    .await;
    assert_eq!(task["action"], "expire-snapshots");
    assert_eq!(task["namespace"], json!(["sched"]));
    assert_eq!(task["attempts"], 1);
    assert_eq!(task["options"]["retain-last"], 1);
    assert_eq!(
        task["result"]["expired-snapshot-ids"]
            .as_array()
            .unwrap()
            .len(),
        2,
        "{task}"
    );
    let t = catalog.load_table(&ident).await.unwrap();
    assert_eq!(
        t.metadata().snapshots().len(),
        1,
        "the schedule expired the history"
    );
    for f in &first_files {
        assert!(local(f).exists(), "appended files stay live: {f}");
    }
    let id = task["id"].as_i64().unwrap();
    let (s, one) = get(&format!("{}/management/v1/tasks/{id}", server.url())).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(one, task);
    let (s, v) = get(&format!("{}/management/v1/tasks/999999", server.url())).await;
    assert_error(s, &v, StatusCode::NOT_FOUND, "NotFoundException");
    let (s, v) = get(&format!("{}/management/v1/tasks?status=done", server.url())).await;
    assert_error(s, &v, StatusCode::BAD_REQUEST, "BadRequestException");

    // Turning the property off removes the schedule; dropping the table too.
    let store = server.state().service.store().clone();
    let wh = server.state().service.warehouse("default").await.unwrap();
    assert_eq!(
        store
            .table_schedules(&wh.id, "sched", "events")
            .await
            .unwrap()
            .len(),
        1
    );
    set_properties(
        &catalog,
        &ident,
        &[("floe.maintenance.expire-snapshots.enabled", "false")],
    )
    .await;
    assert!(
        store
            .table_schedules(&wh.id, "sched", "events")
            .await
            .unwrap()
            .is_empty()
    );
    set_properties(
        &catalog,
        &ident,
        &[("floe.maintenance.expire-snapshots.enabled", "true")],
    )
    .await;
    let s = store
        .table_schedules(&wh.id, "sched", "events")
        .await
        .unwrap();
    assert_eq!(s[0].interval_ms, 300);
    catalog.drop_table(&ident, false).await.unwrap();
    assert!(
        store
            .table_schedules(&wh.id, "sched", "events")
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn two_replicas_run_each_scheduled_task_once() {
    let fast = |c: &mut catalog_server::Config| c.maintenance_poll = Duration::from_millis(50);
    let server = TestServer::start_on(TestDatabase::postgres_required().await, fast).await;
    let replica = server.start_replica_with(fast).await;
    let catalog = connect(&server).await;
    let ident = TableIdent::new(["twice"], "events");
    table_with_appends(&catalog, "twice", "events", 2).await;
    set_properties(
        &catalog,
        &ident,
        &[
            ("floe.maintenance.expire-snapshots.enabled", "true"),
            ("floe.maintenance.expire-snapshots.interval-ms", "250"),
            ("floe.maintenance.expire-snapshots.retain-last", "1"),
            ("floe.maintenance.expire-snapshots.max-snapshot-age-ms", "1"),
        ],
    )
    .await;
    // Let both workers race over several slots.
    eventually(Duration::from_secs(20), || async {
        (tasks(&server, "?status=succeeded").await.len() >= 4).then_some(())
    })
    .await;
    set_properties(
        &catalog,
        &ident,
        &[("floe.maintenance.expire-snapshots.enabled", "false")],
    )
    .await;
    let all = eventually(Duration::from_secs(20), || async {
        let all = tasks(&server, "?pageSize=1000").await;
        all.iter()
            .all(|t| t["status"] == "succeeded" || t["status"] == "failed")
            .then_some(all)
    })
    .await;
    for t in &all {
        assert_eq!(t["status"], "succeeded", "{t}");
        assert_eq!(t["attempts"], 1, "each task ran once: {t}");
    }
    // The first run expired the older snapshot; no later run found anything to expire.
    let expired: usize = all
        .iter()
        .map(|t| {
            t["result"]["expired-snapshot-ids"]
                .as_array()
                .unwrap()
                .len()
        })
        .sum();
    assert_eq!(expired, 1, "{all:?}");
    // Both replicas list the same queue.
    assert_eq!(tasks(&replica, "?pageSize=1000").await, all);
    let t = catalog.load_table(&ident).await.unwrap();
    assert_eq!(t.metadata().snapshots().len(), 1);
    drop(replica);
}
