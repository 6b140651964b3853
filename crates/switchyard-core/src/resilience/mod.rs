//! Resilience primitives, each a small state machine fed by classified outcomes and
//! tested with paused time. Routing ([`crate::pool`]) consults them; the server's
//! attempt loop reports to them through the lease.
//!
//! # Layout
//! - [`aimd`]: adaptive per-account concurrency limit.
//! - [`breaker`]: circuit breaker per account (closed → open → half-open → closed).
//! - [`health`]: EWMA health score (success and latency).
//! - [`lockout`]: per-quota-scope lockouts after 429 / exhausted quota.
//! - [`sessions`]: session → account affinity with TTL.
//! - [`backoff`]: retry tuning and exponential backoff with jitter.

pub mod aimd;
pub mod backoff;
pub mod breaker;
pub mod health;
pub mod lockout;
pub mod sessions;
