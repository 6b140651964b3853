//! Polling documented quota and billing endpoints (protocols.md §5), from the upkeep
//! task or `POST /api/accounts/{id}/refresh-quota`, never from a request:
//!
//! - OpenRouter: `GET {base}/key` with the account's own key → the key's credit limit,
//!   what remains, what was used, and when the limit resets (`limit_reset`).
//! - OpenAI (admin key `sk-admin-…`): `GET {base}/organization/costs` from the start of
//!   the UTC month → USD spent this month (`used`; OpenAI publishes no balance).
//! - Anthropic (admin key `sk-ant-admin…`): `GET {base}/v1/organizations/cost_report`
//!   from the start of the UTC month → USD spent this month (amounts are cents).
//!
//! Other accounts have nothing to poll ([`PollError::Nothing`]).

use super::{Observation, QuotaBook};
use crate::crypto::Secret;
use crate::pool::PoolAccount;
use crate::upstream::{DEFAULT_ANTHROPIC_VERSION, PathSegment, Upstream, UpstreamError};
use http::{HeaderMap, HeaderName, HeaderValue, Uri};
use serde_json::Value;
use switchyard_types::Provider;
use switchyard_types::quota::QuotaUnit;

/// Largest answer read from a billing endpoint.
const LIMIT: usize = 4 * 1024 * 1024;
/// Pages of a report followed at most.
const MAX_PAGES: usize = 10;

/// Why a poll gave nothing.
#[derive(Debug, thiserror::Error)]
pub enum PollError {
    #[error(
        "nothing to poll for this account (OpenRouter keys, or an admin key on OpenAI and Anthropic accounts)"
    )]
    Nothing,
    #[error(transparent)]
    Upstream(#[from] UpstreamError),
    #[error("the billing endpoint answered HTTP {0}")]
    Status(u16),
    #[error("the billing endpoint's answer is not as documented: {0}")]
    Body(String),
}

/// Whether [`poll`] has anything to ask for this account.
pub fn pollable(provider: Provider, has_admin_key: bool) -> bool {
    match provider {
        Provider::OpenRouter => true,
        Provider::OpenAi | Provider::Anthropic => has_admin_key,
        Provider::Gemini | Provider::OpenAiCompatible => false,
    }
}

/// Poll `account`'s billing endpoint and record the result in `book` (at `now`, unix s).
pub async fn poll(
    upstream: &Upstream,
    account: &PoolAccount,
    admin_key: Option<&Secret>,
    book: &QuotaBook,
    now: i64,
) -> Result<(), PollError> {
    match (account.provider, admin_key) {
        (Provider::OpenRouter, _) => openrouter(upstream, account, book, now).await,
        (Provider::OpenAi, Some(admin)) => openai_costs(upstream, account, admin, book, now).await,
        (Provider::Anthropic, Some(admin)) => {
            anthropic_costs(upstream, account, admin, book, now).await
        }
        _ => Err(PollError::Nothing),
    }
}

fn header(name: HeaderName, value: &str) -> Result<(HeaderName, HeaderValue), PollError> {
    let mut v = HeaderValue::try_from(value)
        .map_err(|_| PollError::Body("the credential cannot be sent as a header".into()))?;
    v.set_sensitive(true);
    Ok((name, v))
}

async fn get_json(
    upstream: &Upstream,
    url: &str,
    credential: (HeaderName, HeaderValue),
    anthropic: bool,
) -> Result<Value, PollError> {
    let uri = Uri::try_from(url)
        .map_err(|e| PollError::Upstream(UpstreamError::Request(format!("invalid URL: {e}"))))?;
    let mut headers = HeaderMap::new();
    headers.insert(credential.0, credential.1);
    headers.insert(
        http::header::USER_AGENT,
        HeaderValue::from_static(concat!("switchyard/", env!("CARGO_PKG_VERSION"))),
    );
    if anthropic {
        headers.insert(
            HeaderName::from_static("anthropic-version"),
            HeaderValue::from_static(DEFAULT_ANTHROPIC_VERSION),
        );
    }
    let (status, _, body) = upstream.get(uri, headers, LIMIT).await?;
    if !status.is_success() {
        return Err(PollError::Status(status.as_u16()));
    }
    serde_json::from_slice(&body).map_err(|e| PollError::Body(e.to_string()))
}

fn number(v: Option<&Value>) -> Option<f64> {
    match v? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
    .filter(|f| f.is_finite())
}

/// When an OpenRouter `limit_reset` period starts again after `now`.
fn openrouter_reset(period: Option<&str>, now: i64) -> Option<i64> {
    match period? {
        "daily" => Some((now.div_euclid(86_400) + 1) * 86_400),
        // 1970-01-01 was a Thursday; weeks start on Monday (UTC).
        "weekly" => {
            let day = now.div_euclid(86_400);
            let weekday_from_monday = (day + 3).rem_euclid(7);
            Some((day - weekday_from_monday + 7) * 86_400)
        }
        "monthly" => Some(super::time::utc_month(now).1),
        _ => None,
    }
}

