//! Integration tests of the table-format crate, in one binary to keep link time low.
//!
//! - `golden`: metadata written by pyiceberg parses and re-serializes without loss.

mod common;
mod golden;
mod invalid_metadata;
mod replay;
