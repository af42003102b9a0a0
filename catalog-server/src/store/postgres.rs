//! [`PostgresStore`]: the shared catalog store, so several server processes can serve one
//! catalog from one PostgreSQL database.
//!
//! Migrations live in `migrations/postgres/` and run at open; sqlx holds an advisory lock
//! while it migrates, so replicas starting together apply each migration once.
//!
//! # Concurrency: READ COMMITTED with row locks
//!
//! Every write transaction runs at READ COMMITTED (set explicitly, whatever the server's
//! default) and takes row locks in a fixed pattern:
//!
//! - A pointer swap is `UPDATE tables ... WHERE <key> AND metadata_location = $expected`.
//!   When two commits race on one row, the second `UPDATE` waits for the first to finish and
//!   then re-checks its `WHERE` against the committed row: the expected location is gone, no
//!   row changes, and the store answers `Conflict`. That is a compare-and-swap, with no
//!   retry inside the database.
//! - A multi-table commit applies all of its swaps in one transaction, in a fixed order
//!   (namespace, then name), so two transactions over overlapping tables lock rows in the
//!   same order and cannot deadlock each other.
//! - Anything that adds to a namespace (a table create, a rename into it, a child
//!   namespace) first locks the namespace row `FOR KEY SHARE`; `drop_namespace` locks it
//!   `FOR UPDATE` before it looks for tables and children. The two lock modes conflict, so
//!   either the drop waits for the create to commit and then sees the new table (`NotEmpty`),
//!   or the create waits for the drop and then finds no namespace (`NamespaceNotFound`).
//!   `FOR KEY SHARE` does not conflict with itself or with the `FOR NO KEY UPDATE` of a
//!   properties update, so creates in one namespace never wait for each other. Warehouses
//!   are handled the same way (namespace create: `FOR KEY SHARE`; delete: `FOR UPDATE`).
//!   The schema's foreign keys take the same `KEY SHARE` locks and stay as a backstop.
//!
//! # Commit turns across replicas: advisory locks
//!
//! [`CatalogStore::lock_tables`] takes a session-level advisory lock per table
//! (`pg_advisory_lock(COMMIT_LOCK_CLASS, <hash of warehouse, namespace, name>)`, in ascending
//! key order) on a connection of a small pool of its own, held from before the commit reads
//! the table until after its swap. Replicas committing to one table thus wait their turn
//! (PostgreSQL queues the waiters) instead of racing at the swap, where one of them could lose
//! every retry to another that commits back to back. The lock is only that queue: the swap
//! above stays the compare-and-swap that decides, a hash collision only makes two tables
//! share a turn, and a commit that cannot get the lock within `COMMIT_LOCK_TIMEOUT` (or a
//! lock connection within the acquire timeout) goes ahead without it. The locks live in
//! their own pool so that a holder, which also needs a connection for its reads and its swap,
//! can never wait for a connection another holder keeps; a process that dies closes its
//! connections, and PostgreSQL then drops its locks.
//!
//! SERIALIZABLE would give the same guarantees, but by aborting one of two conflicting
//! transactions after the fact (SQLSTATE 40001): every write would need a retry loop, and a
//! hot table's commits would turn into aborted transactions instead of short waits. The
//! explicit locks reach the same outcome by waiting, and the compare-and-swap already tells
//! losers that they lost. Should PostgreSQL still abort a swap (a deadlock with some other
//! client, or a server configured for SERIALIZABLE), nothing has landed, and the swap
//! answers `Conflict` so the service retries it against the new head.

use std::collections::BTreeMap;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgRow};
use sqlx::types::{Json, Uuid};
use sqlx::{Connection, PgConnection, PgPool, Row};

use super::{
    CatalogStore, Namespace, Page, PointerSwap, PoolSettings, StorageConfig, StoreError,
    StoreResult, TableRecord, Warehouse, namespace_key, namespace_levels, redact_url,
};

