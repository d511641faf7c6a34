//! `prefopt t2i train|generate|suite|check|grpo|train-judges|study`: the text-to-image model of the shapes world.

use std::path::PathBuf;

use anyhow::Context;
use prefopt_tasks::shapes::{World, WorldConfig, check_suite, write_suite};
use prefopt_tasks::shapes_grpo::{
    JUDGES_REPORT_FILE, JudgeTrainingConfig, PrefGrpoStudyConfig, ShapesGrpoConfig,
    run_pref_grpo_study, run_shapes_grpo, train_judges,
};
use prefopt_tasks::shapes_t2i::{
    GenerateOptions, T2iConfig, generate_suite_images, load_world, read_prompts, train_base,
};

use super::RunFlags;
use crate::device::DeviceChoice;

/// The `prefopt t2i` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum T2iCommand {
    /// Train the base text-to-image pipeline of the shapes world from scratch by flow
    /// matching (`[world]`, `[model]`, `[training]`, `[flow]`).
    Train(T2iTrainArgs),
    /// Draw images for a prompt file (a suite CSV or one caption per line) into
    /// `{index}_{j}.png` plus `contact_sheet.png`.
    Generate(T2iGenerateArgs),
    /// Write a mini UniGenBench suite of held-out shapes-world prompts (official CSV layout).
    Suite(T2iSuiteArgs),
    /// Check generated images against their suite with the world's checker and write
    /// UniGenBench verdict JSONL (`prefopt bench unigenbench score` reads it).
    Check(T2iCheckArgs),
    /// Fine-tune a trained pipeline with Flow-GRPO / Pref-GRPO on the world's checker
    /// rewards (`base_model`, `[prompts]`, `[training]`, `[grpo]`, `[[rewards]]`).
    Grpo(T2iTrainArgs),
    /// Sample a base pipeline, label the images with the world's checker, and train the
    /// learned pointwise scorer and the learned pairwise judge (same data, same network) for
    /// the `learned_scorer` and `learned_judge_win_rate` rewards (`base_model`, `output_dir`,
    /// `[data]`, `[net]`, `[training]`).
    TrainJudges(T2iTrainJudgesArgs),
    /// The Pref-GRPO study: fit the learned judges on the base, run every arm (a `[[rewards]]`
    /// set) with every seed, and write `results.md`, `results.json`, plots and sample grids.
    /// Rerunning continues a killed study (finished runs are kept, an interrupted one resumes).
    Study(T2iStudyArgs),
}

/// Arguments of `prefopt t2i study`.
#[derive(Debug, Clone, clap::Args)]
pub struct T2iStudyArgs {
    /// The study's TOML config (`base_model`, `seeds`, `judges`, `grpo`, `set`, `[[arms]]`).
    #[arg(long)]
    pub config: PathBuf,
    /// Output directory (judges, runs, results, plots).
    #[arg(long, default_value = "t2i_study")]
    pub out: PathBuf,
    /// Override one key of the study config, `key=value` in TOML syntax; repeatable.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Device: cpu, wgpu[:N], vulkan[:N], metal[:N], cuda[:N].
    #[arg(long, default_value = "cpu")]
    pub device: DeviceChoice,
    /// Do not draw the progress bars.
    #[arg(long)]
    pub no_progress: bool,
    /// Do not write each run's metric plots (the study's own figures are always written).
    #[arg(long)]
    pub no_plots: bool,
    /// Runs at a time (on the CPU backend each run keeps one core busy).
    #[arg(long, default_value_t = 1)]
    pub jobs: usize,
}

/// Arguments of `prefopt t2i train-judges`.
#[derive(Debug, Clone, clap::Args)]
pub struct T2iTrainJudgesArgs {
    /// The TOML config.
    #[arg(long)]
    pub config: PathBuf,
    /// Override one key, `table.key=value` in TOML syntax; repeatable.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Device: cpu, wgpu[:N], vulkan[:N], metal[:N], cuda[:N].
    #[arg(long, default_value = "cpu")]
    pub device: DeviceChoice,
}

/// Arguments of `prefopt t2i train`.
#[derive(Debug, Clone, clap::Args)]
pub struct T2iTrainArgs {
    /// The TOML config.
    #[arg(long)]
    pub config: PathBuf,
    /// Override one key, `table.key=value` in TOML syntax; repeatable.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Device: cpu, wgpu[:N], vulkan[:N], metal[:N], cuda[:N].
    #[arg(long, default_value = "cpu")]
    pub device: DeviceChoice,
    /// `--resume`, `--no-progress`, `--no-plots`.
    #[command(flatten)]
    pub run: RunFlags,
}

/// Arguments of `prefopt t2i generate`.
#[derive(Debug, Clone, clap::Args)]
pub struct T2iGenerateArgs {
    /// The pipeline directory (`model_index.json`; a run's output or a checkpoint).
    #[arg(long)]
    pub model: PathBuf,
    /// The prompts: a suite CSV, or a text file with one caption per line.
    #[arg(long)]
    pub prompts: PathBuf,
    /// Output directory.
    #[arg(long)]
    pub out: PathBuf,
    /// Images per prompt.
    #[arg(long, default_value_t = 4)]
    pub images_per_prompt: usize,
    /// Seed of the initial noise.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Euler steps.
    #[arg(long, default_value_t = 20)]
    pub steps: usize,
    /// Time shift of the schedule (1 = none).
    #[arg(long, default_value_t = 1.0)]
    pub shift: f64,
    /// Classifier-free guidance scale (1 = none).
    #[arg(long, default_value_t = 1.0)]
    pub guidance_scale: f32,
    /// Images per forward pass.
    #[arg(long, default_value_t = 32)]
    pub batch_size: usize,
    /// Device: cpu, wgpu[:N], vulkan[:N], metal[:N], cuda[:N].
    #[arg(long, default_value = "cpu")]
    pub device: DeviceChoice,
}

