//! Benchmark: snapshot expiry on a long history. The table has N snapshots (default 10,000)
//! of a streaming job that each add F data files (default 10, so 100,000 files) in a new
//! manifest and delete the files added W snapshots earlier (default W = 10: every manifest
//! list holds W live manifests plus one of DELETED entries, as with periodic overwrites).
//! Manifests, manifest lists and metadata are written directly with the library's writers;
//! the data files are real (tiny) files, so deletion is measured on real files.
//!
//! Expiry keeps the last K snapshots (default 100) via `older_than_ms`, and runs in child
//! processes so each peak memory (VmHWM) is its own:
//! - `dry-run`: plan and compute every file to delete (reads each manifest list once and each
//!   manifest at most once), no commit, no delete;
//! - `metadata-only`: `clean_files(false)`: plan and commit only, what pyiceberg 0.12's
//!   `maintenance.expire_snapshots().older_than(..)` does (it deletes no files), which runs
//!   next on the same table (benches/pyiceberg_expire.py) for the ratio;
//! - `full`: plan, commit and delete, with files and bytes deleted per second.
//!
//! Run: `cargo bench -p table-format --bench expire_snapshots` (sizes through
//! FLOE_BENCH_SNAPSHOTS, FLOE_BENCH_FILES_PER_SNAPSHOT, FLOE_BENCH_RETAIN).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::Instant;

use async_trait::async_trait;
use bytes::Bytes;
use table_format::avro::{ManifestListWriter, ManifestWriter};
use table_format::catalog::{Catalog, TableCreation, TableIdent, metadata_file_location};
use table_format::io::FileIO;
use table_format::spec::{
    DataFile, DataFileFormat, FormatVersion, ManifestContentType, ManifestEntry, ManifestFile,
    ManifestStatus, NestedField, Operation, PrimitiveType, Schema, Snapshot, SnapshotReference,
    SortOrder, Summary, TableMetadata, TableMetadataBuilder, TableRequirement, TableUpdate,
    UnboundPartitionSpec, apply_commit,
};
use table_format::table::Table;
use table_format::{Error, ErrorKind, Result};

const WINDOW: usize = 10;
const DATA_FILE_BYTES: usize = 256;

