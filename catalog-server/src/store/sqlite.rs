//! [`SqliteStore`]: the embedded catalog store, one SQLite file in WAL mode.
//!
//! Migrations live in `migrations/sqlite/` and run at open. Writes that must be atomic run in
//! `BEGIN IMMEDIATE` transactions, so two writers never both read a pointer and then both
//! swap it: the second waits for the first (bounded by the busy timeout) and then sees its
//! result.

use std::collections::BTreeMap;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Connection, Row, SqlitePool};

use super::{
    CatalogStore, Namespace, Page, PointerSwap, PoolSettings, StorageConfig, StoreError,
    StoreResult, TableRecord, Warehouse, namespace_key, namespace_levels,
};

/// The SQLite schema's migrations (`migrations/sqlite/`), compiled in.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// Pool size when [`PoolSettings::max_connections`] is unset (one writer at a time anyway;
/// the rest read concurrently in WAL mode).
pub const DEFAULT_MAX_CONNECTIONS: u32 = 8;

/// The SQLite implementation of [`CatalogStore`].
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

fn db(e: sqlx::Error) -> StoreError {
    StoreError::Database(e.to_string())
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn ns_display(levels: &[String]) -> String {
    levels.join(".")
}

impl SqliteStore {
    /// Open (creating if missing) the database at `url` (`sqlite://path` or
    /// `sqlite::memory:`) and run the migrations, with the default pool settings.
    pub async fn open(url: &str) -> StoreResult<Self> {
        Self::open_with(url, &PoolSettings::default()).await
    }

    /// [`SqliteStore::open`] with explicit pool settings. The file's directory is created
    /// when missing.
    pub async fn open_with(url: &str, settings: &PoolSettings) -> StoreResult<Self> {
        let opts = SqliteConnectOptions::from_str(url).map_err(db)?;
        let file = opts.get_filename();
        if !url.contains(":memory:")
            && let Some(dir) = file.parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir).map_err(|e| {
                StoreError::Database(format!("cannot create directory {}: {e}", dir.display()))
            })?;
        }
        let opts = opts
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        let in_memory = url.contains(":memory:");
        let pool = SqlitePoolOptions::new()
            // An in-memory database is per connection: keep exactly one.
            .max_connections(if in_memory {
                1
            } else {
                settings
                    .max_connections
                    .unwrap_or(DEFAULT_MAX_CONNECTIONS)
                    .max(1)
            })
            .min_connections(1)
            .acquire_timeout(settings.acquire_timeout)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(opts)
            .await
            .map_err(db)?;
        MIGRATOR
            .run(&pool)
            .await
            .map_err(|e| StoreError::Database(format!("migrations failed: {e}")))?;
        Ok(Self { pool })
    }

    async fn warehouse_has_namespaces(&self, id: &str) -> StoreResult<bool> {
        let row = sqlx::query("SELECT 1 FROM namespaces WHERE warehouse_id = ? LIMIT 1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?;
        Ok(row.is_some())
    }
}

fn warehouse_from_row(row: &sqlx::sqlite::SqliteRow) -> StoreResult<Warehouse> {
    let storage: String = row.try_get("storage").map_err(db)?;
    Ok(Warehouse {
        id: row.try_get("id").map_err(db)?,
        name: row.try_get("name").map_err(db)?,
        storage: serde_json::from_str(&storage)
            .map_err(|e| StoreError::Database(format!("stored storage config is invalid: {e}")))?,
    })
}

fn parse_props(s: &str) -> StoreResult<BTreeMap<String, String>> {
    serde_json::from_str(s)
        .map_err(|e| StoreError::Database(format!("stored properties are invalid: {e}")))
}

fn props_json(p: &BTreeMap<String, String>) -> StoreResult<String> {
    serde_json::to_string(p).map_err(|e| StoreError::Database(e.to_string()))
}

async fn namespace_exists(
    conn: &mut sqlx::SqliteConnection,
    wh: &str,
    key: &str,
) -> StoreResult<bool> {
    Ok(
        sqlx::query("SELECT 1 FROM namespaces WHERE warehouse_id = ? AND name = ?")
            .bind(wh)
            .bind(key)
            .fetch_optional(&mut *conn)
            .await
            .map_err(db)?
            .is_some(),
    )
}

super::access::impl_access_store!(SqliteStore);
super::tasks::impl_task_store!(SqliteStore, "");

