//! Management operations: the store is the source of truth; after each change the pool,
//! key ring and model mapping are rebuilt from it, so the next request sees the change.
//!
//! Callers validate request bodies (their `validator` rules) before calling in; the
//! checks here are the ones that need more than one field or the stored state.

mod accounts;
mod keys;
mod mapping;

use crate::crypto::{CryptoError, MasterKey, random_id};
use crate::keyring::KeyRing;
use crate::mapping::{ModelMap, Resolver};
use crate::pool::{AccountSpec, Pool};
use crate::store::{AccountRecord, SecretWrite, Store, StoreError, now_unix};
use std::collections::HashMap;
use std::sync::Arc;
use switchyard_types::Provider;
use switchyard_types::admin::{
    AccountView, CreateAccount, UpdateAccount, base_url_problem, secret_hint,
};

/// Prefix of client keys we issue.
pub const CLIENT_KEY_PREFIX: &str = "sy-";

/// A management operation failed.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("{what} {id:?} not found")]
    NotFound { what: &'static str, id: String },
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    /// One item of a batch (an import) is invalid; nothing was written.
    #[error("item {index}: {field}: {message}")]
    InvalidItem {
        index: usize,
        field: String,
        message: String,
    },
    /// A billing endpoint could not be polled.
    #[error(transparent)]
    Poll(#[from] crate::quota::poll::PollError),
}

/// The management service.
#[derive(Debug, Clone)]
pub struct Admin {
    store: Store,
    master: Arc<MasterKey>,
    pool: Arc<Pool>,
    keys: Arc<KeyRing>,
    mapping: Arc<ModelMap>,
    /// Serialises reloads so an older snapshot can never overwrite a newer one. An async
    /// mutex: it is held across the store read.
    reload_lock: Arc<tokio::sync::Mutex<()>>,
}

fn context(id: &str) -> String {
    format!("account:{id}")
}

fn view(rec: &AccountRecord) -> AccountView {
    AccountView {
        id: rec.id.clone(),
        provider: rec.provider,
        label: rec.label.clone(),
        base_url: effective_base_url(rec.provider, rec.base_url.as_deref()),
        tier: rec.tier,
        models: effective_models(rec.provider, rec.models.as_ref()),
        enabled: rec.enabled,
        api_key_hint: rec.secret_hint.clone(),
        quota_scope: rec.quota_scope.clone(),
        has_admin_key: rec.admin_secret.is_some(),
        display_order: rec.display_order,
        status: rec.status,
        status_reason: rec.status_reason.clone(),
        status_since: rec.status_since,
        oauth_provider: None,
        created_at: rec.created_at,
        updated_at: rec.updated_at,
    }
}

fn effective_base_url(provider: Provider, base_url: Option<&str>) -> String {
    base_url
        .or(provider.default_base_url())
        .unwrap_or_default()
        .trim_end_matches('/')
        .to_owned()
}

fn effective_models(provider: Provider, models: Option<&Vec<String>>) -> Vec<String> {
    match models {
        Some(m) => m.clone(),
        None => provider
            .default_models()
            .iter()
            .map(|m| (*m).to_owned())
            .collect(),
    }
}

/// The account's `base_url` is present when the provider has no default, and well formed
/// (http(s), no `user:password@`: see [`base_url_problem`]) when given. Checked here as
/// well as by the request validator, so no caller can store a credential in a URL.
fn require_base_url(provider: Provider, base_url: Option<&str>) -> Result<(), AdminError> {
    if provider.default_base_url().is_none() && base_url.is_none_or(str::is_empty) {
        return Err(AdminError::Invalid {
            field: "base_url",
            message: format!("is required for provider {provider}"),
        });
    }
    if let Some(problem) = base_url
        .filter(|u| !u.is_empty())
        .and_then(base_url_problem)
    {
        return Err(AdminError::Invalid {
            field: "base_url",
            message: problem.to_owned(),
        });
    }
    Ok(())
}

impl Admin {
    pub fn new(store: Store, master: Arc<MasterKey>, pool: Arc<Pool>, keys: Arc<KeyRing>) -> Self {
        Self {
            store,
            master,
            pool,
            keys,
            mapping: Arc::default(),
            reload_lock: Arc::default(),
        }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The pool this service rebuilds.
    pub fn pool(&self) -> &Arc<Pool> {
        &self.pool
    }

    /// The model mapping snapshot (rebuilt by [`Self::reload`]).
    pub fn mapping(&self) -> &Arc<ModelMap> {
        &self.mapping
    }

    /// Rebuild the pool and key ring from the store. An account whose credential cannot
    /// be decrypted is left out of routing (and logged), never fatal for the others.
    pub async fn reload(&self) -> Result<(), AdminError> {
        let _guard = self.reload_lock.lock().await;
        // One read: an OAuth account's token and its generation belong together.
        let (records, grants) = self.store.list_accounts_with_grants().await?;
        let mut grants: HashMap<String, crate::store::GrantRecord> = grants
            .into_iter()
            .map(|g| (g.account_id.clone(), g))
            .collect();
        let mut specs = Vec::with_capacity(records.len());
        for rec in records {
            match self.master.open(&rec.secret, &context(&rec.id)) {
                Ok(credential) => {
                    let admin_key = rec.admin_secret.as_ref().and_then(|sealed| {
                        self.master
                            .open(sealed, &accounts::admin_context(&rec.id))
                            .map_err(|e| {
                                tracing::error!(account = %rec.id, error = %e, "admin key cannot be opened; quota polls skip it");
                            })
                            .ok()
                    });
                    let oauth = grants.remove(&rec.id).map(|g| crate::pool::OAuthSpec {
                        provider: g.provider,
                        project: g.project,
                        expires_at_ms: g.expires_at_ms,
                        lifetime_ms: g.lifetime_ms,
                        generation: g.generation,
                    });
                    specs.push(AccountSpec {
                        base_url: effective_base_url(rec.provider, rec.base_url.as_deref()),
                        models: effective_models(rec.provider, rec.models.as_ref()),
                        id: rec.id,
                        provider: rec.provider,
                        label: rec.label,
                        tier: rec.tier,
                        enabled: rec.enabled,
                        credential,
                        quota_scope: rec.quota_scope,
                        admin_key,
                        status: rec.status,
                        status_reason: rec.status_reason,
                        status_since: rec.status_since,
                        oauth,
                    });
                }
                Err(e) => {
                    tracing::error!(account = %rec.id, error = %e, "account left out of routing");
                }
            }
        }
        self.pool.replace(specs);
        let keys = self.store.list_keys().await?;
        let now = now_unix();
        let needed = self.keys.seeds_needed(&keys, now);
        let mut seeds = HashMap::new();
        if !needed.is_empty() {
            let mut starts: Vec<i64> = needed.iter().map(|n| n.since * 1000).collect();
            starts.sort_unstable();
            starts.dedup();
            let spend = self.store.key_spend_since(starts).await?;
            for n in needed {
                let spent = spend
                    .get(&(n.since * 1000))
                    .and_then(|by_key| by_key.get(&n.id))
                    .copied()
                    .unwrap_or(0);
                seeds.insert(n.id, spent);
            }
        }
        self.keys.replace(&keys, &seeds, now);
        let entries = self.store.list_mapping().await?;
        self.mapping.replace(Resolver::new(&entries));
        Ok(())
    }

    pub async fn create_account(&self, req: CreateAccount) -> Result<AccountView, AdminError> {
        require_base_url(req.provider, req.base_url.as_deref())?;
        let id = random_id("acc_");
        let now = now_unix();
        let admin_secret = req
            .admin_key
            .as_deref()
            .map(|k| self.master.seal(k, &accounts::admin_context(&id)))
            .transpose()?;
        let rec = AccountRecord {
            secret: self.master.seal(&req.api_key, &context(&id))?,
            secret_hint: secret_hint(&req.api_key),
            id,
            provider: req.provider,
            label: req.label,
            base_url: req.base_url.filter(|u| !u.is_empty()),
            tier: req.tier.unwrap_or_default(),
            models: req.models,
            enabled: req.enabled.unwrap_or(true),
            position: 0,
            quota_scope: req.quota_scope.filter(|s| !s.is_empty()),
            status: switchyard_types::accounts::AccountStatus::Ok,
            status_reason: None,
            status_since: None,
            admin_secret,
            display_order: req.display_order.unwrap_or(0),
            created_at: now,
            updated_at: now,
        };
        let rec = self.store.insert_account(rec).await?;
        self.reload().await?;
        Ok(view(&rec))
    }

    pub async fn list_accounts(&self) -> Result<Vec<AccountView>, AdminError> {
        Ok(self
            .store
            .list_accounts()
            .await?
            .iter()
            .map(|r| {
                let mut v = view(r);
                self.overlay_status(&mut v);
                v
            })
            .collect())
    }

    pub async fn get_account(&self, id: &str) -> Result<AccountView, AdminError> {
        self.store
            .get_account(id)
            .await?
            .map(|r| {
                let mut v = view(&r);
                self.overlay_status(&mut v);
                v
            })
            .ok_or_else(|| AdminError::NotFound {
                what: "account",
                id: id.to_owned(),
            })
    }

    pub async fn update_account(
        &self,
        id: &str,
        req: UpdateAccount,
    ) -> Result<AccountView, AdminError> {
        let not_found = || AdminError::NotFound {
            what: "account",
            id: id.to_owned(),
        };
        let mut rec = self.store.get_account(id).await?.ok_or_else(not_found)?;
        if let Some(label) = req.label {
            rec.label = label;
        }
        if let Some(url) = req.base_url {
            rec.base_url = Some(url).filter(|u| !u.is_empty());
            require_base_url(rec.provider, rec.base_url.as_deref())?;
        }
        if let Some(tier) = req.tier {
            rec.tier = tier;
        }
        if let Some(models) = req.models {
            rec.models = Some(models);
        }
        if let Some(enabled) = req.enabled {
            rec.enabled = enabled;
        }
        if let Some(key) = req.admin_key {
            rec.admin_secret = if key.is_empty() {
                None
            } else {
                Some(self.master.seal(&key, &accounts::admin_context(&rec.id))?)
            };
        }
        if let Some(order) = req.display_order {
            rec.display_order = order;
        }
        if let Some(scope) = req.quota_scope {
            rec.quota_scope = Some(scope).filter(|s| !s.is_empty());
        }
        let secret = if let Some(key) = req.api_key {
            rec.secret = self.master.seal(&key, &context(&rec.id))?;
            rec.secret_hint = secret_hint(&key);
            SecretWrite::Changed
        } else {
            SecretWrite::Keep
        };
        rec.updated_at = now_unix();
        if !self.store.update_account(rec.clone(), secret).await? {
            return Err(not_found());
        }
        self.reload().await?;
        let mut updated = view(&rec);
        self.overlay_status(&mut updated);
        Ok(updated)
    }

    pub async fn delete_account(&self, id: &str) -> Result<(), AdminError> {
        if !self.store.delete_account(id).await? {
            return Err(AdminError::NotFound {
                what: "account",
                id: id.to_owned(),
            });
        }
        self.reload().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchyard_types::admin::CreateKey;

    async fn admin_on(store: Store) -> (Admin, Arc<Pool>, Arc<KeyRing>) {
        let master = Arc::new(MasterKey::parse(&"42".repeat(32)).unwrap());
        let pool = Arc::new(Pool::new());
        let keys = Arc::new(KeyRing::new());
        let admin = Admin::new(store, master, Arc::clone(&pool), Arc::clone(&keys));
        admin.reload().await.unwrap();
        (admin, pool, keys)
    }

    fn create(provider: &str, key: &str) -> CreateAccount {
        serde_json::from_value(serde_json::json!({
            "provider": provider, "label": "acct", "api_key": key
        }))
        .unwrap()
    }

    #[tokio::test]
    async fn changes_reach_the_pool_and_keyring() {
        let (admin, pool, keys) = admin_on(Store::open_in_memory().await.unwrap()).await;
        let acc = admin
            .create_account(create("openai", "sk-test-abcdefgh1234"))
            .await
            .unwrap();
        assert_eq!(acc.api_key_hint, "sk-…1234");
        assert_eq!(acc.base_url, "https://api.openai.com/v1");
        assert_eq!(
            pool.accounts()[0].credential.expose(),
            "sk-test-abcdefgh1234"
        );
        assert!(pool.accounts()[0].serves("gpt-4o"));

        let upd = UpdateAccount {
            enabled: Some(false),
            ..Default::default()
        };
        assert!(!admin.update_account(&acc.id, upd).await.unwrap().enabled);
        assert!(!pool.accounts()[0].enabled);

        let k = admin
            .create_key(CreateKey {
                name: "ci".into(),
                ..Default::default()
            })
            .await
            .unwrap();
        assert!(keys.authenticate(&k.key).is_some());
        admin.delete_key(&k.id).await.unwrap();
        assert!(keys.authenticate(&k.key).is_none());

        admin.delete_account(&acc.id).await.unwrap();
        assert!(pool.accounts().is_empty());
        assert!(matches!(
            admin.delete_account(&acc.id).await,
            Err(AdminError::NotFound { .. })
        ));
    }

    #[tokio::test]
    async fn openai_compatible_needs_a_base_url() {
        let (admin, _, _) = admin_on(Store::open_in_memory().await.unwrap()).await;
        let err = admin
            .create_account(create("openai_compatible", "k"))
            .await
            .unwrap_err();
        assert!(matches!(
            err,
            AdminError::Invalid {
                field: "base_url",
                ..
            }
        ));
    }

    #[tokio::test]
    async fn base_url_with_credentials_or_another_scheme_is_refused() {
        let (admin, _, _) = admin_on(Store::open_in_memory().await.unwrap()).await;
        let invalid_base_url = |r: Result<AccountView, AdminError>| matches!(r, Err(AdminError::Invalid { field: "base_url", ref message }) if !message.contains("hunter2"));
        for url in [
            "https://user:hunter2@api.example.com/v1",
            "ftp://api.example.com",
        ] {
            let mut req = create("openai", "sk-test-abcdefgh1234");
            req.base_url = Some(url.to_owned());
            assert!(invalid_base_url(admin.create_account(req).await), "{url}");
        }
        let acc = admin
            .create_account(create("openai", "sk-test-abcdefgh1234"))
            .await
            .unwrap();
        let upd = UpdateAccount {
            base_url: Some("http://user:hunter2@10.0.0.1".into()),
            ..Default::default()
        };
        assert!(invalid_base_url(admin.update_account(&acc.id, upd).await));
        let stored = admin.get_account(&acc.id).await.unwrap();
        assert_eq!(stored.base_url, "https://api.openai.com/v1");
        assert_eq!(admin.list_accounts().await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn database_file_holds_no_plaintext_secret() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite");
        let secret = "sk-PLAINTEXT-must-not-leak-9f8e7d";
        {
            let (admin, _, _) = admin_on(Store::open(&path).await.unwrap()).await;
            admin
                .create_account(create("openai", secret))
                .await
                .unwrap();
            let k = admin
                .create_key(CreateKey {
                    name: "n".into(),
                    ..Default::default()
                })
                .await
                .unwrap();
            // Force the WAL into the main file so both are checked in their final state.
            let key = k.key.clone();
            admin.store().schema_version().await.unwrap();
            for file in std::fs::read_dir(dir.path()).unwrap() {
                let bytes = std::fs::read(file.unwrap().path()).unwrap();
                for needle in [secret.as_bytes(), key.as_bytes(), b"PLAINTEXT"] {
                    assert!(!bytes.windows(needle.len()).any(|w| w == needle));
                }
            }
        }
        // Reopening with the same master key restores the credential.
        let (_, pool, _) = admin_on(Store::open(&path).await.unwrap()).await;
        assert_eq!(pool.accounts()[0].credential.expose(), secret);
    }
}
