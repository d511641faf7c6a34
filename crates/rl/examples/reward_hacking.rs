//! Pref-GRPO's reward-hacking claim at toy scale: pointwise GRPO on a biased proxy with a tiny
//! within-group spread versus GRPO on win rates from a pairwise judge that sees the same proxy.
//!
//! `cargo run --release -p prefopt-rl --example reward_hacking [-- STEPS SEEDS [OUT_DIR]]`
//!
//! Task: a tiny random-init Llama (vocab 32, hidden 64, 2 layers) writes 8 characters (no EOS).
//! - task score    q(c)     = min(#`h`, 2) / 2               (two `h` are enough; saturates)
//! - ground truth  gt(c)    = q(c) − frac(`x`)               (`x` is bad)
//! - proxy         proxy(c) = 0.01 · (q(c) + 0.25 · frac(`x`))
//!   i.e. the task signal, a small exploitable bonus for `x` instead of the penalty, and a
//!   scale that makes within-group differences small (one `h` below saturation = 5e-3, one `x`
//!   = 3.1e-4). Once the policy writes two `h`, the proxy's only remaining spread is the bias.
//! - `pointwise`: the proxy is the reward (GRPO's std normalisation rescales any spread,
//!   however tiny, to unit size).
//! - `pairwise`: a Bradley–Terry judge on the same proxy, P(a ≻ b) = σ(proxy_a − proxy_b), tie
//!   when |P − ½| ≤ 2.5e-4, i.e. |Δproxy| ≲ 1e-3 (up to 3 `x` apart is a tie; one `h` apart,
//!   |ΔP| ≈ 1.25e-3, is not); reward = win rate over the G − 1 others (Pref-GRPO).
//! - `pairwise0`: the same judge with no tie band (margin 0): a pure rank transform of the
//!   proxy. This ablation separates "pairwise" from "ties".
//!
//! Writes `OUT_DIR/curves.csv` and `OUT_DIR/{proxy,ground_truth,reward_std,hack_fraction}.png`
//! (red = pointwise, blue = pairwise, green = pairwise0; seed 0), and prints a summary per
//! seed.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Result;
use burn::prelude::*;
use prefopt_plot::{Axis, Series, XyChart};
use prefopt_rl::toy::{
    HACK_PROXY_SCALE, char_fraction, hack_ground_truth as ground_truth, hack_proxy as proxy,
    hack_task_score as task, toy_detokenize, toy_model, toy_prompts,
};
use prefopt_rl::{
    BradleyTerryDecision, BradleyTerryJudge, FnReward, GrpoRunConfig, GrpoTrainer, RewardFn,
    RewardSet, WinRateConfig, WinRateReward,
};
use prefopt_train::LrSchedulerType;

const G: usize = 8;
const TIE_MARGIN: f64 = 2.5e-4;

/// Which reward a run trains on.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Pointwise,
    Pairwise { tie_margin: f64 },
}

/// Per-step curve values of one run.
#[derive(Debug, Default, Clone)]
struct Curve {
    proxy: Vec<f64>,
    ground_truth: Vec<f64>,
    reward_std: Vec<f64>,
    hack: Vec<f64>,
    target: Vec<f64>,
}

fn run(kind: Kind, steps: u64, seed: u64) -> Result<Curve> {
    let device = Device::flex().autodiff();
    let policy = toy_model(64, 2, 100 + seed, &device)?;
    let mut config = GrpoRunConfig::default();
    config.loss.num_generations = G;
    config.loss.max_completion_length = 8;
    config.sampling.eos_token_ids = Some(vec![]);
    config.learning_rate = 5e-3;
    config.lr_scheduler_type = LrSchedulerType::Constant;
    config.prompts_per_step = 4;
    config.max_steps = steps;
    config.seed = seed;
    let reward: Box<dyn RewardFn> = if let Kind::Pairwise { tie_margin } = kind {
        let judge = BradleyTerryJudge::new(
            |_: &str, c: &str| proxy(c),
            BradleyTerryDecision::Threshold { tie_margin },
        )?;
        Box::new(WinRateReward::new(
            "win_rate",
            judge,
            WinRateConfig {
                num_generations: G,
                swap_debias: false,
                workers: 1,
            },
        )?)
    } else {
        Box::new(FnReward::new("proxy", |_: &str, c: &str| Some(proxy(c))))
    };
    let rewards = RewardSet::new(vec![reward], None)?;
    let mut trainer = GrpoTrainer::new(config, policy, rewards)?;
    let prompts = toy_prompts(32, 1 + seed);
    let mut curve = Curve::default();
    for step in 0..steps as usize {
        let batch: Vec<Vec<u32>> = (0..4)
            .map(|i| prompts[(step * 4 + i) % 32].clone())
            .collect();
        let out = trainer.step(&batch, &toy_detokenize)?;
        let texts: Vec<String> = out
            .rollout
            .completions
            .iter()
            .map(|c| toy_detokenize(c))
            .collect();
        let mean =
            |f: &dyn Fn(&str) -> f64| texts.iter().map(|t| f(t)).sum::<f64>() / texts.len() as f64;
        curve.proxy.push(mean(&proxy) / HACK_PROXY_SCALE);
        curve.ground_truth.push(mean(&ground_truth));
        curve.hack.push(mean(&|t| char_fraction(t, 'x')));
        curve.target.push(mean(&task));
        curve.reward_std.push(out.metrics["reward_std"]);
    }
    Ok(curve)
}

