//! A whole `prefopt grpo` run from a [`GrpoFile`]: load the tokenizer, the prompts, the
//! rewards and the policy (with fresh LoRA adapters under `[lora]`, on a base kept quantized
//! with `keep_quantized`), run [`run_valid_grpo`], save the trained policy (or its adapter)
//! beside its tokenizer.

use std::path::PathBuf;

use burn::prelude::*;
use prefopt_data::{DatasetOptions, ReadOptions, load_prompt_dataset};
use prefopt_models::CausalLm;

use crate::error::{Error, Result};
use crate::reward::RewardFn;
use crate::reward_model::{REWARD_MODEL, RewardModelReward};

use super::detokenize::tokenizer_detokenizer;
use super::grpo_file::GrpoFile;
use super::registry::RewardRegistry;
use super::run::{GrpoRunOptions, run_valid_grpo, save_model};

/// What [`run_grpo_file`] did.
#[derive(Debug, Clone, PartialEq)]
pub struct GrpoFileReport {
    /// Mean total reward of each rollout batch this call ran, in order (NaN where no completion
    /// had a reward).
    pub rewards: Vec<f64>,
    /// Where the trained policy was saved (`[model] output_dir`; under `[lora]` the adapter,
    /// or with `merge` the merged model and the adapter in `output_dir/adapter/`).
    pub output_dir: PathBuf,
    /// Where the metrics were written.
    pub metrics_path: Option<PathBuf>,
    /// The checkpoint the run continued from (`resume`).
    pub resumed_from: Option<PathBuf>,
}

/// Runs the GRPO run `file` describes on `device` (the policy is loaded on
/// `device.autodiff()`), choosing its `[[grpo.rewards]]` from `rewards` plus, when
/// `[model] reward_model` is set, [`RewardModelReward`] as `reward_model` (loaded only if
/// used). The trained policy and the tokenizer files go to `[model] output_dir`, with
/// `metrics.jsonl` and the checkpoints (`[grpo] save_steps`). With `resume` the run continues
/// from the newest checkpoint there.
///
/// With `[lora]` the policy is the base of `[model] path` (kept quantized with
/// `keep_quantized`) with fresh adapters seeded by `[grpo] seed`; only they train, the KL
/// reference is the base with the adapters off, the checkpoints hold the PEFT adapter, and the
/// output is written by [`LoraSection::save_output`](prefopt_train::LoraSection::save_output),
/// as the offline trainer's.
///
/// # Errors
/// An invalid file (checked before anything is loaded), [`Error::File`] naming a file that
/// cannot be loaded or saved, a policy whose vocabulary is smaller than the tokenizer's, and
/// any error of the run.
pub fn run_grpo_file(
    file: GrpoFile,
    mut rewards: RewardRegistry,
    device: &Device,
    resume: bool,
) -> Result<GrpoFileReport> {
    file.check_model()?;
    if let Some(dir) = &file.model.reward_model
        && !rewards.contains(REWARD_MODEL)
    {
        let (dir, rm_device) = (dir.clone(), device.clone());
        rewards.register(REWARD_MODEL, move || {
            Ok(Box::new(RewardModelReward::load(&dir, &rm_device)?) as Box<dyn RewardFn>)
        });
    }
    rewards.set_device(device);
    file.check_rewards(&rewards)?;
    let GrpoFile {
        model,
        data,
        grpo: mut config,
        lora,
    } = file;
    config.output_dir = Some(model.output_dir.clone());
    let valid = config.init()?;
    let tokenizer_dir = model.tokenizer_dir();
    let tokenizer = prefopt_train::load_tokenizer(tokenizer_dir, model.chat_template.as_deref())?;
    let options = DatasetOptions {
        read: ReadOptions {
            skip_bad_rows: data.skip_bad_rows,
        },
        ..DatasetOptions::default()
    };
    let prompts = load_prompt_dataset(&data.prompts, &tokenizer, &options, None)
        .map_err(|e| Error::file("reading the prompts", &data.prompts, e))?;
    let prompt_ids: Vec<Vec<u32>> = prompts
        .examples
        .iter()
        .map(|p| p.prompt_ids.clone())
        .collect();
    let reward_set = rewards.build(&valid.config().rewards, valid.config().loss.num_generations)?;
    let policy = CausalLm::load_with(
        &model.path,
        &device.clone().autodiff(),
        &model.load_options(),
    )
    .and_then(|base| match &lora {
        Some(lora) => base.with_lora(&lora.adapter_config(), valid.config().seed),
        None => Ok(base),
    })
    .map_err(|e| Error::file("loading the policy", &model.path, e))?;
    policy.check_vocab(tokenizer.vocab_size())?;
    let detokenize = tokenizer_detokenizer(&tokenizer);
    let run_options = GrpoRunOptions {
        resume,
        tokenizer_dir: Some(tokenizer_dir.to_path_buf()),
        base_model: lora.is_some().then(|| model.path.clone()),
    };
    let out = run_valid_grpo(
        valid,
        policy,
        reward_set,
        &prompt_ids,
        &detokenize,
        &run_options,
    )?;
    match &lora {
        Some(lora) => lora
            .save_output(
                &out.policy.valid(),
                &model.path,
                tokenizer_dir,
                &model.output_dir,
            )
            .map_err(|e| Error::file("saving the policy to", &model.output_dir, e))?,
        None => save_model(&out.policy, None, Some(tokenizer_dir), &model.output_dir)?,
    }
    let rewards: Vec<f64> = out
        .history
        .iter()
        .map(|m| m.get("reward").copied().unwrap_or(f64::NAN))
        .collect();
    Ok(GrpoFileReport {
        rewards,
        output_dir: model.output_dir,
        metrics_path: out.metrics_path,
        resumed_from: out.resumed_from,
    })
}
