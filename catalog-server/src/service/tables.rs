//! Tables: create, load, drop, rename, register, and the commit path.
//!
//! A commit (single table or a multi-table transaction) runs in attempts. Each attempt
//! reads every table's current pointer and metadata, checks the client's requirements and
//! applies its updates through table-format's [`apply_commit`] (the same builder the
//! library's own catalogs use), writes each new metadata file with a conditional create,
//! and then swaps all pointers in one store transaction. When the swap finds that another
//! commit moved a pointer first, the written files are removed and the attempt repeats
//! against the new head: if the client's requirements still hold there, the commit lands;
//! if not, the client gets 409, unless the commit is a single-table pure append whose only
//! unmet requirement is the head of the branch it appends to: that one is rebased onto the
//! branch's new head (module `rebase`). A failure before the swap leaves every table on its
//! previous, complete metadata.

use std::collections::{BTreeMap, HashSet};
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde::Deserialize;
use sha2::Digest;
use table_format::ErrorKind;
use table_format::catalog::{metadata_file_location, parse_metadata_version};
use table_format::io::FileIO;
use table_format::spec::{
    Schema, SortOrder, TableMetadata, TableMetadataBuilder, TableRequirement, TableUpdate,
    UnboundPartitionSpec, apply_commit,
};

use super::ident::{default_table_location, within};
use super::maintenance::{
    MAINTENANCE_PROPERTY_PREFIX, touches_schedule, validate_maintenance_properties,
};
use super::rebase;
use super::{
    CatalogService, encode_page, page_args, validate_location, validate_name, validate_namespace,
};
use crate::error::{ApiError, ApiResult};
use crate::fault::{self, FaultPoint};
use crate::store::{Page, PointerSwap, StoreError, TableRecord, Warehouse};

/// Table properties that name directories a table writes into.
const PATH_PROPERTIES: &[&str] = &[
    "write.data.path",
    "write.metadata.path",
    "write.object-storage.path",
    "write.folder-storage.path",
];

/// `POST .../tables` body.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct CreateTableRequest {
    /// Table name.
    pub name: String,
    /// Location; the server picks one inside the warehouse when absent.
    #[serde(default)]
    pub location: Option<String>,
    /// The schema.
    pub schema: Schema,
    /// The partition spec (unpartitioned when absent).
    #[serde(default)]
    pub partition_spec: Option<UnboundPartitionSpec>,
    /// The sort order (unsorted when absent).
    #[serde(default)]
    pub write_order: Option<SortOrder>,
    /// Return the metadata without creating the table.
    #[serde(default)]
    pub stage_create: Option<bool>,
    /// Table properties.
    #[serde(default)]
    pub properties: Option<BTreeMap<String, String>>,
}

/// `POST .../register` body.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct RegisterTableRequest {
    /// Table name.
    pub name: String,
    /// The metadata file to track.
    pub metadata_location: String,
    /// Replace the pointer of an existing table of that name.
    #[serde(default)]
    pub overwrite: Option<bool>,
}

/// Which snapshots a loadTable response carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SnapshotMode {
    /// Every snapshot.
    All,
    /// Only the snapshots branches and tags point at.
    Refs,
}

/// A serialized loadTable response and its ETag.
#[derive(Debug)]
pub struct LoadedTable {
    /// The strong ETag (quoted).
    pub etag: String,
    /// The JSON body.
    pub body: Bytes,
    /// The metadata location it describes.
    pub metadata_location: String,
}

/// One table's part of a commit.
#[derive(Debug, Clone)]
pub struct TableChange {
    /// Namespace levels.
    pub namespace: Vec<String>,
    /// Table name.
    pub name: String,
    /// Requirements to check against the current metadata.
    pub requirements: Vec<TableRequirement>,
    /// Updates to apply.
    pub updates: Vec<TableUpdate>,
}

/// Where a commit's time went.
#[derive(Debug, Clone, Copy, Default)]
pub struct CommitTiming {
    /// Writing new metadata files.
    pub metadata_write: Duration,
    /// The pointer-swap transaction.
    pub database: Duration,
    /// Waiting for the turn on the tables (this process's queue, then other processes'
    /// commits through the store's commit lock).
    pub queue: Duration,
    /// Rebasing stale appends (reading manifests, writing the new manifest list).
    pub rebase: Duration,
    /// Everything, end to end.
    pub total: Duration,
    /// Attempts made (1 when no race was lost).
    pub attempts: u32,
    /// Whether the commit landed as a rebased append (see the `rebase` module).
    pub rebased: bool,
}

