//! The demo's result table: one row per method (SFT, DPO, LiPO-λ, ...) with the mean and
//! spread of the ground-truth reward of its samples and its KL divergence to the SFT model,
//! the two axes of the DPO paper's reward–KL frontier (Rafailov et al. 2023, Fig. 2 left).

use serde::{Deserialize, Serialize};

use crate::sentiment::RewardStats;

/// One method's results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SummaryRow {
    /// Method name (`SFT`, `DPO β=0.1`, `LiPO-λ`).
    pub method: String,
    /// Mean ground-truth reward of its samples.
    pub mean_reward: f64,
    /// Standard deviation of that reward.
    pub std_reward: f64,
    /// KL(π ‖ π_SFT) estimate in nats per sequence; `None` for the SFT model itself.
    pub kl_to_sft: Option<f64>,
    /// Number of samples.
    pub n: usize,
}

impl SummaryRow {
    /// A row from the rewards of `method`'s samples (mean and `n − 1` standard deviation).
    pub fn from_rewards(
        method: impl Into<String>,
        rewards: &[f64],
        kl_to_sft: Option<f64>,
    ) -> Self {
        let stats = RewardStats::of(rewards);
        Self {
            method: method.into(),
            mean_reward: stats.mean,
            std_reward: stats.std,
            kl_to_sft,
            n: stats.n,
        }
    }
}

fn cell(x: f64) -> String {
    if x.is_finite() {
        format!("{x:.3}")
    } else {
        format!("{x}")
    }
}

/// The Markdown table of `rows`, in the given order, ending with a newline:
///
/// ```text
/// | method | mean reward | std | KL to SFT | n |
/// |---|---:|---:|---:|---:|
/// | SFT | -0.012 | 0.401 | — | 256 |
/// | DPO | 0.655 | 0.210 | 3.120 | 256 |
/// ```
///
/// Numbers have three decimals; `|` in a method name is escaped.
pub fn summary_table(rows: &[SummaryRow]) -> String {
    let mut out = String::from("| method | mean reward | std | KL to SFT | n |\n");
    out.push_str("|---|---:|---:|---:|---:|\n");
    for row in rows {
        let kl = row.kl_to_sft.map_or_else(|| "—".to_string(), cell);
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            row.method.replace('|', "\\|"),
            cell(row.mean_reward),
            cell(row.std_reward),
            kl,
            row.n
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_layout() {
        let rows = [
            SummaryRow::from_rewards("SFT", &[-0.5, 0.5], None),
            SummaryRow {
                method: "a|b".into(),
                mean_reward: 0.6554,
                std_reward: 0.2,
                kl_to_sft: Some(3.12),
                n: 256,
            },
        ];
        let table = summary_table(&rows);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 4);
        // std of [-0.5, 0.5] with n − 1 = sqrt(0.5) = 0.7071
        assert_eq!(lines[2], "| SFT | 0.000 | 0.707 | — | 2 |");
        assert_eq!(lines[3], "| a\\|b | 0.655 | 0.200 | 3.120 | 256 |");
        assert!(table.ends_with('\n'));
    }
}
