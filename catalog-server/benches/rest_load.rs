//! REST load benchmark: loadTable and commit throughput and latency against an in-process
//! catalog server, over loopback HTTP/1.1 with keep-alive.
//!
//! The server runs on its own 2-worker runtime thread ([`TestServer`]); the load generator
//! runs on a separate runtime whose threads are named `bench-client`, so the CPU each side
//! uses is read apart from `/proc/self/task/*` (the server's side is every other thread:
//! its runtime workers, blocking threads and SQLite workers).
//!
//! Scenarios, on a table with 100 snapshots (committed through the REST API, the same
//! append shape pyiceberg sends):
//! - loadTable, full body (GET, 200, body read to the end);
//! - loadTable, revalidated (`If-None-Match` with the table's ETag, 304);
//! - commits by one committer, then by 4 committers on 4 tables, with the server's own
//!   split of commit time (metadata write, database transaction, rest) from its metrics.
//!
//! `cargo bench -p catalog-server --bench rest_load`. Knobs: `FLOE_BENCH_SECS` (measured
//! seconds per loadTable scenario, default 5), `FLOE_BENCH_WARMUP_SECS` (default 1),
//! `FLOE_BENCH_CONNS` (loadTable connections, default 16), `FLOE_BENCH_CLIENT_THREADS`
//! (load generator workers, default 2), `FLOE_BENCH_COMMITTERS` (default 4),
//! `FLOE_BENCH_COMMITS` (appends per committer, default 300: each commit adds a snapshot,
//! so a duration would make the later commits rewrite ever larger metadata),
//! `FLOE_BENCH_LOG` (the server's log filter, default `info` as `catalog-server` runs;
//! `off` installs no subscriber), `FLOE_BENCH_ONLY` (`load` or `commit`: run only those
//! scenarios, e.g. under a profiler), `FLOE_BENCH_AUTH` (`oauth2`: the server checks a bearer
//! token and the grants on every request; the scenarios then run as a non-root principal
//! holding USAGE, SELECT and MODIFY on the namespace; default `none`).

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use bytes::Bytes;
use catalog_server::testing::TestServer;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, ETAG, HOST, IF_NONE_MATCH};
use hyper::http::HeaderValue;
use hyper::{HeaderMap, Method, Request, StatusCode, Uri};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};

/// The bearer token every request carries (with `FLOE_BENCH_AUTH=oauth2`).
static BEARER: std::sync::RwLock<Option<HeaderValue>> = std::sync::RwLock::new(None);

fn set_bearer(token: &str) {
    let v = HeaderValue::from_str(&format!("Bearer {token}")).expect("token header");
    *BEARER.write().expect("bearer lock") = Some(v);
}

/// The peer figure from the issue, for comparison.
const PEER: &str = "Lakekeeper 0.13 on PostgreSQL: loadTable of a 20-snapshot table";
const PEER_RPS: f64 = 700.0;
const PEER_P50_MS: f64 = 22.0;
const PEER_P99_MS: f64 = 108.0;
/// The loadTable throughput this server aims at on 2 cores.
const TARGET_RPS: f64 = 10_000.0;
/// Snapshots in each benchmark table before the measurements.
const SNAPSHOTS: i64 = 100;
const NAMESPACE: &str = "bench";

fn env_num<T: std::str::FromStr>(name: &str, default: T) -> T {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v} is not a valid number")),
        Err(_) => default,
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

// ---- a minimal keep-alive HTTP/1.1 client ------------------------------------------------

/// One keep-alive connection.
struct Conn {
    tx: SendRequest<Full<Bytes>>,
    host: HeaderValue,
}

