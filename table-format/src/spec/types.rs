//! Iceberg data types (spec "Schemas and Data Types").
//!
//! - [`PrimitiveType`]: the leaf types, with their JSON names (`decimal(P, S)`, `fixed[L]`, ...).
//! - [`Type`]: a primitive, or a nested [`StructType`], [`ListType`] or [`MapType`].
//! - [`NestedField`]: a named, id-carrying field of a struct.
//!
//! JSON (de)serialization follows the spec's Appendix C exactly; a type string that the spec
//! does not define is refused with a message naming it.

use std::fmt;
use std::str::FromStr;

use serde::de::{self, MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::{Error, Result};

/// Largest decimal precision the spec allows.
pub const MAX_DECIMAL_PRECISION: u32 = 38;

/// A primitive (leaf) Iceberg type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PrimitiveType {
    /// `boolean`
    Boolean,
    /// `int`: 32-bit signed.
    Int,
    /// `long`: 64-bit signed.
    Long,
    /// `float`: 32-bit IEEE 754.
    Float,
    /// `double`: 64-bit IEEE 754.
    Double,
    /// `decimal(P,S)`: fixed-point, precision up to 38.
    Decimal {
        /// Total number of digits.
        precision: u32,
        /// Digits after the point.
        scale: u32,
    },
    /// `date`: days since 1970-01-01.
    Date,
    /// `time`: microseconds since midnight.
    Time,
    /// `timestamp`: microseconds since the epoch, no zone.
    Timestamp,
    /// `timestamptz`: microseconds since the epoch, UTC.
    Timestamptz,
    /// `timestamp_ns` (v3): nanoseconds since the epoch, no zone.
    TimestampNs,
    /// `timestamptz_ns` (v3): nanoseconds since the epoch, UTC.
    TimestamptzNs,
    /// `string`: UTF-8.
    String,
    /// `uuid`
    Uuid,
    /// `fixed[L]`: exactly L bytes.
    Fixed(u64),
    /// `binary`: arbitrary bytes.
    Binary,
}

impl PrimitiveType {
    /// Whether this type needs format version 3 or later.
    pub fn min_format_version(&self) -> u8 {
        match self {
            PrimitiveType::TimestampNs | PrimitiveType::TimestamptzNs => 3,
            _ => 1,
        }
    }

    /// Whether a column of type `self` may be promoted to `to` (spec "Schema Evolution").
    /// `format_version` decides whether v3-only promotions (date to timestamp) are allowed.
    pub fn can_promote_to(&self, to: &PrimitiveType, format_version: u8) -> bool {
        use PrimitiveType::*;
        match (self, to) {
            (a, b) if a == b => true,
            (Int, Long) | (Float, Double) => true,
            (
                Decimal {
                    precision: p1,
                    scale: s1,
                },
                Decimal {
                    precision: p2,
                    scale: s2,
                },
            ) => s1 == s2 && p2 >= p1,
            (Date, Timestamp) | (Date, TimestampNs) => format_version >= 3,
            _ => false,
        }
    }
}

impl fmt::Display for PrimitiveType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PrimitiveType::Boolean => f.write_str("boolean"),
            PrimitiveType::Int => f.write_str("int"),
            PrimitiveType::Long => f.write_str("long"),
            PrimitiveType::Float => f.write_str("float"),
            PrimitiveType::Double => f.write_str("double"),
            PrimitiveType::Decimal { precision, scale } => {
                write!(f, "decimal({precision}, {scale})")
            }
            PrimitiveType::Date => f.write_str("date"),
            PrimitiveType::Time => f.write_str("time"),
            PrimitiveType::Timestamp => f.write_str("timestamp"),
            PrimitiveType::Timestamptz => f.write_str("timestamptz"),
            PrimitiveType::TimestampNs => f.write_str("timestamp_ns"),
            PrimitiveType::TimestamptzNs => f.write_str("timestamptz_ns"),
            PrimitiveType::String => f.write_str("string"),
            PrimitiveType::Uuid => f.write_str("uuid"),
            PrimitiveType::Fixed(len) => write!(f, "fixed[{len}]"),
            PrimitiveType::Binary => f.write_str("binary"),
        }
    }
}

