//! Catalog server integration tests: one binary, one module per area.
//!
//! - `common`: a throwaway server plus small HTTP helpers.
//! - `auth`: tokens, the authorization matrix, grants, audit, secrets, OIDC (`--auth oauth2`).
//! - `rest_api`: the REST endpoints over raw HTTP (status codes, the error model,
//!   pagination, ETags, purge, rename, register, transactions, races, bad input).
//! - `rest_client`: table-format's `RestCatalog` against the server (Floe's own operations).
//! - `duckdb_floe`: DuckDB updates and deletes through the server; Floe reads the result.
//! - `inspect`: metadata tables compared with pyiceberg's `table.inspect`, paging, health,
//!   errors (`tests/interop/inspect_tables.py`).
//! - `interop`: pyiceberg and DuckDB scenarios (`tests/interop/rest_scenarios.py`).
//! - `s3`: a warehouse on S3 (moto's server) end to end with pyiceberg and DuckDB
//!   (`tests/interop/s3_scenario.py`).
//! - `deploy`: the Docker Compose catalog configuration and the README's compose snippet,
//!   run against moto (no Docker engine needed).
//! - `maintenance`: the `maintenance/{action}` endpoints on real data (reports, files on
//!   disk, pyiceberg reads), errors, MANAGE, the task queue's claims and leases, scheduled
//!   expiry, and two replicas running each scheduled task once (PostgreSQL).
//! - `rebase`: stale pure appends rebased onto the branch's new head instead of 409.
//! - `replicas`: two servers on one PostgreSQL database and data directory (always PostgreSQL).
//! - `crash`: the binary killed at each crash point of a commit (feature `fault-injection`,
//!   on through this crate's dev-dependency on itself), restarted, read back by pyiceberg.
//! - `store`: the `CatalogStore` contract, called directly (conformance of both stores).
//!
//! Every test runs on the database backend `FLOE_TEST_DATABASE` selects (SQLite by default,
//! or a PostgreSQL admin URL: each test then gets its own fresh database); see
//! `catalog_server::testing`.

mod auth;
mod common;
mod crash;
mod deploy;
mod duckdb_floe;
mod inspect;
mod interop;
mod maintenance;
mod rebase;
mod replicas;
mod rest_api;
mod rest_client;
mod s3;
mod store;
