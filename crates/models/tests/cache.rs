//! The KV-cached decode against the uncached forward, and generation bookkeeping.

use prefopt_core::SplitMix64;
use prefopt_models::{
    BatchSeeds, BatchedGenerationConfig, CausalLm, GenerationConfig, SamplingParams, select_token,
};

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

/// Two prompts of different lengths (6 and 3 tokens).
fn padded_prompts() -> [Vec<i64>; 2] {
    [vec![5, 9, 17, 33, 40, 41], vec![7, 8, 9]]
}

/// Prefills [`padded_prompts`] as one left-padded `[2, 6]` batch: the cache and the logits
/// `[2, 6, vocab]` (row-major).
fn prefill_padded(model: &CausalLm) -> (prefopt_models::KvCache, Vec<f32>) {
    let [a, b] = padded_prompts();
    let mut ids = a.clone();
    let mut mask = vec![1; a.len()];
    ids.extend(std::iter::repeat_n(0, a.len() - b.len()).chain(b.iter().copied()));
    mask.extend((0..a.len()).map(|i| i64::from(i >= a.len() - b.len())));
    let mut cache = model.new_cache();
    let logits = model
        .forward_cached(
            int_tensor(ids, 2, a.len()),
            Some(int_tensor(mask, 2, a.len())),
            &mut cache,
        )
        .unwrap();
    (cache, to_vec(logits))
}

