//! Table operations as builders you await; each commits a snapshot through a [`Catalog`].
//!
//! - [`FastAppend`]: add data files in a new manifest; existing manifests are kept as they are.
//! - [`Overwrite`]: remove the rows matching a filter (copy-on-write: files wholly matched are
//!   dropped, files partly matched are rewritten without those rows) and add new files;
//!   operation `overwrite`, or `delete` when nothing is added ([`Table::delete_where`]).
//! - [`ReplacePartitions`]: dynamic overwrite: every partition the new files touch is
//!   replaced.
//! - [`update_spec::UpdateSpec`] ([`Table::update_spec`]): partition spec evolution.
//! - [`manage_snapshots::ManageSnapshots`] ([`Table::manage_snapshots`]): branches and tags,
//!   rollback, fast-forward.
//! - [`replace_sort_order::ReplaceSortOrder`] ([`Table::replace_sort_order`]): replace the
//!   default sort order.
//! - [`cherry_pick::CherryPick`] ([`Table::cherry_pick`]): apply an append snapshot to a branch.
//! - [`summary`]: snapshot summaries.
//! - [`update_schema`]: schema evolution ([`Table::update_schema`]).
//! - [`upsert::Upsert`] ([`Table::upsert`]): upserts by identifier fields (equality deletes).
//! - Merge-on-read deletes: with `write.delete.mode=merge-on-read` (v2), [`Overwrite`] writes
//!   position delete files for partly matched files instead of rewriting them.
//!
//! Every snapshot-producing operation commits to `main` unless `to_branch` names another
//! branch; only commits to `main` make a snapshot current and add a `snapshot-log` entry.
//!
//! Commits are retried on conflict per `commit.retry.*`: the new manifest of added files is
//! written once and kept while the files to add stay the same (its ADDED entries inherit snapshot id and sequence number from the
//! manifest list), only the manifest list is rewritten against the new head, after checking
//! that the files this commit removes are still live there (otherwise the commit fails with a
//! conflict that retrying cannot fix).

pub mod cherry_pick;
pub mod manage_snapshots;
pub mod replace_sort_order;
pub mod summary;
pub mod update_schema;
pub mod update_spec;
pub mod upsert;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use arrow_array::RecordBatch;

use self::summary::SummaryBuilder;
use crate::catalog::Catalog;
use crate::expr::{BoundPredicate, Predicate};
use crate::io::FileIO;
use crate::scan::plan::{load_manifest, load_manifest_list};
use crate::spec::{
    DataContentType, DataFile, FormatVersion, ManifestContentType, ManifestEntry, ManifestFile,
    ManifestStatus, Operation, Snapshot, SnapshotReference, SnapshotRetention, TableMetadata,
    TableRequirement, TableUpdate, snapshot::MAIN_BRANCH,
};
use crate::table::Table;
use crate::{Error, ErrorKind, Result};

/// A new random, positive snapshot id (Java's scheme: XOR of a UUIDv4's halves, made positive).
pub fn new_snapshot_id() -> i64 {
    let u = uuid::Uuid::new_v4().as_u128();
    (((u >> 64) as u64 ^ u as u64) & (i64::MAX as u64)) as i64
}

pub(crate) fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Files a commit removes, found against a given base.
#[derive(Debug, Default, Clone)]
struct Removal {
    /// Paths of live files to remove.
    paths: HashSet<String>,
    /// Files written to replace partly matched files (copy-on-write), by source path.
    rewritten: HashMap<String, Vec<DataFile>>,
    /// The delete files each rewrite applied, by source path: a retry that finds other
    /// delete files for the same data file rewrites it again.
    rewrite_deletes: HashMap<String, Vec<String>>,
    /// Merge-on-read: position delete files written for partly matched files, by data path.
    position_deletes: HashMap<String, DataFile>,
}

/// What an operation does, against a base snapshot.
#[derive(Debug, Clone)]
enum Kind {
    Append,
    /// Remove rows matching a filter (and add `added` files).
    OverwriteByFilter(Predicate),
    /// Replace every partition the added files touch.
    ReplacePartitions,
}

/// The shared commit machinery of every operation.
#[derive(Debug)]
struct Producer {
    table: Table,
    kind: Kind,
    added: Vec<DataFile>,
    branch: String,
    snapshot_properties: BTreeMap<String, String>,
    /// Schema merge: add batch columns the table lacks, in the same commit.
    merge_schema: bool,
    /// The merged schema the added files were written with, when it differs from the table's.
    new_schema: Option<crate::spec::Schema>,
    /// Merge small manifests on commit per `commit.manifest-merge.enabled` (every producer
    /// but [`FastAppend`], as in Java).
    merge_manifests: bool,
}

/// Append data files to a table.
#[derive(Debug)]
pub struct FastAppend(Producer);

/// Overwrite rows matching a filter (or delete them when no files are added).
#[derive(Debug)]
pub struct Overwrite(Producer);

/// Replace the partitions that the new files touch.
#[derive(Debug)]
pub struct ReplacePartitions(Producer);

