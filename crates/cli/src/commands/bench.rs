//! `prefopt bench unigenbench {judge,score}`: the arguments, mapped onto
//! `prefopt_bench::unigenbench::{JudgeCommand, ScoreCommand}`; the work is
//! `prefopt_bench::unigenbench::{judge_command, score_command}`.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use prefopt_bench::unigenbench::{
    Aggregation, JudgeCommand, ScoreCommand, SuiteOptions, default_verdicts_path, judge_command,
    score_command,
};
use prefopt_bench::{ApiKey, ContentOrder, ImageEncoding};

/// `prefopt bench unigenbench`: judge images with an MLLM and score the verdicts.
#[derive(Debug, Clone, clap::Args)]
pub struct UnigenbenchArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: UnigenbenchCommand,
}

/// The UniGenBench subcommands.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum UnigenbenchCommand {
    /// Judge `{index}_{j}.png` images against a suite through an OpenAI-compatible endpoint.
    Judge(JudgeArgs),
    /// Score a verdict file (fails closed on missing verdicts).
    Score(ScoreArgs),
}

/// Arguments of `judge`.
#[derive(Debug, Clone, clap::Args)]
pub struct JudgeArgs {
    /// The official prompt CSV (`test_prompts_{en,zh}[_long].csv`).
    #[arg(long)]
    pub suite: PathBuf,
    /// Folder of images named `{index}_{j}.png`.
    #[arg(long)]
    pub images: PathBuf,
    /// Chat-completions URL (`/chat/completions` is appended when missing).
    #[arg(long)]
    pub endpoint: String,
    /// Model name sent in the request (vLLM's --served-model-name, e.g. QwenVL).
    #[arg(long)]
    pub model: String,
    /// Verdict JSONL (default: `<images>/verdicts.jsonl`).
    #[arg(long)]
    pub verdicts: Option<PathBuf>,
    /// Environment variable holding the API key (never logged); unset means no key.
    #[arg(long, default_value = "OPENAI_API_KEY")]
    pub api_key_env: String,
    /// Continue an existing verdict file, skipping judged images.
    #[arg(long)]
    pub resume: bool,
    /// Concurrent requests.
    #[arg(long, default_value_t = 16)]
    pub workers: usize,
    /// Images per prompt.
    #[arg(long, default_value_t = 4)]
    pub images_per_prompt: usize,
    /// max_tokens of each request.
    #[arg(long, default_value_t = 4096)]
    pub max_tokens: u32,
    /// Sampling temperature (omitted from the request when not given).
    #[arg(long)]
    pub temperature: Option<f32>,
    /// Per-request timeout in seconds.
    #[arg(long, default_value_t = 300.0)]
    pub timeout_secs: f64,
    /// HTTP attempts per request (transport errors, 429, 5xx).
    #[arg(long, default_value_t = 11)]
    pub attempts: u32,
    /// Re-queries when an answer does not parse.
    #[arg(long, default_value_t = 10)]
    pub parse_retries: u32,
    /// First back-off delay in seconds (doubles per retry, capped at 30 s).
    #[arg(long, default_value_t = 1.0)]
    pub backoff_secs: f64,
    /// Stop after this many consecutive images failed at the HTTP level.
    #[arg(long, default_value_t = 32)]
    pub max_consecutive_failures: usize,
    /// Send the PNG as is instead of re-encoding as JPEG q95.
    #[arg(long)]
    pub send_png: bool,
    /// Put the text before the image in the message (the official Gemini order).
    #[arg(long)]
    pub text_first: bool,
    /// JSON file overriding the template, block headers and definitions (docs/unigenbench.md).
    #[arg(long)]
    pub protocol: Option<PathBuf>,
    /// Apply the documented JSON repair to broken rows (en_long row 509).
    #[arg(long)]
    pub repair_json: bool,
    /// Hide the progress bar.
    #[arg(long)]
    pub no_progress: bool,
}

