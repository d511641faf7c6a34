//! Reward functions and comparators by name, so that a run file can choose them
//! (`[[grpo.rewards]]`), and the building of a run's [`RewardSet`] from its entries.

use std::collections::BTreeMap;
use std::fmt;

use burn::prelude::*;

use crate::bradley_terry_win_rate::BradleyTerryWinRate;
use crate::error::{Error, Result};
use crate::judge::{PairwiseJudge, ProgrammaticJudge, Verdict};
use crate::reward::{FnReward, RewardFn, RewardSet};
use crate::reward_model::{REWARD_MODEL, RewardModelReward};
use crate::win_rate::{WinRateConfig, WinRateReward};
use prefopt_core::invalid;

use super::reward_spec::{JudgeSpec, RewardKind, RewardSpec};

type RewardFactory = Box<dyn Fn() -> Result<Box<dyn RewardFn>> + Send + Sync>;
type ComparatorFactory = Box<dyn Fn() -> Result<Box<dyn PairwiseJudge>> + Send + Sync>;

/// Pointwise reward functions and pairwise comparators by name, for configs that choose them
/// by name, and the device reward-model judges load on.
#[derive(Default)]
pub struct RewardRegistry {
    factories: BTreeMap<String, RewardFactory>,
    comparators: BTreeMap<String, ComparatorFactory>,
    device: Option<Device>,
}

