//! Configuration: defaults ← TOML file ← `SWITCHYARD_*` environment ← command-line flags.
//!
//! The file is parsed into [`RawConfig`] (unknown keys rejected, the path of a bad field
//! reported), layered with overrides, then validated into the runtime [`Config`]. Every
//! error names the field or variable at fault, so an operator can fix it from the message.

use crate::env::Env;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub const DEFAULT_HOST: &str = "127.0.0.1";
pub const DEFAULT_PORT: u16 = 8045;
pub const DEFAULT_MAX_BODY_BYTES: usize = 32 * 1024 * 1024;
pub const DEFAULT_MAX_BUFFERED_BYTES: usize = 256 * 1024 * 1024;

/// A configuration problem, naming the offending field.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path}: field `{field}`: {message}")]
    Parse {
        path: PathBuf,
        field: String,
        message: String,
    },
    #[error("{source_name}: invalid value {value:?}: {message}")]
    Invalid {
        source_name: String,
        value: String,
        message: String,
    },
    #[error("config field `{field}`: {message}")]
    Field { field: String, message: String },
    #[error("no data directory: set SWITCHYARD_DATA_DIR, --data-dir, or HOME")]
    NoDataDir,
}

/// The file's shape. All fields optional: zero config works.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    pub host: Option<String>,
    pub port: Option<u16>,
    pub data_dir: Option<PathBuf>,
    /// Admin bearer key. Prefer `SWITCHYARD_ADMIN_KEY` or the generated key file.
    pub admin_key: Option<String>,
    /// Read-only key for `GET /metrics` (Prometheus); prefer `SWITCHYARD_METRICS_KEY`.
    pub metrics_key: Option<String>,
    pub log: Option<String>,
    /// Log line format: `"json"`, `"text"` or `"auto"` (JSON when stderr is not a
    /// terminal). `SWITCHYARD_LOG_FORMAT` overrides it.
    pub log_format: Option<String>,
    pub max_body_bytes: Option<usize>,
    /// Memory budget for buffered request and response bytes, across all requests
    /// (1 MiB..=64 GiB, at least `max_body_bytes`; default 256 MiB). Over it, requests
    /// get 503.
    pub max_buffered_bytes: Option<usize>,
    #[serde(default)]
    pub upstream: RawUpstream,
    #[serde(default)]
    pub server: RawServer,
    /// `[routing]`, `[aimd]`, `[breaker]`, `[retry]`: see [`crate::pool::RoutingSettings`].
    #[serde(default)]
    pub routing: crate::pool::RoutingConfig,
    #[serde(default)]
    pub aimd: crate::resilience::aimd::AimdConfig,
    #[serde(default)]
    pub breaker: crate::resilience::breaker::BreakerConfig,
    #[serde(default)]
    pub retry: crate::resilience::backoff::RetryConfig,
    /// `[[quota_protection]]`: keep the last of a quota (see
    /// [`crate::pool::QuotaProtection`]).
    #[serde(default)]
    pub quota_protection: Vec<crate::pool::QuotaProtection>,
    /// `[prices."MODEL"]`: add to or replace the shipped price table (USD per million
    /// tokens, each finite and 0..=1000000; see [`crate::accounting::prices`]).
    #[serde(default)]
    pub prices: BTreeMap<String, crate::accounting::prices::ModelPrice>,
    /// `[logs]`: the request log's queue and retention.
    #[serde(default)]
    pub logs: RawLogs,
    /// `[sync]`: model mapping sync (the remote itself comes from the environment).
    #[serde(default)]
    pub sync: RawSync,
    /// `[oauth]`: the gateway's public URL and `[oauth.providers.NAME]` (see
    /// [`crate::oauth::config`]).
    #[serde(default)]
    pub oauth: crate::oauth::RawOAuth,
}

/// `[sync]` table: see [`crate::mapping::sync::SyncSettings`]. The remote is set by
/// `SWITCHYARD_SYNC_REMOTE` and `SWITCHYARD_SYNC_KEY` (environment only: the key is a
/// secret).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSync {
    /// Seconds between two syncs with the remote (1..=86400, default 60).
    pub interval_secs: Option<u64>,
    /// Days a deleted alias is remembered so the deletion reaches the remote
    /// (1..=3650, default 30).
    pub tombstone_days: Option<u64>,
}

