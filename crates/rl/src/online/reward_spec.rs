//! `[[grpo.rewards]]`: the rewards of a run, each with a name, a weight and a kind.
//!
//! ```toml
//! [[grpo.rewards]]                 # pointwise: a function of the RewardRegistry, by name
//! name = "sentiment"
//! weight = 1.0
//!
//! [[grpo.rewards]]                 # Pref-GRPO: win rates over each group from a judge
//! name = "pref"                    # free; metrics are rewards/pref/...
//! kind = "win_rate"
//! swap_debias = true               # judge both orders (pairwise judges: llm, programmatic)
//! [grpo.rewards.judge]
//! kind = "llm"                     # | "reward_model" | "bradley_terry" | "programmatic"
//! base_url = "http://127.0.0.1:8000/v1"
//! model = "judge"
//! template_file = "judge.txt"
//! max_tokens = 512
//! ```
//!
//! A weight of 0 makes a reward a monitor: it is computed and logged (`rewards/<name>/mean`)
//! but never trained on (a ground truth next to a proxy, for instance).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::llm_judge::LlmJudgeConfig;
use prefopt_core::invalid;

/// Which kind of reward an entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RewardKind {
    /// One score per completion from the registry's function called `name` (default).
    #[default]
    Pointwise,
    /// Pref-GRPO: the win rate of each completion against the G − 1 others of its group, from
    /// the entry's `judge`.
    WinRate,
}

/// One `[[grpo.rewards]]` entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RewardSpec {
    /// Pointwise: the registry name of the function. Win rate: any name (used in metrics).
    pub name: String,
    /// Its weight w_k (default 1; 0 = logged, not trained on).
    #[serde(default = "one")]
    pub weight: f64,
    /// `pointwise` (default) or `win_rate`.
    #[serde(default)]
    pub kind: RewardKind,
    /// The judge of a `win_rate` entry (`[grpo.rewards.judge]`).
    #[serde(default)]
    pub judge: Option<JudgeSpec>,
    /// Judge every pair in both orders and combine the answers (agree → that verdict,
    /// disagree → tie); for the `llm` and `programmatic` judges. Default false, as the paper.
    #[serde(default)]
    pub swap_debias: bool,
    /// Concurrent judge calls of a `win_rate` entry (default 16, as the reference code).
    #[serde(default = "sixteen")]
    pub workers: usize,
}

fn one() -> f64 {
    1.0
}

fn sixteen() -> usize {
    16
}

/// The judge of a `win_rate` reward (`[grpo.rewards.judge]`, chosen by `kind`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum JudgeSpec {
    /// An LLM behind an OpenAI-compatible chat endpoint ([`LlmJudgeConfig`]'s keys:
    /// `base_url`, `model`, `api_key_env`, `template` or `template_file`, `max_tokens`, ...).
    Llm(Box<LlmJudgeConfig>),
    /// Bradley–Terry verdicts from a reward-model checkpoint's scores.
    RewardModel(RewardModelJudgeSpec),
    /// Bradley–Terry verdicts from a pointwise reward of the registry.
    BradleyTerry(BradleyTerryJudgeSpec),
    /// A comparator of the registry (a programmatic rule that returns a verdict).
    Programmatic(ProgrammaticJudgeSpec),
}

/// `kind = "reward_model"`: P(a ≻ b) = σ(r_a − r_b) from a sequence-classifier checkpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RewardModelJudgeSpec {
    /// The checkpoint (HF layout with its tokenizer); default: `[model] reward_model`.
    #[serde(default)]
    pub path: Option<PathBuf>,
    /// Half-width of the tie band around P = ½, in [0, ½) (default 0: only equal scores tie).
    #[serde(default)]
    pub tie_margin: f64,
}

/// `kind = "bradley_terry"`: P(a ≻ b) = σ(s_a − s_b) from a pointwise reward's scores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BradleyTerryJudgeSpec {
    /// The registry name of the pointwise reward that scores each completion.
    pub reward: String,
    /// Half-width of the tie band around P = ½, in [0, ½) (default 0).
    #[serde(default)]
    pub tie_margin: f64,
}

