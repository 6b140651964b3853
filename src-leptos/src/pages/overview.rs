//! Overview: is the pool usable, what traffic flows, how fast is the gateway. Refreshes
//! every few seconds from `/api/metrics` (Prometheus text) and the resilience state.

use crate::api::metrics::{Snapshot, parse, per_minute};
use crate::api::{Api, ApiResult};
use crate::components::{Empty, poll, resource_view};
use crate::format;
use crate::pages::accounts::status::{AccountStatus, Pool};
use crate::session::use_api;
use leptos::prelude::*;
use leptos_router::components::A;
use std::collections::VecDeque;
use std::time::Duration;

const REFRESH: Duration = Duration::from_secs(5);
/// Rates are measured over at most this window (ms).
const RATE_WINDOW_MS: f64 = 60_000.0;

/// Metrics with rates computed against earlier samples.
#[derive(Debug, Clone, PartialEq)]
struct Traffic {
    now: Snapshot,
    requests_per_min: Option<f64>,
    errors_per_min: Option<f64>,
    window_secs: f64,
}

type History = VecDeque<(f64, Snapshot)>;

async fn traffic(api: Api, history: StoredValue<History>) -> ApiResult<Traffic> {
    let snapshot = parse(&api.metrics().await?);
    let at = js_sys::Date::now();
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
    })
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
    let metrics = {
        let api = api.clone();
        LocalResource::new(move || traffic(api.clone(), history))
    };
    let pool = LocalResource::new(move || Pool::load(api.clone()));
    poll(metrics, REFRESH);
    poll(pool, REFRESH);

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
            view! {
                <div class="cards">
                    <Card title="Usable accounts" value=format!("{usable} / {total}")
                        detail=format!("{disabled} disabled · {locked} locked out · {open} circuit open")/>
                    <Card title="Upstream latency" value=latency detail=latency_detail/>
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
                    <Card title="Tokens" value="—" detail="waits for the API: the gateway does not count tokens yet"/>
                </div>
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
