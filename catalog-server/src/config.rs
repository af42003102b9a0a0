//! Server configuration: CLI flags, `FLOE_*` environment variables and a TOML file.
//!
//! - [`Args`]: the clap definition (`catalog-server --help` shows every setting and its
//!   environment variable), with the [`Command`] to run (serve by default, or `migrate`).
//! - [`FileConfig`]: the same settings as a TOML file (`--config`/`FLOE_CONFIG`).
//! - [`Config`]: the resolved settings. Precedence: flag, then environment, then file, then
//!   the zero-configuration defaults (127.0.0.1:8181, `./floe-data`, SQLite inside it).
//! - [`WarehouseConfig`]: a `[[warehouses]]` entry of the file, created at start when the
//!   catalog has no warehouse of that name (file only: it has no flag).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use std::time::Duration;

use clap::{Parser, Subcommand};
use serde::Deserialize;

use crate::auth::AuthMode;
use crate::store::{DEFAULT_ACQUIRE_TIMEOUT, PoolSettings, StorageConfig};

/// Default listen address.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8181";
/// Default request body limit (16 MiB).
pub const DEFAULT_MAX_BODY_BYTES: usize = 16 * 1024 * 1024;
/// Default of [`Config::maintenance_poll`].
pub const DEFAULT_MAINTENANCE_POLL: Duration = Duration::from_secs(10);
/// Default of [`Config::maintenance_lease`].
pub const DEFAULT_MAINTENANCE_LEASE: Duration = Duration::from_secs(600);

/// Floe's Iceberg REST catalog server.
///
/// Settings are accepted before or after the command (`catalog-server migrate
/// --database-url ...`).
#[derive(Debug, Clone, Default, Parser)]
#[command(name = "catalog-server", version, about, long_about = None)]
pub struct Args {
    /// What to do [default: serve]
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Address to listen on [default: 127.0.0.1:8181; port 0 picks a free port]
    #[arg(long, env = "FLOE_LISTEN", global = true)]
    pub listen: Option<SocketAddr>,
    /// Directory for the SQLite catalog and the `default` warehouse [default: ./floe-data]
    #[arg(long, env = "FLOE_DATA_DIR", global = true)]
    pub data_dir: Option<PathBuf>,
    /// Catalog database URL: sqlite://PATH or postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE
    /// [default: sqlite://<data-dir>/catalog.db]
    #[arg(long, env = "FLOE_DATABASE_URL", global = true)]
    pub database_url: Option<String>,
    /// Most database connections open at once [default: 16 on PostgreSQL, 8 on SQLite]
    #[arg(long, env = "FLOE_DB_MAX_CONNECTIONS", global = true)]
    pub db_max_connections: Option<u32>,
    /// Seconds a request waits for a free database connection before it fails [default: 10]
    #[arg(long, env = "FLOE_DB_ACQUIRE_TIMEOUT_SECS", global = true)]
    pub db_acquire_timeout_secs: Option<u64>,
    /// TOML configuration file with any of these settings (kebab-case keys)
    #[arg(long, env = "FLOE_CONFIG", global = true)]
    pub config: Option<PathBuf>,
    /// Largest accepted request body, in bytes [default: 16777216]
    #[arg(long, env = "FLOE_MAX_BODY_BYTES", global = true)]
    pub max_body_bytes: Option<usize>,
    /// Parsed loadTable responses kept in memory [default: 1024]
    #[arg(long, env = "FLOE_METADATA_CACHE_ENTRIES", global = true)]
    pub metadata_cache_entries: Option<usize>,
    /// How often the server retries a commit that lost a race, when the client's
    /// requirements still hold on the new head [default: 8]
    #[arg(long, env = "FLOE_COMMIT_RETRIES", global = true)]
    pub commit_retries: Option<u32>,
    /// Log filter (tracing EnvFilter syntax) [default: info]
    #[arg(long, env = "FLOE_LOG", global = true)]
    pub log: Option<String>,
    /// Authentication: `none` (every request acts as root; loopback addresses only) or
    /// `oauth2` (bearer tokens from /v1/oauth/tokens) [default: none]
    #[arg(long, env = "FLOE_AUTH", global = true, value_enum)]
    pub auth: Option<AuthMode>,
    /// The root principal's client id (with `--auth oauth2`; generated and printed once at
    /// the first start when unset)
    #[arg(
        long,
        env = "FLOE_ROOT_CLIENT_ID",
        global = true,
        hide_env_values = true
    )]
    pub root_client_id: Option<String>,
    /// The root principal's client secret (prefer the environment variable to the flag)
    #[arg(
        long,
        env = "FLOE_ROOT_CLIENT_SECRET",
        global = true,
        hide_env_values = true
    )]
    pub root_client_secret: Option<String>,
    /// Lifetime of issued tokens, in seconds [default: 3600]
    #[arg(long, env = "FLOE_TOKEN_TTL_SECS", global = true)]
    pub token_ttl_secs: Option<u64>,
    /// Also accept tokens from this OIDC issuer (its `iss`)
    #[arg(long, env = "FLOE_OIDC_ISSUER", global = true)]
    pub oidc_issuer: Option<String>,
    /// The OIDC issuer's keys: a JWKS file path or an http(s) URL
    #[arg(long, env = "FLOE_OIDC_JWKS", global = true)]
    pub oidc_jwks: Option<String>,
    /// The audience OIDC tokens must name (unchecked when unset)
    #[arg(long, env = "FLOE_OIDC_AUDIENCE", global = true)]
    pub oidc_audience: Option<String>,
    /// The OIDC claim holding the principal's name [default: sub]
    #[arg(long, env = "FLOE_OIDC_PRINCIPAL_CLAIM", global = true)]
    pub oidc_principal_claim: Option<String>,
    /// How often the maintenance worker looks for due schedules and queued tasks, in
    /// milliseconds; 0 turns this process's worker off [default: 10000]
    #[arg(long, env = "FLOE_MAINTENANCE_POLL_MS", global = true)]
    pub maintenance_poll_ms: Option<u64>,
    /// How long a worker's claim on a task holds without renewal, in seconds; another
    /// worker takes the task over after that [default: 600]
    #[arg(long, env = "FLOE_MAINTENANCE_LEASE_SECS", global = true)]
    pub maintenance_lease_secs: Option<u64>,
}

