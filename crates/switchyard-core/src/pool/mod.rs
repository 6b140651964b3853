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
//!    client's own, for token counting), not yet tried by this request, whose credential
//!    is not marked forbidden or `needs_reauth` ([`status`]: the provider refused it;
//!    one atomic load), whose OAuth access token (if any) has not expired ([`token`]: a
//!    late or failing refresh is not waited for), whose circuit is not open, whose quota scope is not locked out for this model,
//!    whose remaining quota for the model is not under the quota protection floor
//!    (`[[quota_protection]]`, when configured for the model), and with fewer requests in
//!    flight than their adaptive (AIMD) limit. Each rule removes an account that would
//!    most likely fail or queue; none of them touches other accounts, so one request's
//!    429 never makes the rest of the pool unavailable. A forbidden credential is not
//!    waited for (no lockout end to report): only `POST /api/accounts/{id}/verify` or a
//!    new key brings it back.
//! 2. **Highest tier first** (order configurable): operators pay for better tiers to have
//!    them used; a lower tier is a fallback, not a peer.
//! 3. **Session affinity within the best available tier**: prompt caches live on
//!    accounts, so a conversation returning to its account is cheaper and faster. A
//!    better tier still wins over affinity, and a bound account that is not a candidate
//!    (locked out, open circuit, full) is simply skipped — affinity never pins a session
//!    to a broken account.
//! 4. **Least connections, relative to capacity** (`active / limit`), so a larger limit
//!    takes proportionally more; ties go to the account with more quota left for the
//!    model (the tightest known window, [`crate::quota::QuotaBook::headroom`]; unknown
//!    counts as full, so an account is not punished for a provider that sends no
//!    headers), then to the healthier account (EWMA score), then to one speaking the
//!    client's protocol (passthrough is cheaper and exact), then to the operator's order
//!    (`display_order`, then creation order).
//! 5. The choice is an RAII [`Lease`]: it holds the in-flight slot until dropped, and
//!    carries the outcome back ([`Lease::report`]) into AIMD, the breaker, health,
//!    lockouts and the session binding.
//!
//! Lockouts belong to quota scopes (see [`crate::resilience::lockout`]); when every
//! candidate is locked out, [`Selection::Exhausted`] tells when the earliest lockout
//! ends, so the caller can wait briefly or answer 429 with an honest `Retry-After`.
//!
//! # Why it stays cheap with many accounts
//!
//! Selection runs once per attempt of every request, so its cost must not grow with the
//! pool. Each snapshot carries an index built once at [`Pool::replace`]:
//!
//! - Enabled accounts are grouped by (glob list, tier, protocol), members in the
//!   operator's order. Pools have many accounts but few distinct `models` lists, so
//!   matching a model costs one glob test per distinct list, not per account.
//! - The groups serving a model are memoised per snapshot (at most 1,024 models; past
//!   that, and for models nothing serves, they are computed without being kept, so
//!   arbitrary model names cannot grow memory). Tiers are ranked at lookup, so
//!   reordering tiers on reload needs no rebuild.
//! - Accounts are found by id in a map, for the session's bound account.
//!
//! Within a tier of at most 16 candidates every account is ranked, exactly as above. A
//! larger tier ranks a sample of 16: windows at random offsets, half of them among the
//! accounts speaking the client's protocol when both kinds are present, so passthrough
//! still wins ties. Least connections over a sample this large spreads load almost as
//! evenly as over all accounts, at a fixed cost; full ties go to the first account
//! sampled instead of the operator's first. Only when no sampled account can take the
//! request is the whole tier scanned, so an available account is never missed, and the
//! [`Exhaustion`] details come from those full scans when nothing is available at all.
//!
//! Concurrency: the accounts and their index are an `ArcSwap` snapshot (no lock to
//! read); the model memo is a read-mostly `RwLock`; per-account state uses atomics and
//! short `parking_lot` mutexes never held across an `.await`.

mod lease;
mod settings;
pub mod status;
pub mod token;

