//! Property tests: every evaluator is sound against the row semantics.
//!
//! Random small datasets get exact metrics and partition summaries computed here (optionally
//! with dropped metrics, truncated string bounds and bounds written before a type promotion);
//! random predicates are bound and checked:
//! - the Arrow evaluator and the single-value evaluator agree on every row;
//! - if any row matches, the inclusive metrics, partition and manifest evaluators say "may";
//! - if the strict metrics or strict partition evaluator says "all", every row matches;
//! - a partition's residual decides each of its rows exactly as the whole filter does.

use std::cmp::Ordering;
use std::sync::Arc;

use arrow_array::{Array, ArrayRef, RecordBatch, StructArray, new_null_array};
use arrow_buffer::NullBuffer;
use arrow_schema::DataType;
use arrow_select::concat::concat;
use proptest::prelude::*;

use super::value_eval::{Cell, eval_values, is_nan};
use super::*;
use crate::arrow::{iceberg_schema_to_arrow, iceberg_type_to_arrow};
use crate::spec::{
    DataFile, Datum, FieldSummary, ManifestFile, NestedField, PartitionField, PartitionSpec,
    PartitionValues, PrimitiveType, Schema, StructType, Transform, Type,
};

// ---------------------------------------------------------------------------------------------
// Shared helpers
// ---------------------------------------------------------------------------------------------

fn column(values: &[Option<Datum>], ty: &PrimitiveType) -> ArrayRef {
    let dt = iceberg_type_to_arrow(&Type::Primitive(*ty)).unwrap();
    if values.is_empty() {
        return new_null_array(&dt, 0);
    }
    let parts: Vec<ArrayRef> = values
        .iter()
        .map(|v| match v {
            Some(d) => datum_to_arrow(d, ty).unwrap(),
            None => new_null_array(&dt, 1),
        })
        .collect();
    concat(&parts.iter().map(|a| a.as_ref()).collect::<Vec<_>>()).unwrap()
}

fn order(a: &Datum, b: &Datum) -> Ordering {
    a.partial_cmp_same_type(b).unwrap()
}

/// Lowest and highest non-null, non-NaN value.
fn min_max<'a>(values: impl Iterator<Item = &'a Datum>) -> Option<(Datum, Datum)> {
    let mut out: Option<(Datum, Datum)> = None;
    for v in values.filter(|v| !is_nan(v)) {
        out = Some(match out {
            None => (v.clone(), v.clone()),
            Some((lo, hi)) => (
                if order(v, &lo).is_lt() { v.clone() } else { lo },
                if order(v, &hi).is_gt() { v.clone() } else { hi },
            ),
        });
    }
    out
}

fn leaf_op() -> impl Strategy<Value = PredicateOperator> {
    use PredicateOperator::*;
    prop_oneof![
        Just(LessThan),
        Just(LessThanOrEq),
        Just(GreaterThan),
        Just(GreaterThanOrEq),
        Just(Eq),
        Just(NotEq),
    ]
}

fn string_value() -> impl Strategy<Value = String> {
    "[abé]{0,3}"
}

fn double_value() -> impl Strategy<Value = f64> {
    prop::sample::select(vec![
        -1.5,
        -0.0,
        0.0,
        1.0,
        2.5,
        f64::NAN,
        -f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
    ])
}

fn double_literal() -> impl Strategy<Value = f64> {
    prop::sample::select(vec![
        -2.0,
        -1.5,
        -0.0,
        0.0,
        0.5,
        1.0,
        2.5,
        3.0,
        f64::INFINITY,
    ])
}

/// A leaf on column `name` whose literals come from `lit`.
fn leaf_on(
    name: &'static str,
    lit: impl Strategy<Value = Datum> + 'static,
) -> BoxedStrategy<Predicate> {
    let lit = lit.boxed();
    let c = Reference::new(name);
    let (c1, c2, c3) = (c.clone(), c.clone(), c.clone());
    prop_oneof![
        3 => (leaf_op(), lit.clone()).prop_map(move |(op, literal)| Predicate::Binary {
            op,
            term: c1.clone(),
            literal,
        }),
        1 => (prop::bool::ANY, prop::collection::vec(lit, 0..4)).prop_map(move |(neg, lits)| {
            if neg { c2.is_not_in(lits) } else { c2.is_in(lits) }
        }),
        1 => prop::bool::ANY.prop_map(move |neg| if neg { c3.is_not_null() } else { c3.is_null() }),
    ]
    .boxed()
}

