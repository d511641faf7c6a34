//! The flow-matching training loop of a pixel-space text-to-image pipeline
//! ([`prefopt_models::FluxPipelineModel`]): rectified-flow loss, AdamW, the lr schedule,
//! clipping, accumulation, checkpoints with exact resume, metrics JSONL, progress and plots —
//! the same pieces as the language-model loop, around a different forward pass.
//!
//! Exact resume: the batch of step `s` and every random draw of it (captions dropped, σ, ε)
//! depend only on `(seed, s)`, so a resumed run replays the uninterrupted one bit for bit.

use std::path::{Path, PathBuf};

use burn::prelude::*;
use prefopt_core::SplitMix64;
use prefopt_models::{FlowMatchingBatch, FluxPipelineModel, flow_matching_loss};

use crate::accumulate::{GradientAccumulator, uniform_weights};
use crate::checkpoint::{Checkpointer, start_in_output_dir};
use crate::clip::clip_grad_norm;
use crate::error::{Error, Result, io};
use crate::flow_section::FlowSection;
use crate::metrics::{MetricsLog, MetricsRecord, check_finite};
use crate::plot::{PlotSize, plot_metrics_file};
use crate::progress::TrainProgress;
use crate::train_loop::{METRICS_FILE, TrainOptions};
use crate::trainer_config::TrainerConfig;
use crate::trainer_state::TrainerState;

/// One micro-batch of training pairs: token-id prompts and images in `[-1, 1]`.
#[derive(Debug, Clone)]
pub struct FlowBatch {
    /// Token ids of each caption (unpadded; the text encoder pads).
    pub prompts: Vec<Vec<u32>>,
    /// Pixels, row-major `[b, c, h, w]`, scaled to `[-1, 1]`.
    pub pixels: Vec<f32>,
    /// `[b, c, h, w]`.
    pub shape: [usize; 4],
}

/// Where a flow-matching run's training pairs come from: a pure function of the step and
/// micro-batch index, so that a resumed run sees the same batches.
pub trait FlowData {
    /// The `micro`-th micro-batch of optimizer step `step` (1-based), `size` pairs.
    ///
    /// # Errors
    /// Whatever the source reports (a boxed error; the loop wraps it with the step).
    fn batch(
        &self,
        step: u64,
        micro: usize,
        size: usize,
    ) -> std::result::Result<FlowBatch, Box<dyn std::error::Error + Send + Sync>>;
}

/// What a finished flow-matching run reports.
#[derive(Debug, Clone)]
pub struct FlowTrainReport {
    /// The output directory (final pipeline in `model_index.json` layout).
    pub output_dir: PathBuf,
    /// Optimizer steps done in total (including resumed ones).
    pub global_step: u64,
    /// `(step, loss)` of each step this process ran.
    pub losses: Vec<(u64, f64)>,
}

/// A stream seed for `(seed, step, micro, purpose)`, independent across its inputs.
fn stream(seed: u64, step: u64, micro: usize, purpose: u64) -> SplitMix64 {
    let per_step = SplitMix64::for_stream(seed ^ 0xF10_0D47A, step).next_u64();
    SplitMix64::for_stream(per_step, micro as u64 * 16 + purpose)
}

