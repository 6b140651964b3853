//! Sign in with the admin key. The key is checked with `GET /api/accounts` (a wrong key
//! gets `401`) before it is kept for the session.

use crate::api::Api;
use crate::session::use_session;
use leptos::prelude::*;
use leptos::task::spawn_local;

#[component]
pub fn Login() -> impl IntoView {
    let session = use_session();
    let key = RwSignal::new(String::new());
    let pending = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let candidate = key.get_untracked().trim().to_owned();
        if candidate.is_empty() {
            error.set(Some("Enter the admin key.".to_owned()));
            return;
        }
        pending.set(true);
        error.set(None);
        spawn_local(async move {
            let result = Api::new(candidate.clone(), None).accounts().await;
            pending.set(false);
            match result {
                Ok(_) => session.sign_in(candidate),
                Err(f) if f.is_unauthorized() => {
                    error.set(Some(
                        "The admin key was refused (401). Check it and try again.".to_owned(),
                    ));
                }
                Err(f) => error.set(Some(f.to_string())),
            }
        });
    };

    view! {
        <main id="main" class="login">
            <h1>"Switchyard"</h1>
            <p>"Sign in with the gateway's admin key. It is kept for this browser tab only."</p>
            {move || session.notice.get().map(|n| view! { <p class="flash failed" role="status">{n}</p> })}
            <form on:submit=submit>
                <label for="admin-key">"Admin key"</label>
                <input
                    id="admin-key"
                    type="password"
                    autocomplete="current-password"
                    required
                    bind:value=key
                    aria-describedby="admin-key-help"
                    aria-invalid=move || error.with(Option::is_some).then_some("true")
                />
                <p id="admin-key-help" class="help">
                    "In " <code>"<data dir>/admin.key"</code> " unless " <code>"SWITCHYARD_ADMIN_KEY"</code> " sets it."
                </p>
                <button type="submit" disabled=move || pending.get()>
                    {move || if pending.get() { "Checking…" } else { "Sign in" }}
                </button>
            </form>
            {move || error.get().map(|e| view! { <p class="flash failed" role="alert">{e}</p> })}
        </main>
    }
}
