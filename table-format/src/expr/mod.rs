//! Predicates over table columns.
