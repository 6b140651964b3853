//! A process's life around its listener: where the listening socket comes from, telling
//! the supervisor, and the order things stop in.
//!
//! **Start** ([`listen::acquire`]): a socket handed in by systemd (`LISTEN_FDS`), else the
//! socket of a running `switchyard serve` on the same address and data dir, passed over
//! `<data dir>/handover.sock` ([`handover`]), else a fresh SO_REUSEPORT bind. Once the
//! store is open and the socket accepts, `READY=1` goes to `$NOTIFY_SOCKET` ([`notify`]),
//! and this process starts offering its socket to a successor.
//!
//! **Why hand the socket over.** Two processes that each bind the port with SO_REUSEPORT
//! get two sockets, each with its own accept queue; the kernel spreads new connections
//! over both, and when the old one closes, the connections waiting in its queue are
//! reset (the known handover flaw; `net.ipv4.tcp_migrate_req` fixes it only where the
//! sysctl is on). A successor that takes the *same* socket shares one accept queue: the
//! old process just stops calling `accept`, and nothing queued is lost. systemd socket
//! activation has the same property (systemd holds the socket across restarts).
//!
//! **Stop**, on SIGTERM, in this order ([`Lifecycle`] carries the shared signals):
//! 1. draining: `/readyz` answers 503, `STOPPING=1`; stop offering the socket; stop
//!    accepting (with a successor, the socket lives on there).
//! 2. lame duck (`[server] lame_duck_ms`): idle keep-alive connections stay open, and
//!    every response carries `Connection: close`, so a client that already sent its next
//!    request is served rather than reset, then reconnects (to the successor).
//! 3. idle connections close; HTTP/2 gets GOAWAY; requests in progress finish.
//! 4. at the drain deadline (`[server] drain_secs`, from the signal): [`Lifecycle::cut`]
//!    fires — open SSE streams end with an error event in their protocol, requests still
//!    waiting for an upstream answer get a 503 — and the rest is dropped shortly after.
//! 5. background tasks (change feed, reloader, handover, mapping sync, account upkeep)
//!    are cancelled and awaited; OAuth refreshes in flight finish their store write
//!    (bounded, `oauth::refresh::SHUTDOWN_WAIT`); the upkeep's pending account writes
//!    are flushed.
//! 6. the request log's queue is written out; exit 0.

pub mod handover;
pub mod listen;
pub mod notify;

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// How long the background tasks get to stop once cancelled.
pub const BACKGROUND_STOP: Duration = Duration::from_secs(5);

/// How long cut streams get to write their error event before their connections go.
pub const CUT_GRACE: Duration = Duration::from_secs(1);

/// The shutdown signals shared by the server, the handlers and the background tasks.
#[derive(Debug, Default)]
pub struct Lifecycle {
    draining: AtomicBool,
    cut: CancellationToken,
    background: CancellationToken,
    tasks: TaskTracker,
}

impl Lifecycle {
    /// Whether the drain has started (read per response: one relaxed load).
    pub fn draining(&self) -> bool {
        self.draining.load(Ordering::Relaxed)
    }

    pub fn start_draining(&self) {
        self.draining.store(true, Ordering::Relaxed);
    }

    /// Fires at the drain deadline: whatever is still running must end now.
    pub fn cut(&self) -> &CancellationToken {
        &self.cut
    }

    /// Run a background task until it ends or the background is stopped.
    pub fn spawn(&self, name: &'static str, task: impl Future<Output = ()> + Send + 'static) {
        let stop = self.background.clone();
        self.tasks.spawn(async move {
            tokio::select! {
                () = stop.cancelled() => tracing::debug!(task = name, "background task stopped"),
                () = task => {}
            }
        });
    }

    /// Cancel the background tasks and wait (bounded) for them to end.
    pub async fn stop_background(&self) {
        self.background.cancel();
        self.tasks.close();
        if tokio::time::timeout(BACKGROUND_STOP, self.tasks.wait())
            .await
            .is_err()
        {
            tracing::warn!("background tasks did not stop in time");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn background_tasks_stop_when_cancelled() {
        let life = Lifecycle::default();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        life.spawn("forever", async move {
            let _tx = tx;
            std::future::pending::<()>().await;
        });
        assert!(!life.draining());
        life.start_draining();
        assert!(life.draining());
        life.stop_background().await;
        // The task was dropped, and its sender with it.
        assert!(rx.await.is_err());
    }
}