#[async_trait]
impl CatalogStore for SqliteStore {
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
        let id = uuid::Uuid::new_v4().to_string();
        let json =
            serde_json::to_string(storage).map_err(|e| StoreError::Database(e.to_string()))?;
        match sqlx::query(
            "INSERT INTO warehouses (id, name, storage, created_ms) VALUES (?, ?, ?, ?)",
        )
        .bind(&id)
        .bind(name)
        .bind(&json)
        .bind(now_ms())
        .execute(&self.pool)
        .await
        {
            Ok(_) => Ok(Warehouse {
                id,
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
        let row = sqlx::query("SELECT id, name, storage FROM warehouses WHERE name = ?")
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
        let wh = self.get_warehouse(name).await?;
        if self.warehouse_has_namespaces(&wh.id).await? {
            return Err(StoreError::NotEmpty(format!(
                "warehouse '{name}' still holds namespaces; drop them first"
            )));
        }
        sqlx::query("DELETE FROM metrics_reports WHERE warehouse_id = ?")
            .bind(&wh.id)
            .execute(&self.pool)
            .await
            .map_err(db)?;
        sqlx::query("DELETE FROM warehouses WHERE id = ?")
            .bind(&wh.id)
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn create_namespace(
        &self,
        wh: &Warehouse,
        levels: &[String],
        properties: &BTreeMap<String, String>,
    ) -> StoreResult<()> {
        let key = namespace_key(levels);
        let parent = (levels.len() > 1).then(|| namespace_key(&levels[..levels.len() - 1]));
        let mut conn = self.pool.acquire().await.map_err(db)?;
        let mut tx = conn.begin_with("BEGIN IMMEDIATE").await.map_err(db)?;
        if let Some(p) = &parent
            && !namespace_exists(&mut tx, &wh.id, p).await?
        {
            return Err(StoreError::NamespaceNotFound(format!(
                "parent namespace {} does not exist",
                ns_display(&levels[..levels.len() - 1])
            )));
        }
        let res = sqlx::query(
            "INSERT INTO namespaces (warehouse_id, name, parent, properties, created_ms) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(&wh.id)
        .bind(&key)
        .bind(&parent)
        .bind(props_json(properties)?)
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
            Err(e) => return Err(db(e)),
        }
        tx.commit().await.map_err(db)
    }

    async fn get_namespace(&self, wh: &Warehouse, levels: &[String]) -> StoreResult<Namespace> {
        let row =
            sqlx::query("SELECT properties FROM namespaces WHERE warehouse_id = ? AND name = ?")
                .bind(&wh.id)
                .bind(namespace_key(levels))
                .fetch_optional(&self.pool)
                .await
                .map_err(db)?;
        match row {
            Some(r) => Ok(Namespace {
                levels: levels.to_vec(),
                properties: parse_props(&r.try_get::<String, _>("properties").map_err(db)?)?,
            }),
            None => Err(StoreError::NamespaceNotFound(format!(
                "namespace {} does not exist",
                ns_display(levels)
            ))),
        }
    }

    async fn list_namespaces(
        &self,
        wh: &Warehouse,
        parent: &[String],
        after: Option<&str>,
        limit: usize,
    ) -> StoreResult<Page<Vec<String>>> {
        let parent_key = (!parent.is_empty()).then(|| namespace_key(parent));
        if let Some(p) = &parent_key {
            let mut conn = self.pool.acquire().await.map_err(db)?;
            if !namespace_exists(&mut conn, &wh.id, p).await? {
                return Err(StoreError::NamespaceNotFound(format!(
                    "namespace {} does not exist",
                    ns_display(parent)
                )));
            }
        }
        let rows = sqlx::query(
            "SELECT name FROM namespaces WHERE warehouse_id = ? AND parent IS ? AND name > ? ORDER BY name LIMIT ?",
        )
        .bind(&wh.id)
        .bind(&parent_key)
        .bind(after.unwrap_or(""))
        .bind((limit + 1) as i64)
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
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
        let key = namespace_key(levels);
        let mut conn = self.pool.acquire().await.map_err(db)?;
        let mut tx = conn.begin_with("BEGIN IMMEDIATE").await.map_err(db)?;
        if !namespace_exists(&mut tx, &wh.id, &key).await? {
            return Err(StoreError::NamespaceNotFound(format!(
                "namespace {} does not exist",
                ns_display(levels)
            )));
        }
        let has_tables =
            sqlx::query("SELECT 1 FROM tables WHERE warehouse_id = ? AND namespace = ? LIMIT 1")
                .bind(&wh.id)
                .bind(&key)
                .fetch_optional(&mut *tx)
                .await
                .map_err(db)?
                .is_some();
        let has_children =
            sqlx::query("SELECT 1 FROM namespaces WHERE warehouse_id = ? AND parent = ? LIMIT 1")
                .bind(&wh.id)
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
        sqlx::query("DELETE FROM namespaces WHERE warehouse_id = ? AND name = ?")
            .bind(&wh.id)
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
        let key = namespace_key(levels);
        let mut conn = self.pool.acquire().await.map_err(db)?;
        let mut tx = conn.begin_with("BEGIN IMMEDIATE").await.map_err(db)?;
        let row =
            sqlx::query("SELECT properties FROM namespaces WHERE warehouse_id = ? AND name = ?")
                .bind(&wh.id)
                .bind(&key)
                .fetch_optional(&mut *tx)
                .await
                .map_err(db)?
                .ok_or_else(|| {
                    StoreError::NamespaceNotFound(format!(
                        "namespace {} does not exist",
                        ns_display(levels)
                    ))
                })?;
        let before = parse_props(&row.try_get::<String, _>("properties").map_err(db)?)?;
        let mut props = before.clone();
        for k in removals {
            props.remove(k);
        }
        for (k, v) in updates {
            props.insert(k.clone(), v.clone());
        }
        sqlx::query("UPDATE namespaces SET properties = ? WHERE warehouse_id = ? AND name = ?")
            .bind(props_json(&props)?)
            .bind(&wh.id)
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
            "SELECT table_uuid, metadata_location, previous_metadata_location FROM tables WHERE warehouse_id = ? AND namespace = ? AND name = ?",
        )
        .bind(&wh.id)
        .bind(namespace_key(namespace))
        .bind(name)
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?;
        match row {
            Some(r) => Ok(TableRecord {
                namespace: namespace.to_vec(),
                name: name.to_string(),
                table_uuid: r.try_get("table_uuid").map_err(db)?,
                metadata_location: r.try_get("metadata_location").map_err(db)?,
                previous_metadata_location: r.try_get("previous_metadata_location").map_err(db)?,
            }),
            None => Err(StoreError::NotFound(format!(
                "table {}.{name} does not exist",
                ns_display(namespace)
            ))),
        }
    }

    async fn list_tables(
        &self,
        wh: &Warehouse,
        namespace: &[String],
        after: Option<&str>,
        limit: usize,
    ) -> StoreResult<Page<String>> {
        let key = namespace_key(namespace);
        {
            let mut conn = self.pool.acquire().await.map_err(db)?;
            if !namespace_exists(&mut conn, &wh.id, &key).await? {
                return Err(StoreError::NamespaceNotFound(format!(
                    "namespace {} does not exist",
                    ns_display(namespace)
                )));
            }
        }
        let rows = sqlx::query(
            "SELECT name FROM tables WHERE warehouse_id = ? AND namespace = ? AND name > ? ORDER BY name LIMIT ?",
        )
        .bind(&wh.id)
        .bind(&key)
        .bind(after.unwrap_or(""))
        .bind((limit + 1) as i64)
        .fetch_all(&self.pool)
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
        let rec = self.get_table(wh, namespace, name).await?;
        let res = sqlx::query(
            "DELETE FROM tables WHERE warehouse_id = ? AND namespace = ? AND name = ? AND metadata_location = ?",
        )
        .bind(&wh.id)
        .bind(namespace_key(namespace))
        .bind(name)
        .bind(&rec.metadata_location)
        .execute(&self.pool)
        .await
        .map_err(db)?;
        if res.rows_affected() == 0 {
            return Err(StoreError::Conflict(format!(
                "table {}.{name} changed while it was being dropped; retry",
                ns_display(namespace)
            )));
        }
        Ok(rec)
    }

    async fn rename_table(
        &self,
        wh: &Warehouse,
        from: (&[String], &str),
        to: (&[String], &str),
    ) -> StoreResult<()> {
        let mut conn = self.pool.acquire().await.map_err(db)?;
        let mut tx = conn.begin_with("BEGIN IMMEDIATE").await.map_err(db)?;
        let to_key = namespace_key(to.0);
        if !namespace_exists(&mut tx, &wh.id, &to_key).await? {
            return Err(StoreError::NamespaceNotFound(format!(
                "namespace {} does not exist",
                ns_display(to.0)
            )));
        }
        let res = sqlx::query(
            "UPDATE tables SET namespace = ?, name = ?, updated_ms = ? WHERE warehouse_id = ? AND namespace = ? AND name = ?",
        )
        .bind(&to_key)
        .bind(to.1)
        .bind(now_ms())
        .bind(&wh.id)
        .bind(namespace_key(from.0))
        .bind(from.1)
        .execute(&mut *tx)
        .await;
        match res {
            Ok(r) if r.rows_affected() == 0 => {
                return Err(StoreError::NotFound(format!(
                    "table {}.{} does not exist",
                    ns_display(from.0),
                    from.1
                )));
            }
            Ok(_) => {}
            Err(e) if is_unique_violation(&e) => {
                return Err(StoreError::AlreadyExists(format!(
                    "table {}.{} already exists",
                    ns_display(to.0),
                    to.1
                )));
            }
            Err(e) => return Err(db(e)),
        }
        tx.commit().await.map_err(db)
    }

    async fn swap_pointers(&self, wh: &Warehouse, swaps: &[PointerSwap]) -> StoreResult<()> {
        let mut conn = self.pool.acquire().await.map_err(db)?;
        let mut tx = conn.begin_with("BEGIN IMMEDIATE").await.map_err(db)?;
        let now = now_ms();
        for s in swaps {
            let ns = namespace_key(&s.namespace);
            let ident = format!("{}.{}", ns_display(&s.namespace), s.name);
            match &s.expected {
                None => {
                    if !namespace_exists(&mut tx, &wh.id, &ns).await? {
                        return Err(StoreError::NamespaceNotFound(format!(
                            "namespace {} does not exist",
                            ns_display(&s.namespace)
                        )));
                    }
                    let res = sqlx::query(
                        "INSERT INTO tables (warehouse_id, namespace, name, table_uuid, metadata_location, previous_metadata_location, created_ms, updated_ms) VALUES (?, ?, ?, ?, ?, NULL, ?, ?)",
                    )
                    .bind(&wh.id)
                    .bind(&ns)
                    .bind(&s.name)
                    .bind(&s.table_uuid)
                    .bind(&s.new_location)
                    .bind(now)
                    .bind(now)
                    .execute(&mut *tx)
                    .await;
                    match res {
                        Ok(_) => {}
                        Err(e) if is_unique_violation(&e) => {
                            return Err(StoreError::AlreadyExists(format!(
                                "table {ident} already exists"
                            )));
                        }
                        Err(e) => return Err(db(e)),
                    }
                }
                Some(expected) => {
                    let res = sqlx::query(
                        "UPDATE tables SET metadata_location = ?, previous_metadata_location = ?, updated_ms = ? WHERE warehouse_id = ? AND namespace = ? AND name = ? AND metadata_location = ?",
                    )
                    .bind(&s.new_location)
                    .bind(expected)
                    .bind(now)
                    .bind(&wh.id)
                    .bind(&ns)
                    .bind(&s.name)
                    .bind(expected)
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
                    if res.rows_affected() == 0 {
                        let exists = sqlx::query(
                            "SELECT 1 FROM tables WHERE warehouse_id = ? AND namespace = ? AND name = ?",
                        )
                        .bind(&wh.id)
                        .bind(&ns)
                        .bind(&s.name)
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err(db)?
                        .is_some();
                        return Err(if exists {
                            StoreError::Conflict(format!(
                                "table {ident} was changed by another commit"
                            ))
                        } else {
                            StoreError::NotFound(format!("table {ident} does not exist"))
                        });
                    }
                }
            }
        }
        tx.commit().await.map_err(db)
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
            "INSERT INTO metrics_reports (warehouse_id, namespace, table_name, report_type, report, received_ms) VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(&wh.id)
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
            "SELECT COUNT(*) AS n FROM metrics_reports WHERE warehouse_id = ? AND namespace = ? AND table_name = ?",
        )
        .bind(&wh.id)
        .bind(namespace_key(namespace))
        .bind(name)
        .fetch_one(&self.pool)
        .await
        .map_err(db)?;
        let n: i64 = row.try_get("n").map_err(db)?;
        Ok(n.max(0) as u64)
    }
}
