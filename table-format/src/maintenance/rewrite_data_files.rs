//! Compaction: rewrite a table's small data files into files of the target size.
//!
//! - [`RewriteDataFiles`] ([`Table::rewrite_data_files`]): the options; [`RewriteDataFiles::plan`]
//!   picks the files, [`RewriteDataFiles::execute`] plans and runs (or only reports, on a
//!   dry run).
//! - [`RewritePlan`]: the chosen file groups (one per partition of a spec); its
//!   [`RewritePlan::execute`] reads their live rows (delete files applied), orders them by the
//!   [`RewriteStrategy`], writes files of the target size and commits one `replace` snapshot.
//! - [`RewriteDataFilesReport`]: what was (or would be) rewritten.
//! - Z-order keys (private): each column's values as order-preserving 64-bit keys, spread by
//!   rank over 32 bits, bits interleaved.
//!
//! Which files: live data files of the current snapshot that may match the filter and are
//! smaller than 75% or larger than 180% of the target size, or have delete files (Java's
//! size-based file rewriter), or all matching files with [`RewriteDataFiles::rewrite_all`]. They
//! are grouped by partition spec and partition; a group with fewer than `min_input_files`
//! candidates is left alone unless delete files apply to it or a file in it is too large.
//!
//! Delta merge ([`RewriteDataFiles::merge_deltas`], run by upserts on their own): instead of
//! choosing files by size, each scope (the table, or a partition) with enough equality delete
//! files gets its data files written since the oldest of them rewritten as one file of live
//! rows, and those delete files as one file of their keys; older files stay (see
//! `delta_groups` for why no row changes fate). Once what was written since reaches a tenth of
//! the scope's rows, the whole scope is rewritten instead and its equality deletes dropped.
//!
//! Sequence numbers (spec "Sequence Numbers", "Scan Planning"): the new files are ADDED with
//! the *starting* snapshot's sequence number as their data sequence number (Java's
//! `use-starting-sequence-number`), so an equality delete committed concurrently (a higher
//! sequence number) still applies to the rewritten rows, while the deletes already folded in
//! (sequence numbers at most the starting one) do not apply again. Delete files that applied
//! only to rewritten files are removed in the same snapshot.
//!
//! Conflicts: the commit requires `main` to still be at the snapshot it was built on. When it
//! moved, the rewrite is rebased onto the new head if every rewritten data file and every
//! removed delete file is still live there and no position delete (or deletion vector) was
//! added against a rewritten file; a pure append is tolerated this way. Otherwise the rewrite
//! fails with a non-retryable [`ErrorKind::CommitConflict`], deletes the files it wrote and
//! changes nothing.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Decimal128Type, Float32Type, Float64Type, Int32Type, Int64Type,
    Time64MicrosecondType, TimestampMicrosecondType, TimestampNanosecondType,
};
use arrow_array::{Array, RecordBatch, UInt32Array};
use arrow_schema::{DataType, TimeUnit};
use futures::{StreamExt, TryStreamExt};

use crate::catalog::Catalog;
use crate::expr::Predicate;
use crate::scan::plan::{DeleteIndex, load_manifest, load_manifest_list};
use crate::scan::prune::Pruner;
use crate::scan::{ArrowReader, DeleteFileRef, FileScanTask};
use crate::spec::manifest::partition_key;
use crate::spec::snapshot::MAIN_BRANCH;
use crate::spec::{
    DataContentType, DataFile, FormatVersion, ManifestContentType, ManifestEntry, ManifestFile,
    ManifestStatus, NullOrder, Operation, Schema, Snapshot, SnapshotReference, SnapshotRetention,
    SortDirection, SortField, SortOrder, SourceId, Summary, TableRequirement, TableUpdate,
    Transform,
};
use crate::table::Table;
use crate::transaction::summary::SummaryBuilder;
use crate::transaction::{
    cleanup, new_snapshot_id, now_ms, only_deletions, write_added_manifests, write_manifest,
    write_manifest_list,
};
use crate::{Error, ErrorKind, Result};

/// Minimum candidate files per group, by default.
const DEFAULT_MIN_INPUT_FILES: usize = 5;

/// How rows are ordered before they are cut into new files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RewriteStrategy {
    /// Concatenate the rows as they are.
    #[default]
    Binpack,
    /// Sort rows by the sort columns (default: the table's sort order).
    Sort,
    /// Sort rows by the z-value of two or more columns, so that a filter on any of them skips
    /// files.
    ZOrder,
}

impl RewriteStrategy {
    /// The option's name: `binpack`, `sort` or `zorder`.
    pub fn as_str(self) -> &'static str {
        match self {
            RewriteStrategy::Binpack => "binpack",
            RewriteStrategy::Sort => "sort",
            RewriteStrategy::ZOrder => "zorder",
        }
    }
}

impl FromStr for RewriteStrategy {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "binpack" => Ok(RewriteStrategy::Binpack),
            "sort" => Ok(RewriteStrategy::Sort),
            "zorder" | "z-order" => Ok(RewriteStrategy::ZOrder),
            other => Err(Error::invalid(format!(
                "unknown rewrite strategy '{other}': expected binpack, sort or zorder"
            ))),
        }
    }
}

/// Compaction options, as a builder on a loaded table.
#[derive(Debug, Clone)]
pub struct RewriteDataFiles {
    table: Table,
    strategy: RewriteStrategy,
    sort_columns: Option<Vec<String>>,
    filter: Option<Predicate>,
    target_file_size_bytes: Option<u64>,
    min_input_files: usize,
    rewrite_all: bool,
    dry_run: bool,
    /// Merge the deltas of scopes with at least this many equality delete files instead.
    merge_deltas: Option<usize>,
}

/// What a rewrite did, or on a dry run would do.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RewriteDataFilesReport {
    /// Whether this was a dry run (nothing written, nothing committed).
    pub dry_run: bool,
    /// Data files removed (rewritten).
    pub rewritten_data_files: usize,
    /// Data files added (on a dry run: the planned number).
    pub added_data_files: usize,
    /// Bytes of the rewritten data files.
    pub rewritten_bytes: u64,
    /// Bytes of the added data files (on a dry run: an estimate from the input sizes).
    pub added_bytes: u64,
    /// Delete files removed: they applied only to rewritten files, or (merging deltas) their
    /// keys moved into a new equality delete file.
    pub removed_delete_files: usize,
    /// Equality delete files added by a delta merge (on a dry run: the planned number).
    pub added_delete_files: usize,
    /// Paths of the rewritten data files.
    pub rewritten_paths: Vec<String>,
    /// The committed `replace` snapshot; None on a dry run or when nothing needed rewriting.
    pub snapshot_id: Option<i64>,
}

