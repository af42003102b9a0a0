//! Manifest and manifest-list entries as data (spec "Manifests", "Manifest Lists").
//!
//! - [`DataFile`]: a data or delete file with its partition tuple and column metrics.
//! - [`ManifestEntry`], [`ManifestStatus`]: a file's entry in a manifest, with the snapshot and
//!   sequence numbers that added it (inherited from the manifest list when null).
//! - [`ManifestFile`], [`FieldSummary`]: a manifest's entry in a manifest list.
//! - [`PartitionValues`]: a partition tuple, one optional value per partition field.
//!
//! Bounds stay in the spec's binary single-value form (`Vec<u8>`) and are decoded to
//! [`Datum`](super::values::Datum) only where a reader needs them, so that decoding a manifest
//! does no per-value conversion work.

use super::values::Datum;

/// A partition tuple: one value per field of the partition spec, in spec order.
pub type PartitionValues = Vec<Option<Datum>>;

/// A hashable key for a partition tuple (Datum holds floats, so it is not `Hash` itself):
/// equal tuples give equal keys, different tuples different keys.
pub fn partition_key(p: &PartitionValues) -> String {
    format!("{p:?}")
}

/// What a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum DataContentType {
    /// Rows.
    #[default]
    Data = 0,
    /// Position deletes (file path + row position), or a deletion vector (v3, Puffin).
    PositionDeletes = 1,
    /// Equality deletes (rows matching the equality columns are deleted).
    EqualityDeletes = 2,
}

impl DataContentType {
    /// From the manifest's integer code.
    pub fn from_code(code: i32) -> Option<Self> {
        match code {
            0 => Some(DataContentType::Data),
            1 => Some(DataContentType::PositionDeletes),
            2 => Some(DataContentType::EqualityDeletes),
            _ => None,
        }
    }
}

/// A file's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum DataFileFormat {
    /// Apache Parquet.
    #[default]
    Parquet,
    /// Apache Avro.
    Avro,
    /// Apache ORC.
    Orc,
    /// Puffin (deletion vectors).
    Puffin,
}

impl DataFileFormat {
    /// The spec's upper-case name.
    pub fn as_str(&self) -> &'static str {
        match self {
            DataFileFormat::Parquet => "PARQUET",
            DataFileFormat::Avro => "AVRO",
            DataFileFormat::Orc => "ORC",
            DataFileFormat::Puffin => "PUFFIN",
        }
    }

    /// Parse a format name, case-insensitively.
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "parquet" => Some(DataFileFormat::Parquet),
            "avro" => Some(DataFileFormat::Avro),
            "orc" => Some(DataFileFormat::Orc),
            "puffin" => Some(DataFileFormat::Puffin),
            _ => None,
        }
    }
}

/// A data or delete file tracked by a manifest.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DataFile {
    /// What the file holds (field 134).
    pub content: DataContentType,
    /// Full URI of the file (100).
    pub file_path: String,
    /// File format (101).
    pub file_format: DataFileFormat,
    /// The partition tuple under the manifest's spec (102).
    pub partition: PartitionValues,
    /// Number of rows (103).
    pub record_count: i64,
    /// File size in bytes (104).
    pub file_size_in_bytes: i64,
    /// Bytes per column, by field id (108).
    pub column_sizes: Vec<(i32, i64)>,
    /// Values per column, nulls and NaNs included (109).
    pub value_counts: Vec<(i32, i64)>,
    /// Nulls per column (110).
    pub null_value_counts: Vec<(i32, i64)>,
    /// NaNs per float/double column (137).
    pub nan_value_counts: Vec<(i32, i64)>,
    /// Lower bounds, binary single-value form (125).
    pub lower_bounds: Vec<(i32, Vec<u8>)>,
    /// Upper bounds, binary single-value form (128).
    pub upper_bounds: Vec<(i32, Vec<u8>)>,
    /// Encryption key metadata (131).
    pub key_metadata: Option<Vec<u8>>,
    /// Split offsets, ascending (132).
    pub split_offsets: Option<Vec<i64>>,
    /// Equality field ids of an equality delete file (135).
    pub equality_ids: Option<Vec<i32>>,
    /// Sort order id (140).
    pub sort_order_id: Option<i32>,
    /// v3: the first row id of the file's rows (142).
    pub first_row_id: Option<i64>,
    /// The data file a position delete file or deletion vector applies to (143).
    pub referenced_data_file: Option<String>,
    /// v3: offset of a deletion vector blob in its Puffin file (144).
    pub content_offset: Option<i64>,
    /// v3: size of a deletion vector blob (145).
    pub content_size_in_bytes: Option<i64>,
}

