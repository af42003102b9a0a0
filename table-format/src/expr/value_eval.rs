//! What a bound predicate means for one row: the semantics every evaluator in [`super`]
//! agrees with, stated once on single values.
//!
//! - Null: SQL semantics. A null value matches `is_null` and nothing else: `x != 5`,
//!   `x not in (..)`, `not_starts_with` and `not_nan` are unknown on null, and unknown rows
//!   do not match. A bound predicate has no `Not`, so "unknown is no match" at the leaves gives
//!   the same rows as Kleene logic with unknown treated as false at the end.
//! - NaN: IEEE semantics, as the reference implementation's metrics evaluators assume. NaN is
//!   neither less than, greater than nor equal to any literal (binding refuses NaN literals),
//!   so it matches `!=` and `not in` but no ordering comparison, `=` or `in`. Binding pushes
//!   `Not` down (`not (x < v)` becomes `x >= v`), so NaN, like null, matches neither a
//!   comparison nor its negation.
//! - Other values compare in the spec's order ([`Datum::partial_cmp_same_type`]): IEEE total
//!   order for floats (so `-0.0 < 0.0`), unsigned bytes for strings, binary and fixed.
//!
//! [`eval_values`] evaluates a whole predicate against values looked up by field id, with
//! three-valued results: `None` means the answer cannot be known (a value is missing or has
//! a type the literal cannot be compared with), which callers turn into their safe answer.

use std::cmp::Ordering;

use super::literal::{Converted, convert_literal};
use super::predicate::{BoundPredicate, PredicateOperator};
use crate::spec::Datum;

/// A column's value in one row (or partition tuple), as a predicate sees it.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Cell<'a> {
    /// The value is not known (e.g. a partition tuple shorter than its spec).
    Unknown,
    /// The value, `None` for null.
    Value(Option<&'a Datum>),
}

/// Evaluate `pred` for one row whose values `cell` returns by field id. `None` when the
/// answer depends on a value that is unknown or cannot be compared.
pub(crate) fn eval_values<'a>(
    pred: &BoundPredicate,
    cell: &mut impl FnMut(i32) -> Cell<'a>,
) -> Option<bool> {
    match pred {
        BoundPredicate::AlwaysTrue => Some(true),
        BoundPredicate::AlwaysFalse => Some(false),
        BoundPredicate::And(a, b) => match eval_values(a, cell) {
            Some(false) => Some(false),
            left => and3(left, eval_values(b, cell)),
        },
        BoundPredicate::Or(a, b) => match eval_values(a, cell) {
            Some(true) => Some(true),
            left => or3(left, eval_values(b, cell)),
        },
        BoundPredicate::Unary { op, term } => match cell(term.field_id()) {
            Cell::Unknown => None,
            Cell::Value(v) => eval_unary(*op, v),
        },
        BoundPredicate::Binary { op, term, literal } => match cell(term.field_id()) {
            Cell::Unknown => None,
            Cell::Value(v) => eval_binary(*op, v, literal),
        },
        BoundPredicate::Set { op, term, literals } => match cell(term.field_id()) {
            Cell::Unknown => None,
            Cell::Value(v) => eval_set(*op, v, literals),
        },
    }
}

/// Three-valued `and`: false wins, then unknown.
pub(crate) fn and3(a: Option<bool>, b: Option<bool>) -> Option<bool> {
    match (a, b) {
        (Some(false), _) | (_, Some(false)) => Some(false),
        (Some(true), Some(true)) => Some(true),
        _ => None,
    }
}

/// Three-valued `or`: true wins, then unknown.
pub(crate) fn or3(a: Option<bool>, b: Option<bool>) -> Option<bool> {
    match (a, b) {
        (Some(true), _) | (_, Some(true)) => Some(true),
        (Some(false), Some(false)) => Some(false),
        _ => None,
    }
}

/// Whether a value is a float or double NaN.
pub(crate) fn is_nan(d: &Datum) -> bool {
    match d {
        Datum::Float(f) => f.is_nan(),
        Datum::Double(f) => f.is_nan(),
        _ => false,
    }
}

/// A null or NaN-checking leaf on one value.
pub(crate) fn eval_unary(op: PredicateOperator, value: Option<&Datum>) -> Option<bool> {
    use PredicateOperator::*;
    Some(match op {
        IsNull => value.is_none(),
        NotNull => value.is_some(),
        IsNan => value.is_some_and(is_nan),
        NotNan => value.is_some_and(|v| !is_nan(v)),
        _ => return None,
    })
}

/// A comparison or prefix leaf on one value.
pub(crate) fn eval_binary(
    op: PredicateOperator,
    value: Option<&Datum>,
    literal: &Datum,
) -> Option<bool> {
    use PredicateOperator::*;
    let Some(value) = value else {
        return Some(false);
    };
    match op {
        StartsWith | NotStartsWith => match (value, literal) {
            (Datum::String(s), Datum::String(prefix)) => {
                Some(s.starts_with(prefix.as_str()) == (op == StartsWith))
            }
            _ => None,
        },
        _ if is_nan(value) => Some(op == NotEq),
        LessThan => Some(compare(value, literal)?.is_lt()),
        LessThanOrEq => Some(compare(value, literal)?.is_le()),
        GreaterThan => Some(compare(value, literal)?.is_gt()),
        GreaterThanOrEq => Some(compare(value, literal)?.is_ge()),
        Eq => Some(compare(value, literal)?.is_eq()),
        NotEq => Some(compare(value, literal)?.is_ne()),
        _ => None,
    }
}

