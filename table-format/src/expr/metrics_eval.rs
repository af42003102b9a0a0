//! Deciding a row filter for a whole data file from its column metrics: value, null and NaN
//! counts and lower/upper bounds by field id (reference `InclusiveMetricsEvaluator` and
//! `StrictMetricsEvaluator`).
//!
//! - [`InclusiveMetricsEvaluator`]: may the file hold a matching row? `false` lets a scan skip
//!   the file.
//! - [`StrictMetricsEvaluator`]: does every row of the file match? `true` lets a delete or
//!   overwrite by filter drop the file without reading it.
//!
//! Bounds are decoded with the current schema's type for the field, so bounds written before
//! a type promotion (an int bound under a long column) read as the promoted type. A bound
//! that cannot be decoded, or a NaN bound (ORC writers could produce one), counts as unknown.
//! String bounds may be truncated (lower: a prefix of the minimum; upper: a prefix with its
//! last character incremented); every rule here holds for truncated bounds. Fields inside
//! lists and maps have no usable metrics: their counts are of elements, not rows.

use std::cmp::Ordering;
use std::collections::HashSet;

use super::manifest_eval::{IN_PREDICATE_LIMIT, any_literal_in_bounds, cut, prefix_may_match};
use super::partition_eval::is_in_repeated;
use super::predicate::{BoundPredicate, BoundReference, PredicateOperator};
use super::value_eval::{compare, is_nan};
use crate::spec::manifest::{bound, metric};
use crate::spec::{DataFile, Datum, PrimitiveType, Schema};

/// One file's metrics for one column.
struct ColumnStats<'a> {
    file: &'a DataFile,
    id: i32,
    field_type: &'a PrimitiveType,
}

impl<'a> ColumnStats<'a> {
    fn new(file: &'a DataFile, term: &'a BoundReference) -> Self {
        Self {
            file,
            id: term.field_id(),
            field_type: term.field_type(),
        }
    }

    fn value_count(&self) -> Option<i64> {
        metric(&self.file.value_counts, self.id)
    }

    fn null_count(&self) -> Option<i64> {
        metric(&self.file.null_value_counts, self.id)
    }

    fn nan_count(&self) -> Option<i64> {
        metric(&self.file.nan_value_counts, self.id)
    }

    /// The null count is unknown or not zero.
    fn may_contain_null(&self) -> bool {
        self.null_count() != Some(0)
    }

    /// Every value is null (both counts known and equal).
    fn nulls_only(&self) -> bool {
        matches!((self.value_count(), self.null_count()), (Some(v), Some(n)) if v == n)
    }

    /// Every value is NaN (NaN count known and equal to the value count).
    fn nans_only(&self) -> bool {
        matches!((self.nan_count(), self.value_count()), (Some(n), Some(v)) if n == v)
    }

    /// The column is a float or double whose NaN count is unknown or not zero.
    fn may_contain_nan(&self) -> bool {
        matches!(
            self.field_type,
            PrimitiveType::Float | PrimitiveType::Double
        ) && self.nan_count() != Some(0)
    }

    fn raw_lower(&self) -> Option<&'a [u8]> {
        bound(&self.file.lower_bounds, self.id)
    }

    fn raw_upper(&self) -> Option<&'a [u8]> {
        bound(&self.file.upper_bounds, self.id)
    }

    /// The decoded lower bound, NaN included; `None` when missing or unreadable.
    fn lower_any(&self) -> Option<Datum> {
        Datum::from_bytes(self.raw_lower()?, self.field_type).ok()
    }

    /// The lower bound when it is usable (present, readable, not NaN).
    fn lower(&self) -> Option<Datum> {
        self.lower_any().filter(|d| !is_nan(d))
    }

    fn upper(&self) -> Option<Datum> {
        Datum::from_bytes(self.raw_upper()?, self.field_type)
            .ok()
            .filter(|d| !is_nan(d))
    }

    /// The lower bound is NaN: the file's bounds are unreliable.
    fn lower_is_nan(&self) -> bool {
        self.lower_any().is_some_and(|d| is_nan(&d))
    }
}

fn cmp(bound: &Datum, literal: &Datum) -> Option<Ordering> {
    compare(bound, literal)
}

/// Field ids of the filter's columns that have no usable metrics under `skip`.
fn fields_where(
    filter: &BoundPredicate,
    schema: &Schema,
    skip: impl Fn(&Schema, i32) -> bool,
) -> HashSet<i32> {
    let mut out = HashSet::new();
    let mut stack = vec![filter];
    while let Some(p) = stack.pop() {
        match p {
            BoundPredicate::And(a, b) | BoundPredicate::Or(a, b) => {
                stack.push(a);
                stack.push(b);
            }
            leaf => {
                if let Some(term) = leaf.term()
                    && skip(schema, term.field_id())
                {
                    out.insert(term.field_id());
                }
            }
        }
    }
    out
}

