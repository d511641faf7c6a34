//! The GRPO loss family (`grpo`, `bnpo`, `dr_grpo`, `dapo`) as TRL's `GRPOTrainer` defines it.
//!
//! Pure: log-probs, advantages and a mask in; a scalar loss and detached metric tensors out. No
//! model calls, no I/O. The per-token loss is the clipped surrogate of PPO/GRPO
//! (DeepSeekMath Eq. 3) with asymmetric clipping (DAPO "clip-higher"), optional INTELLECT-2
//! two-sided clipping (`delta`), token- or sequence-level importance ratios (GSPO), and an
//! optional k3 KL penalty to a reference model; the aggregation over tokens is TRL's
//! `loss_type` (see `docs/grpo.md` for the table).

use std::collections::BTreeMap;

use burn::prelude::*;
use serde::{Deserialize, Serialize};

use crate::advantage::{AdvantageConfig, MultiObjectiveAggregation, ScaleRewards, TRL_STD_EPSILON};
use crate::error::{Error, Result};
use prefopt_core::invalid;

/// How per-token losses are aggregated into the scalar loss (TRL `loss_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GrpoLossType {
    /// (1/B) Σ_i [Σ_t m ℓ / Σ_t m] ÷ GA — DeepSeekMath Eq. 3's 1/G Σ 1/|o_i| (length-biased).
    Grpo,
    /// Σ_{i,t} m ℓ / Σ_{i,t} m over the micro-batch ÷ GA.
    Bnpo,
    /// Σ_{i,t} m ℓ / (B · `max_completion_length`) ÷ GA — Dr. GRPO (Liu et al. 2025), a constant
    /// normaliser.
    DrGrpo,
    /// Σ_{i,t} m ℓ / (N_tokens / num_processes), N_tokens = active tokens of the whole
    /// generation batch over all ranks — DAPO (Yu et al. 2025) token-level mean. TRL's default.
    #[default]
    Dapo,
}

/// Where the importance ratio ρ = π_θ/π_old lives (TRL `importance_sampling_level`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportanceSamplingLevel {
    /// One ρ per token (default).
    #[default]
    Token,
    /// GSPO (Zheng et al. 2025): one ρ per sequence, log ρ_i = mean over its active tokens of
    /// the token log-ratios.
    Sequence,
}

/// GRPO settings, TRL's `GRPOConfig` names (snake_case in TOML/JSON).
///
/// The loss uses `loss_type`, `epsilon`, `epsilon_high`, `delta`, `beta`,
/// `importance_sampling_level` and `max_completion_length`; the advantage fields are handed to
/// [`AdvantageConfig`] by [`GrpoLossConfig::advantage_config`]; `reward_weights` goes to
/// [`RewardSet::new`](crate::RewardSet::new); `mask_truncated_completions` is applied by the
/// caller with [`mask_truncated_completions`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GrpoLossConfig {
    /// Aggregation (default `dapo`).
    pub loss_type: GrpoLossType,
    /// ε_low: ρ is clipped below at 1 − ε (default 0.2).
    pub epsilon: f64,
    /// ε_high: ρ is clipped above at 1 + ε_high; `None` = `epsilon` (DAPO uses 0.28).
    pub epsilon_high: Option<f64>,
    /// INTELLECT-2 two-sided clipping: caps ρ at δ in the unclipped branch. `None` = off.
    pub delta: Option<f64>,
    /// KL coefficient β of the k3 penalty to the reference (default 0 = no reference needed).
    pub beta: f64,
    /// Token- or sequence-level (GSPO) importance ratio (default `token`).
    pub importance_sampling_level: ImportanceSamplingLevel,
    /// Longest completion the sampler may produce (default 512, TRL HEAD); `dr_grpo`'s
    /// normaliser.
    pub max_completion_length: usize,
    /// Zero the mask of completions that hit `max_completion_length` without EOS (default
    /// false). Their rewards still count in the group statistics.
    pub mask_truncated_completions: bool,
    /// G, completions per prompt (default 8).
    pub num_generations: usize,
    /// Std scaling of the advantages (default `group`).
    pub scale_rewards: ScaleRewards,
    /// ε added to the std (default 1e-4, TRL).
    pub advantage_epsilon: f64,
    /// Combination of several reward functions (default `sum_then_normalize`).
    pub multi_objective_aggregation: MultiObjectiveAggregation,
    /// One weight per reward function; `None` = all ones.
    pub reward_weights: Option<Vec<f64>>,
    /// Optional clamp of the advantages to [−c, c] (Pref-GRPO uses 5).
    pub advantage_clip: Option<f64>,
}

