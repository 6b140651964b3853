//! Models & routing: which accounts serve which model patterns, and a checker that
//! tells which accounts a model name would reach. Aliases are edited on the model
//! mapping page ([`crate::pages::mapping`]).

use crate::components::{Empty, resource_view};
use crate::session::use_api;
use leptos::prelude::*;
use leptos_router::components::A;
use std::collections::BTreeMap;
use switchyard_types::admin::AccountView;
use switchyard_types::glob;

/// Pattern → accounts listing it, patterns sorted.
fn by_pattern(accounts: &[AccountView]) -> BTreeMap<String, Vec<AccountView>> {
    let mut map: BTreeMap<String, Vec<AccountView>> = BTreeMap::new();
    for account in accounts {
        for pattern in &account.models {
            map.entry(pattern.clone())
                .or_default()
                .push(account.clone());
        }
    }
    map
}

fn who(account: &AccountView) -> String {
    format!(
        "{} ({}, {}{})",
        account.label,
        account.provider,
        account.tier.as_str(),
        if account.enabled { "" } else { ", disabled" }
    )
}

#[component]
pub fn Models() -> impl IntoView {
    let api = use_api();
    let accounts = LocalResource::new(move || {
        let api = api.clone();
        async move { api.accounts().await }
    });
    let model = RwSignal::new(String::new());

    view! {
        <h1>"Models & routing"</h1>
        <p class="lead">"A request goes to an enabled account whose model patterns match the model it asks for, after any alias of the "
            <A href="/mapping">"model mapping"</A> " rewrote it."</p>
        {resource_view(accounts, move |accounts: Vec<AccountView>| {
            if accounts.is_empty() {
                return view! {
                    <Empty><p>"No accounts, so no model is served. " <A href="/accounts">"Add an account"</A></p></Empty>
                }.into_any();
            }
            let stored = StoredValue::new(accounts.clone());
            let patterns = by_pattern(&accounts);
            view! {
                <section class="panel">
                    <h2>"Which accounts serve a model?"</h2>
                    <div class="field inline">
                        <label for="model-name">"Model name"</label>
                        <input id="model-name" type="text" placeholder="claude-sonnet-4-5" bind:value=model/>
                    </div>
                    {move || {
                        let name = model.get();
                        let name = name.trim();
                        if name.is_empty() {
                            return view! { <p class="help">"Type a model name to see the accounts it would be routed to."</p> }.into_any();
                        }
                        let hits: Vec<String> = stored.with_value(|list| list.iter()
                            .filter(|a| a.enabled && a.models.iter().any(|p| glob::matches(p, name)))
                            .map(who)
                            .collect());
                        if hits.is_empty() {
                            view! { <p class="flash failed" role="status">"No enabled account serves " {name.to_owned()} ": the gateway answers 404."</p> }.into_any()
                        } else {
                            view! {
                                <p role="status">{format!("{} enabled account(s) serve {name}:", hits.len())}</p>
                                <ul>{hits.into_iter().map(|h| view! { <li>{h}</li> }).collect_view()}</ul>
                            }.into_any()
                        }
                    }}
                </section>
                <div class="table-wrap">
                    <table>
                        <caption class="sr-only">"Model patterns and the accounts serving them"</caption>
                        <thead><tr><th scope="col">"Pattern"</th><th scope="col">"Accounts"</th></tr></thead>
                        <tbody>
                            {patterns.into_iter().map(|(pattern, list)| view! {
                                <tr>
                                    <td><code>{pattern}</code></td>
                                    <td>{list.iter().map(who).collect::<Vec<_>>().join("; ")}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                </div>
            }.into_any()
        })}
    }
}
