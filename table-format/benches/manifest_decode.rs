//! Benchmark: decode a 10,000-entry v2 manifest, against pyiceberg 0.12 decoding the same file
//! in the same run.
//!
//! Run: `cargo bench -p table-format --bench manifest_decode`. The manifest is written by
//! Floe's `ManifestWriter` (deflate): a 3-field partition (identity string, day of a date,
//! bucket of an int) and full column statistics for 10 columns (sizes, value/null/NaN counts,
//! lower/upper bounds), plus a one-entry manifest list pointing at it, both under the temp
//! directory. Floe's figure is the median of repeated `read_manifest` calls (decompression,
//! decoding into `ManifestEntry`s and inheritance); pyiceberg's is the median of
//! `ManifestFile.fetch_manifest_entry` (`benches/pyiceberg_manifest_decode.py`), run from the
//! interop venv (`scripts/interop-venv.sh`), skipped with a note when that is not available.
//!
//! With the system (glibc) allocator, `read_manifest` spends about a third of its time in
//! malloc/free: each entry owns some 30 heap allocations (paths, metric vectors, one per bound),
//! and freeing 10,000 entries before the next large allocation makes glibc consolidate its
//! fast bins. The streaming reader frees as it goes and avoids most of that.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use table_format::avro::{
    ManifestListWriter, ManifestReader, ManifestWriter, read_manifest, read_manifest_list,
};
use table_format::spec::manifest::{DataFile, DataFileFormat, ManifestContentType};
use table_format::spec::partition::{PartitionField, PartitionSpec};
use table_format::spec::table_metadata::FormatVersion;
use table_format::spec::transform::Transform;
use table_format::spec::types::{NestedField, PrimitiveType};
use table_format::spec::{Datum, Schema};

const ENTRIES: usize = 10_000;
const COLUMNS: i32 = 10;

fn table() -> (Schema, PartitionSpec) {
    let types = [
        PrimitiveType::Long,
        PrimitiveType::String,
        PrimitiveType::Date,
        PrimitiveType::Int,
        PrimitiveType::Double,
        PrimitiveType::Timestamp,
        PrimitiveType::String,
        PrimitiveType::Long,
        PrimitiveType::Float,
        PrimitiveType::Decimal {
            precision: 12,
            scale: 2,
        },
    ];
    let fields = types
        .iter()
        .enumerate()
        .map(|(i, t)| NestedField::optional(i as i32 + 1, format!("col_{i}"), *t));
    let schema = Schema::builder().with_fields(fields).build().unwrap();
    let spec = PartitionSpec::new(
        0,
        vec![
            PartitionField {
                source_id: 2.into(),
                field_id: 1000,
                name: "region".into(),
                transform: Transform::Identity,
            },
            PartitionField {
                source_id: 3.into(),
                field_id: 1001,
                name: "day".into(),
                transform: Transform::Day,
            },
            PartitionField {
                source_id: 4.into(),
                field_id: 1002,
                name: "bucket".into(),
                transform: Transform::Bucket(16),
            },
        ],
    );
    (schema, spec)
}

fn data_file(k: usize) -> DataFile {
    let k64 = k as i64;
    let cols = 1..=COLUMNS;
    let bound = |c: i32, hi: bool| -> Vec<u8> {
        let v = k64 * 1000 + i64::from(c) + if hi { 999 } else { 0 };
        match c {
            2 | 7 => format!("value-{v:012}").into_bytes(),
            3 | 4 => (v as i32).to_le_bytes().to_vec(),
            5 => (v as f64).to_le_bytes().to_vec(),
            9 => (v as f32).to_le_bytes().to_vec(),
            10 => vec![(v >> 8) as u8, v as u8],
            _ => v.to_le_bytes().to_vec(),
        }
    };
    DataFile {
        file_path: format!(
            "s3://warehouse/db/events/data/region=eu-{}/day=2024-01-{:02}/bucket={}/00000-{k}-3f2a9c1e-0b7d-4d6e-9a51-{k:012}.parquet",
            k % 5,
            k % 28 + 1,
            k % 16
        ),
        file_format: DataFileFormat::Parquet,
        partition: vec![
            Some(Datum::String(format!("eu-{}", k % 5))),
            Some(Datum::Date(19_700 + (k % 28) as i32)),
            Some(Datum::Int((k % 16) as i32)),
        ],
        record_count: 50_000 + k64,
        file_size_in_bytes: 8_000_000 + k64 * 13,
        column_sizes: cols
            .clone()
            .map(|c| (c, 100_000 + k64 * 7 + i64::from(c)))
            .collect(),
        value_counts: cols.clone().map(|c| (c, 50_000 + k64)).collect(),
        null_value_counts: cols
            .clone()
            .map(|c| (c, (k64 + i64::from(c)) % 50))
            .collect(),
        nan_value_counts: vec![(5, k64 % 3), (9, 0)],
        lower_bounds: cols.clone().map(|c| (c, bound(c, false))).collect(),
        upper_bounds: cols.map(|c| (c, bound(c, true))).collect(),
        split_offsets: Some(vec![4, 4_000_000 + k64]),
        sort_order_id: Some(0),
        ..DataFile::default()
    }
}

