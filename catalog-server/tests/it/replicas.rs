//! Stateless replicas: two servers (each with its own caches and commit queues) on one
//! PostgreSQL database and one data directory serve one catalog.
//!
//! - What one replica commits, the other loads at once: a new body and a new ETag (no stale
//!   304), in both snapshot modes and both directions; both give the same ETag for the same
//!   state; namespace properties, renames and drops likewise; a warehouse created through one
//!   is usable through the other at once, and a stale warehouse entry never lets a write land.
//! - 16 pyiceberg appender processes (client retries off), half on each replica, 20 appends
//!   each (`rest_scenarios.py contention --replica-uri`): with rebasing on, all 320 land; with
//!   `floe.commit.rebase-appends=false` the losers get 409; either way exactly the acknowledged
//!   rows are there, the history is linear with strictly increasing sequence numbers, and
//!   both replicas load the same state.
//!
//! These tests need PostgreSQL whatever `FLOE_TEST_DATABASE` says (SQLite is one process's
//! file): they use its URL when it names PostgreSQL, else `FLOE_TEST_POSTGRES`, else
//! postgres://postgres@127.0.0.1:5432/postgres. An unreachable PostgreSQL fails them.

use catalog_server::testing::{TestDatabase, TestServer};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{append_commit, create_table, delete, get, post};

/// Two replicas on a fresh PostgreSQL database: the first owns it and the data directory.
async fn replicas() -> (TestServer, TestServer) {
    let a = TestServer::start_on(TestDatabase::postgres_required().await, |_| {}).await;
    let b = a.start_replica().await;
    (a, b)
}

/// `GET` a table with an optional `If-None-Match`; status, ETag and parsed body.
async fn load(url: &str, if_none_match: Option<&str>) -> (StatusCode, String, Value) {
    let mut req = reqwest::Client::new().get(url);
    if let Some(tag) = if_none_match {
        req = req.header("If-None-Match", tag);
    }
    let r = req.send().await.expect("load request");
    let status = r.status();
    let etag = r
        .headers()
        .get("etag")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let text = r.text().await.unwrap();
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap()
    };
    (status, etag, body)
}

fn table_url(server: &TestServer, ns: &str, name: &str) -> String {
    format!("{}/v1/default/namespaces/{ns}/tables/{name}", server.url())
}

/// A load through `server` with the tag it gave before a commit made elsewhere: a full 200
/// with a new tag and the commit's metadata; then the new tag gets 304.
async fn sees_commit(
    server: &TestServer,
    url: &str,
    old_tag: &str,
    location: &str,
    head: i64,
) -> String {
    let (s, tag, body) = load(url, Some(old_tag)).await;
    assert_eq!(s, StatusCode::OK, "{} served a stale 304", server.url());
    assert_ne!(tag, old_tag, "the ETag must change with the commit");
    assert_eq!(body["metadata-location"], location, "{body}");
    assert_eq!(body["metadata"]["current-snapshot-id"], head, "{body}");
    let (s, again, body) = load(url, Some(&tag)).await;
    assert_eq!(s, StatusCode::NOT_MODIFIED, "{body}");
    assert_eq!(again, tag);
    tag
}