/// The PostgreSQL schema's migrations (`migrations/postgres/`), compiled in.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// Pool size when [`PoolSettings::max_connections`] is unset.
pub const DEFAULT_MAX_CONNECTIONS: u32 = 16;

/// How every write transaction starts (see the module documentation).
const BEGIN: &str = "BEGIN ISOLATION LEVEL READ COMMITTED";

/// SQLSTATE of a transaction PostgreSQL aborted to break a deadlock.
const DEADLOCK_DETECTED: &str = "40P01";
/// SQLSTATE of a transaction aborted because it could not be serialized.
const SERIALIZATION_FAILURE: &str = "40001";

/// First key of the two-key advisory locks that queue commits (ASCII "Floe"). sqlx's
/// migration lock uses the one-key form, whose keys never meet the two-key ones.
const COMMIT_LOCK_CLASS: i32 = 0x466c_6f65;
/// How long a commit waits for other processes' commits to its tables before it goes ahead
/// without the lock (PostgreSQL's `lock_timeout` on the lock connections).
const COMMIT_LOCK_TIMEOUT: &str = "5s";

/// The PostgreSQL implementation of [`CatalogStore`].
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: PgPool,
    /// Connections that hold commit locks (see the module documentation).
    locks: PgPool,
}

/// The advisory lock key of a table (the second key; the first is [`COMMIT_LOCK_CLASS`]).
fn commit_lock_key(wh: &Warehouse, namespace: &[String], name: &str) -> i32 {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    h.update(wh.id.as_bytes());
    h.update([0]);
    h.update(namespace_key(namespace).as_bytes());
    h.update([0]);
    h.update(name.as_bytes());
    let d = h.finalize();
    i32::from_be_bytes([d[0], d[1], d[2], d[3]])
}

/// Commit locks held on one connection of [`PostgresStore::locks`].
struct PgTableLock {
    conn: Option<sqlx::pool::PoolConnection<sqlx::Postgres>>,
}

#[async_trait]
impl super::TableLock for PgTableLock {
    async fn release(mut self: Box<Self>) {
        if let Some(mut conn) = self.conn.take() {
            let unlocked = sqlx::query("SELECT pg_advisory_unlock_all()")
                .execute(&mut *conn)
                .await;
            if let Err(e) = unlocked {
                tracing::warn!("cannot release commit locks, closing their connection: {e}");
                conn.close_on_drop();
            }
        }
    }
}

impl Drop for PgTableLock {
    fn drop(&mut self) {
        // Not released (the commit was cancelled): closing the session drops its locks.
        if let Some(mut conn) = self.conn.take() {
            conn.close_on_drop();
        }
    }
}

fn db(e: sqlx::Error) -> StoreError {
    StoreError::Database(e.to_string())
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

fn is_foreign_key_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_foreign_key_violation())
}

fn is_aborted_by_concurrency(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d)
        if matches!(d.code().as_deref(), Some(DEADLOCK_DETECTED | SERIALIZATION_FAILURE)))
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn ns_display(levels: &[String]) -> String {
    levels.join(".")
}

fn no_namespace(levels: &[String]) -> StoreError {
    StoreError::NamespaceNotFound(format!("namespace {} does not exist", ns_display(levels)))
}

fn no_table(namespace: &[String], name: &str) -> StoreError {
    StoreError::NotFound(format!(
        "table {}.{name} does not exist",
        ns_display(namespace)
    ))
}

/// A warehouse's id as the database's UUID.
fn wh_id(wh: &Warehouse) -> StoreResult<Uuid> {
    Uuid::parse_str(&wh.id)
        .map_err(|e| StoreError::Database(format!("warehouse id '{}' is not a UUID: {e}", wh.id)))
}

fn warehouse_from_row(row: &PgRow) -> StoreResult<Warehouse> {
    let id: Uuid = row.try_get("id").map_err(db)?;
    let Json(storage): Json<serde_json::Value> = row.try_get("storage").map_err(db)?;
    Ok(Warehouse {
        id: id.to_string(),
        name: row.try_get("name").map_err(db)?,
        storage: serde_json::from_value(storage)
            .map_err(|e| StoreError::Database(format!("stored storage config is invalid: {e}")))?,
    })
}

