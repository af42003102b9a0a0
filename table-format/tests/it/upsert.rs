//! Upserts by identifier fields write equality deletes plus new rows; reads (Floe's,
//! pyiceberg's, DuckDB's) see one live row per key.

use std::sync::Arc;

use arrow_array::{Array, Int64Array, RecordBatch, StringArray};
use table_format::arrow::iceberg_schema_to_arrow;
use table_format::catalog::{Catalog, MemoryCatalog, TableCreation, TableIdent};
use table_format::io::FileIO;
use table_format::spec::{NestedField, Operation, PrimitiveType, Schema};

use crate::interop::{interop, python, temp_warehouse, write_ipc};

fn keyed_schema() -> Schema {
    Schema::builder()
        .with_identifier_field_ids([1])
        .with_fields([
            NestedField::required(1, "id", PrimitiveType::Long),
            NestedField::optional(2, "value", PrimitiveType::String),
        ])
        .build()
        .unwrap()
}

fn rows(ids: &[i64], tag: &str) -> RecordBatch {
    let schema = Arc::new(iceberg_schema_to_arrow(&keyed_schema()).unwrap());
    RecordBatch::try_new(
        schema,
        vec![
            Arc::new(Int64Array::from(ids.to_vec())),
            Arc::new(StringArray::from_iter_values(
                ids.iter().map(|i| format!("{tag}-{i}")),
            )),
        ],
    )
    .unwrap()
}

