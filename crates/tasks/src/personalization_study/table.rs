//! The study's table: mean ± standard error over seeds per arm, plus the oracle rows.

use serde::{Deserialize, Serialize};

use super::history_use::HistoryUse;
use super::run::ArmRun;
use crate::personalization::SlotAccuracy;
pub use crate::seed_stats::PairedDifference;
use crate::seed_stats::mean_se;

/// One row of the table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StudyRow {
    /// Arm or oracle label.
    pub label: String,
    /// Mean ROUGE-1 F over seeds.
    pub rouge1: f64,
    /// Standard error of the seed means (0 with one seed or for an oracle).
    pub rouge1_se: f64,
    /// Mean ROUGE-L F over seeds.
    pub rouge_l: f64,
    /// Its standard error.
    pub rouge_l_se: f64,
    /// Mean corpus BLEU over seeds.
    pub bleu: f64,
    /// Slot accuracies, means over seeds (`malformed` and `examples` summed).
    pub slots: SlotAccuracy,
    /// Seeds aggregated (0 for an oracle).
    pub seeds: usize,
    /// Held-out examples per seed.
    pub examples: usize,
    /// Mean seconds per run (training + evaluation); 0 for an oracle.
    pub seconds: f64,
    /// ROUGE-1 of this arm minus ContextSFT's on the same seed, over the seeds both ran
    /// (`None` for ContextSFT itself, an oracle, or a study without ContextSFT).
    pub versus_context_sft: Option<PairedDifference>,
    /// The held-out targets' likelihood from the three prompts, means over seeds (studies
    /// from a pretrained checkpoint measure it for every run).
    #[serde(default)]
    pub history_use: Option<HistoryUse>,
}

/// ROUGE-1 of `runs` minus that of `baseline`, paired by seed; `None` when no seed is shared.
fn rouge1_difference(runs: &[&ArmRun], baseline: &[&ArmRun]) -> Option<PairedDifference> {
    let pairs: Vec<(f64, f64)> = runs
        .iter()
        .filter_map(|r| {
            let base = baseline.iter().find(|b| b.seed == r.seed)?;
            Some((r.eval.rouge1, base.eval.rouge1))
        })
        .collect();
    PairedDifference::of(&pairs)
}

impl StudyRow {
    /// Aggregates the runs of one arm; `context_sft` (the ContextSFT runs, empty when the
    /// study has none or this is that arm) gives the paired comparison.
    pub fn from_runs(label: &str, runs: &[&ArmRun], context_sft: &[&ArmRun]) -> Self {
        let pick = |f: fn(&ArmRun) -> f64| runs.iter().map(|r| f(r)).collect::<Vec<f64>>();
        let (rouge1, rouge1_se) = mean_se(&pick(|r| r.eval.rouge1));
        let (rouge_l, rouge_l_se) = mean_se(&pick(|r| r.eval.rouge_l));
        let (bleu, _) = mean_se(&pick(|r| r.eval.bleu));
        let (seconds, _) = mean_se(&pick(|r| r.seconds));
        let slots = SlotAccuracy {
            generic: mean_se(&pick(|r| r.slots.generic)).0,
            aspect: mean_se(&pick(|r| r.slots.aspect)).0,
            adjective: mean_se(&pick(|r| r.slots.adjective)).0,
            signoff: mean_se(&pick(|r| r.slots.signoff)).0,
            malformed: runs.iter().map(|r| r.slots.malformed).sum(),
            examples: runs.iter().map(|r| r.slots.examples).sum(),
        };
        Self {
            label: label.to_string(),
            rouge1,
            rouge1_se,
            rouge_l,
            rouge_l_se,
            bleu,
            slots,
            seeds: runs.len(),
            examples: runs.first().map_or(0, |r| r.eval.examples),
            seconds,
            versus_context_sft: rouge1_difference(runs, context_sft),
            history_use: HistoryUse::mean(
                &runs
                    .iter()
                    .filter_map(|r| r.history_use)
                    .collect::<Vec<_>>(),
            ),
        }
    }

    /// A deterministic reference row.
    pub fn oracle(label: &str, rouge1: f64, rouge_l: f64, bleu: f64, slots: SlotAccuracy) -> Self {
        Self {
            label: label.to_string(),
            rouge1,
            rouge1_se: 0.0,
            rouge_l,
            rouge_l_se: 0.0,
            bleu,
            slots,
            seeds: 0,
            examples: slots.examples,
            seconds: 0.0,
            versus_context_sft: None,
            history_use: None,
        }
    }
}

