//! The token embedding table: f32, or kept quantized.

use burn::nn::Embedding;
use burn::prelude::*;

use crate::error::Result;
use crate::quantized::{QuantizedEmbedding, QuantizedPath};
use crate::weights::{NamedTensor, export_embedding};

/// A decoder's `embed_tokens` (and, with tied embeddings, its LM head).
#[derive(Module, Debug)]
pub enum TokenEmbedding {
    /// burn's `Embedding`, `[vocab, hidden]` f32: trainable.
    Dense(Embedding),
    /// A GGUF-quantized table (frozen).
    Quantized(QuantizedEmbedding),
}

impl TokenEmbedding {
    /// # Shapes
    /// - input_ids: `[b, t]`
    /// - output: `[b, t, hidden]`
    pub fn forward(&self, input_ids: Tensor<2, Int>) -> Tensor<3> {
        match self {
            Self::Dense(embedding) => embedding.forward(input_ids),
            Self::Quantized(embedding) => embedding.forward(input_ids),
        }
    }

    /// `hidden · tableᵀ`, the tied LM head.
    ///
    /// # Shapes
    /// - hidden: `[n, hidden]`
    /// - output: `[n, vocab]`
    pub fn tied_logits(&self, hidden: Tensor<2>, path: QuantizedPath) -> Tensor<2> {
        match self {
            Self::Dense(embedding) => {
                burn::tensor::module::linear(hidden, embedding.weight.val().transpose(), None)
            }
            Self::Quantized(embedding) => embedding.logits(hidden, path),
        }
    }

    /// The f32 table, when it is not quantized.
    pub fn dense(&self) -> Option<&Embedding> {
        match self {
            Self::Dense(embedding) => Some(embedding),
            Self::Quantized(_) => None,
        }
    }

    /// Whether the table is kept quantized.
    pub fn is_quantized(&self) -> bool {
        matches!(self, Self::Quantized(_))
    }

    /// The table in HF layout under `name` (dequantized when quantized).
    pub(crate) fn export(&self, name: &str, out: &mut Vec<NamedTensor>) -> Result<()> {
        match self {
            Self::Dense(embedding) => export_embedding(embedding, name, out),
            Self::Quantized(embedding) => {
                out.push(NamedTensor {
                    name: name.to_string(),
                    shape: vec![embedding.weight.d_out(), embedding.weight.d_in()],
                    data: embedding.weight.matrix().dequantize(),
                });
                Ok(())
            }
        }
    }
}
