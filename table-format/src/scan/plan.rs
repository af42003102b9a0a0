//! Scan planning: which data files (and which delete files for each) a scan reads.
//!
//! - [`TableScan`]: a builder over a [`Table`]: snapshot (id, ref, or timestamp), row filter,
//!   column selection; `plan_files` and `to_arrow`.
//! - Planning reads the snapshot's manifest list, skips manifests whose partition summaries
//!   cannot match (inclusive projection of the filter through each manifest's own spec),
//!   reads the remaining manifests concurrently, keeps live entries whose partition tuple and
//!   column metrics may match, and attaches the delete files that apply by sequence number
//!   and partition (spec "Scan Planning").

use std::collections::HashMap;
use std::sync::Arc;

use arrow_array::RecordBatch;
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};

use super::reader::{ArrowReader, DeleteFileRef, FileScanTask};
use crate::avro;
use crate::expr::{BoundPredicate, Predicate};
use crate::io::FileIO;
use crate::spec::manifest::partition_key;
use crate::spec::{
    DataContentType, DataFile, ManifestContentType, ManifestEntry, ManifestFile, ManifestStatus,
    Schema, Snapshot, StructType, TableMetadata,
};
use crate::table::Table;
use crate::{Error, Result};

/// How many manifests are read at once while planning.
const MANIFEST_CONCURRENCY: usize = 8;

/// How many data files are read at once by `to_arrow`.
const READ_CONCURRENCY: usize = 8;

/// Which snapshot a scan reads.
#[derive(Debug, Clone, PartialEq)]
enum SnapshotSelector {
    Current,
    Id(i64),
    Ref(String),
    AsOfMs(i64),
}

/// A scan of one snapshot of a table.
#[derive(Debug, Clone)]
pub struct TableScan {
    table: Table,
    selector: SnapshotSelector,
    filter: Option<Predicate>,
    columns: Option<Vec<String>>,
    case_sensitive: bool,
}

impl Table {
    /// Start a scan of the current snapshot, all columns, no filter.
    pub fn scan(&self) -> TableScan {
        TableScan {
            table: self.clone(),
            selector: SnapshotSelector::Current,
            filter: None,
            columns: None,
            case_sensitive: true,
        }
    }
}

impl TableScan {
    /// Read snapshot `id` (time travel).
    pub fn snapshot_id(mut self, id: i64) -> Self {
        self.selector = SnapshotSelector::Id(id);
        self
    }

    /// Read the head of branch or tag `name`.
    pub fn use_ref(mut self, name: impl Into<String>) -> Self {
        self.selector = SnapshotSelector::Ref(name.into());
        self
    }

    /// Read the snapshot that was current at `timestamp_ms`.
    pub fn as_of_timestamp(mut self, timestamp_ms: i64) -> Self {
        self.selector = SnapshotSelector::AsOfMs(timestamp_ms);
        self
    }

    /// Only rows matching `filter`.
    pub fn with_filter(mut self, filter: Predicate) -> Self {
        self.filter = Some(filter);
        self
    }

    /// Only these columns (top-level names), in this order.
    pub fn select(mut self, columns: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.columns = Some(columns.into_iter().map(Into::into).collect());
        self
    }

    /// Match column names ignoring case.
    pub fn case_insensitive(mut self) -> Self {
        self.case_sensitive = false;
        self
    }

    /// The snapshot this scan reads (None for a table without snapshots).
    pub fn snapshot(&self) -> Result<Option<&Snapshot>> {
        let md = self.table.metadata();
        Ok(match &self.selector {
            SnapshotSelector::Current => md.current_snapshot(),
            SnapshotSelector::Id(id) => Some(md.snapshot_by_id(*id).ok_or_else(|| {
                Error::invalid(format!("snapshot {id} does not exist in this table"))
            })?),
            SnapshotSelector::Ref(name) => Some(md.snapshot_for_ref(name).ok_or_else(|| {
                Error::invalid(format!(
                    "branch or tag '{name}' does not exist in this table"
                ))
            })?),
            SnapshotSelector::AsOfMs(ts) => {
                let id = md
                    .snapshot_log()
                    .iter()
                    .rev()
                    .find(|e| e.timestamp_ms <= *ts)
                    .map(|e| e.snapshot_id)
                    .ok_or_else(|| {
                        Error::invalid(format!("the table had no current snapshot at {ts} ms"))
                    })?;
                Some(md.snapshot_by_id(id).ok_or_else(|| {
                    Error::invalid(format!("snapshot {id} (current at {ts} ms) has expired"))
                })?)
            }
        })
    }

