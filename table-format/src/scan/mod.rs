//! Scans: planning which files to read, and reading them to Arrow.
//!
//! - [`reader`]: reading one planned file (projection by field id, schema evolution, deletes).

pub mod reader;

pub use reader::{ArrowReader, DeleteFileRef, FileScanTask};
