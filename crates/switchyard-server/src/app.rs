//! The HTTP application: every route and the layers around them.
//!
//! # The stack, outermost first
//! 1. **Router** — `/api/*` (management), proxy routes, `/healthz`, `/readyz`, `/`.
//!    Unknown paths and wrong methods outside `/api` answer in the caller's protocol
//!    shape ([`crate::proxy::fallback`]); inside `/api` with a JSON `ApiErrorBody`.
//! 2. **Admin auth** (`/api/*` only) — [`crate::auth::require_admin`], constant-time
//!    compare of the admin key's digest. Nothing is added to request extensions.
//! 3. **Handlers** — proxy handlers authenticate the client key themselves (the error
//!    must be in their protocol's shape), read the body with the configured limit, probe
//!    it, and forward ([`crate::proxy::forward`]).
//!
//! No body-limit or timeout layer wraps the proxy: the limit is enforced while reading
//! (so the 413 is protocol-shaped) and streams may legitimately run for minutes.

use crate::api;
use crate::api::ops;
use crate::proxy::{anthropic, fallback, gemini, models, openai};
use crate::state::AppState;
use axum::Router;
use axum::response::Html;
use axum::routing::{get, post};

/// The application router.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/v1/chat/completions", post(openai::chat_completions))
        .route("/v1/models", get(models::list_any))
        .route("/v1/messages", post(anthropic::messages))
        .route("/v1/messages/count_tokens", post(anthropic::count_tokens))
        .route("/v1beta/models", get(models::list_gemini))
        .route("/v1beta/models/{model_action}", post(gemini::model_action))
        .route("/v1/models/{model_action}", post(gemini::model_action))
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/", get(index))
        .nest("/api", api::router(&state))
        .fallback(fallback::not_found)
        .method_not_allowed_fallback(fallback::method_not_allowed)
        .with_state(state)
}

/// Until the dashboard is embedded, `/` says where things are.
async fn index() -> Html<&'static str> {
    Html(concat!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Switchyard</title></head><body>",
        "<h1>Switchyard</h1><p>The dashboard is not built into this binary.</p>",
        "<p>Management API: <code>/api</code> (admin bearer key), described at <code>/api/openapi.json</code>.</p>",
        "</body></html>"
    ))
}
