//! Add and edit forms. The add form adapts to the provider picked: its default base URL
//! and model patterns are shown, and `openai_compatible` requires a base URL. Input is
//! checked in the browser with the server's own rules (`switchyard-types` validation)
//! before it is sent; the server's answer names the field when it refuses.

use crate::api::ApiFailure;
use crate::session::use_api;
use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;
use switchyard_types::admin::{AccountView, CreateAccount, UpdateAccount};
use switchyard_types::{Provider, Tier};

/// `"a, b c"` → `["a", "b", "c"]`; nothing → `None` (the provider's defaults).
fn parse_models(text: &str) -> Option<Vec<String>> {
    let list: Vec<String> = text
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|m| !m.is_empty())
        .map(str::to_owned)
        .collect();
    (!list.is_empty()).then_some(list)
}

fn non_empty(text: &str) -> Option<String> {
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

fn base_url_help(provider: Provider) -> String {
    match provider.default_base_url() {
        Some(url) => format!("Optional; default {url}. OpenAI-style URLs end in /v1, Anthropic and Gemini have no path."),
        None => "Required for openai_compatible: the server's OpenAI-style URL, e.g. http://host:8000/v1.".to_owned(),
    }
}

fn models_help(provider: Provider) -> String {
    format!(
        "Glob patterns (* and ?), separated by commas or spaces. Empty: {}.",
        provider.default_models().join(", ")
    )
}

/// `aria-invalid` for a field the last error blamed.
fn invalid(
    error: RwSignal<Option<ApiFailure>>,
    field: &'static str,
) -> impl Fn() -> Option<&'static str> {
    move || {
        error.with(|e| {
            e.as_ref()
                .and_then(ApiFailure::field)
                .is_some_and(|f| f.starts_with(field))
                .then_some("true")
        })
    }
}

/// The error under a form.
#[component]
fn FormError(error: RwSignal<Option<ApiFailure>>) -> impl IntoView {
    move || {
        error
            .get()
            .map(|e| view! { <p class="flash failed" role="alert">{e.to_string()}</p> })
    }
}

#[component]
fn TierSelect(id: &'static str, tier: RwSignal<Tier>) -> impl IntoView {
    view! {
        <select id=id on:change=move |ev| {
            if let Ok(t) = event_target_value(&ev).parse::<Tier>() {
                tier.set(t);
            }
        }>
            {Tier::ALL.iter().map(|t| {
                let t = *t;
                view! { <option value=t.as_str() prop:selected=move || tier.get() == t>{t.as_str()}</option> }
            }).collect_view()}
        </select>
    }
}