/// Arguments of `score`.
#[derive(Debug, Clone, clap::Args)]
pub struct ScoreArgs {
    /// The official prompt CSV the verdicts were judged against.
    #[arg(long)]
    pub suite: PathBuf,
    /// Verdict JSONL written by `judge`.
    #[arg(long)]
    pub verdicts: PathBuf,
    /// Print one JSON object {overall, primary, sub} instead of Markdown.
    #[arg(long)]
    pub json: bool,
    /// Score what is there when verdicts are missing or failed (prints the denominators).
    #[arg(long)]
    pub allow_missing: bool,
    /// Primary score = mean of its sub-dimensions (the paper's text) instead of pooled.
    #[arg(long = "macro")]
    pub macro_average: bool,
    /// Images per prompt.
    #[arg(long, default_value_t = 4)]
    pub images_per_prompt: usize,
    /// Write report.md, report.json and bar charts into this folder.
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// Compare with this published row of the Sept-2025 leaderboard (e.g. FLUX.1-dev).
    #[arg(long)]
    pub compare: Option<String>,
    /// Apply the documented JSON repair to broken rows (en_long row 509).
    #[arg(long)]
    pub repair_json: bool,
}

fn secs(s: f64, flag: &str) -> anyhow::Result<Duration> {
    Duration::try_from_secs_f64(s).with_context(|| format!("{flag} {s}"))
}

impl JudgeArgs {
    /// The library settings these arguments stand for (the API key read from
    /// `--api-key-env`).
    ///
    /// # Errors
    /// A negative or non-finite `--timeout-secs` / `--backoff-secs`.
    pub fn to_command(&self) -> anyhow::Result<JudgeCommand> {
        let mut c = JudgeCommand::new(&self.suite, &self.images, &self.endpoint, &self.model);
        c.suite_options = SuiteOptions {
            repair_json: self.repair_json,
        };
        c.protocol.clone_from(&self.protocol);
        let client = &mut c.client;
        client.chat.api_key = ApiKey::from_env(&self.api_key_env);
        client.chat.timeout = secs(self.timeout_secs, "--timeout-secs")?;
        client.chat.max_attempts = self.attempts;
        client.chat.backoff_initial = secs(self.backoff_secs, "--backoff-secs")?;
        client.max_tokens = self.max_tokens;
        client.temperature = self.temperature;
        client.max_parse_retries = self.parse_retries;
        client.order = if self.text_first {
            ContentOrder::TextFirst
        } else {
            ContentOrder::ImageFirst
        };
        let run = &mut c.run;
        run.verdicts = self
            .verdicts
            .clone()
            .unwrap_or_else(|| default_verdicts_path(&self.images));
        run.images_per_prompt = self.images_per_prompt;
        run.workers = self.workers;
        run.resume = self.resume;
        run.encoding = if self.send_png {
            ImageEncoding::Png
        } else {
            ImageEncoding::Jpeg(95)
        };
        run.max_consecutive_failures = self.max_consecutive_failures;
        run.progress = !self.no_progress;
        Ok(c)
    }
}

impl ScoreArgs {
    /// The library settings these arguments stand for.
    pub fn to_command(&self) -> ScoreCommand {
        let mut c = ScoreCommand::new(&self.suite, &self.verdicts);
        c.suite_options = SuiteOptions {
            repair_json: self.repair_json,
        };
        c.options.images_per_prompt = self.images_per_prompt;
        c.options.allow_missing = self.allow_missing;
        c.options.aggregation = if self.macro_average {
            Aggregation::Macro
        } else {
            Aggregation::Micro
        };
        c.report.clone_from(&self.report);
        c.compare.clone_from(&self.compare);
        c
    }
}

