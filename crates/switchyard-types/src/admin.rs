//! Bodies of the management API (`/api/accounts`, `/api/keys`, `/api/config/mapping`).
//!
//! Request bodies reject unknown fields (a typo must not be silently ignored) and carry
//! their validation rules; [`first_violation`] turns validator's report into the one
//! field name and message the API returns. Secrets never appear in `Debug` output nor in
//! any response type: views carry a masked hint instead.

use crate::glob;
use crate::provider::{Provider, Tier};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::fmt;
use validator::{Validate, ValidationError, ValidationErrors, ValidationErrorsKind};

/// Upper bound on patterns an account may list.
pub const MAX_MODEL_PATTERNS: usize = 256;

/// `POST /api/accounts`.
#[derive(Clone, Deserialize, Serialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct CreateAccount {
    pub provider: Provider,
    #[validate(length(min = 1, max = 200, message = "must be 1 to 200 characters"))]
    pub label: String,
    #[validate(custom(function = "validate_secret"))]
    pub api_key: String,
    #[serde(default)]
    #[validate(custom(function = "validate_base_url"))]
    pub base_url: Option<String>,
    #[serde(default)]
    pub tier: Option<Tier>,
    #[serde(default)]
    #[validate(custom(function = "validate_models"))]
    pub models: Option<Vec<String>>,
    #[serde(default)]
    pub enabled: Option<bool>,
    /// Accounts naming the same scope share a quota (one cloud project, one org): a
    /// lockout on one applies to all of them.
    #[serde(default)]
    #[validate(length(max = 200, message = "must be at most 200 characters"))]
    pub quota_scope: Option<String>,
    /// Optional admin credential for usage/cost reports (OpenAI `sk-admin-…`, Anthropic
    /// `sk-ant-admin…`); encrypted like `api_key`, never returned.
    #[serde(default)]
    #[validate(custom(function = "validate_secret"))]
    pub admin_key: Option<String>,
    /// Routing's last tie-break and the dashboard's order (lower first; default 0).
    #[serde(default)]
    pub display_order: Option<i64>,
}

impl fmt::Debug for CreateAccount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CreateAccount")
            .field("provider", &self.provider)
            .field("label", &self.label)
            .field("api_key", &"<redacted>")
            .field("base_url", &self.base_url)
            .field("tier", &self.tier)
            .field("models", &self.models)
            .field("enabled", &self.enabled)
            .field("quota_scope", &self.quota_scope)
            .field("admin_key", &self.admin_key.as_ref().map(|_| "<redacted>"))
            .field("display_order", &self.display_order)
            .finish()
    }
}

/// `PATCH /api/accounts/{id}`: every field optional; absent fields are left unchanged.
/// An empty `base_url` resets it to the provider's default.
#[derive(Clone, Default, Deserialize, Serialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct UpdateAccount {
    #[serde(default)]
    #[validate(length(min = 1, max = 200, message = "must be 1 to 200 characters"))]
    pub label: Option<String>,
    #[serde(default)]
    #[validate(custom(function = "validate_secret"))]
    pub api_key: Option<String>,
    #[serde(default)]
    #[validate(custom(function = "validate_base_url_or_empty"))]
    pub base_url: Option<String>,
    #[serde(default)]
    pub tier: Option<Tier>,
    #[serde(default)]
    #[validate(custom(function = "validate_models"))]
    pub models: Option<Vec<String>>,
    #[serde(default)]
    pub enabled: Option<bool>,
    /// An empty string removes the scope.
    #[serde(default)]
    #[validate(length(max = 200, message = "must be at most 200 characters"))]
    pub quota_scope: Option<String>,
    /// An empty string removes the admin credential.
    #[serde(default)]
    #[validate(custom(function = "validate_secret_or_empty"))]
    pub admin_key: Option<String>,
    #[serde(default)]
    pub display_order: Option<i64>,
}

impl fmt::Debug for UpdateAccount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UpdateAccount")
            .field("label", &self.label)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("base_url", &self.base_url)
            .field("tier", &self.tier)
            .field("models", &self.models)
            .field("enabled", &self.enabled)
            .field("quota_scope", &self.quota_scope)
            .field("admin_key", &self.admin_key.as_ref().map(|_| "<redacted>"))
            .field("display_order", &self.display_order)
            .finish()
    }
}

