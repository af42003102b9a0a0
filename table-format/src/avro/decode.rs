//! Decoding plans: the writer's schema compiled, field by field-id, into the fields of Floe's
//! manifest structs.
//!
//! A plan is built once per file ([`EntryPlan::compile`], [`ManifestFilePlan::compile`]) from
//! the resolved writer schema. It lists the writer's fields in writer order, each tagged with
//! the struct field it fills (found by Iceberg `field-id`, so field order and names do not
//! matter) or marked to be skipped (fields Floe does not know, such as v1's
//! `block_size_in_bytes` or another writer's extras). Types are checked while compiling, so
//! decoding is a tight loop over the plan that reads each value straight into its place:
//! no generic value tree.
//!
//! Writers differ in small ways that the plans absorb: optional fields as `["null", T]` or
//! `[T, "null"]` (or not a union at all), `int` written where `long` is read (type promotion),
//! int-keyed maps as arrays of key/value records (Iceberg's `logicalType: map`) or, from other
//! writers, as string-keyed Avro maps, `equality_ids` as `long`s (pyiceberg), and decimals as
//! `fixed` or `bytes`.

use super::binary::Cursor;
use super::schema::{Field, Logical, Node, Record};
use crate::spec::manifest::{
    DataContentType, DataFile, DataFileFormat, FieldSummary, ManifestContentType, ManifestEntry,
    ManifestFile, ManifestStatus,
};
use crate::spec::types::{PrimitiveType, StructType};
use crate::spec::values::Datum;
use crate::{Error, Result};

// ---------------------------------------------------------------------------------------------
// Shapes of writer values
// ---------------------------------------------------------------------------------------------

/// The primitive Floe reads from a writer value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Want {
    Bool,
    Int,
    /// `long`, or `int` promoted.
    Long,
    Str,
    /// `bytes`, `fixed` or `string`.
    Bytes,
}

fn accepts(want: Want, n: &Node) -> bool {
    match (want, n) {
        (_, Node::Null) => true,
        (_, Node::Union(b)) => b.iter().all(|b| accepts(want, b)),
        (Want::Bool, Node::Boolean) => true,
        (Want::Int, Node::Int(_)) => true,
        (Want::Long, Node::Int(_) | Node::Long(_)) => true,
        (Want::Str, Node::String(_) | Node::Bytes(_)) => true,
        (Want::Bytes, Node::Bytes(_) | Node::Fixed(..) | Node::String(_)) => true,
        _ => false,
    }
}

fn check(want: Want, field: &Field, record: &str) -> Result<()> {
    if accepts(want, &field.node) {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "field '{}' (id {}) of Avro record '{record}' has type {}, which cannot be read as {}",
            field.name,
            field.id.unwrap_or_default(),
            field.node.describe(),
            match want {
                Want::Bool => "boolean",
                Want::Int => "int",
                Want::Long => "long",
                Want::Str => "string",
                Want::Bytes => "bytes",
            }
        )))
    }
}

#[cold]
#[inline(never)]
fn shape_err(n: &Node) -> Error {
    Error::invalid(format!("unexpected Avro type {} for a value", n.describe()))
}

#[inline]
fn read_long(c: &mut Cursor<'_>, n: &Node) -> Result<Option<i64>> {
    match n {
        Node::Long(_) => c.long().map(Some),
        Node::Int(_) => c.int().map(|v| Some(i64::from(v))),
        Node::Null => Ok(None),
        Node::Union(b) => {
            let i = c.branch(b.len())?;
            read_long(c, &b[i])
        }
        other => Err(shape_err(other)),
    }
}

#[inline]
fn read_int(c: &mut Cursor<'_>, n: &Node) -> Result<Option<i32>> {
    match n {
        Node::Int(_) => c.int().map(Some),
        Node::Null => Ok(None),
        Node::Union(b) => {
            let i = c.branch(b.len())?;
            read_int(c, &b[i])
        }
        other => Err(shape_err(other)),
    }
}

#[inline]
fn read_bool(c: &mut Cursor<'_>, n: &Node) -> Result<Option<bool>> {
    match n {
        Node::Boolean => c.boolean().map(Some),
        Node::Null => Ok(None),
        Node::Union(b) => {
            let i = c.branch(b.len())?;
            read_bool(c, &b[i])
        }
        other => Err(shape_err(other)),
    }
}

#[inline]
fn read_str<'a>(c: &mut Cursor<'a>, n: &Node) -> Result<Option<&'a str>> {
    match n {
        Node::String(_) | Node::Bytes(_) => c.str().map(Some),
        Node::Null => Ok(None),
        Node::Union(b) => {
            let i = c.branch(b.len())?;
            read_str(c, &b[i])
        }
        other => Err(shape_err(other)),
    }
}

#[inline]
fn read_bytes<'a>(c: &mut Cursor<'a>, n: &Node) -> Result<Option<&'a [u8]>> {
    match n {
        Node::Bytes(_) | Node::String(_) => c.bytes().map(Some),
        Node::Fixed(len, _) => c.take(*len).map(Some),
        Node::Null => Ok(None),
        Node::Union(b) => {
            let i = c.branch(b.len())?;
            read_bytes(c, &b[i])
        }
        other => Err(shape_err(other)),
    }
}

