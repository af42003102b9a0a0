//! Evaluating bound predicates on Arrow record batches, row by row.
//!
//! - [`eval_record_batch`]: one boolean per row, `true` where the row matches. Columns are
//!   found by Iceberg field id (the Arrow field metadata key
//!   [`FIELD_ID_KEY`](crate::arrow::FIELD_ID_KEY)), at any depth inside structs; a field of a
//!   null struct is null. A column the batch does not have reads as its `initial-default`, or
//!   null. Rows follow the semantics of the `value_eval` module (SQL nulls, IEEE NaN, the
//!   spec's order otherwise), which agree with the metrics and partition evaluators.
//! - [`datum_to_arrow`]: a single value as a one-element Arrow array of the Arrow type Floe
//!   uses for its Iceberg type (see [`crate::arrow`]), for use as a comparison scalar.
//!
//! Comparisons use arrow-ord's `cmp` kernels. A column whose Arrow type differs from the
//! field's usual one (a file written before a type promotion, `LargeUtf8` or view strings,
//! another time zone label, dictionary encoding) is compared after a lossless conversion.

use std::collections::HashSet;
use std::hash::Hash;
use std::sync::Arc;

use arrow_arith::boolean::{and, is_not_null, is_null, not, or};
use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Decimal128Type, Float32Type, Float64Type, Int32Type, Int64Type,
    Time64MicrosecondType, TimestampMicrosecondType, TimestampNanosecondType,
};
use arrow_array::{
    Array, ArrayRef, ArrowPrimitiveType, BooleanArray, Date32Array, Decimal128Array,
    FixedSizeBinaryArray, Float32Array, Float64Array, Int32Array, Int64Array, LargeBinaryArray,
    RecordBatch, Scalar, StringArray, Time64MicrosecondArray, TimestampMicrosecondArray,
    TimestampNanosecondArray, make_array,
};
use arrow_buffer::{BooleanBuffer, NullBuffer};
use arrow_cast::cast;
use arrow_ord::cmp;
use arrow_schema::{ArrowError, DataType, FieldRef, TimeUnit};
use arrow_select::concat::concat;
use arrow_select::filter::prep_null_mask_filter;

use super::literal::{Converted, DisplayDatum, convert_literal};
use super::partition_eval::is_in_repeated;
use super::predicate::{BoundPredicate, BoundReference, PredicateOperator};
use super::value_eval::{eval_binary, eval_set, eval_unary};
use crate::arrow::field_id_of;
use crate::arrow::schema::UTC;
use crate::spec::{Datum, PrimitiveType, Schema};
use crate::{Error, Result};

/// Sets with more members than this are matched through a hash set rather than one
/// comparison kernel per member.
const HASHED_SET_MIN: usize = 16;

/// Evaluate `pred` (bound to `schema`) on every row of `batch`: `true` where the row
/// matches, never null.
///
/// Fails for a predicate on a field inside a list or map (such fields have no single value
/// per row) and for a column whose Arrow type cannot be compared with the field's literals.
pub fn eval_record_batch(
    pred: &BoundPredicate,
    batch: &RecordBatch,
    schema: &Schema,
) -> Result<BooleanArray> {
    eval_tree(pred, batch, schema)
}

fn constant(value: bool, rows: usize) -> BooleanArray {
    let values = if value {
        BooleanBuffer::new_set(rows)
    } else {
        BooleanBuffer::new_unset(rows)
    };
    BooleanArray::new(values, None)
}

fn eval_tree(pred: &BoundPredicate, batch: &RecordBatch, schema: &Schema) -> Result<BooleanArray> {
    let rows = batch.num_rows();
    match pred {
        BoundPredicate::AlwaysTrue => Ok(constant(true, rows)),
        BoundPredicate::AlwaysFalse => Ok(constant(false, rows)),
        BoundPredicate::And(a, b) => {
            let left = eval_tree(a, batch, schema)?;
            if left.true_count() == 0 {
                return Ok(left);
            }
            and(&left, &eval_tree(b, batch, schema)?).map_err(arrow_error)
        }
        BoundPredicate::Or(a, b) => {
            let left = eval_tree(a, batch, schema)?;
            if left.true_count() == rows {
                return Ok(left);
            }
            or(&left, &eval_tree(b, batch, schema)?).map_err(arrow_error)
        }
        leaf => {
            let Some(term) = leaf.term() else {
                return Ok(constant(false, rows));
            };
            let in_context = |e: Error| e.context(format!("cannot evaluate {leaf}"));
            let mask = match resolve(term, batch, schema).map_err(in_context)? {
                Column::Array(column) => eval_leaf(leaf, term, &column).map_err(in_context)?,
                Column::Constant(value) => {
                    constant(eval_leaf_value(leaf, value.as_ref()) == Some(true), rows)
                }
            };
            // Unknown (null) is no match.
            Ok(if mask.null_count() > 0 {
                prep_null_mask_filter(&mask)
            } else {
                mask
            })
        }
    }
}

