//! An OAuth account's current access token, as the hot path reads it.
//!
//! The token lives in an `ArcSwapOption` on the account's shared state (kept across
//! pool rebuilds, like AIMD and the breaker), so a request builds its `Authorization`
//! header with one atomic load and a `HeaderValue` clone (a reference count), never a
//! store read or a lock. API-key accounts never touch it: their header is prepared once
//! in [`crate::upstream::AccountWire`].
//!
//! Every token carries the generation of its grant (bumped by each refresh and sign-in,
//! in the store), and the cell only ever moves forward: a pool rebuild from an older
//! store read cannot bring back an older token.
//!
//! Refreshing is single-flight per account: whoever refreshes holds [`TokenCell::flight`]
//! (an async mutex, taken only by refreshers, never by a request that is merely using
//! the token), and after taking it checks whether the generation it wanted to replace is
//! still current. See [`crate::oauth::refresh`].

use arc_swap::ArcSwapOption;
use http::HeaderValue;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

/// Refresh this long before expiry at most (5 minutes) …
pub const REFRESH_AHEAD_MS: i64 = 300_000;

/// When a token of `lifetime_ms` expiring at `expires_at_ms` is refreshed: 5 minutes
/// before expiry, or after three quarters of its lifetime when that is shorter (so
/// short-lived tokens are not refreshed at once).
pub fn refresh_at(expires_at_ms: i64, lifetime_ms: i64) -> i64 {
    expires_at_ms.saturating_sub(REFRESH_AHEAD_MS.min(lifetime_ms.max(0) / 4))
}

/// One access token in its wire form.
#[derive(Debug)]
pub struct Access {
    /// `Bearer …`, marked sensitive (its `Debug` does not show the token).
    pub bearer: HeaderValue,
    /// Unix ms.
    pub expires_at_ms: i64,
    /// Unix ms: when the background refresher renews it.
    pub refresh_at_ms: i64,
    pub generation: i64,
}

/// The current access token of an OAuth account (empty for API-key accounts).
#[derive(Debug, Default)]
pub struct TokenCell {
    current: ArcSwapOption<Access>,
    /// Held by whoever refreshes this account's token.
    flight: tokio::sync::Mutex<()>,
    /// Unix ms before which the background refresher does not retry after a failure
    /// that may pass (network, 5xx).
    retry_at_ms: AtomicI64,
    /// Unix ms: when this process last renewed the token at the provider (0: never) …
    last_refresh_ms: AtomicI64,
    /// … and the generation that renewal stored.
    last_refresh_generation: AtomicI64,
}

impl TokenCell {
    /// Offer `token` as generation `generation`; kept only if newer than the current
    /// one. `true` if it replaced it.
    pub fn offer(
        &self,
        token: &str,
        expires_at_ms: i64,
        lifetime_ms: i64,
        generation: i64,
    ) -> bool {
        let Ok(mut bearer) = HeaderValue::try_from(format!("Bearer {token}")) else {
            return false;
        };
        bearer.set_sensitive(true);
        let next = Arc::new(Access {
            bearer,
            expires_at_ms,
            refresh_at_ms: refresh_at(expires_at_ms, lifetime_ms),
            generation,
        });
        let mut replaced = false;
        self.current.rcu(|current| match current {
            Some(c) if c.generation >= generation => {
                replaced = false;
                Some(Arc::clone(c))
            }
            _ => {
                replaced = true;
                Some(Arc::clone(&next))
            }
        });
        if replaced {
            self.retry_at_ms.store(0, Ordering::Relaxed);
        }
        replaced
    }

    /// Stop using generation `generation` (the upstream refused it and it could not be
    /// renewed now): it counts as expired, so routing skips the account, and the
    /// background refresher renews it as soon as its retry time allows.
    pub fn invalidate(&self, generation: i64) {
        self.current.rcu(|current| match current {
            Some(c) if c.generation == generation => Some(Arc::new(Access {
                bearer: c.bearer.clone(),
                expires_at_ms: 0,
                refresh_at_ms: 0,
                generation,
            })),
            other => other.clone(),
        });
    }

    /// The `Authorization` header value now (hot path: one atomic load).
    pub fn bearer(&self) -> Option<HeaderValue> {
        self.current.load().as_ref().map(|a| a.bearer.clone())
    }

    /// The current token's details.
    pub fn access(&self) -> Option<Arc<Access>> {
        self.current.load_full()
    }

    /// The current generation (0 when there is no token).
    pub fn generation(&self) -> i64 {
        self.current.load().as_ref().map_or(0, |a| a.generation)
    }

