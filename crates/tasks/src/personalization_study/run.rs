//! The controlled NextQuill study: write the synthetic users, train every arm from the same
//! initial weights on the same batches, generate for the held-out users and score ROUGE.

use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::prelude::Device;
use prefopt_core::{corpus_bleu, corpus_rouge};
use prefopt_models::{CausalLm, LlamaConfig};
use prefopt_objectives::nextquill::{DataEffectSource, NextQuillVariant};
use prefopt_train::{
    DataSection, LayoutName, LrSchedulerType, Method, ModelSection, PersonalEvalOptions,
    PersonalEvalReport, PersonalMethod, PersonalizationSection, PromptView, RunConfig,
    TrainOptions, TrainerConfig, copy_tokenizer_files, evaluate_and_write, load_test_split,
    load_tokenizer, train,
};
use serde::{Deserialize, Serialize};

use super::config::{PersonalizationStudyConfig, StudyArm};
use super::table::{StudyRow, study_table};
use crate::error::{Result, TaskError};
use crate::jsonl_writer::write_json;
use crate::personalization::{
    PersonalizationFiles, SlotAccuracy, generate_world, oracle_with_history,
    oracle_without_history, slot_accuracy, write_personalization_task,
};

/// One trained arm and seed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArmRun {
    /// The arm.
    pub arm: StudyArm,
    /// Its training seed.
    pub seed: u64,
    /// Held-out scores.
    pub eval: PersonalEvalReport,
    /// Held-out slot accuracies (from `generations_test.jsonl`).
    pub slots: SlotAccuracy,
    /// Mean training loss over the last 10% of steps.
    pub final_loss: Option<f64>,
    /// Wall time of training + evaluation.
    pub seconds: f64,
}

/// What [`run_personalization_study`] produced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StudyReport {
    /// The configuration.
    pub config: PersonalizationStudyConfig,
    /// Every run.
    pub runs: Vec<ArmRun>,
    /// The table rows (arms aggregated over seeds, then the two oracles).
    pub rows: Vec<StudyRow>,
    /// The Markdown table (also in `<out>/results.md`).
    pub table: String,
    /// Total wall time.
    pub total_seconds: f64,
}

/// Runs the study into `out` (created): `data/` (task files), `init-<seed>/`, `base-<seed>/`,
/// `<arm>-<seed>/` (trained models, metrics, generations), `results.md`, `results.json`.
pub fn run_personalization_study(
    config: &PersonalizationStudyConfig,
    out: &Path,
    device: &Device,
) -> Result<StudyReport> {
    config.validate()?;
    let start = Instant::now();
    std::fs::create_dir_all(out).map_err(|e| TaskError::io(out, e))?;
    let files = write_personalization_task(&config.task, &out.join("data"))?;
    let mut runs = Vec::new();
    for &seed in &config.seeds {
        let init = initial_model(config, &files, out, seed, device)?;
        for &arm in &config.arms {
            let t = Instant::now();
            let dir = out.join(format!("{}-{seed}", arm.slug()));
            let run = arm_config(config, &files, &init, &dir, arm, seed, config.steps);
            let (eval, final_loss) = if arm == StudyArm::Base {
                (evaluate_untrained(&run, &init, device)?, None)
            } else {
                let report = train(run.init(Method::NextQuill)?, device, &quiet())?;
                let eval = report.personal_eval.ok_or_else(|| {
                    TaskError::InvalidInput("the run has no held-out evaluation".into())
                })?;
                let tail = (report.losses.len() / 10).max(1);
                let final_loss = report.losses[report.losses.len() - tail..]
                    .iter()
                    .map(|l| l.1)
                    .sum::<f64>()
                    / tail as f64;
                (eval, Some(final_loss))
            };
            tracing::info!(
                arm = arm.slug(),
                seed,
                rouge1 = eval.rouge1,
                rouge_l = eval.rouge_l,
                final_loss,
                "arm done"
            );
            let slots = generation_slots(&dir)?;
            runs.push(ArmRun {
                arm,
                seed,
                eval,
                slots,
                final_loss,
                seconds: t.elapsed().as_secs_f64(),
            });
        }
    }
    let mut rows: Vec<StudyRow> = config
        .arms
        .iter()
        .map(|&arm| {
            let of_arm: Vec<&ArmRun> = runs.iter().filter(|r| r.arm == arm).collect();
            let context_sft: Vec<&ArmRun> = if arm == StudyArm::ContextSft {
                Vec::new()
            } else {
                runs.iter()
                    .filter(|r| r.arm == StudyArm::ContextSft)
                    .collect()
            };
            StudyRow::from_runs(arm.label(), &of_arm, &context_sft)
        })
        .collect();
    rows.extend(oracle_rows(config)?);
    let table = study_table(&rows);
    let report = StudyReport {
        config: config.clone(),
        runs,
        rows,
        table,
        total_seconds: start.elapsed().as_secs_f64(),
    };
    let md = out.join("results.md");
    prefopt_core::write_atomic(&md, report.table.as_bytes())?;
    write_json(&out.join("results.json"), &report)?;
    Ok(report)
}

