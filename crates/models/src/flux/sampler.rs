//! Samplers for rectified-flow models, generic over a velocity function `v(x_σ, σ)`:
//! the SD3/FLUX time-shifted schedule, the Euler ODE sampler and Flow-GRPO's SDE sampler with
//! per-step Gaussian log-probabilities (plus the log-prob of a recorded transition under a
//! new velocity, for the GRPO ratio).

use burn::prelude::*;
use prefopt_core::SplitMix64;

use super::flow_matching::{seeded_normal, time_shift};
use crate::error::{ModelError, Result};

/// The sampling schedule: `σ̂ = linspace(1, 1/steps, steps)` time-shifted by `shift`, then a
/// final 0 (what FluxPipeline + `FlowMatchEulerDiscreteScheduler` produce; equal to
/// Pref-GRPO's shifted `linspace(1, 0, steps+1)`). `steps + 1` values, decreasing.
pub fn time_shifted_schedule(steps: usize, shift: f64) -> Vec<f32> {
    let mut sigmas: Vec<f32> = (0..steps)
        .map(|i| {
            let s = 1.0 - i as f64 / steps as f64;
            time_shift(s, shift) as f32
        })
        .collect();
    sigmas.push(0.0);
    sigmas
}

/// FLUX.1's resolution-dependent shift `e^μ`, μ linear in the image token count from 0.5 at
/// 256 tokens to 1.15 at 4096 (`calculate_shift` with the FLUX.1-dev scheduler config).
pub fn flux_resolution_shift(image_tokens: usize) -> f64 {
    let m = (1.15 - 0.5) / (4096.0 - 256.0);
    let b = 0.5 - m * 256.0;
    (image_tokens as f64 * m + b).exp()
}

/// The clean-sample prediction `x̂₀ = x − σ·v`.
pub fn predicted_x0<const D: usize>(x: Tensor<D>, v: Tensor<D>, sigma: f32) -> Tensor<D> {
    x - v.mul_scalar(sigma)
}

fn check_schedule(sigmas: &[f32]) -> Result<()> {
    if sigmas.len() < 2 {
        return Err(ModelError::InvalidInput(
            "a sampling schedule needs at least 2 noise levels".into(),
        ));
    }
    if sigmas.windows(2).any(|w| w[1] >= w[0]) || sigmas.iter().any(|s| !(0.0..=1.0).contains(s)) {
        return Err(ModelError::InvalidInput(format!(
            "noise levels must decrease strictly within [0, 1], got {sigmas:?}"
        )));
    }
    Ok(())
}

/// Euler ODE sampling: `x_{i+1} = x_i + (σ_{i+1} − σ_i)·v(x_i, σ_i)`. Returns the final
/// sample (at `σ = sigmas.last()`, normally 0).
///
/// # Shapes
/// - noise: `[b, …]` (the sample at `sigmas[0]`)
/// - output: `[b, …]`
pub fn euler_sample<const D: usize>(
    noise: Tensor<D>,
    sigmas: &[f32],
    mut velocity: impl FnMut(Tensor<D>, f32) -> Result<Tensor<D>>,
) -> Result<Tensor<D>> {
    check_schedule(sigmas)?;
    let mut x = noise;
    for w in sigmas.windows(2) {
        let v = velocity(x.clone(), w[0])?;
        x = x + v.mul_scalar(w[1] - w[0]);
    }
    Ok(x)
}

/// How the per-step Gaussian log-density is reduced over a sample's elements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum LogProbReduction {
    /// Mean over elements (Flow-GRPO / Pref-GRPO; ratios are per-element geometric means).
    #[default]
    Mean,
    /// Sum over elements (the exact log-density of the transition).
    Sum,
}

/// The Gaussian transition of one SDE step: `x_{i+1} ~ N(mean, std²)`.
#[derive(Debug, Clone)]
pub struct SdeTransition<const D: usize> {
    /// Mean of the next sample, `[b, …]`.
    pub mean: Tensor<D>,
    /// Flow-GRPO's `std_dev_t = η·√(σ/(1−σ))` (σ = 1 replaced by `sigmas[1]` in the ratio).
    pub std_dev_t: f64,
    /// Standard deviation of the transition, `std_dev_t·√(σ_i − σ_{i+1})`.
    pub std: f64,
}

