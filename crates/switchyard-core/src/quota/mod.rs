//! Quota and balances: what each account has left, per model where the provider's
//! limits are per model.
//!
//! # Where the numbers come from
//! - Every upstream answer's rate-limit headers ([`headers`]): OpenAI
//!   `x-ratelimit-{limit,remaining,reset}-{requests,tokens}` (reset: a relative Go
//!   duration), Anthropic `anthropic-ratelimit-{requests,tokens,input-tokens,output-tokens}-*`
//!   (reset: RFC 3339). Both are recorded per model (both providers limit per model).
//! - Gemini has no such headers; its 429 bodies say which quota ran out
//!   ([`gemini::observe_429`]): a `QuotaFailure` violation's `quotaId` (`…PerMinute…` or
//!   `…PerDay…`), its `quotaValue` (the limit) and `RetryInfo.retryDelay`. A per-day quota
//!   resets at midnight Pacific time.
//! - Documented endpoints, polled by the upkeep task ([`poll`]): OpenRouter
//!   `GET /api/v1/key` with the account's own key; OpenAI organization costs and Anthropic
//!   cost reports with the account's optional admin key (spend this month; the providers
//!   publish no balance).
//!
//! # How it is kept
//! One [`QuotaBook`] per quota scope (accounts sharing `quota_scope` share it: Gemini
//! quotas belong to a Google Cloud project, not to a key). A book is a short vector of
//! entries behind a `parking_lot` mutex; the hot path updates entries in place (no
//! allocation once an entry exists) and only when the headers are present. A dirty flag
//! tells the upkeep task to persist the book ([`crate::store::QuotaRecord`]); nothing
//! here touches the store.
//!
//! # How routing uses it
//! [`QuotaBook::headroom`] gives the smallest remaining share among the live windows
//! that apply to a model: more headroom wins ties ([`crate::pool`]), and quota
//! protection (`[[quota_protection]]`) skips an account whose share is under the
//! configured floor until the window resets.

pub mod gemini;
pub mod headers;
pub mod poll;
pub mod time;

use crate::store::QuotaRecord;
use parking_lot::Mutex;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use switchyard_types::quota::{QuotaItem, QuotaUnit};

/// Entries a book keeps at most (the oldest observation is replaced beyond it), so odd
/// model names cannot grow memory.
const MAX_ENTRIES: usize = 64;

/// One window or balance.
#[derive(Debug, Clone, PartialEq)]
pub struct QuotaEntry {
    /// `None`: the whole account.
    pub model: Option<Arc<str>>,
    pub unit: QuotaUnit,
    pub source: Arc<str>,
    pub limit: Option<f64>,
    pub remaining: Option<f64>,
    pub used: Option<f64>,
    /// Unix seconds.
    pub resets_at: Option<i64>,
    /// Unix seconds.
    pub updated_at: i64,
}

/// One observation to record.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Observation<'a> {
    pub model: Option<&'a str>,
    pub unit: QuotaUnit,
    pub source: &'a str,
    pub limit: Option<f64>,
    pub remaining: Option<f64>,
    pub used: Option<f64>,
    pub resets_at: Option<i64>,
}

/// The quota snapshot of one scope.
#[derive(Debug, Default)]
pub struct QuotaBook {
    entries: Mutex<Vec<QuotaEntry>>,
    dirty: AtomicBool,
    /// Whether there is any entry: routing skips the lock for books never written.
    known: AtomicBool,
}

/// The smallest remaining share of the windows that apply to a model.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Headroom {
    /// Remaining / limit, 0..=1000.
    pub permille: u32,
    /// When that window resets (unix s), if known.
    pub resets_at: Option<i64>,
}

