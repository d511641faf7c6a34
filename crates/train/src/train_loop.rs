//! The one training loop of SFT, DPO, LiPO and NextQuill (and its baselines).
//!
//! Setup (config checks, tokenizer, data sets, reference log-probs, model) runs before anything
//! is written to `output_dir`'s checkpoints; if it fails and `output_dir` did not exist before,
//! the directory is removed again, so bad input leaves nothing behind.

use prefopt_core::invalid;
use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::prelude::*;
use prefopt_data::{
    Collator, Cursor, GgufTokenizerFiles, LoaderConfig, TokenizedPersonal, Tokenizer,
    TokenizerFiles,
};
use prefopt_models::CausalLm;
use serde_json::json;

use crate::accumulate::{GradientAccumulator, proportional_weights};
use crate::checkpoint::{Checkpointer, start_in_output_dir};
use crate::clip::clip_grad_norm;
use crate::error::{Error, Result, io, json};
use crate::examples::{LoadedSplit, load_split};
use crate::metrics::{MetricsLog, MetricsRecord, check_finite};
use crate::optimizer::AdamW;
use crate::personal_eval::{
    PersonalEvalOptions, PersonalEvalReport, evaluate_and_write, load_test_split,
};
use crate::plot::{PlotSize, plot_metrics_file};
use crate::progress::TrainProgress;
use crate::reference_logps::{Reference, Split, precompute};
use crate::run_config::{Method, RunConfig, ValidRunConfig};
use crate::train_objective::TrainObjective;
use crate::trainer_state::TrainerState;

/// The metrics file in `output_dir`.
pub const METRICS_FILE: &str = "metrics.jsonl";
/// The resolved run config written to `output_dir`.
pub const RUN_CONFIG_FILE: &str = "run_config.json";

/// How to run (not part of the config file).
#[derive(Debug, Clone, Default)]
pub struct TrainOptions {
    /// Continue from the latest `checkpoint-N/` in `output_dir`.
    pub resume: bool,
    /// Draw the progress bar on a terminal (never drawn when stderr is not one).
    pub progress: bool,
    /// Skip the PNG plots at the end.
    pub no_plots: bool,
}

/// What a finished run reports.
#[derive(Debug, Clone)]
pub struct TrainReport {
    /// The output directory (final model in HF layout + tokenizer files).
    pub output_dir: PathBuf,
    /// Optimizer steps done in total (including resumed ones).
    pub global_step: u64,
    /// `(step, loss)` of each step this process ran.
    pub losses: Vec<(u64, f64)>,
    /// `(step, eval_loss)` of each evaluation this process ran.
    pub eval_losses: Vec<(u64, f64)>,
    /// Rows skipped as malformed in the training set.
    pub skipped_rows: usize,
    /// Held-out scores of a personalisation run with `[personalization] test`.
    pub personal_eval: Option<PersonalEvalReport>,
}

/// The tokenizer files worth copying next to a saved model.
const TOKENIZER_FILES: [&str; 6] = [
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "generation_config.json",
    "chat_template.jinja",
    "chat_template.json",
];

/// Copies the tokenizer files of `from` into `to` (those that exist); for a `.gguf` file,
/// writes the HF tokenizer files its metadata describes.
pub fn copy_tokenizer_files(from: &Path, to: &Path) -> Result<()> {
    if from.is_file() {
        // A GGUF checkpoint: write the HF tokenizer files its metadata describes.
        GgufTokenizerFiles::from_path(from)?.write(to)?;
        return Ok(());
    }
    for name in TOKENIZER_FILES {
        let src = from.join(name);
        if src.is_file() && from != to {
            let bytes = std::fs::read(&src).map_err(io(&src))?;
            prefopt_core::write_atomic(&to.join(name), &bytes)?;
        }
    }
    Ok(())
}