/// A response: status, headers and the whole body.
struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl Conn {
    async fn open(addr: &str) -> Conn {
        let stream = tokio::net::TcpStream::connect(addr)
            .await
            .unwrap_or_else(|e| panic!("connect {addr}: {e}"));
        stream.set_nodelay(true).expect("TCP_NODELAY");
        let (tx, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .expect("HTTP/1 handshake");
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Conn {
            tx,
            host: HeaderValue::from_str(addr).expect("host header"),
        }
    }

    async fn send(
        &mut self,
        method: Method,
        uri: &Uri,
        if_none_match: Option<&HeaderValue>,
        json_body: Option<Bytes>,
    ) -> Reply {
        let mut req = Request::builder()
            .method(method)
            .uri(uri.clone())
            .header(HOST, self.host.clone());
        if let Some(b) = BEARER.read().expect("bearer lock").as_ref() {
            req = req.header(AUTHORIZATION, b.clone());
        }
        if let Some(tag) = if_none_match {
            req = req.header(IF_NONE_MATCH, tag.clone());
        }
        let body = match json_body {
            Some(b) => {
                req = req.header(CONTENT_TYPE, "application/json");
                b
            }
            None => Bytes::new(),
        };
        let req = req.body(Full::new(body)).expect("request");
        self.tx.ready().await.expect("connection ready");
        let resp = self.tx.send_request(req).await.expect("response");
        let (parts, body) = resp.into_parts();
        let body = body.collect().await.expect("response body").to_bytes();
        Reply {
            status: parts.status,
            headers: parts.headers,
            body,
        }
    }

    async fn post_json(&mut self, uri: &Uri, v: &Value) -> Reply {
        let body = Bytes::from(serde_json::to_vec(v).expect("json"));
        self.send(Method::POST, uri, None, Some(body)).await
    }
}

fn uri(path: &str) -> Uri {
    path.parse().unwrap_or_else(|e| panic!("uri {path}: {e}"))
}

// ---- the table shapes --------------------------------------------------------------------

fn schema() -> Value {
    json!({
        "type": "struct", "schema-id": 0,
        "fields": [
            {"id": 1, "name": "id", "required": false, "type": "long"},
            {"id": 2, "name": "data", "required": false, "type": "string"}
        ]
    })
}

/// An append commit: add-snapshot + set main, asserting main (what pyiceberg sends). The
/// manifest list need not exist for catalog-level load and commit.
fn append_commit(id: i64, parent: Option<i64>, seq: i64) -> Value {
    json!({
        "requirements": [{"type": "assert-ref-snapshot-id", "ref": "main", "snapshot-id": parent}],
        "updates": [
            {"action": "add-snapshot", "snapshot": {
                "snapshot-id": id,
                "parent-snapshot-id": parent,
                "sequence-number": seq,
                "timestamp-ms": now_ms(),
                "manifest-list": format!("file:///nowhere/snap-{id}.avro"),
                "summary": {"operation": "append", "added-records": "1"},
                "schema-id": 0
            }},
            {"action": "set-snapshot-ref", "ref-name": "main", "type": "branch", "snapshot-id": id}
        ]
    })
}

/// A table's commit chain: the next snapshot id and sequence number.
struct Chain {
    uri: Uri,
    id_base: i64,
    done: i64,
}

impl Chain {
    fn new(table: &str, id_base: i64) -> Chain {
        Chain {
            uri: uri(&format!(
                "/v1/default/namespaces/{NAMESPACE}/tables/{table}"
            )),
            id_base,
            done: 0,
        }
    }

    fn next_body(&self) -> Bytes {
        let n = self.done + 1;
        let parent = (self.done > 0).then(|| self.id_base + self.done);
        Bytes::from(serde_json::to_vec(&append_commit(self.id_base + n, parent, n)).expect("json"))
    }

    /// Commit the next append; returns the latency.
    async fn commit(&mut self, conn: &mut Conn) -> Duration {
        let body = self.next_body();
        let t0 = Instant::now();
        let r = conn.send(Method::POST, &self.uri, None, Some(body)).await;
        let took = t0.elapsed();
        if r.status != StatusCode::OK {
            panic!(
                "commit {} to {} failed: {} {}",
                self.done + 1,
                self.uri,
                r.status,
                String::from_utf8_lossy(&r.body)
            );
        }
        self.done += 1;
        took
    }
}

async fn create_table(conn: &mut Conn, name: &str) {
    let r = conn
        .post_json(
            &uri(&format!("/v1/default/namespaces/{NAMESPACE}/tables")),
            &json!({"name": name, "schema": schema()}),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "create {name}: {}",
        String::from_utf8_lossy(&r.body)
    );
}

// ---- CPU accounting ----------------------------------------------------------------------

/// On-CPU time per thread of this process, in nanoseconds, and each thread's name.
fn thread_cpu() -> HashMap<u64, (String, u64)> {
    let mut out = HashMap::new();
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
        return out;
    };
    for e in dir.flatten() {
        let Some(tid) = e.file_name().to_str().and_then(|s| s.parse::<u64>().ok()) else {
            continue;
        };
        let p = e.path();
        let comm = std::fs::read_to_string(p.join("comm"))
            .unwrap_or_default()
            .trim()
            .to_string();
        // schedstat's first field is exact on-CPU time; stat's utime+stime is in ticks.
        let ns = std::fs::read_to_string(p.join("schedstat"))
            .ok()
            .and_then(|s| s.split_whitespace().next()?.parse::<u64>().ok())
            .filter(|&ns| ns > 0)
            .or_else(|| {
                let stat = std::fs::read_to_string(p.join("stat")).ok()?;
                let f: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
                let ticks = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
                Some(ticks * 10_000_000)
            })
            .unwrap_or(0);
        out.insert(tid, (comm, ns));
    }
    out
}

