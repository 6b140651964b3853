//! Gemini's quota, read from its 429 bodies (it sends no rate-limit headers):
//! `google.rpc.QuotaFailure` violations name the quota (`quotaId`, e.g.
//! `GenerateRequestsPerDayPerProjectPerModel-FreeTier`) and may give its size
//! (`quotaValue`); `google.rpc.RetryInfo.retryDelay` says when to retry. A `…PerDay…`
//! quota resets at midnight Pacific time ([`super::time::next_pacific_midnight`]).

use super::{Observation, QuotaBook};
use serde_json::Value;
use std::time::Duration;
use switchyard_types::quota::QuotaUnit;

/// What a 429 body said about the quota.
#[derive(Debug, Clone, PartialEq)]
pub struct Exhausted {
    /// A daily quota ran out (else a per-minute one).
    pub daily: bool,
    /// Unix seconds when the exhausted quota resets.
    pub resets_at: i64,
}

fn is_type(detail: &Value, name: &str) -> bool {
    detail
        .get("@type")
        .and_then(Value::as_str)
        .is_some_and(|t| t.ends_with(name))
}

fn retry_delay(details: &[Value]) -> Option<Duration> {
    let text = details
        .iter()
        .filter(|d| is_type(d, "google.rpc.RetryInfo"))
        .find_map(|d| d.get("retryDelay").and_then(Value::as_str))?;
    let secs: f64 = text.trim().strip_suffix('s')?.parse().ok()?;
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.min(86_400.0)))
}

/// Record what a Gemini 429 `body` says into `book` for `model` (at `now`, unix s), and
/// return it. `None` when the body names no quota.
pub fn observe_429(book: &QuotaBook, model: &str, body: &[u8], now: i64) -> Option<Exhausted> {
    let value: Value = serde_json::from_slice(body).ok()?;
    let error = value.get("error").or_else(|| value.get(0)?.get("error"))?;
    let details = error.get("details")?.as_array()?;
    let delay = retry_delay(details);
    let mut result: Option<Exhausted> = None;
    let mut observations: Vec<(String, Option<f64>, i64)> = Vec::new();
    for violation in details
        .iter()
        .filter(|d| is_type(d, "google.rpc.QuotaFailure"))
        .filter_map(|d| d.get("violations")?.as_array())
        .flatten()
    {
        let id = violation
            .get("quotaId")
            .or_else(|| violation.get("quotaMetric"))
            .and_then(Value::as_str)
            .unwrap_or("quota");
        let daily = id.contains("PerDay");
        let resets_at = if daily {
            super::time::next_pacific_midnight(now)
        } else {
            now + delay.map_or(60, |d| i64::try_from(d.as_secs()).unwrap_or(60).max(1))
        };
        let limit = match violation.get("quotaValue") {
            Some(Value::String(s)) => s.parse::<f64>().ok(),
            Some(Value::Number(n)) => n.as_f64(),
            _ => None,
        };
        observations.push((format!("gemini-429:{id}"), limit, resets_at));
        if result.as_ref().is_none_or(|r| !r.daily && daily) {
            result = Some(Exhausted { daily, resets_at });
        }
    }
    let observed: Vec<Observation<'_>> = observations
        .iter()
        .map(|(source, limit, resets_at)| Observation {
            model: Some(model),
            unit: QuotaUnit::Requests,
            source,
            limit: *limit,
            remaining: Some(0.0),
            used: None,
            resets_at: Some(*resets_at),
        })
        .collect();
    book.observe(&observed, now);
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(quota_id: &str, delay: &str) -> Vec<u8> {
        json!({"error": {"code": 429, "status": "RESOURCE_EXHAUSTED", "message": "quota",
            "details": [
                {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [
                    {"quotaMetric": "generativelanguage.googleapis.com/generate_content_free_tier_requests",
                     "quotaId": quota_id, "quotaValue": "50"}]},
                {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": delay}
            ]}})
        .to_string()
        .into_bytes()
    }

    #[test]
    fn per_minute_and_per_day_quotas_are_told_apart() {
        let book = QuotaBook::default();
        let now = 1_755_780_059; // 2025-08-21T12:40:59Z
        let minute = observe_429(
            &book,
            "gemini-2.5-pro",
            &body(
                "GenerateRequestsPerMinutePerProjectPerModel-FreeTier",
                "36s",
            ),
            now,
        )
        .unwrap();
        assert_eq!(
            minute,
            Exhausted {
                daily: false,
                resets_at: now + 36
            }
        );
        let day = observe_429(
            &book,
            "gemini-2.5-pro",
            &body("GenerateRequestsPerDayPerProjectPerModel-FreeTier", "20s"),
            now,
        )
        .unwrap();
        assert!(day.daily);
        assert_eq!(
            super::super::time::format_rfc3339(day.resets_at),
            "2025-08-22T07:00:00Z"
        );
        let entries = book.entries();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[1].limit, Some(50.0));
        assert_eq!(entries[1].remaining, Some(0.0));
        assert!(
            entries[1]
                .source
                .ends_with("PerDayPerProjectPerModel-FreeTier")
        );
        assert_eq!(observe_429(&book, "m", b"{}", now), None);
    }
}
