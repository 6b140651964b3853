//! Request ids: every response carries `x-request-id` — the client's when it sent a sane
//! one, else a fresh one — and every error message and log line of the request names it.

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
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

/// Middleware: choose the id, hand it to the handler, put it on the response.
pub async fn layer(mut request: Request, next: Next) -> Response {
    let id = request_id(request.headers().get(&HEADER).map(HeaderValue::as_bytes));
    request.extensions_mut().insert(RequestId(Arc::clone(&id)));
    let mut response = next.run(request).await;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(HEADER, value);
    }
    response
}
