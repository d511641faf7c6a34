//! Collation: tokenized examples → padded, row-major token batches (plain `Vec`s; the
//! models crate turns them into tensors).
//!
//! Row layouts (TRL's):
//!
//! * pairs → `2B` rows: `prompt+chosen` for every example, then `prompt+rejected` for
//!   every example (chosen is the first half);
//! * ranked lists → `B·K` rows, row `b·K + k` = prompt `b` + response `k`; lists shorter
//!   than `K` are filled with prompt-only rows whose `list_mask` is false (their
//!   completion mask is all zeros, so their summed log-prob is 0 and no attention row is
//!   empty);
//! * SFT → `B` rows; prompts for generation → `B` rows, normally left-padded.

use serde::{Deserialize, Serialize};

use crate::error::{DataError, Result};
use crate::tokenize::{TokenizedList, TokenizedPair, TokenizedPrompt, TokenizedSft};
use crate::truncation::Truncation;

/// Which side padding goes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PadSide {
    /// Pad after the tokens (training; TRL's collators).
    #[default]
    Right,
    /// Pad before the tokens (batched generation: every row ends at the last column).
    Left,
}

/// How rows are truncated and padded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Collator {
    /// Per-row length limit (TRL's collator: `ids[:max_length]` / `ids[-max_length:]`).
    pub truncation: Truncation,
    /// Id written into padding positions (masked out everywhere).
    pub pad_id: u32,
    /// Padding side.
    pub pad_side: PadSide,
    /// Round the padded length up to a multiple of this (`None` = longest row).
    pub pad_to_multiple_of: Option<usize>,
}

/// A padded block of token rows, row-major.
///
/// # Shapes
/// `input_ids`, `attention_mask`, `completion_mask`: `[rows, seq_len]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenBatch {
    /// Token ids; `pad_id` in padding positions.
    pub input_ids: Vec<u32>,
    /// `true` on real tokens, `false` on padding.
    pub attention_mask: Vec<bool>,
    /// `true` on completion tokens (the ones whose log-probs are summed or trained on).
    pub completion_mask: Vec<bool>,
    /// Number of rows.
    pub rows: usize,
    /// Padded row length.
    pub seq_len: usize,
}

impl TokenBatch {
    /// `[rows, seq_len]`.
    pub fn shape(&self) -> [usize; 2] {
        [self.rows, self.seq_len]
    }

    /// Number of real tokens in each row.
    pub fn row_lengths(&self) -> Vec<usize> {
        self.attention_mask
            .chunks(self.seq_len.max(1))
            .take(self.rows)
            .map(|r| r.iter().filter(|&&m| m).count())
            .collect()
    }

    /// Position ids: 0, 1, ... over real tokens (padding gets 0), so left-padded rows
    /// start at position 0 like right-padded ones (transformers' `cumsum(mask) - 1`).
    ///
    /// # Shapes
    /// `[rows, seq_len]`.
    pub fn position_ids(&self) -> Vec<u32> {
        let mut out = vec![0; self.input_ids.len()];
        for (row, mask) in out
            .chunks_mut(self.seq_len.max(1))
            .zip(self.attention_mask.chunks(self.seq_len.max(1)))
        {
            let mut next = 0;
            for (p, &m) in row.iter_mut().zip(mask) {
                if m {
                    *p = next;
                    next += 1;
                }
            }
        }
        out
    }
}

impl Collator {
    /// Right padding with `pad_id`, no length limit.
    pub fn new(pad_id: u32) -> Self {
        Self {
            truncation: Truncation::default(),
            pad_id,
            pad_side: PadSide::Right,
            pad_to_multiple_of: None,
        }
    }

    /// The same collator with another padding side.
    pub fn with_pad_side(mut self, pad_side: PadSide) -> Self {
        self.pad_side = pad_side;
        self
    }

    /// The same collator with a length limit.
    pub fn with_truncation(mut self, truncation: Truncation) -> Self {
        self.truncation = truncation;
        self
    }

