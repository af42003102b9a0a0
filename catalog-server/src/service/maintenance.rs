//! Table maintenance on the server: the four actions of table-format's `maintenance` module
//! run against a table of the catalog, and the automatic snapshot expiry that table
//! properties schedule.
//!
//! - [`MaintenanceAction`] and its options ([`ExpireSnapshotsOptions`],
//!   [`RemoveOrphanFilesOptions`], [`RewriteDataFilesOptions`], [`RewriteManifestsOptions`]):
//!   the JSON bodies of `POST .../tables/{t}/maintenance/{action}`, parsed strictly.
//! - [`CatalogService::run_maintenance`]: load the table, run the library's operation, and
//!   answer its report in the API's shape. Operations commit through `ServiceCatalog`, an
//!   implementation of the library's `Catalog` trait over this service's own commit path, so
//!   a maintenance commit is atomic, takes its turn in the per-table commit queue, is checked
//!   and applied by the same metadata builder, and lands in the same pointer store as every
//!   client commit (a lost race re-plans on the new head; requirements that no longer hold
//!   answer 409).
//! - [`ExpirySchedule`]: the typed `floe.maintenance.expire-snapshots.*` table properties.
//!   The commit path keeps the store's schedules in step with them (`sync_schedules`, after
//!   every commit that sets or removes such a property, and on create, register, rename and
//!   drop); invalid values are refused before a commit (`validate_maintenance_properties`).
//! - [`CatalogService::maintenance_tick`]: one round of a server's background worker: fail
//!   abandoned tasks, enqueue the due schedule slots (idempotently: a slot is a unique key),
//!   then claim and run queued tasks one at a time, renewing the lease while a task runs. The
//!   store makes each claim exclusive (see `store::tasks`), so with several replicas every
//!   task runs once, and a task whose worker died is taken over when its lease expires.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use table_format::ErrorKind;
use table_format::catalog::{Catalog, TableCreation, TableIdent};
use table_format::io::FileIO;
use table_format::maintenance::rewrite_data_files::RewriteStrategy;
use table_format::spec::{TableMetadata, TableRequirement, TableUpdate};
use table_format::table::Table;

use super::{CatalogService, TableChange, validate_name, validate_namespace};
use crate::error::{ApiError, ApiResult};
use crate::store::tasks::{NewTask, ScheduleRecord, TaskFilter, TaskRecord, TaskStatus};
use crate::store::{Page, StoreError, Warehouse, namespace_key, namespace_levels};

/// Table properties under this prefix configure automatic maintenance.
pub const MAINTENANCE_PROPERTY_PREFIX: &str = "floe.maintenance.";
/// `floe.maintenance.expire-snapshots.enabled`: `true` schedules snapshot expiry.
pub const EXPIRE_ENABLED: &str = "floe.maintenance.expire-snapshots.enabled";
/// `floe.maintenance.expire-snapshots.interval-ms`: time between runs (default one day).
pub const EXPIRE_INTERVAL_MS: &str = "floe.maintenance.expire-snapshots.interval-ms";
/// `floe.maintenance.expire-snapshots.retain-last`: keep at least this many snapshots per
/// branch (default: the table's `history.expire.min-snapshots-to-keep`).
pub const EXPIRE_RETAIN_LAST: &str = "floe.maintenance.expire-snapshots.retain-last";
/// `floe.maintenance.expire-snapshots.max-snapshot-age-ms`: expire snapshots older than this
/// at each run (default: the table's `history.expire.max-snapshot-age-ms`).
pub const EXPIRE_MAX_SNAPSHOT_AGE_MS: &str =
    "floe.maintenance.expire-snapshots.max-snapshot-age-ms";
/// `floe.maintenance.expire-snapshots.clean-files`: delete the files only expired snapshots
/// reached (default true).
pub const EXPIRE_CLEAN_FILES: &str = "floe.maintenance.expire-snapshots.clean-files";
/// Default of [`EXPIRE_INTERVAL_MS`]: one day.
pub const DEFAULT_EXPIRE_INTERVAL_MS: i64 = 24 * 60 * 60 * 1000;
/// How many orphan paths a `remove-orphan-files` report lists.
pub const ORPHAN_FILES_SHOWN: usize = 1000;
/// How many times a task is claimed before it is given up (a worker that dies mid-task
/// leaves it to the next one when the lease expires).
pub const MAX_TASK_ATTEMPTS: i64 = 3;
/// Most tasks one worker round runs before it looks at the stop signal again.
const TASKS_PER_TICK: usize = 16;
/// Most due schedules one round enqueues.
const SCHEDULES_PER_TICK: usize = 100;

