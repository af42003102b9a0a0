//! Column metrics of a written Parquet file, as a [`DataFile`] carries them (spec "Manifests",
//! fields 108–130; Appendix D for the bound encoding).
//!
//! - [`MetricsConfig`]: the `write.metadata.metrics.*` mode of every column, resolved the way
//!   Java's `MetricsConfig.forTable` does (explicit default, per-column overrides, sorted
//!   columns promoted to `truncate(16)`, and `none` beyond the first
//!   `max-inferred-column-defaults` top-level columns when no default is configured).
//! - [`truncate_string_min`], [`truncate_string_max`], [`truncate_binary_min`],
//!   [`truncate_binary_max`]: bound truncation (Java `UnicodeUtil`, `BinaryUtil`).
//! - `FileMetrics::from_parquet`: the metrics of one file, from its Parquet footer.
//!
//! Everything comes from the footer, as in Java's `ParquetMetrics` and pyiceberg's
//! `data_file_statistics_from_parquet_metadata`: `column_sizes` sum the compressed chunk sizes,
//! `value_counts` the chunks' `num_values` (for a column inside a list or map that counts
//! every slot, nulls and empty lists included), `null_value_counts` the statistics' null
//! counts. NaN counts come from the statistics' `nan_count`, which the Parquet writer keeps
//! for float and double columns; min/max use IEEE 754 total order with NaN excluded, so that
//! `-0.0` sorts before `+0.0` as the spec requires, and a chunk whose min or max is NaN (only
//! NaNs) gives no bound.
//!
//! Which columns get what, by mode: `none` gives nothing (not even a column size, as Java);
//! `counts` gives sizes and counts; `truncate(N)` and `full` add bounds, truncation applying
//! to string and binary columns only. Columns inside a list or map never get bounds (Java and
//! pyiceberg agree), but keep their counts as pyiceberg does. Fields of structs do get bounds,
//! as in Java (pyiceberg 0.12 keeps only counts for every nested column).

use std::collections::{BTreeMap, HashMap};

use parquet::file::metadata::ParquetMetaData;
use parquet::file::statistics::Statistics;

use crate::spec::properties::MetricsMode;
use crate::spec::{
    DataFile, NestedField, PrimitiveType, Schema, SortOrder, TableProperties, Transform, Type,
};
use crate::{Error, Result, spec::Datum};

/// The default metrics mode (Java `write.metadata.metrics.default` default).
pub const DEFAULT_METRICS_MODE: MetricsMode = MetricsMode::Truncate(16);

const METRICS_DEFAULT_KEY: &str = "write.metadata.metrics.default";

/// The metrics mode of every column of a table, by full column name.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricsConfig {
    default: MetricsMode,
    columns: HashMap<String, MetricsMode>,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        Self {
            default: DEFAULT_METRICS_MODE,
            columns: HashMap::new(),
        }
    }
}

impl MetricsConfig {
    /// One mode for every column.
    pub fn uniform(mode: MetricsMode) -> Self {
        Self {
            default: mode,
            columns: HashMap::new(),
        }
    }

