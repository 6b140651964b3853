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

/// Ready once the state is loaded, which happens before the listener accepts; 503 once
/// draining (a load balancer stops sending here while the successor takes over).
pub async fn readyz(State(state): State<AppState>) -> axum::response::Response {
    if state.lifecycle.draining() {
        return (
            http::StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "draining"})),
        )
            .into_response();
    }
    let accounts = state.pool.accounts();
    let enabled = accounts.iter().filter(|a| a.enabled).count();
    Json(json!({"status": "ready", "accounts": accounts.len(), "enabled_accounts": enabled}))
        .into_response()
}

/// `GET /metrics`: the same text for Prometheus, readable with the admin key or the
/// read-only `SWITCHYARD_METRICS_KEY`.
pub async fn scrape(
    State(state): State<AppState>,
    headers: http::HeaderMap,
) -> axum::response::Response {
    if !crate::auth::may_scrape(&headers, &state) {
        return crate::error::ApiFailure::unauthorized().into_response();
    }
    metrics(State(state)).await.into_response()
}

/// `GET /api/metrics` (admin key, checked by the `/api` layer).
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let accounts = state.pool.accounts();
    let now = crate::metrics::scrape::Snapshot {
        accounts: &accounts,
        client_keys: state.keys.len() as u64,
        log_queue_depth: state.log.depth(),
        log_dropped: state.log.dropped(),
        unpriced: state.prices.unpriced(),
    };
    (
        [(header::CONTENT_TYPE, prometheus::TEXT_FORMAT)],
        state.metrics.render(&now),
    )
}
