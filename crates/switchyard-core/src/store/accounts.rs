//! The `accounts` table.

use super::{Store, StoreError};
use crate::crypto::Sealed;
use rusqlite::{OptionalExtension, Row, params};
use switchyard_types::{Provider, Tier};

/// One stored account. The credential stays sealed here; the pool opens it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountRecord {
    pub id: String,
    pub provider: Provider,
    pub label: String,
    pub base_url: Option<String>,
    pub tier: Tier,
    pub models: Option<Vec<String>>,
    pub enabled: bool,
    pub secret: Sealed,
    pub secret_hint: String,
    pub position: i64,
    /// Accounts with the same scope share lockouts; `None`: the account alone.
    pub quota_scope: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

const COLUMNS: &str = "id, provider, label, base_url, tier, models, enabled, secret_nonce, \
                       secret_ct, secret_hint, position, created_at, updated_at, quota_scope";

fn from_row(row: &Row<'_>) -> rusqlite::Result<Result<AccountRecord, StoreError>> {
    let id: String = row.get(0)?;
    let provider: String = row.get(1)?;
    let tier: String = row.get(4)?;
    let models: Option<String> = row.get(5)?;
    let corrupt = |message: String| StoreError::Corrupt {
        id: id.clone(),
        message,
    };
    let provider = match provider.parse::<Provider>() {
        Ok(p) => p,
        Err(e) => return Ok(Err(corrupt(e.to_string()))),
    };
    let Ok(tier) = tier.parse::<Tier>() else {
        return Ok(Err(corrupt(format!("unknown tier {tier:?}"))));
    };
    let models = match models
        .map(|m| serde_json::from_str::<Vec<String>>(&m))
        .transpose()
    {
        Ok(m) => m,
        Err(e) => return Ok(Err(corrupt(format!("models: {e}")))),
    };
    Ok(Ok(AccountRecord {
        provider,
        label: row.get(2)?,
        base_url: row.get(3)?,
        tier,
        models,
        enabled: row.get(6)?,
        secret: Sealed {
            nonce: row.get(7)?,
            ciphertext: row.get(8)?,
        },
        secret_hint: row.get(9)?,
        position: row.get(10)?,
        created_at: row.get(11)?,
        updated_at: row.get(12)?,
        quota_scope: row.get(13)?,
        id,
    }))
}

fn models_json(models: Option<&Vec<String>>) -> Option<String> {
    models.map(|m| serde_json::Value::from(m.clone()).to_string())
}

impl Store {
    /// Insert a new account at the end of the order (its `position` is assigned here).
    pub async fn insert_account(
        &self,
        mut rec: AccountRecord,
    ) -> Result<AccountRecord, StoreError> {
        self.call(move |c| {
            let tx = c.transaction()?;
            rec.position =
                tx.query_row("SELECT COALESCE(MAX(position), 0) + 1 FROM accounts", [], |r| r.get(0))?;
            tx.execute(
                &format!("INSERT INTO accounts ({COLUMNS}) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14)"),
                params![
                    rec.id,
                    rec.provider.as_str(),
                    rec.label,
                    rec.base_url,
                    rec.tier.as_str(),
                    models_json(rec.models.as_ref()),
                    rec.enabled,
                    rec.secret.nonce,
                    rec.secret.ciphertext,
                    rec.secret_hint,
                    rec.position,
                    rec.created_at,
                    rec.updated_at,
                    rec.quota_scope,
                ],
            )?;
            tx.commit()?;
            Ok(rec)
        })
        .await
    }

    /// Every account, in routing order.
    pub async fn list_accounts(&self) -> Result<Vec<AccountRecord>, StoreError> {
        self.call(|c| {
            let mut stmt = c.prepare(&format!(
                "SELECT {COLUMNS} FROM accounts ORDER BY position, id"
            ))?;
            let rows = stmt.query_map([], from_row)?;
            let mut out = Vec::new();
            for row in rows {
                out.push(row??);
            }
            Ok(out)
        })
        .await
    }

    pub async fn get_account(&self, id: &str) -> Result<Option<AccountRecord>, StoreError> {
        let id = id.to_owned();
        self.call(move |c| {
            c.query_row(
                &format!("SELECT {COLUMNS} FROM accounts WHERE id = ?1"),
                [id],
                from_row,
            )
            .optional()?
            .transpose()
        })
        .await
    }

    /// Overwrite the mutable columns of an existing account; `false` if it is gone.
    pub async fn update_account(&self, rec: AccountRecord) -> Result<bool, StoreError> {
        self.call(move |c| {
            let n = c.execute(
                "UPDATE accounts SET label = ?2, base_url = ?3, tier = ?4, models = ?5, enabled = ?6,
                 secret_nonce = ?7, secret_ct = ?8, secret_hint = ?9, updated_at = ?10, quota_scope = ?11 WHERE id = ?1",
                params![
                    rec.id,
                    rec.label,
                    rec.base_url,
                    rec.tier.as_str(),
                    models_json(rec.models.as_ref()),
                    rec.enabled,
                    rec.secret.nonce,
                    rec.secret.ciphertext,
                    rec.secret_hint,
                    rec.updated_at,
                    rec.quota_scope,
                ],
            )?;
            Ok(n == 1)
        })
        .await
    }

    /// Delete an account; `false` if there was none.
    pub async fn delete_account(&self, id: &str) -> Result<bool, StoreError> {
        let id = id.to_owned();
        self.call(move |c| Ok(c.execute("DELETE FROM accounts WHERE id = ?1", [id])? == 1))
            .await
    }
}
