//! The catalog's persistent state, behind one trait.
//!
//! - [`CatalogStore`]: every read and write the service needs (warehouses, namespaces, table
//!   pointers, atomic multi-table pointer swaps, metrics reports). No SQL lives outside this
//!   module.
//! - Records: [`Warehouse`], [`StorageConfig`], [`Namespace`], [`TableRecord`], [`PointerSwap`],
//!   [`Page`].
//! - [`StoreError`]: what a store reports, in terms the service maps to HTTP.
//! - [`access`]: principals, roles, grants, signing keys and the audit log
//!   ([`access::AccessStore`], a supertrait of [`CatalogStore`]).
//! - [`tasks`]: automatic-maintenance schedules and the task queue ([`tasks::TaskStore`],
//!   another supertrait).
//! - [`PoolSettings`]: connection pool limits, from the server configuration.
//! - [`open`] / [`migrate`]: pick the implementation by the database URL's scheme.
//! - [`sqlite`]: the embedded default implementation (`sqlite:`; sqlx + migrations in
//!   `migrations/sqlite/`).
//! - [`postgres`]: the shared implementation (`postgres://`, `postgresql://`; migrations in
//!   `migrations/postgres/`), for several server processes on one database.
//!
//! Both implementations keep the same logical schema and the same semantics (errors and
//! messages included); `tests/it/store.rs` runs one conformance suite against either.
//!
//! The store keeps pointers, never table metadata: a table row names its current (and
//! previous) metadata file, and the metadata file is the only source of truth for the rest.

pub mod access;
pub mod postgres;
pub mod sqlite;
pub mod tasks;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

/// What went wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The named object does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The namespace an operation names (or needs as a parent) does not exist.
    #[error("{0}")]
    NamespaceNotFound(String),
    /// The object already exists.
    #[error("{0}")]
    AlreadyExists(String),
    /// The object cannot be removed while it holds others.
    #[error("{0}")]
    NotEmpty(String),
    /// A pointer swap found a different current value: someone else committed first.
    #[error("{0}")]
    Conflict(String),
    /// The database failed.
    #[error("database error: {0}")]
    Database(String),
}

/// Store result alias.
pub type StoreResult<T> = Result<T, StoreError>;

/// Connection pool limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolSettings {
    /// Most connections open at once; `None` takes the backend's default
    /// ([`postgres::DEFAULT_MAX_CONNECTIONS`], [`sqlite::DEFAULT_MAX_CONNECTIONS`]).
    pub max_connections: Option<u32>,
    /// How long a request waits for a free connection before it fails.
    pub acquire_timeout: Duration,
}

/// Default for [`PoolSettings::acquire_timeout`].
pub const DEFAULT_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

impl Default for PoolSettings {
    fn default() -> Self {
        Self {
            max_connections: None,
            acquire_timeout: DEFAULT_ACQUIRE_TIMEOUT,
        }
    }
}

/// Which implementation a database URL selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// `sqlite:...`
    Sqlite,
    /// `postgres://...` or `postgresql://...`
    Postgres,
}

impl Backend {
    /// The backend for `url`, or an error naming the accepted schemes.
    pub fn of_url(url: &str) -> StoreResult<Self> {
        if url.starts_with("sqlite:") {
            Ok(Self::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Self::Postgres)
        } else {
            Err(StoreError::Database(format!(
                "unsupported database URL '{}': use sqlite://PATH or postgres://USER@HOST:PORT/DATABASE",
                redact_url(url)
            )))
        }
    }
}

/// Open the store `url` names (running its migrations first).
pub async fn open(url: &str, pool: &PoolSettings) -> StoreResult<Arc<dyn CatalogStore>> {
    Ok(match Backend::of_url(url)? {
        Backend::Sqlite => Arc::new(sqlite::SqliteStore::open_with(url, pool).await?),
        Backend::Postgres => Arc::new(postgres::PostgresStore::open(url, pool).await?),
    })
}

/// Bring the database `url` names to the newest schema and return the schema version (the
/// last migration's number).
pub async fn migrate(url: &str, pool: &PoolSettings) -> StoreResult<i64> {
    let migrator = match Backend::of_url(url)? {
        Backend::Sqlite => &sqlite::MIGRATOR,
        Backend::Postgres => &postgres::MIGRATOR,
    };
    open(url, pool).await?;
    Ok(migrator.iter().map(|m| m.version).max().unwrap_or(0))
}

/// `url` with any password replaced by `***`, for messages and logs.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}{tail}"),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

