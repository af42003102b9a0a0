//! Routing rows to partitions: each row's partition tuple, the split of a batch by tuple, and
//! the partition's directory name.
//!
//! - [`PartitionRouter`]: a spec bound to a schema; [`PartitionRouter::split`] groups a batch's
//!   rows by partition tuple (stable: rows keep their order within a partition).
//! - [`partition_path`]: `name=value/...` with each transform's human string, escaped as
//!   Java's `PartitionSpec.partitionToPath` does (`URLEncoder`: space as `+`).

use std::hash::Hash;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Decimal128Type, Float32Type, Float64Type, Int32Type, Int64Type,
    Time64MicrosecondType, TimestampMicrosecondType, TimestampNanosecondType,
};
use arrow_array::{Array, ArrayRef, RecordBatch, UInt32Array, make_array};
use arrow_buffer::NullBuffer;
use arrow_schema::{DataType, TimeUnit};
use rustc_hash::FxHashMap;

use crate::spec::{Datum, PartitionSpec, PartitionValues, PrimitiveType, Schema, Transform, Type};
use crate::{Error, Result};

/// A partition tuple in hashable form: each value's binary single-value encoding.
pub(crate) type PartitionKey = Vec<Option<Vec<u8>>>;

/// One partition field, bound to its source column.
#[derive(Debug, Clone)]
struct BoundField {
    name: String,
    transform: Transform,
    /// Column indices from the top level down through structs to the source column; empty
    /// for a void field.
    source_path: Vec<usize>,
    result_type: PrimitiveType,
}

/// A partition spec bound to a schema: computes partition tuples of batches.
#[derive(Debug, Clone)]
pub(crate) struct PartitionRouter {
    fields: Vec<BoundField>,
    unpartitioned: bool,
}

/// The rows of one partition of a batch.
#[derive(Debug)]
pub(crate) struct PartitionGroup {
    pub key: PartitionKey,
    pub values: PartitionValues,
    pub rows: RecordBatch,
}

impl PartitionRouter {
    /// Bind `spec` to `schema`: every non-void field's source must be a primitive column
    /// reachable through structs only, and take the transform.
    pub fn try_new(spec: &PartitionSpec, schema: &Schema) -> Result<Self> {
        spec.check_compatible(schema)?;
        let mut fields = Vec::with_capacity(spec.fields().len());
        for f in spec.fields() {
            if f.transform == Transform::Void {
                fields.push(BoundField {
                    name: f.name.clone(),
                    transform: Transform::Void,
                    source_path: vec![],
                    result_type: PrimitiveType::Int,
                });
                continue;
            }
            let source_path = struct_path(schema, *f.source_id).ok_or_else(|| {
                Error::invalid(format!(
                    "partition field '{}': source column {} is inside a list or map",
                    f.name, *f.source_id
                ))
            })?;
            let source_type = schema.primitive_type_by_id(*f.source_id).ok_or_else(|| {
                Error::invalid(format!(
                    "partition field '{}': source column {} is not a primitive column",
                    f.name, *f.source_id
                ))
            })?;
            fields.push(BoundField {
                name: f.name.clone(),
                transform: f.transform.clone(),
                source_path,
                result_type: f.transform.result_type(source_type)?,
            });
        }
        Ok(Self {
            fields,
            unpartitioned: spec.is_unpartitioned(),
        })
    }

    /// The partition directory (`name=value/...`) of a tuple; empty when unpartitioned.
    pub fn path(&self, values: &PartitionValues) -> String {
        if self.unpartitioned {
            return String::new();
        }
        partition_path(
            self.fields
                .iter()
                .zip(values)
                .map(|(f, v)| (f.name.as_str(), &f.transform, v.as_ref())),
        )
    }

