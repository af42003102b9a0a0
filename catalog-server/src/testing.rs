//! Throwaway servers and databases for tests.
//!
//! - [`TestServer`]: a catalog server on its own runtime thread, with a fresh data directory,
//!   a fresh catalog database and a free port. It stops when dropped.
//! - [`TestDatabase`]: a fresh, empty catalog database, removed when dropped. The backend
//!   comes from [`TEST_DATABASE_ENV`] (`FLOE_TEST_DATABASE`): unset or `sqlite` gives a
//!   SQLite file in a temporary directory; a PostgreSQL URL
//!   (`postgres://postgres@127.0.0.1:5432/postgres`) is an admin connection through which
//!   each test database `floe_test_<uuid>` is created, and dropped `WITH (FORCE)` at the end.
//!   An unreachable PostgreSQL fails the test; it never falls back to SQLite.
//!
//! So the whole suite runs on either backend, unchanged: `FLOE_TEST_DATABASE=postgres://...
//! cargo test -p catalog-server`.
//!
//! Tests that need PostgreSQL whatever the suite's backend (replicas share one PostgreSQL
//! database) take [`TestDatabase::postgres_required`]: the admin URL from `FLOE_TEST_DATABASE`
//! when that names PostgreSQL, else [`TEST_POSTGRES_ENV`] (`FLOE_TEST_POSTGRES`), else
//! [`DEFAULT_TEST_POSTGRES`]; an unreachable server fails the test.
//!
//! [`TestServer::start_replica`] starts a second server on another one's database and data
//! directory: two processes' worth of service state (caches, commit queues) over one catalog.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use sqlx::Connection;

use crate::api::SharedState;
use crate::store::Backend;
use crate::{Config, Server};

/// The environment variable that picks the tests' database backend.
pub const TEST_DATABASE_ENV: &str = "FLOE_TEST_DATABASE";
/// The PostgreSQL admin URL for tests that need PostgreSQL when the suite runs on SQLite.
pub const TEST_POSTGRES_ENV: &str = "FLOE_TEST_POSTGRES";
/// The PostgreSQL admin URL used when neither variable names one (what CI machines run).
pub const DEFAULT_TEST_POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// A fresh, empty catalog database for one test (see the module documentation).
#[derive(Debug)]
pub struct TestDatabase {
    url: String,
    cleanup: Cleanup,
}

#[derive(Debug)]
enum Cleanup {
    Directory(PathBuf),
    Postgres { admin_url: String, name: String },
}

impl TestDatabase {
    /// A new database on the backend [`TEST_DATABASE_ENV`] names. Panics (fails the test)
    /// when the variable is invalid or PostgreSQL cannot be reached.
    pub async fn create() -> TestDatabase {
        let setting = std::env::var(TEST_DATABASE_ENV).unwrap_or_default();
        let setting = setting.trim();
        if setting.is_empty() || setting == "sqlite" {
            return Self::sqlite();
        }
        match Backend::of_url(setting) {
            Ok(Backend::Postgres) => Self::postgres(setting).await,
            _ => panic!(
                "{TEST_DATABASE_ENV}={setting:?}: use `sqlite` or a PostgreSQL admin URL such as \
                 postgres://postgres@127.0.0.1:5432/postgres"
            ),
        }
    }

    /// A new PostgreSQL database whatever the suite's backend: through the admin URL of
    /// [`TEST_DATABASE_ENV`] when it names PostgreSQL, else [`TEST_POSTGRES_ENV`], else
    /// [`DEFAULT_TEST_POSTGRES`]. Panics (fails the test) when PostgreSQL cannot be reached.
    pub async fn postgres_required() -> TestDatabase {
        Self::postgres(&postgres_admin_url()).await
    }

    /// A new SQLite database in its own temporary directory.
    pub fn sqlite() -> TestDatabase {
        let dir = std::env::temp_dir().join(format!("floe-test-db-{}", uuid::Uuid::new_v4()));
        TestDatabase {
            url: format!("sqlite://{}", dir.join("catalog.db").display()),
            cleanup: Cleanup::Directory(dir),
        }
    }

