//! `switchyard serve`: load the config, prepare the data directory and keys, open the
//! store, build the state, take the listener ([`crate::lifecycle`]), serve until SIGTERM
//! / Ctrl-C, then drain in the order [`crate::lifecycle`] documents: in-flight requests
//! for up to `[server] drain_secs`, background tasks, the request log's queue.

use crate::lifecycle::{self, Lifecycle, handover, listen, notify};
use crate::metrics::Metrics;
use crate::state::{AppState, Shared};
use crate::{app, conn};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
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
    #[error("metrics: {0}")]
    Metrics(prometheus::Error),
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
    let master = Arc::new(master);
    let admin = Admin::new(
        store.clone(),
        Arc::clone(&master),
        Arc::clone(&pool),
        Arc::clone(&keys),
    );
    admin.reload().await?;
    // OAuth: the sign-in service and the token refresher (also asked by requests whose
    // token the upstream refused).
    let oauth_http = switchyard_core::oauth::client::http_client()
        .map_err(|e| UpstreamError::Client(e.to_string()))?;
    let oauth_settings = Arc::new(config.oauth.clone());
    let refresher = switchyard_core::oauth::refresh::Refresher::new(
        Arc::clone(&oauth_settings),
        store,
        Arc::clone(&master),
        Arc::clone(&pool),
        oauth_http.clone(),
    );
    pool.set_refresher(refresher.clone());
    let oauth =
        switchyard_core::oauth::OAuth::new(oauth_settings, admin.clone(), master, oauth_http);
    warn_about_proxy_env(&OsEnv);
    let state = AppState(Arc::new(Shared {
        pool,
        keys,
        admin,
        upstream: Upstream::new(config.upstream)?,
        admin_key: KeyDigest::of(&admin_key),
        metrics_key: config.metrics_key.as_deref().map(KeyDigest::of),
        max_body_bytes: config.max_body_bytes,
        budget: switchyard_core::pipeline::budget::MemoryBudget::new(config.max_buffered_bytes),
        metrics: Metrics::new().map_err(ServeError::Metrics)?,
        log,
        prices: switchyard_core::accounting::prices::Prices::with_overrides(&config.prices),
        lifecycle: Arc::new(Lifecycle::default()),
        oauth,
        refresher,
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

/// Run the server until a shutdown signal, then stop in the order of
/// [`crate::lifecycle`]. `overrides` are kept to re-read the configuration on SIGHUP
/// (routing and resilience settings apply without a restart); `activated` holds the
/// sockets systemd passed in, if any.
pub async fn run(
    config: Config,
    overrides: Overrides,
    activated: listenfd::ListenFd,
) -> Result<(), ServeError> {
    let prepared = prepare(&config).await?;
    // Handlers go in before the listener accepts: until then a signal's default action
    // (terminate) would kill the process without draining.
    let shutdown = shutdown_signal();
    let state = prepared.state.clone();
    let life = Arc::clone(&state.lifecycle);
    if let Some(feed) = change_feed::start(state.admin.clone()).await {
        life.spawn("change feed", feed);
    }
    life.spawn("reloader", reload_on_hangup(state.clone(), overrides));
    life.spawn(
        "mapping sync",
        switchyard_core::mapping::sync::run(state.admin.clone(), config.sync.clone()),
    );
    life.spawn(
        "account upkeep",
        switchyard_core::upkeep::run(state.admin.clone(), state.upstream.clone()),
    );
    life.spawn("oauth refresh", Arc::clone(&state.refresher).run());
    if let Some(path) = &prepared.admin_key_file {
        tracing::info!(path = %path.display(), "admin key (Authorization: Bearer <key> on /api/*) is in this file");
    }
    let addr = SocketAddr::new(config.host, config.port);
    let (listener, source) = listen::acquire(addr, &config.data_dir, activated)
        .await
        .map_err(|source| ServeError::Bind { addr, source })?;
    let local = listener
        .local_addr()
        .map_err(|source| ServeError::Bind { addr, source })?;
    let offer = offer_to_successors(&life, &listener, &config.data_dir, source);
    let accounts = state.pool.accounts().len();
    let server = conn::Server::new(
        listener,
        app::router(prepared.state),
        config.server,
        Arc::clone(&life),
    );
    tracing::info!(
        accounts,
        data_dir = %config.data_dir.display(),
        max_connections = server.max_connections(),
        socket = source.as_str(),
        "switchyard listening on http://{local}"
    );
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut server = tokio::spawn(server.serve(async move {
        let mut rx = stop_rx;
        let _ = rx.wait_for(|stop| *stop).await;
    }));
    notify::ready();
    tokio::select! {
        joined = &mut server => return flatten(joined),
        () = shutdown => {}
    }

    // 1. Draining: not ready, the supervisor told, no more offers or accepts.
    let drain = config.server.drain;
    tracing::info!(deadline = ?drain, lame_duck = ?config.server.lame_duck, "shutting down: draining in-flight requests");
    life.start_draining();
    notify::stopping();
    if let Some(offer) = &offer {
        offer.withdraw();
    }
    // 2–3. The server stops accepting, keeps idle connections for the lame duck, then
    // closes them and waits for the requests in progress.
    let _ = stop_tx.send(true);
    let deadline = tokio::time::Instant::now() + drain;
    if let Ok(joined) = tokio::time::timeout_at(deadline, &mut server).await {
        flatten(joined)?;
    } else {
        // 4. The deadline: streams end with an error event, waiting requests get 503.
        tracing::warn!("drain deadline passed; ending the requests still open");
        life.cut().cancel();
        if tokio::time::timeout(lifecycle::CUT_GRACE, &mut server)
            .await
            .is_err()
        {
            server.abort();
        }
    }
    // 5–6. Background tasks, then the request log.
    life.stop_background().await;
    state
        .refresher
        .finish(switchyard_core::oauth::refresh::SHUTDOWN_WAIT)
        .await;
    switchyard_core::upkeep::flush(&state.admin).await;
    state.log.flush_and_stop().await;
    tracing::info!(
        dropped = state.log.dropped(),
        "stopped; request log written"
    );
    Ok(())
}

/// Offer the listening socket to a successor on the same data dir (not when systemd
/// holds it: systemd hands it to the next process itself).
fn offer_to_successors(
    life: &Lifecycle,
    listener: &tokio::net::TcpListener,
    data_dir: &Path,
    source: listen::Source,
) -> Option<Arc<handover::Offer>> {
    if source == listen::Source::Systemd {
        return None;
    }
    let offered = handover::Offer::new(listener)
        .and_then(|offer| Ok((Arc::new(offer), handover::bind(data_dir)?)));
    match offered {
        Ok((offer, bound)) => {
            life.spawn("handover", handover::serve(bound, Arc::clone(&offer)));
            Some(offer)
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot offer the listening socket to a successor (a redeploy falls back to SO_REUSEPORT)");
            None
        }
    }
}

/// On SIGHUP, re-read the configuration and apply its routing and resilience settings.
/// An invalid file is reported and ignored: the running settings stay.
async fn reload_on_hangup(state: AppState, overrides: Overrides) {
    #[cfg(unix)]
    {
        let Ok(mut hup) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        else {
            return;
        };
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
    }
    #[cfg(not(unix))]
    let _ = (state, overrides);
}

fn flatten(joined: Result<(), tokio::task::JoinError>) -> Result<(), ServeError> {
    joined.map_err(|e| ServeError::Serve(std::io::Error::other(e.to_string())))
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
