//! RMSNorm, `x / sqrt(mean(x²) + ε) · γ` over the last dimension, in one pass each way.
//!
//! Backward, with `r = 1 / sqrt(mean(x²) + ε)`, `x̂ = x r` and `g = dy γ` per row:
//! `dx = r (g − x̂ mean(g x̂))`, `dγ = Σ_rows dy x̂`. The forward keeps only its inputs; the
//! backward recomputes `r` (one dot product per row).

use burn::backend::autodiff::Autodiff;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::tensor::FloatTensor;
use burn::backend::{Backend, Dispatch, Flex, backend_extension};
use burn::prelude::*;
use burn_flex::FlexTensor;
use rayon::prelude::*;

use super::flex_rows::{rows_per_task, tensor, values, zeroed};
use super::{fused_kernels_apply, register_grads, simd_math};

/// RMSNorm as one backend operation.
#[backend_extension(Flex, Autodiff)]
pub trait RmsNormOps: Backend {
    /// # Shapes
    /// - x: `[..., d]`, gamma: `[d]`, output: as x
    fn fused_rms_norm(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        epsilon: f64,
    ) -> FloatTensor<Self>;
}

/// The backward kernel of [`RmsNormOps`] on a backend that has one.
pub trait RmsNormBackward: Backend {
    /// `(dx, dγ)` for the output gradient `grad`.
    ///
    /// # Shapes
    /// - x, grad: `[..., d]`, gamma: `[d]`; output: `(dx as x, dγ [d])`
    fn fused_rms_norm_backward(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        epsilon: f64,
    ) -> (FloatTensor<Self>, FloatTensor<Self>);
}

/// RMSNorm of `x` over its last dimension with weight `gamma` (burn's
/// [`RmsNorm`](burn::nn::RmsNorm) arithmetic), fused on the CPU backend.
///
/// # Shapes
/// - x: `[..., d]`, gamma: `[d]`, output: as x
pub fn rms_norm<const D: usize>(x: Tensor<D>, gamma: Tensor<1>, epsilon: f64) -> Tensor<D> {
    if !fused_kernels_apply(&x) {
        let rms = (x.clone().square().mean_dim(D - 1) + epsilon).sqrt();
        return (x / rms) * gamma.unsqueeze();
    }
    Tensor::from_dispatch(<Dispatch as RmsNormOps>::fused_rms_norm(
        x.into_dispatch(),
        gamma.into_dispatch(),
        epsilon,
    ))
}

/// `1 / sqrt(mean(row²) + ε)`.
#[inline]
fn inv_rms(row: &[f32], epsilon: f32) -> f32 {
    let ms = simd_math::dot(row, row) / row.len() as f32;
    1.0 / (ms + epsilon).sqrt()
}

impl RmsNormOps for Flex {
    fn fused_rms_norm(x: FlexTensor, gamma: FlexTensor, epsilon: f64) -> FlexTensor {
        let shape = x.layout().shape().clone();
        let xs = values(&x);
        let g = values(&gamma);
        let d = g.len();
        let eps = epsilon as f32;
        let mut out = zeroed(xs.len());
        let step = rows_per_task(xs.len() / d.max(1), d) * d;
        out.par_chunks_mut(step)
            .zip(xs.par_chunks(step))
            .for_each(|(o, xi)| {
                for (orow, xrow) in o.chunks_exact_mut(d).zip(xi.chunks_exact(d)) {
                    let r = inv_rms(xrow, eps);
                    for ((o, &v), &w) in orow.iter_mut().zip(xrow).zip(g.iter()) {
                        *o = v * r * w;
                    }
                }
            });
        tensor(out, shape)
    }
}

impl RmsNormBackward for Flex {
    fn fused_rms_norm_backward(
        x: FlexTensor,
        gamma: FlexTensor,
        grad: FlexTensor,
        epsilon: f64,
    ) -> (FlexTensor, FlexTensor) {
        let shape = x.layout().shape().clone();
        let xs = values(&x);
        let dy = values(&grad);
        let g = values(&gamma);
        let d = g.len();
        let eps = epsilon as f32;
        let mut dx = zeroed(xs.len());
        let step = rows_per_task(xs.len() / d.max(1), d) * d;
        let dgamma = dx
            .par_chunks_mut(step)
            .zip(xs.par_chunks(step).zip(dy.par_chunks(step)))
            .map(|(dxc, (xc, dyc))| {
                let mut dg = vec![0f32; d];
                let mut gx = vec![0f32; d];
                for ((dxr, xr), dyr) in dxc
                    .chunks_exact_mut(d)
                    .zip(xc.chunks_exact(d))
                    .zip(dyc.chunks_exact(d))
                {
                    let r = inv_rms(xr, eps);
                    for ((gx, &dy), &w) in gx.iter_mut().zip(dyr).zip(g.iter()) {
                        *gx = dy * w;
                    }
                    let c = simd_math::dot(&gx, xr) * r * r / d as f32;
                    for (((dx, &gx), &x), (dg, &dy)) in
                        dxr.iter_mut().zip(&gx).zip(xr).zip(dg.iter_mut().zip(dyr))
                    {
                        *dx = r * (gx - x * c);
                        *dg += dy * x * r;
                    }
                }
                dg
            })
            .reduce(
                || vec![0f32; d],
                |mut a, b| {
                    a.iter_mut().zip(&b).for_each(|(a, b)| *a += b);
                    a
                },
            );
        (tensor(dx, shape), tensor(dgamma, [d].into()))
    }
}

impl<B: Backend + RmsNormOps + RmsNormBackward, C: CheckpointStrategy> RmsNormOps
    for Autodiff<B, C>
{
    fn fused_rms_norm(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        epsilon: f64,
    ) -> FloatTensor<Self> {
        #[derive(Debug)]
        struct RmsNormStep {
            epsilon: f64,
        }

        impl<B: Backend + RmsNormBackward> Backward<B, 2> for RmsNormStep {
            type State = (FloatTensor<B>, FloatTensor<B>);

            fn backward(
                self,
                ops: Ops<Self::State, 2>,
                grads: &mut Gradients,
                _checkpointer: &mut Checkpointer,
            ) {
                let grad = grads.consume::<B>(&ops.node);
                let (x, gamma) = ops.state;
                let (dx, dgamma) = B::fused_rms_norm_backward(x, gamma, grad, self.epsilon);
                let parents = ops.parents.map(|p| p.map(|node| node.id));
                register_grads::<B, 2>(grads, parents, [dx, dgamma]);
            }
        }

        let step = RmsNormStep { epsilon };
        match step
            .prepare::<C>([x.node(), gamma.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let (x, gamma) = (x.into_primitive(), gamma.into_primitive());
                let out = B::fused_rms_norm(x.clone(), gamma.clone(), epsilon);
                prep.finish((x, gamma), out)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::fused_rms_norm(
                x.into_primitive(),
                gamma.into_primitive(),
                epsilon,
            )),
        }
    }
}