/// Where a leaf's values come from.
enum Column {
    /// A column of the batch, with the nulls of enclosing structs.
    Array(ArrayRef),
    /// A column the batch does not have: its initial default, or null.
    Constant(Option<Datum>),
}

fn resolve(term: &BoundReference, batch: &RecordBatch, schema: &Schema) -> Result<Column> {
    let id = term.field_id();
    if is_in_repeated(schema, id) {
        return Err(Error::unsupported(format!(
            "'{}' is inside a list or map, so it has no single value per row",
            term.name()
        )));
    }
    if let Some(column) = find_column(batch.schema_ref().fields(), batch.columns(), id)? {
        return Ok(Column::Array(column));
    }
    let default = schema
        .field_by_id(id)
        .and_then(|f| f.initial_default.as_ref())
        .map(|json| Datum::from_json(json, term.field_type()))
        .transpose()?;
    Ok(Column::Constant(default))
}

/// The column with field id `id`, searching into structs (not lists or maps).
fn find_column(fields: &[FieldRef], columns: &[ArrayRef], id: i32) -> Result<Option<ArrayRef>> {
    for (field, column) in fields.iter().zip(columns) {
        if field_id_of(field) == Some(id) {
            return Ok(Some(column.clone()));
        }
        if let DataType::Struct(children) = field.data_type() {
            let parent = column.as_struct();
            if let Some(child) = find_column(children, parent.columns(), id)? {
                return with_parent_nulls(&child, parent.logical_nulls().as_ref()).map(Some);
            }
        }
    }
    Ok(None)
}

/// `child` with every row null where its parent struct is.
fn with_parent_nulls(child: &ArrayRef, parent: Option<&NullBuffer>) -> Result<ArrayRef> {
    let Some(parent) = parent.filter(|n| n.null_count() > 0) else {
        return Ok(child.clone());
    };
    let nulls = NullBuffer::union(Some(parent), child.logical_nulls().as_ref());
    let data = child
        .to_data()
        .into_builder()
        .nulls(nulls)
        .build()
        .map_err(arrow_error)?;
    Ok(make_array(data))
}

fn eval_leaf_value(leaf: &BoundPredicate, value: Option<&Datum>) -> Option<bool> {
    match leaf {
        BoundPredicate::Unary { op, .. } => eval_unary(*op, value),
        BoundPredicate::Binary { op, literal, .. } => eval_binary(*op, value, literal),
        BoundPredicate::Set { op, literals, .. } => eval_set(*op, value, literals),
        _ => None,
    }
}

fn eval_leaf(
    leaf: &BoundPredicate,
    term: &BoundReference,
    column: &ArrayRef,
) -> Result<BooleanArray> {
    use PredicateOperator::*;
    let column = &plain(column)?;
    Ok(match leaf {
        BoundPredicate::Unary { op, .. } => match op {
            IsNull => is_null(column).map_err(arrow_error)?,
            NotNull => is_not_null(column).map_err(arrow_error)?,
            IsNan => nan_mask(column),
            NotNan => not(&nan_mask(column)).map_err(arrow_error)?,
            other => return Err(Error::invalid(format!("{other} is not a unary operator"))),
        },
        BoundPredicate::Binary { op, literal, .. } => match op {
            StartsWith | NotStartsWith => {
                let Datum::String(prefix) = literal else {
                    return Err(Error::invalid("a prefix test needs a string literal"));
                };
                let mask = prefix_mask(column, prefix)?;
                if *op == NotStartsWith {
                    not(&mask).map_err(arrow_error)?
                } else {
                    mask
                }
            }
            _ => {
                let literal = datum_to_arrow(literal, term.field_type())?;
                let (column, literal) = align(column, literal)?;
                let scalar = Scalar::new(literal);
                let mask = match op {
                    LessThan => cmp::lt(&column, &scalar),
                    LessThanOrEq => cmp::lt_eq(&column, &scalar),
                    GreaterThan => cmp::gt(&column, &scalar),
                    GreaterThanOrEq => cmp::gt_eq(&column, &scalar),
                    Eq => cmp::eq(&column, &scalar),
                    NotEq => cmp::neq(&column, &scalar),
                    other => {
                        return Err(Error::invalid(format!(
                            "{other} does not take a single literal"
                        )));
                    }
                }
                .map_err(arrow_error)?;
                // The kernels order NaN above (or, with the sign bit, below) every number;
                // NaN is neither (see `value_eval`).
                let ordering =
                    matches!(op, LessThan | LessThanOrEq | GreaterThan | GreaterThanOrEq);
                if ordering && is_float(column.data_type()) {
                    let not_nan = not(&nan_mask(&column)).map_err(arrow_error)?;
                    and(&mask, &not_nan).map_err(arrow_error)?
                } else {
                    mask
                }
            }
        },
        BoundPredicate::Set { op, literals, .. } => {
            let set = literals
                .iter()
                .map(|d| datum_to_arrow(d, term.field_type()))
                .collect::<Result<Vec<_>>>()?;
            let set =
                concat(&set.iter().map(|a| a.as_ref()).collect::<Vec<_>>()).map_err(arrow_error)?;
            let (column, set) = align(column, set)?;
            let mask = in_set(&column, &set)?;
            match op {
                In => mask,
                NotIn => not(&mask).map_err(arrow_error)?,
                other => return Err(Error::invalid(format!("{other} does not take a set"))),
            }
        }
        _ => return Err(Error::invalid("not a predicate leaf")),
    })
}