fn tree(leaf: BoxedStrategy<Predicate>) -> impl Strategy<Value = Predicate> {
    leaf.prop_recursive(3, 12, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone())
                .prop_map(|(a, b)| Predicate::And(Box::new(a), Box::new(b))),
            (inner.clone(), inner.clone())
                .prop_map(|(a, b)| Predicate::Or(Box::new(a), Box::new(b))),
            inner.prop_map(|p| !p),
        ]
    })
}

fn row_matches(pred: &BoundPredicate, row: &[(i32, Option<Datum>)]) -> bool {
    let value = eval_values(
        pred,
        &mut |id| match row.iter().find(|(fid, _)| *fid == id) {
            Some((_, v)) => Cell::Value(v.as_ref()),
            None => Cell::Value(None),
        },
    );
    value.expect("every row value is comparable")
}

// ---------------------------------------------------------------------------------------------
// Data files and their metrics
// ---------------------------------------------------------------------------------------------

fn data_schema() -> Schema {
    use PrimitiveType as P;
    Schema::builder()
        .with_fields([
            NestedField::optional(1, "i", P::Int),
            NestedField::optional(2, "s", P::String),
            NestedField::optional(3, "d", P::Double),
            NestedField::optional(
                4,
                "st",
                Type::Struct(StructType::new(vec![NestedField::optional(5, "x", P::Int)])),
            ),
            NestedField::optional(6, "l", P::Long),
            NestedField::required(7, "r", P::Int),
        ])
        .build()
        .unwrap()
}

#[derive(Debug, Clone)]
struct Row {
    i: Option<i32>,
    s: Option<String>,
    d: Option<f64>,
    st_null: bool,
    x: Option<i32>,
    l: Option<i64>,
    r: i32,
}

impl Row {
    /// Values by field id, with `st.x` null where `st` is.
    fn values(&self) -> Vec<(i32, Option<Datum>)> {
        vec![
            (1, self.i.map(Datum::Int)),
            (2, self.s.clone().map(Datum::String)),
            (3, self.d.map(Datum::Double)),
            (
                5,
                if self.st_null {
                    None
                } else {
                    self.x.map(Datum::Int)
                },
            ),
            (6, self.l.map(Datum::Long)),
            (7, Some(Datum::Int(self.r))),
        ]
    }
}

fn row() -> impl Strategy<Value = Row> {
    (
        prop::option::weighted(0.8, -4..4i32),
        prop::option::weighted(0.8, string_value()),
        prop::option::weighted(0.8, double_value()),
        prop::bool::weighted(0.2),
        prop::option::weighted(0.8, -3..3i32),
        prop::option::weighted(0.8, -3..3i64),
        -3..3i32,
    )
        .prop_map(|(i, s, d, st_null, x, l, r)| Row {
            i,
            s,
            d,
            st_null,
            x,
            l,
            r,
        })
}

fn data_predicate() -> impl Strategy<Value = Predicate> {
    use PredicateOperator::*;
    let int = || (-5..5i32).prop_map(Datum::Int);
    let s = Reference::new("s");
    let d = Reference::new("d");
    let leaf = prop_oneof![
        leaf_on(
            "i",
            prop_oneof![
                4 => int(),
                1 => prop::sample::select(vec![Datum::Long(1 << 40), Datum::Long(-(1 << 40))]),
            ]
        ),
        leaf_on("s", string_value().prop_map(Datum::String)),
        (prop::bool::ANY, string_value()).prop_map(move |(neg, p)| if neg {
            s.not_starts_with(p)
        } else {
            s.starts_with(p)
        }),
        leaf_on("d", double_literal().prop_map(Datum::Double)),
        prop::sample::select(vec![IsNan, NotNan]).prop_map(move |op| Predicate::Unary {
            op,
            term: d.clone(),
        }),
        leaf_on("st.x", int()),
        leaf_on("l", (-4..4i64).prop_map(Datum::Long)),
        leaf_on("r", int()),
    ]
    .boxed();
    tree(leaf)
}

/// Which metrics a writer left out, and how it wrote bounds.
#[derive(Debug, Clone)]
struct MetricsStyle {
    /// Per field (bit = field id): no value count / null count / NaN count / bounds.
    no_values: u8,
    no_nulls: u8,
    no_nans: u8,
    no_bounds: u8,
    /// Strings bounds truncated to this many characters.
    truncate: Option<usize>,
    /// `l` bounds written as int (before a promotion to long).
    long_as_int: bool,
}

