//! Writing rows of a table as data files: validate, route to partitions, roll files by size.
//!
//! - [`PartitionedWriter`] (built with [`PartitionedWriter::builder`]): accepts Arrow batches,
//!   computes each row's partition tuple with the spec's transforms, writes one or more Parquet
//!   files per partition (a new file once `write.target-file-size-bytes` is reached) and
//!   returns their [`DataFile`]s with the partition tuples set. Unpartitioned tables skip the
//!   routing.
//! - [`conform_batch`]: the schema check every batch goes through first (see [`conform`]).
//! - [`partition_path`], [`human_string`]: partition directory names.
//!
//! File names are `<data-location>/<partition path>/<write uuid>-<nnnnn>.parquet`, one uuid
//! per writer and a counter per file. A batch is checked and split completely before any of
//! its rows are written, so a refused batch writes nothing. After any error the writer should
//! be given up with [`PartitionedWriter::abort`], which also deletes the files it completed.

pub mod conform;
mod partition;

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use rustc_hash::FxHashMap;
use uuid::Uuid;

pub use conform::conform_batch;
pub use partition::{human_string, partition_path};

use crate::arrow::iceberg_schema_to_arrow;
use crate::io::FileIO;
use crate::parquet::{ParquetFileWriter, ParquetWriteOptions};
use crate::spec::{DataFile, PartitionSpec, PartitionValues, Schema, SortOrder, TableProperties};
use crate::{Error, Result};
use partition::{PartitionKey, PartitionRouter};

/// How many rows go into a file between two checks of its size.
const ROLL_CHECK_ROWS: usize = 32 * 1024;

/// Builds a [`PartitionedWriter`].
#[derive(Debug)]
pub struct PartitionedWriterBuilder {
    schema: Arc<Schema>,
    io: FileIO,
    data_location: String,
    spec: PartitionSpec,
    properties: BTreeMap<String, String>,
    sort_order: Option<SortOrder>,
    options: Option<ParquetWriteOptions>,
    target_file_size_bytes: Option<u64>,
}

impl PartitionedWriterBuilder {
    /// Partition rows by `spec` (default: unpartitioned).
    pub fn partition_spec(mut self, spec: PartitionSpec) -> Self {
        self.spec = spec;
        self
    }

    /// Take codec, sizes, metrics modes and the target file size from the table's properties.
    pub fn table_properties(mut self, properties: &BTreeMap<String, String>) -> Self {
        self.properties = properties.clone();
        self
    }

    /// The table's sort order (its columns get bounds even when metrics default to counts).
    pub fn sort_order(mut self, order: SortOrder) -> Self {
        self.sort_order = Some(order);
        self
    }

    /// Use these Parquet options instead of the ones the table properties give.
    pub fn parquet_options(mut self, options: ParquetWriteOptions) -> Self {
        self.options = Some(options);
        self
    }

    /// Roll to a new file once a file reaches this many bytes (estimated while writing).
    pub fn target_file_size_bytes(mut self, bytes: u64) -> Self {
        self.target_file_size_bytes = Some(bytes);
        self
    }

    /// Check the spec against the schema and make the writer.
    pub fn build(self) -> Result<PartitionedWriter> {
        let router = PartitionRouter::try_new(&self.spec, &self.schema)?;
        let props = TableProperties::try_from_map(&self.properties)?;
        let options = match self.options {
            Some(o) => o,
            None => ParquetWriteOptions::from_table(
                &self.properties,
                &self.schema,
                self.sort_order.as_ref(),
            )?,
        };
        let arrow_schema = Arc::new(iceberg_schema_to_arrow(&self.schema)?);
        Ok(PartitionedWriter {
            schema: self.schema,
            arrow_schema,
            router,
            io: self.io,
            data_location: self.data_location.trim_end_matches('/').to_string(),
            options,
            target_file_size_bytes: self
                .target_file_size_bytes
                .unwrap_or(props.write_target_file_size_bytes)
                .max(1),
            write_id: Uuid::new_v4(),
            next_file: 0,
            open: FxHashMap::default(),
            done: Vec::new(),
        })
    }
}

/// A file being written for one partition.
struct OpenFile {
    seq: u64,
    writer: ParquetFileWriter,
    values: PartitionValues,
}

/// Writes rows of a table into Parquet data files, split by partition and rolled by size.
pub struct PartitionedWriter {
    schema: Arc<Schema>,
    arrow_schema: SchemaRef,
    router: PartitionRouter,
    io: FileIO,
    data_location: String,
    options: ParquetWriteOptions,
    target_file_size_bytes: u64,
    write_id: Uuid,
    next_file: u64,
    open: FxHashMap<PartitionKey, OpenFile>,
    /// Completed files, with their sequence numbers.
    done: Vec<(u64, DataFile)>,
}

