//! Request log: finished requests from `/api/logs`, newest first, filtered by time range,
//! client key, account, model and status class, paged with the server's `next_cursor`;
//! a request's detail (`/api/logs/{id}`) shows its attempts, usage, cost and error.

use crate::api::{Api, ApiFailure, LogQuery};
use crate::components::{Empty, Failure, Loading};
use crate::format;
use crate::session::use_api;
use leptos::prelude::*;
use leptos::task::spawn_local;
use std::collections::HashMap;
use switchyard_types::logs::{LogEntry, LogPage};

const PAGE: u32 = 50;

/// The filter form's values.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct Filters {
    /// `1h`, `24h`, `7d`, `30d`, `all` or `custom`.
    range: String,
    from: String,
    to: String,
    key_id: String,
    account_id: String,
    model: String,
    status: String,
}

fn range_ms(range: &str) -> Option<i64> {
    const HOUR: i64 = 3_600_000;
    match range {
        "1h" => Some(HOUR),
        "24h" => Some(24 * HOUR),
        "7d" => Some(7 * 24 * HOUR),
        "30d" => Some(30 * 24 * HOUR),
        _ => None,
    }
}

impl Filters {
    fn query(&self, cursor: Option<String>) -> LogQuery {
        let now = js_sys::Date::now() as i64;
        let (from, to) = match self.range.as_str() {
            "custom" => (
                format::parse_local_input(&self.from).map(|s| s * 1000),
                format::parse_local_input(&self.to).map(|s| s * 1000),
            ),
            r => (range_ms(r).map(|span| now - span), None),
        };
        LogQuery {
            from,
            to,
            key_id: self.key_id.clone(),
            account_id: self.account_id.clone(),
            model: self.model.clone(),
            status: self.status.clone(),
            limit: Some(PAGE),
            cursor,
        }
    }
}

/// Names of accounts and keys for the filter menus and the table (ids when unknown).
#[derive(Debug, Clone, Default, PartialEq)]
struct Names {
    accounts: Vec<(String, String)>,
    keys: Vec<(String, String)>,
}

impl Names {
    async fn load(api: Api) -> Self {
        let (accounts, keys) = futures::join!(api.accounts(), api.keys());
        Self {
            accounts: accounts
                .map(|l| l.into_iter().map(|a| (a.id, a.label)).collect())
                .unwrap_or_default(),
            keys: keys
                .map(|l| l.into_iter().map(|k| (k.id, k.name)).collect())
                .unwrap_or_default(),
        }
    }

    fn map(list: &[(String, String)]) -> HashMap<String, String> {
        list.iter().cloned().collect()
    }
}

fn name_of(map: &HashMap<String, String>, id: Option<&str>) -> String {
    match id {
        None | Some("") => "—".to_owned(),
        Some(id) => map.get(id).cloned().unwrap_or_else(|| id.to_owned()),
    }
}

fn status_class(status: u16) -> &'static str {
    match status {
        200..=299 => "badge ok",
        400..=499 => "badge warn",
        _ => "badge bad",
    }
}

/// What the table shows: a page and how we got to it.
#[derive(Debug, Clone, PartialEq)]
enum Shown {
    Loading,
    Failed(ApiFailure),
    Page(LogPage),
}

