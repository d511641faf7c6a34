//! The online GRPO loop: prompts → rollouts → rewards → advantages → clipped-surrogate loss →
//! backward → global-norm clip → AdamW, `num_iterations` passes per rollout batch (TRL's μ).
//!
//! π_old is the detached current policy when `num_iterations = 1` (ρ ≡ 1 in value, as TRL);
//! otherwise the policy's log-probs are computed once, without gradient, before the first pass.
//! A frozen reference copy is kept only when β > 0. A reward function returning an error stops
//! the step before anything is trained: never a step on partial rewards.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use burn::optim::GradientsParams;
use burn::prelude::*;
use burn::tensor::activation::log_softmax;
use prefopt_models::{CausalLm, SplitMix64};
use prefopt_train::{
    AdamW, AdamWConfig, LrSchedule, LrSchedulerKwargs, LrSchedulerType, MetricsLog, MetricsRecord,
    clip_grad_norm,
};
use serde::{Deserialize, Serialize};

use crate::advantage::AdvantageEstimator;
use crate::error::{Error, Result, invalid};
use crate::grpo_loss::{
    GrpoLoss, GrpoLossConfig, GrpoLossInput, active_tokens, mask_truncated_completions,
};
use crate::reward::{RewardColumn, RewardFn, RewardSet};
use crate::rollout::{RolloutBatch, RolloutConfig, generate_rollouts};
use crate::sampling::SamplingConfig;

/// One reward function of a run, chosen by name from a [`RewardRegistry`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RewardSpec {
    /// The registry name.
    pub name: String,
    /// Its weight w_k (default 1).
    #[serde(default = "one")]
    pub weight: f64,
}

fn one() -> f64 {
    1.0
}

/// A whole GRPO run (`prefopt grpo --config run.toml`). Names follow TRL's `GRPOConfig`;
/// the loss and advantage knobs sit in `[loss]`, the sampler's in `[sampling]`, the rewards
/// in `[[rewards]]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GrpoRunConfig {
    /// Loss, advantage, G and `max_completion_length` (TRL names).
    pub loss: GrpoLossConfig,
    /// How completions are sampled.
    pub sampling: SamplingConfig,
    /// The reward functions, by registry name, with weights. `loss.reward_weights` must then be
    /// unset.
    pub rewards: Vec<RewardSpec>,
    /// Peak learning rate (TRL default 1e-6).
    pub learning_rate: f64,
    /// LR schedule over the optimizer steps (default `linear`, as HF).
    pub lr_scheduler_type: LrSchedulerType,
    /// Linear warm-up steps (optimizer steps).
    pub warmup_steps: u64,
    /// AdamW knobs (here weight decay defaults to 0, HF `TrainingArguments`' default).
    pub adam: AdamWConfig,
    /// Global gradient-norm clip (TRL default 1.0).
    pub max_grad_norm: f64,
    /// μ: optimisation passes per rollout batch (TRL default 1).
    pub num_iterations: usize,
    /// Prompts per rollout batch (the batch holds `prompts_per_step × num_generations`
    /// completions).
    pub prompts_per_step: usize,
    /// Rollout batches to run; the optimizer takes `max_steps × num_iterations` steps.
    pub max_steps: u64,
    /// Seed of the prompt order and of the sampler (step `s` samples with `seed + s`).
    pub seed: u64,
    /// Where `metrics.jsonl` is written (`None` = not written).
    pub output_dir: Option<PathBuf>,
}

impl Default for GrpoRunConfig {
    fn default() -> Self {
        Self {
            loss: GrpoLossConfig::default(),
            sampling: SamplingConfig::default(),
            rewards: Vec::new(),
            learning_rate: 1e-6,
            lr_scheduler_type: LrSchedulerType::Linear,
            warmup_steps: 0,
            adam: AdamWConfig::default().with_weight_decay(0.0),
            max_grad_norm: 1.0,
            num_iterations: 1,
            prompts_per_step: 4,
            max_steps: 100,
            seed: 0,
            output_dir: None,
        }
    }
}

