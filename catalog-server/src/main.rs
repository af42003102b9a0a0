//! `catalog-server`: start Floe's Iceberg REST catalog (zero configuration by default), or
//! `catalog-server migrate` to bring its database to the newest schema and exit.

use clap::Parser;
use tracing_subscriber::EnvFilter;

use catalog_server::config::{Args, Command, Config};

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let command = args.command.clone().unwrap_or(Command::Serve);
    if let Command::Admin(admin) = &command {
        match catalog_server::admin::run(admin).await {
            Ok(out) => {
                println!("{out}");
                return;
            }
            Err(e) => {
                eprintln!("catalog-server admin: {e}");
                std::process::exit(1);
            }
        }
    }
    let config = match Config::resolve(args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("catalog-server: {e}");
            std::process::exit(2);
        }
    };
    let filter = EnvFilter::try_new(&config.log).unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    if command == Command::Migrate {
        match catalog_server::migrate(&config).await {
            Ok(done) => {
                println!("catalog-server migrate: {done}");
                return;
            }
            Err(e) => {
                eprintln!("catalog-server: {e}");
                std::process::exit(1);
            }
        }
    }
    match catalog_server::fault::arm_from_env() {
        Ok(None) => {}
        Ok(Some(f)) => tracing::warn!(
            point = f.point.name(),
            nth = f.nth,
            "fault injection armed: the process aborts when a commit reaches this point"
        ),
        Err(e) if catalog_server::fault::ENABLED => {
            eprintln!("catalog-server: {e}");
            std::process::exit(2);
        }
        Err(e) => tracing::warn!("{e}"),
    }
    if let Err(e) = catalog_server::serve(config, shutdown_signal()).await {
        eprintln!("catalog-server: {e}");
        std::process::exit(1);
    }
}

/// Ctrl-C or SIGTERM: stop accepting, finish in-flight requests, exit.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down");
}
