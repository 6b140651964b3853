//! Series computed at scrape time from the pool and the other components: per-account
//! gauges, totals, and counters other components own (copied in as deltas).

use super::registered;
use prometheus::{GaugeVec, IntCounter, IntGauge, IntGaugeVec, Opts, Registry};
use std::sync::{Mutex, PoisonError};
use switchyard_core::pool::PoolAccount;
use switchyard_core::resilience::breaker::CircuitState;
use tokio::time::Instant;

/// What a scrape reads.
#[derive(Debug)]
pub struct Snapshot<'a> {
    pub accounts: &'a [std::sync::Arc<PoolAccount>],
    pub client_keys: u64,
    pub log_queue_depth: u64,
    pub log_dropped: u64,
    pub unpriced: u64,
}

/// The scrape-time series.
pub struct Scraped {
    accounts: IntGauge,
    accounts_enabled: IntGauge,
    inflight: IntGauge,
    client_keys: IntGauge,
    log_queue_depth: IntGauge,
    log_dropped: IntCounter,
    unpriced: IntCounter,
    account_inflight: IntGaugeVec,
    account_limit: IntGaugeVec,
    account_circuit: IntGaugeVec,
    account_locked: IntGaugeVec,
    account_forbidden: IntGaugeVec,
    account_quota: GaugeVec,
    /// One scrape at a time: per-account series are reset and refilled.
    updating: Mutex<()>,
}

fn gauge(registry: &Registry, name: &str, help: &str) -> prometheus::Result<IntGauge> {
    registered(registry, IntGauge::new(name, help)?)
}

fn per_account(registry: &Registry, name: &str, help: &str) -> prometheus::Result<IntGaugeVec> {
    registered(
        registry,
        IntGaugeVec::new(Opts::new(name, help), &["account", "provider"])?,
    )
}

/// Raise `counter` to `value` (counters another component owns; they only grow).
fn sync(counter: &IntCounter, value: u64) {
    let have = counter.get();
    if value > have {
        counter.inc_by(value - have);
    }
}

fn set(gauge: &IntGauge, value: u64) {
    gauge.set(i64::try_from(value).unwrap_or(i64::MAX));
}

impl Scraped {
    pub fn new(registry: &Registry) -> prometheus::Result<Self> {
        Ok(Self {
            accounts: gauge(registry, "switchyard_accounts", "Accounts in the pool.")?,
            accounts_enabled: gauge(registry, "switchyard_accounts_enabled", "Enabled accounts.")?,
            inflight: gauge(
                registry,
                "switchyard_inflight_requests",
                "Upstream requests in flight.",
            )?,
            client_keys: gauge(registry, "switchyard_client_keys", "Client keys.")?,
            log_queue_depth: gauge(
                registry,
                "switchyard_log_queue_depth",
                "Finished requests waiting to be written to the request log.",
            )?,
            log_dropped: registered(
                registry,
                IntCounter::new(
                    "switchyard_log_dropped_total",
                    "Finished requests left out of the request log (queue full or write failed).",
                )?,
            )?,
            unpriced: registered(
                registry,
                IntCounter::new(
                    "switchyard_unpriced_requests_total",
                    "Answered requests whose model has no price (their cost is null).",
                )?,
            )?,
            account_inflight: per_account(
                registry,
                "switchyard_account_inflight",
                "Requests in flight on the account.",
            )?,
            account_limit: per_account(
                registry,
                "switchyard_account_aimd_limit",
                "The account's adaptive concurrency limit (AIMD).",
            )?,
            account_circuit: per_account(
                registry,
                "switchyard_account_circuit_state",
                "The account's circuit breaker: 0 closed, 1 half-open, 2 open.",
            )?,
            account_locked: per_account(
                registry,
                "switchyard_account_locked_out",
                "1 while the account's quota scope has an active lockout (rate limit or exhausted quota).",
            )?,
            account_forbidden: per_account(
                registry,
                "switchyard_account_forbidden",
                "1 while the provider refuses the account's credential (until verified).",
            )?,
            account_quota: registered(
                registry,
                GaugeVec::new(
                    Opts::new(
                        "switchyard_account_quota_remaining",
                        "What the provider reports as left of the account's quota (model \"*\": the whole account), from rate-limit headers and billing endpoints.",
                    ),
                    &["account", "model", "unit"],
                )?,
            )?,
            updating: Mutex::new(()),
        })
    }

    pub fn update(&self, now: &Snapshot<'_>) {
        let _one = self.updating.lock().unwrap_or_else(PoisonError::into_inner);
        let accounts = now.accounts;
        set(&self.accounts, accounts.len() as u64);
        set(
            &self.accounts_enabled,
            accounts.iter().filter(|a| a.enabled).count() as u64,
        );
        set(
            &self.inflight,
            accounts.iter().map(|a| u64::from(a.state.active())).sum(),
        );
        set(&self.client_keys, now.client_keys);
        set(&self.log_queue_depth, now.log_queue_depth);
        sync(&self.log_dropped, now.log_dropped);
        sync(&self.unpriced, now.unpriced);
        // Deleted accounts must not linger: refill from the pool.
        for vec in [
            &self.account_inflight,
            &self.account_limit,
            &self.account_circuit,
            &self.account_locked,
            &self.account_forbidden,
        ] {
            vec.reset();
        }
        self.account_quota.reset();
        let instant = Instant::now();
        for a in accounts {
            let labels = [&*a.id, a.provider.as_str()];
            let circuit = match a.state.breaker.state(instant) {
                CircuitState::Closed { .. } => 0,
                CircuitState::HalfOpen { .. } => 1,
                CircuitState::Open { .. } => 2,
            };
            let locked = !a.lockouts.active(instant).is_empty();
            self.account_inflight
                .with_label_values(&labels)
                .set(i64::from(a.state.active()));
            self.account_limit
                .with_label_values(&labels)
                .set(i64::from(a.state.aimd.limit()));
            self.account_circuit.with_label_values(&labels).set(circuit);
            self.account_locked
                .with_label_values(&labels)
                .set(i64::from(locked));
            self.account_forbidden
                .with_label_values(&labels)
                .set(i64::from(a.state.credential.is_forbidden()));
            for entry in a.quota.entries() {
                if let Some(remaining) = entry.remaining {
                    let model = entry.model.as_deref().unwrap_or("*");
                    self.account_quota
                        .with_label_values(&[&*a.id, model, entry.unit.as_str()])
                        .set(remaining);
                }
            }
        }
    }
}
