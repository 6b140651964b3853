use super::*;
use crate::pipeline::context::{Cost, Usage};
use crate::pipeline::outcome::Outcome;
use crate::store::migrations;
use std::sync::Arc;
use std::time::Duration;

fn record(ts: i64) -> LogRecord {
    LogRecord {
        ts,
        request_id: format!("req_{ts}").into(),
        key_id: Some("k".into()),
        protocol_in: "openai",
        protocol_out: None,
        model: Some("m".into()),
        upstream_model: None,
        status: 200,
        stream: true,
        latency_ms: 3,
        ttfb_ms: None,
        usage: Usage::new(1, 0, 0, 2, 0),
        cost: Some(Cost {
            micro_usd: 7,
            price_version: "v".into(),
        }),
        error: None,
        attempts: vec![
            AttemptRecord {
                account_id: Arc::from("acc_\"quoted\""),
                provider: switchyard_types::Provider::OpenAi,
                outcome: Outcome::RateLimited { retry_after: None },
                status: Some(429),
                duration: Duration::from_millis(4),
            },
            AttemptRecord {
                account_id: Arc::from("acc_b"),
                provider: switchyard_types::Provider::OpenAi,
                outcome: Outcome::Relayed,
                status: Some(200),
                duration: Duration::from_millis(5),
            },
        ],
    }
}

/// `(COUNT(*), request_log_stats.rows)`.
async fn counts(store: &Store) -> (u64, u64) {
    store
        .call(|c| {
            Ok(c.query_row(
                "SELECT (SELECT COUNT(*) FROM request_log), rows FROM request_log_stats",
                [],
                |r| Ok((uint(r.get(0)?), uint(r.get(1)?))),
            )?)
        })
        .await
        .unwrap()
}

async fn all(store: &Store, limit: usize) -> Vec<LogEntry> {
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = store
            .list_logs(LogFilter {
                limit,
                cursor,
                ..LogFilter::default()
            })
            .await
            .unwrap();
        assert!(page.items.len() <= limit);
        seen.extend(page.items);
        match page.next_cursor {
            Some(next) => cursor = Some(LogCursor::decode(&next).unwrap()),
            None => return seen,
        }
    }
}

/// Rows as the schema before migration 9 held them (as `insert` wrote them then).
const OLD_ROWS: [(&str, i64); 5] = [
    ("log_000000000000deadbeef", -5),
    ("log_00000000000a00000002", 10),
    ("log_00000000000a00000001", 10),
    ("log_0197a1b2c3d400000000", 0x0197_a1b2_c3d4),
    ("log_0197a1b2c3d5ffffffff", 0x0197_a1b2_c3d5),
];

#[tokio::test]
async fn migration_9_keeps_every_row_and_counts_them() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("switchyard.db");
    {
        let mut conn = Connection::open(&path).unwrap();
        migrations::apply_through(&mut conn, 8).unwrap();
        for (id, ts) in OLD_ROWS {
            conn.execute(
                "INSERT INTO request_log (id, ts, request_id, key_id, protocol_in, protocol_out,
                    model, upstream_model, account_id, status, stream, latency_ms, ttfb_ms, input,
                    cache_read, cache_write, output, reasoning, cost_micro_usd, price_version,
                    error, attempts)
                 VALUES (?1, ?2, 'req', 'k', 'openai', NULL, 'm', NULL, 'a', 200, 0, 3, NULL,
                    1, 0, 0, 2, 0, 7, 'v', NULL,
                    '[{\"account_id\":\"a\",\"outcome\":\"relayed\",\"status\":200,\"ms\":5}]')",
                params![id, ts],
            )
            .unwrap();
        }
        assert_eq!(
            conn.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))
                .unwrap(),
            8
        );
    }
    let store = Store::open(&path).await.unwrap();
    assert_eq!(store.schema_version().await.unwrap(), 9);
    assert_eq!(counts(&store).await, (5, 5));
    // One B-tree: no rowid, no index of its own.
    store
        .call(|c| {
            let indexes: i64 = c.query_row(
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND tbl_name = 'request_log'",
                [],
                |r| r.get(0),
            )?;
            assert_eq!(indexes, 0, "the table is its primary key");
            assert!(c.prepare("SELECT rowid FROM request_log").is_err());
            Ok(())
        })
        .await
        .unwrap();
    for (id, ts) in OLD_ROWS {
        let row = store.get_log(id).await.unwrap().unwrap();
        assert_eq!((row.id.as_str(), row.ts), (id, ts));
        assert_eq!(row.attempts.len(), 1);
    }
    // New rows sort among the old ones; counts stay exact.
    store
        .write_logs(vec![record(10), record(11)])
        .await
        .unwrap();
    assert_eq!(counts(&store).await, (7, 7));
    let ts: Vec<i64> = all(&store, 2).await.iter().map(|e| e.ts).collect();
    assert_eq!(ts, [0x0197_a1b2_c3d5, 0x0197_a1b2_c3d4, 11, 10, 10, 10, -5]);
    // The oldest go first, by age then by count.
    assert_eq!(store.prune_logs(10, 100, 10).await.unwrap(), 1);
    assert_eq!(store.get_log(OLD_ROWS[0].0).await.unwrap(), None);
    assert_eq!(store.prune_logs(0, 4, 10).await.unwrap(), 2);
    assert_eq!(counts(&store).await, (4, 4));
    let left: Vec<(i64, String)> = all(&store, 3)
        .await
        .into_iter()
        .map(|e| (e.ts, e.id))
        .collect();
    assert_eq!(left.len(), 4);
    assert_eq!(
        &left[..2],
        [
            (OLD_ROWS[4].1, OLD_ROWS[4].0.to_owned()),
            (OLD_ROWS[3].1, OLD_ROWS[3].0.to_owned()),
        ]
    );
    assert_eq!(left[2].0, 11);
    assert_eq!(left[3].0, 10);
}

