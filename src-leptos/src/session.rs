//! The admin key for this browser session: entered once on the login page, kept in
//! `sessionStorage` (gone when the tab closes, never in `localStorage` or a cookie).

use crate::api::Api;
use leptos::prelude::*;

const STORAGE_KEY: &str = "switchyard.admin_key";

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.session_storage().ok().flatten()
}

/// Who is signed in, shared through the context.
#[derive(Debug, Clone, Copy)]
pub struct Session {
    key: RwSignal<Option<String>>,
    /// Why the user was signed out, shown on the login page.
    pub notice: RwSignal<Option<String>>,
}

impl Session {
    /// The session as the browser kept it.
    pub fn restore() -> Self {
        let key = storage()
            .and_then(|s| s.get_item(STORAGE_KEY).ok().flatten())
            .filter(|k| !k.is_empty());
        Self {
            key: RwSignal::new(key),
            notice: RwSignal::new(None),
        }
    }

    pub fn signed_in(&self) -> bool {
        self.key.with(Option::is_some)
    }

    pub fn sign_in(&self, key: String) {
        if let Some(s) = storage() {
            // Without storage the key lives until the page reloads; nothing else to do.
            let _ = s.set_item(STORAGE_KEY, &key);
        }
        self.notice.set(None);
        self.key.set(Some(key));
    }

    pub fn sign_out(&self, notice: Option<&str>) {
        if let Some(s) = storage() {
            let _ = s.remove_item(STORAGE_KEY);
        }
        self.notice.set(notice.map(str::to_owned));
        self.key.set(None);
    }

    /// A client with the current key (empty when signed out: the server refuses it).
    pub fn api(&self) -> Api {
        let key = self.key.get_untracked().unwrap_or_default();
        Api::new(key, Some(*self))
    }
}

/// The session from the context provided by [`crate::app::App`].
pub fn use_session() -> Session {
    expect_context::<Session>()
}

/// A client for the current session.
pub fn use_api() -> Api {
    use_session().api()
}
