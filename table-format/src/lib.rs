//! Floe's table-format library: Apache Iceberg tables as data and as operations.
//!
//! Map of the crate:
//! - [`spec`]: the pure data model of the Iceberg spec (types, schemas, values, transforms,
//!   partition specs, sort orders, snapshots, refs, table metadata, table properties) and the
//!   commit language (`TableRequirement`, `TableUpdate`) with the validating metadata builder.
//!   No I/O happens there.
//! - [`expr`]: predicates over table columns, and their projection through partition transforms.
//! - [`avro`]: manifests and manifest lists as Avro files (field-id-driven reader, writers).
//! - [`arrow`]: Iceberg schemas as Arrow schemas (field ids in field metadata) and back.
//! - [`io`]: FileIO over object_store (local files, memory, S3).
//! - [`catalog`]: the Catalog trait and the in-memory catalog; [`table`]: a loaded table.
//! - [`scan`]: scan planning and reading to Arrow.
//! - [`parquet`], [`writer`]: Parquet data files with column metrics; the partitioned writer.
//! - [`transaction`]: table operations (append, overwrite, delete, replace partitions) that commit snapshots.
//! - [`maintenance`]: snapshot expiry, orphan-file removal, compaction and manifest rewriting.
//! - [`error`]: the crate's typed error, with a kind that says whether a retry can help.

pub mod arrow;
pub mod avro;
pub mod catalog;
pub mod error;
pub mod expr;
pub mod io;
pub mod maintenance;
pub mod parquet;
pub mod scan;
pub mod spec;
pub mod table;
pub mod transaction;
pub mod writer;

pub use error::{Error, ErrorKind, Result};
