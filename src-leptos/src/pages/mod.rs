//! One module per page.

pub mod accounts;
pub mod keys;
pub mod login;
pub mod logs;
pub mod mapping;
pub mod models;
pub mod overview;
pub mod resilience;
pub mod settings;
pub mod usage;

use leptos::prelude::*;
use leptos_router::components::A;

#[component]
pub fn NotFound() -> impl IntoView {
    view! {
        <h1>"Page not found"</h1>
        <p>"There is no dashboard page here. " <A href="/">"Go to the overview"</A></p>
    }
}
