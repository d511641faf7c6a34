//! The image GRPO run: `max_steps` steps, `metrics.jsonl`, evaluation every `eval_steps`,
//! checkpoints every `save_steps` (`prefopt-train`'s [`Checkpointer`]) and exact `--resume`:
//! the prompts of step `s` and every random draw of it are functions of `(seed, s)`.

use std::path::{Path, PathBuf};

use burn::prelude::*;
use prefopt_core::invalid;
use prefopt_models::FluxPipelineModel;
use prefopt_train::{
    Checkpointer, GradientAccumulator, MetricsLog, MetricsRecord, TrainOptions, TrainProgress,
    TrainerConfig, TrainerState, check_finite, clip_grad_norm, finish_pipeline_run,
    start_in_output_dir,
};

use super::config::FlowGrpoConfig;
use super::env::{FlowGrpoEnv, FlowPrompt};
use super::step::{FlowGrpoStep, group_std_mean, stream, train_timesteps};
use crate::error::{Error, Result};
use crate::online::prompt_order::PromptOrder;

/// The metrics file in `output_dir`.
const METRICS_FILE: &str = "metrics.jsonl";

/// What a finished run reports.
#[derive(Debug, Clone)]
pub struct FlowGrpoReport {
    /// The output directory (final pipeline in `model_index.json` layout).
    pub output_dir: PathBuf,
    /// Steps done in total (resumed ones included).
    pub global_step: u64,
    /// `(step, loss)` of each step this process ran.
    pub losses: Vec<(u64, f64)>,
}

