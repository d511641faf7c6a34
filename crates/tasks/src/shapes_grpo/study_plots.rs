//! The Pref-GRPO study's figures: mini-UniGenBench against training steps (overall and per
//! primary dimension), the rollouts' ground truth and proxies, the within-group reward std,
//! and per arm a sample grid of the evaluation images at the start, middle and end.

use std::path::Path;

use prefopt_bench::image_path;
use prefopt_plot::{Axis, PALETTE, PlotSize, Series, XyChart};

use super::run::EVAL_DIR;
use super::study_config::{GROUND_TRUTH_REWARD, PrefGrpoStudyConfig};
use super::study_report::{ArmResults, RolloutPoint, StudyResults};
use crate::seed_stats::MeanSe;
use crate::shapes::{RgbImage, contact_sheet};
use crate::{Result, TaskError};

/// The folder of the figures in the study's output directory.
pub const PLOTS_FOLDER: &str = "plots";

fn draw(chart: XyChart, path: &Path) -> Result<()> {
    chart
        .with_size(PlotSize::new(900, 560))
        .write_png(path)
        .map_err(|e| TaskError::Plot {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
    Ok(())
}

fn mean_line(name: &str, points: &[(u64, MeanSe)], colour: usize) -> Series {
    Series::line(name, points.iter().map(|(s, m)| (*s as f64, m.mean)))
        .with_errors(points.iter().map(|(_, m)| (0.0, m.se)))
        .with_colour(PALETTE[colour % PALETTE.len()])
}

/// Per step, `value` averaged over the arm's runs, then a moving average over `window`
/// steps (the rollout statistics of one step are noisy).
fn rollout_curve(
    arm: &ArmResults,
    window: usize,
    value: impl Fn(&RolloutPoint) -> Option<f64>,
) -> Vec<(f64, f64)> {
    let Some(first) = arm.runs.first() else {
        return Vec::new();
    };
    let per_step: Vec<(f64, f64)> = first
        .rollout
        .iter()
        .filter_map(|p| {
            let values: Vec<f64> = arm
                .runs
                .iter()
                .filter_map(|r| r.rollout.iter().find(|q| q.step == p.step))
                .filter_map(&value)
                .collect();
            (!values.is_empty()).then(|| {
                (
                    p.step as f64,
                    values.iter().sum::<f64>() / values.len() as f64,
                )
            })
        })
        .collect();
    let w = window.max(1);
    (0..per_step.len())
        .map(|i| {
            let lo = i.saturating_sub(w - 1);
            let slice = &per_step[lo..=i];
            (
                per_step[i].0,
                slice.iter().map(|(_, v)| v).sum::<f64>() / slice.len() as f64,
            )
        })
        .collect()
}

/// Writes the figures into `out`/plots and the sample grids into `out`/plots/samples-ARM.png.
///
/// # Errors
/// A figure that cannot be drawn, an evaluation image that does not read.
pub fn write_study_plots(
    config: &PrefGrpoStudyConfig,
    results: &StudyResults,
    out: &Path,
) -> Result<()> {
    let dir = out.join(PLOTS_FOLDER);
    std::fs::create_dir_all(&dir).map_err(|e| TaskError::io(&dir, e))?;
    let steps = Axis::new("GRPO step");
    let mut chart = XyChart::new(
        "Mini UniGenBench overall, mean ± s.e. over seeds",
        steps.clone(),
        Axis::new("overall (%)"),
    );
    for (i, arm) in results.arms.iter().enumerate() {
        chart = chart.with_series(mean_line(&arm.label, &arm.overall_curve, i));
    }
    draw(chart, &dir.join("overall.png"))?;
    for primary in results.base.primary.keys() {
        let mut chart = XyChart::new(
            format!("Mini UniGenBench: {primary}"),
            steps.clone(),
            Axis::new(format!("{primary} (%)")),
        );
        for (i, arm) in results.arms.iter().enumerate() {
            if let Some(c) = arm.primary_curve.get(primary) {
                chart = chart.with_series(mean_line(&arm.label, c, i));
            }
        }
        let slug = primary.to_lowercase().replace([' ', '-'], "_");
        draw(chart, &dir.join(format!("primary-{slug}.png")))?;
    }
    let window = (results.max_steps as usize / 10).max(1);
    let mut truth = XyChart::new(
        format!("Rollout rewards: ground truth and proxies ({window}-step average)"),
        steps.clone(),
        Axis::new("reward"),
    );
    let mut spread = XyChart::new(
        format!("Within-group std of the trained reward ({window}-step average)"),
        steps.clone(),
        Axis::new("mean within-group std"),
    );
    for (i, arm) in results.arms.iter().enumerate() {
        let colour = PALETTE[i % PALETTE.len()];
        if arm.ground_truth.is_some() {
            let points = rollout_curve(arm, window, |p| p.mean.get(GROUND_TRUTH_REWARD).copied());
            truth = truth.with_series(
                Series::line(format!("{}: ground truth", arm.label), points).with_colour(colour),
            );
        }
        for name in &arm.proxies {
            let points = rollout_curve(arm, window, |p| p.mean.get(name).copied());
            truth = truth.with_series(
                Series::points(format!("{}: {name} (proxy)", arm.label), points)
                    .with_colour(colour),
            );
        }
        for name in &arm.trained {
            let points = rollout_curve(arm, window, |p| p.group_std.get(name).copied());
            spread = spread.with_series(
                Series::line(format!("{}: {name}", arm.label), points).with_colour(colour),
            );
        }
    }
    draw(truth, &dir.join("rollout-reward.png"))?;
    draw(spread, &dir.join("group-std.png"))?;
    for arm in &results.arms {
        sample_grid(
            config,
            arm,
            &dir.join(format!("samples-{}.png", arm.name)),
            out,
        )?;
    }
    Ok(())
}

/// Rows: the first, middle and last evaluation of the arm's first seed; columns: image 0 of
/// the first `grid_prompts` suite prompts.
fn sample_grid(
    config: &PrefGrpoStudyConfig,
    arm: &ArmResults,
    path: &Path,
    out: &Path,
) -> Result<()> {
    let Some(run) = arm.runs.first() else {
        return Ok(());
    };
    let evals: Vec<u64> = run.eval.iter().map(|e| e.step).collect();
    let Some(&last) = evals.last() else {
        return Ok(());
    };
    let mid = evals[evals.len() / 2];
    let mut rows = vec![evals[0], mid, last];
    rows.dedup();
    let run_dir = super::study_config::run_dir(out, &arm.name, run.seed);
    let suite = prefopt_bench::Suite::load(
        run_dir.join(EVAL_DIR).join("suite.csv"),
        prefopt_bench::SuiteOptions::default(),
    )?;
    let prompts: Vec<usize> = suite
        .prompts
        .iter()
        .take(config.grid_prompts.max(1))
        .map(|p| p.index)
        .collect();
    let mut images = Vec::new();
    for step in &rows {
        let images_dir = run_dir
            .join(EVAL_DIR)
            .join(format!("step-{step}"))
            .join("images");
        for &index in &prompts {
            images.push(RgbImage::read_png(&image_path(&images_dir, index, 0))?);
        }
    }
    let sheet = contact_sheet(&images, prompts.len(), 4, 4, [255, 255, 255])?;
    sheet.write_png(path)
}
