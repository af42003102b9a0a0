//! Store conformance: the `CatalogStore` contract, checked directly against the store that
//! `FLOE_TEST_DATABASE` selects (SQLite by default, PostgreSQL when it holds a URL), so both
//! implementations answer the same calls with the same results and the same errors.
//!
//! Covers warehouses, namespaces (parents, properties, pages, emptiness), table rows
//! (create, compare-and-swap, multi-table all-or-nothing, rename, drop), metrics reports,
//! and races: concurrent swaps on one expected pointer (exactly one wins), concurrent
//! creates of one name, a namespace drop racing a table create, and multi-table commits
//! taking their tables in opposite orders; and the commit locks replicas take turns with
//! (PostgreSQL; none on SQLite).

use std::collections::BTreeMap;
use std::sync::Arc;

use catalog_server::store::{
    self, CatalogStore, PointerSwap, PoolSettings, StorageConfig, StoreError, Warehouse,
};
use catalog_server::testing::TestDatabase;

async fn open() -> (TestDatabase, Arc<dyn CatalogStore>) {
    let db = TestDatabase::create().await;
    let store = store::open(db.url(), &PoolSettings::default())
        .await
        .unwrap_or_else(|e| panic!("cannot open the {:?} store: {e}", db.backend()));
    (db, store)
}

async fn warehouse(store: &dyn CatalogStore) -> Warehouse {
    store
        .create_warehouse(
            "wh",
            &StorageConfig::File {
                location: "file:///tmp/floe-store-test".into(),
            },
        )
        .await
        .unwrap()
}

fn ns(levels: &[&str]) -> Vec<String> {
    levels.iter().map(|s| s.to_string()).collect()
}

