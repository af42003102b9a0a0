//! Orphan-file removal: [`RemoveOrphanFiles`] lists every file under the table's location
//! (and under `write.data.path` / `write.metadata.path` when they lie elsewhere), takes away
//! every file the metadata references, keeps files younger than a safety age (default three
//! days, so files of commits in flight survive), and deletes the rest.
//!
//! Listings are recursive and match whole path segments (object_store's `list`: the local
//! file system walks the directory, memory and S3 stores match key prefixes segment by
//! segment), so a sibling table `t2` is never listed as part of `t`.
//!
//! Referenced means: the current metadata file and every file in `metadata-log`; for every
//! snapshot in the metadata (of any ref or none), its manifest list, its manifests and every
//! file any of their entries names (DELETED entries too), statistics and partition statistics
//! files; and `version-hint.text` files. Paths are compared in [`normalize_location`] form, and
//! the operation refuses to delete anything when the listing does not even contain the current
//! metadata file (a sign the listing and the metadata spell paths differently).

use std::collections::HashSet;

use super::{
    DEFAULT_CONCURRENCY, EntryFilter, FileCategory, delete_files, normalize_location,
    reachable_files,
};
use crate::io::FileInfo;
use crate::table::Table;
use crate::{Error, ErrorKind, Result};

/// Three days, the default safety age of orphan-file removal (Java's default too).
pub const DEFAULT_ORPHAN_AGE_MS: i64 = 3 * 24 * 60 * 60 * 1000;

/// Delete files under a table's location that no metadata references.
#[derive(Debug, Clone)]
pub struct RemoveOrphanFiles {
    table: Table,
    older_than_ms: Option<i64>,
    dry_run: bool,
    now_ms: Option<i64>,
    concurrency: usize,
}

/// What orphan-file removal found (and, unless a dry run, deleted).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RemoveOrphanFilesReport {
    /// Whether this was a dry run (nothing deleted).
    pub dry_run: bool,
    /// How many orphan files were found.
    pub orphan_file_count: usize,
    /// Their paths, sorted (a server may show only the first ones).
    pub orphan_files: Vec<String>,
    /// Their total size (deleted, or that would be deleted in a dry run).
    pub deleted_bytes: u64,
    /// Files that could not be deleted, with the reason.
    pub errors: Vec<String>,
}

impl Table {
    /// Remove files under the table location that no metadata references (see
    /// [`RemoveOrphanFiles`]). Load the table just before, so its metadata is current.
    pub fn remove_orphan_files(&self) -> RemoveOrphanFiles {
        RemoveOrphanFiles::new(self)
    }
}

impl RemoveOrphanFiles {
    /// Orphan-file removal for `table` with the default safety age.
    pub fn new(table: &Table) -> Self {
        Self {
            table: table.clone(),
            older_than_ms: None,
            dry_run: false,
            now_ms: None,
            concurrency: DEFAULT_CONCURRENCY,
        }
    }

    /// Only files last modified before this timestamp (ms since the epoch) are removed
    /// (default: now minus three days).
    pub fn older_than_ms(mut self, timestamp_ms: i64) -> Self {
        self.older_than_ms = Some(timestamp_ms);
        self
    }

    /// Find and report only; delete nothing.
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

    /// The files this removal would delete: (listing entry), sorted by path.
    pub async fn find_orphans(&self) -> Result<Vec<FileInfo>> {
        let md = self.table.metadata();
        let io = self.table.file_io();
        let now = self
            .now_ms
            .unwrap_or_else(|| chrono::Utc::now().timestamp_millis());
        let older_than = self
            .older_than_ms
            .unwrap_or_else(|| now.saturating_sub(DEFAULT_ORPHAN_AGE_MS));

        let reachable = reachable_files(
            io,
            md,
            md.snapshots().iter().map(|s| s.snapshot_id),
            EntryFilter::All,
        )
        .await?;
        let mut referenced: HashSet<String> = reachable
            .files
            .keys()
            .map(|p| normalize_location(p))
            .collect();
        let current = normalize_location(self.table.metadata_location());
        referenced.insert(current.clone());
        for e in md.metadata_log() {
            referenced.insert(normalize_location(&e.metadata_file));
        }
        for s in md.statistics() {
            referenced.insert(normalize_location(&s.statistics_path));
        }
        for s in md.partition_statistics() {
            referenced.insert(normalize_location(&s.statistics_path));
        }

        // The location, plus the data and metadata directories when they lie elsewhere.
        let mut roots: Vec<String> = vec![normalize_location(md.location())];
        for dir in [md.data_dir(), md.metadata_dir()] {
            let dir = normalize_location(&dir);
            if !roots.iter().any(|r| is_under(&dir, r)) {
                roots.push(dir);
            }
        }
        let mut listed = Vec::new();
        let mut seen = HashSet::new();
        for root in [md.location().to_string(), md.data_dir(), md.metadata_dir()] {
            let key = normalize_location(&root);
            if !roots.contains(&key) || !seen.insert(key) {
                continue;
            }
            match io.list(&root).await {
                Ok(files) => listed.extend(files),
                // A directory that was never written to has nothing to remove.
                Err(e) if e.kind() == ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }

        let mut current_listed = false;
        let mut orphans = Vec::new();
        let mut dedup = HashSet::new();
        for f in listed {
            let key = normalize_location(&f.path);
            if !dedup.insert(key.clone()) {
                continue;
            }
            if key == current {
                current_listed = true;
            }
            if referenced.contains(&key)
                || key.rsplit('/').next() == Some("version-hint.text")
                || f.last_modified_ms >= older_than
            {
                continue;
            }
            orphans.push(f);
        }
        if roots.iter().any(|r| is_under(&current, r)) && !current_listed {
            return Err(Error::invalid(format!(
                "the listing of {} does not contain the current metadata file {}; the listing and the metadata spell locations differently, so no file is treated as an orphan",
                roots.join(", "),
                self.table.metadata_location()
            )));
        }
        orphans.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(orphans)
    }

    /// Find the orphans and, unless a dry run, delete them.
    pub async fn execute(self) -> Result<RemoveOrphanFilesReport> {
        let props = self.table.metadata().table_properties()?;
        if !self.dry_run && !props.gc_enabled {
            return Err(Error::invalid_update(
                "cannot remove orphan files: gc.enabled is false on this table (its location may hold files of other tables). Help: set gc.enabled=true, or run a dry run",
            ));
        }
        let orphans = self.find_orphans().await?;
        let mut report = RemoveOrphanFilesReport {
            dry_run: self.dry_run,
            orphan_file_count: orphans.len(),
            orphan_files: orphans.iter().map(|f| f.path.clone()).collect(),
            deleted_bytes: 0,
            errors: Vec::new(),
        };
        if self.dry_run {
            report.deleted_bytes = orphans.iter().map(|f| f.size).sum();
            return Ok(report);
        }
        let files = orphans
            .into_iter()
            .map(|f| (FileCategory::DataFile, f.path, f.size))
            .collect();
        let (_, bytes, errors) = delete_files(self.table.file_io(), files, self.concurrency).await;
        report.deleted_bytes = bytes;
        report.errors = errors;
        Ok(report)
    }
}

/// Whether normalized location `path` is `root` or lies under it (by whole path segments).
fn is_under(path: &str, root: &str) -> bool {
    path == root
        || path
            .strip_prefix(root)
            .is_some_and(|rest| rest.starts_with('/'))
}
