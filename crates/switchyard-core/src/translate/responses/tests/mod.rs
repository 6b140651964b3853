//! Goldens, round trips and invariants of the Responses codec.

mod request;
mod roundtrip;
mod stream;
