//! Converting predicate literals to a column's type, losslessly.
//!
//! - [`convert_literal`]: a literal as a value of the column's type, or the knowledge that it
//!   lies above or below every value of that type (a `long` literal 2^40 on an `int` column).
//! - [`dedup_literals`]: set literals without repeats, in first-seen order.
//! - [`DisplayDatum`]: a short, readable rendering of a literal for messages.

use std::collections::HashSet;
use std::fmt;

use crate::spec::{Datum, PrimitiveType};

/// The result of converting a literal to a column type.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Converted {
    /// The same value, as a value of the column type.
    Value(Datum),
    /// Greater than every value of the column type.
    AboveMax,
    /// Less than every value of the column type.
    BelowMin,
}

const MICROS_PER_DAY: i64 = 86_400_000_000;

/// Convert `lit` to a value of type `to` without losing information.
///
/// The error is a sentence fragment saying why the literal does not fit, for the caller to
/// put in a message that names the column.
pub(crate) fn convert_literal(lit: &Datum, to: &PrimitiveType) -> Result<Converted, String> {
    use Converted::{AboveMax, BelowMin, Value};
    use PrimitiveType as P;
    let inexact = || {
        format!(
            "the {} literal {} has no exact {to} value",
            lit.primitive_type(),
            DisplayDatum(lit)
        )
    };
    let out = match (lit, to) {
        (Datum::Boolean(b), P::Boolean) => Value(Datum::Boolean(*b)),

        (Datum::Int(v), P::Int) => Value(Datum::Int(*v)),
        (Datum::Int(v), P::Long) => Value(Datum::Long(i64::from(*v))),
        (Datum::Int(v), P::Date) => Value(Datum::Date(*v)),
        (Datum::Int(v), P::Float) => exact_f32(i64::from(*v)).ok_or_else(inexact)?,
        (Datum::Int(v), P::Double) => Value(Datum::Double(f64::from(*v))),
        (Datum::Int(v), P::Decimal { precision, scale }) => {
            rescale(i128::from(*v), 0, *precision, *scale).ok_or_else(inexact)?
        }

        (Datum::Long(v), P::Int) => match i32::try_from(*v) {
            Ok(i) => Value(Datum::Int(i)),
            Err(_) if *v > 0 => AboveMax,
            Err(_) => BelowMin,
        },
        (Datum::Long(v), P::Long) => Value(Datum::Long(*v)),
        (Datum::Long(v), P::Float) => exact_f32(*v).ok_or_else(inexact)?,
        (Datum::Long(v), P::Double) => exact_f64(*v).ok_or_else(inexact)?,
        (Datum::Long(v), P::Decimal { precision, scale }) => {
            rescale(i128::from(*v), 0, *precision, *scale).ok_or_else(inexact)?
        }
        (Datum::Long(v), P::Time) => {
            if *v < 0 {
                BelowMin
            } else if *v >= MICROS_PER_DAY {
                AboveMax
            } else {
                Value(Datum::Time(*v))
            }
        }
        (Datum::Long(v), P::Timestamp) => Value(Datum::Timestamp(*v)),
        (Datum::Long(v), P::Timestamptz) => Value(Datum::Timestamptz(*v)),
        (Datum::Long(v), P::TimestampNs) => Value(Datum::TimestampNs(*v)),
        (Datum::Long(v), P::TimestamptzNs) => Value(Datum::TimestamptzNs(*v)),

        (Datum::Float(f), P::Float) => Value(Datum::Float(*f)),
        (Datum::Float(f), P::Double) => Value(Datum::Double(f64::from(*f))),
        (Datum::Double(d), P::Double) => Value(Datum::Double(*d)),
        (Datum::Double(d), P::Float) => {
            if d.is_finite() && *d > f64::from(f32::MAX) {
                AboveMax
            } else if d.is_finite() && *d < f64::from(f32::MIN) {
                BelowMin
            } else {
                let f = *d as f32;
                if f64::from(f) == *d {
                    Value(Datum::Float(f))
                } else {
                    return Err(inexact());
                }
            }
        }

        (
            Datum::Decimal {
                unscaled, scale, ..
            },
            P::Decimal {
                precision: p2,
                scale: s2,
            },
        ) => rescale(*unscaled, *scale, *p2, *s2).ok_or_else(inexact)?,

        (Datum::Date(d), P::Date) => Value(Datum::Date(*d)),
        (Datum::Date(d), P::Timestamp) => at_midnight(*d, 1, Datum::Timestamp),
        (Datum::Date(d), P::TimestampNs) => at_midnight(*d, 1_000, Datum::TimestampNs),

        (Datum::Time(t), P::Time) => Value(Datum::Time(*t)),

        (Datum::Timestamp(v) | Datum::Timestamptz(v), P::Timestamp) => Value(Datum::Timestamp(*v)),
        (Datum::Timestamp(v) | Datum::Timestamptz(v), P::Timestamptz) => {
            Value(Datum::Timestamptz(*v))
        }
        (Datum::Timestamp(v) | Datum::Timestamptz(v), P::TimestampNs) => {
            scaled(*v, 1_000, Datum::TimestampNs)
        }
        (Datum::Timestamp(v) | Datum::Timestamptz(v), P::TimestamptzNs) => {
            scaled(*v, 1_000, Datum::TimestamptzNs)
        }
        (Datum::TimestampNs(v) | Datum::TimestamptzNs(v), P::TimestampNs) => {
            Value(Datum::TimestampNs(*v))
        }
        (Datum::TimestampNs(v) | Datum::TimestamptzNs(v), P::TimestamptzNs) => {
            Value(Datum::TimestamptzNs(*v))
        }
        (Datum::TimestampNs(v) | Datum::TimestamptzNs(v), P::Timestamp | P::Timestamptz) => {
            if v % 1_000 != 0 {
                return Err(format!(
                    "the nanosecond literal {v} has sub-microsecond digits that a {to} column cannot hold"
                ));
            }
            let micros = v / 1_000;
            Value(if *to == P::Timestamp {
                Datum::Timestamp(micros)
            } else {
                Datum::Timestamptz(micros)
            })
        }

        (Datum::String(s), P::String) => Value(Datum::String(s.clone())),
        (Datum::Uuid(u), P::Uuid) => Value(Datum::Uuid(*u)),
        (Datum::Fixed(b) | Datum::Binary(b), P::Binary) => Value(Datum::Binary(b.clone())),
        (Datum::Fixed(b) | Datum::Binary(b), P::Fixed(len)) => {
            if b.len() as u64 != *len {
                return Err(format!(
                    "the {}-byte literal does not have the column's length {len}",
                    b.len()
                ));
            }
            Value(Datum::Fixed(b.clone()))
        }

        _ => {
            return Err(format!(
                "a {} literal cannot be compared with it",
                lit.primitive_type()
            ));
        }
    };
    Ok(out)
}

