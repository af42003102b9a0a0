//! Snapshot expiry and orphan-file removal: the retention rules on hand-made histories
//! (branches, tags, max-ref-age, min-snapshots-to-keep, explicit ids), file clean-up on real
//! tables (only files no retained snapshot reaches go), dry runs, a concurrent append racing
//! an expiry, old metadata files, orphan removal with mixed path spellings, a property test
//! over random histories, and pyiceberg reading every retained snapshot.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use async_trait::async_trait;
use proptest::prelude::*;
use table_format::catalog::{Catalog, MemoryCatalog, TableCreation, TableIdent};
use table_format::expr::Reference;
use table_format::io::FileIO;
use table_format::maintenance::{
    EntryFilter, metadata_files_to_delete, normalize_location, reachable_files,
};
use table_format::spec::{
    Datum, Operation, Snapshot, SnapshotReference, SnapshotRetention, SortOrder, Summary,
    TableMetadataBuilder, TableRequirement, TableUpdate, UnboundPartitionSpec,
};
use table_format::table::Table;
use table_format::{ErrorKind, Result};

use crate::interop::{batch, interop, python, schema, temp_warehouse, write_ipc};
use crate::operations::ids_of;

const DAY: i64 = 86_400_000;
/// 2026-01-01T00:00:00Z.
const T0: i64 = 1_767_225_600_000;

// ---------------------------------------------------------------------------------------------
// Retention rules on hand-made histories (no I/O).
// ---------------------------------------------------------------------------------------------

fn branch(
    min_keep: Option<i32>,
    max_age_days: Option<i64>,
    max_ref_age_days: Option<i64>,
) -> SnapshotRetention {
    SnapshotRetention::Branch {
        min_snapshots_to_keep: min_keep,
        max_snapshot_age_ms: max_age_days.map(|d| d * DAY),
        max_ref_age_ms: max_ref_age_days.map(|d| d * DAY),
    }
}

fn tag(max_ref_age_days: Option<i64>) -> SnapshotRetention {
    SnapshotRetention::Tag {
        max_ref_age_ms: max_ref_age_days.map(|d| d * DAY),
    }
}

/// A table whose snapshots are `(id, parent, day)` (timestamps `T0 + day`), with refs and
/// properties; manifest lists are names only.
fn history(
    snapshots: &[(i64, Option<i64>, i64)],
    refs: &[(&str, i64, SnapshotRetention)],
    props: &[(&str, &str)],
) -> Table {
    let props: BTreeMap<String, String> = props
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let mut b = TableMetadataBuilder::new_table(
        schema(),
        UnboundPartitionSpec::default(),
        SortOrder::unsorted(),
        "memory://wh/t",
        props,
    )
    .unwrap()
    .with_now_ms(T0);
    for (i, (id, parent, day)) in snapshots.iter().enumerate() {
        b.apply(TableUpdate::AddSnapshot {
            snapshot: Snapshot {
                snapshot_id: *id,
                parent_snapshot_id: *parent,
                sequence_number: i as i64 + 1,
                timestamp_ms: T0 + day * DAY,
                manifest_list: format!("memory://wh/t/metadata/snap-{id}.avro"),
                manifests: None,
                summary: Summary::new(Operation::Append),
                schema_id: None,
                first_row_id: None,
                added_rows: None,
                key_id: None,
            },
        })
        .unwrap();
    }
    // main last: setting a ref to a new snapshot moves last-updated-ms to its timestamp.
    let (main, others): (Vec<_>, Vec<_>) = refs.iter().partition(|(n, _, _)| *n == "main");
    for &(name, id, retention) in others.into_iter().chain(main) {
        b.apply(TableUpdate::SetSnapshotRef {
            ref_name: name.to_string(),
            reference: SnapshotReference {
                snapshot_id: id,
                retention,
            },
        })
        .unwrap();
    }
    let md = b.build().unwrap().metadata;
    Table::new(
        TableIdent::new(["db"], "t"),
        md,
        "memory://wh/t/metadata/00000-x.metadata.json".into(),
        FileIO::memory(),
    )
}

/// main: 1 <- 2 <- ... <- 6 on days 1..6.
fn linear_main(props: &[(&str, &str)]) -> Table {
    let snaps: Vec<(i64, Option<i64>, i64)> =
        (1..=6).map(|i| (i, (i > 1).then(|| i - 1), i)).collect();
    history(&snaps, &[("main", 6, branch(None, None, None))], props)
}

fn expired(t: &Table, op: table_format::maintenance::ExpireSnapshots) -> Vec<i64> {
    let mut ids = op.plan(t.metadata()).unwrap().expired_snapshot_ids;
    ids.sort_unstable();
    ids
}

#[test]
fn main_keeps_its_head_and_the_snapshots_younger_than_five_days() {
    let t = linear_main(&[]);
    let now = T0 + 10 * DAY;
    // Default max-snapshot-age is 5 days: days 5 and 6 stay, the walk stops at day 4.
    assert_eq!(
        expired(&t, t.expire_snapshots().with_now_ms(now)),
        vec![1, 2, 3, 4]
    );
    // Long after, only the head stays (min-snapshots-to-keep 1).
    assert_eq!(
        expired(&t, t.expire_snapshots().with_now_ms(now + 100 * DAY)),
        vec![1, 2, 3, 4, 5]
    );
}

#[test]
fn min_snapshots_to_keep_keeps_old_history_and_retain_last_replaces_it() {
    let t = linear_main(&[("history.expire.min-snapshots-to-keep", "4")]);
    let now = T0 + 100 * DAY;
    assert_eq!(
        expired(&t, t.expire_snapshots().with_now_ms(now)),
        vec![1, 2]
    );
    assert_eq!(
        expired(&t, t.expire_snapshots().with_now_ms(now).retain_last(2)),
        vec![1, 2, 3, 4]
    );
    let err = t
        .expire_snapshots()
        .retain_last(0)
        .plan(t.metadata())
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::DataInvalid);
}