/// Flow-GRPO's SDE step (`sde_step_with_logprob`, `sde_type="sde"`) from `x = x_i` with
/// velocity `v` at step `i` of `sigmas`:
/// `mean = x·(1 + std_dev_t²/(2σ)·dt) + v·(1 + std_dev_t²·(1−σ)/(2σ))·dt`, `dt = σ_{i+1} − σ_i`.
/// With `eta = 0` it is the Euler step.
pub fn sde_transition<const D: usize>(
    x: Tensor<D>,
    v: Tensor<D>,
    sigmas: &[f32],
    i: usize,
    eta: f64,
) -> Result<SdeTransition<D>> {
    if i + 1 >= sigmas.len() {
        return Err(ModelError::InvalidInput(format!(
            "SDE step {i} is outside a schedule of {} noise levels",
            sigmas.len()
        )));
    }
    if !(eta >= 0.0 && eta.is_finite()) {
        return Err(ModelError::InvalidInput(format!(
            "SDE noise level eta must be finite and >= 0, got {eta}"
        )));
    }
    let sigma = f64::from(sigmas[i]);
    let sigma_next = f64::from(sigmas[i + 1]);
    if sigma <= 0.0 {
        return Err(ModelError::InvalidInput(format!(
            "SDE step {i} starts at sigma {sigma}; it must be positive"
        )));
    }
    let sigma_max = f64::from(sigmas[1.min(sigmas.len() - 1)]);
    let denom_sigma = if sigma == 1.0 { sigma_max } else { sigma };
    let std_dev_t = eta * (sigma / (1.0 - denom_sigma)).sqrt();
    let dt = sigma_next - sigma;
    let var = std_dev_t * std_dev_t;
    let cx = 1.0 + var / (2.0 * sigma) * dt;
    let cv = (1.0 + var * (1.0 - sigma) / (2.0 * sigma)) * dt;
    Ok(SdeTransition {
        mean: x.mul_scalar(cx as f32) + v.mul_scalar(cv as f32),
        std_dev_t,
        std: std_dev_t * (-dt).sqrt(),
    })
}

/// `log N(next; mean, std²)` per sample, reduced over all non-batch elements.
///
/// # Shapes
/// - next, mean: `[b, …]`
/// - output: `[b]`
pub fn gaussian_log_prob<const D: usize>(
    next: Tensor<D>,
    mean: Tensor<D>,
    std: f64,
    reduction: LogProbReduction,
) -> Result<Tensor<1>> {
    if !(std > 0.0 && std.is_finite()) {
        return Err(ModelError::InvalidInput(format!(
            "the transition's standard deviation is {std}; the log-prob needs it positive (eta > 0)"
        )));
    }
    let shape = next.dims();
    let b = shape[0];
    let n: usize = shape[1..].iter().product();
    let constant = std.ln() + 0.5 * (2.0 * std::f64::consts::PI).ln();
    let per_element = (next - mean)
        .powi_scalar(2)
        .div_scalar((2.0 * std * std) as f32)
        .neg()
        .sub_scalar(constant as f32)
        .reshape([b, n]);
    Ok(match reduction {
        LogProbReduction::Mean => per_element.mean_dim(1),
        LogProbReduction::Sum => per_element.sum_dim(1),
    }
    .reshape([b]))
}

/// Settings of the Flow-GRPO SDE sampler.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SdeSamplerConfig {
    /// Noise level η (Pref-GRPO: 0.7).
    pub eta: f64,
    /// Reduction of the per-step log-prob.
    pub reduction: LogProbReduction,
}

impl Default for SdeSamplerConfig {
    fn default() -> Self {
        Self {
            eta: 0.7,
            reduction: LogProbReduction::Mean,
        }
    }
}

/// A sampled trajectory: what GRPO training needs to recompute each step's log-prob.
#[derive(Debug, Clone)]
pub struct SdeTrajectory<const D: usize> {
    /// The noise levels used (`steps + 1`).
    pub sigmas: Vec<f32>,
    /// `x_0 … x_steps` (the first is the initial noise, the last the final sample), each
    /// `[b, …]`.
    pub latents: Vec<Tensor<D>>,
    /// Per-step log-prob of the transition taken, `[b, steps]`.
    pub log_probs: Tensor<2>,
    /// `x̂₀` predicted at the last step (Pref-GRPO's final image), `[b, …]`.
    pub final_x0: Tensor<D>,
}

