//! The account pool and the routing algorithm.
//!
//! # Why routing works the way it does
//!
//! Operators pool accounts because single accounts fail: rate limits, exhausted quotas,
//! overloads, outages. The pool must stay useful through all of them and recover by
//! itself. For one request and model, [`Pool::select`] does:
//!
//! 1. **Candidates**: enabled accounts whose model globs match, reachable for the
//!    client's protocol ([`Reach`]: any, since requests are translated — or only the
//!    client's own, for token counting), not yet tried by this request, whose circuit is
//!    not open, whose quota scope is not locked out for this model, and with fewer
//!    requests in flight than their adaptive (AIMD) limit. Each rule removes an account
//!    that would most likely fail or queue; none of them touches other accounts, so one
//!    request's 429 never makes the rest of the pool unavailable.
//! 2. **Highest tier first** (order configurable): operators pay for better tiers to have
//!    them used; a lower tier is a fallback, not a peer.
//! 3. **Session affinity within the best available tier**: prompt caches live on
//!    accounts, so a conversation returning to its account is cheaper and faster. A
//!    better tier still wins over affinity, and a bound account that is not a candidate
//!    (locked out, open circuit, full) is simply skipped — affinity never pins a session
//!    to a broken account.
//! 4. **Least connections, relative to capacity** (`active / limit`), so a larger limit
//!    takes proportionally more; ties go to the healthier account (EWMA score), then to
//!    one speaking the client's protocol (passthrough is cheaper and exact), then to the
//!    operator's order.
//! 5. The choice is an RAII [`Lease`]: it holds the in-flight slot until dropped, and
//!    carries the outcome back ([`Lease::report`]) into AIMD, the breaker, health,
//!    lockouts and the session binding.
//!
//! Lockouts belong to quota scopes (see [`crate::resilience::lockout`]); when every
//! candidate is locked out, [`Selection::Exhausted`] tells when the earliest lockout
//! ends, so the caller can wait briefly or answer 429 with an honest `Retry-After`.
//!
//! Concurrency: the account list is an `ArcSwap` snapshot (no lock to read); per-account
//! state uses atomics and short `parking_lot` mutexes never held across an `.await`.

mod lease;
mod settings;

pub use lease::{Feedback, Lease, RateLimitHint};
pub use settings::{RoutingConfig, RoutingSettings};

use crate::crypto::Secret;
use crate::resilience::aimd::Aimd;
use crate::resilience::breaker::Breaker;
use crate::resilience::health::Health;
use crate::resilience::lockout::Lockouts;
use crate::resilience::sessions::Sessions;
use crate::upstream::AccountWire;
use arc_swap::ArcSwap;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;
use switchyard_types::{Protocol, Provider, Tier, glob};
use tokio::time::Instant;

/// Runtime state of one account, shared by every snapshot that contains it.
#[derive(Debug)]
pub struct AccountState {
    active: AtomicU32,
    pub aimd: Aimd,
    pub breaker: Breaker,
    pub health: Health,
}

impl AccountState {
    pub fn new(settings: &RoutingSettings) -> Self {
        Self {
            active: AtomicU32::new(0),
            aimd: Aimd::new(settings.aimd),
            breaker: Breaker::new(settings.breaker),
            health: Health::default(),
        }
    }

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
    /// Quota scope name (the account id when none was declared).
    pub scope: String,
    pub state: Arc<AccountState>,
    /// The lockouts of this account's quota scope (shared with its siblings).
    pub lockouts: Arc<Lockouts>,
    /// Upstream URLs and credential header, prepared once.
    pub wire: AccountWire,
}

impl PoolAccount {
    /// Whether this account is enabled and its globs match `model`.
    pub fn serves(&self, model: &str) -> bool {
        self.enabled && self.models.iter().any(|p| glob::matches(p, model))
    }

    /// The protocol this account's upstream speaks.
    pub fn protocol(&self) -> Protocol {
        self.provider.protocol()
    }
}

/// Ranking of a candidate, lower wins: (tier rank, load per mille, −health per mille,
/// speaks a protocol other than the client's).
type RankKey = (u8, u64, i64, bool);

/// Which accounts a request may be sent to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// Any protocol (the request will be translated); prefer this one on ties.
    Any { prefer: Protocol },
    /// Only accounts speaking this protocol.
    Only(Protocol),
}

impl Reach {
    fn allows(self, protocol: Protocol) -> bool {
        match self {
            Self::Any { .. } => true,
            Self::Only(p) => p == protocol,
        }
    }

    fn preferred(self) -> Protocol {
        match self {
            Self::Any { prefer } | Self::Only(prefer) => prefer,
        }
    }
}

