//! Tokens and cost by model × provider: the label set is open (clients name models), so
//! the first [`MAX_MODELS`] models get their own series and later ones share `other`.
//! Handles are cached in a copy-on-write map: a request does one `ArcSwap` load and one
//! hash lookup; only a model's first request takes the lock and copies the map.

use super::{PROVIDERS, TOKEN_KINDS, provider_index, registered};
use arc_swap::ArcSwap;
use prometheus::{Counter, CounterVec, IntCounter, IntCounterVec, Opts, Registry};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use switchyard_types::Provider;

/// Distinct model labels before the rest are counted as `other`.
pub const MAX_MODELS: usize = 100;

/// The label of the models past [`MAX_MODELS`].
const OTHER: &str = "other";

/// The provider label when no attempt was made.
const NO_PROVIDER: &str = "none";

/// One model × provider's handles.
pub struct Handles {
    pub tokens: [IntCounter; 5],
    pub cost: Counter,
}

/// Per model: a slot per provider, plus one for "no provider".
type Slots = [Option<Arc<Handles>>; PROVIDERS.len() + 1];

pub struct ModelSeries {
    tokens: IntCounterVec,
    cost: CounterVec,
    cache: ArcSwap<HashMap<Box<str>, Slots>>,
    adding: Mutex<()>,
}

impl ModelSeries {
    pub fn new(registry: &Registry) -> prometheus::Result<Self> {
        Ok(Self {
            tokens: registered(
                registry,
                IntCounterVec::new(
                    Opts::new(
                        "switchyard_tokens_total",
                        "Tokens of answered requests by class, model and provider (input excludes cache reads and writes; reasoning is part of output).",
                    ),
                    &["kind", "model", "provider"],
                )?,
            )?,
            cost: registered(
                registry,
                CounterVec::new(
                    Opts::new(
                        "switchyard_cost_usd_total",
                        "Cost of answered requests in USD by model and provider (priced models only).",
                    ),
                    &["model", "provider"],
                )?,
            )?,
            cache: ArcSwap::from_pointee(HashMap::new()),
            adding: Mutex::new(()),
        })
    }

    /// The handles for `model` served by `provider`.
    pub fn get(&self, model: &str, provider: Option<Provider>) -> Arc<Handles> {
        let slot = provider.map_or(PROVIDERS.len(), provider_index);
        {
            let cache = self.cache.load();
            let key = if cache.contains_key(model) || cache.len() < MAX_MODELS {
                model
            } else {
                OTHER
            };
            if let Some(handles) = cache
                .get(key)
                .and_then(|s| s.get(slot))
                .and_then(Option::as_ref)
            {
                return Arc::clone(handles);
            }
        }
        self.add(model, provider, slot)
    }

    fn add(&self, model: &str, provider: Option<Provider>, slot: usize) -> Arc<Handles> {
        let _adding = self.adding.lock().unwrap_or_else(PoisonError::into_inner);
        let cache = self.cache.load_full();
        let label = if cache.contains_key(model) || cache.len() < MAX_MODELS {
            model
        } else {
            OTHER
        };
        if let Some(handles) = cache
            .get(label)
            .and_then(|s| s.get(slot))
            .and_then(Option::as_ref)
        {
            return Arc::clone(handles);
        }
        let provider_label = provider.map_or(NO_PROVIDER, Provider::as_str);
        let handles = Arc::new(Handles {
            tokens: TOKEN_KINDS.map(|kind| {
                self.tokens
                    .with_label_values(&[kind, label, provider_label])
            }),
            cost: self.cost.with_label_values(&[label, provider_label]),
        });
        let mut next = HashMap::clone(&cache);
        let slots = next.entry(label.into()).or_default();
        if let Some(s) = slots.get_mut(slot) {
            *s = Some(Arc::clone(&handles));
        }
        self.cache.store(Arc::new(next));
        handles
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn models_past_the_cap_share_other() {
        let registry = Registry::new();
        let series = ModelSeries::new(&registry).unwrap();
        for i in 0..MAX_MODELS {
            series.get(&format!("m{i}"), Some(Provider::OpenAi)).tokens[0].inc();
        }
        series.get("late-1", Some(Provider::OpenAi)).tokens[0].inc();
        series.get("late-2", Some(Provider::OpenAi)).tokens[0].inc_by(2);
        // A model seen before the cap keeps its own series.
        series.get("m0", Some(Provider::Anthropic)).tokens[0].inc();
        let other = series.get("late-3", Some(Provider::OpenAi));
        assert_eq!(other.tokens[0].get(), 3);
        assert_eq!(series.get("m0", Some(Provider::OpenAi)).tokens[0].get(), 1);
        assert_eq!(
            series.get("m0", Some(Provider::Anthropic)).tokens[0].get(),
            1
        );
        assert_eq!(series.get("m0", None).tokens[0].get(), 0);
    }
}