    /// A new PostgreSQL database, created through `admin_url`.
    pub async fn postgres(admin_url: &str) -> TestDatabase {
        let name = format!("floe_test_{}", uuid::Uuid::new_v4().simple());
        let shown = crate::store::redact_url(admin_url);
        let mut conn = sqlx::PgConnection::connect(admin_url)
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "PostgreSQL at {shown} cannot be reached: {e}. Start it (pg_ctlcluster \
                     --skip-systemctl-redirect <version> main start), or point \
                     {TEST_DATABASE_ENV} (the suite's backend) or {TEST_POSTGRES_ENV} (for tests \
                     that always need PostgreSQL) at a reachable server."
                )
            });
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
            .execute(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("cannot create database {name} on {shown}: {e}"));
        let _ = conn.close().await;
        TestDatabase {
            url: with_database(admin_url, &name),
            cleanup: Cleanup::Postgres {
                admin_url: admin_url.to_string(),
                name,
            },
        }
    }

    /// The database's URL (what `--database-url` takes).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The database's backend.
    pub fn backend(&self) -> Backend {
        match self.cleanup {
            Cleanup::Directory(_) => Backend::Sqlite,
            Cleanup::Postgres { .. } => Backend::Postgres,
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::Directory(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Cleanup::Postgres { admin_url, name } => {
                // Drop may run inside a runtime (an async test) or outside one: a thread
                // with its own small runtime works in both.
                let admin_url = admin_url.clone();
                let name = name.clone();
                let dropped = std::thread::spawn(move || {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .map_err(|e| e.to_string())?;
                    rt.block_on(async {
                        let mut conn = sqlx::PgConnection::connect(&admin_url)
                            .await
                            .map_err(|e| e.to_string())?;
                        sqlx::query(sqlx::AssertSqlSafe(format!(
                            "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                        )))
                        .execute(&mut conn)
                        .await
                        .map_err(|e| e.to_string())?;
                        let _ = conn.close().await;
                        Ok::<(), String>(())
                    })
                })
                .join();
                match dropped {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => eprintln!("warning: cannot drop test database: {e}"),
                    Err(_) => eprintln!("warning: dropping a test database panicked"),
                }
            }
        }
    }
}

/// The PostgreSQL admin URL for [`TestDatabase::postgres_required`].
pub fn postgres_admin_url() -> String {
    let suite = std::env::var(TEST_DATABASE_ENV).unwrap_or_default();
    if matches!(Backend::of_url(suite.trim()), Ok(Backend::Postgres)) {
        return suite.trim().to_string();
    }
    match std::env::var(TEST_POSTGRES_ENV) {
        Ok(u) if !u.trim().is_empty() => u.trim().to_string(),
        _ => DEFAULT_TEST_POSTGRES.to_string(),
    }
}

/// `url` with its database (the path) replaced by `database`; the query string stays.
fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let authority_start = base.find("://").map(|i| i + 3).unwrap_or(0);
    let path_start = base[authority_start..]
        .find('/')
        .map(|i| authority_start + i)
        .unwrap_or(base.len());
    let mut out = format!("{}/{database}", &base[..path_start]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

/// A running server on 127.0.0.1 with a temporary data directory and its own database
/// (a [`TestDatabase`]), or a replica of another test server (same database, same data
/// directory, its own process state).
pub struct TestServer {
    url: String,
    data_dir: PathBuf,
    database_url: String,
    state: SharedState,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    /// Whether dropping this server removes the data directory (not for a replica).
    owns_data_dir: bool,
    // Last: dropped after the server and its pool are gone. None for a replica.
    _database: Option<TestDatabase>,
}

impl TestServer {
    /// Start a server with default settings in a new temporary directory, on a new database
    /// of the backend `FLOE_TEST_DATABASE` names.
    pub async fn start() -> TestServer {
        Self::start_with(|_| {}).await
    }

    /// Start a server after letting `tweak` adjust the configuration.
    pub async fn start_with(tweak: impl FnOnce(&mut Config)) -> TestServer {
        Self::start_on(TestDatabase::create().await, tweak).await
    }

    /// Start a server on `database` (which it owns and removes when dropped), in a new
    /// temporary directory, after letting `tweak` adjust the configuration.
    pub async fn start_on(database: TestDatabase, tweak: impl FnOnce(&mut Config)) -> TestServer {
        let dir = std::env::temp_dir().join(format!("floe-server-test-{}", uuid::Uuid::new_v4()));
        let mut config = Config::with_data_dir(&dir);
        config.listen = ([127, 0, 0, 1], 0).into();
        config.database_url = database.url().to_string();
        tweak(&mut config);
        Self::launch(config, true, Some(database)).await
    }

    /// Start another server on this one's database and data directory (so its `default`
    /// warehouse, and every file, are the same), with its own port, caches and commit
    /// queues: a replica. It owns neither; drop it before the server it copies.
    pub async fn start_replica(&self) -> TestServer {
        self.start_replica_with(|_| {}).await
    }

    /// [`start_replica`](Self::start_replica) after letting `tweak` adjust the configuration.
    pub async fn start_replica_with(&self, tweak: impl FnOnce(&mut Config)) -> TestServer {
        let mut config = Config::with_data_dir(&self.data_dir);
        config.listen = ([127, 0, 0, 1], 0).into();
        config.database_url = self.database_url.clone();
        tweak(&mut config);
        Self::launch(config, false, None).await
    }

    async fn launch(
        config: Config,
        owns_data_dir: bool,
        database: Option<TestDatabase>,
    ) -> TestServer {
        let dir = config.data_dir.clone();
        let database_url = config.database_url.clone();
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = match tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    let _ = ready_tx.send(Err(format!("runtime: {e}")));
                    return;
                }
            };
            rt.block_on(async move {
                let listen = config.listen;
                let server = match Server::new(config).await {
                    Ok(s) => s,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                let listener = match tokio::net::TcpListener::bind(listen).await {
                    Ok(l) => l,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e.to_string()));
                        return;
                    }
                };
                let addr = listener.local_addr().map_err(|e| e.to_string());
                let state = server.state().clone();
                let _ = ready_tx.send(addr.map(|a| (a, state)));
                let _ = server
                    .run(listener, async {
                        let _ = stop_rx.await;
                    })
                    .await;
            });
        });
        let (addr, state) = match ready_rx.await {
            Ok(Ok(v)) => v,
            Ok(Err(e)) => panic!("test server failed to start: {e}"),
            Err(_) => panic!("test server thread died before it started"),
        };
        TestServer {
            url: format!("http://{addr}"),
            data_dir: dir,
            database_url,
            state,
            stop: Some(stop_tx),
            thread: Some(thread),
            owns_data_dir,
            _database: database,
        }
    }

    /// The catalog database's URL (a second server on the same URL shares the catalog).
    pub fn database_url(&self) -> &str {
        &self.database_url
    }

    /// The base URL, e.g. `http://127.0.0.1:41234`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The server's data directory (the `default` warehouse is `<data_dir>/warehouse`).
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The server's shared state (service, store, metrics).
    pub fn state(&self) -> &Arc<crate::api::AppState> {
        &self.state
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        if self.owns_data_dir {
            let _ = std::fs::remove_dir_all(&self.data_dir);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn database_urls_swap_only_the_database() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/postgres", "floe_test_1"),
            "postgres://postgres@127.0.0.1:5432/floe_test_1"
        );
        assert_eq!(
            with_database("postgresql://u:p@h/db?sslmode=disable", "x"),
            "postgresql://u:p@h/x?sslmode=disable"
        );
        assert_eq!(
            with_database("postgres://h:5432", "x"),
            "postgres://h:5432/x"
        );
    }
}