pub use lease::{Feedback, Lease, RateLimitHint};
pub use settings::{QuotaProtection, RoutingConfig, RoutingSettings};
pub use status::{CredentialMark, StatusChange, StatusQueue};
pub use token::TokenCell;

use crate::crypto::Secret;
use crate::quota::QuotaBook;
use crate::resilience::aimd::Aimd;
use crate::resilience::breaker::Breaker;
use crate::resilience::health::Health;
use crate::resilience::lockout::Lockouts;
use crate::resilience::sessions::Sessions;
use crate::upstream::AccountWire;
use arc_swap::ArcSwap;
use parking_lot::{Mutex, RwLock};
use rand::Rng;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;
use switchyard_types::accounts::AccountStatus;
use switchyard_types::{Protocol, Provider, Tier, glob};
use tokio::time::Instant;

/// Candidates ranked per tier before sampling takes over; also the sample size.
const SAMPLE: usize = 16;
/// Models whose serving groups a snapshot remembers.
const MODEL_MEMO: usize = 1024;
/// Number of tiers, the length of rank arrays.
const TIERS: usize = Tier::ALL.len();

/// Runtime state of one account, shared by every snapshot that contains it.
#[derive(Debug)]
pub struct AccountState {
    active: AtomicU32,
    pub aimd: Aimd,
    pub breaker: Breaker,
    pub health: Health,
    /// Whether the provider refused the credential (see [`status`]).
    pub credential: CredentialMark,
    /// An OAuth account's current access token (see [`token`]); empty otherwise.
    pub token: TokenCell,
}

