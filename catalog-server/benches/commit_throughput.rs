//! Commit throughput on PostgreSQL, with the client's cost taken out.
//!
//! `cargo bench -p catalog-server --bench commit_throughput`
//!
//! For each scenario a fresh server ([`TestServer`]) on a fresh PostgreSQL database
//! (`FLOE_TEST_DATABASE`, default `postgres://postgres@127.0.0.1:5432/postgres` as the admin
//! URL) gets tables with one committed append each. Before the clock starts, every committer
//! prepares `K` appends with table-format (a real Parquet data file, manifest and manifest list
//! each): a fast append on the table's base whose commit request (requirements + updates) is
//! captured instead of sent, serialized to bytes. Then the committers send their appends over
//! raw REST, each its own sequentially; all of them are stale against the base they were
//! written on, so the server rebases every commit but the first per table.
//!
//! Reported per scenario: commits/s, latency p50/p99, the share of attempts that landed, the
//! server's commit phases from `/metrics` (mean per commit), rebases and lost swaps, and CPU
//! time: the client threads, the rest of this process (the server) and the PostgreSQL backends
//! of the scenario's database.
//!
//! Environment:
//! - `FLOE_BENCH_APPENDS` (default 20): appends per committer.
//! - `FLOE_BENCH_PYICEBERG=1`: also the end-to-end variant, the pyiceberg `contention`
//!   scenario of `tests/interop/rest_scenarios.py` with 1/4/8/16 writer processes (client
//!   retries off), with the interpreter from `FLOE_BENCH_PYTHON` (default
//!   `$HOME/.cache/floe-venv/bin/python`, see `scripts/interop-venv.sh`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use arrow_array::{Int64Array, RecordBatch, StringArray};
use async_trait::async_trait;
use bytes::Bytes;
use catalog_server::testing::{TEST_DATABASE_ENV, TestServer};
use table_format::arrow::iceberg_schema_to_arrow;
use table_format::catalog::{Catalog, RestCatalog, RestCatalogConfig, TableCreation, TableIdent};
use table_format::io::FileIO;
use table_format::spec::{NestedField, PrimitiveType, Schema, TableRequirement, TableUpdate};
use table_format::table::Table;

const DEFAULT_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
const CLIENT_THREAD: &str = "bench-client";

fn schema() -> Schema {
    Schema::builder()
        .with_fields([
            NestedField::optional(1, "id", PrimitiveType::Long),
            NestedField::optional(2, "name", PrimitiveType::String),
        ])
        .build()
        .expect("schema")
}

fn batch(start: i64, n: i64) -> RecordBatch {
    let arrow = Arc::new(iceberg_schema_to_arrow(&schema()).expect("arrow schema"));
    let ids: Vec<i64> = (start..start + n).collect();
    RecordBatch::try_new(
        arrow,
        vec![
            Arc::new(Int64Array::from(ids.clone())),
            Arc::new(StringArray::from_iter_values(
                ids.iter().map(|i| format!("user-{i}")),
            )),
        ],
    )
    .expect("batch")
}

/// A catalog that loads through the server but keeps a commit's requirements and updates
/// instead of sending them.
#[derive(Debug)]
struct Staging {
    inner: RestCatalog,
    staged: Mutex<Option<(Vec<TableRequirement>, Vec<TableUpdate>)>>,
}

#[async_trait]
impl Catalog for Staging {
    fn file_io(&self) -> &FileIO {
        self.inner.file_io()
    }
    async fn load_table(&self, ident: &TableIdent) -> table_format::Result<Table> {
        self.inner.load_table(ident).await
    }
    async fn create_table(
        &self,
        ident: &TableIdent,
        creation: TableCreation,
    ) -> table_format::Result<Table> {
        self.inner.create_table(ident, creation).await
    }
    async fn commit_table(
        &self,
        _ident: &TableIdent,
        requirements: Vec<TableRequirement>,
        updates: Vec<TableUpdate>,
    ) -> table_format::Result<Table> {
        *self.staged.lock().expect("lock") = Some((requirements, updates));
        // Not a conflict: the operation must keep the files it wrote.
        Err(table_format::Error::commit_state_unknown(
            "staged, not sent",
        ))
    }
    async fn drop_table(&self, ident: &TableIdent, purge: bool) -> table_format::Result<()> {
        self.inner.drop_table(ident, purge).await
    }
    async fn list_tables(&self, namespace: &[String]) -> table_format::Result<Vec<TableIdent>> {
        self.inner.list_tables(namespace).await
    }
}