fn props_from_row(row: &PgRow) -> StoreResult<BTreeMap<String, String>> {
    let Json(v): Json<serde_json::Value> = row.try_get("properties").map_err(db)?;
    serde_json::from_value(v)
        .map_err(|e| StoreError::Database(format!("stored properties are invalid: {e}")))
}

/// Lock a namespace row `FOR KEY SHARE` (something is about to be added to it); `false`
/// when it does not exist (or was dropped while we waited).
async fn lock_namespace_shared(conn: &mut PgConnection, wh: Uuid, key: &str) -> StoreResult<bool> {
    Ok(
        sqlx::query("SELECT 1 FROM namespaces WHERE warehouse_id = $1 AND name = $2 FOR KEY SHARE")
            .bind(wh)
            .bind(key)
            .fetch_optional(&mut *conn)
            .await
            .map_err(db)?
            .is_some(),
    )
}

async fn namespace_exists(conn: &mut PgConnection, wh: Uuid, key: &str) -> StoreResult<bool> {
    Ok(
        sqlx::query("SELECT 1 FROM namespaces WHERE warehouse_id = $1 AND name = $2")
            .bind(wh)
            .bind(key)
            .fetch_optional(&mut *conn)
            .await
            .map_err(db)?
            .is_some(),
    )
}

impl PostgresStore {
    /// Connect to `url` (`postgres://user[:password]@host[:port]/database`) with `settings`
    /// and run the migrations. Fails when the database does not answer within the acquire
    /// timeout.
    pub async fn open(url: &str, settings: &PoolSettings) -> StoreResult<Self> {
        let opts = PgConnectOptions::from_str(url)
            .map_err(|e| {
                StoreError::Database(format!("invalid database URL {}: {e}", redact_url(url)))
            })?
            .application_name("floe-catalog-server")
            // Keep NOTICEs (e.g. "relation _sqlx_migrations already exists") out of the log.
            .options([("client_min_messages", "warning")]);
        // One direct connection first: a pool that cannot connect only reports a timeout,
        // while this names the cause (refused, unknown database, authentication).
        let first =
            tokio::time::timeout(settings.acquire_timeout, PgConnection::connect_with(&opts))
                .await
                .map_err(|_| {
                    StoreError::Database(format!(
                        "no answer from {} within {:?}",
                        redact_url(url),
                        settings.acquire_timeout
                    ))
                })?
                .map_err(db)?;
        let _ = first.close().await;
        let max = settings
            .max_connections
            .unwrap_or(DEFAULT_MAX_CONNECTIONS)
            .max(1);
        // A quarter as many for commit locks: one per table this process commits to at
        // the same moment; more such tables wait briefly for a lock connection.
        let locks = PgPoolOptions::new()
            .max_connections((max / 4).max(2))
            .min_connections(0)
            .acquire_timeout(settings.acquire_timeout)
            .idle_timeout(Some(Duration::from_secs(300)))
            .connect_lazy_with(
                opts.clone()
                    .options([("lock_timeout", COMMIT_LOCK_TIMEOUT)]),
            );
        let pool = PgPoolOptions::new()
            .max_connections(max)
            .min_connections(0)
            .acquire_timeout(settings.acquire_timeout)
            .idle_timeout(Some(Duration::from_secs(300)))
            .connect_with(opts)
            .await
            .map_err(db)?;
        MIGRATOR
            .run(&pool)
            .await
            .map_err(|e| StoreError::Database(format!("migrations failed: {e}")))?;
        Ok(Self { pool, locks })
    }

