//! Unknown routes and wrong methods outside `/api`: an error in the shape of the protocol
//! the caller most likely speaks, guessed from the path and headers.

use crate::error::ProxyError;
use crate::request_id;
use axum::extract::Request;
use axum::response::Response;
use switchyard_types::Protocol;

/// Guess the caller's protocol from the path, then its headers.
pub fn guess_protocol(request: &Request) -> Protocol {
    let path = request.uri().path();
    let headers = request.headers();
    if path.starts_with("/v1beta") || path.contains(':') || headers.contains_key("x-goog-api-key") {
        Protocol::Gemini
    } else if path.starts_with("/v1/messages") || headers.contains_key("anthropic-version") {
        Protocol::Anthropic
    } else {
        Protocol::OpenAi
    }
}

pub async fn not_found(request: Request) -> Response {
    let error = ProxyError::RouteNotFound {
        method: request.method().to_string(),
        path: request.uri().path().to_owned(),
    };
    error.render(
        guess_protocol(&request),
        &request_id::of(request.extensions()),
    )
}

pub async fn method_not_allowed(request: Request) -> Response {
    let error = ProxyError::MethodNotAllowed {
        method: request.method().to_string(),
        path: request.uri().path().to_owned(),
    };
    error.render(
        guess_protocol(&request),
        &request_id::of(request.extensions()),
    )
}
