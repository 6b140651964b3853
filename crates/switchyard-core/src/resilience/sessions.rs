//! Session affinity: a conversation keeps its account while that account is healthy, so
//! the provider's prompt cache (which lives per account) keeps paying off.
//!
//! A binding expires after a period of inactivity (TTL), and is dropped after
//! [`MAX_CONSECUTIVE_FAILURES`] failures on its account or when the account is locked out
//! for a long time — the request itself moves on at once either way; affinity never pins
//! a session to a broken account.
//!
//! The table is bounded: it holds at most about `capacity` bindings
//! (`routing.session_capacity`) and, when full, forgets the least recently used one. Each
//! request costs O(1) (`get`, `bind`, `on_failure` are one hash lookup under one short
//! lock); no call sweeps the table on the request path. Expired bindings are dropped when
//! read, and otherwise age out of the LRU order. The table is split into shards by the
//! session hash, each behind its own mutex, so concurrent requests rarely meet on a lock;
//! eviction is exact LRU within a shard (tables under 2,048 bindings have one shard, so
//! they evict exactly the oldest). Only the management paths
//! ([`Sessions::unbind_account`], [`Sessions::list`], [`Sessions::clear`]) walk every
//! binding.

use lru::LruCache;
use parking_lot::Mutex;
use std::num::NonZeroUsize;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::time::Instant;

/// Failures in a row on the bound account that end a binding.
pub const MAX_CONSECUTIVE_FAILURES: u32 = 3;
/// Most shards of the table.
const MAX_SHARDS: usize = 64;
/// Bindings per shard below which fewer shards are used (small tables stay exact LRU).
const SHARD_SIZE: usize = 1024;

/// A session's binding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    pub account: Arc<str>,
    pub last_used: Instant,
    pub failures: u32,
}

/// All bindings: a bounded LRU table, sharded by session hash.
#[derive(Debug)]
pub struct Sessions {
    /// TTL in nanoseconds (read on every lookup, so not behind a lock).
    ttl_nanos: AtomicU64,
    /// A power-of-two number of shards, fixed at construction.
    shards: Box<[Mutex<LruCache<u64, Binding>>]>,
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// Bindings each of `shards` shards may hold for a total of about `capacity`.
fn per_shard(capacity: usize, shards: usize) -> NonZeroUsize {
    NonZeroUsize::new(capacity.div_ceil(shards)).unwrap_or(NonZeroUsize::MIN)
}

impl Sessions {
    /// A table holding about `capacity` bindings (at least one) that lapse after `ttl`.
    pub fn new(ttl: Duration, capacity: usize) -> Self {
        let shards = (capacity / SHARD_SIZE).clamp(1, MAX_SHARDS);
        // Round down to a power of two so a shard is picked with a shift.
        let shards = 1usize << shards.ilog2();
        let cap = per_shard(capacity, shards);
        Self {
            ttl_nanos: AtomicU64::new(nanos(ttl)),
            // `sparse`: memory grows with the bindings actually made, not the capacity.
            shards: (0..shards)
                .map(|_| Mutex::new(LruCache::sparse(cap)))
                .collect(),
        }
    }

    pub fn set_ttl(&self, ttl: Duration) {
        self.ttl_nanos.store(nanos(ttl), Ordering::Relaxed);
    }

    /// Change the capacity (hot reload); shrinking forgets the least recently used.
    /// The number of shards stays as built, so the bound is approximate when it shrinks
    /// far below the original.
    pub fn set_capacity(&self, capacity: usize) {
        let cap = per_shard(capacity, self.shards.len());
        for shard in &self.shards {
            shard.lock().resize(cap);
        }
    }

    /// How many bindings the table holds at most.
    pub fn capacity(&self) -> usize {
        self.shards.iter().map(|s| s.lock().cap().get()).sum()
    }

    fn ttl(&self) -> Duration {
        Duration::from_nanos(self.ttl_nanos.load(Ordering::Relaxed))
    }

    fn shard(&self, session: u64) -> &Mutex<LruCache<u64, Binding>> {
        // Fibonacci hashing: the top bits of the product pick the shard, so even a
        // poorly spread session hash spreads over the shards.
        let mixed = session.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let bits = self.shards.len().trailing_zeros();
        let index = if bits == 0 { 0 } else { mixed >> (64 - bits) };
        let index = usize::try_from(index).unwrap_or(0);
        &self.shards[index % self.shards.len()]
    }

    /// The account bound to `session`, if the binding is alive. An expired binding is
    /// dropped.
    pub fn get(&self, session: u64, now: Instant) -> Option<Arc<str>> {
        let ttl = self.ttl();
        let mut shard = self.shard(session).lock();
        let binding = shard.get(&session)?;
        if now.duration_since(binding.last_used) < ttl {
            return Some(Arc::clone(&binding.account));
        }
        shard.pop(&session);
        None
    }