impl Table {
    /// Append data files.
    pub fn fast_append(&self) -> FastAppend {
        let mut p = Producer::new(self.clone(), Kind::Append);
        // A fast append only adds a manifest, never rewrites existing ones.
        p.merge_manifests = false;
        FastAppend(p)
    }

    /// Remove the rows matching `filter` and add new files (copy-on-write).
    pub fn overwrite(&self, filter: Predicate) -> Overwrite {
        Overwrite(Producer::new(self.clone(), Kind::OverwriteByFilter(filter)))
    }

    /// Remove the rows matching `filter` (copy-on-write); operation `delete`.
    pub fn delete_where(&self, filter: Predicate) -> Overwrite {
        Overwrite(Producer::new(self.clone(), Kind::OverwriteByFilter(filter)))
    }

    /// Replace the partitions the new files touch (dynamic overwrite).
    pub fn replace_partitions(&self) -> ReplacePartitions {
        ReplacePartitions(Producer::new(self.clone(), Kind::ReplacePartitions))
    }

    /// Evolve the schema (add, delete, rename, widen, reorder columns; identifier fields).
    pub fn update_schema(&self) -> update_schema::UpdateSchema {
        update_schema::UpdateSchema::new(self.clone())
    }
}

macro_rules! common_builder_methods {
    ($t:ty) => {
        impl $t {
            /// Add data files (already written).
            pub fn add_files(mut self, files: impl IntoIterator<Item = DataFile>) -> Self {
                self.0.added.extend(files);
                self
            }

            /// Commit to branch `name` instead of main.
            pub fn to_branch(mut self, name: impl Into<String>) -> Self {
                self.0.branch = name.into();
                self
            }

            /// Add a custom entry to the snapshot summary.
            pub fn set_snapshot_property(
                mut self,
                key: impl Into<String>,
                value: impl Into<String>,
            ) -> Self {
                self.0.snapshot_properties.insert(key.into(), value.into());
                self
            }

            /// Schema merge (Delta's mergeSchema): top-level batch columns the table does not
            /// have are added to its schema, as optional columns, in the same commit. Without
            /// it, a batch that does not match the table schema is refused.
            pub fn with_schema_merge(mut self) -> Self {
                self.0.merge_schema = true;
                self
            }

            /// Write `batches` as data files (partitioned by the default spec) and add them.
            /// Batches must match the table schema (by field id or name), unless schema merge
            /// is on; a mismatch is refused with nothing written.
            pub async fn add_batches(mut self, batches: &[RecordBatch]) -> Result<Self> {
                let base = self
                    .0
                    .new_schema
                    .clone()
                    .unwrap_or_else(|| self.0.table.metadata().current_schema().clone());
                let schema = if self.0.merge_schema {
                    merged_schema(&base, self.0.table.metadata().last_column_id(), batches)?
                } else {
                    base
                };
                if schema != *self.0.table.metadata().current_schema() {
                    self.0.new_schema = Some(schema.clone());
                }
                let files = write_batches_with_schema(&self.0.table, &schema, batches).await?;
                self.0.added.extend(files);
                Ok(self)
            }

            /// Commit through `catalog`, retrying conflicts per `commit.retry.*`.
            pub async fn commit(self, catalog: &dyn Catalog) -> Result<Table> {
                self.0.commit(catalog).await
            }
        }
    };
}

common_builder_methods!(FastAppend);
common_builder_methods!(Overwrite);
common_builder_methods!(ReplacePartitions);

/// Write record batches as data files of `table` under its default partition spec, its
/// sort order and its write properties (`write.data.path` or `<location>/data`). When the
/// table has a sort order, rows are sorted by it first, so every file is sorted and records
/// the order's id.
pub async fn write_batches(table: &Table, batches: &[RecordBatch]) -> Result<Vec<DataFile>> {
    write_batches_with_schema(table, table.metadata().current_schema(), batches).await
}

/// [`write_batches`] with an explicit schema (a merged schema not committed yet).
pub(crate) async fn write_batches_with_schema(
    table: &Table,
    schema: &crate::spec::Schema,
    batches: &[RecordBatch],
) -> Result<Vec<DataFile>> {
    let md = table.metadata();
    let schema = std::sync::Arc::new(schema.clone());
    let data_location = md.data_dir();
    // Sort by the table's order when every sort column is in what is written (an equality
    // delete file holds only the key columns).
    let order = md
        .default_sort_order()
        .filter(|o| {
            !o.is_unsorted()
                && o.fields()
                    .iter()
                    .all(|f| schema.fields().iter().any(|c| c.id == *f.source_id))
        })
        .cloned();
    let sorted;
    let batches = match &order {
        Some(order) => {
            sorted = vec![sort_batches(&schema, order, batches)?];
            sorted.as_slice()
        }
        None => batches,
    };
    let mut builder = crate::writer::PartitionedWriter::builder(
        schema.clone(),
        table.file_io().clone(),
        data_location,
    )
    .partition_spec(md.default_partition_spec().clone())
    .table_properties(md.properties());
    if let Some(order) = &order {
        builder = builder.sort_order(order.clone());
    }
    let mut writer = builder.build()?;
    for b in batches {
        if let Err(e) = writer.write(b).await {
            writer.abort().await.ok();
            return Err(e);
        }
    }
    let mut files = writer.close().await?;
    if let Some(order) = &order {
        let id = i32::try_from(order.order_id()).ok();
        for f in &mut files {
            f.sort_order_id = id;
        }
    }
    Ok(files)
}