impl AccountState {
    pub fn new(settings: &RoutingSettings) -> Self {
        Self {
            active: AtomicU32::new(0),
            aimd: Aimd::new(settings.aimd),
            breaker: Breaker::new(settings.breaker),
            health: Health::default(),
            credential: CredentialMark::default(),
            token: TokenCell::default(),
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
    /// Shared: a session binding and a request record take a reference, not a copy.
    pub id: Arc<str>,
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
    /// The quota snapshot of this account's scope (shared with its siblings).
    pub quota: Arc<QuotaBook>,
    /// The optional admin credential (usage/cost reports); never on the hot path.
    pub admin_key: Option<Secret>,
    /// Upstream URLs and credential header, prepared once.
    pub wire: AccountWire,
    /// Set for an OAuth account: its credential header comes from `state.token`.
    pub oauth: Option<OAuthWire>,
}

/// What an OAuth account sends besides its bearer token.
#[derive(Debug, Clone)]
pub struct OAuthWire {
    /// The `[oauth.providers.NAME]` it signed in through.
    pub provider: String,
    /// Google: `x-goog-user-project`.
    pub user_project: Option<http::HeaderValue>,
}

/// An OAuth account's grant as the pool needs it (see [`AccountSpec::oauth`]).
#[derive(Debug, Clone)]
pub struct OAuthSpec {
    pub provider: String,
    pub project: Option<String>,
    /// The access token's (the spec's credential) expiry and lifetime, unix ms / ms.
    pub expires_at_ms: i64,
    pub lifetime_ms: i64,
    pub generation: i64,
}

impl PoolAccount {
    /// Whether this account is enabled and its globs match `model`.
    pub fn serves(&self, model: &str) -> bool {
        self.enabled && matches_any(&self.models, model)
    }

    /// The protocol this account's upstream speaks.
    pub fn protocol(&self) -> Protocol {
        self.provider.protocol()
    }
}

fn matches_any(patterns: &[String], model: &str) -> bool {
    patterns.iter().any(|p| glob::matches(p, model))
}

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
    pub admin_key: Option<Secret>,
    /// The stored credential status (`Forbidden` marks the account; `Disabled` is
    /// `enabled`), its reason and time (unix s).
    pub status: AccountStatus,
    pub status_reason: Option<String>,
    pub status_since: Option<i64>,
    /// Set for an OAuth account (its credential is the current access token).
    pub oauth: Option<OAuthSpec>,
}

/// One replacement's accounts and the index routing reads them through.
#[derive(Debug, Default)]
struct Snapshot {
    accounts: Arc<Vec<Arc<PoolAccount>>>,
    index: Index,
}

/// Enabled accounts sharing a glob list, a tier and a protocol.
#[derive(Debug)]
struct Group {
    tier: usize,
    protocol: Protocol,
    /// Positions in the snapshot's account list, in the operator's order.
    members: Vec<usize>,
}

/// A distinct glob list and the groups whose accounts declare it.
#[derive(Debug)]
struct GlobList {
    patterns: Vec<String>,
    groups: Vec<usize>,
}

/// The groups serving one model, by tier (indexed like [`Tier::ALL`]).
#[derive(Debug, Default)]
struct Candidates {
    by_tier: [Vec<usize>; TIERS],
}

/// Routing's view of a snapshot, built once per [`Pool::replace`].
#[derive(Debug, Default)]
struct Index {
    /// Position of each account by id.
    by_id: HashMap<String, usize>,
    /// Group of each account by position; `None` when disabled.
    group_of: Vec<Option<usize>>,
    groups: Vec<Group>,
    glob_lists: Vec<GlobList>,
    /// Serving groups of recently asked models (bounded by [`MODEL_MEMO`]).
    memo: RwLock<HashMap<Box<str>, Arc<Candidates>>>,
}

impl Index {
    fn build(accounts: &[Arc<PoolAccount>]) -> Self {
        let mut index = Self {
            by_id: HashMap::with_capacity(accounts.len()),
            group_of: Vec::with_capacity(accounts.len()),
            ..Self::default()
        };
        let mut lists: HashMap<&[String], usize> = HashMap::new();
        let mut groups: HashMap<(usize, usize, Protocol), usize> = HashMap::new();
        for (position, account) in accounts.iter().enumerate() {
            index
                .by_id
                .entry(account.id.to_string())
                .or_insert(position);
            if !account.enabled {
                index.group_of.push(None);
                continue;
            }
            let list = *lists.entry(&account.models).or_insert_with(|| {
                index.glob_lists.push(GlobList {
                    patterns: account.models.clone(),
                    groups: Vec::new(),
                });
                index.glob_lists.len() - 1
            });
            let (tier, protocol) = (tier_index(account.tier), account.protocol());
            let group = *groups.entry((list, tier, protocol)).or_insert_with(|| {
                index.groups.push(Group {
                    tier,
                    protocol,
                    members: Vec::new(),
                });
                index.glob_lists[list].groups.push(index.groups.len() - 1);
                index.groups.len() - 1
            });
            index.groups[group].members.push(position);
            index.group_of.push(Some(group));
        }
        index
    }

