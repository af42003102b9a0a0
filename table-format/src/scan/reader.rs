//! Reading one planned file into Arrow: projection by field id, schema evolution, deletes.
//!
//! - [`FileScanTask`]: a data file to read, with the delete files that apply to it.
//! - [`ArrowReader`]: reads tasks into record batches of the scan's projected schema:
//!   columns are matched by field id (renamed columns read), added columns read as null,
//!   promoted types are cast (int→long, float→double, decimal widening, date→timestamp),
//!   and position deletes, equality deletes and deletion vectors drop their rows.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use arrow_array::{
    Array, ArrayRef, BooleanArray, Int64Array, RecordBatch, StringArray, StructArray,
    new_null_array,
};
use arrow_schema::{DataType, Field, Fields, SchemaRef};
use arrow_select::filter::filter_record_batch;
use bytes::Bytes;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::arrow::{field_id_of, iceberg_schema_to_arrow, iceberg_type_to_arrow};
use crate::expr::BoundPredicate;
use crate::io::FileIO;
use crate::spec::{
    DataContentType, DataFile, DataFileFormat, NestedField, Schema, StructType, Type,
};
use crate::{Error, Result};

/// Field id of `file_path` in position delete files (spec reserved id).
pub const POS_DELETE_FILE_PATH_ID: i32 = 2_147_483_546;
/// Field id of `pos` in position delete files (spec reserved id).
pub const POS_DELETE_POS_ID: i32 = 2_147_483_545;

/// A delete file that applies to a data file, with its data sequence number.
#[derive(Debug, Clone, PartialEq)]
pub struct DeleteFileRef {
    /// The delete file (shared: one delete file applies to many data files).
    pub file: Arc<DataFile>,
    /// Its data sequence number.
    pub sequence_number: i64,
}

/// The equality deletes of a whole scan, indexed once: per (equality field ids, scope), the
/// highest delete sequence number of each key. A row is deleted when its key's number in the
/// data file's partition scope, or in the global scope, is above the file's sequence number
/// (the spec's rule), so each row costs one look-up however many delete files there are.
#[derive(Debug, Default)]
pub struct EqualityIndex {
    scopes: HashMap<(Vec<i32>, String), KeySequences>,
}

/// Equality keys and the highest delete sequence number of each. A key of one integer column
/// (an `int` or `long` id, the usual upsert key) is kept as its value, a look-up that costs a
/// few nanoseconds; other keys (and a null integer) as row-encoded bytes.
#[derive(Debug, Default)]
struct KeySequences {
    ints: rustc_hash::FxHashMap<i64, i64>,
    rows: rustc_hash::FxHashMap<Box<[u8]>, i64>,
}

/// Column `id` of `batch`, when it is the only key column and holds integers.
fn int_key_column(batch: &RecordBatch, ids: &[i32]) -> Option<ArrayRef> {
    let [id] = ids else {
        return None;
    };
    let idx = batch
        .schema()
        .fields()
        .iter()
        .position(|f| field_id_of(f) == Some(*id))?;
    let c = batch.column(idx);
    matches!(c.data_type(), DataType::Int64 | DataType::Int32).then(|| c.clone())
}

/// The values of an integer column as `i64`s, `None` where null.
fn int_values(c: &ArrayRef) -> Box<dyn Iterator<Item = Option<i64>> + '_> {
    use arrow_array::cast::AsArray;
    use arrow_array::types::{Int32Type, Int64Type};
    match c.data_type() {
        DataType::Int32 => Box::new(
            c.as_primitive::<Int32Type>()
                .iter()
                .map(|v| v.map(i64::from)),
        ),
        _ => Box::new(c.as_primitive::<Int64Type>().iter()),
    }
}

impl KeySequences {
    /// Record every row of `batch` (its key columns `ids`) as deleted at `seq`.
    fn insert(&mut self, batch: &RecordBatch, ids: &[i32], seq: i64) -> Result<()> {
        let raise = |e: &mut i64| *e = (*e).max(seq);
        if let Some(c) = int_key_column(batch, ids)
            && c.null_count() == 0
        {
            self.ints.reserve(c.len());
            for v in int_values(&c).flatten() {
                raise(self.ints.entry(v).or_insert(i64::MIN));
            }
            return Ok(());
        }
        let ints: Option<Vec<Option<i64>>> =
            int_key_column(batch, ids).map(|c| int_values(&c).collect());
        let rows = row_keys(batch, ids)?;
        for (i, key) in rows.iter().enumerate() {
            match ints.as_ref().and_then(|v| v[i]) {
                Some(v) => raise(self.ints.entry(v).or_insert(i64::MIN)),
                None => raise(
                    self.rows
                        .entry(key.as_ref().to_vec().into_boxed_slice())
                        .or_insert(i64::MIN),
                ),
            }
        }
        Ok(())
    }