/// The Markdown table.
pub fn study_table(rows: &[StudyRow]) -> String {
    let mut out = String::from(
        "| method | ROUGE-1 | Δ vs ContextSFT, paired | ahead of ContextSFT | ROUGE-L | BLEU \
         | generic | aspect | adjective | sign-off | seeds | s / run |\n",
    );
    out.push_str("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for r in rows {
        let with_se = |m: f64, se: f64, sign: bool| match (r.seeds > 1, sign) {
            (true, false) => format!("{m:.4} ± {se:.4}"),
            (true, true) => format!("{m:+.4} ± {se:.4}"),
            (false, false) => format!("{m:.4}"),
            (false, true) => format!("{m:+.4}"),
        };
        let (delta, ahead) = match r.versus_context_sft {
            Some(d) => (
                with_se(d.mean, d.se, true),
                format!("{} of {}", d.ahead, d.seeds),
            ),
            None => ("—".to_string(), "—".to_string()),
        };
        let seconds = if r.seeds == 0 {
            "—".to_string()
        } else {
            format!("{:.0}", r.seconds)
        };
        out.push_str(&format!(
            "| {} | {} | {delta} | {ahead} | {} | {:.2} | {:.3} | {:.3} | {:.3} | {:.3} | {} | {} |\n",
            r.label.replace('|', "\\|"),
            with_se(r.rouge1, r.rouge1_se, false),
            with_se(r.rouge_l, r.rouge_l_se, false),
            r.bleu,
            r.slots.generic,
            r.slots.aspect,
            r.slots.adjective,
            r.slots.signoff,
            r.seeds,
            seconds
        ));
    }
    if rows.iter().any(|r| r.history_use.is_some()) {
        out.push_str(&history_use_table(rows));
    }
    out
}

/// The second table: what the history is worth to each row's model on the held-out targets.
fn history_use_table(rows: &[StudyRow]) -> String {
    let mut out = String::from(
        "\nHistory use on the held-out targets: negative log-likelihood per token, teacher-forced, \
         from the user's own prompt (\"own\"), and how much lower it is than from the \
         null-history prompt and from another held-out user's prompt (same format, someone \
         else's history and query), in nats per token; means over seeds.\n\n\
         | method | NLL, own | own vs null | own vs other: all | generic | aspect | adjective \
         | sign-off |\n|---|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for r in rows {
        let Some(u) = r.history_use else { continue };
        out.push_str(&format!(
            "| {} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} |\n",
            r.label.replace('|', "\\|"),
            u.all.history,
            u.all.history_gain(),
            u.all.user_gain(),
            u.generic.user_gain(),
            u.aspect.user_gain(),
            u.adjective.user_gain(),
            u.signoff.user_gain(),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use prefopt_train::{PersonalEvalReport, PromptView};

    use super::*;
    use crate::personalization_study::config::StudyArm;

    #[test]
    fn mean_and_standard_error() {
        let (m, se) = mean_se(&[1.0, 2.0, 3.0]);
        assert!((m - 2.0).abs() < 1e-12);
        assert!((se - (1.0f64 / 3.0).sqrt()).abs() < 1e-12);
        assert_eq!(mean_se(&[0.5]), (0.5, 0.0));
    }

    fn run(arm: StudyArm, seed: u64, rouge1: f64) -> ArmRun {
        ArmRun {
            tuning: None,
            history_use: None,
            arm,
            seed,
            eval: PersonalEvalReport {
                view: PromptView::History,
                examples: 4,
                rouge1,
                rouge2: 0.0,
                rouge_l: rouge1,
                bleu: 0.0,
                mean_new_tokens: 0.0,
                finished_fraction: 1.0,
            },
            slots: SlotAccuracy::default(),
            final_loss: None,
            seconds: 1.0,
        }
    }

    #[test]
    fn paired_difference_matches_seeds_and_skips_unshared_ones() {
        let ctx = [
            run(StudyArm::ContextSft, 1, 0.80),
            run(StudyArm::ContextSft, 2, 0.70),
            run(StudyArm::ContextSft, 3, 0.90),
        ];
        // Seed 4 has no ContextSFT run; seeds are listed out of order.
        let arm = [
            run(StudyArm::NextQuill, 3, 0.91),
            run(StudyArm::NextQuill, 1, 0.78),
            run(StudyArm::NextQuill, 2, 0.74),
            run(StudyArm::NextQuill, 4, 0.10),
        ];
        fn refs(runs: &[ArmRun]) -> Vec<&ArmRun> {
            runs.iter().collect()
        }
        let d = rouge1_difference(&refs(&arm), &refs(&ctx)).unwrap();
        assert_eq!((d.ahead, d.seeds), (2, 3));
        // Differences +0.01, -0.02, +0.04: mean 0.01, sd 0.03, se 0.03 / sqrt(3).
        assert!((d.mean - 0.01).abs() < 1e-12, "{d:?}");
        assert!((d.se - 0.03 / 3f64.sqrt()).abs() < 1e-12, "{d:?}");
        assert!(rouge1_difference(&refs(&arm), &[]).is_none());
        let row = StudyRow::from_runs("x", &refs(&arm[..3]), &refs(&ctx));
        assert!(study_table(&[row]).contains("| +0.0100 ± 0.0173 | 2 of 3 |"));
    }

    #[test]
    fn table_rows() {
        let slots = SlotAccuracy {
            generic: 1.0,
            aspect: 0.5,
            adjective: 0.25,
            signoff: 0.125,
            malformed: 0,
            examples: 10,
        };
        let row = StudyRow::oracle("a|b", 0.5, 0.25, 12.0, slots);
        assert_eq!(row.examples, 10);
        let t = study_table(&[row]);
        assert!(
            t.contains(
                "| a\\|b | 0.5000 | — | — | 0.2500 | 12.00 | 1.000 | 0.500 | 0.250 | 0.125 | 0 | — |"
            ),
            "{t}"
        );
    }
}
