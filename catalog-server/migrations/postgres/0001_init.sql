-- Floe catalog schema (PostgreSQL): the same logical schema as migrations/sqlite, with
-- PostgreSQL's own types. The table metadata itself lives only in metadata files; the catalog
-- keeps pointers to them, so the database can never hold a second, drifting copy.
--
-- JSONB holds what the service validates (namespace properties, storage configuration: no
-- U+0000, which jsonb cannot store); client reports stay JSON text.
--
-- Names use the "C" collation: listings page by `name > $after ORDER BY name`, and byte order
-- makes that independent of the server's locale (and equal to SQLite's order).

CREATE TABLE warehouses (
    id          UUID PRIMARY KEY,
    name        TEXT COLLATE "C" NOT NULL UNIQUE,
    storage     JSONB NOT NULL,                      -- StorageConfig
    created_ms  BIGINT NOT NULL
);

CREATE TABLE namespaces (
    warehouse_id UUID NOT NULL REFERENCES warehouses (id),
    name         TEXT COLLATE "C" NOT NULL,          -- levels joined by U+001F
    parent       TEXT COLLATE "C",                   -- parent's name, NULL at the top level
    properties   JSONB NOT NULL DEFAULT '{}'::jsonb, -- object of strings
    created_ms   BIGINT NOT NULL,
    PRIMARY KEY (warehouse_id, name),
    -- A backstop for the explicit parent check in the store (MATCH SIMPLE: NULL parent = top).
    FOREIGN KEY (warehouse_id, parent) REFERENCES namespaces (warehouse_id, name)
);
CREATE INDEX namespaces_parent ON namespaces (warehouse_id, parent, name);

CREATE TABLE tables (
    warehouse_id               UUID NOT NULL,
    namespace                  TEXT COLLATE "C" NOT NULL,
    name                       TEXT COLLATE "C" NOT NULL,
    table_uuid                 UUID NOT NULL,
    metadata_location          TEXT NOT NULL,
    previous_metadata_location TEXT,
    created_ms                 BIGINT NOT NULL,
    updated_ms                 BIGINT NOT NULL,
    PRIMARY KEY (warehouse_id, namespace, name),
    FOREIGN KEY (warehouse_id, namespace) REFERENCES namespaces (warehouse_id, name)
);

CREATE TABLE metrics_reports (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    warehouse_id UUID NOT NULL,
    namespace    TEXT COLLATE "C" NOT NULL,
    table_name   TEXT COLLATE "C" NOT NULL,
    report_type  TEXT NOT NULL,
    report       TEXT NOT NULL,                      -- the report as sent (JSON text: a
                                                     -- client's U+0000 stays escaped)
    received_ms  BIGINT NOT NULL
);
CREATE INDEX metrics_reports_table ON metrics_reports (warehouse_id, namespace, table_name, id);
