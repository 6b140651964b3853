//! Prometheus metrics, through the `prometheus` crate: one registry, and every series the
//! hot path touches resolved to its handle once (at start, or the first time a model is
//! seen), so recording a request is a few atomic adds, no label lookup.
//!
//! - Per request, at the finish ([`Metrics::observe`]): requests by client protocol and
//!   status class, end-to-end latency and time to first byte by protocol, how the body
//!   ended, tokens by class × model × provider, cost by model × provider.
//! - Per attempt ([`Metrics::attempt`]): upstream attempts by outcome × provider.
//! - The gateway's own overhead histogram ([`Metrics::overhead`], [`StreamOverhead`]).
//! - At scrape time ([`Metrics::render`], [`scrape`]): pool gauges per account (in
//!   flight, AIMD limit, circuit state, locked out, forbidden), totals, the request
//!   log's queue and drops, unpriced requests.
//!
//! Labels stay low-cardinality: no client key ids; models are the first
//! [`models::MAX_MODELS`] seen, then `other`; accounts are the operator's own list.

mod models;
pub mod scrape;

use scrape::Scraped;

use models::ModelSeries;
use prometheus::{
    Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, Opts, Registry,
};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use switchyard_core::pipeline::context::{BodyEnd, Finisher, RequestContext};
use switchyard_core::pipeline::outcome::Outcome;
use switchyard_types::{Protocol, Provider};

const PROTOCOLS: [Protocol; 4] = [
    Protocol::OpenAi,
    Protocol::Anthropic,
    Protocol::Gemini,
    Protocol::Responses,
];

const PROVIDERS: [Provider; 5] = [
    Provider::OpenAi,
    Provider::Anthropic,
    Provider::Gemini,
    Provider::OpenRouter,
    Provider::OpenAiCompatible,
];

const CLASSES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];

const TOKEN_KINDS: [&str; 5] = ["input", "cache_read", "cache_write", "output", "reasoning"];

const FINISHED: [&str; 5] = [
    "complete",
    "upstream_failed",
    "cancelled",
    "refused",
    "drain_deadline",
];

/// Upper bounds (µs) of the overhead histogram's buckets.
const OVERHEAD_BUCKETS_US: [u64; 10] = [25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 50_000];

/// End-to-end latency buckets, seconds: LLM answers take from milliseconds (errors,
/// cached) to minutes (long generations).
const LATENCY_BUCKETS: [f64; 13] = [
    0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0,
];

/// Time-to-first-byte buckets, seconds.
const TTFB_BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

const fn protocol_index(p: Protocol) -> usize {
    match p {
        Protocol::OpenAi => 0,
        Protocol::Anthropic => 1,
        Protocol::Gemini => 2,
        Protocol::Responses => 3,
    }
}

const fn provider_index(p: Provider) -> usize {
    match p {
        Provider::OpenAi => 0,
        Provider::Anthropic => 1,
        Provider::Gemini => 2,
        Provider::OpenRouter => 3,
        Provider::OpenAiCompatible => 4,
    }
}

const fn finished_index(end: Option<BodyEnd>) -> usize {
    match end {
        Some(BodyEnd::Complete) => 0,
        Some(BodyEnd::UpstreamFailed) => 1,
        Some(BodyEnd::Cancelled) => 2,
        None => 3,
        Some(BodyEnd::Drained) => 4,
    }
}

/// The gateway's metrics (see the module docs).
pub struct Metrics {
    registry: Registry,
    /// By protocol, then status class.
    requests: Vec<[IntCounter; 5]>,
    /// End-to-end latency by protocol.
    latency: Vec<Histogram>,
    /// Time to first byte by protocol.
    ttfb: Vec<Histogram>,
    /// By outcome ([`Outcome::index`]), then provider.
    attempts: Vec<[IntCounter; 5]>,
    finished: Vec<IntCounter>,
    stream_errors: IntCounter,
    overhead: Histogram,
    models: ModelSeries,
    scraped: Scraped,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Finisher for Metrics {
    fn finish(&self, context: RequestContext) {
        self.observe(&context);
    }
}

/// Register `collector` and hand it back.
fn registered<C: prometheus::core::Collector + Clone + 'static>(
    registry: &Registry,
    collector: C,
) -> prometheus::Result<C> {
    registry.register(Box::new(collector.clone()))?;
    Ok(collector)
}

