//! The Docker Compose deployment, checked without Docker (the test machines have no engine):
//! the catalog configuration inlined in `docker-compose.yml` (`configs: floe-config`) must parse
//! as a configuration file, and, with its MinIO addresses pointed at a moto server, the
//! README's "Run with Docker Compose" pyiceberg snippet must work against it as written (only
//! the catalog URL changes), with no S3 settings on the client side.
//!
//! `scripts/test.sh` validates the compose file itself with `docker-compose config`.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use catalog_server::config::{Args, Config};
use catalog_server::store::StorageConfig;
use reqwest::StatusCode;

use crate::common::{TestServer, get};
use crate::interop::venv_python;
use crate::s3::Moto;

const SNIPPET_TIMEOUT: Duration = Duration::from_secs(300);

fn repo_file(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// The `content: |` block of the compose file's `floe-config` config, dedented.
fn compose_catalog_config() -> String {
    let compose = repo_file("docker-compose.yml");
    let mut lines = compose.lines();
    lines
        .by_ref()
        .find(|l| l.trim_end() == "  floe-config:")
        .expect("docker-compose.yml has configs: floe-config");
    lines
        .by_ref()
        .find(|l| l.trim() == "content: |")
        .expect("floe-config has an inline `content: |`");
    let block: Vec<&str> = lines
        .take_while(|l| l.trim().is_empty() || l.starts_with("      "))
        .collect();
    let text: Vec<&str> = block.iter().map(|l| l.get(6..).unwrap_or("")).collect();
    let text = text.join("\n");
    assert!(
        text.contains("[[warehouses]]"),
        "no warehouses in floe-config:\n{text}"
    );
    text
}

/// The ```python block of the README section "Run with Docker Compose".
fn readme_compose_snippet() -> String {
    let readme = repo_file("README.md");
    let section = readme
        .split("\n## Run with Docker Compose\n")
        .nth(1)
        .expect("README has a section \"Run with Docker Compose\"");
    let section = section.split("\n## ").next().unwrap_or(section);
    let code = section
        .split("```python\n")
        .nth(1)
        .and_then(|rest| rest.split("\n```").next())
        .expect("the section has a ```python block");
    code.to_string()
}

fn resolve(toml: &str) -> Config {
    let dir = std::env::temp_dir().join(format!("floe-deploy-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("floe.toml");
    std::fs::write(&file, toml).expect("write the config");
    let config = Config::resolve(Args {
        config: Some(file),
        ..Args::default()
    });
    let _ = std::fs::remove_dir_all(&dir);
    config.unwrap_or_else(|e| panic!("the compose file's catalog configuration: {e}\n{toml}"))
}

#[test]
fn compose_catalog_config_declares_the_lake_warehouse_on_minio() {
    let config = resolve(&compose_catalog_config());
    assert_eq!(config.warehouses.len(), 1, "{:?}", config.warehouses);
    let w = &config.warehouses[0];
    assert_eq!(w.name, "lake");
    let StorageConfig::S3 {
        location,
        endpoint,
        client_endpoint,
        path_style_access,
        access_key_id,
        secret_access_key,
        ..
    } = &w.storage
    else {
        panic!("lake is not an s3 warehouse: {:?}", w.storage);
    };
    assert_eq!(location, "s3://floe/lake");
    assert_eq!(endpoint.as_deref(), Some("http://minio:9000"));
    assert_eq!(client_endpoint.as_deref(), Some("http://localhost:9000"));
    assert!(*path_style_access);
    assert!(access_key_id.is_some() && secret_access_key.is_some());
    let compose = repo_file("docker-compose.yml");
    for needle in [
        "mc mb --ignore-existing local/floe",
        "FLOE_LISTEN: 0.0.0.0:8181",
        "FLOE_AUTH: oauth2",
        "FLOE_DATABASE_URL: postgres://",
        "\"8181:8181\"",
        "\"9000:9000\"",
    ] {
        assert!(
            compose.contains(needle),
            "docker-compose.yml lacks {needle}"
        );
    }
}

#[tokio::test]
async fn readme_compose_snippet_works_against_the_compose_catalog_config() {
    let python = venv_python();
    let venv_bin = python.parent().expect("venv bin").to_path_buf();
    let moto = Moto::start(&venv_bin);
    // The compose network's names become moto's address; everything else is as shipped.
    let toml = compose_catalog_config()
        .replace("http://minio:9000", &moto.endpoint)
        .replace(
            "http://localhost:9000",
            &format!("http://localhost:{}", moto.port),
        );
    let warehouses = resolve(&toml).warehouses;
    // The compose file's authentication settings, as shipped.
    let compose = repo_file("docker-compose.yml");
    let env = |key: &str| {
        compose
            .lines()
            .find_map(|l| l.trim().strip_prefix(&format!("{key}: ")))
            .unwrap_or_else(|| panic!("docker-compose.yml sets no {key}"))
            .to_string()
    };
    assert_eq!(env("FLOE_AUTH"), "oauth2");
    let root = (env("FLOE_ROOT_CLIENT_ID"), env("FLOE_ROOT_CLIENT_SECRET"));
    let server = TestServer::start_with(|c| {
        c.warehouses = warehouses;
        c.auth = catalog_server::auth::AuthMode::Oauth2;
        c.root_credentials = Some(root.clone());
    })
    .await;
    let token = crate::auth::token(&server, &root.0, &root.1).await;
    let (status, body) = crate::auth::call(
        reqwest::Method::GET,
        &format!("{}/v1/config?warehouse=lake", server.url()),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = crate::auth::call(
        reqwest::Method::GET,
        &format!("{}/v1/config", server.url()),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "no `default` warehouse when the file names warehouses: {body}"
    );
    let (status, _) = get(&format!("{}/v1/config?warehouse=lake", server.url())).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "the compose catalog needs a token"
    );

    let snippet = readme_compose_snippet();
    assert!(
        snippet.contains("uri=\"http://localhost:8181\""),
        "the snippet names the compose catalog's address:\n{snippet}"
    );
    let snippet = snippet.replace("http://localhost:8181", server.url());
    let work = std::env::temp_dir().join(format!("floe-deploy-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&work).expect("work dir");
    let snippet_file: PathBuf = work.join("snippet.py");
    std::fs::write(&snippet_file, &snippet).expect("write the snippet");
    // minio-init's job (the bucket), then the README's code exactly.
    let driver = "import sys, boto3\n\
                  boto3.client('s3', endpoint_url=sys.argv[1], region_name='us-east-1',\n\
                  aws_access_key_id='floe', aws_secret_access_key='floe-secret-key')\
                  .create_bucket(Bucket='floe')\n\
                  exec(compile(open(sys.argv[2]).read(), 'README snippet', 'exec'))\n";
    let mut cmd = tokio::process::Command::new(&python);
    cmd.arg("-c")
        .arg(driver)
        .arg(&moto.endpoint)
        .arg(&snippet_file)
        .env("HOME", &work)
        .env("PYTHONUNBUFFERED", "1")
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
    let child = cmd.spawn().expect("start python");
    let output = tokio::time::timeout(SNIPPET_TIMEOUT, child.wait_with_output())
        .await
        .expect("the README snippet finished in time")
        .expect("the README snippet ran");
    let _ = std::fs::remove_dir_all(&work);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the README snippet failed ({}):\n{snippet}\n---- stdout ----\n{stdout}\n---- stderr ----\n{stderr}\n---- moto ----\n{}",
        output.status,
        moto.log_text()
    );
    assert!(
        stdout.contains("{'id': 1, 'name': 'a'}") && stdout.contains("{'id': 3, 'name': 'c'}"),
        "the snippet printed its rows: {stdout}"
    );
    drop(server);
    drop(moto);
}
