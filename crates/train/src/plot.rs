//! PNG plots of metric curves from a metrics JSONL file, drawn with `prefopt-plot`.
//!
//! One PNG per metric, named after it (`loss.png`, `rewards_chosen.png`), titled with the
//! metric's name, `step` on the x axis and the metric on the y axis, ticks and numbers on
//! both. A long noisy curve (50 points or more) is drawn faint with its trailing mean
//! on top; when the file also holds `eval_<name>`, that curve joins `<name>.png`. A legend
//! names the curves whenever there is more than one. Exact values are in the JSONL file.

use std::path::{Path, PathBuf};

use prefopt_plot::{Axis, Rgb, Series, XyChart};

use crate::error::{Error, Result, io};
use crate::metrics::read_metrics;

pub use prefopt_plot::PlotSize;

/// From this many points on, a curve is also drawn as its trailing mean.
const SMOOTH_FROM: usize = 50;

const RAW: Rgb = Rgb(160, 190, 225);
const TRAIN: Rgb = Rgb(31, 119, 180);
const EVAL: Rgb = Rgb(230, 110, 0);

/// Draws the curve `(step, value)` of the metric `name` into a PNG at `out`, with the eval
/// curve `(step, value)` beside it when `eval` is not empty.
pub fn plot_curve(
    name: &str,
    points: &[(f64, f64)],
    eval: &[(f64, f64)],
    out: &Path,
    size: PlotSize,
) -> Result<()> {
    let mut chart = XyChart::new(name, Axis::new("step"), Axis::new(name)).with_size(size);
    let label = if eval.is_empty() { name } else { "train" };
    if points.len() >= SMOOTH_FROM {
        let window = (points.len() / 20).max(5);
        chart = chart
            .with_series(Series::line(label, points.iter().copied()).with_colour(RAW))
            .with_series(
                Series::line(
                    format!("{label}, mean of last {window}"),
                    trailing_mean(points, window),
                )
                .with_colour(TRAIN),
            );
    } else {
        chart = chart.with_series(Series::line(label, points.iter().copied()).with_colour(TRAIN));
    }
    if !eval.is_empty() {
        chart = chart.with_series(Series::line("eval", eval.iter().copied()).with_colour(EVAL));
    }
    chart.write_png(out).map_err(|e| Error::Plot {
        path: out.to_path_buf(),
        reason: e.to_string(),
    })?;
    Ok(())
}

/// Plots every metric of a metrics JSONL file against `step`, one PNG per metric in `out_dir`
/// (`/` in names becomes `_`). Returns the files written, in name order.
pub fn plot_metrics_file(jsonl: &Path, out_dir: &Path, size: PlotSize) -> Result<Vec<PathBuf>> {
    let records = read_metrics(jsonl)?;
    let mut names: Vec<String> = records
        .iter()
        .flat_map(|r| r.values.iter().map(|(n, _)| n.clone()))
        .collect();
    names.sort();
    names.dedup();
    std::fs::create_dir_all(out_dir).map_err(io(out_dir))?;
    let curve = |name: &str| -> Vec<(f64, f64)> {
        records
            .iter()
            .filter_map(|r| r.get(name).map(|v| (r.step as f64, v)))
            .collect()
    };
    let mut written = Vec::new();
    for name in &names {
        let eval = if name.starts_with("eval_") {
            Vec::new()
        } else {
            curve(&format!("eval_{name}"))
        };
        let file = out_dir.join(format!("{}.png", file_stem(name)));
        plot_curve(name, &curve(name), &eval, &file, size)?;
        written.push(file);
    }
    Ok(written)
}

/// Each point's value replaced by the mean of it and the `window - 1` points before it.
fn trailing_mean(points: &[(f64, f64)], window: usize) -> Vec<(f64, f64)> {
    points
        .iter()
        .enumerate()
        .map(|(i, &(x, _))| {
            let seen = &points[(i + 1).saturating_sub(window)..=i];
            let finite: Vec<f64> = seen.iter().map(|p| p.1).filter(|v| v.is_finite()).collect();
            let mean = if finite.is_empty() {
                f64::NAN
            } else {
                finite.iter().sum::<f64>() / finite.len() as f64
            };
            (x, mean)
        })
        .collect()
}

fn file_stem(metric: &str) -> String {
    metric
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_smoothing() {
        assert_eq!(file_stem("rewards/chosen"), "rewards_chosen");
        let points = [(1.0, 1.0), (2.0, 3.0), (3.0, f64::NAN), (4.0, 5.0)];
        assert_eq!(
            trailing_mean(&points, 2),
            vec![(1.0, 1.0), (2.0, 2.0), (3.0, 3.0), (4.0, 5.0)]
        );
    }
}
