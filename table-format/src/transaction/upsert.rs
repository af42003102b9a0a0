//! Upsert by the table's identifier fields, merge-on-read: new rows go to data files and the
//! keys they replace to equality delete files, in one snapshot (operation `overwrite`).
//!
//! Equality deletes apply to data with a lower sequence number, so the rows committed with
//! them stay live while every older row with the same key is deleted on read. Within one
//! upsert, the last row of each key wins. Every `floe.upsert.merge-deltas.min-delete-files`
//! upserts, the commit also merges the small files written since into one data file and one
//! delete file, so reads stay fast during a stream; compaction folds them away later.

use std::collections::HashSet;
use std::sync::Arc;

use arrow_array::{RecordBatch, UInt32Array};

use super::{Kind, Producer, write_batches_with_schema};
use crate::catalog::Catalog;
use crate::spec::snapshot::MAIN_BRANCH;
use crate::spec::{DataContentType, DataFile, Schema};
use crate::table::Table;
use crate::{Error, Result};

/// Insert rows, replacing existing rows with the same identifier-field values.
#[derive(Debug)]
pub struct Upsert(Producer);

impl Table {
    /// Upsert rows by the table's identifier fields (merge-on-read).
    pub fn upsert(&self) -> Upsert {
        Upsert(Producer::new(self.clone(), Kind::Append))
    }
}

impl Upsert {
    /// Commit to branch `name` instead of main.
    pub fn to_branch(mut self, name: impl Into<String>) -> Self {
        self.0.branch = name.into();
        self
    }

    /// Write the rows (the last row of each key wins) and the equality deletes of their keys.
    pub async fn add_batches(mut self, batches: &[RecordBatch]) -> Result<Self> {
        let md = self.0.table.metadata();
        let schema = md.current_schema().clone();
        let key_ids = schema.identifier_field_ids().to_vec();
        if key_ids.is_empty() {
            return Err(Error::invalid(
                "upsert needs identifier fields: set them on the table schema first",
            ));
        }
        let key_fields = key_ids
            .iter()
            .map(|id| {
                schema
                    .fields()
                    .iter()
                    .find(|f| f.id == *id)
                    .cloned()
                    .ok_or_else(|| {
                        Error::unsupported(format!(
                            "identifier field {id} is nested; upsert supports top-level identifier fields"
                        ))
                    })
            })
            .collect::<Result<Vec<_>>>()?;
        let spec = md.default_partition_spec();
        if let Some(f) = spec.fields().iter().find(|f| {
            !key_ids.contains(&*f.source_id) && f.transform != crate::spec::Transform::Void
        }) {
            return Err(Error::invalid(format!(
                "upsert on a table partitioned by '{}' needs its source column among the identifier fields, \
                 or an equality delete could miss an older row in another partition",
                f.name
            )));
        }
        let rows = dedup_last(&schema, &key_ids, batches)?;
        if rows.num_rows() == 0 {
            return Ok(self);
        }
        let data =
            write_batches_with_schema(&self.0.table, &schema, std::slice::from_ref(&rows)).await?;
        // The keys, as an equality delete file per partition.
        let key_schema = Schema::builder().with_fields(key_fields).build()?;
        let key_batch = rows
            .project(
                &key_ids
                    .iter()
                    .map(|id| {
                        schema
                            .fields()
                            .iter()
                            .position(|f| f.id == *id)
                            .unwrap_or(0)
                    })
                    .collect::<Vec<_>>(),
            )
            .map_err(|e| Error::invalid(format!("cannot project identifier columns: {e}")))?;
        let mut deletes: Vec<DataFile> =
            write_batches_with_schema(&self.0.table, &key_schema, &[key_batch]).await?;
        for d in &mut deletes {
            d.content = DataContentType::EqualityDeletes;
            d.equality_ids = Some(key_ids.clone());
            d.sort_order_id = None;
        }
        self.0.added.extend(data);
        self.0.added.extend(deletes);
        Ok(self)
    }

