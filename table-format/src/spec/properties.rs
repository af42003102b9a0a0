//! Table properties, parsed once into a typed struct with the spec's and Java's defaults.
//!
//! - [`TableProperties`]: every property Floe acts on (`write.*`, `commit.retry.*`,
//!   `history.expire.*`, `write.metadata.*`, `floe.*`), parsed from the metadata's string map.
//! - [`MetricsMode`]: the `write.metadata.metrics.*` column-metrics modes.
//! - [`RESERVED_PROPERTIES`]: keys that describe metadata itself and are never persisted.

use std::collections::BTreeMap;
use std::str::FromStr;

use crate::{Error, Result};

/// Properties that clients may send but that are never stored in table metadata.
pub const RESERVED_PROPERTIES: &[&str] = &[
    "format-version",
    "uuid",
    "snapshot-count",
    "current-snapshot-id",
    "current-snapshot-summary",
    "current-snapshot-timestamp-ms",
    "current-schema",
    "default-partition-spec",
    "default-sort-order",
];

/// `format-version`: chosen at create time through the properties, never stored.
pub const FORMAT_VERSION: &str = "format-version";

/// How much column-level metrics a writer keeps for a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricsMode {
    /// No metrics.
    None,
    /// Value, null and NaN counts only.
    Counts,
    /// Counts plus bounds truncated to this many characters or bytes.
    Truncate(u32),
    /// Counts plus full bounds.
    Full,
}

impl FromStr for MetricsMode {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        let t = s.trim().to_ascii_lowercase();
        Ok(match t.as_str() {
            "none" => MetricsMode::None,
            "counts" => MetricsMode::Counts,
            "full" => MetricsMode::Full,
            _ => {
                let n = t
                    .strip_prefix("truncate(")
                    .and_then(|r| r.strip_suffix(')'))
                    .and_then(|n| n.trim().parse::<u32>().ok())
                    .filter(|n| *n > 0)
                    .ok_or_else(|| {
                        Error::invalid(format!(
                            "invalid metrics mode '{s}': expected none, counts, truncate(N) or full"
                        ))
                    })?;
                MetricsMode::Truncate(n)
            }
        })
    }
}

/// `write.delete.mode` and friends: how row-level changes are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowLevelMode {
    /// Rewrite affected data files.
    CopyOnWrite,
    /// Write delete files.
    MergeOnRead,
}

impl FromStr for RowLevelMode {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.trim() {
            "copy-on-write" => Ok(RowLevelMode::CopyOnWrite),
            "merge-on-read" => Ok(RowLevelMode::MergeOnRead),
            other => Err(Error::invalid(format!(
                "invalid row-level mode '{other}': expected copy-on-write or merge-on-read"
            ))),
        }
    }
}

