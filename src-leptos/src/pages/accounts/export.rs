//! Export: every account as a JSON array (`GET /api/accounts/export`), saved as a file.
//! Secrets are left out unless asked for, with a warning.

use crate::components::{Flash, FlashLine};
use crate::download;
use crate::session::use_api;
use leptos::prelude::*;
use leptos::task::spawn_local;

#[component]
pub fn Export() -> impl IntoView {
    let api = use_api();
    let secrets = RwSignal::new(false);
    let pending = RwSignal::new(false);
    let flash = RwSignal::new(None::<Flash>);
    let save = move |_| {
        let api = api.clone();
        let with_secrets = secrets.get_untracked();
        pending.set(true);
        spawn_local(async move {
            let result = api.export_accounts(with_secrets).await;
            pending.set(false);
            flash.set(Some(match result {
                Ok(text) => {
                    let count = serde_json::from_str::<Vec<serde_json::Value>>(&text)
                        .map(|v| v.len())
                        .unwrap_or(0);
                    let name = if with_secrets {
                        "switchyard-accounts-with-secrets.json"
                    } else {
                        "switchyard-accounts.json"
                    };
                    match download::save(name, "application/json", &text) {
                        Ok(()) => Flash::Done(format!("Saved {name} ({count} accounts).")),
                        Err(e) => Flash::Failed(format!("Could not save the file: {e}")),
                    }
                }
                Err(e) => Flash::Failed(e.to_string()),
            }));
        });
    };
    view! {
        <section class="panel" aria-labelledby="export-title">
            <h2 id="export-title">"Export accounts as JSON"</h2>
            <p class="help">"The file can be imported here or on another gateway (" <strong>"Import JSON"</strong> ")."</p>
            <div class="field check">
                <input id="export-secrets" type="checkbox" bind:checked=secrets/>
                <label for="export-secrets">"Include API keys and admin keys"</label>
            </div>
            <Show when=move || secrets.get()>
                <p class="note" role="note"><strong>"Warning: "</strong>
                    "the file will hold every account's credentials in plain text. Store it like a password and delete it after use."</p>
            </Show>
            <div class="buttons">
                <button type="button" disabled=move || pending.get() on:click=save>
                    {move || if secrets.get() { "Download with secrets" } else { "Download" }}
                </button>
            </div>
            <FlashLine flash/>
        </section>
    }
}
