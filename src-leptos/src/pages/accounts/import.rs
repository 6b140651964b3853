//! Import: paste a JSON array of account objects (the `POST /api/accounts` body) and
//! each is created in turn; every item reports its own success or error.

use crate::session::use_api;
use leptos::prelude::*;
use leptos::task::spawn_local;
use switchyard_types::admin::CreateAccount;

/// How one item of the import went.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Outcome {
    index: usize,
    label: String,
    result: Result<String, String>,
}

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

#[component]
pub fn Import(done: Callback<()>) -> impl IntoView {
    let api = use_api();
    let text = RwSignal::new(String::new());
    let problem = RwSignal::new(None::<String>);
    let outcomes = RwSignal::new(Vec::<Outcome>::new());
    let pending = RwSignal::new(false);

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        outcomes.set(Vec::new());
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
            for (i, item) in list.into_iter().enumerate() {
                let label = item
                    .get("label")
                    .and_then(serde_json::Value::as_str)
                    .unwrap_or("(no label)")
                    .to_owned();
                let result = match serde_json::from_value::<CreateAccount>(item) {
                    Err(e) => Err(format!("not an account object: {e}")),
                    Ok(request) => match api.create_account(&request).await {
                        Ok(view) => Ok(format!("created {}", view.id)),
                        Err(e) => Err(e.to_string()),
                    },
                };
                outcomes.update(|o| {
                    o.push(Outcome {
                        index: i + 1,
                        label,
                        result,
                    })
                });
            }
            pending.set(false);
            done.run(());
        });
    };

    view! {
        <form class="panel" on:submit=submit aria-labelledby="import-title">
            <h2 id="import-title">"Import accounts from JSON"</h2>
            <div class="field">
                <label for="import-json">"Accounts (a JSON array of the objects POST /api/accounts takes)"</label>
                <textarea id="import-json" rows="8" spellcheck="false" placeholder=EXAMPLE bind:value=text></textarea>
            </div>
            {move || problem.get().map(|p| view! { <p class="flash failed" role="alert">{p}</p> })}
            <div class="buttons">
                <button type="submit" disabled=move || pending.get()>
                    {move || if pending.get() { "Importing…" } else { "Import" }}
                </button>
            </div>
            <Show when=move || !outcomes.with(Vec::is_empty)>
                <h3>
                    {move || outcomes.with(|o| {
                        let ok = o.iter().filter(|x| x.result.is_ok()).count();
                        format!("{ok} of {} imported", o.len())
                    })}
                </h3>
                <ol class="outcomes" aria-live="polite">
                    {move || outcomes.get().into_iter().map(|o| {
                        let (class, text) = match &o.result {
                            Ok(m) => ("done", m.clone()),
                            Err(m) => ("failed", m.clone()),
                        };
                        view! { <li class=class>{format!("#{} {}: {text}", o.index, o.label)}</li> }
                    }).collect_view()}
                </ol>
            </Show>
        </form>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
            assert!(serde_json::from_value::<CreateAccount>(item).is_ok());
        }
    }
}