/// The table schema plus the batches' top-level columns it lacks (matched by name), as
/// optional columns with new field ids above `last_column_id`.
fn merged_schema(
    schema: &crate::spec::Schema,
    last_column_id: i32,
    batches: &[RecordBatch],
) -> Result<crate::spec::Schema> {
    use crate::spec::NestedField;
    let mut next_id = last_column_id.max(schema.highest_field_id());
    let mut fields: Vec<NestedField> = schema.fields().to_vec();
    for b in batches {
        for f in b.schema().fields() {
            if fields.iter().any(|e| e.name == *f.name()) {
                continue;
            }
            // Give the new column, then every field nested in it, fresh ids.
            next_id += 1;
            let id = next_id;
            let ty = crate::arrow::schema::arrow_type_to_iceberg_with_ids(
                f.data_type(),
                f.name(),
                &mut next_id,
            )?;
            fields.push(NestedField::optional(id, f.name().clone(), ty));
        }
    }
    crate::spec::Schema::builder()
        .with_schema_id(schema.schema_id())
        .with_identifier_field_ids(schema.identifier_field_ids().iter().copied())
        .with_fields(fields)
        .build()
}

/// Sort rows by a sort order: each field's transform applied to its (top-level) source
/// column, with the field's direction and null order.
pub fn sort_batches(
    schema: &crate::spec::Schema,
    order: &crate::spec::SortOrder,
    batches: &[RecordBatch],
) -> Result<RecordBatch> {
    use crate::spec::{NullOrder, SortDirection};
    let arrow_schema = std::sync::Arc::new(crate::arrow::iceberg_schema_to_arrow(schema)?);
    let conformed = batches
        .iter()
        .map(|b| crate::writer::conform_batch(schema, &arrow_schema, b))
        .collect::<Result<Vec<_>>>()?;
    let all = arrow_select::concat::concat_batches(&arrow_schema, &conformed)
        .map_err(|e| Error::invalid(format!("cannot combine batches to sort them: {e}")))?;
    let mut columns = Vec::with_capacity(order.fields().len());
    for f in order.fields() {
        let idx = schema
            .fields()
            .iter()
            .position(|c| c.id == *f.source_id)
            .ok_or_else(|| {
                Error::unsupported(format!(
                    "sort order field on column {} is not a top-level column; nested sort keys are not supported yet",
                    *f.source_id
                ))
            })?;
        let values = f.transform.apply_array(all.column(idx).as_ref())?;
        columns.push(arrow_ord::sort::SortColumn {
            values,
            options: Some(arrow_schema::SortOptions {
                descending: f.direction == SortDirection::Desc,
                nulls_first: f.null_order == NullOrder::NullsFirst,
            }),
        });
    }
    let indices = arrow_ord::sort::lexsort_to_indices(&columns, None)
        .map_err(|e| Error::invalid(format!("cannot sort rows: {e}")))?;
    let sorted = all
        .columns()
        .iter()
        .map(|c| arrow_select::take::take(c.as_ref(), &indices, None))
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| Error::invalid(format!("cannot sort rows: {e}")))?;
    RecordBatch::try_new(arrow_schema, sorted)
        .map_err(|e| Error::invalid(format!("cannot sort rows: {e}")))
}

impl Producer {
    fn new(table: Table, kind: Kind) -> Self {
        Self {
            table,
            kind,
            added: Vec::new(),
            branch: MAIN_BRANCH.to_string(),
            snapshot_properties: BTreeMap::new(),
            merge_schema: false,
            new_schema: None,
            merge_manifests: true,
        }
    }

    /// Live entries of the branch head, per manifest.
    async fn live_entries(
        io: &FileIO,
        md: &TableMetadata,
        manifests: &[ManifestFile],
    ) -> Result<Vec<(usize, Vec<ManifestEntry>)>> {
        let mut out = Vec::new();
        for (i, m) in manifests.iter().enumerate() {
            if m.content != ManifestContentType::Data {
                continue;
            }
            out.push((i, load_manifest(io, md, m).await?));
        }
        Ok(out)
    }