fn eval_tree(pred: &BoundPredicate, leaf: &mut impl FnMut(&BoundPredicate) -> bool) -> bool {
    match pred {
        BoundPredicate::AlwaysTrue => true,
        BoundPredicate::AlwaysFalse => false,
        BoundPredicate::And(a, b) => eval_tree(a, leaf) && eval_tree(b, leaf),
        BoundPredicate::Or(a, b) => eval_tree(a, leaf) || eval_tree(b, leaf),
        other => leaf(other),
    }
}

/// Decides from a data file's metrics whether it may hold rows matching a filter
/// (reference `InclusiveMetricsEvaluator`, with the same rule for each operator).
#[derive(Debug, Clone)]
pub struct InclusiveMetricsEvaluator {
    filter: BoundPredicate,
    /// Columns inside lists or maps.
    no_metrics: HashSet<i32>,
}

impl InclusiveMetricsEvaluator {
    /// An evaluator for `filter`, bound to `schema` (the table's current schema).
    pub fn new(filter: BoundPredicate, schema: &Schema) -> Self {
        let no_metrics = fields_where(&filter, schema, is_in_repeated);
        Self { filter, no_metrics }
    }

    /// `false` when no row of `file` can match the filter; `true` when some might.
    pub fn eval(&self, file: &DataFile) -> bool {
        if file.record_count == 0 {
            return false;
        }
        if file.record_count < 0 {
            // Unknown row count (some imported files): nothing is known.
            return true;
        }
        eval_tree(&self.filter, &mut |leaf| self.leaf(leaf, file))
    }

    fn leaf(&self, leaf: &BoundPredicate, file: &DataFile) -> bool {
        use PredicateOperator::*;
        const MIGHT: bool = true;
        const CANNOT: bool = false;
        let Some(term) = leaf.term() else {
            return MIGHT;
        };
        if self.no_metrics.contains(&term.field_id()) {
            return MIGHT;
        }
        let s = ColumnStats::new(file, term);
        match leaf {
            BoundPredicate::Unary { op, .. } => match op {
                IsNull => s.may_contain_null(),
                NotNull => !s.nulls_only(),
                IsNan => !(s.nulls_only() || s.nan_count() == Some(0)),
                NotNan => !s.nans_only(),
                _ => MIGHT,
            },
            BoundPredicate::Binary { op, literal, .. } => match op {
                // Bounds need not be values of the column, so they cannot rule out `!=`.
                NotEq => MIGHT,
                StartsWith => {
                    if s.nulls_only() {
                        return CANNOT;
                    }
                    let (Some(lower), Datum::String(prefix)) = (s.raw_lower(), literal) else {
                        return MIGHT;
                    };
                    prefix_may_match(lower, s.raw_upper(), prefix.as_bytes())
                }
                NotStartsWith => {
                    // Null rows do not match, but the reference keeps the file anyway.
                    if s.may_contain_null() {
                        return MIGHT;
                    }
                    let Datum::String(prefix) = literal else {
                        return MIGHT;
                    };
                    match (s.raw_lower(), s.raw_upper()) {
                        (Some(lower), Some(upper)) => {
                            !(lower.starts_with(prefix.as_bytes())
                                && upper.starts_with(prefix.as_bytes()))
                        }
                        _ => MIGHT,
                    }
                }
                _ => {
                    if s.nulls_only() || s.nans_only() {
                        return CANNOT;
                    }
                    match op {
                        LessThan => !s
                            .lower()
                            .is_some_and(|l| cmp(&l, literal).is_some_and(Ordering::is_ge)),
                        LessThanOrEq => !s
                            .lower()
                            .is_some_and(|l| cmp(&l, literal).is_some_and(Ordering::is_gt)),
                        GreaterThan => !s
                            .upper()
                            .is_some_and(|u| cmp(&u, literal).is_some_and(Ordering::is_le)),
                        GreaterThanOrEq => !s
                            .upper()
                            .is_some_and(|u| cmp(&u, literal).is_some_and(Ordering::is_lt)),
                        Eq => {
                            !(s.lower()
                                .is_some_and(|l| cmp(&l, literal).is_some_and(Ordering::is_gt))
                                || s.upper()
                                    .is_some_and(|u| cmp(&u, literal).is_some_and(Ordering::is_lt)))
                        }
                        _ => MIGHT,
                    }
                }
            },
            BoundPredicate::Set {
                op: In, literals, ..
            } => {
                if s.nulls_only() || s.nans_only() {
                    return CANNOT;
                }
                if literals.len() > IN_PREDICATE_LIMIT {
                    return MIGHT;
                }
                // The reference gives up without a lower bound.
                let Some(lower) = s.lower() else {
                    return MIGHT;
                };
                any_literal_in_bounds(Some(&lower), s.upper().as_ref(), literals)
            }
            // `not in`: bounds need not be values of the column.
            _ => MIGHT,
        }
    }
}