/// Trains the pipeline in `base` (loaded on the autodiff device; on resume the newest
/// checkpoint's weights) with Flow-GRPO on `env`'s prompts and rewards. The reference for
/// `kl_beta > 0` is `base` itself, loaded without autodiff. `config_hash` identifies the run
/// (a resume with another config is refused).
///
/// # Errors
/// Invalid settings (naming the key), checkpoints in `output_dir` without `resume` (or none
/// with it), model, reward and I/O errors, a non-finite loss or gradient norm (the last good
/// checkpoint is kept).
pub fn train_flow_grpo<E: FlowGrpoEnv>(
    base: &Path,
    env: &E,
    training: &TrainerConfig,
    grpo: &FlowGrpoConfig,
    config_hash: &str,
    device: &Device,
    options: &TrainOptions,
) -> Result<FlowGrpoReport> {
    let stepper = FlowGrpoStep::new(grpo)?;
    let prompts = env.prompts();
    if prompts.is_empty() {
        return Err(invalid("prompts", "there are no training prompts"));
    }
    let total = training.total_steps(None)?;
    let schedule = training.schedule(total)?;
    let optimizer = training.init()?;
    let output_dir = training.output_dir.clone();
    let resume_from = start_in_output_dir(&output_dir, "training.output_dir", options.resume)?;
    let resumed = resume_from.is_some();
    let autodiff = device.clone().autodiff();
    let (mut model, mut optimizer, mut state) = if let Some(dir) = resume_from {
        let loaded = FluxPipelineModel::load(&dir, &autodiff)
            .map_err(|e| Error::file("loading the checkpoint", &dir, e))?;
        let r = Checkpointer::resume(&dir, loaded, optimizer)?;
        r.state.check_config_hash(config_hash)?;
        (r.model, r.optimizer, r.state)
    } else {
        let model = FluxPipelineModel::load(base, &autodiff)
            .map_err(|e| Error::file("loading the base pipeline", base, e))?;
        (
            model,
            optimizer,
            TrainerState::new(training.seed, config_hash),
        )
    };
    let reference = if grpo.kl_beta > 0.0 {
        let r = FluxPipelineModel::load(base, device)
            .map_err(|e| Error::file("loading the reference pipeline", base, e))?;
        let rope = r.rope(device)?;
        Some((r, rope))
    } else {
        None
    };
    std::fs::create_dir_all(&output_dir)
        .map_err(|e| prefopt_core::CoreError::io(&output_dir, e))?;
    let checkpointer = Checkpointer::new(&output_dir, training.save_total_limit);
    let metrics_path = output_dir.join(METRICS_FILE);
    let mut metrics = if resumed {
        MetricsLog::resume(&metrics_path, state.global_step)?
    } else {
        MetricsLog::create(&metrics_path)?
    };
    if !options.resume && training.eval_steps.is_some() {
        let values = env.evaluate(0, &model.valid(), device)?;
        if !values.is_empty() {
            metrics.log(&eval_record(0, values))?;
        }
    }
    let mut progress = if options.progress {
        TrainProgress::new(total, state.global_step)
    } else {
        TrainProgress::hidden(total)
    };
    let rope = model.rope(&autodiff)?;
    let per_step = grpo.prompts_per_step;
    let g = grpo.group_size;
    let trained = grpo.trained_timesteps();
    let update_size = training.gradient_accumulation_steps.max(1);
    let mut report = FlowGrpoReport {
        output_dir: output_dir.clone(),
        global_step: state.global_step,
        losses: Vec::new(),
    };

    while state.global_step < total {
        let step = state.global_step + 1;
        let consumed = (step - 1) * per_step as u64;
        let chosen: Vec<&FlowPrompt> = PromptOrder::new(training.seed, prompts.len(), consumed)
            .take(per_step)
            .into_iter()
            .map(|i| &prompts[i])
            .collect();
        let rollout = stepper.rollout(&model.valid(), &chosen, training.seed, step, device)?;
        let n = rollout.len();
        let images = env.decode(&rollout.pixels, rollout.shape)?;
        if images.len() != n {
            return Err(Error::SizeMismatch {
                what: "decoded images",
                expected: n,
                got: images.len(),
            });
        }
        let texts: Vec<&str> = (0..n).map(|k| chosen[k / g].text.as_str()).collect();
        let refs: Vec<&E::Image> = images.iter().collect();
        let columns = env.rewards().score(&texts, &refs)?;
        let advantages = stepper.estimator().compute(&columns)?;
        let mut ts_rng = stream(training.seed, step, 3);
        let timesteps: Vec<Vec<usize>> = (0..n)
            .map(|_| train_timesteps(&mut ts_rng, grpo.sampling_steps, trained))
            .collect();

        let lr = schedule.lr_at(state.global_step);
        let (mut loss_sum, mut grad_norm, mut updates) = (0.0, None, 0usize);
        let (mut ratios, mut clip_sum, mut kl_sum, mut kl_count) = (Vec::new(), 0.0, 0.0, 0);
        let order: Vec<usize> = (0..n).collect();
        for chunk in order.chunks(update_size) {
            let mut accumulator = GradientAccumulator::new();
            for &k in chunk {
                let image = stepper.image_loss(
                    &model,
                    &rope,
                    &rollout,
                    k,
                    &timesteps[k],
                    advantages.advantages[k],
                    reference.as_ref().map(|(m, r)| (m, r)),
                    &autodiff,
                )?;
                ratios.extend(image.ratios);
                clip_sum += image.clip_fraction;
                if let Some(kl) = image.kl {
                    kl_sum += kl;
                    kl_count += 1;
                }
                accumulator.backward(&model, image.loss, 1.0 / chunk.len() as f64);
            }
            let mut accumulated = accumulator.finish();
            let loss = f64::from(accumulated.loss.clone().into_scalar::<f32>());
            if let Err(e) = check_finite(step, "loss", loss) {
                progress.finish();
                tracing::error!(step, loss, last_checkpoint = ?checkpointer.latest()?,
                    "non-finite loss: training stopped; the last good checkpoint is kept");
                return Err(e.into());
            }
            let norm = training
                .clip_norm()
                .map(|max| clip_grad_norm(&model, &mut accumulated.grads, max));
            if let Some(norm) = norm {
                check_finite(step, "grad_norm", norm)?;
            }
            grad_norm = norm;
            model = optimizer.step(lr, model, accumulated.grads);
            loss_sum += loss * chunk.len() as f64;
            updates += 1;
        }
        let loss = loss_sum / n as f64;
        state.global_step = step;
        state.data_cursor = step * per_step as u64;
        state.epoch = state.data_cursor as f64 / prompts.len() as f64;
        report.losses.push((step, loss));
        report.global_step = step;
        progress.step(step, n as u64, Some(loss), Some(lr));

        if training.should_log(step) {
            let mut record = MetricsRecord::train(step, state.epoch, loss, grad_norm, lr)
                .with_all(advantages.metrics.clone())
                .with("group_reward_std", group_std_mean(&advantages.rewards, g))
                .with(
                    "advantage_abs_mean",
                    advantages.advantages.iter().map(|a| a.abs()).sum::<f64>() / n as f64,
                )
                .with("clip_fraction", clip_sum / n as f64)
                .with("optimizer_updates", updates as f64);
            for column in &columns {
                record = record.with(
                    format!("rewards/{}/group_std", column.name),
                    group_std_mean(&column.as_nan_vec(), g),
                );
            }
            if !ratios.is_empty() {
                let mean = ratios.iter().sum::<f64>() / ratios.len() as f64;
                let dev = ratios.iter().map(|r| (r - 1.0).abs()).fold(0.0, f64::max);
                record = record
                    .with("ratio/mean", mean)
                    .with("ratio/max_abs_dev", dev);
            }
            if kl_count > 0 {
                record = record.with("kl", kl_sum / f64::from(kl_count));
            }
            record.values.retain(|(_, v)| v.is_finite());
            metrics.log(&record)?;
        }
        if training.should_eval(step) {
            let values = env.evaluate(step, &model.valid(), device)?;
            if !values.is_empty() {
                metrics.log(&eval_record(step, values))?;
            }
        }
        if training.should_save(step) {
            let m = &model;
            checkpointer.save(m, &optimizer, &state, |dir: &Path| m.save(dir))?;
        }
    }
    progress.finish();
    finish_pipeline_run(&model, &output_dir, &metrics_path, options)?;
    tracing::info!(steps = state.global_step, dir = %output_dir.display(), "flow-GRPO run done");
    Ok(report)
}

fn eval_record(step: u64, values: Vec<(String, f64)>) -> MetricsRecord {
    MetricsRecord::new(step, 0.0).with_all(
        values
            .into_iter()
            .filter(|(_, v)| v.is_finite())
            .map(|(k, v)| (format!("eval/{k}"), v)),
    )
}
