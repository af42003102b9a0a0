//! Contention without losers: a stale pure append is rebased onto its branch's new head.
//!
//! Two table-format writers stage a fast append from the same base (their commit requests are
//! captured instead of sent) and then commit through raw REST with their original
//! requirements, so the second one is stale. With rebasing on (the default) it lands on top of
//! the first: both row sets are readable, the history is linear with increasing sequence
//! numbers, and the head's manifest list holds both appends' manifests (v2, and v3 with
//! first-row-id). With `floe.commit.rebase-appends=false`, or when the commit is more than an
//! append, or when it replays a snapshot that already landed, the stale commit gets 409.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use arrow_array::{Array, Int64Array, RecordBatch, StringArray};
use async_trait::async_trait;
use catalog_server::testing::TestServer;
use reqwest::StatusCode;
use serde_json::{Value, json};
use table_format::arrow::iceberg_schema_to_arrow;
use table_format::avro::read_manifest_list;
use table_format::catalog::{Catalog, RestCatalog, RestCatalogConfig, TableCreation, TableIdent};
use table_format::io::FileIO;
use table_format::spec::{NestedField, PrimitiveType, Schema, TableRequirement, TableUpdate};
use table_format::table::Table;

fn schema() -> Schema {
    Schema::builder()
        .with_fields([
            NestedField::optional(1, "id", PrimitiveType::Long),
            NestedField::optional(2, "name", PrimitiveType::String),
        ])
        .build()
        .unwrap()
}

/// Rows `start..start + n`.
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

async fn ids(table: &Table) -> Vec<i64> {
    let batches = table.scan().to_arrow().await.unwrap();
    let mut out: Vec<i64> = batches
        .iter()
        .flat_map(|b| {
            let col = b
                .column(b.schema().index_of("id").unwrap())
                .as_any()
                .downcast_ref::<Int64Array>()
                .unwrap()
                .clone();
            (0..col.len()).map(move |i| col.value(i))
        })
        .collect();
    out.sort_unstable();
    out
}

/// A catalog that loads through the server but keeps a commit's requirements and updates
/// instead of sending them: a writer "stages" its append.
#[derive(Debug)]
struct Staging {
    inner: RestCatalog,
    staged: Mutex<Option<(Vec<TableRequirement>, Vec<TableUpdate>)>>,
}

#[async_trait]
impl Catalog for Staging {
    fn file_io(&self) -> &FileIO {
        self.inner.file_io()
    }
    async fn load_table(&self, ident: &TableIdent) -> table_format::Result<Table> {
        self.inner.load_table(ident).await
    }
    async fn create_table(
        &self,
        ident: &TableIdent,
        creation: TableCreation,
    ) -> table_format::Result<Table> {
        self.inner.create_table(ident, creation).await
    }
    async fn commit_table(
        &self,
        _ident: &TableIdent,
        requirements: Vec<TableRequirement>,
        updates: Vec<TableUpdate>,
    ) -> table_format::Result<Table> {
        *self.staged.lock().unwrap() = Some((requirements, updates));
        // Not a conflict: the operation must keep the files it wrote.
        Err(table_format::Error::commit_state_unknown(
            "staged, not sent",
        ))
    }
    async fn drop_table(&self, ident: &TableIdent, purge: bool) -> table_format::Result<()> {
        self.inner.drop_table(ident, purge).await
    }
    async fn list_tables(&self, namespace: &[String]) -> table_format::Result<Vec<TableIdent>> {
        self.inner.list_tables(namespace).await
    }
}

/// An append of `rows` built on `base`, as the JSON body of a commit request, plus the id of
/// the snapshot it adds.
async fn stage_append(catalog: &RestCatalog, base: &Table, rows: RecordBatch) -> (Value, i64) {
    let staging = Staging {
        inner: catalog.clone(),
        staged: Mutex::new(None),
    };
    let err = base
        .fast_append()
        .add_batches(&[rows])
        .await
        .unwrap()
        .commit(&staging)
        .await
        .unwrap_err();
    assert!(err.message().contains("staged"), "{err}");
    let (requirements, updates) = staging.staged.lock().unwrap().take().unwrap();
    let id = updates
        .iter()
        .find_map(|u| match u {
            TableUpdate::AddSnapshot { snapshot } => Some(snapshot.snapshot_id),
            _ => None,
        })
        .unwrap();
    (
        json!({"requirements": requirements, "updates": updates}),
        id,
    )
}

