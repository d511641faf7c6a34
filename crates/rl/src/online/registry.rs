//! Reward functions by name, so that a run file can choose them (`[[grpo.rewards]]`).

use std::collections::BTreeMap;
use std::fmt;

use crate::error::Result;
use crate::reward::{FnReward, RewardFn, RewardSet};
use prefopt_core::invalid;

use super::config::RewardSpec;

type RewardFactory = Box<dyn Fn() -> Result<Box<dyn RewardFn>> + Send + Sync>;

/// Reward functions by name, for configs that choose them by name.
#[derive(Default)]
pub struct RewardRegistry {
    factories: BTreeMap<String, RewardFactory>,
}

impl fmt::Debug for RewardRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RewardRegistry")
            .field("names", &self.factories.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl RewardRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers `name` (replacing an earlier entry of that name).
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

    /// Whether `name` is registered.
    pub fn contains(&self, name: &str) -> bool {
        self.factories.contains_key(name)
    }

    /// The registered names.
    pub fn names(&self) -> Vec<&str> {
        self.factories.keys().map(String::as_str).collect()
    }

    /// Builds the weighted [`RewardSet`] of `specs`.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`](crate::Error::InvalidConfig) for `rewards` when a name is
    /// unknown (the message lists the known ones) or listed twice, for `reward_funcs` when the
    /// list is empty; any factory's error. No factory runs unless every name is known and
    /// listed once.
    pub fn build(&self, specs: &[RewardSpec]) -> Result<RewardSet> {
        for (i, spec) in specs.iter().enumerate() {
            if !self.contains(&spec.name) {
                return Err(invalid(
                    "rewards",
                    format!(
                        "unknown reward `{}`; known: {}",
                        spec.name,
                        self.names().join(", ")
                    ),
                ));
            }
            if specs[..i].iter().any(|s| s.name == spec.name) {
                return Err(invalid(
                    "rewards",
                    format!("reward `{}` is listed twice", spec.name),
                ));
            }
        }
        let mut functions = Vec::with_capacity(specs.len());
        for spec in specs {
            functions.push((self.factories[&spec.name])()?);
        }
        let weights: Vec<f64> = specs.iter().map(|s| s.weight).collect();
        RewardSet::new(functions, Some(&weights))
    }
}