impl GrpoRunConfig {
    /// Parses a TOML run file (unknown keys are errors).
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] with the parser's message.
    pub fn from_toml_str(text: &str) -> Result<Self> {
        toml::from_str(text).map_err(|e| invalid("config", e.to_string()))
    }

    /// The rollout half.
    pub fn rollout_config(&self) -> RolloutConfig {
        RolloutConfig {
            num_generations: self.loss.num_generations,
            max_completion_length: self.loss.max_completion_length,
            sampling: self.sampling.clone(),
        }
    }

    /// Checks every field.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] naming the field.
    pub fn validate(&self) -> Result<()> {
        self.loss.init()?;
        self.rollout_config().validate()?;
        self.adam.validate()?;
        if self.max_grad_norm.is_nan() || self.max_grad_norm <= 0.0 {
            return Err(invalid(
                "max_grad_norm",
                format!("must be > 0, got {}", self.max_grad_norm),
            ));
        }
        if self.num_iterations == 0 {
            return Err(invalid("num_iterations", "must be ≥ 1"));
        }
        if self.prompts_per_step == 0 {
            return Err(invalid("prompts_per_step", "must be ≥ 1"));
        }
        if self.loss.reward_weights.is_some() && !self.rewards.is_empty() {
            return Err(invalid(
                "reward_weights",
                "give weights in [[rewards]] (`weight = …`), not in [loss]",
            ));
        }
        self.schedule()?;
        Ok(())
    }

    fn schedule(&self) -> Result<LrSchedule> {
        Ok(LrSchedule::new(
            self.lr_scheduler_type,
            self.learning_rate,
            self.warmup_steps,
            self.max_steps * self.num_iterations as u64,
            LrSchedulerKwargs::default(),
        )?)
    }
}

type RewardFactory = Box<dyn Fn() -> Result<Box<dyn RewardFn>> + Send + Sync>;

/// Reward functions by name, for configs that choose them by name.
#[derive(Default)]
pub struct RewardRegistry {
    factories: BTreeMap<String, RewardFactory>,
}

impl fmt::Debug for RewardRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RewardRegistry")
            .field("names", &self.factories.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl RewardRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers `name` (replacing an earlier entry of that name).
    pub fn register<F>(&mut self, name: impl Into<String>, factory: F) -> &mut Self
    where
        F: Fn() -> Result<Box<dyn RewardFn>> + Send + Sync + 'static,
    {
        self.factories.insert(name.into(), Box::new(factory));
        self
    }

    /// The registered names.
    pub fn names(&self) -> Vec<&str> {
        self.factories.keys().map(String::as_str).collect()
    }

    /// Builds the weighted [`RewardSet`] of `specs`.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] for `rewards` when a name is unknown (the message lists the
    /// known ones) or the list is empty.
    pub fn build(&self, specs: &[RewardSpec]) -> Result<RewardSet> {
        let mut functions = Vec::with_capacity(specs.len());
        for spec in specs {
            let factory = self.factories.get(&spec.name).ok_or_else(|| {
                invalid(
                    "rewards",
                    format!(
                        "unknown reward `{}`; known: {}",
                        spec.name,
                        self.names().join(", ")
                    ),
                )
            })?;
            functions.push(factory()?);
        }
        let weights: Vec<f64> = specs.iter().map(|s| s.weight).collect();
        RewardSet::new(functions, Some(&weights))
    }
}