/// The binary's commands.
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum Command {
    /// Serve the catalog (also what runs when no command is given)
    Serve,
    /// Bring the catalog database to the newest schema, then exit (serving does this too)
    Migrate,
    /// Administer a running catalog over its HTTP API: principals and grants
    Admin(Box<crate::admin::AdminArgs>),
}

/// The TOML file's settings (all optional).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct FileConfig {
    /// See [`Args::listen`].
    pub listen: Option<SocketAddr>,
    /// See [`Args::data_dir`].
    pub data_dir: Option<PathBuf>,
    /// See [`Args::database_url`].
    pub database_url: Option<String>,
    /// See [`Args::db_max_connections`].
    pub db_max_connections: Option<u32>,
    /// See [`Args::db_acquire_timeout_secs`].
    pub db_acquire_timeout_secs: Option<u64>,
    /// See [`Args::max_body_bytes`].
    pub max_body_bytes: Option<usize>,
    /// See [`Args::metadata_cache_entries`].
    pub metadata_cache_entries: Option<usize>,
    /// See [`Args::commit_retries`].
    pub commit_retries: Option<u32>,
    /// See [`Args::log`].
    pub log: Option<String>,
    /// See [`Args::auth`].
    pub auth: Option<AuthMode>,
    /// See [`Args::token_ttl_secs`].
    pub token_ttl_secs: Option<u64>,
    /// See [`Args::oidc_issuer`].
    pub oidc_issuer: Option<String>,
    /// See [`Args::oidc_jwks`].
    pub oidc_jwks: Option<String>,
    /// See [`Args::oidc_audience`].
    pub oidc_audience: Option<String>,
    /// See [`Args::oidc_principal_claim`].
    pub oidc_principal_claim: Option<String>,
    /// See [`Args::maintenance_poll_ms`].
    pub maintenance_poll_ms: Option<u64>,
    /// See [`Args::maintenance_lease_secs`].
    pub maintenance_lease_secs: Option<u64>,
    /// Warehouses to create at start when missing (`[[warehouses]]` tables).
    #[serde(default)]
    pub warehouses: Vec<WarehouseConfig>,
}

