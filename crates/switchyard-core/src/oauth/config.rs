//! `[oauth]` in the config file: the gateway's public URL and the providers accounts may
//! sign in through.
//!
//! ```toml
//! [oauth]
//! public_url = "https://gateway.example.com"   # optional; else from the request's Host
//!
//! [oauth.providers.google]          # built in: only the client is needed
//! client_id = "…apps.googleusercontent.com"
//! client_secret = "…"
//! project = "my-gcp-project"         # optional: sent as x-goog-user-project
//!
//! [oauth.providers.corp]             # any OAuth 2.0 server
//! auth_url = "https://idp.example.com/authorize"
//! token_url = "https://idp.example.com/token"
//! client_id = "…"
//! client_secret = "…"
//! scopes = ["llm.use", "offline_access"]
//! provider = "openai_compatible"     # the account provider it creates
//! ```

use crate::config::ConfigError;
use serde::Deserialize;
use std::collections::BTreeMap;
use switchyard_types::Provider;

/// Google's OAuth endpoints and the Gemini API scope (plus `openid email`, so the
/// signed-in identity is known and a second sign-in updates the same account).
pub const GOOGLE_AUTH_URL: &str = "https://accounts.google.com/o/oauth2/v2/auth";
pub const GOOGLE_TOKEN_URL: &str = "https://oauth2.googleapis.com/token";
pub const GOOGLE_SCOPES: &[&str] = &[
    "https://www.googleapis.com/auth/generative-language",
    "openid",
    "email",
];

/// `[oauth]` as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawOAuth {
    /// The gateway's public base URL (`https://host[:port][/prefix]`); the redirect URI
    /// is `{public_url}/api/oauth/callback`. Default: the scheme and host the start
    /// request came in on (`X-Forwarded-Proto` / `X-Forwarded-Host` honoured).
    pub public_url: Option<String>,
    /// `[oauth.providers.NAME]`.
    #[serde(default)]
    pub providers: BTreeMap<String, RawProvider>,
    /// The shortest access-token lifetime believed (seconds, 1–3600, default 60): a
    /// shorter `expires_in` (0, say) counts as this long, and one account's token is
    /// not refreshed again within half of it.
    pub min_token_lifetime_secs: Option<u64>,
}

/// `[oauth.providers.NAME]` as written.
#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawProvider {
    pub auth_url: Option<String>,
    pub token_url: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub scopes: Option<Vec<String>>,
    /// The account provider the sign-in creates (`gemini`, `openai`, …).
    pub provider: Option<String>,
    /// Google: the project billed, sent as `x-goog-user-project`.
    pub project: Option<String>,
    /// Extra parameters of the authorization URL (Google's built-in ones:
    /// `access_type=offline`, `prompt=consent`).
    pub auth_params: Option<BTreeMap<String, String>>,
}

impl std::fmt::Debug for RawProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawProvider")
            .field("auth_url", &self.auth_url)
            .field("token_url", &self.token_url)
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("scopes", &self.scopes)
            .field("provider", &self.provider)
            .field("project", &self.project)
            .field("auth_params", &self.auth_params)
            .finish()
    }
}

/// One validated provider.
#[derive(Clone, PartialEq, Eq)]
pub struct OAuthProvider {
    /// Its `NAME`.
    pub name: String,
    pub auth_url: String,
    pub token_url: String,
    pub client_id: String,
    pub client_secret: Option<String>,
    pub scopes: Vec<String>,
    pub provider: Provider,
    pub project: Option<String>,
    pub auth_params: Vec<(String, String)>,
}

impl std::fmt::Debug for OAuthProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthProvider")
            .field("name", &self.name)
            .field("auth_url", &self.auth_url)
            .field("token_url", &self.token_url)
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("scopes", &self.scopes)
            .field("provider", &self.provider)
            .field("project", &self.project)
            .field("auth_params", &self.auth_params)
            .finish()
    }
}

/// Default of `[oauth] min_token_lifetime_secs`.
pub const DEFAULT_MIN_TOKEN_LIFETIME_SECS: u64 = 60;
/// The longest access-token lifetime believed (a year).
pub const MAX_TOKEN_LIFETIME_MS: i64 = 365 * 24 * 3_600_000;

/// The validated `[oauth]` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthSettings {
    /// Without a trailing `/`.
    pub public_url: Option<String>,
    /// By name.
    pub providers: BTreeMap<String, OAuthProvider>,
    /// `min_token_lifetime_secs`, in ms.
    pub min_token_lifetime_ms: i64,
}