fn metrics_style() -> impl Strategy<Value = MetricsStyle> {
    let mask = || prop_oneof![3 => Just(0u8), 1 => any::<u8>()];
    (
        mask(),
        mask(),
        mask(),
        mask(),
        prop::option::of(1..3usize),
        any::<bool>(),
    )
        .prop_map(
            |(no_values, no_nulls, no_nans, no_bounds, truncate, long_as_int)| MetricsStyle {
                no_values,
                no_nulls,
                no_nans,
                no_bounds,
                truncate,
                long_as_int,
            },
        )
}

/// The next code point after `c`, if any.
fn next_char(c: char) -> Option<char> {
    let mut n = c as u32 + 1;
    while n <= char::MAX as u32 {
        if let Some(c) = char::from_u32(n) {
            return Some(c);
        }
        n += 1;
    }
    None
}

/// Truncated string bounds as Iceberg writers produce them: the lower bound is a prefix of
/// the minimum; the upper bound a prefix of the maximum with its last character incremented
/// (or no upper bound when that is impossible).
fn truncate_bounds(lo: &str, hi: &str, width: usize) -> (Vec<u8>, Option<Vec<u8>>) {
    let lower: String = lo.chars().take(width).collect();
    if hi.chars().count() <= width {
        return (lower.into_bytes(), Some(hi.as_bytes().to_vec()));
    }
    let mut upper: Vec<char> = hi.chars().take(width).collect();
    while let Some(last) = upper.pop() {
        if let Some(next) = next_char(last) {
            upper.push(next);
            return (
                lower.into_bytes(),
                Some(upper.into_iter().collect::<String>().into_bytes()),
            );
        }
    }
    (lower.into_bytes(), None)
}

fn data_file(rows: &[Row], style: &MetricsStyle) -> DataFile {
    let mut file = DataFile {
        record_count: rows.len() as i64,
        ..Default::default()
    };
    let per_row: Vec<Vec<(i32, Option<Datum>)>> = rows.iter().map(Row::values).collect();
    for id in [1, 2, 3, 5, 6, 7] {
        let bit = |mask: u8| mask & (1 << id) != 0;
        let values: Vec<Option<&Datum>> = per_row
            .iter()
            .map(|r| {
                r.iter()
                    .find(|(f, _)| *f == id)
                    .and_then(|(_, v)| v.as_ref())
            })
            .collect();
        if !bit(style.no_values) {
            file.value_counts.push((id, values.len() as i64));
        }
        if !bit(style.no_nulls) {
            file.null_value_counts
                .push((id, values.iter().filter(|v| v.is_none()).count() as i64));
        }
        if id == 3 && !bit(style.no_nans) {
            let nans = values.iter().flatten().filter(|v| is_nan(v)).count();
            file.nan_value_counts.push((id, nans as i64));
        }
        if bit(style.no_bounds) {
            continue;
        }
        let Some((lo, hi)) = min_max(values.iter().flatten().copied()) else {
            continue;
        };
        let (lower, upper) = match (&lo, &hi, style.truncate) {
            (Datum::String(lo), Datum::String(hi), Some(width)) => truncate_bounds(lo, hi, width),
            (Datum::Long(lo), Datum::Long(hi), _) if style.long_as_int => (
                Datum::Int(*lo as i32).to_bytes(),
                Some(Datum::Int(*hi as i32).to_bytes()),
            ),
            _ => (lo.to_bytes(), Some(hi.to_bytes())),
        };
        file.lower_bounds.push((id, lower));
        if let Some(upper) = upper {
            file.upper_bounds.push((id, upper));
        }
    }
    file
}

