//! Flow matching and the samplers: schedules and the Flow-GRPO SDE step against the reference
//! values of `tests/fixtures/make_flux.py` (diffusers' scheduler, Flow-GRPO's step formula),
//! plus properties (η → 0 limit, determinism, same group noise, recorded log-probs).

use burn::prelude::*;
use prefopt_core::SplitMix64;
use prefopt_models::{
    FlowMatchingBatch, LogProbReduction, Result, SdeSamplerConfig, TimestepSampling, euler_sample,
    flow_matching_loss, flux_resolution_shift, gaussian_log_prob, group_initial_noise,
    noisy_sample, sample_sigmas, sde_sample, sde_transition, seeded_normal, time_shifted_schedule,
    transition_log_prob, velocity_target,
};

use crate::fixtures::{RefTensor, device, max_abs_diff, reference, to_vec};

fn f32s(r: &RefTensor) -> Vec<f32> {
    r.values.iter().map(|&v| v as f32).collect()
}

fn tensor3(r: &RefTensor) -> Tensor<3> {
    let shape: [usize; 3] = r.shape.clone().try_into().unwrap();
    Tensor::from_data(TensorData::new(f32s(r), shape), &device())
}

#[test]
fn schedules_match_the_diffusers_scheduler() {
    let refs = reference("flux/sampler");
    for shift in [1.0, 3.0] {
        for steps in [4, 10, 28] {
            let want = f32s(&refs[&format!("sigmas.shift{shift}.n{steps}")]);
            let got = time_shifted_schedule(steps, shift);
            assert!(
                max_abs_diff(&got, &want) <= 1e-6,
                "shift {shift} n {steps}: {got:?}"
            );
        }
    }
    for seq in [256, 1024] {
        let mu = refs[&format!("mu.seq{seq}")].values[0];
        let shift = flux_resolution_shift(seq);
        assert!(
            (shift.ln() - mu).abs() < 1e-6,
            "mu at {seq}: {} vs {mu}",
            shift.ln()
        );
        let want = f32s(&refs[&format!("sigmas.seq{seq}.n10")]);
        let got = time_shifted_schedule(10, shift);
        assert!(max_abs_diff(&got, &want) <= 1e-6, "seq {seq}: {got:?}");
    }
}

#[test]
fn euler_step_matches_the_diffusers_scheduler() {
    let refs = reference("flux/sampler");
    let sigmas = f32s(&refs["sigmas.shift3.n10"]);
    let x = tensor3(&refs["sde.x"]);
    let v = tensor3(&refs["sde.v"]);
    let want = f32s(&refs["euler.i2"]);
    let got = euler_sample(x.clone(), &sigmas[2..4], |_, _| Ok(v.clone())).unwrap();
    assert!(max_abs_diff(&to_vec(got), &want) <= 1e-6);
    // The SDE step with eta = 0 is the Euler step.
    let step = sde_transition(x, v, &sigmas, 2, 0.0).unwrap();
    assert!(max_abs_diff(&to_vec(step.mean), &want) <= 1e-6);
}

#[test]
fn sde_step_and_log_prob_match_flow_grpo() {
    let refs = reference("flux/sampler");
    let sigmas = f32s(&refs["sigmas.shift3.n10"]);
    let x = tensor3(&refs["sde.x"]);
    let v = tensor3(&refs["sde.v"]);
    for i in [0, 2, 8] {
        for eta in [0.7, 0.3] {
            let key = format!("sde.i{i}.eta{eta}");
            let step = sde_transition(x.clone(), v.clone(), &sigmas, i, eta).unwrap();
            let std_want = refs[&format!("{key}.std_dev_t")].values[0];
            assert!(
                (step.std_dev_t - std_want).abs() <= 1e-5 * std_want,
                "{key}: std_dev_t {} vs {std_want}",
                step.std_dev_t
            );
            let mean = to_vec(step.mean.clone());
            let diff = max_abs_diff(&mean, &f32s(&refs[&format!("{key}.mean")]));
            assert!(diff <= 1e-5, "{key}: mean diff {diff}");
            let lp = gaussian_log_prob(
                tensor3(&refs[&format!("{key}.prev")]),
                step.mean,
                step.std,
                LogProbReduction::Mean,
            )
            .unwrap();
            for (g, w) in to_vec(lp)
                .iter()
                .zip(&refs[&format!("{key}.log_prob")].values)
            {
                assert!(
                    (f64::from(*g) - w).abs() <= 1e-5 * w.abs().max(1.0),
                    "{key}: log_prob {g} vs {w}"
                );
            }
        }
    }
}

