//! Iceberg schemas as Arrow schemas, and back.
//!
//! Every Arrow field carries its Iceberg field id in the metadata key [`FIELD_ID_KEY`]
//! (`PARQUET:field_id`), which the Parquet writer turns into the Parquet schema's field ids and
//! the reader uses to match columns by id (so renamed columns still read).
//!
//! Type mapping: boolean→Boolean, int→Int32, long→Int64, float→Float32, double→Float64,
//! decimal(P,S)→Decimal128(P,S), date→Date32, time→Time64(µs), timestamp→Timestamp(µs),
//! timestamptz→Timestamp(µs, "+00:00"), timestamp_ns/timestamptz_ns→Timestamp(ns[, "+00:00"]),
//! string→Utf8, uuid→FixedSizeBinary(16), fixed[L]→FixedSizeBinary(L), binary→LargeBinary,
//! struct→Struct, list→List (element named `element`), map→Map (entries `key_value`).

use std::collections::HashMap;
use std::sync::Arc;

use arrow_schema::{DataType, Field, Fields, Schema as ArrowSchema, TimeUnit};

use crate::spec::{ListType, MapType, NestedField, PrimitiveType, Schema, StructType, Type};
use crate::{Error, Result};

/// The Arrow field metadata key holding the Iceberg field id.
pub const FIELD_ID_KEY: &str = "PARQUET:field_id";

/// The UTC zone string used for `timestamptz` columns.
pub const UTC: &str = "+00:00";

fn with_id(field: Field, id: i32) -> Field {
    field.with_metadata(HashMap::from([(FIELD_ID_KEY.to_string(), id.to_string())]))
}

/// The Arrow type of an Iceberg type.
pub fn iceberg_type_to_arrow(t: &Type) -> Result<DataType> {
    Ok(match t {
        Type::Primitive(p) => primitive_to_arrow(p)?,
        Type::Struct(s) => DataType::Struct(struct_fields(s)?),
        Type::List(l) => DataType::List(Arc::new(nested_field_to_arrow(&l.element)?)),
        Type::Map(m) => map_to_arrow(m)?,
    })
}

fn primitive_to_arrow(p: &PrimitiveType) -> Result<DataType> {
    Ok(match p {
        PrimitiveType::Boolean => DataType::Boolean,
        PrimitiveType::Int => DataType::Int32,
        PrimitiveType::Long => DataType::Int64,
        PrimitiveType::Float => DataType::Float32,
        PrimitiveType::Double => DataType::Float64,
        PrimitiveType::Decimal { precision, scale } => {
            let p = u8::try_from(*precision)
                .map_err(|_| Error::invalid(format!("decimal precision {precision} too large")))?;
            let s = i8::try_from(*scale)
                .map_err(|_| Error::invalid(format!("decimal scale {scale} too large")))?;
            DataType::Decimal128(p, s)
        }
        PrimitiveType::Date => DataType::Date32,
        PrimitiveType::Time => DataType::Time64(TimeUnit::Microsecond),
        PrimitiveType::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, None),
        PrimitiveType::Timestamptz => DataType::Timestamp(TimeUnit::Microsecond, Some(UTC.into())),
        PrimitiveType::TimestampNs => DataType::Timestamp(TimeUnit::Nanosecond, None),
        PrimitiveType::TimestamptzNs => DataType::Timestamp(TimeUnit::Nanosecond, Some(UTC.into())),
        PrimitiveType::String => DataType::Utf8,
        PrimitiveType::Uuid => DataType::FixedSizeBinary(16),
        PrimitiveType::Fixed(len) => DataType::FixedSizeBinary(
            i32::try_from(*len)
                .map_err(|_| Error::invalid(format!("fixed length {len} too large")))?,
        ),
        PrimitiveType::Binary => DataType::LargeBinary,
    })
}

fn nested_field_to_arrow(f: &NestedField) -> Result<Field> {
    let dt = iceberg_type_to_arrow(&f.field_type)?;
    Ok(with_id(Field::new(&f.name, dt, !f.required), f.id))
}

fn struct_fields(s: &StructType) -> Result<Fields> {
    s.fields()
        .iter()
        .map(nested_field_to_arrow)
        .collect::<Result<Vec<_>>>()
        .map(Fields::from)
}

fn map_to_arrow(m: &MapType) -> Result<DataType> {
    let key = with_id(
        Field::new("key", iceberg_type_to_arrow(&m.key.field_type)?, false),
        m.key.id,
    );
    let value = with_id(
        Field::new(
            "value",
            iceberg_type_to_arrow(&m.value.field_type)?,
            !m.value.required,
        ),
        m.value.id,
    );
    let entries = Field::new(
        "key_value",
        DataType::Struct(Fields::from(vec![key, value])),
        false,
    );
    Ok(DataType::Map(Arc::new(entries), false))
}

