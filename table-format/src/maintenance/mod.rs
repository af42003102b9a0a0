//! Table maintenance: operations that remove history and files, or reorganize files, rather
//! than change a table's rows.
//!
//! Map of the module:
//! - [`expire`]: [`ExpireSnapshots`] ([`Table::expire_snapshots`](crate::table::Table)):
//!   expire snapshots by the spec's retention rules, commit through a catalog, then delete the
//!   files only expired snapshots reached.
//! - [`orphan`]: [`RemoveOrphanFiles`] ([`Table::remove_orphan_files`](crate::table::Table)):
//!   delete files under the table location that no metadata references.
//! - [`rewrite_data_files`]: compaction ([`RewriteDataFiles`], `Table::rewrite_data_files`):
//!   small files (of a partition or a filter) rewritten into files of the target size by
//!   bin-packing, sorting or z-ordering, delete files folded in, committed as one `replace`
//!   snapshot with conflict detection against concurrent deletes of the same files.
//! - [`rewrite_manifests`]: small manifests merged per partition spec ([`RewriteManifests`],
//!   `Table::rewrite_manifests`), committed as a `replace` snapshot.
//! - Shared here: [`FileCategory`], [`reachable_files`] (every file a set of snapshots
//!   reaches), [`metadata_files_to_delete`] (`write.metadata.delete-after-commit.enabled`),
//!   [`normalize_location`] (one spelling per file, so a referenced file is never taken for
//!   an orphan), and the bounded-concurrency deleter both operations use.
//!
//! Every manifest list and manifest is read at most once per operation (they are keyed by
//! path; manifests are shared by many snapshots), entries are streamed out of each manifest
//! keeping only path, content, status and size, and reads and deletes run with bounded
//! concurrency.

pub mod expire;
pub mod orphan;
pub mod rewrite_data_files;
pub mod rewrite_manifests;

use std::collections::{HashMap, HashSet};

use futures::{StreamExt, TryStreamExt};

pub use expire::{ExpireSnapshots, ExpireSnapshotsOutcome, ExpireSnapshotsReport, ExpiryPlan};
pub use orphan::{RemoveOrphanFiles, RemoveOrphanFilesReport};
pub use rewrite_data_files::RewriteDataFiles;
pub use rewrite_manifests::RewriteManifests;

use crate::avro::{ManifestReader, read_manifest_list};
use crate::io::FileIO;
use crate::spec::{
    DataContentType, ManifestContentType, ManifestStatus, Snapshot, StructType, TableMetadata,
};
use crate::{Error, ErrorKind, Result};

/// How many files maintenance reads or deletes at once, unless the operation says otherwise.
pub const DEFAULT_CONCURRENCY: usize = 16;

/// The kinds of files a table's metadata references.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FileCategory {
    /// A snapshot's manifest list.
    ManifestList,
    /// A manifest (data or deletes).
    Manifest,
    /// A data file.
    DataFile,
    /// A position or equality delete file, or a deletion-vector Puffin file.
    DeleteFile,
    /// A table metadata file (`*.metadata.json`).
    MetadataFile,
    /// A statistics or partition statistics file.
    StatisticsFile,
}

impl FileCategory {
    /// The category of a file a manifest entry tracks.
    pub fn of_content(content: DataContentType) -> Self {
        match content {
            DataContentType::Data => FileCategory::DataFile,
            DataContentType::PositionDeletes | DataContentType::EqualityDeletes => {
                FileCategory::DeleteFile
            }
        }
    }
}

/// Files per category, as lists of paths (the report shape of both operations).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FilesByCategory {
    /// Manifest lists.
    pub manifest_lists: Vec<String>,
    /// Manifests.
    pub manifests: Vec<String>,
    /// Data files.
    pub data_files: Vec<String>,
    /// Delete files.
    pub delete_files: Vec<String>,
    /// Metadata files.
    pub metadata_files: Vec<String>,
    /// Statistics and partition statistics files.
    pub statistics_files: Vec<String>,
}

impl FilesByCategory {
    /// The list for a category.
    pub fn get(&self, category: FileCategory) -> &[String] {
        match category {
            FileCategory::ManifestList => &self.manifest_lists,
            FileCategory::Manifest => &self.manifests,
            FileCategory::DataFile => &self.data_files,
            FileCategory::DeleteFile => &self.delete_files,
            FileCategory::MetadataFile => &self.metadata_files,
            FileCategory::StatisticsFile => &self.statistics_files,
        }
    }

