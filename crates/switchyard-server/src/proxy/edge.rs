//! The edge of the request pipeline, shared by every protocol handler: the one preamble.
//!
//! request id (set by the connection service: [`crate::request_id::assign`]) →
//! [`RequestContext`] → client key →
//! body (bounded, timed, reserved against the memory budget) → JSON depth → the
//! protocol's probe ([`Route`]) → model name limits → the client key's policy (model
//! allowlist, budget, tpm, rpm) and the model mapping → [`super::forward`] → finish
//! ([`super::finish::respond`]). A handler only says how its protocol's body names the
//! model, the stream flag and the session anchors.

use super::finish;
use super::forward::{self, Inbound};
use super::{body, session};
use crate::auth::identify_client;
use crate::error::ProxyError;
use crate::state::AppState;
use axum::body::Body;
use axum::extract::Request;
use axum::response::Response;
use bytes::Bytes;
use http::HeaderMap;
use http::request::Parts;
use switchyard_core::keyring::ClientKeyId;
use switchyard_core::pipeline::budget::Reservation;
use switchyard_core::pipeline::context::RequestContext;
use switchyard_core::pipeline::hidden_usage::StreamOptions;
use switchyard_core::pipeline::limits::{self, ModelProblem};
use switchyard_core::pool::Reach;
use switchyard_core::upstream::{Endpoint, GeminiMethod};
use switchyard_types::Protocol;

/// What a protocol's probe found in the request: how to route it.
#[derive(Debug)]
pub struct Route {
    pub model: String,
    pub stream: bool,
    /// Gemini clients: `alt=sse` (else the JSON-array stream form).
    pub gemini_sse: bool,
    /// The endpoint for a same-protocol (passthrough) upstream.
    pub endpoint: PassEndpoint,
    pub reach: Reach,
    /// Session hash for affinity.
    pub session: Option<u64>,
    /// An OpenAI stream whose client did not ask for usage: how it did not (the gateway
    /// asks for it and hides it again: `switchyard_core::pipeline::hidden_usage`).
    pub hidden_usage: Option<StreamOptions>,
}

/// [`Endpoint`] without the model it borrows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PassEndpoint {
    ChatCompletions,
    Responses,
    Messages,
    CountTokens,
    Gemini { method: GeminiMethod, sse: bool },
}

impl PassEndpoint {
    fn with_model(self, model: &str) -> Endpoint<'_> {
        match self {
            Self::ChatCompletions => Endpoint::ChatCompletions,
            Self::Responses => Endpoint::Responses,
            Self::Messages => Endpoint::Messages,
            Self::CountTokens => Endpoint::CountTokens,
            Self::Gemini { method, sse } => Endpoint::Gemini { model, method, sse },
        }
    }
}

/// What the probe sees.
#[derive(Debug)]
pub struct Edge<'a> {
    pub headers: &'a HeaderMap,
    pub query: Option<&'a str>,
    pub body: &'a Bytes,
    pub client: &'a ClientKeyId,
}

impl Edge<'_> {
    /// The session hash from the header or these anchors.
    pub fn session(&self, anchors: &[&str]) -> Option<u64> {
        session::key(self.headers, self.client, anchors)
    }
}