/// The held-out evaluation of `model` as it is (the [`StudyArm::Base`] row), with the
/// history in the prompt, written into `run.training.output_dir` like a trained arm's.
fn evaluate_untrained(
    run: &RunConfig,
    model: &Path,
    device: &Device,
) -> Result<PersonalEvalReport> {
    let tokenizer = load_tokenizer(model, None)?;
    let test = load_test_split(run, &tokenizer, run.data.cache_dir.as_deref())?
        .ok_or_else(|| TaskError::InvalidInput("the study has no test split".into()))?;
    let lm = CausalLm::load_hf(model, device)?;
    let options = PersonalEvalOptions {
        view: PromptView::History,
        ..PersonalEvalOptions::from_section(&run.personalization)
    };
    Ok(evaluate_and_write(
        &lm,
        &tokenizer,
        &test,
        &options,
        "base",
        &run.training.output_dir,
    )?)
}

/// Slot accuracies of an arm's `generations_test.jsonl` (`prediction` vs `target`).
fn generation_slots(dir: &Path) -> Result<SlotAccuracy> {
    #[derive(Deserialize)]
    struct Generation {
        prediction: String,
        target: String,
    }
    let path = dir.join(prefopt_train::GENERATIONS_FILE);
    let text = std::fs::read_to_string(&path).map_err(|e| TaskError::io(&path, e))?;
    let mut predictions = Vec::new();
    let mut targets = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let row: Generation = serde_json::from_str(line)
            .map_err(|e| TaskError::InvalidInput(format!("{}:{}: {e}", path.display(), i + 1)))?;
        predictions.push(row.prediction);
        targets.push(row.target);
    }
    Ok(slot_accuracy(&predictions, &targets))
}

fn quiet() -> TrainOptions {
    TrainOptions {
        resume: false,
        progress: false,
        no_plots: true,
    }
}

/// The weights every arm of `seed` starts from: a random initialisation, then `base_steps`
/// of `base_arm` training when asked for.
fn initial_model(
    config: &PersonalizationStudyConfig,
    files: &PersonalizationFiles,
    out: &Path,
    seed: u64,
    device: &Device,
) -> Result<PathBuf> {
    let init = out.join(format!("init-{seed}"));
    std::fs::create_dir_all(&init).map_err(|e| TaskError::io(&init, e))?;
    let llama = LlamaConfig::from_hf_json(&files.model_config)?;
    CausalLm::init_random(llama, seed, device)?.save_hf(&init)?;
    copy_tokenizer_files(&files.model_dir, &init)?;
    if config.base_steps == 0 {
        return Ok(init);
    }
    let dir = out.join(format!("base-{seed}"));
    let mut run = arm_config(
        config,
        files,
        &init,
        &dir,
        config.base_arm,
        seed,
        config.base_steps,
    );
    run.personalization.test = None;
    run.training.learning_rate = config.base_learning_rate;
    // A pretraining population, when the task has one, keeps the train users unseen.
    if let Some(pretrain) = &files.pretrain {
        run.data.train.clone_from(pretrain);
    }
    train(run.init(Method::NextQuill)?, device, &quiet())?;
    Ok(dir)
}

