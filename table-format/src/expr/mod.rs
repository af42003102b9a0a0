//! Expressions over table rows: predicates, binding, and projection through partition
//! transforms.
//!
//! - [`predicate`]: [`PredicateOperator`], [`Reference`] (a column by name, with builder
//!   methods), the unbound [`Predicate`] tree and [`Predicate::bind`], which resolves it against
//!   a schema into a [`BoundPredicate`] over [`BoundReference`]s.
//! - Projection (private module `projection`): [`Transform::project`] (inclusive) and
//!   [`Transform::project_strict`], turning a bound predicate on a source column into a
//!   predicate on a partition field (spec "Scan Planning").
//! - Literal conversion (private module `literal`): lossless conversion of literals to a
//!   column's type, and set de-duplication.
//!
//! [`Transform::project`]: crate::spec::Transform::project
//! [`Transform::project_strict`]: crate::spec::Transform::project_strict

mod literal;
pub mod predicate;
mod projection;

pub use predicate::{BoundPredicate, BoundReference, Predicate, PredicateOperator, Reference};
