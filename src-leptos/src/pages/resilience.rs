//! Resilience: circuits, adaptive concurrency limits, health, lockouts and session
//! bindings, with the resets the API offers (lockouts, sessions).

use crate::api::{Api, ApiFailure, ApiResult};
use crate::components::{Empty, Failure, Flash, FlashLine, Loading};
use crate::format;
use crate::session::use_api;
use leptos::prelude::*;
use leptos::task::spawn_local;
use std::time::Duration;
use switchyard_types::resilience::{
    AccountAimd, AccountCircuit, AccountHealth, CircuitStatus, LockoutView, SessionView,
};

const REFRESH: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, PartialEq)]
struct State {
    circuits: Vec<AccountCircuit>,
    aimd: Vec<AccountAimd>,
    health: Vec<AccountHealth>,
    lockouts: Vec<LockoutView>,
    sessions: Vec<SessionView>,
    /// `(id, label)` of every account, to name accounts in lockouts and sessions.
    labels: Vec<(String, String)>,
}

impl State {
    async fn load(api: Api) -> ApiResult<Self> {
        let (circuits, aimd, health, lockouts, sessions) = futures::join!(
            api.circuits(),
            api.aimd(),
            api.health(),
            api.lockouts(),
            api.sessions()
        );
        let aimd = aimd?.accounts;
        let labels = aimd
            .iter()
            .map(|a| (a.id.clone(), a.label.clone()))
            .collect();
        Ok(Self {
            circuits: circuits?.accounts,
            aimd,
            health: health?.accounts,
            lockouts: lockouts?.lockouts,
            sessions: sessions?.sessions,
            labels,
        })
    }

    fn label(&self, id: &str) -> String {
        self.labels
            .iter()
            .find(|(i, _)| i == id)
            .map_or_else(|| id.to_owned(), |(_, l)| l.clone())
    }
}

/// What the page body is: it changes only when the kind of content does.
#[derive(Debug, Clone, PartialEq)]
enum Shown {
    Loading,
    Failed(ApiFailure),
    Empty,
    Ready,
}

/// Reads one part of the state for a table body.
fn part<T>(data: Memo<Option<State>>, f: impl Fn(&State) -> T) -> impl Fn() -> Option<T> {
    move || data.with(|s| s.as_ref().map(&f))
}

/// The tables, filled from `data` as it refreshes.
fn ready(
    data: Memo<Option<State>>,
    clear_lockouts: Callback<Option<String>>,
    clear_sessions: Callback<()>,
) -> impl IntoView {
    let lockouts = Memo::new(move |_| {
        data.with(|s| s.as_ref().map(|s| s.lockouts.clone()).unwrap_or_default())
    });
    let no_lockouts = Memo::new(move |_| lockouts.with(Vec::is_empty));
    let no_sessions =
        Memo::new(move |_| data.with(|s| s.as_ref().is_none_or(|s| s.sessions.is_empty())));
    view! {
        <div class="split">
            <section>
                <h2>"Circuits"</h2>
                <div class="table-wrap"><table>
                    <thead><tr><th scope="col">"Account"</th><th scope="col">"State"</th><th scope="col" class="num">"Consecutive failures"</th></tr></thead>
                    <tbody>{part(data, |s| s.circuits.iter().map(|c| view! {
                        <tr>
                            <td>{c.label.clone()}</td>
                            <td><span class=if c.state == CircuitStatus::Closed { "badge ok" } else { "badge bad" }>{circuit_text(c)}</span></td>
                            <td class="num">{c.consecutive_failures}</td>
                        </tr>
                    }).collect_view())}</tbody>
                </table></div>
            </section>
            <section>
                <h2>"Adaptive concurrency (AIMD)"</h2>
                <div class="table-wrap"><table>
                    <thead><tr><th scope="col">"Account"</th><th scope="col" class="num">"In flight"</th><th scope="col" class="num">"Limit"</th></tr></thead>
                    <tbody>{part(data, |s| s.aimd.iter().map(|a| view! {
                        <tr><td>{a.label.clone()}</td><td class="num">{a.active}</td><td class="num">{a.limit}</td></tr>
                    }).collect_view())}</tbody>
                </table></div>
            </section>
        </div>
        <section>
            <h2>"Health"</h2>
            <div class="table-wrap"><table>
                <thead><tr>
                    <th scope="col">"Account"</th><th scope="col" class="num">"Success rate"</th>
                    <th scope="col" class="num">"Latency"</th><th scope="col" class="num">"Samples"</th><th scope="col" class="num">"Score"</th>
                </tr></thead>
                <tbody>{part(data, |s| s.health.iter().map(|h| view! {
                    <tr>
                        <td>{h.label.clone()}</td>
                        <td class="num">{format!("{:.0}%", h.success_rate * 100.0)}</td>
                        <td class="num">{format!("{:.0} ms", h.latency_ms)}</td>
                        <td class="num">{h.samples}</td>
                        <td class="num">{format!("{:.2}", h.score)}</td>
                    </tr>
                }).collect_view())}</tbody>
            </table></div>
        </section>
        <section>
            <div class="heading-row">
                <h2>"Lockouts"</h2>
                <button type="button" disabled=move || no_lockouts.get() on:click=move |_| clear_lockouts.run(None)>"Clear all lockouts"</button>
            </div>
            <Show
                when=move || !no_lockouts.get()
                fallback=|| view! { <Empty><p>"No lockouts: no account is resting after a 429 or an exhausted quota."</p></Empty> }
            >
                <div class="table-wrap"><table>
                    <thead><tr>
                        <th scope="col">"Quota scope"</th><th scope="col">"Accounts"</th><th scope="col">"Model"</th>
                        <th scope="col">"Reason"</th><th scope="col">"Until"</th><th scope="col">"Reset"</th>
                    </tr></thead>
                    <tbody>
                        <For
                            each=move || lockouts.get()
                            key=|l| (l.scope.clone(), l.model.clone(), l.until)
                            let:l
                        >
                            {
                                let names = data.with_untracked(|s| s.as_ref().map(|s| l.accounts.iter().map(|a| s.label(a)).collect::<Vec<_>>().join(", ")).unwrap_or_default());
                                let first = l.accounts.first().cloned();
                                let scope = l.scope.clone();
                                view! {
                                    <tr>
                                        <td>{l.scope.clone()}</td>
                                        <td>{names}</td>
                                        <td>{l.model.clone().unwrap_or_else(|| "all models".to_owned())}</td>
                                        <td>{l.reason.replace('_', " ")}</td>
                                        <td>{format::until(l.until)}</td>
                                        <td>{first.map(|id| view! {
                                            <button type="button" aria-label=format!("Clear lockouts of {scope}")
                                                on:click=move |_| clear_lockouts.run(Some(id.clone()))>"Clear"</button>
                                        })}</td>
                                    </tr>
                                }
                            }
                        </For>
                    </tbody>
                </table></div>
            </Show>
        </section>
        <section>
            <div class="heading-row">
                <h2>"Sessions"</h2>
                <button type="button" disabled=move || no_sessions.get() on:click=move |_| clear_sessions.run(())>"Clear all sessions"</button>
            </div>
            <Show
                when=move || !no_sessions.get()
                fallback=|| view! { <Empty><p>"No conversation is bound to an account right now."</p></Empty> }
            >
                <div class="table-wrap"><table>
                    <thead><tr>
                        <th scope="col">"Session"</th><th scope="col">"Account"</th>
                        <th scope="col" class="num">"Idle"</th><th scope="col" class="num">"Failures"</th>
                    </tr></thead>
                    <tbody>{part(data, |s| s.sessions.iter().map(|x| view! {
                        <tr>
                            <td><code>{x.session.clone()}</code></td>
                            <td>{s.label(&x.account)}</td>
                            <td class="num">{format::duration(x.idle_secs)}</td>
                            <td class="num">{x.failures}</td>
                        </tr>
                    }).collect_view())}</tbody>
                </table></div>
            </Show>
        </section>
    }
}

