//! `prefopt personalization-study`: the controlled NextQuill study from the command line.

use std::path::PathBuf;

use burn::prelude::Device;

use super::config::PersonalizationStudyConfig;
use super::run::run_personalization_study;
use crate::error::Result;

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
    /// Training seeds, comma-separated (overrides the config's `seeds`).
    #[arg(long, value_delimiter = ',')]
    pub seeds: Option<Vec<u64>>,
    /// Device: cpu, wgpu[:N], vulkan[:N], metal[:N], cuda[:N] (turned into a burn `Device`
    /// by the `prefopt` binary).
    #[arg(long, default_value = "cpu")]
    pub device: String,
}

impl StudyArgs {
    /// The configuration these arguments describe.
    pub fn study_config(&self) -> Result<PersonalizationStudyConfig> {
        let mut config = match (&self.config, self.smoke) {
            (Some(path), _) => PersonalizationStudyConfig::from_toml_file(path)?,
            (None, true) => PersonalizationStudyConfig::smoke(),
            (None, false) => PersonalizationStudyConfig::default(),
        };
        if let Some(seeds) = &self.seeds {
            config.seeds.clone_from(seeds);
        }
        config.validate()?;
        Ok(config)
    }
}

/// Runs the study on `device` and prints the table.
#[allow(clippy::print_stdout)] // the command's output is its product
pub fn run_study_cli(args: &StudyArgs, device: &Device) -> Result<()> {
    let config = args.study_config()?;
    let report = run_personalization_study(&config, &args.out, device)?;
    println!("{}", report.table);
    println!(
        "wrote {} ({:.0} s)",
        args.out.join("results.md").display(),
        report.total_seconds
    );
    Ok(())
}