    /// The connection pool (for tests and diagnostics).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Apply one swap inside `tx`; `Err(sqlx)` only for errors the caller classifies.
    async fn apply_swap(
        tx: &mut PgConnection,
        wh: Uuid,
        s: &PointerSwap,
        now: i64,
    ) -> StoreResult<Result<(), sqlx::Error>> {
        let ns = namespace_key(&s.namespace);
        let ident = format!("{}.{}", ns_display(&s.namespace), s.name);
        match &s.expected {
            None => {
                let table_uuid = Uuid::parse_str(&s.table_uuid).map_err(|e| {
                    StoreError::Database(format!(
                        "table {ident}: uuid '{}' is not a UUID: {e}",
                        s.table_uuid
                    ))
                })?;
                if !lock_namespace_shared(tx, wh, &ns).await? {
                    return Err(no_namespace(&s.namespace));
                }
                let res = sqlx::query(
                    "INSERT INTO tables (warehouse_id, namespace, name, table_uuid, metadata_location, previous_metadata_location, created_ms, updated_ms) VALUES ($1, $2, $3, $4, $5, NULL, $6, $6)",
                )
                .bind(wh)
                .bind(&ns)
                .bind(&s.name)
                .bind(table_uuid)
                .bind(&s.new_location)
                .bind(now)
                .execute(&mut *tx)
                .await;
                match res {
                    Ok(_) => Ok(Ok(())),
                    Err(e) if is_unique_violation(&e) => Err(StoreError::AlreadyExists(format!(
                        "table {ident} already exists"
                    ))),
                    Err(e) if is_foreign_key_violation(&e) => Err(no_namespace(&s.namespace)),
                    Err(e) => Ok(Err(e)),
                }
            }
            Some(expected) => {
                let res = sqlx::query(
                    "UPDATE tables SET metadata_location = $1, previous_metadata_location = $2, updated_ms = $3 WHERE warehouse_id = $4 AND namespace = $5 AND name = $6 AND metadata_location = $2",
                )
                .bind(&s.new_location)
                .bind(expected)
                .bind(now)
                .bind(wh)
                .bind(&ns)
                .bind(&s.name)
                .execute(&mut *tx)
                .await;
                let res = match res {
                    Ok(r) => r,
                    Err(e) => return Ok(Err(e)),
                };
                if res.rows_affected() > 0 {
                    return Ok(Ok(()));
                }
                let exists = sqlx::query(
                    "SELECT 1 FROM tables WHERE warehouse_id = $1 AND namespace = $2 AND name = $3",
                )
                .bind(wh)
                .bind(&ns)
                .bind(&s.name)
                .fetch_optional(&mut *tx)
                .await;
                match exists {
                    Ok(Some(_)) => Err(StoreError::Conflict(format!(
                        "table {ident} was changed by another commit"
                    ))),
                    Ok(None) => Err(StoreError::NotFound(format!(
                        "table {ident} does not exist"
                    ))),
                    Err(e) => Ok(Err(e)),
                }
            }
        }
    }
}

super::access::impl_access_store!(PostgresStore);
super::tasks::impl_task_store!(PostgresStore, "FOR UPDATE SKIP LOCKED");

#[async_trait]
impl CatalogStore for PostgresStore {
    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn create_warehouse(
        &self,
        name: &str,
        storage: &StorageConfig,
    ) -> StoreResult<Warehouse> {
        let id = Uuid::new_v4();
        match sqlx::query(
            "INSERT INTO warehouses (id, name, storage, created_ms) VALUES ($1, $2, $3, $4)",
        )
        .bind(id)
        .bind(name)
        .bind(Json(storage))
        .bind(now_ms())
        .execute(&self.pool)
        .await
        {
            Ok(_) => Ok(Warehouse {
                id: id.to_string(),
                name: name.to_string(),
                storage: storage.clone(),
            }),
            Err(e) if is_unique_violation(&e) => Err(StoreError::AlreadyExists(format!(
                "warehouse '{name}' already exists"
            ))),
            Err(e) => Err(db(e)),
        }
    }