impl Default for GrpoLossConfig {
    fn default() -> Self {
        Self {
            loss_type: GrpoLossType::Dapo,
            epsilon: 0.2,
            epsilon_high: None,
            delta: None,
            beta: 0.0,
            importance_sampling_level: ImportanceSamplingLevel::Token,
            max_completion_length: 512,
            mask_truncated_completions: false,
            num_generations: 8,
            scale_rewards: ScaleRewards::Group,
            advantage_epsilon: TRL_STD_EPSILON,
            multi_objective_aggregation: MultiObjectiveAggregation::SumThenNormalize,
            reward_weights: None,
            advantage_clip: None,
        }
    }
}

impl GrpoLossConfig {
    /// The advantage half of this config.
    pub fn advantage_config(&self) -> AdvantageConfig {
        AdvantageConfig {
            num_generations: self.num_generations,
            scale_rewards: self.scale_rewards,
            advantage_epsilon: self.advantage_epsilon,
            multi_objective_aggregation: self.multi_objective_aggregation,
            advantage_clip: self.advantage_clip,
        }
    }

    /// Validates every field (the advantage ones included) and builds the loss.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] naming the offending field.
    pub fn init(&self) -> Result<GrpoLoss> {
        let finite_nonneg = |field: &'static str, v: f64| {
            if v.is_finite() && v >= 0.0 {
                Ok(())
            } else {
                Err(invalid::<Error>(
                    field,
                    format!("must be finite and ≥ 0, got {v}"),
                ))
            }
        };
        finite_nonneg("epsilon", self.epsilon)?;
        if let Some(e) = self.epsilon_high {
            finite_nonneg("epsilon_high", e)?;
        }
        finite_nonneg("beta", self.beta)?;
        let epsilon_high = self.epsilon_high.unwrap_or(self.epsilon);
        if let Some(d) = self.delta
            && !(d.is_finite() && d > 1.0 + epsilon_high)
        {
            return Err(invalid(
                "delta",
                format!(
                    "must be finite and > 1 + epsilon_high = {}, got {d}",
                    1.0 + epsilon_high
                ),
            ));
        }
        if self.max_completion_length == 0 {
            return Err(invalid("max_completion_length", "must be > 0"));
        }
        if let Some(w) = &self.reward_weights {
            if w.is_empty() {
                return Err(invalid("reward_weights", "must not be empty"));
            }
            if let Some(bad) = w.iter().find(|x| !x.is_finite()) {
                return Err(invalid(
                    "reward_weights",
                    format!("weights must be finite, got {bad}"),
                ));
            }
        }
        self.advantage_config().init()?;
        Ok(GrpoLoss {
            loss_type: self.loss_type,
            epsilon_low: self.epsilon,
            epsilon_high,
            delta: self.delta,
            beta: self.beta,
            level: self.importance_sampling_level,
            max_completion_length: self.max_completion_length,
        })
    }
}

/// A validated GRPO loss; see [`GrpoLossConfig`].
#[derive(Debug, Clone)]
pub struct GrpoLoss {
    loss_type: GrpoLossType,
    epsilon_low: f64,
    epsilon_high: f64,
    delta: Option<f64>,
    beta: f64,
    level: ImportanceSamplingLevel,
    max_completion_length: usize,
}

/// Inputs of one micro-batch. Build with [`GrpoLossInput::new`] and the `with_*` methods.
#[derive(Debug, Clone)]
pub struct GrpoLossInput {
    /// log π_θ per completion token (tracked), `[B, T]`.
    pub logps: Tensor<2>,
    /// log π_old per token, `[B, T]`; `None` = `logps.detach()` (TRL's μ = 1 case: ρ ≡ 1 in
    /// value, gradient ∇ log π).
    pub old_logps: Option<Tensor<2>>,
    /// log π_ref per token, `[B, T]`; required when β ≠ 0.
    pub ref_logps: Option<Tensor<2>>,
    /// Â per completion, `[B]`.
    pub advantages: Tensor<1>,
    /// 1 for completion tokens that count, 0 for padding (and for masked truncated
    /// completions), `[B, T]`.
    pub completion_mask: Tensor<2>,
    /// `dapo`: active tokens of the whole generation batch, summed over all ranks.
    pub num_items_in_batch: Option<f64>,
    /// `dapo`: number of data-parallel processes (default 1).
    pub num_processes: usize,
    /// `grpo`/`bnpo`/`dr_grpo`: micro-batches per optimizer step; the loss is divided by it
    /// (default 1).
    pub gradient_accumulation_steps: usize,
    /// `dapo`: micro-steps per generation batch; when set, the normaliser is multiplied by
    /// `gradient_accumulation_steps / steps_per_generation` (TRL 1.16). `None` = TRL's default
    /// `steps_per_generation = gradient_accumulation_steps`, a factor of 1.
    pub steps_per_generation: Option<usize>,
}

