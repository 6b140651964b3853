//! The OAuth 2.0 client calls, on the `oauth2` crate: the authorization URL (PKCE S256),
//! the code exchange and the refresh, over our own reqwest client (rustls, no
//! redirects, bounded). Tokens come back as [`Secret`]s; errors carry the server's
//! error code and description, never a token or the raw answer.

use super::config::OAuthProvider;
use crate::crypto::Secret;
use base64::Engine as _;
use oauth2::basic::{
    BasicErrorResponse, BasicErrorResponseType, BasicRevocationErrorResponse,
    BasicTokenIntrospectionResponse, BasicTokenType,
};
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointNotSet, EndpointSet,
    ExtraTokenFields, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RefreshToken,
    RequestTokenError, Scope, StandardRevocableToken, StandardTokenResponse, TokenResponse,
    TokenUrl,
};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Lifetime assumed when the token endpoint gives no `expires_in`.
const DEFAULT_LIFETIME_MS: i64 = 3_600_000;
/// Longest answer text kept from a failed token call.
const MAX_DESCRIPTION: usize = 300;

/// The `id_token` beside the access token (OpenID Connect), read only for its subject.
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct IdTokenField {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    id_token: Option<String>,
}

impl std::fmt::Debug for IdTokenField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdTokenField")
            .field("id_token", &self.id_token.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

impl ExtraTokenFields for IdTokenField {}

type Tokens = StandardTokenResponse<IdTokenField, BasicTokenType>;
type Client = oauth2::Client<
    BasicErrorResponse,
    Tokens,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
>;

/// A token call failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum TokenError {
    /// The grant (code or refresh token) is invalid, expired, revoked or reused.
    #[error("the provider refused the grant (invalid_grant){}", describe(.0))]
    InvalidGrant(Option<String>),
    /// Another error answer of the token endpoint (`invalid_client`, …).
    #[error("the provider answered {code}{}", describe(.description))]
    Refused {
        code: String,
        description: Option<String>,
    },
    /// The token endpoint could not be reached, or answered something unreadable.
    #[error("the token endpoint failed: {0}")]
    Failed(String),
}

fn describe(description: &Option<String>) -> String {
    description
        .as_deref()
        .map(|d| format!(": {d}"))
        .unwrap_or_default()
}

/// Tokens a token call issued.
#[derive(Debug)]
pub struct Issued {
    pub access: Secret,
    /// `None`: none issued (a refresh that does not rotate keeps the old one).
    pub refresh: Option<Secret>,
    pub lifetime_ms: i64,
    /// The identity of the id token (`sub`, else `email`), and its email, if any.
    pub subject: Option<String>,
    pub email: Option<String>,
}

/// The HTTP client for token calls: no redirects (a token endpoint that redirects is
/// misconfigured, and following would resend the code), bounded times.
pub fn http_client() -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(30))
        .use_rustls_tls()
        .user_agent(concat!("switchyard/", env!("CARGO_PKG_VERSION")))
        .build()
}

fn client(p: &OAuthProvider, redirect_uri: Option<&str>) -> Result<Client, TokenError> {
    let bad = |what: &str, e: oauth2::url::ParseError| TokenError::Failed(format!("{what}: {e}"));
    let mut client = oauth2::Client::new(ClientId::new(p.client_id.clone()))
        .set_auth_uri(AuthUrl::new(p.auth_url.clone()).map_err(|e| bad("auth_url", e))?)
        .set_token_uri(TokenUrl::new(p.token_url.clone()).map_err(|e| bad("token_url", e))?);
    if let Some(secret) = &p.client_secret {
        client = client.set_client_secret(ClientSecret::new(secret.clone()));
    }
    if let Some(uri) = redirect_uri {
        client = client.set_redirect_uri(
            RedirectUrl::new(uri.to_owned()).map_err(|e| bad("redirect URI", e))?,
        );
    }
    Ok(client)
}

/// The authorization URL for `state`, with a fresh PKCE (S256) challenge; returns the
/// URL and the verifier (to be kept secret until the code exchange).
pub fn authorize_url(
    p: &OAuthProvider,
    redirect_uri: &str,
    state: &str,
) -> Result<(String, Secret), TokenError> {
    let client = client(p, Some(redirect_uri))?;
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let state = state.to_owned();
    let mut request = client
        .authorize_url(move || CsrfToken::new(state))
        .add_scopes(p.scopes.iter().map(|s| Scope::new(s.clone())))
        .set_pkce_challenge(challenge);
    for (k, v) in &p.auth_params {
        request = request.add_extra_param(k.clone(), v.clone());
    }
    let (url, _) = request.url();
    Ok((url.to_string(), Secret::new(verifier.secret().clone())))
}

/// Exchange an authorization `code` (with its PKCE verifier).
pub async fn exchange_code(
    http: &reqwest::Client,
    p: &OAuthProvider,
    redirect_uri: &str,
    code: &str,
    verifier: &Secret,
) -> Result<Issued, TokenError> {
    let client = client(p, Some(redirect_uri))?;
    let answer = client
        .exchange_code(AuthorizationCode::new(code.to_owned()))
        .set_pkce_verifier(PkceCodeVerifier::new(verifier.expose().to_owned()))
        .request_async(http)
        .await;
    issued(answer)
}

