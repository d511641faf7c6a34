//! Full-vocabulary logits at the completion positions of a batch, packed per row.
//!
//! Objectives that compare two renderings of the same target (NextQuill's with-history and
//! null-history passes) need the whole next-token distribution at every target token, aligned
//! by target index rather than by sequence position: the prompts differ in length, the targets
//! do not.

use burn::prelude::*;

use crate::causal_lm::CausalLm;
use crate::error::Result;
use crate::scored_positions::ScoredPositions;

/// Logits that predict the completion tokens of each row, left-aligned: column `j` of row `r`
/// predicts the `j`-th completion token of row `r`.
///
/// # Shapes
/// - `logits`: `[b, T, vocab]` with `T` the longest completion of the batch
/// - `targets`, `mask`: `[b, T]`
#[derive(Debug, Clone)]
pub struct CompletionLogits {
    /// Next-token logits; rows past a completion's end hold the logits of position 0 of
    /// that row (finite, masked out).
    pub logits: Tensor<3>,
    /// The completion token ids; 0 past a completion's end.
    pub targets: Tensor<2, Int>,
    /// `true` at real completion tokens.
    pub mask: Tensor<2, Bool>,
    /// Completion tokens per row (host copy).
    pub num_tokens: Vec<usize>,
}

impl CausalLm {
    /// The logits that score each completion token (TRL's shift: position `i` predicts token
    /// `i + 1`, counted where `completion_mask[i + 1] = 1` and `attention_mask[i + 1] = 1`),
    /// gathered into `[b, T, vocab]` with the completion of every row starting at column 0.
    ///
    /// Only the gathered positions go through the LM head. Rows with the same completion ids
    /// and different prompts give target tensors that line up column for column.
    ///
    /// # Shapes
    /// - input_ids, attention_mask, completion_mask: `[b, t]`
    /// - output: see [`CompletionLogits`]
    pub fn completion_logits(
        &self,
        input_ids: Tensor<2, Int>,
        attention_mask: Tensor<2, Int>,
        completion_mask: Tensor<2, Int>,
    ) -> Result<CompletionLogits> {
        let device = input_ids.device();
        let scored = ScoredPositions::read(
            &input_ids,
            &attention_mask,
            completion_mask,
            self.config().vocab_size,
        )?;
        let num_tokens = scored.counts();
        let (b, t, positions) = (scored.b, scored.t, scored.rows);
        let width = num_tokens.iter().copied().max().unwrap_or(0).max(1);
        let mut gather = Vec::with_capacity(b * width);
        let mut targets = Vec::with_capacity(b * width);
        let mut mask = Vec::with_capacity(b * width);
        for (r, row) in positions.iter().enumerate() {
            for c in 0..width {
                match row.get(c) {
                    Some(&(p, id)) => {
                        gather.push(p as i64);
                        targets.push(id);
                        mask.push(true);
                    }
                    None => {
                        gather.push((r * (t - 1)) as i64);
                        targets.push(0);
                        mask.push(false);
                    }
                }
            }
        }
        let hidden = self.forward_hidden(input_ids, Some(attention_mask))?;
        let [_, _, h] = hidden.dims();
        let shifted = hidden
            .slice([0..b, 0..t - 1, 0..h])
            .reshape([b * (t - 1), h]);
        let idx = Tensor::<1, Int>::from_data(TensorData::new(gather, [b * width]), &device);
        let picked = shifted.select(0, idx).reshape([b, width, h]);
        Ok(CompletionLogits {
            logits: self.logits_from_hidden(picked),
            targets: Tensor::from_data(TensorData::new(targets, [b, width]), &device),
            mask: Tensor::from_data(TensorData::new(mask, [b, width]), &device),
            num_tokens,
        })
    }
}

#[cfg(test)]
mod tests {
    use burn::tensor::activation::log_softmax;

    use super::*;
    use crate::llama::LlamaConfig;

    fn tiny() -> CausalLm {
        let config = LlamaConfig::from_hf_str(
            r#"{"model_type": "llama", "vocab_size": 11, "hidden_size": 8,
                "intermediate_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2,
                "num_key_value_heads": 2, "max_position_embeddings": 32, "rms_norm_eps": 1e-5}"#,
            "test",
        )
        .unwrap();
        CausalLm::init_random(config, 3, &Device::flex()).unwrap()
    }

    fn int(values: Vec<i64>, shape: [usize; 2]) -> Tensor<2, Int> {
        Tensor::from_data(TensorData::new(values, shape), &Device::flex())
    }

    #[test]
    fn packed_logits_match_completion_logprobs_and_align_across_prompts() {
        let model = tiny();
        // Row 0: prompt [1, 2, 3], completion [4, 5]; row 1: prompt [1], same completion;
        // right padding with id 0.
        let ids = int(vec![1, 2, 3, 4, 5, 1, 4, 5, 0, 0], [2, 5]);
        let attn = int(vec![1, 1, 1, 1, 1, 1, 1, 1, 0, 0], [2, 5]);
        let comp = int(vec![0, 0, 0, 1, 1, 0, 1, 1, 0, 0], [2, 5]);
        let out = model
            .completion_logits(ids.clone(), attn.clone(), comp.clone())
            .unwrap();
        assert_eq!(out.logits.dims(), [2, 2, 11]);
        assert_eq!(out.num_tokens, vec![2, 2]);
        let targets: Vec<i64> = out
            .targets
            .clone()
            .into_data()
            .try_into_vec_as::<i64>()
            .unwrap();
        assert_eq!(targets, vec![4, 5, 4, 5]);
        // Summed gold log-probs equal completion_logprobs' sums.
        let logp = log_softmax(out.logits.clone(), 2)
            .gather(2, out.targets.clone().unsqueeze_dim(2))
            .sum_dim(1)
            .reshape([2]);
        let expected = model.completion_logprobs(ids, attn, comp).unwrap().summed;
        let (a, e): (Vec<f32>, Vec<f32>) = (
            logp.into_data().try_to_vec().unwrap(),
            expected.into_data().try_to_vec().unwrap(),
        );
        for (x, y) in a.iter().zip(&e) {
            assert!((x - y).abs() < 1e-5, "{a:?} vs {e:?}");
        }
        // Row 1 alone (no padding) gives the same logits: padding never leaks in.
        let alone = model
            .completion_logits(
                int(vec![1, 4, 5], [1, 3]),
                int(vec![1, 1, 1], [1, 3]),
                int(vec![0, 1, 1], [1, 3]),
            )
            .unwrap();
        let full: Vec<f32> = out.logits.narrow(0, 1, 1).into_data().try_to_vec().unwrap();
        let single: Vec<f32> = alone.logits.into_data().try_to_vec().unwrap();
        for (x, y) in full.iter().zip(&single) {
            assert!((x - y).abs() < 1e-5);
        }
    }

    #[test]
    fn short_completions_are_masked() {
        let model = tiny();
        let ids = int(vec![1, 4, 5, 6, 1, 7, 0, 0], [2, 4]);
        let attn = int(vec![1, 1, 1, 1, 1, 1, 0, 0], [2, 4]);
        let comp = int(vec![0, 1, 1, 1, 0, 1, 0, 0], [2, 4]);
        let out = model.completion_logits(ids, attn, comp).unwrap();
        let mask: Vec<bool> = out.mask.into_data().try_to_vec().unwrap();
        assert_eq!(mask, vec![true, true, true, true, false, false]);
        assert_eq!(out.num_tokens, vec![3, 1]);
    }
}
