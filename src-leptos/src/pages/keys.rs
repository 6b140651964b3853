//! Client keys: create (the key is shown once, with a copy button), list, revoke.

use crate::api::ApiFailure;
use crate::components::{Empty, Flash, FlashLine, resource_view};
use crate::format;
use crate::session::use_api;
use leptos::prelude::*;
use leptos::task::spawn_local;
use switchyard_types::admin::{CreateKey, KeyCreated, KeyView};
use wasm_bindgen::JsCast;

/// Copies `text`: the async clipboard where the page is a secure context, else the
/// selected `<input>` and `execCommand("copy")` (plain-HTTP dashboards on a LAN).
fn copy(text: &str, input_id: &str) -> bool {
    let Some(window) = web_sys::window() else {
        return false;
    };
    let navigator = window.navigator();
    let has_clipboard =
        js_sys::Reflect::get(&navigator, &"clipboard".into()).is_ok_and(|c| !c.is_undefined());
    if window.is_secure_context() && has_clipboard {
        let _promise = navigator.clipboard().write_text(text);
        return true;
    }
    let Some(document) = window.document() else {
        return false;
    };
    let Some(input) = document
        .get_element_by_id(input_id)
        .and_then(|e| e.dyn_into::<web_sys::HtmlInputElement>().ok())
    else {
        return false;
    };
    input.select();
    document
        .dyn_into::<web_sys::HtmlDocument>()
        .ok()
        .and_then(|d| d.exec_command("copy").ok())
        .unwrap_or(false)
}

/// The new key, shown once.
#[component]
fn NewKey(created: KeyCreated, dismiss: Callback<()>) -> impl IntoView {
    let copied = RwSignal::new(None::<bool>);
    let key = StoredValue::new(created.key.clone());
    view! {
        <section class="panel reveal" aria-labelledby="new-key-title">
            <h2 id="new-key-title">{format!("Key \u{201c}{}\u{201d} created", created.name)}</h2>
            <p><strong>"Copy it now: it is shown only this once."</strong>
               " Clients send it as " <code>"Authorization: Bearer …"</code> ", " <code>"x-api-key"</code> " or " <code>"x-goog-api-key"</code> "."</p>
            <div class="field inline">
                <label for="new-key-value">"Client key"</label>
                <input id="new-key-value" type="text" readonly value=created.key.clone() class="secret"
                    on:focus=move |ev| {
                        if let Some(input) = ev.target().and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok()) {
                            input.select();
                        }
                    }/>
                <button type="button" on:click=move |_| copied.set(Some(key.with_value(|k| copy(k, "new-key-value"))))>"Copy"</button>
            </div>
            {move || copied.get().map(|ok| if ok {
                view! { <p class="flash done" role="status">"Copied."</p> }.into_any()
            } else {
                view! { <p class="flash failed" role="status">"Could not copy: select the key and copy it by hand."</p> }.into_any()
            })}
            <button type="button" on:click=move |_| dismiss.run(())>"Done, hide the key"</button>
        </section>
    }
}

#[component]
fn KeyRow(
    key: KeyView,
    confirm: RwSignal<Option<String>>,
    revoke: Callback<KeyView>,
) -> impl IntoView {
    let stored = StoredValue::new(key.clone());
    let id = key.id.clone();
    let name = key.name.clone();
    view! {
        <tr>
            <td>{key.name.clone()}</td>
            <td><code>{key.key_hint.clone()}</code></td>
            <td>{key.id.clone()}</td>
            <td>{format::datetime(key.created_at)}</td>
            <td class="actions">
                {move || if confirm.with(|c| c.as_deref() == Some(id.as_str())) {
                    view! {
                        <span class="confirm" role="group" aria-label=format!("Confirm revoking {name}")>
                            <span>"Revoke " {name.clone()} "? Clients using it stop working."</span>
                            <button type="button" class="danger" on:click=move |_| revoke.run(stored.get_value())>"Yes, revoke"</button>
                            <button type="button" on:click=move |_| confirm.set(None)>"Cancel"</button>
                        </span>
                    }.into_any()
                } else {
                    let id = id.clone();
                    view! {
                        <button type="button" class="danger" aria-label=format!("Revoke {name}")
                            on:click=move |_| confirm.set(Some(id.clone()))>"Revoke"</button>
                    }.into_any()
                }}
            </td>
        </tr>
    }
}

#[component]
pub fn Keys() -> impl IntoView {
    let api = use_api();
    let keys = {
        let api = api.clone();
        LocalResource::new(move || {
            let api = api.clone();
            async move { api.keys().await }
        })
    };
    let name = RwSignal::new(String::new());
    let created = RwSignal::new(None::<KeyCreated>);
    let error = RwSignal::new(None::<ApiFailure>);
    let flash = RwSignal::new(None::<Flash>);
    let confirm = RwSignal::new(None::<String>);
    let pending = RwSignal::new(false);

    let submit = {
        let api = api.clone();
        move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            let request = CreateKey {
                name: name.get_untracked().trim().to_owned(),
                ..CreateKey::default()
            };
            let api = api.clone();
            pending.set(true);
            spawn_local(async move {
                let result = api.create_key(&request).await;
                pending.set(false);
                match result {
                    Ok(key) => {
                        error.set(None);
                        name.set(String::new());
                        created.set(Some(key));
                        keys.refetch();
                    }
                    Err(e) => error.set(Some(e)),
                }
            });
        }
    };
    let revoke = Callback::new(move |key: KeyView| {
        let api = api.clone();
        spawn_local(async move {
            match api.delete_key(&key.id).await {
                Ok(()) => flash.set(Some(Flash::Done(format!("Revoked {}.", key.name)))),
                Err(e) => flash.set(Some(Flash::Failed(e.to_string()))),
            }
            confirm.set(None);
            keys.refetch();
        });
    });

    view! {
        <h1>"Client keys"</h1>
        <p class="lead">"Keys that applications use to call the proxy routes. Only a hint of each key is kept for display."</p>
        <form class="panel" on:submit=submit aria-labelledby="create-key-title">
            <h2 id="create-key-title">"Create a key"</h2>
            <div class="field inline">
                <label for="key-name">"Name"</label>
                <input id="key-name" type="text" required maxlength="200" placeholder="laptop" bind:value=name
                    aria-invalid=move || error.with(Option::is_some).then_some("true")/>
                <button type="submit" disabled=move || pending.get()>"Create key"</button>
            </div>
            {move || error.get().map(|e| view! { <p class="flash failed" role="alert">{e.to_string()}</p> })}
        </form>
        {move || created.get().map(|key| view! {
            <NewKey created=key dismiss=Callback::new(move |()| created.set(None))/>
        })}
        <FlashLine flash/>
        {resource_view(keys, move |list: Vec<KeyView>| {
            if list.is_empty() {
                return view! { <Empty><p>"No client keys yet: create one above to let an application in."</p></Empty> }.into_any();
            }
            view! {
                <div class="table-wrap">
                    <table>
                        <caption class="sr-only">"Client keys"</caption>
                        <thead>
                            <tr>
                                <th scope="col">"Name"</th>
                                <th scope="col">"Key"</th>
                                <th scope="col">"Id"</th>
                                <th scope="col">"Created"</th>
                                <th scope="col">"Actions"</th>
                            </tr>
                        </thead>
                        <tbody>
                            {list.into_iter().map(|key| view! { <KeyRow key confirm revoke/> }).collect_view()}
                        </tbody>
                    </table>
                </div>
            }.into_any()
        })}
    }
}
