//! Branches and tags: create, replace and remove them, their retention, the snapshot log
//! (only moves of main add entries), rollback, fast-forward, set-current-snapshot, and
//! appends and overwrites committed to a branch other than main.

use table_format::ErrorKind;
use table_format::catalog::{Catalog, MemoryCatalog, TableCreation, TableIdent};
use table_format::expr::Reference;
use table_format::io::FileIO;
use table_format::spec::{Datum, SnapshotRetention};
use table_format::table::Table;

use crate::interop::{batch, schema};
use crate::operations::{ids, ids_of};

async fn ids_at(t: &Table, r: &str) -> Vec<i64> {
    ids_of(&t.scan().use_ref(r).to_arrow().await.unwrap())
}

async fn append(t: &Table, catalog: &dyn Catalog, start: i64, n: i64, branch: &str) -> Table {
    t.fast_append()
        .add_batches(&[batch(&schema(), start, n)])
        .await
        .unwrap()
        .to_branch(branch)
        .commit(catalog)
        .await
        .unwrap()
}

/// A table with three appends on main (rows 0..10, 10..20, 20..30); returns the snapshot ids.
async fn three_snapshots(catalog: &MemoryCatalog, name: &str) -> (Table, Vec<i64>) {
    let t = catalog
        .create_table(&TableIdent::new(["db"], name), TableCreation::new(schema()))
        .await
        .unwrap();
    let mut t = t;
    for i in 0..3 {
        t = append(&t, catalog, i * 10, 10, "main").await;
    }
    let ids = t
        .metadata()
        .snapshots()
        .iter()
        .map(|s| s.snapshot_id)
        .collect();
    (t, ids)
}

fn log(t: &Table) -> Vec<i64> {
    t.metadata()
        .snapshot_log()
        .iter()
        .map(|e| e.snapshot_id)
        .collect()
}

fn ref_of(t: &Table, name: &str) -> Option<i64> {
    t.metadata().refs().get(name).map(|r| r.snapshot_id)
}

#[tokio::test]
async fn branches_and_tags_are_created_replaced_and_removed() {
    let catalog = MemoryCatalog::new(FileIO::memory(), "memory://wh");
    let (t, s) = three_snapshots(&catalog, "refs").await;
    assert_eq!(log(&t), s);
    let t = t
        .manage_snapshots()
        .create_branch("dev", s[0])
        .create_tag("v1", s[1])
        .commit(&catalog)
        .await
        .unwrap();
    assert_eq!(ref_of(&t, "dev"), Some(s[0]));
    assert_eq!(ref_of(&t, "v1"), Some(s[1]));
    assert!(t.metadata().refs()["dev"].is_branch());
    assert!(!t.metadata().refs()["v1"].is_branch());
    assert_eq!(log(&t), s, "refs other than main add no log entries");
    assert_eq!(ref_of(&t, "main"), Some(s[2]));
    assert_eq!(ids_at(&t, "dev").await, (0..10).collect::<Vec<_>>());
    assert_eq!(ids_at(&t, "v1").await, (0..20).collect::<Vec<_>>());

    let t = t
        .manage_snapshots()
        .replace_branch("dev", s[2])
        .replace_tag("v1", s[0])
        .set_min_snapshots_to_keep("dev", 3)
        .set_max_snapshot_age_ms("dev", 60_000)
        .set_max_ref_age_ms("dev", 120_000)
        .set_max_ref_age_ms("v1", 30_000)
        .commit(&catalog)
        .await
        .unwrap();
    assert_eq!(ref_of(&t, "dev"), Some(s[2]));
    assert_eq!(ref_of(&t, "v1"), Some(s[0]));
    assert_eq!(
        t.metadata().refs()["dev"].retention,
        SnapshotRetention::Branch {
            min_snapshots_to_keep: Some(3),
            max_snapshot_age_ms: Some(60_000),
            max_ref_age_ms: Some(120_000),
        }
    );
    assert_eq!(
        t.metadata().refs()["v1"].retention,
        SnapshotRetention::Tag {
            max_ref_age_ms: Some(30_000)
        }
    );
    assert_eq!(log(&t), s);

    let t = t
        .manage_snapshots()
        .remove_branch("dev")
        .remove_tag("v1")
        .commit(&catalog)
        .await
        .unwrap();
    assert_eq!(t.metadata().refs().keys().collect::<Vec<_>>(), vec!["main"]);
    assert_eq!(
        t.metadata().snapshots().len(),
        3,
        "removing refs keeps snapshots"
    );
    // Nothing changed: no commit.
    let same = t.manage_snapshots().commit(&catalog).await.unwrap();
    assert_eq!(same.metadata_location(), t.metadata_location());
}

