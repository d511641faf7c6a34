//! Markdown and JSON reports, and a bar chart per dimension.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use prefopt_core::write_atomic;
use serde::Serialize;

use crate::chart::{Bar, bar_chart};
use crate::unigenbench::dimension::PrimaryDimension;
use crate::unigenbench::leaderboard::{Comparison, LeaderboardRow, compare};
use crate::unigenbench::score::{Aggregation, ScoreReport};
use crate::unigenbench::suite::Suite;
use crate::{Error, Result};

/// Everything a report shows.
#[derive(Debug, Clone, Serialize)]
pub struct Report<'a> {
    /// The suite file.
    pub suite: &'a Path,
    /// Prompts in the suite.
    pub prompts: usize,
    /// Test points per image, summed over prompts.
    pub testpoints: usize,
    /// JSON repairs applied while loading the suite.
    pub repairs: &'a [crate::unigenbench::suite::Repair],
    /// The scores.
    pub scores: &'a ScoreReport,
    /// A comparison with a published row, if asked for.
    pub comparison: Option<Comparison>,
    /// Where the published row comes from.
    pub comparison_source: Option<String>,
    /// Why the published row may not be reproducible.
    pub comparison_exception: Option<String>,
}

impl<'a> Report<'a> {
    /// A report of `scores` on `suite`, compared with `published` if given.
    pub fn new(
        suite: &'a Suite,
        scores: &'a ScoreReport,
        published: Option<(&LeaderboardRow, &str)>,
    ) -> Self {
        Self {
            suite: &suite.path,
            prompts: suite.prompts.len(),
            testpoints: suite.testpoint_count(),
            repairs: &suite.repairs,
            scores,
            comparison: published.map(|(row, _)| compare(scores, row)),
            comparison_source: published.map(|(_, source)| source.to_string()),
            comparison_exception: published.and_then(|(row, _)| row.exception.clone()),
        }
    }

    /// The Markdown text.
    pub fn markdown(&self) -> String {
        let s = self.scores;
        let mut md = String::new();
        let _ = writeln!(md, "# UniGenBench results\n");
        let _ = writeln!(
            md,
            "- Suite: `{}` ({} prompts, {} test points per image set)",
            self.suite.display(),
            self.prompts,
            self.testpoints
        );
        for r in self.repairs {
            let _ = writeln!(
                md,
                "- Repaired row index {} (line {}): {}",
                r.index, r.line, r.description
            );
        }
        let agg = match s.aggregation {
            Aggregation::Micro => "micro (pooled instances, as the leaderboard)",
            Aggregation::Macro => "macro (mean of sub-dimensions, as the paper's text)",
        };
        let _ = writeln!(md, "- Primary aggregation: {agg}");
        let c = &s.coverage;
        let _ = writeln!(
            md,
            "- Coverage: {} of {} images judged; {} missing, {} failed{}\n",
            c.judged,
            c.expected,
            c.missing,
            c.unjudged,
            if c.missing + c.unjudged > 0 {
                " (**incomplete: scores use the judged images only**)"
            } else {
                ""
            }
        );
        let _ = writeln!(md, "| Dimension | Score | Instances |\n|---|---:|---:|");
        let _ = writeln!(md, "| **Overall** | **{:.2}** | |", s.overall);
        for p in &s.primary {
            let _ = writeln!(
                md,
                "| {} | {:.2} | {}/{} |",
                p.primary, p.percent, p.fraction.correct, p.fraction.total
            );
        }
        let _ = writeln!(md, "\n## Sub-dimensions\n");
        let _ = writeln!(
            md,
            "| Primary | Test point | Score | Instances |\n|---|---|---:|---:|"
        );
        for sub in &s.sub {
            let _ = writeln!(
                md,
                "| {} | {} | {:.2} | {}/{} |",
                sub.sub.primary(),
                sub.label,
                sub.percent,
                sub.fraction.correct,
                sub.fraction.total
            );
        }
        if let Some(cmp) = &self.comparison {
            let _ = writeln!(md, "\n## Comparison with published {}\n", cmp.model);
            if let Some(src) = &self.comparison_source {
                let _ = writeln!(md, "Source: {src}\n");
            }
            if let Some(ex) = &self.comparison_exception {
                let _ = writeln!(md, "Note: {ex}\n");
            }
            let _ = writeln!(md, "| | Ours | Published | Δ |\n|---|---:|---:|---:|");
            for l in &cmp.lines {
                let _ = writeln!(
                    md,
                    "| {} | {:.2} | {:.2} | {:+.2} |",
                    l.name, l.ours, l.published, l.diff
                );
            }
            let _ = writeln!(md, "\nLargest |Δ|: {:.4}", cmp.max_abs_diff());
        }
        md
    }

    /// Writes `report.md`, `report.json`, `primary.png` and one `<dimension>.png` per primary
    /// with more than one sub-dimension into `dir` (the Markdown and JSON atomically); returns
    /// the paths written.
    pub fn write(&self, dir: &Path, published: Option<&LeaderboardRow>) -> Result<Vec<PathBuf>> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let mut written = Vec::new();
        let md = dir.join("report.md");
        write_atomic(&md, self.markdown().as_bytes())?;
        written.push(md);
        let json = dir.join("report.json");
        let text = serde_json::to_string_pretty(self)?;
        write_atomic(&json, text.as_bytes())?;
        written.push(json);

        let s = self.scores;
        let primary_bars: Vec<Bar> = s
            .primary
            .iter()
            .map(|p| Bar {
                label: p.primary.name().to_string(),
                value: p.percent,
                reference: published.and_then(|r| r.primary(p.primary)),
            })
            .collect();
        let path = dir.join("primary.png");
        bar_chart(
            &path,
            &format!("Primary dimensions (overall {:.2})", s.overall),
            &primary_bars,
        )?;
        written.push(path);
        for p in PrimaryDimension::ALL {
            let bars: Vec<Bar> = s
                .sub
                .iter()
                .filter(|x| x.sub.primary() == p)
                .map(|x| Bar {
                    label: x.sub.short().to_string(),
                    value: x.percent,
                    reference: published.and_then(|r| r.sub(x.sub)),
                })
                .collect();
            if bars.len() < 2 {
                continue;
            }
            let name = p.name().to_lowercase().replace(' ', "-");
            let path = dir.join(format!("{name}.png"));
            let score = s.primary_percent(p).unwrap_or(f64::NAN);
            bar_chart(&path, &format!("{p} ({score:.2})"), &bars)?;
            written.push(path);
        }
        Ok(written)
    }
}
