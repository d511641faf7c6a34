//! Rotary position embedding in Hugging Face's rotate-half convention.
//!
//! Burn's `RotaryEncoding` rotates interleaved pairs `(x0, x1), (x2, x3), …`; HF checkpoints are
//! trained with rotate-half (`x[..d/2]` paired with `x[d/2..]`). Implementing rotate-half here
//! keeps the HF q/k weights unchanged on load and save.

use burn::prelude::*;

/// Per-position cosine and sine tables for one forward.
#[derive(Debug, Clone)]
pub(crate) struct RopeTables {
    /// `[b, 1, t, head_dim]`
    pub cos: Tensor<4>,
    /// `[b, 1, t, head_dim]`
    pub sin: Tensor<4>,
}

impl RopeTables {
    /// Builds the tables for per-row positions (`positions[row * t + i]`).
    ///
    /// Computed in f32 like transformers (`inv_freq.float() @ positions.float()`, then cos/sin).
    pub fn new(inv_freq: &[f32], positions: &[i64], b: usize, t: usize, device: &Device) -> Self {
        let half = inv_freq.len();
        let d = 2 * half;
        let mut cos = vec![0f32; b * t * d];
        let mut sin = vec![0f32; b * t * d];
        for (row, &p) in positions.iter().enumerate() {
            let base = row * d;
            for (j, &f) in inv_freq.iter().enumerate() {
                let angle = (p as f32) * f;
                let (s, c) = (angle as f64).sin_cos();
                cos[base + j] = c as f32;
                cos[base + j + half] = c as f32;
                sin[base + j] = s as f32;
                sin[base + j + half] = s as f32;
            }
        }
        let shape = [b, 1, t, d];
        Self {
            cos: Tensor::from_data(TensorData::new(cos, shape), device),
            sin: Tensor::from_data(TensorData::new(sin, shape), device),
        }
    }

    /// `x * cos + rotate_half(x) * sin`, `rotate_half(x) = cat(-x[d/2..], x[..d/2])`.
    ///
    /// # Shapes
    /// - x: `[b, heads, t, head_dim]`
    /// - output: same as x
    pub fn apply(&self, x: Tensor<4>) -> Tensor<4> {
        crate::fused::rope(x, self.cos.clone(), self.sin.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotate_half_matches_hand_computation() {
        let device = Device::flex();
        // head_dim 4, one frequency pair per half: inv_freq [1.0, 0.5], position 1.
        let tables = RopeTables::new(&[1.0, 0.5], &[1], 1, 1, &device);
        let x = Tensor::<4>::from_data(
            TensorData::new(vec![1f32, 2.0, 3.0, 4.0], [1, 1, 1, 4]),
            &device,
        );
        let y: Vec<f32> = tables.apply(x).try_into_vec_as::<f32>().unwrap();
        let (c1, s1, c5, s5) = (1f64.cos(), 1f64.sin(), 0.5f64.cos(), 0.5f64.sin());
        // out[i] = x[i] cos - x[i+2] sin ; out[i+2] = x[i+2] cos + x[i] sin
        let expect = [
            1.0 * c1 - 3.0 * s1,
            2.0 * c5 - 4.0 * s5,
            3.0 * c1 + 1.0 * s1,
            4.0 * c5 + 2.0 * s5,
        ];
        for (a, e) in y.iter().zip(expect) {
            assert!((*a as f64 - e).abs() < 1e-6, "{a} vs {e}");
        }
    }
}