/// `[logs]` table: the request log (see [`crate::accounting::log::LogSettings`]).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLogs {
    /// Log every finished request (default true). Off, nothing is written (retention
    /// still runs); the SQLite writer costs CPU at high request rates.
    pub enabled: Option<bool>,
    /// Rows older than this many days are deleted (1..=3650, default 30).
    pub retention_days: Option<u64>,
    /// Rows kept at most, the oldest deleted first (1000..=100000000, default 1000000).
    pub max_rows: Option<u64>,
    /// Finished requests waiting to be written before new ones are dropped and counted
    /// (1..=1000000, default 10000).
    pub queue: Option<usize>,
}

/// `[upstream]` table.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawUpstream {
    /// TCP + TLS connect timeout, seconds (1..=300, default 10).
    pub connect_timeout_secs: Option<u64>,
    /// Time allowed until the upstream's response headers, seconds (1..=3600, default 300).
    pub header_timeout_secs: Option<u64>,
    /// Longest silence allowed between two chunks of a response body, seconds
    /// (1..=3600, default 300).
    pub idle_timeout_secs: Option<u64>,
    /// Let image fetches (inlining image URLs for Gemini) reach loopback, private,
    /// link-local and other non-public addresses (default false).
    pub allow_private_image_hosts: Option<bool>,
}

/// `[server]` table: limits on client connections (see [`ServerConfig`]).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawServer {
    /// Time a connection has to send a request's headers, seconds (1..=300, default 10).
    pub header_timeout_secs: Option<u64>,
    /// How long a keep-alive connection may wait for its next request, seconds
    /// (1..=3600, default 60).
    pub idle_timeout_secs: Option<u64>,
    /// Time a request has to send its whole body, seconds (1..=3600, default 60).
    pub body_timeout_secs: Option<u64>,
    /// Client connections served at once (1..=1000000, default 10000; lowered to fit the
    /// open-file limit).
    pub max_connections: Option<usize>,
    /// After SIGTERM, how long in-flight requests and streams may run, seconds
    /// (1..=3600, default 30). Streams still open then end with an error event.
    pub drain_secs: Option<u64>,
    /// After SIGTERM, how long idle keep-alive connections stay open so that a request
    /// already on its way is still served (with `Connection: close`), milliseconds
    /// (0..=60000, default 1000).
    pub lame_duck_ms: Option<u64>,
}

/// Overrides from the command line (highest precedence).
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub config_file: Option<PathBuf>,
    pub host: Option<String>,
    pub port: Option<u16>,
    pub data_dir: Option<PathBuf>,
}

/// Validated runtime configuration.
#[derive(Clone)]
pub struct Config {
    pub host: IpAddr,
    pub port: u16,
    pub data_dir: PathBuf,
    /// From file or env; `None` means use (or generate) `<data_dir>/admin.key`.
    pub admin_key: Option<String>,
    /// From `SWITCHYARD_METRICS_KEY` or the file: may read `GET /metrics`, nothing else.
    pub metrics_key: Option<String>,
    /// From `SWITCHYARD_MASTER_KEY`; `None` means use (or generate) `<data_dir>/master.key`.
    pub master_key: Option<String>,
    pub static_dir: Option<PathBuf>,
    pub log: String,
    /// How log lines are written; `None`: JSON when stderr is not a terminal, else text.
    pub log_format: Option<LogFormat>,
    pub max_body_bytes: usize,
    /// See [`RawConfig::max_buffered_bytes`].
    pub max_buffered_bytes: usize,
    pub upstream: UpstreamConfig,
    /// Limits on client connections (applied at start-up).
    pub server: ServerConfig,
    /// Routing and resilience tuning (hot-reloadable).
    pub routing: crate::pool::RoutingSettings,
    /// Price overrides for the shipped table (validated).
    pub prices: BTreeMap<String, crate::accounting::prices::ModelPrice>,
    /// The request log's queue and retention (applied at start-up).
    pub logs: crate::accounting::log::LogSettings,
    /// Model mapping sync (applied at start-up).
    pub sync: crate::mapping::sync::SyncSettings,
    /// OAuth providers (applied at start-up).
    pub oauth: crate::oauth::OAuthSettings,
    /// The file the config came from, if any.
    pub source_file: Option<PathBuf>,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("data_dir", &self.data_dir)
            .field("admin_key", &self.admin_key.as_ref().map(|_| "<redacted>"))
            .field(
                "metrics_key",
                &self.metrics_key.as_ref().map(|_| "<redacted>"),
            )
            .field(
                "master_key",
                &self.master_key.as_ref().map(|_| "<redacted>"),
            )
            .field("static_dir", &self.static_dir)
            .field("log", &self.log)
            .field("log_format", &self.log_format)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("max_buffered_bytes", &self.max_buffered_bytes)
            .field("upstream", &self.upstream)
            .field("server", &self.server)
            .field("routing", &self.routing)
            .field("prices", &self.prices)
            .field("logs", &self.logs)
            .field("sync", &self.sync)
            .field("oauth", &self.oauth)
            .field("source_file", &self.source_file)
            .finish()
    }
}

