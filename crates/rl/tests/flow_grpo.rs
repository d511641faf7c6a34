//! Flow-GRPO for images: the first pass is on-policy (ratio 1, loss −A), the KL to an equal
//! reference is 0, the timestep draw, the paper's Fig. 1 through the image path, win rates,
//! and config errors that name their key.

use burn::prelude::*;
use prefopt_core::SplitMix64;
use prefopt_models::{
    FluxConfig, FluxInit, FluxPipelineModel, LogProbReduction, PixelImageSpec, TextEncoderConfig,
    gaussian_log_prob, sde_transition,
};
use prefopt_rl::{
    FlowGrpoConfig, FlowGrpoStep, FlowPrompt, PairwiseJudge, ProgrammaticJudge, RewardFn,
    RewardSet, Verdict, WinRateConfig, WinRateReward, group_std_mean, train_timesteps,
};

/// A tiny pixel pipeline (8×8 RGB, 1+1 blocks), adaLN-Zero off so the velocity is not 0.
fn tiny_pipeline(device: &Device) -> FluxPipelineModel {
    let text = TextEncoderConfig::new(16, 6, 16, 1, 2, 16, 16, 0);
    let flux = FluxConfig::new(12, 1, 1, 16, 2, 16, 16, vec![4, 6, 6]).unwrap();
    let image = PixelImageSpec {
        height: 8,
        width: 8,
        channels: 3,
    };
    let init = FluxInit {
        seed: 7,
        zero_modulation: false,
    };
    FluxPipelineModel::init(text, flux, image, init, device).unwrap()
}

fn config() -> FlowGrpoConfig {
    FlowGrpoConfig {
        group_size: 4,
        prompts_per_step: 2,
        sampling_steps: 5,
        ..FlowGrpoConfig::default()
    }
}

fn prompts() -> Vec<FlowPrompt> {
    vec![
        FlowPrompt {
            text: "a".into(),
            ids: vec![3, 4, 5],
        },
        FlowPrompt {
            text: "b".into(),
            ids: vec![6, 7],
        },
    ]
}

#[test]
fn first_pass_has_ratio_one_and_loss_minus_advantage() {
    let device = Device::flex();
    let autodiff = device.clone().autodiff();
    let model = tiny_pipeline(&autodiff);
    let rope = model.rope(&autodiff).unwrap();
    let step = FlowGrpoStep::new(&config()).unwrap();
    let p = prompts();
    let chosen: Vec<&FlowPrompt> = p.iter().collect();
    let rollout = step
        .rollout(&model.valid(), &chosen, 3, 1, &device)
        .unwrap();
    assert_eq!(rollout.len(), 8);
    assert_eq!(rollout.shape, [8, 3, 8, 8]);
    assert_eq!(rollout.latents.len(), 6);
    assert_eq!(rollout.old_log_probs.len(), 8 * 5);
    for (k, advantage) in [(0, 1.5), (5, -0.75)] {
        let reference = tiny_pipeline(&device);
        let ref_rope = reference.rope(&device).unwrap();
        let out = step
            .image_loss(
                &model,
                &rope,
                &rollout,
                k,
                &[0, 2, 3],
                advantage,
                Some((&reference, &ref_rope)),
                &autodiff,
            )
            .unwrap();
        for r in &out.ratios {
            assert!((r - 1.0).abs() < 1e-4, "ratio {r} on the first pass");
        }
        let loss = f64::from(out.loss.clone().into_scalar::<f32>());
        assert!(
            (loss + advantage).abs() < 1e-3,
            "loss {loss} != -A = {}",
            -advantage
        );
        assert_eq!(out.clip_fraction, 0.0);
        let kl = out.kl.unwrap();
        assert!(kl.abs() < 1e-8, "KL to an identical reference: {kl}");
        // The loss has a gradient through the transformer.
        let grads = out.loss.backward();
        let grads = burn::optim::GradientsParams::from_grads(grads, &model);
        assert!(!grads.is_empty());
    }
}