    async fn list_warehouses(&self) -> StoreResult<Vec<Warehouse>> {
        let rows = sqlx::query("SELECT id, name, storage FROM warehouses ORDER BY name")
            .fetch_all(&self.pool)
            .await
            .map_err(db)?;
        rows.iter().map(warehouse_from_row).collect()
    }

    async fn get_warehouse(&self, name: &str) -> StoreResult<Warehouse> {
        let row = sqlx::query("SELECT id, name, storage FROM warehouses WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?;
        match row {
            Some(r) => warehouse_from_row(&r),
            None => Err(StoreError::NotFound(format!(
                "warehouse '{name}' does not exist"
            ))),
        }
    }

    async fn delete_warehouse(&self, name: &str) -> StoreResult<()> {
        let mut tx = self.pool.begin_with(BEGIN).await.map_err(db)?;
        let row = sqlx::query("SELECT id FROM warehouses WHERE name = $1 FOR UPDATE")
            .bind(name)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db)?
            .ok_or_else(|| StoreError::NotFound(format!("warehouse '{name}' does not exist")))?;
        let id: Uuid = row.try_get("id").map_err(db)?;
        let has_namespaces =
            sqlx::query("SELECT 1 FROM namespaces WHERE warehouse_id = $1 LIMIT 1")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(db)?
                .is_some();
        if has_namespaces {
            return Err(StoreError::NotEmpty(format!(
                "warehouse '{name}' still holds namespaces; drop them first"
            )));
        }
        sqlx::query("DELETE FROM metrics_reports WHERE warehouse_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        sqlx::query("DELETE FROM warehouses WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        tx.commit().await.map_err(db)
    }

    async fn create_namespace(
        &self,
        wh: &Warehouse,
        levels: &[String],
        properties: &BTreeMap<String, String>,
    ) -> StoreResult<()> {
        let id = wh_id(wh)?;
        let key = namespace_key(levels);
        let parent_levels = &levels[..levels.len().saturating_sub(1)];
        let parent = (!parent_levels.is_empty()).then(|| namespace_key(parent_levels));
        let mut tx = self.pool.begin_with(BEGIN).await.map_err(db)?;
        let wh_exists = sqlx::query("SELECT 1 FROM warehouses WHERE id = $1 FOR KEY SHARE")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db)?
            .is_some();
        if !wh_exists {
            return Err(StoreError::NotFound(format!(
                "warehouse '{}' does not exist",
                wh.name
            )));
        }
        if let Some(p) = &parent
            && !lock_namespace_shared(&mut tx, id, p).await?
        {
            return Err(StoreError::NamespaceNotFound(format!(
                "parent namespace {} does not exist",
                ns_display(parent_levels)
            )));
        }
        let res = sqlx::query(
            "INSERT INTO namespaces (warehouse_id, name, parent, properties, created_ms) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id)
        .bind(&key)
        .bind(&parent)
        .bind(Json(properties))
        .bind(now_ms())
        .execute(&mut *tx)
        .await;
        match res {
            Ok(_) => {}
            Err(e) if is_unique_violation(&e) => {
                return Err(StoreError::AlreadyExists(format!(
                    "namespace {} already exists",
                    ns_display(levels)
                )));
            }
            Err(e) if is_foreign_key_violation(&e) => {
                return Err(StoreError::NamespaceNotFound(format!(
                    "parent namespace {} does not exist",
                    ns_display(parent_levels)
                )));
            }
            Err(e) => return Err(db(e)),
        }
        tx.commit().await.map_err(db)
    }

    async fn get_namespace(&self, wh: &Warehouse, levels: &[String]) -> StoreResult<Namespace> {
        let row =
            sqlx::query("SELECT properties FROM namespaces WHERE warehouse_id = $1 AND name = $2")
                .bind(wh_id(wh)?)
                .bind(namespace_key(levels))
                .fetch_optional(&self.pool)
                .await
                .map_err(db)?;
        match row {
            Some(r) => Ok(Namespace {
                levels: levels.to_vec(),
                properties: props_from_row(&r)?,
            }),
            None => Err(no_namespace(levels)),
        }
    }

    async fn list_namespaces(
        &self,
        wh: &Warehouse,
        parent: &[String],
        after: Option<&str>,
        limit: usize,
    ) -> StoreResult<Page<Vec<String>>> {
        let id = wh_id(wh)?;
        let after = after.unwrap_or("");
        let fetch = (limit + 1) as i64;
        let rows = if parent.is_empty() {
            sqlx::query(
                "SELECT name FROM namespaces WHERE warehouse_id = $1 AND parent IS NULL AND name > $2 ORDER BY name LIMIT $3",
            )
            .bind(id)
            .bind(after)
            .bind(fetch)
            .fetch_all(&self.pool)
            .await
            .map_err(db)?
        } else {
            let parent_key = namespace_key(parent);
            let mut conn = self.pool.acquire().await.map_err(db)?;
            if !namespace_exists(&mut conn, id, &parent_key).await? {
                return Err(no_namespace(parent));
            }
            sqlx::query(
                "SELECT name FROM namespaces WHERE warehouse_id = $1 AND parent = $2 AND name > $3 ORDER BY name LIMIT $4",
            )
            .bind(id)
            .bind(&parent_key)
            .bind(after)
            .bind(fetch)
            .fetch_all(&mut *conn)
            .await
            .map_err(db)?
        };
        let names: Vec<String> = rows
            .iter()
            .map(|r| r.try_get::<String, _>("name"))
            .collect::<Result<_, _>>()
            .map_err(db)?;
        let page = Page::from_overfetched(names, limit);
        Ok(Page {
            items: page.items.iter().map(|n| namespace_levels(n)).collect(),
            next: page.next,
        })
    }

    async fn drop_namespace(&self, wh: &Warehouse, levels: &[String]) -> StoreResult<()> {
        let id = wh_id(wh)?;
        let key = namespace_key(levels);
        let mut tx = self.pool.begin_with(BEGIN).await.map_err(db)?;
        // FOR UPDATE: conflicts with the FOR KEY SHARE every creator takes (module docs).
        let found = sqlx::query(
            "SELECT 1 FROM namespaces WHERE warehouse_id = $1 AND name = $2 FOR UPDATE",
        )
        .bind(id)
        .bind(&key)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db)?
        .is_some();
        if !found {
            return Err(no_namespace(levels));
        }
        let has_tables =
            sqlx::query("SELECT 1 FROM tables WHERE warehouse_id = $1 AND namespace = $2 LIMIT 1")
                .bind(id)
                .bind(&key)
                .fetch_optional(&mut *tx)
                .await
                .map_err(db)?
                .is_some();
        let has_children =
            sqlx::query("SELECT 1 FROM namespaces WHERE warehouse_id = $1 AND parent = $2 LIMIT 1")
                .bind(id)
                .bind(&key)
                .fetch_optional(&mut *tx)
                .await
                .map_err(db)?
                .is_some();
        if has_tables || has_children {
            return Err(StoreError::NotEmpty(format!(
                "namespace {} is not empty: it holds {}",
                ns_display(levels),
                if has_tables { "tables" } else { "namespaces" }
            )));
        }
        sqlx::query("DELETE FROM namespaces WHERE warehouse_id = $1 AND name = $2")
            .bind(id)
            .bind(&key)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        tx.commit().await.map_err(db)
    }

