//! Projection of bound predicates through partition transforms (spec "Scan Planning"; the
//! per-transform rules follow the reference implementation's `ProjectionUtil` and transform
//! classes).
//!
//! - [`Transform::project`]: inclusive projection. If a row matches the predicate, its
//!   partition value matches the projection; used to skip files that cannot match.
//! - [`Transform::project_strict`]: strict projection. If a partition value matches the
//!   projection, every row in the partition matches the predicate; used to find files whose
//!   rows all match (residuals, metadata-only deletes).
//!
//! `None` means "no useful projection": `true` for inclusive, nothing guaranteed for strict.

use std::cmp::Ordering;

use super::literal::dedup_literals;
use super::predicate::{BoundPredicate, Predicate, PredicateOperator, Reference};
use crate::spec::{Datum, PrimitiveType, Transform, Type};
use crate::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Inclusive,
    Strict,
}

impl Mode {
    /// The predicate "cannot project" stands for.
    fn unknown(self) -> Predicate {
        match self {
            Mode::Inclusive => Predicate::AlwaysTrue,
            Mode::Strict => Predicate::AlwaysFalse,
        }
    }
}

impl Transform {
    /// Inclusive projection of `pred` onto the partition field `partition_field_name` that
    /// this transform produces: every row matching `pred` has a partition value matching the
    /// result. `None` means no projection (always true).
    ///
    /// `pred` must reference only this transform's source column; `And`/`Or` are projected
    /// leaf by leaf. Fails when the transform does not apply to the column's type.
    pub fn project(
        &self,
        partition_field_name: &str,
        pred: &BoundPredicate,
    ) -> Result<Option<Predicate>> {
        self.project_as(partition_field_name, pred, Mode::Inclusive)
    }

    /// Strict projection of `pred` onto the partition field `partition_field_name`: when a
    /// partition value matches the result, every row with that value matches `pred`. `None`
    /// means no such guarantee can be given.
    ///
    /// `pred` must reference only this transform's source column; `And`/`Or` are projected
    /// leaf by leaf. Fails when the transform does not apply to the column's type.
    pub fn project_strict(
        &self,
        partition_field_name: &str,
        pred: &BoundPredicate,
    ) -> Result<Option<Predicate>> {
        self.project_as(partition_field_name, pred, Mode::Strict)
    }

    fn project_as(
        &self,
        name: &str,
        pred: &BoundPredicate,
        mode: Mode,
    ) -> Result<Option<Predicate>> {
        let projected = self.project_tree(name, pred, mode)?;
        Ok((projected != mode.unknown()).then_some(projected))
    }

    fn project_tree(&self, name: &str, pred: &BoundPredicate, mode: Mode) -> Result<Predicate> {
        Ok(match pred {
            BoundPredicate::AlwaysTrue => Predicate::AlwaysTrue,
            BoundPredicate::AlwaysFalse => Predicate::AlwaysFalse,
            BoundPredicate::And(a, b) => self
                .project_tree(name, a, mode)?
                .and(self.project_tree(name, b, mode)?),
            BoundPredicate::Or(a, b) => self
                .project_tree(name, a, mode)?
                .or(self.project_tree(name, b, mode)?),
            leaf => self
                .project_leaf(name, leaf, mode)?
                .unwrap_or_else(|| mode.unknown()),
        })
    }

    fn project_leaf(
        &self,
        name: &str,
        pred: &BoundPredicate,
        mode: Mode,
    ) -> Result<Option<Predicate>> {
        let Some(term) = pred.term() else {
            return Ok(None);
        };
        if matches!(self, Transform::Void | Transform::Unknown(_)) {
            return Ok(None);
        }
        let source = *term.field_type();
        if !self.can_transform(&Type::Primitive(source)) {
            return Err(Error::invalid(format!(
                "cannot project {pred} through {self}: column '{}' is {source}, which {self} does not apply to",
                term.name()
            )));
        }
        let out = Reference::new(name);
        // The partition value is null exactly when the source value is, for every
        // transform but void; NaN checks only bind on floats, which only identity accepts.
        if let BoundPredicate::Unary { op, .. } = pred {
            return Ok(Some(Predicate::Unary { op: *op, term: out }));
        }
        match self {
            Transform::Identity => Ok(Some(identity(pred, out))),
            Transform::Bucket(_) => self.project_bucket(pred, out, mode),
            Transform::Truncate(width) => match source {
                PrimitiveType::String => self.project_truncated_string(*width, pred, out, mode),
                PrimitiveType::Binary => self.project_prefix_ordered(pred, out, mode),
                _ => self.project_ordered(pred, out, mode),
            },
            Transform::Year | Transform::Month | Transform::Day | Transform::Hour => {
                let projected = self.project_ordered(pred, out, mode)?;
                // day(date) is the date itself, so only other time projections can see the
                // legacy off-by-one values.
                if *self == Transform::Day && source == PrimitiveType::Date {
                    Ok(projected)
                } else {
                    Ok(projected.map(|p| fix_legacy_time_projection(p, mode)))
                }
            }
            Transform::Void | Transform::Unknown(_) => Ok(None),
        }
    }

