//! Partition transforms (spec "Partition Transforms", "Bucket Transform Details", "Truncate
//! Transform Details", Appendix B "32-bit Hash Requirements").
//!
//! - [`Transform`]: identity, `bucket[N]`, `truncate[W]`, year, month, day, hour, void, and
//!   unknown transforms (kept by name so metadata round-trips; never written with).
//!   - [`Transform::can_transform`], [`Transform::result_type`]: which source types a transform
//!     accepts and what it produces.
//!   - [`Transform::apply`]: the transform of one [`Datum`] (null in, null out).
//!   - [`Transform::apply_array`]: the same over an Arrow array, nulls preserved.
//!   - Projection of predicates through a transform lives in [`crate::expr`]
//!     (`Transform::project`, `Transform::project_strict`).
//! - [`bucket_hash`]: the spec's 32-bit murmur3 hash of a single value.
//!
//! Time transforms floor towards negative infinity, so values before 1970 land in negative
//! partitions (1969-12-31 is day -1, month -1, year -1).

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Decimal128Type, Int32Type, Int64Type, Time64MicrosecondType,
    TimestampMicrosecondType, TimestampNanosecondType,
};
use arrow_array::{
    Array, ArrayRef, ArrowPrimitiveType, GenericBinaryArray, GenericStringArray, Int32Array,
    OffsetSizeTrait, PrimitiveArray, make_array, new_null_array,
};
use arrow_schema::{DataType, TimeUnit};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::types::{PrimitiveType, Type};
use super::values::Datum;
use crate::{Error, Result};

/// A partition (or sort) transform.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Transform {
    /// The source value, unchanged.
    Identity,
    /// `bucket[N]`: murmur3 hash modulo N.
    Bucket(u32),
    /// `truncate[W]`: the value truncated to width W.
    Truncate(u32),
    /// Years since 1970.
    Year,
    /// Months since 1970-01.
    Month,
    /// Days since 1970-01-01.
    Day,
    /// Hours since 1970-01-01 00:00.
    Hour,
    /// Always null.
    Void,
    /// A transform this version does not know; readers ignore it (v3), writers refuse it.
    Unknown(String),
}

impl fmt::Display for Transform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Transform::Identity => f.write_str("identity"),
            Transform::Bucket(n) => write!(f, "bucket[{n}]"),
            Transform::Truncate(w) => write!(f, "truncate[{w}]"),
            Transform::Year => f.write_str("year"),
            Transform::Month => f.write_str("month"),
            Transform::Day => f.write_str("day"),
            Transform::Hour => f.write_str("hour"),
            Transform::Void => f.write_str("void"),
            Transform::Unknown(s) => f.write_str(s),
        }
    }
}

impl FromStr for Transform {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let parse_arg = |inner: &str, what: &str| -> Result<u32> {
            let n = inner.trim().parse::<u32>().map_err(|_| {
                Error::invalid(format!("invalid {what} argument in transform '{s}'"))
            })?;
            if n == 0 {
                return Err(Error::invalid(format!(
                    "transform '{s}' needs a positive {what}"
                )));
            }
            Ok(n)
        };
        Ok(match s {
            "identity" => Transform::Identity,
            "year" | "years" => Transform::Year,
            "month" | "months" => Transform::Month,
            "day" | "days" => Transform::Day,
            "hour" | "hours" => Transform::Hour,
            "void" | "alwaysNull" => Transform::Void,
            _ => {
                if let Some(inner) = s.strip_prefix("bucket[").and_then(|r| r.strip_suffix(']')) {
                    Transform::Bucket(parse_arg(inner, "bucket count")?)
                } else if let Some(inner) = s
                    .strip_prefix("truncate[")
                    .and_then(|r| r.strip_suffix(']'))
                {
                    Transform::Truncate(parse_arg(inner, "width")?)
                } else if s.is_empty() {
                    return Err(Error::invalid("empty transform name"));
                } else {
                    Transform::Unknown(s.to_string())
                }
            }
        })
    }
}

impl Serialize for Transform {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Transform {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

// ---------------------------------------------------------------------------------------------
// Source and result types
// ---------------------------------------------------------------------------------------------

impl Transform {
    /// Whether this transform accepts a source column of type `source` (spec "Partition
    /// Transforms"); `void` accepts any type, unknown transforms none.
    pub fn can_transform(&self, source: &Type) -> bool {
        match self {
            Transform::Void => true,
            _ => source
                .as_primitive()
                .is_some_and(|p| self.check_usable().is_ok() && self.accepts(p)),
        }
    }

    /// The type of the values this transform produces from `source` values: identity,
    /// truncate and void keep the source type; bucket, year, month and hour give `int`; day
    /// gives `date`. Fails for an unknown transform or a source type it cannot transform.
    pub fn result_type(&self, source: &PrimitiveType) -> Result<PrimitiveType> {
        self.check_usable()?;
        if !self.accepts(source) {
            return Err(Error::invalid(format!(
                "transform {self} cannot be applied to a {source} column"
            )));
        }
        match self {
            Transform::Identity | Transform::Truncate(_) | Transform::Void => Ok(*source),
            Transform::Bucket(_) | Transform::Year | Transform::Month | Transform::Hour => {
                Ok(PrimitiveType::Int)
            }
            Transform::Day => Ok(PrimitiveType::Date),
            Transform::Unknown(name) => Err(unknown_transform(name)),
        }
    }

    /// Whether `source` is one of the primitive types this transform is defined for.
    fn accepts(&self, source: &PrimitiveType) -> bool {
        use PrimitiveType as P;
        match self {
            Transform::Identity | Transform::Void => true,
            Transform::Bucket(_) => matches!(
                source,
                P::Int
                    | P::Long
                    | P::Decimal { .. }
                    | P::Date
                    | P::Time
                    | P::Timestamp
                    | P::Timestamptz
                    | P::TimestampNs
                    | P::TimestamptzNs
                    | P::String
                    | P::Uuid
                    | P::Fixed(_)
                    | P::Binary
            ),
            Transform::Truncate(_) => matches!(
                source,
                P::Int | P::Long | P::Decimal { .. } | P::String | P::Binary
            ),
            Transform::Year | Transform::Month | Transform::Day => matches!(
                source,
                P::Date | P::Timestamp | P::Timestamptz | P::TimestampNs | P::TimestamptzNs
            ),
            Transform::Hour => matches!(
                source,
                P::Timestamp | P::Timestamptz | P::TimestampNs | P::TimestamptzNs
            ),
            Transform::Unknown(_) => false,
        }
    }

    /// Refuse transforms that cannot be evaluated: unknown ones and a zero parameter.
    fn check_usable(&self) -> Result<()> {
        match self {
            Transform::Unknown(name) => Err(unknown_transform(name)),
            Transform::Bucket(0) => Err(Error::invalid(
                "bucket[0] cannot be evaluated: the number of buckets must be positive",
            )),
            Transform::Truncate(0) => Err(Error::invalid(
                "truncate[0] cannot be evaluated: the width must be positive",
            )),
            _ => Ok(()),
        }
    }

