//! Aggregating verdicts into UniGenBench scores.
//!
//! - sub-dimension score = judged-1 instances / instances, pooled over all prompts and images
//!   (paper Eq. 16; `calculate_score.py`);
//! - primary-dimension score = pooled over all instances of its sub-dimensions (**micro**, what
//!   the released code and the leaderboards compute), or the mean of its sub-dimension scores
//!   (**macro**, what the paper's text says) with [`Aggregation::Macro`];
//! - overall = unweighted mean of the 10 primary scores.
//!
//! Scoring fails closed: an expected `(index, j)` without a verdict, or with a failed one, makes
//! [`score`] refuse unless [`ScoreOptions::allow_missing`] is set; then the report carries the
//! denominators so the gap is visible.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::unigenbench::dimension::{PrimaryDimension, SubDimension};
use crate::unigenbench::suite::Suite;
use crate::unigenbench::verdict::Verdicts;
use crate::{Error, Result};

/// How a primary dimension pools its sub-dimensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Aggregation {
    /// Pool all instances (the leaderboard).
    #[default]
    Micro,
    /// Mean of the sub-dimension scores (the paper's text).
    Macro,
}

/// `correct / total` instances.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Fraction {
    /// Instances judged 1.
    pub correct: u64,
    /// Instances judged.
    pub total: u64,
}

impl Fraction {
    /// Percentage in 0–100 (`NaN` when `total` is 0).
    pub fn percent(self) -> f64 {
        if self.total == 0 {
            f64::NAN
        } else {
            100.0 * self.correct as f64 / self.total as f64
        }
    }

    fn add(&mut self, other: Self) {
        self.correct += other.correct;
        self.total += other.total;
    }
}

/// Options for [`score`].
#[derive(Debug, Clone, Copy)]
pub struct ScoreOptions {
    /// Images per prompt (official: 4).
    pub images_per_prompt: usize,
    /// Score what is there instead of refusing when verdicts are missing or failed.
    pub allow_missing: bool,
    /// Primary-dimension pooling.
    pub aggregation: Aggregation,
}

impl Default for ScoreOptions {
    fn default() -> Self {
        Self {
            images_per_prompt: 4,
            allow_missing: false,
            aggregation: Aggregation::Micro,
        }
    }
}

/// How complete the verdicts are.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Coverage {
    /// Expected images (prompts × images per prompt).
    pub expected: usize,
    /// Images with a parsed verdict.
    pub judged: usize,
    /// Images with no verdict line.
    pub missing: usize,
    /// Images whose verdict failed (`scores: null`).
    pub unjudged: usize,
    /// A few of the missing/unjudged `(index, j)`, for messages.
    pub examples: Vec<(usize, usize)>,
}

/// A sub-dimension's result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SubScore {
    /// The sub-dimension.
    pub sub: SubDimension,
    /// Its test-point string as written in the suite's language.
    pub label: String,
    /// Pooled instances.
    pub fraction: Fraction,
    /// Percentage.
    pub percent: f64,
}

/// A primary dimension's result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PrimaryScore {
    /// The primary dimension.
    pub primary: PrimaryDimension,
    /// Pooled instances of all its sub-dimensions.
    pub fraction: Fraction,
    /// Percentage under the chosen aggregation.
    pub percent: f64,
}

/// The scores of one model on one suite.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScoreReport {
    /// Mean of the primary percentages.
    pub overall: f64,
    /// The 10 primaries, in leaderboard order (those without instances are left out).
    pub primary: Vec<PrimaryScore>,
    /// The sub-dimensions with instances, in leaderboard order.
    pub sub: Vec<SubScore>,
    /// Primary pooling used.
    pub aggregation: Aggregation,
    /// Verdict coverage.
    pub coverage: Coverage,
}

impl ScoreReport {
    /// The `--json` object: `{"overall": x, "primary": {name: x}, "sub": {test point: x}}`,
    /// percentages in 0–100, unrounded.
    pub fn to_json(&self) -> serde_json::Value {
        let primary: serde_json::Map<String, serde_json::Value> = self
            .primary
            .iter()
            .map(|p| (p.primary.name().to_string(), p.percent.into()))
            .collect();
        let sub: serde_json::Map<String, serde_json::Value> = self
            .sub
            .iter()
            .map(|s| (s.label.clone(), s.percent.into()))
            .collect();
        serde_json::json!({"overall": self.overall, "primary": primary, "sub": sub})
    }

    /// The percentage of a primary dimension, if scored.
    pub fn primary_percent(&self, p: PrimaryDimension) -> Option<f64> {
        self.primary
            .iter()
            .find(|s| s.primary == p)
            .map(|s| s.percent)
    }

