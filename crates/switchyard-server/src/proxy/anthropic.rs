//! Anthropic Messages: `POST /v1/messages` and `POST /v1/messages/count_tokens`.

use super::body;
use super::edge::{self, Edge, PassEndpoint, Route};
use super::session::{Opening, raw};
use crate::error::ProxyError;
use crate::state::AppState;
use axum::extract::{Request, State};
use axum::response::Response;
use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::value::RawValue;
use switchyard_core::pool::Reach;
use switchyard_types::Protocol;

#[derive(Debug, Deserialize)]
struct MessagesProbe<'a> {
    model: String,
    /// Raw, borrowed: only the first is read (the session anchor).
    #[serde(borrow)]
    messages: Opening<'a>,
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
    edge::serve(state, Protocol::Anthropic, request, route_messages).await
}

fn route_messages(edge: &Edge<'_>) -> Result<Route, ProxyError> {
    let probe: MessagesProbe = body::probe(edge.body)?;
    Ok(Route {
        hidden_usage: None,
        session: edge.session(&[raw(probe.system), raw(probe.messages.first())]),
        model: probe.model,
        stream: probe.stream.unwrap_or(false),
        gemini_sse: false,
        endpoint: PassEndpoint::Messages,
        reach: Reach::Any {
            prefer: Protocol::Anthropic,
        },
    })
}

pub async fn count_tokens(State(state): State<AppState>, request: Request) -> Response {
    edge::serve(state, Protocol::Anthropic, request, route_count).await
}

/// Token counting is not translated: only Anthropic accounts count for Anthropic.
fn route_count(edge: &Edge<'_>) -> Result<Route, ProxyError> {
    let probe: CountProbe = body::probe(edge.body)?;
    Ok(Route {
        hidden_usage: None,
        model: probe.model,
        stream: false,
        gemini_sse: false,
        endpoint: PassEndpoint::CountTokens,
        reach: Reach::Only(Protocol::Anthropic),
        session: None,
    })
}