/// Flow-GRPO SDE sampling from `noise` (at `sigmas[0]`), drawing the per-step noise from
/// `rng` (seeded, host-drawn, deterministic). Records every latent and each step's
/// log-prob; the velocity runs without gradients as far as the caller's tensors allow (pass
/// a non-autodiff model for rollouts).
///
/// # Shapes
/// - noise: `[b, …]`
pub fn sde_sample<const D: usize>(
    noise: Tensor<D>,
    sigmas: &[f32],
    config: SdeSamplerConfig,
    rng: &mut SplitMix64,
    mut velocity: impl FnMut(Tensor<D>, f32) -> Result<Tensor<D>>,
) -> Result<SdeTrajectory<D>> {
    check_schedule(sigmas)?;
    let device = noise.device();
    let shape = noise.dims();
    let mut latents = vec![noise];
    let mut log_probs = Vec::with_capacity(sigmas.len() - 1);
    let mut final_x0 = None;
    for i in 0..sigmas.len() - 1 {
        let x = latents[i].clone();
        let v = velocity(x.clone(), sigmas[i])?;
        if i + 2 == sigmas.len() {
            final_x0 = Some(predicted_x0(x.clone(), v.clone(), sigmas[i]));
        }
        let step = sde_transition(x, v, sigmas, i, config.eta)?;
        let eps = seeded_normal(shape, rng, &device);
        let next = step.mean.clone() + eps.mul_scalar(step.std as f32);
        log_probs.push(gaussian_log_prob(
            next.clone(),
            step.mean,
            step.std,
            config.reduction,
        )?);
        latents.push(next);
    }
    let final_x0 = final_x0.unwrap_or_else(|| latents[latents.len() - 1].clone());
    Ok(SdeTrajectory {
        sigmas: sigmas.to_vec(),
        latents,
        log_probs: Tensor::stack(log_probs, 1),
        final_x0,
    })
}

/// The log-prob of a recorded transition `x_i → x_{i+1}` under a (possibly updated)
/// velocity: recomputes the SDE mean with `velocity(x_i, σ_i)` (with gradients, if the
/// velocity has them) and evaluates the Gaussian at the stored `x_{i+1}`. This is the
/// numerator of the GRPO ratio.
///
/// # Shapes
/// - x, next: `[b, …]`
/// - output: `[b]`
pub fn transition_log_prob<const D: usize>(
    x: Tensor<D>,
    next: Tensor<D>,
    sigmas: &[f32],
    i: usize,
    config: SdeSamplerConfig,
    velocity: impl FnOnce(Tensor<D>, f32) -> Result<Tensor<D>>,
) -> Result<Tensor<1>> {
    check_schedule(sigmas)?;
    let sigma = *sigmas
        .get(i)
        .ok_or_else(|| ModelError::InvalidInput(format!("step {i} is outside the schedule")))?;
    let v = velocity(x.clone(), sigma)?;
    let step = sde_transition(x, v, sigmas, i, config.eta)?;
    gaussian_log_prob(next, step.mean, step.std, config.reduction)
}

/// Initial noise for `prompts × group_size` samples, ordered prompt-major
/// (`[p0 g0, p0 g1, …, p1 g0, …]`). `sample_shape` is one sample as a batch of one
/// (`[1, …]`). With `same_noise`, all samples of a group share one draw (Pref-GRPO's
/// `init_same_noise`).
///
/// # Shapes
/// - output: `[prompts · group_size, …]`
pub fn group_initial_noise<const D: usize>(
    prompts: usize,
    group_size: usize,
    sample_shape: [usize; D],
    same_noise: bool,
    rng: &mut SplitMix64,
    device: &Device,
) -> Result<Tensor<D>> {
    if sample_shape.first() != Some(&1) {
        return Err(ModelError::InvalidInput(format!(
            "sample_shape must start with a batch of 1, got {sample_shape:?}"
        )));
    }
    let n: usize = sample_shape.iter().product();
    let total = prompts
        .checked_mul(group_size)
        .and_then(|b| b.checked_mul(n))
        .ok_or_else(|| ModelError::InvalidInput("initial noise size overflows".into()))?;
    let mut data = Vec::with_capacity(total);
    for _ in 0..prompts {
        if same_noise {
            let draw: Vec<f32> = (0..n).map(|_| rng.next_normal()).collect();
            for _ in 0..group_size {
                data.extend_from_slice(&draw);
            }
        } else {
            data.extend((0..group_size * n).map(|_| rng.next_normal()));
        }
    }
    let mut shape = sample_shape;
    shape[0] = prompts * group_size;
    Ok(Tensor::from_data(TensorData::new(data, shape), device))
}
