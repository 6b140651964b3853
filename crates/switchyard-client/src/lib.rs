//! Rust client for Switchyard's management API.
//!
//! # Layout
//! - [`AdminClient`]: typed calls for `/api/accounts` (with import, export, bulk actions,
//!   verify, refresh-quota), `/api/quota`, `/api/keys` (with their policy) and
//!   `/api/config/mapping`, using the request
//!   and response types of `switchyard-types` (the same ones the server uses).
//! - [`ClientError`]: transport failures, or the API's own error body ([`ApiError`]) with
//!   its HTTP status.
//!
//! Proxy traffic needs no client of ours: any OpenAI, Anthropic or Gemini SDK works.

use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use switchyard_types::accounts::{
    BulkRequest, BulkResult, ImportAccount, ImportResult, VerifyResult,
};
use switchyard_types::admin::{
    AccountList, AccountView, CreateAccount, CreateKey, KeyCreated, KeyList, KeyView, MappingEntry,
    MappingSet, PutMapping, UpdateAccount, UpdateKey,
};
use switchyard_types::quota::QuotaList;
use switchyard_types::{ApiError, ApiErrorBody};

/// Largest management response we read.
const MAX_RESPONSE_BYTES: usize = 64 * 1024 * 1024;

/// A management API call failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server answered with an error body.
    #[error("{status}: {error}")]
    Api { status: StatusCode, error: ApiError },
    /// The request did not complete (connection, timeout).
    #[error("request failed: {0}")]
    Transport(#[from] reqwest::Error),
    /// The server answered something that is not the expected JSON.
    #[error("unexpected response ({status}): {message}")]
    Decode { status: StatusCode, message: String },
}

/// Typed client for `/api/*`.
#[derive(Clone)]
pub struct AdminClient {
    http: reqwest::Client,
    base: String,
    admin_key: String,
}

impl std::fmt::Debug for AdminClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminClient")
            .field("base", &self.base)
            .field("admin_key", &"<redacted>")
            .finish()
    }
}

impl AdminClient {
    /// `base` is the gateway's root URL, e.g. `http://127.0.0.1:8045`.
    pub fn new(base: impl Into<String>, admin_key: impl Into<String>) -> Self {
        Self {
            http: reqwest::Client::new(),
            base: base.into().trim_end_matches('/').to_owned(),
            admin_key: admin_key.into(),
        }
    }

    async fn call<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<Option<T>, ClientError> {
        let mut request = self
            .http
            .request(method, format!("{}/api{path}", self.base))
            .bearer_auth(&self.admin_key);
        if let Some(body) = body {
            request = request.json(body);
        }
        let mut response = request.send().await?;
        let status = response.status();
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await? {
            if bytes.len() + chunk.len() > MAX_RESPONSE_BYTES {
                return Err(ClientError::Decode {
                    status,
                    message: "response over 64 MiB".to_owned(),
                });
            }
            bytes.extend_from_slice(&chunk);
        }
        if status == StatusCode::NO_CONTENT {
            return Ok(None);
        }
        let decode = |e: serde_json::Error| ClientError::Decode {
            status,
            message: e.to_string(),
        };
        if status.is_success() {
            serde_json::from_slice(&bytes).map(Some).map_err(decode)
        } else {
            let body: ApiErrorBody = serde_json::from_slice(&bytes).map_err(decode)?;
            Err(ClientError::Api {
                status,
                error: body.error,
            })
        }
    }

    async fn expect<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<T, ClientError> {
        self.call(method, path, body)
            .await?
            .ok_or(ClientError::Decode {
                status: StatusCode::NO_CONTENT,
                message: "expected a body".to_owned(),
            })
    }

    pub async fn list_accounts(&self) -> Result<Vec<AccountView>, ClientError> {
        let list: AccountList = self.expect(Method::GET, "/accounts", None::<&()>).await?;
        Ok(list.accounts)
    }

    pub async fn get_account(&self, id: &str) -> Result<AccountView, ClientError> {
        self.expect(Method::GET, &format!("/accounts/{id}"), None::<&()>)
            .await
    }

