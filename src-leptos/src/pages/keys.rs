//! Client keys: create (the key is shown once, with a copy button) with its policy
//! (rate limits, budget, allowed models, expiry, enabled), list with the budget used,
//! edit the policy (`PATCH /api/keys/{id}`), enable / disable, revoke.

use crate::api::ApiFailure;
use crate::components::{Empty, Flash, FlashLine, resource_view};
use crate::format;
use crate::session::use_api;
use leptos::prelude::*;
use leptos::task::spawn_local;
use switchyard_types::admin::{BudgetPeriod, CreateKey, KeyCreated, KeyView, UpdateKey};
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

/// The policy fields of the create and edit forms, as typed.
#[derive(Debug, Clone, Copy)]
struct Policy {
    name: RwSignal<String>,
    rpm: RwSignal<String>,
    tpm: RwSignal<String>,
    budget: RwSignal<String>,
    period: RwSignal<BudgetPeriod>,
    models: RwSignal<String>,
    expires: RwSignal<String>,
    enabled: RwSignal<bool>,
}

/// `""` → `None`; else the number, or the field named in the error.
fn number<T: std::str::FromStr>(field: &str, text: &str) -> Result<Option<T>, ApiFailure> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    text.parse().map(Some).map_err(|_| ApiFailure::Invalid {
        field: field.to_owned(),
        message: "must be a number (or empty for no limit)".to_owned(),
    })
}

/// `"a, b c"` → `["a", "b", "c"]`; nothing → `None` (every model).
fn globs(text: &str) -> Option<Vec<String>> {
    let list: Vec<String> = text
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|m| !m.is_empty())
        .map(str::to_owned)
        .collect();
    (!list.is_empty()).then_some(list)
}

fn expiry(text: &str) -> Result<Option<i64>, ApiFailure> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    format::parse_local_input(text)
        .map(Some)
        .ok_or_else(|| ApiFailure::Invalid {
            field: "expires_at".to_owned(),
            message: "must be a date and time".to_owned(),
        })
}

impl Policy {
    fn new() -> Self {
        Self {
            name: RwSignal::new(String::new()),
            rpm: RwSignal::new(String::new()),
            tpm: RwSignal::new(String::new()),
            budget: RwSignal::new(String::new()),
            period: RwSignal::new(BudgetPeriod::Month),
            models: RwSignal::new(String::new()),
            expires: RwSignal::new(String::new()),
            enabled: RwSignal::new(true),
        }
    }

    fn of(key: &KeyView) -> Self {
        let p = Self::new();
        p.name.set(key.name.clone());
        p.rpm
            .set(key.rpm.map(|v| v.to_string()).unwrap_or_default());
        p.tpm
            .set(key.tpm.map(|v| v.to_string()).unwrap_or_default());
        p.budget
            .set(key.budget_usd.map(|v| v.to_string()).unwrap_or_default());
        p.period.set(key.budget_period);
        p.models.set(
            key.models
                .as_ref()
                .map(|m| m.join(", "))
                .unwrap_or_default(),
        );
        p.expires
            .set(key.expires_at.map(format::local_input).unwrap_or_default());
        p.enabled.set(key.enabled);
        p
    }

    fn create(&self) -> Result<CreateKey, ApiFailure> {
        Ok(CreateKey {
            name: self.name.get_untracked().trim().to_owned(),
            rpm: number("rpm", &self.rpm.get_untracked())?,
            tpm: number("tpm", &self.tpm.get_untracked())?,
            budget_usd: number("budget_usd", &self.budget.get_untracked())?,
            budget_period: Some(self.period.get_untracked()),
            models: globs(&self.models.get_untracked()),
            expires_at: expiry(&self.expires.get_untracked())?,
            enabled: Some(self.enabled.get_untracked()),
            note: None,
        })
    }

    /// Every field is sent: an empty one clears the limit (`null`).
    fn update(&self) -> Result<UpdateKey, ApiFailure> {
        Ok(UpdateKey {
            name: Some(self.name.get_untracked().trim().to_owned()),
            rpm: Some(number("rpm", &self.rpm.get_untracked())?),
            tpm: Some(number("tpm", &self.tpm.get_untracked())?),
            budget_usd: Some(number("budget_usd", &self.budget.get_untracked())?),
            budget_period: Some(self.period.get_untracked()),
            models: Some(globs(&self.models.get_untracked())),
            expires_at: Some(expiry(&self.expires.get_untracked())?),
            enabled: Some(self.enabled.get_untracked()),
            note: None,
        })
    }
}

