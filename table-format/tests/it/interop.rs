//! Interop with real clients: pyiceberg 0.12 and DuckDB 1.5.5 read what Floe writes (rows,
//! partition values, and pyiceberg's own planning prunes with Floe's statistics), and Floe
//! reads what pyiceberg writes, including after its overwrites and deletes.
//!
//! The clients run from the interop venv (`FLOE_VENV`, set by scripts/test.sh). Without it the
//! tests fail under CI and are skipped, loudly, elsewhere.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use arrow_array::{
    Decimal128Array, Float64Array, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
};
use arrow_schema::SchemaRef;
use serde_json::Value;
use table_format::arrow::iceberg_schema_to_arrow;
use table_format::catalog::{Catalog, MemoryCatalog, TableCreation, TableIdent};
use table_format::expr::Reference;
use table_format::io::FileIO;
use table_format::spec::{
    Datum, NestedField, PrimitiveType, Schema, SourceId, Transform, UnboundPartitionField,
    UnboundPartitionSpec,
};
use table_format::table::Table;

/// The interop venv's python, or None (skip) outside CI.
pub fn python() -> Option<PathBuf> {
    let venv = std::env::var("FLOE_VENV")
        .ok()
        .map(PathBuf::from)
        .or_else(|| {
            let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/interop-venv.sh");
            let out = Command::new("bash").arg(script).output().ok()?;
            let text = String::from_utf8_lossy(&out.stdout);
            text.lines().last().map(|l| PathBuf::from(l.trim()))
        });
    let py = venv.map(|v| v.join("bin/python")).filter(|p| p.exists());
    if py.is_none() {
        assert!(
            std::env::var("CI").is_err(),
            "the interop venv is missing in CI; scripts/test.sh must create it"
        );
        eprintln!("SKIPPED: no interop venv (run scripts/interop-venv.sh)");
    }
    py
}