async fn post(url: &str, body: &Value) -> (StatusCode, Value) {
    let r = reqwest::Client::new()
        .post(url)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// A table with one committed append of ids 0..10, in format `version`.
async fn setup(
    server: &TestServer,
    name: &str,
    version: &str,
    props: &[(&str, &str)],
) -> (RestCatalog, TableIdent, Table, String) {
    let catalog = RestCatalog::connect(RestCatalogConfig::new(server.url()).warehouse("default"))
        .await
        .unwrap();
    if !catalog.namespace_exists(&["db".to_string()]).await.unwrap() {
        catalog
            .create_namespace(&["db".to_string()], HashMap::new())
            .await
            .unwrap();
    }
    let ident = TableIdent::new(["db"], name);
    let mut creation = TableCreation::new(schema()).with_property("format-version", version);
    for (k, v) in props {
        creation = creation.with_property(*k, *v);
    }
    let created = catalog.create_table(&ident, creation).await.unwrap();
    let base = created
        .fast_append()
        .add_batches(&[batch(0, 10)])
        .await
        .unwrap()
        .commit(&catalog)
        .await
        .unwrap();
    let url = format!("{}/v1/default/namespaces/db/tables/{name}", server.url());
    (catalog, ident, base, url)
}

async fn rebases_counted(server: &TestServer) -> String {
    let text = reqwest::get(format!("{}/metrics", server.url()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find(|l| l.starts_with("floe_commit_rebases_total"))
        .unwrap_or("")
        .to_string()
}

async fn stale_append_lands_rebased(version: &str) {
    let server = TestServer::start().await;
    let (catalog, ident, base, url) = setup(&server, "t", version, &[]).await;
    let base_id = base.metadata().current_snapshot_id().unwrap();
    let (first, first_id) = stage_append(&catalog, &base, batch(100, 5)).await;
    let (second, second_id) = stage_append(&catalog, &base, batch(200, 7)).await;

    let (s, body) = post(&url, &first).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    // The second writer's requirement (main at the base) no longer holds: rebased.
    let (s, body) = post(&url, &second).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let md = &body["metadata"];
    assert_eq!(md["current-snapshot-id"], second_id, "{body}");
    let head = md["snapshots"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["snapshot-id"] == second_id)
        .unwrap();
    assert_eq!(head["parent-snapshot-id"], first_id, "{head}");
    assert_eq!(
        rebases_counted(&server).await,
        "floe_commit_rebases_total 1"
    );

    let t = catalog.load_table(&ident).await.unwrap();
    let mut expected: Vec<i64> = (0..10).collect();
    expected.extend(100..105);
    expected.extend(200..207);
    assert_eq!(ids(&t).await, expected);

    // One linear history with strictly increasing sequence numbers.
    let m = t.metadata();
    assert_eq!(m.snapshots().len(), 3);
    let mut chain = Vec::new();
    let mut cur = m.current_snapshot_id();
    while let Some(id) = cur {
        let s = m.snapshot_by_id(id).unwrap();
        chain.push(s.clone());
        cur = s.parent_snapshot_id;
    }
    let chain_ids: Vec<i64> = chain.iter().map(|s| s.snapshot_id).collect();
    assert_eq!(chain_ids, vec![second_id, first_id, base_id]);
    let seqs: Vec<i64> = chain.iter().rev().map(|s| s.sequence_number).collect();
    assert_eq!(seqs, vec![1, 2, 3]);
    assert_eq!(m.last_sequence_number(), 3);

    // The head's manifest list: the second append's own manifest (new sequence number) and
    // every manifest of the first append's snapshot.
    let io = t.file_io();
    let rebased = &chain[0];
    let first_snap = &chain[1];
    assert!(rebased.manifest_list.contains("-rebased-"), "{rebased:?}");
    let head_list = read_manifest_list(&io.read(&rebased.manifest_list).await.unwrap()).unwrap();
    let first_list =
        read_manifest_list(&io.read(&first_snap.manifest_list).await.unwrap()).unwrap();
    let head_paths: HashSet<&str> = head_list.iter().map(|m| m.manifest_path.as_str()).collect();
    for m in &first_list {
        assert!(head_paths.contains(m.manifest_path.as_str()), "{m:?}");
    }
    let own: Vec<_> = head_list
        .iter()
        .filter(|m| m.added_snapshot_id == second_id)
        .collect();
    assert_eq!(own.len(), 1, "{head_list:?}");
    assert_eq!(head_list.len(), first_list.len() + 1);
    assert_eq!(own[0].sequence_number, 3);
    assert_eq!(own[0].min_sequence_number, 3);
    assert_eq!(own[0].added_rows_count, 7);

    // Summary: the second append's own counts, totals on top of the first append's.
    let sum = &rebased.summary;
    assert_eq!(sum.get("added-records"), Some("7"));
    assert_eq!(sum.get("added-data-files"), Some("1"));
    assert_eq!(sum.get("total-records"), Some("22"));
    assert_eq!(sum.get("total-data-files"), Some("3"));
    let size = |s: &table_format::spec::Snapshot, k: &str| -> i64 {
        s.summary.get(k).unwrap().parse().unwrap()
    };
    assert_eq!(
        size(rebased, "total-files-size"),
        size(first_snap, "total-files-size") + size(rebased, "added-files-size")
    );

    if version == "3" {
        // Row lineage: the rebased snapshot's rows get ids after the first append's.
        assert_eq!(first_snap.first_row_id, Some(10));
        assert_eq!(first_snap.added_rows, Some(5));
        assert_eq!(rebased.first_row_id, Some(15));
        assert_eq!(rebased.added_rows, Some(7));
        assert_eq!(own[0].first_row_id, Some(15));
        assert_eq!(m.next_row_id(), Some(22));
    }
}

#[tokio::test]
async fn stale_append_is_rebased_v2() {
    stale_append_lands_rebased("2").await;
}

#[tokio::test]
async fn stale_append_is_rebased_v3() {
    stale_append_lands_rebased("3").await;
}

#[tokio::test]
async fn stale_commits_that_are_not_rebased_get_409() {
    let server = TestServer::start().await;

    // Rebasing turned off by the table property.
    let (catalog, ident, base, url) = setup(
        &server,
        "off",
        "2",
        &[("floe.commit.rebase-appends", "false")],
    )
    .await;
    let (first, _) = stage_append(&catalog, &base, batch(100, 5)).await;
    let (second, _) = stage_append(&catalog, &base, batch(200, 7)).await;
    let (s, body) = post(&url, &first).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (s, body) = post(&url, &second).await;
    assert_eq!(s, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["error"]["type"], "CommitFailedException");
    let msg = body["error"]["message"].as_str().unwrap();
    assert!(msg.contains("floe.commit.rebase-appends=false"), "{msg}");
    let t = catalog.load_table(&ident).await.unwrap();
    assert_eq!(t.metadata().snapshots().len(), 2);
    let mut expected: Vec<i64> = (0..10).collect();
    expected.extend(100..105);
    assert_eq!(ids(&t).await, expected);

    // Rebasing on, but the stale commit also sets a property: more than an append.
    let (catalog, ident, base, url) = setup(&server, "mixed", "2", &[]).await;
    let (first, first_id) = stage_append(&catalog, &base, batch(100, 5)).await;
    let (mut second, _) = stage_append(&catalog, &base, batch(200, 7)).await;
    second["updates"]
        .as_array_mut()
        .unwrap()
        .push(json!({"action": "set-properties", "updates": {"k": "v"}}));
    let (s, body) = post(&url, &first).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (s, body) = post(&url, &second).await;
    assert_eq!(s, StatusCode::CONFLICT, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not rebased"),
        "{body}"
    );
    // The first writer replays its commit (as after a lost response): the snapshot is
    // already there, so it must not land twice.
    let (s, body) = post(&url, &first).await;
    assert_eq!(s, StatusCode::CONFLICT, "{body}");
    let t = catalog.load_table(&ident).await.unwrap();
    assert_eq!(t.metadata().current_snapshot_id(), Some(first_id));
    assert_eq!(t.metadata().snapshots().len(), 2);
    assert!(t.metadata().properties().get("k").is_none());
    assert_eq!(ids(&t).await.len(), 15);
    // Nothing was rebased, so no rebased manifest list was left behind.
    assert_eq!(
        rebases_counted(&server).await,
        "floe_commit_rebases_total 0"
    );
    let stray: Vec<String> = walk(&server.data_dir().join("warehouse"))
        .into_iter()
        .filter(|f| f.contains("-rebased-"))
        .collect();
    assert!(stray.is_empty(), "{stray:?}");
}

fn walk(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p.display().to_string());
            }
        }
    }
    out
}