    fn cannot_apply(&self, what: impl fmt::Display) -> Error {
        Error::invalid(format!("transform {self} cannot be applied to {what}"))
    }
}

fn unknown_transform(name: &str) -> Error {
    Error::unsupported(format!(
        "transform '{name}' is unknown to Floe: readers ignore it and writers cannot use it"
    ))
}

// ---------------------------------------------------------------------------------------------
// Single values
// ---------------------------------------------------------------------------------------------

impl Transform {
    /// Apply the transform to one value; `None` (null) maps to `None` for every known transform.
    ///
    /// Fails for an unknown transform, a value type the transform does not accept, or a result
    /// that does not fit its type (e.g. `hour` of a timestamp 250,000 years from now).
    pub fn apply(&self, value: Option<&Datum>) -> Result<Option<Datum>> {
        self.check_usable()?;
        let Some(value) = value else {
            return Ok(None);
        };
        let out = match self {
            Transform::Identity => value.clone(),
            Transform::Void => return Ok(None),
            Transform::Bucket(n) => Datum::Int(bucket_index(bucket_hash(value)?, *n)),
            Transform::Truncate(w) => self.truncate_datum(value, *w)?,
            Transform::Year | Transform::Month | Transform::Day | Transform::Hour => {
                let instant = TimeValue::of(value).ok_or_else(|| {
                    self.cannot_apply(format_args!("a {} value", value.primitive_type()))
                })?;
                self.time_datum(instant)?
            }
            Transform::Unknown(name) => return Err(unknown_transform(name)),
        };
        Ok(Some(out))
    }

    fn truncate_datum(&self, value: &Datum, width: u32) -> Result<Datum> {
        let overflow = || self.overflow(format_args!("{value:?}"));
        Ok(match value {
            Datum::Int(v) => Datum::Int(truncate_i32(*v, width).ok_or_else(overflow)?),
            Datum::Long(v) => Datum::Long(truncate_i64(*v, width).ok_or_else(overflow)?),
            Datum::Decimal {
                unscaled,
                precision,
                scale,
            } => Datum::Decimal {
                unscaled: truncate_i128(*unscaled, width).ok_or_else(overflow)?,
                precision: *precision,
                scale: *scale,
            },
            Datum::String(s) => Datum::String(truncate_str(s, width).to_string()),
            Datum::Binary(b) => Datum::Binary(truncate_bytes(b, width).to_vec()),
            other => {
                return Err(self.cannot_apply(format_args!("a {} value", other.primitive_type())));
            }
        })
    }

    fn time_datum(&self, instant: TimeValue) -> Result<Datum> {
        let overflow = || self.overflow(format_args!("{instant:?}"));
        let days = instant.days();
        Ok(match self {
            Transform::Year => Datum::Int(to_i32(years_from_days(days)).ok_or_else(overflow)?),
            Transform::Month => Datum::Int(to_i32(months_from_days(days)).ok_or_else(overflow)?),
            Transform::Day => Datum::Date(to_i32(days).ok_or_else(overflow)?),
            Transform::Hour => {
                let hours = instant
                    .hours()
                    .ok_or_else(|| self.cannot_apply("a date value"))?;
                Datum::Int(to_i32(hours).ok_or_else(overflow)?)
            }
            _ => return Err(self.cannot_apply("a date or timestamp value")),
        })
    }

    fn overflow(&self, what: impl fmt::Display) -> Error {
        Error::invalid(format!(
            "transform {self} of {what} does not fit the transform's result type"
        ))
    }
}

/// A date or timestamp value in its own unit, as the time transforms see it.
#[derive(Debug, Clone, Copy)]
enum TimeValue {
    /// Days since 1970-01-01.
    Date(i32),
    /// Microseconds since the epoch.
    Micros(i64),
    /// Nanoseconds since the epoch.
    Nanos(i64),
}

const MICROS_PER_HOUR: i64 = 3_600_000_000;
const MICROS_PER_DAY: i64 = 24 * MICROS_PER_HOUR;
const NANOS_PER_HOUR: i64 = 1_000 * MICROS_PER_HOUR;
const NANOS_PER_DAY: i64 = 24 * NANOS_PER_HOUR;

impl TimeValue {
    fn of(value: &Datum) -> Option<TimeValue> {
        match value {
            Datum::Date(d) => Some(TimeValue::Date(*d)),
            Datum::Timestamp(v) | Datum::Timestamptz(v) => Some(TimeValue::Micros(*v)),
            Datum::TimestampNs(v) | Datum::TimestamptzNs(v) => Some(TimeValue::Nanos(*v)),
            _ => None,
        }
    }

    /// Whole days since 1970-01-01, floored.
    fn days(self) -> i64 {
        match self {
            TimeValue::Date(d) => i64::from(d),
            TimeValue::Micros(v) => v.div_euclid(MICROS_PER_DAY),
            TimeValue::Nanos(v) => v.div_euclid(NANOS_PER_DAY),
        }
    }

