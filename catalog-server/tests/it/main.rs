//! Catalog server integration tests: one binary, one module per area.
//!
//! - `common`: a throwaway server plus small HTTP helpers.
//! - `rest_api`: the REST endpoints over raw HTTP (status codes, the error model,
//!   pagination, ETags, purge, rename, register, transactions, races, bad input).

mod common;
mod rest_api;
