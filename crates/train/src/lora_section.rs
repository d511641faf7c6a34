//! `[lora]`: train LoRA adapters (PEFT layout) instead of every weight.
//!
//! ```toml
//! [lora]
//! r = 8
//! lora_alpha = 16
//! lora_dropout = 0.05
//! target_modules = ["q_proj", "k_proj", "v_proj", "o_proj"]
//! bias = "none"
//! merge = false   # true: output_dir gets the merged full checkpoint, the adapter goes to adapter/
//! ```
//!
//! The keys are PEFT's `LoraConfig` names ([`prefopt_models::LoraConfig`]); `merge` is
//! prefopt's. With the table present the base weights are frozen (only the adapters are in
//! the optimizer), the DPO/LiPO reference is the base model with the adapters switched off (no
//! second copy of the weights), and checkpoints hold the adapter, not the model.
//! [`LoraSection::save_output`] writes what a finished LoRA run leaves behind (the offline
//! trainer's and `prefopt grpo`'s).

use std::path::{Path, PathBuf};

use prefopt_models::{CausalLm, LoraConfig};
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::train_loop::copy_tokenizer_files;

/// Where a merged run writes its adapter, under `output_dir`.
pub const MERGED_ADAPTER_DIR: &str = "adapter";

/// The `[lora]` table of a run config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LoraSection {
    /// Rank of every adapter (PEFT `r`, default 8).
    pub r: usize,
    /// `lora_alpha` (default 8): the adapters are scaled by `lora_alpha / r`.
    pub lora_alpha: f64,
    /// Dropout on the adapter input while training (default 0).
    pub lora_dropout: f64,
    /// PEFT module names: `q_proj`, `k_proj`, `v_proj`, `o_proj`, `gate_proj`, `up_proj`,
    /// `down_proj`, `lm_head` (default `q_proj`, `v_proj`).
    pub target_modules: Vec<String>,
    /// Only `"none"`.
    pub bias: String,
    /// Rank-stabilised scaling `lora_alpha / sqrt(r)`.
    pub use_rslora: bool,
    /// Also write the merged full checkpoint (`W + scaling · B A`): it goes to `output_dir`
    /// and the adapter to `output_dir/adapter/`. Default false: `output_dir` holds the
    /// adapter.
    pub merge: bool,
}

impl Default for LoraSection {
    fn default() -> Self {
        let c = LoraConfig::default();
        Self {
            r: c.r,
            lora_alpha: c.lora_alpha,
            lora_dropout: c.lora_dropout,
            target_modules: c.target_modules,
            bias: c.bias,
            use_rslora: c.use_rslora,
            merge: false,
        }
    }
}

impl LoraSection {
    /// The adapter configuration (everything but `merge`).
    pub fn adapter_config(&self) -> LoraConfig {
        LoraConfig {
            r: self.r,
            lora_alpha: self.lora_alpha,
            lora_dropout: self.lora_dropout,
            target_modules: self.target_modules.clone(),
            bias: self.bias.clone(),
            use_rslora: self.use_rslora,
        }
    }

    /// Checks every key (errors name `lora.<key>`).
    pub fn validate(&self) -> Result<()> {
        Ok(self.adapter_config().validate()?)
    }

    /// Where the final adapter goes: `output_dir`, or `output_dir/adapter` with `merge`.
    pub fn adapter_dir(&self, output_dir: &Path) -> PathBuf {
        if self.merge {
            output_dir.join(MERGED_ADAPTER_DIR)
        } else {
            output_dir.to_path_buf()
        }
    }

    /// Writes the result of a finished LoRA run: `model`'s adapter in PEFT layout (its
    /// `base_model_name_or_path` is `base`) with the tokenizer files of `tokenizer_dir` in
    /// [`adapter_dir`](Self::adapter_dir), and with `merge` also the merged full checkpoint
    /// (`W + scaling · B A`, [`CausalLm::merge_adapters`]) with the tokenizer files in
    /// `output_dir`.
    ///
    /// # Errors
    /// A model without adapters, and any write failure (naming the file).
    pub fn save_output(
        &self,
        model: &CausalLm,
        base: &Path,
        tokenizer_dir: &Path,
        output_dir: &Path,
    ) -> Result<()> {
        let adapter_dir = self.adapter_dir(output_dir);
        model.save_peft_adapter(&adapter_dir, &base.to_string_lossy())?;
        copy_tokenizer_files(tokenizer_dir, &adapter_dir)?;
        if self.merge {
            model.clone().merge_adapters()?.save_hf(output_dir)?;
            copy_tokenizer_files(tokenizer_dir, output_dir)?;
        }
        Ok(())
    }
}

/// Refuses `model.keep_quantized` without `[lora]`: a quantized base is frozen, so it trains
/// through adapters only. The check the offline trainer's run files and `prefopt grpo`'s share.
///
/// # Errors
/// [`Error::InvalidConfig`](crate::Error::InvalidConfig) naming `model.keep_quantized`.
pub fn require_lora_for_quantized(keep_quantized: bool, lora: Option<&LoraSection>) -> Result<()> {
    if keep_quantized && lora.is_none() {
        return Err(prefopt_core::invalid(
            "model.keep_quantized",
            "a quantized base is frozen and trains through LoRA adapters only; add a [lora] section",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_checked_by_name() {
        let field = |s: LoraSection| match s.validate().unwrap_err() {
            crate::Error::InvalidConfig(e) => e.field,
            e => panic!("unexpected {e}"),
        };
        LoraSection::default().validate().unwrap();
        assert_eq!(
            field(LoraSection {
                r: 0,
                ..LoraSection::default()
            }),
            "lora.r"
        );
        assert_eq!(
            field(LoraSection {
                target_modules: vec!["attn".into()],
                ..LoraSection::default()
            }),
            "lora.target_modules"
        );
        assert_eq!(
            field(LoraSection {
                bias: "lora_only".into(),
                ..LoraSection::default()
            }),
            "lora.bias"
        );
    }

    #[test]
    fn unknown_keys_are_rejected() {
        let e = toml::from_str::<LoraSection>("rank = 4").unwrap_err();
        assert!(e.to_string().contains("rank"), "{e}");
        let s: LoraSection = toml::from_str("r = 4\nmerge = true").unwrap();
        assert_eq!((s.r, s.merge), (4, true));
        assert_eq!(s.adapter_dir(Path::new("out")), Path::new("out/adapter"));
    }
}
