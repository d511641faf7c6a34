//! How a model file is loaded.

use serde::{Deserialize, Serialize};

/// Options of [`crate::CausalLm::load_with`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoadOptions {
    /// Keep a GGUF file's quantized weights in their block format (CPU backend): generation,
    /// scoring and reference log-probs run on the quantized kernels, and the model trains
    /// through LoRA adapters only (QLoRA). `false` (the default) dequantizes every weight to
    /// f32 on load.
    #[serde(default)]
    pub keep_quantized: bool,
}

impl LoadOptions {
    /// Options that keep quantized weights quantized.
    pub fn quantized() -> Self {
        Self {
            keep_quantized: true,
        }
    }
}