#[tokio::test]
async fn bad_ref_changes_are_refused() {
    let catalog = MemoryCatalog::new(FileIO::memory(), "memory://wh");
    let (t, s) = three_snapshots(&catalog, "bad").await;
    let t = t
        .manage_snapshots()
        .create_tag("v1", s[0])
        .commit(&catalog)
        .await
        .unwrap();
    let err = |ms: table_format::transaction::manage_snapshots::ManageSnapshots| {
        let catalog = &catalog;
        async move { ms.commit(catalog).await.unwrap_err() }
    };
    let e = err(t.manage_snapshots().create_branch("dev", 42)).await;
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert!(e.to_string().contains("42"), "{e}");
    let e = err(t.manage_snapshots().create_branch("v1", s[0])).await;
    assert_eq!(e.kind(), ErrorKind::AlreadyExists);
    let e = err(t.manage_snapshots().create_branch("main", s[0])).await;
    assert_eq!(e.kind(), ErrorKind::AlreadyExists);
    let e = err(t.manage_snapshots().create_tag("main", s[0])).await;
    assert!(e.to_string().contains("main"), "{e}");
    let e = err(t.manage_snapshots().replace_branch("nope", s[0])).await;
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert!(e.to_string().contains("'nope'"), "{e}");
    let e = err(t.manage_snapshots().replace_branch("v1", s[1])).await;
    assert!(e.to_string().contains("tag"), "{e}");
    let e = err(t.manage_snapshots().remove_tag("main")).await;
    assert!(e.to_string().contains("main"), "{e}");
    let e = err(t.manage_snapshots().remove_branch("v1")).await;
    assert!(e.to_string().contains("tag"), "{e}");
    let e = err(t.manage_snapshots().set_min_snapshots_to_keep("v1", 2)).await;
    assert!(e.to_string().contains("tag"), "{e}");
    let e = err(t.manage_snapshots().set_current_snapshot(7)).await;
    assert_eq!(e.kind(), ErrorKind::NotFound);
    // Nothing was committed by the refused changes.
    let now = catalog.load_table(t.ident()).await.unwrap();
    assert_eq!(now.metadata_location(), t.metadata_location());
}

#[tokio::test]
async fn rollback_and_set_current_snapshot_move_main_and_log_it() {
    let catalog = MemoryCatalog::new(FileIO::memory(), "memory://wh");
    let (t, s) = three_snapshots(&catalog, "rollback").await;
    let t = t
        .manage_snapshots()
        .rollback_to(s[0])
        .commit(&catalog)
        .await
        .unwrap();
    assert_eq!(t.metadata().current_snapshot_id(), Some(s[0]));
    assert_eq!(ids(&t).await, (0..10).collect::<Vec<_>>());
    assert_eq!(log(&t), vec![s[0], s[1], s[2], s[0]]);
    // s[2] is no longer an ancestor of main: no rolling "back" to it.
    let e = t
        .manage_snapshots()
        .rollback_to(s[2])
        .commit(&catalog)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidUpdate);
    assert!(e.to_string().contains("ancestor"), "{e}");
    // But it can be made current.
    let t = t
        .manage_snapshots()
        .set_current_snapshot(s[2])
        .commit(&catalog)
        .await
        .unwrap();
    assert_eq!(ids(&t).await, (0..30).collect::<Vec<_>>());
    assert_eq!(log(&t).last(), Some(&s[2]));
    assert_eq!(log(&t).len(), 5);
    // An append after a rollback has the rolled-back-to snapshot as parent.
    let t = t
        .manage_snapshots()
        .rollback_to(s[1])
        .commit(&catalog)
        .await
        .unwrap();
    let t = append(&t, &catalog, 100, 2, "main").await;
    let head = t.metadata().current_snapshot().unwrap();
    assert_eq!(head.parent_snapshot_id, Some(s[1]));
    let mut want: Vec<i64> = (0..20).collect();
    want.extend([100, 101]);
    assert_eq!(ids(&t).await, want);
}

