//! Writing one Parquet data file through [`FileIO`], and the [`DataFile`] that describes it.
//!
//! - [`ParquetWriteOptions`]: codec, row group and page sizes, metrics config; from table
//!   properties (`write.parquet.*`, `write.metadata.metrics.*`).
//! - [`ParquetFileWriter`]: streams Arrow batches into one file; [`ParquetFileWriter::close`]
//!   completes the upload and returns the [`DataFile`] with its metrics.
//! - [`write_data_file`]: the same in one call.
//!
//! Bytes go to the store through an `object_store` buffered upload: a small file is one PUT at
//! close, a large one a multipart upload completed at close, so that no reader ever sees a
//! half-written file at the final path. Nothing is left behind by [`ParquetFileWriter::abort`]
//! or a failed close (the upload is aborted).

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use object_store::buffered::BufWriter;
use parquet::arrow::AsyncArrowWriter;
use parquet::basic::{Compression, GzipLevel, ZstdLevel};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::{EnabledStatistics, WriterProperties};

use super::metrics::{FileMetrics, MetricsConfig, parquet_error};
use crate::arrow::iceberg_schema_to_arrow;
use crate::io::FileIO;
use crate::spec::{DataContentType, DataFile, DataFileFormat, Schema, SortOrder, TableProperties};
use crate::{Error, Result};

/// The Parquet footer key holding the table schema as Iceberg JSON (as Java writes it).
pub const ICEBERG_SCHEMA_KEY: &str = "iceberg.schema";

/// How data files of a table are written: codec, sizes and column metrics.
#[derive(Debug, Clone)]
pub struct ParquetWriteOptions {
    compression: Compression,
    row_group_size_bytes: usize,
    page_size_bytes: usize,
    metrics: MetricsConfig,
}

impl Default for ParquetWriteOptions {
    fn default() -> Self {
        let p = TableProperties::default();
        Self {
            compression: Compression::ZSTD(ZstdLevel::default()),
            row_group_size_bytes: p.write_parquet_row_group_size_bytes as usize,
            page_size_bytes: p.write_parquet_page_size_bytes as usize,
            metrics: MetricsConfig::default(),
        }
    }
}

impl ParquetWriteOptions {
    /// The options of a table: `write.parquet.compression-codec` (zstd, snappy, gzip, lz4,
    /// uncompressed/none) with `write.parquet.compression-level`,
    /// `write.parquet.row-group-size-bytes`, `write.parquet.page-size-bytes`, and the metrics
    /// config of [`MetricsConfig::from_table`].
    pub fn from_table(
        properties: &BTreeMap<String, String>,
        schema: &Schema,
        sort_order: Option<&SortOrder>,
    ) -> Result<Self> {
        let p = TableProperties::try_from_map(properties)?;
        Ok(Self {
            compression: compression(
                &p.write_parquet_compression_codec,
                p.write_parquet_compression_level,
            )?,
            row_group_size_bytes: usize::try_from(p.write_parquet_row_group_size_bytes)
                .unwrap_or(usize::MAX)
                .max(1),
            page_size_bytes: usize::try_from(p.write_parquet_page_size_bytes)
                .unwrap_or(usize::MAX)
                .max(1),
            metrics: MetricsConfig::from_table(properties, schema, sort_order)?,
        })
    }

    /// These options with another codec.
    pub fn with_compression(mut self, compression: Compression) -> Self {
        self.compression = compression;
        self
    }

    /// These options with another row group size (bytes, estimated before compression).
    pub fn with_row_group_size_bytes(mut self, bytes: usize) -> Self {
        self.row_group_size_bytes = bytes.max(1);
        self
    }

    /// These options with another metrics config.
    pub fn with_metrics(mut self, metrics: MetricsConfig) -> Self {
        self.metrics = metrics;
        self
    }

    /// The codec.
    pub fn compression(&self) -> Compression {
        self.compression
    }

    /// The metrics config.
    pub fn metrics(&self) -> &MetricsConfig {
        &self.metrics
    }

    fn writer_properties(&self, schema: &Schema) -> Result<WriterProperties> {
        let schema_json = serde_json::to_string(schema)?;
        Ok(WriterProperties::builder()
            .set_compression(self.compression)
            .set_max_row_group_bytes(Some(self.row_group_size_bytes))
            .set_data_page_size_limit(self.page_size_bytes)
            .set_statistics_enabled(EnabledStatistics::Chunk)
            // Bounds come from the chunk statistics: keep them exact (Java's default too), and
            // let the metrics mode decide the truncation.
            .set_statistics_truncate_length(None)
            .set_key_value_metadata(Some(vec![KeyValue::new(
                ICEBERG_SCHEMA_KEY.to_string(),
                schema_json,
            )]))
            .build())
    }
}

/// The codec named by `write.parquet.compression-codec`, at `level` if one is set.
fn compression(codec: &str, level: Option<i32>) -> Result<Compression> {
    let bad_level = |e: parquet::errors::ParquetError| {
        Error::invalid(format!(
            "table property 'write.parquet.compression-level' is out of range for {codec}: {e}"
        ))
    };
    Ok(match codec {
        "zstd" => Compression::ZSTD(match level {
            Some(l) => ZstdLevel::try_new(l).map_err(bad_level)?,
            None => ZstdLevel::default(),
        }),
        "gzip" => Compression::GZIP(match level {
            Some(l) => {
                GzipLevel::try_new(u32::try_from(l).unwrap_or(u32::MAX)).map_err(bad_level)?
            }
            None => GzipLevel::default(),
        }),
        "snappy" => Compression::SNAPPY,
        "lz4" | "lz4_raw" => Compression::LZ4_RAW,
        "uncompressed" | "none" => Compression::UNCOMPRESSED,
        other => {
            return Err(Error::unsupported(format!(
                "table property 'write.parquet.compression-codec' is '{other}'; Floe writes \
                 zstd, snappy, gzip, lz4 or uncompressed"
            )));
        }
    })
}

