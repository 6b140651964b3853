//! Billing and quota endpoints (protocols.md §5), with fixed numbers tests can assert:
//!
//! - OpenRouter `GET /api/v1/key` (and `/api/v1/auth/key`), any key: limit 100 USD,
//!   usage 25.5, remaining 74.5, `limit_reset: "monthly"`. A scripted key behaviour (e.g.
//!   a revoked key) applies as on every route.
//! - OpenAI `GET /v1/organization/costs` and `/v1/organization/usage/completions`, with an
//!   admin key (`Bearer sk-admin-…`, else 401 `invalid_api_key`): one bucket whose costs
//!   total 12.34 USD; usage of 1000 input and 200 output tokens over 10 requests.
//! - Anthropic `GET /v1/organizations/cost_report` and `/usage_report/messages`, with an
//!   admin key (`x-api-key: sk-ant-admin…`, else 401 `authentication_error`): costs of
//!   "1234.5" cents (12.345 USD) in one bucket; usage of 1000 uncached input and 200
//!   output tokens.
//!
//! An `openrouter` account pointed at `{fake}/api/v1` polls `{fake}/api/v1/key` and
//! lists models at `{fake}/api/v1/models` (OpenAI's shape).

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use axum::routing::get;
use serde_json::json;

use crate::script::{ErrorKind, Failure};
use crate::server::{self, Incoming, Shared};
use crate::{Protocol, anthropic, openai};

/// OpenRouter key numbers.
pub const OPENROUTER_LIMIT: f64 = 100.0;
pub const OPENROUTER_USAGE: f64 = 25.5;
/// OpenAI organization costs in the fake's one bucket, USD.
pub const OPENAI_COSTS_USD: f64 = 12.34;
/// Anthropic cost report amount, cents (as a decimal string on the wire).
pub const ANTHROPIC_COST_CENTS: &str = "1234.5";

pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/api/v1/key", get(openrouter_key))
        .route("/api/v1/auth/key", get(openrouter_key))
        .route("/api/v1/models", get(openrouter_models))
        .route("/v1/organization/costs", get(openai_costs))
        .route("/v1/organization/usage/completions", get(openai_usage))
        .route("/v1/organizations/cost_report", get(anthropic_costs))
        .route(
            "/v1/organizations/usage_report/messages",
            get(anthropic_usage),
        )
}

fn openai_dialect() -> openai::OpenAi {
    openai::OpenAi {
        include_usage: false,
    }
}

async fn openrouter_models(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    openai::models(&shared, &headers, &uri, None).await
}

async fn openrouter_key(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let key = openai::bearer(&headers);
    let ctx = shared.record(Incoming {
        protocol: Protocol::OpenAi,
        uri: &uri,
        headers: &headers,
        api_key: key,
        model: "",
        stream: false,
        body: None,
    });
    let dialect = openai_dialect();
    if key.is_none() {
        return server::unauthorized(&dialect, &ctx, "No auth credentials found");
    }
    let plan = server::plan_for(&shared, &ctx, "");
    if let Some(resp) = server::gate(&dialect, &ctx, &plan).await {
        return resp;
    }
    let body = json!({"data": {
        "label": "sk-or-v1-fak...e00",
        "limit": OPENROUTER_LIMIT,
        "limit_remaining": OPENROUTER_LIMIT - OPENROUTER_USAGE,
        "limit_reset": "monthly",
        "usage": OPENROUTER_USAGE,
        "usage_daily": 1.5,
        "usage_weekly": 10.0,
        "usage_monthly": OPENROUTER_USAGE,
        "byok_usage": 0, "byok_usage_daily": 0, "byok_usage_weekly": 0, "byok_usage_monthly": 0,
        "include_byok_in_limit": false,
        "is_free_tier": false,
        "is_provisioning_key": false,
        "is_management_key": false,
        "expires_at": null,
        "rate_limit": {"requests": 1000, "interval": "1h", "note": "deprecated"},
    }});
    server::json_response(&dialect, &ctx, StatusCode::OK, &body)
}

