//! A token embedding whose table stays quantized (and, tied, serves as the LM head).

use burn::prelude::*;

use super::{QuantizedPath, QuantizedWeight, quantized_matmul};

/// The `[vocab, hidden]` table in GGUF blocks: a lookup dequantizes the rows it reads.
#[derive(Module, Debug)]
pub struct QuantizedEmbedding {
    /// The table, `[vocab, hidden]`.
    #[module(skip)]
    pub weight: QuantizedWeight,
}

impl QuantizedEmbedding {
    /// A lookup table of `weight`.
    pub fn new(weight: QuantizedWeight) -> Self {
        Self { weight }
    }

    /// The rows of `input_ids`, dequantized (a constant: embeddings of a quantized table do not
    /// train).
    ///
    /// # Shapes
    /// - input_ids: `[b, t]`
    /// - output: `[b, t, hidden]`
    ///
    /// # Panics
    /// If an id is outside the vocabulary (the model's callers check ids against the
    /// tokenizer's size first).
    pub fn forward(&self, input_ids: Tensor<2, Int>) -> Tensor<3> {
        let [b, t] = input_ids.dims();
        let device = input_ids.device();
        let ids = input_ids
            .try_into_vec_as::<i64>()
            .unwrap_or_else(|e| panic!("reading token ids: {e:?}"));
        let (vocab, d) = (self.weight.d_out(), self.weight.d_in());
        let mut out = vec![0f32; ids.len() * d];
        for (&id, row) in ids.iter().zip(out.chunks_exact_mut(d)) {
            let r = usize::try_from(id)
                .ok()
                .filter(|&r| r < vocab)
                .unwrap_or_else(|| panic!("token id {id} outside the vocabulary ({vocab})"));
            if let Err(err) = self.weight.matrix().dequantize_rows(r..r + 1, row) {
                unreachable!("row within the table: {err}");
            }
        }
        Tensor::from_data(TensorData::new(out, [b, t, d]), &device)
    }

    /// `hidden · tableᵀ`: the tied LM head.
    ///
    /// # Shapes
    /// - hidden: `[n, hidden]`
    /// - output: `[n, vocab]`
    pub fn logits(&self, hidden: Tensor<2>, path: QuantizedPath) -> Tensor<2> {
        quantized_matmul(hidden, &self.weight, path)
    }
}