/// Upstream HTTP behaviour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UpstreamConfig {
    pub connect_timeout: Duration,
    pub header_timeout: Duration,
    pub idle_timeout: Duration,
    /// Image fetches may reach non-public addresses (see `upstream::guard`).
    pub allow_private_image_hosts: bool,
}

impl Default for UpstreamConfig {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(10),
            header_timeout: Duration::from_secs(300),
            idle_timeout: Duration::from_secs(300),
            allow_private_image_hosts: false,
        }
    }
}

/// Limits on client connections: a client that stalls is cut off instead of holding a
/// socket (and a file descriptor) for ever.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerConfig {
    /// From accepting a connection (or, on a kept-alive one, from the first byte of the
    /// next request) to the end of the request's headers.
    pub header_timeout: Duration,
    /// From the end of a response to the first byte of the next request.
    pub idle_timeout: Duration,
    /// From the request's headers to the end of its body.
    pub body_timeout: Duration,
    /// Connections served at once; more wait in the listen queue.
    pub max_connections: usize,
    /// After SIGTERM: the longest in-flight requests and streams may run.
    pub drain: Duration,
    /// After SIGTERM: how long idle keep-alive connections are kept for a request that
    /// may already be on its way.
    pub lame_duck: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            body_timeout: Duration::from_secs(60),
            max_connections: 10_000,
            drain: Duration::from_secs(30),
            lame_duck: Duration::from_secs(1),
        }
    }
}

/// How log lines are written (`SWITCHYARD_LOG_FORMAT` / `log_format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines (`tracing_subscriber`'s full format).
    Text,
    /// One JSON object per line, for log collectors (journald, Loki, Vector…).
    Json,
}

impl LogFormat {
    /// `json` / `text` (any case); `auto` or empty → `None` (decided by whether stderr
    /// is a terminal).
    fn parse(source_name: &str, value: &str) -> Result<Option<Self>, ConfigError> {
        match value.trim().to_ascii_lowercase().as_str() {
            "json" => Ok(Some(Self::Json)),
            "text" => Ok(Some(Self::Text)),
            "auto" | "" => Ok(None),
            _ => Err(ConfigError::Invalid {
                source_name: source_name.to_owned(),
                value: value.to_owned(),
                message: "must be json, text or auto".into(),
            }),
        }
    }
}

impl Config {
    /// Load from the layered sources. `env` is the process environment in production.
    pub fn load(overrides: &Overrides, env: &dyn Env) -> Result<Self, ConfigError> {
        let file = overrides
            .config_file
            .clone()
            .or_else(|| env.var("SWITCHYARD_CONFIG").map(PathBuf::from));
        let raw = match &file {
            Some(path) => parse_file(path)?,
            None => RawConfig::default(),
        };
        Self::from_layers(raw, file, overrides, env)
    }

