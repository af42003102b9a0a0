//! Row filters as partition filters: projection of a whole filter through a partition spec,
//! evaluation on partition tuples, and residuals.
//!
//! - [`PartitionLayout`] (crate-internal): a spec's partition fields under a schema, the
//!   partition struct as a schema to bind against, and whole-filter projection following the
//!   reference `Projections`: a leaf projects through every partition field of its column,
//!   inclusive projections combined with `and`, strict ones with `or`.
//! - [`PartitionEvaluator`]: the reference `Evaluator` over partition tuples. Built
//!   [`inclusive`](PartitionEvaluator::inclusive)ly it answers "may this partition hold a
//!   matching row" (prune files by tuple); built [`strict`](PartitionEvaluator::strict)ly,
//!   "do all rows of this partition match" (drop files wholesale).
//! - [`ResidualEvaluator`]: the reference `ResidualEvaluator`, the part of a row filter a
//!   partition tuple does not already decide.
//!
//! Partition values follow the row semantics of the `value_eval` module: a null partition
//! value (the source was null, for every transform but void) matches only `is_null`.

use std::collections::HashMap;

use super::predicate::{BoundPredicate, Predicate};
use super::value_eval::{Cell, eval_values};
use crate::Result;
use crate::spec::{NestedField, PartitionSpec, PartitionValues, Schema, Transform, Type};

/// Which projection to build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Projection {
    /// Every matching row's partition matches (`Transform::project`).
    Inclusive,
    /// Every row of a matching partition matches (`Transform::project_strict`).
    Strict,
}

/// One partition field that can be evaluated under the schema.
#[derive(Debug, Clone)]
struct LayoutField {
    source_id: i32,
    name: String,
    transform: Transform,
}

/// A partition spec's fields as seen under one table schema.
#[derive(Debug, Clone)]
pub(crate) struct PartitionLayout {
    fields: Vec<LayoutField>,
    /// The partition struct (usable fields only) as a schema, for binding projections.
    partition_schema: Schema,
    /// Partition field id -> position in the spec (= in tuples and manifest summaries).
    positions: HashMap<i32, usize>,
}

impl PartitionLayout {
    /// The layout of `spec` under `schema`. Fields whose source column is not in the schema
    /// (a dropped column under a void transform) or whose transform is unknown are left out:
    /// no filter can be projected onto them.
    pub(crate) fn new(spec: &PartitionSpec, schema: &Schema) -> Result<Self> {
        let mut fields = Vec::new();
        let mut struct_fields = Vec::new();
        let mut positions = HashMap::new();
        for (pos, f) in spec.fields().iter().enumerate() {
            let Some(source) = schema.primitive_type_by_id(*f.source_id) else {
                continue;
            };
            let Ok(result) = f.transform.result_type(source) else {
                continue;
            };
            positions.insert(f.field_id, pos);
            struct_fields.push(NestedField::optional(f.field_id, f.name.clone(), result));
            fields.push(LayoutField {
                source_id: *f.source_id,
                name: f.name.clone(),
                transform: f.transform.clone(),
            });
        }
        let partition_schema = Schema::builder()
            .with_fields(struct_fields)
            .build()
            .map_err(|e| {
                e.context(format!(
                    "cannot evaluate filters on partition spec {}",
                    spec.spec_id()
                ))
            })?;
        Ok(Self {
            fields,
            partition_schema,
            positions,
        })
    }

    /// The position in the spec of partition field `field_id`.
    pub(crate) fn position(&self, field_id: i32) -> Option<usize> {
        self.positions.get(&field_id).copied()
    }

    /// Project a row filter onto the partition struct and bind it there.
    pub(crate) fn project(
        &self,
        filter: &BoundPredicate,
        mode: Projection,
    ) -> Result<BoundPredicate> {
        self.project_tree(filter, mode)?
            .bind(&self.partition_schema, true)
    }

