//! The management REST API under `/api`, behind the admin key
//! ([`crate::auth::require_admin`]) — except `GET /api/oauth/callback`, where the browser
//! returns from an OAuth provider (guarded by its single-use state). Errors are
//! [`crate::error::ApiFailure`]s.

pub mod accounts;
pub mod json;
pub mod keys;
pub mod logs;
pub mod mapping;
pub mod oauth;
pub mod openapi;
pub mod ops;
pub mod resilience;

use crate::auth::require_admin;
use crate::error::ApiFailure;
use crate::state::AppState;
use axum::Router;
use axum::extract::Request;
use axum::middleware::from_fn_with_state;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::StatusCode;

/// `/api/*` routes; unknown paths get a JSON 404 (never the dashboard's index page).
pub fn router(state: &AppState) -> Router<AppState> {
    Router::new()
        .route("/accounts", get(accounts::list).post(accounts::create))
        .route("/accounts/import", axum::routing::post(accounts::import))
        .route("/accounts/export", get(accounts::export))
        .route("/accounts/bulk", axum::routing::post(accounts::bulk))
        .route(
            "/accounts/{id}/verify",
            axum::routing::post(accounts::verify),
        )
        .route(
            "/accounts/{id}/refresh-quota",
            axum::routing::post(accounts::refresh_quota),
        )
        .route("/quota", get(accounts::quota))
        .route(
            "/accounts/{id}",
            get(accounts::get)
                .patch(accounts::update)
                .delete(accounts::delete),
        )
        .route("/keys", get(keys::list).post(keys::create))
        .route(
            "/keys/{id}",
            get(keys::get).patch(keys::update).delete(keys::delete),
        )
        .route("/config/mapping", get(mapping::list).post(mapping::merge))
        .route(
            "/config/mapping/{alias}",
            axum::routing::put(mapping::put).delete(mapping::delete),
        )
        .route("/resilience/health", get(resilience::health))
        .route("/resilience/circuits", get(resilience::circuits))
        .route("/resilience/aimd", get(resilience::aimd))
        .route(
            "/resilience/lockouts",
            get(resilience::lockouts).delete(resilience::clear_lockouts),
        )
        .route(
            "/resilience/lockouts/{account_id}",
            axum::routing::delete(resilience::clear_account_lockouts),
        )
        .route(
            "/resilience/sessions",
            get(resilience::sessions).delete(resilience::clear_sessions),
        )
        .route("/logs", get(logs::list))
        .route("/logs/{id}", get(logs::get))
        .route("/usage", get(logs::usage))
        .route("/metrics", get(ops::metrics))
        .route("/openapi.json", get(openapi::document))
        .route("/oauth/providers", get(oauth::providers))
        .route("/oauth/start", axum::routing::post(oauth::start))
        .route("/oauth/complete", axum::routing::post(oauth::complete))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(from_fn_with_state(state.clone(), require_admin))
        // The browser returns from the provider without the admin key: the callback is
        // guarded by its single-use state instead (see `oauth`).
        .merge(Router::new().route("/oauth/callback", get(oauth::callback)))
}

async fn not_found(request: Request) -> Response {
    ApiFailure::new(
        StatusCode::NOT_FOUND,
        "not_found",
        format!("no API route {}", request.uri().path()),
    )
    .into_response()
}

async fn method_not_allowed(request: Request) -> Response {
    ApiFailure::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!(
            "method {} is not allowed on {}",
            request.method(),
            request.uri().path()
        ),
    )
    .into_response()
}