    /// The groups serving `model`, from the memo or computed (and kept while there is
    /// room, unless nothing serves the model).
    fn candidates(&self, model: &str) -> Arc<Candidates> {
        if let Some(found) = self.memo.read().get(model) {
            return Arc::clone(found);
        }
        let mut candidates = Candidates::default();
        for list in self
            .glob_lists
            .iter()
            .filter(|l| matches_any(&l.patterns, model))
        {
            for &group in &list.groups {
                candidates.by_tier[self.groups[group].tier].push(group);
            }
        }
        let candidates = Arc::new(candidates);
        if candidates.by_tier.iter().any(|t| !t.is_empty()) {
            let mut memo = self.memo.write();
            if memo.len() < MODEL_MEMO {
                memo.entry(model.into())
                    .or_insert_with(|| Arc::clone(&candidates));
            }
        }
        candidates
    }
}

/// What the accounts of one quota scope share: lockouts and the quota snapshot.
type ScopeShared = (Arc<Lockouts>, Arc<QuotaBook>);

/// The pool of upstream accounts.
#[derive(Debug)]
pub struct Pool {
    snapshot: ArcSwap<Snapshot>,
    /// Runtime state by account id, and lockouts by scope. Plain mutexes: touched only
    /// on snapshot replacement and reconfiguration (management calls), never per request.
    states: Mutex<HashMap<String, Arc<AccountState>>>,
    scopes: Mutex<HashMap<String, ScopeShared>>,
    /// Credential marks waiting to be persisted.
    status_queue: Arc<StatusQueue>,
    settings: ArcSwap<RoutingSettings>,
    tier_ranks: ArcSwap<[u8; TIERS]>,
    sessions: Arc<Sessions>,
    capacity: Arc<Capacity>,
    /// Renews OAuth tokens a request found refused (installed at start-up).
    refresher: std::sync::OnceLock<Arc<dyn token::Refresh>>,
    /// Notified by every [`Pool::replace`] (the OAuth refresher looks at new tokens).
    replaced: tokio::sync::Notify,
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

/// Ranking of an available candidate within its tier, lower wins: (load per mille,
/// −quota headroom per mille, −health per mille, speaks a protocol other than the
/// client's, order of discovery).
type RankKey = (u64, i64, i64, bool, usize);

/// One selection's fixed inputs.
struct Probe<'a> {
    accounts: &'a [Arc<PoolAccount>],
    model: &'a str,
    reach: Reach,
    tried: &'a [Arc<PoolAccount>],
    now: Instant,
    /// Unix seconds now (quota windows reset at wall-clock times).
    now_unix: i64,
    /// The same in milliseconds (OAuth token expiry).
    now_unix_ms: i64,
    /// The quota protection floor for this model, per mille, if configured.
    floor: Option<u32>,
}

impl Probe<'_> {
    /// The load (per mille of its limit) of the account at `position` if it can take
    /// this request now; otherwise why not, into `exhaustion`.
    fn load(&self, position: usize, exhaustion: &mut Exhaustion) -> Option<u64> {
        let account = self.accounts.get(position)?;
        if self
            .tried
            .iter()
            .any(|t| std::ptr::eq(Arc::as_ptr(t), Arc::as_ptr(account)) || t.id == account.id)
        {
            return None;
        }
        let state = &account.state;
        if state.credential.is_forbidden() {
            return None;
        }
        // An OAuth token that has expired (its refresh is late or failing) is not
        // waited for: the account is skipped until the refresher renews it.
        if account.oauth.is_some() && state.token.expired(self.now_unix_ms) {
            return None;
        }
        if !state.breaker.would_allow(self.now) {
            exhaustion.circuit_open = true;
            return None;
        }
        if let Some(until) = account.lockouts.locked_until(self.model, self.now) {
            exhaustion.earliest_unlock =
                Some(exhaustion.earliest_unlock.map_or(until, |e| e.min(until)));
            return None;
        }
        if let Some(floor) = self.floor
            && let Some(headroom) = account.quota.headroom(self.model, self.now_unix)
            && headroom.permille < floor
        {
            // Protected until the window resets (an unknown reset: a minute).
            let wait = headroom
                .resets_at
                .map_or(60, |r| r.saturating_sub(self.now_unix).max(1));
            let until = self.now + Duration::from_secs(u64::try_from(wait).unwrap_or(60));
            exhaustion.earliest_unlock =
                Some(exhaustion.earliest_unlock.map_or(until, |e| e.min(until)));
            return None;
        }
        let limit = state.aimd.limit();
        let active = state.active();
        if active >= limit {
            exhaustion.at_capacity = true;
            return None;
        }
        Some(u64::from(active) * 1000 / u64::from(limit.max(1)))
    }

