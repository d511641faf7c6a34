//! The causal language model (`LlamaForCausalLM`, `MistralForCausalLM`, `Qwen2ForCausalLM`).

use std::path::Path;

use burn::prelude::*;

use crate::base_linear::BaseLinear;
use crate::checkpoint::{CONFIG_FILE, CheckpointWeights, SaveDtype, write_checkpoint};
use crate::error::{ModelError, Result};
use crate::kv_cache::KvCache;
use crate::llama::LlamaConfig;
use crate::llama::LlamaModel;
use crate::lora::{LoraAdapter, LoraConfig, project};
use crate::mask::AttentionLayout;
use crate::quantized::QuantizedPath;
use crate::weights::{NamedTensor, RandomWeights, WeightSource, load_base_linear};

/// A Llama-family decoder with its LM head, loadable from and savable to HF checkpoints.
///
/// Parameters live on the device passed to [`CausalLm::load_hf`]; load on
/// `device.autodiff()` to train, or call `.valid()` for a frozen copy.
#[derive(Module, Debug)]
pub struct CausalLm {
    /// The decoder trunk (HF `model.*`).
    pub model: LlamaModel,
    /// The LM head `[hidden, vocab]`; `None` when tied to the embeddings.
    pub lm_head: Option<BaseLinear>,
    /// LoRA adapter of `lm_head` (none unless attached, see [`crate::LoraConfig`]).
    pub lm_head_lora: Option<LoraAdapter>,
    #[module(skip)]
    config: LlamaConfig,
    /// The adapters' configuration, when adapters are attached.
    #[module(skip)]
    pub(crate) lora: Option<LoraConfig>,
}

pub(crate) fn read_mask(mask: Option<Tensor<2, Int>>) -> Result<Option<Vec<i64>>> {
    mask.map(|m| {
        m.try_into_vec_as::<i64>()
            .map_err(|e| ModelError::TensorRead(format!("{e:?}")))
    })
    .transpose()
}

impl CausalLm {
    /// Loads `config.json` and the safetensors weights (single file or sharded) of `dir`.
    ///
    /// Weights stored as f16/bf16/f64 are converted to f32.
    pub fn load_hf(dir: impl AsRef<Path>, device: &Device) -> Result<Self> {
        let dir = dir.as_ref();
        let config = LlamaConfig::from_hf_json(dir.join(CONFIG_FILE))?;
        CheckpointWeights::load_with(dir, |weights| Self::build(weights, config, device))
    }

    /// A model with seeded random weights (normal, std 0.02), for tests and benchmarks.
    pub fn init_random(config: LlamaConfig, seed: u64, device: &Device) -> Result<Self> {
        Self::build(&mut RandomWeights::new(seed, 0.02), config, device)
    }

    pub(crate) fn build(
        src: &mut dyn WeightSource,
        config: LlamaConfig,
        device: &Device,
    ) -> Result<Self> {
        let model = LlamaModel::load(src, "model", &config, device)?;
        let lm_head = if config.tie_word_embeddings {
            None
        } else {
            Some(load_base_linear(
                src,
                "lm_head",
                config.hidden_size,
                config.vocab_size,
                false,
                device,
            )?)
        };
        Ok(Self {
            model,
            lm_head,
            lm_head_lora: None,
            config,
            lora: None,
        })
    }

    /// The device its parameters live on (an autodiff device for a model being trained).
    pub fn device(&self) -> Device {
        self.model.norm.gamma.val().device()
    }

    /// Whether the parameters are autodiff tensors (a model loaded for training).
    pub fn is_autodiff(&self) -> bool {
        self.model.norm.gamma.val().is_autodiff()
    }

    /// Whether any base weight is kept quantized (loaded with
    /// [`crate::LoadOptions::keep_quantized`]): such a model trains through adapters only.
    pub fn is_quantized(&self) -> bool {
        self.model.is_quantized() || self.lm_head.as_ref().is_some_and(BaseLinear::is_quantized)
    }

    /// The configuration the model was built from.
    pub fn config(&self) -> &LlamaConfig {
        &self.config
    }

    /// Checks that a tokenizer with `tokenizer_vocab_size` tokens fits the embedding matrix.
    pub fn check_vocab(&self, tokenizer_vocab_size: usize) -> Result<()> {
        self.config.check_vocab(tokenizer_vocab_size)
    }

    /// The parameters in HF names and layouts.
    pub(crate) fn export(&self) -> Result<Vec<NamedTensor>> {
        let mut out = Vec::new();
        self.model.export("model", &mut out)?;
        if let Some(head) = &self.lm_head {
            head.export("lm_head", &mut out)?;
        }
        Ok(out)
    }

    /// The on-disk dtype `save_hf` uses: the config's `torch_dtype` (or `dtype`), else f32.
    pub fn save_dtype(&self) -> SaveDtype {
        SaveDtype::from_hf_config(&self.config.raw)
    }

    /// Writes `config.json` and `model.safetensors` in the HF layout (atomically, file by
    /// file), so `transformers.AutoModelForCausalLM.from_pretrained(dir)` loads it unchanged.
    pub fn save_hf(&self, dir: impl AsRef<Path>) -> Result<()> {
        self.save_hf_with(dir, self.save_dtype(), None)
    }

    /// Like [`CausalLm::save_hf`] with an explicit dtype and optional sharding
    /// (`model-0000k-of-0000n.safetensors` + `model.safetensors.index.json`).
    pub fn save_hf_with(
        &self,
        dir: impl AsRef<Path>,
        dtype: SaveDtype,
        max_shard_bytes: Option<usize>,
    ) -> Result<()> {
        write_checkpoint(
            dir.as_ref(),
            &self.config.to_hf_json(),
            self.export()?,
            dtype,
            max_shard_bytes,
        )
    }