    /// Bucket: `=` and `in` project inclusively, `!=` and `not in` strictly; order is lost.
    fn project_bucket(
        &self,
        pred: &BoundPredicate,
        out: Reference,
        mode: Mode,
    ) -> Result<Option<Predicate>> {
        match pred {
            BoundPredicate::Binary { op, literal, .. } => {
                let wanted = match mode {
                    Mode::Inclusive => PredicateOperator::Eq,
                    Mode::Strict => PredicateOperator::NotEq,
                };
                if *op != wanted {
                    return Ok(None);
                }
                self.transformed(*op, out, literal)
            }
            BoundPredicate::Set { op, literals, .. } => self.project_set(*op, literals, out, mode),
            _ => Ok(None),
        }
    }

    /// Order-preserving transforms on integers, decimals, dates and timestamps: bounds are
    /// moved by one unit so the transformed bound is closed on the right side
    /// (`x < v` becomes `p <= t(v - 1)` inclusively, `x <= v` becomes `p < t(v + 1)` strictly).
    fn project_ordered(
        &self,
        pred: &BoundPredicate,
        out: Reference,
        mode: Mode,
    ) -> Result<Option<Predicate>> {
        use PredicateOperator::*;
        match pred {
            BoundPredicate::Binary { op, literal, .. } => {
                let (new_op, bound) = match (mode, op) {
                    (Mode::Inclusive, LessThan) => (LessThanOrEq, step(literal, -1)),
                    (Mode::Inclusive, LessThanOrEq) => (LessThanOrEq, Some(literal.clone())),
                    (Mode::Inclusive, GreaterThan) => (GreaterThanOrEq, step(literal, 1)),
                    (Mode::Inclusive, GreaterThanOrEq) => (GreaterThanOrEq, Some(literal.clone())),
                    (Mode::Inclusive, Eq) => (Eq, Some(literal.clone())),
                    (Mode::Strict, LessThan) => (LessThan, Some(literal.clone())),
                    (Mode::Strict, LessThanOrEq) => (LessThan, step(literal, 1)),
                    (Mode::Strict, GreaterThan) => (GreaterThan, Some(literal.clone())),
                    (Mode::Strict, GreaterThanOrEq) => (GreaterThan, step(literal, -1)),
                    (Mode::Strict, NotEq) => (NotEq, Some(literal.clone())),
                    _ => return Ok(None),
                };
                // A bound at the edge of its type has no neighbour: give up, which is safe.
                match bound {
                    Some(bound) => self.transformed(new_op, out, &bound),
                    None => Ok(None),
                }
            }
            BoundPredicate::Set { op, literals, .. } => self.project_set(*op, literals, out, mode),
            _ => Ok(None),
        }
    }

    /// Truncated strings and binaries: truncation keeps order but not strictness, so `<`
    /// and `<=` both become `<= t(v)` inclusively and `< t(v)` strictly.
    fn project_prefix_ordered(
        &self,
        pred: &BoundPredicate,
        out: Reference,
        mode: Mode,
    ) -> Result<Option<Predicate>> {
        use PredicateOperator::*;
        match pred {
            BoundPredicate::Binary { op, literal, .. } => {
                let new_op = match (mode, op) {
                    (Mode::Inclusive, LessThan | LessThanOrEq) => LessThanOrEq,
                    (Mode::Inclusive, GreaterThan | GreaterThanOrEq) => GreaterThanOrEq,
                    (Mode::Inclusive, Eq) => Eq,
                    (Mode::Strict, LessThan | LessThanOrEq) => LessThan,
                    (Mode::Strict, GreaterThan | GreaterThanOrEq) => GreaterThan,
                    (Mode::Strict, NotEq) => NotEq,
                    _ => return Ok(None),
                };
                self.transformed(new_op, out, literal)
            }
            BoundPredicate::Set { op, literals, .. } => self.project_set(*op, literals, out, mode),
            _ => Ok(None),
        }
    }