    /// Which live files this commit removes from `base` (and rewrites, for partial matches).
    async fn removal(
        &self,
        md: &TableMetadata,
        manifests: &[ManifestFile],
        previous: &Removal,
    ) -> Result<Removal> {
        let io = self.table.file_io();
        let mut removal = Removal::default();
        match &self.kind {
            Kind::Append => {}
            Kind::ReplacePartitions => {
                let spec_id = md.default_spec_id();
                let touched: HashSet<String> = self
                    .added
                    .iter()
                    .map(|f| crate::spec::manifest::partition_key(&f.partition))
                    .collect();
                for (i, entries) in Self::live_entries(io, md, manifests).await? {
                    if manifests[i].partition_spec_id != spec_id {
                        continue;
                    }
                    for e in entries {
                        if e.status != ManifestStatus::Deleted
                            && touched.contains(&crate::spec::manifest::partition_key(
                                &e.data_file.partition,
                            ))
                        {
                            removal.paths.insert(e.data_file.file_path.clone());
                        }
                    }
                }
            }
            Kind::OverwriteByFilter(filter) => {
                let schema = md.current_schema();
                let bound = filter.bind(schema, true)?;
                let pruner = crate::scan::prune::Pruner::new(md, schema, Some(&bound))?;
                let delete_index = crate::scan::plan::DeleteIndex::load(io, md, manifests).await?;
                // Position delete files are v2's merge-on-read; v3 needs deletion vectors, which
                // Floe does not write yet, so v3 tables stay copy-on-write.
                let merge_on_read = md.format_version() == FormatVersion::V2
                    && md.table_properties()?.write_delete_mode
                        == crate::spec::properties::RowLevelMode::MergeOnRead;
                for (i, entries) in Self::live_entries(io, md, manifests).await? {
                    let spec_id = manifests[i].partition_spec_id;
                    for e in entries {
                        if e.status == ManifestStatus::Deleted
                            || !pruner.may_match_file(spec_id, &e.data_file)?
                        {
                            continue;
                        }
                        let path = e.data_file.file_path.clone();
                        if pruner.all_rows_match(spec_id, &e.data_file)? {
                            removal.paths.insert(path);
                            continue;
                        }
                        // Merge-on-read (v2, files of the default spec): record the matching
                        // rows' positions in a position delete file; the data file stays.
                        if merge_on_read && spec_id == md.default_spec_id() {
                            let written = match previous.position_deletes.get(&path) {
                                Some(d) => Some(d.clone()),
                                None => {
                                    write_position_deletes(&self.table, md, &e.data_file, &bound)
                                        .await?
                                }
                            };
                            if let Some(d) = written {
                                removal.position_deletes.insert(path, d);
                            }
                            continue;
                        }
                        // Partly matched: keep the rows that do not match, in a new file,
                        // with the file's delete files applied (they do not carry over).
                        let seq = e.sequence_number.unwrap_or(0);
                        let deletes = delete_index.for_file(spec_id, &e.data_file, seq);
                        let delete_paths: Vec<String> =
                            deletes.iter().map(|d| d.file.file_path.clone()).collect();
                        let reusable = previous
                            .rewritten
                            .get(&path)
                            .filter(|_| previous.rewrite_deletes.get(&path) == Some(&delete_paths));
                        let kept = match reusable {
                            Some(files) => files.clone(),
                            None => match rewrite_without(
                                &self.table,
                                md,
                                &e.data_file,
                                deletes,
                                &bound,
                            )
                            .await?
                            {
                                // No row matched after all; leave the file alone.
                                None => continue,
                                Some(files) => files,
                            },
                        };
                        removal.rewrite_deletes.insert(path.clone(), delete_paths);
                        removal.paths.insert(path.clone());
                        removal.rewritten.insert(path, kept);
                    }
                }
            }
        }
        Ok(removal)
    }

    fn operation(&self, removal: &Removal) -> Operation {
        let adds = !self.added.is_empty() || removal.rewritten.values().any(|v| !v.is_empty());
        let adds_deletes = self
            .added
            .iter()
            .any(|f| f.content != DataContentType::Data);
        let adds_data = self
            .added
            .iter()
            .any(|f| f.content == DataContentType::Data);
        let mor = !removal.position_deletes.is_empty();
        match (&self.kind, adds, removal.paths.is_empty()) {
            // Delete files make a row-level change: `delete` alone, `overwrite` with new rows.
            (Kind::Append, _, _) if adds_deletes && adds_data => Operation::Overwrite,
            (Kind::Append, _, _) if adds_deletes => Operation::Delete,
            (Kind::Append, _, _) => Operation::Append,
            (_, true, _) if mor => Operation::Overwrite,
            (_, false, _) if mor => Operation::Delete,
            (_, _, true) => Operation::Append,
            (_, false, false) => Operation::Delete,
            (_, true, false) => Operation::Overwrite,
        }
    }