fn write_files(dir: &Path) -> (PathBuf, PathBuf) {
    let (schema, spec) = table();
    let snapshot_id = 4242;
    let mut w = ManifestWriter::new(
        FormatVersion::V2,
        ManifestContentType::Data,
        snapshot_id,
        &schema,
        &spec,
    )
    .unwrap();
    for k in 0..ENTRIES {
        w.add(&data_file(k)).unwrap();
    }
    let (bytes, mut mf) = w.finish().unwrap();
    let manifest_path = dir.join(format!("floe-bench-manifest-{ENTRIES}.avro"));
    std::fs::write(&manifest_path, &bytes).unwrap();
    mf.manifest_path = manifest_path.display().to_string();
    let mut lw = ManifestListWriter::new(FormatVersion::V2, snapshot_id, None, 1, None).unwrap();
    lw.add_manifest(&mf).unwrap();
    let (list, _) = lw.finish().unwrap();
    let list_path = dir.join(format!("floe-bench-manifest-list-{ENTRIES}.avro"));
    std::fs::write(&list_path, list).unwrap();
    (manifest_path, list_path)
}

/// Median seconds per call of `f` over `iters` calls, after one warm-up.
fn median_secs(iters: usize, mut f: impl FnMut()) -> f64 {
    f();
    let mut times: Vec<f64> = (0..iters)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64()
        })
        .collect();
    times.sort_by(|a, b| a.total_cmp(b));
    times[times.len() / 2]
}

fn pyiceberg(list: &Path) -> Option<serde_json::Value> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let python = match std::env::var_os("FLOE_VENV") {
        Some(v) => PathBuf::from(v).join("bin/python"),
        None => {
            let venv = Command::new("bash")
                .arg(root.join("scripts/interop-venv.sh"))
                .output()
                .ok()?;
            let path = String::from_utf8_lossy(&venv.stdout)
                .lines()
                .last()?
                .trim()
                .to_string();
            Path::new(&path).join("bin/python")
        }
    };
    let out = Command::new(python)
        .arg(root.join("table-format/benches/pyiceberg_manifest_decode.py"))
        .arg(list)
        .arg("5")
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(text.lines().last()?).ok()
}

fn main() {
    let (manifest_path, list_path) = write_files(&std::env::temp_dir());
    let bytes = std::fs::read(&manifest_path).unwrap();
    let list_bytes = std::fs::read(&list_path).unwrap();
    let manifest = read_manifest_list(&list_bytes).unwrap().remove(0);
    let (schema, spec) = table();
    let partition_type = spec.partition_type(&schema).unwrap();
    let (_, check) = read_manifest(&bytes, &manifest, &partition_type).unwrap();
    assert_eq!(check.len(), ENTRIES);
    assert_eq!(check[ENTRIES - 1].data_file, data_file(ENTRIES - 1));

    println!(
        "manifest decode benchmark: {ENTRIES} entries, 3 partition fields, stats for {COLUMNS} \
         columns, deflate, {:.2} MB ({})",
        bytes.len() as f64 / 1e6,
        manifest_path.display()
    );
    let collect = median_secs(31, || {
        let (_, entries) = read_manifest(&bytes, &manifest, &partition_type).unwrap();
        std::hint::black_box(entries);
    });
    let stream = median_secs(31, || {
        let mut n = 0usize;
        for e in ManifestReader::new(&bytes, &manifest, &partition_type).unwrap() {
            n += std::hint::black_box(e.unwrap()).data_file.record_count as usize & 1;
        }
        std::hint::black_box(n);
    });
    let floe = ENTRIES as f64 / collect;
    println!(
        "Floe read_manifest:           {:>8.2} ms  {:>12.0} entries/s  {:>7.1} MB/s (compressed)",
        collect * 1e3,
        floe,
        bytes.len() as f64 / 1e6 / collect
    );
    println!(
        "Floe ManifestReader (stream): {:>8.2} ms  {:>12.0} entries/s",
        stream * 1e3,
        ENTRIES as f64 / stream
    );
    match pyiceberg(&list_path) {
        Some(py) => {
            let py_rate = py["entries_per_s"].as_f64().unwrap_or(f64::NAN);
            let py_s = py["median_s"].as_f64().unwrap_or(f64::NAN);
            println!(
                "pyiceberg 0.12 fetch_manifest_entry: {:>8.2} ms  {:>12.0} entries/s",
                py_s * 1e3,
                py_rate
            );
            println!(
                "ratio Floe/pyiceberg: read_manifest {:.1}x, streaming {:.1}x",
                floe / py_rate,
                ENTRIES as f64 / stream / py_rate
            );
        }
        None => {
            println!("pyiceberg not available (run scripts/interop-venv.sh); Floe figures only")
        }
    }
}
