//! Floe's catalog server: the Apache Iceberg REST Catalog API over a catalog store.
//!
//! - [`config`]: flags, `FLOE_*` environment and TOML file, resolved into [`Config`]; the
//!   binary's commands (serve, `migrate`).
//! - [`api`]: axum routers and thin handlers (Iceberg REST, `/management/v1`, operations).
//! - [`service`]: the catalog logic: warehouses, namespaces, tables, commits through
//!   table-format's metadata builder.
//! - [`store`]: the [`store::CatalogStore`] trait and its SQLite and PostgreSQL
//!   implementations, chosen by the database URL's scheme.
//! - [`error`]: the Iceberg error model; [`metrics`]: Prometheus metrics.
//! - [`serve`] / [`Server`]: start a server; [`migrate`]: only migrate the database;
//!   [`testing`]: a throwaway server (and database) for tests.
//!
//! Data flows one way: HTTP → api → service → (store, table-format) → object storage.

pub mod api;
pub mod config;
pub mod error;
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

pub use config::Config;

use crate::api::{AppState, SharedState};
use crate::service::{CatalogService, DEFAULT_WAREHOUSE};
use crate::store::{CatalogStore, StorageConfig, StoreError};

/// A started server's shared state (for tests and embedding).
pub struct Server {
    state: SharedState,
}

impl Server {
    /// Open the store the database URL names (`sqlite:` or `postgres://` /
    /// `postgresql://`), run its migrations and make sure a first start has its `default`
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
        let metrics = Arc::new(metrics::Metrics::new());
        let service = CatalogService::new(
            store,
            config.metadata_cache_entries,
            config.commit_retries,
            metrics,
        );
        Ok(Self {
            state: Arc::new(AppState { service, config }),
        })
    }

    /// The shared state.
    pub fn state(&self) -> &SharedState {
        &self.state
    }

    /// Serve on `listener` until `shutdown` resolves, then finish in-flight requests.
    pub async fn run(
        self,
        listener: tokio::net::TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let app = api::router(self.state.clone());
        let app = tower::util::MapRequestLayer::new(api::with_default_prefix).layer(app);
        axum::serve(listener, ServiceExt::<Request>::into_make_service(app))
            .with_graceful_shutdown(shutdown)
            .await
    }
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
