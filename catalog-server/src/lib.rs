//! Floe's catalog server: the Apache Iceberg REST Catalog API over a catalog store.
//!
//! - [`config`]: flags, `FLOE_*` environment and TOML file, resolved into [`Config`]; the
//!   binary's commands (serve, `migrate`).
//! - [`auth`]: principals' tokens, privileges and grants, the audit log; [`admin`]: the
//!   `admin` command, a client of the management API.
//! - [`api`]: axum routers and thin handlers (Iceberg REST, `/management/v1`, operations).
//! - [`service`]: the catalog logic: warehouses, namespaces, tables, commits through
//!   table-format's metadata builder.
//! - [`store`]: the [`store::CatalogStore`] trait and its SQLite and PostgreSQL
//!   implementations, chosen by the database URL's scheme.
//! - [`error`]: the Iceberg error model; [`metrics`]: Prometheus metrics.
//! - [`fault`]: crash points for tests (feature `fault-injection`, never in release builds).
//! - [`serve`] / [`Server`]: start a server; [`migrate`]: only migrate the database;
//!   [`testing`]: a throwaway server (and database) for tests.
//!
//! Data flows one way: HTTP → api → service → (store, table-format) → object storage.

pub mod admin;
pub mod api;
pub mod auth;
pub mod config;
pub mod error;
pub mod fault;
pub mod metrics;
pub mod service;
pub mod store;
pub mod testing;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::ServiceExt;
use axum::extract::Request;
use tower::Layer;

pub use config::{Config, WarehouseConfig};

use crate::api::{AppState, SharedState};
use crate::service::{CatalogService, DEFAULT_WAREHOUSE};
use crate::store::{CatalogStore, StorageConfig, StoreError};

/// A started server's shared state (for tests and embedding).
pub struct Server {
    state: SharedState,
}

impl Server {
    /// Open the store the database URL names (`sqlite:` or `postgres://` /
    /// `postgresql://`), run its migrations, create the configured warehouses that are missing,
    /// and make sure a first start without configured warehouses has its `default`
    /// warehouse under `<data-dir>/warehouse`.
    pub async fn new(config: Config) -> Result<Self, String> {
        std::fs::create_dir_all(&config.data_dir).map_err(|e| {
            format!(
                "cannot create data directory {}: {e}",
                config.data_dir.display()
            )
        })?;
        let store: Arc<dyn CatalogStore> =
            store::open(&config.database_url, &config.pool_settings())
                .await
                .map_err(|e| {
                    format!(
                        "cannot open {}: {e}",
                        store::redact_url(&config.database_url)
                    )
                })?;
        let metrics = Arc::new(metrics::Metrics::new());
        let service = CatalogService::new(
            store.clone(),
            config.metadata_cache_entries,
            config.commit_retries,
            metrics,
        );
        ensure_configured_warehouses(&service, &config.warehouses).await?;
        let warehouses = store.list_warehouses().await.map_err(|e| e.to_string())?;
        if warehouses.is_empty() {
            let dir = std::path::absolute(config.data_dir.join("warehouse"))
                .map_err(|e| format!("cannot resolve the warehouse directory: {e}"))?;
            std::fs::create_dir_all(&dir)
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
            let storage = StorageConfig::File {
                location: format!("file://{}", dir.display()),
            };
            match store.create_warehouse(DEFAULT_WAREHOUSE, &storage).await {
                Ok(_) | Err(StoreError::AlreadyExists(_)) => {}
                Err(e) => return Err(format!("cannot create the default warehouse: {e}")),
            }
        }
        let access = open_access(&config, store.clone()).await?;
        Ok(Self {
            state: Arc::new(AppState {
                service,
                access,
                config,
            }),
        })
    }

    /// The shared state.
    pub fn state(&self) -> &SharedState {
        &self.state
    }