    /// The config of a table, from its stored properties, schema and sort order (Java
    /// `MetricsConfig.forTable`):
    /// 1. `write.metadata.metrics.default` applies to every column when it is set. When it is
    ///    not, and the schema has more than `write.metadata.metrics.max-inferred-column-defaults`
    ///    (100) top-level columns, only the fields of the first 100 get `truncate(16)` and the
    ///    rest get `none`.
    /// 2. Columns of the sort order under an order-preserving transform get `truncate(16)` when
    ///    the default is `none` or `counts`.
    /// 3. `write.metadata.metrics.column.<name>` overrides win.
    pub fn from_table(
        properties: &BTreeMap<String, String>,
        schema: &Schema,
        sort_order: Option<&SortOrder>,
    ) -> Result<Self> {
        let parsed = TableProperties::try_from_map(properties)?;
        let mut columns = HashMap::new();
        let max_inferred = parsed.write_metadata_metrics_max_inferred_columns as usize;
        let default = if properties.contains_key(METRICS_DEFAULT_KEY) {
            parsed.write_metadata_metrics_default
        } else if schema.fields().len() <= max_inferred {
            DEFAULT_METRICS_MODE
        } else {
            for top in &schema.fields()[..max_inferred] {
                visit_nested(top, &mut |f| {
                    if let Some(name) = schema.name_by_id(f.id) {
                        columns.insert(name.to_string(), DEFAULT_METRICS_MODE);
                    }
                });
            }
            MetricsMode::None
        };
        if let Some(order) = sort_order {
            let sorted_mode = match default {
                MetricsMode::None | MetricsMode::Counts => MetricsMode::Truncate(16),
                other => other,
            };
            for f in order.fields() {
                let preserves_order = matches!(
                    f.transform,
                    Transform::Identity
                        | Transform::Truncate(_)
                        | Transform::Year
                        | Transform::Month
                        | Transform::Day
                        | Transform::Hour
                );
                if preserves_order && let Some(name) = schema.name_by_id(*f.source_id) {
                    columns.insert(name.to_string(), sorted_mode);
                }
            }
        }
        for (name, mode) in parsed.write_metadata_metrics_columns {
            columns.insert(name, mode);
        }
        Ok(Self { default, columns })
    }

    /// The mode for a column, by its full dotted name (`location.lat`, `tags.element`).
    pub fn column_mode(&self, name: &str) -> MetricsMode {
        self.columns.get(name).copied().unwrap_or(self.default)
    }

    /// The mode for the column with field id `id` of `schema`.
    pub fn field_mode(&self, schema: &Schema, id: i32) -> MetricsMode {
        match schema.name_by_id(id) {
            Some(name) => self.column_mode(name),
            None => self.default,
        }
    }
}