/// An account as the API shows it: never the secret, only a hint like `sk-…abcd`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountView {
    pub id: String,
    pub provider: Provider,
    pub label: String,
    /// The effective base URL (the provider default when none was set).
    pub base_url: String,
    pub tier: Tier,
    /// Effective model patterns (the provider default when none were set).
    pub models: Vec<String>,
    pub enabled: bool,
    pub api_key_hint: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quota_scope: Option<String>,
    /// Whether an admin credential (usage/cost reports) is stored.
    #[serde(default)]
    pub has_admin_key: bool,
    #[serde(default)]
    pub display_order: i64,
    /// `ok`, `forbidden` (the provider refused the credential), `needs_reauth` or
    /// `disabled`.
    #[serde(default)]
    pub status: crate::accounts::AccountStatus,
    /// Why the status is not `ok` (e.g. the upstream's answer).
    #[serde(default)]
    pub status_reason: Option<String>,
    /// Unix seconds when the status last changed.
    #[serde(default)]
    pub status_since: Option<i64>,
    /// For an account signed in through OAuth: the `[oauth.providers.NAME]` to sign in
    /// with again (`needs_reauth`). Absent for API-key accounts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oauth_provider: Option<String>,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub updated_at: i64,
}

/// `GET /api/accounts`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountList {
    pub accounts: Vec<AccountView>,
}

/// Upper bound of `rpm` on a client key.
pub const MAX_KEY_RPM: u32 = 1_000_000;
/// Upper bound of `tpm` on a client key.
pub const MAX_KEY_TPM: u64 = 1_000_000_000;
/// Upper bound of `budget_usd` on a client key.
pub const MAX_KEY_BUDGET_USD: f64 = 1_000_000.0;
/// Upper bound of `expires_at` (unix seconds): the end of year 9999.
pub const MAX_EXPIRES_AT: i64 = 253_402_300_799;

/// The period a client key's budget covers: the current UTC day, the current UTC month,
/// or the key's whole life.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BudgetPeriod {
    Day,
    Month,
    /// No reset (the default: a budget without a period is the most a key may ever spend).
    #[default]
    Total,
}

impl BudgetPeriod {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Day => "day",
            Self::Month => "month",
            Self::Total => "total",
        }
    }

    /// How a budget of this period reads: `per day`, `per month`, `in total`.
    pub const fn phrase(self) -> &'static str {
        match self {
            Self::Day => "per day",
            Self::Month => "per month",
            Self::Total => "in total",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "day" => Some(Self::Day),
            "month" => Some(Self::Month),
            "total" => Some(Self::Total),
            _ => None,
        }
    }
}

impl fmt::Display for BudgetPeriod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `POST /api/keys`. Every policy field is optional: a key without limits, budget,
/// model list or expiry may call every model without bound.
#[derive(Debug, Clone, Default, Deserialize, Serialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct CreateKey {
    #[validate(length(min = 1, max = 200, message = "must be 1 to 200 characters"))]
    pub name: String,
    /// Requests per minute (1..=1000000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[validate(range(min = 1, max = 1_000_000, message = "must be 1 to 1000000"))]
    pub rpm: Option<u32>,
    /// Tokens per minute, counted from recorded usage (1..=1000000000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[validate(range(min = 1, max = 1_000_000_000, message = "must be 1 to 1000000000"))]
    pub tpm: Option<u64>,
    /// Spend allowed per `budget_period`, USD (0..=1000000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[validate(range(min = 0.0, max = 1_000_000.0, message = "must be 0 to 1000000"))]
    pub budget_usd: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget_period: Option<BudgetPeriod>,
    /// Glob patterns of the models the key may call (absent: all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[validate(custom(function = "validate_models"))]
    pub models: Option<Vec<String>>,
    /// Unix seconds after which the key is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[validate(range(min = 0, max = MAX_EXPIRES_AT, message = "must be unix seconds"))]
    pub expires_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Free text for the operator (owner, purpose).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[validate(length(max = 1000, message = "must be at most 1000 characters"))]
    pub note: Option<String>,
}