/// Machine-wide busy and total jiffies from `/proc/stat`.
fn machine_jiffies() -> (u64, u64) {
    let s = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let Some(line) = s.lines().next() else {
        return (0, 0);
    };
    let f: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    let total: u64 = f.iter().take(8).sum();
    let idle = f.get(3).copied().unwrap_or(0) + f.get(4).copied().unwrap_or(0);
    (total.saturating_sub(idle), total)
}

/// A CPU snapshot of the process's threads and the machine.
struct CpuMark {
    threads: HashMap<u64, (String, u64)>,
    machine: (u64, u64),
    at: Instant,
}

impl CpuMark {
    fn now() -> CpuMark {
        CpuMark {
            threads: thread_cpu(),
            machine: machine_jiffies(),
            at: Instant::now(),
        }
    }
}

/// CPU used between two marks, in core-seconds.
#[derive(Debug, Clone, Copy, Default)]
struct CpuUse {
    client: f64,
    server: f64,
    /// Everything else on the machine (other processes).
    others: f64,
    wall: f64,
}

fn cpu_between(a: &CpuMark, b: &CpuMark) -> CpuUse {
    let (mut client, mut server) = (0u64, 0u64);
    for (tid, (comm, ns)) in &b.threads {
        let before = a.threads.get(tid).map(|(_, n)| *n).unwrap_or(0);
        let d = ns.saturating_sub(before);
        if comm.starts_with("bench-client") {
            client += d;
        } else {
            server += d;
        }
    }
    let wall = b.at.duration_since(a.at).as_secs_f64();
    let (busy_a, total_a) = a.machine;
    let (busy_b, total_b) = b.machine;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    let machine_busy = if total_b > total_a {
        (busy_b - busy_a) as f64 / (total_b - total_a) as f64 * cores * wall
    } else {
        0.0
    };
    let ours = (client + server) as f64 / 1e9;
    CpuUse {
        client: client as f64 / 1e9,
        server: server as f64 / 1e9,
        others: (machine_busy - ours).max(0.0),
        wall,
    }
}

// ---- latency statistics --------------------------------------------------------------------

/// Latencies in microseconds.
struct Latencies(Vec<u32>);

impl Latencies {
    fn sorted(mut v: Vec<u32>) -> Latencies {
        v.sort_unstable();
        Latencies(v)
    }

    fn quantile_ms(&self, q: f64) -> f64 {
        if self.0.is_empty() {
            return f64::NAN;
        }
        let i = ((self.0.len() as f64 - 1.0) * q).round() as usize;
        f64::from(self.0[i]) / 1000.0
    }
}

fn micros(d: Duration) -> u32 {
    d.as_micros().min(u128::from(u32::MAX)) as u32
}

/// One scenario's result.
struct Outcome {
    name: String,
    conns: usize,
    requests: u64,
    secs: f64,
    lat: Latencies,
    cpu: CpuUse,
    body_bytes: usize,
    /// Commit scenarios: mean ms per commit by server phase.
    phases: Option<Vec<(String, f64)>>,
}

impl Outcome {
    fn rate(&self) -> f64 {
        self.requests as f64 / self.secs
    }