impl Table {
    /// Compact data files (see [`RewriteDataFiles`]).
    pub fn rewrite_data_files(&self) -> RewriteDataFiles {
        RewriteDataFiles {
            table: self.clone(),
            strategy: RewriteStrategy::Binpack,
            sort_columns: None,
            filter: None,
            target_file_size_bytes: None,
            min_input_files: DEFAULT_MIN_INPUT_FILES,
            rewrite_all: false,
            dry_run: false,
            merge_deltas: None,
        }
    }
}

/// How rows of a group are ordered, resolved against the schema.
#[derive(Debug, Clone)]
enum Ordering {
    None,
    /// Sort by this order; `table_order` when it is one of the table's (files record its id).
    Sort {
        order: SortOrder,
        table_order: bool,
    },
    /// Z-order over these top-level field ids.
    ZOrder(Vec<i32>),
}

/// One group of files to rewrite together: same spec, same partition.
#[derive(Debug, Clone, Default)]
struct FileGroup {
    tasks: Vec<FileScanTask>,
    /// Equality delete files a delta merge removes (empty for a compaction).
    carried: Vec<DeleteFileRef>,
    /// Whether their keys are written again as one file: false when the group rewrites every
    /// data file they could reach.
    carry_keys: bool,
}

impl FileGroup {
    fn bytes(&self) -> u64 {
        self.tasks
            .iter()
            .map(|t| t.data_file.file_size_in_bytes.max(0) as u64)
            .sum()
    }

    fn rows(&self) -> u64 {
        self.tasks
            .iter()
            .map(|t| t.data_file.record_count.max(0) as u64)
            .sum()
    }
}

/// The rows of `batch` without repeats (the first of equal rows kept, in order).
fn distinct_rows(batch: &RecordBatch) -> Result<RecordBatch> {
    let fail = |e: arrow_schema::ArrowError| Error::invalid(format!("cannot compare keys: {e}"));
    let converter = arrow_row::RowConverter::new(
        batch
            .schema()
            .fields()
            .iter()
            .map(|f| arrow_row::SortField::new(f.data_type().clone()))
            .collect(),
    )
    .map_err(fail)?;
    let rows = converter.convert_columns(batch.columns()).map_err(fail)?;
    let mut seen = HashSet::with_capacity(rows.num_rows());
    let keep: Vec<u32> = (0..rows.num_rows())
        .filter(|i| seen.insert(rows.row(*i)))
        .map(|i| i as u32)
        .collect();
    if keep.len() == batch.num_rows() {
        return Ok(batch.clone());
    }
    arrow_select::take::take_record_batch(batch, &UInt32Array::from(keep)).map_err(fail)
}

/// The scope an equality delete file applies in: the whole table (None), or one partition
/// of one spec.
type DeleteScope = Option<(i32, String)>;

/// The groups of a delta merge: per scope with at least `min_delete_files` equality delete
/// files (all on the same key columns), those files and every data file that scope's deletes
/// could reach written since the oldest of them.
///
/// Why this keeps every row's fate: the merged delete file gets the starting snapshot's
/// sequence number `S`, as the merged data file does. Every data file of the scope with a
/// sequence number of at least `m` (the oldest merged delete's) is rewritten, its deletes
/// applied, so the merged keys reach exactly the files older than `m`, which every merged
/// delete reached before; the merged data file, at `S`, is reached by no merged key, and by
/// every delete committed later.
///
/// Once the rows written since reach a tenth of the scope's ([`FULL_REWRITE_DIVISOR`]), the
/// whole scope is rewritten instead and its equality deletes dropped (they reach no file that
/// stays): the merged delta never outgrows a tenth of the table, so neither does a merge's cost.
///
/// A scope is left alone when its new files could not be written in it: the table-wide
/// scope needs an unpartitioned default spec, a partition's needs its spec to be the default
/// one, with the partition's source columns among the key columns.
fn delta_groups(
    md: &crate::spec::TableMetadata,
    tasks: &[FileScanTask],
    min_delete_files: usize,
) -> Vec<FileGroup> {
    let default_spec = md.default_partition_spec();
    let mut scopes: BTreeMap<DeleteScope, Vec<DeleteFileRef>> = BTreeMap::new();
    let mut seen: HashSet<DeleteKey> = HashSet::new();
    for t in tasks {
        for d in &t.deletes {
            if d.file.content != DataContentType::EqualityDeletes
                || !seen.insert(delete_key(&d.file))
            {
                continue;
            }
            let scope = if d.file.partition.iter().all(Option::is_none) {
                None
            } else {
                Some((t.spec_id, partition_key(&d.file.partition)))
            };
            scopes.entry(scope).or_default().push(d.clone());
        }
    }
    let writable = |scope: &DeleteScope, key_ids: &[i32]| match scope {
        None => default_spec.is_unpartitioned(),
        Some((spec_id, _)) => {
            *spec_id == md.default_spec_id()
                && default_spec
                    .fields()
                    .iter()
                    .all(|f| f.transform == Transform::Void || key_ids.contains(&*f.source_id))
        }
    };
    let mut chosen: Vec<(DeleteScope, Vec<DeleteFileRef>)> = scopes
        .into_iter()
        .filter(|(scope, deletes)| {
            let ids = deletes[0].file.equality_ids.clone().unwrap_or_default();
            deletes.len() >= min_delete_files
                && !ids.is_empty()
                && deletes
                    .iter()
                    .all(|d| d.file.equality_ids.as_ref() == Some(&ids))
                && writable(scope, &ids)
        })
        .collect();
    // The table-wide scope reaches the files of every partition: merged, it is merged alone.
    if chosen.iter().any(|(scope, _)| scope.is_none()) {
        chosen.retain(|(scope, _)| scope.is_none());
    }
    chosen
        .into_iter()
        .map(|(scope, carried)| {
            let oldest = carried
                .iter()
                .map(|d| d.sequence_number)
                .min()
                .unwrap_or(i64::MAX);
            let in_scope = |t: &FileScanTask| match &scope {
                None => true,
                Some((spec_id, key)) => {
                    t.spec_id == *spec_id && partition_key(&t.data_file.partition) == *key
                }
            };
            let rows = |t: &FileScanTask| t.data_file.record_count.max(0);
            let scope_rows: i64 = tasks.iter().filter(|t| in_scope(t)).map(rows).sum();
            let delta_rows: i64 = tasks
                .iter()
                .filter(|t| t.sequence_number >= oldest && in_scope(t))
                .map(rows)
                .sum();
            let full = delta_rows.saturating_mul(FULL_REWRITE_DIVISOR) >= scope_rows;
            let tasks = tasks
                .iter()
                .filter(|t| in_scope(t) && (full || t.sequence_number >= oldest))
                .cloned()
                .collect();
            FileGroup {
                tasks,
                carried,
                carry_keys: !full,
            }
        })
        .collect()
}

