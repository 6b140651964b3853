//! Account operations beyond create/read/update/delete: credential status (verify,
//! persisting marks), quota (listing, refreshing, persisting), import and export, bulk
//! actions.

use super::{Admin, AdminError, context, require_base_url};
use crate::crypto::random_id;
use crate::pipeline::commit::opens_like_json;
use crate::pipeline::outcome::{Outcome, classify_answer};
use crate::quota::{QuotaEntry, poll};
use crate::store::{AccountRecord, SecretWrite, now_unix};
use crate::translate::dispatch;
use crate::upstream::{Endpoint, GeminiMethod, Upstream, upstream_headers};
use http::{HeaderMap, Uri};
use std::collections::{HashMap, HashSet};
use switchyard_types::Protocol;
use switchyard_types::accounts::{
    AccountStatus, BulkAction, BulkRequest, BulkResult, ImportAccount, ImportAction,
    ImportItemResult, ImportResult, MAX_BULK_IDS, MAX_IMPORT_ITEMS, VerifyResult,
};
use switchyard_types::admin::{AccountView, secret_hint};
use switchyard_types::quota::{QuotaItem, QuotaList};

/// Largest model list read by a verification.
const VERIFY_LIMIT: usize = 4 * 1024 * 1024;

/// The AES-GCM context of an account's admin credential.
pub(super) fn admin_context(id: &str) -> String {
    format!("account-admin:{id}")
}

fn not_found(id: &str) -> AdminError {
    AdminError::NotFound {
        what: "account",
        id: id.to_owned(),
    }
}

fn item_error(index: usize, field: impl Into<String>, message: impl Into<String>) -> AdminError {
    AdminError::InvalidItem {
        index,
        field: field.into(),
        message: message.into(),
    }
}

impl Admin {
    /// Show the credential mark routing holds in memory (it may not be stored yet), and
    /// `disabled` for a switched-off account.
    pub(super) fn overlay_status(&self, view: &mut AccountView) {
        if let Some(account) = self.pool.account(&view.id) {
            view.oauth_provider = account.oauth.as_ref().map(|o| o.provider.clone());
            match account.state.credential.current_status() {
                Some((status, reason, since)) => {
                    view.status = status;
                    view.status_reason = Some(reason);
                    view.status_since = Some(since);
                }
                None if matches!(
                    view.status,
                    AccountStatus::Forbidden | AccountStatus::NeedsReauth
                ) =>
                {
                    view.status = AccountStatus::Ok;
                    view.status_reason = None;
                }
                None => {}
            }
        }
        if !view.enabled {
            view.status = AccountStatus::Disabled;
        }
    }