/// What one GRPO step produced.
#[derive(Debug, Clone)]
pub struct GrpoStepOutput {
    /// The rollouts.
    pub rollout: RolloutBatch,
    /// One column per reward function.
    pub columns: Vec<RewardColumn>,
    /// The aggregated reward of each completion.
    pub rewards: Vec<f64>,
    /// TRL-named metrics, averaged over the `num_iterations` passes where they vary.
    pub metrics: BTreeMap<String, f64>,
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

/// Token tensors of a rollout batch, laid out `[left-padded prompt | right-padded completion]`.
struct TrainBatch {
    input_ids: Tensor<2, Int>,
    attention_mask: Tensor<2, Int>,
    completion_ids_mask: Tensor<2, Int>,
    /// `[B, C, 1]` completion token ids (pad → 0).
    targets: Tensor<3, Int>,
    /// `[B, C]` 1 on completion tokens.
    mask: Tensor<2>,
    prompt_len: usize,
    completion_len: usize,
}

impl TrainBatch {
    fn new(rollout: &RolloutBatch, pad: u32, device: &Device) -> Self {
        let b = rollout.len();
        let lp = rollout.prompts.iter().map(Vec::len).max().unwrap_or(1);
        let lc = rollout
            .completions
            .iter()
            .map(Vec::len)
            .max()
            .unwrap_or(1)
            .max(1);
        let t = lp + lc;
        let mut ids = Vec::with_capacity(b * t);
        let mut attn = Vec::with_capacity(b * t);
        let mut comp = Vec::with_capacity(b * t);
        let mut targets = Vec::with_capacity(b * lc);
        let mut mask = Vec::with_capacity(b * lc);
        for i in 0..b {
            let p = rollout.prompt_of(i);
            let c = &rollout.completions[i];
            let (pp, cp) = (lp - p.len(), lc - c.len());
            ids.extend(std::iter::repeat_n(i64::from(pad), pp));
            ids.extend(p.iter().map(|&x| i64::from(x)));
            ids.extend(c.iter().map(|&x| i64::from(x)));
            ids.extend(std::iter::repeat_n(i64::from(pad), cp));
            attn.extend(std::iter::repeat_n(0i64, pp));
            attn.extend(std::iter::repeat_n(1i64, p.len() + c.len()));
            attn.extend(std::iter::repeat_n(0i64, cp));
            comp.extend(std::iter::repeat_n(0i64, lp));
            comp.extend(std::iter::repeat_n(1i64, c.len()));
            comp.extend(std::iter::repeat_n(0i64, cp));
            targets.extend(c.iter().map(|&x| i64::from(x)));
            targets.extend(std::iter::repeat_n(0i64, cp));
            mask.extend(std::iter::repeat_n(1f32, c.len()));
            mask.extend(std::iter::repeat_n(0f32, cp));
        }
        let int2 = |v: Vec<i64>| Tensor::<2, Int>::from_data(TensorData::new(v, [b, t]), device);
        Self {
            input_ids: int2(ids),
            attention_mask: int2(attn),
            completion_ids_mask: int2(comp),
            targets: Tensor::from_data(TensorData::new(targets, [b, lc, 1]), device),
            mask: Tensor::from_data(TensorData::new(mask, [b, lc]), device),
            prompt_len: lp,
            completion_len: lc,
        }
    }
}

/// Per-token log-probs of the completion tokens under `model`, with the logits divided by
/// `temperature` (TRL), 0 on padding.
///
/// Temperature 1 goes through `CausalLm::completion_logprobs` (only completion positions reach
/// the LM head); another temperature runs the full forward and scales the logits.
///
/// # Shapes
/// - output: `[B, C]`, `C` = longest completion
fn completion_token_logprobs(
    model: &CausalLm,
    batch: &TrainBatch,
    temperature: f64,
) -> Result<Tensor<2>> {
    let [b, _] = batch.input_ids.dims();
    let (lp, lc) = (batch.prompt_len, batch.completion_len);
    if temperature == 1.0 {
        let out = model.completion_logprobs(
            batch.input_ids.clone(),
            batch.attention_mask.clone(),
            batch.completion_ids_mask.clone(),
        )?;
        Ok(out.per_token.slice([0..b, lp - 1..lp - 1 + lc]))
    } else {
        let logits = model.forward(batch.input_ids.clone(), Some(batch.attention_mask.clone()))?;
        let [_, _, v] = logits.dims();
        let logits = logits.slice([0..b, lp - 1..lp - 1 + lc, 0..v]) / temperature;
        let logp = log_softmax(logits, 2)
            .gather(2, batch.targets.clone())
            .reshape([b, lc]);
        Ok(logp * batch.mask.clone())
    }
}

/// Moves a tensor computed without autodiff onto `device` (a host round trip; `[B, C]` only).
fn onto(t: Tensor<2>, device: &Device) -> Tensor<2> {
    Tensor::from_data(t.into_data(), device)
}

impl GrpoTrainer {
    /// A trainer for `policy` (loaded on an autodiff device: `device.autodiff()`), scoring with
    /// `rewards`. When β > 0 a frozen copy of `policy` becomes the reference.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] for bad settings, [`Error::InvalidInput`] if the policy is not
    /// on an autodiff device.
    pub fn new(config: GrpoRunConfig, policy: CausalLm, rewards: RewardSet) -> Result<Self> {
        config.validate()?;
        if !policy.model.embed_tokens.weight.val().is_autodiff() {
            return Err(Error::InvalidInput(
                "the policy must be loaded on an autodiff device (`device.autodiff()`)".into(),
            ));
        }
        let reference = (config.loss.beta > 0.0).then(|| policy.valid());
        Ok(Self {
            optimizer: config.adam.init()?,
            schedule: config.schedule()?,
            loss: config.loss.init()?,
            advantages: config.loss.advantage_config().init()?,
            rollout: config.rollout_config(),
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

    /// Optimizer steps done (`steps × num_iterations`).
    pub fn optimizer_steps(&self) -> u64 {
        self.optimizer_steps
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
        let device = self.policy.model.embed_tokens.weight.val().device();
        let inference = self.policy.valid();
        let inf_device = inference.model.embed_tokens.weight.val().device();
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
        for _ in 0..self.config.num_iterations {
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
            add("loss", out.loss.clone().into_scalar::<f64>());
            for (k, v) in out.metrics() {
                add(&k, v);
            }
            let grads = out.loss.backward();
            let mut grads = GradientsParams::from_grads(grads, &self.policy);
            add(
                "grad_norm",
                clip_grad_norm(&self.policy, &mut grads, self.config.max_grad_norm),
            );
            lr = self.schedule.lr_at(self.optimizer_steps);
            self.policy = self.optimizer.step(lr, self.policy.clone(), grads);
            self.optimizer_steps += 1;
        }
        let mu = self.config.num_iterations as f64;
        let mut metrics: BTreeMap<String, f64> =
            sums.into_iter().map(|(k, v)| (k, v / mu)).collect();
        metrics.extend(adv.metrics.clone());
        metrics.insert("learning_rate".into(), lr);
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
        metrics.insert("num_tokens".into(), num_items);
        self.steps += 1;
        Ok(GrpoStepOutput {
            rewards: adv.rewards,
            rollout,
            columns,
            metrics,
        })
    }
}

/// A `detokenize` for [`run_grpo`] / [`GrpoTrainer::step`] from a tokenizer: special tokens
/// skipped, as TRL decodes completions. A decode error is logged and gives an empty string.
pub fn tokenizer_detokenizer(
    tokenizer: &prefopt_data::Tokenizer,
) -> impl Fn(&[u32]) -> String + '_ {
    move |ids| {
        tokenizer.decode(ids, true).unwrap_or_else(|e| {
            tracing::warn!(error = %e, "could not decode token ids; reward sees an empty string");
            String::new()
        })
    }
}

/// The result of [`run_grpo`].
#[derive(Debug)]
pub struct GrpoRunOutput {
    /// The trained policy.
    pub policy: CausalLm,
    /// Every step's metrics, in order.
    pub history: Vec<BTreeMap<String, f64>>,
    /// Where the metrics were written, if anywhere.
    pub metrics_path: Option<PathBuf>,
}

/// Runs `config.max_steps` GRPO steps over `prompts` (token ids), `prompts_per_step` at a
/// time in a seeded shuffled order, epoch after epoch. Metrics go to
/// `output_dir/metrics.jsonl` (one line per rollout batch, `step` = optimizer steps done)
/// through `prefopt-train`'s [`MetricsLog`], which refuses NaN/∞.
///
/// # Errors
/// Config errors, an empty prompt list, and any step error (the run stops at that step).
pub fn run_grpo(
    config: GrpoRunConfig,
    policy: CausalLm,
    rewards: RewardSet,
    prompts: &[Vec<u32>],
    detokenize: &dyn Fn(&[u32]) -> String,
) -> Result<GrpoRunOutput> {
    if prompts.is_empty() {
        return Err(Error::InvalidInput("no prompts".into()));
    }
    let mut log = match &config.output_dir {
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .map_err(|e| Error::InvalidInput(format!("creating {}: {e}", dir.display())))?;
            Some(MetricsLog::create(dir.join("metrics.jsonl"))?)
        }
        None => None,
    };
    let per_step = config.prompts_per_step;
    let max_steps = config.max_steps;
    let mut rng = SplitMix64::new(config.seed ^ 0x5EED_0F9A_1D00);
    let mut trainer = GrpoTrainer::new(config, policy, rewards)?;
    let mut order: Vec<usize> = Vec::new();
    let mut cursor = 0usize;
    let mut consumed = 0usize;
    let mut history = Vec::new();
    for _ in 0..max_steps {
        let mut batch = Vec::with_capacity(per_step);
        while batch.len() < per_step {
            if cursor == order.len() {
                order = (0..prompts.len()).collect();
                for i in (1..order.len()).rev() {
                    let j = (rng.next_u64() % (i as u64 + 1)) as usize;
                    order.swap(i, j);
                }
                cursor = 0;
            }
            batch.push(prompts[order[cursor]].clone());
            cursor += 1;
        }
        consumed += per_step;
        let out = trainer.step(&batch, detokenize)?;
        if let Some(log) = log.as_mut() {
            let epoch = consumed as f64 / prompts.len() as f64;
            let record = MetricsRecord::new(trainer.optimizer_steps(), epoch)
                .with_all(out.metrics.iter().map(|(k, v)| (k.clone(), *v)));
            log.log(&record)?;
        }
        tracing::info!(
            step = trainer.steps(),
            reward = out.metrics.get("reward").copied().unwrap_or(f64::NAN),
            "grpo step"
        );
        history.push(out.metrics);
    }
    Ok(GrpoRunOutput {
        metrics_path: log.as_ref().map(|l| l.path().to_path_buf()),
        policy: trainer.into_policy(),
        history,
    })
}
