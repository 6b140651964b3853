//! Switchyard's behaviour, without an HTTP server: everything here is reachable from a
//! unit test.
//!
//! # Layout
//! - [`accounting`]: what requests cost (the price table) and the request log writer
//!   (bounded queue, batched writes with usage rollups, retention).
//! - [`config`]: layered configuration (defaults ← TOML ← env ← flags), validated.
//! - [`env`]: environment access behind a trait (tests never set real variables).
//! - [`crypto`]: the master key (AES-256-GCM at rest), redacted [`crypto::Secret`]s,
//!   constant-time key digests, random tokens and ids.
//! - [`data_dir`]: the data directory's private files and the start-up check of their
//!   modes.
//! - [`store`]: SQLite (WAL, migrations) on the blocking pool: accounts, client keys,
//!   the model mapping, the request log and its usage rollups, pending OAuth sign-ins
//!   and OAuth grants.
//! - [`pipeline`]: the request pipeline's rules in order: context, outcome classifier,
//!   attempt loop, commit checks, memory budget, client limits, the usage tap (a JSON
//!   answer's usage found from its end: `json_tail`) and the hidden-usage filter for
//!   OpenAI streams; substring searchers built once (`needles`).
//! - [`pool`]: the account snapshot and selection, returning an RAII [`pool::Lease`].
//! - [`keyring`]: client-key authentication against in-memory digests, and each key's
//!   policy (enabled, expiry, model allowlist, rpm / tpm limiters on atomics, budget)
//!   checked in O(1).
//! - [`mapping`]: model aliases (exact and `*` patterns) resolved from a snapshot, their
//!   last-write-wins merge, and the sync task with another instance.
//! - [`admin`]: management operations; every change rebuilds pool and key ring.
//!   Account import/export, bulk actions and verification live in `admin::accounts`.
//! - [`oauth`]: OAuth accounts: the sign-in flow (authorization code + PKCE, pending
//!   flows in the store) and the single-flight token refresh (`needs_reauth` on
//!   `invalid_grant`).
//! - [`quota`]: quota and balance snapshots per scope (rate-limit headers, Gemini 429
//!   bodies, polled billing endpoints) that routing ranks and protects by.
//! - [`upkeep`]: the background task that persists credential marks and quota
//!   snapshots and polls billing endpoints on a schedule.
//! - [`change_feed`]: polls the store's `config_version` (moved by triggers on the
//!   configuration tables) and reloads on changes by another process sharing the data dir.
//! - [`resilience`]: AIMD, circuit breaker, health, lockouts, session affinity, backoff.
//! - [`translate`]: protocol ↔ IR codecs (request, response, stream, error) per
//!   protocol, SSE framing, tool-id sanitising, Gemini schema cleaning.
//! - [`upstream`]: the shared HTTP client, per-provider URL + credential, `Retry-After`
//!   and rate-limit hints, the image-fetch address guard.

pub mod accounting;
pub mod admin;
pub mod change_feed;
pub mod config;
pub mod crypto;
pub mod data_dir;
pub mod env;
pub mod keyring;
pub mod mapping;
pub mod oauth;
pub mod pipeline;
pub mod pool;
pub mod quota;
pub mod resilience;
pub mod store;
pub mod translate;
pub mod upkeep;
pub mod upstream;