#[test]
fn cached_decode_with_left_padding_equals_unpadded_rows() {
    let model = CausalLm::load_hf(dir("llama3"), &device()).unwrap();
    let vocab = model.config().vocab_size;
    let [a, b] = padded_prompts();
    let (mut cache, pre) = prefill_padded(&model);
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

/// Greedy decode of `b` rows from a prefilled cache: `steps` argmax tokens per row and the
/// logits each step saw.
fn greedy_from_cache(
    model: &CausalLm,
    cache: &mut prefopt_models::KvCache,
    first_logits: Vec<f32>,
    b: usize,
    steps: usize,
) -> (Vec<Vec<u32>>, Vec<Vec<f32>>) {
    let vocab = model.config().vocab_size;
    let mut logits = first_logits;
    let mut tokens = vec![Vec::new(); b];
    let mut seen_logits = vec![Vec::new(); b];
    for step in 0..steps {
        let mut next = Vec::with_capacity(b);
        for row in 0..b {
            let row_logits = &logits[row * vocab..(row + 1) * vocab];
            let (tok, _) = select_token(
                row_logits,
                &[],
                &SamplingParams::default(),
                &mut SplitMix64::new(0),
            );
            tokens[row].push(tok);
            seen_logits[row].extend_from_slice(row_logits);
            next.push(i64::from(tok));
        }
        if step + 1 < steps {
            logits = to_vec(
                model
                    .forward_cached(int_tensor(next, b, 1), None, cache)
                    .unwrap(),
            );
        }
    }
    (tokens, seen_logits)
}

#[test]
fn repeated_prefill_cache_decodes_like_each_prompt_alone() {
    let model = CausalLm::load_hf(dir("llama3"), &device()).unwrap();
    let vocab = model.config().vocab_size;
    let prompts = padded_prompts();
    // Prefill both prompts once, left-padded, then repeat each row 3 times.
    let (cache, pre) = prefill_padded(&model);
    let mut repeated = cache.repeat_interleave(3);
    drop(cache);
    assert_eq!(repeated.batch_size(), 6);
    assert_eq!(repeated.len(), 6);
    let last: Vec<f32> = (0..6)
        .flat_map(|row| {
            let p = row / 3;
            pre[(p * 6 + 5) * vocab..(p * 6 + 6) * vocab].to_vec()
        })
        .collect();
    let (tokens, logits) = greedy_from_cache(&model, &mut repeated, last, 6, 5);
    for (p, prompt) in prompts.iter().enumerate() {
        let mut alone = model.new_cache();
        let n = prompt.len();
        let pre = to_vec(
            model
                .forward_cached(int_tensor(prompt.clone(), 1, n), None, &mut alone)
                .unwrap(),
        );
        let (want, want_logits) =
            greedy_from_cache(&model, &mut alone, pre[(n - 1) * vocab..].to_vec(), 1, 5);
        for row in p * 3..p * 3 + 3 {
            assert_eq!(tokens[row], want[0], "prompt {p}, row {row}");
            let diff = max_abs_diff(&logits[row], &want_logits[0]);
            assert!(
                diff <= CACHE_TOL,
                "prompt {p}, row {row}: max |diff| {diff}"
            );
        }
    }
    assert_ne!(
        tokens[0], tokens[3],
        "the two prompts should continue differently"
    );
}

#[test]
fn generate_repeated_equals_generate_on_interleaved_prompts() {
    let model = CausalLm::load_hf(dir("qwen2"), &device()).unwrap();
    let prompts = vec![vec![5u32, 6, 7], vec![9, 10, 11, 12, 13]];
    let cfg = GenerationConfig::new()
        .with_max_new_tokens(10)
        .with_do_sample(true)
        .with_top_k(40)
        .with_repetition_penalty(1.3)
        .with_seed(11);
    let shared = model.generate_repeated(&prompts, 3, &cfg).unwrap();
    let interleaved: Vec<Vec<u32>> = prompts
        .iter()
        .flat_map(|p| std::iter::repeat_n(p.clone(), 3))
        .collect();
    let full = model.generate(&interleaved, &cfg).unwrap();
    assert_eq!(shared.tokens, full.tokens);
    assert_eq!(shared.finished, full.finished);
    for (a, b) in shared.logprobs.iter().zip(&full.logprobs) {
        let diff = max_abs_diff(a, b);
        assert!(diff <= CACHE_TOL, "logprobs max |diff| {diff}");
    }
    assert_ne!(
        shared.tokens[0], shared.tokens[1],
        "samples of a prompt should differ"
    );
    assert!(model.generate_repeated(&prompts, 0, &cfg).is_err());
}

#[test]
fn generate_batched_is_generate_per_batch_with_derived_seeds() {
    let model = CausalLm::load_hf(dir("qwen2"), &device()).unwrap();
    let prompts = vec![
        vec![5u32, 6, 7],
        vec![9, 10, 11, 12, 13],
        vec![5, 6, 7],
        vec![14],
        vec![20, 21],
    ];
    let generation = GenerationConfig::new()
        .with_max_new_tokens(6)
        .with_do_sample(true)
        .with_top_k(40)
        .with_seed(3);
    for seeds in [BatchSeeds::Offset, BatchSeeds::Drawn] {
        let config = BatchedGenerationConfig::new(generation.clone())
            .with_batch_size(2)
            .with_seeds(seeds);
        let batched = model.generate_batched(&prompts, &config).unwrap();
        assert_eq!(batched.tokens.len(), prompts.len());
        let mut want = Vec::new();
        for (chunk, seed) in prompts.chunks(2).zip(seeds.stream(3)) {
            let out = model
                .generate(chunk, &generation.clone().with_seed(seed))
                .unwrap();
            want.extend(out.tokens.into_iter().zip(out.finished));
        }
        let got: Vec<_> = batched
            .tokens
            .iter()
            .cloned()
            .zip(batched.finished.iter().copied())
            .collect();
        assert_eq!(got, want, "{seeds:?}");
        assert_eq!(model.generate_batched(&prompts, &config).unwrap(), batched);
    }
    // The two schedules seed batch 1 differently, so its samples differ.
    let run = |seeds| {
        let config = BatchedGenerationConfig::new(generation.clone())
            .with_batch_size(2)
            .with_seeds(seeds);
        model.generate_batched(&prompts, &config).unwrap().tokens
    };
    assert_ne!(run(BatchSeeds::Offset)[2..4], run(BatchSeeds::Drawn)[2..4]);
    let zero = BatchedGenerationConfig::new(generation).with_batch_size(0);
    assert!(model.generate_batched(&prompts, &zero).is_err());
}
