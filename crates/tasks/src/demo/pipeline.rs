//! The controlled sentiment demo end to end: corpus → SFT from scratch → K samples per
//! prompt → ground-truth labels → DPO (pairs) and LiPO-λ (lists) → reward and KL of fresh
//! samples on held-out prompts → table, JSON, plot.
//!
//! ```text
//! <out>/data/             sft.jsonl, prompts.jsonl, corpus_stats.json
//! <out>/data/model/       tokenizer, config.json and the random initial weights
//! <out>/sft/ dpo/ lipo/   each stage's final model (HF layout), metrics.jsonl, plots
//! <out>/pairs.jsonl       best-vs-worst pairs of the K SFT samples (DPO)
//! <out>/lists.jsonl       the K SFT samples and rewards per prompt (LiPO)
//! <out>/results.md, results.json, reward_kl.png
//! ```

use std::path::Path;
use std::time::Instant;

use burn::prelude::Device;
use prefopt_core::SplitMix64;
use prefopt_data::Tokenizer;
use prefopt_models::{CausalLm, LlamaConfig};
use prefopt_objectives::lipo::LipoLossType;

use crate::error::{Result, TaskError};
use crate::labeling::{
    PairOptions, ScoredPrompt, preference_pairs, write_preference_jsonl, write_ranked_jsonl,
};
use crate::prepare::prepare_with;
use crate::sentiment::{ReviewGrammar, distinct_prompts};

use super::config::DemoConfig;
use super::evaluation::{KlEstimate, MethodEvaluation};
use super::report::{DemoReport, MethodSummary, PreferenceDataSummary, StageTiming, methods_table};
use super::reward_kl_plot::{PlotPoint, plot_reward_kl};
use super::sampling::{SampledPrompt, SamplingOptions, sample_completions, sequence_logprobs};
use super::training::{self, StageRun};
use crate::real_model::config::AlignObjective;

/// The table's method names.
pub const SFT_METHOD: &str = "SFT";
/// DPO's row.
pub const DPO_METHOD: &str = "DPO";
/// LiPO-λ's row.
pub const LIPO_METHOD: &str = "LiPO-λ";

/// Sub-streams of the seed (one per random consumer).
const INIT_STREAM: u64 = 11;
const SAMPLE_STREAM: u64 = 12;
const EVAL_SFT_STREAM: u64 = 13;
const EVAL_DPO_STREAM: u64 = 14;
const EVAL_LIPO_STREAM: u64 = 15;
/// The first of the LiPO-family rows' streams (one each, in `lipo_family` order).
const EVAL_FAMILY_STREAM: u64 = 100;

/// The seed of sub-stream `stream` of `seed`.
pub(crate) fn stream_seed(seed: u64, stream: u64) -> u64 {
    SplitMix64::new(seed ^ stream.wrapping_mul(0x9E37_79B9_7F4A_7C15)).next_u64()
}

/// Wall time per stage of a pipeline.
pub(crate) struct Timer {
    /// When the pipeline started.
    pub start: Instant,
    stage: Instant,
    /// The stages finished so far.
    pub timings: Vec<StageTiming>,
}

impl Timer {
    /// Starts the clock.
    pub fn new() -> Self {
        Self {
            start: Instant::now(),
            stage: Instant::now(),
            timings: Vec::new(),
        }
    }

    /// Ends the current stage, named `stage`, and starts the next.
    pub fn lap(&mut self, stage: &str) {
        let seconds = self.stage.elapsed().as_secs_f64();
        tracing::info!(stage, seconds, "demo stage finished");
        self.timings.push(StageTiming {
            stage: stage.into(),
            seconds,
        });
        self.stage = Instant::now();
    }
}