    fn get_mut(&mut self, category: FileCategory) -> &mut Vec<String> {
        match category {
            FileCategory::ManifestList => &mut self.manifest_lists,
            FileCategory::Manifest => &mut self.manifests,
            FileCategory::DataFile => &mut self.data_files,
            FileCategory::DeleteFile => &mut self.delete_files,
            FileCategory::MetadataFile => &mut self.metadata_files,
            FileCategory::StatisticsFile => &mut self.statistics_files,
        }
    }

    /// Add a path under a category.
    pub fn push(&mut self, category: FileCategory, path: impl Into<String>) {
        self.get_mut(category).push(path.into());
    }

    /// How many files in all categories.
    pub fn total(&self) -> usize {
        self.manifest_lists.len()
            + self.manifests.len()
            + self.data_files.len()
            + self.delete_files.len()
            + self.metadata_files.len()
            + self.statistics_files.len()
    }

    /// Every path, of every category.
    pub fn iter(&self) -> impl Iterator<Item = (FileCategory, &str)> + '_ {
        [
            FileCategory::DataFile,
            FileCategory::DeleteFile,
            FileCategory::Manifest,
            FileCategory::ManifestList,
            FileCategory::StatisticsFile,
            FileCategory::MetadataFile,
        ]
        .into_iter()
        .flat_map(move |c| self.get(c).iter().map(move |p| (c, p.as_str())))
    }

    fn sort(&mut self) {
        for c in [
            FileCategory::ManifestList,
            FileCategory::Manifest,
            FileCategory::DataFile,
            FileCategory::DeleteFile,
            FileCategory::MetadataFile,
            FileCategory::StatisticsFile,
        ] {
            self.get_mut(c).sort_unstable();
        }
    }
}

/// Every file a set of snapshots reaches, by category, with sizes in bytes where metadata
/// records them (manifest lists: the bytes read; metadata files: unknown, 0).
#[derive(Debug, Clone, Default)]
pub struct ReachableFiles {
    /// Path -> (category, size).
    pub files: HashMap<String, (FileCategory, u64)>,
}

impl ReachableFiles {
    /// Whether `path` (exactly as metadata spells it) is reachable.
    pub fn contains(&self, path: &str) -> bool {
        self.files.contains_key(path)
    }

    /// The paths of one category.
    pub fn of(&self, category: FileCategory) -> impl Iterator<Item = &str> + '_ {
        self.files
            .iter()
            .filter(move |(_, (c, _))| *c == category)
            .map(|(p, _)| p.as_str())
    }

    fn add(&mut self, path: &str, category: FileCategory, size: u64) {
        if !self.files.contains_key(path) {
            self.files.insert(path.to_string(), (category, size));
        }
    }
}

/// Which manifest entries count as reaching their file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryFilter {
    /// ADDED and EXISTING entries: the files a scan of the snapshot reads.
    Live,
    /// Every entry, DELETED ones too: every file the metadata mentions.
    All,
}

/// Every file reachable from `snapshot_ids` of `md`: their manifest lists, the manifests in
/// them, the data and delete files of those manifests (per `entries`) and the snapshots'
/// statistics and partition statistics files. Each manifest is read once however many
/// snapshots share it. Unknown snapshot ids are an error.
pub async fn reachable_files(
    io: &FileIO,
    md: &TableMetadata,
    snapshot_ids: impl IntoIterator<Item = i64>,
    entries: EntryFilter,
) -> Result<ReachableFiles> {
    let mut snapshots = Vec::new();
    for id in snapshot_ids {
        snapshots.push(md.snapshot_by_id(id).ok_or_else(|| {
            Error::new(ErrorKind::NotFound, format!("snapshot {id} does not exist"))
        })?);
    }
    let ids: HashSet<i64> = snapshots.iter().map(|s| s.snapshot_id).collect();
    let reader = MetadataReader::new(io, &[md], DEFAULT_CONCURRENCY);
    let mut out = ReachableFiles::default();
    let mut manifests: HashMap<String, ManifestRef> = HashMap::new();
    reader
        .manifest_lists(snapshots, |_, list, manifest_refs| {
            if let Some((path, size)) = list {
                out.add(path, FileCategory::ManifestList, size);
            }
            for m in manifest_refs {
                manifests.entry(m.path.clone()).or_insert(m);
            }
            Ok(())
        })
        .await?;
    for m in manifests.values() {
        out.add(&m.path, FileCategory::Manifest, m.length);
    }
    reader
        .manifest_entries(manifests.into_values(), |_, e| {
            if entries == EntryFilter::All || e.status != ManifestStatus::Deleted {
                out.add(&e.path, FileCategory::of_content(e.content), e.size);
            }
            true
        })
        .await?;
    for (id, path, size) in statistics_files(md) {
        if ids.contains(&id) {
            out.add(path, FileCategory::StatisticsFile, size);
        }
    }
    Ok(out)
}

