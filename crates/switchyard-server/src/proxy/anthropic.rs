//! Anthropic Messages: `POST /v1/messages` and `POST /v1/messages/count_tokens`.

use super::session::{self, raw};
use super::{body, forward, respond};
use crate::auth::authenticate_client;
use crate::error::ProxyError;
use crate::state::AppState;
use axum::extract::{Request, State};
use axum::response::Response;
use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::value::RawValue;
use switchyard_core::pool::Reach;
use switchyard_core::upstream::Endpoint;
use switchyard_types::Protocol;
use tokio::time::Instant;

#[derive(Debug, Deserialize)]
struct MessagesProbe<'a> {
    model: String,
    /// Raw, borrowed: only the first is read (the session anchor).
    #[serde(borrow)]
    messages: Vec<&'a RawValue>,
    #[serde(default, borrow)]
    system: Option<&'a RawValue>,
    /// Required by the Messages API.
    #[expect(dead_code, reason = "deserialised to check it is present and a number")]
    max_tokens: u64,
    #[serde(default)]
    stream: Option<bool>,
}

#[derive(Debug, Deserialize)]
struct CountProbe {
    model: String,
    #[expect(dead_code, reason = "deserialised to check it is an array")]
    messages: Vec<IgnoredAny>,
}

pub async fn messages(State(state): State<AppState>, request: Request) -> Response {
    // The parts are taken, not cloned: the `HeaderMap` extractor copies the map.
    let (parts, body) = request.into_parts();
    let (headers, query) = (&parts.headers, parts.uri.query());
    let result = async {
        let started = Instant::now();
        let client = authenticate_client(&state, headers, query)?;
        let bytes = body::read(body, state.max_body_bytes).await?;
        let probe: MessagesProbe = body::probe(&bytes)?;
        body::require_model(&probe.model)?;
        let inbound = forward::Inbound {
            protocol: Protocol::Anthropic,
            model: &probe.model,
            stream: probe.stream.unwrap_or(false),
            gemini_sse: false,
            endpoint: Endpoint::Messages,
            reach: Reach::Any {
                prefer: Protocol::Anthropic,
            },
            session: session::key(
                headers,
                &client,
                &[raw(probe.system), raw(probe.messages.first().copied())],
            ),
            headers,
            body: bytes.clone(),
            started,
        };
        forward::forward(&state, inbound).await
    }
    .await;
    respond(&state, Protocol::Anthropic, result)
}

pub async fn count_tokens(State(state): State<AppState>, request: Request) -> Response {
    // The parts are taken, not cloned: the `HeaderMap` extractor copies the map.
    let (parts, body) = request.into_parts();
    let (headers, query) = (&parts.headers, parts.uri.query());
    let result: Result<Response, ProxyError> = async {
        let started = Instant::now();
        authenticate_client(&state, headers, query)?;
        let bytes = body::read(body, state.max_body_bytes).await?;
        let probe: CountProbe = body::probe(&bytes)?;
        body::require_model(&probe.model)?;
        // Token counting is not translated: only Anthropic accounts count for Anthropic.
        let inbound = forward::Inbound {
            protocol: Protocol::Anthropic,
            model: &probe.model,
            stream: false,
            gemini_sse: false,
            endpoint: Endpoint::CountTokens,
            reach: Reach::Only(Protocol::Anthropic),
            session: None,
            headers,
            body: bytes.clone(),
            started,
        };
        forward::forward(&state, inbound).await
    }
    .await;
    respond(&state, Protocol::Anthropic, result)
}