    /// Serve on `listener` until `shutdown` resolves, then finish in-flight requests. The
    /// maintenance worker runs alongside (unless `maintenance_poll` is zero) and stops with
    /// the server.
    pub async fn run(
        self,
        listener: tokio::net::TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let (stop_worker, stopped) = tokio::sync::watch::channel(false);
        let worker = (!self.state.config.maintenance_poll.is_zero())
            .then(|| tokio::spawn(maintenance_worker(self.state.clone(), stopped)));
        let app = api::router(self.state.clone());
        let app = tower::util::MapRequestLayer::new(api::with_default_prefix).layer(app);
        let served = axum::serve(listener, ServiceExt::<Request>::into_make_service(app))
            .with_graceful_shutdown(shutdown)
            .await;
        let _ = stop_worker.send(true);
        if let Some(mut worker) = worker {
            // A task still running is left to its lease: another worker takes it over.
            if tokio::time::timeout(WORKER_STOP_GRACE, &mut worker)
                .await
                .is_err()
            {
                worker.abort();
            }
        }
        served
    }
}

/// How long a stopping server waits for its maintenance worker to finish a round.
const WORKER_STOP_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

/// The background maintenance worker of one server process: a round every
/// `maintenance_poll` (see [`service::CatalogService::maintenance_tick`]) until `stop`.
async fn maintenance_worker(state: SharedState, mut stop: tokio::sync::watch::Receiver<bool>) {
    let settings = service::WorkerSettings::new(state.config.maintenance_lease);
    tracing::info!(worker = %settings.worker_id, "maintenance worker started");
    let mut ticks = tokio::time::interval(state.config.maintenance_poll);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            _ = ticks.tick() => {}
        }
        if *stop.borrow() {
            break;
        }
        if let Err(e) = state.service.maintenance_tick(&settings).await {
            tracing::warn!("maintenance worker round failed: {e}");
        }
    }
}

/// Access control for the configured mode. With `oauth2`: the signing keys, the OIDC issuer's
/// keys when configured, and the root principal (generated credentials are printed once, on
/// stdout, never logged).
async fn open_access(
    config: &Config,
    store: Arc<dyn CatalogStore>,
) -> Result<auth::AccessControl, String> {
    let oidc = match &config.oidc {
        Some(o) if config.auth == auth::AuthMode::Oauth2 => Some(
            auth::Oidc::open(
                o.issuer.clone(),
                o.jwks.clone(),
                o.audience.clone(),
                o.principal_claim.clone(),
            )
            .await?,
        ),
        _ => None,
    };
    let ttl = chrono::Duration::from_std(config.token_ttl)
        .map_err(|e| format!("invalid token TTL: {e}"))?;
    let access = auth::AccessControl::new(store, config.auth, ttl, oidc).await?;
    if config.auth == auth::AuthMode::Oauth2 {
        let creds = config
            .root_credentials
            .as_ref()
            .map(|(id, secret)| (id.as_str(), secret.as_str()));
        if let Some((id, secret)) = access.ensure_root(creds).await? {
            println!(
                "floe catalog-server: created the root principal; its credentials are shown \
                 only now:\n  client id:     {id}\n  client secret: {secret}"
            );
        }
    }
    Ok(access)
}

/// Create each configured warehouse the catalog does not have yet (through the same checks as
/// the management API). An existing one keeps its stored settings; a difference is logged.
/// Another replica creating the same warehouse at the same moment is not an error.
async fn ensure_configured_warehouses(
    service: &CatalogService,
    warehouses: &[WarehouseConfig],
) -> Result<(), String> {
    for w in warehouses {
        match service.warehouse(&w.name).await {
            Ok(existing) => {
                if existing.storage != w.storage {
                    tracing::warn!(
                        warehouse = %w.name,
                        "the configured storage differs from the stored one; the stored one is kept \
                         (delete and recreate the warehouse to change it)"
                    );
                }
            }
            Err(e) if e.status == axum::http::StatusCode::NOT_FOUND => {
                match service.create_warehouse(&w.name, w.storage.clone()).await {
                    Ok(_) => tracing::info!(
                        warehouse = %w.name,
                        location = %w.storage.location(),
                        "created the configured warehouse"
                    ),
                    Err(e) if e.status == axum::http::StatusCode::CONFLICT => {}
                    Err(e) => {
                        return Err(format!(
                            "cannot create the configured warehouse '{}': {}",
                            w.name, e.message
                        ));
                    }
                }
            }
            Err(e) => {
                return Err(format!(
                    "cannot look up the configured warehouse '{}': {}",
                    w.name, e.message
                ));
            }
        }
    }
    Ok(())
}

