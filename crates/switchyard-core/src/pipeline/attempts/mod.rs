//! The attempt loop: try accounts in the order routing ranks them ([`crate::pool`]) until
//! one gives an answer worth relaying, within an attempt budget and a total deadline.
//!
//! - A retriable [`Outcome`] (the account's or the upstream's fault) moves on to the next
//!   account after a backoff with jitter. That is safe because nothing has reached the
//!   client yet: the attempter only returns an answer once it is committed
//!   ([`super::commit`]).
//! - Any other outcome ends the loop with the attempter's answer: relayed, the
//!   client's own fault passed back, or a request that could not be formed.
//! - A [`Outcome::Revoked`] (the provider refused the credential itself) also marks the
//!   account forbidden ([`Pool::mark_forbidden`]): the next selection skips it. For an
//!   OAuth account the token is renewed first ([`Pool::refresh_token`], single-flight)
//!   and the same account tried once more; only a refusal of the new token marks it.
//! - Every outcome is reported through the lease ([`Outcome::feedback`]) into AIMD, the
//!   breaker, health, lockouts and session affinity, and recorded as an
//!   [`AttemptRecord`].
//! - When every serving account is only at its concurrency limit, the request queues
//!   for a slot; when every one is locked out, it waits for the earliest lockout to end
//!   if that is within `retry.max_wait_ms`, else it ends [`Unserved::RateLimited`] with
//!   the honest wait.
//!
//! The loop is generic over an [`Attempter`] so it is tested here with paused time and
//! no server; the server's attempter does passthrough or translation per account.

use super::context::AttemptRecord;
use super::outcome::Outcome;
use crate::pool::{Lease, Pool, PoolAccount, RateLimitHint, Reach, Selection};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// Retry-After used when a rate-limited upstream gave none.
pub const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(5);
/// Longest single wait for a free slot before selecting again.
const CAPACITY_POLL: Duration = Duration::from_millis(50);

/// What one attempt came to, as the attempter reports it.
#[derive(Debug)]
pub struct Tried<A> {
    pub outcome: Outcome,
    /// The upstream's HTTP status, when it answered.
    pub status: Option<u16>,
    /// Time until the upstream's headers (or the failure).
    pub latency: Duration,
    /// Rate-limit headers of a successful answer.
    pub hint: Option<RateLimitHint>,
    /// The answer, for an outcome that ends the loop (required for those).
    pub answer: Option<A>,
    /// Why it failed, for the log (never for the client).
    pub detail: Option<String>,
}

impl<A> Tried<A> {
    /// An outcome that ends the loop with `answer`.
    pub fn done(outcome: Outcome, status: Option<u16>, latency: Duration, answer: A) -> Self {
        Self {
            outcome,
            status,
            latency,
            hint: None,
            answer: Some(answer),
            detail: None,
        }
    }

    /// A failed attempt: another account may do better.
    pub fn failed(
        outcome: Outcome,
        status: Option<u16>,
        latency: Duration,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            outcome,
            status,
            latency,
            hint: None,
            answer: None,
            detail: Some(detail.into()),
        }
    }
}

/// One attempt on a leased account.
pub trait Attempter {
    type Answer;
    fn attempt(&mut self, lease: &Lease) -> impl Future<Output = Tried<Self::Answer>> + Send;
}

/// What the request is routed by.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    /// The request's id, named on the log lines the loop writes.
    pub request_id: &'a str,
    pub model: &'a str,
    pub reach: Reach,
    pub session: Option<u64>,
}

/// Why no answer came.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unserved {
    /// No enabled account serves the model within reach.
    NotServed,
    /// Every account is rate limited (or locked out) for at least `retry_after`.
    RateLimited { retry_after: Duration },
    /// Every account is overloaded, or its circuit open.
    Overloaded,
    /// The upstreams did not answer in time.
    Timeout,
    /// Every attempt failed otherwise (details are in the attempt records).
    Failed,
}

/// The loop's result beside the attempt records.
#[derive(Debug)]
pub struct Served<A> {
    pub answer: A,
    /// The lease of the account that answered; it travels with a streamed body.
    pub lease: Lease,
    pub outcome: Outcome,
}

/// What the loop learnt while failing, for the final error.
#[derive(Debug, Default)]
struct Failures {
    rate_limited: Option<Duration>,
    overloaded: bool,
    timeout: bool,
}

impl Failures {
    fn note_rate_limit(&mut self, wait: Duration) {
        self.rate_limited = Some(self.rate_limited.map_or(wait, |w| w.min(wait)));
    }

