//! The typed client of the management API: one method per route, the DTOs from
//! `switchyard-types` (shared with the server), errors as [`ApiFailure`].
//!
//! A `401` on any call signs the session out (the key was rotated or is wrong), so every
//! page falls back to the login form with a notice instead of showing stale data.

pub mod http;
pub mod metrics;

use crate::session::Session;
pub use http::ApiFailure;
use http::{Method, json, send, text};
use serde::Serialize;
use serde::de::DeserializeOwned;
use switchyard_types::admin::{
    AccountList, AccountView, CreateAccount, CreateKey, KeyCreated, KeyList, KeyView,
    UpdateAccount, first_violation,
};
use switchyard_types::resilience::{
    AimdList, CircuitList, Cleared, HealthList, LockoutList, SessionList,
};
use validator::Validate;

/// Result of an API call.
pub type ApiResult<T> = Result<T, ApiFailure>;

/// A client bound to one admin key.
#[derive(Debug, Clone)]
pub struct Api {
    key: String,
    /// Signed out on `401`; `None` for the login check itself.
    session: Option<Session>,
}

const NO_BODY: Option<&()> = None;

fn segment(id: &str) -> String {
    String::from(js_sys::encode_uri_component(id))
}

fn check(value: &impl Validate) -> ApiResult<()> {
    value.validate().map_err(|errors| {
        let (field, message) = first_violation(&errors);
        ApiFailure::Invalid { field, message }
    })
}

impl Api {
    pub fn new(key: String, session: Option<Session>) -> Self {
        Self { key, session }
    }

    async fn raw(
        &self,
        method: Method,
        path: &str,
        body: Option<&impl Serialize>,
    ) -> ApiResult<gloo_net::http::Response> {
        let result = send(&self.key, method, path, body).await;
        if let (Err(failure), Some(session)) = (&result, self.session)
            && failure.is_unauthorized()
        {
            session.sign_out(Some("The admin key was refused; sign in again."));
        }
        result
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&impl Serialize>,
    ) -> ApiResult<T> {
        json(self.raw(method, path, body).await?).await
    }

    pub async fn accounts(&self) -> ApiResult<Vec<AccountView>> {
        let list: AccountList = self.call(Method::Get, "/api/accounts", NO_BODY).await?;
        Ok(list.accounts)
    }

    pub async fn create_account(&self, request: &CreateAccount) -> ApiResult<AccountView> {
        check(request)?;
        self.call(Method::Post, "/api/accounts", Some(request))
            .await
    }

    pub async fn update_account(
        &self,
        id: &str,
        request: &UpdateAccount,
    ) -> ApiResult<AccountView> {
        check(request)?;
        let path = format!("/api/accounts/{}", segment(id));
        self.call(Method::Patch, &path, Some(request)).await
    }

    pub async fn delete_account(&self, id: &str) -> ApiResult<()> {
        let path = format!("/api/accounts/{}", segment(id));
        self.raw(Method::Delete, &path, NO_BODY).await.map(drop)
    }

    pub async fn keys(&self) -> ApiResult<Vec<KeyView>> {
        let list: KeyList = self.call(Method::Get, "/api/keys", NO_BODY).await?;
        Ok(list.keys)
    }

    pub async fn create_key(&self, request: &CreateKey) -> ApiResult<KeyCreated> {
        check(request)?;
        self.call(Method::Post, "/api/keys", Some(request)).await
    }

    pub async fn delete_key(&self, id: &str) -> ApiResult<()> {
        let path = format!("/api/keys/{}", segment(id));
        self.raw(Method::Delete, &path, NO_BODY).await.map(drop)
    }

    pub async fn health(&self) -> ApiResult<HealthList> {
        self.call(Method::Get, "/api/resilience/health", NO_BODY)
            .await
    }

    pub async fn circuits(&self) -> ApiResult<CircuitList> {
        self.call(Method::Get, "/api/resilience/circuits", NO_BODY)
            .await
    }

    pub async fn aimd(&self) -> ApiResult<AimdList> {
        self.call(Method::Get, "/api/resilience/aimd", NO_BODY)
            .await
    }

    pub async fn lockouts(&self) -> ApiResult<LockoutList> {
        self.call(Method::Get, "/api/resilience/lockouts", NO_BODY)
            .await
    }

    pub async fn sessions(&self) -> ApiResult<SessionList> {
        self.call(Method::Get, "/api/resilience/sessions", NO_BODY)
            .await
    }

    /// Clears every lockout, or those of one account's quota scope.
    pub async fn clear_lockouts(&self, account: Option<&str>) -> ApiResult<Cleared> {
        let path = match account {
            Some(id) => format!("/api/resilience/lockouts/{}", segment(id)),
            None => "/api/resilience/lockouts".to_owned(),
        };
        self.call(Method::Delete, &path, NO_BODY).await
    }

    pub async fn clear_sessions(&self) -> ApiResult<Cleared> {
        self.call(Method::Delete, "/api/resilience/sessions", NO_BODY)
            .await
    }

    /// The Prometheus text of `/api/metrics` (see [`metrics::parse`]).
    pub async fn metrics(&self) -> ApiResult<String> {
        text(self.raw(Method::Get, "/api/metrics", NO_BODY).await?).await
    }

    /// `/api/openapi.json`, kept as JSON: the settings page only lists what it holds.
    pub async fn openapi(&self) -> ApiResult<serde_json::Value> {
        self.call(Method::Get, "/api/openapi.json", NO_BODY).await
    }
}
