//! A warehouse on S3, end to end: moto's S3 server, an in-process catalog server, and
//! pyiceberg 0.12 and DuckDB 1.5.5 running `tests/interop/s3_scenario.py`.
//!
//! The test starts `moto_server` from the interop venv on a free port (stopped by a guard, also
//! when the test panics), creates the warehouse through `POST /management/v1/warehouses`
//! (type s3, path-style, keys `test`/`test`), then runs the scenario with an environment that
//! holds no AWS settings and a fresh `HOME` (no `~/.aws`, no `~/.pyiceberg.yaml`): whatever the
//! clients know about S3 comes from the catalog. The scenario creates the bucket, writes with
//! both clients, reads the same rows with both, and checks that a drop keeps the objects and a
//! purge removes them. A second warehouse with a `client-endpoint` checks that clients are
//! told that address while the server writes through its own `endpoint`.
//!
//! A missing venv or `moto_server` is a test FAILURE, never a skip (scripts/interop-venv.sh
//! installs both). Run only this: `cargo test -p catalog-server --test it s3 -- --nocapture`.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;

use crate::common::{TestServer, get, post};
use crate::interop::venv_python;

/// Upper bound for the scenario (DuckDB loads a 50 MB extension first).
const SCENARIO_TIMEOUT: Duration = Duration::from_secs(900);

/// A running `moto_server`, killed (and reaped) when dropped.
pub struct Moto {
    child: Child,
    /// `http://127.0.0.1:<port>`.
    pub endpoint: String,
    /// The port it listens on.
    pub port: u16,
    log: PathBuf,
}

impl Moto {
    /// Start `moto_server` from the venv's `bin` directory and wait until it listens.
    pub fn start(venv_bin: &Path) -> Moto {
        let exe = venv_bin.join("moto_server");
        assert!(
            exe.exists(),
            "moto_server not found at {}; create the venv with scripts/interop-venv.sh \
             (moto[server] is in tests/interop/requirements.txt). This test never skips.",
            exe.display()
        );
        let port = free_port();
        let log = std::env::temp_dir().join(format!("floe-moto-{}.log", uuid::Uuid::new_v4()));
        let out = std::fs::File::create(&log).expect("moto log file");
        let err = out.try_clone().expect("moto log file");
        let child = Command::new(&exe)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", exe.display()));
        let mut moto = Moto {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
            port,
            log,
        };
        moto.wait_ready(SocketAddr::from(([127, 0, 0, 1], port)));
        moto
    }

    fn wait_ready(&mut self, addr: SocketAddr) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "moto_server exited ({status}) before listening on {addr}:\n{}",
                    self.log_text()
                );
            }
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "moto_server did not listen on {addr} within 60 s:\n{}",
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// What moto printed so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free local port")
}

