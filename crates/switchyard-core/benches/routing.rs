//! Routing cost: account selection with 10 / 1,000 / 10,000 accounts, and client-key
//! lookup among 10,000 keys.

#![expect(
    clippy::expect_used,
    clippy::panic,
    reason = "benchmark harness: a broken fixture should abort loudly"
)]

use criterion::{BenchmarkId, Criterion, black_box, criterion_group, criterion_main};
use switchyard_core::crypto::{KeyDigest, Secret};
use switchyard_core::keyring::KeyRing;
use switchyard_core::pool::{AccountSpec, Pool, Reach, Selection};
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
            })
            .collect(),
    );
    pool
}

fn selection(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("runtime");
    let _guard = rt.enter();
    let mut group = c.benchmark_group("select");
    for n in [10usize, 1_000, 10_000] {
        let pool = pool_of(n);
        group.bench_with_input(BenchmarkId::from_parameter(n), &pool, |b, pool| {
            b.iter(|| {
                match pool.select(
                    black_box("bench-model"),
                    Reach::Any {
                        prefer: Protocol::OpenAi,
                    },
                    &[],
                    Some(42),
                ) {
                    Selection::Lease(lease) => drop(black_box(lease)),
                    other => panic!("{other:?}"),
                }
            });
        });
    }
    group.finish();
}

fn keys(c: &mut Criterion) {
    let ring = KeyRing::new();
    ring.replace((0..10_000).map(|i| (KeyDigest::of(&format!("sy-key-{i}")), format!("key_{i}"))));
    c.bench_function("keyring/authenticate/10000", |b| {
        b.iter(|| ring.authenticate(black_box("sy-key-4242")).expect("known"));
    });
}

criterion_group!(benches, selection, keys);
criterion_main!(benches);