/// The run config of one arm: same data, budget and schedule for every arm.
fn arm_config(
    config: &PersonalizationStudyConfig,
    files: &PersonalizationFiles,
    model: &Path,
    output_dir: &Path,
    arm: StudyArm,
    seed: u64,
    steps: u64,
) -> RunConfig {
    let method = match arm {
        StudyArm::Sft => PersonalMethod::Sft,
        StudyArm::Base => PersonalMethod::ContextSft,
        StudyArm::ContextSft => PersonalMethod::ContextSft,
        _ => PersonalMethod::NextQuill,
    };
    let mut nextquill = config.nextquill.clone();
    if let Some(variant) = arm.variant() {
        nextquill.variant = variant;
        if variant != NextQuillVariant::Full {
            nextquill.weight_alignment_term = false;
        }
    }
    if arm == StudyArm::NextQuillDetached {
        nextquill.detach_null_history = true;
    }
    // The fixed estimator's θ_D: this seed's ContextSFT model, next to this arm's directory.
    let ref_path = (arm == StudyArm::NextQuillFixed).then(|| {
        nextquill.data_effect_source = DataEffectSource::Fixed;
        output_dir.with_file_name(format!("{}-{seed}", StudyArm::ContextSft.slug()))
    });
    RunConfig {
        model: ModelSection {
            path: model.to_path_buf(),
            ref_path,
            ..ModelSection::default()
        },
        data: DataSection {
            train: files.train.clone(),
            per_device_eval_batch_size: config.batch_size,
            cache_dir: Some(files.dir.join("cache")),
            ..DataSection::default()
        },
        training: TrainerConfig {
            output_dir: output_dir.to_path_buf(),
            learning_rate: config.learning_rate,
            lr_scheduler_type: LrSchedulerType::Linear,
            warmup_ratio: config.warmup_ratio,
            max_steps: steps as i64,
            per_device_train_batch_size: config.batch_size,
            max_grad_norm: 1.0,
            weight_decay: 0.0,
            seed,
            logging_steps: 10,
            save_steps: u64::MAX / 2,
            ..TrainerConfig::default()
        },
        personalization: PersonalizationSection {
            layout: LayoutName::Amazon,
            meta: Some(files.meta.clone()),
            method,
            test: Some(files.test.clone()),
            max_new_tokens: config.max_new_tokens,
            generation_batch_size: 32,
            ..PersonalizationSection::default()
        },
        nextquill,
        ..RunConfig::default()
    }
}

/// The floor and ceiling rows: a writer who copies the style that dominates the user's
/// history, and one who writes the population's most common style.
fn oracle_rows(config: &PersonalizationStudyConfig) -> Result<Vec<StudyRow>> {
    let world = generate_world(&config.task);
    let targets: Vec<&str> = world.test.iter().map(|r| r.data.text.as_str()).collect();
    let score = |label: &str, predictions: Vec<String>| -> Result<StudyRow> {
        let rouge = corpus_rouge(&predictions, &targets)
            .map_err(|e| TaskError::InvalidInput(e.to_string()))?;
        let bleu = corpus_bleu(&predictions, &targets)
            .map_err(|e| TaskError::InvalidInput(e.to_string()))?;
        Ok(StudyRow::oracle(
            label,
            rouge.rouge1,
            rouge.rouge_l,
            bleu.score,
            slot_accuracy(&predictions, &targets),
        ))
    };
    Ok(vec![
        score(
            "oracle: population style (no history)",
            world
                .test
                .iter()
                .map(|r| oracle_without_history(r, &world.train_style))
                .collect(),
        )?,
        score(
            "oracle: style of the history",
            world.test.iter().map(oracle_with_history).collect(),
        )?,
    ])
}