/// pyiceberg creates and appends, DuckDB attaches and inserts, both read the same rows, and
/// drop/purge keep/remove the table's objects, all with no client-side S3 settings.
#[tokio::test]
async fn s3_warehouse_end_to_end_with_moto() {
    let python = venv_python();
    let venv_bin = python.parent().expect("venv bin directory").to_path_buf();
    let moto = Moto::start(&venv_bin);
    let server = TestServer::start().await;

    let bucket = format!("floe-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    let warehouse = "lake";
    let url = format!("{}/management/v1/warehouses", server.url());
    let (status, body) = post(
        &url,
        &json!({
            "name": warehouse,
            "storage": {
                "type": "s3",
                "location": format!("s3://{bucket}/warehouse"),
                "endpoint": moto.endpoint,
                "region": "us-east-1",
                "path-style-access": true,
                "access-key-id": "test",
                "secret-access-key": "test"
            }
        }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(
        body["storage"]["secret-access-key"], "********",
        "the management API never shows the secret: {body}"
    );
    let (status, body) = get(&format!("{url}/{warehouse}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["storage"]["type"], "s3", "{body}");

    let home = std::env::temp_dir().join(format!("floe-s3-home-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&home).expect("temporary HOME");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/interop/s3_scenario.py");
    assert!(script.exists(), "missing {}", script.display());
    let mut cmd = tokio::process::Command::new(&python);
    cmd.arg(&script)
        .args(["--uri", server.url()])
        .args(["--warehouse", warehouse])
        .args(["--s3-endpoint", &moto.endpoint])
        .args(["--bucket", &bucket])
        .args(["--prefix", "warehouse"])
        .env("PYTHONUNBUFFERED", "1")
        .env("HOME", &home)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for (key, _) in std::env::vars_os() {
        let k = key.to_string_lossy();
        if k.starts_with("AWS_") || k.starts_with("PYICEBERG_") {
            cmd.env_remove(&key);
        }
    }
    let child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", python.display()));
    let output = match tokio::time::timeout(SCENARIO_TIMEOUT, child.wait_with_output()).await {
        Ok(out) => out.expect("waiting for s3_scenario.py"),
        Err(_) => panic!("s3_scenario.py did not finish within {SCENARIO_TIMEOUT:?}"),
    };
    let _ = std::fs::remove_dir_all(&home);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let summary = stdout
        .lines()
        .rev()
        .find(|l| l.starts_with("SUMMARY "))
        .unwrap_or("(no SUMMARY line)");
    assert!(
        output.status.success(),
        "s3_scenario.py failed ({}; {summary}) against {} and moto at {}\n\
         ---- stdout ----\n{stdout}\n---- stderr ----\n{stderr}\n---- moto ----\n{}",
        output.status,
        server.url(),
        moto.endpoint,
        moto.log_text(),
    );
    println!("{stdout}");

    client_endpoint_is_what_clients_get(&server, &moto, &bucket).await;
    drop(server);
    drop(moto);
}

/// A warehouse whose clients reach the store at another address (`client-endpoint`, as in
/// Docker Compose): the server writes through `endpoint`, and every answer that tells clients
/// where the store is (loadTable, create, credentials, `/v1/config`) names `client-endpoint`.
async fn client_endpoint_is_what_clients_get(server: &TestServer, moto: &Moto, bucket: &str) {
    let client_endpoint = "http://s3.clients.invalid:9000";
    let url = format!("{}/management/v1/warehouses", server.url());
    let (status, body) = post(
        &url,
        &json!({
            "name": "proxied",
            "storage": {
                "type": "s3",
                "location": format!("s3://{bucket}/proxied"),
                "endpoint": moto.endpoint,
                "client-endpoint": client_endpoint,
                "region": "us-east-1",
                "path-style-access": true,
                "access-key-id": "test",
                "secret-access-key": "test"
            }
        }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(
        body["storage"]["client-endpoint"], client_endpoint,
        "{body}"
    );

    let base = format!("{}/v1/proxied", server.url());
    let (status, body) = post(&format!("{base}/namespaces"), &json!({"namespace": ["ns"]})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, created) = post(
        &format!("{base}/namespaces/ns/tables"),
        &json!({"name": "t", "schema": crate::common::schema()}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let metadata_location = created["metadata-location"]
        .as_str()
        .expect("metadata-location");
    assert!(
        metadata_location.starts_with(&format!("s3://{bucket}/proxied/")),
        "{metadata_location}"
    );
    let service = &server.state().service;
    let wh = service.warehouse("proxied").await.expect("warehouse");
    let io = service.file_io(&wh).expect("file io");
    assert!(
        io.exists(metadata_location).await.expect("stat on moto"),
        "the server wrote {metadata_location} through its own endpoint"
    );

    let (status, loaded) = get(&format!("{base}/namespaces/ns/tables/t")).await;
    assert_eq!(status, StatusCode::OK, "{loaded}");
    let (status, creds) = get(&format!("{base}/namespaces/ns/tables/t/credentials")).await;
    assert_eq!(status, StatusCode::OK, "{creds}");
    let (status, config) = get(&format!("{}/v1/config?warehouse=proxied", server.url())).await;
    assert_eq!(status, StatusCode::OK, "{config}");
    for (what, props) in [
        ("create", &created["config"]),
        ("loadTable", &loaded["config"]),
        ("credentials", &creds["storage-credentials"][0]["config"]),
        ("/v1/config", &config["defaults"]),
    ] {
        assert_eq!(props["s3.endpoint"], client_endpoint, "{what}: {props}");
        assert_eq!(props["s3.path-style-access"], "true", "{what}: {props}");
        assert_eq!(props["s3.access-key-id"], "test", "{what}: {props}");
    }

    let r = crate::common::client()
        .delete(format!("{base}/namespaces/ns/tables/t?purgeRequested=true"))
        .send()
        .await
        .expect("drop");
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert!(
        !io.exists(metadata_location).await.expect("stat on moto"),
        "the purge went through the server's endpoint"
    );
}