fn env_or(key: &str, default: usize) -> usize {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn schema() -> Schema {
    Schema::builder()
        .with_fields([
            NestedField::required(1, "id", PrimitiveType::Long),
            NestedField::optional(2, "payload", PrimitiveType::String),
        ])
        .build()
        .expect("valid schema")
}

/// Build the table under `dir`; returns (metadata location, older-than cut-off in ms).
async fn generate(dir: &Path, snapshots: usize, files_per: usize, retain: usize) -> (String, i64) {
    std::fs::create_dir_all(dir.join("metadata")).expect("metadata dir");
    std::fs::create_dir_all(dir.join("data")).expect("data dir");
    let d = dir.display().to_string();
    let io = FileIO::local();
    let t0 = chrono::Utc::now().timestamp_millis() - snapshots as i64 * 60_000;
    let mut b = TableMetadataBuilder::new_table(
        schema(),
        UnboundPartitionSpec::default(),
        SortOrder::unsorted(),
        format!("file://{d}"),
        BTreeMap::new(),
    )
    .expect("table")
    .with_now_ms(t0);
    let md0 = b.current().clone();
    let payload = vec![b'x'; DATA_FILE_BYTES];
    // The live window: (manifest as listed, its entries with sequence numbers).
    let mut live: std::collections::VecDeque<(ManifestFile, Vec<ManifestEntry>)> =
        std::collections::VecDeque::new();
    let mut parent: Option<i64> = None;
    for i in 0..snapshots {
        let snapshot_id = i as i64 + 1;
        let seq = i as i64 + 1;
        let mut added = ManifestWriter::new(
            FormatVersion::V2,
            ManifestContentType::Data,
            snapshot_id,
            md0.current_schema(),
            md0.default_partition_spec(),
        )
        .expect("writer");
        let mut entries = Vec::with_capacity(files_per);
        for j in 0..files_per {
            let rel = format!("data/{i:06}-{j:03}.parquet");
            std::fs::write(dir.join(&rel), &payload).expect("data file");
            let f = DataFile {
                file_path: format!("file://{d}/{rel}"),
                file_format: DataFileFormat::Parquet,
                partition: vec![],
                record_count: 100,
                file_size_in_bytes: DATA_FILE_BYTES as i64,
                ..Default::default()
            };
            added.add(&f).expect("add");
            entries.push(ManifestEntry {
                status: ManifestStatus::Added,
                snapshot_id: Some(snapshot_id),
                sequence_number: Some(seq),
                file_sequence_number: Some(seq),
                data_file: f,
            });
        }
        let mut list = ManifestListWriter::new(FormatVersion::V2, snapshot_id, parent, seq, None)
            .expect("list");
        let added_mf = write_manifest(&io, &d, &format!("m-{i:06}"), added).await;
        let added_mf = list.add_manifest(&added_mf).expect("list entry");
        let gone = if live.len() == WINDOW {
            live.pop_front()
        } else {
            None
        };
        for (m, _) in &live {
            list.add_manifest(m).expect("list entry");
        }
        let mut deleted_count = 0;
        if let Some((_, gone)) = gone {
            let mut del = ManifestWriter::new(
                FormatVersion::V2,
                ManifestContentType::Data,
                snapshot_id,
                md0.current_schema(),
                md0.default_partition_spec(),
            )
            .expect("writer");
            for e in &gone {
                del.delete(e).expect("delete entry");
            }
            deleted_count = gone.len();
            let del_mf = write_manifest(&io, &d, &format!("d-{i:06}"), del).await;
            list.add_manifest(&del_mf).expect("list entry");
        }
        live.push_back((added_mf, entries));
        let (bytes, _) = list.finish().expect("list");
        let list_path = format!("file://{d}/metadata/snap-{snapshot_id}.avro");
        io.write(&list_path, Bytes::from(bytes))
            .await
            .expect("list");
        let mut summary = Summary::new(if deleted_count > 0 {
            Operation::Overwrite
        } else {
            Operation::Append
        });
        summary.set("added-data-files", files_per.to_string());
        summary.set("deleted-data-files", deleted_count.to_string());
        b.apply(TableUpdate::AddSnapshot {
            snapshot: Snapshot {
                snapshot_id,
                parent_snapshot_id: parent,
                sequence_number: seq,
                timestamp_ms: t0 + i as i64 * 60_000,
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
        parent = Some(snapshot_id);
    }
    b.apply(TableUpdate::SetSnapshotRef {
        ref_name: "main".into(),
        reference: SnapshotReference::branch(snapshots as i64),
    })
    .expect("main");
    let md = b.build().expect("metadata").metadata;
    let loc = metadata_file_location(&md, 0);
    io.write(&loc, Bytes::from(md.to_vec().expect("json")))
        .await
        .expect("metadata file");
    let cut = t0 + (snapshots - retain) as i64 * 60_000;
    (loc, cut)
}

async fn write_manifest(io: &FileIO, dir: &str, name: &str, w: ManifestWriter) -> ManifestFile {
    let (bytes, mut mf) = w.finish().expect("manifest");
    mf.manifest_path = format!("file://{dir}/metadata/{name}.avro");
    mf.manifest_length = bytes.len() as i64;
    io.write(&mf.manifest_path, Bytes::from(bytes))
        .await
        .expect("manifest");
    mf
}

/// A catalog of one table whose pointer starts at a given metadata file (each child process
/// starts from the same, untouched, generated table).
#[derive(Debug)]
struct PointerCatalog {
    io: FileIO,
    ident: TableIdent,
    location: Mutex<String>,
}

#[async_trait]
impl Catalog for PointerCatalog {
    fn file_io(&self) -> &FileIO {
        &self.io
    }

    async fn load_table(&self, ident: &TableIdent) -> Result<Table> {
        let loc = self.location.lock().expect("lock").clone();
        let md = TableMetadata::from_slice(&self.io.read(&loc).await?)?;
        Ok(Table::new(ident.clone(), md, loc, self.io.clone()))
    }

    async fn create_table(&self, _: &TableIdent, _: TableCreation) -> Result<Table> {
        Err(Error::unsupported("the bench catalog holds one table"))
    }

    async fn commit_table(
        &self,
        ident: &TableIdent,
        requirements: Vec<TableRequirement>,
        updates: Vec<TableUpdate>,
    ) -> Result<Table> {
        let current = self.load_table(ident).await?;
        let Some(built) = apply_commit(
            Some((current.metadata(), current.metadata_location())),
            &requirements,
            updates,
        )?
        else {
            return Ok(current);
        };
        let loc = metadata_file_location(&built.metadata, 1);
        self.io
            .create(&loc, Bytes::from(built.metadata.to_vec()?))
            .await?;
        *self.location.lock().expect("lock") = loc.clone();
        Ok(Table::new(
            ident.clone(),
            built.metadata,
            loc,
            self.io.clone(),
        ))
    }

    async fn drop_table(&self, _: &TableIdent, _: bool) -> Result<()> {
        Err(Error::new(
            ErrorKind::FeatureUnsupported,
            "not in the bench",
        ))
    }

    async fn list_tables(&self, _: &[String]) -> Result<Vec<TableIdent>> {
        Ok(vec![self.ident.clone()])
    }
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

/// Child mode: one expiry, printed as JSON.
async fn child(metadata: &str, cut: i64, mode: &str) {
    let io = FileIO::local();
    let ident = TableIdent::new(["bench"], "t");
    let catalog = PointerCatalog {
        io: io.clone(),
        ident: ident.clone(),
        location: Mutex::new(metadata.to_string()),
    };
    let t = Instant::now();
    let table = catalog.load_table(&ident).await.expect("load");
    let load_secs = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let out = table
        .expire_snapshots()
        .older_than_ms(cut)
        .dry_run(mode == "dry-run")
        .clean_files(mode != "metadata-only")
        .commit(&catalog)
        .await
        .expect("expiry");
    let secs = t.elapsed().as_secs_f64();
    let r = &out.report;
    let d = &r.deleted_files;
    println!(
        "{}",
        serde_json::json!({
            "secs": secs,
            "load_secs": load_secs,
            "expired": r.expired_snapshot_ids.len(),
            "manifest_lists": d.manifest_lists.len(),
            "manifests": d.manifests.len(),
            "data_files": d.data_files.len(),
            "files": d.total(),
            "bytes": r.deleted_bytes,
            "errors": r.cleanup_errors.len(),
            "peak_rss_mb": peak_rss_mb(),
        })
    );
}

fn run_child(metadata: &str, cut: i64, mode: &str) -> serde_json::Value {
    let exe = std::env::current_exe().expect("exe");
    let out = Command::new(exe)
        .args(["--child", metadata, &cut.to_string(), mode])
        .output()
        .expect("child runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(stdout.lines().last().unwrap_or("null")).unwrap_or_else(|_| {
        panic!(
            "child {mode} printed no report:\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn pyiceberg(metadata: &str, cut: i64, work: &Path) -> Option<serde_json::Value> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let python = match std::env::var_os("FLOE_VENV") {
        Some(v) => PathBuf::from(v).join("bin/python"),
        None => {
            let venv = Command::new("bash")
                .arg(root.join("scripts/interop-venv.sh"))
                .output()
                .ok()?;
            Path::new(String::from_utf8_lossy(&venv.stdout).lines().last()?.trim())
                .join("bin/python")
        }
    };
    let out = Command::new(python)
        .arg(root.join("table-format/benches/pyiceberg_expire.py"))
        .args([metadata, &cut.to_string(), &work.display().to_string()])
        .output()
        .ok()?;
    let parsed = serde_json::from_str(String::from_utf8_lossy(&out.stdout).lines().last()?).ok();
    if parsed.is_none() {
        eprintln!("pyiceberg: {}", String::from_utf8_lossy(&out.stderr));
    }
    parsed
}

fn secs(v: &serde_json::Value) -> f64 {
    v["secs"].as_f64().unwrap_or(f64::NAN)
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--child") {
        let cut = args[i + 2].parse().expect("cut-off");
        child(&args[i + 1], cut, &args[i + 3]).await;
        return;
    }
    let snapshots = env_or("FLOE_BENCH_SNAPSHOTS", 10_000);
    let files_per = env_or("FLOE_BENCH_FILES_PER_SNAPSHOT", 10);
    let retain = env_or("FLOE_BENCH_RETAIN", 100).min(snapshots);
    let dir = std::env::temp_dir().join(format!(
        "floe-expire-bench-{snapshots}x{files_per}-{}",
        std::process::id()
    ));
    let t = Instant::now();
    let (md, cut) = generate(&dir, snapshots, files_per, retain).await;
    println!(
        "expire snapshots: {snapshots} snapshots x {files_per} files ({} data files), window {WINDOW}, keep the last {retain}; table built in {:.1} s",
        snapshots * files_per,
        t.elapsed().as_secs_f64()
    );
    let dry = run_child(&md, cut, "dry-run");
    println!("  Floe dry run (plan + files to delete): {dry}");
    let meta = run_child(&md, cut, "metadata-only");
    println!("  Floe metadata only (plan + commit):    {meta}");
    match pyiceberg(&md, cut, &dir.join("pyiceberg")) {
        Some(py) => println!(
            "  pyiceberg 0.12 expire_snapshots().older_than() (metadata only): {py}  -> Floe is {:.1}x faster",
            secs(&py) / secs(&meta)
        ),
        None => println!("  pyiceberg: not available (run scripts/interop-venv.sh)"),
    }
    let full = run_child(&md, cut, "full");
    let files = full["files"].as_f64().unwrap_or(0.0);
    let bytes = full["bytes"].as_f64().unwrap_or(0.0);
    println!("  Floe full (plan + commit + delete):    {full}");
    println!(
        "  -> {:.0} files/s and {:.2} MB/s deleted over the whole expiry; {:.0} files/s over full minus dry run (commit + deletes)",
        files / secs(&full),
        bytes / 1e6 / secs(&full),
        files / (secs(&full) - secs(&dry)).max(1e-9)
    );
    std::fs::remove_dir_all(&dir).ok();
}
