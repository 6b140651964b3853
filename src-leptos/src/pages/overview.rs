//! Overview: is the pool usable, what traffic flows, how fast is the gateway, what it
//! costs. Refreshes every few seconds from `/api/metrics` (Prometheus text) and the
//! resilience state; the hourly charts of the last day come from `/api/usage`, the
//! requests / errors chart from the metrics samples taken while the page is open, the
//! quota summary from `/api/quota`.

use crate::api::metrics::{Snapshot, parse, per_minute};
use crate::api::{Api, ApiResult, UsageQuery};
use crate::components::chart::{Chart, ChartData, Kind, Series};
use crate::components::{Empty, poll, resource_view};
use crate::format;
use crate::pages::accounts::status::{AccountStatus, Pool, quota_left};
use crate::pages::usage::{bucket_starts, total_tokens};
use crate::session::use_api;
use leptos::prelude::*;
use leptos_router::components::A;
use std::collections::BTreeMap;
use std::collections::VecDeque;
use std::time::Duration;
use switchyard_types::logs::{UsageBucket, UsageReport};

const REFRESH: Duration = Duration::from_secs(5);
const USAGE_REFRESH: Duration = Duration::from_secs(30);
/// Metrics samples kept for the requests / errors chart (5 s apart: 10 minutes).
const SAMPLES: usize = 120;
/// Rates are measured over at most this window (ms).
const RATE_WINDOW_MS: f64 = 60_000.0;

/// Metrics with rates computed against earlier samples.
#[derive(Debug, Clone, PartialEq)]
struct Traffic {
    now: Snapshot,
    requests_per_min: Option<f64>,
    errors_per_min: Option<f64>,
    window_secs: f64,
    /// Requests and errors between consecutive samples while the page is open.
    recent: ChartData,
}

type History = VecDeque<(f64, Snapshot)>;
/// `(time ms, requests total, errors total)` per sample.
type Samples = VecDeque<(f64, f64, f64)>;

/// Requests and errors per interval between samples.
fn recent_chart(samples: &Samples) -> ChartData {
    let pairs: Vec<_> = samples.iter().zip(samples.iter().skip(1)).collect();
    ChartData {
        labels: pairs
            .iter()
            .map(|(_, b)| format::datetime((b.0 / 1000.0) as i64)[11..].to_owned())
            .collect(),
        series: vec![
            Series {
                name: "requests".to_owned(),
                values: pairs.iter().map(|(a, b)| (b.1 - a.1).max(0.0)).collect(),
            },
            Series {
                name: "errors (4xx + 5xx)".to_owned(),
                values: pairs.iter().map(|(a, b)| (b.2 - a.2).max(0.0)).collect(),
            },
        ],
    }
}

async fn traffic(
    api: Api,
    history: StoredValue<History>,
    samples: StoredValue<Samples>,
) -> ApiResult<Traffic> {
    let snapshot = parse(&api.metrics().await?);
    let at = js_sys::Date::now();
    let recent = samples
        .try_update_value(|s| {
            s.push_back((
                at,
                snapshot.requests,
                snapshot.client_errors + snapshot.server_errors,
            ));
            while s.len() > SAMPLES {
                s.pop_front();
            }
            recent_chart(s)
        })
        .unwrap_or_default();
    let oldest = history
        .try_update_value(|h| {
            h.push_back((at, snapshot.clone()));
            while h.front().is_some_and(|(t, _)| at - t > RATE_WINDOW_MS) {
                h.pop_front();
            }
            h.front().cloned()
        })
        .flatten();
    let (requests_per_min, errors_per_min, window_secs) = match oldest {
        Some((t, before)) if at > t => (
            per_minute(before.requests, snapshot.requests, at - t),
            per_minute(
                before.client_errors + before.server_errors,
                snapshot.client_errors + snapshot.server_errors,
                at - t,
            ),
            (at - t) / 1000.0,
        ),
        _ => (None, None, 0.0),
    };
    Ok(Traffic {
        now: snapshot,
        requests_per_min,
        errors_per_min,
        window_secs,
        recent,
    })
}

/// The last day's usage, hour by hour, every model together.
#[derive(Debug, Clone, PartialEq)]
struct Day {
    labels: Vec<String>,
    requests: Vec<f64>,
    input: Vec<f64>,
    output: Vec<f64>,
    cost: Vec<f64>,
    tokens: u64,
    total_cost: f64,
}

fn day_of(report: &UsageReport, from: i64, to: i64) -> Day {
    let buckets = bucket_starts(from, to, UsageBucket::Hour.millis());
    let index: BTreeMap<i64, usize> = buckets.iter().enumerate().map(|(i, b)| (*b, i)).collect();
    let n = buckets.len();
    let mut day = Day {
        labels: buckets
            .iter()
            .map(|b| format::bucket_label(*b, false))
            .collect(),
        requests: vec![0.0; n],
        input: vec![0.0; n],
        output: vec![0.0; n],
        cost: vec![0.0; n],
        tokens: 0,
        total_cost: 0.0,
    };
    for row in &report.rows {
        day.tokens += total_tokens(row);
        day.total_cost += row.cost_usd;
        if let Some(&i) = index.get(&row.bucket) {
            day.requests[i] += row.requests as f64;
            day.input[i] += (row.input + row.cache_read + row.cache_write) as f64;
            day.output[i] += row.output as f64;
            day.cost[i] += row.cost_usd;
        }
    }
    day
}

