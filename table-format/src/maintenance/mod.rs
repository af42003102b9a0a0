//! Table maintenance: operations that reorganize a table's files without changing its rows.
//!
//! - [`rewrite_data_files`]: compaction ([`RewriteDataFiles`], [`Table::rewrite_data_files`]):
//!   small files (of a partition or a filter) rewritten into files of the target size by
//!   bin-packing, sorting or z-ordering, delete files folded in, committed as one `replace`
//!   snapshot with conflict detection against concurrent deletes of the same files.
//! - [`rewrite_manifests`]: small manifests merged per partition spec
//!   ([`RewriteManifests`], [`Table::rewrite_manifests`]), committed as a `replace` snapshot.
//!
//! [`RewriteDataFiles`]: rewrite_data_files::RewriteDataFiles
//! [`Table::rewrite_data_files`]: crate::table::Table::rewrite_data_files
//! [`RewriteManifests`]: rewrite_manifests::RewriteManifests
//! [`Table::rewrite_manifests`]: crate::table::Table::rewrite_manifests

pub mod rewrite_data_files;
pub mod rewrite_manifests;