/// A maintenance action of `POST .../maintenance/{action}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MaintenanceAction {
    /// Snapshot expiry and clean-up of the files only expired snapshots reached.
    ExpireSnapshots,
    /// Deletion of files under the table location that no metadata references.
    RemoveOrphanFiles,
    /// Compaction of data files.
    RewriteDataFiles,
    /// Merging of small manifests.
    RewriteManifests,
}

impl MaintenanceAction {
    /// Every action.
    pub const ALL: [MaintenanceAction; 4] = [
        MaintenanceAction::ExpireSnapshots,
        MaintenanceAction::RemoveOrphanFiles,
        MaintenanceAction::RewriteDataFiles,
        MaintenanceAction::RewriteManifests,
    ];

    /// The path segment (and audit, task) name.
    pub fn as_str(self) -> &'static str {
        match self {
            MaintenanceAction::ExpireSnapshots => "expire-snapshots",
            MaintenanceAction::RemoveOrphanFiles => "remove-orphan-files",
            MaintenanceAction::RewriteDataFiles => "rewrite-data-files",
            MaintenanceAction::RewriteManifests => "rewrite-manifests",
        }
    }

    /// The action a path segment names.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

/// `expire-snapshots` options.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ExpireSnapshotsOptions {
    /// Report only.
    #[serde(default)]
    pub dry_run: bool,
    /// Keep at least this many snapshots of each branch's history.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retain_last: Option<i32>,
    /// Expire snapshots older than this timestamp (Unix ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub older_than_ms: Option<i64>,
    /// Also expire these snapshots.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub snapshot_ids: Vec<i64>,
    /// Delete the files only expired snapshots reached (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clean_files: Option<bool>,
}

/// `remove-orphan-files` options.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct RemoveOrphanFilesOptions {
    /// Report only.
    #[serde(default)]
    pub dry_run: bool,
    /// Only files last modified before this timestamp (Unix ms; default three days ago).
    #[serde(default)]
    pub older_than_ms: Option<i64>,
}

/// `rewrite-data-files` options.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct RewriteDataFilesOptions {
    /// Report only.
    #[serde(default)]
    pub dry_run: bool,
    /// `binpack` (default), `sort` or `zorder`.
    #[serde(default)]
    pub strategy: Option<String>,
    /// Columns to sort or z-order by.
    #[serde(default)]
    pub sort_columns: Option<Vec<String>>,
    /// Only files that may hold matching rows: an expression in the REST spec's JSON form.
    #[serde(default)]
    pub filter: Option<Value>,
    /// Target size of the new files (default `write.target-file-size-bytes`).
    #[serde(default)]
    pub target_file_size_bytes: Option<u64>,
    /// Leave groups with fewer candidate files alone (default 5).
    #[serde(default)]
    pub min_input_files: Option<usize>,
    /// Merge deltas instead of compacting by size: in each scope holding at least this many
    /// equality delete files, what was written since the oldest of them becomes one data file
    /// and one delete file (what Floe's upserts do on their own; for tables that other engines
    /// upsert into).
    #[serde(default)]
    pub merge_deltas: Option<usize>,
}

/// `rewrite-manifests` options.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct RewriteManifestsOptions {
    /// Report only.
    #[serde(default)]
    pub dry_run: bool,
}

/// The latest timestamp an option accepts (Unix ms, about the year 33658): beyond it no
/// clock arithmetic is safe, and no real cut-off lies there.
pub const MAX_TIMESTAMP_MS: i64 = 1_000_000_000_000_000;
/// The largest `target-file-size-bytes` accepted (1 TiB).
pub const MAX_TARGET_FILE_SIZE_BYTES: u64 = 1 << 40;
/// The largest `min-input-files` accepted.
pub const MAX_MIN_INPUT_FILES: usize = 1_000_000;

fn check_timestamp(name: &str, t: Option<i64>) -> ApiResult<()> {
    match t {
        Some(t) if !(0..=MAX_TIMESTAMP_MS).contains(&t) => Err(ApiError::bad_request(format!(
            "{name} must be a timestamp in milliseconds between 0 and {MAX_TIMESTAMP_MS}, got {t}"
        ))),
        _ => Ok(()),
    }
}

fn parse_options<T: serde::de::DeserializeOwned>(
    action: MaintenanceAction,
    options: &Value,
) -> ApiResult<T> {
    serde_json::from_value(options.clone())
        .map_err(|e| ApiError::bad_request(format!("invalid options for {}: {e}", action.as_str())))
}

/// The typed `floe.maintenance.expire-snapshots.*` properties of a table that enables
/// scheduled expiry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpirySchedule {
    /// Time between runs.
    pub interval_ms: i64,
    /// Snapshots to keep per branch, if set.
    pub retain_last: Option<i32>,
    /// Expire snapshots older than this age at each run, if set.
    pub max_snapshot_age_ms: Option<i64>,
    /// Delete the files only expired snapshots reached.
    pub clean_files: bool,
}

