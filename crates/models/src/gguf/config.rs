//! `llama.*` GGUF metadata → an HF `config.json` → [`LlamaConfig`].

use prefopt_gguf::GgufFile;
use serde_json::{Value, json};

use crate::error::{ModelError, Result};
use crate::llama::{LlamaConfig, RopeScaling};

/// The `general.architecture` values [`crate::CausalLm::load_gguf`] reads.
pub const SUPPORTED_GGUF_ARCHITECTURES: &[&str] = &["llama"];

fn invalid(file: &GgufFile, message: String) -> ModelError {
    ModelError::InvalidConfig {
        path: file.path().to_path_buf(),
        message,
    }
}

/// Llama 3.1+ GGUFs carry their RoPE scaling as the tensor `rope_freqs.weight` (one divisor per
/// rotary frequency) instead of metadata. The parameters Meta ships (low/high frequency factors
/// 1 and 4, original context 8192) with `factor = max(divisors)` are tried; a tensor they do
/// not reproduce is an error rather than a silently different RoPE.
fn llama3_scaling_from_divisors(
    file: &GgufFile,
    base: &LlamaConfig,
    divisors: &[f32],
) -> Result<RopeScaling> {
    let factor = divisors.iter().copied().fold(1.0f32, f32::max) as f64;
    let scaling = RopeScaling::Llama3 {
        factor,
        low_freq_factor: 1.0,
        high_freq_factor: 4.0,
        original_max_position_embeddings: 8192,
    };
    let mut scaled = base.clone();
    scaled.rope_scaling = scaling.clone();
    let plain = base.inv_freq();
    let ours = scaled.inv_freq();
    if divisors.len() != plain.len() {
        return Err(invalid(
            file,
            format!(
                "tensor `rope_freqs.weight` has {} entries, expected head_dim / 2 = {}",
                divisors.len(),
                plain.len()
            ),
        ));
    }
    for (i, ((p, o), d)) in plain.iter().zip(&ours).zip(divisors).enumerate() {
        let want = p / o;
        if (want - f64::from(*d)).abs() > 1e-3 * want.abs().max(1.0) {
            return Err(invalid(
                file,
                format!(
                    "tensor `rope_freqs.weight` (RoPE frequency divisors) entry {i} is {d}, but \
                     Llama 3 scaling with factor {factor}, low/high frequency factors 1/4 and \
                     original context 8192 gives {want}; other RoPE scalings from GGUF are not \
                     supported"
                ),
            ));
        }
    }
    Ok(scaling)
}