/// `PATCH /api/keys/{id}`: absent fields are left unchanged; `null` removes a limit,
/// the budget, the model list, the expiry or the note.
#[derive(Debug, Clone, Default, Deserialize, Serialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct UpdateKey {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[validate(length(min = 1, max = 200, message = "must be 1 to 200 characters"))]
    pub name: Option<String>,
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    #[validate(range(min = 1, max = 1_000_000, message = "must be 1 to 1000000"))]
    pub rpm: Option<Option<u32>>,
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    #[validate(range(min = 1, max = 1_000_000_000, message = "must be 1 to 1000000000"))]
    pub tpm: Option<Option<u64>>,
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    #[validate(range(min = 0.0, max = 1_000_000.0, message = "must be 0 to 1000000"))]
    pub budget_usd: Option<Option<f64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget_period: Option<BudgetPeriod>,
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    #[validate(custom(function = "validate_models"))]
    pub models: Option<Option<Vec<String>>>,
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    #[validate(range(min = 0, max = MAX_EXPIRES_AT, message = "must be unix seconds"))]
    pub expires_at: Option<Option<i64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    #[validate(length(max = 1000, message = "must be at most 1000 characters"))]
    pub note: Option<Option<String>>,
}

/// A present field, possibly `null` (`Some(None)`), as opposed to an absent one (`None`).
fn nullable<'de, T, D>(de: D) -> Result<Option<Option<T>>, D::Error>
where
    T: Deserialize<'de>,
    D: serde::Deserializer<'de>,
{
    Option::<T>::deserialize(de).map(Some)
}

/// `201` answer to `POST /api/keys`: the only time the key itself is shown.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyCreated {
    pub id: String,
    pub name: String,
    pub key: String,
    pub key_hint: String,
    pub created_at: i64,
}

impl fmt::Debug for KeyCreated {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyCreated")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("key", &"<redacted>")
            .field("key_hint", &self.key_hint)
            .finish()
    }
}

/// A client key as listed: never the key itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyView {
    pub id: String,
    pub name: String,
    pub key_hint: String,
    pub created_at: i64,
    /// Unix seconds of the last change (0 for keys older than key policies).
    #[serde(default)]
    pub updated_at: i64,
    #[serde(default = "yes")]
    pub enabled: bool,
    #[serde(default)]
    pub rpm: Option<u32>,
    #[serde(default)]
    pub tpm: Option<u64>,
    #[serde(default)]
    pub budget_usd: Option<f64>,
    #[serde(default)]
    pub budget_period: BudgetPeriod,
    /// Spent in the current budget period, USD (as this gateway counted it).
    #[serde(default)]
    pub budget_used_usd: f64,
    /// Allowed model patterns; `null`: all.
    #[serde(default)]
    pub models: Option<Vec<String>>,
    /// Unix seconds; `null`: never.
    #[serde(default)]
    pub expires_at: Option<i64>,
    #[serde(default)]
    pub note: Option<String>,
}

const fn yes() -> bool {
    true
}

/// `GET /api/keys`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyList {
    pub keys: Vec<KeyView>,
}

/// Most entries a mapping set may hold (live and deleted).
pub const MAX_MAPPING_ENTRIES: usize = 10_000;

/// One model mapping entry: requests for the alias (exact, or a pattern with `*`) go to
/// `target`. A deleted entry (a tombstone) keeps its timestamp so that a deletion wins
/// over older copies during sync; its `target` is empty.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MappingEntry {
    pub target: String,
    /// Unix milliseconds of the last change.
    pub updated_at: i64,
    #[serde(default)]
    pub deleted: bool,
}

/// `GET`/`POST /api/config/mapping`: every entry by alias, tombstones included.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct MappingSet {
    #[validate(custom(function = "validate_mapping_entries"))]
    pub entries: std::collections::BTreeMap<String, MappingEntry>,
}

/// `PUT /api/config/mapping/{alias}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct PutMapping {
    #[validate(custom(function = "validate_mapping_target"))]
    pub target: String,
}

/// What is wrong with a mapping alias, if anything: 1 to 200 printable ASCII characters
/// without spaces; `*` matches any run of characters, `?` one character.
pub fn mapping_alias_problem(alias: &str) -> Option<&'static str> {
    (!glob::is_valid_pattern(alias))
        .then_some("must be 1 to 200 printable ASCII characters without spaces")
}

