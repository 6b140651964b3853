//! The one place errors become HTTP.
//!
//! Proxy routes answer in the client protocol's own error shape ([`ProxyError::render`]);
//! management routes answer `{"error": {"code", "message", "field"?}}` ([`ApiFailure`]).
//! Both map every variant explicitly — no catch-all arm — so a new variant forces a
//! decision about its status. Blame is visible in the status: 4xx is the client's doing,
//! 502/503/504 the upstream's, 500 ours.

use axum::Json;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use serde_json::json;
use std::time::Duration;
use switchyard_core::admin::AdminError;
use switchyard_core::keyring::{KeyRefusal, usd};
use switchyard_core::oauth::OAuthError;
use switchyard_core::quota::poll::PollError;
use switchyard_core::store::StoreError;
use switchyard_core::translate::TranslateError;
use switchyard_types::admin::BudgetPeriod;
use switchyard_types::{ApiError, ApiErrorBody, Protocol};

/// A proxied request failed before an upstream answer could be relayed.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    #[error(
        "missing API key: send it as `Authorization: Bearer`, `x-api-key`, `x-goog-api-key` or `?key=`"
    )]
    MissingKey,
    #[error("invalid API key")]
    InvalidKey,
    #[error("this API key is disabled")]
    KeyDisabled,
    #[error("this API key has expired")]
    KeyExpired,
    #[error("this API key may not use model {0:?}")]
    ModelNotAllowed(String),
    #[error("this API key's limit of {per_minute} {unit} per minute is reached; retry after {}s", retry_after.as_secs().max(1))]
    KeyRateLimited {
        /// `requests` or `tokens`.
        unit: &'static str,
        per_minute: u64,
        retry_after: Duration,
    },
    #[error("this API key's budget of ${} {} is exhausted", usd(*.budget_micro_usd), .period.phrase())]
    BudgetExhausted {
        budget_micro_usd: i64,
        period: BudgetPeriod,
        retry_after: Duration,
    },
    #[error("invalid JSON body: {0}")]
    InvalidJson(String),
    #[error("{field}: {message}")]
    InvalidField { field: String, message: String },
    #[error("{field}: {message}")]
    Unsupported { field: String, message: String },
    #[error("upstream rejected the request: {message}")]
    Upstream { status: StatusCode, message: String },
    #[error("request body exceeds the limit of {limit} bytes")]
    BodyTooLarge { limit: usize },
    #[error("cannot read the request body: {0}")]
    BodyRead(String),
    #[error("the request body did not arrive within {}s", .0.as_secs())]
    BodyTimeout(Duration),
    #[error("model {0:?} is not served by any enabled account")]
    ModelNotFound(String),
    #[error("unknown route {method} {path}")]
    RouteNotFound { method: String, path: String },
    #[error("method {method} is not allowed on {path}")]
    MethodNotAllowed { method: String, path: String },
    #[error("every account serving {model:?} is rate limited; retry after {}s", retry_after.as_secs().max(1))]
    RateLimited {
        model: String,
        retry_after: Duration,
    },
    #[error("every account serving {model:?} is overloaded or unavailable")]
    Overloaded { model: String },
    #[error("no upstream account could serve {model:?}: {detail}")]
    UpstreamFailed { model: String, detail: String },
    #[error("the upstream did not answer in time for {model:?}")]
    UpstreamTimeout { model: String },
    #[error("the gateway's memory budget for buffered bytes is spent")]
    OverBudget,
    #[error("the gateway is shutting down; retry the request")]
    ShuttingDown,
    #[error("the upstream's answer exceeds the gateway's limit of {limit} bytes")]
    AnswerTooLarge { limit: usize },
}

impl From<TranslateError> for ProxyError {
    fn from(e: TranslateError) -> Self {
        match e {
            TranslateError::InvalidJson(m) => Self::InvalidJson(m),
            TranslateError::InvalidField { field, message } => {
                Self::InvalidField { field, message }
            }
            TranslateError::Unsupported { field, message } => Self::Unsupported { field, message },
            TranslateError::UpstreamMalformed(detail) => Self::UpstreamFailed {
                model: String::new(),
                detail,
            },
        }
    }
}

