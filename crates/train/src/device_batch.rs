//! Host batches (plain `Vec`s from the data crate) → device tensors → completion log-probs.

use burn::prelude::*;
use prefopt_data::{ListBatch, TokenBatch};
use prefopt_models::{CausalLm, CompletionLogProbs, CompletionLogits};

use crate::error::Result;

/// One collated micro-batch, in the layout of its method.
#[derive(Debug, Clone)]
pub enum HostBatch {
    /// Preference pairs: `2B` rows, all chosen rows first.
    Pairs(TokenBatch),
    /// Ranked lists: `B·K` rows, list mask and scores.
    Lists(ListBatch),
    /// SFT rows: `B` rows.
    Sft(TokenBatch),
    /// Counterfactual pairs (NextQuill): every example with its history, and every example
    /// with the null history, each half padded to its own length (a null-history prompt is
    /// far shorter, and padding it to the history rows' length would double the forward);
    /// row `i` of both halves has the same completion ids.
    Counterfactual {
        /// `B` rows, the prompts with the user's history.
        with_history: TokenBatch,
        /// `B` rows, the same examples with the null history.
        null_history: TokenBatch,
    },
}

impl HostBatch {
    /// Real (non-padding) input tokens, what TRL counts in `num_tokens`.
    pub fn input_tokens(&self) -> u64 {
        let count = |t: &TokenBatch| t.attention_mask.iter().filter(|&&m| m).count() as u64;
        match self {
            Self::Pairs(t) | Self::Sft(t) => count(t),
            Self::Lists(l) => count(&l.tokens),
            Self::Counterfactual {
                with_history,
                null_history,
            } => count(with_history) + count(null_history),
        }
    }
}

/// Integer tensor `[rows, seq_len]` from row-major host values.
fn int_tensor(values: Vec<i64>, shape: [usize; 2], device: &Device) -> Tensor<2, Int> {
    Tensor::from_data(TensorData::new(values, shape), device)
}

/// `(input_ids, attention_mask, completion_mask)` on `device`.
///
/// # Shapes
/// - each output: `[rows, seq_len]`
pub fn token_tensors(
    batch: &TokenBatch,
    device: &Device,
) -> (Tensor<2, Int>, Tensor<2, Int>, Tensor<2, Int>) {
    let shape = batch.shape();
    let ids = batch.input_ids.iter().map(|&x| i64::from(x)).collect();
    let attn = batch.attention_mask.iter().map(|&m| i64::from(m)).collect();
    let comp = batch
        .completion_mask
        .iter()
        .map(|&m| i64::from(m))
        .collect();
    (
        int_tensor(ids, shape, device),
        int_tensor(attn, shape, device),
        int_tensor(comp, shape, device),
    )
}

/// The logits that score the completion tokens of every row of `batch` under `model`.
///
/// # Shapes
/// - output: `logits [rows, T, vocab]`, `targets` and `mask [rows, T]`
pub fn completion_logits(
    model: &CausalLm,
    batch: &TokenBatch,
    device: &Device,
) -> Result<CompletionLogits> {
    let (ids, attn, comp) = token_tensors(batch, device);
    Ok(model.completion_logits(ids, attn, comp)?)
}

/// Completion log-probs of every row of `batch` under `model`.
///
/// # Shapes
/// - output: `per_token [rows, seq_len - 1]`, `summed [rows]`
pub fn completion_logprobs(
    model: &CausalLm,
    batch: &TokenBatch,
    device: &Device,
) -> Result<CompletionLogProbs> {
    let (ids, attn, comp) = token_tensors(batch, device);
    Ok(model.completion_logprobs(ids, attn, comp)?)
}

/// The completion mask aligned with `CompletionLogProbs::per_token` (target positions
/// `1..seq_len`), as floats.
///
/// # Shapes
/// - output: `[rows, seq_len - 1]`
pub fn target_mask(batch: &TokenBatch, device: &Device) -> Tensor<2> {
    let t = batch.seq_len;
    let mut values = Vec::with_capacity(batch.rows * t.saturating_sub(1));
    for r in 0..batch.rows {
        for i in 1..t {
            let j = r * t + i;
            values.push(f32::from(u8::from(
                batch.completion_mask[j] && batch.attention_mask[j],
            )));
        }
    }
    Tensor::from_data(
        TensorData::new(values, [batch.rows, t.saturating_sub(1)]),
        device,
    )
}

/// A float tensor `[n]` from host values.
pub(crate) fn vector(values: Vec<f32>, device: &Device) -> Tensor<1> {
    let n = values.len();
    Tensor::from_data(TensorData::new(values, [n]), device)
}

/// A float tensor `[b, k]` from host values.
pub(crate) fn matrix(values: Vec<f32>, shape: [usize; 2], device: &Device) -> Tensor<2> {
    Tensor::from_data(TensorData::new(values, shape), device)
}

/// Host copy of a float tensor.
pub(crate) fn to_host<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data()
        .try_into_vec_as::<f32>()
        .expect("float tensor data converts to f32")
}