/// Loads the tokenizer of a run (selecting the named chat template): `tokenizer.json` and
/// `tokenizer_config.json` from a directory, or the `tokenizer.ggml.*` metadata of a `.gguf`
/// file.
pub fn load_tokenizer(dir: &Path, chat_template: Option<&str>) -> Result<Tokenizer> {
    if dir.is_file() {
        // A GGUF checkpoint carries its tokenizer and chat template in its metadata.
        let mut tokenizer = Tokenizer::from_gguf(dir)?;
        if let Some(name) = chat_template {
            tokenizer.select_chat_template(name)?;
        }
        return Ok(tokenizer);
    }
    let files = TokenizerFiles::in_dir(dir);
    if !files.tokenizer_json.is_file() {
        return Err(invalid(
            "model.tokenizer",
            format!(
                "no tokenizer: `{}` does not exist",
                files.tokenizer_json.display()
            ),
        ));
    }
    let mut tokenizer = Tokenizer::from_files(&files)?;
    if let Some(name) = chat_template {
        tokenizer.select_chat_template(name)?;
    }
    Ok(tokenizer)
}

/// Runs SFT, DPO, LiPO or a personalisation method as the checked config says (see
/// [`RunConfig::init`]: `train(config.init(method)?, &device, &options)`), on `device` (a plain
/// device; autodiff is added here), with the objective and optimizer `init` built.
pub fn train(run: ValidRunConfig, device: &Device, options: &TrainOptions) -> Result<TrainReport> {
    let (config, method, objective, optimizer) = run.into_parts();
    let config = &config;
    let output_dir = config.training.output_dir.clone();
    let existed = output_dir.exists();
    let resume_from = start_in_output_dir(&output_dir, "training.output_dir", options.resume)?;
    // The cache can outlive the run (and be shared by runs): only writes of dead processes go.
    let cache_dir = config.cache_dir();
    let orphans = prefopt_core::remove_orphaned_temporaries(&cache_dir)?;
    if orphans > 0 {
        tracing::info!(orphans, cache = %cache_dir.display(), "removed unfinished cache files");
    }
    // On rayon's pool, so that every kernel's caller works instead of waiting on a latch
    // (see `prefopt_models::on_pool`).
    prefopt_models::on_pool(|| {
        match setup(config, method, objective, optimizer, device, resume_from) {
            Ok(run) => run.run(config, options),
            Err(e) => {
                if !existed {
                    let _ = std::fs::remove_dir_all(&output_dir);
                }
                Err(e)
            }
        }
    })
}

/// Everything built before the first step.
struct Run {
    method: Method,
    device: Device,
    objective: TrainObjective,
    reference: Reference,
    train: LoadedSplit,
    eval: Option<LoadedSplit>,
    collator: Collator,
    tokenizer: Tokenizer,
    test: Option<Vec<TokenizedPersonal>>,
    tokenizer_dir: PathBuf,
    model: CausalLm,
    optimizer: AdamW,
    state: TrainerState,
    resumed_from: Option<PathBuf>,
}

