//! Group-relative advantages, as TRL's `GRPOTrainer` computes them.
//!
//! Rewards are small host vectors (one number per completion), so everything here is `f64` on the
//! host; [`AdvantageOutput::to_tensor`] hands the result to the loss.
//!
//! Layout: the batch holds `num_generations` (G) consecutive completions per prompt, prompt after
//! prompt (TRL's repeat sampler). Every statistic is NaN-aware: an unscorable completion (all
//! reward functions returned `None`) has reward NaN, is left out of its group's mean and std, and
//! gets advantage 0, exactly as TRL sets NaN advantages to 0.

use std::collections::BTreeMap;

use burn::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::reward::RewardColumn;
use prefopt_core::invalid;

/// TRL's default ε added to the std before dividing (`std + 1e-4`).
pub const TRL_STD_EPSILON: f64 = 1e-4;

/// A group std at or below this counts as zero for `frac_reward_zero_std` (the absolute tolerance
/// of `torch.isclose`, which TRL uses).
const ZERO_STD_TOLERANCE: f64 = 1e-8;

/// How the centred rewards are scaled (TRL `scale_rewards`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScaleRewards {
    /// Divide by the group's unbiased std + ε (TRL default, DeepSeekMath Eq. 3 outcome
    /// supervision).
    #[default]
    Group,
    /// Group mean, but divide by the unbiased std of the whole batch + ε ("PPO-Lite").
    Batch,
    /// Subtract the group mean only (Dr. GRPO, Liu et al. 2025 §3.1).
    None,
}

/// How several reward functions are combined (TRL `multi_objective_aggregation`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MultiObjectiveAggregation {
    /// R_i = Σ_k w_k r_{i,k} (NaN-aware: `None`s are skipped; all `None` → NaN), then the group
    /// normalisation chosen by [`ScaleRewards`]. TRL's default.
    #[default]
    SumThenNormalize,
    /// GDPO: z-score each function within its group (std + ε), take the weighted sum, then
    /// z-score the sums over the whole batch (std + ε). `scale_rewards` is not used.
    NormalizeThenSum,
    /// Pref-GRPO's `--reward_spec`: each function's own advantage, its rewards centred on its
    /// group mean and scaled as `scale_rewards` says, then Â_i = Σ_k w_k Â_{i,k}, with no
    /// further normalisation (the released Pref-GRPO script's `0.7·A_winrate + 1.4·A_CLIP`).
    /// A function that did not score completion i adds 0 to Â_i.
    SumOfAdvantages,
}

/// Settings of the advantage computation. Field names are TRL's where TRL has one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdvantageConfig {
    /// G, completions per prompt (TRL `num_generations`, default 8).
    pub num_generations: usize,
    /// Std scaling (default `group`).
    pub scale_rewards: ScaleRewards,
    /// ε added to the std before dividing. TRL 1e-4 (default), verl 1e-6, OpenRLHF 1e-9,
    /// Pref-GRPO 1e-8.
    pub advantage_epsilon: f64,
    /// How several reward functions are combined (default `sum_then_normalize`).
    pub multi_objective_aggregation: MultiObjectiveAggregation,
    /// Clamp advantages to [−c, c] after normalisation (Pref-GRPO `adv_clip_max` = 5). `None`
    /// (default) = no clamp, as TRL.
    pub advantage_clip: Option<f64>,
}

impl Default for AdvantageConfig {
    fn default() -> Self {
        Self {
            num_generations: 8,
            scale_rewards: ScaleRewards::Group,
            advantage_epsilon: TRL_STD_EPSILON,
            multi_objective_aggregation: MultiObjectiveAggregation::SumThenNormalize,
            advantage_clip: None,
        }
    }
}