/// Every table property Floe acts on, with defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct TableProperties {
    /// `write.format.default` (parquet).
    pub write_format: String,
    /// `write.target-file-size-bytes` (512 MiB).
    pub write_target_file_size_bytes: u64,
    /// `write.parquet.compression-codec` (zstd).
    pub write_parquet_compression_codec: String,
    /// `write.parquet.compression-level`.
    pub write_parquet_compression_level: Option<i32>,
    /// `write.parquet.row-group-size-bytes` (128 MiB).
    pub write_parquet_row_group_size_bytes: u64,
    /// `write.parquet.page-size-bytes` (1 MiB).
    pub write_parquet_page_size_bytes: u64,
    /// `write.metadata.metrics.default` (truncate(16)).
    pub write_metadata_metrics_default: MetricsMode,
    /// `write.metadata.metrics.max-inferred-column-defaults` (100).
    pub write_metadata_metrics_max_inferred_columns: u32,
    /// `write.metadata.metrics.column.<name>` overrides.
    pub write_metadata_metrics_columns: BTreeMap<String, MetricsMode>,
    /// `write.metadata.compression-codec` (none; gzip allowed).
    pub write_metadata_compression_codec: String,
    /// `write.metadata.previous-versions-max` (100).
    pub write_metadata_previous_versions_max: usize,
    /// `write.metadata.delete-after-commit.enabled` (false).
    pub write_metadata_delete_after_commit: bool,
    /// `write.metadata.path`: where metadata files go, if not `<location>/metadata`.
    pub write_metadata_path: Option<String>,
    /// `write.data.path`: where data files go, if not `<location>/data`.
    pub write_data_path: Option<String>,
    /// `write.object-storage.enabled` (false).
    pub write_object_storage_enabled: bool,
    /// `write.summary.partition-limit` (0).
    pub write_summary_partition_limit: u32,
    /// `write.delete.mode` (copy-on-write).
    pub write_delete_mode: RowLevelMode,
    /// `write.update.mode` (copy-on-write).
    pub write_update_mode: RowLevelMode,
    /// `write.merge.mode` (copy-on-write).
    pub write_merge_mode: RowLevelMode,
    /// `commit.retry.num-retries` (4).
    pub commit_retry_num_retries: u32,
    /// `commit.retry.min-wait-ms` (100).
    pub commit_retry_min_wait_ms: u64,
    /// `commit.retry.max-wait-ms` (60000).
    pub commit_retry_max_wait_ms: u64,
    /// `commit.retry.total-timeout-ms` (1800000).
    pub commit_retry_total_timeout_ms: u64,
    /// `commit.manifest.target-size-bytes` (8 MiB).
    pub commit_manifest_target_size_bytes: u64,
    /// `commit.manifest.min-count-to-merge` (100).
    pub commit_manifest_min_count_to_merge: u32,
    /// `commit.manifest-merge.enabled` (true).
    pub commit_manifest_merge_enabled: bool,
    /// `history.expire.max-snapshot-age-ms` (5 days).
    pub history_expire_max_snapshot_age_ms: i64,
    /// `history.expire.min-snapshots-to-keep` (1).
    pub history_expire_min_snapshots_to_keep: i32,
    /// `history.expire.max-ref-age-ms` (forever).
    pub history_expire_max_ref_age_ms: i64,
    /// `gc.enabled` (true): whether maintenance may delete files.
    pub gc_enabled: bool,
    /// `floe.commit.rebase-appends` (true): let the server rebase conflicting pure appends.
    pub floe_commit_rebase_appends: bool,
    /// `floe.upsert.merge-deltas.min-delete-files` (16; 0 turns it off): after an upsert
    /// leaves this many equality delete files in one scope, the upsert also merges the rows
    /// and keys written since the oldest of them into one data file and one delete file.
    pub floe_upsert_merge_deltas_min_delete_files: usize,
}

impl Default for TableProperties {
    fn default() -> Self {
        Self {
            write_format: "parquet".to_string(),
            write_target_file_size_bytes: 512 * 1024 * 1024,
            write_parquet_compression_codec: "zstd".to_string(),
            write_parquet_compression_level: None,
            write_parquet_row_group_size_bytes: 128 * 1024 * 1024,
            write_parquet_page_size_bytes: 1024 * 1024,
            write_metadata_metrics_default: MetricsMode::Truncate(16),
            write_metadata_metrics_max_inferred_columns: 100,
            write_metadata_metrics_columns: BTreeMap::new(),
            write_metadata_compression_codec: "none".to_string(),
            write_metadata_previous_versions_max: 100,
            write_metadata_delete_after_commit: false,
            write_metadata_path: None,
            write_data_path: None,
            write_object_storage_enabled: false,
            write_summary_partition_limit: 0,
            write_delete_mode: RowLevelMode::CopyOnWrite,
            write_update_mode: RowLevelMode::CopyOnWrite,
            write_merge_mode: RowLevelMode::CopyOnWrite,
            commit_retry_num_retries: 4,
            commit_retry_min_wait_ms: 100,
            commit_retry_max_wait_ms: 60_000,
            commit_retry_total_timeout_ms: 1_800_000,
            commit_manifest_target_size_bytes: 8 * 1024 * 1024,
            commit_manifest_min_count_to_merge: 100,
            commit_manifest_merge_enabled: true,
            history_expire_max_snapshot_age_ms: 432_000_000,
            history_expire_min_snapshots_to_keep: 1,
            history_expire_max_ref_age_ms: i64::MAX,
            gc_enabled: true,
            floe_commit_rebase_appends: true,
            floe_upsert_merge_deltas_min_delete_files: 16,
        }
    }
}