async fn live(t: &table_format::table::Table) -> Vec<(i64, String)> {
    let mut out = Vec::new();
    for b in t.scan().to_arrow().await.unwrap() {
        let ids = b.column(0).as_any().downcast_ref::<Int64Array>().unwrap();
        let vals = b.column(1).as_any().downcast_ref::<StringArray>().unwrap();
        for i in 0..b.num_rows() {
            out.push((ids.value(i), vals.value(i).to_string()));
        }
    }
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upserts_replace_rows_by_key_and_real_clients_agree() {
    let dir = temp_warehouse("upsert");
    let catalog = MemoryCatalog::new(FileIO::local(), format!("file://{}", dir.display()));
    let ident = TableIdent::new(["db"], "kv");
    let t = catalog
        .create_table(&ident, TableCreation::new(keyed_schema()))
        .await
        .unwrap();
    let t = t
        .fast_append()
        .add_batches(&[rows(&(0..10).collect::<Vec<_>>(), "v1")])
        .await
        .unwrap()
        .commit(&catalog)
        .await
        .unwrap();
    // Keys 5..15: five replace old rows, five are new; key 7 twice in one upsert (last wins).
    let mut batch_ids: Vec<i64> = (5..15).collect();
    batch_ids.push(7);
    let mut b = rows(&batch_ids, "v2");
    // Make the repeated key's last row distinguishable.
    let vals: Vec<String> = batch_ids
        .iter()
        .enumerate()
        .map(|(i, k)| {
            if i == batch_ids.len() - 1 {
                "v2-last".to_string()
            } else {
                format!("v2-{k}")
            }
        })
        .collect();
    b = RecordBatch::try_new(
        b.schema(),
        vec![b.column(0).clone(), Arc::new(StringArray::from(vals))],
    )
    .unwrap();
    let t = t
        .upsert()
        .add_batches(&[b])
        .await
        .unwrap()
        .commit(&catalog)
        .await
        .unwrap();
    let snap = t.metadata().current_snapshot().unwrap();
    assert_eq!(snap.summary.operation, Operation::Overwrite);
    assert_eq!(snap.summary.get("added-equality-deletes"), Some("10"));
    let got = live(&t).await;
    assert_eq!(got.len(), 15, "one live row per key: {got:?}");
    assert_eq!(got[0], (0, "v1-0".to_string()));
    assert_eq!(got[5], (5, "v2-5".to_string()));
    assert_eq!(got[7], (7, "v2-last".to_string()));
    assert_eq!(got[14], (14, "v2-14".to_string()));

    assert_duckdb_reads_what_floe_reads(&t, &dir, "floe").await;
    std::fs::remove_dir_all(&dir).ok();
}

/// DuckDB reads the table's current rows as Floe does (when the interop venv is there).
/// pyiceberg 0.12 refuses equality deletes ("does not yet support equality deletes"), so
/// DuckDB is the real client that checks them.
async fn assert_duckdb_reads_what_floe_reads(
    t: &table_format::table::Table,
    dir: &std::path::Path,
    name: &str,
) {
    let Some(py) = python() else {
        return;
    };
    let batches = t.scan().to_arrow().await.unwrap();
    let schema = Arc::new(iceberg_schema_to_arrow(t.metadata().current_schema()).unwrap());
    let ipc = dir.join(format!("{name}.arrows"));
    write_ipc(&ipc, &schema, &batches);
    let (ok, report) = interop(
        &py,
        &[
            "compare",
            "--metadata",
            t.metadata_location(),
            "--expected",
            &ipc.display().to_string(),
            "--no-pyiceberg",
        ],
    );
    assert!(ok, "{name}: {report}");
    assert_eq!(report["duckdb_equal"], true, "{name}: {report}");
}

#[tokio::test]
async fn a_stream_of_small_upserts_leaves_one_live_row_per_key() {
    let catalog = MemoryCatalog::new(FileIO::memory(), "memory://wh");
    let ident = TableIdent::new(["db"], "stream");
    let mut t = catalog
        .create_table(&ident, TableCreation::new(keyed_schema()))
        .await
        .unwrap();
    for i in 0..1_000i64 {
        let keys = [i % 40, (i * 7) % 40];
        t = t
            .upsert()
            .add_batches(&[rows(&keys, &format!("u{i}"))])
            .await
            .unwrap()
            .commit(&catalog)
            .await
            .unwrap();
    }
    let got = live(&t).await;
    assert_eq!(got.len(), 40, "one live row per key");
    // Each key holds the value of the last upsert that wrote it.
    for (k, v) in &got {
        let last = (0..1_000i64)
            .rev()
            .find(|i| i % 40 == *k || (i * 7) % 40 == *k)
            .unwrap();
        assert_eq!(v, &format!("u{last}-{k}"));
    }
}

#[tokio::test]
async fn upsert_needs_identifier_fields() {
    let catalog = MemoryCatalog::new(FileIO::memory(), "memory://wh");
    let ident = TableIdent::new(["db"], "nokey");
    let schema = Schema::builder()
        .with_fields([
            NestedField::required(1, "id", PrimitiveType::Long),
            NestedField::optional(2, "value", PrimitiveType::String),
        ])
        .build()
        .unwrap();
    let t = catalog
        .create_table(&ident, TableCreation::new(schema))
        .await
        .unwrap();
    let err = t
        .upsert()
        .add_batches(&[rows(&[1], "x")])
        .await
        .unwrap_err();
    assert!(err.message().contains("identifier fields"), "{err}");
}

/// (data manifests, delete manifests) of the current snapshot.
async fn manifest_counts(t: &table_format::table::Table) -> (usize, usize) {
    use table_format::spec::ManifestContentType;
    let snap = t.metadata().current_snapshot().unwrap();
    let list = table_format::scan::plan::load_manifest_list(t.file_io(), snap)
        .await
        .unwrap();
    let deletes = list
        .iter()
        .filter(|m| m.content == ManifestContentType::Deletes)
        .count();
    (list.len() - deletes, deletes)
}

#[tokio::test]
async fn upserts_merge_small_manifests_on_commit_and_fast_appends_do_not() {
    let catalog = MemoryCatalog::new(FileIO::memory(), "memory://wh");
    let create = |merge: bool| {
        TableCreation::new(keyed_schema())
            .with_property("commit.manifest.min-count-to-merge", "10")
            .with_property("commit.manifest-merge.enabled", merge.to_string())
            // Manifest merging alone: no delta merges.
            .with_property("floe.upsert.merge-deltas.min-delete-files", "0")
    };
    let mut merged = catalog
        .create_table(&TableIdent::new(["db"], "merged"), create(true))
        .await
        .unwrap();
    let mut plain = catalog
        .create_table(&TableIdent::new(["db"], "plain"), create(false))
        .await
        .unwrap();
    let mut middle = None;
    for i in 0..30i64 {
        let keys = [i % 12, 100 + i];
        for t in [&mut merged, &mut plain] {
            *t = t
                .upsert()
                .add_batches(&[rows(&keys, &format!("u{i}"))])
                .await
                .unwrap()
                .commit(&catalog)
                .await
                .unwrap();
        }
        if i == 14 {
            middle = Some((
                merged.metadata().current_snapshot_id().unwrap(),
                live(&plain).await,
            ));
        }
    }
    let (data, deletes) = manifest_counts(&merged).await;
    assert!(
        data < 10 && deletes < 10,
        "merged: {data} data, {deletes} delete manifests"
    );
    assert_eq!(manifest_counts(&plain).await, (30, 30));
    // Same rows, and sequence numbers kept: every equality delete still applies correctly.
    let got = live(&merged).await;
    assert_eq!(got, live(&plain).await);
    assert_eq!(got.len(), 12 + 30);
    // Time travel to a snapshot before later merges reads what it read then.
    let (id, want) = middle.unwrap();
    let mut then = Vec::new();
    for b in merged.scan().snapshot_id(id).to_arrow().await.unwrap() {
        let ids = b.column(0).as_any().downcast_ref::<Int64Array>().unwrap();
        let vals = b.column(1).as_any().downcast_ref::<StringArray>().unwrap();
        for i in 0..b.num_rows() {
            then.push((ids.value(i), vals.value(i).to_string()));
        }
    }
    then.sort();
    assert_eq!(then, want);

    // A fast append never rewrites manifests.
    let mut t = catalog
        .create_table(&TableIdent::new(["db"], "fast"), create(true))
        .await
        .unwrap();
    for i in 0..15i64 {
        t = t
            .fast_append()
            .add_batches(&[rows(&[1000 + i], "a")])
            .await
            .unwrap()
            .commit(&catalog)
            .await
            .unwrap();
    }
    assert_eq!(manifest_counts(&t).await, (15, 0));
}

/// Rows of `t` at snapshot `id`, sorted.
async fn live_at(t: &table_format::table::Table, id: i64) -> Vec<(i64, String)> {
    let mut out = Vec::new();
    for b in t.scan().snapshot_id(id).to_arrow().await.unwrap() {
        let ids = b.column(0).as_any().downcast_ref::<Int64Array>().unwrap();
        let vals = b.column(1).as_any().downcast_ref::<StringArray>().unwrap();
        for i in 0..b.num_rows() {
            out.push((ids.value(i), vals.value(i).to_string()));
        }
    }
    out.sort();
    out
}

/// Equality delete files in the current snapshot.
async fn equality_delete_files(t: &table_format::table::Table) -> usize {
    use table_format::spec::DataContentType;
    let tasks = t.scan().plan_files().await.unwrap();
    let paths: std::collections::BTreeSet<&str> = tasks
        .iter()
        .flat_map(|t| &t.deletes)
        .filter(|d| d.file.content == DataContentType::EqualityDeletes)
        .map(|d| d.file.file_path.as_str())
        .collect();
    paths.len()
}

/// A stream of upserts (with merge-on-read deletes by filter among them) into a table whose
/// upserts merge their deltas every 3 equality delete files reads, after every commit, the
/// same rows as the model and as the same stream into a table that never merges; each merge
/// is a `replace` snapshot whose rows are its parent's; and DuckDB reads the merged table as
/// Floe does. Unpartitioned (one table-wide scope) and partitioned by bucket(4, id) (a scope
/// per partition).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merged_upsert_deltas_change_no_row_and_real_clients_agree() {
    use std::collections::BTreeMap;
    use table_format::expr::Reference;
    use table_format::spec::{
        Datum, SourceId, Transform, UnboundPartitionField, UnboundPartitionSpec,
    };
    let dir = temp_warehouse("upsert-merge");
    let catalog = MemoryCatalog::new(FileIO::local(), format!("file://{}", dir.display()));
    for partitioned in [false, true] {
        let creation = |merge_after: &str| {
            let mut c = TableCreation::new(keyed_schema())
                .with_property("floe.upsert.merge-deltas.min-delete-files", merge_after)
                .with_property("write.delete.mode", "merge-on-read");
            if partitioned {
                c = c.with_partition_spec(UnboundPartitionSpec {
                    spec_id: None,
                    fields: vec![UnboundPartitionField {
                        source_id: SourceId::from(1),
                        field_id: None,
                        name: "id_bucket".into(),
                        transform: Transform::Bucket(4),
                    }],
                });
            }
            c
        };
        let name = |n: &str| TableIdent::new(["db"], format!("{n}_{partitioned}"));
        // Big enough that the first merges carry keys and later ones, once the rows written
        // since reach a tenth of the table, rewrite it whole.
        let base: Vec<i64> = (0..600).collect();
        let mut tables = Vec::new();
        for (n, merge_after) in [("merged", "3"), ("plain", "0")] {
            let t = catalog
                .create_table(&name(n), creation(merge_after))
                .await
                .unwrap()
                .fast_append()
                .add_batches(&[rows(&base, "base")])
                .await
                .unwrap()
                .commit(&catalog)
                .await
                .unwrap();
            tables.push(t);
        }
        let mut model: BTreeMap<i64, String> =
            base.iter().map(|i| (*i, format!("base-{i}"))).collect();
        let mut rng = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move |n: u64| {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            (rng % n) as i64
        };
        for step in 0..40 {
            let tag = format!("s{step}");
            if step % 9 == 8 {
                // A merge-on-read delete of two keys: position deletes, maybe against the
                // files a merge wrote or is about to rewrite.
                let (a, b) = (next(700), next(700));
                let filter = Reference::new("id")
                    .equal_to(Datum::Long(a))
                    .or(Reference::new("id").equal_to(Datum::Long(b)));
                for t in tables.iter_mut() {
                    *t = t
                        .delete_where(filter.clone())
                        .commit(&catalog)
                        .await
                        .unwrap();
                }
                model.remove(&a);
                model.remove(&b);
            } else {
                let keys: Vec<i64> = (0..6).map(|_| next(700)).collect();
                for t in tables.iter_mut() {
                    *t = t
                        .upsert()
                        .add_batches(&[rows(&keys, &tag)])
                        .await
                        .unwrap()
                        .commit(&catalog)
                        .await
                        .unwrap();
                }
                for k in &keys {
                    model.insert(*k, format!("{tag}-{k}"));
                }
            }
            let expected: Vec<(i64, String)> = model.iter().map(|(k, v)| (*k, v.clone())).collect();
            assert_eq!(live(&tables[0]).await, expected, "merged, step {step}");
            assert_eq!(live(&tables[1]).await, expected, "plain, step {step}");
            if !partitioned {
                // One scope: never three equality delete files after a commit.
                assert!(equality_delete_files(&tables[0]).await < 3, "step {step}");
            }
        }
        assert!(
            equality_delete_files(&tables[1]).await >= 30,
            "the plain table keeps every delete file"
        );
        // Every merge is a replace snapshot whose rows are its parent's.
        let md = tables[0].metadata();
        let merges: Vec<_> = md
            .snapshots()
            .iter()
            .filter(|s| s.summary.operation == Operation::Replace)
            .collect();
        assert!(merges.len() >= 5, "{} merges", merges.len());
        if !partitioned {
            // Both kinds: merges that write the keys again, and whole-table rewrites that
            // leave no delete file.
            let carried = merges
                .iter()
                .filter(|s| {
                    s.summary
                        .get("added-delete-files")
                        .is_some_and(|n| n != "0")
                })
                .count();
            let whole = merges
                .iter()
                .filter(|s| s.summary.get("total-delete-files") == Some("0"))
                .count();
            assert!(
                carried >= 2 && whole >= 1,
                "{carried} carried, {whole} whole"
            );
        }
        for s in merges {
            let parent = s.parent_snapshot_id.unwrap();
            assert_eq!(
                live_at(&tables[0], s.snapshot_id).await,
                live_at(&tables[0], parent).await,
                "merge {} changed rows",
                s.snapshot_id
            );
        }
        assert_duckdb_reads_what_floe_reads(&tables[0], &dir, &format!("merged-{partitioned}"))
            .await;
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// A merge planned before another upsert lands commits after it: the later upsert's deletes
/// (a higher sequence number than the merged files) still replace the merged rows.
#[tokio::test]
async fn a_delta_merge_rebased_over_a_later_upsert_keeps_the_later_rows() {
    let catalog = MemoryCatalog::new(FileIO::memory(), "memory://wh");
    let ident = TableIdent::new(["db"], "race");
    let mut t = catalog
        .create_table(
            &ident,
            TableCreation::new(keyed_schema())
                .with_property("floe.upsert.merge-deltas.min-delete-files", "0"),
        )
        .await
        .unwrap();
    // A base large enough that the merge carries the keys (rather than rewrite everything).
    let base: Vec<i64> = (1..=100).collect();
    t = t
        .fast_append()
        .add_batches(&[rows(&base, "base")])
        .await
        .unwrap()
        .commit(&catalog)
        .await
        .unwrap();
    for (i, keys) in [[1, 4], [2, 4], [1, 5]].iter().enumerate() {
        t = t
            .upsert()
            .add_batches(&[rows(keys, &format!("u{i}"))])
            .await
            .unwrap()
            .commit(&catalog)
            .await
            .unwrap();
    }
    let plan = t.rewrite_data_files().merge_deltas(3).plan().await.unwrap();
    assert_eq!(
        plan.rewritten_paths().len(),
        3,
        "the three upserts' data files"
    );
    // Another writer upserts keys the merge rewrites, then the merge commits.
    let later = t
        .upsert()
        .add_batches(&[rows(&[4, 1], "late")])
        .await
        .unwrap()
        .commit(&catalog)
        .await
        .unwrap();
    let report = plan.execute(&catalog).await.unwrap();
    assert_eq!(report.added_data_files, 1);
    assert_eq!(report.added_delete_files, 1);
    assert_eq!(report.removed_delete_files, 3);
    let t = catalog.load_table(&ident).await.unwrap();
    assert_eq!(
        t.metadata().current_snapshot().unwrap().parent_snapshot_id,
        later.metadata().current_snapshot_id()
    );
    let mut want: std::collections::BTreeMap<i64, String> =
        base.iter().map(|k| (*k, format!("base-{k}"))).collect();
    for (k, v) in [(1, "late-1"), (2, "u1-2"), (4, "late-4"), (5, "u2-5")] {
        want.insert(k, v.to_string());
    }
    let want: Vec<(i64, String)> = want.into_iter().collect();
    assert_eq!(live(&t).await, want);
    // The later upsert's delete file and the merged one remain; the three merged are gone.
    assert_eq!(equality_delete_files(&t).await, 2);
}
