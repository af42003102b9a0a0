//! Table metadata (spec "Table Metadata", Appendix C), format versions 1, 2 and 3.
//!
//! - [`FormatVersion`]: 1 (read), 2 and 3 (read and write).
//! - [`TableMetadata`]: the immutable in-memory model; read it with [`TableMetadata::from_json`]
//!   (or `from_slice`), write it with [`TableMetadata::to_json`]. Changes go through
//!   [`super::builder::TableMetadataBuilder`].
//! - The wire form lives in the private `wire` module: one struct that accepts every version,
//!   converted with validation into the model, so a missing required field or a dangling
//!   reference is refused with a message naming the field.

use std::collections::BTreeMap;

use rustc_hash::FxHashMap;
use std::sync::OnceLock;

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use uuid::Uuid;

use super::partition::{PartitionSpec, UNPARTITIONED_LAST_ASSIGNED_ID};
use super::properties::TableProperties;
use super::schema::Schema;
use super::snapshot::{
    MAIN_BRANCH, MetadataLogEntry, Snapshot, SnapshotLogEntry, SnapshotReference,
};
use super::sort::SortOrder;
use super::statistics::{EncryptedKey, PartitionStatisticsFile, StatisticsFile};
use crate::{Error, Result};

/// How far out of order log entries may be (spec readers tolerate one minute of clock skew).
pub const ONE_MINUTE_MS: i64 = 60_000;

/// The table format version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FormatVersion {
    /// v1: analytic tables (read only in Floe).
    V1 = 1,
    /// v2: row-level deletes; Floe's default.
    V2 = 2,
    /// v3: row lineage, nanosecond timestamps, deletion vectors.
    V3 = 3,
}

impl FormatVersion {
    /// The version as a number.
    pub fn as_u8(self) -> u8 {
        self as u8
    }
}

impl TryFrom<i64> for FormatVersion {
    type Error = Error;
    fn try_from(v: i64) -> Result<Self> {
        match v {
            1 => Ok(FormatVersion::V1),
            2 => Ok(FormatVersion::V2),
            3 => Ok(FormatVersion::V3),
            other => Err(Error::unsupported(format!(
                "format-version {other} is not supported (Floe reads 1, 2 and 3)"
            ))),
        }
    }
}

impl std::fmt::Display for FormatVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.as_u8())
    }
}

/// Iceberg table metadata: everything a metadata JSON file holds.
#[derive(Debug, Clone)]
pub struct TableMetadata {
    pub(crate) format_version: FormatVersion,
    pub(crate) table_uuid: Uuid,
    pub(crate) location: String,
    pub(crate) last_sequence_number: i64,
    pub(crate) last_updated_ms: i64,
    pub(crate) last_column_id: i32,
    pub(crate) schemas: Vec<Schema>,
    pub(crate) current_schema_id: i32,
    pub(crate) partition_specs: Vec<PartitionSpec>,
    pub(crate) default_spec_id: i32,
    pub(crate) last_partition_id: i32,
    pub(crate) properties: BTreeMap<String, String>,
    pub(crate) current_snapshot_id: Option<i64>,
    pub(crate) snapshots: Vec<Snapshot>,
    pub(crate) snapshot_log: Vec<SnapshotLogEntry>,
    pub(crate) metadata_log: Vec<MetadataLogEntry>,
    pub(crate) sort_orders: Vec<SortOrder>,
    pub(crate) default_sort_order_id: i64,
    pub(crate) refs: BTreeMap<String, SnapshotReference>,
    pub(crate) statistics: Vec<StatisticsFile>,
    pub(crate) partition_statistics: Vec<PartitionStatisticsFile>,
    pub(crate) next_row_id: Option<i64>,
    pub(crate) encryption_keys: Vec<EncryptedKey>,
    pub(crate) snapshot_index: OnceLock<FxHashMap<i64, usize>>,
}