/// Many stale appenders at once: every one lands, the history stays linear.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_stale_appends_all_land() {
    let server = TestServer::start().await;
    let (catalog, ident, base, url) = setup(&server, "busy", "2", &[]).await;
    let mut staged = Vec::new();
    for w in 0..8i64 {
        staged.push(stage_append(&catalog, &base, batch(1000 * (w + 1), 3)).await);
    }
    let tasks: Vec<_> = staged
        .into_iter()
        .map(|(body, _)| {
            let url = url.clone();
            tokio::spawn(async move { post(&url, &body).await })
        })
        .collect();
    for t in tasks {
        let (s, body) = t.await.unwrap();
        assert_eq!(s, StatusCode::OK, "{body}");
    }
    let t = catalog.load_table(&ident).await.unwrap();
    let m = t.metadata();
    assert_eq!(m.snapshots().len(), 9);
    let mut cur = m.current_snapshot_id();
    let mut seqs = Vec::new();
    while let Some(id) = cur {
        let s = m.snapshot_by_id(id).unwrap();
        seqs.push(s.sequence_number);
        cur = s.parent_snapshot_id;
    }
    seqs.reverse();
    assert_eq!(seqs, (1..=9).collect::<Vec<i64>>());
    let mut expected: Vec<i64> = (0..10).collect();
    for w in 0..8i64 {
        expected.extend(1000 * (w + 1)..1000 * (w + 1) + 3);
    }
    assert_eq!(ids(&t).await, expected);
    assert_eq!(
        t.metadata()
            .current_snapshot()
            .unwrap()
            .summary
            .get("total-records"),
        Some("34")
    );
}
