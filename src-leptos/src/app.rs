//! The application: the session gate (login page until a key is accepted), the frame
//! and the routes. Paths are real URLs; the server answers any non-API path with the
//! index page, so a reload or a bookmark lands on the same page.

use crate::components::layout::Shell;
use crate::pages;
use crate::session::Session;
use leptos::prelude::*;
use leptos_router::components::{Route, Router, Routes};
use leptos_router::path;

#[component]
pub fn App() -> impl IntoView {
    let session = Session::restore();
    provide_context(session);
    view! {
        <Router>
            <Show
                when=move || session.signed_in()
                fallback=|| view! { <pages::login::Login/> }
            >
                <Shell>
                    <Routes fallback=|| view! { <pages::NotFound/> }>
                        <Route path=path!("/") view=pages::overview::Overview/>
                        <Route path=path!("/accounts") view=pages::accounts::Accounts/>
                        <Route path=path!("/keys") view=pages::keys::Keys/>
                        <Route path=path!("/usage") view=pages::usage::Usage/>
                        <Route path=path!("/logs") view=pages::logs::Logs/>
                        <Route path=path!("/models") view=pages::models::Models/>
                        <Route path=path!("/mapping") view=pages::mapping::Mapping/>
                        <Route path=path!("/resilience") view=pages::resilience::Resilience/>
                        <Route path=path!("/settings") view=pages::settings::Settings/>
                    </Routes>
                </Shell>
            </Show>
        </Router>
    }
}
