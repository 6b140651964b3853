//! The price table and what a request cost.
//!
//! The shipped table is `data/prices.toml` (its header says which date the prices
//! reflect); the config's `[prices."MODEL"]` entries override or extend it. Prices are
//! USD per million tokens, which is micro-dollars per token; they are held as integer
//! pico-dollars per token so that a cost is summed exactly and rounded once, to integer
//! micro-dollars.
//!
//! A model is matched by exact name, else by the longest listed name that prefixes it
//! (dated snapshots: `gpt-4o-2024-08-06` → `gpt-4o`, `claude-sonnet-4-5-20250929` →
//! `claude-sonnet-4-5`). An unpriced request costs `None` and is counted
//! ([`Prices::unpriced`]). A price the upstream reported itself (OpenRouter's
//! `usage.cost`) wins over the table ([`Prices::cost_of`]).

use crate::pipeline::context::{Cost, Usage};
use crate::pipeline::usage::TappedUsage;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// The shipped table.
const SHIPPED: &str = include_str!("../../data/prices.toml");

/// `price_version` of a cost the upstream reported.
pub const REPORTED_VERSION: &str = "reported";

/// Highest accepted price, USD per million tokens.
pub const MAX_PRICE: f64 = 1_000_000.0;

/// One model's prices, USD per million tokens (the shipped file's and the config's
/// `[prices."MODEL"]` shape). `cache_read` and `cache_write` default to `input`;
/// `reasoning` defaults to `output`.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelPrice {
    pub input: f64,
    pub output: f64,
    pub cache_read: Option<f64>,
    pub cache_write: Option<f64>,
    pub reasoning: Option<f64>,
}

impl ModelPrice {
    /// Every price must be finite and within `0..=MAX_PRICE`: the name of the first
    /// field that is not.
    pub fn invalid_field(&self) -> Option<&'static str> {
        let ok = |p: f64| p.is_finite() && (0.0..=MAX_PRICE).contains(&p);
        [
            ("input", Some(self.input)),
            ("output", Some(self.output)),
            ("cache_read", self.cache_read),
            ("cache_write", self.cache_write),
            ("reasoning", self.reasoning),
        ]
        .into_iter()
        .find(|(_, p)| p.is_some_and(|p| !ok(p)))
        .map(|(name, _)| name)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Table {
    version: String,
    models: BTreeMap<String, ModelPrice>,
}

/// Pico-dollars per token, per class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Rate {
    input: u64,
    output: u64,
    cache_read: u64,
    cache_write: u64,
    reasoning: u64,
}

impl Rate {
    fn new(p: &ModelPrice) -> Self {
        // USD per million tokens = micro-dollars per token; × 10⁶ = pico-dollars.
        // Validated prices are finite and at most `MAX_PRICE`, so this fits.
        let pico = |usd: f64| (usd * 1e6).round().max(0.0) as u64;
        Self {
            input: pico(p.input),
            output: pico(p.output),
            cache_read: pico(p.cache_read.unwrap_or(p.input)),
            cache_write: pico(p.cache_write.unwrap_or(p.input)),
            reasoning: pico(p.reasoning.unwrap_or(p.output)),
        }
    }

    fn micro_usd(&self, u: &Usage) -> i64 {
        let reasoning = u.reasoning.min(u.output);
        let pico = u128::from(u.input) * u128::from(self.input)
            + u128::from(u.cache_read) * u128::from(self.cache_read)
            + u128::from(u.cache_write) * u128::from(self.cache_write)
            + u128::from(u.output - reasoning) * u128::from(self.output)
            + u128::from(reasoning) * u128::from(self.reasoning);
        i64::try_from((pico + 500_000) / 1_000_000).unwrap_or(i64::MAX)
    }
}

/// The price table in use (see the module docs).
#[derive(Debug)]
pub struct Prices {
    version: Arc<str>,
    /// Longest name first, so the first match is the exact name or the longest prefix.
    models: Vec<(Box<str>, Rate)>,
    unpriced: AtomicU64,
}

impl Prices {
    /// The shipped table alone.
    pub fn shipped() -> Self {
        Self::with_overrides(&BTreeMap::new())
    }

