//! Incremental reads: what one branch gained between two of its snapshots, for pipelines
//! that process only new data.
//!
//! - [`IncrementalScan`]: the files added (and, when asked for, removed) by the snapshots after
//!   `from` up to `to`, along `to`'s parent chain. A range holding an overwrite, a delete or a
//!   replace is refused unless the caller opts in with
//!   [`IncrementalScan::include_changes`], since appended rows alone would then not describe
//!   what happened.

use std::collections::HashSet;
use std::sync::Arc;

use arrow_array::RecordBatch;
use futures::{StreamExt, TryStreamExt};

use super::plan::{load_manifest, load_manifest_list};
use super::reader::{ArrowReader, FileScanTask};
use crate::spec::{DataContentType, DataFile, ManifestStatus, Operation, Snapshot};
use crate::table::Table;
use crate::{Error, Result};

/// The changes between two snapshots of one lineage.
#[derive(Debug, Clone, Default)]
pub struct IncrementalChanges {
    /// Data files added in the range (and still present at its end), oldest first.
    pub added: Vec<FileScanTask>,
    /// Data files removed in the range that existed before it.
    pub removed: Vec<DataFile>,
    /// The snapshots of the range, oldest first.
    pub snapshots: Vec<Snapshot>,
}

/// A scan of what was appended between two snapshots.
#[derive(Debug, Clone)]
pub struct IncrementalScan {
    table: Table,
    from_exclusive: Option<i64>,
    to_inclusive: Option<i64>,
    include_changes: bool,
}

impl Table {
    /// The rows appended after snapshot `from_exclusive` (`None`: from the start of the
    /// lineage) up to the current snapshot; narrow the end with [`IncrementalScan::to_snapshot`].
    pub fn incremental_scan(&self, from_exclusive: Option<i64>) -> IncrementalScan {
        IncrementalScan {
            table: self.clone(),
            from_exclusive,
            to_inclusive: None,
            include_changes: false,
        }
    }
}

impl IncrementalScan {
    /// End the range at this snapshot (inclusive) instead of the current one.
    pub fn to_snapshot(mut self, id: i64) -> Self {
        self.to_inclusive = Some(id);
        self
    }

    /// Accept ranges with overwrites, deletes and replaces: `changes()` then also lists the
    /// removed files, and `to_arrow()` returns the rows of the added files.
    pub fn include_changes(mut self) -> Self {
        self.include_changes = true;
        self
    }

    /// The snapshots of the range, oldest first; errors when `from` is not an ancestor of
    /// `to`, or (without `include_changes`) when a snapshot in the range is not an append.
    pub fn snapshots(&self) -> Result<Vec<Snapshot>> {
        let md = self.table.metadata();
        let to = match self.to_inclusive {
            Some(id) => id,
            None => match md.current_snapshot_id() {
                Some(id) => id,
                None => return Ok(vec![]),
            },
        };
        if md.snapshot_by_id(to).is_none() {
            return Err(Error::invalid(format!(
                "snapshot {to} does not exist in this table"
            )));
        }
        if let Some(from) = self.from_exclusive
            && md.snapshot_by_id(from).is_none()
        {
            return Err(Error::invalid(format!(
                "snapshot {from} does not exist in this table (it may have expired)"
            )));
        }
        let mut range = Vec::new();
        let mut found_from = self.from_exclusive.is_none();
        for s in md.ancestors_of(to) {
            if Some(s.snapshot_id) == self.from_exclusive {
                found_from = true;
                break;
            }
            range.push(s.clone());
        }
        if !found_from {
            return Err(Error::invalid(format!(
                "snapshot {} is not an ancestor of snapshot {to}; an incremental read follows one lineage",
                self.from_exclusive.unwrap_or_default()
            )));
        }
        range.reverse();
        if !self.include_changes
            && let Some(s) = range
                .iter()
                .find(|s| s.summary.operation != Operation::Append)
        {
            return Err(Error::invalid(format!(
                "snapshot {} in the range is a{} {}, not an append; its removed rows are not in an \
                 append-only read. Use include_changes() to see added and removed files.",
                s.snapshot_id,
                if s.summary.operation == Operation::Overwrite {
                    "n"
                } else {
                    ""
                },
                s.summary.operation.as_str()
            )));
        }
        Ok(range)
    }

    /// The files added and removed in the range.
    pub async fn changes(&self) -> Result<IncrementalChanges> {
        let snapshots = self.snapshots()?;
        let io = self.table.file_io();
        let md = self.table.metadata();
        let mut added: Vec<FileScanTask> = Vec::new();
        let mut removed: Vec<DataFile> = Vec::new();
        for s in &snapshots {
            for m in load_manifest_list(io, s).await? {
                if m.added_snapshot_id != s.snapshot_id {
                    continue;
                }
                for e in load_manifest(io, md, &m).await? {
                    if e.snapshot_id != Some(s.snapshot_id)
                        || e.data_file.content != DataContentType::Data
                    {
                        continue;
                    }
                    match e.status {
                        ManifestStatus::Added => added.push(FileScanTask {
                            sequence_number: e.sequence_number.unwrap_or(0),
                            spec_id: m.partition_spec_id,
                            data_file: e.data_file,
                            deletes: vec![],
                        }),
                        ManifestStatus::Deleted => {
                            // Added and removed inside the range: it was never visible at
                            // either end.
                            if let Some(i) = added
                                .iter()
                                .position(|t| t.data_file.file_path == e.data_file.file_path)
                            {
                                added.remove(i);
                            } else {
                                removed.push(e.data_file);
                            }
                        }
                        ManifestStatus::Existing => {}
                    }
                }
            }
        }
        let mut seen = HashSet::new();
        added.retain(|t| seen.insert(t.data_file.file_path.clone()));
        Ok(IncrementalChanges {
            added,
            removed,
            snapshots,
        })
    }

    /// The rows of the files added in the range, in the table's current schema.
    pub async fn to_arrow(&self) -> Result<Vec<RecordBatch>> {
        let changes = self.changes().await?;
        let schema = Arc::new(self.table.metadata().current_schema().clone());
        let ids = schema.fields().iter().map(|f| f.id).collect();
        let reader = ArrowReader::new(self.table.file_io().clone(), schema, ids)?;
        let batches: Vec<Vec<RecordBatch>> = futures::stream::iter(changes.added.iter())
            .map(|t| reader.read(t))
            .buffered(4)
            .try_collect()
            .await?;
        Ok(batches
            .into_iter()
            .flatten()
            .filter(|b| b.num_rows() > 0)
            .collect())
    }
}
