//! The toy world on disk, for `prefopt grpo`: the random-init policy in HF layout with a
//! tokenizer that maps each character of [`TOY_ALPHABET`] to its token id, and a prompt file.
//!
//! The tokenizer is a BPE model with the 32 characters as its vocabulary and no merges, and a
//! `Fuse` decoder, so encoding splits text into characters (others are dropped) and decoding
//! concatenates them: `tokenizer.decode(ids)` is [`toy_detokenize`](super::toy_detokenize)
//! (no token is special, so nothing is skipped). `$` is the EOS token and `_` the pad token.

use std::path::{Path, PathBuf};

use burn::prelude::*;
use serde_json::json;

use crate::error::{Error, Result};

use super::{TOY_ALPHABET, toy_detokenize, toy_model, toy_prompts};

/// What [`write_toy_world`] writes. The defaults are the reward-hacking study's seed 0.
#[derive(Debug, Clone, PartialEq)]
pub struct ToyWorld {
    /// Width of the model (a multiple of 8).
    pub hidden: usize,
    /// Layers of the model.
    pub layers: usize,
    /// Seed of the random initial weights.
    pub model_seed: u64,
    /// Number of prompts (3–6 letters each).
    pub prompts: usize,
    /// Seed of the prompts.
    pub prompt_seed: u64,
}

impl Default for ToyWorld {
    fn default() -> Self {
        Self {
            hidden: 64,
            layers: 2,
            model_seed: 100,
            prompts: 32,
            prompt_seed: 1,
        }
    }
}

/// Where [`write_toy_world`] put things.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToyWorldFiles {
    /// The policy (`config.json`, `model.safetensors`, `tokenizer.json`,
    /// `tokenizer_config.json`): `[model] path` of a run file.
    pub model_dir: PathBuf,
    /// `{"prompt": "..."}` lines: `[data] prompts` of a run file.
    pub prompts: PathBuf,
}

/// The toy tokenizer's `tokenizer.json`.
pub fn toy_tokenizer_json() -> String {
    let vocab: serde_json::Map<String, serde_json::Value> = TOY_ALPHABET
        .chars()
        .enumerate()
        .map(|(i, c)| (c.to_string(), json!(i)))
        .collect();
    let tokenizer = json!({
        "version": "1.0",
        "truncation": null,
        "padding": null,
        "added_tokens": [],
        "normalizer": null,
        "pre_tokenizer": null,
        "post_processor": null,
        "decoder": {"type": "Fuse"},
        "model": {
            "type": "BPE",
            "dropout": null,
            "unk_token": null,
            "continuing_subword_prefix": null,
            "end_of_word_suffix": null,
            "fuse_unk": false,
            "byte_fallback": false,
            "ignore_merges": false,
            "vocab": vocab,
            "merges": []
        }
    });
    format!("{tokenizer:#}\n")
}

/// Writes the toy world into `dir`: `dir/model/` and `dir/prompts.jsonl` (files written
/// atomically; an existing world is replaced).
///
/// # Errors
/// [`Error::File`] naming the file that could not be written, a model error for impossible
/// sizes.
pub fn write_toy_world(dir: &Path, world: &ToyWorld) -> Result<ToyWorldFiles> {
    let model_dir = dir.join("model");
    let model = toy_model(
        world.hidden,
        world.layers,
        world.model_seed,
        &Device::flex(),
    )?;
    model
        .save_hf(&model_dir)
        .map_err(|e| Error::file("writing the toy model to", &model_dir, e))?;
    let write = |path: PathBuf, text: String| -> Result<PathBuf> {
        prefopt_core::write_atomic(&path, text.as_bytes())
            .map_err(|e| Error::file("writing", &path, e))?;
        Ok(path)
    };
    write(model_dir.join("tokenizer.json"), toy_tokenizer_json())?;
    let config = json!({"eos_token": "$", "pad_token": "_", "model_max_length": 512});
    write(
        model_dir.join("tokenizer_config.json"),
        format!("{config:#}\n"),
    )?;
    let lines: String = toy_prompts(world.prompts, world.prompt_seed)
        .iter()
        .map(|p| format!("{}\n", json!({"prompt": toy_detokenize(p)})))
        .collect();
    let prompts = write(dir.join("prompts.jsonl"), lines)?;
    Ok(ToyWorldFiles { model_dir, prompts })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::toy::{TOY_EOS, TOY_PAD, toy_token};

    #[test]
    fn the_written_world_loads_and_its_tokenizer_is_one_token_per_character() {
        let dir = tempfile::tempdir().unwrap();
        let world = ToyWorld {
            hidden: 16,
            layers: 1,
            prompts: 5,
            ..ToyWorld::default()
        };
        let files = write_toy_world(dir.path(), &world).unwrap();
        let tokenizer = prefopt_data::Tokenizer::from_dir(&files.model_dir).unwrap();
        assert_eq!(tokenizer.vocab_size(), 32);
        assert_eq!(tokenizer.encode("hah", true).unwrap(), vec![9, 2, 9]);
        let ids = [9, 2, TOY_PAD, 9, TOY_EOS];
        assert_eq!(tokenizer.decode(&ids, true).unwrap(), toy_detokenize(&ids));
        assert_eq!(tokenizer.eos().map(|t| t.id), Some(TOY_EOS));
        assert_eq!(tokenizer.pad().map(|t| t.id), Some(TOY_PAD));
        let model = prefopt_models::CausalLm::load_hf(&files.model_dir, &Device::flex()).unwrap();
        model.check_vocab(32).unwrap();
        let prompts = std::fs::read_to_string(&files.prompts).unwrap();
        let first: serde_json::Value =
            serde_json::from_str(prompts.lines().next().unwrap()).unwrap();
        let text = first["prompt"].as_str().unwrap();
        let want: Vec<u32> = text.chars().map(|c| toy_token(c).unwrap()).collect();
        assert_eq!(tokenizer.encode(text, true).unwrap(), want);
        assert_eq!(prompts.lines().count(), 5);
    }
}
