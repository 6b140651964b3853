//! The `client_keys` table. Only a SHA-256 digest of each key is stored, with the key's
//! policy (limits, budget, model allowlist, expiry); see [`crate::keyring`].

use super::{Store, StoreError};
use crate::crypto::KeyDigest;
use rusqlite::{Row, params};
use std::collections::HashMap;
use switchyard_types::admin::BudgetPeriod;

/// One stored client key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRecord {
    pub id: String,
    pub name: String,
    pub digest: KeyDigest,
    pub hint: String,
    pub created_at: i64,
    /// Unix seconds of the last change (0: never changed since created before policies).
    pub updated_at: i64,
    pub enabled: bool,
    /// Requests per minute.
    pub rpm: Option<u32>,
    /// Tokens per minute.
    pub tpm: Option<u64>,
    /// Spend allowed per `budget_period`, micro-USD.
    pub budget_micro_usd: Option<i64>,
    pub budget_period: BudgetPeriod,
    /// Allowed model patterns; `None`: all.
    pub models: Option<Vec<String>>,
    /// Unix seconds.
    pub expires_at: Option<i64>,
    pub note: Option<String>,
}

impl KeyRecord {
    /// A key with no policy: enabled, unlimited.
    pub fn unlimited(id: String, name: String, digest: KeyDigest, hint: String, now: i64) -> Self {
        Self {
            id,
            name,
            digest,
            hint,
            created_at: now,
            updated_at: now,
            enabled: true,
            rpm: None,
            tpm: None,
            budget_micro_usd: None,
            budget_period: BudgetPeriod::default(),
            models: None,
            expires_at: None,
            note: None,
        }
    }
}

const COLUMNS: &str = "id, name, key_digest, key_hint, created_at, updated_at, enabled, rpm, tpm, \
    budget_micro_usd, budget_period, models, expires_at, note";

fn corrupt(id: &str, message: impl Into<String>) -> StoreError {
    StoreError::Corrupt {
        id: id.to_owned(),
        message: message.into(),
    }
}

/// A row of [`COLUMNS`]; the inner `Err` names what is corrupt in a readable row.
fn from_row(r: &Row<'_>) -> rusqlite::Result<Result<KeyRecord, StoreError>> {
    let id: String = r.get(0)?;
    let digest: Vec<u8> = r.get(2)?;
    let Ok(digest) = <[u8; 32]>::try_from(digest) else {
        return Ok(Err(corrupt(&id, "key digest is not 32 bytes")));
    };
    let period: String = r.get(10)?;
    let Some(budget_period) = BudgetPeriod::parse(&period) else {
        return Ok(Err(corrupt(&id, "unknown budget period")));
    };
    let models: Option<String> = r.get(11)?;
    let models = match models.map(|m| serde_json::from_str::<Vec<String>>(&m)) {
        None => None,
        Some(Ok(m)) => Some(m),
        Some(Err(e)) => return Ok(Err(corrupt(&id, format!("models: {e}")))),
    };
    let rpm: Option<i64> = r.get(7)?;
    let tpm: Option<i64> = r.get(8)?;
    Ok(Ok(KeyRecord {
        name: r.get(1)?,
        digest: KeyDigest(digest),
        hint: r.get(3)?,
        created_at: r.get(4)?,
        updated_at: r.get(5)?,
        enabled: r.get(6)?,
        rpm: rpm.map(|v| u32::try_from(v).unwrap_or(u32::MAX)),
        tpm: tpm.map(|v| u64::try_from(v).unwrap_or(0)),
        budget_micro_usd: r.get(9)?,
        budget_period,
        models,
        expires_at: r.get(12)?,
        note: r.get(13)?,
        id,
    }))
}

fn models_json(models: Option<&Vec<String>>) -> Option<String> {
    models.map(|m| serde_json::Value::from(m.clone()).to_string())
}

fn int(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

impl Store {
    pub async fn insert_key(&self, rec: KeyRecord) -> Result<(), StoreError> {
        self.call(move |c| {
            c.execute(
                &format!("INSERT INTO client_keys ({COLUMNS}) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14)"),
                params![
                    rec.id,
                    rec.name,
                    rec.digest.0.to_vec(),
                    rec.hint,
                    rec.created_at,
                    rec.updated_at,
                    rec.enabled,
                    rec.rpm,
                    rec.tpm.map(int),
                    rec.budget_micro_usd,
                    rec.budget_period.as_str(),
                    models_json(rec.models.as_ref()),
                    rec.expires_at,
                    rec.note,
                ],
            )?;
            Ok(())
        })
        .await
    }

    /// Replace a key's name and policy (never its digest); `false` if there was none.
    pub async fn update_key(&self, rec: KeyRecord) -> Result<bool, StoreError> {
        self.call(move |c| {
            let n = c.execute(
                "UPDATE client_keys SET name = ?2, updated_at = ?3, enabled = ?4, rpm = ?5, tpm = ?6,
                    budget_micro_usd = ?7, budget_period = ?8, models = ?9, expires_at = ?10, note = ?11
                 WHERE id = ?1",
                params![
                    rec.id,
                    rec.name,
                    rec.updated_at,
                    rec.enabled,
                    rec.rpm,
                    rec.tpm.map(int),
                    rec.budget_micro_usd,
                    rec.budget_period.as_str(),
                    models_json(rec.models.as_ref()),
                    rec.expires_at,
                    rec.note,
                ],
            )?;
            Ok(n == 1)
        })
        .await
    }

    pub async fn list_keys(&self) -> Result<Vec<KeyRecord>, StoreError> {
        self.call(|c| {
            let mut stmt = c.prepare(&format!(
                "SELECT {COLUMNS} FROM client_keys ORDER BY created_at, id"
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

    pub async fn get_key(&self, id: &str) -> Result<Option<KeyRecord>, StoreError> {
        let id = id.to_owned();
        self.call(move |c| {
            let mut stmt =
                c.prepare(&format!("SELECT {COLUMNS} FROM client_keys WHERE id = ?1"))?;
            let mut rows = stmt.query_map([id], from_row)?;
            rows.next().transpose()?.transpose()
        })
        .await
    }

    /// Delete a key; `false` if there was none.
    pub async fn delete_key(&self, id: &str) -> Result<bool, StoreError> {
        let id = id.to_owned();
        self.call(move |c| Ok(c.execute("DELETE FROM client_keys WHERE id = ?1", [id])? == 1))
            .await
    }

    /// Spend (micro-USD) per client key in the usage rollups since each of `since` (unix
    /// ms, on an hour boundary), by key id: one grouped query per distinct start. The
    /// rollups, unlike the request log, are never pruned, so a `total` budget survives
    /// the log's retention.
    pub async fn key_spend_since(
        &self,
        since: Vec<i64>,
    ) -> Result<HashMap<i64, HashMap<String, i64>>, StoreError> {
        self.call(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT key_id, COALESCE(SUM(cost_micro_usd), 0) FROM usage_hourly
                 WHERE hour >= ?1 AND key_id != '' GROUP BY key_id",
            )?;
            let mut out = HashMap::new();
            for start in since {
                let rows = stmt.query_map([start], |r| Ok((r.get::<_, String>(0)?, r.get(1)?)))?;
                let sums: HashMap<String, i64> = rows.collect::<Result<_, _>>()?;
                out.insert(start, sums);
            }
            Ok(out)
        })
        .await
    }
}