/// Run tests/interop/floe_interop.py; returns (success, JSON report).
pub fn interop(py: &Path, args: &[&str]) -> (bool, Value) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/interop/floe_interop.py");
    let out = Command::new(py)
        .arg(script)
        .args(args)
        .output()
        .expect("python runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report = stdout
        .lines()
        .last()
        .and_then(|l| serde_json::from_str(l).ok())
        .unwrap_or_else(|| {
            panic!(
                "floe_interop.py {args:?} printed no report:\n{stdout}\n{}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
    (out.status.success(), report)
}

/// Write batches as an Arrow IPC stream file.
pub fn write_ipc(path: &Path, schema: &SchemaRef, batches: &[RecordBatch]) {
    let f = std::fs::File::create(path).unwrap();
    let mut w = arrow_ipc::writer::StreamWriter::try_new(f, schema).unwrap();
    for b in batches {
        w.write(b).unwrap();
    }
    w.finish().unwrap();
}

/// A fresh local warehouse directory.
pub fn temp_warehouse(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("floe-it-{name}-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub fn schema() -> Schema {
    Schema::builder()
        .with_fields([
            NestedField::optional(1, "id", PrimitiveType::Long),
            NestedField::optional(2, "name", PrimitiveType::String),
            NestedField::optional(3, "category", PrimitiveType::String),
            NestedField::optional(4, "ts", PrimitiveType::Timestamptz),
            NestedField::optional(
                5,
                "amount",
                PrimitiveType::Decimal {
                    precision: 10,
                    scale: 2,
                },
            ),
            NestedField::optional(6, "score", PrimitiveType::Double),
        ])
        .build()
        .unwrap()
}

/// Rows `start..start+n` of the sample data (the same generator as floe_interop.py's).
pub fn batch(schema: &Schema, start: i64, n: i64) -> RecordBatch {
    let arrow = Arc::new(iceberg_schema_to_arrow(schema).unwrap());
    let base_us = 1_767_225_600_000_000i64; // 2026-01-01T00:00:00Z
    let ids: Vec<i64> = (start..start + n).collect();
    RecordBatch::try_new(
        arrow,
        vec![
            Arc::new(Int64Array::from(ids.clone())),
            Arc::new(StringArray::from_iter_values(
                ids.iter().map(|i| format!("user-{}", i % 7)),
            )),
            Arc::new(StringArray::from_iter_values(ids.iter().map(|i| {
                "abcdef"[(*i % 6) as usize..(*i % 6) as usize + 1].repeat(3)
            }))),
            Arc::new(
                TimestampMicrosecondArray::from_iter_values(
                    ids.iter().map(|i| base_us + i * 5 * 3_600_000_000),
                )
                .with_timezone("+00:00"),
            ),
            Arc::new(
                Decimal128Array::from_iter_values(ids.iter().map(|i| *i as i128 * 25))
                    .with_precision_and_scale(10, 2)
                    .unwrap(),
            ),
            Arc::new(Float64Array::from_iter(
                ids.iter().map(|i| (i % 5 != 0).then_some(*i as f64 * 1.5)),
            )),
        ],
    )
    .unwrap()
}

fn spec(fields: &[(i32, &str, Transform)]) -> UnboundPartitionSpec {
    UnboundPartitionSpec {
        spec_id: None,
        fields: fields
            .iter()
            .map(|(source, name, t)| UnboundPartitionField {
                source_id: SourceId::from(*source),
                field_id: None,
                name: name.to_string(),
                transform: t.clone(),
            })
            .collect(),
    }
}

/// Every layout the issue names.
fn layouts() -> Vec<(&'static str, UnboundPartitionSpec)> {
    vec![
        ("unpartitioned", UnboundPartitionSpec::default()),
        ("identity", spec(&[(3, "category", Transform::Identity)])),
        ("bucket", spec(&[(1, "id_bucket", Transform::Bucket(4))])),
        (
            "truncate",
            spec(&[(2, "name_trunc", Transform::Truncate(6))]),
        ),
        ("day", spec(&[(4, "ts_day", Transform::Day)])),
        ("hour", spec(&[(4, "ts_hour", Transform::Hour)])),
    ]
}

async fn floe_table(
    dir: &Path,
    name: &str,
    layout: UnboundPartitionSpec,
    version: u8,
) -> (MemoryCatalog, Table) {
    let catalog = MemoryCatalog::new(FileIO::local(), format!("file://{}", dir.display()));
    let ident = TableIdent::new(["db"], name);
    let creation = TableCreation::new(schema())
        .with_partition_spec(layout)
        .with_property("format-version", version.to_string());
    let mut table = catalog.create_table(&ident, creation).await.unwrap();
    for k in 0..3 {
        table = table
            .fast_append()
            .add_batches(&[batch(&schema(), k * 20, 20)])
            .await
            .unwrap()
            .commit(&catalog)
            .await
            .unwrap();
    }
    (catalog, table)
}

async fn floe_rows(table: &Table) -> (SchemaRef, Vec<RecordBatch>) {
    let scan = table.scan();
    let batches = scan.to_arrow().await.unwrap();
    let schema = Arc::new(iceberg_schema_to_arrow(&scan.schema().unwrap()).unwrap());
    (schema, batches)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pyiceberg_and_duckdb_read_tables_floe_wrote() {
    let Some(py) = python() else { return };
    for version in [2u8, 3] {
        for (name, layout) in layouts() {
            let dir = temp_warehouse(name);
            let (_catalog, table) = floe_table(&dir, name, layout, version).await;
            let (schema, batches) = floe_rows(&table).await;
            assert_eq!(batches.iter().map(|b| b.num_rows()).sum::<usize>(), 60);
            let ipc = dir.join("floe.arrows");
            write_ipc(&ipc, &schema, &batches);
            let md = table.metadata_location().to_string();
            let mut args = vec!["compare", "--metadata", md.as_str(), "--expected"];
            let ipc_s = ipc.display().to_string();
            args.push(&ipc_s);
            let (ok, report) = interop(&py, &args);
            assert!(ok, "v{version} {name}: {report}");
            assert_eq!(
                report["pyiceberg_equal"], true,
                "v{version} {name}: {report}"
            );
            assert_eq!(report["duckdb_equal"], true, "v{version} {name}: {report}");
            assert_partition_values_agree(&py, &table, &md, &format!("v{version} {name}")).await;
            std::fs::remove_dir_all(&dir).ok();
        }
    }
}

/// pyiceberg's `inspect.files()` sees each file with the partition values Floe wrote.
async fn assert_partition_values_agree(py: &Path, table: &Table, md: &str, what: &str) {
    let (ok, report) = interop(py, &["inspect", "--metadata", md]);
    assert!(ok, "{what}: {report}");
    let spec = table.metadata().default_partition_spec();
    let tasks = table.scan().plan_files().await.unwrap();
    let files = report["files"].as_array().unwrap();
    assert_eq!(files.len(), tasks.len(), "{what}: file count");
    for task in tasks {
        let theirs = files
            .iter()
            .find(|f| f["file_path"] == task.data_file.file_path.as_str())
            .unwrap_or_else(|| {
                panic!(
                    "{what}: pyiceberg does not list {}",
                    task.data_file.file_path
                )
            });
        assert_eq!(
            theirs["record_count"], task.data_file.record_count,
            "{what}"
        );
        for (field, value) in spec.fields().iter().zip(&task.data_file.partition) {
            let py_value = &theirs["partition"][field.name.as_str()];
            let py_text = match py_value {
                Value::String(s) => s.clone(),
                Value::Null => "null".into(),
                other => other.to_string(),
            };
            let ours = value
                .as_ref()
                .map_or("null".to_string(), |d| d.human_string());
            assert_eq!(
                py_text, ours,
                "{what}: partition field {} of {}",
                field.name, task.data_file.file_path
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pyiceberg_planning_prunes_with_floe_statistics() {
    let Some(py) = python() else { return };
    for (name, layout) in layouts() {
        let dir = temp_warehouse(&format!("plan-{name}"));
        let (_catalog, table) = floe_table(&dir, name, layout, 2).await;
        let md = table.metadata_location().to_string();
        // A filter on each layout's column, plus a metrics-only one (id range).
        for (floe_filter, py_filter) in [
            (
                Reference::new("category").equal_to(Datum::String("bbb".into())),
                "category = 'bbb'",
            ),
            (
                Reference::new("id").greater_than_or_eq(Datum::Long(45)),
                "id >= 45",
            ),
        ] {
            let ours: Vec<String> = {
                let mut v: Vec<String> = table
                    .scan()
                    .with_filter(floe_filter.clone())
                    .plan_files()
                    .await
                    .unwrap()
                    .into_iter()
                    .map(|t| t.data_file.file_path)
                    .collect();
                v.sort();
                v
            };
            let (ok, report) = interop(&py, &["plan", "--metadata", &md, "--filter", py_filter]);
            assert!(ok, "{report}");
            let theirs: Vec<String> = report["files"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap().to_string())
                .collect();
            assert_eq!(
                ours, theirs,
                "{name} / {py_filter}: Floe and pyiceberg plan different files"
            );
            let all = table.scan().plan_files().await.unwrap().len();
            // Each append writes files with disjoint id ranges, so `id >= 45` skips the first
            // two appends' files in every layout (column metrics); `category = 'bbb'` can only
            // skip files when category is the partition (every other file holds all six).
            if name == "identity" || py_filter.starts_with("id") {
                assert!(
                    theirs.len() < all,
                    "{name} / {py_filter}: pyiceberg pruned nothing ({all} files)"
                );
            }
        }
        std::fs::remove_dir_all(&dir).ok();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn floe_reads_tables_pyiceberg_wrote_after_overwrite_and_delete() {
    let Some(py) = python() else { return };
    for (partitioned, evolve) in [(false, false), (true, false), (false, true), (true, true)] {
        let dir = temp_warehouse("pyiceberg-made");
        let mut args = vec!["make-table", "--warehouse"];
        let d = dir.display().to_string();
        args.push(&d);
        args.extend(["--name", "t"]);
        if partitioned {
            args.push("--partitioned");
        }
        if evolve {
            // pyiceberg's update_schema (add, rename) and update_spec (add bucket), then more rows.
            args.push("--evolve");
        }
        let (ok, made) = interop(&py, &args);
        assert!(ok, "{made}");
        let md = made["metadata"].as_str().unwrap().to_string();
        let table = Table::from_metadata_file(FileIO::local(), &md)
            .await
            .unwrap();
        let (schema, batches) = floe_rows(&table).await;
        let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
        assert_eq!(
            rows as i64,
            made["rows"].as_i64().unwrap(),
            "partitioned={partitioned}"
        );
        let ipc = dir.join("floe.arrows");
        write_ipc(&ipc, &schema, &batches);
        let ipc_s = ipc.display().to_string();
        let (ok, report) = interop(&py, &["compare", "--metadata", &md, "--expected", &ipc_s]);
        assert!(ok, "partitioned={partitioned} evolve={evolve}: {report}");
        std::fs::remove_dir_all(&dir).ok();
    }
}