/// Where a warehouse keeps its files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum StorageConfig {
    /// A local directory (`file:///abs/path`).
    File {
        /// The warehouse root, a `file://` URI.
        location: String,
    },
    /// An S3 bucket (or an S3-compatible service).
    S3 {
        /// The warehouse root, `s3://bucket/prefix`.
        location: String,
        /// Endpoint URL for S3-compatible services (`http://127.0.0.1:9000`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        endpoint: Option<String>,
        /// The endpoint handed to clients (loadTable `config`, credentials, `/v1/config`)
        /// when they reach the store at another address than the server does, e.g. in Docker
        /// Compose the server uses `http://minio:9000` and clients on the host
        /// `http://localhost:9000`. Defaults to `endpoint`.
        #[serde(
            default,
            rename = "client-endpoint",
            skip_serializing_if = "Option::is_none"
        )]
        client_endpoint: Option<String>,
        /// The bucket's region.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        region: Option<String>,
        /// Path-style addressing (needed by most S3-compatible services).
        #[serde(default, rename = "path-style-access")]
        path_style_access: bool,
        /// Access key id, when not taken from the server's environment.
        #[serde(
            default,
            rename = "access-key-id",
            skip_serializing_if = "Option::is_none"
        )]
        access_key_id: Option<String>,
        /// Secret access key (never returned by the API).
        #[serde(
            default,
            rename = "secret-access-key",
            skip_serializing_if = "Option::is_none"
        )]
        secret_access_key: Option<String>,
    },
}

impl StorageConfig {
    /// The warehouse root URI, without a trailing slash.
    pub fn location(&self) -> &str {
        match self {
            StorageConfig::File { location } | StorageConfig::S3 { location, .. } => {
                location.trim_end_matches('/')
            }
        }
    }

    /// The same configuration with secrets masked, for API responses.
    pub fn redacted(&self) -> StorageConfig {
        let mut c = self.clone();
        if let StorageConfig::S3 {
            secret_access_key: Some(s),
            ..
        } = &mut c
        {
            *s = "********".to_string();
        }
        c
    }

    /// The Iceberg FileIO properties (`s3.*`) clients get to read and write this storage
    /// (with the `client-endpoint` when one is set).
    pub fn io_properties(&self) -> BTreeMap<String, String> {
        match self {
            StorageConfig::S3 {
                endpoint,
                client_endpoint,
                ..
            } => self.s3_properties(client_endpoint.as_ref().or(endpoint.as_ref())),
            StorageConfig::File { .. } => BTreeMap::new(),
        }
    }

    /// The FileIO properties the server itself uses (always `endpoint`).
    pub fn server_io_properties(&self) -> BTreeMap<String, String> {
        match self {
            StorageConfig::S3 { endpoint, .. } => self.s3_properties(endpoint.as_ref()),
            StorageConfig::File { .. } => BTreeMap::new(),
        }
    }

    fn s3_properties(&self, endpoint: Option<&String>) -> BTreeMap<String, String> {
        let mut p = BTreeMap::new();
        if let StorageConfig::S3 {
            region,
            path_style_access,
            access_key_id,
            secret_access_key,
            ..
        } = self
        {
            if let Some(e) = endpoint {
                p.insert("s3.endpoint".into(), e.clone());
            }
            if let Some(r) = region {
                p.insert("s3.region".into(), r.clone());
                p.insert("client.region".into(), r.clone());
            }
            p.insert("s3.path-style-access".into(), path_style_access.to_string());
            if let Some(k) = access_key_id {
                p.insert("s3.access-key-id".into(), k.clone());
            }
            if let Some(s) = secret_access_key {
                p.insert("s3.secret-access-key".into(), s.clone());
            }
        }
        p
    }
}

/// A warehouse: a name (the REST prefix) and its storage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warehouse {
    /// Internal id.
    pub id: String,
    /// The name clients use (`/v1/config?warehouse=NAME`, and the REST prefix).
    pub name: String,
    /// Where its tables' files go.
    pub storage: StorageConfig,
}

/// A namespace and its properties.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Namespace {
    /// Levels, outermost first.
    pub levels: Vec<String>,
    /// Its properties.
    pub properties: BTreeMap<String, String>,
}

/// A table's row: its name, uuid and metadata pointers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableRecord {
    /// Namespace levels.
    pub namespace: Vec<String>,
    /// Table name.
    pub name: String,
    /// The table's uuid (as in its metadata).
    pub table_uuid: String,
    /// The current metadata file.
    pub metadata_location: String,
    /// The metadata file before the last commit, if any.
    pub previous_metadata_location: Option<String>,
}

