//! Accounts: the pool with each account's routing state, and the forms to add, edit,
//! enable / disable, delete and import accounts.

mod form;
mod import;
pub mod status;

use crate::components::pager::{Pager, page_of};
use crate::components::{Empty, Flash, FlashLine, poll, resource_view};
use crate::session::use_api;
use form::{AddForm, EditForm};
use import::Import;
use leptos::prelude::*;
use leptos::task::spawn_local;
use status::Pool;
use std::time::Duration;
use switchyard_types::admin::{AccountView, UpdateAccount};

const REFRESH: Duration = Duration::from_secs(10);

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
        .chain(account.models.iter().map(String::as_str).collect::<Vec<_>>().iter())
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
    let toggle = move |p: Panel| panel.update(|current| *current = if *current == p { Panel::None } else { p });

    let set_enabled = {
        let api = api.clone();
        Callback::new(move |(account, enabled): (AccountView, bool)| {
            let api = api.clone();
            spawn_local(async move {
                let request = UpdateAccount { enabled: Some(enabled), ..Default::default() };
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

    let table = move |pool: Pool| {
        if pool.accounts.is_empty() {
            return view! {
                <Empty>
                    <p>"No accounts yet. Add one with " <strong>"Add account"</strong>
                    ", or paste several with " <strong>"Import JSON"</strong> "."</p>
                </Empty>
            }
            .into_any();
        }
        let pool = StoredValue::new(pool);
        let rows = Memo::new(move |_| {
            let f = filter.get();
            pool.with_value(|p| {
                p.accounts.iter().filter(|a| matches_filter(a, &f)).cloned().collect::<Vec<_>>()
            })
        });
        let total = Signal::derive(move || rows.with(Vec::len));
        let pages = Signal::derive(move || total.get().div_ceil(crate::components::pager::PAGE_SIZE).max(1));
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
                        {move || {
                            let (visible, _, _) = rows.with(|r| page_of(r, page.get()));
                            if visible.is_empty() {
                                return view! {
                                    <tr><td colspan="8" class="state empty">"No account matches the filter."</td></tr>
                                }.into_any();
                            }
                            visible.into_iter().map(|a| {
                                let (status, load, health) = pool.with_value(|p| (p.status(&a), p.load_text(&a.id), p.health_text(&a.id)));
                                view! {
                                    <tr>
                                        <td>
                                            <span class="label">{a.label.clone()}</span>
                                            <span class="sub">{a.id.clone()} " · " {a.api_key_hint.clone()}</span>
                                        </td>
                                        <td>{a.provider.as_str()}</td>
                                        <td>{a.tier.as_str()}</td>
                                        <td>{if a.enabled { "yes" } else { "no" }}</td>
                                        <td><span class=status.class()>{status.text()}</span></td>
                                        <td class="num">{load}</td>
                                        <td class="num">{health}</td>
                                        <td class="actions">
                                            <RowActions account=a confirm panel set_enabled delete/>
                                        </td>
                                    </tr>
                                }
                            }).collect_view().into_any()
                        }}
                    </tbody>
                </table>
            </div>
            <Pager page pages total/>
        }
        .into_any()
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
        {resource_view(pool, table)}
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
