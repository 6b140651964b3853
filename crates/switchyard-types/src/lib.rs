//! Wire and domain types shared by every Switchyard crate and by the dashboard.
//!
//! No I/O lives here and nothing depends on tokio or reqwest: this crate compiles to
//! `wasm32-unknown-unknown` so the Leptos dashboard can use the very same DTOs as the
//! server (one definition, no drift).
//!
//! # Layout
//! - [`provider`]: upstream [`Provider`]s, the client-facing [`Protocol`]s they speak
//!   (Chat Completions, Messages, Gemini, and Responses, which only OpenAI's own API
//!   speaks upstream), and account [`Tier`]s.
//! - [`admin`]: request/response bodies of the management API (`/api/accounts`,
//!   `/api/keys` with their policy, `/api/config/mapping`), with their validation rules.
//! - [`accounts`]: account credential status, import/export, bulk actions, verify.
//! - [`quota`]: bodies of the quota API (`/api/quota`).
//! - [`oauth`]: bodies of the OAuth sign-in API (`/api/oauth/*`).
//! - [`error`]: the management API's error body ([`ApiError`]), mirrored by clients.
//! - [`glob`]: the tiny glob matcher used for account `models` patterns.
//! - [`resilience`]: bodies of the resilience state API (health, circuits, AIMD,
//!   lockouts, sessions).
//! - [`ir`]: the canonical chat IR every protocol translates to and from.
//! - [`logs`]: bodies of the request log and usage API (`/api/logs`, `/api/usage`).

pub mod accounts;
pub mod admin;
pub mod error;
pub mod glob;
pub mod ir;
pub mod logs;
pub mod oauth;
pub mod provider;
pub mod quota;
pub mod resilience;

pub use error::{ApiError, ApiErrorBody};
pub use provider::{Protocol, Provider, Tier};
