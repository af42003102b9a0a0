//! Pruning whole manifests by their partition summaries (reference `ManifestEvaluator`).
//!
//! A row filter is projected inclusively through the manifest's partition spec; each leaf of
//! the projection is then checked against the [`FieldSummary`] of its partition field: does
//! any file hold a null, a NaN, and what are the lowest and highest other values. The answer
//! is "may match" unless the summary rules every file out.

use std::cmp::Ordering;

use super::partition_eval::{PartitionLayout, Projection};
use super::predicate::{BoundPredicate, BoundReference, PredicateOperator};
use super::value_eval::{compare, is_nan};
use crate::Result;
use crate::spec::{Datum, FieldSummary, ManifestFile, PartitionSpec, PrimitiveType, Schema};

/// `in` sets larger than this are not checked against bounds (as the reference does).
pub(crate) const IN_PREDICATE_LIMIT: usize = 200;

/// Decides whether a manifest may hold files with rows matching a row filter, from the
/// manifest list's partition summaries.
#[derive(Debug, Clone)]
pub struct ManifestEvaluator {
    layout: PartitionLayout,
    partition_filter: BoundPredicate,
}

impl ManifestEvaluator {
    /// An evaluator for manifests written with `spec`, for `row_filter` bound to `schema`:
    /// the filter is projected inclusively onto the partition fields.
    pub fn for_row_filter(
        row_filter: &BoundPredicate,
        spec: &PartitionSpec,
        schema: &Schema,
    ) -> Result<Self> {
        let layout = PartitionLayout::new(spec, schema)?;
        let partition_filter = layout.project(row_filter, Projection::Inclusive)?;
        Ok(Self {
            layout,
            partition_filter,
        })
    }

    /// The projected filter, bound to the partition struct.
    pub fn partition_filter(&self) -> &BoundPredicate {
        &self.partition_filter
    }

    /// Whether `manifest` may hold rows matching the filter. A manifest without partition
    /// summaries, or without a summary for a field, may. Fails when a summary bound cannot
    /// be read as a value of its partition field's type.
    pub fn eval(&self, manifest: &ManifestFile) -> Result<bool> {
        let Some(summaries) = &manifest.partitions else {
            return Ok(true);
        };
        self.eval_tree(&self.partition_filter, summaries)
            .map_err(|e| e.context(format!("manifest {}", manifest.manifest_path)))
    }

    fn eval_tree(&self, pred: &BoundPredicate, summaries: &[FieldSummary]) -> Result<bool> {
        Ok(match pred {
            BoundPredicate::AlwaysTrue => true,
            BoundPredicate::AlwaysFalse => false,
            BoundPredicate::And(a, b) => {
                self.eval_tree(a, summaries)? && self.eval_tree(b, summaries)?
            }
            BoundPredicate::Or(a, b) => {
                self.eval_tree(a, summaries)? || self.eval_tree(b, summaries)?
            }
            leaf => {
                let Some(term) = leaf.term() else {
                    return Ok(true);
                };
                let summary = self
                    .layout
                    .position(term.field_id())
                    .and_then(|pos| summaries.get(pos));
                match summary {
                    Some(summary) => eval_leaf(leaf, term, summary)?,
                    None => true,
                }
            }
        })
    }
}

/// A summary's bounds, decoded for one partition field.
struct Summary<'a> {
    summary: &'a FieldSummary,
    term: &'a BoundReference,
}

impl Summary<'_> {
    fn decode(&self, bytes: &[u8], which: &str) -> Result<Datum> {
        Datum::from_bytes(bytes, self.term.field_type()).map_err(|e| {
            e.context(format!(
                "{which} bound of partition field '{}'",
                self.term.name()
            ))
        })
    }

    /// The lower bound; `Ok(None)` when it is missing (every value is null or NaN).
    fn lower(&self) -> Result<Option<Datum>> {
        self.summary
            .lower_bound
            .as_deref()
            .map(|b| self.decode(b, "lower"))
            .transpose()
    }

    fn upper(&self) -> Result<Option<Datum>> {
        self.summary
            .upper_bound
            .as_deref()
            .map(|b| self.decode(b, "upper"))
            .transpose()
    }

    /// Every partition value is null: there are nulls and no bounds, and for floating
    /// point fields (whose bounds leave NaN out) no NaN either.
    fn all_null(&self) -> bool {
        let s = self.summary;
        let mut all_null = s.contains_null && s.lower_bound.is_none();
        if all_null
            && matches!(
                self.term.field_type(),
                PrimitiveType::Float | PrimitiveType::Double
            )
        {
            all_null = s.contains_nan == Some(false);
        }
        all_null
    }
}

