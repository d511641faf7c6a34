//! Length limits, as TRL applies them.
//!
//! A row is `prompt ++ completion`; each row is cut on its own, in the collator (the two
//! rows of a pair may lose different amounts). With [`TruncationMode::KeepStart`] (TRL's
//! default) a row longer than `max_length` loses the end of its completion, and an example
//! whose prompt alone is `≥ max_length` is dropped at tokenization (it would have no
//! completion token left). With [`TruncationMode::KeepEnd`] a row keeps its last
//! `max_length` tokens: the prompt loses its beginning first. Both counts are reported.

use serde::{Deserialize, Serialize};

/// Which end of a too-long row is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TruncationMode {
    /// Keep the first `max_length` tokens (TRL `keep_start`).
    #[default]
    KeepStart,
    /// Keep the last `max_length` tokens (TRL `keep_end`).
    KeepEnd,
}

/// A length limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Truncation {
    /// Maximum row length (prompt + completion) in tokens; `None` = unlimited.
    pub max_length: Option<usize>,
    /// Which end is kept.
    pub mode: TruncationMode,
}

/// What truncation did to a data set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TruncationReport {
    /// Examples dropped because the prompt alone was `≥ max_length` (keep-start only).
    pub dropped_long_prompt: usize,
    /// Rows (prompt + one completion) that were cut.
    pub truncated_rows: usize,
}

impl Truncation {
    /// Whether an example with this prompt length must be dropped.
    pub fn drops_prompt(&self, prompt_len: usize) -> bool {
        matches!(
            (self.max_length, self.mode),
            (Some(max), TruncationMode::KeepStart) if prompt_len >= max
        )
    }

    /// Cuts one row (`prompt ++ completion`) to the limit, as TRL's collator slices
    /// `ids[:max_length]` or `ids[-max_length:]`; returns `(prompt, completion)` and
    /// whether it was cut.
    pub fn apply(&self, prompt: &[u32], completion: &[u32]) -> (Vec<u32>, Vec<u32>, bool) {
        let total = prompt.len() + completion.len();
        let Some(max) = self.max_length.filter(|&m| total > m) else {
            return (prompt.to_vec(), completion.to_vec(), false);
        };
        match self.mode {
            TruncationMode::KeepStart if prompt.len() >= max => {
                (prompt[..max].to_vec(), Vec::new(), true)
            }
            TruncationMode::KeepStart => (
                prompt.to_vec(),
                completion[..max - prompt.len()].to_vec(),
                true,
            ),
            TruncationMode::KeepEnd => {
                let cut = total - max;
                if cut <= prompt.len() {
                    (prompt[cut..].to_vec(), completion.to_vec(), true)
                } else {
                    (Vec::new(), completion[cut - prompt.len()..].to_vec(), true)
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn keep_start_cuts_the_completion_end() {
        let t = Truncation {
            max_length: Some(5),
            mode: TruncationMode::KeepStart,
        };
        assert_eq!(
            t.apply(&[1, 2], &[3, 4, 5, 6]),
            (vec![1, 2], vec![3, 4, 5], true)
        );
        assert_eq!(t.apply(&[1, 2], &[3]), (vec![1, 2], vec![3], false));
        assert!(t.drops_prompt(5));
        assert!(!t.drops_prompt(4));
    }

    #[test]
    fn keep_end_cuts_the_prompt_start() {
        let t = Truncation {
            max_length: Some(4),
            mode: TruncationMode::KeepEnd,
        };
        assert_eq!(t.apply(&[1, 2, 3], &[4, 5]), (vec![2, 3], vec![4, 5], true));
        assert_eq!(
            t.apply(&[1], &[2, 3, 4, 5, 6]),
            (vec![], vec![3, 4, 5, 6], true)
        );
        assert!(!t.drops_prompt(100));
    }

    proptest! {
        #[test]
        fn result_fits_and_is_a_contiguous_piece(
            p in proptest::collection::vec(0u32..100, 0..20),
            c in proptest::collection::vec(100u32..200, 0..20),
            max in 1usize..30,
            keep_end in any::<bool>(),
        ) {
            let mode = if keep_end { TruncationMode::KeepEnd } else { TruncationMode::KeepStart };
            let t = Truncation { max_length: Some(max), mode };
            let (p2, c2, cut) = t.apply(&p, &c);
            let total = p.len() + c.len();
            prop_assert_eq!(p2.len() + c2.len(), total.min(max));
            prop_assert_eq!(cut, total > max);
            let row: Vec<u32> = p.iter().chain(&c).copied().collect();
            let row2: Vec<u32> = p2.iter().chain(&c2).copied().collect();
            if keep_end {
                prop_assert_eq!(&row[row.len() - row2.len()..], &row2[..]);
            } else {
                prop_assert_eq!(&row[..row2.len()], &row2[..]);
            }
        }

    }
}
