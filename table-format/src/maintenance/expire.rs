//! Snapshot expiry: [`ExpireSnapshots`] decides which snapshots go by the spec's "Snapshot
//! Retention" rules (as Java's `RemoveSnapshots` applies them), commits that through a catalog,
//! and only then deletes the files no retained snapshot reaches.
//!
//! - [`ExpireSnapshots::plan`]: the pure decision over one metadata version, as an
//!   [`ExpiryPlan`] (expired snapshot ids, refs that aged out, requirements and updates).
//! - [`ExpireSnapshots::commit`]: plan, commit (re-planning on fresh metadata after a
//!   conflict, per `commit.retry.*`), then clean up; returns an [`ExpireSnapshotsReport`].
//!
//! The rules, for a clock `now`:
//! 1. A ref other than `main` whose snapshot is older than its `max-ref-age-ms` (else the
//!    table's `history.expire.max-ref-age-ms`, default forever) is removed.
//! 2. Every remaining ref's snapshot is retained.
//! 3. For each remaining branch, ancestors from its head are retained while fewer than
//!    `min-snapshots-to-keep` are retained or the ancestor is newer than
//!    `now - max-snapshot-age-ms`; the first one that is neither stops the walk. The branch's
//!    own fields win; otherwise [`ExpireSnapshots::retain_last`] and
//!    [`ExpireSnapshots::older_than_ms`] stand in for the table properties
//!    `history.expire.min-snapshots-to-keep` (1) and `history.expire.max-snapshot-age-ms`
//!    (5 days).
//! 4. Snapshots no ref reaches are retained while newer than the default cut-off of rule 3.
//! 5. Everything else expires, plus the ids given to [`ExpireSnapshots::snapshot_ids`]
//!    (expiring the head of a retained ref is refused).
//!
//! Clean-up compares the metadata before and after the commit: manifest lists of expired
//! snapshots, manifests no retained snapshot lists, data and delete files that no live entry
//! of a retained manifest names (candidates come from every entry of the removed manifests,
//! DELETED ones included), statistics files that left the metadata, and metadata files that
//! dropped out of `metadata-log` when `write.metadata.delete-after-commit.enabled` is set.
//! Paths are compared in [`normalize_location`] form. A failure after the commit does not
//! undo it: it is listed in [`ExpireSnapshotsReport::cleanup_errors`] and orphan-file removal
//! finds the leftovers later.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use super::{
    DEFAULT_CONCURRENCY, FileCategory, FilesByCategory, ManifestRef, MetadataReader, delete_files,
    metadata_files_to_delete, normalize_location, statistics_files,
};
use crate::catalog::Catalog;
use crate::io::FileIO;
use crate::spec::snapshot::MAIN_BRANCH;
use crate::spec::{
    ManifestStatus, SnapshotReference, SnapshotRetention, TableMetadata, TableRequirement,
    TableUpdate, apply_commit,
};
use crate::table::Table;
use crate::{Error, ErrorKind, Result};

/// Expire a table's snapshots and delete the files only they reached.
#[derive(Debug, Clone)]
pub struct ExpireSnapshots {
    table: Table,
    older_than_ms: Option<i64>,
    retain_last: Option<i32>,
    snapshot_ids: Vec<i64>,
    clean_files: bool,
    dry_run: bool,
    now_ms: Option<i64>,
    concurrency: usize,
}

/// What [`ExpireSnapshots::plan`] decided for one metadata version.
#[derive(Debug, Clone, PartialEq)]
pub struct ExpiryPlan {
    /// The snapshots to remove, in metadata order.
    pub expired_snapshot_ids: Vec<i64>,
    /// Refs (never `main`) removed because they are older than their max-ref-age-ms.
    pub removed_refs: Vec<String>,
    requirements: Vec<TableRequirement>,
    updates: Vec<TableUpdate>,
}

impl ExpiryPlan {
    /// Whether there is nothing to commit.
    pub fn is_empty(&self) -> bool {
        self.updates.is_empty()
    }

    /// The commit's requirements: the table UUID and every ref's snapshot as planned on.
    pub fn requirements(&self) -> &[TableRequirement] {
        &self.requirements
    }