#[test]
fn older_than_replaces_max_snapshot_age() {
    let t = linear_main(&[("history.expire.max-snapshot-age-ms", &(DAY).to_string())]);
    let now = T0 + 10 * DAY;
    // The property (1 day) would expire all but the head ...
    assert_eq!(
        expired(&t, t.expire_snapshots().with_now_ms(now)),
        vec![1, 2, 3, 4, 5]
    );
    // ... older_than (day 2) keeps days 2..6.
    assert_eq!(
        expired(
            &t,
            t.expire_snapshots()
                .with_now_ms(now)
                .older_than_ms(T0 + 2 * DAY)
        ),
        vec![1]
    );
}

/// main: 1 <- 2 <- 3 <- 4 (days 1, 2, 3, 9); branch dev: 2 <- 5 <- 6 (days 3, 4);
/// tag v1 on 1.
fn branches_and_tags(
    dev: SnapshotRetention,
    v1: SnapshotRetention,
    props: &[(&str, &str)],
) -> Table {
    history(
        &[
            (1, None, 1),
            (2, Some(1), 2),
            (3, Some(2), 3),
            (5, Some(2), 3),
            (6, Some(5), 4),
            (4, Some(3), 9),
        ],
        &[
            ("main", 4, branch(None, None, None)),
            ("dev", 6, dev),
            ("v1", 1, v1),
        ],
        props,
    )
}

#[test]
fn each_branch_keeps_its_own_history_and_tags_keep_their_snapshot() {
    let t = branches_and_tags(branch(Some(3), None, None), tag(None), &[]);
    let now = T0 + 10 * DAY;
    // main keeps 4; dev keeps 6, 5 and 2 (min 3); the tag keeps 1; 3 goes.
    let plan = t
        .expire_snapshots()
        .with_now_ms(now)
        .plan(t.metadata())
        .unwrap();
    assert_eq!(plan.expired_snapshot_ids, vec![3]);
    assert!(plan.removed_refs.is_empty());
    // Every ref is asserted, so a concurrent commit to any of them conflicts.
    for (name, id) in [("main", 4), ("dev", 6), ("v1", 1)] {
        assert!(
            plan.requirements()
                .contains(&TableRequirement::AssertRefSnapshotId {
                    r#ref: name.into(),
                    snapshot_id: Some(id)
                }),
            "{name}"
        );
    }
    assert!(matches!(
        plan.requirements()[0],
        TableRequirement::AssertTableUuid { .. }
    ));
}

#[test]
fn refs_older_than_max_ref_age_go_but_main_never_does() {
    // The tag's own max-ref-age (2 days) drops it; its snapshot then expires.
    let t = branches_and_tags(branch(Some(3), None, None), tag(Some(2)), &[]);
    let plan = t
        .expire_snapshots()
        .with_now_ms(T0 + 10 * DAY)
        .plan(t.metadata())
        .unwrap();
    assert_eq!(plan.removed_refs, vec!["v1".to_string()]);
    let mut ids = plan.expired_snapshot_ids.clone();
    ids.sort_unstable();
    assert_eq!(ids, vec![1, 3]);
    assert!(plan.updates().contains(&TableUpdate::RemoveSnapshotRef {
        ref_name: "v1".into()
    }));
    // The table default (3 days) drops dev and v1, never main (its head is 1 day old, but
    // main takes no max-ref-age at all).
    let t = branches_and_tags(
        branch(Some(3), None, None),
        tag(None),
        &[("history.expire.max-ref-age-ms", &(3 * DAY).to_string())],
    );
    let plan = t
        .expire_snapshots()
        .with_now_ms(T0 + 10 * DAY)
        .plan(t.metadata())
        .unwrap();
    assert_eq!(plan.removed_refs, vec!["dev".to_string(), "v1".to_string()]);
    let mut ids = plan.expired_snapshot_ids;
    ids.sort_unstable();
    assert_eq!(ids, vec![1, 2, 3, 5, 6]);
    // A ref-level max-ref-age wins over the table default.
    let t = branches_and_tags(
        branch(Some(3), None, Some(30)),
        tag(Some(30)),
        &[("history.expire.max-ref-age-ms", &(3 * DAY).to_string())],
    );
    let plan = t
        .expire_snapshots()
        .with_now_ms(T0 + 10 * DAY)
        .plan(t.metadata())
        .unwrap();
    assert!(plan.removed_refs.is_empty());
}

#[test]
fn a_branch_max_snapshot_age_wins_over_older_than() {
    // dev keeps 10 days of history whatever the caller asks; main keeps only its head.
    let t = branches_and_tags(branch(None, Some(10), None), tag(None), &[]);
    assert_eq!(
        expired(
            &t,
            t.expire_snapshots()
                .with_now_ms(T0 + 10 * DAY)
                .older_than_ms(T0 + 100 * DAY)
        ),
        vec![3]
    );
}

#[test]
fn explicit_ids_expire_young_snapshots_and_a_ref_head_is_refused() {
    let t = branches_and_tags(branch(None, None, None), tag(None), &[]);
    // At day 4 everything is younger than 5 days: nothing expires by age.
    let young = T0 + 4 * DAY;
    assert_eq!(
        expired(&t, t.expire_snapshots().with_now_ms(young)),
        Vec::<i64>::new()
    );
    assert_eq!(
        expired(
            &t,
            t.expire_snapshots().with_now_ms(young).snapshot_ids([3])
        ),
        vec![3]
    );
    for head in [4, 6, 1] {
        let err = t
            .expire_snapshots()
            .with_now_ms(young)
            .snapshot_ids([head])
            .plan(t.metadata())
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidUpdate, "{head}: {err}");
        assert!(err.message().contains("head of"), "{err}");
    }
    let err = t
        .expire_snapshots()
        .snapshot_ids([99])
        .plan(t.metadata())
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    // The head of a ref that ages out in the same expiry may go.
    let t = branches_and_tags(branch(None, None, None), tag(Some(1)), &[]);
    assert_eq!(
        expired(
            &t,
            t.expire_snapshots().with_now_ms(young).snapshot_ids([1])
        ),
        vec![1]
    );
}

#[test]
fn snapshots_no_ref_reaches_expire_once_old() {
    // main rolled back to 2: 3 is reachable from no ref.
    let t = history(
        &[(1, None, 1), (2, Some(1), 2), (3, Some(2), 3)],
        &[("main", 2, branch(Some(5), None, None))],
        &[],
    );
    assert_eq!(
        expired(&t, t.expire_snapshots().with_now_ms(T0 + 4 * DAY)),
        Vec::<i64>::new()
    );
    assert_eq!(
        expired(&t, t.expire_snapshots().with_now_ms(T0 + 10 * DAY)),
        vec![3]
    );
}