impl GrpoLossInput {
    /// Inputs with ρ ≡ 1 (old = detached current), no reference, one process, no accumulation.
    pub fn new(logps: Tensor<2>, advantages: Tensor<1>, completion_mask: Tensor<2>) -> Self {
        Self {
            logps,
            old_logps: None,
            ref_logps: None,
            advantages,
            completion_mask,
            num_items_in_batch: None,
            num_processes: 1,
            gradient_accumulation_steps: 1,
            steps_per_generation: None,
        }
    }

    /// Sets the sampling-time log-probs π_old.
    pub fn with_old_logps(mut self, old_logps: Tensor<2>) -> Self {
        self.old_logps = Some(old_logps);
        self
    }

    /// Sets the reference log-probs (needed when β ≠ 0).
    pub fn with_ref_logps(mut self, ref_logps: Tensor<2>) -> Self {
        self.ref_logps = Some(ref_logps);
        self
    }

    /// Sets the global active-token count of the generation batch (`dapo`).
    pub fn with_num_items_in_batch(mut self, n: f64) -> Self {
        self.num_items_in_batch = Some(n);
        self
    }

    /// Sets the number of data-parallel processes (`dapo`).
    pub fn with_num_processes(mut self, n: usize) -> Self {
        self.num_processes = n;
        self
    }

    /// Sets the gradient accumulation steps (`grpo`, `bnpo`, `dr_grpo`; `dapo` with
    /// [`GrpoLossInput::with_steps_per_generation`]).
    pub fn with_gradient_accumulation_steps(mut self, n: usize) -> Self {
        self.gradient_accumulation_steps = n;
        self
    }

    /// Sets the micro-steps per generation batch (`dapo`).
    pub fn with_steps_per_generation(mut self, n: usize) -> Self {
        self.steps_per_generation = Some(n);
        self
    }
}

/// The loss and its metrics (detached scalar tensors, `[1]` each; read them with
/// [`GrpoLossOutput::metrics`], which synchronises with the device).
#[derive(Debug, Clone)]
pub struct GrpoLossOutput {
    /// The scalar loss to back-propagate, `[1]`.
    pub loss: Tensor<1>,
    /// Share of (masked) tokens with ρ < 1 − ε_low and Â < 0 (`clip_ratio/low_mean`).
    pub clip_ratio_low: Tensor<1>,
    /// Share with ρ > 1 + ε_high and Â > 0 (`clip_ratio/high_mean`).
    pub clip_ratio_high: Tensor<1>,
    /// Share clipped either way (`clip_ratio/region_mean`).
    pub clip_ratio_region: Tensor<1>,
    /// Masked mean of the per-token k3 KL (`kl`), only when β ≠ 0.
    pub kl: Option<Tensor<1>>,
}

impl GrpoLossOutput {
    /// The metrics under TRL's names (reads back from the device).
    pub fn metrics(&self) -> BTreeMap<String, f64> {
        let read = |t: &Tensor<1>| t.clone().into_scalar::<f64>();
        let mut m = BTreeMap::new();
        m.insert("clip_ratio/low_mean".to_owned(), read(&self.clip_ratio_low));
        m.insert(
            "clip_ratio/high_mean".to_owned(),
            read(&self.clip_ratio_high),
        );
        m.insert(
            "clip_ratio/region_mean".to_owned(),
            read(&self.clip_ratio_region),
        );
        if let Some(kl) = &self.kl {
            m.insert("kl".to_owned(), read(kl));
        }
        m
    }
}