/// What a schedule stores as its options.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
struct ScheduledExpiry {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    retain_last: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    max_snapshot_age_ms: Option<i64>,
    #[serde(default = "yes")]
    clean_files: bool,
}

fn yes() -> bool {
    true
}

fn parse_bool(key: &str, v: &str) -> Result<bool, String> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(format!(
            "table property {key} must be true or false, got '{v}'"
        )),
    }
}

fn parse_positive(key: &str, v: &str) -> Result<i64, String> {
    match v.trim().parse::<i64>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(format!(
            "table property {key} must be a positive integer, got '{v}'"
        )),
    }
}

/// Check one `floe.maintenance.*` property (key known, value well-formed).
pub fn validate_maintenance_property(key: &str, value: &str) -> Result<(), String> {
    match key {
        EXPIRE_ENABLED | EXPIRE_CLEAN_FILES => parse_bool(key, value).map(|_| ()),
        EXPIRE_INTERVAL_MS | EXPIRE_MAX_SNAPSHOT_AGE_MS => parse_positive(key, value).map(|_| ()),
        EXPIRE_RETAIN_LAST => {
            let n = parse_positive(key, value)?;
            i32::try_from(n)
                .map(|_| ())
                .map_err(|_| format!("table property {key} is too large: {value}"))
        }
        _ => Err(format!(
            "unknown table property {key}. Help: automatic maintenance knows {EXPIRE_ENABLED}, \
             {EXPIRE_INTERVAL_MS}, {EXPIRE_RETAIN_LAST}, {EXPIRE_MAX_SNAPSHOT_AGE_MS} and \
             {EXPIRE_CLEAN_FILES}"
        )),
    }
}

/// Refuse properties a commit or a create would set under `floe.maintenance.` that are
/// unknown or malformed (400), before anything is written.
pub fn validate_maintenance_properties<'a>(
    properties: impl IntoIterator<Item = (&'a String, &'a String)>,
) -> ApiResult<()> {
    for (k, v) in properties {
        if k.starts_with(MAINTENANCE_PROPERTY_PREFIX) {
            validate_maintenance_property(k, v).map_err(ApiError::bad_request)?;
        }
    }
    Ok(())
}

impl ExpirySchedule {
    /// The schedule the properties ask for: `None` unless
    /// `floe.maintenance.expire-snapshots.enabled` is `true`.
    pub fn from_properties(props: &BTreeMap<String, String>) -> Result<Option<Self>, String> {
        let enabled = match props.get(EXPIRE_ENABLED) {
            Some(v) => parse_bool(EXPIRE_ENABLED, v)?,
            None => false,
        };
        if !enabled {
            return Ok(None);
        }
        let int = |key: &str| props.get(key).map(|v| parse_positive(key, v)).transpose();
        let retain_last = match int(EXPIRE_RETAIN_LAST)? {
            Some(n) => {
                Some(i32::try_from(n).map_err(|_| format!("{EXPIRE_RETAIN_LAST} is too large"))?)
            }
            None => None,
        };
        Ok(Some(Self {
            interval_ms: int(EXPIRE_INTERVAL_MS)?.unwrap_or(DEFAULT_EXPIRE_INTERVAL_MS),
            retain_last,
            max_snapshot_age_ms: int(EXPIRE_MAX_SNAPSHOT_AGE_MS)?,
            clean_files: match props.get(EXPIRE_CLEAN_FILES) {
                Some(v) => parse_bool(EXPIRE_CLEAN_FILES, v)?,
                None => true,
            },
        }))
    }
}

/// Whether a table change may change its maintenance schedule: it sets or removes a
/// `floe.maintenance.*` property, or creates the table.
pub(crate) fn touches_schedule(ch: &TableChange) -> bool {
    let prefixed = |k: &String| k.starts_with(MAINTENANCE_PROPERTY_PREFIX);
    ch.requirements.contains(&TableRequirement::AssertCreate)
        || ch.updates.iter().any(|u| match u {
            TableUpdate::SetProperties { updates } => updates.keys().any(prefixed),
            TableUpdate::RemoveProperties { removals } => removals.iter().any(prefixed),
            _ => false,
        })
}

/// A maintenance worker's identity and lease.
#[derive(Debug, Clone)]
pub struct WorkerSettings {
    /// Unique per server process.
    pub worker_id: String,
    /// How long a claim holds without renewal (renewed every third of it while a task runs).
    pub lease: Duration,
}

impl WorkerSettings {
    /// Settings with a fresh worker id.
    pub fn new(lease: Duration) -> Self {
        Self {
            worker_id: format!(
                "{}-{}",
                std::process::id(),
                &uuid::Uuid::new_v4().simple().to_string()[..12]
            ),
            lease,
        }
    }
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn ident_str(ns: &[String], name: &str) -> String {
    format!("{}.{name}", ns.join("."))
}

/// The library's `Catalog` over this service, for one warehouse: loads read the store's
/// pointer and the (cached) metadata file; commits go through [`CatalogService::commit`].
#[derive(Debug)]
struct ServiceCatalog<'a> {
    service: &'a CatalogService,
    wh: &'a Warehouse,
    io: FileIO,
}