/// The statistics and partition statistics files of a table: (snapshot id, path, size).
fn statistics_files(md: &TableMetadata) -> impl Iterator<Item = (i64, &str, u64)> + '_ {
    md.statistics()
        .iter()
        .map(|s| {
            (
                s.snapshot_id,
                s.statistics_path.as_str(),
                s.file_size_in_bytes.max(0) as u64,
            )
        })
        .chain(md.partition_statistics().iter().map(|s| {
            (
                s.snapshot_id,
                s.statistics_path.as_str(),
                s.file_size_in_bytes.max(0) as u64,
            )
        }))
}

/// The metadata files a commit from `before` to `after` lets go when
/// `write.metadata.delete-after-commit.enabled` is true on `after`: those in `before`'s
/// `metadata-log` that are no longer in `after`'s (the builder trims the log to
/// `write.metadata.previous-versions-max`, oldest first). Empty when the property is off,
/// as in Java's `deleteRemovedMetadataFiles`.
pub fn metadata_files_to_delete(before: &TableMetadata, after: &TableMetadata) -> Vec<String> {
    let enabled = after
        .table_properties()
        .map(|p| p.write_metadata_delete_after_commit)
        .unwrap_or(false);
    if !enabled {
        return Vec::new();
    }
    let kept: HashSet<String> = after
        .metadata_log()
        .iter()
        .map(|e| normalize_location(&e.metadata_file))
        .collect();
    let mut out: Vec<String> = before
        .metadata_log()
        .iter()
        .filter(|e| !kept.contains(&normalize_location(&e.metadata_file)))
        .map(|e| e.metadata_file.clone())
        .collect();
    out.dedup();
    out
}

/// One spelling per file location, for comparing paths written by different clients:
/// - `file:/p`, `file:///p`, `file://p` and a plain `/p` all become `file:///p` (what
///   [`FileIO`] itself maps them to and what its listings return);
/// - `s3a://` and `s3n://` become `s3://` (the same bucket and key);
/// - repeated `/` inside the path collapse to one, and a trailing `/` goes.
///
/// Percent-escapes are kept as written: object stores and local listings return names as
/// stored, and Iceberg writers store the escaped name.
pub fn normalize_location(location: &str) -> String {
    let (scheme, rest) = match location.split_once("://") {
        Some((scheme, rest)) if !scheme.contains('/') => (scheme.to_ascii_lowercase(), rest),
        _ => match location.strip_prefix("file:") {
            Some(rest) => ("file".to_string(), rest),
            None if location.starts_with('/') => ("file".to_string(), location),
            None => (String::new(), location),
        },
    };
    let scheme = match scheme.as_str() {
        "s3a" | "s3n" => "s3".to_string(),
        _ => scheme,
    };
    let mut path = String::with_capacity(rest.len() + 8);
    let mut last_slash = false;
    for c in rest.chars() {
        if c == '/' {
            if last_slash {
                continue;
            }
            last_slash = true;
        } else {
            last_slash = false;
        }
        path.push(c);
    }
    while path.len() > 1 && path.ends_with('/') {
        path.pop();
    }
    match scheme.as_str() {
        "file" => format!("file:///{}", path.trim_start_matches('/')),
        "" => path,
        s => format!("{s}://{path}"),
    }
}

/// A manifest as a manifest list names it: what reading it needs.
#[derive(Debug, Clone)]
struct ManifestRef {
    path: String,
    length: u64,
    spec_id: i32,
    content: ManifestContentType,
}

/// What maintenance keeps of a manifest entry.
#[derive(Debug, Clone)]
struct EntryRef {
    path: String,
    status: ManifestStatus,
    content: DataContentType,
    size: u64,
}

