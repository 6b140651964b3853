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
    // 4: client key policy (limits, budget, model allowlist, expiry) and the model
    // mapping with its tombstones (last-write-wins sync).
    "ALTER TABLE client_keys ADD COLUMN enabled INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1));
    ALTER TABLE client_keys ADD COLUMN rpm INTEGER;
    ALTER TABLE client_keys ADD COLUMN tpm INTEGER;
    ALTER TABLE client_keys ADD COLUMN budget_micro_usd INTEGER;
    ALTER TABLE client_keys ADD COLUMN budget_period TEXT NOT NULL DEFAULT 'total'
        CHECK (budget_period IN ('day', 'month', 'total'));
    ALTER TABLE client_keys ADD COLUMN models TEXT;      -- JSON array of globs, NULL = all
    ALTER TABLE client_keys ADD COLUMN expires_at INTEGER; -- unix s, NULL = never
    ALTER TABLE client_keys ADD COLUMN note TEXT;
    ALTER TABLE client_keys ADD COLUMN updated_at INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE model_mapping (
        alias       TEXT PRIMARY KEY,
        target      TEXT NOT NULL,    -- '' for a deleted entry
        updated_at  INTEGER NOT NULL, -- unix ms
        deleted     INTEGER NOT NULL CHECK (deleted IN (0, 1))
    ) STRICT;",
    // 5: account credential status, an optional admin credential (usage/cost reports),
    // the operator's display order, and quota snapshots per scope (model '' = account).
    "ALTER TABLE accounts ADD COLUMN status TEXT NOT NULL DEFAULT 'ok'
        CHECK (status IN ('ok', 'forbidden', 'needs_reauth'));
    ALTER TABLE accounts ADD COLUMN status_reason TEXT;
    ALTER TABLE accounts ADD COLUMN status_since INTEGER; -- unix s
    ALTER TABLE accounts ADD COLUMN admin_nonce BLOB;
    ALTER TABLE accounts ADD COLUMN admin_ct BLOB;      -- AES-256-GCM, AAD = 'account-admin:' || id
    ALTER TABLE accounts ADD COLUMN display_order INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE account_quota (
        scope       TEXT NOT NULL,
        model       TEXT NOT NULL,    -- '' for the whole account
        unit        TEXT NOT NULL,
        source      TEXT NOT NULL,
        quota_limit REAL,
        remaining   REAL,
        used        REAL,
        resets_at   INTEGER,          -- unix s
        updated_at  INTEGER NOT NULL, -- unix s
        PRIMARY KEY (scope, model, unit, source)
    ) STRICT;",
    // 6: OAuth. Pending sign-ins (single-use `state`, stored as its SHA-256 digest; the
    // PKCE verifier sealed) and each OAuth account's grant (refresh token sealed, access
    // token expiry, a generation bumped on every refresh, and a cross-process refresh
    // lease). The account's `secret` is its current access token.
    "CREATE TABLE oauth_flows (
        state_digest    BLOB PRIMARY KEY, -- SHA-256 of the state; the state is not stored
        provider        TEXT NOT NULL,    -- the [oauth.providers.NAME] name
        redirect_uri    TEXT NOT NULL,
        request         TEXT NOT NULL,    -- JSON: label, tier, models, base_url
        verifier_nonce  BLOB NOT NULL,
        verifier_ct     BLOB NOT NULL,    -- AES-256-GCM, AAD = 'oauth-flow:' || hex(state_digest)
        created_at      INTEGER NOT NULL, -- unix s
        expires_at      INTEGER NOT NULL, -- unix s
        used_at         INTEGER           -- unix s, once finished (kept to tell a reused state)
    ) STRICT;
    CREATE TABLE oauth_grants (
        account_id      TEXT PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
        provider        TEXT NOT NULL,    -- the [oauth.providers.NAME] name
        subject         TEXT,             -- the signed-in identity (id_token sub/email)
        project         TEXT,             -- Google: x-goog-user-project
        refresh_nonce   BLOB,
        refresh_ct      BLOB,             -- AES-256-GCM, AAD = 'account-refresh:' || account_id
        expires_at_ms   INTEGER NOT NULL, -- the access token's expiry, unix ms
        lifetime_ms     INTEGER NOT NULL, -- its lifetime when issued
        generation      INTEGER NOT NULL, -- bumped by every refresh and sign-in
        leased_until_ms INTEGER           -- a process is refreshing until then
    ) STRICT;
    CREATE INDEX oauth_grants_by_subject ON oauth_grants (provider, subject);",
    // 7: a counter of configuration changes (accounts, client keys, the model mapping),
    // moved by triggers whatever the writer: the change feed between two processes on
    // one data dir reloads when it moves, not on every request-log batch.
    "CREATE TABLE config_version (
        id      INTEGER PRIMARY KEY CHECK (id = 1),
        version INTEGER NOT NULL
    ) STRICT;
    INSERT INTO config_version (id, version) VALUES (1, 0);
    CREATE TRIGGER accounts_inserted AFTER INSERT ON accounts
        BEGIN UPDATE config_version SET version = version + 1; END;
    CREATE TRIGGER accounts_updated AFTER UPDATE ON accounts
        BEGIN UPDATE config_version SET version = version + 1; END;
    CREATE TRIGGER accounts_deleted AFTER DELETE ON accounts
        BEGIN UPDATE config_version SET version = version + 1; END;
    CREATE TRIGGER client_keys_inserted AFTER INSERT ON client_keys
        BEGIN UPDATE config_version SET version = version + 1; END;
    CREATE TRIGGER client_keys_updated AFTER UPDATE ON client_keys
        BEGIN UPDATE config_version SET version = version + 1; END;
    CREATE TRIGGER client_keys_deleted AFTER DELETE ON client_keys
        BEGIN UPDATE config_version SET version = version + 1; END;
    CREATE TRIGGER model_mapping_inserted AFTER INSERT ON model_mapping
        BEGIN UPDATE config_version SET version = version + 1; END;
    CREATE TRIGGER model_mapping_updated AFTER UPDATE ON model_mapping
        BEGIN UPDATE config_version SET version = version + 1; END;
    CREATE TRIGGER model_mapping_deleted AFTER DELETE ON model_mapping
        BEGIN UPDATE config_version SET version = version + 1; END;",
    // 8: who holds an OAuth refresh lease (a random id per process), so a process can
    // take back its own lease left by a refresh that did not finish.
    "ALTER TABLE oauth_grants ADD COLUMN leased_by TEXT;",
    // 9: the request log as one B-tree, keyed by (ts, id): a logged request was three
    // inserts (rowid table, `id` autoindex, `request_log_by_ts`) and is now one; lookups
    // by id read the ts out of the id. `request_log_stats` holds the row count, moved in
    // the same transaction as every insert batch and retention delete, so retention by
    // row count needs no COUNT(*); the writer takes it again once per start (a binary
    // from before this step, still draining after a redeploy, writes without it).
    "CREATE TABLE request_log_new (
        id              TEXT NOT NULL,    -- log_{ts:012x}{random:08x}
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
        attempts        TEXT NOT NULL,    -- JSON array of {account_id, outcome, status, ms}
        PRIMARY KEY (ts, id)
    ) STRICT, WITHOUT ROWID;
    INSERT INTO request_log_new (id, ts, request_id, key_id, protocol_in, protocol_out, model,
        upstream_model, account_id, status, stream, latency_ms, ttfb_ms, input, cache_read,
        cache_write, output, reasoning, cost_micro_usd, price_version, error, attempts)
    SELECT id, ts, request_id, key_id, protocol_in, protocol_out, model,
        upstream_model, account_id, status, stream, latency_ms, ttfb_ms, input, cache_read,
        cache_write, output, reasoning, cost_micro_usd, price_version, error, attempts
    FROM request_log ORDER BY ts, id;
    DROP TABLE request_log;
    ALTER TABLE request_log_new RENAME TO request_log;
    CREATE TABLE request_log_stats (
        one   INTEGER PRIMARY KEY CHECK (one = 1),
        rows  INTEGER NOT NULL
    ) STRICT;
    INSERT INTO request_log_stats (one, rows) SELECT 1, COUNT(*) FROM request_log;",
];

/// Apply every step newer than the database's version, each in its own transaction.
pub fn apply(conn: &mut Connection) -> Result<(), StoreError> {
    apply_through(conn, STEPS.len())
}

/// Apply the steps newer than the database's version up to step `last` (tests build
/// databases of an older schema with it).
pub(super) fn apply_through(conn: &mut Connection, last: usize) -> Result<(), StoreError> {
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
        .take(last)
        .skip(usize::try_from(current).unwrap_or(0))
    {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", i + 1)?;
        tx.commit()?;
    }
    Ok(())
}
