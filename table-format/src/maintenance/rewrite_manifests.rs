//! Rewriting manifests: merge a snapshot's small manifests, per partition spec and content,
//! into manifests of `commit.manifest.target-size-bytes`.
//!
//! - [`RewriteManifests`] ([`Table::rewrite_manifests`]): options and `execute`.
//! - [`RewriteManifestsReport`]: manifests rewritten and added, and the new snapshot.
//!
//! Candidates are the current snapshot's manifests smaller than the target size; those of one
//! (spec, content) are merged when there are two or more of them (a manifest without live
//! entries is always dropped). Live entries are carried over as EXISTING with their original
//! snapshot ids and sequence numbers (spec "Manifests": EXISTING entries keep explicit
//! values), clustered by partition, so the table's rows and every file's sequence numbers stay
//! as they were; the result is one `replace` snapshot. Older snapshots keep their own
//! manifest lists, so time travel is unaffected. If a concurrent commit moved `main`, the new
//! manifests are rebased onto it as long as every merged manifest is still listed there;
//! otherwise the rewrite fails with a non-retryable [`ErrorKind::CommitConflict`].

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use crate::catalog::Catalog;
use crate::scan::plan::{load_manifest, load_manifest_list};
use crate::spec::manifest::partition_key;
use crate::spec::snapshot::MAIN_BRANCH;
use crate::spec::{ManifestContentType, ManifestEntry, ManifestFile, ManifestStatus, Operation};
use crate::table::Table;
use crate::transaction::summary::SummaryBuilder;
use crate::transaction::{cleanup, new_snapshot_id, write_manifest};
use crate::{Error, ErrorKind, Result};

use super::rewrite_data_files::commit_replace;

/// Manifest rewriting options, as a builder on a loaded table.
#[derive(Debug, Clone)]
pub struct RewriteManifests {
    table: Table,
    target_size_bytes: Option<u64>,
    dry_run: bool,
}

/// What a manifest rewrite did, or on a dry run would do.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RewriteManifestsReport {
    /// Whether this was a dry run (nothing written, nothing committed).
    pub dry_run: bool,
    /// Manifests replaced.
    pub rewritten_manifests: usize,
    /// Manifests written (on a dry run: the planned number).
    pub added_manifests: usize,
    /// The committed `replace` snapshot; None on a dry run or when nothing needed merging.
    pub snapshot_id: Option<i64>,
}

impl Table {
    /// Merge small manifests (see [`RewriteManifests`]).
    pub fn rewrite_manifests(&self) -> RewriteManifests {
        RewriteManifests {
            table: self.clone(),
            target_size_bytes: None,
            dry_run: false,
        }
    }
}

/// The manifests of one (spec, content) to merge.
#[derive(Debug)]
pub(crate) struct ManifestGroup {
    pub(crate) spec_id: i32,
    pub(crate) content: ManifestContentType,
    pub(crate) manifests: Vec<ManifestFile>,
}

/// Write a group's live entries as EXISTING entries (original snapshot ids and sequence
/// numbers kept) of new manifests of about `target` bytes, clustered by partition. DELETED
/// entries are dropped; a group without live entries yields no manifest.
pub(crate) async fn merge_group(
    io: &crate::io::FileIO,
    md: &crate::spec::TableMetadata,
    g: &ManifestGroup,
    target: u64,
    snapshot_id: i64,
) -> Result<Vec<ManifestFile>> {
    let mut entries: Vec<ManifestEntry> = Vec::new();
    for m in &g.manifests {
        for mut e in load_manifest(io, md, m).await? {
            if e.status == ManifestStatus::Deleted {
                continue;
            }
            e.status = ManifestStatus::Existing;
            entries.push(e);
        }
    }
    entries.sort_by_cached_key(|e| {
        (
            partition_key(&e.data_file.partition),
            e.data_file.file_path.clone(),
        )
    });
    let per_manifest = (target / g.bytes_per_entry()).max(1) as usize;
    let mut out = Vec::new();
    let mut rest = entries.into_iter().peekable();
    while rest.peek().is_some() {
        let chunk: Vec<ManifestEntry> = rest.by_ref().take(per_manifest).collect();
        match write_manifest(io, md, g.spec_id, snapshot_id, g.content, chunk).await {
            Ok(m) => out.push(m),
            Err(e) => {
                cleanup(io, out.into_iter().map(|m: ManifestFile| m.manifest_path)).await;
                return Err(e);
            }
        }
    }
    Ok(out)
}