impl AdvantageConfig {
    /// Validates the settings and builds the estimator.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] naming the offending field.
    pub fn init(&self) -> Result<AdvantageEstimator> {
        if self.num_generations < 2 {
            return Err(invalid(
                "num_generations",
                format!(
                    "must be at least 2 (a group of 1 has no relative advantage), got {}",
                    self.num_generations
                ),
            ));
        }
        if !(self.advantage_epsilon.is_finite() && self.advantage_epsilon >= 0.0) {
            return Err(invalid(
                "advantage_epsilon",
                format!("must be finite and ≥ 0, got {}", self.advantage_epsilon),
            ));
        }
        if let Some(c) = self.advantage_clip
            && !(c.is_finite() && c > 0.0)
        {
            return Err(invalid(
                "advantage_clip",
                format!("must be finite and > 0, got {c}"),
            ));
        }
        Ok(AdvantageEstimator {
            config: self.clone(),
        })
    }
}

/// Validated advantage settings; see [`AdvantageConfig`].
#[derive(Debug, Clone)]
pub struct AdvantageEstimator {
    config: AdvantageConfig,
}

/// Advantages of one generation batch, with the rewards they came from and TRL's reward metrics.
#[derive(Debug, Clone, PartialEq)]
pub struct AdvantageOutput {
    /// Â_i, one per completion (0 for unscorable completions).
    pub advantages: Vec<f64>,
    /// The aggregated reward R_i = Σ_k w_k r_{i,k} over the functions of weight ≠ 0 (NaN where
    /// none of them scored completion i).
    pub rewards: Vec<f64>,
    /// `reward` (nan-mean of R), `reward_std` (nan-std of R over the batch),
    /// `frac_reward_zero_std` (share of groups whose R has zero std), `frac_reward_unscored`
    /// (share of completions with no R), and per function `rewards/<name>/mean`,
    /// `rewards/<name>/std`, `rewards/<name>/nan_count` (non-finite values turned into `None`),
    /// `rewards/<name>/unscored` (its `None`s) and `rewards/<name>/<counter>` (how much each
    /// of its [`RewardFn::counters`](crate::RewardFn::counters) grew). A metric without a
    /// value (the mean of no scores) is left out, never NaN.
    pub metrics: BTreeMap<String, f64>,
}

impl AdvantageOutput {
    /// The advantages as a float tensor of the device's default float type.
    ///
    /// # Shapes
    /// - output: `[batch]`
    pub fn to_tensor(&self, device: &Device) -> Tensor<1> {
        let data = TensorData::new(self.advantages.clone(), [self.advantages.len()]);
        Tensor::from_data(data, device)
    }
}

impl AdvantageEstimator {
    /// The settings this estimator was built from.
    pub fn config(&self) -> &AdvantageConfig {
        &self.config
    }

    /// Advantages for a single reward function given as plain numbers (NaN = unscorable).
    ///
    /// # Errors
    /// [`Error::SizeMismatch`] if the batch is not a multiple of `num_generations`.
    pub fn compute_scalar(&self, rewards: &[f64]) -> Result<AdvantageOutput> {
        let column = RewardColumn::new(
            "reward",
            1.0,
            rewards
                .iter()
                .map(|r| r.is_finite().then_some(*r))
                .collect(),
        );
        self.compute(std::slice::from_ref(&column))
    }

