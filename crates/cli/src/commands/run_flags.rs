//! The flags every training command shares (`--resume`, `--no-progress`, `--no-plots`) and the
//! [`TrainOptions`] they make.

use prefopt_train::TrainOptions;

/// `--resume`, `--no-progress`, `--no-plots` (flattened into each training command's args).
#[derive(Debug, Clone, Copy, clap::Args)]
pub struct RunFlags {
    /// Continue from the latest `checkpoint-N/` in `training.output_dir`.
    #[arg(long)]
    pub resume: bool,
    /// Do not draw the progress bar.
    #[arg(long)]
    pub no_progress: bool,
    /// Do not write PNG plots of the metrics at the end.
    #[arg(long)]
    pub no_plots: bool,
}

impl RunFlags {
    /// The trainer options these flags ask for.
    pub fn options(&self) -> TrainOptions {
        TrainOptions {
            resume: self.resume,
            progress: !self.no_progress,
            no_plots: self.no_plots,
        }
    }
}
