//! Real clients against the REST catalog: pyiceberg 0.12 and DuckDB 1.5.5 (iceberg extension)
//! run the scenarios of `tests/interop/rest_scenarios.py` against an in-process server
//! (`pyiceberg`, `duckdb`, `race`, and `contention`: 16 appender processes, with and without
//! server-side rebasing of stale appends).
//!
//! Each test starts its own `TestServer` (fresh data dir), then runs one scenario with the interop
//! venv's python and asserts that it exits 0. The script prints one `PASS`/`FAIL` line per check
//! and a closing `SUMMARY` line; on failure the whole output is part of the panic message.
//!
//! Python comes from `$FLOE_VENV/bin/python` (scripts/test.sh sets FLOE_VENV), else from
//! `~/.cache/floe-venv/bin/python` (where scripts/interop-venv.sh puts the venv). A missing python
//! is a test FAILURE, never a skip: create the venv with `scripts/interop-venv.sh`.
//!
//! Run only these: `cargo test -p catalog-server --test it interop -- --nocapture`.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use catalog_server::testing::TestServer;

/// Upper bound for one scenario (the pyiceberg one makes a few hundred requests and writes
/// a few dozen small files; DuckDB loads a 50 MB extension first).
const SCENARIO_TIMEOUT: Duration = Duration::from_secs(900);

/// The interop venv's python. Panics (fails the test) when it is missing.
pub fn venv_python() -> PathBuf {
    let venv = match std::env::var_os("FLOE_VENV") {
        Some(v) if !v.is_empty() => PathBuf::from(v),
        _ => {
            let home =
                std::env::var_os("HOME").expect("HOME is set (needed to find ~/.cache/floe-venv)");
            Path::new(&home).join(".cache/floe-venv")
        }
    };
    let python = venv.join("bin/python");
    assert!(
        python.exists(),
        "interop python not found at {} (FLOE_VENV={:?}); create the venv with scripts/interop-venv.sh \
         or point FLOE_VENV at it. These tests never skip.",
        python.display(),
        std::env::var_os("FLOE_VENV"),
    );
    python
}

fn scenario_script() -> PathBuf {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/interop/rest_scenarios.py");
    assert!(script.exists(), "missing {}", script.display());
    script
}

/// Start a server, run `rest_scenarios.py <scenario> --uri <url> [extra...]`, assert exit 0.
async fn run_scenario(scenario: &str, extra: &[&str], with_data_dir: bool) {
    let server = TestServer::start().await;
    let mut args: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
    if with_data_dir {
        args.push("--warehouse-dir".into());
        args.push(server.data_dir().display().to_string());
    }
    run_scenario_against(scenario, server.url(), &args).await;
    drop(server);
}

/// Run `rest_scenarios.py <scenario> --uri <url> [args...]` against a running server, assert
/// exit 0, and return its stdout.
pub async fn run_scenario_against(scenario: &str, url: &str, args: &[String]) -> String {
    let python = venv_python();
    let script = scenario_script();
    let mut cmd = tokio::process::Command::new(&python);
    cmd.arg(&script)
        .arg(scenario)
        .arg("--uri")
        .arg(url)
        .args(args)
        .env("PYTHONUNBUFFERED", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", python.display()));

    let output = match tokio::time::timeout(SCENARIO_TIMEOUT, child.wait_with_output()).await {
        Ok(out) => {
            out.unwrap_or_else(|e| panic!("waiting for the {scenario} scenario failed: {e}"))
        }
        // Dropping the future drops the child, which kills it (kill_on_drop).
        Err(_) => panic!(
            "the {scenario} scenario did not finish within {SCENARIO_TIMEOUT:?} (server {url})"
        ),
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let summary = stdout
        .lines()
        .rev()
        .find(|l| l.starts_with("SUMMARY "))
        .unwrap_or("(no SUMMARY line)")
        .to_string();
    assert!(
        output.status.success(),
        "rest_scenarios.py {scenario} failed ({}; {summary}) against {url}\n\
         ---- stdout ----\n{stdout}\n---- stderr ----\n{stderr}",
        output.status,
    );
    // Success: show the per-check lines with --nocapture.
    println!("{stdout}");
    println!("{summary}");
    stdout.into_owned()
}

/// Namespaces, a partitioned table through appends/overwrite/delete/schema and partition
/// evolution, renames, drop with and without purge, register, pagination, ETag/304 and
/// malformed requests.
#[tokio::test]
async fn interop_pyiceberg_scenario() {
    run_scenario("pyiceberg", &[], true).await;
}

/// DuckDB's iceberg extension over REST (stage-create, transactions/commit, position deletes);
/// pyiceberg must see exactly DuckDB's rows after every statement.
#[tokio::test]
async fn interop_duckdb_scenario() {
    run_scenario("duckdb", &[], false).await;
}

/// Two pyiceberg writers without client retries race 20 appends each: every acknowledged
/// append is in the table, nothing else is, and there is one snapshot per acknowledgement.
#[tokio::test]
async fn interop_concurrent_appends_race() {
    run_scenario("race", &["--rounds", "20"], false).await;
}

/// Contention without losers: 16 pyiceberg appender processes (client retries off), 20
/// appends each, to one table. The server rebases every stale append, so all 320 land; the
/// row count and id checksum are exact for pyiceberg and DuckDB, and the history is linear
/// with strictly increasing sequence numbers. The scenario prints the share of attempts that
/// landed.
#[tokio::test]
async fn interop_contention_16_appenders_all_land() {
    let _turn = crate::common::MANY_CLIENTS.lock().await;
    run_scenario(
        "contention",
        &[
            "--writers",
            "16",
            "--rounds",
            "20",
            "--rebase",
            "on",
            "--duckdb",
        ],
        false,
    )
    .await;
}

/// The same 16 appenders with `floe.commit.rebase-appends=false`: the losers get 409
/// (CommitFailedException) and every acknowledged append is still there, nothing else.
#[tokio::test]
async fn interop_contention_16_appenders_without_rebase() {
    let _turn = crate::common::MANY_CLIENTS.lock().await;
    run_scenario(
        "contention",
        &["--writers", "16", "--rounds", "20", "--rebase", "off"],
        false,
    )
    .await;
}

/// spec/openapi.yaml against the running server: schemathesis generates requests for every
/// documented operation and fails on any 5xx or any response the document does not allow.
#[tokio::test]
async fn openapi_document_holds_under_schemathesis() {
    let python = venv_python();
    let venv = python
        .parent()
        .and_then(Path::parent)
        .expect("venv of the interop python")
        .to_path_buf();
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/interop/schemathesis_check.sh");
    let server = TestServer::start().await;
    let child = tokio::process::Command::new("bash")
        .arg(&script)
        .env("FLOE_URL", server.url())
        .env("FLOE_VENV", &venv)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", script.display()));
    let output = tokio::time::timeout(SCENARIO_TIMEOUT, child.wait_with_output())
        .await
        .expect("schemathesis finished in time")
        .expect("schemathesis ran");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "schemathesis found responses that break spec/openapi.yaml ({})\n---- stdout ----\n{stdout}\n---- stderr ----\n{stderr}",
        output.status
    );
    println!("{stdout}");
}