    /// Clear `keep` for the rows of `batch` whose key was deleted after `data_seq`.
    fn apply(
        &self,
        batch: &RecordBatch,
        ids: &[i32],
        data_seq: i64,
        keep: &mut [bool],
    ) -> Result<()> {
        let deleted = |s: Option<&i64>| s.is_some_and(|s| *s > data_seq);
        if let Some(c) = int_key_column(batch, ids) {
            if self.ints.is_empty() && self.rows.is_empty() {
                return Ok(());
            }
            // The common case, a long id without nulls: a plain loop over the values.
            if c.null_count() == 0
                && let Some(longs) = c.as_any().downcast_ref::<Int64Array>()
            {
                for (k, v) in keep.iter_mut().zip(longs.values().iter()) {
                    if deleted(self.ints.get(v)) {
                        *k = false;
                    }
                }
                return Ok(());
            }
            let has_nulls = c.null_count() > 0;
            let rows = if has_nulls {
                Some(row_keys(batch, ids)?)
            } else {
                None
            };
            for (i, v) in int_values(&c).enumerate() {
                let gone = match v {
                    Some(v) => deleted(self.ints.get(&v)),
                    None => rows
                        .as_ref()
                        .is_some_and(|r| deleted(self.rows.get(r.row(i).as_ref()))),
                };
                if gone {
                    keep[i] = false;
                }
            }
            return Ok(());
        }
        if self.rows.is_empty() {
            return Ok(());
        }
        for (i, key) in row_keys(batch, ids)?.iter().enumerate() {
            if deleted(self.rows.get(key.as_ref())) {
                keep[i] = false;
            }
        }
        Ok(())
    }
}

/// The scope key of a partition tuple (empty or all-null tuples are global).
fn scope_of(spec_id: i32, partition: &crate::spec::PartitionValues) -> String {
    if partition.iter().all(Option::is_none) {
        String::new()
    } else {
        format!(
            "{spec_id}:{}",
            crate::spec::manifest::partition_key(partition)
        )
    }
}

/// One data file to read, and the delete files that apply to it.
#[derive(Debug, Clone, PartialEq)]
pub struct FileScanTask {
    /// The data file.
    pub data_file: DataFile,
    /// The partition spec the file was written with.
    pub spec_id: i32,
    /// The file's data sequence number.
    pub sequence_number: i64,
    /// Position deletes, equality deletes and deletion vectors for this file.
    pub deletes: Vec<DeleteFileRef>,
}

/// Equality delete keys by delete file path, shared by the tasks of one reader.
type EqualityCache = Arc<std::sync::Mutex<HashMap<String, Arc<HashSet<Vec<u8>>>>>>;

/// Reads [`FileScanTask`]s into record batches of a projected schema.
#[derive(Debug, Clone)]
pub struct ArrowReader {
    io: FileIO,
    /// The schema rows are read as (the snapshot's schema), for field look-ups.
    schema: Arc<Schema>,
    /// Top-level field ids to return, in order.
    projected: Vec<i32>,
    /// Rows to keep: those matching the filter, or (when `exclude`) those not matching it.
    filter: Option<BoundPredicate>,
    exclude: bool,
    batch_size: usize,
    /// Keys of equality delete files already read (one file applies to many data files).
    equality_cache: EqualityCache,
    /// A scan-wide index of equality deletes, used instead of per-task key sets when set.
    equality_index: Option<Arc<EqualityIndex>>,
}