    /// Final hidden states (after the last norm).
    ///
    /// `attention_mask` is 1 for real tokens and 0 for padding (left or right); positions are
    /// counted over real tokens only, so padding side does not change the result.
    ///
    /// # Shapes
    /// - input_ids: `[b, t]`
    /// - attention_mask: `[b, t]`
    /// - output: `[b, t, hidden]`
    pub fn forward_hidden(
        &self,
        input_ids: Tensor<2, Int>,
        attention_mask: Option<Tensor<2, Int>>,
    ) -> Result<Tensor<3>> {
        let [b, t] = input_ids.dims();
        let mask = read_mask(attention_mask)?;
        if let Some(m) = &mask
            && m.len() != b * t
        {
            return Err(ModelError::InvalidInput(format!(
                "attention_mask has {} elements, input_ids is [{b}, {t}]",
                m.len()
            )));
        }
        let layout = AttentionLayout::from_mask(mask.as_deref(), b, t);
        Ok(self.model.forward_layout(input_ids, &layout, None))
    }

    /// Applies the LM head (or the tied embedding matrix).
    ///
    /// # Shapes
    /// - hidden: `[..., hidden]`
    /// - output: `[..., vocab]`
    pub fn logits_from_hidden<const D: usize>(&self, hidden: Tensor<D>) -> Tensor<D> {
        self.logits_from_hidden_path(hidden, QuantizedPath::Exact)
    }

    /// [`CausalLm::logits_from_hidden`] with a quantized head's kernels chosen by `path`.
    pub(crate) fn logits_from_hidden_path<const D: usize>(
        &self,
        hidden: Tensor<D>,
        path: QuantizedPath,
    ) -> Tensor<D> {
        match &self.lm_head {
            Some(head) => project(head, self.lm_head_lora.as_ref(), hidden, path),
            None => {
                let rows = crate::folded_rows::fold_rows(hidden);
                rows.unfold(
                    self.model
                        .embed_tokens
                        .tied_logits(rows.values.clone(), path),
                )
            }
        }
    }

    /// Next-token logits at every position.
    ///
    /// # Shapes
    /// - input_ids: `[b, t]`
    /// - attention_mask: `[b, t]` (1 = token, 0 = padding), `None` = no padding
    /// - output: `[b, t, vocab]`
    pub fn forward(
        &self,
        input_ids: Tensor<2, Int>,
        attention_mask: Option<Tensor<2, Int>>,
    ) -> Result<Tensor<3>> {
        Ok(self.logits_from_hidden(self.forward_hidden(input_ids, attention_mask)?))
    }

    /// Incremental forward: appends `input_ids` to `cache` and returns their logits.
    ///
    /// The first call may carry an `attention_mask` (left-padded prompts); later calls add one
    /// real token per row (`attention_mask` `None`), or pass a mask to feed padding.
    ///
    /// # Shapes
    /// - input_ids: `[b, t]`
    /// - attention_mask: `[b, t]` for the new tokens only
    /// - output: `[b, t, vocab]`
    pub fn forward_cached(
        &self,
        input_ids: Tensor<2, Int>,
        attention_mask: Option<Tensor<2, Int>>,
        cache: &mut KvCache,
    ) -> Result<Tensor<3>> {
        let hidden = self.forward_cached_hidden(input_ids, attention_mask, cache)?;
        Ok(self.logits_from_hidden_path(hidden, QuantizedPath::Decode))
    }

    /// [`CausalLm::forward_cached`] without the LM head: `[b, t, hidden]`.
    pub(crate) fn forward_cached_hidden(
        &self,
        input_ids: Tensor<2, Int>,
        attention_mask: Option<Tensor<2, Int>>,
        cache: &mut KvCache,
    ) -> Result<Tensor<3>> {
        let [b, t] = input_ids.dims();
        let mask = read_mask(attention_mask)?.unwrap_or_else(|| vec![1; b * t]);
        if mask.len() != b * t {
            return Err(ModelError::InvalidInput(format!(
                "attention_mask has {} elements, input_ids is [{b}, {t}]",
                mask.len()
            )));
        }
        if cache.key_valid.is_empty() {
            cache.key_valid = vec![Vec::new(); b];
            cache.next_position = vec![0; b];
        } else if cache.key_valid.len() != b {
            return Err(ModelError::InvalidInput(format!(
                "cache holds {} rows, input has {b}",
                cache.key_valid.len()
            )));
        }
        if cache.layers.len() != self.model.layers.len() {
            return Err(ModelError::InvalidInput(format!(
                "cache has {} layers, model has {}",
                cache.layers.len(),
                self.model.layers.len()
            )));
        }
        let past = cache.len();
        let mut positions = Vec::with_capacity(b * t);
        for row in 0..b {
            for i in 0..t {
                let real = mask[row * t + i] != 0;
                let pos = cache.next_position[row];
                positions.push(if real { pos } else { (pos - 1).max(0) });
                if real {
                    cache.next_position[row] += 1;
                }
                cache.key_valid[row].push(real);
            }
        }
        let all_valid = cache.key_valid.iter().all(|r| r.iter().all(|&v| v));
        let layout = AttentionLayout {
            batch: b,
            new_tokens: t,
            past,
            positions,
            key_valid: (!all_valid).then(|| cache.key_valid.concat()),
        };
        Ok(self.model.forward_layout(input_ids, &layout, Some(cache)))
    }

    /// An empty cache sized for this model.
    pub fn new_cache(&self) -> KvCache {
        KvCache::new(self.model.layers.len())
    }
}
