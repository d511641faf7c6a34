//! Rollout throughput: G = 8 completions per prompt with the shared prompt prefill versus
//! `CausalLm::generate` over the prompt repeated G times (prompt 64 tokens, 32 new tokens, no
//! EOS, toy Llama: vocab 32, hidden 64, 2 layers; and hidden 256, 4 layers).
//!
//! `cargo bench -p prefopt-rl --bench rollout`

use std::time::Instant;

use burn::prelude::*;
use prefopt_rl::toy::{toy_model, toy_prompts_of_length};
use prefopt_rl::{RolloutConfig, SamplingConfig, generate_rollouts};

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

#[allow(clippy::print_stdout)]
fn main() -> anyhow::Result<()> {
    let device = Device::flex();
    let g = 8;
    println!(
        "model            prompts  G  prompt  new  shared prefill    repeated prompts  speed-up"
    );
    for (hidden, layers) in [(64, 2), (256, 4)] {
        let model = toy_model(hidden, layers, 0, &device)?;
        for num_prompts in [1, 4] {
            let prompts = toy_prompts_of_length(num_prompts, 64, 64, 3);
            let mut rates = Vec::new();
            for shared in [true, false] {
                let config = RolloutConfig {
                    num_generations: g,
                    max_completion_length: 32,
                    sampling: SamplingConfig {
                        shared_prefill: shared,
                        eos_token_ids: Some(vec![]),
                        ..Default::default()
                    },
                };
                generate_rollouts(&model, &prompts, &config, 0)?; // warm-up
                let mut times = Vec::new();
                for rep in 0..7 {
                    let start = Instant::now();
                    let out = generate_rollouts(&model, &prompts, &config, rep)?;
                    assert_eq!(out.len(), num_prompts * g);
                    times.push(start.elapsed().as_secs_f64());
                }
                rates.push((num_prompts * g) as f64 / median(times));
            }
            println!(
                "h{hidden:<4} L{layers:<8} {num_prompts:>7} {g:>2} {:>7} {:>4}  {:>9.1} compl/s  {:>9.1} compl/s  {:>6.2}x",
                64,
                32,
                rates[0],
                rates[1],
                rates[0] / rates[1]
            );
        }
    }
    Ok(())
}