impl std::fmt::Debug for PartitionedWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PartitionedWriter")
            .field("data_location", &self.data_location)
            .field("write_id", &self.write_id)
            .field("open_files", &self.open.len())
            .field("done_files", &self.done.len())
            .finish()
    }
}

impl PartitionedWriter {
    /// Start building a writer for rows of `schema`, writing under `data_location` (a full URI
    /// of `io`'s store, usually `<table location>/data`).
    pub fn builder(
        schema: Arc<Schema>,
        io: FileIO,
        data_location: impl Into<String>,
    ) -> PartitionedWriterBuilder {
        PartitionedWriterBuilder {
            schema,
            io,
            data_location: data_location.into(),
            spec: PartitionSpec::unpartitioned(),
            properties: BTreeMap::new(),
            sort_order: None,
            options: None,
            target_file_size_bytes: None,
        }
    }

    /// The table's Arrow schema, which every batch is brought to.
    pub fn arrow_schema(&self) -> &SchemaRef {
        &self.arrow_schema
    }

    /// Write a batch. It is checked against the table schema and split by partition first;
    /// if that fails nothing is written.
    pub async fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        let batch = conform_batch(&self.schema, &self.arrow_schema, batch)?;
        if batch.num_rows() == 0 {
            return Ok(());
        }
        for group in self.router.split(&batch)? {
            self.write_partition(group.key, group.values, &group.rows)
                .await?;
        }
        Ok(())
    }

    async fn write_partition(
        &mut self,
        key: PartitionKey,
        values: PartitionValues,
        rows: &RecordBatch,
    ) -> Result<()> {
        let mut offset = 0;
        let total = rows.num_rows();
        while offset < total {
            let len = ROLL_CHECK_ROWS.min(total - offset);
            let chunk = rows.slice(offset, len);
            offset += len;
            if !self.open.contains_key(&key) {
                let file = self.open_file(values.clone())?;
                self.open.insert(key.clone(), file);
            }
            let Some(file) = self.open.get_mut(&key) else {
                return Err(Error::invalid("partition writer vanished"));
            };
            file.writer.write_conformed(&chunk).await?;
            if file.writer.estimated_size() >= self.target_file_size_bytes
                && let Some(file) = self.open.remove(&key)
            {
                let seq = file.seq;
                let done = Self::finish(file).await?;
                self.done.push((seq, done));
            }
        }
        Ok(())
    }

    fn open_file(&mut self, values: PartitionValues) -> Result<OpenFile> {
        let seq = self.next_file;
        self.next_file += 1;
        let dir = self.router.path(&values);
        let name = format!("{}-{seq:05}.parquet", self.write_id);
        let path = if dir.is_empty() {
            format!("{}/{name}", self.data_location)
        } else {
            format!("{}/{dir}/{name}", self.data_location)
        };
        let writer = ParquetFileWriter::with_arrow_schema(
            &self.io,
            path,
            self.schema.clone(),
            self.arrow_schema.clone(),
            &self.options,
        )?;
        Ok(OpenFile {
            seq,
            writer,
            values,
        })
    }

    async fn finish(file: OpenFile) -> Result<DataFile> {
        let mut data_file = file.writer.close().await?;
        data_file.partition = file.values;
        Ok(data_file)
    }

    /// Finish every open file and return all data files written, in the order they were
    /// started.
    pub async fn close(mut self) -> Result<Vec<DataFile>> {
        let mut open: Vec<OpenFile> = self.open.drain().map(|(_, f)| f).collect();
        open.sort_by_key(|f| f.seq);
        let mut pending = open.into_iter();
        while let Some(file) = pending.next() {
            let seq = file.seq;
            match Self::finish(file).await {
                Ok(done) => self.done.push((seq, done)),
                Err(e) => {
                    for rest in pending {
                        let _ = rest.writer.abort().await;
                    }
                    for (_, done) in &self.done {
                        let _ = self.io.delete(&done.file_path).await;
                    }
                    return Err(e);
                }
            }
        }
        self.done.sort_by_key(|(seq, _)| *seq);
        Ok(self.done.into_iter().map(|(_, f)| f).collect())
    }

    /// Give up: abort the files in progress and delete the ones already completed.
    pub async fn abort(mut self) -> Result<()> {
        let mut first_err = None;
        for (_, file) in self.open.drain() {
            if let Err(e) = file.writer.abort().await {
                first_err.get_or_insert(e);
            }
        }
        for (_, done) in &self.done {
            if let Err(e) = self.io.delete(&done.file_path).await {
                first_err.get_or_insert(e);
            }
        }
        first_err.map_or(Ok(()), Err)
    }
}