#[tokio::test]
async fn appends_to_a_branch_leave_main_alone_and_fast_forward_moves_it() {
    let catalog = MemoryCatalog::new(FileIO::memory(), "memory://wh");
    let (t, s) = three_snapshots(&catalog, "branch").await;
    let t = t
        .manage_snapshots()
        .create_branch("dev", s[2])
        .commit(&catalog)
        .await
        .unwrap();
    let t = append(&t, &catalog, 50, 5, "dev").await;
    let t = append(&t, &catalog, 60, 5, "dev").await;
    assert_eq!(ref_of(&t, "main"), Some(s[2]), "main unchanged");
    assert_eq!(log(&t), s, "branch commits add no log entries");
    assert_eq!(ids(&t).await, (0..30).collect::<Vec<_>>());
    let mut dev: Vec<i64> = (0..30).collect();
    dev.extend(50..55);
    dev.extend(60..65);
    assert_eq!(ids_at(&t, "dev").await, dev);
    let dev_head = t.metadata().snapshot_for_ref("dev").unwrap();
    assert_eq!(
        t.metadata()
            .snapshot_by_id(dev_head.parent_snapshot_id.unwrap())
            .unwrap()
            .parent_snapshot_id,
        Some(s[2])
    );
    let dev_head = dev_head.snapshot_id;

    // An overwrite on the branch.
    let t = t
        .delete_where(Reference::new("id").less_than(Datum::Long(10)))
        .to_branch("dev")
        .commit(&catalog)
        .await
        .unwrap();
    let dev_after_delete: Vec<i64> = dev.iter().copied().filter(|i| *i >= 10).collect();
    assert_eq!(ids_at(&t, "dev").await, dev_after_delete);
    assert_eq!(ids(&t).await, (0..30).collect::<Vec<_>>());
    assert_ne!(ref_of(&t, "dev"), Some(dev_head));

    // main cannot be fast-forwarded by dev's ancestor in reverse.
    let e = t
        .manage_snapshots()
        .fast_forward("dev", "main")
        .commit(&catalog)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("ancestor"), "{e}");

    // main fast-forwards to dev, and the move is logged.
    let t = t
        .manage_snapshots()
        .fast_forward("main", "dev")
        .commit(&catalog)
        .await
        .unwrap();
    assert_eq!(ref_of(&t, "main"), ref_of(&t, "dev"));
    assert_eq!(ids(&t).await, dev_after_delete);
    assert_eq!(log(&t).len(), 4);
    assert_eq!(log(&t).last().copied(), ref_of(&t, "dev"));

    // Diverged: main gets a commit of its own, dev another; no fast-forward either way.
    let t = append(&t, &catalog, 200, 1, "main").await;
    let t = append(&t, &catalog, 300, 1, "dev").await;
    for (a, b) in [("main", "dev"), ("dev", "main")] {
        let e = t
            .manage_snapshots()
            .fast_forward(a, b)
            .commit(&catalog)
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidUpdate, "{a} -> {b}");
    }
}

#[tokio::test]
async fn a_ref_change_is_guarded_by_the_refs_snapshot() {
    let catalog = MemoryCatalog::new(FileIO::memory(), "memory://wh");
    let (t, s) = three_snapshots(&catalog, "guard").await;
    let t = t
        .manage_snapshots()
        .create_branch("dev", s[0])
        .commit(&catalog)
        .await
        .unwrap();
    let stale = t.clone();
    // Another writer moves dev; a stale replace of dev re-validates and wins last.
    let t = t
        .manage_snapshots()
        .replace_branch("dev", s[1])
        .commit(&catalog)
        .await
        .unwrap();
    assert_eq!(ref_of(&t, "dev"), Some(s[1]));
    let t = stale
        .manage_snapshots()
        .replace_branch("dev", s[2])
        .commit(&catalog)
        .await
        .unwrap();
    assert_eq!(ref_of(&t, "dev"), Some(s[2]));
    // A stale create of a ref that now exists fails on retry.
    let stale = t.clone();
    t.manage_snapshots()
        .create_tag("v1", s[0])
        .commit(&catalog)
        .await
        .unwrap();
    let e = stale
        .manage_snapshots()
        .create_tag("v1", s[1])
        .commit(&catalog)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AlreadyExists);
}

