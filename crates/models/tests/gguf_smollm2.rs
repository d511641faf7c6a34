//! The real SmolLM2-135M-Instruct GGUF (Q4_1 + Q8_0 + F32) against transformers on the same file
//! and on the checkpoint `prefopt convert` writes (`fixtures/gguf/reference_smollm2.py`).
//!
//! Needs the model: `cargo xtask fetch-models` puts it in `PREFOPT_MODELS_DIR` (default
//! `~/.cache/prefopt/models`). Without it the test prints that it is skipped and how to fetch it.

use std::collections::HashMap;
use std::path::PathBuf;

use burn::prelude::*;
use prefopt_models::{CausalLm, GenerationConfig};

use crate::fixtures::{RefTensor, device, reference};

const MODEL_FILE: &str = "SmolLM2-135M-Instruct.Q4_1.gguf";
/// The bound on logits (max absolute difference).
const LOGITS_TOL: f64 = 1e-3;

/// The fetched model, or `None` after saying how to fetch it.
fn model_path() -> Option<PathBuf> {
    prefopt_testkit::fetched_model(MODEL_FILE, "the SmolLM2 GGUF parity test")
}

/// Max |Δ| over the sampled logits and the log-sum-exps, and the argmax agreement, of `model`
/// against the references under `prefix`.
#[allow(clippy::print_stderr)] // the measured differences are the test's record
fn check_logits(model: &CausalLm, refs: &HashMap<String, RefTensor>, prefix: &str) {
    let sample: Vec<usize> = refs["vocab_sample"]
        .ints()
        .into_iter()
        .map(|x| x as usize)
        .collect();
    let vocab = model.config().vocab_size;
    for p in 0..4 {
        let ids = refs[&format!("{prefix}prompt{p}.input_ids")].ints();
        let t = ids.len();
        assert!(t >= 64, "prompt {p} has {t} tokens");
        let input = Tensor::<2, Int>::from_data(TensorData::new(ids, [1, t]), &device());
        let logits: Vec<f32> = model
            .forward(input, None)
            .unwrap()
            .try_into_vec_as::<f32>()
            .unwrap();
        let want_sample = &refs[&format!("{prefix}prompt{p}.logits_sample")].values;
        let want_lse = &refs[&format!("{prefix}prompt{p}.logsumexp")].values;
        let want_argmax = refs[&format!("{prefix}prompt{p}.argmax")].ints();
        let (mut max_sample, mut max_lse) = (0f64, 0f64);
        for pos in 0..t {
            let row = &logits[pos * vocab..(pos + 1) * vocab];
            for (j, &v) in sample.iter().enumerate() {
                let d = (f64::from(row[v]) - want_sample[pos * sample.len() + j]).abs();
                max_sample = max_sample.max(d);
            }
            let m = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let lse = f64::from(m)
                + row
                    .iter()
                    .map(|&x| (f64::from(x) - f64::from(m)).exp())
                    .sum::<f64>()
                    .ln();
            max_lse = max_lse.max((lse - want_lse[pos]).abs());
            let ours = row
                .iter()
                .enumerate()
                .fold(
                    (0, f32::NEG_INFINITY),
                    |b, (i, &x)| if x > b.1 { (i, x) } else { b },
                );
            let theirs = want_argmax[pos] as usize;
            assert!(
                ours.0 == theirs || f64::from(row[ours.0] - row[theirs]).abs() <= LOGITS_TOL,
                "{prefix}prompt{p} position {pos}: argmax {} vs transformers' {theirs}",
                ours.0
            );
        }
        eprintln!(
            "{prefix}prompt{p} ({t} tokens): max |Δ logit| {max_sample:.3e} over {} sampled ids, \
             max |Δ logsumexp| {max_lse:.3e}",
            sample.len()
        );
        assert!(max_sample <= LOGITS_TOL, "{prefix}prompt{p}: {max_sample}");
        assert!(max_lse <= LOGITS_TOL, "{prefix}prompt{p}: {max_lse}");
    }
}

fn check_greedy(model: &CausalLm, refs: &HashMap<String, RefTensor>, prefix: &str) {
    let config = GenerationConfig::new().with_max_new_tokens(40);
    for c in 0..8 {
        let prompt: Vec<u32> = refs[&format!("{prefix}chat{c}.prompt_ids")]
            .ints()
            .into_iter()
            .map(|x| x as u32)
            .collect();
        let want: Vec<u32> = refs[&format!("{prefix}chat{c}.greedy_ids")]
            .ints()
            .into_iter()
            .map(|x| x as u32)
            .collect();
        let out = model.generate(&[prompt], &config).unwrap();
        assert_eq!(out.tokens[0], want, "{prefix}chat{c}: greedy completion");
    }
}

#[test]
fn smollm2_gguf_and_its_conversion_match_transformers() {
    let Some(path) = model_path() else { return };
    let refs = reference("gguf/smollm2");
    let model = CausalLm::load_gguf(&path, &device()).unwrap();
    let c = model.config();
    assert_eq!(
        (
            c.num_hidden_layers,
            c.hidden_size,
            c.num_attention_heads,
            c.num_key_value_heads
        ),
        (30, 576, 9, 3)
    );
    assert_eq!((c.vocab_size, c.tie_word_embeddings), (49_152, true));
    check_logits(&model, &refs, "gguf.");
    check_greedy(&model, &refs, "gguf.");

    // The checkpoint `prefopt convert` writes (the same HF writer), read back.
    let dir = tempfile::tempdir().unwrap();
    model.save_hf(dir.path()).unwrap();
    drop(model);
    let converted = CausalLm::load_hf(dir.path(), &device()).unwrap();
    check_logits(&converted, &refs, "converted.");
    check_greedy(&converted, &refs, "converted.");
}