impl From<KeyRefusal> for ProxyError {
    fn from(refusal: KeyRefusal) -> Self {
        match refusal {
            KeyRefusal::Disabled => Self::KeyDisabled,
            KeyRefusal::Expired => Self::KeyExpired,
            KeyRefusal::ModelNotAllowed(model) => Self::ModelNotAllowed(model),
            KeyRefusal::Requests {
                per_minute,
                retry_after,
            } => Self::KeyRateLimited {
                unit: "requests",
                per_minute,
                retry_after,
            },
            KeyRefusal::Tokens {
                per_minute,
                retry_after,
            } => Self::KeyRateLimited {
                unit: "tokens",
                per_minute,
                retry_after,
            },
            KeyRefusal::Budget {
                budget_micro_usd,
                period,
                retry_after,
            } => Self::BudgetExhausted {
                budget_micro_usd,
                period,
                retry_after,
            },
        }
    }
}

impl ProxyError {
    pub fn status(&self) -> StatusCode {
        match self {
            Self::MissingKey | Self::InvalidKey | Self::KeyDisabled | Self::KeyExpired => {
                StatusCode::UNAUTHORIZED
            }
            Self::ModelNotAllowed(_) => StatusCode::FORBIDDEN,
            Self::KeyRateLimited { .. } | Self::BudgetExhausted { .. } => {
                StatusCode::TOO_MANY_REQUESTS
            }
            Self::InvalidJson(_)
            | Self::InvalidField { .. }
            | Self::Unsupported { .. }
            | Self::BodyRead(_) => StatusCode::BAD_REQUEST,
            Self::Upstream { status, .. } => *status,
            Self::BodyTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::BodyTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            Self::ModelNotFound(_) | Self::RouteNotFound { .. } => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Overloaded { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::UpstreamFailed { .. } => StatusCode::BAD_GATEWAY,
            Self::UpstreamTimeout { .. } => StatusCode::GATEWAY_TIMEOUT,
            Self::OverBudget | Self::ShuttingDown => StatusCode::SERVICE_UNAVAILABLE,
            Self::AnswerTooLarge { .. } => StatusCode::BAD_GATEWAY,
        }
    }

    /// The offending request field, for OpenAI's `param`.
    fn param(&self) -> Option<&str> {
        match self {
            Self::InvalidField { field, .. } | Self::Unsupported { field, .. } => Some(field),
            Self::ModelNotFound(_) | Self::ModelNotAllowed(_) => Some("model"),
            Self::MissingKey
            | Self::InvalidKey
            | Self::KeyDisabled
            | Self::KeyExpired
            | Self::KeyRateLimited { .. }
            | Self::BudgetExhausted { .. }
            | Self::InvalidJson(_)
            | Self::Upstream { .. }
            | Self::BodyTooLarge { .. }
            | Self::BodyRead(_)
            | Self::BodyTimeout(_)
            | Self::RouteNotFound { .. }
            | Self::MethodNotAllowed { .. }
            | Self::RateLimited { .. }
            | Self::Overloaded { .. }
            | Self::UpstreamFailed { .. }
            | Self::UpstreamTimeout { .. }
            | Self::OverBudget
            | Self::ShuttingDown
            | Self::AnswerTooLarge { .. } => None,
        }
    }

    /// OpenAI's `code` field.
    fn openai_code(&self) -> Option<&'static str> {
        match self {
            Self::MissingKey => Some("missing_api_key"),
            Self::InvalidKey => Some("invalid_api_key"),
            Self::ModelNotFound(_) => Some("model_not_found"),
            Self::RateLimited { .. } | Self::KeyRateLimited { .. } => Some("rate_limit_exceeded"),
            Self::KeyDisabled => Some("api_key_disabled"),
            Self::KeyExpired => Some("api_key_expired"),
            Self::ModelNotAllowed(_) => Some("model_not_allowed"),
            Self::BudgetExhausted { .. } => Some("insufficient_quota"),
            Self::Unsupported { .. } => Some("unsupported_parameter"),
            Self::InvalidJson(_)
            | Self::InvalidField { .. }
            | Self::Upstream { .. }
            | Self::BodyTooLarge { .. }
            | Self::BodyRead(_)
            | Self::BodyTimeout(_)
            | Self::RouteNotFound { .. }
            | Self::MethodNotAllowed { .. }
            | Self::Overloaded { .. }
            | Self::UpstreamFailed { .. }
            | Self::UpstreamTimeout { .. }
            | Self::OverBudget
            | Self::ShuttingDown
            | Self::AnswerTooLarge { .. } => None,
        }
    }