    fn note(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::RateLimited { retry_after } => {
                self.note_rate_limit(retry_after.unwrap_or(DEFAULT_RETRY_AFTER));
            }
            Outcome::QuotaExhausted { reset_in, .. } => {
                self.note_rate_limit(reset_in.unwrap_or(DEFAULT_RETRY_AFTER));
            }
            Outcome::Overloaded => self.overloaded = true,
            Outcome::Timeout => self.timeout = true,
            Outcome::Relayed
            | Outcome::ClientError
            | Outcome::Unformable
            | Outcome::ServerError
            | Outcome::BadAnswer
            | Outcome::AuthFailed
            | Outcome::Revoked
            | Outcome::Unreachable
            | Outcome::Refused => {}
        }
    }

    fn into_unserved(self) -> Unserved {
        if let Some(retry_after) = self.rate_limited {
            Unserved::RateLimited { retry_after }
        } else if self.overloaded {
            Unserved::Overloaded
        } else if self.timeout {
            Unserved::Timeout
        } else {
            Unserved::Failed
        }
    }
}

/// Run the attempt loop (see the module docs). Each attempt is appended to `records`;
/// `waited` accumulates the time spent in backoff, lockout and capacity waits.
pub async fn run<A: Attempter>(
    pool: &Pool,
    target: Target<'_>,
    attempter: &mut A,
    records: &mut Vec<AttemptRecord>,
    waited: &mut Duration,
) -> Result<Served<A::Answer>, Unserved> {
    let settings = pool.settings();
    let retry = settings.retry;
    let deadline = Instant::now() + Duration::from_millis(retry.deadline_ms);
    let mut tried: Vec<Arc<PoolAccount>> = Vec::new();
    let mut failures = Failures::default();
    let mut waited_for_unlock = false;
    while tried.len() < retry.max_attempts as usize {
        let mut lease = match pool.select(target.model, target.reach, &tried, target.session) {
            Selection::Lease(lease) => lease,
            Selection::NotServed if tried.is_empty() => return Err(Unserved::NotServed),
            Selection::NotServed => break,
            Selection::Exhausted(why) => {
                let now = Instant::now();
                if why.at_capacity && now + CAPACITY_POLL < deadline {
                    // Some usable account is only at its concurrency limit: queue for a
                    // slot (within the deadline) rather than refuse.
                    pool.wait_for_capacity(CAPACITY_POLL).await;
                    *waited += now.elapsed();
                    continue;
                }
                if let Some(until) = why.earliest_unlock {
                    let wait = until.saturating_duration_since(now);
                    if !waited_for_unlock
                        && wait <= Duration::from_millis(retry.max_wait_ms)
                        && until < deadline
                    {
                        waited_for_unlock = true;
                        tokio::time::sleep(wait).await;
                        *waited += wait;
                        continue;
                    }
                    failures.note_rate_limit(wait);
                } else if why.at_capacity {
                    failures.note_rate_limit(Duration::from_secs(1));
                } else if why.circuit_open {
                    failures.overloaded = true;
                }
                break;
            }
        };
        if !tried.is_empty() {
            let delay = retry.backoff(
                u32::try_from(tried.len() - 1).unwrap_or(u32::MAX),
                rand::random::<f64>(),
            );
            if Instant::now() + delay >= deadline {
                break;
            }
            tokio::time::sleep(delay).await;
            *waited += delay;
        }
        tried.push(Arc::clone(lease.account()));
        let started = Instant::now();
        let seen_token = lease.account().state.token.generation();
        let mut tried_now = attempter.attempt(&lease).await;
        // An OAuth token refused: renewed (or already renewed by someone else), the same
        // account is tried once more with the new token, and a second refusal marks it
        // forbidden as for an API key. Not renewed: it is `needs_reauth` already, or the
        // token endpoint failed and routing skips the account until a renewal.
        let mut unrenewed = false;
        if tried_now.outcome == Outcome::Revoked && lease.account().oauth.is_some() {
            if pool.refresh_token(lease.account(), seen_token).await {
                *waited += tried_now.latency;
                tried_now = attempter.attempt(&lease).await;
            } else {
                unrenewed = true;
            }
        }
        *waited += tried_now.latency;
        lease.report(
            tried_now
                .outcome
                .feedback(tried_now.latency, tried_now.hint),
            &settings.routing,
        );
        if tried_now.outcome == Outcome::Revoked && !unrenewed {
            pool.mark_forbidden(
                lease.account(),
                tried_now
                    .detail
                    .as_deref()
                    .unwrap_or("the provider refused the credential"),
            );
        }
        records.push(AttemptRecord {
            account_id: Arc::clone(&lease.account().id),
            provider: lease.account().provider,
            outcome: tried_now.outcome,
            status: tried_now.status,
            duration: started.elapsed(),
        });
        let outcome = tried_now.outcome;
        if outcome.is_retriable() || tried_now.answer.is_none() {
            tracing::warn!(
                request_id = target.request_id,
                account = %lease.account().id,
                model = target.model,
                outcome = outcome.label(),
                status = tried_now.status,
                detail = tried_now.detail.as_deref().unwrap_or(""),
                "upstream attempt failed; trying another account"
            );
            failures.note(outcome);
            if Instant::now() >= deadline {
                break;
            }
            continue;
        }
        if let Some(answer) = tried_now.answer {
            return Ok(Served {
                answer,
                lease,
                outcome,
            });
        }
    }
    Err(failures.into_unserved())
}

#[cfg(test)]
mod tests;