    fn cpu_per_request_us(&self, side: f64) -> f64 {
        if self.requests == 0 {
            f64::NAN
        } else {
            side / self.requests as f64 * 1e6
        }
    }
}

// ---- scenarios ------------------------------------------------------------------------------

/// `conns` connections GET `target` for warm-up + `secs`; only requests started inside the
/// measured window count.
async fn load_scenario(
    name: &str,
    addr: &str,
    target: &Uri,
    if_none_match: Option<HeaderValue>,
    want: StatusCode,
    s: &Settings,
) -> Outcome {
    let (conns, warmup, secs) = (s.conns, s.warmup, s.secs);
    let start = Instant::now();
    let from = start + warmup;
    let until = from + secs;
    let mut tasks = Vec::new();
    for _ in 0..conns {
        let addr = addr.to_string();
        let target = target.clone();
        let tag = if_none_match.clone();
        tasks.push(tokio::spawn(async move {
            let mut conn = Conn::open(&addr).await;
            let mut lat = Vec::with_capacity(1 << 16);
            let mut body_bytes = 0usize;
            loop {
                let t0 = Instant::now();
                if t0 >= until {
                    break;
                }
                let r = conn.send(Method::GET, &target, tag.as_ref(), None).await;
                let took = t0.elapsed();
                if r.status != want {
                    panic!(
                        "loadTable answered {} (wanted {want}): {}",
                        r.status,
                        String::from_utf8_lossy(&r.body)
                    );
                }
                body_bytes = r.body.len();
                if t0 >= from {
                    lat.push(micros(took));
                }
            }
            (lat, body_bytes)
        }));
    }
    tokio::time::sleep_until(from.into()).await;
    let a = CpuMark::now();
    tokio::time::sleep_until(until.into()).await;
    let b = CpuMark::now();
    let mut all = Vec::new();
    let mut body_bytes = 0;
    for t in tasks {
        let (lat, bytes) = t.await.expect("load task");
        all.extend(lat);
        body_bytes = bytes;
    }
    Outcome {
        name: name.to_string(),
        conns,
        requests: all.len() as u64,
        secs: secs.as_secs_f64(),
        lat: Latencies::sorted(all),
        cpu: cpu_between(&a, &b),
        body_bytes,
        phases: None,
    }
}

/// Commit phase totals from the server's metrics: phase -> (seconds sum, count).
fn commit_phases(state: &catalog_server::api::AppState) -> BTreeMap<String, (f64, f64)> {
    let text = state.service.metrics().render();
    let mut out: BTreeMap<String, (f64, f64)> = BTreeMap::new();
    for line in text.lines() {
        for (suffix, sum) in [("_sum", true), ("_count", false)] {
            let prefix = format!("floe_commit_phase_seconds{suffix}{{phase=\"");
            if let Some(rest) = line.strip_prefix(&prefix)
                && let Some((phase, tail)) = rest.split_once("\"}")
                && let Some(v) = tail
                    .split_whitespace()
                    .next()
                    .and_then(|v| v.parse::<f64>().ok())
            {
                let e = out.entry(phase.to_string()).or_default();
                if sum {
                    e.0 = v;
                } else {
                    e.1 = v;
                }
            }
        }
    }
    out
}

/// Mean milliseconds per commit by phase between two metric readings.
fn phase_means(
    before: &BTreeMap<String, (f64, f64)>,
    after: &BTreeMap<String, (f64, f64)>,
) -> Vec<(String, f64)> {
    after
        .iter()
        .map(|(phase, (sum, count))| {
            let (s0, c0) = before.get(phase).copied().unwrap_or((0.0, 0.0));
            let n = count - c0;
            let mean = if n > 0.0 {
                (sum - s0) / n * 1000.0
            } else {
                f64::NAN
            };
            (phase.clone(), mean)
        })
        .collect()
}