/// An [`ApiError`] of the service as the library's error, keeping what a retry needs to
/// know: a failed requirement or lost race is a retryable conflict.
fn to_library_error(e: ApiError, committing: bool) -> table_format::Error {
    let kind = match (e.status.as_u16(), e.kind) {
        (409, "CommitFailedException") => ErrorKind::CommitConflict,
        (409, _) => ErrorKind::AlreadyExists,
        (404, _) => ErrorKind::NotFound,
        (400 | 422, _) => ErrorKind::InvalidUpdate,
        (503, _) if committing => ErrorKind::CommitStateUnknown,
        _ => ErrorKind::Io,
    };
    table_format::Error::new(kind, e.message)
}

#[async_trait]
impl Catalog for ServiceCatalog<'_> {
    fn file_io(&self) -> &FileIO {
        &self.io
    }

    async fn load_table(&self, ident: &TableIdent) -> table_format::Result<Table> {
        self.service
            .table_handle(self.wh, &self.io, &ident.namespace, &ident.name)
            .await
            .map_err(|e| to_library_error(e, false))
    }

    async fn create_table(
        &self,
        _ident: &TableIdent,
        _creation: TableCreation,
    ) -> table_format::Result<Table> {
        Err(table_format::Error::unsupported(
            "maintenance does not create tables",
        ))
    }

    async fn commit_table(
        &self,
        ident: &TableIdent,
        requirements: Vec<TableRequirement>,
        updates: Vec<TableUpdate>,
    ) -> table_format::Result<Table> {
        let change = TableChange {
            namespace: ident.namespace.clone(),
            name: ident.name.clone(),
            requirements,
            updates,
        };
        let (outcomes, _) = self
            .service
            .commit(self.wh, vec![change])
            .await
            .map_err(|e| to_library_error(e, true))?;
        let outcome = outcomes.into_iter().next().ok_or_else(|| {
            table_format::Error::commit_state_unknown("the commit produced no outcome")
        })?;
        let md = self
            .service
            .read_metadata(&self.io, &outcome.metadata_location)
            .await
            .map_err(|e| to_library_error(e, false))?;
        Ok(Table::new(
            ident.clone(),
            (*md).clone(),
            outcome.metadata_location,
            self.io.clone(),
        ))
    }

    async fn drop_table(&self, _ident: &TableIdent, _purge: bool) -> table_format::Result<()> {
        Err(table_format::Error::unsupported(
            "maintenance does not drop tables",
        ))
    }

    async fn list_tables(&self, _namespace: &[String]) -> table_format::Result<Vec<TableIdent>> {
        Err(table_format::Error::unsupported(
            "maintenance does not list tables",
        ))
    }
}

/// A library failure of a maintenance operation on `ident`, in the error model.
fn operation_error(e: table_format::Error, ident: &str, action: MaintenanceAction) -> ApiError {
    let mut a = ApiError::from(e);
    a.message = format!("{} on {ident}: {}", action.as_str(), a.message);
    a
}

impl CatalogService {
    /// A table handle at its current metadata, with the warehouse's FileIO.
    pub(crate) async fn table_handle(
        &self,
        wh: &Warehouse,
        io: &FileIO,
        namespace: &[String],
        name: &str,
    ) -> ApiResult<Table> {
        validate_namespace(namespace)?;
        validate_name("table name", name)?;
        let rec = self
            .store
            .get_table(wh, namespace, name)
            .await
            .map_err(ApiError::from_table_store)?;
        let md = self.read_metadata(io, &rec.metadata_location).await?;
        Ok(Table::new(
            TableIdent::new(namespace.to_vec(), name),
            (*md).clone(),
            rec.metadata_location,
            io.clone(),
        ))
    }

    /// Run a maintenance action on a table with `options` (the request's JSON object) and
    /// return its report (see `spec/http-api.md`, "Table maintenance").
    pub async fn run_maintenance(
        &self,
        wh: &Warehouse,
        namespace: &[String],
        name: &str,
        action: MaintenanceAction,
        options: &Value,
    ) -> ApiResult<Value> {
        self.maintenance(wh, namespace, name, action, options).await
    }