/// Look a field id up in a metrics list.
pub fn metric<T: Copy>(list: &[(i32, T)], field_id: i32) -> Option<T> {
    list.iter().find(|(id, _)| *id == field_id).map(|(_, v)| *v)
}

/// Look a field id up in a bounds list.
pub fn bound(list: &[(i32, Vec<u8>)], field_id: i32) -> Option<&[u8]> {
    list.iter()
        .find(|(id, _)| *id == field_id)
        .map(|(_, v)| v.as_slice())
}

/// A manifest entry's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ManifestStatus {
    /// Carried over from an earlier manifest.
    Existing = 0,
    /// Added by the snapshot that wrote the manifest.
    Added = 1,
    /// Removed by the snapshot that wrote the manifest.
    Deleted = 2,
}

impl ManifestStatus {
    /// From the manifest's integer code.
    pub fn from_code(code: i32) -> Option<Self> {
        match code {
            0 => Some(ManifestStatus::Existing),
            1 => Some(ManifestStatus::Added),
            2 => Some(ManifestStatus::Deleted),
            _ => None,
        }
    }
}

/// One entry of a manifest: a file and how it got there.
#[derive(Debug, Clone, PartialEq)]
pub struct ManifestEntry {
    /// Existing, added or deleted.
    pub status: ManifestStatus,
    /// The snapshot that added or deleted the file (after inheritance).
    pub snapshot_id: Option<i64>,
    /// The data sequence number (after inheritance).
    pub sequence_number: Option<i64>,
    /// The file sequence number (after inheritance).
    pub file_sequence_number: Option<i64>,
    /// The file.
    pub data_file: DataFile,
}

/// What a manifest tracks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ManifestContentType {
    /// Data files.
    #[default]
    Data = 0,
    /// Delete files.
    Deletes = 1,
}

/// Per-partition-field summary of a manifest, for pruning whole manifests.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FieldSummary {
    /// Whether any file has a null value for the field (509).
    pub contains_null: bool,
    /// Whether any file has a NaN value for the field (518).
    pub contains_nan: Option<bool>,
    /// The lowest value, binary single-value form (510).
    pub lower_bound: Option<Vec<u8>>,
    /// The highest value, binary single-value form (511).
    pub upper_bound: Option<Vec<u8>>,
}

/// One entry of a manifest list: a manifest file and its counts.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ManifestFile {
    /// Location of the manifest (500).
    pub manifest_path: String,
    /// Its length in bytes (501).
    pub manifest_length: i64,
    /// The partition spec its files were written with (502).
    pub partition_spec_id: i32,
    /// Data or deletes (517).
    pub content: ManifestContentType,
    /// Sequence number of the snapshot that added the manifest (515).
    pub sequence_number: i64,
    /// Lowest data sequence number of its live files (516).
    pub min_sequence_number: i64,
    /// The snapshot that added the manifest (503).
    pub added_snapshot_id: i64,
    /// Files with status ADDED (504).
    pub added_files_count: i32,
    /// Files with status EXISTING (505).
    pub existing_files_count: i32,
    /// Files with status DELETED (506).
    pub deleted_files_count: i32,
    /// Rows in ADDED files (512).
    pub added_rows_count: i64,
    /// Rows in EXISTING files (513).
    pub existing_rows_count: i64,
    /// Rows in DELETED files (514).
    pub deleted_rows_count: i64,
    /// One summary per partition field (507).
    pub partitions: Option<Vec<FieldSummary>>,
    /// Encryption key metadata (519).
    pub key_metadata: Option<Vec<u8>>,
    /// v3: first row id assigned to the manifest's added rows (520).
    pub first_row_id: Option<i64>,
}

impl ManifestFile {
    /// Whether the manifest has any live (added or existing) files, or its counts are unknown.
    pub fn has_live_files(&self) -> bool {
        self.added_files_count > 0 || self.existing_files_count > 0
    }
}