    /// Split a batch (in the table's Arrow schema) into one group per partition tuple, in the
    /// order each tuple first appears; rows keep their order within a group.
    pub fn split(&self, batch: &RecordBatch) -> Result<Vec<PartitionGroup>> {
        let all_null = || {
            self.fields
                .iter()
                .map(|_| None)
                .collect::<PartitionValues>()
        };
        if self.unpartitioned || batch.num_rows() == 0 {
            return Ok(vec![PartitionGroup {
                key: self.fields.iter().map(|_| None).collect(),
                values: all_null(),
                rows: batch.clone(),
            }]);
        }
        // Transformed columns (None for void fields).
        let transformed: Vec<Option<ArrayRef>> = self
            .fields
            .iter()
            .map(|f| {
                if f.source_path.is_empty() {
                    return Ok(None);
                }
                let source = source_column(batch, &f.source_path)?;
                f.transform
                    .apply_array(source.as_ref())
                    .map(Some)
                    .map_err(|e| e.context(format!("partition field '{}'", f.name)))
            })
            .collect::<Result<_>>()?;

        // Dense group id per row, combining the fields one at a time.
        let rows = batch.num_rows();
        let mut group_of: Vec<u32> = vec![0; rows];
        let mut first_row: Vec<usize> = vec![0];
        for array in transformed.iter().flatten() {
            let codes = value_codes(array.as_ref())?;
            let mut combined: FxHashMap<(u32, u32), u32> = FxHashMap::default();
            let mut next_first = Vec::new();
            for (row, (g, c)) in group_of.iter_mut().zip(codes).enumerate() {
                let len = combined.len() as u32;
                let id = *combined.entry((*g, c)).or_insert_with(|| {
                    next_first.push(row);
                    len
                });
                *g = id;
            }
            first_row = next_first;
        }

        let values_at = |row: usize| -> Result<(PartitionKey, PartitionValues)> {
            let mut key = Vec::with_capacity(self.fields.len());
            let mut values = Vec::with_capacity(self.fields.len());
            for (f, t) in self.fields.iter().zip(&transformed) {
                let v = match t {
                    Some(a) => datum_at(a.as_ref(), row, &f.result_type)?,
                    None => None,
                };
                key.push(v.as_ref().map(Datum::to_bytes));
                values.push(v);
            }
            Ok((key, values))
        };

        if first_row.len() == 1 {
            let (key, values) = values_at(0)?;
            return Ok(vec![PartitionGroup {
                key,
                values,
                rows: batch.clone(),
            }]);
        }

        // Counting sort by group id: stable, one `take` for the whole batch.
        let groups = first_row.len();
        let mut starts = vec![0u32; groups + 1];
        for g in &group_of {
            starts[*g as usize + 1] += 1;
        }
        for i in 0..groups {
            starts[i + 1] += starts[i];
        }
        let mut next = starts.clone();
        let mut indices = vec![0u32; rows];
        for (row, g) in group_of.iter().enumerate() {
            let slot = &mut next[*g as usize];
            indices[*slot as usize] = row as u32;
            *slot += 1;
        }
        let sorted = arrow_select::take::take_record_batch(batch, &UInt32Array::from(indices))
            .map_err(|e| {
                Error::invalid(format!("cannot split the batch by partition: {e}")).with_source(e)
            })?;
        let mut out = Vec::with_capacity(groups);
        for (g, first) in first_row.iter().enumerate() {
            let (key, values) = values_at(*first)?;
            let start = starts[g] as usize;
            let len = starts[g + 1] as usize - start;
            out.push(PartitionGroup {
                key,
                values,
                rows: sorted.slice(start, len),
            });
        }
        Ok(out)
    }
}

/// Column indices from the top level to field `id`, through structs only.
fn struct_path(schema: &Schema, id: i32) -> Option<Vec<usize>> {
    fn find(fields: &[crate::spec::NestedField], id: i32, path: &mut Vec<usize>) -> bool {
        for (i, f) in fields.iter().enumerate() {
            path.push(i);
            if f.id == id {
                return true;
            }
            if let Type::Struct(s) = f.field_type.as_ref()
                && find(s.fields(), id, path)
            {
                return true;
            }
            path.pop();
        }
        false
    }
    let mut path = Vec::new();
    find(schema.fields(), id, &mut path).then_some(path)
}

/// The source column at `path`, null wherever an enclosing struct is null.
fn source_column(batch: &RecordBatch, path: &[usize]) -> Result<ArrayRef> {
    let mut array = batch.column(path[0]).clone();
    for &i in &path[1..] {
        let s = array.as_struct_opt().ok_or_else(|| {
            Error::invalid("partition source path goes through a column that is not a struct")
        })?;
        let child = s.column(i).clone();
        array = match s.nulls() {
            None => child,
            Some(parent) => {
                let nulls = NullBuffer::union(Some(parent), child.nulls());
                let data = child
                    .to_data()
                    .into_builder()
                    .nulls(nulls)
                    .build()
                    .map_err(|e| {
                        Error::invalid(format!("cannot read a nested partition source: {e}"))
                            .with_source(e)
                    })?;
                make_array(data)
            }
        };
    }
    Ok(array)
}