    fn project_tree(&self, filter: &BoundPredicate, mode: Projection) -> Result<Predicate> {
        Ok(match filter {
            BoundPredicate::AlwaysTrue => Predicate::AlwaysTrue,
            BoundPredicate::AlwaysFalse => Predicate::AlwaysFalse,
            BoundPredicate::And(a, b) => {
                self.project_tree(a, mode)?.and(self.project_tree(b, mode)?)
            }
            BoundPredicate::Or(a, b) => self.project_tree(a, mode)?.or(self.project_tree(b, mode)?),
            leaf => {
                let mut out = match mode {
                    Projection::Inclusive => Predicate::AlwaysTrue,
                    Projection::Strict => Predicate::AlwaysFalse,
                };
                for field in self.fields_of(leaf) {
                    if let Some(p) = project_leaf(field, leaf, mode)? {
                        out = match mode {
                            Projection::Inclusive => out.and(p),
                            Projection::Strict => out.or(p),
                        };
                    }
                }
                out
            }
        })
    }

    /// For each partition field of a leaf's column: its strict and its inclusive projection,
    /// bound to the partition struct.
    fn leaf_projections(&self, leaf: &BoundPredicate) -> Result<Vec<LeafProjections>> {
        let mut out = Vec::new();
        for field in self.fields_of(leaf) {
            let bind = |p: Option<Predicate>| -> Result<Option<BoundPredicate>> {
                p.map(|p| p.bind(&self.partition_schema, true)).transpose()
            };
            out.push(LeafProjections {
                strict: bind(project_leaf(field, leaf, Projection::Strict)?)?,
                inclusive: bind(project_leaf(field, leaf, Projection::Inclusive)?)?,
            });
        }
        Ok(out)
    }

    fn fields_of<'a>(&'a self, leaf: &BoundPredicate) -> impl Iterator<Item = &'a LayoutField> {
        let source = leaf.term().map(|t| t.field_id());
        self.fields
            .iter()
            .filter(move |f| Some(f.source_id) == source)
    }

    /// Evaluate a predicate bound to the partition struct on a partition tuple.
    pub(crate) fn eval_tuple(
        &self,
        pred: &BoundPredicate,
        partition: &PartitionValues,
    ) -> Option<bool> {
        eval_values(pred, &mut |field_id| match self
            .position(field_id)
            .and_then(|p| partition.get(p))
        {
            Some(v) => Cell::Value(v.as_ref()),
            None => Cell::Unknown,
        })
    }
}

fn project_leaf(
    field: &LayoutField,
    leaf: &BoundPredicate,
    mode: Projection,
) -> Result<Option<Predicate>> {
    let projected = match mode {
        Projection::Inclusive => field.transform.project(&field.name, leaf),
        Projection::Strict => field.transform.project_strict(&field.name, leaf),
    };
    projected.map_err(|e| e.context(format!("partition field '{}'", field.name)))
}

/// A leaf's projections through one partition field.
#[derive(Debug, Clone)]
struct LeafProjections {
    strict: Option<BoundPredicate>,
    inclusive: Option<BoundPredicate>,
}

/// Evaluates a row filter on partition tuples of one partition spec (the reference
/// `Evaluator` applied to a projected filter).
///
/// `eval` never fails: a tuple value that is missing or of a type the filter cannot compare
/// gives the evaluator's safe answer (true for inclusive, false for strict).
#[derive(Debug, Clone)]
pub struct PartitionEvaluator {
    layout: PartitionLayout,
    partition_filter: BoundPredicate,
    mode: Projection,
}

impl PartitionEvaluator {
    /// An evaluator answering "may a file with this partition tuple hold rows matching
    /// `row_filter`" (inclusive projection). `row_filter` is bound to `schema`.
    pub fn inclusive(
        row_filter: &BoundPredicate,
        spec: &PartitionSpec,
        schema: &Schema,
    ) -> Result<Self> {
        Self::new(row_filter, spec, schema, Projection::Inclusive)
    }