    /// The schema rows are read with: the current schema for the current snapshot and
    /// branches, the snapshot's own schema for time travel and tags.
    pub fn schema(&self) -> Result<Arc<Schema>> {
        let md = self.table.metadata();
        let use_snapshot_schema = match &self.selector {
            SnapshotSelector::Current => false,
            SnapshotSelector::Ref(name) => md.refs().get(name).is_some_and(|r| !r.is_branch()),
            _ => true,
        };
        if use_snapshot_schema
            && let Some(s) = self.snapshot()?
            && let Some(id) = s.schema_id
            && let Some(schema) = md.schema_by_id(id)
        {
            return Ok(Arc::new(schema.clone()));
        }
        Ok(Arc::new(md.current_schema().clone()))
    }

    fn bound_filter(&self, schema: &Schema) -> Result<Option<BoundPredicate>> {
        self.filter
            .as_ref()
            .map(|f| f.bind(schema, self.case_sensitive))
            .transpose()
    }

    fn projected_ids(&self, schema: &Schema) -> Result<Vec<i32>> {
        match &self.columns {
            None => Ok(schema.fields().iter().map(|f| f.id).collect()),
            Some(cols) => cols
                .iter()
                .map(|c| {
                    let f = if self.case_sensitive {
                        schema.as_struct().field_by_name(c)
                    } else {
                        schema
                            .fields()
                            .iter()
                            .find(|f| f.name.eq_ignore_ascii_case(c))
                    };
                    f.map(|f| f.id)
                        .ok_or_else(|| Error::invalid(format!("column '{c}' is not in the table")))
                })
                .collect(),
        }
    }

    /// The files to read, each with its delete files.
    pub async fn plan_files(&self) -> Result<Vec<FileScanTask>> {
        self.plan_stream().await?.try_collect().await
    }

    /// The files to read as a stream, in bounded memory however large the table is.
    pub async fn plan_stream(&self) -> Result<BoxStream<'static, Result<FileScanTask>>> {
        let Some(snapshot) = self.snapshot()? else {
            return Ok(Box::pin(futures::stream::empty()));
        };
        let schema = self.schema()?;
        let filter = self.bound_filter(&schema)?;
        plan_stream(
            self.table.file_io().clone(),
            self.table.metadata_arc(),
            snapshot,
            &schema,
            filter.as_ref(),
        )
        .await
    }

    /// Read every planned file to Arrow, deletes applied and the filter evaluated on rows.
    pub async fn to_arrow(&self) -> Result<Vec<RecordBatch>> {
        let schema = self.schema()?;
        let ids = self.projected_ids(&schema)?;
        let tasks = self.plan_files().await?;
        let filter = self.bound_filter(&schema)?;
        let mut reader = ArrowReader::new(self.table.file_io().clone(), schema.clone(), ids)?
            .with_filter(filter);
        if tasks.iter().any(|t| {
            t.deletes
                .iter()
                .any(|d| d.file.content == DataContentType::EqualityDeletes)
        }) {
            let index = reader.build_equality_index(&tasks).await?;
            reader = reader.with_equality_index(Arc::new(index));
        }
        // Each file is read (and decoded) on its own runtime task, so files decode in
        // parallel on all cores; results keep the planned order.
        let batches: Vec<Vec<RecordBatch>> = futures::stream::iter(tasks)
            .map(|t| {
                let reader = reader.clone();
                tokio::spawn(async move { reader.read(&t).await })
            })
            .buffered(READ_CONCURRENCY)
            .map(|joined| {
                joined.map_err(|e| {
                    Error::invalid(format!("a file read task panicked or was cancelled: {e}"))
                })?
            })
            .try_collect()
            .await?;
        Ok(batches
            .into_iter()
            .flatten()
            .filter(|b| b.num_rows() > 0)
            .collect())
    }
}

