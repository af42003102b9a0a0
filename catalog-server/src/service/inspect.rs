//! Metadata tables over HTTP: a table's snapshots, history, refs, metadata log, manifests,
//! files, entries, partitions, health and changes, as rows of JSON values.
//!
//! Column names and meanings follow Iceberg's metadata tables (as pyiceberg's
//! `table.inspect` and Spark's `table.snapshots` etc. name them), so results compare one to
//! one. Conventions of the rows:
//! - times of metadata events (`committed_at`, `made_current_at`, `timestamp`,
//!   `last_updated_at`) are ISO-8601 UTC strings with milliseconds (`...T12:00:00.123Z`);
//! - partition tuples and readable bounds use the Iceberg JSON single-value form (dates
//!   `2024-01-31`, timestamps with 6 fraction digits, decimals as strings, binary as hex);
//! - raw metric maps are objects keyed by field id, raw bounds are lower-case hex.
//!
//! Paging: a page token is opaque to clients; inside it names the kind, the snapshot the
//! first page resolved (so all pages read one snapshot, whatever commits land meanwhile) and
//! a position. For `files`, `entries` and `changes` the position is (snapshot ordinal,
//! manifest index in the manifest list, entry index in the manifest): a page reads from that
//! manifest on, a few manifests at a time, and stops at the first row past the page, so no
//! request ever holds more than a page of rows and the manifests in flight. The other kinds
//! page by offset over rows computed per request (metadata-only kinds, manifests, and the
//! per-partition aggregate, which is bounded by the number of partitions, not files).

use std::collections::HashMap;
use std::sync::Arc;

use axum::http::StatusCode;
use futures::{StreamExt, TryStreamExt};
use serde_json::{Map, Value, json};
use table_format::avro::ManifestReader;
use table_format::io::FileIO;
use table_format::scan::plan::{load_manifest_list, manifest_partition_type};
#[cfg(test)]
use table_format::spec::DataFile;
use table_format::spec::manifest::partition_key;
use table_format::spec::{
    DataContentType, Datum, ManifestContentType, ManifestEntry, ManifestFile, ManifestStatus,
    PrimitiveType, Snapshot, SnapshotRetention, StructType, TableMetadata, Transform,
};

use super::{CatalogService, validate_name, validate_namespace};
use file_rows::FileRows;

mod file_rows;
use crate::error::{ApiError, ApiResult};
use crate::store::Warehouse;

/// The largest page the inspect endpoints return.
pub const MAX_INSPECT_PAGE: usize = 1000;
/// The largest page of the per-file kinds (`files`, `data-files`, `delete-files`, `entries`),
/// for clients that want fewer round trips: their rows are built straight into columns, so a
/// page's cost is its rows, and each page reads the table's metadata and manifest list again.
pub const MAX_FILES_PAGE: usize = 10_000;
/// The page size when the client asks for none.
pub const DEFAULT_INSPECT_PAGE: usize = 100;
/// `write.target-file-size-bytes` when the table does not set it (512 MiB).
const DEFAULT_TARGET_FILE_SIZE: i64 = 512 * 1024 * 1024;
/// Snapshots older than this (and not the head of a branch or tag) are worth expiring.
const EXPIRE_AGE_MS: i64 = 7 * 24 * 3600 * 1000;
/// Manifests read at once.
const MANIFEST_CONCURRENCY: usize = 8;

/// What an inspect request lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InspectKind {
    /// Every snapshot of the table.
    Snapshots,
    /// The snapshot log: when each snapshot became current.
    History,
    /// Branches and tags.
    Refs,
    /// Previous metadata files and the current one.
    MetadataLog,
    /// The manifests of a snapshot.
    Manifests,
    /// Live data and delete files of a snapshot.
    Files,
    /// Live data files of a snapshot.
    DataFiles,
    /// Live delete files of a snapshot.
    DeleteFiles,
    /// Every manifest entry (deleted ones included) of a snapshot.
    Entries,
    /// Live files of a snapshot aggregated per partition.
    Partitions,
    /// One row of figures a platform team watches, with recommendations.
    Health,
    /// Files added and removed between two snapshots of one lineage.
    Changes,
}

impl InspectKind {
    /// Every kind, by its path word.
    pub const ALL: &[(&'static str, InspectKind)] = &[
        ("snapshots", InspectKind::Snapshots),
        ("history", InspectKind::History),
        ("refs", InspectKind::Refs),
        ("metadata-log", InspectKind::MetadataLog),
        ("manifests", InspectKind::Manifests),
        ("files", InspectKind::Files),
        ("data-files", InspectKind::DataFiles),
        ("delete-files", InspectKind::DeleteFiles),
        ("entries", InspectKind::Entries),
        ("partitions", InspectKind::Partitions),
        ("health", InspectKind::Health),
        ("changes", InspectKind::Changes),
    ];

    /// The kind a path word names.
    pub fn parse(word: &str) -> Option<Self> {
        Self::ALL.iter().find(|(w, _)| *w == word).map(|(_, k)| *k)
    }

    /// The path word.
    pub fn word(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, k)| *k == self)
            .map(|(w, _)| *w)
            .unwrap_or("?")
    }

    /// The columns of the rows, in order (for CSV).
    pub fn columns(self) -> &'static [&'static str] {
        match self {
            InspectKind::Snapshots => &[
                "committed_at",
                "snapshot_id",
                "parent_id",
                "operation",
                "manifest_list",
                "summary",
            ],
            InspectKind::History => &[
                "made_current_at",
                "snapshot_id",
                "parent_id",
                "is_current_ancestor",
            ],
            InspectKind::Refs => &[
                "name",
                "type",
                "snapshot_id",
                "max_reference_age_in_ms",
                "min_snapshots_to_keep",
                "max_snapshot_age_in_ms",
            ],
            InspectKind::MetadataLog => &[
                "timestamp",
                "file",
                "latest_snapshot_id",
                "latest_schema_id",
                "latest_sequence_number",
            ],
            InspectKind::Manifests => &[
                "content",
                "path",
                "length",
                "partition_spec_id",
                "added_snapshot_id",
                "added_data_files_count",
                "existing_data_files_count",
                "deleted_data_files_count",
                "added_delete_files_count",
                "existing_delete_files_count",
                "deleted_delete_files_count",
                "partition_summaries",
            ],
            InspectKind::Files | InspectKind::DataFiles | InspectKind::DeleteFiles => FILE_COLUMNS,
            InspectKind::Entries => &[
                "status",
                "snapshot_id",
                "sequence_number",
                "file_sequence_number",
                "data_file",
                "readable_metrics",
            ],
            InspectKind::Partitions => &[
                "partition",
                "spec_id",
                "record_count",
                "file_count",
                "total_data_file_size_in_bytes",
                "position_delete_record_count",
                "position_delete_file_count",
                "equality_delete_record_count",
                "equality_delete_file_count",
                "last_updated_at",
                "last_updated_snapshot_id",
            ],
            InspectKind::Health => &[
                "last_updated_at",
                "hours_since_update",
                "snapshot_count",
                "data_file_count",
                "delete_file_count",
                "manifest_count",
                "total_records",
                "total_data_size_bytes",
                "avg_file_size_bytes",
                "median_file_size_bytes",
                "small_file_ratio",
                "recommendations",
            ],
            InspectKind::Changes => &[
                "snapshot_id",
                "operation",
                "committed_at",
                "change",
                "content",
                "file_path",
                "file_format",
                "spec_id",
                "partition",
                "record_count",
                "file_size_in_bytes",
            ],
        }
    }

    fn snapshot_scoped(self) -> bool {
        matches!(
            self,
            InspectKind::Manifests
                | InspectKind::Files
                | InspectKind::DataFiles
                | InspectKind::DeleteFiles
                | InspectKind::Entries
                | InspectKind::Partitions
                | InspectKind::Health
        )
    }
}

const FILE_COLUMNS: &[&str] = &[
    "content",
    "file_path",
    "file_format",
    "spec_id",
    "partition",
    "record_count",
    "file_size_in_bytes",
    "column_sizes",
    "value_counts",
    "null_value_counts",
    "nan_value_counts",
    "lower_bounds",
    "upper_bounds",
    "key_metadata",
    "split_offsets",
    "equality_ids",
    "sort_order_id",
    "readable_metrics",
];

