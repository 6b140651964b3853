//! Exponential backoff with jitter between attempts on different accounts.
//!
//! "Equal jitter": half the exponential delay is fixed, half random, so retries of many
//! requests that failed together spread out, yet no retry fires immediately.

use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Retry tuning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetryConfig {
    /// Accounts tried per request. Range 1..=20. Default 3.
    pub max_attempts: u32,
    /// First backoff, milliseconds. Range 0..=10000. Default 25.
    pub base_backoff_ms: u64,
    /// Largest backoff, milliseconds. Range `base_backoff_ms`..=60000. Default 1000.
    pub max_backoff_ms: u64,
    /// Total time a request may spend on attempts and backoffs before giving up,
    /// milliseconds (the upstream's own answer time included). Range 100..=3600000.
    /// Default 120000.
    pub deadline_ms: u64,
    /// When every account is locked out, wait for the earliest lockout to end if that
    /// is within this many milliseconds, instead of answering 429. Range 0..=60000.
    /// Default 0 (answer at once).
    pub max_wait_ms: u64,
}

impl Default for RetryConfig {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            base_backoff_ms: 25,
            max_backoff_ms: 1000,
            deadline_ms: 120_000,
            max_wait_ms: 0,
        }
    }
}

impl RetryConfig {
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        if !(1..=20).contains(&self.max_attempts) {
            return Err(("retry.max_attempts", "must be 1..=20".into()));
        }
        if self.base_backoff_ms > 10_000 {
            return Err(("retry.base_backoff_ms", "must be 0..=10000".into()));
        }
        if !(self.base_backoff_ms..=60_000).contains(&self.max_backoff_ms) {
            return Err((
                "retry.max_backoff_ms",
                "must be base_backoff_ms..=60000".into(),
            ));
        }
        if !(100..=3_600_000).contains(&self.deadline_ms) {
            return Err(("retry.deadline_ms", "must be 100..=3600000".into()));
        }
        if self.max_wait_ms > 60_000 {
            return Err(("retry.max_wait_ms", "must be 0..=60000".into()));
        }
        Ok(())
    }

    /// The delay before retry number `retry` (0 = the first retry); `jitter` in [0, 1).
    pub fn backoff(&self, retry: u32, jitter: f64) -> Duration {
        let exp = self
            .base_backoff_ms
            .saturating_mul(1u64 << retry.min(20))
            .min(self.max_backoff_ms);
        #[expect(clippy::cast_precision_loss, reason = "delays are far below 2^52 ms")]
        let half = exp as f64 / 2.0;
        Duration::from_secs_f64((half + half * jitter.clamp(0.0, 1.0)) / 1000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn doubles_then_caps() {
        let c = RetryConfig {
            base_backoff_ms: 100,
            max_backoff_ms: 500,
            ..RetryConfig::default()
        };
        assert_eq!(c.backoff(0, 0.0), Duration::from_millis(50));
        assert_eq!(c.backoff(0, 1.0), Duration::from_millis(100));
        assert_eq!(c.backoff(1, 1.0), Duration::from_millis(200));
        assert_eq!(c.backoff(5, 1.0), Duration::from_millis(500));
        assert_eq!(c.backoff(63, 1.0), Duration::from_millis(500));
        assert!(RetryConfig::default().validate().is_ok());
        let bad = RetryConfig {
            max_backoff_ms: 1,
            base_backoff_ms: 2,
            ..RetryConfig::default()
        };
        assert_eq!(bad.validate().unwrap_err().0, "retry.max_backoff_ms");
    }

    proptest! {
        #[test]
        fn backoff_is_bounded(base in 0u64..10_000, extra in 0u64..50_000, retry in 0u32..100, jitter in 0.0f64..1.0) {
            let c = RetryConfig { base_backoff_ms: base, max_backoff_ms: base + extra, ..RetryConfig::default() };
            let d = c.backoff(retry, jitter);
            prop_assert!(d <= Duration::from_millis(base + extra));
            let floor = base.saturating_mul(1u64 << retry.min(20)).min(base + extra) / 2;
            prop_assert!(d + Duration::from_millis(1) >= Duration::from_millis(floor));
        }
    }
}