fn parse<T: FromStr>(key: &str, value: &str) -> Result<T> {
    value.trim().parse::<T>().map_err(|_| {
        Error::invalid(format!(
            "table property '{key}' has the invalid value '{value}'"
        ))
    })
}

fn parse_bool(key: &str, value: &str) -> Result<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(Error::invalid(format!(
            "table property '{key}' must be true or false, not '{value}'"
        ))),
    }
}

impl TableProperties {
    /// Parse the properties Floe knows from a table's string map; unknown keys are ignored,
    /// a known key with a bad value is an error naming the key.
    pub fn try_from_map(props: &BTreeMap<String, String>) -> Result<Self> {
        let mut p = TableProperties::default();
        for (k, v) in props {
            match k.as_str() {
                "write.format.default" => p.write_format = v.trim().to_ascii_lowercase(),
                "write.target-file-size-bytes" => p.write_target_file_size_bytes = parse(k, v)?,
                "write.parquet.compression-codec" => {
                    p.write_parquet_compression_codec = v.trim().to_ascii_lowercase()
                }
                "write.parquet.compression-level" => {
                    p.write_parquet_compression_level = Some(parse(k, v)?)
                }
                "write.parquet.row-group-size-bytes" => {
                    p.write_parquet_row_group_size_bytes = parse(k, v)?
                }
                "write.parquet.page-size-bytes" => p.write_parquet_page_size_bytes = parse(k, v)?,
                "write.metadata.metrics.default" => {
                    p.write_metadata_metrics_default = v.parse().map_err(|e: Error| e.context(k))?
                }
                "write.metadata.metrics.max-inferred-column-defaults" => {
                    p.write_metadata_metrics_max_inferred_columns = parse(k, v)?
                }
                "write.metadata.compression-codec" => {
                    let c = v.trim().to_ascii_lowercase();
                    if c != "none" && c != "gzip" {
                        return Err(Error::invalid(format!(
                            "table property '{k}' must be none or gzip, not '{v}'"
                        )));
                    }
                    p.write_metadata_compression_codec = c;
                }
                "write.metadata.previous-versions-max" => {
                    // Java treats values below 1 as 1.
                    p.write_metadata_previous_versions_max = parse::<i64>(k, v)?.max(1) as usize
                }
                "write.metadata.delete-after-commit.enabled" => {
                    p.write_metadata_delete_after_commit = parse_bool(k, v)?
                }
                "write.metadata.path" => p.write_metadata_path = Some(v.clone()),
                "write.data.path" => p.write_data_path = Some(v.clone()),
                "write.object-storage.enabled" => {
                    p.write_object_storage_enabled = parse_bool(k, v)?
                }
                "write.summary.partition-limit" => p.write_summary_partition_limit = parse(k, v)?,
                "write.delete.mode" => p.write_delete_mode = v.parse()?,
                "write.update.mode" => p.write_update_mode = v.parse()?,
                "write.merge.mode" => p.write_merge_mode = v.parse()?,
                "commit.retry.num-retries" => p.commit_retry_num_retries = parse(k, v)?,
                "commit.retry.min-wait-ms" => p.commit_retry_min_wait_ms = parse(k, v)?,
                "commit.retry.max-wait-ms" => p.commit_retry_max_wait_ms = parse(k, v)?,
                "commit.retry.total-timeout-ms" => p.commit_retry_total_timeout_ms = parse(k, v)?,
                "commit.manifest.target-size-bytes" => {
                    p.commit_manifest_target_size_bytes = parse(k, v)?
                }
                "commit.manifest.min-count-to-merge" => {
                    p.commit_manifest_min_count_to_merge = parse(k, v)?
                }
                "commit.manifest-merge.enabled" => {
                    p.commit_manifest_merge_enabled = parse_bool(k, v)?
                }
                "history.expire.max-snapshot-age-ms" => {
                    p.history_expire_max_snapshot_age_ms = parse(k, v)?
                }
                "history.expire.min-snapshots-to-keep" => {
                    p.history_expire_min_snapshots_to_keep = parse(k, v)?
                }
                "history.expire.max-ref-age-ms" => p.history_expire_max_ref_age_ms = parse(k, v)?,
                "gc.enabled" => p.gc_enabled = parse_bool(k, v)?,
                "floe.commit.rebase-appends" => p.floe_commit_rebase_appends = parse_bool(k, v)?,
                "floe.upsert.merge-deltas.min-delete-files" => {
                    p.floe_upsert_merge_deltas_min_delete_files = parse(k, v)?
                }
                _ => {
                    if let Some(col) = k.strip_prefix("write.metadata.metrics.column.") {
                        let mode = v.parse().map_err(|e: Error| e.context(k))?;
                        p.write_metadata_metrics_columns
                            .insert(col.to_string(), mode);
                    }
                }
            }
        }
        Ok(p)
    }

