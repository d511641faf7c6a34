//! Scaled dot-product attention for training, keeping `O(t)` per row instead of the
//! probability tensor.
//!
//! burn's autodiff runs attention as its materialised fallback and keeps the scores and the
//! probabilities `[b, h, t, t]` of every layer for the backward. This operation keeps the
//! output and each query row's log-sum-exp `L` only, as FlashAttention does, and the backward
//! recomputes the probabilities once (`P = exp(S · scale − L)`), then
//! `dV = Pᵀ dO`, `dP = dO Vᵀ`, `dS = P (dP − rowsum(dO ∘ O)) · scale`, `dQ = dS K`,
//! `dK = dSᵀ Q`. The matrix products are flex's (strided GEMM, multi-threaded); the masking,
//! softmax and `dS` are one fused pass each over the rows, split across rayon's pool.

use burn::backend::autodiff::Autodiff;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::ops::FloatTensorOps;
use burn::backend::tensor::{BoolTensor, FloatTensor};
use burn::backend::{Backend, Dispatch, Flex, backend_extension};
use burn::prelude::*;
use burn::tensor::DType;
use burn::tensor::module::attention as burn_attention;
use burn::tensor::ops::AttentionModuleOptions;
use burn_flex::FlexTensor;
use rayon::prelude::*;

use super::flex_rows::{dense, rows_per_task, tensor, values};
use super::gemm::flex_matmul;
use super::{fused_kernels_apply, register_grads, simd_math};

/// Attention as one backend operation.
#[backend_extension(Flex, Autodiff)]
pub trait AttentionOps: Backend {
    /// `softmax(q kᵀ · scale, masked) v`.
    ///
    /// # Shapes
    /// - q: `[b, h, tq, d]`, k, v: `[b, h, tk, d]`
    /// - mask: `[b or 1, h or 1, tq, tk]`, true = masked
    /// - output: `[b, h, tq, d]`
    fn fused_attention(
        q: FloatTensor<Self>,
        k: FloatTensor<Self>,
        v: FloatTensor<Self>,
        mask: BoolTensor<Self>,
        scale: f64,
    ) -> FloatTensor<Self>;
}

/// The kernels behind the backward of [`AttentionOps`] on a backend that has them.
pub trait AttentionBackward: Backend {
    /// The forward, also returning each query row's log-sum-exp `[b, h, tq]` of the scaled,
    /// masked scores (−∞ for a fully masked row, whose output is 0).
    fn fused_attention_with_lse(
        q: FloatTensor<Self>,
        k: FloatTensor<Self>,
        v: FloatTensor<Self>,
        mask: BoolTensor<Self>,
        scale: f64,
    ) -> (FloatTensor<Self>, FloatTensor<Self>);

    /// `(dq, dk, dv)` for the output gradient `grad`.
    #[allow(clippy::too_many_arguments)]
    fn fused_attention_backward(
        q: FloatTensor<Self>,
        k: FloatTensor<Self>,
        v: FloatTensor<Self>,
        mask: BoolTensor<Self>,
        out: FloatTensor<Self>,
        lse: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        scale: f64,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>);
}

/// Attention with `scale = 1 / sqrt(d)`: causal when `mask` is `None`, else masked where
/// `mask` is true; grouped-query (fewer K/V heads) handled here.
///
/// Fused on the CPU backend whenever the whole key range is given (training, reference and
/// evaluation forwards, the prefill of generation, and every masked step), with and without
/// autodiff, so that a policy and its frozen reference compute the same values bit for bit;
/// burn's attention op for a causal step over a KV cache (`tq ≠ tk`, no mask) and on other
/// devices.
///
/// # Shapes
/// - q: `[b, h, tq, d]`, k, v: `[b, kv, tk, d]` with `h` a multiple of `kv`
/// - mask: `[b, h, tq, tk]` (true = masked) or `None` (causal)
/// - output: `[b, h, tq, d]`
pub fn attention(
    q: Tensor<4>,
    k: Tensor<4>,
    v: Tensor<4>,
    mask: Option<Tensor<4, Bool>>,
) -> Tensor<4> {
    let [_, h, tq, d] = q.dims();
    let [_, kv, tk, _] = k.dims();
    let fused = fused_kernels_apply(&q) && (mask.is_some() || tq == tk);
    // burn's attention handles fewer K/V heads itself except in its autodiff fallback.
    let (k, v) = if kv != h && (fused || q.is_autodiff()) {
        (repeat_kv(k, h / kv), repeat_kv(v, h / kv))
    } else {
        (k, v)
    };
    if !fused {
        let is_causal = mask.is_none();
        return burn_attention(
            q,
            k,
            v,
            mask,
            None,
            AttentionModuleOptions {
                scale: None,
                softcap: None,
                is_causal,
            },
        );
    }
    let device = q.device();
    let mask = mask.unwrap_or_else(|| {
        Tensor::<2, Bool>::tril_mask([tq, tk], 0, &device).reshape([1, 1, tq, tk])
    });
    Tensor::from_dispatch(<Dispatch as AttentionOps>::fused_attention(
        q.into_dispatch(),
        k.into_dispatch(),
        v.into_dispatch(),
        mask.into_dispatch(),
        1.0 / (d as f64).sqrt(),
    ))
}

