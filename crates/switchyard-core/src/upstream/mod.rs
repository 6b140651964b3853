//! Calling upstream providers: one shared HTTP client (connection pool, rustls, timeouts),
//! the URL and credential headers per provider, and classification of what came back.
//!
//! The client's own credential never reaches an upstream: requests are built from scratch
//! with the account's credential and only an allow-list of the client's headers.
//!
//! # Layout
//! - here: [`Endpoint`]s, [`AccountWire`] (an account's URLs and credential header,
//!   prepared once per pool build) and the outbound header set.
//! - [`client`]: [`Upstream`], a lean hyper client on the hot path (no URL parsing, no
//!   per-request allocation beyond the request itself) plus a redirect-following client
//!   for the cold image fetch.
//! - [`guard`]: which addresses the image fetch may reach (public only, by default).
//! - [`body`]: [`UpstreamResponse`] and its body, with the idle timeout armed at most
//!   once per idle period rather than once per chunk.
//! - [`classify`]: `Retry-After` and rate-limit hints from headers.

mod body;
mod classify;
mod client;
pub mod guard;

pub use body::{UpstreamBody, UpstreamResponse, read_bounded, read_within};
pub use classify::{carries_rate_limits, go_duration, rate_limit_hint, retry_after};
pub use client::Upstream;

use crate::pool::PoolAccount;
use http::{HeaderMap, HeaderName, HeaderValue, Uri};
use std::fmt::Write as _;
use std::time::Duration;
use switchyard_types::Protocol;

pub const DEFAULT_ANTHROPIC_VERSION: &str = "2023-06-01";

/// Client headers forwarded upstream, per protocol (everything else is dropped).
const FORWARD_ANTHROPIC: &[&str] = &["anthropic-version", "anthropic-beta"];

/// Which upstream endpoint to call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint<'a> {
    /// OpenAI `POST {base}/chat/completions`.
    ChatCompletions,
    /// OpenAI `POST {base}/responses` (Responses passthrough, provider `openai` only).
    Responses,
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
            Self::Responses => Protocol::Responses,
            Self::Messages | Self::CountTokens => Protocol::Anthropic,
            Self::Gemini { .. } => Protocol::Gemini,
        }
    }

    /// The full URL on `base_url` (which has no trailing slash).
    pub fn url(self, base_url: &str) -> String {
        match self {
            Self::ChatCompletions => format!("{base_url}/chat/completions"),
            Self::Responses => format!("{base_url}/responses"),
            Self::Messages => format!("{base_url}/v1/messages"),
            Self::CountTokens => format!("{base_url}/v1/messages/count_tokens"),
            Self::Gemini { model, method, sse } => format!(
                "{base_url}/v1beta/models/{}:{}{}",
                PathSegment(model),
                method.as_str(),
                if sse { "?alt=sse" } else { "" }
            ),
        }
    }
}

/// The upstream could not be reached or did not answer in time.
/// A model name as one URL path segment: everything but RFC 3986 unreserved characters is
/// percent-encoded, so a client's odd model name reaches the upstream (which answers 404)
/// instead of failing to form a URL, which would count against the account.
pub(crate) struct PathSegment<'a>(pub(crate) &'a str);

impl std::fmt::Display for PathSegment<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for b in self.0.bytes() {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
                f.write_char(char::from(b))?;
            } else {
                write!(f, "%{b:02X}")?;
            }
        }
        Ok(())
    }
}

/// An account's upstream URLs and credential header, prepared once when the pool is
/// built: parsing URLs and formatting `Bearer …` showed in the request profile. Gemini
/// URLs carry the model and are built per request.
#[derive(Debug, Clone, Default)]
pub struct AccountWire {
    chat_completions: Option<Uri>,
    /// OpenAI-protocol accounts only (passthrough goes to provider `openai` alone).
    responses: Option<Uri>,
    messages: Option<Uri>,
    count_tokens: Option<Uri>,
    /// Marked sensitive: `Debug` shows `Sensitive`, never the key.
    credential: Option<(HeaderName, HeaderValue)>,
    /// `Host` for a plain-HTTP base URL (always HTTP/1 here), as hyper would write it:
    /// set here so the client does not format `host:port` on every request to a local
    /// server. HTTPS upstreams may speak HTTP/2, where hyper sends `:authority` and no
    /// `Host`: left to hyper.
    host: Option<HeaderValue>,
}

