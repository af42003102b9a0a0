//! Snapshots and snapshot references (spec "Snapshots", "Snapshot References").
//!
//! - [`Operation`], [`Summary`]: what a snapshot did, with its string metrics.
//! - [`Snapshot`]: one committed state of the table.
//! - [`SnapshotReference`], [`SnapshotRetention`]: branches and tags with retention settings.
//! - [`SnapshotLogEntry`], [`MetadataLogEntry`]: the two history logs of table metadata.

use std::borrow::Cow;

use compact_str::CompactString;
use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The name of the main branch.
pub const MAIN_BRANCH: &str = "main";

/// What a snapshot did (summary field `operation`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Operation {
    /// Only data files were added.
    #[default]
    Append,
    /// Files were replaced without changing the data (compaction).
    Replace,
    /// Data files were added and removed in a logical overwrite.
    Overwrite,
    /// Data files were removed, or delete files added.
    Delete,
}

impl Operation {
    /// The spec's name for the operation.
    pub fn as_str(&self) -> &'static str {
        match self {
            Operation::Append => "append",
            Operation::Replace => "replace",
            Operation::Overwrite => "overwrite",
            Operation::Delete => "delete",
        }
    }
}

/// A summary key: the keys the spec and the main writers use are shared instead of
/// allocated, which matters for tables with tens of thousands of snapshots.
fn summary_key(k: &str) -> Cow<'static, str> {
    let known: &'static str = match k {
        "added-data-files" => "added-data-files",
        "added-delete-files" => "added-delete-files",
        "added-dvs" => "added-dvs",
        "added-equality-delete-files" => "added-equality-delete-files",
        "added-equality-deletes" => "added-equality-deletes",
        "added-files-size" => "added-files-size",
        "added-position-delete-files" => "added-position-delete-files",
        "added-position-deletes" => "added-position-deletes",
        "added-records" => "added-records",
        "changed-partition-count" => "changed-partition-count",
        "deleted-data-files" => "deleted-data-files",
        "deleted-duplicate-files" => "deleted-duplicate-files",
        "deleted-records" => "deleted-records",
        "engine-name" => "engine-name",
        "engine-version" => "engine-version",
        "iceberg-version" => "iceberg-version",
        "manifests-created" => "manifests-created",
        "manifests-kept" => "manifests-kept",
        "manifests-replaced" => "manifests-replaced",
        "removed-delete-files" => "removed-delete-files",
        "removed-dvs" => "removed-dvs",
        "removed-equality-delete-files" => "removed-equality-delete-files",
        "removed-equality-deletes" => "removed-equality-deletes",
        "removed-files-size" => "removed-files-size",
        "removed-position-delete-files" => "removed-position-delete-files",
        "removed-position-deletes" => "removed-position-deletes",
        "total-data-files" => "total-data-files",
        "total-delete-files" => "total-delete-files",
        "total-equality-deletes" => "total-equality-deletes",
        "total-files-size" => "total-files-size",
        "total-position-deletes" => "total-position-deletes",
        "total-records" => "total-records",
        _ => return Cow::Owned(k.to_string()),
    };
    Cow::Borrowed(known)
}

/// A snapshot summary: the operation plus string-valued metrics, kept in file order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Summary {
    /// The operation.
    pub operation: Operation,
    /// Every other summary entry (`added-data-files`, `total-records`, ...), in order.
    /// Values are short (counts and sizes), so they are stored inline without allocating.
    properties: Vec<(Cow<'static, str>, CompactString)>,
}

impl Summary {
    /// A summary with just an operation.
    pub fn new(operation: Operation) -> Self {
        Self {
            operation,
            properties: Vec::new(),
        }
    }

    /// Every entry other than the operation, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        self.properties
            .iter()
            .map(|(k, v)| (k.as_ref(), v.as_str()))
    }

    /// The number of entries other than the operation.
    pub fn len(&self) -> usize {
        self.properties.len()
    }

    /// Whether the summary holds only the operation.
    pub fn is_empty(&self) -> bool {
        self.properties.is_empty()
    }

    /// The value of summary entry `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.properties
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Set (or replace) summary entry `key`.
    pub fn set(&mut self, key: &str, value: impl AsRef<str>) {
        let value = CompactString::from(value.as_ref());
        match self.properties.iter_mut().find(|(k, _)| k == key) {
            Some(entry) => entry.1 = value,
            None => self.properties.push((summary_key(key), value)),
        }
    }
}