    /// Advantages from one [`RewardColumn`] per reward function (each with its weight).
    ///
    /// # Errors
    /// [`Error::SizeMismatch`] if there are no columns, the columns differ in length, or the
    /// batch is not a multiple of `num_generations`.
    pub fn compute(&self, columns: &[RewardColumn]) -> Result<AdvantageOutput> {
        let g = self.config.num_generations;
        let eps = self.config.advantage_epsilon;
        let n = check_columns(columns, g)?;

        let values: Vec<Vec<f64>> = columns.iter().map(RewardColumn::as_nan_vec).collect();
        let rewards = weighted_nan_sum(columns, &values, n);
        let groups = n / g;
        let group_std: Vec<f64> = rewards.chunks(g).map(nan_std).collect();
        let batch_std = nan_std(&rewards);

        let mut advantages = match self.config.multi_objective_aggregation {
            MultiObjectiveAggregation::SumThenNormalize => {
                let mut adv = Vec::with_capacity(n);
                for (group, std_g) in rewards.chunks(g).zip(&group_std) {
                    let mean = nan_mean(group);
                    let scale = match self.config.scale_rewards {
                        ScaleRewards::Group => std_g + eps,
                        ScaleRewards::Batch => batch_std + eps,
                        ScaleRewards::None => 1.0,
                    };
                    adv.extend(group.iter().map(|r| (r - mean) / scale));
                }
                adv
            }
            MultiObjectiveAggregation::SumOfAdvantages => {
                let per_function: Vec<Vec<f64>> = values
                    .iter()
                    .map(|v| {
                        let std_batch = nan_std(v);
                        v.chunks(g)
                            .flat_map(|group| {
                                let mean = nan_mean(group);
                                let scale = match self.config.scale_rewards {
                                    ScaleRewards::Group => nan_std(group) + eps,
                                    ScaleRewards::Batch => std_batch + eps,
                                    ScaleRewards::None => 1.0,
                                };
                                group.iter().map(move |r| {
                                    let a = (r - mean) / scale;
                                    // A constant group (scale = ε = 0) or a lone score: no signal.
                                    if a.is_finite() { a } else { f64::NAN }
                                })
                            })
                            .collect()
                    })
                    .collect();
                weighted_nan_sum(columns, &per_function, n)
            }
            MultiObjectiveAggregation::NormalizeThenSum => {
                let normalized: Vec<Vec<f64>> = values
                    .iter()
                    .map(|v| {
                        v.chunks(g)
                            .flat_map(|group| {
                                let mean = nan_mean(group);
                                let std = nan_std(group);
                                group.iter().map(move |r| (r - mean) / (std + eps))
                            })
                            .collect()
                    })
                    .collect();
                let summed = weighted_nan_sum(columns, &normalized, n);
                let mean = nan_mean(&summed);
                let std = nan_std(&summed);
                summed.iter().map(|s| (s - mean) / (std + eps)).collect()
            }
        };
        for a in &mut advantages {
            if !a.is_finite() {
                *a = 0.0;
            }
            if let Some(c) = self.config.advantage_clip {
                *a = a.clamp(-c, c);
            }
        }

        // Metrics that have no value this batch (a mean of no scores, a std of fewer than two)
        // are left out rather than logged as NaN.
        let mut metrics = BTreeMap::new();
        let mut put = |name: String, value: f64| {
            if value.is_finite() {
                metrics.insert(name, value);
            }
        };
        put("reward".to_owned(), nan_mean(&rewards));
        put("reward_std".to_owned(), batch_std);
        let zero_std = group_std
            .iter()
            .filter(|s| s.abs() <= ZERO_STD_TOLERANCE)
            .count();
        put(
            "frac_reward_zero_std".to_owned(),
            zero_std as f64 / groups as f64,
        );
        let unscored = rewards.iter().filter(|r| r.is_nan()).count();
        put(
            "frac_reward_unscored".to_owned(),
            unscored as f64 / n as f64,
        );
        for (column, v) in columns.iter().zip(&values) {
            let name = &column.name;
            put(format!("rewards/{name}/mean"), nan_mean(v));
            put(format!("rewards/{name}/std"), nan_std(v));
            put(
                format!("rewards/{name}/nan_count"),
                column.non_finite as f64,
            );
            put(format!("rewards/{name}/unscored"), column.unscored() as f64);
            for (counter, value) in &column.counters {
                put(format!("rewards/{name}/{counter}"), *value as f64);
            }
        }
        Ok(AdvantageOutput {
            advantages,
            rewards,
            metrics,
        })
    }
}

