//! Model listing, answered by the gateway itself from the accounts' model patterns.
//!
//! `GET /v1/models` answers in the caller's protocol (Gemini shape when the key came as
//! `x-goog-api-key` or `?key=`, Anthropic shape when `anthropic-version` is present,
//! OpenAI otherwise); `GET /v1beta/models` always in Gemini's. A client sees the models
//! it can actually call: those of enabled accounts speaking its protocol. Literal names
//! are listed as-is; a wildcard pattern is listed as the pattern itself, so operators see
//! what is routed (aliases join this list once the mapping exists).

use crate::auth::{KeySource, authenticate_client, presented_key};
use crate::request_id::{self, RequestId};
use crate::state::AppState;
use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use http::HeaderMap;
use serde_json::json;
use std::collections::BTreeMap;
use switchyard_types::Protocol;

/// Which shape `GET /v1/models` answers in.
fn caller_protocol(headers: &HeaderMap, query: Option<&str>) -> Protocol {
    match presented_key(headers, query) {
        Some((_, KeySource::XGoogApiKey | KeySource::Query)) => Protocol::Gemini,
        _ if headers.contains_key("anthropic-version") => Protocol::Anthropic,
        _ => Protocol::OpenAi,
    }
}

pub async fn list_any(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    id: Option<Extension<RequestId>>,
    headers: HeaderMap,
) -> Response {
    let protocol = caller_protocol(&headers, query.as_deref());
    list(&state, protocol, &headers, query.as_deref(), id)
}

pub async fn list_gemini(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    id: Option<Extension<RequestId>>,
    headers: HeaderMap,
) -> Response {
    list(&state, Protocol::Gemini, &headers, query.as_deref(), id)
}

fn list(
    state: &AppState,
    protocol: Protocol,
    headers: &HeaderMap,
    query: Option<&str>,
    id: Option<Extension<RequestId>>,
) -> Response {
    let result = authenticate_client(state, headers, query).map(|_| {
        // model id → provider that serves it first (BTreeMap: sorted, deduplicated).
        let mut models = BTreeMap::new();
        let accounts = state.pool.accounts();
        for account in accounts.iter() {
            if account.enabled && account.provider.protocol() == protocol {
                for m in &account.models {
                    models.entry(m.clone()).or_insert(account.provider.as_str());
                }
            }
        }
        // Exact model aliases whose target such an account serves.
        for (alias, target) in state.admin.mapping().aliases() {
            if let Some(account) = accounts
                .iter()
                .find(|a| a.provider.protocol() == protocol && a.serves(&target))
            {
                models
                    .entry(alias.to_string())
                    .or_insert(account.provider.as_str());
            }
        }
        Json(render(protocol, &models)).into_response()
    });
    let response = result.unwrap_or_else(|e| {
        let id = id.map_or_else(|| request_id::of(&http::Extensions::new()), |i| i.0.0);
        e.render(protocol, &id)
    });
    state.metrics.request(protocol, response.status().as_u16());
    response
}

fn render(protocol: Protocol, models: &BTreeMap<String, &str>) -> serde_json::Value {
    match protocol {
        Protocol::OpenAi | Protocol::Responses => json!({
            "object": "list",
            "data": models.iter().map(|(id, owner)| json!({
                "id": id, "object": "model", "created": 0, "owned_by": owner,
            })).collect::<Vec<_>>(),
        }),
        Protocol::Anthropic => json!({
            "data": models.keys().map(|id| json!({
                "type": "model", "id": id, "display_name": id, "created_at": "1970-01-01T00:00:00Z",
            })).collect::<Vec<_>>(),
            "has_more": false,
            "first_id": models.keys().next(),
            "last_id": models.keys().next_back(),
        }),
        Protocol::Gemini => json!({
            "models": models.keys().map(|id| json!({
                "name": format!("models/{id}"),
                "displayName": id,
                "supportedGenerationMethods": ["generateContent", "streamGenerateContent", "countTokens"],
            })).collect::<Vec<_>>(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    #[test]
    fn shape_follows_the_caller() {
        let mut h = HeaderMap::new();
        assert_eq!(caller_protocol(&h, None), Protocol::OpenAi);
        assert_eq!(caller_protocol(&h, Some("key=k")), Protocol::Gemini);
        h.insert("anthropic-version", HeaderValue::from_static("2023-06-01"));
        assert_eq!(caller_protocol(&h, None), Protocol::Anthropic);
        h.insert("x-goog-api-key", HeaderValue::from_static("k"));
        assert_eq!(caller_protocol(&h, None), Protocol::Gemini);
    }

    #[test]
    fn renders_each_shape() {
        let models = BTreeMap::from([("a".to_owned(), "openai"), ("b".to_owned(), "openai")]);
        assert_eq!(render(Protocol::OpenAi, &models)["data"][1]["id"], "b");
        assert_eq!(render(Protocol::Anthropic, &models)["last_id"], "b");
        assert_eq!(
            render(Protocol::Gemini, &models)["models"][0]["name"],
            "models/a"
        );
    }
}
