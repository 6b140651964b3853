//! The request log writer's cost per row, on a real database file (WAL, `synchronous =
//! NORMAL`, as served): `logs/write/N` writes batches of N records into a growing log;
//! `logs/steady/N` holds the log at its row cap, each batch followed by the retention
//! step that takes as many rows back out (the writer's state once a busy gateway is
//! full). Throughput is in rows.

#![expect(
    clippy::expect_used,
    reason = "benchmark harness: a broken fixture should abort loudly"
)]

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use std::sync::Arc;
use std::time::Duration;
use switchyard_core::accounting::log::LogRecord;
use switchyard_core::pipeline::context::{AttemptRecord, Cost, Usage};
use switchyard_core::pipeline::outcome::Outcome;
use switchyard_core::store::Store;

const BATCHES: [usize; 2] = [256, 1024];
/// Rows kept by `logs/steady`.
const CAP: u64 = 200_000;

/// A typical batch: rows a millisecond apart from `ts`, spread over a few keys,
/// accounts and models, one attempt each (one in 16 retried once).
fn batch(ts: i64, size: usize) -> Vec<LogRecord> {
    let keys: Vec<Arc<str>> = (0..8).map(|i| Arc::from(format!("key_{i:016x}"))).collect();
    let accounts: Vec<Arc<str>> = (0..32)
        .map(|i| Arc::from(format!("acc_{i:016x}")))
        .collect();
    let price: Arc<str> = Arc::from("2025-06-01");
    (0..size)
        .map(|i| {
            let n = i as i64;
            let attempt = |a: usize, outcome| AttemptRecord {
                account_id: Arc::clone(&accounts[a % accounts.len()]),
                provider: switchyard_types::Provider::OpenAi,
                outcome,
                status: Some(200),
                duration: Duration::from_millis(420),
            };
            let mut attempts = vec![attempt(i, Outcome::Relayed)];
            if i % 16 == 0 {
                attempts.insert(
                    0,
                    attempt(i + 1, Outcome::RateLimited { retry_after: None }),
                );
            }
            LogRecord {
                ts: ts + n,
                request_id: Arc::from(format!("req_{:016x}", ts + n)),
                key_id: Some(Arc::clone(&keys[i % keys.len()])),
                protocol_in: "openai",
                protocol_out: Some("openai"),
                model: Some(["gpt-4o-mini", "claude-sonnet-4-5", "gemini-2.5-flash"][i % 3].into()),
                upstream_model: Some("gpt-4o-mini-2024-07-18".into()),
                status: 200,
                stream: i % 2 == 0,
                latency_ms: 431,
                ttfb_ms: Some(212),
                usage: Usage::new(1200, 256, 0, 300, 0),
                cost: Some(Cost {
                    micro_usd: 1_234,
                    price_version: Arc::clone(&price),
                }),
                error: None,
                attempts,
            }
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut group = c.benchmark_group("logs");
    group.sample_size(30);
    group.measurement_time(Duration::from_secs(10));
    let dir = tempfile::tempdir().expect("tempdir");
    let mut ts = 1_750_000_000_000_i64;
    for size in BATCHES {
        group.throughput(Throughput::Elements(size as u64));
        let store = rt
            .block_on(Store::open(&dir.path().join(format!("write-{size}.db"))))
            .expect("open");
        group.bench_function(format!("write/{size}"), |b| {
            b.iter_batched(
                || {
                    ts += size as i64;
                    batch(ts, size)
                },
                |rows| rt.block_on(store.write_logs(rows)).expect("write"),
                BatchSize::SmallInput,
            );
        });
    }
    for size in BATCHES {
        group.throughput(Throughput::Elements(size as u64));
        let store = rt
            .block_on(Store::open(&dir.path().join(format!("steady-{size}.db"))))
            .expect("open");
        while rt.block_on(store.count_logs()).expect("count") < CAP {
            ts += size as i64;
            rt.block_on(store.write_logs(batch(ts, size)))
                .expect("fill");
        }
        while rt.block_on(store.prune_logs(0, CAP, 1_000)).expect("trim") == 1_000 {}
        let chunk = size as u64;
        group.bench_function(format!("steady/{size}"), |b| {
            b.iter_batched(
                || {
                    ts += size as i64;
                    batch(ts, size)
                },
                |rows| {
                    rt.block_on(store.write_logs(rows)).expect("write");
                    rt.block_on(store.prune_logs(0, CAP, chunk)).expect("prune")
                },
                BatchSize::SmallInput,
            );
        });
        assert_eq!(rt.block_on(store.count_logs()).expect("count"), CAP);
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
