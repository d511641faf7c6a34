//! QLoRA from the CLI: `prefopt dpo` with `model.keep_quantized = true` on a quantized GGUF
//! (the models crate's mixed-type fixture), the adapter it writes read back quantized and in
//! f32, `prefopt generate --keep-quantized` from it, and the config error without `[lora]`.

use std::path::{Path, PathBuf};

use burn::prelude::*;
use prefopt_models::{CausalLm, LoadOptions};
use prefopt_train::read_metrics;

use crate::fixture::Setup;
use crate::prefopt;

/// Pairs in the fixture tokenizer's alphabet (its byte tokens stop at `\`: upper case,
/// digits, punctuation, space).
const PAIRS: &str = r#"{"prompt": "SKY IS", "chosen": " BLUE.", "rejected": " GREEN."}
{"prompt": "2 + 2 =", "chosen": " 4", "rejected": " 5"}
{"prompt": "GRASS IS", "chosen": " GREEN.", "rejected": " PURPLE AND LOUD."}
{"prompt": "FIRE IS", "chosen": " HOT.", "rejected": " COLD."}
{"prompt": "ICE IS", "chosen": " COLD.", "rejected": " HOT, VERY HOT."}
{"prompt": "THE SUN RISES IN THE", "chosen": " EAST.", "rejected": " WEST."}
{"prompt": "CATS SAY", "chosen": " MEOW.", "rejected": " WOOF."}
{"prompt": "3 * 3 =", "chosen": " 9", "rejected": " 6"}
"#;

/// The models crate's quantized GGUF fixture (tied embeddings, 96 rows).
pub fn gguf() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../crates/models/tests/fixtures/gguf/tiny_llama_tied.gguf")
}

/// A word-level tokenizer over the words of [`PAIRS`] (the fixture GGUF's own byte tokenizer
/// lists a merge whose result it lacks, which `tokenizers` refuses); ids stay below the
/// fixture's 96 embedding rows.
fn tokenizer(s: &Setup) -> PathBuf {
    word_tokenizer(&s.path("tokenizer"), PAIRS)
}

/// Writes into `dir` a word-level tokenizer for the [`gguf`] fixture over the words of `text`
/// (JSON keys `prompt`, `chosen` and `rejected` left out), `.` and `,`, after three special
/// tokens (`<|endoftext|>` = EOS and pad).
pub fn word_tokenizer(dir: &Path, text: &str) -> PathBuf {
    let specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"];
    let mut words: Vec<String> = specials.iter().map(|w| w.to_string()).collect();
    for w in text
        .split(|c: char| !(c.is_ascii_alphanumeric() || "+=*".contains(c)))
        .chain([".", ","])
    {
        if !w.is_empty()
            && !words.iter().any(|x| x == w)
            && !["prompt", "chosen", "rejected"].contains(&w)
        {
            words.push(w.to_string());
        }
    }
    assert!(words.len() < 96, "{} words", words.len());
    let vocab: serde_json::Map<String, serde_json::Value> = words
        .iter()
        .enumerate()
        .map(|(i, w)| (w.clone(), serde_json::json!(i)))
        .collect();
    let added: Vec<serde_json::Value> = specials
        .iter()
        .enumerate()
        .map(|(i, w)| {
            serde_json::json!({"id": i, "content": w, "single_word": false, "lstrip": false,
                "rstrip": false, "normalized": false, "special": true})
        })
        .collect();
    let json = serde_json::json!({
        "version": "1.0", "truncation": null, "padding": null, "added_tokens": added,
        "normalizer": null, "pre_tokenizer": {"type": "Whitespace"}, "post_processor": null,
        "decoder": null,
        "model": {"type": "WordLevel", "vocab": vocab, "unk_token": "<|endoftext|>"}
    });
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("tokenizer.json"), json.to_string()).unwrap();
    std::fs::write(
        dir.join("tokenizer_config.json"),
        r#"{"eos_token": "<|endoftext|>", "pad_token": "<|endoftext|>", "add_bos_token": false}"#,
    )
    .unwrap();
    dir.to_path_buf()
}