/// An `in` / `not in` leaf on one value.
pub(crate) fn eval_set(
    op: PredicateOperator,
    value: Option<&Datum>,
    literals: &[Datum],
) -> Option<bool> {
    let Some(value) = value else {
        return Some(false);
    };
    let negated = match op {
        PredicateOperator::In => false,
        PredicateOperator::NotIn => true,
        _ => return None,
    };
    if is_nan(value) {
        return Some(negated);
    }
    let mut found = false;
    for literal in literals {
        if compare(value, literal)?.is_eq() {
            found = true;
            break;
        }
    }
    Some(found != negated)
}

/// Order a value against a literal. A value of another type (a partition value written before
/// a type promotion) is first converted to the literal's type, losslessly.
pub(crate) fn compare(value: &Datum, literal: &Datum) -> Option<Ordering> {
    if let Some(ord) = value.partial_cmp_same_type(literal) {
        return Some(ord);
    }
    match convert_literal(value, &literal.primitive_type()).ok()? {
        Converted::Value(v) => v.partial_cmp_same_type(literal),
        Converted::AboveMax => Some(Ordering::Greater),
        Converted::BelowMin => Some(Ordering::Less),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use PredicateOperator::*;

    fn s(v: &str) -> Datum {
        Datum::String(v.to_string())
    }

    #[test]
    fn null_matches_only_is_null() {
        assert_eq!(eval_unary(IsNull, None), Some(true));
        assert_eq!(eval_unary(NotNull, None), Some(false));
        assert_eq!(eval_unary(IsNan, None), Some(false));
        assert_eq!(eval_unary(NotNan, None), Some(false));
        for op in [
            LessThan,
            LessThanOrEq,
            GreaterThan,
            GreaterThanOrEq,
            Eq,
            NotEq,
        ] {
            assert_eq!(eval_binary(op, None, &Datum::Int(1)), Some(false), "{op}");
        }
        assert_eq!(eval_binary(NotStartsWith, None, &s("a")), Some(false));
        assert_eq!(eval_set(NotIn, None, &[Datum::Int(1)]), Some(false));
        assert_eq!(eval_set(In, None, &[Datum::Int(1)]), Some(false));
    }

    #[test]
    fn nan_matches_only_not_equal_and_not_in() {
        let nan = Datum::Double(f64::NAN);
        let one = Datum::Double(1.0);
        for op in [LessThan, LessThanOrEq, GreaterThan, GreaterThanOrEq, Eq] {
            assert_eq!(eval_binary(op, Some(&nan), &one), Some(false), "{op}");
        }
        assert_eq!(eval_binary(NotEq, Some(&nan), &one), Some(true));
        assert_eq!(
            eval_set(In, Some(&nan), std::slice::from_ref(&one)),
            Some(false)
        );
        assert_eq!(eval_set(NotIn, Some(&nan), &[one]), Some(true));
        assert_eq!(eval_unary(IsNan, Some(&nan)), Some(true));
        assert_eq!(eval_unary(NotNan, Some(&nan)), Some(false));
        // The other NaN sign is NaN too.
        let neg_nan = Datum::Float(-f32::NAN);
        assert_eq!(
            eval_binary(LessThan, Some(&neg_nan), &Datum::Float(0.0)),
            Some(false)
        );
    }

    #[test]
    fn values_compare_in_the_spec_order() {
        let v = Datum::Int(5);
        assert_eq!(eval_binary(LessThan, Some(&v), &Datum::Int(6)), Some(true));
        assert_eq!(eval_binary(LessThan, Some(&v), &Datum::Int(5)), Some(false));
        assert_eq!(
            eval_binary(LessThanOrEq, Some(&v), &Datum::Int(5)),
            Some(true)
        );
        assert_eq!(eval_binary(NotEq, Some(&v), &Datum::Int(5)), Some(false));
        assert_eq!(
            eval_binary(Eq, Some(&Datum::Double(-0.0)), &Datum::Double(0.0)),
            Some(false)
        );
        assert_eq!(
            eval_binary(LessThan, Some(&s("Z")), &s("a")),
            Some(true),
            "strings compare by bytes"
        );
        assert_eq!(
            eval_binary(StartsWith, Some(&s("abc")), &s("ab")),
            Some(true)
        );
        assert_eq!(
            eval_binary(NotStartsWith, Some(&s("abc")), &s("ab")),
            Some(false)
        );
        assert_eq!(
            eval_set(In, Some(&v), &[Datum::Int(1), Datum::Int(5)]),
            Some(true)
        );
        assert_eq!(
            eval_set(NotIn, Some(&v), &[Datum::Int(1), Datum::Int(5)]),
            Some(false)
        );
    }

    #[test]
    fn promoted_values_are_widened_and_foreign_types_are_unknown() {
        // An int partition value under a long partition field.
        assert_eq!(
            eval_binary(Eq, Some(&Datum::Int(3)), &Datum::Long(3)),
            Some(true)
        );
        assert_eq!(
            eval_binary(LessThan, Some(&Datum::Int(3)), &Datum::Long(1 << 40)),
            Some(true)
        );
        assert_eq!(eval_binary(Eq, Some(&s("3")), &Datum::Int(3)), None);
        assert_eq!(eval_binary(StartsWith, Some(&Datum::Int(3)), &s("3")), None);
    }

    #[test]
    fn three_valued_connectives() {
        assert_eq!(and3(None, Some(false)), Some(false));
        assert_eq!(and3(None, Some(true)), None);
        assert_eq!(or3(None, Some(true)), Some(true));
        assert_eq!(or3(None, Some(false)), None);
    }
}