fn five<T>(mut f: impl FnMut(usize) -> prometheus::Result<T>) -> prometheus::Result<[T; 5]> {
    Ok([f(0)?, f(1)?, f(2)?, f(3)?, f(4)?])
}

impl Metrics {
    pub fn new() -> prometheus::Result<Self> {
        let registry = Registry::new();
        let requests = registered(
            &registry,
            IntCounterVec::new(
                Opts::new(
                    "switchyard_requests_total",
                    "Proxied requests by client protocol and status class.",
                ),
                &["protocol", "status"],
            )?,
        )?;
        let latency = registered(
            &registry,
            HistogramVec::new(
                HistogramOpts::new(
                    "switchyard_request_duration_seconds",
                    "End-to-end time of proxied requests, from the request to the end of the answer, by client protocol.",
                )
                .buckets(LATENCY_BUCKETS.to_vec()),
                &["protocol"],
            )?,
        )?;
        let ttfb = registered(
            &registry,
            HistogramVec::new(
                HistogramOpts::new(
                    "switchyard_ttfb_seconds",
                    "Time to the first byte of a successful answer's body (the first token of a stream), by client protocol.",
                )
                .buckets(TTFB_BUCKETS.to_vec()),
                &["protocol"],
            )?,
        )?;
        let attempts = registered(
            &registry,
            IntCounterVec::new(
                Opts::new(
                    "switchyard_upstream_attempts_total",
                    "Upstream attempts by result and provider.",
                ),
                &["result", "provider"],
            )?,
        )?;
        let finished = registered(
            &registry,
            IntCounterVec::new(
                Opts::new(
                    "switchyard_requests_finished_total",
                    "Proxied requests finished, by how their body ended.",
                ),
                &["end"],
            )?,
        )?;
        let stream_errors = registered(
            &registry,
            IntCounter::new(
                "switchyard_stream_errors_total",
                "Upstream bodies that failed after the response started.",
            )?,
        )?;
        let overhead = registered(
            &registry,
            Histogram::with_opts(
                HistogramOpts::new(
                    "switchyard_overhead_seconds",
                    "Time a request spends in the gateway, upstream waiting excluded.",
                )
                .buckets(
                    OVERHEAD_BUCKETS_US
                        .iter()
                        .map(|us| *us as f64 / 1e6)
                        .collect(),
                ),
            )?,
        )?;
        let models = ModelSeries::new(&registry)?;
        let scraped = Scraped::new(&registry)?;
        Ok(Self {
            requests: PROTOCOLS
                .iter()
                .map(|p| five(|c| Ok(requests.with_label_values(&[p.as_str(), CLASSES[c]]))))
                .collect::<prometheus::Result<_>>()?,
            latency: PROTOCOLS
                .iter()
                .map(|p| latency.with_label_values(&[p.as_str()]))
                .collect(),
            ttfb: PROTOCOLS
                .iter()
                .map(|p| ttfb.with_label_values(&[p.as_str()]))
                .collect(),
            attempts: Outcome::ALL
                .iter()
                .map(|o| {
                    five(|p| Ok(attempts.with_label_values(&[o.label(), PROVIDERS[p].as_str()])))
                })
                .collect::<prometheus::Result<_>>()?,
            finished: FINISHED
                .iter()
                .map(|end| finished.with_label_values(&[end]))
                .collect(),
            stream_errors,
            overhead,
            models,
            scraped,
            registry,
        })
    }