fn circuit_text(c: &AccountCircuit) -> String {
    match (c.state, c.open_until) {
        (CircuitStatus::Closed, _) => "closed".to_owned(),
        (CircuitStatus::HalfOpen, _) => "half-open (probing)".to_owned(),
        (CircuitStatus::Open, Some(t)) => format!("open until {}", format::until(t)),
        (CircuitStatus::Open, None) => "open".to_owned(),
    }
}

#[component]
pub fn Resilience() -> impl IntoView {
    let api = use_api();
    let state = {
        let api = api.clone();
        LocalResource::new(move || State::load(api.clone()))
    };
    let auto = RwSignal::new(true);
    if let Ok(handle) = set_interval_with_handle(
        move || {
            if auto.get_untracked() {
                state.refetch();
            }
        },
        REFRESH,
    ) {
        on_cleanup(move || handle.clear());
    }
    let flash = RwSignal::new(None::<Flash>);
    // A refresh updates the tables in place; the reset buttons stay (and keep focus).
    let latest = Memo::new(move |_| state.get());
    let data = Memo::new(move |_| latest.get().and_then(Result::ok));
    let shown = Memo::new(move |_| match latest.get() {
        None => Shown::Loading,
        Some(Err(failure)) => Shown::Failed(failure),
        Some(Ok(s)) if s.labels.is_empty() => Shown::Empty,
        Some(Ok(_)) => Shown::Ready,
    });
    let clear_lockouts = {
        let api = api.clone();
        Callback::new(move |account: Option<String>| {
            let api = api.clone();
            spawn_local(async move {
                match api.clear_lockouts(account.as_deref()).await {
                    Ok(c) => flash.set(Some(Flash::Done(format!(
                        "Cleared {} lockout(s).",
                        c.cleared
                    )))),
                    Err(e) => flash.set(Some(Flash::Failed(e.to_string()))),
                }
                state.refetch();
            });
        })
    };
    let clear_sessions = Callback::new(move |()| {
        let api = api.clone();
        spawn_local(async move {
            match api.clear_sessions().await {
                Ok(c) => flash.set(Some(Flash::Done(format!(
                    "Cleared {} session binding(s).",
                    c.cleared
                )))),
                Err(e) => flash.set(Some(Flash::Failed(e.to_string()))),
            }
            state.refetch();
        });
    });

    view! {
        <h1>"Resilience"</h1>
        <div class="toolbar">
            <div class="field check">
                <input id="auto-refresh" type="checkbox" bind:checked=auto/>
                <label for="auto-refresh">{format!("Refresh every {} s", REFRESH.as_secs())}</label>
            </div>
            <button type="button" class="quiet" on:click=move |_| state.refetch()>"Refresh now"</button>
        </div>
        <FlashLine flash/>
        {move || match shown.get() {
            Shown::Loading => view! { <Loading/> }.into_any(),
            Shown::Failed(failure) => {
                let retry = Callback::new(move |()| state.refetch());
                view! { <Failure failure retry/> }.into_any()
            }
            Shown::Empty => view! {
                <Empty><p>"No accounts: there is no routing state to show."</p></Empty>
            }.into_any(),
            Shown::Ready => ready(data, clear_lockouts, clear_sessions).into_any(),
        }}
    }
}
