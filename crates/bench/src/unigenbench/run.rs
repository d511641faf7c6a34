//! Judging a whole suite: one request per image on the shared bounded worker pool
//! ([`prefopt_core::for_each_bounded`]), each verdict appended to the store as it arrives, and a
//! progress bar.

use std::collections::BTreeSet;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::time::Instant;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use prefopt_core::for_each_bounded;

use crate::client::JudgeClient;
use crate::images::{ImageEncoding, check_png_header, image_data_uri, image_path};
use crate::unigenbench::suite::Suite;
use crate::unigenbench::template::JudgeTemplate;
use crate::unigenbench::verdict::{Verdict, VerdictWriter, Verdicts};
use crate::{Error, Result};

/// Settings of a judge run.
#[derive(Debug, Clone)]
pub struct JudgeRunConfig {
    /// Folder of `{index}_{j}.png` images.
    pub images: PathBuf,
    /// The verdict store (JSONL).
    pub verdicts: PathBuf,
    /// Images per prompt (official: 4).
    pub images_per_prompt: usize,
    /// Concurrent requests (official: 20 processes; Pref-GRPO: 16).
    pub workers: usize,
    /// Continue an existing store, skipping what is judged; without it an existing non-empty
    /// store is refused rather than overwritten.
    pub resume: bool,
    /// How images are sent.
    pub encoding: ImageEncoding,
    /// Stop the run after this many consecutive images failed at the HTTP level (the endpoint
    /// is probably down); what was judged is kept, and `--resume` continues.
    pub max_consecutive_failures: usize,
    /// Draw a progress bar on stderr.
    pub progress: bool,
}

impl JudgeRunConfig {
    /// Defaults: 4 images per prompt, 16 workers, JPEG q95, stop after 32 consecutive failures.
    pub fn new(images: impl Into<PathBuf>, verdicts: impl Into<PathBuf>) -> Self {
        Self {
            images: images.into(),
            verdicts: verdicts.into(),
            images_per_prompt: 4,
            workers: 16,
            resume: false,
            encoding: ImageEncoding::default(),
            max_consecutive_failures: 32,
            progress: false,
        }
    }
}

/// What a judge run did.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct RunSummary {
    /// Images in the suite (prompts × images per prompt).
    pub total: usize,
    /// Already judged in the store before this run (skipped).
    pub skipped: usize,
    /// Images sent this run.
    pub attempted: usize,
    /// Images that got a parsed verdict this run.
    pub judged: usize,
    /// Images that ended without a parsed verdict (recorded with `scores: null`).
    pub failed: usize,
    /// HTTP requests sent.
    pub requests: u64,
    /// Answers that did not parse (each one caused a re-query or, at the end, a failure).
    pub parse_failures: u64,
    /// Failed HTTP attempts (transport errors, 429/5xx, unreadable bodies).
    pub http_failures: u64,
    /// Whether the run stopped early because the endpoint kept failing.
    pub aborted: bool,
    /// Wall time in seconds.
    pub seconds: f64,
}

impl std::fmt::Display for RunSummary {
    /// One line of counts, plus a second one when the run stopped early.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "judged {} of {} images this run ({} skipped as already judged, {} failed); \
             {} requests, {} parse failures, {} HTTP failures, {:.1} s",
            self.judged,
            self.attempted,
            self.skipped,
            self.failed,
            self.requests,
            self.parse_failures,
            self.http_failures,
            self.seconds,
        )?;
        if self.aborted {
            write!(
                f,
                "\nstopped early: the endpoint kept failing; rerun with --resume"
            )?;
        }
        Ok(())
    }
}

struct Task {
    prompt: usize,
    image: usize,
    path: PathBuf,
}

