//! The validating metadata builder: the one place where table metadata changes.
//!
//! - [`TableMetadataBuilder`]: starts from existing metadata ([`TableMetadataBuilder::from_metadata`])
//!   or from nothing for a create ([`TableMetadataBuilder::for_create`]), applies
//!   [`TableUpdate`]s one by one with the spec's rules (id assignment and reuse, `-1` meaning
//!   "the one added last", high-water marks for column and partition ids, sequence-number and
//!   row-id checks, `main` moving the current snapshot, reserved properties never stored), and
//!   [`TableMetadataBuilder::build`] validates the result and records the metadata log.
//! - [`apply_commit`]: requirements, then updates, then build: what a catalog runs per commit.
//!
//! The rules follow the spec and the Java reference builder (`TableMetadata.Builder`), which
//! REST clients expect servers to mirror.

use std::collections::{BTreeMap, HashSet};
use std::sync::OnceLock;

use uuid::Uuid;

use super::partition::{
    PartitionField, PartitionSpec, SourceId, UNPARTITIONED_LAST_ASSIGNED_ID, UnboundPartitionSpec,
};
use super::properties::{FORMAT_VERSION, RESERVED_PROPERTIES, TableProperties};
use super::schema::Schema;
use super::snapshot::{
    MAIN_BRANCH, MetadataLogEntry, Snapshot, SnapshotLogEntry, SnapshotReference,
};
use super::sort::{SortOrder, UNSORTED_ORDER_ID};
use super::table_metadata::{FormatVersion, ONE_MINUTE_MS, TableMetadata};
use super::transform::Transform;
use super::update::{TableRequirement, TableUpdate};
use crate::{Error, Result};

/// The format version new tables get when the creator does not choose one.
pub const DEFAULT_FORMAT_VERSION: FormatVersion = FormatVersion::V2;

/// Applies [`TableUpdate`]s to table metadata, enforcing the spec's rules.
#[derive(Debug, Clone)]
pub struct TableMetadataBuilder {
    md: TableMetadata,
    base_location: Option<String>,
    base_last_updated_ms: Option<i64>,
    is_create: bool,
    changes: Vec<TableUpdate>,
    last_added_schema_id: Option<i32>,
    last_added_spec_id: Option<i32>,
    last_added_order_id: Option<i64>,
    added_snapshot_ids: HashSet<i64>,
    last_updated_ms: Option<i64>,
    now_ms: Option<i64>,
}

/// What [`TableMetadataBuilder::build`] returns: the new metadata and the changes that
/// actually took effect (no-op updates are dropped).
#[derive(Debug, Clone)]
pub struct BuildResult {
    /// The new metadata.
    pub metadata: TableMetadata,
    /// The updates that changed something, normalized (ids resolved).
    pub changes: Vec<TableUpdate>,
}

