//! [`TestServer`]: a throwaway catalog server for tests, on its own runtime thread, with a
//! fresh data directory and a free port. It stops when dropped.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::api::SharedState;
use crate::{Config, Server};

/// A running server on 127.0.0.1 with a temporary data directory.
pub struct TestServer {
    url: String,
    data_dir: PathBuf,
    state: SharedState,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TestServer {
    /// Start a server with default settings in a new temporary directory.
    pub async fn start() -> TestServer {
        Self::start_with(|_| {}).await
    }

    /// Start a server after letting `tweak` adjust the configuration.
    pub async fn start_with(tweak: impl FnOnce(&mut Config)) -> TestServer {
        let dir = std::env::temp_dir().join(format!("floe-server-test-{}", uuid::Uuid::new_v4()));
        let mut config = Config::with_data_dir(&dir);
        config.listen = ([127, 0, 0, 1], 0).into();
        tweak(&mut config);
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
            state,
            stop: Some(stop_tx),
            thread: Some(thread),
        }
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
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}
