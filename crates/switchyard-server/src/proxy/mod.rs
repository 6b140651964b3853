//! Proxy endpoints, one file per client protocol, sharing the body reader
//! ([`body`]), the attempt loop ([`forward`]), model listing ([`models`]) and the
//! fallbacks for unknown routes ([`fallback`]).
//!
//! Each handler: authenticate the client key → read the body (bounded) → probe only the
//! fields routing needs (`model`, `stream`) while checking the JSON is well formed →
//! [`forward::forward`] the original bytes to an account of the same protocol. Errors are
//! rendered in the handler's protocol shape by [`respond`].

pub mod anthropic;
pub mod body;
pub mod fallback;
pub mod forward;
pub mod gemini;
pub mod models;
pub mod openai;

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