/// A pre-written append of `rows` on `base`: the serialized commit request body.
async fn stage_append(staging: &Staging, base: &Table, rows: RecordBatch) -> Bytes {
    let err = base
        .fast_append()
        .add_batches(&[rows])
        .await
        .expect("write the data file")
        .commit(staging)
        .await
        .expect_err("staged commits are not sent");
    assert!(err.message().contains("staged"), "{err}");
    let (requirements, updates) = staging.staged.lock().expect("lock").take().expect("staged");
    Bytes::from(
        serde_json::to_vec(&serde_json::json!({
            "requirements": requirements,
            "updates": updates,
        }))
        .expect("json"),
    )
}

/// CPU seconds of this process: (all threads, dead ones included; waited-for children).
fn process_cpu() -> (f64, f64) {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let f = stat_fields(&stat);
    let get = |i: usize| f.get(i).and_then(|s| s.parse::<f64>().ok()).unwrap_or(0.0);
    // Fields after the command: state is index 0, utime 11, stime 12, cutime 13, cstime 14.
    ((get(11) + get(12)) / TICKS, (get(13) + get(14)) / TICKS)
}

const TICKS: f64 = 100.0;

/// The fields of a `/proc/.../stat` line after `(comm)`, and the comm.
fn stat_fields(stat: &str) -> Vec<&str> {
    match stat.rfind(')') {
        Some(i) => stat[i + 1..].split_whitespace().collect(),
        None => Vec::new(),
    }
}

fn stat_comm(stat: &str) -> &str {
    match (stat.find('('), stat.rfind(')')) {
        (Some(a), Some(b)) if a < b => &stat[a + 1..b],
        _ => "",
    }
}

/// CPU seconds of this process's live threads named `name`.
fn threads_cpu(name: &str) -> f64 {
    let mut total = 0.0;
    if let Ok(rd) = std::fs::read_dir("/proc/self/task") {
        for e in rd.flatten() {
            let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else {
                continue;
            };
            if stat_comm(&stat) != name {
                continue;
            }
            let f = stat_fields(&stat);
            let get = |i: usize| f.get(i).and_then(|s| s.parse::<f64>().ok()).unwrap_or(0.0);
            total += (get(11) + get(12)) / TICKS;
        }
    }
    total
}

/// CPU seconds of the PostgreSQL backends connected to `database` (by pid).
fn postgres_cpu(database: &str) -> HashMap<u32, f64> {
    let mut out = HashMap::new();
    let Ok(rd) = std::fs::read_dir("/proc") else {
        return out;
    };
    for e in rd.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(cmd) = std::fs::read(e.path().join("cmdline")) else {
            continue;
        };
        let cmd = String::from_utf8_lossy(&cmd);
        if !cmd.starts_with("postgres: ") || !cmd.contains(database) {
            continue;
        }
        let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else {
            continue;
        };
        let f = stat_fields(&stat);
        let get = |i: usize| f.get(i).and_then(|s| s.parse::<f64>().ok()).unwrap_or(0.0);
        out.insert(pid, (get(11) + get(12)) / TICKS);
    }
    out
}

fn postgres_delta(before: &HashMap<u32, f64>, after: &HashMap<u32, f64>) -> f64 {
    after
        .iter()
        .map(|(pid, t)| t - before.get(pid).copied().unwrap_or(0.0))
        .sum()
}

/// The server's metrics as `name{labels}` → value.
async fn metrics(http: &reqwest::Client, server: &TestServer) -> HashMap<String, f64> {
    let text = http
        .get(format!("{}/metrics", server.url()))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("metrics body");
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (k, v) = l.rsplit_once(' ')?;
            Some((k.to_string(), v.parse().ok()?))
        })
        .collect()
}

