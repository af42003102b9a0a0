//! The Arrow IPC stream form of a metadata-table page
//! (`Accept: application/vnd.apache.arrow.stream`).
//!
//! One record batch holds the page's rows; the schema is fixed per kind (the same columns, in
//! the same order, as CSV), so every page of a listing has one schema, even an empty page.
//! Column types (documented in `spec/http-api.md`, "Metadata tables"):
//! - ids, counts, sizes, sequence numbers and ages: `Int64`; enum codes and small ids
//!   (`content`, `status`, `spec_id`, `partition_spec_id`, `sort_order_id`, the manifest file
//!   counts, `latest_schema_id`, `min_snapshots_to_keep`): `Int32`, as Iceberg's metadata tables
//!   type them;
//! - event times (`committed_at`, `made_current_at`, `timestamp`, `last_updated_at`):
//!   `Timestamp(ms, "UTC")`;
//! - `is_current_ancestor`: `Boolean`; `hours_since_update`, `small_file_ratio`: `Float64`;
//! - nested values (summary maps, partition tuples, metric maps, `readable_metrics`,
//!   `data_file`, partition summaries, lists): `Utf8` holding the JSON text of the JSON form,
//!   so a reader decodes them with any JSON parser; other text (`file_path`, hex
//!   `key_metadata`): `Utf8`.
//!
//! Every column is nullable (a missing value is null, e.g. `partition` of an unpartitioned
//! table).

use std::sync::Arc;

use arrow_array::builder::{
    BooleanBuilder, Float64Builder, Int32Builder, Int64Builder, StringBuilder,
    TimestampMillisecondBuilder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_ipc::writer::StreamWriter;
use arrow_schema::{ArrowError, DataType, Field, Schema, TimeUnit};
use serde_json::Value;

use crate::service::{InspectKind, InspectPage, InspectRows};

/// The media type of an Arrow IPC stream.
pub const ARROW_STREAM: &str = "application/vnd.apache.arrow.stream";

/// How a column is typed in Arrow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cell {
    Long,
    Int,
    Bool,
    Double,
    /// An ISO-8601 event time in the JSON rows; ms since the epoch, UTC, in Arrow.
    Time,
    Text,
    /// A nested value: its JSON text.
    Json,
}

/// The Arrow type of a column, by its name (a name means the same thing in every kind).
/// `None` for a name this table does not know (the unit test keeps it complete).
fn cell_of(column: &str) -> Option<Cell> {
    Some(match column {
        "snapshot_id"
        | "parent_id"
        | "max_reference_age_in_ms"
        | "max_snapshot_age_in_ms"
        | "latest_snapshot_id"
        | "latest_sequence_number"
        | "length"
        | "added_snapshot_id"
        | "record_count"
        | "file_size_in_bytes"
        | "sequence_number"
        | "file_sequence_number"
        | "file_count"
        | "total_data_file_size_in_bytes"
        | "position_delete_record_count"
        | "position_delete_file_count"
        | "equality_delete_record_count"
        | "equality_delete_file_count"
        | "last_updated_snapshot_id"
        | "snapshot_count"
        | "data_file_count"
        | "delete_file_count"
        | "manifest_count"
        | "total_records"
        | "total_data_size_bytes"
        | "avg_file_size_bytes"
        | "median_file_size_bytes" => Cell::Long,
        "content"
        | "status"
        | "spec_id"
        | "partition_spec_id"
        | "sort_order_id"
        | "latest_schema_id"
        | "min_snapshots_to_keep"
        | "added_data_files_count"
        | "existing_data_files_count"
        | "deleted_data_files_count"
        | "added_delete_files_count"
        | "existing_delete_files_count"
        | "deleted_delete_files_count" => Cell::Int,
        "is_current_ancestor" => Cell::Bool,
        "hours_since_update" | "small_file_ratio" => Cell::Double,
        "committed_at" | "made_current_at" | "timestamp" | "last_updated_at" => Cell::Time,
        "operation" | "manifest_list" | "name" | "type" | "file" | "path" | "file_path"
        | "file_format" | "key_metadata" | "change" => Cell::Text,
        "summary"
        | "partition_summaries"
        | "partition"
        | "column_sizes"
        | "value_counts"
        | "null_value_counts"
        | "nan_value_counts"
        | "lower_bounds"
        | "upper_bounds"
        | "split_offsets"
        | "equality_ids"
        | "readable_metrics"
        | "data_file"
        | "recommendations" => Cell::Json,
        _ => return None,
    })
}

