//! Integration tests: the real `switchyard` binary against the testkit's fake upstreams,
//! over real HTTP. One test binary (one link step) with a module per area.

mod admin;
mod harness;
mod lifecycle;
mod proxy;
mod streaming;