impl ArrowReader {
    /// A reader returning the top-level fields `projected` (by id) of `schema`.
    pub fn new(io: FileIO, schema: Arc<Schema>, projected: Vec<i32>) -> Result<Self> {
        for id in &projected {
            if schema.as_struct().field_by_id(*id).is_none() {
                return Err(Error::invalid(format!(
                    "projected field id {id} is not a top-level field of the schema"
                )));
            }
        }
        Ok(Self {
            io,
            schema,
            projected,
            filter: None,
            exclude: false,
            batch_size: 8192,
            equality_cache: Arc::default(),
            equality_index: None,
        })
    }

    /// Keep only rows matching `filter` (bound to the reader's schema); SQL semantics, so a
    /// row where the filter is null is dropped.
    pub fn with_filter(mut self, filter: Option<BoundPredicate>) -> Self {
        self.filter = filter;
        self.exclude = false;
        self
    }

    /// Use a scan-wide equality delete index (see [`ArrowReader::build_equality_index`]).
    pub fn with_equality_index(mut self, index: Arc<EqualityIndex>) -> Self {
        self.equality_index = Some(index);
        self
    }

    /// Index the equality delete files of `tasks`, each file read once. A partition-scoped
    /// delete file is attached only to data files of its own spec and partition, so the
    /// task's spec is the delete file's.
    pub async fn build_equality_index(&self, tasks: &[FileScanTask]) -> Result<EqualityIndex> {
        use futures::{StreamExt, TryStreamExt};
        let mut seen = HashSet::new();
        let mut files: Vec<(String, DeleteFileRef, Vec<i32>)> = Vec::new();
        for t in tasks {
            for d in &t.deletes {
                if d.file.content != DataContentType::EqualityDeletes
                    || !seen.insert(d.file.file_path.clone())
                {
                    continue;
                }
                let ids = d.file.equality_ids.clone().unwrap_or_default();
                if ids.is_empty() {
                    return Err(Error::invalid(format!(
                        "equality delete file {} has no equality ids",
                        d.file.file_path
                    )));
                }
                // Equality deletes in a partitioned spec apply within their partition, which
                // is the data file's (same spec) by the planner's rules.
                files.push((scope_of(t.spec_id, &d.file.partition), d.clone(), ids));
            }
        }
        // Read the delete files a few at a time, each on its own runtime task (decoding runs
        // on all cores); merge their keys as they arrive.
        let mut loaded = futures::stream::iter(files)
            .map(|(scope, d, ids)| {
                let reader = self.clone();
                tokio::spawn(async move {
                    let keys = reader.load_equality_batches(&d.file, &ids).await?;
                    Ok::<_, Error>((scope, d.sequence_number, ids, keys))
                })
            })
            .buffer_unordered(8)
            .map(|joined| {
                joined.map_err(|e| {
                    Error::invalid(format!(
                        "an equality delete read task panicked or was cancelled: {e}"
                    ))
                })?
            });
        let mut index = EqualityIndex::default();
        while let Some((scope, seq, ids, batches)) = loaded.try_next().await? {
            let map = index.scopes.entry((ids.clone(), scope)).or_default();
            for batch in &batches {
                map.insert(batch, &ids, seq)?;
            }
        }
        Ok(index)
    }

    /// Keep only rows for which `filter` is not true (false or null): the rows that survive a
    /// delete by `filter`.
    pub fn with_exclusion(mut self, filter: BoundPredicate) -> Self {
        self.filter = Some(filter);
        self.exclude = true;
        self
    }

    /// The Arrow schema of the batches this reader returns.
    pub fn output_schema(&self) -> Result<SchemaRef> {
        Ok(Arc::new(iceberg_schema_to_arrow(
            &self.projected_schema(&self.projected)?,
        )?))
    }

    fn projected_schema(&self, ids: &[i32]) -> Result<Schema> {
        let fields = ids
            .iter()
            .filter_map(|id| self.schema.as_struct().field_by_id(*id).cloned())
            .collect::<Vec<_>>();
        Schema::builder().with_fields(fields).build()
    }

