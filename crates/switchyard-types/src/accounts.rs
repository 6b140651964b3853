//! Account bodies beyond create/read/update/delete: credential status, import and
//! export, bulk actions, verification.
//!
//! Secrets appear only in [`ImportAccount`] (write, and an export asked for with
//! `include_secrets=true`); its `Debug` never shows them.

use crate::provider::{Provider, Tier};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Whether an account's credential is usable, as routing and the dashboard see it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountStatus {
    /// Usable (as far as the gateway knows).
    #[default]
    Ok,
    /// The provider refused the credential itself (401/403, Gemini `API_KEY_INVALID`):
    /// routing skips the account until `POST /api/accounts/{id}/verify` succeeds.
    Forbidden,
    /// An OAuth account whose refresh token stopped working: sign in again.
    NeedsReauth,
    /// Switched off by the operator (`enabled: false`).
    Disabled,
}

impl AccountStatus {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Forbidden => "forbidden",
            Self::NeedsReauth => "needs_reauth",
            Self::Disabled => "disabled",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "ok" => Some(Self::Ok),
            "forbidden" => Some(Self::Forbidden),
            "needs_reauth" => Some(Self::NeedsReauth),
            "disabled" => Some(Self::Disabled),
            _ => None,
        }
    }
}

impl fmt::Display for AccountStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One account in `POST /api/accounts/import` and `GET /api/accounts/export`.
///
/// Import: an item whose `id` names an existing account updates it (absent fields are
/// kept, secrets included; an empty `base_url` or `quota_scope` clears it);
/// any other item creates an account and needs `api_key`. Export writes every field;
/// `api_key` and `admin_key` only with `include_secrets=true`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportAccount {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub provider: Provider,
    pub label: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key: Option<String>,
    /// Optional admin credential for usage/cost reports (OpenAI `sk-admin-…`, Anthropic
    /// `sk-ant-admin…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier: Option<Tier>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub models: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quota_scope: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_order: Option<i64>,
}

impl fmt::Debug for ImportAccount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ImportAccount")
            .field("id", &self.id)
            .field("provider", &self.provider)
            .field("label", &self.label)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("admin_key", &self.admin_key.as_ref().map(|_| "<redacted>"))
            .field("base_url", &self.base_url)
            .field("tier", &self.tier)
            .field("models", &self.models)
            .field("enabled", &self.enabled)
            .field("quota_scope", &self.quota_scope)
            .field("display_order", &self.display_order)
            .finish()
    }
}

impl ImportAccount {
    /// The first problem with this item as `(field, message)`, by the same rules as
    /// `POST /api/accounts` (a missing `api_key` is the caller's to judge: it is only
    /// required for new accounts).
    pub fn problem(&self) -> Option<(String, String)> {
        use validator::Validate as _;
        if let Some(id) = &self.id
            && (id.is_empty()
                || id.len() > 100
                || !id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'))
        {
            return Some((
                "id".into(),
                "must be 1 to 100 letters, digits, `_` or `-`".into(),
            ));
        }
        let as_create = crate::admin::CreateAccount {
            provider: self.provider,
            label: self.label.clone(),
            api_key: self.api_key.clone().unwrap_or_else(|| "-".into()),
            base_url: self.base_url.clone().filter(|u| !u.is_empty()),
            tier: self.tier,
            models: self.models.clone(),
            enabled: self.enabled,
            quota_scope: self.quota_scope.clone(),
            admin_key: self.admin_key.clone(),
            display_order: self.display_order,
        };
        as_create
            .validate()
            .err()
            .map(|e| crate::admin::first_violation(&e))
    }
}

/// Most items one import may carry.
pub const MAX_IMPORT_ITEMS: usize = 10_000;

/// What an import did with one item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportAction {
    Created,
    Updated,
}

/// One item's result, in input order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportItemResult {
    pub index: usize,
    pub id: String,
    pub action: ImportAction,
}

/// `200` answer to `POST /api/accounts/import` (nothing is written unless every item is
/// valid; a bad item is a `400` whose `error.field` is `[INDEX].FIELD`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportResult {
    pub results: Vec<ImportItemResult>,
}

/// `POST /api/accounts/bulk`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, validator::Validate)]
#[serde(deny_unknown_fields)]
pub struct BulkRequest {
    #[validate(length(min = 1, max = 10_000, message = "must list 1 to 10000 account ids"))]
    pub ids: Vec<String>,
    pub action: BulkAction,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BulkAction {
    Enable,
    Disable,
    Delete,
}

/// Most ids one bulk request may name.
pub const MAX_BULK_IDS: usize = 10_000;

/// Answer to `POST /api/accounts/bulk`: the ids acted on and those that did not exist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BulkResult {
    pub affected: Vec<String>,
    pub missing: Vec<String>,
}

/// Answer to `POST /api/accounts/{id}/verify`: one cheap upstream call (the provider's
/// model list) with the account's credential.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyResult {
    /// The credential worked (the mark, if any, is cleared).
    pub ok: bool,
    /// The status after the check.
    pub status: AccountStatus,
    /// The upstream's HTTP status, when it answered.
    pub http_status: Option<u16>,
    /// Why it failed or was inconclusive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn import_items_hide_secrets_and_reject_unknown_fields() {
        let item: ImportAccount = serde_json::from_value(serde_json::json!({
            "provider": "openai", "label": "a", "api_key": "sk-secret-value", "admin_key": "sk-admin-x"
        }))
        .unwrap();
        let debug = format!("{item:?}");
        assert!(
            !debug.contains("secret") && !debug.contains("sk-admin"),
            "{debug}"
        );
        let bad: Result<ImportAccount, _> = serde_json::from_value(serde_json::json!({
            "provider": "openai", "label": "a", "apikey": "k"
        }));
        assert!(bad.unwrap_err().to_string().contains("apikey"));
        assert_eq!(
            serde_json::to_value(AccountStatus::NeedsReauth).unwrap(),
            "needs_reauth"
        );
        assert_eq!(
            AccountStatus::parse("forbidden"),
            Some(AccountStatus::Forbidden)
        );
    }
}
