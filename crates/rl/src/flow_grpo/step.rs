//! One Flow-GRPO step's pieces: the rollout (SDE sampling with the old policy, no grad), the
//! timesteps trained per image, and the loss of one image (its trained timesteps re-scored
//! under the current model with gradients).

use burn::prelude::*;
use prefopt_core::SplitMix64;
use prefopt_models::{
    FluxPipelineModel, FluxRope, TextConditioning, gaussian_log_prob, group_initial_noise,
    sde_sample, sde_transition, time_shifted_schedule,
};

use super::config::FlowGrpoConfig;
use super::env::FlowPrompt;
use crate::advantage::{AdvantageEstimator, nan_std};
use crate::error::{Error, Result};
use crate::grpo_loss::{GrpoLoss, GrpoLossInput};

/// The random stream of `(seed, step, purpose)`: every draw of a step is a function of these,
/// so a resumed run repeats the uninterrupted one.
pub(crate) fn stream(seed: u64, step: u64, purpose: u64) -> SplitMix64 {
    let per_step = SplitMix64::for_stream(seed ^ 0xF10A_6290, step).next_u64();
    SplitMix64::for_stream(per_step, purpose)
}

/// `count` distinct timesteps out of `0..steps − 1` (the last transition is never trained), a
/// seeded permutation's first `count`, as the reference code.
pub fn train_timesteps(rng: &mut SplitMix64, steps: usize, count: usize) -> Vec<usize> {
    let mut all: Vec<usize> = (0..steps.saturating_sub(1)).collect();
    for i in (1..all.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        all.swap(i, j);
    }
    all.truncate(count);
    all
}

/// The mean over groups of G of each group's unbiased std (the paper's Fig. 1a "within-group
/// reward std"); NaN-aware, NaN when no group has two scores.
pub fn group_std_mean(values: &[f64], group_size: usize) -> f64 {
    let stds: Vec<f64> = values
        .chunks(group_size)
        .map(nan_std)
        .filter(|s| s.is_finite())
        .collect();
    if stds.is_empty() {
        f64::NAN
    } else {
        stds.iter().sum::<f64>() / stds.len() as f64
    }
}

/// What the old policy sampled for one step's prompts (prompt-major, G per prompt).
#[derive(Debug, Clone)]
pub struct Rollout {
    /// The noise levels (`sampling_steps + 1`).
    pub sigmas: Vec<f32>,
    /// `x_0 … x_T`, each `[n, N, 4c]` on the rollout device.
    pub latents: Vec<Tensor<3>>,
    /// The text conditioning of every image (rollout device).
    pub text: TextConditioning,
    /// Old log-probs, row-major `[n, T]`.
    pub old_log_probs: Vec<f32>,
    /// The final images `x̂₀`, row-major `[n, c, h, w]`.
    pub pixels: Vec<f32>,
    /// `[n, c, h, w]`.
    pub shape: [usize; 4],
}

impl Rollout {
    /// Images in the rollout.
    pub fn len(&self) -> usize {
        self.shape[0]
    }

    /// Whether it holds no image.
    pub fn is_empty(&self) -> bool {
        self.shape[0] == 0
    }
}

/// The loss of one image over its trained timesteps, with detached statistics.
#[derive(Debug, Clone)]
pub struct ImageLoss {
    /// Clipped ratio loss (mean over the timesteps) + β·KL, `[1]`, tracked.
    pub loss: Tensor<1>,
    /// Importance ratios `exp(log p_θ − log p_old)`, one per trained timestep.
    pub ratios: Vec<f64>,
    /// Share of timesteps whose ratio was clipped where it matters.
    pub clip_fraction: f64,
    /// Mean over the timesteps of ‖μ_θ − μ_ref‖²/(2σ²) (element mean), when there is a
    /// reference.
    pub kl: Option<f64>,
}

/// A validated Flow-GRPO step: the settings, the clipped ratio loss and the advantages.
#[derive(Debug, Clone)]
pub struct FlowGrpoStep {
    config: FlowGrpoConfig,
    loss: GrpoLoss,
    estimator: AdvantageEstimator,
}

fn host(t: Tensor<2>) -> Result<Vec<f32>> {
    t.into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .map_err(|e| Error::InvalidInput(format!("reading a tensor back: {e:?}")))
}

fn moved<const D: usize>(t: &Tensor<D>, device: &Device) -> Tensor<D> {
    Tensor::from_data(t.to_data(), device)
}

impl FlowGrpoStep {
    /// Checks `config` and builds the step.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] naming the key.
    pub fn new(config: &FlowGrpoConfig) -> Result<Self> {
        config.validate()?;
        Ok(Self {
            config: config.clone(),
            loss: config.loss_config().init()?,
            estimator: config.advantage_config().init()?,
        })
    }

    /// The settings.
    pub fn config(&self) -> &FlowGrpoConfig {
        &self.config
    }

    /// The advantage estimator (group-normalised, weighted mix, clamp).
    pub fn estimator(&self) -> &AdvantageEstimator {
        &self.estimator
    }

