//! Model mapping: the aliases of `/api/config/mapping` (alias → target model), added,
//! changed and deleted one at a time (`PUT`/`DELETE /api/config/mapping/{alias}`);
//! deleted entries are tombstones kept for sync, hidden unless asked for. A checker shows
//! what a model name resolves to and which accounts serve the result.
//!
//! The gateway has no resolution endpoint, so [`resolve`] applies the server's rule here
//! (core `mapping::Resolver`): an exact alias first, else the matching pattern with the
//! most characters other than `*`, ties to the lexicographically smaller pattern; one step.

use crate::api::{Api, ApiFailure, ApiResult};
use crate::components::{Empty, Flash, FlashLine, resource_view};
use crate::format;
use crate::session::use_api;
use leptos::prelude::*;
use leptos::task::spawn_local;
use std::collections::BTreeMap;
use switchyard_types::admin::{AccountView, MappingEntry};
use switchyard_types::glob;

type Entries = BTreeMap<String, MappingEntry>;

fn is_pattern(alias: &str) -> bool {
    alias.contains(['*', '?'])
}

fn specificity(pattern: &str) -> usize {
    pattern.bytes().filter(|&b| b != b'*').count()
}

/// The live alias `model` matches and its target, by the server's rule.
pub fn resolve<'a>(entries: &'a Entries, model: &str) -> Option<(&'a str, &'a str)> {
    let live = || entries.iter().filter(|(_, e)| !e.deleted);
    if let Some((alias, e)) = live().find(|(a, _)| !is_pattern(a) && a.as_str() == model) {
        return Some((alias.as_str(), e.target.as_str()));
    }
    live()
        .filter(|(a, _)| is_pattern(a) && glob::matches(a, model))
        .min_by(|(a, _), (b, _)| {
            specificity(b)
                .cmp(&specificity(a))
                .then_with(|| a.as_str().cmp(b.as_str()))
        })
        .map(|(a, e)| (a.as_str(), e.target.as_str()))
}

/// Enabled accounts whose model patterns match `model`.
pub fn serving<'a>(accounts: &'a [AccountView], model: &str) -> Vec<&'a AccountView> {
    accounts
        .iter()
        .filter(|a| a.enabled && a.models.iter().any(|p| glob::matches(p, model)))
        .collect()
}

#[derive(Debug, Clone, PartialEq)]
struct Data {
    entries: Entries,
    accounts: Vec<AccountView>,
}

async fn load(api: Api) -> ApiResult<Data> {
    let (mapping, accounts) = futures::join!(api.mapping(), api.accounts());
    Ok(Data {
        entries: mapping?.entries,
        accounts: accounts?,
    })
}