/// Which snapshot a snapshot-scoped kind reads.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum SnapshotSelector {
    /// The current snapshot.
    #[default]
    Current,
    /// A snapshot by id.
    Id(i64),
    /// The head of a branch or tag.
    Ref(String),
    /// The snapshot that was current at a time (ms since the epoch).
    AsOfMs(i64),
}

/// An inspect request, parsed.
#[derive(Debug, Clone)]
pub struct InspectRequest {
    /// What to list.
    pub kind: InspectKind,
    /// Which snapshot (snapshot-scoped kinds).
    pub snapshot: SnapshotSelector,
    /// Rows per page (1 to the kind's [`InspectKind::max_page`]).
    pub page_size: usize,
    /// Where to continue.
    pub page_token: Option<String>,
    /// `changes`: the older snapshot (exclusive).
    pub from_snapshot_id: Option<i64>,
    /// `changes`: the newer snapshot (inclusive; default the current one).
    pub to_snapshot_id: Option<i64>,
}

/// One page of rows.
#[derive(Debug, Clone)]
pub struct InspectPage {
    /// The kind listed (its columns order the CSV form).
    pub kind: InspectKind,
    /// The rows.
    pub rows: InspectRows,
    /// The token of the next page, when there is one.
    pub next_page_token: Option<String>,
}

/// The rows of a page, in one of two shapes with the same content.
#[derive(Debug, Clone)]
pub enum InspectRows {
    /// JSON objects with the kind's columns.
    Values(Vec<Value>),
    /// The per-file kinds: one typed column per column of the kind, in its order; nested values
    /// (Arrow `Utf8`) hold their compact JSON text, exactly as serde_json writes the `Value`
    /// with the same content (object keys sorted), and null cells stand for JSON nulls.
    Columns(arrow_array::RecordBatch),
}

impl InspectRows {
    /// How many rows.
    pub fn len(&self) -> usize {
        match self {
            InspectRows::Values(v) => v.len(),
            InspectRows::Columns(b) => b.num_rows(),
        }
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl InspectKind {
    /// The largest page size of this kind.
    pub fn max_page(self) -> usize {
        match self {
            InspectKind::Files
            | InspectKind::DataFiles
            | InspectKind::DeleteFiles
            | InspectKind::Entries => MAX_FILES_PAGE,
            _ => MAX_INSPECT_PAGE,
        }
    }
}

/// Where a page starts: a snapshot ordinal (changes), a manifest index and an entry index; for
/// offset-paged kinds only `entry` is used (the row offset).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Position {
    snap: usize,
    manifest: usize,
    entry: usize,
}

/// A decoded page token.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Token {
    kind: &'static str,
    /// The snapshot the first page resolved (0 when none).
    snapshot_id: i64,
    /// `changes`: the older end (0 when unused).
    from_id: i64,
    pos: Position,
}

impl Token {
    fn encode(&self) -> String {
        hex::encode(format!(
            "v1|{}|{}|{}|{}|{}|{}",
            self.kind,
            self.snapshot_id,
            self.from_id,
            self.pos.snap,
            self.pos.manifest,
            self.pos.entry
        ))
    }

    fn decode(token: &str, kind: InspectKind) -> ApiResult<Token> {
        let bad = || ApiError::bad_request(format!("invalid page-token '{token}'"));
        let text = hex::decode(token)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(bad)?;
        let parts: Vec<&str> = text.split('|').collect();
        let [version, k, snap, from, s, m, e] = parts.as_slice() else {
            return Err(bad());
        };
        if *version != "v1" {
            return Err(bad());
        }
        if *k != kind.word() {
            return Err(ApiError::bad_request(format!(
                "page-token '{token}' belongs to a '{k}' listing, not '{}'",
                kind.word()
            )));
        }
        let num = |s: &str| s.parse::<usize>().map_err(|_| bad());
        Ok(Token {
            kind: kind.word(),
            snapshot_id: snap.parse().map_err(|_| bad())?,
            from_id: from.parse().map_err(|_| bad())?,
            pos: Position {
                snap: num(s)?,
                manifest: num(m)?,
                entry: num(e)?,
            },
        })
    }
}

/// 404 for an unknown snapshot or ref.
fn no_such_snapshot(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "NoSuchSnapshotException", message)
}

/// ISO-8601 UTC with milliseconds.
pub fn iso_ms(ms: i64) -> Value {
    match chrono::DateTime::from_timestamp_millis(ms) {
        Some(t) => Value::String(t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()),
        None => Value::from(ms),
    }
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// The snapshot a selector names (None for a table without a current snapshot).
fn resolve_snapshot<'a>(
    md: &'a TableMetadata,
    selector: &SnapshotSelector,
) -> ApiResult<Option<&'a Snapshot>> {
    Ok(match selector {
        SnapshotSelector::Current => md.current_snapshot(),
        SnapshotSelector::Id(id) => Some(
            md.snapshot_by_id(*id)
                .ok_or_else(|| no_such_snapshot(format!("snapshot {id} is not in this table")))?,
        ),
        SnapshotSelector::Ref(name) => Some(md.snapshot_for_ref(name).ok_or_else(|| {
            no_such_snapshot(format!("branch or tag '{name}' is not in this table"))
        })?),
        SnapshotSelector::AsOfMs(ts) => {
            let id = snapshot_as_of(md, *ts).ok_or_else(|| {
                no_such_snapshot(format!("the table had no current snapshot at {ts} ms"))
            })?;
            Some(md.snapshot_by_id(id).ok_or_else(|| {
                no_such_snapshot(format!("snapshot {id}, current at {ts} ms, has expired"))
            })?)
        }
    })
}

/// The snapshot that was current at `ts` (inclusive), from the snapshot log.
fn snapshot_as_of(md: &TableMetadata, ts: i64) -> Option<i64> {
    md.snapshot_log()
        .iter()
        .rev()
        .find(|e| e.timestamp_ms <= ts)
        .map(|e| e.snapshot_id)
}

fn internal(e: table_format::Error) -> ApiError {
    ApiError::internal(e.to_string())
}

/// What the rows of one table need to know about it, computed once per request.
struct TableView {
    md: Arc<TableMetadata>,
    /// The union of all partition specs' fields, by field id: (field id, name, type, transform).
    union: Vec<(i32, String, Option<PrimitiveType>, Transform)>,
    /// Primitive columns of the current schema: (field id, full name, type).
    columns: Vec<(i32, String, PrimitiveType)>,
}

impl TableView {
    fn new(md: Arc<TableMetadata>) -> Self {
        let schema = md.current_schema();
        let mut union: Vec<(i32, String, Option<PrimitiveType>, Transform)> = Vec::new();
        for spec in md.partition_specs() {
            for f in spec.fields() {
                if union.iter().any(|u| u.0 == f.field_id) {
                    continue;
                }
                let ty = std::iter::once(schema)
                    .chain(md.schemas().iter().rev())
                    .find_map(|s| s.primitive_type_by_id(*f.source_id).copied())
                    .and_then(|src| f.transform.result_type(&src).ok());
                union.push((f.field_id, f.name.clone(), ty, f.transform.clone()));
            }
        }
        union.sort_by_key(|u| u.0);
        let mut columns: Vec<(i32, String, PrimitiveType)> = schema
            .field_ids()
            .filter_map(|id| {
                let ty = *schema.primitive_type_by_id(id)?;
                let name = schema.name_by_id(id)?.to_string();
                Some((id, name, ty))
            })
            .collect();
        columns.sort_by_key(|c| c.0);
        Self { md, union, columns }
    }

    /// A file's partition tuple as an object over the union of all specs' fields (fields its
    /// own spec lacks are null).
    fn partition_json(&self, spec_id: i32, values: &[Option<Datum>]) -> Value {
        let mut out = Map::new();
        let spec = self.md.partition_spec_by_id(spec_id);
        for (id, name, _, _) in &self.union {
            let v = spec
                .and_then(|s| s.fields().iter().position(|f| f.field_id == *id))
                .and_then(|pos| values.get(pos).cloned().flatten())
                .map(|d| d.to_json())
                .unwrap_or(Value::Null);
            out.insert(name.clone(), v);
        }
        Value::Object(out)
    }

