//! Catalog server integration tests: one binary, one module per area.
//!
//! - `common`: a throwaway server plus small HTTP helpers.
//! - `rest_api`: the REST endpoints over raw HTTP (status codes, the error model,
//!   pagination, ETags, purge, rename, register, transactions, races, bad input).
//! - `rest_client`: table-format's `RestCatalog` against the server (Floe's own operations).
//! - `interop`: pyiceberg and DuckDB scenarios (`tests/interop/rest_scenarios.py`).
//! - `rebase`: stale pure appends rebased onto the branch's new head instead of 409.

mod common;
mod interop;
mod rebase;
mod rest_api;
mod rest_client;
