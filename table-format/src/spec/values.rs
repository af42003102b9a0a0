//! Single values of primitive types (spec Appendix D, "Single-value serialization").
//!
//! - [`Datum`]: a typed single value.
//! - Binary form (bounds in manifests, partition summaries): `Datum::to_bytes` / `Datum::from_bytes`.
//! - JSON form (defaults, REST partition values): `Datum::to_json` / `Datum::from_json`.
//! - Helpers: `Datum::human_string` (readable text), `Datum::partial_cmp_same_type` (the spec's
//!   sort order) and the checked constructor `Datum::decimal`.
//!
//! Dates and times use the proleptic Gregorian calendar and work for every value the types can
//! hold (years beyond 9999 are written `+10000-01-01`, as Java does), so writing never fails.

use std::cmp::Ordering;
use std::fmt;

use serde_json::Value as JsonValue;
use uuid::Uuid;

use super::types::{MAX_DECIMAL_PRECISION, PrimitiveType};
use crate::{Error, Result};

/// A single value of a primitive Iceberg type.
///
/// Time values are in the unit of their type: microseconds for `time`, `timestamp` and
/// `timestamptz`; nanoseconds for the `_ns` types; days for `date`.
#[derive(Debug, Clone, PartialEq)]
pub enum Datum {
    /// `boolean`
    Boolean(bool),
    /// `int`
    Int(i32),
    /// `long`
    Long(i64),
    /// `float`
    Float(f32),
    /// `double`
    Double(f64),
    /// `decimal(P,S)`: the unscaled value with its precision and scale.
    Decimal {
        /// The unscaled integer value.
        unscaled: i128,
        /// The type's precision.
        precision: u32,
        /// The type's scale.
        scale: u32,
    },
    /// `date`: days since 1970-01-01.
    Date(i32),
    /// `time`: microseconds since midnight.
    Time(i64),
    /// `timestamp`: microseconds since the epoch.
    Timestamp(i64),
    /// `timestamptz`: microseconds since the epoch, UTC.
    Timestamptz(i64),
    /// `timestamp_ns`: nanoseconds since the epoch.
    TimestampNs(i64),
    /// `timestamptz_ns`: nanoseconds since the epoch, UTC.
    TimestamptzNs(i64),
    /// `string`
    String(String),
    /// `uuid`
    Uuid(Uuid),
    /// `fixed[L]`: L = the length of the bytes.
    Fixed(Vec<u8>),
    /// `binary`
    Binary(Vec<u8>),
}

impl Datum {
    /// The primitive type of this value.
    pub fn primitive_type(&self) -> PrimitiveType {
        match self {
            Datum::Boolean(_) => PrimitiveType::Boolean,
            Datum::Int(_) => PrimitiveType::Int,
            Datum::Long(_) => PrimitiveType::Long,
            Datum::Float(_) => PrimitiveType::Float,
            Datum::Double(_) => PrimitiveType::Double,
            Datum::Decimal {
                precision, scale, ..
            } => PrimitiveType::Decimal {
                precision: *precision,
                scale: *scale,
            },
            Datum::Date(_) => PrimitiveType::Date,
            Datum::Time(_) => PrimitiveType::Time,
            Datum::Timestamp(_) => PrimitiveType::Timestamp,
            Datum::Timestamptz(_) => PrimitiveType::Timestamptz,
            Datum::TimestampNs(_) => PrimitiveType::TimestampNs,
            Datum::TimestamptzNs(_) => PrimitiveType::TimestamptzNs,
            Datum::String(_) => PrimitiveType::String,
            Datum::Uuid(_) => PrimitiveType::Uuid,
            Datum::Fixed(b) => PrimitiveType::Fixed(b.len() as u64),
            Datum::Binary(_) => PrimitiveType::Binary,
        }
    }
}

/// Microseconds in one day.
const MICROS_PER_DAY: i64 = 86_400_000_000;
/// Nanoseconds in one day.
const NANOS_PER_DAY: i64 = 86_400_000_000_000;
/// Nanoseconds in one second.
const NANOS_PER_SECOND: i64 = 1_000_000_000;
/// Days from 0000-03-01 (proleptic Gregorian) to 1970-01-01, for the civil-date algorithms.
const DAYS_0000_03_01_TO_EPOCH: i64 = 719_468;
/// Days in a 400-year Gregorian cycle.
const DAYS_PER_ERA: i64 = 146_097;

impl Datum {
    /// A `decimal(precision, scale)` value, checked to fit the precision.
    ///
    /// Fails if the type is invalid (precision 1..=38, scale at most the precision) or
    /// `unscaled` has more than `precision` digits.
    pub fn decimal(unscaled: i128, precision: u32, scale: u32) -> Result<Datum> {
        if precision == 0 || precision > MAX_DECIMAL_PRECISION || scale > precision {
            return Err(Error::invalid(format!(
                "invalid decimal type decimal({precision}, {scale}): precision must be 1..=38 \
                 and scale at most the precision"
            )));
        }
        // 10^38 < 2^127, so this cannot overflow for precision <= 38.
        let limit = 10u128.pow(precision);
        if unscaled.unsigned_abs() >= limit {
            return Err(Error::invalid(format!(
                "decimal value {} does not fit decimal({precision}, {scale}): it has more than \
                 {precision} digits",
                format_decimal(unscaled, scale)
            )));
        }
        Ok(Datum::Decimal {
            unscaled,
            precision,
            scale,
        })
    }

    // -----------------------------------------------------------------------------------------
    // Binary single-value form
    // -----------------------------------------------------------------------------------------