/// A warehouse named in the configuration file, in the shape of the management API's
/// `POST /management/v1/warehouses` body:
///
/// ```toml
/// [[warehouses]]
/// name = "lake"
/// [warehouses.storage]
/// type = "s3"
/// location = "s3://floe/lake"
/// endpoint = "http://minio:9000"
/// region = "us-east-1"
/// path-style-access = true
/// access-key-id = "..."
/// secret-access-key = "..."
/// ```
///
/// At start the server creates each one the catalog does not have yet; one that exists keeps
/// its stored settings (a difference is logged). When the file names warehouses, the
/// zero-configuration `default` file warehouse is not created.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WarehouseConfig {
    /// The warehouse name (the REST prefix clients use).
    pub name: String,
    /// Where its files go.
    pub storage: StorageConfig,
}

/// The resolved configuration the server runs with.
#[derive(Debug, Clone)]
pub struct Config {
    /// Listen address.
    pub listen: SocketAddr,
    /// Data directory (created on start).
    pub data_dir: PathBuf,
    /// Catalog database URL.
    pub database_url: String,
    /// Database pool size; `None` takes the backend's default.
    pub db_max_connections: Option<u32>,
    /// How long a request waits for a database connection.
    pub db_acquire_timeout: Duration,
    /// Request body limit in bytes.
    pub max_body_bytes: usize,
    /// loadTable response cache size (entries).
    pub metadata_cache_entries: usize,
    /// Server-side commit retries after a lost race.
    pub commit_retries: u32,
    /// Log filter.
    pub log: String,
    /// Warehouses created at start when missing.
    pub warehouses: Vec<WarehouseConfig>,
    /// Authentication mode.
    pub auth: AuthMode,
    /// Root credentials from the environment (client id, secret), if given.
    pub root_credentials: Option<(String, String)>,
    /// Lifetime of issued tokens.
    pub token_ttl: Duration,
    /// An external OIDC issuer whose tokens are accepted.
    pub oidc: Option<OidcConfig>,
    /// How often the maintenance worker runs a round; zero turns it off.
    pub maintenance_poll: Duration,
    /// How long a claim on a maintenance task holds without renewal.
    pub maintenance_lease: Duration,
}

/// An external OIDC issuer (see [`Args::oidc_issuer`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcConfig {
    /// The tokens' `iss`.
    pub issuer: String,
    /// JWKS file path or URL.
    pub jwks: String,
    /// Required audience, if any.
    pub audience: Option<String>,
    /// The claim naming the principal.
    pub principal_claim: String,
}

