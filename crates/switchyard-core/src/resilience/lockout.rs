//! Lockouts: an account (or every account of a quota scope) is kept out of routing for a
//! model — or for all models — until a time, after a 429 or an exhausted quota.
//!
//! Lockouts belong to a *quota scope*, not to an account: accounts that share a quota
//! (one Google Cloud project, one OpenAI organisation) share their lockouts, so one 429
//! does not send the next request straight into the same wall through a sibling key. An
//! account with no declared scope is its own scope. A lockout never touches another scope.

use parking_lot::Mutex;
use tokio::time::Instant;

/// Why a scope is locked out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockReason {
    /// A 429: short, from `Retry-After` or a default.
    RateLimited,
    /// Credits or a daily/monthly quota are gone: until the reset (or a long default).
    QuotaExhausted,
}

impl LockReason {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::RateLimited => "rate_limited",
            Self::QuotaExhausted => "quota_exhausted",
        }
    }
}

/// One lockout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lockout {
    /// `None`: every model.
    pub model: Option<String>,
    pub until: Instant,
    pub reason: LockReason,
}

/// The lockouts of one quota scope.
#[derive(Debug, Default)]
pub struct Lockouts(Mutex<Vec<Lockout>>);

impl Lockouts {
    /// Lock `model` (or everything) until `until`. An existing lockout of the same model
    /// is extended, never shortened; expired entries are dropped on the way.
    pub fn lock(&self, model: Option<&str>, until: Instant, reason: LockReason, now: Instant) {
        let mut list = self.0.lock();
        list.retain(|l| l.until > now);
        match list.iter_mut().find(|l| l.model.as_deref() == model) {
            Some(l) => {
                if until > l.until {
                    l.until = until;
                    l.reason = reason;
                }
            }
            None => list.push(Lockout {
                model: model.map(str::to_owned),
                until,
                reason,
            }),
        }
    }

    /// Until when `model` is locked, if it is.
    pub fn locked_until(&self, model: &str, now: Instant) -> Option<Instant> {
        let list = self.0.lock();
        list.iter()
            .filter(|l| l.until > now && l.model.as_deref().is_none_or(|m| m == model))
            .map(|l| l.until)
            .max()
    }

    /// Lockouts still in force.
    pub fn active(&self, now: Instant) -> Vec<Lockout> {
        self.0
            .lock()
            .iter()
            .filter(|l| l.until > now)
            .cloned()
            .collect()
    }

    pub fn clear(&self) {
        self.0.lock().clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test(start_paused = true)]
    async fn per_model_and_whole_scope_lockouts_expire() {
        let l = Lockouts::default();
        let now = Instant::now();
        l.lock(
            Some("m1"),
            now + Duration::from_secs(5),
            LockReason::RateLimited,
            now,
        );
        assert!(l.locked_until("m1", now).is_some());
        assert!(
            l.locked_until("m2", now).is_none(),
            "other models unaffected"
        );
        l.lock(
            Some("m1"),
            now + Duration::from_secs(2),
            LockReason::RateLimited,
            now,
        );
        assert_eq!(
            l.locked_until("m1", now),
            Some(now + Duration::from_secs(5)),
            "never shortened"
        );
        l.lock(
            None,
            now + Duration::from_secs(60),
            LockReason::QuotaExhausted,
            now,
        );
        assert!(
            l.locked_until("m2", now).is_some(),
            "a scope-wide lockout covers every model"
        );
        tokio::time::advance(Duration::from_secs(61)).await;
        assert!(l.locked_until("m1", Instant::now()).is_none());
        assert!(l.active(Instant::now()).is_empty());
    }
}
