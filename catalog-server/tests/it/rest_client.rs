//! table-format's `RestCatalog` against a real Floe catalog server: namespaces, create and load,
//! appends through table-format's operations read back with a scan, a commit conflict that the
//! operation retries (both appends land), pagination, rename, drop and register, and
//! multi-table transactions.

use std::collections::HashMap;
use std::sync::Arc;

use arrow_array::{Array, Int64Array, RecordBatch, StringArray};
use catalog_server::testing::TestServer;
use table_format::ErrorKind;
use table_format::arrow::iceberg_schema_to_arrow;
use table_format::catalog::{Catalog, RestCatalog, RestCatalogConfig, TableCreation, TableIdent};
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

/// The sorted ids a scan of the table's current snapshot returns.
async fn ids(table: &Table) -> Vec<i64> {
    let batches = table.scan().to_arrow().await.unwrap();
    let mut out: Vec<i64> = batches
        .iter()
        .flat_map(|b| {
            let idx = b.schema().index_of("id").unwrap();
            let col = b
                .column(idx)
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

fn levels(l: &[&str]) -> Vec<String> {
    l.iter().map(|s| s.to_string()).collect()
}

async fn connect(server: &TestServer) -> RestCatalog {
    RestCatalog::connect(RestCatalogConfig::new(server.url()).warehouse("default"))
        .await
        .unwrap()
}

#[tokio::test]
async fn rest_catalog_create_load_append_scan_and_a_retried_conflict() {
    let server = TestServer::start().await;
    let catalog = connect(&server).await;
    let err = RestCatalog::connect(RestCatalogConfig::new(server.url()).warehouse("nope"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    assert_eq!(
        catalog.properties().get("prefix").map(String::as_str),
        Some("default")
    );

    // Namespaces, nested ones included.
    let props = catalog
        .create_namespace(
            &levels(&["db"]),
            HashMap::from([("owner".to_string(), "floe".to_string())]),
        )
        .await
        .unwrap();
    assert_eq!(props.get("owner").map(String::as_str), Some("floe"));
    catalog
        .create_namespace(&levels(&["db", "inner space"]), HashMap::new())
        .await
        .unwrap();
    assert_eq!(
        catalog
            .create_namespace(&levels(&["db"]), HashMap::new())
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::AlreadyExists
    );
    assert!(
        catalog
            .list_namespaces(&[])
            .await
            .unwrap()
            .contains(&levels(&["db"]))
    );
    assert_eq!(
        catalog.list_namespaces(&levels(&["db"])).await.unwrap(),
        vec![levels(&["db", "inner space"])]
    );
    assert!(
        catalog
            .namespace_exists(&levels(&["db", "inner space"]))
            .await
            .unwrap()
    );
    assert!(!catalog.namespace_exists(&levels(&["nope"])).await.unwrap());
    assert_eq!(
        catalog
            .load_namespace(&levels(&["db"]))
            .await
            .unwrap()
            .get("owner")
            .map(String::as_str),
        Some("floe")
    );

    // Create, then load the same table.
    let ident = TableIdent::new(["db"], "events");
    let created = catalog
        .create_table(
            &ident,
            TableCreation::new(schema()).with_property("format-version", "2"),
        )
        .await
        .unwrap();
    assert!(created.metadata().current_snapshot().is_none());
    assert_eq!(
        catalog
            .create_table(&ident, TableCreation::new(schema()))
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::AlreadyExists
    );
    let loaded = catalog.load_table(&ident).await.unwrap();
    assert_eq!(
        loaded.metadata().table_uuid(),
        created.metadata().table_uuid()
    );
    assert_eq!(loaded.metadata_location(), created.metadata_location());
    assert!(catalog.table_exists(&ident).await.unwrap());
    assert!(
        !catalog
            .table_exists(&TableIdent::new(["db"], "missing"))
            .await
            .unwrap()
    );
    assert_eq!(
        catalog
            .load_table(&TableIdent::new(["nope"], "t"))
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::NotFound
    );
    assert_eq!(
        catalog.list_tables(&levels(&["db"])).await.unwrap(),
        vec![ident.clone()]
    );

    // Append through table-format's operation; read it back, also through a fresh load.
    let t = loaded
        .fast_append()
        .add_batches(&[batch(0, 10)])
        .await
        .unwrap()
        .commit(&catalog)
        .await
        .unwrap();
    assert_ne!(t.metadata_location(), loaded.metadata_location());
    assert_eq!(ids(&t).await, (0..10).collect::<Vec<_>>());
    let reloaded = catalog.load_table(&ident).await.unwrap();
    assert_eq!(reloaded.metadata_location(), t.metadata_location());
    assert_eq!(ids(&reloaded).await, (0..10).collect::<Vec<_>>());

    // Two writers from the same base: the second one's commit fails its
    // assert-ref-snapshot-id; the server rebases the append onto the first writer's snapshot
    // (with rebasing off, the 409 would make the operation reload and retry), and it lands.
    let base = catalog.load_table(&ident).await.unwrap();
    let base_snapshot = base.metadata().current_snapshot_id();
    let first = base
        .fast_append()
        .add_batches(&[batch(100, 5)])
        .await
        .unwrap()
        .commit(&catalog)
        .await
        .unwrap();
    let second = base
        .fast_append()
        .add_batches(&[batch(200, 7)])
        .await
        .unwrap()
        .commit(&catalog)
        .await
        .unwrap();
    let first_snapshot = first.metadata().current_snapshot().unwrap();
    assert_eq!(first_snapshot.parent_snapshot_id, base_snapshot);
    // Rebuilt on top of the first writer's snapshot: proof that it was rebased or retried.
    assert_eq!(
        second
            .metadata()
            .current_snapshot()
            .unwrap()
            .parent_snapshot_id,
        Some(first_snapshot.snapshot_id)
    );
    let mut expected: Vec<i64> = (0..10).collect();
    expected.extend(100..105);
    expected.extend(200..207);
    let fin = catalog.load_table(&ident).await.unwrap();
    assert_eq!(fin.metadata().snapshots().len(), 3);
    assert_eq!(ids(&fin).await, expected);

    // A stale commit straight through the trait is a retryable CommitConflict.
    let err = catalog
        .commit_table(
            &ident,
            vec![TableRequirement::AssertRefSnapshotId {
                r#ref: "main".into(),
                snapshot_id: base_snapshot,
            }],
            vec![TableUpdate::SetProperties {
                updates: [("k".to_string(), "v".to_string())].into(),
            }],
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::CommitConflict, "{err}");
    assert!(err.is_retryable());
    assert!(
        catalog
            .load_table(&ident)
            .await
            .unwrap()
            .metadata()
            .properties()
            .get("k")
            .is_none()
    );
}

#[tokio::test]
async fn concurrent_appends_through_rest_all_land() {
    let server = TestServer::start().await;
    let catalog = connect(&server).await;
    catalog
        .create_namespace(&levels(&["db"]), HashMap::new())
        .await
        .unwrap();
    let ident = TableIdent::new(["db"], "busy");
    let base = catalog
        .create_table(
            &ident,
            TableCreation::new(schema()).with_property("commit.retry.num-retries", "20"),
        )
        .await
        .unwrap();
    let writers = (0..4i64).map(|w| {
        let base = base.clone();
        let catalog = catalog.clone();
        async move {
            base.fast_append()
                .add_batches(&[batch(w * 1000, 3)])
                .await
                .unwrap()
                .commit(&catalog)
                .await
                .unwrap()
        }
    });
    futures::future::join_all(writers).await;
    let t = catalog.load_table(&ident).await.unwrap();
    assert_eq!(t.metadata().snapshots().len(), 4);
    let expected: Vec<i64> = (0..4i64).flat_map(|w| w * 1000..w * 1000 + 3).collect();
    assert_eq!(ids(&t).await, expected);
}

#[tokio::test]
async fn listing_follows_pages_and_tables_rename_drop_and_register() {
    let server = TestServer::start().await;
    // Two per page: listing five tables takes three requests.
    let catalog =
        RestCatalog::connect(RestCatalogConfig::new(server.url()).property("rest-page-size", "2"))
            .await
            .unwrap();
    catalog
        .create_namespace(&levels(&["db"]), HashMap::new())
        .await
        .unwrap();
    catalog
        .create_namespace(&levels(&["other"]), HashMap::new())
        .await
        .unwrap();
    let mut made = Vec::new();
    for i in 0..5 {
        let ident = TableIdent::new(["db"], format!("t{i}"));
        catalog
            .create_table(&ident, TableCreation::new(schema()))
            .await
            .unwrap();
        made.push(ident);
    }
    let mut listed = catalog.list_tables(&levels(&["db"])).await.unwrap();
    listed.sort();
    assert_eq!(listed, made);

    // Rename into another namespace; the old name is gone.
    let from = TableIdent::new(["db"], "t0");
    let to = TableIdent::new(["other"], "renamed");
    let t = catalog.load_table(&from).await.unwrap();
    let t = t
        .fast_append()
        .add_batches(&[batch(0, 4)])
        .await
        .unwrap()
        .commit(&catalog)
        .await
        .unwrap();
    catalog.rename_table(&from, &to).await.unwrap();
    assert_eq!(
        catalog.load_table(&from).await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
    assert_eq!(
        ids(&catalog.load_table(&to).await.unwrap()).await,
        vec![0, 1, 2, 3]
    );
    assert_eq!(
        catalog
            .rename_table(
                &TableIdent::new(["db"], "t1"),
                &TableIdent::new(["db"], "t2")
            )
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::AlreadyExists
    );

    // Drop without purge keeps the files: registering the metadata file brings it back.
    let location = t.metadata_location().to_string();
    catalog.drop_table(&to, false).await.unwrap();
    assert!(!catalog.table_exists(&to).await.unwrap());
    let back = catalog
        .register_table(&TableIdent::new(["other"], "back"), &location)
        .await
        .unwrap();
    assert_eq!(ids(&back).await, vec![0, 1, 2, 3]);

    // A namespace with tables cannot be dropped; drop (with purge) its tables first.
    assert_eq!(
        catalog
            .drop_namespace(&levels(&["db"]))
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidUpdate
    );
    for ident in &made[1..] {
        catalog.drop_table(ident, true).await.unwrap();
    }
    assert_eq!(
        catalog.drop_table(&made[1], true).await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
    catalog.drop_namespace(&levels(&["db"])).await.unwrap();
    assert!(!catalog.namespace_exists(&levels(&["db"])).await.unwrap());
}

#[tokio::test]
async fn multi_table_transactions_are_all_or_nothing() {
    let server = TestServer::start().await;
    let catalog = connect(&server).await;
    catalog
        .create_namespace(&levels(&["db"]), HashMap::new())
        .await
        .unwrap();
    let a = TableIdent::new(["db"], "a");
    let b = TableIdent::new(["db"], "b");
    let ta = catalog
        .create_table(&a, TableCreation::new(schema()))
        .await
        .unwrap();
    let tb = catalog
        .create_table(&b, TableCreation::new(schema()))
        .await
        .unwrap();
    let set = |v: &str| {
        vec![TableUpdate::SetProperties {
            updates: [("k".to_string(), v.to_string())].into(),
        }]
    };
    let uuid = |t: &Table| TableRequirement::AssertTableUuid {
        uuid: t.metadata().table_uuid(),
    };
    catalog
        .commit_transaction(vec![
            (a.clone(), vec![uuid(&ta)], set("1")),
            (b.clone(), vec![uuid(&tb)], set("1")),
        ])
        .await
        .unwrap();
    for ident in [&a, &b] {
        let t = catalog.load_table(ident).await.unwrap();
        assert_eq!(
            t.metadata().properties().get("k").map(String::as_str),
            Some("1")
        );
    }
    // One failed requirement: nothing changes anywhere.
    let err = catalog
        .commit_transaction(vec![
            (a.clone(), vec![uuid(&ta)], set("2")),
            (b.clone(), vec![uuid(&ta)], set("2")),
        ])
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::CommitConflict, "{err}");
    for ident in [&a, &b] {
        let t = catalog.load_table(ident).await.unwrap();
        assert_eq!(
            t.metadata().properties().get("k").map(String::as_str),
            Some("1")
        );
    }
}
