//! The commit language: [`TableRequirement`]s and [`TableUpdate`]s, exactly as the Iceberg REST
//! spec names them in JSON (`type` and `action` discriminators, kebab-case fields).
//!
//! - [`TableRequirement::check`]: one requirement against the current metadata (or against a
//!   table that does not exist yet).
//! - [`TableUpdate`]: one change; applied by [`super::builder::TableMetadataBuilder`].
//! - [`TableCommit`]: requirements plus updates, the body of a REST commit.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::partition::UnboundPartitionSpec;
use super::schema::Schema;
use super::snapshot::{Snapshot, SnapshotReference};
use super::sort::SortOrder;
use super::statistics::{EncryptedKey, PartitionStatisticsFile, StatisticsFile};
use super::table_metadata::TableMetadata;
use crate::{Error, Result};

/// A condition the current table must meet for a commit to apply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum TableRequirement {
    /// The table must not exist yet.
    AssertCreate,
    /// The table's UUID must match (compared case-insensitively).
    #[serde(rename_all = "kebab-case")]
    AssertTableUuid {
        /// The expected UUID.
        uuid: Uuid,
    },
    /// A ref must point at this snapshot; `None` means the ref must not exist.
    #[serde(rename_all = "kebab-case")]
    AssertRefSnapshotId {
        /// The ref name.
        r#ref: String,
        /// The expected snapshot, or null for "does not exist".
        snapshot_id: Option<i64>,
    },
    /// `last-column-id` must match.
    #[serde(rename_all = "kebab-case")]
    AssertLastAssignedFieldId {
        /// The expected value.
        last_assigned_field_id: i32,
    },
    /// `current-schema-id` must match.
    #[serde(rename_all = "kebab-case")]
    AssertCurrentSchemaId {
        /// The expected value.
        current_schema_id: i32,
    },
    /// `last-partition-id` must match.
    #[serde(rename_all = "kebab-case")]
    AssertLastAssignedPartitionId {
        /// The expected value.
        last_assigned_partition_id: i32,
    },
    /// `default-spec-id` must match.
    #[serde(rename_all = "kebab-case")]
    AssertDefaultSpecId {
        /// The expected value.
        default_spec_id: i32,
    },
    /// `default-sort-order-id` must match.
    #[serde(rename_all = "kebab-case")]
    AssertDefaultSortOrderId {
        /// The expected value.
        default_sort_order_id: i64,
    },
}

impl TableRequirement {
    /// The requirement's JSON `type` name.
    pub fn kind(&self) -> &'static str {
        match self {
            TableRequirement::AssertCreate => "assert-create",
            TableRequirement::AssertTableUuid { .. } => "assert-table-uuid",
            TableRequirement::AssertRefSnapshotId { .. } => "assert-ref-snapshot-id",
            TableRequirement::AssertLastAssignedFieldId { .. } => "assert-last-assigned-field-id",
            TableRequirement::AssertCurrentSchemaId { .. } => "assert-current-schema-id",
            TableRequirement::AssertLastAssignedPartitionId { .. } => {
                "assert-last-assigned-partition-id"
            }
            TableRequirement::AssertDefaultSpecId { .. } => "assert-default-spec-id",
            TableRequirement::AssertDefaultSortOrderId { .. } => "assert-default-sort-order-id",
        }
    }

    /// Check the requirement against the table's current metadata (`None` when the table does
    /// not exist). A failure is a [`crate::ErrorKind::CommitConflict`] naming the requirement
    /// and what the table holds now.
    pub fn check(&self, current: Option<&TableMetadata>) -> Result<()> {
        let Some(md) = current else {
            return match self {
                TableRequirement::AssertCreate => Ok(()),
                other => Err(Error::conflict(format!(
                    "requirement {} failed: the table does not exist",
                    other.kind()
                ))),
            };
        };
        let fail = |msg: String| {
            Err(Error::conflict(format!(
                "requirement {} failed: {msg}",
                self.kind()
            )))
        };
        match self {
            TableRequirement::AssertCreate => fail("the table already exists".to_string()),
            TableRequirement::AssertTableUuid { uuid } => {
                if *uuid == md.table_uuid() {
                    Ok(())
                } else {
                    fail(format!(
                        "expected table UUID {uuid}, but the table's UUID is {}; the table was dropped and re-created",
                        md.table_uuid()
                    ))
                }
            }
            TableRequirement::AssertRefSnapshotId { r#ref, snapshot_id } => {
                let found = md.refs().get(r#ref).map(|r| r.snapshot_id);
                match (snapshot_id, found) {
                    (None, None) => Ok(()),
                    (Some(e), Some(f)) if *e == f => Ok(()),
                    (None, Some(f)) => fail(format!(
                        "expected ref '{ref}' not to exist, but it points at snapshot {f}; another commit created it"
                    )),
                    (Some(e), None) => fail(format!(
                        "expected ref '{ref}' at snapshot {e}, but the ref does not exist"
                    )),
                    (Some(e), Some(f)) => fail(format!(
                        "expected ref '{ref}' at snapshot {e}, but it is at snapshot {f}; another commit changed it, refresh and retry"
                    )),
                }
            }
            TableRequirement::AssertLastAssignedFieldId {
                last_assigned_field_id: e,
            } => {
                if *e == md.last_column_id() {
                    Ok(())
                } else {
                    fail(format!(
                        "expected last assigned field id {e}, but it is {}; the schema changed concurrently",
                        md.last_column_id()
                    ))
                }
            }
            TableRequirement::AssertCurrentSchemaId {
                current_schema_id: e,
            } => {
                if *e == md.current_schema_id() {
                    Ok(())
                } else {
                    fail(format!(
                        "expected current schema id {e}, but it is {}",
                        md.current_schema_id()
                    ))
                }
            }
            TableRequirement::AssertLastAssignedPartitionId {
                last_assigned_partition_id: e,
            } => {
                if *e == md.last_partition_id() {
                    Ok(())
                } else {
                    fail(format!(
                        "expected last assigned partition id {e}, but it is {}",
                        md.last_partition_id()
                    ))
                }
            }
            TableRequirement::AssertDefaultSpecId { default_spec_id: e } => {
                if *e == md.default_spec_id() {
                    Ok(())
                } else {
                    fail(format!(
                        "expected default spec id {e}, but it is {}",
                        md.default_spec_id()
                    ))
                }
            }
            TableRequirement::AssertDefaultSortOrderId {
                default_sort_order_id: e,
            } => {
                if *e == md.default_sort_order_id() {
                    Ok(())
                } else {
                    fail(format!(
                        "expected default sort order id {e}, but it is {}",
                        md.default_sort_order_id()
                    ))
                }
            }
        }
    }
}