/// `[b, kv, l, d] -> [b, kv * groups, l, d]`, each K/V head repeated for its query group.
fn repeat_kv(x: Tensor<4>, groups: usize) -> Tensor<4> {
    let [b, kv, l, d] = x.dims();
    x.unsqueeze_dim::<5>(2)
        .expand([b, kv, groups, l, d])
        .reshape([b, kv * groups, l, d])
}

/// A `[mb, mh, tq, tk]` mask read once, broadcast over batch and heads.
struct Mask {
    bits: Vec<u8>,
    batch: usize,
    heads: usize,
    plane: usize,
}

impl Mask {
    fn read(mask: &FlexTensor) -> Self {
        let [batch, heads, tq, tk] = mask.layout().shape().dims();
        let dense = mask.to_contiguous();
        assert!(
            matches!(dense.dtype(), DType::Bool(_))
                && dense.bytes().len() >= batch * heads * tq * tk,
            "attention mask: expected a byte-per-element bool tensor, got {:?}",
            dense.dtype()
        );
        let start = dense.layout().start_offset();
        Self {
            bits: dense.bytes()[start..start + batch * heads * tq * tk].to_vec(),
            batch,
            heads,
            plane: tq * tk,
        }
    }

    /// The mask plane of flattened batch-head index `bh` (`h` heads).
    fn plane(&self, bh: usize, h: usize) -> &[u8] {
        let (bi, hi) = (bh / h, bh % h);
        let idx = (if self.batch == 1 { 0 } else { bi }) * self.heads
            + if self.heads == 1 { 0 } else { hi };
        &self.bits[idx * self.plane..(idx + 1) * self.plane]
    }
}

/// `S = q kᵀ` as a dense `[b, h, tq, tk]` tensor, worked on in place by the callers.
fn scores(q: &FlexTensor, k: &FlexTensor) -> (FlexTensor, [usize; 4]) {
    let s = dense(flex_matmul(
        q.clone(),
        Flex::float_swap_dims(k.clone(), 2, 3),
    ));
    let dims = s.layout().shape().dims();
    (s, dims)
}

/// One past the last unmasked key of a mask row, `None` when every key is masked.
fn visible_end(mask_row: &[u8]) -> Option<usize> {
    mask_row.iter().rposition(|&m| m == 0).map(|i| i + 1)
}

/// In place: each row of `s` becomes `softmax(s · scale)` over its unmasked entries; returns
/// the rows' log-sum-exp (−∞ and a zero row where everything is masked).
fn softmax_rows(s: &mut [f32], dims: [usize; 4], mask: &Mask, scale: f32) -> Vec<f32> {
    let [_, h, tq, tk] = dims;
    let mut lse = vec![0f32; s.len() / tk.max(1)];
    s.par_chunks_mut(tq * tk)
        .zip(lse.par_chunks_mut(tq))
        .enumerate()
        .for_each(|(bh, (plane, lse))| {
            let m = mask.plane(bh, h);
            for ((row, mrow), l) in plane.chunks_exact_mut(tk).zip(m.chunks_exact(tk)).zip(lse) {
                // Keys after the row's last visible one (the causal future) are zero without
                // an exponential: about half of every causal row.
                let Some(end) = visible_end(mrow) else {
                    row.fill(0.0);
                    *l = f32::NEG_INFINITY;
                    continue;
                };
                let (row, future) = row.split_at_mut(end);
                future.fill(0.0);
                for (x, &masked) in row.iter_mut().zip(mrow) {
                    *x = if masked != 0 {
                        f32::NEG_INFINITY
                    } else {
                        *x * scale
                    };
                }
                let mx = simd_math::max(row);
                let mut sum = 0.0;
                for x in row.iter_mut() {
                    let e = simd_math::exp(*x - mx);
                    *x = e;
                    sum += e;
                }
                let inv = 1.0 / sum;
                row.iter_mut().for_each(|x| *x *= inv);
                *l = mx + sum.ln();
            }
        });
    lse
}

impl AttentionBackward for Flex {
    fn fused_attention_with_lse(
        q: FlexTensor,
        k: FlexTensor,
        v: FlexTensor,
        mask: FlexTensor,
        scale: f64,
    ) -> (FlexTensor, FlexTensor) {
        let mask = Mask::read(&mask);
        let (mut p, dims) = scores(&q, &k);
        let lse = softmax_rows(p.storage_mut::<f32>(), dims, &mask, scale as f32);
        let [b, h, tq, _] = dims;
        let out = flex_matmul(p, v);
        (out, tensor(lse, [b, h, tq].into()))
    }

