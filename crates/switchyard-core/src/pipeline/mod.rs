//! The request pipeline's business rules, in the order a request meets them. The server
//! is the edge around them (`switchyard-server`'s `proxy` module).
//!
//! 1. **Edge** (server): request id, client key, body read against the
//!    [`budget::MemoryBudget`] and the [`limits`], the protocol's probe for routing.
//! 2. **Context** ([`context::RequestContext`]): created at the edge, carried to the end,
//!    finished exactly once.
//! 3. **Classify** ([`outcome`]): one [`outcome::Outcome`] per attempt, one classifier,
//!    and the blame that decides what routing learns.
//! 4. **Attempt loop** ([`attempts::run`]): selection, backoff, deadline and failover
//!    before the first byte.
//! 5. **Commit** ([`commit`]): the checks an upstream's 2xx answer must pass before
//!    anything reaches the client — the same for passthrough and translated answers.
//! 6. **Relay** (server): bytes through, or re-encoded event by event.
//! 7. **Finish** ([`context::Finisher`]): when the body ends or the client goes away;
//!    the [`usage::UsageTap`] has read the usage from the client-bound bytes by then
//!    (for an OpenAI stream whose client did not ask for usage, the gateway asked for it
//!    and [`hidden_usage`] removes it again after the tap).

pub mod attempts;
pub mod budget;
pub mod commit;
pub mod context;
pub mod hidden_usage;
pub mod json_tail;
pub mod limits;
pub mod needles;
pub mod outcome;
pub mod usage;
