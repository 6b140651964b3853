//! The `account_quota` table: the last quota snapshot of each scope, written by the
//! upkeep task (never per request) and read back at start-up.

use super::{Store, StoreError};
use rusqlite::params;
use switchyard_types::quota::QuotaUnit;

/// One stored quota window or balance of a scope.
#[derive(Debug, Clone, PartialEq)]
pub struct QuotaRecord {
    pub scope: String,
    /// `None`: the whole account.
    pub model: Option<String>,
    pub unit: QuotaUnit,
    pub source: String,
    pub limit: Option<f64>,
    pub remaining: Option<f64>,
    pub used: Option<f64>,
    /// Unix seconds.
    pub resets_at: Option<i64>,
    /// Unix seconds.
    pub updated_at: i64,
}

impl Store {
    /// Insert or replace these rows, in one transaction.
    pub async fn save_quota(&self, rows: Vec<QuotaRecord>) -> Result<(), StoreError> {
        if rows.is_empty() {
            return Ok(());
        }
        self.call(move |c| {
            let tx = c.transaction()?;
            {
                let mut stmt = tx.prepare(
                    "INSERT OR REPLACE INTO account_quota
                     (scope, model, unit, source, quota_limit, remaining, used, resets_at, updated_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                )?;
                for r in &rows {
                    stmt.execute(params![
                        r.scope,
                        r.model.as_deref().unwrap_or(""),
                        r.unit.as_str(),
                        r.source,
                        r.limit,
                        r.remaining,
                        r.used,
                        r.resets_at,
                        r.updated_at,
                    ])?;
                }
            }
            tx.commit()?;
            Ok(())
        })
        .await
    }

    /// Every stored row (rows with an unknown unit are skipped).
    pub async fn load_quota(&self) -> Result<Vec<QuotaRecord>, StoreError> {
        self.call(|c| {
            let mut stmt = c.prepare(
                "SELECT scope, model, unit, source, quota_limit, remaining, used, resets_at, updated_at
                 FROM account_quota ORDER BY scope, model, unit, source",
            )?;
            let rows = stmt.query_map([], |r| {
                let model: String = r.get(1)?;
                let unit: String = r.get(2)?;
                Ok(QuotaUnit::parse(&unit).map(|unit| QuotaRecord {
                    scope: r.get(0).unwrap_or_default(),
                    model: (!model.is_empty()).then_some(model),
                    unit,
                    source: r.get(3).unwrap_or_default(),
                    limit: r.get(4).unwrap_or_default(),
                    remaining: r.get(5).unwrap_or_default(),
                    used: r.get(6).unwrap_or_default(),
                    resets_at: r.get(7).unwrap_or_default(),
                    updated_at: r.get(8).unwrap_or_default(),
                }))
            })?;
            let mut out = Vec::new();
            for row in rows {
                if let Some(row) = row? {
                    out.push(row);
                }
            }
            Ok(out)
        })
        .await
    }
}