impl PartialEq for TableMetadata {
    fn eq(&self, o: &Self) -> bool {
        self.format_version == o.format_version
            && self.table_uuid == o.table_uuid
            && self.location == o.location
            && self.last_sequence_number == o.last_sequence_number
            && self.last_updated_ms == o.last_updated_ms
            && self.last_column_id == o.last_column_id
            && self.schemas == o.schemas
            && self.current_schema_id == o.current_schema_id
            && self.partition_specs == o.partition_specs
            && self.default_spec_id == o.default_spec_id
            && self.last_partition_id == o.last_partition_id
            && self.properties == o.properties
            && self.current_snapshot_id == o.current_snapshot_id
            && self.snapshots == o.snapshots
            && self.snapshot_log == o.snapshot_log
            && self.metadata_log == o.metadata_log
            && self.sort_orders == o.sort_orders
            && self.default_sort_order_id == o.default_sort_order_id
            && self.refs == o.refs
            && self.statistics == o.statistics
            && self.partition_statistics == o.partition_statistics
            && self.next_row_id == o.next_row_id
            && self.encryption_keys == o.encryption_keys
    }
}

impl TableMetadata {
    /// Parse a metadata JSON document, validating it; errors name the offending field.
    pub fn from_json(json: &str) -> Result<Self> {
        Self::from_slice(json.as_bytes())
    }

    /// Parse metadata JSON from bytes (see [`TableMetadata::from_json`]).
    pub fn from_slice(bytes: &[u8]) -> Result<Self> {
        // The fast path parses without tracking paths; only a failure is parsed again with
        // path tracking, so that the error can name where in the document it happened.
        // One up-front UTF-8 check is much faster than serde_json's per-string checks.
        let text = std::str::from_utf8(bytes)
            .map_err(|e| Error::invalid(format!("table metadata is not valid UTF-8: {e}")))?;
        let wire: wire::TableMetadataWire = match sonic_rs::from_str(text) {
            Ok(w) => w,
            Err(plain) => {
                let mut de = serde_json::Deserializer::from_slice(bytes);
                let tracked: std::result::Result<wire::TableMetadataWire, _> =
                    serde_path_to_error::deserialize(&mut de);
                return Err(match tracked {
                    Err(e) => {
                        let path = e.path().to_string();
                        let inner = e.into_inner();
                        Error::invalid(format!("invalid table metadata at '{path}': {inner}"))
                    }
                    Ok(_) => Error::invalid(format!("invalid table metadata: {plain}")),
                });
            }
        };
        let md = wire.into_metadata()?;
        md.validate()?;
        Ok(md)
    }

    /// Serialize to the spec's JSON form for this table's format version.
    pub fn to_json(&self) -> Result<String> {
        sonic_rs::to_string(self)
            .map_err(|e| Error::invalid(format!("cannot serialize table metadata: {e}")))
    }

    /// Serialize to JSON bytes.
    pub fn to_vec(&self) -> Result<Vec<u8>> {
        sonic_rs::to_vec(self)
            .map_err(|e| Error::invalid(format!("cannot serialize table metadata: {e}")))
    }