    async fn maintenance(
        &self,
        wh: &Warehouse,
        namespace: &[String],
        name: &str,
        action: MaintenanceAction,
        options: &Value,
    ) -> ApiResult<Value> {
        let ident = ident_str(namespace, name);
        let io = self.file_io(wh)?;
        let catalog = ServiceCatalog {
            service: self,
            wh,
            io: io.clone(),
        };
        let fail = |e| operation_error(e, &ident, action);
        match action {
            MaintenanceAction::ExpireSnapshots => {
                let o: ExpireSnapshotsOptions = parse_options(action, options)?;
                let table = self.table_handle(wh, &io, namespace, name).await?;
                let mut op = table
                    .expire_snapshots()
                    .dry_run(o.dry_run)
                    .clean_files(o.clean_files.unwrap_or(true));
                if let Some(n) = o.retain_last {
                    if n < 1 {
                        return Err(ApiError::bad_request(format!(
                            "retain-last must be at least 1, got {n}"
                        )));
                    }
                    op = op.retain_last(n);
                }
                check_timestamp("older-than-ms", o.older_than_ms)?;
                if let Some(t) = o.older_than_ms {
                    op = op.older_than_ms(t);
                }
                if let Some(id) = o
                    .snapshot_ids
                    .iter()
                    .find(|id| table.metadata().snapshot_by_id(**id).is_none())
                {
                    return Err(ApiError::bad_request(format!(
                        "snapshot {id} does not exist in table {ident}"
                    )));
                }
                op = op.snapshot_ids(o.snapshot_ids);
                let r = op.commit(&catalog).await.map_err(fail)?.report;
                for e in &r.cleanup_errors {
                    tracing::warn!(table = %ident, "expire-snapshots clean-up: {e}");
                }
                let f = &r.deleted_files;
                Ok(json!({
                    "dry-run": r.dry_run,
                    "expired-snapshot-ids": r.expired_snapshot_ids,
                    "deleted-files": {
                        "manifest-lists": f.manifest_lists.len(),
                        "manifests": f.manifests.len(),
                        "data-files": f.data_files.len(),
                        "delete-files": f.delete_files.len(),
                        "metadata-files": f.metadata_files.len(),
                        "statistics-files": f.statistics_files.len(),
                    },
                    "deleted-bytes": r.deleted_bytes,
                }))
            }
            MaintenanceAction::RemoveOrphanFiles => {
                let o: RemoveOrphanFilesOptions = parse_options(action, options)?;
                let table = self.table_handle(wh, &io, namespace, name).await?;
                check_timestamp("older-than-ms", o.older_than_ms)?;
                let mut op = table.remove_orphan_files().dry_run(o.dry_run);
                if let Some(t) = o.older_than_ms {
                    op = op.older_than_ms(t);
                }
                let r = op.execute().await.map_err(fail)?;
                for e in &r.errors {
                    tracing::warn!(table = %ident, "remove-orphan-files: {e}");
                }
                let shown: Vec<&String> = r.orphan_files.iter().take(ORPHAN_FILES_SHOWN).collect();
                Ok(json!({
                    "dry-run": r.dry_run,
                    "orphan-file-count": r.orphan_file_count,
                    "orphan-files": shown,
                    "deleted-bytes": r.deleted_bytes,
                }))
            }
            MaintenanceAction::RewriteDataFiles => {
                let o: RewriteDataFilesOptions = parse_options(action, options)?;
                let table = self.table_handle(wh, &io, namespace, name).await?;
                let mut op = table.rewrite_data_files().dry_run(o.dry_run);
                if let Some(s) = &o.strategy {
                    let s: RewriteStrategy = s
                        .parse()
                        .map_err(|e: table_format::Error| ApiError::bad_request(e.message()))?;
                    op = op.strategy(s);
                }
                if let Some(c) = o.sort_columns {
                    op = op.sort_columns(c);
                }
                if let Some(f) = &o.filter {
                    op = op.filter_json(f).map_err(|e| {
                        ApiError::bad_request(format!("invalid filter: {}", e.message()))
                    })?;
                }
                if let Some(n) = o.target_file_size_bytes {
                    if !(1..=MAX_TARGET_FILE_SIZE_BYTES).contains(&n) {
                        return Err(ApiError::bad_request(format!(
                            "target-file-size-bytes must be between 1 and {MAX_TARGET_FILE_SIZE_BYTES}, got {n}"
                        )));
                    }
                    op = op.target_file_size_bytes(n);
                }
                if let Some(n) = o.min_input_files {
                    if !(1..=MAX_MIN_INPUT_FILES).contains(&n) {
                        return Err(ApiError::bad_request(format!(
                            "min-input-files must be between 1 and {MAX_MIN_INPUT_FILES}, got {n}"
                        )));
                    }
                    op = op.min_input_files(n);
                }
                if let Some(n) = o.merge_deltas {
                    if o.strategy.is_some() || o.filter.is_some() || o.min_input_files.is_some() {
                        return Err(ApiError::bad_request(
                            "merge-deltas picks its own files: give it without strategy, filter \
                             or min-input-files",
                        ));
                    }
                    if !(1..=MAX_MIN_INPUT_FILES).contains(&n) {
                        return Err(ApiError::bad_request(format!(
                            "merge-deltas must be between 1 and {MAX_MIN_INPUT_FILES}, got {n}"
                        )));
                    }
                    op = op.merge_deltas(n);
                }
                let r = op.execute(&catalog).await.map_err(fail)?;
                Ok(json!({
                    "dry-run": r.dry_run,
                    "rewritten-data-files": r.rewritten_data_files,
                    "added-data-files": r.added_data_files,
                    "rewritten-bytes": r.rewritten_bytes,
                    "added-bytes": r.added_bytes,
                    "removed-delete-files": r.removed_delete_files,
                    "added-delete-files": r.added_delete_files,
                    "snapshot-id": r.snapshot_id,
                }))
            }
            MaintenanceAction::RewriteManifests => {
                let o: RewriteManifestsOptions = parse_options(action, options)?;
                let table = self.table_handle(wh, &io, namespace, name).await?;
                let r = table
                    .rewrite_manifests()
                    .dry_run(o.dry_run)
                    .execute(&catalog)
                    .await
                    .map_err(fail)?;
                Ok(json!({
                    "dry-run": r.dry_run,
                    "rewritten-manifests": r.rewritten_manifests,
                    "added-manifests": r.added_manifests,
                    "snapshot-id": r.snapshot_id,
                }))
            }
        }
    }