    pub async fn create_account(
        &self,
        account: &CreateAccount,
    ) -> Result<AccountView, ClientError> {
        self.expect(Method::POST, "/accounts", Some(account)).await
    }

    pub async fn update_account(
        &self,
        id: &str,
        change: &UpdateAccount,
    ) -> Result<AccountView, ClientError> {
        self.expect(Method::PATCH, &format!("/accounts/{id}"), Some(change))
            .await
    }

    pub async fn delete_account(&self, id: &str) -> Result<(), ClientError> {
        self.call::<(), serde_json::Value>(Method::DELETE, &format!("/accounts/{id}"), None)
            .await
            .map(drop)
    }

    /// `POST /api/accounts/import`: all or nothing.
    pub async fn import_accounts(
        &self,
        items: &[ImportAccount],
    ) -> Result<ImportResult, ClientError> {
        self.expect(Method::POST, "/accounts/import", Some(&items))
            .await
    }

    /// `GET /api/accounts/export`; secrets only when asked (the server logs that call).
    pub async fn export_accounts(
        &self,
        include_secrets: bool,
    ) -> Result<Vec<ImportAccount>, ClientError> {
        let path = format!("/accounts/export?include_secrets={include_secrets}");
        self.expect(Method::GET, &path, None::<&()>).await
    }

    pub async fn bulk_accounts(&self, request: &BulkRequest) -> Result<BulkResult, ClientError> {
        self.expect(Method::POST, "/accounts/bulk", Some(request))
            .await
    }

    pub async fn verify_account(&self, id: &str) -> Result<VerifyResult, ClientError> {
        self.expect(Method::POST, &format!("/accounts/{id}/verify"), None::<&()>)
            .await
    }

    pub async fn refresh_quota(&self, id: &str) -> Result<QuotaList, ClientError> {
        self.expect(
            Method::POST,
            &format!("/accounts/{id}/refresh-quota"),
            None::<&()>,
        )
        .await
    }

    pub async fn quota(&self) -> Result<QuotaList, ClientError> {
        self.expect(Method::GET, "/quota", None::<&()>).await
    }

    pub async fn create_key(&self, name: &str) -> Result<KeyCreated, ClientError> {
        self.expect(
            Method::POST,
            "/keys",
            Some(&CreateKey {
                name: name.to_owned(),
                ..CreateKey::default()
            }),
        )
        .await
    }

    pub async fn list_keys(&self) -> Result<KeyList, ClientError> {
        self.expect(Method::GET, "/keys", None::<&()>).await
    }

    pub async fn delete_key(&self, id: &str) -> Result<(), ClientError> {
        self.call::<(), serde_json::Value>(Method::DELETE, &format!("/keys/{id}"), None)
            .await
            .map(drop)
    }

    /// Create a key with a policy (limits, budget, models, expiry).
    pub async fn create_key_with(&self, request: &CreateKey) -> Result<KeyCreated, ClientError> {
        self.expect(Method::POST, "/keys", Some(request)).await
    }

    pub async fn update_key(&self, id: &str, request: &UpdateKey) -> Result<KeyView, ClientError> {
        self.expect(Method::PATCH, &format!("/keys/{id}"), Some(request))
            .await
    }

    /// Every model mapping entry, deleted ones included.
    pub async fn mapping(&self) -> Result<MappingSet, ClientError> {
        self.expect(Method::GET, "/config/mapping", None::<&()>)
            .await
    }

    /// Merge `set` last-write-wins; the merged set.
    pub async fn merge_mapping(&self, set: &MappingSet) -> Result<MappingSet, ClientError> {
        self.expect(Method::POST, "/config/mapping", Some(set))
            .await
    }

    pub async fn put_mapping(
        &self,
        alias: &str,
        target: &str,
    ) -> Result<MappingEntry, ClientError> {
        let body = PutMapping {
            target: target.to_owned(),
        };
        self.expect(
            Method::PUT,
            &format!("/config/mapping/{alias}"),
            Some(&body),
        )
        .await
    }

    pub async fn delete_mapping(&self, alias: &str) -> Result<(), ClientError> {
        self.call::<(), serde_json::Value>(
            Method::DELETE,
            &format!("/config/mapping/{alias}"),
            None,
        )
        .await
        .map(drop)
    }
}
