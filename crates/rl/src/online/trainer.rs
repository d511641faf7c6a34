//! The GRPO trainer: the policy, its optimizer, the loss and the rewards, one step at a time.
//!
//! π_old is the detached current policy when `num_iterations = 1` (ρ ≡ 1 in value, as TRL);
//! otherwise the policy's log-probs are computed once, without gradient, before the first pass.
//! A frozen reference copy is kept only when β > 0; for a policy with LoRA adapters it is the
//! policy's own base with the adapters off ([`CausalLm::without_adapters`]: the frozen base
//! weights are shared, not copied), and only the adapters train (the base has no gradient, so
//! the optimizer never sees it). A reward function returning an error stops the step before
//! anything is trained: never a step on partial rewards.
//!
//! Faults that do not stop the run:
//! - completions a reward gives no score get advantage 0 from it; when no completion of the
//!   batch has a reward, the step's optimizer updates are skipped (`skipped/unscored`);
//! - a non-finite loss or gradient norm skips that optimizer update (`skipped/nonfinite`), so NaN
//!   never reaches the weights or the optimizer state.
//!
//! A skipped update still counts as an optimizer step (the schedule and `step` move on, as the
//! HF `Trainer` does when its gradient scaler skips a step). Metrics without a finite value are
//! left out of the step's metrics.

use std::collections::BTreeMap;
use std::fmt;

use burn::optim::GradientsParams;
use burn::prelude::*;
use prefopt_models::CausalLm;
use prefopt_train::{AdamW, LrSchedule, clip_grad_norm};

use crate::advantage::AdvantageEstimator;
use crate::error::{Error, Result};
use crate::grpo_loss::{GrpoLoss, GrpoLossInput, active_tokens, mask_truncated_completions};
use crate::reward::{RewardColumn, RewardSet};
use crate::rollout::{RolloutBatch, RolloutConfig, generate_rollouts};

use super::batch::{TrainBatch, completion_token_logprobs, onto};
use super::config::{GrpoRunConfig, ValidGrpoConfig};

/// What one GRPO step produced.
#[derive(Debug, Clone)]
pub struct GrpoStepOutput {
    /// The rollouts.
    pub rollout: RolloutBatch,
    /// One column per reward function.
    pub columns: Vec<RewardColumn>,
    /// The aggregated reward of each completion.
    pub rewards: Vec<f64>,
    /// TRL-named metrics, averaged over the `num_iterations` passes where they vary; only
    /// finite values.
    pub metrics: BTreeMap<String, f64>,
    /// Optimizer updates of this step skipped for a non-finite loss or gradient.
    pub skipped_nonfinite: u64,
}

/// The policy, its optimizer and everything a GRPO step needs.
pub struct GrpoTrainer {
    config: GrpoRunConfig,
    policy: CausalLm,
    reference: Option<CausalLm>,
    optimizer: AdamW,
    schedule: LrSchedule,
    loss: GrpoLoss,
    advantages: AdvantageEstimator,
    rewards: RewardSet,
    rollout: RolloutConfig,
    steps: u64,
    optimizer_steps: u64,
}

impl fmt::Debug for GrpoTrainer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GrpoTrainer")
            .field("steps", &self.steps)
            .field("optimizer_steps", &self.optimizer_steps)
            .field("rewards", &self.rewards)
            .finish_non_exhaustive()
    }
}

