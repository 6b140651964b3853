//! Routing cost: account selection with 1 / 10 / 1,000 / 10,000 idle accounts (a session
//! that is not bound), with 1,000 and 10,000 accounts under load (`select_1k`,
//! `select_10k_accounts`: requests in flight, one session bound), and client-key lookup
//! among 10,000 keys.

#![expect(
    clippy::expect_used,
    clippy::panic,
    reason = "benchmark harness: a broken fixture should abort loudly"
)]

use criterion::{BenchmarkId, Criterion, black_box, criterion_group, criterion_main};
use std::time::Duration;
use switchyard_core::crypto::{KeyDigest, Secret};
use switchyard_core::keyring::KeyRing;
use switchyard_core::pool::{AccountSpec, Feedback, Lease, Pool, Reach, Selection};
use switchyard_core::store::KeyRecord;
use switchyard_types::{Protocol, Provider, Tier};

fn pool_of(n: usize) -> Pool {
    let pool = Pool::new();
    pool.replace(
        (0..n)
            .map(|i| AccountSpec {
                id: format!("acc_{i}"),
                provider: [Provider::OpenAi, Provider::Anthropic, Provider::Gemini][i % 3],
                label: format!("account {i}"),
                base_url: "http://127.0.0.1:1".into(),
                tier: Tier::ALL[i % 5],
                // Half the accounts serve the benched model, the rest other families.
                models: if i % 2 == 0 {
                    vec!["bench-*".into()]
                } else {
                    vec!["other-*".into(), "gpt-*".into()]
                },
                enabled: true,
                credential: Secret::new("k"),
                quota_scope: None,
                admin_key: None,
                status: Default::default(),
                status_reason: None,
                status_since: None,
                oauth: None,
            })
            .collect(),
    );
    pool
}

const ANY: Reach = Reach::Any {
    prefer: Protocol::OpenAi,
};

fn lease(pool: &Pool, session: Option<u64>) -> Lease {
    match pool.select(black_box("bench-model"), ANY, &[], session) {
        Selection::Lease(lease) => lease,
        other => panic!("{other:?}"),
    }
}

fn selection(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("runtime");
    let _guard = rt.enter();
    let mut group = c.benchmark_group("select");
    for n in [1usize, 10, 1_000, 10_000] {
        let pool = pool_of(n);
        group.bench_with_input(BenchmarkId::from_parameter(n), &pool, |b, pool| {
            b.iter(|| drop(black_box(lease(pool, Some(42)))));
        });
    }
    group.finish();
}

/// A pool of `n` accounts under load: `n / 4` requests in flight (placed by routing
/// itself, so the best tier is busy) and session 7 bound; each iteration selects for
/// another session, then for the bound one.
fn busy(c: &mut Criterion, name: &str, n: usize) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("runtime");
    let _guard = rt.enter();
    let pool = pool_of(n);
    let held: Vec<Lease> = (0..n / 4).map(|_| lease(&pool, None)).collect();
    let mut bound = lease(&pool, Some(7));
    let ok = Feedback::Success {
        latency: Duration::from_millis(5),
        hint: None,
    };
    bound.report(ok, &pool.settings().routing);
    drop(bound);
    c.bench_function(name, |b| {
        b.iter(|| {
            drop(black_box(lease(&pool, Some(black_box(42)))));
            drop(black_box(lease(&pool, Some(black_box(7)))));
        });
    });
    drop(held);
}

fn select_1k(c: &mut Criterion) {
    busy(c, "select_1k", 1_000);
}

fn select_10k_accounts(c: &mut Criterion) {
    busy(c, "select_10k_accounts", 10_000);
}

fn keys(c: &mut Criterion) {
    let ring = KeyRing::new();
    let records: Vec<KeyRecord> = (0..10_000)
        .map(|i| {
            KeyRecord::unlimited(
                format!("key_{i}"),
                "bench".into(),
                KeyDigest::of(&format!("sy-key-{i}")),
                "…".into(),
                0,
            )
        })
        .collect();
    ring.replace(&records, &std::collections::HashMap::new(), 0);
    c.bench_function("keyring/authenticate/10000", |b| {
        b.iter(|| ring.authenticate(black_box("sy-key-4242")).expect("known"));
    });
}

criterion_group!(benches, selection, select_1k, select_10k_accounts, keys);
criterion_main!(benches);
