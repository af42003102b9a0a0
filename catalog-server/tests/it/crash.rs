//! Crash safety: the real binary, killed in the middle of a commit, restarts onto a readable
//! table that lost no acknowledged commit, and takes the next commit.
//!
//! For each crash point of `catalog_server::fault` (`before-metadata-write`,
//! `after-metadata-write`, `after-pointer-swap`), on SQLite and on PostgreSQL:
//!
//! 1. spawn `catalog-server` (CARGO_BIN_EXE, built by `cargo test` with the `fault-injection`
//!    feature) with `FLOE_FAULT=<point>:3`: the process aborts (SIGABRT, no clean-up, like a
//!    SIGKILL) when the third commit reaches the point;
//! 2. pyiceberg (`tests/interop/crash_scenario.py write`) creates a table and appends rounds
//!    0, 1, 2: the first two are acknowledged, the third loses its connection;
//! 3. restart the server without the fault on the same data directory and database;
//! 4. the table loads, its pointer names a complete metadata file, and pyiceberg reads exactly
//!    the acknowledged rounds, plus the crashed one only when the crash came after the pointer
//!    swap (the commit landed; the client just never heard); the snapshot chain is linear
//!    with sequence numbers 1..n; the next append lands, without waiting for the commit lock
//!    the dead process held (PostgreSQL drops it with the connection).
//!
//! A crash after the metadata write leaves that file behind, named by no pointer and no
//! metadata log: the test lists it as an orphan (removing such files is the orphan clean-up's
//! job, with table maintenance). The other points leave no orphan metadata file.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use catalog_server::fault::FaultPoint;
use catalog_server::testing::TestDatabase;
use reqwest::StatusCode;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::common::get;

/// The commit (counting from 1) that crashes: two acknowledged appends come first.
const CRASHING_COMMIT: u64 = 3;

/// A `catalog-server` process.
struct Process {
    child: tokio::process::Child,
    url: String,
    stderr: Arc<Mutex<String>>,
}

