//! The real-model run end to end, on the demo's stage functions: questions → K samples of
//! the base per training question → programmatic reward → best-vs-worst pairs and ranked
//! lists → each configured row trained from the base (LoRA or full; the base is the
//! reference) → fresh samples on the held-out questions → reward, win rate and KL to the
//! base, best-of-K → table, JSON, plot.
//!
//! ```text
//! <out>/questions.json     the training and held-out questions with their answers
//! <out>/pairs.jsonl        best-vs-worst pairs of the K base samples (DPO)
//! <out>/lists.jsonl        the K base samples and rewards per question (LiPO)
//! <out>/<row>/             each row's merged model (HF layout), metrics.jsonl, plots
//! <out>/results.md, results.json, reward_kl.png
//! ```

use std::collections::HashMap;
use std::path::Path;
use std::time::Instant;

use burn::prelude::Device;
use prefopt_data::{Message, Tokenizer};
use prefopt_models::CausalLm;

use crate::demo::evaluation::MethodEvaluation;
use crate::demo::pipeline::{Timer, plot_points, stream_seed};
use crate::demo::report::{MethodSummary, PreferenceDataSummary};
use crate::demo::reward_kl_plot::plot_reward_kl;
use crate::demo::sampling::{
    SampledPrompt, SamplingOptions, sample_completions, sequence_logprobs,
};
use crate::demo::training::{self, StageRun};
use crate::error::{Result, TaskError};
use crate::jsonl_writer::write_json;
use crate::labeling::{
    PairOptions, ScoredPrompt, preference_pairs, write_preference_jsonl, write_ranked_jsonl,
};

use super::config::{AlignObjective, RealModelConfig};
use super::questions::{Question, split_questions};
use super::report::{RealMethodRow, RealModelReport, TrainingCost, real_model_table};
use prefopt_core::peak_memory::{peak_rss_mib, reset_peak_rss};

/// The base model's row.
pub const BASE_METHOD: &str = "base";

const SAMPLE_STREAM: u64 = 21;
const EVAL_BASE_STREAM: u64 = 22;
const EVAL_POLICY_STREAM: u64 = 23;

/// The prompt text of `question` for `tokenizer`: its chat template with a generation
/// prompt when it has one (SmolLM2's ChatML), else `Question: …\nAnswer:`.
pub fn render_prompt(tokenizer: &Tokenizer, question: &str) -> Result<String> {
    if tokenizer.chat_template().is_some() {
        Ok(tokenizer.apply_chat_template(&[Message::new("user", question)], true)?)
    } else {
        Ok(format!("Question: {question}\nAnswer:"))
    }
}

/// Share of prompts where `rewards`' per-prompt mean beats `base`'s (ties ½). Both are
/// prompt-major with the same number of prompts (`prompts`), any samples per prompt.
pub fn win_rate(rewards: &[f64], base: &[f64], prompts: usize) -> f64 {
    if prompts == 0 || rewards.len() < prompts || base.len() < prompts {
        return f64::NAN;
    }
    let means = |xs: &[f64]| -> Vec<f64> {
        let n = xs.len() / prompts;
        xs.chunks_exact(n)
            .take(prompts)
            .map(|c| c.iter().sum::<f64>() / n as f64)
            .collect()
    };
    let wins: f64 = means(rewards)
        .iter()
        .zip(means(base))
        .map(|(a, b)| {
            if *a > b {
                1.0
            } else if *a == b {
                0.5
            } else {
                0.0
            }
        })
        .sum();
    wins / prompts as f64
}

fn mean(xs: impl Iterator<Item = f64>) -> f64 {
    let (s, n) = xs.fold((0.0, 0usize), |(s, n), x| (s + x, n + 1));
    s / n.max(1) as f64
}