/// Skip one value of type `n`.
pub(crate) fn skip(c: &mut Cursor<'_>, n: &Node) -> Result<()> {
    match n {
        Node::Null => Ok(()),
        Node::Boolean => c.take(1).map(drop),
        Node::Int(_) | Node::Long(_) | Node::Enum(_) => c.long().map(drop),
        Node::Float => c.take(4).map(drop),
        Node::Double => c.take(8).map(drop),
        Node::Bytes(_) | Node::String(_) => c.bytes().map(drop),
        Node::Fixed(len, _) => c.take(*len).map(drop),
        Node::Union(b) => {
            let i = c.branch(b.len())?;
            skip(c, &b[i])
        }
        Node::Record(r) => r.fields.iter().try_for_each(|f| skip(c, &f.node)),
        Node::Array(_) | Node::Map(_) => {
            let (item, is_map) = match n {
                Node::Array(i) => (&**i, false),
                Node::Map(v) => (&**v, true),
                _ => unreachable!("matched above"),
            };
            let min = item.min_size() + usize::from(is_map);
            loop {
                let (count, size) = c.block_count_and_size()?;
                if count == 0 {
                    return Ok(());
                }
                if let Some(size) = size {
                    c.take(size)?;
                    continue;
                }
                let budget = (c.remaining() / min.max(1)).max(if min == 0 { 1 << 20 } else { 0 });
                if count > budget as u64 {
                    return Err(Error::invalid(format!(
                        "invalid Avro block: {count} items claimed but only {} bytes remain",
                        c.remaining()
                    )));
                }
                for _ in 0..count {
                    if is_map {
                        c.bytes()?;
                    }
                    skip(c, item)?;
                }
            }
        }
    }
}

/// A writer type compiled for skipping: records flattened into their fields, so that skipping
/// a value (an unread column-statistics map, say) is a tight loop over a few ops instead of a
/// walk of the schema tree per value.
#[derive(Debug, Clone)]
enum SkipOp {
    /// A fixed number of bytes (boolean, float, double, fixed).
    Bytes(usize),
    /// A varint (int, long, enum).
    Varint,
    /// A length and that many bytes (bytes, string).
    Sized,
    /// A branch index, then that branch.
    Union(Vec<Vec<SkipOp>>),
    /// Blocks of items (arrays; maps with a key before each item). `min` is an item's least
    /// size, to refuse counts the remaining bytes cannot hold.
    Blocks {
        item: Vec<SkipOp>,
        map: bool,
        min: usize,
    },
}

/// Compile `n` for [`skip_ops`].
fn skip_plan(n: &Node, out: &mut Vec<SkipOp>) {
    match n {
        Node::Null => {}
        Node::Boolean => out.push(SkipOp::Bytes(1)),
        Node::Float => out.push(SkipOp::Bytes(4)),
        Node::Double => out.push(SkipOp::Bytes(8)),
        Node::Fixed(len, _) => out.push(SkipOp::Bytes(*len)),
        Node::Int(_) | Node::Long(_) | Node::Enum(_) => out.push(SkipOp::Varint),
        Node::Bytes(_) | Node::String(_) => out.push(SkipOp::Sized),
        Node::Union(b) => out.push(SkipOp::Union(
            b.iter()
                .map(|b| {
                    let mut ops = Vec::new();
                    skip_plan(b, &mut ops);
                    ops
                })
                .collect(),
        )),
        Node::Record(r) => r.fields.iter().for_each(|f| skip_plan(&f.node, out)),
        Node::Array(item) | Node::Map(item) => {
            let map = matches!(n, Node::Map(_));
            let mut ops = Vec::new();
            skip_plan(item, &mut ops);
            out.push(SkipOp::Blocks {
                item: ops,
                map,
                min: item.min_size() + usize::from(map),
            });
        }
    }
}

/// Skip one value compiled by [`skip_plan`].
fn skip_ops(c: &mut Cursor<'_>, ops: &[SkipOp]) -> Result<()> {
    for op in ops {
        match op {
            SkipOp::Bytes(n) => {
                c.take(*n)?;
            }
            SkipOp::Varint => c.skip_varint()?,
            SkipOp::Sized => {
                c.bytes()?;
            }
            SkipOp::Union(branches) => {
                let i = c.branch(branches.len())?;
                skip_ops(c, &branches[i])?;
            }
            SkipOp::Blocks { item, map, min } => loop {
                let (count, size) = c.block_count_and_size()?;
                if count == 0 {
                    break;
                }
                if let Some(size) = size {
                    c.take(size)?;
                    continue;
                }
                let budget =
                    (c.remaining() / (*min).max(1)).max(if *min == 0 { 1 << 20 } else { 0 });
                if count > budget as u64 {
                    return Err(Error::invalid(format!(
                        "invalid Avro block: {count} items claimed but only {} bytes remain",
                        c.remaining()
                    )));
                }
                // Items of varints only (the metric maps' key-count pairs) are one run.
                if !*map && item.iter().all(|op| matches!(op, SkipOp::Varint)) {
                    let n = usize::try_from(count)
                        .ok()
                        .and_then(|c| c.checked_mul(item.len()))
                        .ok_or_else(|| Error::invalid("invalid Avro block: too many items"))?;
                    c.skip_varints(n)?;
                    continue;
                }
                for _ in 0..count {
                    if *map {
                        c.bytes()?;
                    }
                    skip_ops(c, item)?;
                }
            },
        }
    }
    Ok(())
}

/// How a field holding a complex value (record, array, map) may be null: not at all, or as
/// one branch of a union whose other branch holds the value.
#[derive(Debug, Clone, Copy)]
enum Nullability {
    Required,
    Union {
        branches: usize,
        null: usize,
        value: usize,
    },
}

impl Nullability {
    /// Split `node` into its nullability and the non-null type.
    fn of<'n>(node: &'n Node, what: &str) -> Result<(Nullability, &'n Node)> {
        match node {
            Node::Union(b) => {
                let nulls: Vec<usize> = (0..b.len()).filter(|&i| b[i] == Node::Null).collect();
                let values: Vec<usize> = (0..b.len()).filter(|&i| b[i] != Node::Null).collect();
                match (nulls.as_slice(), values.as_slice()) {
                    ([null], [value]) => Ok((
                        Nullability::Union {
                            branches: b.len(),
                            null: *null,
                            value: *value,
                        },
                        &b[*value],
                    )),
                    ([], [value]) => Ok((
                        Nullability::Union {
                            branches: b.len(),
                            null: usize::MAX,
                            value: *value,
                        },
                        &b[*value],
                    )),
                    _ => Err(Error::invalid(format!(
                        "{what} has the union type {}; expected a type or [\"null\", type]",
                        node.describe()
                    ))),
                }
            }
            other => Ok((Nullability::Required, other)),
        }
    }

    /// Read the union branch, if any: whether a value follows.
    #[inline]
    fn present(self, c: &mut Cursor<'_>) -> Result<bool> {
        match self {
            Nullability::Required => Ok(true),
            Nullability::Union {
                branches,
                null,
                value,
            } => {
                let i = c.branch(branches)?;
                if i == value {
                    Ok(true)
                } else {
                    debug_assert_eq!(i, null);
                    Ok(false)
                }
            }
        }
    }
}

