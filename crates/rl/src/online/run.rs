//! The run loop: `max_steps` GRPO steps over a prompt set, metrics to `metrics.jsonl`,
//! checkpoints every `save_steps` steps, `--resume` from the latest one.
//!
//! A checkpoint is `prefopt-train`'s ([`Checkpointer`]): `output_dir/checkpoint-<step>/` with
//! the policy in HF layout (plus the tokenizer files, when the caller names them), the AdamW
//! state, and `trainer_state.json` (optimizer steps, prompts consumed, rollout steps done,
//! non-finite steps in a row, the hash of the trajectory settings), written atomically. The
//! rollout sampler draws from `seed + rollout step` and the prompt order is a pure function of
//! (seed, prompts consumed), so a resumed run repeats the uninterrupted run's steps exactly.
//!
//! A policy with LoRA adapters is checkpointed as the offline trainer's `[lora]` runs are: the
//! PEFT adapter (`adapter_config.json` + `adapter_model.safetensors`) instead of the model, and
//! resume attaches the checkpoint's adapter to the policy's own frozen base. The adapters'
//! settings (and whether the base is kept quantized) are then part of the trajectory hash.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use prefopt_models::CausalLm;
use prefopt_train::{
    Checkpointer, MetricsLog, MetricsRecord, TRAINER_STATE_FILE, TrainerState, start_in_output_dir,
};
use serde_json::json;

use crate::error::{Error, Result};
use crate::reward::RewardSet;
use prefopt_core::invalid;

use super::config::{GrpoRunConfig, ValidGrpoConfig};
use super::prompt_order::PromptOrder;
use super::trainer::{GrpoTrainer, frozen_reference};

/// The metrics file in `output_dir`.
const METRICS_FILE: &str = "metrics.jsonl";

/// How to run (not part of the config file).
#[derive(Debug, Clone, Default)]
pub struct GrpoRunOptions {
    /// Continue from the newest complete `checkpoint-<step>/` in `output_dir`: the caller still
    /// passes the *initial* policy (it stays the frozen reference when β > 0), the weights and
    /// the optimizer state come from the checkpoint. A LoRA policy keeps its base and gets the
    /// checkpoint's adapter in place of its own.
    pub resume: bool,
    /// Tokenizer files copied into every checkpoint, so that each one is a loadable model
    /// directory.
    pub tokenizer_dir: Option<PathBuf>,
    /// The base model of a LoRA policy (an HF directory or a `.gguf` file), written as
    /// `base_model_name_or_path` in the adapters its checkpoints hold, so that each checkpoint
    /// loads on its own (`prefopt generate --model …/checkpoint-<step>`).
    pub base_model: Option<PathBuf>,
}

/// The result of [`run_grpo`].
#[derive(Debug)]
pub struct GrpoRunOutput {
    /// The trained policy.
    pub policy: CausalLm,
    /// The metrics of every step this call ran, in order.
    pub history: Vec<BTreeMap<String, f64>>,
    /// Where the metrics were written, if anywhere.
    pub metrics_path: Option<PathBuf>,
    /// The checkpoint the run continued from.
    pub resumed_from: Option<PathBuf>,
}

/// Runs `config.max_steps` GRPO steps over `prompts` (token ids), `prompts_per_step` at a
/// time in a seeded shuffled order, epoch after epoch. Metrics go to
/// `output_dir/metrics.jsonl` (one line per rollout batch, `step` = optimizer steps done)
/// through `prefopt-train`'s [`MetricsLog`]; checkpoints to `output_dir/checkpoint-<step>/`
/// every `save_steps` steps.
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
    run_valid_grpo(
        config.init()?,
        policy,
        rewards,
        prompts,
        detokenize,
        &GrpoRunOptions::default(),
    )
}

