//! The AdamW update of one parameter tensor in one pass, in place where the tensors are not
//! shared.
//!
//! PyTorch's single-tensor AdamW, in its order of operations: `p ← p (1 − lr λ)`,
//! `m ← lerp(m, g, 1 − β1)` (torch's CPU lerp formula switch at weight ½),
//! `v ← v β2 + (g (1 − β2)) g`, `p ← p − (m · lr / bc1) / (sqrt(v) / sqrt(bc2) + ε)`. The
//! composition of burn operations it replaces makes eleven passes over the parameter, each
//! allocating, on one core.

use burn::backend::tensor::FloatTensor;
use burn::backend::{Backend, Dispatch, Flex, backend_extension};
use burn::prelude::*;
use burn_flex::FlexTensor;
use rayon::prelude::*;

use super::flex_rows::dense;
use super::fused_kernels_apply;

/// Elements per rayon task.
const CHUNK: usize = 32_768;

/// The scalars of one AdamW step, with the bias corrections already computed on the host.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdamWScalars {
    /// `β1`.
    pub beta1: f64,
    /// `β2`.
    pub beta2: f64,
    /// `ε`, added to `sqrt(v̂)`.
    pub epsilon: f64,
    /// `1 − lr λ` (1 without weight decay).
    pub decay: f64,
    /// `lr / (1 − β1^t)`.
    pub step_size: f64,
    /// `sqrt(1 − β2^t)`.
    pub bias_correction2_sqrt: f64,
}

/// The AdamW update as one backend operation (no autodiff: optimizers work on plain tensors).
#[backend_extension(Flex)]
pub trait AdamWOps: Backend {
    /// `(param, m, v)` after one step.
    ///
    /// # Shapes
    /// - param, grad, m, v and the outputs: the same shape
    fn fused_adamw(
        param: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        m: FloatTensor<Self>,
        v: FloatTensor<Self>,
        scalars: AdamWScalars,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>);
}

/// One AdamW step of `param` with gradient `grad` and moments `m`, `v`; returns the new
/// `(param, m, v)`. Fused on the CPU backend; composed of burn operations elsewhere.
///
/// # Shapes
/// - param, grad, m, v and the outputs: the same shape
pub fn adamw_update<const D: usize>(
    param: Tensor<D>,
    grad: Tensor<D>,
    m: Tensor<D>,
    v: Tensor<D>,
    s: AdamWScalars,
) -> (Tensor<D>, Tensor<D>, Tensor<D>) {
    let same = param.dims() == grad.dims() && m.dims() == grad.dims() && v.dims() == grad.dims();
    if !(same && fused_kernels_apply(&param) && !param.is_autodiff()) {
        let param = if s.decay == 1.0 {
            param
        } else {
            param.mul_scalar(s.decay)
        };
        let weight = 1.0 - s.beta1;
        let m = if weight < 0.5 {
            m.clone() + (grad.clone() - m).mul_scalar(weight)
        } else {
            grad.clone() - (grad.clone() - m).mul_scalar(1.0 - weight)
        };
        let v = v.mul_scalar(s.beta2) + grad.clone().mul_scalar(1.0 - s.beta2) * grad;
        let denom = v
            .clone()
            .sqrt()
            .div_scalar(s.bias_correction2_sqrt)
            .add_scalar(s.epsilon);
        let param = param - m.clone().mul_scalar(s.step_size).div(denom);
        return (param, m, v);
    }
    let (p, m, v) = <Dispatch as AdamWOps>::fused_adamw(
        param.into_dispatch(),
        grad.into_dispatch(),
        m.into_dispatch(),
        v.into_dispatch(),
        s,
    );
    (
        Tensor::from_dispatch(p),
        Tensor::from_dispatch(m),
        Tensor::from_dispatch(v),
    )
}

impl AdamWOps for Flex {
    fn fused_adamw(
        param: FlexTensor,
        grad: FlexTensor,
        m: FlexTensor,
        v: FlexTensor,
        s: AdamWScalars,
    ) -> (FlexTensor, FlexTensor, FlexTensor) {
        let (mut param, mut m, mut v) = (dense(param), dense(m), dense(v));
        let g = super::flex_rows::values(&grad);
        let weight = (1.0 - s.beta1) as f32;
        let (beta2, one_minus_beta2) = (s.beta2 as f32, (1.0 - s.beta2) as f32);
        let (decay, step_size) = (s.decay as f32, s.step_size as f32);
        let (bc2, eps) = (s.bias_correction2_sqrt as f32, s.epsilon as f32);
        let apply_decay = s.decay != 1.0;
        let (ps, ms, vs) = (
            param.storage_mut::<f32>(),
            m.storage_mut::<f32>(),
            v.storage_mut::<f32>(),
        );
        ps.par_chunks_mut(CHUNK)
            .zip(ms.par_chunks_mut(CHUNK))
            .zip(vs.par_chunks_mut(CHUNK).zip(g.par_chunks(CHUNK)))
            .for_each(|((p, m), (v, g))| {
                for (((p, m), v), &g) in p.iter_mut().zip(m).zip(v).zip(g) {
                    if apply_decay {
                        *p *= decay;
                    }
                    *m = if weight < 0.5 {
                        *m + (g - *m) * weight
                    } else {
                        g - (g - *m) * (1.0 - weight)
                    };
                    *v = *v * beta2 + g * one_minus_beta2 * g;
                    let denom = v.sqrt() / bc2 + eps;
                    *p -= *m * step_size / denom;
                }
            });
        (param, m, v)
    }
}
