//! Additive-increase / multiplicative-decrease of an account's concurrency limit.
//!
//! Why AIMD: a provider's real capacity for one key is unknown and moves (per-minute
//! token windows, shared org limits, load). AIMD probes upward slowly — one more slot
//! after each full window of clean successes — and backs off fast — halving on a 429 or
//! an overload — which converges to a fair share without knowing the limit, as TCP does.
//! Only signals that mean "too much" (rate limited, overloaded) decrease the limit; a 500
//! or a timeout says nothing about concurrency and is left to the circuit breaker.

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicU32, Ordering};

/// AIMD tuning. Every field is validated by [`AimdConfig::validate`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AimdConfig {
    /// Limit a new account starts with. Range 1..=`max_limit`. Default 8.
    pub initial_limit: u32,
    /// Upper bound of the limit. Range 1..=10000. Default 64.
    pub max_limit: u32,
    /// Successes needed (with no decrease in between) before the limit grows by one.
    /// Range 1..=10000. Default 16.
    pub increase_after: u32,
    /// Factor applied on a 429 / overload. Range 0.1..=0.95. Default 0.5.
    pub decrease_factor: f64,
}

impl Default for AimdConfig {
    fn default() -> Self {
        Self {
            initial_limit: 8,
            max_limit: 64,
            increase_after: 16,
            decrease_factor: 0.5,
        }
    }
}

impl AimdConfig {
    /// `Err((field, message))` for the first invalid field.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        if !(1..=10_000).contains(&self.max_limit) {
            return Err(("aimd.max_limit", "must be 1..=10000".into()));
        }
        if !(1..=self.max_limit).contains(&self.initial_limit) {
            return Err((
                "aimd.initial_limit",
                format!("must be 1..={}", self.max_limit),
            ));
        }
        if !(1..=10_000).contains(&self.increase_after) {
            return Err(("aimd.increase_after", "must be 1..=10000".into()));
        }
        if !(0.1..=0.95).contains(&self.decrease_factor) {
            return Err(("aimd.decrease_factor", "must be 0.1..=0.95".into()));
        }
        Ok(())
    }
}

#[derive(Debug)]
struct State {
    limit: f64,
    successes: u32,
}

/// One account's adaptive limit.
#[derive(Debug)]
pub struct Aimd {
    config: Mutex<AimdConfig>,
    state: Mutex<State>,
    /// The integer limit, mirrored for lock-free reads on every routing decision.
    current: AtomicU32,
}

impl Aimd {
    pub fn new(config: AimdConfig) -> Self {
        Self {
            state: Mutex::new(State {
                limit: f64::from(config.initial_limit),
                successes: 0,
            }),
            config: Mutex::new(config),
            current: AtomicU32::new(config.initial_limit.max(1)),
        }
    }

    /// The current limit (at least 1).
    pub fn limit(&self) -> u32 {
        self.current.load(Ordering::Relaxed)
    }

    fn publish(&self, state: &State) {
        // The limit is kept within [1, max_limit] ≤ 10000, so the cast is exact.
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "bounded to 1..=10000"
        )]
        let limit = state.limit.floor() as u32;
        self.current.store(limit.max(1), Ordering::Relaxed);
    }

    /// Apply new tuning (hot reload), clamping the current limit into the new bounds.
    pub fn reconfigure(&self, config: AimdConfig) {
        *self.config.lock() = config;
        let mut s = self.state.lock();
        s.limit = s.limit.clamp(1.0, f64::from(config.max_limit));
        self.publish(&s);
    }

    pub fn on_success(&self) {
        let config = *self.config.lock();
        let mut s = self.state.lock();
        s.successes += 1;
        if s.successes >= config.increase_after {
            s.successes = 0;
            s.limit = (s.limit + 1.0).min(f64::from(config.max_limit));
            self.publish(&s);
        }
    }

    /// A "too much" signal: 429 or overload.
    pub fn on_overload(&self) {
        let config = *self.config.lock();
        let mut s = self.state.lock();
        s.successes = 0;
        s.limit = (s.limit * config.decrease_factor).max(1.0);
        self.publish(&s);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn grows_by_one_per_window_and_halves_on_overload() {
        let a = Aimd::new(AimdConfig {
            initial_limit: 4,
            max_limit: 6,
            increase_after: 2,
            decrease_factor: 0.5,
        });
        a.on_success();
        assert_eq!(a.limit(), 4);
        a.on_success();
        assert_eq!(a.limit(), 5);
        for _ in 0..10 {
            a.on_success();
        }
        assert_eq!(a.limit(), 6, "capped at max");
        a.on_overload();
        assert_eq!(a.limit(), 3);
        for _ in 0..5 {
            a.on_overload();
        }
        assert_eq!(a.limit(), 1, "never below 1");
    }

    #[test]
    fn validation_names_fields() {
        assert!(AimdConfig::default().validate().is_ok());
        let bad = AimdConfig {
            initial_limit: 100,
            ..AimdConfig::default()
        };
        assert_eq!(bad.validate().unwrap_err().0, "aimd.initial_limit");
        let bad = AimdConfig {
            decrease_factor: 1.0,
            ..AimdConfig::default()
        };
        assert_eq!(bad.validate().unwrap_err().0, "aimd.decrease_factor");
    }

    proptest! {
        #[test]
        fn limit_stays_within_bounds(
            max in 1u32..200,
            window in 1u32..20,
            factor in 0.1f64..0.95,
            signals in proptest::collection::vec(any::<bool>(), 0..500),
        ) {
            let config = AimdConfig { initial_limit: max.div_ceil(2), max_limit: max, increase_after: window, decrease_factor: factor };
            prop_assert!(config.validate().is_ok());
            let a = Aimd::new(config);
            for ok in signals {
                if ok { a.on_success() } else { a.on_overload() }
                prop_assert!((1..=max).contains(&a.limit()));
            }
        }
    }
}
