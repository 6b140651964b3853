//! Shared application state, cloned into every handler (one `Arc` clone per request).

use crate::metrics::Metrics;
use std::ops::Deref;
use std::sync::Arc;
use switchyard_core::accounting::log::LogWriter;
use switchyard_core::admin::Admin;
use switchyard_core::crypto::KeyDigest;
use switchyard_core::keyring::KeyRing;
use switchyard_core::pipeline::budget::MemoryBudget;
use switchyard_core::pipeline::context::{Finisher, RequestContext};
use switchyard_core::pool::Pool;
use switchyard_core::upstream::Upstream;

/// Everything a handler may need. Read-mostly parts (pool, key ring) swap snapshots
/// internally; nothing here is locked per request.
#[derive(Debug)]
pub struct Shared {
    pub pool: Arc<Pool>,
    pub keys: Arc<KeyRing>,
    pub admin: Admin,
    pub upstream: Upstream,
    /// SHA-256 of the admin key, compared in constant time.
    pub admin_key: KeyDigest,
    /// SHA-256 of the read-only metrics key (`SWITCHYARD_METRICS_KEY`), if set.
    pub metrics_key: Option<KeyDigest>,
    pub max_body_bytes: usize,
    /// Buffered request and response bytes, across all requests.
    pub budget: MemoryBudget,
    pub metrics: Metrics,
    /// The request log's queue (written by its own task).
    pub log: LogWriter,
    /// The price table (shipped + config overrides); finished requests are costed by it.
    pub prices: switchyard_core::accounting::prices::Prices,
    /// Draining flag, the drain deadline's cut, the background tasks.
    pub lifecycle: Arc<crate::lifecycle::Lifecycle>,
    /// OAuth sign-ins (`/api/oauth/*`).
    pub oauth: switchyard_core::oauth::OAuth,
    /// Renews OAuth tokens (its background task is spawned by `serve`).
    pub refresher: Arc<switchyard_core::oauth::refresh::Refresher>,
}

impl Shared {
    /// Where finished requests go: the client key's counters, the metrics, then the
    /// request log.
    pub fn finisher(&self) -> &dyn Finisher {
        self
    }
}

impl Finisher for Shared {
    fn finish(&self, context: RequestContext) {
        // The client key's tokens per minute and budget count what was used.
        if let Some(key) = &context.key_policy {
            key.record(
                context.usage.as_ref(),
                context.cost.as_ref(),
                switchyard_core::store::now_unix,
                switchyard_core::keyring::clock_ns,
            );
        }
        self.metrics.observe(&context);
        self.log.finish(context);
    }
}

/// Cheap-to-clone handle on [`Shared`].
#[derive(Debug, Clone)]
pub struct AppState(pub Arc<Shared>);

impl Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}
