//! Quota from rate-limit headers (protocols.md §5.4). Cheap enough for every answer:
//! one header lookup decides whether the family is present at all, and nothing is
//! allocated unless a window is seen for the first time.

use super::{Observation, QuotaBook};
use crate::upstream::go_duration;
use http::HeaderMap;
use switchyard_types::quota::QuotaUnit;

/// One window's headers: (limit, remaining, reset, unit, source).
type Window = (
    &'static str,
    &'static str,
    &'static str,
    QuotaUnit,
    &'static str,
);

/// OpenAI's windows.
const OPENAI: [Window; 2] = [
    (
        "x-ratelimit-limit-requests",
        "x-ratelimit-remaining-requests",
        "x-ratelimit-reset-requests",
        QuotaUnit::Requests,
        "openai-headers:requests",
    ),
    (
        "x-ratelimit-limit-tokens",
        "x-ratelimit-remaining-tokens",
        "x-ratelimit-reset-tokens",
        QuotaUnit::Tokens,
        "openai-headers:tokens",
    ),
];

/// Anthropic's windows.
const ANTHROPIC: [Window; 4] = [
    (
        "anthropic-ratelimit-requests-limit",
        "anthropic-ratelimit-requests-remaining",
        "anthropic-ratelimit-requests-reset",
        QuotaUnit::Requests,
        "anthropic-headers:requests",
    ),
    (
        "anthropic-ratelimit-tokens-limit",
        "anthropic-ratelimit-tokens-remaining",
        "anthropic-ratelimit-tokens-reset",
        QuotaUnit::Tokens,
        "anthropic-headers:tokens",
    ),
    (
        "anthropic-ratelimit-input-tokens-limit",
        "anthropic-ratelimit-input-tokens-remaining",
        "anthropic-ratelimit-input-tokens-reset",
        QuotaUnit::Tokens,
        "anthropic-headers:input-tokens",
    ),
    (
        "anthropic-ratelimit-output-tokens-limit",
        "anthropic-ratelimit-output-tokens-remaining",
        "anthropic-ratelimit-output-tokens-reset",
        QuotaUnit::Tokens,
        "anthropic-headers:output-tokens",
    ),
];

fn number(headers: &HeaderMap, name: &str) -> Option<f64> {
    let v: f64 = headers.get(name)?.to_str().ok()?.trim().parse().ok()?;
    // Azure variants send -1 for "not applicable".
    (v.is_finite() && v >= 0.0).then_some(v)
}

/// [`observe`] at the current time, for an upstream answer: one pass over the header
/// names and nothing else when the answer carries no rate-limit headers.
pub fn observe_answer(book: &QuotaBook, model: &str, headers: &HeaderMap) {
    if crate::upstream::carries_rate_limits(headers) {
        observe(book, model, headers, crate::store::now_unix());
    }
}

/// A window's reset header → unix seconds, given `now`.
type ResetParser = fn(&str, i64) -> Option<i64>;

/// OpenAI: a relative Go duration, rounded up to the second.
fn relative_reset(text: &str, now: i64) -> Option<i64> {
    let d = go_duration(text)?;
    Some(now + i64::try_from(d.as_secs()).unwrap_or(0) + i64::from(d.subsec_nanos() > 0))
}

/// Anthropic: an RFC 3339 time.
fn absolute_reset(text: &str, _now: i64) -> Option<i64> {
    super::time::parse_rfc3339(text)
}

/// Record the rate-limit windows in `headers` (an answer for `model`, at `now` unix s)
/// into `book`. Does nothing (one lookup per family) when there are none.
pub fn observe(book: &QuotaBook, model: &str, headers: &HeaderMap, now: i64) {
    let (windows, reset): (&[Window], ResetParser) =
        if headers.contains_key(OPENAI[0].0) || headers.contains_key(OPENAI[1].0) {
            (&OPENAI, relative_reset)
        } else if headers.contains_key(ANTHROPIC[0].0) || headers.contains_key(ANTHROPIC[1].0) {
            (&ANTHROPIC, absolute_reset)
        } else {
            return;
        };
    let empty = Observation {
        model: None,
        unit: QuotaUnit::Requests,
        source: "",
        limit: None,
        remaining: None,
        used: None,
        resets_at: None,
    };
    let mut seen = [empty; 4];
    let mut count = 0;
    for &(limit, remaining, reset_name, unit, source) in windows {
        let (Some(limit), Some(remaining)) = (number(headers, limit), number(headers, remaining))
        else {
            continue;
        };
        seen[count] = Observation {
            model: Some(model),
            unit,
            source,
            limit: Some(limit),
            remaining: Some(remaining),
            used: None,
            resets_at: headers
                .get(reset_name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| reset(v, now)),
        };
        count += 1;
    }
    book.observe(&seen[..count], now);
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn openai_windows_reset_relative_to_now() {
        let book = QuotaBook::default();
        let h = headers(&[
            ("x-ratelimit-limit-requests", "10000"),
            ("x-ratelimit-remaining-requests", "9999"),
            ("x-ratelimit-reset-requests", "6m0s"),
            ("x-ratelimit-limit-tokens", "1000000"),
            ("x-ratelimit-remaining-tokens", "999900"),
            ("x-ratelimit-reset-tokens", "6ms"),
        ]);
        observe(&book, "gpt-4o", &h, 1_000);
        let entries = book.entries();
        assert_eq!(entries.len(), 2);
        let requests = &entries[0];
        assert_eq!(
            (requests.limit, requests.remaining, requests.resets_at),
            (Some(10_000.0), Some(9_999.0), Some(1_360))
        );
        assert_eq!(requests.model.as_deref(), Some("gpt-4o"));
        assert_eq!(&*entries[1].source, "openai-headers:tokens");
        assert_eq!(
            entries[1].resets_at,
            Some(1_001),
            "sub-second resets round up"
        );
    }

    #[test]
    fn anthropic_windows_reset_at_absolute_times_and_no_headers_is_a_no_op() {
        let book = QuotaBook::default();
        observe(&book, "m", &HeaderMap::new(), 1);
        assert!(book.entries().is_empty());
        assert!(!book.take_dirty());
        let h = headers(&[
            ("anthropic-ratelimit-requests-limit", "1000"),
            ("anthropic-ratelimit-requests-remaining", "999"),
            ("anthropic-ratelimit-requests-reset", "2025-08-21T12:40:59Z"),
            ("anthropic-ratelimit-input-tokens-limit", "80000"),
            ("anthropic-ratelimit-input-tokens-remaining", "79000"),
            (
                "anthropic-ratelimit-input-tokens-reset",
                "2025-08-21T12:41:00Z",
            ),
        ]);
        observe(&book, "claude", &h, 1);
        let entries = book.entries();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].resets_at, Some(1_755_780_059));
        assert_eq!(&*entries[1].source, "anthropic-headers:input-tokens");
        assert_eq!(entries[1].remaining, Some(79_000.0));
    }
}
