//! The request log and its hourly usage rollups: batched inserts (rows and rollups in one
//! transaction), retention in small deletes, and the queries behind `/api/logs` and
//! `/api/usage`.
//!
//! The log is one B-tree keyed by `(ts, id)` (migration 9): a row is one insert, retention
//! is range deletes at its left edge, and an id (`log_` + ts in 12 hex digits + 8 random
//! hex digits) carries the ts its lookup needs. The row count lives in
//! `request_log_stats`, moved in the same transaction as every insert and delete, and
//! taken again ([`Store::recount_logs`]) once per start and whenever a delete finds fewer
//! rows than it said (a writer that did not keep it: a binary from before it, during the
//! redeploy that migrated the file; a manual delete). Triggers would keep it exact
//! whoever writes, but cost a fifth of the writer's speed (`--bench logs`).
//!
//! Pages are newest first, ordered by `(ts, id)` descending; a [`LogCursor`] is the last
//! row's `(ts, id)`, so paging is stable while rows are added or pruned. Rollups are keyed
//! by UTC hour × key × account × model (`''` where the request had none) and are kept
//! when log rows are pruned.

use super::{Store, StoreError};
use crate::accounting::log::LogRecord;
use crate::pipeline::context::AttemptRecord;
use base64::Engine;
use rand::Rng;
use rusqlite::types::Value;
use rusqlite::{
    Connection, OptionalExtension, Row, Transaction, TransactionBehavior, params, params_from_iter,
};
use std::collections::HashMap;
use switchyard_types::logs::{
    LogAttempt, LogEntry, LogPage, LogUsage, StatusClass, UsageBucket, UsageGroup, UsageReport,
    UsageRow,
};

/// Default page size of [`Store::list_logs`].
pub const DEFAULT_LOG_LIMIT: usize = 50;
/// Largest page size of [`Store::list_logs`].
pub const MAX_LOG_LIMIT: usize = 500;

const HOUR_MS: i64 = 3_600_000;

/// Where a page of the log ends: the last row's `(ts, id)`. Opaque to clients
/// (URL-safe base64 of `ts:id`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogCursor {
    pub ts: i64,
    pub id: String,
}

impl LogCursor {
    pub fn encode(&self) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{}:{}", self.ts, self.id))
    }

    /// `None` when `text` is not a cursor this store made.
    pub fn decode(text: &str) -> Option<Self> {
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(text)
            .ok()?;
        let text = String::from_utf8(bytes).ok()?;
        let (ts, id) = text.split_once(':')?;
        Some(Self {
            ts: ts.parse().ok()?,
            id: id.to_owned(),
        })
    }
}

/// Filters of [`Store::list_logs`]; `from` and `to` (unix ms) are inclusive.
#[derive(Debug, Clone)]
pub struct LogFilter {
    pub from: Option<i64>,
    pub to: Option<i64>,
    pub key_id: Option<String>,
    pub account_id: Option<String>,
    pub model: Option<String>,
    pub status: Option<StatusClass>,
    /// Clamped to `1..=MAX_LOG_LIMIT`.
    pub limit: usize,
    pub cursor: Option<LogCursor>,
}

impl Default for LogFilter {
    fn default() -> Self {
        Self {
            from: None,
            to: None,
            key_id: None,
            account_id: None,
            model: None,
            status: None,
            limit: DEFAULT_LOG_LIMIT,
            cursor: None,
        }
    }
}

/// [`Store::usage`]: totals per group and bucket between `from` and `to` (unix ms,
/// inclusive; hours are counted by their start).
#[derive(Debug, Clone, Copy)]
pub struct UsageQuery {
    pub group: UsageGroup,
    pub bucket: UsageBucket,
    pub from: Option<i64>,
    pub to: Option<i64>,
}

