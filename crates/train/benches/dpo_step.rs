//! DPO training step on the CPU, the same work as `shared/peer/dpo_torch.py` (PyTorch eager).
//!
//! A random-init Llama (vocab 2048, hidden 256, intermediate 688, 4 layers, 4 heads), one fixed
//! synthetic batch of 8 preference pairs of 64 prompt + 64 completion tokens (the last
//! completion token is EOS), reference log-probs precomputed once with the initial weights,
//! chosen and rejected rows in one forward of 16 sequences, sigmoid DPO loss (β 0.1), our
//! PyTorch-exact AdamW (lr 1e-4, weight decay 0), no clipping. `--warmup` untimed steps, then
//! `--steps` timed steps (forward, backward, optimizer step, reading the loss), and one JSON line
//! with the same fields as the peer script prints.
//!
//! Run: `cargo bench -p prefopt-train --bench dpo_step -- [--steps N] [--warmup N]
//! [--hidden H --intermediate I --layers L --heads A --kv-heads K --batch B --prompt-len P
//! --completion-len C --vocab V] [--default-malloc]`. `cargo xtask bench-dpo` runs it beside the
//! peer. Like the `prefopt` binary, it first calls
//! `prefopt_core::allocator::retain_freed_memory`; `--default-malloc` leaves glibc's defaults,
//! for measuring what that call changes.

#![allow(clippy::print_stdout)] // a benchmark reports on stdout

use std::time::Instant;

use burn::prelude::*;
use burn::tensor::{Distribution, Int};
use prefopt_models::{CausalLm, LlamaConfig};
use prefopt_objectives::dpo::{DpoConfig, DpoInputs};
use prefopt_train::AdamWConfig;

struct Args {
    vocab: usize,
    hidden: usize,
    intermediate: usize,
    layers: usize,
    heads: usize,
    kv_heads: usize,
    batch: usize,
    prompt_len: usize,
    completion_len: usize,
    warmup: usize,
    steps: usize,
    default_malloc: bool,
}

fn parse_args() -> Args {
    let mut a = Args {
        vocab: 2048,
        hidden: 256,
        intermediate: 688,
        layers: 4,
        heads: 4,
        kv_heads: 4,
        batch: 8,
        prompt_len: 64,
        completion_len: 64,
        warmup: 2,
        steps: 10,
        default_malloc: false,
    };
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < argv.len() {
        if argv[i] == "--default-malloc" {
            a.default_malloc = true;
            i += 1;
            continue;
        }
        let value = || -> usize {
            argv.get(i + 1)
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("{} needs a number", argv[i]))
        };
        let slot = match argv[i].as_str() {
            "--vocab" => &mut a.vocab,
            "--hidden" => &mut a.hidden,
            "--intermediate" => &mut a.intermediate,
            "--layers" => &mut a.layers,
            "--heads" => &mut a.heads,
            "--kv-heads" => &mut a.kv_heads,
            "--batch" => &mut a.batch,
            "--prompt-len" => &mut a.prompt_len,
            "--completion-len" => &mut a.completion_len,
            "--warmup" => &mut a.warmup,
            "--steps" => &mut a.steps,
            _ => {
                i += 1; // cargo bench passes --bench; ignore what is not ours
                continue;
            }
        };
        *slot = value();
        i += 2;
    }
    a
}