/// Order a decoded bound against a literal; `None` (can't tell) for NaN bounds written by
/// old writers and for types that do not compare.
fn bound_cmp(bound: &Datum, literal: &Datum) -> Option<Ordering> {
    if is_nan(bound) {
        return None;
    }
    compare(bound, literal)
}

fn eval_leaf(leaf: &BoundPredicate, term: &BoundReference, summary: &FieldSummary) -> Result<bool> {
    use PredicateOperator::*;
    let s = Summary { summary, term };
    const MIGHT: bool = true;
    const CANNOT: bool = false;
    Ok(match leaf {
        BoundPredicate::Unary { op, .. } => match op {
            IsNull => summary.contains_null,
            NotNull => !s.all_null(),
            IsNan => summary.contains_nan != Some(false) && !s.all_null(),
            // All values are NaN: NaNs, no nulls and no bounds.
            NotNan => {
                !(summary.contains_nan == Some(true)
                    && !summary.contains_null
                    && summary.lower_bound.is_none())
            }
            _ => MIGHT,
        },
        BoundPredicate::Binary { op, literal, .. } => match op {
            LessThan | LessThanOrEq => {
                // No lower bound: every value is null or NaN, which match no comparison.
                let Some(lower) = s.lower()? else {
                    return Ok(CANNOT);
                };
                match bound_cmp(&lower, literal) {
                    Some(Ordering::Greater) => CANNOT,
                    Some(Ordering::Equal) if *op == LessThan => CANNOT,
                    _ => MIGHT,
                }
            }
            GreaterThan | GreaterThanOrEq => {
                let Some(upper) = s.upper()? else {
                    return Ok(CANNOT);
                };
                match bound_cmp(&upper, literal) {
                    Some(Ordering::Less) => CANNOT,
                    Some(Ordering::Equal) if *op == GreaterThan => CANNOT,
                    _ => MIGHT,
                }
            }
            Eq => {
                let Some(lower) = s.lower()? else {
                    return Ok(CANNOT);
                };
                if bound_cmp(&lower, literal) == Some(Ordering::Greater) {
                    return Ok(CANNOT);
                }
                match s.upper()? {
                    Some(upper) => bound_cmp(&upper, literal) != Some(Ordering::Less),
                    None => MIGHT,
                }
            }
            // The bounds need not be values of the field, so they cannot rule out `!=`.
            NotEq => MIGHT,
            StartsWith => {
                let Some(lower) = &summary.lower_bound else {
                    return Ok(CANNOT);
                };
                let Datum::String(prefix) = literal else {
                    return Ok(MIGHT);
                };
                prefix_may_match(lower, summary.upper_bound.as_deref(), prefix.as_bytes())
            }
            NotStartsWith => {
                let Datum::String(prefix) = literal else {
                    return Ok(MIGHT);
                };
                if summary.contains_null {
                    return Ok(MIGHT);
                }
                match (&summary.lower_bound, &summary.upper_bound) {
                    (Some(lower), Some(upper)) => {
                        !(lower.starts_with(prefix.as_bytes())
                            && upper.starts_with(prefix.as_bytes()))
                    }
                    _ => MIGHT,
                }
            }
            _ => MIGHT,
        },
        BoundPredicate::Set {
            op: In, literals, ..
        } => {
            let Some(lower) = s.lower()? else {
                return Ok(CANNOT);
            };
            if literals.len() > IN_PREDICATE_LIMIT {
                return Ok(MIGHT);
            }
            let upper = s.upper()?;
            any_literal_in_bounds(Some(&lower), upper.as_ref(), literals)
        }
        // The bounds need not be values of the field, so they cannot rule out `not in`.
        _ => MIGHT,
    })
}

/// Whether values between `lower` and `upper` (raw UTF-8 bounds, possibly truncated) may
/// start with `prefix`: compare the bounds cut to the prefix's length with the prefix.
pub(crate) fn prefix_may_match(lower: &[u8], upper: Option<&[u8]>, prefix: &[u8]) -> bool {
    if cut(lower, prefix.len()) > prefix {
        return false;
    }
    if let Some(upper) = upper
        && cut(upper, prefix.len()) < prefix
    {
        return false;
    }
    true
}

