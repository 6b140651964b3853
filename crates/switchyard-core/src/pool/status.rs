//! Dead credentials: an account whose credential the provider refused is marked
//! `forbidden` at once (an atomic flag routing reads on every selection, so the very next
//! request avoids it without waiting for a reload), and the change is queued for the
//! upkeep task to persist (never a store write on the request's path).
//!
//! Marks and clears carry the time they were made, and a stored status only replaces
//! the one in memory when it is at least as recent: a reload that runs before the
//! queued write lands cannot resurrect the account, and a verification that cleared the
//! mark is not undone by an older stored `forbidden`.

use parking_lot::Mutex;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use switchyard_types::accounts::AccountStatus;

#[derive(Debug, Default)]
struct Mark {
    /// The reason, while forbidden (or needing a new sign-in).
    reason: Option<String>,
    /// `Forbidden` or `NeedsReauth` (an OAuth grant the provider no longer honours),
    /// while marked.
    status: Option<AccountStatus>,
    /// Unix seconds of the last mark or clear (`i64::MIN`: never).
    since: i64,
}

/// One account's credential status (shared by every snapshot holding the account).
#[derive(Debug)]
pub struct CredentialMark {
    forbidden: AtomicBool,
    mark: Mutex<Mark>,
}

impl Default for CredentialMark {
    fn default() -> Self {
        Self {
            forbidden: AtomicBool::new(false),
            mark: Mutex::new(Mark {
                reason: None,
                status: None,
                since: i64::MIN,
            }),
        }
    }
}

impl CredentialMark {
    /// Whether routing must skip the account (one relaxed load).
    pub fn is_forbidden(&self) -> bool {
        self.forbidden.load(Ordering::Relaxed)
    }

    /// Mark forbidden at `now` (unix s); `true` if it was not already.
    pub fn mark(&self, reason: &str, now: i64) -> bool {
        self.mark_as(AccountStatus::Forbidden, reason, now)
    }

    /// Mark `status` (`Forbidden` or `NeedsReauth`) at `now`; `true` if it was not
    /// marked already.
    pub fn mark_as(&self, status: AccountStatus, reason: &str, now: i64) -> bool {
        let mut mark = self.mark.lock();
        if mark.reason.is_some() {
            return false;
        }
        mark.reason = Some(reason.to_owned());
        mark.status = Some(status);
        mark.since = now;
        self.forbidden.store(true, Ordering::Relaxed);
        true
    }

    /// Clear the mark at `now`.
    pub fn clear(&self, now: i64) {
        let mut mark = self.mark.lock();
        mark.reason = None;
        mark.status = None;
        mark.since = now;
        self.forbidden.store(false, Ordering::Relaxed);
    }

    /// The status, reason and time of the mark, while marked.
    pub fn current_status(&self) -> Option<(AccountStatus, String, i64)> {
        let mark = self.mark.lock();
        mark.reason.clone().map(|r| {
            (
                mark.status.unwrap_or(AccountStatus::Forbidden),
                r,
                mark.since,
            )
        })
    }

    /// The reason and time of the mark, while forbidden.
    pub fn current(&self) -> Option<(String, i64)> {
        let mark = self.mark.lock();
        mark.reason.clone().map(|r| (r, mark.since))
    }

    /// Apply the stored status (`marked` is `Some` when stored as `Forbidden` or
    /// `NeedsReauth`, with its reason; `since`: unix s, 0 when never set) unless the one
    /// in memory is more recent.
    pub(super) fn apply_stored_status(&self, marked: Option<(AccountStatus, String)>, since: i64) {
        let mut mark = self.mark.lock();
        if since < mark.since {
            return;
        }
        self.forbidden.store(marked.is_some(), Ordering::Relaxed);
        let (status, reason) = marked.unzip();
        mark.reason = reason;
        mark.status = status;
        mark.since = since;
    }
}

/// An account newly marked forbidden, for the upkeep task to persist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusChange {
    pub account_id: Arc<str>,
    /// `Forbidden` or `NeedsReauth`.
    pub status: AccountStatus,
    pub reason: String,
    /// Unix seconds.
    pub since: i64,
}

/// The queue of [`StatusChange`]s. It holds at most one entry per account mark (a mark
/// is only queued when the flag flips), so it stays small.
#[derive(Debug, Default)]
pub struct StatusQueue {
    pending: Mutex<Vec<StatusChange>>,
    notify: tokio::sync::Notify,
}

impl StatusQueue {
    pub(super) fn push(&self, change: StatusChange) {
        self.pending.lock().push(change);
        self.notify.notify_one();
    }

    /// Everything queued so far.
    pub fn take(&self) -> Vec<StatusChange> {
        std::mem::take(&mut *self.pending.lock())
    }

    /// Wait until something is queued (a push made before the wait is not missed).
    pub async fn wait(&self) {
        self.notify.notified().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_more_recent_status_wins() {
        let m = CredentialMark::default();
        m.apply_stored_status(None, 0);
        assert!(!m.is_forbidden());
        assert!(m.mark("HTTP 401", 100));
        assert!(!m.mark("again", 101), "marked once");
        // A reload before the write landed: the stored `ok` is older.
        m.apply_stored_status(None, 0);
        assert!(m.is_forbidden());
        assert_eq!(m.current(), Some(("HTTP 401".to_owned(), 100)));
        // The write landed.
        m.apply_stored_status(Some((AccountStatus::Forbidden, "HTTP 401".into())), 100);
        assert!(m.is_forbidden());
        // Verified: cleared, and an older stored mark does not come back.
        m.clear(200);
        m.apply_stored_status(Some((AccountStatus::Forbidden, "HTTP 401".into())), 100);
        assert!(!m.is_forbidden());
        // Another process stored a newer mark.
        m.apply_stored_status(Some((AccountStatus::Forbidden, "HTTP 403".into())), 300);
        assert_eq!(m.current(), Some(("HTTP 403".to_owned(), 300)));
    }
}
