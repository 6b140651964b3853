//! Integration tests: the real `switchyard` binary against the testkit's fake upstreams,
//! over real HTTP. One test binary (one link step) with a module per area.

#![expect(
    clippy::unwrap_used,
    clippy::panic,
    clippy::disallowed_methods,
    reason = "test harness code: a failed step should abort the test loudly"
)]

mod accounts;
mod admin;
mod connections;
mod harness;
mod keys;
mod lifecycle;
mod logs;
mod machine_logs;
mod mapping;
mod metrics;
mod oauth;
mod pipeline;
mod proxy;
mod redeploy;
mod resilience;
mod responses;
mod streaming;
mod usage;