    fn from_layers(
        raw: RawConfig,
        source_file: Option<PathBuf>,
        overrides: &Overrides,
        env: &dyn Env,
    ) -> Result<Self, ConfigError> {
        let host_src = overrides
            .host
            .clone()
            .map(|h| ("--host", h))
            .or_else(|| env.var("SWITCHYARD_HOST").map(|h| ("SWITCHYARD_HOST", h)))
            .or_else(|| raw.host.clone().map(|h| ("host", h)))
            .unwrap_or(("host", DEFAULT_HOST.to_owned()));
        let host = parse_host(host_src.0, &host_src.1)?;

        let port = match (overrides.port, env.var("SWITCHYARD_PORT")) {
            (Some(p), _) => p,
            (None, Some(v)) => v.trim().parse::<u16>().map_err(|_| ConfigError::Invalid {
                source_name: "SWITCHYARD_PORT".into(),
                value: v.clone(),
                message: "must be a port number 0..=65535".into(),
            })?,
            (None, None) => raw.port.unwrap_or(DEFAULT_PORT),
        };

        let data_dir = match overrides
            .data_dir
            .clone()
            .or_else(|| env.var("SWITCHYARD_DATA_DIR").map(PathBuf::from))
            .or_else(|| raw.data_dir.clone())
        {
            Some(dir) => dir,
            None => default_data_dir(env).ok_or(ConfigError::NoDataDir)?,
        };
        if data_dir.as_os_str().is_empty() {
            return Err(invalid("data_dir", "", "must not be empty"));
        }

        let admin_key = env
            .var("SWITCHYARD_ADMIN_KEY")
            .or(raw.admin_key)
            .filter(|k| !k.is_empty());
        if let Some(key) = &admin_key
            && (key.len() < 8 || key.chars().any(char::is_whitespace))
        {
            return Err(invalid(
                "admin_key",
                "<redacted>",
                "must be at least 8 characters without whitespace",
            ));
        }
        let metrics_key = env
            .var("SWITCHYARD_METRICS_KEY")
            .or(raw.metrics_key)
            .filter(|k| !k.is_empty());
        if let Some(key) = &metrics_key
            && (key.len() < 8 || key.chars().any(char::is_whitespace))
        {
            return Err(invalid(
                "metrics_key",
                "<redacted>",
                "must be at least 8 characters without whitespace",
            ));
        }
        let master_key = env.var("SWITCHYARD_MASTER_KEY").filter(|k| !k.is_empty());
        let static_dir = env
            .var("SWITCHYARD_STATIC_DIR")
            .filter(|s| !s.is_empty())
            .map(PathBuf::from);
        let log = env
            .var("SWITCHYARD_LOG")
            .or(raw.log)
            .unwrap_or_else(|| "info".to_owned());
        let log_format = match env.var("SWITCHYARD_LOG_FORMAT") {
            Some(v) => LogFormat::parse("SWITCHYARD_LOG_FORMAT", &v)?,
            None => match &raw.log_format {
                Some(v) => LogFormat::parse("log_format", v)?,
                None => None,
            },
        };

        let max_body_bytes = raw.max_body_bytes.unwrap_or(DEFAULT_MAX_BODY_BYTES);
        if !(1024..=1024 * 1024 * 1024).contains(&max_body_bytes) {
            return Err(invalid(
                "max_body_bytes",
                &max_body_bytes.to_string(),
                "must be between 1024 and 1073741824",
            ));
        }
        let max_buffered_bytes = raw.max_buffered_bytes.unwrap_or(DEFAULT_MAX_BUFFERED_BYTES);
        if !(1 << 20..=64 << 30).contains(&max_buffered_bytes)
            || max_buffered_bytes < max_body_bytes
        {
            return Err(invalid(
                "max_buffered_bytes",
                &max_buffered_bytes.to_string(),
                "must be between 1048576 and 68719476736, and at least max_body_bytes",
            ));
        }

        let d = UpstreamConfig::default();
        let u = &raw.upstream;
        let upstream = UpstreamConfig {
            connect_timeout: secs_in(
                "upstream.connect_timeout_secs",
                u.connect_timeout_secs,
                1..=300,
                d.connect_timeout,
            )?,
            header_timeout: secs_in(
                "upstream.header_timeout_secs",
                u.header_timeout_secs,
                1..=3600,
                d.header_timeout,
            )?,
            idle_timeout: secs_in(
                "upstream.idle_timeout_secs",
                u.idle_timeout_secs,
                1..=3600,
                d.idle_timeout,
            )?,
            allow_private_image_hosts: u
                .allow_private_image_hosts
                .unwrap_or(d.allow_private_image_hosts),
        };

        let d = ServerConfig::default();
        let s = &raw.server;
        let max_connections = s.max_connections.unwrap_or(d.max_connections);
        if !(1..=1_000_000).contains(&max_connections) {
            return Err(invalid(
                "server.max_connections",
                &max_connections.to_string(),
                "must be between 1 and 1000000",
            ));
        }
        let server = ServerConfig {
            header_timeout: secs_in(
                "server.header_timeout_secs",
                s.header_timeout_secs,
                1..=300,
                d.header_timeout,
            )?,
            idle_timeout: secs_in(
                "server.idle_timeout_secs",
                s.idle_timeout_secs,
                1..=3600,
                d.idle_timeout,
            )?,
            body_timeout: secs_in(
                "server.body_timeout_secs",
                s.body_timeout_secs,
                1..=3600,
                d.body_timeout,
            )?,
            max_connections,
            drain: secs_in("server.drain_secs", s.drain_secs, 1..=3600, d.drain)?,
            lame_duck: match s.lame_duck_ms {
                None => d.lame_duck,
                Some(ms) if ms <= 60_000 => Duration::from_millis(ms),
                Some(ms) => {
                    return Err(invalid(
                        "server.lame_duck_ms",
                        &ms.to_string(),
                        "must be between 0 and 60000",
                    ));
                }
            },
        };

        let routing = crate::pool::RoutingSettings {
            routing: raw.routing,
            aimd: raw.aimd,
            breaker: raw.breaker,
            retry: raw.retry,
            quota_protection: raw.quota_protection,
        };
        routing
            .validate()
            .map_err(|(field, message)| ConfigError::Field {
                field: field.to_owned(),
                message,
            })?;

        for (model, price) in &raw.prices {
            if let Some(field) = price.invalid_field() {
                return Err(ConfigError::Field {
                    field: format!("prices.\"{model}\".{field}"),
                    message: "must be a finite number between 0 and 1000000".into(),
                });
            }
        }

        let logs = log_settings(&raw.logs)?;
        let sync = sync_settings(&raw.sync, env)?;
        let oauth = raw.oauth.validate()?;

        Ok(Self {
            routing,
            logs,
            sync,
            oauth,
            prices: raw.prices,
            host,
            port,
            data_dir,
            admin_key,
            metrics_key,
            master_key,
            static_dir,
            log,
            log_format,
            max_body_bytes,
            max_buffered_bytes,
            upstream,
            server,
            source_file,
        })
    }
}

