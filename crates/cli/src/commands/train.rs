//! `prefopt sft|dpo|lipo|nextquill`: one training run from a TOML config.

use std::path::PathBuf;

use anyhow::Context;
use prefopt_train::{Method, TrainReport, latest_checkpoint, load_run_config};

use super::RunFlags;
use crate::device::DeviceChoice;

/// Arguments shared by `sft`, `dpo`, `lipo` and `nextquill`.
#[derive(Debug, Clone, clap::Args)]
pub struct TrainArgs {
    /// The run config (`[model]`, `[data]`, `[training]`, `[reference]`, `[dpo]`, `[lipo]`,
    /// `[personalization]`, `[nextquill]`).
    #[arg(long)]
    pub config: PathBuf,
    /// Override one key, `table.key=value` in TOML syntax (e.g. `--set dpo.beta=0.2`);
    /// repeatable.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Device: cpu, wgpu[:N], vulkan[:N], metal[:N], cuda[:N].
    #[arg(long, default_value = "cpu")]
    pub device: DeviceChoice,
    /// Skip malformed JSONL rows (reported) instead of stopping at the first (same as
    /// `--set data.skip_bad_rows=true`).
    #[arg(long)]
    pub skip_bad_rows: bool,
    /// `--resume`, `--no-progress`, `--no-plots`.
    #[command(flatten)]
    pub run: RunFlags,
}

/// Runs `method` as `args` say.
#[allow(clippy::print_stdout)] // the CLI's output is its product
pub fn run(method: Method, args: &TrainArgs) -> anyhow::Result<TrainReport> {
    let mut config = load_run_config(&args.config, &args.set)?;
    if args.skip_bad_rows {
        config.data.skip_bad_rows = true;
    }
    let device = args.device.device()?;
    let options = args.run.options();
    let run = config
        .clone()
        .init(method)
        .with_context(|| format!("{} run failed", method.as_str()))?;
    let report = match prefopt_train::train(run, &device, &options) {
        Ok(report) => report,
        Err(e @ prefopt_train::Error::NonFinite { .. }) => {
            let last = latest_checkpoint(&config.training.output_dir)
                .ok()
                .flatten()
                .map_or("none".to_string(), |p| p.display().to_string());
            return Err(anyhow::Error::new(e).context(format!(
                "{} training stopped on a non-finite value; last good checkpoint: {last}",
                method.as_str()
            )));
        }
        Err(e) => {
            return Err(anyhow::Error::new(e))
                .with_context(|| format!("{} run failed", method.as_str()));
        }
    };
    if report.skipped_rows > 0 {
        println!(
            "skipped {} malformed row(s) of {}",
            report.skipped_rows,
            config.data.train.display()
        );
    }
    let last = report.losses.last().map_or(f64::NAN, |&(_, l)| l);
    println!(
        "{}: {} steps, last loss {last:.6}, model saved to {}",
        method.as_str(),
        report.global_step,
        report.output_dir.display()
    );
    if let Some(eval) = &report.personal_eval {
        println!(
            "{} on {} held-out examples: ROUGE-1 {:.4}, ROUGE-L {:.4}, BLEU {:.2} ({})",
            config.personalization.method.as_str(),
            eval.examples,
            eval.rouge1,
            eval.rouge_l,
            eval.bleu,
            report
                .output_dir
                .join(prefopt_train::PERSONAL_EVAL_FILE)
                .display()
        );
    }
    Ok(report)
}