/// One table's result of a commit.
#[derive(Debug, Clone)]
pub struct CommitOutcome {
    /// The table's metadata location after the commit.
    pub metadata_location: String,
    /// The metadata as JSON.
    pub metadata_json: Bytes,
}

impl CommitOutcome {
    /// The `{metadata-location, metadata}` response body.
    pub fn body(&self) -> Bytes {
        response_body(&self.metadata_location, &self.metadata_json, None)
    }
}

/// One table's part of a commit attempt, ready for the pointer swap.
struct Prepared {
    outcome: CommitOutcome,
    /// The swap to make (none when nothing changed).
    swap: Option<PointerSwap>,
    /// The new metadata, to cache once the swap lands.
    metadata: Option<Arc<TableMetadata>>,
    /// Other files written for it (a rebased manifest list), to remove if it does not land.
    written: Vec<String>,
    /// Whether the change was rebased onto its branch's new head.
    rebased: bool,
}

fn response_body(location: &str, metadata_json: &[u8], config: Option<&str>) -> Bytes {
    let loc = serde_json::to_string(location).unwrap_or_else(|_| "null".into());
    let mut out = Vec::with_capacity(metadata_json.len() + loc.len() + 64);
    out.extend_from_slice(b"{\"metadata-location\":");
    out.extend_from_slice(loc.as_bytes());
    out.extend_from_slice(b",\"metadata\":");
    out.extend_from_slice(metadata_json);
    if let Some(c) = config {
        out.extend_from_slice(b",\"config\":");
        out.extend_from_slice(c.as_bytes());
    }
    out.push(b'}');
    Bytes::from(out)
}

/// The ETag of a loadTable response: a hash of everything the body is made of (the warehouse,
/// whose storage settings give the `config`; the metadata location, whose file never changes;
/// the snapshot mode). Every replica computes the same tag for the same state.
fn etag_of(warehouse_id: &str, location: &str, mode: SnapshotMode) -> String {
    let mut h = sha2::Sha256::new();
    h.update(warehouse_id.as_bytes());
    h.update([0]);
    h.update(location.as_bytes());
    h.update(match mode {
        SnapshotMode::All => b"all".as_slice(),
        SnapshotMode::Refs => b"refs".as_slice(),
    });
    format!("\"{}\"", hex::encode(&h.finalize()[..16]))
}

/// On a local warehouse, make the table's `metadata/` and `data/` directories up front:
/// some writers (DuckDB 1.5) put manifests under `metadata/` of a staged table before any
/// metadata file exists, and do not create the directory themselves. Object stores need
/// nothing of the kind.
fn prepare_local_dirs(wh: &Warehouse, md: &TableMetadata) {
    if !matches!(wh.storage, crate::store::StorageConfig::File { .. }) {
        return;
    }
    for dir in [md.metadata_dir(), md.data_dir()] {
        if let Some(path) = dir.strip_prefix("file://")
            && let Err(e) = std::fs::create_dir_all(path)
        {
            tracing::warn!(%path, "cannot create a table directory: {e}");
        }
    }
}

/// A random wait before the retry that follows attempt `attempt` (1-based): up to 2^attempt
/// ms, at most 100 ms. Writers that lost a race to the same commit would otherwise retry in
/// lockstep and collide again; on a database that runs them truly in parallel (PostgreSQL),
/// 16 such writers on one table used up the retries without the spread.
fn retry_backoff(attempt: u32) -> Duration {
    let window_ms = (1u64 << attempt.min(7)).min(100);
    // Random bits without another dependency: a v4 uuid is 122 random bits.
    let r = (uuid::Uuid::new_v4().as_u128() % 1024) as u64;
    Duration::from_micros(window_ms * 1000 * r / 1024)
}

fn ident_str(ns: &[String], name: &str) -> String {
    format!("{}.{name}", ns.join("."))
}