    /// Bind (or refresh) `session` to `account` after a success; when the table is full,
    /// the least recently used binding makes room.
    pub fn bind(&self, session: u64, account: &Arc<str>, now: Instant) {
        let binding = Binding {
            account: Arc::clone(account),
            last_used: now,
            failures: 0,
        };
        // The evicted binding (if any) is dropped after the lock is released.
        let _evicted = self.shard(session).lock().push(session, binding);
    }

    /// A failure on `account` while serving `session`: unbind after too many in a row.
    pub fn on_failure(&self, session: u64, account: &str) {
        let mut shard = self.shard(session).lock();
        if let Some(b) = shard.peek_mut(&session)
            && &*b.account == account
        {
            b.failures += 1;
            if b.failures >= MAX_CONSECUTIVE_FAILURES {
                shard.pop(&session);
            }
        }
    }

    /// Drop every binding to `account` (long lockout, deletion). Walks the whole table.
    pub fn unbind_account(&self, account: &str) {
        for shard in &self.shards {
            shard.lock().retain(|_, b| &*b.account != account);
        }
    }

    /// Live bindings. Walks the whole table.
    pub fn list(&self, now: Instant) -> Vec<(u64, Binding)> {
        let ttl = self.ttl();
        let mut out = Vec::new();
        for shard in &self.shards {
            out.extend(
                shard
                    .lock()
                    .iter()
                    .filter(|(_, b)| now.duration_since(b.last_used) < ttl)
                    .map(|(k, b)| (*k, b.clone())),
            );
        }
        out
    }

    pub fn clear(&self) {
        for shard in &self.shards {
            shard.lock().clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn bindings_expire_and_break_after_failures() {
        let s = Sessions::new(Duration::from_secs(60), 100);
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

    #[tokio::test(start_paused = true)]
    async fn a_success_resets_the_failure_count_and_ttl_follows_reconfiguration() {
        let s = Sessions::new(Duration::from_secs(60), 100);
        let a: Arc<str> = "acc_a".into();
        s.bind(1, &a, Instant::now());
        s.on_failure(1, "acc_a");
        s.on_failure(1, "acc_a");
        s.bind(1, &a, Instant::now());
        s.on_failure(1, "acc_a");
        s.on_failure(1, "acc_a");
        assert!(
            s.get(1, Instant::now()).is_some(),
            "the success reset the count"
        );
        tokio::time::advance(Duration::from_secs(30)).await;
        assert!(s.get(1, Instant::now()).is_some());
        s.set_ttl(Duration::from_secs(10));
        assert!(
            s.get(1, Instant::now()).is_none(),
            "shorter TTL applies at once"
        );
        assert!(
            s.list(Instant::now()).is_empty(),
            "read dropped the expired binding"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_full_table_forgets_the_least_recently_used() {
        let s = Sessions::new(Duration::from_secs(600), 3);
        assert_eq!(s.capacity(), 3);
        let a: Arc<str> = "acc_a".into();
        for session in 1..=3 {
            s.bind(session, &a, Instant::now());
            tokio::time::advance(Duration::from_secs(1)).await;
        }
        // Session 1 is used again: 2 is now the least recently used.
        assert!(s.get(1, Instant::now()).is_some());
        s.bind(4, &a, Instant::now());
        assert!(s.get(2, Instant::now()).is_none(), "oldest evicted");
        for kept in [1, 3, 4] {
            assert!(s.get(kept, Instant::now()).is_some(), "{kept} kept");
        }
        assert_eq!(s.list(Instant::now()).len(), 3);
        s.set_capacity(1);
        let left: Vec<u64> = s.list(Instant::now()).iter().map(|(k, _)| *k).collect();
        assert_eq!(left, vec![4], "shrinking keeps the most recently used");
        s.clear();
        assert!(s.list(Instant::now()).is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn a_large_table_is_sharded_and_stays_within_capacity() {
        let capacity = 100_000;
        let s = Sessions::new(Duration::from_secs(600), capacity);
        assert_eq!(s.shards.len(), MAX_SHARDS);
        assert!((capacity..capacity + MAX_SHARDS).contains(&s.capacity()));
        let a: Arc<str> = "acc_a".into();
        let now = Instant::now();
        for session in 0..(3 * capacity as u64) {
            s.bind(session, &a, now);
        }
        let live = s.list(now).len();
        assert!(live <= s.capacity(), "{live} bindings");
        assert!(live > capacity * 9 / 10, "shards fill evenly: {live}");
        // The most recent bindings survive.
        let last = 3 * capacity as u64 - 1;
        assert!(s.get(last, now).is_some());
        assert!(s.get(0, now).is_none());
    }
}