#[tokio::test]
async fn the_row_count_stays_exact_through_inserts_and_prunes() {
    let store = Store::open_in_memory().await.unwrap();
    assert_eq!(counts(&store).await, (0, 0));
    // Empty batches and empty prunes move nothing.
    store.write_logs(Vec::new()).await.unwrap();
    assert_eq!(store.prune_logs(i64::MIN, 0, 10).await.unwrap(), 0);
    assert_eq!(counts(&store).await, (0, 0));
    let mut ts = 0;
    for size in [1, 37, 256, 3] {
        store
            .write_logs((0..size).map(|i| record(ts + i / 4)).collect())
            .await
            .unwrap();
        ts += size;
        let (rows, stats) = counts(&store).await;
        assert_eq!(rows, stats);
    }
    assert_eq!(counts(&store).await, (297, 297));
    // By age, in chunks; equal timestamps straddle a chunk's edge.
    let mut gone = 0;
    loop {
        let n = store.prune_logs(50, u64::MAX, 7).await.unwrap();
        assert!(n <= 7);
        gone += n;
        let (rows, stats) = counts(&store).await;
        assert_eq!((rows, stats), (297 - gone, 297 - gone));
        if n < 7 {
            break;
        }
    }
    let oldest = all(&store, 500).await.last().map(|e| e.ts);
    assert_eq!(oldest, Some(50));
    // By count: at most `chunk` per step, age first within the same step.
    assert_eq!(store.prune_logs(60, 200, 30).await.unwrap(), 30);
    assert_eq!(counts(&store).await.1, 297 - gone - 30);
    while store.prune_logs(0, 100, 30).await.unwrap() == 30 {}
    assert_eq!(counts(&store).await, (100, 100));
    let kept = all(&store, 500).await;
    assert_eq!(kept.len(), 100);
    assert_eq!(kept.first().map(|e| e.ts), Some(294));
    // Already at the cap: nothing to do.
    assert_eq!(store.prune_logs(0, 100, 30).await.unwrap(), 0);
    assert_eq!(store.prune_logs(0, 0, 1_000).await.unwrap(), 100);
    assert_eq!(counts(&store).await, (0, 0));
}

#[tokio::test]
async fn rows_are_found_by_id_and_anything_else_is_not_found() {
    let store = Store::open_in_memory().await.unwrap();
    let far = 0x7fff_ffff_ffff_ff00_i64; // more than 12 hex digits of ts
    store
        .write_logs(vec![record(1_750_000_000_123), record(far), record(-3)])
        .await
        .unwrap();
    let rows = all(&store, 10).await;
    assert_eq!(rows.len(), 3);
    for row in &rows {
        let got = store.get_log(&row.id).await.unwrap().unwrap();
        assert_eq!(&got, row);
        assert_eq!(got.attempts.len(), 2);
        assert_eq!(got.attempts[0].account_id, "acc_\"quoted\"");
        assert_eq!(got.attempts[0].outcome, "rate_limited");
        assert_eq!(got.attempts[1].ms, 5);
    }
    let real = &rows[1].id;
    // The real id with its last digit changed (to another digit whatever it was).
    let other_last = if real.ends_with('0') { '1' } else { '0' };
    let near_miss = format!("{}{other_last}", &real[..real.len() - 1]);
    for id in [
        "",
        "log_",
        "log_nope",
        "req_0197a1b2c3d400000000",
        "log_0197a1b2c3d4",
        "log_0197A1B2C3D400000000",
        "log_+197a1b2c3d400000000",
        "log_0197a1b2c3d4000000001", // 21 digits: another ts
        "log_ffffffffffffffffff00000000",
        "log_0197a1b2c3d4 0000000",
        "log_0197a1b2c3d4ééé",
        &real.replace("log_", "LOG_"),
        &near_miss,
    ] {
        assert_eq!(store.get_log(id).await.unwrap(), None, "{id:?}");
    }
}