fn int(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn uint(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

fn usd(micro: i64) -> f64 {
    micro as f64 / 1e6
}

const COLUMNS: &str = "id, ts, request_id, key_id, protocol_in, protocol_out, model, upstream_model, \
    account_id, status, stream, latency_ms, ttfb_ms, input, cache_read, cache_write, output, \
    reasoning, cost_micro_usd, error, attempts";

fn entry(row: &Row<'_>) -> rusqlite::Result<(LogEntry, String)> {
    let status: i64 = row.get(9)?;
    let ttfb: Option<i64> = row.get(12)?;
    let cost: Option<i64> = row.get(18)?;
    Ok((
        LogEntry {
            id: row.get(0)?,
            ts: row.get(1)?,
            request_id: row.get(2)?,
            key_id: row.get(3)?,
            protocol_in: row.get(4)?,
            protocol_out: row.get(5)?,
            model: row.get(6)?,
            upstream_model: row.get(7)?,
            account_id: row.get(8)?,
            status: u16::try_from(status).unwrap_or(0),
            stream: row.get::<_, i64>(10)? != 0,
            latency_ms: uint(row.get(11)?),
            ttfb_ms: ttfb.map(uint),
            usage: LogUsage {
                input: uint(row.get(13)?),
                cache_read: uint(row.get(14)?),
                cache_write: uint(row.get(15)?),
                output: uint(row.get(16)?),
                reasoning: uint(row.get(17)?),
            },
            cost_usd: cost.map(usd),
            error: row.get(19)?,
            attempts: Vec::new(),
        },
        row.get(20)?,
    ))
}

fn with_attempts((mut entry, attempts): (LogEntry, String)) -> Result<LogEntry, StoreError> {
    entry.attempts =
        serde_json::from_str::<Vec<LogAttempt>>(&attempts).map_err(|e| StoreError::Corrupt {
            id: entry.id.clone(),
            message: format!("attempts: {e}"),
        })?;
    Ok(entry)
}

/// An attempt as stored (the JSON of [`LogAttempt`]), borrowed from the record.
#[derive(serde::Serialize)]
struct AttemptRow<'a> {
    account_id: &'a str,
    outcome: &'static str,
    status: Option<u16>,
    ms: u64,
}

/// A record's attempts as stored: a JSON array of [`AttemptRow`], serialised as it is
/// walked (no `Vec` of rows first).
struct AttemptRows<'a>(&'a [AttemptRecord]);

impl serde::Serialize for AttemptRows<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().map(|a| AttemptRow {
            account_id: &a.account_id,
            outcome: a.outcome.label(),
            status: a.status,
            ms: u64::try_from(a.duration.as_millis()).unwrap_or(u64::MAX),
        }))
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Append `v` in lowercase hex, zero-padded to at least `digits` digits.
fn push_hex(out: &mut String, v: u64, digits: u32) {
    let width = (u64::BITS - v.leading_zeros()).div_ceil(4).max(digits);
    for i in (0..width).rev() {
        // At most 16 digits for a u64, so the shift stays below 64.
        out.push(char::from(HEX[((v >> (4 * i)) & 0xf) as usize]));
    }
}

/// Replace `out` with a new row's id: `log_` + `ts` in at least 12 hex digits (negative
/// ones as 0) + `random` in 8. Time-ordered, like the primary key.
fn write_log_id(out: &mut String, ts: i64, random: u32) {
    out.clear();
    out.push_str("log_");
    push_hex(out, u64::try_from(ts).unwrap_or(0), 12);
    push_hex(out, u64::from(random), 8);
}

/// The ts an id made by [`write_log_id`] carries; `None` for any other text.
fn id_ts(id: &str) -> Option<i64> {
    let hex = id.strip_prefix("log_")?;
    if hex.len() < 20 || !hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return None;
    }
    // Too many digits for an i64 fails here too.
    i64::from_str_radix(&hex[..hex.len() - 8], 16).ok()
}

