//! Checking an Arrow batch against a table schema, and bringing it to the table's exact Arrow
//! form (field ids in the metadata, the type mapping of [`crate::arrow`]).
//!
//! Columns are matched by Iceberg field id when the batch's fields carry one
//! (`PARQUET:field_id`), by name otherwise, at every level (struct fields, list elements, map
//! keys and values). Representations of the same values are accepted and converted: any string
//! array (`Utf8`, `LargeUtf8`, `Utf8View`) for `string`, any binary array for `binary`, any
//! time zone on a `timestamptz`, a narrower decimal precision at the same scale, and
//! dictionary-encoded arrays of those. Optional columns missing from the batch are filled with
//! nulls. Anything else (another type, an extra column, a missing required column, a null in a
//! required column) is an error naming the column and the mismatch.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::{
    Array, ArrayRef, ListArray, MapArray, RecordBatch, RecordBatchOptions, StructArray,
    new_null_array,
};
use arrow_buffer::NullBuffer;
use arrow_schema::{DataType, Field, Fields, SchemaRef};

use crate::arrow::field_id_of;
use crate::spec::{NestedField, Schema, Type};
use crate::{Error, Result};

/// Check `batch` against the table `schema` and return it with exactly `arrow_schema`, the
/// table's Arrow schema (`iceberg_schema_to_arrow(schema)`). A batch that already has that
/// very schema (the same `Arc`) is returned as it is.
pub fn conform_batch(
    schema: &Schema,
    arrow_schema: &SchemaRef,
    batch: &RecordBatch,
) -> Result<RecordBatch> {
    if Arc::ptr_eq(&batch.schema(), arrow_schema) {
        return Ok(batch.clone());
    }
    let source = batch.schema();
    let columns = conform_children(
        "",
        schema.fields(),
        arrow_schema.fields(),
        source.fields(),
        batch.columns(),
        batch.num_rows(),
        None,
    )?;
    let options = RecordBatchOptions::new().with_row_count(Some(batch.num_rows()));
    RecordBatch::try_new_with_options(arrow_schema.clone(), columns, &options).map_err(|e| {
        Error::invalid(format!("the batch does not fit the table schema: {e}")).with_source(e)
    })
}

fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_string()
    } else {
        format!("{path}.{name}")
    }
}

/// The index of the source field that feeds `target`: by field id when the source fields carry
/// ids, by name otherwise.
fn find_source(sources: &Fields, target: &NestedField) -> Option<usize> {
    if let Some(i) = sources
        .iter()
        .position(|f| field_id_of(f) == Some(target.id))
    {
        return Some(i);
    }
    sources
        .iter()
        .position(|f| field_id_of(f).is_none() && f.name() == &target.name)
}

/// Conform the children of a struct (or the top level): one output column per target field.
/// `parent_valid` is where the enclosing structs are non-null (None: everywhere).
#[allow(clippy::too_many_arguments)]
fn conform_children(
    path: &str,
    iceberg: &[NestedField],
    targets: &Fields,
    sources: &Fields,
    columns: &[ArrayRef],
    rows: usize,
    parent_valid: Option<&NullBuffer>,
) -> Result<Vec<ArrayRef>> {
    let mut used = vec![false; sources.len()];
    let mut out = Vec::with_capacity(targets.len());
    for (ice, target) in iceberg.iter().zip(targets.iter()) {
        let name = join(path, &ice.name);
        let array = match find_source(sources, ice) {
            Some(i) => {
                used[i] = true;
                conform_array(&name, &columns[i], ice, target, parent_valid, true)?
            }
            None if !ice.required => new_null_array(target.data_type(), rows),
            None => {
                return Err(Error::invalid(format!(
                    "required column '{name}' (field id {}) is missing from the batch",
                    ice.id
                )));
            }
        };
        out.push(array);
    }
    if let Some(extra) = used.iter().position(|u| !u) {
        let f = &sources[extra];
        return Err(Error::invalid(format!(
            "the batch has a column '{}'{} that is not in the table schema",
            join(path, f.name()),
            field_id_of(f)
                .map(|id| format!(" (field id {id})"))
                .unwrap_or_default()
        )));
    }
    Ok(out)
}

/// Number of nulls of `array` at positions where `parent_valid` is set.
fn nulls_under(array: &dyn Array, parent_valid: Option<&NullBuffer>) -> usize {
    let Some(nulls) = array.logical_nulls() else {
        return 0;
    };
    match parent_valid {
        None => nulls.null_count(),
        Some(parent) => (&!nulls.inner() & parent.inner()).count_set_bits(),
    }
}

fn required_null_error(name: &str, n: usize) -> Error {
    Error::invalid(format!(
        "column '{name}' is required but the batch has {n} null value{} in it",
        if n == 1 { "" } else { "s" }
    ))
}

fn mismatch(name: &str, source: &DataType, ice: &NestedField, target: &DataType) -> Error {
    Error::invalid(format!(
        "column '{name}' has Arrow type {source}, but the table's column is {} (Arrow {target})",
        ice.field_type
    ))
}