// ---------------------------------------------------------------------------------------------
// Real tables on local files.
// ---------------------------------------------------------------------------------------------

async fn local_table(name: &str, props: &[(&str, &str)]) -> (MemoryCatalog, Table, PathBuf) {
    let dir = temp_warehouse(name);
    let catalog = MemoryCatalog::new(FileIO::local(), format!("file://{}", dir.display()));
    let mut creation = TableCreation::new(schema());
    for (k, v) in props {
        creation = creation.with_property(*k, *v);
    }
    let t = catalog
        .create_table(&TableIdent::new(["db"], name), creation)
        .await
        .unwrap();
    (catalog, t, dir)
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

async fn rows_at(t: &Table, snapshot_id: i64) -> Vec<i64> {
    ids_of(&t.scan().snapshot_id(snapshot_id).to_arrow().await.unwrap())
}

/// Rows of every snapshot of the table.
async fn rows_of_all(t: &Table) -> HashMap<i64, Vec<i64>> {
    let mut out = HashMap::new();
    for s in t.metadata().snapshots() {
        out.insert(s.snapshot_id, rows_at(t, s.snapshot_id).await);
    }
    out
}

/// How many expiries of the random histories pyiceberg checks (one python process each, so
/// a budget keeps the property test to seconds; the first expiries of the run get checked).
const PYICEBERG_CHECKS: usize = 12;
static PYICEBERG_CHECKED: AtomicUsize = AtomicUsize::new(0);

/// pyiceberg reads every retained snapshot with the rows Floe read when it was committed
/// (while the budget lasts).
fn pyiceberg_reads_the_same(t: &Table, rows_before: &HashMap<i64, Vec<i64>>) {
    static PY: std::sync::OnceLock<Option<PathBuf>> = std::sync::OnceLock::new();
    let Some(py) = PY.get_or_init(python) else {
        return;
    };
    if PYICEBERG_CHECKED.fetch_add(1, Ordering::SeqCst) >= PYICEBERG_CHECKS {
        return;
    }
    let (ok, report) = interop(
        py,
        &[
            "snapshot-rows",
            "--metadata",
            t.metadata_location(),
            "--column",
            "id",
        ],
    );
    assert!(ok, "{report}");
    for s in t.metadata().snapshots() {
        let theirs: Vec<i64> = report["snapshots"][s.snapshot_id.to_string()]
            .as_array()
            .unwrap_or_else(|| {
                panic!(
                    "pyiceberg did not read snapshot {}: {report}",
                    s.snapshot_id
                )
            })
            .iter()
            .map(|v| v.as_i64().expect("an id"))
            .collect();
        if let Some(ours) = rows_before.get(&s.snapshot_id) {
            let mut ours = ours.clone();
            ours.sort_unstable();
            assert_eq!(
                theirs, ours,
                "pyiceberg reads snapshot {} differently",
                s.snapshot_id
            );
        }
    }
}

/// Every file reachable from every snapshot left exists; no deleted file is reachable; every
/// retained snapshot reads the rows it read before.
async fn assert_retained_intact(
    t: &Table,
    deleted: &table_format::maintenance::FilesByCategory,
    rows_before: &HashMap<i64, Vec<i64>>,
) {
    let md = t.metadata();
    let io = t.file_io();
    let reachable = reachable_files(
        io,
        md,
        md.snapshots().iter().map(|s| s.snapshot_id),
        EntryFilter::Live,
    )
    .await
    .unwrap();
    for (path, (category, _)) in &reachable.files {
        assert!(
            io.exists(path).await.unwrap(),
            "{category:?} {path} is reachable from a retained snapshot but was deleted"
        );
    }
    let reachable_keys: HashSet<String> = reachable
        .files
        .keys()
        .map(|p| normalize_location(p))
        .collect();
    for (category, path) in deleted.iter() {
        assert!(
            !reachable_keys.contains(&normalize_location(path)),
            "deleted {category:?} {path} is reachable from a retained snapshot"
        );
    }
    assert!(io.exists(t.metadata_location()).await.unwrap());
    for s in md.snapshots() {
        if let Some(before) = rows_before.get(&s.snapshot_id) {
            assert_eq!(
                &rows_at(t, s.snapshot_id).await,
                before,
                "snapshot {} reads other rows after the expiry",
                s.snapshot_id
            );
        }
    }
}

fn snapshot_ids(t: &Table) -> Vec<i64> {
    t.metadata()
        .snapshots()
        .iter()
        .map(|s| s.snapshot_id)
        .collect()
}

#[tokio::test]
async fn expiry_deletes_only_what_expired_snapshots_alone_reached() {
    let (catalog, t, dir) = local_table("expire-files", &[]).await;
    let mut t = append(&t, &catalog, 0, 10, "main").await;
    t = append(&t, &catalog, 10, 10, "main").await;
    // Rewrites the first file without ids < 5 (copy-on-write): that file goes live-less.
    t = t
        .delete_where(Reference::new("id").less_than(Datum::Long(5)))
        .commit(&catalog)
        .await
        .unwrap();
    t = append(&t, &catalog, 20, 10, "main").await;
    let ids = snapshot_ids(&t);
    assert_eq!(ids.len(), 4);
    let rows = rows_of_all(&t).await;
    let io = t.file_io().clone();
    let before = reachable_files(&io, t.metadata(), ids.clone(), EntryFilter::All)
        .await
        .unwrap();

    let out = t
        .expire_snapshots()
        .older_than_ms(i64::MAX)
        .commit(&catalog)
        .await
        .unwrap();
    let report = out.report;
    assert!(!report.dry_run);
    assert!(
        report.cleanup_errors.is_empty(),
        "{:?}",
        report.cleanup_errors
    );
    let mut expired = report.expired_snapshot_ids.clone();
    expired.sort_unstable();
    let mut want = ids[..3].to_vec();
    want.sort_unstable();
    assert_eq!(expired, want);
    assert_eq!(snapshot_ids(&out.table), vec![ids[3]]);
    let d = &report.deleted_files;
    assert_eq!(d.manifest_lists.len(), 3, "{d:?}");
    // The first data file (rows 0..10) was replaced by the delete: only expired snapshots read it.
    assert_eq!(d.data_files.len(), 1, "{d:?}");
    assert!(d.delete_files.is_empty() && d.statistics_files.is_empty());
    assert!(d.metadata_files.is_empty(), "delete-after-commit is off");
    assert!(!d.manifests.is_empty());
    let expected_bytes: u64 = d
        .iter()
        .map(|(_, p)| before.files.get(p).map(|(_, s)| *s).unwrap())
        .sum();
    assert_eq!(report.deleted_bytes, expected_bytes);
    assert!(report.deleted_bytes > 0);
    for (_, p) in d.iter() {
        assert!(!io.exists(p).await.unwrap(), "{p} still exists");
    }
    assert_retained_intact(&out.table, d, &rows).await;
    assert_eq!(
        ids_of(&out.table.scan().to_arrow().await.unwrap()),
        (5..30).collect::<Vec<_>>()
    );
    // Nothing left to expire: a second run is a no-op.
    let again = out
        .table
        .expire_snapshots()
        .older_than_ms(i64::MAX)
        .commit(&catalog)
        .await
        .unwrap();
    assert!(again.report.expired_snapshot_ids.is_empty());
    assert_eq!(
        again.table.metadata_location(),
        out.table.metadata_location()
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn dry_run_reports_the_same_files_and_changes_nothing() {
    let (catalog, t, dir) = local_table("expire-dry", &[]).await;
    let mut t = append(&t, &catalog, 0, 10, "main").await;
    t = t
        .overwrite(Reference::new("id").less_than(Datum::Long(100)))
        .add_batches(&[batch(&schema(), 100, 5)])
        .await
        .unwrap()
        .commit(&catalog)
        .await
        .unwrap();
    t = append(&t, &catalog, 200, 5, "main").await;
    let location = t.metadata_location().to_string();
    let files_before = list_all(&dir);
    let dry = t
        .expire_snapshots()
        .older_than_ms(i64::MAX)
        .dry_run(true)
        .commit(&catalog)
        .await
        .unwrap();
    assert!(dry.report.dry_run);
    assert_eq!(dry.report.expired_snapshot_ids.len(), 2);
    assert_eq!(dry.report.deleted_files.data_files.len(), 1);
    assert_eq!(list_all(&dir), files_before, "a dry run deletes nothing");
    assert_eq!(
        catalog
            .metadata_location(&TableIdent::new(["db"], "expire-dry"))
            .await
            .unwrap(),
        location,
        "a dry run commits nothing"
    );
    let real = t
        .expire_snapshots()
        .older_than_ms(i64::MAX)
        .commit(&catalog)
        .await
        .unwrap();
    assert_eq!(real.report.deleted_files, dry.report.deleted_files);
    assert_eq!(real.report.deleted_bytes, dry.report.deleted_bytes);
    assert_eq!(
        real.report.expired_snapshot_ids,
        dry.report.expired_snapshot_ids
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn clean_files_false_commits_but_deletes_nothing_and_gc_disabled_refuses_clean_up() {
    let (catalog, t, dir) = local_table("expire-noclean", &[("gc.enabled", "false")]).await;
    let mut t = append(&t, &catalog, 0, 10, "main").await;
    t = append(&t, &catalog, 10, 10, "main").await;
    let err = t
        .expire_snapshots()
        .older_than_ms(i64::MAX)
        .commit(&catalog)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidUpdate);
    assert!(err.message().contains("gc.enabled"), "{err}");
    let files_before = list_all(&dir);
    let out = t
        .expire_snapshots()
        .older_than_ms(i64::MAX)
        .clean_files(false)
        .commit(&catalog)
        .await
        .unwrap();
    assert_eq!(out.report.expired_snapshot_ids.len(), 1);
    assert_eq!(out.report.deleted_files.total(), 0);
    assert_eq!(snapshot_ids(&out.table).len(), 1);
    // Only the new metadata file appeared.
    let after = list_all(&dir);
    assert!(files_before.iter().all(|f| after.contains(f)));
    assert_eq!(after.len(), files_before.len() + 1);
    std::fs::remove_dir_all(&dir).ok();
}

/// Every file under `dir`, sorted.
fn list_all(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

#[tokio::test]
async fn branches_and_tags_keep_their_files() {
    let (catalog, t, dir) = local_table("expire-refs", &[]).await;
    let mut t = append(&t, &catalog, 0, 10, "main").await;
    let first = t.metadata().current_snapshot_id().unwrap();
    t = t
        .manage_snapshots()
        .create_tag("v1", first)
        .create_branch("dev", first)
        .commit(&catalog)
        .await
        .unwrap();
    t = append(&t, &catalog, 100, 5, "dev").await;
    t = t
        .delete_where(Reference::new("id").less_than(Datum::Long(100)))
        .commit(&catalog)
        .await
        .unwrap();
    t = append(&t, &catalog, 10, 10, "main").await;
    let rows = rows_of_all(&t).await;
    let out = t
        .expire_snapshots()
        .older_than_ms(i64::MAX)
        .commit(&catalog)
        .await
        .unwrap();
    // main's delete snapshot expires; the tag's and dev's snapshots stay, so the file of
    // rows 0..10 (deleted on main) is still read by v1 and dev and must stay.
    assert_eq!(out.report.expired_snapshot_ids.len(), 1);
    assert!(out.report.deleted_files.data_files.is_empty());
    assert_retained_intact(&out.table, &out.report.deleted_files, &rows).await;
    assert_eq!(
        ids_of(&out.table.scan().use_ref("v1").to_arrow().await.unwrap()),
        (0..10).collect::<Vec<_>>()
    );
    // Drop the tag and dev: now the file of rows 0..10 goes.
    let t = out
        .table
        .manage_snapshots()
        .remove_tag("v1")
        .remove_branch("dev")
        .commit(&catalog)
        .await
        .unwrap();
    let rows = rows_of_all(&t).await;
    let out = t
        .expire_snapshots()
        .older_than_ms(i64::MAX)
        .commit(&catalog)
        .await
        .unwrap();
    assert_eq!(
        out.report.deleted_files.data_files.len(),
        2,
        "{:?}",
        out.report
    );
    assert_retained_intact(&out.table, &out.report.deleted_files, &rows).await;
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn delete_files_go_with_the_branch_that_wrote_them() {
    let (catalog, t, dir) =
        local_table("expire-mor", &[("write.delete.mode", "merge-on-read")]).await;
    let mut t = append(&t, &catalog, 0, 10, "main").await;
    let head = t.metadata().current_snapshot_id().unwrap();
    t = t
        .manage_snapshots()
        .create_branch("dev", head)
        .commit(&catalog)
        .await
        .unwrap();
    // A merge-on-read delete on dev: a position delete file only dev's snapshot reads.
    t = t
        .delete_where(Reference::new("id").less_than(Datum::Long(4)))
        .to_branch("dev")
        .commit(&catalog)
        .await
        .unwrap();
    assert_eq!(
        ids_of(&t.scan().use_ref("dev").to_arrow().await.unwrap()),
        (4..10).collect::<Vec<_>>()
    );
    let kept = t
        .expire_snapshots()
        .older_than_ms(i64::MAX)
        .commit(&catalog)
        .await
        .unwrap();
    assert!(kept.report.expired_snapshot_ids.is_empty(), "dev keeps it");
    let t = kept
        .table
        .manage_snapshots()
        .remove_branch("dev")
        .commit(&catalog)
        .await
        .unwrap();
    let rows = rows_of_all(&t).await;
    let out = t
        .expire_snapshots()
        .older_than_ms(i64::MAX)
        .commit(&catalog)
        .await
        .unwrap();
    let d = &out.report.deleted_files;
    assert_eq!(out.report.expired_snapshot_ids.len(), 1);
    assert_eq!(d.delete_files.len(), 1, "{d:?}");
    assert!(d.data_files.is_empty(), "main still reads the data file");
    assert_eq!(
        d.manifests.len(),
        1,
        "dev's delete manifest (it shares main's data manifest): {d:?}"
    );
    assert_retained_intact(&out.table, d, &rows).await;
    std::fs::remove_dir_all(&dir).ok();
}

/// A catalog that lets another writer's commit land just before the first expiry commit goes
/// through, as if it had committed between the expiry's planning and its commit. While
/// `recording`, commits are held back (recorded) instead of applied.
#[derive(Debug)]
struct RacingCatalog {
    inner: MemoryCatalog,
    recording: AtomicBool,
    pending: std::sync::Mutex<Option<(Vec<TableRequirement>, Vec<TableUpdate>)>>,
    raced: AtomicBool,
}

#[async_trait]
impl Catalog for RacingCatalog {
    fn file_io(&self) -> &FileIO {
        self.inner.file_io()
    }

    async fn load_table(&self, ident: &TableIdent) -> Result<Table> {
        self.inner.load_table(ident).await
    }

    async fn create_table(&self, ident: &TableIdent, creation: TableCreation) -> Result<Table> {
        self.inner.create_table(ident, creation).await
    }

    async fn commit_table(
        &self,
        ident: &TableIdent,
        requirements: Vec<TableRequirement>,
        updates: Vec<TableUpdate>,
    ) -> Result<Table> {
        if self.recording.load(Ordering::SeqCst) {
            *self.pending.lock().unwrap() = Some((requirements, updates));
            return self.inner.load_table(ident).await;
        }
        let expiry = updates
            .iter()
            .any(|u| matches!(u, TableUpdate::RemoveSnapshots { .. }));
        let pending = self.pending.lock().unwrap().take();
        if expiry && let Some((r, u)) = pending {
            self.inner.commit_table(ident, r, u).await?;
            self.raced.store(true, Ordering::SeqCst);
        }
        self.inner.commit_table(ident, requirements, updates).await
    }

    async fn drop_table(&self, ident: &TableIdent, purge: bool) -> Result<()> {
        self.inner.drop_table(ident, purge).await
    }

    async fn list_tables(&self, namespace: &[String]) -> Result<Vec<TableIdent>> {
        self.inner.list_tables(namespace).await
    }
}

#[tokio::test]
async fn a_concurrent_append_is_not_lost_and_the_expiry_retries() {
    let (inner, t, dir) = local_table("expire-race", &[("commit.retry.min-wait-ms", "1")]).await;
    let catalog = RacingCatalog {
        inner,
        recording: AtomicBool::new(false),
        pending: std::sync::Mutex::new(None),
        raced: AtomicBool::new(false),
    };
    let mut t = append(&t, &catalog, 0, 10, "main").await;
    t = append(&t, &catalog, 10, 10, "main").await;
    t = append(&t, &catalog, 20, 10, "main").await;
    let old = snapshot_ids(&t);
    let cutoff = chrono::Utc::now().timestamp_millis() + 1;
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    // The other writer prepares its append (files, manifest list, commit) now; its commit
    // lands when the expiry commits.
    catalog.recording.store(true, Ordering::SeqCst);
    append(&t, &catalog, 1000, 7, "main").await;
    catalog.recording.store(false, Ordering::SeqCst);
    // Expire everything older than the cut-off: planned on 3 snapshots, keeping the head.
    let out = t
        .expire_snapshots()
        .older_than_ms(cutoff)
        .commit(&catalog)
        .await
        .unwrap();
    assert!(catalog.raced.load(Ordering::SeqCst), "the race happened");
    let table = catalog
        .load_table(&TableIdent::new(["db"], "expire-race"))
        .await
        .unwrap();
    // The concurrent append is main's head and its rows are there.
    let head = table.metadata().current_snapshot().unwrap();
    assert!(!old.contains(&head.snapshot_id));
    assert_eq!(
        ids_of(&table.scan().to_arrow().await.unwrap()),
        (0..30).chain(1000..1007).collect::<Vec<_>>()
    );
    // Re-planned on fresh metadata: the old head is no head any more, so it expired too.
    let mut expired = out.report.expired_snapshot_ids.clone();
    expired.sort_unstable();
    let mut want = old.clone();
    want.sort_unstable();
    assert_eq!(expired, want);
    assert_eq!(snapshot_ids(&table), vec![head.snapshot_id]);
    assert_retained_intact(&table, &out.report.deleted_files, &HashMap::new()).await;
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn old_metadata_files_go_when_delete_after_commit_is_enabled() {
    let (catalog, t, dir) = local_table(
        "expire-metadata",
        &[
            ("write.metadata.delete-after-commit.enabled", "true"),
            ("write.metadata.previous-versions-max", "2"),
        ],
    )
    .await;
    let mut t = t;
    let mut all_metadata = vec![t.metadata_location().to_string()];
    for i in 0..4 {
        t = append(&t, &catalog, i * 10, 10, "main").await;
        all_metadata.push(t.metadata_location().to_string());
    }
    // The builder trims the log to 2 entries.
    assert_eq!(t.metadata().metadata_log().len(), 2);
    let before = t.metadata().clone();
    let out = t
        .expire_snapshots()
        .older_than_ms(i64::MAX)
        .commit(&catalog)
        .await
        .unwrap();
    let after = out.table.metadata();
    let dropped = metadata_files_to_delete(&before, after);
    assert_eq!(dropped.len(), 1, "one entry dropped out of the 2-entry log");
    assert_eq!(out.report.deleted_files.metadata_files, dropped);
    for f in &dropped {
        assert!(!t.file_io().exists(f).await.unwrap());
    }
    // What is still in the log, and the current file, stay.
    for e in after.metadata_log() {
        assert!(t.file_io().exists(&e.metadata_file).await.unwrap());
    }
    assert!(
        t.file_io()
            .exists(out.table.metadata_location())
            .await
            .unwrap()
    );
    // With the property off, nothing is ever returned.
    let mut off = TableMetadataBuilder::from_metadata(before.clone(), None);
    off.apply(TableUpdate::RemoveProperties {
        removals: vec!["write.metadata.delete-after-commit.enabled".into()],
    })
    .unwrap();
    let off = off.build().unwrap().metadata;
    assert!(metadata_files_to_delete(&before, &off).is_empty());
    std::fs::remove_dir_all(&dir).ok();
}

// ---------------------------------------------------------------------------------------------
// Orphan files.
// ---------------------------------------------------------------------------------------------

fn file_mtime_ms(p: &Path) -> i64 {
    let m = std::fs::metadata(p).unwrap().modified().unwrap();
    m.duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

#[tokio::test]
async fn orphan_removal_keeps_referenced_and_young_files() {
    let (catalog, t, dir) = local_table("orphans", &[]).await;
    let mut t = append(&t, &catalog, 0, 10, "main").await;
    t = t
        .delete_where(Reference::new("id").less_than(Datum::Long(3)))
        .commit(&catalog)
        .await
        .unwrap();
    let table_dir = dir.join("db/orphans");
    let junk_data = table_dir.join("data/junk.parquet");
    let junk_meta = table_dir.join("metadata/00099-junk.metadata.json");
    std::fs::write(&junk_data, b"not referenced").unwrap();
    std::fs::write(&junk_meta, b"{}").unwrap();
    std::fs::write(table_dir.join("metadata/version-hint.text"), b"1").unwrap();
    let referenced_before = list_all(&table_dir);

    // Young files survive the default safety age (3 days).
    let report = t.remove_orphan_files().execute().await.unwrap();
    assert_eq!(report.orphan_file_count, 0, "{report:?}");
    assert!(junk_data.exists());

    // Dry run with every file old enough: reports the two junk files, deletes nothing.
    let future = chrono::Utc::now().timestamp_millis() + DAY;
    let dry = t
        .remove_orphan_files()
        .older_than_ms(future)
        .dry_run(true)
        .execute()
        .await
        .unwrap();
    assert!(dry.dry_run);
    assert_eq!(dry.orphan_file_count, 2, "{dry:?}");
    assert_eq!(dry.deleted_bytes, 14 + 2);
    assert!(junk_data.exists() && junk_meta.exists());

    // A real run with a cut-off between the junk files' ages deletes only the older ones.
    std::thread::sleep(std::time::Duration::from_millis(20));
    let newer = table_dir.join("data/newer-junk.parquet");
    std::fs::write(&newer, b"x").unwrap();
    let cutoff = file_mtime_ms(&newer);
    assert!(file_mtime_ms(&junk_data) < cutoff);
    let report = t
        .remove_orphan_files()
        .older_than_ms(cutoff)
        .execute()
        .await
        .unwrap();
    assert_eq!(report.orphan_file_count, 2, "{report:?}");
    assert!(!junk_data.exists() && !junk_meta.exists());
    assert!(newer.exists(), "younger than the cut-off");
    let report = t
        .remove_orphan_files()
        .older_than_ms(future)
        .execute()
        .await
        .unwrap();
    assert_eq!(report.orphan_files.len(), 1);
    assert!(!newer.exists());
    // Every other file (referenced, or version-hint.text) is still there, and the table reads.
    for f in referenced_before {
        if f != junk_data && f != junk_meta {
            assert!(f.exists(), "{} was deleted", f.display());
        }
    }
    assert_eq!(
        ids_of(&t.scan().to_arrow().await.unwrap()),
        (3..10).collect::<Vec<_>>()
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn orphan_removal_matches_referenced_paths_in_every_spelling() {
    let (catalog, t, dir) = local_table("orphan-spellings", &[]).await;
    let t = append(&t, &catalog, 0, 10, "main").await;
    // Three more data files, referenced as `file:/p`, plain `/p` and `file://p//q`, as other
    // writers (Java's Hadoop paths, pyiceberg's plain paths) spell them.
    let mut files = Vec::new();
    for (k, spell) in [0, 1, 2].into_iter().zip(["file:/", "/", "file://"]) {
        let mut written =
            table_format::transaction::write_batches(&t, &[batch(&schema(), 100 + k * 10, 10)])
                .await
                .unwrap();
        for f in &mut written {
            let abs = f.file_path.trim_start_matches("file://").to_string();
            let mut spelled = format!("{spell}{}", abs.trim_start_matches('/'));
            if spell == "file://" {
                // A doubled separator inside the path, too.
                spelled = spelled.replacen("/data/", "/data//", 1);
            }
            f.file_path = spelled;
        }
        files.extend(written);
    }
    let t = t
        .fast_append()
        .add_files(files.clone())
        .commit(&catalog)
        .await
        .unwrap();
    let junk = dir.join("db/orphan-spellings/data/junk.parquet");
    std::fs::write(&junk, b"junk").unwrap();
    let report = t
        .remove_orphan_files()
        .older_than_ms(chrono::Utc::now().timestamp_millis() + DAY)
        .execute()
        .await
        .unwrap();
    assert_eq!(
        report.orphan_files,
        vec![format!("file://{}", junk.display())],
        "{report:?}"
    );
    for f in &files {
        let on_disk = normalize_location(&f.file_path);
        let p = on_disk.trim_start_matches("file://");
        assert!(Path::new(p).exists(), "{} ({}) was deleted", f.file_path, p);
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn orphan_removal_on_a_memory_store_stays_inside_its_table() {
    let io = FileIO::memory();
    let catalog = MemoryCatalog::new(io.clone(), "memory://wh");
    let mut tables = Vec::new();
    for name in ["t", "t2"] {
        let t = catalog
            .create_table(&TableIdent::new(["db"], name), TableCreation::new(schema()))
            .await
            .unwrap();
        tables.push(append(&t, &catalog, 0, 5, "main").await);
    }
    io.write(
        "memory://wh/db/t/data/junk.parquet",
        bytes::Bytes::from_static(b"junk"),
    )
    .await
    .unwrap();
    let t2_files = io.list("memory://wh/db/t2").await.unwrap();
    let report = tables[0]
        .remove_orphan_files()
        .older_than_ms(chrono::Utc::now().timestamp_millis() + DAY)
        .execute()
        .await
        .unwrap();
    assert_eq!(
        report.orphan_files,
        vec!["memory://wh/db/t/data/junk.parquet".to_string()]
    );
    assert_eq!(report.deleted_bytes, 4);
    assert_eq!(io.list("memory://wh/db/t2").await.unwrap(), t2_files);
    assert_eq!(
        ids_of(&tables[0].scan().to_arrow().await.unwrap()),
        (0..5).collect::<Vec<_>>()
    );
}

// ---------------------------------------------------------------------------------------------
// Random histories.
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
enum Op {
    Append(i64),
    AppendDev(i64),
    Overwrite(i64),
    Delete(i64),
    DeleteDev(i64),
    Tag,
    BranchDev,
    DropRef(usize),
    Expire {
        retain_last: i32,
        older_than_pick: usize,
        explicit_pick: Option<usize>,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (1i64..6).prop_map(Op::Append),
        2 => (1i64..6).prop_map(Op::AppendDev),
        1 => (0i64..20).prop_map(Op::Overwrite),
        1 => (0i64..20).prop_map(Op::Delete),
        1 => (0i64..20).prop_map(Op::DeleteDev),
        1 => Just(Op::Tag),
        1 => Just(Op::BranchDev),
        1 => (0usize..8).prop_map(Op::DropRef),
        3 => (1i32..4, 0usize..16, proptest::option::weighted(0.25, 0usize..16)).prop_map(
            |(retain_last, older_than_pick, explicit_pick)| Op::Expire {
                retain_last,
                older_than_pick,
                explicit_pick,
            }
        ),
    ]
}

struct Model {
    catalog: MemoryCatalog,
    table: Table,
    next_id: i64,
    tags: usize,
    /// Rows every snapshot ever committed reads.
    rows: HashMap<i64, Vec<i64>>,
}

impl Model {
    async fn record_head(&mut self, r: &str) {
        if let Some(s) = self.table.metadata().snapshot_for_ref(r) {
            let id = s.snapshot_id;
            let rows = rows_at(&self.table, id).await;
            self.rows.insert(id, rows);
        }
    }

    async fn apply(&mut self, op: &Op) {
        let t = self.table.clone();
        match op {
            Op::Append(n) | Op::AppendDev(n) => {
                let b = if matches!(op, Op::AppendDev(_)) {
                    "dev"
                } else {
                    "main"
                };
                if b == "dev" && !t.metadata().refs().contains_key("dev") {
                    return;
                }
                self.table = append(&t, &self.catalog, self.next_id, *n, b).await;
                self.next_id += n;
                self.record_head(b).await;
            }
            Op::Overwrite(k) => {
                if t.metadata().current_snapshot().is_none() {
                    return;
                }
                self.table = t
                    .overwrite(Reference::new("id").less_than(Datum::Long(*k)))
                    .add_batches(&[batch(&schema(), self.next_id, 3)])
                    .await
                    .unwrap()
                    .commit(&self.catalog)
                    .await
                    .unwrap();
                self.next_id += 3;
                self.record_head("main").await;
            }
            Op::Delete(k) | Op::DeleteDev(k) => {
                let b = if matches!(op, Op::DeleteDev(_)) {
                    "dev"
                } else {
                    "main"
                };
                if t.metadata().snapshot_for_ref(b).is_none() {
                    return;
                }
                self.table = t
                    .delete_where(Reference::new("id").greater_than_or_eq(Datum::Long(*k)))
                    .to_branch(b)
                    .commit(&self.catalog)
                    .await
                    .unwrap();
                self.record_head(b).await;
            }
            Op::Tag => {
                let Some(id) = t.metadata().current_snapshot_id() else {
                    return;
                };
                self.tags += 1;
                self.table = t
                    .manage_snapshots()
                    .create_tag(format!("t{}", self.tags), id)
                    .commit(&self.catalog)
                    .await
                    .unwrap();
            }
            Op::BranchDev => {
                let Some(id) = t.metadata().current_snapshot_id() else {
                    return;
                };
                if t.metadata().refs().contains_key("dev") {
                    return;
                }
                self.table = t
                    .manage_snapshots()
                    .create_branch("dev", id)
                    .commit(&self.catalog)
                    .await
                    .unwrap();
            }
            Op::DropRef(i) => {
                let names: Vec<String> = t
                    .metadata()
                    .refs()
                    .keys()
                    .filter(|n| *n != "main")
                    .cloned()
                    .collect();
                if names.is_empty() {
                    return;
                }
                let name = &names[i % names.len()];
                let ms = t.manage_snapshots();
                let ms = if t.metadata().refs()[name].is_branch() {
                    ms.remove_branch(name.clone())
                } else {
                    ms.remove_tag(name.clone())
                };
                self.table = ms.commit(&self.catalog).await.unwrap();
            }
            Op::Expire {
                retain_last,
                older_than_pick,
                explicit_pick,
            } => {
                let snaps = t.metadata().snapshots();
                if snaps.is_empty() {
                    return;
                }
                // Picks past the end expire everything the refs do not keep.
                let older_than = snaps
                    .get(*older_than_pick)
                    .map_or(i64::MAX, |s| s.timestamp_ms);
                let mut e = t
                    .expire_snapshots()
                    .retain_last(*retain_last)
                    .older_than_ms(older_than);
                let explicit = explicit_pick.map(|p| snaps[p % snaps.len()].snapshot_id);
                let heads: HashSet<i64> = t
                    .metadata()
                    .refs()
                    .values()
                    .map(|r| r.snapshot_id)
                    .collect();
                if let Some(id) = explicit {
                    e = e.snapshot_ids([id]);
                }
                match e.commit(&self.catalog).await {
                    Ok(out) => {
                        assert!(
                            explicit.is_none_or(|id| !heads.contains(&id)),
                            "expiring a ref head must be refused"
                        );
                        assert!(out.report.cleanup_errors.is_empty(), "{:?}", out.report);
                        for id in &out.report.expired_snapshot_ids {
                            assert!(!heads.contains(id), "ref head {id} expired");
                        }
                        assert_retained_intact(&out.table, &out.report.deleted_files, &self.rows)
                            .await;
                        pyiceberg_reads_the_same(&out.table, &self.rows);
                        self.table = out.table;
                    }
                    Err(err) => {
                        assert_eq!(err.kind(), ErrorKind::InvalidUpdate, "{err}");
                        assert!(explicit.is_some_and(|id| heads.contains(&id)), "{err}");
                    }
                }
            }
        }
    }
}

async fn run_history(ops: Vec<Op>, merge_on_read: bool) {
    // Merge-on-read deletes write position delete files, which expiry must handle too.
    let mode = if merge_on_read {
        "merge-on-read"
    } else {
        "copy-on-write"
    };
    let (catalog, table, dir) = local_table("expire-prop", &[("write.delete.mode", mode)]).await;
    let mut m = Model {
        catalog,
        table,
        next_id: 0,
        tags: 0,
        rows: HashMap::new(),
    };
    for op in &ops {
        m.apply(op).await;
    }
    // A final expiry of everything but the refs' heads keeps every ref readable.
    let t = m.table.clone();
    let out = t
        .expire_snapshots()
        .older_than_ms(i64::MAX)
        .commit(&m.catalog)
        .await
        .unwrap();
    assert_retained_intact(&out.table, &out.report.deleted_files, &m.rows).await;
    let heads: HashSet<i64> = out
        .table
        .metadata()
        .refs()
        .values()
        .map(|r| r.snapshot_id)
        .collect();
    for s in out.table.metadata().snapshots() {
        assert!(heads.contains(&s.snapshot_id));
    }
    std::fs::remove_dir_all(&dir).ok();
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 32,
        max_shrink_iters: 20,
        ..ProptestConfig::default()
    })]

    #[test]
    fn random_histories_expire_only_unreachable_files(
        ops in proptest::collection::vec(op(), 8..28),
        merge_on_read in any::<bool>(),
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(run_history(ops, merge_on_read));
    }
}

// ---------------------------------------------------------------------------------------------
// pyiceberg reads what is left.
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pyiceberg_reads_every_retained_snapshot_after_expiries() {
    let Some(py) = python() else { return };
    let (catalog, t, dir) = local_table("expire-pyiceberg", &[]).await;
    let mut t = append(&t, &catalog, 0, 20, "main").await;
    t = append(&t, &catalog, 20, 20, "main").await;
    let tagged = t.metadata().current_snapshot_id().unwrap();
    t = t
        .manage_snapshots()
        .create_tag("v1", tagged)
        .create_branch("dev", tagged)
        .commit(&catalog)
        .await
        .unwrap();
    t = t
        .delete_where(Reference::new("id").less_than(Datum::Long(10)))
        .commit(&catalog)
        .await
        .unwrap();
    t = append(&t, &catalog, 100, 5, "dev").await;
    t = t
        .overwrite(Reference::new("id").greater_than_or_eq(Datum::Long(30)))
        .add_batches(&[batch(&schema(), 200, 5)])
        .await
        .unwrap()
        .commit(&catalog)
        .await
        .unwrap();
    let cutoff = t.metadata().current_snapshot().unwrap().timestamp_ms;
    t = append(&t, &catalog, 300, 5, "main").await;
    // Expire everything on main older than the overwrite, keeping two snapshots per branch.
    let out = t
        .expire_snapshots()
        .older_than_ms(cutoff)
        .retain_last(2)
        .commit(&catalog)
        .await
        .unwrap();
    assert!(!out.report.expired_snapshot_ids.is_empty());
    let t = out.table;
    let md_path = t.metadata_location().to_string();
    // pyiceberg sees the same snapshots ...
    let (ok, inspected) = interop(&py, &["inspect", "--metadata", &md_path]);
    assert!(ok, "{inspected}");
    let mut theirs: Vec<i64> = inspected["snapshots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["snapshot_id"].as_i64().unwrap())
        .collect();
    theirs.sort_unstable();
    let mut ours = snapshot_ids(&t);
    ours.sort_unstable();
    assert_eq!(theirs, ours);
    // ... and reads each of them as Floe does.
    for id in ours {
        let scan = t.scan().snapshot_id(id);
        let batches = scan.to_arrow().await.unwrap();
        let arrow = Arc::new(
            table_format::arrow::iceberg_schema_to_arrow(&scan.schema().unwrap()).unwrap(),
        );
        let ipc = dir.join(format!("{id}.arrows"));
        write_ipc(&ipc, &arrow, &batches);
        let ipc_s = ipc.display().to_string();
        let id_s = id.to_string();
        let (ok, report) = interop(
            &py,
            &[
                "compare",
                "--metadata",
                &md_path,
                "--expected",
                &ipc_s,
                "--snapshot-id",
                &id_s,
                "--no-duckdb",
            ],
        );
        assert!(ok, "snapshot {id}: {report}");
        assert_eq!(report["pyiceberg_equal"], true, "snapshot {id}: {report}");
    }
    std::fs::remove_dir_all(&dir).ok();
}