    /// The format version.
    pub fn format_version(&self) -> FormatVersion {
        self.format_version
    }
    /// The table's UUID.
    pub fn table_uuid(&self) -> Uuid {
        self.table_uuid
    }
    /// The table's base location.
    pub fn location(&self) -> &str {
        &self.location
    }
    /// The highest sequence number assigned so far.
    pub fn last_sequence_number(&self) -> i64 {
        self.last_sequence_number
    }
    /// The next sequence number a snapshot would get (v1 tables always use 0).
    pub fn next_sequence_number(&self) -> i64 {
        if self.format_version == FormatVersion::V1 {
            0
        } else {
            self.last_sequence_number + 1
        }
    }
    /// When the metadata was last updated, ms since the epoch.
    pub fn last_updated_ms(&self) -> i64 {
        self.last_updated_ms
    }
    /// The highest column id assigned so far.
    pub fn last_column_id(&self) -> i32 {
        self.last_column_id
    }
    /// Every schema, in the order they were added.
    pub fn schemas(&self) -> &[Schema] {
        &self.schemas
    }
    /// The schema with id `id`.
    pub fn schema_by_id(&self, id: i32) -> Option<&Schema> {
        self.schemas.iter().find(|s| s.schema_id() == id)
    }
    /// The current schema id.
    pub fn current_schema_id(&self) -> i32 {
        self.current_schema_id
    }
    /// The current schema.
    pub fn current_schema(&self) -> &Schema {
        // `validate` guarantees the current schema exists.
        self.schema_by_id(self.current_schema_id)
            .unwrap_or(&self.schemas[0])
    }
    /// Every partition spec.
    pub fn partition_specs(&self) -> &[PartitionSpec] {
        &self.partition_specs
    }
    /// The spec with id `id`.
    pub fn partition_spec_by_id(&self, id: i32) -> Option<&PartitionSpec> {
        self.partition_specs.iter().find(|s| s.spec_id() == id)
    }
    /// The default spec id.
    pub fn default_spec_id(&self) -> i32 {
        self.default_spec_id
    }
    /// The default partition spec.
    pub fn default_partition_spec(&self) -> &PartitionSpec {
        self.partition_spec_by_id(self.default_spec_id)
            .unwrap_or(&self.partition_specs[0])
    }
    /// The highest partition field id assigned so far.
    pub fn last_partition_id(&self) -> i32 {
        self.last_partition_id
    }
    /// The table properties as stored.
    pub fn properties(&self) -> &BTreeMap<String, String> {
        &self.properties
    }
    /// Where metadata files, manifests and manifest lists go: `write.metadata.path`, or
    /// `<location>/metadata`.
    pub fn metadata_dir(&self) -> String {
        self.dir_property("write.metadata.path", "metadata")
    }

    /// Where data and delete files go: `write.data.path`, or `<location>/data`.
    pub fn data_dir(&self) -> String {
        self.dir_property("write.data.path", "data")
    }

    fn dir_property(&self, key: &str, default_leaf: &str) -> String {
        self.properties
            .get(key)
            .map(|p| p.trim_end_matches('/').to_string())
            .unwrap_or_else(|| format!("{}/{default_leaf}", self.location))
    }

    /// The table properties, parsed.
    pub fn table_properties(&self) -> Result<TableProperties> {
        TableProperties::try_from_map(&self.properties)
    }
    /// The current snapshot id, if the table has one.
    pub fn current_snapshot_id(&self) -> Option<i64> {
        self.current_snapshot_id
    }
    /// The current snapshot.
    pub fn current_snapshot(&self) -> Option<&Snapshot> {
        self.snapshot_by_id(self.current_snapshot_id?)
    }
    /// Every valid snapshot.
    pub fn snapshots(&self) -> &[Snapshot] {
        &self.snapshots
    }
    /// The snapshot with id `id`.
    pub fn snapshot_by_id(&self, id: i64) -> Option<&Snapshot> {
        let index = self.snapshot_index.get_or_init(|| {
            let mut index =
                FxHashMap::with_capacity_and_hasher(self.snapshots.len(), Default::default());
            for (i, s) in self.snapshots.iter().enumerate() {
                // The first wins; `validate` refuses duplicates anyway.
                index.entry(s.snapshot_id).or_insert(i);
            }
            index
        });
        index.get(&id).map(|i| &self.snapshots[*i])
    }
    /// The snapshot a ref points at.
    pub fn snapshot_for_ref(&self, name: &str) -> Option<&Snapshot> {
        self.snapshot_by_id(self.refs.get(name)?.snapshot_id)
    }
    /// The snapshot log.
    pub fn snapshot_log(&self) -> &[SnapshotLogEntry] {
        &self.snapshot_log
    }
    /// The metadata log.
    pub fn metadata_log(&self) -> &[MetadataLogEntry] {
        &self.metadata_log
    }
    /// Every sort order.
    pub fn sort_orders(&self) -> &[SortOrder] {
        &self.sort_orders
    }
    /// The sort order with id `id`.
    pub fn sort_order_by_id(&self, id: i64) -> Option<&SortOrder> {
        self.sort_orders.iter().find(|o| o.order_id() == id)
    }
    /// The default sort order id.
    pub fn default_sort_order_id(&self) -> i64 {
        self.default_sort_order_id
    }
    /// The default sort order.
    pub fn default_sort_order(&self) -> Option<&SortOrder> {
        self.sort_order_by_id(self.default_sort_order_id)
    }
    /// Branches and tags by name.
    pub fn refs(&self) -> &BTreeMap<String, SnapshotReference> {
        &self.refs
    }
    /// Table statistics files.
    pub fn statistics(&self) -> &[StatisticsFile] {
        &self.statistics
    }
    /// Partition statistics files.
    pub fn partition_statistics(&self) -> &[PartitionStatisticsFile] {
        &self.partition_statistics
    }
    /// v3: the next row id to assign.
    pub fn next_row_id(&self) -> Option<i64> {
        self.next_row_id
    }
    /// v3: encryption keys.
    pub fn encryption_keys(&self) -> &[EncryptedKey] {
        &self.encryption_keys
    }

