//! Expressions over table rows: predicates, binding, projection through partition
//! transforms, and the evaluators that decide predicates for rows, files, partitions and
//! manifests.
//!
//! - [`predicate`]: [`PredicateOperator`], [`Reference`] (a column by name, with builder
//!   methods), the unbound [`Predicate`] tree and [`Predicate::bind`], which resolves it against
//!   a schema into a [`BoundPredicate`] over [`BoundReference`]s.
//! - [`json`]: [`predicate_from_json`], the REST spec's JSON expression form.
//! - Projection (private module `projection`): [`Transform::project`] (inclusive) and
//!   [`Transform::project_strict`], turning a bound predicate on a source column into a
//!   predicate on a partition field (spec "Scan Planning").
//! - Literal conversion (private module `literal`): lossless conversion of literals to a
//!   column's type, and set de-duplication.
//! - Row semantics (private module `value_eval`): what a bound predicate means for one row
//!   (SQL nulls, IEEE NaN, the spec's value order); every evaluator below agrees with it.
//! - [`eval_record_batch`], [`datum_to_arrow`]: evaluate a bound predicate on an Arrow
//!   record batch, matching columns by field id.
//! - [`InclusiveMetricsEvaluator`] (may a data file hold a matching row) and
//!   [`StrictMetricsEvaluator`] (do all its rows match), from column metrics.
//! - [`ManifestEvaluator`]: may a manifest hold matching rows, from its partition summaries.
//! - [`PartitionEvaluator`]: a row filter projected through a partition spec and evaluated
//!   on partition tuples, inclusively (prune files) or strictly (all rows match);
//!   [`ResidualEvaluator`]: what remains of a row filter for a partition tuple.
//!
//! [`Transform::project`]: crate::spec::Transform::project
//! [`Transform::project_strict`]: crate::spec::Transform::project_strict

mod arrow_eval;
pub mod json;
mod literal;
mod manifest_eval;
mod metrics_eval;
mod partition_eval;
pub mod predicate;
mod projection;
mod value_eval;

#[cfg(test)]
mod soundness_tests;

pub use arrow_eval::{datum_to_arrow, eval_record_batch};
pub use json::predicate_from_json;
pub use manifest_eval::ManifestEvaluator;
pub use metrics_eval::{InclusiveMetricsEvaluator, StrictMetricsEvaluator};
pub use partition_eval::{PartitionEvaluator, ResidualEvaluator};
pub use predicate::{BoundPredicate, BoundReference, Predicate, PredicateOperator, Reference};