/// A dense code per row for the distinct values of `array` (nulls share one code).
fn value_codes(array: &dyn Array) -> Result<Vec<u32>> {
    fn codes<K: Hash + Eq>(array: &dyn Array, key: impl Fn(usize) -> K) -> Vec<u32> {
        let mut seen: FxHashMap<Option<K>, u32> = FxHashMap::default();
        (0..array.len())
            .map(|i| {
                let k = array.is_valid(i).then(|| key(i));
                let len = seen.len() as u32;
                *seen.entry(k).or_insert(len)
            })
            .collect()
    }
    Ok(match array.data_type() {
        DataType::Int32 => {
            let a = array.as_primitive::<Int32Type>();
            codes(array, |i| a.value(i))
        }
        DataType::Date32 => {
            let a = array.as_primitive::<Date32Type>();
            codes(array, |i| a.value(i))
        }
        DataType::Int64 => {
            let a = array.as_primitive::<Int64Type>();
            codes(array, |i| a.value(i))
        }
        DataType::Time64(TimeUnit::Microsecond) => {
            let a = array.as_primitive::<Time64MicrosecondType>();
            codes(array, |i| a.value(i))
        }
        DataType::Timestamp(TimeUnit::Microsecond, _) => {
            let a = array.as_primitive::<TimestampMicrosecondType>();
            codes(array, |i| a.value(i))
        }
        DataType::Timestamp(TimeUnit::Nanosecond, _) => {
            let a = array.as_primitive::<TimestampNanosecondType>();
            codes(array, |i| a.value(i))
        }
        DataType::Decimal128(_, _) => {
            let a = array.as_primitive::<Decimal128Type>();
            codes(array, |i| a.value(i))
        }
        DataType::Float32 => {
            let a = array.as_primitive::<Float32Type>();
            codes(array, |i| a.value(i).to_bits())
        }
        DataType::Float64 => {
            let a = array.as_primitive::<Float64Type>();
            codes(array, |i| a.value(i).to_bits())
        }
        DataType::Boolean => {
            let a = array.as_boolean();
            codes(array, |i| a.value(i))
        }
        DataType::Utf8 => {
            let a = array.as_string::<i32>();
            codes(array, |i| a.value(i))
        }
        DataType::LargeUtf8 => {
            let a = array.as_string::<i64>();
            codes(array, |i| a.value(i))
        }
        DataType::Binary => {
            let a = array.as_binary::<i32>();
            codes(array, |i| a.value(i))
        }
        DataType::LargeBinary => {
            let a = array.as_binary::<i64>();
            codes(array, |i| a.value(i))
        }
        DataType::FixedSizeBinary(_) => {
            let a = array.as_fixed_size_binary();
            codes(array, |i| a.value(i))
        }
        other => {
            return Err(Error::unsupported(format!(
                "cannot partition by values of Arrow type {other}"
            )));
        }
    })
}

/// The value at `row` of a (transformed) array, as a value of the Iceberg type `ty`.
pub(crate) fn datum_at(array: &dyn Array, row: usize, ty: &PrimitiveType) -> Result<Option<Datum>> {
    use PrimitiveType as P;
    if array.is_null(row) {
        return Ok(None);
    }
    let unexpected = || {
        Error::invalid(format!(
            "an Arrow array of type {} cannot hold {ty} values",
            array.data_type()
        ))
    };
    let dt = array.data_type();
    Ok(Some(match (ty, dt) {
        (P::Boolean, DataType::Boolean) => Datum::Boolean(array.as_boolean().value(row)),
        (P::Int, DataType::Int32) => Datum::Int(array.as_primitive::<Int32Type>().value(row)),
        (P::Date, DataType::Date32) => Datum::Date(array.as_primitive::<Date32Type>().value(row)),
        (P::Long, DataType::Int64) => Datum::Long(array.as_primitive::<Int64Type>().value(row)),
        (P::Float, DataType::Float32) => {
            Datum::Float(array.as_primitive::<Float32Type>().value(row))
        }
        (P::Double, DataType::Float64) => {
            Datum::Double(array.as_primitive::<Float64Type>().value(row))
        }
        (P::Decimal { precision, scale }, DataType::Decimal128(_, _)) => Datum::Decimal {
            unscaled: array.as_primitive::<Decimal128Type>().value(row),
            precision: *precision,
            scale: *scale,
        },
        (P::Time, DataType::Time64(TimeUnit::Microsecond)) => {
            Datum::Time(array.as_primitive::<Time64MicrosecondType>().value(row))
        }
        (P::Timestamp, DataType::Timestamp(TimeUnit::Microsecond, _)) => {
            Datum::Timestamp(array.as_primitive::<TimestampMicrosecondType>().value(row))
        }
        (P::Timestamptz, DataType::Timestamp(TimeUnit::Microsecond, _)) => {
            Datum::Timestamptz(array.as_primitive::<TimestampMicrosecondType>().value(row))
        }
        (P::TimestampNs, DataType::Timestamp(TimeUnit::Nanosecond, _)) => {
            Datum::TimestampNs(array.as_primitive::<TimestampNanosecondType>().value(row))
        }
        (P::TimestamptzNs, DataType::Timestamp(TimeUnit::Nanosecond, _)) => {
            Datum::TimestamptzNs(array.as_primitive::<TimestampNanosecondType>().value(row))
        }
        (P::String, DataType::Utf8) => Datum::String(array.as_string::<i32>().value(row).into()),
        (P::String, DataType::LargeUtf8) => {
            Datum::String(array.as_string::<i64>().value(row).into())
        }
        (P::Binary, DataType::Binary) => Datum::Binary(array.as_binary::<i32>().value(row).into()),
        (P::Binary, DataType::LargeBinary) => {
            Datum::Binary(array.as_binary::<i64>().value(row).into())
        }
        (P::Uuid, DataType::FixedSizeBinary(16)) => Datum::Uuid(
            uuid::Uuid::from_slice(array.as_fixed_size_binary().value(row))
                .map_err(|_| unexpected())?,
        ),
        (P::Fixed(_), DataType::FixedSizeBinary(_)) => {
            Datum::Fixed(array.as_fixed_size_binary().value(row).into())
        }
        _ => return Err(unexpected()),
    }))
}