fn delta(a: &HashMap<String, f64>, b: &HashMap<String, f64>, key: &str) -> f64 {
    b.get(key).copied().unwrap_or(0.0) - a.get(key).copied().unwrap_or(0.0)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

struct Outcome {
    name: String,
    attempts: usize,
    landed: usize,
    wall: Duration,
    p50: Duration,
    p99: Duration,
    max: Duration,
    /// Mean per commit, ms: queue, rebase, metadata_write, database, other.
    phases: [f64; 5],
    rebases: f64,
    conflicts: f64,
    mean_attempts: f64,
    cpu_client: f64,
    cpu_server: f64,
    cpu_postgres: f64,
    stage_time: Duration,
    first_failure: Option<String>,
}

async fn scenario(committers: usize, tables: usize, appends: usize) -> Outcome {
    let name = if tables == 1 {
        format!("{committers} on 1 table")
    } else {
        format!("{committers} on {tables} tables")
    };
    let server = TestServer::start().await;
    let database = server
        .database_url()
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_string();
    let catalog = RestCatalog::connect(RestCatalogConfig::new(server.url()).warehouse("default"))
        .await
        .expect("connect");
    let ns = vec!["bench".to_string()];
    catalog
        .create_namespace(&ns, HashMap::new())
        .await
        .expect("namespace");
    let mut bases = Vec::new();
    for t in 0..tables {
        let ident = TableIdent::new(["bench"], format!("t{t}"));
        let creation = TableCreation::new(schema()).with_property("format-version", "2");
        let created = catalog
            .create_table(&ident, creation)
            .await
            .expect("create");
        let base = created
            .fast_append()
            .add_batches(&[batch(0, 10)])
            .await
            .expect("append")
            .commit(&catalog)
            .await
            .expect("commit");
        bases.push((ident, base));
    }

    // Before the clock: every committer's appends, written on its table's base.
    let staged_at = Instant::now();
    let staging = Staging {
        inner: catalog.clone(),
        staged: Mutex::new(None),
    };
    let mut work: Vec<(String, Vec<Bytes>)> = Vec::new();
    for c in 0..committers {
        let (_, base) = &bases[c % tables];
        let url = format!(
            "{}/v1/default/namespaces/bench/tables/t{}",
            server.url(),
            c % tables
        );
        let mut bodies = Vec::with_capacity(appends);
        for k in 0..appends {
            let start = 1_000_000 * (c as i64 + 1) + 10 * k as i64;
            bodies.push(stage_append(&staging, base, batch(start, 10)).await);
        }
        work.push((url, bodies));
    }
    let stage_time = staged_at.elapsed();

    let http = reqwest::Client::new();
    // One keep-alive connection per committer, opened before the clock starts.
    let clients: Vec<reqwest::Client> = (0..committers).map(|_| reqwest::Client::new()).collect();
    for c in &clients {
        let _ = c.get(format!("{}/v1/config", server.url())).send().await;
    }
    let m0 = metrics(&http, &server).await;
    let pg0 = postgres_cpu(&database);
    let (cpu0, _) = process_cpu();
    let client0 = threads_cpu(CLIENT_THREAD);
    let barrier = Arc::new(tokio::sync::Barrier::new(committers + 1));
    let tasks: Vec<_> = work
        .into_iter()
        .zip(clients)
        .map(|((url, bodies), client)| {
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                let mut results = Vec::with_capacity(bodies.len());
                for body in bodies {
                    let t = Instant::now();
                    let r = client
                        .post(&url)
                        .header("content-type", "application/json")
                        .body(body)
                        .send()
                        .await;
                    let (ok, failure) = match r {
                        Ok(r) => {
                            let status = r.status();
                            let text = r.bytes().await.unwrap_or_default();
                            if status.is_success() {
                                (true, None)
                            } else {
                                let msg = String::from_utf8_lossy(&text);
                                (false, Some(format!("{status}: {msg:.300}")))
                            }
                        }
                        Err(e) => (false, Some(format!("request: {e}"))),
                    };
                    results.push((t.elapsed(), ok, failure));
                }
                results
            })
        })
        .collect();
    barrier.wait().await;
    let started = Instant::now();
    let mut latencies = Vec::new();
    let mut landed = 0;
    let mut first_failure = None;
    for t in tasks {
        for (d, ok, failure) in t.await.expect("committer") {
            latencies.push(d);
            if ok {
                landed += 1;
            }
            if first_failure.is_none() {
                first_failure = failure;
            }
        }
    }
    let wall = started.elapsed();
    let client1 = threads_cpu(CLIENT_THREAD);
    let (cpu1, _) = process_cpu();
    let pg1 = postgres_cpu(&database);
    let m1 = metrics(&http, &server).await;
    latencies.sort_unstable();

    // Every landed append is in its table's linear history.
    let mut snapshots = 0;
    for (ident, _) in &bases {
        let t = catalog.load_table(ident).await.expect("load");
        let m = t.metadata();
        let mut chain = 0;
        let mut cur = m.current_snapshot_id();
        let mut last_seq = i64::MAX;
        while let Some(id) = cur {
            let s = m.snapshot_by_id(id).expect("snapshot in chain");
            assert!(s.sequence_number < last_seq, "sequence numbers decrease");
            last_seq = s.sequence_number;
            chain += 1;
            cur = s.parent_snapshot_id;
        }
        assert_eq!(chain, m.snapshots().len(), "linear history");
        snapshots += chain - 1;
    }
    assert_eq!(snapshots, landed, "one snapshot per landed commit");

    let committed = delta(&m0, &m1, "floe_commits_total{outcome=\"committed\"}").max(1.0);
    let phase = |p: &str| {
        delta(
            &m0,
            &m1,
            &format!("floe_commit_phase_seconds_sum{{phase=\"{p}\"}}"),
        ) * 1000.0
            / committed
    };
    let attempts_sum = delta(&m0, &m1, "floe_commit_attempts_sum");
    let attempts_count = delta(&m0, &m1, "floe_commit_attempts_count").max(1.0);
    let cpu_client = client1 - client0;
    Outcome {
        name,
        attempts: latencies.len(),
        landed,
        wall,
        p50: percentile(&latencies, 0.50),
        p99: percentile(&latencies, 0.99),
        max: latencies.last().copied().unwrap_or_default(),
        phases: [
            phase("queue"),
            phase("rebase"),
            phase("metadata_write"),
            phase("database"),
            phase("other"),
        ],
        rebases: delta(&m0, &m1, "floe_commit_rebases_total"),
        conflicts: delta(&m0, &m1, "floe_commit_conflicts_total"),
        mean_attempts: attempts_sum / attempts_count,
        cpu_client,
        cpu_server: (cpu1 - cpu0) - cpu_client,
        cpu_postgres: postgres_delta(&pg0, &pg1),
        stage_time,
        first_failure,
    }
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