    /// Commit through `catalog`, retrying conflicts per `commit.retry.*`. On `main`, when the
    /// upsert leaves `floe.upsert.merge-deltas.min-delete-files` (default 16) equality delete
    /// files in one scope, it then merges the deltas of that scope (see
    /// [`crate::maintenance::RewriteDataFiles::merge_deltas`]) in a second snapshot, so a
    /// stream of small upserts keeps reads fast. The upsert stands whatever the merge does:
    /// a failed merge (a concurrent commit, say) is logged and left for the next upsert.
    pub async fn commit(self, catalog: &dyn Catalog) -> Result<Table> {
        let on_main = self.0.branch == MAIN_BRANCH;
        let table = self.0.commit(catalog).await?;
        if !on_main {
            return Ok(table);
        }
        let min = table
            .metadata()
            .table_properties()
            .map(|p| p.floe_upsert_merge_deltas_min_delete_files)
            .unwrap_or(0);
        // The summary counts the snapshot's delete files: below the threshold no scope can
        // reach it.
        let deletes = table
            .metadata()
            .current_snapshot()
            .and_then(|s| s.summary.get("total-delete-files"))
            .and_then(|v| v.parse::<usize>().ok());
        if min == 0 || deletes.is_some_and(|n| n < min) {
            return Ok(table);
        }
        let merged = async {
            let report = table
                .rewrite_data_files()
                .merge_deltas(min)
                .execute(catalog)
                .await?;
            match report.snapshot_id {
                Some(_) => catalog.load_table(table.ident()).await.map(Some),
                None => Ok(None),
            }
        }
        .await;
        match merged {
            Ok(Some(t)) => Ok(t),
            Ok(None) => Ok(table),
            Err(e) => {
                tracing::warn!(
                    table = %table.ident(),
                    error = %e,
                    "the upsert committed; merging its deltas failed and is left for a later upsert"
                );
                Ok(table)
            }
        }
    }
}

/// All rows, conformed to the table schema, keeping only the last row of each key.
fn dedup_last(schema: &Schema, key_ids: &[i32], batches: &[RecordBatch]) -> Result<RecordBatch> {
    let arrow_schema = Arc::new(crate::arrow::iceberg_schema_to_arrow(schema)?);
    let conformed = batches
        .iter()
        .map(|b| crate::writer::conform_batch(schema, &arrow_schema, b))
        .collect::<Result<Vec<_>>>()?;
    let all = arrow_select::concat::concat_batches(&arrow_schema, &conformed)
        .map_err(|e| Error::invalid(format!("cannot combine batches: {e}")))?;
    let cols = key_ids
        .iter()
        .map(|id| {
            schema
                .fields()
                .iter()
                .position(|f| f.id == *id)
                .map(|i| all.column(i).clone())
                .ok_or_else(|| {
                    Error::invalid(format!("identifier field {id} is not a top-level column"))
                })
        })
        .collect::<Result<Vec<_>>>()?;
    let converter = arrow_row::RowConverter::new(
        cols.iter()
            .map(|c| arrow_row::SortField::new(c.data_type().clone()))
            .collect(),
    )
    .map_err(|e| Error::invalid(format!("cannot compare keys: {e}")))?;
    let keys = converter
        .convert_columns(&cols)
        .map_err(|e| Error::invalid(format!("cannot compare keys: {e}")))?;
    let mut seen = HashSet::new();
    let mut keep: Vec<u32> = Vec::new();
    for i in (0..all.num_rows()).rev() {
        if seen.insert(keys.row(i).as_ref().to_vec()) {
            keep.push(i as u32);
        }
    }
    keep.reverse();
    if keep.len() == all.num_rows() {
        return Ok(all);
    }
    let indices = UInt32Array::from(keep);
    let columns = all
        .columns()
        .iter()
        .map(|c| arrow_select::take::take(c.as_ref(), &indices, None))
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| Error::invalid(format!("cannot select rows: {e}")))?;
    RecordBatch::try_new(arrow_schema, columns)
        .map_err(|e| Error::invalid(format!("cannot select rows: {e}")))
}