async fn last_day(api: Api) -> ApiResult<Day> {
    let to = js_sys::Date::now() as i64;
    let from = to - 24 * UsageBucket::Hour.millis();
    let report = api
        .usage(&UsageQuery {
            group_by: "model",
            bucket: "hour",
            from: Some(from),
            to: Some(to),
        })
        .await?;
    Ok(day_of(&report, from, to))
}

fn one(name: &str, labels: &[String], values: Vec<f64>) -> ChartData {
    ChartData {
        labels: labels.to_vec(),
        series: vec![Series {
            name: name.to_owned(),
            values,
        }],
    }
}

/// Quota per provider: accounts, how many report a quota, the lowest share left, the
/// soonest reset.
type ProviderQuota = (String, usize, usize, Option<f64>, Option<i64>);

fn quota_summary(pool: &Pool) -> Vec<ProviderQuota> {
    let mut by: BTreeMap<String, (usize, usize, Option<f64>, Option<i64>)> = BTreeMap::new();
    for account in &pool.accounts {
        let entry = by.entry(account.provider.as_str().to_owned()).or_default();
        entry.0 += 1;
        let items = pool.quota_of(&account.id);
        if !items.is_empty() {
            entry.1 += 1;
        }
        for item in &items {
            if let Some(left) = quota_left(item) {
                entry.2 = Some(entry.2.map_or(left, |l: f64| l.min(left)));
            }
            if let Some(t) = item.resets_at {
                entry.3 = Some(entry.3.map_or(t, |r: i64| r.min(t)));
            }
        }
    }
    by.into_iter()
        .map(|(p, (n, with, left, reset))| (p, n, with, left, reset))
        .collect()
}

fn rate(value: Option<f64>, window: f64) -> String {
    match value {
        Some(v) => format!("{v:.1} / min (last {window:.0} s)"),
        None => "rate after the next refresh".to_owned(),
    }
}

#[component]
fn Card(
    title: &'static str,
    #[prop(into)] value: String,
    #[prop(into)] detail: String,
) -> impl IntoView {
    view! {
        <section class="card">
            <h2>{title}</h2>
            <p class="big">{value}</p>
            <p class="detail">{detail}</p>
        </section>
    }
}

