//! Calling upstream providers: one shared HTTP client (connection pool, rustls, timeouts),
//! the URL and credential headers per provider, and classification of what came back.
//!
//! The client's own credential never reaches an upstream: requests are built from scratch
//! with the account's credential and only an allow-list of the client's headers.

mod classify;

pub use classify::{Outcome, go_duration, rate_limit_hint, retry_after};

use crate::config::UpstreamConfig;
use crate::pool::PoolAccount;
use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use std::time::Duration;
use switchyard_types::Protocol;

/// `anthropic-version` sent when the client did not send one.
pub const DEFAULT_ANTHROPIC_VERSION: &str = "2023-06-01";

/// Client headers forwarded upstream, per protocol (everything else is dropped).
const FORWARD_ANTHROPIC: &[&str] = &["anthropic-version", "anthropic-beta"];

/// Which upstream endpoint to call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint<'a> {
    /// OpenAI `POST {base}/chat/completions`.
    ChatCompletions,
    /// Anthropic `POST {base}/v1/messages`.
    Messages,
    /// Anthropic `POST {base}/v1/messages/count_tokens`.
    CountTokens,
    /// Gemini `POST {base}/v1beta/models/{model}:{method}`, with `?alt=sse` when `sse`.
    Gemini {
        model: &'a str,
        method: GeminiMethod,
        sse: bool,
    },
}

/// The Gemini model methods we proxy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GeminiMethod {
    GenerateContent,
    StreamGenerateContent,
    CountTokens,
}

impl GeminiMethod {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "generateContent" => Some(Self::GenerateContent),
            "streamGenerateContent" => Some(Self::StreamGenerateContent),
            "countTokens" => Some(Self::CountTokens),
            _ => None,
        }
    }
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::GenerateContent => "generateContent",
            Self::StreamGenerateContent => "streamGenerateContent",
            Self::CountTokens => "countTokens",
        }
    }
}

impl Endpoint<'_> {
    pub const fn protocol(self) -> Protocol {
        match self {
            Self::ChatCompletions => Protocol::OpenAi,
            Self::Messages | Self::CountTokens => Protocol::Anthropic,
            Self::Gemini { .. } => Protocol::Gemini,
        }
    }

    /// The full URL on `base_url` (which has no trailing slash).
    pub fn url(self, base_url: &str) -> String {
        match self {
            Self::ChatCompletions => format!("{base_url}/chat/completions"),
            Self::Messages => format!("{base_url}/v1/messages"),
            Self::CountTokens => format!("{base_url}/v1/messages/count_tokens"),
            Self::Gemini { model, method, sse } => format!(
                "{base_url}/v1beta/models/{model}:{}{}",
                method.as_str(),
                if sse { "?alt=sse" } else { "" }
            ),
        }
    }
}

/// The upstream could not be reached or did not answer in time.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    #[error("connecting to the upstream failed: {0}")]
    Connect(String),
    #[error("the upstream did not answer within {0:?}")]
    Timeout(Duration),
    #[error("upstream request failed: {0}")]
    Request(String),
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
    #[error("the upstream body exceeds {0} bytes")]
    TooLarge(usize),
}

/// The shared upstream HTTP client.
#[derive(Debug, Clone)]
pub struct Upstream {
    client: reqwest::Client,
    config: UpstreamConfig,
}

