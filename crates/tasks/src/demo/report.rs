//! What the demo measured, as `results.json` and `results.md`.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::jsonl_writer::write_json;
use crate::summary_table::{SummaryRow, summary_table};

use super::config::DemoConfig;
use super::evaluation::{KlEstimate, MethodEvaluation};
use super::reward_kl_plot::PlotGrid;

/// One method's numbers (the table row plus what the table leaves out).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MethodSummary {
    /// The table row.
    #[serde(flatten)]
    pub row: SummaryRow,
    /// Standard error of the mean reward.
    pub reward_std_error: f64,
    /// How the KL was obtained.
    pub kl_estimate: KlEstimate,
    /// Mean completion length in tokens (EOS included).
    pub mean_tokens: f64,
    /// A few completions.
    pub examples: Vec<String>,
}

impl From<&MethodEvaluation> for MethodSummary {
    fn from(e: &MethodEvaluation) -> Self {
        Self {
            row: e.row(),
            reward_std_error: e.reward_std_error(),
            kl_estimate: e.kl_estimate,
            mean_tokens: e.mean_tokens,
            examples: e.examples.clone(),
        }
    }
}

/// Wall time of one stage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageTiming {
    /// `prepare`, `sft`, `sample`, `dpo`, `lipo`, `evaluate`, `report`.
    pub stage: String,
    /// Seconds.
    pub seconds: f64,
}

/// The preference data built from the K samples.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PreferenceDataSummary {
    /// Training prompts sampled.
    pub prompts: usize,
    /// Lists of K samples per training prompt.
    pub lists_per_prompt: usize,
    /// Samples per prompt.
    pub k: usize,
    /// Mean ground-truth reward of all K·prompts samples.
    pub mean_sample_reward: f64,
    /// DPO pairs written (best vs worst, ties dropped).
    pub pairs: usize,
    /// Mean reward of the chosen / rejected completions.
    pub mean_chosen_reward: f64,
    /// Mean reward of the rejected completions.
    pub mean_rejected_reward: f64,
    /// LiPO lists written (lists with equal rewards dropped).
    pub lists: usize,
    /// `pairs.jsonl`.
    pub pairs_file: PathBuf,
    /// `lists.jsonl`.
    pub lists_file: PathBuf,
}

/// Everything one demo run produced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DemoReport {
    /// The configuration that ran.
    pub config: DemoConfig,
    /// Mean ground-truth reward of the SFT corpus.
    pub corpus_mean_reward: f64,
    /// The preference data.
    pub preference_data: PreferenceDataSummary,
    /// One entry per method: SFT, DPO, LiPO-λ, best-of-K.
    pub methods: Vec<MethodSummary>,
    /// The Markdown table ([`summary_table`]).
    pub table: String,
    /// The reward–KL PNG and where its grid lines are.
    pub plot: PlotGrid,
    /// Wall time per stage.
    pub timings: Vec<StageTiming>,
    /// Wall time of the whole run.
    pub total_seconds: f64,
    /// Worker threads of the CPU backend (rayon), for the record.
    pub threads: usize,
}

impl DemoReport {
    /// The table rows.
    pub fn rows(&self) -> Vec<SummaryRow> {
        self.methods.iter().map(|m| m.row.clone()).collect()
    }

    /// The mean reward of `method` (exact name).
    pub fn mean_reward(&self, method: &str) -> Option<f64> {
        self.methods
            .iter()
            .find(|m| m.row.method == method)
            .map(|m| m.row.mean_reward)
    }

    /// The Markdown page written to `results.md`.
    pub fn markdown(&self) -> String {
        let c = &self.config;
        let d = &self.preference_data;
        let mut s = String::from("# Controlled sentiment demo: results\n\n");
        s.push_str(&self.table);
        s.push('\n');
        s.push_str(&format!(
            "Held-out prompts: {}; samples per prompt and method: {} (SFT: {} = the pools \
             best-of-{} picks from), temperature {}.\n\n",
            c.data.eval_prompts,
            c.sampling.eval_samples_per_prompt,
            c.sampling.eval_samples_per_prompt * c.sampling.k,
            c.sampling.k,
            c.sampling.temperature,
        ));
        s.push_str(
            "KL to SFT, in nats per completion: for DPO and LiPO-λ the Monte-Carlo estimate \
             mean over samples y ~ π of Σ_t [log π(y_t) − log π_SFT(y_t)]; for best-of-K the \
             analytic log K − (K − 1)/K of the literature (an upper bound of the true KL).\n\n",
        );
        s.push_str("| method | reward ± s.e. | KL ± s.e. | mean tokens | example |\n");
        s.push_str("|---|---:|---:|---:|---|\n");
        for m in &self.methods {
            let kl = match (m.row.kl_to_sft, m.kl_estimate) {
                (Some(kl), KlEstimate::MonteCarlo { std_error }) => {
                    format!("{kl:.3} ± {std_error:.3}")
                }
                (Some(kl), _) => format!("{kl:.3} (analytic)"),
                (None, _) => "—".into(),
            };
            let example = m.examples.first().cloned().unwrap_or_default();
            s.push_str(&format!(
                "| {} | {:.3} ± {:.3} | {kl} | {:.1} | `{}` |\n",
                m.row.method,
                m.row.mean_reward,
                m.reward_std_error,
                m.mean_tokens,
                example.replace('|', "\\|").replace('`', "'"),
            ));
        }
        s.push_str(&format!(
            "\nPreference data: {} training prompts × {} lists of K = {} SFT samples (mean reward \
             {:.3}); {} best-vs-worst pairs (chosen {:.3}, rejected {:.3}); {} lists.\n\n",
            d.prompts,
            d.lists_per_prompt,
            d.k,
            d.mean_sample_reward,
            d.pairs,
            d.mean_chosen_reward,
            d.mean_rejected_reward,
            d.lists,
        ));
        s.push_str(&format!(
            "Plot `{}`: x = KL to SFT (nats), ticks every {} nats; y = mean reward, ticks \
             every {} (the darker line is reward 0); whiskers ± 1 s.e.; colours: {}.\n\n",
            self.plot
                .path
                .file_name()
                .map_or_else(String::new, |f| f.to_string_lossy().into_owned()),
            self.plot.kl_step,
            self.plot.reward_step,
            self.plot
                .colours
                .iter()
                .map(|(m, c)| format!("{m} {c}"))
                .collect::<Vec<_>>()
                .join(", "),
        ));
        s.push_str("| stage | seconds |\n|---|---:|\n");
        for t in &self.timings {
            s.push_str(&format!("| {} | {:.1} |\n", t.stage, t.seconds));
        }
        s.push_str(&format!(
            "| **total** | **{:.1}** |\n\nCPU threads: {}; seed {}.\n",
            self.total_seconds, self.threads, c.seed
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

/// The table of `methods`.
pub fn methods_table(methods: &[MethodSummary]) -> String {
    let rows: Vec<SummaryRow> = methods.iter().map(|m| m.row.clone()).collect();
    summary_table(&rows)
}
