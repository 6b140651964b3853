//! Accounting of finished requests.
//!
//! - [`log`]: the request log: a record per finished request, queued without blocking
//!   and written in batches (with hourly usage rollups) by one background task.
//! - [`prices`]: the price table (shipped + config overrides) and a request's cost.

pub mod log;
pub mod prices;
