//! The online GRPO loop on the toy task.

use burn::prelude::*;
use prefopt_rl::toy::{target_fraction_reward, toy_detokenize, toy_model, toy_prompts};
use prefopt_rl::{
    Error, FnReward, GrpoRunConfig, GrpoTrainer, RewardFn, RewardRegistry, RewardSet, RewardSpec,
    run_grpo,
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

/// The embedding weights of `policy`.
fn embed(policy: &prefopt_models::CausalLm) -> Vec<f32> {
    policy
        .model
        .embed_tokens
        .dense()
        .unwrap()
        .weight
        .val()
        .try_into_vec_as::<f32>()
        .unwrap()
}

#[test]
fn a_failing_reward_stops_the_step_before_any_update() {
    let device = Device::flex().autodiff();
    let policy = toy_model(32, 1, 3, &device).unwrap();
    let rewards = RewardSet::new(
        vec![
            Box::new(target_fraction_reward("ok", 'h')) as Box<dyn RewardFn>,
            Box::new(Failing),
        ],
        None,
    )
    .unwrap();
    let mut trainer = GrpoTrainer::new(toy_config(1), policy, rewards).unwrap();
    let before = embed(trainer.policy());
    let err = trainer
        .step(&toy_prompts(2, 3), &toy_detokenize)
        .unwrap_err();
    assert!(err.to_string().contains("service down"), "{err}");
    assert_eq!(trainer.optimizer_steps(), 0);
    assert_eq!(before, embed(trainer.policy()));
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
        vec![RewardSpec::pointwise("target_fraction", 2.0)]
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
    let set = registry.build(&c.rewards, 4).unwrap();
    assert_eq!(set.names(), vec!["target_fraction"]);
    let err = registry
        .build(&[RewardSpec::pointwise("nope", 1.0)], 4)
        .unwrap_err();
    assert!(err.to_string().contains("known: target_fraction"), "{err}");
}

/// A reward that scores nothing (`None`), or NaN for some completions, never aborts the run,
/// never puts NaN in the metrics, and never changes the weights on its own.
#[test]
fn missing_and_nan_rewards_do_not_corrupt_the_weights_or_the_metrics() {
    let device = Device::flex().autodiff();
    let nothing: Box<dyn RewardFn> = Box::new(FnReward::new("nothing", |_: &str, _: &str| None));
    let mut trainer = GrpoTrainer::new(
        toy_config(1),
        toy_model(32, 1, 5, &device).unwrap(),
        RewardSet::new(vec![nothing], None).unwrap(),
    )
    .unwrap();
    let before = embed(trainer.policy());
    let out = trainer.step(&toy_prompts(4, 5), &toy_detokenize).unwrap();
    assert_eq!(
        embed(trainer.policy()),
        before,
        "an unscored batch must not move the weights"
    );
    assert_eq!(trainer.optimizer_steps(), 1);
    assert_eq!(out.metrics["skipped/unscored"], 1.0);
    assert_eq!(out.metrics["frac_reward_unscored"], 1.0);
    assert!(!out.metrics.contains_key("reward"));
    assert!(
        out.metrics.values().all(|v| v.is_finite()),
        "{:?}",
        out.metrics
    );

    // NaN for completions containing `h`, None for those containing `q`: those get advantage 0;
    // the run (metrics.jsonl refuses NaN) goes through and the weights stay finite.
    let flaky: Box<dyn RewardFn> = Box::new(FnReward::new("flaky", |_: &str, c: &str| {
        if c.contains('h') {
            Some(f64::NAN)
        } else if c.contains('q') {
            None
        } else {
            Some(c.len() as f64)
        }
    }));
    let dir = tempfile::tempdir().unwrap();
    let mut config = toy_config(6);
    config.output_dir = Some(dir.path().to_path_buf());
    let out = run_grpo(
        config,
        toy_model(32, 1, 6, &device).unwrap(),
        RewardSet::new(vec![flaky], None).unwrap(),
        &toy_prompts(8, 6),
        &toy_detokenize,
    )
    .unwrap();
    assert!(embed(&out.policy).iter().all(|w| w.is_finite()));
    let records = prefopt_train::read_metrics(out.metrics_path.unwrap()).unwrap();
    assert_eq!(records.len(), 6);
    let unscored: f64 = records
        .iter()
        .map(|r| r.get("rewards/flaky/unscored").unwrap())
        .sum();
    let nan: f64 = records
        .iter()
        .map(|r| r.get("rewards/flaky/nan_count").unwrap())
        .sum();
    assert!(
        nan > 0.0 && unscored > nan,
        "nan {nan}, unscored {unscored}"
    );
    assert!(records.iter().all(|r| r.get("loss").is_some()));
}

/// Rewards of ±1e300 overflow the f32 advantages: the loss is not finite, so every update is
/// skipped (the weights do not move) and the run stops after `max_consecutive_nonfinite_steps`.
#[test]
fn a_non_finite_loss_skips_the_update_and_stops_the_run_after_too_many() {
    let device = Device::flex().autodiff();
    let huge = || -> Box<dyn RewardFn> {
        Box::new(FnReward::new("huge", |_: &str, c: &str| {
            // the first character's parity: mixed within every group of random completions
            let odd = c.chars().next().is_some_and(|ch| u32::from(ch) % 2 == 1);
            Some(if odd { 1e300 } else { -1e300 })
        }))
    };
    let mut config = toy_config(10);
    config.loss.scale_rewards = prefopt_rl::ScaleRewards::None;
    config.loss.num_generations = 4;
    config.loss.max_completion_length = 7;
    config.max_consecutive_nonfinite_steps = 2;
    let mut trainer = GrpoTrainer::new(
        config.clone(),
        toy_model(32, 1, 8, &device).unwrap(),
        RewardSet::new(vec![huge()], None).unwrap(),
    )
    .unwrap();
    let before = embed(trainer.policy());
    let out = trainer.step(&toy_prompts(4, 8), &toy_detokenize).unwrap();
    assert_eq!(out.skipped_nonfinite, 1);
    assert_eq!(out.metrics["skipped/nonfinite"], 1.0);
    assert!(!out.metrics.contains_key("loss"));
    assert!(
        out.metrics.values().all(|v| v.is_finite()),
        "{:?}",
        out.metrics
    );
    assert_eq!(embed(trainer.policy()), before);
    assert_eq!(trainer.optimizer_steps(), 1);

    let err = run_grpo(
        config,
        toy_model(32, 1, 8, &device).unwrap(),
        RewardSet::new(vec![huge()], None).unwrap(),
        &toy_prompts(8, 8),
        &toy_detokenize,
    )
    .unwrap_err();
    assert!(
        matches!(err, Error::NonFinite { count: 2, step: 2 }),
        "{err}"
    );
    assert!(err.to_string().contains("max_consecutive_nonfinite_steps"));
}

/// The complete Pref-GRPO config of `docs/grpo.md` § 8 parses and passes the checks.
#[test]
fn the_documented_pref_grpo_config_is_valid() {
    let doc = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/grpo.md"),
    )
    .unwrap();
    let section = &doc[doc.find("## 8.").expect("§ 8 of docs/grpo.md")..];
    let start = section.find("```toml\n").unwrap() + "```toml\n".len();
    let block = &section[start..start + section[start..].find("```").unwrap()];
    let file = prefopt_rl::GrpoFile::from_toml_str(block).unwrap();
    let valid = file.grpo.clone().init().unwrap();
    let c = valid.config();
    assert_eq!(
        c.loss.multi_objective_aggregation,
        prefopt_rl::MultiObjectiveAggregation::SumOfAdvantages
    );
    assert_eq!((c.save_steps, c.rewards.len()), (20, 2));
    let pref = &c.rewards[0];
    assert!(pref.swap_debias && pref.kind == prefopt_rl::RewardKind::WinRate);
    assert!(matches!(
        &pref.judge,
        Some(prefopt_rl::JudgeSpec::Llm(llm)) if llm.template_file.is_some()
    ));
    assert_eq!(c.rewards[1], RewardSpec::pointwise("reward_model", 1.4));
    assert!(file.model.reward_model.is_some());
}