/// Runs the whole demo into `out_dir` on `device` and writes `results.md`, `results.json`
/// and `reward_kl.png` there. Stage directories (`sft/`, `dpo/`, `lipo/`) left by an earlier
/// run in the same directory are replaced.
pub fn run_demo(config: &DemoConfig, out_dir: &Path, device: &Device) -> Result<DemoReport> {
    config.validate()?;
    let device = device.clone().inner();
    let mut timer = Timer::new();
    std::fs::create_dir_all(out_dir).map_err(|e| TaskError::io(out_dir, e))?;
    let family_dirs: Vec<String> = config.lipo_family.iter().map(|o| family_dir(*o)).collect();
    for stage in ["sft", "dpo", "lipo"]
        .into_iter()
        .chain(family_dirs.iter().map(String::as_str))
    {
        let dir = out_dir.join(stage);
        if dir.exists() {
            std::fs::remove_dir_all(&dir).map_err(|e| TaskError::io(&dir, e))?;
        }
    }

    // 1. Corpus, prompts, tokenizer, config.json; random initial weights beside them.
    let grammar = ReviewGrammar::default();
    let files = prepare_with(
        &out_dir.join("data"),
        config.seed,
        &config.data.sizes(),
        &grammar,
        &config.model,
    )?;
    let prompts = distinct_prompts(&grammar, config.seed, config.data.sizes().prompts)?;
    let (train_prompts, eval_prompts) = prompts.split_at(config.data.train_prompts);
    let llama = LlamaConfig::from_hf_json(&files.model_config)?;
    let init = CausalLm::init_random(llama, stream_seed(config.seed, INIT_STREAM), &device)?;
    init.save_hf(&files.model_dir)?;
    drop(init);
    let tokenizer = Tokenizer::from_dir(&files.model_dir)?;
    let pad_id = tokenizer.pad().map_or(0, |t| t.id);
    let max_new_tokens = match config.sampling.max_new_tokens {
        0 => files.max_completion_tokens + 8,
        n => n,
    };
    let max_length = config.model.max_position_embeddings;
    let batch_rows = config.sampling.batch_rows;
    timer.lap("prepare");

    // 2. SFT from scratch.
    let stage = |model_dir: &Path, train_file: &Path, name: &str| StageRun {
        model_dir: model_dir.to_path_buf(),
        tokenizer_dir: files.model_dir.clone(),
        train_file: train_file.to_path_buf(),
        output_dir: out_dir.join(name),
        max_length,
        batch_rows,
        seed: config.seed,
        lora: None,
        keep_quantized: false,
        logging_steps: 10,
    };
    let sft = training::sft(
        &stage(&files.model_dir, &files.sft, "sft"),
        &config.sft,
        &device,
    )?;
    let (sft_model, sft_dir) = (sft.model, sft.dir);
    timer.lap("sft");

    // 3. K samples per training prompt, labelled by the ground truth → pairs and lists.
    let sampling = |seed| SamplingOptions {
        temperature: config.sampling.temperature,
        max_new_tokens,
        batch_rows,
        seed,
    };
    let k = config.sampling.k;
    let samples = sample_completions(
        &sft_model,
        &tokenizer,
        train_prompts,
        k * config.sampling.lists_per_prompt,
        &sampling(stream_seed(config.seed, SAMPLE_STREAM)),
    )?;
    let scored: Vec<ScoredPrompt> = samples
        .iter()
        .flat_map(|s| s.groups(k))
        .map(|g| g.scored())
        .collect();
    let pairs = preference_pairs(&scored, &PairOptions::default());
    let pairs_file = out_dir.join("pairs.jsonl");
    let lists_file = out_dir.join("lists.jsonl");
    write_preference_jsonl(&pairs_file, &pairs)?;
    let lists = write_ranked_jsonl(&lists_file, &scored)?;
    if pairs.is_empty() {
        return Err(TaskError::InvalidInput(
            "every prompt's K samples have the same reward: no preference to learn".into(),
        ));
    }
    let mean = |xs: &mut dyn Iterator<Item = f64>| {
        let (s, n) = xs.fold((0.0, 0usize), |(s, n), x| (s + x, n + 1));
        s / n.max(1) as f64
    };
    let preference_data = PreferenceDataSummary {
        prompts: train_prompts.len(),
        lists_per_prompt: config.sampling.lists_per_prompt,
        k,
        mean_sample_reward: mean(&mut scored.iter().flat_map(|s| s.rewards.iter().copied())),
        pairs: pairs.len(),
        mean_chosen_reward: mean(&mut pairs.iter().map(|p| p.chosen_score)),
        mean_rejected_reward: mean(&mut pairs.iter().map(|p| p.rejected_score)),
        lists,
        pairs_file: pairs_file.clone(),
        lists_file: lists_file.clone(),
    };
    tracing::info!(?preference_data, "preference data written");
    timer.lap("sample");

    // 4. DPO and LiPO-λ from the SFT model, which is also their reference.
    let dpo_model =
        training::dpo(&stage(&sft_dir, &pairs_file, "dpo"), &config.dpo, &device)?.model;
    timer.lap("dpo");
    let lipo_model = training::lipo(
        &stage(&sft_dir, &lists_file, "lipo"),
        &config.lipo,
        LipoLossType::Lambda,
        &device,
    )?
    .model;
    timer.lap("lipo");
    let mut family = Vec::new();
    for objective in &config.lipo_family {
        let name = objective.label();
        let loss = objective.lipo_loss().ok_or_else(|| {
            TaskError::InvalidInput(format!("lipo_family: {name} is not a LiPO loss"))
        })?;
        let dir = family_dir(*objective);
        let model = training::lipo(
            &stage(&sft_dir, &lists_file, &dir),
            &config.lipo,
            loss,
            &device,
        )?
        .model;
        timer.lap(&dir);
        family.push((name, model));
    }

    // 5. Fresh samples on held-out prompts: reward and KL to SFT.
    let m = config.sampling.eval_samples_per_prompt;
    let sft_samples = sample_completions(
        &sft_model,
        &tokenizer,
        eval_prompts,
        m * k,
        &sampling(stream_seed(config.seed, EVAL_SFT_STREAM)),
    )?;
    let mut methods = vec![MethodEvaluation::reference(SFT_METHOD, &sft_samples)];
    let family_rows = family
        .iter()
        .enumerate()
        .map(|(i, (name, model))| (*name, model, EVAL_FAMILY_STREAM + i as u64));
    for (name, model, stream) in [
        (DPO_METHOD, &dpo_model, EVAL_DPO_STREAM),
        (LIPO_METHOD, &lipo_model, EVAL_LIPO_STREAM),
    ]
    .into_iter()
    .chain(family_rows)
    {
        let samples = sample_completions(
            model,
            &tokenizer,
            eval_prompts,
            m,
            &sampling(stream_seed(config.seed, stream)),
        )?;
        let rows = || samples.iter().flat_map(SampledPrompt::rows);
        let policy = sequence_logprobs(model, rows(), pad_id, batch_rows)?;
        let reference = sequence_logprobs(&sft_model, rows(), pad_id, batch_rows)?;
        let ratios: Vec<f64> = policy.iter().zip(&reference).map(|(p, r)| p - r).collect();
        methods.push(MethodEvaluation::policy(name, &samples, &ratios));
    }
    methods.push(MethodEvaluation::best_of_k(
        format!("best-of-{k}"),
        &sft_samples,
        k,
    ));
    timer.lap("evaluate");

    // 6. Table, plot, files.
    let summaries: Vec<MethodSummary> = methods.iter().map(MethodSummary::from).collect();
    let plot = plot_reward_kl(
        &plot_points(&methods),
        SFT_METHOD,
        &out_dir.join("reward_kl.png"),
        800,
        600,
    )?;
    let table = methods_table(&summaries);
    timer.lap("report");
    let report = DemoReport {
        config: config.clone(),
        corpus_mean_reward: files.corpus_stats.reward.mean,
        preference_data,
        methods: summaries,
        table,
        plot,
        total_seconds: timer.start.elapsed().as_secs_f64(),
        timings: timer.timings,
        threads: std::thread::available_parallelism().map_or(1, usize::from),
    };
    report.write(out_dir)?;
    Ok(report)
}

/// The reward / KL plot's points of `methods` (the reference at KL 0).
pub(crate) fn plot_points(methods: &[MethodEvaluation]) -> Vec<PlotPoint> {
    methods
        .iter()
        .map(|e| PlotPoint {
            method: e.method.clone(),
            kl: e.kl_to_sft.unwrap_or(0.0),
            reward: e.row().mean_reward,
            kl_std_error: match e.kl_estimate {
                KlEstimate::MonteCarlo { std_error } => std_error,
                _ => 0.0,
            },
            reward_std_error: e.reward_std_error(),
        })
        .collect()
}

/// The output directory of a LiPO-family row (`lipo-pair-hinge`).
fn family_dir(objective: AlignObjective) -> String {
    let name = objective.label().trim_start_matches("LiPO ").to_lowercase();
    format!("lipo-{name}")
}
