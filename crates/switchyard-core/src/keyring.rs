//! Client keys in memory: digest → the key's policy, swapped wholesale on change
//! (lock-free reads).
//!
//! Lookup hashes the presented key first, so the map only ever sees a SHA-256 digest;
//! the final equality is checked in constant time.
//!
//! # Policy
//! Each entry is an [`Arc<KeyPolicy>`]: the key's settings as of the last reload (enabled,
//! expiry, allowed models, rpm, tpm, budget) and an [`Arc<KeyState>`] with what it has
//! used. The state is kept by key id across reloads ([`KeyRing::replace`] reuses it), so
//! editing any key, or any account, does not reset a key's limits. Checking is O(1): the
//! limiters are atomics, the budget a short mutex (spend and period change together):
//! - requests per minute: a GCRA limiter ([`Gcra`]), burst = one minute's allowance;
//! - tokens per minute: the same GCRA, but the tokens are only known when the request
//!   has finished, so a request is admitted while the bucket is not over and its actual
//!   tokens (input, cache reads and writes, output) are charged at the finish — possibly
//!   into debt, which later requests wait out. The `governor` crate refuses a charge the
//!   bucket cannot hold instead of recording it (`check_n`), so it cannot express this
//!   debt; one `AtomicU64` does both;
//! - budget: micro-USD spent in the current period (UTC day, UTC month, or total),
//!   seeded at start (and when a key's period changes) from the usage rollups, then
//!   counted here from each finished request's cost. A period rolls over on the first
//!   check after its end.

use crate::crypto::KeyDigest;
use crate::pipeline::context::{Cost, Usage};
use crate::store::KeyRecord;
use arc_swap::ArcSwap;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};
use switchyard_types::admin::BudgetPeriod;
use switchyard_types::glob;

/// An authenticated client key's identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientKeyId(pub Arc<str>);

/// `Retry-After` of a refusal by a `total` budget, which only an operator resets.
pub const TOTAL_BUDGET_RETRY_AFTER: Duration = Duration::from_secs(86_400);

const MINUTE_NS: u64 = 60_000_000_000;

/// Why a key may not make this request now.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyRefusal {
    #[error("this API key is disabled")]
    Disabled,
    #[error("this API key has expired")]
    Expired,
    #[error("this API key may not use model {0:?}")]
    ModelNotAllowed(String),
    #[error("this API key's limit of {per_minute} requests per minute is reached")]
    Requests {
        per_minute: u64,
        retry_after: Duration,
    },
    #[error("this API key's limit of {per_minute} tokens per minute is reached")]
    Tokens {
        per_minute: u64,
        retry_after: Duration,
    },
    #[error("this API key's budget of ${} {} is exhausted", usd(*.budget_micro_usd), .period.phrase())]
    Budget {
        budget_micro_usd: i64,
        period: BudgetPeriod,
        retry_after: Duration,
    },
}

