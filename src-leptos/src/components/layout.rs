//! The frame around every signed-in page: the navigation and the sign-out button.

use crate::session::use_session;
use leptos::prelude::*;
use leptos_router::components::A;

/// Pages in the navigation, in order: `(path, title)`.
pub const PAGES: [(&str, &str); 9] = [
    ("/", "Overview"),
    ("/usage", "Usage"),
    ("/logs", "Request log"),
    ("/accounts", "Accounts"),
    ("/keys", "Client keys"),
    ("/models", "Models & routing"),
    ("/mapping", "Model mapping"),
    ("/resilience", "Resilience"),
    ("/settings", "Settings"),
];

#[component]
pub fn Shell(children: Children) -> impl IntoView {
    let session = use_session();
    view! {
        <a class="skip" href="#main">"Skip to content"</a>
        <header class="top">
            <span class="brand">"Switchyard"</span>
            <nav aria-label="Main">
                <ul>
                    {PAGES
                        .iter()
                        .map(|(path, title)| {
                            view! {
                                <li>
                                    <A href=*path exact=true>
                                        {*title}
                                    </A>
                                </li>
                            }
                        })
                        .collect_view()}
                </ul>
            </nav>
            <button type="button" class="quiet" on:click=move |_| session.sign_out(None)>
                "Sign out"
            </button>
        </header>
        <main id="main" tabindex="-1">
            {children()}
        </main>
    }
}