/// The Arrow schema of an Iceberg schema, with field ids in the field metadata.
pub fn iceberg_schema_to_arrow(schema: &Schema) -> Result<ArrowSchema> {
    Ok(ArrowSchema::new(struct_fields(schema.as_struct())?))
}

/// The Iceberg field id carried by an Arrow field, if any.
pub fn field_id_of(field: &Field) -> Option<i32> {
    field
        .metadata()
        .get(FIELD_ID_KEY)
        .and_then(|v| v.parse().ok())
}

fn arrow_to_primitive(dt: &DataType, name: &str) -> Result<Type> {
    Ok(Type::Primitive(match dt {
        DataType::Boolean => PrimitiveType::Boolean,
        DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::UInt8 | DataType::UInt16 => {
            PrimitiveType::Int
        }
        DataType::Int64 | DataType::UInt32 => PrimitiveType::Long,
        DataType::Float16 | DataType::Float32 => PrimitiveType::Float,
        DataType::Float64 => PrimitiveType::Double,
        DataType::Decimal128(p, s) if *s >= 0 => PrimitiveType::Decimal {
            precision: u32::from(*p),
            scale: *s as u32,
        },
        DataType::Date32 => PrimitiveType::Date,
        DataType::Time64(TimeUnit::Microsecond) => PrimitiveType::Time,
        DataType::Timestamp(TimeUnit::Microsecond, None) => PrimitiveType::Timestamp,
        DataType::Timestamp(TimeUnit::Microsecond, Some(_)) => PrimitiveType::Timestamptz,
        DataType::Timestamp(TimeUnit::Nanosecond, None) => PrimitiveType::TimestampNs,
        DataType::Timestamp(TimeUnit::Nanosecond, Some(_)) => PrimitiveType::TimestamptzNs,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => PrimitiveType::String,
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView => PrimitiveType::Binary,
        DataType::FixedSizeBinary(n) => PrimitiveType::Fixed(*n as u64),
        other => {
            return Err(Error::unsupported(format!(
                "column '{name}' has Arrow type {other}, which has no Iceberg type"
            )));
        }
    }))
}

/// Convert an Arrow schema whose fields all carry field ids (see [`FIELD_ID_KEY`]) into an
/// Iceberg schema. Fields without an id are an error naming the field.
pub fn arrow_schema_to_iceberg(schema: &ArrowSchema) -> Result<Schema> {
    let fields = schema
        .fields()
        .iter()
        .map(|f| arrow_field_to_iceberg(f))
        .collect::<Result<Vec<_>>>()?;
    Schema::builder().with_fields(fields).build()
}

fn required_id(f: &Field) -> Result<i32> {
    field_id_of(f).ok_or_else(|| {
        Error::invalid(format!(
            "Arrow field '{}' has no Iceberg field id ({FIELD_ID_KEY})",
            f.name()
        ))
    })
}

fn arrow_field_to_iceberg(f: &Field) -> Result<NestedField> {
    let id = required_id(f)?;
    let t = arrow_type_to_iceberg(f.data_type(), f.name())?;
    Ok(NestedField::new(id, f.name().clone(), t, !f.is_nullable()))
}

/// The Iceberg type of an Arrow type that carries no field ids (a new column from a batch):
/// nested fields get fresh ids counting up from `next_id` (which ends at the last id used).
pub fn arrow_type_to_iceberg_with_ids(
    dt: &DataType,
    name: &str,
    next_id: &mut i32,
) -> Result<Type> {
    let mut fresh = || {
        *next_id += 1;
        *next_id
    };
    match dt {
        DataType::Struct(fields) => {
            let ids: Vec<i32> = fields.iter().map(|_| fresh()).collect();
            let mut out = Vec::with_capacity(fields.len());
            for (f, id) in fields.iter().zip(ids) {
                let t = arrow_type_to_iceberg_with_ids(f.data_type(), f.name(), next_id)?;
                out.push(NestedField::new(id, f.name().clone(), t, !f.is_nullable()));
            }
            Ok(Type::Struct(StructType::new(out)))
        }
        DataType::List(e) | DataType::LargeList(e) | DataType::FixedSizeList(e, _) => {
            let id = fresh();
            let t = arrow_type_to_iceberg_with_ids(e.data_type(), name, next_id)?;
            Ok(Type::List(ListType::new(id, t, !e.is_nullable())))
        }
        DataType::Map(entries, _) => {
            let DataType::Struct(kv) = entries.data_type() else {
                return Err(Error::invalid(format!(
                    "map column '{name}' has no key/value struct"
                )));
            };
            if kv.len() != 2 {
                return Err(Error::invalid(format!(
                    "map column '{name}' must have a key and a value"
                )));
            }
            let (kid, vid) = (fresh(), fresh());
            let k = arrow_type_to_iceberg_with_ids(kv[0].data_type(), name, next_id)?;
            let v = arrow_type_to_iceberg_with_ids(kv[1].data_type(), name, next_id)?;
            Ok(Type::Map(MapType::new(
                kid,
                k,
                vid,
                v,
                !kv[1].is_nullable(),
            )))
        }
        other => arrow_to_primitive(other, name),
    }
}