    /// Whole hours since 1970-01-01 00:00, floored; dates have no hour.
    fn hours(self) -> Option<i64> {
        match self {
            TimeValue::Date(_) => None,
            TimeValue::Micros(v) => Some(v.div_euclid(MICROS_PER_HOUR)),
            TimeValue::Nanos(v) => Some(v.div_euclid(NANOS_PER_HOUR)),
        }
    }
}

fn to_i32(v: i64) -> Option<i32> {
    i32::try_from(v).ok()
}

/// The proleptic Gregorian (year, month 1..=12) of a day count since 1970-01-01.
///
/// Howard Hinnant's `civil_from_days`, on i64 so that any timestamp's day count is in range.
fn civil_from_days(days: i64) -> (i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month)
}

fn years_from_days(days: i64) -> i64 {
    civil_from_days(days).0 - 1970
}

fn months_from_days(days: i64) -> i64 {
    let (year, month) = civil_from_days(days);
    (year - 1970) * 12 + (month - 1)
}

/// `v - (((v % W) + W) % W)` (spec "Truncate Transform Details"); `None` on overflow.
fn truncate_i32(v: i32, width: u32) -> Option<i32> {
    let v = i64::from(v);
    to_i32(v - v.rem_euclid(i64::from(width)))
}

fn truncate_i64(v: i64, width: u32) -> Option<i64> {
    v.checked_sub(v.rem_euclid(i64::from(width)))
}

/// Decimal truncation works on the unscaled value: W is applied at the column's scale.
fn truncate_i128(v: i128, width: u32) -> Option<i128> {
    v.checked_sub(v.rem_euclid(i128::from(width)))
}

/// At most `width` unicode code points (never splits a character).
fn truncate_str(s: &str, width: u32) -> &str {
    match s.char_indices().nth(width as usize) {
        Some((end, _)) => &s[..end],
        None => s,
    }
}

/// At most `width` bytes.
fn truncate_bytes(b: &[u8], width: u32) -> &[u8] {
    &b[..b.len().min(width as usize)]
}

// ---------------------------------------------------------------------------------------------
// Bucket hashing (spec Appendix B)
// ---------------------------------------------------------------------------------------------

/// The spec's 32-bit hash of a value (Appendix B): murmur3 x86 32-bit, seed 0, over the
/// value's hash bytes. Fails for types that are not valid bucket sources (boolean, float,
/// double).
pub fn bucket_hash(value: &Datum) -> Result<i32> {
    Ok(match value {
        Datum::Int(v) | Datum::Date(v) => hash_long(i64::from(*v)),
        Datum::Long(v) | Datum::Time(v) | Datum::Timestamp(v) | Datum::Timestamptz(v) => {
            hash_long(*v)
        }
        Datum::TimestampNs(v) | Datum::TimestamptzNs(v) => hash_long(v.div_euclid(1_000)),
        Datum::Decimal { unscaled, .. } => hash_decimal(*unscaled),
        Datum::String(s) => murmur3_32(s.as_bytes()),
        Datum::Uuid(u) => murmur3_32(u.as_bytes()),
        Datum::Fixed(b) | Datum::Binary(b) => murmur3_32(b),
        Datum::Boolean(_) | Datum::Float(_) | Datum::Double(_) => {
            return Err(Error::invalid(format!(
                "bucket hash is not defined for {} values: they are not valid bucket sources",
                value.primitive_type()
            )));
        }
    })
}

/// `(hash & Integer.MAX_VALUE) % N`.
fn bucket_index(hash: i32, buckets: u32) -> i32 {
    // The masked hash is below 2^31, so the remainder always fits an i32.
    ((i64::from(hash) & i64::from(i32::MAX)) % i64::from(buckets)) as i32
}

/// `hashLong`: the 8 little-endian bytes of the value.
fn hash_long(v: i64) -> i32 {
    murmur3_32(&v.to_le_bytes())
}

/// `hashBytes(minBigEndian(unscaled))`.
fn hash_decimal(unscaled: i128) -> i32 {
    use super::values::decimal_min_be_start;
    let bytes = unscaled.to_be_bytes();
    murmur3_32(&bytes[decimal_min_be_start(&bytes)..])
}

/// Murmur3, x86 variant, 32-bit, seed 0, as a signed int (Guava's `murmur3_32_fixed`).
fn murmur3_32(data: &[u8]) -> i32 {
    const C1: u32 = 0xcc9e_2d51;
    const C2: u32 = 0x1b87_3593;
    let mix_k = |k: u32| k.wrapping_mul(C1).rotate_left(15).wrapping_mul(C2);

    let mut h: u32 = 0;
    let mut blocks = data.chunks_exact(4);
    for block in &mut blocks {
        let k = u32::from_le_bytes([block[0], block[1], block[2], block[3]]);
        h ^= mix_k(k);
        h = h.rotate_left(13).wrapping_mul(5).wrapping_add(0xe654_6b64);
    }
    let tail = blocks.remainder();
    if !tail.is_empty() {
        let k = tail
            .iter()
            .enumerate()
            .fold(0u32, |k, (i, b)| k | (u32::from(*b) << (8 * i)));
        h ^= mix_k(k);
    }
    // Lengths are mixed in modulo 2^32, as in the reference implementation.
    h ^= data.len() as u32;
    h ^= h >> 16;
    h = h.wrapping_mul(0x85eb_ca6b);
    h ^= h >> 13;
    h = h.wrapping_mul(0xc2b2_ae35);
    h ^= h >> 16;
    h as i32
}

// ---------------------------------------------------------------------------------------------
// Arrow arrays
// ---------------------------------------------------------------------------------------------

/// The Iceberg type an Arrow type stores, for the Arrow types transforms work on.
fn iceberg_type_of_arrow(data_type: &DataType) -> Option<PrimitiveType> {
    Some(match data_type {
        DataType::Boolean => PrimitiveType::Boolean,
        DataType::Int32 => PrimitiveType::Int,
        DataType::Int64 => PrimitiveType::Long,
        DataType::Float32 => PrimitiveType::Float,
        DataType::Float64 => PrimitiveType::Double,
        DataType::Decimal128(p, s) => PrimitiveType::Decimal {
            precision: u32::from(*p),
            scale: u32::try_from(*s).ok()?,
        },
        DataType::Date32 => PrimitiveType::Date,
        DataType::Time64(TimeUnit::Microsecond) => PrimitiveType::Time,
        DataType::Timestamp(TimeUnit::Microsecond, None) => PrimitiveType::Timestamp,
        DataType::Timestamp(TimeUnit::Microsecond, Some(_)) => PrimitiveType::Timestamptz,
        DataType::Timestamp(TimeUnit::Nanosecond, None) => PrimitiveType::TimestampNs,
        DataType::Timestamp(TimeUnit::Nanosecond, Some(_)) => PrimitiveType::TimestamptzNs,
        DataType::Utf8 | DataType::LargeUtf8 => PrimitiveType::String,
        DataType::Binary | DataType::LargeBinary => PrimitiveType::Binary,
        DataType::FixedSizeBinary(len) => PrimitiveType::Fixed(u64::try_from(*len).ok()?),
        _ => return None,
    })
}

fn primitive<T: ArrowPrimitiveType>(array: &dyn Array) -> Result<&PrimitiveArray<T>> {
    array.as_primitive_opt::<T>().ok_or_else(|| {
        Error::invalid(format!(
            "expected an Arrow {} array, found {}",
            T::DATA_TYPE,
            array.data_type()
        ))
    })
}

fn strings<O: OffsetSizeTrait>(array: &dyn Array) -> Result<&GenericStringArray<O>> {
    array.as_string_opt::<O>().ok_or_else(|| {
        Error::invalid(format!(
            "expected an Arrow string array, found {}",
            array.data_type()
        ))
    })
}

fn binaries<O: OffsetSizeTrait>(array: &dyn Array) -> Result<&GenericBinaryArray<O>> {
    array.as_binary_opt::<O>().ok_or_else(|| {
        Error::invalid(format!(
            "expected an Arrow binary array, found {}",
            array.data_type()
        ))
    })
}

fn arrow_error(e: arrow_schema::ArrowError) -> Error {
    Error::invalid(format!("cannot build the transformed Arrow array: {e}")).with_source(e)
}

impl Transform {
    /// Apply the transform to every value of an Arrow array; nulls stay null.
    ///
    /// Accepts Int32, Int64, Date32, Time64(µs), Timestamp(µs or ns, with or without zone),
    /// Utf8, LargeUtf8, Binary, LargeBinary, FixedSizeBinary and Decimal128 (plus Boolean,
    /// Float32 and Float64 for identity; void accepts any array). Bucket, year, month and hour
    /// produce Int32, day produces Date32, identity and truncate keep the input type, and void
    /// produces an all-null array of the input type. Agrees value by value with
    /// [`Transform::apply`].
    pub fn apply_array(&self, array: &dyn Array) -> Result<ArrayRef> {
        self.check_usable()?;
        let source = iceberg_type_of_arrow(array.data_type());
        if !matches!(self, Transform::Void) && !source.is_some_and(|s| self.accepts(&s)) {
            return Err(
                self.cannot_apply(format_args!("an Arrow array of type {}", array.data_type()))
            );
        }
        match self {
            Transform::Identity => Ok(make_array(array.to_data())),
            Transform::Void => Ok(new_null_array(array.data_type(), array.len())),
            Transform::Bucket(n) => bucket_array(array, *n),
            Transform::Truncate(w) => self.truncate_array(array, *w),
            Transform::Year | Transform::Month | Transform::Day | Transform::Hour => {
                self.time_array(array)
            }
            Transform::Unknown(name) => Err(unknown_transform(name)),
        }
    }