/// One PNG of the three arms' curves over the steps, through the project's one plotting crate.
fn plot(out: &Path, title: &str, y_label: &str, curves: [&[f64]; 3]) -> Result<()> {
    let mut chart = XyChart::new(title, Axis::new("step"), Axis::new(y_label));
    for (name, values) in ["pointwise", "pairwise", "pairwise (tie margin 0)"]
        .into_iter()
        .zip(curves)
    {
        chart = chart.with_series(Series::line(
            name,
            values.iter().enumerate().map(|(i, &v)| (i as f64 + 1.0, v)),
        ));
    }
    chart.write_png(out)?;
    Ok(())
}

fn window_mean(xs: &[f64], first: bool, k: usize) -> f64 {
    let k = k.min(xs.len());
    let w = if first { &xs[..k] } else { &xs[xs.len() - k..] };
    w.iter().sum::<f64>() / k as f64
}

#[allow(clippy::print_stdout)]
fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let steps: u64 = args.next().map(|s| s.parse()).transpose()?.unwrap_or(60);
    let seeds: u64 = args.next().map(|s| s.parse()).transpose()?.unwrap_or(1);
    let out_dir = PathBuf::from(
        args.next()
            .unwrap_or_else(|| "target/reward_hacking".into()),
    );
    std::fs::create_dir_all(&out_dir)?;
    let start = std::time::Instant::now();
    let mut csv =
        String::from("seed,run,step,proxy,ground_truth,hack_fraction,task_score,reward_std\n");
    println!("means over the first / last 10 steps (proxy in units of its 0.01 scale)");
    println!(
        "seed run        proxy            ground truth     x fraction       task score       reward_std"
    );
    for seed in 0..seeds {
        let point = run(Kind::Pointwise, steps, seed)?;
        let pair = run(
            Kind::Pairwise {
                tie_margin: TIE_MARGIN,
            },
            steps,
            seed,
        )?;
        let pair0 = run(Kind::Pairwise { tie_margin: 0.0 }, steps, seed)?;
        for (name, c) in [
            ("pointwise", &point),
            ("pairwise", &pair),
            ("pairwise0", &pair0),
        ] {
            for i in 0..c.proxy.len() {
                writeln!(
                    csv,
                    "{seed},{name},{},{},{},{},{},{}",
                    i + 1,
                    c.proxy[i],
                    c.ground_truth[i],
                    c.hack[i],
                    c.target[i],
                    c.reward_std[i]
                )?;
            }
            let f = |xs: &[f64]| {
                format!(
                    "{:.3} → {:.3}",
                    window_mean(xs, true, 10),
                    window_mean(xs, false, 10)
                )
            };
            println!(
                "{seed:>4} {name:<10} {:<16} {:<16} {:<16} {:<16} {:.2e} → {:.2e}",
                f(&c.proxy),
                f(&c.ground_truth),
                f(&c.hack),
                f(&c.target),
                window_mean(&c.reward_std, true, 10),
                window_mean(&c.reward_std, false, 10)
            );
        }
        if seed == 0 {
            plot(
                &out_dir.join("proxy.png"),
                "proxy reward",
                "mean proxy reward",
                [&point.proxy, &pair.proxy, &pair0.proxy],
            )?;
            plot(
                &out_dir.join("ground_truth.png"),
                "ground-truth reward",
                "mean ground-truth reward",
                [&point.ground_truth, &pair.ground_truth, &pair0.ground_truth],
            )?;
            plot(
                &out_dir.join("reward_std.png"),
                "reward std within the batch",
                "reward std",
                [&point.reward_std, &pair.reward_std, &pair0.reward_std],
            )?;
            plot(
                &out_dir.join("hack_fraction.png"),
                "hack fraction",
                "fraction of 'x' characters",
                [&point.hack, &pair.hack, &pair0.hack],
            )?;
        }
    }
    prefopt_core::write_atomic(&out_dir.join("curves.csv"), csv.as_bytes())?;
    println!(
        "wrote {} ({:.0} s)",
        out_dir.display(),
        start.elapsed().as_secs_f64()
    );
    Ok(())
}