struct EndToEnd {
    writers: usize,
    attempts: usize,
    landed: usize,
    wall: f64,
    writers_cpu: f64,
    client_cpu: f64,
    server_cpu: f64,
    passed: bool,
}

/// The pyiceberg `contention` scenario with `writers` processes against a fresh server.
async fn end_to_end(python: &str, writers: usize, rounds: usize) -> EndToEnd {
    let server = TestServer::start().await;
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/interop/rest_scenarios.py"
    );
    let (cpu0, child0) = process_cpu();
    let out = tokio::process::Command::new(python)
        .arg(script)
        .arg("contention")
        .args(["--uri", server.url()])
        .args(["--writers", &writers.to_string()])
        .args(["--rounds", &rounds.to_string()])
        .output()
        .await
        .expect("run rest_scenarios.py");
    let (cpu1, child1) = process_cpu();
    let stdout = String::from_utf8_lossy(&out.stdout);
    // "NOTE ...: N writers x R appends, rebase on: A landed, C CommitFailedException; attempts
    // landed S%; W s wall, X commits/s, writers' CPU Y s"
    let note = stdout
        .lines()
        .find(|l| l.contains("commits/s"))
        .unwrap_or_default();
    let number_before = |marker: &str| -> f64 {
        note.split(marker)
            .next()
            .and_then(|s| s.split([' ', ',', ':']).rfind(|w| !w.is_empty()))
            .and_then(|w| w.trim_end_matches('s').parse().ok())
            .unwrap_or(f64::NAN)
    };
    let landed = number_before(" landed,");
    let wall = number_before(" wall");
    let writers_cpu = note
        .rsplit("writers' CPU ")
        .next()
        .and_then(|s| s.trim().trim_end_matches('s').parse().ok())
        .unwrap_or(f64::NAN);
    if !out.status.success() || note.is_empty() {
        eprintln!(
            "pyiceberg contention ({writers} writers) failed: {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    EndToEnd {
        writers,
        attempts: writers * rounds,
        landed: if landed.is_nan() { 0 } else { landed as usize },
        wall,
        writers_cpu,
        client_cpu: child1 - child0,
        server_cpu: cpu1 - cpu0,
        passed: out.status.success(),
    }
}