    /// The spec's binary single-value form (Appendix D), as used for bounds and summaries.
    ///
    /// Every value encodes; decimals use the minimal two's-complement big-endian bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            Datum::Boolean(b) => vec![u8::from(*b)],
            Datum::Int(v) | Datum::Date(v) => v.to_le_bytes().to_vec(),
            Datum::Long(v)
            | Datum::Time(v)
            | Datum::Timestamp(v)
            | Datum::Timestamptz(v)
            | Datum::TimestampNs(v)
            | Datum::TimestamptzNs(v) => v.to_le_bytes().to_vec(),
            Datum::Float(v) => v.to_le_bytes().to_vec(),
            Datum::Double(v) => v.to_le_bytes().to_vec(),
            Datum::Decimal { unscaled, .. } => decimal_to_min_bytes(*unscaled),
            Datum::String(s) => s.as_bytes().to_vec(),
            Datum::Uuid(u) => u.as_bytes().to_vec(),
            Datum::Fixed(b) | Datum::Binary(b) => b.clone(),
        }
    }

    /// Read the binary single-value form as a value of type `ty`.
    ///
    /// Values written before a type promotion are widened: 4 bytes under `long` are an int,
    /// under `double` a float, under `timestamp`/`timestamp_ns` a date (v3). Wrong lengths,
    /// invalid UTF-8, times outside a day and decimals beyond the precision are errors.
    pub fn from_bytes(bytes: &[u8], ty: &PrimitiveType) -> Result<Datum> {
        let len = bytes.len();
        Ok(match ty {
            PrimitiveType::Boolean => match bytes {
                [b] => Datum::Boolean(*b != 0),
                _ => return Err(wrong_length(ty, len, "1")),
            },
            PrimitiveType::Int => Datum::Int(i32::from_le_bytes(exact::<4>(bytes, ty)?)),
            PrimitiveType::Long => match len {
                4 => Datum::Long(i64::from(i32::from_le_bytes(exact::<4>(bytes, ty)?))),
                _ => Datum::Long(i64::from_le_bytes(exact_or::<8>(bytes, ty, "4 or 8")?)),
            },
            PrimitiveType::Float => Datum::Float(f32::from_le_bytes(exact::<4>(bytes, ty)?)),
            PrimitiveType::Double => match len {
                4 => Datum::Double(f64::from(f32::from_le_bytes(exact::<4>(bytes, ty)?))),
                _ => Datum::Double(f64::from_le_bytes(exact_or::<8>(bytes, ty, "4 or 8")?)),
            },
            PrimitiveType::Date => Datum::Date(i32::from_le_bytes(exact::<4>(bytes, ty)?)),
            PrimitiveType::Time => {
                let micros = i64::from_le_bytes(exact::<8>(bytes, ty)?);
                if !(0..MICROS_PER_DAY).contains(&micros) {
                    return Err(Error::invalid(format!(
                        "time value {micros} is out of range: microseconds from midnight must \
                         be in 0..{MICROS_PER_DAY}"
                    )));
                }
                Datum::Time(micros)
            }
            PrimitiveType::Timestamp => match len {
                4 => Datum::Timestamp(promote_date(bytes, ty, MICROS_PER_DAY)?),
                _ => Datum::Timestamp(i64::from_le_bytes(exact_or::<8>(bytes, ty, "4 or 8")?)),
            },
            PrimitiveType::TimestampNs => match len {
                4 => Datum::TimestampNs(promote_date(bytes, ty, NANOS_PER_DAY)?),
                _ => Datum::TimestampNs(i64::from_le_bytes(exact_or::<8>(bytes, ty, "4 or 8")?)),
            },
            PrimitiveType::Timestamptz => {
                Datum::Timestamptz(i64::from_le_bytes(exact::<8>(bytes, ty)?))
            }
            PrimitiveType::TimestamptzNs => {
                Datum::TimestamptzNs(i64::from_le_bytes(exact::<8>(bytes, ty)?))
            }
            PrimitiveType::String => match std::str::from_utf8(bytes) {
                Ok(s) => Datum::String(s.to_owned()),
                Err(e) => {
                    return Err(Error::invalid(format!(
                        "string value of {len} bytes is not valid UTF-8: {e}"
                    ))
                    .with_source(e));
                }
            },
            PrimitiveType::Uuid => Datum::Uuid(Uuid::from_bytes(exact::<16>(bytes, ty)?)),
            PrimitiveType::Fixed(l) => {
                if u64::try_from(len).ok() != Some(*l) {
                    return Err(wrong_length(ty, len, &l.to_string()));
                }
                Datum::Fixed(bytes.to_vec())
            }
            PrimitiveType::Binary => Datum::Binary(bytes.to_vec()),
            PrimitiveType::Decimal { precision, scale } => {
                if !(1..=16).contains(&len) {
                    return Err(wrong_length(ty, len, "1 to 16"));
                }
                let fill = if bytes[0] & 0x80 != 0 { 0xff } else { 0x00 };
                let mut buf = [fill; 16];
                buf[16 - len..].copy_from_slice(bytes);
                Datum::decimal(i128::from_be_bytes(buf), *precision, *scale)?
            }
        })
    }

    // -----------------------------------------------------------------------------------------
    // JSON single-value form
    // -----------------------------------------------------------------------------------------

    /// The spec's JSON single-value form (Appendix D).
    ///
    /// Times and timestamps carry exactly 6 (or 9 for `_ns`) fraction digits; tz types end in
    /// `+00:00`; fixed and binary are uppercase hex (as Java writes them); uuids lowercase.
    /// Non-finite floats, which JSON numbers cannot hold, become the strings `"NaN"`,
    /// `"Infinity"` and `"-Infinity"` (as Java's Jackson writes them).
    pub fn to_json(&self) -> JsonValue {
        match self {
            Datum::Boolean(b) => JsonValue::Bool(*b),
            Datum::Int(v) => JsonValue::from(*v),
            Datum::Long(v) => JsonValue::from(*v),
            Datum::Float(v) => float_to_json(*v),
            Datum::Double(v) => double_to_json(*v),
            Datum::Decimal {
                unscaled, scale, ..
            } => JsonValue::String(format_decimal(*unscaled, *scale)),
            Datum::Date(d) => JsonValue::String(format_date(i64::from(*d))),
            Datum::Time(t) => JsonValue::String(format_time(*t)),
            Datum::Timestamp(v) => JsonValue::String(format_timestamp(*v, TimeUnit::Micros)),
            Datum::Timestamptz(v) => {
                JsonValue::String(format_timestamp(*v, TimeUnit::Micros) + "+00:00")
            }
            Datum::TimestampNs(v) => JsonValue::String(format_timestamp(*v, TimeUnit::Nanos)),
            Datum::TimestamptzNs(v) => {
                JsonValue::String(format_timestamp(*v, TimeUnit::Nanos) + "+00:00")
            }
            Datum::String(s) => JsonValue::String(s.clone()),
            Datum::Uuid(u) => JsonValue::String(u.hyphenated().to_string()),
            Datum::Fixed(b) | Datum::Binary(b) => JsonValue::String(encode_hex(b)),
        }
    }

    /// Read the JSON single-value form as a value of type `ty`.
    ///
    /// Lenient where it is safe: fewer fraction digits (or no seconds) in times, any zone offset
    /// (converted to UTC) or `Z` in tz timestamps, hex in either case, and the non-finite float
    /// strings. Decimals must have exactly the type's scale (exponent notation allowed, as in
    /// Java's `BigDecimal`); sub-microsecond digits under a microsecond type must be zero.
    pub fn from_json(value: &JsonValue, ty: &PrimitiveType) -> Result<Datum> {
        let bad_kind = |expected: &str| {
            Error::invalid(format!(
                "cannot read {} as a {ty} value: expected {expected}, got a JSON {}",
                short_json(value),
                json_kind(value)
            ))
        };
        let text = || value.as_str().ok_or_else(|| bad_kind("a JSON string"));
        let in_context =
            |e: Error| e.context(format!("cannot read {} as a {ty} value", short_json(value)));
        Ok(match ty {
            PrimitiveType::Boolean => {
                Datum::Boolean(value.as_bool().ok_or_else(|| bad_kind("a JSON boolean"))?)
            }
            PrimitiveType::Int => {
                let v = json_integer(value).ok_or_else(|| bad_kind("a JSON integer"))?;
                Datum::Int(i32::try_from(v).map_err(|_| {
                    Error::invalid(format!("value {value} is out of range for int"))
                })?)
            }
            PrimitiveType::Long => {
                let v = json_integer(value).ok_or_else(|| bad_kind("a JSON integer"))?;
                Datum::Long(i64::try_from(v).map_err(|_| {
                    Error::invalid(format!("value {value} is out of range for long"))
                })?)
            }
            PrimitiveType::Float => {
                let v = json_float(value).ok_or_else(|| bad_kind("a JSON number"))?;
                // `as` rounds to nearest; a finite double beyond f32's range becomes infinite.
                let f = v as f32;
                if v.is_finite() && !f.is_finite() {
                    return Err(Error::invalid(format!(
                        "value {value} is out of range for float"
                    )));
                }
                Datum::Float(f)
            }
            PrimitiveType::Double => {
                Datum::Double(json_float(value).ok_or_else(|| bad_kind("a JSON number"))?)
            }
            PrimitiveType::Decimal { precision, scale } => {
                let s = text()?;
                let unscaled = parse_decimal(s, *scale).map_err(in_context)?;
                Datum::decimal(unscaled, *precision, *scale)?
            }
            PrimitiveType::Date => {
                let days = parse_date(text()?).map_err(in_context)?;
                Datum::Date(i32::try_from(days).map_err(|_| {
                    Error::invalid(format!("date {value} is out of range for date"))
                })?)
            }
            PrimitiveType::Time => {
                let nanos = parse_time(text()?).map_err(in_context)?;
                Datum::Time(nanos_to_unit(i128::from(nanos), TimeUnit::Micros).map_err(in_context)?)
            }
            PrimitiveType::Timestamp => Datum::Timestamp(
                parse_timestamp(text()?, TimeUnit::Micros, false).map_err(in_context)?,
            ),
            PrimitiveType::Timestamptz => Datum::Timestamptz(
                parse_timestamp(text()?, TimeUnit::Micros, true).map_err(in_context)?,
            ),
            PrimitiveType::TimestampNs => Datum::TimestampNs(
                parse_timestamp(text()?, TimeUnit::Nanos, false).map_err(in_context)?,
            ),
            PrimitiveType::TimestamptzNs => Datum::TimestamptzNs(
                parse_timestamp(text()?, TimeUnit::Nanos, true).map_err(in_context)?,
            ),
            PrimitiveType::String => Datum::String(text()?.to_owned()),
            PrimitiveType::Uuid => {
                let s = text()?;
                if s.len() != 36 {
                    return Err(Error::invalid(format!(
                        "cannot read {} as a uuid value: expected the 36-character hyphenated \
                         form like f79c3e09-677c-4bbd-a479-3f349cb785e7",
                        short_json(value)
                    )));
                }
                Datum::Uuid(Uuid::parse_str(s).map_err(|e| {
                    Error::invalid(format!(
                        "cannot read {} as a uuid value: {e}",
                        short_json(value)
                    ))
                    .with_source(e)
                })?)
            }
            PrimitiveType::Fixed(l) => {
                let bytes = decode_hex(text()?).map_err(in_context)?;
                if u64::try_from(bytes.len()).ok() != Some(*l) {
                    return Err(Error::invalid(format!(
                        "cannot read {} as a {ty} value: it holds {} bytes, expected {l}",
                        short_json(value),
                        bytes.len()
                    )));
                }
                Datum::Fixed(bytes)
            }
            PrimitiveType::Binary => Datum::Binary(decode_hex(text()?).map_err(in_context)?),
        })
    }

    // -----------------------------------------------------------------------------------------
    // Helpers
    // -----------------------------------------------------------------------------------------

    /// A readable form: the JSON single-value text without quotes (e.g. `14.20`, `2017-11-16`).
    pub fn human_string(&self) -> String {
        match self.to_json() {
            JsonValue::String(s) => s,
            other => other.to_string(),
        }
    }

    /// Order two values of the same type; `None` when the types differ.
    ///
    /// Floats use the IEEE total order (-NaN < -Inf < ... < -0 < 0 < ... < Inf < NaN), strings
    /// their UTF-8 bytes, binary/fixed/uuid unsigned bytes. Decimals compare when their scales
    /// match (precision may differ); fixed values when their lengths match.
    pub fn partial_cmp_same_type(&self, other: &Datum) -> Option<Ordering> {
        use Datum::*;
        Some(match (self, other) {
            (Boolean(a), Boolean(b)) => a.cmp(b),
            (Int(a), Int(b)) | (Date(a), Date(b)) => a.cmp(b),
            (Long(a), Long(b))
            | (Time(a), Time(b))
            | (Timestamp(a), Timestamp(b))
            | (Timestamptz(a), Timestamptz(b))
            | (TimestampNs(a), TimestampNs(b))
            | (TimestamptzNs(a), TimestamptzNs(b)) => a.cmp(b),
            (Float(a), Float(b)) => a.total_cmp(b),
            (Double(a), Double(b)) => a.total_cmp(b),
            (
                Decimal {
                    unscaled: a,
                    scale: sa,
                    ..
                },
                Decimal {
                    unscaled: b,
                    scale: sb,
                    ..
                },
            ) if sa == sb => a.cmp(b),
            (String(a), String(b)) => a.as_bytes().cmp(b.as_bytes()),
            (Uuid(a), Uuid(b)) => a.as_bytes().cmp(b.as_bytes()),
            (Fixed(a), Fixed(b)) if a.len() == b.len() => a.cmp(b),
            (Binary(a), Binary(b)) => a.cmp(b),
            _ => return None,
        })
    }
}

impl fmt::Display for Datum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.human_string())
    }
}

/// The unscaled value of a decimal as minimal two's-complement big-endian bytes (at least one).
pub(crate) fn decimal_to_min_bytes(unscaled: i128) -> Vec<u8> {
    let bytes = unscaled.to_be_bytes();
    bytes[decimal_min_be_start(&bytes)..].to_vec()
}

/// Where the minimal two's-complement big-endian form of a 16-byte value starts: leading
/// bytes that only repeat the sign bit of the byte after them are dropped (as Java's
/// `BigInteger.toByteArray` does). Used by the binary form and by the bucket hash.
pub(crate) fn decimal_min_be_start(bytes: &[u8; 16]) -> usize {
    let mut start = 0;
    while start < bytes.len() - 1 {
        let (lead, next_negative) = (bytes[start], bytes[start + 1] & 0x80 != 0);
        if (lead == 0x00 && !next_negative) || (lead == 0xff && next_negative) {
            start += 1;
        } else {
            break;
        }
    }
    start
}

// ---------------------------------------------------------------------------------------------
// Binary helpers
// ---------------------------------------------------------------------------------------------

/// The error for a binary value of the wrong length.
fn wrong_length(ty: &PrimitiveType, len: usize, expected: &str) -> Error {
    Error::invalid(format!(
        "cannot read a {ty} value from {len} bytes: expected {expected} bytes"
    ))
}

/// The bytes as an array of exactly `N`, or a wrong-length error.
fn exact<const N: usize>(bytes: &[u8], ty: &PrimitiveType) -> Result<[u8; N]> {
    exact_or::<N>(bytes, ty, &N.to_string())
}

/// Like [`exact`], with the accepted lengths spelled out for the error message.
fn exact_or<const N: usize>(bytes: &[u8], ty: &PrimitiveType, expected: &str) -> Result<[u8; N]> {
    bytes
        .try_into()
        .map_err(|_| wrong_length(ty, bytes.len(), expected))
}

/// A 4-byte date read under a timestamp type (v3 promotion): days times `per_day`.
fn promote_date(bytes: &[u8], ty: &PrimitiveType, per_day: i64) -> Result<i64> {
    let days = i32::from_le_bytes(exact::<4>(bytes, ty)?);
    i64::from(days).checked_mul(per_day).ok_or_else(|| {
        Error::invalid(format!(
            "date {} (day {days}) promoted to {ty} is out of range",
            format_date(i64::from(days))
        ))
    })
}

// ---------------------------------------------------------------------------------------------
// JSON helpers
// ---------------------------------------------------------------------------------------------

/// The name of a JSON value's kind, for error messages.
fn json_kind(value: &JsonValue) -> &'static str {
    match value {
        JsonValue::Null => "null",
        JsonValue::Bool(_) => "boolean",
        JsonValue::Number(_) => "number",
        JsonValue::String(_) => "string",
        JsonValue::Array(_) => "array",
        JsonValue::Object(_) => "object",
    }
}

/// A JSON value as text, shortened for error messages.
fn short_json(value: &JsonValue) -> String {
    const MAX: usize = 80;
    let s = value.to_string();
    if s.len() <= MAX {
        return s;
    }
    let mut end = MAX;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &s[..end])
}

/// A JSON integer (not a number with a fraction or exponent) as i128.
fn json_integer(value: &JsonValue) -> Option<i128> {
    match value {
        JsonValue::Number(n) => n
            .as_i64()
            .map(i128::from)
            .or_else(|| n.as_u64().map(i128::from)),
        _ => None,
    }
}