fn arrow_type_to_iceberg(dt: &DataType, name: &str) -> Result<Type> {
    match dt {
        DataType::Struct(fields) => Ok(Type::Struct(StructType::new(
            fields
                .iter()
                .map(|f| arrow_field_to_iceberg(f))
                .collect::<Result<Vec<_>>>()?,
        ))),
        DataType::List(e) | DataType::LargeList(e) | DataType::FixedSizeList(e, _) => {
            let id = required_id(e)?;
            Ok(Type::List(ListType::new(
                id,
                arrow_type_to_iceberg(e.data_type(), name)?,
                !e.is_nullable(),
            )))
        }
        DataType::Map(entries, _) => {
            let DataType::Struct(kv) = entries.data_type() else {
                return Err(Error::invalid(format!(
                    "map column '{name}' has no key/value struct"
                )));
            };
            if kv.len() != 2 {
                return Err(Error::invalid(format!(
                    "map column '{name}' must have a key and a value"
                )));
            }
            let (k, v) = (&kv[0], &kv[1]);
            Ok(Type::Map(MapType::new(
                required_id(k)?,
                arrow_type_to_iceberg(k.data_type(), name)?,
                required_id(v)?,
                arrow_type_to_iceberg(v.data_type(), name)?,
                !v.is_nullable(),
            )))
        }
        other => arrow_to_primitive(other, name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_type_with_ids() {
        let schema = Schema::builder()
            .with_fields([
                NestedField::required(1, "b", PrimitiveType::Boolean),
                NestedField::optional(2, "i", PrimitiveType::Int),
                NestedField::optional(3, "l", PrimitiveType::Long),
                NestedField::optional(4, "f", PrimitiveType::Float),
                NestedField::optional(5, "d", PrimitiveType::Double),
                NestedField::optional(
                    6,
                    "dec",
                    PrimitiveType::Decimal {
                        precision: 10,
                        scale: 2,
                    },
                ),
                NestedField::optional(7, "date", PrimitiveType::Date),
                NestedField::optional(8, "time", PrimitiveType::Time),
                NestedField::optional(9, "ts", PrimitiveType::Timestamp),
                NestedField::optional(10, "tstz", PrimitiveType::Timestamptz),
                NestedField::optional(11, "tsns", PrimitiveType::TimestampNs),
                NestedField::optional(12, "tstzns", PrimitiveType::TimestamptzNs),
                NestedField::optional(13, "s", PrimitiveType::String),
                NestedField::optional(14, "fx", PrimitiveType::Fixed(4)),
                NestedField::optional(15, "bin", PrimitiveType::Binary),
                NestedField::optional(
                    16,
                    "st",
                    Type::Struct(StructType::new(vec![NestedField::required(
                        17,
                        "x",
                        PrimitiveType::Int,
                    )])),
                ),
                NestedField::optional(
                    18,
                    "li",
                    Type::List(ListType::new(19, PrimitiveType::Long.into(), false)),
                ),
                NestedField::optional(
                    20,
                    "m",
                    Type::Map(MapType::new(
                        21,
                        PrimitiveType::String.into(),
                        22,
                        PrimitiveType::Double.into(),
                        true,
                    )),
                ),
            ])
            .build()
            .unwrap();
        let arrow = iceberg_schema_to_arrow(&schema).unwrap();
        assert_eq!(field_id_of(arrow.field(0)), Some(1));
        assert!(!arrow.field(0).is_nullable());
        let back = arrow_schema_to_iceberg(&arrow).unwrap();
        assert_eq!(back.as_struct(), schema.as_struct());
    }

    #[test]
    fn a_field_without_an_id_is_named() {
        let arrow = ArrowSchema::new(vec![Field::new("x", DataType::Int32, true)]);
        let err = arrow_schema_to_iceberg(&arrow).unwrap_err();
        assert!(err.message().contains("'x'"), "{err}");
    }
}
