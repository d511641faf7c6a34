//! Reward functions and weighted sets of them.
//!
//! A reward function scores a batch of (prompt, completion) pairs and returns one `Option<f64>`
//! per completion: `None` means "cannot score this one" (TRL's `None` → NaN). A function that
//! returns a non-finite number (NaN, ±∞) gets it turned into `None`, a `tracing` warning, and a
//! count in [`RewardColumn::non_finite`] (logged as `rewards/<name>/nan_count`), so one bad score
//! cannot poison the group statistics.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{Error, Result};
use prefopt_core::invalid;

/// A pointwise reward function over a batch.
///
/// `C` is the completion type: `str` for text (the default); image or other completion types
/// plug in the same way.
pub trait RewardFn<C: ?Sized = str>: Send + Sync {
    /// The name used in metrics (`rewards/<name>/mean`).
    fn name(&self) -> &str;

    /// One score per completion (`prompts[i]` is the prompt of `completions[i]`), `None` where
    /// the completion cannot be scored.
    ///
    /// # Errors
    /// Any failure that makes the whole batch unscorable (e.g. an unreachable service); the
    /// training step must then not run.
    fn score(&self, prompts: &[&str], completions: &[&C]) -> Result<Vec<Option<f64>>>;

    /// Counters since the function was built (e.g. a win rate's `judge_calls` and `ties`), by
    /// name; [`RewardSet::score`] logs how much each grew during a batch as
    /// `rewards/<name>/<counter>`. None by default.
    fn counters(&self) -> Vec<(&'static str, u64)> {
        Vec::new()
    }
}

/// One reward function's scores over a batch, with its weight.
#[derive(Debug, Clone, PartialEq)]
pub struct RewardColumn {
    /// The reward function's name.
    pub name: String,
    /// Its weight w_k in the aggregation.
    pub weight: f64,
    /// One score per completion; `None` = unscorable.
    pub values: Vec<Option<f64>>,
    /// How many non-finite scores were turned into `None`.
    pub non_finite: usize,
    /// How much each of the function's [`RewardFn::counters`] grew while scoring this batch.
    pub counters: Vec<(&'static str, u64)>,
}

impl RewardColumn {
    /// A column from raw scores; non-finite numbers become `None` and are counted.
    pub fn new(name: impl Into<String>, weight: f64, values: Vec<Option<f64>>) -> Self {
        let mut non_finite = 0;
        let values = values
            .into_iter()
            .map(|v| match v {
                Some(x) if !x.is_finite() => {
                    non_finite += 1;
                    None
                }
                other => other,
            })
            .collect();
        Self {
            name: name.into(),
            weight,
            values,
            non_finite,
            counters: Vec::new(),
        }
    }

    /// Completions this column has no score for (`None`, non-finite scores included).
    pub fn unscored(&self) -> usize {
        self.values.iter().filter(|v| v.is_none()).count()
    }

    /// The values with `None` as NaN.
    pub fn as_nan_vec(&self) -> Vec<f64> {
        self.values.iter().map(|v| v.unwrap_or(f64::NAN)).collect()
    }
}

/// A weighted set of reward functions (TRL `reward_funcs` + `reward_weights`).
pub struct RewardSet<C: ?Sized = str> {
    functions: Vec<(Box<dyn RewardFn<C>>, f64)>,
    non_finite_total: AtomicU64,
}

impl<C: ?Sized> fmt::Debug for RewardSet<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RewardSet")
            .field(
                "functions",
                &self
                    .functions
                    .iter()
                    .map(|(func, w)| (func.name().to_owned(), *w))
                    .collect::<Vec<_>>(),
            )
            .field("non_finite_total", &self.non_finite_total)
            .finish()
    }
}