    // ---- schedules --------------------------------------------------------------------

    /// Bring a table's stored schedules in line with its properties in `md` (after a commit
    /// or create that may have changed them). Failures are logged: the commit has landed.
    pub(crate) async fn sync_schedules(
        &self,
        wh: &Warehouse,
        namespace: &[String],
        name: &str,
        md: &TableMetadata,
    ) {
        let key = namespace_key(namespace);
        let action = MaintenanceAction::ExpireSnapshots.as_str();
        let now = now_ms();
        let r = match ExpirySchedule::from_properties(md.properties()) {
            Ok(Some(s)) => {
                let options = ScheduledExpiry {
                    retain_last: s.retain_last,
                    max_snapshot_age_ms: s.max_snapshot_age_ms,
                    clean_files: s.clean_files,
                };
                let record = ScheduleRecord {
                    warehouse_id: wh.id.clone(),
                    namespace: key,
                    table_name: name.to_string(),
                    action: action.to_string(),
                    table_uuid: md.table_uuid().to_string(),
                    interval_ms: s.interval_ms,
                    options: serde_json::to_string(&options).unwrap_or_else(|_| "{}".into()),
                    next_run_ms: now.saturating_add(s.interval_ms),
                };
                self.store.upsert_schedule(&record, now).await
            }
            Ok(None) => {
                self.store
                    .delete_schedules(&wh.id, &key, name, Some(action))
                    .await
            }
            Err(e) => {
                tracing::warn!(table = %ident_str(namespace, name), "maintenance schedule not set: {e}");
                self.store
                    .delete_schedules(&wh.id, &key, name, Some(action))
                    .await
            }
        };
        if let Err(e) = r {
            tracing::warn!(table = %ident_str(namespace, name), "cannot update the maintenance schedule: {e}");
        }
    }

    /// Forget a dropped table's schedules (logged on failure: a leftover schedule's task
    /// fails, finding no table of its uuid, and the schedule is removed then).
    pub(crate) async fn drop_schedules(&self, wh: &Warehouse, namespace: &[String], name: &str) {
        if let Err(e) = self
            .store
            .delete_schedules(&wh.id, &namespace_key(namespace), name, None)
            .await
        {
            tracing::warn!(table = %ident_str(namespace, name), "cannot remove the maintenance schedules: {e}");
        }
    }

    /// Move a renamed table's schedules along.
    pub(crate) async fn rename_schedules(
        &self,
        wh: &Warehouse,
        from: (&[String], &str),
        to: (&[String], &str),
    ) {
        let (f, t) = (namespace_key(from.0), namespace_key(to.0));
        if let Err(e) = self
            .store
            .rename_schedules(&wh.id, (&f, from.1), (&t, to.1))
            .await
        {
            tracing::warn!(table = %ident_str(to.0, to.1), "cannot move the maintenance schedules: {e}");
        }
    }

    // ---- the task queue -----------------------------------------------------------------

    /// Tasks, newest first.
    pub async fn list_tasks(&self, filter: &TaskFilter) -> ApiResult<Page<TaskRecord>> {
        Ok(self.store.list_tasks(filter).await?)
    }

    /// One task.
    pub async fn get_task(&self, id: i64) -> ApiResult<TaskRecord> {
        Ok(self.store.get_task(id).await?)
    }

    // ---- the worker ---------------------------------------------------------------------