    /// A partition tuple under the union (for grouping).
    fn union_values(&self, spec_id: i32, values: &[Option<Datum>]) -> Vec<Option<Datum>> {
        let spec = self.md.partition_spec_by_id(spec_id);
        self.union
            .iter()
            .map(|(id, _, _, _)| {
                spec.and_then(|s| s.fields().iter().position(|f| f.field_id == *id))
                    .and_then(|pos| values.get(pos).cloned().flatten())
            })
            .collect()
    }

    #[cfg(test)]
    fn readable_metrics(&self, f: &DataFile) -> Value {
        let mut out = Map::new();
        for (id, name, ty) in &self.columns {
            let id = *id;
            let bound = |list: &[(i32, Vec<u8>)]| {
                table_format::spec::manifest::bound(list, id)
                    .and_then(|b| Datum::from_bytes(b, ty).ok())
                    .map(|d| d.to_json())
                    .unwrap_or(Value::Null)
            };
            let count = |list: &[(i32, i64)]| {
                table_format::spec::manifest::metric(list, id)
                    .map(Value::from)
                    .unwrap_or(Value::Null)
            };
            out.insert(
                name.clone(),
                json!({
                    "column_size": count(&f.column_sizes),
                    "value_count": count(&f.value_counts),
                    "null_value_count": count(&f.null_value_counts),
                    "nan_value_count": count(&f.nan_value_counts),
                    "lower_bound": bound(&f.lower_bounds),
                    "upper_bound": bound(&f.upper_bounds),
                }),
            );
        }
        Value::Object(out)
    }

    /// The data_file columns (without readable_metrics): the `Value` form of the rows, kept
    /// as the oracle of `FileRows`.
    #[cfg(test)]
    fn data_file_json(&self, spec_id: i32, f: &DataFile) -> Map<String, Value> {
        let counts = |list: &[(i32, i64)]| {
            Value::Object(
                list.iter()
                    .map(|(k, v)| (k.to_string(), Value::from(*v)))
                    .collect(),
            )
        };
        let bounds = |list: &[(i32, Vec<u8>)]| {
            Value::Object(
                list.iter()
                    .map(|(k, v)| (k.to_string(), Value::String(hex::encode(v))))
                    .collect(),
            )
        };
        let mut m = Map::new();
        m.insert("content".into(), Value::from(f.content as i32));
        m.insert("file_path".into(), Value::from(f.file_path.clone()));
        m.insert("file_format".into(), Value::from(f.file_format.as_str()));
        m.insert("spec_id".into(), Value::from(spec_id));
        m.insert(
            "partition".into(),
            self.partition_json(spec_id, &f.partition),
        );
        m.insert("record_count".into(), Value::from(f.record_count));
        m.insert(
            "file_size_in_bytes".into(),
            Value::from(f.file_size_in_bytes),
        );
        m.insert("column_sizes".into(), counts(&f.column_sizes));
        m.insert("value_counts".into(), counts(&f.value_counts));
        m.insert("null_value_counts".into(), counts(&f.null_value_counts));
        m.insert("nan_value_counts".into(), counts(&f.nan_value_counts));
        m.insert("lower_bounds".into(), bounds(&f.lower_bounds));
        m.insert("upper_bounds".into(), bounds(&f.upper_bounds));
        m.insert(
            "key_metadata".into(),
            f.key_metadata
                .as_ref()
                .map(|k| Value::String(hex::encode(k)))
                .unwrap_or(Value::Null),
        );
        m.insert("split_offsets".into(), json!(f.split_offsets));
        m.insert("equality_ids".into(), json!(f.equality_ids));
        m.insert("sort_order_id".into(), json!(f.sort_order_id));
        m
    }

    #[cfg(test)]
    fn file_row(&self, spec_id: i32, f: &DataFile) -> Value {
        let mut m = self.data_file_json(spec_id, f);
        m.insert("readable_metrics".into(), self.readable_metrics(f));
        Value::Object(m)
    }

    #[cfg(test)]
    fn entry_row(&self, spec_id: i32, e: &ManifestEntry) -> Value {
        json!({
            "status": e.status as i32,
            "snapshot_id": e.snapshot_id,
            "sequence_number": e.sequence_number,
            "file_sequence_number": e.file_sequence_number,
            "data_file": Value::Object(self.data_file_json(spec_id, &e.data_file)),
            "readable_metrics": self.readable_metrics(&e.data_file),
        })
    }

    /// A partition summary bound in human form (per the transform, as Iceberg's
    /// `Transform.toHumanString`).
    fn human_bound(&self, field_id: i32, bytes: &[u8]) -> Value {
        let Some((_, _, Some(ty), transform)) = self.union.iter().find(|u| u.0 == field_id) else {
            return Value::String(hex::encode(bytes));
        };
        let Ok(d) = Datum::from_bytes(bytes, ty) else {
            return Value::String(hex::encode(bytes));
        };
        Value::String(match (transform, &d) {
            (Transform::Year, Datum::Int(y)) => format!("{:04}", 1970 + i64::from(*y)),
            (Transform::Month, Datum::Int(m)) => {
                let m = i64::from(*m);
                format!("{:04}-{:02}", 1970 + m.div_euclid(12), m.rem_euclid(12) + 1)
            }
            (Transform::Hour, Datum::Int(h)) => {
                let h = i64::from(*h);
                match chrono::DateTime::from_timestamp(h * 3600, 0) {
                    Some(t) => t.format("%Y-%m-%d-%H").to_string(),
                    None => h.to_string(),
                }
            }
            _ => d.human_string(),
        })
    }

    fn manifest_row(&self, m: &ManifestFile) -> Value {
        let data = m.content == ManifestContentType::Data;
        let (ad, ed, dd) = (
            m.added_files_count,
            m.existing_files_count,
            m.deleted_files_count,
        );
        let pick = |v: i32, want: bool| if want { v } else { 0 };
        let spec_fields: Vec<i32> = self
            .md
            .partition_spec_by_id(m.partition_spec_id)
            .map(|s| s.fields().iter().map(|f| f.field_id).collect())
            .unwrap_or_default();
        let summaries: Vec<Value> = m
            .partitions
            .iter()
            .flatten()
            .enumerate()
            .map(|(i, s)| {
                let fid = spec_fields.get(i).copied().unwrap_or(-1);
                let b = |x: &Option<Vec<u8>>| {
                    x.as_ref()
                        .filter(|b| !b.is_empty())
                        .map(|b| self.human_bound(fid, b))
                        .unwrap_or(Value::Null)
                };
                json!({
                    "contains_null": s.contains_null,
                    "contains_nan": s.contains_nan,
                    "lower_bound": b(&s.lower_bound),
                    "upper_bound": b(&s.upper_bound),
                })
            })
            .collect();
        json!({
            "content": m.content as i32,
            "path": m.manifest_path,
            "length": m.manifest_length,
            "partition_spec_id": m.partition_spec_id,
            "added_snapshot_id": m.added_snapshot_id,
            "added_data_files_count": pick(ad, data),
            "existing_data_files_count": pick(ed, data),
            "deleted_data_files_count": pick(dd, data),
            "added_delete_files_count": pick(ad, !data),
            "existing_delete_files_count": pick(ed, !data),
            "deleted_delete_files_count": pick(dd, !data),
            "partition_summaries": summaries,
        })
    }
}

/// Read a manifest's bytes (concurrently with others through `buffered`).
async fn read_bytes(io: &FileIO, m: &ManifestFile) -> ApiResult<bytes::Bytes> {
    io.read(&m.manifest_path)
        .await
        .map_err(|e| ApiError::internal(format!("cannot read manifest {}: {e}", m.manifest_path)))
}

/// Decode a whole manifest off the async threads, only each file's summary (see
/// [`ManifestReader::summary_only`]), and reduce it with `f`.
async fn reduce_manifests<T, F>(
    io: &FileIO,
    md: &Arc<TableMetadata>,
    manifests: Vec<ManifestFile>,
    f: F,
) -> ApiResult<Vec<T>>
where
    T: Send + 'static,
    F: Fn(
            &ManifestFile,
            &mut dyn Iterator<Item = table_format::Result<ManifestEntry>>,
        ) -> table_format::Result<T>
        + Send
        + Sync
        + 'static,
{
    let f = Arc::new(f);
    futures::stream::iter(manifests)
        .map(|m| {
            let (io, md, f) = (io.clone(), md.clone(), f.clone());
            async move {
                let bytes = read_bytes(&io, &m).await?;
                let ptype = manifest_partition_type(&md, &m).map_err(internal)?;
                tokio::task::spawn_blocking(move || {
                    // The reductions (partitions, health) use only each file's summary.
                    let mut reader =
                        ManifestReader::summary_only(&bytes, &m, &ptype).map_err(|e| {
                            internal(e.context(format!("manifest {}", m.manifest_path)))
                        })?;
                    f(&m, &mut reader)
                        .map_err(|e| internal(e.context(format!("manifest {}", m.manifest_path))))
                })
                .await
                .map_err(|e| ApiError::internal(format!("manifest decoding task failed: {e}")))?
            }
        })
        .buffered(MANIFEST_CONCURRENCY)
        .try_collect()
        .await
}

