//! Prometheus counters, kept as plain atomics: recording costs one relaxed add and never
//! allocates or locks. Labels are small closed sets.

use std::fmt::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use switchyard_core::pipeline::context::{BodyEnd, Finisher, RequestContext};
use switchyard_core::pipeline::outcome::Outcome;
use switchyard_types::Protocol;

const PROTOCOLS: [Protocol; 3] = [Protocol::OpenAi, Protocol::Anthropic, Protocol::Gemini];
const CLASSES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];

const TOKEN_KINDS: [&str; 5] = ["input", "cache_read", "cache_write", "output", "reasoning"];

const FINISHED: [&str; 4] = ["complete", "upstream_failed", "cancelled", "refused"];

impl Finisher for Metrics {
    fn finish(&self, context: RequestContext) {
        self.observe(&context);
    }
}

impl Metrics {
    /// Count a finished request (and log it at debug level).
    pub fn observe(&self, context: &RequestContext) {
        let i = match context.end {
            Some(BodyEnd::Complete) => 0,
            Some(BodyEnd::UpstreamFailed) => 1,
            Some(BodyEnd::Cancelled) => 2,
            None => 3,
        };
        self.finished[i].fetch_add(1, Ordering::Relaxed);
        self.request(context.protocol_in, context.status);
        if let Some(u) = context.usage {
            let classes = [u.input, u.cache_read, u.cache_write, u.output, u.reasoning];
            for (total, n) in self.tokens.iter().zip(classes) {
                total.fetch_add(n, Ordering::Relaxed);
            }
        }
        if let Some(cost) = &context.cost {
            let micro = u64::try_from(cost.micro_usd).unwrap_or(0);
            self.cost_micro_usd.fetch_add(micro, Ordering::Relaxed);
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
            end = FINISHED[i],
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
}

/// Upper bounds (µs) of the overhead histogram's buckets; the last bucket is +Inf.
const OVERHEAD_BUCKETS_US: [u64; 10] = [25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 50_000];

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

/// The gateway's counters.
#[derive(Debug, Default)]
pub struct Metrics {
    requests: [[AtomicU64; 5]; 3],
    attempts: [AtomicU64; Outcome::ALL.len()],
    /// Finished requests by how their body ended: complete, upstream_failed, cancelled,
    /// and refused (an error answered by the gateway).
    finished: [AtomicU64; 4],
    /// Tokens by class: input (cache excluded), cache_read, cache_write, output, reasoning.
    tokens: [AtomicU64; 5],
    cost_micro_usd: AtomicU64,
    stream_errors: AtomicU64,
    /// Per bucket (non-cumulative), plus +Inf at the end.
    overhead: [AtomicU64; 11],
    overhead_sum_us: AtomicU64,
}

fn protocol_index(p: Protocol) -> usize {
    match p {
        Protocol::OpenAi => 0,
        Protocol::Anthropic => 1,
        Protocol::Gemini => 2,
    }
}

impl Metrics {
    /// A request answered with `status` (proxied ones are counted when they finish).
    pub fn request(&self, protocol: Protocol, status: u16) {
        let class = usize::from(status / 100).clamp(1, 5) - 1;
        self.requests[protocol_index(protocol)][class].fetch_add(1, Ordering::Relaxed);
    }

    pub fn attempt(&self, outcome: Outcome) {
        self.attempts[outcome.index()].fetch_add(1, Ordering::Relaxed);
    }

    /// Time spent in the gateway for one request, upstream waiting excluded.
    pub fn overhead(&self, us: u64) {
        let i = OVERHEAD_BUCKETS_US
            .iter()
            .position(|b| us <= *b)
            .unwrap_or(OVERHEAD_BUCKETS_US.len());
        self.overhead[i].fetch_add(1, Ordering::Relaxed);
        self.overhead_sum_us.fetch_add(us, Ordering::Relaxed);
    }

    pub fn stream_error(&self) {
        self.stream_errors.fetch_add(1, Ordering::Relaxed);
    }

    /// Prometheus text exposition. `gauges` are appended as-is (name, help, value).
    pub fn render(&self, gauges: &[(&str, &str, u64)]) -> String {
        let mut out = String::with_capacity(2048);
        out.push_str("# HELP switchyard_requests_total Proxied requests by client protocol and status class.\n");
        out.push_str("# TYPE switchyard_requests_total counter\n");
        for (pi, p) in PROTOCOLS.iter().enumerate() {
            for (ci, c) in CLASSES.iter().enumerate() {
                let v = self.requests[pi][ci].load(Ordering::Relaxed);
                let _ = writeln!(
                    out,
                    "switchyard_requests_total{{protocol=\"{p}\",status=\"{c}\"}} {v}"
                );
            }
        }
        out.push_str("# HELP switchyard_upstream_attempts_total Upstream attempts by result.\n");
        out.push_str("# TYPE switchyard_upstream_attempts_total counter\n");
        for (i, r) in Outcome::ALL.iter().enumerate() {
            let v = self.attempts[i].load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "switchyard_upstream_attempts_total{{result=\"{}\"}} {v}",
                r.label()
            );
        }
        out.push_str("# HELP switchyard_stream_errors_total Upstream bodies that failed after the response started.\n");
        out.push_str("# TYPE switchyard_stream_errors_total counter\n");
        let _ = writeln!(
            out,
            "switchyard_stream_errors_total {}",
            self.stream_errors.load(Ordering::Relaxed)
        );
        out.push_str("# HELP switchyard_tokens_total Tokens of answered requests by class (input excludes cache reads and writes; reasoning is part of output).\n");
        out.push_str("# TYPE switchyard_tokens_total counter\n");
        for (i, kind) in TOKEN_KINDS.iter().enumerate() {
            let v = self.tokens[i].load(Ordering::Relaxed);
            let _ = writeln!(out, "switchyard_tokens_total{{kind=\"{kind}\"}} {v}");
        }
        out.push_str("# HELP switchyard_cost_usd_total Cost of answered requests in USD (priced models only).\n");
        out.push_str("# TYPE switchyard_cost_usd_total counter\n");
        let micro = self.cost_micro_usd.load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "switchyard_cost_usd_total {}.{:06}",
            micro / 1_000_000,
            micro % 1_000_000
        );
        out.push_str("# HELP switchyard_requests_finished_total Proxied requests finished, by how their body ended.\n");
        out.push_str("# TYPE switchyard_requests_finished_total counter\n");
        for (i, end) in FINISHED.iter().enumerate() {
            let v = self.finished[i].load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "switchyard_requests_finished_total{{end=\"{end}\"}} {v}"
            );
        }
        out.push_str("# HELP switchyard_overhead_seconds Time a request spends in the gateway, upstream waiting excluded.\n");
        out.push_str("# TYPE switchyard_overhead_seconds histogram\n");
        let mut cumulative = 0;
        for (i, bound) in OVERHEAD_BUCKETS_US.iter().enumerate() {
            cumulative += self.overhead[i].load(Ordering::Relaxed);
            let le = *bound as f64 / 1e6;
            let _ = writeln!(
                out,
                "switchyard_overhead_seconds_bucket{{le=\"{le}\"}} {cumulative}"
            );
        }
        cumulative += self.overhead[OVERHEAD_BUCKETS_US.len()].load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "switchyard_overhead_seconds_bucket{{le=\"+Inf\"}} {cumulative}"
        );
        let sum = self.overhead_sum_us.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(
            out,
            "switchyard_overhead_seconds_sum {sum}\nswitchyard_overhead_seconds_count {cumulative}"
        );
        for (name, help, value) in gauges {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}"
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stream_observes_first_byte_plus_reencoding_once_committed() {
        let m = Metrics::default();
        StreamOverhead::new().finish(&m, Duration::from_micros(10));
        assert!(
            m.render(&[])
                .contains("switchyard_overhead_seconds_count 0")
        );
        let stream = StreamOverhead::new();
        stream.set_first_byte(40);
        stream.finish(&m, Duration::from_micros(20));
        let text = m.render(&[]);
        assert!(
            text.contains("switchyard_overhead_seconds_bucket{le=\"0.00005\"} 0"),
            "{text}"
        );
        assert!(
            text.contains("switchyard_overhead_seconds_bucket{le=\"0.0001\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("switchyard_overhead_seconds_sum 0.00006"),
            "{text}"
        );
    }

    #[test]
    fn renders_counts() {
        let m = Metrics::default();
        m.request(Protocol::Anthropic, 429);
        m.attempt(Outcome::RateLimited { retry_after: None });
        m.overhead(40);
        m.overhead(1_000_000);
        let text = m.render(&[("switchyard_accounts", "Accounts.", 3)]);
        assert!(
            text.contains("switchyard_overhead_seconds_bucket{le=\"0.00005\"} 1"),
            "{text}"
        );
        assert!(text.contains("switchyard_overhead_seconds_bucket{le=\"+Inf\"} 2"));
        assert!(text.contains("switchyard_overhead_seconds_count 2"));
        assert!(
            text.contains("switchyard_requests_total{protocol=\"anthropic\",status=\"4xx\"} 1")
        );
        assert!(text.contains("switchyard_upstream_attempts_total{result=\"rate_limited\"} 1"));
        assert!(text.contains("switchyard_accounts 3"));
    }

    #[test]
    fn finished_requests_add_their_tokens_and_cost() {
        use switchyard_core::pipeline::context::{Cost, Usage};
        let m = Metrics::default();
        for _ in 0..2 {
            let mut c = RequestContext::new("r".into(), Protocol::OpenAi);
            c.usage = Some(Usage::new(10, 5, 1, 7, 3));
            c.cost = Some(Cost {
                micro_usd: 1_250_001,
                price_version: "v".into(),
            });
            c.end = Some(BodyEnd::Complete);
            m.observe(&c);
        }
        m.observe(&RequestContext::new("unpriced".into(), Protocol::Gemini));
        let text = m.render(&[]);
        for line in [
            "switchyard_tokens_total{kind=\"input\"} 20",
            "switchyard_tokens_total{kind=\"cache_read\"} 10",
            "switchyard_tokens_total{kind=\"cache_write\"} 2",
            "switchyard_tokens_total{kind=\"output\"} 14",
            "switchyard_tokens_total{kind=\"reasoning\"} 6",
            "switchyard_cost_usd_total 2.500002",
            "switchyard_requests_finished_total{end=\"complete\"} 2",
            "switchyard_requests_finished_total{end=\"refused\"} 1",
        ] {
            assert!(text.contains(line), "{line} in\n{text}");
        }
    }
}
