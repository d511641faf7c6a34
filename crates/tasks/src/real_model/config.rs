//! Every knob of the real-model alignment run ([`super::run_real_model`]), read from TOML;
//! unknown keys are rejected and every bad value is named by its key.

use std::path::{Path, PathBuf};

use prefopt_objectives::lipo::LipoLossType;
use prefopt_train::LoraSection;
use serde::{Deserialize, Serialize};

use crate::demo::config::AlignStageConfig;
use crate::error::{Result, TaskError};

use super::reward::ConciseAnswerReward;

/// The questions.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RealDataConfig {
    /// Training questions (the K samples, pairs and lists come from them).
    pub train_prompts: usize,
    /// Held-out questions of the evaluation (disjoint from the training ones).
    pub eval_prompts: usize,
}

impl Default for RealDataConfig {
    fn default() -> Self {
        Self {
            train_prompts: 320,
            eval_prompts: 100,
        }
    }
}

/// How completions are sampled from the base model and the aligned ones.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RealSamplingConfig {
    /// Completions per training question: the list size of LiPO, the pool of the DPO pair
    /// and the K of best-of-K.
    pub k: usize,
    /// Softmax temperature (1.0: the KL estimate assumes samples of π itself).
    pub temperature: f64,
    /// Longest completion in tokens (EOS included).
    pub max_new_tokens: usize,
    /// Completions per held-out question and method (best-of-K draws K times as many
    /// from the base).
    pub eval_samples_per_prompt: usize,
    /// Rows per generation or log-prob batch.
    pub batch_rows: usize,
}

impl Default for RealSamplingConfig {
    fn default() -> Self {
        Self {
            k: 4,
            temperature: 1.0,
            max_new_tokens: 48,
            eval_samples_per_prompt: 2,
            batch_rows: 32,
        }
    }
}

/// The objective of one aligned row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlignObjective {
    /// DPO (sigmoid) on best-vs-worst pairs.
    Dpo,
    /// LiPO-λ on the lists.
    LipoLambda,
    /// LiPO with the pairwise logistic loss (DPO-BT on every pair of the list).
    PairLogistic,
    /// LiPO with the pairwise hinge loss (SLiC).
    PairHinge,
    /// LiPO with the list-MLE (Plackett–Luce) loss.
    ListMle,
    /// LiPO with the softmax cross-entropy loss.
    Softmax,
    /// LiPO with the pointwise MSE loss.
    PointMse,
    /// LiPO with the pointwise sigmoid cross-entropy loss.
    PointSigmoid,
}

impl AlignObjective {
    /// The LiPO loss, or `None` for DPO.
    pub fn lipo_loss(self) -> Option<LipoLossType> {
        Some(match self {
            Self::Dpo => return None,
            Self::LipoLambda => LipoLossType::Lambda,
            Self::PairLogistic => LipoLossType::PairLogistic,
            Self::PairHinge => LipoLossType::PairHinge,
            Self::ListMle => LipoLossType::ListMle,
            Self::Softmax => LipoLossType::Softmax,
            Self::PointMse => LipoLossType::PointMse,
            Self::PointSigmoid => LipoLossType::PointSigmoid,
        })
    }

    /// The row name (`DPO`, `LiPO-λ`, `LiPO pair-hinge`, ...).
    pub fn label(self) -> &'static str {
        match self {
            Self::Dpo => "DPO",
            Self::LipoLambda => "LiPO-λ",
            Self::PairLogistic => "LiPO pair-logistic",
            Self::PairHinge => "LiPO pair-hinge",
            Self::ListMle => "LiPO list-MLE",
            Self::Softmax => "LiPO softmax",
            Self::PointMse => "LiPO point-MSE",
            Self::PointSigmoid => "LiPO point-sigmoid",
        }
    }
}

/// Which weights train.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FineTuning {
    /// LoRA adapters (the run's `[lora]` table), merged into the model afterwards.
    Lora,
    /// LoRA adapters on the base kept in its GGUF quantization (QLoRA-style; a `.gguf` base on
    /// the CPU backend, see `prefopt_models::quantized`), merged into the dequantized base
    /// afterwards.
    Qlora,
    /// Every weight.
    Full,
}

impl FineTuning {
    /// Whether the run trains adapters (LoRA or QLoRA).
    pub fn adapters(self) -> bool {
        matches!(self, Self::Lora | Self::Qlora)
    }

