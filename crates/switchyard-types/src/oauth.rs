//! Bodies of the OAuth sign-in API (`/api/oauth/*`).

use crate::admin::{AccountView, validate_base_url, validate_models};
use crate::{Provider, Tier};
use serde::{Deserialize, Serialize};
use validator::Validate;

/// `GET /api/oauth/providers`: the configured `[oauth.providers.NAME]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OAuthProviderList {
    pub providers: Vec<OAuthProviderInfo>,
}

/// One configured provider: its name and the account provider a sign-in creates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OAuthProviderInfo {
    pub name: String,
    pub provider: Provider,
}

/// `POST /api/oauth/start`: the settings of the account the sign-in creates (or
/// updates, when the same identity signs in again through the same provider).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct StartOAuth {
    /// A `[oauth.providers.NAME]` name.
    #[validate(length(min = 1, max = 100, message = "must be 1 to 100 characters"))]
    pub provider: String,
    /// Default: the signed-in identity (email), else the provider name.
    #[serde(default)]
    #[validate(length(min = 1, max = 200, message = "must be 1 to 200 characters"))]
    pub label: Option<String>,
    #[serde(default)]
    pub tier: Option<Tier>,
    #[serde(default)]
    #[validate(custom(function = "validate_models"))]
    pub models: Option<Vec<String>>,
    #[serde(default)]
    #[validate(custom(function = "validate_base_url"))]
    pub base_url: Option<String>,
}

/// The answer to `POST /api/oauth/start`: open `auth_url` in a browser. `state` is
/// single-use and expires after 10 minutes.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OAuthStarted {
    pub auth_url: String,
    pub state: String,
}

impl std::fmt::Debug for OAuthStarted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL's query carries the state too: only its address is shown.
        let address = self.auth_url.split('?').next().unwrap_or_default();
        f.debug_struct("OAuthStarted")
            .field("auth_url", &format_args!("{address}?<redacted>"))
            .field("state", &"<redacted>")
            .finish()
    }
}

/// `POST /api/oauth/complete`: the URL the provider redirected the browser to (for a
/// headless operator whose browser could not reach the gateway).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct CompleteOAuth {
    #[validate(length(min = 1, max = 8192, message = "must be 1 to 8192 characters"))]
    pub url: String,
}

impl std::fmt::Debug for CompleteOAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL carries a one-time code: never shown.
        f.debug_struct("CompleteOAuth")
            .field("url", &"<redacted>")
            .finish()
    }
}

/// A finished sign-in: the account and whether it was created (else updated).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OAuthSignedIn {
    pub account: AccountView,
    pub created: bool,
}