/// What is wrong with a mapping target, if anything: a model name, so an alias's rules
/// without the wildcards.
pub fn mapping_target_problem(target: &str) -> Option<&'static str> {
    if !glob::is_valid_pattern(target) {
        return Some("must be 1 to 200 printable ASCII characters without spaces");
    }
    target
        .contains(['*', '?'])
        .then_some("must be a model name, without `*` or `?`")
}

fn validate_mapping_target(target: &str) -> Result<(), ValidationError> {
    match mapping_target_problem(target) {
        Some(message) => Err(err("target", message)),
        None => Ok(()),
    }
}

fn validate_mapping_entries(
    entries: &std::collections::BTreeMap<String, MappingEntry>,
) -> Result<(), ValidationError> {
    if entries.len() > MAX_MAPPING_ENTRIES {
        return Err(err("length", "at most 10000 entries"));
    }
    for (alias, entry) in entries {
        if mapping_alias_problem(alias).is_some() {
            return Err(err(
                "alias",
                "each alias must be 1 to 200 printable ASCII characters without spaces",
            ));
        }
        if !entry.deleted && mapping_target_problem(&entry.target).is_some() {
            return Err(err(
                "target",
                "each live entry's target must be a model name: 1 to 200 printable ASCII characters, no spaces, `*` or `?`",
            ));
        }
        if entry.updated_at < 0 {
            return Err(err("updated_at", "must be unix milliseconds"));
        }
    }
    Ok(())
}

/// A masked hint of a secret: its prefix up to the first `-` (at most 8 characters) and
/// its last four characters, e.g. `sk-…abcd`. Short secrets show only `…` and the tail.
pub fn secret_hint(secret: &str) -> String {
    let chars: Vec<char> = secret.chars().collect();
    if chars.len() < 12 {
        let tail: String = chars.iter().rev().take(2).rev().collect();
        return format!("…{tail}");
    }
    let prefix: String = match chars.iter().take(8).position(|&c| c == '-') {
        Some(i) => chars[..=i].iter().collect(),
        None => String::new(),
    };
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{prefix}…{tail}")
}

fn err(code: &'static str, message: &'static str) -> ValidationError {
    ValidationError::new(code).with_message(Cow::Borrowed(message))
}

fn validate_secret_or_empty(secret: &str) -> Result<(), ValidationError> {
    if secret.is_empty() {
        Ok(())
    } else {
        validate_secret(secret)
    }
}

/// The rules of an account secret (`api_key`, `admin_key`): 1 to 8192 characters, no
/// whitespace or control characters.
pub fn secret_problem(secret: &str) -> Option<&'static str> {
    validate_secret(secret)
        .err()
        .and_then(|e| e.message)
        .map(|m| match m {
            Cow::Borrowed(s) => s,
            Cow::Owned(_) => "is invalid",
        })
}

fn validate_secret(secret: &str) -> Result<(), ValidationError> {
    if secret.is_empty() || secret.len() > 8192 {
        return Err(err("length", "must be 1 to 8192 characters"));
    }
    if secret.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(err(
            "charset",
            "must not contain whitespace or control characters",
        ));
    }
    Ok(())
}

/// What is wrong with an account's `base_url`, if anything: it must be an `http://` or
/// `https://` URL with a host, without credentials (`user:password@`, which would be
/// stored and shown in clear: the credential belongs in `api_key`), query or fragment.
/// The message never repeats the URL.
pub fn base_url_problem(url: &str) -> Option<&'static str> {
    let Some(rest) = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
    else {
        return Some("must be an http:// or https:// URL");
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return Some("must not carry credentials (user:password@); put the credential in api_key");
    }
    if authority.is_empty() || url.len() > 2048 || url.chars().any(char::is_whitespace) {
        return Some("must be an http:// or https:// URL with a host");
    }
    if url.contains(['?', '#']) {
        return Some("must not carry a query or fragment");
    }
    None
}

pub(crate) fn validate_base_url(url: &str) -> Result<(), ValidationError> {
    match base_url_problem(url) {
        Some(message) => Err(err("url", message)),
        None => Ok(()),
    }
}