/// One change to table metadata.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "kebab-case")]
pub enum TableUpdate {
    /// Set the table UUID (only on create, or to the same value).
    #[serde(rename_all = "kebab-case")]
    AssignUuid {
        /// The UUID.
        uuid: Uuid,
    },
    /// Upgrade the format version (never downgrade).
    #[serde(rename_all = "kebab-case")]
    UpgradeFormatVersion {
        /// The new version.
        format_version: i64,
    },
    /// Add a schema (reused if an equal one exists).
    #[serde(rename_all = "kebab-case")]
    AddSchema {
        /// The schema; its id is reassigned.
        schema: Schema,
        /// Deprecated: the client's idea of the last column id.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        last_column_id: Option<i32>,
    },
    /// Make a schema current; -1 means the schema added last in this commit.
    #[serde(rename_all = "kebab-case")]
    SetCurrentSchema {
        /// The schema id.
        schema_id: i32,
    },
    /// Add a partition spec (reused if an equivalent one exists).
    #[serde(rename_all = "kebab-case")]
    AddSpec {
        /// The spec; missing field ids are assigned.
        spec: UnboundPartitionSpec,
    },
    /// Make a spec the default; -1 means the spec added last in this commit.
    #[serde(rename_all = "kebab-case")]
    SetDefaultSpec {
        /// The spec id.
        spec_id: i32,
    },
    /// Add a sort order (reused if an equivalent one exists).
    #[serde(rename_all = "kebab-case")]
    AddSortOrder {
        /// The order; its id is reassigned.
        sort_order: SortOrder,
    },
    /// Make a sort order the default; -1 means the order added last in this commit.
    #[serde(rename_all = "kebab-case")]
    SetDefaultSortOrder {
        /// The order id.
        sort_order_id: i64,
    },
    /// Add a snapshot.
    #[serde(rename_all = "kebab-case")]
    AddSnapshot {
        /// The snapshot.
        snapshot: Snapshot,
    },
    /// Create or move a branch or tag.
    #[serde(rename_all = "kebab-case")]
    SetSnapshotRef {
        /// The ref name.
        ref_name: String,
        /// The target and retention settings.
        #[serde(flatten)]
        reference: SnapshotReference,
    },
    /// Remove snapshots (and the refs and statistics that would dangle).
    #[serde(rename_all = "kebab-case")]
    RemoveSnapshots {
        /// The snapshot ids.
        snapshot_ids: Vec<i64>,
    },
    /// Remove a branch or tag.
    #[serde(rename_all = "kebab-case")]
    RemoveSnapshotRef {
        /// The ref name.
        ref_name: String,
    },
    /// Change the table location.
    #[serde(rename_all = "kebab-case")]
    SetLocation {
        /// The new location.
        location: String,
    },
    /// Set properties.
    #[serde(rename_all = "kebab-case")]
    SetProperties {
        /// Keys and values to set.
        #[serde(alias = "updated")]
        updates: BTreeMap<String, String>,
    },
    /// Remove properties.
    #[serde(rename_all = "kebab-case")]
    RemoveProperties {
        /// Keys to remove.
        #[serde(alias = "removed")]
        removals: Vec<String>,
    },
    /// Set the statistics file of a snapshot.
    #[serde(rename_all = "kebab-case")]
    SetStatistics {
        /// Deprecated: must equal `statistics.snapshot-id` when present.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        snapshot_id: Option<i64>,
        /// The statistics file.
        statistics: StatisticsFile,
    },
    /// Remove the statistics file of a snapshot.
    #[serde(rename_all = "kebab-case")]
    RemoveStatistics {
        /// The snapshot id.
        snapshot_id: i64,
    },
    /// Set the partition statistics file of a snapshot.
    #[serde(rename_all = "kebab-case")]
    SetPartitionStatistics {
        /// The partition statistics file.
        partition_statistics: PartitionStatisticsFile,
    },
    /// Remove the partition statistics file of a snapshot.
    #[serde(rename_all = "kebab-case")]
    RemovePartitionStatistics {
        /// The snapshot id.
        snapshot_id: i64,
    },
    /// Remove partition specs (never the default).
    #[serde(rename_all = "kebab-case")]
    RemovePartitionSpecs {
        /// The spec ids.
        spec_ids: Vec<i32>,
    },
    /// Remove schemas (never the current one).
    #[serde(rename_all = "kebab-case")]
    RemoveSchemas {
        /// The schema ids.
        schema_ids: Vec<i32>,
    },
    /// Add an encryption key (v3).
    #[serde(rename_all = "kebab-case")]
    AddEncryptionKey {
        /// The key.
        encryption_key: EncryptedKey,
    },
    /// Remove an encryption key (v3).
    #[serde(rename_all = "kebab-case")]
    RemoveEncryptionKey {
        /// The key id.
        key_id: String,
    },
}