    /// One round of the background worker: fail abandoned tasks, enqueue due schedule slots,
    /// then claim and run queued tasks (at most a few per round). Returns how many it ran.
    pub async fn maintenance_tick(&self, w: &WorkerSettings) -> ApiResult<usize> {
        let lease_ms = i64::try_from(w.lease.as_millis())
            .unwrap_or(i64::MAX)
            .max(1);
        let failed = self
            .store
            .fail_abandoned_tasks(now_ms(), MAX_TASK_ATTEMPTS)
            .await?;
        if failed > 0 {
            tracing::warn!(
                failed,
                "maintenance tasks abandoned by their workers failed"
            );
        }
        self.enqueue_due().await?;
        let mut ran = 0;
        while ran < TASKS_PER_TICK {
            let Some(task) = self
                .store
                .claim_task(&w.worker_id, now_ms(), lease_ms, MAX_TASK_ATTEMPTS)
                .await?
            else {
                break;
            };
            self.run_task(task, w, lease_ms).await?;
            ran += 1;
        }
        Ok(ran)
    }

    /// Enqueue one task per due schedule slot and move each schedule to its next slot after
    /// now (missed slots are skipped, not made up).
    async fn enqueue_due(&self) -> ApiResult<()> {
        let now = now_ms();
        let due = self.store.due_schedules(now, SCHEDULES_PER_TICK).await?;
        if due.is_empty() {
            return Ok(());
        }
        let warehouses: HashMap<String, Warehouse> = self
            .store
            .list_warehouses()
            .await?
            .into_iter()
            .map(|w| (w.id.clone(), w))
            .collect();
        for s in due {
            let Some(wh) = warehouses.get(&s.warehouse_id) else {
                self.store
                    .delete_schedules(&s.warehouse_id, &s.namespace, &s.table_name, None)
                    .await?;
                continue;
            };
            let slot = s.next_run_ms;
            let options = self.task_options(&s, slot);
            let task = NewTask {
                slot_key: format!("{}/{}@{slot}", s.table_uuid, s.action),
                warehouse_id: s.warehouse_id.clone(),
                warehouse: wh.name.clone(),
                namespace: s.namespace.clone(),
                table_name: s.table_name.clone(),
                table_uuid: s.table_uuid.clone(),
                action: s.action.clone(),
                options,
                created_ms: now,
            };
            if let Some(id) = self.store.enqueue_task(&task).await? {
                tracing::info!(task = id, table = %s.table_name, action = %s.action, "enqueued a scheduled maintenance task");
            }
            let interval = s.interval_ms.max(1);
            let next = slot.saturating_add(interval.saturating_mul((now - slot) / interval + 1));
            self.store.advance_schedule(&s, next, now).await?;
        }
        Ok(())
    }

    /// The options of the task for a schedule's slot (due at `slot_ms`), as the action's
    /// request body.
    fn task_options(&self, s: &ScheduleRecord, slot_ms: i64) -> String {
        let scheduled: ScheduledExpiry = serde_json::from_str(&s.options).unwrap_or_default();
        let options = ExpireSnapshotsOptions {
            dry_run: false,
            retain_last: scheduled.retain_last,
            older_than_ms: scheduled
                .max_snapshot_age_ms
                .map(|age| slot_ms.saturating_sub(age)),
            snapshot_ids: Vec::new(),
            clean_files: Some(scheduled.clean_files),
        };
        serde_json::to_string(&options).unwrap_or_else(|_| "{}".into())
    }

    /// Run a claimed task, renewing its lease meanwhile, and record the outcome.
    async fn run_task(&self, task: TaskRecord, w: &WorkerSettings, lease_ms: i64) -> ApiResult<()> {
        let outcome = async {
            let run = self.execute_task(&task);
            tokio::pin!(run);
            let mut renew =
                tokio::time::interval(Duration::from_millis((lease_ms / 3).max(1) as u64));
            renew.tick().await;
            loop {
                tokio::select! {
                    r = &mut run => break r,
                    _ = renew.tick() => {
                        let until = now_ms().saturating_add(lease_ms);
                        match self.store.renew_lease(task.id, &w.worker_id, until).await {
                            Ok(true) => {}
                            Ok(false) => tracing::warn!(task = task.id, "lost the lease of a running maintenance task"),
                            Err(e) => tracing::warn!(task = task.id, "cannot renew a task lease: {e}"),
                        }
                    }
                }
            }
        }
        .await;
        let (status, result, error) = match outcome {
            Ok(report) => (TaskStatus::Succeeded, Some(report.to_string()), None),
            Err(e) => {
                tracing::warn!(task = task.id, action = %task.action, "maintenance task failed: {e}");
                (TaskStatus::Failed, None, Some(e.to_string()))
            }
        };
        let recorded = self
            .store
            .finish_task(
                task.id,
                &w.worker_id,
                status,
                result.as_deref(),
                error.as_deref(),
                now_ms(),
            )
            .await?;
        if !recorded {
            tracing::warn!(
                task = task.id,
                "a maintenance task finished after another worker took it over; its outcome is not recorded"
            );
        }
        Ok(())
    }

