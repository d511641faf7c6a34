//! The order prompts are taken in: a seeded shuffle per epoch, each epoch's from its own RNG
//! stream, so the next batch is a pure function of (seed, prompts consumed so far) and a resumed
//! run continues exactly where the checkpoint left off.

use prefopt_data::shuffled_epoch;

/// Prompt indices, epoch after epoch; see the module docs.
#[derive(Debug, Clone)]
pub(crate) struct PromptOrder {
    seed: u64,
    len: usize,
    consumed: u64,
    epoch: u64,
    order: Vec<usize>,
}

impl PromptOrder {
    /// The order over `len` prompts (`len > 0`) after `consumed` prompts were taken.
    pub(crate) fn new(seed: u64, len: usize, consumed: u64) -> Self {
        let epoch = consumed / len as u64;
        Self {
            seed,
            len,
            consumed,
            epoch,
            order: shuffled(seed, len, epoch),
        }
    }

    /// Prompts taken so far (the data cursor of a checkpoint).
    pub(crate) fn consumed(&self) -> u64 {
        self.consumed
    }

    /// Fractional epochs done.
    pub(crate) fn epoch(&self) -> f64 {
        self.consumed as f64 / self.len as f64
    }

    /// The next `n` prompt indices.
    pub(crate) fn take(&mut self, n: usize) -> Vec<usize> {
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            let epoch = self.consumed / self.len as u64;
            if epoch != self.epoch {
                self.epoch = epoch;
                self.order = shuffled(self.seed, self.len, epoch);
            }
            out.push(self.order[(self.consumed % self.len as u64) as usize]);
            self.consumed += 1;
        }
        out
    }
}

fn shuffled(seed: u64, len: usize, epoch: u64) -> Vec<usize> {
    shuffled_epoch(len, seed ^ 0x5EED_0F9A_1D00, epoch)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_epoch_is_a_permutation_and_resuming_continues_the_sequence() {
        let mut straight = PromptOrder::new(3, 5, 0);
        let all: Vec<usize> = (0..6).flat_map(|_| straight.take(3)).collect();
        for epoch in all.chunks(5).take(3) {
            let mut sorted = epoch.to_vec();
            sorted.sort_unstable();
            assert_eq!(sorted, vec![0, 1, 2, 3, 4]);
        }
        assert_ne!(all[..5], all[5..10], "a new shuffle each epoch");
        let mut resumed = PromptOrder::new(3, 5, 9);
        let rest: Vec<usize> = (0..3).flat_map(|_| resumed.take(3)).collect();
        assert_eq!(rest, all[9..]);
        assert_eq!(resumed.consumed(), 18);
        assert_eq!(resumed.epoch(), 3.6);
    }
}
