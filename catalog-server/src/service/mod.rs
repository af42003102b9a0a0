//! The catalog logic, between the HTTP handlers and the store.
//!
//! - [`CatalogService`]: warehouses, namespaces and tables; owns the store, a FileIO per
//!   warehouse, and a bounded cache of metadata files (which never change once written).
//! - `tables`: create (staged or not), load with ETags, drop and purge, rename, register,
//!   and the commit path (requirements, the table-format metadata builder, a new metadata
//!   file, then an atomic pointer swap, retried on a lost race when the client's
//!   requirements still hold).
//! - `rebase`: contention without losers: a stale pure append is rebased onto its branch's
//!   new head instead of failing (table property `floe.commit.rebase-appends`).
//! - `maintenance`: the maintenance actions (expire snapshots, remove orphan files, rewrite
//!   data files and manifests) run through this service's own commit path, the schedules
//!   that `floe.maintenance.*` table properties set, and the background worker's rounds over
//!   the task queue.
//! - `inspect`: metadata tables (snapshots, history, refs, metadata log, manifests, files,
//!   entries, partitions, health, changes), paged by streaming manifests.
//! - `ident`: identifier validation and location rules (nothing may land outside its
//!   warehouse).
//!
//! # Replicas: what lives in process memory, and why correctness never depends on it
//!
//! Several server processes may serve one catalog from one PostgreSQL database (stateless
//! replicas). The database holds every pointer; object storage holds every file; a process
//! keeps only the following, none of which can make it answer with, or commit on top of,
//! anything but the current state:
//!
//! - Table pointers are never cached. Every load, commit attempt, drop, rename and existence
//!   check reads the table's row in the store first, so a commit through one replica is what
//!   the next load through any other returns.
//! - Parsed metadata files (`metadata`) and serialized loadTable bodies (`loads`) are keyed by
//!   what makes them: the metadata file's location (plus, for bodies, the warehouse id, whose
//!   storage settings give the body's `config`, and the snapshot mode). They are reached only
//!   through a pointer just read from the store, and a metadata file never changes once
//!   written: the server writes each one with a conditional create under a fresh
//!   `NNNNN-<uuid>` name, and only inserts it into the cache after its pointer swap landed (a
//!   file of a failed or crashed commit is never cached). The one way to point a table at a
//!   file the server did not write is registerTable, and the Iceberg rule that files are
//!   immutable holds there too: a client that rewrote a registered file in place would break
//!   every reader's caches, not only these. The ETag is a hash of the same key, so every
//!   replica gives the same tag for the same state, and a tag from before a commit never
//!   matches after it (no stale 304).
//! - Warehouses by name (`warehouses`) are trusted for [`WAREHOUSE_TTL`] (5 s); lookups that
//!   find nothing are not cached, so a warehouse created through one replica is usable through
//!   every other at once. A stale entry (a warehouse deleted, or deleted and recreated,
//!   through another replica) cannot misdirect a write: every row below a warehouse is keyed
//!   by its id, ids are fresh UUIDs never reused, a warehouse's storage settings never change
//!   under its id, and a deleted warehouse has no namespaces (deletion is refused otherwise),
//!   so a request through the stale entry finds nothing to read and no namespace to write
//!   into until the entry expires (a namespace creation that finds its warehouse gone drops
//!   the entry at once).
//! - FileIO handles (`io`) are keyed by warehouse id and location: connection state only.
//! - The per-table commit queue (`commit_queues`) only keeps this process from racing itself
//!   at the pointer swap, and the store's commit lock (`CatalogStore::lock_tables`: an
//!   advisory lock per table on PostgreSQL) does the same between replicas; both are about
//!   taking turns, not about correctness. The swap is a compare-and-set in one database
//!   transaction (the row must still hold the metadata location the attempt built on), so
//!   commits that race anyway (a lock not taken in time, a hash collision, a store without
//!   the lock) still serialize there: the loser re-reads the new head, re-checks the client's
//!   requirements (rebasing a stale pure append, or answering 409), and retries. Without the
//!   lock, two replicas appending to one table lost appends to exhausted retries (a replica
//!   whose queue commits back to back can win every race against the other).
//!
//! # Crash safety
//!
//! A commit writes its new metadata file completely before the pointer swap, and the swap is
//! one database transaction; the pointer therefore only ever names complete files. A process
//! killed before the swap leaves the table on its previous metadata (the new file, if it was
//! written, is an orphan no pointer names, left for the orphan clean-up); killed after the
//! swap, the commit has landed though the client got no answer. The `fault` module's crash
//! points (tests only) make the binary abort at each of these steps.

