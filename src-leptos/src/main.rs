//! Switchyard's browser dashboard: a Leptos client-side app served by the gateway at `/`
//! and talking to the management API (`/api/*`) with the admin key.
//!
//! # Layout
//! - [`app`]: the session gate, the frame and the routes.
//! - [`session`]: the admin key, kept in `sessionStorage` for the browser session.
//! - [`api`]: the typed client (DTOs from `switchyard-types`, errors mirroring the
//!   API's error body) and the reader of `/api/metrics`.
//! - [`components`]: loading / empty / error states, pager, the SVG chart, the frame.
//! - [`pages`]: one module per page (login, overview, usage, request log, accounts,
//!   client keys, models & routing, model mapping, resilience, settings).
//! - [`download`]: saving generated text (CSV, JSON) as a file through a Blob URL.
//! - [`format`]: times, durations and numbers as the pages show them.

mod api;
mod app;
mod components;
mod download;
mod format;
mod pages;
mod session;

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(app::App);
}