/// Read a snapshot's manifest list.
pub async fn load_manifest_list(io: &FileIO, snapshot: &Snapshot) -> Result<Vec<ManifestFile>> {
    if snapshot.manifest_list.is_empty() {
        return Err(Error::unsupported(format!(
            "snapshot {} lists manifests inline (v1 without a manifest list); not supported",
            snapshot.snapshot_id
        )));
    }
    let bytes = io.read(&snapshot.manifest_list).await?;
    avro::read_manifest_list(&bytes)
}

/// The partition struct type of a manifest's spec, resolved against the current schema (or,
/// for a spec over a dropped column, the newest schema that still has its sources).
pub fn manifest_partition_type(md: &TableMetadata, manifest: &ManifestFile) -> Result<StructType> {
    let spec = md
        .partition_spec_by_id(manifest.partition_spec_id)
        .ok_or_else(|| {
            Error::invalid(format!(
                "manifest {} uses partition spec {}, which is not in the table metadata",
                manifest.manifest_path, manifest.partition_spec_id
            ))
        })?;
    spec.partition_type(md.current_schema()).or_else(|_| {
        md.schemas()
            .iter()
            .rev()
            .find_map(|s| spec.partition_type(s).ok())
            .ok_or_else(|| {
                Error::invalid(format!("cannot resolve partition spec {}", spec.spec_id()))
            })
    })
}

/// Read a manifest's entries (inheritance applied), with the partition type of its spec.
pub async fn load_manifest(
    io: &FileIO,
    md: &TableMetadata,
    manifest: &ManifestFile,
) -> Result<Vec<ManifestEntry>> {
    let partition_type = manifest_partition_type(md, manifest)?;
    let bytes = io.read(&manifest.manifest_path).await?;
    let (_meta, entries) = avro::read_manifest(&bytes, manifest, &partition_type)
        .map_err(|e| e.context(format!("manifest {}", manifest.manifest_path)))?;
    Ok(entries)
}

/// The delete files of a snapshot, indexed to find the ones that apply to a data file.
#[derive(Debug, Default)]
pub struct DeleteIndex {
    /// (spec id, partition) -> position/equality deletes in that partition.
    by_partition: HashMap<(i32, String), Vec<DeleteFileRef>>,
    /// referenced data file -> position deletes / deletion vectors for it.
    by_data_file: HashMap<String, Vec<DeleteFileRef>>,
    /// equality deletes of unpartitioned specs apply everywhere.
    global_equality: Vec<DeleteFileRef>,
}

impl DeleteIndex {
    /// Index the live delete files of the delete manifests among `manifests`.
    pub async fn load(io: &FileIO, md: &TableMetadata, manifests: &[ManifestFile]) -> Result<Self> {
        // Futures first, then the stream: a stream holding the closures would keep callers'
        // futures from being provably `Send` (rust-lang/rust#102211).
        let reads: Vec<_> = manifests
            .iter()
            .filter(|m| m.content == ManifestContentType::Deletes)
            .map(|m| async move {
                Ok::<_, Error>((m.partition_spec_id, load_manifest(io, md, m).await?))
            })
            .collect();
        let loaded: Vec<(i32, Vec<ManifestEntry>)> = futures::stream::iter(reads)
            .buffer_unordered(MANIFEST_CONCURRENCY)
            .try_collect()
            .await?;
        let mut index = DeleteIndex::default();
        for (spec_id, entries) in loaded {
            for e in entries {
                if e.status != ManifestStatus::Deleted {
                    index.add(md, spec_id, e);
                }
            }
        }
        Ok(index)
    }

    fn add(&mut self, md: &TableMetadata, spec_id: i32, entry: ManifestEntry) {
        let seq = entry.sequence_number.unwrap_or(0);
        let file = entry.data_file;
        let unpartitioned = md
            .partition_spec_by_id(spec_id)
            .is_none_or(|s| s.is_unpartitioned());
        let r = DeleteFileRef {
            sequence_number: seq,
            file: Arc::new(file),
        };
        match r.file.content {
            DataContentType::PositionDeletes => {
                if let Some(target) = r.file.referenced_data_file.clone() {
                    self.by_data_file.entry(target).or_default().push(r);
                } else {
                    self.by_partition
                        .entry((spec_id, partition_key(&r.file.partition)))
                        .or_default()
                        .push(r);
                }
            }
            DataContentType::EqualityDeletes => {
                if unpartitioned {
                    self.global_equality.push(r);
                } else {
                    self.by_partition
                        .entry((spec_id, partition_key(&r.file.partition)))
                        .or_default()
                        .push(r);
                }
            }
            DataContentType::Data => {}
        }
    }