/// One table's pointer change inside an atomic commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PointerSwap {
    /// Namespace levels.
    pub namespace: Vec<String>,
    /// Table name.
    pub name: String,
    /// The metadata location the commit was based on; `None` creates the table.
    pub expected: Option<String>,
    /// The new metadata location.
    pub new_location: String,
    /// The table's uuid (used when creating).
    pub table_uuid: String,
}

/// One page of a listing and the token for the next one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    /// The items of this page.
    pub items: Vec<T>,
    /// The key to continue after, or `None` on the last page.
    pub next: Option<String>,
}

impl Page<String> {
    /// A page from keys fetched with `LIMIT limit + 1`: the extra key only says that another
    /// page follows, which then starts after the last key kept.
    pub fn from_overfetched(keys: Vec<String>, limit: usize) -> Self {
        Page::from_overfetched_by(keys, limit, String::clone)
    }
}

impl<T> Page<T> {
    /// [`Page::from_overfetched`] for rows whose paging key is `key(row)`.
    pub fn from_overfetched_by(
        mut items: Vec<T>,
        limit: usize,
        key: impl Fn(&T) -> String,
    ) -> Self {
        let more = items.len() > limit;
        items.truncate(limit);
        let next = if more { items.last().map(key) } else { None };
        Page { items, next }
    }
}

/// Every read and write of the catalog's state.
#[async_trait]
pub trait CatalogStore:
    access::AccessStore + tasks::TaskStore + Send + Sync + std::fmt::Debug
{
    /// Whether the database answers (for `/health`).
    async fn ping(&self) -> StoreResult<()>;

    /// Create a warehouse; `AlreadyExists` when the name is taken.
    async fn create_warehouse(&self, name: &str, storage: &StorageConfig)
    -> StoreResult<Warehouse>;
    /// All warehouses, by name.
    async fn list_warehouses(&self) -> StoreResult<Vec<Warehouse>>;
    /// One warehouse by name.
    async fn get_warehouse(&self, name: &str) -> StoreResult<Warehouse>;
    /// Delete a warehouse; `NotEmpty` while it holds namespaces.
    async fn delete_warehouse(&self, name: &str) -> StoreResult<()>;

    /// Create a namespace (its parent must exist).
    async fn create_namespace(
        &self,
        wh: &Warehouse,
        levels: &[String],
        properties: &BTreeMap<String, String>,
    ) -> StoreResult<()>;
    /// A namespace and its properties.
    async fn get_namespace(&self, wh: &Warehouse, levels: &[String]) -> StoreResult<Namespace>;
    /// The direct children of `parent` (top level when empty), after `after`, at most `limit`.
    async fn list_namespaces(
        &self,
        wh: &Warehouse,
        parent: &[String],
        after: Option<&str>,
        limit: usize,
    ) -> StoreResult<Page<Vec<String>>>;
    /// Drop a namespace; `NotEmpty` while it holds tables or namespaces.
    async fn drop_namespace(&self, wh: &Warehouse, levels: &[String]) -> StoreResult<()>;
    /// Remove then set properties atomically; returns the properties as they were before.
    async fn update_namespace_properties(
        &self,
        wh: &Warehouse,
        levels: &[String],
        removals: &[String],
        updates: &BTreeMap<String, String>,
    ) -> StoreResult<BTreeMap<String, String>>;

    /// A table's row.
    async fn get_table(
        &self,
        wh: &Warehouse,
        namespace: &[String],
        name: &str,
    ) -> StoreResult<TableRecord>;
    /// The tables of a namespace, after `after`, at most `limit`.
    async fn list_tables(
        &self,
        wh: &Warehouse,
        namespace: &[String],
        after: Option<&str>,
        limit: usize,
    ) -> StoreResult<Page<String>>;
    /// Remove a table's row and return it.
    async fn drop_table(
        &self,
        wh: &Warehouse,
        namespace: &[String],
        name: &str,
    ) -> StoreResult<TableRecord>;
    /// Rename a table (the destination namespace must exist and the name be free).
    async fn rename_table(
        &self,
        wh: &Warehouse,
        from: (&[String], &str),
        to: (&[String], &str),
    ) -> StoreResult<()>;
    /// Apply pointer swaps atomically: each one creates its table (`expected == None`) or
    /// moves it from `expected` to `new_location`. All land, or none does (`Conflict` names
    /// the table whose pointer moved, `AlreadyExists` a create whose name was taken).
    async fn swap_pointers(&self, wh: &Warehouse, swaps: &[PointerSwap]) -> StoreResult<()>;

    /// Queue a commit to these tables behind other processes' commits to any of them, until
    /// the returned lock is released or dropped, so that replicas on one database take turns
    /// on a table instead of racing at the swap (a replica can otherwise lose every retry to
    /// another that commits back to back). For liveness only: [`swap_pointers`] stays the
    /// arbiter, so a commit without the lock is still correct. `None` when the store has no
    /// such lock (the default; SQLite serves one process) or could not take it in time; the
    /// commit then goes ahead without it.
    ///
    /// [`swap_pointers`]: CatalogStore::swap_pointers
    async fn lock_tables(
        &self,
        _wh: &Warehouse,
        _tables: &[(&[String], &str)],
    ) -> Option<Box<dyn TableLock>> {
        None
    }

    /// Keep a metrics report a client sent for a table.
    async fn insert_metrics_report(
        &self,
        wh: &Warehouse,
        namespace: &[String],
        name: &str,
        report_type: &str,
        report: &str,
    ) -> StoreResult<()>;
    /// How many metrics reports are stored for a table.
    async fn count_metrics_reports(
        &self,
        wh: &Warehouse,
        namespace: &[String],
        name: &str,
    ) -> StoreResult<u64>;
}