/// Conform one column to its target field. Nulls are checked when the field is required and
/// `check_nulls` is set (list elements and map values are checked by their parent instead).
fn conform_array(
    name: &str,
    array: &ArrayRef,
    ice: &NestedField,
    target: &Field,
    parent_valid: Option<&NullBuffer>,
    check_nulls: bool,
) -> Result<ArrayRef> {
    if ice.required && check_nulls {
        let n = nulls_under(array.as_ref(), parent_valid);
        if n > 0 {
            return Err(required_null_error(name, n));
        }
    }
    let target_type = target.data_type();
    let bad = || mismatch(name, array.data_type(), ice, target_type);
    match (ice.field_type.as_ref(), target_type) {
        (Type::Struct(st), DataType::Struct(target_fields)) => {
            let s = array.as_struct_opt().ok_or_else(bad)?;
            // Where this struct is present: its own validity within the parent's.
            let valid = NullBuffer::union(parent_valid, s.nulls());
            let children = conform_children(
                name,
                st.fields(),
                target_fields,
                s.fields(),
                s.columns(),
                s.len(),
                valid.as_ref(),
            )?;
            let out = StructArray::try_new(target_fields.clone(), children, s.nulls().cloned())
                .map_err(|e| arrow_err(name, e))?;
            Ok(Arc::new(out))
        }
        (Type::List(lt), DataType::List(target_elem)) => {
            let list = match array.data_type() {
                DataType::List(_) => array.clone(),
                DataType::LargeList(f) | DataType::FixedSizeList(f, _) | DataType::ListView(f) => {
                    arrow_cast::cast(array, &DataType::List(f.clone()))
                        .map_err(|e| arrow_err(name, e))?
                }
                _ => return Err(bad()),
            };
            let l = list.as_list::<i32>();
            let elem_name = join(name, "element");
            let values = conform_array(
                &elem_name,
                l.values(),
                &lt.element,
                target_elem,
                None,
                false,
            )?;
            check_entries_required(&elem_name, lt.element.required, l.offsets(), &values)?;
            let out = ListArray::try_new(
                target_elem.clone(),
                l.offsets().clone(),
                values,
                l.nulls().cloned(),
            )
            .map_err(|e| arrow_err(name, e))?;
            Ok(Arc::new(out))
        }
        (Type::Map(mt), DataType::Map(target_entries, sorted)) => {
            let m = array.as_map_opt().ok_or_else(bad)?;
            let DataType::Struct(target_kv) = target_entries.data_type() else {
                return Err(bad());
            };
            let entries = m.entries();
            if entries.num_columns() != 2 || target_kv.len() != 2 {
                return Err(bad());
            }
            let key_name = join(name, "key");
            let value_name = join(name, "value");
            let keys = conform_array(
                &key_name,
                entries.column(0),
                &mt.key,
                &target_kv[0],
                None,
                false,
            )?;
            let values = conform_array(
                &value_name,
                entries.column(1),
                &mt.value,
                &target_kv[1],
                None,
                false,
            )?;
            check_entries_required(&key_name, true, m.offsets(), &keys)?;
            check_entries_required(&value_name, mt.value.required, m.offsets(), &values)?;
            let kv = StructArray::try_new(target_kv.clone(), vec![keys, values], None)
                .map_err(|e| arrow_err(name, e))?;
            let out = MapArray::try_new(
                target_entries.clone(),
                m.offsets().clone(),
                kv,
                m.nulls().cloned(),
                *sorted,
            )
            .map_err(|e| arrow_err(name, e))?;
            Ok(Arc::new(out))
        }
        (Type::Primitive(_), _) => {
            let source_type = array.data_type();
            if source_type == target_type {
                Ok(array.clone())
            } else if same_values(source_type, target_type) {
                arrow_cast::cast(array, target_type).map_err(|e| arrow_err(name, e))
            } else {
                Err(bad())
            }
        }
        _ => Err(bad()),
    }
}

/// Refuse null elements (or map values) of a list (map) whose elements are required. Only the
/// entries the offsets reach are looked at.
fn check_entries_required(
    name: &str,
    required: bool,
    offsets: &arrow_buffer::OffsetBuffer<i32>,
    values: &ArrayRef,
) -> Result<()> {
    if !required {
        return Ok(());
    }
    let start = offsets.first() as usize;
    let end = offsets.last() as usize;
    let n = values.slice(start, end - start).logical_null_count();
    if n > 0 {
        return Err(required_null_error(name, n));
    }
    Ok(())
}

/// Whether `source` holds the same values as `target` in another Arrow representation.
fn same_values(source: &DataType, target: &DataType) -> bool {
    use DataType as D;
    match (source, target) {
        (D::LargeUtf8 | D::Utf8View, D::Utf8) => true,
        (D::Binary | D::BinaryView, D::LargeBinary) => true,
        (D::Timestamp(su, Some(_)), D::Timestamp(tu, Some(_))) => su == tu,
        (D::Decimal128(sp, ss), D::Decimal128(tp, ts)) => ss == ts && sp <= tp,
        (D::Dictionary(_, v), t) => v.as_ref() == t || same_values(v, t),
        _ => false,
    }
}

fn arrow_err(name: &str, e: arrow_schema::ArrowError) -> Error {
    Error::invalid(format!(
        "column '{name}' cannot be converted to the table's type: {e}"
    ))
    .with_source(e)
}
