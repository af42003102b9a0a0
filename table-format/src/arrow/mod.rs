//! Arrow interop.
//!
//! - [`schema`]: Iceberg schemas to Arrow schemas and back, carrying field ids in the
//!   `PARQUET:field_id` field metadata that Parquet writers and readers use.

pub mod schema;

pub use schema::{
    FIELD_ID_KEY, arrow_schema_to_iceberg, field_id_of, iceberg_schema_to_arrow,
    iceberg_type_to_arrow,
};
