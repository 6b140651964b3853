//! Operational endpoints: `/healthz`, `/readyz` (no auth) and `/api/metrics`.

use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::response::IntoResponse;
use http::header;
use serde_json::json;

pub async fn healthz() -> impl IntoResponse {
    Json(json!({"status": "ok"}))
}

/// Ready once the state is loaded, which happens before the listener accepts.
pub async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let accounts = state.pool.accounts();
    let enabled = accounts.iter().filter(|a| a.enabled).count();
    Json(json!({"status": "ready", "accounts": accounts.len(), "enabled_accounts": enabled}))
}

pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let accounts = state.pool.accounts();
    let count = |f: &dyn Fn(&switchyard_core::pool::PoolAccount) -> u64| -> u64 {
        accounts.iter().map(|a| f(a)).sum()
    };
    let gauges = [
        (
            "switchyard_accounts",
            "Accounts in the pool.",
            count(&|_| 1),
        ),
        (
            "switchyard_accounts_enabled",
            "Enabled accounts.",
            count(&|a| u64::from(a.enabled)),
        ),
        (
            "switchyard_inflight_requests",
            "Upstream requests in flight.",
            count(&|a| u64::from(a.state.active())),
        ),
        (
            "switchyard_client_keys",
            "Client keys.",
            state.keys.len() as u64,
        ),
        (
            "switchyard_log_queue_depth",
            "Finished requests waiting to be written to the request log.",
            state.log.depth(),
        ),
        (
            "switchyard_unpriced_requests_total",
            "Answered requests whose model has no price (their cost is null).",
            state.prices.unpriced(),
        ),
        (
            "switchyard_log_dropped_total",
            "Finished requests left out of the request log (queue full or write failed).",
            state.log.dropped(),
        ),
    ];
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(&gauges),
    )
}