/// [`run_grpo`] with a config already checked and built by [`GrpoRunConfig::init`], and
/// [`GrpoRunOptions`] (resume, tokenizer files for the checkpoints).
///
/// # Errors
/// An empty prompt list; `output_dir` holding checkpoints without `resume`, or `resume`
/// without a checkpoint or with one written under other trajectory settings; a step error
/// (the run stops at that step); `max_consecutive_nonfinite_steps` skipped updates in a row
/// ([`Error::NonFinite`]).
pub fn run_valid_grpo(
    valid: ValidGrpoConfig,
    policy: CausalLm,
    rewards: RewardSet,
    prompts: &[Vec<u32>],
    detokenize: &dyn Fn(&[u32]) -> String,
    options: &GrpoRunOptions,
) -> Result<GrpoRunOutput> {
    let mut valid = valid;
    let config = valid.config.clone();
    if prompts.is_empty() {
        return Err(Error::InvalidInput("no prompts".into()));
    }
    let hash = trajectory_hash(&config, &policy)?;
    let checkpointer = config
        .output_dir
        .as_ref()
        .map(|dir| Checkpointer::new(dir, config.save_total_limit));
    let resume_dir = resume_dir(&config, options.resume)?;

    let mut state = TrainerState::new(config.seed, hash.clone());
    let (policy, reference) = match &resume_dir {
        Some(dir) => {
            let reference = (config.loss.beta > 0.0).then(|| frozen_reference(&policy));
            // Checked before the weights load: a LoRA and a full checkpoint hold other files.
            TrainerState::read(dir.join(TRAINER_STATE_FILE))?.check_config_hash(&hash)?;
            let model = if policy.lora_config().is_some() {
                // The checkpoint holds the adapter only; the base is the policy's own.
                policy.without_adapters().load_peft_adapter(dir)
            } else {
                CausalLm::load_hf(dir, &policy.device())
            }
            .map_err(|e| Error::file("loading the checkpoint", dir, e))?;
            let resumed = Checkpointer::resume(dir, model, valid.optimizer)?;
            valid.optimizer = resumed.optimizer;
            state = resumed.state;
            (resumed.model, Some(reference))
        }
        None => (policy, None),
    };
    let position = Position::read(&state);
    let mut trainer = GrpoTrainer::from_valid(valid, policy, rewards)?;
    if let Some(reference) = reference {
        trainer.set_reference(reference);
    }
    trainer.set_position(position.rollout_steps, state.global_step);
    let mut order = PromptOrder::new(config.seed, prompts.len(), state.data_cursor);
    let mut nonfinite_in_a_row = position.nonfinite_in_a_row;

    let mut log = match &config.output_dir {
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .map_err(|e| Error::InvalidInput(format!("creating {}: {e}", dir.display())))?;
            let path = dir.join(METRICS_FILE);
            Some(match resume_dir {
                Some(_) => MetricsLog::resume(path, state.global_step)?,
                None => MetricsLog::create(path)?,
            })
        }
        None => None,
    };
    let mut history = Vec::new();
    while trainer.steps() < config.max_steps {
        let batch: Vec<Vec<u32>> = order
            .take(config.prompts_per_step)
            .into_iter()
            .map(|i| prompts[i].clone())
            .collect();
        let out = trainer.step(&batch, detokenize)?;
        if let Some(log) = log.as_mut() {
            let record = MetricsRecord::new(trainer.optimizer_steps(), order.epoch())
                .with_all(out.metrics.iter().map(|(k, v)| (k.clone(), *v)));
            log.log(&record)?;
        }
        tracing::info!(
            step = trainer.steps(),
            reward = out.metrics.get("reward").copied().unwrap_or(f64::NAN),
            loss = out.metrics.get("loss").copied().unwrap_or(f64::NAN),
            "grpo step"
        );
        history.push(out.metrics);
        let mu = config.num_iterations as u64;
        nonfinite_in_a_row = if out.skipped_nonfinite == mu {
            nonfinite_in_a_row + mu
        } else if out.skipped_nonfinite > 0 {
            // μ > 1 with a later pass skipped: the run of skipped updates starts there.
            out.skipped_nonfinite
        } else {
            0
        };
        if nonfinite_in_a_row >= config.max_consecutive_nonfinite_steps {
            return Err(Error::NonFinite {
                count: nonfinite_in_a_row,
                step: trainer.optimizer_steps(),
            });
        }
        if let Some(checkpointer) = &checkpointer
            && config.save_steps > 0
            && trainer.steps().is_multiple_of(config.save_steps)
        {
            state.global_step = trainer.optimizer_steps();
            state.epoch = order.epoch();
            state.data_cursor = order.consumed();
            state.rng_state = Position {
                rollout_steps: trainer.steps(),
                nonfinite_in_a_row,
            }
            .to_json();
            save_checkpoint(checkpointer, &trainer, &state, options)?;
        }
    }
    Ok(GrpoRunOutput {
        metrics_path: log.as_ref().map(|l| l.path().to_path_buf()),
        policy: trainer.into_policy(),
        history,
        resumed_from: resume_dir,
    })
}