impl ManifestGroup {
    /// Average bytes per live entry of the group's manifests (at least 1).
    fn bytes_per_entry(&self) -> u64 {
        let bytes: u64 = self
            .manifests
            .iter()
            .map(|m| m.manifest_length.max(0) as u64)
            .sum();
        let entries: u64 = self
            .manifests
            .iter()
            .map(|m| {
                (m.added_files_count.max(0)
                    + m.existing_files_count.max(0)
                    + m.deleted_files_count.max(0)) as u64
            })
            .sum();
        (bytes / entries.max(1)).max(1)
    }

    fn live_entries(&self) -> u64 {
        self.manifests
            .iter()
            .map(|m| (m.added_files_count.max(0) + m.existing_files_count.max(0)) as u64)
            .sum()
    }
}

impl RewriteManifests {
    /// Target size of the merged manifests (default `commit.manifest.target-size-bytes`, 8 MiB).
    pub fn target_size_bytes(mut self, bytes: u64) -> Self {
        self.target_size_bytes = Some(bytes);
        self
    }

    /// Report what would be merged without writing or committing anything.
    pub fn dry_run(mut self, dry_run: bool) -> Self {
        self.dry_run = dry_run;
        self
    }

    /// Merge the current snapshot's small manifests and commit through `catalog`.
    pub async fn execute(self, catalog: &dyn Catalog) -> Result<RewriteManifestsReport> {
        let md = self.table.metadata();
        let props = md.table_properties()?;
        let target = self
            .target_size_bytes
            .unwrap_or(props.commit_manifest_target_size_bytes)
            .max(1);
        let mut report = RewriteManifestsReport {
            dry_run: self.dry_run,
            ..Default::default()
        };
        let Some(start) = md.snapshot_for_ref(MAIN_BRANCH).cloned() else {
            return Ok(report);
        };
        let io = self.table.file_io().clone();
        let manifests = load_manifest_list(&io, &start).await?;
        let mut by_kind: BTreeMap<(i32, u8), Vec<ManifestFile>> = BTreeMap::new();
        for m in manifests {
            if (m.manifest_length.max(0) as u64) < target || !m.has_live_files() {
                let content = match m.content {
                    ManifestContentType::Data => 0,
                    ManifestContentType::Deletes => 1,
                };
                by_kind
                    .entry((m.partition_spec_id, content))
                    .or_default()
                    .push(m);
            }
        }
        let groups: Vec<ManifestGroup> = by_kind
            .into_values()
            .filter_map(|ms| {
                let worth = ms.len() >= 2 || ms.iter().any(|m| !m.has_live_files());
                let (spec_id, content) = ms.first().map(|m| (m.partition_spec_id, m.content))?;
                worth.then_some(ManifestGroup {
                    spec_id,
                    content,
                    manifests: ms,
                })
            })
            .collect();
        if groups.is_empty() {
            return Ok(report);
        }
        report.rewritten_manifests = groups.iter().map(|g| g.manifests.len()).sum();
        if self.dry_run {
            report.added_manifests = groups
                .iter()
                .map(|g| {
                    let bytes = g.live_entries() * g.bytes_per_entry();
                    if g.live_entries() == 0 {
                        0
                    } else {
                        bytes.div_ceil(target).max(1) as usize
                    }
                })
                .sum();
            return Ok(report);
        }
        let snapshot_id = new_snapshot_id();
        let mut added: Vec<ManifestFile> = Vec::new();
        for g in &groups {
            match merge_group(self.table.file_io(), md, g, target, snapshot_id).await {
                Ok(ms) => added.extend(ms),
                Err(e) => {
                    cleanup(&io, added.into_iter().map(|m| m.manifest_path)).await;
                    return Err(e);
                }
            }
        }
        let replaced: HashSet<String> = groups
            .iter()
            .flat_map(|g| g.manifests.iter().map(|m| m.manifest_path.clone()))
            .collect();
        match self.commit(catalog, snapshot_id, &replaced, &added).await {
            Ok(()) => {
                report.added_manifests = added.len();
                report.snapshot_id = Some(snapshot_id);
                Ok(report)
            }
            Err(e) => {
                if e.kind() != ErrorKind::CommitStateUnknown {
                    cleanup(&io, added.into_iter().map(|m| m.manifest_path)).await;
                }
                Err(e)
            }
        }
    }