/// Adapters on every projection of the toy model (its LM head is tied).
fn toy_lora() -> prefopt_models::LoraConfig {
    prefopt_models::LoraConfig {
        r: 4,
        lora_alpha: 8.0,
        target_modules: ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj"]
            .map(String::from)
            .to_vec(),
        ..Default::default()
    }
}

/// Every base weight the adapters sit on, the embeddings and the norms, as f32 values.
fn base_weights(policy: &prefopt_models::CausalLm) -> Vec<Vec<f32>> {
    let dense = |l: &prefopt_models::BaseLinear| {
        l.dense()
            .unwrap()
            .weight
            .val()
            .try_into_vec_as::<f32>()
            .unwrap()
    };
    let mut out = vec![embed(policy)];
    for layer in &policy.model.layers {
        for l in layer.projections() {
            out.push(dense(l));
        }
        out.push(
            layer
                .input_layernorm
                .gamma
                .val()
                .try_into_vec_as::<f32>()
                .unwrap(),
        );
    }
    out
}

/// `lora_B` of every `q_proj` adapter.
fn q_lora_b(policy: &prefopt_models::CausalLm) -> Vec<f32> {
    policy
        .model
        .layers
        .iter()
        .flat_map(|l| {
            let b = l.self_attn.q_proj_lora.as_ref().expect("q_proj adapter");
            b.lora_b.val().try_into_vec_as::<f32>().unwrap()
        })
        .collect()
}

