//! Versioned schema migrations, tracked in `PRAGMA user_version`. Append only: never edit
//! a released step, add a new one.

use super::StoreError;
use rusqlite::Connection;

const STEPS: &[&str] = &[
    // 1: accounts and client keys.
    "CREATE TABLE accounts (
        id            TEXT PRIMARY KEY,
        provider      TEXT NOT NULL,
        label         TEXT NOT NULL,
        base_url      TEXT,
        tier          TEXT NOT NULL,
        models        TEXT,             -- JSON array of globs, NULL = provider default
        enabled       INTEGER NOT NULL CHECK (enabled IN (0, 1)),
        secret_nonce  BLOB NOT NULL,
        secret_ct     BLOB NOT NULL,    -- AES-256-GCM, AAD = 'account:' || id
        secret_hint   TEXT NOT NULL,
        position      INTEGER NOT NULL,
        created_at    INTEGER NOT NULL,
        updated_at    INTEGER NOT NULL
    ) STRICT;
    CREATE TABLE client_keys (
        id          TEXT PRIMARY KEY,
        name        TEXT NOT NULL,
        key_digest  BLOB NOT NULL UNIQUE, -- SHA-256 of the key; the key itself is never stored
        key_hint    TEXT NOT NULL,
        created_at  INTEGER NOT NULL
    ) STRICT;",
    // 2: quota scopes (accounts sharing one quota share lockouts).
    "ALTER TABLE accounts ADD COLUMN quota_scope TEXT;",
    // 3: the request log and its hourly usage rollups (key, account, model: '' when none).
    "CREATE TABLE request_log (
        id              TEXT PRIMARY KEY,
        ts              INTEGER NOT NULL, -- unix ms, when the request started
        request_id      TEXT NOT NULL,
        key_id          TEXT,
        protocol_in     TEXT NOT NULL,
        protocol_out    TEXT,
        model           TEXT,
        upstream_model  TEXT,
        account_id      TEXT,
        status          INTEGER NOT NULL,
        stream          INTEGER NOT NULL CHECK (stream IN (0, 1)),
        latency_ms      INTEGER NOT NULL,
        ttfb_ms         INTEGER,
        input           INTEGER NOT NULL,
        cache_read      INTEGER NOT NULL,
        cache_write     INTEGER NOT NULL,
        output          INTEGER NOT NULL,
        reasoning       INTEGER NOT NULL,
        cost_micro_usd  INTEGER,
        price_version   TEXT,
        error           TEXT,
        attempts        TEXT NOT NULL     -- JSON array of {account_id, outcome, status, ms}
    ) STRICT;
    -- One index: every secondary index is one more B-tree insert per logged request on
    -- the writer, which shares the CPU with the proxy. Filters by key, account, model
    -- and status walk this one newest first (pages are small, recent rows are hot).
    CREATE INDEX request_log_by_ts ON request_log (ts, id);
    CREATE TABLE usage_hourly (
        hour            INTEGER NOT NULL, -- unix ms at the start of the UTC hour
        key_id          TEXT NOT NULL,
        account_id      TEXT NOT NULL,
        model           TEXT NOT NULL,
        requests        INTEGER NOT NULL,
        input           INTEGER NOT NULL,
        cache_read      INTEGER NOT NULL,
        cache_write     INTEGER NOT NULL,
        output          INTEGER NOT NULL,
        reasoning       INTEGER NOT NULL,
        cost_micro_usd  INTEGER NOT NULL,
        PRIMARY KEY (hour, key_id, account_id, model)
    ) STRICT;",
];

/// Apply every step newer than the database's version, each in its own transaction.
pub fn apply(conn: &mut Connection) -> Result<(), StoreError> {
    let current: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let supported = i64::try_from(STEPS.len()).unwrap_or(i64::MAX);
    if current > supported {
        return Err(StoreError::TooNew {
            found: current,
            supported,
        });
    }
    for (i, sql) in STEPS
        .iter()
        .enumerate()
        .skip(usize::try_from(current).unwrap_or(0))
    {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", i + 1)?;
        tx.commit()?;
    }
    Ok(())
}
