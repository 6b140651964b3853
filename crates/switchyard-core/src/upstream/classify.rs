//! What an upstream's headers say about waiting: `Retry-After`, rate-limit windows.
//! The outcome classifier itself is [`crate::pipeline::outcome`].

use http::HeaderMap;
use std::time::Duration;

/// `retry-after-ms`, else `retry-after` in seconds (fractions allowed). HTTP-date values
/// are not honoured (providers send seconds); capped at one day.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let parse = |name: &str| -> Option<f64> {
        headers
            .get(name)?
            .to_str()
            .ok()?
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite() && *v >= 0.0)
    };
    let secs = parse("retry-after-ms")
        .map(|ms| ms / 1000.0)
        .or_else(|| parse("retry-after"))?;
    Some(Duration::from_secs_f64(secs.min(86_400.0)))
}

/// The request window from rate-limit headers: OpenAI `x-ratelimit-*-requests` (reset
/// as a Go duration like `6m0s`), Anthropic `anthropic-ratelimit-requests-*` (reset is an
/// RFC 3339 time; we assume the usual one-minute window instead of parsing dates).
pub fn rate_limit_hint(headers: &HeaderMap) -> Option<crate::pool::RateLimitHint> {
    if !carries_rate_limits(headers) {
        return None;
    }
    let num = |name: &str| headers.get(name)?.to_str().ok()?.trim().parse::<u64>().ok();
    if let (Some(remaining), Some(limit)) = (
        num("x-ratelimit-remaining-requests"),
        num("x-ratelimit-limit-requests"),
    ) {
        let reset_in = headers
            .get("x-ratelimit-reset-requests")
            .and_then(|v| v.to_str().ok())
            .and_then(go_duration)
            .unwrap_or(Duration::from_secs(60));
        return Some(crate::pool::RateLimitHint {
            remaining,
            limit,
            reset_in,
        });
    }
    let remaining = num("anthropic-ratelimit-requests-remaining")?;
    let limit = num("anthropic-ratelimit-requests-limit")?;
    Some(crate::pool::RateLimitHint {
        remaining,
        limit,
        reset_in: Duration::from_secs(60),
    })
}

/// Whether `headers` carry OpenAI's or Anthropic's rate-limit headers: one pass over the
/// (few) names, where looking each known name up parses and hashes it first.
pub fn carries_rate_limits(headers: &HeaderMap) -> bool {
    headers.keys().any(|name| {
        let name = name.as_str();
        name.starts_with("x-ratelimit-") || name.starts_with("anthropic-ratelimit-")
    })
}

/// A Go-style duration: `1h2m3.5s`, `12ms`, `6m0s`.
pub fn go_duration(text: &str) -> Option<Duration> {
    let mut total = 0.0f64;
    let mut rest = text.trim();
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
        let value: f64 = rest[..end].parse().ok()?;
        rest = &rest[end..];
        let (unit, len) = if rest.starts_with("ms") {
            (0.001, 2)
        } else if rest.starts_with('h') {
            (3600.0, 1)
        } else if rest.starts_with('m') {
            (60.0, 1)
        } else if rest.starts_with('s') {
            (1.0, 1)
        } else {
            return None;
        };
        total += value * unit;
        rest = &rest[len..];
    }
    (total.is_finite() && total <= 86_400.0).then(|| Duration::from_secs_f64(total))
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    #[test]
    fn go_durations_and_hints() {
        assert_eq!(go_duration("6m0s"), Some(Duration::from_secs(360)));
        assert_eq!(go_duration("12ms"), Some(Duration::from_millis(12)));
        assert_eq!(
            go_duration("1h2m3.5s"),
            Some(Duration::from_secs_f64(3723.5))
        );
        assert_eq!(go_duration("soon"), None);
        assert_eq!(go_duration(""), None);
        let mut h = HeaderMap::new();
        h.insert(
            "x-ratelimit-remaining-requests",
            HeaderValue::from_static("3"),
        );
        h.insert(
            "x-ratelimit-limit-requests",
            HeaderValue::from_static("500"),
        );
        h.insert("x-ratelimit-reset-requests", HeaderValue::from_static("1s"));
        let hint = rate_limit_hint(&h).unwrap();
        assert_eq!(
            (hint.remaining, hint.limit, hint.reset_in),
            (3, 500, Duration::from_secs(1))
        );
        assert!(rate_limit_hint(&HeaderMap::new()).is_none());
    }

    #[test]
    fn retry_after_forms() {
        let mut h = HeaderMap::new();
        h.insert("retry-after", HeaderValue::from_static("2"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(2)));
        h.insert("retry-after-ms", HeaderValue::from_static("1500"));
        assert_eq!(retry_after(&h), Some(Duration::from_millis(1500)));
        let mut h = HeaderMap::new();
        h.insert(
            "retry-after",
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(retry_after(&h), None);
    }
}