impl Default for OAuthSettings {
    fn default() -> Self {
        Self {
            public_url: None,
            providers: BTreeMap::new(),
            min_token_lifetime_ms: 1_000 * DEFAULT_MIN_TOKEN_LIFETIME_SECS as i64,
        }
    }
}

impl OAuthSettings {
    pub fn provider(&self, name: &str) -> Option<&OAuthProvider> {
        self.providers.get(name)
    }

    /// The lifetime believed of a token the provider said lives `issued_ms`: within
    /// [`Self::min_token_lifetime_ms`] and a year.
    pub fn lifetime_ms(&self, issued_ms: i64) -> i64 {
        issued_ms.clamp(self.min_token_lifetime_ms, MAX_TOKEN_LIFETIME_MS)
    }

    /// The shortest time between two refreshes of one account's token (half the
    /// shortest lifetime): a provider answering `expires_in: 0` is not asked again and
    /// again.
    pub fn min_refresh_gap_ms(&self) -> i64 {
        self.min_token_lifetime_ms / 2
    }
}

fn field_error(field: String, message: impl Into<String>) -> ConfigError {
    ConfigError::Field {
        field,
        message: message.into(),
    }
}

/// An absolute `http(s)` URL without credentials (an `http` one is allowed: local and
/// test servers).
fn check_url(field: String, url: &str) -> Result<String, ConfigError> {
    let parsed = reqwest::Url::parse(url).map_err(|e| field_error(field.clone(), e.to_string()))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(field_error(field, "must be an http(s) URL"));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(field_error(field, "must not carry credentials"));
    }
    Ok(url.trim_end_matches('/').to_owned())
}

