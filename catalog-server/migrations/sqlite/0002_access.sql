-- Access control (SQLite): principals, roles, grants, token signing keys and the audit log.
-- The same logical schema as migrations/postgres/0002_access.sql; ids are UUID strings.

CREATE TABLE principals (
    id          TEXT PRIMARY KEY NOT NULL,
    name        TEXT NOT NULL UNIQUE,
    client_id   TEXT NOT NULL UNIQUE,
    secret_hash TEXT NOT NULL,                       -- argon2id PHC string, never the secret
    is_root     BOOLEAN NOT NULL DEFAULT FALSE,
    created_ms  INTEGER NOT NULL
);

CREATE TABLE roles (
    id         TEXT PRIMARY KEY NOT NULL,
    name       TEXT NOT NULL UNIQUE,
    created_ms INTEGER NOT NULL
);

CREATE TABLE role_members (
    role_id      TEXT NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
    principal_id TEXT NOT NULL REFERENCES principals (id) ON DELETE CASCADE,
    PRIMARY KEY (role_id, principal_id)
);
CREATE INDEX role_members_principal ON role_members (principal_id);

-- One row per (securable, grantee, privilege). A securable is a warehouse (key ''), a
-- namespace (key: its levels joined by U+001F) or a table (key: its table uuid, so a renamed
-- table keeps its grants).
CREATE TABLE grants (
    warehouse_id   TEXT NOT NULL,
    securable_kind TEXT NOT NULL,                    -- warehouse | namespace | table
    securable_key  TEXT NOT NULL,
    grantee_kind   TEXT NOT NULL,                    -- principal | role
    grantee_id     TEXT NOT NULL,
    privilege      TEXT NOT NULL,
    PRIMARY KEY (warehouse_id, securable_kind, securable_key, grantee_id, privilege)
);
CREATE INDEX grants_grantee ON grants (grantee_id, warehouse_id);

-- HMAC keys for the tokens the catalog issues; the newest unretired one signs.
CREATE TABLE signing_keys (
    kid        TEXT PRIMARY KEY NOT NULL,
    secret     TEXT NOT NULL,                        -- hex
    created_ms INTEGER NOT NULL,
    retired_ms INTEGER
);

CREATE TABLE audit_log (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    time_ms    INTEGER NOT NULL,
    principal  TEXT NOT NULL,
    request_id TEXT NOT NULL,
    action     TEXT NOT NULL,
    target     TEXT NOT NULL,
    detail     TEXT NOT NULL                         -- JSON object
);
CREATE INDEX audit_log_principal ON audit_log (principal, id);
CREATE INDEX audit_log_time ON audit_log (time_ms);