    fn truncate_array(&self, array: &dyn Array, width: u32) -> Result<ArrayRef> {
        let overflow = |v: &dyn fmt::Display| self.overflow(v);
        Ok(match array.data_type() {
            DataType::Int32 => Arc::new(
                primitive::<Int32Type>(array)?.try_unary::<_, Int32Type, Error>(|v| {
                    truncate_i32(v, width).ok_or_else(|| overflow(&v))
                })?,
            ),
            DataType::Int64 => Arc::new(
                primitive::<Int64Type>(array)?.try_unary::<_, Int64Type, Error>(|v| {
                    truncate_i64(v, width).ok_or_else(|| overflow(&v))
                })?,
            ),
            DataType::Decimal128(p, s) => Arc::new(
                primitive::<Decimal128Type>(array)?
                    .try_unary::<_, Decimal128Type, Error>(|v| {
                        truncate_i128(v, width).ok_or_else(|| overflow(&v))
                    })?
                    .with_precision_and_scale(*p, *s)
                    .map_err(arrow_error)?,
            ),
            DataType::Utf8 => truncate_strings::<i32>(array, width)?,
            DataType::LargeUtf8 => truncate_strings::<i64>(array, width)?,
            DataType::Binary => truncate_binaries::<i32>(array, width)?,
            DataType::LargeBinary => truncate_binaries::<i64>(array, width)?,
            other => return Err(self.cannot_apply(format_args!("an Arrow array of type {other}"))),
        })
    }

    fn time_array(&self, array: &dyn Array) -> Result<ArrayRef> {
        match array.data_type() {
            DataType::Date32 => {
                let dates = primitive::<Date32Type>(array)?;
                match self {
                    Transform::Day => Ok(Arc::new(dates.clone())),
                    _ => self.time_values(dates, TimeValue::Date),
                }
            }
            DataType::Timestamp(TimeUnit::Microsecond, _) => {
                let ts = primitive::<TimestampMicrosecondType>(array)?;
                self.time_values(ts, TimeValue::Micros)
            }
            DataType::Timestamp(TimeUnit::Nanosecond, _) => {
                let ts = primitive::<TimestampNanosecondType>(array)?;
                self.time_values(ts, TimeValue::Nanos)
            }
            other => Err(self.cannot_apply(format_args!("an Arrow array of type {other}"))),
        }
    }

