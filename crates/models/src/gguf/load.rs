//! `CausalLm::load_gguf` and `CausalLm::load` (a directory or a GGUF file).

use std::path::Path;

use burn::prelude::*;
use prefopt_gguf::GgufFile;

use super::config::llama_config_from_gguf;
use super::weights::GgufWeights;
use crate::causal_lm::CausalLm;
use crate::error::Result;
use crate::load_options::LoadOptions;

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
        Self::load_gguf_with(path, device, &LoadOptions::default())
    }

    /// [`CausalLm::load_gguf`] with options: with [`LoadOptions::keep_quantized`] on the CPU
    /// backend, every quantized weight stays in its block format (see [`crate::quantized`]),
    /// read tensor by tensor from the file, so no f32 copy of it is ever held; norms and f32
    /// tensors load as usual. On other devices the weights are dequantized (a `warn` says so).
    ///
    /// # Errors
    /// As [`CausalLm::load_gguf`].
    pub fn load_gguf_with(
        path: impl AsRef<Path>,
        device: &Device,
        options: &LoadOptions,
    ) -> Result<Self> {
        let file = GgufFile::open(path.as_ref())?;
        let config = llama_config_from_gguf(&file)?;
        let keep = options.keep_quantized && crate::fused::device_is_flex(device);
        if options.keep_quantized && !keep {
            tracing::warn!(
                file = %path.as_ref().display(),
                "quantized weights are kept quantized on the CPU backend only; dequantizing to f32"
            );
        }
        let mut weights = GgufWeights::new(
            &file,
            config.num_attention_heads,
            config.num_key_value_heads,
            keep,
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
        Self::load_with(path, device, &LoadOptions::default())
    }

    /// [`CausalLm::load`] with options ([`LoadOptions::keep_quantized`] applies to a GGUF
    /// file, or a PEFT adapter whose base is one).
    ///
    /// # Errors
    /// As [`CausalLm::load`].
    pub fn load_with(
        path: impl AsRef<Path>,
        device: &Device,
        options: &LoadOptions,
    ) -> Result<Self> {
        let path = path.as_ref();
        if path.is_file() {
            Self::load_gguf_with(path, device, options)
        } else if options.keep_quantized && path.join(crate::CONFIG_FILE).is_file() {
            tracing::warn!(
                model = %path.display(),
                "keep_quantized applies to .gguf files; this checkpoint loads in f32"
            );
            Self::load_hf(path, device)
        } else if !path.join(crate::CONFIG_FILE).is_file()
            && path.join(crate::ADAPTER_CONFIG_FILE).is_file()
        {
            // A PEFT adapter directory: its base (`base_model_name_or_path`) + the adapter.
            Self::load_peft_with(path, device, options)
        } else {
            Self::load_hf(path, device)
        }
    }
}