fn check_columns(columns: &[RewardColumn], g: usize) -> Result<usize> {
    let Some(first) = columns.first() else {
        return Err(Error::SizeMismatch {
            what: "reward columns",
            expected: 1,
            got: 0,
        });
    };
    let n = first.values.len();
    for column in columns {
        if column.values.len() != n {
            return Err(Error::SizeMismatch {
                what: "reward column length",
                expected: n,
                got: column.values.len(),
            });
        }
    }
    if n == 0 || !n.is_multiple_of(g) {
        return Err(Error::SizeMismatch {
            what: "batch size (a positive multiple of num_generations)",
            expected: n.div_ceil(g).max(1) * g,
            got: n,
        });
    }
    Ok(n)
}

/// Σ_k w_k v_{k,i} over the functions whose value is finite; NaN if none is. A function of
/// weight 0 is only logged (a monitor, e.g. a ground truth): it never counts.
fn weighted_nan_sum(columns: &[RewardColumn], values: &[Vec<f64>], n: usize) -> Vec<f64> {
    (0..n)
        .map(|i| {
            let mut any = false;
            let mut sum = 0.0;
            for (column, v) in columns.iter().zip(values) {
                if column.weight != 0.0 && v[i].is_finite() {
                    any = true;
                    sum += column.weight * v[i];
                }
            }
            if any { sum } else { f64::NAN }
        })
        .collect()
}

/// Mean of the finite entries; NaN if there are none.
pub(crate) fn nan_mean(xs: &[f64]) -> f64 {
    let (sum, count) = xs
        .iter()
        .filter(|x| x.is_finite())
        .fold((0.0, 0usize), |(s, c), x| (s + x, c + 1));
    if count == 0 {
        f64::NAN
    } else {
        sum / count as f64
    }
}

