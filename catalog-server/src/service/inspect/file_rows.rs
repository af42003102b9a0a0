//! The rows of `files`, `data-files`, `delete-files` and `entries`, written straight into typed
//! Arrow columns, nested values (partition tuples, metric maps, `readable_metrics`, `data_file`)
//! as their compact JSON text.
//!
//! These kinds are the big ones (one row per file of a snapshot), so their rows never become
//! `serde_json::Value` trees: each nested value is written once, byte for byte as serde_json
//! writes the equivalent `Value` (object keys in sorted order, as its `Map` keeps them), into a
//! reusable buffer and from there into its column. The JSON answer copies that text into the
//! response, the Arrow answer sends the columns as they are, CSV reads the cells.

use std::io;
use std::sync::Arc;

use arrow_array::builder::{Int32Builder, Int64Builder, StringBuilder};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{Field, Schema};
use serde_json::ser::{CompactFormatter, Formatter};
use table_format::spec::{DataFile, Datum, ManifestEntry, PrimitiveType};

use super::{FILE_COLUMNS, TableView};

/// What every row of one table needs, computed once per page: the JSON key orders.
pub(super) struct FileRowLayout {
    /// Partition object keys in sorted order, each with its index in the union of specs' fields
    /// (a name that appears twice keeps the later field, as inserting into a map would).
    partition_keys: Vec<(String, usize)>,
    /// Per partition spec: for each union field, its position in that spec's tuple.
    spec_positions: Vec<(i32, Vec<Option<usize>>)>,
    /// `readable_metrics` keys in sorted order: (column name, field id, type).
    metric_columns: Vec<(String, i32, PrimitiveType)>,
}

/// Sort `(name, value)` pairs by name, keeping the last of equal names (map semantics).
fn sorted_unique<T>(items: Vec<(String, T)>) -> Vec<(String, T)> {
    let mut items = items;
    items.sort_by(|a, b| a.0.cmp(&b.0));
    let mut out: Vec<(String, T)> = Vec::with_capacity(items.len());
    for item in items {
        match out.last_mut() {
            Some(last) if last.0 == item.0 => *last = item,
            _ => out.push(item),
        }
    }
    out
}

impl FileRowLayout {
    pub(super) fn new(view: &TableView) -> Self {
        let partition_keys = sorted_unique(
            view.union
                .iter()
                .enumerate()
                .map(|(i, (_, name, _, _))| (name.clone(), i))
                .collect(),
        );
        let spec_positions = view
            .md
            .partition_specs()
            .iter()
            .map(|spec| {
                let positions = view
                    .union
                    .iter()
                    .map(|(id, _, _, _)| spec.fields().iter().position(|f| f.field_id == *id))
                    .collect();
                (spec.spec_id(), positions)
            })
            .collect();
        let metric_columns = sorted_unique(
            view.columns
                .iter()
                .map(|(id, name, ty)| (name.clone(), (*id, *ty)))
                .collect(),
        )
        .into_iter()
        .map(|(name, (id, ty))| (name, id, ty))
        .collect();
        Self {
            partition_keys,
            spec_positions,
            metric_columns,
        }
    }
}

fn key(w: &mut Vec<u8>, first: bool, name: &str) -> io::Result<()> {
    if !first {
        w.push(b',');
    }
    string(w, name)?;
    w.push(b':');
    Ok(())
}

fn string(w: &mut Vec<u8>, s: &str) -> io::Result<()> {
    serde_json::to_writer(w, s).map_err(io::Error::other)
}

fn long(w: &mut Vec<u8>, v: i64) -> io::Result<()> {
    CompactFormatter.write_i64(w, v)
}

fn opt_long(w: &mut Vec<u8>, v: Option<i64>) -> io::Result<()> {
    match v {
        Some(v) => long(w, v),
        None => {
            w.extend_from_slice(b"null");
            Ok(())
        }
    }
}

/// A value in the JSON single-value form (as `Datum::to_json` gives it).
fn datum(w: &mut Vec<u8>, d: &Datum) -> io::Result<()> {
    match d {
        Datum::Int(v) => long(w, i64::from(*v)),
        Datum::Long(v) => long(w, *v),
        Datum::String(s) => string(w, s),
        other => serde_json::to_writer(&mut *w, &other.to_json()).map_err(io::Error::other),
    }
}

