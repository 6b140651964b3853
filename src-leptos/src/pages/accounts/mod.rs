//! Accounts: the pool with each account's routing state, and the forms to add, edit,
//! enable / disable, delete and import accounts.

mod form;
mod import;
pub mod status;

use crate::api::ApiFailure;
use crate::components::pager::{PAGE_SIZE, Pager, page_of};
use crate::components::{Empty, Failure, Flash, FlashLine, Loading, poll};
use crate::session::use_api;
use form::{AddForm, EditForm};
use import::Import;
use leptos::prelude::*;
use leptos::task::spawn_local;
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
    Edit(AccountView),
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
                <table class="accounts">
                    <caption class="sr-only">"Accounts and their routing state"</caption>
                    <thead>
                        <tr>
                            <th scope="col">"Label"</th>
                            <th scope="col">"Provider"</th>
                            <th scope="col">"Tier"</th>
                            <th scope="col">"Enabled"</th>
                            <th scope="col">"Status"</th>
                            <th scope="col" class="num">"In flight / limit"</th>
                            <th scope="col" class="num">"Health"</th>
                            <th scope="col">"Actions"</th>
                        </tr>
                    </thead>
                    <tbody>
                        <Show when=move || visible.with(Vec::is_empty)>
                            <tr><td colspan="8" class="state empty">"No account matches the filter."</td></tr>
                        </Show>
                        <For
                            each=move || visible.get()
                            // Any change to the account re-renders its row.
                            key=|a| serde_json::to_string(a).unwrap_or_default()
                            let:account
                        >
                            <AccountRow account data confirm panel set_enabled delete/>
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
            <button type="button" class="quiet" on:click=move |_| pool.refetch()>"Refresh"</button>
        </div>
        {move || match panel.get() {
            Panel::None => ().into_any(),
            Panel::Add => view! { <AddForm saved cancel=Callback::new(move |()| panel.set(Panel::None))/> }.into_any(),
            Panel::Import => view! { <Import done=Callback::new(move |()| pool.refetch())/> }.into_any(),
            Panel::Edit(account) => view! {
                <EditForm account saved cancel=Callback::new(move |()| panel.set(Panel::None))/>
            }.into_any(),
        }}
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
    delete: Callback<AccountView>,
) -> impl IntoView {
    let snapshot = StoredValue::new(account.clone());
    let status =
        Memo::new(move |_| data.with(|p| p.as_ref().map(|p| snapshot.with_value(|a| p.status(a)))));
    let id = account.id.clone();
    let state = move |f: fn(&Pool, &str) -> String| {
        let id = id.clone();
        move || data.with(|p| p.as_ref().map(|p| f(p, &id)).unwrap_or_default())
    };
    view! {
        <tr>
            <td>
                <span class="label">{account.label.clone()}</span>
                <span class="sub">{account.id.clone()} " · " {account.api_key_hint.clone()}</span>
            </td>
            <td>{account.provider.as_str()}</td>
            <td>{account.tier.as_str()}</td>
            <td>{if account.enabled { "yes" } else { "no" }}</td>
            <td>{move || status.get().map(|s| view! { <span class=s.class()>{s.text()}</span> })}</td>
            <td class="num">{state(Pool::load_text)}</td>
            <td class="num">{state(Pool::health_text)}</td>
            <td class="actions">
                <RowActions account confirm panel set_enabled delete/>
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
                    on:click=move |_| panel.set(Panel::Edit(account.get_value()))>"Edit"</button>
                <button type="button" aria-label=format!("{verb} {label}")
                    on:click=move |_| set_enabled.run((account.get_value(), !enabled))>{verb}</button>
                <button type="button" class="danger" aria-label=format!("Delete {label}")
                    on:click=move |_| confirm.set(Some(account.with_value(|a| a.id.clone())))>"Delete"</button>
            }
            .into_any()
        }
    }
}
