//! Per-token and summed completion log-probabilities (the input of every preference loss).

use burn::prelude::*;
use burn::tensor::IndexingUpdateOp;

use crate::causal_lm::CausalLm;
use crate::error::{ModelError, Result};
use crate::scored_positions::ScoredPositions;

/// Log-probabilities of the completion tokens of a batch.
#[derive(Debug, Clone)]
pub struct CompletionLogProbs {
    /// `log p(x_{i+1} | x_{≤i})` at each target position, 0 where the target is not a
    /// completion token. Shape `[b, t - 1]` (position `i` predicts token `i + 1`).
    pub per_token: Tensor<2>,
    /// Sum of `per_token` over each row. Shape `[b]`.
    pub summed: Tensor<1>,
    /// Number of completion tokens per row (host copy, for length normalisation).
    pub num_tokens: Vec<usize>,
}

impl CompletionLogProbs {
    /// Splits the summed log-probs of a concatenated batch `[chosen; rejected]` (chosen rows
    /// first, as TRL's collator builds them) into `(chosen, rejected)`.
    ///
    /// # Shapes
    /// - output: two `[b / 2]`
    pub fn split_chosen_rejected(&self) -> (Tensor<1>, Tensor<1>) {
        let [b] = self.summed.dims();
        let half = b / 2;
        (
            self.summed.clone().narrow(0, 0, half),
            self.summed.clone().narrow(0, half, b - half),
        )
    }

    /// The summed log-probs of a list batch (`k` consecutive responses per prompt) as
    /// `[num_prompts, k]`.
    pub fn per_prompt(&self, k: usize) -> Result<Tensor<2>> {
        let [b] = self.summed.dims();
        if k == 0 || b % k != 0 {
            return Err(ModelError::InvalidInput(format!(
                "{b} rows cannot be grouped in lists of {k}"
            )));
        }
        Ok(self.summed.clone().reshape([b / k, k]))
    }
}

impl CausalLm {
    /// Completion log-probs, computed with TRL's shift: logits at position `i` score token
    /// `i + 1`, counted where `completion_mask[i + 1] = 1` (and `attention_mask[i + 1] = 1`).
    ///
    /// Only the scored positions go through the LM head and the full-vocabulary log-softmax:
    /// their hidden states are gathered first, which saves most of the head's cost when
    /// prompts are long. Chosen and rejected rows (or K responses per prompt) are simply rows
    /// of the same batch, computed in one forward.
    ///
    /// # Shapes
    /// - input_ids: `[b, t]`
    /// - attention_mask: `[b, t]` (1 = token, 0 = padding; any padding side)
    /// - completion_mask: `[b, t]` (1 = completion token)
    /// - output: `per_token [b, t - 1]`, `summed [b]`
    pub fn completion_logprobs(
        &self,
        input_ids: Tensor<2, Int>,
        attention_mask: Tensor<2, Int>,
        completion_mask: Tensor<2, Int>,
    ) -> Result<CompletionLogProbs> {
        let device = input_ids.device();
        let scored = ScoredPositions::read(
            &input_ids,
            &attention_mask,
            completion_mask,
            self.config().vocab_size,
        )?;
        let (b, t) = (scored.b, scored.t);
        let num_tokens = scored.counts();
        // Scored positions, flattened over [b, t - 1].
        let (rows, targets): (Vec<i64>, Vec<i64>) = scored
            .rows
            .into_iter()
            .flatten()
            .map(|(p, id)| (p as i64, id))
            .unzip();
        let hidden = self.forward_hidden(input_ids, Some(attention_mask))?;
        let [_, _, h] = hidden.dims();
        let zeros = Tensor::<1>::zeros([b * (t - 1)], &device);
        let per_token_flat = if rows.is_empty() {
            // Keep the graph connected so backward still works (gradient zero).
            zeros + hidden.sum() * 0.0
        } else {
            let n = rows.len();
            let idx = Tensor::<1, Int>::from_data(TensorData::new(rows, [n]), &device);
            let tgt = Tensor::<1, Int>::from_data(TensorData::new(targets, [n]), &device);
            let shifted = hidden
                .slice([0..b, 0..t - 1, 0..h])
                .reshape([b * (t - 1), h]);
            let picked = shifted.select(0, idx.clone());
            let tok = crate::fused::token_logprobs(self.logits_from_hidden(picked), tgt);
            zeros.select_assign(0, idx, tok, IndexingUpdateOp::Add)
        };
        let per_token = per_token_flat.reshape([b, t - 1]);
        let summed = per_token.clone().sum_dim(1).reshape([b]);
        Ok(CompletionLogProbs {
            per_token,
            summed,
            num_tokens,
        })
    }
}
