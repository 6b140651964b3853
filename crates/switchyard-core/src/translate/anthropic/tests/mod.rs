//! Golden and property tests of the Anthropic codec. Snapshots are in `snapshots/`.

mod error;
mod invariants;
mod request;
mod response;
mod roundtrip;
mod stream;
