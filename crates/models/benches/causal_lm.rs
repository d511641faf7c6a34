//! Decode tokens/s and forward+backward tokens/s of the causal LM, against transformers on the
//! same CPU and the same tiny config, in one run.
//!
//! `cargo bench -p prefopt-models --bench causal_lm`
//!
//! The transformers side (`benches/causal_lm_transformers.py`) runs when a Python with torch
//! and transformers is found (`PREFOPT_PYTHON`, default `/work/venv/bin/python`); its numbers
//! and the ratios are printed after ours.
#![allow(clippy::print_stdout, missing_docs)]

use std::process::Command;
use std::time::Instant;

use burn::prelude::*;
use prefopt_models::{CausalLm, GenerationConfig, LlamaConfig};

/// Shared with the Python script (keep in sync).
const CONFIG: &str = r#"{"model_type":"llama","vocab_size":512,"hidden_size":128,
  "intermediate_size":352,"num_hidden_layers":4,"num_attention_heads":4,"num_key_value_heads":2,
  "rms_norm_eps":1e-5,"rope_theta":10000.0,"max_position_embeddings":1024,
  "tie_word_embeddings":false,"eos_token_id":2,"hidden_act":"silu"}"#;
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
    let prompts: Vec<Vec<u32>> = (0..DECODE_BATCH)
        .map(|r| {
            (0..DECODE_PROMPT)
                .map(|i| ((r * 31 + i * 7) % 500 + 3) as u32)
                .collect()
        })
        .collect();
    let cfg = GenerationConfig::new()
        .with_max_new_tokens(DECODE_NEW)
        .with_eos_token_ids(Some(vec![]));
    let _ = model.generate(&prompts, &cfg).unwrap();
    let times: Vec<f64> = (0..REPEATS)
        .map(|_| {
            let start = Instant::now();
            let out = model.generate(&prompts, &cfg).unwrap();
            assert_eq!(out.tokens[0].len(), DECODE_NEW);
            start.elapsed().as_secs_f64()
        })
        .collect();
    (DECODE_BATCH * DECODE_NEW) as f64 / median(times)
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
        let g = model.model.embed_tokens.weight.val().grad(&grads).unwrap();
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
    let config = LlamaConfig::from_hf_str(CONFIG, "<bench>").unwrap();
    let model = CausalLm::init_random(config.clone(), 0, &Device::flex()).unwrap();
    let decode = decode_tokens_per_s(&model);
    let train = train_tokens_per_s(config);
    println!("burn-flex decode_tokens_per_s {decode:.1}");
    println!("burn-flex fwd_bwd_tokens_per_s {train:.1}");

    let python = std::env::var("PREFOPT_PYTHON").unwrap_or_else(|_| "/work/venv/bin/python".into());
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/benches/causal_lm_transformers.py"
    );
    match Command::new(&python).arg(script).output() {
        Ok(out) if out.status.success() => {
            let text = String::from_utf8_lossy(&out.stdout);
            print!("{text}");
            let value = |key: &str| {
                text.lines()
                    .find(|l| l.contains(key))
                    .and_then(|l| l.split_whitespace().last())
                    .and_then(|v| v.parse::<f64>().ok())
            };
            if let (Some(pd), Some(pt)) =
                (value("decode_tokens_per_s"), value("fwd_bwd_tokens_per_s"))
            {
                println!("ratio decode burn/transformers {:.2}", decode / pd);
                println!("ratio fwd_bwd burn/transformers {:.2}", train / pt);
            }
        }
        Ok(out) => println!(
            "transformers side failed: {}",
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .unwrap_or("")
        ),
        Err(e) => println!("transformers side skipped ({python}: {e})"),
    }
}