    /// The commit's updates: `remove-snapshot-ref` per aged-out ref, then `remove-snapshots`.
    pub fn updates(&self) -> &[TableUpdate] {
        &self.updates
    }
}

/// What an expiry did (or, in a dry run, would do).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExpireSnapshotsReport {
    /// Whether this was a dry run (nothing committed, nothing deleted).
    pub dry_run: bool,
    /// The expired snapshots.
    pub expired_snapshot_ids: Vec<i64>,
    /// Refs removed for exceeding their max-ref-age-ms.
    pub removed_refs: Vec<String>,
    /// The files deleted (in a dry run: that would be deleted), by category.
    pub deleted_files: FilesByCategory,
    /// Their total size in bytes, from manifests and manifest lists where they record it.
    pub deleted_bytes: u64,
    /// Clean-up failures after the commit landed (the commit stands; orphan-file removal
    /// finds what was left).
    pub cleanup_errors: Vec<String>,
}

/// The table after an expiry and what the expiry did.
#[derive(Debug, Clone)]
pub struct ExpireSnapshotsOutcome {
    /// The table as committed (the loaded table when nothing changed or in a dry run).
    pub table: Table,
    /// The report.
    pub report: ExpireSnapshotsReport,
}

impl Table {
    /// Expire snapshots by the retention rules (see [`ExpireSnapshots`]).
    pub fn expire_snapshots(&self) -> ExpireSnapshots {
        ExpireSnapshots::new(self)
    }
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl ExpireSnapshots {
    /// An expiry of `table` with the table's retention settings, cleaning files.
    pub fn new(table: &Table) -> Self {
        Self {
            table: table.clone(),
            older_than_ms: None,
            retain_last: None,
            snapshot_ids: Vec::new(),
            clean_files: true,
            dry_run: false,
            now_ms: None,
            concurrency: DEFAULT_CONCURRENCY,
        }
    }

    /// Expire snapshots older than this timestamp (ms since the epoch) instead of
    /// `now - history.expire.max-snapshot-age-ms`; a branch's own max-snapshot-age-ms wins.
    pub fn older_than_ms(mut self, timestamp_ms: i64) -> Self {
        self.older_than_ms = Some(timestamp_ms);
        self
    }

    /// Keep at least `n` snapshots of each branch's history instead of
    /// `history.expire.min-snapshots-to-keep`; a branch's own min-snapshots-to-keep wins.
    /// Must be at least 1.
    pub fn retain_last(mut self, n: i32) -> Self {
        self.retain_last = Some(n);
        self
    }

    /// Also expire these snapshots, whatever their age. Expiring the head of a ref that is
    /// kept is refused with [`ErrorKind::InvalidUpdate`]; an unknown id is
    /// [`ErrorKind::NotFound`].
    pub fn snapshot_ids(mut self, ids: impl IntoIterator<Item = i64>) -> Self {
        self.snapshot_ids.extend(ids);
        self
    }

    /// Whether to delete the files only expired snapshots reached (default true).
    pub fn clean_files(mut self, clean: bool) -> Self {
        self.clean_files = clean;
        self
    }

    /// Plan and report only: no commit, no deletes.
    pub fn dry_run(mut self, dry_run: bool) -> Self {
        self.dry_run = dry_run;
        self
    }

    /// Use this clock (ms since the epoch) instead of the system clock.
    pub fn with_now_ms(mut self, now_ms: i64) -> Self {
        self.now_ms = Some(now_ms);
        self
    }

    /// How many files to read or delete at once (default 16).
    pub fn with_concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.max(1);
        self
    }

    fn now(&self) -> i64 {
        self.now_ms.unwrap_or_else(now_ms)
    }

    /// Decide what expires in `md` (no I/O). Explicit snapshot ids must exist in `md`.
    pub fn plan(&self, md: &TableMetadata) -> Result<ExpiryPlan> {
        self.plan_inner(md, true)
    }

