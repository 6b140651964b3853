//! Fake upstream LLM providers for tests: one HTTP server on `127.0.0.1:0` that speaks the real
//! OpenAI Chat Completions, Anthropic Messages and Gemini `generateContent` wire formats (JSON,
//! SSE streams, tool calls, usage, errors), with scripted behaviour.
//!
//! # Layout
//!
//! - `lib.rs` — [`FakeProvider`] (start, base URLs, key overrides, recorded calls, shutdown)
//!   and the public types [`RecordedCall`] and [`Protocol`].
//! - `script.rs` — [`Behaviour`], [`ErrorKind`], the built-in key conventions and the
//!   `#fake:` prompt directives, folded into one plan per request.
//! - `hostile.rs` — answers that are not the protocol's own ([`Behaviour::Html200`] and the
//!   other hostile behaviours): HTML pages, redirects, garbage SSE, gzip without its header,
//!   error-first streams, huge bodies.
//! - `reply.rs` — the protocol-neutral conversation read from a request and the deterministic
//!   reply built from it (text, tool calls from the schema, thinking, usage).
//! - `server.rs` — the axum app, shared state, the `Dialect` trait and the executor (latency,
//!   hang, errors, paced and cut streams).
//! - `openai.rs`, `anthropic.rs`, `gemini.rs`, `responses.rs` — one wire protocol each:
//!   routes, request reading and checks, JSON reply, stream events, error body, headers.
//! - `oauth.rs` — [`FakeOAuth`], a fake OAuth 2.0 authorization server (authorization code
//!   with PKCE S256, refresh-token rotation, revocation, short-lived access tokens) whose
//!   [`oauth::TokenGate`] tells this fake which bearer tokens are valid.
//! - `billing.rs` — the billing and quota endpoints (OpenRouter key, OpenAI and Anthropic
//!   admin usage and cost reports).
//! - `main.rs` — the `switchyard-fake` binary for suites that cannot use the Rust API.
//!
//! # Routes
//!
//! OpenAI `POST /v1/chat/completions`, `POST /v1/responses` (JSON and typed-event SSE),
//! `GET /v1/models[/{id}]` (Bearer key). Anthropic
//! `POST /v1/messages`, `POST /v1/messages/count_tokens`, `GET /v1/models[/{id}]` (`x-api-key`,
//! or a bearer token as newer SDKs send, plus a required `anthropic-version`). Gemini
//! `POST /v1beta/models/{model}:{generateContent|streamGenerateContent|countTokens}` and
//! `GET /v1beta/models[/{model}]` (`x-goog-api-key` or `?key=`), also under `/v1/models/…`
//! (the newer Python SDK's default) when a Gemini key is present.
//!
//! Billing and quota (`billing.rs`, fixed numbers exported as constants): OpenRouter
//! `GET /api/v1/key`; OpenAI `GET /v1/organization/costs` and
//! `/v1/organization/usage/completions` (admin key `sk-admin…`); Anthropic
//! `GET /v1/organizations/cost_report` and `/usage_report/messages` (admin key
//! `sk-ant-admin…`). Normal answers carry rate-limit headers: OpenAI
//! `x-ratelimit-limit-requests: 10000`, `-remaining-requests: 9999`, `-reset-requests: 6ms`,
//! tokens 1000000 / 999900; Anthropic `anthropic-ratelimit-requests-limit: 1000`,
//! `-remaining: 999`, tokens 80000 / 79000, resets one second after the request (RFC 3339).
//! Gemini sends none; its 429s carry `QuotaFailure` (`quotaValue: "20"`, a per-minute
//! `quotaId` for `fake-429`, a `…PerDay…` one for `fake-quota`) and `RetryInfo`.
//! [`FakeProvider::revoke_key`] makes a key answer 401 everywhere.
//!
//! # Scripting
//!
//! Keys (`set_key_behaviour` overrides, else conventions): `fake-429` (429, `retry-after: 1`),
//! `fake-quota` (hard quota), `fake-500`, `fake-529` (overloaded; 503 for OpenAI and Gemini),
//! `fake-401` and any key starting with `bad` (401), `fake-slow` (50 ms between chunks),
//! `fake-hang` (never answers), `fake-disconnect` (stream cut after 2 events); anything else is
//! normal.
//!
//! Directives in the last user message: `#fake:status=N` (429, 500, 503, 529, 400, 401, …),
//! `#fake:quota`, `#fake:latency=MS`, `#fake:chunk_delay=MS`, `#fake:disconnect_after=N`,
//! `#fake:hang`, the hostile answers `#fake:html`, `#fake:garbage_sse`, `#fake:gzip`,
//! `#fake:redirect`, `#fake:html_status=N`, `#fake:stream_error`, `#fake:huge=BYTES` (the
//! [`Behaviour`] variants of the same names, also set per key with `set_key_behaviour`),
//! `#fake:tool`, `#fake:parallel`, `#fake:thinking`, `#fake:max_tokens`,
//! `#fake:echo`, `#fake:signatures` (the reply says how many of the fake's own thinking
//! signatures the request carried back, and how many others).

