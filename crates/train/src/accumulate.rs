//! Gradient accumulation over micro-batches.
//!
//! Each micro-batch loss is multiplied by a weight before `backward()` and the gradients are
//! summed with burn's [`GradientsAccumulator`]. With weights that sum to 1 and are proportional
//! to what the loss averages over (examples for a per-example mean, completion tokens for a
//! per-token mean), the accumulated gradient *is* the gradient of the loss over the whole batch,
//! so `k` micro-batches of `n/k` give the same update as one micro-batch of `n` (the test
//! `accumulate::eight_micro_batches_equal_one_batch` checks this to 1e-5 over 5 optimizer steps).
//! [`uniform_weights`] is what Hugging Face's trainer does (`loss / gradient_accumulation_steps`);
//! [`proportional_weights`] is exact when micro-batches hold different numbers of items.

use burn::module::Module;
use burn::optim::{GradientsAccumulator, GradientsParams};
use burn::tensor::Tensor;

/// Accumulates weighted micro-batch gradients (and the weighted loss) for one optimizer step.
pub struct GradientAccumulator<M> {
    grads: GradientsAccumulator<M>,
    loss: Option<Tensor<1>>,
    weight_sum: f64,
    micro_batches: usize,
}

impl<M> std::fmt::Debug for GradientAccumulator<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GradientAccumulator")
            .field("micro_batches", &self.micro_batches)
            .field("weight_sum", &self.weight_sum)
            .finish_non_exhaustive()
    }
}

impl<M> Default for GradientAccumulator<M> {
    fn default() -> Self {
        Self::new()
    }
}

/// The result of one accumulated optimizer step.
#[derive(Debug)]
pub struct AccumulatedStep {
    /// Σ weightᵢ · ∇lossᵢ, ready for clipping and the optimizer.
    pub grads: GradientsParams,
    /// Σ weightᵢ · lossᵢ, detached and still on the device (read it only on logging steps).
    pub loss: Tensor<1>,
    /// How many micro-batches went in.
    pub micro_batches: usize,
}

impl<M> GradientAccumulator<M> {
    /// An empty accumulator.
    pub fn new() -> Self {
        Self {
            grads: GradientsAccumulator::new(),
            loss: None,
            weight_sum: 0.0,
            micro_batches: 0,
        }
    }

    /// Micro-batches accumulated since the last [`finish`](Self::finish).
    pub fn micro_batches(&self) -> usize {
        self.micro_batches
    }
}

impl<M: Module> GradientAccumulator<M> {
    /// Back-propagates `weight · loss` through `model` and adds the gradients.
    ///
    /// # Shapes
    /// - `loss`: `[1]` (a reduced scalar loss on an autodiff device)
    pub fn backward(&mut self, model: &M, loss: Tensor<1>, weight: f64) {
        let scaled = if weight == 1.0 {
            loss.clone()
        } else {
            loss.clone().mul_scalar(weight)
        };
        let grads = GradientsParams::from_grads(scaled.backward(), model);
        self.grads.accumulate(model, grads);
        let weighted = loss.detach().mul_scalar(weight);
        self.loss = Some(match self.loss.take() {
            Some(acc) => acc + weighted,
            None => weighted,
        });
        self.weight_sum += weight;
        self.micro_batches += 1;
    }

    /// Takes the accumulated gradients and loss and resets the accumulator.
    ///
    /// # Panics
    /// If no micro-batch was accumulated.
    pub fn finish(&mut self) -> AccumulatedStep {
        let loss = self
            .loss
            .take()
            .expect("GradientAccumulator::finish called before any backward");
        if (self.weight_sum - 1.0).abs() > 1e-9 {
            tracing::debug!(
                weight_sum = self.weight_sum,
                "micro-batch weights do not sum to 1"
            );
        }
        let step = AccumulatedStep {
            grads: self.grads.grads(),
            loss,
            micro_batches: self.micro_batches,
        };
        self.weight_sum = 0.0;
        self.micro_batches = 0;
        step
    }
}

/// `k` equal weights `1/k` (HF: `loss / gradient_accumulation_steps`).
///
/// # Panics
/// If `k == 0`.
pub fn uniform_weights(k: usize) -> Vec<f64> {
    assert!(k > 0, "need at least one micro-batch");
    vec![1.0 / k as f64; k]
}

/// Weights `countᵢ / Σ count` (examples or tokens per micro-batch), exact for mean losses over
/// micro-batches of unequal size. All-zero counts give uniform weights.
pub fn proportional_weights(counts: &[usize]) -> Vec<f64> {
    let total: usize = counts.iter().sum();
    if total == 0 {
        return uniform_weights(counts.len().max(1))[..counts.len()].to_vec();
    }
    counts.iter().map(|&c| c as f64 / total as f64).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn weights_hand_values() {
        assert_eq!(uniform_weights(4), vec![0.25; 4]);
        assert_eq!(proportional_weights(&[1, 3]), vec![0.25, 0.75]);
        assert_eq!(proportional_weights(&[0, 0]), vec![0.5, 0.5]);
    }

    proptest! {
        #[test]
        fn proportional_weights_sum_to_one(counts in proptest::collection::vec(0usize..1000, 1..20)) {
            let w = proportional_weights(&counts);
            prop_assert_eq!(w.len(), counts.len());
            prop_assert!((w.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        }
    }
}