/// A readable bound: the binary single value read as the column's type (null when it
/// cannot be read).
fn readable_bound(w: &mut Vec<u8>, bytes: Option<&[u8]>, ty: &PrimitiveType) -> io::Result<()> {
    let Some(bytes) = bytes else {
        w.extend_from_slice(b"null");
        return Ok(());
    };
    if *ty == PrimitiveType::String {
        // Spare the String a Datum would allocate.
        return match std::str::from_utf8(bytes) {
            Ok(s) => string(w, s),
            Err(_) => {
                w.extend_from_slice(b"null");
                Ok(())
            }
        };
    }
    match Datum::from_bytes(bytes, ty) {
        Ok(d) => datum(w, &d),
        Err(_) => {
            w.extend_from_slice(b"null");
            Ok(())
        }
    }
}

/// The last bound of one column read and its readable text, for the types whose text is
/// costly to make (dates, times, decimals, binary): neighbouring files often share bounds.
#[derive(Default)]
struct LastBound {
    bytes: Vec<u8>,
    text: Vec<u8>,
    set: bool,
}

/// [`readable_bound`], through the column's [`LastBound`].
fn cached_bound(
    w: &mut Vec<u8>,
    bytes: Option<&[u8]>,
    ty: &PrimitiveType,
    last: &mut LastBound,
) -> io::Result<()> {
    use PrimitiveType as P;
    let costly = !matches!(
        ty,
        P::Boolean | P::Int | P::Long | P::Float | P::Double | P::String
    );
    let Some(b) = bytes.filter(|_| costly) else {
        return readable_bound(w, bytes, ty);
    };
    if last.set && last.bytes == b {
        w.extend_from_slice(&last.text);
        return Ok(());
    }
    let start = w.len();
    readable_bound(w, bytes, ty)?;
    last.bytes.clear();
    last.bytes.extend_from_slice(b);
    last.text.clear();
    last.text.extend_from_slice(&w[start..]);
    last.set = true;
    Ok(())
}

/// Map entries in the order of their keys as strings (`"10"` before `"2"`), the last of equal
/// keys winning, as a `serde_json::Map` built from them orders and keeps them.
fn in_key_order<T>(list: &[(i32, T)], order: &mut Vec<usize>) {
    order.clear();
    order.extend(0..list.len());
    let mut a = itoa_buf();
    let mut b = itoa_buf();
    // Increasing keys of one digit count are already in string order (the usual case).
    let same_width = match (list.first(), list.last()) {
        (Some(f), Some(l)) => f.0 >= 0 && dec(&mut a, f.0).len() == dec(&mut b, l.0).len(),
        _ => true,
    };
    if same_width && list.windows(2).all(|p| p[0].0 < p[1].0) {
        return;
    }
    order.sort_by(|&i, &j| {
        let (x, y) = (list[i].0, list[j].0);
        dec(&mut a, x).cmp(dec(&mut b, y)).then(i.cmp(&j))
    });
    // Keep the last of each run of equal keys.
    let mut kept = 0;
    for k in 0..order.len() {
        if k + 1 < order.len() && list[order[k]].0 == list[order[k + 1]].0 {
            continue;
        }
        order[kept] = order[k];
        kept += 1;
    }
    order.truncate(kept);
}

fn itoa_buf() -> [u8; 12] {
    [0; 12]
}

/// The decimal text of `v` in `buf`.
fn dec(buf: &mut [u8; 12], v: i32) -> &[u8] {
    let mut n = i64::from(v).unsigned_abs();
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if v < 0 {
        i -= 1;
        buf[i] = b'-';
    }
    &buf[i..]
}

/// Writes one nested value of a row into the scratch buffer.
type Piece<'a> = &'a dyn Fn(&mut FileRows) -> io::Result<()>;

