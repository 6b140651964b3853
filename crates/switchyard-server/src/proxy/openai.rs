//! OpenAI Chat Completions: `POST /v1/chat/completions`.

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

/// The fields routing reads; the types of the others are checked upstream.
#[derive(Debug, Deserialize)]
struct Probe {
    model: String,
    #[expect(dead_code, reason = "deserialised to check it is an array")]
    messages: Vec<IgnoredAny>,
    #[serde(default)]
    #[expect(dead_code, reason = "deserialised to check it is a boolean")]
    stream: Option<bool>,
}

pub async fn chat_completions(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let result = handle(&state, query.as_deref(), &headers, body).await;
    respond(&state, Protocol::OpenAi, result)
}

async fn handle(
    state: &AppState,
    query: Option<&str>,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, ProxyError> {
    authenticate_client(state, headers, query)?;
    let bytes = body::read(body, state.max_body_bytes).await?;
    let probe: Probe = body::probe(&bytes)?;
    body::require_model(&probe.model)?;
    forward::forward(
        state,
        Protocol::OpenAi,
        &probe.model,
        Endpoint::ChatCompletions,
        headers,
        bytes,
    )
    .await
}