    /// Read one task: its rows, minus deleted rows, as batches of the output schema.
    pub async fn read(&self, task: &FileScanTask) -> Result<Vec<RecordBatch>> {
        if task.data_file.file_format != DataFileFormat::Parquet {
            return Err(Error::unsupported(format!(
                "data file {} is {}; Floe reads Parquet data files only",
                task.data_file.file_path,
                task.data_file.file_format.as_str()
            )));
        }
        // Columns to read: the projection plus what equality deletes compare.
        let mut read_ids = self.projected.clone();
        let mut eq_groups: Vec<(Vec<i32>, HashSet<Vec<u8>>)> = Vec::new();
        let mut deleted_positions: HashSet<i64> = HashSet::new();
        for d in &task.deletes {
            match d.file.content {
                DataContentType::PositionDeletes => {
                    if d.file.file_format == DataFileFormat::Puffin {
                        self.load_deletion_vector(&d.file, &mut deleted_positions)
                            .await?;
                    } else {
                        self.load_position_deletes(
                            &d.file,
                            &task.data_file.file_path,
                            &mut deleted_positions,
                        )
                        .await?;
                    }
                }
                DataContentType::EqualityDeletes if self.equality_index.is_some() => {
                    for id in d.file.equality_ids.iter().flatten() {
                        if !read_ids.contains(id)
                            && self.schema.as_struct().field_by_id(*id).is_some()
                        {
                            read_ids.push(*id);
                        }
                    }
                }
                DataContentType::EqualityDeletes => {
                    let ids = d.file.equality_ids.clone().unwrap_or_default();
                    if ids.is_empty() {
                        return Err(Error::invalid(format!(
                            "equality delete file {} has no equality ids",
                            d.file.file_path
                        )));
                    }
                    for id in &ids {
                        if !read_ids.contains(id)
                            && self.schema.as_struct().field_by_id(*id).is_some()
                        {
                            read_ids.push(*id);
                        }
                    }
                    let cached = self
                        .equality_cache
                        .lock()
                        .ok()
                        .and_then(|c| c.get(&d.file.file_path).cloned());
                    let keys = match cached {
                        Some(k) => k,
                        None => {
                            let k = Arc::new(self.load_equality_keys(&d.file, &ids).await?);
                            if let Ok(mut c) = self.equality_cache.lock() {
                                c.insert(d.file.file_path.clone(), k.clone());
                            }
                            k
                        }
                    };
                    match eq_groups.iter_mut().find(|(g, _)| *g == ids) {
                        Some((_, set)) => set.extend(keys.iter().cloned()),
                        None => eq_groups.push((ids, keys.as_ref().clone())),
                    }
                }
                DataContentType::Data => {}
            }
        }
        if let Some(f) = &self.filter {
            for id in referenced_top_level_ids(f, &self.schema) {
                if !read_ids.contains(&id) {
                    read_ids.push(id);
                }
            }
        }
        let read_schema = self.projected_schema(&read_ids)?;
        let batches = self
            .read_parquet(&task.data_file.file_path, &read_schema)
            .await?;
        let out_schema = self.output_schema()?;
        let mut out = Vec::with_capacity(batches.len());
        let mut offset: i64 = 0;
        for batch in batches {
            let n = batch.num_rows();
            let mut keep: Vec<bool> = vec![true; n];
            if !deleted_positions.is_empty() {
                for (i, k) in keep.iter_mut().enumerate() {
                    if deleted_positions.contains(&(offset + i as i64)) {
                        *k = false;
                    }
                }
            }
            if let Some(index) = &self.equality_index {
                let data_scope = scope_of(task.spec_id, &task.data_file.partition);
                let mut groups: Vec<&Vec<i32>> = Vec::new();
                for d in &task.deletes {
                    if let Some(ids) = &d.file.equality_ids
                        && d.file.content == DataContentType::EqualityDeletes
                        && !groups.contains(&ids)
                    {
                        groups.push(ids);
                    }
                }
                for ids in groups {
                    let scoped = index.scopes.get(&(ids.clone(), data_scope.clone()));
                    let global = index.scopes.get(&(ids.clone(), String::new()));
                    for map in [scoped, global].into_iter().flatten() {
                        map.apply(&batch, ids, task.sequence_number, &mut keep)?;
                    }
                }
            }
            for (ids, set) in &eq_groups {
                let keys = row_keys(&batch, ids)?;
                for (i, key) in keys.iter().enumerate() {
                    if set.contains(key.as_ref()) {
                        keep[i] = false;
                    }
                }
            }
            if let Some(f) = &self.filter {
                let matched = crate::expr::eval_record_batch(f, &batch, &read_schema)?;
                for (i, k) in keep.iter_mut().enumerate() {
                    if matched.value(i) == self.exclude {
                        *k = false;
                    }
                }
            }
            offset += n as i64;
            let batch = if keep.iter().all(|k| *k) {
                batch
            } else {
                filter_record_batch(&batch, &BooleanArray::from(keep))
                    .map_err(|e| Error::invalid(format!("cannot filter deleted rows: {e}")))?
            };
            // Drop the extra columns read for deletes.
            let columns: Vec<ArrayRef> = batch.columns()[..self.projected.len()].to_vec();
            out.push(
                RecordBatch::try_new(out_schema.clone(), columns)
                    .map_err(|e| Error::invalid(format!("cannot assemble batch: {e}")))?,
            );
        }
        Ok(out)
    }