/// The typed columns of a page of file rows (or entry rows), filled row by row.
pub(super) struct FileRows {
    layout: FileRowLayout,
    entries: bool,
    len: usize,
    /// Scratch for one nested value's JSON text.
    buf: Vec<u8>,
    /// Scratch for the key order of a metric map.
    order: Vec<usize>,
    /// The last partition tuple written, with its spec and JSON text (the files of a manifest
    /// mostly share a few partitions, and dates and times are costly to format).
    last_partition: Option<(i32, Vec<Option<Datum>>, Vec<u8>)>,
    /// Per `readable_metrics` column: the last lower and upper bound.
    last_bounds: Vec<[LastBound; 2]>,
    int32: Vec<Int32Builder>,
    int64: Vec<Int64Builder>,
    text: Vec<StringBuilder>,
}

/// The most text a column reserves up front (wide tables' pages grow as they need).
const MAX_RESERVED_TEXT: usize = 16 << 20;

// Column slots of `files` rows.
const F_CONTENT: usize = 0;
const F_SPEC_ID: usize = 1;
const F_SORT_ORDER_ID: usize = 2;
const F_RECORD_COUNT: usize = 0;
const F_FILE_SIZE: usize = 1;
const F_FILE_PATH: usize = 0;
const F_FILE_FORMAT: usize = 1;
const F_PARTITION: usize = 2;
const F_COLUMN_SIZES: usize = 3;
const F_VALUE_COUNTS: usize = 4;
const F_NULL_VALUE_COUNTS: usize = 5;
const F_NAN_VALUE_COUNTS: usize = 6;
const F_LOWER_BOUNDS: usize = 7;
const F_UPPER_BOUNDS: usize = 8;
const F_KEY_METADATA: usize = 9;
const F_SPLIT_OFFSETS: usize = 10;
const F_EQUALITY_IDS: usize = 11;
const F_READABLE_METRICS: usize = 12;
// Column slots of `entries` rows.
const E_STATUS: usize = 0;
const E_SNAPSHOT_ID: usize = 0;
const E_SEQUENCE_NUMBER: usize = 1;
const E_FILE_SEQUENCE_NUMBER: usize = 2;
const E_DATA_FILE: usize = 0;
const E_READABLE_METRICS: usize = 1;

impl FileRows {
    /// Columns for `files`-shaped rows, or for `entries` rows when `entries`.
    pub(super) fn new(view: &TableView, entries: bool, capacity: usize) -> Self {
        let (ints, longs, texts) = if entries { (1, 3, 2) } else { (3, 2, 13) };
        let layout = FileRowLayout::new(view);
        // Bytes per row of each text column, roughly, so that a page's columns rarely grow:
        // the nested values grow with the columns of the table.
        let per_column = 40 * layout.metric_columns.len().max(1);
        let bytes_per_row = |slot: usize| match (entries, slot) {
            (true, E_DATA_FILE) => 128 + 3 * per_column,
            (true, _) | (false, F_READABLE_METRICS) => 3 * per_column,
            (false, F_LOWER_BOUNDS | F_UPPER_BOUNDS) => per_column / 2,
            (false, F_FILE_PATH) => 96,
            _ => 24,
        };
        Self {
            last_bounds: (0..layout.metric_columns.len())
                .map(|_| Default::default())
                .collect(),
            layout,
            entries,
            len: 0,
            buf: Vec::with_capacity(4096),
            order: Vec::new(),
            last_partition: None,
            int32: (0..ints)
                .map(|_| Int32Builder::with_capacity(capacity))
                .collect(),
            int64: (0..longs)
                .map(|_| Int64Builder::with_capacity(capacity))
                .collect(),
            text: (0..texts)
                .map(|slot| {
                    let bytes = (capacity * bytes_per_row(slot)).min(MAX_RESERVED_TEXT);
                    StringBuilder::with_capacity(capacity, bytes)
                })
                .collect(),
        }
    }

