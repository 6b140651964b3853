//! The `accounts` table.

use super::{Store, StoreError};
use crate::crypto::Sealed;
use rusqlite::{OptionalExtension, Row, Transaction, params};
use switchyard_types::accounts::AccountStatus;
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
    /// `Ok`, `Forbidden` or `NeedsReauth` (never `Disabled`: that is `enabled`).
    pub status: AccountStatus,
    pub status_reason: Option<String>,
    pub status_since: Option<i64>,
    /// The optional admin credential (usage/cost reports), sealed with AAD
    /// `account-admin:{id}`.
    pub admin_secret: Option<Sealed>,
    pub display_order: i64,
}

const COLUMNS: &str = "id, provider, label, base_url, tier, models, enabled, secret_nonce, \
                       secret_ct, secret_hint, position, created_at, updated_at, quota_scope, \
                       status, status_reason, status_since, admin_nonce, admin_ct, display_order";

fn from_row(row: &Row<'_>) -> rusqlite::Result<Result<AccountRecord, StoreError>> {
    let id: String = row.get(0)?;
    let provider: String = row.get(1)?;
    let tier: String = row.get(4)?;
    let models: Option<String> = row.get(5)?;
    let status: String = row.get(14)?;
    let admin_nonce: Option<Vec<u8>> = row.get(17)?;
    let admin_ct: Option<Vec<u8>> = row.get(18)?;
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
    let Some(status) = AccountStatus::parse(&status) else {
        return Ok(Err(corrupt(format!("unknown status {status:?}"))));
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
        status,
        status_reason: row.get(15)?,
        status_since: row.get(16)?,
        admin_secret: admin_nonce
            .zip(admin_ct)
            .map(|(nonce, ciphertext)| Sealed { nonce, ciphertext }),
        display_order: row.get(19)?,
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
            insert_in(&tx, &mut rec)?;
            tx.commit()?;
            Ok(rec)
        })
        .await
    }

    /// Every account, in routing order.
    pub async fn list_accounts(&self) -> Result<Vec<AccountRecord>, StoreError> {
        self.call(|c| list_in(c)).await
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

    /// Overwrite the mutable columns of an existing account; `false` if it is gone. The
    /// secret columns are written only when `secret` is [`SecretWrite::Changed`]: an
    /// account's secret read earlier may have been replaced since (an OAuth refresh).
    pub async fn update_account(
        &self,
        rec: AccountRecord,
        secret: SecretWrite,
    ) -> Result<bool, StoreError> {
        self.call(move |c| update_in(c, &rec, secret)).await
    }

    /// Create and update accounts in one transaction: all of them or none.
    /// `creates` get their positions here, after the existing accounts, in order;
    /// `updates` write their secret only when it says [`SecretWrite::Changed`].
    pub async fn import_accounts(
        &self,
        creates: Vec<AccountRecord>,
        updates: Vec<(AccountRecord, SecretWrite)>,
    ) -> Result<(), StoreError> {
        self.call(move |c| {
            let tx = c.transaction()?;
            for (rec, secret) in &updates {
                if !update_in(&tx, rec, *secret)? {
                    return Err(StoreError::Corrupt {
                        id: rec.id.clone(),
                        message: "the account disappeared during the import".into(),
                    });
                }
            }
            for mut rec in creates {
                insert_in(&tx, &mut rec)?;
            }
            tx.commit()?;
            Ok(())
        })
        .await
    }

    /// Record a credential status (`reason`, `since`: unix s). `false` if the account is
    /// gone.
    pub async fn set_account_status(
        &self,
        id: &str,
        status: AccountStatus,
        reason: Option<String>,
        since: i64,
    ) -> Result<bool, StoreError> {
        let id = id.to_owned();
        self.call(move |c| {
            let n = c.execute(
                "UPDATE accounts SET status = ?2, status_reason = ?3, status_since = ?4 WHERE id = ?1",
                params![id, status.as_str(), reason, since],
            )?;
            Ok(n == 1)
        })
        .await
    }

    /// Enable or disable these accounts in one transaction; the ids that exist.
    pub async fn set_accounts_enabled(
        &self,
        ids: Vec<String>,
        enabled: bool,
        now: i64,
    ) -> Result<Vec<String>, StoreError> {
        self.call(move |c| {
            each_id(c, ids, |tx, id| {
                tx.execute(
                    "UPDATE accounts SET enabled = ?2, updated_at = ?3 WHERE id = ?1",
                    params![id, enabled, now],
                )
            })
        })
        .await
    }

    /// Delete these accounts in one transaction; the ids that existed.
    pub async fn delete_accounts(&self, ids: Vec<String>) -> Result<Vec<String>, StoreError> {
        self.call(move |c| {
            each_id(c, ids, |tx, id| {
                tx.execute("DELETE FROM accounts WHERE id = ?1", [id])
            })
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

pub(super) fn insert_in(tx: &Transaction<'_>, rec: &mut AccountRecord) -> Result<(), StoreError> {
    rec.position = tx.query_row(
        "SELECT COALESCE(MAX(position), 0) + 1 FROM accounts",
        [],
        |r| r.get(0),
    )?;
    tx.execute(
        &format!(
            "INSERT INTO accounts ({COLUMNS}) VALUES \
             (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19,?20)"
        ),
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
            rec.status.as_str(),
            rec.status_reason,
            rec.status_since,
            rec.admin_secret.as_ref().map(|s| s.nonce.clone()),
            rec.admin_secret.as_ref().map(|s| s.ciphertext.clone()),
            rec.display_order,
        ],
    )?;
    Ok(())
}

/// Whether an account update writes the secret columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretWrite {
    /// The caller set a new secret: write it.
    Changed,
    /// Leave the stored secret as it is (it may be newer than the record's).
    Keep,
}

/// Every account, in routing order.
pub(super) fn list_in(c: &rusqlite::Connection) -> Result<Vec<AccountRecord>, StoreError> {
    let mut stmt = c.prepare(&format!(
        "SELECT {COLUMNS} FROM accounts ORDER BY display_order, position, id"
    ))?;
    let rows = stmt.query_map([], from_row)?;
    let mut out = Vec::new();
    for row in rows {
        out.push(row??);
    }
    Ok(out)
}

pub(super) fn update_in(
    c: &rusqlite::Connection,
    rec: &AccountRecord,
    secret: SecretWrite,
) -> Result<bool, StoreError> {
    let n = c.execute(
        "UPDATE accounts SET label = ?2, base_url = ?3, tier = ?4, models = ?5, enabled = ?6,
         secret_nonce = CASE WHEN ?15 THEN ?7 ELSE secret_nonce END,
         secret_ct = CASE WHEN ?15 THEN ?8 ELSE secret_ct END,
         secret_hint = CASE WHEN ?15 THEN ?9 ELSE secret_hint END,
         updated_at = ?10, quota_scope = ?11,
         admin_nonce = ?12, admin_ct = ?13, display_order = ?14 WHERE id = ?1",
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
            rec.admin_secret.as_ref().map(|s| s.nonce.clone()),
            rec.admin_secret.as_ref().map(|s| s.ciphertext.clone()),
            rec.display_order,
            secret == SecretWrite::Changed,
        ],
    )?;
    Ok(n == 1)
}

/// Run `statement` for each id in one transaction; the ids it changed a row for.
fn each_id(
    c: &mut rusqlite::Connection,
    ids: Vec<String>,
    statement: impl Fn(&Transaction<'_>, &str) -> rusqlite::Result<usize>,
) -> Result<Vec<String>, StoreError> {
    let tx = c.transaction()?;
    let mut done = Vec::new();
    for id in ids {
        if statement(&tx, &id)? == 1 {
            done.push(id);
        }
    }
    tx.commit()?;
    Ok(done)
}