    fn plan_inner(&self, md: &TableMetadata, strict_ids: bool) -> Result<ExpiryPlan> {
        if let Some(n) = self.retain_last
            && n < 1
        {
            return Err(Error::invalid(format!(
                "retain_last must be at least 1, not {n}"
            )));
        }
        let props = md.table_properties()?;
        let now = self.now();
        let default_min_keep = self
            .retain_last
            .unwrap_or(props.history_expire_min_snapshots_to_keep);
        let default_older_than = self
            .older_than_ms
            .unwrap_or_else(|| now.saturating_sub(props.history_expire_max_snapshot_age_ms));
        let default_max_ref_age = props.history_expire_max_ref_age_ms;

        // 1. Refs that aged out.
        let mut retained_refs: BTreeMap<&str, &SnapshotReference> = BTreeMap::new();
        let mut removed_refs = Vec::new();
        for (name, r) in md.refs() {
            if name == MAIN_BRANCH {
                retained_refs.insert(name, r);
                continue;
            }
            let max_ref_age = match r.retention {
                SnapshotRetention::Branch { max_ref_age_ms, .. }
                | SnapshotRetention::Tag { max_ref_age_ms } => max_ref_age_ms,
            }
            .unwrap_or(default_max_ref_age);
            match md.snapshot_by_id(r.snapshot_id) {
                Some(s) if now.saturating_sub(s.timestamp_ms) <= max_ref_age => {
                    retained_refs.insert(name, r);
                }
                _ => removed_refs.push(name.clone()),
            }
        }

        // 2. Every kept ref's head; explicit ids may not be one.
        let mut retained: HashSet<i64> = retained_refs.values().map(|r| r.snapshot_id).collect();
        for id in &self.snapshot_ids {
            let heads: Vec<&str> = retained_refs
                .iter()
                .filter(|(_, r)| r.snapshot_id == *id)
                .map(|(n, _)| *n)
                .collect();
            if !heads.is_empty() {
                return Err(Error::invalid_update(format!(
                    "cannot expire snapshot {id}: it is the head of {}. Help: remove or move the ref first, or let it age out with max-ref-age-ms",
                    heads.join(", ")
                )));
            }
            if strict_ids && md.snapshot_by_id(*id).is_none() {
                return Err(Error::new(
                    ErrorKind::NotFound,
                    format!("cannot expire snapshot {id}: it does not exist"),
                ));
            }
        }

        // 3. Each branch's recent history.
        let mut referenced: HashSet<i64> = HashSet::new();
        for r in retained_refs.values() {
            let SnapshotRetention::Branch {
                min_snapshots_to_keep,
                max_snapshot_age_ms,
                ..
            } = r.retention
            else {
                referenced.insert(r.snapshot_id);
                continue;
            };
            let min_keep = min_snapshots_to_keep.unwrap_or(default_min_keep);
            let older_than = max_snapshot_age_ms
                .map(|age| now.saturating_sub(age))
                .unwrap_or(default_older_than);
            let mut kept = 0i64;
            let mut walking = true;
            for a in md.ancestors_of(r.snapshot_id) {
                referenced.insert(a.snapshot_id);
                if walking && (kept < i64::from(min_keep) || a.timestamp_ms >= older_than) {
                    retained.insert(a.snapshot_id);
                    kept += 1;
                } else {
                    walking = false;
                }
            }
        }

        // 4. Snapshots no ref reaches, while young.
        for s in md.snapshots() {
            if !referenced.contains(&s.snapshot_id) && s.timestamp_ms >= default_older_than {
                retained.insert(s.snapshot_id);
            }
        }

        // 5. The rest, and the explicit ids.
        let explicit: HashSet<i64> = self.snapshot_ids.iter().copied().collect();
        let expired: Vec<i64> = md
            .snapshots()
            .iter()
            .map(|s| s.snapshot_id)
            .filter(|id| !retained.contains(id) || explicit.contains(id))
            .collect();

        let mut requirements = vec![TableRequirement::AssertTableUuid {
            uuid: md.table_uuid(),
        }];
        for (name, r) in md.refs() {
            requirements.push(TableRequirement::AssertRefSnapshotId {
                r#ref: name.clone(),
                snapshot_id: Some(r.snapshot_id),
            });
        }
        let mut updates: Vec<TableUpdate> = removed_refs
            .iter()
            .map(|name| TableUpdate::RemoveSnapshotRef {
                ref_name: name.clone(),
            })
            .collect();
        if !expired.is_empty() {
            updates.push(TableUpdate::RemoveSnapshots {
                snapshot_ids: expired.clone(),
            });
        }
        Ok(ExpiryPlan {
            expired_snapshot_ids: expired,
            removed_refs,
            requirements,
            updates,
        })
    }

