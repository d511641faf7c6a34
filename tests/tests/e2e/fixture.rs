//! A tiny random Llama with the data crate's fixture tokenizer, data files and run configs.

use std::path::{Path, PathBuf};

use burn::prelude::*;
use prefopt_models::{CausalLm, LlamaConfig, SequenceClassifier};

/// The data crate's tiny BPE tokenizer (275 tokens, `</s>` EOS, no pad token).
pub fn tokenizer_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../crates/data/tests/fixtures/tiny_tokenizer")
}

const TOKENIZER_FILES: [&str; 4] = [
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "generation_config.json",
];

fn config_json(num_labels: Option<usize>) -> String {
    let labels = num_labels.map_or(String::new(), |n| {
        format!(r#","num_labels":{n},"architectures":["LlamaForSequenceClassification"]"#)
    });
    format!(
        r#"{{"model_type":"llama","vocab_size":288,"hidden_size":32,"intermediate_size":64,
        "num_hidden_layers":2,"num_attention_heads":4,"num_key_value_heads":2,
        "max_position_embeddings":256,"rms_norm_eps":1e-6,"rope_theta":10000.0,
        "bos_token_id":1,"eos_token_id":2,"tie_word_embeddings":false,"torch_dtype":"float32"{labels}}}"#
    )
}

/// Writes a seeded random causal LM in HF layout plus the tokenizer files into `dir`.
pub fn tiny_model(dir: &Path, seed: u64) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let config = LlamaConfig::from_hf_str(&config_json(None), "<tiny>").unwrap();
    CausalLm::init_random(config, seed, &Device::flex())
        .unwrap()
        .save_hf(dir)
        .unwrap();
    for name in TOKENIZER_FILES {
        std::fs::copy(tokenizer_dir().join(name), dir.join(name)).unwrap();
    }
    dir.to_path_buf()
}

/// Writes a seeded random reward model (`num_labels = 1`) into `dir`.
pub fn tiny_reward_model(dir: &Path, seed: u64) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let config = LlamaConfig::from_hf_str(&config_json(Some(1)), "<tiny-rm>").unwrap();
    SequenceClassifier::init_random(config, seed, &Device::flex())
        .unwrap()
        .save_hf(dir)
        .unwrap();
    dir.to_path_buf()
}

/// Eight plain-text preference pairs.
pub const PAIRS: &str = r#"{"prompt": "The sky is", "chosen": " blue.", "rejected": " green."}
{"prompt": "2 + 2 =", "chosen": " 4", "rejected": " 5"}
{"prompt": "Grass is", "chosen": " green.", "rejected": " purple and loud."}
{"prompt": "Fire is", "chosen": " hot.", "rejected": " cold."}
{"prompt": "Ice is", "chosen": " cold.", "rejected": " hot, very hot."}
{"prompt": "The sun rises in the", "chosen": " east.", "rejected": " west."}
{"prompt": "Cats say", "chosen": " meow.", "rejected": " woof."}
{"prompt": "Water is", "chosen": " wet.", "rejected": " dry."}
"#;

/// Four ranked lists of three responses.
pub const LISTS: &str = r#"{"prompt": "Name a prime number.", "responses": [" 7", " 9", " 2, the only even prime"], "scores": [1.0, 0.0, 2.0]}
{"prompt": "The sky is", "responses": [" blue.", " green.", " red."], "scores": [0.9, 0.1, 0.3]}
{"prompt": "Fire is", "responses": [" hot.", " cold.", " wet."], "scores": [1.0, 0.0, 0.2]}
{"prompt": "Cats say", "responses": [" meow.", " woof."], "scores": [0.8, 0.2]}
"#;

/// Four SFT rows.
pub const SFT: &str = r#"{"prompt": "The capital of Italy is", "completion": " Rome."}
{"prompt": "The sky is", "completion": " blue."}
{"prompt": "Fire is", "completion": " hot."}
{"prompt": "Cats say", "completion": " meow."}
"#;

/// A scratch directory with a tiny model and data files.
pub struct Setup {
    /// Keeps the directory alive.
    pub tmp: tempfile::TempDir,
    /// The tiny model (with tokenizer files).
    pub model: PathBuf,
}

impl Setup {
    pub fn new() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let model = tiny_model(&tmp.path().join("model"), 7);
        Self { tmp, model }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.tmp.path().join(name)
    }

    /// Writes `text` to `name` in the scratch directory.
    pub fn file(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    /// A run config: `[model]`, `[data]` and `[training]` with the given extra lines appended
    /// to `[training]`, then `tail` (more tables).
    pub fn config(
        &self,
        name: &str,
        train: &Path,
        out: &Path,
        training: &str,
        tail: &str,
    ) -> PathBuf {
        let text = format!(
            r#"[model]
path = "{model}"

[data]
train = "{train}"
max_length = 64

[training]
output_dir = "{out}"
learning_rate = 1e-2
logging_steps = 1
max_grad_norm = 1.0
seed = 3
{training}

{tail}
"#,
            model = self.model.display(),
            train = train.display(),
            out = out.display(),
        );
        self.file(name, &text)
    }
}

/// Runs `prefopt <method> --config <config> --no-progress --no-plots <extra...>`.
pub fn train_quietly(method: &str, config: &Path, extra: &[&str]) -> anyhow::Result<()> {
    let mut args = vec![
        method,
        "--config",
        config.to_str().unwrap(),
        "--no-progress",
        "--no-plots",
    ];
    args.extend_from_slice(extra);
    crate::prefopt(&args)
}