#[test]
fn recorded_log_prob_is_the_gaussian_of_the_recorded_transition() {
    let device = Device::flex();
    let model = tiny_pipeline(&device);
    let step = FlowGrpoStep::new(&config()).unwrap();
    let p = prompts();
    let rollout = step.rollout(&model, &[&p[0]], 9, 2, &device).unwrap();
    let rope = model.rope(&device).unwrap();
    let text = rollout.text.select(&[1]);
    let i = 2;
    let x = rollout.latents[i].clone().narrow(0, 1, 1);
    let next = rollout.latents[i + 1].clone().narrow(0, 1, 1);
    let sigma = Tensor::<1>::full([1], rollout.sigmas[i], &device);
    let v = model
        .velocity(x.clone(), sigma, &text, None, &rope)
        .unwrap();
    let t = sde_transition(x, v, &rollout.sigmas, i, 0.7).unwrap();
    // Direct formula: mean over elements of −(x'−μ)²/(2s²) − ln s − ln √(2π).
    let diff: Vec<f32> = (next.clone() - t.mean.clone())
        .into_data()
        .try_into_vec::<f32>()
        .unwrap();
    let s = t.std;
    let direct = diff
        .iter()
        .map(|d| {
            -(f64::from(*d)).powi(2) / (2.0 * s * s)
                - s.ln()
                - 0.5 * (2.0 * std::f64::consts::PI).ln()
        })
        .sum::<f64>()
        / diff.len() as f64;
    let recorded = f64::from(rollout.old_log_probs[rollout.sigmas.len() - 1 + i]);
    assert!((recorded - direct).abs() < 1e-3, "{recorded} vs {direct}");
    let again = gaussian_log_prob(next, t.mean, s, LogProbReduction::Mean)
        .unwrap()
        .into_scalar::<f32>();
    assert!((f64::from(again) - recorded).abs() < 1e-4);
}

#[test]
fn same_initial_noise_within_a_group() {
    let device = Device::flex();
    let model = tiny_pipeline(&device);
    let step = FlowGrpoStep::new(&config()).unwrap();
    let p = prompts();
    let chosen: Vec<&FlowPrompt> = p.iter().collect();
    let rollout = step.rollout(&model, &chosen, 1, 1, &device).unwrap();
    let x0: Vec<f32> = rollout.latents[0]
        .clone()
        .into_data()
        .try_into_vec()
        .unwrap();
    let per = x0.len() / 8;
    assert_eq!(x0[..per], x0[per..2 * per], "same group, same start");
    assert_ne!(
        x0[..per],
        x0[4 * per..5 * per],
        "another prompt, another start"
    );
    let x1: Vec<f32> = rollout.latents[1]
        .clone()
        .into_data()
        .try_into_vec()
        .unwrap();
    assert_ne!(x1[..per], x1[per..2 * per], "the SDE noise differs");
    // The rollout is a function of (seed, step).
    let again = step.rollout(&model, &chosen, 1, 1, &device).unwrap();
    assert_eq!(again.pixels, rollout.pixels);
    let other = step.rollout(&model, &chosen, 1, 2, &device).unwrap();
    assert_ne!(other.pixels, rollout.pixels);
}

#[test]
fn trained_timesteps_are_distinct_and_never_the_last() {
    let config = FlowGrpoConfig {
        sampling_steps: 25,
        ..FlowGrpoConfig::default()
    };
    assert_eq!(
        config.trained_timesteps(),
        14,
        "int(24 × 0.6), as the reference code"
    );
    let mut rng = SplitMix64::new(5);
    for _ in 0..20 {
        let mut t = train_timesteps(&mut rng, 25, 14);
        assert_eq!(t.len(), 14);
        t.sort_unstable();
        t.dedup();
        assert_eq!(t.len(), 14);
        assert!(t.iter().all(|&i| i < 24));
    }
}

/// An "image" that carries the score a pointwise model would give it.
struct Scored(f64);

struct HpsLike;

impl RewardFn<Scored> for HpsLike {
    fn name(&self) -> &str {
        "hps"
    }
    fn score(&self, _: &[&str], images: &[&Scored]) -> prefopt_rl::Result<Vec<Option<f64>>> {
        Ok(images.iter().map(|s| Some(s.0)).collect())
    }
}