fn exact_f32(v: i64) -> Option<Converted> {
    let f = v as f32;
    // A float that is exactly an integer converts back to the same i128 value.
    (f as i128 == i128::from(v)).then_some(Converted::Value(Datum::Float(f)))
}

fn exact_f64(v: i64) -> Option<Converted> {
    let d = v as f64;
    (d as i128 == i128::from(v)).then_some(Converted::Value(Datum::Double(d)))
}

/// Midnight (UTC) of day `days`, in micros times `factor`; out-of-range days are above or
/// below every timestamp.
fn at_midnight(days: i32, factor: i64, make: fn(i64) -> Datum) -> Converted {
    scaled_checked(i64::from(days), MICROS_PER_DAY * factor, days > 0, make)
}

fn scaled(v: i64, factor: i64, make: fn(i64) -> Datum) -> Converted {
    scaled_checked(v, factor, v > 0, make)
}

fn scaled_checked(v: i64, factor: i64, positive: bool, make: fn(i64) -> Datum) -> Converted {
    match v.checked_mul(factor) {
        Some(x) => Converted::Value(make(x)),
        None if positive => Converted::AboveMax,
        None => Converted::BelowMin,
    }
}

/// An unscaled value at `from_scale` as a `decimal(precision, scale)` value. `None` when
/// digits would be lost; above or below the type when it has too many digits.
fn rescale(unscaled: i128, from_scale: u32, precision: u32, scale: u32) -> Option<Converted> {
    let out_of_range = if unscaled > 0 {
        Converted::AboveMax
    } else {
        Converted::BelowMin
    };
    let value = if scale >= from_scale {
        let factor = 10i128.checked_pow(scale - from_scale);
        match factor.and_then(|f| unscaled.checked_mul(f)) {
            Some(v) => v,
            None if unscaled == 0 => 0,
            None => return Some(out_of_range),
        }
    } else {
        match 10i128.checked_pow(from_scale - scale) {
            Some(f) if unscaled % f == 0 => unscaled / f,
            Some(_) => return None,
            // Dividing by more than i128 can hold leaves only zero exact.
            None if unscaled == 0 => 0,
            None => return None,
        }
    };
    let fits = match 10i128.checked_pow(precision) {
        Some(limit) => value.unsigned_abs() < limit.unsigned_abs(),
        None => true,
    };
    Some(if fits {
        Converted::Value(Datum::Decimal {
            unscaled: value,
            precision,
            scale,
        })
    } else {
        out_of_range
    })
}