    /// Truncates and pads `(prompt, completion)` rows into a [`TokenBatch`].
    pub fn rows(&self, rows: &[(&[u32], &[u32])]) -> Result<TokenBatch> {
        if self.truncation.max_length.is_some() {
            let cut: Vec<(Vec<u32>, Vec<u32>)> = rows
                .iter()
                .map(|(p, c)| {
                    let (p, c, _) = self.truncation.apply(p, c);
                    (p, c)
                })
                .collect();
            let refs: Vec<(&[u32], &[u32])> = cut
                .iter()
                .map(|(p, c)| (p.as_slice(), c.as_slice()))
                .collect();
            return self.pad(&refs);
        }
        self.pad(rows)
    }

    fn pad(&self, rows: &[(&[u32], &[u32])]) -> Result<TokenBatch> {
        if rows.is_empty() {
            return Err(DataError::InvalidOption("cannot collate zero rows".into()));
        }
        if self.pad_to_multiple_of == Some(0) {
            return Err(DataError::InvalidOption(
                "pad_to_multiple_of must be ≥ 1".into(),
            ));
        }
        let longest = rows
            .iter()
            .map(|(p, c)| p.len() + c.len())
            .max()
            .unwrap_or(0);
        let seq_len = match self.pad_to_multiple_of {
            Some(m) => longest.div_ceil(m) * m,
            None => longest,
        };
        let n = rows.len() * seq_len;
        let mut batch = TokenBatch {
            input_ids: vec![self.pad_id; n],
            attention_mask: vec![false; n],
            completion_mask: vec![false; n],
            rows: rows.len(),
            seq_len,
        };
        for (r, (prompt, completion)) in rows.iter().enumerate() {
            let len = prompt.len() + completion.len();
            let start = r * seq_len
                + match self.pad_side {
                    PadSide::Right => 0,
                    PadSide::Left => seq_len - len,
                };
            let ids = &mut batch.input_ids[start..start + len];
            ids[..prompt.len()].copy_from_slice(prompt);
            ids[prompt.len()..].copy_from_slice(completion);
            batch.attention_mask[start..start + len].fill(true);
            batch.completion_mask[start + prompt.len()..start + len].fill(true);
        }
        Ok(batch)
    }

    /// Collates preference pairs into `2B` rows (all chosen, then all rejected).
    pub fn pairs(&self, examples: &[&TokenizedPair]) -> Result<TokenBatch> {
        let rows: Vec<(&[u32], &[u32])> = examples
            .iter()
            .map(|e| (e.prompt_ids.as_slice(), e.chosen_ids.as_slice()))
            .chain(
                examples
                    .iter()
                    .map(|e| (e.prompt_ids.as_slice(), e.rejected_ids.as_slice())),
            )
            .collect();
        self.rows(&rows)
    }

    /// Collates ranked lists into `B·K` rows with `K = list_size`, or the longest list in
    /// the batch when `None`. Lists longer than `K` are an error.
    pub fn lists(
        &self,
        examples: &[&TokenizedList],
        list_size: Option<usize>,
    ) -> Result<ListBatch> {
        let longest = examples
            .iter()
            .map(|e| e.response_ids.len())
            .max()
            .unwrap_or(0);
        let k = list_size.unwrap_or(longest);
        if longest > k {
            return Err(DataError::InvalidOption(format!(
                "a list has {longest} responses but list_size is {k}"
            )));
        }
        let mut rows = Vec::with_capacity(examples.len() * k);
        let mut list_mask = Vec::with_capacity(examples.len() * k);
        let mut scores = Vec::with_capacity(examples.len() * k);
        for e in examples {
            for j in 0..k {
                match e.response_ids.get(j) {
                    Some(ids) => {
                        rows.push((e.prompt_ids.as_slice(), ids.as_slice()));
                        list_mask.push(true);
                        scores.push(e.scores[j]);
                    }
                    None => {
                        rows.push((e.prompt_ids.as_slice(), &[][..]));
                        list_mask.push(false);
                        scores.push(0.0);
                    }
                }
            }
        }
        Ok(ListBatch {
            tokens: self.rows(&rows)?,
            list_size: k,
            list_mask,
            scores,
        })
    }