/// Reads manifest lists and manifests for maintenance: bounded concurrency, partition types
/// resolved once per spec, entries reduced to what file clean-up needs.
struct MetadataReader<'a> {
    io: &'a FileIO,
    partition_types: HashMap<i32, StructType>,
    concurrency: usize,
}

impl<'a> MetadataReader<'a> {
    /// A reader that resolves partition specs in `mds`, the first that has a spec winning.
    fn new(io: &'a FileIO, mds: &[&TableMetadata], concurrency: usize) -> Self {
        let mut partition_types = HashMap::new();
        for md in mds {
            for spec in md.partition_specs() {
                if partition_types.contains_key(&spec.spec_id()) {
                    continue;
                }
                // The current schema, or the newest that still has the spec's sources.
                let ty = spec.partition_type(md.current_schema()).ok().or_else(|| {
                    md.schemas()
                        .iter()
                        .rev()
                        .find_map(|s| spec.partition_type(s).ok())
                });
                if let Some(ty) = ty {
                    partition_types.insert(spec.spec_id(), ty);
                }
            }
        }
        Self {
            io,
            partition_types,
            concurrency: concurrency.max(1),
        }
    }

    /// Read the manifest lists of `snapshots`; calls `f(snapshot, Some((list path, size)),
    /// manifests)` for each, in completion order. A snapshot without a manifest list (v1
    /// inline manifests) is refused.
    async fn manifest_lists<'s>(
        &self,
        snapshots: impl IntoIterator<Item = &'s Snapshot>,
        mut f: impl FnMut(&'s Snapshot, Option<(&str, u64)>, Vec<ManifestRef>) -> Result<()>,
    ) -> Result<()> {
        self.manifest_lists_tolerant(snapshots, false, |s, r| match r {
            Some((path, size, refs)) => f(s, Some((path, size)), refs),
            None => f(s, None, Vec::new()),
        })
        .await
    }

    /// [`Self::manifest_lists`]; with `skip_missing`, a manifest list that does not exist
    /// any more gives `None` instead of an error.
    async fn manifest_lists_tolerant<'s>(
        &self,
        snapshots: impl IntoIterator<Item = &'s Snapshot>,
        skip_missing: bool,
        mut f: impl FnMut(&'s Snapshot, Option<(&str, u64, Vec<ManifestRef>)>) -> Result<()>,
    ) -> Result<()> {
        let io = self.io;
        // The futures are made first and the stream holds only them: a stream that kept the
        // closure would make the whole operation's future not provably `Send`
        // (rust-lang/rust#102211), and servers need it to be.
        let reads: Vec<_> = snapshots
            .into_iter()
            .map(|s| async move {
                if s.manifest_list.is_empty() {
                    return Err(Error::unsupported(format!(
                        "snapshot {} lists its manifests inline (v1 without a manifest list); maintenance does not support it",
                        s.snapshot_id
                    )));
                }
                let bytes = match io.read(&s.manifest_list).await {
                    Ok(b) => b,
                    Err(e) if skip_missing && e.kind() == ErrorKind::NotFound => {
                        return Ok((s, None));
                    }
                    Err(e) => return Err(e.context(format!("snapshot {}", s.snapshot_id))),
                };
                let manifests = read_manifest_list(&bytes)
                    .map_err(|e| e.context(format!("manifest list {}", s.manifest_list)))?
                    .into_iter()
                    .map(|m| ManifestRef {
                        path: m.manifest_path,
                        length: m.manifest_length.max(0) as u64,
                        spec_id: m.partition_spec_id,
                        content: m.content,
                    })
                    .collect::<Vec<_>>();
                Ok((s, Some((bytes.len() as u64, manifests))))
            })
            .collect();
        let mut stream = futures::stream::iter(reads).buffer_unordered(self.concurrency);
        while let Some((s, r)) = stream.try_next().await? {
            match r {
                Some((size, refs)) => f(s, Some((s.manifest_list.as_str(), size, refs)))?,
                None => f(s, None)?,
            }
        }
        Ok(())
    }

    /// Stream the entries of `manifests` into `f(manifest, entry)`; `f` returns false to
    /// stop early. Missing manifests are an error.
    async fn manifest_entries(
        &self,
        manifests: impl IntoIterator<Item = ManifestRef>,
        f: impl FnMut(&ManifestRef, EntryRef) -> bool,
    ) -> Result<()> {
        self.manifest_entries_tolerant(manifests, false, f).await
    }