#[component]
pub fn Overview() -> impl IntoView {
    let api = use_api();
    let history = StoredValue::new(History::new());
    let samples = StoredValue::new(Samples::new());
    let metrics = {
        let api = api.clone();
        LocalResource::new(move || traffic(api.clone(), history, samples))
    };
    let day = {
        let api = api.clone();
        LocalResource::new(move || last_day(api.clone()))
    };
    let pool = LocalResource::new(move || Pool::load(api.clone()));
    poll(metrics, REFRESH);
    poll(pool, REFRESH);
    poll(day, USAGE_REFRESH);

    view! {
        <h1>"Overview"</h1>
        <p class="lead">"Refreshes every " {REFRESH.as_secs()} " seconds."</p>
        {resource_view(pool, |pool: Pool| {
            if pool.accounts.is_empty() {
                return view! {
                    <Empty>
                        <p>"No accounts yet: requests have nowhere to go. "
                        <A href="/accounts">"Add an account"</A></p>
                    </Empty>
                }.into_any();
            }
            let total = pool.accounts.len();
            let statuses: Vec<AccountStatus> = pool.accounts.iter().map(|a| pool.status(a)).collect();
            let usable = statuses.iter().filter(|s| s.is_usable()).count();
            let disabled = statuses.iter().filter(|s| matches!(s, AccountStatus::Disabled)).count();
            let open = statuses.iter().filter(|s| matches!(s, AccountStatus::CircuitOpen { .. })).count();
            let locked = statuses.iter().filter(|s| matches!(s, AccountStatus::LockedOut { .. })).count();
            let latencies: Vec<f64> = pool.health.iter().filter(|h| h.samples > 0).map(|h| h.latency_ms).collect();
            let (latency, latency_detail) = if latencies.is_empty() {
                ("—".to_owned(), "no upstream answer yet (EWMA per account)".to_owned())
            } else {
                (
                    format!("{:.0} ms", latencies.iter().sum::<f64>() / latencies.len() as f64),
                    format!("mean of {} accounts' recent time to headers (EWMA)", latencies.len()),
                )
            };
            let forbidden = statuses.iter().filter(|s| matches!(s, AccountStatus::Refused { .. })).count();
            let quota = quota_summary(&pool);
            view! {
                <div class="cards">
                    <Card title="Usable accounts" value=format!("{usable} / {total}")
                        detail=format!("{disabled} disabled · {locked} locked out · {open} circuit open · {forbidden} refused credentials")/>
                    <Card title="Upstream latency" value=latency detail=latency_detail/>
                </div>
                <section>
                    <h2>"Quota by provider"</h2>
                    <div class="table-wrap">
                        <table class="quota-summary">
                            <thead><tr>
                                <th scope="col">"Provider"</th>
                                <th scope="col" class="num">"Accounts"</th>
                                <th scope="col" class="num">"Reporting quota"</th>
                                <th scope="col">"Lowest left"</th>
                                <th scope="col">"Next reset"</th>
                            </tr></thead>
                            <tbody>
                                {quota.into_iter().map(|(provider, n, with, left, reset)| view! {
                                    <tr>
                                        <td>{provider}</td>
                                        <td class="num">{n}</td>
                                        <td class="num">{with}</td>
                                        <td>{match left {
                                            Some(l) => view! {
                                                <span class=if l <= 0.05 { "meter bad" } else if l <= 0.2 { "meter warn" } else { "meter" }
                                                    role="img" aria-label=format!("{:.0}% left", l * 100.0)>
                                                    <span style=format!("width:{:.1}%", l * 100.0)></span>
                                                </span>
                                                <span class="sub">{format!("{:.0}% left", l * 100.0)}</span>
                                            }.into_any(),
                                            None => view! { <span class="sub">"not reported"</span> }.into_any(),
                                        }}</td>
                                        <td>{reset.map_or_else(|| "—".to_owned(), format::until)}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                </section>
            }.into_any()
        })}
        {resource_view(day, |d: Day| {
            let tokens = ChartData {
                labels: d.labels.clone(),
                series: vec![
                    Series { name: "input (incl. cache)".to_owned(), values: d.input.clone() },
                    Series { name: "output".to_owned(), values: d.output.clone() },
                ],
            };
            let requests = one("requests", &d.labels, d.requests.clone());
            if !requests.has_data() {
                return view! {
                    <Empty><p>"No proxied request in the last 24 hours: the hourly charts of requests, tokens and cost appear with the first one. "
                    <A href="/usage">"Usage"</A></p></Empty>
                }.into_any();
            }
            view! {
                <div class="cards">
                    <Card title="Tokens, last 24 h" value=format::grouped(d.tokens) detail="input, cache and output"/>
                    <Card title="Cost, last 24 h" value=format::usd(d.total_cost) detail="priced models only"/>
                </div>
                <div class="charts">
                    <Chart title="Requests per hour (24 h)" kind=Kind::Bars data=requests value=format::count/>
                    <Chart title="Tokens per hour (24 h)" kind=Kind::Bars data=tokens value=format::count/>
                    <Chart title="Cost per hour (24 h, USD)" kind=Kind::Bars data=one("cost", &d.labels, d.cost.clone()) value=format::usd/>
                </div>
            }.into_any()
        })}
        {resource_view(metrics, |t: Traffic| {
            let s = &t.now;
            let overhead = &s.overhead;
            let bound = |q: f64| overhead.quantile_bound(q).map_or_else(|| "—".to_owned(), |b| format!("≤ {}", format::seconds(b)));
            let attempts = s.attempts.clone();
            let protocols = s.by_protocol.clone();
            view! {
                <div class="cards">
                    <Card title="Requests" value=format::count(s.requests) detail=rate(t.requests_per_min, t.window_secs)/>
                    <Card title="Errors (4xx + 5xx)"
                        value=format!("{} + {}", format::count(s.client_errors), format::count(s.server_errors))
                        detail=rate(t.errors_per_min, t.window_secs)/>
                    <Card title="In flight" value=format::count(s.inflight) detail="upstream requests now"/>
                    <Card title="Gateway overhead"
                        value=overhead.mean().map_or_else(|| "—".to_owned(), format::seconds)
                        detail=format!("mean of {} · p50 {} · p99 {}", format::count(overhead.count), bound(0.5), bound(0.99))/>
                    <Card title="Client keys" value=format::count(s.client_keys) detail="keys that may call the proxy"/>
                </div>
                <Chart title="Requests and errors per 5 s (since this page opened)" kind=Kind::Lines data=t.recent.clone() value=format::count wide=true/>
                <div class="split">
                    <section>
                        <h2>"Requests by client protocol"</h2>
                        <table>
                            <thead><tr><th scope="col">"Protocol"</th><th scope="col" class="num">"Requests"</th></tr></thead>
                            <tbody>
                                {protocols.into_iter().map(|(p, n)| view! {
                                    <tr><td>{p}</td><td class="num">{format::count(n)}</td></tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    </section>
                    <section>
                        <h2>"Upstream attempts by result"</h2>
                        <table>
                            <thead><tr><th scope="col">"Result"</th><th scope="col" class="num">"Attempts"</th></tr></thead>
                            <tbody>
                                {attempts.into_iter().map(|(r, n)| view! {
                                    <tr><td>{r}</td><td class="num">{format::count(n)}</td></tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    </section>
                </div>
            }
        })}
    }
}
