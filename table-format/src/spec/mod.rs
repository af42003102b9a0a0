//! The Iceberg spec as pure data: no I/O in this module.
//!
//! - [`types`], [`schema`]: data types and schemas.
//! - [`values`]: single values and their binary and JSON forms.
//! - [`transform`]: partition transforms.
//! - [`partition`], [`sort`]: partition specs and sort orders.
//! - [`manifest`]: manifest and manifest-list entries (data files, metrics, summaries).
//! - [`snapshot`], [`statistics`]: snapshots, refs, logs, statistics files, encryption keys.
//! - [`properties`]: typed table properties.
//! - [`table_metadata`]: table metadata for format versions 1 to 3.
//! - [`update`], [`builder`]: the commit language and the validating metadata builder.

pub mod builder;
pub mod manifest;
pub mod partition;
pub mod properties;
pub mod schema;
pub mod snapshot;
pub mod sort;
pub mod statistics;
pub mod table_metadata;
pub mod transform;
pub mod types;
pub mod update;
pub mod values;

pub use builder::{BuildResult, TableMetadataBuilder, apply_commit};
pub use manifest::{
    DataContentType, DataFile, DataFileFormat, FieldSummary, ManifestContentType, ManifestEntry,
    ManifestFile, ManifestStatus, PartitionValues,
};
pub use partition::{
    PartitionField, PartitionSpec, SourceId, UnboundPartitionField, UnboundPartitionSpec,
};
pub use properties::TableProperties;
pub use schema::{Schema, SchemaBuilder};
pub use snapshot::{Operation, Snapshot, SnapshotReference, SnapshotRetention, Summary};
pub use sort::{NullOrder, SortDirection, SortField, SortOrder};
pub use table_metadata::{FormatVersion, TableMetadata};
pub use transform::Transform;
pub use types::{ListType, MapType, NestedField, PrimitiveType, StructType, Type};
pub use update::{TableCommit, TableRequirement, TableUpdate};
pub use values::Datum;
