//! An in-process catalog: table pointers in a map, metadata files on a [`FileIO`].

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use tokio::sync::Mutex;

use super::{Catalog, TableCreation, TableIdent, metadata_file_location, parse_metadata_version};
use crate::io::FileIO;
use crate::spec::{
    TableMetadata, TableMetadataBuilder, TableRequirement, TableUpdate, apply_commit,
};
use crate::table::Table;
use crate::{Error, ErrorKind, Result};

/// A catalog that keeps table pointers in memory and files on a [`FileIO`].
#[derive(Debug, Clone)]
pub struct MemoryCatalog {
    io: FileIO,
    warehouse: String,
    tables: Arc<Mutex<BTreeMap<TableIdent, String>>>,
}

impl MemoryCatalog {
    /// A catalog whose tables live under `warehouse` (a URI the FileIO can write).
    pub fn new(io: FileIO, warehouse: impl Into<String>) -> Self {
        Self {
            io,
            warehouse: warehouse.into().trim_end_matches('/').to_string(),
            tables: Arc::new(Mutex::new(BTreeMap::new())),
        }
    }

    /// The current metadata location of a table.
    pub async fn metadata_location(&self, ident: &TableIdent) -> Option<String> {
        self.tables.lock().await.get(ident).cloned()
    }

    async fn read_metadata(&self, location: &str) -> Result<TableMetadata> {
        let bytes = self.io.read(location).await?;
        TableMetadata::from_slice(&bytes)
    }

    async fn write_new_metadata(
        &self,
        md: &TableMetadata,
        previous: Option<&str>,
    ) -> Result<String> {
        let version = previous
            .and_then(parse_metadata_version)
            .map(|v| v + 1)
            .unwrap_or(0);
        let location = metadata_file_location(md, version);
        self.io.create(&location, Bytes::from(md.to_vec()?)).await?;
        Ok(location)
    }
}

#[async_trait]
impl Catalog for MemoryCatalog {
    fn file_io(&self) -> &FileIO {
        &self.io
    }

    async fn load_table(&self, ident: &TableIdent) -> Result<Table> {
        let location = self
            .tables
            .lock()
            .await
            .get(ident)
            .cloned()
            .ok_or_else(|| {
                Error::new(ErrorKind::NotFound, format!("table {ident} does not exist"))
            })?;
        let md = self.read_metadata(&location).await?;
        Ok(Table::new(ident.clone(), md, location, self.io.clone()))
    }

    async fn create_table(&self, ident: &TableIdent, creation: TableCreation) -> Result<Table> {
        if self.tables.lock().await.contains_key(ident) {
            return Err(Error::new(
                ErrorKind::AlreadyExists,
                format!("table {ident} already exists"),
            ));
        }
        let location = creation.location.clone().unwrap_or_else(|| {
            format!(
                "{}/{}/{}",
                self.warehouse,
                ident.namespace.join("/"),
                ident.name
            )
        });
        let built = TableMetadataBuilder::new_table(
            creation.schema,
            creation.partition_spec,
            creation.sort_order,
            location,
            creation.properties,
        )?
        .build()?;
        let md = built.metadata;
        let md_location = self.write_new_metadata(&md, None).await?;
        let mut tables = self.tables.lock().await;
        if tables.contains_key(ident) {
            drop(tables);
            self.io.delete(&md_location).await?;
            return Err(Error::new(
                ErrorKind::AlreadyExists,
                format!("table {ident} already exists"),
            ));
        }
        tables.insert(ident.clone(), md_location.clone());
        Ok(Table::new(ident.clone(), md, md_location, self.io.clone()))
    }

    async fn commit_table(
        &self,
        ident: &TableIdent,
        requirements: Vec<TableRequirement>,
        updates: Vec<TableUpdate>,
    ) -> Result<Table> {
        let current_location = self
            .tables
            .lock()
            .await
            .get(ident)
            .cloned()
            .ok_or_else(|| {
                Error::new(ErrorKind::NotFound, format!("table {ident} does not exist"))
            })?;
        let current = self.read_metadata(&current_location).await?;
        let Some(built) =
            apply_commit(Some((&current, &current_location)), &requirements, updates)?
        else {
            return Ok(Table::new(
                ident.clone(),
                current,
                current_location,
                self.io.clone(),
            ));
        };
        let md = built.metadata;
        let new_location = self
            .write_new_metadata(&md, Some(&current_location))
            .await?;
        // Compare-and-swap the pointer: only if nobody moved it since we read it.
        let mut tables = self.tables.lock().await;
        match tables.get(ident) {
            Some(loc) if *loc == current_location => {
                tables.insert(ident.clone(), new_location.clone());
            }
            _ => {
                drop(tables);
                self.io.delete(&new_location).await?;
                return Err(Error::conflict(format!(
                    "table {ident} changed while committing; refresh and retry"
                )));
            }
        }
        Ok(Table::new(ident.clone(), md, new_location, self.io.clone()))
    }

    async fn drop_table(&self, ident: &TableIdent, purge: bool) -> Result<()> {
        let location = self.tables.lock().await.remove(ident).ok_or_else(|| {
            Error::new(ErrorKind::NotFound, format!("table {ident} does not exist"))
        })?;
        if purge {
            let md = self.read_metadata(&location).await?;
            for f in self.io.list(md.location()).await? {
                self.io.delete(&f.path).await?;
            }
        }
        Ok(())
    }

    async fn list_tables(&self, namespace: &[String]) -> Result<Vec<TableIdent>> {
        Ok(self
            .tables
            .lock()
            .await
            .keys()
            .filter(|t| t.namespace == namespace)
            .cloned()
            .collect())
    }
}