mod ident;
mod inspect;
mod maintenance;
mod rebase;
mod tables;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

pub use ident::{validate_location, validate_name, validate_namespace, validate_properties};
pub use inspect::{
    DEFAULT_INSPECT_PAGE, InspectKind, InspectPage, InspectRequest, InspectRows, MAX_FILES_PAGE,
    MAX_INSPECT_PAGE, SnapshotSelector,
};
pub use maintenance::{
    DEFAULT_EXPIRE_INTERVAL_MS, EXPIRE_CLEAN_FILES, EXPIRE_ENABLED, EXPIRE_INTERVAL_MS,
    EXPIRE_MAX_SNAPSHOT_AGE_MS, EXPIRE_RETAIN_LAST, ExpireSnapshotsOptions, ExpirySchedule,
    MAINTENANCE_PROPERTY_PREFIX, MAX_TASK_ATTEMPTS, MaintenanceAction, ORPHAN_FILES_SHOWN,
    RemoveOrphanFilesOptions, RewriteDataFilesOptions, RewriteManifestsOptions, WorkerSettings,
    validate_maintenance_properties, validate_maintenance_property,
};
pub use rebase::REBASE_APPENDS_PROPERTY;
pub use tables::{
    CommitOutcome, CommitTiming, CreateTableRequest, LoadedTable, RegisterTableRequest,
    SnapshotMode, TableChange,
};

use table_format::io::FileIO;
use table_format::spec::TableMetadata;

use crate::error::{ApiError, ApiResult};
use crate::metrics::Metrics;
use crate::store::{CatalogStore, Namespace, Page, StorageConfig, Warehouse};

/// The name of the warehouse clients get when they name none.
pub const DEFAULT_WAREHOUSE: &str = "default";
/// The largest page a listing returns (and the size when the client asks for none).
pub const MAX_PAGE_SIZE: usize = 1000;

/// Names a warehouse cannot take, because they are path words of the REST API.
const RESERVED_WAREHOUSE_NAMES: &[&str] =
    &["namespaces", "tables", "transactions", "config", "oauth"];

/// How long a warehouse looked up by name is trusted before the store is asked again.
const WAREHOUSE_TTL: Duration = Duration::from_secs(5);

/// Catalog operations over a [`CatalogStore`].
#[derive(Debug)]
pub struct CatalogService {
    store: Arc<dyn CatalogStore>,
    io: RwLock<HashMap<String, FileIO>>,
    warehouses: RwLock<HashMap<String, (Warehouse, Instant)>>,
    metadata: quick_cache::sync::Cache<String, Arc<TableMetadata>>,
    /// Serialized loadTable responses by (warehouse id, metadata location, mode).
    loads: quick_cache::sync::Cache<(String, String, SnapshotMode), Arc<LoadedTable>>,
    commit_retries: u32,
    /// Commits to one table queue here (striped by table), so that this process does not
    /// race itself at the pointer swap. Only a shortcut: the swap stays the arbiter, so
    /// several processes on one database are still correct (they retry lost races).
    commit_queues: Vec<tokio::sync::Mutex<()>>,
    metrics: Arc<Metrics>,
}

/// Stripes of [`CatalogService::commit_queues`].
const COMMIT_QUEUE_STRIPES: usize = 64;

/// Namespace properties update result (`updated`, `removed`, `missing`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PropertiesUpdate {
    /// Keys set.
    pub updated: Vec<String>,
    /// Keys removed.
    pub removed: Vec<String>,
    /// Keys asked to be removed that were not there.
    pub missing: Vec<String>,
}