impl TableUpdate {
    /// The update's JSON `action` name.
    pub fn action(&self) -> &'static str {
        match self {
            TableUpdate::AssignUuid { .. } => "assign-uuid",
            TableUpdate::UpgradeFormatVersion { .. } => "upgrade-format-version",
            TableUpdate::AddSchema { .. } => "add-schema",
            TableUpdate::SetCurrentSchema { .. } => "set-current-schema",
            TableUpdate::AddSpec { .. } => "add-spec",
            TableUpdate::SetDefaultSpec { .. } => "set-default-spec",
            TableUpdate::AddSortOrder { .. } => "add-sort-order",
            TableUpdate::SetDefaultSortOrder { .. } => "set-default-sort-order",
            TableUpdate::AddSnapshot { .. } => "add-snapshot",
            TableUpdate::SetSnapshotRef { .. } => "set-snapshot-ref",
            TableUpdate::RemoveSnapshots { .. } => "remove-snapshots",
            TableUpdate::RemoveSnapshotRef { .. } => "remove-snapshot-ref",
            TableUpdate::SetLocation { .. } => "set-location",
            TableUpdate::SetProperties { .. } => "set-properties",
            TableUpdate::RemoveProperties { .. } => "remove-properties",
            TableUpdate::SetStatistics { .. } => "set-statistics",
            TableUpdate::RemoveStatistics { .. } => "remove-statistics",
            TableUpdate::SetPartitionStatistics { .. } => "set-partition-statistics",
            TableUpdate::RemovePartitionStatistics { .. } => "remove-partition-statistics",
            TableUpdate::RemovePartitionSpecs { .. } => "remove-partition-specs",
            TableUpdate::RemoveSchemas { .. } => "remove-schemas",
            TableUpdate::AddEncryptionKey { .. } => "add-encryption-key",
            TableUpdate::RemoveEncryptionKey { .. } => "remove-encryption-key",
        }
    }
}

/// A commit: requirements that must hold, then updates applied in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct TableCommit {
    /// The requirements.
    #[serde(default)]
    pub requirements: Vec<TableRequirement>,
    /// The updates.
    #[serde(default)]
    pub updates: Vec<TableUpdate>,
}