/// The column without dictionary encoding.
fn plain(column: &ArrayRef) -> Result<ArrayRef> {
    match column.data_type() {
        DataType::Dictionary(_, values) => cast(column, values).map_err(arrow_error),
        _ => Ok(column.clone()),
    }
}

fn is_float(t: &DataType) -> bool {
    matches!(t, DataType::Float32 | DataType::Float64)
}

/// Whether each value is NaN (null stays null; non-float columns hold no NaN).
fn nan_mask(column: &ArrayRef) -> BooleanArray {
    match column.data_type() {
        DataType::Float32 => {
            BooleanArray::from_unary(column.as_primitive::<Float32Type>(), |v| v.is_nan())
        }
        DataType::Float64 => {
            BooleanArray::from_unary(column.as_primitive::<Float64Type>(), |v| v.is_nan())
        }
        _ => BooleanArray::new(
            BooleanBuffer::new_unset(column.len()),
            column.logical_nulls(),
        ),
    }
}

fn prefix_mask(column: &ArrayRef, prefix: &str) -> Result<BooleanArray> {
    let test = |v: Option<&str>| v.map(|s| s.starts_with(prefix));
    Ok(match column.data_type() {
        DataType::Utf8 => column.as_string::<i32>().iter().map(test).collect(),
        DataType::LargeUtf8 => column.as_string::<i64>().iter().map(test).collect(),
        DataType::Utf8View => column.as_string_view().iter().map(test).collect(),
        other => {
            return Err(Error::invalid(format!(
                "a prefix test needs a string column, not Arrow {other}"
            )));
        }
    })
}

/// Bring a column and literal values to one Arrow type: the literals take the column's
/// string, binary or time zone flavour; otherwise the column is converted to the field's
/// usual type (widening a column written before a type promotion).
fn align(column: &ArrayRef, literals: ArrayRef) -> Result<(ArrayRef, ArrayRef)> {
    use DataType::*;
    let (ct, lt) = (column.data_type(), literals.data_type());
    if ct == lt {
        return Ok((column.clone(), literals));
    }
    let relabel = match (ct, lt) {
        (Utf8 | LargeUtf8 | Utf8View, Utf8 | LargeUtf8 | Utf8View) => true,
        (Binary | LargeBinary | BinaryView, Binary | LargeBinary | BinaryView) => true,
        (Timestamp(a, _), Timestamp(b, _)) => a == b,
        _ => false,
    };
    if relabel {
        let literals = cast(&literals, ct).map_err(arrow_error)?;
        Ok((column.clone(), literals))
    } else {
        let column = cast(column, lt).map_err(|e| {
            Error::invalid(format!(
                "the column's Arrow type {ct} cannot be compared with {lt}: {e}"
            ))
            .with_source(e)
        })?;
        Ok((column, literals))
    }
}

/// Whether each value is one of `set` (same Arrow type as the column); null stays null.
fn in_set(column: &ArrayRef, set: &ArrayRef) -> Result<BooleanArray> {
    if set.len() >= HASHED_SET_MIN
        && let Some(mask) = hashed_in_set(column, set)
    {
        return Ok(mask);
    }
    let mut out: Option<BooleanArray> = None;
    for i in 0..set.len() {
        let eq = cmp::eq(column, &Scalar::new(set.slice(i, 1))).map_err(arrow_error)?;
        out = Some(match out {
            None => eq,
            Some(acc) => or(&acc, &eq).map_err(arrow_error)?,
        });
    }
    Ok(out.unwrap_or_else(|| {
        BooleanArray::new(
            BooleanBuffer::new_unset(column.len()),
            column.logical_nulls(),
        )
    }))
}