    /// Collates SFT examples into `B` rows.
    pub fn sft(&self, examples: &[&TokenizedSft]) -> Result<TokenBatch> {
        let rows: Vec<(&[u32], &[u32])> = examples
            .iter()
            .map(|e| (e.prompt_ids.as_slice(), e.completion_ids.as_slice()))
            .collect();
        self.rows(&rows)
    }

    /// Collates prompts into `B` rows (use [`PadSide::Left`] for generation).
    pub fn prompts(&self, examples: &[&TokenizedPrompt]) -> Result<TokenBatch> {
        let rows: Vec<(&[u32], &[u32])> = examples
            .iter()
            .map(|e| (e.prompt_ids.as_slice(), &[][..]))
            .collect();
        self.rows(&rows)
    }
}

/// Ranked lists as `B·K` rows.
///
/// # Shapes
/// `tokens`: `[B·K, seq_len]`; `list_mask`, `scores`: `[B, K]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListBatch {
    /// The rows, `b·K + k`.
    pub tokens: TokenBatch,
    /// K.
    pub list_size: usize,
    /// `true` where list `b` has a response `k`.
    pub list_mask: Vec<bool>,
    /// Scores, 0 where `list_mask` is false.
    pub scores: Vec<f32>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn pair_layout_right_padded() {
        let a = TokenizedPair {
            prompt_ids: vec![1, 10],
            chosen_ids: vec![20, 2],
            rejected_ids: vec![21, 22, 2],
        };
        let b = TokenizedPair {
            prompt_ids: vec![1],
            chosen_ids: vec![30],
            rejected_ids: vec![31, 2],
        };
        let batch = Collator::new(0).pairs(&[&a, &b]).unwrap();
        assert_eq!(batch.shape(), [4, 5]);
        assert_eq!(
            batch.input_ids,
            vec![
                1, 10, 20, 2, 0, 1, 30, 0, 0, 0, 1, 10, 21, 22, 2, 1, 31, 2, 0, 0
            ]
        );
        let ones = |m: &[bool]| m.iter().map(|&x| u8::from(x)).collect::<Vec<_>>();
        assert_eq!(
            ones(&batch.completion_mask),
            vec![0, 0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 1, 1, 1, 0, 1, 1, 0, 0]
        );
        assert_eq!(batch.row_lengths(), vec![4, 2, 5, 3]);
    }

    #[test]
    fn left_padding_and_positions() {
        let p1 = TokenizedPrompt {
            prompt_ids: vec![5, 6, 7],
        };
        let p2 = TokenizedPrompt {
            prompt_ids: vec![8],
        };
        let c = Collator::new(0).with_pad_side(PadSide::Left);
        let batch = c.prompts(&[&p1, &p2]).unwrap();
        assert_eq!(batch.input_ids, vec![5, 6, 7, 0, 0, 8]);
        assert_eq!(batch.position_ids(), vec![0, 1, 2, 0, 0, 0]);
        assert!(batch.completion_mask.iter().all(|&m| !m));
    }

    #[test]
    fn ragged_lists_get_a_validity_mask() {
        let l1 = TokenizedList {
            prompt_ids: vec![1],
            response_ids: vec![vec![2], vec![3, 4], vec![5]],
            scores: vec![0.5, 0.25, 1.0],
        };
        let l2 = TokenizedList {
            prompt_ids: vec![1, 9],
            response_ids: vec![vec![6], vec![7]],
            scores: vec![2.0, 3.0],
        };
        let batch = Collator::new(0).lists(&[&l1, &l2], None).unwrap();
        assert_eq!(batch.list_size, 3);
        assert_eq!(batch.tokens.rows, 6);
        assert_eq!(batch.list_mask, vec![true, true, true, true, true, false]);
        assert_eq!(batch.scores, vec![0.5, 0.25, 1.0, 2.0, 3.0, 0.0]);
        // The filler row holds the prompt only and no completion token.
        let row5 = &batch.tokens.input_ids[5 * 3..6 * 3];
        assert_eq!(row5, &[1, 9, 0]);
        assert!(batch.tokens.completion_mask[5 * 3..].iter().all(|&m| !m));
        assert!(Collator::new(0).lists(&[&l1], Some(2)).is_err());
    }

    #[test]
    fn rows_are_truncated_independently() {
        use crate::truncation::TruncationMode;
        let pair = TokenizedPair {
            prompt_ids: vec![1, 2, 3],
            chosen_ids: vec![4, 5, 6],
            rejected_ids: vec![7],
        };
        let keep_start = Collator::new(0).with_truncation(Truncation {
            max_length: Some(4),
            mode: TruncationMode::KeepStart,
        });
        let b = keep_start.pairs(&[&pair]).unwrap();
        assert_eq!(b.input_ids, vec![1, 2, 3, 4, 1, 2, 3, 7]);
        let keep_end = Collator::new(0).with_truncation(Truncation {
            max_length: Some(4),
            mode: TruncationMode::KeepEnd,
        });
        let b = keep_end.pairs(&[&pair]).unwrap();
        assert_eq!(b.input_ids, vec![3, 4, 5, 6, 1, 2, 3, 7]);
        let ones: Vec<u8> = b.completion_mask.iter().map(|&m| u8::from(m)).collect();
        assert_eq!(ones, vec![0, 1, 1, 1, 0, 0, 0, 1]);
    }

    proptest! {
        #[test]
        fn masks_are_consistent(
            rows in proptest::collection::vec(
                (proptest::collection::vec(1u32..50, 0..6), proptest::collection::vec(50u32..99, 0..6)),
                1..6,
            ),
            left in any::<bool>(),
            multiple in proptest::option::of(1usize..5),
        ) {
            let collator = Collator {
                truncation: Truncation::default(),
                pad_id: 0,
                pad_side: if left { PadSide::Left } else { PadSide::Right },
                pad_to_multiple_of: multiple,
            };
            let refs: Vec<(&[u32], &[u32])> = rows.iter().map(|(p, c)| (p.as_slice(), c.as_slice())).collect();
            let b = collator.rows(&refs).unwrap();
            prop_assert_eq!(b.input_ids.len(), b.rows * b.seq_len);
            if let Some(m) = multiple { prop_assert_eq!(b.seq_len % m, 0); }
            for (r, (p, c)) in rows.iter().enumerate() {
                let ids = &b.input_ids[r * b.seq_len..(r + 1) * b.seq_len];
                let att = &b.attention_mask[r * b.seq_len..(r + 1) * b.seq_len];
                let comp = &b.completion_mask[r * b.seq_len..(r + 1) * b.seq_len];
                // completion ⊆ attention; padding holds pad_id.
                for j in 0..b.seq_len {
                    prop_assert!(!comp[j] || att[j]);
                    if !att[j] { prop_assert_eq!(ids[j], 0); }
                }
                prop_assert_eq!(att.iter().filter(|&&x| x).count(), p.len() + c.len());
                prop_assert_eq!(comp.iter().filter(|&&x| x).count(), c.len());
                let real: Vec<u32> = ids.iter().zip(att).filter(|(_, a)| **a).map(|(i, _)| *i).collect();
                let expect: Vec<u32> = p.iter().chain(c).copied().collect();
                prop_assert_eq!(real, expect);
                // Real tokens are contiguous and touch the padding side's far end.
                let first = att.iter().position(|&x| x);
                let last = att.iter().rposition(|&x| x);
                if let (Some(f), Some(l)) = (first, last) {
                    prop_assert_eq!(l - f + 1, p.len() + c.len());
                    if left { prop_assert_eq!(l, b.seq_len - 1); } else { prop_assert_eq!(f, 0); }
                }
            }
        }
    }
}