impl Serialize for Summary {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut m = serializer.serialize_map(Some(self.properties.len() + 1))?;
        m.serialize_entry("operation", self.operation.as_str())?;
        for (k, v) in &self.properties {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

impl<'de> Deserialize<'de> for Summary {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Summary;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a snapshot summary object with an operation")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Summary, A::Error> {
                let mut operation = None;
                let mut properties = Vec::with_capacity(map.size_hint().unwrap_or(12));
                while let Some(k) = map.next_key::<Cow<'de, str>>()? {
                    if k == "operation" {
                        operation = Some(map.next_value::<Operation>()?);
                    } else {
                        properties.push((summary_key(&k), map.next_value::<CompactString>()?));
                    }
                }
                let operation =
                    operation.ok_or_else(|| serde::de::Error::missing_field("operation"))?;
                Ok(Summary {
                    operation,
                    properties,
                })
            }
        }
        deserializer.deserialize_map(V)
    }
}

/// One committed state of a table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Snapshot {
    /// The snapshot id (unique within the table).
    pub snapshot_id: i64,
    /// The parent snapshot, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_snapshot_id: Option<i64>,
    /// The sequence number (0 in v1 tables).
    #[serde(default)]
    pub sequence_number: i64,
    /// When the snapshot was created, in ms since the epoch.
    pub timestamp_ms: i64,
    /// The manifest list file (absent only in old v1 snapshots that list `manifests` inline).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub manifest_list: String,
    /// v1 only: manifest files listed inline instead of a manifest list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifests: Option<Vec<String>>,
    /// The summary (required from v2; v1 snapshots without one read as an append).
    #[serde(default)]
    pub summary: Summary,
    /// The schema current when the snapshot was written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema_id: Option<i32>,
    /// v3: the first row id assigned to rows added by this snapshot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_row_id: Option<i64>,
    /// v3: the number of rows that got row ids in this snapshot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub added_rows: Option<i64>,
    /// v3: the encryption key that encrypts the manifest list key metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
}

/// Retention settings of a ref; which ones apply depends on its type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", tag = "type")]
pub enum SnapshotRetention {
    /// A branch: a line of snapshots that can be committed to.
    #[serde(rename_all = "kebab-case")]
    Branch {
        /// Keep at least this many snapshots in the branch's history.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min_snapshots_to_keep: Option<i32>,
        /// Snapshots in the branch older than this may expire.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_snapshot_age_ms: Option<i64>,
        /// The branch itself expires when older than this (never for main).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_ref_age_ms: Option<i64>,
    },
    /// A tag: a named snapshot.
    #[serde(rename_all = "kebab-case")]
    Tag {
        /// The tag expires when older than this.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_ref_age_ms: Option<i64>,
    },
}

impl SnapshotRetention {
    /// A branch with no retention overrides.
    pub fn branch() -> Self {
        SnapshotRetention::Branch {
            min_snapshots_to_keep: None,
            max_snapshot_age_ms: None,
            max_ref_age_ms: None,
        }
    }
}

/// A named reference to a snapshot: a branch or a tag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct SnapshotReference {
    /// The snapshot the ref points at.
    pub snapshot_id: i64,
    /// The ref's type and retention settings.
    #[serde(flatten)]
    pub retention: SnapshotRetention,
}

impl SnapshotReference {
    /// A branch at `snapshot_id` with no retention overrides.
    pub fn branch(snapshot_id: i64) -> Self {
        Self {
            snapshot_id,
            retention: SnapshotRetention::branch(),
        }
    }

    /// Whether the ref is a branch.
    pub fn is_branch(&self) -> bool {
        matches!(self.retention, SnapshotRetention::Branch { .. })
    }
}

/// An entry of `snapshot-log`: when a snapshot became current.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct SnapshotLogEntry {
    /// The snapshot that became current.
    pub snapshot_id: i64,
    /// When, in ms since the epoch.
    pub timestamp_ms: i64,
}

/// An entry of `metadata-log`: a previous metadata file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct MetadataLogEntry {
    /// The previous metadata file's location.
    pub metadata_file: String,
    /// Its `last-updated-ms`.
    pub timestamp_ms: i64,
}
