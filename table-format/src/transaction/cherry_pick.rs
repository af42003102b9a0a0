//! Cherry-pick: apply an append snapshot from another branch (for example a write-audit-publish
//! staging branch) to a branch, usually main.
//!
//! When the picked snapshot's parent is the branch head, the branch simply moves to it (a
//! fast-forward). Otherwise its added data files are appended to the branch in a new snapshot
//! whose summary records `source-snapshot-id`; a snapshot already picked onto the branch is
//! refused, so publishing twice cannot duplicate rows.

use super::Producer;
use crate::catalog::Catalog;
use crate::scan::plan::{load_manifest, load_manifest_list};
use crate::spec::snapshot::MAIN_BRANCH;
use crate::spec::{
    DataFile, ManifestStatus, Operation, SnapshotReference, SnapshotRetention, TableRequirement,
    TableUpdate,
};
use crate::table::Table;
use crate::{Error, ErrorKind, Result};

/// Summary key naming the snapshot a cherry-picked snapshot came from.
pub const SOURCE_SNAPSHOT_ID: &str = "source-snapshot-id";

/// Apply one append snapshot to a branch.
#[derive(Debug)]
pub struct CherryPick {
    table: Table,
    snapshot_id: i64,
    branch: String,
}

impl Table {
    /// Cherry-pick append snapshot `snapshot_id` onto main.
    pub fn cherry_pick(&self, snapshot_id: i64) -> CherryPick {
        CherryPick {
            table: self.clone(),
            snapshot_id,
            branch: MAIN_BRANCH.to_string(),
        }
    }
}

impl CherryPick {
    /// Pick onto branch `name` instead of main.
    pub fn to_branch(mut self, name: impl Into<String>) -> Self {
        self.branch = name.into();
        self
    }

    /// Commit through `catalog`.
    pub async fn commit(self, catalog: &dyn Catalog) -> Result<Table> {
        let md = self.table.metadata();
        let picked = md.snapshot_by_id(self.snapshot_id).ok_or_else(|| {
            Error::new(
                ErrorKind::NotFound,
                format!("snapshot {} does not exist in this table", self.snapshot_id),
            )
        })?;
        if picked.summary.operation != Operation::Append {
            return Err(Error::invalid_update(format!(
                "snapshot {} is a {}, not an append; only appends can be cherry-picked",
                picked.snapshot_id,
                picked.summary.operation.as_str()
            )));
        }
        let head = md.refs().get(&self.branch).map(|r| r.snapshot_id);
        if let Some(h) = head {
            let already = md.ancestors_of(h).any(|s| {
                s.snapshot_id == picked.snapshot_id
                    || s.summary.get(SOURCE_SNAPSHOT_ID)
                        == Some(picked.snapshot_id.to_string().as_str())
            });
            if already {
                return Err(Error::invalid_update(format!(
                    "snapshot {} is already in branch '{}'",
                    picked.snapshot_id, self.branch
                )));
            }
        }
        if picked.parent_snapshot_id == head {
            // Fast-forward: the branch moves to the picked snapshot itself.
            let retention = md
                .refs()
                .get(&self.branch)
                .map(|r| r.retention)
                .unwrap_or_else(SnapshotRetention::branch);
            return catalog
                .commit_table(
                    self.table.ident(),
                    vec![
                        TableRequirement::AssertTableUuid {
                            uuid: md.table_uuid(),
                        },
                        TableRequirement::AssertRefSnapshotId {
                            r#ref: self.branch.clone(),
                            snapshot_id: head,
                        },
                    ],
                    vec![TableUpdate::SetSnapshotRef {
                        ref_name: self.branch.clone(),
                        reference: SnapshotReference {
                            snapshot_id: picked.snapshot_id,
                            retention,
                        },
                    }],
                )
                .await;
        }
        // The files the picked snapshot added.
        let io = self.table.file_io();
        let mut files: Vec<DataFile> = Vec::new();
        for m in load_manifest_list(io, picked).await? {
            if m.added_snapshot_id != picked.snapshot_id {
                continue;
            }
            for e in load_manifest(io, md, &m).await? {
                if e.status == ManifestStatus::Added && e.snapshot_id == Some(picked.snapshot_id) {
                    files.push(e.data_file);
                }
            }
        }
        let mut producer = Producer::new(self.table.clone(), super::Kind::Append);
        producer.added = files;
        producer.branch = self.branch.clone();
        producer.snapshot_properties.insert(
            SOURCE_SNAPSHOT_ID.to_string(),
            picked.snapshot_id.to_string(),
        );
        producer.commit(catalog).await
    }
}