/// Serve one proxied request of `protocol`; `probe` reads the routing fields.
pub async fn serve<F>(state: AppState, protocol: Protocol, request: Request, probe: F) -> Response
where
    F: FnOnce(&Edge<'_>) -> Result<Route, ProxyError>,
{
    let (parts, body) = request.into_parts();
    let mut context = RequestContext::new(crate::request_id::of(&parts.extensions), protocol);
    let mut held = Reservation::default();
    // At the drain deadline, a request still waiting for its answer gets a 503 (its
    // client may retry elsewhere) rather than a dropped connection.
    // A child token: every wake-up of this request polls it, and a poll locks the
    // token's own node; the shared token is locked only to add and remove the child.
    let cut = state.lifecycle.cut().child_token();
    let result = tokio::select! {
        biased;
        result = handle(&state, &parts, body, &mut context, &mut held, probe) => result,
        () = cut.cancelled() => Err(ProxyError::ShuttingDown),
    };
    finish::respond(&state, context, held, result)
}

async fn handle<F>(
    state: &AppState,
    parts: &Parts,
    body: Body,
    context: &mut RequestContext,
    held: &mut Reservation,
    probe: F,
) -> Result<forward::Answered, ProxyError>
where
    F: FnOnce(&Edge<'_>) -> Result<Route, ProxyError>,
{
    let (headers, query) = (&parts.headers, parts.uri.query());
    let key = identify_client(state, headers, query)?;
    context.key_id = Some(key.id.0.clone());
    key.check_access(switchyard_core::store::now_unix)?;
    context.key_policy = Some(std::sync::Arc::clone(&key));
    let bytes = body::read(body, state.max_body_bytes).await?;
    context.bytes_in = bytes.len() as u64;
    if !state.budget.grow(held, bytes.len()) {
        return Err(ProxyError::OverBudget);
    }
    if !limits::depth_within(&bytes, limits::MAX_JSON_DEPTH) {
        return Err(ProxyError::InvalidJson(format!(
            "nested deeper than {} levels",
            limits::MAX_JSON_DEPTH
        )));
    }
    let edge = Edge {
        headers,
        query,
        body: &bytes,
        client: &key.id,
    };
    let route = probe(&edge)?;
    check_model(&route.model)?;
    context.model = Some(route.model.as_str().into());
    context.stream = route.stream;
    // The key's policy (one lookup: the policy came with the key), then the mapping.
    let target = state.admin.mapping().resolve(&route.model);
    key.check_model(&route.model, target.as_deref())?;
    key.admit(
        switchyard_core::store::now_unix,
        switchyard_core::keyring::clock_ns,
    )?;
    let (model, body) = match &target {
        None => (route.model.as_str(), bytes.clone()),
        Some(target) => (
            &**target,
            aliased_body(state, held, &route, &bytes, target)?,
        ),
    };
    let inbound = Inbound {
        request_id: std::sync::Arc::clone(&context.id),
        protocol: context.protocol_in,
        model,
        stream: route.stream,
        gemini_sse: route.gemini_sse,
        endpoint: route.endpoint.with_model(model),
        reach: route.reach,
        session: route.session,
        hidden_usage: route.hidden_usage,
        headers,
        body,
    };
    forward::forward(state, &inbound, context).await
}

/// The body to send for an aliased request: the model named in the body (every protocol
/// but Gemini, whose model is in the path) replaced by the alias's target, the rest kept
/// as sent. Only aliased requests pay for this rewrite.
fn aliased_body(
    state: &AppState,
    held: &mut Reservation,
    route: &Route,
    bytes: &Bytes,
    target: &str,
) -> Result<Bytes, ProxyError> {
    if matches!(route.endpoint, PassEndpoint::Gemini { .. }) {
        return Ok(bytes.clone());
    }
    let body = switchyard_core::mapping::with_model(bytes, target)
        .map_err(|e| ProxyError::InvalidJson(e.to_string()))?;
    if !state.budget.grow(held, body.len()) {
        return Err(ProxyError::OverBudget);
    }
    Ok(body.into())
}

/// A model name every route accepts: not empty, not absurdly long.
pub fn check_model(model: &str) -> Result<(), ProxyError> {
    match limits::check_model(model) {
        Ok(()) => Ok(()),
        Err(ModelProblem::Empty) => Err(ProxyError::InvalidField {
            field: "model".into(),
            message: "must not be empty".into(),
        }),
        Err(ModelProblem::TooLong) => Err(ProxyError::InvalidField {
            field: "model".into(),
            message: format!("is longer than {} bytes", limits::MAX_MODEL_BYTES),
        }),
    }
}
