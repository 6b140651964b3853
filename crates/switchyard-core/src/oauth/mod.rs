//! OAuth accounts: signing in through a provider's authorization server (authorization
//! code with PKCE S256) and keeping the account's access token fresh.
//!
//! # Layout
//! - [`config`]: `[oauth]` (public URL, `[oauth.providers.NAME]`; Google built in).
//! - [`client`]: the token endpoint calls, on the `oauth2` crate.
//! - [`flow`]: [`OAuth`], the sign-in service behind `/api/oauth/*`: start, finish
//!   (callback or pasted URL), the provider list.
//! - [`refresh`]: [`refresh::Refresher`], the background and on-401 refresh.
//!
//! # Where a pending sign-in lives
//!
//! In SQLite (`oauth_flows`), not in memory: during a redeploy two processes share the
//! data dir and the listening socket, so the browser's callback may reach the process
//! that did not start the flow. The row holds the SHA-256 digest of `state` (the state
//! itself, a bearer of the flow, is never stored), the provider, the redirect URI, the
//! requested account settings, and the PKCE verifier sealed with AES-256-GCM whose AAD
//! names the state digest (so a verifier cannot be replayed under another state). A
//! state is taken with one `UPDATE … WHERE used_at IS NULL RETURNING`, so exactly one
//! callback — in any process — gets it; a second use is told "already used", an unknown
//! one "unknown", and a flow older than 10 minutes "expired". Finished rows are kept a
//! day to tell those apart, then deleted by a later start.
//!
//! # Tokens
//!
//! An OAuth account is an ordinary account whose `secret` (sealed with AAD
//! `account:{id}`) is the current access token; its grant (`oauth_grants`) holds the
//! refresh token (sealed, AAD `account-refresh:{id}`), the expiry, a generation bumped by
//! every refresh and sign-in, and a refresh lease. Requests read the token from the
//! account's [`crate::pool::TokenCell`] (an `ArcSwap`), never from the store.
//!
//! # Refresh
//!
//! See [`refresh`]: in the background ahead of expiry, single-flight per account in a
//! process and across processes (the store lease), `invalid_grant` → `needs_reauth`.
//! A request never waits for a background refresh: an account whose token has expired
//! is skipped by routing (like a forbidden one) until it is renewed, so requests go to
//! other accounts instead of queueing behind a token endpoint. Only a request whose
//! token the upstream refused (401) waits, once, for the renewal (or joins the one in
//! flight) and is retried with the new token.

pub mod client;
pub mod config;
pub mod flow;
pub mod refresh;

pub use client::TokenError;
pub use config::{OAuthProvider, OAuthSettings, RawOAuth};
pub use flow::OAuth;

use crate::admin::AdminError;
use crate::crypto::CryptoError;
use crate::store::StoreError;

/// How long a started sign-in may take.
pub const FLOW_TTL_SECS: i64 = 600;
/// The gateway's callback route.
pub const CALLBACK_PATH: &str = "/api/oauth/callback";

/// A sign-in failed. Messages never carry a token, a code or a verifier.
#[derive(Debug, thiserror::Error)]
pub enum OAuthError {
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    #[error("no OAuth provider {0:?} is configured ([oauth.providers.NAME])")]
    UnknownProvider(String),
    #[error("unknown sign-in state: start the sign-in again")]
    UnknownState,
    #[error("this sign-in was already completed: start a new one")]
    StateUsed,
    #[error("this sign-in expired (10 minutes): start a new one")]
    StateExpired,
    /// The provider sent the browser back with `error=…`.
    #[error("the provider refused the sign-in: {error}{}", .description.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    Denied {
        error: String,
        description: Option<String>,
    },
    /// The token endpoint refused the code or could not be reached.
    #[error("the code exchange failed: {0}")]
    Exchange(#[from] TokenError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    #[error(transparent)]
    Admin(#[from] AdminError),
}
