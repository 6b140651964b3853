//! Health score: an exponentially weighted moving average of success and of latency,
//! shown in the dashboard and used to break ties between equally loaded accounts.
//!
//! Failures fade: the score drifts back to the success EWMA's ceiling over
//! [`RECOVERY`] after the last failure. Without that, an account that failed once would
//! lose every tie forever at low traffic — it would never get the requests that could
//! prove it healthy again.

use parking_lot::Mutex;
use std::time::Duration;
use tokio::time::Instant;

/// Weight of the newest observation.
const ALPHA: f64 = 0.1;
/// Time over which a failure's weight in the score fades out.
pub const RECOVERY: Duration = Duration::from_secs(30);

#[derive(Debug)]
struct State {
    success: f64,
    latency_ms: f64,
    samples: u64,
    last_failure: Option<Instant>,
}

/// One account's health.
#[derive(Debug)]
pub struct Health(Mutex<State>);

impl Default for Health {
    fn default() -> Self {
        Self(Mutex::new(State {
            success: 1.0,
            latency_ms: 0.0,
            samples: 0,
            last_failure: None,
        }))
    }
}

/// A health reading.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HealthSnapshot {
    /// EWMA of success in [0, 1].
    pub success_rate: f64,
    /// EWMA of time to response headers, milliseconds.
    pub latency_ms: f64,
    pub samples: u64,
    /// Combined score in [0, 1]: success rate, lightly penalised by latency over 2 s.
    pub score: f64,
}

impl Health {
    pub fn record(&self, ok: bool, latency: Duration) {
        let mut s = self.0.lock();
        let ms = latency.as_secs_f64() * 1000.0;
        s.latency_ms = if s.samples == 0 {
            ms
        } else {
            s.latency_ms + ALPHA * (ms - s.latency_ms)
        };
        s.success += ALPHA * (f64::from(u8::from(ok)) - s.success);
        s.samples += 1;
        if !ok {
            s.last_failure = Some(Instant::now());
        }
    }

    pub fn snapshot(&self) -> HealthSnapshot {
        let s = self.0.lock();
        let latency_penalty = ((s.latency_ms - 2000.0).max(0.0) / 20_000.0).min(0.5);
        let faded = s.last_failure.map_or(1.0, |at| {
            (at.elapsed().as_secs_f64() / RECOVERY.as_secs_f64()).min(1.0)
        });
        let success = s.success + (1.0 - s.success) * faded;
        HealthSnapshot {
            success_rate: success,
            latency_ms: s.latency_ms,
            samples: s.samples,
            score: (success - latency_penalty).clamp(0.0, 1.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn failures_fade_out_with_time() {
        let h = Health::default();
        for _ in 0..10 {
            h.record(false, Duration::from_millis(100));
        }
        assert!(h.snapshot().score < 0.4);
        tokio::time::advance(RECOVERY / 2).await;
        let half = h.snapshot().score;
        assert!((0.5..0.8).contains(&half), "{half}");
        tokio::time::advance(RECOVERY).await;
        assert!(h.snapshot().score > 0.99);
    }

    #[tokio::test(start_paused = true)]
    async fn failures_lower_the_score_and_successes_restore_it() {
        let h = Health::default();
        assert!((h.snapshot().score - 1.0).abs() < f64::EPSILON);
        for _ in 0..10 {
            h.record(false, Duration::from_millis(100));
        }
        let low = h.snapshot().score;
        assert!(low < 0.4, "{low}");
        for _ in 0..30 {
            h.record(true, Duration::from_millis(100));
        }
        assert!(h.snapshot().score > 0.9);
        assert!((h.snapshot().latency_ms - 100.0).abs() < 1.0);
        h.record(true, Duration::from_secs(30));
        assert!(h.snapshot().score < 1.0, "slow answers cost a little");
    }
}
