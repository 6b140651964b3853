//! Settings (read-only): what the API describes about itself. The gateway has no
//! effective-configuration endpoint yet; the page says so rather than guess.

use crate::components::resource_view;
use crate::session::{use_api, use_session};
use leptos::prelude::*;
use serde_json::Value;

/// `(path, [(METHOD, summary)])` from an OpenAPI document, in document order.
fn routes(doc: &Value) -> Vec<(String, Vec<(String, String)>)> {
    let Some(paths) = doc.get("paths").and_then(Value::as_object) else {
        return Vec::new();
    };
    paths
        .iter()
        .map(|(path, item)| {
            let methods = item
                .as_object()
                .map(|ops| {
                    ops.iter()
                        .filter(|(m, _)| {
                            matches!(m.as_str(), "get" | "post" | "put" | "patch" | "delete")
                        })
                        .map(|(m, op)| {
                            let summary = op
                                .get("summary")
                                .and_then(Value::as_str)
                                .unwrap_or_default();
                            (m.to_uppercase(), summary.to_owned())
                        })
                        .collect()
                })
                .unwrap_or_default();
            (path.clone(), methods)
        })
        .collect()
}

fn text(doc: &Value, pointer: &str) -> String {
    doc.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or("—")
        .to_owned()
}

#[component]
pub fn Settings() -> impl IntoView {
    let api = use_api();
    let session = use_session();
    let doc = LocalResource::new(move || {
        let api = api.clone();
        async move { api.openapi().await }
    });
    view! {
        <h1>"Settings"</h1>
        <p class="note" role="note">
            <strong>"Effective configuration: "</strong>
            "waits for the API: the gateway does not expose its running configuration yet. "
            "Settings come from defaults, the TOML file, the environment and flags (see the README)."
        </p>
        <section class="panel">
            <h2>"This session"</h2>
            <p>"Signed in with the admin key, kept in this browser tab's session storage only."</p>
            <button type="button" on:click=move |_| session.sign_out(None)>"Sign out"</button>
        </section>
        {resource_view(doc, |doc: Value| {
            let list = routes(&doc);
            view! {
                <section>
                    <h2>"API"</h2>
                    <dl class="facts">
                        <dt>"Name"</dt><dd>{text(&doc, "/info/title")}</dd>
                        <dt>"Version"</dt><dd>{text(&doc, "/info/version")}</dd>
                        <dt>"OpenAPI"</dt><dd>{text(&doc, "/openapi")}</dd>
                        <dt>"Description"</dt><dd>{text(&doc, "/info/description")}</dd>
                    </dl>
                    <h2>"Routes"</h2>
                    <dl class="routes">
                        {list.into_iter().map(|(path, methods)| view! {
                            <dt><code>{path}</code></dt>
                            {methods.into_iter().map(|(m, s)| view! {
                                <dd><strong>{m}</strong> " " {s}</dd>
                            }).collect_view()}
                        }).collect_view()}
                    </dl>
                </section>
            }
        })}
    }
}
