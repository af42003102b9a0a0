//! The REST API over raw HTTP: what every client relies on, checked status by status.

use std::path::Path;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::*;

fn files_under(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p.display().to_string());
            }
        }
    }
    out
}

fn local_path(uri: &str) -> String {
    uri.trim_start_matches("file://").to_string()
}

async fn metadata_location(b: &str, ns: &str, t: &str) -> String {
    let (s, body) = get(&format!("{b}/namespaces/{ns}/tables/{t}")).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    body["metadata-location"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn config_names_the_warehouse_prefix_and_endpoints() {
    let server = TestServer::start().await;
    let (s, body) = get(&format!("{}/v1/config", server.url())).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(body["overrides"]["prefix"], "default");
    assert!(body["defaults"].is_object());
    let endpoints: Vec<&str> = body["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap())
        .collect();
    for e in [
        "POST /v1/{prefix}/transactions/commit",
        "GET /v1/{prefix}/namespaces/{namespace}/tables/{table}",
        "POST /v1/{prefix}/tables/rename",
    ] {
        assert!(endpoints.contains(&e), "{e} missing from {endpoints:?}");
    }
    let (s, body) = get(&format!("{}/v1/config?warehouse=default", server.url())).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(body["overrides"]["prefix"], "default");
    let (s, body) = get(&format!("{}/v1/config?warehouse=nope", server.url())).await;
    assert_error(s, &body, StatusCode::NOT_FOUND, "NoSuchWarehouseException");
}

#[tokio::test]
async fn warehouses_are_managed_over_http() {
    let server = TestServer::start().await;
    let m = format!("{}/management/v1/warehouses", server.url());
    let dir = server.data_dir().join("second");
    let storage = json!({"type": "file", "location": format!("file://{}", dir.display())});
    let (s, body) = post(&m, &json!({"name": "second", "storage": storage})).await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    assert_eq!(body["name"], "second");
    assert!(dir.is_dir(), "the warehouse directory is created");
    let (s, body) = post(&m, &json!({"name": "second", "storage": storage})).await;
    assert_error(s, &body, StatusCode::CONFLICT, "AlreadyExistsException");

    let s3 = json!({"name": "lake", "storage": {"type": "s3", "location": "s3://bucket/lake",
        "endpoint": "http://127.0.0.1:9000", "region": "us-east-1", "path-style-access": true,
        "access-key-id": "AK", "secret-access-key": "SECRET"}});
    let (s, body) = post(&m, &s3).await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    assert_eq!(body["storage"]["secret-access-key"], "********");
    let (_, list) = get(&m).await;
    let names: Vec<&str> = list["warehouses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["default", "lake", "second"]);
    assert!(!list.to_string().contains("SECRET"));
    let (s, body) = get(&format!("{}/v1/config?warehouse=lake", server.url())).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(body["overrides"]["prefix"], "lake");
    assert_eq!(body["defaults"]["s3.endpoint"], "http://127.0.0.1:9000");

    for (bad, why) in [
        (
            json!({"name": "namespaces", "storage": storage}),
            "reserved",
        ),
        (
            json!({"name": "rel", "storage": {"type": "file", "location": "file://relative/dir"}}),
            "relative",
        ),
        (
            json!({"name": "a/b", "storage": storage}),
            "path separator in the name",
        ),
        (
            json!({"name": "x", "storage": {"type": "ftp", "location": "ftp://x"}}),
            "unknown storage type",
        ),
    ] {
        let (s, body) = post(&m, &bad).await;
        assert_error(s, &body, StatusCode::BAD_REQUEST, "BadRequestException");
        let _ = why;
    }

    // A warehouse with namespaces cannot be deleted; an empty one can.
    let wb = format!("{}/v1/second", server.url());
    let (s, _) = post(&format!("{wb}/namespaces"), &json!({"namespace": ["ns"]})).await;
    assert_eq!(s, StatusCode::OK);
    let (s, body) = delete(&format!("{m}/second")).await;
    assert_error(s, &body, StatusCode::CONFLICT, "WarehouseNotEmptyException");
    let (s, _) = delete(&format!("{wb}/namespaces/ns")).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = delete(&format!("{m}/second")).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, body) = get(&format!("{m}/second")).await;
    assert_error(s, &body, StatusCode::NOT_FOUND, "NoSuchWarehouseException");
    let (s, body) = get(&format!("{wb}/namespaces")).await;
    assert_error(s, &body, StatusCode::NOT_FOUND, "NoSuchWarehouseException");
}

#[tokio::test]
async fn nested_namespaces_properties_and_pagination() {
    let server = TestServer::start().await;
    let b = base(&server);
    let (s, body) = post(
        &format!("{b}/namespaces"),
        &json!({"namespace": ["a"], "properties": {"owner": "ml", "tier": "gold"}}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(
        body,
        json!({"namespace": ["a"], "properties": {"owner": "ml", "tier": "gold"}})
    );
    let (s, _) = post(
        &format!("{b}/namespaces"),
        &json!({"namespace": ["a", "b"]}),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = post(
        &format!("{b}/namespaces"),
        &json!({"namespace": ["a", "b", "c"]}),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (s, body) = post(&format!("{b}/namespaces"), &json!({"namespace": ["a"]})).await;
    assert_error(s, &body, StatusCode::CONFLICT, "AlreadyExistsException");
    let (s, body) = post(
        &format!("{b}/namespaces"),
        &json!({"namespace": ["x", "y"]}),
    )
    .await;
    assert_error(s, &body, StatusCode::NOT_FOUND, "NoSuchNamespaceException");

    let (s, body) = get(&format!("{b}/namespaces/a%1Fb")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(body["namespace"], json!(["a", "b"]));
    let (_, body) = get(&format!("{b}/namespaces?parent=a")).await;
    assert_eq!(body["namespaces"], json!([["a", "b"]]));
    let (_, body) = get(&format!("{b}/namespaces?parent=a%1Fb")).await;
    assert_eq!(body["namespaces"], json!([["a", "b", "c"]]));
    let (_, body) = get(&format!("{b}/namespaces")).await;
    assert_eq!(body["namespaces"], json!([["a"]]));
    assert!(body["next-page-token"].is_null());

    // Properties: removals, updates, and keys that were not there.
    let (s, body) = post(
        &format!("{b}/namespaces/a/properties"),
        &json!({"removals": ["tier", "nothere"], "updates": {"owner": "bi", "new": "1"}}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["removed"], json!(["tier"]));
    assert_eq!(body["missing"], json!(["nothere"]));
    let mut updated: Vec<&str> = body["updated"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    updated.sort();
    assert_eq!(updated, ["new", "owner"]);
    let (_, body) = get(&format!("{b}/namespaces/a")).await;
    assert_eq!(body["properties"], json!({"owner": "bi", "new": "1"}));
    let (s, body) = post(
        &format!("{b}/namespaces/a/properties"),
        &json!({"removals": ["owner"], "updates": {"owner": "x"}}),
    )
    .await;
    assert_error(
        s,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "UnprocessableEntityException",
    );

    // Pagination: follow tokens until the last page; every namespace exactly once.
    for i in 0..5 {
        let (s, _) = post(
            &format!("{b}/namespaces"),
            &json!({"namespace": [format!("p{i}")]}),
        )
        .await;
        assert_eq!(s, StatusCode::OK);
    }
    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        let url = match &token {
            Some(t) => format!("{b}/namespaces?pageSize=2&pageToken={t}"),
            None => format!("{b}/namespaces?pageSize=2"),
        };
        let (s, body) = get(&url).await;
        assert_eq!(s, StatusCode::OK, "{body}");
        pages += 1;
        for ns in body["namespaces"].as_array().unwrap() {
            seen.push(ns[0].as_str().unwrap().to_string());
        }
        match body["next-page-token"].as_str() {
            Some(t) => token = Some(t.to_string()),
            None => break,
        }
    }
    assert_eq!(seen, ["a", "p0", "p1", "p2", "p3", "p4"]);
    assert_eq!(pages, 3);
    let (s, body) = get(&format!("{b}/namespaces?pageToken=zz")).await;
    assert_error(s, &body, StatusCode::BAD_REQUEST, "BadRequestException");
    let (s, body) = get(&format!("{b}/namespaces?pageSize=0")).await;
    assert_error(s, &body, StatusCode::BAD_REQUEST, "BadRequestException");
    let (s, body) = get(&format!("{b}/namespaces?pageSize=many")).await;
    assert_error(s, &body, StatusCode::BAD_REQUEST, "BadRequestException");

    // HEAD and drop.
    let r = client()
        .head(format!("{b}/namespaces/a%1Fb"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = client()
        .head(format!("{b}/namespaces/zz"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let (s, body) = delete(&format!("{b}/namespaces/a%1Fb")).await;
    assert_error(s, &body, StatusCode::CONFLICT, "NamespaceNotEmptyException");
    let (s, _) = delete(&format!("{b}/namespaces/a%1Fb%1Fc")).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = delete(&format!("{b}/namespaces/a%1Fb")).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, body) = get(&format!("{b}/namespaces/a%1Fb")).await;
    assert_error(s, &body, StatusCode::NOT_FOUND, "NoSuchNamespaceException");
    let (s, body) = delete(&format!("{b}/namespaces/a%1Fb")).await;
    assert_error(s, &body, StatusCode::NOT_FOUND, "NoSuchNamespaceException");
}

#[tokio::test]
async fn unprefixed_paths_reach_the_default_warehouse() {
    let server = TestServer::start().await;
    let (s, _) = post(
        &format!("{}/v1/namespaces", server.url()),
        &json!({"namespace": ["plain"]}),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (s, body) = get(&format!("{}/v1/default/namespaces/plain", server.url())).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (s, body) = get(&format!("{}/v1/namespaces?pageSize=10", server.url())).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["namespaces"], json!([["plain"]]));
}

#[tokio::test]
async fn create_load_etag_and_snapshot_modes() {
    let server = TestServer::start().await;
    let b = base(&server);
    let created = create_table(&server, "db", "t").await;
    let loc = created["metadata-location"].as_str().unwrap();
    assert!(
        loc.ends_with(".metadata.json") && loc.contains("/metadata/00000-"),
        "{loc}"
    );
    assert!(Path::new(&local_path(loc)).is_file());
    let warehouse = server.data_dir().join("warehouse");
    assert!(
        local_path(created["metadata"]["location"].as_str().unwrap())
            .starts_with(&warehouse.display().to_string())
    );
    let (s, body) = post(
        &format!("{b}/namespaces/db/tables"),
        &json!({"name": "t", "schema": schema()}),
    )
    .await;
    assert_error(s, &body, StatusCode::CONFLICT, "AlreadyExistsException");
    let (s, body) = post(
        &format!("{b}/namespaces/nope/tables"),
        &json!({"name": "t", "schema": schema()}),
    )
    .await;
    assert_error(s, &body, StatusCode::NOT_FOUND, "NoSuchNamespaceException");

    let url = format!("{b}/namespaces/db/tables/t");
    let r = client().get(&url).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let etag = r.headers()["etag"].to_str().unwrap().to_string();
    let r = client()
        .get(&url)
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(r.headers()["etag"].to_str().unwrap(), etag);
    assert!(r.bytes().await.unwrap().is_empty());

    // Three appends and a tag on the first: refs mode keeps only what refs point at.
    let mut parent = None;
    for (i, id) in [101i64, 102, 103].into_iter().enumerate() {
        let (s, body) = post(&url, &append_commit(id, parent, i as i64 + 1)).await;
        assert_eq!(s, StatusCode::OK, "{body}");
        parent = Some(id);
    }
    let (s, body) = post(
        &url,
        &json!({"requirements": [], "updates": [
            {"action": "set-snapshot-ref", "ref-name": "first", "type": "tag", "snapshot-id": 101}
        ]}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let r = client()
        .get(&url)
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "a changed table is sent again");
    let (_, all) = get(&url).await;
    assert_eq!(all["metadata"]["snapshots"].as_array().unwrap().len(), 3);
    let (_, refs) = get(&format!("{url}?snapshots=refs")).await;
    let mut ids: Vec<i64> = refs["metadata"]["snapshots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["snapshot-id"].as_i64().unwrap())
        .collect();
    ids.sort();
    assert_eq!(ids, [101, 103]);
    let (s, body) = get(&format!("{url}?snapshots=some")).await;
    assert_error(s, &body, StatusCode::BAD_REQUEST, "BadRequestException");
    let r = client().head(&url).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = client()
        .head(format!("{b}/namespaces/db/tables/zz"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let (s, body) = get(&format!("{b}/namespaces/db/tables/zz")).await;
    assert_error(s, &body, StatusCode::NOT_FOUND, "NoSuchTableException");
}

#[tokio::test]
async fn stage_create_persists_nothing_until_the_assert_create_commit() {
    let server = TestServer::start().await;
    let b = base(&server);
    let (s, _) = post(&format!("{b}/namespaces"), &json!({"namespace": ["db"]})).await;
    assert_eq!(s, StatusCode::OK);
    let before = files_under(&server.data_dir().join("warehouse"));
    let (s, staged) = post(
        &format!("{b}/namespaces/db/tables"),
        &json!({"name": "st", "schema": schema(), "stage-create": true,
                "properties": {"format-version": "2"}}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{staged}");
    assert!(staged["metadata-location"].is_null());
    assert_eq!(files_under(&server.data_dir().join("warehouse")), before);
    let r = client()
        .head(format!("{b}/namespaces/db/tables/st"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);

    let md = &staged["metadata"];
    let change = json!({
        "identifier": {"namespace": ["db"], "name": "st"},
        "requirements": [{"type": "assert-create"}],
        "updates": [
            {"action": "assign-uuid", "uuid": md["table-uuid"]},
            {"action": "upgrade-format-version", "format-version": 2},
            {"action": "add-schema", "schema": schema()},
            {"action": "set-current-schema", "schema-id": -1},
            {"action": "add-spec", "spec": {"spec-id": 0, "fields": []}},
            {"action": "set-default-spec", "spec-id": -1},
            {"action": "add-sort-order", "sort-order": {"order-id": 0, "fields": []}},
            {"action": "set-default-sort-order", "sort-order-id": -1},
            {"action": "set-location", "location": md["location"]},
            {"action": "set-properties", "updates": {"owner": "duck"}}
        ]
    });
    let r = client()
        .post(format!("{b}/transactions/commit"))
        .json(&json!({"table-changes": [change]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let (s, loaded) = get(&format!("{b}/namespaces/db/tables/st")).await;
    assert_eq!(s, StatusCode::OK, "{loaded}");
    assert_eq!(loaded["metadata"]["table-uuid"], md["table-uuid"]);
    assert_eq!(loaded["metadata"]["properties"]["owner"], "duck");
    // The same create again: the table exists now.
    let r = client()
        .post(format!("{b}/transactions/commit"))
        .json(&json!({"table-changes": [change]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CONFLICT);
}

#[tokio::test]
async fn drop_purges_only_when_asked() {
    let server = TestServer::start().await;
    let b = base(&server);
    let mut dirs = Vec::new();
    for t in ["keep1", "keep2", "purge"] {
        let created = create_table(&server, "db", t).await;
        dirs.push(local_path(
            created["metadata"]["location"].as_str().unwrap(),
        ));
    }
    let (s, body) = delete(&format!(
        "{b}/namespaces/db/tables/keep1?purgeRequested=maybe"
    ))
    .await;
    assert_error(s, &body, StatusCode::BAD_REQUEST, "BadRequestException");
    let (s, _) = delete(&format!("{b}/namespaces/db/tables/keep1")).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = delete(&format!(
        "{b}/namespaces/db/tables/keep2?purgeRequested=False"
    ))
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = delete(&format!(
        "{b}/namespaces/db/tables/purge?purgeRequested=TRUE"
    ))
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert!(
        !files_under(Path::new(&dirs[0])).is_empty(),
        "no parameter never purges"
    );
    assert!(
        !files_under(Path::new(&dirs[1])).is_empty(),
        "False keeps files"
    );
    assert!(files_under(Path::new(&dirs[2])).is_empty(), "TRUE purges");
    for t in ["keep1", "keep2", "purge"] {
        let (s, body) = get(&format!("{b}/namespaces/db/tables/{t}")).await;
        assert_error(s, &body, StatusCode::NOT_FOUND, "NoSuchTableException");
    }
    let (s, body) = delete(&format!("{b}/namespaces/db/tables/keep1")).await;
    assert_error(s, &body, StatusCode::NOT_FOUND, "NoSuchTableException");
}

#[tokio::test]
async fn rename_and_register() {
    let server = TestServer::start().await;
    let b = base(&server);
    create_table(&server, "db", "t").await;
    create_table(&server, "other", "taken").await;
    let rename = |from: (&str, &str), to: (&str, &str)| {
        json!({"source": {"namespace": [from.0], "name": from.1},
               "destination": {"namespace": [to.0], "name": to.1}})
    };
    let (s, body) = post(
        &format!("{b}/tables/rename"),
        &rename(("db", "t"), ("other", "taken")),
    )
    .await;
    assert_error(s, &body, StatusCode::CONFLICT, "AlreadyExistsException");
    let (s, body) = post(
        &format!("{b}/tables/rename"),
        &rename(("db", "zz"), ("db", "yy")),
    )
    .await;
    assert_error(s, &body, StatusCode::NOT_FOUND, "NoSuchTableException");
    let (s, body) = post(
        &format!("{b}/tables/rename"),
        &rename(("db", "t"), ("nons", "t")),
    )
    .await;
    assert_error(s, &body, StatusCode::NOT_FOUND, "NoSuchNamespaceException");
    let loc = metadata_location(&b, "db", "t").await;
    let r = client()
        .post(format!("{b}/tables/rename"))
        .json(&rename(("db", "t"), ("other", "moved")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(metadata_location(&b, "other", "moved").await, loc);
    let (s, _) = get(&format!("{b}/namespaces/db/tables/t")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // Register a dropped table's metadata file under a new name.
    let (s, _) = delete(&format!("{b}/namespaces/other/tables/moved")).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, body) = post(
        &format!("{b}/namespaces/db/register"),
        &json!({"name": "back", "metadata-location": loc}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["metadata-location"], loc);
    assert_eq!(metadata_location(&b, "db", "back").await, loc);
    let (s, body) = post(
        &format!("{b}/namespaces/db/register"),
        &json!({"name": "back", "metadata-location": loc}),
    )
    .await;
    assert_error(s, &body, StatusCode::CONFLICT, "AlreadyExistsException");
    let (s, body) = post(
        &format!("{b}/namespaces/db/register"),
        &json!({"name": "evil", "metadata-location": "file:///etc/passwd"}),
    )
    .await;
    assert_error(s, &body, StatusCode::BAD_REQUEST, "BadRequestException");
    let missing = loc.replace("00000-", "00009-");
    let (s, body) = post(
        &format!("{b}/namespaces/db/register"),
        &json!({"name": "ghost", "metadata-location": missing}),
    )
    .await;
    assert_error(s, &body, StatusCode::BAD_REQUEST, "BadRequestException");
}

#[tokio::test]
async fn commits_check_requirements_and_reject_invalid_updates() {
    let server = TestServer::start().await;
    let b = base(&server);
    create_table(&server, "db", "t").await;
    let url = format!("{b}/namespaces/db/tables/t");
    let (s, body) = post(&url, &append_commit(1, None, 1)).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert!(
        body["metadata-location"]
            .as_str()
            .unwrap()
            .contains("/00001-")
    );
    assert_eq!(body["metadata"]["current-snapshot-id"], 1);
    let loc = metadata_location(&b, "db", "t").await;

    // A stale writer: main moved, so its requirement fails.
    let (s, body) = post(&url, &append_commit(2, None, 2)).await;
    assert_error(s, &body, StatusCode::CONFLICT, "CommitFailedException");
    assert!(
        body["error"]["message"].as_str().unwrap().contains("main"),
        "{body}"
    );
    // Invalid updates: 400, nothing changes.
    let (s, body) = post(
        &url,
        &json!({"requirements": [], "updates": [{"action": "set-current-schema", "schema-id": 42}]}),
    )
    .await;
    assert_error(s, &body, StatusCode::BAD_REQUEST, "BadRequestException");
    let (s, body) = post(
        &url,
        &json!({"requirements": [], "updates": [{"action": "set-location", "location": "file:///tmp/elsewhere"}]}),
    )
    .await;
    assert_error(s, &body, StatusCode::BAD_REQUEST, "BadRequestException");
    let (s, body) = post(
        &url,
        &json!({"requirements": [], "updates": [{"action": "set-properties", "updates": {"write.data.path": "file:///tmp/x"}}]}),
    )
    .await;
    assert_error(s, &body, StatusCode::BAD_REQUEST, "BadRequestException");
    let (s, body) = post(
        &url,
        &json!({"identifier": {"namespace": ["db"], "name": "other"}, "requirements": [], "updates": []}),
    )
    .await;
    assert_error(s, &body, StatusCode::BAD_REQUEST, "BadRequestException");
    assert_eq!(metadata_location(&b, "db", "t").await, loc);
    // A commit that changes nothing writes nothing.
    let (s, body) = post(&url, &json!({"requirements": [], "updates": []})).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["metadata-location"], loc);
    let (s, body) = post(
        &format!("{b}/namespaces/db/tables/nope"),
        &append_commit(1, None, 1),
    )
    .await;
    assert_error(s, &body, StatusCode::NOT_FOUND, "NoSuchTableException");
}

#[tokio::test]
async fn transactions_are_all_or_nothing() {
    let server = TestServer::start().await;
    let b = base(&server);
    create_table(&server, "db", "a").await;
    create_table(&server, "db", "b").await;
    let before_a = metadata_location(&b, "db", "a").await;
    let before_b = metadata_location(&b, "db", "b").await;
    let change = |name: &str, id: i64, parent: Option<i64>| {
        let mut c = append_commit(id, parent, 1);
        c["identifier"] = json!({"namespace": ["db"], "name": name});
        c
    };
    // b's requirement fails (it asserts a snapshot main never had): neither table moves.
    let r = client()
        .post(format!("{b}/transactions/commit"))
        .json(&json!({"table-changes": [change("a", 1, None), change("b", 2, Some(777))]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["type"], "CommitFailedException");
    assert_eq!(metadata_location(&b, "db", "a").await, before_a);
    assert_eq!(metadata_location(&b, "db", "b").await, before_b);
    // The metadata file a's half wrote was removed again.
    let written: Vec<String> = files_under(&server.data_dir().join("warehouse"))
        .into_iter()
        .filter(|f| f.contains("/00001-"))
        .collect();
    assert!(written.is_empty(), "{written:?}");
    let r = client()
        .post(format!("{b}/transactions/commit"))
        .json(&json!({"table-changes": [change("a", 1, None), change("b", 2, None)]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let (_, a) = get(&format!("{b}/namespaces/db/tables/a")).await;
    let (_, bb) = get(&format!("{b}/namespaces/db/tables/b")).await;
    assert_eq!(a["metadata"]["current-snapshot-id"], 1);
    assert_eq!(bb["metadata"]["current-snapshot-id"], 2);
    let r = client()
        .post(format!("{b}/transactions/commit"))
        .json(&json!({"table-changes": [change("a", 3, Some(1)), change("a", 4, Some(1))]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_writers_lose_no_acknowledged_commit() {
    let server = TestServer::start().await;
    let b = base(&server);
    create_table(&server, "db", "t").await;
    let url = format!("{b}/namespaces/db/tables/t");

    // Appenders: each commit asserts main, so a stale one gets 409 and reloads.
    let mut tasks = Vec::new();
    for w in 0..2i64 {
        let url = url.clone();
        tasks.push(tokio::spawn(async move {
            let mut acked = Vec::new();
            let mut conflicts = 0;
            for i in 0..10i64 {
                let id = 1000 * (w + 1) + i;
                loop {
                    let (_, t) = get(&url).await;
                    let parent = t["metadata"]["current-snapshot-id"]
                        .as_i64()
                        .filter(|id| *id >= 0);
                    let seq = t["metadata"]["last-sequence-number"].as_i64().unwrap() + 1;
                    let (s, body) = post(&url, &append_commit(id, parent, seq)).await;
                    if s == StatusCode::OK {
                        acked.push(id);
                        break;
                    }
                    assert!(conflicts < 500, "writer {w} keeps losing: {body}");
                    assert_eq!(s, StatusCode::CONFLICT, "{body}");
                    assert_eq!(body["error"]["type"], "CommitFailedException");
                    conflicts += 1;
                }
            }
            (acked, conflicts)
        }));
    }
    let mut acked = Vec::new();
    for t in tasks {
        let (a, _) = t.await.unwrap();
        acked.extend(a);
    }
    let (_, t) = get(&url).await;
    let mut history: Vec<i64> = t["metadata"]["snapshots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["snapshot-id"].as_i64().unwrap())
        .collect();
    history.sort();
    acked.sort();
    assert_eq!(
        history, acked,
        "every acknowledged append is in the history"
    );
    assert_eq!(acked.len(), 20);
    // The snapshots form one chain: each parent is the one before.
    let log: Vec<i64> = t["metadata"]["snapshot-log"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["snapshot-id"].as_i64().unwrap())
        .collect();
    assert_eq!(log.len(), 20);

    // Writers whose requirements do not conflict: the server retries lost races itself.
    let mut tasks = Vec::new();
    for i in 0..16 {
        let url = url.clone();
        tasks.push(tokio::spawn(async move {
            post(
                &url,
                &json!({"requirements": [], "updates": [
                    {"action": "set-properties", "updates": {format!("k{i}"): "v"}}
                ]}),
            )
            .await
        }));
    }
    for t in tasks {
        let (s, body) = t.await.unwrap();
        assert_eq!(s, StatusCode::OK, "{body}");
    }
    let (_, t) = get(&url).await;
    for i in 0..16 {
        assert_eq!(
            t["metadata"]["properties"][format!("k{i}")],
            "v",
            "k{i} lost"
        );
    }
}

#[tokio::test]
async fn bad_requests_get_the_error_model_and_change_nothing() {
    let server = TestServer::start().await;
    let b = base(&server);
    create_table(&server, "db", "t").await;
    let url = format!("{b}/namespaces/db/tables/t");
    let loc = metadata_location(&b, "db", "t").await;
    let raw = |body: Vec<u8>| {
        let url = url.clone();
        async move {
            let r = client()
                .post(&url)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap();
            let s = r.status();
            (s, r.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let (s, body) = raw(b"{\"requirements\": [".to_vec()).await;
    assert_error(s, &body, StatusCode::BAD_REQUEST, "BadRequestException");
    let (s, body) =
        raw(br#"{"requirements": [], "updates": [{"action": "make-it-fast"}]}"#.to_vec()).await;
    assert_error(s, &body, StatusCode::BAD_REQUEST, "BadRequestException");
    let (s, body) = raw(
        br#"{"requirements": [], "updates": [{"action": "set-properties", "updates": {"a": 1}}]}"#
            .to_vec(),
    )
    .await;
    assert_error(s, &body, StatusCode::BAD_REQUEST, "BadRequestException");
    let (s, body) = raw(br#"{"requirements": "none", "updates": []}"#.to_vec()).await;
    assert_error(s, &body, StatusCode::BAD_REQUEST, "BadRequestException");
    let (s, body) = raw(vec![b' '; 17 * 1024 * 1024]).await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_eq!(body["error"]["code"], 413);
    assert_eq!(metadata_location(&b, "db", "t").await, loc);

    // Identifiers that could escape the warehouse or confuse paths.
    for ns in [
        json!(["a", ""]),
        json!(["..", "x"]),
        json!(["a\u{1}b"]),
        json!(["a/b"]),
        json!([]),
    ] {
        let (s, body) = post(&format!("{b}/namespaces"), &json!({"namespace": ns})).await;
        assert_error(s, &body, StatusCode::BAD_REQUEST, "BadRequestException");
    }
    for name in ["..", "a/b", "", "x\u{7f}"] {
        let (s, body) = post(
            &format!("{b}/namespaces/db/tables"),
            &json!({"name": name, "schema": schema()}),
        )
        .await;
        assert_error(s, &body, StatusCode::BAD_REQUEST, "BadRequestException");
    }
    let (s, body) = post(
        &format!("{b}/namespaces/db/tables"),
        &json!({"name": "out", "schema": schema(), "location": "file:///tmp/outside"}),
    )
    .await;
    assert_error(s, &body, StatusCode::BAD_REQUEST, "BadRequestException");
    let (s, body) = post(
        &format!("{b}/namespaces/db/tables"),
        &json!({"name": "t2", "schema": {"type": "struct", "fields": "none"}}),
    )
    .await;
    assert_error(s, &body, StatusCode::BAD_REQUEST, "BadRequestException");
    let (s, body) = get(&format!("{b}/namespaces/db%1F/tables")).await;
    assert_error(s, &body, StatusCode::BAD_REQUEST, "BadRequestException");
    let (_, list) = get(&format!("{b}/namespaces/db/tables")).await;
    assert_eq!(
        list["identifiers"],
        json!([{"namespace": ["db"], "name": "t"}])
    );
    let (_, list) = get(&format!("{b}/namespaces")).await;
    assert_eq!(list["namespaces"], json!([["db"]]));

    let (s, body) = get(&format!("{}/v1/nowhere/at/all", server.url())).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["code"], 404);
    let r = client()
        .put(format!("{b}/namespaces"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], 405);
}

#[tokio::test]
async fn metrics_reports_credentials_health_and_prometheus() {
    let server = TestServer::start().await;
    let b = base(&server);
    create_table(&server, "db", "t").await;
    let report = json!({"report-type": "scan-report", "table-name": "db.t", "snapshot-id": 1,
        "filter": {"type": "true"}, "schema-id": 0, "projected-field-ids": [1],
        "projected-field-names": ["id"], "metrics": {}});
    let r = client()
        .post(format!("{b}/namespaces/db/tables/t/metrics"))
        .json(&report)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let state = server.state();
    let wh = state.service.warehouse("default").await.unwrap();
    let n = state
        .service
        .store()
        .count_metrics_reports(&wh, &["db".to_string()], "t")
        .await
        .unwrap();
    assert_eq!(n, 1);
    let (s, body) = post(
        &format!("{b}/namespaces/db/tables/t/metrics"),
        &json!({"x": 1}),
    )
    .await;
    assert_error(s, &body, StatusCode::BAD_REQUEST, "BadRequestException");
    let (s, body) = post(&format!("{b}/namespaces/db/tables/zz/metrics"), &report).await;
    assert_error(s, &body, StatusCode::NOT_FOUND, "NoSuchTableException");

    let (s, body) = get(&format!("{b}/namespaces/db/tables/t/credentials")).await;
    assert_eq!(s, StatusCode::OK);
    let creds = &body["storage-credentials"][0];
    assert!(creds["prefix"].as_str().unwrap().starts_with("file://"));

    // The API document and its interactive page.
    let r = client()
        .get(format!("{}/openapi.yaml", server.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.unwrap().starts_with("openapi: 3.1"));
    let r = client()
        .get(format!("{}/docs/", server.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let page = r.text().await.unwrap();
    assert!(page.contains("swagger-ui"), "{page}");

    let (s, body) = get(&format!("{}/health", server.url())).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(body["status"], "ok");
    let (s, _) = post(
        &format!("{b}/namespaces/db/tables/t"),
        &append_commit(5, None, 1),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let text = client()
        .get(format!("{}/metrics", server.url()))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains("floe_http_requests_total{method=\"POST\",route=\"/v1/{prefix}/namespaces/{namespace}/tables/{table}/metrics\",status=\"204\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("floe_commits_total{outcome=\"committed\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("floe_commit_phase_seconds_count{phase=\"metadata_write\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("floe_http_request_duration_seconds_bucket"),
        "{text}"
    );
}

/// U+0000 cannot be stored by PostgreSQL (neither `text` nor `jsonb`): namespace properties,
/// warehouse storage and locations that carry one are refused on every backend, and a
/// metrics report that carries one is kept (as escaped JSON text).
#[tokio::test]
async fn nul_characters_get_the_same_answer_on_every_backend() {
    let server = TestServer::start().await;
    let b = base(&server);
    create_table(&server, "db", "t").await;
    let (s, body) = post(
        &format!("{b}/namespaces"),
        &json!({"namespace": ["n"], "properties": {"k": "a\u{0}b"}}),
    )
    .await;
    assert_error(s, &body, StatusCode::BAD_REQUEST, "BadRequestException");
    let (s, body) = post(
        &format!("{b}/namespaces/db/properties"),
        &json!({"removals": [], "updates": {"k\u{0}": "v"}}),
    )
    .await;
    assert_error(s, &body, StatusCode::BAD_REQUEST, "BadRequestException");
    let (s, body) = post(
        &format!("{}/management/v1/warehouses", server.url()),
        &json!({"name": "w2", "storage": {"type": "s3", "location": "s3://bucket/w",
            "region": "us-east-1\u{0}"}}),
    )
    .await;
    assert_error(s, &body, StatusCode::BAD_REQUEST, "BadRequestException");
    let (s, body) = post(
        &format!("{b}/namespaces/db/register"),
        &json!({"name": "r", "metadata-location": format!("{}/warehouse/x\u{0}.json",
            server.data_dir().display())}),
    )
    .await;
    assert_error(s, &body, StatusCode::BAD_REQUEST, "BadRequestException");

    let report = json!({"report-type": "scan-report", "table-name": "db.t\u{0}", "snapshot-id": 1,
        "filter": {"type": "true"}, "schema-id": 0, "projected-field-ids": [1],
        "projected-field-names": ["id\u{0}"], "metrics": {}});
    let (s, body) = post(&format!("{b}/namespaces/db/tables/t/metrics"), &report).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{body}");
    let state = server.state();
    let wh = state.service.warehouse("default").await.unwrap();
    let n = state
        .service
        .store()
        .count_metrics_reports(&wh, &["db".to_string()], "t")
        .await
        .unwrap();
    assert_eq!(n, 1);
}