/// Schulman's k3 estimator of KL(π_θ ‖ π_ref) per token: e^(r − l) − (r − l) − 1 with
/// l = log π_θ, r = log π_ref. Always ≥ 0; exactly 0 where the two agree.
///
/// # Shapes
/// - `logps`, `ref_logps`: `[B, T]`
/// - output: `[B, T]`
pub fn k3_kl(logps: Tensor<2>, ref_logps: Tensor<2>) -> Tensor<2> {
    let diff = ref_logps - logps;
    diff.clone().exp() - diff - 1.0
}

/// Zeroes the mask rows of truncated completions (TRL `mask_truncated_completions`): such a
/// completion drops out of the loss and of the active-token count, but its reward still enters
/// its group's mean and std (rewards are computed before masking).
///
/// # Shapes
/// - `completion_mask`: `[B, T]`
/// - `truncated`: `B` flags (true = no EOS before `max_completion_length`)
/// - output: `[B, T]`
///
/// # Panics
/// If `truncated.len()` differs from `B`.
pub fn mask_truncated_completions(completion_mask: Tensor<2>, truncated: &[bool]) -> Tensor<2> {
    let [b, t] = completion_mask.dims();
    assert_eq!(truncated.len(), b, "one truncation flag per completion");
    let keep: Vec<f32> = truncated
        .iter()
        .map(|&tr| if tr { 0.0 } else { 1.0 })
        .collect();
    let keep = Tensor::<1>::from_data(TensorData::new(keep, [b]), &completion_mask.device())
        .reshape([b, 1])
        .repeat_dim(1, t);
    completion_mask * keep
}