    /// Samples G images per prompt with `policy` (no autodiff) on `device`, the initial noise
    /// from stream 1 and the SDE noise from stream 2 of `(seed, step)`.
    ///
    /// # Errors
    /// Model errors.
    pub fn rollout(
        &self,
        policy: &FluxPipelineModel,
        prompts: &[&FlowPrompt],
        seed: u64,
        step: u64,
        device: &Device,
    ) -> Result<Rollout> {
        let g = self.config.group_size;
        let ids: Vec<Vec<u32>> = prompts
            .iter()
            .flat_map(|p| std::iter::repeat_n(p.ids.clone(), g))
            .collect();
        let text = policy.encode_prompts(&ids, device)?;
        let rope = policy.rope(device)?;
        let spec = policy.image();
        let noise = group_initial_noise(
            prompts.len(),
            g,
            [1, spec.tokens(), 4 * spec.channels],
            self.config.init_same_noise,
            &mut stream(seed, step, 1),
            device,
        )?;
        let sigmas = time_shifted_schedule(self.config.sampling_steps, self.config.shift);
        let trajectory = sde_sample(
            noise,
            &sigmas,
            self.config.sampler(),
            &mut stream(seed, step, 2),
            policy.velocity_fn(&text, self.config.guidance, &rope),
        )?;
        let images = policy.unpack(trajectory.final_x0)?;
        let shape = images.dims();
        let [n, c, h, w] = shape;
        let pixels = host(images.reshape([n, c * h * w]))?;
        Ok(Rollout {
            sigmas,
            latents: trajectory.latents,
            text,
            old_log_probs: host(trajectory.log_probs)?,
            pixels,
            shape,
        })
    }

    /// The loss of image `k` of `rollout` at `timesteps` under `model` (autodiff, on
    /// `device`): per timestep the transition log-prob with gradients, the clipped ratio loss
    /// against the rollout's log-prob with `advantage`, and — with a `reference` (no autodiff,
    /// on the rollout device) — β·‖μ_θ − μ_ref‖²/(2σ²).
    ///
    /// # Errors
    /// Model errors, an image or timestep outside the rollout.
    #[allow(clippy::too_many_arguments)]
    pub fn image_loss(
        &self,
        model: &FluxPipelineModel,
        rope: &FluxRope,
        rollout: &Rollout,
        k: usize,
        timesteps: &[usize],
        advantage: f64,
        reference: Option<(&FluxPipelineModel, &FluxRope)>,
        device: &Device,
    ) -> Result<ImageLoss> {
        let steps = rollout.sigmas.len() - 1;
        if k >= rollout.len() || timesteps.is_empty() || timesteps.iter().any(|&i| i >= steps) {
            return Err(Error::InvalidInput(format!(
                "image {k} / timesteps {timesteps:?} are outside a rollout of {} images and {steps} steps",
                rollout.len()
            )));
        }
        let text_row = rollout.text.select(&[k]);
        let text = TextConditioning {
            sequence: moved(&text_row.sequence, device),
            pooled: moved(&text_row.pooled, device),
        };
        let eta = self.config.eta;
        let reduction = self.config.sampler().reduction;
        let mut logps = Vec::with_capacity(timesteps.len());
        let mut old = Vec::with_capacity(timesteps.len());
        let mut kls = Vec::new();
        for &i in timesteps {
            let x_host = rollout.latents[i].clone().narrow(0, k, 1);
            let next = moved(&rollout.latents[i + 1].clone().narrow(0, k, 1), device);
            let x = moved(&x_host, device);
            let sigma = Tensor::<1>::full([1], rollout.sigmas[i], device);
            let v = model.velocity(x.clone(), sigma, &text, self.config.guidance, rope)?;
            let transition = sde_transition(x, v, &rollout.sigmas, i, eta)?;
            logps.push(gaussian_log_prob(
                next,
                transition.mean.clone(),
                transition.std,
                reduction,
            )?);
            old.push(rollout.old_log_probs[k * steps + i]);
            if let Some((reference, ref_rope)) = reference {
                let host_device = x_host.device();
                let sigma = Tensor::<1>::full([1], rollout.sigmas[i], &host_device);
                let v_ref = reference.velocity(
                    x_host.clone(),
                    sigma,
                    &text_row,
                    self.config.guidance,
                    ref_rope,
                )?;
                let mean_ref = sde_transition(x_host, v_ref, &rollout.sigmas, i, eta)?.mean;
                let diff = transition.mean - moved(&mean_ref, device);
                let var = transition.std * transition.std;
                kls.push(diff.powi_scalar(2).mean().div_scalar((2.0 * var) as f32));
            }
        }
        let t = logps.len();
        let logps = Tensor::cat(logps, 0).reshape([1, t]);
        let old_t = Tensor::<2>::from_data(TensorData::new(old.clone(), [1, t]), device);
        let ratios: Vec<f64> = host(logps.clone().detach())?
            .iter()
            .zip(&old)
            .map(|(new, old)| f64::from(new - old).exp())
            .collect();
        let out = self.loss.forward(
            GrpoLossInput::new(
                logps,
                Tensor::<1>::from_data(TensorData::new(vec![advantage as f32], [1]), device),
                Tensor::<2>::ones([1, t], device),
            )
            .with_old_logps(old_t),
        )?;
        let clip_fraction = out.clip_ratio_region.clone().into_scalar::<f64>();
        let (loss, kl) = if kls.is_empty() {
            (out.loss, None)
        } else {
            let kl = Tensor::cat(kls, 0).mean();
            let value = kl.clone().detach().into_scalar::<f64>();
            (
                out.loss + kl.mul_scalar(self.config.kl_beta as f32),
                Some(value),
            )
        };
        Ok(ImageLoss {
            loss,
            ratios,
            clip_fraction,
            kl,
        })
    }
}