/// GRPO on a LoRA policy moves the adapters only: with weight decay on, every base tensor is
/// bit for bit what it was, while `lora_B` (0 at the start) has moved.
#[test]
fn grpo_with_lora_trains_only_the_adapters() {
    let device = Device::flex().autodiff();
    let policy = toy_model(32, 2, 11, &device)
        .unwrap()
        .with_lora(&toy_lora(), 5)
        .unwrap();
    let before = base_weights(&policy);
    assert!(q_lora_b(&policy).iter().all(|b| *b == 0.0));
    let mut config = toy_config(3);
    config.loss.beta = 0.1;
    config.adam = config.adam.with_weight_decay(0.1);
    let mut trainer = GrpoTrainer::new(config, policy, target_set()).unwrap();
    for step in 0..3 {
        let out = trainer
            .step(&toy_prompts(4, 20 + step), &toy_detokenize)
            .unwrap();
        assert!(out.metrics["kl"].is_finite(), "{:?}", out.metrics);
        assert_eq!(out.skipped_nonfinite, 0);
    }
    assert_eq!(
        base_weights(trainer.policy()),
        before,
        "a base weight moved"
    );
    assert!(
        q_lora_b(trainer.policy()).iter().any(|b| *b != 0.0),
        "the adapters did not train"
    );
}

/// The KL reference of a LoRA policy is its base with the adapters off, not the policy as it
/// is handed over: a policy whose adapters already moved shows KL > 0 on its first pass
/// (μ = 1), where a copy of itself would give exactly 0.
#[test]
fn the_reference_of_a_lora_policy_is_its_base() {
    let device = Device::flex().autodiff();
    let policy = toy_model(32, 1, 12, &device)
        .unwrap()
        .with_lora(&toy_lora(), 6)
        .unwrap();
    let mut config = toy_config(2);
    config.learning_rate = 5e-2;
    let mut trainer = GrpoTrainer::new(config.clone(), policy, target_set()).unwrap();
    for step in 0..2 {
        trainer
            .step(&toy_prompts(4, 30 + step), &toy_detokenize)
            .unwrap();
    }
    let trained = trainer.into_policy();
    assert!(q_lora_b(&trained).iter().any(|b| *b != 0.0));
    config.loss.beta = 0.1;
    let kl = |policy| {
        let mut trainer = GrpoTrainer::new(config.clone(), policy, target_set()).unwrap();
        let out = trainer.step(&toy_prompts(4, 40), &toy_detokenize).unwrap();
        out.metrics["kl"]
    };
    let with_adapters = kl(trained.clone());
    // The same weights without adapters: the reference is the policy itself.
    let dir = tempfile::tempdir().unwrap();
    trained
        .valid()
        .merge_adapters()
        .unwrap()
        .save_hf(dir.path())
        .unwrap();
    let merged = kl(prefopt_models::CausalLm::load_hf(dir.path(), &device).unwrap());
    assert!(with_adapters > 1e-4, "kl {with_adapters}");
    assert!(merged.abs() < 1e-7, "kl {merged}");
}