    /// The metrics mode for column `name` (full dotted name).
    pub fn metrics_mode(&self, name: &str) -> MetricsMode {
        self.write_metadata_metrics_columns
            .get(name)
            .copied()
            .unwrap_or(self.write_metadata_metrics_default)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_when_empty() {
        let p = TableProperties::try_from_map(&BTreeMap::new()).unwrap();
        assert_eq!(p, TableProperties::default());
        assert_eq!(p.commit_retry_num_retries, 4);
        assert_eq!(p.history_expire_max_snapshot_age_ms, 432_000_000);
        assert_eq!(p.write_metadata_metrics_default, MetricsMode::Truncate(16));
    }

    #[test]
    fn parses_known_keys() {
        let p = TableProperties::try_from_map(&map(&[
            ("commit.retry.num-retries", "0"),
            ("write.metadata.previous-versions-max", "0"),
            ("write.metadata.delete-after-commit.enabled", "TRUE"),
            ("write.metadata.metrics.column.name", "full"),
            ("write.metadata.metrics.default", "counts"),
            ("write.delete.mode", "merge-on-read"),
            ("history.expire.min-snapshots-to-keep", "5"),
            ("floe.commit.rebase-appends", "false"),
            ("some.other", "x"),
        ]))
        .unwrap();
        assert_eq!(p.commit_retry_num_retries, 0);
        assert_eq!(p.write_metadata_previous_versions_max, 1);
        assert!(p.write_metadata_delete_after_commit);
        assert_eq!(p.metrics_mode("name"), MetricsMode::Full);
        assert_eq!(p.metrics_mode("other"), MetricsMode::Counts);
        assert_eq!(p.write_delete_mode, RowLevelMode::MergeOnRead);
        assert_eq!(p.history_expire_min_snapshots_to_keep, 5);
        assert!(!p.floe_commit_rebase_appends);
    }

    #[test]
    fn bad_values_name_the_key() {
        for (k, v) in [
            ("commit.retry.num-retries", "many"),
            ("gc.enabled", "yes"),
            ("write.metadata.metrics.default", "truncate(0)"),
            ("write.delete.mode", "sometimes"),
            ("write.metadata.compression-codec", "zstd"),
        ] {
            let err = TableProperties::try_from_map(&map(&[(k, v)])).unwrap_err();
            assert!(
                err.message().contains(k) || err.message().contains(v),
                "{k}: {err}"
            );
        }
    }
}