    /// The ancestors of `snapshot_id`, starting with itself, following parent ids while they
    /// are still in the metadata.
    pub fn ancestors_of(&self, snapshot_id: i64) -> impl Iterator<Item = &Snapshot> + '_ {
        let mut next = self.snapshot_by_id(snapshot_id);
        let mut steps = 0usize;
        let limit = self.snapshots.len();
        std::iter::from_fn(move || {
            let cur = next?;
            steps += 1;
            next = if steps > limit {
                None // a cycle in parent ids: stop rather than loop forever
            } else {
                cur.parent_snapshot_id.and_then(|p| self.snapshot_by_id(p))
            };
            Some(cur)
        })
    }

    /// Check the invariants the spec and the main readers (Java, pyiceberg, iceberg-rust)
    /// rely on. Called on parse and by the builder before it returns new metadata.
    pub fn validate(&self) -> Result<()> {
        let v = self.format_version;
        if self.location.is_empty() {
            return Err(Error::invalid("table metadata field 'location' is empty"));
        }
        // Schemas.
        if self.schemas.is_empty() {
            return Err(Error::invalid("table metadata field 'schemas' is empty"));
        }
        let mut ids = std::collections::HashSet::new();
        for s in &self.schemas {
            if !ids.insert(s.schema_id()) {
                return Err(Error::invalid(format!(
                    "table metadata field 'schemas' has schema id {} twice",
                    s.schema_id()
                )));
            }
            if s.highest_field_id() > self.last_column_id {
                return Err(Error::invalid(format!(
                    "table metadata field 'last-column-id' is {} but schema {} uses field id {}",
                    self.last_column_id,
                    s.schema_id(),
                    s.highest_field_id()
                )));
            }
            if let Some((name, p)) = s.first_type_needing_version_above(v.as_u8()) {
                return Err(Error::invalid(format!(
                    "column '{name}' has type {p}, which needs format version {}",
                    p.min_format_version()
                )));
            }
        }
        if self.schema_by_id(self.current_schema_id).is_none() {
            return Err(Error::invalid(format!(
                "table metadata field 'current-schema-id' is {} but there is no such schema",
                self.current_schema_id
            )));
        }
        // Partition specs.
        if self.partition_specs.is_empty() {
            return Err(Error::invalid(
                "table metadata field 'partition-specs' is empty",
            ));
        }
        let mut ids = std::collections::HashSet::new();
        for s in &self.partition_specs {
            if !ids.insert(s.spec_id()) {
                return Err(Error::invalid(format!(
                    "table metadata field 'partition-specs' has spec id {} twice",
                    s.spec_id()
                )));
            }
            if v >= FormatVersion::V2 && s.highest_field_id() > self.last_partition_id {
                return Err(Error::invalid(format!(
                    "table metadata field 'last-partition-id' is {} but spec {} uses partition field id {}",
                    self.last_partition_id,
                    s.spec_id(),
                    s.highest_field_id()
                )));
            }
        }
        if self.partition_spec_by_id(self.default_spec_id).is_none() {
            return Err(Error::invalid(format!(
                "table metadata field 'default-spec-id' is {} but there is no such spec",
                self.default_spec_id
            )));
        }
        // Sort orders.
        let mut ids = std::collections::HashSet::new();
        for o in &self.sort_orders {
            if !ids.insert(o.order_id()) {
                return Err(Error::invalid(format!(
                    "table metadata field 'sort-orders' has order id {} twice",
                    o.order_id()
                )));
            }
        }
        if self.default_sort_order_id != 0
            && self.sort_order_by_id(self.default_sort_order_id).is_none()
        {
            return Err(Error::invalid(format!(
                "table metadata field 'default-sort-order-id' is {} but there is no such sort order",
                self.default_sort_order_id
            )));
        }
        // Snapshots.
        for (i, s) in self.snapshots.iter().enumerate() {
            // The index keeps the first position of each id: any other position is a duplicate.
            if self
                .snapshot_by_id(s.snapshot_id)
                .map(|f| std::ptr::eq(f, &self.snapshots[i]))
                != Some(true)
            {
                return Err(Error::invalid(format!(
                    "table metadata field 'snapshots' has snapshot id {} twice",
                    s.snapshot_id
                )));
            }
            if v >= FormatVersion::V2 && s.sequence_number > self.last_sequence_number {
                return Err(Error::invalid(format!(
                    "snapshot {} has sequence number {}, above 'last-sequence-number' {}",
                    s.snapshot_id, s.sequence_number, self.last_sequence_number
                )));
            }
            if v >= FormatVersion::V2 && s.manifest_list.is_empty() {
                return Err(Error::invalid(format!(
                    "snapshot {} has no 'manifest-list'",
                    s.snapshot_id
                )));
            }
        }
        if let Some(id) = self.current_snapshot_id
            && self.snapshot_by_id(id).is_none()
        {
            return Err(Error::invalid(format!(
                "table metadata field 'current-snapshot-id' is {id} but there is no such snapshot"
            )));
        }
        // Refs.
        for (name, r) in &self.refs {
            if self.snapshot_by_id(r.snapshot_id).is_none() {
                return Err(Error::invalid(format!(
                    "ref '{name}' points at snapshot {} which does not exist",
                    r.snapshot_id
                )));
            }
        }
        match (self.refs.get(MAIN_BRANCH), self.current_snapshot_id) {
            (Some(main), Some(cur)) if main.snapshot_id != cur => {
                return Err(Error::invalid(format!(
                    "ref 'main' points at snapshot {} but 'current-snapshot-id' is {cur}",
                    main.snapshot_id
                )));
            }
            (Some(main), None) => {
                return Err(Error::invalid(format!(
                    "ref 'main' points at snapshot {} but 'current-snapshot-id' is not set",
                    main.snapshot_id
                )));
            }
            (Some(main), _) if !main.is_branch() => {
                return Err(Error::invalid("ref 'main' must be a branch, not a tag"));
            }
            _ => {}
        }
        // Logs.
        check_chronological(
            "snapshot-log",
            self.snapshot_log.iter().map(|e| e.timestamp_ms),
            self.last_updated_ms,
        )?;
        check_chronological(
            "metadata-log",
            self.metadata_log.iter().map(|e| e.timestamp_ms),
            self.last_updated_ms,
        )?;
        // v3.
        if v >= FormatVersion::V3 {
            match self.next_row_id {
                None => {
                    return Err(Error::invalid(
                        "table metadata field 'next-row-id' is required in format version 3",
                    ));
                }
                Some(n) if n < 0 => {
                    return Err(Error::invalid(
                        "table metadata field 'next-row-id' is negative",
                    ));
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Build the partition-spec-less form v1 writers need: the default spec's fields.
    fn v1_partition_spec_fields(&self) -> &[super::partition::PartitionField] {
        self.default_partition_spec().fields()
    }
}

fn check_chronological(
    what: &str,
    times: impl Iterator<Item = i64>,
    last_updated_ms: i64,
) -> Result<()> {
    let mut prev: Option<i64> = None;
    for t in times {
        if let Some(p) = prev
            && t < p - ONE_MINUTE_MS
        {
            return Err(Error::invalid(format!(
                "table metadata field '{what}' is not in chronological order ({t} after {p})"
            )));
        }
        prev = Some(t);
    }
    if let Some(p) = prev
        && last_updated_ms < p - ONE_MINUTE_MS
    {
        return Err(Error::invalid(format!(
            "table metadata field 'last-updated-ms' ({last_updated_ms}) is older than the last '{what}' entry ({p})"
        )));
    }
    Ok(())
}

impl Serialize for TableMetadata {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        let v = self.format_version;
        let mut m = serializer.serialize_map(None)?;
        m.serialize_entry("format-version", &v.as_u8())?;
        m.serialize_entry("table-uuid", &self.table_uuid)?;
        m.serialize_entry("location", &self.location)?;
        if v >= FormatVersion::V2 {
            m.serialize_entry("last-sequence-number", &self.last_sequence_number)?;
        }
        m.serialize_entry("last-updated-ms", &self.last_updated_ms)?;
        m.serialize_entry("last-column-id", &self.last_column_id)?;
        if v == FormatVersion::V1 {
            m.serialize_entry("schema", self.current_schema())?;
        }
        m.serialize_entry("schemas", &self.schemas)?;
        m.serialize_entry("current-schema-id", &self.current_schema_id)?;
        if v == FormatVersion::V1 {
            m.serialize_entry("partition-spec", self.v1_partition_spec_fields())?;
        }
        m.serialize_entry("partition-specs", &self.partition_specs)?;
        m.serialize_entry("default-spec-id", &self.default_spec_id)?;
        m.serialize_entry("last-partition-id", &self.last_partition_id)?;
        m.serialize_entry("properties", &self.properties)?;
        match (self.current_snapshot_id, v) {
            (Some(id), _) => m.serialize_entry("current-snapshot-id", &id)?,
            // Older Java readers require the field in v1/v2 and read -1 as "none".
            (None, FormatVersion::V1 | FormatVersion::V2) => {
                m.serialize_entry("current-snapshot-id", &-1i64)?
            }
            (None, FormatVersion::V3) => {}
        }
        if v == FormatVersion::V1 {
            // v1 snapshots carry no sequence number.
            let v1: Vec<V1Snapshot<'_>> = self.snapshots.iter().map(V1Snapshot).collect();
            m.serialize_entry("snapshots", &v1)?;
        } else {
            m.serialize_entry("snapshots", &self.snapshots)?;
        }
        m.serialize_entry("snapshot-log", &self.snapshot_log)?;
        m.serialize_entry("metadata-log", &self.metadata_log)?;
        m.serialize_entry("sort-orders", &self.sort_orders)?;
        m.serialize_entry("default-sort-order-id", &self.default_sort_order_id)?;
        m.serialize_entry("refs", &self.refs)?;
        m.serialize_entry("statistics", &self.statistics)?;
        m.serialize_entry("partition-statistics", &self.partition_statistics)?;
        if v >= FormatVersion::V3 {
            if let Some(n) = self.next_row_id {
                m.serialize_entry("next-row-id", &n)?;
            }
            if !self.encryption_keys.is_empty() {
                m.serialize_entry("encryption-keys", &self.encryption_keys)?;
            }
        }
        m.end()
    }
}

/// A snapshot as v1 metadata writes it: without `sequence-number`.
struct V1Snapshot<'a>(&'a Snapshot);

impl Serialize for V1Snapshot<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        let s = self.0;
        let mut m = serializer.serialize_map(None)?;
        m.serialize_entry("snapshot-id", &s.snapshot_id)?;
        if let Some(p) = s.parent_snapshot_id {
            m.serialize_entry("parent-snapshot-id", &p)?;
        }
        m.serialize_entry("timestamp-ms", &s.timestamp_ms)?;
        if !s.manifest_list.is_empty() {
            m.serialize_entry("manifest-list", &s.manifest_list)?;
        }
        if let Some(list) = &s.manifests {
            m.serialize_entry("manifests", list)?;
        }
        m.serialize_entry("summary", &s.summary)?;
        if let Some(id) = s.schema_id {
            m.serialize_entry("schema-id", &id)?;
        }
        m.end()
    }
}