impl Config {
    /// Zero-configuration defaults rooted at `data_dir`.
    pub fn with_data_dir(data_dir: impl Into<PathBuf>) -> Self {
        let data_dir = data_dir.into();
        Self {
            listen: DEFAULT_LISTEN
                .parse()
                .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 8181))),
            database_url: sqlite_url(&data_dir),
            db_max_connections: None,
            db_acquire_timeout: DEFAULT_ACQUIRE_TIMEOUT,
            data_dir,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            metadata_cache_entries: 1024,
            commit_retries: 8,
            log: "info".into(),
            warehouses: Vec::new(),
            auth: AuthMode::None,
            root_credentials: None,
            token_ttl: Duration::from_secs(3600),
            oidc: None,
            maintenance_poll: DEFAULT_MAINTENANCE_POLL,
            maintenance_lease: DEFAULT_MAINTENANCE_LEASE,
        }
    }

    /// Resolve flags and environment (already merged by clap) over the file over defaults.
    pub fn resolve(args: Args) -> Result<Self, String> {
        let file = match &args.config {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| format!("cannot read config file {}: {e}", path.display()))?;
                toml::from_str::<FileConfig>(&text)
                    .map_err(|e| format!("invalid config file {}: {e}", path.display()))?
            }
            None => FileConfig::default(),
        };
        let data_dir = args
            .data_dir
            .or(file.data_dir)
            .unwrap_or_else(|| PathBuf::from("floe-data"));
        let mut c = Self::with_data_dir(data_dir);
        if let Some(l) = args.listen.or(file.listen) {
            c.listen = l;
        }
        if let Some(u) = args.database_url.or(file.database_url) {
            c.database_url = u;
        }
        if let Some(n) = args.db_max_connections.or(file.db_max_connections) {
            if n == 0 {
                return Err("db-max-connections must be at least 1".into());
            }
            c.db_max_connections = Some(n);
        }
        if let Some(s) = args
            .db_acquire_timeout_secs
            .or(file.db_acquire_timeout_secs)
        {
            c.db_acquire_timeout = Duration::from_secs(s);
        }
        if let Some(n) = args.max_body_bytes.or(file.max_body_bytes) {
            c.max_body_bytes = n;
        }
        if let Some(n) = args.metadata_cache_entries.or(file.metadata_cache_entries) {
            c.metadata_cache_entries = n;
        }
        if let Some(n) = args.commit_retries.or(file.commit_retries) {
            c.commit_retries = n;
        }
        if let Some(l) = args.log.or(file.log) {
            c.log = l;
        }
        if let Some(a) = args.auth.or(file.auth) {
            c.auth = a;
        }
        c.root_credentials = match (args.root_client_id, args.root_client_secret) {
            (Some(id), Some(secret)) if !id.is_empty() && !secret.is_empty() => Some((id, secret)),
            (None, None) => None,
            _ => {
                return Err(
                    "set both FLOE_ROOT_CLIENT_ID and FLOE_ROOT_CLIENT_SECRET, or neither".into(),
                );
            }
        };
        if let Some(t) = args.token_ttl_secs.or(file.token_ttl_secs) {
            if t == 0 {
                return Err("token-ttl-secs must be at least 1".into());
            }
            c.token_ttl = Duration::from_secs(t);
        }
        let issuer = args.oidc_issuer.or(file.oidc_issuer);
        let jwks = args.oidc_jwks.or(file.oidc_jwks);
        c.oidc = match (issuer, jwks) {
            (Some(issuer), Some(jwks)) => Some(OidcConfig {
                issuer,
                jwks,
                audience: args.oidc_audience.or(file.oidc_audience),
                principal_claim: args
                    .oidc_principal_claim
                    .or(file.oidc_principal_claim)
                    .unwrap_or_else(|| "sub".into()),
            }),
            (None, None) => None,
            _ => return Err("set both oidc-issuer and oidc-jwks, or neither".into()),
        };
        if let Some(ms) = args.maintenance_poll_ms.or(file.maintenance_poll_ms) {
            c.maintenance_poll = Duration::from_millis(ms);
        }
        if let Some(secs) = args.maintenance_lease_secs.or(file.maintenance_lease_secs) {
            if secs == 0 {
                return Err("maintenance-lease-secs must be at least 1".into());
            }
            c.maintenance_lease = Duration::from_secs(secs);
        }
        let mut names = std::collections::HashSet::new();
        for w in &file.warehouses {
            if !names.insert(w.name.as_str()) {
                return Err(format!(
                    "the config file names warehouse '{}' twice",
                    w.name
                ));
            }
        }
        c.warehouses = file.warehouses;
        Ok(c)
    }

    /// The database pool settings.
    pub fn pool_settings(&self) -> PoolSettings {
        PoolSettings {
            max_connections: self.db_max_connections,
            acquire_timeout: self.db_acquire_timeout,
        }
    }
}

