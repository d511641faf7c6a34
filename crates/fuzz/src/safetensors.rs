//! HF safetensors checkpoints, read through `prefopt_models::CausalLm::load_hf` (header,
//! offsets, dtypes and shapes against the model's config).

use burn::prelude::Device;
use prefopt_models::{CausalLm, LlamaConfig};

use crate::scratch::file_with;

/// A one-layer Llama `config.json` small enough that a load is cheap.
pub const TINY_LLAMA_CONFIG: &str = r#"{"model_type":"llama","vocab_size":16,"hidden_size":8,"intermediate_size":16,
"num_hidden_layers":1,"num_attention_heads":2,"num_key_value_heads":1,
"max_position_embeddings":32,"rms_norm_eps":1e-6,"rope_theta":10000.0,
"bos_token_id":1,"eos_token_id":2,"tie_word_embeddings":false,"torch_dtype":"float32"}"#;

/// Loads `data` as the `model.safetensors` of a tiny Llama checkpoint.
pub fn safetensors(data: &[u8]) {
    file_with("config.json", TINY_LLAMA_CONFIG.as_bytes());
    let path = file_with("model.safetensors", data);
    let dir = path.parent().expect("scratch directory");
    let _ = CausalLm::load_hf(dir, &Device::flex());
}

/// The tiny model's own `model.safetensors`.
pub(crate) fn seeds() -> Vec<Vec<u8>> {
    let dir = tempfile::tempdir().expect("seed directory");
    let config = LlamaConfig::from_hf_str(TINY_LLAMA_CONFIG, "<fuzz>").expect("tiny config");
    CausalLm::init_random(config, 1, &Device::flex())
        .expect("tiny model")
        .save_hf(dir.path())
        .expect("save the tiny model");
    vec![std::fs::read(dir.path().join(prefopt_models::SAFETENSORS_FILE)).expect("seed")]
}