    /// The message a client sees: what it can act on, never internals (account ids,
    /// upstream URLs, socket errors: those are in the log under the request id), and
    /// never more than a short prefix of what it sent.
    pub fn public_message(&self) -> String {
        match self {
            Self::MissingKey
            | Self::InvalidKey
            | Self::KeyDisabled
            | Self::KeyExpired
            | Self::KeyRateLimited { .. }
            | Self::BudgetExhausted { .. }
            | Self::BodyTooLarge { .. }
            | Self::OverBudget
            | Self::ShuttingDown
            | Self::AnswerTooLarge { .. } => self.to_string(),
            Self::ModelNotAllowed(model) => {
                format!("this API key may not use model {:?}", echo(model))
            }
            Self::RateLimited { model, retry_after } => format!(
                "every account serving {:?} is rate limited; retry after {}s",
                echo(model),
                retry_after.as_secs().max(1)
            ),
            Self::InvalidJson(m) => format!("invalid JSON body: {}", echo_long(m)),
            Self::InvalidField { field, message } | Self::Unsupported { field, message } => {
                format!("{}: {}", echo_long(field), echo_long(message))
            }
            Self::Upstream { message, .. } => {
                format!("upstream rejected the request: {}", echo_long(message))
            }
            Self::BodyRead(_) => "cannot read the request body".to_owned(),
            Self::BodyTimeout(_) => self.to_string(),
            Self::ModelNotFound(model) => {
                format!(
                    "model {:?} is not served by any enabled account",
                    echo(model)
                )
            }
            Self::RouteNotFound { method, path } => {
                format!("unknown route {} {}", echo(method), echo(path))
            }
            Self::MethodNotAllowed { method, path } => {
                format!("method {} is not allowed on {}", echo(method), echo(path))
            }
            Self::Overloaded { model } => format!(
                "every account serving {:?} is overloaded or unavailable",
                echo(model)
            ),
            Self::UpstreamFailed { model, .. } => {
                format!("no upstream account could answer for {:?}", echo(model))
            }
            Self::UpstreamTimeout { model } => {
                format!("the upstream did not answer in time for {:?}", echo(model))
            }
        }
    }

