//! The run loop: `max_steps` GRPO steps over a prompt set, metrics to `metrics.jsonl`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use prefopt_core::SplitMix64;
use prefopt_models::CausalLm;
use prefopt_train::{MetricsLog, MetricsRecord};

use crate::error::{Error, Result};
use crate::reward::RewardSet;

use super::config::{GrpoRunConfig, ValidGrpoConfig};
use super::trainer::GrpoTrainer;

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
    run_valid_grpo(config.init()?, policy, rewards, prompts, detokenize)
}

/// [`run_grpo`] with a config already checked and built by [`GrpoRunConfig::init`].
///
/// # Errors
/// An empty prompt list, and any step error (the run stops at that step).
pub fn run_valid_grpo(
    valid: ValidGrpoConfig,
    policy: CausalLm,
    rewards: RewardSet,
    prompts: &[Vec<u32>],
    detokenize: &dyn Fn(&[u32]) -> String,
) -> Result<GrpoRunOutput> {
    let config = valid.config();
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
    let mut trainer = GrpoTrainer::from_valid(valid, policy, rewards)?;
    let mut order: Vec<usize> = Vec::new();
    let mut cursor = 0usize;
    let mut consumed = 0usize;
    let mut history = Vec::new();
    for _ in 0..max_steps {
        let mut batch = Vec::with_capacity(per_step);
        while batch.len() < per_step {
            if cursor == order.len() {
                order = (0..prompts.len()).collect();
                rng.shuffle(&mut order);
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
