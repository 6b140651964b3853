//! Client keys and their policy: create (the key is returned once), list with the spend
//! of the current budget period, read, change (`null` clears), revoke.

use super::{Admin, AdminError, CLIENT_KEY_PREFIX};
use crate::crypto::{KeyDigest, random_id, random_token};
use crate::store::{KeyRecord, now_unix};
use switchyard_types::admin::{CreateKey, KeyCreated, KeyView, UpdateKey, secret_hint};

/// Dollars (validated finite, 0..=1000000) as micro-dollars.
fn micro_usd(usd: f64) -> i64 {
    #[expect(
        clippy::cast_possible_truncation,
        reason = "validated to 0..=1e6 dollars, far inside i64 micro-dollars"
    )]
    let micro = (usd * 1e6).round() as i64;
    micro.max(0)
}

impl Admin {
    pub async fn create_key(&self, req: CreateKey) -> Result<KeyCreated, AdminError> {
        let key = random_token(CLIENT_KEY_PREFIX);
        let mut rec = KeyRecord::unlimited(
            random_id("key_"),
            req.name,
            KeyDigest::of(&key),
            secret_hint(&key),
            now_unix(),
        );
        rec.enabled = req.enabled.unwrap_or(true);
        rec.rpm = req.rpm;
        rec.tpm = req.tpm;
        rec.budget_micro_usd = req.budget_usd.map(micro_usd);
        rec.budget_period = req.budget_period.unwrap_or_default();
        rec.models = req.models;
        rec.expires_at = req.expires_at;
        rec.note = req.note.filter(|n| !n.is_empty());
        self.store.insert_key(rec.clone()).await?;
        self.reload().await?;
        Ok(KeyCreated {
            id: rec.id,
            name: rec.name,
            key,
            key_hint: rec.hint,
            created_at: rec.created_at,
        })
    }

    pub async fn list_keys(&self) -> Result<Vec<KeyView>, AdminError> {
        let now = now_unix();
        Ok(self
            .store
            .list_keys()
            .await?
            .into_iter()
            .map(|k| self.key_view(k, now))
            .collect())
    }

    fn key_view(&self, k: KeyRecord, now: i64) -> KeyView {
        #[expect(
            clippy::cast_precision_loss,
            reason = "micro-dollars below 2^53 are exact in f64"
        )]
        let usd = |micro: i64| micro as f64 / 1e6;
        KeyView {
            budget_used_usd: usd(self.keys.spent(&k.id, now)),
            id: k.id,
            name: k.name,
            key_hint: k.hint,
            created_at: k.created_at,
            updated_at: k.updated_at,
            enabled: k.enabled,
            rpm: k.rpm,
            tpm: k.tpm,
            budget_usd: k.budget_micro_usd.map(usd),
            budget_period: k.budget_period,
            models: k.models,
            expires_at: k.expires_at,
            note: k.note,
        }
    }

    /// `PATCH /api/keys/{id}`: absent fields unchanged, `null` clears.
    pub async fn update_key(&self, id: &str, req: UpdateKey) -> Result<KeyView, AdminError> {
        let not_found = || AdminError::NotFound {
            what: "key",
            id: id.to_owned(),
        };
        let mut rec = self.store.get_key(id).await?.ok_or_else(not_found)?;
        if let Some(name) = req.name {
            rec.name = name;
        }
        if let Some(rpm) = req.rpm {
            rec.rpm = rpm;
        }
        if let Some(tpm) = req.tpm {
            rec.tpm = tpm;
        }
        if let Some(budget) = req.budget_usd {
            rec.budget_micro_usd = budget.map(micro_usd);
        }
        if let Some(period) = req.budget_period {
            rec.budget_period = period;
        }
        if let Some(models) = req.models {
            rec.models = models;
        }
        if let Some(expires_at) = req.expires_at {
            rec.expires_at = expires_at;
        }
        if let Some(enabled) = req.enabled {
            rec.enabled = enabled;
        }
        if let Some(note) = req.note {
            rec.note = note.filter(|n| !n.is_empty());
        }
        rec.updated_at = now_unix();
        if !self.store.update_key(rec.clone()).await? {
            return Err(not_found());
        }
        self.reload().await?;
        Ok(self.key_view(rec, now_unix()))
    }

    /// One client key, as listed.
    pub async fn get_key(&self, id: &str) -> Result<KeyView, AdminError> {
        let rec = self
            .store
            .get_key(id)
            .await?
            .ok_or_else(|| AdminError::NotFound {
                what: "key",
                id: id.to_owned(),
            })?;
        Ok(self.key_view(rec, now_unix()))
    }

    pub async fn delete_key(&self, id: &str) -> Result<(), AdminError> {
        if !self.store.delete_key(id).await? {
            return Err(AdminError::NotFound {
                what: "key",
                id: id.to_owned(),
            });
        }
        self.reload().await
    }
}
