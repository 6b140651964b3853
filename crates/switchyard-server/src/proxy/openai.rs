//! OpenAI Chat Completions: `POST /v1/chat/completions`.

use super::session::{self, raw};
use super::{body, forward, respond};
use crate::auth::authenticate_client;
use crate::error::ProxyError;
use crate::state::AppState;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use http::HeaderMap;
use serde::Deserialize;
use serde_json::value::RawValue;
use switchyard_core::pool::Reach;
use switchyard_core::upstream::Endpoint;
use switchyard_types::Protocol;
use tokio::time::Instant;

/// The fields routing reads; the types of the others are checked upstream.
#[derive(Debug, Deserialize)]
struct Probe<'a> {
    model: String,
    /// Raw, borrowed: only the first two are read (the session anchor).
    #[serde(borrow)]
    messages: Vec<&'a RawValue>,
    #[serde(default)]
    stream: Option<bool>,
}

pub async fn chat_completions(State(state): State<AppState>, request: Request) -> Response {
    // The parts are taken, not cloned: the `HeaderMap` extractor copies the map.
    let (parts, body) = request.into_parts();
    let (headers, query) = (&parts.headers, parts.uri.query());
    let result = handle(&state, query, headers, body).await;
    respond(&state, Protocol::OpenAi, result)
}

async fn handle(
    state: &AppState,
    query: Option<&str>,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, ProxyError> {
    let started = Instant::now();
    let client = authenticate_client(state, headers, query)?;
    let bytes = body::read(body, state.max_body_bytes).await?;
    let probe: Probe = body::probe(&bytes)?;
    body::require_model(&probe.model)?;
    let inbound = forward::Inbound {
        protocol: Protocol::OpenAi,
        model: &probe.model,
        stream: probe.stream.unwrap_or(false),
        gemini_sse: false,
        endpoint: Endpoint::ChatCompletions,
        reach: Reach::Any {
            prefer: Protocol::OpenAi,
        },
        session: session::key(
            headers,
            &client,
            &[
                raw(probe.messages.first().copied()),
                raw(probe.messages.get(1).copied()),
            ],
        ),
        headers,
        body: bytes.clone(),
        started,
    };
    forward::forward(state, inbound).await
}