fn setup(
    config: &RunConfig,
    method: Method,
    mut objective: TrainObjective,
    optimizer: AdamW,
    device: &Device,
    resume_from: Option<PathBuf>,
) -> Result<Run> {
    let tokenizer_dir = config.model.tokenizer_dir().to_path_buf();
    let tokenizer = load_tokenizer(&tokenizer_dir, config.model.chat_template.as_deref())?;
    let data_options = config.data.dataset_options();
    let cache_dir = config.cache_dir();
    let train = load_split(
        method,
        &config.data.train,
        &tokenizer,
        config,
        Some(&cache_dir),
    )?;
    let eval = config
        .data
        .eval
        .as_deref()
        .map(|path| load_split(method, path, &tokenizer, config, Some(&cache_dir)))
        .transpose()?;
    let test = match method {
        Method::NextQuill => load_test_split(config, &tokenizer, Some(&cache_dir))?,
        _ => None,
    };
    let pad_id = tokenizer.padding_id();
    let collator = Collator::new(pad_id).with_truncation(data_options.truncation);
    if config.needs_frozen_data_model(method) {
        let dir = config.model.reference_dir();
        let frozen = CausalLm::load_with(dir, device, &config.model.load_options())?;
        frozen.check_vocab(tokenizer.vocab_size())?;
        tracing::info!(model = %dir.display(), "frozen data model for the fixed data-side effect");
        objective = objective.with_frozen(frozen, device.clone());
    }

    let autodiff = device.clone().autodiff();
    let state_hash = config.trajectory_hash(method)?;
    let build_reference = |ref_model: CausalLm, ref_dir: &Path| -> Result<Reference> {
        if !config.reference.precompute_ref_log_probs {
            return Ok(Reference::Live(Box::new(ref_model)));
        }
        let batch = config
            .reference
            .precompute_ref_batch_size
            .unwrap_or(config.data.per_device_eval_batch_size);
        let rows = |split: &LoadedSplit| {
            precompute(
                &ref_model, ref_dir, split, &collator, batch, &cache_dir, device,
            )
        };
        let train_rows = rows(&train)?;
        let eval_rows = eval.as_ref().map(rows).transpose()?.unwrap_or_default();
        Ok(Reference::Precomputed {
            train: train_rows,
            eval: eval_rows,
        })
    };

    let (reference, (model, optimizer, state, resumed_from)) = if config.lora.is_some() {
        // LoRA: the reference is the policy's own base with the adapters switched off, which
        // shares the (frozen) base weights instead of loading a second copy.
        let policy = load_policy(
            config,
            &autodiff,
            resume_from.clone(),
            optimizer,
            state_hash,
        )?;
        policy.0.check_vocab(tokenizer.vocab_size())?;
        let reference = if method.needs_reference() {
            build_reference(policy.0.valid().without_adapters(), &config.model.path)?
        } else {
            Reference::None
        };
        (reference, policy)
    } else {
        // Reference: precomputed with the initial weights, then dropped; or kept live.
        let reference = if method.needs_reference() {
            let ref_dir = config.model.reference_dir();
            let ref_model = CausalLm::load(ref_dir, device)?;
            ref_model.check_vocab(tokenizer.vocab_size())?;
            build_reference(ref_model, ref_dir)?
        } else {
            Reference::None
        };
        let policy = load_policy(
            config,
            &autodiff,
            resume_from.clone(),
            optimizer,
            state_hash,
        )?;
        policy.0.check_vocab(tokenizer.vocab_size())?;
        (reference, policy)
    };
    Ok(Run {
        method,
        device: autodiff,
        objective,
        reference,
        train,
        eval,
        collator,
        tokenizer,
        test,
        tokenizer_dir,
        model,
        optimizer,
        state,
        resumed_from,
    })
}

/// The policy on the autodiff device (with fresh or resumed LoRA adapters under `[lora]`),
/// the optimizer, the trainer state and the checkpoint it resumed from.
fn load_policy(
    config: &RunConfig,
    autodiff: &Device,
    resume_from: Option<PathBuf>,
    optimizer: AdamW,
    state_hash: String,
) -> Result<(CausalLm, AdamW, TrainerState, Option<PathBuf>)> {
    let base = CausalLm::load_with(&config.model.path, autodiff, &config.model.load_options())?;
    let Some(dir) = resume_from else {
        let model = match &config.lora {
            Some(lora) => base.with_lora(&lora.adapter_config(), config.training.seed)?,
            None => base,
        };
        let state = TrainerState::new(config.training.seed, state_hash);
        return Ok((model, optimizer, state, None));
    };
    // A LoRA checkpoint holds the adapter only: the base comes from `model.path` again.
    let model = match &config.lora {
        Some(_) => base.load_peft_adapter(&dir)?,
        None => CausalLm::load(&dir, autodiff)?,
    };
    let resumed = Checkpointer::resume(&dir, model, optimizer)?;
    resumed.state.check_config_hash(&state_hash)?;
    Ok((resumed.model, resumed.optimizer, resumed.state, Some(dir)))
}

/// Writes `model` into `dir`: the PEFT adapter under `[lora]` (its `base_model_name_or_path`
/// is `model.path`), else the full HF checkpoint.
fn save_model(config: &RunConfig, model: &CausalLm, dir: &Path) -> Result<()> {
    match &config.lora {
        Some(_) => {
            let base = config.model.path.to_string_lossy();
            model.save_peft_adapter(dir, &base)?;
        }
        None => model.save_hf(dir)?,
    }
    Ok(())
}