#[component]
pub fn Logs() -> impl IntoView {
    let api = use_api();
    let names = {
        let api = api.clone();
        LocalResource::new(move || Names::load(api.clone()))
    };
    let filters = RwSignal::new(Filters {
        range: "24h".to_owned(),
        ..Filters::default()
    });
    // Applied filters and the cursors of the pages before this one.
    let applied = RwSignal::new(filters.get_untracked());
    let cursors = RwSignal::new(Vec::<Option<String>>::new());
    let cursor = RwSignal::new(None::<String>);
    let shown = RwSignal::new(Shown::Loading);
    let detail = RwSignal::new(None::<String>);
    let generation = StoredValue::new(0_u64);

    let fetch = {
        let api = api.clone();
        move || {
            let query = applied.get_untracked().query(cursor.get_untracked());
            let api = api.clone();
            let this = generation.get_value() + 1;
            generation.set_value(this);
            shown.set(Shown::Loading);
            spawn_local(async move {
                let result = api.logs(&query).await;
                // A newer request superseded this one.
                if generation.get_value() != this {
                    return;
                }
                shown.set(match result {
                    Ok(page) => Shown::Page(page),
                    Err(e) => Shown::Failed(e),
                });
            });
        }
    };
    let fetch = StoredValue::new(fetch);
    fetch.with_value(|f| f());

    let apply = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        applied.set(filters.get_untracked());
        cursors.set(Vec::new());
        cursor.set(None);
        detail.set(None);
        fetch.with_value(|f| f());
    };
    let next = move |next: String| {
        cursors.update(|c| c.push(cursor.get_untracked()));
        cursor.set(Some(next));
        fetch.with_value(|f| f());
    };
    let previous = move |_| {
        let mut stack = cursors.get_untracked();
        let prev = stack.pop().flatten();
        cursors.set(stack);
        cursor.set(prev);
        fetch.with_value(|f| f());
    };
    let set = move |f: fn(&mut Filters, String)| {
        move |ev: leptos::ev::Event| {
            let v = event_target_value(&ev);
            filters.update(|x| f(x, v));
        }
    };

    view! {
        <h1>"Request log"</h1>
        <p class="lead">"Every finished proxied request, newest first."</p>
        <form class="panel filters" on:submit=apply aria-label="Filters">
            <div class="grid">
                <div class="field">
                    <label for="log-range">"Time range"</label>
                    <select id="log-range" on:change=set(|f, v| f.range = v)>
                        <option value="1h">"Last hour"</option>
                        <option value="24h" selected>"Last 24 hours"</option>
                        <option value="7d">"Last 7 days"</option>
                        <option value="30d">"Last 30 days"</option>
                        <option value="all">"All"</option>
                        <option value="custom">"Custom…"</option>
                    </select>
                </div>
                <Show when=move || filters.with(|f| f.range == "custom")>
                    <div class="field">
                        <label for="log-from">"From"</label>
                        <input id="log-from" type="datetime-local" on:change=set(|f, v| f.from = v)/>
                    </div>
                    <div class="field">
                        <label for="log-to">"To"</label>
                        <input id="log-to" type="datetime-local" on:change=set(|f, v| f.to = v)/>
                    </div>
                </Show>
                <div class="field">
                    <label for="log-key">"Client key"</label>
                    <select id="log-key" on:change=set(|f, v| f.key_id = v)>
                        <option value="">"Any"</option>
                        {move || names.get().map(|n| n.keys.into_iter().map(|(id, name)| view! {
                            <option value=id.clone()>{format!("{name} ({id})")}</option>
                        }).collect_view())}
                    </select>
                </div>
                <div class="field">
                    <label for="log-account">"Account"</label>
                    <select id="log-account" on:change=set(|f, v| f.account_id = v)>
                        <option value="">"Any"</option>
                        {move || names.get().map(|n| n.accounts.into_iter().map(|(id, label)| view! {
                            <option value=id.clone()>{format!("{label} ({id})")}</option>
                        }).collect_view())}
                    </select>
                </div>
                <div class="field">
                    <label for="log-model">"Model"</label>
                    <input id="log-model" type="text" placeholder="exact model name" on:input=set(|f, v| f.model = v)/>
                </div>
                <div class="field">
                    <label for="log-status">"Status"</label>
                    <select id="log-status" on:change=set(|f, v| f.status = v)>
                        <option value="">"Any"</option>
                        <option value="2xx">"2xx success"</option>
                        <option value="4xx">"4xx client error"</option>
                        <option value="5xx">"5xx server error"</option>
                    </select>
                </div>
            </div>
            <div class="buttons">
                <button type="submit">"Apply filters"</button>
            </div>
        </form>
        {move || detail.get().map(|id| view! {
            <Detail id names=Signal::derive(move || names.get().unwrap_or_default()) close=Callback::new(move |()| detail.set(None))/>
        })}
        {move || match shown.get() {
            Shown::Loading => view! { <Loading/> }.into_any(),
            Shown::Failed(failure) => {
                let retry = Callback::new(move |()| fetch.with_value(|f| f()));
                view! { <Failure failure retry/> }.into_any()
            }
            Shown::Page(page) if page.items.is_empty() && cursors.with(Vec::is_empty) => view! {
                <Empty><p>"No request matches these filters. Requests appear here once they finish."</p></Empty>
            }.into_any(),
            Shown::Page(page) => {
                let n = names.get().unwrap_or_default();
                let (accounts, keys) = (Names::map(&n.accounts), Names::map(&n.keys));
                let next_cursor = page.next_cursor.clone();
                let page_no = cursors.with(Vec::len) + 1;
                view! {
                    <div class="table-wrap">
                        <table class="logs stack">
                            <caption class="sr-only">"Requests, newest first"</caption>
                            <thead>
                                <tr>
                                    <th scope="col">"Time"</th>
                                    <th scope="col">"Status"</th>
                                    <th scope="col">"Model"</th>
                                    <th scope="col">"Account"</th>
                                    <th scope="col">"Key"</th>
                                    <th scope="col" class="num">"Tokens in / out"</th>
                                    <th scope="col" class="num">"Cost"</th>
                                    <th scope="col" class="num">"Latency"</th>
                                    <th scope="col">"Detail"</th>
                                </tr>
                            </thead>
                            <tbody>
                                {page.items.into_iter().map(|e| {
                                    let id = e.id.clone();
                                    let tokens_in = e.usage.input + e.usage.cache_read + e.usage.cache_write;
                                    view! {
                                        <tr>
                                            <td data-label="Time">{format::datetime_ms(e.ts)}<span class="sub">{e.protocol_in.clone()}{e.stream.then_some(" · stream")}</span></td>
                                            <td data-label="Status"><span class=status_class(e.status)>{e.status}</span>
                                                {e.error.clone().map(|err| view! { <span class="sub">{err}</span> })}</td>
                                            <td data-label="Model">{e.model.clone().unwrap_or_else(|| "—".to_owned())}
                                                {e.upstream_model.clone().filter(|u| Some(u) != e.model.as_ref()).map(|u| view! { <span class="sub">{format!("→ {u}")}</span> })}</td>
                                            <td data-label="Account">{name_of(&accounts, e.account_id.as_deref())}</td>
                                            <td data-label="Key">{name_of(&keys, e.key_id.as_deref())}</td>
                                            <td data-label="Tokens in / out" class="num">{format!("{} / {}", format::grouped(tokens_in), format::grouped(e.usage.output))}</td>
                                            <td data-label="Cost" class="num">{e.cost_usd.map_or_else(|| "—".to_owned(), format::usd)}</td>
                                            <td data-label="Latency" class="num">{format!("{} ms", e.latency_ms)}</td>
                                            <td data-label="Detail" class="actions">
                                                <button type="button" aria-label=format!("Details of {}", e.request_id)
                                                    on:click=move |_| detail.set(Some(id.clone()))>"Details"</button>
                                            </td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                    <nav class="pager" aria-label="Pages">
                        <button type="button" disabled=move || cursors.with(Vec::is_empty) on:click=previous>"← Newer"</button>
                        <span aria-live="polite">{format!("Page {page_no}")}</span>
                        <button type="button" disabled=next_cursor.is_none()
                            on:click=move |_| if let Some(c) = next_cursor.clone() { next(c) }>"Older →"</button>
                    </nav>
                }.into_any()
            }
        }}
    }
}

/// One request in full.
#[component]
fn Detail(id: String, names: Signal<Names>, close: Callback<()>) -> impl IntoView {
    let api = use_api();
    let entry = {
        let id = id.clone();
        LocalResource::new(move || {
            let (api, id) = (api.clone(), id.clone());
            async move { api.log(&id).await }
        })
    };
    let body = move |e: LogEntry| {
        let n = names.get();
        let accounts = Names::map(&n.accounts);
        let keys = Names::map(&n.keys);
        let u = e.usage;
        view! {
            <dl class="facts">
                <dt>"Request id"</dt><dd><code>{e.request_id.clone()}</code></dd>
                <dt>"Time"</dt><dd>{format::datetime_ms(e.ts)}</dd>
                <dt>"Status"</dt><dd><span class=status_class(e.status)>{e.status}</span></dd>
                <dt>"Error"</dt><dd>{e.error.clone().unwrap_or_else(|| "none".to_owned())}</dd>
                <dt>"Protocol"</dt><dd>{format!("{} → {}", e.protocol_in, e.protocol_out.clone().unwrap_or_else(|| "—".to_owned()))}{e.stream.then_some(" (stream)")}</dd>
                <dt>"Model"</dt><dd>{e.model.clone().unwrap_or_else(|| "—".to_owned())}{e.upstream_model.clone().filter(|m| Some(m) != e.model.as_ref()).map(|m| format!(" → {m} upstream"))}</dd>
                <dt>"Client key"</dt><dd>{name_of(&keys, e.key_id.as_deref())}</dd>
                <dt>"Account"</dt><dd>{name_of(&accounts, e.account_id.as_deref())}</dd>
                <dt>"Latency"</dt><dd>{format!("{} ms total", e.latency_ms)}{e.ttfb_ms.map(|t| format!(", {t} ms to first byte"))}</dd>
                <dt>"Usage"</dt><dd>{format!(
                    "input {} · cache read {} · cache write {} · output {} (reasoning {})",
                    format::grouped(u.input), format::grouped(u.cache_read), format::grouped(u.cache_write),
                    format::grouped(u.output), format::grouped(u.reasoning)
                )}</dd>
                <dt>"Cost"</dt><dd>{e.cost_usd.map_or_else(|| "not priced".to_owned(), format::usd)}</dd>
            </dl>
            <h3>{format!("Attempts ({})", e.attempts.len())}</h3>
            {if e.attempts.is_empty() {
                view! { <p class="help">"No upstream attempt (refused at the gateway)."</p> }.into_any()
            } else {
                view! {
                    <div class="table-wrap">
                        <table class="attempts">
                            <thead><tr>
                                <th scope="col">"#"</th>
                                <th scope="col">"Account"</th>
                                <th scope="col">"Outcome"</th>
                                <th scope="col" class="num">"Status"</th>
                                <th scope="col" class="num">"Time"</th>
                            </tr></thead>
                            <tbody>
                                {e.attempts.iter().enumerate().map(|(i, a)| view! {
                                    <tr>
                                        <td>{i + 1}</td>
                                        <td>{name_of(&accounts, Some(&a.account_id))}</td>
                                        <td>{a.outcome.replace('_', " ")}</td>
                                        <td class="num">{a.status.map_or_else(|| "—".to_owned(), |s| s.to_string())}</td>
                                        <td class="num">{format!("{} ms", a.ms)}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                }.into_any()
            }}
        }
    };
    let body = StoredValue::new(body);
    view! {
        <section class="panel detail" aria-labelledby="log-detail-title">
            <div class="heading-row">
                <h2 id="log-detail-title">"Request detail"</h2>
                <button type="button" class="quiet" on:click=move |_| close.run(())>"Close"</button>
            </div>
            {move || match entry.get() {
                None => view! { <Loading/> }.into_any(),
                Some(Err(failure)) => view! { <Failure failure/> }.into_any(),
                Some(Ok(e)) => body.with_value(|b| b(e)).into_any(),
            }}
        </section>
    }
}