    /// A stable label for the request log and metrics.
    pub const fn class(&self) -> &'static str {
        match self {
            Self::MissingKey | Self::InvalidKey => "auth",
            Self::KeyDisabled => "key_disabled",
            Self::KeyExpired => "key_expired",
            Self::ModelNotAllowed(_) => "model_not_allowed",
            Self::KeyRateLimited { .. } => "key_rate_limited",
            Self::BudgetExhausted { .. } => "budget_exhausted",
            Self::InvalidJson(_)
            | Self::InvalidField { .. }
            | Self::Unsupported { .. }
            | Self::BodyTooLarge { .. }
            | Self::BodyRead(_) => "invalid_request",
            Self::BodyTimeout(_) => "body_timeout",
            Self::Upstream { .. } => "upstream_refused",
            Self::ModelNotFound(_) => "model_not_found",
            Self::RouteNotFound { .. } | Self::MethodNotAllowed { .. } => "route",
            Self::RateLimited { .. } => "rate_limited",
            Self::Overloaded { .. } => "overloaded",
            Self::UpstreamFailed { .. } => "upstream_failed",
            Self::UpstreamTimeout { .. } => "upstream_timeout",
            Self::OverBudget => "over_budget",
            Self::ShuttingDown => "shutting_down",
            Self::AnswerTooLarge { .. } => "answer_too_large",
        }
    }

    /// Render in `protocol`'s error shape, with `Retry-After` when rate limited, and the
    /// request id in the message (and Anthropic's `request_id`).
    pub fn render(&self, protocol: Protocol, request_id: &str) -> Response {
        let status = self.status();
        let message = format!("{} (request id {request_id})", self.public_message());
        let body = match protocol {
            Protocol::OpenAi | Protocol::Responses => json!({"error": {
                "message": message,
                "type": openai_type(status),
                "param": self.param(),
                "code": self.openai_code(),
            }}),
            Protocol::Anthropic => json!({
                "type": "error",
                "error": {"type": anthropic_type(status), "message": message},
                "request_id": request_id,
            }),
            Protocol::Gemini => json!({"error": {
                "code": status.as_u16(),
                "message": message,
                "status": gemini_status(status),
            }}),
        };
        let mut response = (status, Json(body)).into_response();
        if matches!(self, Self::OverBudget | Self::ShuttingDown) {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        if let Self::RateLimited { retry_after, .. }
        | Self::KeyRateLimited { retry_after, .. }
        | Self::BudgetExhausted { retry_after, .. } = self
        {
            let secs = retry_after.as_secs_f64().ceil().max(1.0);
            if let Ok(v) = HeaderValue::from_str(&format!("{secs:.0}")) {
                response.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        response
    }
}

fn echo(text: &str) -> String {
    switchyard_core::pipeline::limits::echo(text)
}

/// Messages and field paths from our own parsers: longer than a model name may be, still
/// bounded.
fn echo_long(text: &str) -> String {
    switchyard_core::pipeline::limits::echo_within(text, 300)
}

fn openai_type(status: StatusCode) -> &'static str {
    match status.as_u16() {
        401 => "authentication_error",
        403 => "permission_error",
        404 => "not_found_error",
        429 => "rate_limit_error",
        500..=599 => "server_error",
        _ => "invalid_request_error",
    }
}

fn anthropic_type(status: StatusCode) -> &'static str {
    match status.as_u16() {
        401 => "authentication_error",
        403 => "permission_error",
        404 => "not_found_error",
        413 => "request_too_large",
        429 => "rate_limit_error",
        503 | 529 => "overloaded_error",
        504 => "timeout_error",
        500..=599 => "api_error",
        _ => "invalid_request_error",
    }
}

fn gemini_status(status: StatusCode) -> &'static str {
    match status.as_u16() {
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        405 => "UNIMPLEMENTED",
        429 => "RESOURCE_EXHAUSTED",
        502 | 503 => "UNAVAILABLE",
        504 => "DEADLINE_EXCEEDED",
        500..=599 => "INTERNAL",
        _ => "INVALID_ARGUMENT",
    }
}

/// A management API failure: `{"error": {"code", "message", "field"?}}`.
#[derive(Debug)]
pub struct ApiFailure {
    pub status: StatusCode,
    pub error: ApiError,
}

impl ApiFailure {
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            error: ApiError {
                code: code.to_owned(),
                message: message.into(),
                field: None,
            },
        }
    }

    pub fn invalid_field(field: impl Into<String>, message: impl Into<String>) -> Self {
        let field = field.into();
        let message = message.into();
        Self {
            status: StatusCode::BAD_REQUEST,
            error: ApiError {
                code: "invalid_field".to_owned(),
                message: format!("{field}: {message}"),
                field: Some(field),
            },
        }
    }

    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "missing or invalid admin key",
        )
    }
}

impl From<AdminError> for ApiFailure {
    fn from(e: AdminError) -> Self {
        match e {
            AdminError::NotFound { .. } => {
                Self::new(StatusCode::NOT_FOUND, "not_found", e.to_string())
            }
            AdminError::Invalid { field, message } => Self::invalid_field(field, message),
            AdminError::InvalidItem {
                index,
                field,
                message,
            } => {
                let field = if field.is_empty() {
                    format!("[{index}]")
                } else {
                    format!("[{index}].{field}")
                };
                Self::invalid_field(field, message)
            }
            AdminError::Poll(PollError::Nothing) => {
                Self::new(StatusCode::CONFLICT, "nothing_to_poll", e.to_string())
            }
            AdminError::Poll(
                PollError::Upstream(_) | PollError::Status(_) | PollError::Body(_),
            ) => Self::new(StatusCode::BAD_GATEWAY, "upstream_error", e.to_string()),
            AdminError::Store(inner) => {
                tracing::error!(error = %inner, "store failure in management API");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "storage_error",
                    "storage failure; see server logs",
                )
            }
            AdminError::Crypto(inner) => {
                tracing::error!(error = %inner, "crypto failure in management API");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "crypto_error",
                    "encryption failure; see server logs",
                )
            }
        }
    }
}

