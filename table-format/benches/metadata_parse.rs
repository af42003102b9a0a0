//! Benchmark: parse and re-serialize a large table metadata file (10,000 snapshots, 50 schema
//! versions, ~7 MB), against pyiceberg 0.12 parsing the same file in the same run.
//!
//! Run: `cargo bench -p table-format --bench metadata_parse`. The metadata files are made by
//! `benches/data/gen_big_metadata.py` (standard library only); pyiceberg runs from the interop
//! venv (`scripts/interop-venv.sh`), and is skipped with a note when that is not available.
//! Linearity: the same measurement on 2,500, 5,000, 10,000 and 20,000 snapshots.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use table_format::spec::TableMetadata;

fn generate(dir: &Path, snapshots: usize) -> PathBuf {
    let out = dir.join(format!("floe-bench-metadata-{snapshots}.json"));
    if !out.exists() {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/data/gen_big_metadata.py");
        let status = Command::new("python3")
            .arg(&script)
            .arg(&out)
            .arg("--snapshots")
            .arg(snapshots.to_string())
            .status()
            .expect("python3 runs the generator");
        assert!(status.success(), "generator failed");
    }
    out
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

fn pyiceberg(path: &Path) -> Option<serde_json::Value> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let venv = Command::new("bash")
        .arg(root.join("scripts/interop-venv.sh"))
        .output()
        .ok()?;
    let venv_path = String::from_utf8_lossy(&venv.stdout)
        .lines()
        .last()?
        .trim()
        .to_string();
    let py = Path::new(&venv_path).join("bin/python");
    let out = Command::new(py)
        .arg(root.join("table-format/benches/pyiceberg_parse_metadata.py"))
        .arg(path)
        .arg("5")
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(text.lines().last()?).ok()
}

fn main() {
    let dir = std::env::temp_dir();
    println!("metadata parse benchmark (median of repeated runs, one process, this machine)");
    println!(
        "{:>10} {:>10} {:>14} {:>14} {:>16}",
        "snapshots", "MB", "parse MB/s", "round MB/s", "parse ms/MB"
    );
    let mut main_file = None;
    let mut floe_parse = 0.0;
    let mut floe_round = 0.0;
    for n in [2_500usize, 5_000, 10_000, 20_000] {
        let path = generate(&dir, n);
        let bytes = std::fs::read(&path).unwrap();
        let mb = bytes.len() as f64 / 1e6;
        let parse = median_secs(15, || {
            let md = TableMetadata::from_slice(&bytes).unwrap();
            std::hint::black_box(md);
        });
        let round = median_secs(15, || {
            let md = TableMetadata::from_slice(&bytes).unwrap();
            let out = md.to_vec().unwrap();
            std::hint::black_box(out);
        });
        println!(
            "{n:>10} {mb:>10.2} {:>14.1} {:>14.1} {:>16.3}",
            mb / parse,
            mb / round,
            parse * 1000.0 / mb
        );
        if n == 10_000 {
            main_file = Some(path);
            floe_parse = mb / parse;
            floe_round = mb / round;
        }
    }
    let Some(path) = main_file else { return };
    match pyiceberg(&path) {
        Some(py) => {
            let py_parse = py["parse_mb_per_s"].as_f64().unwrap_or(f64::NAN);
            let py_round = py["roundtrip_mb_per_s"].as_f64().unwrap_or(f64::NAN);
            println!(
                "pyiceberg 0.12 on the 10,000-snapshot file: parse {py_parse:.1} MB/s, parse+serialize {py_round:.1} MB/s"
            );
            println!(
                "Floe on the same file:                    parse {floe_parse:.1} MB/s, parse+serialize {floe_round:.1} MB/s"
            );
            println!(
                "ratio Floe/pyiceberg: parse {:.1}x, parse+serialize {:.1}x (Floe round trip vs pyiceberg parse alone: {:.1}x)",
                floe_parse / py_parse,
                floe_round / py_round,
                floe_round / py_parse
            );
        }
        None => {
            println!("pyiceberg not available (run scripts/interop-venv.sh); Floe figures only")
        }
    }
}
