//! OpenAI Chat Completions: `POST /v1/chat/completions`.

use super::edge::{self, Edge, PassEndpoint, Route};
use super::{body, session::raw};
use crate::error::ProxyError;
use crate::state::AppState;
use axum::extract::{Request, State};
use axum::response::Response;
use serde::Deserialize;
use serde_json::value::RawValue;
use switchyard_core::pool::Reach;
use switchyard_types::Protocol;

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
    edge::serve(state, Protocol::OpenAi, request, route).await
}

fn route(edge: &Edge<'_>) -> Result<Route, ProxyError> {
    let probe: Probe = body::probe(edge.body)?;
    Ok(Route {
        session: edge.session(&[
            raw(probe.messages.first().copied()),
            raw(probe.messages.get(1).copied()),
        ]),
        model: probe.model,
        stream: probe.stream.unwrap_or(false),
        gemini_sse: false,
        endpoint: PassEndpoint::ChatCompletions,
        reach: Reach::Any {
            prefer: Protocol::OpenAi,
        },
    })
}