/// Which entries of a manifest a streamed kind emits.
#[derive(Clone, Copy)]
enum EntryFilter {
    /// Live entries of any content (files).
    Live,
    /// Live entries of data manifests.
    LiveData,
    /// Live entries of delete manifests.
    LiveDeletes,
    /// Every entry (entries).
    All,
    /// Entries that the snapshot with this id added or deleted (changes).
    ChangedBy(i64),
}

impl EntryFilter {
    fn manifest(self, m: &ManifestFile) -> bool {
        match self {
            EntryFilter::LiveData => m.content == ManifestContentType::Data,
            EntryFilter::LiveDeletes => m.content == ManifestContentType::Deletes,
            EntryFilter::ChangedBy(id) => m.added_snapshot_id == id,
            EntryFilter::Live | EntryFilter::All => true,
        }
    }

    /// The index of the manifest's first matching entry when its manifest-list counts tell
    /// it without reading the manifest: with no deleted entries and some live ones (the
    /// counts Iceberg's own scan planning trusts to skip manifests), every entry matches, the
    /// first included. `None` when the counts do not tell (missing counts read as 1).
    /// How many entries of the manifest match, when its manifest-list counts tell (as for
    /// [`EntryFilter::first_by_counts`]).
    fn live_count(self, m: &ManifestFile) -> Option<usize> {
        self.first_by_counts(m)?;
        usize::try_from(i64::from(m.added_files_count) + i64::from(m.existing_files_count)).ok()
    }

    fn first_by_counts(self, m: &ManifestFile) -> Option<usize> {
        let live = m.deleted_files_count == 0
            && i64::from(m.added_files_count) + i64::from(m.existing_files_count) > 0;
        match self {
            EntryFilter::ChangedBy(_) => None,
            _ => live.then_some(0),
        }
    }

    fn entry(self, e: &ManifestEntry) -> bool {
        match self {
            EntryFilter::All => true,
            EntryFilter::ChangedBy(id) => {
                e.snapshot_id == Some(id) && e.status != ManifestStatus::Existing
            }
            _ => e.status != ManifestStatus::Deleted,
        }
    }
}

impl CatalogService {
    /// One page of a metadata table of `namespace.name`.
    pub async fn inspect(
        &self,
        wh: &Warehouse,
        namespace: &[String],
        name: &str,
        req: InspectRequest,
    ) -> ApiResult<InspectPage> {
        validate_namespace(namespace)?;
        validate_name("table name", name)?;
        let max_page = req.kind.max_page();
        if req.page_size == 0 || req.page_size > max_page {
            return Err(ApiError::bad_request(format!(
                "page-size must be between 1 and {max_page}"
            )));
        }
        let token = req
            .page_token
            .as_deref()
            .filter(|t| !t.is_empty())
            .map(|t| Token::decode(t, req.kind))
            .transpose()?;
        let rec = match self.store.get_table(wh, namespace, name).await {
            Ok(rec) => rec,
            Err(crate::store::StoreError::NotFound(m)) => {
                // Say which part is missing: the namespace or only the table.
                return Err(match self.store.get_namespace(wh, namespace).await {
                    Err(
                        crate::store::StoreError::NotFound(_)
                        | crate::store::StoreError::NamespaceNotFound(_),
                    ) => ApiError::no_such_namespace(format!(
                        "namespace {} does not exist",
                        namespace.join(".")
                    )),
                    _ => ApiError::no_such_table(m),
                });
            }
            Err(e) => return Err(ApiError::from_table_store(e)),
        };
        let io = self.file_io(wh)?;
        let md = self.read_metadata(&io, &rec.metadata_location).await?;
        let view = TableView::new(md.clone());

        // The snapshot: pinned by the token, else the selector.
        let snapshot: Option<Snapshot> = if !req.kind.snapshot_scoped() {
            None
        } else if let Some(t) = &token {
            if t.snapshot_id == 0 {
                None
            } else {
                Some(md.snapshot_by_id(t.snapshot_id).cloned().ok_or_else(|| {
                    no_such_snapshot(format!(
                        "snapshot {} of this listing has expired; start again without page-token",
                        t.snapshot_id
                    ))
                })?)
            }
        } else {
            resolve_snapshot(&md, &req.snapshot)?.cloned()
        };
        let start = token.as_ref().map(|t| t.pos).unwrap_or_default();
        let size = req.page_size;
        let mk_token = |snapshot_id: i64, from_id: i64, pos: Position| {
            Token {
                kind: req.kind.word(),
                snapshot_id,
                from_id,
                pos,
            }
            .encode()
        };
        let snap_id = snapshot.as_ref().map(|s| s.snapshot_id).unwrap_or(0);

        let offset_page = |rows: Vec<Value>| -> InspectPage {
            let total = rows.len();
            let from = start.entry.min(total);
            let to = (from + size).min(total);
            let next = (to < total).then(|| {
                mk_token(
                    snap_id,
                    0,
                    Position {
                        entry: to,
                        ..Default::default()
                    },
                )
            });
            InspectPage {
                kind: req.kind,
                rows: InspectRows::Values(rows.into_iter().skip(from).take(to - from).collect()),
                next_page_token: next,
            }
        };

        match req.kind {
            InspectKind::Snapshots => Ok(offset_page(snapshots_rows(&md))),
            InspectKind::History => Ok(offset_page(history_rows(&md))),
            InspectKind::Refs => Ok(offset_page(refs_rows(&md))),
            InspectKind::MetadataLog => {
                Ok(offset_page(metadata_log_rows(&md, &rec.metadata_location)))
            }
            InspectKind::Manifests => {
                let rows = match &snapshot {
                    None => vec![],
                    Some(s) => load_manifest_list(&io, s)
                        .await
                        .map_err(internal)?
                        .iter()
                        .map(|m| view.manifest_row(m))
                        .collect(),
                };
                Ok(offset_page(rows))
            }
            InspectKind::Partitions => {
                let rows = match &snapshot {
                    None => vec![],
                    Some(s) => partitions_rows(&io, &view, s).await?,
                };
                Ok(offset_page(rows))
            }
            InspectKind::Health => Ok(offset_page(vec![
                health_row(&io, &view, snapshot.as_ref()).await?,
            ])),
            InspectKind::Files
            | InspectKind::DataFiles
            | InspectKind::DeleteFiles
            | InspectKind::Entries => {
                let entries = req.kind == InspectKind::Entries;
                let Some(s) = snapshot else {
                    let rows = FileRows::new(&view, entries, 0)
                        .finish()
                        .map_err(arrow_error)?;
                    return Ok(InspectPage {
                        kind: req.kind,
                        rows: InspectRows::Columns(rows),
                        next_page_token: None,
                    });
                };
                let filter = match req.kind {
                    InspectKind::DataFiles => EntryFilter::LiveData,
                    InspectKind::DeleteFiles => EntryFilter::LiveDeletes,
                    InspectKind::Entries => EntryFilter::All,
                    _ => EntryFilter::Live,
                };
                let view = Arc::new(view);
                let (rows, next) = file_page(&io, &view, &s, filter, entries, start, size).await?;
                Ok(InspectPage {
                    kind: req.kind,
                    rows: InspectRows::Columns(rows),
                    next_page_token: next.map(|p| mk_token(s.snapshot_id, 0, p)),
                })
            }
            InspectKind::Changes => {
                let (from_id, to_id) = match &token {
                    Some(t) => (t.from_id, t.snapshot_id),
                    None => {
                        let from = req.from_snapshot_id.ok_or_else(|| {
                            ApiError::bad_request("changes needs from-snapshot-id")
                        })?;
                        let to = match req.to_snapshot_id {
                            Some(t) => t,
                            None => resolve_snapshot(&md, &req.snapshot)?
                                .map(|s| s.snapshot_id)
                                .ok_or_else(|| {
                                    no_such_snapshot("the table has no current snapshot")
                                })?,
                        };
                        (from, to)
                    }
                };
                for id in [from_id, to_id] {
                    if md.snapshot_by_id(id).is_none() {
                        return Err(no_such_snapshot(format!(
                            "snapshot {id} is not in this table"
                        )));
                    }
                }
                // Snapshots after `from` up to `to`, oldest first.
                let mut line: Vec<Snapshot> = Vec::new();
                let mut found = from_id == to_id;
                for s in md.ancestors_of(to_id) {
                    if s.snapshot_id == from_id {
                        found = true;
                        break;
                    }
                    line.push(s.clone());
                }
                if !found {
                    return Err(ApiError::bad_request(format!(
                        "snapshot {from_id} is not an ancestor of snapshot {to_id}: changes are \
                         listed within one lineage"
                    )));
                }
                line.reverse();
                let mut rows = ValueRows {
                    rows: Vec::with_capacity(size),
                    row: |v: &TableView, spec_id: i32, s: &Snapshot, e: &ManifestEntry| {
                        let f = &e.data_file;
                        json!({
                            "snapshot_id": s.snapshot_id,
                            "operation": s.summary.operation.as_str(),
                            "committed_at": iso_ms(s.timestamp_ms),
                            "change": if e.status == ManifestStatus::Deleted { "removed" } else { "added" },
                            "content": f.content as i32,
                            "file_path": f.file_path,
                            "file_format": f.file_format.as_str(),
                            "spec_id": spec_id,
                            "partition": v.partition_json(spec_id, &f.partition),
                            "record_count": f.record_count,
                            "file_size_in_bytes": f.file_size_in_bytes,
                        })
                    },
                };
                let next = stream_page(
                    &io,
                    &view,
                    &line,
                    None,
                    |s| EntryFilter::ChangedBy(s.snapshot_id),
                    start,
                    size,
                    &mut rows,
                )
                .await?;
                Ok(InspectPage {
                    kind: req.kind,
                    rows: InspectRows::Values(rows.rows),
                    next_page_token: next.map(|p| mk_token(to_id, from_id, p)),
                })
            }
        }
    }
}