/// Trains the pipeline `init` builds on the device it is given (the autodiff device; not
/// called on resume, where the checkpoint's pipeline is loaded) by flow matching on `data`, as `training` and `flow` say, writing checkpoints, `metrics.jsonl`,
/// plots and the final pipeline into `training.output_dir`. `config_hash` identifies the run's
/// config (a resume with another config is refused).
///
/// # Errors
/// Invalid knobs (naming the key), existing checkpoints without `resume`, a missing
/// checkpoint with it, data errors (naming the step), a non-finite loss (the last good
/// checkpoint is kept) and I/O errors.
pub fn train_flow(
    init: impl FnOnce(&Device) -> prefopt_models::Result<FluxPipelineModel>,
    training: &TrainerConfig,
    flow: &FlowSection,
    data: &dyn FlowData,
    config_hash: &str,
    device: &Device,
    options: &TrainOptions,
) -> Result<FlowTrainReport> {
    flow.validate()?;
    let optimizer = training.init()?;
    let total = training.total_steps(None)?;
    let schedule = training.schedule(total)?;
    let output_dir = training.output_dir.clone();
    let resume_from = start_in_output_dir(&output_dir, "training.output_dir", options.resume)?;
    let autodiff = device.clone().autodiff();
    let (mut model, mut optimizer, mut state, resumed) = if let Some(dir) = resume_from {
        let loaded = FluxPipelineModel::load(&dir, &autodiff)?;
        let r = Checkpointer::resume(&dir, loaded, optimizer)?;
        r.state.check_config_hash(config_hash)?;
        (r.model, r.optimizer, r.state, true)
    } else {
        let state = TrainerState::new(training.seed, config_hash);
        (init(&autodiff)?, optimizer, state, false)
    };
    std::fs::create_dir_all(&output_dir).map_err(io(&output_dir))?;
    let checkpointer = Checkpointer::new(&output_dir, training.save_total_limit);
    let metrics_path = output_dir.join(METRICS_FILE);
    let mut metrics = if resumed {
        MetricsLog::resume(&metrics_path, state.global_step)?
    } else {
        MetricsLog::create(&metrics_path)?
    };
    let mut progress = if options.progress {
        TrainProgress::new(total, state.global_step)
    } else {
        TrainProgress::hidden(total)
    };
    let rope = model.rope(&autodiff)?;
    let micro_count = training.gradient_accumulation_steps.max(1);
    let size = training.per_device_train_batch_size;
    let mut accumulator = GradientAccumulator::new();
    let mut report = FlowTrainReport {
        output_dir: output_dir.clone(),
        global_step: state.global_step,
        losses: Vec::new(),
    };

    while state.global_step < total {
        let step = state.global_step + 1;
        let weights = uniform_weights(micro_count);
        let mut images_seen = 0u64;
        for (micro, &w) in weights.iter().enumerate() {
            let batch = data
                .batch(step, micro, size)
                .map_err(|source| Error::StepData {
                    step,
                    message: source.to_string(),
                })?;
            images_seen += batch.shape[0] as u64;
            let mut prompts = batch.prompts;
            let mut drop_rng = stream(training.seed, step, micro, 1);
            for p in &mut prompts {
                if drop_rng.next_f64() < flow.caption_dropout {
                    p.clear();
                }
            }
            let x0 = Tensor::<4>::from_data(TensorData::new(batch.pixels, batch.shape), &autodiff);
            let packed = model.pack(x0)?;
            let mut noise_rng = stream(training.seed, step, micro, 2);
            let fm = FlowMatchingBatch::new(packed, flow.sampling(), flow.shift, &mut noise_rng)?;
            let text = model.encode_prompts(&prompts, &autodiff)?;
            let v = model.velocity(fm.noisy, fm.sigma, &text, None, &rope)?;
            let loss = flow_matching_loss(v, fm.target);
            accumulator.backward(&model, loss, w);
        }
        let mut accumulated = accumulator.finish();
        let loss = f64::from(accumulated.loss.clone().into_scalar::<f32>());
        if let Err(e) = check_finite(step, "loss", loss) {
            progress.finish();
            tracing::error!(
                step,
                loss,
                last_checkpoint = ?checkpointer.latest()?,
                "non-finite loss: training stopped; the last good checkpoint is kept"
            );
            return Err(e);
        }
        let grad_norm = training
            .clip_norm()
            .map(|max| clip_grad_norm(&model, &mut accumulated.grads, max));
        if let Some(norm) = grad_norm {
            check_finite(step, "grad_norm", norm)?;
        }
        let lr = schedule.lr_at(state.global_step);
        model = optimizer.step(lr, model, accumulated.grads);
        state.global_step = step;
        state.data_cursor = step;
        state.epoch = 0.0;
        report.losses.push((step, loss));
        report.global_step = step;
        progress.step(step, images_seen, Some(loss), Some(lr));
        if training.should_log(step) {
            metrics.log(&MetricsRecord::train(step, 0.0, loss, grad_norm, lr))?;
        }
        if training.should_save(step) {
            let m = &model;
            checkpointer.save(m, &optimizer, &state, |dir: &Path| m.save(dir))?;
        }
    }
    progress.finish();
    finish_pipeline_run(&model, &output_dir, &metrics_path, options)?;
    tracing::info!(steps = state.global_step, dir = %output_dir.display(), "flow-matching run done");
    Ok(report)
}

/// The end of a run that trains an image pipeline (flow matching here, Flow-GRPO in
/// `prefopt-rl`): the final pipeline into `output_dir` (diffusers layout) and, unless
/// `options.no_plots`, the metric plots into `output_dir/plots`.
///
/// # Errors
/// The pipeline or a plot cannot be written.
pub fn finish_pipeline_run(
    model: &FluxPipelineModel,
    output_dir: &Path,
    metrics_path: &Path,
    options: &TrainOptions,
) -> Result<()> {
    model.valid().save(output_dir)?;
    if !options.no_plots {
        plot_metrics_file(metrics_path, &output_dir.join("plots"), PlotSize::default())?;
    }
    Ok(())
}