    /// Deletes that apply to a data file with data sequence number `seq` (spec rules:
    /// position deletes with a sequence number >= the file's, equality deletes with a
    /// sequence number > the file's).
    pub fn for_file(&self, spec_id: i32, file: &DataFile, seq: i64) -> Vec<DeleteFileRef> {
        let applies = |d: &DeleteFileRef| match d.file.content {
            DataContentType::PositionDeletes => d.sequence_number >= seq,
            DataContentType::EqualityDeletes => d.sequence_number > seq,
            DataContentType::Data => false,
        };
        let mut out = Vec::new();
        if let Some(list) = self.by_data_file.get(&file.file_path) {
            out.extend(list.iter().filter(|d| applies(d)).cloned());
        }
        if let Some(list) = self
            .by_partition
            .get(&(spec_id, partition_key(&file.partition)))
        {
            out.extend(list.iter().filter(|d| applies(d)).cloned());
        }
        out.extend(self.global_equality.iter().filter(|d| applies(d)).cloned());
        out
    }

    fn is_empty(&self) -> bool {
        self.by_partition.is_empty()
            && self.by_data_file.is_empty()
            && self.global_equality.is_empty()
    }
}

/// Plan a snapshot as a stream of tasks: delete manifests are indexed first, then data
/// manifests are read a few at a time, so memory stays bounded by the manifests in flight,
/// not by the size of the table.
async fn plan_stream(
    io: FileIO,
    md: Arc<TableMetadata>,
    snapshot: &Snapshot,
    schema: &Schema,
    filter: Option<&BoundPredicate>,
) -> Result<BoxStream<'static, Result<FileScanTask>>> {
    let manifests = load_manifest_list(&io, snapshot).await?;
    let pruner = Arc::new(super::prune::Pruner::new(&md, schema, filter)?);
    let (delete_manifests, data_manifests): (Vec<_>, Vec<_>) = manifests
        .into_iter()
        .filter(|m| pruner.may_match_manifest(m))
        .partition(|m| m.content == ManifestContentType::Deletes);

    let deletes = DeleteIndex::load(&io, &md, &delete_manifests).await?;
    let deletes = Arc::new(deletes);

    let stream = futures::stream::iter(data_manifests)
        .map(move |m| {
            let (io, md, pruner, deletes) =
                (io.clone(), md.clone(), pruner.clone(), deletes.clone());
            async move {
                let bytes = io.read(&m.manifest_path).await?;
                let partition_type = manifest_partition_type(&md, &m)?;
                // Decoding is CPU work: run it off the async threads, so several manifests
                // decode in parallel on all cores.
                let tasks = tokio::task::spawn_blocking(move || {
                    let mut tasks = Vec::new();
                    let reader = avro::ManifestReader::new(&bytes, &m, &partition_type)
                        .map_err(|e| e.context(format!("manifest {}", m.manifest_path)))?;
                    for e in reader {
                        let e =
                            e.map_err(|e| e.context(format!("manifest {}", m.manifest_path)))?;
                        if e.status == ManifestStatus::Deleted
                            || !pruner.may_match_file(m.partition_spec_id, &e.data_file)?
                        {
                            continue;
                        }
                        let seq = e.sequence_number.unwrap_or(0);
                        let file_deletes = if deletes.is_empty() {
                            vec![]
                        } else {
                            deletes.for_file(m.partition_spec_id, &e.data_file, seq)
                        };
                        tasks.push(FileScanTask {
                            data_file: e.data_file,
                            spec_id: m.partition_spec_id,
                            sequence_number: seq,
                            deletes: file_deletes,
                        });
                    }
                    Ok::<_, Error>(tasks)
                })
                .await
                .map_err(|e| Error::invalid(format!("manifest decoding task failed: {e}")))??;
                Ok::<_, Error>(futures::stream::iter(tasks.into_iter().map(Ok)))
            }
        })
        .buffered(MANIFEST_CONCURRENCY)
        .try_flatten();
    Ok(Box::pin(stream))
}