/// `aria-invalid` for the field the last error blamed.
fn invalid(
    error: RwSignal<Option<ApiFailure>>,
    field: &'static str,
) -> impl Fn() -> Option<&'static str> {
    move || {
        error.with(|e| {
            e.as_ref()
                .and_then(ApiFailure::field)
                .is_some_and(|f| f == field)
                .then_some("true")
        })
    }
}

/// The limit, budget, models, expiry and enabled fields (ids prefixed with `prefix`).
#[component]
fn PolicyFields(
    prefix: &'static str,
    policy: Policy,
    error: RwSignal<Option<ApiFailure>>,
) -> impl IntoView {
    let id = move |f: &str| format!("{prefix}-{f}");
    view! {
        <div class="grid">
            <div class="field">
                <label for=id("rpm")>"Requests per minute"</label>
                <input id=id("rpm") type="number" step="1" placeholder="no limit"
                    bind:value=policy.rpm aria-invalid=invalid(error, "rpm")/>
            </div>
            <div class="field">
                <label for=id("tpm")>"Tokens per minute"</label>
                <input id=id("tpm") type="number" step="1" placeholder="no limit"
                    bind:value=policy.tpm aria-invalid=invalid(error, "tpm")/>
            </div>
            <div class="field">
                <label for=id("budget")>"Budget (USD)"</label>
                <input id=id("budget") type="number" step="any" placeholder="no budget"
                    bind:value=policy.budget aria-invalid=invalid(error, "budget_usd")/>
            </div>
            <div class="field">
                <label for=id("period")>"Budget period"</label>
                <select id=id("period") on:change=move |ev| {
                    if let Some(p) = BudgetPeriod::parse(&event_target_value(&ev)) {
                        policy.period.set(p);
                    }
                }>
                    {[BudgetPeriod::Day, BudgetPeriod::Month, BudgetPeriod::Total].into_iter().map(|p| view! {
                        <option value=p.as_str() prop:selected=move || policy.period.get() == p>{p.phrase()}</option>
                    }).collect_view()}
                </select>
            </div>
            <div class="field">
                <label for=id("models")>"Allowed models"</label>
                <input id=id("models") type="text" placeholder="all models" bind:value=policy.models
                    aria-invalid=invalid(error, "models")/>
                <p class="help">"Glob patterns (* and ?), separated by commas. Empty: every model."</p>
            </div>
            <div class="field">
                <label for=id("expires")>"Expires"</label>
                <input id=id("expires") type="datetime-local" bind:value=policy.expires
                    aria-invalid=invalid(error, "expires_at")/>
                <p class="help">"Empty: never."</p>
            </div>
            <div class="field check">
                <input id=id("enabled") type="checkbox" bind:checked=policy.enabled/>
                <label for=id("enabled")>"Enabled"</label>
            </div>
        </div>
    }
}

/// Edits one key's name and policy.
#[component]
fn EditKey(key: KeyView, saved: Callback<String>, cancel: Callback<()>) -> impl IntoView {
    let api = use_api();
    let policy = Policy::of(&key);
    let error = RwSignal::new(None::<ApiFailure>);
    let pending = RwSignal::new(false);
    let id = key.id.clone();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let request = match policy.update() {
            Ok(r) => r,
            Err(e) => {
                error.set(Some(e));
                return;
            }
        };
        let (api, id) = (api.clone(), id.clone());
        pending.set(true);
        spawn_local(async move {
            let result = api.update_key(&id, &request).await;
            pending.set(false);
            match result {
                Ok(view) => saved.run(format!("Saved {}.", view.name)),
                Err(e) => error.set(Some(e)),
            }
        });
    };
    view! {
        <form class="panel edit-key" on:submit=submit aria-labelledby="edit-key-title">
            <h2 id="edit-key-title">{format!("Edit key \u{201c}{}\u{201d}", key.name)}</h2>
            <div class="field">
                <label for="edit-key-name">"Name"</label>
                <input id="edit-key-name" type="text" required maxlength="200" bind:value=policy.name
                    aria-invalid=invalid(error, "name")/>
            </div>
            <PolicyFields prefix="edit-key" policy error/>
            {move || error.get().map(|e| view! { <p class="flash failed" role="alert">{e.to_string()}</p> })}
            <div class="buttons">
                <button type="submit" disabled=move || pending.get()>"Save key"</button>
                <button type="button" class="quiet" on:click=move |_| cancel.run(())>"Cancel"</button>
            </div>
        </form>
    }
}