fn field_id(f: &Field, record: &str) -> Result<i32> {
    f.id.ok_or_else(|| {
        Error::invalid(format!(
            "field '{}' of Avro record '{record}' has no field-id; Iceberg manifests are read by \
             field id, so this file was not written by an Iceberg writer",
            f.name
        ))
    })
}

fn as_record<'n>(n: &'n Node, what: &str) -> Result<&'n Record> {
    match n {
        Node::Record(r) => Ok(r),
        other => Err(Error::invalid(format!(
            "{what} must be an Avro record, found {}",
            other.describe()
        ))),
    }
}

fn no_dup(seen: &mut Vec<i32>, id: i32, record: &str) -> Result<()> {
    if seen.contains(&id) {
        return Err(Error::invalid(format!(
            "Avro record '{record}' has field-id {id} twice"
        )));
    }
    seen.push(id);
    Ok(())
}

fn missing(what: &str, id: i32, record: &str) -> Error {
    Error::invalid(format!(
        "Avro record '{record}' has no field with field-id {id} ({what}), which is required"
    ))
}

#[cold]
#[inline(never)]
fn null_err(what: &str) -> Error {
    Error::invalid(format!("required field {what} is null"))
}

// ---------------------------------------------------------------------------------------------
// Int-keyed maps and lists
// ---------------------------------------------------------------------------------------------

/// An int-keyed map: an array of key/value records, or a string-keyed Avro map.
#[derive(Debug, Clone)]
struct MapPlan {
    null: Nullability,
    form: MapForm,
}

#[derive(Debug, Clone)]
enum MapForm {
    /// Array of records; `key`/`value` are positions in `fields`. `simple` when the record is
    /// exactly (key int, value of the wanted type).
    Pairs {
        fields: Vec<Node>,
        key: usize,
        value: usize,
        simple: bool,
        min_item: usize,
    },
    /// An Avro map with decimal-string keys.
    StringKeys { value: Node, min_item: usize },
}

impl MapPlan {
    fn compile(field: &Field, value_want: Want) -> Result<MapPlan> {
        let what = format!("map field '{}'", field.name);
        let (null, inner) = Nullability::of(&field.node, &what)?;
        let form = match inner {
            Node::Array(item) => {
                let rec = as_record(item, &format!("the items of {what}"))?;
                let pos = |name: &str| rec.fields.iter().position(|f| f.name == name);
                let (key, value) = match (pos("key"), pos("value")) {
                    (Some(k), Some(v)) => (k, v),
                    _ if rec.fields.len() == 2 => (0, 1),
                    _ => {
                        return Err(Error::invalid(format!(
                            "the items of {what} are not key/value records"
                        )));
                    }
                };
                check(Want::Int, &rec.fields[key], &rec.name)?;
                check(value_want, &rec.fields[value], &rec.name)?;
                let simple = rec.fields.len() == 2
                    && key == 0
                    && matches!(rec.fields[0].node, Node::Int(_))
                    && match value_want {
                        Want::Long => matches!(rec.fields[1].node, Node::Long(_)),
                        Want::Bytes => matches!(rec.fields[1].node, Node::Bytes(_)),
                        _ => false,
                    };
                MapForm::Pairs {
                    fields: rec.fields.iter().map(|f| f.node.clone()).collect(),
                    key,
                    value,
                    simple,
                    min_item: item.min_size(),
                }
            }
            Node::Map(v) => {
                let f = Field {
                    name: "value".into(),
                    id: None,
                    node: (**v).clone(),
                };
                check(value_want, &f, &what)?;
                MapForm::StringKeys {
                    min_item: 1 + v.min_size(),
                    value: (**v).clone(),
                }
            }
            other => {
                return Err(Error::invalid(format!(
                    "{what} has type {}; expected an array of key/value records or a map",
                    other.describe()
                )));
            }
        };
        Ok(MapPlan { null, form })
    }

    /// Read the map, calling `put` for each pair whose value is not null.
    #[inline]
    fn read<'a, V>(
        &self,
        c: &mut Cursor<'a>,
        out: &mut Vec<(i32, V)>,
        read_value: impl Fn(&mut Cursor<'a>, &Node) -> Result<Option<V>>,
        simple_value: impl Fn(&mut Cursor<'a>) -> Result<V>,
    ) -> Result<()> {
        if !self.null.present(c)? {
            return Ok(());
        }
        match &self.form {
            MapForm::Pairs {
                fields,
                key,
                value,
                simple,
                min_item,
            } => loop {
                let n = c.block_count(*min_item)?;
                if n == 0 {
                    return Ok(());
                }
                out.reserve(n);
                if *simple {
                    for _ in 0..n {
                        let k = c.int()?;
                        let v = simple_value(c)?;
                        out.push((k, v));
                    }
                } else {
                    for _ in 0..n {
                        let mut k = None;
                        let mut v = None;
                        for (i, f) in fields.iter().enumerate() {
                            if i == *key {
                                k = read_int(c, f)?;
                            } else if i == *value {
                                v = read_value(c, f)?;
                            } else {
                                skip(c, f)?;
                            }
                        }
                        if let (Some(k), Some(v)) = (k, v) {
                            out.push((k, v));
                        }
                    }
                }
            },
            MapForm::StringKeys { value, min_item } => loop {
                let n = c.block_count(*min_item)?;
                if n == 0 {
                    return Ok(());
                }
                out.reserve(n);
                for _ in 0..n {
                    let k = c.str()?;
                    let k: i32 = k.trim().parse().map_err(|_| {
                        Error::invalid(format!("map key '{k}' is not an integer field id"))
                    })?;
                    if let Some(v) = read_value(c, value)? {
                        out.push((k, v));
                    }
                }
            },
        }
    }

    fn read_counts(&self, c: &mut Cursor<'_>, out: &mut Vec<(i32, i64)>) -> Result<()> {
        self.read(c, out, read_long, |c| c.long())
    }

    fn read_bounds(&self, c: &mut Cursor<'_>, out: &mut Vec<(i32, Vec<u8>)>) -> Result<()> {
        self.read(
            c,
            out,
            |c, n| Ok(read_bytes(c, n)?.map(<[u8]>::to_vec)),
            |c| Ok(c.bytes()?.to_vec()),
        )
    }
}

/// A list of ints or longs.
#[derive(Debug, Clone)]
struct ListPlan {
    null: Nullability,
    item: Node,
}

impl ListPlan {
    fn compile(field: &Field) -> Result<ListPlan> {
        let what = format!("list field '{}'", field.name);
        let (null, inner) = Nullability::of(&field.node, &what)?;
        let Node::Array(item) = inner else {
            return Err(Error::invalid(format!(
                "{what} has type {}; expected an array",
                inner.describe()
            )));
        };
        let f = Field {
            name: field.name.clone(),
            id: field.id,
            node: (**item).clone(),
        };
        check(Want::Long, &f, "list")?;
        Ok(ListPlan {
            null,
            item: (**item).clone(),
        })
    }

