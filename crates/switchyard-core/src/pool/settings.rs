//! Routing settings: validated, swapped atomically on hot reload.

use crate::resilience::aimd::AimdConfig;
use crate::resilience::backoff::RetryConfig;
use crate::resilience::breaker::BreakerConfig;
use serde::{Deserialize, Serialize};
use switchyard_types::Tier;

/// `[routing]` table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RoutingConfig {
    /// Tiers from most to least preferred; every tier must appear once.
    /// Default `["ultra-business", "ultra", "pro", "free", "unknown"]`.
    pub tier_order: Vec<Tier>,
    /// Idle time after which a session's account binding lapses, seconds. Range
    /// 1..=86400. Default 600.
    pub session_ttl_secs: u64,
    /// Session bindings kept at most; when full, the least recently used is forgotten.
    /// About 150 bytes each when full. Range 1..=10000000. Default 262144.
    pub session_capacity: usize,
    /// Pre-emptive throttling: when an upstream's rate-limit headers say less than this
    /// fraction of the window's requests remain, the account rests until the window
    /// resets. Range 0.0..=0.5 (0 disables). Default 0.05.
    pub throttle_ratio: f64,
    /// Lockout after a 429 that gave no `Retry-After`, seconds. Range 1..=3600. Default 5.
    pub rate_limit_lock_secs: u64,
    /// Lockout after an exhausted quota with no reset hint, seconds. Range 1..=86400.
    /// Default 600.
    pub quota_lock_secs: u64,
}

impl Default for RoutingConfig {
    fn default() -> Self {
        Self {
            tier_order: Tier::ALL.to_vec(),
            session_ttl_secs: 600,
            session_capacity: 262_144,
            throttle_ratio: 0.05,
            rate_limit_lock_secs: 5,
            quota_lock_secs: 600,
        }
    }
}

/// One `[[quota_protection]]` rule: accounts whose remaining quota for a model matching
/// `models` is under `min_remaining_percent` of the window are skipped until it resets,
/// so the last of a quota is kept (e.g. for other tools sharing the key). The first
/// matching rule applies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuotaProtection {
    /// A model glob (`*`, `?`), e.g. `gemini-*`.
    pub models: String,
    /// Range 0.0..=100.0.
    pub min_remaining_percent: f64,
}

/// Everything routing can be tuned with, validated together.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RoutingSettings {
    pub routing: RoutingConfig,
    pub aimd: AimdConfig,
    pub breaker: BreakerConfig,
    pub retry: RetryConfig,
    #[serde(default)]
    pub quota_protection: Vec<QuotaProtection>,
}

impl RoutingSettings {
    /// `Err((field, message))` for the first invalid field.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        let order = &self.routing.tier_order;
        if order.len() != Tier::ALL.len() || Tier::ALL.iter().any(|t| !order.contains(t)) {
            return Err((
                "routing.tier_order",
                "must list each of ultra-business, ultra, pro, free, unknown once".into(),
            ));
        }
        if !(1..=86_400).contains(&self.routing.session_ttl_secs) {
            return Err(("routing.session_ttl_secs", "must be 1..=86400".into()));
        }
        if !(1..=10_000_000).contains(&self.routing.session_capacity) {
            return Err(("routing.session_capacity", "must be 1..=10000000".into()));
        }
        if !(0.0..=0.5).contains(&self.routing.throttle_ratio) {
            return Err(("routing.throttle_ratio", "must be 0.0..=0.5".into()));
        }
        if !(1..=3600).contains(&self.routing.rate_limit_lock_secs) {
            return Err(("routing.rate_limit_lock_secs", "must be 1..=3600".into()));
        }
        if !(1..=86_400).contains(&self.routing.quota_lock_secs) {
            return Err(("routing.quota_lock_secs", "must be 1..=86400".into()));
        }
        for rule in &self.quota_protection {
            if !switchyard_types::glob::is_valid_pattern(&rule.models) {
                return Err((
                    "quota_protection.models",
                    "must be a model glob: 1 to 200 printable characters without spaces".into(),
                ));
            }
            if !(0.0..=100.0).contains(&rule.min_remaining_percent) {
                return Err((
                    "quota_protection.min_remaining_percent",
                    "must be 0.0..=100.0".into(),
                ));
            }
        }
        self.aimd.validate()?;
        self.breaker.validate()?;
        self.retry.validate()
    }

    /// The quota protection floor for `model`, per mille of the window (the first
    /// matching rule), if any.
    pub fn quota_floor(&self, model: &str) -> Option<u32> {
        let rule = self
            .quota_protection
            .iter()
            .find(|r| switchyard_types::glob::matches(&r.models, model))?;
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "validated to 0..=100 percent"
        )]
        let permille = (rule.min_remaining_percent * 10.0).round() as u32;
        (permille > 0).then_some(permille)
    }

    /// Rank of each tier (lower is preferred), indexed like [`Tier::ALL`].
    pub fn tier_ranks(&self) -> [u8; 5] {
        let mut ranks = [u8::MAX; 5];
        for (rank, tier) in self.routing.tier_order.iter().enumerate() {
            if let Some(i) = Tier::ALL.iter().position(|t| t == tier) {
                ranks[i] = u8::try_from(rank).unwrap_or(u8::MAX);
            }
        }
        ranks
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_validate_and_bad_orders_are_named() {
        let s = RoutingSettings::default();
        assert!(s.validate().is_ok());
        assert_eq!(s.tier_ranks(), [0, 1, 2, 3, 4]);
        let mut bad = RoutingSettings::default();
        bad.routing.tier_order = vec![Tier::Pro];
        assert_eq!(bad.validate().unwrap_err().0, "routing.tier_order");
        let mut custom = RoutingSettings::default();
        custom.routing.tier_order = vec![
            Tier::Free,
            Tier::Pro,
            Tier::Ultra,
            Tier::UltraBusiness,
            Tier::Unknown,
        ];
        assert_eq!(custom.tier_ranks(), [3, 2, 1, 0, 4]);
        for capacity in [0, 10_000_001] {
            let mut bad = RoutingSettings::default();
            bad.routing.session_capacity = capacity;
            assert_eq!(bad.validate().unwrap_err().0, "routing.session_capacity");
        }
    }
}
