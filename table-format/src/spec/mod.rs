//! The Iceberg spec as pure data: no I/O in this module.
//!
//! - [`types`], [`schema`]: data types and schemas.
//! - [`values`]: single values and their binary and JSON forms.
//! - [`transform`]: partition transforms.

pub mod schema;
pub mod transform;
pub mod types;
pub mod values;

pub use schema::{Schema, SchemaBuilder};
pub use transform::Transform;
pub use types::{ListType, MapType, NestedField, PrimitiveType, StructType, Type};
pub use values::Datum;
