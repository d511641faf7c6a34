//! The positions of a batch whose next token is scored (completion tokens under TRL's shift),
//! read once on the host and checked, for the log-prob and logit gatherers.

use burn::prelude::*;

use crate::causal_lm::read_mask;
use crate::error::{ModelError, Result};

/// Per row, the scored positions: `(index into the flattened [b, t - 1] grid, target id)`.
/// Position `i` of row `r` is scored when token `i + 1` is a completion token and not padding.
pub(crate) struct ScoredPositions {
    /// Rows.
    pub b: usize,
    /// Sequence length.
    pub t: usize,
    /// `(r·(t − 1) + i, id of token i + 1)` for each scored position of each row.
    pub rows: Vec<Vec<(usize, i64)>>,
}

impl ScoredPositions {
    /// Reads the three `[b, t]` tensors and checks shapes and token ids.
    ///
    /// # Shapes
    /// - input_ids, attention_mask, completion_mask: `[b, t]`, `t ≥ 2`
    pub fn read(
        input_ids: &Tensor<2, Int>,
        attention_mask: &Tensor<2, Int>,
        completion_mask: Tensor<2, Int>,
        vocab_size: usize,
    ) -> Result<Self> {
        let [b, t] = input_ids.dims();
        if t < 2 {
            return Err(ModelError::InvalidInput(format!(
                "sequences need at least 2 tokens, got [{b}, {t}]"
            )));
        }
        let ids = read_mask(Some(input_ids.clone()))?.unwrap_or_default();
        let attn = read_mask(Some(attention_mask.clone()))?.unwrap_or_default();
        let comp = read_mask(Some(completion_mask))?.unwrap_or_default();
        if attn.len() != b * t || comp.len() != b * t {
            return Err(ModelError::InvalidInput(format!(
                "masks must be [{b}, {t}] like input_ids (got {} and {} elements)",
                attn.len(),
                comp.len()
            )));
        }
        let vocab = vocab_size as i64;
        let mut rows = vec![Vec::new(); b];
        for (r, row) in rows.iter_mut().enumerate() {
            for i in 0..t - 1 {
                let j = r * t + i + 1;
                if comp[j] != 0 && attn[j] != 0 {
                    if ids[j] < 0 || ids[j] >= vocab {
                        return Err(ModelError::InvalidInput(format!(
                            "token id {} at row {r}, position {} is outside the vocabulary ({vocab})",
                            ids[j],
                            i + 1
                        )));
                    }
                    row.push((r * (t - 1) + i, ids[j]));
                }
            }
        }
        Ok(Self { b, t, rows })
    }

    /// Scored positions per row.
    pub fn counts(&self) -> Vec<usize> {
        self.rows.iter().map(Vec::len).collect()
    }
}