/// The `Host` hyper writes for an `http://` URI (userinfo never; the port unless 80).
fn http1_host(uri: &Uri) -> Option<HeaderValue> {
    if uri.scheme() != Some(&http::uri::Scheme::HTTP) {
        return None;
    }
    let authority = uri.authority()?;
    let host = match authority.port_u16() {
        Some(port) if port != 80 => format!("{}:{port}", authority.host()),
        _ => authority.host().to_owned(),
    };
    HeaderValue::from_str(&host).ok()
}

impl AccountWire {
    /// Prepare the wire form of an account whose upstream speaks `protocol`. A base URL
    /// or credential that cannot go on the wire is left out and reported per request.
    pub fn new(protocol: Protocol, base_url: &str, secret: &str) -> Self {
        let uri = |endpoint: Endpoint<'_>| Uri::try_from(endpoint.url(base_url)).ok();
        let credential = match protocol {
            Protocol::OpenAi | Protocol::Responses => {
                (http::header::AUTHORIZATION, format!("Bearer {secret}"))
            }
            Protocol::Anthropic => (HeaderName::from_static("x-api-key"), secret.to_owned()),
            Protocol::Gemini => (HeaderName::from_static("x-goog-api-key"), secret.to_owned()),
        };
        let credential = HeaderValue::try_from(credential.1).ok().map(|mut v| {
            v.set_sensitive(true);
            (credential.0, v)
        });
        let chat_completions = uri(Endpoint::ChatCompletions);
        let host = chat_completions.as_ref().and_then(http1_host);
        Self {
            host,
            chat_completions,
            responses: matches!(protocol, Protocol::OpenAi | Protocol::Responses)
                .then(|| uri(Endpoint::Responses))
                .flatten(),
            messages: uri(Endpoint::Messages),
            count_tokens: uri(Endpoint::CountTokens),
            credential,
        }
    }

    /// The URI of `endpoint` on this account.
    pub fn uri(&self, base_url: &str, endpoint: Endpoint<'_>) -> Result<Uri, UpstreamError> {
        let fixed = match endpoint {
            Endpoint::ChatCompletions => &self.chat_completions,
            Endpoint::Responses => &self.responses,
            Endpoint::Messages => &self.messages,
            Endpoint::CountTokens => &self.count_tokens,
            Endpoint::Gemini { .. } => {
                // The model comes from the client: a URL it cannot form is the client's
                // fault, never the account's.
                return Uri::try_from(endpoint.url(base_url)).map_err(|e| {
                    UpstreamError::Unformable(format!("the model makes no URL: {e}"))
                });
            }
        };
        fixed
            .clone()
            .ok_or_else(|| UpstreamError::Request(format!("invalid upstream base URL {base_url}")))
    }
}

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
    /// The request cannot be formed from the client's input (e.g. its model name).
    #[error("cannot form the upstream request: {0}")]
    Unformable(String),
    /// The gateway's memory budget for buffered bytes is spent.
    #[error("the gateway's memory budget for buffered answers is spent")]
    OverBudget,
}

/// The shared upstream HTTP client.
/// `e` and its sources, joined with `: `.
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

const USER_AGENT: HeaderValue =
    HeaderValue::from_static(concat!("switchyard/", env!("CARGO_PKG_VERSION")));

