//! Import: paste a JSON array of accounts, or load it from a file, and send it to
//! `POST /api/accounts/import`. The import is all or nothing: on success each item's
//! result (created or updated, with its id) is listed; on a refusal the server names the
//! bad item and field (`[1].api_key`), shown against that item, and nothing is imported.

use crate::api::ApiFailure;
use crate::session::use_api;
use leptos::prelude::*;
use leptos::task::spawn_local;
use switchyard_types::accounts::{ImportAction, ImportResult};
use wasm_bindgen::JsCast;

const EXAMPLE: &str = r#"[
  {"provider": "anthropic", "label": "team-a", "api_key": "sk-ant-…", "tier": "pro"},
  {"provider": "openai_compatible", "label": "local", "api_key": "none",
   "base_url": "http://127.0.0.1:8000/v1", "models": ["llama-*"]}
]"#;

/// The items of the pasted text, or why it is not a JSON array.
fn items(text: &str) -> Result<Vec<serde_json::Value>, String> {
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(serde_json::Value::Array(items)) => Ok(items),
        Ok(_) => Err("Expected a JSON array of account objects.".to_owned()),
        Err(e) => Err(format!("Not valid JSON: {e}")),
    }
}

/// `[3].api_key` → `(3, "api_key")`; `[3]` → `(3, "")`.
fn item_field(field: &str) -> Option<(usize, String)> {
    let rest = field.strip_prefix('[')?;
    let (index, tail) = rest.split_once(']')?;
    let index = index.parse().ok()?;
    Some((index, tail.trim_start_matches('.').to_owned()))
}

fn label_of(item: Option<&serde_json::Value>) -> String {
    item.and_then(|i| i.get("label"))
        .and_then(serde_json::Value::as_str)
        .filter(|l| !l.is_empty())
        .unwrap_or("(no label)")
        .to_owned()
}

/// What the last import did.
#[derive(Debug, Clone, PartialEq)]
enum Outcome {
    /// `(item number, label, text)`.
    Done(Vec<(usize, String, String)>),
    /// The whole import was refused; `item` names the bad one when the server did.
    Refused {
        item: Option<(usize, String, String)>,
        message: String,
    },
}

#[component]
pub fn Import(done: Callback<()>) -> impl IntoView {
    let api = use_api();
    let text = RwSignal::new(String::new());
    let problem = RwSignal::new(None::<String>);
    let outcome = RwSignal::new(None::<Outcome>);
    let pending = RwSignal::new(false);

    let load_file = move |ev: leptos::ev::Event| {
        let Some(input) = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
        else {
            return;
        };
        let Some(file) = input.files().and_then(|f| f.get(0)) else {
            return;
        };
        spawn_local(async move {
            match wasm_bindgen_futures::JsFuture::from(file.text()).await {
                Ok(value) => {
                    text.set(value.as_string().unwrap_or_default());
                    problem.set(None);
                }
                Err(_) => problem.set(Some(format!("Could not read {}.", file.name()))),
            }
        });
    };

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        outcome.set(None);
        let list = match items(&text.get_untracked()) {
            Ok(list) if list.is_empty() => {
                problem.set(Some("The array is empty: nothing to import.".to_owned()));
                return;
            }
            Ok(list) => list,
            Err(e) => {
                problem.set(Some(e));
                return;
            }
        };
        problem.set(None);
        pending.set(true);
        let api = api.clone();
        spawn_local(async move {
            let result = api.import_accounts(&list).await;
            pending.set(false);
            outcome.set(Some(match result {
                Ok(ImportResult { results }) => {
                    done.run(());
                    Outcome::Done(
                        results
                            .into_iter()
                            .map(|r| {
                                let verb = match r.action {
                                    ImportAction::Created => "created",
                                    ImportAction::Updated => "updated",
                                };
                                (
                                    r.index + 1,
                                    label_of(list.get(r.index)),
                                    format!("{verb} {}", r.id),
                                )
                            })
                            .collect(),
                    )
                }
                Err(failure) => {
                    let item = failure.field().and_then(item_field).map(|(i, field)| {
                        let message = match &failure {
                            ApiFailure::Api { error, .. } => error.message.clone(),
                            other => other.to_string(),
                        };
                        let what = if field.is_empty() {
                            message
                        } else {
                            format!("{field} {message}")
                        };
                        (i + 1, label_of(list.get(i)), what)
                    });
                    Outcome::Refused {
                        item,
                        message: failure.to_string(),
                    }
                }
            }));
        });
    };

    view! {
        <form class="panel" on:submit=submit aria-labelledby="import-title">
            <h2 id="import-title">"Import accounts from JSON"</h2>
            <p class="help">"The format of " <strong>"Export JSON"</strong> ". An item with the " <code>"id"</code>
                " of an existing account updates it; the others are created. All or nothing: one bad item stops the import."</p>
            <div class="field">
                <label for="import-file">"From a file"</label>
                <input id="import-file" type="file" accept=".json,application/json" on:change=load_file/>
            </div>
            <div class="field">
                <label for="import-json">"Accounts (a JSON array)"</label>
                <textarea id="import-json" rows="8" spellcheck="false" placeholder=EXAMPLE bind:value=text></textarea>
            </div>
            {move || problem.get().map(|p| view! { <p class="flash failed" role="alert">{p}</p> })}
            <div class="buttons">
                <button type="submit" disabled=move || pending.get()>
                    {move || if pending.get() { "Importing…" } else { "Import" }}
                </button>
            </div>
            {move || outcome.get().map(|o| match o {
                Outcome::Done(list) => view! {
                    <h3>{format!("{} imported", list.len())}</h3>
                    <ol class="outcomes" aria-live="polite">
                        {list.into_iter().map(|(n, label, text)| view! {
                            <li class="done">{format!("#{n} {label}: {text}")}</li>
                        }).collect_view()}
                    </ol>
                }.into_any(),
                Outcome::Refused { item, message } => view! {
                    <h3>"Nothing imported"</h3>
                    <ol class="outcomes" role="alert">
                        {match item {
                            Some((n, label, text)) => view! { <li class="failed">{format!("#{n} {label}: {text}")}</li> }.into_any(),
                            None => view! { <li class="failed">{message}</li> }.into_any(),
                        }}
                    </ol>
                }.into_any(),
            })}
        </form>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchyard_types::accounts::ImportAccount;

    #[test]
    fn only_arrays_are_imported() {
        assert_eq!(items("[{}, 1]").map(|v| v.len()), Ok(2));
        assert!(items("{}").is_err());
        assert!(items("[").is_err());
    }

    #[test]
    fn the_example_is_a_valid_import() {
        let list = items(EXAMPLE).unwrap_or_default();
        assert_eq!(list.len(), 2);
        for item in list {
            assert!(serde_json::from_value::<ImportAccount>(item).is_ok());
        }
    }

    #[test]
    fn the_server_field_names_the_item() {
        assert_eq!(item_field("[1].api_key"), Some((1, "api_key".to_owned())));
        assert_eq!(item_field("[0]"), Some((0, String::new())));
        assert_eq!(item_field("items"), None);
    }
}