    /// Rank the account at `position` against `best` (`order` breaks full ties).
    fn offer(
        &self,
        best: &mut Option<(usize, RankKey)>,
        position: usize,
        order: usize,
        exhaustion: &mut Exhaustion,
    ) {
        let Some(load) = self.load(position, exhaustion) else {
            return;
        };
        // Quota and health only break ties: compute them (a lock each) only then.
        if best.as_ref().is_some_and(|(_, k)| load > k.0) {
            return;
        }
        let Some(account) = self.accounts.get(position) else {
            return;
        };
        let headroom = account
            .quota
            .headroom(self.model, self.now_unix)
            .map_or(1000, |h| i64::from(h.permille));
        #[expect(clippy::cast_possible_truncation, reason = "score is in [0, 1]")]
        let health = (account.state.health.snapshot().score * 1000.0) as i64;
        let key = (
            load,
            -headroom,
            -health,
            account.protocol() != self.reach.preferred(),
            order,
        );
        if best.as_ref().is_none_or(|(_, k)| key < *k) {
            *best = Some((position, key));
        }
    }
}

/// Offer `count` members of `groups` (taken as one list of `total`), from `start` on
/// and wrapping around, to `visit` with their order of visit.
fn window<'g>(
    groups: impl Iterator<Item = &'g Group> + Clone,
    total: usize,
    start: usize,
    count: usize,
    mut visit: impl FnMut(usize, usize),
) {
    let mut skip = start % total.max(1);
    let mut left = count.min(total);
    let mut order = 0;
    // Two passes cover one wrap-around.
    for group in groups.clone().chain(groups) {
        if left == 0 {
            break;
        }
        let members = &group.members;
        if skip >= members.len() {
            skip -= members.len();
            continue;
        }
        let take = (members.len() - skip).min(left);
        for &position in &members[skip..skip + take] {
            visit(position, order);
            order += 1;
        }
        left -= take;
        skip = 0;
    }
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
            status_queue: Arc::default(),
            tier_ranks: ArcSwap::from_pointee(settings.tier_ranks()),
            sessions: Arc::new(Sessions::new(
                Duration::from_secs(settings.routing.session_ttl_secs),
                settings.routing.session_capacity,
            )),
            capacity: Arc::default(),
            settings: ArcSwap::from_pointee(settings),
            refresher: std::sync::OnceLock::new(),
            replaced: tokio::sync::Notify::new(),
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
        self.sessions
            .set_capacity(settings.routing.session_capacity);
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
        let accounts: Vec<Arc<PoolAccount>> = specs
            .into_iter()
            .map(|s| {
                let state = states
                    .remove(&s.id)
                    .unwrap_or_else(|| Arc::new(AccountState::new(&settings)));
                next_states.insert(s.id.clone(), Arc::clone(&state));
                state.credential.apply_stored_status(
                    matches!(
                        s.status,
                        AccountStatus::Forbidden | AccountStatus::NeedsReauth
                    )
                    .then(|| (s.status, s.status_reason.clone().unwrap_or_default())),
                    s.status_since.unwrap_or(0),
                );
                if let Some(o) = &s.oauth {
                    state.token.offer(
                        s.credential.expose(),
                        o.expires_at_ms,
                        o.lifetime_ms,
                        o.generation,
                    );
                }
                let scope = s.quota_scope.clone().unwrap_or_else(|| s.id.clone());
                let (lockouts, quota) = next_scopes
                    .entry(scope.clone())
                    .or_insert_with(|| scopes.remove(&scope).unwrap_or_default())
                    .clone();
                let base_url = s.base_url.trim_end_matches('/').to_owned();
                Arc::new(PoolAccount {
                    wire: AccountWire::new(s.provider.protocol(), &base_url, s.credential.expose()),
                    base_url,
                    id: s.id.as_str().into(),
                    provider: s.provider,
                    label: s.label,
                    tier: s.tier,
                    models: s.models,
                    enabled: s.enabled,
                    credential: s.credential,
                    scope,
                    state,
                    lockouts,
                    quota,
                    admin_key: s.admin_key,
                    oauth: s.oauth.map(|o| OAuthWire {
                        provider: o.provider,
                        user_project: o.project.and_then(|p| http::HeaderValue::try_from(p).ok()),
                    }),
                })
            })
            .collect();
        *states = next_states;
        *scopes = next_scopes;
        let index = Index::build(&accounts);
        self.snapshot.store(Arc::new(Snapshot {
            accounts: Arc::new(accounts),
            index,
        }));
        self.replaced.notify_one();
    }

    /// Resolves after the next [`Self::replace`] (or at once if one happened since the
    /// last wait): for one background consumer, the OAuth refresher.
    pub async fn replaced(&self) {
        self.replaced.notified().await;
    }

    /// The current accounts, in the operator's order.
    pub fn accounts(&self) -> Arc<Vec<Arc<PoolAccount>>> {
        Arc::clone(&self.snapshot.load().accounts)
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
        let snapshot = self.snapshot.load();
        let index = &snapshot.index;
        let candidates = index.candidates(model);
        let in_reach = |group: &&usize| {
            index
                .groups
                .get(**group)
                .is_some_and(|g| reach.allows(g.protocol))
        };
        if !candidates.by_tier.iter().flatten().any(|g| in_reach(&g)) {
            return Selection::NotServed;
        }
        let now_unix_ms = token::now_ms();
        let probe = Probe {
            accounts: &snapshot.accounts,
            model,
            reach,
            tried,
            now,
            now_unix: now_unix_ms / 1000,
            now_unix_ms,
            floor: self.settings.load().quota_floor(model),
        };
        let ranks = **self.tier_ranks.load();
        let mut tiers: [usize; TIERS] = std::array::from_fn(|i| i);
        tiers.sort_by_key(|&t| ranks[t]);
        // The session's bound account and its group, if it is still in the pool, enabled.
        let bound = session
            .and_then(|s| self.sessions.get(s, now))
            .and_then(|id| index.by_id.get(&*id).copied())
            .and_then(|position| {
                let group = index.group_of.get(position).copied().flatten()?;
                Some((position, group))
            });
        let mut exhaustion = Exhaustion::default();
        for tier in tiers {
            let groups = &candidates.by_tier[tier];
            // Affinity holds within the best available tier only: this one, if the bound
            // account can take the request (no better tier could).
            if let Some((position, group)) = bound
                && groups.contains(&group)
                && in_reach(&&group)
                && probe.load(position, &mut Exhaustion::default()).is_some()
            {
                return self.lease(&snapshot.accounts, position, session, model, now);
            }
            let members = || {
                groups
                    .iter()
                    .filter(in_reach)
                    .filter_map(|g| index.groups.get(*g))
            };
            let total: usize = members().map(|g| g.members.len()).sum();
            let mut best = None;
            if total > SAMPLE {
                // Rank a sample: the client's protocol and the others, each a window at a
                // random offset, so passthrough accounts still take their ties.
                let side =
                    |own: bool| members().filter(move |g| (g.protocol == reach.preferred()) == own);
                let own_total: usize = side(true).map(|g| g.members.len()).sum();
                let others_total = total - own_total;
                let own_count = if others_total == 0 {
                    SAMPLE
                } else {
                    (SAMPLE / 2).max(SAMPLE.saturating_sub(others_total))
                }
                .min(own_total);
                let others_count = (SAMPLE - own_count).min(others_total);
                let mut rng = rand::thread_rng();
                let mut ignored = Exhaustion::default();
                for (own, set_total, count, first) in [
                    (true, own_total, own_count, 0),
                    (false, others_total, others_count, own_count),
                ] {
                    if count > 0 {
                        let start = rng.gen_range(0..set_total);
                        window(side(own), set_total, start, count, |position, order| {
                            probe.offer(&mut best, position, first + order, &mut ignored);
                        });
                    }
                }
            }
            if best.is_none() {
                for group in members() {
                    for &position in &group.members {
                        probe.offer(&mut best, position, position, &mut exhaustion);
                    }
                }
            }
            if let Some((position, _)) = best {
                return self.lease(&snapshot.accounts, position, session, model, now);
            }
        }
        Selection::Exhausted(exhaustion)
    }

    fn lease(
        &self,
        accounts: &[Arc<PoolAccount>],
        position: usize,
        session: Option<u64>,
        model: &str,
        now: Instant,
    ) -> Selection {
        let Some(account) = accounts.get(position) else {
            return Selection::Exhausted(Exhaustion::default());
        };
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

    /// Wait until some lease is released, or `limit` passes. A release racing with the
    /// start of the wait is caught by the caller's short `limit` and a new selection.
    pub async fn wait_for_capacity(&self, limit: Duration) {
        self.capacity.waiters.fetch_add(1, Ordering::Relaxed);
        let _ = tokio::time::timeout(limit, self.capacity.notify.notified()).await;
        self.capacity.waiters.fetch_sub(1, Ordering::Relaxed);
    }

    /// Mark `account`'s credential forbidden (the provider refused it): routing skips it
    /// from the next selection on, its session bindings end, and the change is queued for
    /// the upkeep task to persist. Marks an account once until it is cleared.
    pub fn mark_forbidden(&self, account: &PoolAccount, reason: &str) {
        let now = crate::store::now_unix();
        if account.state.credential.mark(reason, now) {
            self.sessions.unbind_account(&account.id);
            tracing::warn!(account = %account.id, reason, "credential refused by the provider; the account is marked forbidden until verified");
            self.status_queue.push(StatusChange {
                account_id: Arc::clone(&account.id),
                status: AccountStatus::Forbidden,
                reason: reason.to_owned(),
                since: now,
            });
        }
    }

    /// Mark an OAuth account `needs_reauth` (its refresh token was refused): like
    /// [`Self::mark_forbidden`], routing skips it until a new sign-in. The caller has
    /// stored the status already.
    pub fn mark_needs_reauth(&self, account: &PoolAccount, reason: &str, now: i64) {
        if account
            .state
            .credential
            .mark_as(AccountStatus::NeedsReauth, reason, now)
        {
            self.sessions.unbind_account(&account.id);
            tracing::warn!(account = %account.id, reason, "OAuth grant refused by the provider; the account needs a new sign-in");
        }
    }

    /// Install the OAuth token refresher (once, at start-up).
    pub fn set_refresher(&self, refresher: Arc<dyn token::Refresh>) {
        let _ = self.refresher.set(refresher);
    }

    /// Renew `account`'s OAuth token after the upstream refused it, unless its
    /// generation already moved past `seen` (single-flight: see [`token`]). `true` when a
    /// newer token is in place, so the request may be retried once with it.
    /// When it could not be renewed and the account is not marked (`needs_reauth`), the
    /// refused token is not used again: routing skips the account until the background
    /// refresher renews it (rather than mark `forbidden` a credential that only needs a
    /// refresh the token endpoint could not do right now).
    pub async fn refresh_token(&self, account: &Arc<PoolAccount>, seen: i64) -> bool {
        let renewed = match self.refresher.get() {
            Some(r) if account.oauth.is_some() => r.refresh(account, seen).await,
            _ => false,
        };
        if !renewed && !account.state.credential.is_forbidden() {
            account.state.token.invalidate(seen);
        }
        renewed
    }

    /// Credential marks waiting to be persisted.
    pub fn status_queue(&self) -> &StatusQueue {
        &self.status_queue
    }

    /// The account with this id in the current snapshot.
    pub fn account(&self, id: &str) -> Option<Arc<PoolAccount>> {
        let snapshot = self.snapshot.load();
        let position = *snapshot.index.by_id.get(id)?;
        snapshot.accounts.get(position).cloned()
    }

    /// Clear the lockouts of every scope, or of `account_id`'s scope; how many scopes.
    pub fn clear_lockouts(&self, account_id: Option<&str>) -> usize {
        let accounts = self.accounts();
        let mut cleared = 0;
        let mut seen: Vec<&str> = Vec::new();
        for a in accounts
            .iter()
            .filter(|a| account_id.is_none_or(|id| &*a.id == id))
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
