//! The two jobs of `prefopt bench unigenbench`, as library calls on plain settings: the CLI
//! maps its arguments onto a [`JudgeCommand`] or a [`ScoreCommand`], calls [`judge_command`] or
//! [`score_command`] and prints what comes back.

use std::path::PathBuf;

use crate::Result;
use crate::client::JudgeClientConfig;
use crate::unigenbench::leaderboard::Leaderboard;
use crate::unigenbench::report::Report;
use crate::unigenbench::run::{JudgeRunConfig, RunSummary, default_verdicts_path, judge_suite};
use crate::unigenbench::score::{ScoreOptions, ScoreReport, score};
use crate::unigenbench::suite::{Suite, SuiteOptions};
use crate::unigenbench::template::{JudgeTemplate, Protocol};
use crate::unigenbench::verdict::Verdicts;

/// Settings of `judge`: judge a folder of `{index}_{j}.png` images against a suite.
#[derive(Debug, Clone)]
pub struct JudgeCommand {
    /// The official prompt CSV (`test_prompts_{en,zh}[_long].csv`).
    pub suite: PathBuf,
    /// How the CSV is loaded (the documented JSON repair).
    pub suite_options: SuiteOptions,
    /// JSON file overriding the template, block headers and definitions (`docs/unigenbench.md`);
    /// `None` uses the built-in template of the suite's language.
    pub protocol: Option<PathBuf>,
    /// The judge endpoint, model and request settings.
    pub client: JudgeClientConfig,
    /// The images, the verdict store and the run settings.
    pub run: JudgeRunConfig,
}

impl JudgeCommand {
    /// Defaults: the client's ([`JudgeClientConfig::new`]) and the run's
    /// ([`JudgeRunConfig::new`]), verdicts in `<images>/verdicts.jsonl`, no protocol file.
    pub fn new(
        suite: impl Into<PathBuf>,
        images: impl Into<PathBuf>,
        endpoint: impl Into<String>,
        model: impl Into<String>,
    ) -> Self {
        let images = images.into();
        let verdicts = default_verdicts_path(&images);
        Self {
            suite: suite.into(),
            suite_options: SuiteOptions::default(),
            protocol: None,
            client: JudgeClientConfig::new(endpoint, model),
            run: JudgeRunConfig::new(images, verdicts),
        }
    }
}

/// Runs `judge`: loads the suite and the template, builds the client and judges every image
/// not yet in the store ([`judge_suite`]).
///
/// # Errors
/// A suite, protocol or client setting that does not load or validate, and every error of
/// [`judge_suite`].
pub fn judge_command(command: &JudgeCommand) -> Result<RunSummary> {
    let suite = Suite::load(&command.suite, command.suite_options)?;
    let protocol = command
        .protocol
        .as_deref()
        .map(Protocol::load)
        .transpose()?;
    let template = JudgeTemplate::with_protocol(suite.language, protocol.unwrap_or_default())?;
    let client = command.client.clone().init()?;
    judge_suite(&suite, &template, &client, &command.run)
}

/// Settings of `score`: score a verdict store against its suite.
#[derive(Debug, Clone)]
pub struct ScoreCommand {
    /// The official prompt CSV the verdicts were judged against.
    pub suite: PathBuf,
    /// How the CSV is loaded (the documented JSON repair).
    pub suite_options: SuiteOptions,
    /// The verdict JSONL written by `judge`.
    pub verdicts: PathBuf,
    /// Images per prompt, missing-verdict policy, primary-dimension pooling.
    pub options: ScoreOptions,
    /// Write `report.md`, `report.json` and the bar charts into this folder.
    pub report: Option<PathBuf>,
    /// Compare with this published row of the Sept-2025 leaderboard (e.g. `FLUX.1-dev`).
    pub compare: Option<String>,
}

impl ScoreCommand {
    /// Default options ([`ScoreOptions::default`]), no report folder, no comparison.
    pub fn new(suite: impl Into<PathBuf>, verdicts: impl Into<PathBuf>) -> Self {
        Self {
            suite: suite.into(),
            suite_options: SuiteOptions::default(),
            verdicts: verdicts.into(),
            options: ScoreOptions::default(),
            report: None,
            compare: None,
        }
    }
}

/// What `score` produced.
#[derive(Debug, Clone)]
pub struct ScoreOutcome {
    /// The scores (their [`ScoreReport::to_json`] is the `--json` output).
    pub scores: ScoreReport,
    /// The Markdown report (with the comparison when one was asked for).
    pub markdown: String,
    /// Files written into [`ScoreCommand::report`].
    pub written: Vec<PathBuf>,
}

/// Runs `score`: loads the suite and the verdicts, scores them (failing closed on missing
/// verdicts unless [`ScoreOptions::allow_missing`]; a partial score is warned about with its
/// denominators), builds the report and writes it when [`ScoreCommand::report`] is set.
///
/// # Errors
/// A suite or verdict file that does not load, missing verdicts ([`score`]), an unknown
/// leaderboard model, a report that cannot be written.
pub fn score_command(command: &ScoreCommand) -> Result<ScoreOutcome> {
    let suite = Suite::load(&command.suite, command.suite_options)?;
    let verdicts = Verdicts::load(&command.verdicts)?;
    let scores = score(&suite, &verdicts, command.options)?;
    warn_if_partial(&scores);
    let board = Leaderboard::september_2025();
    let row = command
        .compare
        .as_deref()
        .map(|m| board.row(m))
        .transpose()?;
    let report = Report::new(&suite, &scores, row.map(|r| (r, board.source.as_str())));
    let written = match &command.report {
        Some(dir) => report.write(dir, row)?,
        None => Vec::new(),
    };
    for path in &written {
        tracing::info!("wrote {}", path.display());
    }
    let markdown = report.markdown();
    Ok(ScoreOutcome {
        scores,
        markdown,
        written,
    })
}

fn warn_if_partial(scores: &ScoreReport) {
    let c = &scores.coverage;
    if c.missing + c.unjudged == 0 {
        return;
    }
    let denominators: Vec<String> = scores
        .sub
        .iter()
        .map(|s| format!("{}: {}/{}", s.label, s.fraction.correct, s.fraction.total))
        .collect();
    tracing::warn!(
        "scoring {} of {} images ({} missing, {} failed); denominators: {}",
        c.judged,
        c.expected,
        c.missing,
        c.unjudged,
        denominators.join(", ")
    );
}