    async fn commit(self, catalog: &dyn Catalog) -> Result<Table> {
        let props = self.table.metadata().table_properties()?;
        let retries = props.commit_retry_num_retries;
        let mut wait = Duration::from_millis(props.commit_retry_min_wait_ms.max(1));
        let max_wait = Duration::from_millis(props.commit_retry_max_wait_ms.max(1));
        let snapshot_id = new_snapshot_id();
        let io = self.table.file_io().clone();
        let mut base = self.table.clone();
        let mut written_added: Option<Vec<ManifestFile>> = None;
        let mut written_key: Option<std::collections::BTreeSet<String>> = None;
        let mut removal = Removal::default();
        let mut attempt = 0u32;
        loop {
            let md = base.metadata();
            let parent = md.snapshot_for_ref(&self.branch).cloned();
            let parent_manifests = match &parent {
                Some(p) => load_manifest_list(&io, p).await?,
                None => vec![],
            };
            let previous = removal.clone();
            removal = self.removal(md, &parent_manifests, &previous).await?;
            if attempt > 0 {
                // Whatever an earlier attempt meant to remove must still be there to remove.
                if let Some(gone) = previous.paths.iter().find(|p| !removal.paths.contains(*p)) {
                    return Err(Error::new(
                        ErrorKind::CommitConflict,
                        format!(
                            "a concurrent commit removed or replaced {gone}, which this commit also changes; reload the table and redo the operation"
                        ),
                    )
                    .non_retryable());
                }
            }
            let spec_id = md.default_spec_id();
            // The manifest of added files is written once and reused by retries, unless the
            // files to add changed (a retry found another file to rewrite, or one less).
            let mut all_added: Vec<DataFile> = self.added.clone();
            for files in removal.rewritten.values() {
                all_added.extend(files.iter().cloned());
            }
            all_added.extend(removal.position_deletes.values().cloned());
            let key: std::collections::BTreeSet<String> =
                all_added.iter().map(|f| f.file_path.clone()).collect();
            if written_key.as_ref() != Some(&key) {
                if let Some(old) = written_added.take() {
                    cleanup(&io, old.into_iter().map(|m| m.manifest_path)).await;
                }
                written_added = Some(
                    write_added_manifests(&io, md, spec_id, snapshot_id, &all_added, None).await?,
                );
                written_key = Some(key);
            }
            let sequence_number = md.next_sequence_number();
            let mut summary = SummaryBuilder::default();
            for f in &self.added {
                summary.add_file(spec_id, f);
            }
            for files in removal.rewritten.values() {
                for f in files {
                    summary.add_file(spec_id, f);
                }
            }
            for f in removal.position_deletes.values() {
                summary.add_file(spec_id, f);
            }
            let mut manifests: Vec<ManifestFile> = written_added.clone().unwrap_or_default();
            let mut rewritten_manifests = Vec::new();
            // Parent manifests listed again as they are: the candidates for merging.
            let mut inherited: HashSet<String> = HashSet::new();
            for m in parent_manifests.iter().filter(|m| !only_deletions(m)) {
                if removal.paths.is_empty() || m.content != ManifestContentType::Data {
                    inherited.insert(m.manifest_path.clone());
                    manifests.push(m.clone());
                    continue;
                }
                let entries = load_manifest(&io, md, m).await?;
                if !entries.iter().any(|e| {
                    e.status != ManifestStatus::Deleted
                        && removal.paths.contains(&e.data_file.file_path)
                }) {
                    inherited.insert(m.manifest_path.clone());
                    manifests.push(m.clone());
                    continue;
                }
                let mut out = Vec::with_capacity(entries.len());
                for mut e in entries {
                    match e.status {
                        ManifestStatus::Deleted => continue,
                        _ if removal.paths.contains(&e.data_file.file_path) => {
                            summary.remove_file(m.partition_spec_id, &e.data_file);
                            e.status = ManifestStatus::Deleted;
                            e.snapshot_id = Some(snapshot_id);
                        }
                        _ => e.status = ManifestStatus::Existing,
                    }
                    out.push(e);
                }
                let written =
                    write_manifest(&io, md, m.partition_spec_id, snapshot_id, m.content, out)
                        .await?;
                rewritten_manifests.push(written.manifest_path.clone());
                manifests.push(written);
            }
            if self.merge_manifests && props.commit_manifest_merge_enabled {
                match merge_on_commit(&io, md, &props, snapshot_id, &mut manifests, &inherited)
                    .await
                {
                    Ok(merged) => rewritten_manifests.extend(merged),
                    Err(e) => {
                        cleanup(&io, rewritten_manifests.into_iter()).await;
                        return Err(e);
                    }
                }
            }
            let operation = self.operation(&removal);
            if operation == Operation::Append
                && !matches!(self.kind, Kind::Append)
                && self.added.is_empty()
            {
                // Nothing matched and nothing to add: no new snapshot.
                cleanup(
                    &io,
                    written_added
                        .iter()
                        .flatten()
                        .map(|m| m.manifest_path.clone()),
                )
                .await;
                return Ok(base);
            }
            let mut s = summary.build(operation, parent.as_ref().map(|p| &p.summary));
            for (k, v) in &self.snapshot_properties {
                s.set(k, v);
            }
            let list_path = format!(
                "{}/snap-{snapshot_id}-{attempt}-{}.avro",
                md.metadata_dir(),
                uuid::Uuid::new_v4()
            );
            let (first_row_id, added_rows) = write_manifest_list(
                &io,
                md,
                &list_path,
                snapshot_id,
                parent.as_ref().map(|p| p.snapshot_id),
                sequence_number,
                &mut manifests,
            )
            .await?;
            let snapshot = Snapshot {
                snapshot_id,
                parent_snapshot_id: parent.as_ref().map(|p| p.snapshot_id),
                sequence_number,
                timestamp_ms: now_ms().max(md.last_updated_ms()),
                manifest_list: list_path.clone(),
                manifests: None,
                summary: s,
                schema_id: Some(match &self.new_schema {
                    // The builder gives a new schema the next id after the highest.
                    Some(_) => {
                        md.schemas()
                            .iter()
                            .map(|s| s.schema_id())
                            .max()
                            .unwrap_or(0)
                            + 1
                    }
                    None => md.current_schema_id(),
                }),
                first_row_id,
                added_rows,
                key_id: None,
            };
            let retention = md
                .refs()
                .get(&self.branch)
                .map(|r| r.retention)
                .unwrap_or_else(SnapshotRetention::branch);
            let mut requirements = vec![
                TableRequirement::AssertTableUuid {
                    uuid: md.table_uuid(),
                },
                TableRequirement::AssertRefSnapshotId {
                    r#ref: self.branch.clone(),
                    snapshot_id: parent.as_ref().map(|p| p.snapshot_id),
                },
            ];
            let mut updates = Vec::new();
            if let Some(schema) = &self.new_schema {
                // The files were written with the merged schema's ids: the schema the table had
                // then must still be current.
                requirements.push(TableRequirement::AssertCurrentSchemaId {
                    current_schema_id: self.table.metadata().current_schema_id(),
                });
                requirements.push(TableRequirement::AssertLastAssignedFieldId {
                    last_assigned_field_id: self.table.metadata().last_column_id(),
                });
                updates.push(TableUpdate::AddSchema {
                    schema: schema.clone(),
                    last_column_id: None,
                });
                updates.push(TableUpdate::SetCurrentSchema { schema_id: -1 });
            }
            updates.extend([
                TableUpdate::AddSnapshot { snapshot },
                TableUpdate::SetSnapshotRef {
                    ref_name: self.branch.clone(),
                    reference: SnapshotReference {
                        snapshot_id,
                        retention,
                    },
                },
            ]);
            match catalog
                .commit_table(base.ident(), requirements, updates)
                .await
            {
                Ok(t) => return Ok(t),
                Err(e) if e.is_retryable() && attempt < retries => {
                    cleanup(&io, std::iter::once(list_path).chain(rewritten_manifests)).await;
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(max_wait);
                    attempt += 1;
                    base = catalog.load_table(base.ident()).await?;
                }
                Err(e) => {
                    // A conflict we cannot retry: remove what only this attempt wrote. Data
                    // files are left for orphan clean-up (a caller may retry with them).
                    if e.kind() == ErrorKind::CommitConflict {
                        cleanup(
                            &io,
                            std::iter::once(list_path).chain(rewritten_manifests).chain(
                                written_added
                                    .iter()
                                    .flatten()
                                    .map(|m| m.manifest_path.clone()),
                            ),
                        )
                        .await;
                    }
                    return Err(e);
                }
            }
        }
    }
}

