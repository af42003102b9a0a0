//! Table statistics files (spec "Table Statistics", "Partition Statistics") and encryption keys.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A Puffin statistics file for one snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct StatisticsFile {
    /// The snapshot the statistics describe.
    pub snapshot_id: i64,
    /// The Puffin file's location.
    pub statistics_path: String,
    /// The file's size.
    pub file_size_in_bytes: i64,
    /// The Puffin footer's size.
    pub file_footer_size_in_bytes: i64,
    /// Encryption key metadata, base64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_metadata: Option<String>,
    /// The blobs in the file.
    #[serde(default)]
    pub blob_metadata: Vec<BlobMetadata>,
}

/// One blob of a statistics file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct BlobMetadata {
    /// The blob type, e.g. `apache-datasketches-theta-v1`.
    #[serde(rename = "type")]
    pub blob_type: String,
    /// The snapshot the blob was computed from.
    pub snapshot_id: i64,
    /// That snapshot's sequence number.
    pub sequence_number: i64,
    /// The field ids the blob covers.
    pub fields: Vec<i32>,
    /// Extra properties.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub properties: BTreeMap<String, String>,
}

/// A partition statistics file for one snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct PartitionStatisticsFile {
    /// The snapshot the statistics describe.
    pub snapshot_id: i64,
    /// The file's location.
    pub statistics_path: String,
    /// The file's size.
    pub file_size_in_bytes: i64,
}

/// An encryption key stored in v3 table metadata.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct EncryptedKey {
    /// The key id.
    pub key_id: String,
    /// The encrypted key metadata, base64.
    pub encrypted_key_metadata: String,
    /// The id of the key that encrypted this one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encrypted_by_id: Option<String>,
    /// Extra properties.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub properties: BTreeMap<String, String>,
}