/// Insert `records` and add them to the rollups and the row count, in one transaction.
/// Each row gets a fresh id.
fn insert(conn: &mut Connection, records: &[LogRecord]) -> Result<(), StoreError> {
    let tx = conn.transaction()?;
    {
        let mut row = tx.prepare_cached(
            "INSERT INTO request_log (id, ts, request_id, key_id, protocol_in, protocol_out, model,
                upstream_model, account_id, status, stream, latency_ms, ttfb_ms, input, cache_read,
                cache_write, output, reasoning, cost_micro_usd, price_version, error, attempts)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17,
                ?18, ?19, ?20, ?21, ?22)",
        )?;
        let mut rollup = tx.prepare_cached(
            "INSERT INTO usage_hourly (hour, key_id, account_id, model, requests, input, cache_read,
                cache_write, output, reasoning, cost_micro_usd)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
             ON CONFLICT (hour, key_id, account_id, model) DO UPDATE SET
                requests = requests + excluded.requests,
                input = input + excluded.input,
                cache_read = cache_read + excluded.cache_read,
                cache_write = cache_write + excluded.cache_write,
                output = output + excluded.output,
                reasoning = reasoning + excluded.reasoning,
                cost_micro_usd = cost_micro_usd + excluded.cost_micro_usd",
        )?;
        // Rollups summed per batch first: one upsert per (hour, key, account, model)
        // group, not one per row (the writer shares the CPU with the proxy).
        let mut groups: HashMap<(i64, &str, &str, &str), [i64; 7]> = HashMap::new();
        // One id and one attempts buffer for the whole batch, one random source.
        let mut rng = rand::thread_rng();
        let mut id = String::with_capacity(24);
        let mut json: Vec<u8> = Vec::with_capacity(256);
        for r in records {
            let corrupt = |message: String| StoreError::Corrupt {
                id: r.request_id.to_string(),
                message,
            };
            json.clear();
            serde_json::to_writer(&mut json, &AttemptRows(&r.attempts))
                .map_err(|e| corrupt(format!("attempts: {e}")))?;
            let attempts =
                std::str::from_utf8(&json).map_err(|e| corrupt(format!("attempts: {e}")))?;
            write_log_id(&mut id, r.ts, rng.r#gen());
            let account = r.account_id();
            let u = r.usage;
            row.execute(params![
                id,
                r.ts,
                &*r.request_id,
                r.key_id.as_deref(),
                r.protocol_in,
                r.protocol_out,
                r.model.as_deref(),
                r.upstream_model.as_deref(),
                account,
                i64::from(r.status),
                r.stream,
                int(r.latency_ms),
                r.ttfb_ms.map(int),
                int(u.input),
                int(u.cache_read),
                int(u.cache_write),
                int(u.output),
                int(u.reasoning),
                r.cost.as_ref().map(|c| c.micro_usd),
                r.cost.as_ref().map(|c| &*c.price_version),
                r.error,
                attempts,
            ])?;
            let sums = groups
                .entry((
                    r.ts.div_euclid(HOUR_MS) * HOUR_MS,
                    r.key_id.as_deref().unwrap_or(""),
                    account.unwrap_or(""),
                    r.model.as_deref().unwrap_or(""),
                ))
                .or_default();
            let add = [
                1,
                int(u.input),
                int(u.cache_read),
                int(u.cache_write),
                int(u.output),
                int(u.reasoning),
                r.cost.as_ref().map_or(0, |c| c.micro_usd),
            ];
            for (sum, value) in sums.iter_mut().zip(add) {
                *sum = sum.saturating_add(value);
            }
        }
        for ((hour, key, account, model), sums) in groups {
            rollup.execute(params![
                hour, key, account, model, sums[0], sums[1], sums[2], sums[3], sums[4], sums[5],
                sums[6],
            ])?;
        }
        if !records.is_empty() {
            tx.prepare_cached("UPDATE request_log_stats SET rows = rows + ?1 WHERE one = 1")?
                .execute([int(records.len() as u64)])?;
        }
    }
    tx.commit()?;
    Ok(())
}

