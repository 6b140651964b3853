//! RAII lease on an account: counts one in-flight request while alive and carries the
//! request's outcome back into the account's resilience state.

use super::RoutingConfig;
use super::{Capacity, PoolAccount};
use crate::resilience::lockout::LockReason;
use crate::resilience::sessions::Sessions;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::time::Instant;

/// Lockouts longer than this also end the session bindings to the account.
const LONG_LOCKOUT: Duration = Duration::from_secs(300);

/// What an upstream's rate-limit headers said about the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimitHint {
    pub remaining: u64,
    pub limit: u64,
    /// Time until the window resets.
    pub reset_in: Duration,
}

/// The outcome of the leased request, as routing needs to know it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Feedback {
    /// An answer was relayed. `latency`: time to response headers.
    Success {
        latency: Duration,
        hint: Option<RateLimitHint>,
    },
    /// 429: lock this model on the scope for `retry_after` (or the default).
    RateLimited { retry_after: Option<Duration> },
    /// Credits or quota exhausted: lock the scope (every model when `all_models`) until
    /// the reset (or a long default).
    QuotaExhausted {
        reset_in: Option<Duration>,
        all_models: bool,
    },
    /// 529 / 503: the provider is overloaded.
    Overloaded { latency: Duration },
    /// The account's fault: 5xx, timeout, refused connection or a 403 for this request.
    Failure { latency: Duration },
    /// The credential itself was refused: the caller marks the account forbidden
    /// ([`super::Pool::mark_forbidden`]); the breaker and health learn nothing (the
    /// account is out of routing until verified).
    Revoked,
    /// Nothing learnt about the account (the client's request was at fault).
    Neutral,
}

/// Holds one in-flight slot on an account; dropping it releases the slot, whatever path
/// the request took (success, error, client disconnect, panic unwinding).
#[derive(Debug)]
pub struct Lease {
    account: Arc<PoolAccount>,
    sessions: Arc<Sessions>,
    capacity: Arc<Capacity>,
    session: Option<u64>,
    model: Arc<str>,
    reported: bool,
}

impl Lease {
    pub(super) fn new(
        account: Arc<PoolAccount>,
        sessions: Arc<Sessions>,
        capacity: Arc<Capacity>,
        session: Option<u64>,
        model: &str,
    ) -> Self {
        account.state.active.fetch_add(1, Ordering::Relaxed);
        Self {
            account,
            sessions,
            capacity,
            session,
            model: model.into(),
            reported: false,
        }
    }

    pub fn account(&self) -> &Arc<PoolAccount> {
        &self.account
    }

    /// Feed the outcome into AIMD, the breaker, health, lockouts and affinity.
    pub fn report(&mut self, feedback: Feedback, routing: &RoutingConfig) {
        self.reported = true;
        let now = Instant::now();
        let account = &self.account;
        let state = &account.state;
        match feedback {
            Feedback::Success { latency, hint } => {
                state.aimd.on_success();
                state.breaker.on_success();
                state.health.record(true, latency);
                if let Some(session) = self.session {
                    self.sessions.bind(session, &account.id, now);
                }
                if let Some(h) = hint
                    && h.limit > 0
                    && (h.remaining as f64) < routing.throttle_ratio * h.limit as f64
                {
                    account.lockouts.lock(
                        Some(&self.model),
                        now + h.reset_in,
                        LockReason::RateLimited,
                        now,
                    );
                }
            }
            Feedback::RateLimited { retry_after } => {
                state.aimd.on_overload();
                state.breaker.on_neutral();
                let wait = retry_after.unwrap_or(Duration::from_secs(routing.rate_limit_lock_secs));
                account
                    .lockouts
                    .lock(Some(&self.model), now + wait, LockReason::RateLimited, now);
                self.after_lockout(wait);
            }
            Feedback::QuotaExhausted {
                reset_in,
                all_models,
            } => {
                state.breaker.on_neutral();
                let wait = reset_in.unwrap_or(Duration::from_secs(routing.quota_lock_secs));
                let model = (!all_models).then_some(&*self.model);
                account
                    .lockouts
                    .lock(model, now + wait, LockReason::QuotaExhausted, now);
                self.after_lockout(wait);
            }
            Feedback::Overloaded { latency } => {
                state.aimd.on_overload();
                state.breaker.on_failure(now);
                state.health.record(false, latency);
                self.after_failure();
            }
            Feedback::Failure { latency } => {
                state.breaker.on_failure(now);
                state.health.record(false, latency);
                self.after_failure();
            }
            Feedback::Revoked | Feedback::Neutral => state.breaker.on_neutral(),
        }
    }

    fn after_lockout(&self, wait: Duration) {
        if wait > LONG_LOCKOUT {
            self.sessions.unbind_account(&self.account.id);
        } else if let Some(session) = self.session {
            self.sessions.on_failure(session, &self.account.id);
        }
    }

    fn after_failure(&self) {
        if let Some(session) = self.session {
            self.sessions.on_failure(session, &self.account.id);
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.account.state.active.fetch_sub(1, Ordering::Relaxed);
        self.capacity.released();
        if !self.reported {
            // Dropped without a verdict (client gone before headers): free a probe slot.
            self.account.state.breaker.on_neutral();
        }
    }
}