/// Micro-dollars as dollars, for messages: `12.5`, `0.000001`.
pub fn usd(micro: i64) -> String {
    let text = format!("{}.{:06}", micro / 1_000_000, (micro % 1_000_000).abs());
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// Nanoseconds since the first call in this process (the limiters' clock).
pub fn clock_ns() -> u64 {
    static BASE: OnceLock<Instant> = OnceLock::new();
    let base = BASE.get_or_init(Instant::now);
    u64::try_from(base.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

/// A generic cell-rate limiter on one atomic: the theoretical arrival time (TAT) of the
/// next unit, in [`clock_ns`] nanoseconds. `per_minute` units are allowed per minute,
/// in bursts of up to a minute's worth.
#[derive(Debug, Default)]
pub struct Gcra {
    tat: AtomicU64,
}

impl Gcra {
    fn interval(per_minute: u64) -> u64 {
        (MINUTE_NS / per_minute.max(1)).max(1)
    }

    /// How long until one unit fits, `None` if it fits now.
    fn wait(tat: u64, now: u64, per_minute: u64) -> Option<Duration> {
        let tolerance = MINUTE_NS - Self::interval(per_minute);
        let ahead = tat.max(now) - now;
        (ahead > tolerance).then(|| Duration::from_nanos(ahead - tolerance))
    }

    /// Take one unit if it fits now; else how long until it would.
    pub fn take(&self, per_minute: u64, now: u64) -> Result<(), Duration> {
        let interval = Self::interval(per_minute);
        let mut current = self.tat.load(Ordering::Acquire);
        loop {
            if let Some(wait) = Self::wait(current, now, per_minute) {
                return Err(wait);
            }
            let next = current.max(now).saturating_add(interval);
            match self
                .tat
                .compare_exchange_weak(current, next, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return Ok(()),
                Err(actual) => current = actual,
            }
        }
    }

    /// Whether one unit would fit now (nothing taken); else how long until it would.
    pub fn check(&self, per_minute: u64, now: u64) -> Result<(), Duration> {
        Self::wait(self.tat.load(Ordering::Acquire), now, per_minute).map_or(Ok(()), Err)
    }

    /// Charge `units` unconditionally (into debt if need be).
    pub fn charge(&self, per_minute: u64, units: u64, now: u64) {
        let add = Self::interval(per_minute).saturating_mul(units);
        let _ = self
            .tat
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |tat| {
                Some(tat.max(now).saturating_add(add))
            });
    }
}

/// Start of the budget period containing `now` (unix s): 0 for `total`.
pub fn period_start(period: BudgetPeriod, now: i64) -> i64 {
    match period {
        BudgetPeriod::Total => 0,
        BudgetPeriod::Day => now - now.rem_euclid(86_400),
        BudgetPeriod::Month => crate::quota::time::utc_month(now).0,
    }
}

/// End of the budget period containing `now` (unix s): `None` for `total`.
pub fn period_end(period: BudgetPeriod, now: i64) -> Option<i64> {
    match period {
        BudgetPeriod::Total => None,
        BudgetPeriod::Day => Some(period_start(period, now) + 86_400),
        BudgetPeriod::Month => Some(crate::quota::time::utc_month(now).1),
    }
}

/// What a key has used; survives reloads (kept by key id).
#[derive(Debug)]
pub struct KeyState {
    requests: Gcra,
    tokens: Gcra,
    /// Start (unix s) of the period counted (0 for `total`), and the micro-USD spent in
    /// it: one lock, so a charge landing during a rollover is neither lost nor counted
    /// in the old period (held for an add, never across an await).
    budget: Mutex<(i64, i64)>,
    /// The period the state was seeded for.
    period: BudgetPeriod,
}

impl KeyState {
    fn new(period: BudgetPeriod, period_start: i64, spent: i64) -> Self {
        Self {
            requests: Gcra::default(),
            tokens: Gcra::default(),
            budget: Mutex::new((period_start, spent)),
            period,
        }
    }

    /// Micro-USD spent in the period containing `now`, rolling over when it has ended.
    fn spent(&self, now: i64) -> i64 {
        self.add(now, 0)
    }

    /// Add `micro_usd` to the period containing `now` (rolling over first); the total.
    fn add(&self, now: i64, micro_usd: i64) -> i64 {
        let start = period_start(self.period, now);
        let mut budget = self.budget.lock();
        if budget.0 != start {
            *budget = (start, 0);
        }
        budget.1 = budget.1.saturating_add(micro_usd);
        budget.1
    }
}

/// A key's settings as of the last reload, with its lasting [`KeyState`].
#[derive(Debug)]
pub struct KeyPolicy {
    pub id: ClientKeyId,
    pub enabled: bool,
    /// Unix seconds.
    pub expires_at: Option<i64>,
    pub models: Option<Box<[Box<str>]>>,
    pub rpm: Option<u64>,
    pub tpm: Option<u64>,
    /// `(micro-USD, period)`.
    pub budget: Option<(i64, BudgetPeriod)>,
    state: Arc<KeyState>,
}

impl KeyPolicy {
    /// A key with no limits (tests, benches).
    pub fn unlimited(id: &str) -> Self {
        Self {
            id: ClientKeyId(id.into()),
            enabled: true,
            expires_at: None,
            models: None,
            rpm: None,
            tpm: None,
            budget: None,
            state: Arc::new(KeyState::new(BudgetPeriod::Total, 0, 0)),
        }
    }

    fn from_record(rec: &KeyRecord, state: Arc<KeyState>) -> Self {
        Self {
            id: ClientKeyId(rec.id.as_str().into()),
            enabled: rec.enabled,
            expires_at: rec.expires_at,
            models: rec
                .models
                .as_ref()
                .map(|m| m.iter().map(|p| p.as_str().into()).collect()),
            rpm: rec.rpm.map(u64::from),
            tpm: rec.tpm,
            budget: rec.budget_micro_usd.map(|b| (b, rec.budget_period)),
            state,
        }
    }

    /// Enabled and not expired at `now` (unix s; read only for a key with an expiry).
    pub fn check_access(&self, now: impl FnOnce() -> i64) -> Result<(), KeyRefusal> {
        if !self.enabled {
            return Err(KeyRefusal::Disabled);
        }
        if self.expires_at.is_some_and(|at| now() >= at) {
            return Err(KeyRefusal::Expired);
        }
        Ok(())
    }

    /// Whether the key may call `requested` (the client's name), or the model it maps
    /// to (`resolved`): the allowlist names either.
    pub fn check_model(&self, requested: &str, resolved: Option<&str>) -> Result<(), KeyRefusal> {
        let Some(models) = &self.models else {
            return Ok(());
        };
        let allowed = |m: &str| models.iter().any(|p| glob::matches(p, m));
        if allowed(requested) || resolved.is_some_and(allowed) {
            Ok(())
        } else {
            Err(KeyRefusal::ModelNotAllowed(requested.to_owned()))
        }
    }

    /// Budget, tokens per minute, then requests per minute (the only one that takes
    /// something, so a refused request does not use up the request rate). The clocks
    /// (unix s, [`clock_ns`]) are read only for a key with limits.
    pub fn admit(
        &self,
        now_unix: impl FnOnce() -> i64,
        now_ns: impl FnOnce() -> u64,
    ) -> Result<(), KeyRefusal> {
        if self.budget.is_none() && self.tpm.is_none() && self.rpm.is_none() {
            return Ok(());
        }
        let (now_unix, now_ns) = (now_unix(), now_ns());
        if let Some((budget, period)) = self.budget
            && self.state.spent(now_unix) >= budget
        {
            let retry_after = period_end(period, now_unix)
                .map_or(TOTAL_BUDGET_RETRY_AFTER, |end| {
                    Duration::from_secs(u64::try_from(end - now_unix).unwrap_or(1).max(1))
                });
            return Err(KeyRefusal::Budget {
                budget_micro_usd: budget,
                period,
                retry_after,
            });
        }
        if let Some(tpm) = self.tpm {
            self.state
                .tokens
                .check(tpm, now_ns)
                .map_err(|retry_after| KeyRefusal::Tokens {
                    per_minute: tpm,
                    retry_after,
                })?;
        }
        if let Some(rpm) = self.rpm {
            self.state
                .requests
                .take(rpm, now_ns)
                .map_err(|retry_after| KeyRefusal::Requests {
                    per_minute: rpm,
                    retry_after,
                })?;
        }
        Ok(())
    }

    /// Charge a finished request's tokens and cost. Every key's cost counts (its
    /// spend is listed even without a budget); tokens only against a `tpm` limit.
    pub fn record(
        &self,
        usage: Option<&Usage>,
        cost: Option<&Cost>,
        now_unix: impl FnOnce() -> i64,
        now_ns: impl FnOnce() -> u64,
    ) {
        if let (Some(tpm), Some(u)) = (self.tpm, usage) {
            let tokens = u.input + u.cache_read + u.cache_write + u.output;
            if tokens > 0 {
                self.state.tokens.charge(tpm, tokens, now_ns());
            }
        }
        if let Some(cost) = cost.filter(|c| c.micro_usd > 0) {
            self.state.add(now_unix(), cost.micro_usd);
        }
    }

    /// Micro-USD spent in the current period.
    pub fn spent(&self, now_unix: i64) -> i64 {
        self.state.spent(now_unix)
    }
}

/// The set of valid client keys.
#[derive(Debug, Default)]
pub struct KeyRing {
    keys: ArcSwap<HashMap<KeyDigest, Arc<KeyPolicy>>>,
    /// Lasting state by key id; touched only by reloads and listings, never per request.
    states: Mutex<HashMap<Arc<str>, Arc<KeyState>>>,
}

/// A key whose budget counter must be seeded from the store before
/// [`KeyRing::replace`]: its id and the period start (unix s).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedNeeded {
    pub id: String,
    pub since: i64,
}

impl KeyRing {
    pub fn new() -> Self {
        Self::default()
    }

    /// Keys of `records` without a state for their budget period yet (new keys, keys
    /// whose period changed): their spend since the period start must be read.
    pub fn seeds_needed(&self, records: &[KeyRecord], now: i64) -> Vec<SeedNeeded> {
        let states = self.states.lock();
        records
            .iter()
            .filter(|r| {
                states
                    .get(r.id.as_str())
                    .is_none_or(|s| s.period != r.budget_period)
            })
            .map(|r| SeedNeeded {
                id: r.id.clone(),
                since: period_start(r.budget_period, now),
            })
            .collect()
    }

    /// Replace the whole set. `seeds` gives the spend of the keys
    /// [`Self::seeds_needed`] named (missing: nothing spent); every other key keeps
    /// its state. States of keys no longer present are dropped.
    pub fn replace(&self, records: &[KeyRecord], seeds: &HashMap<String, i64>, now: i64) {
        let mut states = self.states.lock();
        let mut kept = HashMap::with_capacity(records.len());
        let mut map = HashMap::with_capacity(records.len());
        for rec in records {
            let state = match states.remove(rec.id.as_str()) {
                Some(s) if s.period == rec.budget_period => s,
                _ => Arc::new(KeyState::new(
                    rec.budget_period,
                    period_start(rec.budget_period, now),
                    seeds.get(&rec.id).copied().unwrap_or(0),
                )),
            };
            kept.insert(Arc::<str>::from(rec.id.as_str()), Arc::clone(&state));
            map.insert(rec.digest, Arc::new(KeyPolicy::from_record(rec, state)));
        }
        *states = kept;
        self.keys.store(Arc::new(map));
    }

    /// Micro-USD spent by key `id` in its current period (0 if unknown).
    pub fn spent(&self, id: &str, now: i64) -> i64 {
        self.states.lock().get(id).map_or(0, |s| s.spent(now))
    }

    /// The key's policy, if it is a known key (enabled or not).
    pub fn authenticate(&self, presented: &str) -> Option<Arc<KeyPolicy>> {
        let digest = KeyDigest::of(presented);
        let keys = self.keys.load();
        keys.get_key_value(&digest)
            .filter(|(stored, _)| stored.ct_eq(&digest))
            .map(|(_, policy)| Arc::clone(policy))
    }

    pub fn len(&self) -> usize {
        self.keys.load().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: &str, key: &str) -> KeyRecord {
        KeyRecord::unlimited(id.into(), "n".into(), KeyDigest::of(key), "…".into(), 0)
    }

    const S: u64 = 1_000_000_000;

    #[test]
    fn authenticates_only_known_keys() {
        let ring = KeyRing::new();
        ring.replace(&[record("k1", "sy-good")], &HashMap::new(), 0);
        assert_eq!(ring.authenticate("sy-good").unwrap().id.0.as_ref(), "k1");
        assert!(ring.authenticate("sy-bad").is_none());
        assert!(ring.authenticate("").is_none());
        ring.replace(&[], &HashMap::new(), 0);
        assert!(ring.authenticate("sy-good").is_none());
    }

    #[test]
    fn request_rate_allows_a_minute_in_a_burst_then_one_per_interval() {
        let g = Gcra::default();
        let now = 100 * S;
        for _ in 0..3 {
            g.take(3, now).unwrap();
        }
        let wait = g.take(3, now).unwrap_err();
        assert_eq!(wait, Duration::from_secs(20));
        assert!(g.take(3, now + 19 * S).is_err());
        g.take(3, now + 20 * S).unwrap();
    }

    #[test]
    fn tokens_go_into_debt_and_are_waited_out() {
        let g = Gcra::default();
        let now = 100 * S;
        g.check(600, now).unwrap();
        // 1800 tokens at 600/min: three minutes' worth; two minutes (and one token's
        // 0.1 s) over the burst.
        g.charge(600, 1800, now);
        let wait = g.check(600, now).unwrap_err();
        assert_eq!(wait, Duration::from_millis(120_100));
        assert!(g.check(600, now + 120 * S).is_err());
        g.check(600, now + 121 * S).unwrap();
    }

    #[test]
    fn periods_follow_the_utc_calendar() {
        // 2024-02-29T13:00:00Z.
        let t = 1_709_211_600;
        assert_eq!(period_start(BudgetPeriod::Day, t), 1_709_164_800);
        assert_eq!(period_end(BudgetPeriod::Day, t), Some(1_709_251_200));
        assert_eq!(period_start(BudgetPeriod::Month, t), 1_706_745_600); // 2024-02-01
        assert_eq!(period_end(BudgetPeriod::Month, t), Some(1_709_251_200)); // 2024-03-01
        // December rolls into the next year.
        let dec = 1_734_000_000; // 2024-12-12
        assert_eq!(period_end(BudgetPeriod::Month, dec), Some(1_735_689_600)); // 2025-01-01
        assert_eq!(period_start(BudgetPeriod::Total, t), 0);
        assert_eq!(period_end(BudgetPeriod::Total, t), None);
    }

    #[test]
    fn budget_is_spent_seeded_kept_across_reloads_and_rolls_over() {
        let ring = KeyRing::new();
        let mut rec = record("k1", "sy-k");
        rec.budget_micro_usd = Some(1_000_000);
        rec.budget_period = BudgetPeriod::Day;
        let day = 1_709_164_800;
        let now = day + 3600;
        assert_eq!(ring.seeds_needed(&[rec.clone()], now)[0].since, day);
        ring.replace(
            &[rec.clone()],
            &HashMap::from([("k1".to_owned(), 900_000)]),
            now,
        );
        let key = ring.authenticate("sy-k").unwrap();
        key.admit(|| now, || 0).unwrap();
        let cost = Cost {
            micro_usd: 100_000,
            price_version: "t".into(),
        };
        key.record(None, Some(&cost), || now, || 0);
        let refusal = key.admit(|| now, || 0).unwrap_err();
        assert_eq!(
            refusal,
            KeyRefusal::Budget {
                budget_micro_usd: 1_000_000,
                period: BudgetPeriod::Day,
                retry_after: Duration::from_secs(86_400 - 3600),
            }
        );
        assert_eq!(
            refusal.to_string(),
            "this API key's budget of $1 per day is exhausted"
        );
        // A reload (any admin change) keeps the state.
        rec.name = "renamed".into();
        assert!(ring.seeds_needed(&[rec.clone()], now).is_empty());
        ring.replace(&[rec], &HashMap::new(), now);
        assert!(
            ring.authenticate("sy-k")
                .unwrap()
                .admit(|| now, || 0)
                .is_err()
        );
        assert_eq!(ring.spent("k1", now), 1_000_000);
        // The next day starts from zero.
        assert!(
            ring.authenticate("sy-k")
                .unwrap()
                .admit(|| day + 86_400, || 0)
                .is_ok()
        );
        assert_eq!(ring.spent("k1", day + 86_400), 0);
    }

    #[test]
    fn access_and_models() {
        let mut p = KeyPolicy::unlimited("k");
        p.check_access(|| unreachable!("no expiry: the clock is not read"))
            .unwrap();
        p.admit(|| unreachable!("no limits"), || unreachable!("no limits"))
            .unwrap();
        p.expires_at = Some(10);
        assert_eq!(p.check_access(|| 10), Err(KeyRefusal::Expired));
        p.check_access(|| 9).unwrap();
        p.enabled = false;
        assert_eq!(p.check_access(|| 9), Err(KeyRefusal::Disabled));
        p.models = Some(vec!["gpt-4o*".into(), "fast".into()].into());
        p.check_model("gpt-4o-mini", None).unwrap();
        p.check_model("fast", Some("claude-x")).unwrap();
        p.check_model("cheap", Some("gpt-4o")).unwrap();
        assert!(p.check_model("claude-x", None).is_err());
        assert_eq!(usd(1_500_000), "1.5");
        assert_eq!(usd(1), "0.000001");
        assert_eq!(usd(25_000_000), "25");
    }

    #[test]
    fn charges_racing_a_rollover_all_land_in_the_new_period() {
        let day = period_start(BudgetPeriod::Day, 1_709_200_000);
        let state = Arc::new(KeyState::new(BudgetPeriod::Day, day, 5));
        let next = day + 86_400 + 10;
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let state = Arc::clone(&state);
                std::thread::spawn(move || {
                    for _ in 0..1000 {
                        state.add(next, 1);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(
            state.spent(next),
            8000,
            "none lost, the old period's 5 gone"
        );
    }
}
