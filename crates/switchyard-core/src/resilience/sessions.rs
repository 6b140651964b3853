//! Session affinity: a conversation keeps its account while that account is healthy, so
//! the provider's prompt cache (which lives per account) keeps paying off.
//!
//! A binding expires after a period of inactivity (TTL), and is dropped after
//! [`MAX_CONSECUTIVE_FAILURES`] failures on its account or when the account is locked out
//! for a long time — the request itself moves on at once either way; affinity never pins
//! a session to a broken account.

use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// Failures in a row on the bound account that end a binding.
pub const MAX_CONSECUTIVE_FAILURES: u32 = 3;
/// Bindings kept before expired ones are swept on insert.
const SWEEP_ABOVE: usize = 4096;

/// A session's binding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    pub account: Arc<str>,
    pub last_used: Instant,
    pub failures: u32,
}

/// All bindings. One mutex: each request touches it once or twice for a hash lookup.
#[derive(Debug)]
pub struct Sessions {
    ttl: Mutex<Duration>,
    map: Mutex<HashMap<u64, Binding>>,
}

impl Sessions {
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl: Mutex::new(ttl),
            map: Mutex::new(HashMap::new()),
        }
    }

    pub fn set_ttl(&self, ttl: Duration) {
        *self.ttl.lock() = ttl;
    }

    /// The account bound to `session`, if the binding is alive.
    pub fn get(&self, session: u64, now: Instant) -> Option<Arc<str>> {
        let ttl = *self.ttl.lock();
        let map = self.map.lock();
        map.get(&session)
            .filter(|b| now.duration_since(b.last_used) < ttl)
            .map(|b| Arc::clone(&b.account))
    }

    /// Bind (or refresh) `session` to `account` after a success.
    pub fn bind(&self, session: u64, account: &Arc<str>, now: Instant) {
        let ttl = *self.ttl.lock();
        let mut map = self.map.lock();
        if map.len() > SWEEP_ABOVE {
            map.retain(|_, b| now.duration_since(b.last_used) < ttl);
        }
        map.insert(
            session,
            Binding {
                account: Arc::clone(account),
                last_used: now,
                failures: 0,
            },
        );
    }

    /// A failure on `account` while serving `session`: unbind after too many in a row.
    pub fn on_failure(&self, session: u64, account: &str) {
        let mut map = self.map.lock();
        if let Some(b) = map.get_mut(&session)
            && &*b.account == account
        {
            b.failures += 1;
            if b.failures >= MAX_CONSECUTIVE_FAILURES {
                map.remove(&session);
            }
        }
    }

    /// Drop every binding to `account` (long lockout, deletion).
    pub fn unbind_account(&self, account: &str) {
        self.map.lock().retain(|_, b| &*b.account != account);
    }

    /// Live bindings.
    pub fn list(&self, now: Instant) -> Vec<(u64, Binding)> {
        let ttl = *self.ttl.lock();
        self.map
            .lock()
            .iter()
            .filter(|(_, b)| now.duration_since(b.last_used) < ttl)
            .map(|(k, b)| (*k, b.clone()))
            .collect()
    }

    pub fn clear(&self) {
        self.map.lock().clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn bindings_expire_and_break_after_failures() {
        let s = Sessions::new(Duration::from_secs(60));
        let a: Arc<str> = "acc_a".into();
        s.bind(1, &a, Instant::now());
        assert_eq!(s.get(1, Instant::now()).as_deref(), Some("acc_a"));
        tokio::time::advance(Duration::from_secs(61)).await;
        assert!(s.get(1, Instant::now()).is_none(), "expired");
        s.bind(1, &a, Instant::now());
        s.on_failure(1, "acc_other");
        s.on_failure(1, "acc_a");
        s.on_failure(1, "acc_a");
        assert!(s.get(1, Instant::now()).is_some());
        s.on_failure(1, "acc_a");
        assert!(s.get(1, Instant::now()).is_none(), "three failures unbind");
        s.bind(2, &a, Instant::now());
        s.unbind_account("acc_a");
        assert!(s.list(Instant::now()).is_empty());
    }
}
