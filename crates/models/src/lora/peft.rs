//! Attaching, saving, loading and merging adapters in PEFT's file layout.
//!
//! `PeftModel.save_pretrained(dir)` writes `adapter_config.json` (PEFT's `LoraConfig`, JSON
//! with sorted keys) and `adapter_model.safetensors` with the keys
//! `base_model.model.<HF module path>.lora_A.weight` (`[r, in]`) and `.lora_B.weight`
//! (`[out, r]`), float32. [`CausalLm::save_peft_adapter`] writes the same two files (all of
//! PEFT 0.21's config fields, so `PeftModel.from_pretrained(base, dir)` loads them), and
//! [`CausalLm::load_peft_adapter`] reads them back, refusing what it does not implement
//! (DoRA, `fan_in_fan_out`, per-module ranks, `modules_to_save`, ...) with an error naming
//! the key.

use std::path::{Path, PathBuf};

use burn::module::{Module, Param};
use burn::nn::Linear;
use prefopt_core::{SplitMix64, write_atomic};
use serde_json::{Map, Value, json};

use super::adapter::{LoraAdapter, LoraSlot};
use super::config::LoraConfig;
use crate::base_linear::BaseLinear;
use crate::causal_lm::CausalLm;
use crate::checkpoint::{CheckpointWeights, SaveDtype, serialize};
use crate::error::{ModelError, Result};
use crate::load_options::LoadOptions;
use crate::weights::{NamedTensor, WeightSource};

/// PEFT's adapter config file.
pub const ADAPTER_CONFIG_FILE: &str = "adapter_config.json";
/// PEFT's adapter weights file.
pub const ADAPTER_WEIGHTS_FILE: &str = "adapter_model.safetensors";
/// What PEFT puts before a module's HF path in adapter tensor names.
pub const PEFT_KEY_PREFIX: &str = "base_model.model.";

/// The PEFT version whose `adapter_config.json` layout [`CausalLm::save_peft_adapter`] writes.
const PEFT_FORMAT_VERSION: &str = "0.21.2";