impl CatalogService {
    /// A service over `store`, caching up to `cache_entries` metadata files and responses.
    pub fn new(
        store: Arc<dyn CatalogStore>,
        cache_entries: usize,
        commit_retries: u32,
        metrics: Arc<Metrics>,
    ) -> Self {
        let n = cache_entries.max(1);
        Self {
            store,
            io: RwLock::new(HashMap::new()),
            warehouses: RwLock::new(HashMap::new()),
            metadata: quick_cache::sync::Cache::new(n),
            loads: quick_cache::sync::Cache::new(n),
            commit_retries,
            commit_queues: (0..COMMIT_QUEUE_STRIPES)
                .map(|_| tokio::sync::Mutex::new(()))
                .collect(),
            metrics,
        }
    }

    /// The store (for health checks).
    pub fn store(&self) -> &Arc<dyn CatalogStore> {
        &self.store
    }

    /// The metrics registry.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    // ---- warehouses -------------------------------------------------------------------

    /// Create a warehouse after checking its name and storage.
    pub async fn create_warehouse(
        &self,
        name: &str,
        storage: StorageConfig,
    ) -> ApiResult<Warehouse> {
        validate_name("warehouse name", name)?;
        if RESERVED_WAREHOUSE_NAMES.contains(&name) {
            return Err(ApiError::bad_request(format!(
                "'{name}' is a word of the REST API paths and cannot name a warehouse"
            )));
        }
        ident::validate_storage(&storage)?;
        if let StorageConfig::File { location } = &storage
            && let Some(path) = location.strip_prefix("file://")
        {
            std::fs::create_dir_all(path).map_err(|e| {
                ApiError::bad_request(format!("cannot create warehouse directory {path}: {e}"))
            })?;
        }
        let wh = self.store.create_warehouse(name, &storage).await?;
        self.forget_warehouse(name);
        Ok(wh)
    }

    /// All warehouses.
    pub async fn list_warehouses(&self) -> ApiResult<Vec<Warehouse>> {
        Ok(self.store.list_warehouses().await?)
    }

    /// Delete a warehouse (refused while it holds namespaces).
    pub async fn delete_warehouse(&self, name: &str) -> ApiResult<()> {
        let r = self.store.delete_warehouse(name).await;
        self.forget_warehouse(name);
        r.map_err(ApiError::from_warehouse_store)
    }

    fn forget_warehouse(&self, name: &str) {
        if let Ok(mut w) = self.warehouses.write() {
            w.remove(name);
        }
    }

    /// The warehouse a REST prefix names.
    pub async fn warehouse(&self, name: &str) -> ApiResult<Warehouse> {
        if let Ok(w) = self.warehouses.read()
            && let Some((wh, at)) = w.get(name)
            && at.elapsed() < WAREHOUSE_TTL
        {
            return Ok(wh.clone());
        }
        let wh = self
            .store
            .get_warehouse(name)
            .await
            .map_err(ApiError::from_warehouse_store)?;
        if let Ok(mut w) = self.warehouses.write() {
            w.insert(name.to_string(), (wh.clone(), Instant::now()));
        }
        Ok(wh)
    }

    /// The FileIO for a warehouse's storage.
    pub fn file_io(&self, wh: &Warehouse) -> ApiResult<FileIO> {
        let key = format!("{}/{}", wh.id, wh.storage.location());
        if let Ok(m) = self.io.read()
            && let Some(io) = m.get(&key)
        {
            return Ok(io.clone());
        }
        let props: HashMap<String, String> =
            wh.storage.server_io_properties().into_iter().collect();
        let io = FileIO::from_location(wh.storage.location(), &props)
            .map_err(|e| ApiError::internal(format!("warehouse '{}' storage: {e}", wh.name)))?;
        if let Ok(mut m) = self.io.write() {
            m.insert(key, io.clone());
        }
        Ok(io)
    }

    // ---- namespaces -------------------------------------------------------------------

