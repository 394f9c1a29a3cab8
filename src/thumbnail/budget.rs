//! Memory for decoding, shared by the whole pool. A decode's allocation is
//! known from the image's header before any pixel is read (the decoded
//! buffer, and a converted or rotated copy); it waits until the pool's
//! budget has room for it, and an image that needs more than the whole
//! budget is not decoded. Counting pixels alone is not enough: a 35-byte
//! GIF with a 10000×10000 canvas, or a 16-bit PNG, costs far more than its
//! size suggests, and one per core at once would exhaust memory.

use std::sync::{Condvar, Mutex};

/// Bytes of decoded images in memory at once, for the whole pool: with the
/// rest of a run, well under the 600 MB every run stays under.
pub(super) const DECODE_BUDGET: u64 = 448 << 20;

/// The one budget of the process: thumbnails and placeholder comparisons
/// decode under it alike, so their decodes together stay within it.
pub(crate) fn shared() -> &'static MemoryBudget {
    static SHARED: std::sync::OnceLock<MemoryBudget> = std::sync::OnceLock::new();
    SHARED.get_or_init(|| MemoryBudget::new(DECODE_BUDGET))
}

/// The pool's budget.
#[derive(Debug)]
pub(crate) struct MemoryBudget {
    total: u64,
    used: Mutex<u64>,
    freed: Condvar,
}

/// Memory granted to one decode, given back when dropped.
#[derive(Debug)]
pub(crate) struct Grant<'a> {
    budget: &'a MemoryBudget,
    bytes: u64,
}

impl MemoryBudget {
    pub(super) fn new(total: u64) -> MemoryBudget {
        MemoryBudget {
            total,
            used: Mutex::new(0),
            freed: Condvar::new(),
        }
    }

    pub(super) fn total(&self) -> u64 {
        self.total
    }

    /// Waits until `bytes` fit, and takes them; `None` when they never
    /// will (more than the whole budget).
    pub(crate) fn acquire(&self, bytes: u64) -> Option<Grant<'_>> {
        if bytes > self.total {
            return None;
        }
        let mut used = self.used.lock().unwrap_or_else(|e| e.into_inner());
        while *used + bytes > self.total {
            used = self.freed.wait(used).unwrap_or_else(|e| e.into_inner());
        }
        *used += bytes;
        Some(Grant {
            budget: self,
            bytes,
        })
    }

    /// Bytes granted now.
    #[cfg(test)]
    pub(super) fn in_use(&self) -> u64 {
        *self.used.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for Grant<'_> {
    fn drop(&mut self) {
        let mut used = self.budget.used.lock().unwrap_or_else(|e| e.into_inner());
        *used = used.saturating_sub(self.bytes);
        self.budget.freed.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn grants_are_given_back_and_too_much_is_refused() {
        let budget = MemoryBudget::new(100);
        assert!(budget.acquire(101).is_none());
        let a = budget.acquire(60).expect("fits");
        assert_eq!(budget.in_use(), 60);
        drop(a);
        assert_eq!(budget.in_use(), 0);
    }

    #[test]
    fn a_decode_waits_until_another_gives_its_memory_back() {
        let budget = Arc::new(MemoryBudget::new(100));
        let first = budget.acquire(70).expect("fits");
        let (tx, rx) = std::sync::mpsc::channel();
        let b = budget.clone();
        let waiter = std::thread::spawn(move || {
            let grant = b.acquire(50).expect("fits once the first is done");
            tx.send(b.in_use()).expect("send");
            drop(grant);
        });
        // The second cannot have its 50 while the first holds 70.
        assert!(rx.try_recv().is_err());
        assert_eq!(budget.in_use(), 70);
        drop(first);
        assert_eq!(rx.recv().expect("the waiter ran"), 50);
        waiter.join().expect("join");
    }
}