    /// Whether the base stays quantized (QLoRA).
    pub fn keeps_quantized(self) -> bool {
        self == Self::Qlora
    }
}

/// Whether `model` names a `.gguf` file, the only base QLoRA can keep quantized.
pub(crate) fn is_gguf_file_name(model: &Path) -> bool {
    model
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("gguf"))
}

/// The default adapters of the real-model runs: rank 8, α = 16 on the four attention
/// projections.
pub fn attention_lora() -> LoraSection {
    LoraSection {
        r: 8,
        lora_alpha: 16.0,
        target_modules: ["q_proj", "k_proj", "v_proj", "o_proj"]
            .map(String::from)
            .to_vec(),
        ..LoraSection::default()
    }
}

/// One aligned row of the table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlignMethodConfig {
    /// The objective.
    pub objective: AlignObjective,
    /// LoRA or full fine-tuning.
    pub tuning: FineTuning,
    /// β, epochs, batch size, learning rate and warm-up.
    #[serde(default)]
    pub stage: AlignStageConfig,
}

impl AlignMethodConfig {
    fn new(objective: AlignObjective, tuning: FineTuning, learning_rate: f64) -> Self {
        Self {
            objective,
            tuning,
            stage: AlignStageConfig {
                beta: 0.1,
                epochs: 1.0,
                batch_size: 8,
                learning_rate,
                warmup_ratio: 0.1,
            },
        }
    }

    /// The row name: the objective and the tuning (`DPO (LoRA)`).
    pub fn name(&self) -> String {
        let tuning = match self.tuning {
            FineTuning::Lora => "LoRA",
            FineTuning::Qlora => "QLoRA",
            FineTuning::Full => "full",
        };
        format!("{} ({tuning})", self.objective.label())
    }

    /// The output directory name (`dpo-lora`).
    pub fn dir_name(&self) -> String {
        let objective = serde_json::to_value(self.objective)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        let tuning = match self.tuning {
            FineTuning::Lora => "lora",
            FineTuning::Qlora => "qlora",
            FineTuning::Full => "full",
        };
        format!("{}-{tuning}", objective.replace('_', "-"))
    }
}

/// The whole run.
///
/// ```toml
/// seed = 7
/// model = "SmolLM2-135M-Instruct.Q4_1.gguf"   # a .gguf file or an HF checkpoint directory
/// [data]
/// train_prompts = 320
/// [reward]
/// max_words = 8
/// [sampling]
/// k = 4
/// [lora]
/// r = 8
/// [[methods]]
/// objective = "dpo"
/// tuning = "lora"
/// stage = { learning_rate = 5e-4 }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RealModelConfig {
    /// Seed of the question split, the sampling and the shuffling.
    pub seed: u64,
    /// The base model: a `.gguf` file or an HF checkpoint directory (with its tokenizer).
    /// Empty = the caller supplies it (the CLI's `--model`).
    pub model: PathBuf,
    /// The questions.
    pub data: RealDataConfig,
    /// The preference.
    pub reward: ConciseAnswerReward,
    /// Sampling.
    pub sampling: RealSamplingConfig,
    /// The adapters of the LoRA rows.
    pub lora: LoraSection,
    /// The aligned rows, in table order.
    pub methods: Vec<AlignMethodConfig>,
}

impl Default for RealModelConfig {
    fn default() -> Self {
        use AlignObjective as O;
        use FineTuning::{Full, Lora};
        let lora = |o| AlignMethodConfig::new(o, Lora, 5e-4);
        let full = |o| AlignMethodConfig::new(o, Full, 1e-5);
        Self {
            seed: 7,
            model: PathBuf::new(),
            data: RealDataConfig::default(),
            reward: ConciseAnswerReward::default(),
            sampling: RealSamplingConfig::default(),
            lora: attention_lora(),
            methods: vec![
                lora(O::Dpo),
                lora(O::LipoLambda),
                lora(O::PairHinge),
                lora(O::ListMle),
                lora(O::Softmax),
                lora(O::PointMse),
                full(O::Dpo),
                full(O::LipoLambda),
            ],
        }
    }
}

impl RealModelConfig {
    /// Parses a TOML configuration (missing keys take the defaults).
    pub fn from_toml_str(text: &str) -> Result<Self> {
        let config: Self =
            toml::from_str(text).map_err(|e| TaskError::InvalidInput(format!("config: {e}")))?;
        config.validate()?;
        Ok(config)
    }