impl QuotaBook {
    /// Record observations made at `now` (unix s): update the matching entries in place.
    pub fn observe(&self, observations: &[Observation<'_>], now: i64) {
        if observations.is_empty() {
            return;
        }
        let mut entries = self.entries.lock();
        for o in observations {
            let found = entries.iter_mut().find(|e| {
                e.unit == o.unit && &*e.source == o.source && e.model.as_deref() == o.model
            });
            match found {
                Some(e) => {
                    e.limit = o.limit;
                    e.remaining = o.remaining;
                    e.used = o.used;
                    e.resets_at = o.resets_at;
                    e.updated_at = now;
                }
                None => {
                    let entry = QuotaEntry {
                        model: o.model.map(Arc::from),
                        unit: o.unit,
                        source: Arc::from(o.source),
                        limit: o.limit,
                        remaining: o.remaining,
                        used: o.used,
                        resets_at: o.resets_at,
                        updated_at: now,
                    };
                    if entries.len() >= MAX_ENTRIES {
                        if let Some(oldest) = entries.iter_mut().min_by_key(|e| e.updated_at) {
                            *oldest = entry;
                        }
                    } else {
                        entries.push(entry);
                    }
                }
            }
        }
        drop(entries);
        self.known.store(true, Ordering::Relaxed);
        self.dirty.store(true, Ordering::Relaxed);
    }

    /// Load stored entries into an empty book (start-up); entries already observed win.
    pub fn restore(&self, rows: impl Iterator<Item = QuotaEntry>) {
        let mut entries = self.entries.lock();
        if entries.is_empty() {
            entries.extend(rows.take(MAX_ENTRIES));
            self.known.store(!entries.is_empty(), Ordering::Relaxed);
        }
    }

    /// A copy of the entries.
    pub fn entries(&self) -> Vec<QuotaEntry> {
        self.entries.lock().clone()
    }

    /// Whether the book changed since the last [`Self::take_dirty`].
    pub fn take_dirty(&self) -> bool {
        self.dirty.swap(false, Ordering::Relaxed)
    }

    /// The smallest remaining share among the windows that apply to `model` (its own and
    /// the whole account's) and have not reset by `now`; `None` when nothing is known.
    pub fn headroom(&self, model: &str, now: i64) -> Option<Headroom> {
        if !self.known.load(Ordering::Relaxed) {
            return None;
        }
        let entries = self.entries.lock();
        let mut best: Option<Headroom> = None;
        for e in entries.iter() {
            if e.model.as_deref().is_some_and(|m| m != model) {
                continue;
            }
            if e.resets_at.is_some_and(|r| r <= now) {
                continue;
            }
            let (Some(limit), Some(remaining)) = (e.limit, e.remaining) else {
                continue;
            };
            if limit.is_nan() || limit <= 0.0 || !remaining.is_finite() {
                continue;
            }
            #[expect(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                reason = "clamped to 0..=1000"
            )]
            let permille = ((remaining / limit).clamp(0.0, 1.0) * 1000.0).round() as u32;
            if best.is_none_or(|b| permille < b.permille) {
                best = Some(Headroom {
                    permille,
                    resets_at: e.resets_at,
                });
            }
        }
        best
    }
}

impl QuotaEntry {
    /// As the API lists it, for `account_id`.
    pub fn item(&self, account_id: &str) -> QuotaItem {
        QuotaItem {
            account_id: account_id.to_owned(),
            model: self.model.as_deref().map(str::to_owned),
            limit: self.limit,
            remaining: self.remaining,
            used: self.used,
            unit: self.unit,
            resets_at: self.resets_at,
            source: self.source.to_string(),
            updated_at: self.updated_at,
        }
    }

    /// As stored, for `scope`.
    pub fn record(&self, scope: &str) -> QuotaRecord {
        QuotaRecord {
            scope: scope.to_owned(),
            model: self.model.as_deref().map(str::to_owned),
            unit: self.unit,
            source: self.source.to_string(),
            limit: self.limit,
            remaining: self.remaining,
            used: self.used,
            resets_at: self.resets_at,
            updated_at: self.updated_at,
        }
    }

    /// From a stored row.
    pub fn from_record(r: QuotaRecord) -> Self {
        Self {
            model: r.model.map(Arc::from),
            unit: r.unit,
            source: Arc::from(r.source),
            limit: r.limit,
            remaining: r.remaining,
            used: r.used,
            resets_at: r.resets_at,
            updated_at: r.updated_at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obs<'a>(model: Option<&'a str>, remaining: f64, resets_at: Option<i64>) -> Observation<'a> {
        Observation {
            model,
            unit: QuotaUnit::Requests,
            source: "test",
            limit: Some(100.0),
            remaining: Some(remaining),
            used: None,
            resets_at,
        }
    }

    #[test]
    fn observations_update_in_place_and_headroom_is_the_tightest_live_window() {
        let book = QuotaBook::default();
        book.observe(&[obs(Some("m"), 50.0, Some(1_000))], 10);
        book.observe(&[obs(Some("m"), 40.0, Some(1_000))], 11);
        assert_eq!(book.entries().len(), 1);
        assert!(book.take_dirty());
        assert!(!book.take_dirty());
        assert_eq!(book.headroom("m", 20).unwrap().permille, 400);
        assert_eq!(book.headroom("other", 20), None);
        // An account-wide window applies to every model.
        let mut wide = obs(None, 5.0, None);
        wide.source = "wide";
        book.observe(&[wide], 12);
        assert_eq!(book.headroom("other", 20).unwrap().permille, 50);
        assert_eq!(book.headroom("m", 20).unwrap().permille, 50);
        // A window past its reset no longer counts.
        assert_eq!(book.headroom("m", 2_000).unwrap().permille, 50);
        let item = book.entries()[0].item("acc");
        assert_eq!(item.model.as_deref(), Some("m"));
        assert_eq!(item.remaining, Some(40.0));
    }

    #[test]
    fn a_book_stays_bounded() {
        let book = QuotaBook::default();
        for i in 0..200 {
            let model = format!("m{i}");
            book.observe(&[obs(Some(&model), 1.0, None)], i);
        }
        assert_eq!(book.entries().len(), MAX_ENTRIES);
    }
}
