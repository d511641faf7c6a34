//! The training stages of the demo and of the real-model run as runs of `prefopt-train`'s
//! one loop ([`prefopt_train::train`]): the pipelines only fill in a [`RunConfig`] per stage.

use std::path::PathBuf;

use burn::prelude::Device;
use prefopt_models::CausalLm;
use prefopt_objectives::dpo::DpoConfig;
use prefopt_objectives::lipo::{LipoConfig, LipoLossType};
use prefopt_train::{
    DataSection, LoraSection, LrSchedulerType, Method, ModelSection, RunConfig, TrainOptions,
    TrainerConfig, train,
};

use crate::error::Result;

use super::config::{AlignStageConfig, SftStageConfig};

/// One stage's inputs.
#[derive(Debug, Clone)]
pub(crate) struct StageRun {
    /// Initial weights (and reference for DPO / LiPO).
    pub model_dir: PathBuf,
    /// Tokenizer directory.
    pub tokenizer_dir: PathBuf,
    /// Training JSONL.
    pub train_file: PathBuf,
    /// Where the trained model goes.
    pub output_dir: PathBuf,
    /// Longest row in tokens.
    pub max_length: usize,
    /// Rows per reference log-prob batch.
    pub batch_rows: usize,
    /// Seed of shuffling.
    pub seed: u64,
    /// LoRA adapters instead of full fine-tuning (`None`: every weight trains). The stage
    /// writes the merged model, so its output loads like a full fine-tune.
    pub lora: Option<LoraSection>,
    /// Keep a GGUF base quantized under the adapters (QLoRA; needs `lora`).
    pub keep_quantized: bool,
    /// A `metrics.jsonl` line every this many optimizer steps (each also a `debug` event of
    /// target `prefopt_train::metrics`, whose timestamps give the time per step).
    pub logging_steps: u64,
}

/// One trained stage: the final model, where it was saved, and how many optimizer steps ran.
#[derive(Debug)]
pub(crate) struct StageOutput {
    /// The trained model (LoRA adapters merged).
    pub model: CausalLm,
    /// Its HF checkpoint directory.
    pub dir: PathBuf,
    /// Optimizer steps.
    pub steps: u64,
}

fn trainer(
    run: &StageRun,
    epochs: f64,
    batch_size: usize,
    learning_rate: f64,
    warmup_ratio: f64,
) -> TrainerConfig {
    TrainerConfig {
        output_dir: run.output_dir.clone(),
        learning_rate,
        lr_scheduler_type: LrSchedulerType::Linear,
        warmup_ratio,
        num_train_epochs: epochs,
        per_device_train_batch_size: batch_size,
        max_grad_norm: 1.0,
        weight_decay: 0.0,
        seed: run.seed,
        logging_steps: run.logging_steps.max(1),
        // Only the final model is saved: the demo never resumes.
        save_steps: u64::MAX / 2,
        ..TrainerConfig::default()
    }
}

fn run_config(run: &StageRun, training: TrainerConfig) -> RunConfig {
    RunConfig {
        model: ModelSection {
            path: run.model_dir.clone(),
            tokenizer: Some(run.tokenizer_dir.clone()),
            keep_quantized: run.keep_quantized,
            ..ModelSection::default()
        },
        data: DataSection {
            train: run.train_file.clone(),
            max_length: Some(run.max_length),
            per_device_eval_batch_size: run.batch_rows,
            ..DataSection::default()
        },
        training,
        lora: run.lora.clone().map(|lora| LoraSection {
            merge: true,
            ..lora
        }),
        ..RunConfig::default()
    }
}

fn finish(config: RunConfig, method: Method, device: &Device) -> Result<StageOutput> {
    let options = TrainOptions {
        resume: false,
        progress: false,
        no_plots: false,
    };
    let report = train(config.init(method)?, device, &options)?;
    tracing::info!(
        method = method.as_str(),
        steps = report.global_step,
        final_loss = report.losses.last().map(|l| l.1),
        "stage done"
    );
    let model = CausalLm::load_hf(&report.output_dir, device)?;
    Ok(StageOutput {
        model,
        dir: report.output_dir,
        steps: report.global_step,
    })
}

/// Supervised fine-tuning on the SFT corpus.
pub(crate) fn sft(run: &StageRun, stage: &SftStageConfig, device: &Device) -> Result<StageOutput> {
    let training = trainer(
        run,
        stage.epochs,
        stage.batch_size,
        stage.learning_rate,
        stage.warmup_ratio,
    );
    finish(run_config(run, training), Method::Sft, device)
}

/// The run config shared by the DPO and LiPO stages: `stage`'s trainer settings.
fn align_config(run: &StageRun, stage: &AlignStageConfig) -> RunConfig {
    let training = trainer(
        run,
        stage.epochs,
        stage.batch_size,
        stage.learning_rate,
        stage.warmup_ratio,
    );
    run_config(run, training)
}

/// DPO (sigmoid loss) on the pairs, reference = the initial model, log-probs precomputed.
pub(crate) fn dpo(
    run: &StageRun,
    stage: &AlignStageConfig,
    device: &Device,
) -> Result<StageOutput> {
    let mut config = align_config(run, stage);
    config.dpo = DpoConfig {
        beta: stage.beta,
        ..DpoConfig::default()
    };
    finish(config, Method::Dpo, device)
}

/// A LiPO-family loss (`loss_type`; LiPO-λ for the demo) on the lists, reference = the
/// initial model, log-probs precomputed.
pub(crate) fn lipo(
    run: &StageRun,
    stage: &AlignStageConfig,
    loss_type: LipoLossType,
    device: &Device,
) -> Result<StageOutput> {
    let mut config = align_config(run, stage);
    config.lipo = LipoConfig::new()
        .with_beta(stage.beta)
        .with_loss_type(loss_type);
    finish(config, Method::Lipo, device)
}
