//! Seeded initialisation of a FLUX transformer (or its text encoder) trained from scratch.

use prefopt_core::SplitMix64;

use crate::error::Result;
use crate::weights::WeightSource;

/// How fresh weights are drawn.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FluxInit {
    /// Seed of the generator (weights are drawn in key order, so the same seed and config
    /// give the same model).
    pub seed: u64,
    /// DiT-style adaLN-Zero: the modulation Linears (`norm1*.linear`, `norm.linear`,
    /// `norm_out.linear`) and the final `proj_out` start at zero, so every block starts as the
    /// identity and the model predicts zero velocity. diffusers itself does not do this.
    pub zero_modulation: bool,
}

impl FluxInit {
    /// PyTorch-like init (`U(−1/√fan_in, 1/√fan_in)` weights, zero biases, unit norms) with
    /// adaLN-Zero on.
    pub fn new(seed: u64) -> Self {
        Self {
            seed,
            zero_modulation: true,
        }
    }
}

/// The [`WeightSource`] behind [`FluxInit`].
pub(crate) struct InitWeights {
    rng: SplitMix64,
    zero_modulation: bool,
}

impl InitWeights {
    pub fn new(init: FluxInit) -> Self {
        Self {
            rng: SplitMix64::new(init.seed),
            zero_modulation: init.zero_modulation,
        }
    }
}

fn is_modulation(name: &str) -> bool {
    name.contains("norm1.linear.")
        || name.contains("norm1_context.linear.")
        || name.contains(".norm.linear.")
        || name.starts_with("norm_out.linear.")
        || name.starts_with("proj_out.")
}

impl WeightSource for InitWeights {
    fn take(&mut self, name: &str, shape: &[usize]) -> Result<Vec<f32>> {
        let n: usize = shape.iter().product();
        if shape.len() == 1 {
            // Biases start at zero, norm weights at one.
            let v = if name.ends_with(".bias") { 0.0 } else { 1.0 };
            return Ok(vec![v; n]);
        }
        if self.zero_modulation && is_modulation(name) {
            return Ok(vec![0.0; n]);
        }
        if name.contains("embed_tokens") || name.contains("embed_positions") {
            return Ok((0..n).map(|_| self.rng.next_normal() * 0.02).collect());
        }
        let fan_in = shape.last().copied().unwrap_or(1).max(1) as f64;
        let bound = 1.0 / fan_in.sqrt();
        Ok((0..n)
            .map(|_| ((self.rng.next_f64() * 2.0 - 1.0) * bound) as f32)
            .collect())
    }
}