    /// Whether there is no usable token at `now_ms` (none, or expired): routing skips
    /// the account until the refresher has renewed it.
    pub fn expired(&self, now_ms: i64) -> bool {
        self.current
            .load()
            .as_ref()
            .is_none_or(|a| a.expires_at_ms <= now_ms)
    }

    /// The single-flight lock of refreshes.
    pub fn flight(&self) -> &tokio::sync::Mutex<()> {
        &self.flight
    }

    /// Whether the background refresher should renew the token at `now_ms`.
    pub fn due(&self, now_ms: i64) -> bool {
        self.current
            .load()
            .as_ref()
            .is_some_and(|a| a.refresh_at_ms <= now_ms)
            && self.retry_at_ms.load(Ordering::Relaxed) <= now_ms
    }

    /// When the background refresher should look at this account next (unix ms).
    pub fn next_due(&self) -> Option<i64> {
        let access = self.current.load_full()?;
        Some(
            access
                .refresh_at_ms
                .max(self.retry_at_ms.load(Ordering::Relaxed)),
        )
    }

    /// Record that the provider renewed the token at `now_ms` as `generation`.
    pub fn mark_refresh(&self, now_ms: i64, generation: i64) {
        self.last_refresh_ms.store(now_ms, Ordering::Relaxed);
        self.last_refresh_generation
            .store(generation, Ordering::Relaxed);
    }

    /// When this process renewed the current token at the provider, if it did (not when
    /// it came from a sign-in or another process).
    pub fn refreshed_here_at(&self) -> Option<i64> {
        let at = self.last_refresh_ms.load(Ordering::Relaxed);
        (at > 0 && self.last_refresh_generation.load(Ordering::Relaxed) == self.generation())
            .then_some(at)
    }

    /// Do not retry before `at_ms` (a refresh failed in a way that may pass).
    pub fn retry_after(&self, at_ms: i64) {
        self.retry_at_ms.store(at_ms, Ordering::Relaxed);
    }
}

/// Renews an account's OAuth token (implemented by [`crate::oauth::refresh::Refresher`]).
pub trait Refresh: Send + Sync + std::fmt::Debug {
    /// Renew `account`'s token unless its generation already moved past `seen`; `true`
    /// when a newer token is in place.
    fn refresh<'a>(
        &'a self,
        account: &'a Arc<super::PoolAccount>,
        seen: i64,
    ) -> std::pin::Pin<Box<dyn Future<Output = bool> + Send + 'a>>;
}

/// Unix milliseconds now.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_only_move_forward() {
        let cell = TokenCell::default();
        assert!(cell.expired(0));
        assert!(cell.offer("t1", 10_000, 4_000, 1));
        assert_eq!(cell.bearer().unwrap(), "Bearer t1");
        assert!(cell.bearer().unwrap().is_sensitive());
        assert!(!format!("{cell:?}").contains("t1"));
        // An older read of the store cannot bring back an older token.
        assert!(!cell.offer("t0", 9_000, 4_000, 0));
        assert!(!cell.offer("t1-again", 10_000, 4_000, 1));
        assert_eq!(cell.bearer().unwrap(), "Bearer t1");
        assert!(cell.offer("t2", 20_000, 4_000, 2));
        assert_eq!(
            (cell.generation(), cell.bearer().unwrap()),
            (2, "Bearer t2".parse().unwrap())
        );
        assert!(!cell.expired(19_999));
        assert!(cell.expired(20_000));
        // A refused token that could not be renewed is not used again …
        cell.invalidate(1);
        assert!(!cell.expired(0), "an older generation is left alone");
        cell.invalidate(2);
        assert!(cell.expired(0) && cell.due(0));
        // … until a renewal brings a newer one.
        assert!(cell.offer("t3", 30_000, 4_000, 3));
        assert!(!cell.expired(29_000));
    }

    #[test]
    fn refresh_is_due_ahead_of_expiry() {
        // An hour-long token: five minutes before expiry.
        assert_eq!(refresh_at(3_600_000, 3_600_000), 3_300_000);
        // A 4 s token: one second before.
        assert_eq!(refresh_at(4_000, 4_000), 3_000);
        let cell = TokenCell::default();
        cell.offer("t", 4_000, 4_000, 1);
        assert!(!cell.due(2_999));
        assert!(cell.due(3_000));
        cell.retry_after(3_500);
        assert!(!cell.due(3_100));
        assert_eq!(cell.next_due(), Some(3_500));
        assert!(cell.due(3_500));
    }
}
