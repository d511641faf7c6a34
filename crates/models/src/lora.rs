//! LoRA adapters in the PEFT layout (`adapter_config.json` + `adapter_model.safetensors`).
//!
//! A target linear layer `W` (PEFT names: `q_proj`, `k_proj`, `v_proj`, `o_proj`, `gate_proj`,
//! `up_proj`, `down_proj`, `lm_head`) gets a low-rank pair and computes, as PEFT's
//! `lora.Linear`, `W x + scaling · B (A (dropout(x)))` with `scaling = lora_alpha / r`
//! (`lora_alpha / sqrt(r)` with `use_rslora`). New adapters start as PEFT's
//! (`init_lora_weights = true`): `A` Kaiming-uniform (`a = sqrt(5)`, so `U(-1/sqrt(in),
//! 1/sqrt(in))`), `B` zero, so the model starts equal to its base. Attaching adapters freezes
//! every base parameter (no gradient, so the optimizer only ever sees the adapters);
//! [`crate::CausalLm::without_adapters`] gives the base model back without a copy of the
//! weights, and [`crate::CausalLm::merge_adapters`] folds `W + scaling · B A` into the weights.

mod adapter;
mod config;
mod peft;

pub use adapter::LoraAdapter;
pub(crate) use adapter::{LoraSlot, project, project_many};
pub use config::{LORA_TARGET_MODULES, LoraConfig};
pub use peft::{ADAPTER_CONFIG_FILE, ADAPTER_WEIGHTS_FILE, PEFT_KEY_PREFIX};
