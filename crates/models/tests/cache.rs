//! The KV-cached decode against the uncached forward, and generation bookkeeping.

use prefopt_models::{CausalLm, GenerationConfig};

use crate::fixtures::{device, dir, int_tensor, max_abs_diff, reference, to_vec};

/// Cached decode must reproduce the full forward to 1e-5 (issue 3).
const CACHE_TOL: f32 = 1e-5;

fn logits_row(model: &CausalLm, tokens: &[i64]) -> Vec<f32> {
    to_vec(
        model
            .forward(int_tensor(tokens.to_vec(), 1, tokens.len()), None)
            .unwrap(),
    )
}

#[test]
fn cached_decode_equals_uncached_forward() {
    for name in ["llama3", "qwen2", "mistral", "smollm"] {
        let model = CausalLm::load_hf(dir(name), &device()).unwrap();
        let vocab = model.config().vocab_size;
        let r = reference(name);
        let seq: Vec<i64> = r["input_ids"].ints()[..12].to_vec();
        let full = logits_row(&model, &seq);
        let mut cache = model.new_cache();
        // Prefill 5 tokens, then one token at a time.
        let pre = to_vec(
            model
                .forward_cached(int_tensor(seq[..5].to_vec(), 1, 5), None, &mut cache)
                .unwrap(),
        );
        let mut worst = max_abs_diff(&pre, &full[..5 * vocab]);
        for (i, &tok) in seq.iter().enumerate().skip(5) {
            let step = to_vec(
                model
                    .forward_cached(int_tensor(vec![tok], 1, 1), None, &mut cache)
                    .unwrap(),
            );
            worst = worst.max(max_abs_diff(&step, &full[i * vocab..(i + 1) * vocab]));
        }
        assert_eq!(cache.len(), 12);
        assert!(
            worst <= CACHE_TOL,
            "{name}: cached vs full max |diff| {worst}"
        );
    }
}

#[test]
fn cached_decode_with_left_padding_equals_unpadded_rows() {
    let model = CausalLm::load_hf(dir("llama3"), &device()).unwrap();
    let vocab = model.config().vocab_size;
    let a: Vec<i64> = vec![5, 9, 17, 33, 40, 41];
    let b: Vec<i64> = vec![7, 8, 9];
    let mut cache = model.new_cache();
    let ids = vec![5, 9, 17, 33, 40, 41, 0, 0, 0, 7, 8, 9];
    let mask = vec![1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 1, 1];
    let pre = to_vec(
        model
            .forward_cached(
                int_tensor(ids, 2, 6),
                Some(int_tensor(mask, 2, 6)),
                &mut cache,
            )
            .unwrap(),
    );
    let fa = logits_row(&model, &a);
    let fb = logits_row(&model, &b);
    let mut worst = max_abs_diff(&pre[5 * vocab..6 * vocab], &fa[5 * vocab..]);
    worst = worst.max(max_abs_diff(
        &pre[(6 + 5) * vocab..12 * vocab],
        &fb[2 * vocab..],
    ));
    // Two decode steps.
    let (mut a2, mut b2) = (a.clone(), b.clone());
    for (ta, tb) in [(50i64, 60i64), (51, 61)] {
        a2.push(ta);
        b2.push(tb);
        let step = to_vec(
            model
                .forward_cached(int_tensor(vec![ta, tb], 2, 1), None, &mut cache)
                .unwrap(),
        );
        let fa = logits_row(&model, &a2);
        let fb = logits_row(&model, &b2);
        worst = worst.max(max_abs_diff(&step[..vocab], &fa[(a2.len() - 1) * vocab..]));
        worst = worst.max(max_abs_diff(&step[vocab..], &fb[(b2.len() - 1) * vocab..]));
    }
    assert!(worst <= CACHE_TOL, "max |diff| {worst}");
}

#[test]
fn sampling_is_seeded_and_logprobs_match_a_forward() {
    let model = CausalLm::load_hf(dir("qwen2"), &device()).unwrap();
    let prompts = vec![vec![5u32, 6, 7], vec![9, 10, 11, 12, 13]];
    let cfg = GenerationConfig::new()
        .with_max_new_tokens(12)
        .with_do_sample(true)
        .with_top_k(40)
        .with_seed(7);
    let a = model.generate(&prompts, &cfg).unwrap();
    let b = model.generate(&prompts, &cfg).unwrap();
    assert_eq!(a, b, "same seed, same output");
    let c = model.generate(&prompts, &cfg.clone().with_seed(8)).unwrap();
    assert_ne!(a.tokens, c.tokens, "another seed should sample differently");
    // Temperature 1: the returned log-probs are log_softmax(logits) at the sampled tokens.
    for (row, prompt) in prompts.iter().enumerate() {
        let mut seq: Vec<i64> = prompt.iter().map(|&t| t as i64).collect();
        let p = seq.len();
        seq.extend(a.tokens[row].iter().map(|&t| t as i64));
        let n = seq.len();
        let comp: Vec<i64> = (0..n).map(|i| i64::from(i >= p)).collect();
        let lp = model
            .completion_logprobs(
                int_tensor(seq, 1, n),
                int_tensor(vec![1; n], 1, n),
                int_tensor(comp, 1, n),
            )
            .unwrap();
        let per = to_vec(lp.per_token);
        let diff = max_abs_diff(&per[p - 1..], &a.logprobs[row]);
        assert!(
            diff <= 1e-5,
            "row {row}: sampling logprobs vs forward {diff}"
        );
    }
}

#[test]
fn stops_on_eos_and_reports_finished() {
    let model = CausalLm::load_hf(dir("llama3"), &device()).unwrap();
    let r = reference("llama3");
    let prompt = r["greedy_prompt"].row_u32(0);
    let greedy = r["greedy_tokens"].row_u32(0);
    // Declare the 4th greedy token an EOS: generation must stop right there.
    let cfg = GenerationConfig::new()
        .with_max_new_tokens(32)
        .with_eos_token_ids(Some(vec![greedy[3]]));
    let out = model.generate(&[prompt.clone(), prompt], &cfg).unwrap();
    for row in 0..2 {
        assert_eq!(out.tokens[row], greedy[..4].to_vec());
        assert!(out.finished[row]);
        assert_eq!(out.logprobs[row].len(), 4);
        assert!(out.logprobs[row].iter().all(|&l| l <= 0.0));
    }
    let none = model
        .generate(
            &[vec![3]],
            &GenerationConfig::new()
                .with_max_new_tokens(3)
                .with_eos_token_ids(Some(vec![])),
        )
        .unwrap();
    assert_eq!(none.tokens[0].len(), 3);
    assert!(!none.finished[0]);
}
