//! RAII lease on an account: counts one in-flight request while alive.

use super::PoolAccount;
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// Holds one in-flight slot on an account; dropping it releases the slot, whatever path
/// the request took (success, error, client disconnect, panic unwinding).
#[derive(Debug)]
pub struct Lease {
    account: Arc<PoolAccount>,
}

impl Lease {
    pub(super) fn new(account: Arc<PoolAccount>) -> Self {
        account.state.active.fetch_add(1, Ordering::Relaxed);
        Self { account }
    }

    pub fn account(&self) -> &Arc<PoolAccount> {
        &self.account
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.account.state.active.fetch_sub(1, Ordering::Relaxed);
    }
}