    /// The percentage of a sub-dimension, if scored.
    pub fn sub_percent(&self, sub: SubDimension) -> Option<f64> {
        self.sub.iter().find(|s| s.sub == sub).map(|s| s.percent)
    }
}

/// Scores `verdicts` against `suite`.
///
/// Errors: a verdict for an index the suite lacks, a verdict whose test points differ from the
/// suite's (another suite version), and — unless `allow_missing` — any expected image without a
/// parsed verdict.
pub fn score(suite: &Suite, verdicts: &Verdicts, options: ScoreOptions) -> Result<ScoreReport> {
    let mut coverage = Coverage {
        expected: suite.prompts.len() * options.images_per_prompt,
        ..Coverage::default()
    };
    for (index, image) in verdicts.by_key.keys() {
        let known = suite.prompt(*index).is_some() && *image < options.images_per_prompt;
        if !known {
            return Err(Error::Incomplete(format!(
                "verdict ({index}, {image}) is not in the suite ({} prompts × {} images)",
                suite.prompts.len(),
                options.images_per_prompt
            )));
        }
    }
    let mut subs: BTreeMap<SubDimension, Fraction> = BTreeMap::new();
    for prompt in &suite.prompts {
        let raw: Vec<&str> = prompt.testpoints.iter().map(|t| t.raw.as_str()).collect();
        for j in 0..options.images_per_prompt {
            let Some(v) = verdicts.get(prompt.index, j) else {
                coverage.missing += 1;
                if coverage.examples.len() < 5 {
                    coverage.examples.push((prompt.index, j));
                }
                continue;
            };
            if v.testpoints != raw {
                return Err(Error::Incomplete(format!(
                    "verdict ({}, {j}) has test points {:?} but the suite has {raw:?}: the \
                     verdicts belong to another suite version",
                    prompt.index, v.testpoints
                )));
            }
            let Some(scores) = &v.scores else {
                coverage.unjudged += 1;
                if coverage.examples.len() < 5 {
                    coverage.examples.push((prompt.index, j));
                }
                continue;
            };
            coverage.judged += 1;
            for (t, s) in prompt.testpoints.iter().zip(scores) {
                let f = subs.entry(t.sub).or_default();
                f.total += 1;
                f.correct += u64::from(*s == 1);
            }
        }
    }
    if (coverage.missing + coverage.unjudged) > 0 && !options.allow_missing {
        return Err(Error::Incomplete(format!(
            "{} of {} images have no verdict and {} failed to judge (e.g. (index, j) = {:?}); \
             judge them (`judge --resume`) or pass --allow-missing to score what is there",
            coverage.missing, coverage.expected, coverage.unjudged, coverage.examples
        )));
    }
    if coverage.judged == 0 {
        return Err(Error::Incomplete("no judged verdicts to score".to_string()));
    }

    let sub: Vec<SubScore> = SubDimension::ALL
        .into_iter()
        .filter_map(|s| {
            subs.get(&s).map(|f| SubScore {
                sub: s,
                label: s.label(suite.language).to_string(),
                fraction: *f,
                percent: f.percent(),
            })
        })
        .collect();
    let primary: Vec<PrimaryScore> = PrimaryDimension::ALL
        .into_iter()
        .filter_map(|p| {
            let parts: Vec<&SubScore> = sub.iter().filter(|s| s.sub.primary() == p).collect();
            if parts.is_empty() {
                return None;
            }
            let mut fraction = Fraction::default();
            parts.iter().for_each(|s| fraction.add(s.fraction));
            let percent = match options.aggregation {
                Aggregation::Micro => fraction.percent(),
                Aggregation::Macro => {
                    parts.iter().map(|s| s.percent).sum::<f64>() / parts.len() as f64
                }
            };
            Some(PrimaryScore {
                primary: p,
                fraction,
                percent,
            })
        })
        .collect();
    if primary.len() < PrimaryDimension::ALL.len() {
        tracing::warn!(
            "only {} of 10 primary dimensions have instances; overall is their mean",
            primary.len()
        );
    }
    let overall = primary.iter().map(|p| p.percent).sum::<f64>() / primary.len() as f64;
    Ok(ScoreReport {
        overall,
        primary,
        sub,
        aggregation: options.aggregation,
        coverage,
    })
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::unigenbench::suite::{Language, Prompt, TestPoint};
    use crate::unigenbench::theme::{SubTheme, Theme};
    use crate::unigenbench::verdict::Verdict;

    fn suite(prompts: &[&[SubDimension]]) -> Suite {
        Suite {
            path: PathBuf::from("mem.csv"),
            language: Language::English,
            prompts: prompts
                .iter()
                .enumerate()
                .map(|(index, subs)| Prompt {
                    index,
                    text: format!("p{index}"),
                    theme: Theme::Art,
                    sub_theme: SubTheme::ArtOther,
                    sub_theme_raw: "Other".into(),
                    subject: "Animal".into(),
                    sentence_structure: "Descriptive".into(),
                    testpoints: subs
                        .iter()
                        .map(|s| TestPoint {
                            raw: s.english().into(),
                            sub: *s,
                            description: String::new(),
                        })
                        .collect(),
                })
                .collect(),
            repairs: vec![],
        }
    }

    fn verdicts(
        suite: &Suite,
        images: usize,
        scores: &dyn Fn(usize, usize) -> Option<Vec<u8>>,
    ) -> Verdicts {
        let mut v = Verdicts::default();
        for p in &suite.prompts {
            for j in 0..images {
                v.by_key.insert(
                    (p.index, j),
                    Verdict {
                        index: p.index,
                        image: j,
                        testpoints: p.testpoints.iter().map(|t| t.raw.clone()).collect(),
                        scores: scores(p.index, j),
                        analysis: None,
                        answer: None,
                        error: None,
                        model: None,
                    },
                );
            }
        }
        v
    }

    #[test]
    fn micro_macro_and_overall_by_hand() {
        use SubDimension as S;
        // Prompt 0: Quantity, Color; prompt 1: Quantity, Style. One image each.
        let s = suite(&[
            &[S::AttributeQuantity, S::AttributeColor],
            &[S::AttributeQuantity, S::Style],
        ]);
        let v = verdicts(&s, 1, &|i, _| {
            Some(if i == 0 { vec![1, 1] } else { vec![0, 1] })
        });
        let opts = ScoreOptions {
            images_per_prompt: 1,
            ..ScoreOptions::default()
        };
        let micro = score(&s, &v, opts).unwrap();
        // Quantity 1/2, Color 1/1: micro Attribute = 2/3, macro = (50 + 100)/2 = 75.
        assert_eq!(micro.sub_percent(S::AttributeQuantity), Some(50.0));
        assert_eq!(
            micro.primary_percent(PrimaryDimension::Attribute),
            Some(200.0 / 3.0)
        );
        assert_eq!(micro.overall, (200.0 / 3.0 + 100.0) / 2.0);
        let json = micro.to_json();
        assert_eq!(json["primary"]["Attribute"], 200.0 / 3.0);
        assert_eq!(json["sub"]["Attribute - Color"], 100.0);
        let macro_ = score(
            &s,
            &v,
            ScoreOptions {
                aggregation: Aggregation::Macro,
                ..opts
            },
        )
        .unwrap();
        assert_eq!(
            macro_.primary_percent(PrimaryDimension::Attribute),
            Some(75.0)
        );
    }

    #[test]
    fn fails_closed_unless_allowed() {
        use SubDimension as S;
        let s = suite(&[&[S::Style], &[S::Style, S::LogicalReasoning]]);
        let mut v = verdicts(&s, 4, &|i, _| Some(vec![1; i + 1]));
        v.by_key.remove(&(0, 3));
        v.by_key.get_mut(&(1, 2)).unwrap().scores = None;
        let err = score(&s, &v, ScoreOptions::default())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("1 of 8 images have no verdict and 1 failed to judge"),
            "{err}"
        );
        let allow = ScoreOptions {
            allow_missing: true,
            ..ScoreOptions::default()
        };
        let r = score(&s, &v, allow).unwrap();
        assert_eq!(
            (r.coverage.judged, r.coverage.missing, r.coverage.unjudged),
            (6, 1, 1)
        );
        // Denominators shrink: Style 3 (prompt 0) + 3 (prompt 1) instances.
        assert_eq!(
            r.sub[0].fraction,
            Fraction {
                correct: 6,
                total: 6
            }
        );
        // A verdict from another suite version is refused.
        let mut w = verdicts(&s, 4, &|i, _| Some(vec![1; i + 1]));
        w.by_key.get_mut(&(0, 0)).unwrap().testpoints = vec!["World Knowledge".into()];
        let err = score(&s, &w, allow).unwrap_err().to_string();
        assert!(err.contains("another suite version"), "{err}");
        // A verdict for an image beyond images_per_prompt is refused.
        let err = score(&s, &verdicts(&s, 5, &|i, _| Some(vec![1; i + 1])), allow)
            .unwrap_err()
            .to_string();
        assert!(err.contains("(0, 4) is not in the suite"), "{err}");
    }
}