    /// `POST /api/accounts/{id}/verify`: one cheap call with the account's credential —
    /// the provider's model list (`GET {base}/models`, Anthropic `GET {base}/v1/models`,
    /// Gemini `GET {base}/v1beta/models`), which spends no tokens. A 2xx clears the
    /// forbidden mark; a refusal of the credential (the same verdict as on requests,
    /// [`classify_answer`]) sets it; anything else (5xx, no answer, a 404 from a server
    /// without a model list) is inconclusive and changes nothing.
    pub async fn verify_account(
        &self,
        upstream: &Upstream,
        id: &str,
    ) -> Result<VerifyResult, AdminError> {
        let account = self.pool.account(id).ok_or_else(|| not_found(id))?;
        let protocol = account.protocol();
        let (path, endpoint) = match protocol {
            Protocol::OpenAi | Protocol::Responses => ("/models", Endpoint::ChatCompletions),
            Protocol::Anthropic => ("/v1/models", Endpoint::Messages),
            Protocol::Gemini => (
                "/v1beta/models",
                Endpoint::Gemini {
                    model: "",
                    method: GeminiMethod::GenerateContent,
                    sse: false,
                },
            ),
        };
        let mut headers = upstream_headers(&account, endpoint, &HeaderMap::new());
        headers.remove(http::header::CONTENT_TYPE);
        let uri = Uri::try_from(format!("{}{path}", account.base_url)).map_err(|e| {
            AdminError::Invalid {
                field: "base_url",
                message: format!("makes no URL: {e}"),
            }
        })?;
        let current = |account: &crate::pool::PoolAccount| {
            account
                .state
                .credential
                .current_status()
                .map_or(AccountStatus::Ok, |(status, _, _)| status)
        };
        let (status, answer_headers, body) = match upstream.get(uri, headers, VERIFY_LIMIT).await {
            Ok(answer) => answer,
            Err(e) => {
                return Ok(VerifyResult {
                    ok: false,
                    status: current(&account),
                    http_status: None,
                    detail: Some(e.to_string()),
                });
            }
        };
        let code = Some(status.as_u16());
        if status.is_success() {
            // Marks still queued are written first, so none lands after this clear.
            self.persist_status_changes().await?;
            let now = now_unix();
            account.state.credential.clear(now);
            self.store
                .set_account_status(id, AccountStatus::Ok, None, now)
                .await?;
            tracing::info!(account = %id, "credential verified");
            return Ok(VerifyResult {
                ok: true,
                status: AccountStatus::Ok,
                http_status: code,
                detail: None,
            });
        }
        let fault = dispatch::decode_error(protocol, status.as_u16(), &body);
        let outcome = classify_answer(
            protocol,
            status,
            &answer_headers,
            Some(&fault),
            opens_like_json(&body),
        );
        let detail = format!("the provider answered {status}");
        if outcome == Outcome::Revoked {
            self.pool.mark_forbidden(&account, &detail);
            self.persist_status_changes().await?;
        }
        Ok(VerifyResult {
            ok: false,
            status: current(&account),
            http_status: code,
            detail: Some(detail),
        })
    }

    /// Write the queued credential marks that still hold (a verification may have cleared
    /// one since) to the store; how many.
    pub async fn persist_status_changes(&self) -> Result<usize, AdminError> {
        let changes = self.pool.status_queue().take();
        let mut count = 0;
        for change in changes {
            let current = self
                .pool
                .account(&change.account_id)
                .and_then(|a| a.state.credential.current());
            if current.is_none_or(|(_, since)| since != change.since) {
                continue;
            }
            count += 1;
            self.store
                .set_account_status(
                    &change.account_id,
                    change.status,
                    Some(change.reason),
                    change.since,
                )
                .await?;
        }
        Ok(count)
    }

    /// `GET /api/quota`: every account's quota entries (accounts sharing a scope list
    /// the same entries), in routing order.
    pub fn quota(&self) -> QuotaList {
        let mut items: Vec<QuotaItem> = Vec::new();
        for account in self.pool.accounts().iter() {
            items.extend(account.quota.entries().iter().map(|e| e.item(&account.id)));
        }
        QuotaList { items }
    }

    /// `POST /api/accounts/{id}/refresh-quota`: poll the account's billing endpoint now;
    /// the account's quota entries after it.
    pub async fn refresh_quota(
        &self,
        upstream: &Upstream,
        id: &str,
    ) -> Result<QuotaList, AdminError> {
        let account = self.pool.account(id).ok_or_else(|| not_found(id))?;
        poll::poll(
            upstream,
            &account,
            account.admin_key.as_ref(),
            &account.quota,
            now_unix(),
        )
        .await?;
        Ok(QuotaList {
            items: account
                .quota
                .entries()
                .iter()
                .map(|e| e.item(&account.id))
                .collect(),
        })
    }

    /// Write the quota books that changed since the last call; how many rows.
    pub async fn persist_quota(&self) -> Result<usize, AdminError> {
        let mut rows = Vec::new();
        let mut seen = HashSet::new();
        for account in self.pool.accounts().iter() {
            if seen.insert(account.scope.clone()) && account.quota.take_dirty() {
                rows.extend(
                    account
                        .quota
                        .entries()
                        .iter()
                        .map(|e| e.record(&account.scope)),
                );
            }
        }
        let count = rows.len();
        self.store.save_quota(rows).await?;
        Ok(count)
    }

