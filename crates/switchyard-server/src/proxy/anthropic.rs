//! Anthropic Messages: `POST /v1/messages` and `POST /v1/messages/count_tokens`.

use super::{body, forward, respond};
use crate::auth::authenticate_client;
use crate::error::ProxyError;
use crate::state::AppState;
use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::response::Response;
use http::HeaderMap;
use serde::Deserialize;
use serde::de::IgnoredAny;
use switchyard_core::upstream::Endpoint;
use switchyard_types::Protocol;

#[derive(Debug, Deserialize)]
struct MessagesProbe {
    model: String,
    #[expect(dead_code, reason = "deserialised to check it is an array")]
    messages: Vec<IgnoredAny>,
    /// Required by the Messages API.
    #[expect(dead_code, reason = "deserialised to check it is present and a number")]
    max_tokens: u64,
    #[serde(default)]
    #[expect(dead_code, reason = "deserialised to check it is a boolean")]
    stream: Option<bool>,
}

#[derive(Debug, Deserialize)]
struct CountProbe {
    model: String,
    #[expect(dead_code, reason = "deserialised to check it is an array")]
    messages: Vec<IgnoredAny>,
}

pub async fn messages(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let result = async {
        authenticate_client(&state, &headers, query.as_deref())?;
        let bytes = body::read(body, state.max_body_bytes).await?;
        let probe: MessagesProbe = body::probe(&bytes)?;
        body::require_model(&probe.model)?;
        forward::forward(
            &state,
            Protocol::Anthropic,
            &probe.model,
            Endpoint::Messages,
            &headers,
            bytes,
        )
        .await
    }
    .await;
    respond(&state, Protocol::Anthropic, result)
}

pub async fn count_tokens(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let result: Result<Response, ProxyError> = async {
        authenticate_client(&state, &headers, query.as_deref())?;
        let bytes = body::read(body, state.max_body_bytes).await?;
        let probe: CountProbe = body::probe(&bytes)?;
        body::require_model(&probe.model)?;
        forward::forward(
            &state,
            Protocol::Anthropic,
            &probe.model,
            Endpoint::CountTokens,
            &headers,
            bytes,
        )
        .await
    }
    .await;
    respond(&state, Protocol::Anthropic, result)
}