    async fn update_namespace_properties(
        &self,
        wh: &Warehouse,
        levels: &[String],
        removals: &[String],
        updates: &BTreeMap<String, String>,
    ) -> StoreResult<BTreeMap<String, String>> {
        let id = wh_id(wh)?;
        let key = namespace_key(levels);
        let mut tx = self.pool.begin_with(BEGIN).await.map_err(db)?;
        // FOR NO KEY UPDATE: serializes read-modify-write of the properties without blocking
        // table creates in the namespace (they take FOR KEY SHARE).
        let row = sqlx::query(
            "SELECT properties FROM namespaces WHERE warehouse_id = $1 AND name = $2 FOR NO KEY UPDATE",
        )
        .bind(id)
        .bind(&key)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db)?
        .ok_or_else(|| no_namespace(levels))?;
        let before = props_from_row(&row)?;
        let mut props = before.clone();
        for k in removals {
            props.remove(k);
        }
        for (k, v) in updates {
            props.insert(k.clone(), v.clone());
        }
        sqlx::query("UPDATE namespaces SET properties = $1 WHERE warehouse_id = $2 AND name = $3")
            .bind(Json(&props))
            .bind(id)
            .bind(&key)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(before)
    }

    async fn get_table(
        &self,
        wh: &Warehouse,
        namespace: &[String],
        name: &str,
    ) -> StoreResult<TableRecord> {
        let row = sqlx::query(
            "SELECT table_uuid, metadata_location, previous_metadata_location FROM tables WHERE warehouse_id = $1 AND namespace = $2 AND name = $3",
        )
        .bind(wh_id(wh)?)
        .bind(namespace_key(namespace))
        .bind(name)
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?;
        match row {
            Some(r) => record_from_row(&r, namespace, name),
            None => Err(no_table(namespace, name)),
        }
    }

    async fn list_tables(
        &self,
        wh: &Warehouse,
        namespace: &[String],
        after: Option<&str>,
        limit: usize,
    ) -> StoreResult<Page<String>> {
        let id = wh_id(wh)?;
        let key = namespace_key(namespace);
        let mut conn = self.pool.acquire().await.map_err(db)?;
        if !namespace_exists(&mut conn, id, &key).await? {
            return Err(no_namespace(namespace));
        }
        let rows = sqlx::query(
            "SELECT name FROM tables WHERE warehouse_id = $1 AND namespace = $2 AND name > $3 ORDER BY name LIMIT $4",
        )
        .bind(id)
        .bind(&key)
        .bind(after.unwrap_or(""))
        .bind((limit + 1) as i64)
        .fetch_all(&mut *conn)
        .await
        .map_err(db)?;
        let names: Vec<String> = rows
            .iter()
            .map(|r| r.try_get::<String, _>("name"))
            .collect::<Result<_, _>>()
            .map_err(db)?;
        Ok(Page::from_overfetched(names, limit))
    }

    async fn drop_table(
        &self,
        wh: &Warehouse,
        namespace: &[String],
        name: &str,
    ) -> StoreResult<TableRecord> {
        // One statement: the row returned is exactly the row removed, whatever commits
        // raced with the drop.
        let row = sqlx::query(
            "DELETE FROM tables WHERE warehouse_id = $1 AND namespace = $2 AND name = $3 RETURNING table_uuid, metadata_location, previous_metadata_location",
        )
        .bind(wh_id(wh)?)
        .bind(namespace_key(namespace))
        .bind(name)
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?;
        match row {
            Some(r) => record_from_row(&r, namespace, name),
            None => Err(no_table(namespace, name)),
        }
    }

    async fn rename_table(
        &self,
        wh: &Warehouse,
        from: (&[String], &str),
        to: (&[String], &str),
    ) -> StoreResult<()> {
        let id = wh_id(wh)?;
        let to_key = namespace_key(to.0);
        let mut tx = self.pool.begin_with(BEGIN).await.map_err(db)?;
        if !lock_namespace_shared(&mut tx, id, &to_key).await? {
            return Err(no_namespace(to.0));
        }
        let res = sqlx::query(
            "UPDATE tables SET namespace = $1, name = $2, updated_ms = $3 WHERE warehouse_id = $4 AND namespace = $5 AND name = $6",
        )
        .bind(&to_key)
        .bind(to.1)
        .bind(now_ms())
        .bind(id)
        .bind(namespace_key(from.0))
        .bind(from.1)
        .execute(&mut *tx)
        .await;
        match res {
            Ok(r) if r.rows_affected() == 0 => return Err(no_table(from.0, from.1)),
            Ok(_) => {}
            Err(e) if is_unique_violation(&e) => {
                return Err(StoreError::AlreadyExists(format!(
                    "table {}.{} already exists",
                    ns_display(to.0),
                    to.1
                )));
            }
            Err(e) if is_foreign_key_violation(&e) => return Err(no_namespace(to.0)),
            Err(e) => return Err(db(e)),
        }
        tx.commit().await.map_err(db)
    }

    async fn swap_pointers(&self, wh: &Warehouse, swaps: &[PointerSwap]) -> StoreResult<()> {
        let id = wh_id(wh)?;
        // A fixed lock order across transactions (module docs).
        let mut ordered: Vec<&PointerSwap> = swaps.iter().collect();
        ordered.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
        let classify = |e: sqlx::Error| {
            if is_aborted_by_concurrency(&e) {
                StoreError::Conflict(format!(
                    "a concurrent transaction touched the same tables ({e}); nothing was committed"
                ))
            } else {
                db(e)
            }
        };
        let mut tx = self.pool.begin_with(BEGIN).await.map_err(db)?;
        let now = now_ms();
        for s in ordered {
            Self::apply_swap(&mut tx, id, s, now)
                .await?
                .map_err(classify)?;
        }
        tx.commit().await.map_err(classify)
    }

    async fn lock_tables(
        &self,
        wh: &Warehouse,
        tables: &[(&[String], &str)],
    ) -> Option<Box<dyn super::TableLock>> {
        let mut keys: Vec<i32> = tables
            .iter()
            .map(|(ns, name)| commit_lock_key(wh, ns, name))
            .collect();
        keys.sort_unstable();
        keys.dedup();
        let mut conn = match self.locks.acquire().await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!("no connection for a commit lock, committing without it: {e}");
                return None;
            }
        };
        for key in keys {
            let locked = sqlx::query("SELECT pg_advisory_lock($1, $2)")
                .bind(COMMIT_LOCK_CLASS)
                .bind(key)
                .execute(&mut *conn)
                .await;
            if let Err(e) = locked {
                tracing::warn!("commit lock not taken, committing without it: {e}");
                // Locks taken so far go with the connection.
                conn.close_on_drop();
                return None;
            }
        }
        Some(Box::new(PgTableLock { conn: Some(conn) }))
    }

    async fn insert_metrics_report(
        &self,
        wh: &Warehouse,
        namespace: &[String],
        name: &str,
        report_type: &str,
        report: &str,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO metrics_reports (warehouse_id, namespace, table_name, report_type, report, received_ms) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(wh_id(wh)?)
        .bind(namespace_key(namespace))
        .bind(name)
        .bind(report_type)
        .bind(report)
        .bind(now_ms())
        .execute(&self.pool)
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn count_metrics_reports(
        &self,
        wh: &Warehouse,
        namespace: &[String],
        name: &str,
    ) -> StoreResult<u64> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM metrics_reports WHERE warehouse_id = $1 AND namespace = $2 AND table_name = $3",
        )
        .bind(wh_id(wh)?)
        .bind(namespace_key(namespace))
        .bind(name)
        .fetch_one(&self.pool)
        .await
        .map_err(db)?;
        let n: i64 = row.try_get("n").map_err(db)?;
        Ok(n.max(0) as u64)
    }
}

fn record_from_row(r: &PgRow, namespace: &[String], name: &str) -> StoreResult<TableRecord> {
    let table_uuid: Uuid = r.try_get("table_uuid").map_err(db)?;
    Ok(TableRecord {
        namespace: namespace.to_vec(),
        name: name.to_string(),
        table_uuid: table_uuid.to_string(),
        metadata_location: r.try_get("metadata_location").map_err(db)?,
        previous_metadata_location: r.try_get("previous_metadata_location").map_err(db)?,
    })
}
