//! The `prefopt` command line: one subcommand per job.

mod bench;
mod convert;
mod demo;
mod devices;
mod eval;
mod generate;
mod grpo;
mod personal_eval;
mod real_model;
mod run_flags;
mod serve;
mod study;
mod t2i;
mod train;

use clap::{Parser, Subcommand};

use crate::device::DeviceChoice;

pub use convert::{ConvertArgs, run as convert_command};
pub use demo::{DemoArgs, run as demo_command};
pub use eval::{EvalArgs, EvalReport, run as eval_command};
pub use generate::{Completion, GenerateArgs, GenerationArgs, run as generate_command};
pub use grpo::{GrpoArgs, GrpoReport, ToyWorldArgs, run as grpo_command};
pub use personal_eval::{PersonalEvalArgs, run as personal_eval_command};
pub use real_model::{AlignRealArgs, run as align_real_command};
pub use run_flags::RunFlags;
pub use serve::{ServeArgs, run as serve_command, start as serve_start};
pub use study::{StudyArgs, run as study_command};
pub use t2i::{
    T2iCheckArgs, T2iCommand, T2iGenerateArgs, T2iSuiteArgs, T2iTrainArgs, run as t2i_command,
};
pub use train::{TrainArgs, run as train_command};

/// prefopt: preference optimization of generative models on burn.
#[derive(Debug, Parser)]
#[command(name = "prefopt", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Supervised fine-tuning (token-mean NLL on completions) from a TOML run config.
    Sft(TrainArgs),
    /// DPO-family preference optimization on pairs (`[dpo]` table) from a TOML run config.
    Dpo(TrainArgs),
    /// LiPO listwise preference optimization on ranked lists (`[lipo]` table).
    Lipo(TrainArgs),
    /// Personalisation on user histories (`[personalization]`): NextQuill (`[nextquill]`), or
    /// the SFT / ContextSFT baselines with `personalization.method`; scores held-out users.
    Nextquill(TrainArgs),
    /// Generate for the held-out users of `[personalization] test` with a checkpoint and
    /// score ROUGE / BLEU against their targets.
    PersonalEval(PersonalEvalArgs),
    /// The controlled sentiment demo: SFT from scratch, then DPO and LiPO-λ against a known
    /// ground-truth reward, with a reward / KL table and plot (the README's main job).
    Demo(DemoArgs),
    /// The real-model alignment run: a pretrained model (GGUF) aligned toward correct,
    /// concise answers with DPO and the LiPO family, LoRA and full; reward / win rate / KL.
    AlignReal(AlignRealArgs),
    /// The controlled NextQuill study: synthetic users with latent styles; SFT, ContextSFT,
    /// NextQuill and its ablations from the same weights; ROUGE on held-out users.
    PersonalizationStudy(StudyArgs),
    /// Online GRPO / Pref-GRPO: sample groups, score them, train on group-relative advantages.
    Grpo(GrpoArgs),
    /// Write the GRPO toy task (a tiny random policy, one token per character, and its
    /// prompts) for `prefopt grpo` with the `toy_*` rewards and comparators.
    ToyWorld(ToyWorldArgs),
    /// Complete a JSONL file of prompts with a checkpoint.
    Generate(GenerateArgs),
    /// Convert a GGUF file (llama architecture) into a Hugging Face checkpoint directory.
    Convert(ConvertArgs),
    /// Serve a checkpoint as an OpenAI-compatible chat-completions endpoint (text only),
    /// batching concurrent requests; stops cleanly on SIGINT/SIGTERM.
    Serve(ServeArgs),
    /// Mean reward of a checkpoint's completions under a reward model, and its win rate
    /// against a second checkpoint.
    Eval(EvalArgs),
    /// Show which devices this build can use and check that one works.
    Devices {
        /// The device to check: cpu, wgpu[:N], vulkan[:N], metal[:N], cuda[:N].
        #[arg(long, default_value = "cpu")]
        device: DeviceChoice,
    },
    /// Text-to-image in the shapes world: train the base flow model, generate, write the mini
    /// UniGenBench suite, check images.
    T2i {
        /// What to do.
        #[command(subcommand)]
        command: T2iCommand,
    },
    /// Benchmarks of generative models (UniGenBench for text-to-image).
    Bench {
        /// Which benchmark.
        #[command(subcommand)]
        benchmark: BenchCommand,
    },
}

/// The benchmarks `prefopt bench` runs.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// UniGenBench: judge images with an MLLM and score them as the official leaderboard does.
    Unigenbench(bench::UnigenbenchArgs),
}

/// Runs one parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Sft(args) => train::run(prefopt_train::Method::Sft, &args).map(drop),
        Command::Dpo(args) => train::run(prefopt_train::Method::Dpo, &args).map(drop),
        Command::Lipo(args) => train::run(prefopt_train::Method::Lipo, &args).map(drop),
        Command::Nextquill(args) => train::run(prefopt_train::Method::NextQuill, &args).map(drop),
        Command::PersonalEval(args) => personal_eval::run(&args).map(drop),
        Command::Demo(args) => demo::run(&args).map(drop),
        Command::AlignReal(args) => real_model::run(&args).map(drop),
        Command::PersonalizationStudy(args) => study::run(&args).map(drop),
        Command::Grpo(args) => grpo::run(&args).map(drop),
        Command::ToyWorld(args) => grpo::run_toy_world(&args),
        Command::Generate(args) => generate::run(&args).map(drop),
        Command::Convert(args) => convert::run(&args),
        Command::Serve(args) => serve::run(&args),
        Command::Eval(args) => eval::run(&args).map(drop),
        Command::Devices { device } => devices::run(device),
        Command::T2i { command } => t2i::run(&command),
        Command::Bench { benchmark } => match benchmark {
            BenchCommand::Unigenbench(args) => bench::run(&args),
        },
    }
}