impl RawOAuth {
    /// Validate into [`OAuthSettings`]; errors name the field (`oauth.providers.NAME.x`).
    pub fn validate(&self) -> Result<OAuthSettings, ConfigError> {
        let public_url = self
            .public_url
            .as_deref()
            .map(|u| check_url("oauth.public_url".into(), u))
            .transpose()?;
        let mut providers = BTreeMap::new();
        for (name, raw) in &self.providers {
            let path = |f: &str| format!("oauth.providers.{name}.{f}");
            if name.is_empty()
                || !name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'))
            {
                return Err(field_error(
                    format!("oauth.providers.{name}"),
                    "a provider name uses letters, digits, '-' and '_'",
                ));
            }
            let google = name == "google";
            let required = |value: &Option<String>, f: &str, default: Option<&str>| match value
                .as_deref()
                .filter(|v| !v.trim().is_empty())
                .or(default)
            {
                Some(v) => Ok(v.trim().to_owned()),
                None => Err(field_error(path(f), "is required")),
            };
            let auth_url = required(&raw.auth_url, "auth_url", google.then_some(GOOGLE_AUTH_URL))?;
            let token_url = required(
                &raw.token_url,
                "token_url",
                google.then_some(GOOGLE_TOKEN_URL),
            )?;
            let client_id = required(&raw.client_id, "client_id", None)?;
            let provider = required(&raw.provider, "provider", google.then_some("gemini"))?;
            let provider = provider
                .parse::<Provider>()
                .map_err(|e| field_error(path("provider"), e.to_string()))?;
            let scopes = match &raw.scopes {
                Some(s) => s.clone(),
                None if google => GOOGLE_SCOPES.iter().map(|s| (*s).to_owned()).collect(),
                None => Vec::new(),
            };
            if let Some(bad) = scopes.iter().find(|s| s.is_empty() || s.contains(' ')) {
                return Err(field_error(
                    path("scopes"),
                    format!("{bad:?}: one scope per entry, without spaces"),
                ));
            }
            let mut auth_params: Vec<(String, String)> = if google {
                vec![
                    ("access_type".into(), "offline".into()),
                    ("prompt".into(), "consent".into()),
                ]
            } else {
                Vec::new()
            };
            for (k, v) in raw.auth_params.iter().flatten() {
                const RESERVED: &[&str] = &[
                    "client_id",
                    "redirect_uri",
                    "response_type",
                    "scope",
                    "state",
                    "code_challenge",
                    "code_challenge_method",
                ];
                if RESERVED.contains(&k.as_str()) {
                    return Err(field_error(
                        format!("{}.{k}", path("auth_params")),
                        "is set by the gateway",
                    ));
                }
                auth_params.retain(|(name, _)| name != k);
                auth_params.push((k.clone(), v.clone()));
            }
            let project = raw
                .project
                .as_deref()
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(str::to_owned);
            if let Some(p) = &project
                && http::HeaderValue::try_from(p.as_str()).is_err()
            {
                return Err(field_error(path("project"), "is not a valid header value"));
            }
            providers.insert(
                name.clone(),
                OAuthProvider {
                    name: name.clone(),
                    auth_url: check_url(path("auth_url"), &auth_url)?,
                    token_url: check_url(path("token_url"), &token_url)?,
                    client_id,
                    client_secret: raw.client_secret.clone().filter(|s| !s.is_empty()),
                    scopes,
                    provider,
                    project,
                    auth_params,
                },
            );
        }
        let min_secs = self
            .min_token_lifetime_secs
            .unwrap_or(DEFAULT_MIN_TOKEN_LIFETIME_SECS);
        if !(1..=3600).contains(&min_secs) {
            return Err(field_error(
                "oauth.min_token_lifetime_secs".into(),
                "must be between 1 and 3600",
            ));
        }
        Ok(OAuthSettings {
            public_url,
            providers,
            min_token_lifetime_ms: i64::try_from(min_secs * 1_000).unwrap_or(60_000),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(toml: &str) -> Result<OAuthSettings, String> {
        let raw: RawOAuth = toml::from_str(toml).map_err(|e| e.to_string())?;
        raw.validate().map_err(|e| e.to_string())
    }

    #[test]
    fn token_lifetimes_are_bounded() {
        let s = parse("").unwrap();
        assert_eq!(s.lifetime_ms(0), 60_000);
        assert_eq!(s.lifetime_ms(i64::MAX), MAX_TOKEN_LIFETIME_MS);
        assert_eq!(s.lifetime_ms(3_600_000), 3_600_000);
        assert_eq!(s.min_refresh_gap_ms(), 30_000);
        assert_eq!(s, OAuthSettings::default());
        let s = parse("min_token_lifetime_secs = 2").unwrap();
        assert_eq!(s.lifetime_ms(0), 2_000);
        for bad in ["0", "3601"] {
            let e = parse(&format!("min_token_lifetime_secs = {bad}")).unwrap_err();
            assert!(e.contains("oauth.min_token_lifetime_secs"), "{e}");
        }
    }

    #[test]
    fn google_needs_only_its_client() {
        let s =
            parse("[providers.google]\nclient_id = \"id\"\nclient_secret = \"s\"\nproject = \"p\"")
                .unwrap();
        let g = s.provider("google").unwrap();
        assert_eq!(g.auth_url, GOOGLE_AUTH_URL);
        assert_eq!(g.token_url, GOOGLE_TOKEN_URL);
        assert_eq!(g.provider, Provider::Gemini);
        assert!(g.scopes.iter().any(|s| s.ends_with("/generative-language")));
        assert!(
            g.auth_params
                .contains(&("access_type".into(), "offline".into()))
        );
        assert!(g.auth_params.contains(&("prompt".into(), "consent".into())));
        assert_eq!(g.project.as_deref(), Some("p"));
        assert!(!format!("{g:?}").contains("\"s\""));
    }

    #[test]
    fn generic_providers_are_checked_field_by_field() {
        let err = parse("[providers.corp]\nclient_id = \"id\"\nprovider = \"openai\"").unwrap_err();
        assert!(err.contains("oauth.providers.corp.auth_url"), "{err}");
        let err = parse(
            "[providers.corp]\nauth_url = \"https://a\"\ntoken_url = \"ftp://t\"\nclient_id = \"i\"\nprovider = \"openai\"",
        )
        .unwrap_err();
        assert!(err.contains("oauth.providers.corp.token_url"), "{err}");
        let err = parse(
            "[providers.corp]\nauth_url = \"https://a\"\ntoken_url = \"https://t\"\nclient_id = \"i\"\nprovider = \"nope\"",
        )
        .unwrap_err();
        assert!(err.contains("oauth.providers.corp.provider"), "{err}");
        let err = parse("[providers.corp]\nclient_idd = \"i\"").unwrap_err();
        assert!(err.contains("client_idd"), "{err}");
        let ok = parse(
            "[providers.corp]\nauth_url = \"https://a/auth\"\ntoken_url = \"https://a/token\"\nclient_id = \"i\"\nprovider = \"openai\"\nscopes = [\"x\", \"offline_access\"]",
        )
        .unwrap();
        let corp = ok.provider("corp").unwrap();
        assert_eq!(corp.provider, Provider::OpenAi);
        assert!(corp.auth_params.is_empty());
        assert_eq!(corp.client_secret, None);
    }
}