    /// Load the stored quota snapshots into the books that are still empty (start-up).
    pub async fn restore_quota(&self) -> Result<(), AdminError> {
        let mut by_scope: HashMap<String, Vec<QuotaEntry>> = HashMap::new();
        for row in self.store.load_quota().await? {
            by_scope
                .entry(row.scope.clone())
                .or_default()
                .push(QuotaEntry::from_record(row));
        }
        for account in self.pool.accounts().iter() {
            if let Some(entries) = by_scope.remove(&account.scope) {
                account.quota.restore(entries.into_iter());
            }
        }
        Ok(())
    }

    /// `POST /api/accounts/import`: validate every item first (a bad one fails the whole
    /// import, named by index and field), then create and update in one transaction.
    pub async fn import_accounts(
        &self,
        items: Vec<serde_json::Value>,
    ) -> Result<ImportResult, AdminError> {
        if items.len() > MAX_IMPORT_ITEMS {
            return Err(AdminError::Invalid {
                field: "items",
                message: format!("at most {MAX_IMPORT_ITEMS} accounts per import"),
            });
        }
        let existing: HashMap<String, AccountRecord> = self
            .store
            .list_accounts()
            .await?
            .into_iter()
            .map(|r| (r.id.clone(), r))
            .collect();
        let mut parsed = Vec::with_capacity(items.len());
        let mut ids = HashSet::new();
        for (index, value) in items.into_iter().enumerate() {
            let item: ImportAccount = serde_path_to_error::deserialize(value).map_err(|e| {
                let path = e.path().to_string();
                let message = e.inner().to_string();
                // serde names a missing field only in its message.
                if let Some(missing) = message
                    .strip_prefix("missing field `")
                    .and_then(|m| m.split('`').next())
                {
                    return item_error(index, missing, "is required");
                }
                let field = if path == "." { String::new() } else { path };
                item_error(index, field, without_values(&message))
            })?;
            if let Some((field, message)) = item.problem() {
                return Err(item_error(index, field, message));
            }
            if let Some(id) = &item.id
                && !ids.insert(id.clone())
            {
                return Err(item_error(index, "id", "appears twice in the import"));
            }
            let updating = item.id.as_ref().and_then(|id| existing.get(id));
            if updating.is_none() && item.api_key.is_none() {
                return Err(item_error(
                    index,
                    "api_key",
                    "is required for a new account",
                ));
            }
            if let Some(old) = updating
                && old.provider != item.provider
            {
                return Err(item_error(
                    index,
                    "provider",
                    format!(
                        "cannot change an existing account's provider ({})",
                        old.provider
                    ),
                ));
            }
            // Absent on an update: the stored one stays.
            let base_url = match (&item.base_url, updating) {
                (Some(url), _) => Some(url.as_str()).filter(|u| !u.is_empty()),
                (None, Some(old)) => old.base_url.as_deref(),
                (None, None) => None,
            };
            require_base_url(item.provider, base_url).map_err(|e| match e {
                AdminError::Invalid { field, message } => item_error(index, field, message),
                other => other,
            })?;
            parsed.push((index, item, updating.cloned()));
        }
        let now = now_unix();
        let mut creates = Vec::new();
        let mut updates = Vec::new();
        let mut results = Vec::with_capacity(parsed.len());
        for (index, item, old) in parsed {
            let id = item.id.clone().unwrap_or_else(|| random_id("acc_"));
            let creating = old.is_none();
            let mut rec = match old {
                Some(old) => old,
                None => AccountRecord {
                    id: id.clone(),
                    provider: item.provider,
                    label: String::new(),
                    base_url: None,
                    tier: item.tier.unwrap_or_default(),
                    models: None,
                    enabled: true,
                    secret: crate::crypto::Sealed {
                        nonce: Vec::new(),
                        ciphertext: Vec::new(),
                    },
                    secret_hint: String::new(),
                    position: 0,
                    quota_scope: None,
                    created_at: now,
                    updated_at: now,
                    status: AccountStatus::Ok,
                    status_reason: None,
                    status_since: None,
                    admin_secret: None,
                    display_order: 0,
                },
            };
            // Absent fields stay as they are (defaults for a new account); an empty
            // `base_url` or `quota_scope` clears it.
            rec.label = item.label;
            if let Some(url) = item.base_url {
                rec.base_url = Some(url).filter(|u| !u.is_empty());
            }
            if let Some(tier) = item.tier {
                rec.tier = tier;
            }
            if let Some(models) = item.models {
                rec.models = Some(models);
            }
            if let Some(enabled) = item.enabled {
                rec.enabled = enabled;
            }
            if let Some(scope) = item.quota_scope {
                rec.quota_scope = Some(scope).filter(|s| !s.is_empty());
            }
            if let Some(order) = item.display_order {
                rec.display_order = order;
            }
            if let Some(key) = &item.api_key {
                rec.secret = self.master.seal(key, &context(&id))?;
                rec.secret_hint = secret_hint(key);
            }
            if let Some(key) = &item.admin_key {
                rec.admin_secret = Some(self.master.seal(key, &admin_context(&id))?);
            }
            rec.updated_at = now;
            results.push(ImportItemResult {
                index,
                id,
                action: if creating {
                    ImportAction::Created
                } else {
                    ImportAction::Updated
                },
            });
            if creating {
                creates.push(rec);
            } else if item.api_key.is_some() {
                updates.push((rec, SecretWrite::Changed));
            } else {
                // The stored secret may be newer than the one read above (an OAuth
                // refresh): leave it alone.
                updates.push((rec, SecretWrite::Keep));
            }
        }
        self.store.import_accounts(creates, updates).await?;
        self.reload().await?;
        Ok(ImportResult { results })
    }