#[tokio::test]
async fn cherry_pick_publishes_a_staged_append_once() {
    let catalog = MemoryCatalog::new(FileIO::memory(), "memory://wh");
    let (t, snaps) = three_snapshots(&catalog, "wap").await;
    // Stage an append on an audit branch, while main moves on.
    let t = t
        .manage_snapshots()
        .create_branch("audit", snaps[2])
        .commit(&catalog)
        .await
        .unwrap();
    let t = append(&t, &catalog, 100, 5, "audit").await;
    let staged = ref_of(&t, "audit").unwrap();
    let t = append(&t, &catalog, 200, 5, "main").await;
    assert_eq!(
        ids(&t).await.len(),
        35,
        "main does not see the staged rows yet"
    );
    // Publish: main diverged, so the staged files are appended in a new snapshot.
    let t = t.cherry_pick(staged).commit(&catalog).await.unwrap();
    let head = t.metadata().current_snapshot().unwrap();
    assert_ne!(head.snapshot_id, staged);
    assert_eq!(
        head.summary.get("source-snapshot-id"),
        Some(staged.to_string().as_str())
    );
    assert_eq!(head.summary.get("added-records"), Some("5"));
    let mut expected: Vec<i64> = (0..30).chain(100..105).chain(200..205).collect();
    expected.sort_unstable();
    assert_eq!(ids(&t).await, expected);
    assert_eq!(log(&t).last(), Some(&head.snapshot_id));
    // Publishing twice is refused, so rows cannot be duplicated.
    let err = t.cherry_pick(staged).commit(&catalog).await.unwrap_err();
    assert!(err.message().contains("already"), "{err}");
    // A delete snapshot cannot be cherry-picked.
    let t2 = t
        .delete_where(Reference::new("id").equal_to(Datum::Long(0)))
        .to_branch("audit")
        .commit(&catalog)
        .await
        .unwrap();
    let del = ref_of(&t2, "audit").unwrap();
    let err = t2.cherry_pick(del).commit(&catalog).await.unwrap_err();
    assert!(err.message().contains("only appends"), "{err}");
}

#[tokio::test]
async fn cherry_picking_onto_the_parent_fast_forwards() {
    let catalog = MemoryCatalog::new(FileIO::memory(), "memory://wh");
    let (t, snaps) = three_snapshots(&catalog, "ff").await;
    let t = t
        .manage_snapshots()
        .create_branch("stage", snaps[2])
        .commit(&catalog)
        .await
        .unwrap();
    let t = append(&t, &catalog, 50, 3, "stage").await;
    let staged = ref_of(&t, "stage").unwrap();
    let t = t.cherry_pick(staged).commit(&catalog).await.unwrap();
    assert_eq!(t.metadata().current_snapshot_id(), Some(staged));
    assert_eq!(ids(&t).await.len(), 33);
    let err = t.cherry_pick(staged).commit(&catalog).await.unwrap_err();
    assert!(err.message().contains("already"), "{err}");
    assert_eq!(
        t.cherry_pick(42).commit(&catalog).await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
}

#[tokio::test]
async fn rename_branch_keeps_snapshot_and_retention_and_refuses_main() {
    let catalog = MemoryCatalog::new(FileIO::memory(), "memory://wh");
    let (t, s) = three_snapshots(&catalog, "rename").await;
    let t = t
        .manage_snapshots()
        .create_branch("dev", s[0])
        .set_min_snapshots_to_keep("dev", 3)
        .set_max_ref_age_ms("dev", 86_400_000)
        .create_tag("v1", s[1])
        .commit(&catalog)
        .await
        .unwrap();
    let t = append(&t, &catalog, 100, 5, "dev").await;
    let dev = t.metadata().refs()["dev"].clone();
    let stale = t.clone();
    // Another writer appends to dev before the (stale) rename commits: the rename is
    // guarded by dev's snapshot, retries, and carries the new snapshot over.
    let t = append(&t, &catalog, 200, 5, "dev").await;
    let head = ref_of(&t, "dev").unwrap();
    assert_ne!(head, dev.snapshot_id);
    let t = stale
        .manage_snapshots()
        .rename_branch("dev", "feature")
        .commit(&catalog)
        .await
        .unwrap();
    assert_eq!(ref_of(&t, "dev"), None);
    let feature = &t.metadata().refs()["feature"];
    assert_eq!(feature.snapshot_id, head);
    assert_eq!(feature.retention, dev.retention);
    assert!(feature.is_branch());
    assert_eq!(log(&t), s, "renaming a branch adds no log entry");
    let mut want: Vec<i64> = (0..10).chain(100..105).chain(200..205).collect();
    want.sort();
    assert_eq!(ids_at(&t, "feature").await, want);

    for (from, to, kind) in [
        ("main", "trunk", ErrorKind::InvalidUpdate),
        ("feature", "main", ErrorKind::InvalidUpdate),
        ("v1", "v2", ErrorKind::InvalidUpdate),
        ("nope", "other", ErrorKind::NotFound),
        ("feature", "v1", ErrorKind::AlreadyExists),
        ("feature", "", ErrorKind::InvalidUpdate),
    ] {
        let e = t
            .manage_snapshots()
            .rename_branch(from, to)
            .commit(&catalog)
            .await
            .unwrap_err();
        assert_eq!(e.kind(), kind, "{from} -> {to}: {e}");
    }
    let loaded = catalog.load_table(t.ident()).await.unwrap();
    assert_eq!(loaded.metadata().refs(), t.metadata().refs());
}
