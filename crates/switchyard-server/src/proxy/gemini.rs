//! Gemini: `POST /v1beta/models/{model}:{generateContent|streamGenerateContent|countTokens}`,
//! also served under `/v1/models/…` (current google-genai SDKs call `/v1` by default).

use super::session::{self, raw};
use super::{body, forward, respond};
use crate::auth::{authenticate_client, query_param};
use crate::error::ProxyError;
use crate::state::AppState;
use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::response::Response;
use http::{HeaderMap, Method};
use serde::Deserialize;
use serde_json::value::RawValue;
use switchyard_core::pool::Reach;
use switchyard_core::upstream::{Endpoint, GeminiMethod};
use switchyard_types::Protocol;
use tokio::time::Instant;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Probe<'a> {
    /// Raw, borrowed: only the first is read (the session anchor).
    #[serde(default, borrow)]
    contents: Option<Vec<&'a RawValue>>,
    #[serde(default, borrow)]
    system_instruction: Option<&'a RawValue>,
    /// `countTokens` may wrap a whole request instead of `contents`.
    #[serde(default, borrow)]
    generate_content_request: Option<&'a RawValue>,
}

pub async fn model_action(
    State(state): State<AppState>,
    Path(model_action): Path<String>,
    request: Request,
) -> Response {
    // The parts are taken, not cloned: the `HeaderMap` extractor copies the map.
    let (parts, body) = request.into_parts();
    let (headers, query) = (&parts.headers, parts.uri.query());
    let result = handle(&state, &model_action, query, headers, body).await;
    respond(&state, Protocol::Gemini, result)
}

async fn handle(
    state: &AppState,
    model_action: &str,
    query: Option<&str>,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, ProxyError> {
    let started = Instant::now();
    let client = authenticate_client(state, headers, query)?;
    let not_found = || ProxyError::RouteNotFound {
        method: Method::POST.to_string(),
        path: format!("/v1beta/models/{model_action}"),
    };
    let (model, method) = model_action.rsplit_once(':').ok_or_else(not_found)?;
    let method = GeminiMethod::parse(method).ok_or_else(not_found)?;
    body::require_model(model)?;
    let bytes = body::read(body, state.max_body_bytes).await?;
    let probe: Probe = body::probe(&bytes)?;
    let has_contents = probe.contents.as_ref().is_some_and(|c| !c.is_empty());
    let counting_wrapped =
        method == GeminiMethod::CountTokens && probe.generate_content_request.is_some();
    if !has_contents && !counting_wrapped {
        return Err(ProxyError::InvalidField {
            field: "contents".into(),
            message: "is required and must not be empty".into(),
        });
    }
    let sse = query
        .and_then(|q| query_param(q, "alt"))
        .is_some_and(|alt| alt == "sse");
    let stream = method == GeminiMethod::StreamGenerateContent;
    let inbound = forward::Inbound {
        protocol: Protocol::Gemini,
        model,
        stream,
        gemini_sse: sse,
        endpoint: Endpoint::Gemini {
            model,
            method,
            sse: sse && stream,
        },
        // Token counting is not translated.
        reach: if method == GeminiMethod::CountTokens {
            Reach::Only(Protocol::Gemini)
        } else {
            Reach::Any {
                prefer: Protocol::Gemini,
            }
        },
        session: session::key(
            headers,
            &client,
            &[
                raw(probe.system_instruction),
                raw(probe.contents.as_ref().and_then(|c| c.first().copied())),
            ],
        ),
        headers,
        body: bytes.clone(),
        started,
    };
    forward::forward(state, inbound).await
}