    /// An evaluator answering "does every row of a file with this partition tuple match
    /// `row_filter`" (strict projection), so the file can be deleted without reading it.
    pub fn strict(
        row_filter: &BoundPredicate,
        spec: &PartitionSpec,
        schema: &Schema,
    ) -> Result<Self> {
        Self::new(row_filter, spec, schema, Projection::Strict)
    }

    fn new(
        row_filter: &BoundPredicate,
        spec: &PartitionSpec,
        schema: &Schema,
        mode: Projection,
    ) -> Result<Self> {
        let layout = PartitionLayout::new(spec, schema)?;
        let partition_filter = layout.project(row_filter, mode)?;
        Ok(Self {
            layout,
            partition_filter,
            mode,
        })
    }

    /// The projected filter, bound to the partition struct (field ids of partition fields).
    pub fn partition_filter(&self) -> &BoundPredicate {
        &self.partition_filter
    }

    /// Evaluate on a partition tuple (one value per spec field, in spec order).
    pub fn eval(&self, partition: &PartitionValues) -> bool {
        let safe = self.mode == Projection::Inclusive;
        self.layout
            .eval_tuple(&self.partition_filter, partition)
            .unwrap_or(safe)
    }
}

/// Finds the residual of a row filter for partition tuples: what remains to be checked on the
/// rows of a partition (reference `ResidualEvaluator`).
///
/// For each leaf of the filter and each partition field of its column: if the strict
/// projection holds for the tuple, the leaf is true for every row; if the inclusive projection
/// fails, it is false for every row; otherwise the leaf stays. The leaves are then recombined,
/// folding constants, so the residual is `AlwaysTrue` when the partition alone guarantees
/// a match and `AlwaysFalse` when no row can match.
#[derive(Debug, Clone)]
pub struct ResidualEvaluator {
    layout: Option<PartitionLayout>,
    plan: Plan,
}

#[derive(Debug, Clone)]
enum Plan {
    Const(BoundPredicate),
    And(Box<Plan>, Box<Plan>),
    Or(Box<Plan>, Box<Plan>),
    Leaf(BoundPredicate, Vec<LeafProjections>),
}

impl ResidualEvaluator {
    /// Residuals of `row_filter` (bound to `schema`) for tuples of `spec`. Projections are
    /// computed here once, so [`residual_for`](Self::residual_for) only evaluates.
    pub fn new(row_filter: &BoundPredicate, spec: &PartitionSpec, schema: &Schema) -> Result<Self> {
        if spec.fields().is_empty() {
            return Ok(Self::unpartitioned(row_filter.clone()));
        }
        let layout = PartitionLayout::new(spec, schema)?;
        let plan = plan(&layout, row_filter)?;
        Ok(Self {
            layout: Some(layout),
            plan,
        })
    }

    /// The residual evaluator of an unpartitioned table: the residual is the whole filter.
    pub fn unpartitioned(row_filter: BoundPredicate) -> Self {
        Self {
            layout: None,
            plan: Plan::Const(row_filter),
        }
    }

    /// The part of the row filter that rows with partition tuple `partition` must still be
    /// checked against.
    pub fn residual_for(&self, partition: &PartitionValues) -> BoundPredicate {
        residual(&self.plan, self.layout.as_ref(), partition)
    }
}

fn plan(layout: &PartitionLayout, filter: &BoundPredicate) -> Result<Plan> {
    Ok(match filter {
        BoundPredicate::AlwaysTrue | BoundPredicate::AlwaysFalse => Plan::Const(filter.clone()),
        BoundPredicate::And(a, b) => {
            Plan::And(Box::new(plan(layout, a)?), Box::new(plan(layout, b)?))
        }
        BoundPredicate::Or(a, b) => {
            Plan::Or(Box::new(plan(layout, a)?), Box::new(plan(layout, b)?))
        }
        leaf => {
            let projections = layout.leaf_projections(leaf)?;
            if projections.is_empty() {
                Plan::Const(leaf.clone())
            } else {
                Plan::Leaf(leaf.clone(), projections)
            }
        }
    })
}