/// The wire form: every field of every version, optional, then checked per version.
mod wire {
    use super::*;
    use serde::Deserialize;

    use crate::spec::partition::PartitionField;

    #[derive(Deserialize)]
    #[serde(rename_all = "kebab-case")]
    pub(super) struct TableMetadataWire {
        format_version: i64,
        table_uuid: Option<Uuid>,
        location: Option<String>,
        last_sequence_number: Option<i64>,
        last_updated_ms: Option<i64>,
        last_column_id: Option<i32>,
        schema: Option<Schema>,
        schemas: Option<Vec<Schema>>,
        current_schema_id: Option<i32>,
        partition_spec: Option<Vec<PartitionField>>,
        partition_specs: Option<Vec<PartitionSpec>>,
        default_spec_id: Option<i32>,
        last_partition_id: Option<i32>,
        #[serde(default)]
        properties: Option<BTreeMap<String, String>>,
        #[serde(default)]
        current_snapshot_id: Option<i64>,
        #[serde(default)]
        snapshots: Option<Vec<Snapshot>>,
        #[serde(default)]
        snapshot_log: Option<Vec<SnapshotLogEntry>>,
        #[serde(default)]
        metadata_log: Option<Vec<MetadataLogEntry>>,
        sort_orders: Option<Vec<SortOrder>>,
        default_sort_order_id: Option<i64>,
        #[serde(default)]
        refs: Option<BTreeMap<String, SnapshotReference>>,
        #[serde(default)]
        statistics: Option<Vec<StatisticsFile>>,
        #[serde(default)]
        partition_statistics: Option<Vec<PartitionStatisticsFile>>,
        next_row_id: Option<i64>,
        #[serde(default)]
        encryption_keys: Option<Vec<EncryptedKey>>,
    }

