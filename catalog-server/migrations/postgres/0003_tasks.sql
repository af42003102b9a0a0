-- Automatic maintenance (PostgreSQL): schedules that table properties set, and the task queue the
-- servers' maintenance workers take turns on. The same logical schema as
-- migrations/sqlite/0003_tasks.sql.

-- One row per table and scheduled action, kept up to date by the commit path from the
-- table's `floe.maintenance.<action>.*` properties (removed when they are, or the table is
-- dropped).
CREATE TABLE maintenance_schedules (
    warehouse_id TEXT NOT NULL,
    namespace    TEXT NOT NULL,                      -- levels joined by U+001F
    table_name   TEXT NOT NULL,
    action       TEXT NOT NULL,                      -- expire-snapshots
    table_uuid   TEXT NOT NULL,
    interval_ms  BIGINT NOT NULL,
    options      TEXT NOT NULL,                      -- JSON object: the schedule's options
    next_run_ms  BIGINT NOT NULL,                   -- the next slot's due time
    updated_ms   BIGINT NOT NULL,
    PRIMARY KEY (warehouse_id, namespace, table_name, action)
);
CREATE INDEX maintenance_schedules_due ON maintenance_schedules (next_run_ms);

-- The queue. `slot_key` names the schedule slot a task was made for: the unique index is
-- what makes enqueueing idempotent across replicas. A worker claims a queued task (or a
-- running one whose lease expired) by setting `worker_id` and `lease_expires_ms`.
CREATE TABLE tasks (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    slot_key         TEXT NOT NULL UNIQUE,
    warehouse_id     TEXT NOT NULL,
    warehouse        TEXT NOT NULL,                  -- the warehouse's name
    namespace        TEXT NOT NULL,
    table_name       TEXT NOT NULL,
    table_uuid       TEXT NOT NULL,
    action           TEXT NOT NULL,
    options          TEXT NOT NULL,                  -- JSON object: the action's options
    status           TEXT NOT NULL,                  -- queued | running | succeeded | failed
    attempts         BIGINT NOT NULL DEFAULT 0,
    created_ms       BIGINT NOT NULL,
    started_ms       BIGINT,
    finished_ms      BIGINT,
    worker_id        TEXT,
    lease_expires_ms BIGINT,
    result           TEXT,                           -- JSON report, when succeeded
    error            TEXT                            -- why it failed
);
CREATE INDEX tasks_status ON tasks (status, id);
CREATE INDEX tasks_table ON tasks (warehouse_id, namespace, table_name, id);