/// Each chain's committer commits `commits` appends to its own table, all at once.
async fn commit_scenario(
    name: &str,
    addr: &str,
    state: &catalog_server::api::AppState,
    chains: Vec<Chain>,
    commits: usize,
) -> (Outcome, Vec<Chain>) {
    let conns = chains.len();
    let mut opened = Vec::new();
    for chain in chains {
        opened.push((Conn::open(addr).await, chain));
    }
    let p0 = commit_phases(state);
    let a = CpuMark::now();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (mut conn, mut chain) in opened {
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(commits);
            for _ in 0..commits {
                lat.push(micros(chain.commit(&mut conn).await));
            }
            (lat, chain)
        }));
    }
    let mut all = Vec::new();
    let mut chains = Vec::new();
    for t in tasks {
        let (lat, chain) = t.await.expect("commit task");
        all.extend(lat);
        chains.push(chain);
    }
    let secs = started.elapsed().as_secs_f64();
    let b = CpuMark::now();
    let p1 = commit_phases(state);
    (
        Outcome {
            name: name.to_string(),
            conns,
            requests: all.len() as u64,
            secs,
            lat: Latencies::sorted(all),
            cpu: cpu_between(&a, &b),
            body_bytes: 0,
            phases: Some(phase_means(&p0, &p1)),
        },
        chains,
    )
}

// ---- main -----------------------------------------------------------------------------------

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

/// The benchmark's settings.
struct Settings {
    secs: Duration,
    warmup: Duration,
    conns: usize,
    client_threads: usize,
    committers: usize,
    commits: usize,
    run_load: bool,
    run_commit: bool,
}