/// Arguments of `prefopt t2i suite`.
#[derive(Debug, Clone, clap::Args)]
pub struct T2iSuiteArgs {
    /// The suite CSV to write.
    #[arg(long)]
    pub out: PathBuf,
    /// Number of prompts.
    #[arg(long, default_value_t = 100)]
    pub prompts: usize,
    /// Seed of the prompt draw.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// The world: a pipeline directory or its `world.json` (default: the default world).
    #[arg(long)]
    pub world: Option<PathBuf>,
}

/// Arguments of `prefopt t2i check`.
#[derive(Debug, Clone, clap::Args)]
pub struct T2iCheckArgs {
    /// The world: a pipeline directory or its `world.json` (default: the default world).
    #[arg(long)]
    pub world: Option<PathBuf>,
    /// The suite CSV the images were drawn for.
    #[arg(long)]
    pub suite: PathBuf,
    /// The directory of `{index}_{j}.png`.
    #[arg(long)]
    pub images: PathBuf,
    /// Images per prompt.
    #[arg(long, default_value_t = 4)]
    pub images_per_prompt: usize,
    /// The verdict JSONL to write.
    #[arg(long)]
    pub verdicts: PathBuf,
}

fn world(path: Option<&PathBuf>) -> anyhow::Result<World> {
    Ok(match path {
        Some(p) => load_world(p)?,
        None => World::new(WorldConfig::default())?,
    })
}

/// Runs one `prefopt t2i` subcommand.
#[allow(clippy::print_stdout)] // the CLI's output is its product
pub fn run(command: &T2iCommand) -> anyhow::Result<()> {
    match command {
        T2iCommand::Train(args) => {
            let config = T2iConfig::load(&args.config, &args.set)?;
            let device = args.device.device()?;
            let options = args.run.options();
            let report = train_base(&config, &device, &options).context("t2i training failed")?;
            let last = report.losses.last().map_or(f64::NAN, |&(_, l)| l);
            println!(
                "trained {} steps; last loss {last:.5}; pipeline in {}",
                report.global_step,
                report.output_dir.display()
            );
        }
        T2iCommand::Grpo(args) => {
            let config = ShapesGrpoConfig::load(&args.config, &args.set)?;
            let device = args.device.device()?;
            let options = args.run.options();
            let report = run_shapes_grpo(&config, &device, &options).context("t2i GRPO failed")?;
            let last = report.losses.last().map_or(f64::NAN, |&(_, l)| l);
            println!(
                "ran {} GRPO steps; last loss {last:.6}; pipeline in {}",
                report.global_step,
                report.output_dir.display()
            );
        }
        T2iCommand::Study(args) => {
            let config = PrefGrpoStudyConfig::load(&args.config, &args.set)?;
            let device = args.device.device()?;
            let options = prefopt_train::TrainOptions {
                resume: false,
                progress: !args.no_progress,
                no_plots: args.no_plots,
            };
            let results = run_pref_grpo_study(&config, &args.out, &device, &options, args.jobs)
                .context("the t2i study failed")?;
            println!(
                "{}",
                prefopt_tasks::shapes_grpo::study_markdown(&config, &results)
            );
            println!("results in {}", args.out.join("results.md").display());
        }
        T2iCommand::TrainJudges(args) => {
            let config = JudgeTrainingConfig::load(&args.config, &args.set)?;
            let device = args.device.device()?;
            let report = train_judges(&config, &device).context("training the judges failed")?;
            println!(
                "scorer: held-out pair accuracy {:.3}, Pearson {:.3}; judge: held-out pair \
                 accuracy {:.3}; {} + {} samples, {:.0} s; report in {}",
                report.scorer.held_out.pair_accuracy,
                report.scorer.held_out.pearson,
                report.judge.held_out.pair_accuracy,
                report.train_samples,
                report.held_out_samples,
                report.seconds,
                config.output_dir.join(JUDGES_REPORT_FILE).display()
            );
        }
        T2iCommand::Generate(args) => {
            let prompts = read_prompts(&args.prompts)?;
            let options = GenerateOptions {
                images_per_prompt: args.images_per_prompt,
                seed: args.seed,
                steps: args.steps,
                shift: args.shift,
                guidance_scale: args.guidance_scale,
                batch_size: args.batch_size,
            };
            let device = args.device.device()?;
            let out = generate_suite_images(&args.model, &prompts, &args.out, &options, &device)?;
            println!(
                "wrote {} images and {}",
                out.images.len(),
                out.contact_sheet.display()
            );
        }
        T2iCommand::Suite(args) => {
            let world = world(args.world.as_ref())?;
            let prompts = write_suite(&args.out, &world, args.prompts, args.seed)?;
            println!("wrote {} prompts to {}", prompts.len(), args.out.display());
        }
        T2iCommand::Check(args) => {
            let world = world(args.world.as_ref())?;
            let summary = check_suite(
                &args.suite,
                &args.images,
                args.images_per_prompt,
                &world.config,
                &args.verdicts,
            )?;
            println!(
                "checked {} images of {} prompts: {}/{} test points pass; verdicts in {}",
                summary.images,
                summary.prompts,
                summary.passed,
                summary.testpoints,
                args.verdicts.display()
            );
        }
    }
    Ok(())
}