impl Upstream {
    pub fn new(config: UpstreamConfig) -> Result<Self, UpstreamError> {
        let client = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .read_timeout(config.idle_timeout)
            .pool_idle_timeout(Duration::from_secs(90))
            .pool_max_idle_per_host(256)
            .tcp_nodelay(true)
            .use_rustls_tls()
            .user_agent(concat!("switchyard/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| UpstreamError::Client(e.to_string()))?;
        Ok(Self { client, config })
    }

    pub fn config(&self) -> &UpstreamConfig {
        &self.config
    }

    /// Send `body` to `endpoint` on `account`, returning once response headers arrive.
    /// The body is then read by the caller, chunk by chunk.
    pub async fn send(
        &self,
        account: &PoolAccount,
        endpoint: Endpoint<'_>,
        client_headers: &HeaderMap,
        body: Bytes,
    ) -> Result<reqwest::Response, UpstreamError> {
        let url = endpoint.url(&account.base_url);
        let headers = upstream_headers(account, endpoint, client_headers);
        let request = self
            .client
            .request(Method::POST, url)
            .headers(headers)
            .body(body);
        match tokio::time::timeout(self.config.header_timeout, request.send()).await {
            Err(_) => Err(UpstreamError::Timeout(self.config.header_timeout)),
            Ok(Ok(response)) => Ok(response),
            Ok(Err(e)) if e.is_connect() => Err(UpstreamError::Connect(error_chain(&e))),
            Ok(Err(e)) if e.is_timeout() => {
                Err(UpstreamError::Timeout(self.config.connect_timeout))
            }
            Ok(Err(e)) => Err(UpstreamError::Request(error_chain(&e))),
        }
    }
}

/// Read a whole response body, failing once it exceeds `limit` bytes.
pub async fn read_bounded(
    mut response: reqwest::Response,
    limit: usize,
) -> Result<Bytes, UpstreamError> {
    let mut out = bytes::BytesMut::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| UpstreamError::Request(error_chain(&e)))?
    {
        if out.len() + chunk.len() > limit {
            return Err(UpstreamError::TooLarge(limit));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out.freeze())
}

impl Upstream {
    /// GET a resource (an image to inline), at most `limit` bytes; its bytes and
    /// content type. Only `https` URLs are fetched.
    pub async fn fetch(&self, url: &str, limit: usize) -> Result<(Bytes, String), UpstreamError> {
        if !url.starts_with("https://") {
            return Err(UpstreamError::Request(
                "only https URLs are fetched".to_owned(),
            ));
        }
        let request = self.client.get(url).send();
        let response = match tokio::time::timeout(self.config.header_timeout, request).await {
            Err(_) => return Err(UpstreamError::Timeout(self.config.header_timeout)),
            Ok(Err(e)) => return Err(UpstreamError::Request(error_chain(&e))),
            Ok(Ok(r)) => r,
        };
        if !response.status().is_success() {
            return Err(UpstreamError::Request(format!(
                "{url} answered {}",
                response.status()
            )));
        }
        let content_type = response
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(';').next().unwrap_or(v).trim().to_owned())
            .unwrap_or_default();
        Ok((read_bounded(response, limit).await?, content_type))
    }
}

/// An error with its sources, for logs (reqwest's top-level message is terse).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

/// Headers for the upstream request: content type, the account's credential in the
/// provider's scheme, and the allow-listed client headers.
pub fn upstream_headers(
    account: &PoolAccount,
    endpoint: Endpoint<'_>,
    client: &HeaderMap,
) -> HeaderMap {
    let mut h = HeaderMap::with_capacity(4);
    h.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    let secret = account.credential.expose();
    match endpoint.protocol() {
        Protocol::OpenAi => {
            if let Ok(mut v) = HeaderValue::from_str(&format!("Bearer {secret}")) {
                v.set_sensitive(true);
                h.insert(http::header::AUTHORIZATION, v);
            }
        }
        Protocol::Anthropic => {
            if let Ok(mut v) = HeaderValue::from_str(secret) {
                v.set_sensitive(true);
                h.insert(HeaderName::from_static("x-api-key"), v);
            }
            for name in FORWARD_ANTHROPIC {
                if let Some(v) = client.get(*name) {
                    h.insert(HeaderName::from_static(name), v.clone());
                }
            }
            h.entry(HeaderName::from_static("anthropic-version"))
                .or_insert(HeaderValue::from_static(DEFAULT_ANTHROPIC_VERSION));
        }
        Protocol::Gemini => {
            if let Ok(mut v) = HeaderValue::from_str(secret) {
                v.set_sensitive(true);
                h.insert(HeaderName::from_static("x-goog-api-key"), v);
            }
        }
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::Secret;
    use crate::pool::{AccountState, RoutingSettings};
    use std::sync::Arc;
    use switchyard_types::{Provider, Tier};

    fn account(provider: Provider) -> PoolAccount {
        PoolAccount {
            id: "a".into(),
            provider,
            label: "a".into(),
            base_url: "https://up.example".into(),
            tier: Tier::Unknown,
            models: vec!["*".into()],
            enabled: true,
            credential: Secret::new("sk-account"),
            scope: "a".into(),
            state: Arc::new(AccountState::new(&RoutingSettings::default())),
            lockouts: Arc::default(),
            urls: crate::pool::AccountUrls::default(),
        }
    }

    #[test]
    fn urls_follow_each_sdks_base_url_convention() {
        assert_eq!(
            Endpoint::ChatCompletions.url("http://h/v1"),
            "http://h/v1/chat/completions"
        );
        assert_eq!(Endpoint::Messages.url("http://h"), "http://h/v1/messages");
        let g = Endpoint::Gemini {
            model: "gemini-2.5-pro",
            method: GeminiMethod::StreamGenerateContent,
            sse: true,
        };
        assert_eq!(
            g.url("http://h"),
            "http://h/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse"
        );
    }

    #[test]
    fn credentials_are_substituted_per_provider() {
        let mut client = HeaderMap::new();
        client.insert(
            "authorization",
            HeaderValue::from_static("Bearer client-key"),
        );
        client.insert("x-api-key", HeaderValue::from_static("client-key"));
        client.insert("anthropic-beta", HeaderValue::from_static("b1"));

        let h = upstream_headers(
            &account(Provider::OpenAi),
            Endpoint::ChatCompletions,
            &client,
        );
        assert_eq!(h["authorization"], "Bearer sk-account");
        assert!(h.get("x-api-key").is_none());

        let h = upstream_headers(&account(Provider::Anthropic), Endpoint::Messages, &client);
        assert_eq!(h["x-api-key"], "sk-account");
        assert_eq!(h["anthropic-version"], DEFAULT_ANTHROPIC_VERSION);
        assert_eq!(h["anthropic-beta"], "b1");
        assert!(h.get("authorization").is_none());

        let g = Endpoint::Gemini {
            model: "m",
            method: GeminiMethod::GenerateContent,
            sse: false,
        };
        let h = upstream_headers(&account(Provider::Gemini), g, &client);
        assert_eq!(h["x-goog-api-key"], "sk-account");
        assert_eq!(h.len(), 2);
    }
}
