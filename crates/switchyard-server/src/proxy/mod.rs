//! Proxy endpoints: one request pipeline, one file per client protocol.
//!
//! The path of a request, in order:
//! 1. **Edge** ([`edge`]): the request id ([`crate::request_id`]), the client key, the
//!    body ([`body`]: bounded and timed) reserved against the memory budget, JSON depth,
//!    the protocol's probe ([`openai`], [`anthropic`], [`gemini`], [`responses`]: model, stream flag,
//!    session anchors via [`session`]) and model-name limits, then the client key's policy
//!    (enabled, expiry, model allowlist, budget, tpm, rpm) and the model mapping (the
//!    alias's target is what routing looks for). No handler repeats this.
//! 2. **Context**: a `RequestContext` (core `pipeline::context`) made at the edge and
//!    carried to the end.
//! 3. **Classify**: every attempt ends in one core `Outcome`, whose blame decides what
//!    routing learns ([`forward`] applies the classifier; core holds it).
//! 4. **Attempt loop**: core `pipeline::attempts::run`, with [`forward`]'s attempter —
//!    passthrough or translated ([`translated`], with [`images`] for Gemini) per account.
//! 5. **Commit** ([`forward`] with core `pipeline::commit`): a JSON answer is read whole
//!    and must be JSON; a stream is held until its first meaningful event. Redirects,
//!    unreadable 200s and opening error events fail over, for both paths alike.
//! 6. **Relay**: bytes through ([`relay`]) or re-encoded event by event ([`translated`]).
//! 7. **Finish** ([`finish`]): errors rendered in the client's shape with the request id;
//!    the usage tap reads the client-bound bytes, the price table costs them, and the
//!    `Finisher` (the client key's token and budget charge, metrics, request log) gets
//!    the context once; a relayed body finishes the context when it ends or the client goes away.
//!
//! Model listing ([`models`]) and unknown routes ([`fallback`]) answer from the gateway
//! itself.

pub mod anthropic;
pub mod body;
pub mod edge;
pub mod fallback;
pub mod finish;
pub mod forward;
pub mod gemini;
pub mod images;
pub mod models;
pub mod openai;
pub mod relay;
pub mod responses;
pub mod session;
pub mod translated;
