//! The automatic-maintenance part of the catalog's state: schedules and the task queue.
//!
//! - Records: [`ScheduleRecord`] (one table's scheduled action, from its table properties),
//!   [`NewTask`], [`TaskRecord`], [`TaskStatus`], [`TaskFilter`].
//! - [`TaskStore`]: the reads and writes, a supertrait of [`super::CatalogStore`].
//! - [`impl_task_store!`]: one implementation for both backends over portable SQL (`$n`
//!   parameters, text and integer columns), like `access`. The one difference is the row lock
//!   of a claim: PostgreSQL's `FOR UPDATE SKIP LOCKED`, which SQLite neither has nor needs (a
//!   write statement holds the database's single write lock).
//!
//! # Exactly one run per slot, and takeover
//!
//! - Enqueueing is idempotent: a task's `slot_key` (schedule and due time) is unique, so two
//!   replicas that find the same schedule due insert one task between them
//!   ([`TaskStore::enqueue_task`] answers `None` to the second), and the schedule moves to its
//!   next slot with a compare-and-set on the due time it was read with.
//! - A claim is one `UPDATE ... WHERE id = (SELECT ... LIMIT 1 [FOR UPDATE SKIP LOCKED])
//!   AND <still claimable> RETURNING ...`: on PostgreSQL (READ COMMITTED) concurrent claimers
//!   skip each other's locked row instead of waiting on it, and the outer condition is
//!   re-checked against the row as committed; on SQLite the statement runs under the write
//!   lock. Either way a task goes to one worker.
//! - A claim sets a lease. A task whose worker died stays `running` until the lease expires;
//!   then any worker may claim it again (counting an attempt), up to a maximum of attempts,
//!   after which it is failed ([`TaskStore::fail_abandoned_tasks`]). A worker finishes a task
//!   only while it still holds it (its id on the row), so a worker that lost its lease cannot
//!   overwrite the result of the one that took over.

use async_trait::async_trait;

use super::{Page, StoreResult};

/// A task's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TaskStatus {
    /// Waiting for a worker.
    Queued,
    /// A worker holds it (until its lease expires).
    Running,
    /// Done; the result is stored.
    Succeeded,
    /// Given up; the error is stored.
    Failed,
}

impl TaskStatus {
    /// The stored (and API) name.
    pub fn as_str(self) -> &'static str {
        match self {
            TaskStatus::Queued => "queued",
            TaskStatus::Running => "running",
            TaskStatus::Succeeded => "succeeded",
            TaskStatus::Failed => "failed",
        }
    }

    /// Parse a stored or API name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "queued" => Some(TaskStatus::Queued),
            "running" => Some(TaskStatus::Running),
            "succeeded" => Some(TaskStatus::Succeeded),
            "failed" => Some(TaskStatus::Failed),
            _ => None,
        }
    }
}

/// One table's scheduled maintenance action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleRecord {
    /// The warehouse's id.
    pub warehouse_id: String,
    /// The namespace's stored name (levels joined by U+001F).
    pub namespace: String,
    /// The table's name.
    pub table_name: String,
    /// The action (`expire-snapshots`).
    pub action: String,
    /// The table's uuid when the schedule was set.
    pub table_uuid: String,
    /// Time between runs.
    pub interval_ms: i64,
    /// The schedule's options, a JSON object.
    pub options: String,
    /// When the next run is due (Unix ms).
    pub next_run_ms: i64,
}

/// A task to enqueue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTask {
    /// Unique per schedule slot: a second insert with the same key is ignored.
    pub slot_key: String,
    /// The warehouse's id.
    pub warehouse_id: String,
    /// The warehouse's name.
    pub warehouse: String,
    /// The namespace's stored name.
    pub namespace: String,
    /// The table's name.
    pub table_name: String,
    /// The table's uuid (the task fails if the name now holds another table).
    pub table_uuid: String,
    /// The action.
    pub action: String,
    /// The action's options, a JSON object.
    pub options: String,
    /// Creation time (Unix ms).
    pub created_ms: i64,
}

/// A task's row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskRecord {
    /// Position in the queue.
    pub id: i64,
    /// The schedule slot it was made for.
    pub slot_key: String,
    /// The warehouse's id.
    pub warehouse_id: String,
    /// The warehouse's name.
    pub warehouse: String,
    /// The namespace's stored name.
    pub namespace: String,
    /// The table's name.
    pub table_name: String,
    /// The table's uuid.
    pub table_uuid: String,
    /// The action.
    pub action: String,
    /// The action's options, a JSON object.
    pub options: String,
    /// Its state.
    pub status: TaskStatus,
    /// How many times a worker claimed it.
    pub attempts: i64,
    /// Creation time (Unix ms).
    pub created_ms: i64,
    /// When the last claim started it.
    pub started_ms: Option<i64>,
    /// When it finished.
    pub finished_ms: Option<i64>,
    /// The worker holding it, or that held it last.
    pub worker_id: Option<String>,
    /// Until when the worker's claim holds.
    pub lease_expires_ms: Option<i64>,
    /// The report (JSON) of a succeeded task.
    pub result: Option<String>,
    /// Why it failed.
    pub error: Option<String>,
}

