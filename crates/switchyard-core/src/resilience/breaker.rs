//! Circuit breaker per account, fed by classified outcomes and separate from the code it
//! gates: routing asks [`Breaker::allows`], the attempt loop reports outcomes.
//!
//! closed ──(N consecutive failures)──▶ open ──(cool-down elapsed)──▶ half-open
//!   ▲                                    ▲                               │ one probe
//!   └──────────────(probe succeeds)──────┴───────(probe fails)───────────┘
//!
//! Failures are the account's own faults (5xx, timeouts, refused connections, refused
//! credentials). Rate limits are not: they have their own lockouts, and opening the
//! circuit on them would hide an account that is healthy for other models.

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use std::time::Duration;
use tokio::time::Instant;

/// Breaker tuning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BreakerConfig {
    /// Consecutive failures that open the circuit. Range 1..=1000. Default 5.
    pub failure_threshold: u32,
    /// Time the circuit stays open before one probe is let through, seconds.
    /// Range 1..=3600. Default 30.
    pub cool_down_secs: u64,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        Self {
            failure_threshold: 5,
            cool_down_secs: 30,
        }
    }
}

impl BreakerConfig {
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        if !(1..=1000).contains(&self.failure_threshold) {
            return Err(("breaker.failure_threshold", "must be 1..=1000".into()));
        }
        if !(1..=3600).contains(&self.cool_down_secs) {
            return Err(("breaker.cool_down_secs", "must be 1..=3600".into()));
        }
        Ok(())
    }
}

/// The circuit's state, as shown by the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CircuitState {
    Closed { consecutive_failures: u32 },
    Open { until: Instant },
    HalfOpen { probing: bool },
}

/// One account's breaker.
#[derive(Debug)]
pub struct Breaker {
    config: Mutex<BreakerConfig>,
    state: Mutex<CircuitState>,
}

impl Breaker {
    pub fn new(config: BreakerConfig) -> Self {
        Self {
            config: Mutex::new(config),
            state: Mutex::new(CircuitState::Closed {
                consecutive_failures: 0,
            }),
        }
    }

    pub fn reconfigure(&self, config: BreakerConfig) {
        *self.config.lock() = config;
    }

    /// The state now (an open circuit whose cool-down has passed reads as half-open).
    pub fn state(&self, now: Instant) -> CircuitState {
        match *self.state.lock() {
            CircuitState::Open { until } if now >= until => {
                CircuitState::HalfOpen { probing: false }
            }
            s => s,
        }
    }

    /// Whether a request may be sent now. In half-open, the first caller becomes the
    /// probe and the others are refused until it reports.
    pub fn allows(&self, now: Instant) -> bool {
        let mut s = self.state.lock();
        match *s {
            CircuitState::Closed { .. } => true,
            CircuitState::Open { until } if now >= until => {
                *s = CircuitState::HalfOpen { probing: true };
                true
            }
            CircuitState::Open { .. } | CircuitState::HalfOpen { probing: true } => false,
            CircuitState::HalfOpen { probing: false } => {
                *s = CircuitState::HalfOpen { probing: true };
                true
            }
        }
    }

    /// Whether [`allows`](Self::allows) would say yes, without taking the probe slot.
    pub fn would_allow(&self, now: Instant) -> bool {
        match self.state(now) {
            CircuitState::Closed { .. } | CircuitState::HalfOpen { probing: false } => true,
            CircuitState::Open { .. } | CircuitState::HalfOpen { probing: true } => false,
        }
    }

    pub fn on_success(&self) {
        *self.state.lock() = CircuitState::Closed {
            consecutive_failures: 0,
        };
    }

    pub fn on_failure(&self, now: Instant) {
        let config = *self.config.lock();
        let open = CircuitState::Open {
            until: now + Duration::from_secs(config.cool_down_secs),
        };
        let mut s = self.state.lock();
        *s = match *s {
            CircuitState::Closed {
                consecutive_failures,
            } if consecutive_failures + 1 < config.failure_threshold => CircuitState::Closed {
                consecutive_failures: consecutive_failures + 1,
            },
            CircuitState::Closed { .. }
            | CircuitState::HalfOpen { .. }
            | CircuitState::Open { .. } => open,
        };
    }

    /// A result that says nothing about the account's health (a client error, a rate
    /// limit): releases a half-open probe slot without deciding.
    pub fn on_neutral(&self) {
        let mut s = self.state.lock();
        if let CircuitState::HalfOpen { probing: true } = *s {
            *s = CircuitState::HalfOpen { probing: false };
        }
    }

    /// Close the circuit (manual reset).
    pub fn reset(&self) {
        self.on_success();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn opens_after_threshold_then_probes_after_cool_down() {
        let b = Breaker::new(BreakerConfig {
            failure_threshold: 3,
            cool_down_secs: 10,
        });
        let t0 = Instant::now();
        b.on_failure(t0);
        b.on_failure(t0);
        assert!(b.allows(t0));
        b.on_failure(t0);
        assert!(!b.allows(t0), "open after 3 failures");
        tokio::time::advance(Duration::from_secs(9)).await;
        assert!(!b.allows(Instant::now()));
        tokio::time::advance(Duration::from_secs(1)).await;
        let now = Instant::now();
        assert!(b.would_allow(now));
        assert!(b.allows(now), "one probe");
        assert!(!b.allows(now), "only one probe at a time");
        b.on_failure(now);
        assert!(
            matches!(b.state(now), CircuitState::Open { .. }),
            "failed probe reopens"
        );
        tokio::time::advance(Duration::from_secs(10)).await;
        assert!(b.allows(Instant::now()));
        b.on_success();
        assert!(
            b.allows(Instant::now()) && b.allows(Instant::now()),
            "closed again"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_success_resets_the_count_and_neutral_frees_the_probe() {
        let b = Breaker::new(BreakerConfig {
            failure_threshold: 2,
            cool_down_secs: 1,
        });
        let now = Instant::now();
        b.on_failure(now);
        b.on_success();
        b.on_failure(now);
        assert!(b.allows(now), "the count restarted");
        b.on_failure(now);
        tokio::time::advance(Duration::from_secs(1)).await;
        assert!(b.allows(Instant::now()));
        b.on_neutral();
        assert!(
            b.allows(Instant::now()),
            "a neutral outcome frees the probe slot"
        );
    }
}
