//! The HTTP application: every route and the layers around them.
//!
//! # The stack, outermost first
//! 1. **Router** — `/api/*` (management), proxy routes, `/healthz`, `/readyz`, and the
//!    dashboard ([`crate::dashboard`]) on `/` and as the fallback for other `GET`s.
//!    Unknown paths under `/v1`, `/v1beta` and any non-`GET` answer in the caller's
//!    protocol shape ([`crate::proxy::fallback`]); inside `/api` with a JSON
//!    `ApiErrorBody`. The dashboard never answers a reserved path with its page.
//! 2. **Request id** — set by the connection service ([`crate::request_id::assign`] from
//!    [`crate::conn`], beneath the router): every response carries `x-request-id` (the
//!    client's when sane, else a fresh one).
//! 3. **Admin auth** (`/api/*` only) — [`crate::auth::require_admin`], constant-time
//!    compare of the admin key's digest. Nothing is added to request extensions.
//! 4. **Handlers** — proxy handlers go through the one request pipeline
//!    ([`crate::proxy`]): they authenticate the client key themselves (the error must be
//!    in their protocol's shape).
//!
//! No body-limit or timeout layer wraps the proxy: the limit is enforced while reading
//! (so the 413 is protocol-shaped) and streams may legitimately run for minutes.

use crate::api;
use crate::api::ops;
use crate::dashboard::Dashboard;
use crate::proxy::{anthropic, fallback, gemini, models, openai, responses};
use crate::state::AppState;
use axum::Router;
use axum::extract::Request;
use axum::routing::{get, post};
use switchyard_core::env::OsEnv;

/// The application router. The dashboard comes from `SWITCHYARD_STATIC_DIR` when set,
/// else from the files embedded at build time.
pub fn router(state: AppState) -> Router {
    let dashboard = Dashboard::from_env(&OsEnv);
    dashboard.log_source();
    let index = dashboard.clone();
    Router::new()
        .route("/v1/chat/completions", post(openai::chat_completions))
        .route("/v1/models", get(models::list_any))
        .route("/v1/responses", post(responses::responses))
        .route("/v1/messages", post(anthropic::messages))
        .route("/v1/messages/count_tokens", post(anthropic::count_tokens))
        .route("/v1beta/models", get(models::list_gemini))
        .route("/v1beta/models/{model_action}", post(gemini::model_action))
        .route("/v1/models/{model_action}", post(gemini::model_action))
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::scrape))
        .route(
            "/",
            get(move |request: Request| index.clone().fallback(request)),
        )
        .nest("/api", api::router(&state))
        .fallback(move |request: Request| dashboard.clone().fallback(request))
        .method_not_allowed_fallback(fallback::method_not_allowed)
        .with_state(state)
}