/// The HF `config.json` (as a JSON value) and the [`LlamaConfig`] of a Llama GGUF.
///
/// # Errors
/// [`ModelError::InvalidConfig`] naming the file and the key for an architecture other than
/// `llama`, a missing or inconsistent key, a tokenizer whose token count differs from the
/// embedding rows, mixture-of-experts files and unsupported RoPE scalings; GGUF errors for
/// wrongly typed keys.
pub fn llama_config_from_gguf(file: &GgufFile) -> Result<LlamaConfig> {
    let arch = file.require_str("general.architecture")?;
    if !SUPPORTED_GGUF_ARCHITECTURES.contains(&arch) {
        return Err(invalid(
            file,
            format!(
                "general.architecture `{arch}` is not supported (supported GGUF architectures: {})",
                SUPPORTED_GGUF_ARCHITECTURES.join(", ")
            ),
        ));
    }
    let key = |k: &str| format!("{arch}.{k}");
    let need = |k: &str| -> Result<usize> { Ok(file.require_u64(&key(k))? as usize) };
    let hidden = need("embedding_length")?;
    let intermediate = need("feed_forward_length")?;
    let layers = need("block_count")?;
    let heads = need("attention.head_count")?;
    let kv_heads = file
        .get_u64(&key("attention.head_count_kv"))?
        .map_or(heads, |x| x as usize);
    let eps = file.require_f64(&key("attention.layer_norm_rms_epsilon"))?;
    let theta = file.get_f64(&key("rope.freq_base"))?.unwrap_or(10_000.0);
    let context = need("context_length")?;
    if file.get_u64(&key("expert_count"))?.unwrap_or(0) > 0 {
        return Err(invalid(
            file,
            format!(
                "`{}` > 0: mixture-of-experts models are not supported",
                key("expert_count")
            ),
        ));
    }
    if heads == 0 || hidden == 0 {
        return Err(invalid(
            file,
            format!(
                "`{}` and `{}` must be positive",
                key("embedding_length"),
                key("attention.head_count")
            ),
        ));
    }
    let key_length = file
        .get_u64(&key("attention.key_length"))?
        .map(|x| x as usize);
    let value_length = file
        .get_u64(&key("attention.value_length"))?
        .map(|x| x as usize);
    let rope_dims = file
        .get_u64(&key("rope.dimension_count"))?
        .map(|x| x as usize);
    let head_dim = key_length.or(rope_dims).unwrap_or(hidden / heads);
    if let Some(v) = value_length
        && v != head_dim
    {
        return Err(invalid(
            file,
            format!(
                "`{}` = {v} differs from the key head size {head_dim}",
                key("attention.value_length")
            ),
        ));
    }
    if let Some(r) = rope_dims
        && r != head_dim
    {
        return Err(invalid(
            file,
            format!(
                "`{}` = {r} is not the head size {head_dim}: partial rotary embeddings are not supported",
                key("rope.dimension_count")
            ),
        ));
    }

    // The vocabulary: the token list, the declared size and the embedding rows must agree
    // (llama.cpp's rule: token_embd is loaded as [hidden, n_tokens]).
    let embd = file.require_tensor("token_embd.weight")?;
    let embd_rows = embd.shape().first().copied().unwrap_or(0);
    let n_tokens = file
        .get_strings("tokenizer.ggml.tokens")?
        .map(<[String]>::len);
    let declared = file.get_u64(&key("vocab_size"))?.map(|x| x as usize);
    let vocab_size = n_tokens.or(declared).unwrap_or(embd_rows);
    if let Some(n) = n_tokens
        && n != embd_rows
    {
        return Err(invalid(
            file,
            format!(
                "the tokenizer does not match the vocabulary: `tokenizer.ggml.tokens` lists {n} \
                 tokens but `token_embd.weight` has {embd_rows} rows"
            ),
        ));
    }
    if let Some(d) = declared
        && d != vocab_size
    {
        return Err(invalid(
            file,
            format!(
                "`{}` = {d} does not match the vocabulary of {vocab_size} (`tokenizer.ggml.tokens` / `token_embd.weight`)",
                key("vocab_size")
            ),
        ));
    }

    let rope_scaling = match file.get_str(&key("rope.scaling.type"))? {
        None | Some("none") => Value::Null,
        Some("linear") => {
            let factor = file
                .get_f64(&key("rope.scaling.factor"))?
                .or(file.get_f64(&key("rope.scale_linear"))?)
                .ok_or_else(|| {
                    invalid(
                        file,
                        format!("linear RoPE scaling needs `{}`", key("rope.scaling.factor")),
                    )
                })?;
            json!({"rope_type": "linear", "factor": factor})
        }
        Some(other) => {
            return Err(invalid(
                file,
                format!(
                    "`{}` = `{other}` is not supported (supported: none, linear)",
                    key("rope.scaling.type")
                ),
            ));
        }
    };
    let token_id = |k: &str| -> Result<Value> {
        Ok(file
            .get_u64(&format!("tokenizer.ggml.{k}"))?
            .map_or(Value::Null, Value::from))
    };
    let mut raw = json!({
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "vocab_size": vocab_size,
        "hidden_size": hidden,
        "intermediate_size": intermediate,
        "num_hidden_layers": layers,
        "num_attention_heads": heads,
        "num_key_value_heads": kv_heads,
        "head_dim": head_dim,
        "hidden_act": "silu",
        "max_position_embeddings": context,
        "rms_norm_eps": eps,
        "rope_theta": theta,
        "rope_scaling": rope_scaling,
        "tie_word_embeddings": file.tensor("output.weight").is_none(),
        "attention_bias": file.tensor("blk.0.attn_q.bias").is_some(),
        "mlp_bias": false,
        "bos_token_id": token_id("bos_token_id")?,
        "eos_token_id": token_id("eos_token_id")?,
        "pad_token_id": token_id("padding_token_id")?,
        "dtype": "float32",
    });
    if file.tensor("rope_freqs.weight").is_some() {
        let plain = LlamaConfig::from_hf_str(&raw.to_string(), file.path())?;
        let divisors = file.tensor_f32("rope_freqs.weight")?;
        if let RopeScaling::Llama3 { factor, .. } =
            llama3_scaling_from_divisors(file, &plain, &divisors)?
        {
            raw["rope_scaling"] = json!({
                "rope_type": "llama3", "factor": factor, "low_freq_factor": 1.0,
                "high_freq_factor": 4.0, "original_max_position_embeddings": 8192,
            });
        }
    }
    LlamaConfig::from_hf_str(&raw.to_string(), file.path())
}