/// Unbiased (n − 1) std of the finite entries, as `torch.std`; NaN with fewer than two.
pub(crate) fn nan_std(xs: &[f64]) -> f64 {
    let mean = nan_mean(xs);
    let finite: Vec<f64> = xs.iter().copied().filter(|x| x.is_finite()).collect();
    if finite.len() < 2 {
        return f64::NAN;
    }
    let ss: f64 = finite.iter().map(|x| (x - mean).powi(2)).sum();
    (ss / (finite.len() - 1) as f64).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const TOL: f64 = 1e-6;

    fn estimator(g: usize, scale: ScaleRewards, eps: f64) -> AdvantageEstimator {
        AdvantageConfig {
            num_generations: g,
            scale_rewards: scale,
            advantage_epsilon: eps,
            ..Default::default()
        }
        .init()
        .unwrap()
    }

    fn assert_close(got: &[f64], want: &[f64]) {
        assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() < TOL, "got {got:?}, want {want:?}");
        }
    }

    /// §3.6 of dpo-lipo-grpo.md: rewards [1, 0, 0, 1], unbiased std 0.577350.
    #[test]
    fn reference_advantages_per_epsilon() {
        let r = [1.0, 0.0, 0.0, 1.0];
        let trl = estimator(4, ScaleRewards::Group, 1e-4)
            .compute_scalar(&r)
            .unwrap();
        assert_close(&trl.advantages, &[0.865875, -0.865875, -0.865875, 0.865875]);
        let verl = estimator(4, ScaleRewards::Group, 1e-6)
            .compute_scalar(&r)
            .unwrap();
        assert_close(
            &verl.advantages,
            &[0.866024, -0.866024, -0.866024, 0.866024],
        );
        let orlhf = estimator(4, ScaleRewards::Group, 1e-9)
            .compute_scalar(&r)
            .unwrap();
        assert_close(
            &orlhf.advantages,
            &[0.866025, -0.866025, -0.866025, 0.866025],
        );
        let none = estimator(4, ScaleRewards::None, 1e-4)
            .compute_scalar(&r)
            .unwrap();
        assert_close(&none.advantages, &[0.5, -0.5, -0.5, 0.5]);
        // The population std (a common porting bug) would give ±0.9998: make sure we are not there.
        assert!((trl.advantages[0] - 0.9998).abs() > 0.1);
    }

    /// §3.6: a second, constant group gives Â ≡ 0; `batch` uses the batch std 0.462910.
    #[test]
    fn reference_batch_scaling() {
        let r = [1.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 1.0];
        let group = estimator(4, ScaleRewards::Group, 1e-4)
            .compute_scalar(&r)
            .unwrap();
        assert_close(&group.advantages[4..], &[0.0; 4]);
        assert!((group.metrics["frac_reward_zero_std"] - 0.5).abs() < 1e-12);
        let batch = estimator(4, ScaleRewards::Batch, 1e-4)
            .compute_scalar(&r)
            .unwrap();
        assert_close(
            &batch.advantages,
            &[1.079890, -1.079890, -1.079890, 1.079890, 0.0, 0.0, 0.0, 0.0],
        );
        assert!((batch.metrics["reward_std"] - 0.462910).abs() < TOL);
        assert!((batch.metrics["reward"] - 0.75).abs() < 1e-12);
    }

    /// Pref-GRPO Fig. 1 (pref-grpo-unigenbench.md §1.6): win rates [0, .67, 1, .33] with the
    /// code's unbiased std and ε = 1e-8 give ±1.16 / ±0.39 (the paper's ±1.34/±0.46 used the
    /// population std).
    #[test]
    fn pref_grpo_figure_one() {
        let w = [0.0, 2.0 / 3.0, 1.0, 1.0 / 3.0];
        let out = estimator(4, ScaleRewards::Group, 1e-8)
            .compute_scalar(&w)
            .unwrap();
        let a = &out.advantages;
        let rounded: Vec<f64> = a.iter().map(|x| (x * 100.0).round() / 100.0).collect();
        assert_eq!(rounded, vec![-1.16, 0.39, 1.16, -0.39]);
        // exact: ±0.5/0.430331, ±(1/6)/0.430331
        assert_close(a, &[-1.161895, 0.387298, 1.161895, -0.387298]);
    }

    #[test]
    fn nan_rewards_get_zero_advantage_and_are_left_out_of_stats() {
        let r = [1.0, f64::NAN, 0.0, 1.0];
        let out = estimator(4, ScaleRewards::Group, 1e-4)
            .compute_scalar(&r)
            .unwrap();
        // group of the finite three: mean 2/3, unbiased std 0.577350
        let std = (1.0f64 / 3.0).sqrt();
        assert_close(
            &out.advantages,
            &[
                (1.0 / 3.0) / (std + 1e-4),
                0.0,
                (-2.0 / 3.0) / (std + 1e-4),
                (1.0 / 3.0) / (std + 1e-4),
            ],
        );
        assert!(out.rewards[1].is_nan());
    }

    #[test]
    fn sum_then_normalize_is_nan_aware_weighted_sum() {
        let a = RewardColumn::new("a", 2.0, vec![Some(1.0), None, None, Some(0.0)]);
        let b = RewardColumn::new("b", 0.5, vec![Some(2.0), Some(4.0), None, None]);
        let est = estimator(2, ScaleRewards::None, 1e-4);
        let out = est.compute(&[a, b]).unwrap();
        assert_eq!(out.rewards[0], 3.0);
        assert_eq!(out.rewards[1], 2.0);
        assert!(out.rewards[2].is_nan());
        assert_eq!(out.rewards[3], 0.0);
        assert_close(&out.advantages, &[0.5, -0.5, 0.0, 0.0]);
        assert_eq!(out.metrics["rewards/a/mean"], 0.5);
        assert_eq!(out.metrics["rewards/b/mean"], 3.0);
        assert!((out.metrics["rewards/b/std"] - 2.0f64.sqrt()).abs() < 1e-12);
    }

    /// GDPO by hand: two functions, two groups of two.
    #[test]
    fn normalize_then_sum_matches_hand_computation() {
        let eps = 1e-4;
        let a = RewardColumn::new("a", 1.0, vec![Some(1.0), Some(0.0), Some(5.0), Some(5.0)]);
        let b = RewardColumn::new("b", 2.0, vec![Some(0.0), Some(3.0), Some(1.0), Some(2.0)]);
        let est = AdvantageConfig {
            num_generations: 2,
            multi_objective_aggregation: MultiObjectiveAggregation::NormalizeThenSum,
            ..Default::default()
        }
        .init()
        .unwrap();
        let out = est.compute(&[a, b]).unwrap();
        // within-group z-scores: std of a pair {x, y} is |x − y|/√2
        let s = std::f64::consts::FRAC_1_SQRT_2;
        let za = [0.5 / (s + eps), -0.5 / (s + eps), 0.0, 0.0];
        let sb = 3.0 * s;
        let zb = [
            -1.5 / (sb + eps),
            1.5 / (sb + eps),
            -0.5 / (s + eps),
            0.5 / (s + eps),
        ];
        let summed: Vec<f64> = (0..4).map(|i| za[i] + 2.0 * zb[i]).collect();
        let mean = summed.iter().sum::<f64>() / 4.0;
        let std = (summed.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / 3.0).sqrt();
        let want: Vec<f64> = summed.iter().map(|x| (x - mean) / (std + eps)).collect();
        assert_close(&out.advantages, &want);
    }

    /// Pref-GRPO's `reward_spec`: each function normalised in its own group, then the weighted
    /// sum, with no batch re-standardisation; a missing score adds 0.
    #[test]
    fn sum_of_advantages_is_the_weighted_sum_of_per_function_advantages() {
        let eps = 1e-8;
        let win = RewardColumn::new(
            "win_rate",
            0.7,
            vec![Some(0.0), Some(2.0 / 3.0), Some(1.0), Some(1.0 / 3.0)],
        );
        let clip = RewardColumn::new("clip", 1.4, vec![Some(0.30), Some(0.31), None, Some(0.29)]);
        let est = AdvantageConfig {
            num_generations: 4,
            advantage_epsilon: eps,
            multi_objective_aggregation: MultiObjectiveAggregation::SumOfAdvantages,
            ..Default::default()
        }
        .init()
        .unwrap();
        let out = est.compute(&[win, clip]).unwrap();
        // win rates: Fig. 1 (±1.161895, ±0.387298); clip: mean 0.30, unbiased std 0.01 over the
        // three scores → [0, 1, –, −1].
        let a_win = [-1.161895, 0.387298, 1.161895, -0.387298];
        let a_clip = [0.0, 0.01 / (0.01 + eps), 0.0, -0.01 / (0.01 + eps)];
        let want: Vec<f64> = (0..4).map(|i| 0.7 * a_win[i] + 1.4 * a_clip[i]).collect();
        assert_close(&out.advantages, &want);
        // One function of weight 1: the same as the TRL default.
        let r = [1.0, 0.0, 0.0, 1.0, 0.5, 0.2, 0.2, 0.9];
        let single = |agg| {
            AdvantageConfig {
                num_generations: 4,
                multi_objective_aggregation: agg,
                ..Default::default()
            }
            .init()
            .unwrap()
            .compute_scalar(&r)
            .unwrap()
            .advantages
        };
        assert_close(
            &single(MultiObjectiveAggregation::SumOfAdvantages),
            &single(MultiObjectiveAggregation::SumThenNormalize),
        );
    }

    /// A function of weight 0 is logged but never trained on, under every aggregation; a batch
    /// with no score at all gives zero advantages and no NaN metric.
    #[test]
    fn weight_zero_monitors_and_unscored_batches() {
        let r = RewardColumn::new("r", 1.0, vec![Some(1.0), Some(0.0), Some(0.0), Some(1.0)]);
        let gt = RewardColumn::new("gt", 0.0, vec![Some(5.0), Some(-3.0), Some(2.0), None]);
        for agg in [
            MultiObjectiveAggregation::SumThenNormalize,
            MultiObjectiveAggregation::NormalizeThenSum,
            MultiObjectiveAggregation::SumOfAdvantages,
        ] {
            let est = AdvantageConfig {
                num_generations: 4,
                multi_objective_aggregation: agg,
                ..Default::default()
            }
            .init()
            .unwrap();
            let alone = est.compute(std::slice::from_ref(&r)).unwrap();
            let with = est.compute(&[r.clone(), gt.clone()]).unwrap();
            assert_close(&with.advantages, &alone.advantages);
            assert_eq!(with.metrics["rewards/gt/mean"], 4.0 / 3.0);
            assert_eq!(with.metrics["rewards/gt/unscored"], 1.0);

            let none = RewardColumn::new("r", 1.0, vec![None; 4]);
            let out = est.compute(&[none]).unwrap();
            assert_eq!(out.advantages, vec![0.0; 4]);
            assert!(
                out.metrics.values().all(|v| v.is_finite()),
                "{:?}",
                out.metrics
            );
            assert!(!out.metrics.contains_key("reward"));
            assert_eq!(out.metrics["frac_reward_unscored"], 1.0);
            assert_eq!(out.metrics["rewards/r/unscored"], 4.0);
        }
    }

    #[test]
    fn clip_and_validation() {
        let est = AdvantageConfig {
            num_generations: 4,
            scale_rewards: ScaleRewards::None,
            advantage_clip: Some(0.3),
            ..Default::default()
        }
        .init()
        .unwrap();
        let out = est.compute_scalar(&[1.0, 0.0, 0.0, 1.0]).unwrap();
        assert_close(&out.advantages, &[0.3, -0.3, -0.3, 0.3]);
        let err = AdvantageConfig {
            num_generations: 1,
            ..Default::default()
        }
        .init()
        .unwrap_err();
        assert!(err.to_string().contains("num_generations"), "{err}");
        let err = AdvantageConfig {
            advantage_clip: Some(-1.0),
            ..Default::default()
        }
        .init()
        .unwrap_err();
        assert!(err.to_string().contains("advantage_clip"), "{err}");
        let err = estimator(4, ScaleRewards::Group, 1e-4)
            .compute_scalar(&[1.0, 2.0, 3.0])
            .unwrap_err();
        assert!(matches!(err, Error::SizeMismatch { got: 3, .. }), "{err}");
    }

    #[test]
    fn config_uses_trl_names() {
        let cfg: AdvantageConfig = serde_json::from_str(
            r#"{"scale_rewards":"batch","multi_objective_aggregation":"normalize_then_sum"}"#,
        )
        .unwrap();
        assert_eq!(cfg.scale_rewards, ScaleRewards::Batch);
        assert_eq!(
            cfg.multi_objective_aggregation,
            MultiObjectiveAggregation::NormalizeThenSum
        );
        assert!(serde_json::from_str::<AdvantageConfig>(r#"{"scale":"batch"}"#).is_err());
    }

    proptest! {
        /// Within every group the advantages sum to zero and are finite, for any scaling and ε,
        /// including constant groups.
        #[test]
        fn advantages_sum_to_zero_per_group(
            g in 2usize..9,
            groups in 1usize..5,
            seed in proptest::collection::vec(-100.0f64..100.0, 64),
            constant in any::<bool>(),
            scale in prop_oneof![Just(ScaleRewards::Group), Just(ScaleRewards::Batch), Just(ScaleRewards::None)],
            eps in prop_oneof![Just(1e-4), Just(1e-6), Just(1e-8)],
        ) {
            let n = g * groups;
            let rewards: Vec<f64> = (0..n).map(|i| if constant { 3.0 } else { seed[i % 64] }).collect();
            let out = estimator(g, scale, eps).compute_scalar(&rewards).unwrap();
            for group in out.advantages.chunks(g) {
                prop_assert!(group.iter().all(|a| a.is_finite()));
                let sum: f64 = group.iter().sum();
                let scale_ref = group.iter().map(|a| a.abs()).fold(1.0, f64::max);
                prop_assert!(sum.abs() < 1e-9 * scale_ref * g as f64, "sum {}", sum);
            }
        }
    }
}