#[test]
fn figure_one_through_the_image_path() {
    // Pref-GRPO Fig. 1: four images whose pointwise scores differ by a hair, ranked
    // 3 > 2 > 4 > 1 by a pairwise judge.
    let images = [Scored(0.200), Scored(0.203), Scored(0.205), Scored(0.201)];
    let refs: Vec<&Scored> = images.iter().collect();
    let prompts = ["p"; 4];
    let estimator = FlowGrpoConfig {
        group_size: 4,
        ..FlowGrpoConfig::default()
    }
    .advantage_config()
    .init()
    .unwrap();

    let pointwise =
        RewardSet::new(vec![Box::new(HpsLike) as Box<dyn RewardFn<Scored>>], None).unwrap();
    let columns = pointwise.score(&prompts, &refs).unwrap();
    let adv = estimator.compute(&columns).unwrap();
    // Tiny score gaps become full-size advantages (the "illusory advantage").
    let max = adv.advantages.iter().fold(0.0f64, |m, a| m.max(a.abs()));
    assert!(max > 1.0, "{:?}", adv.advantages);
    assert!(group_std_mean(&adv.rewards, 4) < 0.003);

    let judge =
        ProgrammaticJudge::new(|_: &str, a: &Scored, b: &Scored| Verdict::from_scores(a.0, b.0));
    let win = WinRateReward::new(
        "pref",
        judge,
        WinRateConfig {
            num_generations: 4,
            swap_debias: false,
            workers: 1,
        },
    )
    .unwrap();
    let set = RewardSet::new(vec![Box::new(win) as Box<dyn RewardFn<Scored>>], None).unwrap();
    let columns = set.score(&prompts, &refs).unwrap();
    let rates: Vec<f64> = columns[0].values.iter().map(|v| v.unwrap()).collect();
    let want = [0.0, 2.0 / 3.0, 1.0, 1.0 / 3.0];
    for (r, w) in rates.iter().zip(want) {
        assert!((r - w).abs() < 1e-9, "{rates:?}");
    }
    assert!((rates.iter().sum::<f64>() / 4.0 - 0.5).abs() < 1e-12);
    let adv = estimator.compute(&columns).unwrap();
    // The code's unbiased std: ±1.16 / ±0.39 (the paper's population std gives ±1.34/±0.46).
    let want = [-1.161895, 0.387298, 1.161895, -0.387298];
    for (a, w) in adv.advantages.iter().zip(want) {
        assert!((a - w).abs() < 1e-5, "{:?}", adv.advantages);
    }
    assert!(
        group_std_mean(&rates, 4) > 0.4,
        "win rates spread over [0, 1]"
    );
}

#[test]
fn equal_rewards_give_zero_advantages_and_clamp_holds() {
    let estimator = FlowGrpoConfig::default().advantage_config().init().unwrap();
    let out = estimator.compute_scalar(&[0.3; 16]).unwrap();
    assert!(
        out.advantages.iter().all(|a| *a == 0.0),
        "{:?}",
        out.advantages
    );
    // One outlier in a group of 8 with ε = 1e-8: |A| ≤ 5 after the clamp.
    let mut r = vec![0.0; 8];
    r[0] = 1.0;
    let out = estimator.compute_scalar(&r).unwrap();
    assert!(out.advantages.iter().all(|a| a.abs() <= 5.0));
}

#[test]
fn win_rates_lie_in_unit_interval_and_average_one_half() {
    let judge = ProgrammaticJudge::new(|_: &str, a: &Scored, b: &Scored| {
        if (a.0 - b.0).abs() < 0.5 {
            Verdict::Tie
        } else {
            Verdict::from_scores(a.0, b.0)
        }
    });
    assert_eq!(
        PairwiseJudge::<Scored>::judge(&judge, "p", &Scored(0.0), &Scored(0.2)).unwrap(),
        Verdict::Tie
    );
    let win = WinRateReward::new(
        "pref",
        judge,
        WinRateConfig {
            num_generations: 8,
            swap_debias: false,
            workers: 2,
        },
    )
    .unwrap();
    let images: Vec<Scored> = (0..16).map(|i| Scored(f64::from(i * 7 % 5))).collect();
    let refs: Vec<&Scored> = images.iter().collect();
    let prompts = ["p"; 16];
    let rates = RewardFn::<Scored>::score(&win, &prompts, &refs).unwrap();
    for group in rates.chunks(8) {
        let values: Vec<f64> = group.iter().map(|v| v.unwrap()).collect();
        assert!(values.iter().all(|v| (0.0..=1.0).contains(v)));
        assert!((values.iter().sum::<f64>() / 8.0 - 0.5).abs() < 1e-12);
    }
}

#[test]
fn bad_config_keys_are_named() {
    let err = toml::from_str::<FlowGrpoConfig>("group_sise = 4")
        .unwrap_err()
        .to_string();
    assert!(err.contains("group_sise"), "{err}");
    for (config, key) in [
        (
            FlowGrpoConfig {
                group_size: 1,
                ..FlowGrpoConfig::default()
            },
            "grpo.group_size",
        ),
        (
            FlowGrpoConfig {
                timestep_fraction: 0.0,
                ..FlowGrpoConfig::default()
            },
            "grpo.timestep_fraction",
        ),
        (
            FlowGrpoConfig {
                eta: 0.0,
                ..FlowGrpoConfig::default()
            },
            "grpo.eta",
        ),
        (
            FlowGrpoConfig {
                sampling_steps: 1,
                ..FlowGrpoConfig::default()
            },
            "grpo.sampling_steps",
        ),
    ] {
        let err = FlowGrpoStep::new(&config).unwrap_err().to_string();
        assert!(err.contains(key), "{key}: {err}");
    }
}
