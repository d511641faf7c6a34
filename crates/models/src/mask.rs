//! Attention masks and positions from padding masks (host side).

use burn::prelude::*;

/// Whether every row is a run of real tokens followed only by padding.
fn right_padded_only(mask: &[i64], b: usize, t: usize) -> bool {
    (0..b).all(|row| {
        let r = &mask[row * t..(row + 1) * t];
        let real = r.iter().take_while(|&&v| v != 0).count();
        r[real..].iter().all(|&v| v == 0)
    })
}

/// Positions and key mask for one forward over `t` new tokens after `past` cached ones.
///
/// Positions are `cumsum(attention_mask) - 1` per row (as transformers' `generate` does), so a
/// left-padded row gets the same positions as its right-padded twin.
#[derive(Debug, Clone)]
pub(crate) struct AttentionLayout {
    pub batch: usize,
    pub new_tokens: usize,
    pub past: usize,
    /// `[batch * new_tokens]`
    pub positions: Vec<i64>,
    /// `[batch * (past + new_tokens)]`, true where the key is a real token; `None`: all real.
    pub key_valid: Option<Vec<bool>>,
}

impl AttentionLayout {
    /// Layout of a fresh (uncached) forward from a `[b, t]` 0/1 mask (`None`: no padding).
    pub fn from_mask(mask: Option<&[i64]>, b: usize, t: usize) -> Self {
        match mask {
            // Right padding only: causal masking alone already keeps every real token away
            // from the padding after it, so the fast mask-free path gives the same numbers.
            Some(m) if m.contains(&0) && !right_padded_only(m, b, t) => {
                let valid: Vec<bool> = m.iter().map(|&v| v != 0).collect();
                let mut positions = vec![0i64; b * t];
                for row in 0..b {
                    let mut seen = 0i64;
                    for i in 0..t {
                        if valid[row * t + i] {
                            positions[row * t + i] = seen;
                            seen += 1;
                        } else {
                            positions[row * t + i] = (seen - 1).max(0);
                        }
                    }
                }
                Self {
                    batch: b,
                    new_tokens: t,
                    past: 0,
                    positions,
                    key_valid: Some(valid),
                }
            }
            _ => Self {
                batch: b,
                new_tokens: t,
                past: 0,
                positions: (0..b).flat_map(|_| 0..t as i64).collect(),
                key_valid: None,
            },
        }
    }

    /// The boolean mask for the attention op (true = masked), or `None` when plain causal
    /// masking suffices.
    ///
    /// A padded query may attend to itself so that no softmax row is empty (its output is
    /// never used).
    ///
    /// # Shapes
    /// - output: `[b, heads, t, past + t]`
    pub fn attention_mask(&self, heads: usize, device: &Device) -> Option<Tensor<4, Bool>> {
        let valid = self.key_valid.as_ref()?;
        let (b, t, past) = (self.batch, self.new_tokens, self.past);
        let l = past + t;
        let mut mask = vec![false; b * t * l];
        for row in 0..b {
            for q in 0..t {
                let q_abs = past + q;
                for k in 0..l {
                    let masked = k > q_abs || (!valid[row * l + k] && k != q_abs);
                    mask[(row * t + q) * l + k] = masked;
                }
            }
        }
        let m = Tensor::<4, Bool>::from_data(TensorData::new(mask, [b, 1, t, l]), device);
        Some(m.expand([b, heads, t, l]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn left_padding_positions_start_at_zero() {
        let l = AttentionLayout::from_mask(Some(&[0, 0, 1, 1, 1, 1, 1, 0]), 2, 4);
        assert_eq!(l.positions, vec![0, 0, 0, 1, 0, 1, 2, 2]);
        assert!(
            AttentionLayout::from_mask(Some(&[1, 1]), 1, 2)
                .key_valid
                .is_none()
        );
    }
}