/// Manifest merging on commit (`commit.manifest-merge.enabled`): per partition spec and
/// content, when the new manifest list would hold at least `commit.manifest.min-count-to-merge`
/// manifests, the parent's manifests listed unchanged that are smaller than
/// `commit.manifest.target-size-bytes` are merged into as few manifests as that size allows
/// (live entries become EXISTING with their snapshot ids and sequence numbers; DELETED entries
/// of earlier snapshots are dropped). The manifests this commit writes stay as they are.
/// Returns the paths of the merged manifests written.
async fn merge_on_commit(
    io: &FileIO,
    md: &TableMetadata,
    props: &crate::spec::TableProperties,
    snapshot_id: i64,
    manifests: &mut Vec<ManifestFile>,
    inherited: &HashSet<String>,
) -> Result<Vec<String>> {
    use crate::maintenance::rewrite_manifests::{ManifestGroup, merge_group};
    let min_count = props.commit_manifest_min_count_to_merge as usize;
    let target = props.commit_manifest_target_size_bytes.max(1);
    let kind = |m: &ManifestFile| {
        (
            m.partition_spec_id,
            m.content == ManifestContentType::Deletes,
        )
    };
    let mut counts: HashMap<(i32, bool), usize> = HashMap::new();
    for m in manifests.iter() {
        *counts.entry(kind(m)).or_default() += 1;
    }
    let mut groups: BTreeMap<(i32, bool), Vec<ManifestFile>> = BTreeMap::new();
    for m in manifests.iter() {
        if inherited.contains(&m.manifest_path)
            && (m.manifest_length.max(0) as u64) < target
            && counts.get(&kind(m)).copied().unwrap_or(0) >= min_count
        {
            groups.entry(kind(m)).or_default().push(m.clone());
        }
    }
    let mut written: Vec<ManifestFile> = Vec::new();
    let mut replaced: HashSet<String> = HashSet::new();
    for ((spec_id, _), group) in groups {
        if group.len() < 2 {
            continue;
        }
        let g = ManifestGroup {
            spec_id,
            content: group[0].content,
            manifests: group,
        };
        match merge_group(io, md, &g, target, snapshot_id).await {
            Ok(ms) => written.extend(ms),
            Err(e) => {
                cleanup(io, written.into_iter().map(|m| m.manifest_path)).await;
                return Err(e);
            }
        }
        replaced.extend(g.manifests.iter().map(|m| m.manifest_path.clone()));
    }
    if replaced.is_empty() {
        return Ok(vec![]);
    }
    manifests.retain(|m| !replaced.contains(&m.manifest_path));
    let paths = written.iter().map(|m| m.manifest_path.clone()).collect();
    manifests.extend(written);
    Ok(paths)
}

