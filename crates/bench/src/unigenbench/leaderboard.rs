//! Published leaderboard rows, shipped as data (`data/leaderboard-2025-09.json`, with its
//! source), and comparison of a [`ScoreReport`] against them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::unigenbench::dimension::{PrimaryDimension, SubDimension};
use crate::unigenbench::score::ScoreReport;
use crate::{Error, Result};

const SEPT_2025: &str = include_str!("../../data/leaderboard-2025-09.json");

/// A published leaderboard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Leaderboard {
    /// Its name.
    pub name: String,
    /// Where the numbers come from.
    pub source: String,
    /// Licence and citation.
    pub license: String,
    /// The suite (CSV version) the numbers are over.
    pub suite: String,
    /// The judge model.
    pub judge: String,
    /// Images per prompt.
    pub images_per_prompt: usize,
    /// Primary pooling.
    pub aggregation: String,
    /// Free-form notes.
    pub notes: String,
    /// The rows.
    pub rows: Vec<LeaderboardRow>,
}

/// One model's published row (percentages, 2 decimals).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LeaderboardRow {
    /// Model name.
    pub model: String,
    /// Overall.
    pub overall: f64,
    /// Primary name → percentage.
    pub primary: BTreeMap<String, f64>,
    /// English test-point string → percentage; `None` for primaries-only rows.
    pub sub: Option<BTreeMap<String, f64>>,
    /// Why this row is not reproducible from whole-instance fractions, if it is not.
    #[serde(default)]
    pub exception: Option<String>,
}

impl Leaderboard {
    /// The Sept-2025 English-short leaderboard (research file §3.8(a)).
    pub fn september_2025() -> Self {
        serde_json::from_str(SEPT_2025).expect("the shipped leaderboard parses")
    }

    /// The row for `model` (case-insensitive).
    pub fn row(&self, model: &str) -> Result<&LeaderboardRow> {
        self.rows
            .iter()
            .find(|r| r.model.eq_ignore_ascii_case(model))
            .ok_or_else(|| {
                Error::Config(format!(
                    "no leaderboard row `{model}`; rows: {}",
                    self.rows
                        .iter()
                        .map(|r| r.model.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })
    }
}

impl LeaderboardRow {
    /// The published percentage of a primary dimension.
    pub fn primary(&self, p: PrimaryDimension) -> Option<f64> {
        self.primary.get(p.name()).copied()
    }

    /// The published percentage of a sub-dimension.
    pub fn sub(&self, s: SubDimension) -> Option<f64> {
        self.sub.as_ref()?.get(s.english()).copied()
    }
}

/// One compared number.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ComparisonLine {
    /// "Overall", a primary name or a test-point string.
    pub name: String,
    /// Ours.
    pub ours: f64,
    /// Published.
    pub published: f64,
    /// ours − published.
    pub diff: f64,
}

/// Our numbers next to a published row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    /// The model of the published row.
    pub model: String,
    /// Overall, primaries, then sub-dimensions the row has.
    pub lines: Vec<ComparisonLine>,
}

impl Comparison {
    /// The largest |ours − published|.
    pub fn max_abs_diff(&self) -> f64 {
        self.lines.iter().map(|l| l.diff.abs()).fold(0.0, f64::max)
    }
}

/// Compares `report` with `row`.
pub fn compare(report: &ScoreReport, row: &LeaderboardRow) -> Comparison {
    let line = |name: &str, ours: f64, published: f64| ComparisonLine {
        name: name.to_string(),
        ours,
        published,
        diff: ours - published,
    };
    let mut lines = vec![line("Overall", report.overall, row.overall)];
    for p in &report.primary {
        if let Some(published) = row.primary(p.primary) {
            lines.push(line(p.primary.name(), p.percent, published));
        }
    }
    for s in &report.sub {
        if let Some(published) = row.sub(s.sub) {
            lines.push(line(s.sub.english(), s.percent, published));
        }
    }
    Comparison {
        model: row.model.clone(),
        lines,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_rows_are_consistent() {
        let lb = Leaderboard::september_2025();
        assert_eq!(lb.rows.len(), 9);
        for row in &lb.rows {
            assert_eq!(row.primary.len(), 10, "{}", row.model);
            for p in PrimaryDimension::ALL {
                assert!(row.primary(p).is_some(), "{} {p}", row.model);
            }
            // The research file re-derived every overall as the mean of the 10 primaries
            // (GPT-4o: 92.76 from rounded values, published 92.77).
            let mean = row.primary.values().sum::<f64>() / 10.0;
            assert!((mean - row.overall).abs() < 0.011, "{}: {mean}", row.model);
            if let Some(sub) = &row.sub {
                assert_eq!(sub.len(), 27, "{}", row.model);
                assert!(SubDimension::ALL.iter().all(|s| row.sub(*s).is_some()));
            }
        }
        assert!(lb.row("gpt-4o").unwrap().exception.is_some());
        assert!(lb.row("FLUX.1-dev").unwrap().exception.is_none());
        assert!(lb.row("nope").is_err());
    }
}
