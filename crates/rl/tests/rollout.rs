//! Rollouts: the shared-prefill decoder against `CausalLm::generate`.

use burn::prelude::*;
use prefopt_models::GenerationConfig;
use prefopt_rl::toy::{TOY_VOCAB, toy_model};
use prefopt_rl::{RolloutConfig, SamplingConfig, generate_rollouts};

fn prompts() -> Vec<Vec<u32>> {
    // Different lengths, so the shared prefill left-pads.
    vec![vec![5, 6, 7, 8, 9], vec![10, 11], vec![3, 20, 4]]
}

fn config(g: usize, max_len: usize, sampling: SamplingConfig) -> RolloutConfig {
    RolloutConfig {
        num_generations: g,
        max_completion_length: max_len,
        sampling,
    }
}

#[test]
fn greedy_shared_prefill_equals_independent_generations() {
    let device = Device::flex();
    let model = toy_model(32, 2, 3, &device).unwrap();
    let greedy = SamplingConfig {
        do_sample: false,
        ..Default::default()
    };
    let out = generate_rollouts(&model, &prompts(), &config(4, 7, greedy), 0).unwrap();
    assert_eq!(out.len(), 12);
    for (p, prompt) in prompts().iter().enumerate() {
        let single = model
            .generate(
                std::slice::from_ref(prompt),
                &GenerationConfig::new().with_max_new_tokens(7),
            )
            .unwrap();
        for g in 0..4 {
            let row = p * 4 + g;
            assert_eq!(
                out.completions[row], single.tokens[0],
                "prompt {p} sample {g}"
            );
            assert_eq!(out.truncated[row], !single.finished[0]);
            for (a, b) in out.sampling_logprobs[row].iter().zip(&single.logprobs[0]) {
                assert!((a - b).abs() < 1e-5, "{a} vs {b}");
            }
        }
    }
}

#[test]
fn sampled_shared_prefill_equals_generate_on_repeated_prompts_and_is_seeded() {
    let device = Device::flex();
    let model = toy_model(32, 2, 5, &device).unwrap();
    let shared = config(4, 8, SamplingConfig::default());
    let unshared = config(
        4,
        8,
        SamplingConfig {
            shared_prefill: false,
            ..Default::default()
        },
    );
    let a = generate_rollouts(&model, &prompts(), &shared, 42).unwrap();
    let b = generate_rollouts(&model, &prompts(), &unshared, 42).unwrap();
    assert_eq!(a.completions, b.completions);
    assert_eq!(a.truncated, b.truncated);
    for (x, y) in a
        .sampling_logprobs
        .iter()
        .flatten()
        .zip(b.sampling_logprobs.iter().flatten())
    {
        assert!((x - y).abs() < 1e-5, "{x} vs {y}");
    }
    // Reproducible with a seed, different with another; samples of a group differ.
    let again = generate_rollouts(&model, &prompts(), &shared, 42).unwrap();
    assert_eq!(a, again);
    let other = generate_rollouts(&model, &prompts(), &shared, 43).unwrap();
    assert_ne!(a.completions, other.completions);
    assert_ne!(a.completions[0], a.completions[1]);
    // Sampling log-probs are log-probabilities of a near-uniform random model.
    let mean_lp: f64 = a
        .sampling_logprobs
        .iter()
        .flatten()
        .map(|&x| f64::from(x))
        .sum::<f64>()
        / a.sampling_logprobs.iter().map(Vec::len).sum::<usize>() as f64;
    assert!((mean_lp + (TOY_VOCAB as f64).ln()).abs() < 0.1, "{mean_lp}");
}

#[test]
fn truncation_is_flagged() {
    let device = Device::flex();
    let model = toy_model(32, 1, 1, &device).unwrap();
    let never_stop = SamplingConfig {
        eos_token_ids: Some(vec![]),
        ..Default::default()
    };
    let out = generate_rollouts(&model, &prompts(), &config(2, 5, never_stop), 0).unwrap();
    assert!(out.truncated.iter().all(|&t| t));
    assert!(out.completions.iter().all(|c| c.len() == 5));
    assert_eq!(out.clipped_ratio(), 1.0);
    assert_eq!(out.mean_length(), 5.0);
    // Every token ends a completion: one token each, none truncated.
    let always_stop = SamplingConfig {
        eos_token_ids: Some((0..TOY_VOCAB as u32).collect()),
        ..Default::default()
    };
    let out = generate_rollouts(&model, &prompts(), &config(2, 5, always_stop), 0).unwrap();
    assert!(out.truncated.iter().all(|&t| !t));
    assert!(out.completions.iter().all(|c| c.len() == 1));
    assert_eq!(out.clipped_ratio(), 0.0);
}

#[test]
fn bad_inputs_are_errors() {
    let device = Device::flex();
    let model = toy_model(32, 1, 1, &device).unwrap();
    let c = config(2, 3, SamplingConfig::default());
    assert!(generate_rollouts(&model, &[vec![]], &c, 0).is_err());
    assert!(generate_rollouts(&model, &[vec![99]], &c, 0).is_err());
    let bad = config(0, 3, SamplingConfig::default());
    let err = generate_rollouts(&model, &prompts(), &bad, 0).unwrap_err();
    assert!(err.to_string().contains("num_generations"), "{err}");
}