fn main() {
    // Before any other thread exists: the servers' databases live on PostgreSQL.
    if std::env::var(TEST_DATABASE_ENV).is_err() {
        // SAFETY: single-threaded here; nothing reads the environment concurrently.
        unsafe { std::env::set_var(TEST_DATABASE_ENV, DEFAULT_ADMIN_URL) };
    }
    let appends: usize = std::env::var("FLOE_BENCH_APPENDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name(CLIENT_THREAD)
        .enable_all()
        .build()
        .expect("runtime");
    println!(
        "commit throughput on {} ({} appends per committer, {} cores, load average {})",
        crate_redacted(&std::env::var(TEST_DATABASE_ENV).unwrap_or_default()),
        appends,
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        loadavg()
    );
    let mut outcomes = Vec::new();
    for (committers, tables) in [(1, 1), (4, 1), (8, 1), (16, 1), (8, 8)] {
        let o = rt.block_on(scenario(committers, tables, appends));
        eprintln!(
            "  {}: {} of {} landed in {:.2}s (staged in {:.1}s, load {})",
            o.name,
            o.landed,
            o.attempts,
            o.wall.as_secs_f64(),
            o.stage_time.as_secs_f64(),
            loadavg()
        );
        outcomes.push(o);
    }
    println!();
    println!(
        "{:<17} {:>8} {:>8} {:>9} {:>8} {:>8} {:>8} | {:>7} {:>7} {:>7} {:>7} {:>7} {:>7} {:>6} {:>5} | {:>7} {:>7} {:>7}",
        "scenario",
        "landed",
        "share",
        "commits/s",
        "p50 ms",
        "p99 ms",
        "max ms",
        "queue",
        "rebase",
        "write",
        "db",
        "other",
        "rebased",
        "lost",
        "att",
        "cli ms",
        "srv ms",
        "pg ms"
    );
    for o in &outcomes {
        let per = |cpu: f64| cpu * 1000.0 / o.landed.max(1) as f64;
        println!(
            "{:<17} {:>8} {:>7.1}% {:>9.1} {:>8.1} {:>8.1} {:>8.1} | {:>7.2} {:>7.2} {:>7.2} {:>7.2} {:>7.2} {:>7} {:>6} {:>5.2} | {:>7.2} {:>7.2} {:>7.2}",
            o.name,
            format!("{}/{}", o.landed, o.attempts),
            100.0 * o.landed as f64 / o.attempts.max(1) as f64,
            o.landed as f64 / o.wall.as_secs_f64(),
            ms(o.p50),
            ms(o.p99),
            ms(o.max),
            o.phases[0],
            o.phases[1],
            o.phases[2],
            o.phases[3],
            o.phases[4],
            o.rebases,
            o.conflicts,
            o.mean_attempts,
            per(o.cpu_client),
            per(o.cpu_server),
            per(o.cpu_postgres),
        );
    }
    println!(
        "queue/rebase/write/db/other: the server's commit phases (floe_commit_phase_seconds), \
         mean ms per commit (queue: waiting for the table's earlier commits; db: the pointer \
         swap; other: loading and applying); \
         rebased: floe_commit_rebases_total; lost: pointer swaps lost and retried \
         (floe_commit_conflicts_total); att: mean attempts per commit; cli/srv/pg: CPU ms per \
         landed commit of the client threads, the server (rest of this process) and the \
         PostgreSQL backends of the scenario's database."
    );
    for o in &outcomes {
        if let Some(f) = &o.first_failure {
            println!("{}: first failure: {f}", o.name);
        }
    }

    if std::env::var("FLOE_BENCH_PYICEBERG").is_ok_and(|v| v == "1") {
        let python = std::env::var("FLOE_BENCH_PYTHON").unwrap_or_else(|_| {
            format!(
                "{}/.cache/floe-venv/bin/python",
                std::env::var("HOME").unwrap_or_default()
            )
        });
        println!();
        println!(
            "end to end: pyiceberg contention, {appends} appends per writer process, client retries off"
        );
        println!(
            "{:>7} {:>9} {:>7} {:>9} {:>8} | {:>12} {:>12} {:>10} {:>6}",
            "writers",
            "landed",
            "share",
            "commits/s",
            "wall s",
            "writers' CPU",
            "clients' CPU",
            "server CPU",
            "checks"
        );
        for writers in [1, 4, 8, 16] {
            let e = rt.block_on(end_to_end(&python, writers, appends));
            println!(
                "{:>7} {:>9} {:>6.1}% {:>9.2} {:>8.1} | {:>11.1}s {:>11.1}s {:>9.1}s {:>6}",
                e.writers,
                format!("{}/{}", e.landed, e.attempts),
                100.0 * e.landed as f64 / e.attempts.max(1) as f64,
                e.landed as f64 / e.wall,
                e.wall,
                e.writers_cpu,
                e.client_cpu,
                e.server_cpu,
                if e.passed { "pass" } else { "FAIL" }
            );
        }
        println!(
            "writers' CPU: the append loops only (as rest_scenarios.py measures it); clients' CPU: \
             every Python process of the run, start-up and checks included; server CPU: this \
             process (the server, idle client runtime) over the whole run."
        );
    }
}

/// `url` without its password.
fn crate_redacted(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let user = &url[s + 3..at];
            let user = user.split(':').next().unwrap_or_default();
            format!("{}{user}@{}", &url[..s + 3], &url[at + 1..])
        }
        _ => url.to_string(),
    }
}