fn validate_base_url_or_empty(url: &str) -> Result<(), ValidationError> {
    if url.is_empty() {
        Ok(())
    } else {
        validate_base_url(url)
    }
}

pub(crate) fn validate_models(models: &[String]) -> Result<(), ValidationError> {
    if models.len() > MAX_MODEL_PATTERNS {
        return Err(err("length", "at most 256 patterns"));
    }
    if models.iter().any(|m| !glob::is_valid_pattern(m)) {
        return Err(err(
            "pattern",
            "each pattern must be 1 to 200 printable characters without spaces",
        ));
    }
    Ok(())
}

/// The first violation in a validator report, as `(field, message)`, with a stable
/// order (fields sorted by name) so the API names the same field for the same input.
pub fn first_violation(errors: &ValidationErrors) -> (String, String) {
    let mut fields: Vec<_> = errors.errors().iter().collect();
    fields.sort_by(|a, b| a.0.cmp(b.0));
    for (field, kind) in fields {
        if let ValidationErrorsKind::Field(list) = kind
            && let Some(e) = list.first()
        {
            let message = e
                .message
                .as_ref()
                .map_or_else(|| format!("is invalid ({})", e.code), ToString::to_string);
            return (field.to_string(), message);
        }
    }
    (String::new(), "invalid request".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(json: serde_json::Value) -> CreateAccount {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn hint_masks_all_but_prefix_and_tail() {
        assert_eq!(secret_hint("sk-abcdefghijklmnop1234"), "sk-…1234");
        assert_eq!(secret_hint("AIzaSyABCDEFGHIJKLMNOP"), "…MNOP");
        assert_eq!(secret_hint("short"), "…rt");
        assert!(!secret_hint("sk-ant-api03-secretsecret-wxyz").contains("secret"));
    }

    #[test]
    fn debug_never_shows_the_key() {
        let a = account(serde_json::json!({
            "provider": "openai", "label": "a", "api_key": "sk-supersecretvalue"
        }));
        assert!(!format!("{a:?}").contains("supersecret"));
        let u = UpdateAccount {
            api_key: Some("sk-supersecretvalue".into()),
            ..Default::default()
        };
        assert!(!format!("{u:?}").contains("supersecret"));
    }

    #[test]
    fn validation_names_the_field() {
        let a = account(serde_json::json!({
            "provider": "openai", "label": "", "api_key": "k"
        }));
        let (field, _) = first_violation(&a.validate().unwrap_err());
        assert_eq!(field, "label");

        let a = account(serde_json::json!({
            "provider": "openai", "label": "x", "api_key": "k", "base_url": "ftp://x"
        }));
        let (field, msg) = first_violation(&a.validate().unwrap_err());
        assert_eq!(field, "base_url");
        assert!(msg.contains("http"));

        for url in [
            "https://user:pw@api.example.com/v1",
            "http://token@api.example.com",
        ] {
            let a = account(serde_json::json!({
                "provider": "openai", "label": "x", "api_key": "k", "base_url": url
            }));
            let (field, msg) = first_violation(&a.validate().unwrap_err());
            assert_eq!(field, "base_url");
            assert!(msg.contains("credentials") && !msg.contains("pw"), "{msg}");
            let u = UpdateAccount {
                base_url: Some(url.to_owned()),
                ..Default::default()
            };
            assert_eq!(first_violation(&u.validate().unwrap_err()).0, "base_url");
        }
        assert_eq!(base_url_problem("https://api.example.com/v1/a@b"), None);
        assert!(base_url_problem("file:///etc/passwd").is_some());

        let a = account(serde_json::json!({
            "provider": "openai", "label": "x", "api_key": "k", "models": ["ok", "has space"]
        }));
        assert_eq!(first_violation(&a.validate().unwrap_err()).0, "models");

        let a = account(serde_json::json!({
            "provider": "openai", "label": "x", "api_key": "k k"
        }));
        assert_eq!(first_violation(&a.validate().unwrap_err()).0, "api_key");
    }

    #[test]
    fn unknown_fields_are_rejected() {
        let r: Result<CreateAccount, _> = serde_json::from_value(serde_json::json!({
            "provider": "openai", "label": "x", "api_key": "k", "modles": []
        }));
        assert!(r.unwrap_err().to_string().contains("modles"));
    }
}