    /// Rows so far.
    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// Add one entry's row.
    pub(super) fn push(&mut self, spec_id: i32, e: &ManifestEntry) -> io::Result<()> {
        let f = &e.data_file;
        if self.entries {
            self.int32[E_STATUS].append_value(e.status as i32);
            self.int64[E_SNAPSHOT_ID].append_option(e.snapshot_id);
            self.int64[E_SEQUENCE_NUMBER].append_option(e.sequence_number);
            self.int64[E_FILE_SEQUENCE_NUMBER].append_option(e.file_sequence_number);
            self.buf.clear();
            self.data_file_object(spec_id, f)?;
            self.flush_text(E_DATA_FILE)?;
            self.buf.clear();
            self.readable_metrics(f)?;
            self.flush_text(E_READABLE_METRICS)?;
        } else {
            self.int32[F_CONTENT].append_value(f.content as i32);
            self.int32[F_SPEC_ID].append_value(spec_id);
            self.int32[F_SORT_ORDER_ID].append_option(f.sort_order_id);
            self.int64[F_RECORD_COUNT].append_value(f.record_count);
            self.int64[F_FILE_SIZE].append_value(f.file_size_in_bytes);
            self.text[F_FILE_PATH].append_value(&f.file_path);
            self.text[F_FILE_FORMAT].append_value(f.file_format.as_str());
            match &f.key_metadata {
                Some(k) => self.text[F_KEY_METADATA].append_value(hex::encode(k)),
                None => self.text[F_KEY_METADATA].append_null(),
            }
            let pieces: [(usize, Piece); 7] = [
                (F_PARTITION, &|s| s.partition(spec_id, &f.partition)),
                (F_COLUMN_SIZES, &|s| s.counts(&f.column_sizes)),
                (F_VALUE_COUNTS, &|s| s.counts(&f.value_counts)),
                (F_NULL_VALUE_COUNTS, &|s| s.counts(&f.null_value_counts)),
                (F_NAN_VALUE_COUNTS, &|s| s.counts(&f.nan_value_counts)),
                (F_LOWER_BOUNDS, &|s| s.bounds(&f.lower_bounds)),
                (F_UPPER_BOUNDS, &|s| s.bounds(&f.upper_bounds)),
            ];
            for (slot, write) in pieces {
                self.buf.clear();
                write(self)?;
                self.flush_text(slot)?;
            }
            self.opt_list(F_SPLIT_OFFSETS, f.split_offsets.as_deref())?;
            let ids: Option<Vec<i64>> = f
                .equality_ids
                .as_ref()
                .map(|v| v.iter().map(|i| i64::from(*i)).collect());
            self.opt_list(F_EQUALITY_IDS, ids.as_deref())?;
            self.buf.clear();
            self.readable_metrics(f)?;
            self.flush_text(F_READABLE_METRICS)?;
        }
        self.len += 1;
        Ok(())
    }

    /// The rows as one record batch, columns in the kind's order.
    pub(super) fn finish(mut self) -> Result<RecordBatch, arrow_schema::ArrowError> {
        let int32: Vec<ArrayRef> = self
            .int32
            .iter_mut()
            .map(|b| Arc::new(b.finish()) as ArrayRef)
            .collect();
        let int64: Vec<ArrayRef> = self
            .int64
            .iter_mut()
            .map(|b| Arc::new(b.finish()) as ArrayRef)
            .collect();
        let text: Vec<ArrayRef> = self
            .text
            .iter_mut()
            .map(|b| Arc::new(b.finish()) as ArrayRef)
            .collect();
        let take = |v: &[ArrayRef], i: usize| v[i].clone();
        let (names, arrays): (Vec<&str>, Vec<ArrayRef>) = if self.entries {
            let cols = [
                ("status", take(&int32, E_STATUS)),
                ("snapshot_id", take(&int64, E_SNAPSHOT_ID)),
                ("sequence_number", take(&int64, E_SEQUENCE_NUMBER)),
                ("file_sequence_number", take(&int64, E_FILE_SEQUENCE_NUMBER)),
                ("data_file", take(&text, E_DATA_FILE)),
                ("readable_metrics", take(&text, E_READABLE_METRICS)),
            ];
            cols.into_iter().unzip()
        } else {
            FILE_COLUMNS
                .iter()
                .map(|c| {
                    let a = match *c {
                        "content" => take(&int32, F_CONTENT),
                        "spec_id" => take(&int32, F_SPEC_ID),
                        "sort_order_id" => take(&int32, F_SORT_ORDER_ID),
                        "record_count" => take(&int64, F_RECORD_COUNT),
                        "file_size_in_bytes" => take(&int64, F_FILE_SIZE),
                        "file_path" => take(&text, F_FILE_PATH),
                        "file_format" => take(&text, F_FILE_FORMAT),
                        "partition" => take(&text, F_PARTITION),
                        "column_sizes" => take(&text, F_COLUMN_SIZES),
                        "value_counts" => take(&text, F_VALUE_COUNTS),
                        "null_value_counts" => take(&text, F_NULL_VALUE_COUNTS),
                        "nan_value_counts" => take(&text, F_NAN_VALUE_COUNTS),
                        "lower_bounds" => take(&text, F_LOWER_BOUNDS),
                        "upper_bounds" => take(&text, F_UPPER_BOUNDS),
                        "key_metadata" => take(&text, F_KEY_METADATA),
                        "split_offsets" => take(&text, F_SPLIT_OFFSETS),
                        "equality_ids" => take(&text, F_EQUALITY_IDS),
                        _ => take(&text, F_READABLE_METRICS),
                    };
                    (*c, a)
                })
                .unzip()
        };
        let schema = Schema::new(
            names
                .iter()
                .zip(&arrays)
                .map(|(n, a)| Field::new(*n, a.data_type().clone(), true))
                .collect::<Vec<_>>(),
        );
        RecordBatch::try_new(Arc::new(schema), arrays)
    }

