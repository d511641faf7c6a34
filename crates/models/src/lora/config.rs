//! The LoRA hyper-parameters, with PEFT's `LoraConfig` names and defaults.

use prefopt_core::{InvalidConfig, invalid};
use serde::{Deserialize, Serialize};

/// The PEFT module names adapters can target in a Llama-family model.
pub const LORA_TARGET_MODULES: [&str; 8] = [
    "q_proj",
    "k_proj",
    "v_proj",
    "o_proj",
    "gate_proj",
    "up_proj",
    "down_proj",
    "lm_head",
];

/// PEFT `LoraConfig` (the fields this crate implements; `bias` must be `"none"`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LoraConfig {
    /// Rank `r` of every adapter (PEFT default 8).
    pub r: usize,
    /// `lora_alpha`: the scaling is `lora_alpha / r` (PEFT default 8).
    pub lora_alpha: f64,
    /// Dropout on the adapter input during training (PEFT default 0).
    pub lora_dropout: f64,
    /// PEFT module names to adapt (see [`LORA_TARGET_MODULES`]); default `q_proj`, `v_proj`
    /// (PEFT's default for Llama).
    pub target_modules: Vec<String>,
    /// Which biases train: only `"none"` is supported.
    pub bias: String,
    /// Rank-stabilised scaling `lora_alpha / sqrt(r)` (PEFT `use_rslora`).
    pub use_rslora: bool,
}

impl Default for LoraConfig {
    fn default() -> Self {
        Self {
            r: 8,
            lora_alpha: 8.0,
            lora_dropout: 0.0,
            target_modules: vec!["q_proj".into(), "v_proj".into()],
            bias: "none".into(),
            use_rslora: false,
        }
    }
}

impl LoraConfig {
    /// The factor of `B A`: `lora_alpha / r`, or `lora_alpha / sqrt(r)` with `use_rslora`.
    pub fn scaling(&self) -> f64 {
        if self.use_rslora {
            self.lora_alpha / (self.r as f64).sqrt()
        } else {
            self.lora_alpha / self.r as f64
        }
    }

    /// Whether `module` (a PEFT name such as `q_proj`) gets an adapter.
    pub fn targets(&self, module: &str) -> bool {
        self.target_modules.iter().any(|m| m == module)
    }

    /// Checks the values; errors name the key as in a run config's `[lora]` table.
    pub fn validate(&self) -> Result<(), InvalidConfig> {
        if self.r == 0 {
            return Err(invalid("lora.r", "must be >= 1"));
        }
        if !(self.lora_alpha.is_finite() && self.lora_alpha > 0.0) {
            return Err(invalid(
                "lora.lora_alpha",
                format!("must be finite and > 0, got {}", self.lora_alpha),
            ));
        }
        if !(0.0..1.0).contains(&self.lora_dropout) {
            return Err(invalid(
                "lora.lora_dropout",
                format!("must be in [0, 1), got {}", self.lora_dropout),
            ));
        }
        if self.target_modules.is_empty() {
            return Err(invalid(
                "lora.target_modules",
                "must name at least one module",
            ));
        }
        for (i, m) in self.target_modules.iter().enumerate() {
            if !LORA_TARGET_MODULES.contains(&m.as_str()) {
                return Err(invalid(
                    "lora.target_modules",
                    format!(
                        "unknown module `{m}`; the Llama family has {}",
                        LORA_TARGET_MODULES.join(", ")
                    ),
                ));
            }
            if self.target_modules[..i].contains(m) {
                return Err(invalid(
                    "lora.target_modules",
                    format!("`{m}` is listed twice"),
                ));
            }
        }
        if self.bias != "none" {
            return Err(invalid(
                "lora.bias",
                format!("only \"none\" is supported, got {:?}", self.bias),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_key() {
        let field = |c: LoraConfig| c.validate().unwrap_err().field;
        LoraConfig::default().validate().unwrap();
        let base = LoraConfig::default();
        assert_eq!(
            field(LoraConfig {
                r: 0,
                ..base.clone()
            }),
            "lora.r"
        );
        assert_eq!(
            field(LoraConfig {
                lora_alpha: -1.0,
                ..base.clone()
            }),
            "lora.lora_alpha"
        );
        assert_eq!(
            field(LoraConfig {
                lora_dropout: 1.0,
                ..base.clone()
            }),
            "lora.lora_dropout"
        );
        assert_eq!(
            field(LoraConfig {
                target_modules: vec!["qkv".into()],
                ..base.clone()
            }),
            "lora.target_modules"
        );
        assert_eq!(
            field(LoraConfig {
                bias: "all".into(),
                ..base
            }),
            "lora.bias"
        );
    }

    #[test]
    fn scaling_is_alpha_over_r_or_sqrt_r() {
        let c = LoraConfig {
            r: 4,
            lora_alpha: 8.0,
            ..LoraConfig::default()
        };
        assert_eq!(c.scaling(), 2.0);
        let c = LoraConfig {
            use_rslora: true,
            ..c
        };
        assert_eq!(c.scaling(), 4.0);
    }
}