fn log_settings(raw: &RawLogs) -> Result<crate::accounting::log::LogSettings, ConfigError> {
    let d = crate::accounting::log::LogSettings::default();
    let days = raw.retention_days.unwrap_or(d.retention.as_secs() / 86_400);
    if !(1..=3650).contains(&days) {
        return Err(invalid(
            "logs.retention_days",
            &days.to_string(),
            "must be between 1 and 3650",
        ));
    }
    let max_rows = raw.max_rows.unwrap_or(d.max_rows);
    if !(1_000..=100_000_000).contains(&max_rows) {
        return Err(invalid(
            "logs.max_rows",
            &max_rows.to_string(),
            "must be between 1000 and 100000000",
        ));
    }
    let queue = raw.queue.unwrap_or(d.queue);
    if !(1..=1_000_000).contains(&queue) {
        return Err(invalid(
            "logs.queue",
            &queue.to_string(),
            "must be between 1 and 1000000",
        ));
    }
    Ok(crate::accounting::log::LogSettings {
        enabled: raw.enabled.unwrap_or(d.enabled),
        queue,
        retention: Duration::from_secs(days * 86_400),
        max_rows,
        ..d
    })
}

fn sync_settings(
    raw: &RawSync,
    env: &dyn Env,
) -> Result<crate::mapping::sync::SyncSettings, ConfigError> {
    use crate::mapping::sync::{SyncRemote, SyncSettings};
    let d = SyncSettings::default();
    let interval = secs_in(
        "sync.interval_secs",
        raw.interval_secs,
        1..=86_400,
        d.interval,
    )?;
    let days = raw
        .tombstone_days
        .unwrap_or(d.tombstone_ttl.as_secs() / 86_400);
    if !(1..=3650).contains(&days) {
        return Err(invalid(
            "sync.tombstone_days",
            &days.to_string(),
            "must be between 1 and 3650",
        ));
    }
    let url = env.var("SWITCHYARD_SYNC_REMOTE").filter(|v| !v.is_empty());
    let key = env.var("SWITCHYARD_SYNC_KEY").filter(|v| !v.is_empty());
    let remote = match (url, key) {
        (None, None) => None,
        (Some(url), Some(key)) => {
            let url = url.trim().trim_end_matches('/').to_owned();
            if let Some(problem) = switchyard_types::admin::base_url_problem(&url) {
                return Err(invalid("SWITCHYARD_SYNC_REMOTE", "<url>", problem));
            }
            Some(SyncRemote {
                url,
                key: crate::crypto::Secret::new(key),
            })
        }
        (Some(_), None) => {
            return Err(invalid(
                "SWITCHYARD_SYNC_KEY",
                "",
                "must be set (the remote's admin key) when SWITCHYARD_SYNC_REMOTE is",
            ));
        }
        (None, Some(_)) => {
            return Err(invalid(
                "SWITCHYARD_SYNC_REMOTE",
                "",
                "must be set (the other instance's base URL) when SWITCHYARD_SYNC_KEY is",
            ));
        }
    };
    Ok(SyncSettings {
        remote,
        interval,
        tombstone_ttl: Duration::from_secs(days * 86_400),
    })
}