fn config(s: &Setup, out: &Path, lora: bool) -> PathBuf {
    let train = s.file("pairs.jsonl", PAIRS);
    let tokenizer = tokenizer(s);
    let lora = if lora {
        "[lora]\nr = 4\nlora_alpha = 8.0\ntarget_modules = [\"q_proj\", \"k_proj\", \"v_proj\", \"o_proj\", \"gate_proj\", \"up_proj\", \"down_proj\"]\n"
    } else {
        ""
    };
    let text = format!(
        r#"[model]
path = "{model}"
tokenizer = "{tokenizer}"
keep_quantized = true

[data]
train = "{train}"
max_length = 32

[training]
output_dir = "{out}"
learning_rate = 1e-2
logging_steps = 1
max_steps = 6
per_device_train_batch_size = 8
seed = 3

[dpo]
beta = 0.1

{lora}"#,
        model = gguf().display(),
        tokenizer = tokenizer.display(),
        train = train.display(),
        out = out.display(),
    );
    s.file(
        if lora.is_empty() {
            "full.toml"
        } else {
            "qlora.toml"
        },
        &text,
    )
}

/// The logits of one fixed 18-token row (ids below 96: any fixture model), flattened.
pub fn logits(model: &CausalLm) -> Vec<f64> {
    let ids = Tensor::<2, Int>::from_data(
        TensorData::new(
            vec![
                40i64, 50, 60, 70, 45, 55, 65, 75, 41, 51, 61, 71, 42, 52, 62, 72, 43, 53,
            ],
            [1, 18],
        ),
        &model.device(),
    );
    model
        .forward(ids, None)
        .unwrap()
        .try_into_vec_as::<f32>()
        .unwrap()
        .into_iter()
        .map(f64::from)
        .collect()
}

#[test]
fn dpo_trains_lora_adapters_on_a_quantized_gguf_base() {
    let s = Setup::new();
    let out = s.path("qlora");
    let cfg = config(&s, &out, true);
    prefopt(&[
        "dpo",
        "--config",
        cfg.to_str().unwrap(),
        "--no-progress",
        "--no-plots",
    ])
    .unwrap_or_else(|e| panic!("qlora dpo failed: {e:#}"));
    let losses: Vec<f64> = read_metrics(out.join("metrics.jsonl"))
        .unwrap()
        .iter()
        .filter_map(|r| r.get("loss"))
        .collect();
    assert_eq!(losses.len(), 6, "{losses:?}");
    // The reference is the same quantized base with the adapters off: margins 0 at step 1.
    assert!(
        (losses[0] - std::f64::consts::LN_2).abs() < 1e-6,
        "{losses:?}"
    );
    assert!(losses[5] < losses[0] - 0.02, "no learning: {losses:?}");

    // The adapter (PEFT layout, base = the .gguf file) on the base kept quantized and on the
    // base dequantized: the same model.
    assert!(out.join("adapter_config.json").is_file());
    let device = Device::flex();
    let quant = CausalLm::load_with(&out, &device, &LoadOptions::quantized()).unwrap();
    let dense = CausalLm::load(&out, &device).unwrap();
    assert!(quant.is_quantized() && !dense.is_quantized());
    let (q, d) = (logits(&quant), logits(&dense));
    let scale = d.iter().fold(0f64, |m, v| m.max(v.abs()));
    let worst = q
        .iter()
        .zip(&d)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    assert!(
        worst < 1e-5 * scale,
        "quantized vs f32 base: {worst:e} of {scale:e}"
    );
    let base = CausalLm::load(gguf(), &device).unwrap();
    assert_ne!(logits(&base), d, "training changed nothing");

    // Generation from the adapter with the base kept quantized.
    let prompts = s.file(
        "prompts.jsonl",
        "{\"prompt\": \"SKY IS\"}\n{\"prompt\": \"FIRE IS\"}\n",
    );
    let completions = s.path("completions.jsonl");
    prefopt(&[
        "generate",
        "--model",
        out.to_str().unwrap(),
        "--tokenizer",
        s.path("tokenizer").to_str().unwrap(),
        "--prompts",
        prompts.to_str().unwrap(),
        "--output",
        completions.to_str().unwrap(),
        "--max-new-tokens",
        "6",
        "--keep-quantized",
    ])
    .unwrap_or_else(|e| panic!("generate failed: {e:#}"));
    let lines = std::fs::read_to_string(&completions).unwrap();
    assert_eq!(lines.lines().count(), 2, "{lines}");
}

#[test]
fn keeping_a_base_quantized_without_adapters_is_refused() {
    let s = Setup::new();
    let cfg = config(&s, &s.path("full"), false);
    let err = prefopt(&[
        "dpo",
        "--config",
        cfg.to_str().unwrap(),
        "--no-progress",
        "--no-plots",
    ])
    .unwrap_err();
    let msg = format!("{err:#}");
    assert!(
        msg.contains("model.keep_quantized") && msg.contains("[lora]"),
        "{msg}"
    );
}
