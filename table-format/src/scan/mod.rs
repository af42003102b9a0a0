//! Scans: planning which files to read, and reading them to Arrow.
//!
//! - [`dv`]: deletion vectors (v3 Puffin blobs).
//! - [`reader`]: reading one planned file (projection by field id, schema evolution, deletes).

pub mod dv;
pub mod reader;

pub use reader::{ArrowReader, DeleteFileRef, FileScanTask};