    /// Truncated strings add prefix tests, decided by the prefix length in code points
    /// against the width.
    fn project_truncated_string(
        &self,
        width: u32,
        pred: &BoundPredicate,
        out: Reference,
        mode: Mode,
    ) -> Result<Option<Predicate>> {
        use PredicateOperator::*;
        let BoundPredicate::Binary {
            op: op @ (StartsWith | NotStartsWith),
            literal,
            ..
        } = pred
        else {
            return self.project_prefix_ordered(pred, out, mode);
        };
        let Datum::String(prefix) = literal else {
            return Ok(None);
        };
        let keep = |op| -> Result<Option<Predicate>> {
            Ok(Some(Predicate::Binary {
                op,
                term: out.clone(),
                literal: literal.clone(),
            }))
        };
        match (
            op,
            mode,
            (prefix.chars().count() as u64).cmp(&u64::from(width)),
        ) {
            // A prefix shorter than the width is kept whole in every partition value.
            (_, _, Ordering::Less) => keep(*op),
            // A prefix of exactly the width is the whole partition value.
            (StartsWith, _, Ordering::Equal) => keep(Eq),
            (_, _, Ordering::Equal) => keep(NotEq),
            (StartsWith, Mode::Inclusive, Ordering::Greater)
            | (NotStartsWith, Mode::Strict, Ordering::Greater) => {
                self.transformed(*op, out.clone(), literal)
            }
            _ => Ok(None),
        }
    }

    /// `in` projects inclusively and `not in` strictly, value by value.
    fn project_set(
        &self,
        op: PredicateOperator,
        literals: &[Datum],
        out: Reference,
        mode: Mode,
    ) -> Result<Option<Predicate>> {
        let wanted = match mode {
            Mode::Inclusive => PredicateOperator::In,
            Mode::Strict => PredicateOperator::NotIn,
        };
        if op != wanted {
            return Ok(None);
        }
        let mut values = Vec::with_capacity(literals.len());
        for literal in literals {
            if let Some(v) = self.apply(Some(literal))? {
                values.push(v);
            }
        }
        Ok(Some(Predicate::Set {
            op,
            term: out,
            literals: dedup_literals(values),
        }))
    }

    fn transformed(
        &self,
        op: PredicateOperator,
        out: Reference,
        literal: &Datum,
    ) -> Result<Option<Predicate>> {
        Ok(self.apply(Some(literal))?.map(|literal| Predicate::Binary {
            op,
            term: out,
            literal,
        }))
    }
}

/// Identity keeps the predicate, renamed to the partition field.
fn identity(pred: &BoundPredicate, out: Reference) -> Predicate {
    match pred {
        BoundPredicate::Unary { op, .. } => Predicate::Unary { op: *op, term: out },
        BoundPredicate::Binary { op, literal, .. } => Predicate::Binary {
            op: *op,
            term: out,
            literal: literal.clone(),
        },
        BoundPredicate::Set { op, literals, .. } => Predicate::Set {
            op: *op,
            term: out,
            literals: literals.clone(),
        },
        BoundPredicate::AlwaysTrue => Predicate::AlwaysTrue,
        BoundPredicate::AlwaysFalse => Predicate::AlwaysFalse,
        BoundPredicate::And(..) | BoundPredicate::Or(..) => Predicate::AlwaysTrue,
    }
}

/// The value one unit above (`delta = 1`) or below (`-1`) in the value's own unit; `None`
/// at the edge of the type or for unordered types.
fn step(value: &Datum, delta: i32) -> Option<Datum> {
    Some(match value {
        Datum::Int(v) => Datum::Int(v.checked_add(delta)?),
        Datum::Date(v) => Datum::Date(v.checked_add(delta)?),
        Datum::Long(v) => Datum::Long(v.checked_add(i64::from(delta))?),
        Datum::Timestamp(v) => Datum::Timestamp(v.checked_add(i64::from(delta))?),
        Datum::Timestamptz(v) => Datum::Timestamptz(v.checked_add(i64::from(delta))?),
        Datum::TimestampNs(v) => Datum::TimestampNs(v.checked_add(i64::from(delta))?),
        Datum::TimestamptzNs(v) => Datum::TimestamptzNs(v.checked_add(i64::from(delta))?),
        Datum::Decimal {
            unscaled,
            precision,
            scale,
        } => Datum::Decimal {
            unscaled: unscaled.checked_add(i128::from(delta))?,
            precision: *precision,
            scale: *scale,
        },
        _ => return None,
    })
}

fn time_ordinal(value: &Datum) -> Option<i32> {
    match value {
        Datum::Int(v) | Datum::Date(v) => Some(*v),
        _ => None,
    }
}

