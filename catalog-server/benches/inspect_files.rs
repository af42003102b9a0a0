//! Benchmark: the `files` and `partitions` metadata tables of a big table over HTTP, against
//! pyiceberg 0.12's `table.inspect.files()` / `inspect.partitions()` on the same table in the
//! same run (`benches/pyiceberg_inspect.py`, which reads it as a `StaticTable`).
//!
//! The table: M manifests x F data files (default 1,000 x 1,000 = 1M files) in one snapshot,
//! partitioned by day(ts) (four manifests per day, so 250 partitions by default), full column
//! statistics on 4 columns. Manifests, the manifest list and the metadata file are written
//! directly with table-format's writers (no data files: neither side reads them) into the
//! server's warehouse, and the table is registered through the REST API.
//!
//! Measured on an in-process server (its own 2-worker runtime, SQLite catalog), by a client
//! that follows page tokens (pages of 10,000 files, the largest `files` takes, as a client
//! after throughput asks for, unless `FLOE_BENCH_PAGE` says otherwise; `partitions` in pages
//! of 1,000):
//! - `files` as JSON and as an Arrow IPC stream: time to the first page and to the whole
//!   result (every page);
//! - `partitions` as JSON: first page and whole result.
//!
//! Targets (issue #8): the first page in under 1% of pyiceberg's whole time, the whole result
//! at least 20x faster than pyiceberg's.
//!
//! The client asks for the next page (with the token from the `next-page-token` header) as
//! soon as a page has arrived, and parses pages on other threads meanwhile. It reports the
//! time until every page was received, and until every page was also parsed (JSON into
//! `serde_json::Value`s, Arrow into record batches); `FLOE_BENCH_PARSE=0` leaves bodies
//! unparsed, to see what the server and the transfer take alone.
//!
//! Measured (2 cores, release, 1,000 x 1,000; 2026-11-26, one run unless said):
//! - pyiceberg `inspect.files()` 85.3 s (66.4 s, 70.9 s and 102.5 s in other runs),
//!   `inspect.partitions()` 45.5 s (36.0 s and 50.1 s in others).
//! - `files`, first page of 10,000: 51 ms JSON, 20 ms Arrow (0.06% / 0.02%).
//! - `files`, whole result in Arrow, pages of 10,000: 2.18 s received and parsed, 39x faster.
//!   Pages of 1,000: 3.1 to 3.4 s (about 21x); a large page's manifests are decoded in
//!   parallel, a page of one manifest is not.
//! - `files`, whole result in JSON (1,384 MB): 2.44 s received unparsed (a run without
//!   pyiceberg; 29x to 35x against its runs), 8.5 s received and parsed into
//!   `serde_json::Value`s (10x): a client that parses JSON into generic values spends about
//!   6 s of CPU on it, on the two cores the server shares here.
//! - `partitions`: 0.34 s, one page (the whole aggregate): 0.74% of pyiceberg's time (0.30 to
//!   0.40 s across runs, 0.6% to 1.0% of pyiceberg's). Manifests are read with only each
//!   file's summary decoded (`ManifestReader::summary_only`, stats skipped eight bytes at a
//!   time); it was 0.53 s with whole entries.
//! - Before the file rows were written straight into columns (per-row `serde_json::Value`
//!   trees) the whole `files` result took 60 s JSON / 21.2 s Arrow.
//!
//! Run: `cargo bench -p catalog-server --bench inspect_files`. Knobs: `FLOE_BENCH_MANIFESTS`
//! (default 1000), `FLOE_BENCH_FILES_PER_MANIFEST` (default 1000), `FLOE_BENCH_SKIP_PY=1`
//! (leave pyiceberg out), `FLOE_BENCH_PAGE` (the `files` page size, default 10,000, the
//! most), `FLOE_BENCH_PARSE=0` (bodies unparsed), `FLOE_BENCH_ONLY=partitions` (partitions
//! alone, five times, with CPU time), `FLOE_VENV` (default `~/.cache/floe-venv`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use catalog_server::testing::TestServer;
use serde_json::{Value, json};
use table_format::avro::{ManifestListWriter, ManifestWriter};
use table_format::catalog::metadata_file_location;
use table_format::io::FileIO;
use table_format::spec::{
    DataFile, DataFileFormat, Datum, FormatVersion, ManifestContentType, ManifestFile, NestedField,
    Operation, PrimitiveType, Schema, Snapshot, SnapshotReference, SortOrder, SourceId, Summary,
    TableMetadata, TableMetadataBuilder, TableUpdate, Transform, UnboundPartitionField,
    UnboundPartitionSpec,
};

