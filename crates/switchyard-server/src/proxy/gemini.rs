//! Gemini: `POST /v1beta/models/{model}:{generateContent|streamGenerateContent|countTokens}`,
//! also served under `/v1/models/…` (current google-genai SDKs call `/v1` by default).

use super::body;
use super::edge::{self, Edge, PassEndpoint, Route};
use super::session::{Opening, raw};
use crate::auth::query_param;
use crate::error::ProxyError;
use crate::state::AppState;
use axum::extract::{Path, Request, State};
use axum::response::Response;
use http::Method;
use serde::Deserialize;
use serde_json::value::RawValue;
use switchyard_core::pipeline::limits;
use switchyard_core::pool::Reach;
use switchyard_core::upstream::GeminiMethod;
use switchyard_types::Protocol;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Probe<'a> {
    /// Raw, borrowed: only the first is read (the session anchor).
    #[serde(default, borrow)]
    contents: Option<Opening<'a>>,
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
    edge::serve(state, Protocol::Gemini, request, |edge| {
        route(edge, &model_action)
    })
    .await
}

fn route(edge: &Edge<'_>, model_action: &str) -> Result<Route, ProxyError> {
    let not_found = || ProxyError::RouteNotFound {
        method: Method::POST.to_string(),
        path: format!("/v1beta/models/{}", limits::echo(model_action)),
    };
    let (model, method) = model_action.rsplit_once(':').ok_or_else(not_found)?;
    let method = GeminiMethod::parse(method).ok_or_else(not_found)?;
    edge::check_model(model)?;
    let probe: Probe = body::probe(edge.body)?;
    let has_contents = probe.contents.as_ref().is_some_and(|c| !c.is_empty());
    let counting_wrapped =
        method == GeminiMethod::CountTokens && probe.generate_content_request.is_some();
    if !has_contents && !counting_wrapped {
        return Err(ProxyError::InvalidField {
            field: "contents".into(),
            message: "is required and must not be empty".into(),
        });
    }
    let sse = edge
        .query
        .and_then(|q| query_param(q, "alt"))
        .is_some_and(|alt| alt == "sse");
    let stream = method == GeminiMethod::StreamGenerateContent;
    Ok(Route {
        hidden_usage: None,
        model: model.to_owned(),
        stream,
        gemini_sse: sse,
        endpoint: PassEndpoint::Gemini {
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
        session: edge.session(&[
            raw(probe.system_instruction),
            raw(probe.contents.as_ref().and_then(Opening::first)),
        ]),
    })
}