/// Spawn the binary on `data_dir` and `database_url` (with `FLOE_FAULT=fault` when given) and
/// wait for its "listening on" line.
async fn spawn_server(data_dir: &Path, database_url: &str, fault: Option<&str>) -> Process {
    let bin = env!("CARGO_BIN_EXE_catalog-server");
    let mut cmd = tokio::process::Command::new(bin);
    cmd.arg("--listen")
        .arg("127.0.0.1:0")
        .arg("--data-dir")
        .arg(data_dir)
        .arg("--database-url")
        .arg(database_url)
        .env_remove("FLOE_FAULT")
        .env_remove("FLOE_CONFIG")
        .env("FLOE_LOG", "info")
        // An aborting process may dump core into its working directory: the temporary one.
        .current_dir(data_dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    if let Some(f) = fault {
        cmd.env("FLOE_FAULT", f);
    }
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {bin}: {e}"));
    let stderr = Arc::new(Mutex::new(String::new()));
    let mut err_lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let sink = stderr.clone();
    tokio::spawn(async move {
        while let Ok(Some(line)) = err_lines.next_line().await {
            let mut s = sink.lock().unwrap();
            s.push_str(&line);
            s.push('\n');
        }
    });
    let mut out_lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let url = tokio::time::timeout(Duration::from_secs(60), async {
        while let Ok(Some(line)) = out_lines.next_line().await {
            if let Some((_, url)) = line.split_once("listening on ") {
                return Some(url.trim().to_string());
            }
        }
        None
    })
    .await
    .ok()
    .flatten();
    let Some(url) = url else {
        let _ = child.kill().await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        panic!(
            "catalog-server did not announce its address\n---- stderr ----\n{}",
            stderr.lock().unwrap()
        );
    };
    tokio::spawn(async move { while let Ok(Some(_)) = out_lines.next_line().await {} });
    Process { child, url, stderr }
}

/// Run `crash_scenario.py <args>` and return its RESULT.
async fn pyiceberg(args: &[&str]) -> Value {
    let python = crate::interop::venv_python();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/interop/crash_scenario.py");
    let child = tokio::process::Command::new(&python)
        .arg(&script)
        .args(args)
        .env("PYTHONUNBUFFERED", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", python.display()));
    let out = tokio::time::timeout(Duration::from_secs(300), child.wait_with_output())
        .await
        .expect("crash_scenario.py finished in time")
        .expect("crash_scenario.py ran");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let result = stdout
        .lines()
        .find_map(|l| l.strip_prefix("RESULT "))
        .and_then(|j| serde_json::from_str(j).ok());
    match result {
        Some(v) if out.status.success() => v,
        _ => panic!(
            "crash_scenario.py {args:?} failed ({})\n---- stdout ----\n{stdout}\n---- stderr ----\n{stderr}",
            out.status
        ),
    }
}

/// The ids pyiceberg's rounds append (as in crash_scenario.py).
fn ids_of(rounds: &[i64]) -> Vec<i64> {
    let mut ids: Vec<i64> = rounds
        .iter()
        .flat_map(|r| (0..5).map(move |i| r * 100 + i))
        .collect();
    ids.sort_unstable();
    ids
}

fn ints(v: &Value) -> Vec<i64> {
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .map(|x| x.as_i64().unwrap())
        .collect()
}

/// The `*.metadata.json` files under a table's `metadata/` directory.
fn metadata_files(table_location: &str) -> BTreeSet<String> {
    let dir = PathBuf::from(
        table_location
            .strip_prefix("file://")
            .expect("a file:// table location"),
    )
    .join("metadata");
    std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().ends_with(".metadata.json"))
        .map(|p| format!("file://{}", p.display()))
        .collect()
}

/// The check: crash at `point` on a database of `backend`'s kind, restart, verify.
async fn crash_and_recover(database: TestDatabase, point: FaultPoint) {
    let dir = std::env::temp_dir().join(format!("floe-crash-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let table = point.name().replace('-', "_");
    let fault = format!("{}:{CRASHING_COMMIT}", point.name());

    // 1-2: two acknowledged appends, then the third commit kills the server.
    let mut server = spawn_server(&dir, database.url(), Some(&fault)).await;
    let written = pyiceberg(&[
        "write",
        "--uri",
        &server.url,
        "--namespace",
        "crash",
        "--table",
        &table,
        "--appends",
        "3",
    ])
    .await;
    let status = tokio::time::timeout(Duration::from_secs(30), server.child.wait())
        .await
        .expect("the server died at the crash point")
        .expect("wait for the server");
    let stderr = server.stderr.lock().unwrap().clone();
    assert!(
        !stderr.contains("this build has no fault injection"),
        "the binary the tests spawn lacks the fault-injection feature:\n{stderr}"
    );
    assert!(
        stderr.contains(&format!("aborting the process at {}", point.name())),
        "the server did not abort at {} ({status}); pyiceberg saw {written}\n---- stderr ----\n{stderr}",
        point.name()
    );
    {
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(status.signal(), Some(6), "killed by SIGABRT: {status}");
    }
    assert_eq!(ints(&written["acked"]), vec![0, 1], "{written}");
    let failed = &written["failed"];
    assert_eq!(failed["round"], 2, "{written}");
    assert_ne!(
        failed["type"], "CommitFailedException",
        "the crashed commit is a lost connection, not a 409: {written}"
    );
    println!(
        "{}: the client's crashed append failed with {}: {}",
        point.name(),
        failed["type"],
        failed["error"]
    );

    // 3: restart without the fault.
    let mut server = spawn_server(&dir, database.url(), None).await;
    let url = format!("{}/v1/default/namespaces/crash/tables/{table}", server.url);
    let (s, loaded) = get(&url).await;
    assert_eq!(s, StatusCode::OK, "{loaded}");
    let pointer = loaded["metadata-location"].as_str().unwrap().to_string();
    let md = &loaded["metadata"];
    let snapshots = md["snapshots"].as_array().unwrap().len();
    let landed = point == FaultPoint::AfterPointerSwap;
    assert_eq!(snapshots, if landed { 3 } else { 2 }, "{md}");

    // The pointer names a complete metadata file; list what no pointer or log names.
    let on_disk = metadata_files(md["location"].as_str().unwrap());
    assert!(on_disk.contains(&pointer), "{pointer} not in {on_disk:?}");
    let mut named: BTreeSet<String> = md["metadata-log"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["metadata-file"].as_str().unwrap().to_string())
        .collect();
    named.insert(pointer.clone());
    let orphans: Vec<&String> = on_disk.difference(&named).collect();
    println!(
        "{}: table points at {pointer}; orphan metadata files left by the crash: {orphans:?}",
        point.name()
    );
    if point == FaultPoint::AfterMetadataWrite {
        assert_eq!(
            orphans.len(),
            1,
            "the crashed commit's metadata file: {orphans:?}"
        );
        let orphan = orphans[0];
        assert_ne!(orphan, &pointer);
        // A complete file for a commit that never landed: the crashed append's snapshot.
        let text =
            std::fs::read_to_string(orphan.strip_prefix("file://").unwrap()).expect("orphan");
        let orphan_md: Value = serde_json::from_str(&text).expect("a complete JSON file");
        assert_eq!(orphan_md["snapshots"].as_array().unwrap().len(), 3);
    } else {
        assert!(orphans.is_empty(), "{orphans:?}");
    }

    // 4: pyiceberg reads exactly the acknowledged rounds (and the landed crashed one), and the
    // next append lands.
    let verified = pyiceberg(&[
        "verify",
        "--uri",
        &server.url,
        "--namespace",
        "crash",
        "--table",
        &table,
        "--next-round",
        "3",
    ])
    .await;
    let mut rounds = vec![0, 1];
    if landed {
        rounds.push(2);
    }
    let before = &verified["before"];
    assert_eq!(before["metadata_location"], pointer.as_str(), "{verified}");
    assert_eq!(ints(&before["ids"]), ids_of(&rounds), "{verified}");
    let n = rounds.len();
    assert_eq!(before["chain"].as_array().unwrap().len(), n, "{verified}");
    assert_eq!(before["last_sequence_number"], n, "{verified}");
    assert!(verified["next_failed"].is_null(), "{verified}");
    rounds.push(3);
    let after = &verified["after"];
    assert_eq!(ints(&after["ids"]), ids_of(&rounds), "{verified}");
    let chain = ints(&after["chain"]);
    assert_eq!(chain.len(), n + 1, "one linear history: {verified}");
    let mut seqs: Vec<i64> = after["snapshots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["seq"].as_i64().unwrap())
        .collect();
    seqs.sort_unstable();
    assert_eq!(seqs, (1..=n as i64 + 1).collect::<Vec<_>>(), "{verified}");
    println!(
        "{}: after the restart pyiceberg read rounds {:?} and appended round 3",
        point.name(),
        &rounds[..n]
    );

    // The crashed process held the table's commit lock (PostgreSQL) when it died: the lock
    // went with its connection, so the next commit did not wait for it (it would have waited
    // for the 5 s lock timeout).
    let metrics = reqwest::get(format!("{}/metrics", server.url))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let queued: f64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("floe_commit_phase_seconds_sum{phase=\"queue\"} "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no queue phase in\n{metrics}"));
    assert!(
        queued < 4.0,
        "the commit after the restart waited {queued}s for its turn"
    );

    let _ = server.child.kill().await;
    let _ = server.child.wait().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn crash_before_metadata_write_sqlite() {
    crash_and_recover(TestDatabase::sqlite(), FaultPoint::BeforeMetadataWrite).await;
}

#[tokio::test]
async fn crash_after_metadata_write_sqlite() {
    crash_and_recover(TestDatabase::sqlite(), FaultPoint::AfterMetadataWrite).await;
}

#[tokio::test]
async fn crash_after_pointer_swap_sqlite() {
    crash_and_recover(TestDatabase::sqlite(), FaultPoint::AfterPointerSwap).await;
}

#[tokio::test]
async fn crash_before_metadata_write_postgres() {
    crash_and_recover(
        TestDatabase::postgres_required().await,
        FaultPoint::BeforeMetadataWrite,
    )
    .await;
}

#[tokio::test]
async fn crash_after_metadata_write_postgres() {
    crash_and_recover(
        TestDatabase::postgres_required().await,
        FaultPoint::AfterMetadataWrite,
    )
    .await;
}

#[tokio::test]
async fn crash_after_pointer_swap_postgres() {
    crash_and_recover(
        TestDatabase::postgres_required().await,
        FaultPoint::AfterPointerSwap,
    )
    .await;
}
