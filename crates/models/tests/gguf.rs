//! GGUF loading: tiny Llama GGUFs written like llama.cpp's converter (mixed quantization
//! types, permuted Q/K rows, tied and untied) against transformers' logits on the same files
//! (`fixtures/gguf/make_tiny_llama.py`), the HF round trip, and bad files.

use std::path::{Path, PathBuf};

use burn::prelude::*;
use prefopt_models::{CausalLm, LlamaConfig, ModelError, llama_config_from_gguf};
use prefopt_testkit::{Tolerance, assert_all_close};

use crate::fixtures::device;

pub(crate) fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/gguf")
        .join(name)
}

pub(crate) fn reference() -> serde_json::Value {
    let text = std::fs::read_to_string(fixture("reference.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

pub(crate) fn input_ids(reference: &serde_json::Value) -> Tensor<2, Int> {
    let rows: Vec<Vec<i64>> = serde_json::from_value(reference["input_ids"].clone()).unwrap();
    let (b, t) = (rows.len(), rows[0].len());
    Tensor::from_data(TensorData::new(rows.concat(), [b, t]), &device())
}

pub(crate) fn logits(model: &CausalLm, ids: Tensor<2, Int>) -> Vec<f64> {
    model
        .forward(ids, None)
        .unwrap()
        .try_into_vec_as::<f32>()
        .unwrap()
        .into_iter()
        .map(f64::from)
        .collect()
}

pub(crate) fn flat(value: &serde_json::Value) -> Vec<f64> {
    match value {
        serde_json::Value::Array(items) => items.iter().flat_map(flat).collect(),
        v => vec![v.as_f64().unwrap()],
    }
}

#[test]
fn config_from_llama_metadata() {
    let reference = reference();
    let want = &reference["config"];
    for (name, tied) in [("tiny_llama.gguf", false), ("tiny_llama_tied.gguf", true)] {
        let file = prefopt_gguf::GgufFile::open(fixture(name)).unwrap();
        let c: LlamaConfig = llama_config_from_gguf(&file).unwrap();
        let get = |k: &str| want[k].as_u64().unwrap() as usize;
        assert_eq!(c.model_type, "llama");
        assert_eq!(c.num_hidden_layers, get("num_hidden_layers"));
        assert_eq!(c.hidden_size, get("hidden_size"));
        assert_eq!(c.num_attention_heads, get("num_attention_heads"));
        assert_eq!(c.num_key_value_heads, get("num_key_value_heads"));
        assert_eq!(c.head_dim, get("head_dim"));
        assert_eq!(c.intermediate_size, get("intermediate_size"));
        assert_eq!(c.vocab_size, get("vocab_size"));
        assert_eq!(c.max_position_embeddings, get("max_position_embeddings"));
        assert_eq!(c.rope_theta, want["rope_theta"].as_f64().unwrap());
        assert_eq!(c.rms_norm_eps, want["rms_norm_eps"].as_f64().unwrap());
        assert_eq!(c.bos_token_id, Some(1));
        assert_eq!(c.eos_token_ids, vec![2]);
        assert_eq!(c.pad_token_id, Some(0));
        assert_eq!(c.tie_word_embeddings, tied, "{name}");
        assert!(!c.qkv_bias && !c.o_bias && !c.mlp_bias);
    }
}

#[test]
fn logits_match_transformers_on_the_same_file() {
    let reference = reference();
    for name in ["tiny_llama.gguf", "tiny_llama_tied.gguf"] {
        let model = CausalLm::load_gguf(fixture(name), &device()).unwrap();
        let got = logits(&model, input_ids(&reference));
        let want = flat(&reference["logits"][name]);
        assert_all_close(name, &got, &want, Tolerance::abs(1e-4));
    }
}

#[test]
fn load_dispatches_on_file_or_directory() {
    let reference = reference();
    let model = CausalLm::load(fixture("tiny_llama_tied.gguf"), &device()).unwrap();
    assert!(model.config().tie_word_embeddings);
    // The HF checkpoint written from the GGUF loads back (as a directory) to the same model.
    let dir = tempfile::tempdir().unwrap();
    model.save_hf(dir.path()).unwrap();
    let back = CausalLm::load(dir.path(), &device()).unwrap();
    assert_eq!(
        logits(&model, input_ids(&reference)),
        logits(&back, input_ids(&reference))
    );
    let config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("config.json")).unwrap())
            .unwrap();
    assert_eq!(config["model_type"], "llama");
    assert_eq!(config["architectures"][0], "LlamaForCausalLM");
    assert_eq!(config["tie_word_embeddings"], true);
    assert_eq!(config["num_key_value_heads"], 2);
}

/// A copy of fixture `name` with `edit` applied, in a temporary directory.
fn patched(name: &str, edit: impl FnOnce(&mut Vec<u8>)) -> (tempfile::TempDir, PathBuf) {
    prefopt_testkit::patched_copy(&fixture(name), edit)
}

fn load_error(path: &Path) -> String {
    match CausalLm::load(path, &device()) {
        Ok(_) => panic!("{} loaded", path.display()),
        Err(e) => e.to_string(),
    }
}

#[test]
fn truncated_file() {
    let (_dir, path) = patched("tiny_llama.gguf", |b| b.truncate(b.len() - 100));
    let err = load_error(&path);
    assert!(
        err.contains("truncated") && err.contains("output.weight"),
        "{err}"
    );
}

#[test]
fn wrong_magic() {
    let (_dir, path) = patched("tiny_llama.gguf", |b| b[..4].copy_from_slice(b"GGJT"));
    let err = load_error(&path);
    assert!(err.contains("not a GGUF file"), "{err}");
}

#[test]
fn unknown_quantization_type_names_the_tensor() {
    let (_dir, path) = patched("tiny_llama.gguf", |b| {
        let name = b"blk.1.attn_v.weight";
        let at = prefopt_testkit::find_bytes(b, name) + name.len() + 4 + 16; // n_dims, two dims
        b[at..at + 4].copy_from_slice(&99u32.to_le_bytes());
    });
    let err = load_error(&path);
    assert!(
        err.contains("blk.1.attn_v.weight") && err.contains("unknown ggml type id 99"),
        "{err}"
    );
}

#[test]
fn architecture_that_is_not_llama() {
    let (_dir, path) = patched("tiny_llama.gguf", |b| {
        // general.architecture's value: u32 tag 8, u64 length 5, "llama".
        let key = b"general.architecture";
        let at = prefopt_testkit::find_bytes(b, key) + key.len() + 4 + 8;
        b[at..at + 5].copy_from_slice(b"gemma");
    });
    let err = load_error(&path);
    assert!(
        err.contains("general.architecture `gemma` is not supported") && err.contains("llama"),
        "{err}"
    );
}

#[test]
fn tokenizer_that_does_not_match_the_vocabulary() {
    // token_embd with 95 rows while the tokenizer lists 96 tokens.
    let (_dir, path) = patched("tiny_llama.gguf", |b| {
        let name = b"token_embd.weight";
        let at = prefopt_testkit::find_bytes(b, name) + name.len() + 4 + 8; // n_dims, ne[0]
        assert_eq!(u64::from_le_bytes(b[at..at + 8].try_into().unwrap()), 96);
        b[at..at + 8].copy_from_slice(&95u64.to_le_bytes());
    });
    let err = load_error(&path);
    assert!(
        err.contains("tokenizer does not match")
            && err.contains("96 tokens")
            && err.contains("95 rows"),
        "{err}"
    );
    // llama.vocab_size disagreeing with the token list.
    let (_dir, path) = patched("tiny_llama.gguf", |b| {
        let key = b"llama.vocab_size";
        let at = prefopt_testkit::find_bytes(b, key) + key.len() + 4;
        b[at..at + 4].copy_from_slice(&100u32.to_le_bytes());
    });
    let err = load_error(&path);
    assert!(
        err.contains("llama.vocab_size") && err.contains("100"),
        "{err}"
    );
}

#[test]
fn missing_key_is_named() {
    let (_dir, path) = patched("tiny_llama.gguf", |b| {
        let key = b"llama.block_count";
        let at = prefopt_testkit::find_bytes(b, key);
        b[at..at + key.len()].copy_from_slice(b"llama.block_cOunt");
    });
    let err = load_error(&path);
    assert!(
        err.contains("missing metadata key `llama.block_count`"),
        "{err}"
    );
    assert!(matches!(
        CausalLm::load(&path, &device()),
        Err(ModelError::Gguf(_))
    ));
}
