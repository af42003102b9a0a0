-- Automatic maintenance (SQLite): schedules that table properties set, and the task queue the
-- servers' maintenance workers take turns on. The same logical schema as
-- migrations/postgres/0003_tasks.sql.

-- One row per table and scheduled action, kept up to date by the commit path from the
-- table's `floe.maintenance.<action>.*` properties (removed when they are, or the table is
-- dropped).
CREATE TABLE maintenance_schedules (
    warehouse_id TEXT NOT NULL,
    namespace    TEXT NOT NULL,                      -- levels joined by U+001F
    table_name   TEXT NOT NULL,
    action       TEXT NOT NULL,                      -- expire-snapshots
    table_uuid   TEXT NOT NULL,
    interval_ms  INTEGER NOT NULL,
    options      TEXT NOT NULL,                      -- JSON object: the schedule's options
    next_run_ms  INTEGER NOT NULL,                   -- the next slot's due time
    updated_ms   INTEGER NOT NULL,
    PRIMARY KEY (warehouse_id, namespace, table_name, action)
);
CREATE INDEX maintenance_schedules_due ON maintenance_schedules (next_run_ms);

-- The queue. `slot_key` names the schedule slot a task was made for: the unique index is
-- what makes enqueueing idempotent across replicas. A worker claims a queued task (or a
-- running one whose lease expired) by setting `worker_id` and `lease_expires_ms`.
CREATE TABLE tasks (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    slot_key         TEXT NOT NULL UNIQUE,
    warehouse_id     TEXT NOT NULL,
    warehouse        TEXT NOT NULL,                  -- the warehouse's name
    namespace        TEXT NOT NULL,
    table_name       TEXT NOT NULL,
    table_uuid       TEXT NOT NULL,
    action           TEXT NOT NULL,
    options          TEXT NOT NULL,                  -- JSON object: the action's options
    status           TEXT NOT NULL,                  -- queued | running | succeeded | failed
    attempts         INTEGER NOT NULL DEFAULT 0,
    created_ms       INTEGER NOT NULL,
    started_ms       INTEGER,
    finished_ms      INTEGER,
    worker_id        TEXT,
    lease_expires_ms INTEGER,
    result           TEXT,                           -- JSON report, when succeeded
    error            TEXT                            -- why it failed
);
CREATE INDEX tasks_status ON tasks (status, id);
CREATE INDEX tasks_table ON tasks (warehouse_id, namespace, table_name, id);
