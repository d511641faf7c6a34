//! Held-out evaluation of a personalisation run: greedy generation from each test user's prompt
//! and ROUGE-1/2/L + sacreBLEU against the targets (the metrics of the NextQuill paper's
//! tables; `rouge_score` semantics without stemmer, see `prefopt_core::text_metrics`).

use prefopt_core::invalid;
use std::path::Path;

use prefopt_core::{corpus_bleu, corpus_rouge, rouge, write_atomic};
use prefopt_data::{TokenizedPersonal, Tokenizer};
use prefopt_models::{BatchedGenerationConfig, CausalLm, GenerationConfig};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::error::{Error, Result, io, json};
use crate::personalization_section::{PersonalizationSection, PromptView};
use crate::run_config::RunConfig;

/// The evaluation report written to the output directory.
pub const PERSONAL_EVAL_FILE: &str = "personalization_eval.json";
/// The per-example generations written to the output directory.
pub const GENERATIONS_FILE: &str = "generations_test.jsonl";

/// Loads and tokenizes `[personalization] test` (`None` when unset), through the tokenized
/// data cache in `cache_dir` when given.
pub fn load_test_split(
    config: &RunConfig,
    tokenizer: &Tokenizer,
    cache_dir: Option<&Path>,
) -> Result<Option<Vec<TokenizedPersonal>>> {
    let section = &config.personalization;
    let Some(path) = &section.test else {
        return Ok(None);
    };
    let (data, _) = prefopt_data::load_personal_dataset(
        path,
        &section.data_layout()?,
        tokenizer,
        &section.prompt,
        config.data.dataset_options().read,
        cache_dir,
    )?;
    Ok(Some(data.examples))
}

/// Evaluates `model` on `test` and writes [`PERSONAL_EVAL_FILE`] and [`GENERATIONS_FILE`]
/// into `out_dir`.
pub fn evaluate_and_write(
    model: &CausalLm,
    tokenizer: &Tokenizer,
    test: &[TokenizedPersonal],
    options: &PersonalEvalOptions,
    method: &str,
    out_dir: &Path,
) -> Result<PersonalEvalReport> {
    std::fs::create_dir_all(out_dir).map_err(io(out_dir))?;
    let report = evaluate_personalization(
        model,
        tokenizer,
        test,
        options,
        Some(&out_dir.join(GENERATIONS_FILE)),
    )?;
    let path = out_dir.join(PERSONAL_EVAL_FILE);
    let text = serde_json::to_string_pretty(&json!({"method": method, "report": report}))
        .map_err(json(&path))?;
    write_atomic(&path, (text + "\n").as_bytes())?;
    tracing::info!(
        method,
        rouge1 = report.rouge1,
        rouge_l = report.rouge_l,
        bleu = report.bleu,
        examples = report.examples,
        "held-out personalisation scores"
    );
    Ok(report)
}

/// How the held-out users are generated for.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PersonalEvalOptions {
    /// Which prompt the model sees (the one its method trained on).
    pub view: PromptView,
    /// Generation length limit.
    pub max_new_tokens: usize,
    /// transformers' repetition penalty (1.0 = off).
    pub repetition_penalty: f64,
    /// Prompts per generation batch.
    pub batch_size: usize,
}

impl PersonalEvalOptions {
    /// The options of `[personalization]` (the view of its method).
    pub fn from_section(section: &PersonalizationSection) -> Self {
        Self {
            view: section.method.view(),
            max_new_tokens: section.max_new_tokens,
            repetition_penalty: section.repetition_penalty,
            batch_size: section.generation_batch_size,
        }
    }
}

/// Scores of one evaluation (F-measures in [0, 1], BLEU in [0, 100]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PersonalEvalReport {
    /// The prompt view generated from.
    pub view: PromptView,
    /// Examples generated for.
    pub examples: usize,
    /// Mean ROUGE-1 F.
    pub rouge1: f64,
    /// Mean ROUGE-2 F.
    pub rouge2: f64,
    /// Mean ROUGE-L F.
    pub rouge_l: f64,
    /// Corpus sacreBLEU (13a, exp smoothing).
    pub bleu: f64,
    /// Mean generated tokens per example.
    pub mean_new_tokens: f64,
    /// Fraction of generations that ended with an end-of-sequence token.
    pub finished_fraction: f64,
}

/// Generates for every example (greedy) and scores the texts against `example.target`. With
/// `generations`, writes one JSONL row per example (`user_id`, `prediction`, `target`,
/// `rouge1`, `rouge_l`).
pub fn evaluate_personalization(
    model: &CausalLm,
    tokenizer: &Tokenizer,
    examples: &[TokenizedPersonal],
    options: &PersonalEvalOptions,
    generations: Option<&Path>,
) -> Result<PersonalEvalReport> {
    if examples.is_empty() {
        return Err(invalid("personalization.test", "no examples to evaluate"));
    }
    let mut eos: Vec<u32> = tokenizer.stop_token_ids().to_vec();
    if let Some(e) = tokenizer.eos()
        && !eos.contains(&e.id)
    {
        eos.push(e.id);
    }
    let pad = tokenizer.padding_id();
    let generation = GenerationConfig::new()
        .with_max_new_tokens(options.max_new_tokens)
        .with_repetition_penalty(options.repetition_penalty)
        .with_eos_token_ids(Some(eos))
        .with_pad_token_id(Some(pad));
    let config =
        BatchedGenerationConfig::new(generation).with_batch_size(options.batch_size.max(1));
    let prompts: Vec<Vec<u32>> = examples
        .iter()
        .map(|e| match options.view {
            PromptView::History => e.prompt_ids.clone(),
            PromptView::Null => e.null_prompt_ids.clone(),
        })
        .collect();
    let out = model.generate_batched(&prompts, &config)?;
    let new_tokens: usize = out.tokens.iter().map(Vec::len).sum();
    let finished = out.finished.iter().filter(|&&done| done).count();
    let predictions = out
        .tokens
        .iter()
        .map(|tokens| Ok(tokenizer.decode(tokens, true)?.trim().to_string()))
        .collect::<Result<Vec<String>>>()?;
    let targets: Vec<&str> = examples.iter().map(|e| e.target.as_str()).collect();
    let scores = corpus_rouge(&predictions, &targets).map_err(metric_error)?;
    let bleu = corpus_bleu(&predictions, &targets).map_err(metric_error)?;
    if let Some(path) = generations {
        write_generations(path, examples, &predictions)?;
    }
    let n = examples.len() as f64;
    Ok(PersonalEvalReport {
        view: options.view,
        examples: examples.len(),
        rouge1: scores.rouge1,
        rouge2: scores.rouge2,
        rouge_l: scores.rouge_l,
        bleu: bleu.score,
        mean_new_tokens: new_tokens as f64 / n,
        finished_fraction: finished as f64 / n,
    })
}

fn metric_error(e: impl std::fmt::Display) -> Error {
    invalid("personalization.test", format!("scoring failed: {e}"))
}

fn write_generations(
    path: &Path,
    examples: &[TokenizedPersonal],
    predictions: &[String],
) -> Result<()> {
    let mut text = String::new();
    for (e, p) in examples.iter().zip(predictions) {
        let s = rouge(p, &e.target);
        let row = json!({
            "user_id": e.user_id,
            "prediction": p,
            "target": e.target,
            "rouge1": s.rouge1.fmeasure,
            "rouge_l": s.rouge_l.fmeasure,
        });
        text.push_str(&serde_json::to_string(&row).map_err(json(path))?);
        text.push('\n');
    }
    write_atomic(path, text.as_bytes())?;
    Ok(())
}