/// A JSON number, or one of the strings Jackson writes for non-finite values.
fn json_float(value: &JsonValue) -> Option<f64> {
    match value {
        JsonValue::Number(n) => n.as_f64(),
        JsonValue::String(s) => match s.as_str() {
            "NaN" => Some(f64::NAN),
            "Infinity" | "+Infinity" => Some(f64::INFINITY),
            "-Infinity" => Some(f64::NEG_INFINITY),
            _ => None,
        },
        _ => None,
    }
}

/// A non-finite value as the string Jackson writes for it.
fn non_finite_json(nan: bool, positive: bool) -> JsonValue {
    JsonValue::String(
        match (nan, positive) {
            (true, _) => "NaN",
            (false, true) => "Infinity",
            (false, false) => "-Infinity",
        }
        .to_owned(),
    )
}

/// A float as a JSON number with its shortest decimal form, that reads back to the same float.
fn float_to_json(v: f32) -> JsonValue {
    if !v.is_finite() {
        return non_finite_json(v.is_nan(), v.is_sign_positive());
    }
    // The shortest f32 decimal read as a double almost always narrows back to `v`; for the
    // rare exceptions (double rounding), write the exact double value of `v` instead.
    let short = format!("{v}")
        .parse::<f64>()
        .ok()
        .filter(|d| (*d as f32).to_bits() == v.to_bits());
    let d = short.unwrap_or(f64::from(v));
    serde_json::Number::from_f64(d).map_or(JsonValue::Null, JsonValue::Number)
}

/// A double as a JSON number.
fn double_to_json(v: f64) -> JsonValue {
    match serde_json::Number::from_f64(v) {
        Some(n) => JsonValue::Number(n),
        None => non_finite_json(v.is_nan(), v.is_sign_positive()),
    }
}

/// Bytes as an uppercase hex string, as Java writes fixed and binary values.
fn encode_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    s
}

/// A hex string (either case) as bytes.
fn decode_hex(s: &str) -> Result<Vec<u8>> {
    if let Some((i, c)) = s.char_indices().find(|(_, c)| !c.is_ascii_hexdigit()) {
        return Err(Error::invalid(format!(
            "invalid hex digit {c:?} at position {i}"
        )));
    }
    if !s.len().is_multiple_of(2) {
        return Err(Error::invalid(format!(
            "hex string has an odd number of digits ({})",
            s.len()
        )));
    }
    let nibble = |c: u8| match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        _ => c - b'A' + 10,
    };
    Ok(s.as_bytes()
        .chunks_exact(2)
        .map(|pair| (nibble(pair[0]) << 4) | nibble(pair[1]))
        .collect())
}

// ---------------------------------------------------------------------------------------------
// Decimal text
// ---------------------------------------------------------------------------------------------

/// A decimal's unscaled value written with exactly `scale` fraction digits (e.g. `-0.05`).
fn format_decimal(unscaled: i128, scale: u32) -> String {
    let sign = if unscaled < 0 { "-" } else { "" };
    let digits = unscaled.unsigned_abs().to_string();
    let scale = scale as usize;
    if scale == 0 {
        return format!("{sign}{digits}");
    }
    let padded = format!("{digits:0>width$}", width = scale + 1);
    let (int_part, frac_part) = padded.split_at(padded.len() - scale);
    format!("{sign}{int_part}.{frac_part}")
}

/// Parse decimal text (`[+-]digits[.digits][e[+-]digits]`, like Java's `BigDecimal`) whose
/// scale must equal `scale`; returns the unscaled value.
fn parse_decimal(s: &str, scale: u32) -> Result<i128> {
    let bad = || Error::invalid(format!("'{s}' is not a decimal number"));
    let (negative, rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let (mantissa, exponent) = match rest.find(['e', 'E']) {
        Some(i) => {
            let exp_text = &rest[i + 1..];
            let digits = exp_text.strip_prefix(['+', '-']).unwrap_or(exp_text);
            if digits.is_empty() || digits.len() > 9 || !digits.bytes().all(|c| c.is_ascii_digit())
            {
                return Err(bad());
            }
            (&rest[..i], exp_text.parse::<i64>().map_err(|_| bad())?)
        }
        None => (rest, 0),
    };
    let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if int_part.is_empty() && frac_part.is_empty()
        || !int_part.bytes().all(|c| c.is_ascii_digit())
        || !frac_part.bytes().all(|c| c.is_ascii_digit())
    {
        return Err(bad());
    }
    let value_scale = frac_part.len() as i64 - exponent;
    if value_scale != i64::from(scale) {
        return Err(Error::invalid(format!(
            "decimal '{s}' has scale {value_scale} but the type's scale is {scale}"
        )));
    }
    let too_large = || Error::invalid(format!("decimal '{s}' has too many digits"));
    let mut unscaled: i128 = 0;
    for c in int_part.bytes().chain(frac_part.bytes()) {
        unscaled = unscaled
            .checked_mul(10)
            .and_then(|v| v.checked_add(i128::from(c - b'0')))
            .ok_or_else(too_large)?;
    }
    Ok(if negative { -unscaled } else { unscaled })
}

// ---------------------------------------------------------------------------------------------
// Dates and times (proleptic Gregorian, any year an i64 can hold)
// ---------------------------------------------------------------------------------------------

/// The unit of a timestamp value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TimeUnit {
    /// Microseconds.
    Micros,
    /// Nanoseconds.
    Nanos,
}

impl TimeUnit {
    /// Nanoseconds in one unit.
    fn nanos(self) -> i64 {
        match self {
            TimeUnit::Micros => 1_000,
            TimeUnit::Nanos => 1,
        }
    }

    /// Units in one day.
    fn per_day(self) -> i64 {
        NANOS_PER_DAY / self.nanos()
    }

    /// Fraction digits written for this unit.
    fn digits(self) -> usize {
        match self {
            TimeUnit::Micros => 6,
            TimeUnit::Nanos => 9,
        }
    }
}