/// Runs a `prefopt bench unigenbench` subcommand, printing its result to stdout.
#[allow(clippy::print_stdout)] // the CLI's output is its product
pub fn run(args: &UnigenbenchArgs) -> anyhow::Result<()> {
    match &args.command {
        UnigenbenchCommand::Judge(a) => {
            let command = a.to_command()?;
            let summary = judge_command(&command)?;
            println!("{summary}\nverdicts: {}", command.run.verdicts.display());
        }
        UnigenbenchCommand::Score(a) => {
            let outcome = score_command(&a.to_command())?;
            if a.json {
                println!("{}", outcome.scores.to_json());
            } else {
                print!("{}", outcome.markdown);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, Parser};

    use super::*;

    #[derive(Debug, Parser)]
    struct Bench {
        #[command(subcommand)]
        command: Benchmark,
    }

    #[derive(Debug, clap::Subcommand)]
    enum Benchmark {
        Unigenbench(UnigenbenchArgs),
    }

    fn parse(args: &[&str]) -> UnigenbenchCommand {
        Bench::command().debug_assert();
        let Benchmark::Unigenbench(a) =
            Bench::try_parse_from(["bench", "unigenbench"].iter().chain(args))
                .unwrap()
                .command;
        a.command
    }

    fn judge(args: &[&str]) -> anyhow::Result<JudgeCommand> {
        match parse(args) {
            UnigenbenchCommand::Judge(a) => a.to_command(),
            UnigenbenchCommand::Score(_) => panic!("not judge"),
        }
    }

    #[test]
    fn judge_arguments_map_onto_the_library_settings() {
        let base = [
            "judge",
            "--suite",
            "s.csv",
            "--images",
            "imgs",
            "--endpoint",
            "http://127.0.0.1:9/v1",
            "--model",
            "QwenVL",
            "--api-key-env",
            "PREFOPT_TEST_UNSET_KEY",
        ];
        let c = judge(&base).unwrap();
        // The defaults are the official ones.
        assert_eq!(c.run.verdicts, PathBuf::from("imgs/verdicts.jsonl"));
        assert_eq!((c.run.workers, c.run.images_per_prompt), (16, 4));
        assert_eq!(c.run.encoding, ImageEncoding::Jpeg(95));
        assert!(c.run.progress && !c.run.resume);
        assert_eq!(
            (c.client.max_tokens, c.client.max_parse_retries),
            (4096, 10)
        );
        assert_eq!(c.client.chat.max_attempts, 11);
        assert_eq!(c.client.chat.timeout, Duration::from_secs(300));
        assert_eq!(c.client.order, ContentOrder::ImageFirst);
        assert!(!c.client.chat.api_key.is_set() && c.client.temperature.is_none());

        let mut args = base.to_vec();
        args.extend([
            "--verdicts",
            "v.jsonl",
            "--workers",
            "3",
            "--send-png",
            "--text-first",
            "--no-progress",
            "--resume",
            "--repair-json",
            "--temperature",
            "0",
            "--timeout-secs",
            "2.5",
            "--backoff-secs",
            "0.1",
            "--attempts",
            "2",
            "--parse-retries",
            "1",
        ]);
        let c = judge(&args).unwrap();
        assert_eq!(c.run.verdicts, PathBuf::from("v.jsonl"));
        assert_eq!(c.run.workers, 3);
        assert_eq!(c.run.encoding, ImageEncoding::Png);
        assert!(!c.run.progress && c.run.resume && c.suite_options.repair_json);
        assert_eq!(c.client.order, ContentOrder::TextFirst);
        assert_eq!(c.client.temperature, Some(0.0));
        assert_eq!(c.client.chat.timeout, Duration::from_millis(2500));
        assert_eq!(c.client.chat.backoff_initial, Duration::from_millis(100));
        assert_eq!(
            (c.client.chat.max_attempts, c.client.max_parse_retries),
            (2, 1)
        );

        let mut args = base.to_vec();
        args.push("--timeout-secs=-1");
        let err = format!("{:#}", judge(&args).unwrap_err());
        assert!(err.contains("--timeout-secs -1"), "{err}");
    }

    #[test]
    fn score_arguments_map_onto_the_library_settings() {
        let UnigenbenchCommand::Score(a) = parse(&[
            "score",
            "--suite",
            "s.csv",
            "--verdicts",
            "v.jsonl",
            "--macro",
            "--allow-missing",
            "--report",
            "out",
            "--compare",
            "FLUX.1-dev",
        ]) else {
            panic!("not score")
        };
        let c = a.to_command();
        assert_eq!(c.options.aggregation, Aggregation::Macro);
        assert!(c.options.allow_missing);
        assert_eq!(c.options.images_per_prompt, 4);
        assert_eq!(c.report, Some(PathBuf::from("out")));
        assert_eq!(c.compare.as_deref(), Some("FLUX.1-dev"));
    }
}
