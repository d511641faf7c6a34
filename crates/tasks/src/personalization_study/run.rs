//! The controlled NextQuill study: write the synthetic users, train every arm from the same
//! initial weights on the same batches, generate for the held-out users and score ROUGE.
//! Every finished run leaves its result in `<run>/study_run.json`; rerunning the study into
//! the same directory keeps those and redoes only the runs that did not finish.

use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::prelude::Device;
use prefopt_core::{corpus_bleu, corpus_rouge};
use prefopt_data::{TokenizedPersonal, Tokenizer};
use prefopt_models::{CausalLm, LlamaConfig};
use prefopt_objectives::nextquill::{DataEffectSource, NextQuillVariant};
use prefopt_train::{
    DataSection, LayoutName, LoraSection, LrSchedulerType, Method, ModelSection,
    PersonalEvalOptions, PersonalEvalReport, PersonalMethod, PersonalizationSection, PromptView,
    RunConfig, TrainOptions, TrainerConfig, copy_tokenizer_files, evaluate_and_write,
    load_test_split, load_tokenizer, train,
};
use serde::{Deserialize, Serialize};

use super::config::{PersonalizationStudyConfig, StudyArm};
use super::history_use::{HistoryUse, history_use};
use super::table::{StudyRow, study_table};
use crate::error::{Result, TaskError};
use crate::jsonl_writer::write_json;
use crate::personalization::{
    PersonalizationFiles, SlotAccuracy, TextStyle, generate_world, oracle_with_history,
    oracle_without_history, slot_accuracy_for, write_personalization_task,
};
use crate::real_model::config::FineTuning;

/// The result file of a finished run, in its directory.
pub const STUDY_RUN_FILE: &str = "study_run.json";

/// One trained arm and seed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArmRun {
    /// The arm.
    pub arm: StudyArm,
    /// Which weights it trained (`None` for the untrained rows).
    #[serde(default)]
    pub tuning: Option<FineTuning>,
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
    /// How likely the model finds the held-out targets from the three prompts, overall and
    /// per slot (teacher-forced, no generation): for the untrained rows, and for the trained
    /// arms of a study from a pretrained checkpoint.
    #[serde(default)]
    pub history_use: Option<HistoryUse>,
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