fn invalid(field: &str, value: &str, message: &str) -> ConfigError {
    ConfigError::Invalid {
        source_name: field.to_owned(),
        value: value.to_owned(),
        message: message.to_owned(),
    }
}

fn secs_in(
    field: &str,
    value: Option<u64>,
    range: std::ops::RangeInclusive<u64>,
    default: Duration,
) -> Result<Duration, ConfigError> {
    match value {
        None => Ok(default),
        Some(v) if range.contains(&v) => Ok(Duration::from_secs(v)),
        Some(v) => Err(invalid(
            field,
            &v.to_string(),
            &format!("must be {}..={} seconds", range.start(), range.end()),
        )),
    }
}

fn parse_host(source: &str, value: &str) -> Result<IpAddr, ConfigError> {
    let v = value.trim();
    if v == "localhost" {
        return Ok(IpAddr::from([127, 0, 0, 1]));
    }
    v.parse().map_err(|_| ConfigError::Invalid {
        source_name: source.to_owned(),
        value: value.to_owned(),
        message: "must be an IP address such as 127.0.0.1, 0.0.0.0 or ::".into(),
    })
}

/// Parse a TOML config file, reporting the dotted path of a bad field.
pub fn parse_file(path: &Path) -> Result<RawConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    parse_str(&text).map_err(|(field, message)| ConfigError::Parse {
        path: path.to_owned(),
        field,
        message,
    })
}

/// Parse TOML text; on error, `(field path, message)`.
pub fn parse_str(text: &str) -> Result<RawConfig, (String, String)> {
    let de = toml::Deserializer::new(text);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let field = e.path().to_string();
        let message = e.inner().message().to_owned();
        (
            if field == "." {
                "(root)".to_owned()
            } else {
                field
            },
            message,
        )
    })
}

