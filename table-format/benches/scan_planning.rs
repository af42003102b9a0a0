//! Benchmark: scan planning on a table of M manifests x 1,000 data files (default 1,000 x 1,000
//! = 1M files, partitioned by day(ts), one day per manifest, full column statistics), a
//! one-day filter (selective) and no filter (full plan), against pyiceberg 0.12's
//! `plan_files` on the same table in the same run. Planning runs in a child process so its
//! peak memory (VmHWM) is its own; sizes 100 and 1,000 manifests show whether memory stays
//! flat as the table grows.
//!
//! Run: `cargo bench -p table-format --bench scan_planning` (set FLOE_BENCH_SKIP_PY_FULL=1 to
//! skip pyiceberg's full plan, which takes minutes and gigabytes).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use futures::TryStreamExt;
use table_format::avro::{ManifestListWriter, ManifestWriter};
use table_format::catalog::metadata_file_location;
use table_format::expr::Reference;
use table_format::io::FileIO;
use table_format::spec::{
    DataFile, DataFileFormat, Datum, FormatVersion, ManifestContentType, NestedField,
    PrimitiveType, Schema, Snapshot, SnapshotReference, SortOrder, SourceId, Summary,
    TableMetadataBuilder, TableUpdate, Transform, UnboundPartitionField, UnboundPartitionSpec,
};
use table_format::table::Table;

const FILES_PER_MANIFEST: i64 = 1_000;
const DAY0: i32 = 20_000;

fn schema() -> Schema {
    Schema::builder()
        .with_fields([
            NestedField::optional(1, "id", PrimitiveType::Long),
            NestedField::optional(2, "ts", PrimitiveType::Timestamptz),
            NestedField::optional(3, "category", PrimitiveType::String),
            NestedField::optional(4, "value", PrimitiveType::Double),
        ])
        .build()
        .unwrap()
}

fn data_file(dir: &str, day: i32, j: i64) -> DataFile {
    let day_us = day as i64 * 86_400_000_000;
    let id0 = (day - DAY0) as i64 * 10_000_000 + j * 10_000;
    DataFile {
        file_path: format!("file://{dir}/data/ts_day={day}/{j:05}.parquet"),
        file_format: DataFileFormat::Parquet,
        partition: vec![Some(Datum::Date(day))],
        record_count: 10_000,
        file_size_in_bytes: 1_000_000 + j,
        column_sizes: (1..=4).map(|c| (c, 250_000)).collect(),
        value_counts: (1..=4).map(|c| (c, 10_000)).collect(),
        null_value_counts: (1..=4).map(|c| (c, 0)).collect(),
        nan_value_counts: vec![(4, 0)],
        lower_bounds: vec![
            (1, Datum::Long(id0).to_bytes()),
            (2, Datum::Timestamptz(day_us + j).to_bytes()),
            (3, Datum::String(format!("cat-{:03}", j % 100)).to_bytes()),
            (4, Datum::Double(0.5).to_bytes()),
        ],
        upper_bounds: vec![
            (1, Datum::Long(id0 + 9_999).to_bytes()),
            (2, Datum::Timestamptz(day_us + 86_399_000_000).to_bytes()),
            (
                3,
                Datum::String(format!("cat-{:03}", j % 100 + 1)).to_bytes(),
            ),
            (4, Datum::Double(99.5).to_bytes()),
        ],
        split_offsets: Some(vec![4]),
        ..Default::default()
    }
}

/// Write a table of `manifests` x 1,000 files; returns its metadata location.
async fn generate(dir: &Path, manifests: i32) -> String {
    let marker = dir.join("metadata-location.txt");
    if let Ok(loc) = std::fs::read_to_string(&marker) {
        return loc;
    }
    std::fs::create_dir_all(dir.join("metadata")).unwrap();
    let d = dir.display().to_string();
    let io = FileIO::local();
    let spec = UnboundPartitionSpec {
        spec_id: None,
        fields: vec![UnboundPartitionField {
            source_id: SourceId::from(2),
            field_id: None,
            name: "ts_day".into(),
            transform: Transform::Day,
        }],
    };
    let builder = TableMetadataBuilder::new_table(
        schema(),
        spec,
        SortOrder::unsorted(),
        format!("file://{d}"),
        BTreeMap::new(),
    )
    .unwrap();
    let md = builder.build().unwrap().metadata;
    let snapshot_id = 1;
    let mut list = ManifestListWriter::new(FormatVersion::V2, snapshot_id, None, 1, None).unwrap();
    for m in 0..manifests {
        let mut w = ManifestWriter::new(
            FormatVersion::V2,
            ManifestContentType::Data,
            snapshot_id,
            md.current_schema(),
            md.default_partition_spec(),
        )
        .unwrap();
        for j in 0..FILES_PER_MANIFEST {
            w.add(&data_file(&d, DAY0 + m, j)).unwrap();
        }
        let (bytes, mut mf) = w.finish().unwrap();
        mf.manifest_path = format!("file://{d}/metadata/manifest-{m:05}.avro");
        mf.manifest_length = bytes.len() as i64;
        std::fs::write(dir.join(format!("metadata/manifest-{m:05}.avro")), bytes).unwrap();
        list.add_manifest(&mf).unwrap();
    }
    let (bytes, _) = list.finish().unwrap();
    let list_path = format!("file://{d}/metadata/snap-1.avro");
    std::fs::write(dir.join("metadata/snap-1.avro"), bytes).unwrap();
    let mut summary = Summary::new(table_format::spec::Operation::Append);
    summary.set(
        "total-data-files",
        (manifests as i64 * FILES_PER_MANIFEST).to_string(),
    );
    let mut b = TableMetadataBuilder::from_metadata(md, None);
    b.apply(TableUpdate::AddSnapshot {
        snapshot: Snapshot {
            snapshot_id,
            parent_snapshot_id: None,
            sequence_number: 1,
            timestamp_ms: chrono::Utc::now().timestamp_millis(),
            manifest_list: list_path,
            manifests: None,
            summary,
            schema_id: Some(0),
            first_row_id: None,
            added_rows: None,
            key_id: None,
        },
    })
    .unwrap();
    b.apply(TableUpdate::SetSnapshotRef {
        ref_name: "main".into(),
        reference: SnapshotReference::branch(snapshot_id),
    })
    .unwrap();
    let md = b.build().unwrap().metadata;
    let loc = metadata_file_location(&md, 1);
    io.write(&loc, bytes::Bytes::from(md.to_vec().unwrap()))
        .await
        .unwrap();
    std::fs::write(&marker, &loc).unwrap();
    loc
}

fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|v| v.parse::<f64>().ok())
            })
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

/// Child mode: plan once and print `{secs, files, peak_rss_mb}`.
async fn child(metadata: &str, selective: bool) {
    let table = Table::from_metadata_file(FileIO::local(), metadata)
        .await
        .unwrap();
    let mut scan = table.scan();
    if selective {
        let day_us = (DAY0 + 7) as i64 * 86_400_000_000;
        scan = scan.with_filter(
            Reference::new("ts")
                .greater_than_or_eq(Datum::Timestamptz(day_us))
                .and(Reference::new("ts").less_than(Datum::Timestamptz(day_us + 86_400_000_000))),
        );
    }
    let t = Instant::now();
    let count = scan
        .plan_stream()
        .await
        .unwrap()
        .try_fold(0usize, |n, _| async move { Ok(n + 1) })
        .await
        .unwrap();
    let secs = t.elapsed().as_secs_f64();
    println!(
        "{}",
        serde_json::json!({"secs": secs, "files": count, "peak_rss_mb": peak_rss_mb()})
    );
}

fn run_child(metadata: &str, mode: &str) -> serde_json::Value {
    let exe = std::env::current_exe().unwrap();
    let out = Command::new(exe)
        .args(["--child", metadata, mode])
        .output()
        .unwrap();
    serde_json::from_str(String::from_utf8_lossy(&out.stdout).lines().last().unwrap()).unwrap()
}

fn pyiceberg(metadata: &str, mode: &str) -> Option<serde_json::Value> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let venv = Command::new("bash")
        .arg(root.join("scripts/interop-venv.sh"))
        .output()
        .ok()?;
    let py =
        Path::new(String::from_utf8_lossy(&venv.stdout).lines().last()?.trim()).join("bin/python");
    let out = Command::new(py)
        .arg(root.join("table-format/benches/pyiceberg_plan.py"))
        .args([metadata, mode, &(DAY0 + 7).to_string()])
        .output()
        .ok()?;
    serde_json::from_str(String::from_utf8_lossy(&out.stdout).lines().last()?).ok()
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--child") {
        child(&args[i + 1], args[i + 2] == "selective").await;
        return;
    }
    let sizes: Vec<i32> = std::env::var("FLOE_BENCH_MANIFESTS")
        .ok()
        .map(|s| s.split(',').filter_map(|v| v.parse().ok()).collect())
        .unwrap_or_else(|| vec![100, 1_000]);
    println!(
        "scan planning: M manifests x {FILES_PER_MANIFEST} files, day(ts) partitions, full stats"
    );
    for m in sizes {
        let dir = std::env::temp_dir().join(format!("floe-plan-bench-{m}"));
        let t = Instant::now();
        let md = generate(&dir, m).await;
        println!(
            "table with {m} manifests ready in {:.1} s: {md}",
            t.elapsed().as_secs_f64()
        );
        for mode in ["selective", "full"] {
            let floe = run_child(&md, mode);
            println!("  Floe      {mode:>9}: {floe}");
            if mode == "full" && m >= 1_000 && std::env::var("FLOE_BENCH_SKIP_PY_FULL").is_ok() {
                continue;
            }
            match pyiceberg(&md, mode) {
                Some(py) => {
                    let ratio = py["secs"].as_f64().unwrap_or(f64::NAN)
                        / floe["secs"].as_f64().unwrap_or(f64::NAN);
                    println!("  pyiceberg {mode:>9}: {py}  -> Floe is {ratio:.1}x faster");
                }
                None => println!("  pyiceberg {mode:>9}: not available"),
            }
        }
    }
    let _ = Arc::new(());
}
