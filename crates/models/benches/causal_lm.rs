//! Decode tokens/s and forward+backward tokens/s of the causal LM, against transformers on the
//! same CPU and the same tiny config, in one run.
//!
//! `cargo bench -p prefopt-models --bench causal_lm [-- --config smollm2-135m]`
//!
//! `--config smollm2-135m`: SmolLM2-135M-Instruct's shape (random weights: speed does not
//! depend on their values, and EOS is disabled on both sides), greedy decode of 128 new tokens
//! at batch 1 and batch 8 after a 16-token prompt, and each side's peak RSS; no training step
//! (`cargo xtask bench-dpo` measures that one at this size).
//!
//! `--gguf FILE` (issue 20): a real GGUF model, greedy decode of 128 new tokens at batch 1 and
//! batch 8 after a 16-token prompt, EOS disabled, by four sides each in its own process (so
//! each peak RSS is its own): prefopt with the weights kept quantized
//! (`LoadOptions::keep_quantized`), prefopt dequantized to f32, llama.cpp on the same file
//! (`llama-cpp-python`'s low-level batch API, one sequence per batch row) and transformers
//! (`from_pretrained(gguf_file=...)`, dequantized to f32) — `benches/gguf_decode_peers.py`.
//! `--reps N` runs N rounds of the four, alternating, and reports each side's median.
//!
//! The transformers side (`benches/causal_lm_transformers.py`) runs when a Python with torch
//! and transformers is found (`PREFOPT_PYTHON`, default `/work/venv/bin/python`); its numbers
//! and the ratios are printed after ours.
#![allow(clippy::print_stdout, missing_docs)]

use std::process::Command;
use std::time::Instant;

use burn::prelude::*;
use prefopt_models::{CausalLm, GenerationConfig, LlamaConfig, LoadOptions};

/// Shared with the Python script (keep in sync).
const CONFIG: &str = r#"{"model_type":"llama","vocab_size":512,"hidden_size":128,
  "intermediate_size":352,"num_hidden_layers":4,"num_attention_heads":4,"num_key_value_heads":2,
  "rms_norm_eps":1e-5,"rope_theta":10000.0,"max_position_embeddings":1024,
  "tie_word_embeddings":false,"eos_token_id":2,"hidden_act":"silu"}"#;
/// SmolLM2-135M-Instruct's config.json (shared with the Python script).
const SMOLLM2_CONFIG: &str = r#"{"model_type":"llama","vocab_size":49152,"hidden_size":576,
  "intermediate_size":1536,"num_hidden_layers":30,"num_attention_heads":9,
  "num_key_value_heads":3,"rms_norm_eps":1e-5,"rope_theta":100000.0,
  "max_position_embeddings":8192,"tie_word_embeddings":true,"eos_token_id":2,
  "hidden_act":"silu"}"#;
const SMOLLM2_NEW: usize = 128;
const SMOLLM2_REPEATS: usize = 3;
const DECODE_BATCH: usize = 4;
const DECODE_PROMPT: usize = 16;
const DECODE_NEW: usize = 64;
const TRAIN_BATCH: usize = 8;
const TRAIN_SEQ: usize = 128;
const REPEATS: usize = 5;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn decode_tokens_per_s(model: &CausalLm) -> f64 {
    decode_rate(model, DECODE_BATCH, DECODE_NEW, REPEATS)
}

/// The GGUF comparison's sides (see the module docs): ours run as this binary with
/// `--side`, the peers as `gguf_decode_peers.py --side`.
const GGUF_SIDES: [(&str, bool); 4] = [
    ("prefopt-quantized", false),
    ("prefopt-f32", false),
    ("llama.cpp", true),
    ("transformers", true),
];

/// One of our sides of the GGUF comparison, in this process: loads, decodes, prints.
fn gguf_side(path: &str, side: &str) {
    let options = LoadOptions {
        keep_quantized: side == "prefopt-quantized",
    };
    let model = CausalLm::load_with(path, &Device::flex(), &options).unwrap();
    report_smollm2_decode(side, &model);
}