#[test]
fn log_prob_is_the_analytic_gaussian() {
    let mut rng = SplitMix64::new(7);
    let next: Tensor<3> = seeded_normal([2, 3, 4], &mut rng, &device());
    let mean: Tensor<3> = seeded_normal([2, 3, 4], &mut rng, &device());
    let std = 0.37f64;
    let (nv, mv) = (to_vec(next.clone()), to_vec(mean.clone()));
    let sum =
        to_vec(gaussian_log_prob(next.clone(), mean.clone(), std, LogProbReduction::Sum).unwrap());
    let avg = to_vec(gaussian_log_prob(next, mean, std, LogProbReduction::Mean).unwrap());
    for b in 0..2 {
        let want: f64 = (0..12)
            .map(|k| {
                let z = (f64::from(nv[b * 12 + k]) - f64::from(mv[b * 12 + k])) / std;
                -0.5 * z * z - std.ln() - 0.5 * (2.0 * std::f64::consts::PI).ln()
            })
            .sum();
        assert!(
            (f64::from(sum[b]) - want).abs() < 1e-4 * want.abs(),
            "{} vs {want}",
            sum[b]
        );
        assert!((f64::from(avg[b]) - want / 12.0).abs() < 1e-4 * (want / 12.0).abs());
    }
    let zero = Tensor::<3>::zeros([1, 2, 2], &device());
    assert!(gaussian_log_prob(zero.clone(), zero, 0.0, LogProbReduction::Mean).is_err());
}

/// A velocity that depends on the state and the noise level, like a real model.
fn toy_velocity(x: Tensor<3>, sigma: f32) -> Result<Tensor<3>> {
    Ok(x.mul_scalar(0.8).sub_scalar(0.3 * sigma - 0.1))
}

#[test]
fn sde_sampler_tends_to_the_ode_sampler_as_eta_vanishes() {
    let sigmas = time_shifted_schedule(8, 3.0);
    let noise: Tensor<3> = seeded_normal([3, 4, 5], &mut SplitMix64::new(1), &device());
    let ode = to_vec(euler_sample(noise.clone(), &sigmas, toy_velocity).unwrap());
    let mut diffs = Vec::new();
    for eta in [1e-1, 1e-2, 1e-3] {
        let config = SdeSamplerConfig {
            eta,
            reduction: LogProbReduction::Mean,
        };
        let traj = sde_sample(
            noise.clone(),
            &sigmas,
            config,
            &mut SplitMix64::new(2),
            toy_velocity,
        )
        .unwrap();
        assert_eq!(traj.latents.len(), sigmas.len());
        assert_eq!(traj.log_probs.dims(), [3, 8]);
        let last = to_vec(traj.latents.last().unwrap().clone());
        diffs.push(max_abs_diff(&last, &ode));
    }
    assert!(diffs[0] > diffs[1] && diffs[1] > diffs[2], "{diffs:?}");
    assert!(diffs[2] < 5e-3, "{diffs:?}");
}

#[test]
fn sde_sampling_is_deterministic_under_a_seed_and_recomputes_its_log_probs() {
    let sigmas = time_shifted_schedule(5, 3.0);
    let config = SdeSamplerConfig::default();
    let noise: Tensor<3> = seeded_normal([2, 4, 3], &mut SplitMix64::new(5), &device());
    let run = |seed| {
        sde_sample(
            noise.clone(),
            &sigmas,
            config,
            &mut SplitMix64::new(seed),
            toy_velocity,
        )
        .unwrap()
    };
    let (a, b, c) = (run(11), run(11), run(12));
    assert_eq!(to_vec(a.final_x0.clone()), to_vec(b.final_x0.clone()));
    assert_eq!(to_vec(a.log_probs.clone()), to_vec(b.log_probs.clone()));
    assert_ne!(to_vec(a.final_x0.clone()), to_vec(c.final_x0));
    // Each recorded transition's log-prob, recomputed under the same velocity, is the one
    // recorded during sampling (the GRPO ratio is exactly 1 before any update).
    let recorded = to_vec(a.log_probs.clone());
    for i in 0..5 {
        let lp = transition_log_prob(
            a.latents[i].clone(),
            a.latents[i + 1].clone(),
            &sigmas,
            i,
            config,
            toy_velocity,
        )
        .unwrap();
        for (s, got) in to_vec(lp).iter().enumerate() {
            let want = recorded[s * 5 + i];
            assert!(
                (got - want).abs() <= 1e-5 * want.abs().max(1.0),
                "step {i}: {got} vs {want}"
            );
        }
    }
    // Under a different velocity the recorded transition is less likely.
    let other = transition_log_prob(
        a.latents[1].clone(),
        a.latents[2].clone(),
        &sigmas,
        1,
        config,
        |x, s| toy_velocity(x, s).map(|v| v.add_scalar(20.0)),
    )
    .unwrap();
    let same = to_vec(a.log_probs.slice([0..2, 1..2]));
    for (o, s) in to_vec(other).iter().zip(same) {
        assert!(*o < s, "{o} !< {s}");
    }
}

