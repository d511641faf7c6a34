//! The `prefopt bench unigenbench ...` subcommands, ready for the `prefopt` binary:
//!
//! ```text
//! Unigenbench(prefopt_bench::cli::UnigenbenchArgs) => prefopt_bench::cli::run(args)?,
//! ```

use std::path::PathBuf;
use std::time::Duration;

use crate::client::{ApiKey, ContentOrder, JudgeClientConfig};
use crate::images::ImageEncoding;
use crate::leaderboard::Leaderboard;
use crate::report::Report;
use crate::run::{JudgeRunConfig, default_verdicts_path, judge_suite};
use crate::score::{Aggregation, ScoreOptions, score};
use crate::suite::{Suite, SuiteOptions};
use crate::template::{JudgeTemplate, Protocol};
use crate::verdict::Verdicts;
use crate::{Error, Result};

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

fn secs(s: f64, what: &str) -> Result<Duration> {
    Duration::try_from_secs_f64(s).map_err(|e| Error::Config(format!("{what}: {e}")))
}

/// Runs a `prefopt bench unigenbench` subcommand, printing its result to stdout.
#[allow(clippy::print_stdout, clippy::print_stderr)]
pub fn run(args: UnigenbenchArgs) -> Result<()> {
    match args.command {
        UnigenbenchCommand::Judge(a) => {
            let suite = Suite::load(
                &a.suite,
                SuiteOptions {
                    repair_json: a.repair_json,
                },
            )?;
            let protocol = a.protocol.as_deref().map(Protocol::load).transpose()?;
            let template =
                JudgeTemplate::with_protocol(suite.language, protocol.unwrap_or_default())?;
            let mut client = JudgeClientConfig::new(a.endpoint, a.model);
            client.api_key = ApiKey::from_env(&a.api_key_env);
            client.max_tokens = a.max_tokens;
            client.temperature = a.temperature;
            client.timeout = secs(a.timeout_secs, "--timeout-secs")?;
            client.max_attempts = a.attempts;
            client.max_parse_retries = a.parse_retries;
            client.backoff_initial = secs(a.backoff_secs, "--backoff-secs")?;
            client.order = if a.text_first {
                ContentOrder::TextFirst
            } else {
                ContentOrder::ImageFirst
            };
            let client = client.init()?;
            let verdicts = a
                .verdicts
                .unwrap_or_else(|| default_verdicts_path(&a.images));
            let mut config = JudgeRunConfig::new(&a.images, &verdicts);
            config.images_per_prompt = a.images_per_prompt;
            config.workers = a.workers;
            config.resume = a.resume;
            config.encoding = if a.send_png {
                ImageEncoding::Png
            } else {
                ImageEncoding::Jpeg(95)
            };
            config.max_consecutive_failures = a.max_consecutive_failures;
            config.progress = !a.no_progress;
            let summary = judge_suite(&suite, &template, &client, &config)?;
            println!(
                "judged {} of {} images this run ({} skipped as already judged, {} failed); \
                 {} requests, {} parse failures, {} HTTP failures, {:.1} s{}\nverdicts: {}",
                summary.judged,
                summary.attempted,
                summary.skipped,
                summary.failed,
                summary.requests,
                summary.parse_failures,
                summary.http_failures,
                summary.seconds,
                if summary.aborted {
                    "\nstopped early: the endpoint kept failing; rerun with --resume"
                } else {
                    ""
                },
                verdicts.display()
            );
            Ok(())
        }
        UnigenbenchCommand::Score(a) => {
            let suite = Suite::load(
                &a.suite,
                SuiteOptions {
                    repair_json: a.repair_json,
                },
            )?;
            let verdicts = Verdicts::load(&a.verdicts)?;
            let options = ScoreOptions {
                images_per_prompt: a.images_per_prompt,
                allow_missing: a.allow_missing,
                aggregation: if a.macro_average {
                    Aggregation::Macro
                } else {
                    Aggregation::Micro
                },
            };
            let scores = score(&suite, &verdicts, options)?;
            let board = Leaderboard::september_2025();
            let row = a.compare.as_deref().map(|m| board.row(m)).transpose()?;
            let report = Report::new(&suite, &scores, row.map(|r| (r, board.source.as_str())));
            let c = &scores.coverage;
            if c.missing + c.unjudged > 0 {
                eprintln!(
                    "warning: scoring {} of {} images ({} missing, {} failed); denominators:",
                    c.judged, c.expected, c.missing, c.unjudged
                );
                for s in &scores.sub {
                    eprintln!("  {}: {}/{}", s.label, s.fraction.correct, s.fraction.total);
                }
            }
            if let Some(dir) = &a.report {
                for p in report.write(dir, row)? {
                    tracing::info!("wrote {}", p.display());
                }
            }
            if a.json {
                println!("{}", scores.to_json());
            } else {
                print!("{}", report.markdown());
            }
            Ok(())
        }
    }
}
