-- Floe catalog schema (SQLite). The table metadata itself lives only in metadata files; the
-- catalog keeps pointers to them, so the database can never hold a second, drifting copy.

CREATE TABLE warehouses (
    id          TEXT PRIMARY KEY NOT NULL,           -- uuid
    name        TEXT NOT NULL UNIQUE,
    storage     TEXT NOT NULL,                       -- JSON StorageConfig
    created_ms  INTEGER NOT NULL
);

CREATE TABLE namespaces (
    warehouse_id TEXT NOT NULL REFERENCES warehouses(id),
    name         TEXT NOT NULL,                      -- levels joined by U+001F
    parent       TEXT,                               -- parent's name, NULL at the top level
    properties   TEXT NOT NULL DEFAULT '{}',         -- JSON object of strings
    created_ms   INTEGER NOT NULL,
    PRIMARY KEY (warehouse_id, name)
);
CREATE INDEX namespaces_parent ON namespaces (warehouse_id, parent, name);

CREATE TABLE tables (
    warehouse_id               TEXT NOT NULL,
    namespace                  TEXT NOT NULL,
    name                       TEXT NOT NULL,
    table_uuid                 TEXT NOT NULL,
    metadata_location          TEXT NOT NULL,
    previous_metadata_location TEXT,
    created_ms                 INTEGER NOT NULL,
    updated_ms                 INTEGER NOT NULL,
    PRIMARY KEY (warehouse_id, namespace, name),
    FOREIGN KEY (warehouse_id, namespace) REFERENCES namespaces (warehouse_id, name)
);

CREATE TABLE metrics_reports (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    warehouse_id TEXT NOT NULL,
    namespace    TEXT NOT NULL,
    table_name   TEXT NOT NULL,
    report_type  TEXT NOT NULL,
    report       TEXT NOT NULL,                      -- the report as sent (JSON)
    received_ms  INTEGER NOT NULL
);
CREATE INDEX metrics_reports_table ON metrics_reports (warehouse_id, namespace, table_name, id);
