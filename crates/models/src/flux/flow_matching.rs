//! The rectified-flow (flow-matching) training objective, as pure tensor functions:
//! `x_σ = (1−σ)·x₀ + σ·ε`, target `v* = ε − x₀`, loss `mean((v_θ − v*)²)`.

use burn::prelude::*;
use prefopt_core::SplitMix64;

use crate::error::{ModelError, Result};

/// How training noise levels σ are drawn (diffusers' `compute_density_for_timestep_sampling`),
/// before the time shift.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum TimestepSampling {
    /// σ ~ U(0, 1).
    Uniform,
    /// σ = sigmoid(N(mean, std)) (SD3's choice: mean 0, std 1).
    LogitNormal {
        /// Mean of the normal.
        mean: f64,
        /// Standard deviation of the normal.
        std: f64,
    },
}

/// The SD3/FLUX time shift `σ' = s·σ / (1 + (s−1)·σ)` (s = 1 leaves σ unchanged; s > 1 moves
/// mass to high noise). FLUX's resolution-dependent shift is `s = e^μ` (see
/// [`crate::flux_resolution_shift`]).
pub fn time_shift(sigma: f64, shift: f64) -> f64 {
    shift * sigma / (1.0 + (shift - 1.0) * sigma)
}

/// `n` training noise levels: drawn by `sampling`, then time-shifted by `shift`; each in
/// (0, 1).
pub fn sample_sigmas(
    n: usize,
    sampling: TimestepSampling,
    shift: f64,
    rng: &mut SplitMix64,
) -> Vec<f32> {
    (0..n)
        .map(|_| {
            let u = match sampling {
                TimestepSampling::Uniform => rng.next_f64(),
                TimestepSampling::LogitNormal { mean, std } => {
                    let z = mean + std * f64::from(rng.next_normal());
                    1.0 / (1.0 + (-z).exp())
                }
            };
            time_shift(u, shift) as f32
        })
        .collect()
}

/// A standard-normal tensor from a seeded generator (host-drawn, so identical on every
/// backend and run).
pub fn seeded_normal<const D: usize>(
    shape: [usize; D],
    rng: &mut SplitMix64,
    device: &Device,
) -> Tensor<D> {
    let n: usize = shape.iter().product();
    let data: Vec<f32> = (0..n).map(|_| rng.next_normal()).collect();
    Tensor::from_data(TensorData::new(data, shape), device)
}

/// `[b]` σ broadcast to the rank of a batch `[b, …]`.
pub(crate) fn per_sample<const D: usize>(sigma: Tensor<1>) -> Tensor<D> {
    let [b] = sigma.dims();
    let mut shape = [1usize; D];
    shape[0] = b;
    sigma.reshape(shape)
}

/// The noisy sample `x_σ = (1−σ)·x₀ + σ·ε`, σ per sample.
///
/// # Shapes
/// - x0, noise: `[b, …]`
/// - sigma: `[b]`
/// - output: `[b, …]`
pub fn noisy_sample<const D: usize>(
    x0: Tensor<D>,
    noise: Tensor<D>,
    sigma: Tensor<1>,
) -> Tensor<D> {
    let s = per_sample::<D>(sigma);
    x0 * (s.clone().neg().add_scalar(1.0)) + noise * s
}

/// The regression target `v* = ε − x₀`.
///
/// # Shapes
/// - x0, noise: `[b, …]`
/// - output: `[b, …]`
pub fn velocity_target<const D: usize>(x0: Tensor<D>, noise: Tensor<D>) -> Tensor<D> {
    noise - x0
}

/// The flow-matching loss: mean over all elements of `(v_θ − v*)²` (diffusers' weighting
/// `none`).
///
/// # Shapes
/// - predicted, target: `[b, …]`
/// - output: `[1]`
pub fn flow_matching_loss<const D: usize>(predicted: Tensor<D>, target: Tensor<D>) -> Tensor<1> {
    (predicted - target).powi_scalar(2).mean()
}

/// One training batch of flow matching: the noisy input, its σ and the target.
#[derive(Debug, Clone)]
pub struct FlowMatchingBatch<const D: usize> {
    /// `x_σ`, `[b, …]`.
    pub noisy: Tensor<D>,
    /// σ per sample, `[b]` (pass as the model's `timestep`).
    pub sigma: Tensor<1>,
    /// `v* = ε − x₀`, `[b, …]`.
    pub target: Tensor<D>,
}

impl<const D: usize> FlowMatchingBatch<D> {
    /// Draws σ (by `sampling` and `shift`) and ε from `rng` for clean samples `x0`.
    pub fn new(
        x0: Tensor<D>,
        sampling: TimestepSampling,
        shift: f64,
        rng: &mut SplitMix64,
    ) -> Result<Self> {
        let shape = x0.dims();
        let device = x0.device();
        if shape[0] == 0 {
            return Err(ModelError::InvalidInput("empty flow-matching batch".into()));
        }
        let sigmas = sample_sigmas(shape[0], sampling, shift, rng);
        let sigma = Tensor::<1>::from_data(TensorData::new(sigmas, [shape[0]]), &device);
        let noise = seeded_normal(shape, rng, &device);
        Ok(Self {
            noisy: noisy_sample(x0.clone(), noise.clone(), sigma.clone()),
            sigma,
            target: velocity_target(x0, noise),
        })
    }
}