/// Delete the `n` oldest rows among those with `ts <= last` (fewer if there are not so
/// many): find the `n`th in key order, then one range delete on the primary key up to it.
/// Returns how many went; the caller moves the row count.
fn delete_oldest(tx: &Transaction<'_>, last: i64, n: u64) -> Result<u64, StoreError> {
    if n == 0 {
        return Ok(0);
    }
    let bound: Option<(i64, String)> = tx
        .prepare_cached(
            "SELECT ts, id FROM request_log WHERE ts <= ?1 ORDER BY ts, id LIMIT 1 OFFSET ?2",
        )?
        .query_row(params![last, int(n - 1)], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let deleted = match bound {
        Some((ts, id)) => tx
            .prepare_cached("DELETE FROM request_log WHERE (ts, id) <= (?1, ?2)")?
            .execute(params![ts, id])?,
        None => tx
            .prepare_cached("DELETE FROM request_log WHERE ts <= ?1")?
            .execute([last])?,
    };
    Ok(deleted as u64)
}

/// [`Store::prune_logs`], in one transaction (taken for writing at once: it reads the
/// row count it then moves, and another process may be writing too).
fn prune(
    conn: &mut Connection,
    cutoff_ts: i64,
    max_rows: u64,
    chunk: u64,
) -> Result<u64, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut deleted = match cutoff_ts.checked_sub(1) {
        Some(last) => delete_oldest(&tx, last, chunk)?,
        None => 0,
    };
    let mut short = false;
    if deleted < chunk {
        let rows: i64 = tx
            .prepare_cached("SELECT rows FROM request_log_stats WHERE one = 1")?
            .query_row([], |r| r.get(0))?;
        let excess = uint(rows)
            .saturating_sub(deleted)
            .saturating_sub(max_rows)
            .min(chunk - deleted);
        let got = delete_oldest(&tx, i64::MAX, excess)?;
        // Fewer rows than the count said: it was left off (see the module docs).
        short = got < excess;
        deleted += got;
    }
    if short {
        recount(&tx)?;
    } else if deleted > 0 {
        tx.prepare_cached("UPDATE request_log_stats SET rows = MAX(rows - ?1, 0) WHERE one = 1")?
            .execute([int(deleted)])?;
    }
    tx.commit()?;
    Ok(deleted)
}

/// Set the row count to the rows there are (a scan of the table).
fn recount(tx: &Transaction<'_>) -> Result<(), StoreError> {
    tx.execute(
        "UPDATE request_log_stats SET rows = (SELECT COUNT(*) FROM request_log) WHERE one = 1",
        [],
    )?;
    Ok(())
}

impl Store {
    /// Write `records`, their rollups and the row count in one transaction.
    pub async fn write_logs(&self, records: Vec<LogRecord>) -> Result<(), StoreError> {
        self.call(move |c| insert(c, &records)).await
    }

    /// One retention step: delete at most `chunk` rows, the oldest first, among those
    /// older than `cutoff_ts` (unix ms) and those beyond the newest `max_rows`. Returns
    /// how many went; call again while that is `chunk`.
    pub async fn prune_logs(
        &self,
        cutoff_ts: i64,
        max_rows: u64,
        chunk: u64,
    ) -> Result<u64, StoreError> {
        self.call(move |c| prune(c, cutoff_ts, max_rows, chunk))
            .await
    }