/// What [`Pool::select`] found.
#[derive(Debug)]
pub enum Selection {
    /// An account, leased.
    Lease(Lease),
    /// No enabled account serves this model within reach.
    NotServed,
    /// Accounts serve it, but none can take this request now.
    Exhausted(Exhaustion),
}

/// Why no serving account was available.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Exhaustion {
    /// When the earliest lockout among the serving accounts ends, if any was locked out.
    pub earliest_unlock: Option<Instant>,
    /// Some account was skipped for an open circuit.
    pub circuit_open: bool,
    /// Some account was at its concurrency limit.
    pub at_capacity: bool,
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
    pub quota_scope: Option<String>,
}

/// The pool of upstream accounts.
#[derive(Debug)]
pub struct Pool {
    snapshot: ArcSwap<Vec<Arc<PoolAccount>>>,
    /// Runtime state by account id, and lockouts by scope. Plain mutexes: touched only
    /// on snapshot replacement and reconfiguration (management calls), never per request.
    states: Mutex<HashMap<String, Arc<AccountState>>>,
    scopes: Mutex<HashMap<String, Arc<Lockouts>>>,
    settings: ArcSwap<RoutingSettings>,
    tier_ranks: ArcSwap<[u8; 5]>,
    sessions: Arc<Sessions>,
    capacity: Arc<Capacity>,
}

/// Wakes requests waiting for an in-flight slot when a lease is released.
#[derive(Debug, Default)]
pub(crate) struct Capacity {
    waiters: std::sync::atomic::AtomicUsize,
    notify: tokio::sync::Notify,
}

impl Capacity {
    /// A slot was released: wake the waiters, if any (a relaxed load when there are none).
    pub(crate) fn released(&self) {
        if self.waiters.load(Ordering::Relaxed) > 0 {
            self.notify.notify_waiters();
        }
    }
}

impl Default for Pool {
    fn default() -> Self {
        Self::new()
    }
}

fn tier_index(tier: Tier) -> usize {
    Tier::ALL
        .iter()
        .position(|t| *t == tier)
        .unwrap_or(Tier::ALL.len() - 1)
}

impl Pool {
    pub fn new() -> Self {
        Self::with_settings(RoutingSettings::default())
    }

    pub fn with_settings(settings: RoutingSettings) -> Self {
        Self {
            snapshot: ArcSwap::default(),
            states: Mutex::default(),
            scopes: Mutex::default(),
            tier_ranks: ArcSwap::from_pointee(settings.tier_ranks()),
            sessions: Arc::new(Sessions::new(Duration::from_secs(
                settings.routing.session_ttl_secs,
            ))),
            capacity: Arc::default(),
            settings: ArcSwap::from_pointee(settings),
        }
    }

    /// The routing settings in force.
    pub fn settings(&self) -> Arc<RoutingSettings> {
        self.settings.load_full()
    }

    /// Apply new (validated) settings to the pool and every account, without a restart.
    pub fn reconfigure(&self, settings: RoutingSettings) {
        for state in self.states.lock().values() {
            state.aimd.reconfigure(settings.aimd);
            state.breaker.reconfigure(settings.breaker);
        }
        self.sessions
            .set_ttl(Duration::from_secs(settings.routing.session_ttl_secs));
        self.tier_ranks.store(Arc::new(settings.tier_ranks()));
        self.settings.store(Arc::new(settings));
    }

    pub fn sessions(&self) -> &Sessions {
        &self.sessions
    }

    /// Replace the accounts, keeping the runtime state of those that remain and the
    /// lockouts of scopes still in use.
    pub fn replace(&self, specs: Vec<AccountSpec>) {
        let settings = self.settings.load();
        let mut states = self.states.lock();
        let mut scopes = self.scopes.lock();
        let mut next_states = HashMap::with_capacity(specs.len());
        let mut next_scopes = HashMap::new();
        let accounts = specs
            .into_iter()
            .map(|s| {
                let state = states
                    .remove(&s.id)
                    .unwrap_or_else(|| Arc::new(AccountState::new(&settings)));
                next_states.insert(s.id.clone(), Arc::clone(&state));
                let scope = s.quota_scope.clone().unwrap_or_else(|| s.id.clone());
                let lockouts = next_scopes
                    .entry(scope.clone())
                    .or_insert_with(|| scopes.remove(&scope).unwrap_or_default())
                    .clone();
                let base_url = s.base_url.trim_end_matches('/').to_owned();
                Arc::new(PoolAccount {
                    wire: AccountWire::new(s.provider.protocol(), &base_url, s.credential.expose()),
                    base_url,
                    id: s.id,
                    provider: s.provider,
                    label: s.label,
                    tier: s.tier,
                    models: s.models,
                    enabled: s.enabled,
                    credential: s.credential,
                    scope,
                    state,
                    lockouts,
                })
            })
            .collect();
        *states = next_states;
        *scopes = next_scopes;
        self.snapshot.store(Arc::new(accounts));
    }