/// Use a refresh token.
pub async fn refresh(
    http: &reqwest::Client,
    p: &OAuthProvider,
    refresh_token: &Secret,
) -> Result<Issued, TokenError> {
    let client = client(p, None)?;
    let token = RefreshToken::new(refresh_token.expose().to_owned());
    let answer = client
        .exchange_refresh_token(&token)
        .request_async(http)
        .await;
    issued(answer)
}

type Answer =
    Result<Tokens, RequestTokenError<oauth2::HttpClientError<reqwest::Error>, BasicErrorResponse>>;

fn bounded(text: &str) -> String {
    text.chars().take(MAX_DESCRIPTION).collect()
}

fn issued(answer: Answer) -> Result<Issued, TokenError> {
    let tokens = match answer {
        Ok(t) => t,
        Err(RequestTokenError::ServerResponse(e)) => {
            let description = e.error_description().map(|d| bounded(d));
            return Err(match e.error() {
                BasicErrorResponseType::InvalidGrant => TokenError::InvalidGrant(description),
                other => TokenError::Refused {
                    code: bounded(other.as_ref()),
                    description,
                },
            });
        }
        Err(RequestTokenError::Request(e)) => {
            // The chain of a transport error (no body, no token).
            let mut text = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                text.push_str(": ");
                text.push_str(&s.to_string());
                source = s.source();
            }
            return Err(TokenError::Failed(bounded(&text)));
        }
        // The raw answer is deliberately dropped: it may hold tokens.
        Err(RequestTokenError::Parse(e, _)) => {
            return Err(TokenError::Failed(format!(
                "unreadable answer at {}",
                e.path()
            )));
        }
        Err(RequestTokenError::Other(text)) => return Err(TokenError::Failed(bounded(&text))),
    };
    // As said (saturated); callers bound it with `OAuthSettings::lifetime_ms`.
    let lifetime_ms = tokens.expires_in().map_or(DEFAULT_LIFETIME_MS, |d| {
        i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
    });
    let (subject, email) = tokens
        .extra_fields()
        .id_token
        .as_deref()
        .map(identity)
        .unwrap_or_default();
    Ok(Issued {
        access: Secret::new(tokens.access_token().secret().clone()),
        refresh: tokens
            .refresh_token()
            .map(|r| Secret::new(r.secret().clone())),
        lifetime_ms,
        subject,
        email,
    })
}

/// The subject (`sub`, else `email`) and email of an id token. The signature is not
/// checked: the token came straight from the token endpoint over TLS (OpenID Connect
/// Core 3.1.3.7), and it only decides which account a sign-in updates.
pub fn identity(id_token: &str) -> (Option<String>, Option<String>) {
    #[derive(Deserialize)]
    struct Claims {
        sub: Option<String>,
        email: Option<String>,
    }
    let claims = id_token
        .split('.')
        .nth(1)
        .and_then(|p| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(p.trim_end_matches('='))
                .ok()
        })
        .and_then(|bytes| serde_json::from_slice::<Claims>(&bytes).ok());
    match claims {
        Some(c) => (
            c.sub
                .clone()
                .filter(|s| !s.is_empty())
                .or_else(|| c.email.clone()),
            c.email,
        ),
        None => (None, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::Digest;

    fn provider() -> OAuthProvider {
        OAuthProvider {
            name: "corp".into(),
            auth_url: "https://idp.example/authorize".into(),
            token_url: "https://idp.example/token".into(),
            client_id: "client-1".into(),
            client_secret: Some("shh".into()),
            scopes: vec!["a".into(), "b".into()],
            provider: switchyard_types::Provider::OpenAi,
            project: None,
            auth_params: vec![("access_type".into(), "offline".into())],
        }
    }

    #[test]
    fn the_authorization_url_binds_state_and_an_s256_challenge() {
        let (url, verifier) =
            authorize_url(&provider(), "http://gw/api/oauth/callback", "st-1").unwrap();
        let url = reqwest::Url::parse(&url).unwrap();
        let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
        assert_eq!(q["state"], "st-1");
        assert_eq!(q["client_id"], "client-1");
        assert_eq!(q["response_type"], "code");
        assert_eq!(q["redirect_uri"], "http://gw/api/oauth/callback");
        assert_eq!(q["scope"], "a b");
        assert_eq!(q["access_type"], "offline");
        assert_eq!(q["code_challenge_method"], "S256");
        let expected = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(sha2::Sha256::digest(verifier.expose().as_bytes()));
        assert_eq!(q["code_challenge"], expected);
        assert!(!url.as_str().contains(verifier.expose()));
        assert!(!url.as_str().contains("shh"), "no client secret in the URL");
    }

    #[test]
    fn identity_comes_from_the_id_token() {
        let enc = |v: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v);
        let token = format!(
            "{}.{}.sig",
            enc(r#"{"alg":"RS256"}"#),
            enc(r#"{"sub":"1234","email":"a@b.c"}"#)
        );
        assert_eq!(
            identity(&token),
            (Some("1234".into()), Some("a@b.c".into()))
        );
        let token = format!("x.{}.y", enc(r#"{"email":"a@b.c"}"#));
        assert_eq!(identity(&token).0.as_deref(), Some("a@b.c"));
        assert_eq!(identity("garbage"), (None, None));
    }
}
