//! The HTTP layer: one request to `/api/*` with the admin key, and [`ApiFailure`], the
//! error every call returns. Its `Api` variant carries the server's own
//! [`ApiError`] (`{"error":{"code","message","field"}}`), so a page can show the message
//! and point at the field the server named.

use gloo_net::http::{Request, RequestBuilder, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fmt;
use switchyard_types::{ApiError, ApiErrorBody};

/// Why an API call failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiFailure {
    /// The server answered with an error status; `error` is its body, or one made up
    /// from the status when the body was not an [`ApiErrorBody`].
    Api { status: u16, error: ApiError },
    /// No answer: the gateway is down or unreachable.
    Network(String),
    /// An answer the API does not document (a bug on one side).
    Decode(String),
    /// Checked in the browser before sending: the same rule the server applies.
    Invalid { field: String, message: String },
}

impl ApiFailure {
    pub fn is_unauthorized(&self) -> bool {
        matches!(self, Self::Api { status: 401, .. })
    }

    /// The request field the server (or the local check) blamed, if any.
    pub fn field(&self) -> Option<&str> {
        match self {
            Self::Api { error, .. } => error.field.as_deref(),
            Self::Invalid { field, .. } => Some(field),
            Self::Network(_) | Self::Decode(_) => None,
        }
    }
}

impl fmt::Display for ApiFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Api { status, error } => match &error.field {
                Some(field) => write!(f, "{} ({status}): {field} {}", error.code, error.message),
                None => write!(f, "{} ({status}): {}", error.code, error.message),
            },
            Self::Network(m) => write!(f, "the gateway did not answer: {m}"),
            Self::Decode(m) => write!(f, "unexpected answer: {m}"),
            Self::Invalid { field, message } => write!(f, "{field} {message}"),
        }
    }
}

/// HTTP methods the API uses.
#[derive(Debug, Clone, Copy)]
pub enum Method {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

/// Sends one request with the admin key; a non-2xx answer becomes [`ApiFailure::Api`].
pub async fn send(
    key: &str,
    method: Method,
    path: &str,
    body: Option<&impl Serialize>,
) -> Result<Response, ApiFailure> {
    let builder: RequestBuilder = match method {
        Method::Get => Request::get(path),
        Method::Post => Request::post(path),
        Method::Put => Request::put(path),
        Method::Patch => Request::patch(path),
        Method::Delete => Request::delete(path),
    }
    .header("Authorization", &format!("Bearer {key}"));
    let response = match body {
        Some(body) => {
            builder
                .json(body)
                .map_err(|e| ApiFailure::Decode(e.to_string()))?
                .send()
                .await
        }
        None => builder.send().await,
    }
    .map_err(|e| ApiFailure::Network(e.to_string()))?;
    if response.ok() {
        return Ok(response);
    }
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    let error = match serde_json::from_str::<ApiErrorBody>(&text) {
        Ok(body) => body.error,
        Err(_) => ApiError {
            code: format!("http_{status}"),
            message: if text.is_empty() {
                response.status_text()
            } else {
                text.chars().take(300).collect()
            },
            field: None,
        },
    };
    Err(ApiFailure::Api { status, error })
}

/// Decodes a JSON answer.
pub async fn json<T: DeserializeOwned>(response: Response) -> Result<T, ApiFailure> {
    let text = response
        .text()
        .await
        .map_err(|e| ApiFailure::Network(e.to_string()))?;
    serde_json::from_str(&text).map_err(|e| ApiFailure::Decode(e.to_string()))
}

/// Reads a text answer.
pub async fn text(response: Response) -> Result<String, ApiFailure> {
    response
        .text()
        .await
        .map_err(|e| ApiFailure::Network(e.to_string()))
}