    /// Plan, commit through `catalog` (re-planning on fresh metadata after a conflict, per
    /// `commit.retry.*`), then delete the files only expired snapshots reached. In a dry run,
    /// plan and report what would be deleted, without committing or deleting.
    pub async fn commit(self, catalog: &dyn Catalog) -> Result<ExpireSnapshotsOutcome> {
        let props = self.table.metadata().table_properties()?;
        if self.clean_files && !self.dry_run && !props.gc_enabled {
            return Err(Error::invalid_update(
                "cannot expire snapshots and delete their files: gc.enabled is false on this table (its files may be shared with other tables). Help: expire with clean_files(false), or set gc.enabled=true",
            ));
        }
        let retries = props.commit_retry_num_retries;
        let mut wait = Duration::from_millis(props.commit_retry_min_wait_ms.max(1));
        let max_wait = Duration::from_millis(props.commit_retry_max_wait_ms.max(1));
        let io = self.table.file_io().clone();
        let mut base = self.table.clone();
        let mut attempt = 0u32;
        let (plan, committed) = loop {
            let md = base.metadata();
            let plan = self.plan_inner(md, attempt == 0)?;
            if plan.is_empty() {
                let report = ExpireSnapshotsReport {
                    dry_run: self.dry_run,
                    ..Default::default()
                };
                return Ok(ExpireSnapshotsOutcome {
                    table: base,
                    report,
                });
            }
            if self.dry_run {
                return self.dry_run_report(&io, base, plan).await;
            }
            match catalog
                .commit_table(
                    base.ident(),
                    plan.requirements.clone(),
                    plan.updates.clone(),
                )
                .await
            {
                Ok(t) => break (plan, t),
                Err(e) if e.is_retryable() && attempt < retries => {
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(max_wait);
                    attempt += 1;
                    base = catalog.load_table(base.ident()).await?;
                }
                Err(e) => return Err(e),
            }
        };
        let mut report = ExpireSnapshotsReport {
            dry_run: false,
            expired_snapshot_ids: plan.expired_snapshot_ids,
            removed_refs: plan.removed_refs,
            ..Default::default()
        };
        if self.clean_files {
            match files_to_delete(
                &io,
                base.metadata(),
                committed.metadata(),
                self.concurrency,
            )
            .await
            {
                Ok(files) => {
                    let (deleted, bytes, errors) =
                        delete_files(&io, files, self.concurrency).await;
                    report.deleted_files = deleted;
                    report.deleted_bytes = bytes;
                    report.cleanup_errors = errors;
                }
                Err(e) => report.cleanup_errors.push(format!(
                    "the expiry is committed, but its files could not be planned for deletion (orphan-file removal will find them): {e}"
                )),
            }
        }
        Ok(ExpireSnapshotsOutcome {
            table: committed,
            report,
        })
    }

    async fn dry_run_report(
        &self,
        io: &FileIO,
        base: Table,
        plan: ExpiryPlan,
    ) -> Result<ExpireSnapshotsOutcome> {
        let md = base.metadata();
        let after = apply_commit(
            Some((md, base.metadata_location())),
            &plan.requirements,
            plan.updates.clone(),
        )?
        .map(|b| b.metadata)
        .unwrap_or_else(|| md.clone());
        let mut report = ExpireSnapshotsReport {
            dry_run: true,
            expired_snapshot_ids: plan.expired_snapshot_ids,
            removed_refs: plan.removed_refs,
            ..Default::default()
        };
        if self.clean_files {
            for (category, path, size) in files_to_delete(io, md, &after, self.concurrency).await? {
                report.deleted_bytes += size;
                report.deleted_files.push(category, path);
            }
            report.deleted_files.sort();
        }
        Ok(ExpireSnapshotsOutcome {
            table: base,
            report,
        })
    }
}