fn sqlite_url(data_dir: &Path) -> String {
    format!("sqlite://{}", data_dir.join("catalog.db").display())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_zero_config() {
        let c = Config::resolve(Args::default()).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:8181");
        assert_eq!(c.data_dir, PathBuf::from("floe-data"));
        assert_eq!(c.database_url, "sqlite://floe-data/catalog.db");
        assert_eq!(c.pool_settings(), PoolSettings::default());
    }

    #[test]
    fn no_command_serves_and_migrate_takes_settings_after_it() {
        let args = Args::try_parse_from(["catalog-server"]).unwrap();
        assert_eq!(args.command, None);
        assert_eq!(Config::resolve(args).unwrap().auth, AuthMode::None);
        let args =
            Args::try_parse_from(["catalog-server", "serve", "--listen", "127.0.0.1:1"]).unwrap();
        assert_eq!(args.command, Some(Command::Serve));
        assert_eq!(args.listen.unwrap().to_string(), "127.0.0.1:1");
        let args = Args::try_parse_from([
            "catalog-server",
            "migrate",
            "--database-url",
            "postgres://floe@db:5432/catalog",
            "--db-max-connections",
            "4",
        ])
        .unwrap();
        assert_eq!(args.command, Some(Command::Migrate));
        let c = Config::resolve(args).unwrap();
        assert_eq!(c.database_url, "postgres://floe@db:5432/catalog");
        assert_eq!(c.pool_settings().max_connections, Some(4));
        assert!(Args::try_parse_from(["catalog-server", "migrat"]).is_err());
    }

    #[test]
    fn pool_settings_come_from_the_file_too() {
        let dir = std::env::temp_dir().join(format!("floe-cfg-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("floe.toml");
        std::fs::write(
            &file,
            "database-url = \"postgresql://u@h/d\"\ndb-max-connections = 32\ndb-acquire-timeout-secs = 3\n",
        )
        .unwrap();
        let args = Args {
            config: Some(file),
            ..Args::default()
        };
        let c = Config::resolve(args).unwrap();
        assert_eq!(c.database_url, "postgresql://u@h/d");
        assert_eq!(
            c.pool_settings(),
            PoolSettings {
                max_connections: Some(32),
                acquire_timeout: Duration::from_secs(3)
            }
        );
        let args = Args {
            db_max_connections: Some(0),
            ..Args::default()
        };
        assert!(Config::resolve(args).is_err());
    }

    #[test]
    fn flags_win_over_file_and_file_over_defaults() {
        let dir = std::env::temp_dir().join(format!("floe-cfg-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("floe.toml");
        std::fs::write(
            &file,
            "listen = \"127.0.0.1:9999\"\ndata-dir = \"/tmp/x\"\ncommit-retries = 2\n",
        )
        .unwrap();
        let args = Args::try_parse_from([
            "catalog-server",
            "--config",
            file.to_str().unwrap(),
            "--listen",
            "127.0.0.1:7000",
        ])
        .unwrap();
        let c = Config::resolve(args).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:7000");
        assert_eq!(c.data_dir, PathBuf::from("/tmp/x"));
        assert_eq!(c.database_url, "sqlite:///tmp/x/catalog.db");
        assert_eq!(c.commit_retries, 2);
    }

    #[test]
    fn warehouses_come_from_the_file() {
        let dir = std::env::temp_dir().join(format!("floe-cfg-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("floe.toml");
        std::fs::write(
            &file,
            r#"
[[warehouses]]
name = "lake"
[warehouses.storage]
type = "s3"
location = "s3://floe/lake"
endpoint = "http://minio:9000"
client-endpoint = "http://localhost:9000"
region = "us-east-1"
path-style-access = true
access-key-id = "AK"
secret-access-key = "SK"

[[warehouses]]
name = "local"
storage = { type = "file", location = "file:///tmp/local-wh" }
"#,
        )
        .unwrap();
        let c = Config::resolve(Args {
            config: Some(file.clone()),
            ..Args::default()
        })
        .unwrap();
        assert_eq!(c.warehouses.len(), 2);
        assert_eq!(c.warehouses[0].name, "lake");
        let StorageConfig::S3 {
            location,
            endpoint,
            client_endpoint,
            path_style_access,
            secret_access_key,
            ..
        } = &c.warehouses[0].storage
        else {
            panic!("not s3: {:?}", c.warehouses[0]);
        };
        assert_eq!(location, "s3://floe/lake");
        assert_eq!(endpoint.as_deref(), Some("http://minio:9000"));
        assert_eq!(client_endpoint.as_deref(), Some("http://localhost:9000"));
        assert!(*path_style_access);
        assert_eq!(secret_access_key.as_deref(), Some("SK"));
        assert_eq!(
            c.warehouses[1].storage,
            StorageConfig::File {
                location: "file:///tmp/local-wh".into()
            }
        );

        std::fs::write(
            &file,
            "[[warehouses]]\nname = \"a\"\nstorage = { type = \"file\", location = \"file:///x\" }\n\
             [[warehouses]]\nname = \"a\"\nstorage = { type = \"file\", location = \"file:///y\" }\n",
        )
        .unwrap();
        let err = Config::resolve(Args {
            config: Some(file.clone()),
            ..Args::default()
        })
        .unwrap_err();
        assert!(err.contains("twice"), "{err}");

        std::fs::write(&file, "[[warehouses]]\nname = \"a\"\n").unwrap();
        let err = Config::resolve(Args {
            config: Some(file),
            ..Args::default()
        })
        .unwrap_err();
        assert!(err.contains("storage"), "{err}");
    }

    #[test]
    fn unknown_file_keys_are_refused() {
        let dir = std::env::temp_dir().join(format!("floe-cfg-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("floe.toml");
        std::fs::write(&file, "lisen = \"127.0.0.1:9999\"\n").unwrap();
        let args = Args {
            config: Some(file),
            ..Args::default()
        };
        let err = Config::resolve(args).unwrap_err();
        assert!(err.contains("lisen"), "{err}");
    }
}
