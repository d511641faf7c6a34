//! One call that lays out everything the controlled sentiment demo needs before any model
//! exists: the SFT corpus, the sampling prompts, a trained tokenizer and the model's
//! `config.json`.
//!
//! ```text
//! <dir>/sft.jsonl              prompt + completion reviews (SFT)
//! <dir>/prompts.jsonl          distinct prompts to sample K completions from
//! <dir>/corpus_stats.json      ground-truth reward statistics of the SFT completions
//! <dir>/model/tokenizer.json, tokenizer_config.json, special_tokens_map.json
//! <dir>/model/config.json, generation_config.json
//! ```
//!
//! Every file is a pure function of `(seed, sizes, grammar, model)`.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::corpus_files::{write_prompts_jsonl, write_sft_jsonl};
use crate::error::{Result, TaskError};
use crate::jsonl_writer::write_json;
use crate::model_config::TinyLlamaConfig;
use crate::sentiment::{
    CorpusStats, ReviewGrammar, corpus_stats, distinct_prompts, generate_reviews,
};
use crate::tokenizer_training::{TokenizerTrainingConfig, TrainedTokenizer, train_tokenizer};

/// How much data to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DemoSizes {
    /// SFT reviews.
    pub sft_examples: usize,
    /// Distinct sampling prompts (at most [`ReviewGrammar::prompt_count`]).
    pub prompts: usize,
    /// Largest tokenizer vocabulary.
    pub vocab_size: usize,
}

impl Default for DemoSizes {
    fn default() -> Self {
        Self {
            sft_examples: 4000,
            prompts: 64,
            vocab_size: 1024,
        }
    }
}

/// What [`prepare`] wrote.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DemoFiles {
    /// The directory everything is in.
    pub dir: PathBuf,
    /// SFT JSONL (`prompt`, `completion`).
    pub sft: PathBuf,
    /// Prompt-only JSONL (`prompt`).
    pub prompts: PathBuf,
    /// `corpus_stats.json`.
    pub stats_file: PathBuf,
    /// The model directory: tokenizer files and `config.json`; save the weights here.
    pub model_dir: PathBuf,
    /// `model_dir/config.json`.
    pub model_config: PathBuf,
    /// The tokenizer (vocabulary size, special ids).
    pub tokenizer: TrainedTokenizer,
    /// Reward statistics of the SFT completions.
    pub corpus_stats: CorpusStats,
    /// Longest SFT row in tokens (BOS + prompt + completion + EOS): a safe `max_length`.
    pub max_sft_tokens: usize,
    /// Longest completion in tokens, EOS included: a safe `max_new_tokens`.
    pub max_completion_tokens: usize,
}

/// [`prepare_with`] with the default grammar and model.
pub fn prepare(dir: &Path, seed: u64, sizes: &DemoSizes) -> Result<DemoFiles> {
    prepare_with(
        dir,
        seed,
        sizes,
        &ReviewGrammar::default(),
        &TinyLlamaConfig::default(),
    )
}

/// Writes the demo's corpus, prompts, tokenizer and model config into `dir`.
pub fn prepare_with(
    dir: &Path,
    seed: u64,
    sizes: &DemoSizes,
    grammar: &ReviewGrammar,
    model: &TinyLlamaConfig,
) -> Result<DemoFiles> {
    if sizes.sft_examples == 0 || sizes.prompts == 0 {
        return Err(TaskError::InvalidInput(format!(
            "sft_examples and prompts must be positive: {sizes:?}"
        )));
    }
    model.validate()?;
    let reviews = generate_reviews(grammar, seed, sizes.sft_examples)?;
    let prompts = distinct_prompts(grammar, seed, sizes.prompts)?;
    let sft = dir.join("sft.jsonl");
    write_sft_jsonl(&sft, &reviews)?;
    let prompts_file = dir.join("prompts.jsonl");
    write_prompts_jsonl(&prompts_file, &prompts)?;
    let stats = corpus_stats(&reviews);
    let stats_file = dir.join("corpus_stats.json");
    write_json(&stats_file, &stats)?;

    let model_dir = dir.join("model");
    let training = TokenizerTrainingConfig {
        vocab_size: sizes.vocab_size,
        model_max_length: model.max_position_embeddings,
        ..Default::default()
    };
    let tokenizer = train_tokenizer(reviews.iter().map(|r| r.text()), &training, &model_dir)?;
    let model_config = model.write(&model_dir, tokenizer.vocab_size, &tokenizer.special)?;

    // Lengths through the saved tokenizer, as prefopt-data will see them.
    let loaded = prefopt_data::Tokenizer::from_dir(&model_dir)?;
    let (mut max_sft_tokens, mut max_completion_tokens) = (0, 0);
    for review in &reviews {
        let full = loaded.encode(&review.text(), true)?.len() + 1;
        let completion = loaded.encode(&review.completion, false)?.len() + 1;
        max_sft_tokens = max_sft_tokens.max(full);
        max_completion_tokens = max_completion_tokens.max(completion);
    }
    if max_sft_tokens > model.max_position_embeddings {
        return Err(TaskError::InvalidInput(format!(
            "the longest SFT row has {max_sft_tokens} tokens, more than max_position_embeddings {}",
            model.max_position_embeddings
        )));
    }
    tracing::info!(
        dir = %dir.display(),
        sft = reviews.len(),
        prompts = prompts.len(),
        vocab = tokenizer.vocab_size,
        mean_reward = stats.reward.mean,
        max_sft_tokens,
        "prepared the controlled sentiment task"
    );
    Ok(DemoFiles {
        dir: dir.to_path_buf(),
        sft,
        prompts: prompts_file,
        stats_file,
        model_dir,
        model_config,
        tokenizer,
        corpus_stats: stats,
        max_sft_tokens,
        max_completion_tokens,
    })
}