    fn fused_attention_backward(
        q: FlexTensor,
        k: FlexTensor,
        v: FlexTensor,
        mask: FlexTensor,
        out: FlexTensor,
        lse: FlexTensor,
        grad: FlexTensor,
        scale: f64,
    ) -> (FlexTensor, FlexTensor, FlexTensor) {
        let mask = Mask::read(&mask);
        let d = q.layout().shape().dims::<4>()[3];
        let scale = scale as f32;
        // P, recomputed from the saved log-sum-exp.
        let (mut p, [_, h, tq, tk]) = scores(&q, &k);
        let lse = values(&lse);
        p.storage_mut::<f32>()
            .par_chunks_mut(tq * tk)
            .zip(lse.par_chunks(tq))
            .enumerate()
            .for_each(|(bh, (plane, lse))| {
                let m = mask.plane(bh, h);
                for ((row, mrow), &l) in plane.chunks_exact_mut(tk).zip(m.chunks_exact(tk)).zip(lse)
                {
                    // A fully masked row (log-sum-exp −∞) has `end` 0: all of it is zeroed here.
                    let end = visible_end(mrow).unwrap_or(0);
                    let (row, future) = row.split_at_mut(end);
                    future.fill(0.0);
                    for (x, &masked) in row.iter_mut().zip(mrow) {
                        *x = if masked != 0 {
                            0.0
                        } else {
                            simd_math::exp(*x * scale - l)
                        };
                    }
                }
            });
        let dv = flex_matmul(Flex::float_swap_dims(p.clone(), 2, 3), grad.clone());
        let mut ds = dense(flex_matmul(grad.clone(), Flex::float_swap_dims(v, 2, 3)));
        // D_i = Σ_d dO ∘ O per query row.
        let (dov, ov) = (values(&grad), values(&out));
        let mut rowdot = vec![0f32; dov.len() / d.max(1)];
        rowdot
            .par_iter_mut()
            .zip(dov.par_chunks(d).zip(ov.par_chunks(d)))
            .with_min_len(rows_per_task(dov.len() / d.max(1), d))
            .for_each(|(r, (a, b))| *r = simd_math::dot(a, b));
        // dS = P (dP − D) · scale, in the dP buffer.
        let pv = values(&p);
        ds.storage_mut::<f32>()
            .par_chunks_mut(tk)
            .zip(pv.par_chunks(tk).zip(rowdot.par_iter()))
            .with_min_len(rows_per_task(rowdot.len(), tk))
            .for_each(|(dsr, (pr, &dd))| {
                for (x, &pp) in dsr.iter_mut().zip(pr) {
                    *x = pp * (*x - dd) * scale;
                }
            });
        let dq = flex_matmul(ds.clone(), k);
        let dk = flex_matmul(Flex::float_swap_dims(ds, 2, 3), q);
        (dq, dk, dv)
    }
}

impl AttentionOps for Flex {
    fn fused_attention(
        q: FlexTensor,
        k: FlexTensor,
        v: FlexTensor,
        mask: FlexTensor,
        scale: f64,
    ) -> FlexTensor {
        Self::fused_attention_with_lse(q, k, v, mask, scale).0
    }
}

impl<B: Backend + AttentionOps + AttentionBackward, C: CheckpointStrategy> AttentionOps
    for Autodiff<B, C>
{
    fn fused_attention(
        q: FloatTensor<Self>,
        k: FloatTensor<Self>,
        v: FloatTensor<Self>,
        mask: BoolTensor<Self>,
        scale: f64,
    ) -> FloatTensor<Self> {
        #[derive(Debug)]
        struct AttentionStep {
            scale: f64,
        }

        impl<B: Backend + AttentionBackward> Backward<B, 3> for AttentionStep {
            #[allow(clippy::type_complexity)]
            type State = (
                FloatTensor<B>,
                FloatTensor<B>,
                FloatTensor<B>,
                BoolTensor<B>,
                FloatTensor<B>,
                FloatTensor<B>,
            );

            fn backward(
                self,
                ops: Ops<Self::State, 3>,
                grads: &mut Gradients,
                _checkpointer: &mut Checkpointer,
            ) {
                let grad = grads.consume::<B>(&ops.node);
                let (q, k, v, mask, out, lse) = ops.state;
                let (dq, dk, dv) =
                    B::fused_attention_backward(q, k, v, mask, out, lse, grad, self.scale);
                let parents = ops.parents.map(|p| p.map(|node| node.id));
                register_grads::<B, 3>(grads, parents, [dq, dk, dv]);
            }
        }

        let step = AttentionStep { scale };
        match step
            .prepare::<C>([q.node(), k.node(), v.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let (q, k, v) = (q.into_primitive(), k.into_primitive(), v.into_primitive());
                let (out, lse) = B::fused_attention_with_lse(
                    q.clone(),
                    k.clone(),
                    v.clone(),
                    mask.clone(),
                    scale,
                );
                prep.finish((q, k, v, mask, out.clone(), lse), out)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::fused_attention(
                q.into_primitive(),
                k.into_primitive(),
                v.into_primitive(),
                mask,
                scale,
            )),
        }
    }
}