// ---------------------------------------------------------------------------------------------
// Partition paths
// ---------------------------------------------------------------------------------------------

/// `name=value/...` for partition fields (name, transform, value), with the transforms' human
/// strings (Java `Transform.toHumanString`): `null` for nulls; year `2017`, month `2017-11`,
/// day `2017-11-16`, hour `2017-11-16-22`; bucket the number; identity and truncate the value
/// (dates and times in ISO form, binary and fixed in base64). Names and values are escaped.
pub fn partition_path<'a>(
    fields: impl IntoIterator<Item = (&'a str, &'a Transform, Option<&'a Datum>)>,
) -> String {
    let mut out = String::new();
    for (i, (name, transform, value)) in fields.into_iter().enumerate() {
        if i > 0 {
            out.push('/');
        }
        escape_into(&mut out, name);
        out.push('=');
        escape_into(&mut out, &human_string(transform, value));
    }
    out
}

/// A transform result as Java's `toHumanString` writes it.
pub fn human_string(transform: &Transform, value: Option<&Datum>) -> String {
    let Some(value) = value else {
        return "null".to_string();
    };
    let int = match value {
        Datum::Int(v) | Datum::Date(v) => Some(i64::from(*v)),
        _ => None,
    };
    match (transform, int) {
        (Transform::Year, Some(y)) => format!("{:04}", 1970 + y),
        (Transform::Month, Some(m)) => {
            format!("{:04}-{:02}", 1970 + m.div_euclid(12), m.rem_euclid(12) + 1)
        }
        (Transform::Hour, Some(h)) => {
            let day = Datum::Date(h.div_euclid(24) as i32).human_string();
            format!("{day}-{:02}", h.rem_euclid(24))
        }
        _ => match value {
            Datum::Binary(b) | Datum::Fixed(b) => base64(b),
            other => other.human_string(),
        },
    }
}

/// Escape like `java.net.URLEncoder` (UTF-8): letters, digits and `.-*_` stay, space becomes
/// `+`, every other byte `%XX`.
fn escape_into(out: &mut String, s: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'.' | b'-' | b'*' | b'_' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => {
                out.push('%');
                out.push(HEX[(b >> 4) as usize] as char);
                out.push(HEX[(b & 0xF) as usize] as char);
            }
        }
    }
}

/// Standard base64 with padding.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk.len();
        let v = (u32::from(chunk[0]) << 16)
            | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
            | u32::from(*chunk.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= n {
                out.push(ALPHABET[((v >> (18 - 6 * i)) & 0x3F) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_strings_follow_java() {
        assert_eq!(
            human_string(&Transform::Year, Some(&Datum::Int(47))),
            "2017"
        );
        assert_eq!(
            human_string(&Transform::Month, Some(&Datum::Int(574))),
            "2017-11"
        );
        assert_eq!(
            human_string(&Transform::Month, Some(&Datum::Int(-1))),
            "1969-12"
        );
        assert_eq!(
            human_string(&Transform::Day, Some(&Datum::Date(17486))),
            "2017-11-16"
        );
        assert_eq!(
            human_string(&Transform::Hour, Some(&Datum::Int(419686))),
            "2017-11-16-22"
        );
        assert_eq!(
            human_string(&Transform::Hour, Some(&Datum::Int(-1))),
            "1969-12-31-23"
        );
        assert_eq!(
            human_string(&Transform::Bucket(16), Some(&Datum::Int(3))),
            "3"
        );
        assert_eq!(human_string(&Transform::Identity, None), "null");
        assert_eq!(
            human_string(&Transform::Identity, Some(&Datum::Binary(b"foob".to_vec()))),
            "Zm9vYg=="
        );
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"fo"), "Zm8=");
    }

    #[test]
    fn paths_are_escaped() {
        let s = Datum::String("a b/c=d+é".into());
        let t = Transform::Identity;
        assert_eq!(
            partition_path([("my col", &t, Some(&s)), ("n", &t, None)]),
            "my+col=a+b%2Fc%3Dd%2B%C3%A9/n=null"
        );
    }
}