/// Weighted running means of named metrics.
#[derive(Debug, Default)]
struct MetricMeans {
    sums: Vec<(&'static str, f64)>,
    weight: f64,
}

impl MetricMeans {
    fn add(&mut self, metrics: &[(&'static str, f64)], weight: f64) {
        for &(name, value) in metrics {
            match self.sums.iter_mut().find(|(n, _)| *n == name) {
                Some(slot) => slot.1 += weight * value,
                None => self.sums.push((name, weight * value)),
            }
        }
        self.weight += weight;
    }

    fn means(&self) -> impl Iterator<Item = (&'static str, f64)> + '_ {
        let w = if self.weight > 0.0 { self.weight } else { 1.0 };
        self.sums.iter().map(move |&(n, s)| (n, s / w))
    }
}

fn rng_state(seed: u64, step: u64, num_tokens: u64) -> serde_json::Value {
    json!({ "burn_seed": seed, "reseeded_at_step": step, "num_input_tokens_seen": num_tokens })
}

impl Run {
    fn run(mut self, config: &RunConfig, options: &TrainOptions) -> Result<TrainReport> {
        let tc = &config.training;
        let output_dir = tc.output_dir.clone();
        std::fs::create_dir_all(&output_dir).map_err(io(&output_dir))?;
        let config_path = output_dir.join(RUN_CONFIG_FILE);
        let text = serde_json::to_string_pretty(&json!({"method": self.method, "config": config}))
            .map_err(json(&config_path))?;
        prefopt_core::write_atomic(&config_path, (text + "\n").as_bytes())?;

        let loader_config = LoaderConfig {
            shuffle: config.data.shuffle,
            seed: tc.seed,
            drop_last: config.data.drop_last,
            epochs: None,
            ..LoaderConfig::new(tc.per_device_train_batch_size)
        };
        let start = Cursor {
            epoch: 0,
            batch: self.state.data_cursor,
        };
        let mut loader = self
            .train
            .examples
            .loader(self.collator, loader_config, start)?;
        let batches_per_epoch = loader.batches_per_epoch();
        let total = tc.total_steps(Some(batches_per_epoch))?;
        let schedule = tc.schedule(total)?;
        let checkpointer = Checkpointer::new(&output_dir, tc.save_total_limit);
        let metrics_path = output_dir.join(METRICS_FILE);
        let mut metrics = match &self.resumed_from {
            Some(_) => MetricsLog::resume(&metrics_path, self.state.global_step)?,
            None => MetricsLog::create(&metrics_path)?,
        };
        let mut progress = if options.progress {
            TrainProgress::new(total, self.state.global_step)
        } else {
            TrainProgress::hidden(total)
        };
        let mut num_tokens = self
            .state
            .rng_state
            .get("num_input_tokens_seen")
            .and_then(serde_json::Value::as_u64)
            .unwrap_or(0);
        let mut report = TrainReport {
            output_dir: output_dir.clone(),
            global_step: self.state.global_step,
            losses: Vec::new(),
            eval_losses: Vec::new(),
            skipped_rows: self.train.report.read.skipped.len(),
            personal_eval: None,
        };
        let base_device = self.device.clone().inner();
        let mut accumulator = GradientAccumulator::new();

        while self.state.global_step < total {
            let step = self.state.global_step + 1;
            self.device.seed(tc.seed.wrapping_add(step));
            let mut micro = Vec::with_capacity(tc.gradient_accumulation_steps);
            for _ in 0..tc.gradient_accumulation_steps {
                let batch = loader.next().ok_or_else(|| Error::Checkpoint {
                    path: config.data.train.clone(),
                    reason: "the data loader stopped early".into(),
                })??;
                micro.push(batch);
            }
            let mut outputs = Vec::with_capacity(micro.len());
            let mut step_tokens = 0;
            for batch in &micro {
                let rows =
                    self.reference
                        .rows(Split::Train, &batch.indices, &batch.data, &base_device)?;
                step_tokens += batch.data.input_tokens();
                outputs.push(self.objective.forward(
                    &self.model,
                    &batch.data,
                    &rows,
                    &self.device,
                )?);
            }
            let counts: Vec<usize> = outputs.iter().map(|o| o.count).collect();
            let weights = proportional_weights(&counts);
            let mut means = MetricMeans::default();
            for (out, &w) in outputs.into_iter().zip(&weights) {
                means.add(&out.metrics, w);
                accumulator.backward(&self.model, out.loss, w);
            }
            let mut accumulated = accumulator.finish();
            let loss = f64::from(accumulated.loss.clone().into_scalar::<f32>());
            if let Err(e) = check_finite(step, "loss", loss) {
                progress.finish();
                let last = checkpointer.latest()?;
                tracing::error!(
                    step,
                    loss,
                    last_checkpoint = ?last,
                    "non-finite loss: training stopped; the last good checkpoint is kept"
                );
                return Err(e);
            }
            let grad_norm = tc
                .clip_norm()
                .map(|max| clip_grad_norm(&self.model, &mut accumulated.grads, max));
            if let Some(norm) = grad_norm {
                check_finite(step, "grad_norm", norm)?;
            }
            let lr = schedule.lr_at(self.state.global_step);
            self.model = self.optimizer.step(lr, self.model, accumulated.grads);
            num_tokens += step_tokens;
            self.state.global_step = step;
            self.state.data_cursor += micro.len() as u64;
            self.state.epoch = self.state.data_cursor as f64 / batches_per_epoch as f64;
            self.state.rng_state = rng_state(tc.seed, step, num_tokens);
            report.losses.push((step, loss));
            report.global_step = step;
            progress.step(step, step_tokens, Some(loss), Some(lr));

            if tc.should_log(step) {
                let record = MetricsRecord::train(step, self.state.epoch, loss, grad_norm, lr)
                    .with_all(means.means())
                    .with("num_tokens", num_tokens as f64);
                metrics.log(&record)?;
            }
            if self.eval.is_some() && tc.should_eval(step) {
                let record = self.evaluate(config, step)?;
                if let Some(l) = record.get("eval_loss") {
                    report.eval_losses.push((step, l));
                }
                metrics.log(&record)?;
            }
            if tc.should_save(step) {
                let model = &self.model;
                let tokenizer_dir = &self.tokenizer_dir;
                checkpointer.save(model, &self.optimizer, &self.state, |dir: &Path| {
                    save_model(config, model, dir)?;
                    copy_tokenizer_files(tokenizer_dir, dir)
                })?;
            }
        }
        progress.finish();
        drop(loader);

        // Final model: HF layout (or the LoRA adapter) + tokenizer files in output_dir.
        let model = self.model.valid();
        match &config.lora {
            Some(lora) => {
                lora.save_output(&model, &config.model.path, &self.tokenizer_dir, &output_dir)?;
            }
            None => {
                model.save_hf(&output_dir)?;
                copy_tokenizer_files(&self.tokenizer_dir, &output_dir)?;
            }
        }
        if !options.no_plots
            && let Err(e) = plot_metrics_file(
                &metrics_path,
                &output_dir.join("plots"),
                PlotSize::default(),
            )
        {
            tracing::warn!(error = %e, "could not draw the metric plots");
        }
        tracing::info!(dir = %output_dir.display(), steps = self.state.global_step, "training finished");
        if let Some(test) = &self.test {
            report.personal_eval = Some(evaluate_and_write(
                &self.model.valid(),
                &self.tokenizer,
                test,
                &PersonalEvalOptions::from_section(&config.personalization),
                config.personalization.method.as_str(),
                &output_dir,
            )?);
        }
        Ok(report)
    }

    /// Mean loss and metrics over the held-out split, `eval_` prefixed (TRL).
    fn evaluate(&self, config: &RunConfig, step: u64) -> Result<MetricsRecord> {
        let Some(eval) = &self.eval else {
            return Ok(MetricsRecord::new(step, self.state.epoch));
        };
        let model = self.model.valid();
        let device = self.device.clone().inner();
        let n = eval.examples.len();
        let all: Vec<usize> = (0..n).collect();
        let mut loss_sum = 0.0;
        let mut weight = 0.0;
        let mut means = MetricMeans::default();
        for chunk in all.chunks(config.data.per_device_eval_batch_size) {
            let batch = eval.examples.collate(&self.collator, chunk)?;
            let rows = self.reference.rows(Split::Eval, chunk, &batch, &device)?;
            let out = self.objective.forward(&model, &batch, &rows, &device)?;
            let w = out.count as f64;
            loss_sum += w * f64::from(out.loss.into_scalar::<f32>());
            means.add(&out.metrics, w);
            weight += w;
        }
        let mut record = MetricsRecord::new(step, self.state.epoch)
            .with("eval_loss", loss_sum / weight.max(1.0));
        for (name, value) in means.means() {
            record = record.with(format!("eval_{name}"), value);
        }
        Ok(record)
    }
}