/// A delta merge rewrites its whole scope once the rows written since its oldest equality
/// delete reach 1/this of the scope's rows.
const FULL_REWRITE_DIVISOR: i64 = 10;

/// A delete file's identity: its path, and the blob offset for deletion vectors (several
/// share one Puffin file).
type DeleteKey = (String, Option<i64>);

fn delete_key(f: &DataFile) -> DeleteKey {
    (f.file_path.clone(), f.content_offset)
}

/// The files a rewrite replaces, chosen against a starting snapshot.
#[derive(Debug, Clone)]
pub struct RewritePlan {
    table: Table,
    start: Option<Snapshot>,
    groups: Vec<FileGroup>,
    /// Delete files that apply only to rewritten files.
    removed_deletes: HashSet<DeleteKey>,
    ordering: Ordering,
    target_file_size_bytes: u64,
}

impl RewriteDataFiles {
    /// How to order rows (default: binpack).
    pub fn strategy(mut self, strategy: RewriteStrategy) -> Self {
        self.strategy = strategy;
        self
    }

    /// Columns (top-level names) to sort by (`sort`, default the table's sort order) or to
    /// z-order (`zorder`, two or more required).
    pub fn sort_columns(mut self, columns: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.sort_columns = Some(columns.into_iter().map(Into::into).collect());
        self
    }

    /// Only rewrite files that may hold rows matching `filter`.
    pub fn filter(mut self, filter: Predicate) -> Self {
        self.filter = Some(filter);
        self
    }

    /// Only rewrite files that may hold rows matching `filter`, given in the REST spec's JSON
    /// expression form (see [`crate::expr::json`]), read against the current schema.
    pub fn filter_json(self, filter: &serde_json::Value) -> Result<Self> {
        let predicate =
            crate::expr::predicate_from_json(filter, self.table.metadata().current_schema())?;
        Ok(self.filter(predicate))
    }

    /// Target size of the new files (default: `write.target-file-size-bytes`, 512 MiB).
    pub fn target_file_size_bytes(mut self, bytes: u64) -> Self {
        self.target_file_size_bytes = Some(bytes);
        self
    }

    /// A group with fewer candidate files than this is left alone unless delete files apply
    /// to it (default 5).
    pub fn min_input_files(mut self, n: usize) -> Self {
        self.min_input_files = n.max(1);
        self
    }

    /// Consider every matching file, whatever its size (to re-sort or re-cluster a table
    /// whose files already have the target size).
    pub fn rewrite_all(mut self, all: bool) -> Self {
        self.rewrite_all = all;
        self
    }

    /// Report what would be rewritten without writing or committing anything.
    pub fn dry_run(mut self, dry_run: bool) -> Self {
        self.dry_run = dry_run;
        self
    }

    /// Merge deltas instead of compacting: in each scope (the whole table, or one partition)
    /// holding at least `min_delete_files` equality delete files, the data files written since
    /// the oldest of them become one file of their live rows, and those delete files one file
    /// of their keys (see the module documentation). The table's older files stay as they
    /// are, so the cost follows what was written since, not the table's size. Upserts run
    /// this on their own (`floe.upsert.merge-deltas.min-delete-files`).
    pub fn merge_deltas(mut self, min_delete_files: usize) -> Self {
        self.merge_deltas = Some(min_delete_files.max(1));
        self
    }

    /// Plan, then (unless this is a dry run) rewrite and commit through `catalog`.
    pub async fn execute(self, catalog: &dyn Catalog) -> Result<RewriteDataFilesReport> {
        let dry_run = self.dry_run;
        let plan = self.plan().await?;
        if dry_run {
            return Ok(plan.report());
        }
        plan.execute(catalog).await
    }

    /// Choose the files to rewrite, against the current snapshot of `main`. Nothing is written.
    pub async fn plan(self) -> Result<RewritePlan> {
        let md = self.table.metadata();
        let schema = md.current_schema();
        let props = md.table_properties()?;
        let target = self
            .target_file_size_bytes
            .unwrap_or(props.write_target_file_size_bytes)
            .max(1);
        let ordering = self.ordering(schema)?;
        let start = md.snapshot_for_ref(MAIN_BRANCH).cloned();
        let mut plan = RewritePlan {
            table: self.table.clone(),
            start: start.clone(),
            groups: Vec::new(),
            removed_deletes: HashSet::new(),
            ordering,
            target_file_size_bytes: target,
        };
        let Some(start) = start else {
            return Ok(plan);
        };
        let tasks = self
            .table
            .scan()
            .snapshot_id(start.snapshot_id)
            .plan_files()
            .await?;
        if let Some(min_delete_files) = self.merge_deltas {
            plan.groups = delta_groups(md, &tasks, min_delete_files);
            // The merged delete files, and every delete file that reached only rewritten files
            // (their rows are gone from the new files already).
            let rewritten: HashSet<&str> = plan
                .groups
                .iter()
                .flat_map(|g| g.tasks.iter().map(|t| t.data_file.file_path.as_str()))
                .collect();
            let still_needed: HashSet<DeleteKey> = tasks
                .iter()
                .filter(|t| !rewritten.contains(t.data_file.file_path.as_str()))
                .flat_map(|t| t.deletes.iter().map(|d| delete_key(&d.file)))
                .collect();
            let exclusive: Vec<DeleteKey> = plan
                .groups
                .iter()
                .flat_map(|g| &g.tasks)
                .flat_map(|t| t.deletes.iter().map(|d| delete_key(&d.file)))
                .filter(|k| !still_needed.contains(k))
                .collect();
            plan.removed_deletes = plan
                .groups
                .iter()
                .flat_map(|g| g.carried.iter().map(|d| delete_key(&d.file)))
                .chain(exclusive)
                .collect();
            return Ok(plan);
        }
        let bound = self
            .filter
            .as_ref()
            .map(|f| f.bind(schema, true))
            .transpose()?;
        let pruner = Pruner::new(md, schema, bound.as_ref())?;
        let min_size = target / 4 * 3;
        let max_size = target.saturating_mul(9) / 5;
        let mut groups: BTreeMap<(i32, String), FileGroup> = BTreeMap::new();
        let mut others = Vec::new();
        for t in tasks {
            let size = t.data_file.file_size_in_bytes.max(0) as u64;
            let candidate = pruner.may_match_file(t.spec_id, &t.data_file)?
                && (self.rewrite_all
                    || size < min_size
                    || size > max_size
                    || !t.deletes.is_empty());
            if !candidate {
                others.push(t);
                continue;
            }
            groups
                .entry((t.spec_id, partition_key(&t.data_file.partition)))
                .or_default()
                .tasks
                .push(t);
        }
        for (_, g) in groups {
            let worth = g.tasks.len() >= self.min_input_files
                || g.tasks.iter().any(|t| !t.deletes.is_empty())
                || g.tasks
                    .iter()
                    .any(|t| t.data_file.file_size_in_bytes.max(0) as u64 > max_size);
            if worth {
                plan.groups.push(g);
            } else {
                others.extend(g.tasks);
            }
        }
        // Delete files no longer needed: they applied to a rewritten file and to no file
        // that stays.
        let still_needed: HashSet<DeleteKey> = others
            .iter()
            .flat_map(|t| t.deletes.iter().map(|d| delete_key(&d.file)))
            .collect();
        plan.removed_deletes = plan
            .groups
            .iter()
            .flat_map(|g| &g.tasks)
            .flat_map(|t| t.deletes.iter().map(|d| delete_key(&d.file)))
            .filter(|k| !still_needed.contains(k))
            .collect();
        Ok(plan)
    }