const DAY0: i32 = 20_000;
/// Manifests per day partition.
const MANIFESTS_PER_DAY: usize = 4;
const ARROW: &str = "application/vnd.apache.arrow.stream";

fn env_num(name: &str, default: usize) -> usize {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v} is not a valid number")),
        Err(_) => default,
    }
}

fn schema() -> Schema {
    Schema::builder()
        .with_fields([
            NestedField::optional(1, "id", PrimitiveType::Long),
            NestedField::optional(2, "ts", PrimitiveType::Timestamptz),
            NestedField::optional(3, "category", PrimitiveType::String),
            NestedField::optional(4, "value", PrimitiveType::Double),
        ])
        .build()
        .expect("schema")
}

/// File `j` of manifest `m`, in partition day `day`, with statistics for every column.
fn data_file(dir: &str, day: i32, m: usize, j: usize) -> DataFile {
    let day_us = i64::from(day) * 86_400_000_000;
    let id0 = (m * 1_000_000 + j * 1_000) as i64;
    DataFile {
        file_path: format!("file://{dir}/data/ts_day={day}/{m:05}-{j:05}.parquet"),
        file_format: DataFileFormat::Parquet,
        partition: vec![Some(Datum::Date(day))],
        record_count: 1_000,
        file_size_in_bytes: 8_000_000 + j as i64,
        column_sizes: (1..=4).map(|c| (c, 2_000_000)).collect(),
        value_counts: (1..=4).map(|c| (c, 1_000)).collect(),
        null_value_counts: (1..=4).map(|c| (c, 0)).collect(),
        nan_value_counts: vec![(4, 0)],
        lower_bounds: vec![
            (1, Datum::Long(id0).to_bytes()),
            (2, Datum::Timestamptz(day_us + j as i64).to_bytes()),
            (3, Datum::String(format!("cat-{:03}", j % 100)).to_bytes()),
            (4, Datum::Double(0.5).to_bytes()),
        ],
        upper_bounds: vec![
            (1, Datum::Long(id0 + 999).to_bytes()),
            (2, Datum::Timestamptz(day_us + 86_399_000_000).to_bytes()),
            (
                3,
                Datum::String(format!("cat-{:03}", j % 100 + 1)).to_bytes(),
            ),
            (4, Datum::Double(99.5).to_bytes()),
        ],
        split_offsets: Some(vec![4]),
        sort_order_id: Some(0),
        ..Default::default()
    }
}

/// Write manifest `m` of `files` entries; returns its manifest-list entry.
fn write_manifest(dir: &Path, md: &TableMetadata, m: usize, files: usize) -> ManifestFile {
    let d = dir.display().to_string();
    let mut w = ManifestWriter::new(
        FormatVersion::V2,
        ManifestContentType::Data,
        1,
        md.current_schema(),
        md.default_partition_spec(),
    )
    .expect("manifest writer");
    let day = DAY0 + (m / MANIFESTS_PER_DAY) as i32;
    for j in 0..files {
        w.add(&data_file(&d, day, m, j)).expect("entry");
    }
    let (bytes, mut mf) = w.finish().expect("manifest");
    let name = format!("metadata/manifest-{m:05}.avro");
    mf.manifest_path = format!("file://{d}/{name}");
    mf.manifest_length = bytes.len() as i64;
    std::fs::write(dir.join(name), bytes).expect("manifest file");
    mf
}

