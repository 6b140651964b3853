//! The account pool and minimal selection.
//!
//! The pool is a read-mostly snapshot (`ArcSwap`) of the accounts with their decrypted
//! credentials, replaced wholesale whenever the management API changes an account, so a
//! change applies to the next request without a restart and readers never lock. Mutable
//! per-account runtime state ([`AccountState`]: in-flight count, …) lives beside the
//! snapshot, keyed by account id, and survives snapshot replacement.
//!
//! Selection (this is the minimal algorithm; tiers, affinity, lockouts, AIMD and breakers
//! arrive with the resilience work): among enabled accounts whose protocol matches and
//! whose model globs match, not yet tried by this request, take the one with the fewest
//! in-flight requests, ties going to the earlier account in the operator's order. The
//! choice is returned as a [`Lease`] that holds the in-flight count until dropped.

mod lease;

pub use lease::Lease;

use crate::crypto::Secret;
use arc_swap::ArcSwap;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use switchyard_types::{Protocol, Provider, Tier, glob};

/// Runtime state of one account, shared by every snapshot that contains it.
#[derive(Debug, Default)]
pub struct AccountState {
    active: AtomicU32,
}

impl AccountState {
    /// Requests in flight on this account now.
    pub fn active(&self) -> u32 {
        self.active.load(Ordering::Relaxed)
    }
}

/// An account as routing sees it.
#[derive(Debug)]
pub struct PoolAccount {
    pub id: String,
    pub provider: Provider,
    pub label: String,
    /// Effective base URL, without a trailing `/`.
    pub base_url: String,
    pub tier: Tier,
    /// Effective model globs.
    pub models: Vec<String>,
    pub enabled: bool,
    pub credential: Secret,
    pub state: Arc<AccountState>,
}

impl PoolAccount {
    /// Whether this account can serve `model` for a client speaking `protocol`.
    pub fn serves(&self, protocol: Protocol, model: &str) -> bool {
        self.enabled
            && self.provider.protocol() == protocol
            && self.models.iter().any(|p| glob::matches(p, model))
    }
}

/// What [`Pool::select`] found.
#[derive(Debug)]
pub enum Selection {
    /// An account, leased.
    Lease(Lease),
    /// No enabled account serves this model for this protocol.
    NotServed,
    /// Accounts serve it, but this request has tried them all.
    Exhausted,
}

/// The pool of upstream accounts.
#[derive(Debug, Default)]
pub struct Pool {
    snapshot: ArcSwap<Vec<Arc<PoolAccount>>>,
    /// Runtime state by account id. A plain mutex: touched only on snapshot replacement
    /// (management calls), never per request.
    states: Mutex<HashMap<String, Arc<AccountState>>>,
}

/// Input to [`Pool::replace`]: one account's settings and its opened credential.
#[derive(Debug)]
pub struct AccountSpec {
    pub id: String,
    pub provider: Provider,
    pub label: String,
    pub base_url: String,
    pub tier: Tier,
    pub models: Vec<String>,
    pub enabled: bool,
    pub credential: Secret,
}

impl Pool {
    pub fn new() -> Self {
        Self::default()
    }

    /// Replace the accounts, keeping the runtime state of those that remain.
    pub fn replace(&self, specs: Vec<AccountSpec>) {
        let mut states = self.states.lock();
        let mut next_states = HashMap::with_capacity(specs.len());
        let accounts = specs
            .into_iter()
            .map(|s| {
                let state = states.remove(&s.id).unwrap_or_default();
                next_states.insert(s.id.clone(), Arc::clone(&state));
                Arc::new(PoolAccount {
                    base_url: s.base_url.trim_end_matches('/').to_owned(),
                    id: s.id,
                    provider: s.provider,
                    label: s.label,
                    tier: s.tier,
                    models: s.models,
                    enabled: s.enabled,
                    credential: s.credential,
                    state,
                })
            })
            .collect();
        *states = next_states;
        self.snapshot.store(Arc::new(accounts));
    }

    /// The current accounts, in the operator's order.
    pub fn accounts(&self) -> Arc<Vec<Arc<PoolAccount>>> {
        self.snapshot.load_full()
    }

