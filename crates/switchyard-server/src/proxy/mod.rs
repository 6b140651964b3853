//! Proxy endpoints, one file per client protocol, sharing the body reader
//! ([`body`]), the session key for affinity ([`session`]), the attempt loop
//! ([`forward`]), the same-protocol relay with stream bootstrap ([`relay`]), the
//! translating attempt ([`translated`], with [`images`] inlining for Gemini), model
//! listing ([`models`]) and the fallbacks for unknown routes ([`fallback`]).
//!
//! Each handler: authenticate the client key → read the body (bounded) → probe only the
//! fields routing needs (`model`, `stream`) while checking the JSON is well formed →
//! [`forward::forward`] an [`forward::Inbound`] to the pool. Errors are rendered in the
//! handler's protocol shape by [`respond`].

pub mod anthropic;
pub mod body;
pub mod fallback;
pub mod forward;
pub mod gemini;
pub mod images;
pub mod models;
pub mod openai;
pub mod relay;
pub mod session;
pub mod translated;

use crate::error::ProxyError;
use crate::state::AppState;
use axum::response::Response;
use switchyard_types::Protocol;

/// Render a handler's result in `protocol`'s shape and count it.
pub fn respond(
    state: &AppState,
    protocol: Protocol,
    result: Result<Response, ProxyError>,
) -> Response {
    let response = match result {
        Ok(r) => r,
        Err(e) => {
            tracing::debug!(%protocol, error = %e, "request refused");
            e.render(protocol)
        }
    };
    state.metrics.request(protocol, response.status());
    response
}