    /// [`Self::manifest_entries`]; with `skip_missing`, a manifest that does not exist any
    /// more is skipped.
    async fn manifest_entries_tolerant(
        &self,
        manifests: impl IntoIterator<Item = ManifestRef>,
        skip_missing: bool,
        mut f: impl FnMut(&ManifestRef, EntryRef) -> bool,
    ) -> Result<()> {
        let io = self.io;
        let types = &self.partition_types;
        let reads: Vec<_> = manifests
            .into_iter()
            .map(|m| async move {
                let ty = types.get(&m.spec_id).ok_or_else(|| {
                    Error::invalid(format!(
                        "manifest {} uses partition spec {}, which is not in the table metadata",
                        m.path, m.spec_id
                    ))
                })?;
                let bytes = match io.read(&m.path).await {
                    Ok(b) => b,
                    Err(e) if skip_missing && e.kind() == ErrorKind::NotFound => {
                        return Ok((m, Vec::new()));
                    }
                    Err(e) => return Err(e),
                };
                let mut out = Vec::new();
                let reader = ManifestReader::without_inheritance(&bytes, ty)
                    .map_err(|e| e.context(format!("manifest {}", m.path)))?;
                for e in reader {
                    let e = e.map_err(|e| e.context(format!("manifest {}", m.path)))?;
                    out.push(EntryRef {
                        path: e.data_file.file_path,
                        status: e.status,
                        content: e.data_file.content,
                        size: e.data_file.file_size_in_bytes.max(0) as u64,
                    });
                }
                Ok::<_, Error>((m, out))
            })
            .collect();
        let mut stream = futures::stream::iter(reads).buffer_unordered(self.concurrency);
        while let Some((m, entries)) = stream.try_next().await? {
            for e in entries {
                if !f(&m, e) {
                    return Ok(());
                }
            }
        }
        Ok(())
    }
}

/// Delete `files` with bounded concurrency. A missing file is not an error; other failures
/// are collected as messages and the rest still go. Returns what was deleted, its bytes, and
/// the failures.
async fn delete_files(
    io: &FileIO,
    files: Vec<(FileCategory, String, u64)>,
    concurrency: usize,
) -> (FilesByCategory, u64, Vec<String>) {
    let mut deleted = FilesByCategory::default();
    let mut bytes = 0u64;
    let mut errors = Vec::new();
    let deletes: Vec<_> = files
        .into_iter()
        .map(|(c, path, size)| async move {
            let r = io.delete(&path).await;
            (c, path, size, r)
        })
        .collect();
    let mut stream = futures::stream::iter(deletes).buffer_unordered(concurrency.max(1));
    while let Some((c, path, size, r)) = stream.next().await {
        match r {
            Ok(()) => {
                bytes += size;
                deleted.push(c, path);
            }
            Err(e) => errors.push(format!("cannot delete {path}: {e}")),
        }
    }
    deleted.sort();
    (deleted, bytes, errors)
}

#[cfg(test)]
mod tests {
    use super::normalize_location;

    #[test]
    fn local_spellings_normalize_to_one() {
        for p in [
            "/tmp/wh/t/data/a.parquet",
            "file:/tmp/wh/t/data/a.parquet",
            "file:///tmp/wh/t/data/a.parquet",
            "file://tmp/wh/t/data/a.parquet",
            "file:///tmp//wh/t/data/a.parquet",
            "FILE:///tmp/wh/t/data/a.parquet",
        ] {
            assert_eq!(
                normalize_location(p),
                "file:///tmp/wh/t/data/a.parquet",
                "{p}"
            );
        }
    }

    #[test]
    fn s3_spellings_normalize_to_one() {
        for p in [
            "s3://b/wh/t/a.parquet",
            "s3a://b/wh/t/a.parquet",
            "s3n://b/wh//t/a.parquet",
        ] {
            assert_eq!(normalize_location(p), "s3://b/wh/t/a.parquet", "{p}");
        }
        assert_ne!(
            normalize_location("s3://b1/k"),
            normalize_location("s3://b2/k")
        );
        assert_eq!(normalize_location("memory://wh/t/"), "memory://wh/t");
        assert_eq!(
            normalize_location("s3://b/p=a%2Fb/f"),
            "s3://b/p=a%2Fb/f",
            "escapes are kept as written"
        );
    }
}