fn limits_text(key: &KeyView) -> String {
    let mut parts = Vec::new();
    if let Some(r) = key.rpm {
        parts.push(format!("{} rpm", format::grouped(u64::from(r))));
    }
    if let Some(t) = key.tpm {
        parts.push(format!("{} tpm", format::grouped(t)));
    }
    if parts.is_empty() {
        "no limit".to_owned()
    } else {
        parts.join(" · ")
    }
}

/// The budget cell: used of budget with a meter, or what was spent without a budget.
fn budget_cell(key: &KeyView) -> impl IntoView + use<> {
    let used = key.budget_used_usd;
    match key.budget_usd {
        Some(budget) => {
            let ratio = if budget > 0.0 {
                (used / budget).clamp(0.0, 1.0)
            } else {
                1.0
            };
            let class = if ratio >= 1.0 {
                "meter bad"
            } else if ratio >= 0.8 {
                "meter warn"
            } else {
                "meter"
            };
            view! {
                <span class="budget">{format!("{} of {} {}", format::usd(used), format::usd(budget), key.budget_period.phrase())}</span>
                <span class=class role="img" aria-label=format!("{:.0}% of the budget used", ratio * 100.0)>
                    <span style=format!("width:{:.1}%", ratio * 100.0)></span>
                </span>
            }
            .into_any()
        }
        None => {
            view! { <span class="sub">{format!("no budget ({} spent)", format::usd(used))}</span> }
                .into_any()
        }
    }
}