impl FromStr for PrimitiveType {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let t = s.trim();
        Ok(match t {
            "boolean" => PrimitiveType::Boolean,
            "int" => PrimitiveType::Int,
            "long" => PrimitiveType::Long,
            "float" => PrimitiveType::Float,
            "double" => PrimitiveType::Double,
            "date" => PrimitiveType::Date,
            "time" => PrimitiveType::Time,
            "timestamp" => PrimitiveType::Timestamp,
            "timestamptz" => PrimitiveType::Timestamptz,
            "timestamp_ns" => PrimitiveType::TimestampNs,
            "timestamptz_ns" => PrimitiveType::TimestamptzNs,
            "string" => PrimitiveType::String,
            "uuid" => PrimitiveType::Uuid,
            "binary" => PrimitiveType::Binary,
            _ => {
                if let Some(inner) = t.strip_prefix("fixed[").and_then(|r| r.strip_suffix(']')) {
                    let len = inner.trim().parse::<u64>().map_err(|_| {
                        Error::invalid(format!("invalid fixed length in type '{s}'"))
                    })?;
                    PrimitiveType::Fixed(len)
                } else if let Some(inner) =
                    t.strip_prefix("decimal(").and_then(|r| r.strip_suffix(')'))
                {
                    let (p, sc) = inner.split_once(',').ok_or_else(|| {
                        Error::invalid(format!("decimal type '{s}' needs a precision and a scale"))
                    })?;
                    let precision = p.trim().parse::<u32>().map_err(|_| {
                        Error::invalid(format!("invalid decimal precision in type '{s}'"))
                    })?;
                    let scale = sc.trim().parse::<u32>().map_err(|_| {
                        Error::invalid(format!("invalid decimal scale in type '{s}'"))
                    })?;
                    if precision == 0 || precision > MAX_DECIMAL_PRECISION || scale > precision {
                        return Err(Error::invalid(format!(
                            "decimal type '{s}' is out of range: precision must be 1..=38 and scale at most the precision"
                        )));
                    }
                    PrimitiveType::Decimal { precision, scale }
                } else {
                    return Err(Error::unsupported(format!(
                        "unknown or unsupported type '{s}'"
                    )));
                }
            }
        })
    }
}

impl Serialize for PrimitiveType {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for PrimitiveType {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        s.parse().map_err(de::Error::custom)
    }
}

/// Any Iceberg type: a primitive or a nested struct, list or map.
#[derive(Debug, Clone, PartialEq)]
pub enum Type {
    /// A leaf type.
    Primitive(PrimitiveType),
    /// A struct of named fields.
    Struct(StructType),
    /// A list of elements.
    List(ListType),
    /// A map from keys to values.
    Map(MapType),
}

impl Type {
    /// The primitive type, if this is one.
    pub fn as_primitive(&self) -> Option<&PrimitiveType> {
        match self {
            Type::Primitive(p) => Some(p),
            _ => None,
        }
    }

    /// The struct type, if this is one.
    pub fn as_struct(&self) -> Option<&StructType> {
        match self {
            Type::Struct(s) => Some(s),
            _ => None,
        }
    }

    /// Whether this is a primitive type.
    pub fn is_primitive(&self) -> bool {
        matches!(self, Type::Primitive(_))
    }

    /// Whether this is a struct, list or map.
    pub fn is_nested(&self) -> bool {
        !self.is_primitive()
    }
}

impl From<PrimitiveType> for Type {
    fn from(p: PrimitiveType) -> Self {
        Type::Primitive(p)
    }
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Type::Primitive(p) => write!(f, "{p}"),
            Type::Struct(s) => {
                f.write_str("struct<")?;
                for (i, field) in s.fields.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{}: {}", field.name, field.field_type)?;
                }
                f.write_str(">")
            }
            Type::List(l) => write!(f, "list<{}>", l.element.field_type),
            Type::Map(m) => write!(f, "map<{}, {}>", m.key.field_type, m.value.field_type),
        }
    }
}