fn residual(
    plan: &Plan,
    layout: Option<&PartitionLayout>,
    partition: &PartitionValues,
) -> BoundPredicate {
    match plan {
        Plan::Const(p) => p.clone(),
        Plan::And(a, b) => {
            let left = residual(a, layout, partition);
            if left == BoundPredicate::AlwaysFalse {
                return left;
            }
            left.and(residual(b, layout, partition))
        }
        Plan::Or(a, b) => {
            let left = residual(a, layout, partition);
            if left == BoundPredicate::AlwaysTrue {
                return left;
            }
            left.or(residual(b, layout, partition))
        }
        Plan::Leaf(leaf, projections) => {
            let Some(layout) = layout else {
                return leaf.clone();
            };
            for p in projections {
                let holds = |pred: &Option<BoundPredicate>| {
                    pred.as_ref()
                        .and_then(|pred| layout.eval_tuple(pred, partition))
                };
                if holds(&p.strict) == Some(true) {
                    return BoundPredicate::AlwaysTrue;
                }
                if holds(&p.inclusive) == Some(false) {
                    return BoundPredicate::AlwaysFalse;
                }
            }
            leaf.clone()
        }
    }
}

/// Whether field `id` of `schema` sits inside a list or a map (at any depth): such fields
/// have no per-row value, so neither row evaluation nor column metrics apply to them.
pub(crate) fn is_in_repeated(schema: &Schema, id: i32) -> bool {
    let mut parent = schema.parent_id(id);
    while let Some(pid) = parent {
        if schema
            .field_by_id(pid)
            .is_some_and(|f| matches!(f.field_type.as_ref(), Type::List(_) | Type::Map(_)))
        {
            return true;
        }
        parent = schema.parent_id(pid);
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expr::{PredicateOperator, Reference};
    use crate::spec::{Datum, PartitionField, PrimitiveType};

    fn schema() -> Schema {
        Schema::builder()
            .with_fields([
                NestedField::required(1, "id", PrimitiveType::Long),
                NestedField::optional(2, "data", PrimitiveType::String),
                NestedField::optional(3, "ts", PrimitiveType::Timestamp),
                NestedField::optional(4, "score", PrimitiveType::Double),
                NestedField::optional(5, "n", PrimitiveType::Int),
            ])
            .build()
            .unwrap()
    }

    fn field(source: i32, id: i32, name: &str, transform: Transform) -> PartitionField {
        PartitionField {
            source_id: source.into(),
            field_id: id,
            name: name.into(),
            transform,
        }
    }

    /// day(ts), truncate[2](data), bucket[4](id), identity(score).
    fn spec() -> PartitionSpec {
        PartitionSpec::new(
            1,
            vec![
                field(3, 1000, "ts_day", Transform::Day),
                field(2, 1001, "data_trunc", Transform::Truncate(2)),
                field(1, 1002, "id_bucket", Transform::Bucket(4)),
                field(4, 1003, "score", Transform::Identity),
            ],
        )
    }

    fn bind(p: Predicate) -> BoundPredicate {
        p.bind(&schema(), true).unwrap()
    }

    fn col(name: &str) -> Reference {
        Reference::new(name)
    }

    const DAY: i64 = 86_400_000_000;

    fn tuple(day: Option<i32>, trunc: Option<&str>, bucket: Option<i32>) -> PartitionValues {
        vec![
            day.map(Datum::Date),
            trunc.map(|s| Datum::String(s.into())),
            bucket.map(Datum::Int),
            Some(Datum::Double(1.0)),
        ]
    }

    #[test]
    fn inclusive_projection_prunes_partitions_that_cannot_match() {
        let filter = bind(
            col("ts")
                .greater_than_or_eq(Datum::Timestamp(10 * DAY))
                .and(col("data").starts_with("abc")),
        );
        let eval = PartitionEvaluator::inclusive(&filter, &spec(), &schema()).unwrap();
        assert!(eval.eval(&tuple(Some(10), Some("ab"), Some(0))));
        assert!(eval.eval(&tuple(Some(11), Some("ab"), None)));
        assert!(!eval.eval(&tuple(Some(9), Some("ab"), Some(0))));
        assert!(!eval.eval(&tuple(Some(10), Some("ac"), Some(0))));
        // A null partition value means null source values, which match no comparison.
        assert!(!eval.eval(&tuple(None, Some("ab"), Some(0))));
        assert!(!eval.eval(&tuple(Some(10), None, Some(0))));
        // A value the tuple does not have is unknown: keep the file.
        assert!(eval.eval(&vec![Some(Datum::Date(10))]));
    }

    #[test]
    fn bucket_equality_projects_and_inequality_does_not() {
        let s = schema();
        let eq = bind(col("id").equal_to(Datum::Long(7)));
        let eval = PartitionEvaluator::inclusive(&eq, &spec(), &s).unwrap();
        let b = Transform::Bucket(4).apply(Some(&Datum::Long(7))).unwrap();
        let Some(Datum::Int(b)) = b else { panic!() };
        assert!(eval.eval(&tuple(Some(1), Some("x"), Some(b))));
        assert!(!eval.eval(&tuple(Some(1), Some("x"), Some((b + 1) % 4))));
        let ne = bind(col("id").not_equal_to(Datum::Long(7)));
        let eval = PartitionEvaluator::inclusive(&ne, &spec(), &s).unwrap();
        assert_eq!(eval.partition_filter(), &BoundPredicate::AlwaysTrue);
        assert!(eval.eval(&tuple(Some(1), Some("x"), Some(b))));
    }

    #[test]
    fn strict_evaluation_says_when_every_row_matches() {
        let s = schema();
        let filter = bind(col("ts").less_than(Datum::Timestamp(10 * DAY)));
        let eval = PartitionEvaluator::strict(&filter, &spec(), &s).unwrap();
        assert!(eval.eval(&tuple(Some(9), None, None)));
        assert!(!eval.eval(&tuple(Some(10), None, None)));
        // Null partition: all rows have a null ts, which is not < anything.
        assert!(!eval.eval(&tuple(None, None, None)));
        // Unknown value: be safe.
        assert!(!eval.eval(&vec![]));

        let filter = bind(col("ts").is_null());
        let eval = PartitionEvaluator::strict(&filter, &spec(), &s).unwrap();
        assert!(eval.eval(&tuple(None, None, None)));
        assert!(!eval.eval(&tuple(Some(3), None, None)));

        // Strict projection of an `or` holds when either side does.
        let filter = bind(
            col("data")
                .starts_with("ab")
                .or(col("ts").greater_than(Datum::Timestamp(5 * DAY))),
        );
        let eval = PartitionEvaluator::strict(&filter, &spec(), &s).unwrap();
        assert!(eval.eval(&tuple(Some(0), Some("ab"), None)));
        assert!(eval.eval(&tuple(Some(6), Some("zz"), None)));
        assert!(!eval.eval(&tuple(Some(5), Some("zz"), None)));
    }

    #[test]
    fn several_partition_fields_on_one_column_combine() {
        let s = schema();
        let spec = PartitionSpec::new(
            2,
            vec![
                field(5, 1000, "n_trunc10", Transform::Truncate(10)),
                field(5, 1001, "n_bucket", Transform::Bucket(8)),
            ],
        );
        let filter = bind(col("n").equal_to(Datum::Int(15)));
        let eval = PartitionEvaluator::inclusive(&filter, &spec, &s).unwrap();
        let b = match Transform::Bucket(8).apply(Some(&Datum::Int(15))).unwrap() {
            Some(Datum::Int(b)) => b,
            other => panic!("{other:?}"),
        };
        assert!(eval.eval(&vec![Some(Datum::Int(10)), Some(Datum::Int(b))]));
        assert!(!eval.eval(&vec![Some(Datum::Int(10)), Some(Datum::Int((b + 1) % 8))]));
        assert!(!eval.eval(&vec![Some(Datum::Int(20)), Some(Datum::Int(b))]));

        let filter = bind(col("n").not_equal_to(Datum::Int(15)));
        let eval = PartitionEvaluator::strict(&filter, &spec, &s).unwrap();
        assert!(eval.eval(&vec![Some(Datum::Int(20)), Some(Datum::Int(b))]));
        assert!(eval.eval(&vec![Some(Datum::Int(10)), Some(Datum::Int((b + 1) % 8))]));
        assert!(!eval.eval(&vec![Some(Datum::Int(10)), Some(Datum::Int(b))]));
    }

    #[test]
    fn fields_on_missing_columns_and_unknown_transforms_are_skipped() {
        let s = schema();
        let spec = PartitionSpec::new(
            3,
            vec![
                field(99, 1000, "gone", Transform::Void),
                field(5, 1001, "n_z", "zorder".parse().unwrap()),
                field(5, 1002, "n", Transform::Identity),
            ],
        );
        let filter = bind(col("n").equal_to(Datum::Int(1)));
        let eval = PartitionEvaluator::inclusive(&filter, &spec, &s).unwrap();
        assert!(eval.eval(&vec![None, None, Some(Datum::Int(1))]));
        assert!(!eval.eval(&vec![None, None, Some(Datum::Int(2))]));
    }

    #[test]
    fn residuals_follow_the_reference_day_example() {
        // ts >= a and ts <= b, partitioned by day(ts).
        let s = schema();
        let a = 10 * DAY + 5;
        let b = 20 * DAY + 7;
        let lower = bind(col("ts").greater_than_or_eq(Datum::Timestamp(a)));
        let upper = bind(col("ts").less_than_or_eq(Datum::Timestamp(b)));
        let filter = lower.clone().and(upper.clone());
        let residuals = ResidualEvaluator::new(&filter, &spec(), &s).unwrap();
        let day = |d: i32| tuple(Some(d), None, None);
        assert_eq!(residuals.residual_for(&day(15)), BoundPredicate::AlwaysTrue);
        assert_eq!(residuals.residual_for(&day(10)), lower);
        assert_eq!(residuals.residual_for(&day(20)), upper);
        assert_eq!(residuals.residual_for(&day(9)), BoundPredicate::AlwaysFalse);
        assert_eq!(
            residuals.residual_for(&day(21)),
            BoundPredicate::AlwaysFalse
        );
        assert_eq!(
            residuals.residual_for(&tuple(None, None, None)),
            BoundPredicate::AlwaysFalse
        );

        let same_day = bind(
            col("ts")
                .greater_than_or_eq(Datum::Timestamp(a))
                .and(col("ts").less_than_or_eq(Datum::Timestamp(a + 10))),
        );
        let residuals = ResidualEvaluator::new(&same_day, &spec(), &s).unwrap();
        assert_eq!(residuals.residual_for(&day(10)), same_day);
    }

    #[test]
    fn residuals_keep_leaves_on_unpartitioned_columns_and_fold_the_rest() {
        let s = schema();
        let n_leaf = bind(col("n").less_than(Datum::Int(3)));
        let filter = bind(
            col("score")
                .equal_to(Datum::Double(1.0))
                .and(col("n").less_than(Datum::Int(3))),
        );
        let residuals = ResidualEvaluator::new(&filter, &spec(), &s).unwrap();
        // Identity partition decides score = 1.0 exactly.
        assert_eq!(residuals.residual_for(&tuple(None, None, None)), n_leaf);
        let mut other = tuple(None, None, None);
        other[3] = Some(Datum::Double(2.0));
        assert_eq!(residuals.residual_for(&other), BoundPredicate::AlwaysFalse);

        let filter = bind(
            col("score")
                .equal_to(Datum::Double(1.0))
                .or(col("n").less_than(Datum::Int(3))),
        );
        let residuals = ResidualEvaluator::new(&filter, &spec(), &s).unwrap();
        assert_eq!(
            residuals.residual_for(&tuple(None, None, None)),
            BoundPredicate::AlwaysTrue
        );
        assert_eq!(residuals.residual_for(&other), n_leaf);

        // is_nan on an identity partition is decided by the tuple.
        let nan = bind(col("score").is_nan());
        let residuals = ResidualEvaluator::new(&nan, &spec(), &s).unwrap();
        other[3] = Some(Datum::Double(f64::NAN));
        assert_eq!(residuals.residual_for(&other), BoundPredicate::AlwaysTrue);
        assert_eq!(
            residuals.residual_for(&tuple(None, None, None)),
            BoundPredicate::AlwaysFalse
        );
    }

    #[test]
    fn residuals_of_bucketed_and_truncated_columns() {
        let s = schema();
        let filter = bind(col("data").starts_with("abc"));
        let residuals = ResidualEvaluator::new(&filter, &spec(), &s).unwrap();
        // truncate[2] cannot decide a 3-character prefix, only rule it out.
        assert_eq!(
            residuals.residual_for(&tuple(None, Some("ab"), None)),
            filter
        );
        assert_eq!(
            residuals.residual_for(&tuple(None, Some("ac"), None)),
            BoundPredicate::AlwaysFalse
        );
        let filter = bind(col("data").starts_with("a"));
        let residuals = ResidualEvaluator::new(&filter, &spec(), &s).unwrap();
        assert_eq!(
            residuals.residual_for(&tuple(None, Some("ab"), None)),
            BoundPredicate::AlwaysTrue
        );
        let filter = bind(col("id").not_equal_to(Datum::Long(7)));
        let residuals = ResidualEvaluator::new(&filter, &spec(), &s).unwrap();
        let b = match Transform::Bucket(4).apply(Some(&Datum::Long(7))).unwrap() {
            Some(Datum::Int(b)) => b,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            residuals.residual_for(&tuple(None, None, Some((b + 1) % 4))),
            BoundPredicate::AlwaysTrue
        );
        assert_eq!(residuals.residual_for(&tuple(None, None, Some(b))), filter);
    }

    #[test]
    fn unpartitioned_residual_is_the_filter() {
        let filter = bind(col("n").less_than(Datum::Int(3)));
        let r =
            ResidualEvaluator::new(&filter, &PartitionSpec::unpartitioned(), &schema()).unwrap();
        assert_eq!(r.residual_for(&vec![]), filter);
        assert_eq!(
            ResidualEvaluator::unpartitioned(filter.clone()).residual_for(&vec![]),
            filter
        );
    }

    #[test]
    fn projected_filters_are_bound_to_partition_fields() {
        let filter = bind(col("data").equal_to(Datum::String("abcd".into())));
        let eval = PartitionEvaluator::inclusive(&filter, &spec(), &schema()).unwrap();
        let p = eval.partition_filter();
        assert_eq!(p.op(), Some(PredicateOperator::Eq));
        assert_eq!(p.term().unwrap().field_id(), 1001);
        assert_eq!(p.term().unwrap().name(), "data_trunc");
    }

    #[test]
    fn repeated_fields_are_detected() {
        use crate::spec::{ListType, MapType, StructType};
        let s = Schema::builder()
            .with_fields([
                NestedField::optional(
                    1,
                    "points",
                    Type::List(ListType::new(
                        2,
                        Type::Struct(StructType::new(vec![NestedField::optional(
                            3,
                            "x",
                            PrimitiveType::Int,
                        )])),
                        false,
                    )),
                ),
                NestedField::optional(
                    4,
                    "m",
                    Type::Map(MapType::new(
                        5,
                        PrimitiveType::String.into(),
                        6,
                        PrimitiveType::Int.into(),
                        false,
                    )),
                ),
                NestedField::optional(
                    7,
                    "s",
                    Type::Struct(StructType::new(vec![NestedField::optional(
                        8,
                        "y",
                        PrimitiveType::Int,
                    )])),
                ),
            ])
            .build()
            .unwrap();
        assert!(is_in_repeated(&s, 3));
        assert!(is_in_repeated(&s, 5));
        assert!(is_in_repeated(&s, 6));
        assert!(!is_in_repeated(&s, 8));
        assert!(!is_in_repeated(&s, 7));
    }
}