/// Bring the configured database to the newest schema (what `catalog-server migrate` does)
/// and return a line saying so.
pub async fn migrate(config: &Config) -> Result<String, String> {
    let url = store::redact_url(&config.database_url);
    let version = store::migrate(&config.database_url, &config.pool_settings())
        .await
        .map_err(|e| format!("cannot migrate {url}: {e}"))?;
    Ok(format!("{url}: schema at version {version}"))
}

/// Bind `config.listen`, announce the address on stdout and serve until `shutdown`.
pub async fn serve(
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), String> {
    let listen = config.listen;
    if config.auth == auth::AuthMode::None && !listen.ip().is_loopback() {
        return Err(format!(
            "refusing to listen on {listen} without authentication: anyone who can reach it \
             would act as the root principal. Start with --auth oauth2 (FLOE_AUTH=oauth2, root \
             credentials in FLOE_ROOT_CLIENT_ID / FLOE_ROOT_CLIENT_SECRET), or listen on a \
             loopback address such as 127.0.0.1"
        ));
    }
    let server = Server::new(config).await?;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let addr: SocketAddr = listener.local_addr().map_err(|e| e.to_string())?;
    println!("floe catalog-server listening on http://{addr}");
    tracing::info!(%addr, "listening");
    server
        .run(listener, shutdown)
        .await
        .map_err(|e| format!("server error: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir() -> std::path::PathBuf {
        std::env::temp_dir().join(format!("floe-server-{}", uuid::Uuid::new_v4()))
    }

    fn s3(endpoint: &str) -> StorageConfig {
        serde_json::from_value(serde_json::json!({
            "type": "s3", "location": "s3://floe/lake", "endpoint": endpoint,
            "region": "us-east-1", "path-style-access": true
        }))
        .unwrap()
    }

    async fn names(server: &Server) -> Vec<String> {
        let list = server.state().service.list_warehouses().await.unwrap();
        list.into_iter().map(|w| w.name).collect()
    }

    #[tokio::test]
    async fn configured_warehouses_are_created_once_and_replace_the_default() {
        let dir = temp_dir();
        let local = dir.join("local-wh");
        let mut config = Config::with_data_dir(&dir);
        config.warehouses = vec![
            WarehouseConfig {
                name: "lake".into(),
                storage: s3("http://minio:9000"),
            },
            WarehouseConfig {
                name: "local".into(),
                storage: StorageConfig::File {
                    location: format!("file://{}", local.display()),
                },
            },
        ];
        let server = Server::new(config.clone()).await.unwrap();
        assert_eq!(names(&server).await, ["lake", "local"]);
        assert!(local.is_dir(), "a file warehouse's directory is created");
        let lake = server.state().service.warehouse("lake").await.unwrap();
        assert_eq!(lake.storage, s3("http://minio:9000"));
        drop(server);

        // A restart with changed settings keeps what is stored and creates nothing twice.
        config.warehouses[0].storage = s3("http://elsewhere:9000");
        let server = Server::new(config.clone()).await.unwrap();
        assert_eq!(names(&server).await, ["lake", "local"]);
        let lake = server.state().service.warehouse("lake").await.unwrap();
        assert_eq!(lake.storage, s3("http://minio:9000"));
        drop(server);

        // A warehouse added to the file later is created next start.
        config.warehouses.push(WarehouseConfig {
            name: "more".into(),
            storage: s3("http://minio:9000"),
        });
        let server = Server::new(config).await.unwrap();
        assert_eq!(names(&server).await, ["lake", "local", "more"]);
        drop(server);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test]
    async fn an_invalid_configured_warehouse_stops_the_start() {
        let dir = temp_dir();
        let mut config = Config::with_data_dir(&dir);
        config.warehouses = vec![WarehouseConfig {
            name: "namespaces".into(),
            storage: s3("http://minio:9000"),
        }];
        let err = Server::new(config.clone()).await.err().unwrap();
        assert!(err.contains("'namespaces'"), "{err}");
        config.warehouses = vec![WarehouseConfig {
            name: "lake".into(),
            storage: s3("minio:9000"),
        }];
        let err = Server::new(config).await.err().unwrap();
        assert!(err.contains("endpoint"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test]
    async fn without_configured_warehouses_the_default_is_created() {
        let dir = temp_dir();
        let server = Server::new(Config::with_data_dir(&dir)).await.unwrap();
        assert_eq!(names(&server).await, [DEFAULT_WAREHOUSE]);
        drop(server);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