/// `kind = "programmatic"`: a comparator registered by name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProgrammaticJudgeSpec {
    /// The registry name of the comparator.
    pub comparator: String,
}

impl RewardSpec {
    /// A pointwise entry: the registry's function `name` with `weight`.
    pub fn pointwise(name: impl Into<String>, weight: f64) -> Self {
        Self {
            name: name.into(),
            weight,
            kind: RewardKind::Pointwise,
            judge: None,
            swap_debias: false,
            workers: sixteen(),
        }
    }

    /// A `win_rate` entry named `name` over `judge`.
    pub fn win_rate(name: impl Into<String>, weight: f64, judge: JudgeSpec) -> Self {
        Self {
            kind: RewardKind::WinRate,
            judge: Some(judge),
            ..Self::pointwise(name, weight)
        }
    }

    /// Checks what can be checked without a registry: a finite weight, a judge exactly for
    /// `win_rate`, `swap_debias` only with a judge that has an order, a tie band in [0, ½).
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] naming the key.
    pub fn check(&self) -> Result<()> {
        if self.name.is_empty() {
            return Err(invalid("name", "must not be empty"));
        }
        if !self.weight.is_finite() {
            return Err(invalid(
                "weight",
                format!("must be finite, got {}", self.weight),
            ));
        }
        if self.workers == 0 {
            return Err(invalid("workers", "must be > 0"));
        }
        match (self.kind, &self.judge) {
            (RewardKind::Pointwise, Some(_)) => Err(invalid(
                "judge",
                "only a `kind = \"win_rate\"` reward has a judge (the default kind is \
                 `pointwise`)",
            )),
            (RewardKind::Pointwise, None) if self.swap_debias => Err(invalid(
                "swap_debias",
                "only a `kind = \"win_rate\"` reward judges pairs",
            )),
            (RewardKind::Pointwise, None) => Ok(()),
            (RewardKind::WinRate, None) => Err(invalid(
                "judge",
                "a `kind = \"win_rate\"` reward needs a [grpo.rewards.judge] table with a \
                 `kind`: llm, reward_model, bradley_terry or programmatic",
            )),
            (RewardKind::WinRate, Some(judge)) => judge.check(self.swap_debias),
        }
    }
}

impl JudgeSpec {
    fn check(&self, swap_debias: bool) -> Result<()> {
        let tie_margin = match self {
            JudgeSpec::RewardModel(s) => Some(s.tie_margin),
            JudgeSpec::BradleyTerry(s) => Some(s.tie_margin),
            JudgeSpec::Llm(_) | JudgeSpec::Programmatic(_) => None,
        };
        if let Some(margin) = tie_margin {
            if !(0.0..0.5).contains(&margin) {
                return Err(invalid(
                    "tie_margin",
                    format!("must be in [0, 0.5), got {margin}"),
                ));
            }
            if swap_debias {
                return Err(invalid(
                    "swap_debias",
                    "a Bradley–Terry judge is symmetric: swapping the order changes nothing",
                ));
            }
        }
        Ok(())
    }
}