/// `$XDG_DATA_HOME/switchyard`, else `$HOME/.local/share/switchyard`.
pub fn default_data_dir(env: &dyn Env) -> Option<PathBuf> {
    if let Some(xdg) = env.var("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(xdg).join("switchyard"));
    }
    env.var("HOME")
        .filter(|v| !v.is_empty())
        .map(|home| PathBuf::from(home).join(".local/share/switchyard"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::MapEnv;

    fn load(raw: &str, env: &MapEnv, o: &Overrides) -> Result<Config, ConfigError> {
        let raw = parse_str(raw).map_err(|(f, m)| ConfigError::Parse {
            path: "t.toml".into(),
            field: f,
            message: m,
        })?;
        Config::from_layers(raw, None, o, env)
    }

    #[test]
    fn zero_config_uses_defaults_and_xdg() {
        let env = MapEnv::new([("HOME", "/home/op")]);
        let c = load("", &env, &Overrides::default()).unwrap();
        assert_eq!(c.host.to_string(), "127.0.0.1");
        assert_eq!(c.port, 8045);
        assert_eq!(
            c.data_dir,
            PathBuf::from("/home/op/.local/share/switchyard")
        );
        assert_eq!(c.max_body_bytes, 32 * 1024 * 1024);
        let env = MapEnv::new([("HOME", "/home/op"), ("XDG_DATA_HOME", "/xdg")]);
        let c = load("", &env, &Overrides::default()).unwrap();
        assert_eq!(c.data_dir, PathBuf::from("/xdg/switchyard"));
    }

    #[test]
    fn precedence_is_flag_over_env_over_file() {
        let env = MapEnv::new([("HOME", "/h"), ("SWITCHYARD_PORT", "9000")]);
        let c = load("port = 7000", &env, &Overrides::default()).unwrap();
        assert_eq!(c.port, 9000);
        let o = Overrides {
            port: Some(9100),
            ..Default::default()
        };
        assert_eq!(load("port = 7000", &env, &o).unwrap().port, 9100);
        let env = MapEnv::new([("HOME", "/h")]);
        assert_eq!(
            load("port = 7000", &env, &Overrides::default())
                .unwrap()
                .port,
            7000
        );
    }

    #[test]
    fn prices_are_parsed_and_validated() {
        let env = MapEnv::new([("HOME", "/h")]);
        let c = load(
            "[prices.\"my-model\"]\ninput = 1.5\noutput = 3\nreasoning = 4\n",
            &env,
            &Overrides::default(),
        )
        .unwrap();
        let price = c.prices.get("my-model").copied();
        assert_eq!(
            price.map(|p| (p.input, p.output, p.reasoning)),
            Some((1.5, 3.0, Some(4.0)))
        );
        let e = load(
            "[prices.\"m\"]\ninput = 1\noutput = -2\n",
            &env,
            &Overrides::default(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("prices.\"m\".output"), "{e}");
        let e = load(
            "[prices.\"m\"]\ninput = 1\noutput = 2\nbogus = 1\n",
            &env,
            &Overrides::default(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("bogus"), "{e}");
    }

    #[test]
    fn log_format_is_env_over_file_and_validated() {
        let env = MapEnv::new([("HOME", "/h")]);
        let o = Overrides::default();
        assert_eq!(load("", &env, &o).unwrap().log_format, None);
        let c = load("log_format = \"json\"", &env, &o).unwrap();
        assert_eq!(c.log_format, Some(LogFormat::Json));
        let env = MapEnv::new([("HOME", "/h"), ("SWITCHYARD_LOG_FORMAT", "Text")]);
        let c = load("log_format = \"json\"", &env, &o).unwrap();
        assert_eq!(c.log_format, Some(LogFormat::Text));
        let env = MapEnv::new([("HOME", "/h"), ("SWITCHYARD_LOG_FORMAT", "auto")]);
        assert_eq!(load("", &env, &o).unwrap().log_format, None);
        let env = MapEnv::new([("HOME", "/h"), ("SWITCHYARD_LOG_FORMAT", "xml")]);
        let e = load("", &env, &o).unwrap_err();
        assert!(e.to_string().contains("SWITCHYARD_LOG_FORMAT"), "{e}");
        let env = MapEnv::new([("HOME", "/h")]);
        let e = load("log_format = \"yaml\"", &env, &o).unwrap_err();
        assert!(e.to_string().contains("log_format"), "{e}");
    }

    #[test]
    fn log_settings_are_parsed_and_validated() {
        let env = MapEnv::new([("HOME", "/h")]);
        let c = load("", &env, &Overrides::default()).unwrap();
        assert_eq!(c.logs, crate::accounting::log::LogSettings::default());
        let c = load(
            "[logs]\nretention_days = 7\nmax_rows = 5000\nqueue = 64\n",
            &env,
            &Overrides::default(),
        )
        .unwrap();
        assert_eq!(c.logs.retention, Duration::from_secs(7 * 86_400));
        assert_eq!((c.logs.max_rows, c.logs.queue), (5000, 64));
        for (toml, field) in [
            ("[logs]\nretention_days = 0\n", "logs.retention_days"),
            ("[logs]\nmax_rows = 10\n", "logs.max_rows"),
            ("[logs]\nqueue = 0\n", "logs.queue"),
            ("[logs]\nbogus = 1\n", "bogus"),
        ] {
            let e = load(toml, &env, &Overrides::default()).unwrap_err();
            assert!(e.to_string().contains(field), "{e}");
        }
    }

    #[test]
    fn errors_name_the_field() {
        let env = MapEnv::new([("HOME", "/h")]);
        let e = load("port = \"abc\"", &env, &Overrides::default()).unwrap_err();
        assert!(e.to_string().contains("`port`"), "{e}");
        let e = load("[upstream]\nmax_atempts = 3", &env, &Overrides::default()).unwrap_err();
        assert!(e.to_string().contains("max_atempts"), "{e}");
        let e = load("[retry]\nmax_attempts = 0", &env, &Overrides::default()).unwrap_err();
        assert!(e.to_string().contains("retry.max_attempts"), "{e}");
        let e = load(
            "[aimd]\nmax_limit = 5\ninitial_limit = 9",
            &env,
            &Overrides::default(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("aimd.initial_limit"), "{e}");
        let e = load(
            "[routing]\ntier_order = [\"pro\"]",
            &env,
            &Overrides::default(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("routing.tier_order"), "{e}");
        let e = load("[breaker]\ncool_down = 3", &env, &Overrides::default()).unwrap_err();
        assert!(e.to_string().contains("cool_down"), "{e}");
        let env = MapEnv::new([("HOME", "/h"), ("SWITCHYARD_PORT", "http")]);
        let e = load("", &env, &Overrides::default()).unwrap_err();
        assert!(e.to_string().contains("SWITCHYARD_PORT"), "{e}");
        let env = MapEnv::new([("HOME", "/h"), ("SWITCHYARD_HOST", "not a host")]);
        let e = load("", &env, &Overrides::default()).unwrap_err();
        assert!(e.to_string().contains("SWITCHYARD_HOST"), "{e}");
    }

    #[test]
    fn private_image_hosts_are_refused_unless_allowed() {
        let env = MapEnv::new([("HOME", "/h")]);
        let c = load("", &env, &Overrides::default()).unwrap();
        assert!(!c.upstream.allow_private_image_hosts);
        let c = load(
            "[upstream]\nallow_private_image_hosts = true",
            &env,
            &Overrides::default(),
        )
        .unwrap();
        assert!(c.upstream.allow_private_image_hosts);
    }

    #[test]
    fn server_limits_have_defaults_and_ranges() {
        let env = MapEnv::new([("HOME", "/h")]);
        let c = load("", &env, &Overrides::default()).unwrap();
        assert_eq!(c.server, ServerConfig::default());
        let c = load(
            "[server]\nheader_timeout_secs = 1\nidle_timeout_secs = 2\nbody_timeout_secs = 3\nmax_connections = 4\ndrain_secs = 5\nlame_duck_ms = 0",
            &env,
            &Overrides::default(),
        )
        .unwrap();
        assert_eq!(c.server.header_timeout, Duration::from_secs(1));
        assert_eq!(c.server.idle_timeout, Duration::from_secs(2));
        assert_eq!(c.server.body_timeout, Duration::from_secs(3));
        assert_eq!(c.server.max_connections, 4);
        assert_eq!(c.server.drain, Duration::from_secs(5));
        assert_eq!(c.server.lame_duck, Duration::ZERO);
        for (toml, field) in [
            ("drain_secs = 0", "server.drain_secs"),
            ("lame_duck_ms = 60001", "server.lame_duck_ms"),
            ("header_timeout_secs = 0", "server.header_timeout_secs"),
            ("idle_timeout_secs = 3601", "server.idle_timeout_secs"),
            ("body_timeout_secs = 0", "server.body_timeout_secs"),
            ("max_connections = 0", "server.max_connections"),
            ("keepalive = 1", "keepalive"),
        ] {
            let e = load(&format!("[server]\n{toml}"), &env, &Overrides::default()).unwrap_err();
            assert!(e.to_string().contains(field), "{e}");
        }
    }

    #[test]
    fn sync_needs_both_variables_and_has_ranges() {
        let o = Overrides::default();
        let env = MapEnv::new([("HOME", "/h")]);
        let c = load("", &env, &o).unwrap();
        assert!(c.sync.remote.is_none());
        assert_eq!(c.sync.interval, Duration::from_secs(60));
        assert_eq!(c.sync.tombstone_ttl, Duration::from_secs(30 * 86_400));
        let env = MapEnv::new([
            ("HOME", "/h"),
            ("SWITCHYARD_SYNC_REMOTE", "http://10.0.0.2:8045/"),
            ("SWITCHYARD_SYNC_KEY", "peer-admin-key-secret"),
        ]);
        let c = load("[sync]\ninterval_secs = 5\ntombstone_days = 2", &env, &o).unwrap();
        let remote = c.sync.remote.as_ref().unwrap();
        assert_eq!(remote.url, "http://10.0.0.2:8045");
        assert_eq!(c.sync.interval, Duration::from_secs(5));
        assert!(!format!("{c:?}").contains("peer-admin-key-secret"));
        let env = MapEnv::new([("HOME", "/h"), ("SWITCHYARD_SYNC_REMOTE", "http://x")]);
        let e = load("", &env, &o).unwrap_err();
        assert!(e.to_string().contains("SWITCHYARD_SYNC_KEY"), "{e}");
        let env = MapEnv::new([
            ("HOME", "/h"),
            ("SWITCHYARD_SYNC_REMOTE", "http://u:pw@x"),
            ("SWITCHYARD_SYNC_KEY", "k"),
        ]);
        let e = load("", &env, &o).unwrap_err();
        assert!(
            e.to_string().contains("SWITCHYARD_SYNC_REMOTE") && !e.to_string().contains("pw"),
            "{e}"
        );
        let env = MapEnv::new([("HOME", "/h")]);
        for (toml, field) in [
            ("[sync]\ninterval_secs = 0", "sync.interval_secs"),
            ("[sync]\ntombstone_days = 0", "sync.tombstone_days"),
            ("[sync]\nremote = \"x\"", "remote"),
        ] {
            let e = load(toml, &env, &o).unwrap_err();
            assert!(e.to_string().contains(field), "{e}");
        }
    }

    #[test]
    fn debug_redacts_keys() {
        let env = MapEnv::new([("HOME", "/h"), ("SWITCHYARD_ADMIN_KEY", "admin-secret-123")]);
        let c = load("", &env, &Overrides::default()).unwrap();
        assert!(!format!("{c:?}").contains("admin-secret"));
    }
}