/// Which tasks to list (newest first).
#[derive(Debug, Clone, Default)]
pub struct TaskFilter {
    /// Only tasks in this state.
    pub status: Option<TaskStatus>,
    /// Only tasks of this warehouse (id).
    pub warehouse_id: Option<String>,
    /// Only tasks of this namespace (stored name).
    pub namespace: Option<String>,
    /// Only tasks of tables of this name.
    pub table_name: Option<String>,
    /// Continue after this id (ids below it).
    pub before_id: Option<i64>,
    /// Page size.
    pub limit: usize,
}

/// The schedules' and the task queue's reads and writes.
#[async_trait]
pub trait TaskStore: Send + Sync {
    /// Create or replace a table's schedule for an action. An existing schedule keeps its
    /// next due time unless the new interval brings it closer.
    async fn upsert_schedule(&self, s: &ScheduleRecord, now_ms: i64) -> StoreResult<()>;
    /// Remove a table's schedule for an action (`None`: for every action).
    async fn delete_schedules(
        &self,
        warehouse_id: &str,
        namespace: &str,
        table_name: &str,
        action: Option<&str>,
    ) -> StoreResult<()>;
    /// Move a table's schedules to its new name.
    async fn rename_schedules(
        &self,
        warehouse_id: &str,
        from: (&str, &str),
        to: (&str, &str),
    ) -> StoreResult<()>;
    /// A table's schedules.
    async fn table_schedules(
        &self,
        warehouse_id: &str,
        namespace: &str,
        table_name: &str,
    ) -> StoreResult<Vec<ScheduleRecord>>;
    /// Schedules due at `now_ms`, soonest first, at most `limit`.
    async fn due_schedules(&self, now_ms: i64, limit: usize) -> StoreResult<Vec<ScheduleRecord>>;
    /// Move a schedule from the due time it was read with to `next_run_ms`; false when
    /// another worker moved it first.
    async fn advance_schedule(
        &self,
        s: &ScheduleRecord,
        next_run_ms: i64,
        now_ms: i64,
    ) -> StoreResult<bool>;

    /// Enqueue a task; `None` when a task for its slot exists already.
    async fn enqueue_task(&self, t: &NewTask) -> StoreResult<Option<i64>>;
    /// Claim the oldest queued task, or a running one whose lease expired with fewer than
    /// `max_attempts` attempts, for `worker_id` until `now_ms + lease_ms`.
    async fn claim_task(
        &self,
        worker_id: &str,
        now_ms: i64,
        lease_ms: i64,
        max_attempts: i64,
    ) -> StoreResult<Option<TaskRecord>>;
    /// Extend a held task's lease; false when the worker no longer holds it.
    async fn renew_lease(
        &self,
        id: i64,
        worker_id: &str,
        lease_expires_ms: i64,
    ) -> StoreResult<bool>;
    /// Record a held task's outcome (`Succeeded` with a result, or `Failed` with an error);
    /// false when the worker no longer holds it (another took over).
    async fn finish_task(
        &self,
        id: i64,
        worker_id: &str,
        status: TaskStatus,
        result: Option<&str>,
        error: Option<&str>,
        now_ms: i64,
    ) -> StoreResult<bool>;
    /// Fail running tasks whose lease expired after `max_attempts` attempts; returns how many.
    async fn fail_abandoned_tasks(&self, now_ms: i64, max_attempts: i64) -> StoreResult<u64>;
    /// One task.
    async fn get_task(&self, id: i64) -> StoreResult<TaskRecord>;
    /// Tasks, newest first.
    async fn list_tasks(&self, f: &TaskFilter) -> StoreResult<Page<TaskRecord>>;
}

/// The columns every task read selects.
pub(crate) const TASK_COLUMNS: &str = "id, slot_key, warehouse_id, warehouse, namespace, \
     table_name, table_uuid, action, options, status, attempts, created_ms, started_ms, \
     finished_ms, worker_id, lease_expires_ms, result, error";

/// The columns every schedule read selects.
pub(crate) const SCHEDULE_COLUMNS: &str =
    "warehouse_id, namespace, table_name, action, table_uuid, interval_ms, options, next_run_ms";

