//! The global memory budget for buffered bytes: request bodies (kept whole so they can
//! be replayed on another account) and upstream answers read whole (JSON answers,
//! stream openings). Every buffer reserves its size first; over budget, the request is
//! refused (503 in the client's shape) instead of the process growing without bound.
//!
//! Reservations are counted in KiB on a semaphore: taking or returning one is a couple
//! of atomic operations, never a wait — a request over budget is refused at once.

use std::sync::Arc;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

const UNIT: usize = 1024;

/// Shared budget; cheap to clone.
#[derive(Debug, Clone)]
pub struct MemoryBudget {
    units: Arc<Semaphore>,
    total: usize,
}

/// Bytes held against the budget until dropped.
#[derive(Debug, Default)]
pub struct Reservation {
    permit: Option<OwnedSemaphorePermit>,
}

impl MemoryBudget {
    /// A budget of `bytes` (rounded up to whole KiB, at least one).
    pub fn new(bytes: usize) -> Self {
        let units = bytes.div_ceil(UNIT).clamp(1, Semaphore::MAX_PERMITS);
        Self {
            units: Arc::new(Semaphore::new(units)),
            total: units * UNIT,
        }
    }

    pub const fn total(&self) -> usize {
        self.total
    }

    /// Bytes free now.
    pub fn available(&self) -> usize {
        self.units.available_permits() * UNIT
    }

    /// Reserve `bytes` more on `held`, or `false` (nothing taken) when over budget.
    pub fn grow(&self, held: &mut Reservation, bytes: usize) -> bool {
        if bytes == 0 {
            return true;
        }
        let Ok(units) = u32::try_from(bytes.div_ceil(UNIT)) else {
            return false;
        };
        match Arc::clone(&self.units).try_acquire_many_owned(units) {
            Ok(permit) => {
                match &mut held.permit {
                    Some(existing) => existing.merge(permit),
                    None => held.permit = Some(permit),
                }
                true
            }
            Err(_) => false,
        }
    }

    /// A new reservation of `bytes`, or `None` when over budget.
    pub fn reserve(&self, bytes: usize) -> Option<Reservation> {
        let mut held = Reservation::default();
        self.grow(&mut held, bytes).then_some(held)
    }
}

impl Reservation {
    /// Bytes held (in whole KiB).
    pub fn bytes(&self) -> usize {
        self.permit.as_ref().map_or(0, |p| p.num_permits() * UNIT)
    }

    /// Take over `other`'s bytes.
    pub fn absorb(&mut self, other: Self) {
        if let Some(permit) = other.permit {
            match &mut self.permit {
                Some(existing) => existing.merge(permit),
                None => self.permit = Some(permit),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservations_are_bounded_and_returned_on_drop() {
        let budget = MemoryBudget::new(10 * 1024);
        let mut a = budget.reserve(6 * 1024).unwrap();
        assert_eq!(a.bytes(), 6 * 1024);
        assert!(budget.reserve(5 * 1024).is_none(), "over budget");
        assert!(budget.grow(&mut a, 1), "a byte takes one KiB");
        assert_eq!(budget.available(), 3 * 1024);
        let b = budget.reserve(3 * 1024).unwrap();
        assert!(!budget.grow(&mut a, 1));
        a.absorb(b);
        assert_eq!(a.bytes(), 10 * 1024);
        drop(a);
        assert_eq!(budget.available(), budget.total());
        assert!(budget.reserve(usize::MAX).is_none());
    }
}