fn hashed_in_set(column: &ArrayRef, set: &ArrayRef) -> Option<BooleanArray> {
    use DataType::*;
    Some(match column.data_type() {
        Int32 => hashed_primitive::<Int32Type>(column, set),
        Int64 => hashed_primitive::<Int64Type>(column, set),
        Date32 => hashed_primitive::<Date32Type>(column, set),
        Time64(TimeUnit::Microsecond) => hashed_primitive::<Time64MicrosecondType>(column, set),
        Timestamp(TimeUnit::Microsecond, _) => {
            hashed_primitive::<TimestampMicrosecondType>(column, set)
        }
        Timestamp(TimeUnit::Nanosecond, _) => {
            hashed_primitive::<TimestampNanosecondType>(column, set)
        }
        Decimal128(_, _) => hashed_primitive::<Decimal128Type>(column, set),
        Utf8 => {
            let members: HashSet<&str> = set.as_string::<i32>().iter().flatten().collect();
            column
                .as_string::<i32>()
                .iter()
                .map(|v| v.map(|s| members.contains(s)))
                .collect()
        }
        LargeUtf8 => {
            let members: HashSet<&str> = set.as_string::<i64>().iter().flatten().collect();
            column
                .as_string::<i64>()
                .iter()
                .map(|v| v.map(|s| members.contains(s)))
                .collect()
        }
        LargeBinary => {
            let members: HashSet<&[u8]> = set.as_binary::<i64>().iter().flatten().collect();
            column
                .as_binary::<i64>()
                .iter()
                .map(|v| v.map(|b| members.contains(b)))
                .collect()
        }
        _ => return None,
    })
}

fn hashed_primitive<T: ArrowPrimitiveType>(column: &ArrayRef, set: &ArrayRef) -> BooleanArray
where
    T::Native: Hash + Eq,
{
    let members: HashSet<T::Native> = set.as_primitive::<T>().iter().flatten().collect();
    BooleanArray::from_unary(column.as_primitive::<T>(), |v| members.contains(&v))
}

/// `datum` as a one-element Arrow array of the Arrow type Floe uses for `ty` (see
/// [`crate::arrow`]). The value is first converted to `ty` where that is lossless (an int
/// for a long column); other mismatches are errors.
pub fn datum_to_arrow(datum: &Datum, ty: &PrimitiveType) -> Result<ArrayRef> {
    let value = match convert_literal(datum, ty) {
        Ok(Converted::Value(v)) => v,
        Ok(_) => {
            return Err(Error::invalid(format!(
                "the value {} is out of range for {ty}",
                DisplayDatum(datum)
            )));
        }
        Err(why) => {
            return Err(Error::invalid(format!(
                "cannot use the value {} as a {ty}: {why}",
                DisplayDatum(datum)
            )));
        }
    };
    Ok(match (value, ty) {
        (Datum::Boolean(b), _) => Arc::new(BooleanArray::from(vec![b])),
        (Datum::Int(v), _) => Arc::new(Int32Array::from(vec![v])),
        (Datum::Long(v), _) => Arc::new(Int64Array::from(vec![v])),
        (Datum::Float(v), _) => Arc::new(Float32Array::from(vec![v])),
        (Datum::Double(v), _) => Arc::new(Float64Array::from(vec![v])),
        (Datum::Decimal { unscaled, .. }, PrimitiveType::Decimal { precision, scale }) => {
            let (p, s) = match (u8::try_from(*precision), i8::try_from(*scale)) {
                (Ok(p), Ok(s)) => (p, s),
                _ => return Err(Error::invalid(format!("{ty} has no Arrow type"))),
            };
            Arc::new(
                Decimal128Array::from(vec![unscaled])
                    .with_precision_and_scale(p, s)
                    .map_err(arrow_error)?,
            )
        }
        (Datum::Date(v), _) => Arc::new(Date32Array::from(vec![v])),
        (Datum::Time(v), _) => Arc::new(Time64MicrosecondArray::from(vec![v])),
        (Datum::Timestamp(v), _) => Arc::new(TimestampMicrosecondArray::from(vec![v])),
        (Datum::Timestamptz(v), _) => {
            Arc::new(TimestampMicrosecondArray::from(vec![v]).with_timezone(UTC))
        }
        (Datum::TimestampNs(v), _) => Arc::new(TimestampNanosecondArray::from(vec![v])),
        (Datum::TimestamptzNs(v), _) => {
            Arc::new(TimestampNanosecondArray::from(vec![v]).with_timezone(UTC))
        }
        (Datum::String(s), _) => Arc::new(StringArray::from(vec![s])),
        (Datum::Uuid(u), _) => Arc::new(
            FixedSizeBinaryArray::try_from_iter(std::iter::once(u.as_bytes()))
                .map_err(arrow_error)?,
        ),
        (Datum::Fixed(b), PrimitiveType::Fixed(len)) => {
            let size = i32::try_from(*len)
                .map_err(|_| Error::invalid(format!("{ty} has no Arrow type")))?;
            Arc::new(
                FixedSizeBinaryArray::try_from_sparse_iter_with_size(
                    std::iter::once(Some(b)),
                    size,
                )
                .map_err(arrow_error)?,
            )
        }
        (Datum::Binary(b), _) => Arc::new(LargeBinaryArray::from_vec(vec![b.as_slice()])),
        (other, _) => {
            return Err(Error::invalid(format!(
                "cannot use the value {} as a {ty}",
                DisplayDatum(&other)
            )));
        }
    })
}