    /// `file` (TOML) or the defaults, with `model` and `seed` (when given) replacing the
    /// config's; checked.
    pub fn load(file: Option<&Path>, model: Option<&Path>, seed: Option<u64>) -> Result<Self> {
        let mut config = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| TaskError::io(path, e))?;
                Self::from_toml_str(&text).map_err(|e| match e {
                    TaskError::InvalidInput(m) => {
                        TaskError::InvalidInput(format!("{}: {m}", path.display()))
                    }
                    other => other,
                })?
            }
            None => Self::default(),
        };
        if let Some(model) = model {
            config.model = model.to_path_buf();
        }
        if let Some(seed) = seed {
            config.seed = seed;
        }
        config.validate()?;
        Ok(config)
    }

    /// Checks every value; the error names the key.
    pub fn validate(&self) -> Result<()> {
        let bad = |key: &str, why: String| Err(TaskError::InvalidInput(format!("{key}: {why}")));
        for (key, v) in [
            ("data.train_prompts", self.data.train_prompts),
            ("data.eval_prompts", self.data.eval_prompts),
            ("reward.max_words", self.reward.max_words),
            ("sampling.max_new_tokens", self.sampling.max_new_tokens),
            (
                "sampling.eval_samples_per_prompt",
                self.sampling.eval_samples_per_prompt,
            ),
            ("sampling.batch_rows", self.sampling.batch_rows),
        ] {
            if v == 0 {
                return bad(key, "must be positive".into());
            }
        }
        if self.sampling.k < 2 {
            return bad(
                "sampling.k",
                format!("needs at least 2 samples, got {}", self.sampling.k),
            );
        }
        if !(self.sampling.temperature.is_finite() && self.sampling.temperature > 0.0) {
            return bad(
                "sampling.temperature",
                format!("must be > 0, got {}", self.sampling.temperature),
            );
        }
        if self.methods.is_empty() {
            return bad("methods", "needs at least one row".into());
        }
        let mut names = Vec::new();
        for (i, m) in self.methods.iter().enumerate() {
            let key = |k: &str| format!("methods[{i}].stage.{k}");
            let s = &m.stage;
            if s.batch_size == 0 {
                return bad(&key("batch_size"), "must be positive".into());
            }
            for (k, v) in [
                ("beta", s.beta),
                ("epochs", s.epochs),
                ("learning_rate", s.learning_rate),
            ] {
                if !(v.is_finite() && v > 0.0) {
                    return bad(&key(k), format!("must be finite and > 0, got {v}"));
                }
            }
            if !(0.0..=1.0).contains(&s.warmup_ratio) {
                return bad(
                    &key("warmup_ratio"),
                    format!("must be in [0, 1], got {}", s.warmup_ratio),
                );
            }
            if m.tuning.keeps_quantized()
                && !self.model.as_os_str().is_empty()
                && !is_gguf_file_name(&self.model)
            {
                return bad(
                    &format!("methods[{i}].tuning"),
                    format!(
                        "qlora keeps a quantized .gguf base quantized; model is {}",
                        self.model.display()
                    ),
                );
            }
            let name = m.name();
            if names.contains(&name) {
                return bad(&format!("methods[{i}]"), format!("{name} appears twice"));
            }
            names.push(name);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn study(name: &str) -> String {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../docs/studies")
            .join(name);
        std::fs::read_to_string(path).unwrap()
    }

    #[test]
    fn the_docs_configs_parse() {
        let full = RealModelConfig::from_toml_str(&study("real-model.toml")).unwrap();
        assert_eq!(full.methods.len(), 8);
        let q = RealModelConfig::from_toml_str(&study("real-model-qlora.toml")).unwrap();
        let rows: Vec<String> = q.methods.iter().map(AlignMethodConfig::name).collect();
        assert_eq!(rows, ["DPO (LoRA)", "DPO (QLoRA)"]);
        assert_eq!(q.methods[1].dir_name(), "dpo-qlora");
    }

    #[test]
    fn qlora_needs_a_gguf_model() {
        let mut c = RealModelConfig::from_toml_str(&study("real-model-qlora.toml")).unwrap();
        c.model = PathBuf::from("/models/hf-dir");
        let err = c.validate().unwrap_err();
        assert!(err.to_string().contains("methods[1].tuning"), "{err}");
        c.model = PathBuf::from("/models/m.Q4_1.gguf");
        c.validate().unwrap();
    }
}