/// Implement [`TaskStore`] for a store type with a `pool` field of an sqlx pool. `$lock` is
/// the row-lock clause of a claim's subquery (`"FOR UPDATE SKIP LOCKED"` on PostgreSQL, `""`
/// on SQLite).
macro_rules! impl_task_store {
    ($store:ty, $lock:expr) => {
        #[async_trait::async_trait]
        impl $crate::store::tasks::TaskStore for $store {
            async fn upsert_schedule(
                &self,
                s: &$crate::store::tasks::ScheduleRecord,
                now_ms: i64,
            ) -> $crate::store::StoreResult<()> {
                sqlx::query(
                    "INSERT INTO maintenance_schedules (warehouse_id, namespace, table_name, action, \
                     table_uuid, interval_ms, options, next_run_ms, updated_ms) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
                     ON CONFLICT (warehouse_id, namespace, table_name, action) DO UPDATE SET \
                     table_uuid = excluded.table_uuid, interval_ms = excluded.interval_ms, \
                     options = excluded.options, updated_ms = excluded.updated_ms, \
                     next_run_ms = CASE WHEN excluded.next_run_ms < maintenance_schedules.next_run_ms \
                     THEN excluded.next_run_ms ELSE maintenance_schedules.next_run_ms END",
                )
                .bind(&s.warehouse_id)
                .bind(&s.namespace)
                .bind(&s.table_name)
                .bind(&s.action)
                .bind(&s.table_uuid)
                .bind(s.interval_ms)
                .bind(&s.options)
                .bind(s.next_run_ms)
                .bind(now_ms)
                .execute(&self.pool)
                .await
                .map_err(db)?;
                Ok(())
            }

            async fn delete_schedules(
                &self,
                warehouse_id: &str,
                namespace: &str,
                table_name: &str,
                action: Option<&str>,
            ) -> $crate::store::StoreResult<()> {
                sqlx::query(
                    "DELETE FROM maintenance_schedules WHERE warehouse_id = $1 AND namespace = $2 \
                     AND table_name = $3 AND ($4 IS NULL OR action = $4)",
                )
                .bind(warehouse_id)
                .bind(namespace)
                .bind(table_name)
                .bind(action)
                .execute(&self.pool)
                .await
                .map_err(db)?;
                Ok(())
            }

            async fn rename_schedules(
                &self,
                warehouse_id: &str,
                from: (&str, &str),
                to: (&str, &str),
            ) -> $crate::store::StoreResult<()> {
                let mut tx = self.pool.begin().await.map_err(db)?;
                // A leftover schedule under the new name (its table was dropped) gives way.
                sqlx::query(
                    "DELETE FROM maintenance_schedules WHERE warehouse_id = $1 AND namespace = $2 \
                     AND table_name = $3",
                )
                .bind(warehouse_id)
                .bind(to.0)
                .bind(to.1)
                .execute(&mut *tx)
                .await
                .map_err(db)?;
                sqlx::query(
                    "UPDATE maintenance_schedules SET namespace = $4, table_name = $5 \
                     WHERE warehouse_id = $1 AND namespace = $2 AND table_name = $3",
                )
                .bind(warehouse_id)
                .bind(from.0)
                .bind(from.1)
                .bind(to.0)
                .bind(to.1)
                .execute(&mut *tx)
                .await
                .map_err(db)?;
                tx.commit().await.map_err(db)
            }

            async fn table_schedules(
                &self,
                warehouse_id: &str,
                namespace: &str,
                table_name: &str,
            ) -> $crate::store::StoreResult<Vec<$crate::store::tasks::ScheduleRecord>> {
                let sql = format!(
                    "SELECT {} FROM maintenance_schedules WHERE warehouse_id = $1 \
                     AND namespace = $2 AND table_name = $3 ORDER BY action",
                    $crate::store::tasks::SCHEDULE_COLUMNS
                );
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(warehouse_id)
                    .bind(namespace)
                    .bind(table_name)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db)?;
                rows.iter().map(schedule_from_row).collect()
            }

            async fn due_schedules(
                &self,
                now_ms: i64,
                limit: usize,
            ) -> $crate::store::StoreResult<Vec<$crate::store::tasks::ScheduleRecord>> {
                let sql = format!(
                    "SELECT {} FROM maintenance_schedules WHERE next_run_ms <= $1 \
                     ORDER BY next_run_ms LIMIT $2",
                    $crate::store::tasks::SCHEDULE_COLUMNS
                );
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(now_ms)
                    .bind(limit as i64)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db)?;
                rows.iter().map(schedule_from_row).collect()
            }

            async fn advance_schedule(
                &self,
                s: &$crate::store::tasks::ScheduleRecord,
                next_run_ms: i64,
                now_ms: i64,
            ) -> $crate::store::StoreResult<bool> {
                let done = sqlx::query(
                    "UPDATE maintenance_schedules SET next_run_ms = $1, updated_ms = $2 \
                     WHERE warehouse_id = $3 AND namespace = $4 AND table_name = $5 \
                     AND action = $6 AND next_run_ms = $7",
                )
                .bind(next_run_ms)
                .bind(now_ms)
                .bind(&s.warehouse_id)
                .bind(&s.namespace)
                .bind(&s.table_name)
                .bind(&s.action)
                .bind(s.next_run_ms)
                .execute(&self.pool)
                .await
                .map_err(db)?;
                Ok(done.rows_affected() == 1)
            }

            async fn enqueue_task(
                &self,
                t: &$crate::store::tasks::NewTask,
            ) -> $crate::store::StoreResult<Option<i64>> {
                let row = sqlx::query(
                    "INSERT INTO tasks (slot_key, warehouse_id, warehouse, namespace, table_name, \
                     table_uuid, action, options, status, attempts, created_ms) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'queued', 0, $9) \
                     ON CONFLICT (slot_key) DO NOTHING RETURNING id",
                )
                .bind(&t.slot_key)
                .bind(&t.warehouse_id)
                .bind(&t.warehouse)
                .bind(&t.namespace)
                .bind(&t.table_name)
                .bind(&t.table_uuid)
                .bind(&t.action)
                .bind(&t.options)
                .bind(t.created_ms)
                .fetch_optional(&self.pool)
                .await
                .map_err(db)?;
                row.map(|r| r.try_get::<i64, _>("id").map_err(db)).transpose()
            }

            async fn claim_task(
                &self,
                worker_id: &str,
                now_ms: i64,
                lease_ms: i64,
                max_attempts: i64,
            ) -> $crate::store::StoreResult<Option<$crate::store::tasks::TaskRecord>> {
                let claimable = "(status = 'queued' OR (status = 'running' \
                     AND lease_expires_ms < $2 AND attempts < $4))";
                let sql = format!(
                    "UPDATE tasks SET status = 'running', worker_id = $1, attempts = attempts + 1, \
                     started_ms = $2, lease_expires_ms = $3 \
                     WHERE id = (SELECT id FROM tasks WHERE {claimable} ORDER BY id LIMIT 1 {lock}) \
                     AND {claimable} RETURNING {cols}",
                    lock = $lock,
                    cols = $crate::store::tasks::TASK_COLUMNS,
                );
                let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(worker_id)
                    .bind(now_ms)
                    .bind(now_ms.saturating_add(lease_ms))
                    .bind(max_attempts)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db)?;
                row.as_ref().map(task_from_row).transpose()
            }

            async fn renew_lease(
                &self,
                id: i64,
                worker_id: &str,
                lease_expires_ms: i64,
            ) -> $crate::store::StoreResult<bool> {
                let done = sqlx::query(
                    "UPDATE tasks SET lease_expires_ms = $1 WHERE id = $2 AND worker_id = $3 \
                     AND status = 'running'",
                )
                .bind(lease_expires_ms)
                .bind(id)
                .bind(worker_id)
                .execute(&self.pool)
                .await
                .map_err(db)?;
                Ok(done.rows_affected() == 1)
            }

            async fn finish_task(
                &self,
                id: i64,
                worker_id: &str,
                status: $crate::store::tasks::TaskStatus,
                result: Option<&str>,
                error: Option<&str>,
                now_ms: i64,
            ) -> $crate::store::StoreResult<bool> {
                let done = sqlx::query(
                    "UPDATE tasks SET status = $1, result = $2, error = $3, finished_ms = $4, \
                     lease_expires_ms = NULL WHERE id = $5 AND worker_id = $6 AND status = 'running'",
                )
                .bind(status.as_str())
                .bind(result)
                .bind(error)
                .bind(now_ms)
                .bind(id)
                .bind(worker_id)
                .execute(&self.pool)
                .await
                .map_err(db)?;
                Ok(done.rows_affected() == 1)
            }

            async fn fail_abandoned_tasks(
                &self,
                now_ms: i64,
                max_attempts: i64,
            ) -> $crate::store::StoreResult<u64> {
                let done = sqlx::query(
                    "UPDATE tasks SET status = 'failed', finished_ms = $1, lease_expires_ms = NULL, \
                     error = 'abandoned: its worker stopped renewing the lease on every attempt' \
                     WHERE status = 'running' AND lease_expires_ms < $1 AND attempts >= $2",
                )
                .bind(now_ms)
                .bind(max_attempts)
                .execute(&self.pool)
                .await
                .map_err(db)?;
                Ok(done.rows_affected())
            }

            async fn get_task(
                &self,
                id: i64,
            ) -> $crate::store::StoreResult<$crate::store::tasks::TaskRecord> {
                let sql = format!(
                    "SELECT {} FROM tasks WHERE id = $1",
                    $crate::store::tasks::TASK_COLUMNS
                );
                let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db)?;
                match row {
                    Some(row) => task_from_row(&row),
                    None => Err($crate::store::StoreError::NotFound(format!(
                        "task {id} does not exist"
                    ))),
                }
            }

            async fn list_tasks(
                &self,
                f: &$crate::store::tasks::TaskFilter,
            ) -> $crate::store::StoreResult<$crate::store::Page<$crate::store::tasks::TaskRecord>> {
                let sql = format!(
                    "SELECT {} FROM tasks WHERE ($1 IS NULL OR status = $1) \
                     AND ($2 IS NULL OR warehouse_id = $2) AND ($3 IS NULL OR namespace = $3) \
                     AND ($4 IS NULL OR table_name = $4) AND ($5 IS NULL OR id < $5) \
                     ORDER BY id DESC LIMIT $6",
                    $crate::store::tasks::TASK_COLUMNS
                );
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(f.status.map(|s| s.as_str()))
                    .bind(f.warehouse_id.as_deref())
                    .bind(f.namespace.as_deref())
                    .bind(f.table_name.as_deref())
                    .bind(f.before_id)
                    .bind(f.limit as i64 + 1)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db)?;
                let items = rows
                    .iter()
                    .map(task_from_row)
                    .collect::<$crate::store::StoreResult<Vec<_>>>()?;
                Ok($crate::store::Page::from_overfetched_by(items, f.limit, |t| t.id.to_string()))
            }
        }

        fn schedule_from_row<R: sqlx::Row>(
            row: &R,
        ) -> $crate::store::StoreResult<$crate::store::tasks::ScheduleRecord>
        where
            for<'c> &'c str: sqlx::ColumnIndex<R>,
            for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
            for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
        {
            Ok($crate::store::tasks::ScheduleRecord {
                warehouse_id: row.try_get("warehouse_id").map_err(db)?,
                namespace: row.try_get("namespace").map_err(db)?,
                table_name: row.try_get("table_name").map_err(db)?,
                action: row.try_get("action").map_err(db)?,
                table_uuid: row.try_get("table_uuid").map_err(db)?,
                interval_ms: row.try_get("interval_ms").map_err(db)?,
                options: row.try_get("options").map_err(db)?,
                next_run_ms: row.try_get("next_run_ms").map_err(db)?,
            })
        }

        fn task_from_row<R: sqlx::Row>(
            row: &R,
        ) -> $crate::store::StoreResult<$crate::store::tasks::TaskRecord>
        where
            for<'c> &'c str: sqlx::ColumnIndex<R>,
            for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
            for<'r> Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
            for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
            for<'r> Option<i64>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
        {
            let status: String = row.try_get("status").map_err(db)?;
            Ok($crate::store::tasks::TaskRecord {
                id: row.try_get("id").map_err(db)?,
                slot_key: row.try_get("slot_key").map_err(db)?,
                warehouse_id: row.try_get("warehouse_id").map_err(db)?,
                warehouse: row.try_get("warehouse").map_err(db)?,
                namespace: row.try_get("namespace").map_err(db)?,
                table_name: row.try_get("table_name").map_err(db)?,
                table_uuid: row.try_get("table_uuid").map_err(db)?,
                action: row.try_get("action").map_err(db)?,
                options: row.try_get("options").map_err(db)?,
                status: $crate::store::tasks::TaskStatus::parse(&status).ok_or_else(|| {
                    $crate::store::StoreError::Database(format!("unknown task status '{status}'"))
                })?,
                attempts: row.try_get("attempts").map_err(db)?,
                created_ms: row.try_get("created_ms").map_err(db)?,
                started_ms: row.try_get("started_ms").map_err(db)?,
                finished_ms: row.try_get("finished_ms").map_err(db)?,
                worker_id: row.try_get("worker_id").map_err(db)?,
                lease_expires_ms: row.try_get("lease_expires_ms").map_err(db)?,
                result: row.try_get("result").map_err(db)?,
                error: row.try_get("error").map_err(db)?,
            })
        }
    };
}

pub(crate) use impl_task_store;