#[component]
pub fn Mapping() -> impl IntoView {
    let api = use_api();
    let data = {
        let api = api.clone();
        LocalResource::new(move || load(api.clone()))
    };
    let alias = RwSignal::new(String::new());
    let target = RwSignal::new(String::new());
    let error = RwSignal::new(None::<ApiFailure>);
    let flash = RwSignal::new(None::<Flash>);
    let pending = RwSignal::new(false);
    let confirm = RwSignal::new(None::<String>);
    let show_deleted = RwSignal::new(false);
    let probe = RwSignal::new(String::new());

    let submit = {
        let api = api.clone();
        move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            let (a, t) = (
                alias.get_untracked().trim().to_owned(),
                target.get_untracked().trim().to_owned(),
            );
            let api = api.clone();
            pending.set(true);
            spawn_local(async move {
                let result = api.put_mapping(&a, &t).await;
                pending.set(false);
                match result {
                    Ok(entry) => {
                        error.set(None);
                        alias.set(String::new());
                        target.set(String::new());
                        flash.set(Some(Flash::Done(format!("Saved {a} → {}.", entry.target))));
                        data.refetch();
                    }
                    Err(e) => error.set(Some(e)),
                }
            });
        }
    };
    let delete = Callback::new(move |a: String| {
        let api = api.clone();
        spawn_local(async move {
            match api.delete_mapping(&a).await {
                Ok(()) => flash.set(Some(Flash::Done(format!("Deleted alias {a}.")))),
                Err(e) => flash.set(Some(Flash::Failed(e.to_string()))),
            }
            confirm.set(None);
            data.refetch();
        });
    });
    let edit = move |a: String, t: String| {
        alias.set(a);
        target.set(t);
        error.set(None);
        if let Some(el) = document().get_element_by_id("map-target")
            && let Ok(input) = wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlInputElement>(el)
        {
            let _ = input.focus();
        }
    };
    let invalid = move |field: &'static str| {
        move || {
            error.with(|e| {
                e.as_ref()
                    .and_then(ApiFailure::field)
                    .is_some_and(|f| f == field)
                    .then_some("true")
            })
        }
    };

    view! {
        <h1>"Model mapping"</h1>
        <p class="lead">"Aliases clients may ask for and the model each stands for. An alias may contain "
            <code>"*"</code> " or " <code>"?"</code> "; the most specific matching pattern wins (most characters other than " <code>"*"</code> ")."</p>
        <form class="panel" on:submit=submit aria-labelledby="map-form-title">
            <h2 id="map-form-title">"Add or change an alias"</h2>
            <div class="grid">
                <div class="field">
                    <label for="map-alias">"Alias"</label>
                    <input id="map-alias" type="text" required maxlength="200" placeholder="fast or gpt-4*"
                        bind:value=alias aria-invalid=invalid("alias")/>
                </div>
                <div class="field">
                    <label for="map-target">"Target model"</label>
                    <input id="map-target" type="text" required maxlength="200" placeholder="claude-haiku-4-5"
                        bind:value=target aria-invalid=invalid("target")/>
                </div>
            </div>
            <div class="buttons">
                <button type="submit" disabled=move || pending.get()>"Save alias"</button>
            </div>
            {move || error.get().map(|e| view! { <p class="flash failed" role="alert">{e.to_string()}</p> })}
        </form>
        <FlashLine flash/>
        {resource_view(data, move |d: Data| {
            let stored = StoredValue::new(d.clone());
            let checker = view! {
                <section class="panel">
                    <h2>"What does a model name resolve to?"</h2>
                    <div class="field inline">
                        <label for="map-probe">"Model name"</label>
                        <input id="map-probe" type="text" placeholder="gpt-4o" bind:value=probe/>
                    </div>
                    {move || {
                        let name = probe.get();
                        let name = name.trim().to_owned();
                        if name.is_empty() {
                            return view! { <p class="help">"Type a name a client would send."</p> }.into_any();
                        }
                        stored.with_value(|d| {
                            let (line, model) = match resolve(&d.entries, &name) {
                                Some((a, t)) if a == name => (format!("{name} is an alias of {t}."), t.to_owned()),
                                Some((a, t)) => (format!("{name} matches the pattern {a} → {t}."), t.to_owned()),
                                None => (format!("{name} is no alias: it is routed as is."), name.clone()),
                            };
                            let hits: Vec<String> = serving(&d.accounts, &model).iter()
                                .map(|a| format!("{} ({}, {})", a.label, a.provider, a.id)).collect();
                            view! {
                                <div class="resolution" role="status">
                                    <p>{line}</p>
                                    {if hits.is_empty() {
                                        view! { <p class="flash failed">{format!("No enabled account serves {model}: the gateway answers 404.")}</p> }.into_any()
                                    } else {
                                        view! {
                                            <p>{format!("{} enabled account(s) serve {model}:", hits.len())}</p>
                                            <ul>{hits.into_iter().map(|h| view! { <li>{h}</li> }).collect_view()}</ul>
                                        }.into_any()
                                    }}
                                </div>
                            }.into_any()
                        })
                    }}
                </section>
            };
            let live = d.entries.values().filter(|e| !e.deleted).count();
            let dead = d.entries.len() - live;
            let table = if d.entries.is_empty() || (live == 0 && !show_deleted.get_untracked() && dead == 0) {
                view! { <Empty><p>"No aliases yet: add one above."</p></Empty> }.into_any()
            } else {
                view! {
                    <div class="toolbar">
                        <span>{format!("{live} alias(es)")}</span>
                        <div class="field check">
                            <input id="map-deleted" type="checkbox" bind:checked=show_deleted/>
                            <label for="map-deleted">{format!("Show {dead} deleted (kept for sync)")}</label>
                        </div>
                    </div>
                    <div class="table-wrap">
                        <table class="mapping">
                            <caption class="sr-only">"Model aliases"</caption>
                            <thead><tr>
                                <th scope="col">"Alias"</th>
                                <th scope="col">"Target"</th>
                                <th scope="col">"Updated"</th>
                                <th scope="col">"Actions"</th>
                            </tr></thead>
                            <tbody>
                                {d.entries.into_iter().map(|(a, e)| {
                                    let deleted = e.deleted;
                                    let (a1, a2, a3, t1) = (a.clone(), a.clone(), a.clone(), e.target.clone());
                                    view! {
                                        <tr class:tombstone=deleted
                                            style:display=move || (deleted && !show_deleted.get()).then_some("none")>
                                            <td><code>{a.clone()}</code>{deleted.then(|| view! { <span class="sub">"deleted"</span> })}</td>
                                            <td><code>{if deleted { "—".to_owned() } else { e.target.clone() }}</code></td>
                                            <td>{format::datetime_ms(e.updated_at)}</td>
                                            <td class="actions">
                                                {move || if deleted {
                                                    ().into_any()
                                                } else if confirm.with(|c| c.as_deref() == Some(a1.as_str())) {
                                                    let (a2, a3) = (a2.clone(), a3.clone());
                                                    view! {
                                                        <span class="confirm" role="group" aria-label=format!("Confirm deleting {a2}")>
                                                            <span>"Delete " {a2.clone()} "?"</span>
                                                            <button type="button" class="danger" on:click=move |_| delete.run(a3.clone())>"Yes, delete"</button>
                                                            <button type="button" on:click=move |_| confirm.set(None)>"Cancel"</button>
                                                        </span>
                                                    }.into_any()
                                                } else {
                                                    let (a2, a3, t1) = (a2.clone(), a3.clone(), t1.clone());
                                                    let label = a2.clone();
                                                    view! {
                                                        <button type="button" aria-label=format!("Change {label}")
                                                            on:click=move |_| edit(a2.clone(), t1.clone())>"Change"</button>
                                                        <button type="button" class="danger" aria-label=format!("Delete {label}")
                                                            on:click=move |_| confirm.set(Some(a3.clone()))>"Delete"</button>
                                                    }.into_any()
                                                }}
                                            </td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                }.into_any()
            };
            view! { {checker} {table} }
        })}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(list: &[(&str, &str, bool)]) -> Entries {
        list.iter()
            .map(|(a, t, deleted)| {
                (
                    (*a).to_owned(),
                    MappingEntry {
                        target: (*t).to_owned(),
                        updated_at: 1,
                        deleted: *deleted,
                    },
                )
            })
            .collect()
    }

    #[test]
    fn exact_first_then_the_most_specific_pattern() {
        let e = entries(&[
            ("gpt-*", "a", false),
            ("gpt-4*", "b", false),
            ("gpt-4o", "c", false),
            ("*", "d", false),
            ("old", "x", true),
            ("gpt-4?", "e", false),
        ]);
        assert_eq!(resolve(&e, "gpt-4o"), Some(("gpt-4o", "c")));
        // gpt-4? and gpt-4* : `?` counts as a character, so gpt-4? is more specific.
        assert_eq!(resolve(&e, "gpt-41"), Some(("gpt-4?", "e")));
        assert_eq!(resolve(&e, "gpt-4-turbo"), Some(("gpt-4*", "b")));
        assert_eq!(resolve(&e, "gpt-3"), Some(("gpt-*", "a")));
        assert_eq!(resolve(&e, "claude"), Some(("*", "d")));
        assert_eq!(resolve(&entries(&[("old", "x", true)]), "old"), None);
        // Ties go to the lexicographically smaller pattern.
        let tie = entries(&[("b*", "1", false), ("*b", "2", false)]);
        assert_eq!(resolve(&tie, "bb"), Some(("*b", "2")));
    }
}
