//! Scans: planning which files to read, and reading them to Arrow.
//!
//! - [`dv`]: deletion vectors (v3 Puffin blobs).
//! - [`prune`]: what planning may skip for a filter (manifests, files) and what it may drop whole.
//! - [`incremental`]: what a branch gained between two snapshots.
//! - [`reader`]: reading one planned file (projection by field id, schema evolution, deletes).

pub mod dv;
pub mod incremental;
pub mod plan;
pub mod prune;
pub mod reader;

pub use plan::TableScan;
pub use reader::{ArrowReader, DeleteFileRef, FileScanTask};
