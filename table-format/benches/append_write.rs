//! Benchmark: the data-file half of an append. 1,000,000 rows (id long, ts timestamptz,
//! user string, value double) go through the `PartitionedWriter`, partitioned by
//! `day(ts), bucket(16, id)`, into zstd Parquet files in a temporary directory; the figure is
//! rows per second for writing and closing every file (metrics included), without manifests
//! or the commit. For scale: a whole pyiceberg 0.12 append of the same kind runs at about
//! 170,000 rows/s.
//!
//! Then the whole append, side by side: Floe (`fast_append().add_batches(..).commit(..)`
//! through the in-memory catalog on local files: data files, manifest, manifest list,
//! metadata file) against pyiceberg 0.12's `Table.append` of the same Arrow data (handed over
//! as an Arrow IPC file, read before its clock starts) into a table with the same schema and
//! partitioning, in the same run.
//!
//! Run: `cargo bench -p table-format --bench append_write`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use arrow_array::{Float64Array, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray};
use table_format::arrow::iceberg_schema_to_arrow;
use table_format::io::FileIO;
use table_format::spec::{
    NestedField, PartitionField, PartitionSpec, PrimitiveType, Schema, Transform,
};
use table_format::writer::PartitionedWriter;

const ROWS: usize = 1_000_000;
const BATCH: usize = 100_000;
const DAYS: u64 = 7;
const MICROS_PER_DAY: u64 = 86_400_000_000;

/// A small deterministic generator (xorshift64*), so the data is the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

fn schema() -> Schema {
    Schema::builder()
        .with_fields([
            NestedField::required(1, "id", PrimitiveType::Long),
            NestedField::required(2, "ts", PrimitiveType::Timestamptz),
            NestedField::optional(3, "user", PrimitiveType::String),
            NestedField::optional(4, "value", PrimitiveType::Double),
        ])
        .build()
        .expect("valid schema")
}

fn spec() -> PartitionSpec {
    PartitionSpec::new(
        0,
        vec![
            PartitionField {
                source_id: 2.into(),
                field_id: 1000,
                name: "ts_day".into(),
                transform: Transform::Day,
            },
            PartitionField {
                source_id: 1.into(),
                field_id: 1001,
                name: "id_bucket".into(),
                transform: Transform::Bucket(16),
            },
        ],
    )
}

fn batches(schema: &Schema) -> Vec<RecordBatch> {
    let arrow = Arc::new(iceberg_schema_to_arrow(schema).expect("arrow schema"));
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let start = 1_700_000_000_000_000u64;
    (0..ROWS / BATCH)
        .map(|b| {
            let ids: Vec<i64> = (b * BATCH..(b + 1) * BATCH).map(|i| i as i64).collect();
            let ts: Vec<i64> = (0..BATCH)
                .map(|_| (start + rng.next() % (DAYS * MICROS_PER_DAY)) as i64)
                .collect();
            let users: Vec<String> = (0..BATCH)
                .map(|_| format!("user-{:05}", rng.next() % 50_000))
                .collect();
            let values: Vec<f64> = (0..BATCH)
                .map(|_| (rng.next() % 1_000_000) as f64 / 100.0)
                .collect();
            RecordBatch::try_new(
                arrow.clone(),
                vec![
                    Arc::new(Int64Array::from(ids)),
                    Arc::new(TimestampMicrosecondArray::from(ts).with_timezone("+00:00")),
                    Arc::new(StringArray::from(users)),
                    Arc::new(Float64Array::from(values)),
                ],
            )
            .expect("batch")
        })
        .collect()
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let schema = Arc::new(schema());
    let data = batches(&schema);
    let io = FileIO::local();
    let root = std::env::temp_dir().join(format!("floe-bench-append-{}", uuid::Uuid::new_v4()));

    for (label, spec) in [
        ("day(ts) x bucket(16, id)", spec()),
        ("unpartitioned", PartitionSpec::unpartitioned()),
    ] {
        let mut times = Vec::new();
        let mut files = 0;
        for run in 0..4 {
            let location = format!("file://{}/{label}-{run}/data", root.display())
                .replace(' ', "_")
                .replace(['(', ')', ','], "");
            let t = Instant::now();
            let written = runtime.block_on(async {
                let mut w = PartitionedWriter::builder(schema.clone(), io.clone(), location)
                    .partition_spec(spec.clone())
                    .table_properties(&BTreeMap::new())
                    .build()
                    .expect("writer");
                for b in &data {
                    w.write(b).await.expect("write");
                }
                w.close().await.expect("close")
            });
            let secs = t.elapsed().as_secs_f64();
            let rows: i64 = written.iter().map(|f| f.record_count).sum();
            assert_eq!(rows as usize, ROWS);
            files = written.len();
            if run > 0 {
                times.push(secs);
            }
        }
        times.sort_by(|a, b| a.total_cmp(b));
        let median = times[times.len() / 2];
        println!(
            "append_write {label}: {ROWS} rows into {files} files in {:.3} s (median of {}) = {:.0} rows/s",
            median,
            times.len(),
            ROWS as f64 / median
        );
    }
    full_append_vs_pyiceberg(&runtime, &schema, &data, &root);
    let _ = std::fs::remove_dir_all(&root);
}