/// A hashable identity for a literal, so set literals of one type can be deduplicated.
#[derive(PartialEq, Eq, Hash)]
enum LiteralKey<'a> {
    Boolean(bool),
    Integer(i128),
    Float(u64),
    Text(&'a str),
    Bytes(&'a [u8]),
    Uuid(u128),
}

fn literal_key(d: &Datum) -> LiteralKey<'_> {
    // Evaluation orders -0.0 before 0.0 (the spec's order), so they are distinct members.
    let float_bits = |f: f64| f.to_bits();
    match d {
        Datum::Boolean(b) => LiteralKey::Boolean(*b),
        Datum::Int(v) | Datum::Date(v) => LiteralKey::Integer(i128::from(*v)),
        Datum::Long(v)
        | Datum::Time(v)
        | Datum::Timestamp(v)
        | Datum::Timestamptz(v)
        | Datum::TimestampNs(v)
        | Datum::TimestamptzNs(v) => LiteralKey::Integer(i128::from(*v)),
        Datum::Decimal { unscaled, .. } => LiteralKey::Integer(*unscaled),
        Datum::Float(f) => LiteralKey::Float(float_bits(f64::from(*f))),
        Datum::Double(f) => LiteralKey::Float(float_bits(*f)),
        Datum::String(s) => LiteralKey::Text(s),
        Datum::Uuid(u) => LiteralKey::Uuid(u.as_u128()),
        Datum::Fixed(b) | Datum::Binary(b) => LiteralKey::Bytes(b),
    }
}

/// Literals of one type without repeats, keeping the first occurrence's position.
pub(crate) fn dedup_literals(literals: Vec<Datum>) -> Vec<Datum> {
    let mut seen = HashSet::with_capacity(literals.len());
    let keep: Vec<bool> = literals
        .iter()
        .map(|d| seen.insert(literal_key(d)))
        .collect();
    literals
        .into_iter()
        .zip(keep)
        .filter_map(|(d, k)| k.then_some(d))
        .collect()
}

/// A literal as it reads in a predicate: numbers bare, strings quoted, bytes in hex.
pub(crate) struct DisplayDatum<'a>(pub(crate) &'a Datum);

