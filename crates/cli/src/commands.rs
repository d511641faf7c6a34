//! The `prefopt` command line: one subcommand per job.

use clap::{Parser, Subcommand};

use crate::device::DeviceChoice;

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
    /// Show which devices this build can use and check that one works.
    Devices {
        /// The device to check: cpu, wgpu[:N], vulkan[:N], metal[:N], cuda[:N].
        #[arg(long, default_value = "cpu")]
        device: DeviceChoice,
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
    Unigenbench(prefopt_bench::cli::UnigenbenchArgs),
}

/// Runs one parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Devices { device } => devices(device),
        Command::Bench { benchmark } => match benchmark {
            BenchCommand::Unigenbench(args) => Ok(prefopt_bench::cli::run(args)?),
        },
    }
}

#[allow(clippy::print_stdout)] // the CLI's output is its product
fn devices(choice: DeviceChoice) -> anyhow::Result<()> {
    for d in [
        DeviceChoice::Cpu,
        DeviceChoice::Wgpu(0),
        DeviceChoice::Vulkan(0),
        DeviceChoice::Metal(0),
        DeviceChoice::Cuda(0),
    ] {
        let state = if d.is_compiled() {
            "compiled in"
        } else {
            "not compiled in"
        };
        let feature = d
            .feature()
            .map_or("(default)".to_string(), |f| format!("--features {f}"));
        println!(
            "{:<10} {:<16} {}",
            d.to_string().split(':').next().unwrap_or(""),
            state,
            feature
        );
    }
    let device = choice.device()?;
    let t = burn::tensor::Tensor::<1>::from_floats([1.0, 2.0, 3.0], &device);
    let sum: f32 = t.sum().into_scalar();
    anyhow::ensure!(sum == 6.0, "device {choice} computed 1+2+3 = {sum}");
    println!("{choice}: ok (1+2+3 = {sum})");
    Ok(())
}
