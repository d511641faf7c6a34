//! `prefopt t2i study`: fits the learned judges on the base, runs every arm with every seed,
//! and writes the report. Killed studies continue where they stopped: a finished run is
//! skipped, an interrupted one resumes from its newest checkpoint.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Instant;

use burn::prelude::Device;
use prefopt_train::TrainOptions;
use serde::{Deserialize, Serialize};

use super::config::ShapesGrpoConfig;
use super::judge_training::{JUDGES_REPORT_FILE, JudgeTrainingReport, train_judges};
use super::run::run_shapes_grpo;
use super::study_config::{JUDGES_FOLDER, PrefGrpoStudyConfig, run_dir};
use super::study_report::{StudyResults, write_study_report};
use crate::{Result, TaskError};

/// The marker a finished run leaves in its folder.
pub const RUN_DONE_FILE: &str = "study_run.json";

/// What the marker records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FinishedRun {
    /// The arm's name.
    pub arm: String,
    /// The training seed.
    pub seed: u64,
    /// Steps done.
    pub global_step: u64,
    /// Wall-clock seconds of the process(es) that ran it (a resumed run: the last one's).
    pub seconds: f64,
}

/// Runs the study in `config` into `out`, `jobs` runs at a time (each run is one CPU thread's
/// work on the CPU backend, so two jobs use two cores): `judges/` (when an arm needs them), `runs/ARM/seed-N/`
/// (each a `prefopt t2i grpo` output), then `results.md`, `results.json` and the plots and
/// sample grids (see [`write_study_report`]).
///
/// # Errors
/// A judge fit or a run that fails (the study stops; rerunning continues it), a report that
/// cannot be written.
pub fn run_pref_grpo_study(
    config: &PrefGrpoStudyConfig,
    out: &Path,
    device: &Device,
    options: &TrainOptions,
    jobs: usize,
) -> Result<StudyResults> {
    config.validate()?;
    let started = Instant::now();
    std::fs::create_dir_all(out).map_err(|e| TaskError::io(out, e))?;
    let config_json = serde_json::to_vec_pretty(config)?;
    prefopt_core::write_atomic(&out.join("study_config.json"), &config_json)?;
    let judges = if config.needs_judges() {
        Some(fit_judges(config, out, device)?)
    } else {
        None
    };
    let mut pending = Vec::new();
    for arm in &config.arms {
        for &seed in &config.seeds {
            let run = config.run_config(arm, seed, out)?;
            if read_finished(&run.training.output_dir)?.is_some() {
                tracing::info!(arm = %arm.name, seed, "run already finished; skipped");
            } else {
                pending.push((arm.name.clone(), seed, run));
            }
        }
    }
    let jobs = jobs.clamp(1, pending.len().max(1));
    let options = TrainOptions {
        // Several bars at once would overwrite each other.
        progress: options.progress && jobs == 1,
        ..options.clone()
    };
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let total = pending.len();
    let worker = || -> Result<()> {
        loop {
            let i = next.fetch_add(1, Ordering::SeqCst);
            if i >= total || failed.load(Ordering::SeqCst) {
                return Ok(());
            }
            let (arm, seed, run) = &pending[i];
            let result = run_one(arm, *seed, run, device, &options, i + 1, total);
            if result.is_err() {
                failed.store(true, Ordering::SeqCst);
            }
            result?;
        }
    };
    if jobs == 1 {
        worker()?;
    } else {
        let results: Vec<Result<()>> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..jobs).map(|_| scope.spawn(worker)).collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join().unwrap_or_else(|_| {
                        Err(TaskError::InvalidInput("a study worker panicked".into()))
                    })
                })
                .collect()
        });
        results.into_iter().collect::<Result<Vec<()>>>()?;
    }
    let results = StudyResults::collect(config, out, judges.as_ref())?;
    write_study_report(config, &results, out)?;
    tracing::info!(
        seconds = started.elapsed().as_secs_f64(),
        dir = %out.display(),
        "study done"
    );
    Ok(results)
}

/// Runs (or resumes) one run and leaves its finished marker.
fn run_one(
    arm: &str,
    seed: u64,
    run: &ShapesGrpoConfig,
    device: &Device,
    options: &TrainOptions,
    index: usize,
    total: usize,
) -> Result<()> {
    let dir = &run.training.output_dir;
    let resume = prefopt_train::latest_checkpoint(dir)?.is_some();
    tracing::info!(arm, seed, run = index, of = total, resume, "study run");
    let t0 = Instant::now();
    let report = run_shapes_grpo(
        run,
        device,
        &TrainOptions {
            resume,
            ..options.clone()
        },
    )?;
    let finished = FinishedRun {
        arm: arm.to_owned(),
        seed,
        global_step: report.global_step,
        seconds: t0.elapsed().as_secs_f64(),
    };
    crate::write_json(&dir.join(RUN_DONE_FILE), &finished)
}

/// The judges of `out` (fitted now unless their report is there).
fn fit_judges(
    config: &PrefGrpoStudyConfig,
    out: &Path,
    device: &Device,
) -> Result<JudgeTrainingReport> {
    let judges = config.judges_config(out)?;
    let report_path = judges.output_dir.join(JUDGES_REPORT_FILE);
    if report_path.exists() {
        tracing::info!(dir = %judges.output_dir.display(), "judges already fitted; reused");
        return read_json(&report_path);
    }
    tracing::info!(dir = %judges.output_dir.display(), "fitting the learned scorer and judge");
    train_judges(&judges, device)
}

/// The judges' report of a study in `out`, if fitted.
pub fn read_judges_report(out: &Path) -> Result<Option<JudgeTrainingReport>> {
    let path = out.join(JUDGES_FOLDER).join(JUDGES_REPORT_FILE);
    if path.exists() {
        read_json(&path).map(Some)
    } else {
        Ok(None)
    }
}

/// The marker of a finished run in `dir`, if there is one.
pub fn read_finished(dir: &Path) -> Result<Option<FinishedRun>> {
    let path = dir.join(RUN_DONE_FILE);
    if path.exists() {
        read_json(&path).map(Some)
    } else {
        Ok(None)
    }
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    let bytes = std::fs::read(path).map_err(|e| TaskError::io(path, e))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| TaskError::InvalidInput(format!("{}: {e}", path.display())))
}

/// The finished run of `arm` with `seed` in `out` (its folder and marker).
///
/// # Errors
/// The run has not finished (no marker).
pub fn finished_run(out: &Path, arm: &str, seed: u64) -> Result<(PathBuf, FinishedRun)> {
    let dir = run_dir(out, arm, seed);
    let run = read_finished(&dir)?.ok_or_else(|| {
        TaskError::InvalidInput(format!(
            "{}: the run has not finished ({RUN_DONE_FILE} is missing)",
            dir.display()
        ))
    })?;
    Ok((dir, run))
}