/// Where the rows of a streamed kind go.
trait RowSink {
    /// Rows so far.
    fn len(&self) -> usize;
    /// Add the row of entry `e` of a manifest of spec `spec_id` in snapshot `snap`.
    fn push(
        &mut self,
        view: &TableView,
        spec_id: i32,
        snap: &Snapshot,
        e: &ManifestEntry,
    ) -> ApiResult<()>;
}

/// Rows as JSON values, made by `row`.
struct ValueRows<R> {
    rows: Vec<Value>,
    row: R,
}

impl<R: Fn(&TableView, i32, &Snapshot, &ManifestEntry) -> Value> RowSink for ValueRows<R> {
    fn len(&self) -> usize {
        self.rows.len()
    }

    fn push(
        &mut self,
        v: &TableView,
        spec_id: i32,
        s: &Snapshot,
        e: &ManifestEntry,
    ) -> ApiResult<()> {
        self.rows.push((self.row)(v, spec_id, s, e));
        Ok(())
    }
}

impl RowSink for FileRows {
    fn len(&self) -> usize {
        FileRows::len(self)
    }

    fn push(
        &mut self,
        _: &TableView,
        spec_id: i32,
        _: &Snapshot,
        e: &ManifestEntry,
    ) -> ApiResult<()> {
        FileRows::push(self, spec_id, e)
            .map_err(|err| ApiError::internal(format!("cannot write a file row: {err}")))
    }
}

/// A sink that takes no rows (to find where the next row is).
struct NoRows;

impl RowSink for NoRows {
    fn len(&self) -> usize {
        0
    }

    fn push(&mut self, _: &TableView, _: i32, _: &Snapshot, _: &ManifestEntry) -> ApiResult<()> {
        Ok(())
    }
}

fn arrow_error(e: arrow_schema::ArrowError) -> ApiError {
    ApiError::internal(format!("cannot build the rows' columns: {e}"))
}

/// Manifests of one page of a file kind decoded at once, each on a blocking thread.
const PAGE_DECODE_CONCURRENCY: usize = 4;

/// A page of a file kind (`files`, `data-files`, `delete-files`, `entries`) of snapshot `s`,
/// and where the next one starts. When the manifest list's counts tell which manifests hold
/// the page's rows (every live kind of a table whose manifests list no deleted entries), those
/// manifests are decoded in parallel, each into its own columns, which are then joined: a
/// large page costs about its share of every core. Otherwise the manifests are streamed one
/// after another ([`stream_page`]).
async fn file_page(
    io: &FileIO,
    view: &Arc<TableView>,
    s: &Snapshot,
    filter: EntryFilter,
    entries: bool,
    start: Position,
    size: usize,
) -> ApiResult<(arrow_array::RecordBatch, Option<Position>)> {
    // The manifest list is read once, for both paths (a token past the first snapshot is
    // refused by the streaming one).
    let manifests = match start.snap {
        0 => Some(load_manifest_list(io, s).await.map_err(internal)?),
        _ => None,
    };
    if let Some(list) = &manifests
        && let Some(page) =
            parallel_file_page(io, view, s, list, filter, entries, start, size).await?
    {
        return Ok(page);
    }
    let mut rows = FileRows::new(view, entries, size);
    let next = stream_page(
        io,
        view,
        std::slice::from_ref(s),
        manifests,
        |_| filter,
        start,
        size,
        &mut rows,
    )
    .await?;
    Ok((rows.finish().map_err(arrow_error)?, next))
}

/// [`file_page`] over manifests decoded in parallel; `None` when the counts do not tell the
/// page's manifests, when the page lies in one manifest (nothing to share out), or when a
/// manifest holds other entries than its counts say (the streaming path then reads it).
#[allow(clippy::too_many_arguments)]
async fn parallel_file_page(
    io: &FileIO,
    view: &Arc<TableView>,
    s: &Snapshot,
    manifests: &[ManifestFile],
    filter: EntryFilter,
    entries: bool,
    start: Position,
    size: usize,
) -> ApiResult<Option<(arrow_array::RecordBatch, Option<Position>)>> {
    if start.snap != 0 || start.manifest > manifests.len() {
        return Ok(None);
    }
    let candidates: Vec<(usize, &ManifestFile)> = manifests
        .iter()
        .enumerate()
        .skip(start.manifest)
        .filter(|(_, m)| filter.manifest(m))
        .collect();
    // (index in candidates, entries to skip, entries to take) per manifest of the page.
    let mut chunks: Vec<(usize, usize, usize)> = Vec::new();
    let mut remaining = size;
    for (k, (mi, m)) in candidates.iter().enumerate() {
        let Some(n) = filter.live_count(m) else {
            return Ok(None);
        };
        let skip = if *mi == start.manifest {
            start.entry
        } else {
            0
        };
        let take = n.saturating_sub(skip).min(remaining);
        if take == 0 {
            continue;
        }
        chunks.push((k, skip, take));
        remaining -= take;
        if remaining == 0 {
            break;
        }
    }
    if chunks.len() < 2 {
        return Ok(None);
    }
    let batches: Vec<Option<arrow_array::RecordBatch>> = futures::stream::iter(chunks.clone())
        .map(|(k, skip, take)| {
            let (view, m, snap) = (view.clone(), candidates[k].1.clone(), s.clone());
            async move {
                let bytes = read_bytes(io, &m).await?;
                tokio::task::spawn_blocking(move || {
                    let mut rows = FileRows::new(&view, entries, take);
                    read_chunk(&view, &snap, &m, &bytes, filter, skip, take, &mut rows)?;
                    if rows.len() != take {
                        return Ok(None);
                    }
                    rows.finish().map(Some).map_err(arrow_error)
                })
                .await
                .map_err(|e| ApiError::internal(format!("manifest decoding task failed: {e}")))?
            }
        })
        .buffered(PAGE_DECODE_CONCURRENCY)
        .try_collect()
        .await?;
    let Some(batches) = batches.into_iter().collect::<Option<Vec<_>>>() else {
        return Ok(None);
    };
    let schema = batches[0].schema();
    let page = arrow_select::concat::concat_batches(&schema, &batches).map_err(arrow_error)?;
    let next = match chunks.last() {
        Some(&(k, skip, take)) if remaining == 0 => {
            let (mi, m) = candidates[k];
            if filter.live_count(m).is_some_and(|n| skip + take < n) {
                Some(Position {
                    snap: 0,
                    manifest: mi,
                    entry: skip + take,
                })
            } else {
                next_start(
                    io,
                    view,
                    std::slice::from_ref(s),
                    &|_: &Snapshot| filter,
                    0,
                    s,
                    filter,
                    &candidates[k + 1..],
                )
                .await?
            }
        }
        // The listing ends within this page.
        _ => None,
    };
    Ok(Some((page, next)))
}