fn record_batch(rows: &[Row]) -> RecordBatch {
    use PrimitiveType as P;
    let schema = data_schema();
    let arrow = iceberg_schema_to_arrow(&schema).unwrap();
    let col = |f: &dyn Fn(&Row) -> Option<Datum>, ty: P| {
        column(&rows.iter().map(f).collect::<Vec<_>>(), &ty)
    };
    let DataType::Struct(st_fields) = arrow.field(3).data_type().clone() else {
        panic!("st is a struct")
    };
    let x = col(&|r| r.x.map(Datum::Int), P::Int);
    let st_valid: Vec<bool> = rows.iter().map(|r| !r.st_null).collect();
    let st: ArrayRef = Arc::new(
        StructArray::try_new(st_fields, vec![x], Some(NullBuffer::from(st_valid))).unwrap(),
    );
    RecordBatch::try_new(
        Arc::new(arrow),
        vec![
            col(&|r| r.i.map(Datum::Int), P::Int),
            col(&|r| r.s.clone().map(Datum::String), P::String),
            col(&|r| r.d.map(Datum::Double), P::Double),
            st,
            col(&|r| r.l.map(Datum::Long), P::Long),
            col(&|r| Some(Datum::Int(r.r)), P::Int),
        ],
    )
    .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(768))]

    #[test]
    fn metrics_evaluators_are_sound(
        rows in prop::collection::vec(row(), 0..7),
        filter in data_predicate(),
        style in metrics_style(),
    ) {
        let schema = data_schema();
        let bound = filter.bind(&schema, true).unwrap();
        let batch = record_batch(&rows);
        let mask = eval_record_batch(&bound, &batch, &schema).unwrap();
        prop_assert_eq!(mask.null_count(), 0);
        for (i, r) in rows.iter().enumerate() {
            prop_assert_eq!(mask.value(i), row_matches(&bound, &r.values()), "row {}: {:?}", i, r);
        }
        let any = mask.true_count() > 0;
        let all = mask.true_count() == rows.len();
        let file = data_file(&rows, &style);
        let inclusive = InclusiveMetricsEvaluator::new(bound.clone(), &schema).eval(&file);
        let strict = StrictMetricsEvaluator::new(bound.clone(), &schema).eval(&file);
        prop_assert!(!any || inclusive, "a row matches {} but the file was pruned: {:?}", bound, file);
        prop_assert!(!strict || all, "strict said all rows match {}, but not: {:?}", bound, file);
    }
}

// ---------------------------------------------------------------------------------------------
// Partitions, residuals and manifests
// ---------------------------------------------------------------------------------------------

fn part_schema() -> Schema {
    use PrimitiveType as P;
    Schema::builder()
        .with_fields([
            NestedField::optional(1, "i", P::Int),
            NestedField::optional(2, "s", P::String),
            NestedField::optional(3, "d", P::Double),
            NestedField::optional(4, "dt", P::Date),
            NestedField::optional(5, "ts", P::Timestamp),
            NestedField::optional(6, "l", P::Long),
        ])
        .build()
        .unwrap()
}

fn all_part_fields() -> Vec<PartitionField> {
    let f = |source: i32, name: &str, transform: Transform| (source, name.to_string(), transform);
    [
        f(1, "i", Transform::Identity),
        f(1, "i_trunc", Transform::Truncate(3)),
        f(1, "i_bucket", Transform::Bucket(4)),
        f(2, "s_trunc", Transform::Truncate(2)),
        f(2, "s", Transform::Identity),
        f(2, "s_bucket", Transform::Bucket(3)),
        f(3, "d", Transform::Identity),
        f(4, "dt_month", Transform::Month),
        f(4, "dt_year", Transform::Year),
        f(4, "dt_day", Transform::Day),
        f(5, "ts_day", Transform::Day),
        f(5, "ts_hour", Transform::Hour),
        f(6, "l_trunc", Transform::Truncate(5)),
        f(6, "l_void", Transform::Void),
    ]
    .into_iter()
    .enumerate()
    .map(|(n, (source, name, transform))| PartitionField {
        source_id: source.into(),
        field_id: 1000 + n as i32,
        name,
        transform,
    })
    .collect()
}

fn part_spec() -> impl Strategy<Value = PartitionSpec> {
    let n = all_part_fields().len();
    prop::collection::vec(any::<bool>(), n).prop_map(|keep| {
        let fields = all_part_fields()
            .into_iter()
            .zip(keep)
            .filter_map(|(f, k)| k.then_some(f))
            .collect();
        PartitionSpec::new(0, fields)
    })
}

const HOUR: i64 = 3_600_000_000;

type PartRow = Vec<(i32, Option<Datum>)>;

fn part_row() -> impl Strategy<Value = PartRow> {
    (
        prop::option::weighted(0.85, -30..30i32),
        prop::option::weighted(0.85, "[ab]{0,4}"),
        prop::option::weighted(0.85, double_value()),
        prop::option::weighted(0.85, -800..800i32),
        prop::option::weighted(
            0.85,
            (-72..72i64, prop::sample::select(vec![0, 1, HOUR - 1]))
                .prop_map(|(h, off)| h * HOUR + off),
        ),
        prop::option::weighted(0.85, -30..30i64),
    )
        .prop_map(|(i, s, d, dt, ts, l)| {
            vec![
                (1, i.map(Datum::Int)),
                (2, s.map(Datum::String)),
                (3, d.map(Datum::Double)),
                (4, dt.map(Datum::Date)),
                (5, ts.map(Datum::Timestamp)),
                (6, l.map(Datum::Long)),
            ]
        })
}