/// The metadata JSON with only the snapshots refs point at.
fn refs_only(md: &TableMetadata) -> ApiResult<Vec<u8>> {
    let mut v: serde_json::Value = serde_json::from_slice(&md.to_vec()?)
        .map_err(|e| ApiError::internal(format!("metadata serialization: {e}")))?;
    let mut keep: HashSet<i64> = HashSet::new();
    if let Some(refs) = v.get("refs").and_then(|r| r.as_object()) {
        for r in refs.values() {
            if let Some(id) = r.get("snapshot-id").and_then(|i| i.as_i64()) {
                keep.insert(id);
            }
        }
    }
    if let Some(id) = v.get("current-snapshot-id").and_then(|i| i.as_i64()) {
        keep.insert(id);
    }
    if let Some(snaps) = v.get_mut("snapshots").and_then(|s| s.as_array_mut()) {
        snaps.retain(|s| {
            s.get("snapshot-id")
                .and_then(|i| i.as_i64())
                .is_some_and(|id| keep.contains(&id))
        });
    }
    serde_json::to_vec(&v).map_err(|e| ApiError::internal(format!("metadata serialization: {e}")))
}

fn map_commit_error(e: table_format::Error, ident: &str) -> ApiError {
    match e.kind() {
        ErrorKind::CommitConflict => ApiError::commit_failed(format!(
            "commit to {ident} failed: {}; refresh the table and retry",
            e.message()
        )),
        _ => {
            let mut a = ApiError::from(e);
            a.message = format!("commit to {ident}: {}", a.message);
            a
        }
    }
}

impl CatalogService {
    /// A metadata file, parsed (cached: metadata files never change once written).
    pub async fn read_metadata(
        &self,
        io: &FileIO,
        location: &str,
    ) -> ApiResult<Arc<TableMetadata>> {
        if let Some(md) = self.metadata.get(location) {
            return Ok(md);
        }
        let bytes = io.read(location).await.map_err(|e| {
            ApiError::internal(format!("cannot read metadata file {location}: {e}"))
        })?;
        let md = Arc::new(TableMetadata::from_slice(&bytes).map_err(|e| {
            ApiError::internal(format!("metadata file {location} is invalid: {e}"))
        })?);
        self.metadata.insert(location.to_string(), md.clone());
        Ok(md)
    }

    fn check_locations(&self, wh: &Warehouse, md: &TableMetadata, ident: &str) -> ApiResult<()> {
        let root = wh.storage.location();
        validate_location(&format!("location of table {ident}"), md.location())?;
        if !within(md.location(), root) {
            return Err(ApiError::bad_request(format!(
                "table {ident}: location '{}' is outside warehouse '{}' ({root})",
                md.location(),
                wh.name
            )));
        }
        for key in PATH_PROPERTIES {
            if let Some(p) = md.properties().get(*key)
                && (validate_location(key, p).is_err() || !within(p, root))
            {
                return Err(ApiError::bad_request(format!(
                    "table {ident}: property {key}='{p}' points outside warehouse '{}' ({root})",
                    wh.name
                )));
            }
        }
        Ok(())
    }

    fn table_config(&self, wh: &Warehouse) -> String {
        serde_json::to_string(&wh.storage.io_properties()).unwrap_or_else(|_| "{}".into())
    }

    /// Load a table: its serialized response (cached per warehouse, metadata location and
    /// mode; the pointer itself is read from the store every time).
    pub async fn load_table(
        &self,
        wh: &Warehouse,
        namespace: &[String],
        name: &str,
        mode: SnapshotMode,
    ) -> ApiResult<Arc<LoadedTable>> {
        validate_namespace(namespace)?;
        validate_name("table name", name)?;
        let rec = self
            .store
            .get_table(wh, namespace, name)
            .await
            .map_err(ApiError::from_table_store)?;
        self.load_table_record(wh, &rec, mode).await
    }

    /// [`load_table`](Self::load_table) for a table row the caller has just read.
    pub async fn load_table_record(
        &self,
        wh: &Warehouse,
        rec: &TableRecord,
        mode: SnapshotMode,
    ) -> ApiResult<Arc<LoadedTable>> {
        let key = (wh.id.clone(), rec.metadata_location.clone(), mode);
        if let Some(hit) = self.loads.get(&key) {
            return Ok(hit);
        }
        let io = self.file_io(wh)?;
        let md = self.read_metadata(&io, &rec.metadata_location).await?;
        let json = match mode {
            SnapshotMode::All => md.to_vec()?,
            SnapshotMode::Refs => refs_only(&md)?,
        };
        let loaded = Arc::new(LoadedTable {
            etag: etag_of(&wh.id, &rec.metadata_location, mode),
            body: response_body(&rec.metadata_location, &json, Some(&self.table_config(wh))),
            metadata_location: rec.metadata_location.clone(),
        });
        self.loads.insert(key, loaded.clone());
        Ok(loaded)
    }

