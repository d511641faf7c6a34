//! Training the task's tokenizer with the `tokenizers` crate and saving it as a Hugging Face
//! tokenizer directory that `prefopt_data::Tokenizer::from_dir` (and transformers' fast
//! tokenizer) loads.
//!
//! The tokenizer is GPT-2-style byte-level BPE: the 256 byte symbols are the initial
//! alphabet, so any text a model emits encodes and decodes exactly (no unknown token), and
//! with a closed grammar vocabulary a vocabulary of ~1000 turns almost every word into one
//! token. The special tokens come first, with ids 0, 1, 2: [`BOS_TOKEN`], [`EOS_TOKEN`],
//! [`PAD_TOKEN`]. The post-processor prepends BOS, as Llama's does; `prefopt-data` appends
//! EOS to completions.
//!
//! Training is deterministic: the alphabet is sorted, merges are taken by count and then by
//! pair ids, and `tokenizer.json` lists the vocabulary by id.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tokenizers::decoders::byte_level::ByteLevel as ByteLevelDecoder;
use tokenizers::models::TrainerWrapper;
use tokenizers::models::bpe::{BPE, BpeTrainer};
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::processors::template::TemplateProcessing;
use tokenizers::{AddedToken, Tokenizer};

use crate::error::{Result, TaskError};
use crate::jsonl_writer::write_json;

/// Beginning of sequence (id 0).
pub const BOS_TOKEN: &str = "<|bos|>";
/// End of sequence (id 1).
pub const EOS_TOKEN: &str = "<|eos|>";
/// Padding (id 2).
pub const PAD_TOKEN: &str = "<|pad|>";

/// Smallest vocabulary that holds the special tokens and the byte alphabet.
pub const MIN_VOCAB_SIZE: usize = 3 + 256;

/// How the tokenizer is trained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenizerTrainingConfig {
    /// Largest vocabulary, special tokens included (≥ [`MIN_VOCAB_SIZE`]). Training stops
    /// earlier when no pair is frequent enough.
    pub vocab_size: usize,
    /// A merge needs at least this many occurrences.
    pub min_frequency: u64,
    /// `model_max_length` written to `tokenizer_config.json`.
    pub model_max_length: usize,
}

impl Default for TokenizerTrainingConfig {
    fn default() -> Self {
        Self {
            vocab_size: 1024,
            min_frequency: 2,
            model_max_length: 128,
        }
    }
}

/// Ids of the special tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpecialTokenIds {
    /// [`BOS_TOKEN`].
    pub bos: u32,
    /// [`EOS_TOKEN`].
    pub eos: u32,
    /// [`PAD_TOKEN`].
    pub pad: u32,
}

/// A trained tokenizer saved in a directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrainedTokenizer {
    /// The directory holding `tokenizer.json`, `tokenizer_config.json` and
    /// `special_tokens_map.json`.
    pub dir: PathBuf,
    /// Vocabulary size, special tokens included (the model's `vocab_size`).
    pub vocab_size: usize,
    /// Special-token ids.
    pub special: SpecialTokenIds,
}

fn tokenizer_error(what: &str, e: impl std::fmt::Display) -> TaskError {
    TaskError::Tokenizer(format!("{what}: {e}"))
}

/// Trains a byte-level BPE tokenizer on `texts` and saves it in `dir` (created if needed).
pub fn train_tokenizer<I, S>(
    texts: I,
    config: &TokenizerTrainingConfig,
    dir: &Path,
) -> Result<TrainedTokenizer>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str> + Send,
    I::IntoIter: Send,
{
    if config.vocab_size < MIN_VOCAB_SIZE {
        return Err(TaskError::InvalidInput(format!(
            "vocab_size {} is below {MIN_VOCAB_SIZE} (3 special tokens + 256 bytes)",
            config.vocab_size
        )));
    }
    let specials = [BOS_TOKEN, EOS_TOKEN, PAD_TOKEN];
    let mut trainer: TrainerWrapper = BpeTrainer::builder()
        .vocab_size(config.vocab_size)
        .min_frequency(config.min_frequency)
        .show_progress(false)
        .special_tokens(
            specials
                .iter()
                .map(|t| AddedToken::from(*t, true))
                .collect(),
        )
        .initial_alphabet(ByteLevel::alphabet().into_iter().collect())
        .build()
        .into();
    let mut tokenizer = Tokenizer::new(BPE::default());
    tokenizer
        .with_pre_tokenizer(Some(ByteLevel::new(false, true, true)))
        .with_decoder(Some(ByteLevelDecoder::new(false, true, true)));
    tokenizer
        .train(&mut trainer, texts.into_iter())
        .map_err(|e| tokenizer_error("training", e))?;
    let id = |token: &str| {
        tokenizer
            .token_to_id(token)
            .ok_or_else(|| TaskError::Tokenizer(format!("{token} missing after training")))
    };
    let special = SpecialTokenIds {
        bos: id(BOS_TOKEN)?,
        eos: id(EOS_TOKEN)?,
        pad: id(PAD_TOKEN)?,
    };
    let template = TemplateProcessing::builder()
        .try_single(format!("{BOS_TOKEN} $A"))
        .map_err(|e| tokenizer_error("post-processor", e))?
        .try_pair(format!("{BOS_TOKEN} $A {BOS_TOKEN}:1 $B:1"))
        .map_err(|e| tokenizer_error("post-processor", e))?
        .special_tokens(vec![(BOS_TOKEN, special.bos)])
        .build()
        .map_err(|e| tokenizer_error("post-processor", e))?;
    tokenizer.with_post_processor(Some(template));

    std::fs::create_dir_all(dir).map_err(|e| TaskError::io(dir, e))?;
    let json_path = dir.join("tokenizer.json");
    let mut json = tokenizer
        .to_string(true)
        .map_err(|e| tokenizer_error("serialising", e))?;
    json.push('\n');
    prefopt_core::write_atomic(&json_path, json.as_bytes())?;
    write_json(
        &dir.join("tokenizer_config.json"),
        &serde_json::json!({
            "tokenizer_class": "PreTrainedTokenizerFast",
            "bos_token": BOS_TOKEN,
            "eos_token": EOS_TOKEN,
            "pad_token": PAD_TOKEN,
            "model_max_length": config.model_max_length,
            "padding_side": "right",
            "clean_up_tokenization_spaces": false,
        }),
    )?;
    write_json(
        &dir.join("special_tokens_map.json"),
        &serde_json::json!({
            "bos_token": BOS_TOKEN,
            "eos_token": EOS_TOKEN,
            "pad_token": PAD_TOKEN,
        }),
    )?;
    let vocab_size = tokenizer.get_vocab_size(true);
    tracing::info!(vocab_size, dir = %dir.display(), "trained byte-level BPE tokenizer");
    Ok(TrainedTokenizer {
        dir: dir.to_path_buf(),
        vocab_size,
        special,
    })
}