impl GrpoLoss {
    /// The loss of one micro-batch.
    ///
    /// # Shapes
    /// - `logps`, `old_logps`, `ref_logps`, `completion_mask`: `[B, T]`
    /// - `advantages`: `[B]`
    /// - `loss` and every metric: `[1]`
    ///
    /// # Errors
    /// [`Error::MissingInput`] if β ≠ 0 without `ref_logps`, or `dapo` without
    /// `num_items_in_batch`; [`Error::InvalidConfig`] for a negative or non-finite
    /// `num_items_in_batch` (0 is clamped to 1, as TRL), or a zero `num_processes`,
    /// `gradient_accumulation_steps` or `steps_per_generation`.
    ///
    /// # Panics
    /// If the shapes disagree.
    pub fn forward(&self, input: GrpoLossInput) -> Result<GrpoLossOutput> {
        let GrpoLossInput {
            logps,
            old_logps,
            ref_logps,
            advantages,
            completion_mask: mask,
            num_items_in_batch,
            num_processes,
            gradient_accumulation_steps,
            steps_per_generation,
        } = input;
        let [b, t] = logps.dims();
        assert_eq!(mask.dims(), [b, t], "completion_mask must be [B, T]");
        assert_eq!(advantages.dims(), [b], "advantages must be [B]");
        if gradient_accumulation_steps == 0 {
            return Err(invalid("gradient_accumulation_steps", "must be > 0"));
        }
        if num_processes == 0 {
            return Err(invalid("num_processes", "must be > 0"));
        }
        if steps_per_generation == Some(0) {
            return Err(invalid("steps_per_generation", "must be > 0"));
        }
        let ref_logps = match (self.beta != 0.0, ref_logps) {
            (true, None) => {
                return Err(Error::MissingInput {
                    what: "ref_logps",
                    reason: "beta ≠ 0 needs reference log-probs",
                });
            }
            (true, Some(r)) => Some(r),
            (false, _) => None,
        };

        let old_logps = old_logps.unwrap_or_else(|| logps.clone().detach());
        assert_eq!(old_logps.dims(), [b, t], "old_logps must be [B, T]");
        let log_ratio = logps.clone() - old_logps;
        let log_weights = match self.level {
            ImportanceSamplingLevel::Token => log_ratio,
            ImportanceSamplingLevel::Sequence => {
                let lengths = mask.clone().sum_dim(1).clamp_min(1.0);
                (log_ratio * mask.clone()).sum_dim(1) / lengths
            }
        };
        let cols = log_weights.dims()[1];
        let adv = advantages.reshape([b, 1]).repeat_dim(1, cols);

        let coef1 = log_weights.exp();
        let coef2 = coef1
            .clone()
            .clamp(1.0 - self.epsilon_low, 1.0 + self.epsilon_high);
        let coef1_capped = match self.delta {
            Some(d) => coef1.clone().clamp_max(d),
            None => coef1.clone(),
        };
        let surrogate1 = coef1_capped * adv.clone();
        let surrogate2 = coef2 * adv.clone();
        let mut per_token = surrogate1.min_pair(surrogate2).neg();
        if cols != t {
            per_token = per_token.repeat_dim(1, t);
        }

        // Clipping metrics (TRL: masked token mean, or plain mean over sequences for GSPO).
        let masked_batch_mean = |x: Tensor<2>| -> Tensor<1> {
            if cols == 1 {
                x.mean()
            } else {
                (x * mask.clone()).sum() / mask.clone().sum().clamp_min(1.0)
            }
        };
        let coef_detached = coef1.detach();
        let adv_detached = adv.detach();
        let low = coef_detached
            .clone()
            .lower_elem(1.0 - self.epsilon_low)
            .bool_and(adv_detached.clone().lower_elem(0.0));
        let high = coef_detached
            .greater_elem(1.0 + self.epsilon_high)
            .bool_and(adv_detached.greater_elem(0.0));
        let region = low.clone().bool_or(high.clone());
        let clip_ratio_low = masked_batch_mean(low.float());
        let clip_ratio_high = masked_batch_mean(high.float());
        let clip_ratio_region = masked_batch_mean(region.float());

        let mut kl_metric = None;
        if let Some(ref_logps) = ref_logps {
            assert_eq!(ref_logps.dims(), [b, t], "ref_logps must be [B, T]");
            let kl = k3_kl(logps, ref_logps);
            let kl_mean =
                (kl.clone().detach() * mask.clone()).sum() / mask.clone().sum().clamp_min(1.0);
            kl_metric = Some(kl_mean);
            per_token = per_token + kl * self.beta;
        }

        let masked = per_token * mask.clone();
        let ga = gradient_accumulation_steps as f64;
        let loss = match self.loss_type {
            GrpoLossType::Grpo => {
                let lengths = mask.sum_dim(1).clamp_min(1.0);
                (masked.sum_dim(1) / lengths).mean() / ga
            }
            GrpoLossType::Bnpo => masked.sum() / mask.sum().clamp_min(1.0) / ga,
            GrpoLossType::DrGrpo => masked.sum() / ((b * self.max_completion_length) as f64 * ga),
            GrpoLossType::Dapo => {
                let n = num_items_in_batch.ok_or(Error::MissingInput {
                    what: "num_items_in_batch",
                    reason: "loss_type `dapo` divides by the active tokens of the whole \
                             generation batch",
                })?;
                if !(n.is_finite() && n >= 0.0) {
                    return Err(invalid(
                        "num_items_in_batch",
                        format!("must be finite and ≥ 0, got {n}"),
                    ));
                }
                // TRL: num_items.clamp(min=1) / num_processes [· GA / steps_per_generation]
                let mut normalizer = n.max(1.0) / num_processes as f64;
                if let Some(spg) = steps_per_generation {
                    normalizer *= ga / spg as f64;
                }
                masked.sum() / normalizer
            }
        };
        Ok(GrpoLossOutput {
            loss,
            clip_ratio_low: clip_ratio_low.detach(),
            clip_ratio_high: clip_ratio_high.detach(),
            clip_ratio_region: clip_ratio_region.detach(),
            kl: kl_metric,
        })
    }
}