    /// Whether a table exists.
    pub async fn table_exists(
        &self,
        wh: &Warehouse,
        namespace: &[String],
        name: &str,
    ) -> ApiResult<bool> {
        validate_namespace(namespace)?;
        validate_name("table name", name)?;
        match self.store.get_table(wh, namespace, name).await {
            Ok(_) => Ok(true),
            Err(StoreError::NotFound(_)) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// One page of a namespace's tables.
    pub async fn list_tables(
        &self,
        wh: &Warehouse,
        namespace: &[String],
        page_token: Option<&str>,
        page_size: Option<usize>,
    ) -> ApiResult<Page<String>> {
        validate_namespace(namespace)?;
        let (after, limit) = page_args(page_token, page_size)?;
        self.store
            .list_tables(wh, namespace, after.as_deref(), limit)
            .await
            .map(encode_page)
            .map_err(ApiError::from_namespace_store)
    }

    /// Create a table (or, staged, only return the metadata it would start with).
    pub async fn create_table(
        &self,
        wh: &Warehouse,
        namespace: &[String],
        req: CreateTableRequest,
    ) -> ApiResult<Bytes> {
        validate_namespace(namespace)?;
        validate_name("table name", &req.name)?;
        if let Some(p) = &req.properties {
            validate_maintenance_properties(p)?;
        }
        let ident = ident_str(namespace, &req.name);
        self.store
            .get_namespace(wh, namespace)
            .await
            .map_err(ApiError::from_namespace_store)?;
        match self.store.get_table(wh, namespace, &req.name).await {
            Ok(_) => {
                return Err(ApiError::already_exists(format!(
                    "table {ident} already exists"
                )));
            }
            Err(StoreError::NotFound(_)) => {}
            Err(e) => return Err(e.into()),
        }
        let location = match req.location {
            Some(l) => l.trim_end_matches('/').to_string(),
            None => default_table_location(
                wh.storage.location(),
                namespace,
                &req.name,
                &uuid::Uuid::new_v4(),
            ),
        };
        let md = TableMetadataBuilder::new_table(
            req.schema,
            req.partition_spec.unwrap_or_default(),
            req.write_order.unwrap_or_else(SortOrder::unsorted),
            location,
            req.properties.unwrap_or_default(),
        )
        .and_then(|b| b.build())
        .map_err(|e| map_commit_error(e, &ident))?
        .metadata;
        self.check_locations(wh, &md, &ident)?;
        let json = md.to_vec()?;
        let config = self.table_config(wh);
        prepare_local_dirs(wh, &md);
        if req.stage_create.unwrap_or(false) {
            let mut out = Vec::with_capacity(json.len() + 64);
            out.extend_from_slice(b"{\"metadata-location\":null,\"metadata\":");
            out.extend_from_slice(&json);
            out.extend_from_slice(b",\"config\":");
            out.extend_from_slice(config.as_bytes());
            out.push(b'}');
            return Ok(Bytes::from(out));
        }
        let io = self.file_io(wh)?;
        let md_location = metadata_file_location(&md, 0);
        io.create(&md_location, Bytes::from(json.clone()))
            .await
            .map_err(|e| ApiError::internal(format!("cannot write {md_location}: {e}")))?;
        let swap = PointerSwap {
            namespace: namespace.to_vec(),
            name: req.name.clone(),
            expected: None,
            new_location: md_location.clone(),
            table_uuid: md.table_uuid().to_string(),
        };
        if let Err(e) = self.store.swap_pointers(wh, &[swap]).await {
            if !matches!(e, StoreError::Database(_)) {
                let _ = io.delete(&md_location).await;
            }
            return Err(ApiError::from_table_store(e));
        }
        if md
            .properties()
            .keys()
            .any(|k| k.starts_with(MAINTENANCE_PROPERTY_PREFIX))
        {
            self.sync_schedules(wh, namespace, &req.name, &md).await;
        }
        self.metadata.insert(md_location.clone(), Arc::new(md));
        Ok(response_body(&md_location, &json, Some(&config)))
    }

    /// Drop a table (returning its uuid); with `purge`, delete its files (only those inside the warehouse).
    pub async fn drop_table(
        &self,
        wh: &Warehouse,
        namespace: &[String],
        name: &str,
        purge: bool,
    ) -> ApiResult<String> {
        validate_namespace(namespace)?;
        validate_name("table name", name)?;
        let rec = self
            .store
            .drop_table(wh, namespace, name)
            .await
            .map_err(ApiError::from_table_store)?;
        self.drop_schedules(wh, namespace, name).await;
        if !purge {
            return Ok(rec.table_uuid);
        }
        let io = self.file_io(wh)?;
        let root = wh.storage.location().to_string();
        let md = self.read_metadata(&io, &rec.metadata_location).await?;
        let mut dirs = vec![md.location().to_string()];
        for key in PATH_PROPERTIES {
            if let Some(p) = md.properties().get(*key) {
                dirs.push(p.clone());
            }
        }
        let mut deleted = 0usize;
        for dir in dirs {
            if !within(&dir, &root) || dir.trim_end_matches('/') == root {
                tracing::warn!(%dir, "purge skips a directory that is not a table directory inside the warehouse");
                continue;
            }
            match io.list(&dir).await {
                Ok(files) => {
                    for f in files {
                        match io.delete(&f.path).await {
                            Ok(()) => deleted += 1,
                            Err(e) => tracing::warn!(path = %f.path, "purge could not delete: {e}"),
                        }
                    }
                }
                Err(e) => tracing::warn!(%dir, "purge could not list: {e}"),
            }
        }
        tracing::info!(table = %ident_str(namespace, name), deleted, "purged table files");
        Ok(rec.table_uuid)
    }

    /// Rename (or move) a table.
    pub async fn rename_table(
        &self,
        wh: &Warehouse,
        from: (&[String], &str),
        to: (&[String], &str),
    ) -> ApiResult<()> {
        validate_namespace(from.0)?;
        validate_name("table name", from.1)?;
        validate_namespace(to.0)?;
        validate_name("table name", to.1)?;
        self.store
            .rename_table(wh, from, to)
            .await
            .map_err(ApiError::from_table_store)?;
        self.rename_schedules(wh, from, to).await;
        Ok(())
    }

    /// Track an existing metadata file as a table.
    pub async fn register_table(
        &self,
        wh: &Warehouse,
        namespace: &[String],
        req: RegisterTableRequest,
    ) -> ApiResult<Bytes> {
        validate_namespace(namespace)?;
        validate_name("table name", &req.name)?;
        let ident = ident_str(namespace, &req.name);
        validate_location("metadata location", &req.metadata_location)?;
        if !within(&req.metadata_location, wh.storage.location()) {
            return Err(ApiError::bad_request(format!(
                "metadata location '{}' is outside warehouse '{}'",
                req.metadata_location, wh.name
            )));
        }
        self.store
            .get_namespace(wh, namespace)
            .await
            .map_err(ApiError::from_namespace_store)?;
        let io = self.file_io(wh)?;
        let bytes = io.read(&req.metadata_location).await.map_err(|e| {
            ApiError::bad_request(format!(
                "cannot read metadata file '{}': {e}",
                req.metadata_location
            ))
        })?;
        let md = TableMetadata::from_slice(&bytes).map_err(|e| {
            ApiError::bad_request(format!(
                "'{}' is not valid table metadata: {e}",
                req.metadata_location
            ))
        })?;
        self.check_locations(wh, &md, &ident)?;
        let expected = match self.store.get_table(wh, namespace, &req.name).await {
            Ok(rec) if req.overwrite.unwrap_or(false) => Some(rec.metadata_location),
            Ok(_) => {
                return Err(ApiError::already_exists(format!(
                    "table {ident} already exists"
                )));
            }
            Err(StoreError::NotFound(_)) => None,
            Err(e) => return Err(e.into()),
        };
        let swap = PointerSwap {
            namespace: namespace.to_vec(),
            name: req.name.clone(),
            expected,
            new_location: req.metadata_location.clone(),
            table_uuid: md.table_uuid().to_string(),
        };
        self.store
            .swap_pointers(wh, &[swap])
            .await
            .map_err(ApiError::from_table_store)?;
        self.sync_schedules(wh, namespace, &req.name, &md).await;
        let json = md.to_vec()?;
        self.metadata
            .insert(req.metadata_location.clone(), Arc::new(md));
        Ok(response_body(
            &req.metadata_location,
            &json,
            Some(&self.table_config(wh)),
        ))
    }

    /// Keep a metrics report (ScanReport or CommitReport) for a table.
    pub async fn report_metrics(
        &self,
        wh: &Warehouse,
        namespace: &[String],
        name: &str,
        report: serde_json::Value,
    ) -> ApiResult<()> {
        validate_namespace(namespace)?;
        validate_name("table name", name)?;
        let report_type = report
            .get("report-type")
            .and_then(|t| t.as_str())
            .ok_or_else(|| ApiError::bad_request("a metrics report needs a 'report-type' string"))?
            .to_string();
        if !self.table_exists(wh, namespace, name).await? {
            return Err(ApiError::no_such_table(format!(
                "table {} does not exist",
                ident_str(namespace, name)
            )));
        }
        self.store
            .insert_metrics_report(wh, namespace, name, &report_type, &report.to_string())
            .await?;
        Ok(())
    }

    /// The storage configuration a client needs to read and write a table's files.
    pub async fn table_credentials(
        &self,
        wh: &Warehouse,
        namespace: &[String],
        name: &str,
    ) -> ApiResult<serde_json::Value> {
        if !self.table_exists(wh, namespace, name).await? {
            return Err(ApiError::no_such_table(format!(
                "table {} does not exist",
                ident_str(namespace, name)
            )));
        }
        Ok(serde_json::json!({
            "storage-credentials": [{
                "prefix": wh.storage.location(),
                "config": wh.storage.io_properties(),
            }]
        }))
    }

    /// Commit changes to one or more tables atomically. Returns each table's outcome, in
    /// the order of `changes`, and where the time went.
    pub async fn commit(
        &self,
        wh: &Warehouse,
        changes: Vec<TableChange>,
    ) -> ApiResult<(Vec<CommitOutcome>, CommitTiming)> {
        let started = Instant::now();
        let mut timing = CommitTiming::default();
        let mut seen = HashSet::new();
        for ch in &changes {
            validate_namespace(&ch.namespace)?;
            validate_name("table name", &ch.name)?;
            if !seen.insert((ch.namespace.clone(), ch.name.clone())) {
                return Err(ApiError::bad_request(format!(
                    "table {} appears twice in one transaction; send its changes as one entry",
                    ident_str(&ch.namespace, &ch.name)
                )));
            }
        }
        if changes.is_empty() {
            return Err(ApiError::bad_request(
                "a transaction needs at least one table change",
            ));
        }
        for ch in &changes {
            for u in &ch.updates {
                if let TableUpdate::SetProperties { updates } = u {
                    validate_maintenance_properties(updates)?;
                }
            }
        }
        let io = self.file_io(wh)?;
        // Wait for this process's other commits to the same tables (stripes in ascending
        // order, so that two transactions never wait for each other).
        let mut stripes: Vec<usize> = changes
            .iter()
            .map(|ch| {
                let mut h = std::collections::hash_map::DefaultHasher::new();
                (&wh.id, &ch.namespace, &ch.name).hash(&mut h);
                (h.finish() % self.commit_queues.len() as u64) as usize
            })
            .collect();
        stripes.sort_unstable();
        stripes.dedup();
        let mut queued = Vec::with_capacity(stripes.len());
        let queue_started = Instant::now();
        for i in stripes {
            queued.push(self.commit_queues[i].lock().await);
        }
        // Then behind other processes' commits to them (replicas on one database; see
        // `CatalogStore::lock_tables`). Like the queue above, only a matter of taking turns.
        let tables: Vec<(&[String], &str)> = changes
            .iter()
            .map(|ch| (ch.namespace.as_slice(), ch.name.as_str()))
            .collect();
        let lock = self.store.lock_tables(wh, &tables).await;
        timing.queue = queue_started.elapsed();
        let result = loop {
            timing.attempts += 1;
            let mut swaps = Vec::new();
            let mut outcomes = Vec::with_capacity(changes.len());
            let mut pending = Vec::new();
            let mut failure = None;
            // Files an attempt wrote besides metadata files (rebased manifest lists).
            let mut extra: Vec<String> = Vec::new();
            let mut rebased = false;
            let single = changes.len() == 1;
            for ch in &changes {
                match self.prepare(wh, &io, ch, single, &mut timing).await {
                    Ok(p) => {
                        if let Some(s) = p.swap {
                            pending.push((s.new_location.clone(), p.metadata));
                            swaps.push(s);
                        }
                        extra.extend(p.written);
                        rebased |= p.rebased;
                        outcomes.push(p.outcome);
                    }
                    Err(e) => {
                        failure = Some(e);
                        break;
                    }
                }
            }
            let written = |swaps: &[PointerSwap]| -> Vec<String> {
                swaps
                    .iter()
                    .map(|s| s.new_location.clone())
                    .chain(extra.iter().cloned())
                    .collect()
            };
            if let Some(e) = failure {
                self.remove_files(&io, written(&swaps).iter().map(String::as_str))
                    .await;
                break Err(e);
            }
            if swaps.is_empty() {
                self.remove_files(&io, extra.iter().map(String::as_str))
                    .await;
                break Ok(outcomes);
            }
            let db_started = Instant::now();
            let swapped = self.store.swap_pointers(wh, &swaps).await;
            timing.database += db_started.elapsed();
            match swapped {
                Ok(()) => {
                    fault::hit(FaultPoint::AfterPointerSwap);
                    for (loc, md) in pending {
                        if let Some(md) = md {
                            self.metadata.insert(loc, md);
                        }
                    }
                    timing.rebased = rebased;
                    break Ok(outcomes);
                }
                Err(StoreError::Conflict(m)) => {
                    self.metrics.commit_conflict();
                    self.remove_files(&io, written(&swaps).iter().map(String::as_str))
                        .await;
                    if timing.attempts > self.commit_retries {
                        break Err(ApiError::commit_failed(format!(
                            "{m}; the server retried {} times and kept losing the race, retry later",
                            self.commit_retries
                        )));
                    }
                    tracing::debug!(
                        attempt = timing.attempts,
                        "lost a commit race: {m}; retrying against the new head"
                    );
                    tokio::time::sleep(retry_backoff(timing.attempts)).await;
                }
                Err(StoreError::Database(m)) => {
                    // The outcome is unknown: keep the files (the commit may have landed).
                    break Err(StoreError::Database(m).into());
                }
                Err(e) => {
                    self.remove_files(&io, written(&swaps).iter().map(String::as_str))
                        .await;
                    break Err(ApiError::from_table_store(e));
                }
            }
        };
        // Schedules follow the properties in commit order: still this table's turn.
        if let Ok(outcomes) = &result {
            for (ch, outcome) in changes.iter().zip(outcomes) {
                if touches_schedule(ch) {
                    match self.read_metadata(&io, &outcome.metadata_location).await {
                        Ok(md) => self.sync_schedules(wh, &ch.namespace, &ch.name, &md).await,
                        Err(e) => tracing::warn!(
                            table = %ident_str(&ch.namespace, &ch.name),
                            "cannot read the committed metadata to update the maintenance schedule: {e}"
                        ),
                    }
                }
            }
        }
        if let Some(lock) = lock {
            lock.release().await;
        }
        drop(queued);
        timing.total = started.elapsed();
        self.metrics.commit_finished(result.is_ok(), &timing);
        result.map(|o| (o, timing))
    }

    async fn remove_files<'a>(&self, io: &FileIO, locations: impl Iterator<Item = &'a str>) {
        for loc in locations {
            if let Err(e) = io.delete(loc).await {
                tracing::warn!(%loc, "could not remove an unused metadata file: {e}");
            }
        }
    }

    /// One attempt's work for one table: check, apply, write the new metadata file. With
    /// `may_rebase` (a single-table commit), a stale pure append is rebased onto its branch's
    /// new head instead of failing (see the `rebase` module).
    async fn prepare(
        &self,
        wh: &Warehouse,
        io: &FileIO,
        ch: &TableChange,
        may_rebase: bool,
        timing: &mut CommitTiming,
    ) -> ApiResult<Prepared> {
        let ident = ident_str(&ch.namespace, &ch.name);
        let creating = ch.requirements.contains(&TableRequirement::AssertCreate);
        let current = match self.store.get_table(wh, &ch.namespace, &ch.name).await {
            Ok(rec) => Some((
                self.read_metadata(io, &rec.metadata_location).await?,
                rec.metadata_location,
            )),
            Err(StoreError::NotFound(_)) if creating => {
                self.store
                    .get_namespace(wh, &ch.namespace)
                    .await
                    .map_err(ApiError::from_namespace_store)?;
                None
            }
            Err(e) => return Err(ApiError::from_table_store(e)),
        };
        if creating && current.is_some() {
            return Err(ApiError::already_exists(format!(
                "table {ident} already exists"
            )));
        }
        let base = current.as_ref().map(|(m, l)| (m.as_ref(), l.as_str()));
        let mut written = Vec::new();
        let mut rebased = false;
        let built = match apply_commit(base, &ch.requirements, ch.updates.clone()) {
            Ok(built) => built,
            Err(e) if e.kind() == ErrorKind::CommitConflict && may_rebase && !creating => {
                let Some((md, loc)) = base else {
                    return Err(map_commit_error(e, &ident));
                };
                let rebase_started = Instant::now();
                let r = rebase::rebase_append(
                    io,
                    wh.storage.location(),
                    md,
                    &ch.requirements,
                    &ch.updates,
                )
                .await;
                timing.rebase += rebase_started.elapsed();
                let r = match r {
                    Ok(r) => r,
                    Err(reason) => {
                        tracing::debug!(table = %ident, "stale commit not rebased: {reason}");
                        let mut err = map_commit_error(e, &ident);
                        err.message = format!("{} (not rebased: {reason})", err.message);
                        return Err(err);
                    }
                };
                tracing::debug!(
                    table = %ident,
                    parent = r.parent,
                    "rebasing a stale append onto the branch's new head"
                );
                match apply_commit(Some((md, loc)), &r.requirements, r.updates) {
                    Ok(built) => {
                        written.push(r.manifest_list);
                        rebased = true;
                        built
                    }
                    Err(e) => {
                        self.remove_files(io, std::iter::once(r.manifest_list.as_str()))
                            .await;
                        return Err(map_commit_error(e, &ident));
                    }
                }
            }
            Err(e) => return Err(map_commit_error(e, &ident)),
        };
        let Some(built) = built else {
            // Nothing changed: no new metadata file.
            let (md, loc) = current.ok_or_else(|| {
                ApiError::internal(format!("commit to {ident} built nothing for a new table"))
            })?;
            return Ok(Prepared {
                outcome: CommitOutcome {
                    metadata_location: loc,
                    metadata_json: Bytes::from(md.to_vec()?),
                },
                swap: None,
                metadata: None,
                written,
                rebased,
            });
        };
        let result = self
            .write_prepared(wh, io, ch, &ident, current, built.metadata, timing)
            .await;
        match result {
            Ok((outcome, swap, md)) => Ok(Prepared {
                outcome,
                swap: Some(swap),
                metadata: Some(md),
                written,
                rebased,
            }),
            Err(e) => {
                self.remove_files(io, written.iter().map(String::as_str))
                    .await;
                Err(e)
            }
        }
    }

    /// Check the new metadata's locations and write it as the next metadata file.
    #[allow(clippy::too_many_arguments)]
    async fn write_prepared(
        &self,
        wh: &Warehouse,
        io: &FileIO,
        ch: &TableChange,
        ident: &str,
        current: Option<(Arc<TableMetadata>, String)>,
        md: TableMetadata,
        timing: &mut CommitTiming,
    ) -> ApiResult<(CommitOutcome, PointerSwap, Arc<TableMetadata>)> {
        self.check_locations(wh, &md, ident)?;
        let version = current
            .as_ref()
            .and_then(|(_, l)| parse_metadata_version(l))
            .map(|v| v + 1)
            .unwrap_or(0);
        let new_location = metadata_file_location(&md, version);
        let json = Bytes::from(md.to_vec()?);
        let write_started = Instant::now();
        fault::hit(FaultPoint::BeforeMetadataWrite);
        io.create(&new_location, json.clone())
            .await
            .map_err(|e| ApiError::internal(format!("cannot write {new_location}: {e}")))?;
        fault::hit(FaultPoint::AfterMetadataWrite);
        timing.metadata_write += write_started.elapsed();
        let swap = PointerSwap {
            namespace: ch.namespace.clone(),
            name: ch.name.clone(),
            expected: current.map(|(_, l)| l),
            new_location: new_location.clone(),
            table_uuid: md.table_uuid().to_string(),
        };
        Ok((
            CommitOutcome {
                metadata_location: new_location,
                metadata_json: json,
            },
            swap,
            Arc::new(md),
        ))
    }
}
