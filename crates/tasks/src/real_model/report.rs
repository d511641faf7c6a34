//! What the real-model run measured, as `results.json` and `results.md`.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::demo::report::{MethodSummary, PreferenceDataSummary, StageTiming};
use crate::demo::reward_kl_plot::PlotGrid;
use crate::error::Result;
use crate::jsonl_writer::write_json;

use super::config::RealModelConfig;

/// What one aligned row's training cost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainingCost {
    /// Optimizer steps.
    pub steps: u64,
    /// Wall seconds of the stage (reference log-probs, steps, saving and reloading).
    pub seconds: f64,
    /// `seconds / steps`.
    pub seconds_per_step: f64,
    /// Peak resident memory of the process during the stage, MiB (Linux only).
    pub peak_rss_mib: Option<f64>,
}

/// One row of the table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RealMethodRow {
    /// Reward, KL, lengths, examples.
    pub summary: MethodSummary,
    /// Share of held-out questions where the method's mean reward beats the base model's
    /// (ties count half).
    pub win_rate: f64,
    /// The training cost (aligned rows only).
    pub training: Option<TrainingCost>,
}

/// Everything one real-model run produced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RealModelReport {
    /// The configuration that ran.
    pub config: RealModelConfig,
    /// Whether the prompts were rendered with the model's chat template.
    pub chat_template: bool,
    /// Pairs and lists built from the base model's samples.
    pub preference_data: PreferenceDataSummary,
    /// Base, each aligned row, best-of-K.
    pub methods: Vec<RealMethodRow>,
    /// The markdown table of `methods`.
    pub table: String,
    /// The reward / KL plot's grid.
    pub plot: PlotGrid,
    /// Wall time per stage.
    pub timings: Vec<StageTiming>,
    /// Wall time of the whole run.
    pub total_seconds: f64,
    /// Peak resident memory of the process before training (base model loaded, samples
    /// drawn), MiB.
    pub peak_rss_before_training_mib: Option<f64>,
    /// CPU threads available.
    pub threads: usize,
}

fn opt(v: Option<f64>, digits: usize) -> String {
    v.map_or("—".into(), |v| format!("{v:.digits$}"))
}

/// The result table: reward, its standard error, win rate and KL to the base, length, n,
/// and the training cost of the aligned rows.
pub fn real_model_table(rows: &[RealMethodRow]) -> String {
    let mut s = String::from(
        "| method | mean reward | ± s.e. | win rate vs base | KL to base | tokens | n | \
         s/step | peak RSS MiB |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for r in rows {
        let m = &r.summary;
        s.push_str(&format!(
            "| {} | {:.3} | {:.3} | {:.3} | {} | {:.1} | {} | {} | {} |\n",
            m.row.method,
            m.row.mean_reward,
            m.reward_std_error,
            r.win_rate,
            opt(m.row.kl_to_sft, 3),
            m.mean_tokens,
            m.row.n,
            opt(r.training.as_ref().map(|t| t.seconds_per_step), 2),
            opt(r.training.as_ref().and_then(|t| t.peak_rss_mib), 0),
        ));
    }
    s
}

impl RealModelReport {
    /// `results.md`: the table, the preference data, examples, the cost per stage.
    pub fn markdown(&self) -> String {
        let c = &self.config;
        let p = &self.preference_data;
        let mut s = format!(
            "# Real-model alignment run\n\nBase: `{}`; {} training / {} held-out questions; \
             K = {}; reward = correct × concise (≤ {} words); chat template: {}.\n\n{}\n",
            c.model.display(),
            c.data.train_prompts,
            c.data.eval_prompts,
            c.sampling.k,
            c.reward.max_words,
            if self.chat_template { "yes" } else { "no" },
            self.table
        );
        s.push_str(&format!(
            "Preference data: {} pairs / {} lists from {} prompts × K = {}; base samples' mean \
             reward {:.3}; chosen {:.3}, rejected {:.3}.\n\nKL: sequence-level Monte-Carlo \
             estimate on the method's own samples; best-of-K: `log K − (K−1)/K`. Win rate: \
             per held-out question, the method's mean reward against the base's (ties ½).\n\n",
            p.pairs,
            p.lists,
            p.prompts,
            p.k,
            p.mean_sample_reward,
            p.mean_chosen_reward,
            p.mean_rejected_reward
        ));
        s.push_str("## Examples\n\n");
        for r in &self.methods {
            s.push_str(&format!("**{}**\n\n", r.summary.row.method));
            for e in r.summary.examples.iter().take(2) {
                s.push_str(&format!("```text\n{}\n```\n\n", e.trim_end()));
            }
        }
        s.push_str("## Cost\n\n| stage | seconds |\n|---|---:|\n");
        for t in &self.timings {
            s.push_str(&format!("| {} | {:.1} |\n", t.stage, t.seconds));
        }
        s.push_str(&format!(
            "| **total** | **{:.1}** |\n\nPeak RSS before training: {} MiB. CPU threads: {}; \
             seed {}.\n",
            self.total_seconds,
            opt(self.peak_rss_before_training_mib, 0),
            self.threads,
            c.seed
        ));
        s
    }

    /// Writes `results.json` and `results.md` into `dir`.
    pub fn write(&self, dir: &Path) -> Result<(PathBuf, PathBuf)> {
        let json = dir.join("results.json");
        write_json(&json, self)?;
        let md = dir.join("results.md");
        prefopt_core::write_atomic(&md, self.markdown().as_bytes())?;
        Ok((json, md))
    }
}