fn main() {
    let args = parse_args();
    let malloc_retains = !args.default_malloc && prefopt_core::allocator::retain_freed_memory();
    let config_json = serde_json::json!({
        "model_type": "llama",
        "architectures": ["LlamaForCausalLM"],
        "vocab_size": args.vocab,
        "hidden_size": args.hidden,
        "intermediate_size": args.intermediate,
        "num_hidden_layers": args.layers,
        "num_attention_heads": args.heads,
        "num_key_value_heads": args.kv_heads,
        "max_position_embeddings": 512,
        "rms_norm_eps": 1e-6,
        "rope_theta": 10000.0,
        "tie_word_embeddings": false,
        "pad_token_id": 0,
        "eos_token_id": 1,
        "hidden_act": "silu",
    });
    let config = LlamaConfig::from_hf_str(&config_json.to_string(), "bench/config.json")
        .expect("bench config");
    let device = Device::flex().autodiff();
    let mut model = CausalLm::init_random(config, 0, &device).expect("random model");
    let params = model.num_params();

    // one fixed batch: [prompt; chosen] rows, then [prompt; rejected] rows
    let (b, lp, lc) = (args.batch, args.prompt_len, args.completion_len);
    let t = lp + lc;
    device.seed(1);
    let random = |rows: usize, cols: usize| -> Tensor<2, Int> {
        Tensor::<2>::random(
            [rows, cols],
            Distribution::Uniform(3.0, args.vocab as f64),
            &device,
        )
        .int()
    };
    let prompt = random(b, lp);
    let eos = Tensor::<2, Int>::ones([b, 1], &device);
    let chosen = Tensor::cat(vec![random(b, lc - 1), eos.clone()], 1);
    let rejected = Tensor::cat(vec![random(b, lc - 1), eos], 1);
    let input_ids = Tensor::cat(
        vec![
            Tensor::cat(vec![prompt.clone(), chosen], 1),
            Tensor::cat(vec![prompt, rejected], 1),
        ],
        0,
    );
    let attention_mask = Tensor::<2, Int>::ones([2 * b, t], &device);
    let completion_mask = Tensor::cat(
        vec![
            Tensor::<2, Int>::zeros([2 * b, lp], &device),
            Tensor::<2, Int>::ones([2 * b, lc], &device),
        ],
        1,
    );

    // reference log-probs with the initial weights, detached
    let reference = model
        .valid()
        .completion_logprobs(
            input_ids.clone().without_autodiff(),
            attention_mask.clone().without_autodiff(),
            completion_mask.clone().without_autodiff(),
        )
        .expect("reference log-probs");
    let (ref_chosen, ref_rejected) = reference.split_chosen_rejected();
    let (ref_chosen, ref_rejected) = (ref_chosen.autodiff(), ref_rejected.autodiff());
    let lengths = Tensor::<1>::full([b], lc as f64, &device);

    let dpo = DpoConfig::new().with_beta(0.1).init().expect("dpo");
    let mut optim = AdamWConfig::new()
        .with_weight_decay(0.0)
        .init()
        .expect("adamw");

    let mut times = Vec::new();
    let mut losses = Vec::new();
    // On rayon's pool, as `prefopt_train::train` runs (see `prefopt_models::on_pool`).
    prefopt_models::on_pool(|| {
        for step in 0..args.warmup + args.steps {
            let started = Instant::now();
            let logps = model
                .completion_logprobs(
                    input_ids.clone(),
                    attention_mask.clone(),
                    completion_mask.clone(),
                )
                .expect("policy log-probs");
            let (chosen, rejected) = logps.split_chosen_rejected();
            let out = dpo
                .forward(DpoInputs::new(
                    chosen,
                    rejected,
                    ref_chosen.clone(),
                    ref_rejected.clone(),
                    lengths.clone(),
                    lengths.clone(),
                ))
                .expect("dpo loss");
            let loss = out.loss;
            let grads = burn::optim::GradientsParams::from_grads(loss.backward(), &model);
            model = optim.step(1e-4, model, grads);
            let value: f64 = loss.into_scalar();
            let elapsed = started.elapsed().as_secs_f64();
            if step >= args.warmup {
                times.push(elapsed);
            }
            losses.push(value);
        }
    });
    let mut sorted = times.clone();
    sorted.sort_by(f64::total_cmp);
    let median = sorted[sorted.len() / 2];
    let tokens = 2 * b * t;
    let flops = 6.0 * params as f64 * tokens as f64;
    let result = serde_json::json!({
        "impl": "prefopt",
        "backend": "flex",
        "steps": args.steps,
        "step_s": times,
        "step_s_median": median,
        "tokens_per_step": tokens,
        "tokens_per_s": tokens as f64 / median,
        "params": params,
        "model_flops_per_step": flops,
        "achieved_gflops": flops / median / 1e9,
        "threads": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        "first_loss": losses[0],
        "final_loss": losses[losses.len() - 1],
        "peak_rss_mib": prefopt_core::peak_memory::peak_rss_mib(),
        "malloc_retains_freed_memory": malloc_retains,
    });
    println!("{result}");
}