    /// `GET /api/accounts/export`: every account as an import item, in routing order;
    /// the secrets only with `include_secrets`.
    pub async fn export_accounts(
        &self,
        include_secrets: bool,
    ) -> Result<Vec<ImportAccount>, AdminError> {
        let records = self.store.list_accounts().await?;
        let mut out = Vec::with_capacity(records.len());
        for rec in records {
            let (api_key, admin_key) = if include_secrets {
                let api_key = self.master.open(&rec.secret, &context(&rec.id))?;
                let admin_key = rec
                    .admin_secret
                    .as_ref()
                    .map(|s| self.master.open(s, &admin_context(&rec.id)))
                    .transpose()?;
                (
                    Some(api_key.expose().to_owned()),
                    admin_key.map(|k| k.expose().to_owned()),
                )
            } else {
                (None, None)
            };
            out.push(ImportAccount {
                id: Some(rec.id),
                provider: rec.provider,
                label: rec.label,
                api_key,
                admin_key,
                base_url: rec.base_url,
                tier: Some(rec.tier),
                models: rec.models,
                enabled: Some(rec.enabled),
                quota_scope: rec.quota_scope,
                display_order: Some(rec.display_order),
            });
        }
        Ok(out)
    }

    /// `POST /api/accounts/bulk`: enable, disable or delete these accounts in one
    /// transaction; ids that do not exist are reported, not fatal.
    pub async fn bulk_accounts(&self, req: BulkRequest) -> Result<BulkResult, AdminError> {
        if req.ids.is_empty() || req.ids.len() > MAX_BULK_IDS {
            return Err(AdminError::Invalid {
                field: "ids",
                message: format!("must list 1 to {MAX_BULK_IDS} account ids"),
            });
        }
        let mut ids = Vec::with_capacity(req.ids.len());
        let mut seen = HashSet::new();
        for id in req.ids {
            if seen.insert(id.clone()) {
                ids.push(id);
            }
        }
        let affected = match req.action {
            BulkAction::Enable => {
                self.store
                    .set_accounts_enabled(ids.clone(), true, now_unix())
                    .await?
            }
            BulkAction::Disable => {
                self.store
                    .set_accounts_enabled(ids.clone(), false, now_unix())
                    .await?
            }
            BulkAction::Delete => self.store.delete_accounts(ids.clone()).await?,
        };
        let done: HashSet<&String> = affected.iter().collect();
        let missing = ids
            .iter()
            .filter(|id| !done.contains(id))
            .cloned()
            .collect();
        self.reload().await?;
        Ok(BulkResult { affected, missing })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::MasterKey;
    use crate::keyring::KeyRing;
    use crate::pool::Pool;
    use crate::store::Store;
    use serde_json::json;
    use std::sync::Arc;

    async fn admin() -> Admin {
        let master = Arc::new(MasterKey::parse(&"42".repeat(32)).unwrap());
        let admin = Admin::new(
            Store::open_in_memory().await.unwrap(),
            master,
            Arc::new(Pool::new()),
            Arc::new(KeyRing::new()),
        );
        admin.reload().await.unwrap();
        admin
    }

    #[tokio::test]
    async fn an_update_keeps_absent_fields_and_a_bad_item_writes_nothing() {
        let admin = admin().await;
        let created = admin
            .import_accounts(vec![json!({"id": "acc_a", "provider": "openai_compatible", "label": "a",
                "api_key": "k-secret-1", "base_url": "http://h/v1", "quota_scope": "s", "models": ["m*"]})])
            .await
            .unwrap();
        assert_eq!(created.results[0].action, ImportAction::Created);
        let err = admin
            .import_accounts(vec![
                json!({"id": "acc_a", "provider": "openai_compatible", "label": "renamed"}),
                json!({"provider": "openai", "label": "b", "api_key": "k", "tier": "gold"}),
            ])
            .await
            .unwrap_err();
        assert!(
            matches!(&err, AdminError::InvalidItem { index: 1, field, .. } if field == "tier"),
            "{err:?}"
        );
        assert_eq!(
            admin.get_account("acc_a").await.unwrap().label,
            "a",
            "nothing written"
        );
        let updated = admin
            .import_accounts(vec![
                json!({"id": "acc_a", "provider": "openai_compatible", "label": "renamed"}),
            ])
            .await
            .unwrap();
        assert_eq!(updated.results[0].action, ImportAction::Updated);
        let view = admin.get_account("acc_a").await.unwrap();
        assert_eq!(view.label, "renamed");
        assert_eq!(view.base_url, "http://h/v1");
        assert_eq!(view.quota_scope.as_deref(), Some("s"));
        assert_eq!(view.models, ["m*"]);
        assert_eq!(admin.pool().accounts()[0].credential.expose(), "k-secret-1");
        let exported = admin.export_accounts(false).await.unwrap();
        assert_eq!(exported[0].api_key, None);
        assert_eq!(
            admin.export_accounts(true).await.unwrap()[0]
                .api_key
                .as_deref(),
            Some("k-secret-1")
        );
    }
}

/// serde's message without the value it quotes (`unknown variant `sk-…``, `invalid type:
/// string "…"`): a secret pasted into the wrong field must not come back in the error.
fn without_values(message: &str) -> String {
    // serde names the value it got first, then what it expected (kept: the valid
    // variants help).
    let mut out = String::with_capacity(message.len());
    let mut open: Option<char> = None;
    let mut done = false;
    for c in message.chars() {
        match open {
            Some(q) if c == q => {
                open = None;
                done = true;
                out.push('…');
                out.push(c);
            }
            Some(_) => {}
            None if !done && (c == '`' || c == '"') => {
                open = Some(c);
                out.push(c);
            }
            None => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod value_tests {
    use super::without_values;

    #[test]
    fn quoted_values_are_left_out() {
        assert_eq!(
            without_values("unknown variant `sk-secret-1234`, expected one of `openai`, `gemini`"),
            "unknown variant `…`, expected one of `openai`, `gemini`"
        );
        assert_eq!(
            without_values("invalid type: string \"sk-abc\", expected u32"),
            "invalid type: string \"…\", expected u32"
        );
    }
}