impl fmt::Debug for RewardRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RewardRegistry")
            .field("names", &self.factories.keys().collect::<Vec<_>>())
            .field("comparators", &self.comparators.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl RewardRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers the pointwise reward `name` (replacing an earlier entry of that name).
    pub fn register<F>(&mut self, name: impl Into<String>, factory: F) -> &mut Self
    where
        F: Fn() -> Result<Box<dyn RewardFn>> + Send + Sync + 'static,
    {
        self.factories.insert(name.into(), Box::new(factory));
        self
    }

    /// Registers `name` as an [`FnReward`] of that name over `f(prompt, completion)`.
    pub fn register_fn<F>(&mut self, name: impl Into<String>, f: F) -> &mut Self
    where
        F: Fn(&str, &str) -> Option<f64> + Clone + Send + Sync + 'static,
    {
        let name = name.into();
        let reward_name = name.clone();
        self.register(name, move || {
            Ok(Box::new(FnReward::new(reward_name.clone(), f.clone())) as Box<dyn RewardFn>)
        })
    }

    /// Registers the comparator `name`, a pairwise judge for `judge = { kind =
    /// "programmatic", comparator = "<name>" }` (replacing an earlier one of that name).
    pub fn register_comparator<F>(&mut self, name: impl Into<String>, factory: F) -> &mut Self
    where
        F: Fn() -> Result<Box<dyn PairwiseJudge>> + Send + Sync + 'static,
    {
        self.comparators.insert(name.into(), Box::new(factory));
        self
    }

    /// Registers `name` as a [`ProgrammaticJudge`] over `f(prompt, first, second)`.
    pub fn register_comparator_fn<F>(&mut self, name: impl Into<String>, f: F) -> &mut Self
    where
        F: Fn(&str, &str, &str) -> Verdict + Clone + Send + Sync + 'static,
    {
        self.register_comparator(name, move || {
            Ok(Box::new(ProgrammaticJudge::new(f.clone())) as Box<dyn PairwiseJudge>)
        })
    }

    /// The device reward-model judges (`kind = "reward_model"` with a `path`) load on
    /// (default: the CPU).
    pub fn set_device(&mut self, device: &Device) -> &mut Self {
        self.device = Some(device.clone());
        self
    }

    /// Whether the pointwise reward `name` is registered.
    pub fn contains(&self, name: &str) -> bool {
        self.factories.contains_key(name)
    }

    /// The registered pointwise rewards.
    pub fn names(&self) -> Vec<&str> {
        self.factories.keys().map(String::as_str).collect()
    }

    /// The registered comparators.
    pub fn comparator_names(&self) -> Vec<&str> {
        self.comparators.keys().map(String::as_str).collect()
    }

    /// Builds the weighted [`RewardSet`] of `specs` for groups of `num_generations`.
    ///
    /// # Errors
    /// [`Error::RewardEntry`] naming the entry: a bad entry ([`RewardSpec::check`]), a name,
    /// `judge.reward` or `judge.comparator` the registry does not know (the message lists the
    /// known ones), a name listed twice, a judge that cannot be built (a missing API key
    /// variable, an unreadable template file or reward model); [`Error::InvalidConfig`] for
    /// `reward_funcs` when the list is empty. No factory runs unless every name is known.
    pub fn build(&self, specs: &[RewardSpec], num_generations: usize) -> Result<RewardSet> {
        super::reward_spec::check_rewards(specs)?;
        for (i, spec) in specs.iter().enumerate() {
            self.check_names(spec)
                .map_err(|e| Error::reward_entry(i, &spec.name, e))?;
        }
        let mut functions = Vec::with_capacity(specs.len());
        for (i, spec) in specs.iter().enumerate() {
            functions.push(
                self.build_one(spec, num_generations)
                    .map_err(|e| Error::reward_entry(i, &spec.name, e))?,
            );
        }
        let weights: Vec<f64> = specs.iter().map(|s| s.weight).collect();
        RewardSet::new(functions, Some(&weights))
    }

    fn check_names(&self, spec: &RewardSpec) -> Result<()> {
        let known = |what: &str, names: Vec<&str>| {
            if names.is_empty() {
                format!("no {what} is registered")
            } else {
                format!("known: {}", names.join(", "))
            }
        };
        match (&spec.kind, &spec.judge) {
            (RewardKind::Pointwise, _) if !self.contains(&spec.name) => Err(invalid(
                "name",
                format!(
                    "unknown reward `{}`; {}",
                    spec.name,
                    known("pointwise reward", self.names())
                ),
            )),
            (_, Some(JudgeSpec::BradleyTerry(bt))) if !self.contains(&bt.reward) => Err(invalid(
                "reward",
                format!(
                    "unknown pointwise reward `{}`; {}",
                    bt.reward,
                    known("pointwise reward", self.names())
                ),
            )),
            (_, Some(JudgeSpec::RewardModel(rm)))
                if rm.path.is_none() && !self.contains(REWARD_MODEL) =>
            {
                Err(invalid(
                    "path",
                    "the reward_model judge needs `path` or `[model] reward_model`",
                ))
            }
            (_, Some(JudgeSpec::Programmatic(p)))
                if !self.comparators.contains_key(&p.comparator) =>
            {
                Err(invalid(
                    "comparator",
                    format!(
                        "unknown comparator `{}`; {}",
                        p.comparator,
                        known("comparator", self.comparator_names())
                    ),
                ))
            }
            _ => Ok(()),
        }
    }

    fn build_one(&self, spec: &RewardSpec, num_generations: usize) -> Result<Box<dyn RewardFn>> {
        let Some(judge) = &spec.judge else {
            return (self.factories[&spec.name])();
        };
        let win_rate = |judge: Box<dyn PairwiseJudge>| -> Result<Box<dyn RewardFn>> {
            Ok(Box::new(WinRateReward::new(
                spec.name.clone(),
                judge,
                WinRateConfig {
                    num_generations,
                    swap_debias: spec.swap_debias,
                    workers: spec.workers,
                },
            )?))
        };
        let bradley_terry = |scorer: Box<dyn RewardFn>, tie_margin| -> Result<Box<dyn RewardFn>> {
            Ok(Box::new(BradleyTerryWinRate::new(
                spec.name.clone(),
                scorer,
                num_generations,
                tie_margin,
            )?))
        };
        match judge {
            JudgeSpec::Llm(config) => win_rate(Box::new(config.init()?)),
            JudgeSpec::Programmatic(p) => win_rate((self.comparators[&p.comparator])()?),
            JudgeSpec::BradleyTerry(bt) => {
                bradley_terry((self.factories[&bt.reward])()?, bt.tie_margin)
            }
            JudgeSpec::RewardModel(rm) => {
                let scorer: Box<dyn RewardFn> = match &rm.path {
                    Some(path) => {
                        let device = self.device.clone().unwrap_or_else(Device::flex);
                        Box::new(RewardModelReward::load(path, &device)?)
                    }
                    None => (self.factories[REWARD_MODEL])()?,
                };
                bradley_terry(scorer, rm.tie_margin)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::online::reward_spec::{BradleyTerryJudgeSpec, ProgrammaticJudgeSpec};

    fn registry() -> RewardRegistry {
        let mut r = RewardRegistry::new();
        r.register_fn("len", |_, c| Some(c.len() as f64));
        r.register_comparator_fn("shorter", |_, a, b| {
            Verdict::from_scores(-(a.len() as f64), -(b.len() as f64))
        });
        r
    }

    #[test]
    fn builds_pointwise_and_win_rate_entries() {
        let specs = [
            RewardSpec::pointwise("len", 0.0),
            RewardSpec::win_rate(
                "short",
                1.0,
                JudgeSpec::Programmatic(ProgrammaticJudgeSpec {
                    comparator: "shorter".into(),
                }),
            ),
            RewardSpec::win_rate(
                "long",
                0.5,
                JudgeSpec::BradleyTerry(BradleyTerryJudgeSpec {
                    reward: "len".into(),
                    tie_margin: 0.0,
                }),
            ),
        ];
        let set = registry().build(&specs, 2).unwrap();
        assert_eq!(set.names(), vec!["len", "short", "long"]);
        let cols = set.score(&["p"; 2], &["a", "aaa"]).unwrap();
        assert_eq!(cols[1].values, vec![Some(1.0), Some(0.0)]);
        assert_eq!(cols[2].values, vec![Some(0.0), Some(1.0)]);
        assert_eq!(
            cols[1].counters,
            vec![("comparisons", 1), ("ties", 0), ("judge_calls", 1)]
        );
        assert_eq!((cols[0].weight, cols[2].weight), (0.0, 0.5));
    }

    #[test]
    fn unknown_names_list_the_known_ones() {
        let r = registry();
        let err = r
            .build(&[RewardSpec::pointwise("nope", 1.0)], 2)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("entry 1 (`nope`)") && err.contains("known: len"),
            "{err}"
        );
        let bad = RewardSpec::win_rate(
            "pref",
            1.0,
            JudgeSpec::Programmatic(ProgrammaticJudgeSpec {
                comparator: "longer".into(),
            }),
        );
        let err = r
            .build(&[RewardSpec::pointwise("len", 1.0), bad], 2)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("entry 2 (`pref`)")
                && err.contains("`comparator`")
                && err.contains("known: shorter"),
            "{err}"
        );
        let err = r
            .build(
                &[RewardSpec::win_rate(
                    "bt",
                    1.0,
                    JudgeSpec::BradleyTerry(BradleyTerryJudgeSpec {
                        reward: "nope".into(),
                        tie_margin: 0.0,
                    }),
                )],
                2,
            )
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("`reward`") && err.contains("known: len"),
            "{err}"
        );
        let err = r.build(&[], 2).unwrap_err().to_string();
        assert!(err.contains("reward_funcs"), "{err}");
    }
}