/// A struct: an ordered list of fields with unique ids.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StructType {
    fields: Vec<NestedField>,
}

impl StructType {
    /// A struct of `fields`.
    pub fn new(fields: Vec<NestedField>) -> Self {
        Self { fields }
    }

    /// The fields, in order.
    pub fn fields(&self) -> &[NestedField] {
        &self.fields
    }

    /// The direct child with field id `id`.
    pub fn field_by_id(&self, id: i32) -> Option<&NestedField> {
        self.fields.iter().find(|f| f.id == id)
    }

    /// The direct child named `name` (exact match).
    pub fn field_by_name(&self, name: &str) -> Option<&NestedField> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// Consume into the fields.
    pub fn into_fields(self) -> Vec<NestedField> {
        self.fields
    }
}

/// A list type: its element is a field with its own id.
#[derive(Debug, Clone, PartialEq)]
pub struct ListType {
    /// The element field; its name is always `element`.
    pub element: Box<NestedField>,
}

impl ListType {
    /// A list whose element has id `element_id`.
    pub fn new(element_id: i32, element_type: Type, element_required: bool) -> Self {
        Self {
            element: Box::new(NestedField::new(
                element_id,
                "element",
                element_type,
                element_required,
            )),
        }
    }
}

/// A map type: key and value are fields with their own ids; keys are always required.
#[derive(Debug, Clone, PartialEq)]
pub struct MapType {
    /// The key field, named `key`.
    pub key: Box<NestedField>,
    /// The value field, named `value`.
    pub value: Box<NestedField>,
}

impl MapType {
    /// A map with the given key and value ids and types.
    pub fn new(
        key_id: i32,
        key_type: Type,
        value_id: i32,
        value_type: Type,
        value_required: bool,
    ) -> Self {
        Self {
            key: Box::new(NestedField::new(key_id, "key", key_type, true)),
            value: Box::new(NestedField::new(
                value_id,
                "value",
                value_type,
                value_required,
            )),
        }
    }
}

/// A field of a struct (or the element/key/value of a list or map).
#[derive(Debug, Clone, PartialEq)]
pub struct NestedField {
    /// The field id, unique within a schema.
    pub id: i32,
    /// The field name.
    pub name: String,
    /// Whether values must be non-null.
    pub required: bool,
    /// The field's type.
    pub field_type: Box<Type>,
    /// Optional documentation.
    pub doc: Option<String>,
    /// v3: the value readers use for rows written before the field existed (JSON single-value form).
    pub initial_default: Option<serde_json::Value>,
    /// v3: the value writers use when a row does not set the field (JSON single-value form).
    pub write_default: Option<serde_json::Value>,
}

impl NestedField {
    /// A field with no doc and no defaults.
    pub fn new(
        id: i32,
        name: impl Into<String>,
        field_type: impl Into<Type>,
        required: bool,
    ) -> Self {
        Self {
            id,
            name: name.into(),
            required,
            field_type: Box::new(field_type.into()),
            doc: None,
            initial_default: None,
            write_default: None,
        }
    }

    /// A required field.
    pub fn required(id: i32, name: impl Into<String>, field_type: impl Into<Type>) -> Self {
        Self::new(id, name, field_type, true)
    }

    /// An optional field.
    pub fn optional(id: i32, name: impl Into<String>, field_type: impl Into<Type>) -> Self {
        Self::new(id, name, field_type, false)
    }

    /// Set the doc string.
    pub fn with_doc(mut self, doc: impl Into<String>) -> Self {
        self.doc = Some(doc.into());
        self
    }
}

// ---------------------------------------------------------------------------------------------
// JSON form (spec Appendix C)
// ---------------------------------------------------------------------------------------------