/// Runs the study into `out` (created): `data/` (task files), `init-<seed>/`, `base-<seed>/`
/// (without a pretrained `base_model`), `<arm>-<seed>/` and `<arm>-lora-<seed>/` (trained
/// models or adapters, metrics, generations, `study_run.json`), `results.md`,
/// `results.json`. Runs whose `study_run.json` exists are read back, not rerun.
pub fn run_personalization_study(
    config: &PersonalizationStudyConfig,
    out: &Path,
    device: &Device,
) -> Result<StudyReport> {
    config.validate()?;
    let start = Instant::now();
    std::fs::create_dir_all(out).map_err(|e| TaskError::io(out, e))?;
    let files = write_personalization_task(&config.task, &out.join("data"))?;
    let mut runs: Vec<ArmRun> = Vec::new();
    // From a pretrained checkpoint with no base training, every seed starts from the same
    // weights, and an untrained row is the same greedy evaluation: done once.
    let same_start = config.base_model.is_some() && config.base_steps == 0;
    for &seed in &config.seeds {
        let init = initial_model(config, &files, out, seed, device)?;
        for &arm in &config.arms {
            if same_start
                && !arm.trains()
                && let Some(done) = runs.iter().find(|r| r.arm == arm).cloned()
            {
                runs.push(ArmRun { seed, ..done });
                continue;
            }
            for tuning in arm.tunings(&config.tuning) {
                let dir = out.join(run_dir_name(arm, tuning, seed));
                runs.push(study_run(
                    config, &files, &init, &dir, arm, tuning, seed, device,
                )?);
            }
        }
    }
    let rows = table_rows(config, &runs)?;
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

/// The label of one arm's row in the study's table: the arm's, followed by the tuning when
/// it is not the study's only one, full fine-tuning (`tuning`: the study's).
pub fn row_label(arm: StudyArm, run: Option<FineTuning>, tuning: &[FineTuning]) -> String {
    match run {
        Some(FineTuning::Lora) => format!("{}, LoRA", arm.label()),
        Some(FineTuning::Qlora) => format!("{}, QLoRA", arm.label()),
        Some(FineTuning::Full) if tuning.len() > 1 => format!("{}, full fine-tuning", arm.label()),
        _ => arm.label().to_owned(),
    }
}

/// The directory of one run under the study's output directory: `<arm>-<seed>` (full
/// fine-tuning and the untrained rows), `<arm>-lora-<seed>` or `<arm>-qlora-<seed>`.
pub fn run_dir_name(arm: StudyArm, tuning: Option<FineTuning>, seed: u64) -> String {
    match tuning {
        Some(FineTuning::Lora) => format!("{}-lora-{seed}", arm.slug()),
        Some(FineTuning::Qlora) => format!("{}-qlora-{seed}", arm.slug()),
        _ => format!("{}-{seed}", arm.slug()),
    }
}

/// One run: read back when `dir` holds a finished one, else trained (or, for the untrained
/// rows, evaluated) from scratch into `dir` and recorded there.
#[allow(clippy::too_many_arguments)]
fn study_run(
    config: &PersonalizationStudyConfig,
    files: &PersonalizationFiles,
    init: &Path,
    dir: &Path,
    arm: StudyArm,
    tuning: Option<FineTuning>,
    seed: u64,
    device: &Device,
) -> Result<ArmRun> {
    let marker = dir.join(STUDY_RUN_FILE);
    if marker.is_file() {
        let text = std::fs::read_to_string(&marker).map_err(|e| TaskError::io(&marker, e))?;
        let done: ArmRun = serde_json::from_str(&text)
            .map_err(|e| TaskError::InvalidInput(format!("{}: {e}", marker.display())))?;
        tracing::info!(arm = arm.slug(), seed, dir = %dir.display(), "finished run kept");
        return Ok(done);
    }
    if dir.exists() {
        // An interrupted run: it starts again from the shared initial weights.
        std::fs::remove_dir_all(dir).map_err(|e| TaskError::io(dir, e))?;
    }
    let t = Instant::now();
    let mut run = arm_config(config, files, init, dir, arm, seed, config.steps);
    if tuning.is_some_and(FineTuning::adapters) {
        run.lora = Some(LoraSection {
            merge: false,
            ..config.lora.clone()
        });
        run.model.keep_quantized = tuning.is_some_and(FineTuning::keeps_quantized);
    }
    let (eval, final_loss, history_use) = match arm {
        StudyArm::Base | StudyArm::BaseNull => {
            let view = if arm == StudyArm::Base {
                PromptView::History
            } else {
                PromptView::Null
            };
            let (eval, used) = evaluate_untrained(&run, init, view, device)?;
            (eval, None, Some(used))
        }
        _ => {
            let report = train(run.clone().init(Method::NextQuill)?, device, &quiet())?;
            let eval = report.personal_eval.ok_or_else(|| {
                TaskError::InvalidInput("the run has no held-out evaluation".into())
            })?;
            // From a pretrained checkpoint, what training did to the in-context reading.
            let used = if config.base_model.is_some() {
                let trained = if tuning.is_some_and(FineTuning::adapters) {
                    CausalLm::load_with(init, device, &run.model.load_options())?
                        .load_peft_adapter(dir)?
                } else {
                    CausalLm::load(dir, device)?
                };
                let (tokenizer, test) = load_test(&run, init)?;
                Some(history_use(
                    &trained,
                    &tokenizer,
                    &test,
                    config.generation_batch_size,
                )?)
            } else {
                None
            };
            let tail = (report.losses.len() / 10).max(1);
            let final_loss = report.losses[report.losses.len() - tail..]
                .iter()
                .map(|l| l.1)
                .sum::<f64>()
                / tail as f64;
            (eval, Some(final_loss), used)
        }
    };
    tracing::info!(
        arm = arm.slug(),
        seed,
        tuning = ?tuning,
        rouge1 = eval.rouge1,
        rouge_l = eval.rouge_l,
        final_loss,
        history_gain = history_use.map(|h| h.all.history_gain()),
        user_gain = history_use.map(|h| h.all.user_gain()),
        "arm done"
    );
    let slots = generation_slots(dir, config.task.text)?;
    let done = ArmRun {
        arm,
        tuning,
        seed,
        eval,
        slots,
        final_loss,
        seconds: t.elapsed().as_secs_f64(),
        history_use,
    };
    write_json(&marker, &done)?;
    Ok(done)
}

/// The arms' rows (per tuning, each paired with ContextSFT of the same tuning), then the
/// two oracles.
fn table_rows(config: &PersonalizationStudyConfig, runs: &[ArmRun]) -> Result<Vec<StudyRow>> {
    let mut rows = Vec::new();
    for &arm in &config.arms {
        for tuning in arm.tunings(&config.tuning) {
            let of = |a: StudyArm| -> Vec<&ArmRun> {
                runs.iter()
                    .filter(|r| r.arm == a && r.tuning == tuning)
                    .collect()
            };
            let context_sft = if arm == StudyArm::ContextSft || !arm.trains() {
                Vec::new()
            } else {
                of(StudyArm::ContextSft)
            };
            let label = row_label(arm, tuning, &config.tuning);
            rows.push(StudyRow::from_runs(&label, &of(arm), &context_sft));
        }
    }
    rows.extend(oracle_rows(config)?);
    Ok(rows)
}

/// The held-out evaluation of `model` as it is (the [`StudyArm::Base`] and
/// [`StudyArm::BaseNull`] rows), from the with-history or the null-history prompt, written
/// into `run.training.output_dir` like a trained arm's; with its [`HistoryUse`].
fn evaluate_untrained(
    run: &RunConfig,
    model: &Path,
    view: PromptView,
    device: &Device,
) -> Result<(PersonalEvalReport, HistoryUse)> {
    let (tokenizer, test) = load_test(run, model)?;
    let lm = CausalLm::load(model, device)?;
    let options = PersonalEvalOptions {
        view,
        ..PersonalEvalOptions::from_section(&run.personalization)
    };
    let eval = evaluate_and_write(
        &lm,
        &tokenizer,
        &test,
        &options,
        "base",
        &run.training.output_dir,
    )?;
    let used = history_use(&lm, &tokenizer, &test, options.batch_size.max(1))?;
    Ok((eval, used))
}

/// The tokenizer of `model` and the held-out users tokenized with it (through the cache).
fn load_test(run: &RunConfig, model: &Path) -> Result<(Tokenizer, Vec<TokenizedPersonal>)> {
    let tokenizer = load_tokenizer(model, None)?;
    let test = load_test_split(run, &tokenizer, run.data.cache_dir.as_deref())?
        .ok_or_else(|| TaskError::InvalidInput("the study has no test split".into()))?;
    Ok((tokenizer, test))
}

/// Slot accuracies of an arm's `generations_test.jsonl` (`prediction` vs `target`): by the
/// review layout for the compact text, by mentions for natural text (a pretrained model's
/// free text).
fn generation_slots(dir: &Path, style: TextStyle) -> Result<SlotAccuracy> {
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
    Ok(slot_accuracy_for(style, &predictions, &targets))
}

fn quiet() -> TrainOptions {
    TrainOptions {
        resume: false,
        progress: false,
        no_plots: true,
    }
}

/// The weights every arm of `seed` starts from: the pretrained `base_model` or a random
/// initialisation of the tiny Llama, then `base_steps` of `base_arm` training when asked
/// for (kept from an earlier invocation when it finished: `base-<seed>/study_run.json`).
fn initial_model(
    config: &PersonalizationStudyConfig,
    files: &PersonalizationFiles,
    out: &Path,
    seed: u64,
    device: &Device,
) -> Result<PathBuf> {
    let init = match &config.base_model {
        Some(model) => model.clone(),
        None => {
            let init = out.join(format!("init-{seed}"));
            std::fs::create_dir_all(&init).map_err(|e| TaskError::io(&init, e))?;
            let llama = LlamaConfig::from_hf_json(&files.model_config)?;
            CausalLm::init_random(llama, seed, device)?.save_hf(&init)?;
            copy_tokenizer_files(&files.model_dir, &init)?;
            init
        }
    };
    if config.base_steps == 0 {
        return Ok(init);
    }
    let dir = out.join(format!("base-{seed}"));
    let marker = dir.join(STUDY_RUN_FILE);
    if marker.is_file() {
        return Ok(dir);
    }
    if dir.exists() {
        std::fs::remove_dir_all(&dir).map_err(|e| TaskError::io(&dir, e))?;
    }
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
    write_json(
        &marker,
        &serde_json::json!({ "base_arm": config.base_arm, "steps": config.base_steps }),
    )?;
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
        StudyArm::Base | StudyArm::BaseNull => PersonalMethod::ContextSft,
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
            generation_batch_size: config.generation_batch_size,
            prompt: config.prompt.clone(),
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
    let style = config.task.text;
    let score = |label: &str, predictions: Vec<String>| -> Result<StudyRow> {
        let predictions: Vec<String> = predictions.iter().map(|p| style.render(p)).collect();
        let slots = slot_accuracy_for(style, &predictions, &targets);
        let rouge = corpus_rouge(&predictions, &targets)
            .map_err(|e| TaskError::InvalidInput(e.to_string()))?;
        let bleu = corpus_bleu(&predictions, &targets)
            .map_err(|e| TaskError::InvalidInput(e.to_string()))?;
        Ok(StudyRow::oracle(
            label,
            rouge.rouge1,
            rouge.rouge_l,
            bleu.score,
            slots,
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