/// Stream rows from position `start` over the manifests of `snapshots` (in order), `size` of
/// them, into `rows`; returns the position of the next row when there is one. Manifests are
/// fetched a few ahead of decoding, but only as many as the page needs when the manifest
/// list's counts tell how many rows each holds; once the page is full, the next page's start
/// comes from those counts, or from reading on until the next matching entry. `first_list`
/// is the manifest list of the starting snapshot when the caller has read it already.
#[allow(clippy::too_many_arguments)]
async fn stream_page<S: RowSink>(
    io: &FileIO,
    view: &TableView,
    snapshots: &[Snapshot],
    mut first_list: Option<Vec<ManifestFile>>,
    filter_for: impl Fn(&Snapshot) -> EntryFilter,
    start: Position,
    size: usize,
    rows: &mut S,
) -> ApiResult<Option<Position>> {
    if start.snap > snapshots.len() {
        return Err(ApiError::bad_request(
            "invalid page-token: position past the end of the listing",
        ));
    }
    for (si, snap) in snapshots.iter().enumerate().skip(start.snap) {
        let filter = filter_for(snap);
        let manifests = match first_list.take() {
            Some(list) if si == start.snap => list,
            _ => load_manifest_list(io, snap).await.map_err(internal)?,
        };
        let first = if si == start.snap { start.manifest } else { 0 };
        if first > manifests.len() {
            return Err(ApiError::bad_request(
                "invalid page-token: position past the end of the listing",
            ));
        }
        let candidates: Vec<(usize, &ManifestFile)> = manifests
            .iter()
            .enumerate()
            .skip(first)
            .filter(|(_, m)| filter.manifest(m))
            .collect();
        let skip_of = |mi: usize| {
            if si == start.snap && mi == start.manifest {
                start.entry
            } else {
                0
            }
        };
        // The manifests this page needs: up to the one whose counted rows fill it (all of
        // them when a manifest's count is unknown).
        let want = size - rows.len();
        let mut counted = 0usize;
        let mut needed = candidates.len();
        for (k, (mi, m)) in candidates.iter().enumerate() {
            let Some(n) = filter.live_count(m) else {
                break;
            };
            counted += n.saturating_sub(skip_of(*mi));
            if counted >= want {
                needed = k + 1;
                break;
            }
        }
        let candidates = &candidates;
        let mut reads = futures::stream::iter(0..needed)
            .map(|k| async move {
                let (mi, m) = candidates[k];
                let bytes = read_bytes(io, m).await?;
                Ok::<_, ApiError>((mi, m, bytes))
            })
            .buffered(4);
        let mut done = 0;
        let mut full_at = None;
        while let Some(next) = reads.next().await {
            let (mi, m, bytes) = next?;
            done += 1;
            let want = size - rows.len();
            let more = read_chunk(view, snap, m, &bytes, filter, skip_of(mi), want, rows)?;
            if rows.len() < size {
                continue;
            }
            if let Some(ei) = more {
                return Ok(Some(Position {
                    snap: si,
                    manifest: mi,
                    entry: ei,
                }));
            }
            full_at = Some(done);
            break;
        }
        drop(reads);
        let Some(done) = full_at else {
            // Not full: the needed manifests were all read; read on through the rest.
            let mut rest = &candidates[needed..];
            while let Some(((mi, m), tail)) = rest.split_first() {
                rest = tail;
                let bytes = read_bytes(io, m).await?;
                let want = size - rows.len();
                let more = read_chunk(view, snap, m, &bytes, filter, skip_of(*mi), want, rows)?;
                if rows.len() < size {
                    continue;
                }
                if let Some(ei) = more {
                    return Ok(Some(Position {
                        snap: si,
                        manifest: *mi,
                        entry: ei,
                    }));
                }
                return next_start(io, view, snapshots, &filter_for, si, snap, filter, rest).await;
            }
            continue;
        };
        // The page is full and this manifest done: find where the next page starts.
        return next_start(
            io,
            view,
            snapshots,
            &filter_for,
            si,
            snap,
            filter,
            &candidates[done..],
        )
        .await;
    }
    Ok(None)
}

/// Where the next page starts: at the first matching entry of `rest` (manifests of snapshot
/// ordinal `si`, by their counts when those tell, else by reading them), or in a later
/// snapshot.
#[allow(clippy::too_many_arguments)]
async fn next_start(
    io: &FileIO,
    view: &TableView,
    snapshots: &[Snapshot],
    filter_for: &impl Fn(&Snapshot) -> EntryFilter,
    si: usize,
    snap: &Snapshot,
    filter: EntryFilter,
    rest: &[(usize, &ManifestFile)],
) -> ApiResult<Option<Position>> {
    for (mj, m) in rest {
        let ej = match filter.first_by_counts(m) {
            Some(ej) => Some(ej),
            None => {
                let bytes = read_bytes(io, m).await?;
                read_chunk(view, snap, m, &bytes, filter, 0, 0, &mut NoRows)?
            }
        };
        if let Some(ej) = ej {
            return Ok(Some(Position {
                snap: si,
                manifest: *mj,
                entry: ej,
            }));
        }
    }
    next_match(io, view, snapshots, filter_for, si + 1).await
}

/// The position of the first matching entry in the snapshots from ordinal `from` on.
async fn next_match(
    io: &FileIO,
    view: &TableView,
    snapshots: &[Snapshot],
    filter_for: &impl Fn(&Snapshot) -> EntryFilter,
    from: usize,
) -> ApiResult<Option<Position>> {
    for (si, snap) in snapshots.iter().enumerate().skip(from) {
        let filter = filter_for(snap);
        let manifests = load_manifest_list(io, snap).await.map_err(internal)?;
        for (mi, m) in manifests.iter().enumerate() {
            if !filter.manifest(m) {
                continue;
            }
            if let Some(ei) = filter.first_by_counts(m) {
                return Ok(Some(Position {
                    snap: si,
                    manifest: mi,
                    entry: ei,
                }));
            }
            let bytes = read_bytes(io, m).await?;
            if let Some(ei) = read_chunk(view, snap, m, &bytes, filter, 0, 0, &mut NoRows)? {
                return Ok(Some(Position {
                    snap: si,
                    manifest: mi,
                    entry: ei,
                }));
            }
        }
    }
    Ok(None)
}

/// Add a manifest's rows from entry `skip` on, at most `want` of them, to `rows`; returns
/// the index of the next matching entry after those (None when the manifest has no more).
#[allow(clippy::too_many_arguments)]
fn read_chunk<S: RowSink>(
    view: &TableView,
    snap: &Snapshot,
    m: &ManifestFile,
    bytes: &[u8],
    filter: EntryFilter,
    skip: usize,
    want: usize,
    rows: &mut S,
) -> ApiResult<Option<usize>> {
    let ptype: StructType = manifest_partition_type(&view.md, m).map_err(internal)?;
    let reader = ManifestReader::new(bytes, m, &ptype)
        .map_err(|e| internal(e.context(format!("manifest {}", m.manifest_path))))?;
    let mut taken = 0;
    for (ei, e) in reader.enumerate() {
        let e = e.map_err(|e| internal(e.context(format!("manifest {}", m.manifest_path))))?;
        if ei < skip || !filter.entry(&e) {
            continue;
        }
        if taken == want {
            return Ok(Some(ei));
        }
        rows.push(view, m.partition_spec_id, snap, &e)?;
        taken += 1;
    }
    Ok(None)
}