/// The headers sent upstream: content type, user agent, the account's credential and,
/// for Anthropic, the client's `anthropic-version` / `anthropic-beta`.
pub fn upstream_headers(
    account: &PoolAccount,
    endpoint: Endpoint<'_>,
    client: &HeaderMap,
) -> HeaderMap {
    let mut h = HeaderMap::with_capacity(8);
    if let Some(host) = &account.wire.host {
        h.insert(http::header::HOST, host.clone());
    }
    h.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert(http::header::USER_AGENT, USER_AGENT);
    if let Some(oauth) = &account.oauth {
        // An OAuth account: `Authorization: Bearer` with the current access token (one
        // atomic load; for Gemini instead of `x-goog-api-key`), plus the Google project
        // to bill when one is configured.
        if let Some(bearer) = account.state.token.bearer() {
            h.insert(http::header::AUTHORIZATION, bearer);
        }
        if let Some(project) = &oauth.user_project {
            h.insert(
                HeaderName::from_static("x-goog-user-project"),
                project.clone(),
            );
        }
    } else if let Some((name, value)) = &account.wire.credential {
        h.insert(name.clone(), value.clone());
    }
    if endpoint.protocol() == Protocol::Anthropic {
        for name in FORWARD_ANTHROPIC {
            if let Some(v) = client.get(*name) {
                h.insert(HeaderName::from_static(name), v.clone());
            }
        }
        h.entry(HeaderName::from_static("anthropic-version"))
            .or_insert(HeaderValue::from_static(DEFAULT_ANTHROPIC_VERSION));
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
            wire: AccountWire::new(provider.protocol(), "https://up.example", "sk-account"),
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
            quota: Arc::default(),
            admin_key: None,
            oauth: None,
        }
    }

    #[test]
    fn plain_http_gets_hypers_host_and_https_none() {
        let host = |base: &str| {
            let mut a = account(Provider::OpenAiCompatible);
            a.wire = AccountWire::new(Protocol::OpenAi, base, "sk");
            upstream_headers(&a, Endpoint::ChatCompletions, &HeaderMap::new())
                .get(http::header::HOST)
                .map(|v| v.to_str().unwrap_or_default().to_owned())
        };
        assert_eq!(
            host("http://127.0.0.1:18080/v1").as_deref(),
            Some("127.0.0.1:18080")
        );
        assert_eq!(host("http://[::1]:8000/v1").as_deref(), Some("[::1]:8000"));
        assert_eq!(host("http://h:80/v1").as_deref(), Some("h"));
        assert_eq!(host("http://u:pw@h:81/v1").as_deref(), Some("h:81"));
        // HTTPS may be HTTP/2 (`:authority`, no `Host`): hyper decides.
        assert_eq!(host("https://api.openai.com/v1"), None);
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
        assert_eq!(h.len(), 3);
        assert!(h["x-goog-api-key"].is_sensitive());
        assert!(!format!("{:?}", account(Provider::Gemini)).contains("sk-account"));
    }

    #[test]
    fn oauth_accounts_send_their_current_bearer_token() {
        let mut gemini = account(Provider::Gemini);
        gemini.oauth = Some(crate::pool::OAuthWire {
            provider: "google".into(),
            user_project: Some(HeaderValue::from_static("my-project")),
        });
        gemini.state.token.offer("ya29.one", i64::MAX, 3_600_000, 1);
        let g = Endpoint::Gemini {
            model: "m",
            method: GeminiMethod::GenerateContent,
            sse: false,
        };
        let h = upstream_headers(&gemini, g, &HeaderMap::new());
        assert_eq!(h["authorization"], "Bearer ya29.one");
        assert!(h["authorization"].is_sensitive());
        assert_eq!(h["x-goog-user-project"], "my-project");
        assert!(
            h.get("x-goog-api-key").is_none(),
            "no API key beside the token"
        );
        // A refresh is seen by the next request.
        gemini.state.token.offer("ya29.two", i64::MAX, 3_600_000, 2);
        let h = upstream_headers(&gemini, g, &HeaderMap::new());
        assert_eq!(h["authorization"], "Bearer ya29.two");
    }

    #[test]
    fn prepared_uris_match_the_url_convention() {
        let wire = AccountWire::new(Protocol::OpenAi, "http://h:1/v1", "k");
        let uri = wire
            .uri("http://h:1/v1", Endpoint::ChatCompletions)
            .unwrap();
        assert_eq!(uri, "http://h:1/v1/chat/completions");
        let uri = wire.uri("http://h:1/v1", Endpoint::Responses).unwrap();
        assert_eq!(uri, "http://h:1/v1/responses");
        let anthropic = AccountWire::new(Protocol::Anthropic, "http://h:1", "k");
        assert!(anthropic.uri("http://h:1", Endpoint::Responses).is_err());
        let g = Endpoint::Gemini {
            model: "gemini-2.5-pro",
            method: GeminiMethod::GenerateContent,
            sse: false,
        };
        assert_eq!(
            wire.uri("http://h:1", g).unwrap(),
            "http://h:1/v1beta/models/gemini-2.5-pro:generateContent"
        );
        let odd = Endpoint::Gemini {
            model: "my model/ü:x",
            method: GeminiMethod::GenerateContent,
            sse: false,
        };
        assert_eq!(
            wire.uri("http://h:1", odd).unwrap(),
            "http://h:1/v1beta/models/my%20model%2F%C3%BC%3Ax:generateContent"
        );
        let bad = AccountWire::new(Protocol::OpenAi, "not a url", "k");
        assert!(matches!(
            bad.uri("not a url", Endpoint::ChatCompletions),
            Err(UpstreamError::Request(_))
        ));
    }
}
