//! Shared helpers: a reqwest client and request builders for the REST API.

use reqwest::StatusCode;
use serde_json::{Value, json};

pub use catalog_server::testing::TestServer;

/// Scenarios that start many client processes (the 16-appender contention runs) take turns:
/// on a 2-core machine several at once starve every other test (schemathesis ran out of its
/// time budget when four of them overlapped it).
pub static MANY_CLIENTS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A client with no connection reuse surprises.
pub fn client() -> reqwest::Client {
    reqwest::Client::new()
}

/// `POST` JSON and return status and parsed body (Null when empty).
pub async fn post(url: &str, body: &Value) -> (StatusCode, Value) {
    let r = client().post(url).json(body).send().await.expect("request");
    let status = r.status();
    let text = r.text().await.expect("body");
    (status, parse(&text))
}

/// `GET` and return status and parsed body.
pub async fn get(url: &str) -> (StatusCode, Value) {
    let r = client().get(url).send().await.expect("request");
    let status = r.status();
    let text = r.text().await.expect("body");
    (status, parse(&text))
}

/// `DELETE` and return status and parsed body.
pub async fn delete(url: &str) -> (StatusCode, Value) {
    let r = client().delete(url).send().await.expect("request");
    let status = r.status();
    let text = r.text().await.expect("body");
    (status, parse(&text))
}

fn parse(text: &str) -> Value {
    if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_string()))
    }
}

/// Assert the Iceberg error model with `status` and `kind`.
pub fn assert_error(status: StatusCode, body: &Value, want: StatusCode, kind: &str) {
    assert_eq!(status, want, "body: {body}");
    let e = &body["error"];
    assert_eq!(e["type"], kind, "body: {body}");
    assert_eq!(e["code"], want.as_u16(), "body: {body}");
    assert!(
        e["message"].as_str().is_some_and(|m| !m.is_empty()),
        "body: {body}"
    );
}

/// `<url>/v1/default`.
pub fn base(server: &TestServer) -> String {
    format!("{}/v1/default", server.url())
}

/// A two-column schema (`id` long, `data` string).
pub fn schema() -> Value {
    json!({
        "type": "struct", "schema-id": 0,
        "fields": [
            {"id": 1, "name": "id", "required": false, "type": "long"},
            {"id": 2, "name": "data", "required": false, "type": "string"}
        ]
    })
}

/// Create a namespace (one level) and a table in it; returns the load result.
pub async fn create_table(server: &TestServer, ns: &str, name: &str) -> Value {
    let b = base(server);
    let (s, _) = post(&format!("{b}/namespaces"), &json!({"namespace": [ns]})).await;
    assert!(s == StatusCode::OK || s == StatusCode::CONFLICT, "{s}");
    let (s, body) = post(
        &format!("{b}/namespaces/{ns}/tables"),
        &json!({"name": name, "schema": schema()}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    body
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// A snapshot JSON appended on top of `parent` (the manifest list need not exist for
/// catalog-level tests).
pub fn snapshot(id: i64, parent: Option<i64>, seq: i64) -> Value {
    json!({
        "snapshot-id": id,
        "parent-snapshot-id": parent,
        "sequence-number": seq,
        "timestamp-ms": now_ms(),
        "manifest-list": format!("file:///nowhere/snap-{id}.avro"),
        "summary": {"operation": "append"},
        "schema-id": 0
    })
}

/// The commit body pyiceberg sends for an append: add-snapshot + set main, asserting main.
pub fn append_commit(id: i64, parent: Option<i64>, seq: i64) -> Value {
    json!({
        "requirements": [{"type": "assert-ref-snapshot-id", "ref": "main", "snapshot-id": parent}],
        "updates": [
            {"action": "add-snapshot", "snapshot": snapshot(id, parent, seq)},
            {"action": "set-snapshot-ref", "ref-name": "main", "type": "branch", "snapshot-id": id}
        ]
    })
}