    /// Pick an account for `model`, skipping the ids in `tried`.
    pub fn select(&self, protocol: Protocol, model: &str, tried: &[Arc<PoolAccount>]) -> Selection {
        let accounts = self.snapshot.load();
        let mut serving = false;
        let mut best: Option<(&Arc<PoolAccount>, u32)> = None;
        for account in accounts.iter().filter(|a| a.serves(protocol, model)) {
            serving = true;
            if tried.iter().any(|t| t.id == account.id) {
                continue;
            }
            let active = account.state.active();
            if best.is_none_or(|(_, b)| active < b) {
                best = Some((account, active));
            }
        }
        match best {
            Some((account, _)) => Selection::Lease(Lease::new(Arc::clone(account))),
            None if serving => Selection::Exhausted,
            None => Selection::NotServed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(id: &str, provider: Provider, models: &[&str]) -> AccountSpec {
        AccountSpec {
            id: id.into(),
            provider,
            label: id.into(),
            base_url: "http://x/".into(),
            tier: Tier::Unknown,
            models: models.iter().map(|m| (*m).to_owned()).collect(),
            enabled: true,
            credential: Secret::new("k"),
        }
    }

    fn leased(s: Selection) -> Lease {
        match s {
            Selection::Lease(l) => l,
            other => panic!("expected a lease, got {other:?}"),
        }
    }

    #[test]
    fn picks_least_loaded_matching_account() {
        let pool = Pool::new();
        pool.replace(vec![
            spec("a", Provider::OpenAi, &["gpt-*"]),
            spec("b", Provider::OpenAiCompatible, &["gpt-*"]),
            spec("c", Provider::Anthropic, &["*"]),
        ]);
        let l1 = leased(pool.select(Protocol::OpenAi, "gpt-4o", &[]));
        assert_eq!(l1.account().id, "a");
        let l2 = leased(pool.select(Protocol::OpenAi, "gpt-4o", &[]));
        assert_eq!(l2.account().id, "b", "a is busy, b is idle");
        drop(l1);
        assert_eq!(
            pool.accounts()[0].state.active(),
            0,
            "lease released the count"
        );
        let l3 = leased(pool.select(Protocol::OpenAi, "gpt-4o", &[]));
        assert_eq!(l3.account().id, "a");
        assert!(matches!(
            pool.select(Protocol::Gemini, "gpt-4o", &[]),
            Selection::NotServed
        ));
        assert!(matches!(
            pool.select(Protocol::OpenAi, "claude-x", &[]),
            Selection::NotServed
        ));
    }

    #[test]
    fn skips_tried_and_disabled_accounts() {
        let pool = Pool::new();
        let mut off = spec("off", Provider::OpenAi, &["*"]);
        off.enabled = false;
        pool.replace(vec![
            off,
            spec("a", Provider::OpenAi, &["*"]),
            spec("b", Provider::OpenAi, &["*"]),
        ]);
        let first = leased(pool.select(Protocol::OpenAi, "m", &[]));
        assert_eq!(first.account().id, "a");
        let tried = vec![Arc::clone(first.account())];
        drop(first);
        let second = leased(pool.select(Protocol::OpenAi, "m", &tried));
        assert_eq!(second.account().id, "b");
        let tried = vec![tried[0].clone(), Arc::clone(second.account())];
        assert!(matches!(
            pool.select(Protocol::OpenAi, "m", &tried),
            Selection::Exhausted
        ));
    }

    #[test]
    fn state_survives_replacement() {
        let pool = Pool::new();
        pool.replace(vec![spec("a", Provider::OpenAi, &["*"])]);
        let lease = leased(pool.select(Protocol::OpenAi, "m", &[]));
        pool.replace(vec![
            spec("a", Provider::OpenAi, &["other"]),
            spec("b", Provider::OpenAi, &["*"]),
        ]);
        assert_eq!(pool.accounts()[0].state.active(), 1);
        drop(lease);
        assert_eq!(pool.accounts()[0].state.active(), 0);
        assert_eq!(pool.accounts()[0].base_url, "http://x");
    }
}