    /// Create a namespace.
    pub async fn create_namespace(
        &self,
        wh: &Warehouse,
        levels: &[String],
        properties: BTreeMap<String, String>,
    ) -> ApiResult<Namespace> {
        validate_namespace(levels)?;
        validate_properties(&properties)?;
        self.store
            .create_namespace(wh, levels, &properties)
            .await
            .map_err(|e| match e {
                crate::store::StoreError::AlreadyExists(m) => ApiError::already_exists(m),
                crate::store::StoreError::NotFound(m) => {
                    // The warehouse is gone (deleted through another replica while this one
                    // still held it): look it up afresh next time.
                    self.forget_warehouse(&wh.name);
                    ApiError::from_namespace_store(crate::store::StoreError::NotFound(m))
                }
                other => ApiError::from_namespace_store(other),
            })?;
        Ok(Namespace {
            levels: levels.to_vec(),
            properties,
        })
    }

    /// A namespace and its properties.
    pub async fn load_namespace(&self, wh: &Warehouse, levels: &[String]) -> ApiResult<Namespace> {
        validate_namespace(levels)?;
        self.store
            .get_namespace(wh, levels)
            .await
            .map_err(ApiError::from_namespace_store)
    }

    /// One page of the children of `parent`.
    pub async fn list_namespaces(
        &self,
        wh: &Warehouse,
        parent: &[String],
        page_token: Option<&str>,
        page_size: Option<usize>,
    ) -> ApiResult<Page<Vec<String>>> {
        if !parent.is_empty() {
            validate_namespace(parent)?;
        }
        let after = decode_page_token(page_token)?;
        self.store
            .list_namespaces(wh, parent, after.as_deref(), page_limit(page_size)?)
            .await
            .map(encode_page)
            .map_err(ApiError::from_namespace_store)
    }

    /// Drop an empty namespace.
    pub async fn drop_namespace(&self, wh: &Warehouse, levels: &[String]) -> ApiResult<()> {
        validate_namespace(levels)?;
        self.store
            .drop_namespace(wh, levels)
            .await
            .map_err(ApiError::from_namespace_store)
    }

    /// Remove and set namespace properties.
    pub async fn update_namespace_properties(
        &self,
        wh: &Warehouse,
        levels: &[String],
        removals: Vec<String>,
        updates: BTreeMap<String, String>,
    ) -> ApiResult<PropertiesUpdate> {
        validate_namespace(levels)?;
        validate_properties(&updates)?;
        if let Some(k) = removals.iter().find(|k| updates.contains_key(*k)) {
            return Err(ApiError::new(
                axum::http::StatusCode::UNPROCESSABLE_ENTITY,
                "UnprocessableEntityException",
                format!("property '{k}' is both removed and updated"),
            ));
        }
        let before = self
            .store
            .update_namespace_properties(wh, levels, &removals, &updates)
            .await
            .map_err(ApiError::from_namespace_store)?;
        let (removed, missing) = removals.into_iter().partition(|k| before.contains_key(k));
        Ok(PropertiesUpdate {
            updated: updates.into_keys().collect(),
            removed,
            missing,
        })
    }
}

/// The page size for a request: the client's (1 to [`MAX_PAGE_SIZE`]) or the maximum.
fn page_limit(page_size: Option<usize>) -> ApiResult<usize> {
    match page_size {
        None => Ok(MAX_PAGE_SIZE),
        Some(0) => Err(ApiError::bad_request("pageSize must be at least 1")),
        Some(n) => Ok(n.min(MAX_PAGE_SIZE)),
    }
}

/// Page tokens are the hex of the last key returned; opaque to clients.
fn decode_page_token(token: Option<&str>) -> ApiResult<Option<String>> {
    match token {
        None | Some("") => Ok(None),
        Some(t) => hex::decode(t)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .map(Some)
            .ok_or_else(|| ApiError::bad_request(format!("invalid pageToken '{t}'"))),
    }
}

/// The page with its `next` key turned into an opaque page token.
pub(crate) fn encode_page<T>(p: Page<T>) -> Page<T> {
    Page {
        items: p.items,
        next: p.next.map(hex::encode),
    }
}

/// The store position and page size a listing request asks for.
pub(crate) fn page_args(
    page_token: Option<&str>,
    page_size: Option<usize>,
) -> ApiResult<(Option<String>, usize)> {
    Ok((decode_page_token(page_token)?, page_limit(page_size)?))
}
