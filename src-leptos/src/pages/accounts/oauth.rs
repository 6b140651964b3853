//! Sign in with an OAuth provider (`/api/oauth/*`): shown only when the gateway has
//! providers configured. `start` gives the provider's sign-in address, opened in a new
//! tab; the provider sends the browser back to the gateway's own callback, which adds the
//! account. When that address is not reachable from the browser (a gateway behind a
//! tunnel), the address the provider redirected to can be pasted here (`complete`).

use crate::api::ApiFailure;
use crate::components::{Flash, FlashLine};
use crate::session::use_api;
use leptos::prelude::*;
use leptos::task::spawn_local;
use switchyard_types::oauth::{OAuthProviderInfo, OAuthStarted, StartOAuth};

#[component]
pub fn OAuthSignIn(done: Callback<()>) -> impl IntoView {
    let api = use_api();
    let providers = {
        let api = api.clone();
        LocalResource::new(move || {
            let api = api.clone();
            async move { api.oauth_providers().await }
        })
    };
    let started = RwSignal::new(None::<(String, OAuthStarted)>);
    let pasted = RwSignal::new(String::new());
    let error = RwSignal::new(None::<ApiFailure>);
    let flash = RwSignal::new(None::<Flash>);
    let start = {
        let api = api.clone();
        Callback::new(move |name: String| {
            let api = api.clone();
            spawn_local(async move {
                let request = StartOAuth {
                    provider: name.clone(),
                    ..StartOAuth::default()
                };
                match api.oauth_start(&request).await {
                    Ok(s) => {
                        error.set(None);
                        started.set(Some((name, s)));
                    }
                    Err(e) => error.set(Some(e)),
                }
            });
        })
    };
    let complete = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let api = api.clone();
        let url = pasted.get_untracked().trim().to_owned();
        spawn_local(async move {
            match api.oauth_complete(&url).await {
                Ok(signed) => {
                    error.set(None);
                    started.set(None);
                    pasted.set(String::new());
                    flash.set(Some(Flash::Done(format!(
                        "Signed in: {} {}.",
                        signed.account.label,
                        if signed.created { "added" } else { "updated" }
                    ))));
                    done.run(());
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    let complete = StoredValue::new(complete);

    move || {
        // No providers (or no OAuth API on this gateway): nothing to offer.
        let list: Vec<OAuthProviderInfo> = match providers.get() {
            Some(Ok(list)) if !list.providers.is_empty() => list.providers,
            _ => return ().into_any(),
        };
        view! {
            <section class="panel oauth" aria-labelledby="oauth-title">
                <h2 id="oauth-title">"Sign in with a provider"</h2>
                <div class="buttons">
                    {list.into_iter().map(|p| {
                        let name = p.name.clone();
                        view! {
                            <button type="button" on:click=move |_| start.run(name.clone())>
                                {format!("Sign in with {}", p.name)}
                            </button>
                            <span class="sub">{format!("(adds a provider {} account)", p.provider)}</span>
                        }
                    }).collect_view()}
                </div>
                {move || started.get().map(|(name, s)| view! {
                    <p>
                        <a href=s.auth_url.clone() target="_blank" rel="noopener noreferrer">{format!("Open {name}'s sign-in page")}</a>
                        " (a new tab). When it is done the account appears below. If the tab cannot reach this gateway, paste the address it ended on:"
                    </p>
                    <form on:submit=move |ev| complete.with_value(|f| f(ev))>
                        <div class="field inline">
                            <label for="oauth-url">"Redirected address"</label>
                            <input id="oauth-url" type="url" required bind:value=pasted/>
                            <button type="submit">"Finish sign-in"</button>
                        </div>
                    </form>
                })}
                {move || error.get().map(|e| view! { <p class="flash failed" role="alert">{e.to_string()}</p> })}
                <FlashLine flash/>
            </section>
        }
        .into_any()
    }
}