    fn ordering(&self, schema: &Schema) -> Result<Ordering> {
        let ids = |cols: &[String]| -> Result<Vec<i32>> {
            cols.iter()
                .map(|c| {
                    let f = schema.as_struct().field_by_name(c).ok_or_else(|| {
                        Error::invalid(format!(
                            "sort column '{c}' is not a top-level column of the table"
                        ))
                    })?;
                    if f.field_type.as_primitive().is_none() {
                        return Err(Error::invalid(format!(
                            "sort column '{c}' is not of a primitive type"
                        )));
                    }
                    Ok(f.id)
                })
                .collect()
        };
        match self.strategy {
            RewriteStrategy::Binpack => Ok(Ordering::None),
            RewriteStrategy::Sort => {
                let md = self.table.metadata();
                match &self.sort_columns {
                    Some(cols) if !cols.is_empty() => {
                        let fields = ids(cols)?
                            .into_iter()
                            .map(|id| SortField {
                                source_id: SourceId::from(id),
                                transform: Transform::Identity,
                                direction: SortDirection::Asc,
                                null_order: NullOrder::NullsFirst,
                            })
                            .collect::<Vec<_>>();
                        // Files record the order's id only when it is one of the table's.
                        let known = md
                            .sort_orders()
                            .iter()
                            .find(|o| o.fields() == fields.as_slice())
                            .cloned();
                        Ok(match known {
                            Some(order) => Ordering::Sort {
                                order,
                                table_order: true,
                            },
                            None => Ordering::Sort {
                                order: SortOrder::new(0, fields),
                                table_order: false,
                            },
                        })
                    }
                    _ => match md.default_sort_order().filter(|o| !o.is_unsorted()) {
                        Some(order) => Ok(Ordering::Sort {
                            order: order.clone(),
                            table_order: true,
                        }),
                        None => Err(Error::invalid(
                            "the sort strategy needs sort columns: the table has no sort order; \
                             pass sort_columns",
                        )),
                    },
                }
            }
            RewriteStrategy::ZOrder => {
                let cols = self.sort_columns.clone().unwrap_or_default();
                if cols.len() < 2 {
                    return Err(Error::invalid(format!(
                        "zorder needs two or more columns, got {}; for one column use the sort \
                         strategy",
                        cols.len()
                    )));
                }
                if cols.len() > 128 {
                    return Err(Error::invalid("zorder takes at most 128 columns"));
                }
                let ids = ids(&cols)?;
                let unique: HashSet<&i32> = ids.iter().collect();
                if unique.len() != ids.len() {
                    return Err(Error::invalid("zorder columns must be distinct"));
                }
                Ok(Ordering::ZOrder(ids))
            }
        }
    }
}

impl RewritePlan {
    /// Whether there is nothing to rewrite.
    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// The snapshot the plan was made against.
    pub fn starting_snapshot_id(&self) -> Option<i64> {
        self.start.as_ref().map(|s| s.snapshot_id)
    }

    /// Paths of the data files the plan rewrites.
    pub fn rewritten_paths(&self) -> Vec<String> {
        self.groups
            .iter()
            .flat_map(|g| g.tasks.iter().map(|t| t.data_file.file_path.clone()))
            .collect()
    }

    /// What executing the plan would do (the added files and bytes are estimates).
    pub fn report(&self) -> RewriteDataFilesReport {
        let mut r = RewriteDataFilesReport {
            dry_run: true,
            removed_delete_files: self.removed_deletes.len(),
            rewritten_paths: self.rewritten_paths(),
            ..Default::default()
        };
        for g in &self.groups {
            r.rewritten_data_files += g.tasks.len();
            r.rewritten_bytes += g.bytes();
            let live = g.rows().saturating_sub(deleted_rows_estimate(g));
            r.added_data_files +=
                output_file_count(live, g.rows(), g.bytes(), self.target_file_size_bytes);
            r.added_bytes += scaled(g.bytes(), live, g.rows());
            r.added_delete_files += usize::from(g.carry_keys && !g.carried.is_empty());
        }
        r
    }

    /// Read the groups' live rows, write them as new files and commit one `replace` snapshot
    /// through `catalog`. A conflict that rebasing cannot resolve fails with a non-retryable
    /// [`ErrorKind::CommitConflict`], and the written files are deleted.
    pub async fn execute(self, catalog: &dyn Catalog) -> Result<RewriteDataFilesReport> {
        let Some(start) = self.start.clone() else {
            return Ok(RewriteDataFilesReport::default());
        };
        if self.groups.is_empty() {
            return Ok(RewriteDataFilesReport::default());
        }
        let io = self.table.file_io().clone();
        let mut added: Vec<DataFile> = Vec::new();
        for g in &self.groups {
            match self.rewrite_group(g).await {
                Ok(files) => added.extend(files),
                Err(e) => {
                    cleanup(&io, added.into_iter().map(|f| f.file_path)).await;
                    return Err(e);
                }
            }
        }
        match self.commit(catalog, &start, &added).await {
            Ok(snapshot_id) => {
                let mut report = self.report();
                report.dry_run = false;
                let (data, deletes): (Vec<&DataFile>, Vec<&DataFile>) = added
                    .iter()
                    .partition(|f| f.content == DataContentType::Data);
                report.added_data_files = data.len();
                report.added_delete_files = deletes.len();
                report.added_bytes = data
                    .iter()
                    .map(|f| f.file_size_in_bytes.max(0) as u64)
                    .sum();
                report.snapshot_id = Some(snapshot_id);
                Ok(report)
            }
            Err(e) => {
                // The new files are referenced by nothing unless the outcome is unknown.
                if e.kind() != ErrorKind::CommitStateUnknown {
                    cleanup(&io, added.into_iter().map(|f| f.file_path)).await;
                }
                Err(e)
            }
        }
    }