    fn flush_text(&mut self, slot: usize) -> io::Result<()> {
        let s = std::str::from_utf8(&self.buf).map_err(io::Error::other)?;
        self.text[slot].append_value(s);
        Ok(())
    }

    /// A nullable list of integers as JSON text (null stays null).
    fn opt_list(&mut self, slot: usize, list: Option<&[i64]>) -> io::Result<()> {
        let Some(list) = list else {
            self.text[slot].append_null();
            return Ok(());
        };
        self.buf.clear();
        self.buf.push(b'[');
        for (i, v) in list.iter().enumerate() {
            if i > 0 {
                self.buf.push(b',');
            }
            long(&mut self.buf, *v)?;
        }
        self.buf.push(b']');
        self.flush_text(slot)
    }

    fn opt_list_inline(&mut self, list: Option<&[i64]>) -> io::Result<()> {
        let Some(list) = list else {
            self.buf.extend_from_slice(b"null");
            return Ok(());
        };
        self.buf.push(b'[');
        for (i, v) in list.iter().enumerate() {
            if i > 0 {
                self.buf.push(b',');
            }
            long(&mut self.buf, *v)?;
        }
        self.buf.push(b']');
        Ok(())
    }

    /// The partition tuple as an object over the union of all specs' fields (fields its own
    /// spec lacks are null).
    fn partition(&mut self, spec_id: i32, values: &[Option<Datum>]) -> io::Result<()> {
        if let Some((last_spec, last_values, text)) = &self.last_partition
            && *last_spec == spec_id
            && last_values.as_slice() == values
        {
            self.buf.extend_from_slice(text);
            return Ok(());
        }
        let start = self.buf.len();
        let positions = self
            .layout
            .spec_positions
            .iter()
            .find(|(id, _)| *id == spec_id)
            .map(|(_, p)| p.as_slice());
        self.buf.push(b'{');
        for (k, (name, u)) in self.layout.partition_keys.iter().enumerate() {
            key(&mut self.buf, k == 0, name)?;
            let v = positions
                .and_then(|p| p.get(*u).copied().flatten())
                .and_then(|pos| values.get(pos))
                .and_then(Option::as_ref);
            match v {
                Some(d) => datum(&mut self.buf, d)?,
                None => self.buf.extend_from_slice(b"null"),
            }
        }
        self.buf.push(b'}');
        self.last_partition = Some((spec_id, values.to_vec(), self.buf[start..].to_vec()));
        Ok(())
    }