impl Serialize for Type {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            Type::Primitive(p) => p.serialize(serializer),
            Type::Struct(s) => s.serialize(serializer),
            Type::List(l) => {
                let mut m = serializer.serialize_map(Some(4))?;
                m.serialize_entry("type", "list")?;
                m.serialize_entry("element-id", &l.element.id)?;
                m.serialize_entry("element", &l.element.field_type)?;
                m.serialize_entry("element-required", &l.element.required)?;
                m.end()
            }
            Type::Map(mt) => {
                let mut m = serializer.serialize_map(Some(6))?;
                m.serialize_entry("type", "map")?;
                m.serialize_entry("key-id", &mt.key.id)?;
                m.serialize_entry("key", &mt.key.field_type)?;
                m.serialize_entry("value-id", &mt.value.id)?;
                m.serialize_entry("value", &mt.value.field_type)?;
                m.serialize_entry("value-required", &mt.value.required)?;
                m.end()
            }
        }
    }
}

impl Serialize for StructType {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        let mut m = serializer.serialize_map(Some(2))?;
        m.serialize_entry("type", "struct")?;
        m.serialize_entry("fields", &self.fields)?;
        m.end()
    }
}

impl Serialize for NestedField {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        let mut m = serializer.serialize_map(None)?;
        m.serialize_entry("id", &self.id)?;
        m.serialize_entry("name", &self.name)?;
        m.serialize_entry("required", &self.required)?;
        m.serialize_entry("type", &self.field_type)?;
        if let Some(doc) = &self.doc {
            m.serialize_entry("doc", doc)?;
        }
        if let Some(d) = &self.initial_default {
            m.serialize_entry("initial-default", d)?;
        }
        if let Some(d) = &self.write_default {
            m.serialize_entry("write-default", d)?;
        }
        m.end()
    }
}

impl<'de> Deserialize<'de> for Type {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        deserializer.deserialize_any(TypeVisitor)
    }
}

struct TypeVisitor;

impl<'de> Visitor<'de> for TypeVisitor {
    type Value = Type;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an Iceberg type: a primitive type name or a struct, list or map object")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<Type, E> {
        v.parse::<PrimitiveType>()
            .map(Type::Primitive)
            .map_err(E::custom)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<Type, A::Error> {
        let mut kind: Option<String> = None;
        let mut fields: Option<Vec<NestedField>> = None;
        let mut element_id: Option<i32> = None;
        let mut element: Option<Type> = None;
        let mut element_required: Option<bool> = None;
        let mut key_id: Option<i32> = None;
        let mut key: Option<Type> = None;
        let mut value_id: Option<i32> = None;
        let mut value: Option<Type> = None;
        let mut value_required: Option<bool> = None;
        while let Some(k) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            match k.as_ref() {
                "type" => kind = Some(map.next_value()?),
                "fields" => fields = Some(map.next_value()?),
                "element-id" => element_id = Some(map.next_value()?),
                "element" => element = Some(map.next_value()?),
                "element-required" => element_required = Some(map.next_value()?),
                "key-id" => key_id = Some(map.next_value()?),
                "key" => key = Some(map.next_value()?),
                "value-id" => value_id = Some(map.next_value()?),
                "value" => value = Some(map.next_value()?),
                "value-required" => value_required = Some(map.next_value()?),
                _ => {
                    map.next_value::<de::IgnoredAny>()?;
                }
            }
        }
        let kind = kind.ok_or_else(|| de::Error::missing_field("type"))?;
        match kind.as_str() {
            "struct" => Ok(Type::Struct(StructType::new(
                fields.ok_or_else(|| de::Error::missing_field("fields"))?,
            ))),
            "list" => Ok(Type::List(ListType::new(
                element_id.ok_or_else(|| de::Error::missing_field("element-id"))?,
                element.ok_or_else(|| de::Error::missing_field("element"))?,
                element_required.ok_or_else(|| de::Error::missing_field("element-required"))?,
            ))),
            "map" => Ok(Type::Map(MapType::new(
                key_id.ok_or_else(|| de::Error::missing_field("key-id"))?,
                key.ok_or_else(|| de::Error::missing_field("key"))?,
                value_id.ok_or_else(|| de::Error::missing_field("value-id"))?,
                value.ok_or_else(|| de::Error::missing_field("value"))?,
                value_required.ok_or_else(|| de::Error::missing_field("value-required"))?,
            ))),
            other => Err(de::Error::custom(format!(
                "unknown nested type '{other}': expected struct, list or map"
            ))),
        }
    }
}

