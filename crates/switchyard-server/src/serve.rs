//! `switchyard serve`: load the config, prepare the data directory and keys, open the
//! store, build the state, listen (SO_REUSEPORT) and serve until SIGTERM / Ctrl-C, then
//! drain in-flight requests for up to [`DRAIN_DEADLINE`], then write the request log's
//! queue out.

use crate::metrics::Metrics;
use crate::state::{AppState, Shared};
use crate::{app, conn};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use switchyard_core::accounting::log::LogWriter;
use switchyard_core::admin::{Admin, AdminError};
use switchyard_core::config::{Config, ConfigError, Overrides};
use switchyard_core::crypto::{
    CryptoError, KeyDigest, MasterKey, random_token, write_private_file,
};
use switchyard_core::env::OsEnv;
use switchyard_core::keyring::KeyRing;
use switchyard_core::pool::Pool;
use switchyard_core::store::{Store, StoreError};
use switchyard_core::upstream::{Upstream, UpstreamError};
use switchyard_core::{change_feed, data_dir};
use tokio::net::TcpListener;

/// How long in-flight requests may run after a shutdown signal.
pub const DRAIN_DEADLINE: Duration = Duration::from_secs(30);

/// Start-up failure.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("data directory {path}: {source}")]
    DataDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("admin key file {path}: {source}")]
    AdminKey {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    #[error("database: {0}")]
    Store(#[from] StoreError),
    #[error("loading state: {0}")]
    Admin(#[from] AdminError),
    #[error(transparent)]
    Upstream(#[from] UpstreamError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("server error: {0}")]
    Serve(std::io::Error),
}

/// Everything needed to serve, built from a config.
#[derive(Debug)]
pub struct Prepared {
    pub state: AppState,
    pub admin_key_file: Option<PathBuf>,
}

/// Prepare the data dir, keys, store and state.
pub async fn prepare(config: &Config) -> Result<Prepared, ServeError> {
    create_private_dir(&config.data_dir)?;
    let (admin_key, admin_key_file) = match &config.admin_key {
        Some(key) => (key.clone(), None),
        None => {
            let path = config.data_dir.join("admin.key");
            (load_or_create_admin_key(&path)?, Some(path))
        }
    };
    let (master, created) =
        MasterKey::load_or_create(config.master_key.as_deref(), &config.data_dir)?;
    if created {
        tracing::info!(path = %config.data_dir.join("master.key").display(), "generated a master key for secrets at rest; back it up");
    }
    let store = Store::open(&config.data_dir.join("switchyard.db")).await?;
    let log = LogWriter::spawn(store.clone(), config.logs.clone());
    data_dir::warn_if_exposed(&config.data_dir);
    let pool = Arc::new(Pool::with_settings(config.routing.clone()));
    let keys = Arc::new(KeyRing::new());
    let admin = Admin::new(
        store,
        Arc::new(master),
        Arc::clone(&pool),
        Arc::clone(&keys),
    );
    admin.reload().await?;
    // Another process on this data dir (a redeploy's other half) may write too: reload
    // when it does. Detached: it lives as long as the process.
    drop(change_feed::spawn(admin.clone(), change_feed::POLL_INTERVAL).await);
    warn_about_proxy_env(&OsEnv);
    let state = AppState(Arc::new(Shared {
        pool,
        keys,
        admin,
        upstream: Upstream::new(config.upstream)?,
        admin_key: KeyDigest::of(&admin_key),
        max_body_bytes: config.max_body_bytes,
        budget: switchyard_core::pipeline::budget::MemoryBudget::new(config.max_buffered_bytes),
        metrics: Metrics::default(),
        log,
        prices: switchyard_core::accounting::prices::Prices::with_overrides(&config.prices),
    }));
    Ok(Prepared {
        state,
        admin_key_file,
    })
}

/// Provider calls go straight to the provider: the hot-path client does not read the
/// `*_PROXY` variables (only the image fetch does). Say so rather than fail silently.
fn warn_about_proxy_env(env: &dyn switchyard_core::env::Env) {
    let set: Vec<&str> = [
        "HTTPS_PROXY",
        "https_proxy",
        "HTTP_PROXY",
        "http_proxy",
        "ALL_PROXY",
        "all_proxy",
    ]
    .into_iter()
    .filter(|name| env.var(name).is_some_and(|v| !v.is_empty()))
    .collect();
    if !set.is_empty() {
        tracing::warn!(
            variables = ?set,
            "provider calls do not go through an HTTP proxy: these variables only apply to image fetches"
        );
    }
}

/// Run the server until a shutdown signal. `overrides` are kept to re-read the
/// configuration on SIGHUP (routing and resilience settings apply without a restart).
pub async fn run(config: Config, overrides: Overrides) -> Result<(), ServeError> {
    let prepared = prepare(&config).await?;
    // Handlers go in before the listener accepts: until then a signal's default action
    // (terminate) would kill the process without draining.
    let shutdown = shutdown_signal();
    spawn_reloader(prepared.state.clone(), overrides);
    if let Some(path) = &prepared.admin_key_file {
        tracing::info!(path = %path.display(), "admin key (Authorization: Bearer <key> on /api/*) is in this file");
    }
    let addr = SocketAddr::new(config.host, config.port);
    let listener = bind(addr).map_err(|source| ServeError::Bind { addr, source })?;
    let local = listener
        .local_addr()
        .map_err(|source| ServeError::Bind { addr, source })?;
    let accounts = prepared.state.pool.accounts().len();
    let state = prepared.state.clone();
    let server = conn::Server::new(listener, app::router(prepared.state), config.server);
    tracing::info!(
        accounts,
        data_dir = %config.data_dir.display(),
        max_connections = server.max_connections(),
        "switchyard listening on http://{local}"
    );
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    // Stops accepting on `stop`, closes connections with no request in progress, then
    // waits for the others: that wait is what the deadline below bounds.
    let mut server = tokio::spawn(server.serve(async move {
        let mut rx = stop_rx;
        let _ = rx.wait_for(|stop| *stop).await;
    }));
    tokio::select! {
        joined = &mut server => return flatten(joined),
        () = shutdown => {}
    }
    tracing::info!(deadline = ?DRAIN_DEADLINE, "shutting down: draining in-flight requests");
    let _ = stop_tx.send(true);
    match tokio::time::timeout(DRAIN_DEADLINE, &mut server).await {
        Ok(joined) => flatten(joined)?,
        Err(_) => {
            tracing::warn!("drain deadline passed; closing the remaining connections");
            server.abort();
        }
    }
    state.log.flush_and_stop().await;
    tracing::info!(
        dropped = state.log.dropped(),
        "stopped; request log written"
    );
    Ok(())
}

/// On SIGHUP, re-read the configuration and apply its routing and resilience settings.
/// An invalid file is reported and ignored: the running settings stay.
fn spawn_reloader(state: AppState, overrides: Overrides) {
    #[cfg(unix)]
    let Ok(mut hup) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) else {
        return;
    };
    #[cfg(unix)]
    tokio::spawn(async move {
        while hup.recv().await.is_some() {
            match Config::load(&overrides, &OsEnv) {
                Ok(config) => {
                    state.pool.reconfigure(config.routing);
                    tracing::info!("configuration reloaded (routing, AIMD, breaker, retry)");
                }
                Err(e) => {
                    tracing::error!(error = %e, "configuration reload failed; keeping the running settings");
                }
            }
        }
    });
    #[cfg(not(unix))]
    let _ = (state, overrides);
}

fn flatten(joined: Result<(), tokio::task::JoinError>) -> Result<(), ServeError> {
    joined.map_err(|e| ServeError::Serve(std::io::Error::other(e.to_string())))
}

/// A listener with SO_REUSEADDR and SO_REUSEPORT, so a new process can bind the same
/// port while the old one drains (zero-downtime redeploys).
pub fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    #[cfg(unix)]
    socket.set_reuse_port(true)?;
    socket.set_nodelay(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(1024)?;
    TcpListener::from_std(socket.into())
}

/// SIGTERM or SIGINT (Ctrl-C). The handlers are registered when this is called, not
/// when the future is first polled.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{Signal, SignalKind, signal};
        async fn recv(signal: Option<Signal>) {
            match signal {
                Some(mut s) => {
                    s.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        }
        let term = signal(SignalKind::terminate()).ok();
        let int = signal(SignalKind::interrupt()).ok();
        async move {
            tokio::select! {
                () = recv(term) => {}
                () = recv(int) => {}
            }
        }
    }
    #[cfg(not(unix))]
    async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

fn create_private_dir(path: &Path) -> Result<(), ServeError> {
    let err = |source| ServeError::DataDir {
        path: path.to_owned(),
        source,
    };
    if path.is_dir() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(path).map_err(err)
}

fn load_or_create_admin_key(path: &Path) -> Result<String, ServeError> {
    let err = |source| ServeError::AdminKey {
        path: path.to_owned(),
        source,
    };
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let key = text.trim().to_owned();
            if key.is_empty() {
                return Err(err(std::io::Error::other(
                    "the file is empty; delete it to generate a new key",
                )));
            }
            Ok(key)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = random_token("sya-");
            write_private_file(path, &format!("{key}\n")).map_err(err)?;
            Ok(key)
        }
        Err(e) => Err(err(e)),
    }
}