impl From<OAuthError> for ApiFailure {
    fn from(e: OAuthError) -> Self {
        match e {
            OAuthError::Invalid { field, message } => Self::invalid_field(field, message),
            OAuthError::UnknownProvider(_) => Self {
                status: StatusCode::BAD_REQUEST,
                error: ApiError {
                    code: "unknown_provider".to_owned(),
                    message: e.to_string(),
                    field: Some("provider".to_owned()),
                },
            },
            OAuthError::UnknownState => {
                Self::new(StatusCode::BAD_REQUEST, "invalid_state", e.to_string())
            }
            OAuthError::StateUsed => Self::new(StatusCode::CONFLICT, "state_used", e.to_string()),
            OAuthError::StateExpired => Self::new(StatusCode::GONE, "state_expired", e.to_string()),
            OAuthError::Denied { .. } => {
                Self::new(StatusCode::BAD_REQUEST, "oauth_denied", e.to_string())
            }
            OAuthError::Exchange(ref inner) => {
                tracing::warn!(error = %inner, "OAuth code exchange failed");
                Self::new(
                    StatusCode::BAD_GATEWAY,
                    "oauth_exchange_failed",
                    e.to_string(),
                )
            }
            OAuthError::Store(inner) => inner.into(),
            OAuthError::Crypto(inner) => AdminError::Crypto(inner).into(),
            OAuthError::Admin(inner) => inner.into(),
        }
    }
}

impl From<StoreError> for ApiFailure {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Sqlite(_)
            | StoreError::Create { .. }
            | StoreError::Task(_)
            | StoreError::Corrupt { .. }
            | StoreError::TooNew { .. } => {
                tracing::error!(error = %e, "store failure in management API");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "storage_error",
                    "storage failure; see server logs",
                )
            }
        }
    }
}

impl IntoResponse for ApiFailure {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(ApiErrorBody { error: self.error })).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body(r: Response) -> serde_json::Value {
        let bytes = axum::body::to_bytes(r.into_body(), 1 << 20).await.unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[tokio::test]
    async fn each_protocol_gets_its_own_shape() {
        let e = ProxyError::InvalidKey;
        let v = body(e.render(Protocol::OpenAi, "req_1")).await;
        assert_eq!(v["error"]["code"], "invalid_api_key");
        let v = body(e.render(Protocol::Anthropic, "req_1")).await;
        assert_eq!(v["type"], "error");
        assert_eq!(v["error"]["type"], "authentication_error");
        let v = body(e.render(Protocol::Gemini, "req_1")).await;
        assert_eq!(v["error"]["status"], "UNAUTHENTICATED");
        assert_eq!(v["error"]["code"], 401);
    }

    #[tokio::test]
    async fn messages_carry_the_request_id_and_no_internals() {
        let e = ProxyError::UpstreamFailed {
            model: "m".repeat(100_000),
            detail: "connect to http://user:pw@10.0.0.1:9/v1 failed: Connection refused".into(),
        };
        let v = body(e.render(Protocol::Anthropic, "req_abc")).await;
        let text = v.to_string();
        assert!(
            !text.contains("user:pw") && !text.contains("refused"),
            "{text}"
        );
        assert!(text.len() < 400, "the model is not echoed whole");
        assert_eq!(v["request_id"], "req_abc");
        assert!(v["error"]["message"].as_str().unwrap().contains("req_abc"));
        let e = ProxyError::ModelNotFound("x".repeat(1 << 20));
        let v = body(e.render(Protocol::OpenAi, "r")).await;
        assert!(v.to_string().len() < 400);
    }

    #[tokio::test]
    async fn rate_limit_carries_retry_after() {
        let e = ProxyError::RateLimited {
            model: "m".into(),
            retry_after: Duration::from_millis(1200),
        };
        let r = e.render(Protocol::Gemini, "req_1");
        assert_eq!(r.status(), 429);
        assert_eq!(r.headers()["retry-after"], "2");
        assert_eq!(body(r).await["error"]["status"], "RESOURCE_EXHAUSTED");
    }
}