/// Record an admin call and check its key: `Err` is the refusal (401 in the dialect).
fn admin_check(
    shared: &Shared,
    headers: &HeaderMap,
    uri: &Uri,
    protocol: Protocol,
) -> Result<server::Ctx, Box<Response>> {
    let (key, prefix) = match protocol {
        Protocol::Anthropic => (anthropic::api_key(headers), "sk-ant-admin"),
        _ => (openai::bearer(headers), "sk-admin"),
    };
    let ctx = shared.record(Incoming {
        protocol,
        uri,
        headers,
        api_key: key,
        model: "",
        stream: false,
        body: None,
    });
    if key.is_some_and(|k| k.starts_with(prefix)) {
        return Ok(ctx);
    }
    let message = format!("invalid admin key: these endpoints need an admin key ({prefix}...)");
    let failure = Failure::new(401, ErrorKind::Unauthorized);
    Err(Box::new(match protocol {
        Protocol::Anthropic => {
            server::error_response(&anthropic::Anthropic, &ctx, &failure, Some(&message))
        }
        _ => server::error_response(&openai_dialect(), &ctx, &failure, Some(&message)),
    }))
}

fn openai_admin(
    shared: &Shared,
    headers: &HeaderMap,
    uri: &Uri,
) -> Result<server::Ctx, Box<Response>> {
    admin_check(shared, headers, uri, Protocol::OpenAi)
}

fn anthropic_admin(
    shared: &Shared,
    headers: &HeaderMap,
    uri: &Uri,
) -> Result<server::Ctx, Box<Response>> {
    admin_check(shared, headers, uri, Protocol::Anthropic)
}

fn month_bucket() -> (u64, u64) {
    let now = server::unix_now();
    (now - now % 86_400, now - now % 86_400 + 86_400)
}

async fn openai_costs(State(shared): State<Arc<Shared>>, headers: HeaderMap, uri: Uri) -> Response {
    let ctx = match openai_admin(&shared, &headers, &uri) {
        Ok(ctx) => ctx,
        Err(refusal) => return *refusal,
    };
    let (start, end) = month_bucket();
    let body = json!({"object": "page", "has_more": false, "next_page": null, "data": [
        {"object": "bucket", "start_time": start, "end_time": end, "results": [
            {"object": "organization.costs.result", "amount": {"value": 10.0, "currency": "usd"},
             "line_item": null, "project_id": null, "api_key_id": null, "quantity": null},
            {"object": "organization.costs.result", "amount": {"value": OPENAI_COSTS_USD - 10.0, "currency": "usd"},
             "line_item": null, "project_id": null, "api_key_id": null, "quantity": null}
        ]}
    ]});
    server::json_response(&openai_dialect(), &ctx, StatusCode::OK, &body)
}

async fn openai_usage(State(shared): State<Arc<Shared>>, headers: HeaderMap, uri: Uri) -> Response {
    let ctx = match openai_admin(&shared, &headers, &uri) {
        Ok(ctx) => ctx,
        Err(refusal) => return *refusal,
    };
    let (start, end) = month_bucket();
    let body = json!({"object": "page", "has_more": false, "next_page": null, "data": [
        {"object": "bucket", "start_time": start, "end_time": end, "results": [
            {"object": "organization.usage.completions.result", "input_tokens": 1000,
             "output_tokens": 200, "num_model_requests": 10, "input_cached_tokens": 0,
             "project_id": null, "user_id": null, "api_key_id": null, "model": null,
             "batch": null, "service_tier": null}
        ]}
    ]});
    server::json_response(&openai_dialect(), &ctx, StatusCode::OK, &body)
}

async fn anthropic_costs(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let ctx = match anthropic_admin(&shared, &headers, &uri) {
        Ok(ctx) => ctx,
        Err(refusal) => return *refusal,
    };
    let (start, end) = month_bucket();
    let body = json!({"has_more": false, "next_page": null, "data": [
        {"starting_at": server::rfc3339(start), "ending_at": server::rfc3339(end), "results": [
            {"currency": "USD", "amount": ANTHROPIC_COST_CENTS, "workspace_id": null,
             "description": null, "cost_type": "tokens", "model": null,
             "service_tier": "standard", "context_window": null, "token_type": null}
        ]}
    ]});
    server::json_response(&anthropic::Anthropic, &ctx, StatusCode::OK, &body)
}

async fn anthropic_usage(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let ctx = match anthropic_admin(&shared, &headers, &uri) {
        Ok(ctx) => ctx,
        Err(refusal) => return *refusal,
    };
    let (start, end) = month_bucket();
    let body = json!({"has_more": false, "next_page": null, "data": [
        {"starting_at": server::rfc3339(start), "ending_at": server::rfc3339(end), "results": [
            {"uncached_input_tokens": 1000, "cache_read_input_tokens": 0,
             "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0},
             "output_tokens": 200, "server_tool_use": {"web_search_requests": 0},
             "api_key_id": null, "workspace_id": null, "model": null,
             "service_tier": "standard", "context_window": "0-200k"}
        ]}
    ]});
    server::json_response(&anthropic::Anthropic, &ctx, StatusCode::OK, &body)
}
