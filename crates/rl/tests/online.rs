//! The online GRPO loop on the toy task.

use burn::prelude::*;
use prefopt_rl::toy::{target_fraction_reward, toy_detokenize, toy_model, toy_prompts};
use prefopt_rl::{
    Error, GrpoRunConfig, GrpoTrainer, RewardFn, RewardRegistry, RewardSet, RewardSpec, run_grpo,
};

fn toy_config(steps: u64) -> GrpoRunConfig {
    let mut c = GrpoRunConfig::default();
    c.loss.num_generations = 8;
    c.loss.max_completion_length = 8;
    c.learning_rate = 1e-2;
    c.lr_scheduler_type = prefopt_train::LrSchedulerType::Constant;
    c.prompts_per_step = 4;
    c.max_steps = steps;
    c.seed = 7;
    c
}

fn target_set() -> RewardSet {
    RewardSet::new(
        vec![Box::new(target_fraction_reward("target_fraction", 'h')) as Box<dyn RewardFn>],
        None,
    )
    .unwrap()
}

fn mean(xs: &[f64]) -> f64 {
    xs.iter().sum::<f64>() / xs.len() as f64
}

#[test]
fn grpo_raises_the_ground_truth_reward() {
    let device = Device::flex().autodiff();
    let policy = toy_model(32, 2, 11, &device).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut config = toy_config(14);
    config.output_dir = Some(dir.path().to_path_buf());
    let out = run_grpo(
        config,
        policy,
        target_set(),
        &toy_prompts(16, 1),
        &toy_detokenize,
    )
    .unwrap();
    let rewards: Vec<f64> = out.history.iter().map(|m| m["reward"]).collect();
    let first = mean(&rewards[..3]);
    let last = mean(&rewards[rewards.len() - 3..]);
    // Chance level is 1/32 ≈ 0.03 per token.
    assert!(first < 0.15, "{rewards:?}");
    assert!(last > first + 0.15, "{rewards:?}");

    // The metrics file has TRL's names, one line per step, step = optimizer steps.
    let records = prefopt_train::read_metrics(out.metrics_path.unwrap()).unwrap();
    assert_eq!(records.len(), 14);
    assert_eq!(records[13].step, 14);
    for name in [
        "reward",
        "reward_std",
        "frac_reward_zero_std",
        "rewards/target_fraction/mean",
        "clip_ratio/low_mean",
        "clip_ratio/high_mean",
        "clip_ratio/region_mean",
        "completions/mean_length",
        "completions/clipped_ratio",
        "loss",
        "grad_norm",
        "learning_rate",
    ] {
        assert!(records[0].get(name).is_some(), "missing {name}");
    }
    // μ = 1: π_old is the detached policy, so ρ ≡ 1 and nothing is clipped.
    assert_eq!(records[0].get("clip_ratio/region_mean"), Some(0.0));
    assert!(records.iter().all(|r| r.get("kl").is_none()));
    assert_eq!(records[0].get("learning_rate"), Some(1e-2));
}

#[test]
fn several_iterations_and_a_reference_give_clipping_and_kl() {
    let device = Device::flex().autodiff();
    let policy = toy_model(32, 1, 2, &device).unwrap();
    let mut config = toy_config(2);
    config.num_iterations = 3;
    config.loss.beta = 0.1;
    config.learning_rate = 5e-2;
    let out = run_grpo(
        config,
        policy,
        target_set(),
        &toy_prompts(8, 2),
        &toy_detokenize,
    )
    .unwrap();
    let m = &out.history[1];
    // After the first of μ passes the policy has moved, so the later passes see ρ ≠ 1 and a
    // positive KL to the frozen reference.
    assert!(m["kl"] > 0.0, "{m:?}");
    assert!(m["clip_ratio/region_mean"] > 0.0, "{m:?}");
    assert!(m.values().all(|v| v.is_finite()), "{m:?}");
}

struct Failing;
impl RewardFn for Failing {
    fn name(&self) -> &str {
        "failing"
    }
    fn score(&self, _: &[&str], _: &[&str]) -> prefopt_rl::Result<Vec<Option<f64>>> {
        Err(Error::Reward {
            name: "failing".into(),
            reason: "service down".into(),
        })
    }
}

#[test]
fn a_failing_reward_stops_the_step_before_any_update() {
    let device = Device::flex().autodiff();
    let policy = toy_model(32, 1, 3, &device).unwrap();
    let before: Vec<f32> = policy
        .model
        .embed_tokens
        .weight
        .val()
        .try_into_vec_as::<f32>()
        .unwrap();
    let rewards = RewardSet::new(
        vec![
            Box::new(target_fraction_reward("ok", 'h')) as Box<dyn RewardFn>,
            Box::new(Failing),
        ],
        None,
    )
    .unwrap();
    let mut trainer = GrpoTrainer::new(toy_config(1), policy, rewards).unwrap();
    let err = trainer
        .step(&toy_prompts(2, 3), &toy_detokenize)
        .unwrap_err();
    assert!(err.to_string().contains("service down"), "{err}");
    assert_eq!(trainer.optimizer_steps(), 0);
    let after: Vec<f32> = trainer
        .policy()
        .model
        .embed_tokens
        .weight
        .val()
        .try_into_vec_as::<f32>()
        .unwrap();
    assert_eq!(before, after);
}

#[test]
fn run_config_parses_toml_and_rejects_unknown_keys() {
    let text = r#"
        learning_rate = 1e-5
        num_iterations = 2
        max_steps = 10
        [loss]
        num_generations = 4
        loss_type = "dr_grpo"
        beta = 0.04
        [sampling]
        temperature = 0.9
        top_p = 0.95
        [[rewards]]
        name = "target_fraction"
        weight = 2.0
    "#;
    let c = GrpoRunConfig::from_toml_str(text).unwrap();
    assert_eq!(c.loss.num_generations, 4);
    assert_eq!(c.sampling.temperature, 0.9);
    assert_eq!(
        c.rewards,
        vec![RewardSpec {
            name: "target_fraction".into(),
            weight: 2.0
        }]
    );
    c.clone().init().unwrap();
    let err = GrpoRunConfig::from_toml_str("learnin_rate = 1.0").unwrap_err();
    assert!(err.to_string().contains("learnin_rate"), "{err}");
    let err = GrpoRunConfig::from_toml_str("[sampling]\ntemprature = 1.0").unwrap_err();
    assert!(err.to_string().contains("temprature"), "{err}");

    let mut registry = RewardRegistry::new();
    registry.register("target_fraction", || {
        Ok(Box::new(target_fraction_reward("target_fraction", 'h')) as Box<dyn RewardFn>)
    });
    let set = registry.build(&c.rewards).unwrap();
    assert_eq!(set.names(), vec!["target_fraction"]);
    let err = registry
        .build(&[RewardSpec {
            name: "nope".into(),
            weight: 1.0,
        }])
        .unwrap_err();
    assert!(err.to_string().contains("known: target_fraction"), "{err}");
}