/// Widen a projected time predicate for files written by Iceberg 0.10.0 and earlier, whose
/// year/month/day/hour of a pre-1970 value was one larger than the correct one. Both
/// adjustments only make the projection more conservative, so they are always safe.
fn fix_legacy_time_projection(projected: Predicate, mode: Mode) -> Predicate {
    use PredicateOperator::*;
    let negative = |d: &Datum| time_ordinal(d).is_some_and(|v| v < 0);
    let not_positive = |d: &Datum| time_ordinal(d).is_some_and(|v| v <= 0);
    let with_next = |literals: Vec<Datum>| {
        let mut out = Vec::with_capacity(literals.len() * 2);
        for d in literals {
            let next = negative(&d).then(|| step(&d, 1)).flatten();
            out.push(d);
            out.extend(next);
        }
        dedup_literals(out)
    };
    match (mode, projected) {
        (Mode::Inclusive, Predicate::Binary { op, term, literal })
            if matches!(op, LessThan | LessThanOrEq) && negative(&literal) =>
        {
            match step(&literal, 1) {
                Some(literal) => Predicate::Binary { op, term, literal },
                None => Predicate::Binary { op, term, literal },
            }
        }
        (
            Mode::Inclusive,
            Predicate::Binary {
                op: Eq,
                term,
                literal,
            },
        ) if negative(&literal) => Predicate::Set {
            op: In,
            term,
            literals: with_next(vec![literal]),
        },
        (
            Mode::Inclusive,
            Predicate::Set {
                op: In,
                term,
                literals,
            },
        ) => Predicate::Set {
            op: In,
            term,
            literals: with_next(literals),
        },
        (Mode::Strict, Predicate::Binary { op, term, literal })
            if matches!(op, GreaterThan | GreaterThanOrEq) && not_positive(&literal) =>
        {
            match step(&literal, 1) {
                Some(literal) => Predicate::Binary { op, term, literal },
                None => Predicate::Binary { op, term, literal },
            }
        }
        (
            Mode::Strict,
            Predicate::Binary {
                op: NotEq,
                term,
                literal,
            },
        ) if negative(&literal) => Predicate::Set {
            op: NotIn,
            term,
            literals: with_next(vec![literal]),
        },
        (
            Mode::Strict,
            Predicate::Set {
                op: NotIn,
                term,
                literals,
            },
        ) => Predicate::Set {
            op: NotIn,
            term,
            literals: with_next(literals),
        },
        (_, other) => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expr::BoundReference;
    use crate::spec::transform::bucket_hash;
    use crate::spec::{NestedField, Schema};
    use PredicateOperator::*;

    fn schema() -> Schema {
        Schema::builder()
            .with_fields([
                NestedField::optional(1, "i", PrimitiveType::Int),
                NestedField::optional(2, "l", PrimitiveType::Long),
                NestedField::optional(
                    3,
                    "dec",
                    PrimitiveType::Decimal {
                        precision: 9,
                        scale: 2,
                    },
                ),
                NestedField::optional(4, "s", PrimitiveType::String),
                NestedField::optional(5, "b", PrimitiveType::Binary),
                NestedField::optional(6, "d", PrimitiveType::Date),
                NestedField::optional(7, "ts", PrimitiveType::Timestamp),
                NestedField::optional(8, "tsns", PrimitiveType::TimestamptzNs),
                NestedField::optional(9, "f", PrimitiveType::Double),
            ])
            .build()
            .unwrap()
    }

    fn bind(p: Predicate) -> BoundPredicate {
        p.bind(&schema(), true).unwrap()
    }

    fn col(name: &str) -> Reference {
        Reference::new(name)
    }

    fn part() -> Reference {
        Reference::new("p")
    }

    fn incl(t: &Transform, p: Predicate) -> Option<Predicate> {
        t.project("p", &bind(p)).unwrap()
    }

    fn strict(t: &Transform, p: Predicate) -> Option<Predicate> {
        t.project_strict("p", &bind(p)).unwrap()
    }

    fn leaf(op: PredicateOperator, literal: Datum) -> Option<Predicate> {
        Some(Predicate::Binary {
            op,
            term: part(),
            literal,
        })
    }

    fn set(op: PredicateOperator, literals: Vec<Datum>) -> Option<Predicate> {
        Some(Predicate::Set {
            op,
            term: part(),
            literals,
        })
    }

    fn s(v: &str) -> Datum {
        Datum::String(v.to_string())
    }

    fn dec(unscaled: i128) -> Datum {
        Datum::Decimal {
            unscaled,
            precision: 9,
            scale: 2,
        }
    }

    #[test]
    fn identity_projects_every_operator_both_ways() {
        let t = Transform::Identity;
        let i = Datum::Int;
        for (p, expected) in [
            (col("i").less_than(i(5)), leaf(LessThan, i(5))),
            (col("i").not_equal_to(i(5)), leaf(NotEq, i(5))),
            (
                col("i").is_not_in([i(1), i(2)]),
                set(NotIn, vec![i(1), i(2)]),
            ),
            (col("s").starts_with("ab"), leaf(StartsWith, s("ab"))),
            (col("s").not_starts_with("ab"), leaf(NotStartsWith, s("ab"))),
            (
                col("f").is_nan(),
                Some(Predicate::Unary {
                    op: IsNan,
                    term: part(),
                }),
            ),
        ] {
            assert_eq!(incl(&t, p.clone()), expected, "{p}");
            assert_eq!(strict(&t, p.clone()), expected, "{p}");
        }
    }

    #[test]
    fn bucket_projects_equality_inclusively_and_inequality_strictly() {
        let t = Transform::Bucket(16);
        let bucket = |v: i32| Datum::Int((bucket_hash(&Datum::Int(v)).unwrap() & i32::MAX) % 16);
        let i = Datum::Int;
        assert_eq!(incl(&t, col("i").equal_to(i(34))), leaf(Eq, bucket(34)));
        assert_eq!(strict(&t, col("i").equal_to(i(34))), None);
        assert_eq!(incl(&t, col("i").not_equal_to(i(34))), None);
        assert_eq!(
            strict(&t, col("i").not_equal_to(i(34))),
            leaf(NotEq, bucket(34))
        );
        assert_eq!(
            incl(&t, col("i").is_in([i(34), i(35)])),
            set(In, vec![bucket(34), bucket(35)])
        );
        assert_eq!(strict(&t, col("i").is_in([i(34), i(35)])), None);
        assert_eq!(incl(&t, col("i").is_not_in([i(34), i(35)])), None);
        assert_eq!(
            strict(&t, col("i").is_not_in([i(34), i(35)])),
            set(NotIn, vec![bucket(34), bucket(35)])
        );
        for p in [
            col("i").less_than(i(34)),
            col("i").greater_than_or_eq(i(34)),
        ] {
            assert_eq!(incl(&t, p.clone()), None, "{p}");
            assert_eq!(strict(&t, p.clone()), None, "{p}");
        }
        assert_eq!(
            incl(&t, col("i").is_null()),
            Some(Predicate::Unary {
                op: IsNull,
                term: part()
            })
        );
        // The hash of a long literal is the hash of the same int.
        assert_eq!(
            incl(&t, col("l").equal_to(Datum::Long(34))),
            leaf(Eq, bucket(34))
        );
    }

    #[test]
    fn truncate_projects_integer_ranges_with_adjusted_bounds() {
        let t = Transform::Truncate(10);
        let i = Datum::Int;
        let cases = [
            // (predicate, inclusive, strict)
            (
                col("i").less_than(i(10)),
                leaf(LessThanOrEq, i(0)),
                leaf(LessThan, i(10)),
            ),
            (
                col("i").less_than(i(5)),
                leaf(LessThanOrEq, i(0)),
                leaf(LessThan, i(0)),
            ),
            (
                col("i").less_than_or_eq(i(10)),
                leaf(LessThanOrEq, i(10)),
                leaf(LessThan, i(10)),
            ),
            (
                col("i").less_than_or_eq(i(9)),
                leaf(LessThanOrEq, i(0)),
                leaf(LessThan, i(10)),
            ),
            (
                col("i").greater_than(i(9)),
                leaf(GreaterThanOrEq, i(10)),
                leaf(GreaterThan, i(0)),
            ),
            (
                col("i").greater_than_or_eq(i(10)),
                leaf(GreaterThanOrEq, i(10)),
                leaf(GreaterThan, i(0)),
            ),
            (
                col("i").greater_than_or_eq(i(5)),
                leaf(GreaterThanOrEq, i(0)),
                leaf(GreaterThan, i(0)),
            ),
            (col("i").equal_to(i(15)), leaf(Eq, i(10)), None),
            (col("i").not_equal_to(i(15)), None, leaf(NotEq, i(10))),
            (
                col("i").less_than(i(-5)),
                leaf(LessThanOrEq, i(-10)),
                leaf(LessThan, i(-10)),
            ),
            (
                col("i").is_in([i(1), i(5), i(15)]),
                set(In, vec![i(0), i(10)]),
                None,
            ),
            (
                col("i").is_not_in([i(1), i(15)]),
                None,
                set(NotIn, vec![i(0), i(10)]),
            ),
        ];
        for (p, inclusive, strict_expected) in cases {
            assert_eq!(incl(&t, p.clone()), inclusive, "inclusive {p}");
            assert_eq!(strict(&t, p.clone()), strict_expected, "strict {p}");
        }
        // Longs follow the same rules.
        assert_eq!(
            incl(&t, col("l").less_than(Datum::Long(10))),
            leaf(LessThanOrEq, Datum::Long(0))
        );
        assert_eq!(
            strict(&t, col("l").greater_than_or_eq(Datum::Long(-10))),
            leaf(GreaterThan, Datum::Long(-20))
        );
        // No neighbour below i32::MIN: the projection gives up rather than overflow.
        assert_eq!(incl(&t, col("i").less_than(i(i32::MIN))), None);
    }

    #[test]
    fn truncate_projects_decimals_on_unscaled_values() {
        let t = Transform::Truncate(50); // 0.50 at scale 2
        let cases = [
            (col("dec").equal_to(dec(1065)), leaf(Eq, dec(1050)), None),
            (
                col("dec").less_than(dec(1050)),
                leaf(LessThanOrEq, dec(1000)),
                leaf(LessThan, dec(1050)),
            ),
            (
                col("dec").less_than_or_eq(dec(1049)),
                leaf(LessThanOrEq, dec(1000)),
                leaf(LessThan, dec(1050)),
            ),
            (
                col("dec").greater_than(dec(1049)),
                leaf(GreaterThanOrEq, dec(1050)),
                leaf(GreaterThan, dec(1000)),
            ),
            (
                col("dec").greater_than_or_eq(dec(1050)),
                leaf(GreaterThanOrEq, dec(1050)),
                leaf(GreaterThan, dec(1000)),
            ),
            (
                col("dec").not_equal_to(dec(-5)),
                None,
                leaf(NotEq, dec(-50)),
            ),
        ];
        for (p, inclusive, strict_expected) in cases {
            assert_eq!(incl(&t, p.clone()), inclusive, "inclusive {p}");
            assert_eq!(strict(&t, p.clone()), strict_expected, "strict {p}");
        }
    }

    #[test]
    fn truncate_projects_string_prefixes_by_code_points() {
        let t = Transform::Truncate(3);
        let c = || col("s");
        let cases = [
            (
                c().starts_with("ab"),
                leaf(StartsWith, s("ab")),
                leaf(StartsWith, s("ab")),
            ),
            (
                c().starts_with("abc"),
                leaf(Eq, s("abc")),
                leaf(Eq, s("abc")),
            ),
            (c().starts_with("abcd"), leaf(StartsWith, s("abc")), None),
            (
                c().not_starts_with("ab"),
                leaf(NotStartsWith, s("ab")),
                leaf(NotStartsWith, s("ab")),
            ),
            (
                c().not_starts_with("abc"),
                leaf(NotEq, s("abc")),
                leaf(NotEq, s("abc")),
            ),
            (
                c().not_starts_with("abcd"),
                None,
                leaf(NotStartsWith, s("abc")),
            ),
            (
                c().less_than(s("abcd")),
                leaf(LessThanOrEq, s("abc")),
                leaf(LessThan, s("abc")),
            ),
            (
                c().less_than_or_eq(s("abcd")),
                leaf(LessThanOrEq, s("abc")),
                leaf(LessThan, s("abc")),
            ),
            (
                c().greater_than(s("abcd")),
                leaf(GreaterThanOrEq, s("abc")),
                leaf(GreaterThan, s("abc")),
            ),
            (c().equal_to(s("abcd")), leaf(Eq, s("abc")), None),
            (c().not_equal_to(s("abcd")), None, leaf(NotEq, s("abc"))),
            (
                c().is_in([s("abcd"), s("abce"), s("x")]),
                set(In, vec![s("abc"), s("x")]),
                None,
            ),
            (
                c().is_not_in([s("abcd"), s("x")]),
                None,
                set(NotIn, vec![s("abc"), s("x")]),
            ),
            // Three code points, six bytes: exactly the width.
            (
                c().starts_with("é€ü"),
                leaf(Eq, s("é€ü")),
                leaf(Eq, s("é€ü")),
            ),
            (c().starts_with("é€üx"), leaf(StartsWith, s("é€ü")), None),
        ];
        for (p, inclusive, strict_expected) in cases {
            assert_eq!(incl(&t, p.clone()), inclusive, "inclusive {p}");
            assert_eq!(strict(&t, p.clone()), strict_expected, "strict {p}");
        }
    }

    #[test]
    fn truncate_projects_binary_ranges() {
        let t = Transform::Truncate(2);
        let b = |v: &[u8]| Datum::Binary(v.to_vec());
        let p = col("b").less_than(b(&[1, 2, 3]));
        assert_eq!(incl(&t, p.clone()), leaf(LessThanOrEq, b(&[1, 2])));
        assert_eq!(strict(&t, p), leaf(LessThan, b(&[1, 2])));
        let p = col("b").equal_to(b(&[1, 2, 3]));
        assert_eq!(incl(&t, p.clone()), leaf(Eq, b(&[1, 2])));
        assert_eq!(strict(&t, p), None);
    }

    #[test]
    fn month_of_dates_projects_like_the_reference_before_the_epoch() {
        // Mirrors the reference implementation's negative-month projection tests.
        let t = Transform::Month;
        let i = Datum::Int;
        let jan_1969 = Datum::Date(-365); // 1969-01-01 is month -12
        let dec_31_1969 = Datum::Date(-1); // month -1
        let d = || col("d");
        let cases = [
            (
                d().less_than(jan_1969.clone()),
                leaf(LessThanOrEq, i(-12)),
                leaf(LessThan, i(-12)),
            ),
            (
                d().less_than_or_eq(jan_1969.clone()),
                leaf(LessThanOrEq, i(-11)),
                leaf(LessThan, i(-12)),
            ),
            (
                d().greater_than(jan_1969.clone()),
                leaf(GreaterThanOrEq, i(-12)),
                leaf(GreaterThan, i(-11)),
            ),
            (
                d().greater_than_or_eq(jan_1969.clone()),
                leaf(GreaterThanOrEq, i(-12)),
                leaf(GreaterThan, i(-12)),
            ),
            (
                d().equal_to(jan_1969.clone()),
                set(In, vec![i(-12), i(-11)]),
                None,
            ),
            (
                d().not_equal_to(jan_1969.clone()),
                None,
                set(NotIn, vec![i(-12), i(-11)]),
            ),
            (
                d().is_in([jan_1969.clone(), dec_31_1969.clone()]),
                set(In, vec![i(-12), i(-11), i(-1), i(0)]),
                None,
            ),
            (
                d().is_not_in([jan_1969, dec_31_1969]),
                None,
                set(NotIn, vec![i(-12), i(-11), i(-1), i(0)]),
            ),
        ];
        for (p, inclusive, strict_expected) in cases {
            assert_eq!(incl(&t, p.clone()), inclusive, "inclusive {p}");
            assert_eq!(strict(&t, p.clone()), strict_expected, "strict {p}");
        }
    }

    #[test]
    fn month_of_dates_projects_plainly_after_the_epoch() {
        let t = Transform::Month;
        let i = Datum::Int;
        let dec_31_2017 = Datum::Date(17531); // month 575
        let d = || col("d");
        assert_eq!(
            incl(&t, d().less_than(dec_31_2017.clone())),
            leaf(LessThanOrEq, i(575))
        );
        assert_eq!(
            incl(&t, d().greater_than(dec_31_2017.clone())),
            leaf(GreaterThanOrEq, i(576))
        );
        assert_eq!(
            strict(&t, d().less_than_or_eq(dec_31_2017.clone())),
            leaf(LessThan, i(576))
        );
        assert_eq!(
            strict(&t, d().greater_than(dec_31_2017.clone())),
            leaf(GreaterThan, i(575))
        );
        assert_eq!(
            incl(&t, d().equal_to(dec_31_2017.clone())),
            leaf(Eq, i(575))
        );
        assert_eq!(
            strict(&t, d().not_equal_to(dec_31_2017)),
            leaf(NotEq, i(575))
        );
    }

    #[test]
    fn day_of_timestamps_projects_like_the_reference_before_the_epoch() {
        let t = Transform::Day;
        let date = Datum::Date;
        let ts = || col("ts");
        let jan_1969 = Datum::Timestamp(-365 * 86_400_000_000); // day -365
        let last_micro_1969 = Datum::Timestamp(-1); // day -1
        let cases = [
            (
                ts().less_than(jan_1969.clone()),
                leaf(LessThanOrEq, date(-365)),
                leaf(LessThan, date(-365)),
            ),
            (
                ts().less_than_or_eq(jan_1969.clone()),
                leaf(LessThanOrEq, date(-364)),
                leaf(LessThan, date(-365)),
            ),
            (
                ts().equal_to(jan_1969.clone()),
                set(In, vec![date(-365), date(-364)]),
                None,
            ),
            (
                ts().less_than(last_micro_1969.clone()),
                leaf(LessThanOrEq, date(0)),
                leaf(LessThan, date(-1)),
            ),
            (
                ts().less_than_or_eq(last_micro_1969.clone()),
                leaf(LessThanOrEq, date(0)),
                leaf(LessThan, date(0)),
            ),
            (
                ts().greater_than(last_micro_1969.clone()),
                leaf(GreaterThanOrEq, date(0)),
                leaf(GreaterThan, date(0)),
            ),
            (
                ts().greater_than_or_eq(last_micro_1969.clone()),
                leaf(GreaterThanOrEq, date(-1)),
                leaf(GreaterThan, date(0)),
            ),
            (
                ts().not_equal_to(last_micro_1969),
                None,
                set(NotIn, vec![date(-1), date(0)]),
            ),
        ];
        for (p, inclusive, strict_expected) in cases {
            assert_eq!(incl(&t, p.clone()), inclusive, "inclusive {p}");
            assert_eq!(strict(&t, p.clone()), strict_expected, "strict {p}");
        }
    }

    #[test]
    fn day_of_dates_is_not_adjusted() {
        let t = Transform::Day;
        let d = Datum::Date;
        assert_eq!(
            incl(&t, col("d").less_than(d(-5))),
            leaf(LessThanOrEq, d(-6))
        );
        assert_eq!(incl(&t, col("d").equal_to(d(-5))), leaf(Eq, d(-5)));
        assert_eq!(
            strict(&t, col("d").greater_than(d(-5))),
            leaf(GreaterThan, d(-5))
        );
    }

    #[test]
    fn year_and_hour_project_timestamps() {
        let i = Datum::Int;
        // 2017-11-16T22:31:08Z
        let v = 1_510_871_468_000_000i64;
        let hour = i(419_686); // 17486 * 24 + 22
        assert_eq!(
            incl(&Transform::Year, col("ts").equal_to(Datum::Timestamp(v))),
            leaf(Eq, i(47))
        );
        assert_eq!(
            incl(
                &Transform::Hour,
                col("ts").greater_than(Datum::Timestamp(v))
            ),
            leaf(GreaterThanOrEq, hour.clone())
        );
        assert_eq!(
            strict(
                &Transform::Hour,
                col("tsns").less_than(Datum::TimestamptzNs(v * 1000))
            ),
            leaf(LessThan, hour.clone())
        );
        assert_eq!(
            incl(
                &Transform::Hour,
                col("tsns").is_in([
                    Datum::TimestamptzNs(v * 1000),
                    Datum::TimestamptzNs(v * 1000 + 1)
                ])
            ),
            set(In, vec![hour])
        );
        // A timestamp literal on a nanosecond column is converted before projecting.
        assert_eq!(
            incl(&Transform::Year, col("tsns").less_than(Datum::Timestamp(v))),
            leaf(LessThanOrEq, i(47))
        );
        // Prefix tests do not apply to time columns; unary checks carry over.
        assert_eq!(
            strict(&Transform::Year, col("ts").is_not_null()),
            Some(Predicate::Unary {
                op: NotNull,
                term: part()
            })
        );
    }

    #[test]
    fn void_and_unknown_transforms_never_project() {
        let unknown: Transform = "zorder".parse().unwrap();
        for t in [Transform::Void, unknown] {
            for p in [col("i").equal_to(Datum::Int(1)), col("i").is_null()] {
                assert_eq!(incl(&t, p.clone()), None);
                assert_eq!(strict(&t, p), None);
            }
        }
    }

    #[test]
    fn and_or_project_leaf_by_leaf() {
        let t = Transform::Truncate(10);
        let i = Datum::Int;
        let range = col("i")
            .greater_than_or_eq(i(15))
            .and(col("i").less_than(i(30)));
        assert_eq!(
            incl(&t, range.clone()),
            Some(
                leaf(GreaterThanOrEq, i(10))
                    .unwrap()
                    .and(leaf(LessThanOrEq, i(20)).unwrap())
            )
        );
        assert_eq!(
            strict(&t, range),
            Some(
                leaf(GreaterThan, i(10))
                    .unwrap()
                    .and(leaf(LessThan, i(30)).unwrap())
            )
        );
        // An unprojectable side makes an inclusive Or unprojectable...
        let either = col("i").equal_to(i(15)).or(col("i").not_equal_to(i(3)));
        assert_eq!(incl(&t, either.clone()), None);
        // ...and a strict And unprojectable.
        let both = col("i").not_equal_to(i(15)).and(col("i").equal_to(i(3)));
        assert_eq!(strict(&t, both), None);
        // While the projectable side of an inclusive And survives.
        let both = col("i").equal_to(i(15)).and(col("i").not_equal_to(i(3)));
        assert_eq!(incl(&t, both), leaf(Eq, i(10)));
        assert_eq!(
            incl(&t, col("i").is_in([]).or(col("i").is_null())),
            Some(Predicate::Unary {
                op: IsNull,
                term: part()
            })
        );
    }

    #[test]
    fn projecting_through_a_transform_that_does_not_apply_fails() {
        let p = bind(col("f").less_than(Datum::Double(1.0)));
        let err = Transform::Bucket(4).project("p", &p).unwrap_err();
        assert!(err.message().contains("'f'"), "{err}");
        let p = BoundPredicate::Binary {
            op: Eq,
            term: BoundReference::new(6, "d", PrimitiveType::Date, false),
            literal: Datum::Date(1),
        };
        assert!(Transform::Hour.project_strict("p", &p).is_err());
    }
}