/// Writes Arrow batches of a table into one Parquet file and describes it as a [`DataFile`].
///
/// Batches are checked against the table schema (and brought to its exact Arrow form) with
/// [`crate::writer::conform_batch`]; the Parquet schema carries the Iceberg field ids.
pub struct ParquetFileWriter {
    path: String,
    schema: Arc<Schema>,
    arrow_schema: SchemaRef,
    metrics: MetricsConfig,
    inner: AsyncArrowWriter<BufWriter>,
    rows: u64,
}

impl std::fmt::Debug for ParquetFileWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParquetFileWriter")
            .field("path", &self.path)
            .field("rows", &self.rows)
            .finish()
    }
}

impl ParquetFileWriter {
    /// Start a file at `path` (a full URI of `io`'s store) for rows of `schema`.
    pub fn try_new(
        io: &FileIO,
        path: impl Into<String>,
        schema: Arc<Schema>,
        options: &ParquetWriteOptions,
    ) -> Result<Self> {
        let arrow_schema = Arc::new(iceberg_schema_to_arrow(&schema)?);
        Self::with_arrow_schema(io, path, schema, arrow_schema, options)
    }

    /// Like [`ParquetFileWriter::try_new`], with the table's Arrow schema already converted
    /// (it must be `iceberg_schema_to_arrow(&schema)`).
    pub(crate) fn with_arrow_schema(
        io: &FileIO,
        path: impl Into<String>,
        schema: Arc<Schema>,
        arrow_schema: SchemaRef,
        options: &ParquetWriteOptions,
    ) -> Result<Self> {
        let path = path.into();
        let object = io.object_path(&path)?;
        let sink = BufWriter::new(io.store(), object);
        let props = options.writer_properties(&schema)?;
        let inner = AsyncArrowWriter::try_new(sink, arrow_schema.clone(), Some(props))
            .map_err(|e| parquet_error(format!("cannot start Parquet file {path}"), e))?;
        Ok(Self {
            path,
            schema,
            arrow_schema,
            metrics: options.metrics.clone(),
            inner,
            rows: 0,
        })
    }

    /// The file's location.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Rows written so far.
    pub fn record_count(&self) -> u64 {
        self.rows
    }

    /// Estimated file size so far: bytes flushed plus the encoded size of the row group in
    /// progress (before compression, so an overestimate until it is flushed).
    pub fn estimated_size(&self) -> u64 {
        (self.inner.bytes_written() + self.inner.in_progress_size()) as u64
    }

    /// Append a batch. On error the file is incomplete: call [`ParquetFileWriter::abort`].
    pub async fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        let batch = crate::writer::conform_batch(&self.schema, &self.arrow_schema, batch)?;
        self.write_conformed(&batch).await
    }

    /// Append a batch that already has exactly the table's Arrow schema.
    pub(crate) async fn write_conformed(&mut self, batch: &RecordBatch) -> Result<()> {
        self.inner
            .write(batch)
            .await
            .map_err(|e| parquet_error(format!("cannot write to {}", self.path), e))?;
        self.rows += batch.num_rows() as u64;
        Ok(())
    }

    /// Finish the file: flush, write the footer and complete the upload. Returns the
    /// [`DataFile`] (content data, no partition tuple yet) with its metrics.
    pub async fn close(mut self) -> Result<DataFile> {
        let meta = match self.inner.finish().await {
            Ok(meta) => meta,
            Err(e) => {
                // The upload was already being completed when it failed, so it cannot be
                // aborted any more (object_store's BufWriter panics if asked to): nothing is
                // visible at the path, and an incomplete multipart upload expires on its own.
                return Err(parquet_error(format!("cannot finish {}", self.path), e));
            }
        };
        let metrics = FileMetrics::from_parquet(&meta, &self.schema, &self.metrics)?;
        let mut file = DataFile {
            content: DataContentType::Data,
            file_path: self.path,
            file_format: DataFileFormat::Parquet,
            file_size_in_bytes: self.inner.bytes_written() as i64,
            ..DataFile::default()
        };
        metrics.apply_to(&mut file);
        Ok(file)
    }

    /// Give the file up: nothing becomes visible at its path.
    pub async fn abort(self) -> Result<()> {
        let path = self.path;
        let mut sink = self.inner.into_inner();
        sink.abort()
            .await
            .map_err(|e| Error::new(crate::ErrorKind::Io, format!("cannot abort {path}: {e}")))
    }
}

/// Write `batches` of `schema` as one Parquet file at `path` and describe it.
pub async fn write_data_file(
    io: &FileIO,
    path: impl Into<String>,
    schema: Arc<Schema>,
    options: &ParquetWriteOptions,
    batches: &[RecordBatch],
) -> Result<DataFile> {
    let mut writer = ParquetFileWriter::try_new(io, path, schema, options)?;
    for b in batches {
        if let Err(e) = writer.write(b).await {
            let _ = writer.abort().await;
            return Err(e);
        }
    }
    writer.close().await
}
