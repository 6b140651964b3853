//! Request ids: every response carries `x-request-id` — the client's when it sent a sane
//! one, else a fresh one — and every error message and log line of the request names it.

use http::{Extensions, HeaderName, HeaderValue};
use std::sync::Arc;
use switchyard_core::pipeline::context::request_id;

pub const HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// The request's id, in its extensions.
#[derive(Debug, Clone)]
pub struct RequestId(pub Arc<str>);

/// The id set by [`layer`] (a fresh one if the layer did not run).
pub fn of(extensions: &Extensions) -> Arc<str> {
    extensions
        .get::<RequestId>()
        .map_or_else(|| request_id(None), |r| Arc::clone(&r.0))
}

/// Choose the request's id, hand it to the handler (extensions) and return the header
/// value for the response. Called once per request by the connection service
/// ([`crate::conn`]), so every response carries it.
pub fn assign<B>(request: &mut http::Request<B>) -> Option<HeaderValue> {
    let id = request_id(request.headers().get(&HEADER).map(HeaderValue::as_bytes));
    let value = HeaderValue::from_str(&id).ok();
    request.extensions_mut().insert(RequestId(id));
    value
}
