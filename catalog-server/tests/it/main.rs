//! Catalog server integration tests: one binary, one module per area.
//!
//! - `common`: a throwaway server plus small HTTP helpers.
//! - `rest_api`: the REST endpoints over raw HTTP (status codes, the error model,
//!   pagination, ETags, purge, rename, register, transactions, races, bad input).
//! - `rest_client`: table-format's `RestCatalog` against the server (Floe's own operations).
//! - `interop`: pyiceberg and DuckDB scenarios (`tests/interop/rest_scenarios.py`).
//! - `store`: the `CatalogStore` contract, called directly (conformance of both stores).
//!
//! Every test runs on the database backend `FLOE_TEST_DATABASE` selects (SQLite by default,
//! or a PostgreSQL admin URL: each test then gets its own fresh database); see
//! `catalog_server::testing`.

mod common;
mod interop;
mod rest_api;
mod rest_client;
mod store;