fn arrow_error(e: ArrowError) -> Error {
    Error::invalid(format!("Arrow compute failed: {e}")).with_source(e)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arrow::{FIELD_ID_KEY, iceberg_schema_to_arrow, iceberg_type_to_arrow};
    use crate::expr::{Predicate, Reference};
    use crate::spec::{ListType, NestedField, StructType, Type};
    use arrow_array::{DictionaryArray, LargeStringArray, StructArray, new_null_array};
    use arrow_schema::{Field, Schema as ArrowSchema};
    use std::collections::HashMap;
    use uuid::Uuid;

    /// A column of `ty` values (None for null) in Floe's Arrow type.
    pub(crate) fn column(values: &[Option<Datum>], ty: &PrimitiveType) -> ArrayRef {
        let dt = iceberg_type_to_arrow(&Type::Primitive(*ty)).unwrap();
        let parts: Vec<ArrayRef> = values
            .iter()
            .map(|v| match v {
                Some(d) => datum_to_arrow(d, ty).unwrap(),
                None => new_null_array(&dt, 1),
            })
            .collect();
        if parts.is_empty() {
            return new_null_array(&dt, 0);
        }
        concat(&parts.iter().map(|a| a.as_ref()).collect::<Vec<_>>()).unwrap()
    }

    fn schema() -> Schema {
        use PrimitiveType as P;
        let mut added = NestedField::optional(10, "added", P::Int);
        added.initial_default = Some(serde_json::json!(7));
        Schema::builder()
            .with_fields([
                NestedField::required(1, "id", P::Int),
                NestedField::optional(2, "name", P::String),
                NestedField::optional(3, "score", P::Double),
                NestedField::optional(
                    4,
                    "location",
                    Type::Struct(StructType::new(vec![
                        NestedField::required(5, "lat", P::Double),
                        NestedField::optional(6, "city", P::String),
                    ])),
                ),
                NestedField::optional(
                    7,
                    "tags",
                    Type::List(ListType::new(8, P::String.into(), false)),
                ),
                added,
                NestedField::optional(11, "added2", P::String),
                NestedField::optional(12, "big", P::Long),
                NestedField::optional(13, "ts", P::Timestamptz),
            ])
            .build()
            .unwrap()
    }

    const NAN: f64 = f64::NAN;

    /// Six rows; `added` and `added2` are missing, `big` is stored as Int32 (written before
    /// a promotion), `name` as LargeUtf8, `ts` with a "UTC" zone label.
    fn batch() -> RecordBatch {
        use PrimitiveType as P;
        let s = |v: &str| Some(Datum::String(v.into()));
        let d = |v: f64| Some(Datum::Double(v));
        let id = column(
            &(1..=6).map(|v| Some(Datum::Int(v))).collect::<Vec<_>>(),
            &P::Int,
        );
        let names = ["abc", "abd", "", "b", "x"];
        let name: ArrayRef = Arc::new(LargeStringArray::from(vec![
            Some(names[0]),
            Some(names[1]),
            None,
            Some(names[2]),
            Some(names[3]),
            Some(names[4]),
        ]));
        let score = column(
            &[d(1.0), d(NAN), d(-NAN), None, d(-0.0), d(0.0)],
            &P::Double,
        );
        let lat = column(
            &[d(1.0), d(2.0), d(3.0), d(4.0), d(5.0), d(6.0)],
            &P::Double,
        );
        let city = column(&[s("a"), None, s("c"), s("d"), s("e"), s("f")], &P::String);
        let arrow = iceberg_schema_to_arrow(&schema()).unwrap();
        let DataType::Struct(loc_fields) = arrow.field(3).data_type().clone() else {
            panic!()
        };
        // location is null in row 2 (0-based), where lat still holds a value.
        let location: ArrayRef = Arc::new(
            StructArray::try_new(
                loc_fields,
                vec![lat, city],
                Some(NullBuffer::from(vec![true, true, false, true, true, true])),
            )
            .unwrap(),
        );
        let tags = new_null_array(arrow.field(4).data_type(), 6);
        let big = column(
            &[1, -1, 100, 0, 5, i32::MAX].map(|v| Some(Datum::Int(v))),
            &P::Int,
        );
        let ts: ArrayRef = Arc::new(
            TimestampMicrosecondArray::from(vec![0, 10, 20, 30, 40, 50]).with_timezone("UTC"),
        );
        let with_id = |f: &Field, dt: DataType| {
            Arc::new(Field::new(f.name(), dt, true).with_metadata(f.metadata().clone())) as FieldRef
        };
        let fields: Vec<FieldRef> = vec![
            arrow.fields()[0].clone(),
            with_id(arrow.field(1), DataType::LargeUtf8),
            arrow.fields()[2].clone(),
            arrow.fields()[3].clone(),
            arrow.fields()[4].clone(),
            with_id(arrow.field(7), DataType::Int32),
            with_id(arrow.field(8), ts.data_type().clone()),
        ];
        RecordBatch::try_new(
            Arc::new(ArrowSchema::new(fields)),
            vec![id, name, score, location, tags, big, ts],
        )
        .unwrap()
    }

    fn eval(p: Predicate) -> Vec<bool> {
        let bound = p.bind(&schema(), true).unwrap();
        let mask = eval_record_batch(&bound, &batch(), &schema()).unwrap();
        assert_eq!(mask.null_count(), 0);
        mask.iter().map(|v| v.unwrap()).collect()
    }

    fn col(n: &str) -> Reference {
        Reference::new(n)
    }

    const T: bool = true;
    const F: bool = false;

    #[test]
    fn comparisons_with_nulls_and_nans() {
        let d = Datum::Double;
        assert_eq!(eval(col("score").less_than(d(0.5))), [F, F, F, F, T, T]);
        assert_eq!(eval(col("score").greater_than(d(0.5))), [T, F, F, F, F, F]);
        assert_eq!(
            eval(col("score").greater_than_or_eq(d(-1.0))),
            [T, F, F, F, T, T]
        );
        assert_eq!(
            eval(col("score").less_than_or_eq(d(9.0))),
            [T, F, F, F, T, T]
        );
        assert_eq!(eval(col("score").equal_to(d(0.0))), [F, F, F, F, F, T]);
        assert_eq!(eval(col("score").not_equal_to(d(0.0))), [T, T, T, F, T, F]);
        assert_eq!(eval(col("score").is_nan()), [F, T, T, F, F, F]);
        assert_eq!(eval(col("score").is_not_nan()), [T, F, F, F, T, T]);
        assert_eq!(eval(col("score").is_null()), [F, F, F, T, F, F]);
        assert_eq!(eval(col("score").is_not_null()), [T, T, T, F, T, T]);
        assert_eq!(
            eval(col("score").is_in([d(1.0), d(0.0)])),
            [T, F, F, F, F, T]
        );
        assert_eq!(
            eval(col("score").is_not_in([d(1.0), d(0.0)])),
            [F, T, T, F, T, F]
        );
    }

    #[test]
    fn prefix_tests_on_large_strings() {
        assert_eq!(eval(col("name").starts_with("ab")), [T, T, F, F, F, F]);
        assert_eq!(eval(col("name").not_starts_with("ab")), [F, F, F, T, T, T]);
        assert_eq!(eval(col("name").starts_with("")), [T, T, F, T, T, T]);
        let s = |v: &str| Datum::String(v.into());
        assert_eq!(eval(col("name").less_than(s("abd"))), [T, F, F, T, F, F]);
        assert_eq!(
            eval(col("name").is_in([s("b"), s("x")])),
            [F, F, F, F, T, T]
        );
    }

    #[test]
    fn struct_fields_are_null_where_the_struct_is() {
        let d = Datum::Double;
        assert_eq!(eval(col("location.lat").is_null()), [F, F, T, F, F, F]);
        assert_eq!(
            eval(col("location.lat").greater_than(d(1.5))),
            [F, T, F, T, T, T]
        );
        assert_eq!(eval(col("location.city").is_null()), [F, T, T, F, F, F]);
        assert_eq!(
            eval(col("location.city").not_equal_to(Datum::String("a".into()))),
            [F, F, F, T, T, T]
        );
    }

    #[test]
    fn and_or_treat_unknown_as_no_match() {
        let d = Datum::Double;
        assert_eq!(
            eval(
                col("score")
                    .not_equal_to(d(1.0))
                    .or(col("id").equal_to(Datum::Int(4)))
            ),
            [F, T, T, T, T, T]
        );
        assert_eq!(
            eval(
                col("score")
                    .is_null()
                    .and(col("id").greater_than(Datum::Int(3)))
            ),
            [F, F, F, T, F, F]
        );
        assert_eq!(eval(Predicate::AlwaysTrue), [T; 6]);
        assert_eq!(eval(Predicate::AlwaysFalse), [F; 6]);
        // Negation is pushed to the leaves when binding (`not <` is `>=`), so null and NaN
        // rows match neither a comparison nor its negation.
        assert_eq!(eval(!col("score").less_than(d(0.5))), [T, F, F, F, F, F]);
        assert_eq!(eval(!col("score").is_in([d(1.0)])), [F, T, T, F, T, T]);
    }

    #[test]
    fn missing_columns_read_as_their_initial_default_or_null() {
        let i = Datum::Int;
        assert_eq!(eval(col("added").equal_to(i(7))), [T; 6]);
        assert_eq!(eval(col("added").is_null()), [F; 6]);
        assert_eq!(eval(col("added").less_than(i(7))), [F; 6]);
        assert_eq!(eval(col("added2").is_null()), [T; 6]);
        assert_eq!(
            eval(col("added2").not_equal_to(Datum::String("a".into()))),
            [F; 6]
        );
    }

    #[test]
    fn columns_written_before_a_promotion_or_with_other_labels_compare() {
        let l = Datum::Long;
        assert_eq!(eval(col("big").greater_than(l(4))), [F, F, T, F, T, T]);
        assert_eq!(eval(col("big").less_than(l(1 << 40))), [T; 6]);
        assert_eq!(
            eval(col("big").equal_to(l(i64::from(i32::MAX)))),
            [F, F, F, F, F, T]
        );
        assert_eq!(
            eval(col("big").is_in((0..40).map(l))),
            [T, F, F, T, T, F],
            "hashed set"
        );
        let ts = Datum::Timestamptz;
        assert_eq!(
            eval(col("ts").greater_than_or_eq(ts(20))),
            [F, F, T, T, T, T]
        );
        assert_eq!(eval(col("ts").is_in([ts(0), ts(50)])), [T, F, F, F, F, T]);
    }

    #[test]
    fn dictionary_columns_compare_by_value() {
        let s = Schema::builder()
            .with_fields([NestedField::optional(1, "c", PrimitiveType::String)])
            .build()
            .unwrap();
        let dict: DictionaryArray<Int32Type> = vec![Some("a"), None, Some("b"), Some("a")]
            .into_iter()
            .collect();
        let field = Field::new("c", dict.data_type().clone(), true)
            .with_metadata(HashMap::from([(FIELD_ID_KEY.to_string(), "1".to_string())]));
        let batch = RecordBatch::try_new(
            Arc::new(ArrowSchema::new(vec![field])),
            vec![Arc::new(dict)],
        )
        .unwrap();
        let run = |p: Predicate| -> Vec<bool> {
            let b = p.bind(&s, true).unwrap();
            let m = eval_record_batch(&b, &batch, &s).unwrap();
            m.iter().map(|v| v.unwrap()).collect()
        };
        let a = Datum::String("a".into());
        assert_eq!(run(col("c").equal_to(a.clone())), [T, F, F, T]);
        assert_eq!(run(col("c").not_equal_to(a)), [F, F, T, F]);
        assert_eq!(run(col("c").starts_with("b")), [F, F, T, F]);
        assert_eq!(run(col("c").is_null()), [F, T, F, F]);
    }

    #[test]
    fn fields_inside_lists_are_refused() {
        let bound = col("tags.element")
            .equal_to(Datum::String("a".into()))
            .bind(&schema(), true)
            .unwrap();
        let err = eval_record_batch(&bound, &batch(), &schema()).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::FeatureUnsupported);
        assert!(err.message().contains("tags.element"), "{err}");
    }

    fn samples() -> Vec<(PrimitiveType, [Datum; 3])> {
        use PrimitiveType as P;
        let uuid = |b: u8| Datum::Uuid(Uuid::from_bytes([b; 16]));
        let dec = |v: i128| Datum::Decimal {
            unscaled: v,
            precision: 9,
            scale: 2,
        };
        vec![
            (
                P::Boolean,
                [
                    Datum::Boolean(false),
                    Datum::Boolean(true),
                    Datum::Boolean(true),
                ],
            ),
            (P::Int, [Datum::Int(-3), Datum::Int(0), Datum::Int(7)]),
            (
                P::Long,
                [Datum::Long(-3), Datum::Long(0), Datum::Long(1 << 40)],
            ),
            (
                P::Float,
                [Datum::Float(-1.5), Datum::Float(0.0), Datum::Float(2.5)],
            ),
            (
                P::Double,
                [
                    Datum::Double(-0.0),
                    Datum::Double(0.0),
                    Datum::Double(1e300),
                ],
            ),
            (
                P::Decimal {
                    precision: 9,
                    scale: 2,
                },
                [dec(-100), dec(5), dec(123_456)],
            ),
            (
                P::Date,
                [Datum::Date(-10), Datum::Date(0), Datum::Date(19_000)],
            ),
            (
                P::Time,
                [Datum::Time(0), Datum::Time(5), Datum::Time(86_399_999_999)],
            ),
            (
                P::Timestamp,
                [
                    Datum::Timestamp(-5),
                    Datum::Timestamp(0),
                    Datum::Timestamp(5),
                ],
            ),
            (
                P::Timestamptz,
                [
                    Datum::Timestamptz(-5),
                    Datum::Timestamptz(0),
                    Datum::Timestamptz(9),
                ],
            ),
            (
                P::TimestampNs,
                [
                    Datum::TimestampNs(-5),
                    Datum::TimestampNs(1),
                    Datum::TimestampNs(9),
                ],
            ),
            (
                P::TimestamptzNs,
                [
                    Datum::TimestamptzNs(-5),
                    Datum::TimestamptzNs(1),
                    Datum::TimestamptzNs(9),
                ],
            ),
            (
                P::String,
                [
                    Datum::String("".into()),
                    Datum::String("é".into()),
                    Datum::String("z".into()),
                ],
            ),
            (P::Uuid, [uuid(1), uuid(2), uuid(255)]),
            (
                P::Fixed(2),
                [
                    Datum::Fixed(vec![0, 1]),
                    Datum::Fixed(vec![0, 2]),
                    Datum::Fixed(vec![9, 0]),
                ],
            ),
            (
                P::Binary,
                [
                    Datum::Binary(vec![]),
                    Datum::Binary(vec![0]),
                    Datum::Binary(vec![1, 0]),
                ],
            ),
        ]
    }

    #[test]
    fn datum_to_arrow_gives_floes_arrow_type_for_every_primitive() {
        for (ty, values) in samples() {
            let expected = iceberg_type_to_arrow(&Type::Primitive(ty)).unwrap();
            for v in &values {
                let a = datum_to_arrow(v, &ty).unwrap();
                assert_eq!(a.data_type(), &expected, "{ty}");
                assert_eq!(a.len(), 1);
            }
        }
        // Lossless conversion to the column type; lossy is refused.
        let a = datum_to_arrow(&Datum::Int(3), &PrimitiveType::Long).unwrap();
        assert_eq!(a.as_primitive::<Int64Type>().value(0), 3);
        assert!(datum_to_arrow(&Datum::String("x".into()), &PrimitiveType::Int).is_err());
        assert!(datum_to_arrow(&Datum::Long(1 << 40), &PrimitiveType::Int).is_err());
    }

    #[test]
    fn every_operator_on_every_type_agrees_with_value_semantics() {
        use PredicateOperator::*;
        for (ty, values) in samples() {
            let schema = Schema::builder()
                .with_fields([NestedField::optional(1, "c", ty)])
                .build()
                .unwrap();
            let rows: Vec<Option<Datum>> = values.iter().cloned().map(Some).chain([None]).collect();
            let arrow = iceberg_schema_to_arrow(&schema).unwrap();
            let batch = RecordBatch::try_new(Arc::new(arrow), vec![column(&rows, &ty)]).unwrap();
            let term = BoundReference::new(1, "c", ty, false);
            let mut preds = Vec::new();
            for literal in &values {
                for op in [
                    LessThan,
                    LessThanOrEq,
                    GreaterThan,
                    GreaterThanOrEq,
                    Eq,
                    NotEq,
                ] {
                    preds.push(BoundPredicate::Binary {
                        op,
                        term: term.clone(),
                        literal: literal.clone(),
                    });
                }
            }
            for op in [In, NotIn] {
                preds.push(BoundPredicate::Set {
                    op,
                    term: term.clone(),
                    literals: values[..2].to_vec(),
                });
            }
            for op in [IsNull, NotNull] {
                preds.push(BoundPredicate::Unary {
                    op,
                    term: term.clone(),
                });
            }
            for pred in preds {
                let got = eval_record_batch(&pred, &batch, &schema).unwrap();
                for (row, value) in rows.iter().enumerate() {
                    let want = eval_leaf_value(&pred, value.as_ref()) == Some(true);
                    assert_eq!(got.value(row), want, "{ty}: {pred} on {value:?}");
                }
            }
        }
    }

    #[test]
    fn large_sets_agree_with_small_ones() {
        let ty = PrimitiveType::String;
        let schema = Schema::builder()
            .with_fields([NestedField::optional(1, "c", ty)])
            .build()
            .unwrap();
        let rows: Vec<Option<Datum>> = (0..50)
            .map(|i| (i % 7 != 0).then(|| Datum::String(format!("v{}", i % 23))))
            .collect();
        let batch = RecordBatch::try_new(
            Arc::new(iceberg_schema_to_arrow(&schema).unwrap()),
            vec![column(&rows, &ty)],
        )
        .unwrap();
        let lits: Vec<Datum> = (0..30)
            .map(|i| Datum::String(format!("v{}", i * 2)))
            .collect();
        let p = Reference::new("c").is_in(lits).bind(&schema, true).unwrap();
        let got = eval_record_batch(&p, &batch, &schema).unwrap();
        for (row, value) in rows.iter().enumerate() {
            let want = eval_leaf_value(&p, value.as_ref()) == Some(true);
            assert_eq!(got.value(row), want, "row {row}");
        }
    }
}