fn data_type(cell: Cell) -> DataType {
    match cell {
        Cell::Long => DataType::Int64,
        Cell::Int => DataType::Int32,
        Cell::Bool => DataType::Boolean,
        Cell::Double => DataType::Float64,
        Cell::Time => DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
        Cell::Text | Cell::Json => DataType::Utf8,
    }
}

/// The ms since the epoch of an ISO-8601 time (or of a number of ms).
fn time_ms(v: &Value) -> Option<i64> {
    match v {
        Value::String(s) => chrono::DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|t| t.timestamp_millis()),
        other => other.as_i64(),
    }
}

/// One column of the page's rows.
fn column(rows: &[Value], name: &str, cell: Cell) -> ArrayRef {
    let values = rows.iter().map(|r| r.get(name).filter(|v| !v.is_null()));
    let n = rows.len();
    match cell {
        Cell::Long => {
            let mut b = Int64Builder::with_capacity(n);
            values.for_each(|v| b.append_option(v.and_then(Value::as_i64)));
            Arc::new(b.finish())
        }
        Cell::Int => {
            let mut b = Int32Builder::with_capacity(n);
            values.for_each(|v| {
                b.append_option(
                    v.and_then(Value::as_i64)
                        .and_then(|i| i32::try_from(i).ok()),
                )
            });
            Arc::new(b.finish())
        }
        Cell::Bool => {
            let mut b = BooleanBuilder::with_capacity(n);
            values.for_each(|v| b.append_option(v.and_then(Value::as_bool)));
            Arc::new(b.finish())
        }
        Cell::Double => {
            let mut b = Float64Builder::with_capacity(n);
            values.for_each(|v| b.append_option(v.and_then(Value::as_f64)));
            Arc::new(b.finish())
        }
        Cell::Time => {
            let mut b = TimestampMillisecondBuilder::with_capacity(n).with_timezone("UTC");
            values.for_each(|v| b.append_option(v.and_then(time_ms)));
            Arc::new(b.finish())
        }
        Cell::Text => {
            let mut b = StringBuilder::with_capacity(n, n * 32);
            values.for_each(|v| match v {
                Some(Value::String(s)) => b.append_value(s),
                Some(other) => b.append_value(other.to_string()),
                None => b.append_null(),
            });
            Arc::new(b.finish())
        }
        Cell::Json => {
            let mut b = StringBuilder::with_capacity(n, n * 64);
            values.for_each(|v| match v {
                Some(v) => b.append_value(v.to_string()),
                None => b.append_null(),
            });
            Arc::new(b.finish())
        }
    }
}

/// The columns of a kind with their Arrow form.
fn cells(kind: InspectKind) -> Vec<(&'static str, Cell)> {
    kind.columns()
        .iter()
        .map(|c| (*c, cell_of(c).unwrap_or(Cell::Json)))
        .collect()
}

/// The page as an Arrow IPC stream: the kind's schema and one record batch of the rows.
pub fn ipc_stream(page: &InspectPage) -> Result<Vec<u8>, ArrowError> {
    let columns = cells(page.kind);
    let schema = Arc::new(Schema::new(
        columns
            .iter()
            .map(|(name, cell)| Field::new(*name, data_type(*cell), true))
            .collect::<Vec<_>>(),
    ));
    let arrays: Vec<ArrayRef> = match &page.rows {
        InspectRows::Values(rows) => columns
            .iter()
            .map(|(name, cell)| column(rows, name, *cell))
            .collect(),
        // Already typed: checked against the kind's schema by `try_new`.
        InspectRows::Columns(batch) => batch.columns().to_vec(),
    };
    let batch = RecordBatch::try_new(schema.clone(), arrays)?;
    // Room for the batch's buffers and the messages around them, so the stream rarely grows.
    let room = batch.get_array_memory_size() + 1024 * (batch.num_columns() + 1);
    let mut w = StreamWriter::try_new(Vec::with_capacity(room), &schema)?;
    if batch.num_rows() > 0 {
        w.write(&batch)?;
    }
    w.into_inner()
}

