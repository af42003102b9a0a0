//! Single values of primitive types (spec Appendix D, "Single-value serialization").
//!
//! - [`Datum`]: a typed single value.
//! - Binary form (bounds in manifests, partition summaries): `Datum::to_bytes` / `Datum::from_bytes`.
//! - JSON form (defaults, REST partition values): `Datum::to_json` / `Datum::from_json`.

use uuid::Uuid;

use super::types::PrimitiveType;

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