fn config_error(path: &Path, message: impl Into<String>) -> ModelError {
    ModelError::InvalidConfig {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

/// A number as PEFT writes it: an integer when it is one (`lora_alpha = 16`).
fn number(x: f64) -> Value {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        json!(x as i64)
    } else {
        json!(x)
    }
}

/// `adapter_config.json` as PEFT 0.21 writes it for a causal LM.
fn peft_config_json(config: &LoraConfig, base_model_name_or_path: &str) -> String {
    let value = json!({
        "alora_invocation_tokens": null,
        "alpha_pattern": {},
        "arrow_config": null,
        "auto_mapping": null,
        "base_model_name_or_path": base_model_name_or_path,
        "bias": config.bias,
        "corda_config": null,
        "ensure_weight_tying": false,
        "eva_config": null,
        "exclude_modules": null,
        "fan_in_fan_out": false,
        "inference_mode": true,
        "init_lora_weights": true,
        "kasa_config": null,
        "layer_replication": null,
        "layers_pattern": null,
        "layers_to_transform": null,
        "loftq_config": {},
        "lora_alpha": number(config.lora_alpha),
        "lora_bias": false,
        "lora_dropout": config.lora_dropout,
        "lora_ga_config": null,
        "megatron_config": null,
        "megatron_core": "megatron.core",
        "modules_to_save": null,
        "monteclora_config": null,
        "peft_type": "LORA",
        "peft_version": PEFT_FORMAT_VERSION,
        "qalora_group_size": 16,
        "r": config.r,
        "rank_pattern": {},
        "revision": null,
        "target_modules": config.target_modules,
        "target_parameters": null,
        "task_type": "CAUSAL_LM",
        "trainable_token_indices": null,
        "use_bdlora": null,
        "use_dora": false,
        "use_qalora": false,
        "use_rslora": config.use_rslora,
        "velora_config": null,
    });
    serde_json::to_string_pretty(&value).unwrap_or_default()
}

/// Reads PEFT's `adapter_config.json`, refusing the options this crate does not implement.
fn read_peft_config(path: &Path) -> Result<LoraConfig> {
    let text = std::fs::read_to_string(path).map_err(|source| ModelError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let json: Map<String, Value> =
        serde_json::from_str(&text).map_err(|source| ModelError::Json {
            path: path.to_path_buf(),
            source,
        })?;
    let bad = |key: &str, why: &str| config_error(path, format!("`{key}`: {why}"));
    let get = |key: &str| json.get(key).filter(|v| !v.is_null());
    match get("peft_type").and_then(Value::as_str) {
        Some("LORA") => {}
        other => {
            return Err(bad(
                "peft_type",
                &format!("expected \"LORA\", got {other:?}"),
            ));
        }
    }
    // Options that change what the adapter computes: only their neutral values are accepted.
    for key in ["fan_in_fan_out", "use_dora", "lora_bias", "use_qalora"] {
        if get(key).is_some_and(|v| v != &Value::Bool(false)) {
            return Err(bad(key, "only false is supported"));
        }
    }
    for key in ["rank_pattern", "alpha_pattern"] {
        if get(key)
            .and_then(Value::as_object)
            .is_some_and(|m| !m.is_empty())
        {
            return Err(bad(key, "per-module ranks and alphas are not supported"));
        }
    }
    for key in [
        "modules_to_save",
        "layers_to_transform",
        "layer_replication",
        "trainable_token_indices",
        "target_parameters",
        "exclude_modules",
    ] {
        if get(key).is_some_and(|v| !(v.as_array().is_some_and(Vec::is_empty))) {
            return Err(bad(key, "is not supported (must be null)"));
        }
    }
    let r = get("r")
        .and_then(Value::as_u64)
        .ok_or_else(|| bad("r", "missing or not a non-negative integer"))?;
    let lora_alpha = get("lora_alpha")
        .and_then(Value::as_f64)
        .ok_or_else(|| bad("lora_alpha", "missing or not a number"))?;
    let lora_dropout = get("lora_dropout").and_then(Value::as_f64).unwrap_or(0.0);
    let target_modules = match get("target_modules") {
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| bad("target_modules", "must be a list of module names"))
            })
            .collect::<Result<Vec<_>>>()?,
        Some(Value::String(_)) => {
            return Err(bad(
                "target_modules",
                "a regular expression is not supported; list the module names",
            ));
        }
        _ => return Err(bad("target_modules", "missing or not a list")),
    };
    let mut target_modules = target_modules;
    // PEFT writes a set: order the names as the model has them, so a load is deterministic.
    target_modules.sort_by_key(|m| {
        super::config::LORA_TARGET_MODULES
            .iter()
            .position(|k| k == m)
            .unwrap_or(usize::MAX)
    });
    let config = LoraConfig {
        r: usize::try_from(r).map_err(|_| bad("r", "too large"))?,
        lora_alpha,
        lora_dropout,
        target_modules,
        bias: get("bias")
            .and_then(Value::as_str)
            .unwrap_or("none")
            .to_string(),
        use_rslora: get("use_rslora").and_then(Value::as_bool).unwrap_or(false),
    };
    config
        .validate()
        .map_err(|e| config_error(path, e.to_string()))?;
    Ok(config)
}

