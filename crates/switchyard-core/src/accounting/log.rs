//! The request log writer.
//!
//! A finished request becomes a [`LogRecord`] on its own task and is queued with
//! `try_send` on a bounded channel: a full queue drops the record and counts it
//! ([`LogWriter::dropped`]) rather than slow a request down. One background task takes
//! records off the queue and writes them in batches of at most [`LogSettings::batch`]
//! rows, at most [`LogSettings::flush_every`] after the first one arrived (gathered on a
//! tick, not woken by each record: [`gather`]), each batch in
//! one SQLite transaction together with its hourly usage rollups ([`Store::write_logs`]).
//! The same task enforces retention (age and row count) every
//! [`LogSettings::prune_every`], in deletes of at most [`LogSettings::prune_chunk`] rows.
//! [`LogWriter::flush_and_stop`] closes the queue, writes what is left and ends the task
//! (on shutdown, after the drain).

use crate::pipeline::context::{AttemptRecord, Cost, Finisher, RequestContext, Usage};
use crate::store::Store;
use parking_lot::Mutex;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// Tuning of the request log (`[logs]` in the config file sets the first three).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogSettings {
    /// Whether finished requests are logged at all (retention still runs when not).
    pub enabled: bool,
    /// Records waiting to be written before new ones are dropped.
    pub queue: usize,
    /// Rows kept by age.
    pub retention: Duration,
    /// Rows kept at most (the oldest go first).
    pub max_rows: u64,
    /// Rows per write transaction, at most. 1024 rather than 256: under load a row
    /// costs about a fifth less in batches of 1024 (`benches/logs.rs`), and below
    /// ~10k rows/s [`LogSettings::flush_every`] ends a batch first anyway.
    pub batch: usize,
    /// Longest wait from a record's arrival to its batch's write.
    pub flush_every: Duration,
    /// How often retention is enforced.
    pub prune_every: Duration,
    /// Rows per retention delete, at most.
    pub prune_chunk: u64,
}

impl Default for LogSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            queue: 10_000,
            retention: Duration::from_secs(30 * 86_400),
            max_rows: 1_000_000,
            batch: 1024,
            flush_every: Duration::from_millis(100),
            prune_every: Duration::from_secs(60),
            prune_chunk: 1_000,
        }
    }
}

/// One finished request, as queued for the log. Built on the request's task, so it
/// reuses the context's shared strings instead of copying them.
#[derive(Debug, Clone)]
pub struct LogRecord {
    /// When the request started, unix ms.
    pub ts: i64,
    pub request_id: Arc<str>,
    pub key_id: Option<Arc<str>>,
    pub protocol_in: &'static str,
    pub protocol_out: Option<&'static str>,
    pub model: Option<Box<str>>,
    pub upstream_model: Option<Box<str>>,
    pub status: u16,
    pub stream: bool,
    pub latency_ms: u64,
    pub ttfb_ms: Option<u64>,
    /// Zero when none was reported.
    pub usage: Usage,
    pub cost: Option<Cost>,
    pub error: Option<&'static str>,
    pub attempts: Vec<AttemptRecord>,
}

