//! `log_softmax(logits)[target]` per row, without the `[rows, vocab]` log-softmax tensor.
//!
//! Forward: one max, one sum of exponentials and one subtraction per row; it keeps the logits
//! (already alive as the LM head's output) and the row's log-sum-exp. Backward:
//! `d logits = g (onehot(target) − softmax(logits))`, written in one pass.

use burn::backend::autodiff::Autodiff;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::tensor::{FloatTensor, IntTensor};
use burn::backend::{Backend, Dispatch, Flex, backend_extension};
use burn::prelude::*;
use burn::tensor::activation::log_softmax;
use burn_flex::FlexTensor;
use rayon::prelude::*;

use super::flex_rows::{rows_per_task, tensor, values, zeroed};
use super::{fused_kernels_apply, simd_math};

/// Token log-probabilities as one backend operation.
#[backend_extension(Flex, Autodiff)]
pub trait TokenLogprobsOps: Backend {
    /// # Shapes
    /// - logits: `[n, vocab]`, targets: `[n]` (ids below vocab), output: `[n]`
    fn fused_token_logprobs(
        logits: FloatTensor<Self>,
        targets: IntTensor<Self>,
    ) -> FloatTensor<Self>;
}

/// The backward kernel of [`TokenLogprobsOps`] on a backend that has one.
pub trait TokenLogprobsBackward: Backend {
    /// `d logits` for the output gradient `grad` (`[n]`).
    fn fused_token_logprobs_backward(
        logits: FloatTensor<Self>,
        targets: IntTensor<Self>,
        grad: FloatTensor<Self>,
    ) -> FloatTensor<Self>;
}

/// `log_softmax(logits, 1)` gathered at `targets`, fused on the CPU backend.
///
/// # Shapes
/// - logits: `[n, vocab]`, targets: `[n]` (every id below vocab), output: `[n]`
pub fn token_logprobs(logits: Tensor<2>, targets: Tensor<1, Int>) -> Tensor<1> {
    let [n, _] = logits.dims();
    if !fused_kernels_apply(&logits) {
        return log_softmax(logits, 1)
            .gather(1, targets.reshape([n, 1]))
            .reshape([n]);
    }
    Tensor::from_dispatch(<Dispatch as TokenLogprobsOps>::fused_token_logprobs(
        logits.into_dispatch(),
        targets.into_dispatch(),
    ))
}

/// The target ids as `usize`, checked against the vocabulary.
fn target_ids(targets: &FlexTensor, vocab: usize) -> Vec<usize> {
    let data = targets.to_contiguous().into_data();
    let ids: Vec<i64> = data
        .convert::<i64>()
        .try_into_vec::<i64>()
        .expect("int tensor data converts to i64");
    ids.into_iter()
        .map(|t| {
            let t = usize::try_from(t).unwrap_or(usize::MAX);
            assert!(t < vocab, "token id {t} outside a vocabulary of {vocab}");
            t
        })
        .collect()
}

/// `max + ln Σ e^(x − max)`.
#[inline]
fn log_sum_exp(row: &[f32]) -> f32 {
    let m = simd_math::max(row);
    if m == f32::NEG_INFINITY {
        return m;
    }
    m + simd_math::exp_shifted_sum(row, m).ln()
}

impl TokenLogprobsOps for Flex {
    fn fused_token_logprobs(logits: FlexTensor, targets: FlexTensor) -> FlexTensor {
        let [n, vocab] = logits.layout().shape().dims();
        let x = values(&logits);
        let ids = target_ids(&targets, vocab);
        let mut out = vec![0f32; n];
        out.par_iter_mut()
            .zip(x.par_chunks(vocab.max(1)).zip(ids.par_iter()))
            .with_min_len(rows_per_task(n, vocab))
            .for_each(|(o, (row, &t))| *o = row[t] - log_sum_exp(row));
        tensor(out, [n].into())
    }
}

impl TokenLogprobsBackward for Flex {
    fn fused_token_logprobs_backward(
        logits: FlexTensor,
        targets: FlexTensor,
        grad: FlexTensor,
    ) -> FlexTensor {
        let [n, vocab] = logits.layout().shape().dims();
        let x = values(&logits);
        let ids = target_ids(&targets, vocab);
        let g = values(&grad);
        let mut dx = zeroed(n * vocab);
        dx.par_chunks_mut(vocab.max(1))
            .zip(x.par_chunks(vocab.max(1)))
            .zip(ids.par_iter().zip(g.par_iter()))
            .with_min_len(rows_per_task(n, vocab))
            .for_each(|((d, row), (&t, &g))| {
                let m = simd_math::max(row);
                let sum = simd_math::exp_shifted_into(row, m, d);
                let scale = -g / sum;
                for v in d.iter_mut() {
                    *v *= scale;
                }
                d[t] += g;
            });
        tensor(dx, [n, vocab].into())
    }
}

impl<B: Backend + TokenLogprobsOps + TokenLogprobsBackward, C: CheckpointStrategy> TokenLogprobsOps
    for Autodiff<B, C>
{
    fn fused_token_logprobs(
        logits: FloatTensor<Self>,
        targets: IntTensor<Self>,
    ) -> FloatTensor<Self> {
        #[derive(Debug)]
        struct TokenLogprobsStep;

        impl<B: Backend + TokenLogprobsBackward> Backward<B, 1> for TokenLogprobsStep {
            type State = (FloatTensor<B>, IntTensor<B>);

            fn backward(
                self,
                ops: Ops<Self::State, 1>,
                grads: &mut Gradients,
                _checkpointer: &mut Checkpointer,
            ) {
                let [node_logits] = ops.parents;
                let grad = grads.consume::<B>(&ops.node);
                let (logits, targets) = ops.state;
                if let Some(node) = node_logits {
                    let d = B::fused_token_logprobs_backward(logits, targets, grad);
                    grads.register::<B>(node.id, d);
                }
            }
        }

        match TokenLogprobsStep
            .prepare::<C>([logits.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let logits = logits.into_primitive();
                let out = B::fused_token_logprobs(logits.clone(), targets.clone());
                prep.finish((logits, targets), out)
            }
            OpsKind::UnTracked(prep) => {
                prep.finish(B::fused_token_logprobs(logits.into_primitive(), targets))
            }
        }
    }
}