/// Number of active tokens in a mask (host read-back): the `num_items_in_batch` of `dapo` when
/// the mask covers the whole generation batch.
///
/// # Shapes
/// - `completion_mask`: `[B, T]`
pub fn active_tokens(completion_mask: Tensor<2>) -> f64 {
    completion_mask.sum().into_scalar::<f64>()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOL: f64 = 1e-6;

    fn device() -> Device {
        Device::flex().autodiff()
    }

    fn t1(v: &[f64], d: &Device) -> Tensor<1> {
        Tensor::from_data(TensorData::new(v.to_vec(), [v.len()]), d)
    }

    fn t2(v: &[f64], shape: [usize; 2], d: &Device) -> Tensor<2> {
        Tensor::from_data(TensorData::new(v.to_vec(), shape), d)
    }

    fn read2(t: Tensor<2>) -> Vec<f64> {
        t.into_data().convert::<f64>().try_to_vec::<f64>().unwrap()
    }

    fn scalar(t: Tensor<1>) -> f64 {
        t.into_scalar::<f64>()
    }

    fn loss_of(loss_type: GrpoLossType) -> GrpoLoss {
        GrpoLossConfig {
            loss_type,
            max_completion_length: 8,
            ..Default::default()
        }
        .init()
        .unwrap()
    }

    /// §3.6 set-up: group [1,0,0,1] with TRL advantages ±0.865875, lengths [3,5,2,6], ρ = 1.
    fn reference_batch(d: &Device) -> (Tensor<2>, Tensor<1>, Tensor<2>) {
        let lengths = [3usize, 5, 2, 6];
        let t = 6;
        let mut mask = vec![0.0; 4 * t];
        let mut logps = vec![0.0; 4 * t];
        for (i, &len) in lengths.iter().enumerate() {
            for j in 0..t {
                mask[i * t + j] = if j < len { 1.0 } else { 0.0 };
                logps[i * t + j] = -0.3 - 0.1 * (i * t + j) as f64;
            }
        }
        let a = 0.5 / ((1.0f64 / 3.0).sqrt() + 1e-4);
        (
            t2(&logps, [4, t], d).require_grad(),
            t1(&[a, -a, -a, a], d),
            t2(&mask, [4, t], d),
        )
    }

    fn loss_and_grads(loss_type: GrpoLossType) -> (f64, Vec<f64>) {
        let d = device();
        let (logps, adv, mask) = reference_batch(&d);
        let input = GrpoLossInput::new(logps.clone(), adv, mask).with_num_items_in_batch(16.0);
        let out = loss_of(loss_type).forward(input).unwrap();
        let grads = out.loss.backward();
        let g = logps.grad(&grads).unwrap();
        (scalar(out.loss), read2(g))
    }

    fn assert_weights(grads: &[f64], per_seq: [f64; 4]) {
        let lengths = [3usize, 5, 2, 6];
        for i in 0..4 {
            for j in 0..6 {
                let want = if j < lengths[i] { per_seq[i] } else { 0.0 };
                let got = grads[i * 6 + j];
                assert!((got - want).abs() < TOL, "token ({i},{j}): {got} vs {want}");
            }
        }
    }

    #[test]
    fn reference_aggregations_and_gradient_weights() {
        let (l, g) = loss_and_grads(GrpoLossType::Grpo);
        assert!(l.abs() < TOL, "grpo loss {l}");
        assert_weights(&g, [-0.072156, 0.043294, 0.108234, -0.036078]);

        let (l, g) = loss_and_grads(GrpoLossType::Bnpo);
        assert!((l + 0.108234).abs() < TOL, "bnpo loss {l}");
        assert_weights(&g, [-0.054117, 0.054117, 0.054117, -0.054117]);

        let (l, g) = loss_and_grads(GrpoLossType::Dapo);
        assert!((l + 0.108234).abs() < TOL, "dapo loss {l}");
        assert_weights(&g, [-0.054117, 0.054117, 0.054117, -0.054117]);

        let (l, g) = loss_and_grads(GrpoLossType::DrGrpo);
        assert!((l + 0.054117).abs() < TOL, "dr_grpo loss {l}");
        assert_weights(&g, [-0.027059, 0.027059, 0.027059, -0.027059]);
    }

    #[test]
    fn gradient_accumulation_and_processes_scale_the_loss() {
        let d = device();
        let (logps, adv, mask) = reference_batch(&d);
        let input = GrpoLossInput::new(logps, adv, mask).with_gradient_accumulation_steps(2);
        let out = loss_of(GrpoLossType::Bnpo).forward(input).unwrap();
        assert!((scalar(out.loss) + 0.108234 / 2.0).abs() < TOL);
        let (logps, adv, mask) = reference_batch(&d);
        // dapo over 2 ranks with 32 global tokens: normaliser 16, same as 1 rank with 16.
        let input = GrpoLossInput::new(logps, adv, mask)
            .with_num_items_in_batch(32.0)
            .with_num_processes(2);
        let out = loss_of(GrpoLossType::Dapo).forward(input).unwrap();
        assert!((scalar(out.loss) + 0.108234).abs() < TOL);
        // TRL 1.16: dapo normaliser × GA / steps_per_generation (here 2/4 → loss doubles).
        let (logps, adv, mask) = reference_batch(&d);
        let input = GrpoLossInput::new(logps, adv, mask)
            .with_num_items_in_batch(16.0)
            .with_gradient_accumulation_steps(2)
            .with_steps_per_generation(4);
        let out = loss_of(GrpoLossType::Dapo).forward(input).unwrap();
        assert!((scalar(out.loss) + 2.0 * 0.108234).abs() < TOL);
    }

    #[test]
    fn reference_k3_kl() {
        let d = Device::flex();
        let kl = k3_kl(
            t2(&[-1.0, -2.0, -0.7], [1, 3], &d),
            t2(&[-1.2, -1.0, -0.7], [1, 3], &d),
        );
        let v = read2(kl);
        for (g, w) in v.iter().zip([0.018731, 0.718282, 0.0]) {
            assert!((g - w).abs() < TOL, "{v:?}");
        }
    }

    #[test]
    fn kl_enters_loss_with_beta_and_metric() {
        let d = device();
        let loss = GrpoLossConfig {
            loss_type: GrpoLossType::Bnpo,
            beta: 0.5,
            ..Default::default()
        }
        .init()
        .unwrap();
        let logps = t2(&[-1.0, -2.0, -0.7, -3.0], [1, 4], &d);
        let refs = t2(&[-1.2, -1.0, -0.7, 9.0], [1, 4], &d);
        let mask = t2(&[1.0, 1.0, 1.0, 0.0], [1, 4], &d);
        let input = GrpoLossInput::new(logps.clone(), t1(&[0.0], &d), mask.clone());
        assert!(matches!(
            loss.forward(input.clone()),
            Err(Error::MissingInput {
                what: "ref_logps",
                ..
            })
        ));
        let out = loss.forward(input.with_ref_logps(refs)).unwrap();
        let mean_kl = (0.018731 + 0.718282) / 3.0;
        assert!((out.metrics()["kl"] - mean_kl).abs() < TOL);
        assert!((scalar(out.loss) - 0.5 * mean_kl).abs() < TOL);
    }

    /// §3.6 clipping cases, ε = (0.2, 0.2) unless stated; one token, `bnpo`.
    fn one_token_loss(cfg: GrpoLossConfig, rho: f64, adv: f64) -> (f64, BTreeMap<String, f64>) {
        let d = device();
        let logp = t2(&[-1.0], [1, 1], &d);
        let old = t2(&[-1.0 - rho.ln()], [1, 1], &d);
        let cfg = GrpoLossConfig {
            loss_type: GrpoLossType::Bnpo,
            ..cfg
        };
        let out = cfg
            .init()
            .unwrap()
            .forward(
                GrpoLossInput::new(logp, t1(&[adv], &d), t2(&[1.0], [1, 1], &d))
                    .with_old_logps(old),
            )
            .unwrap();
        let m = out.metrics();
        (scalar(out.loss), m)
    }

    #[test]
    fn reference_clipping_cases() {
        let base = GrpoLossConfig::default();
        let (l, m) = one_token_loss(base.clone(), 1.3, 1.0);
        assert!((l + 1.2).abs() < TOL, "{l}");
        assert_eq!(m["clip_ratio/high_mean"], 1.0);
        assert_eq!(m["clip_ratio/region_mean"], 1.0);
        let dapo_high = GrpoLossConfig {
            epsilon_high: Some(0.28),
            ..base.clone()
        };
        let (l, m) = one_token_loss(dapo_high, 1.3, 1.0);
        assert!((l + 1.28).abs() < TOL, "{l}");
        assert_eq!(m["clip_ratio/high_mean"], 1.0);
        let (l, m) = one_token_loss(base.clone(), 0.7, -1.0);
        assert!((l - 0.8).abs() < TOL, "{l}");
        assert_eq!(m["clip_ratio/low_mean"], 1.0);
        let (l, m) = one_token_loss(base.clone(), 1.3, -1.0);
        assert!((l - 1.3).abs() < TOL, "{l}");
        assert_eq!(m["clip_ratio/region_mean"], 0.0);
        // INTELLECT-2 δ caps the unclipped branch: ρ = 3, Â = −1, δ = 2 → 2 instead of 3.
        let (l, _) = one_token_loss(base.clone(), 3.0, -1.0);
        assert!((l - 3.0).abs() < TOL, "{l}");
        let two_sided = GrpoLossConfig {
            delta: Some(2.0),
            ..base
        };
        let (l, _) = one_token_loss(two_sided, 3.0, -1.0);
        assert!((l - 2.0).abs() < TOL, "{l}");
    }

    /// GSPO: log ρ_i is the mean log-ratio over active tokens; padding is ignored.
    #[test]
    fn sequence_level_ratio() {
        let d = device();
        let cfg = GrpoLossConfig {
            loss_type: GrpoLossType::Bnpo,
            importance_sampling_level: ImportanceSamplingLevel::Sequence,
            ..Default::default()
        };
        let loss = cfg.init().unwrap();
        let logps = t2(&[-1.0, -1.0, -1.0], [1, 3], &d);
        let old = t2(&[-1.1, -1.3, -6.0], [1, 3], &d); // log-ratios 0.1, 0.3, (5.0 masked)
        let mask = t2(&[1.0, 1.0, 0.0], [1, 3], &d);
        let rho = 0.2f64.exp(); // 1.2214 > 1.2
        let out = loss
            .forward(
                GrpoLossInput::new(logps.clone(), t1(&[1.0], &d), mask.clone())
                    .with_old_logps(old.clone()),
            )
            .unwrap();
        assert!((scalar(out.loss.clone()) + 1.2).abs() < TOL);
        assert_eq!(out.metrics()["clip_ratio/high_mean"], 1.0);
        let out = loss
            .forward(GrpoLossInput::new(logps, t1(&[-1.0], &d), mask).with_old_logps(old))
            .unwrap();
        assert!((scalar(out.loss) - rho).abs() < TOL);
    }

    #[test]
    fn truncated_completions_leave_the_loss() {
        let d = device();
        let (logps, adv, mask) = reference_batch(&d);
        let mask = mask_truncated_completions(mask, &[false, false, false, true]);
        assert_eq!(active_tokens(mask.clone()), 10.0);
        let out = loss_of(GrpoLossType::Bnpo)
            .forward(GrpoLossInput::new(logps, adv, mask))
            .unwrap();
        let a = 0.5 / ((1.0f64 / 3.0).sqrt() + 1e-4);
        // −(3a − 5a − 2a)/10
        assert!((scalar(out.loss) - 0.4 * a).abs() < TOL);
    }

    #[test]
    fn validation_names_fields() {
        for (cfg, field) in [
            (
                GrpoLossConfig {
                    epsilon: -0.1,
                    ..Default::default()
                },
                "epsilon",
            ),
            (
                GrpoLossConfig {
                    epsilon_high: Some(f64::NAN),
                    ..Default::default()
                },
                "epsilon_high",
            ),
            (
                GrpoLossConfig {
                    beta: -1.0,
                    ..Default::default()
                },
                "beta",
            ),
            (
                GrpoLossConfig {
                    delta: Some(1.1),
                    ..Default::default()
                },
                "delta",
            ),
            (
                GrpoLossConfig {
                    max_completion_length: 0,
                    ..Default::default()
                },
                "max_completion_length",
            ),
            (
                GrpoLossConfig {
                    reward_weights: Some(vec![]),
                    ..Default::default()
                },
                "reward_weights",
            ),
            (
                GrpoLossConfig {
                    num_generations: 1,
                    ..Default::default()
                },
                "num_generations",
            ),
        ] {
            let err = cfg.init().unwrap_err();
            assert!(
                matches!(&err, Error::InvalidConfig(c) if c.field == field),
                "{field}: {err}"
            );
        }
        let d = device();
        let (logps, adv, mask) = reference_batch(&d);
        let err = loss_of(GrpoLossType::Dapo)
            .forward(GrpoLossInput::new(logps, adv, mask))
            .unwrap_err();
        assert!(err.to_string().contains("num_items_in_batch"), "{err}");
    }

    #[test]
    fn config_reads_trl_names() {
        let cfg: GrpoLossConfig = serde_json::from_str(
            r#"{"loss_type":"dr_grpo","epsilon":0.2,"epsilon_high":0.28,"beta":0.04,
                "importance_sampling_level":"sequence","scale_rewards":"none",
                "reward_weights":[1.0,0.5],"mask_truncated_completions":true}"#,
        )
        .unwrap();
        assert_eq!(cfg.loss_type, GrpoLossType::DrGrpo);
        assert_eq!(
            cfg.importance_sampling_level,
            ImportanceSamplingLevel::Sequence
        );
        assert_eq!(cfg.scale_rewards, ScaleRewards::None);
        assert_eq!(cfg.epsilon_high, Some(0.28));
        assert!(cfg.init().is_ok());
        let err = serde_json::from_str::<GrpoLossConfig>(r#"{"loss":"dapo"}"#).unwrap_err();
        assert!(err.to_string().contains("loss"), "{err}");
    }
}