impl CausalLm {
    /// Every linear layer that can carry an adapter, in model order, with its HF path.
    fn lora_slots(&mut self) -> Vec<LoraSlot<'_>> {
        let mut out = Vec::new();
        self.model.lora_slots("model", &mut out);
        if let Some(head) = self.lm_head.as_mut() {
            out.push(LoraSlot {
                path: "lm_head".into(),
                module: "lm_head",
                linear: head,
                adapter: &mut self.lm_head_lora,
            });
        }
        out
    }

    /// The adapters' configuration, when adapters are attached.
    pub fn lora_config(&self) -> Option<&LoraConfig> {
        self.lora.as_ref()
    }

    /// Freezes every base parameter and gives each target layer the adapter `make` builds.
    fn attach(
        self,
        config: &LoraConfig,
        source: &Path,
        mut make: impl FnMut(&LoraSlot<'_>) -> Result<LoraAdapter>,
    ) -> Result<Self> {
        config
            .validate()
            .map_err(|e| config_error(source, e.to_string()))?;
        if self.lora.is_some() {
            return Err(config_error(source, "the model already has LoRA adapters"));
        }
        if config.targets("lm_head") && self.lm_head.is_none() {
            return Err(config_error(
                source,
                "lora.target_modules: `lm_head` is tied to the input embeddings in this model (tie_word_embeddings); leave it out",
            ));
        }
        let mut model = self.no_grad();
        for slot in model.lora_slots() {
            if config.targets(slot.module) {
                let adapter = make(&slot)?;
                *slot.adapter = Some(adapter);
            }
        }
        model.lora = Some(config.clone());
        Ok(model)
    }

    /// Freezes the base weights and attaches fresh adapters to the layers `config` targets,
    /// initialised as PEFT does (`A` Kaiming-uniform from `seed`, `B = 0`): the model's
    /// outputs are unchanged until the adapters train. Only the adapters require gradients.
    ///
    /// # Errors
    /// An invalid config (naming the `lora.*` key), `lm_head` targeted on a model with tied
    /// embeddings, or adapters already attached.
    pub fn with_lora(self, config: &LoraConfig, seed: u64) -> Result<Self> {
        let mut rng = SplitMix64::new(seed);
        let device = self.device();
        self.attach(config, Path::new("[lora]"), |slot| {
            let (d_in, d_out) = slot.dims();
            Ok(LoraAdapter::init(d_in, d_out, config, &mut rng, &device))
        })
    }

    /// Freezes the base weights and attaches the PEFT adapter saved in `dir`
    /// (`adapter_config.json` + `adapter_model.safetensors`).
    ///
    /// # Errors
    /// Unreadable files, PEFT options this crate does not implement (naming the key), missing
    /// or misshapen adapter tensors, and tensors for modules this model does not have.
    pub fn load_peft_adapter(self, dir: impl AsRef<Path>) -> Result<Self> {
        let dir = dir.as_ref();
        let config_path = dir.join(ADAPTER_CONFIG_FILE);
        let config = read_peft_config(&config_path)?;
        let weights_path = dir.join(ADAPTER_WEIGHTS_FILE);
        let mut weights = CheckpointWeights::open_file(&weights_path)?;
        let r = config.r;
        let device = self.device();
        let model = self.attach(&config, &config_path, |slot| {
            let (d_in, d_out) = slot.dims();
            let key = format!("{PEFT_KEY_PREFIX}{}", slot.path);
            let a = weights.take(&format!("{key}.lora_A.weight"), &[r, d_in])?;
            let b = weights.take(&format!("{key}.lora_B.weight"), &[d_out, r])?;
            Ok(LoraAdapter::from_peft(a, b, d_in, d_out, &config, &device))
        })?;
        if let Some(tensor) = weights.unused().into_iter().next() {
            return Err(ModelError::InvalidSafetensors {
                path: weights_path,
                message: format!(
                    "tensor `{tensor}` is not an adapter of a targeted module of this model (target_modules: {:?})",
                    config.target_modules
                ),
            });
        }
        Ok(model)
    }

    /// Loads a PEFT adapter directory on its own: the base model named by its
    /// `adapter_config.json` (`base_model_name_or_path`, an HF directory or a `.gguf` file, as
    /// [`CausalLm::load`] takes), then the adapter ([`CausalLm::load_peft_adapter`]).
    ///
    /// # Errors
    /// A config without a local `base_model_name_or_path`, and every error of the two loads.
    pub fn load_peft(dir: impl AsRef<Path>, device: &burn::tensor::Device) -> Result<Self> {
        Self::load_peft_with(dir, device, &LoadOptions::default())
    }

    /// [`CausalLm::load_peft`] with the base loaded with `options` (a quantized GGUF base kept
    /// quantized: QLoRA).
    ///
    /// # Errors
    /// As [`CausalLm::load_peft`].
    pub fn load_peft_with(
        dir: impl AsRef<Path>,
        device: &burn::tensor::Device,
        options: &LoadOptions,
    ) -> Result<Self> {
        let dir = dir.as_ref();
        let config_path = dir.join(ADAPTER_CONFIG_FILE);
        let text = std::fs::read_to_string(&config_path).map_err(|source| ModelError::Io {
            path: config_path.clone(),
            source,
        })?;
        let json: Value = serde_json::from_str(&text).map_err(|source| ModelError::Json {
            path: config_path.clone(),
            source,
        })?;
        let base = json
            .get("base_model_name_or_path")
            .and_then(Value::as_str)
            .filter(|p| Path::new(p).exists())
            .ok_or_else(|| {
                config_error(
                    &config_path,
                    "`base_model_name_or_path` does not name a local model directory or .gguf file; load the base yourself and call load_peft_adapter",
                )
            })?;
        Self::load_with(base, device, options)?.load_peft_adapter(dir)
    }

    /// The adapter tensors under PEFT's names, in model order.
    fn peft_tensors(&self) -> Result<Vec<NamedTensor>> {
        let mut model = self.clone();
        let mut out = Vec::new();
        for slot in model.lora_slots() {
            let Some(adapter) = slot.adapter.as_ref() else {
                continue;
            };
            let (d_in, d_out) = slot.dims();
            let r = adapter.lora_a.val().dims()[1];
            let (a, b) = adapter.to_peft()?;
            let key = format!("{PEFT_KEY_PREFIX}{}", slot.path);
            out.push(NamedTensor {
                name: format!("{key}.lora_A.weight"),
                shape: vec![r, d_in],
                data: a,
            });
            out.push(NamedTensor {
                name: format!("{key}.lora_B.weight"),
                shape: vec![d_out, r],
                data: b,
            });
        }
        Ok(out)
    }

    /// Writes the adapters as `PeftModel.save_pretrained` does: `dir/adapter_config.json`
    /// (with `base_model_name_or_path`) and `dir/adapter_model.safetensors` (float32), each
    /// atomically. `PeftModel.from_pretrained(base, dir)` loads them onto the HF base model.
    ///
    /// # Errors
    /// No adapters attached, or a write failure naming the file.
    pub fn save_peft_adapter(
        &self,
        dir: impl AsRef<Path>,
        base_model_name_or_path: &str,
    ) -> Result<()> {
        let dir = dir.as_ref();
        let config = self.lora.as_ref().ok_or_else(|| {
            ModelError::InvalidInput("save_peft_adapter: the model has no LoRA adapters".into())
        })?;
        std::fs::create_dir_all(dir).map_err(|source| ModelError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let weights_path: PathBuf = dir.join(ADAPTER_WEIGHTS_FILE);
        let encoded: Vec<(NamedTensor, Vec<u8>)> = self
            .peft_tensors()?
            .into_iter()
            .map(|t| {
                let bytes = SaveDtype::F32.encode(&t.data);
                (t, bytes)
            })
            .collect();
        let bytes = serialize(&weights_path, &encoded, SaveDtype::F32)?;
        write_atomic(&weights_path, &bytes)?;
        let text = peft_config_json(config, base_model_name_or_path);
        write_atomic(&dir.join(ADAPTER_CONFIG_FILE), text.as_bytes())?;
        Ok(())
    }

    /// The base model: the same weights (shared, not copied) with every adapter removed.
    /// A DPO/LiPO reference for a LoRA policy.
    pub fn without_adapters(&self) -> Self {
        let mut model = self.clone();
        for slot in model.lora_slots() {
            *slot.adapter = None;
        }
        model.lora = None;
        model
    }

    /// Folds every adapter into its layer (`W + scaling · B A`, PEFT's `merge_and_unload`) and
    /// removes the adapters: a plain model that [`CausalLm::save_hf`] writes as a full
    /// checkpoint. A quantized base layer becomes an f32 layer (its weight dequantized, then
    /// merged), as PEFT merges onto a dequantized 4-bit base.
    ///
    /// # Errors
    /// Never today; kept fallible for adapters that cannot merge.
    pub fn merge_adapters(mut self) -> Result<Self> {
        for slot in self.lora_slots() {
            if let Some(adapter) = slot.adapter.take() {
                let delta = adapter.delta_weight();
                let base = match &*slot.linear {
                    BaseLinear::Dense(linear) => linear.clone(),
                    BaseLinear::Quantized(q) => q.dequantized(&delta.device()),
                };
                let merged = Linear {
                    weight: Param::from_tensor(base.weight.val() + delta),
                    bias: base.bias,
                };
                *slot.linear = BaseLinear::Dense(merged);
            }
        }
        self.lora = None;
        Ok(self)
    }
}