    /// Count a finished request (and log it at debug level).
    pub fn observe(&self, context: &RequestContext) {
        let i = finished_index(context.end);
        if let Some(c) = self.finished.get(i) {
            c.inc();
        }
        self.request(context.protocol_in, context.status);
        let p = protocol_index(context.protocol_in);
        if let Some(h) = self.latency.get(p) {
            h.observe(context.started.elapsed().as_secs_f64());
        }
        if let (Some(ttfb), true) = (context.ttfb, (200..300).contains(&context.status))
            && let Some(h) = self.ttfb.get(p)
        {
            h.observe(ttfb.as_secs_f64());
        }
        if context.usage.is_some() || context.cost.is_some() {
            let model = context
                .upstream_model
                .as_deref()
                .or(context.model.as_deref())
                .unwrap_or("");
            let provider = context.attempts.last().map(|a| a.provider);
            let series = self.models.get(model, provider);
            if let Some(u) = context.usage {
                let classes = [u.input, u.cache_read, u.cache_write, u.output, u.reasoning];
                for (total, n) in series.tokens.iter().zip(classes) {
                    total.inc_by(n);
                }
            }
            if let Some(cost) = &context.cost {
                series.cost.inc_by(cost.micro_usd.max(0) as f64 / 1e6);
            }
        }
        tracing::debug!(
            request_id = %context.id,
            protocol_in = %context.protocol_in,
            protocol_out = ?context.protocol_out,
            key = context.key_id.as_deref().unwrap_or(""),
            account = context.account_id().unwrap_or(""),
            attempts = context.attempts.len(),
            status = context.status,
            error = context.error.unwrap_or(""),
            end = FINISHED.get(i).copied().unwrap_or(""),
            ms = context.started.elapsed().as_millis(),
            ttfb_ms = context.ttfb.map(|t| t.as_millis()),
            bytes_in = context.bytes_in,
            bytes_out = context.bytes_out,
            usage = ?context.usage,
            usage_partial = context.usage_partial,
            cost_micro_usd = context.cost.as_ref().map(|c| c.micro_usd),
            "request finished"
        );
    }

    /// A request answered with `status` (proxied ones are counted when they finish).
    pub fn request(&self, protocol: Protocol, status: u16) {
        let class = usize::from(status / 100).clamp(1, 5) - 1;
        if let Some(c) = self
            .requests
            .get(protocol_index(protocol))
            .and_then(|r| r.get(class))
        {
            c.inc();
        }
    }

    /// One upstream attempt's outcome at an account of `provider`.
    pub fn attempt(&self, outcome: Outcome, provider: Provider) {
        if let Some(c) = self
            .attempts
            .get(outcome.index())
            .and_then(|a| a.get(provider_index(provider)))
        {
            c.inc();
        }
    }

    /// Time spent in the gateway for one request, upstream waiting excluded.
    pub fn overhead(&self, us: u64) {
        self.overhead.observe(us as f64 / 1e6);
    }

    pub fn stream_error(&self) {
        self.stream_errors.inc();
    }

    /// Prometheus text exposition, after updating the scrape-time series from `now`.
    pub fn render(&self, now: &scrape::Snapshot<'_>) -> String {
        self.scraped.update(now);
        let mut out = String::with_capacity(16 * 1024);
        if let Err(e) =
            prometheus::TextEncoder::new().encode_utf8(&self.registry.gather(), &mut out)
        {
            tracing::warn!(error = %e, "cannot encode the metrics");
        }
        out
    }
}

/// The overhead of a re-encoded stream, observed once when the stream ends or the client
/// leaves: what the attempt loop measured up to the first byte, plus the time spent
/// decoding and re-encoding the stream's chunks. The attempt loop finds it in the
/// response's extensions.
#[derive(Debug, Clone)]
pub struct StreamOverhead(Arc<AtomicU64>);

impl StreamOverhead {
    /// Not committed yet: a stream dropped before that (a failed attempt) observes nothing.
    const UNSET: u64 = u64::MAX;

    pub fn new() -> Self {
        Self(Arc::new(AtomicU64::new(Self::UNSET)))
    }

    /// The overhead up to the first byte, set when the response is committed.
    pub fn set_first_byte(&self, us: u64) {
        self.0.store(us.min(Self::UNSET - 1), Ordering::Relaxed);
    }

    /// Observe the total; called once, when the stream is dropped.
    pub fn finish(&self, metrics: &Metrics, reencode: Duration) {
        let first = self.0.load(Ordering::Relaxed);
        if first != Self::UNSET {
            let reencode = u64::try_from(reencode.as_micros()).unwrap_or(u64::MAX);
            metrics.overhead(first.saturating_add(reencode));
        }
    }
}

#[cfg(test)]
mod tests;