fn full_append_vs_pyiceberg(
    runtime: &tokio::runtime::Runtime,
    schema: &Arc<Schema>,
    data: &[RecordBatch],
    root: &std::path::Path,
) {
    use table_format::catalog::{Catalog, MemoryCatalog, TableCreation, TableIdent};
    use table_format::spec::{UnboundPartitionField, UnboundPartitionSpec};

    let unbound = UnboundPartitionSpec {
        spec_id: None,
        fields: spec()
            .fields()
            .iter()
            .map(|f| UnboundPartitionField {
                source_id: f.source_id,
                field_id: None,
                name: f.name.clone(),
                transform: f.transform.clone(),
            })
            .collect(),
    };
    let mut times = Vec::new();
    for run in 0..3 {
        let warehouse = format!("file://{}/floe-full-{run}", root.display());
        let secs = runtime.block_on(async {
            let catalog = MemoryCatalog::new(FileIO::local(), warehouse);
            let ident = TableIdent::new(["bench"], "events");
            let table = catalog
                .create_table(
                    &ident,
                    TableCreation::new(schema.as_ref().clone())
                        .with_partition_spec(unbound.clone()),
                )
                .await
                .expect("create");
            let t = Instant::now();
            let table = table
                .fast_append()
                .add_batches(data)
                .await
                .expect("write")
                .commit(&catalog)
                .await
                .expect("commit");
            let secs = t.elapsed().as_secs_f64();
            let total: i64 = table
                .metadata()
                .current_snapshot()
                .and_then(|s| s.summary.get("total-records"))
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            assert_eq!(total as usize, ROWS);
            secs
        });
        times.push(secs);
    }
    times.sort_by(|a, b| a.total_cmp(b));
    let floe = times[times.len() / 2];
    println!(
        "full append, Floe: {ROWS} rows in {floe:.3} s (median of 3) = {:.0} rows/s",
        ROWS as f64 / floe
    );

    // The same data for pyiceberg.
    let ipc = root.join("append.arrows");
    {
        let f = std::fs::File::create(&ipc).expect("ipc file");
        let mut w = arrow_ipc::writer::StreamWriter::try_new(f, &data[0].schema()).expect("ipc");
        for b in data {
            w.write(b).expect("ipc write");
        }
        w.finish().expect("ipc finish");
    }
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let venv = std::process::Command::new("bash")
        .arg(repo.join("scripts/interop-venv.sh"))
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .last()
                .map(|l| l.trim().to_string())
        });
    let Some(venv) = venv else {
        println!("full append, pyiceberg: not available (no interop venv)");
        return;
    };
    let out = std::process::Command::new(format!("{venv}/bin/python"))
        .arg(repo.join("table-format/benches/pyiceberg_append.py"))
        .arg(&ipc)
        .arg(root.join("pyiceberg"))
        .output()
        .expect("python runs");
    let text = String::from_utf8_lossy(&out.stdout);
    match text
        .lines()
        .last()
        .and_then(|l| serde_json::from_str::<serde_json::Value>(l).ok())
    {
        Some(py) => {
            let py_secs = py["secs"].as_f64().unwrap_or(f64::NAN);
            println!(
                "full append, pyiceberg 0.12: {ROWS} rows in {py_secs:.3} s = {:.0} rows/s ({} files) -> Floe is {:.1}x",
                ROWS as f64 / py_secs,
                py["files"],
                py_secs / floe
            );
        }
        None => println!(
            "full append, pyiceberg: failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}