fn visit_nested(f: &NestedField, visit: &mut impl FnMut(&NestedField)) {
    visit(f);
    match f.field_type.as_ref() {
        Type::Primitive(_) => {}
        Type::Struct(s) => s.fields().iter().for_each(|c| visit_nested(c, visit)),
        Type::List(l) => visit_nested(&l.element, visit),
        Type::Map(m) => {
            visit_nested(&m.key, visit);
            visit_nested(&m.value, visit);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Truncation (Java UnicodeUtil / BinaryUtil)
// ---------------------------------------------------------------------------------------------

/// A lower bound for strings starting with `s`: its first `len` code points.
pub fn truncate_string_min(s: &str, len: usize) -> &str {
    match s.char_indices().nth(len) {
        Some((end, _)) => &s[..end],
        None => s,
    }
}

/// An upper bound of at most `len` code points for `s`: `s` itself when it is short enough,
/// else its first `len` code points with the last one that can be incremented incremented (and
/// what follows it dropped). `None` when every code point is U+10FFFF, which has no successor.
/// The successor of U+D7FF is U+E000: surrogates are not characters.
pub fn truncate_string_max(s: &str, len: usize) -> Option<String> {
    let Some((end, _)) = s.char_indices().nth(len) else {
        return Some(s.to_string());
    };
    let prefix = &s[..end];
    let mut kept = prefix.char_indices().rev();
    kept.find_map(|(at, c)| {
        next_char(c).map(|next| {
            let mut out = String::with_capacity(at + 4);
            out.push_str(&prefix[..at]);
            out.push(next);
            out
        })
    })
}

fn next_char(c: char) -> Option<char> {
    match c as u32 {
        0xD7FF => Some('\u{E000}'),
        n => char::from_u32(n + 1),
    }
}

/// A lower bound for byte strings starting with `b`: its first `len` bytes.
pub fn truncate_binary_min(b: &[u8], len: usize) -> &[u8] {
    &b[..b.len().min(len)]
}

/// An upper bound of at most `len` bytes for `b`: `b` when short enough, else its first `len`
/// bytes with the last byte below 0xFF incremented and the rest dropped; `None` when all of
/// them are 0xFF.
pub fn truncate_binary_max(b: &[u8], len: usize) -> Option<Vec<u8>> {
    if b.len() <= len {
        return Some(b.to_vec());
    }
    let mut out = b[..len].to_vec();
    while let Some(last) = out.last_mut() {
        if *last < 0xFF {
            *last += 1;
            return Some(out);
        }
        out.pop();
    }
    None
}

// ---------------------------------------------------------------------------------------------
// Metrics from the footer
// ---------------------------------------------------------------------------------------------

/// What one leaf column gets.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Collect {
    /// Sizes and counts.
    Counts,
    /// Sizes, counts and bounds, strings and binary truncated to this many characters/bytes.
    Bounds(Option<usize>),
}

/// The effective collection for a leaf: the configured mode, with bounds dropped inside lists
/// and maps and truncation kept only for string and binary columns.
fn collect_for(mode: MetricsMode, ty: &PrimitiveType, repeated: bool) -> Option<Collect> {
    let c = match mode {
        MetricsMode::None => return None,
        MetricsMode::Counts => Collect::Counts,
        MetricsMode::Full => Collect::Bounds(None),
        MetricsMode::Truncate(n) => match ty {
            PrimitiveType::String | PrimitiveType::Binary => Collect::Bounds(Some(n as usize)),
            _ => Collect::Bounds(None),
        },
    };
    Some(if repeated { Collect::Counts } else { c })
}

/// Whether field `id` sits inside a list or a map.
fn is_repeated(schema: &Schema, id: i32) -> bool {
    let mut cur = schema.parent_id(id);
    while let Some(pid) = cur {
        if schema
            .field_by_id(pid)
            .is_some_and(|p| matches!(p.field_type.as_ref(), Type::List(_) | Type::Map(_)))
        {
            return true;
        }
        cur = schema.parent_id(pid);
    }
    false
}

#[derive(Debug, Default)]
struct ColumnAcc {
    size: i64,
    values: i64,
    nulls: i64,
    nans: i64,
    has_nans: bool,
    /// A chunk had no statistics: null counts and bounds are unknown.
    stats_missing: bool,
    min: Option<Datum>,
    max: Option<Datum>,
}

/// The metrics of one file, ready to go into a [`DataFile`].
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct FileMetrics {
    pub record_count: i64,
    pub column_sizes: Vec<(i32, i64)>,
    pub value_counts: Vec<(i32, i64)>,
    pub null_value_counts: Vec<(i32, i64)>,
    pub nan_value_counts: Vec<(i32, i64)>,
    pub lower_bounds: Vec<(i32, Vec<u8>)>,
    pub upper_bounds: Vec<(i32, Vec<u8>)>,
    pub split_offsets: Vec<i64>,
}

impl FileMetrics {
    /// The metrics of a file from its footer, for the table `schema` under `config`. Leaf
    /// columns are matched to the schema by the field ids in the Parquet schema; columns
    /// without an id, or with one the schema does not know, are skipped.
    pub fn from_parquet(
        meta: &ParquetMetaData,
        schema: &Schema,
        config: &MetricsConfig,
    ) -> Result<FileMetrics> {
        let descr = meta.file_metadata().schema_descr();
        // Per leaf column: (field id, type, what to collect), or None to skip.
        let plan: Vec<Option<(i32, PrimitiveType, Collect)>> = (0..descr.num_columns())
            .map(|i| {
                let info = descr.column(i).self_type().get_basic_info().clone();
                if !info.has_id() {
                    return None;
                }
                let id = info.id();
                let ty = *schema.primitive_type_by_id(id)?;
                let collect =
                    collect_for(config.field_mode(schema, id), &ty, is_repeated(schema, id))?;
                Some((id, ty, collect))
            })
            .collect();

        let mut acc: BTreeMap<i32, ColumnAcc> = BTreeMap::new();
        let mut split_offsets = Vec::with_capacity(meta.num_row_groups());
        for rg in meta.row_groups() {
            if let Some(first) = rg.columns().first() {
                let data = first.data_page_offset();
                split_offsets.push(match first.dictionary_page_offset() {
                    Some(dict) if dict < data => dict,
                    _ => data,
                });
            }
            for (chunk, plan) in rg.columns().iter().zip(&plan) {
                let Some((id, ty, collect)) = plan else {
                    continue;
                };
                let a = acc.entry(*id).or_default();
                a.size += chunk.compressed_size();
                a.values += chunk.num_values();
                let Some(stats) = chunk.statistics() else {
                    a.stats_missing = true;
                    continue;
                };
                match stats.null_count_opt() {
                    Some(n) => a.nulls += n as i64,
                    None => a.stats_missing = true,
                }
                if let Some(n) = stats.nan_count_opt() {
                    a.nans += n as i64;
                    a.has_nans = true;
                }
                if matches!(collect, Collect::Bounds(_))
                    && let Some((lo, hi)) = chunk_bounds(stats, ty)
                {
                    if a.min.as_ref().is_none_or(|m| is_less(&lo, m)) {
                        a.min = Some(lo);
                    }
                    if a.max.as_ref().is_none_or(|m| is_less(m, &hi)) {
                        a.max = Some(hi);
                    }
                }
            }
        }
        split_offsets.sort_unstable();

        let mut m = FileMetrics {
            record_count: meta.file_metadata().num_rows(),
            split_offsets,
            ..FileMetrics::default()
        };
        let plan_by_id: HashMap<i32, (PrimitiveType, Collect)> = plan
            .iter()
            .flatten()
            .map(|(id, ty, c)| (*id, (*ty, *c)))
            .collect();
        for (id, a) in acc {
            let Some((ty, collect)) = plan_by_id.get(&id) else {
                continue;
            };
            m.column_sizes.push((id, a.size));
            m.value_counts.push((id, a.values));
            if matches!(ty, PrimitiveType::Float | PrimitiveType::Double) && a.has_nans {
                m.nan_value_counts.push((id, a.nans));
            }
            if a.stats_missing {
                continue;
            }
            m.null_value_counts.push((id, a.nulls));
            if let Collect::Bounds(truncate) = collect {
                if let Some(lo) = &a.min {
                    m.lower_bounds.push((id, lower_bound_bytes(lo, *truncate)));
                }
                if let Some(hi) = &a.max
                    && let Some(bytes) = upper_bound_bytes(hi, *truncate)
                {
                    m.upper_bounds.push((id, bytes));
                }
            }
        }
        Ok(m)
    }

    /// Move the metrics into `file`.
    pub fn apply_to(self, file: &mut DataFile) {
        file.record_count = self.record_count;
        file.column_sizes = self.column_sizes;
        file.value_counts = self.value_counts;
        file.null_value_counts = self.null_value_counts;
        file.nan_value_counts = self.nan_value_counts;
        file.lower_bounds = self.lower_bounds;
        file.upper_bounds = self.upper_bounds;
        file.split_offsets = Some(self.split_offsets);
    }
}

fn is_less(a: &Datum, b: &Datum) -> bool {
    a.partial_cmp_same_type(b) == Some(std::cmp::Ordering::Less)
}

fn lower_bound_bytes(d: &Datum, truncate: Option<usize>) -> Vec<u8> {
    match (d, truncate) {
        (Datum::String(s), Some(n)) => truncate_string_min(s, n).as_bytes().to_vec(),
        (Datum::Binary(b), Some(n)) => truncate_binary_min(b, n).to_vec(),
        _ => d.to_bytes(),
    }
}

fn upper_bound_bytes(d: &Datum, truncate: Option<usize>) -> Option<Vec<u8>> {
    match (d, truncate) {
        (Datum::String(s), Some(n)) => truncate_string_max(s, n).map(String::into_bytes),
        (Datum::Binary(b), Some(n)) => truncate_binary_max(b, n),
        _ => Some(d.to_bytes()),
    }
}

/// A chunk's min and max as values of the column's Iceberg type; `None` when the statistics
/// have no min/max, the physical type does not fit the Iceberg type, or a float bound is NaN.
fn chunk_bounds(stats: &Statistics, ty: &PrimitiveType) -> Option<(Datum, Datum)> {
    use PrimitiveType as P;
    fn pair<T>(
        min: Option<&T>,
        max: Option<&T>,
        f: impl Fn(&T) -> Option<Datum>,
    ) -> Option<(Datum, Datum)> {
        Some((f(min?)?, f(max?)?))
    }
    match (stats, ty) {
        (Statistics::Boolean(s), P::Boolean) => {
            pair(s.min_opt(), s.max_opt(), |v| Some(Datum::Boolean(*v)))
        }
        (Statistics::Int32(s), _) => pair(s.min_opt(), s.max_opt(), |v| match ty {
            P::Int => Some(Datum::Int(*v)),
            P::Date => Some(Datum::Date(*v)),
            P::Long => Some(Datum::Long(i64::from(*v))),
            P::Decimal { precision, scale } => Some(decimal(i128::from(*v), *precision, *scale)),
            _ => None,
        }),
        (Statistics::Int64(s), _) => pair(s.min_opt(), s.max_opt(), |v| match ty {
            P::Long => Some(Datum::Long(*v)),
            P::Time => Some(Datum::Time(*v)),
            P::Timestamp => Some(Datum::Timestamp(*v)),
            P::Timestamptz => Some(Datum::Timestamptz(*v)),
            P::TimestampNs => Some(Datum::TimestampNs(*v)),
            P::TimestamptzNs => Some(Datum::TimestamptzNs(*v)),
            P::Decimal { precision, scale } => Some(decimal(i128::from(*v), *precision, *scale)),
            _ => None,
        }),
        (Statistics::Float(s), P::Float) => pair(s.min_opt(), s.max_opt(), |v| {
            (!v.is_nan()).then_some(Datum::Float(*v))
        }),
        (Statistics::Float(s), P::Double) => pair(s.min_opt(), s.max_opt(), |v| {
            (!v.is_nan()).then_some(Datum::Double(f64::from(*v)))
        }),
        (Statistics::Double(s), P::Double) => pair(s.min_opt(), s.max_opt(), |v| {
            (!v.is_nan()).then_some(Datum::Double(*v))
        }),
        (Statistics::ByteArray(s), P::String) => pair(s.min_opt(), s.max_opt(), |v| {
            std::str::from_utf8(v.data())
                .ok()
                .map(|s| Datum::String(s.to_string()))
        }),
        (Statistics::ByteArray(s), P::Binary) => pair(s.min_opt(), s.max_opt(), |v| {
            Some(Datum::Binary(v.data().to_vec()))
        }),
        (Statistics::FixedLenByteArray(s), _) => pair(s.min_opt(), s.max_opt(), |v| {
            let b = v.data();
            match ty {
                P::Uuid => uuid::Uuid::from_slice(b).ok().map(Datum::Uuid),
                P::Fixed(_) => Some(Datum::Fixed(b.to_vec())),
                P::Binary => Some(Datum::Binary(b.to_vec())),
                P::Decimal { precision, scale } => {
                    be_to_i128(b).map(|u| decimal(u, *precision, *scale))
                }
                _ => None,
            }
        }),
        _ => None,
    }
}

fn decimal(unscaled: i128, precision: u32, scale: u32) -> Datum {
    Datum::Decimal {
        unscaled,
        precision,
        scale,
    }
}

/// A big-endian two's-complement integer of 1 to 16 bytes.
fn be_to_i128(b: &[u8]) -> Option<i128> {
    if b.is_empty() || b.len() > 16 {
        return None;
    }
    let fill = if b[0] & 0x80 != 0 { 0xFF } else { 0x00 };
    let mut buf = [fill; 16];
    buf[16 - b.len()..].copy_from_slice(b);
    Some(i128::from_be_bytes(buf))
}

/// Map a parquet crate error into Floe's: storage failures are `Io`, the rest `DataInvalid`.
pub(crate) fn parquet_error(
    what: impl std::fmt::Display,
    e: parquet::errors::ParquetError,
) -> Error {
    use crate::ErrorKind;
    let kind = match &e {
        parquet::errors::ParquetError::External(_) => ErrorKind::Io,
        _ => ErrorKind::DataInvalid,
    };
    Error::new(kind, format!("{what}: {e}")).with_source(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_bounds_truncate_by_code_points() {
        assert_eq!(truncate_string_min("abc", 16), "abc");
        assert_eq!(truncate_string_min("héllo wörld", 4), "héll");
        assert_eq!(truncate_string_max("abc", 3).as_deref(), Some("abc"));
        assert_eq!(truncate_string_max("abcd", 3).as_deref(), Some("abd"));
        // Multi-byte: the 3rd code point (ö) is incremented to ÷.
        assert_eq!(truncate_string_max("aöbc", 2).as_deref(), Some("a÷"));
        // A maximal code point is skipped and dropped.
        assert_eq!(
            truncate_string_max("a\u{10FFFF}bc", 2).as_deref(),
            Some("b")
        );
        assert_eq!(truncate_string_max("\u{10FFFF}\u{10FFFF}x", 2), None);
        // No surrogates.
        assert_eq!(
            truncate_string_max("\u{D7FF}z", 1).as_deref(),
            Some("\u{E000}")
        );
    }

    #[test]
    fn binary_bounds_truncate_by_bytes() {
        assert_eq!(truncate_binary_min(&[1, 2, 3], 2), &[1, 2]);
        assert_eq!(truncate_binary_max(&[1, 2], 2), Some(vec![1, 2]));
        assert_eq!(truncate_binary_max(&[1, 2, 3], 2), Some(vec![1, 3]));
        assert_eq!(truncate_binary_max(&[1, 0xFF, 3], 2), Some(vec![2]));
        assert_eq!(truncate_binary_max(&[0xFF, 0xFF, 3], 2), None);
    }

    #[test]
    fn config_infers_none_beyond_the_column_limit() {
        let schema = Schema::builder()
            .with_fields(
                (1..=5).map(|i| NestedField::optional(i, format!("c{i}"), PrimitiveType::Int)),
            )
            .build()
            .unwrap();
        let props: BTreeMap<String, String> = [(
            "write.metadata.metrics.max-inferred-column-defaults".to_string(),
            "3".to_string(),
        )]
        .into();
        let c = MetricsConfig::from_table(&props, &schema, None).unwrap();
        assert_eq!(c.column_mode("c3"), MetricsMode::Truncate(16));
        assert_eq!(c.column_mode("c4"), MetricsMode::None);

        // An explicit default applies everywhere; overrides win; sorted columns are promoted.
        let mut props = props;
        props.insert(METRICS_DEFAULT_KEY.to_string(), "counts".to_string());
        props.insert(
            "write.metadata.metrics.column.c5".to_string(),
            "full".to_string(),
        );
        let order = SortOrder::new(
            1,
            vec![crate::spec::SortField {
                source_id: 2.into(),
                transform: Transform::Identity,
                direction: crate::spec::SortDirection::Asc,
                null_order: crate::spec::NullOrder::NullsFirst,
            }],
        );
        let c = MetricsConfig::from_table(&props, &schema, Some(&order)).unwrap();
        assert_eq!(c.column_mode("c4"), MetricsMode::Counts);
        assert_eq!(c.column_mode("c5"), MetricsMode::Full);
        assert_eq!(c.column_mode("c2"), MetricsMode::Truncate(16));
    }
}