impl<'de> Deserialize<'de> for NestedField {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(rename_all = "kebab-case")]
        struct Repr {
            id: i32,
            name: String,
            required: bool,
            #[serde(rename = "type")]
            field_type: Type,
            #[serde(default)]
            doc: Option<String>,
            #[serde(default)]
            initial_default: Option<serde_json::Value>,
            #[serde(default)]
            write_default: Option<serde_json::Value>,
        }
        let r = Repr::deserialize(deserializer)?;
        Ok(NestedField {
            id: r.id,
            name: r.name,
            required: r.required,
            field_type: Box::new(r.field_type),
            doc: r.doc,
            initial_default: r.initial_default,
            write_default: r.write_default,
        })
    }
}

impl<'de> Deserialize<'de> for StructType {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        match Type::deserialize(deserializer)? {
            Type::Struct(s) => Ok(s),
            other => Err(de::Error::custom(format!(
                "expected a struct type, found {other}"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn primitive_names_round_trip() {
        for s in [
            "boolean",
            "int",
            "long",
            "float",
            "double",
            "decimal(10, 2)",
            "date",
            "time",
            "timestamp",
            "timestamptz",
            "timestamp_ns",
            "timestamptz_ns",
            "string",
            "uuid",
            "fixed[16]",
            "binary",
        ] {
            let t: PrimitiveType = s.parse().unwrap();
            assert_eq!(t.to_string(), s);
        }
        assert_eq!(
            "decimal(9,2)".parse::<PrimitiveType>().unwrap(),
            PrimitiveType::Decimal {
                precision: 9,
                scale: 2
            }
        );
    }

    #[test]
    fn bad_primitive_names_are_refused() {
        for s in [
            "integer",
            "decimal(39, 2)",
            "decimal(5, 6)",
            "fixed[x]",
            "decimal(3)",
            "",
        ] {
            assert!(s.parse::<PrimitiveType>().is_err(), "{s} should be refused");
        }
    }

    #[test]
    fn nested_json_round_trips() {
        let json = r#"{"type":"struct","fields":[
            {"id":1,"name":"a","required":true,"type":"long","doc":"the id"},
            {"id":2,"name":"l","required":false,"type":{"type":"list","element-id":3,"element":"string","element-required":false}},
            {"id":4,"name":"m","required":false,"type":{"type":"map","key-id":5,"key":"string","value-id":6,"value":{"type":"struct","fields":[{"id":7,"name":"x","required":false,"type":"decimal(10, 2)"}]},"value-required":true}}
        ]}"#;
        let t: Type = serde_json::from_str(json).unwrap();
        let back = serde_json::to_value(&t).unwrap();
        let orig: serde_json::Value = serde_json::from_str(json).unwrap();
        assert_eq!(back, orig);
    }

    #[test]
    fn missing_nested_field_is_named() {
        let err = serde_json::from_str::<Type>(
            r#"{"type":"list","element":"int","element-required":true}"#,
        )
        .unwrap_err();
        assert!(err.to_string().contains("element-id"), "{err}");
    }

    #[test]
    fn promotions_follow_the_spec() {
        use PrimitiveType::*;
        assert!(Int.can_promote_to(&Long, 2));
        assert!(Float.can_promote_to(&Double, 2));
        assert!(!Long.can_promote_to(&Int, 2));
        assert!(
            Decimal {
                precision: 9,
                scale: 2
            }
            .can_promote_to(
                &Decimal {
                    precision: 12,
                    scale: 2
                },
                2
            )
        );
        assert!(
            !Decimal {
                precision: 9,
                scale: 2
            }
            .can_promote_to(
                &Decimal {
                    precision: 12,
                    scale: 3
                },
                2
            )
        );
        assert!(!Date.can_promote_to(&Timestamp, 2));
        assert!(Date.can_promote_to(&Timestamp, 3));
        assert!(!String.can_promote_to(&Binary, 3));
    }
}