    /// Read a Parquet file's columns for `target` (matched by field id) as batches of
    /// exactly `target`'s Arrow schema.
    pub async fn read_parquet(&self, path: &str, target: &Schema) -> Result<Vec<RecordBatch>> {
        let bytes: Bytes = self.io.read(path).await?;
        read_parquet_bytes(bytes, path, target, self.batch_size)
    }

    async fn load_position_deletes(
        &self,
        file: &DataFile,
        data_path: &str,
        out: &mut HashSet<i64>,
    ) -> Result<()> {
        let schema = Schema::builder()
            .with_fields([
                NestedField::required(
                    POS_DELETE_FILE_PATH_ID,
                    "file_path",
                    crate::spec::PrimitiveType::String,
                ),
                NestedField::required(POS_DELETE_POS_ID, "pos", crate::spec::PrimitiveType::Long),
            ])
            .build()?;
        for batch in self.read_parquet(&file.file_path, &schema).await? {
            let paths = batch
                .column(0)
                .as_any()
                .downcast_ref::<StringArray>()
                .ok_or_else(|| {
                    Error::invalid("position delete file_path is not a string column")
                })?;
            let pos = batch
                .column(1)
                .as_any()
                .downcast_ref::<Int64Array>()
                .ok_or_else(|| Error::invalid("position delete pos is not a long column"))?;
            for i in 0..batch.num_rows() {
                if paths.is_valid(i) && paths.value(i) == data_path && pos.is_valid(i) {
                    out.insert(pos.value(i));
                }
            }
        }
        Ok(())
    }

    async fn load_deletion_vector(&self, file: &DataFile, out: &mut HashSet<i64>) -> Result<()> {
        let (Some(offset), Some(size)) = (file.content_offset, file.content_size_in_bytes) else {
            return Err(Error::invalid(format!(
                "deletion vector in {} has no content offset or size",
                file.file_path
            )));
        };
        if offset < 0 || size < 0 {
            return Err(Error::invalid(format!(
                "deletion vector in {} has a negative offset or size",
                file.file_path
            )));
        }
        let blob = self
            .io
            .read_range(&file.file_path, offset as u64..(offset + size) as u64)
            .await?;
        let positions = super::dv::decode_deletion_vector(&blob)?;
        out.extend(positions.iter().map(|p| p as i64));
        Ok(())
    }

    async fn load_equality_keys(&self, file: &DataFile, ids: &[i32]) -> Result<HashSet<Vec<u8>>> {
        let mut keys = HashSet::new();
        for batch in self.load_equality_batches(file, ids).await? {
            keys.extend(row_keys(&batch, ids)?.iter().map(|r| r.as_ref().to_vec()));
        }
        Ok(keys)
    }

