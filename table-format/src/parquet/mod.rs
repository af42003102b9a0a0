//! Parquet data files (spec Appendix A "Parquet"): writing Arrow batches with Iceberg field ids
//! and describing the result as a [`DataFile`](crate::spec::DataFile) with column metrics.
//!
//! - [`writer`]: [`ParquetWriteOptions`], [`ParquetFileWriter`], [`write_data_file`].
//! - [`metrics`]: [`MetricsConfig`] (the `write.metadata.metrics.*` modes) and how a file's
//!   footer becomes `column_sizes`, `value_counts`, `null_value_counts`, `nan_value_counts`,
//!   `lower_bounds` and `upper_bounds`, with the bound truncation helpers.

pub mod metrics;
pub mod writer;

pub use metrics::MetricsConfig;
pub use writer::{ParquetFileWriter, ParquetWriteOptions, write_data_file};