    /// A metric map keyed by field id.
    fn counts(&mut self, list: &[(i32, i64)]) -> io::Result<()> {
        in_key_order(list, &mut self.order);
        self.buf.push(b'{');
        let mut digits = itoa_buf();
        for (k, &i) in self.order.iter().enumerate() {
            let (id, v) = list[i];
            if k > 0 {
                self.buf.push(b',');
            }
            self.buf.push(b'"');
            self.buf.extend_from_slice(dec(&mut digits, id));
            self.buf.extend_from_slice(b"\":");
            long(&mut self.buf, v)?;
        }
        self.buf.push(b'}');
        Ok(())
    }

    /// A bounds map keyed by field id, values as lower-case hex.
    fn bounds(&mut self, list: &[(i32, Vec<u8>)]) -> io::Result<()> {
        in_key_order(list, &mut self.order);
        self.buf.push(b'{');
        let mut digits = itoa_buf();
        const HEX: &[u8; 16] = b"0123456789abcdef";
        for (k, &i) in self.order.iter().enumerate() {
            let (id, v) = &list[i];
            if k > 0 {
                self.buf.push(b',');
            }
            self.buf.push(b'"');
            self.buf.extend_from_slice(dec(&mut digits, *id));
            self.buf.extend_from_slice(b"\":\"");
            for b in v {
                self.buf.push(HEX[usize::from(b >> 4)]);
                self.buf.push(HEX[usize::from(b & 0xf)]);
            }
            self.buf.push(b'"');
        }
        self.buf.push(b'}');
        Ok(())
    }

    /// Per column of the current schema: sizes, counts and the bounds in readable form.
    fn readable_metrics(&mut self, f: &DataFile) -> io::Result<()> {
        use table_format::spec::manifest::{bound, metric};
        let Self {
            buf: w,
            layout,
            last_bounds,
            ..
        } = self;
        w.push(b'{');
        for ((k, (name, id, ty)), last) in layout
            .metric_columns
            .iter()
            .enumerate()
            .zip(last_bounds.iter_mut())
        {
            let id = *id;
            key(w, k == 0, name)?;
            w.extend_from_slice(b"{\"column_size\":");
            opt_long(w, metric(&f.column_sizes, id))?;
            w.extend_from_slice(b",\"lower_bound\":");
            cached_bound(w, bound(&f.lower_bounds, id), ty, &mut last[0])?;
            w.extend_from_slice(b",\"nan_value_count\":");
            opt_long(w, metric(&f.nan_value_counts, id))?;
            w.extend_from_slice(b",\"null_value_count\":");
            opt_long(w, metric(&f.null_value_counts, id))?;
            w.extend_from_slice(b",\"upper_bound\":");
            cached_bound(w, bound(&f.upper_bounds, id), ty, &mut last[1])?;
            w.extend_from_slice(b",\"value_count\":");
            opt_long(w, metric(&f.value_counts, id))?;
            w.push(b'}');
        }
        w.push(b'}');
        Ok(())
    }