    /// The key columns `ids` of an equality delete file, read as the reader's schema types.
    async fn load_equality_batches(
        &self,
        file: &DataFile,
        ids: &[i32],
    ) -> Result<Vec<RecordBatch>> {
        let fields = ids
            .iter()
            .map(|id| {
                self.schema.field_by_id(*id).cloned().ok_or_else(|| {
                    Error::invalid(format!(
                        "equality delete file {} uses field {id}, which is not in the schema",
                        file.file_path
                    ))
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let schema = Schema::builder().with_fields(fields).build()?;
        self.read_parquet(&file.file_path, &schema).await
    }
}

/// The top-level field ids a predicate reads (a nested field counts as its top-level
/// ancestor, which is what gets read).
fn referenced_top_level_ids(p: &BoundPredicate, schema: &Schema) -> Vec<i32> {
    fn walk(p: &BoundPredicate, out: &mut Vec<i32>) {
        match p {
            BoundPredicate::AlwaysTrue | BoundPredicate::AlwaysFalse => {}
            BoundPredicate::And(a, b) | BoundPredicate::Or(a, b) => {
                walk(a, out);
                walk(b, out);
            }
            BoundPredicate::Unary { term, .. }
            | BoundPredicate::Binary { term, .. }
            | BoundPredicate::Set { term, .. } => out.push(term.field_id()),
        }
    }
    let mut ids = Vec::new();
    walk(p, &mut ids);
    ids.into_iter()
        .map(|mut id| {
            while let Some(parent) = schema.parent_id(id) {
                id = parent;
            }
            id
        })
        .collect()
}

/// Encode the values of columns `ids` (matched by field id) of every row as comparable bytes.
fn row_keys(batch: &RecordBatch, ids: &[i32]) -> Result<arrow_row::Rows> {
    let mut cols = Vec::with_capacity(ids.len());
    for id in ids {
        let idx = batch
            .schema()
            .fields()
            .iter()
            .position(|f| field_id_of(f) == Some(*id))
            .ok_or_else(|| Error::invalid(format!("column with field id {id} was not read")))?;
        cols.push(batch.column(idx).clone());
    }
    let sort_fields = cols
        .iter()
        .map(|c| arrow_row::SortField::new(c.data_type().clone()))
        .collect();
    let converter = arrow_row::RowConverter::new(sort_fields)
        .map_err(|e| Error::invalid(format!("cannot compare equality delete columns: {e}")))?;
    converter
        .convert_columns(&cols)
        .map_err(|e| Error::invalid(format!("cannot compare equality delete columns: {e}")))
}

/// Read Parquet bytes as batches of `target`'s Arrow schema, matching columns by field id
/// (by name when the file has no field ids).
pub fn read_parquet_bytes(
    bytes: Bytes,
    path: &str,
    target: &Schema,
    batch_size: usize,
) -> Result<Vec<RecordBatch>> {
    let perr = |e: parquet::errors::ParquetError| {
        Error::invalid(format!("cannot read Parquet file {path}: {e}"))
    };
    let builder = ParquetRecordBatchReaderBuilder::try_new(bytes).map_err(perr)?;
    let parquet_schema = builder.parquet_schema();
    let roots = parquet_schema.root_schema().get_fields();
    let by_id: HashMap<i32, usize> = roots
        .iter()
        .enumerate()
        .filter(|(_, f)| f.get_basic_info().has_id())
        .map(|(i, f)| (f.get_basic_info().id(), i))
        .collect();
    let use_names = by_id.is_empty();
    let mut indices = Vec::new();
    for f in target.fields() {
        let idx = if use_names {
            roots.iter().position(|r| r.name() == f.name)
        } else {
            by_id.get(&f.id).copied()
        };
        if let Some(i) = idx {
            indices.push(i);
        }
    }
    indices.sort_unstable();
    let mask = ProjectionMask::roots(parquet_schema, indices);
    let reader = builder
        .with_projection(mask)
        .with_batch_size(batch_size)
        .build()
        .map_err(perr)?;
    let target_arrow = Arc::new(iceberg_schema_to_arrow(target)?);
    let mut out = Vec::new();
    for batch in reader {
        let batch =
            batch.map_err(|e| Error::invalid(format!("cannot read Parquet file {path}: {e}")))?;
        out.push(adapt_batch(&batch, target, &target_arrow, use_names, path)?);
    }
    Ok(out)
}

/// Make a batch read from a file look like `target`: columns by field id, current names,
/// promoted types, missing columns as nulls.
fn adapt_batch(
    batch: &RecordBatch,
    target: &Schema,
    target_arrow: &SchemaRef,
    use_names: bool,
    path: &str,
) -> Result<RecordBatch> {
    let n = batch.num_rows();
    let file_fields = batch.schema().fields().clone();
    let mut columns = Vec::with_capacity(target.fields().len());
    for (f, af) in target.fields().iter().zip(target_arrow.fields()) {
        let found = file_fields.iter().position(|ff| {
            if use_names {
                ff.name() == &f.name
            } else {
                field_id_of(ff) == Some(f.id)
            }
        });
        let col = match found {
            Some(i) => adapt_array(batch.column(i), f, af, use_names, path)?,
            None => missing_column(f, af, n, path)?,
        };
        columns.push(col);
    }
    RecordBatch::try_new_with_options(
        target_arrow.clone(),
        columns,
        &arrow_array::RecordBatchOptions::new().with_row_count(Some(n)),
    )
    .map_err(|e| Error::invalid(format!("cannot read {path} with the table schema: {e}")))
}

/// A column the data file lacks: its `initial-default` in every row (spec "Default
/// values": rows written before the column was added read its initial default), else null.
fn missing_column(f: &NestedField, af: &Field, n: usize, path: &str) -> Result<ArrayRef> {
    if let Some(json) = &f.initial_default {
        let Type::Primitive(ty) = f.field_type.as_ref() else {
            return Err(Error::unsupported(format!(
                "column '{}' is missing in {path} and has an initial default of a nested type; only primitive defaults are read",
                f.name
            )));
        };
        let datum = crate::spec::Datum::from_json(json, ty)
            .map_err(|e| e.context(format!("initial default of column '{}'", f.name)))?;
        let one = crate::expr::datum_to_arrow(&datum, ty)?;
        let one = if one.data_type() == af.data_type() {
            one
        } else {
            arrow_cast::cast(&one, af.data_type()).map_err(|e| {
                Error::invalid(format!(
                    "cannot read the initial default of column '{}' as {}: {e}",
                    f.name,
                    af.data_type()
                ))
            })?
        };
        let zeros = arrow_array::UInt32Array::from(vec![0u32; n]);
        return arrow_select::take::take(one.as_ref(), &zeros, None).map_err(|e| {
            Error::invalid(format!(
                "cannot fill column '{}' with its initial default: {e}",
                f.name
            ))
        });
    }
    if f.required {
        return Err(Error::invalid(format!(
            "required column '{}' is missing in data file {path}",
            f.name
        )));
    }
    Ok(new_null_array(af.data_type(), n))
}

fn adapt_array(
    col: &ArrayRef,
    f: &NestedField,
    af: &Field,
    use_names: bool,
    path: &str,
) -> Result<ArrayRef> {
    match (f.field_type.as_ref(), col.data_type()) {
        (Type::Struct(st), DataType::Struct(_)) => {
            let s = col.as_any().downcast_ref::<StructArray>().ok_or_else(|| {
                Error::invalid(format!("column '{}' is not a struct in {path}", f.name))
            })?;
            adapt_struct(s, st, af, use_names, path)
        }
        _ if col.data_type() == af.data_type() => Ok(col.clone()),
        _ => arrow_cast::cast(col, af.data_type()).map_err(|e| {
            Error::invalid(format!(
                "column '{}' in {path} has type {} that cannot be read as {}: {e}",
                f.name,
                col.data_type(),
                af.data_type()
            ))
        }),
    }
}

fn adapt_struct(
    s: &StructArray,
    st: &StructType,
    af: &Field,
    use_names: bool,
    path: &str,
) -> Result<ArrayRef> {
    let DataType::Struct(target_fields) = af.data_type() else {
        return Err(Error::invalid("struct column with a non-struct Arrow type"));
    };
    let n = s.len();
    let file_fields: Fields = s.fields().clone();
    let mut children = Vec::with_capacity(st.fields().len());
    for (child, caf) in st.fields().iter().zip(target_fields.iter()) {
        let found = file_fields.iter().position(|ff| {
            if use_names {
                ff.name() == &child.name
            } else {
                field_id_of(ff) == Some(child.id)
            }
        });
        children.push(match found {
            Some(i) => adapt_array(s.column(i), child, caf, use_names, path)?,
            None => missing_column(child, caf, n, path)?,
        });
    }
    let arr = StructArray::try_new(target_fields.clone(), children, s.nulls().cloned())
        .map_err(|e| Error::invalid(format!("cannot rebuild struct column from {path}: {e}")))?;
    Ok(Arc::new(arr))
}

/// The Arrow type a schema field reads as (re-exported for planners and tests).
pub fn arrow_type_of(f: &NestedField) -> Result<DataType> {
    iceberg_type_to_arrow(&f.field_type)
}

/// An empty batch of a schema.
pub fn empty_batch(schema: &SchemaRef) -> RecordBatch {
    RecordBatch::new_empty(schema.clone())
}