/// Judges every image of `suite` not yet judged in the store.
///
/// Fails before sending anything when an image is missing or is not a PNG (naming it). A
/// fatal endpoint answer (HTTP 4xx other than 429, e.g. a bad key or model name) stops the
/// run with an error; verdicts already written stay.
pub fn judge_suite(
    suite: &Suite,
    template: &JudgeTemplate,
    client: &JudgeClient,
    config: &JudgeRunConfig,
) -> Result<RunSummary> {
    let start = Instant::now();
    if config.workers == 0 || config.images_per_prompt == 0 {
        return Err(Error::Config(
            "workers and images per prompt must be at least 1".to_string(),
        ));
    }
    let existing = Verdicts::load(&config.verdicts)?;
    if !config.resume && existing.lines > 0 {
        return Err(Error::Config(format!(
            "{} already holds {} verdicts; pass --resume to continue it, or choose another file",
            config.verdicts.display(),
            existing.lines
        )));
    }
    let done: BTreeSet<(usize, usize)> = existing
        .by_key
        .iter()
        .filter(|(_, v)| v.is_judged())
        .map(|(k, _)| *k)
        .collect();
    for ((index, image), v) in &existing.by_key {
        if let Some(p) = suite.prompt(*index) {
            let raw: Vec<&str> = p.testpoints.iter().map(|t| t.raw.as_str()).collect();
            if v.testpoints != raw {
                return Err(Error::Verdict {
                    path: config.verdicts.clone(),
                    line: 0,
                    message: format!(
                        "verdict ({index}, {image}) has test points {:?} but the suite has {raw:?}: \
                         the store belongs to another suite version",
                        v.testpoints
                    ),
                });
            }
        }
    }

    // Fail closed on missing or non-PNG images before any request.
    let mut tasks = Vec::new();
    let mut missing = Vec::new();
    let mut skipped = 0;
    for (pi, prompt) in suite.prompts.iter().enumerate() {
        for j in 0..config.images_per_prompt {
            if done.contains(&(prompt.index, j)) {
                skipped += 1;
                continue;
            }
            let path = image_path(&config.images, prompt.index, j);
            if !path.exists() {
                missing.push(path);
                continue;
            }
            check_png_header(&path)?;
            tasks.push(Task {
                prompt: pi,
                image: j,
                path,
            });
        }
    }
    if !missing.is_empty() {
        let shown: Vec<String> = missing
            .iter()
            .take(5)
            .map(|p| p.display().to_string())
            .collect();
        return Err(Error::Image {
            path: config.images.clone(),
            message: format!(
                "{} images missing (expected `{{index}}_{{j}}.png`, j < {}), e.g. {}",
                missing.len(),
                config.images_per_prompt,
                shown.join(", ")
            ),
        });
    }

    let mut summary = RunSummary {
        total: suite.prompts.len() * config.images_per_prompt,
        skipped,
        ..RunSummary::default()
    };
    let mut writer = VerdictWriter::append(&config.verdicts)?;
    let bar = if config.progress {
        ProgressBar::with_draw_target(Some(tasks.len() as u64), ProgressDrawTarget::stderr())
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} judging [{bar:40}] {pos}/{len} ({per_sec}, eta {eta}) {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    let workers = config.workers.min(tasks.len().max(1));
    let model = client.config().model.as_str();
    let mut consecutive = 0usize;
    let mut first_error = None;
    for_each_bounded(
        workers,
        tasks,
        |task| judge_one(suite, template, client, config, model, &task),
        |result| {
            let (verdict, stats) = match result {
                Ok(judged) => judged,
                Err(e) => {
                    first_error.get_or_insert(e);
                    return ControlFlow::Break(());
                }
            };
            summary.attempted += 1;
            summary.requests += u64::from(stats.requests);
            summary.parse_failures += u64::from(stats.parse_failures);
            summary.http_failures += u64::from(stats.http_failures);
            if verdict.is_judged() {
                summary.judged += 1;
                consecutive = 0;
            } else {
                summary.failed += 1;
                if stats.http_exhausted {
                    consecutive += 1;
                }
            }
            let written = writer.write(&verdict);
            bar.inc(1);
            bar.set_message(format!(
                "{} failed, {} parse retries",
                summary.failed, summary.parse_failures
            ));
            if let Err(e) = written {
                first_error.get_or_insert(e);
                return ControlFlow::Break(());
            }
            if consecutive >= config.max_consecutive_failures && !summary.aborted {
                tracing::error!(
                    "{consecutive} images in a row failed at the HTTP level; stopping \
                     (resume with --resume)"
                );
                summary.aborted = true;
                return ControlFlow::Break(());
            }
            ControlFlow::Continue(())
        },
    );
    bar.finish_and_clear();
    summary.seconds = start.elapsed().as_secs_f64();
    if let Some(e) = first_error {
        return Err(e);
    }
    tracing::info!(?summary, "judge run finished");
    Ok(summary)
}

struct Stats {
    requests: u32,
    parse_failures: u32,
    http_failures: u32,
    http_exhausted: bool,
}

fn judge_one(
    suite: &Suite,
    template: &JudgeTemplate,
    client: &JudgeClient,
    config: &JudgeRunConfig,
    model: &str,
    task: &Task,
) -> Result<(Verdict, Stats)> {
    let prompt = &suite.prompts[task.prompt];
    let uri = image_data_uri(&task.path, config.encoding)?;
    let text = template.render(prompt);
    let outcome = client.judge(&text, &uri, prompt.testpoints.len())?;
    let stats = Stats {
        requests: outcome.requests,
        parse_failures: outcome.parse_failures,
        http_failures: outcome.http_failures,
        http_exhausted: outcome.parsed.is_none() && outcome.answer.is_none(),
    };
    let (scores, analysis) = match outcome.parsed {
        Some(p) => (Some(p.scores), Some(p.analysis)),
        None => (None, None),
    };
    Ok((
        Verdict {
            index: prompt.index,
            image: task.image,
            testpoints: prompt.testpoints.iter().map(|t| t.raw.clone()).collect(),
            scores,
            analysis,
            answer: outcome.answer,
            error: outcome.error,
            model: Some(model.to_string()),
        },
        stats,
    ))
}

/// The default verdict file for an images folder: `<images>/verdicts.jsonl`.
pub fn default_verdicts_path(images: &Path) -> PathBuf {
    images.join("verdicts.jsonl")
}
