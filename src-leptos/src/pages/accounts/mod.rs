//! Accounts: the pool with each account's routing and credential state and quota, and
//! the forms to add (or sign in with OAuth), edit, enable / disable, verify, refresh
//! quota, delete, import and export accounts.

mod export;
mod form;
mod import;
mod oauth;
pub mod status;

use crate::api::ApiFailure;
use crate::components::pager::{PAGE_SIZE, Pager, page_of};
use crate::components::{Empty, Failure, Flash, FlashLine, Loading, poll};
use crate::format;
use crate::session::use_api;
use export::Export;
use form::{AddForm, EditForm};
use import::Import;
use leptos::prelude::*;
use leptos::task::spawn_local;
use oauth::OAuthSignIn;
use status::Pool;
use std::time::Duration;
use switchyard_types::admin::{AccountView, UpdateAccount};

const REFRESH: Duration = Duration::from_secs(10);

/// What the page body is: it changes only when the kind of content does.
#[derive(Debug, Clone, PartialEq)]
enum Shown {
    Loading,
    Failed(ApiFailure),
    Empty,
    Table,
}

/// Which panel above the table is open.
#[derive(Debug, Clone, PartialEq)]
enum Panel {
    None,
    Add,
    Import,
    Export,
    Edit(Box<AccountView>),
}

fn matches_filter(account: &AccountView, filter: &str) -> bool {
    let filter = filter.trim().to_lowercase();
    filter.is_empty()
        || [
            account.label.as_str(),
            account.id.as_str(),
            account.provider.as_str(),
            account.tier.as_str(),
            account.base_url.as_str(),
            account.quota_scope.as_deref().unwrap_or_default(),
        ]
        .iter()
        .chain(
            account
                .models
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>()
                .iter(),
        )
        .any(|field| field.to_lowercase().contains(&filter))
}