fn props(kv: &[(&str, &str)]) -> BTreeMap<String, String> {
    kv.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn create(namespace: &[String], name: &str, location: &str) -> PointerSwap {
    PointerSwap {
        namespace: namespace.to_vec(),
        name: name.into(),
        expected: None,
        new_location: location.into(),
        table_uuid: uuid::Uuid::new_v4().to_string(),
    }
}

fn swap(namespace: &[String], name: &str, expected: &str, location: &str) -> PointerSwap {
    PointerSwap {
        namespace: namespace.to_vec(),
        name: name.into(),
        expected: Some(expected.into()),
        new_location: location.into(),
        table_uuid: uuid::Uuid::new_v4().to_string(),
    }
}

async fn location(store: &dyn CatalogStore, wh: &Warehouse, ns: &[String], name: &str) -> String {
    store
        .get_table(wh, ns, name)
        .await
        .unwrap()
        .metadata_location
}

#[tokio::test]
async fn store_warehouses() {
    let (_db, store) = open().await;
    store.ping().await.unwrap();
    let s3 = StorageConfig::S3 {
        location: "s3://bucket/wh".into(),
        endpoint: Some("http://127.0.0.1:9000".into()),
        client_endpoint: Some("http://localhost:9000".into()),
        region: Some("us-east-1".into()),
        path_style_access: true,
        access_key_id: Some("k".into()),
        secret_access_key: Some("s".into()),
    };
    let b = store.create_warehouse("b", &s3).await.unwrap();
    let a = warehouse(store.as_ref()).await;
    assert!(matches!(
        store.create_warehouse("b", &s3).await,
        Err(StoreError::AlreadyExists(m)) if m == "warehouse 'b' already exists"
    ));
    assert_eq!(store.get_warehouse("b").await.unwrap(), b);
    let names: Vec<String> = store
        .list_warehouses()
        .await
        .unwrap()
        .into_iter()
        .map(|w| w.name)
        .collect();
    assert_eq!(names, ["b", "wh"]);
    assert!(matches!(
        store.get_warehouse("nope").await,
        Err(StoreError::NotFound(m)) if m == "warehouse 'nope' does not exist"
    ));

    store
        .create_namespace(&a, &ns(&["db"]), &BTreeMap::new())
        .await
        .unwrap();
    assert!(matches!(
        store.delete_warehouse("wh").await,
        Err(StoreError::NotEmpty(_))
    ));
    store.drop_namespace(&a, &ns(&["db"])).await.unwrap();
    store.delete_warehouse("wh").await.unwrap();
    assert!(matches!(
        store.delete_warehouse("wh").await,
        Err(StoreError::NotFound(_))
    ));
    // Namespaces are per warehouse: the same name lives in two warehouses.
    let a = warehouse(store.as_ref()).await;
    for w in [&a, &b] {
        store
            .create_namespace(w, &ns(&["db"]), &BTreeMap::new())
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn store_namespaces() {
    let (_db, store) = open().await;
    let wh = warehouse(store.as_ref()).await;
    let p = props(&[("owner", "ann"), ("k", "v")]);
    store.create_namespace(&wh, &ns(&["a"]), &p).await.unwrap();
    assert!(matches!(
        store.create_namespace(&wh, &ns(&["a"]), &p).await,
        Err(StoreError::AlreadyExists(m)) if m == "namespace a already exists"
    ));
    assert!(matches!(
        store.create_namespace(&wh, &ns(&["x", "y"]), &p).await,
        Err(StoreError::NamespaceNotFound(m)) if m == "parent namespace x does not exist"
    ));
    let got = store.get_namespace(&wh, &ns(&["a"])).await.unwrap();
    assert_eq!(got.levels, ns(&["a"]));
    assert_eq!(got.properties, p);
    assert!(matches!(
        store.get_namespace(&wh, &ns(&["zz"])).await,
        Err(StoreError::NamespaceNotFound(m)) if m == "namespace zz does not exist"
    ));

    // Properties: remove then set, atomically; the answer is the state before.
    let before = store
        .update_namespace_properties(
            &wh,
            &ns(&["a"]),
            &["k".to_string(), "missing".to_string()],
            &props(&[("new", "1"), ("owner", "bob")]),
        )
        .await
        .unwrap();
    assert_eq!(before, p);
    assert_eq!(
        store
            .get_namespace(&wh, &ns(&["a"]))
            .await
            .unwrap()
            .properties,
        props(&[("new", "1"), ("owner", "bob")])
    );
    assert!(matches!(
        store
            .update_namespace_properties(&wh, &ns(&["zz"]), &[], &BTreeMap::new())
            .await,
        Err(StoreError::NamespaceNotFound(_))
    ));

    // Children, in byte order, by pages.
    for child in ["b", "B", "a_", "c"] {
        store
            .create_namespace(&wh, &ns(&["a", child]), &BTreeMap::new())
            .await
            .unwrap();
    }
    store
        .create_namespace(&wh, &ns(&["a", "b", "deep"]), &BTreeMap::new())
        .await
        .unwrap();
    let mut all = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = store
            .list_namespaces(&wh, &ns(&["a"]), after.as_deref(), 3)
            .await
            .unwrap();
        assert!(page.items.len() <= 3);
        all.extend(page.items);
        match page.next {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    assert_eq!(
        all,
        vec![
            ns(&["a", "B"]),
            ns(&["a", "a_"]),
            ns(&["a", "b"]),
            ns(&["a", "c"])
        ]
    );
    let top = store.list_namespaces(&wh, &[], None, 10).await.unwrap();
    assert_eq!(top.items, vec![ns(&["a"])]);
    assert_eq!(top.next, None);
    assert!(matches!(
        store.list_namespaces(&wh, &ns(&["zz"]), None, 10).await,
        Err(StoreError::NamespaceNotFound(_))
    ));

    // Emptiness: children and tables keep a namespace.
    assert!(matches!(
        store.drop_namespace(&wh, &ns(&["a", "b"])).await,
        Err(StoreError::NotEmpty(m)) if m == "namespace a.b is not empty: it holds namespaces"
    ));
    store
        .swap_pointers(&wh, &[create(&ns(&["a", "c"]), "t", "m0")])
        .await
        .unwrap();
    assert!(matches!(
        store.drop_namespace(&wh, &ns(&["a", "c"])).await,
        Err(StoreError::NotEmpty(m)) if m == "namespace a.c is not empty: it holds tables"
    ));
    store.drop_table(&wh, &ns(&["a", "c"]), "t").await.unwrap();
    store.drop_namespace(&wh, &ns(&["a", "c"])).await.unwrap();
    assert!(matches!(
        store.drop_namespace(&wh, &ns(&["a", "c"])).await,
        Err(StoreError::NamespaceNotFound(m)) if m == "namespace a.c does not exist"
    ));
}

#[tokio::test]
async fn store_tables_and_swaps() {
    let (_db, store) = open().await;
    let wh = warehouse(store.as_ref()).await;
    let db = ns(&["db"]);
    store
        .create_namespace(&wh, &db, &BTreeMap::new())
        .await
        .unwrap();
    let c = create(&db, "t", "m0");
    store
        .swap_pointers(&wh, std::slice::from_ref(&c))
        .await
        .unwrap();
    let rec = store.get_table(&wh, &db, "t").await.unwrap();
    assert_eq!(rec.table_uuid, c.table_uuid);
    assert_eq!(rec.metadata_location, "m0");
    assert_eq!(rec.previous_metadata_location, None);
    assert!(matches!(
        store.swap_pointers(&wh, &[create(&db, "t", "other")]).await,
        Err(StoreError::AlreadyExists(m)) if m == "table db.t already exists"
    ));
    assert!(matches!(
        store.swap_pointers(&wh, &[create(&ns(&["nope"]), "t", "m0")]).await,
        Err(StoreError::NamespaceNotFound(m)) if m == "namespace nope does not exist"
    ));
    assert!(matches!(
        store.get_table(&wh, &db, "missing").await,
        Err(StoreError::NotFound(m)) if m == "table db.missing does not exist"
    ));

    // Compare-and-swap.
    store
        .swap_pointers(&wh, &[swap(&db, "t", "m0", "m1")])
        .await
        .unwrap();
    let rec = store.get_table(&wh, &db, "t").await.unwrap();
    assert_eq!(rec.metadata_location, "m1");
    assert_eq!(rec.previous_metadata_location.as_deref(), Some("m0"));
    assert!(matches!(
        store.swap_pointers(&wh, &[swap(&db, "t", "m0", "m2")]).await,
        Err(StoreError::Conflict(m)) if m == "table db.t was changed by another commit"
    ));
    assert!(matches!(
        store.swap_pointers(&wh, &[swap(&db, "gone", "m0", "m2")]).await,
        Err(StoreError::NotFound(m)) if m == "table db.gone does not exist"
    ));

    // All or nothing: a create and a good swap do not land when another swap conflicts.
    store
        .swap_pointers(&wh, &[create(&db, "u", "u0")])
        .await
        .unwrap();
    let r = store
        .swap_pointers(
            &wh,
            &[
                swap(&db, "t", "m1", "m2"),
                create(&db, "v", "v0"),
                swap(&db, "u", "stale", "u1"),
            ],
        )
        .await;
    assert!(matches!(r, Err(StoreError::Conflict(_))), "{r:?}");
    assert_eq!(location(store.as_ref(), &wh, &db, "t").await, "m1");
    assert_eq!(location(store.as_ref(), &wh, &db, "u").await, "u0");
    assert!(matches!(
        store.get_table(&wh, &db, "v").await,
        Err(StoreError::NotFound(_))
    ));
    store
        .swap_pointers(
            &wh,
            &[
                swap(&db, "u", "u0", "u1"),
                swap(&db, "t", "m1", "m2"),
                create(&db, "v", "v0"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(location(store.as_ref(), &wh, &db, "t").await, "m2");
    assert_eq!(location(store.as_ref(), &wh, &db, "u").await, "u1");
    assert_eq!(location(store.as_ref(), &wh, &db, "v").await, "v0");

    // Pages of tables.
    let page = store.list_tables(&wh, &db, None, 2).await.unwrap();
    assert_eq!(page.items, ["t", "u"]);
    let page = store
        .list_tables(&wh, &db, page.next.as_deref(), 2)
        .await
        .unwrap();
    assert_eq!(page.items, ["v"]);
    assert_eq!(page.next, None);
    assert!(matches!(
        store.list_tables(&wh, &ns(&["nope"]), None, 2).await,
        Err(StoreError::NamespaceNotFound(_))
    ));

    // Rename.
    store
        .create_namespace(&wh, &ns(&["other"]), &BTreeMap::new())
        .await
        .unwrap();
    store
        .rename_table(&wh, (&db, "t"), (&ns(&["other"]), "t2"))
        .await
        .unwrap();
    assert_eq!(
        location(store.as_ref(), &wh, &ns(&["other"]), "t2").await,
        "m2"
    );
    assert!(matches!(
        store.get_table(&wh, &db, "t").await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store.rename_table(&wh, (&db, "u"), (&db, "v")).await,
        Err(StoreError::AlreadyExists(m)) if m == "table db.v already exists"
    ));
    assert!(matches!(
        store.rename_table(&wh, (&db, "u"), (&ns(&["nope"]), "u")).await,
        Err(StoreError::NamespaceNotFound(m)) if m == "namespace nope does not exist"
    ));
    assert!(matches!(
        store.rename_table(&wh, (&db, "t"), (&db, "t3")).await,
        Err(StoreError::NotFound(m)) if m == "table db.t does not exist"
    ));

    // Metrics reports.
    let report = r#"{"report-type":"scan-report","table-name":"db.u"}"#;
    for _ in 0..3 {
        store
            .insert_metrics_report(&wh, &db, "u", "scan-report", report)
            .await
            .unwrap();
    }
    assert_eq!(store.count_metrics_reports(&wh, &db, "u").await.unwrap(), 3);
    assert_eq!(store.count_metrics_reports(&wh, &db, "v").await.unwrap(), 0);

    // Drop returns the row it removed.
    let rec = store.drop_table(&wh, &db, "u").await.unwrap();
    assert_eq!(rec.metadata_location, "u1");
    assert_eq!(rec.previous_metadata_location.as_deref(), Some("u0"));
    assert!(matches!(
        store.drop_table(&wh, &db, "u").await,
        Err(StoreError::NotFound(m)) if m == "table db.u does not exist"
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn store_concurrent_swaps_have_exactly_one_winner() {
    let (_db, store) = open().await;
    let wh = warehouse(store.as_ref()).await;
    let db = ns(&["db"]);
    store
        .create_namespace(&wh, &db, &BTreeMap::new())
        .await
        .unwrap();
    store
        .swap_pointers(&wh, &[create(&db, "t", "v0")])
        .await
        .unwrap();
    for round in 0..5 {
        let expected = location(store.as_ref(), &wh, &db, "t").await;
        let tasks: Vec<_> = (0..16)
            .map(|i| {
                let (store, wh, db, expected) =
                    (store.clone(), wh.clone(), db.clone(), expected.clone());
                tokio::spawn(async move {
                    let new = format!("r{round}-w{i}");
                    let r = store
                        .swap_pointers(&wh, &[swap(&db, "t", &expected, &new)])
                        .await;
                    (new, r)
                })
            })
            .collect();
        let mut winners = Vec::new();
        for t in tasks {
            match t.await.unwrap() {
                (new, Ok(())) => winners.push(new),
                (_, Err(StoreError::Conflict(_))) => {}
                (_, Err(e)) => panic!("a racing swap failed with {e:?}, not a conflict"),
            }
        }
        assert_eq!(winners.len(), 1, "round {round}: winners {winners:?}");
        let rec = store.get_table(&wh, &db, "t").await.unwrap();
        assert_eq!(rec.metadata_location, winners[0]);
        assert_eq!(rec.previous_metadata_location, Some(expected));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn store_concurrent_creates_of_one_name_have_one_winner() {
    let (_db, store) = open().await;
    let wh = warehouse(store.as_ref()).await;
    let db = ns(&["db"]);
    store
        .create_namespace(&wh, &db, &BTreeMap::new())
        .await
        .unwrap();
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let (store, wh, db) = (store.clone(), wh.clone(), db.clone());
            tokio::spawn(async move {
                let t = store
                    .swap_pointers(&wh, &[create(&db, "t", &format!("w{i}"))])
                    .await;
                let n = store
                    .create_namespace(&wh, &ns(&["db", "child"]), &BTreeMap::new())
                    .await;
                (t, n)
            })
        })
        .collect();
    let (mut tables, mut namespaces) = (0, 0);
    for t in tasks {
        let (t, n) = t.await.unwrap();
        match t {
            Ok(()) => tables += 1,
            Err(StoreError::AlreadyExists(_)) => {}
            Err(e) => panic!("racing create: {e:?}"),
        }
        match n {
            Ok(()) => namespaces += 1,
            Err(StoreError::AlreadyExists(_)) => {}
            Err(e) => panic!("racing namespace create: {e:?}"),
        }
    }
    assert_eq!((tables, namespaces), (1, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn store_namespace_drop_never_races_past_a_create() {
    let (_db, store) = open().await;
    let wh = warehouse(store.as_ref()).await;
    let (mut dropped, mut created) = (0, 0);
    for round in 0..30 {
        let db = ns(&[&format!("n{round}")]);
        store
            .create_namespace(&wh, &db, &BTreeMap::new())
            .await
            .unwrap();
        let drop_task = {
            let (store, wh, db) = (store.clone(), wh.clone(), db.clone());
            tokio::spawn(async move { store.drop_namespace(&wh, &db).await })
        };
        let table_task = {
            let (store, wh, db) = (store.clone(), wh.clone(), db.clone());
            tokio::spawn(async move { store.swap_pointers(&wh, &[create(&db, "t", "m0")]).await })
        };
        let child_task = {
            let (store, wh) = (store.clone(), wh.clone());
            let child = ns(&[&format!("n{round}"), "c"]);
            tokio::spawn(async move { store.create_namespace(&wh, &child, &BTreeMap::new()).await })
        };
        let d = drop_task.await.unwrap();
        let t = table_task.await.unwrap();
        let c = child_task.await.unwrap();
        match (&d, &t, &c) {
            (
                Ok(()),
                Err(StoreError::NamespaceNotFound(_)),
                Err(StoreError::NamespaceNotFound(_)),
            ) => {
                dropped += 1;
                assert!(matches!(
                    store.get_table(&wh, &db, "t").await,
                    Err(StoreError::NotFound(_))
                ));
                assert!(store.list_namespaces(&wh, &db, None, 10).await.is_err());
            }
            (Err(StoreError::NotEmpty(_)), Ok(()), Ok(())) => {
                created += 1;
                assert!(store.get_namespace(&wh, &db).await.is_ok());
                assert_eq!(location(store.as_ref(), &wh, &db, "t").await, "m0");
            }
            other => panic!("round {round}: inconsistent outcome {other:?}"),
        }
    }
    assert_eq!(dropped + created, 30);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn store_multi_table_commits_in_any_order_stay_atomic() {
    let (_db, store) = open().await;
    let wh = warehouse(store.as_ref()).await;
    let db = ns(&["db"]);
    store
        .create_namespace(&wh, &db, &BTreeMap::new())
        .await
        .unwrap();
    store
        .swap_pointers(&wh, &[create(&db, "a", "init"), create(&db, "b", "init")])
        .await
        .unwrap();
    const WRITERS: usize = 6;
    const COMMITS: usize = 8;
    let tasks: Vec<_> = (0..WRITERS)
        .map(|w| {
            let (store, wh, db) = (store.clone(), wh.clone(), db.clone());
            tokio::spawn(async move {
                let mut attempts = 0;
                for i in 0..COMMITS {
                    loop {
                        attempts += 1;
                        assert!(attempts < 10_000, "writer {w} starves");
                        let a = location(store.as_ref(), &wh, &db, "a").await;
                        let b = location(store.as_ref(), &wh, &db, "b").await;
                        let new = format!("w{w}-c{i}-a{attempts}");
                        let mut swaps = vec![swap(&db, "a", &a, &new), swap(&db, "b", &b, &new)];
                        if w % 2 == 1 {
                            swaps.reverse();
                        }
                        match store.swap_pointers(&wh, &swaps).await {
                            Ok(()) => break,
                            Err(StoreError::Conflict(_)) => continue,
                            Err(e) => panic!("writer {w}: {e:?}"),
                        }
                    }
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let a = store.get_table(&wh, &db, "a").await.unwrap();
    let b = store.get_table(&wh, &db, "b").await.unwrap();
    assert_eq!(a.metadata_location, b.metadata_location);
    assert_eq!(a.previous_metadata_location, b.previous_metadata_location);
}

/// Commit turns across processes (`lock_tables`): on PostgreSQL, a second store (another
/// replica) waits for the first one's lock on the same table, not on another table, and gets
/// it when the first releases it or drops it unreleased. SQLite has no such lock (None).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn store_commit_locks_take_turns_per_table_across_processes() {
    use std::time::Duration;
    let (db, first) = open().await;
    let wh = warehouse(first.as_ref()).await;
    let db_ns = ns(&["db"]);
    let t: [(&[String], &str); 1] = [(&db_ns, "t")];
    if db.backend() == store::Backend::Sqlite {
        assert!(first.lock_tables(&wh, &t).await.is_none());
        return;
    }
    let second = store::open(db.url(), &PoolSettings::default())
        .await
        .unwrap();
    let held = first.lock_tables(&wh, &t).await.expect("first lock");

    // Another table is not held up.
    let other: [(&[String], &str); 1] = [(&db_ns, "u")];
    let u = tokio::time::timeout(Duration::from_secs(2), second.lock_tables(&wh, &other))
        .await
        .expect("a lock on another table does not wait")
        .expect("lock on u");
    u.release().await;

    // The same table waits until the first lock is released.
    let waiter = {
        let second = second.clone();
        let wh = wh.clone();
        let db_ns = db_ns.clone();
        tokio::spawn(async move {
            let t: [(&[String], &str); 1] = [(&db_ns, "t")];
            second.lock_tables(&wh, &t).await
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!waiter.is_finished(), "the second process waits its turn");
    held.release().await;
    let got = tokio::time::timeout(Duration::from_secs(2), waiter)
        .await
        .expect("the turn passes on release")
        .unwrap()
        .expect("second lock");

    // Dropped without release (a cancelled commit): the lock still goes away.
    drop(got);
    let again = tokio::time::timeout(Duration::from_secs(3), first.lock_tables(&wh, &t))
        .await
        .expect("a dropped lock is given up")
        .expect("lock again");
    again.release().await;
}
