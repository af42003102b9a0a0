//! Catalogs: where a table's current metadata file is tracked, and where commits land.
//!
//! - [`Catalog`]: the trait every catalog implements (the memory catalog and the REST client
//!   here; the catalog server's stores come later), with [`TableIdent`] and [`TableCreation`].
//! - [`MemoryCatalog`]: an in-process catalog over a [`FileIO`], for tests and embedding. It
//!   commits exactly like a server: check requirements, apply updates through the metadata
//!   builder, write the new metadata file with a conditional create, then swap the pointer.
//! - `RestCatalog` (feature `rest`, on by default): a client for any Iceberg REST catalog,
//!   configured with `RestCatalogConfig`; commits go to the server, which does the above.
//! - [`metadata_file_location`]: the `<version>-<uuid>.metadata.json` naming rule.

mod memory;
#[cfg(feature = "rest")]
mod rest;

use std::collections::BTreeMap;

use async_trait::async_trait;

pub use memory::MemoryCatalog;
#[cfg(feature = "rest")]
pub use rest::{RestCatalog, RestCatalogConfig};

use crate::Result;
use crate::io::FileIO;
use crate::spec::{
    Schema, SortOrder, TableMetadata, TableRequirement, TableUpdate, UnboundPartitionSpec,
};
use crate::table::Table;

/// A table's name: its namespace (one or more levels) and its name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TableIdent {
    /// Namespace levels, outermost first.
    pub namespace: Vec<String>,
    /// The table name.
    pub name: String,
}

impl TableIdent {
    /// A table `name` in `namespace`.
    pub fn new(
        namespace: impl IntoIterator<Item = impl Into<String>>,
        name: impl Into<String>,
    ) -> Self {
        Self {
            namespace: namespace.into_iter().map(Into::into).collect(),
            name: name.into(),
        }
    }
}

impl std::fmt::Display for TableIdent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.namespace.join("."), self.name)
    }
}

/// What a new table starts with.
#[derive(Debug, Clone)]
pub struct TableCreation {
    /// The schema (ids as given; the builder keeps them).
    pub schema: Schema,
    /// The partition spec (unpartitioned when empty).
    pub partition_spec: UnboundPartitionSpec,
    /// The sort order (unsorted by default).
    pub sort_order: SortOrder,
    /// The location; the catalog picks one under its warehouse when `None`.
    pub location: Option<String>,
    /// Table properties (`format-version` picks the format version).
    pub properties: BTreeMap<String, String>,
}

impl TableCreation {
    /// An unpartitioned, unsorted table with `schema`.
    pub fn new(schema: Schema) -> Self {
        Self {
            schema,
            partition_spec: UnboundPartitionSpec::default(),
            sort_order: SortOrder::unsorted(),
            location: None,
            properties: BTreeMap::new(),
        }
    }

    /// Set the partition spec.
    pub fn with_partition_spec(mut self, spec: UnboundPartitionSpec) -> Self {
        self.partition_spec = spec;
        self
    }

    /// Set a property.
    pub fn with_property(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.properties.insert(key.into(), value.into());
        self
    }

    /// Set the location.
    pub fn with_location(mut self, location: impl Into<String>) -> Self {
        self.location = Some(location.into());
        self
    }
}

/// A catalog of tables.
#[async_trait]
pub trait Catalog: Send + Sync + std::fmt::Debug {
    /// The FileIO for a table's files.
    fn file_io(&self) -> &FileIO;

    /// Load a table's current metadata.
    async fn load_table(&self, ident: &TableIdent) -> Result<Table>;

    /// Create a table; fails with `AlreadyExists` when the name is taken.
    async fn create_table(&self, ident: &TableIdent, creation: TableCreation) -> Result<Table>;

    /// Commit requirements + updates to a table atomically. A failed requirement is a
    /// retryable `CommitConflict`; nothing is changed then.
    async fn commit_table(
        &self,
        ident: &TableIdent,
        requirements: Vec<TableRequirement>,
        updates: Vec<TableUpdate>,
    ) -> Result<Table>;

    /// Drop a table; with `purge`, delete its files too.
    async fn drop_table(&self, ident: &TableIdent, purge: bool) -> Result<()>;

    /// The tables in a namespace.
    async fn list_tables(&self, namespace: &[String]) -> Result<Vec<TableIdent>>;
}

/// The location of metadata file number `version` of a table: `<metadata dir>/<%05d>-<uuid>.metadata.json`,
/// where the directory is `write.metadata.path` or `<location>/metadata`.
pub fn metadata_file_location(metadata: &TableMetadata, version: u64) -> String {
    format!(
        "{}/{version:05}-{}.metadata.json",
        metadata.metadata_dir(),
        uuid::Uuid::new_v4()
    )
}

/// The version number in a metadata file name (`00003-….metadata.json` is 3), if it has one.
pub fn parse_metadata_version(location: &str) -> Option<u64> {
    let name = location.rsplit('/').next()?;
    let (num, _) = name.split_once('-')?;
    num.parse().ok()
}
