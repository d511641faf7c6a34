//! PNG line plots of metric curves from a metrics JSONL file.
//!
//! plotters' `ab_glyph` text backend needs a font registered at run time (there is no system
//! font lookup without its `ttf` feature), and we ship none, so the plots draw **no text**: one
//! PNG per metric, named after it (`loss.png`, `rewards_chosen.png`), with a frame, a light grid
//! (4×4 divisions of the data range) and the curve. Exact values are in the JSONL file.

use std::path::{Path, PathBuf};

use plotters::prelude::*;

use crate::error::{Error, Result, io};
use crate::metrics::read_metrics;

/// Size of the PNGs, in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlotSize {
    /// Width.
    pub width: u32,
    /// Height.
    pub height: u32,
}

impl Default for PlotSize {
    fn default() -> Self {
        Self {
            width: 800,
            height: 500,
        }
    }
}

/// Draws one curve `(step, value)` into a PNG at `out`.
pub fn plot_curve(points: &[(f64, f64)], out: &Path, size: PlotSize) -> Result<()> {
    let err = |e: &dyn std::fmt::Display| Error::Plot {
        path: out.to_path_buf(),
        reason: e.to_string(),
    };
    let finite: Vec<(f64, f64)> = points
        .iter()
        .copied()
        .filter(|(x, y)| x.is_finite() && y.is_finite())
        .collect();
    let (x0, x1) = padded_range(finite.iter().map(|p| p.0));
    let (y0, y1) = padded_range(finite.iter().map(|p| p.1));

    let root = BitMapBackend::new(out, (size.width, size.height)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let mut chart = ChartBuilder::on(&root)
        .margin(12)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(|e| err(&e))?;
    let grid = RGBColor(220, 220, 220);
    for i in 0..=4 {
        let f = f64::from(i) / 4.0;
        let (x, y) = (x0 + f * (x1 - x0), y0 + f * (y1 - y0));
        chart
            .draw_series(LineSeries::new([(x, y0), (x, y1)], &grid))
            .map_err(|e| err(&e))?;
        chart
            .draw_series(LineSeries::new([(x0, y), (x1, y)], &grid))
            .map_err(|e| err(&e))?;
    }
    chart
        .draw_series(LineSeries::new(
            [(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)],
            &BLACK,
        ))
        .map_err(|e| err(&e))?;
    chart
        .draw_series(LineSeries::new(finite, BLUE.stroke_width(2)))
        .map_err(|e| err(&e))?;
    root.present().map_err(|e| err(&e))?;
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
    let mut written = Vec::new();
    for name in names {
        let points: Vec<(f64, f64)> = records
            .iter()
            .filter_map(|r| r.get(&name).map(|v| (r.step as f64, v)))
            .collect();
        let file = out_dir.join(format!("{}.png", file_stem(&name)));
        plot_curve(&points, &file, size)?;
        written.push(file);
    }
    Ok(written)
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

/// `[min, max]` with 5 % padding; a width-0 or empty range becomes a unit range.
fn padded_range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    if hi - lo <= f64::EPSILON * lo.abs().max(1.0) {
        return (lo - 0.5, hi + 0.5);
    }
    let pad = 0.05 * (hi - lo);
    (lo - pad, hi + pad)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_ranges() {
        assert_eq!(file_stem("rewards/chosen"), "rewards_chosen");
        assert_eq!(padded_range([1.0, 3.0].into_iter()), (0.9, 3.1));
        assert_eq!(padded_range([2.0].into_iter()), (1.5, 2.5));
        assert_eq!(padded_range(std::iter::empty()), (0.0, 1.0));
    }
}