impl LogRecord {
    /// The record of a finished request, `now_ms` being the time it finished.
    pub fn from_context(context: RequestContext, now_ms: i64) -> Self {
        let latency_ms = u64::try_from(context.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        Self {
            ts: now_ms.saturating_sub(i64::try_from(latency_ms).unwrap_or(i64::MAX)),
            request_id: context.id,
            key_id: context.key_id,
            protocol_in: context.protocol_in.as_str(),
            protocol_out: context.protocol_out.map(|p| p.as_str()),
            model: context.model,
            upstream_model: context.upstream_model,
            status: context.status,
            stream: context.stream,
            latency_ms,
            ttfb_ms: context
                .ttfb
                .map(|t| u64::try_from(t.as_millis()).unwrap_or(u64::MAX)),
            usage: context.usage.unwrap_or_default(),
            cost: context.cost,
            error: context.error,
            attempts: context.attempts,
        }
    }

    /// The account of the last attempt.
    pub fn account_id(&self) -> Option<&str> {
        self.attempts.last().map(|a| &*a.account_id)
    }
}

/// Unix milliseconds now.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[derive(Debug, Default)]
struct Counters {
    dropped: AtomicU64,
    batches: AtomicU64,
}

/// The queue's sending side and the writer task (see the module docs).
#[derive(Debug)]
pub struct LogWriter {
    /// [`LogSettings::enabled`]: when off, finished requests are not queued.
    enabled: bool,
    tx: mpsc::Sender<LogRecord>,
    counters: Arc<Counters>,
    stop: Mutex<Option<oneshot::Sender<()>>>,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl LogWriter {
    /// Start the writer task on the current runtime.
    pub fn spawn(store: Store, settings: LogSettings) -> Self {
        let (tx, rx) = mpsc::channel(settings.queue.max(1));
        let (stop_tx, stop_rx) = oneshot::channel();
        let counters = Arc::new(Counters::default());
        let enabled = settings.enabled;
        let task = tokio::spawn(run(store, settings, rx, stop_rx, Arc::clone(&counters)));
        Self {
            enabled,
            tx,
            counters,
            stop: Mutex::new(Some(stop_tx)),
            task: Mutex::new(Some(task)),
        }
    }

    /// Queue `record`; never waits. A full (or stopped) queue drops it and counts it.
    pub fn enqueue(&self, record: LogRecord) {
        if self.tx.try_send(record).is_err() {
            self.counters.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Records waiting to be written.
    pub fn depth(&self) -> u64 {
        (self.tx.max_capacity() - self.tx.capacity()) as u64
    }

    /// Records dropped: queue full, queue stopped, or their batch failed to write.
    pub fn dropped(&self) -> u64 {
        self.counters.dropped.load(Ordering::Relaxed)
    }

    /// Write transactions so far.
    pub fn batches(&self) -> u64 {
        self.counters.batches.load(Ordering::Relaxed)
    }

    /// Stop taking records, write every queued one, and wait for the task to end.
    pub async fn flush_and_stop(&self) {
        let stop = self.stop.lock().take();
        if let Some(stop) = stop {
            let _ = stop.send(());
        }
        let task = self.task.lock().take();
        if let Some(task) = task
            && let Err(e) = task.await
        {
            tracing::error!(error = %e, "request log writer failed");
        }
    }
}

impl Finisher for LogWriter {
    fn finish(&self, context: RequestContext) {
        if self.enabled {
            self.enqueue(LogRecord::from_context(context, now_ms()));
        }
    }
}

async fn run(
    store: Store,
    settings: LogSettings,
    mut rx: mpsc::Receiver<LogRecord>,
    mut stop: oneshot::Receiver<()>,
    counters: Arc<Counters>,
) {
    let batch = settings.batch.max(1);
    let mut buf = Vec::with_capacity(batch);
    let mut prune = tokio::time::interval_at(
        Instant::now() + settings.prune_every,
        settings.prune_every.max(Duration::from_millis(1)),
    );
    prune.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut stopping = false;
    let mut recounted = false;
    loop {
        if stopping {
            if rx.recv_many(&mut buf, batch).await == 0 {
                break;
            }
        } else {
            tokio::select! {
                n = rx.recv_many(&mut buf, batch) => if n == 0 { break },
                _ = &mut stop => {
                    rx.close();
                    stopping = true;
                    continue;
                }
                _ = prune.tick() => {
                    // Once per start, before the first retention run (a predecessor
                    // draining after a redeploy has exited by then: see
                    // `Store::recount_logs`).
                    if !recounted {
                        recounted = true;
                        if let Err(e) = store.recount_logs().await {
                            tracing::error!(error = %e, "cannot count the request log");
                        }
                    }
                    enforce_retention(&store, &settings).await;
                    continue;
                }
            }
            gather(&mut rx, &mut buf, batch, settings.flush_every).await;
        }
        let rows = std::mem::replace(&mut buf, Vec::with_capacity(batch));
        let n = rows.len() as u64;
        counters.batches.fetch_add(1, Ordering::Relaxed);
        if let Err(e) = store.write_logs(rows).await {
            counters.dropped.fetch_add(n, Ordering::Relaxed);
            tracing::error!(error = %e, rows = n, "cannot write request log rows");
        }
    }
}

/// Fill `buf` up to `batch` records, for at most `flush_every` from now: the queue is
/// looked at every tenth of that, never waited on. A receiver waiting on the queue is
/// woken by every record sent (a task wake-up and a timer per request, on the proxy's
/// core); looking at it on a tick costs a few wake-ups per batch instead.
async fn gather(
    rx: &mut mpsc::Receiver<LogRecord>,
    buf: &mut Vec<LogRecord>,
    batch: usize,
    flush_every: Duration,
) {
    let deadline = Instant::now() + flush_every;
    let tick = (flush_every / 10).max(Duration::from_millis(1));
    while buf.len() < batch {
        let now = Instant::now();
        if now >= deadline {
            return;
        }
        tokio::time::sleep_until((now + tick).min(deadline)).await;
        while buf.len() < batch {
            match rx.try_recv() {
                Ok(record) => buf.push(record),
                Err(mpsc::error::TryRecvError::Empty) => break,
                Err(mpsc::error::TryRecvError::Disconnected) => return,
            }
        }
    }
}

/// Delete rows past their age or beyond the row cap, a chunk at a time.
async fn enforce_retention(store: &Store, settings: &LogSettings) {
    let cutoff =
        now_ms().saturating_sub(i64::try_from(settings.retention.as_millis()).unwrap_or(i64::MAX));
    let chunk = settings.prune_chunk.max(1);
    loop {
        match store.prune_logs(cutoff, settings.max_rows, chunk).await {
            Ok(n) if n == chunk => tokio::task::yield_now().await,
            Ok(_) => break,
            Err(e) => {
                tracing::error!(error = %e, "request log retention failed");
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests;