mod anthropic;
mod billing;
mod gemini;
mod hostile;
pub mod oauth;
mod openai;
mod reply;
mod responses;
mod script;
mod server;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use billing::{ANTHROPIC_COST_CENTS, OPENAI_COSTS_USD, OPENROUTER_LIMIT, OPENROUTER_USAGE};
pub use oauth::FakeOAuth;
pub use script::{Behaviour, ErrorKind};

/// Which wire protocol a request spoke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    OpenAi,
    Anthropic,
    Gemini,
    /// OpenAI Responses (`POST /v1/responses`).
    Responses,
}

/// One request as the fake upstream received it.
#[derive(Debug, Clone)]
pub struct RecordedCall {
    pub protocol: Protocol,
    /// The request target: path plus `?query` when there is one
    /// (e.g. `/v1beta/models/gemini-fake:streamGenerateContent?alt=sse`).
    pub path: String,
    /// The API key used ("" when none was sent).
    pub api_key: String,
    /// The requested model ("" when none: model lists, unparsable bodies).
    pub model: String,
    /// Whether a stream was asked for (`"stream": true`, or Gemini `streamGenerateContent`).
    pub stream: bool,
    /// The JSON body (`Null` when absent or not JSON).
    pub body: serde_json::Value,
    /// Every request header, names lowercase, in arrival order.
    pub headers: Vec<(String, String)>,
}

/// A running fake upstream serving all three protocols. Dropping it shuts the server down:
/// the listener closes, hung requests and streams end.
#[derive(Debug)]
pub struct FakeProvider {
    addr: SocketAddr,
    shared: Arc<server::Shared>,
    shutdown: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl FakeProvider {
    /// Binds `127.0.0.1:0` and spawns the server task.
    pub async fn start() -> std::io::Result<FakeProvider> {
        FakeProvider::start_on(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await
    }

    /// Binds `addr` (port 0 for any free port) and spawns the server task.
    pub async fn start_on(addr: SocketAddr) -> std::io::Result<FakeProvider> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let (shutdown, shutdown_rx) = watch::channel(false);
        let shared = Arc::new(server::Shared::new(shutdown_rx.clone()));
        let app = server::app(Arc::clone(&shared));
        let mut signal = shutdown_rx;
        let task = tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async move {
                // An error means the sender is gone: shut down as well.
                let _gone = signal.wait_for(|down| *down).await;
            });
            // Serving only fails if accepting fails for good; nothing to report it to.
            let _result = serve.await;
        });
        Ok(FakeProvider {
            addr,
            shared,
            shutdown,
            task,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT` (no path).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `http://127.0.0.1:PORT/v1`; a client appends `/chat/completions`.
    pub fn openai_base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// `http://127.0.0.1:PORT`; a client appends `/v1/messages`.
    pub fn anthropic_base_url(&self) -> String {
        self.base_url()
    }

    /// `http://127.0.0.1:PORT`; a client appends `/v1beta/models/...`.
    pub fn gemini_base_url(&self) -> String {
        self.base_url()
    }

    /// Scripts every request made with `api_key` (replaces the key conventions for that key;
    /// prompt directives still override it).
    pub fn set_key_behaviour(&self, api_key: &str, behaviour: Behaviour) {
        self.shared.set_key_behaviour(api_key, behaviour);
    }

    /// Revoke `api_key`: from now on every request with it (model lists included) gets
    /// the protocol's 401 (OpenAI `invalid_api_key`, Anthropic `authentication_error`,
    /// Gemini `UNAUTHENTICATED`). [`Self::restore_key`] undoes it.
    pub fn revoke_key(&self, api_key: &str) {
        self.set_key_behaviour(
            api_key,
            Behaviour::Status {
                status: 401,
                retry_after_secs: None,
                kind: ErrorKind::Unauthorized,
            },
        );
    }

    /// Let a fake OAuth server decide which of its bearer tokens are valid: a request
    /// with an expired, revoked or unknown access token of that server gets the
    /// protocol's 401 (other keys keep their behaviours).
    pub fn set_token_gate(&self, gate: oauth::TokenGate) {
        self.shared.set_token_gate(gate);
    }

    /// Make `api_key` answer normally again.
    pub fn restore_key(&self, api_key: &str) {
        self.set_key_behaviour(api_key, Behaviour::Normal);
    }

    /// Every request received so far, in arrival order.
    pub fn calls(&self) -> Vec<RecordedCall> {
        self.shared.calls()
    }

    pub fn clear_calls(&self) {
        self.shared.clear_calls();
    }
}

impl Drop for FakeProvider {
    fn drop(&mut self) {
        // Wakes hung requests and paced streams, starts the graceful shutdown of open
        // connections; aborting the accept loop closes the listener right away.
        self.shutdown.send_replace(true);
        self.task.abort();
    }
}

#[cfg(test)]
mod tests;