/// The files a commit from `before` to `after` leaves unreachable: manifest lists of the
/// snapshots it removed, manifests no snapshot of `after` lists, data and delete files no
/// live entry of those manifests names, statistics files that left the metadata, and metadata
/// files dropped from the log (when `write.metadata.delete-after-commit.enabled`). Each
/// manifest list and manifest is read at most once. A retained manifest list or manifest that
/// cannot be read fails the plan (never delete on a guess); an expired one that is already
/// gone is skipped.
pub async fn files_to_delete(
    io: &FileIO,
    before: &TableMetadata,
    after: &TableMetadata,
    concurrency: usize,
) -> Result<Vec<(FileCategory, String, u64)>> {
    let after_ids: HashSet<i64> = after.snapshots().iter().map(|s| s.snapshot_id).collect();
    let expired: Vec<_> = before
        .snapshots()
        .iter()
        .filter(|s| !after_ids.contains(&s.snapshot_id))
        .collect();
    let mut out: Vec<(FileCategory, String, u64)> = Vec::new();
    if !expired.is_empty() {
        let reader = MetadataReader::new(io, &[after, before], concurrency);
        // What the retained snapshots use, keyed by normalized path.
        let mut retained_lists: HashSet<String> = HashSet::new();
        let mut retained_manifests: HashMap<String, ManifestRef> = HashMap::new();
        reader
            .manifest_lists(after.snapshots(), |_, list, refs| {
                if let Some((path, _)) = list {
                    retained_lists.insert(normalize_location(path));
                }
                for m in refs {
                    retained_manifests
                        .entry(normalize_location(&m.path))
                        .or_insert(m);
                }
                Ok(())
            })
            .await?;
        // What the expired ones used that the retained ones do not.
        let mut candidate_manifests: HashMap<String, ManifestRef> = HashMap::new();
        reader
            .manifest_lists_tolerant(expired, true, |_, list| {
                let Some((path, size, refs)) = list else {
                    return Ok(());
                };
                if retained_lists.insert(normalize_location(path)) {
                    out.push((FileCategory::ManifestList, path.to_string(), size));
                }
                for m in refs {
                    let key = normalize_location(&m.path);
                    if !retained_manifests.contains_key(&key) {
                        candidate_manifests.entry(key).or_insert(m);
                    }
                }
                Ok(())
            })
            .await?;
        for m in candidate_manifests.values() {
            out.push((FileCategory::Manifest, m.path.clone(), m.length));
        }
        // Files named by the removed manifests (any status) ...
        let mut candidates: HashMap<String, (FileCategory, String, u64)> = HashMap::new();
        reader
            .manifest_entries_tolerant(candidate_manifests.into_values(), true, |_, e| {
                candidates.entry(normalize_location(&e.path)).or_insert((
                    FileCategory::of_content(e.content),
                    e.path,
                    e.size,
                ));
                true
            })
            .await?;
        // ... minus those a retained manifest still has live.
        if !candidates.is_empty() {
            let need = |c: FileCategory| candidates.values().any(|(k, _, _)| *k == c);
            let (need_data, need_deletes) =
                (need(FileCategory::DataFile), need(FileCategory::DeleteFile));
            let to_read: Vec<ManifestRef> = retained_manifests
                .into_values()
                .filter(|m| match m.content {
                    crate::spec::ManifestContentType::Data => need_data,
                    crate::spec::ManifestContentType::Deletes => need_deletes,
                })
                .collect();
            reader
                .manifest_entries(to_read, |_, e| {
                    if e.status != ManifestStatus::Deleted {
                        candidates.remove(&normalize_location(&e.path));
                    }
                    !candidates.is_empty()
                })
                .await?;
        }
        out.extend(candidates.into_values());
    }
    // Statistics files that left the metadata.
    let kept_stats: HashSet<String> = statistics_files(after)
        .map(|(_, p, _)| normalize_location(p))
        .collect();
    let mut seen = HashSet::new();
    for (_, path, size) in statistics_files(before) {
        let key = normalize_location(path);
        if !kept_stats.contains(&key) && seen.insert(key) {
            out.push((FileCategory::StatisticsFile, path.to_string(), size));
        }
    }
    // Metadata files that dropped out of the log.
    for path in metadata_files_to_delete(before, after) {
        let size = io.size(&path).await.unwrap_or(0);
        out.push((FileCategory::MetadataFile, path, size));
    }
    Ok(out)
}
