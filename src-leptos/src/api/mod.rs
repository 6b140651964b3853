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
use switchyard_types::accounts::{ImportResult, VerifyResult};
use switchyard_types::admin::{
    AccountList, AccountView, CreateAccount, CreateKey, KeyCreated, KeyList, KeyView, MappingEntry,
    MappingSet, PutMapping, UpdateAccount, UpdateKey, first_violation,
};
use switchyard_types::logs::{LogEntry, LogPage, UsageReport};
use switchyard_types::oauth::{
    CompleteOAuth, OAuthProviderList, OAuthSignedIn, OAuthStarted, StartOAuth,
};
use switchyard_types::quota::QuotaList;
use switchyard_types::resilience::{
    AimdList, CircuitList, Cleared, HealthList, LockoutList, SessionList,
};
use validator::Validate;

/// Result of an API call.
pub type ApiResult<T> = Result<T, ApiFailure>;

/// The filters of `GET /api/logs` (empty fields are left out of the query).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogQuery {
    /// Unix milliseconds.
    pub from: Option<i64>,
    pub to: Option<i64>,
    pub key_id: String,
    pub account_id: String,
    pub model: String,
    /// `2xx`, `4xx` or `5xx`.
    pub status: String,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// The query of `GET /api/usage`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageQuery {
    /// `model`, `account` or `key`.
    pub group_by: &'static str,
    /// `hour` or `day`.
    pub bucket: &'static str,
    pub from: Option<i64>,
    pub to: Option<i64>,
}

/// `?a=1&b=x` from the pairs whose value is not empty (values URI-encoded).
pub fn query_string(pairs: &[(&str, String)]) -> String {
    let parts: Vec<String> = pairs
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", encode(v)))
        .collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!("?{}", parts.join("&"))
    }
}

/// Percent-encodes everything but unreserved characters (RFC 3986).
fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl LogQuery {
    pub fn to_query(&self) -> String {
        let opt = |v: Option<i64>| v.map(|v| v.to_string()).unwrap_or_default();
        query_string(&[
            ("from", opt(self.from)),
            ("to", opt(self.to)),
            ("key_id", self.key_id.clone()),
            ("account_id", self.account_id.clone()),
            ("model", self.model.trim().to_owned()),
            ("status", self.status.clone()),
            (
                "limit",
                self.limit.map(|l| l.to_string()).unwrap_or_default(),
            ),
            ("cursor", self.cursor.clone().unwrap_or_default()),
        ])
    }
}

impl UsageQuery {
    pub fn to_query(&self) -> String {
        let opt = |v: Option<i64>| v.map(|v| v.to_string()).unwrap_or_default();
        query_string(&[
            ("group_by", self.group_by.to_owned()),
            ("bucket", self.bucket.to_owned()),
            ("from", opt(self.from)),
            ("to", opt(self.to)),
        ])
    }
}

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

    pub async fn update_key(&self, id: &str, request: &UpdateKey) -> ApiResult<KeyView> {
        check(request)?;
        let path = format!("/api/keys/{}", segment(id));
        self.call(Method::Patch, &path, Some(request)).await
    }

    /// Every alias, tombstones included.
    pub async fn mapping(&self) -> ApiResult<MappingSet> {
        self.call(Method::Get, "/api/config/mapping", NO_BODY).await
    }

    pub async fn put_mapping(&self, alias: &str, target: &str) -> ApiResult<MappingEntry> {
        let request = PutMapping {
            target: target.to_owned(),
        };
        check(&request)?;
        if let Some(problem) = switchyard_types::admin::mapping_alias_problem(alias) {
            return Err(ApiFailure::Invalid {
                field: "alias".to_owned(),
                message: problem.to_owned(),
            });
        }
        let path = format!("/api/config/mapping/{}", segment(alias));
        self.call(Method::Put, &path, Some(&request)).await
    }

    pub async fn delete_mapping(&self, alias: &str) -> ApiResult<()> {
        let path = format!("/api/config/mapping/{}", segment(alias));
        self.raw(Method::Delete, &path, NO_BODY).await.map(drop)
    }

    pub async fn logs(&self, query: &LogQuery) -> ApiResult<LogPage> {
        let path = format!("/api/logs{}", query.to_query());
        self.call(Method::Get, &path, NO_BODY).await
    }

    pub async fn log(&self, id: &str) -> ApiResult<LogEntry> {
        let path = format!("/api/logs/{}", segment(id));
        self.call(Method::Get, &path, NO_BODY).await
    }

    pub async fn usage(&self, query: &UsageQuery) -> ApiResult<UsageReport> {
        let path = format!("/api/usage{}", query.to_query());
        self.call(Method::Get, &path, NO_BODY).await
    }

    pub async fn quota(&self) -> ApiResult<QuotaList> {
        self.call(Method::Get, "/api/quota", NO_BODY).await
    }

    pub async fn refresh_quota(&self, id: &str) -> ApiResult<QuotaList> {
        let path = format!("/api/accounts/{}/refresh-quota", segment(id));
        self.call(Method::Post, &path, NO_BODY).await
    }

    pub async fn verify_account(&self, id: &str) -> ApiResult<VerifyResult> {
        let path = format!("/api/accounts/{}/verify", segment(id));
        self.call(Method::Post, &path, NO_BODY).await
    }

    /// Sends the items as they are: the server checks each and names the bad one
    /// (`field` = `[index].field`); all or nothing.
    pub async fn import_accounts(&self, items: &[serde_json::Value]) -> ApiResult<ImportResult> {
        self.call(Method::Post, "/api/accounts/import", Some(&items))
            .await
    }

    /// The export as the server wrote it (a JSON array of import items).
    pub async fn export_accounts(&self, include_secrets: bool) -> ApiResult<String> {
        let path = if include_secrets {
            "/api/accounts/export?include_secrets=true"
        } else {
            "/api/accounts/export"
        };
        text(self.raw(Method::Get, path, NO_BODY).await?).await
    }

    /// The OAuth providers configured for signing accounts in.
    pub async fn oauth_providers(&self) -> ApiResult<OAuthProviderList> {
        self.call(Method::Get, "/api/oauth/providers", NO_BODY)
            .await
    }

    pub async fn oauth_start(&self, request: &StartOAuth) -> ApiResult<OAuthStarted> {
        check(request)?;
        self.call(Method::Post, "/api/oauth/start", Some(request))
            .await
    }

    /// Finishes a sign-in from the address the provider redirected to.
    pub async fn oauth_complete(&self, url: &str) -> ApiResult<OAuthSignedIn> {
        let request = CompleteOAuth {
            url: url.to_owned(),
        };
        check(&request)?;
        self.call(Method::Post, "/api/oauth/complete", Some(&request))
            .await
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_leave_out_empty_values_and_encode_the_rest() {
        let q = LogQuery {
            from: Some(5),
            model: " gpt 4/o ".to_owned(),
            status: "4xx".to_owned(),
            ..LogQuery::default()
        };
        assert_eq!(q.to_query(), "?from=5&model=gpt%204%2Fo&status=4xx");
        assert_eq!(LogQuery::default().to_query(), "");
        let u = UsageQuery {
            group_by: "key",
            bucket: "day",
            from: None,
            to: Some(9),
        };
        assert_eq!(u.to_query(), "?group_by=key&bucket=day&to=9");
    }
}
