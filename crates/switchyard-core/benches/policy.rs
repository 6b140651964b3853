//! The per-request cost of a client key's policy and the model mapping, as the edge pays
//! it: authenticate among 10,000 keys, check access (enabled, expiry), the model
//! allowlist (4 patterns), admit (budget, tokens per minute, requests per minute), and
//! resolve the model through a mapping of 1,000 exact aliases and 20 patterns; plus the
//! finish's charge of usage and cost. Alone (`policy/check`, `mapping/resolve/*`) and
//! together (`edge/policy+mapping`).

#![expect(
    clippy::expect_used,
    reason = "benchmark harness: a broken fixture should abort loudly"
)]

use criterion::{Criterion, black_box, criterion_group, criterion_main};
use std::collections::{BTreeMap, HashMap};
use switchyard_core::crypto::KeyDigest;
use switchyard_core::keyring::{KeyRing, clock_ns};
use switchyard_core::mapping::{ModelMap, Resolver};
use switchyard_core::pipeline::context::{Cost, Usage};
use switchyard_core::store::{KeyRecord, now_unix};
use switchyard_types::admin::{BudgetPeriod, MappingEntry};

fn ring() -> KeyRing {
    let records: Vec<KeyRecord> = (0..10_000)
        .map(|i| {
            let mut r = KeyRecord::unlimited(
                format!("key_{i}"),
                "bench".into(),
                KeyDigest::of(&format!("sy-key-{i}")),
                "…".into(),
                0,
            );
            // Limits high enough never to refuse while benched.
            r.rpm = Some(u32::MAX);
            r.tpm = Some(1_000_000_000);
            r.budget_micro_usd = Some(i64::MAX / 2);
            r.budget_period = BudgetPeriod::Month;
            r.models = Some(vec![
                "gpt-4o*".into(),
                "claude-*".into(),
                "gemini-2.5-*".into(),
                "fast".into(),
            ]);
            r.expires_at = Some(4_102_444_800);
            r
        })
        .collect();
    let ring = KeyRing::new();
    ring.replace(&records, &HashMap::new(), now_unix());
    ring
}

fn mapping() -> ModelMap {
    let entry = |target: &str| MappingEntry {
        target: target.into(),
        updated_at: 1,
        deleted: false,
    };
    let mut entries = BTreeMap::new();
    for i in 0..1000 {
        entries.insert(format!("alias-{i}"), entry("gpt-4o"));
    }
    for i in 0..20 {
        entries.insert(format!("family-{i}-*"), entry("claude-sonnet-4-5"));
    }
    entries.insert("fast".into(), entry("gpt-4o-mini"));
    let map = ModelMap::new();
    map.replace(Resolver::new(&entries));
    map
}

fn bench(c: &mut Criterion) {
    let ring = ring();
    let map = mapping();
    let key = ring.authenticate("sy-key-4242").expect("known");
    c.bench_function("policy/check", |b| {
        b.iter(|| {
            key.check_access(now_unix).expect("enabled");
            key.check_model(black_box("gpt-4o-mini"), None)
                .expect("allowed");
            key.admit(now_unix, clock_ns).expect("admitted");
        });
    });
    c.bench_function("mapping/resolve/exact", |b| {
        b.iter(|| map.resolve(black_box("fast")).expect("alias"));
    });
    c.bench_function("mapping/resolve/pattern", |b| {
        b.iter(|| map.resolve(black_box("family-19-x")).expect("alias"));
    });
    c.bench_function("mapping/resolve/miss", |b| {
        b.iter(|| map.resolve(black_box("gpt-4o-mini")));
    });
    c.bench_function("edge/policy+mapping", |b| {
        b.iter(|| {
            let key = ring.authenticate(black_box("sy-key-4242")).expect("known");
            key.check_access(now_unix).expect("enabled");
            let target = map.resolve(black_box("fast"));
            key.check_model("fast", target.as_deref()).expect("allowed");
            key.admit(now_unix, clock_ns).expect("admitted");
            target
        });
    });
    let usage = Usage::new(1200, 0, 0, 300, 0);
    let cost = Cost {
        micro_usd: 1,
        price_version: "bench".into(),
    };
    c.bench_function("policy/record", |b| {
        b.iter(|| key.record(Some(black_box(&usage)), Some(&cost), now_unix, clock_ns));
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
