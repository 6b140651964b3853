//! OpenAI Responses: `POST /v1/responses`.
//!
//! Accounts of provider `openai` get the body as sent (passthrough to
//! `{base}/responses`); every other account gets it translated (core
//! `translate::responses`). The probe also refuses what needs stored state
//! (`previous_response_id`, `store: true`, `conversation`), so the answer does not depend
//! on which account serves the request.

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
    /// Raw, borrowed: its first items anchor the session (with the instructions).
    #[serde(default, borrow)]
    input: Option<&'a RawValue>,
    /// The client's own conversation key (Codex sends its session id): the session
    /// anchor when given.
    #[serde(default)]
    prompt_cache_key: Option<String>,
    #[serde(default, borrow)]
    instructions: Option<&'a RawValue>,
    #[serde(default)]
    stream: Option<bool>,
    #[serde(default)]
    store: Option<bool>,
    #[serde(default)]
    previous_response_id: Option<String>,
    #[serde(default, borrow)]
    conversation: Option<&'a RawValue>,
}

pub async fn responses(State(state): State<AppState>, request: Request) -> Response {
    edge::serve(state, Protocol::Responses, request, route).await
}

fn route(edge: &Edge<'_>) -> Result<Route, ProxyError> {
    let probe: Probe = body::probe(edge.body)?;
    if probe.previous_response_id.is_some() {
        return Err(stateless("previous_response_id"));
    }
    if probe.store == Some(true) {
        return Err(stateless("store"));
    }
    if probe.conversation.is_some_and(|c| c.get() != "null") {
        return Err(stateless("conversation"));
    }
    let session = match &probe.prompt_cache_key {
        Some(key) => edge.session(&["k", key]),
        None => {
            // A string input is the whole conversation's opening; of an item list, the
            // first two items (stable as the conversation grows).
            let input = raw(probe.input);
            let items: Vec<&RawValue> = if input.starts_with('[') {
                serde_json::from_str(input).unwrap_or_default()
            } else {
                Vec::new()
            };
            let first = items.first().map_or(input, |v| v.get());
            let second = items.get(1).map_or("", |v| v.get());
            edge.session(&[raw(probe.instructions), first, second])
        }
    };
    Ok(Route {
        hidden_usage: None,
        session,
        model: probe.model,
        stream: probe.stream.unwrap_or(false),
        gemini_sse: false,
        endpoint: PassEndpoint::Responses,
        // Ties go to the OpenAI family, whose provider-`openai` accounts pass it through.
        reach: Reach::Any {
            prefer: Protocol::OpenAi,
        },
    })
}

fn stateless(field: &str) -> ProxyError {
    ProxyError::Unsupported {
        field: field.to_owned(),
        message: "responses are not stored by this gateway; send `store: false` and the whole conversation in `input`".to_owned(),
    }
}