    /// Write one group's new files: its live rows, and for a delta merge its carried keys
    /// (as equality delete files).
    async fn rewrite_group(&self, g: &FileGroup) -> Result<Vec<DataFile>> {
        let md = self.table.metadata();
        let schema = Arc::new(md.current_schema().clone());
        let ids: Vec<i32> = schema.fields().iter().map(|f| f.id).collect();
        let reader = ArrowReader::new(self.table.file_io().clone(), schema.clone(), ids)?;
        // Equality deletes indexed once for the group, not gathered again for every file.
        let index = reader.build_equality_index(&g.tasks).await?;
        let reader = reader.with_equality_index(Arc::new(index));
        let arrow_schema = reader.output_schema()?;
        let mut out = self
            .rewrite_rows(g, &schema, &reader, &arrow_schema)
            .await?;
        if g.carry_keys && !g.carried.is_empty() {
            match self.carry_keys(g, &schema, &reader).await {
                Ok(files) => out.extend(files),
                Err(e) => {
                    cleanup(self.table.file_io(), out.into_iter().map(|f| f.file_path)).await;
                    return Err(e);
                }
            }
        }
        Ok(out)
    }

    /// The keys of a group's carried equality delete files, each once, written as equality
    /// delete files (one per partition of the default spec).
    async fn carry_keys(
        &self,
        g: &FileGroup,
        schema: &Arc<Schema>,
        reader: &ArrowReader,
    ) -> Result<Vec<DataFile>> {
        let key_ids = g.carried[0].file.equality_ids.clone().unwrap_or_default();
        let key_fields = key_ids
            .iter()
            .map(|id| {
                schema.as_struct().field_by_id(*id).cloned().ok_or_else(|| {
                    Error::invalid(format!(
                        "equality field {id} is not a column of the current schema"
                    ))
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let key_schema = Schema::builder().with_fields(key_fields).build()?;
        let reads: Vec<_> = g
            .carried
            .iter()
            .map(|d| reader.read_parquet(&d.file.file_path, &key_schema))
            .collect();
        let batches: Vec<RecordBatch> = futures::stream::iter(reads)
            .buffered(8)
            .try_collect::<Vec<_>>()
            .await?
            .into_iter()
            .flatten()
            .collect();
        let arrow_keys = Arc::new(crate::arrow::iceberg_schema_to_arrow(&key_schema)?);
        let keys = arrow_select::concat::concat_batches(&arrow_keys, &batches)
            .map_err(|e| Error::invalid(format!("cannot combine delete keys: {e}")))?;
        let keys = distinct_rows(&keys)?;
        if keys.num_rows() == 0 {
            return Ok(vec![]);
        }
        let mut files =
            crate::transaction::write_batches_with_schema(&self.table, &key_schema, &[keys])
                .await?;
        for f in &mut files {
            f.content = DataContentType::EqualityDeletes;
            f.equality_ids = Some(key_ids.clone());
            f.sort_order_id = None;
        }
        Ok(files)
    }

    /// Read one group's live rows, order them and write them as files of about the target
    /// size (each file a contiguous run of the order).
    async fn rewrite_rows(
        &self,
        g: &FileGroup,
        schema: &Arc<Schema>,
        reader: &ArrowReader,
        arrow_schema: &arrow_schema::SchemaRef,
    ) -> Result<Vec<DataFile>> {
        let reads: Vec<_> = g.tasks.iter().map(|t| reader.read(t)).collect();
        let batches: Vec<Vec<RecordBatch>> = futures::stream::iter(reads)
            .buffered(4)
            .try_collect()
            .await?;
        let batches: Vec<RecordBatch> = batches.into_iter().flatten().collect();
        let all = arrow_select::concat::concat_batches(arrow_schema, &batches)
            .map_err(|e| Error::invalid(format!("cannot combine rows to rewrite: {e}")))?;
        let live = all.num_rows();
        if u32::try_from(live).is_err() {
            return Err(Error::unsupported(format!(
                "a file group of {live} rows is too large to rewrite at once; narrow it with a \
                 filter"
            )));
        }
        if live == 0 {
            return Ok(vec![]);
        }
        let n = output_file_count(
            live as u64,
            g.rows(),
            g.bytes(),
            self.target_file_size_bytes,
        );
        let (rows, cuts) = match &self.ordering {
            Ordering::None => (all, even_cuts(live, n)),
            Ordering::Sort { order, .. } => (
                crate::transaction::sort_batches(schema, order, &[all])?,
                even_cuts(live, n),
            ),
            Ordering::ZOrder(ids) => {
                let z = z_values(schema, &all, ids)?;
                let mut idx: Vec<u32> = (0..live as u32).collect();
                idx.sort_by_key(|i| z[*i as usize]);
                let sorted_z: Vec<u128> = idx.iter().map(|i| z[*i as usize]).collect();
                let sorted = arrow_select::take::take_record_batch(&all, &UInt32Array::from(idx))
                    .map_err(|e| Error::invalid(format!("cannot order rows: {e}")))?;
                (sorted, z_cuts(&sorted_z, n))
            }
        };
        let mut out = Vec::with_capacity(cuts.len() + 1);
        let mut begin = 0;
        for end in cuts.into_iter().chain(std::iter::once(live)) {
            if end <= begin {
                continue;
            }
            match self
                .write_file(schema, &rows.slice(begin, end - begin))
                .await
            {
                Ok(files) => out.extend(files),
                Err(e) => {
                    cleanup(
                        self.table.file_io(),
                        out.into_iter().map(|f: DataFile| f.file_path),
                    )
                    .await;
                    return Err(e);
                }
            }
            begin = end;
        }
        Ok(out)
    }

    /// Write rows as one file per partition of the default spec (the writer does not roll:
    /// the caller already cut the rows to the target size).
    async fn write_file(&self, schema: &Arc<Schema>, rows: &RecordBatch) -> Result<Vec<DataFile>> {
        let md = self.table.metadata();
        let mut builder = crate::writer::PartitionedWriter::builder(
            schema.clone(),
            self.table.file_io().clone(),
            md.data_dir(),
        )
        .partition_spec(md.default_partition_spec().clone())
        .table_properties(md.properties())
        .target_file_size_bytes(u64::MAX);
        let table_order = match &self.ordering {
            Ordering::Sort {
                order,
                table_order: true,
            } => Some(order.clone()),
            _ => None,
        };
        if let Some(order) = &table_order {
            builder = builder.sort_order(order.clone());
        }
        let mut writer = builder.build()?;
        if let Err(e) = writer.write(rows).await {
            writer.abort().await.ok();
            return Err(e);
        }
        let mut files = writer.close().await?;
        for f in &mut files {
            f.sort_order_id = table_order
                .as_ref()
                .and_then(|o| i32::try_from(o.order_id()).ok());
        }
        Ok(files)
    }

    /// Commit the replacement, rebasing onto a moved `main` when that is safe; returns the
    /// new snapshot's id.
    async fn commit(
        &self,
        catalog: &dyn Catalog,
        start: &Snapshot,
        added: &[DataFile],
    ) -> Result<i64> {
        let md0 = self.table.metadata();
        let props = md0.table_properties()?;
        let retries = props.commit_retry_num_retries;
        let mut wait = Duration::from_millis(props.commit_retry_min_wait_ms.max(1));
        let max_wait = Duration::from_millis(props.commit_retry_max_wait_ms.max(1));
        let io = self.table.file_io().clone();
        let snapshot_id = new_snapshot_id();
        // The rewritten files: path -> (spec, data sequence number, delete files at the start).
        let rewritten: HashMap<&str, &FileScanTask> = self
            .groups
            .iter()
            .flat_map(|g| &g.tasks)
            .map(|t| (t.data_file.file_path.as_str(), t))
            .collect();
        // The added manifests (data, and a delta merge's deletes) are written once: ADDED
        // entries with the starting snapshot's sequence number as data sequence number.
        let data_seq = (md0.format_version() >= FormatVersion::V2).then_some(start.sequence_number);
        let added_manifests = write_added_manifests(
            &io,
            md0,
            md0.default_spec_id(),
            snapshot_id,
            added,
            data_seq,
        )
        .await?;
        let mut base = self.table.clone();
        let mut attempt = 0u32;
        loop {
            let md = base.metadata();
            let outcome = async {
                let head = md.snapshot_for_ref(MAIN_BRANCH).cloned().ok_or_else(|| {
                    Error::conflict(
                        "a concurrent commit removed the main branch this rewrite was planned on",
                    )
                    .non_retryable()
                })?;
                let manifests = load_manifest_list(&io, &head).await?;
                if head.snapshot_id != start.snapshot_id {
                    self.validate_rebase(md, &manifests, start, &rewritten)
                        .await?;
                }
                let mut summary = SummaryBuilder::default();
                for f in added {
                    summary.add_file(md0.default_spec_id(), f);
                }
                let mut out: Vec<ManifestFile> = added_manifests.clone();
                let mut written = Vec::new();
                let mut found_data = 0usize;
                let mut found_deletes = 0usize;
                for m in manifests.iter().filter(|m| !only_deletions(m)) {
                    if m.content == ManifestContentType::Deletes && self.removed_deletes.is_empty()
                    {
                        out.push(m.clone());
                        continue;
                    }
                    let entries = load_manifest(&io, md, m).await?;
                    let is_removed = |e: &ManifestEntry| {
                        e.status != ManifestStatus::Deleted
                            && match m.content {
                                ManifestContentType::Data => {
                                    rewritten.contains_key(e.data_file.file_path.as_str())
                                }
                                ManifestContentType::Deletes => {
                                    self.removed_deletes.contains(&delete_key(&e.data_file))
                                }
                            }
                    };
                    if !entries.iter().any(is_removed) {
                        out.push(m.clone());
                        continue;
                    }
                    let mut kept = Vec::with_capacity(entries.len());
                    for mut e in entries {
                        if e.status == ManifestStatus::Deleted {
                            continue;
                        }
                        if is_removed(&e) {
                            match m.content {
                                ManifestContentType::Data => found_data += 1,
                                ManifestContentType::Deletes => found_deletes += 1,
                            }
                            summary.remove_file(m.partition_spec_id, &e.data_file);
                            e.status = ManifestStatus::Deleted;
                            e.snapshot_id = Some(snapshot_id);
                        } else {
                            e.status = ManifestStatus::Existing;
                        }
                        kept.push(e);
                    }
                    let w =
                        write_manifest(&io, md, m.partition_spec_id, snapshot_id, m.content, kept)
                            .await?;
                    written.push(w.manifest_path.clone());
                    out.push(w);
                }
                if found_data != rewritten.len() || found_deletes != self.removed_deletes.len() {
                    cleanup(&io, written.into_iter()).await;
                    return Err(Error::conflict(
                        "a concurrent commit removed files this rewrite replaces; reload the \
                         table and plan the rewrite again",
                    )
                    .non_retryable());
                }
                let mut s = summary.build(Operation::Replace, Some(&head.summary));
                let created = written.len() + added_manifests.len();
                s.set("manifests-created", created.to_string());
                s.set("manifests-replaced", written.len().to_string());
                let list_path = format!(
                    "{}/snap-{snapshot_id}-{attempt}-{}.avro",
                    md.metadata_dir(),
                    uuid::Uuid::new_v4()
                );
                written.push(list_path.clone());
                let result =
                    commit_replace(catalog, &base, snapshot_id, &head, &list_path, &mut out, s)
                        .await;
                Ok::<_, Error>((result, written))
            }
            .await;
            let (result, written) = match outcome {
                Ok(v) => v,
                Err(e) => {
                    cleanup(&io, added_manifests.iter().map(|m| m.manifest_path.clone())).await;
                    return Err(e);
                }
            };
            match result {
                Ok(_) => return Ok(snapshot_id),
                Err(e) if e.is_retryable() && attempt < retries => {
                    cleanup(&io, written.into_iter()).await;
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(max_wait);
                    attempt += 1;
                    base = catalog.load_table(base.ident()).await?;
                }
                Err(e) => {
                    if e.kind() != ErrorKind::CommitStateUnknown {
                        cleanup(
                            &io,
                            written
                                .into_iter()
                                .chain(added_manifests.iter().map(|m| m.manifest_path.clone())),
                        )
                        .await;
                    }
                    return Err(e);
                }
            }
        }
    }

    /// Check that the rewrite can be rebased onto a new head: the rewritten files are live
    /// there and no position delete was added against them (equality deletes added since
    /// the start are fine: they carry higher sequence numbers than the new files).
    async fn validate_rebase(
        &self,
        md: &crate::spec::TableMetadata,
        manifests: &[ManifestFile],
        start: &Snapshot,
        rewritten: &HashMap<&str, &FileScanTask>,
    ) -> Result<()> {
        let io = self.table.file_io();
        let index = DeleteIndex::load(io, md, manifests).await?;
        for (path, task) in rewritten {
            let before: HashSet<DeleteKey> =
                task.deletes.iter().map(|d| delete_key(&d.file)).collect();
            let now = index.for_file(task.spec_id, &task.data_file, task.sequence_number);
            let now_keys: HashSet<DeleteKey> = now.iter().map(|d| delete_key(&d.file)).collect();
            if let Some(gone) = before.iter().find(|k| !now_keys.contains(*k)) {
                return Err(Error::conflict(format!(
                    "a concurrent commit removed delete file {} of {path}, which this rewrite \
                     replaces; reload the table and plan the rewrite again",
                    gone.0
                ))
                .non_retryable());
            }
            for d in now {
                let new = !before.contains(&delete_key(&d.file));
                let tolerated = d.file.content == DataContentType::EqualityDeletes
                    && d.sequence_number > start.sequence_number;
                if new && !tolerated {
                    return Err(Error::conflict(format!(
                        "a concurrent commit added delete file {} against {path}, which this \
                         rewrite replaces; reload the table and plan the rewrite again",
                        d.file.file_path
                    ))
                    .non_retryable());
                }
            }
        }
        Ok(())
    }
}

/// One attempt to commit a `replace` snapshot on `main` with `manifests`: write the manifest
/// list, then commit requiring `main` to still be at `parent`. Returns the committed table;
/// a moved `main` is a retryable conflict.
pub(super) async fn commit_replace(
    catalog: &dyn Catalog,
    base: &Table,
    snapshot_id: i64,
    parent: &Snapshot,
    list_path: &str,
    manifests: &mut [ManifestFile],
    summary: Summary,
) -> Result<Table> {
    let md = base.metadata();
    let io = base.file_io();
    let sequence_number = md.next_sequence_number();
    let (first_row_id, added_rows) = write_manifest_list(
        io,
        md,
        list_path,
        snapshot_id,
        Some(parent.snapshot_id),
        sequence_number,
        manifests,
    )
    .await?;
    let snapshot = Snapshot {
        snapshot_id,
        parent_snapshot_id: Some(parent.snapshot_id),
        sequence_number,
        timestamp_ms: now_ms().max(md.last_updated_ms()),
        manifest_list: list_path.to_string(),
        manifests: None,
        summary,
        schema_id: Some(md.current_schema_id()),
        first_row_id,
        added_rows,
        key_id: None,
    };
    let retention = md
        .refs()
        .get(MAIN_BRANCH)
        .map(|r| r.retention)
        .unwrap_or_else(SnapshotRetention::branch);
    let requirements = vec![
        TableRequirement::AssertTableUuid {
            uuid: md.table_uuid(),
        },
        TableRequirement::AssertRefSnapshotId {
            r#ref: MAIN_BRANCH.to_string(),
            snapshot_id: Some(parent.snapshot_id),
        },
    ];
    let updates = vec![
        TableUpdate::AddSnapshot { snapshot },
        TableUpdate::SetSnapshotRef {
            ref_name: MAIN_BRANCH.to_string(),
            reference: SnapshotReference {
                snapshot_id,
                retention,
            },
        },
    ];
    catalog
        .commit_table(base.ident(), requirements, updates)
        .await
}

/// Rows the group's delete files remove, estimated from their record counts (position
/// deletes that name a single file count fully; others are not counted).
fn deleted_rows_estimate(g: &FileGroup) -> u64 {
    g.tasks
        .iter()
        .flat_map(|t| &t.deletes)
        .filter(|d| {
            d.file.content == DataContentType::PositionDeletes
                && d.file.referenced_data_file.is_some()
        })
        .map(|d| d.file.record_count.max(0) as u64)
        .sum::<u64>()
        .min(g.rows())
}

/// `bytes` scaled by `live / rows`.
fn scaled(bytes: u64, live: u64, rows: u64) -> u64 {
    if rows == 0 {
        return 0;
    }
    (u128::from(bytes) * u128::from(live) / u128::from(rows)) as u64
}

/// How many files `live` rows make at the target size, with the input's bytes per row.
fn output_file_count(live: u64, rows: u64, bytes: u64, target: u64) -> usize {
    if live == 0 {
        return 0;
    }
    let est = scaled(bytes, live, rows.max(live)).max(1);
    est.div_ceil(target.max(1)).max(1) as usize
}

/// Cut points (exclusive ends, last one omitted) splitting `rows` into `n` near-equal runs.
fn even_cuts(rows: usize, n: usize) -> Vec<usize> {
    let n = n.clamp(1, rows.max(1));
    (1..n).map(|i| i * rows / n).collect()
}

/// Cut points for z-ordered rows: near each even cut, the row where the z-value changes in
/// its most significant bit, so each file covers whole z-cells (a compact box in every
/// column) rather than straddling two distant ones.
fn z_cuts(z: &[u128], n: usize) -> Vec<usize> {
    let rows = z.len();
    let n = n.clamp(1, rows.max(1));
    let window = rows / n / 4;
    let mut out = Vec::with_capacity(n.saturating_sub(1));
    let mut prev = 0usize;
    for ideal in even_cuts(rows, n) {
        let lo = ideal.saturating_sub(window).max(prev + 1);
        let hi = (ideal + window).min(rows - 1);
        if lo > hi {
            continue;
        }
        let best = (lo..=hi)
            .min_by_key(|p| ((z[p - 1] ^ z[*p]).leading_zeros(), p.abs_diff(ideal)))
            .unwrap_or(ideal);
        out.push(best);
        prev = best;
    }
    out
}

/// The z-value of every row: each column's order-preserving key, spread by rank over 32
/// bits (so columns with narrow ranges get an equal share of the leading bits), then the
/// columns' bits interleaved, most significant first.
fn z_values(schema: &Schema, batch: &RecordBatch, ids: &[i32]) -> Result<Vec<u128>> {
    let mut spread = Vec::with_capacity(ids.len());
    for id in ids {
        let idx = schema
            .fields()
            .iter()
            .position(|f| f.id == *id)
            .ok_or_else(|| Error::invalid(format!("zorder column {id} is not in the schema")))?;
        let keys = ordered_keys(batch.column(idx).as_ref())?;
        spread.push(rank_spread(&keys));
    }
    let n = ids.len() as u32;
    let bits = (128 / n).min(32);
    Ok((0..batch.num_rows())
        .map(|row| {
            let mut z: u128 = 0;
            for bit in 0..bits {
                for col in &spread {
                    z = (z << 1) | u128::from((col[row] >> (31 - bit)) & 1);
                }
            }
            z
        })
        .collect())
}

/// Each key's dense rank among the distinct keys, scaled to the 32-bit range.
fn rank_spread(keys: &[u64]) -> Vec<u32> {
    let mut distinct = keys.to_vec();
    distinct.sort_unstable();
    distinct.dedup();
    let d = distinct.len().max(1) as u128;
    keys.iter()
        .map(|k| {
            let r = distinct.binary_search(k).unwrap_or_else(|i| i) as u128;
            ((r << 32) / d) as u32
        })
        .collect()
}

const SIGN: u64 = 1 << 63;

/// Signed integers in order as unsigned: flip the sign bit.
fn int_key(v: i64) -> u64 {
    (v as u64) ^ SIGN
}

/// IEEE floats in order as unsigned: negative values have all bits flipped, others the sign
/// bit (−NaN < −∞ < … < −0 < 0 < … < ∞ < NaN).
fn float_key(v: f64) -> u64 {
    let b = v.to_bits();
    if b & SIGN != 0 { !b } else { b ^ SIGN }
}

/// Strings and bytes by their first 8 bytes, big-endian, zero-padded.
fn bytes_key(b: &[u8]) -> u64 {
    let mut buf = [0u8; 8];
    let n = b.len().min(8);
    buf[..n].copy_from_slice(&b[..n]);
    u64::from_be_bytes(buf)
}

/// Order-preserving 64-bit keys of a column's values; nulls are 0 (first).
fn ordered_keys(a: &dyn Array) -> Result<Vec<u64>> {
    fn keys<T>(a: &dyn Array, value: impl Fn(usize) -> T, key: impl Fn(T) -> u64) -> Vec<u64> {
        (0..a.len())
            .map(|i| if a.is_null(i) { 0 } else { key(value(i)) })
            .collect()
    }
    let unsupported = || {
        Error::unsupported(format!(
            "zorder does not support columns of Arrow type {}",
            a.data_type()
        ))
    };
    Ok(match a.data_type() {
        DataType::Boolean => {
            let v = a.as_boolean_opt().ok_or_else(unsupported)?;
            keys(a, |i| v.value(i), u64::from)
        }
        DataType::Int32 => {
            let v = a.as_primitive_opt::<Int32Type>().ok_or_else(unsupported)?;
            keys(a, |i| i64::from(v.value(i)), int_key)
        }
        DataType::Int64 => {
            let v = a.as_primitive_opt::<Int64Type>().ok_or_else(unsupported)?;
            keys(a, |i| v.value(i), int_key)
        }
        DataType::Date32 => {
            let v = a.as_primitive_opt::<Date32Type>().ok_or_else(unsupported)?;
            keys(a, |i| i64::from(v.value(i)), int_key)
        }
        DataType::Time64(TimeUnit::Microsecond) => {
            let v = a
                .as_primitive_opt::<Time64MicrosecondType>()
                .ok_or_else(unsupported)?;
            keys(a, |i| v.value(i), int_key)
        }
        DataType::Timestamp(TimeUnit::Microsecond, _) => {
            let v = a
                .as_primitive_opt::<TimestampMicrosecondType>()
                .ok_or_else(unsupported)?;
            keys(a, |i| v.value(i), int_key)
        }
        DataType::Timestamp(TimeUnit::Nanosecond, _) => {
            let v = a
                .as_primitive_opt::<TimestampNanosecondType>()
                .ok_or_else(unsupported)?;
            keys(a, |i| v.value(i), int_key)
        }
        DataType::Float32 => {
            let v = a
                .as_primitive_opt::<Float32Type>()
                .ok_or_else(unsupported)?;
            keys(a, |i| f64::from(v.value(i)), float_key)
        }
        DataType::Float64 => {
            let v = a
                .as_primitive_opt::<Float64Type>()
                .ok_or_else(unsupported)?;
            keys(a, |i| v.value(i), float_key)
        }
        DataType::Decimal128(_, _) => {
            let v = a
                .as_primitive_opt::<Decimal128Type>()
                .ok_or_else(unsupported)?;
            keys(
                a,
                |i| v.value(i).clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64,
                int_key,
            )
        }
        DataType::Utf8 => {
            let v = a.as_string_opt::<i32>().ok_or_else(unsupported)?;
            keys(a, |i| v.value(i).as_bytes(), bytes_key)
        }
        DataType::LargeUtf8 => {
            let v = a.as_string_opt::<i64>().ok_or_else(unsupported)?;
            keys(a, |i| v.value(i).as_bytes(), bytes_key)
        }
        DataType::Binary => {
            let v = a.as_binary_opt::<i32>().ok_or_else(unsupported)?;
            keys(a, |i| v.value(i), bytes_key)
        }
        DataType::LargeBinary => {
            let v = a.as_binary_opt::<i64>().ok_or_else(unsupported)?;
            keys(a, |i| v.value(i), bytes_key)
        }
        DataType::FixedSizeBinary(_) => {
            let v = a.as_fixed_size_binary_opt().ok_or_else(unsupported)?;
            keys(a, |i| v.value(i), bytes_key)
        }
        _ => return Err(unsupported()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_preserve_order() {
        let ints = [i64::MIN, -5, -1, 0, 1, 7, i64::MAX];
        assert!(ints.windows(2).all(|w| int_key(w[0]) < int_key(w[1])));
        let floats = [
            f64::NEG_INFINITY,
            -2.5,
            -0.0,
            0.0,
            1e-300,
            3.0,
            f64::INFINITY,
        ];
        assert!(floats.windows(2).all(|w| float_key(w[0]) < float_key(w[1])));
        assert!(float_key(f64::INFINITY) < float_key(f64::NAN));
        let strs = ["", "a", "ab", "abcdefgh", "b"];
        assert!(
            strs.windows(2)
                .all(|w| bytes_key(w[0].as_bytes()) < bytes_key(w[1].as_bytes()))
        );
    }

    #[test]
    fn rank_spread_uses_the_whole_range() {
        let s = rank_spread(&[10, 20, 20, 30]);
        assert_eq!(s[0], 0);
        assert_eq!(s[1], s[2]);
        assert!(s[1] > 1 << 30 && s[3] > 1 << 31);
    }

    #[test]
    fn z_cuts_land_on_cell_boundaries() {
        // Values 0..64 of a 6-bit z: cutting in 4 should land exactly on 16, 32, 48 even when
        // the rows are uneven around them.
        let z: Vec<u128> = (0u128..64)
            .flat_map(|v| std::iter::repeat_n(v << 100, 3))
            .collect();
        let cuts = z_cuts(&z, 4);
        assert_eq!(cuts, vec![48, 96, 144]);
        let z: Vec<u128> = (0u128..64).map(|v| v << 100).collect();
        let shifted: Vec<u128> = std::iter::repeat_n(0, 5).chain(z).collect();
        let cuts = z_cuts(&shifted, 4);
        assert_eq!(cuts, vec![5 + 16, 5 + 32, 5 + 48]);
    }

    #[test]
    fn strategies_parse() {
        assert_eq!(
            "zorder".parse::<RewriteStrategy>().unwrap(),
            RewriteStrategy::ZOrder
        );
        assert_eq!(
            "Binpack".parse::<RewriteStrategy>().unwrap(),
            RewriteStrategy::Binpack
        );
        assert!("hilbert".parse::<RewriteStrategy>().is_err());
    }
}