fn snapshots_rows(md: &TableMetadata) -> Vec<Value> {
    md.snapshots()
        .iter()
        .map(|s| {
            let summary: Map<String, Value> = s
                .summary
                .iter()
                .filter(|(k, _)| *k != "operation")
                .map(|(k, v)| (k.to_string(), Value::from(v)))
                .collect();
            json!({
                "committed_at": iso_ms(s.timestamp_ms),
                "snapshot_id": s.snapshot_id,
                "parent_id": s.parent_snapshot_id,
                "operation": s.summary.operation.as_str(),
                "manifest_list": s.manifest_list,
                "summary": summary,
            })
        })
        .collect()
}

fn history_rows(md: &TableMetadata) -> Vec<Value> {
    let ancestors: std::collections::HashSet<i64> = md
        .current_snapshot_id()
        .map(|id| md.ancestors_of(id).map(|s| s.snapshot_id).collect())
        .unwrap_or_default();
    md.snapshot_log()
        .iter()
        .map(|e| {
            json!({
                "made_current_at": iso_ms(e.timestamp_ms),
                "snapshot_id": e.snapshot_id,
                "parent_id": md.snapshot_by_id(e.snapshot_id).and_then(|s| s.parent_snapshot_id),
                "is_current_ancestor": ancestors.contains(&e.snapshot_id),
            })
        })
        .collect()
}

fn refs_rows(md: &TableMetadata) -> Vec<Value> {
    md.refs()
        .iter()
        .map(|(name, r)| {
            let (ty, max_ref, min_keep, max_snap) = match r.retention {
                SnapshotRetention::Branch {
                    min_snapshots_to_keep,
                    max_snapshot_age_ms,
                    max_ref_age_ms,
                } => (
                    "BRANCH",
                    max_ref_age_ms,
                    min_snapshots_to_keep,
                    max_snapshot_age_ms,
                ),
                SnapshotRetention::Tag { max_ref_age_ms } => ("TAG", max_ref_age_ms, None, None),
            };
            json!({
                "name": name,
                "type": ty,
                "snapshot_id": r.snapshot_id,
                "max_reference_age_in_ms": max_ref,
                "min_snapshots_to_keep": min_keep,
                "max_snapshot_age_in_ms": max_snap,
            })
        })
        .collect()
}

fn metadata_log_rows(md: &TableMetadata, current_location: &str) -> Vec<Value> {
    md.metadata_log()
        .iter()
        .map(|e| (e.metadata_file.as_str(), e.timestamp_ms))
        .chain(std::iter::once((current_location, md.last_updated_ms())))
        .map(|(file, ts)| {
            let latest = snapshot_as_of(md, ts).and_then(|id| md.snapshot_by_id(id));
            json!({
                "timestamp": iso_ms(ts),
                "file": file,
                "latest_snapshot_id": latest.map(|s| s.snapshot_id),
                "latest_schema_id": latest.and_then(|s| s.schema_id),
                "latest_sequence_number": latest.map(|s| s.sequence_number),
            })
        })
        .collect()
}

/// Per-partition sums of one manifest (or of the table).
#[derive(Debug, Default, Clone)]
struct PartitionSums {
    spec_id: i32,
    values: Vec<Option<Datum>>,
    record_count: i64,
    file_count: i64,
    total_data_file_size_in_bytes: i64,
    position_delete_record_count: i64,
    position_delete_file_count: i64,
    equality_delete_record_count: i64,
    equality_delete_file_count: i64,
    /// (timestamp, snapshot id) of the newest snapshot that added a live file.
    last_updated: Option<(i64, i64)>,
}

impl PartitionSums {
    fn merge(&mut self, o: &PartitionSums) {
        self.record_count += o.record_count;
        self.file_count += o.file_count;
        self.total_data_file_size_in_bytes += o.total_data_file_size_in_bytes;
        self.position_delete_record_count += o.position_delete_record_count;
        self.position_delete_file_count += o.position_delete_file_count;
        self.equality_delete_record_count += o.equality_delete_record_count;
        self.equality_delete_file_count += o.equality_delete_file_count;
        if let Some(l) = o.last_updated
            && self.last_updated.is_none_or(|s| s.0 < l.0)
        {
            self.last_updated = Some(l);
        }
    }
}

/// Ordered map from partition key to sums, in first-seen order.
#[derive(Default)]
struct PartitionMap {
    index: HashMap<String, usize>,
    rows: Vec<PartitionSums>,
}

impl PartitionMap {
    fn slot(&mut self, key: String, make: impl FnOnce() -> PartitionSums) -> &mut PartitionSums {
        let i = self.slot_index(key, make);
        &mut self.rows[i]
    }

    /// The index in `rows` of the partition with `key`, added by `make` when new.
    fn slot_index(&mut self, key: String, make: impl FnOnce() -> PartitionSums) -> usize {
        *self.index.entry(key).or_insert_with(|| {
            self.rows.push(make());
            self.rows.len() - 1
        })
    }
}

async fn partitions_rows(
    io: &FileIO,
    view: &TableView,
    snapshot: &Snapshot,
) -> ApiResult<Vec<Value>> {
    let manifests = load_manifest_list(io, snapshot).await.map_err(internal)?;
    let md = view.md.clone();
    let shared = Arc::new(TableView::new(md.clone()));
    let per_manifest = {
        let shared = shared.clone();
        reduce_manifests(io, &md, manifests, move |m, entries| {
            let mut map = PartitionMap::default();
            // The files of a manifest mostly share a partition: the last one's slot is reused
            // without building its key again.
            let mut last: Option<(Vec<Option<Datum>>, usize)> = None;
            for e in entries {
                let e = e?;
                if e.status == ManifestStatus::Deleted {
                    continue;
                }
                let f = &e.data_file;
                let spec_id = m.partition_spec_id;
                let i = match &last {
                    Some((p, i)) if *p == f.partition => *i,
                    _ => {
                        let values = shared.union_values(spec_id, &f.partition);
                        let key = partition_key(&values);
                        let i = map.slot_index(key, || PartitionSums {
                            spec_id,
                            values: values.clone(),
                            ..Default::default()
                        });
                        last = Some((f.partition.clone(), i));
                        i
                    }
                };
                let slot = &mut map.rows[i];
                match f.content {
                    DataContentType::Data => {
                        slot.record_count += f.record_count;
                        slot.file_count += 1;
                        slot.total_data_file_size_in_bytes += f.file_size_in_bytes;
                    }
                    DataContentType::PositionDeletes => {
                        slot.position_delete_record_count += f.record_count;
                        slot.position_delete_file_count += 1;
                    }
                    DataContentType::EqualityDeletes => {
                        slot.equality_delete_record_count += f.record_count;
                        slot.equality_delete_file_count += 1;
                    }
                }
                if let Some(s) = e.snapshot_id.and_then(|id| shared.md.snapshot_by_id(id)) {
                    let l = (s.timestamp_ms, s.snapshot_id);
                    if slot.last_updated.is_none_or(|c| c.0 < l.0) {
                        slot.last_updated = Some(l);
                    }
                }
            }
            Ok(map)
        })
        .await?
    };
    let mut all = PartitionMap::default();
    for map in per_manifest {
        for sums in map.rows {
            let key = partition_key(&sums.values);
            let slot = all.slot(key, || PartitionSums {
                spec_id: sums.spec_id,
                values: sums.values.clone(),
                ..Default::default()
            });
            slot.merge(&sums);
        }
    }
    let unpartitioned = view.union.is_empty();
    Ok(all
        .rows
        .iter()
        .map(|p| {
            let mut partition = Map::new();
            for ((_, name, _, _), v) in view.union.iter().zip(&p.values) {
                partition.insert(
                    name.clone(),
                    v.as_ref().map(|d| d.to_json()).unwrap_or(Value::Null),
                );
            }
            let mut row = json!({
                "record_count": p.record_count,
                "file_count": p.file_count,
                "total_data_file_size_in_bytes": p.total_data_file_size_in_bytes,
                "position_delete_record_count": p.position_delete_record_count,
                "position_delete_file_count": p.position_delete_file_count,
                "equality_delete_record_count": p.equality_delete_record_count,
                "equality_delete_file_count": p.equality_delete_file_count,
                "last_updated_at": p.last_updated.map(|l| iso_ms(l.0)),
                "last_updated_snapshot_id": p.last_updated.map(|l| l.1),
            });
            if !unpartitioned && let Value::Object(m) = &mut row {
                m.insert("partition".into(), Value::Object(partition));
                m.insert("spec_id".into(), Value::from(p.spec_id));
            }
            row
        })
        .collect())
}