/// The hash stored in checkpoints: [`GrpoRunConfig::trajectory_hash`], and for a LoRA policy
/// also its adapters' settings and whether its base is kept quantized.
fn trajectory_hash(config: &GrpoRunConfig, policy: &CausalLm) -> Result<String> {
    let hash = config.trajectory_hash()?;
    Ok(match policy.lora_config() {
        None => hash,
        Some(lora) => prefopt_train::config_hash(&(hash, lora, policy.is_quantized()))?,
    })
}

/// The checkpoint to resume from, after checking that `output_dir` is used consistently.
fn resume_dir(config: &GrpoRunConfig, resume: bool) -> Result<Option<PathBuf>> {
    let Some(dir) = &config.output_dir else {
        return if resume {
            Err(invalid(
                "output_dir",
                "resuming needs the output directory that holds the checkpoints",
            ))
        } else {
            Ok(None)
        };
    };
    Ok(start_in_output_dir(dir, "output_dir", resume)?)
}

fn save_checkpoint(
    checkpointer: &Checkpointer,
    trainer: &GrpoTrainer,
    state: &TrainerState,
    options: &GrpoRunOptions,
) -> Result<()> {
    let policy = trainer.policy();
    let tokenizer_dir = options.tokenizer_dir.as_deref();
    let base = options.base_model.as_deref();
    checkpointer.save(policy, trainer.optimizer(), state, |dir: &Path| {
        save_model(policy, base, tokenizer_dir, dir)
    })?;
    Ok(())
}

/// Writes `policy` into `dir`, with the tokenizer files of `tokenizer_dir`: in HF layout, or,
/// when it has LoRA adapters, its PEFT adapter (`base_model_name_or_path` = `base`).
///
/// # Errors
/// [`Error::File`] naming `dir`.
pub(crate) fn save_model(
    policy: &CausalLm,
    base: Option<&Path>,
    tokenizer_dir: Option<&Path>,
    dir: &Path,
) -> Result<()> {
    match policy.lora_config() {
        Some(_) => {
            let base = base.map_or_else(String::new, |b| b.to_string_lossy().into_owned());
            policy.save_peft_adapter(dir, &base)
        }
        None => policy.save_hf(dir),
    }
    .map_err(|e| Error::file("saving the policy to", dir, e))?;
    if let Some(from) = tokenizer_dir {
        prefopt_train::copy_tokenizer_files(from, dir)?;
    }
    Ok(())
}

/// Where a run stands beyond `TrainerState`'s fields (kept in its `rng_state`).
#[derive(Debug, Clone, Copy, Default)]
struct Position {
    /// Rollout batches done (the sampler of step s draws from `seed + s`).
    rollout_steps: u64,
    /// Skipped (non-finite) optimizer updates in a row at the checkpoint.
    nonfinite_in_a_row: u64,
}

impl Position {
    fn read(state: &TrainerState) -> Self {
        let get = |key: &str| state.rng_state.get(key).and_then(serde_json::Value::as_u64);
        Self {
            rollout_steps: get("rollout_steps").unwrap_or(0),
            nonfinite_in_a_row: get("nonfinite_in_a_row").unwrap_or(0),
        }
    }

    fn to_json(self) -> serde_json::Value {
        json!({
            "rollout_steps": self.rollout_steps,
            "nonfinite_in_a_row": self.nonfinite_in_a_row,
        })
    }
}