/// Decode tokens/s at batch 1 and 8 (128 new tokens) and the process's peak RSS, printed as
/// `<label> <metric> <value>` lines; returns the two rates.
fn report_smollm2_decode(label: &str, model: &CausalLm) -> (f64, f64) {
    let b1 = decode_rate(model, 1, SMOLLM2_NEW, SMOLLM2_REPEATS);
    let b8 = decode_rate(model, 8, SMOLLM2_NEW, SMOLLM2_REPEATS);
    println!("{label} decode_b1_tokens_per_s {b1:.1}");
    println!("{label} decode_b8_tokens_per_s {b8:.1}");
    if let Some(m) = prefopt_core::peak_memory::peak_rss_mib() {
        println!("{label} peak_rss_mib {m:.0}");
    }
    (b1, b8)
}

/// The GGUF comparison: every side in its own process, `reps` rounds alternating the sides (the
/// VM's speed drifts over minutes), then each side's median over the rounds and the ratios of
/// medians to llama.cpp and transformers.
fn gguf(python: &str, path: &str, reps: usize) {
    let peers = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/gguf_decode_peers.py");
    let exe = std::env::current_exe().unwrap();
    let exe = exe.to_str().unwrap();
    let keys = [
        "decode_b1_tokens_per_s",
        "decode_b8_tokens_per_s",
        "peak_rss_mib",
    ];
    let mut values = vec![vec![Vec::new(); keys.len()]; GGUF_SIDES.len()];
    for rep in 0..reps {
        println!("round {}/{reps}:", rep + 1);
        for (i, (side, peer)) in GGUF_SIDES.into_iter().enumerate() {
            let (program, args): (&str, Vec<&str>) = if peer {
                (python, vec![peers, "--model", path, "--side", side])
            } else {
                (exe, vec!["--gguf", path, "--side", side])
            };
            let text = run_side(program, &args).unwrap_or_default();
            for (k, key) in keys.iter().enumerate() {
                if let Some(v) = metric(&text, &format!("{side} {key}")) {
                    values[i][k].push(v);
                }
            }
        }
    }
    let med = |v: &[f64]| (!v.is_empty()).then(|| median(v.to_vec()));
    for (i, (side, _)) in GGUF_SIDES.into_iter().enumerate() {
        for (k, key) in keys.iter().enumerate() {
            if let Some(m) = med(&values[i][k]) {
                println!("median {side} {key} {m:.1} of {:?}", values[i][k]);
            }
        }
    }
    for (k, key) in keys.iter().enumerate().take(2) {
        for (j, (peer, _)) in GGUF_SIDES.into_iter().enumerate().skip(1) {
            if let (Some(a), Some(b)) = (med(&values[0][k]), med(&values[j][k])) {
                println!("ratio {key} prefopt-quantized/{peer} {:.2}", a / b);
            }
        }
    }
}

/// Median tokens/s of greedy `generate` over `repeats` runs after one warm-up.
fn decode_rate(model: &CausalLm, batch: usize, new_tokens: usize, repeats: usize) -> f64 {
    let prompts: Vec<Vec<u32>> = (0..batch)
        .map(|r| {
            (0..DECODE_PROMPT)
                .map(|i| ((r * 31 + i * 7) % 500 + 3) as u32)
                .collect()
        })
        .collect();
    let cfg = GenerationConfig::new()
        .with_max_new_tokens(new_tokens)
        .with_eos_token_ids(Some(vec![]));
    let _ = model.generate(&prompts, &cfg).unwrap();
    let times: Vec<f64> = (0..repeats)
        .map(|_| {
            let start = Instant::now();
            let out = model.generate(&prompts, &cfg).unwrap();
            assert_eq!(out.tokens[0].len(), new_tokens);
            start.elapsed().as_secs_f64()
        })
        .collect();
    (batch * new_tokens) as f64 / median(times)
}

/// The SmolLM2-135M decode comparison (see the module docs).
fn smollm2(python: &str, script: &str) {
    let config = LlamaConfig::from_hf_str(SMOLLM2_CONFIG, "<bench>").unwrap();
    let model = CausalLm::init_random(config, 0, &Device::flex()).unwrap();
    let (b1, b8) = report_smollm2_decode("burn-flex", &model);
    if let Some(text) = run_side(python, &[script, "--config", "smollm2-135m"]) {
        for (key, ours) in [
            ("decode_b1_tokens_per_s", b1),
            ("decode_b8_tokens_per_s", b8),
        ] {
            if let Some(theirs) = metric(&text, key) {
                println!("ratio {key} burn/transformers {:.2}", ours / theirs);
            }
        }
    }
}