/// Write the table under `dir` (two threads of manifest writing); returns its metadata file.
async fn generate(dir: &Path, manifests: usize, files: usize) -> String {
    std::fs::create_dir_all(dir.join("metadata")).expect("metadata dir");
    let d = dir.display().to_string();
    let spec = UnboundPartitionSpec {
        spec_id: None,
        fields: vec![UnboundPartitionField {
            source_id: SourceId::from(2),
            field_id: None,
            name: "ts_day".into(),
            transform: Transform::Day,
        }],
    };
    let md = TableMetadataBuilder::new_table(
        schema(),
        spec,
        SortOrder::unsorted(),
        format!("file://{d}"),
        BTreeMap::new(),
    )
    .expect("table")
    .build()
    .expect("metadata")
    .metadata;
    let threads = 2;
    let mut written: Vec<(usize, ManifestFile)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|k| {
                let md = &md;
                s.spawn(move || {
                    (k..manifests)
                        .step_by(threads)
                        .map(|m| (m, write_manifest(dir, md, m, files)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("writer thread"))
            .collect()
    });
    written.sort_by_key(|(m, _)| *m);
    let mut list = ManifestListWriter::new(FormatVersion::V2, 1, None, 1, None).expect("list");
    for (_, mf) in &written {
        list.add_manifest(mf).expect("list entry");
    }
    let (bytes, _) = list.finish().expect("list");
    let list_path = format!("file://{d}/metadata/snap-1.avro");
    std::fs::write(dir.join("metadata/snap-1.avro"), bytes).expect("list file");
    let mut summary = Summary::new(Operation::Append);
    let total = (manifests * files).to_string();
    summary.set("added-data-files", total.clone());
    summary.set("total-data-files", total);
    let mut b = TableMetadataBuilder::from_metadata(md, None);
    b.apply(TableUpdate::AddSnapshot {
        snapshot: Snapshot {
            snapshot_id: 1,
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
    .expect("snapshot");
    b.apply(TableUpdate::SetSnapshotRef {
        ref_name: "main".into(),
        reference: SnapshotReference::branch(1),
    })
    .expect("main");
    let md = b.build().expect("metadata").metadata;
    let loc = metadata_file_location(&md, 1);
    FileIO::local()
        .write(&loc, bytes::Bytes::from(md.to_vec().expect("json")))
        .await
        .expect("metadata file");
    loc
}

/// First-page and whole-result times of one listing, and its row count.
struct Listing {
    first: Duration,
    /// Every page received.
    received: Duration,
    /// Every page received and parsed (JSON into `serde_json::Value`s, Arrow into batches).
    whole: Duration,
    rows: usize,
    pages: usize,
    bytes: usize,
}

/// Rows in an Arrow IPC stream.
fn arrow_rows(body: &[u8]) -> usize {
    arrow_ipc::reader::StreamReader::try_new(body, None)
        .expect("arrow stream")
        .map(|b| b.expect("batch").num_rows())
        .sum()
}

/// Rows of a JSON page, parsed into `serde_json::Value`s; checks the body's token is the
/// header's.
fn json_rows(body: &[u8], header: Option<&str>) -> usize {
    let v: Value = serde_json::from_slice(body).expect("json");
    assert_eq!(
        v["next-page-token"].as_str(),
        header,
        "body and header tokens"
    );
    v["rows"].as_array().expect("rows").len()
}

/// Follow a listing's pages from the first to the last, as a client that fetches ahead would:
/// the next page is asked for (with the token from the response header) while this one is
/// parsed on another thread.
async fn list(client: &reqwest::Client, url: &str, accept: &str, page: usize) -> Listing {
    let started = Instant::now();
    let mut first = None;
    let mut pages = 0;
    let mut bytes = 0;
    let mut token: Option<String> = None;
    let mut parsing = Vec::new();
    loop {
        let mut u = format!("{url}?page-size={page}");
        if let Some(t) = &token {
            u.push_str(&format!("&page-token={t}"));
        }
        let r = client
            .get(&u)
            .header("accept", accept)
            .send()
            .await
            .expect("request");
        assert!(r.status().is_success(), "{u}: {}", r.status());
        token = r
            .headers()
            .get("next-page-token")
            .map(|v| v.to_str().expect("token").to_string());
        let body = r.bytes().await.expect("body");
        pages += 1;
        bytes += body.len();
        let arrow = accept == ARROW;
        let header = token.clone();
        let parse = std::env::var("FLOE_BENCH_PARSE").map_or(true, |v| v != "0");
        parsing.push(tokio::task::spawn_blocking(move || {
            if !parse {
                0
            } else if arrow {
                arrow_rows(&body)
            } else {
                json_rows(&body, header.as_deref())
            }
        }));
        first.get_or_insert(started.elapsed());
        if token.is_none() {
            break;
        }
    }
    let received = started.elapsed();
    let mut rows = 0;
    for p in parsing {
        rows += p.await.expect("parse");
    }
    Listing {
        first: first.unwrap_or_default(),
        received,
        whole: started.elapsed(),
        rows,
        pages,
        bytes,
    }
}

fn venv_python() -> PathBuf {
    let venv = std::env::var_os("FLOE_VENV")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").expect("HOME")).join(".cache/floe-venv")
        });
    venv.join("bin/python")
}

/// pyiceberg's `inspect.<kind>()` on the table: {"secs", "rows", "peak_rss_mb"}.
fn pyiceberg(metadata: &str, kind: &str) -> Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/pyiceberg_inspect.py");
    let out = std::process::Command::new(venv_python())
        .arg(script)
        .args([metadata, kind])
        .output()
        .expect("pyiceberg_inspect.py ran");
    assert!(
        out.status.success(),
        "pyiceberg_inspect.py {kind} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(stdout.lines().last().expect("output")).expect("json")
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    // `cargo bench` passes --bench; this binary takes no arguments of its own.
    let manifests = env_num("FLOE_BENCH_MANIFESTS", 1000);
    let files = env_num("FLOE_BENCH_FILES_PER_MANIFEST", 1000);
    let skip_py = std::env::var("FLOE_BENCH_SKIP_PY").is_ok_and(|v| v == "1");
    let page = env_num("FLOE_BENCH_PAGE", 10_000);
    let server = TestServer::start().await;
    let dir = server.data_dir().join("warehouse/bench/files");
    let started = Instant::now();
    let metadata = generate(&dir, manifests, files).await;
    println!(
        "table: {manifests} manifests x {files} files = {} files, written in {:.1} s",
        manifests * files,
        started.elapsed().as_secs_f64()
    );
    let client = reqwest::Client::new();
    let base = format!("{}/v1/default", server.url());
    let r = client
        .post(format!("{base}/namespaces"))
        .json(&json!({"namespace": ["bench"]}))
        .send()
        .await
        .expect("create namespace");
    assert!(r.status().is_success(), "{}", r.status());
    let r = client
        .post(format!("{base}/namespaces/bench/register"))
        .json(&json!({"name": "files", "metadata-location": metadata}))
        .send()
        .await
        .expect("register");
    assert!(
        r.status().is_success(),
        "{}",
        r.text().await.unwrap_or_default()
    );
    let url = |kind: &str| {
        format!(
            "{}/management/v1/warehouses/default/namespaces/bench/tables/files/{kind}",
            server.url()
        )
    };

    let parts = list(&client, &url("partitions"), "application/json", 1000).await;
    if std::env::var("FLOE_BENCH_ONLY").is_ok_and(|v| v == "partitions") {
        // Partitions alone, five times (for profiling).
        println!("floe partitions: {:.1} ms", ms(parts.whole));
        // CPU time of this process (utime + stime, in clock ticks of 10 ms).
        let cpu = || -> u64 {
            let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
            let fields: Vec<&str> = stat
                .rsplit_once(')')
                .map(|(_, r)| r.split_whitespace().collect())
                .unwrap_or_default();
            fields
                .get(11)
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0)
                + fields
                    .get(12)
                    .and_then(|v| v.parse::<u64>().ok())
                    .unwrap_or(0)
        };
        for _ in 0..4 {
            let before = cpu();
            let again = list(&client, &url("partitions"), "application/json", 1000).await;
            println!(
                "floe partitions: {:.1} ms, {} ms of CPU",
                ms(again.whole),
                (cpu() - before) * 10
            );
        }
        return;
    }
    let files_json = list(&client, &url("files"), "application/json", page).await;
    let files_arrow = list(&client, &url("files"), ARROW, page).await;
    // FLOE_BENCH_PARSE=0 leaves the bodies unparsed (to see what the server and the transfer
    // take alone); rows are counted only when parsed.
    if std::env::var("FLOE_BENCH_PARSE").map_or(true, |v| v != "0") {
        assert_eq!(files_json.rows, manifests * files);
        assert_eq!(files_arrow.rows, manifests * files);
    }
    let report = |name: &str, l: &Listing| {
        println!(
            "floe {name:<18} first page {:>9.1} ms   received {:>9.1} ms   parsed {:>9.1} ms   \
             ({} rows, {} pages, {:.0} MB, {:.0} rows/s)",
            ms(l.first),
            ms(l.received),
            ms(l.whole),
            l.rows,
            l.pages,
            l.bytes as f64 / 1e6,
            l.rows as f64 / l.whole.as_secs_f64()
        )
    };
    report("files (JSON)", &files_json);
    report("files (Arrow)", &files_arrow);
    report("partitions (JSON)", &parts);
    if skip_py {
        return;
    }
    for (kind, floe) in [
        (
            "files",
            vec![("JSON", &files_json), ("Arrow", &files_arrow)],
        ),
        ("partitions", vec![("JSON", &parts)]),
    ] {
        let py = pyiceberg(&metadata, kind);
        let secs = py["secs"].as_f64().expect("secs");
        println!(
            "pyiceberg inspect.{kind}(): {secs:.2} s, {} rows, peak RSS {:.0} MB",
            py["rows"], py["peak_rss_mb"]
        );
        assert_eq!(py["rows"].as_u64(), Some(floe[0].1.rows as u64));
        for (format, l) in floe {
            println!(
                "  {kind} ({format}): first page {:.3}% of pyiceberg's whole time (target < 1%), \
                 whole result received {:.1}x faster, received and parsed {:.1}x faster \
                 (target >= 20x)",
                l.first.as_secs_f64() / secs * 100.0,
                secs / l.received.as_secs_f64(),
                secs / l.whole.as_secs_f64()
            );
        }
    }
}