    /// Commit the new manifests in place of `replaced`, rebasing onto a moved `main` while
    /// every replaced manifest is still listed there.
    async fn commit(
        &self,
        catalog: &dyn Catalog,
        snapshot_id: i64,
        replaced: &HashSet<String>,
        added: &[ManifestFile],
    ) -> Result<()> {
        let props = self.table.metadata().table_properties()?;
        let retries = props.commit_retry_num_retries;
        let mut wait = Duration::from_millis(props.commit_retry_min_wait_ms.max(1));
        let max_wait = Duration::from_millis(props.commit_retry_max_wait_ms.max(1));
        let io = self.table.file_io().clone();
        let mut base = self.table.clone();
        let mut attempt = 0u32;
        loop {
            let md = base.metadata();
            let head = md.snapshot_for_ref(MAIN_BRANCH).cloned().ok_or_else(|| {
                Error::conflict("a concurrent commit removed the main branch").non_retryable()
            })?;
            let current = load_manifest_list(&io, &head).await?;
            let listed = current
                .iter()
                .filter(|m| replaced.contains(&m.manifest_path))
                .count();
            if listed != replaced.len() {
                return Err(Error::conflict(
                    "a concurrent commit replaced manifests this rewrite merges; reload the \
                     table and rewrite the manifests again",
                )
                .non_retryable());
            }
            let mut manifests: Vec<ManifestFile> = added.to_vec();
            let kept: Vec<ManifestFile> = current
                .into_iter()
                .filter(|m| !replaced.contains(&m.manifest_path))
                .collect();
            let kept_count = kept.len();
            manifests.extend(kept);
            let mut summary =
                SummaryBuilder::default().build(Operation::Replace, Some(&head.summary));
            summary.set("manifests-created", added.len().to_string());
            summary.set("manifests-replaced", replaced.len().to_string());
            summary.set("manifests-kept", kept_count.to_string());
            // Nothing changed in the data: no partition was touched.
            summary.set("changed-partition-count", "0");
            let list_path = format!(
                "{}/snap-{snapshot_id}-{attempt}-{}.avro",
                md.metadata_dir(),
                uuid::Uuid::new_v4()
            );
            match commit_replace(
                catalog,
                &base,
                snapshot_id,
                &head,
                &list_path,
                &mut manifests,
                summary,
            )
            .await
            {
                Ok(_) => return Ok(()),
                Err(e) if e.is_retryable() && attempt < retries => {
                    cleanup(&io, std::iter::once(list_path)).await;
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(max_wait);
                    attempt += 1;
                    base = catalog.load_table(base.ident()).await?;
                }
                Err(e) => {
                    if e.kind() != ErrorKind::CommitStateUnknown {
                        cleanup(&io, std::iter::once(list_path)).await;
                    }
                    return Err(e);
                }
            }
        }
    }
}