/// `bytes` cut to at most `len` bytes.
pub(crate) fn cut(bytes: &[u8], len: usize) -> &[u8] {
    &bytes[..bytes.len().min(len)]
}

/// Whether some literal lies within `[lower, upper]` (a missing or NaN bound is open).
pub(crate) fn any_literal_in_bounds(
    lower: Option<&Datum>,
    upper: Option<&Datum>,
    literals: &[Datum],
) -> bool {
    literals.iter().any(|lit| {
        let above_lower = lower.is_none_or(|l| bound_cmp(l, lit) != Some(Ordering::Greater));
        let below_upper = upper.is_none_or(|u| bound_cmp(u, lit) != Some(Ordering::Less));
        above_lower && below_upper
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expr::{Predicate, Reference};
    use crate::spec::{NestedField, PartitionField, Transform};

    const NAMES: [(&str, PrimitiveType); 10] = [
        ("id", PrimitiveType::Int),
        ("all_nulls", PrimitiveType::String),
        ("some_nulls", PrimitiveType::String),
        ("no_nulls", PrimitiveType::String),
        ("float", PrimitiveType::Float),
        ("all_nans", PrimitiveType::Double),
        ("both_nan_and_null", PrimitiveType::Float),
        ("no_nan_or_null", PrimitiveType::Double),
        ("all_nulls_missing_nan", PrimitiveType::Float),
        ("promoted", PrimitiveType::Long),
    ];

    fn schema() -> Schema {
        Schema::builder()
            .with_fields(
                NAMES
                    .iter()
                    .enumerate()
                    .map(|(i, (n, t))| NestedField::optional(i as i32 + 1, *n, *t)),
            )
            .build()
            .unwrap()
    }

    /// Identity on every column, in column order.
    fn spec() -> PartitionSpec {
        PartitionSpec::new(
            0,
            NAMES
                .iter()
                .enumerate()
                .map(|(i, (n, _))| PartitionField {
                    source_id: (i as i32 + 1).into(),
                    field_id: 1000 + i as i32,
                    name: n.to_string(),
                    transform: Transform::Identity,
                })
                .collect(),
        )
    }

    fn summary(
        contains_null: bool,
        contains_nan: Option<bool>,
        lower: Option<Datum>,
        upper: Option<Datum>,
    ) -> FieldSummary {
        FieldSummary {
            contains_null,
            contains_nan,
            lower_bound: lower.map(|d| d.to_bytes()),
            upper_bound: upper.map(|d| d.to_bytes()),
        }
    }

    fn s(v: &str) -> Datum {
        Datum::String(v.into())
    }

    fn manifest() -> ManifestFile {
        ManifestFile {
            manifest_path: "m.avro".into(),
            partitions: Some(vec![
                summary(false, None, Some(Datum::Int(30)), Some(Datum::Int(79))),
                summary(true, None, None, None),
                summary(true, None, Some(s("a")), Some(s("z"))),
                summary(false, None, Some(s("abc")), Some(s("abz"))),
                summary(
                    false,
                    None,
                    Some(Datum::Float(0.0)),
                    Some(Datum::Float(20.0)),
                ),
                summary(false, Some(true), None, None),
                summary(true, Some(true), None, None),
                summary(
                    false,
                    Some(false),
                    Some(Datum::Double(0.0)),
                    Some(Datum::Double(20.0)),
                ),
                summary(true, None, None, None),
                // Written while the column was an int.
                summary(false, None, Some(Datum::Int(-5)), Some(Datum::Int(5))),
            ]),
            ..Default::default()
        }
    }

    fn eval(p: Predicate) -> bool {
        let bound = p.bind(&schema(), true).unwrap();
        ManifestEvaluator::for_row_filter(&bound, &spec(), &schema())
            .unwrap()
            .eval(&manifest())
            .unwrap()
    }

    fn col(n: &str) -> Reference {
        Reference::new(n)
    }

    fn i(v: i32) -> Datum {
        Datum::Int(v)
    }

    #[test]
    fn missing_summaries_may_match() {
        let bound = col("id").equal_to(i(1)).bind(&schema(), true).unwrap();
        let e = ManifestEvaluator::for_row_filter(&bound, &spec(), &schema()).unwrap();
        assert!(e.eval(&ManifestFile::default()).unwrap());
        let short = ManifestFile {
            partitions: Some(vec![]),
            ..Default::default()
        };
        assert!(e.eval(&short).unwrap());
        assert!(!e.eval(&manifest()).unwrap());
    }

    #[test]
    fn null_checks_use_contains_null_and_bounds() {
        assert!(eval(col("all_nulls").is_null()));
        assert!(eval(col("some_nulls").is_null()));
        assert!(!eval(col("no_nulls").is_null()));
        assert!(eval(col("both_nan_and_null").is_null()));

        assert!(!eval(col("all_nulls").is_not_null()));
        assert!(eval(col("some_nulls").is_not_null()));
        assert!(eval(col("no_nulls").is_not_null()));
        // No bounds, but NaNs (or possibly NaNs) are non-null values.
        assert!(eval(col("both_nan_and_null").is_not_null()));
        assert!(eval(col("all_nulls_missing_nan").is_not_null()));
    }

    #[test]
    fn nan_checks_use_contains_nan() {
        assert!(eval(col("float").is_nan()), "unknown NaN flag");
        assert!(!eval(col("no_nan_or_null").is_nan()));
        assert!(eval(col("all_nans").is_nan()));
        assert!(eval(col("both_nan_and_null").is_nan()));
        assert!(eval(col("all_nulls_missing_nan").is_nan()));

        assert!(!eval(col("all_nans").is_not_nan()));
        assert!(eval(col("both_nan_and_null").is_not_nan()));
        assert!(eval(col("float").is_not_nan()));
        assert!(eval(col("no_nan_or_null").is_not_nan()));
    }

    #[test]
    fn comparisons_use_the_bounds() {
        assert!(!eval(col("id").less_than(i(30))));
        assert!(eval(col("id").less_than(i(31))));
        assert!(!eval(col("id").less_than_or_eq(i(29))));
        assert!(eval(col("id").less_than_or_eq(i(30))));
        assert!(!eval(col("id").greater_than(i(79))));
        assert!(eval(col("id").greater_than(i(78))));
        assert!(!eval(col("id").greater_than_or_eq(i(80))));
        assert!(eval(col("id").greater_than_or_eq(i(79))));
        assert!(!eval(col("id").equal_to(i(29))));
        assert!(eval(col("id").equal_to(i(30))));
        assert!(eval(col("id").equal_to(i(79))));
        assert!(!eval(col("id").equal_to(i(80))));
        // Bounds need not be values, so != is never ruled out.
        assert!(eval(col("id").not_equal_to(i(30))));
        assert!(eval(col("all_nulls").not_equal_to(s("a"))));
    }

    #[test]
    fn comparisons_on_all_null_or_nan_fields_cannot_match() {
        assert!(!eval(col("all_nulls").less_than(s("a"))));
        assert!(!eval(col("all_nulls").greater_than_or_eq(s("a"))));
        assert!(!eval(col("all_nulls").equal_to(s("a"))));
        assert!(!eval(col("all_nans").less_than(Datum::Double(1.0))));
        assert!(!eval(col("all_nans").greater_than(Datum::Double(1.0))));
        assert!(!eval(col("both_nan_and_null").equal_to(Datum::Float(1.0))));
        assert!(eval(col("no_nan_or_null").less_than(Datum::Double(1.0))));
        assert!(!eval(
            col("no_nan_or_null").greater_than(Datum::Double(20.0))
        ));
    }

    #[test]
    fn promoted_bounds_are_read_as_the_current_type() {
        let l = Datum::Long;
        assert!(eval(col("promoted").equal_to(l(5))));
        assert!(!eval(col("promoted").equal_to(l(6))));
        assert!(!eval(col("promoted").less_than(l(-5))));
        assert!(eval(col("promoted").less_than(l(-4))));
    }

    #[test]
    fn in_checks_each_literal_against_the_bounds() {
        assert!(!eval(col("id").is_in([i(1), i(2)])));
        assert!(eval(col("id").is_in([i(29), i(30)])));
        assert!(eval(col("id").is_in([i(1), i(50)])));
        assert!(!eval(col("id").is_in([i(80), i(81)])));
        assert!(!eval(col("all_nulls").is_in([s("a"), s("b")])));
        // More than 200 literals: not checked, even though all are out of range.
        let many = (100..400).map(i);
        assert!(eval(col("id").is_in(many)));
        // Not in is never ruled out.
        assert!(eval(col("id").is_not_in([i(30), i(31)])));
    }

    #[test]
    fn starts_with_compares_bounds_cut_to_the_prefix() {
        assert!(eval(col("some_nulls").starts_with("a")));
        assert!(eval(col("some_nulls").starts_with("m")));
        assert!(!eval(col("some_nulls").starts_with("zz")));
        assert!(eval(col("no_nulls").starts_with("ab")));
        assert!(eval(col("no_nulls").starts_with("abd")));
        assert!(!eval(col("no_nulls").starts_with("abb")));
        assert!(!eval(col("no_nulls").starts_with("b")));
        assert!(!eval(col("no_nulls").starts_with("aa")));
        assert!(!eval(col("all_nulls").starts_with("a")));
    }

    #[test]
    fn not_starts_with_is_ruled_out_only_when_both_bounds_start_with_the_prefix() {
        assert!(!eval(col("no_nulls").not_starts_with("ab")));
        assert!(!eval(col("no_nulls").not_starts_with("a")));
        assert!(eval(col("no_nulls").not_starts_with("abc")));
        assert!(eval(col("no_nulls").not_starts_with("abcd")));
        // Nulls present: kept, as the reference does.
        assert!(eval(col("some_nulls").not_starts_with("a")));
        assert!(eval(col("all_nulls").not_starts_with("a")));
    }

    #[test]
    fn and_or_combine() {
        assert!(!eval(
            col("id")
                .less_than(i(5))
                .and(col("no_nulls").starts_with("a"))
        ));
        assert!(eval(
            col("id")
                .less_than(i(5))
                .or(col("no_nulls").starts_with("a"))
        ));
        assert!(!eval(
            col("id")
                .less_than(i(5))
                .or(col("no_nulls").starts_with("b"))
        ));
        assert!(eval(Predicate::AlwaysTrue));
        assert!(!eval(Predicate::AlwaysFalse));
        // Not is pushed down when binding.
        assert!(!eval(!col("id").greater_than_or_eq(i(5))));
    }

    #[test]
    fn filters_project_through_bucket_and_truncate() {
        let schema = schema();
        let spec = PartitionSpec::new(
            1,
            vec![
                PartitionField {
                    source_id: 1.into(),
                    field_id: 1000,
                    name: "id_bucket".into(),
                    transform: Transform::Bucket(16),
                },
                PartitionField {
                    source_id: 4.into(),
                    field_id: 1001,
                    name: "no_nulls_trunc".into(),
                    transform: Transform::Truncate(2),
                },
            ],
        );
        let bucket = |v: i32| Transform::Bucket(16).apply(Some(&i(v))).unwrap();
        let m = ManifestFile {
            partitions: Some(vec![
                summary(false, None, bucket(7), bucket(7)),
                summary(false, None, Some(s("ab")), Some(s("ac"))),
            ]),
            ..Default::default()
        };
        let eval = |p: Predicate| {
            let b = p.bind(&schema, true).unwrap();
            ManifestEvaluator::for_row_filter(&b, &spec, &schema)
                .unwrap()
                .eval(&m)
                .unwrap()
        };
        assert!(eval(col("id").equal_to(i(7))));
        let other = (0..100).find(|v| bucket(*v) != bucket(7)).unwrap();
        assert!(!eval(col("id").equal_to(i(other))));
        assert!(eval(col("id").less_than(i(0))), "bucket loses order");
        assert!(eval(col("no_nulls").starts_with("abcdef")));
        assert!(eval(col("no_nulls").equal_to(s("acxyz"))));
        assert!(!eval(col("no_nulls").equal_to(s("adxyz"))));
        assert!(!eval(col("no_nulls").greater_than(s("ad"))));
    }

    #[test]
    fn unreadable_bounds_are_errors_naming_the_manifest() {
        let bound = col("id").less_than(i(5)).bind(&schema(), true).unwrap();
        let e = ManifestEvaluator::for_row_filter(&bound, &spec(), &schema()).unwrap();
        let mut m = manifest();
        m.partitions.as_mut().unwrap()[0].lower_bound = Some(vec![1, 2, 3]);
        let err = e.eval(&m).unwrap_err();
        assert!(err.message().contains("m.avro"), "{err}");
        assert!(err.message().contains("'id'"), "{err}");
    }
}