/// Decides from a data file's metrics whether every row matches a filter (reference
/// `StrictMetricsEvaluator`).
///
/// A `true` answer lets a delete drop the whole file, so the rules are the reference's made
/// safe under SQL null semantics (see the `value_eval` module) and unknown metrics:
/// - a null count must be known to be zero before any row can be guaranteed to match a
///   comparison or a negated test (`!=`, `not in`, `not_starts_with`, `not_nan`): null rows
///   match none of them, where the reference counts them as matching negated tests;
/// - for float and double columns the NaN count must be known to be zero before comparisons
///   can match every row (the reference trusts a missing NaN count);
/// - only top-level columns are evaluated, as in the reference;
/// - a file with an unknown (negative) row count is judged by its metrics, where the
///   reference would report that all rows match.
#[derive(Debug, Clone)]
pub struct StrictMetricsEvaluator {
    filter: BoundPredicate,
    /// Columns that are not top-level.
    no_metrics: HashSet<i32>,
}

impl StrictMetricsEvaluator {
    /// An evaluator for `filter`, bound to `schema` (the table's current schema).
    pub fn new(filter: BoundPredicate, schema: &Schema) -> Self {
        let no_metrics = fields_where(&filter, schema, |s, id| s.parent_id(id).is_some());
        Self { filter, no_metrics }
    }

    /// `true` when every row of `file` matches the filter; `false` when some might not.
    pub fn eval(&self, file: &DataFile) -> bool {
        if file.record_count == 0 {
            return true;
        }
        eval_tree(&self.filter, &mut |leaf| self.leaf(leaf, file))
    }

