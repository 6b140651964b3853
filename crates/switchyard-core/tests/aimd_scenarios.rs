//! AIMD simulation scenarios, kept as data files (`tests/data/aimd/*.toml`) that assert
//! ranges of outcomes rather than exact traces.
//!
//! Model: each tick, `demand` requests wait; the account sends `min(demand, limit)`; the
//! upstream accepts up to its current capacity and refuses the rest with a 429. Every
//! accepted request is a success for AIMD, every refusal an overload signal.

use serde::Deserialize;
use switchyard_core::resilience::aimd::{Aimd, AimdConfig};

#[derive(Debug, Deserialize)]
struct Scenario {
    description: String,
    ticks: u32,
    demand: u32,
    /// `[tick, capacity]` steps.
    capacity: Vec<[u32; 2]>,
    aimd: AimdConfig,
    expect: Expect,
}

#[derive(Debug, Deserialize)]
struct Expect {
    mean_limit: [f64; 2],
    max_refused_share: f64,
}

fn capacity_at(steps: &[[u32; 2]], tick: u32) -> u32 {
    steps
        .iter()
        .rfind(|[from, _]| *from <= tick)
        .map_or(0, |[_, c]| *c)
}

#[test]
fn aimd_scenarios_stay_within_their_ranges() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/aimd");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(files.len() >= 3, "scenarios missing in {}", dir.display());
    for path in files {
        let s: Scenario = toml::from_str(&std::fs::read_to_string(&path).unwrap())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        s.aimd
            .validate()
            .unwrap_or_else(|e| panic!("{}: {e:?}", path.display()));
        let aimd = Aimd::new(s.aimd);
        let (mut sent, mut refused, mut limit_sum, mut samples) = (0u64, 0u64, 0f64, 0u32);
        for tick in 0..s.ticks {
            let capacity = capacity_at(&s.capacity, tick);
            let send = s.demand.min(aimd.limit());
            for i in 0..send {
                if i < capacity {
                    aimd.on_success();
                } else {
                    aimd.on_overload();
                    refused += 1;
                }
            }
            sent += u64::from(send);
            if tick >= s.ticks / 2 {
                limit_sum += f64::from(aimd.limit());
                samples += 1;
            }
        }
        let mean = limit_sum / f64::from(samples.max(1));
        let share = refused as f64 / sent.max(1) as f64;
        println!(
            "{}: mean limit {mean:.2}, refused {:.1}%",
            path.display(),
            share * 100.0
        );
        let [lo, hi] = s.expect.mean_limit;
        assert!(
            (lo..=hi).contains(&mean),
            "{} ({}): mean limit {mean:.2} not in [{lo}, {hi}]",
            path.display(),
            s.description
        );
        assert!(
            share <= s.expect.max_refused_share,
            "{} ({}): refused share {share:.3}",
            path.display(),
            s.description
        );
    }
}