fn empty_metadata(format_version: FormatVersion) -> TableMetadata {
    TableMetadata {
        format_version,
        table_uuid: Uuid::nil(),
        location: String::new(),
        last_sequence_number: 0,
        last_updated_ms: 0,
        last_column_id: 0,
        schemas: vec![],
        current_schema_id: -1,
        partition_specs: vec![],
        default_spec_id: -1,
        last_partition_id: UNPARTITIONED_LAST_ASSIGNED_ID,
        properties: BTreeMap::new(),
        current_snapshot_id: None,
        snapshots: vec![],
        snapshot_log: vec![],
        metadata_log: vec![],
        sort_orders: vec![],
        default_sort_order_id: -1,
        refs: BTreeMap::new(),
        statistics: vec![],
        partition_statistics: vec![],
        next_row_id: (format_version >= FormatVersion::V3).then_some(0),
        encryption_keys: vec![],
        snapshot_index: OnceLock::new(),
    }
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl TableMetadataBuilder {
    /// Start from existing metadata read from `current_location` (recorded in the metadata
    /// log when the result is written to a new file).
    pub fn from_metadata(md: TableMetadata, current_location: Option<String>) -> Self {
        let base_last_updated_ms = Some(md.last_updated_ms);
        Self {
            md,
            base_location: current_location,
            base_last_updated_ms,
            is_create: false,
            changes: vec![],
            last_added_schema_id: None,
            last_added_spec_id: None,
            last_added_order_id: None,
            added_snapshot_ids: HashSet::new(),
            last_updated_ms: None,
            now_ms: None,
        }
    }

    /// Start a new table from nothing, as a commit with `assert-create` does. Updates must
    /// then add a schema (and may add a spec, a sort order, a location and a UUID).
    pub fn for_create() -> Self {
        let mut b = Self::from_metadata(empty_metadata(DEFAULT_FORMAT_VERSION), None);
        b.base_last_updated_ms = None;
        b.is_create = true;
        b
    }

    /// Create a table in one step: schema, partition spec, sort order, location and
    /// properties (`format-version` among them picks the version; it is not stored).
    pub fn new_table(
        schema: Schema,
        spec: UnboundPartitionSpec,
        sort_order: SortOrder,
        location: impl Into<String>,
        properties: BTreeMap<String, String>,
    ) -> Result<Self> {
        let mut b = Self::for_create();
        b.apply(TableUpdate::AssignUuid {
            uuid: Uuid::new_v4(),
        })?;
        if let Some(v) = properties.get(FORMAT_VERSION) {
            let v = v.trim().parse::<i64>().map_err(|_| {
                Error::invalid(format!(
                    "property 'format-version' must be a number, not '{v}'"
                ))
            })?;
            b.apply(TableUpdate::UpgradeFormatVersion { format_version: v })?;
        }
        b.apply(TableUpdate::AddSchema {
            schema,
            last_column_id: None,
        })?;
        b.apply(TableUpdate::SetCurrentSchema { schema_id: -1 })?;
        b.apply(TableUpdate::AddSpec { spec })?;
        b.apply(TableUpdate::SetDefaultSpec { spec_id: -1 })?;
        b.apply(TableUpdate::AddSortOrder { sort_order })?;
        b.apply(TableUpdate::SetDefaultSortOrder { sort_order_id: -1 })?;
        b.apply(TableUpdate::SetLocation {
            location: location.into(),
        })?;
        b.apply(TableUpdate::SetProperties {
            updates: properties,
        })?;
        Ok(b)
    }

    /// Use a fixed clock (ms since the epoch) instead of the system clock.
    pub fn with_now_ms(mut self, now_ms: i64) -> Self {
        self.now_ms = Some(now_ms);
        self
    }

    fn now(&self) -> i64 {
        self.now_ms.unwrap_or_else(now_ms)
    }

    /// The metadata as changed so far (not validated yet).
    pub fn current(&self) -> &TableMetadata {
        &self.md
    }

    /// Whether any update has changed the metadata.
    pub fn has_changes(&self) -> bool {
        !self.changes.is_empty()
    }

    /// Apply every update in order; stops at the first that fails.
    pub fn apply_all(&mut self, updates: impl IntoIterator<Item = TableUpdate>) -> Result<()> {
        for (i, u) in updates.into_iter().enumerate() {
            let action = u.action();
            self.apply(u)
                .map_err(|e| e.context(format!("update {i} ({action})")))?;
        }
        Ok(())
    }

    /// Apply one update with the spec's rules.
    pub fn apply(&mut self, update: TableUpdate) -> Result<()> {
        match update {
            TableUpdate::AssignUuid { uuid } => self.assign_uuid(uuid),
            TableUpdate::UpgradeFormatVersion { format_version } => {
                self.upgrade_format_version(format_version)
            }
            TableUpdate::AddSchema {
                schema,
                last_column_id,
            } => self.add_schema(schema, last_column_id),
            TableUpdate::SetCurrentSchema { schema_id } => self.set_current_schema(schema_id),
            TableUpdate::AddSpec { spec } => self.add_spec(spec),
            TableUpdate::SetDefaultSpec { spec_id } => self.set_default_spec(spec_id),
            TableUpdate::AddSortOrder { sort_order } => self.add_sort_order(sort_order),
            TableUpdate::SetDefaultSortOrder { sort_order_id } => {
                self.set_default_sort_order(sort_order_id)
            }
            TableUpdate::AddSnapshot { snapshot } => self.add_snapshot(snapshot),
            TableUpdate::SetSnapshotRef {
                ref_name,
                reference,
            } => self.set_ref(ref_name, reference),
            TableUpdate::RemoveSnapshots { snapshot_ids } => self.remove_snapshots(snapshot_ids),
            TableUpdate::RemoveSnapshotRef { ref_name } => self.remove_ref(&ref_name),
            TableUpdate::SetLocation { location } => self.set_location(location),
            TableUpdate::SetProperties { updates } => self.set_properties(updates),
            TableUpdate::RemoveProperties { removals } => self.remove_properties(removals),
            TableUpdate::SetStatistics {
                snapshot_id,
                statistics,
            } => {
                if let Some(id) = snapshot_id
                    && id != statistics.snapshot_id
                {
                    return Err(Error::invalid_update(format!(
                        "set-statistics: snapshot-id {id} differs from the statistics file's snapshot-id {}",
                        statistics.snapshot_id
                    )));
                }
                let sid = statistics.snapshot_id;
                self.md.statistics.retain(|s| s.snapshot_id != sid);
                self.md.statistics.push(statistics.clone());
                self.changes.push(TableUpdate::SetStatistics {
                    snapshot_id: None,
                    statistics,
                });
                Ok(())
            }
            TableUpdate::RemoveStatistics { snapshot_id } => {
                let before = self.md.statistics.len();
                self.md.statistics.retain(|s| s.snapshot_id != snapshot_id);
                if self.md.statistics.len() != before {
                    self.changes
                        .push(TableUpdate::RemoveStatistics { snapshot_id });
                }
                Ok(())
            }
            TableUpdate::SetPartitionStatistics {
                partition_statistics,
            } => {
                let sid = partition_statistics.snapshot_id;
                self.md
                    .partition_statistics
                    .retain(|s| s.snapshot_id != sid);
                self.md
                    .partition_statistics
                    .push(partition_statistics.clone());
                self.changes.push(TableUpdate::SetPartitionStatistics {
                    partition_statistics,
                });
                Ok(())
            }
            TableUpdate::RemovePartitionStatistics { snapshot_id } => {
                let before = self.md.partition_statistics.len();
                self.md
                    .partition_statistics
                    .retain(|s| s.snapshot_id != snapshot_id);
                if self.md.partition_statistics.len() != before {
                    self.changes
                        .push(TableUpdate::RemovePartitionStatistics { snapshot_id });
                }
                Ok(())
            }
            TableUpdate::RemovePartitionSpecs { spec_ids } => self.remove_specs(spec_ids),
            TableUpdate::RemoveSchemas { schema_ids } => self.remove_schemas(schema_ids),
            TableUpdate::AddEncryptionKey { encryption_key } => {
                if self.md.format_version < FormatVersion::V3 {
                    return Err(Error::invalid_update(
                        "add-encryption-key needs format version 3",
                    ));
                }
                if encryption_key.key_id.is_empty() {
                    return Err(Error::invalid_update("add-encryption-key: key-id is empty"));
                }
                if let Some(existing) = self
                    .md
                    .encryption_keys
                    .iter()
                    .find(|k| k.key_id == encryption_key.key_id)
                {
                    if *existing == encryption_key {
                        return Ok(());
                    }
                    return Err(Error::invalid_update(format!(
                        "add-encryption-key: a different key with id '{}' already exists",
                        encryption_key.key_id
                    )));
                }
                self.md.encryption_keys.push(encryption_key.clone());
                self.changes
                    .push(TableUpdate::AddEncryptionKey { encryption_key });
                Ok(())
            }
            TableUpdate::RemoveEncryptionKey { key_id } => {
                let before = self.md.encryption_keys.len();
                self.md.encryption_keys.retain(|k| k.key_id != key_id);
                if self.md.encryption_keys.len() != before {
                    self.changes
                        .push(TableUpdate::RemoveEncryptionKey { key_id });
                }
                Ok(())
            }
        }
    }

    fn assign_uuid(&mut self, uuid: Uuid) -> Result<()> {
        if uuid == self.md.table_uuid {
            return Ok(());
        }
        if !self.is_create {
            return Err(Error::invalid_update(format!(
                "assign-uuid: cannot change the UUID of an existing table from {} to {uuid}",
                self.md.table_uuid
            )));
        }
        if uuid.is_nil() {
            return Err(Error::invalid_update(
                "assign-uuid: the nil UUID is not a table UUID",
            ));
        }
        self.md.table_uuid = uuid;
        self.changes.push(TableUpdate::AssignUuid { uuid });
        Ok(())
    }

    fn upgrade_format_version(&mut self, version: i64) -> Result<()> {
        let v = FormatVersion::try_from(version).map_err(|e| {
            Error::invalid_update(format!("upgrade-format-version: {}", e.message()))
        })?;
        if v == self.md.format_version {
            return Ok(());
        }
        if v < self.md.format_version && !self.is_create {
            return Err(Error::invalid_update(format!(
                "upgrade-format-version: cannot downgrade from version {} to {v}",
                self.md.format_version
            )));
        }
        if v == FormatVersion::V1 && !self.is_create {
            return Err(Error::invalid_update(
                "upgrade-format-version: cannot move to version 1",
            ));
        }
        if v == FormatVersion::V1 {
            return Err(Error::unsupported(
                "Floe does not create format version 1 tables; use version 2 or 3",
            ));
        }
        self.md.format_version = v;
        if v >= FormatVersion::V3 && self.md.next_row_id.is_none() {
            self.md.next_row_id = Some(0);
        }
        if v < FormatVersion::V3 {
            self.md.next_row_id = None;
        }
        self.changes.push(TableUpdate::UpgradeFormatVersion {
            format_version: version,
        });
        Ok(())
    }

    fn add_schema(&mut self, schema: Schema, last_column_id: Option<i32>) -> Result<()> {
        if let Some(lc) = last_column_id
            && lc < self.md.last_column_id
        {
            return Err(Error::invalid_update(format!(
                "add-schema: last-column-id {lc} is below the table's last column id {}",
                self.md.last_column_id
            )));
        }
        for id in schema.field_ids() {
            if let Some(f) = schema.field_by_id(id)
                && let Some(p) = f.field_type.as_primitive()
                && p.min_format_version() > self.md.format_version.as_u8()
            {
                return Err(Error::invalid_update(format!(
                    "add-schema: column '{}' has type {p}, which needs format version {}; upgrade the table first",
                    schema.name_by_id(id).unwrap_or(&f.name),
                    p.min_format_version()
                )));
            }
            if let Some(f) = schema.field_by_id(id)
                && (f.initial_default.is_some() || f.write_default.is_some())
                && self.md.format_version < FormatVersion::V3
            {
                return Err(Error::invalid_update(format!(
                    "add-schema: column '{}' has a default value, which needs format version 3",
                    f.name
                )));
            }
        }
        schema
            .validate_identifier_fields()
            .map_err(|e| Error::invalid_update(format!("add-schema: {}", e.message())))?;
        let new_last = self
            .md
            .last_column_id
            .max(schema.highest_field_id())
            .max(last_column_id.unwrap_or(0));

        if let Some(existing) = self.md.schemas.iter().find(|s| s.same_structure(&schema)) {
            let id = existing.schema_id();
            self.last_added_schema_id = Some(id);
            if new_last != self.md.last_column_id {
                // Reused schema, but a raised last-column-id is still a change (as in Java).
                let existing = existing.clone();
                self.md.last_column_id = new_last;
                self.changes.push(TableUpdate::AddSchema {
                    schema: existing,
                    last_column_id: Some(new_last),
                });
            }
            return Ok(());
        }
        let new_id = if self.md.schemas.is_empty() {
            schema.schema_id().max(0)
        } else {
            self.md
                .schemas
                .iter()
                .map(|s| s.schema_id())
                .max()
                .unwrap_or(-1)
                + 1
        };
        let schema = schema.with_schema_id(new_id);
        self.md.schemas.push(schema.clone());
        self.md.last_column_id = new_last;
        self.last_added_schema_id = Some(new_id);
        self.changes.push(TableUpdate::AddSchema {
            schema,
            last_column_id: None,
        });
        Ok(())
    }

    fn set_current_schema(&mut self, schema_id: i32) -> Result<()> {
        let id = if schema_id == -1 {
            self.last_added_schema_id.ok_or_else(|| {
                Error::invalid_update(
                    "set-current-schema: -1 means the schema added last, but this commit added none",
                )
            })?
        } else {
            schema_id
        };
        if id == self.md.current_schema_id {
            return Ok(());
        }
        let schema = self.md.schema_by_id(id).ok_or_else(|| {
            Error::invalid_update(format!("set-current-schema: schema {id} does not exist"))
        })?;
        // The default spec and sort order must still resolve against the new schema.
        if let Some(spec) = self.md.partition_spec_by_id(self.md.default_spec_id) {
            spec.check_compatible(schema).map_err(|e| {
                Error::invalid_update(format!(
                    "set-current-schema: schema {id} breaks the default partition spec: {}",
                    e.message()
                ))
            })?;
        }
        if let Some(order) = self.md.sort_order_by_id(self.md.default_sort_order_id) {
            order.check_compatible(schema).map_err(|e| {
                Error::invalid_update(format!(
                    "set-current-schema: schema {id} breaks the default sort order: {}",
                    e.message()
                ))
            })?;
        }
        self.md.current_schema_id = id;
        let recorded = if Some(id) == self.last_added_schema_id && schema_id == -1 {
            -1
        } else {
            id
        };
        self.changes.push(TableUpdate::SetCurrentSchema {
            schema_id: recorded,
        });
        Ok(())
    }

    fn bind_spec(&self, spec: &UnboundPartitionSpec) -> Result<Vec<PartitionField>> {
        let mut next_id = self.md.last_partition_id;
        let mut fields = Vec::with_capacity(spec.fields.len());
        let existing: Vec<&PartitionField> = self
            .md
            .partition_specs
            .iter()
            .flat_map(|s| s.fields())
            .collect();
        for f in &spec.fields {
            let field_id = match f.field_id {
                Some(id) => {
                    if id < super::partition::PARTITION_DATA_ID_START
                        && self.md.format_version >= FormatVersion::V2
                    {
                        return Err(Error::invalid_update(format!(
                            "add-spec: partition field '{}' has id {id}; partition field ids start at 1000",
                            f.name
                        )));
                    }
                    if let Some(other) = existing.iter().find(|e| {
                        e.field_id == id
                            && (e.source_id != f.source_id
                                || (e.transform != f.transform && e.transform != Transform::Void))
                    }) && f.transform != Transform::Void
                    {
                        return Err(Error::invalid_update(format!(
                            "add-spec: partition field id {id} already belongs to '{}' ({} of column {}), not '{}'",
                            other.name, other.transform, *other.source_id, f.name
                        )));
                    }
                    id
                }
                None => {
                    // Equivalent fields keep their id (v2+), as the spec requires.
                    let reuse = (self.md.format_version >= FormatVersion::V2)
                        .then(|| {
                            existing
                                .iter()
                                .find(|e| e.source_id == f.source_id && e.transform == f.transform)
                                .map(|e| e.field_id)
                        })
                        .flatten();
                    match reuse {
                        Some(id) => id,
                        None => {
                            next_id += 1;
                            next_id
                        }
                    }
                }
            };
            fields.push(PartitionField {
                source_id: SourceId::from(*f.source_id),
                field_id,
                name: f.name.clone(),
                transform: f.transform.clone(),
            });
        }
        Ok(fields)
    }

    /// The schema new specs and sort orders bind to: the current one, or, while a new
    /// table has none yet, the last added one (DuckDB sends `set-current-schema` last).
    fn binding_schema(&self) -> Option<&Schema> {
        self.md.schema_by_id(self.md.current_schema_id).or_else(|| {
            self.last_added_schema_id
                .and_then(|id| self.md.schema_by_id(id))
        })
    }

    fn add_spec(&mut self, spec: UnboundPartitionSpec) -> Result<()> {
        let fields = self.bind_spec(&spec)?;
        let candidate = PartitionSpec::new(0, fields);
        let schema = self.binding_schema().ok_or_else(|| {
            Error::invalid_update("add-spec: the table has no schema yet; add one first")
        })?;
        candidate
            .check_compatible(schema)
            .map_err(|e| Error::invalid_update(format!("add-spec: {}", e.message())))?;
        let highest = candidate.highest_field_id();
        if let Some(existing) = self
            .md
            .partition_specs
            .iter()
            .find(|s| s.same_fields(&candidate))
        {
            self.last_added_spec_id = Some(existing.spec_id());
            return Ok(());
        }
        let new_id = self
            .md
            .partition_specs
            .iter()
            .map(|s| s.spec_id())
            .max()
            .map(|m| m + 1)
            .unwrap_or(0);
        let spec = candidate.with_spec_id(new_id);
        self.md.last_partition_id = self.md.last_partition_id.max(highest);
        self.md.partition_specs.push(spec.clone());
        self.last_added_spec_id = Some(new_id);
        self.changes.push(TableUpdate::AddSpec {
            spec: UnboundPartitionSpec::from(&spec),
        });
        Ok(())
    }

    fn set_default_spec(&mut self, spec_id: i32) -> Result<()> {
        let id = if spec_id == -1 {
            self.last_added_spec_id.ok_or_else(|| {
                Error::invalid_update(
                    "set-default-spec: -1 means the spec added last, but this commit added none",
                )
            })?
        } else {
            spec_id
        };
        if id == self.md.default_spec_id {
            return Ok(());
        }
        if self.md.partition_spec_by_id(id).is_none() {
            return Err(Error::invalid_update(format!(
                "set-default-spec: partition spec {id} does not exist"
            )));
        }
        self.md.default_spec_id = id;
        self.changes
            .push(TableUpdate::SetDefaultSpec { spec_id: id });
        Ok(())
    }

    fn add_sort_order(&mut self, order: SortOrder) -> Result<()> {
        if order.is_unsorted() {
            if self.md.sort_order_by_id(UNSORTED_ORDER_ID).is_none() {
                self.md.sort_orders.push(SortOrder::unsorted());
                self.changes.push(TableUpdate::AddSortOrder {
                    sort_order: SortOrder::unsorted(),
                });
            }
            self.last_added_order_id = Some(UNSORTED_ORDER_ID);
            return Ok(());
        }
        let schema = self.binding_schema().ok_or_else(|| {
            Error::invalid_update("add-sort-order: the table has no schema yet; add one first")
        })?;
        order
            .check_compatible(schema)
            .map_err(|e| Error::invalid_update(format!("add-sort-order: {}", e.message())))?;
        if let Some(existing) = self
            .md
            .sort_orders
            .iter()
            .find(|o| o.fields() == order.fields())
        {
            self.last_added_order_id = Some(existing.order_id());
            return Ok(());
        }
        let new_id = self
            .md
            .sort_orders
            .iter()
            .map(|o| o.order_id())
            .max()
            .unwrap_or(0)
            .max(UNSORTED_ORDER_ID)
            + 1;
        let order = order.with_order_id(new_id);
        self.md.sort_orders.push(order.clone());
        self.last_added_order_id = Some(new_id);
        self.changes
            .push(TableUpdate::AddSortOrder { sort_order: order });
        Ok(())
    }

    fn set_default_sort_order(&mut self, order_id: i64) -> Result<()> {
        let id = if order_id == -1 {
            self.last_added_order_id.ok_or_else(|| {
                Error::invalid_update(
                    "set-default-sort-order: -1 means the order added last, but this commit added none",
                )
            })?
        } else {
            order_id
        };
        if id == self.md.default_sort_order_id {
            return Ok(());
        }
        if self.md.sort_order_by_id(id).is_none() {
            return Err(Error::invalid_update(format!(
                "set-default-sort-order: sort order {id} does not exist"
            )));
        }
        self.md.default_sort_order_id = id;
        self.changes
            .push(TableUpdate::SetDefaultSortOrder { sort_order_id: id });
        Ok(())
    }

    fn add_snapshot(&mut self, mut snapshot: Snapshot) -> Result<()> {
        let id = snapshot.snapshot_id;
        if self.md.format_version == FormatVersion::V1 {
            // v1 has no sequence numbers; clients may still send one (pyiceberg does).
            snapshot.sequence_number = 0;
        }
        if self.md.schemas.is_empty() {
            return Err(Error::invalid_update(
                "add-snapshot: the table has no schema yet; add one first",
            ));
        }
        if self.md.snapshot_by_id(id).is_some() {
            return Err(Error::invalid_update(format!(
                "add-snapshot: snapshot {id} already exists"
            )));
        }
        let v = self.md.format_version;
        if v >= FormatVersion::V2 {
            if snapshot.manifest_list.is_empty() {
                return Err(Error::invalid_update(format!(
                    "add-snapshot: snapshot {id} has no manifest-list"
                )));
            }
            if snapshot.sequence_number <= self.md.last_sequence_number
                && snapshot.parent_snapshot_id.is_some()
            {
                return Err(Error::conflict(format!(
                    "add-snapshot: snapshot {id} has sequence number {}, not above the table's last sequence number {}; another commit landed first, retry",
                    snapshot.sequence_number, self.md.last_sequence_number
                )));
            }
        }
        if let Some(parent) = snapshot.parent_snapshot_id
            && parent == id
        {
            return Err(Error::invalid_update(format!(
                "add-snapshot: snapshot {id} cannot be its own parent"
            )));
        }
        if let Some(sid) = snapshot.schema_id
            && self.md.schema_by_id(sid).is_none()
        {
            return Err(Error::invalid_update(format!(
                "add-snapshot: snapshot {id} refers to schema {sid}, which does not exist"
            )));
        }
        let base_updated = self.base_last_updated_ms.unwrap_or(i64::MIN);
        if base_updated != i64::MIN && snapshot.timestamp_ms < base_updated - ONE_MINUTE_MS {
            return Err(Error::invalid_update(format!(
                "add-snapshot: snapshot {id} has timestamp {} older than the table's last update {base_updated}",
                snapshot.timestamp_ms
            )));
        }
        if v >= FormatVersion::V3 {
            let next = self.md.next_row_id.unwrap_or(0);
            let first = snapshot.first_row_id.ok_or_else(|| {
                Error::invalid_update(format!(
                    "add-snapshot: snapshot {id} of a v3 table needs first-row-id"
                ))
            })?;
            let added = snapshot.added_rows.ok_or_else(|| {
                Error::invalid_update(format!(
                    "add-snapshot: snapshot {id} of a v3 table needs added-rows"
                ))
            })?;
            if first < next {
                return Err(Error::conflict(format!(
                    "add-snapshot: snapshot {id} has first-row-id {first}, below the table's next-row-id {next}; another commit assigned those row ids, retry"
                )));
            }
            if added < 0 {
                return Err(Error::invalid_update(format!(
                    "add-snapshot: snapshot {id} has negative added-rows {added}"
                )));
            }
            self.md.next_row_id = Some(next + added);
        }
        if v >= FormatVersion::V2 {
            self.md.last_sequence_number = snapshot.sequence_number;
        }
        self.last_updated_ms = Some(snapshot.timestamp_ms);
        self.added_snapshot_ids.insert(id);
        self.md.snapshots.push(snapshot.clone());
        self.md.snapshot_index = OnceLock::new();
        self.changes.push(TableUpdate::AddSnapshot { snapshot });
        Ok(())
    }

    fn set_ref(&mut self, name: String, reference: SnapshotReference) -> Result<()> {
        if name.is_empty() {
            return Err(Error::invalid_update(
                "set-snapshot-ref: the ref name is empty",
            ));
        }
        if name == MAIN_BRANCH && !reference.is_branch() {
            return Err(Error::invalid_update(
                "set-snapshot-ref: 'main' must be a branch, not a tag",
            ));
        }
        if self.md.refs.get(&name) == Some(&reference) {
            return Ok(());
        }
        let Some(snapshot) = self.md.snapshot_by_id(reference.snapshot_id) else {
            return Err(Error::invalid_update(format!(
                "set-snapshot-ref: cannot point '{name}' at snapshot {}, which does not exist",
                reference.snapshot_id
            )));
        };
        let snapshot_ts = snapshot.timestamp_ms;
        let id = reference.snapshot_id;
        if self.added_snapshot_ids.contains(&id) {
            self.last_updated_ms = Some(snapshot_ts);
        }
        if name == MAIN_BRANCH {
            let ts = match self.last_updated_ms {
                Some(t) if self.added_snapshot_ids.contains(&id) => t,
                _ => {
                    let t = self.now();
                    self.last_updated_ms = Some(t);
                    t
                }
            };
            self.md.current_snapshot_id = Some(id);
            self.md.snapshot_log.push(SnapshotLogEntry {
                snapshot_id: id,
                timestamp_ms: ts,
            });
        }
        self.md.refs.insert(name.clone(), reference.clone());
        self.changes.push(TableUpdate::SetSnapshotRef {
            ref_name: name,
            reference,
        });
        Ok(())
    }

    fn remove_ref(&mut self, name: &str) -> Result<()> {
        if self.md.refs.remove(name).is_none() {
            return Ok(());
        }
        if name == MAIN_BRANCH {
            self.md.current_snapshot_id = None;
        }
        self.changes.push(TableUpdate::RemoveSnapshotRef {
            ref_name: name.to_string(),
        });
        Ok(())
    }

    fn remove_snapshots(&mut self, ids: Vec<i64>) -> Result<()> {
        let remove: HashSet<i64> = ids
            .iter()
            .copied()
            .filter(|id| self.md.snapshot_by_id(*id).is_some())
            .collect();
        if remove.is_empty() {
            return Ok(());
        }
        self.md
            .snapshots
            .retain(|s| !remove.contains(&s.snapshot_id));
        self.md.snapshot_index = OnceLock::new();
        // Refs that would dangle go too; removing main clears the current snapshot.
        let dangling: Vec<String> = self
            .md
            .refs
            .iter()
            .filter(|(_, r)| remove.contains(&r.snapshot_id))
            .map(|(n, _)| n.clone())
            .collect();
        for name in dangling {
            self.remove_ref(&name)?;
        }
        self.md
            .statistics
            .retain(|s| !remove.contains(&s.snapshot_id));
        self.md
            .partition_statistics
            .retain(|s| !remove.contains(&s.snapshot_id));
        let mut removed: Vec<i64> = ids.into_iter().filter(|i| remove.contains(i)).collect();
        removed.dedup();
        self.changes.push(TableUpdate::RemoveSnapshots {
            snapshot_ids: removed,
        });
        Ok(())
    }

    fn set_location(&mut self, location: String) -> Result<()> {
        let location = location.trim_end_matches('/').to_string();
        if location.is_empty() {
            return Err(Error::invalid_update("set-location: the location is empty"));
        }
        if location == self.md.location {
            return Ok(());
        }
        self.md.location = location.clone();
        self.changes.push(TableUpdate::SetLocation { location });
        Ok(())
    }

    fn set_properties(&mut self, updates: BTreeMap<String, String>) -> Result<()> {
        let mut applied = BTreeMap::new();
        for (k, v) in updates {
            if k.is_empty() {
                return Err(Error::invalid_update(
                    "set-properties: a property key is empty",
                ));
            }
            if k == FORMAT_VERSION {
                let version = v.trim().parse::<i64>().map_err(|_| {
                    Error::invalid_update(format!(
                        "set-properties: 'format-version' must be a number, not '{v}'"
                    ))
                })?;
                self.upgrade_format_version(version)?;
                continue;
            }
            if RESERVED_PROPERTIES.contains(&k.as_str()) {
                // Reserved keys describe metadata itself; they are never stored.
                continue;
            }
            if self.md.properties.get(&k) != Some(&v) {
                applied.insert(k, v);
            }
        }
        if applied.is_empty() {
            return Ok(());
        }
        let mut next = self.md.properties.clone();
        next.extend(applied.clone());
        TableProperties::try_from_map(&next)
            .map_err(|e| Error::invalid_update(format!("set-properties: {}", e.message())))?;
        self.md.properties = next;
        self.changes
            .push(TableUpdate::SetProperties { updates: applied });
        Ok(())
    }

    fn remove_properties(&mut self, removals: Vec<String>) -> Result<()> {
        let removed: Vec<String> = removals
            .into_iter()
            .filter(|k| self.md.properties.remove(k).is_some())
            .collect();
        if !removed.is_empty() {
            self.changes
                .push(TableUpdate::RemoveProperties { removals: removed });
        }
        Ok(())
    }

    fn remove_specs(&mut self, ids: Vec<i32>) -> Result<()> {
        if ids.contains(&self.md.default_spec_id) {
            return Err(Error::invalid_update(format!(
                "remove-partition-specs: spec {} is the default spec and cannot be removed",
                self.md.default_spec_id
            )));
        }
        let before = self.md.partition_specs.len();
        self.md
            .partition_specs
            .retain(|s| !ids.contains(&s.spec_id()));
        if self.md.partition_specs.len() != before {
            self.changes
                .push(TableUpdate::RemovePartitionSpecs { spec_ids: ids });
        }
        Ok(())
    }

    fn remove_schemas(&mut self, ids: Vec<i32>) -> Result<()> {
        if ids.contains(&self.md.current_schema_id) {
            return Err(Error::invalid_update(format!(
                "remove-schemas: schema {} is the current schema and cannot be removed",
                self.md.current_schema_id
            )));
        }
        let before = self.md.schemas.len();
        self.md.schemas.retain(|s| !ids.contains(&s.schema_id()));
        if self.md.schemas.len() != before {
            self.changes
                .push(TableUpdate::RemoveSchemas { schema_ids: ids });
        }
        Ok(())
    }

    /// Finish: fill what a create left out (unpartitioned spec, unsorted order, a UUID),
    /// trim the snapshot log after removed snapshots, record the previous metadata file in the
    /// metadata log (trimmed to `write.metadata.previous-versions-max`), set
    /// `last-updated-ms`, and validate the whole result.
    pub fn build(mut self) -> Result<BuildResult> {
        if self.is_create {
            if self.md.schemas.is_empty() {
                return Err(Error::invalid_update(
                    "a new table needs a schema (add-schema)",
                ));
            }
            if self.md.current_schema_id == -1 {
                let id = self.md.schemas[self.md.schemas.len() - 1].schema_id();
                self.md.current_schema_id = id;
            }
            if self.md.partition_specs.is_empty() {
                self.md.partition_specs.push(PartitionSpec::unpartitioned());
            }
            if self.md.default_spec_id == -1 {
                self.md.default_spec_id = self.md.partition_specs[0].spec_id();
            }
            if self.md.sort_orders.is_empty() {
                self.md.sort_orders.push(SortOrder::unsorted());
            }
            if self.md.default_sort_order_id == -1 {
                self.md.default_sort_order_id = self.md.sort_orders[0].order_id();
            }
            if self.md.table_uuid.is_nil() {
                self.md.table_uuid = Uuid::new_v4();
            }
            if self.md.location.is_empty() {
                return Err(Error::invalid_update(
                    "a new table needs a location (set-location)",
                ));
            }
        }
        if !self.changes.is_empty() || self.is_create {
            // Snapshot-log entries before a removed snapshot are no longer a valid history.
            let valid: HashSet<i64> = self.md.snapshots.iter().map(|s| s.snapshot_id).collect();
            if self
                .md
                .snapshot_log
                .iter()
                .any(|e| !valid.contains(&e.snapshot_id))
            {
                let mut kept = Vec::new();
                for e in &self.md.snapshot_log {
                    if valid.contains(&e.snapshot_id) {
                        kept.push(*e);
                    } else {
                        kept.clear();
                    }
                }
                self.md.snapshot_log = kept;
            }
            if let (Some(loc), Some(ts)) = (&self.base_location, self.base_last_updated_ms) {
                self.md.metadata_log.push(MetadataLogEntry {
                    metadata_file: loc.clone(),
                    timestamp_ms: ts,
                });
            }
            let max_prev = TableProperties::try_from_map(&self.md.properties)
                .map(|p| p.write_metadata_previous_versions_max)
                .unwrap_or(100);
            if self.md.metadata_log.len() > max_prev {
                let drop = self.md.metadata_log.len() - max_prev;
                self.md.metadata_log.drain(..drop);
            }
            let ts = match self.last_updated_ms {
                Some(t) => t,
                None => self.now(),
            };
            self.md.last_updated_ms = ts;
        }
        self.md.snapshot_index = OnceLock::new();
        self.md.validate()?;
        Ok(BuildResult {
            metadata: self.md,
            changes: self.changes,
        })
    }
}

/// What a catalog does with one commit: check every requirement against the current
/// metadata (`None` when the table does not exist), then apply the updates and build.
///
/// `assert-create` must be the only requirement of a create. Returns `Ok(None)` when the
/// updates changed nothing (no new metadata file is needed).
pub fn apply_commit(
    current: Option<(&TableMetadata, &str)>,
    requirements: &[TableRequirement],
    updates: Vec<TableUpdate>,
) -> Result<Option<BuildResult>> {
    commit_inner(current, requirements, updates, None)
}

/// [`apply_commit`] with a fixed clock (ms since the epoch), for deterministic replays.
pub fn apply_commit_with_clock(
    current: Option<(&TableMetadata, &str)>,
    requirements: &[TableRequirement],
    updates: Vec<TableUpdate>,
    now_ms: i64,
) -> Result<Option<BuildResult>> {
    commit_inner(current, requirements, updates, Some(now_ms))
}

fn commit_inner(
    current: Option<(&TableMetadata, &str)>,
    requirements: &[TableRequirement],
    updates: Vec<TableUpdate>,
    now_ms: Option<i64>,
) -> Result<Option<BuildResult>> {
    let creating = requirements.contains(&TableRequirement::AssertCreate);
    if creating && requirements.len() > 1 {
        return Err(Error::invalid_update(
            "assert-create must be the only requirement of a commit that creates a table",
        ));
    }
    for r in requirements {
        r.check(current.map(|(md, _)| md))?;
    }
    let mut builder = match (current, creating) {
        (_, true) => TableMetadataBuilder::for_create(),
        (Some((md, loc)), false) => {
            TableMetadataBuilder::from_metadata(md.clone(), Some(loc.to_string()))
        }
        (None, false) => {
            return Err(Error::invalid_update(
                "the table does not exist; a commit that creates it must carry assert-create",
            ));
        }
    };
    builder.now_ms = now_ms;
    builder.apply_all(updates)?;
    if !builder.has_changes() && !creating {
        return Ok(None);
    }
    builder.build().map(Some)
}