/// Runs a side in its own process (the transformers script, a peer, or this binary), echoes
/// its output and returns it (`None`, with the reason printed, when it failed or is not
/// installed).
fn run_side(program: &str, args: &[&str]) -> Option<String> {
    match Command::new(program).args(args).output() {
        Ok(out) if out.status.success() => {
            let text = String::from_utf8_lossy(&out.stdout).into_owned();
            print!("{text}");
            Some(text)
        }
        Ok(out) => {
            println!(
                "side failed ({program} {}): {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr)
                    .lines()
                    .last()
                    .unwrap_or("")
            );
            None
        }
        Err(e) => {
            println!("side skipped ({program}: {e})");
            None
        }
    }
}

/// The value on the first line that contains `key`.
fn metric(text: &str, key: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.contains(key))
        .and_then(|l| l.split_whitespace().last())
        .and_then(|v| v.parse::<f64>().ok())
}

fn train_tokens_per_s(config: LlamaConfig) -> f64 {
    let device = Device::flex().autodiff();
    let model = CausalLm::init_random(config, 1, &device).unwrap();
    let (b, t) = (TRAIN_BATCH, TRAIN_SEQ);
    let ids: Vec<i64> = (0..b * t).map(|i| ((i * 13) % 500 + 3) as i64).collect();
    // Second half of every row is the completion (as in a DPO batch).
    let comp: Vec<i64> = (0..b * t).map(|i| i64::from(i % t >= t / 2)).collect();
    let step = || {
        let ids = Tensor::<2, Int>::from_data(TensorData::new(ids.clone(), [b, t]), &device);
        let attn = Tensor::<2, Int>::ones([b, t], &device);
        let comp = Tensor::<2, Int>::from_data(TensorData::new(comp.clone(), [b, t]), &device);
        let out = model.completion_logprobs(ids, attn, comp).unwrap();
        let grads = out.summed.mean().backward();
        let g = model
            .model
            .embed_tokens
            .dense()
            .unwrap()
            .weight
            .val()
            .grad(&grads)
            .unwrap();
        let _ = g.into_data();
    };
    step();
    let times: Vec<f64> = (0..REPEATS)
        .map(|_| {
            let start = Instant::now();
            step();
            start.elapsed().as_secs_f64()
        })
        .collect();
    (b * t) as f64 / median(times)
}

fn main() {
    let python = std::env::var("PREFOPT_PYTHON").unwrap_or_else(|_| "/work/venv/bin/python".into());
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/benches/causal_lm_transformers.py"
    );
    let args: Vec<String> = std::env::args().collect();
    let value = |flag: &str| args.windows(2).find(|w| w[0] == flag).map(|w| w[1].clone());
    if let Some(path) = value("--gguf") {
        match value("--side") {
            Some(side) => gguf_side(&path, &side),
            None => gguf(
                &python,
                &path,
                value("--reps").and_then(|r| r.parse().ok()).unwrap_or(1),
            ),
        }
        return;
    }
    if args
        .windows(2)
        .any(|w| w[0] == "--config" && w[1] == "smollm2-135m")
    {
        smollm2(&python, script);
        return;
    }
    let config = LlamaConfig::from_hf_str(CONFIG, "<bench>").unwrap();
    let model = CausalLm::init_random(config.clone(), 0, &Device::flex()).unwrap();
    let decode = decode_tokens_per_s(&model);
    let train = train_tokens_per_s(config);
    println!("burn-flex decode_tokens_per_s {decode:.1}");
    println!("burn-flex fwd_bwd_tokens_per_s {train:.1}");

    if let Some(text) = run_side(&python, &[script])
        && let (Some(pd), Some(pt)) = (
            metric(&text, "decode_tokens_per_s"),
            metric(&text, "fwd_bwd_tokens_per_s"),
        )
    {
        println!("ratio decode burn/transformers {:.2}", decode / pd);
        println!("ratio fwd_bwd burn/transformers {:.2}", train / pt);
    }
}
