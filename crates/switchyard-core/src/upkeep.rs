//! The account upkeep task (one per process, spawned by the server through its
//! lifecycle): everything about accounts that must not happen on a request's path.
//!
//! - Credential marks ([`crate::pool::status`]) are written to the store as soon as they
//!   are queued (a mark is rare: once per account until verified).
//! - Quota books that changed are written every [`PERSIST_EVERY`], and once more at
//!   shutdown ([`flush`]), so a restart starts from the last snapshot. These writes do
//!   not move the store's `config_version`, so they cause no reload (another process
//!   sharing the data dir reads the snapshots at its own start).
//! - Billing endpoints ([`crate::quota::poll`]) are polled per quota scope when their
//!   snapshot is older than [`POLL_TTL`] (checked every [`POLL_CHECK`]); forbidden and
//!   disabled accounts are not polled. A failing poll is logged once per scope and
//!   retried after the TTL.

use crate::admin::Admin;
use crate::quota::poll::{self, PollError};
use crate::store::now_unix;
use crate::upstream::Upstream;
use std::collections::HashMap;
use std::time::Duration;

/// How often changed quota books are written.
pub const PERSIST_EVERY: Duration = Duration::from_secs(60);
/// How old a polled snapshot may get.
pub const POLL_TTL: Duration = Duration::from_secs(300);
/// How often the poll schedule is checked.
pub const POLL_CHECK: Duration = Duration::from_secs(15);

/// Run until dropped (the lifecycle cancels it); the caller awaits [`flush`] afterwards.
pub async fn run(admin: Admin, upstream: Upstream) {
    if let Err(e) = admin.restore_quota().await {
        tracing::warn!(error = %e, "stored quota snapshots could not be read");
    }
    let mut persist = tokio::time::interval(PERSIST_EVERY);
    persist.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut polls = tokio::time::interval(POLL_CHECK);
    polls.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_poll: HashMap<String, i64> = HashMap::new();
    let mut failing: HashMap<String, bool> = HashMap::new();
    let ttl = i64::try_from(POLL_TTL.as_secs()).unwrap_or(300);
    loop {
        tokio::select! {
            () = admin.pool().status_queue().wait() => {
                if let Err(e) = admin.persist_status_changes().await {
                    tracing::error!(error = %e, "credential marks could not be stored; they hold in memory");
                }
            }
            _ = persist.tick() => {
                if let Err(e) = admin.persist_quota().await {
                    tracing::warn!(error = %e, "quota snapshots could not be stored");
                }
            }
            _ = polls.tick() => {
                let now = now_unix();
                for account in admin.pool().accounts().iter() {
                    if !account.enabled
                        || account.state.credential.is_forbidden()
                        || !poll::pollable(account.provider, account.admin_key.is_some())
                        || last_poll.get(&account.scope).is_some_and(|t| now - t < ttl)
                    {
                        continue;
                    }
                    last_poll.insert(account.scope.clone(), now);
                    let result = poll::poll(&upstream, account, account.admin_key.as_ref(), &account.quota, now).await;
                    let was_failing = failing.get(&account.scope).copied().unwrap_or(false);
                    match result {
                        Ok(()) | Err(PollError::Nothing) => {
                            failing.insert(account.scope.clone(), false);
                        }
                        Err(e) => {
                            if !was_failing {
                                tracing::warn!(account = %account.id, error = %e, "quota poll failed; retrying after the TTL");
                            }
                            failing.insert(account.scope.clone(), true);
                        }
                    }
                }
            }
        }
    }
}

/// Write what is pending (marks, changed quota books): at shutdown.
pub async fn flush(admin: &Admin) {
    if let Err(e) = admin.persist_status_changes().await {
        tracing::warn!(error = %e, "credential marks could not be stored at shutdown");
    }
    if let Err(e) = admin.persist_quota().await {
        tracing::warn!(error = %e, "quota snapshots could not be stored at shutdown");
    }
}