    async fn execute_task(&self, task: &TaskRecord) -> ApiResult<Value> {
        let action = MaintenanceAction::parse(&task.action).ok_or_else(|| {
            ApiError::bad_request(format!("unknown maintenance action '{}'", task.action))
        })?;
        let wh = self.warehouse(&task.warehouse).await?;
        let namespace = namespace_levels(&task.namespace);
        if wh.id != task.warehouse_id {
            return Err(ApiError::no_such_warehouse(format!(
                "warehouse {} was replaced since the task was enqueued",
                task.warehouse
            )));
        }
        let rec = match self
            .store
            .get_table(&wh, &namespace, &task.table_name)
            .await
        {
            Ok(r) => r,
            Err(StoreError::NotFound(m) | StoreError::NamespaceNotFound(m)) => {
                self.drop_schedules(&wh, &namespace, &task.table_name).await;
                return Err(ApiError::no_such_table(m));
            }
            Err(e) => return Err(e.into()),
        };
        if rec.table_uuid != task.table_uuid {
            return Err(ApiError::no_such_table(format!(
                "table {} now names another table (uuid {}, the task was for {})",
                ident_str(&namespace, &task.table_name),
                rec.table_uuid,
                task.table_uuid
            )));
        }
        let options: Value = serde_json::from_str(&task.options)
            .map_err(|e| ApiError::internal(format!("stored task options are invalid: {e}")))?;
        self.maintenance(&wh, &namespace, &task.table_name, action, &options)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(kv: &[(&str, &str)]) -> BTreeMap<String, String> {
        kv.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn expiry_schedule_reads_its_properties_with_defaults() {
        assert_eq!(ExpirySchedule::from_properties(&props(&[])), Ok(None));
        assert_eq!(
            ExpirySchedule::from_properties(&props(&[(EXPIRE_ENABLED, "false")])),
            Ok(None)
        );
        assert_eq!(
            ExpirySchedule::from_properties(&props(&[(EXPIRE_ENABLED, "true")])),
            Ok(Some(ExpirySchedule {
                interval_ms: DEFAULT_EXPIRE_INTERVAL_MS,
                retain_last: None,
                max_snapshot_age_ms: None,
                clean_files: true,
            }))
        );
        assert_eq!(
            ExpirySchedule::from_properties(&props(&[
                (EXPIRE_ENABLED, "TRUE"),
                (EXPIRE_INTERVAL_MS, "500"),
                (EXPIRE_RETAIN_LAST, "2"),
                (EXPIRE_MAX_SNAPSHOT_AGE_MS, "1000"),
                (EXPIRE_CLEAN_FILES, "false"),
            ])),
            Ok(Some(ExpirySchedule {
                interval_ms: 500,
                retain_last: Some(2),
                max_snapshot_age_ms: Some(1000),
                clean_files: false,
            }))
        );
    }

    #[test]
    fn malformed_or_unknown_maintenance_properties_are_refused() {
        assert!(validate_maintenance_property(EXPIRE_INTERVAL_MS, "0").is_err());
        assert!(validate_maintenance_property(EXPIRE_INTERVAL_MS, "soon").is_err());
        assert!(validate_maintenance_property(EXPIRE_ENABLED, "yes").is_err());
        assert!(validate_maintenance_property(EXPIRE_RETAIN_LAST, "99999999999").is_err());
        let e = validate_maintenance_property("floe.maintenance.expire-snapshot.enabled", "true")
            .unwrap_err();
        assert!(e.contains("Help"), "{e}");
        assert!(validate_maintenance_property(EXPIRE_RETAIN_LAST, "3").is_ok());
    }

    #[test]
    fn lost_races_stay_retryable_conflicts_both_ways() {
        let e = to_library_error(ApiError::commit_failed("moved"), true);
        assert_eq!(e.kind(), ErrorKind::CommitConflict);
        assert!(e.is_retryable());
        let back = ApiError::from(e);
        assert_eq!(back.status.as_u16(), 409);
        assert_eq!(back.kind, "CommitFailedException");
        let unknown = ApiError::from(crate::store::StoreError::Database("gone".into()));
        assert_eq!(
            to_library_error(unknown, true).kind(),
            ErrorKind::CommitStateUnknown
        );
        assert_eq!(
            to_library_error(ApiError::no_such_table("t"), false).kind(),
            ErrorKind::NotFound
        );
    }

    #[test]
    fn actions_round_trip_their_names() {
        for a in MaintenanceAction::ALL {
            assert_eq!(MaintenanceAction::parse(a.as_str()), Some(a));
        }
        assert_eq!(MaintenanceAction::parse("vacuum"), None);
    }
}