fn main() {
    let only = std::env::var("FLOE_BENCH_ONLY").unwrap_or_default();
    let (run_load, run_commit) = match only.as_str() {
        "" => (true, true),
        "load" => (true, false),
        "commit" => (false, true),
        other => panic!("FLOE_BENCH_ONLY={other}: use load or commit"),
    };
    let s = Settings {
        secs: Duration::from_secs_f64(env_num("FLOE_BENCH_SECS", 5.0)),
        warmup: Duration::from_secs_f64(env_num("FLOE_BENCH_WARMUP_SECS", 1.0)),
        conns: env_num("FLOE_BENCH_CONNS", 16),
        client_threads: env_num::<usize>("FLOE_BENCH_CLIENT_THREADS", 2).max(1),
        committers: env_num::<usize>("FLOE_BENCH_COMMITTERS", 4).max(1),
        commits: env_num::<usize>("FLOE_BENCH_COMMITS", 300).max(1),
        run_load,
        run_commit,
    };
    let log = std::env::var("FLOE_BENCH_LOG").unwrap_or_else(|_| "info".into());
    if log != "off" {
        // As `catalog-server` runs: an fmt subscriber at `info` (request spans are live).
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(&log))
            .with_writer(std::io::stderr)
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init();
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(s.client_threads)
        .thread_name("bench-client")
        .enable_all()
        .build()
        .expect("client runtime");
    let load_before = loadavg();
    rt.block_on(async move {
        let oauth2 = std::env::var("FLOE_BENCH_AUTH").is_ok_and(|v| v == "oauth2");
        let server = TestServer::start_with(|c| {
            c.log = log.clone();
            if oauth2 {
                c.auth = catalog_server::auth::AuthMode::Oauth2;
                c.root_credentials = Some(("bench-root".into(), "bench-root-secret".into()));
            }
        })
        .await;
        if oauth2 {
            set_bearer(&issue_token(&server, None).await);
        }
        let addr = server
            .url()
            .strip_prefix("http://")
            .expect("http url")
            .to_string();
        let mut conn = Conn::open(&addr).await;

        // Setup: a namespace, the load table and one table per committer, each with
        // SNAPSHOTS append commits.
        let r = conn
            .post_json(
                &uri("/v1/default/namespaces"),
                &json!({"namespace": [NAMESPACE]}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "create namespace");
        let setup_started = Instant::now();
        create_table(&mut conn, "load").await;
        let mut load_chain = Chain::new("load", 0);
        for _ in 0..SNAPSHOTS {
            load_chain.commit(&mut conn).await;
        }
        let mut chains = Vec::new();
        for i in 0..s.committers {
            let name = format!("c{i}");
            create_table(&mut conn, &name).await;
            chains.push(Chain::new(&name, (i as i64 + 1) * 1_000_000_000));
        }
        let mut seeders = Vec::new();
        for mut chain in chains {
            let addr = addr.clone();
            seeders.push(tokio::spawn(async move {
                let mut conn = Conn::open(&addr).await;
                for _ in 0..SNAPSHOTS {
                    chain.commit(&mut conn).await;
                }
                chain
            }));
        }
        let mut chains = Vec::new();
        for seeder in seeders {
            chains.push(seeder.await.expect("seed"));
        }
        let setup = setup_started.elapsed();
        if oauth2 {
            set_bearer(&issue_token(&server, Some(NAMESPACE)).await);
        }

        // The table as a client sees it.
        let target = load_chain.uri.clone();
        let first = conn.send(Method::GET, &target, None, None).await;
        assert_eq!(first.status, StatusCode::OK, "loadTable");
        let etag = first.headers.get(ETAG).cloned().expect("loadTable ETag");
        let md: Value = serde_json::from_slice(&first.body).expect("loadTable JSON");
        let snapshots = md["metadata"]["snapshots"].as_array().map_or(0, Vec::len);
        assert_eq!(snapshots as i64, SNAPSHOTS, "snapshots in the load table");
        let check = conn.send(Method::GET, &target, Some(&etag), None).await;
        assert_eq!(check.status, StatusCode::NOT_MODIFIED, "revalidation");
        drop(conn);

        let mut results = Vec::new();
        if s.run_load {
            results.push(
                load_scenario(
                    "loadTable 200 (full body)",
                    &addr,
                    &target,
                    None,
                    StatusCode::OK,
                    &s,
                )
                .await,
            );
            results.push(
                load_scenario(
                    "loadTable 304 (If-None-Match)",
                    &addr,
                    &target,
                    Some(etag),
                    StatusCode::NOT_MODIFIED,
                    &s,
                )
                .await,
            );
        }
        if s.run_commit {
            let state = server.state().clone();
            let (seq, _) = commit_scenario(
                "commit, 1 committer",
                &addr,
                &state,
                vec![load_chain],
                s.commits,
            )
            .await;
            results.push(seq);
            let (par, _) = commit_scenario(
                &format!("commit, {} committers/tables", s.committers),
                &addr,
                &state,
                chains,
                s.commits,
            )
            .await;
            results.push(par);
        }
        report(&results, &s, setup, &load_before);
        drop(server);
    });
}

/// A token for the root principal (`None`), or for a new principal holding USAGE, SELECT and
/// MODIFY on namespace `grant_on`, made through the server's own state.
async fn issue_token(server: &TestServer, grant_on: Option<&str>) -> String {
    use catalog_server::store::access::{GrantChange, GranteeKind, PrincipalRecord, Securable};
    let state = server.state();
    let store = state.service.store();
    let keys = state.access.keys().expect("oauth2 keys");
    let ttl = chrono::Duration::hours(2);
    let root = store.root_principal().await.expect("store").expect("root");
    let Some(ns) = grant_on else {
        return keys.issue(&root.id, &root.name, ttl).await.expect("token");
    };
    let reader = PrincipalRecord {
        id: uuid::Uuid::new_v4().to_string(),
        name: "bench-reader".into(),
        client_id: "bench-reader".into(),
        secret_hash: "unused".into(),
        is_root: false,
        created_ms: 0,
    };
    store.create_principal(&reader).await.expect("principal");
    let wh = state.service.warehouse("default").await.expect("warehouse");
    let change = GrantChange {
        grantee_kind: GranteeKind::Principal,
        grantee_id: reader.id.clone(),
        add: vec!["USAGE".into(), "SELECT".into(), "MODIFY".into()],
        remove: vec![],
    };
    store
        .change_grants(&wh.id, &Securable::Namespace(ns.into()), &[change])
        .await
        .expect("grant");
    keys.issue(&reader.id, &reader.name, ttl)
        .await
        .expect("token")
}

fn report(results: &[Outcome], s: &Settings, setup: Duration, load_before: &str) {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!();
    println!("Floe catalog-server REST load (loopback HTTP/1.1 keep-alive)");
    println!(
        "machine: {cores} CPUs; loadavg before {load_before}, after {}",
        loadavg()
    );
    println!(
        "server: in-process TestServer (2-worker runtime, SQLite WAL, auth {}); client: {} `bench-client` workers",
        std::env::var("FLOE_BENCH_AUTH").unwrap_or_else(|_| "none".into()),
        s.client_threads
    );
    println!(
        "setup: a {SNAPSHOTS}-snapshot table for loadTable and {} committer tables of {SNAPSHOTS} snapshots, in {:.2} s",
        s.committers,
        setup.as_secs_f64()
    );
    println!(
        "loadTable: {} connections, {:.1} s warm-up + {:.1} s measured; commits: {} appends per committer",
        s.conns,
        s.warmup.as_secs_f64(),
        s.secs.as_secs_f64(),
        s.commits
    );
    println!();
    println!(
        "{:<32} {:>5} {:>8} {:>9} {:>7} {:>7} {:>7} {:>9} {:>9} {:>6} {:>7}",
        "scenario",
        "conns",
        "requests",
        "req/s",
        "p50 ms",
        "p99 ms",
        "max ms",
        "srv µs/rq",
        "cli µs/rq",
        "other",
        "body B"
    );
    for r in results {
        println!(
            "{:<32} {:>5} {:>8} {:>9.0} {:>7.2} {:>7.2} {:>7.2} {:>9.1} {:>9.1} {:>6.2} {:>7}",
            r.name,
            r.conns,
            r.requests,
            r.rate(),
            r.lat.quantile_ms(0.5),
            r.lat.quantile_ms(0.99),
            r.lat.quantile_ms(1.0),
            r.cpu_per_request_us(r.cpu.server),
            r.cpu_per_request_us(r.cpu.client),
            r.cpu.others / r.cpu.wall.max(1e-9),
            r.body_bytes,
        );
    }
    println!(
        "  srv/cli µs/rq: CPU time of the server's and the load generator's threads per request"
    );
    println!("  other: cores busy with other processes on the machine during the window");
    let loads: Vec<&Outcome> = results.iter().filter(|r| r.phases.is_none()).collect();
    if !loads.is_empty() {
        println!();
        for r in &loads {
            println!(
                "{}: server busy {:.2} cores, client {:.2}; server CPU alone on 2 cores ≈ {:.0} req/s",
                r.name,
                r.cpu.server / r.cpu.wall.max(1e-9),
                r.cpu.client / r.cpu.wall.max(1e-9),
                2.0 / (r.cpu_per_request_us(r.cpu.server) / 1e6),
            );
        }
    }
    let commits: Vec<&Outcome> = results.iter().filter(|r| r.phases.is_some()).collect();
    if !commits.is_empty() {
        println!();
        println!(
            "commit phases (server metrics floe_commit_phase_seconds, mean ms per commit; tables grow from {SNAPSHOTS} to {} snapshots):",
            SNAPSHOTS + s.commits as i64
        );
        println!(
            "{:<32} {:>14} {:>9} {:>7} {:>7} {:>10}",
            "scenario", "metadata_write", "database", "rest", "total", "rest share"
        );
        for r in &commits {
            let ph = r.phases.as_deref().unwrap_or_default();
            let get = |p: &str| {
                ph.iter()
                    .find(|(n, _)| n == p)
                    .map_or(f64::NAN, |(_, v)| *v)
            };
            let (w, d, o) = (get("metadata_write"), get("database"), get("other"));
            let total = w + d + o;
            println!(
                "{:<32} {:>14.3} {:>9.3} {:>7.3} {:>7.3} {:>9.1}%",
                r.name,
                w,
                d,
                o,
                total,
                o / total * 100.0
            );
        }
    }
    if !loads.is_empty() {
        println!();
        println!(
            "peer: {PEER} ~{PEER_RPS:.0} req/s (wrk, 16 connections; p50 {PEER_P50_MS} ms, p99 {PEER_P99_MS} ms)"
        );
        for r in &loads {
            println!(
                "ours/peer, {}: throughput ×{:.1}; p50 ×{:.3}, p99 ×{:.3} (latency: lower is better)",
                r.name,
                r.rate() / PEER_RPS,
                r.lat.quantile_ms(0.5) / PEER_P50_MS,
                r.lat.quantile_ms(0.99) / PEER_P99_MS,
            );
        }
        let full = loads[0];
        println!(
            "target: loadTable (full body) >= {TARGET_RPS:.0} req/s on 2 cores: {:.0} req/s measured, {}",
            full.rate(),
            if full.rate() >= TARGET_RPS {
                "met"
            } else {
                "NOT met"
            }
        );
    }
}
