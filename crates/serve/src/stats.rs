//! Counters of a running server (what was accepted, refused, batched).

use std::sync::atomic::{AtomicU64, Ordering};

/// A snapshot of a server's counters ([`ServerHandle::stats`](crate::ServerHandle::stats),
/// and `stats` in the answer of `GET /health`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct ServeStats {
    /// Chat requests queued for generation.
    pub accepted: u64,
    /// Chat requests answered 429 because the queue was full.
    pub queue_full: u64,
    /// Chat requests answered with a completion.
    pub completed: u64,
    /// Chat requests whose generation failed (500) or that were refused at shutdown (503)
    /// after being queued.
    pub failed: u64,
    /// `generate` calls.
    pub batches: u64,
    /// Rows generated over all batches.
    pub rows: u64,
    /// Most rows in one `generate` call.
    pub largest_batch: u64,
    /// Completion tokens returned.
    pub completion_tokens: u64,
}

/// The live counters behind [`ServeStats`].
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) accepted: AtomicU64,
    pub(crate) queue_full: AtomicU64,
    pub(crate) completed: AtomicU64,
    pub(crate) failed: AtomicU64,
    pub(crate) batches: AtomicU64,
    pub(crate) rows: AtomicU64,
    pub(crate) largest_batch: AtomicU64,
    pub(crate) completion_tokens: AtomicU64,
}

impl Counters {
    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn batch(&self, rows: usize) {
        Self::add(&self.batches, 1);
        Self::add(&self.rows, rows as u64);
        self.largest_batch.fetch_max(rows as u64, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> ServeStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        ServeStats {
            accepted: get(&self.accepted),
            queue_full: get(&self.queue_full),
            completed: get(&self.completed),
            failed: get(&self.failed),
            batches: get(&self.batches),
            rows: get(&self.rows),
            largest_batch: get(&self.largest_batch),
            completion_tokens: get(&self.completion_tokens),
        }
    }
}