/// Commit a metadata-only change through `catalog`, retrying per `commit.retry.*`: `plan`
/// makes the requirements and updates against the current metadata (`None`: nothing to
/// change, the table is returned as is), and is asked again against the reloaded table after
/// a retryable conflict, with exponential backoff. The schema, spec, sort-order and ref
/// builders commit through it.
pub(crate) async fn commit_with_retries(
    table: &Table,
    catalog: &dyn Catalog,
    plan: impl Fn(&TableMetadata) -> Result<Option<(Vec<TableRequirement>, Vec<TableUpdate>)>>,
) -> Result<Table> {
    let props = table.metadata().table_properties()?;
    let retries = props.commit_retry_num_retries;
    let mut wait = Duration::from_millis(props.commit_retry_min_wait_ms.max(1));
    let max_wait = Duration::from_millis(props.commit_retry_max_wait_ms.max(1));
    let mut base = table.clone();
    let mut attempt = 0u32;
    loop {
        let Some((requirements, updates)) = plan(base.metadata())? else {
            return Ok(base);
        };
        match catalog
            .commit_table(base.ident(), requirements, updates)
            .await
        {
            Ok(t) => return Ok(t),
            Err(e) if e.is_retryable() && attempt < retries => {
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(max_wait);
                attempt += 1;
                base = catalog.load_table(base.ident()).await?;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Whether a manifest records only deletions of an earlier snapshot (no added or existing
/// files): the snapshot after the one that wrote it leaves it out, as Java's writers do, so
/// such manifests do not pile up in the lists of a table with frequent rewrites.
pub(crate) fn only_deletions(m: &ManifestFile) -> bool {
    m.added_files_count == 0 && m.existing_files_count == 0 && m.deleted_files_count > 0
}

pub(crate) async fn cleanup(io: &FileIO, paths: impl Iterator<Item = String>) {
    for p in paths {
        // Best effort: an unreferenced file is harmless and orphan clean-up removes it.
        let _ = io.delete(&p).await;
    }
}

/// Rewrite a data file without the rows matching `filter`; returns the new file(s) (empty
/// when every row matched).
async fn rewrite_without(
    table: &Table,
    md: &TableMetadata,
    file: &DataFile,
    deletes: Vec<crate::scan::DeleteFileRef>,
    filter: &BoundPredicate,
) -> Result<Option<Vec<DataFile>>> {
    let schema = std::sync::Arc::new(md.current_schema().clone());
    let ids: Vec<i32> = schema.fields().iter().map(|f| f.id).collect();
    let reader = crate::scan::ArrowReader::new(table.file_io().clone(), schema.clone(), ids)?;
    let task = crate::scan::FileScanTask {
        data_file: file.clone(),
        spec_id: md.default_spec_id(),
        sequence_number: 0,
        deletes,
    };
    // Live rows of the file (its deletes applied), then the ones the filter does not match.
    let live = reader.read(&task).await?;
    let mut kept = Vec::with_capacity(live.len());
    let mut any_matched = false;
    for batch in live {
        let matched = crate::expr::eval_record_batch(filter, &batch, &schema)?;
        if matched.true_count() == 0 {
            kept.push(batch);
            continue;
        }
        any_matched = true;
        let keep = arrow_arith::boolean::not(&matched)
            .map_err(|e| Error::invalid(format!("cannot filter rows: {e}")))?;
        let b = arrow_select::filter::filter_record_batch(&batch, &keep)
            .map_err(|e| Error::invalid(format!("cannot filter rows: {e}")))?;
        if b.num_rows() > 0 {
            kept.push(b);
        }
    }
    if !any_matched {
        return Ok(None);
    }
    if kept.iter().all(|b| b.num_rows() == 0) {
        return Ok(Some(vec![]));
    }
    Ok(Some(write_batches(table, &kept).await?))
}

/// Merge-on-read delete: write a position delete file holding the positions of the rows of
/// `file` that match `filter` (None when no row matches).
async fn write_position_deletes(
    table: &Table,
    md: &TableMetadata,
    file: &DataFile,
    filter: &BoundPredicate,
) -> Result<Option<DataFile>> {
    use crate::scan::reader::{POS_DELETE_FILE_PATH_ID, POS_DELETE_POS_ID};
    use crate::spec::{NestedField, PrimitiveType, Schema};
    let schema = std::sync::Arc::new(md.current_schema().clone());
    let ids: Vec<i32> = schema.fields().iter().map(|f| f.id).collect();
    let reader = crate::scan::ArrowReader::new(table.file_io().clone(), schema.clone(), ids)?;
    // Physical rows, in file order: positions count from the start of the file.
    let batches = reader.read_parquet(&file.file_path, &schema).await?;
    let mut positions: Vec<i64> = Vec::new();
    let mut offset = 0i64;
    for b in &batches {
        let matched = crate::expr::eval_record_batch(filter, b, &schema)?;
        for i in 0..b.num_rows() {
            if matched.value(i) {
                positions.push(offset + i as i64);
            }
        }
        offset += b.num_rows() as i64;
    }
    if positions.is_empty() {
        return Ok(None);
    }
    let delete_schema = Schema::builder()
        .with_fields([
            NestedField::required(POS_DELETE_FILE_PATH_ID, "file_path", PrimitiveType::String),
            NestedField::required(POS_DELETE_POS_ID, "pos", PrimitiveType::Long),
        ])
        .build()?;
    let arrow_schema = std::sync::Arc::new(crate::arrow::iceberg_schema_to_arrow(&delete_schema)?);
    let n = positions.len();
    let batch = RecordBatch::try_new(
        arrow_schema,
        vec![
            std::sync::Arc::new(arrow_array::StringArray::from(vec![
                file.file_path.as_str();
                n
            ])),
            std::sync::Arc::new(arrow_array::Int64Array::from(positions)),
        ],
    )
    .map_err(|e| Error::invalid(format!("cannot build position deletes: {e}")))?;
    let path = format!("{}/{}-deletes.parquet", md.data_dir(), uuid::Uuid::new_v4());
    let options =
        crate::parquet::ParquetWriteOptions::from_table(md.properties(), &delete_schema, None)?;
    let mut d = crate::parquet::write_data_file(
        table.file_io(),
        path,
        std::sync::Arc::new(delete_schema),
        &options,
        &[batch],
    )
    .await?;
    d.content = DataContentType::PositionDeletes;
    d.partition = file.partition.clone();
    d.referenced_data_file = Some(file.file_path.clone());
    d.sort_order_id = None;
    Ok(Some(d))
}

/// Write the manifest(s) for the files a snapshot adds: ADDED entries that inherit the
/// snapshot id, and the sequence number too unless `data_sequence_number` pins it (a rewrite
/// keeps its starting snapshot's). One manifest per content, data first; on failure the ones
/// already written are deleted.
pub(crate) async fn write_added_manifests(
    io: &FileIO,
    md: &TableMetadata,
    spec_id: i32,
    snapshot_id: i64,
    files: &[DataFile],
    data_sequence_number: Option<i64>,
) -> Result<Vec<ManifestFile>> {
    let mut out: Vec<ManifestFile> = Vec::new();
    for content in [ManifestContentType::Data, ManifestContentType::Deletes] {
        let entries: Vec<ManifestEntry> = files
            .iter()
            .filter(|f| {
                (f.content == DataContentType::Data) == (content == ManifestContentType::Data)
            })
            .map(|f| ManifestEntry {
                status: ManifestStatus::Added,
                snapshot_id: None,
                sequence_number: data_sequence_number,
                file_sequence_number: None,
                data_file: f.clone(),
            })
            .collect();
        if entries.is_empty() {
            continue;
        }
        match write_manifest(io, md, spec_id, snapshot_id, content, entries).await {
            Ok(m) => out.push(m),
            Err(e) => {
                cleanup(io, out.into_iter().map(|m| m.manifest_path)).await;
                return Err(e);
            }
        }
    }
    Ok(out)
}

/// Write one manifest under the table's metadata directory.
pub(crate) async fn write_manifest(
    io: &FileIO,
    md: &TableMetadata,
    spec_id: i32,
    snapshot_id: i64,
    content: ManifestContentType,
    entries: Vec<ManifestEntry>,
) -> Result<ManifestFile> {
    let path = format!("{}/{}-m0.avro", md.metadata_dir(), uuid::Uuid::new_v4());
    let spec = md.partition_spec_by_id(spec_id).ok_or_else(|| {
        Error::invalid(format!(
            "partition spec {spec_id} is not in the table metadata"
        ))
    })?;
    let mut writer = crate::avro::ManifestWriter::new(
        md.format_version(),
        content,
        snapshot_id,
        md.current_schema(),
        spec,
    )?;
    for e in &entries {
        writer.write_entry(e)?;
    }
    let (bytes, mut manifest) = writer.finish()?;
    manifest.manifest_path = path.clone();
    manifest.manifest_length = bytes.len() as i64;
    io.write(&path, bytes::Bytes::from(bytes)).await?;
    Ok(manifest)
}

/// Write the manifest list; returns the snapshot's (first-row-id, added-rows) for v3.
pub(crate) async fn write_manifest_list(
    io: &FileIO,
    md: &TableMetadata,
    path: &str,
    snapshot_id: i64,
    parent_id: Option<i64>,
    sequence_number: i64,
    manifests: &mut [ManifestFile],
) -> Result<(Option<i64>, Option<i64>)> {
    let first_row_id =
        (md.format_version() >= FormatVersion::V3).then(|| md.next_row_id().unwrap_or(0));
    let mut writer = crate::avro::ManifestListWriter::new(
        md.format_version(),
        snapshot_id,
        parent_id,
        sequence_number,
        first_row_id,
    )?;
    for m in manifests.iter_mut() {
        *m = writer.add_manifest(m)?;
    }
    let (bytes, next) = writer.finish()?;
    io.write(path, bytes::Bytes::from(bytes)).await?;
    Ok(match (first_row_id, next) {
        (Some(first), Some(next)) => (Some(first), Some(next - first)),
        _ => (None, None),
    })
}
