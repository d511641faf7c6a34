//! `prefopt personalization-study`: the controlled NextQuill study
//! ([`prefopt_tasks::run_personalization_study`]).

use std::path::PathBuf;

use prefopt_tasks::{PersonalizationStudyConfig, StudyReport, run_personalization_study};

use super::demo::print_results;
use crate::device::DeviceChoice;

/// `prefopt personalization-study`: synthetic users with latent styles, SFT / ContextSFT /
/// NextQuill (+ ablations) from the same weights, ROUGE on held-out users; prints the table
/// and writes `<out>/results.md`, `results.json`.
#[derive(Debug, Clone, clap::Args)]
pub struct StudyArgs {
    /// Output directory (data, models, results).
    #[arg(long, default_value = "personalization_out")]
    pub out: PathBuf,
    /// TOML configuration (`PersonalizationStudyConfig`); missing keys take the defaults.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// The few-second smoke configuration instead of the default.
    #[arg(long, conflicts_with = "config")]
    pub smoke: bool,
    /// A pretrained checkpoint every arm starts from, `.gguf` file or Hugging Face directory
    /// (overrides the config's `base_model`).
    #[arg(long)]
    pub base_model: Option<PathBuf>,
    /// Training seeds, comma-separated (overrides the config's `seeds`).
    #[arg(long, value_delimiter = ',')]
    pub seeds: Option<Vec<u64>>,
    /// Device: cpu, wgpu[:N], vulkan[:N], metal[:N], cuda[:N].
    #[arg(long, default_value = "cpu")]
    pub device: DeviceChoice,
}

/// Runs the study as `args` say and prints the table.
pub fn run(args: &StudyArgs) -> anyhow::Result<StudyReport> {
    let device = args.device.device()?;
    let config = PersonalizationStudyConfig::load(
        args.config.as_deref(),
        args.smoke,
        args.seeds.as_deref(),
        args.base_model.as_deref(),
    )?;
    let report = run_personalization_study(&config, &args.out, &device)?;
    print_results(&report.table, &args.out, report.total_seconds);
    Ok(report)
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        study: StudyArgs,
    }

    #[test]
    fn parses_seeds_and_rejects_smoke_with_a_config() {
        let cli = Cli::try_parse_from(["study", "--smoke", "--seeds", "1,2"]).unwrap();
        assert!(cli.study.smoke);
        assert_eq!(cli.study.seeds.as_deref(), Some(&[1, 2][..]));
        assert_eq!(cli.study.out, PathBuf::from("personalization_out"));
        let config = PersonalizationStudyConfig::load(
            cli.study.config.as_deref(),
            cli.study.smoke,
            cli.study.seeds.as_deref(),
            cli.study.base_model.as_deref(),
        )
        .unwrap();
        assert_eq!(config.seeds, [1, 2]);
        assert!(Cli::try_parse_from(["study", "--smoke", "--config", "c.toml"]).is_err());
    }
}