    /// The current accounts, in the operator's order.
    pub fn accounts(&self) -> Arc<Vec<Arc<PoolAccount>>> {
        self.snapshot.load_full()
    }

    /// Pick an account for `model` within `reach`, skipping the accounts in `tried`;
    /// `session` (a hash) enables affinity. See the module docs for the algorithm.
    pub fn select(
        &self,
        model: &str,
        reach: Reach,
        tried: &[Arc<PoolAccount>],
        session: Option<u64>,
    ) -> Selection {
        let now = Instant::now();
        let accounts = self.snapshot.load();
        let ranks = self.tier_ranks.load();
        let preferred = reach.preferred();
        let bound = session.and_then(|s| self.sessions.get(s, now));
        let mut serving = false;
        let mut exhaustion = Exhaustion::default();
        // Lower key wins: (tier rank, load per mille, -health per mille, foreign protocol).
        let mut best: Option<(&Arc<PoolAccount>, RankKey)> = None;
        let mut affine: Option<(&Arc<PoolAccount>, u8)> = None;
        for account in accounts.iter() {
            if !reach.allows(account.protocol()) || !account.serves(model) {
                continue;
            }
            serving = true;
            if tried
                .iter()
                .any(|t| Arc::ptr_eq(t, account) || t.id == account.id)
            {
                continue;
            }
            let rank = ranks[tier_index(account.tier)];
            if best.as_ref().is_some_and(|(_, k)| rank > k.0) {
                // A lower tier cannot win once a better one has a candidate (and the
                // exhaustion details only matter when there is none).
                continue;
            }
            let state = &account.state;
            if !state.breaker.would_allow(now) {
                exhaustion.circuit_open = true;
                continue;
            }
            if let Some(until) = account.lockouts.locked_until(model, now) {
                exhaustion.earliest_unlock =
                    Some(exhaustion.earliest_unlock.map_or(until, |e| e.min(until)));
                continue;
            }
            let limit = state.aimd.limit();
            let active = state.active();
            if active >= limit {
                exhaustion.at_capacity = true;
                continue;
            }
            let load = u64::from(active) * 1000 / u64::from(limit.max(1));
            // Health only breaks ties: compute it (a lock and some math) only then.
            let contender = best
                .as_ref()
                .is_none_or(|(_, k)| (rank, load) <= (k.0, k.1));
            if contender {
                #[expect(clippy::cast_possible_truncation, reason = "score is in [0, 1]")]
                let health = (state.health.snapshot().score * 1000.0) as i64;
                let key = (rank, load, -health, account.protocol() != preferred);
                if best.as_ref().is_none_or(|(_, k)| key < *k) {
                    best = Some((account, key));
                }
            }
            if bound.as_deref() == Some(account.id.as_str()) {
                affine = Some((account, rank));
            }
        }
        let chosen = match (best, affine) {
            // Affinity holds within the best available tier only.
            (Some((_, key)), Some((account, rank))) if rank == key.0 => Some(account),
            (Some((account, _)), _) => Some(account),
            (None, _) => None,
        };
        match chosen {
            Some(account) => {
                // Takes the half-open probe slot when the circuit is half-open.
                account.state.breaker.allows(now);
                Selection::Lease(Lease::new(
                    Arc::clone(account),
                    Arc::clone(&self.sessions),
                    Arc::clone(&self.capacity),
                    session,
                    model,
                ))
            }
            None if serving => Selection::Exhausted(exhaustion),
            None => Selection::NotServed,
        }
    }

    /// Wait until some lease is released, or `limit` passes. A release racing with the
    /// start of the wait is caught by the caller's short `limit` and a new selection.
    pub async fn wait_for_capacity(&self, limit: Duration) {
        self.capacity.waiters.fetch_add(1, Ordering::Relaxed);
        let _ = tokio::time::timeout(limit, self.capacity.notify.notified()).await;
        self.capacity.waiters.fetch_sub(1, Ordering::Relaxed);
    }

    /// Clear the lockouts of every scope, or of `account_id`'s scope; how many scopes.
    pub fn clear_lockouts(&self, account_id: Option<&str>) -> usize {
        let accounts = self.snapshot.load();
        let mut cleared = 0;
        let mut seen: Vec<&str> = Vec::new();
        for a in accounts
            .iter()
            .filter(|a| account_id.is_none_or(|id| a.id == id))
        {
            if !seen.contains(&a.scope.as_str()) {
                seen.push(&a.scope);
                a.lockouts.clear();
                cleared += 1;
            }
        }
        cleared
    }
}

#[cfg(test)]
mod tests;
