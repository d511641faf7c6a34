//! `CausalLm::load_gguf` and `CausalLm::load` (a directory or a GGUF file).

use std::path::Path;

use burn::prelude::*;
use prefopt_gguf::GgufFile;

use super::config::llama_config_from_gguf;
use super::weights::GgufWeights;
use crate::causal_lm::CausalLm;
use crate::error::Result;

impl CausalLm {
    /// Loads a Llama-architecture GGUF file: config from its `llama.*` metadata, weights
    /// dequantized to f32 (any type `prefopt_gguf::dequantize` supports) under their HF names,
    /// with llama.cpp's Q/K row permutation undone. Tied embeddings when `output.weight` is
    /// absent. The result is the model `load_hf` builds from the same model's HF checkpoint,
    /// and `save_hf` writes that checkpoint.
    ///
    /// # Errors
    /// Every GGUF format error (naming the key or tensor), a non-Llama architecture, a
    /// tokenizer whose size differs from the embedding rows, missing or misshapen tensors, and
    /// tensors the loader does not know.
    pub fn load_gguf(path: impl AsRef<Path>, device: &Device) -> Result<Self> {
        let file = GgufFile::open(path.as_ref())?;
        let config = llama_config_from_gguf(&file)?;
        let mut weights = GgufWeights::new(
            &file,
            config.num_attention_heads,
            config.num_key_value_heads,
        );
        let model = Self::build(&mut weights, config, device)?;
        weights.check_all_used()?;
        Ok(model)
    }

    /// Loads `path` whichever form it has: a file is read as GGUF ([`CausalLm::load_gguf`];
    /// a file that is not one is an error saying so), a directory as an HF checkpoint
    /// ([`CausalLm::load_hf`]), or, when it has `adapter_config.json` and no `config.json`, as a
    /// PEFT adapter on its base ([`CausalLm::load_peft`]).
    pub fn load(path: impl AsRef<Path>, device: &Device) -> Result<Self> {
        let path = path.as_ref();
        if path.is_file() {
            Self::load_gguf(path, device)
        } else if !path.join(crate::CONFIG_FILE).is_file()
            && path.join(crate::ADAPTER_CONFIG_FILE).is_file()
        {
            // A PEFT adapter directory: its base (`base_model_name_or_path`) + the adapter.
            Self::load_peft(path, device)
        } else {
            Self::load_hf(path, device)
        }
    }
}
