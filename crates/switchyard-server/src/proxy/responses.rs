//! OpenAI Responses: `POST /v1/responses`.
//!
//! Accounts of provider `openai` get the body as sent (passthrough to
//! `{base}/responses`); every other account gets it translated (core
//! `translate::responses`). The probe refuses what needs state the gateway would have
//! to keep (`previous_response_id`, `store: true`, `conversation`) whichever account
//! serves the request. `background` and stored `prompt` templates are refused only when
//! translated: OpenAI keeps that state itself, so a passthrough keeps them, and an
//! omitted `store` reaches OpenAI as omitted (OpenAI's default applies).

use super::body;
use super::edge::{self, Edge, PassEndpoint, Route};
use super::session::{Opening, raw};
use crate::error::ProxyError;
use crate::state::AppState;
use axum::extract::{Request, State};
use axum::response::Response;
use serde::Deserialize;
use serde_json::value::RawValue;
use std::borrow::Cow;
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
    #[serde(default, borrow)]
    prompt_cache_key: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    instructions: Option<&'a RawValue>,
    #[serde(default)]
    stream: Option<bool>,
    #[serde(default)]
    store: Option<bool>,
    /// Only whether it is there (and not `null`).
    #[serde(default, borrow)]
    previous_response_id: Option<&'a RawValue>,
    #[serde(default, borrow)]
    conversation: Option<&'a RawValue>,
}

pub async fn responses(State(state): State<AppState>, request: Request) -> Response {
    edge::serve(state, Protocol::Responses, request, route).await
}

fn route(edge: &Edge<'_>) -> Result<Route, ProxyError> {
    let probe: Probe = body::probe(edge.body)?;
    if probe
        .previous_response_id
        .is_some_and(|id| id.get() != "null")
    {
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
            let items: Opening<'_> = if input.starts_with('[') {
                serde_json::from_str(input).unwrap_or_default()
            } else {
                Opening::default()
            };
            let first = items.first().map_or(input, RawValue::get);
            let second = raw(items.get(1));
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
