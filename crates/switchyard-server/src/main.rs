//! The `switchyard` binary: an LLM API gateway serving OpenAI- (Chat Completions and
//! Responses), Anthropic- and Gemini-compatible endpoints over a pool of upstream
//! accounts.
//!
//! # Layout
//! - `main.rs` / [`cli`]: command line; the only place that decides the exit code.
//! - [`serve`]: start-up (data dir, keys, store, state), listener, graceful drain.
//! - [`lifecycle`]: where the listener comes from (systemd, a running predecessor, or
//!   a fresh bind), readiness to the supervisor, and the order of the shutdown.
//! - [`conn`]: client connections: accept loop, connection cap, header / idle / body
//!   timeouts, closing idle connections on shutdown.
//! - [`app`]: the router and the map of its layers.
//! - [`state`]: shared state handed to handlers.
//! - [`auth`]: client keys on proxy routes, the admin key on `/api/*`.
//! - [`proxy`]: the request pipeline (edge → context → classify → attempt loop →
//!   commit → relay → finish) behind the protocol endpoints.
//! - [`request_id`]: `x-request-id` on every response.
//! - [`api`]: the management REST API and its OpenAPI document.
//! - [`error`]: every error → HTTP, in the client protocol's shape.
//! - [`metrics`]: Prometheus metrics (the `prometheus` crate): handles resolved once,
//!   per-account gauges at scrape time, `/metrics` with the read-only metrics key.
//! - [`dashboard`]: the browser dashboard (`src-leptos/`), embedded by `build.rs` or
//!   served from `SWITCHYARD_STATIC_DIR`, on `/` and non-API paths.

// The OpenAPI document is one `json!` literal per route group; it outgrew the default.
#![recursion_limit = "256"]
mod api;
mod app;
mod auth;
mod cli;
mod conn;
mod dashboard;
mod error;
mod lifecycle;
mod metrics;
mod proxy;
mod request_id;
mod serve;
mod state;

/// mimalloc: the glibc allocator was ~11% of a translated stream's CPU (many small,
/// short-lived allocations per event); see `scripts/profile.sh`.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::Parser;
use std::process::ExitCode;
use switchyard_core::config::{Config, LogFormat};
use switchyard_core::env::OsEnv;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match cli.command {
        cli::Command::Serve(args) => {
            let overrides = args.overrides();
            let config = match Config::load(&overrides, &OsEnv) {
                Ok(c) => c,
                Err(e) => return fail(&e),
            };
            init_tracing(&config.log, config.log_format);
            // Taken before the runtime starts threads: it clears `LISTEN_*` from the
            // environment.
            let activated = listenfd::ListenFd::from_env();
            let runtime = match runtime_builder().enable_all().build() {
                Ok(r) => r,
                Err(e) => return fail(&e),
            };
            match runtime.block_on(serve::run(config, overrides, activated)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => fail(&e),
            }
        }
    }
}

/// One CPU available (a one-core container, or a process pinned to one core): the
/// current-thread scheduler, which skips the work-stealing machinery that has nothing to
/// balance there (+8% JSON passthrough rps pinned to one core, `scripts/bench-traffic.sh`).
/// More CPUs: the multi-thread scheduler, one worker per CPU.
fn runtime_builder() -> tokio::runtime::Builder {
    let cpus = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    if cpus == 1 {
        tokio::runtime::Builder::new_current_thread()
    } else {
        tokio::runtime::Builder::new_multi_thread()
    }
}

#[expect(
    clippy::print_stderr,
    reason = "the CLI reports fatal errors on stderr"
)]
fn fail(error: &dyn std::fmt::Display) -> ExitCode {
    eprintln!("switchyard: error: {error}");
    ExitCode::FAILURE
}

/// Log lines go to stderr: text on a terminal, JSON lines (one object per line, the
/// event's fields flattened beside `timestamp`, `level`, `target` and `message`) when
/// stderr is not a terminal (journald, a container runtime, a file), unless
/// `SWITCHYARD_LOG_FORMAT` / `log_format` says which. Per-request lines carry a
/// `request_id` field (explicit fields at the few call sites rather than a span per
/// request: an info span, created, entered for a few polls and closed, measured ~1 µs
/// per request against ~25 ns for cloning the id's `Arc`, and a relayed body is polled
/// outside the handler's span anyway).
fn init_tracing(filter: &str, format: Option<LogFormat>) {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let terminal = std::io::stderr().is_terminal();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format.unwrap_or(if terminal {
        LogFormat::Text
    } else {
        LogFormat::Json
    }) {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .init(),
        LogFormat::Text => builder.with_ansi(terminal).init(),
    }
}