impl fmt::Display for DisplayDatum<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Datum::Boolean(b) => write!(f, "{b}"),
            Datum::Int(v) => write!(f, "{v}"),
            Datum::Long(v) => write!(f, "{v}L"),
            Datum::Float(v) => write!(f, "{v}F"),
            Datum::Double(v) => write!(f, "{v}D"),
            Datum::Decimal {
                unscaled, scale, ..
            } => write!(f, "{unscaled}E-{scale}"),
            Datum::Date(v) => write!(f, "date({v})"),
            Datum::Time(v) => write!(f, "time({v})"),
            Datum::Timestamp(v) => write!(f, "timestamp({v})"),
            Datum::Timestamptz(v) => write!(f, "timestamptz({v})"),
            Datum::TimestampNs(v) => write!(f, "timestamp_ns({v})"),
            Datum::TimestamptzNs(v) => write!(f, "timestamptz_ns({v})"),
            Datum::String(s) => write!(f, "{s:?}"),
            Datum::Uuid(u) => write!(f, "uuid({u})"),
            Datum::Fixed(b) | Datum::Binary(b) => {
                f.write_str("0x")?;
                b.iter().try_for_each(|byte| write!(f, "{byte:02x}"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(lit: Datum, to: PrimitiveType) -> Datum {
        match convert_literal(&lit, &to).unwrap() {
            Converted::Value(d) => d,
            other => panic!("expected a value, got {other:?}"),
        }
    }

    #[test]
    fn widening_conversions_keep_the_value() {
        assert_eq!(value(Datum::Int(5), PrimitiveType::Long), Datum::Long(5));
        assert_eq!(
            value(Datum::Int(5), PrimitiveType::Double),
            Datum::Double(5.0)
        );
        assert_eq!(
            value(Datum::Float(1.5), PrimitiveType::Double),
            Datum::Double(1.5)
        );
        assert_eq!(
            value(
                Datum::Int(14),
                PrimitiveType::Decimal {
                    precision: 9,
                    scale: 2
                }
            ),
            Datum::Decimal {
                unscaled: 1400,
                precision: 9,
                scale: 2
            }
        );
        assert_eq!(
            value(Datum::Date(1), PrimitiveType::Timestamp),
            Datum::Timestamp(MICROS_PER_DAY)
        );
        assert_eq!(
            value(Datum::Timestamp(3), PrimitiveType::TimestamptzNs),
            Datum::TimestamptzNs(3_000)
        );
        assert_eq!(
            value(Datum::Binary(vec![1, 2]), PrimitiveType::Fixed(2)),
            Datum::Fixed(vec![1, 2])
        );
    }

    #[test]
    fn out_of_range_literals_are_above_or_below_the_type() {
        let big = Datum::Long(1 << 40);
        assert_eq!(
            convert_literal(&big, &PrimitiveType::Int),
            Ok(Converted::AboveMax)
        );
        assert_eq!(
            convert_literal(&Datum::Long(-(1 << 40)), &PrimitiveType::Int),
            Ok(Converted::BelowMin)
        );
        let small_decimal = PrimitiveType::Decimal {
            precision: 3,
            scale: 2,
        };
        assert_eq!(
            convert_literal(&Datum::Int(10), &small_decimal),
            Ok(Converted::AboveMax)
        );
        assert_eq!(
            convert_literal(&Datum::Double(1e300), &PrimitiveType::Float),
            Ok(Converted::AboveMax)
        );
    }

    #[test]
    fn lossy_conversions_are_refused() {
        assert!(convert_literal(&Datum::Double(0.1), &PrimitiveType::Float).is_err());
        assert!(convert_literal(&Datum::Long((1 << 53) + 1), &PrimitiveType::Double).is_err());
        assert!(convert_literal(&Datum::TimestampNs(1_001), &PrimitiveType::Timestamp).is_err());
        let decimal = |unscaled, scale| Datum::Decimal {
            unscaled,
            precision: 9,
            scale,
        };
        assert!(
            convert_literal(
                &decimal(1234, 3),
                &PrimitiveType::Decimal {
                    precision: 9,
                    scale: 2
                }
            )
            .is_err()
        );
        assert_eq!(
            value(
                decimal(1230, 3),
                PrimitiveType::Decimal {
                    precision: 9,
                    scale: 2
                }
            ),
            Datum::Decimal {
                unscaled: 123,
                precision: 9,
                scale: 2
            }
        );
        assert!(convert_literal(&Datum::String("1".into()), &PrimitiveType::Int).is_err());
        assert!(convert_literal(&Datum::Binary(vec![1]), &PrimitiveType::Fixed(2)).is_err());
    }

    #[test]
    fn dedup_keeps_first_occurrences_in_order() {
        let out = dedup_literals(vec![
            Datum::Int(3),
            Datum::Int(1),
            Datum::Int(3),
            Datum::Int(2),
            Datum::Int(1),
        ]);
        assert_eq!(out, vec![Datum::Int(3), Datum::Int(1), Datum::Int(2)]);
        let zeros = dedup_literals(vec![
            Datum::Double(0.0),
            Datum::Double(-0.0),
            Datum::Double(0.0),
        ]);
        assert_eq!(zeros, vec![Datum::Double(0.0), Datum::Double(-0.0)]);
    }
}