    /// The `data_file` object of an entry row: the `files` columns but `readable_metrics`, keys
    /// in sorted order.
    fn data_file_object(&mut self, spec_id: i32, f: &DataFile) -> io::Result<()> {
        self.buf.extend_from_slice(b"{\"column_sizes\":");
        self.counts(&f.column_sizes)?;
        self.buf.extend_from_slice(b",\"content\":");
        long(&mut self.buf, f.content as i64)?;
        self.buf.extend_from_slice(b",\"equality_ids\":");
        let ids: Option<Vec<i64>> = f
            .equality_ids
            .as_ref()
            .map(|v| v.iter().map(|i| i64::from(*i)).collect());
        self.opt_list_inline(ids.as_deref())?;
        self.buf.extend_from_slice(b",\"file_format\":");
        string(&mut self.buf, f.file_format.as_str())?;
        self.buf.extend_from_slice(b",\"file_path\":");
        string(&mut self.buf, &f.file_path)?;
        self.buf.extend_from_slice(b",\"file_size_in_bytes\":");
        long(&mut self.buf, f.file_size_in_bytes)?;
        self.buf.extend_from_slice(b",\"key_metadata\":");
        match &f.key_metadata {
            Some(k) => string(&mut self.buf, &hex::encode(k))?,
            None => self.buf.extend_from_slice(b"null"),
        }
        self.buf.extend_from_slice(b",\"lower_bounds\":");
        self.bounds(&f.lower_bounds)?;
        self.buf.extend_from_slice(b",\"nan_value_counts\":");
        self.counts(&f.nan_value_counts)?;
        self.buf.extend_from_slice(b",\"null_value_counts\":");
        self.counts(&f.null_value_counts)?;
        self.buf.extend_from_slice(b",\"partition\":");
        self.partition(spec_id, &f.partition)?;
        self.buf.extend_from_slice(b",\"record_count\":");
        long(&mut self.buf, f.record_count)?;
        self.buf.extend_from_slice(b",\"sort_order_id\":");
        opt_long(&mut self.buf, f.sort_order_id.map(i64::from))?;
        self.buf.extend_from_slice(b",\"spec_id\":");
        long(&mut self.buf, i64::from(spec_id))?;
        self.buf.extend_from_slice(b",\"split_offsets\":");
        self.opt_list_inline(f.split_offsets.as_deref())?;
        self.buf.extend_from_slice(b",\"upper_bounds\":");
        self.bounds(&f.upper_bounds)?;
        self.buf.extend_from_slice(b",\"value_counts\":");
        self.counts(&f.value_counts)?;
        self.buf.push(b'}');
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::Value;
    use table_format::spec::{
        DataContentType, FormatVersion, ManifestStatus, NestedField, Schema, SortOrder, SourceId,
        TableMetadataBuilder, TableUpdate, Transform, UnboundPartitionField, UnboundPartitionSpec,
    };

    use super::*;
    use crate::service::InspectKind;

    /// A table with one column of each common type and two partition specs.
    fn view() -> TableView {
        let schema = Schema::builder()
            .with_fields([
                NestedField::optional(1, "id", PrimitiveType::Long),
                NestedField::optional(2, "ts", PrimitiveType::Timestamptz),
                NestedField::optional(3, "category", PrimitiveType::String),
                NestedField::optional(4, "value", PrimitiveType::Double),
                NestedField::optional(5, "d", PrimitiveType::Date),
                NestedField::optional(
                    10,
                    "amount",
                    PrimitiveType::Decimal {
                        precision: 9,
                        scale: 2,
                    },
                ),
                NestedField::optional(11, "blob", PrimitiveType::Binary),
                NestedField::optional(12, "n", PrimitiveType::Int),
            ])
            .build()
            .unwrap();
        let field = |source: i32, name: &str, transform| UnboundPartitionField {
            source_id: SourceId::from(source),
            field_id: None,
            name: name.into(),
            transform,
        };
        let spec = UnboundPartitionSpec {
            spec_id: None,
            fields: vec![field(2, "ts_day", Transform::Day)],
        };
        let md = TableMetadataBuilder::new_table(
            schema,
            spec,
            SortOrder::unsorted(),
            "file:///t",
            BTreeMap::new(),
        )
        .unwrap()
        .build()
        .unwrap()
        .metadata;
        let mut b = TableMetadataBuilder::from_metadata(md, None);
        b.apply(TableUpdate::AddSpec {
            spec: UnboundPartitionSpec {
                spec_id: None,
                fields: vec![
                    field(3, "category", Transform::Identity),
                    field(1, "id_bucket", Transform::Bucket(4)),
                ],
            },
        })
        .unwrap();
        let md = b.build().unwrap().metadata;
        assert_eq!(md.format_version(), FormatVersion::V2);
        TableView::new(Arc::new(md))
    }

    fn files() -> Vec<(i32, ManifestEntry)> {
        let full = DataFile {
            content: DataContentType::Data,
            file_path: "file:///t/data/a \"quoted\"\\ é\n.parquet".into(),
            partition: vec![Some(Datum::Date(19_000))],
            record_count: 10,
            file_size_in_bytes: 1234,
            column_sizes: vec![(1, 10), (2, 20), (3, 30), (10, 40), (12, 50)],
            value_counts: vec![(12, 1), (2, 2), (10, 3), (1, 4)],
            null_value_counts: vec![(1, 0), (1, 5)],
            nan_value_counts: vec![(4, 0)],
            lower_bounds: vec![
                (1, Datum::Long(-7).to_bytes()),
                (2, Datum::Timestamptz(1_700_000_000_123_456).to_bytes()),
                (3, Datum::String("a\"b\u{1}".into()).to_bytes()),
                (4, Datum::Double(0.1).to_bytes()),
                (5, Datum::Date(-3).to_bytes()),
                (10, Datum::decimal(-12345, 9, 2).unwrap().to_bytes()),
                (11, vec![0xde, 0xad]),
                (12, Datum::Int(3).to_bytes()),
            ],
            upper_bounds: vec![
                (1, vec![1, 2, 3]),
                (3, vec![0xff, 0xfe]),
                (4, Datum::Double(f64::INFINITY).to_bytes()),
                (12, Datum::Int(i32::MAX).to_bytes()),
            ],
            key_metadata: Some(vec![0, 1, 0xab]),
            split_offsets: Some(vec![4, 100]),
            equality_ids: Some(vec![1, 3]),
            sort_order_id: Some(0),
            ..Default::default()
        };
        let bare = DataFile {
            content: DataContentType::EqualityDeletes,
            file_path: "file:///t/data/b.parquet".into(),
            partition: vec![Some(Datum::String("x".into())), None],
            record_count: 1,
            file_size_in_bytes: 1,
            ..Default::default()
        };
        let entry = |status, snapshot_id, data_file| ManifestEntry {
            status,
            snapshot_id,
            sequence_number: snapshot_id,
            file_sequence_number: None,
            data_file,
        };
        vec![
            (0, entry(ManifestStatus::Added, Some(5), full.clone())),
            (1, entry(ManifestStatus::Deleted, None, bare)),
            // A spec the table does not know: every partition field is null.
            (9, entry(ManifestStatus::Existing, Some(1), full)),
        ]
    }

    /// Columns and their JSON form are byte for byte the `Value` rows serde_json writes; their
    /// CSV and Arrow forms are those of the `Value` rows.
    #[test]
    fn columns_write_the_same_json_as_values() {
        let view = view();
        for (kind, entries) in [(InspectKind::Files, false), (InspectKind::Entries, true)] {
            let mut rows = FileRows::new(&view, entries, 0);
            let mut values = Vec::new();
            for (spec_id, e) in files() {
                rows.push(spec_id, &e).unwrap();
                values.push(if entries {
                    view.entry_row(spec_id, &e)
                } else {
                    view.file_row(spec_id, &e.data_file)
                });
            }
            assert_eq!(rows.len(), values.len());
            let batch = rows.finish().unwrap();
            let schema = batch.schema();
            let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
            assert_eq!(names, kind.columns());
            let mut json = Vec::new();
            crate::api::inspect_arrow::json_rows(kind, &batch, &mut json).unwrap();
            assert_eq!(
                String::from_utf8(json).unwrap(),
                serde_json::to_string(&Value::Array(values.clone())).unwrap(),
                "{kind:?}"
            );
            // CSV and Arrow read the same cells from either shape.
            let page = |rows| crate::service::InspectPage {
                kind,
                rows,
                next_page_token: None,
            };
            let columns = page(crate::service::InspectRows::Columns(batch));
            let values = page(crate::service::InspectRows::Values(values));
            let csv = crate::api::inspect::csv_body;
            assert_eq!(csv(&columns).unwrap(), csv(&values).unwrap(), "{kind:?}");
            let ipc = crate::api::inspect_arrow::ipc_stream;
            assert_eq!(ipc(&columns).unwrap(), ipc(&values).unwrap(), "{kind:?}");
        }
    }

    #[test]
    fn metric_maps_order_keys_as_text() {
        let mut order = Vec::new();
        let list = [(2, 0), (10, 0), (1, 0), (10, 1), (-1, 0)];
        in_key_order(&list, &mut order);
        assert_eq!(order, vec![4, 2, 3, 0]);
        in_key_order(&[(1, 0), (2, 0), (3, 0)], &mut order);
        assert_eq!(order, vec![0, 1, 2]);
        let mut b = itoa_buf();
        assert_eq!(dec(&mut b, i32::MIN), b"-2147483648");
    }
}
