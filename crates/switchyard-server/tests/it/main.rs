//! Integration tests: the real `switchyard` binary against the testkit's fake upstreams,
//! over real HTTP. One test binary (one link step) with a module per area.

#![expect(
    clippy::unwrap_used,
    clippy::panic,
    clippy::disallowed_methods,
    reason = "test harness code: a failed step should abort the test loudly"
)]

mod admin;
mod connections;
mod harness;
mod lifecycle;
mod logs;
mod pipeline;
mod proxy;
mod resilience;
mod streaming;
mod usage;