    /// Year, month, day or hour of each value of a date or timestamp array.
    fn time_values<T: ArrowPrimitiveType>(
        &self,
        array: &PrimitiveArray<T>,
        of: impl Fn(T::Native) -> TimeValue,
    ) -> Result<ArrayRef> {
        let int = |v: T::Native| match self.time_datum(of(v))? {
            Datum::Int(i) | Datum::Date(i) => Ok(i),
            other => Err(Error::invalid(format!(
                "transform {self} produced an unexpected {other:?}"
            ))),
        };
        Ok(match self {
            Transform::Day => Arc::new(array.try_unary::<_, Date32Type, Error>(int)?),
            _ => Arc::new(array.try_unary::<_, Int32Type, Error>(int)?),
        })
    }
}

fn bucket_array(array: &dyn Array, buckets: u32) -> Result<ArrayRef> {
    let b = |hash: i32| bucket_index(hash, buckets);
    let out: Int32Array = match array.data_type() {
        DataType::Int32 => primitive::<Int32Type>(array)?.unary(|v| b(hash_long(i64::from(v)))),
        DataType::Int64 => primitive::<Int64Type>(array)?.unary(|v| b(hash_long(v))),
        DataType::Date32 => primitive::<Date32Type>(array)?.unary(|v| b(hash_long(i64::from(v)))),
        DataType::Time64(TimeUnit::Microsecond) => {
            primitive::<Time64MicrosecondType>(array)?.unary(|v| b(hash_long(v)))
        }
        DataType::Timestamp(TimeUnit::Microsecond, _) => {
            primitive::<TimestampMicrosecondType>(array)?.unary(|v| b(hash_long(v)))
        }
        DataType::Timestamp(TimeUnit::Nanosecond, _) => {
            primitive::<TimestampNanosecondType>(array)?
                .unary(|v| b(hash_long(v.div_euclid(1_000))))
        }
        DataType::Decimal128(_, _) => {
            primitive::<Decimal128Type>(array)?.unary(|v| b(hash_decimal(v)))
        }
        DataType::Utf8 => hash_each(strings::<i32>(array)?.iter(), |s| s.as_bytes(), b),
        DataType::LargeUtf8 => hash_each(strings::<i64>(array)?.iter(), |s| s.as_bytes(), b),
        DataType::Binary => hash_each(binaries::<i32>(array)?.iter(), |v| v, b),
        DataType::LargeBinary => hash_each(binaries::<i64>(array)?.iter(), |v| v, b),
        DataType::FixedSizeBinary(_) => {
            let fixed = array.as_fixed_size_binary_opt().ok_or_else(|| {
                Error::invalid(format!(
                    "expected an Arrow fixed-size binary array, found {}",
                    array.data_type()
                ))
            })?;
            hash_each(fixed.iter(), |v| v, b)
        }
        other => {
            return Err(Error::invalid(format!(
                "bucket cannot be applied to an Arrow array of type {other}"
            )));
        }
    };
    Ok(Arc::new(out))
}

fn hash_each<'a, V: ?Sized + 'a>(
    values: impl Iterator<Item = Option<&'a V>>,
    bytes: impl Fn(&'a V) -> &'a [u8],
    bucket: impl Fn(i32) -> i32,
) -> Int32Array {
    values
        .map(|v| v.map(|v| bucket(murmur3_32(bytes(v)))))
        .collect()
}

fn truncate_strings<O: OffsetSizeTrait>(array: &dyn Array, width: u32) -> Result<ArrayRef> {
    let out: GenericStringArray<O> = strings::<O>(array)?
        .iter()
        .map(|v| v.map(|s| truncate_str(s, width)))
        .collect();
    Ok(Arc::new(out))
}

fn truncate_binaries<O: OffsetSizeTrait>(array: &dyn Array, width: u32) -> Result<ArrayRef> {
    let out: GenericBinaryArray<O> = binaries::<O>(array)?
        .iter()
        .map(|v| v.map(|b| truncate_bytes(b, width)))
        .collect();
    Ok(Arc::new(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{
        BinaryArray, BooleanArray, Date32Array, Decimal128Array, FixedSizeBinaryArray,
        Float32Array, Float64Array, Int64Array, LargeBinaryArray, LargeStringArray, StringArray,
        Time64MicrosecondArray, TimestampMicrosecondArray, TimestampNanosecondArray,
    };
    use chrono::{NaiveDate, NaiveDateTime};
    use proptest::prelude::*;
    use uuid::Uuid;

    fn days(y: i32, m: u32, d: u32) -> i32 {
        let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();
        let date = NaiveDate::from_ymd_opt(y, m, d).unwrap();
        i32::try_from(date.signed_duration_since(epoch).num_days()).unwrap()
    }

    fn micros(s: &str) -> i64 {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
            .unwrap()
            .and_utc()
            .timestamp_micros()
    }

    fn nanos(s: &str) -> i64 {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
            .unwrap()
            .and_utc()
            .timestamp_nanos_opt()
            .unwrap()
    }

    fn apply(t: &Transform, v: Datum) -> Datum {
        t.apply(Some(&v)).unwrap().unwrap()
    }

    fn decimal(unscaled: i128, precision: u32, scale: u32) -> Datum {
        Datum::Decimal {
            unscaled,
            precision,
            scale,
        }
    }

    // --- Appendix B ---------------------------------------------------------------------

    #[test]
    fn bucket_hashes_match_spec_appendix_b() {
        let ts = micros("2017-11-16T22:31:08");
        let ts_tz = chrono::DateTime::parse_from_rfc3339("2017-11-16T14:31:08-08:00")
            .unwrap()
            .timestamp_micros();
        let cases = [
            (Datum::Int(34), 2017239379),
            (Datum::Long(34), 2017239379),
            (decimal(1420, 9, 2), -500754589),
            (Datum::Date(days(2017, 11, 16)), -653330422),
            (Datum::Time(81_068_000_000), -662762989),
            (Datum::Timestamp(ts), -2047944441),
            (Datum::Timestamptz(ts_tz), -2047944441),
            (
                Datum::Timestamp(micros("2017-11-16T22:31:08.000001")),
                -1207196810,
            ),
            (Datum::Timestamptz(ts_tz + 1), -1207196810),
            (
                Datum::TimestampNs(nanos("2017-11-16T22:31:08")),
                -2047944441,
            ),
            (
                Datum::TimestampNs(nanos("2017-11-16T22:31:08.000001001")),
                -1207196810,
            ),
            (
                Datum::TimestamptzNs(nanos("2017-11-16T22:31:08.000001001")),
                -1207196810,
            ),
            (Datum::String("iceberg".into()), 1210000089),
            (
                Datum::Uuid(Uuid::parse_str("f79c3e09-677c-4bbd-a479-3f349cb785e7").unwrap()),
                1488055340,
            ),
            (Datum::Fixed(vec![0, 1, 2, 3]), -188683207),
            (Datum::Binary(vec![0, 1, 2, 3]), -188683207),
        ];
        assert_eq!(ts, ts_tz);
        for (value, expected) in cases {
            assert_eq!(bucket_hash(&value).unwrap(), expected, "{value:?}");
        }
    }

    #[test]
    fn bucket_hash_is_undefined_for_boolean_and_floats() {
        for v in [Datum::Boolean(true), Datum::Float(1.0), Datum::Double(1.0)] {
            assert!(bucket_hash(&v).is_err());
            assert!(Transform::Bucket(4).apply(Some(&v)).is_err());
        }
    }

    #[test]
    fn bucket_masks_the_sign_bit_before_the_modulo() {
        let b = Transform::Bucket(100);
        assert_eq!(apply(&b, Datum::Int(34)), Datum::Int(79));
        assert_eq!(apply(&b, Datum::Long(34)), Datum::Int(79));
        // -653330422 & i32::MAX = 1494153226
        assert_eq!(apply(&b, Datum::Date(days(2017, 11, 16))), Datum::Int(26));
        assert_eq!(bucket_index(i32::MIN, 7), 0);
        assert_eq!(bucket_index(-1, 1 << 31), i32::MAX);
    }

    #[test]
    fn nanosecond_hashes_floor_to_micros() {
        // -1ns is in the microsecond before the epoch.
        assert_eq!(
            bucket_hash(&Datum::TimestampNs(-1)).unwrap(),
            bucket_hash(&Datum::Timestamp(-1)).unwrap()
        );
        assert_eq!(
            bucket_hash(&Datum::TimestampNs(999)).unwrap(),
            bucket_hash(&Datum::Timestamp(0)).unwrap()
        );
    }

    #[test]
    fn decimal_hash_bytes_are_minimal_twos_complement() {
        let min_bytes = crate::spec::values::decimal_to_min_bytes;
        assert_eq!(min_bytes(0), vec![0x00]);
        assert_eq!(min_bytes(127), vec![0x7f]);
        assert_eq!(min_bytes(128), vec![0x00, 0x80]);
        assert_eq!(min_bytes(-1), vec![0xff]);
        assert_eq!(min_bytes(-128), vec![0x80]);
        assert_eq!(min_bytes(-129), vec![0xff, 0x7f]);
        assert_eq!(min_bytes(1420), vec![0x05, 0x8c]);
        assert_eq!(min_bytes(i128::MIN).len(), 16);
        // Scale is part of the type, not the value: it does not change the hash.
        assert_eq!(
            bucket_hash(&decimal(1420, 9, 2)).unwrap(),
            bucket_hash(&decimal(1420, 20, 5)).unwrap()
        );
    }

    // --- Truncate ----------------------------------------------------------------------

    #[test]
    fn truncate_integers_floor_to_the_width() {
        let t = Transform::Truncate(10);
        for (v, expected) in [
            (0, 0),
            (1, 0),
            (9, 0),
            (10, 10),
            (-1, -10),
            (-10, -10),
            (-11, -20),
        ] {
            assert_eq!(apply(&t, Datum::Int(v)), Datum::Int(expected), "int {v}");
            assert_eq!(
                apply(&t, Datum::Long(i64::from(v))),
                Datum::Long(i64::from(expected)),
                "long {v}"
            );
        }
        assert_eq!(
            apply(&Transform::Truncate(1), Datum::Int(-7)),
            Datum::Int(-7)
        );
        // The floored value of i32::MIN + 1 is below i32::MIN: refused, not wrapped.
        assert!(t.apply(Some(&Datum::Int(i32::MIN + 1))).is_err());
        assert!(t.apply(Some(&Datum::Long(i64::MIN + 1))).is_err());
    }

    #[test]
    fn truncate_decimals_on_the_unscaled_value() {
        let t50 = Transform::Truncate(50);
        assert_eq!(apply(&t50, decimal(1065, 9, 2)), decimal(1050, 9, 2)); // 10.65 -> 10.50
        let t10 = Transform::Truncate(10);
        for (v, expected) in [(1234, 1230), (1230, 1230), (1229, 1220), (5, 0), (-5, -10)] {
            assert_eq!(
                apply(&t10, decimal(v, 9, 2)),
                decimal(expected, 9, 2),
                "{v}"
            );
        }
    }

    #[test]
    fn truncate_strings_on_code_points_and_binary_on_bytes() {
        let t3 = Transform::Truncate(3);
        let s = |v: &str| Datum::String(v.to_string());
        assert_eq!(apply(&t3, s("iceberg")), s("ice"));
        assert_eq!(apply(&t3, s("ab")), s("ab"));
        assert_eq!(apply(&t3, s("")), s(""));
        // Three code points, not three bytes.
        assert_eq!(apply(&t3, s("ünïcödé")), s("ünï"));
        assert_eq!(apply(&Transform::Truncate(1), s("😀a")), s("😀"));
        let b = |v: &[u8]| Datum::Binary(v.to_vec());
        assert_eq!(apply(&t3, b(&[1, 2, 3, 4, 5])), b(&[1, 2, 3]));
        assert_eq!(apply(&t3, b(&[1])), b(&[1]));
        assert!(t3.apply(Some(&Datum::Fixed(vec![1, 2, 3, 4]))).is_err());
    }

    // --- Time transforms ----------------------------------------------------------------

    fn ymdh(v: Datum) -> (Datum, Datum, Datum, Option<Datum>) {
        let hour = Transform::Hour.apply(Some(&v)).ok().flatten();
        (
            apply(&Transform::Year, v.clone()),
            apply(&Transform::Month, v.clone()),
            apply(&Transform::Day, v),
            hour,
        )
    }

    #[test]
    fn time_transforms_of_dates_floor_before_the_epoch() {
        let i = Datum::Int;
        let cases = [
            ((1970, 1, 1), 0, 0),
            ((1969, 12, 31), -1, -1),
            ((1969, 1, 1), -1, -12),
            ((1968, 12, 31), -2, -13),
            ((1900, 1, 1), -70, -840),
            ((2017, 11, 16), 47, 574),
            ((2000, 2, 29), 30, 361),
        ];
        for ((y, m, d), year, month) in cases {
            let date = days(y, m, d);
            let (yr, mo, dy, hr) = ymdh(Datum::Date(date));
            assert_eq!(
                (yr, mo, dy),
                (i(year), i(month), Datum::Date(date)),
                "{y}-{m}-{d}"
            );
            assert_eq!(hr, None, "hour is not defined for dates");
        }
        assert!(Transform::Hour.apply(Some(&Datum::Date(0))).is_err());
    }

    #[test]
    fn time_transforms_of_timestamps_floor_before_the_epoch() {
        let i = Datum::Int;
        // (timestamp, year, month, day, hour)
        let cases = [
            ("1970-01-01T00:00:00", 0, 0, 0, 0),
            ("1969-12-31T23:59:59.999999", -1, -1, -1, -1),
            ("1969-12-31T23:00:00", -1, -1, -1, -1),
            ("1969-12-31T22:59:59.999999", -1, -1, -1, -2),
            ("1969-01-01T00:00:00", -1, -12, -365, -365 * 24),
            ("2017-11-16T22:31:08", 47, 574, 17486, 17486 * 24 + 22),
        ];
        for (s, year, month, day, hour) in cases {
            let us = micros(s);
            let ns = nanos(s);
            let expected = (i(year), i(month), Datum::Date(day), Some(i(hour)));
            assert_eq!(ymdh(Datum::Timestamp(us)), expected, "timestamp {s}");
            assert_eq!(ymdh(Datum::Timestamptz(us)), expected, "timestamptz {s}");
            assert_eq!(ymdh(Datum::TimestampNs(ns)), expected, "timestamp_ns {s}");
            assert_eq!(
                ymdh(Datum::TimestamptzNs(ns)),
                expected,
                "timestamptz_ns {s}"
            );
        }
        // One nanosecond before the epoch is in hour -1 too.
        assert_eq!(ymdh(Datum::TimestampNs(-1)).3, Some(i(-1)));
    }

    #[test]
    fn time_transforms_refuse_other_types_and_overflow() {
        for t in [
            Transform::Year,
            Transform::Month,
            Transform::Day,
            Transform::Hour,
        ] {
            assert!(t.apply(Some(&Datum::Long(1))).is_err(), "{t}");
            assert!(t.apply(Some(&Datum::Time(1))).is_err(), "{t}");
        }
        // 2^63 µs is about 292,000 years: more hours than an int holds.
        assert!(
            Transform::Hour
                .apply(Some(&Datum::Timestamp(i64::MAX)))
                .is_err()
        );
        assert!(
            Transform::Day
                .apply(Some(&Datum::Timestamp(i64::MAX)))
                .is_ok()
        );
    }

    // --- Generic behaviour --------------------------------------------------------------

    #[test]
    fn null_maps_to_null_and_void_to_null() {
        for t in [
            Transform::Identity,
            Transform::Bucket(3),
            Transform::Truncate(3),
            Transform::Year,
            Transform::Month,
            Transform::Day,
            Transform::Hour,
            Transform::Void,
        ] {
            assert_eq!(t.apply(None).unwrap(), None, "{t}");
        }
        assert_eq!(Transform::Void.apply(Some(&Datum::Int(1))).unwrap(), None);
        assert_eq!(
            apply(&Transform::Identity, Datum::Double(1.5)),
            Datum::Double(1.5)
        );
    }

    #[test]
    fn unknown_and_zero_parameter_transforms_cannot_be_evaluated() {
        let unknown: Transform = "zorder".parse().unwrap();
        assert!(unknown.apply(Some(&Datum::Int(1))).is_err());
        assert!(unknown.apply(None).is_err());
        assert!(unknown.result_type(&PrimitiveType::Int).is_err());
        assert!(!unknown.can_transform(&PrimitiveType::Int.into()));
        assert!(Transform::Bucket(0).apply(Some(&Datum::Int(1))).is_err());
        assert!(Transform::Truncate(0).apply(Some(&Datum::Int(1))).is_err());
        assert!(!Transform::Bucket(0).can_transform(&PrimitiveType::Int.into()));
        let arr = Int32Array::from(vec![1]);
        assert!(unknown.apply_array(&arr).is_err());
        assert!(Transform::Bucket(0).apply_array(&arr).is_err());
    }

    #[test]
    fn source_and_result_types_follow_the_spec_table() {
        use PrimitiveType as P;
        let all = [
            P::Boolean,
            P::Int,
            P::Long,
            P::Float,
            P::Double,
            P::Decimal {
                precision: 9,
                scale: 2,
            },
            P::Date,
            P::Time,
            P::Timestamp,
            P::Timestamptz,
            P::TimestampNs,
            P::TimestamptzNs,
            P::String,
            P::Uuid,
            P::Fixed(4),
            P::Binary,
        ];
        let accepted = |t: &Transform| -> Vec<P> {
            all.iter()
                .copied()
                .filter(|p| t.can_transform(&Type::Primitive(*p)))
                .collect()
        };
        assert_eq!(accepted(&Transform::Identity), all.to_vec());
        assert_eq!(accepted(&Transform::Void), all.to_vec());
        assert_eq!(
            accepted(&Transform::Bucket(8)),
            all.iter()
                .copied()
                .filter(|p| !matches!(p, P::Boolean | P::Float | P::Double))
                .collect::<Vec<_>>()
        );
        assert_eq!(
            accepted(&Transform::Truncate(8)),
            vec![
                P::Int,
                P::Long,
                P::Decimal {
                    precision: 9,
                    scale: 2
                },
                P::String,
                P::Binary
            ]
        );
        let times = vec![
            P::Date,
            P::Timestamp,
            P::Timestamptz,
            P::TimestampNs,
            P::TimestamptzNs,
        ];
        for t in [Transform::Year, Transform::Month, Transform::Day] {
            assert_eq!(accepted(&t), times, "{t}");
        }
        assert_eq!(accepted(&Transform::Hour), times[1..].to_vec());

        let nested = Type::Struct(crate::spec::StructType::new(vec![]));
        assert!(Transform::Void.can_transform(&nested));
        assert!(!Transform::Identity.can_transform(&nested));

        assert_eq!(Transform::Identity.result_type(&P::Uuid).unwrap(), P::Uuid);
        assert_eq!(
            Transform::Bucket(4).result_type(&P::String).unwrap(),
            P::Int
        );
        assert_eq!(
            Transform::Truncate(4).result_type(&P::Binary).unwrap(),
            P::Binary
        );
        assert_eq!(Transform::Year.result_type(&P::Date).unwrap(), P::Int);
        assert_eq!(
            Transform::Month.result_type(&P::TimestampNs).unwrap(),
            P::Int
        );
        assert_eq!(Transform::Day.result_type(&P::Timestamp).unwrap(), P::Date);
        assert_eq!(
            Transform::Hour.result_type(&P::Timestamptz).unwrap(),
            P::Int
        );
        assert_eq!(Transform::Void.result_type(&P::Double).unwrap(), P::Double);
        let err = Transform::Hour.result_type(&P::Date).unwrap_err();
        assert!(err.message().contains("hour"), "{err}");
        assert!(Transform::Bucket(2).result_type(&P::Double).is_err());
    }

    // --- Arrow --------------------------------------------------------------------------

    /// The value at `i` of an array of one of the Iceberg-mapped Arrow types.
    fn datum_at(array: &dyn Array, i: usize) -> Option<Datum> {
        if array.is_null(i) {
            return None;
        }
        Some(match array.data_type() {
            DataType::Boolean => Datum::Boolean(array.as_boolean().value(i)),
            DataType::Int32 => Datum::Int(array.as_primitive::<Int32Type>().value(i)),
            DataType::Int64 => Datum::Long(array.as_primitive::<Int64Type>().value(i)),
            DataType::Float32 => Datum::Float(
                array
                    .as_primitive::<arrow_array::types::Float32Type>()
                    .value(i),
            ),
            DataType::Float64 => Datum::Double(
                array
                    .as_primitive::<arrow_array::types::Float64Type>()
                    .value(i),
            ),
            DataType::Decimal128(p, s) => Datum::Decimal {
                unscaled: array.as_primitive::<Decimal128Type>().value(i),
                precision: u32::from(*p),
                scale: u32::try_from(*s).unwrap(),
            },
            DataType::Date32 => Datum::Date(array.as_primitive::<Date32Type>().value(i)),
            DataType::Time64(TimeUnit::Microsecond) => {
                Datum::Time(array.as_primitive::<Time64MicrosecondType>().value(i))
            }
            DataType::Timestamp(TimeUnit::Microsecond, tz) => {
                let v = array.as_primitive::<TimestampMicrosecondType>().value(i);
                if tz.is_some() {
                    Datum::Timestamptz(v)
                } else {
                    Datum::Timestamp(v)
                }
            }
            DataType::Timestamp(TimeUnit::Nanosecond, tz) => {
                let v = array.as_primitive::<TimestampNanosecondType>().value(i);
                if tz.is_some() {
                    Datum::TimestamptzNs(v)
                } else {
                    Datum::TimestampNs(v)
                }
            }
            DataType::Utf8 => Datum::String(array.as_string::<i32>().value(i).to_string()),
            DataType::LargeUtf8 => Datum::String(array.as_string::<i64>().value(i).to_string()),
            DataType::Binary => Datum::Binary(array.as_binary::<i32>().value(i).to_vec()),
            DataType::LargeBinary => Datum::Binary(array.as_binary::<i64>().value(i).to_vec()),
            DataType::FixedSizeBinary(_) => {
                Datum::Fixed(array.as_fixed_size_binary().value(i).to_vec())
            }
            other => panic!("no Datum for Arrow type {other}"),
        })
    }

    fn expected_output_type(t: &Transform, input: &DataType) -> DataType {
        match t {
            Transform::Bucket(_) | Transform::Year | Transform::Month | Transform::Hour => {
                DataType::Int32
            }
            Transform::Day => DataType::Date32,
            _ => input.clone(),
        }
    }

    /// `apply_array` agrees with `apply` value by value: same values, same nulls, and it
    /// fails only where some single value fails.
    fn assert_agrees(t: &Transform, array: &dyn Array) -> std::result::Result<(), TestCaseError> {
        let singles: Vec<Result<Option<Datum>>> = (0..array.len())
            .map(|i| t.apply(datum_at(array, i).as_ref()))
            .collect();
        match t.apply_array(array) {
            Err(e) => prop_assert!(
                singles.iter().any(|s| s.is_err()),
                "{t} failed on the array but on no single value: {e}"
            ),
            Ok(out) => {
                prop_assert_eq!(out.len(), array.len());
                prop_assert_eq!(out.data_type(), &expected_output_type(t, array.data_type()));
                for (i, single) in singles.into_iter().enumerate() {
                    let single = single.map_err(|e| {
                        TestCaseError::fail(format!("{t} failed on value {i} only: {e}"))
                    })?;
                    prop_assert_eq!(datum_at(out.as_ref(), i), single, "{} at {}", t, i);
                }
            }
        }
        Ok(())
    }

    fn transforms() -> impl Strategy<Value = Transform> {
        prop_oneof![
            Just(Transform::Identity),
            Just(Transform::Void),
            (1u32..2_000).prop_map(Transform::Bucket),
            Just(Transform::Bucket(u32::MAX)),
            (1u32..20).prop_map(Transform::Truncate),
            Just(Transform::Year),
            Just(Transform::Month),
            Just(Transform::Day),
            Just(Transform::Hour),
        ]
    }

    /// Check every transform that accepts the array's type; the others must refuse it.
    fn check_all(array: &dyn Array, t: &Transform) -> std::result::Result<(), TestCaseError> {
        let source = iceberg_type_of_arrow(array.data_type()).unwrap();
        if t.can_transform(&Type::Primitive(source)) {
            assert_agrees(t, array)
        } else {
            prop_assert!(t.apply_array(array).is_err(), "{} accepted {}", t, source);
            Ok(())
        }
    }

    fn opt_vec<T: std::fmt::Debug>(
        s: impl Strategy<Value = T>,
    ) -> impl Strategy<Value = Vec<Option<T>>> {
        prop::collection::vec(prop::option::weighted(0.8, s), 0..40)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn arrays_of_ints_agree(v in opt_vec(any::<i32>()), t in transforms()) {
            check_all(&Int32Array::from(v.clone()), &t)?;
            check_all(&Date32Array::from(v), &t)?;
        }

        #[test]
        fn arrays_of_longs_agree(v in opt_vec(any::<i64>()), t in transforms()) {
            check_all(&Int64Array::from(v.clone()), &t)?;
            check_all(&TimestampNanosecondArray::from(v.clone()), &t)?;
            check_all(&TimestampNanosecondArray::from(v).with_timezone("UTC"), &t)?;
        }

        #[test]
        fn arrays_of_micros_agree(
            v in opt_vec(prop_oneof![-(1i64 << 55)..(1i64 << 55), any::<i64>()]),
            time in opt_vec(0..MICROS_PER_DAY),
            t in transforms(),
        ) {
            check_all(&TimestampMicrosecondArray::from(v.clone()), &t)?;
            check_all(&TimestampMicrosecondArray::from(v).with_timezone("+05:00"), &t)?;
            check_all(&Time64MicrosecondArray::from(time), &t)?;
        }

        #[test]
        fn arrays_of_decimals_agree(
            v in opt_vec(prop_oneof![any::<i64>().prop_map(i128::from), -(10i128.pow(38) - 1)..10i128.pow(38)]),
            t in transforms(),
        ) {
            let array = Decimal128Array::from(v).with_precision_and_scale(38, 3).unwrap();
            check_all(&array, &t)?;
        }

        #[test]
        fn arrays_of_strings_agree(v in opt_vec(".{0,12}"), t in transforms()) {
            let refs: Vec<Option<&str>> = v.iter().map(|s| s.as_deref()).collect();
            check_all(&StringArray::from(refs.clone()), &t)?;
            check_all(&LargeStringArray::from(refs), &t)?;
        }

        #[test]
        fn arrays_of_bytes_agree(
            v in opt_vec(prop::collection::vec(any::<u8>(), 0..12)),
            fixed in opt_vec(prop::array::uniform4(any::<u8>())),
            t in transforms(),
        ) {
            let refs: Vec<Option<&[u8]>> = v.iter().map(|b| b.as_deref()).collect();
            check_all(&BinaryArray::from(refs.clone()), &t)?;
            check_all(&LargeBinaryArray::from(refs), &t)?;
            let fixed_array = FixedSizeBinaryArray::try_from_sparse_iter_with_size(
                fixed.iter().map(|b| b.as_ref().map(|b| b.as_slice())),
                4,
            )
            .unwrap();
            check_all(&fixed_array, &t)?;
        }

        #[test]
        fn arrays_of_booleans_and_floats_agree(
            b in opt_vec(any::<bool>()),
            f in opt_vec(any::<f32>()),
            d in opt_vec(any::<f64>()),
            t in transforms(),
        ) {
            // Only identity and void accept these; NaN != NaN, so compare non-NaN values.
            let f: Vec<Option<f32>> = f.into_iter().map(|x| x.filter(|x| !x.is_nan())).collect();
            let d: Vec<Option<f64>> = d.into_iter().map(|x| x.filter(|x| !x.is_nan())).collect();
            check_all(&BooleanArray::from(b), &t)?;
            check_all(&Float32Array::from(f), &t)?;
            check_all(&Float64Array::from(d), &t)?;
        }

        #[test]
        fn own_murmur3_matches_the_murmur3_crate(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
            let reference = murmur3::murmur3_32(&mut std::io::Cursor::new(&bytes), 0).unwrap();
            prop_assert_eq!(murmur3_32(&bytes), reference as i32);
        }
    }

    #[test]
    fn arrow_outputs_keep_types_and_nulls() {
        let ts =
            TimestampMicrosecondArray::from(vec![Some(-1), None, Some(0)]).with_timezone("UTC");
        let day = Transform::Day.apply_array(&ts).unwrap();
        assert_eq!(day.data_type(), &DataType::Date32);
        assert_eq!(
            day.as_primitive::<Date32Type>().iter().collect::<Vec<_>>(),
            vec![Some(-1), None, Some(0)]
        );
        let identity = Transform::Identity.apply_array(&ts).unwrap();
        assert_eq!(identity.data_type(), ts.data_type());
        let void = Transform::Void.apply_array(&ts).unwrap();
        assert_eq!(void.data_type(), ts.data_type());
        assert_eq!(void.null_count(), 3);

        let dec = Decimal128Array::from(vec![Some(1065), None])
            .with_precision_and_scale(9, 2)
            .unwrap();
        let truncated = Transform::Truncate(50).apply_array(&dec).unwrap();
        assert_eq!(truncated.data_type(), &DataType::Decimal128(9, 2));
        assert_eq!(
            truncated
                .as_primitive::<Decimal128Type>()
                .iter()
                .collect::<Vec<_>>(),
            vec![Some(1050), None]
        );

        let strings = StringArray::from(vec![Some("iceberg"), None]);
        let buckets = Transform::Bucket(100).apply_array(&strings).unwrap();
        assert_eq!(buckets.data_type(), &DataType::Int32);
        assert_eq!(
            buckets
                .as_primitive::<Int32Type>()
                .iter()
                .collect::<Vec<_>>(),
            vec![Some(1210000089 % 100), None]
        );
    }

    #[test]
    fn arrow_types_without_an_iceberg_meaning_are_refused() {
        let millis = arrow_array::TimestampMillisecondArray::from(vec![1]);
        assert!(Transform::Day.apply_array(&millis).is_err());
        assert!(Transform::Identity.apply_array(&millis).is_err());
        let small = arrow_array::Int16Array::from(vec![1]);
        assert!(Transform::Bucket(4).apply_array(&small).is_err());
        // Void yields nulls of any type.
        assert_eq!(Transform::Void.apply_array(&small).unwrap().null_count(), 1);
    }
}
