//! Integration tests of the table-format crate, in one binary to keep link time low.
//!
//! - `commit_language`: every requirement and update, its JSON, and each way it can fail.
//! - `golden`: metadata written by pyiceberg parses and re-serializes without loss.
//! - `parquet_writer`: Parquet data files, their metrics (checked against pyiceberg) and the
//!   partitioned writer.
//! - `maintenance_rewrite`: compaction (binpack, sort, zorder) and manifest rewriting.
//! - `partition_evolution`: spec evolution and scans across specs.
//! - `maintenance_expire`: snapshot expiry and orphan-file removal (retention rules, file
//!   clean-up, races, random histories, pyiceberg reading what is left).
//! - `sort_order`: replacing the default sort order and writers sorting by it.
//! - `refs`: branches, tags, rollback, fast-forward and commits to branches.

mod catalog;
mod commit_language;
mod common;
mod enforcement;
mod failing_store;
mod golden;
mod incremental;
mod interop;
mod invalid_metadata;
mod maintenance_expire;
mod maintenance_rewrite;
mod operations;
mod parquet_writer;
mod partition_evolution;
mod reader;
mod refs;
mod replay;
mod s3;
mod schema_evolution;
mod send_check;
mod sort_order;
mod upsert;