/// Columnar rows as the JSON array of row objects serde_json writes for the same rows as
/// `Value`s: keys in sorted order, nested values (`Utf8` columns of JSON text) as they are,
/// other text quoted, null cells as `null`.
pub fn json_rows(
    kind: InspectKind,
    batch: &RecordBatch,
    out: &mut Vec<u8>,
) -> Result<(), ArrowError> {
    use arrow_array::Array;
    use arrow_array::cast::AsArray;
    use arrow_array::types::{Int32Type, Int64Type};
    use serde_json::ser::{CompactFormatter, Formatter};

    let columns = cells(kind);
    if batch.num_columns() != columns.len() {
        return Err(ArrowError::SchemaError(format!(
            "{} columns for a {} row of {}",
            batch.num_columns(),
            kind.word(),
            columns.len()
        )));
    }
    let mut order: Vec<usize> = (0..columns.len()).collect();
    order.sort_by(|a, b| columns[*a].0.cmp(columns[*b].0));
    // Each column's `"name":` prefix, written once.
    let keys: Vec<Vec<u8>> = order
        .iter()
        .map(|i| {
            let mut k = Vec::new();
            serde_json::to_writer(&mut k, columns[*i].0)
                .map_err(|e| ArrowError::ExternalError(Box::new(e)))?;
            k.push(b':');
            Ok(k)
        })
        .collect::<Result<_, ArrowError>>()?;
    let io = |e: std::io::Error| ArrowError::IoError(e.to_string(), e);
    out.push(b'[');
    for row in 0..batch.num_rows() {
        if row > 0 {
            out.push(b',');
        }
        out.push(b'{');
        for (k, i) in order.iter().enumerate() {
            if k > 0 {
                out.push(b',');
            }
            out.extend_from_slice(&keys[k]);
            let a = batch.column(*i);
            if a.is_null(row) {
                out.extend_from_slice(b"null");
                continue;
            }
            match (a.data_type(), columns[*i].1) {
                (DataType::Int32, _) => CompactFormatter
                    .write_i32(out, a.as_primitive::<Int32Type>().value(row))
                    .map_err(io)?,
                (DataType::Int64, _) => CompactFormatter
                    .write_i64(out, a.as_primitive::<Int64Type>().value(row))
                    .map_err(io)?,
                (DataType::Utf8, Cell::Json) => {
                    out.extend_from_slice(a.as_string::<i32>().value(row).as_bytes())
                }
                (DataType::Utf8, _) => {
                    serde_json::to_writer(&mut *out, a.as_string::<i32>().value(row))
                        .map_err(|e| ArrowError::ExternalError(Box::new(e)))?
                }
                (other, _) => {
                    return Err(ArrowError::SchemaError(format!(
                        "no JSON form for a {other} column"
                    )));
                }
            }
        }
        out.push(b'}');
    }
    out.push(b']');
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::cast::AsArray;
    use arrow_array::types::{Int64Type, TimestampMillisecondType};
    use arrow_ipc::reader::StreamReader;
    use serde_json::json;

    #[test]
    fn every_column_has_an_arrow_type() {
        for (word, kind) in InspectKind::ALL {
            for c in kind.columns() {
                assert!(cell_of(c).is_some(), "{word}.{c} has no Arrow type");
            }
        }
    }

    #[test]
    fn a_page_reads_back() {
        let page = InspectPage {
            kind: InspectKind::Snapshots,
            rows: InspectRows::Values(vec![json!({
                "committed_at": "2024-01-31T12:00:00.123Z",
                "snapshot_id": 7,
                "parent_id": null,
                "operation": "append",
                "manifest_list": "file:///m.avro",
                "summary": {"added-records": "3"},
            })]),
            next_page_token: None,
        };
        let bytes = ipc_stream(&page).unwrap();
        let batches: Vec<RecordBatch> = StreamReader::try_new(&bytes[..], None)
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let b = &batches[0];
        assert_eq!(b.num_rows(), 1);
        assert_eq!(b.column(1).as_primitive::<Int64Type>().value(0), 7);
        assert!(b.column(2).is_null(0));
        assert_eq!(
            b.column(0)
                .as_primitive::<TimestampMillisecondType>()
                .value(0),
            1_706_702_400_123
        );
        assert_eq!(
            b.column(5).as_string::<i32>().value(0),
            r#"{"added-records":"3"}"#
        );
        // An empty page is a schema and no batch.
        let empty = InspectPage {
            rows: InspectRows::Values(vec![]),
            ..page
        };
        let bytes = ipc_stream(&empty).unwrap();
        let reader = StreamReader::try_new(&bytes[..], None).unwrap();
        assert_eq!(reader.schema().fields().len(), 6);
        assert_eq!(reader.count(), 0);
    }
}