/// Checks every entry ([`RewardSpec::check`]), that names are unique and that some entry
/// has a weight ≠ 0.
///
/// # Errors
/// [`Error::RewardEntry`] naming the entry and wrapping the key's error, or
/// [`Error::InvalidConfig`] for `rewards`.
pub(crate) fn check_rewards(specs: &[RewardSpec]) -> Result<()> {
    for (i, spec) in specs.iter().enumerate() {
        spec.check()
            .map_err(|e| Error::reward_entry(i, &spec.name, e))?;
        if specs[..i].iter().any(|s| s.name == spec.name) {
            return Err(Error::reward_entry(
                i,
                &spec.name,
                invalid::<Error>("name", "is listed twice; names must be unique"),
            ));
        }
    }
    if !specs.is_empty() && specs.iter().all(|s| s.weight == 0.0) {
        return Err(invalid(
            "rewards",
            "every [[grpo.rewards]] entry has weight 0: nothing to train on",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    struct File {
        rewards: Vec<RewardSpec>,
    }

    fn parse(text: &str) -> std::result::Result<Vec<RewardSpec>, String> {
        toml::from_str::<File>(text)
            .map(|f| f.rewards)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn every_judge_kind_parses() {
        let specs = parse(
            r#"
            [[rewards]]
            name = "sentiment"
            [[rewards]]
            name = "llm"
            kind = "win_rate"
            weight = 0.7
            swap_debias = true
            [rewards.judge]
            kind = "llm"
            base_url = "http://127.0.0.1:9/v1"
            template_file = "judge.txt"
            max_tokens = 64
            [[rewards]]
            name = "rm"
            kind = "win_rate"
            judge = { kind = "reward_model", path = "rm", tie_margin = 0.01 }
            [[rewards]]
            name = "bt"
            kind = "win_rate"
            judge = { kind = "bradley_terry", reward = "sentiment" }
            [[rewards]]
            name = "rule"
            kind = "win_rate"
            judge = { kind = "programmatic", comparator = "longer" }
            "#,
        )
        .unwrap();
        assert_eq!(specs[0], RewardSpec::pointwise("sentiment", 1.0));
        let Some(JudgeSpec::Llm(llm)) = &specs[1].judge else {
            panic!("{:?}", specs[1])
        };
        assert_eq!(
            (llm.max_tokens, llm.template_file.as_deref()),
            (64, Some(std::path::Path::new("judge.txt")))
        );
        assert!(specs[1].swap_debias && specs[1].weight == 0.7);
        assert_eq!(
            specs[2].judge,
            Some(JudgeSpec::RewardModel(RewardModelJudgeSpec {
                path: Some("rm".into()),
                tie_margin: 0.01
            }))
        );
        assert_eq!(
            specs[4],
            RewardSpec::win_rate(
                "rule",
                1.0,
                JudgeSpec::Programmatic(ProgrammaticJudgeSpec {
                    comparator: "longer".into()
                })
            )
        );
        check_rewards(&specs).unwrap();
    }

    #[test]
    fn bad_entries_name_the_key() {
        for (text, key) in [
            (
                "[[rewards]]\nname = \"a\"\nkind = \"win_rate\"\njudge = { kind = \"llm\", base_ur = \"x\" }",
                "base_ur",
            ),
            (
                "[[rewards]]\nname = \"a\"\nkind = \"win_rate\"\njudge = { kind = \"oracle\" }",
                "oracle",
            ),
            ("[[rewards]]\nname = \"a\"\nkind = \"pairwise\"", "pairwise"),
            ("[[rewards]]\nname = \"a\"\nweigth = 1.0", "weigth"),
        ] {
            let err = parse(text).unwrap_err();
            assert!(err.contains(key), "{key}: {err}");
        }
        for (text, key) in [
            ("[[rewards]]\nname = \"a\"\nkind = \"win_rate\"", "judge"),
            (
                "[[rewards]]\nname = \"a\"\njudge = { kind = \"programmatic\", comparator = \"c\" }",
                "judge",
            ),
            (
                "[[rewards]]\nname = \"a\"\nswap_debias = true",
                "swap_debias",
            ),
            (
                "[[rewards]]\nname = \"a\"\nkind = \"win_rate\"\njudge = { kind = \"bradley_terry\", reward = \"r\", tie_margin = 0.5 }",
                "tie_margin",
            ),
            (
                "[[rewards]]\nname = \"a\"\nkind = \"win_rate\"\nswap_debias = true\njudge = { kind = \"reward_model\" }",
                "swap_debias",
            ),
            (
                "[[rewards]]\nname = \"a\"\n[[rewards]]\nname = \"a\"",
                "name",
            ),
        ] {
            let err = check_rewards(&parse(text).unwrap())
                .unwrap_err()
                .to_string();
            assert!(
                err.contains(&format!("`{key}`")) && err.contains("(`a`)"),
                "{key}: {err}"
            );
        }
        let err = check_rewards(&parse("[[rewards]]\nname = \"a\"\nweight = 0.0").unwrap())
            .unwrap_err()
            .to_string();
        assert!(err.contains("weight 0"), "{err}");
    }
}