impl<C: ?Sized> RewardSet<C> {
    /// A set from reward functions and optional weights (`reward_weights`; `None` = all ones,
    /// as TRL).
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] for `reward_funcs` if the set is empty or two functions share a
    /// name, and for `reward_weights` if its length differs or a weight is not finite.
    pub fn new(functions: Vec<Box<dyn RewardFn<C>>>, weights: Option<&[f64]>) -> Result<Self> {
        if functions.is_empty() {
            return Err(invalid(
                "reward_funcs",
                "at least one reward function is needed",
            ));
        }
        for (i, f) in functions.iter().enumerate() {
            if functions[..i].iter().any(|g| g.name() == f.name()) {
                return Err(invalid(
                    "reward_funcs",
                    format!("two reward functions are named `{}`", f.name()),
                ));
            }
        }
        let weights = match weights {
            None => vec![1.0; functions.len()],
            Some(w) if w.len() != functions.len() => {
                return Err(invalid(
                    "reward_weights",
                    format!(
                        "has {} entries for {} reward functions",
                        w.len(),
                        functions.len()
                    ),
                ));
            }
            Some(w) => {
                if let Some(bad) = w.iter().find(|x| !x.is_finite()) {
                    return Err(invalid(
                        "reward_weights",
                        format!("weights must be finite, got {bad}"),
                    ));
                }
                w.to_vec()
            }
        };
        Ok(Self {
            functions: functions.into_iter().zip(weights).collect(),
            non_finite_total: AtomicU64::new(0),
        })
    }

    /// The functions' names, in order.
    pub fn names(&self) -> Vec<&str> {
        self.functions.iter().map(|(f, _)| f.name()).collect()
    }

    /// Non-finite scores turned into `None` since this set was built (all functions).
    pub fn non_finite_total(&self) -> u64 {
        self.non_finite_total.load(Ordering::Relaxed)
    }

    /// Scores a batch with every function, one [`RewardColumn`] each.
    ///
    /// # Errors
    /// The first failing function's error, or [`Error::Reward`] if a function returns the wrong
    /// number of scores. Never partial results.
    pub fn score(&self, prompts: &[&str], completions: &[&C]) -> Result<Vec<RewardColumn>> {
        if prompts.len() != completions.len() {
            return Err(Error::SizeMismatch {
                what: "prompts (one per completion)",
                expected: completions.len(),
                got: prompts.len(),
            });
        }
        let mut columns = Vec::with_capacity(self.functions.len());
        for (func, weight) in &self.functions {
            let before = func.counters();
            let values = func.score(prompts, completions)?;
            if values.len() != completions.len() {
                return Err(Error::Reward {
                    name: func.name().to_owned(),
                    reason: format!(
                        "returned {} scores for {} completions",
                        values.len(),
                        completions.len()
                    ),
                });
            }
            let mut column = RewardColumn::new(func.name(), *weight, values);
            column.counters = func
                .counters()
                .into_iter()
                .map(|(name, after)| {
                    let was = before.iter().find(|(n, _)| *n == name).map_or(0, |c| c.1);
                    (name, after.saturating_sub(was))
                })
                .collect();
            let unscored = column.unscored();
            if unscored > 0 {
                tracing::warn!(
                    reward = func.name(),
                    unscored,
                    of = completions.len(),
                    "reward function gave no score for some completions; they get advantage 0 \
                     from it"
                );
            }
            if column.non_finite > 0 {
                tracing::warn!(
                    reward = func.name(),
                    count = column.non_finite,
                    "reward function returned non-finite scores; treated as None"
                );
                self.non_finite_total
                    .fetch_add(column.non_finite as u64, Ordering::Relaxed);
            }
            columns.push(column);
        }
        Ok(columns)
    }
}

/// A reward function from a closure over one (prompt, completion) pair.
pub struct FnReward<F> {
    name: String,
    f: F,
}

impl<F> fmt::Debug for FnReward<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FnReward")
            .field("name", &self.name)
            .finish()
    }
}

impl<F> FnReward<F> {
    /// Wraps `f(prompt, completion) -> Option<f64>` under `name`.
    pub fn new(name: impl Into<String>, f: F) -> Self {
        Self {
            name: name.into(),
            f,
        }
    }
}

impl<C: ?Sized, F> RewardFn<C> for FnReward<F>
where
    F: Fn(&str, &C) -> Option<f64> + Send + Sync,
{
    fn name(&self) -> &str {
        &self.name
    }

    fn score(&self, prompts: &[&str], completions: &[&C]) -> Result<Vec<Option<f64>>> {
        Ok(prompts
            .iter()
            .zip(completions)
            .map(|(p, c)| (self.f)(p, c))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn len_reward() -> Box<dyn RewardFn> {
        Box::new(FnReward::new(
            "len",
            |_: &str, c: &str| Some(c.len() as f64),
        ))
    }

    #[test]
    fn nan_scores_become_none_and_are_counted() {
        let nan: Box<dyn RewardFn> = Box::new(FnReward::new("nan", |_: &str, c: &str| {
            if c == "bad" {
                Some(f64::NAN)
            } else {
                Some(1.0)
            }
        }));
        let set = RewardSet::new(vec![len_reward(), nan], Some(&[1.0, 0.5])).unwrap();
        let cols = set.score(&["p", "p"], &["ok", "bad"]).unwrap();
        assert_eq!(cols[0].values, vec![Some(2.0), Some(3.0)]);
        assert_eq!(cols[1].values, vec![Some(1.0), None]);
        assert_eq!(cols[1].non_finite, 1);
        assert_eq!(cols[1].weight, 0.5);
        assert_eq!(set.non_finite_total(), 1);
    }

    #[test]
    fn weights_are_validated() {
        let err = RewardSet::new(vec![len_reward()], Some(&[1.0, 2.0])).unwrap_err();
        assert!(err.to_string().contains("reward_weights"), "{err}");
        let err = RewardSet::new(vec![len_reward(), len_reward()], None).unwrap_err();
        assert!(err.to_string().contains("reward_funcs"), "{err}");
        let err = RewardSet::<str>::new(vec![], None).unwrap_err();
        assert!(err.to_string().contains("reward_funcs"), "{err}");
    }

    #[test]
    fn wrong_score_count_is_an_error() {
        struct Short;
        impl RewardFn for Short {
            fn name(&self) -> &str {
                "short"
            }
            fn score(&self, _: &[&str], _: &[&str]) -> Result<Vec<Option<f64>>> {
                Ok(vec![Some(1.0)])
            }
        }
        let set = RewardSet::new(vec![Box::new(Short) as Box<dyn RewardFn>], None).unwrap();
        let err = set.score(&["a", "b"], &["x", "y"]).unwrap_err();
        assert!(matches!(err, Error::Reward { .. }), "{err}");
    }
}