impl GrpoTrainer {
    /// A trainer for `policy` (loaded on an autodiff device: `device.autodiff()`), scoring with
    /// `rewards`. When β > 0 a frozen copy of `policy` becomes the reference (of a LoRA policy:
    /// its base, the adapters off).
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] for bad settings, [`Error::InvalidInput`] if the policy is not
    /// on an autodiff device.
    pub fn new(config: GrpoRunConfig, policy: CausalLm, rewards: RewardSet) -> Result<Self> {
        Self::from_valid(config.init()?, policy, rewards)
    }

    /// [`GrpoTrainer::new`] from a config already checked and built by
    /// [`GrpoRunConfig::init`].
    ///
    /// # Errors
    /// [`Error::InvalidInput`] if the policy is not on an autodiff device.
    pub fn from_valid(
        valid: ValidGrpoConfig,
        policy: CausalLm,
        rewards: RewardSet,
    ) -> Result<Self> {
        let ValidGrpoConfig {
            config,
            optimizer,
            schedule,
            loss,
            advantages,
            rollout,
        } = valid;
        if !policy.is_autodiff() {
            return Err(Error::InvalidInput(
                "the policy must be loaded on an autodiff device (`device.autodiff()`)".into(),
            ));
        }
        let reference = (config.loss.beta > 0.0).then(|| frozen_reference(&policy));
        Ok(Self {
            optimizer,
            schedule,
            loss,
            advantages,
            rollout,
            config,
            policy,
            reference,
            rewards,
            steps: 0,
            optimizer_steps: 0,
        })
    }

    /// The current policy.
    pub fn policy(&self) -> &CausalLm {
        &self.policy
    }

    /// Consumes the trainer, returning the policy.
    pub fn into_policy(self) -> CausalLm {
        self.policy
    }

    /// Rollout batches done.
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// Optimizer steps done (`steps × num_iterations`), skipped updates included.
    pub fn optimizer_steps(&self) -> u64 {
        self.optimizer_steps
    }

    /// The optimizer (for checkpoints).
    pub(crate) fn optimizer(&self) -> &AdamW {
        &self.optimizer
    }

    /// Continues a run: `steps` rollout batches and `optimizer_steps` optimizer steps done.
    pub(crate) fn set_position(&mut self, steps: u64, optimizer_steps: u64) {
        self.steps = steps;
        self.optimizer_steps = optimizer_steps;
    }

    /// Replaces the frozen reference (on resume: the initial policy, not the checkpoint's).
    pub(crate) fn set_reference(&mut self, reference: Option<CausalLm>) {
        self.reference = reference;
    }

    /// One GRPO step on `prompts` (token ids): rollouts, rewards, advantages, then
    /// `num_iterations` optimizer steps. `detokenize` turns token ids into the text the reward
    /// functions see (a completion is passed without its final EOS token).
    ///
    /// # Errors
    /// Any reward function's error (nothing is trained then), model and optimizer errors.
    pub fn step(
        &mut self,
        prompts: &[Vec<u32>],
        detokenize: &dyn Fn(&[u32]) -> String,
    ) -> Result<GrpoStepOutput> {
        let device = self.policy.device();
        let inference = self.policy.valid();
        let inf_device = inference.device();
        let seed = self.config.seed.wrapping_add(self.steps);
        let rollout = generate_rollouts(&inference, prompts, &self.rollout, seed)?;

        // Rewards on text; an error here ends the step before any update.
        let eos = self
            .config
            .sampling
            .eos_token_ids
            .clone()
            .unwrap_or_else(|| self.policy.config().eos_token_ids.clone());
        let prompt_texts: Vec<String> = prompts.iter().map(|p| detokenize(p)).collect();
        let completion_texts: Vec<String> = rollout
            .completions
            .iter()
            .zip(&rollout.truncated)
            .map(|(c, &truncated)| {
                let end = if !truncated && c.last().is_some_and(|t| eos.contains(t)) {
                    c.len() - 1
                } else {
                    c.len()
                };
                detokenize(&c[..end])
            })
            .collect();
        let g = rollout.num_generations;
        let prompt_refs: Vec<&str> = (0..rollout.len())
            .map(|i| prompt_texts[i / g].as_str())
            .collect();
        let completion_refs: Vec<&str> = completion_texts.iter().map(String::as_str).collect();
        let columns = self.rewards.score(&prompt_refs, &completion_refs)?;
        let adv = self.advantages.compute(&columns)?;
        let mu = self.config.num_iterations as u64;
        if adv.rewards.iter().all(|r| r.is_nan()) {
            tracing::warn!(
                step = self.steps + 1,
                "no completion of the batch has a reward: its optimizer updates are skipped"
            );
            self.optimizer_steps += mu;
            let mut metrics = adv.metrics.clone();
            metrics.insert("skipped/unscored".into(), mu as f64);
            metrics.insert("skipped/nonfinite".into(), 0.0);
            metrics.insert(
                "learning_rate".into(),
                self.schedule.lr_at(self.optimizer_steps - 1),
            );
            rollout_metrics(&rollout, &mut metrics);
            self.steps += 1;
            return Ok(GrpoStepOutput {
                rewards: adv.rewards,
                rollout,
                columns,
                metrics,
                skipped_nonfinite: 0,
            });
        }

        let pad = self
            .config
            .sampling
            .pad_token_id
            .or(self.policy.config().pad_token_id)
            .unwrap_or(0);
        let batch = TrainBatch::new(&rollout, pad, &device);
        let mask = if self.config.loss.mask_truncated_completions {
            mask_truncated_completions(batch.mask.clone(), &rollout.truncated)
        } else {
            batch.mask.clone()
        };
        let num_items = active_tokens(mask.clone());
        let advantages = adv.to_tensor(&device);
        let temperature = self.config.sampling.logprob_temperature();
        let old_logps = if self.config.num_iterations > 1 {
            let inf_batch = TrainBatch::new(&rollout, pad, &inf_device);
            Some(onto(
                completion_token_logprobs(&inference, &inf_batch, temperature)?,
                &device,
            ))
        } else {
            None
        };
        let ref_logps = match &self.reference {
            Some(reference) => {
                let inf_batch = TrainBatch::new(&rollout, pad, &inf_device);
                Some(onto(
                    completion_token_logprobs(reference, &inf_batch, temperature)?,
                    &device,
                ))
            }
            None => None,
        };
        drop(inference);

        let mut sums: BTreeMap<String, f64> = BTreeMap::new();
        let mut add = |k: &str, v: f64| *sums.entry(k.to_owned()).or_insert(0.0) += v;
        let mut lr = 0.0;
        let (mut applied, mut skipped) = (0u64, 0u64);
        for _ in 0..self.config.num_iterations {
            lr = self.schedule.lr_at(self.optimizer_steps);
            self.optimizer_steps += 1;
            let logps = completion_token_logprobs(&self.policy, &batch, temperature)?;
            let mut input = GrpoLossInput::new(logps, advantages.clone(), mask.clone())
                .with_num_items_in_batch(num_items);
            if let Some(old) = &old_logps {
                input = input.with_old_logps(old.clone());
            }
            if let Some(r) = &ref_logps {
                input = input.with_ref_logps(r.clone());
            }
            let out = self.loss.forward(input)?;
            let loss = out.loss.clone().into_scalar::<f64>();
            if !loss.is_finite() {
                skipped += 1;
                tracing::warn!(
                    step = self.optimizer_steps,
                    loss,
                    "non-finite loss: optimizer update skipped"
                );
                continue;
            }
            let metrics = out.metrics();
            let grads = out.loss.backward();
            let mut grads = GradientsParams::from_grads(grads, &self.policy);
            let grad_norm = clip_grad_norm(&self.policy, &mut grads, self.config.max_grad_norm);
            if !grad_norm.is_finite() {
                skipped += 1;
                tracing::warn!(
                    step = self.optimizer_steps,
                    grad_norm,
                    "non-finite gradient: optimizer update skipped"
                );
                continue;
            }
            add("loss", loss);
            add("grad_norm", grad_norm);
            for (k, v) in metrics {
                add(&k, v);
            }
            self.policy = self.optimizer.step(lr, self.policy.clone(), grads);
            applied += 1;
        }
        let applied_f = applied.max(1) as f64;
        let mut metrics: BTreeMap<String, f64> = sums
            .into_iter()
            .map(|(k, v)| (k, v / applied_f))
            .filter(|(_, v)| v.is_finite())
            .collect();
        metrics.extend(adv.metrics.clone());
        metrics.insert("learning_rate".into(), lr);
        metrics.insert("skipped/nonfinite".into(), skipped as f64);
        metrics.insert("skipped/unscored".into(), 0.0);
        rollout_metrics(&rollout, &mut metrics);
        metrics.insert("num_tokens".into(), num_items);
        self.steps += 1;
        Ok(GrpoStepOutput {
            rewards: adv.rewards,
            rollout,
            columns,
            metrics,
            skipped_nonfinite: skipped,
        })
    }
}

/// The frozen KL reference of `policy`: its inference copy, with the adapters off for a LoRA
/// policy (the base it trains on, sharing its frozen weights).
pub(crate) fn frozen_reference(policy: &CausalLm) -> CausalLm {
    let reference = policy.valid();
    if reference.lora_config().is_some() {
        reference.without_adapters()
    } else {
        reference
    }
}

/// `completions/{mean,min,max}_length` and `completions/clipped_ratio`.
fn rollout_metrics(rollout: &RolloutBatch, metrics: &mut BTreeMap<String, f64>) {
    metrics.insert("completions/mean_length".into(), rollout.mean_length());
    metrics.insert("completions/clipped_ratio".into(), rollout.clipped_ratio());
    let lengths = rollout.completions.iter().map(Vec::len);
    metrics.insert(
        "completions/min_length".into(),
        lengths.clone().min().unwrap_or(0) as f64,
    );
    metrics.insert(
        "completions/max_length".into(),
        lengths.max().unwrap_or(0) as f64,
    );
}
