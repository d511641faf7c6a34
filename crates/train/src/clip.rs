//! Global-norm gradient clipping, equal to `torch.nn.utils.clip_grad_norm_`.
//!
//! Burn's `GradientClipping::Norm` clips each parameter tensor by its own norm, which is not what
//! PyTorch/TRL do. Here the norm is the L2 norm of *all* gradients taken together:
//!
//! ```text
//! total = sqrt(Σ_params Σ_elements g²)
//! coef  = min(max_norm / (total + 1e-6), 1)      (computed in f32, as torch does for f32 grads)
//! g     = g · coef
//! ```
//!
//! The squared sums stay on the device and are added there; the single host read-back per step
//! is the total norm, which is also what the loop logs as `grad_norm`.

use std::collections::HashSet;

use burn::module::{Module, ModuleVisitor, Param, ParamId};
use burn::optim::GradientsParams;
use burn::tensor::{FloatDType, Tensor};

/// The L2 norm of all gradients in `grads` that belong to parameters of `model` (one host sync).
///
/// A parameter reached twice (tied weights) is counted once, like torch's `model.parameters()`.
/// Norms are accumulated in f32 whatever the gradient dtype. Returns 0 when there is no gradient.
pub fn global_grad_norm<M: Module>(model: &M, grads: &GradientsParams) -> f64 {
    let mut visitor = SquaredSum {
        grads,
        seen: HashSet::new(),
        sum: None,
    };
    model.visit(&mut visitor);
    match visitor.sum {
        Some(sum) => f64::from(sum.sqrt().into_scalar::<f32>()),
        None => 0.0,
    }
}

/// Clips `grads` in place to a global L2 norm of at most `max_norm`, like
/// `torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)`; returns the norm *before*
/// clipping (log it as `grad_norm`).
///
/// A non-finite norm is returned as is and the gradients are scaled by NaN, as torch does with
/// `error_if_nonfinite=False`; the metrics guard ([`check_finite`](crate::check_finite)) stops
/// the loop at that step. `max_norm = f64::INFINITY` only measures.
///
/// # Panics
/// If `max_norm` is not positive.
pub fn clip_grad_norm<M: Module>(model: &M, grads: &mut GradientsParams, max_norm: f64) -> f64 {
    assert!(max_norm > 0.0, "max_norm must be > 0, got {max_norm}");
    let total = global_grad_norm(model, grads);
    if max_norm.is_infinite() && total.is_finite() {
        return total;
    }
    let coef = clip_coefficient(total, max_norm);
    if coef < 1.0 || coef.is_nan() {
        let mut visitor = Scale {
            grads,
            seen: HashSet::new(),
            coef: f64::from(coef),
        };
        model.visit(&mut visitor);
    }
    total
}

/// torch's `clamp(max_norm / (total_norm + 1e-6), max=1.0)`, in f32.
fn clip_coefficient(total: f64, max_norm: f64) -> f32 {
    let coef = max_norm as f32 / (total as f32 + 1e-6_f32);
    if coef.is_nan() { coef } else { coef.min(1.0) }
}

struct SquaredSum<'a> {
    grads: &'a GradientsParams,
    seen: HashSet<ParamId>,
    sum: Option<Tensor<1>>,
}

impl ModuleVisitor for SquaredSum<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if !self.seen.insert(param.id) {
            return;
        }
        if let Some(grad) = self.grads.get::<D>(param.id) {
            let squared = grad.cast(FloatDType::F32).square().sum();
            self.sum = Some(match self.sum.take() {
                Some(acc) => acc + squared,
                None => squared,
            });
        }
    }
}

struct Scale<'a> {
    grads: &'a mut GradientsParams,
    seen: HashSet<ParamId>,
    coef: f64,
}

impl ModuleVisitor for Scale<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if !self.seen.insert(param.id) {
            return;
        }
        if let Some(grad) = self.grads.remove::<D>(param.id) {
            self.grads
                .register::<D>(param.id, grad.mul_scalar(self.coef));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coefficient_matches_torch_formula() {
        // 5.87367 > 1: coef = 1 / (5.87367 + 1e-6)
        let c = clip_coefficient(5.873_670_101_165_771_5, 1.0);
        assert!(
            (f64::from(c) - 1.0 / 5.873_671_101_165_771).abs() < 1e-7,
            "{c}"
        );
        // Below the threshold the coefficient clamps to exactly 1.
        assert_eq!(clip_coefficient(0.5, 1.0), 1.0);
        // torch's quirk: a norm within 1e-6 under max_norm is still scaled (by ~1 - 1e-6).
        assert!(clip_coefficient(1.0, 1.0) < 1.0);
        assert!(clip_coefficient(f64::NAN, 1.0).is_nan());
    }
}
