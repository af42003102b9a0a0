//! Catalog server integration tests: one binary, one module per area.
//!
//! - `common`: a throwaway server plus small HTTP helpers.
//! - `rest_api`: the REST endpoints over raw HTTP (status codes, the error model,
//!   pagination, ETags, purge, rename, register, transactions, races, bad input).
//! - `rest_client`: table-format's `RestCatalog` against the server (Floe's own operations).
//! - `duckdb_floe`: DuckDB updates and deletes through the server; Floe reads the result.
//! - `interop`: pyiceberg and DuckDB scenarios (`tests/interop/rest_scenarios.py`).

mod common;
mod duckdb_floe;
mod interop;
mod rest_api;
mod rest_client;