    /// The shipped table with the config's entries (validated by the config) added or
    /// replacing shipped ones. The version gets a `+config` suffix when there are any.
    pub fn with_overrides(overrides: &BTreeMap<String, ModelPrice>) -> Self {
        let (version, mut table) = match toml::from_str::<Table>(SHIPPED) {
            Ok(t) => (t.version, t.models),
            Err(error) => {
                // Unreachable with the shipped file (a unit test parses it).
                tracing::error!(%error, "the shipped price table does not parse");
                ("none".to_owned(), BTreeMap::new())
            }
        };
        table.extend(overrides.iter().map(|(m, p)| (m.clone(), *p)));
        let version = if overrides.is_empty() {
            version
        } else {
            format!("{version}+config")
        };
        let mut models: Vec<(Box<str>, Rate)> = table
            .iter()
            .map(|(model, price)| (model.as_str().into(), Rate::new(price)))
            .collect();
        models.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then_with(|| a.0.cmp(&b.0)));
        Self {
            version: version.into(),
            models,
            unpriced: AtomicU64::new(0),
        }
    }

    pub fn version(&self) -> &str {
        &self.version
    }

    /// What `usage` on `model` cost by the table; `None` (and counted) when the model is
    /// not priced.
    pub fn cost(&self, model: &str, usage: &Usage) -> Option<Cost> {
        let Some((_, rate)) = self
            .models
            .iter()
            .find(|(name, _)| model.starts_with(&**name))
        else {
            self.unpriced.fetch_add(1, Ordering::Relaxed);
            return None;
        };
        Some(Cost {
            micro_usd: rate.micro_usd(usage),
            price_version: self.version.clone(),
        })
    }

    /// A request's cost: the upstream's reported price when it gave one, else the
    /// table's price for `model` (`None` without a model).
    pub fn cost_of(&self, model: Option<&str>, tapped: &TappedUsage) -> Option<Cost> {
        if let Some(usd) = tapped.reported_cost_usd {
            return Some(Cost {
                micro_usd: (usd * 1e6).round() as i64,
                price_version: REPORTED_VERSION.into(),
            });
        }
        match model {
            Some(model) => self.cost(model, &tapped.usage),
            None => {
                self.unpriced.fetch_add(1, Ordering::Relaxed);
                None
            }
        }
    }

    /// Requests whose model had no price (for `switchyard_unpriced_requests_total`).
    pub fn unpriced(&self) -> u64 {
        self.unpriced.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usage(input: u64, cache_read: u64, cache_write: u64, output: u64, reasoning: u64) -> Usage {
        Usage::new(input, cache_read, cache_write, output, reasoning)
    }

    fn micro(prices: &Prices, model: &str, u: Usage) -> Option<i64> {
        prices.cost(model, &u).map(|c| c.micro_usd)
    }

    #[test]
    fn the_shipped_table_parses_and_is_valid() {
        let table: Table = toml::from_str(SHIPPED).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(table.version, "2025-11");
        assert!(table.models.len() >= 25);
        for (model, price) in &table.models {
            assert_eq!(price.invalid_field(), None, "{model}");
        }
        assert_eq!(Prices::shipped().version(), "2025-11");
    }

    #[test]
    fn costs_are_exact_micro_dollars() {
        let p = Prices::shipped();
        // gpt-4o: 1000 × 2.50 + 2000 × 1.25 + 500 × 10.00 = 2500 + 2500 + 5000.
        assert_eq!(
            micro(&p, "gpt-4o", usage(1000, 2000, 0, 500, 0)),
            Some(10_000)
        );
        // claude-sonnet-4-5: 12 × 3 + 800 × 0.30 + 100 × 3.75 + 87 × 15 = 36 + 240 + 375 + 1305.
        assert_eq!(
            micro(&p, "claude-sonnet-4-5-20250929", usage(12, 800, 100, 87, 0)),
            Some(1956)
        );
        // gpt-5-nano: 3 × 0.05 + 7 × 0.005 + 1 × 0.40 = 0.15 + 0.035 + 0.40 = 0.585 → 1.
        assert_eq!(micro(&p, "gpt-5-nano", usage(3, 7, 0, 1, 0)), Some(1));
        // Rounded once at the end: 4 × 0.10 = 0.4 → 0, not four roundings of 0.1.
        assert_eq!(micro(&p, "gpt-4.1-nano", usage(4, 0, 0, 0, 0)), Some(0));
        // gemini-2.5-flash with thoughts (billed as output): 20 × 0.30 + 100 × 0.03 + 38 × 2.50.
        assert_eq!(
            micro(&p, "gemini-2.5-flash", usage(20, 100, 0, 38, 30)),
            Some(104)
        );
        // A million output tokens of o3 is 8 USD.
        assert_eq!(
            micro(&p, "o3", usage(0, 0, 0, 1_000_000, 0)),
            Some(8_000_000)
        );
    }

    #[test]
    fn models_match_exactly_then_by_the_longest_prefix() {
        let p = Prices::shipped();
        let one_m = usage(1_000_000, 0, 0, 0, 0);
        assert_eq!(micro(&p, "gpt-4o-2024-08-06", one_m), Some(2_500_000));
        assert_eq!(micro(&p, "gpt-4o-2024-05-13", one_m), Some(5_000_000));
        assert_eq!(micro(&p, "gpt-4o-mini-2024-07-18", one_m), Some(150_000));
        assert_eq!(micro(&p, "gpt-4.1-mini-2025-04-14", one_m), Some(400_000));
        assert_eq!(micro(&p, "claude-opus-4-20250514", one_m), Some(15_000_000));
        assert_eq!(
            micro(&p, "claude-opus-4-5-20251101", one_m),
            Some(5_000_000)
        );
        assert_eq!(micro(&p, "claude-3-5-haiku-latest", one_m), Some(800_000));
        assert_eq!(micro(&p, "gemini-2.5-flash-lite", one_m), Some(100_000));
        assert_eq!(
            micro(&p, "gemini-2.5-flash-preview-09-2025", one_m),
            Some(300_000)
        );
        assert_eq!(p.unpriced(), 0);
        assert_eq!(micro(&p, "llama-3-70b", one_m), None);
        assert_eq!(micro(&p, "gpt", one_m), None);
        assert_eq!(p.unpriced(), 2);
    }

    #[test]
    fn overrides_replace_and_extend_with_a_reasoning_price() {
        let mut overrides = BTreeMap::new();
        let price = ModelPrice {
            input: 1.0,
            output: 2.0,
            cache_read: None,
            cache_write: None,
            reasoning: Some(4.0),
        };
        overrides.insert("gpt-4o".to_owned(), price);
        overrides.insert("my-model".to_owned(), price);
        let p = Prices::with_overrides(&overrides);
        assert_eq!(p.version(), "2025-11+config");
        // 10 × 1 + 5 × 1 (cache read = input) + 6 × 1 (cache write = input)
        // + (30 − 20) × 2 + 20 × 4 = 10 + 5 + 6 + 20 + 80.
        let u = usage(10, 5, 6, 30, 20);
        assert_eq!(micro(&p, "gpt-4o-2024-08-06", u), Some(121));
        assert_eq!(micro(&p, "my-model", u), Some(121));
        let cost = p.cost("my-model", &u);
        assert_eq!(cost.map(|c| c.price_version), Some("2025-11+config".into()));
        // Untouched shipped entries stay.
        assert_eq!(micro(&p, "gpt-4o-mini", usage(0, 0, 0, 1000, 0)), Some(600));
    }

    #[test]
    fn a_reported_cost_wins() {
        let p = Prices::shipped();
        let tapped = TappedUsage {
            usage: usage(1000, 0, 0, 0, 0),
            reported_cost_usd: Some(0.001_234_6),
            partial: false,
        };
        assert_eq!(
            p.cost_of(Some("gpt-4o"), &tapped),
            Some(Cost {
                micro_usd: 1235,
                price_version: REPORTED_VERSION.into()
            })
        );
        let table = TappedUsage {
            reported_cost_usd: None,
            ..tapped
        };
        assert_eq!(
            p.cost_of(Some("gpt-4o"), &table).map(|c| c.micro_usd),
            Some(2500)
        );
        assert_eq!(p.cost_of(None, &table), None);
        assert_eq!(p.unpriced(), 1);
    }

    #[test]
    fn invalid_prices_are_named() {
        let mut price = ModelPrice {
            input: 1.0,
            output: 1.0,
            cache_read: Some(-0.1),
            cache_write: None,
            reasoning: None,
        };
        assert_eq!(price.invalid_field(), Some("cache_read"));
        price.cache_read = None;
        price.output = f64::NAN;
        assert_eq!(price.invalid_field(), Some("output"));
        price.output = f64::INFINITY;
        assert_eq!(price.invalid_field(), Some("output"));
        price.output = 1.0;
        assert_eq!(price.invalid_field(), None);
    }
}