/// The civil date (year, month, day) of a day count since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    // Howard Hinnant's days-to-civil algorithm, with eras of 400 years starting in March.
    let z = days + DAYS_0000_03_01_TO_EPOCH;
    let era = z.div_euclid(DAYS_PER_ERA);
    let doe = z.rem_euclid(DAYS_PER_ERA); // day of era, 0..=146096
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365; // year of era, 0..=399
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // day of March-based year, 0..=365
    let mp = (5 * doy + 2) / 153; // March-based month, 0..=11
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Days since 1970-01-01 of a valid civil date.
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = year - i64::from(month <= 2);
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = i64::from((month + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * DAYS_PER_ERA + doe - DAYS_0000_03_01_TO_EPOCH
}

/// Days in `month` of `year`.
fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// An ISO-8601 date (`2017-11-16`; `+10000-01-01` and `-0001-01-01` outside 0000..=9999).
fn format_date(days: i64) -> String {
    let (year, month, day) = civil_from_days(days);
    let year_text = if (0..=9999).contains(&year) {
        format!("{year:04}")
    } else if year > 9999 {
        format!("+{year}")
    } else {
        format!("-{:04}", year.unsigned_abs())
    };
    format!("{year_text}-{month:02}-{day:02}")
}

/// `HH:MM:SS` followed by `digits` fraction digits of `nanos_in_second`.
fn format_clock(secs_of_day: i64, nanos_in_second: i64, digits: usize) -> String {
    let frac = format!("{nanos_in_second:09}");
    format!(
        "{:02}:{:02}:{:02}.{}",
        secs_of_day / 3600,
        secs_of_day / 60 % 60,
        secs_of_day % 60,
        &frac[..digits]
    )
}

/// A time of day in microseconds as `HH:MM:SS.ffffff`; values outside a day (which no parser
/// here produces) are written with a `-` sign or hours past 23 rather than failing.
fn format_time(micros: i64) -> String {
    let sign = if micros < 0 { "-" } else { "" };
    let abs = micros.unsigned_abs();
    let secs = (abs / 1_000_000) as i64;
    let nanos = (abs % 1_000_000) as i64 * 1_000;
    format!("{sign}{}", format_clock(secs, nanos, 6))
}

/// A timestamp as `YYYY-MM-DDTHH:MM:SS` with 6 (micros) or 9 (nanos) fraction digits, no zone.
fn format_timestamp(value: i64, unit: TimeUnit) -> String {
    let per_day = unit.per_day();
    let days = value.div_euclid(per_day);
    let nanos_of_day = value.rem_euclid(per_day) * unit.nanos();
    format!(
        "{}T{}",
        format_date(days),
        format_clock(
            nanos_of_day / NANOS_PER_SECOND,
            nanos_of_day % NANOS_PER_SECOND,
            unit.digits()
        )
    )
}

/// Parse exactly two ASCII digits.
fn two_digits(s: &str) -> Option<u32> {
    match s.as_bytes() {
        [a, b] if a.is_ascii_digit() && b.is_ascii_digit() => {
            Some(u32::from(a - b'0') * 10 + u32::from(b - b'0'))
        }
        _ => None,
    }
}

/// Parse an ISO-8601 date `[+-]YYYY-MM-DD` into days since 1970-01-01.
fn parse_date(s: &str) -> Result<i64> {
    let bad = |why: &str| Error::invalid(format!("'{s}' is not a valid date ({why})"));
    let (sign, rest) = match s.as_bytes().first() {
        Some(b'-') => (-1, &s[1..]),
        Some(b'+') => (1, &s[1..]),
        _ => (1, s),
    };
    let mut parts = rest.splitn(3, '-');
    let (year_text, month_text, day_text) = match (parts.next(), parts.next(), parts.next()) {
        (Some(y), Some(m), Some(d)) => (y, m, d),
        _ => return Err(bad("expected YYYY-MM-DD")),
    };
    if year_text.len() < 4 || year_text.len() > 9 || !year_text.bytes().all(|c| c.is_ascii_digit())
    {
        return Err(bad("the year must have 4 to 9 digits"));
    }
    let year = sign * year_text.parse::<i64>().map_err(|_| bad("bad year"))?;
    let month = two_digits(month_text).ok_or_else(|| bad("the month must have 2 digits"))?;
    let day = two_digits(day_text).ok_or_else(|| bad("the day must have 2 digits"))?;
    if !(1..=12).contains(&month) {
        return Err(bad("month out of range"));
    }
    if day == 0 || day > days_in_month(year, month) {
        return Err(bad("day out of range for the month"));
    }
    Ok(days_from_civil(year, month, day))
}

/// Parse an ISO-8601 time `HH:MM[:SS[.fffffffff]]` into nanoseconds since midnight.
fn parse_time(s: &str) -> Result<i64> {
    let bad = |why: &str| Error::invalid(format!("'{s}' is not a valid time ({why})"));
    let (clock, fraction) = match s.split_once('.') {
        Some((c, f)) => (c, Some(f)),
        None => (s, None),
    };
    let fields: Vec<&str> = clock.split(':').collect();
    let (h, m, sec) = match fields.as_slice() {
        [h, m] => (*h, *m, None),
        [h, m, sec] => (*h, *m, Some(*sec)),
        _ => return Err(bad("expected HH:MM:SS")),
    };
    let hour = two_digits(h).ok_or_else(|| bad("the hour must have 2 digits"))?;
    let minute = two_digits(m).ok_or_else(|| bad("the minute must have 2 digits"))?;
    let second = match sec {
        Some(sec) => two_digits(sec).ok_or_else(|| bad("the second must have 2 digits"))?,
        None if fraction.is_some() => return Err(bad("a fraction needs seconds")),
        None => 0,
    };
    if hour > 23 || minute > 59 || second > 59 {
        return Err(bad("field out of range"));
    }
    let mut nanos: i64 = 0;
    if let Some(f) = fraction {
        if f.is_empty() || f.len() > 9 || !f.bytes().all(|c| c.is_ascii_digit()) {
            return Err(bad("the fraction must have 1 to 9 digits"));
        }
        let mut scale = NANOS_PER_SECOND;
        for c in f.bytes() {
            scale /= 10;
            nanos += i64::from(c - b'0') * scale;
        }
    }
    let secs = i64::from(hour) * 3600 + i64::from(minute) * 60 + i64::from(second);
    Ok(secs * NANOS_PER_SECOND + nanos)
}

/// Parse a UTC offset `Z`, `+HH:MM` or `+HH:MM:SS` into seconds east of UTC.
fn parse_offset(s: &str) -> Result<i64> {
    let bad = || Error::invalid(format!("'{s}' is not a valid zone offset"));
    if s == "Z" || s == "z" {
        return Ok(0);
    }
    let sign = match s.as_bytes().first() {
        Some(b'+') => 1,
        Some(b'-') => -1,
        _ => return Err(bad()),
    };
    let fields: Vec<&str> = s[1..].split(':').collect();
    let (h, m, sec) = match fields.as_slice() {
        [h, m] => (*h, *m, "00"),
        [h, m, sec] => (*h, *m, *sec),
        _ => return Err(bad()),
    };
    let (h, m, sec) = match (two_digits(h), two_digits(m), two_digits(sec)) {
        (Some(h), Some(m), Some(sec)) if h <= 18 && m <= 59 && sec <= 59 => (h, m, sec),
        _ => return Err(bad()),
    };
    Ok(sign * (i64::from(h) * 3600 + i64::from(m) * 60 + i64::from(sec)))
}

/// Nanoseconds as a whole number of `unit`, failing on sub-unit digits or i64 overflow.
fn nanos_to_unit(nanos: i128, unit: TimeUnit) -> Result<i64> {
    let per = i128::from(unit.nanos());
    if nanos % per != 0 {
        return Err(Error::invalid(
            "value has more fraction digits than the type's precision (microseconds)",
        ));
    }
    i64::try_from(nanos / per).map_err(|_| {
        Error::invalid("value is out of range: it does not fit a 64-bit count of the type's unit")
    })
}

/// Parse `date 'T' time [offset]` into `unit`s since the epoch (UTC when an offset is given);
/// `with_zone` says whether the offset is required (timestamptz) or forbidden (timestamp).
fn parse_timestamp(s: &str, unit: TimeUnit, with_zone: bool) -> Result<i64> {
    let (date_text, rest) = s.split_once(['T', 't']).ok_or_else(|| {
        Error::invalid(format!("'{s}' is not a timestamp: expected date 'T' time"))
    })?;
    let split = rest
        .find(|c: char| !(c.is_ascii_digit() || c == ':' || c == '.'))
        .unwrap_or(rest.len());
    let (time_text, offset_text) = rest.split_at(split);
    let offset_secs = match (offset_text.is_empty(), with_zone) {
        (true, false) => 0,
        (false, true) => parse_offset(offset_text)?,
        (true, true) => {
            return Err(Error::invalid(format!(
                "timestamp '{s}' has no zone offset; expected one such as +00:00"
            )));
        }
        (false, false) => {
            return Err(Error::invalid(format!(
                "timestamp '{s}' has a zone offset '{offset_text}', which a timestamp without \
                 zone must not have"
            )));
        }
    };
    let days = parse_date(date_text)?;
    let nanos_of_day = parse_time(time_text)?;
    let nanos = i128::from(days) * i128::from(NANOS_PER_DAY) + i128::from(nanos_of_day)
        - i128::from(offset_secs) * i128::from(NANOS_PER_SECOND);
    nanos_to_unit(nanos, unit)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    // --- helpers ---------------------------------------------------------------------------

    fn ty(s: &str) -> PrimitiveType {
        s.parse().unwrap()
    }

    fn dec(unscaled: i128, precision: u32, scale: u32) -> Datum {
        Datum::decimal(unscaled, precision, scale).unwrap()
    }

    fn uuid(s: &str) -> Uuid {
        Uuid::parse_str(s).unwrap()
    }

    /// The error message of reading `bytes` as `t`; panics if it succeeds.
    fn bytes_err(bytes: &[u8], t: &str) -> String {
        let e = Datum::from_bytes(bytes, &ty(t)).unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::DataInvalid);
        e.message().to_owned()
    }

    /// The error message of reading `v` as `t`; panics if it succeeds.
    fn json_err(v: JsonValue, t: &str) -> String {
        let e = Datum::from_json(&v, &ty(t)).unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::DataInvalid);
        e.message().to_owned()
    }

    fn from_json(v: JsonValue, t: &str) -> Datum {
        Datum::from_json(&v, &ty(t)).unwrap()
    }

    fn from_bytes(b: &[u8], t: &str) -> Datum {
        Datum::from_bytes(b, &ty(t)).unwrap()
    }

    /// Micros since the epoch of a UTC date-time, computed with chrono as an oracle.
    fn chrono_micros(s: &str) -> i64 {
        chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
            .unwrap()
            .and_utc()
            .timestamp_micros()
    }

    fn chrono_days(s: &str) -> i32 {
        let d = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();
        (d - epoch).num_days() as i32
    }

    // --- decimal minimal bytes --------------------------------------------------------------

    #[test]
    fn decimal_min_bytes_examples() {
        assert_eq!(decimal_to_min_bytes(0), vec![0x00]);
        assert_eq!(decimal_to_min_bytes(1), vec![0x01]);
        assert_eq!(decimal_to_min_bytes(127), vec![0x7f]);
        assert_eq!(decimal_to_min_bytes(128), vec![0x00, 0x80]);
        assert_eq!(decimal_to_min_bytes(255), vec![0x00, 0xff]);
        assert_eq!(decimal_to_min_bytes(256), vec![0x01, 0x00]);
        assert_eq!(decimal_to_min_bytes(-1), vec![0xff]);
        assert_eq!(decimal_to_min_bytes(-128), vec![0x80]);
        assert_eq!(decimal_to_min_bytes(-129), vec![0xff, 0x7f]);
        assert_eq!(decimal_to_min_bytes(-256), vec![0xff, 0x00]);
        assert_eq!(decimal_to_min_bytes(1420), vec![0x05, 0x8c]);
        assert_eq!(decimal_to_min_bytes(i128::MAX).len(), 16);
        assert_eq!(decimal_to_min_bytes(i128::MIN).len(), 16);
        assert_eq!(decimal_to_min_bytes(i128::from(i64::MAX)).len(), 8);
        assert_eq!(decimal_to_min_bytes(i128::from(i64::MAX) + 1).len(), 9);
    }

    // --- decimal constructor ----------------------------------------------------------------

    #[test]
    fn decimal_constructor_checks_precision() {
        assert_eq!(
            Datum::decimal(1420, 4, 2).unwrap(),
            Datum::Decimal {
                unscaled: 1420,
                precision: 4,
                scale: 2
            }
        );
        assert!(Datum::decimal(9999, 4, 2).is_ok());
        assert!(Datum::decimal(-9999, 4, 2).is_ok());
        let e = Datum::decimal(10000, 4, 2).unwrap_err();
        assert!(e.message().contains("100.00"), "{}", e.message());
        assert!(e.message().contains("decimal(4, 2)"), "{}", e.message());
        assert!(Datum::decimal(-10000, 4, 2).is_err());
        let max38 = 10i128.pow(38) - 1;
        assert!(Datum::decimal(max38, 38, 0).is_ok());
        assert!(Datum::decimal(-max38, 38, 10).is_ok());
        assert!(Datum::decimal(max38 + 1, 38, 0).is_err());
        assert!(Datum::decimal(i128::MIN, 38, 0).is_err());
        assert!(Datum::decimal(0, 0, 0).is_err());
        assert!(Datum::decimal(0, 39, 0).is_err());
        let e = Datum::decimal(0, 4, 5).unwrap_err();
        assert!(e.message().contains("decimal(4, 5)"), "{}", e.message());
    }

    // --- binary form: encoding --------------------------------------------------------------

    #[test]
    fn to_bytes_every_type() {
        assert_eq!(Datum::Boolean(false).to_bytes(), vec![0x00]);
        assert_eq!(Datum::Boolean(true).to_bytes(), vec![0x01]);
        assert_eq!(Datum::Int(34).to_bytes(), vec![34, 0, 0, 0]);
        assert_eq!(Datum::Int(-1).to_bytes(), vec![0xff; 4]);
        assert_eq!(Datum::Long(34).to_bytes(), vec![34, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(
            Datum::Long(-2).to_bytes(),
            vec![0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]
        );
        assert_eq!(Datum::Float(1.0).to_bytes(), vec![0x00, 0x00, 0x80, 0x3f]);
        assert_eq!(Datum::Float(-0.0).to_bytes(), vec![0x00, 0x00, 0x00, 0x80]);
        assert_eq!(
            Datum::Double(1.0).to_bytes(),
            vec![0, 0, 0, 0, 0, 0, 0xf0, 0x3f]
        );
        assert_eq!(
            Datum::Date(17486).to_bytes(),
            17486i32.to_le_bytes().to_vec()
        );
        assert_eq!(Datum::Date(-1).to_bytes(), vec![0xff; 4]);
        assert_eq!(
            Datum::Time(81_068_000_000).to_bytes(),
            81_068_000_000i64.to_le_bytes().to_vec()
        );
        for v in [
            Datum::Timestamp(-1),
            Datum::Timestamptz(-1),
            Datum::TimestampNs(-1),
            Datum::TimestamptzNs(-1),
        ] {
            assert_eq!(v.to_bytes(), vec![0xff; 8]);
        }
        assert_eq!(
            Datum::String("iceberg".into()).to_bytes(),
            b"iceberg".to_vec()
        );
        assert_eq!(Datum::String(String::new()).to_bytes(), Vec::<u8>::new());
        assert_eq!(
            Datum::Uuid(uuid("f79c3e09-677c-4bbd-a479-3f349cb785e7")).to_bytes(),
            vec![
                0xF7, 0x9C, 0x3E, 0x09, 0x67, 0x7C, 0x4B, 0xBD, 0xA4, 0x79, 0x3F, 0x34, 0x9C, 0xB7,
                0x85, 0xE7
            ]
        );
        assert_eq!(Datum::Fixed(vec![0, 1, 2, 3]).to_bytes(), vec![0, 1, 2, 3]);
        assert_eq!(
            Datum::Binary(vec![0, 1, 2, 0xff]).to_bytes(),
            vec![0, 1, 2, 0xff]
        );
        assert_eq!(dec(1420, 4, 2).to_bytes(), vec![0x05, 0x8c]);
        assert_eq!(dec(-5, 3, 2).to_bytes(), vec![0xfb]);
        assert_eq!(dec(0, 9, 2).to_bytes(), vec![0x00]);
    }

    // --- binary form: decoding --------------------------------------------------------------

    #[test]
    fn from_bytes_every_type() {
        assert_eq!(from_bytes(&[0], "boolean"), Datum::Boolean(false));
        assert_eq!(from_bytes(&[1], "boolean"), Datum::Boolean(true));
        // The spec: any non-zero byte is true.
        assert_eq!(from_bytes(&[2], "boolean"), Datum::Boolean(true));
        assert_eq!(from_bytes(&[0xff], "boolean"), Datum::Boolean(true));
        assert_eq!(from_bytes(&[34, 0, 0, 0], "int"), Datum::Int(34));
        assert_eq!(from_bytes(&[0xff; 4], "int"), Datum::Int(-1));
        assert_eq!(from_bytes(&34i64.to_le_bytes(), "long"), Datum::Long(34));
        assert_eq!(from_bytes(&[0, 0, 0x80, 0x3f], "float"), Datum::Float(1.0));
        assert_eq!(
            from_bytes(&1.5f64.to_le_bytes(), "double"),
            Datum::Double(1.5)
        );
        assert_eq!(
            from_bytes(&17486i32.to_le_bytes(), "date"),
            Datum::Date(17486)
        );
        assert_eq!(from_bytes(&5i64.to_le_bytes(), "time"), Datum::Time(5));
        assert_eq!(
            from_bytes(&(-5i64).to_le_bytes(), "timestamp"),
            Datum::Timestamp(-5)
        );
        assert_eq!(
            from_bytes(&7i64.to_le_bytes(), "timestamptz"),
            Datum::Timestamptz(7)
        );
        assert_eq!(
            from_bytes(&8i64.to_le_bytes(), "timestamp_ns"),
            Datum::TimestampNs(8)
        );
        assert_eq!(
            from_bytes(&9i64.to_le_bytes(), "timestamptz_ns"),
            Datum::TimestamptzNs(9)
        );
        assert_eq!(
            from_bytes(b"iceberg", "string"),
            Datum::String("iceberg".into())
        );
        assert_eq!(from_bytes(b"", "string"), Datum::String(String::new()));
        assert_eq!(
            from_bytes("héllo €".as_bytes(), "string"),
            Datum::String("héllo €".into())
        );
        let u = uuid("f79c3e09-677c-4bbd-a479-3f349cb785e7");
        assert_eq!(from_bytes(u.as_bytes(), "uuid"), Datum::Uuid(u));
        assert_eq!(
            from_bytes(&[0, 1, 2, 3], "fixed[4]"),
            Datum::Fixed(vec![0, 1, 2, 3])
        );
        assert_eq!(from_bytes(&[], "fixed[0]"), Datum::Fixed(vec![]));
        assert_eq!(from_bytes(&[], "binary"), Datum::Binary(vec![]));
        assert_eq!(
            from_bytes(&[9, 0xff], "binary"),
            Datum::Binary(vec![9, 0xff])
        );
        assert_eq!(from_bytes(&[0x05, 0x8c], "decimal(4, 2)"), dec(1420, 4, 2));
        assert_eq!(from_bytes(&[0xfb], "decimal(3, 2)"), dec(-5, 3, 2));
        assert_eq!(from_bytes(&[0xff, 0x7f], "decimal(9, 0)"), dec(-129, 9, 0));
        // Non-minimal (padded) encodings are still read correctly.
        assert_eq!(
            from_bytes(&[0x00, 0x00, 0x05, 0x8c], "decimal(9, 2)"),
            dec(1420, 9, 2)
        );
        assert_eq!(
            from_bytes(&[0xff, 0xff, 0xff, 0xfb], "decimal(9, 2)"),
            dec(-5, 9, 2)
        );
        let max38 = 10i128.pow(38) - 1;
        assert_eq!(
            from_bytes(&max38.to_be_bytes(), "decimal(38, 0)"),
            dec(max38, 38, 0)
        );
    }

    #[test]
    fn from_bytes_promotions() {
        // int written before the column became long.
        assert_eq!(from_bytes(&(-7i32).to_le_bytes(), "long"), Datum::Long(-7));
        assert_eq!(
            from_bytes(&i32::MIN.to_le_bytes(), "long"),
            Datum::Long(i64::from(i32::MIN))
        );
        // float written before the column became double.
        assert_eq!(
            from_bytes(&1.5f32.to_le_bytes(), "double"),
            Datum::Double(1.5)
        );
        assert_eq!(
            from_bytes(&0.1f32.to_le_bytes(), "double"),
            Datum::Double(f64::from(0.1f32))
        );
        match from_bytes(&f32::NAN.to_le_bytes(), "double") {
            Datum::Double(d) => assert!(d.is_nan()),
            other => panic!("{other:?}"),
        }
        // date written before the column became timestamp / timestamp_ns (v3).
        assert_eq!(
            from_bytes(&17486i32.to_le_bytes(), "timestamp"),
            Datum::Timestamp(17486 * MICROS_PER_DAY)
        );
        assert_eq!(
            from_bytes(&(-1i32).to_le_bytes(), "timestamp"),
            Datum::Timestamp(-MICROS_PER_DAY)
        );
        assert_eq!(
            from_bytes(&17486i32.to_le_bytes(), "timestamp_ns"),
            Datum::TimestampNs(17486 * NANOS_PER_DAY)
        );
        assert_eq!(
            Datum::from_bytes(&17486i32.to_le_bytes(), &ty("timestamp_ns"))
                .unwrap()
                .human_string(),
            "2017-11-16T00:00:00.000000000"
        );
        // A date too far out for nanoseconds is an error, not an overflow.
        let msg = bytes_err(&i32::MAX.to_le_bytes(), "timestamp_ns");
        assert!(msg.contains("out of range"), "{msg}");
        assert!(msg.contains("timestamp_ns"), "{msg}");
        let msg = bytes_err(&i32::MIN.to_le_bytes(), "timestamp");
        assert!(msg.contains("out of range"), "{msg}");
        // No promotion into timestamptz, int, float or date.
        assert!(bytes_err(&[0; 4], "timestamptz").contains("4 bytes"));
        assert!(bytes_err(&[0; 4], "timestamptz_ns").contains("4 bytes"));
        assert!(bytes_err(&[0; 8], "int").contains("8 bytes"));
        assert!(bytes_err(&[0; 8], "float").contains("8 bytes"));
        assert!(bytes_err(&[0; 8], "date").contains("8 bytes"));
    }

    #[test]
    fn from_bytes_wrong_lengths() {
        let cases: &[(&str, usize)] = &[
            ("boolean", 0),
            ("boolean", 2),
            ("int", 0),
            ("int", 3),
            ("int", 5),
            ("long", 0),
            ("long", 5),
            ("long", 9),
            ("float", 8),
            ("float", 2),
            ("double", 7),
            ("date", 2),
            ("time", 4),
            ("timestamp", 7),
            ("timestamp", 16),
            ("timestamptz", 9),
            ("timestamp_ns", 6),
            ("timestamptz_ns", 1),
            ("uuid", 15),
            ("uuid", 17),
            ("fixed[4]", 3),
            ("fixed[4]", 5),
            ("fixed[0]", 1),
            ("decimal(9, 2)", 0),
            ("decimal(38, 2)", 17),
        ];
        for (t, len) in cases {
            let msg = bytes_err(&vec![0u8; *len], t);
            assert!(msg.contains(&ty(t).to_string()), "{t}/{len}: {msg}");
            assert!(
                msg.contains(&format!("from {len} bytes")),
                "{t}/{len}: {msg}"
            );
            assert!(msg.contains("expected"), "{t}/{len}: {msg}");
        }
    }

    #[test]
    fn from_bytes_invalid_content() {
        let msg = bytes_err(&[0x66, 0x6f, 0xff, 0xfe], "string");
        assert!(msg.contains("UTF-8"), "{msg}");
        let msg = bytes_err(&[0xc3], "string");
        assert!(msg.contains("UTF-8"), "{msg}");
        // Time outside a day.
        let msg = bytes_err(&(-1i64).to_le_bytes(), "time");
        assert!(
            msg.contains("time") && msg.contains("out of range"),
            "{msg}"
        );
        let msg = bytes_err(&MICROS_PER_DAY.to_le_bytes(), "time");
        assert!(msg.contains("out of range"), "{msg}");
        assert_eq!(
            from_bytes(&(MICROS_PER_DAY - 1).to_le_bytes(), "time"),
            Datum::Time(MICROS_PER_DAY - 1)
        );
        // Decimal with more digits than the precision.
        let msg = bytes_err(&decimal_to_min_bytes(10000), "decimal(4, 2)");
        assert!(msg.contains("does not fit decimal(4, 2)"), "{msg}");
    }

    // --- JSON form: spec examples -----------------------------------------------------------

    #[test]
    fn json_spec_examples() {
        let u = uuid("f79c3e09-677c-4bbd-a479-3f349cb785e7");
        let cases: Vec<(&str, JsonValue, Datum)> = vec![
            ("boolean", json!(true), Datum::Boolean(true)),
            ("int", json!(34), Datum::Int(34)),
            ("long", json!(34), Datum::Long(34)),
            ("float", json!(1.0), Datum::Float(1.0)),
            ("double", json!(1.0), Datum::Double(1.0)),
            ("decimal(4, 2)", json!("14.20"), dec(1420, 4, 2)),
            ("date", json!("2017-11-16"), Datum::Date(17486)),
            (
                "time",
                json!("22:31:08.123456"),
                Datum::Time(81_068_123_456),
            ),
            (
                "timestamp",
                json!("2017-11-16T22:31:08.123456"),
                Datum::Timestamp(1_510_871_468_123_456),
            ),
            (
                "timestamptz",
                json!("2017-11-16T22:31:08.123456+00:00"),
                Datum::Timestamptz(1_510_871_468_123_456),
            ),
            (
                "timestamp_ns",
                json!("2017-11-16T22:31:08.123456789"),
                Datum::TimestampNs(1_510_871_468_123_456_789),
            ),
            (
                "timestamptz_ns",
                json!("2017-11-16T22:31:08.123456789+00:00"),
                Datum::TimestamptzNs(1_510_871_468_123_456_789),
            ),
            ("string", json!("iceberg"), Datum::String("iceberg".into())),
            (
                "uuid",
                json!("f79c3e09-677c-4bbd-a479-3f349cb785e7"),
                Datum::Uuid(u),
            ),
            (
                "fixed[4]",
                json!("000102ff"),
                Datum::Fixed(vec![0, 1, 2, 0xff]),
            ),
            (
                "binary",
                json!("000102ff"),
                Datum::Binary(vec![0, 1, 2, 0xff]),
            ),
        ];
        for (t, j, d) in cases {
            assert_eq!(from_json(j.clone(), t), d, "reading {j} as {t}");
            // Writing gives the spec's form back, except hex, which is written uppercase.
            let expected = match &j {
                JsonValue::String(s) if t == "binary" || t.starts_with("fixed") => {
                    json!(s.to_uppercase())
                }
                _ => j.clone(),
            };
            assert_eq!(d.to_json(), expected, "writing {d:?}");
        }
        // Cross-check the timestamp example with chrono.
        assert_eq!(
            chrono_micros("2017-11-16T22:31:08.123456"),
            1_510_871_468_123_456
        );
        assert_eq!(chrono_days("2017-11-16"), 17486);
    }

    #[test]
    fn json_writes_exact_text() {
        let text = |d: Datum| serde_json::to_string(&d.to_json()).unwrap();
        assert_eq!(text(Datum::Boolean(false)), "false");
        assert_eq!(text(Datum::Int(-34)), "-34");
        assert_eq!(text(Datum::Long(i64::MIN)), "-9223372036854775808");
        assert_eq!(text(Datum::Float(0.1)), "0.1");
        assert_eq!(text(Datum::Float(1.0)), "1.0");
        assert_eq!(text(Datum::Float(-0.0)), "-0.0");
        assert_eq!(text(Datum::Double(0.1)), "0.1");
        assert_eq!(text(Datum::Double(1e300)), "1e+300");
        assert_eq!(text(Datum::Double(f64::NAN)), "\"NaN\"");
        assert_eq!(text(Datum::Double(f64::INFINITY)), "\"Infinity\"");
        assert_eq!(text(Datum::Float(f32::NEG_INFINITY)), "\"-Infinity\"");
        assert_eq!(text(Datum::Date(0)), "\"1970-01-01\"");
        assert_eq!(text(Datum::Time(0)), "\"00:00:00.000000\"");
        assert_eq!(text(Datum::Timestamp(0)), "\"1970-01-01T00:00:00.000000\"");
        assert_eq!(
            text(Datum::TimestamptzNs(0)),
            "\"1970-01-01T00:00:00.000000000+00:00\""
        );
        assert_eq!(text(dec(-5, 3, 2)), "\"-0.05\"");
        assert_eq!(text(dec(5, 3, 0)), "\"5\"");
        assert_eq!(text(dec(-1420, 9, 2)), "\"-14.20\"");
        assert_eq!(text(dec(0, 9, 3)), "\"0.000\"");
        assert_eq!(
            text(dec(10i128.pow(38) - 1, 38, 38)),
            format!("\"0.{}\"", "9".repeat(38))
        );
        assert_eq!(text(Datum::Binary(vec![])), "\"\"");
        assert_eq!(text(Datum::Binary(vec![0xab, 0xcd, 0x0e])), "\"ABCD0E\"");
        assert_eq!(
            text(Datum::Uuid(uuid("F79C3E09-677C-4BBD-A479-3F349CB785E7"))),
            "\"f79c3e09-677c-4bbd-a479-3f349cb785e7\""
        );
        assert_eq!(text(Datum::String("a\"b".into())), "\"a\\\"b\"");
    }

    #[test]
    fn json_float_double_rounding_case() {
        // The shortest f32 text of this value reads back, via f64, as a different f32 (the only
        // such finite floats); the writer must fall back to the exact double.
        for bits in [0x15ae_43fd_u32, 0x95ae_43fd] {
            let f = f32::from_bits(bits);
            let j = Datum::Float(f).to_json();
            let text = serde_json::to_string(&j).unwrap();
            let back = serde_json::from_str::<JsonValue>(&text).unwrap();
            match Datum::from_json(&back, &PrimitiveType::Float).unwrap() {
                Datum::Float(g) => assert_eq!(g.to_bits(), bits, "{text}"),
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn json_double_text_round_trip_needs_exact_parsing() {
        // serde_json's default (fast) float parser reads this text one ulp off; the crate
        // enables serde_json's `float_roundtrip` feature so that JSON text round-trips exactly.
        let bits = 16_241_276_291_538_396_219_u64;
        let text = serde_json::to_string(&Datum::Double(f64::from_bits(bits)).to_json()).unwrap();
        let parsed: JsonValue = serde_json::from_str(&text).unwrap();
        match Datum::from_json(&parsed, &PrimitiveType::Double).unwrap() {
            Datum::Double(d) => assert_eq!(d.to_bits(), bits, "{text}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn json_numbers_lenient_and_strict() {
        assert_eq!(from_json(json!(1), "double"), Datum::Double(1.0));
        assert_eq!(from_json(json!(1), "float"), Datum::Float(1.0));
        assert_eq!(from_json(json!(i32::MAX), "int"), Datum::Int(i32::MAX));
        assert_eq!(from_json(json!(i32::MIN), "int"), Datum::Int(i32::MIN));
        assert_eq!(from_json(json!(i64::MIN), "long"), Datum::Long(i64::MIN));
        match from_json(json!("NaN"), "double") {
            Datum::Double(d) => assert!(d.is_nan()),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            from_json(json!("-Infinity"), "float"),
            Datum::Float(f32::NEG_INFINITY)
        );
        assert_eq!(
            from_json(json!("Infinity"), "double"),
            Datum::Double(f64::INFINITY)
        );

        let msg = json_err(json!(2_147_483_648i64), "int");
        assert!(msg.contains("out of range for int"), "{msg}");
        let msg = json_err(json!(u64::MAX), "long");
        assert!(msg.contains("out of range for long"), "{msg}");
        let msg = json_err(json!(1.5), "int");
        assert!(msg.contains("expected a JSON integer"), "{msg}");
        let msg = json_err(json!(1.0), "long");
        assert!(msg.contains("expected a JSON integer"), "{msg}");
        let msg = json_err(json!(1e300), "float");
        assert!(msg.contains("out of range for float"), "{msg}");
        let msg = json_err(json!("1.5"), "double");
        assert!(
            msg.contains("expected a JSON number") && msg.contains("string"),
            "{msg}"
        );
        let msg = json_err(json!("nan"), "float");
        assert!(msg.contains("expected a JSON number"), "{msg}");
    }

    #[test]
    fn json_wrong_kind() {
        let cases: Vec<(JsonValue, &str, &str, &str)> = vec![
            (json!(1), "boolean", "a JSON boolean", "number"),
            (json!("true"), "boolean", "a JSON boolean", "string"),
            (json!("34"), "int", "a JSON integer", "string"),
            (json!(null), "long", "a JSON integer", "null"),
            (json!([1]), "double", "a JSON number", "array"),
            (json!(14.2), "decimal(4, 2)", "a JSON string", "number"),
            (json!(17486), "date", "a JSON string", "number"),
            (json!(1), "time", "a JSON string", "number"),
            (json!(1), "timestamp", "a JSON string", "number"),
            (json!({}), "timestamptz", "a JSON string", "object"),
            (json!(1), "timestamp_ns", "a JSON string", "number"),
            (json!(true), "timestamptz_ns", "a JSON string", "boolean"),
            (json!(1), "string", "a JSON string", "number"),
            (json!(1), "uuid", "a JSON string", "number"),
            (json!([0, 1]), "fixed[2]", "a JSON string", "array"),
            (json!(1), "binary", "a JSON string", "number"),
        ];
        for (v, t, expected, got) in cases {
            let msg = json_err(v.clone(), t);
            assert!(msg.contains(&ty(t).to_string()), "{v} as {t}: {msg}");
            assert!(msg.contains(expected), "{v} as {t}: {msg}");
            assert!(
                msg.contains(&format!("got a JSON {got}")),
                "{v} as {t}: {msg}"
            );
        }
    }

    // --- JSON: decimals ---------------------------------------------------------------------

    #[test]
    fn json_decimals() {
        assert_eq!(from_json(json!("-0.05"), "decimal(3, 2)"), dec(-5, 3, 2));
        assert_eq!(from_json(json!("+1.00"), "decimal(3, 2)"), dec(100, 3, 2));
        assert_eq!(from_json(json!("0.00"), "decimal(3, 2)"), dec(0, 3, 2));
        assert_eq!(from_json(json!("-0.00"), "decimal(3, 2)"), dec(0, 3, 2));
        assert_eq!(from_json(json!(".05"), "decimal(3, 2)"), dec(5, 3, 2));
        assert_eq!(from_json(json!("123"), "decimal(3, 0)"), dec(123, 3, 0));
        assert_eq!(from_json(json!("123."), "decimal(3, 0)"), dec(123, 3, 0));
        assert_eq!(from_json(json!("007.50"), "decimal(3, 2)"), dec(750, 3, 2));
        // Exponent notation, as Java's BigDecimal reads it: the resulting scale must match.
        assert_eq!(from_json(json!("1.00E+2"), "decimal(5, 0)"), dec(100, 5, 0));
        assert_eq!(from_json(json!("142E-1"), "decimal(4, 1)"), dec(142, 4, 1));
        assert_eq!(
            from_json(json!(format!("-{}", "9".repeat(38))), "decimal(38, 0)"),
            dec(-(10i128.pow(38) - 1), 38, 0)
        );

        let msg = json_err(json!("14.2"), "decimal(4, 2)");
        assert!(
            msg.contains("scale 1") && msg.contains("scale is 2"),
            "{msg}"
        );
        let msg = json_err(json!("14.200"), "decimal(5, 2)");
        assert!(msg.contains("scale 3"), "{msg}");
        let msg = json_err(json!("1E+2"), "decimal(5, 0)");
        assert!(msg.contains("scale -2"), "{msg}");
        let msg = json_err(json!("123.45"), "decimal(4, 2)");
        assert!(msg.contains("does not fit decimal(4, 2)"), "{msg}");
        let msg = json_err(json!("9".repeat(50)), "decimal(38, 0)");
        assert!(msg.contains("too many digits"), "{msg}");
        for bad in [
            "", "-", "+", ".", "1.2.3", "1,20", "abc", "1e", "1e+", "0x10", " 1", "1 ", "--1",
            "1e5.0", "1ee2",
        ] {
            let msg = json_err(json!(bad), "decimal(9, 0)");
            assert!(msg.contains("decimal(9, 0)"), "{bad:?}: {msg}");
        }
    }

    // --- JSON: dates and times --------------------------------------------------------------

    #[test]
    fn json_dates() {
        for s in [
            "1970-01-01",
            "1969-12-31",
            "2000-02-29",
            "2020-02-29",
            "1900-03-01",
            "0001-01-01",
            "9999-12-31",
            "1582-10-04",
        ] {
            let d = from_json(json!(s), "date");
            assert_eq!(d, Datum::Date(chrono_days(s)), "{s}");
            assert_eq!(d.to_json(), json!(s));
        }
        assert_eq!(from_json(json!("1969-12-31"), "date"), Datum::Date(-1));
        // Years outside 0000..=9999 follow Java's ISO form.
        assert_eq!(Datum::Date(2_932_897).human_string(), "+10000-01-01");
        assert_eq!(
            from_json(json!("+10000-01-01"), "date"),
            Datum::Date(2_932_897)
        );
        assert_eq!(Datum::Date(-719_529).human_string(), "-0001-12-31");
        assert_eq!(
            from_json(json!("-0001-12-31"), "date"),
            Datum::Date(-719_529)
        );
        assert_eq!(Datum::Date(-719_528).human_string(), "0000-01-01");
        // The extremes of the type round-trip.
        for d in [i32::MIN, i32::MAX] {
            assert_eq!(from_json(Datum::Date(d).to_json(), "date"), Datum::Date(d));
        }
    }

    #[test]
    fn json_bad_dates() {
        for s in [
            "",
            "2017-13-01",
            "2017-00-10",
            "2017-02-30",
            "2019-02-29",
            "1900-02-29",
            "2017-11-31",
            "2017-11-00",
            "2017-11-16x",
            "2017-11-16T00:00:00",
            "17-11-16",
            "2017/11/16",
            "2017-1-16",
            "2017-11-6",
            "20171116",
            "abcd-ef-gh",
            "2017-11-١٦",
            "+2017",
            "99999999999-01-01",
        ] {
            let msg = json_err(json!(s), "date");
            assert!(msg.contains("date"), "{s:?}: {msg}");
        }
        let msg = json_err(json!("+99999999-01-01"), "date");
        assert!(msg.contains("out of range"), "{msg}");
    }

    #[test]
    fn json_times() {
        assert_eq!(
            from_json(json!("22:31:08"), "time"),
            Datum::Time(81_068_000_000)
        );
        assert_eq!(
            from_json(json!("22:31"), "time"),
            Datum::Time(81_060_000_000)
        );
        assert_eq!(
            from_json(json!("22:31:08.1"), "time"),
            Datum::Time(81_068_100_000)
        );
        assert_eq!(
            from_json(json!("22:31:08.123"), "time"),
            Datum::Time(81_068_123_000)
        );
        // Sub-microsecond digits are fine when zero.
        assert_eq!(
            from_json(json!("22:31:08.123456000"), "time"),
            Datum::Time(81_068_123_456)
        );
        assert_eq!(from_json(json!("00:00:00"), "time"), Datum::Time(0));
        assert_eq!(
            from_json(json!("23:59:59.999999"), "time"),
            Datum::Time(MICROS_PER_DAY - 1)
        );
        assert_eq!(
            Datum::Time(81_068_000_000).human_string(),
            "22:31:08.000000"
        );
        assert_eq!(Datum::Time(1).human_string(), "00:00:00.000001");
        for s in [
            "",
            "24:00:00",
            "23:60:00",
            "23:59:60",
            "1:02:03",
            "01:2:03",
            "01:02:3",
            "01:02:03.",
            "01:02:03.1234567890",
            "01:02.5",
            "01",
            "01:02:03:04",
            "01:02:03Z",
            "01:02:03+00:00",
            "aa:bb:cc",
            "01:02:03.12a",
        ] {
            let msg = json_err(json!(s), "time");
            assert!(msg.contains("time"), "{s:?}: {msg}");
        }
        let msg = json_err(json!("22:31:08.123456789"), "time");
        assert!(msg.contains("precision"), "{msg}");
    }

    #[test]
    fn json_timestamps() {
        // Negative (pre-epoch) values.
        assert_eq!(
            from_json(json!("1969-12-31T23:59:59.999999"), "timestamp"),
            Datum::Timestamp(-1)
        );
        assert_eq!(
            Datum::Timestamp(-1).human_string(),
            "1969-12-31T23:59:59.999999"
        );
        assert_eq!(
            Datum::TimestampNs(-1).human_string(),
            "1969-12-31T23:59:59.999999999"
        );
        assert_eq!(
            Datum::Timestamptz(-1).human_string(),
            "1969-12-31T23:59:59.999999+00:00"
        );
        assert_eq!(
            Datum::TimestamptzNs(-1_000_000_001).human_string(),
            "1969-12-31T23:59:58.999999999+00:00"
        );
        let old = "1900-01-01T12:34:56.789012";
        assert_eq!(
            from_json(json!(old), "timestamp"),
            Datum::Timestamp(chrono_micros(old))
        );
        assert_eq!(Datum::Timestamp(chrono_micros(old)).human_string(), old);
        // Fewer fraction digits, or none, and no seconds.
        assert_eq!(
            from_json(json!("2017-11-16T22:31:08"), "timestamp"),
            Datum::Timestamp(1_510_871_468_000_000)
        );
        assert_eq!(
            from_json(json!("2017-11-16T22:31"), "timestamp"),
            Datum::Timestamp(1_510_871_460_000_000)
        );
        assert_eq!(
            from_json(json!("2017-11-16t22:31:08.5"), "timestamp_ns"),
            Datum::TimestampNs(1_510_871_468_500_000_000)
        );
        // Offsets other than UTC are converted; Z is UTC.
        let utc = Datum::Timestamptz(1_510_871_468_000_000);
        assert_eq!(
            from_json(json!("2017-11-16T14:31:08-08:00"), "timestamptz"),
            utc
        );
        assert_eq!(
            from_json(json!("2017-11-17T00:01:08+01:30"), "timestamptz"),
            utc
        );
        assert_eq!(from_json(json!("2017-11-16T22:31:08Z"), "timestamptz"), utc);
        assert_eq!(
            from_json(json!("2017-11-16T22:31:08-00:00"), "timestamptz"),
            utc
        );
        assert_eq!(
            from_json(json!("2017-11-16T22:31:08+00:00:00"), "timestamptz"),
            utc
        );
        assert_eq!(
            from_json(
                json!("2017-11-16T14:31:08.000001001-08:00"),
                "timestamptz_ns"
            ),
            Datum::TimestamptzNs(1_510_871_468_000_001_001)
        );
        // The extremes of the types round-trip.
        for v in [i64::MIN, i64::MAX, 0, -1] {
            for d in [
                Datum::Timestamp(v),
                Datum::Timestamptz(v),
                Datum::TimestampNs(v),
                Datum::TimestamptzNs(v),
            ] {
                assert_eq!(
                    Datum::from_json(&d.to_json(), &d.primitive_type()).unwrap(),
                    d
                );
            }
        }
        assert_eq!(
            Datum::TimestampNs(i64::MIN).human_string(),
            "1677-09-21T00:12:43.145224192"
        );
    }

    #[test]
    fn json_bad_timestamps() {
        let cases: &[(&str, &str, &str)] = &[
            ("timestamp", "2017-11-16T22:31:08+00:00", "must not have"),
            ("timestamp", "2017-11-16T22:31:08Z", "must not have"),
            (
                "timestamp_ns",
                "2017-11-16T22:31:08.123456789-01:00",
                "must not have",
            ),
            ("timestamptz", "2017-11-16T22:31:08", "no zone offset"),
            ("timestamptz_ns", "2017-11-16T22:31:08.1", "no zone offset"),
            ("timestamptz", "2017-11-16T22:31:08+0000", "zone offset"),
            ("timestamptz", "2017-11-16T22:31:08+19:00", "zone offset"),
            ("timestamptz", "2017-11-16T22:31:08+01:60", "zone offset"),
            ("timestamptz", "2017-11-16T22:31:08UTC", "zone offset"),
            ("timestamptz", "2017-11-16T22:31:08+", "zone offset"),
            ("timestamp", "2017-11-16 22:31:08", "expected date 'T' time"),
            ("timestamp", "2017-11-16", "expected date 'T' time"),
            ("timestamp", "", "expected date 'T' time"),
            ("timestamp", "2017-11-32T22:31:08", "not a valid date"),
            ("timestamp", "2017-11-16T25:31:08", "not a valid time"),
            ("timestamp", "2017-11-16T", "not a valid time"),
            ("timestamp", "T22:31:08", "not a valid date"),
            ("timestamp", "2017-11-16T22:31:08.1234567", "precision"),
            (
                "timestamptz",
                "2017-11-16T22:31:08.123456789+00:00",
                "precision",
            ),
            ("timestamp_ns", "2300-01-01T00:00:00", "out of range"),
            ("timestamp_ns", "1600-01-01T00:00:00", "out of range"),
            ("timestamp", "+300000-01-01T00:00:00", "out of range"),
        ];
        for (t, s, expected) in cases {
            let msg = json_err(json!(s), t);
            assert!(msg.contains(expected), "{s:?} as {t}: {msg}");
            assert!(msg.contains(*t), "{s:?} as {t}: {msg}");
        }
    }

    // --- JSON: uuid, fixed, binary ----------------------------------------------------------

    #[test]
    fn json_uuid_fixed_binary() {
        let u = uuid("f79c3e09-677c-4bbd-a479-3f349cb785e7");
        assert_eq!(
            from_json(json!("F79C3E09-677C-4BBD-A479-3F349CB785E7"), "uuid"),
            Datum::Uuid(u)
        );
        for bad in [
            "f79c3e09677c4bbda4793f349cb785e7",
            "{f79c3e09-677c-4bbd-a479-3f349cb785e7}",
            "f79c3e09-677c-4bbd-a479-3f349cb785eg",
            "f79c3e09-677c-4bbd-a479_3f349cb785e7",
            "",
        ] {
            let msg = json_err(json!(bad), "uuid");
            assert!(msg.contains("uuid"), "{bad:?}: {msg}");
        }

        assert_eq!(
            from_json(json!("ABcd"), "binary"),
            Datum::Binary(vec![0xab, 0xcd])
        );
        assert_eq!(from_json(json!(""), "binary"), Datum::Binary(vec![]));
        assert_eq!(
            from_json(json!("00ff"), "fixed[2]"),
            Datum::Fixed(vec![0, 0xff])
        );
        let msg = json_err(json!("abc"), "binary");
        assert!(msg.contains("odd number of digits"), "{msg}");
        let msg = json_err(json!("0g"), "binary");
        assert!(msg.contains("invalid hex digit 'g' at position 1"), "{msg}");
        let msg = json_err(json!("é1"), "binary");
        assert!(msg.contains("invalid hex digit 'é'"), "{msg}");
        let msg = json_err(json!("zz00"), "fixed[2]");
        assert!(msg.contains("invalid hex digit 'z'"), "{msg}");
        let msg = json_err(json!("000102"), "fixed[4]");
        assert!(
            msg.contains("3 bytes, expected 4") && msg.contains("fixed[4]"),
            "{msg}"
        );
        let msg = json_err(json!("0001020304"), "fixed[4]");
        assert!(msg.contains("5 bytes, expected 4"), "{msg}");
        // Long values are shortened in messages.
        let msg = json_err(json!("x".repeat(1000)), "binary");
        assert!(msg.len() < 300, "{msg}");
    }

    // --- helpers: human_string, Display, ordering -------------------------------------------

    #[test]
    fn human_strings() {
        assert_eq!(dec(1420, 4, 2).human_string(), "14.20");
        assert_eq!(dec(-5, 4, 2).to_string(), "-0.05");
        assert_eq!(Datum::Date(17486).human_string(), "2017-11-16");
        assert_eq!(Datum::Boolean(true).human_string(), "true");
        assert_eq!(Datum::Int(-3).human_string(), "-3");
        assert_eq!(Datum::Long(34).human_string(), "34");
        assert_eq!(Datum::Float(1.5).human_string(), "1.5");
        assert_eq!(Datum::Double(f64::NAN).human_string(), "NaN");
        assert_eq!(
            Datum::String("ice \"berg\"".into()).human_string(),
            "ice \"berg\""
        );
        assert_eq!(Datum::Fixed(vec![0, 1, 2, 0xff]).human_string(), "000102FF");
        assert_eq!(
            Datum::Timestamptz(1_510_871_468_123_456).to_string(),
            "2017-11-16T22:31:08.123456+00:00"
        );
    }

    #[test]
    fn ordering_floats_total_order() {
        let neg_nan = f64::from_bits(f64::NAN.to_bits() | (1 << 63));
        let doubles = [
            neg_nan,
            f64::NEG_INFINITY,
            -1.0,
            -f64::MIN_POSITIVE,
            -0.0,
            0.0,
            f64::MIN_POSITIVE,
            1.0,
            f64::INFINITY,
            f64::NAN,
        ];
        let neg_nan32 = f32::from_bits(f32::NAN.to_bits() | (1 << 31));
        let floats = [
            neg_nan32,
            f32::NEG_INFINITY,
            -1.0,
            -f32::MIN_POSITIVE,
            -0.0,
            0.0,
            f32::MIN_POSITIVE,
            1.0,
            f32::INFINITY,
            f32::NAN,
        ];
        for i in 0..doubles.len() {
            for j in 0..doubles.len() {
                let (a, b) = (Datum::Double(doubles[i]), Datum::Double(doubles[j]));
                assert_eq!(
                    a.partial_cmp_same_type(&b),
                    Some(i.cmp(&j)),
                    "{a:?} vs {b:?}"
                );
                let (a, b) = (Datum::Float(floats[i]), Datum::Float(floats[j]));
                assert_eq!(
                    a.partial_cmp_same_type(&b),
                    Some(i.cmp(&j)),
                    "{a:?} vs {b:?}"
                );
            }
        }
    }

    #[test]
    fn ordering_other_types() {
        use Ordering::*;
        let cmp = |a: Datum, b: Datum| a.partial_cmp_same_type(&b);
        assert_eq!(cmp(Datum::Boolean(false), Datum::Boolean(true)), Some(Less));
        assert_eq!(cmp(Datum::Int(-1), Datum::Int(1)), Some(Less));
        assert_eq!(cmp(Datum::Long(5), Datum::Long(5)), Some(Equal));
        assert_eq!(cmp(Datum::Date(2), Datum::Date(1)), Some(Greater));
        assert_eq!(cmp(Datum::Time(2), Datum::Time(3)), Some(Less));
        assert_eq!(cmp(Datum::Timestamp(-2), Datum::Timestamp(3)), Some(Less));
        assert_eq!(
            cmp(Datum::Timestamptz(3), Datum::Timestamptz(3)),
            Some(Equal)
        );
        assert_eq!(
            cmp(Datum::TimestampNs(4), Datum::TimestampNs(3)),
            Some(Greater)
        );
        assert_eq!(
            cmp(Datum::TimestamptzNs(1), Datum::TimestamptzNs(3)),
            Some(Less)
        );
        // Strings compare by UTF-8 bytes (U+FF61 < U+1F600 here, unlike UTF-16 order).
        assert_eq!(
            cmp(
                Datum::String("\u{FF61}".into()),
                Datum::String("\u{1F600}".into())
            ),
            Some(Less)
        );
        assert_eq!(
            cmp(Datum::String("a".into()), Datum::String("ab".into())),
            Some(Less)
        );
        assert_eq!(
            cmp(Datum::String("b".into()), Datum::String("ab".into())),
            Some(Greater)
        );
        // Bytes compare unsigned.
        assert_eq!(
            cmp(Datum::Binary(vec![0x7f]), Datum::Binary(vec![0x80])),
            Some(Less)
        );
        assert_eq!(
            cmp(Datum::Binary(vec![1]), Datum::Binary(vec![1, 0])),
            Some(Less)
        );
        assert_eq!(
            cmp(Datum::Fixed(vec![0xff, 0]), Datum::Fixed(vec![0x00, 1])),
            Some(Greater)
        );
        assert_eq!(cmp(Datum::Fixed(vec![1]), Datum::Fixed(vec![1, 2])), None);
        let lo = uuid("00000000-0000-0000-0000-0000000000ff");
        let hi = uuid("80000000-0000-0000-0000-000000000000");
        assert_eq!(cmp(Datum::Uuid(lo), Datum::Uuid(hi)), Some(Less));
        // Decimals compare by unscaled value when the scales match, whatever the precision.
        assert_eq!(cmp(dec(-5, 3, 2), dec(1420, 9, 2)), Some(Less));
        assert_eq!(cmp(dec(5, 3, 2), dec(5, 3, 1)), None);
        // Different types never compare.
        assert_eq!(cmp(Datum::Int(1), Datum::Long(1)), None);
        assert_eq!(cmp(Datum::Timestamp(1), Datum::Timestamptz(1)), None);
        assert_eq!(cmp(Datum::Binary(vec![1]), Datum::Fixed(vec![1])), None);
        assert_eq!(cmp(Datum::Float(1.0), Datum::Double(1.0)), None);
    }

    // --- calendar arithmetic ----------------------------------------------------------------

    #[test]
    fn civil_conversion_edges() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(0, 1, 1), -719_528);
        for days in [
            i64::from(i32::MIN),
            i64::from(i32::MAX),
            -400 * 146_097,
            1 << 40,
        ] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }

    // --- property tests ---------------------------------------------------------------------

    /// Both round trips, through bytes and through JSON text.
    fn assert_round_trips(d: &Datum) -> std::result::Result<(), TestCaseError> {
        let t = d.primitive_type();
        prop_assert_eq!(&Datum::from_bytes(&d.to_bytes(), &t).unwrap(), d);
        let text = serde_json::to_string(&d.to_json()).unwrap();
        let parsed: JsonValue = serde_json::from_str(&text).unwrap();
        prop_assert_eq!(&Datum::from_json(&parsed, &t).unwrap(), d, "via {}", text);
        Ok(())
    }

    fn arb_decimal() -> impl Strategy<Value = Datum> {
        (1u32..=38)
            .prop_flat_map(|p| (Just(p), 0..=p, any::<i128>()))
            .prop_map(|(p, s, raw)| {
                let limit = 10i128.pow(p);
                dec(raw % limit, p, s)
            })
    }

    proptest! {
        #[test]
        fn prop_int(v in any::<i32>()) {
            assert_round_trips(&Datum::Int(v))?;
            assert_round_trips(&Datum::Date(v))?;
        }

        #[test]
        fn prop_long(v in any::<i64>()) {
            assert_round_trips(&Datum::Long(v))?;
            assert_round_trips(&Datum::Timestamp(v))?;
            assert_round_trips(&Datum::Timestamptz(v))?;
            assert_round_trips(&Datum::TimestampNs(v))?;
            assert_round_trips(&Datum::TimestamptzNs(v))?;
        }

        #[test]
        fn prop_int_widens_to_long(v in any::<i32>()) {
            let read = Datum::from_bytes(&Datum::Int(v).to_bytes(), &PrimitiveType::Long).unwrap();
            prop_assert_eq!(read, Datum::Long(i64::from(v)));
        }

        #[test]
        fn prop_time(v in 0..MICROS_PER_DAY) {
            assert_round_trips(&Datum::Time(v))?;
        }

        #[test]
        fn prop_double(bits in any::<u64>()) {
            let v = f64::from_bits(bits);
            let d = Datum::Double(v);
            // Bytes keep every bit pattern, NaN payloads included.
            match Datum::from_bytes(&d.to_bytes(), &PrimitiveType::Double).unwrap() {
                Datum::Double(r) => prop_assert_eq!(r.to_bits(), bits),
                other => prop_assert!(false, "{:?}", other),
            }
            let text = serde_json::to_string(&d.to_json()).unwrap();
            let parsed: JsonValue = serde_json::from_str(&text).unwrap();
            match Datum::from_json(&parsed, &PrimitiveType::Double).unwrap() {
                Datum::Double(r) if v.is_nan() => prop_assert!(r.is_nan()),
                Datum::Double(r) => prop_assert_eq!(r.to_bits(), bits, "via {}", text),
                other => prop_assert!(false, "{:?}", other),
            }
        }

        #[test]
        fn prop_float(bits in any::<u32>()) {
            let v = f32::from_bits(bits);
            let d = Datum::Float(v);
            match Datum::from_bytes(&d.to_bytes(), &PrimitiveType::Float).unwrap() {
                Datum::Float(r) => prop_assert_eq!(r.to_bits(), bits),
                other => prop_assert!(false, "{:?}", other),
            }
            let text = serde_json::to_string(&d.to_json()).unwrap();
            let parsed: JsonValue = serde_json::from_str(&text).unwrap();
            match Datum::from_json(&parsed, &PrimitiveType::Float).unwrap() {
                Datum::Float(r) if v.is_nan() => prop_assert!(r.is_nan()),
                Datum::Float(r) => prop_assert_eq!(r.to_bits(), bits, "via {}", text),
                other => prop_assert!(false, "{:?}", other),
            }
        }

        #[test]
        fn prop_string(s in any::<String>()) {
            assert_round_trips(&Datum::String(s))?;
        }

        #[test]
        fn prop_binary(b in proptest::collection::vec(any::<u8>(), 0..64)) {
            assert_round_trips(&Datum::Fixed(b.clone()))?;
            assert_round_trips(&Datum::Binary(b))?;
        }

        #[test]
        fn prop_uuid(b in any::<[u8; 16]>()) {
            assert_round_trips(&Datum::Uuid(Uuid::from_bytes(b)))?;
        }

        #[test]
        fn prop_decimal(d in arb_decimal()) {
            assert_round_trips(&d)?;
            // The minimal form is minimal: dropping its first byte changes the value.
            let bytes = d.to_bytes();
            if let (Datum::Decimal { unscaled, .. }, true) = (&d, bytes.len() > 1) {
                let fill = if bytes[1] & 0x80 != 0 { 0xff } else { 0 };
                let mut buf = [fill; 16];
                buf[16 - (bytes.len() - 1)..].copy_from_slice(&bytes[1..]);
                prop_assert_ne!(i128::from_be_bytes(buf), *unscaled);
            }
        }

        #[test]
        fn prop_min_bytes_decode(v in any::<i128>()) {
            let bytes = decimal_to_min_bytes(v);
            let fill = if bytes[0] & 0x80 != 0 { 0xff } else { 0 };
            let mut buf = [fill; 16];
            buf[16 - bytes.len()..].copy_from_slice(&bytes);
            prop_assert_eq!(i128::from_be_bytes(buf), v);
        }

        #[test]
        fn prop_civil_matches_chrono(days in -90_000_000i64..90_000_000) {
            let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();
            let date = epoch + chrono::Duration::days(days);
            use chrono::Datelike;
            prop_assert_eq!(
                civil_from_days(days),
                (i64::from(date.year()), date.month(), date.day())
            );
            prop_assert_eq!(days_from_civil(i64::from(date.year()), date.month(), date.day()), days);
        }

        #[test]
        fn prop_timestamp_text_matches_chrono(micros in -50_000_000_000_000_000i64..50_000_000_000_000_000) {
            let dt = chrono::DateTime::from_timestamp_micros(micros).unwrap().naive_utc();
            let expected = dt.format("%Y-%m-%dT%H:%M:%S%.6f").to_string();
            prop_assert_eq!(Datum::Timestamp(micros).human_string(), expected);
        }

        #[test]
        fn prop_from_bytes_never_panics(
            bytes in proptest::collection::vec(any::<u8>(), 0..20),
            t in prop::sample::select(vec![
                "boolean", "int", "long", "float", "double", "date", "time", "timestamp",
                "timestamptz", "timestamp_ns", "timestamptz_ns", "string", "uuid", "fixed[3]",
                "binary", "decimal(9, 2)", "decimal(38, 10)",
            ]),
        ) {
            let _ = Datum::from_bytes(&bytes, &ty(t));
        }

        #[test]
        fn prop_from_json_text_never_panics(
            s in "[-+0-9:.TtZzEe ]{0,40}",
            t in prop::sample::select(vec![
                "date", "time", "timestamp", "timestamptz", "timestamp_ns", "timestamptz_ns",
                "decimal(9, 2)", "decimal(38, 0)", "uuid", "fixed[2]", "binary",
            ]),
        ) {
            let _ = Datum::from_json(&JsonValue::String(s), &ty(t));
        }
    }
}