/// One manifest's share of the health figures.
/// Delete files from which `health` advises folding them (as many as an upsert stream leaves
/// before Floe's upserts merge their deltas).
const DELETE_FILES_ADVICE: i64 = 16;

#[derive(Default)]
struct HealthSums {
    data_sizes: Vec<i64>,
    delete_files: i64,
    records: i64,
    /// partition key -> (readable partition, data files, small data files)
    partitions: HashMap<String, (String, i64, i64)>,
}

async fn health_row(
    io: &FileIO,
    view: &TableView,
    snapshot: Option<&Snapshot>,
) -> ApiResult<Value> {
    let md = view.md.clone();
    let target = md
        .properties()
        .get("write.target-file-size-bytes")
        .and_then(|v| v.parse::<i64>().ok())
        .filter(|v| *v > 0)
        .unwrap_or(DEFAULT_TARGET_FILE_SIZE);
    let small_under = target / 4;
    let manifests = match snapshot {
        Some(s) => load_manifest_list(io, s).await.map_err(internal)?,
        None => vec![],
    };
    let manifest_count = manifests.len();
    let shared = Arc::new(TableView::new(md.clone()));
    let parts = {
        let shared = shared.clone();
        reduce_manifests(io, &md, manifests, move |m, entries| {
            let mut h = HealthSums::default();
            for e in entries {
                let e = e?;
                if e.status == ManifestStatus::Deleted {
                    continue;
                }
                let f = &e.data_file;
                if f.content != DataContentType::Data {
                    h.delete_files += 1;
                    continue;
                }
                h.data_sizes.push(f.file_size_in_bytes);
                h.records += f.record_count;
                let values = shared.union_values(m.partition_spec_id, &f.partition);
                let key = partition_key(&values);
                let slot = h
                    .partitions
                    .entry(key)
                    .or_insert_with(|| (partition_label(&shared, &values), 0, 0));
                slot.1 += 1;
                if f.file_size_in_bytes < small_under {
                    slot.2 += 1;
                }
            }
            Ok(h)
        })
        .await?
    };
    let mut sizes: Vec<i64> = Vec::new();
    let mut delete_files = 0;
    let mut records = 0;
    let mut partitions: HashMap<String, (String, i64, i64)> = HashMap::new();
    for h in parts {
        sizes.extend(h.data_sizes);
        delete_files += h.delete_files;
        records += h.records;
        for (k, (label, n, small)) in h.partitions {
            let slot = partitions.entry(k).or_insert((label, 0, 0));
            slot.1 += n;
            slot.2 += small;
        }
    }
    sizes.sort_unstable();
    let n = sizes.len() as i64;
    let total: i64 = sizes.iter().sum();
    let small = sizes.iter().filter(|s| **s < small_under).count() as i64;
    let median = if sizes.is_empty() {
        Value::Null
    } else if sizes.len() % 2 == 1 {
        Value::from(sizes[sizes.len() / 2])
    } else {
        let (a, b) = (sizes[sizes.len() / 2 - 1], sizes[sizes.len() / 2]);
        Value::from((a + b) / 2)
    };
    let now = now_ms();
    let mut recommendations: Vec<String> = Vec::new();
    // Compaction: partitions where small files are the majority (and there are at least two
    // of them to merge), worst first.
    let mut candidates: Vec<(String, i64, i64)> = partitions
        .into_values()
        .filter(|(_, n, small)| *small >= 2 && *small * 2 > *n)
        .collect();
    candidates.sort_by(|a, b| b.2.cmp(&a.2).then(a.0.cmp(&b.0)));
    if !candidates.is_empty() {
        let (files, smalls) = candidates
            .iter()
            .fold((0, 0), |(f, s), c| (f + c.1, s + c.2));
        let pct = smalls * 100 / files.max(1);
        let threshold = human_bytes(small_under);
        let what = if view.union.is_empty() {
            "compact the table".to_string()
        } else {
            let names: Vec<&str> = candidates.iter().take(5).map(|c| c.0.as_str()).collect();
            let more = candidates.len().saturating_sub(5);
            let mut s = if candidates.len() == 1 {
                format!("compact partition {}", names[0])
            } else {
                format!("compact partitions {}", join_and(&names))
            };
            if more > 0 {
                s.push_str(&format!(" (and {more} more)"));
            }
            s
        };
        recommendations.push(format!(
            "{what}: {pct}% of {} data files are smaller than {threshold} (a quarter of the \
             target file size)",
            if candidates.len() == 1 && view.union.is_empty() {
                "its"
            } else {
                "their"
            }
        ));
    }
    // Delete files: every read applies them until they are folded away.
    if delete_files >= DELETE_FILES_ADVICE {
        recommendations.push(format!(
            "fold delete files: {delete_files} are applied on every read; run \
             rewrite-data-files (with merge-deltas when upserts wrote them)"
        ));
    }
    let heads: std::collections::HashSet<i64> = md.refs().values().map(|r| r.snapshot_id).collect();
    let old = md
        .snapshots()
        .iter()
        .filter(|s| now - s.timestamp_ms > EXPIRE_AGE_MS && !heads.contains(&s.snapshot_id))
        .count();
    if old > 0 {
        recommendations.push(format!(
            "expire snapshots: {old} {} older than 7 days",
            if old == 1 { "is" } else { "are" }
        ));
    }
    Ok(json!({
        "last_updated_at": iso_ms(md.last_updated_ms()),
        "hours_since_update": ((now - md.last_updated_ms()) as f64 / 3_600_000.0 * 100.0).round() / 100.0,
        "snapshot_count": md.snapshots().len(),
        "data_file_count": n,
        "delete_file_count": delete_files,
        "manifest_count": manifest_count,
        "total_records": records,
        "total_data_size_bytes": total,
        "avg_file_size_bytes": if n > 0 { Value::from(total / n) } else { Value::Null },
        "median_file_size_bytes": median,
        "small_file_ratio": if n > 0 { Value::from(((small as f64 / n as f64) * 10_000.0).round() / 10_000.0) } else { Value::Null },
        "recommendations": recommendations,
    }))
}

fn partition_label(view: &TableView, values: &[Option<Datum>]) -> String {
    let parts: Vec<String> = view
        .union
        .iter()
        .zip(values)
        .filter_map(|((_, name, _, _), v)| {
            v.as_ref().map(|d| format!("{name}={}", d.human_string()))
        })
        .collect();
    if parts.is_empty() {
        "(null)".to_string()
    } else {
        format!("({})", parts.join(", "))
    }
}

fn join_and(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => one.to_string(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

fn human_bytes(n: i64) -> String {
    const MIB: i64 = 1024 * 1024;
    if n >= MIB && n % MIB == 0 {
        format!("{} MiB", n / MIB)
    } else if n >= 1024 && n % 1024 == 0 {
        format!("{} KiB", n / 1024)
    } else {
        format!("{n} bytes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_refuse_garbage() {
        let t = Token {
            kind: "files",
            snapshot_id: 42,
            from_id: 0,
            pos: Position {
                snap: 0,
                manifest: 3,
                entry: 17,
            },
        };
        assert_eq!(Token::decode(&t.encode(), InspectKind::Files).unwrap(), t);
        assert!(Token::decode(&t.encode(), InspectKind::Entries).is_err());
        for bad in [
            "zz",
            "00",
            &hex::encode("v1|files|x|0|0|0|0"),
            &hex::encode("v2|files|1|0|0|0|0"),
        ] {
            assert_eq!(
                Token::decode(bad, InspectKind::Files).unwrap_err().status,
                StatusCode::BAD_REQUEST
            );
        }
    }

    #[test]
    fn every_kind_parses_from_its_word() {
        for (w, k) in InspectKind::ALL {
            assert_eq!(InspectKind::parse(w), Some(*k));
            assert_eq!(k.word(), *w);
        }
        assert_eq!(InspectKind::parse("nope"), None);
    }

    #[test]
    fn helpers() {
        assert_eq!(join_and(&["a", "b", "c"]), "a, b and c");
        assert_eq!(human_bytes(128 * 1024 * 1024), "128 MiB");
        assert_eq!(iso_ms(0), json!("1970-01-01T00:00:00.000Z"));
    }
}