    fn required<T>(v: Option<T>, name: &str, version: FormatVersion) -> Result<T> {
        v.ok_or_else(|| {
            Error::invalid(format!(
                "table metadata is missing the field '{name}', required in format version {version}"
            ))
        })
    }

    impl TableMetadataWire {
        pub(super) fn into_metadata(self) -> Result<TableMetadata> {
            let v = FormatVersion::try_from(self.format_version)?;
            let v1 = v == FormatVersion::V1;
            let table_uuid = if v1 {
                // v1 allowed tables without a UUID; give them one, as Java's builder does.
                self.table_uuid.unwrap_or_else(Uuid::new_v4)
            } else {
                required(self.table_uuid, "table-uuid", v)?
            };
            let location = required(self.location, "location", v)?;
            // v1 has no sequence numbers: everything reads as 0 (as Java's parser does).
            let last_sequence_number = if v1 {
                0
            } else {
                required(self.last_sequence_number, "last-sequence-number", v)?
            };
            let last_updated_ms = required(self.last_updated_ms, "last-updated-ms", v)?;
            let last_column_id = required(self.last_column_id, "last-column-id", v)?;

            // Schemas: v1 may carry only `schema`.
            let (schemas, current_schema_id) = match (self.schemas, v1) {
                (Some(schemas), _) if !schemas.is_empty() => {
                    let current = if v1 {
                        self.current_schema_id
                            .or_else(|| self.schema.as_ref().map(|s| s.schema_id()))
                            .unwrap_or(schemas[0].schema_id())
                    } else {
                        required(self.current_schema_id, "current-schema-id", v)?
                    };
                    (schemas, current)
                }
                (_, true) => {
                    let s = required(self.schema, "schema", v)?;
                    let id = s.schema_id();
                    (vec![s], id)
                }
                (_, false) => {
                    return Err(Error::invalid(format!(
                        "table metadata is missing the field 'schemas', required in format version {v}"
                    )));
                }
            };

            // Partition specs: v1 may carry only `partition-spec`.
            let (partition_specs, default_spec_id) = match (self.partition_specs, v1) {
                (Some(specs), _) if !specs.is_empty() => {
                    let default = if v1 {
                        self.default_spec_id.unwrap_or(specs[0].spec_id())
                    } else {
                        required(self.default_spec_id, "default-spec-id", v)?
                    };
                    (specs, default)
                }
                (_, true) => {
                    let fields = required(self.partition_spec, "partition-spec", v)?;
                    (vec![PartitionSpec::new(0, fields)], 0)
                }
                (_, false) => {
                    return Err(Error::invalid(format!(
                        "table metadata is missing the field 'partition-specs', required in format version {v}"
                    )));
                }
            };
            let last_partition_id = if v1 {
                self.last_partition_id.unwrap_or_else(|| {
                    partition_specs
                        .iter()
                        .map(|s| s.highest_field_id())
                        .max()
                        .unwrap_or(UNPARTITIONED_LAST_ASSIGNED_ID)
                })
            } else {
                required(self.last_partition_id, "last-partition-id", v)?
            };

            let (sort_orders, default_sort_order_id) = if v1 {
                (
                    self.sort_orders
                        .unwrap_or_else(|| vec![SortOrder::unsorted()]),
                    self.default_sort_order_id.unwrap_or(0),
                )
            } else {
                (
                    required(self.sort_orders, "sort-orders", v)?,
                    required(self.default_sort_order_id, "default-sort-order-id", v)?,
                )
            };

            let current_snapshot_id = self.current_snapshot_id.filter(|id| *id != -1);
            let mut refs = self.refs.unwrap_or_default();
            // Metadata written before refs existed: main is implied by the current snapshot.
            if let Some(id) = current_snapshot_id {
                refs.entry(MAIN_BRANCH.to_string())
                    .or_insert_with(|| SnapshotReference::branch(id));
            }
            let next_row_id = if v >= FormatVersion::V3 {
                Some(required(self.next_row_id, "next-row-id", v)?)
            } else {
                None
            };

            Ok(TableMetadata {
                format_version: v,
                table_uuid,
                location,
                last_sequence_number,
                last_updated_ms,
                last_column_id,
                schemas,
                current_schema_id,
                partition_specs,
                default_spec_id,
                last_partition_id,
                properties: self.properties.unwrap_or_default(),
                current_snapshot_id,
                snapshots: {
                    let mut snapshots = self.snapshots.unwrap_or_default();
                    if v1 {
                        snapshots.iter_mut().for_each(|s| s.sequence_number = 0);
                    }
                    snapshots
                },
                snapshot_log: self.snapshot_log.unwrap_or_default(),
                metadata_log: self.metadata_log.unwrap_or_default(),
                sort_orders,
                default_sort_order_id,
                refs,
                statistics: self.statistics.unwrap_or_default(),
                partition_statistics: self.partition_statistics.unwrap_or_default(),
                next_row_id,
                encryption_keys: self.encryption_keys.unwrap_or_default(),
                snapshot_index: OnceLock::new(),
            })
        }
    }
}