async fn openrouter(
    upstream: &Upstream,
    account: &PoolAccount,
    book: &QuotaBook,
    now: i64,
) -> Result<(), PollError> {
    let credential = header(
        http::header::AUTHORIZATION,
        &format!("Bearer {}", account.credential.expose()),
    )?;
    let url = format!("{}/key", account.base_url);
    let body = get_json(upstream, &url, credential, false).await?;
    let data = body
        .get("data")
        .ok_or_else(|| PollError::Body("no `data`".into()))?;
    let limit = number(data.get("limit"));
    let period = data.get("limit_reset").and_then(Value::as_str);
    let used = match period {
        Some("daily") => number(data.get("usage_daily")),
        Some("weekly") => number(data.get("usage_weekly")),
        Some("monthly") => number(data.get("usage_monthly")),
        _ => None,
    }
    .or_else(|| number(data.get("usage")));
    let remaining = number(data.get("limit_remaining"))
        .or_else(|| limit.zip(used).map(|(l, u)| (l - u).max(0.0)));
    book.observe(
        &[Observation {
            model: None,
            unit: QuotaUnit::Usd,
            source: "openrouter-key",
            limit,
            remaining: limit.and(remaining),
            used,
            resets_at: openrouter_reset(period, now),
        }],
        now,
    );
    Ok(())
}

/// Follow `next_page` cursors (at most [`MAX_PAGES`]), summing `amount(result)` over
/// every bucket's results.
async fn sum_pages(
    upstream: &Upstream,
    first: String,
    credential: &(HeaderName, HeaderValue),
    anthropic: bool,
    amount: fn(&Value) -> Option<f64>,
) -> Result<f64, PollError> {
    let mut total = 0.0;
    let mut url = first.clone();
    for _ in 0..MAX_PAGES {
        let page = get_json(upstream, &url, credential.clone(), anthropic).await?;
        let buckets = page
            .get("data")
            .and_then(Value::as_array)
            .ok_or_else(|| PollError::Body("no `data` array".into()))?;
        for result in buckets
            .iter()
            .filter_map(|b| b.get("results")?.as_array())
            .flatten()
        {
            total += amount(result).unwrap_or(0.0);
        }
        match page.get("next_page").and_then(Value::as_str) {
            Some(next) if page.get("has_more").and_then(Value::as_bool) != Some(false) => {
                // Unreserved characters kept, the rest escaped, as for a path segment.
                url = format!("{first}&page={}", PathSegment(next));
            }
            _ => break,
        }
    }
    Ok(total)
}

async fn openai_costs(
    upstream: &Upstream,
    account: &PoolAccount,
    admin: &Secret,
    book: &QuotaBook,
    now: i64,
) -> Result<(), PollError> {
    let (month, next) = super::time::utc_month(now);
    let credential = header(
        http::header::AUTHORIZATION,
        &format!("Bearer {}", admin.expose()),
    )?;
    let first = format!(
        "{}/organization/costs?start_time={month}&bucket_width=1d&limit=31",
        account.base_url
    );
    let used = sum_pages(upstream, first, &credential, false, |r| {
        number(r.get("amount")?.get("value"))
    })
    .await?;
    record_month_spend(book, "openai-costs:month", used, next, now);
    Ok(())
}

/// USD spent since the start of the month (no limit, no balance), resetting at `next`.
fn record_month_spend(book: &QuotaBook, source: &str, used: f64, next: i64, now: i64) {
    book.observe(
        &[Observation {
            model: None,
            unit: QuotaUnit::Usd,
            source,
            limit: None,
            remaining: None,
            used: Some(used),
            resets_at: Some(next),
        }],
        now,
    );
}

async fn anthropic_costs(
    upstream: &Upstream,
    account: &PoolAccount,
    admin: &Secret,
    book: &QuotaBook,
    now: i64,
) -> Result<(), PollError> {
    let (month, next) = super::time::utc_month(now);
    let credential = header(HeaderName::from_static("x-api-key"), admin.expose())?;
    let first = format!(
        "{}/v1/organizations/cost_report?starting_at={}&bucket_width=1d&limit=31",
        account.base_url,
        super::time::format_rfc3339(month)
    );
    // Amounts are decimal strings in cents.
    let cents = sum_pages(upstream, first, &credential, true, |r| {
        number(r.get("amount"))
    })
    .await?;
    record_month_spend(
        book,
        "anthropic-cost-report:month",
        cents / 100.0,
        next,
        now,
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openrouter_periods_reset_at_the_next_boundary() {
        let now = 1_755_780_059; // Thursday 2025-08-21T12:40:59Z
        let fmt = super::super::time::format_rfc3339;
        assert_eq!(
            fmt(openrouter_reset(Some("daily"), now).unwrap()),
            "2025-08-22T00:00:00Z"
        );
        assert_eq!(
            fmt(openrouter_reset(Some("weekly"), now).unwrap()),
            "2025-08-25T00:00:00Z"
        );
        assert_eq!(
            fmt(openrouter_reset(Some("monthly"), now).unwrap()),
            "2025-09-01T00:00:00Z"
        );
        assert_eq!(openrouter_reset(None, now), None);
        assert_eq!(PathSegment("page_a+b/c").to_string(), "page_a%2Bb%2Fc");
    }
}