    fn read(&self, c: &mut Cursor<'_>) -> Result<Option<Vec<i64>>> {
        if !self.null.present(c)? {
            return Ok(None);
        }
        let mut out = Vec::new();
        let min = self.item.min_size();
        loop {
            let n = c.block_count(min)?;
            if n == 0 {
                return Ok(Some(out));
            }
            out.reserve(n);
            for _ in 0..n {
                if let Some(v) = read_long(c, &self.item)? {
                    out.push(v);
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Partition tuples
// ---------------------------------------------------------------------------------------------

/// The partition record: each writer field goes to a partition field (by field id) or is
/// skipped.
#[derive(Debug, Clone)]
struct PartitionPlan {
    null: Nullability,
    fields: Vec<(Option<(usize, PrimitiveType)>, Node)>,
    width: usize,
}

impl PartitionPlan {
    fn compile(field: &Field, partition_type: &StructType) -> Result<PartitionPlan> {
        let (null, inner) = Nullability::of(&field.node, "the partition field")?;
        let rec = as_record(inner, "the partition field (102)")?;
        let mut seen = Vec::new();
        let mut fields = Vec::with_capacity(rec.fields.len());
        for f in &rec.fields {
            let id = field_id(f, &rec.name)?;
            no_dup(&mut seen, id, &rec.name)?;
            let target = partition_type
                .fields()
                .iter()
                .position(|p| p.id == id)
                .map(|i| {
                    let ty = partition_type.fields()[i]
                        .field_type
                        .as_primitive()
                        .copied();
                    (i, ty)
                });
            let target = match target {
                None => None,
                Some((i, Some(ty))) => {
                    if !datum_accepts(&f.node, &ty) {
                        return Err(Error::invalid(format!(
                            "partition field '{}' (id {id}) was written as {}, which cannot be \
                             read as {ty}",
                            f.name,
                            f.node.describe()
                        )));
                    }
                    Some((i, ty))
                }
                Some((_, None)) => {
                    return Err(Error::invalid(format!(
                        "partition field {id} has a non-primitive type in the partition type"
                    )));
                }
            };
            fields.push((target, f.node.clone()));
        }
        Ok(PartitionPlan {
            null,
            fields,
            width: partition_type.fields().len(),
        })
    }

    fn read(&self, c: &mut Cursor<'_>) -> Result<Vec<Option<Datum>>> {
        let mut out = vec![None; self.width];
        if !self.null.present(c)? {
            return Ok(out);
        }
        for (target, node) in &self.fields {
            match target {
                Some((i, ty)) => out[*i] = read_datum(c, node, ty)?,
                None => skip(c, node)?,
            }
        }
        Ok(out)
    }
}

/// Whether a writer value of type `n` can be read as a value of Iceberg type `ty`.
fn datum_accepts(n: &Node, ty: &PrimitiveType) -> bool {
    use PrimitiveType as P;
    match n {
        Node::Null => true,
        Node::Union(b) => b.iter().all(|b| datum_accepts(b, ty)),
        Node::Boolean => matches!(ty, P::Boolean),
        Node::Int(l) => match ty {
            P::Int | P::Long | P::Date => true,
            // A date (int) promoted to a timestamp (v3).
            P::Timestamp | P::TimestampNs => *l == Logical::Date,
            P::Time => *l == Logical::TimeMillis,
            _ => false,
        },
        Node::Long(_) => matches!(
            ty,
            P::Long | P::Time | P::Timestamp | P::Timestamptz | P::TimestampNs | P::TimestamptzNs
        ),
        Node::Float => matches!(ty, P::Float | P::Double),
        Node::Double => matches!(ty, P::Double),
        Node::String(_) => matches!(ty, P::String | P::Uuid),
        Node::Bytes(_) => matches!(ty, P::Binary | P::Decimal { .. } | P::String),
        Node::Fixed(len, _) => match ty {
            P::Fixed(l) => *l == *len as u64,
            P::Uuid => *len == 16,
            P::Decimal { .. } => (1..=16).contains(len),
            P::Binary => true,
            _ => false,
        },
        _ => false,
    }
}

const MICROS_PER_DAY: i64 = 86_400_000_000;

fn read_datum(c: &mut Cursor<'_>, n: &Node, ty: &PrimitiveType) -> Result<Option<Datum>> {
    use PrimitiveType as P;
    Ok(Some(match n {
        Node::Null => return Ok(None),
        Node::Union(b) => {
            let i = c.branch(b.len())?;
            return read_datum(c, &b[i], ty);
        }
        Node::Boolean => Datum::Boolean(c.boolean()?),
        Node::Int(l) => {
            let v = c.int()?;
            match ty {
                P::Int => Datum::Int(v),
                P::Long => Datum::Long(i64::from(v)),
                P::Date => Datum::Date(v),
                P::Time if *l == Logical::TimeMillis => Datum::Time(i64::from(v) * 1000),
                P::Timestamp => Datum::Timestamp(i64::from(v) * MICROS_PER_DAY),
                P::TimestampNs => Datum::TimestampNs(i64::from(v) * MICROS_PER_DAY * 1000),
                _ => return Err(shape_err(n)),
            }
        }
        Node::Long(_) => {
            let v = c.long()?;
            match ty {
                P::Long => Datum::Long(v),
                P::Time => Datum::Time(v),
                P::Timestamp => Datum::Timestamp(v),
                P::Timestamptz => Datum::Timestamptz(v),
                P::TimestampNs => Datum::TimestampNs(v),
                P::TimestamptzNs => Datum::TimestamptzNs(v),
                _ => return Err(shape_err(n)),
            }
        }
        Node::Float => {
            let v = c.float()?;
            match ty {
                P::Double => Datum::Double(f64::from(v)),
                _ => Datum::Float(v),
            }
        }
        Node::Double => Datum::Double(c.double()?),
        Node::String(_) => {
            let s = c.str()?;
            match ty {
                P::Uuid => Datum::Uuid(uuid::Uuid::parse_str(s).map_err(|e| {
                    Error::invalid(format!("invalid uuid partition value '{s}': {e}"))
                })?),
                _ => Datum::String(s.to_owned()),
            }
        }
        Node::Bytes(_) => {
            let b = c.bytes()?;
            match ty {
                P::String => Datum::from_bytes(b, ty)?,
                _ => decimal_or_binary(b, ty)?,
            }
        }
        Node::Fixed(len, _) => {
            let b = c.take(*len)?;
            match ty {
                P::Fixed(_) => Datum::Fixed(b.to_vec()),
                P::Uuid => Datum::from_bytes(b, ty)?,
                _ => decimal_or_binary(b, ty)?,
            }
        }
        other => return Err(shape_err(other)),
    }))
}

fn decimal_or_binary(b: &[u8], ty: &PrimitiveType) -> Result<Datum> {
    match ty {
        PrimitiveType::Decimal { precision, scale } => {
            // Two's-complement big-endian, possibly sign-extended beyond 16 bytes.
            let mut bytes = b;
            while bytes.len() > 16 {
                let fill = if bytes[1] & 0x80 != 0 { 0xff } else { 0 };
                if bytes[0] != fill {
                    return Err(Error::invalid(format!(
                        "decimal partition value of {} bytes does not fit 128 bits",
                        b.len()
                    )));
                }
                bytes = &bytes[1..];
            }
            if bytes.is_empty() {
                return Datum::decimal(0, *precision, *scale);
            }
            let fill = if bytes[0] & 0x80 != 0 { 0xff } else { 0x00 };
            let mut buf = [fill; 16];
            buf[16 - bytes.len()..].copy_from_slice(bytes);
            Datum::decimal(i128::from_be_bytes(buf), *precision, *scale)
        }
        _ => Ok(Datum::Binary(b.to_vec())),
    }
}

// ---------------------------------------------------------------------------------------------
// Manifest entries
// ---------------------------------------------------------------------------------------------

/// A file format name, case-insensitively, without allocating.
#[inline]
fn file_format(s: &str) -> Result<DataFileFormat> {
    Ok(if s.eq_ignore_ascii_case("parquet") {
        DataFileFormat::Parquet
    } else if s.eq_ignore_ascii_case("avro") {
        DataFileFormat::Avro
    } else if s.eq_ignore_ascii_case("orc") {
        DataFileFormat::Orc
    } else if s.eq_ignore_ascii_case("puffin") {
        DataFileFormat::Puffin
    } else {
        return Err(Error::invalid(format!("unknown data file format '{s}'")));
    })
}

#[derive(Debug, Clone)]
enum FileOp {
    Content(Node),
    FilePath(Node),
    FileFormat(Node),
    Partition(PartitionPlan),
    RecordCount(Node),
    FileSize(Node),
    ColumnSizes(MapPlan),
    ValueCounts(MapPlan),
    NullValueCounts(MapPlan),
    NanValueCounts(MapPlan),
    LowerBounds(MapPlan),
    UpperBounds(MapPlan),
    KeyMetadata(Node),
    SplitOffsets(ListPlan),
    EqualityIds(ListPlan),
    SortOrderId(Node),
    FirstRowId(Node),
    ReferencedDataFile(Node),
    ContentOffset(Node),
    ContentSize(Node),
    Skip(Vec<SkipOp>),
}

/// The plan for the `data_file` record (`r2`).
#[derive(Debug, Clone)]
struct DataFilePlan {
    ops: Vec<FileOp>,
    width: usize,
}

impl DataFilePlan {
    fn compile(rec: &Record, partition_type: &StructType, full: bool) -> Result<DataFilePlan> {
        let r = rec.name.as_str();
        let mut ops = Vec::with_capacity(rec.fields.len());
        let mut seen = Vec::new();
        for f in &rec.fields {
            let id = field_id(f, r)?;
            no_dup(&mut seen, id, r)?;
            let node = || f.node.clone();
            let skipped = || {
                let mut ops = Vec::new();
                skip_plan(&f.node, &mut ops);
                FileOp::Skip(ops)
            };
            ops.push(match id {
                // A summary keeps content, partition, record count and size: paths, formats,
                // column statistics and the rest are skipped unread.
                100 | 101 | 108 | 109 | 110 | 137 | 125 | 128 | 131 | 132 | 135 | 140 | 142
                | 143 | 144 | 145
                    if !full =>
                {
                    skipped()
                }
                134 => check(Want::Int, f, r).map(|_| FileOp::Content(node()))?,
                100 => check(Want::Str, f, r).map(|_| FileOp::FilePath(node()))?,
                101 => check(Want::Str, f, r).map(|_| FileOp::FileFormat(node()))?,
                102 => FileOp::Partition(PartitionPlan::compile(f, partition_type)?),
                103 => check(Want::Long, f, r).map(|_| FileOp::RecordCount(node()))?,
                104 => check(Want::Long, f, r).map(|_| FileOp::FileSize(node()))?,
                108 => FileOp::ColumnSizes(MapPlan::compile(f, Want::Long)?),
                109 => FileOp::ValueCounts(MapPlan::compile(f, Want::Long)?),
                110 => FileOp::NullValueCounts(MapPlan::compile(f, Want::Long)?),
                137 => FileOp::NanValueCounts(MapPlan::compile(f, Want::Long)?),
                125 => FileOp::LowerBounds(MapPlan::compile(f, Want::Bytes)?),
                128 => FileOp::UpperBounds(MapPlan::compile(f, Want::Bytes)?),
                131 => check(Want::Bytes, f, r).map(|_| FileOp::KeyMetadata(node()))?,
                132 => FileOp::SplitOffsets(ListPlan::compile(f)?),
                135 => FileOp::EqualityIds(ListPlan::compile(f)?),
                140 => check(Want::Int, f, r).map(|_| FileOp::SortOrderId(node()))?,
                142 => check(Want::Long, f, r).map(|_| FileOp::FirstRowId(node()))?,
                143 => check(Want::Str, f, r).map(|_| FileOp::ReferencedDataFile(node()))?,
                144 => check(Want::Long, f, r).map(|_| FileOp::ContentOffset(node()))?,
                145 => check(Want::Long, f, r).map(|_| FileOp::ContentSize(node()))?,
                // 105 block_size_in_bytes, 106 file_ordinal, 107 sort_columns, 111 distinct
                // counts (all deprecated), 141 spec_id, and anything unknown.
                _ => skipped(),
            });
        }
        for (id, what) in [
            (100, "file_path"),
            (101, "file_format"),
            (103, "record_count"),
            (104, "file_size_in_bytes"),
        ] {
            if !seen.contains(&id) {
                return Err(missing(what, id, r));
            }
        }
        if !seen.contains(&102) && !partition_type.fields().is_empty() {
            return Err(missing("partition", 102, r));
        }
        Ok(DataFilePlan {
            ops,
            width: partition_type.fields().len(),
        })
    }

    fn read(&self, c: &mut Cursor<'_>) -> Result<DataFile> {
        let mut df = DataFile::default();
        let mut partition = None;
        for op in &self.ops {
            match op {
                FileOp::Content(n) => {
                    let code = read_int(c, n)?.unwrap_or(0);
                    df.content = DataContentType::from_code(code).ok_or_else(|| {
                        Error::invalid(format!("invalid data_file content code {code}"))
                    })?;
                }
                FileOp::FilePath(n) => {
                    df.file_path = read_str(c, n)?.ok_or_else(|| null_err("file_path"))?.into();
                }
                FileOp::FileFormat(n) => {
                    let s = read_str(c, n)?.ok_or_else(|| null_err("file_format"))?;
                    df.file_format = file_format(s)?;
                }
                FileOp::Partition(p) => partition = Some(p.read(c)?),
                FileOp::RecordCount(n) => {
                    df.record_count = read_long(c, n)?.ok_or_else(|| null_err("record_count"))?;
                }
                FileOp::FileSize(n) => {
                    df.file_size_in_bytes =
                        read_long(c, n)?.ok_or_else(|| null_err("file_size_in_bytes"))?;
                }
                FileOp::ColumnSizes(m) => m.read_counts(c, &mut df.column_sizes)?,
                FileOp::ValueCounts(m) => m.read_counts(c, &mut df.value_counts)?,
                FileOp::NullValueCounts(m) => m.read_counts(c, &mut df.null_value_counts)?,
                FileOp::NanValueCounts(m) => m.read_counts(c, &mut df.nan_value_counts)?,
                FileOp::LowerBounds(m) => m.read_bounds(c, &mut df.lower_bounds)?,
                FileOp::UpperBounds(m) => m.read_bounds(c, &mut df.upper_bounds)?,
                FileOp::KeyMetadata(n) => df.key_metadata = read_bytes(c, n)?.map(<[u8]>::to_vec),
                FileOp::SplitOffsets(l) => df.split_offsets = l.read(c)?,
                FileOp::EqualityIds(l) => {
                    df.equality_ids = match l.read(c)? {
                        None => None,
                        Some(ids) => Some(
                            ids.into_iter()
                                .map(|id| {
                                    i32::try_from(id).map_err(|_| {
                                        Error::invalid(format!("equality id {id} is not an int"))
                                    })
                                })
                                .collect::<Result<Vec<i32>>>()?,
                        ),
                    }
                }
                FileOp::SortOrderId(n) => df.sort_order_id = read_int(c, n)?,
                FileOp::FirstRowId(n) => df.first_row_id = read_long(c, n)?,
                FileOp::ReferencedDataFile(n) => {
                    df.referenced_data_file = read_str(c, n)?.map(str::to_owned)
                }
                FileOp::ContentOffset(n) => df.content_offset = read_long(c, n)?,
                FileOp::ContentSize(n) => df.content_size_in_bytes = read_long(c, n)?,
                FileOp::Skip(ops) => skip_ops(c, ops)?,
            }
        }
        df.partition = partition.unwrap_or_else(|| vec![None; self.width]);
        Ok(df)
    }
}

#[derive(Debug, Clone)]
enum EntryOp {
    Status(Node),
    SnapshotId(Node),
    SequenceNumber(Node),
    FileSequenceNumber(Node),
    DataFile(Nullability, DataFilePlan),
    Skip(Node),
}

/// The plan for a `manifest_entry` record.
#[derive(Debug, Clone)]
pub(crate) struct EntryPlan {
    ops: Vec<EntryOp>,
}

impl EntryPlan {
    /// Compile the writer's `manifest_entry` schema against `partition_type`; unless `full`,
    /// only a summary of each data file is read (content, partition, record count, size) and
    /// the other fields come out empty.
    pub(crate) fn compile(
        writer: &Node,
        partition_type: &StructType,
        full: bool,
    ) -> Result<EntryPlan> {
        let rec = as_record(writer, "a manifest's schema")?;
        let r = rec.name.as_str();
        let mut ops = Vec::with_capacity(rec.fields.len());
        let mut seen = Vec::new();
        for f in &rec.fields {
            let id = field_id(f, r)?;
            no_dup(&mut seen, id, r)?;
            let node = || f.node.clone();
            ops.push(match id {
                0 => check(Want::Int, f, r).map(|_| EntryOp::Status(node()))?,
                1 => check(Want::Long, f, r).map(|_| EntryOp::SnapshotId(node()))?,
                3 => check(Want::Long, f, r).map(|_| EntryOp::SequenceNumber(node()))?,
                4 => check(Want::Long, f, r).map(|_| EntryOp::FileSequenceNumber(node()))?,
                2 => {
                    let (null, inner) = Nullability::of(&f.node, "data_file")?;
                    let df = as_record(inner, "data_file (2)")?;
                    EntryOp::DataFile(null, DataFilePlan::compile(df, partition_type, full)?)
                }
                _ => EntryOp::Skip(node()),
            });
        }
        if !seen.contains(&0) {
            return Err(missing("status", 0, r));
        }
        if !seen.contains(&2) {
            return Err(missing("data_file", 2, r));
        }
        Ok(EntryPlan { ops })
    }

    /// Decode one entry as written (no inheritance).
    pub(crate) fn read(&self, c: &mut Cursor<'_>) -> Result<ManifestEntry> {
        let mut status = None;
        let mut snapshot_id = None;
        let mut sequence_number = None;
        let mut file_sequence_number = None;
        let mut data_file = None;
        for op in &self.ops {
            match op {
                EntryOp::Status(n) => {
                    let code = read_int(c, n)?.ok_or_else(|| null_err("status"))?;
                    status = Some(ManifestStatus::from_code(code).ok_or_else(|| {
                        Error::invalid(format!("invalid manifest entry status {code}"))
                    })?);
                }
                EntryOp::SnapshotId(n) => snapshot_id = read_long(c, n)?,
                EntryOp::SequenceNumber(n) => sequence_number = read_long(c, n)?,
                EntryOp::FileSequenceNumber(n) => file_sequence_number = read_long(c, n)?,
                EntryOp::DataFile(null, plan) => {
                    if !null.present(c)? {
                        return Err(null_err("data_file"));
                    }
                    data_file = Some(plan.read(c)?);
                }
                EntryOp::Skip(n) => skip(c, n)?,
            }
        }
        Ok(ManifestEntry {
            status: status.ok_or_else(|| null_err("status"))?,
            snapshot_id,
            sequence_number,
            file_sequence_number,
            data_file: data_file.ok_or_else(|| null_err("data_file"))?,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Manifest lists
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
enum SummaryOp {
    ContainsNull(Node),
    ContainsNan(Node),
    Lower(Node),
    Upper(Node),
    Skip(Node),
}

#[derive(Debug, Clone)]
struct SummaryPlan {
    null: Nullability,
    item_null: Nullability,
    ops: Vec<SummaryOp>,
    min_item: usize,
}

impl SummaryPlan {
    fn compile(field: &Field) -> Result<SummaryPlan> {
        let (null, inner) = Nullability::of(&field.node, "partitions (507)")?;
        let Node::Array(item) = inner else {
            return Err(Error::invalid(format!(
                "partitions (507) has type {}; expected an array",
                inner.describe()
            )));
        };
        let (item_null, item_inner) = Nullability::of(item, "a partition field summary")?;
        let rec = as_record(item_inner, "a partition field summary (508)")?;
        let r = rec.name.as_str();
        let mut ops = Vec::new();
        let mut seen = Vec::new();
        for f in &rec.fields {
            let id = field_id(f, r)?;
            no_dup(&mut seen, id, r)?;
            let node = || f.node.clone();
            ops.push(match id {
                509 => check(Want::Bool, f, r).map(|_| SummaryOp::ContainsNull(node()))?,
                518 => check(Want::Bool, f, r).map(|_| SummaryOp::ContainsNan(node()))?,
                510 => check(Want::Bytes, f, r).map(|_| SummaryOp::Lower(node()))?,
                511 => check(Want::Bytes, f, r).map(|_| SummaryOp::Upper(node()))?,
                _ => SummaryOp::Skip(node()),
            });
        }
        Ok(SummaryPlan {
            null,
            item_null,
            ops,
            min_item: item.min_size(),
        })
    }

    fn read(&self, c: &mut Cursor<'_>) -> Result<Option<Vec<FieldSummary>>> {
        if !self.null.present(c)? {
            return Ok(None);
        }
        let mut out = Vec::new();
        loop {
            let n = c.block_count(self.min_item)?;
            if n == 0 {
                return Ok(Some(out));
            }
            out.reserve(n);
            for _ in 0..n {
                if !self.item_null.present(c)? {
                    continue;
                }
                let mut s = FieldSummary::default();
                for op in &self.ops {
                    match op {
                        SummaryOp::ContainsNull(n) => {
                            s.contains_null = read_bool(c, n)?.unwrap_or(true)
                        }
                        SummaryOp::ContainsNan(n) => s.contains_nan = read_bool(c, n)?,
                        SummaryOp::Lower(n) => {
                            s.lower_bound = read_bytes(c, n)?.map(<[u8]>::to_vec)
                        }
                        SummaryOp::Upper(n) => {
                            s.upper_bound = read_bytes(c, n)?.map(<[u8]>::to_vec)
                        }
                        SummaryOp::Skip(n) => skip(c, n)?,
                    }
                }
                out.push(s);
            }
        }
    }
}

#[derive(Debug, Clone)]
enum ListOp {
    Path(Node),
    Length(Node),
    SpecId(Node),
    Content(Node),
    SequenceNumber(Node),
    MinSequenceNumber(Node),
    SnapshotId(Node),
    AddedFiles(Node),
    ExistingFiles(Node),
    DeletedFiles(Node),
    AddedRows(Node),
    ExistingRows(Node),
    DeletedRows(Node),
    Partitions(SummaryPlan),
    KeyMetadata(Node),
    FirstRowId(Node),
    Skip(Node),
}

/// The plan for a `manifest_file` record (an entry of a manifest list).
#[derive(Debug, Clone)]
pub(crate) struct ManifestFilePlan {
    ops: Vec<ListOp>,
}

/// What a null (v1: optional) file count decodes to. The spec says a null count means "assume
/// non-zero", and [`ManifestFile`] holds plain integers, so one is the smallest count that
/// keeps `has_live_files` (and so scan planning) right.
pub(crate) const NULL_FILES_COUNT: i32 = 1;

impl ManifestFilePlan {
    /// Compile the writer's `manifest_file` schema.
    pub(crate) fn compile(writer: &Node) -> Result<ManifestFilePlan> {
        let rec = as_record(writer, "a manifest list's schema")?;
        let r = rec.name.as_str();
        let mut ops = Vec::with_capacity(rec.fields.len());
        let mut seen = Vec::new();
        for f in &rec.fields {
            let id = field_id(f, r)?;
            no_dup(&mut seen, id, r)?;
            let node = || f.node.clone();
            ops.push(match id {
                500 => check(Want::Str, f, r).map(|_| ListOp::Path(node()))?,
                501 => check(Want::Long, f, r).map(|_| ListOp::Length(node()))?,
                502 => check(Want::Int, f, r).map(|_| ListOp::SpecId(node()))?,
                517 => check(Want::Int, f, r).map(|_| ListOp::Content(node()))?,
                515 => check(Want::Long, f, r).map(|_| ListOp::SequenceNumber(node()))?,
                516 => check(Want::Long, f, r).map(|_| ListOp::MinSequenceNumber(node()))?,
                503 => check(Want::Long, f, r).map(|_| ListOp::SnapshotId(node()))?,
                504 => check(Want::Int, f, r).map(|_| ListOp::AddedFiles(node()))?,
                505 => check(Want::Int, f, r).map(|_| ListOp::ExistingFiles(node()))?,
                506 => check(Want::Int, f, r).map(|_| ListOp::DeletedFiles(node()))?,
                512 => check(Want::Long, f, r).map(|_| ListOp::AddedRows(node()))?,
                513 => check(Want::Long, f, r).map(|_| ListOp::ExistingRows(node()))?,
                514 => check(Want::Long, f, r).map(|_| ListOp::DeletedRows(node()))?,
                507 => ListOp::Partitions(SummaryPlan::compile(f)?),
                519 => check(Want::Bytes, f, r).map(|_| ListOp::KeyMetadata(node()))?,
                520 => check(Want::Long, f, r).map(|_| ListOp::FirstRowId(node()))?,
                _ => ListOp::Skip(node()),
            });
        }
        for (id, what) in [
            (500, "manifest_path"),
            (501, "manifest_length"),
            (502, "partition_spec_id"),
            (503, "added_snapshot_id"),
        ] {
            if !seen.contains(&id) {
                return Err(missing(what, id, r));
            }
        }
        Ok(ManifestFilePlan { ops })
    }

    /// Decode one manifest list entry. Missing v1 fields take the spec's defaults: content
    /// data, sequence numbers 0; null or missing file counts become [`NULL_FILES_COUNT`],
    /// row counts 0.
    pub(crate) fn read(&self, c: &mut Cursor<'_>) -> Result<ManifestFile> {
        let mut m = ManifestFile {
            added_files_count: NULL_FILES_COUNT,
            existing_files_count: NULL_FILES_COUNT,
            deleted_files_count: NULL_FILES_COUNT,
            ..ManifestFile::default()
        };
        let mut snapshot_id = None;
        let files = |v: Option<i32>| v.unwrap_or(NULL_FILES_COUNT);
        for op in &self.ops {
            match op {
                ListOp::Path(n) => {
                    m.manifest_path = read_str(c, n)?
                        .ok_or_else(|| null_err("manifest_path"))?
                        .into()
                }
                ListOp::Length(n) => {
                    m.manifest_length =
                        read_long(c, n)?.ok_or_else(|| null_err("manifest_length"))?
                }
                ListOp::SpecId(n) => {
                    m.partition_spec_id =
                        read_int(c, n)?.ok_or_else(|| null_err("partition_spec_id"))?
                }
                ListOp::Content(n) => {
                    m.content = match read_int(c, n)?.unwrap_or(0) {
                        0 => ManifestContentType::Data,
                        1 => ManifestContentType::Deletes,
                        other => {
                            return Err(Error::invalid(format!(
                                "invalid manifest content code {other}"
                            )));
                        }
                    }
                }
                ListOp::SequenceNumber(n) => m.sequence_number = read_long(c, n)?.unwrap_or(0),
                ListOp::MinSequenceNumber(n) => {
                    m.min_sequence_number = read_long(c, n)?.unwrap_or(0)
                }
                ListOp::SnapshotId(n) => snapshot_id = read_long(c, n)?,
                ListOp::AddedFiles(n) => m.added_files_count = files(read_int(c, n)?),
                ListOp::ExistingFiles(n) => m.existing_files_count = files(read_int(c, n)?),
                ListOp::DeletedFiles(n) => m.deleted_files_count = files(read_int(c, n)?),
                ListOp::AddedRows(n) => m.added_rows_count = read_long(c, n)?.unwrap_or(0),
                ListOp::ExistingRows(n) => m.existing_rows_count = read_long(c, n)?.unwrap_or(0),
                ListOp::DeletedRows(n) => m.deleted_rows_count = read_long(c, n)?.unwrap_or(0),
                ListOp::Partitions(p) => m.partitions = p.read(c)?,
                ListOp::KeyMetadata(n) => m.key_metadata = read_bytes(c, n)?.map(<[u8]>::to_vec),
                ListOp::FirstRowId(n) => m.first_row_id = read_long(c, n)?,
                ListOp::Skip(n) => skip(c, n)?,
            }
        }
        m.added_snapshot_id = snapshot_id.ok_or_else(|| null_err("added_snapshot_id"))?;
        Ok(m)
    }
}