    /// Count the log's rows again (a scan of the table) and keep that as the row count
    /// (see the module docs).
    pub async fn recount_logs(&self) -> Result<(), StoreError> {
        self.call(|c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            recount(&tx)?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    /// Set `request_log_stats.rows` (tests: a count left off).
    #[cfg(test)]
    pub(crate) async fn set_log_count_stat(&self, rows: u64) -> Result<(), StoreError> {
        self.call(move |c| {
            c.execute("UPDATE request_log_stats SET rows = ?1", [int(rows)])?;
            Ok(())
        })
        .await
    }

    /// `request_log_stats.rows` (tests).
    #[cfg(test)]
    pub(crate) async fn log_count_stat(&self) -> Result<u64, StoreError> {
        self.call(|c| {
            Ok(uint(c.query_row(
                "SELECT rows FROM request_log_stats",
                [],
                |r| r.get(0),
            )?))
        })
        .await
    }

    /// A page of the log, newest first.
    pub async fn list_logs(&self, filter: LogFilter) -> Result<LogPage, StoreError> {
        self.call(move |c| {
            let limit = filter.limit.clamp(1, MAX_LOG_LIMIT);
            let mut sql = format!("SELECT {COLUMNS} FROM request_log WHERE 1 = 1");
            let mut values: Vec<Value> = Vec::new();
            let mut push = |clause: &str, v: Value, sql: &mut String| {
                values.push(v);
                sql.push_str(&clause.replace('?', &format!("?{}", values.len())));
            };
            if let Some(from) = filter.from {
                push(" AND ts >= ?", Value::Integer(from), &mut sql);
            }
            if let Some(to) = filter.to {
                push(" AND ts <= ?", Value::Integer(to), &mut sql);
            }
            if let Some(key) = filter.key_id {
                push(" AND key_id = ?", Value::Text(key), &mut sql);
            }
            if let Some(account) = filter.account_id {
                push(" AND account_id = ?", Value::Text(account), &mut sql);
            }
            if let Some(model) = filter.model {
                push(" AND model = ?", Value::Text(model), &mut sql);
            }
            if let Some(class) = filter.status {
                let (lo, hi) = class.range();
                push(" AND status >= ?", Value::Integer(lo.into()), &mut sql);
                push(" AND status < ?", Value::Integer(hi.into()), &mut sql);
            }
            if let Some(cursor) = filter.cursor {
                push(" AND (ts, id) < (?", Value::Integer(cursor.ts), &mut sql);
                push(", ?)", Value::Text(cursor.id), &mut sql);
            }
            push(
                " ORDER BY ts DESC, id DESC LIMIT ?",
                Value::Integer(int(limit as u64 + 1)),
                &mut sql,
            );
            let mut stmt = c.prepare(&sql)?;
            let mut items = stmt
                .query_map(params_from_iter(values), entry)?
                .map(|r| with_attempts(r?))
                .collect::<Result<Vec<_>, _>>()?;
            let next_cursor = if items.len() > limit {
                items.truncate(limit);
                items.last().map(|e| {
                    LogCursor {
                        ts: e.ts,
                        id: e.id.clone(),
                    }
                    .encode()
                })
            } else {
                None
            };
            Ok(LogPage { items, next_cursor })
        })
        .await
    }

    /// One log row with its attempts, found by its primary key: the ts comes out of the
    /// id. An id this store did not make is not found.
    pub async fn get_log(&self, id: &str) -> Result<Option<LogEntry>, StoreError> {
        let Some(ts) = id_ts(id) else {
            return Ok(None);
        };
        // A ts before 1970 was written as 0 in its id.
        let (first, last) = if ts == 0 { (i64::MIN, 0) } else { (ts, ts) };
        let id = id.to_owned();
        self.call(move |c| {
            c.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM request_log WHERE ts >= ?1 AND ts <= ?2 AND id = ?3"
            ))?
            .query_row(params![first, last, id], entry)
            .optional()?
            .map(with_attempts)
            .transpose()
        })
        .await
    }

    /// Usage totals from the rollups, by bucket then group.
    pub async fn usage(&self, query: UsageQuery) -> Result<UsageReport, StoreError> {
        self.call(move |c| {
            let group = match query.group {
                UsageGroup::Model => "model",
                UsageGroup::Account => "account_id",
                UsageGroup::Key => "key_id",
            };
            let width = query.bucket.millis();
            let from = query
                .from
                .map_or(i64::MIN, |f| f.div_euclid(HOUR_MS) * HOUR_MS);
            let to = query.to.unwrap_or(i64::MAX);
            let mut stmt = c.prepare(&format!(
                "SELECT (hour / ?1) * ?1 AS bucket, {group} AS grp, SUM(requests), SUM(input),
                    SUM(cache_read), SUM(cache_write), SUM(output), SUM(reasoning),
                    SUM(cost_micro_usd)
                 FROM usage_hourly WHERE hour >= ?2 AND hour <= ?3
                 GROUP BY bucket, grp ORDER BY bucket, grp"
            ))?;
            let rows = stmt
                .query_map(params![width, from, to], |r| {
                    Ok(UsageRow {
                        bucket: r.get(0)?,
                        group: r.get(1)?,
                        requests: uint(r.get(2)?),
                        input: uint(r.get(3)?),
                        cache_read: uint(r.get(4)?),
                        cache_write: uint(r.get(5)?),
                        output: uint(r.get(6)?),
                        reasoning: uint(r.get(7)?),
                        cost_usd: usd(r.get(8)?),
                    })
                })?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(UsageReport { rows })
        })
        .await
    }

    /// Rows in the request log, counted (retention reads `request_log_stats` instead).
    pub async fn count_logs(&self) -> Result<u64, StoreError> {
        self.call(|c| {
            Ok(uint(c.query_row(
                "SELECT COUNT(*) FROM request_log",
                [],
                |r| r.get(0),
            )?))
        })
        .await
    }
}

#[cfg(test)]
mod tests;