#[test]
fn group_noise_is_shared_only_when_asked() {
    let same = to_vec(
        group_initial_noise(2, 3, [1, 4, 2], true, &mut SplitMix64::new(3), &device()).unwrap(),
    );
    let n = 8;
    let row = |v: &[f32], k: usize| v[k * n..(k + 1) * n].to_vec();
    assert_eq!(row(&same, 0), row(&same, 1));
    assert_eq!(row(&same, 0), row(&same, 2));
    assert_eq!(row(&same, 3), row(&same, 5));
    assert_ne!(row(&same, 0), row(&same, 3));
    let fresh = to_vec(
        group_initial_noise(2, 3, [1, 4, 2], false, &mut SplitMix64::new(3), &device()).unwrap(),
    );
    assert_ne!(row(&fresh, 0), row(&fresh, 1));
    assert!(group_initial_noise(1, 2, [2, 4], true, &mut SplitMix64::new(3), &device()).is_err());
}

#[test]
fn flow_matching_batch_is_the_rectified_flow_interpolation() {
    let mut rng = SplitMix64::new(9);
    let x0: Tensor<3> = seeded_normal([4, 6, 3], &mut rng, &device());
    let batch = FlowMatchingBatch::new(
        x0.clone(),
        TimestepSampling::LogitNormal {
            mean: 0.0,
            std: 1.0,
        },
        1.0,
        &mut rng,
    )
    .unwrap();
    // x_σ − σ·(ε − x₀) = x₀ for every sample.
    let sigma = batch.sigma.clone().reshape([4, 1, 1]);
    let back = batch.noisy.clone() - batch.target.clone() * sigma;
    assert!(max_abs_diff(&to_vec(back), &to_vec(x0.clone())) < 1e-5);
    // The loss of the exact target is zero, and of a zero prediction is mean(target²).
    assert_eq!(
        to_vec(flow_matching_loss(
            batch.target.clone(),
            batch.target.clone()
        )),
        [0.0]
    );
    let t = to_vec(batch.target.clone());
    let want = t.iter().map(|v| v * v).sum::<f32>() / t.len() as f32;
    let got = to_vec(flow_matching_loss(batch.target.zeros_like(), batch.target))[0];
    assert!((got - want).abs() < 1e-5 * want);
    // Direct formulas on hand values.
    let a = Tensor::<2>::from_data(TensorData::new(vec![1f32, 2.0], [2, 1]), &device());
    let e = Tensor::<2>::from_data(TensorData::new(vec![3f32, 5.0], [2, 1]), &device());
    let s = Tensor::<1>::from_data(TensorData::new(vec![0.25f32, 1.0], [2]), &device());
    assert_eq!(to_vec(noisy_sample(a.clone(), e.clone(), s)), [1.5, 5.0]);
    assert_eq!(to_vec(velocity_target(a, e)), [2.0, 3.0]);
}

#[test]
fn sigma_sampling_respects_distribution_and_shift() {
    let mut rng = SplitMix64::new(4);
    let mean = |v: &[f32]| v.iter().sum::<f32>() / v.len() as f32;
    let uniform = sample_sigmas(4000, TimestepSampling::Uniform, 1.0, &mut rng);
    let logit = sample_sigmas(
        4000,
        TimestepSampling::LogitNormal {
            mean: 0.0,
            std: 1.0,
        },
        1.0,
        &mut rng,
    );
    let shifted = sample_sigmas(
        4000,
        TimestepSampling::LogitNormal {
            mean: 0.0,
            std: 1.0,
        },
        3.0,
        &mut rng,
    );
    for v in [&uniform, &logit, &shifted] {
        assert!(v.iter().all(|s| (0.0..=1.0).contains(s)));
    }
    assert!((mean(&uniform) - 0.5).abs() < 0.03);
    assert!((mean(&logit) - 0.5).abs() < 0.03);
    // Logit-normal concentrates around 0.5: fewer draws in the tails than uniform.
    let tails = |v: &[f32]| v.iter().filter(|s| **s < 0.1 || **s > 0.9).count();
    assert!(tails(&logit) < tails(&uniform) / 2);
    assert!(mean(&shifted) > 0.65, "{}", mean(&shifted));
}