#[tokio::test]
async fn replicas_share_one_catalog_and_see_each_others_commits() {
    let (a, b) = replicas().await;

    // One `default` warehouse row: the replica found it and created none.
    let wa = a.state().service.list_warehouses().await.unwrap();
    let wb = b.state().service.list_warehouses().await.unwrap();
    assert_eq!(wa.len(), 1, "{wa:?}");
    assert_eq!(wa[0].name, "default");
    assert_eq!(
        wa.iter().map(|w| &w.id).collect::<Vec<_>>(),
        wb.iter().map(|w| &w.id).collect::<Vec<_>>()
    );
    assert_eq!(wa[0].storage, wb[0].storage);
    assert_eq!(
        wa[0].storage.location(),
        format!(
            "file://{}",
            std::path::absolute(a.data_dir().join("warehouse"))
                .unwrap()
                .display()
        )
    );

    // Created through A, loaded through B: the same state gives the same tag on both.
    create_table(&a, "ns", "t").await;
    let (ua, ub) = (table_url(&a, "ns", "t"), table_url(&b, "ns", "t"));
    let (s, tag_b, body_b) = load(&ub, None).await;
    assert_eq!(s, StatusCode::OK, "{body_b}");
    let (_, tag_a, body_a) = load(&ua, None).await;
    assert_eq!(tag_a, tag_b, "replicas give one ETag for one state");
    assert_eq!(body_a, body_b);
    let refs = |u: &str| format!("{u}?snapshots=refs");
    let (_, refs_tag_b, _) = load(&refs(&ub), None).await;

    // A commit through A: B's next load (with its old tag) is the new state, in both modes.
    let (s, body) = post(&ua, &append_commit(1, None, 1)).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let loc1 = body["metadata-location"].as_str().unwrap().to_string();
    let tag_b = sees_commit(&b, &ub, &tag_b, &loc1, 1).await;
    sees_commit(&b, &refs(&ub), &refs_tag_b, &loc1, 1).await;

    // And the other way: a commit through B, seen by A with the tag A had.
    let (_, tag_a, _) = load(&ua, None).await;
    assert_eq!(tag_a, tag_b);
    let (s, body) = post(&ub, &append_commit(2, Some(1), 2)).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let loc2 = body["metadata-location"].as_str().unwrap().to_string();
    assert_ne!(loc1, loc2);
    sees_commit(&a, &ua, &tag_a, &loc2, 2).await;

    // A commit through A built on what B showed before B's own commit is stale: its
    // requirement is checked against the database's head, not a replica's memory.
    let (s, body) = post(&ua, &append_commit(3, Some(1), 2)).await;
    assert_eq!(s, StatusCode::CONFLICT, "{body}");
    let (_, _, now) = load(&ub, None).await;
    assert_eq!(now["metadata"]["current-snapshot-id"], 2);
    assert_eq!(now["metadata"]["snapshots"].as_array().unwrap().len(), 2);

    // Namespace properties set through A, read through B.
    let (s, body) = post(
        &format!("{}/v1/default/namespaces/ns/properties", a.url()),
        &json!({"updates": {"owner": "a"}}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (s, body) = get(&format!("{}/v1/default/namespaces/ns", b.url())).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["properties"]["owner"], "a", "{body}");

    // Renamed through B: A loads the new name at once, and the old one is gone.
    let (s, body) = post(
        &format!("{}/v1/default/tables/rename", b.url()),
        &json!({"source": {"namespace": ["ns"], "name": "t"},
                "destination": {"namespace": ["ns"], "name": "u"}}),
    )
    .await;
    assert!(s.is_success(), "{s} {body}");
    let (s, _, _) = load(&ua, None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _, body) = load(&table_url(&a, "ns", "u"), None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(body["metadata-location"], loc2.as_str());

    // Dropped through A: gone through B.
    let (s, body) = delete(&table_url(&a, "ns", "u")).await;
    assert!(s.is_success(), "{s} {body}");
    let (s, _, _) = load(&table_url(&b, "ns", "u"), None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    drop(b);
    drop(a);
}

/// Warehouses are the one thing a replica trusts from memory (for 5 s). A warehouse created
/// through one replica is usable through the other at once (misses are not cached); a
/// stale entry for a warehouse deleted (and recreated) elsewhere never lets a write land in
/// the wrong place, and the first write it fails drops the entry.
#[tokio::test]
async fn a_stale_warehouse_entry_never_misdirects_a_write() {
    let (a, b) = replicas().await;
    let dir = std::path::absolute(a.data_dir().join("w2")).unwrap();
    let create_w2 = || async {
        let (s, body) = post(
            &format!("{}/management/v1/warehouses", a.url()),
            &json!({"name": "w2", "storage": {"type": "file", "location": format!("file://{}", dir.display())}}),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{body}");
    };
    create_w2().await;
    let ns = |server: &TestServer| format!("{}/v1/w2/namespaces", server.url());
    let (s, body) = post(&ns(&b), &json!({"namespace": ["first"]})).await;
    assert_eq!(
        s,
        StatusCode::OK,
        "B uses a warehouse A just created: {body}"
    );
    let (s, body) = get(&format!("{}/first", ns(&a))).await;
    assert_eq!(s, StatusCode::OK, "{body}");

    // Deleted through A while B holds it in memory: B's writes find nothing to write into.
    let (s, body) = delete(&format!("{}/first", ns(&a))).await;
    assert!(s.is_success(), "{s} {body}");
    let (s, body) = delete(&format!("{}/management/v1/warehouses/w2", a.url())).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{body}");
    let (s, body) = post(&ns(&b), &json!({"namespace": ["ghost"]})).await;
    assert!(
        s.is_client_error(),
        "a write through B's stale entry must not land: {s} {body}"
    );

    // Recreated through A (a new id): whatever B answers while its entry is stale, nothing
    // lands except in the warehouse as it now is.
    create_w2().await;
    let (s, body) = post(&ns(&b), &json!({"namespace": ["second"]})).await;
    println!("B within its warehouse TTL after the recreation: {s} {body}");
    let (seen, listed) = get(&ns(&a)).await;
    assert_eq!(seen, StatusCode::OK, "{listed}");
    let names = listed["namespaces"].as_array().unwrap().clone();
    if s.is_success() {
        assert_eq!(names, vec![json!(["second"])], "{listed}");
    } else {
        assert!(s.is_client_error(), "{s} {body}");
        assert!(names.is_empty(), "{listed}");
    }

    // The failed creation dropped B's stale entry: B now uses the recreated warehouse.
    let (s, body) = post(&ns(&b), &json!({"namespace": ["third"]})).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (s, body) = get(&format!("{}/third", ns(&a))).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    drop(b);
    drop(a);
}

/// `floe_commits_total{outcome="committed"}` and `floe_commit_conflicts_total` of a server.
async fn commit_counts(server: &TestServer) -> (u64, u64) {
    let text = reqwest::get(format!("{}/metrics", server.url()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let value = |prefix: &str, needle: &str| -> u64 {
        text.lines()
            .filter(|l| l.starts_with(prefix) && l.contains(needle))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum::<f64>() as u64
    };
    (
        value("floe_commits_total", "\"committed\""),
        value("floe_commit_conflicts_total", ""),
    )
}

/// Total seconds per commit phase of a server, as one line.
async fn phase_seconds(server: &TestServer) -> String {
    let text = reqwest::get(format!("{}/metrics", server.url()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .filter_map(|l| l.strip_prefix("floe_commit_phase_seconds_sum{phase=\""))
        .map(|l| l.replace("\"} ", " "))
        .collect::<Vec<_>>()
        .join(", ")
}

/// 16 pyiceberg appender processes, 8 on each replica, 20 appends each, to one table.
async fn contention_on_two_replicas(rebase: &str) {
    let _turn = crate::common::MANY_CLIENTS.lock().await;
    let (a, b) = replicas().await;
    let args: Vec<String> = [
        "--writers",
        "16",
        "--rounds",
        "20",
        "--rebase",
        rebase,
        "--replica-uri",
        b.url(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    crate::interop::run_scenario_against("contention", a.url(), &args).await;
    let (ca, xa) = commit_counts(&a).await;
    let (cb, xb) = commit_counts(&b).await;
    // Replicas take turns on the table (the store's commit lock), so races lost at the swap
    // are rare; they are reported, not required.
    println!(
        "rebase {rebase}: commits landed through A {ca}, through B {cb}; \
         races lost at the pointer swap: A {xa}, B {xb}"
    );
    for (name, server) in [("A", &a), ("B", &b)] {
        println!(
            "{name}'s commit time by phase (s): {}",
            phase_seconds(server).await
        );
    }
    // The table's creation is one commit-free request; every landed append went through one
    // of the two replicas, and both took their share.
    assert!(ca > 0 && cb > 0, "both replicas committed: A {ca}, B {cb}");
    if rebase == "on" {
        assert_eq!(
            ca + cb,
            320,
            "every append landed through one replica or the other"
        );
    }
    drop(b);
    drop(a);
}

#[tokio::test]
async fn replicas_contention_16_appenders_all_land() {
    contention_on_two_replicas("on").await;
}

#[tokio::test]
async fn replicas_contention_16_appenders_without_rebase() {
    contention_on_two_replicas("off").await;
}