fn part_predicate() -> impl Strategy<Value = Predicate> {
    use PredicateOperator::*;
    let s = Reference::new("s");
    let d = Reference::new("d");
    let leaf = prop_oneof![
        leaf_on("i", (-32..32i32).prop_map(Datum::Int)),
        leaf_on("s", "[ab]{0,4}".prop_map(Datum::String)),
        (prop::bool::ANY, "[ab]{0,4}").prop_map(move |(neg, p)| if neg {
            s.not_starts_with(p)
        } else {
            s.starts_with(p)
        }),
        leaf_on("d", double_literal().prop_map(Datum::Double)),
        prop::sample::select(vec![IsNan, NotNan]).prop_map(move |op| Predicate::Unary {
            op,
            term: d.clone(),
        }),
        leaf_on("dt", (-820..820i32).prop_map(Datum::Date)),
        leaf_on(
            "ts",
            (
                -75..75i64,
                prop::sample::select(vec![0, 1, HOUR - 1, HOUR / 2])
            )
                .prop_map(|(h, off)| Datum::Timestamp(h * HOUR + off)),
        ),
        leaf_on("l", (-32..32i64).prop_map(Datum::Long)),
    ]
    .boxed();
    tree(leaf)
}

fn tuple_of(spec: &PartitionSpec, row: &PartRow) -> PartitionValues {
    spec.fields()
        .iter()
        .map(|f| {
            let source = row
                .iter()
                .find(|(id, _)| *id == *f.source_id)
                .and_then(|(_, v)| v.as_ref());
            f.transform.apply(source).unwrap()
        })
        .collect()
}

/// The manifest-list summary of a set of partition tuples.
fn summaries(
    spec: &PartitionSpec,
    tuples: &[PartitionValues],
    nan_known: bool,
) -> Vec<FieldSummary> {
    (0..spec.fields().len())
        .map(|pos| {
            let values: Vec<Option<&Datum>> = tuples.iter().map(|t| t[pos].as_ref()).collect();
            let bounds = min_max(values.iter().flatten().copied());
            let any_nan = values.iter().flatten().any(|v| is_nan(v));
            FieldSummary {
                contains_null: values.iter().any(Option::is_none),
                contains_nan: (nan_known || any_nan).then_some(any_nan),
                lower_bound: bounds.as_ref().map(|(lo, _)| lo.to_bytes()),
                upper_bound: bounds.as_ref().map(|(_, hi)| hi.to_bytes()),
            }
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(768))]

    #[test]
    fn partition_evaluators_and_residuals_are_sound(
        spec in part_spec(),
        rows in prop::collection::vec(part_row(), 0..8),
        filter in part_predicate(),
        nan_known in any::<bool>(),
    ) {
        let schema = part_schema();
        let bound = filter.bind(&schema, true).unwrap();
        let inclusive = PartitionEvaluator::inclusive(&bound, &spec, &schema).unwrap();
        let strict = PartitionEvaluator::strict(&bound, &spec, &schema).unwrap();
        let residuals = ResidualEvaluator::new(&bound, &spec, &schema).unwrap();
        let tuples: Vec<PartitionValues> = rows.iter().map(|r| tuple_of(&spec, r)).collect();
        let mut any = false;
        for (row, tuple) in rows.iter().zip(&tuples) {
            let matches = row_matches(&bound, row);
            any |= matches;
            prop_assert!(
                !matches || inclusive.eval(tuple),
                "row {:?} matches {} but its partition {:?} was pruned by {}",
                row, bound, tuple, inclusive.partition_filter()
            );
            prop_assert!(
                !strict.eval(tuple) || matches,
                "partition {:?} passed strict {} but row {:?} does not match {}",
                tuple, strict.partition_filter(), row, bound
            );
            let residual = residuals.residual_for(tuple);
            prop_assert_eq!(
                row_matches(&residual, row),
                matches,
                "residual {} of {} for {:?} decides row {:?} differently",
                residual, bound, tuple, row
            );
        }
        let manifest = ManifestFile {
            manifest_path: "m.avro".into(),
            partitions: Some(summaries(&spec, &tuples, nan_known)),
            ..Default::default()
        };
        let manifest_eval = ManifestEvaluator::for_row_filter(&bound, &spec, &schema).unwrap();
        prop_assert!(
            !any || manifest_eval.eval(&manifest).unwrap(),
            "a row matches {} but the manifest was pruned by {}: {:?}",
            bound, manifest_eval.partition_filter(), manifest.partitions
        );
    }
}