#[component]
fn KeyRow(
    key: KeyView,
    confirm: RwSignal<Option<String>>,
    editing: RwSignal<Option<KeyView>>,
    revoke: Callback<KeyView>,
    set_enabled: Callback<(KeyView, bool)>,
) -> impl IntoView {
    let stored = StoredValue::new(key.clone());
    let id = key.id.clone();
    let name = key.name.clone();
    let now = format::now_unix();
    let expired = key.expires_at.is_some_and(|t| t <= now);
    let enabled = key.enabled;
    view! {
        <tr>
            <td data-label="Name">
                <span class="label">{key.name.clone()}</span>
                <span class="sub"><code>{key.key_hint.clone()}</code> " · " {key.id.clone()}</span>
                <span class="sub">"created " {format::datetime(key.created_at)}</span>
            </td>
            <td data-label="Limits">{limits_text(&key)}</td>
            <td data-label="Budget">{budget_cell(&key)}</td>
            <td data-label="Models">{match &key.models {
                Some(m) => view! { <code>{m.join(", ")}</code> }.into_any(),
                None => view! { <span class="sub">"all"</span> }.into_any(),
            }}</td>
            <td data-label="Expires">{match key.expires_at {
                Some(t) if expired => view! { <span class="badge bad">"expired " {format::datetime(t)}</span> }.into_any(),
                Some(t) => view! { <span>{format::datetime(t)}</span> }.into_any(),
                None => view! { <span class="sub">"never"</span> }.into_any(),
            }}</td>
            <td data-label="State">{if enabled {
                view! { <span class="badge ok">"enabled"</span> }.into_any()
            } else {
                view! { <span class="badge off">"disabled"</span> }.into_any()
            }}</td>
            <td data-label="Actions" class="actions">
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
                    let verb = if enabled { "Disable" } else { "Enable" };
                    view! {
                        <button type="button" aria-label=format!("Edit {name}")
                            on:click=move |_| editing.set(Some(stored.get_value()))>"Edit"</button>
                        <button type="button" aria-label=format!("{verb} {name}")
                            on:click=move |_| set_enabled.run((stored.get_value(), !enabled))>{verb}</button>
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
    let policy = Policy::new();
    let created = RwSignal::new(None::<KeyCreated>);
    let error = RwSignal::new(None::<ApiFailure>);
    let flash = RwSignal::new(None::<Flash>);
    let confirm = RwSignal::new(None::<String>);
    let editing = RwSignal::new(None::<KeyView>);
    let pending = RwSignal::new(false);

    let submit = {
        let api = api.clone();
        move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            let request = match policy.create() {
                Ok(r) => r,
                Err(e) => {
                    error.set(Some(e));
                    return;
                }
            };
            let api = api.clone();
            pending.set(true);
            spawn_local(async move {
                let result = api.create_key(&request).await;
                pending.set(false);
                match result {
                    Ok(key) => {
                        error.set(None);
                        policy.name.set(String::new());
                        policy.rpm.set(String::new());
                        policy.tpm.set(String::new());
                        policy.budget.set(String::new());
                        policy.models.set(String::new());
                        policy.expires.set(String::new());
                        policy.enabled.set(true);
                        policy.period.set(BudgetPeriod::Month);
                        created.set(Some(key));
                        keys.refetch();
                    }
                    Err(e) => error.set(Some(e)),
                }
            });
        }
    };
    let revoke = {
        let api = api.clone();
        Callback::new(move |key: KeyView| {
            let api = api.clone();
            spawn_local(async move {
                match api.delete_key(&key.id).await {
                    Ok(()) => flash.set(Some(Flash::Done(format!("Revoked {}.", key.name)))),
                    Err(e) => flash.set(Some(Flash::Failed(e.to_string()))),
                }
                confirm.set(None);
                keys.refetch();
            });
        })
    };
    let set_enabled = Callback::new(move |(key, enabled): (KeyView, bool)| {
        let api = api.clone();
        spawn_local(async move {
            let request = UpdateKey {
                enabled: Some(enabled),
                ..UpdateKey::default()
            };
            match api.update_key(&key.id, &request).await {
                Ok(_) => flash.set(Some(Flash::Done(format!(
                    "{} {}.",
                    if enabled { "Enabled" } else { "Disabled" },
                    key.name
                )))),
                Err(e) => flash.set(Some(Flash::Failed(e.to_string()))),
            }
            keys.refetch();
        });
    });
    let saved = Callback::new(move |message: String| {
        flash.set(Some(Flash::Done(message)));
        editing.set(None);
        keys.refetch();
    });

    view! {
        <h1>"Client keys"</h1>
        <p class="lead">"Keys that applications use to call the proxy routes, each with its own limits. Only a hint of each key is kept for display."</p>
        <form class="panel create-key" on:submit=submit aria-labelledby="create-key-title">
            <h2 id="create-key-title">"Create a key"</h2>
            <div class="field inline">
                <label for="key-name">"Name"</label>
                <input id="key-name" type="text" required maxlength="200" placeholder="laptop" bind:value=policy.name
                    aria-invalid=invalid(error, "name")/>
                <button type="submit" disabled=move || pending.get()>"Create key"</button>
            </div>
            <details>
                <summary>"Limits, budget, models and expiry (optional)"</summary>
                <PolicyFields prefix="key" policy error/>
            </details>
            {move || error.get().map(|e| view! { <p class="flash failed" role="alert">{e.to_string()}</p> })}
        </form>
        {move || created.get().map(|key| view! {
            <NewKey created=key dismiss=Callback::new(move |()| created.set(None))/>
        })}
        {move || editing.get().map(|key| view! {
            <EditKey key saved cancel=Callback::new(move |()| editing.set(None))/>
        })}
        <FlashLine flash/>
        {resource_view(keys, move |list: Vec<KeyView>| {
            if list.is_empty() {
                return view! { <Empty><p>"No client keys yet: create one above to let an application in."</p></Empty> }.into_any();
            }
            view! {
                <div class="table-wrap">
                    <table class="keys stack">
                        <caption class="sr-only">"Client keys"</caption>
                        <thead>
                            <tr>
                                <th scope="col">"Name"</th>
                                <th scope="col">"Limits"</th>
                                <th scope="col">"Budget"</th>
                                <th scope="col">"Models"</th>
                                <th scope="col">"Expires"</th>
                                <th scope="col">"State"</th>
                                <th scope="col">"Actions"</th>
                            </tr>
                        </thead>
                        <tbody>
                            {list.into_iter().map(|key| view! { <KeyRow key confirm editing revoke set_enabled/> }).collect_view()}
                        </tbody>
                    </table>
                </div>
            }.into_any()
        })}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_globs_parse_or_name_the_field() {
        assert_eq!(number::<u32>("rpm", " "), Ok(None));
        assert_eq!(number::<u32>("rpm", "60"), Ok(Some(60)));
        assert_eq!(
            number::<u32>("rpm", "6x")
                .err()
                .and_then(|e| e.field().map(str::to_owned)),
            Some("rpm".to_owned())
        );
        assert_eq!(globs(""), None);
        assert_eq!(
            globs("gpt-*, claude-* x"),
            Some(vec!["gpt-*".into(), "claude-*".into(), "x".into()])
        );
    }
}
