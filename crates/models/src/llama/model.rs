//! The decoder trunk (HF `model.*`): embeddings, layers, final norm.

use burn::nn::RmsNorm;
use burn::prelude::*;

use super::config::LlamaConfig;
use super::decoder_layer::DecoderLayer;
use super::rope::RopeTables;
use crate::error::Result;
use crate::kv_cache::KvCache;
use crate::lora::LoraSlot;
use crate::mask::AttentionLayout;
use crate::token_embedding::TokenEmbedding;
use crate::weights::{
    NamedTensor, WeightSource, export_rms_norm, load_rms_norm, load_token_embedding,
};

/// Embeddings → decoder layers → final RMSNorm; shared by [`crate::CausalLm`] and
/// [`crate::SequenceClassifier`].
#[derive(Module, Debug)]
pub struct LlamaModel {
    /// Token embeddings `[vocab, hidden]`.
    pub embed_tokens: TokenEmbedding,
    /// Decoder layers.
    pub layers: Vec<DecoderLayer>,
    /// Final norm.
    pub norm: RmsNorm,
    /// RoPE inverse frequencies (f32, `head_dim / 2`), rescaled per the config.
    #[module(skip)]
    inv_freq: Vec<f32>,
    heads: usize,
}

impl LlamaModel {
    /// Loads `{prefix}.embed_tokens`, `{prefix}.layers.N.*`, `{prefix}.norm` (prefix `model`).
    pub(crate) fn load(
        src: &mut dyn WeightSource,
        prefix: &str,
        c: &LlamaConfig,
        device: &Device,
    ) -> Result<Self> {
        let embed_tokens = load_token_embedding(
            src,
            &format!("{prefix}.embed_tokens.weight"),
            c.vocab_size,
            c.hidden_size,
            device,
        )?;
        let layers = (0..c.num_hidden_layers)
            .map(|i| DecoderLayer::load(src, &format!("{prefix}.layers.{i}"), c, device))
            .collect::<Result<Vec<_>>>()?;
        let norm = load_rms_norm(
            src,
            &format!("{prefix}.norm.weight"),
            c.hidden_size,
            c.rms_norm_eps,
            device,
        )?;
        Ok(Self {
            embed_tokens,
            layers,
            norm,
            inv_freq: c.inv_freq().into_iter().map(|f| f as f32).collect(),
            heads: c.num_attention_heads,
        })
    }

    pub(crate) fn export(&self, prefix: &str, out: &mut Vec<NamedTensor>) -> Result<()> {
        self.embed_tokens
            .export(&format!("{prefix}.embed_tokens.weight"), out)?;
        for (i, layer) in self.layers.iter().enumerate() {
            layer.export(&format!("{prefix}.layers.{i}"), out)?;
        }
        export_rms_norm(&self.norm, &format!("{prefix}.norm.weight"), out)
    }

    /// Whether the embedding table or any projection is kept quantized.
    pub(crate) fn is_quantized(&self) -> bool {
        self.embed_tokens.is_quantized() || self.layers.iter().any(DecoderLayer::is_quantized)
    }

    /// The adapter slots of every layer, with HF paths under `prefix`.
    pub(crate) fn lora_slots<'a>(&'a mut self, prefix: &str, out: &mut Vec<LoraSlot<'a>>) {
        for (i, layer) in self.layers.iter_mut().enumerate() {
            layer.lora_slots(&format!("{prefix}.layers.{i}"), out);
        }
    }

    /// Final hidden states (after the last norm) for a layout computed on the host.
    ///
    /// # Shapes
    /// - input_ids: `[b, t]`
    /// - output: `[b, t, hidden]`
    pub(crate) fn forward_layout(
        &self,
        input_ids: Tensor<2, Int>,
        layout: &AttentionLayout,
        mut cache: Option<&mut KvCache>,
    ) -> Tensor<3> {
        let device = input_ids.device();
        let rope = RopeTables::new(
            &self.inv_freq,
            &layout.positions,
            layout.batch,
            layout.new_tokens,
            &device,
        );
        let mask = layout.attention_mask(self.heads, &device);
        let mut x = self.embed_tokens.forward(input_ids);
        for (i, layer) in self.layers.iter().enumerate() {
            let layer_cache = cache.as_deref_mut().map(|c| &mut c.layers[i]);
            x = layer.forward(x, &rope, mask.clone(), layer_cache);
        }
        super::decoder_layer::norm(&self.norm, x)
    }
}