/// A lock taken by [`CatalogStore::lock_tables`]. Dropping it without
/// [`release`](TableLock::release) still gives it up (less politely: the store closes the
/// connection that holds it).
#[async_trait]
pub trait TableLock: Send {
    /// Give the lock back.
    async fn release(self: Box<Self>);
}

/// The separator between namespace levels in stored names (the REST default, U+001F).
pub const LEVEL_SEPARATOR: char = '\u{1f}';

/// A namespace's stored name: its levels joined by [`LEVEL_SEPARATOR`].
pub fn namespace_key(levels: &[String]) -> String {
    levels.join(&LEVEL_SEPARATOR.to_string())
}

/// The levels of a stored namespace name.
pub fn namespace_levels(key: &str) -> Vec<String> {
    key.split(LEVEL_SEPARATOR).map(str::to_string).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s3(client_endpoint: Option<&str>) -> StorageConfig {
        serde_json::from_value(serde_json::json!({
            "type": "s3",
            "location": "s3://bucket/wh",
            "endpoint": "http://minio:9000",
            "client-endpoint": client_endpoint,
            "region": "us-east-1",
            "path-style-access": true,
            "access-key-id": "k",
            "secret-access-key": "s"
        }))
        .unwrap()
    }

    #[test]
    fn clients_get_the_client_endpoint_and_the_server_its_own() {
        let c = s3(Some("http://localhost:9000"));
        let client = c.io_properties();
        let server = c.server_io_properties();
        assert_eq!(client["s3.endpoint"], "http://localhost:9000");
        assert_eq!(server["s3.endpoint"], "http://minio:9000");
        for key in [
            "s3.region",
            "client.region",
            "s3.path-style-access",
            "s3.access-key-id",
            "s3.secret-access-key",
        ] {
            assert_eq!(client[key], server[key], "{key}");
        }
        assert_eq!(client["s3.path-style-access"], "true");
        assert_eq!(client["client.region"], "us-east-1");
    }

    #[test]
    fn without_a_client_endpoint_clients_use_the_endpoint() {
        let c = s3(None);
        assert_eq!(c.io_properties(), c.server_io_properties());
        assert_eq!(c.io_properties()["s3.endpoint"], "http://minio:9000");
        let json = serde_json::to_value(&c).unwrap();
        assert!(json.get("client-endpoint").is_none(), "{json}");
    }

    #[test]
    fn file_storage_has_no_io_properties() {
        let c = StorageConfig::File {
            location: "file:///tmp/wh".into(),
        };
        assert!(c.io_properties().is_empty());
        assert!(c.server_io_properties().is_empty());
    }

    #[test]
    fn urls_pick_the_backend() {
        assert_eq!(
            Backend::of_url("sqlite://x/catalog.db").unwrap(),
            Backend::Sqlite
        );
        assert_eq!(Backend::of_url("sqlite::memory:").unwrap(), Backend::Sqlite);
        assert_eq!(
            Backend::of_url("postgres://u@h:5432/d").unwrap(),
            Backend::Postgres
        );
        assert_eq!(
            Backend::of_url("postgresql://u@h/d").unwrap(),
            Backend::Postgres
        );
        let e = Backend::of_url("mysql://u:pw@h/d").unwrap_err().to_string();
        assert!(e.contains("mysql://u:***@h/d"), "{e}");
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact_url("postgres://floe:s3cret@db:5432/catalog?sslmode=require"),
            "postgres://floe:***@db:5432/catalog?sslmode=require"
        );
        assert_eq!(
            redact_url("postgres://floe@db/catalog"),
            "postgres://floe@db/catalog"
        );
        assert_eq!(redact_url("sqlite://a/b.db"), "sqlite://a/b.db");
    }
}
