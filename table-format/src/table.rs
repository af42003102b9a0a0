//! A loaded table: its name, current metadata, metadata location and FileIO.
//!
//! - [`Table`]: the handle operations and scans start from.
//! - [`Table::from_metadata_file`]: open a table read-only straight from a metadata file,
//!   without a catalog (what `iceberg_scan` or pyiceberg's `StaticTable` do).

use std::sync::Arc;

use crate::Result;
use crate::catalog::TableIdent;
use crate::io::FileIO;
use crate::spec::TableMetadata;

/// A table at one version of its metadata.
#[derive(Debug, Clone)]
pub struct Table {
    ident: TableIdent,
    metadata: Arc<TableMetadata>,
    metadata_location: String,
    io: FileIO,
}

impl Table {
    /// A table handle.
    pub fn new(
        ident: TableIdent,
        metadata: TableMetadata,
        metadata_location: String,
        io: FileIO,
    ) -> Self {
        Self {
            ident,
            metadata: Arc::new(metadata),
            metadata_location,
            io,
        }
    }

    /// Open a table read-only from a metadata file.
    pub async fn from_metadata_file(io: FileIO, metadata_location: &str) -> Result<Self> {
        let bytes = io.read(metadata_location).await?;
        let md = TableMetadata::from_slice(&bytes)?;
        let name = md
            .location()
            .rsplit('/')
            .next()
            .unwrap_or("table")
            .to_string();
        Ok(Self::new(
            TableIdent::new(Vec::<String>::new(), name),
            md,
            metadata_location.to_string(),
            io,
        ))
    }

    /// The table's name.
    pub fn ident(&self) -> &TableIdent {
        &self.ident
    }

    /// The current metadata.
    pub fn metadata(&self) -> &TableMetadata {
        &self.metadata
    }

    /// The shared current metadata.
    pub fn metadata_arc(&self) -> Arc<TableMetadata> {
        self.metadata.clone()
    }

    /// Where the current metadata was read from.
    pub fn metadata_location(&self) -> &str {
        &self.metadata_location
    }

    /// The FileIO for the table's files.
    pub fn file_io(&self) -> &FileIO {
        &self.io
    }
}