#[component]
pub fn Accounts() -> impl IntoView {
    let api = use_api();
    let pool = {
        let api = api.clone();
        LocalResource::new(move || Pool::load(api.clone()))
    };
    poll(pool, REFRESH);
    let panel = RwSignal::new(Panel::None);
    let filter = RwSignal::new(String::new());
    let page = RwSignal::new(0_usize);
    let confirm = RwSignal::new(None::<String>);
    let flash = RwSignal::new(None::<Flash>);
    let saved = Callback::new(move |message: String| {
        flash.set(Some(Flash::Done(message)));
        panel.set(Panel::None);
        pool.refetch();
    });
    let toggle = move |p: Panel| {
        panel.update(|current| *current = if *current == p { Panel::None } else { p })
    };

    let set_enabled = {
        let api = api.clone();
        Callback::new(move |(account, enabled): (AccountView, bool)| {
            let api = api.clone();
            spawn_local(async move {
                let request = UpdateAccount {
                    enabled: Some(enabled),
                    ..Default::default()
                };
                match api.update_account(&account.id, &request).await {
                    Ok(_) => flash.set(Some(Flash::Done(format!(
                        "{} {}.",
                        if enabled { "Enabled" } else { "Disabled" },
                        account.label
                    )))),
                    Err(e) => flash.set(Some(Flash::Failed(e.to_string()))),
                }
                pool.refetch();
            });
        })
    };
    let verify = {
        let api = api.clone();
        Callback::new(move |account: AccountView| {
            let api = api.clone();
            spawn_local(async move {
                match api.verify_account(&account.id).await {
                    Ok(r) => {
                        let http = r
                            .http_status
                            .map(|s| format!(", HTTP {s}"))
                            .unwrap_or_default();
                        let detail = r.detail.map(|d| format!(": {d}")).unwrap_or_default();
                        let message = format!(
                            "Verified {}: {}{http}{detail}.",
                            account.label,
                            r.status.as_str().replace('_', " ")
                        );
                        flash.set(Some(if r.ok {
                            Flash::Done(message)
                        } else {
                            Flash::Failed(message)
                        }));
                    }
                    Err(e) => flash.set(Some(Flash::Failed(e.to_string()))),
                }
                pool.refetch();
            });
        })
    };
    let refresh_quota = {
        let api = api.clone();
        Callback::new(move |account: AccountView| {
            let api = api.clone();
            spawn_local(async move {
                match api.refresh_quota(&account.id).await {
                    Ok(list) => flash.set(Some(Flash::Done(format!(
                        "Quota of {} refreshed: {} item(s).",
                        account.label,
                        list.items.len()
                    )))),
                    Err(e) => flash.set(Some(Flash::Failed(e.to_string()))),
                }
                pool.refetch();
            });
        })
    };
    let delete = {
        let api = api.clone();
        Callback::new(move |account: AccountView| {
            let api = api.clone();
            spawn_local(async move {
                match api.delete_account(&account.id).await {
                    Ok(()) => flash.set(Some(Flash::Done(format!("Deleted {}.", account.label)))),
                    Err(e) => flash.set(Some(Flash::Failed(e.to_string()))),
                }
                confirm.set(None);
                pool.refetch();
            });
        })
    };

    // Rendering is split so a refresh updates cells in place: the rows (and the buttons
    // in them, with keyboard focus) persist while their account is unchanged.
    let latest = Memo::new(move |_| pool.get());
    let data = Memo::new(move |_| latest.get().and_then(Result::ok));
    let shown = Memo::new(move |_| match latest.get() {
        None => Shown::Loading,
        Some(Err(failure)) => Shown::Failed(failure),
        Some(Ok(p)) if p.accounts.is_empty() => Shown::Empty,
        Some(Ok(_)) => Shown::Table,
    });
    let rows = Memo::new(move |_| {
        let f = filter.get();
        data.with(|p| {
            p.as_ref()
                .map(|p| {
                    p.accounts
                        .iter()
                        .filter(|a| matches_filter(a, &f))
                        .cloned()
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        })
    });
    let visible = Memo::new(move |_| rows.with(|r| page_of(r, page.get()).0));
    let total = Signal::derive(move || rows.with(Vec::len));
    let pages = Signal::derive(move || total.get().div_ceil(PAGE_SIZE).max(1));

    let table = move || {
        view! {
            <div class="table-wrap">
                <table class="accounts stack">
                    <caption class="sr-only">"Accounts and their routing state"</caption>
                    <thead>
                        <tr>
                            <th scope="col">"Label"</th>
                            <th scope="col">"Provider"</th>
                            <th scope="col">"Tier"</th>
                            <th scope="col">"Enabled"</th>
                            <th scope="col">"Status"</th>
                            <th scope="col">"Quota"</th>
                            <th scope="col" class="num">"In flight / limit"</th>
                            <th scope="col" class="num">"Health"</th>
                            <th scope="col">"Actions"</th>
                        </tr>
                    </thead>
                    <tbody>
                        <Show when=move || visible.with(Vec::is_empty)>
                            <tr><td colspan="9" class="state empty">"No account matches the filter."</td></tr>
                        </Show>
                        <For
                            each=move || visible.get()
                            // Any change to the account re-renders its row.
                            key=|a| serde_json::to_string(a).unwrap_or_default()
                            let:account
                        >
                            <AccountRow account data confirm panel set_enabled verify refresh_quota delete/>
                        </For>
                    </tbody>
                </table>
            </div>
            <Pager page pages total/>
        }
    };

    view! {
        <h1>"Accounts"</h1>
        <div class="toolbar">
            <div class="field inline">
                <label for="account-filter">"Filter"</label>
                <input
                    id="account-filter"
                    type="search"
                    placeholder="label, provider, tier, model…"
                    bind:value=filter
                    on:input=move |_| page.set(0)
                />
            </div>
            <button type="button" aria-expanded=move || (panel.get() == Panel::Add).to_string()
                on:click=move |_| toggle(Panel::Add)>"Add account"</button>
            <button type="button" aria-expanded=move || (panel.get() == Panel::Import).to_string()
                on:click=move |_| toggle(Panel::Import)>"Import JSON"</button>
            <button type="button" aria-expanded=move || (panel.get() == Panel::Export).to_string()
                on:click=move |_| toggle(Panel::Export)>"Export JSON"</button>
            <button type="button" class="quiet" on:click=move |_| pool.refetch()>"Refresh"</button>
        </div>
        {move || match panel.get() {
            Panel::None => ().into_any(),
            Panel::Add => view! { <AddForm saved cancel=Callback::new(move |()| panel.set(Panel::None))/> }.into_any(),
            Panel::Import => view! { <Import done=Callback::new(move |()| pool.refetch())/> }.into_any(),
            Panel::Export => view! { <Export/> }.into_any(),
            Panel::Edit(account) => view! {
                <EditForm account=*account saved cancel=Callback::new(move |()| panel.set(Panel::None))/>
            }.into_any(),
        }}
        <OAuthSignIn done=Callback::new(move |()| pool.refetch())/>
        <FlashLine flash/>
        {move || match shown.get() {
            Shown::Loading => view! { <Loading/> }.into_any(),
            Shown::Failed(failure) => {
                let retry = Callback::new(move |()| pool.refetch());
                view! { <Failure failure retry/> }.into_any()
            }
            Shown::Empty => view! {
                <Empty>
                    <p>"No accounts yet. Add one with " <strong>"Add account"</strong>
                    ", or paste several with " <strong>"Import JSON"</strong> "."</p>
                </Empty>
            }.into_any(),
            Shown::Table => table().into_any(),
        }}
    }
}

/// One account; the routing-state cells follow each refresh of `data`.
#[component]
fn AccountRow(
    account: AccountView,
    data: Memo<Option<Pool>>,
    confirm: RwSignal<Option<String>>,
    panel: RwSignal<Panel>,
    set_enabled: Callback<(AccountView, bool)>,
    verify: Callback<AccountView>,
    refresh_quota: Callback<AccountView>,
    delete: Callback<AccountView>,
) -> impl IntoView {
    let snapshot = StoredValue::new(account.clone());
    let quota_id = account.id.clone();
    let quota = Memo::new(move |_| {
        data.with(|p| {
            p.as_ref()
                .map(|p| p.quota_of(&quota_id))
                .unwrap_or_default()
        })
    });
    // Why the provider refused the credential (the badge comes with the routing state).
    let credential = status::credential_refused(&account).then(|| {
        let since = account
            .status_since
            .map(|t| format!(" (since {})", format::datetime(t)))
            .unwrap_or_default();
        view! {
            <span class="sub reason">{account.status_reason.clone().unwrap_or_default()}{since}</span>
        }
    });
    let status =
        Memo::new(move |_| data.with(|p| p.as_ref().map(|p| snapshot.with_value(|a| p.status(a)))));
    let id = account.id.clone();
    let state = move |f: fn(&Pool, &str) -> String| {
        let id = id.clone();
        move || data.with(|p| p.as_ref().map(|p| f(p, &id)).unwrap_or_default())
    };
    view! {
        <tr>
            <td data-label="Label">
                <span class="label">{account.label.clone()}</span>
                <span class="sub">{account.id.clone()} " · " {account.api_key_hint.clone()}</span>
            </td>
            <td data-label="Provider">{account.provider.as_str()}</td>
            <td data-label="Tier">{account.tier.as_str()}</td>
            <td data-label="Enabled">{if account.enabled { "yes" } else { "no" }}</td>
            <td data-label="Status" class="status">
                {move || status.get().map(|s| view! { <span class=s.class()>{s.text()}</span> })}
                {credential}
            </td>
            <td data-label="Quota" class="quota">{move || {
                let items = quota.get();
                if items.is_empty() {
                    return view! { <span class="sub">"—"</span> }.into_any();
                }
                items.into_iter().map(|q| {
                    let left = status::quota_left(&q);
                    let class = match left {
                        Some(l) if l <= 0.05 => "meter bad",
                        Some(l) if l <= 0.2 => "meter warn",
                        _ => "meter",
                    };
                    let scope = q.model.clone().unwrap_or_else(|| "account".to_owned());
                    view! {
                        <div class="quota-item" title=q.source.clone()>
                            <span class="sub">{scope} ": " {status::quota_text(&q)}</span>
                            {left.map(|l| view! {
                                <span class=class role="img" aria-label=format!("{:.0}% left", l * 100.0)>
                                    <span style=format!("width:{:.1}%", l * 100.0)></span>
                                </span>
                            })}
                            {q.resets_at.map(|t| view! { <span class="sub">"resets " {format::until(t)}</span> })}
                        </div>
                    }
                }).collect_view().into_any()
            }}</td>
            <td data-label="In flight / limit" class="num">{state(Pool::load_text)}</td>
            <td data-label="Health" class="num">{state(Pool::health_text)}</td>
            <td data-label="Actions" class="actions">
                <RowActions account confirm panel set_enabled verify refresh_quota delete/>
            </td>
        </tr>
    }
}

/// Edit / enable-disable / delete buttons of one row; delete asks first, in place.
#[component]
fn RowActions(
    account: AccountView,
    confirm: RwSignal<Option<String>>,
    panel: RwSignal<Panel>,
    set_enabled: Callback<(AccountView, bool)>,
    verify: Callback<AccountView>,
    refresh_quota: Callback<AccountView>,
    delete: Callback<AccountView>,
) -> impl IntoView {
    let account = StoredValue::new(account);
    move || {
        let a = account.get_value();
        let label = a.label.clone();
        if confirm.with(|c| c.as_deref() == Some(a.id.as_str())) {
            view! {
                <span class="confirm" role="group" aria-label=format!("Confirm deleting {label}")>
                    <span>"Delete " {label.clone()} "?"</span>
                    <button type="button" class="danger"
                        on:click=move |_| delete.run(account.get_value())>"Yes, delete"</button>
                    <button type="button" on:click=move |_| confirm.set(None)>"Cancel"</button>
                </span>
            }
            .into_any()
        } else {
            let enabled = a.enabled;
            let verb = if enabled { "Disable" } else { "Enable" };
            view! {
                <button type="button" aria-label=format!("Edit {label}")
                    on:click=move |_| panel.set(Panel::Edit(Box::new(account.get_value())))>"Edit"</button>
                <button type="button" aria-label=format!("{verb} {label}")
                    on:click=move |_| set_enabled.run((account.get_value(), !enabled))>{verb}</button>
                <button type="button" aria-label=format!("Verify {label}")
                    on:click=move |_| verify.run(account.get_value())>"Verify"</button>
                <button type="button" aria-label=format!("Refresh quota of {label}")
                    on:click=move |_| refresh_quota.run(account.get_value())>"Refresh quota"</button>
                <button type="button" class="danger" aria-label=format!("Delete {label}")
                    on:click=move |_| confirm.set(Some(account.with_value(|a| a.id.clone())))>"Delete"</button>
            }
            .into_any()
        }
    }
}