#[component]
pub fn AddForm(saved: Callback<String>, cancel: Callback<()>) -> impl IntoView {
    let api = use_api();
    let provider = RwSignal::new(Provider::OpenAi);
    let label = RwSignal::new(String::new());
    let api_key = RwSignal::new(String::new());
    let base_url = RwSignal::new(String::new());
    let tier = RwSignal::new(Tier::Unknown);
    let models = RwSignal::new(String::new());
    let quota_scope = RwSignal::new(String::new());
    let enabled = RwSignal::new(true);
    let error = RwSignal::new(None::<ApiFailure>);
    let pending = RwSignal::new(false);

    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let request = CreateAccount {
            provider: provider.get_untracked(),
            label: label.get_untracked().trim().to_owned(),
            api_key: api_key.get_untracked().trim().to_owned(),
            base_url: non_empty(&base_url.get_untracked()),
            tier: Some(tier.get_untracked()),
            models: parse_models(&models.get_untracked()),
            enabled: Some(enabled.get_untracked()),
            quota_scope: non_empty(&quota_scope.get_untracked()),
            admin_key: None,
            display_order: None,
        };
        let api = api.clone();
        pending.set(true);
        spawn_local(async move {
            let result = api.create_account(&request).await;
            pending.set(false);
            match result {
                Ok(view) => {
                    error.set(None);
                    saved.run(format!("Added {} ({}).", view.label, view.id));
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };

    view! {
        <form class="panel" on:submit=submit aria-labelledby="add-account-title">
            <h2 id="add-account-title">"Add an account"</h2>
            <div class="grid">
                <div class="field">
                    <label for="acc-provider">"Provider"</label>
                    <select id="acc-provider" on:change=move |ev| {
                        if let Ok(p) = event_target_value(&ev).parse::<Provider>() {
                            provider.set(p);
                        }
                    }>
                        {Provider::ALL.iter().map(|p| {
                            let p = *p;
                            view! { <option value=p.as_str() prop:selected=move || provider.get() == p>{p.as_str()}</option> }
                        }).collect_view()}
                    </select>
                    <p class="help">{move || format!("Speaks the {} protocol.", provider.get().protocol())}</p>
                </div>
                <div class="field">
                    <label for="acc-label">"Label"</label>
                    <input id="acc-label" type="text" required maxlength="200" bind:value=label aria-invalid=invalid(error, "label")/>
                </div>
                <div class="field">
                    <label for="acc-key">"API key"</label>
                    <input id="acc-key" type="password" required autocomplete="off" bind:value=api_key aria-invalid=invalid(error, "api_key")/>
                    <p class="help">"Stored encrypted; never shown again (only a hint like sk-…abcd)."</p>
                </div>
                <div class="field">
                    <label for="acc-base-url">"Base URL"</label>
                    <input id="acc-base-url" type="url" bind:value=base_url aria-invalid=invalid(error, "base_url")
                        required=move || provider.get().default_base_url().is_none()
                        placeholder=move || provider.get().default_base_url().unwrap_or("https://host/v1")/>
                    <p class="help">{move || base_url_help(provider.get())}</p>
                </div>
                <div class="field">
                    <label for="acc-tier">"Tier"</label>
                    <TierSelect id="acc-tier" tier/>
                    <p class="help">"Routing prefers higher tiers."</p>
                </div>
                <div class="field">
                    <label for="acc-models">"Models"</label>
                    <input id="acc-models" type="text" bind:value=models aria-invalid=invalid(error, "models")
                        placeholder=move || provider.get().default_models().join(", ")/>
                    <p class="help">{move || models_help(provider.get())}</p>
                </div>
                <div class="field">
                    <label for="acc-scope">"Quota scope"</label>
                    <input id="acc-scope" type="text" maxlength="200" bind:value=quota_scope aria-invalid=invalid(error, "quota_scope")/>
                    <p class="help">"Accounts naming the same scope share lockouts and the quota snapshot (one project, one org). Gemini quotas are per Google Cloud project, not per key: pooling keys of one project adds no quota, so give them one scope."</p>
                </div>
                <div class="field check">
                    <input id="acc-enabled" type="checkbox" bind:checked=enabled/>
                    <label for="acc-enabled">"Enabled"</label>
                </div>
            </div>
            <FormError error/>
            <div class="buttons">
                <button type="submit" disabled=move || pending.get()>
                    {move || if pending.get() { "Adding…" } else { "Add account" }}
                </button>
                <button type="button" class="quiet" on:click=move |_| cancel.run(())>"Cancel"</button>
            </div>
        </form>
    }
}

#[component]
pub fn EditForm(
    account: AccountView,
    saved: Callback<String>,
    cancel: Callback<()>,
) -> impl IntoView {
    let api = use_api();
    let original = StoredValue::new(account.clone());
    let label = RwSignal::new(account.label.clone());
    let api_key = RwSignal::new(String::new());
    let base_url = RwSignal::new(account.base_url.clone());
    let tier = RwSignal::new(account.tier);
    let models = RwSignal::new(account.models.join(", "));
    let quota_scope = RwSignal::new(account.quota_scope.clone().unwrap_or_default());
    let error = RwSignal::new(None::<ApiFailure>);
    let pending = RwSignal::new(false);

    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let old = original.get_value();
        let changed = |new: String, old: &str| (new.trim() != old).then(|| new.trim().to_owned());
        let new_models = parse_models(&models.get_untracked()).unwrap_or_default();
        let request = UpdateAccount {
            label: changed(label.get_untracked(), &old.label),
            api_key: non_empty(&api_key.get_untracked()),
            base_url: changed(base_url.get_untracked(), &old.base_url),
            tier: (tier.get_untracked() != old.tier).then(|| tier.get_untracked()),
            models: (new_models != old.models).then_some(new_models),
            enabled: None,
            quota_scope: changed(
                quota_scope.get_untracked(),
                old.quota_scope.as_deref().unwrap_or_default(),
            ),
            admin_key: None,
            display_order: None,
        };
        let api = api.clone();
        pending.set(true);
        spawn_local(async move {
            let result = api.update_account(&old.id, &request).await;
            pending.set(false);
            match result {
                Ok(view) => {
                    error.set(None);
                    saved.run(format!("Saved {}.", view.label));
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };

    let title = format!("Edit {} ({})", account.label, account.provider);
    view! {
        <form class="panel" on:submit=submit aria-labelledby="edit-account-title">
            <h2 id="edit-account-title">{title}</h2>
            <div class="grid">
                <div class="field">
                    <label for="edit-label">"Label"</label>
                    <input id="edit-label" type="text" required maxlength="200" bind:value=label aria-invalid=invalid(error, "label")/>
                </div>
                <div class="field">
                    <label for="edit-key">"New API key"</label>
                    <input id="edit-key" type="password" autocomplete="off" bind:value=api_key aria-invalid=invalid(error, "api_key")
                        placeholder=account.api_key_hint.clone()/>
                    <p class="help">"Leave empty to keep the current key."</p>
                </div>
                <div class="field">
                    <label for="edit-base-url">"Base URL"</label>
                    <input id="edit-base-url" type="text" bind:value=base_url aria-invalid=invalid(error, "base_url")/>
                    <p class="help">"Empty resets it to the provider's default."</p>
                </div>
                <div class="field">
                    <label for="edit-tier">"Tier"</label>
                    <TierSelect id="edit-tier" tier/>
                </div>
                <div class="field">
                    <label for="edit-models">"Models"</label>
                    <input id="edit-models" type="text" bind:value=models aria-invalid=invalid(error, "models")/>
                    <p class="help">{models_help(account.provider)}</p>
                </div>
                <div class="field">
                    <label for="edit-scope">"Quota scope"</label>
                    <input id="edit-scope" type="text" maxlength="200" bind:value=quota_scope aria-invalid=invalid(error, "quota_scope")/>
                    <p class="help">"Empty removes the scope."</p>
                </div>
            </div>
            <FormError error/>
            <div class="buttons">
                <button type="submit" disabled=move || pending.get()>
                    {move || if pending.get() { "Saving…" } else { "Save" }}
                </button>
                <button type="button" class="quiet" on:click=move |_| cancel.run(())>"Cancel"</button>
            </div>
        </form>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn models_split_on_commas_and_spaces() {
        assert_eq!(
            parse_models("gpt-*, o1*\nclaude-3 "),
            Some(vec![
                "gpt-*".to_owned(),
                "o1*".to_owned(),
                "claude-3".to_owned()
            ])
        );
        assert_eq!(parse_models(" , "), None);
    }
}
