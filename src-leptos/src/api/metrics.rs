//! Reads the Prometheus text of `/api/metrics` into the few numbers the overview shows.
//! Only the exposition lines the gateway writes are understood: `name{labels} value`
//! and `name value`; comments and anything unparsable are skipped.

/// The gateway's counters at one moment.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Snapshot {
    /// Proxied requests, all protocols and statuses.
    pub requests: f64,
    pub client_errors: f64,
    pub server_errors: f64,
    /// `(protocol, requests)`.
    pub by_protocol: Vec<(String, f64)>,
    /// `(result, attempts)` of upstream attempts.
    pub attempts: Vec<(String, f64)>,
    pub stream_errors: f64,
    pub inflight: f64,
    pub accounts: f64,
    pub accounts_enabled: f64,
    pub client_keys: f64,
    pub overhead: Histogram,
}

/// A cumulative histogram: `(upper bound in seconds, count at or below)`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Histogram {
    pub buckets: Vec<(f64, f64)>,
    pub sum: f64,
    pub count: f64,
}

impl Histogram {
    /// Mean in seconds, when anything was observed.
    pub fn mean(&self) -> Option<f64> {
        (self.count > 0.0).then(|| self.sum / self.count)
    }

    /// Upper bound (seconds) of the bucket holding quantile `q`; `None` when empty or
    /// when it falls in the `+Inf` bucket.
    pub fn quantile_bound(&self, q: f64) -> Option<f64> {
        if self.count <= 0.0 {
            return None;
        }
        let rank = q * self.count;
        self.buckets
            .iter()
            .find(|(_, cumulative)| *cumulative >= rank)
            .map(|(le, _)| *le)
            .filter(|le| le.is_finite())
    }
}

struct Line<'a> {
    name: &'a str,
    labels: Vec<(&'a str, &'a str)>,
    value: f64,
}

fn parse_line(line: &str) -> Option<Line<'_>> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let (series, value) = line.rsplit_once(' ')?;
    let value = match value {
        "+Inf" => f64::INFINITY,
        v => v.parse().ok()?,
    };
    let (name, labels) = match series.split_once('{') {
        Some((name, rest)) => (name, parse_labels(rest.strip_suffix('}')?)?),
        None => (series, Vec::new()),
    };
    Some(Line {
        name,
        labels,
        value,
    })
}

/// `a="x",b="y"` (values hold no quotes or commas in the gateway's output).
fn parse_labels(text: &str) -> Option<Vec<(&str, &str)>> {
    text.split(',')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=')?;
            Some((k, v.strip_prefix('"')?.strip_suffix('"')?))
        })
        .collect()
}

fn label<'a>(line: &Line<'a>, key: &str) -> &'a str {
    line.labels
        .iter()
        .find(|(k, _)| *k == key)
        .map_or("", |(_, v)| v)
}

fn add(list: &mut Vec<(String, f64)>, key: &str, value: f64) {
    match list.iter_mut().find(|(k, _)| k == key) {
        Some((_, v)) => *v += value,
        None => list.push((key.to_owned(), value)),
    }
}

/// Parses the exposition text.
pub fn parse(text: &str) -> Snapshot {
    let mut s = Snapshot::default();
    for line in text.lines().filter_map(parse_line) {
        match line.name {
            "switchyard_requests_total" => {
                s.requests += line.value;
                match label(&line, "status") {
                    "4xx" => s.client_errors += line.value,
                    "5xx" => s.server_errors += line.value,
                    _ => {}
                }
                add(&mut s.by_protocol, label(&line, "protocol"), line.value);
            }
            "switchyard_upstream_attempts_total" => {
                add(&mut s.attempts, label(&line, "result"), line.value);
            }
            "switchyard_stream_errors_total" => s.stream_errors = line.value,
            "switchyard_inflight_requests" => s.inflight = line.value,
            "switchyard_accounts" => s.accounts = line.value,
            "switchyard_accounts_enabled" => s.accounts_enabled = line.value,
            "switchyard_client_keys" => s.client_keys = line.value,
            "switchyard_overhead_seconds_bucket" => {
                let le = match label(&line, "le") {
                    "+Inf" => Some(f64::INFINITY),
                    v => v.parse().ok(),
                };
                if let Some(le) = le {
                    s.overhead.buckets.push((le, line.value));
                }
            }
            "switchyard_overhead_seconds_sum" => s.overhead.sum = line.value,
            "switchyard_overhead_seconds_count" => s.overhead.count = line.value,
            _ => {}
        }
    }
    s
}

/// Per-minute rate of a counter between two samples taken `elapsed_ms` apart. A counter
/// that went down (the gateway restarted) yields `None`.
pub fn per_minute(before: f64, after: f64, elapsed_ms: f64) -> Option<f64> {
    (elapsed_ms > 0.0 && after >= before).then(|| (after - before) * 60_000.0 / elapsed_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = r#"# HELP switchyard_requests_total Proxied requests.
# TYPE switchyard_requests_total counter
switchyard_requests_total{protocol="openai",status="2xx"} 7
switchyard_requests_total{protocol="openai",status="4xx"} 2
switchyard_requests_total{protocol="gemini",status="5xx"} 1
switchyard_upstream_attempts_total{result="relayed"} 8
switchyard_upstream_attempts_total{result="rate_limited"} 3
switchyard_stream_errors_total 0
switchyard_overhead_seconds_bucket{le="0.000025"} 1
switchyard_overhead_seconds_bucket{le="0.00005"} 6
switchyard_overhead_seconds_bucket{le="0.0001"} 10
switchyard_overhead_seconds_bucket{le="+Inf"} 10
switchyard_overhead_seconds_sum 0.0005
switchyard_overhead_seconds_count 10
# TYPE switchyard_accounts gauge
switchyard_accounts 3
switchyard_accounts_enabled 2
switchyard_inflight_requests 1
switchyard_client_keys 4
"#;

    #[test]
    fn reads_the_gateway_exposition() {
        let s = parse(TEXT);
        assert_eq!(s.requests, 10.0);
        assert_eq!(s.client_errors, 2.0);
        assert_eq!(s.server_errors, 1.0);
        assert_eq!(
            s.by_protocol,
            vec![("openai".to_owned(), 9.0), ("gemini".to_owned(), 1.0)]
        );
        assert_eq!(s.attempts[1], ("rate_limited".to_owned(), 3.0));
        assert_eq!(
            (s.accounts, s.accounts_enabled, s.inflight, s.client_keys),
            (3.0, 2.0, 1.0, 4.0)
        );
        assert_eq!(s.overhead.count, 10.0);
        assert_eq!(s.overhead.mean(), Some(0.00005));
        assert_eq!(s.overhead.quantile_bound(0.5), Some(0.00005));
        assert_eq!(s.overhead.quantile_bound(0.99), Some(0.0001));
    }

    #[test]
    fn skips_garbage_and_handles_empty_histograms() {
        let s = parse("nonsense\nswitchyard_accounts{broken 3\nswitchyard_accounts 2\n");
        assert_eq!(s.accounts, 2.0);
        assert_eq!(s.overhead.quantile_bound(0.5), None);
        assert_eq!(s.overhead.mean(), None);
    }

    #[test]
    fn rates_per_minute() {
        assert_eq!(per_minute(10.0, 20.0, 30_000.0), Some(20.0));
        assert_eq!(per_minute(20.0, 10.0, 30_000.0), None);
    }
}