/// Runs the real-model alignment into `out_dir` on `device` and writes `results.md`,
/// `results.json` and `reward_kl.png` there. Row directories of an earlier run are replaced.
pub fn run_real_model(
    config: &RealModelConfig,
    out_dir: &Path,
    device: &Device,
) -> Result<RealModelReport> {
    config.validate()?;
    if !config.model.exists() {
        return Err(TaskError::InvalidInput(format!(
            "model: {} does not exist (a .gguf file or an HF checkpoint directory; \
             `cargo xtask fetch-models` fetches SmolLM2-135M-Instruct)",
            config.model.display()
        )));
    }
    let device = device.clone().inner();
    let mut timer = Timer::new();
    std::fs::create_dir_all(out_dir).map_err(|e| TaskError::io(out_dir, e))?;
    for method in &config.methods {
        let dir = out_dir.join(method.dir_name());
        if dir.exists() {
            std::fs::remove_dir_all(&dir).map_err(|e| TaskError::io(&dir, e))?;
        }
    }

    // 1. Questions, prompts, the base model.
    let (train_q, eval_q) = split_questions(
        config.seed,
        config.data.train_prompts,
        config.data.eval_prompts,
    )?;
    write_json(
        &out_dir.join("questions.json"),
        &serde_json::json!({ "train": &train_q, "eval": &eval_q }),
    )?;
    let tokenizer = Tokenizer::load(&config.model)?;
    let base = CausalLm::load(&config.model, &device)?;
    let chat_template = tokenizer.chat_template().is_some();
    let render = |qs: &[Question]| -> Result<Vec<String>> {
        qs.iter()
            .map(|q| render_prompt(&tokenizer, &q.question))
            .collect()
    };
    let train_prompts = render(&train_q)?;
    let eval_prompts = render(&eval_q)?;
    let by_prompt: HashMap<&str, &Question> = train_prompts
        .iter()
        .zip(&train_q)
        .chain(eval_prompts.iter().zip(&eval_q))
        .map(|(p, q)| (p.as_str(), q))
        .collect();
    let score = |prompt: &str, completion: &str| -> f64 {
        by_prompt
            .get(prompt)
            .map_or(0.0, |q| config.reward.score(q, completion))
    };
    let mut longest_prompt = 0;
    for p in train_prompts.iter().chain(&eval_prompts) {
        longest_prompt = longest_prompt.max(tokenizer.encode(p, true)?.len());
    }
    let max_length = longest_prompt + config.sampling.max_new_tokens + 2;
    let pad_id = tokenizer.pad().map_or(0, |t| t.id);
    let s = &config.sampling;
    let sampling = |seed| SamplingOptions {
        temperature: s.temperature,
        max_new_tokens: s.max_new_tokens,
        batch_rows: s.batch_rows,
        seed,
    };
    timer.lap("load");

    // 2. K base samples per training question → pairs and lists.
    let samples = sample_completions(
        &base,
        &tokenizer,
        &train_prompts,
        s.k,
        &sampling(stream_seed(config.seed, SAMPLE_STREAM)),
    )?;
    let scored: Vec<ScoredPrompt> = samples
        .iter()
        .map(|item| {
            let rewards = item
                .completions
                .iter()
                .map(|c| score(&item.prompt, c))
                .collect();
            ScoredPrompt::new(item.prompt.clone(), item.completions.clone(), rewards)
        })
        .collect::<Result<_>>()?;
    let pairs = preference_pairs(&scored, &PairOptions::default());
    let pairs_file = out_dir.join("pairs.jsonl");
    let lists_file = out_dir.join("lists.jsonl");
    write_preference_jsonl(&pairs_file, &pairs)?;
    let lists = write_ranked_jsonl(&lists_file, &scored)?;
    if pairs.is_empty() {
        return Err(TaskError::InvalidInput(
            "every question's K base samples have the same reward: no preference to learn \
             (raise sampling.k or data.train_prompts)"
                .into(),
        ));
    }
    let preference_data = PreferenceDataSummary {
        prompts: train_prompts.len(),
        lists_per_prompt: 1,
        k: s.k,
        mean_sample_reward: mean(scored.iter().flat_map(|s| s.rewards.iter().copied())),
        pairs: pairs.len(),
        mean_chosen_reward: mean(pairs.iter().map(|p| p.chosen_score)),
        mean_rejected_reward: mean(pairs.iter().map(|p| p.rejected_score)),
        lists,
        pairs_file: pairs_file.clone(),
        lists_file: lists_file.clone(),
    };
    tracing::info!(?preference_data, "preference data written");
    timer.lap("sample");

    // 3. The base's held-out samples: its row and best-of-K.
    let m = s.eval_samples_per_prompt;
    let base_samples = sample_completions(
        &base,
        &tokenizer,
        &eval_prompts,
        m * s.k,
        &sampling(stream_seed(config.seed, EVAL_BASE_STREAM)),
    )?;
    let base_eval = MethodEvaluation::reference_scored(BASE_METHOD, &base_samples, &score);
    let best_of_k =
        MethodEvaluation::best_of_k_scored(format!("best-of-{}", s.k), &base_samples, s.k, &score);
    let peak_rss_before_training_mib = peak_rss_mib();
    timer.lap("evaluate base");

    // 4. Each row: train from the base, sample the held-out questions, score, KL.
    let prompts = eval_prompts.len();
    let row = |e: &MethodEvaluation, training| RealMethodRow {
        summary: MethodSummary::from(e),
        win_rate: win_rate(&e.rewards, &base_eval.rewards, prompts),
        training,
    };
    let mut evaluations = vec![base_eval.clone()];
    let mut rows = vec![row(&base_eval, None)];
    for method in &config.methods {
        let run = StageRun {
            model_dir: config.model.clone(),
            tokenizer_dir: config.model.clone(),
            train_file: match method.objective {
                AlignObjective::Dpo => pairs_file.clone(),
                _ => lists_file.clone(),
            },
            output_dir: out_dir.join(method.dir_name()),
            max_length,
            batch_rows: s.batch_rows,
            seed: config.seed,
            lora: method.tuning.adapters().then(|| config.lora.clone()),
            keep_quantized: method.tuning.keeps_quantized(),
            // Every step: a few dozen steps per row, and the timestamps of the metric events
            // give the time per optimizer step apart from the reference pass and the saving.
            logging_steps: 1,
        };
        let measured = reset_peak_rss();
        let start = Instant::now();
        let stage = match method.objective.lipo_loss() {
            None => training::dpo(&run, &method.stage, &device)?,
            Some(loss) => training::lipo(&run, &method.stage, loss, &device)?,
        };
        let seconds = start.elapsed().as_secs_f64();
        let cost = TrainingCost {
            steps: stage.steps,
            seconds,
            seconds_per_step: seconds / stage.steps.max(1) as f64,
            peak_rss_mib: if measured { peak_rss_mib() } else { None },
        };
        let name = method.name();
        timer.lap(&format!("train {name}"));
        let samples = sample_completions(
            &stage.model,
            &tokenizer,
            &eval_prompts,
            m,
            &sampling(stream_seed(config.seed, EVAL_POLICY_STREAM)),
        )?;
        let rows_of = || samples.iter().flat_map(SampledPrompt::rows);
        let policy = sequence_logprobs(&stage.model, rows_of(), pad_id, s.batch_rows)?;
        let reference = sequence_logprobs(&base, rows_of(), pad_id, s.batch_rows)?;
        let ratios: Vec<f64> = policy.iter().zip(&reference).map(|(p, r)| p - r).collect();
        let evaluation = MethodEvaluation::policy_scored(name.clone(), &samples, &ratios, &score);
        rows.push(row(&evaluation, Some(cost)));
        evaluations.push(evaluation);
        timer.lap(&format!("evaluate {name}"));
    }
    rows.push(row(&best_of_k, None));
    evaluations.push(best_of_k);

    // 5. Table, plot, files.
    let plot = plot_reward_kl(
        &plot_points(&evaluations),
        BASE_METHOD,
        &out_dir.join("reward_kl.png"),
        800,
        600,
    )?;
    let table = real_model_table(&rows);
    timer.lap("report");
    let report = RealModelReport {
        config: config.clone(),
        chat_template,
        preference_data,
        methods: rows,
        table,
        plot,
        total_seconds: timer.start.elapsed().as_secs_f64(),
        timings: timer.timings,
        peak_rss_before_training_mib,
        threads: std::thread::available_parallelism().map_or(1, usize::from),
    };
    report.write(out_dir)?;
    Ok(report)
}