    fn leaf(&self, leaf: &BoundPredicate, file: &DataFile) -> bool {
        use PredicateOperator::*;
        const MUST: bool = true;
        const MIGHT_NOT: bool = false;
        let Some(term) = leaf.term() else {
            return MIGHT_NOT;
        };
        if self.no_metrics.contains(&term.field_id()) {
            return MIGHT_NOT;
        }
        let s = ColumnStats::new(file, term);
        match leaf {
            BoundPredicate::Unary { op, .. } => match op {
                IsNull => s.nulls_only(),
                NotNull => s.null_count() == Some(0),
                // NaN count equal to the value count leaves no room for nulls.
                IsNan => s.nans_only(),
                NotNan => s.null_count() == Some(0) && s.nan_count() == Some(0),
                _ => MIGHT_NOT,
            },
            BoundPredicate::Binary { op, literal, .. } => {
                if s.may_contain_null() {
                    return MIGHT_NOT;
                }
                match op {
                    NotEq => {
                        if s.nans_only() {
                            return MUST;
                        }
                        if s.lower_is_nan() {
                            return MIGHT_NOT;
                        }
                        s.lower()
                            .is_some_and(|l| cmp(&l, literal).is_some_and(Ordering::is_gt))
                            || s.upper()
                                .is_some_and(|u| cmp(&u, literal).is_some_and(Ordering::is_lt))
                    }
                    StartsWith => {
                        let Datum::String(prefix) = literal else {
                            return MIGHT_NOT;
                        };
                        match (s.raw_lower(), s.raw_upper()) {
                            (Some(lower), Some(upper)) => {
                                lower.starts_with(prefix.as_bytes())
                                    && upper.starts_with(prefix.as_bytes())
                            }
                            _ => MIGHT_NOT,
                        }
                    }
                    NotStartsWith => {
                        let Datum::String(prefix) = literal else {
                            return MIGHT_NOT;
                        };
                        let p = prefix.as_bytes();
                        s.raw_lower().is_some_and(|l| cut(l, p.len()) > p)
                            || s.raw_upper().is_some_and(|u| cut(u, p.len()) < p)
                    }
                    _ => {
                        if s.may_contain_nan() {
                            return MIGHT_NOT;
                        }
                        match op {
                            LessThan => s
                                .upper()
                                .is_some_and(|u| cmp(&u, literal).is_some_and(Ordering::is_lt)),
                            LessThanOrEq => s
                                .upper()
                                .is_some_and(|u| cmp(&u, literal).is_some_and(Ordering::is_le)),
                            GreaterThan => s
                                .lower()
                                .is_some_and(|l| cmp(&l, literal).is_some_and(Ordering::is_gt)),
                            GreaterThanOrEq => s
                                .lower()
                                .is_some_and(|l| cmp(&l, literal).is_some_and(Ordering::is_ge)),
                            Eq => {
                                s.lower()
                                    .is_some_and(|l| cmp(&l, literal).is_some_and(Ordering::is_eq))
                                    && s.upper().is_some_and(|u| {
                                        cmp(&u, literal).is_some_and(Ordering::is_eq)
                                    })
                            }
                            _ => MIGHT_NOT,
                        }
                    }
                }
            }
            BoundPredicate::Set { op, literals, .. } => {
                if s.may_contain_null() {
                    return MIGHT_NOT;
                }
                match op {
                    In => {
                        if s.may_contain_nan() {
                            return MIGHT_NOT;
                        }
                        let (Some(lower), Some(upper)) = (s.lower(), s.upper()) else {
                            return MIGHT_NOT;
                        };
                        // One value in the whole file, and it is in the set.
                        cmp(&lower, &upper) == Some(Ordering::Equal)
                            && literals
                                .iter()
                                .any(|lit| cmp(&lower, lit) == Some(Ordering::Equal))
                    }
                    NotIn => {
                        if s.nans_only() {
                            return MUST;
                        }
                        if s.lower_is_nan() {
                            return MIGHT_NOT;
                        }
                        let lower = s.lower();
                        let upper = s.upper();
                        if lower.is_none() && upper.is_none() {
                            return MIGHT_NOT;
                        }
                        // Every literal lies outside [lower, upper].
                        !any_literal_in_bounds(lower.as_ref(), upper.as_ref(), literals)
                    }
                    _ => MIGHT_NOT,
                }
            }
            _ => MIGHT_NOT,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expr::{Predicate, Reference};
    use crate::spec::{ListType, NestedField, StructType, Type};

    fn schema() -> Schema {
        use PrimitiveType as P;
        Schema::builder()
            .with_fields([
                NestedField::required(1, "id", P::Int),
                NestedField::optional(2, "no_stats", P::Int),
                NestedField::required(3, "required", P::String),
                NestedField::optional(4, "all_nulls", P::String),
                NestedField::optional(5, "some_nulls", P::String),
                NestedField::optional(6, "no_nulls", P::String),
                NestedField::optional(7, "all_nans", P::Double),
                NestedField::optional(8, "some_nans", P::Float),
                NestedField::optional(9, "no_nans", P::Float),
                NestedField::optional(10, "all_nulls_double", P::Double),
                NestedField::optional(11, "no_nan_stats", P::Double),
                NestedField::optional(12, "nan_and_null_only", P::Double),
                NestedField::optional(13, "promoted", P::Long),
                NestedField::optional(
                    14,
                    "location",
                    Type::Struct(StructType::new(vec![NestedField::optional(
                        15,
                        "lat",
                        P::Double,
                    )])),
                ),
                NestedField::optional(
                    16,
                    "tags",
                    Type::List(ListType::new(17, P::String.into(), false)),
                ),
                NestedField::optional(18, "nan_lower", P::Float),
                NestedField::optional(19, "truncated", P::String),
            ])
            .build()
            .unwrap()
    }

    fn s(v: &str) -> Datum {
        Datum::String(v.into())
    }

    /// 50 rows.
    fn file() -> DataFile {
        let all = |ids: &[i32], n: i64| ids.iter().map(|id| (*id, n)).collect::<Vec<_>>();
        let b = |id: i32, d: Datum| (id, d.to_bytes());
        DataFile {
            record_count: 50,
            value_counts: all(
                &[1, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 15, 17, 18, 19],
                50,
            ),
            null_value_counts: vec![
                (1, 0),
                (3, 0),
                (4, 50),
                (5, 10),
                (6, 0),
                (7, 0),
                (8, 0),
                (9, 0),
                (10, 50),
                (11, 0),
                (12, 1),
                (13, 0),
                (15, 0),
                (17, 0),
                (18, 0),
                (19, 0),
            ],
            nan_value_counts: vec![(7, 50), (8, 1), (9, 0), (12, 49), (15, 0), (18, 0)],
            lower_bounds: vec![
                b(1, Datum::Int(30)),
                b(3, s("a")),
                b(5, s("bbb")),
                b(6, s("abc")),
                b(8, Datum::Float(-1.0)),
                b(9, Datum::Float(-1.0)),
                b(11, Datum::Double(0.0)),
                // Written while the column was an int.
                b(13, Datum::Int(-5)),
                b(15, Datum::Double(10.0)),
                b(17, s("zzz")),
                b(18, Datum::Float(f32::NAN)),
                // Truncated from "abcdef...".
                b(19, s("abc")),
            ],
            upper_bounds: vec![
                b(1, Datum::Int(79)),
                b(3, s("z")),
                b(5, s("eee")),
                b(6, s("abz")),
                b(8, Datum::Float(2.0)),
                b(9, Datum::Float(2.0)),
                b(11, Datum::Double(20.0)),
                b(13, Datum::Int(5)),
                b(15, Datum::Double(20.0)),
                b(17, s("zzz")),
                b(18, Datum::Float(f32::NAN)),
                // Truncated from "abdxyz..." and incremented.
                b(19, s("abe")),
            ],
            ..Default::default()
        }
    }

    fn col(n: &str) -> Reference {
        Reference::new(n)
    }

    fn bind(p: Predicate) -> BoundPredicate {
        p.bind(&schema(), true).unwrap()
    }

    fn incl(p: Predicate) -> bool {
        InclusiveMetricsEvaluator::new(bind(p), &schema()).eval(&file())
    }

    fn strict(p: Predicate) -> bool {
        StrictMetricsEvaluator::new(bind(p), &schema()).eval(&file())
    }

    fn i(v: i32) -> Datum {
        Datum::Int(v)
    }

    fn d(v: f64) -> Datum {
        Datum::Double(v)
    }

    fn f(v: f32) -> Datum {
        Datum::Float(v)
    }

    #[test]
    fn inclusive_empty_and_unknown_files() {
        let e = InclusiveMetricsEvaluator::new(bind(col("id").less_than(i(0))), &schema());
        let empty = DataFile {
            record_count: 0,
            ..file()
        };
        assert!(!e.eval(&empty));
        let unknown = DataFile {
            record_count: -1,
            ..file()
        };
        assert!(e.eval(&unknown));
        assert!(!e.eval(&file()));
        let always = InclusiveMetricsEvaluator::new(BoundPredicate::AlwaysTrue, &schema());
        assert!(!always.eval(&empty));
    }

    #[test]
    fn inclusive_missing_stats_may_match() {
        for p in [
            col("no_stats").less_than(i(5)),
            col("no_stats").less_than_or_eq(i(30)),
            col("no_stats").equal_to(i(70)),
            col("no_stats").greater_than(i(78)),
            col("no_stats").greater_than_or_eq(i(90)),
            col("no_stats").not_equal_to(i(101)),
            col("no_stats").is_null(),
            col("no_stats").is_not_null(),
            col("no_stats").is_in([i(1), i(2)]),
        ] {
            assert!(incl(p.clone()), "{p}");
        }
    }

    #[test]
    fn inclusive_null_checks() {
        assert!(!incl(col("all_nulls").is_not_null()));
        assert!(incl(col("some_nulls").is_not_null()));
        assert!(incl(col("no_nulls").is_not_null()));
        assert!(incl(col("all_nulls").is_null()));
        assert!(incl(col("some_nulls").is_null()));
        assert!(!incl(col("no_nulls").is_null()));
        // Binding already folds checks on required columns.
        assert!(!incl(col("required").is_null()));
    }

    #[test]
    fn inclusive_nan_checks() {
        assert!(incl(col("all_nans").is_nan()));
        assert!(incl(col("some_nans").is_nan()));
        assert!(!incl(col("no_nans").is_nan()));
        assert!(
            !incl(col("all_nulls_double").is_nan()),
            "only nulls, no NaN"
        );
        assert!(incl(col("no_nan_stats").is_nan()), "unknown NaN count");
        assert!(incl(col("nan_and_null_only").is_nan()));

        assert!(!incl(col("all_nans").is_not_nan()));
        assert!(incl(col("some_nans").is_not_nan()));
        assert!(incl(col("no_nans").is_not_nan()));
        assert!(incl(col("all_nulls_double").is_not_nan()));
        assert!(incl(col("nan_and_null_only").is_not_nan()));
    }

    #[test]
    fn inclusive_comparisons_use_bounds() {
        assert!(!incl(col("id").less_than(i(30))));
        assert!(incl(col("id").less_than(i(31))));
        assert!(!incl(col("id").less_than_or_eq(i(29))));
        assert!(incl(col("id").less_than_or_eq(i(30))));
        assert!(!incl(col("id").greater_than(i(79))));
        assert!(incl(col("id").greater_than(i(78))));
        assert!(!incl(col("id").greater_than_or_eq(i(80))));
        assert!(incl(col("id").greater_than_or_eq(i(79))));
        assert!(!incl(col("id").equal_to(i(29))));
        assert!(incl(col("id").equal_to(i(30))));
        assert!(incl(col("id").equal_to(i(75))));
        assert!(incl(col("id").equal_to(i(79))));
        assert!(!incl(col("id").equal_to(i(80))));
        assert!(incl(col("id").not_equal_to(i(30))));
        assert!(incl(col("id").not_equal_to(i(5))));
    }

    #[test]
    fn inclusive_comparisons_on_only_nulls_or_nans_cannot_match() {
        for p in [
            col("all_nulls").less_than(s("a")),
            col("all_nulls").greater_than_or_eq(s("a")),
            col("all_nulls").equal_to(s("a")),
            col("all_nulls").is_in([s("a"), s("b")]),
            col("all_nulls").starts_with("a"),
            col("all_nans").less_than(d(1.0)),
            col("all_nans").greater_than(d(1.0)),
            col("all_nans").equal_to(d(1.0)),
            col("all_nans").is_in([d(1.0), d(2.0)]),
        ] {
            assert!(!incl(p.clone()), "{p}");
        }
        // Not-equal tests still may match (NaN != 1, and the reference keeps nulls).
        assert!(incl(col("all_nans").not_equal_to(d(1.0))));
        assert!(incl(col("all_nulls").not_starts_with("a")));
        // Bounds ignore NaN: some_nans is in [-1, 2] apart from its NaN.
        assert!(!incl(col("some_nans").greater_than(f(2.0))));
        assert!(incl(col("some_nans").less_than(f(0.0))));
    }

    #[test]
    fn inclusive_nan_bounds_are_unreliable() {
        assert!(incl(col("nan_lower").less_than(f(0.0))));
        assert!(incl(col("nan_lower").greater_than(f(0.0))));
        assert!(incl(col("nan_lower").equal_to(f(0.0))));
        assert!(incl(col("nan_lower").is_in([f(0.0), f(1.0)])));
    }

    #[test]
    fn inclusive_reads_bounds_written_before_a_promotion() {
        let l = Datum::Long;
        assert!(incl(col("promoted").equal_to(l(5))));
        assert!(!incl(col("promoted").equal_to(l(6))));
        assert!(!incl(col("promoted").less_than(l(-5))));
        assert!(!incl(col("promoted").greater_than(l(1 << 40))));
    }

    #[test]
    fn inclusive_in_filters_literals_by_bounds() {
        assert!(!incl(col("id").is_in([i(5), i(6)])));
        assert!(incl(col("id").is_in([i(29), i(30)])));
        assert!(incl(col("id").is_in([i(75), i(76)])));
        assert!(incl(col("id").is_in([i(79), i(80)])));
        assert!(!incl(col("id").is_in([i(80), i(81)])));
        assert!(
            incl(col("id").is_in((1000..1201).map(i))),
            "over 200 literals"
        );
        assert!(!incl(col("id").is_in((1000..1200).map(i))));
        assert!(incl(col("id").is_not_in([i(30), i(31)])));
        assert!(incl(col("all_nulls").is_not_in([s("a"), s("b")])));
    }

    #[test]
    fn inclusive_starts_with_and_truncated_bounds() {
        assert!(incl(col("some_nulls").starts_with("c")));
        assert!(incl(col("some_nulls").starts_with("bbb")));
        assert!(incl(col("some_nulls").starts_with("eee")));
        assert!(!incl(col("some_nulls").starts_with("eeef")));
        assert!(!incl(col("some_nulls").starts_with("a")));
        assert!(!incl(col("some_nulls").starts_with("f")));
        assert!(incl(col("required").starts_with("a")));
        assert!(incl(col("required").starts_with("z")));
        assert!(
            !incl(col("required").starts_with("zz")),
            "every value is <= \"z\""
        );
        // Truncated bounds ["abc", "abe"].
        assert!(incl(col("truncated").starts_with("abcdef")));
        assert!(incl(col("truncated").starts_with("abdxyz")));
        assert!(incl(col("truncated").starts_with("abe")));
        assert!(!incl(col("truncated").starts_with("abb")));
        assert!(!incl(col("truncated").starts_with("abf")));
    }

    #[test]
    fn inclusive_not_starts_with() {
        assert!(!incl(col("no_nulls").not_starts_with("ab")));
        assert!(!incl(col("no_nulls").not_starts_with("a")));
        assert!(incl(col("no_nulls").not_starts_with("abc")));
        assert!(incl(col("no_nulls").not_starts_with("b")));
        assert!(incl(col("some_nulls").not_starts_with("b")));
        assert!(!incl(col("truncated").not_starts_with("ab")));
        assert!(incl(col("truncated").not_starts_with("abc")));
    }

    #[test]
    fn inclusive_nested_fields() {
        // Struct fields have metrics.
        assert!(!incl(col("location.lat").less_than(d(10.0))));
        assert!(incl(col("location.lat").less_than(d(10.5))));
        // List elements do not: counts and bounds are over elements, not rows.
        assert!(incl(col("tags.element").equal_to(s("a"))));
        assert!(incl(col("tags.element").is_null()));
    }

    #[test]
    fn inclusive_and_or() {
        assert!(!incl(
            col("id")
                .less_than(i(5))
                .and(col("id").greater_than_or_eq(i(0)))
        ));
        assert!(incl(
            col("id")
                .greater_than(i(5))
                .and(col("id").less_than_or_eq(i(30)))
        ));
        assert!(!incl(
            col("id")
                .less_than(i(5))
                .or(col("id").greater_than_or_eq(i(80)))
        ));
        assert!(incl(
            col("id")
                .less_than(i(5))
                .or(col("id").greater_than_or_eq(i(60)))
        ));
        assert!(incl(!col("id").less_than(i(5))));
        assert!(!incl(!col("id").greater_than(i(5))));
    }

    #[test]
    fn strict_empty_file_matches_and_unknown_count_is_judged_by_metrics() {
        let e = StrictMetricsEvaluator::new(bind(col("no_stats").equal_to(i(0))), &schema());
        assert!(e.eval(&DataFile {
            record_count: 0,
            ..file()
        }));
        assert!(!e.eval(&DataFile {
            record_count: -1,
            ..file()
        }));
        let always = StrictMetricsEvaluator::new(BoundPredicate::AlwaysTrue, &schema());
        assert!(always.eval(&file()));
        let never = StrictMetricsEvaluator::new(BoundPredicate::AlwaysFalse, &schema());
        assert!(!never.eval(&file()));
    }

    #[test]
    fn strict_missing_stats_might_not_match() {
        for p in [
            col("no_stats").less_than(i(5)),
            col("no_stats").less_than_or_eq(i(30)),
            col("no_stats").equal_to(i(70)),
            col("no_stats").greater_than(i(78)),
            col("no_stats").greater_than_or_eq(i(90)),
            col("no_stats").not_equal_to(i(101)),
            col("no_stats").is_null(),
            col("no_stats").is_not_null(),
            col("no_stats").is_in([i(1), i(2)]),
            col("no_stats").is_not_in([i(1), i(2)]),
        ] {
            assert!(!strict(p.clone()), "{p}");
        }
    }

    #[test]
    fn strict_null_checks() {
        assert!(strict(col("all_nulls").is_null()));
        assert!(!strict(col("some_nulls").is_null()));
        assert!(!strict(col("no_nulls").is_null()));
        assert!(!strict(col("all_nulls").is_not_null()));
        assert!(!strict(col("some_nulls").is_not_null()));
        assert!(strict(col("no_nulls").is_not_null()));
        assert!(strict(col("required").is_not_null()));
    }

    #[test]
    fn strict_nan_checks() {
        assert!(strict(col("all_nans").is_nan()));
        assert!(!strict(col("some_nans").is_nan()));
        assert!(!strict(col("nan_and_null_only").is_nan()));
        assert!(!strict(col("all_nans").is_not_nan()));
        assert!(!strict(col("some_nans").is_not_nan()));
        assert!(strict(col("no_nans").is_not_nan()));
        // Null rows are not "not NaN" (SQL); the reference would say they match.
        assert!(!strict(col("all_nulls_double").is_not_nan()));
        assert!(
            !strict(col("no_nan_stats").is_not_nan()),
            "unknown NaN count"
        );
    }

    #[test]
    fn strict_comparisons_use_bounds() {
        assert!(!strict(col("id").less_than(i(79))));
        assert!(strict(col("id").less_than(i(80))));
        assert!(!strict(col("id").less_than_or_eq(i(78))));
        assert!(strict(col("id").less_than_or_eq(i(79))));
        assert!(!strict(col("id").greater_than(i(30))));
        assert!(strict(col("id").greater_than(i(29))));
        assert!(!strict(col("id").greater_than_or_eq(i(31))));
        assert!(strict(col("id").greater_than_or_eq(i(30))));
        assert!(!strict(col("id").equal_to(i(30))), "30..79 is not all 30");
        assert!(strict(col("id").not_equal_to(i(29))));
        assert!(strict(col("id").not_equal_to(i(80))));
        assert!(!strict(col("id").not_equal_to(i(30))));
        assert!(!strict(col("id").not_equal_to(i(50))));
        assert!(strict(col("promoted").less_than(Datum::Long(6))));
        assert!(!strict(col("promoted").less_than(Datum::Long(5))));
    }

    #[test]
    fn strict_equality_needs_a_single_value() {
        let mut one = file();
        one.lower_bounds.push((2, i(7).to_bytes()));
        one.upper_bounds.push((2, i(7).to_bytes()));
        one.value_counts.push((2, 50));
        one.null_value_counts.push((2, 0));
        let check = |p: Predicate, file: &DataFile| {
            StrictMetricsEvaluator::new(bind(p), &schema()).eval(file)
        };
        let e = |p: Predicate| check(p, &one);
        assert!(e(col("no_stats").equal_to(i(7))));
        assert!(!e(col("no_stats").equal_to(i(8))));
        assert!(e(col("no_stats").is_in([i(7), i(8)])));
        assert!(!e(col("no_stats").is_in([i(6), i(8)])));
        assert!(e(col("no_stats").is_not_in([i(6), i(8)])));
        assert!(!e(col("no_stats").is_not_in([i(7), i(8)])));
        // With a null in the file, no comparison holds for every row.
        let mut with_null = one.clone();
        with_null.null_value_counts.pop();
        with_null.null_value_counts.push((2, 1));
        let e = |p: Predicate| check(p, &with_null);
        assert!(!e(col("no_stats").equal_to(i(7))));
        assert!(!e(col("no_stats").not_equal_to(i(8))));
        assert!(!e(col("no_stats").is_not_in([i(6), i(8)])));
    }

    #[test]
    fn strict_nulls_and_nans_block_comparisons() {
        // some_nulls is in ["bbb", "eee"] but has nulls.
        assert!(!strict(col("some_nulls").less_than(s("f"))));
        assert!(!strict(col("some_nulls").not_equal_to(s("a"))));
        assert!(!strict(col("some_nulls").not_starts_with("a")));
        // Only nulls: no row matches any comparison or negation (SQL).
        assert!(!strict(col("all_nulls").not_equal_to(s("a"))));
        assert!(!strict(col("all_nulls").is_not_in([s("a"), s("b")])));
        assert!(!strict(col("all_nulls").not_starts_with("a")));
        // some_nans is in [-1, 2] apart from one NaN.
        assert!(!strict(col("some_nans").less_than(f(3.0))));
        assert!(strict(col("no_nans").less_than(f(3.0))));
        assert!(
            !strict(col("no_nan_stats").less_than(d(30.0))),
            "unknown NaN count"
        );
        // Only NaN: every row is != and not in.
        assert!(strict(col("all_nans").not_equal_to(d(1.0))));
        assert!(strict(col("all_nans").is_not_in([d(1.0), d(2.0)])));
        assert!(!strict(col("all_nans").less_than(d(1.0))));
        // NaN bounds are unreliable.
        assert!(!strict(col("nan_lower").not_equal_to(f(5.0))));
        assert!(!strict(col("nan_lower").is_not_in([f(5.0), f(6.0)])));
    }

    #[test]
    fn strict_in_and_not_in() {
        assert!(!strict(col("id").is_in([i(30), i(79)])));
        assert!(strict(col("id").is_not_in([i(5), i(6)])));
        assert!(strict(col("id").is_not_in([i(80), i(81)])));
        assert!(strict(col("id").is_not_in([i(1), i(80)])));
        assert!(!strict(col("id").is_not_in([i(30), i(81)])));
        assert!(!strict(col("id").is_not_in([i(50), i(51)])));
    }

    #[test]
    fn strict_prefix_tests() {
        assert!(strict(col("no_nulls").starts_with("ab")));
        assert!(!strict(col("no_nulls").starts_with("abc")));
        assert!(!strict(col("some_nulls").starts_with("")));
        assert!(strict(col("no_nulls").not_starts_with("b")));
        assert!(strict(col("no_nulls").not_starts_with("aa")));
        assert!(strict(col("no_nulls").not_starts_with("abzz")));
        assert!(!strict(col("no_nulls").not_starts_with("abd")));
        assert!(!strict(col("no_nulls").not_starts_with("ab")));
        // Truncated bounds ["abc", "abe"]: every value starts with "ab", none with "abf".
        assert!(strict(col("truncated").starts_with("ab")));
        assert!(!strict(col("truncated").starts_with("abc")));
        assert!(strict(col("truncated").not_starts_with("abf")));
        assert!(strict(col("truncated").not_starts_with("abbz")));
        assert!(!strict(col("truncated").not_starts_with("abe")));
    }

    #[test]
    fn strict_uses_top_level_columns_only() {
        assert!(!strict(col("location.lat").greater_than(d(5.0))));
        assert!(!strict(col("tags.element").is_not_null()));
    }

    #[test]
    fn strict_and_or() {
        assert!(strict(
            col("id")
                .greater_than(i(5))
                .and(col("id").less_than_or_eq(i(79)))
        ));
        assert!(!strict(
            col("id").greater_than(i(5)).and(col("id").less_than(i(79)))
        ));
        assert!(strict(
            col("id").greater_than(i(5)).or(col("id").less_than(i(79)))
        ));
        assert!(strict(!col("id").less_than(i(30))));
    }
}