#[test]
fn ids_carry_their_ts() {
    let mut id = String::from("left over");
    for (ts, random) in [
        (0, 0),
        (1, u32::MAX),
        (1_750_000_000_123, 0x0abc_def0),
        (0xffff_ffff_ffff, 7),
        (0x1_0000_0000_0000, 7),
        (i64::MAX, 1),
    ] {
        write_log_id(&mut id, ts, random);
        assert_eq!(id, format!("log_{ts:012x}{random:08x}"));
        assert_eq!(id_ts(&id), Some(ts));
    }
    write_log_id(&mut id, -1, 2);
    assert_eq!(id, "log_00000000000000000002");
    assert_eq!(id_ts(&id), Some(0));
}

/// The statements the writer and `/api/logs/{id}` run walk the primary key, never the
/// whole table.
#[tokio::test]
async fn lookups_and_retention_use_the_primary_key() {
    let store = Store::open_in_memory().await.unwrap();
    store
        .call(|c| {
            for sql in [
                format!(
                    "SELECT {COLUMNS} FROM request_log WHERE ts >= ?1 AND ts <= ?2 AND id = ?3"
                ),
                "SELECT ts, id FROM request_log WHERE ts <= ?1 ORDER BY ts, id LIMIT 1 OFFSET ?2"
                    .to_owned(),
                "DELETE FROM request_log WHERE (ts, id) <= (?1, ?2)".to_owned(),
                "DELETE FROM request_log WHERE ts <= ?1".to_owned(),
            ] {
                let mut stmt = c.prepare(&format!("EXPLAIN QUERY PLAN {sql}"))?;
                let unbound = std::iter::repeat_n(0_i64, stmt.parameter_count());
                let plan = stmt
                    .query_map(params_from_iter(unbound), |r| r.get::<_, String>(3))?
                    .collect::<Result<Vec<_>, _>>()?
                    .join("; ");
                assert!(
                    plan.contains("SEARCH request_log USING PRIMARY KEY"),
                    "{sql}: {plan}"
                );
            }
            Ok(())
        })
        .await
        .unwrap();
}

/// What a binary from before the row count does on the migrated file during a redeploy:
/// plain inserts and deletes, which know nothing of `request_log_stats`.
async fn write_behind_the_count(store: &Store, insert: i64, delete: i64) {
    store
        .call(move |c| {
            for ts in 0..insert {
                c.execute(
                    "INSERT INTO request_log (id, ts, request_id, protocol_in, status, stream,
                        latency_ms, input, cache_read, cache_write, output, reasoning, attempts)
                     VALUES (?1, ?2, 'req_old', 'openai', 200, 0, 1, 0, 0, 0, 0, 0, '[]')",
                    params![format!("log_{:012x}00000000", 10_000 + ts), 10_000 + ts],
                )?;
            }
            c.execute(
                "DELETE FROM request_log WHERE (ts, id) IN
                   (SELECT ts, id FROM request_log ORDER BY ts, id LIMIT ?1)",
                [delete],
            )?;
            Ok(())
        })
        .await
        .unwrap();
}

#[tokio::test]
async fn a_count_left_off_by_an_older_binary_is_taken_again() {
    let store = Store::open_in_memory().await.unwrap();
    store
        .write_logs((0..20).map(record).collect())
        .await
        .unwrap();
    // Too low: rows written behind the count; the recount fixes it.
    write_behind_the_count(&store, 15, 0).await;
    assert_eq!(counts(&store).await, (35, 20));
    store.recount_logs().await.unwrap();
    assert_eq!(counts(&store).await, (35, 35));
    // Too high: rows deleted behind it; taken again before retention runs, the prune
    // deletes only what is beyond `max_rows`.
    write_behind_the_count(&store, 0, 20).await;
    assert_eq!(counts(&store).await, (15, 35));
    store.recount_logs().await.unwrap();
    let deleted = store.prune_logs(i64::MIN, 10, 100).await.unwrap();
    assert_eq!(deleted, 5);
    assert_eq!(counts(&store).await, (10, 10));
    // A prune that finds fewer rows than the count said takes it again.
    store.set_log_count_stat(100).await.unwrap();
    assert_eq!(store.prune_logs(i64::MIN, 10, 1000).await.unwrap(), 10);
    assert_eq!(counts(&store).await, (0, 0));
}
