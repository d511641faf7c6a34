//! The reward–KL scatter of the demo (the DPO paper's Fig. 2 left, one point per method).
//!
//! plotters' `ab_glyph` text backend needs a font registered at run time and prefopt ships
//! none, so the PNG has **no text**: each method has a fixed colour ([`method_colour`]),
//! the grid lines sit at round values whose spacing [`PlotGrid`] returns (the caller writes
//! it next to the table), and the whiskers are ± one standard error of each axis.

use std::path::{Path, PathBuf};

use plotters::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{Result, TaskError};

/// One point of the scatter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlotPoint {
    /// Method name (decides the colour).
    pub method: String,
    /// KL(π ‖ π_SFT) in nats (0 for SFT).
    pub kl: f64,
    /// Mean ground-truth reward.
    pub reward: f64,
    /// Standard error of the KL (0 when exact or analytic).
    pub kl_std_error: f64,
    /// Standard error of the mean reward.
    pub reward_std_error: f64,
}

/// Where the grid lines of the PNG are.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlotGrid {
    /// The PNG.
    pub path: PathBuf,
    /// Vertical lines at multiples of this many nats.
    pub kl_step: f64,
    /// Horizontal lines at multiples of this reward.
    pub reward_step: f64,
    /// The colour of each method, as `(method, "#rrggbb")`.
    pub colours: Vec<(String, String)>,
}

/// The colour of a method: SFT black, DPO blue, LiPO red, best-of-K green, others grey.
pub fn method_colour(method: &str) -> RGBColor {
    let m = method.to_ascii_lowercase();
    if m.starts_with("sft") {
        RGBColor(0, 0, 0)
    } else if m.starts_with("dpo") {
        RGBColor(31, 119, 180)
    } else if m.starts_with("lipo") {
        RGBColor(214, 39, 40)
    } else if m.starts_with("best") {
        RGBColor(44, 160, 44)
    } else {
        RGBColor(127, 127, 127)
    }
}

/// The smallest of 1, 2, 5 × 10^n that cuts `span` into at most 8 intervals.
fn nice_step(span: f64) -> f64 {
    if !(span.is_finite() && span > 0.0) {
        return 1.0;
    }
    let raw = span / 8.0;
    let base = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * base)
        .find(|&s| s >= raw)
        .unwrap_or(10.0 * base)
}

/// `[lo, hi]` widened by 10 % of its span (at least `min_span` wide), with `lo` kept at
/// `floor` when the data do not go below it.
fn axis_range(values: &[f64], floor: Option<f64>, min_span: f64) -> (f64, f64) {
    let (mut lo, mut hi) = values
        .iter()
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
    if !lo.is_finite() {
        (lo, hi) = (0.0, 1.0);
    }
    if hi - lo < min_span {
        let mid = 0.5 * (lo + hi);
        (lo, hi) = (mid - 0.5 * min_span, mid + 0.5 * min_span);
    }
    let pad = 0.1 * (hi - lo);
    let lo = match floor {
        Some(f) if lo - pad < f && lo >= f => f,
        _ => lo - pad,
    };
    (lo, hi + pad)
}

fn hex(c: RGBColor) -> String {
    format!("#{:02x}{:02x}{:02x}", c.0, c.1, c.2)
}

/// Draws the scatter into `out` (PNG, `width × height` pixels) and says where its grid is.
pub fn plot_reward_kl(
    points: &[PlotPoint],
    out: &Path,
    width: u32,
    height: u32,
) -> Result<PlotGrid> {
    let err = |e: &dyn std::fmt::Display| TaskError::Plot {
        path: out.to_path_buf(),
        reason: e.to_string(),
    };
    let xs: Vec<f64> = points
        .iter()
        .flat_map(|p| [p.kl - p.kl_std_error, p.kl + p.kl_std_error])
        .collect();
    let ys: Vec<f64> = points
        .iter()
        .flat_map(|p| [p.reward - p.reward_std_error, p.reward + p.reward_std_error])
        .collect();
    let (x0, x1) = axis_range(&xs, Some(0.0), 0.5);
    let (y0, y1) = axis_range(&ys, None, 0.1);
    let (kl_step, reward_step) = (nice_step(x1 - x0), nice_step(y1 - y0));

    let root = BitMapBackend::new(out, (width, height)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let mut chart = ChartBuilder::on(&root)
        .margin(16)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(|e| err(&e))?;
    let grid = RGBColor(225, 225, 225);
    let mut x = (x0 / kl_step).ceil() * kl_step;
    while x <= x1 {
        chart
            .draw_series(LineSeries::new([(x, y0), (x, y1)], &grid))
            .map_err(|e| err(&e))?;
        x += kl_step;
    }
    let mut y = (y0 / reward_step).ceil() * reward_step;
    while y <= y1 {
        // The zero-reward line is darker: the SFT corpus' mean reward is ≈ 0.
        let colour = if y.abs() < 0.5 * reward_step {
            RGBColor(150, 150, 150)
        } else {
            grid
        };
        chart
            .draw_series(LineSeries::new([(x0, y), (x1, y)], &colour))
            .map_err(|e| err(&e))?;
        y += reward_step;
    }
    chart
        .draw_series(LineSeries::new(
            [(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)],
            &BLACK,
        ))
        .map_err(|e| err(&e))?;
    let mut colours = Vec::new();
    for p in points
        .iter()
        .filter(|p| p.kl.is_finite() && p.reward.is_finite())
    {
        let c = method_colour(&p.method);
        colours.push((p.method.clone(), hex(c)));
        let style = c.stroke_width(2);
        chart
            .draw_series(LineSeries::new(
                [
                    (p.kl - p.kl_std_error, p.reward),
                    (p.kl + p.kl_std_error, p.reward),
                ],
                style,
            ))
            .map_err(|e| err(&e))?;
        chart
            .draw_series(LineSeries::new(
                [
                    (p.kl, p.reward - p.reward_std_error),
                    (p.kl, p.reward + p.reward_std_error),
                ],
                style,
            ))
            .map_err(|e| err(&e))?;
        chart
            .draw_series(std::iter::once(Circle::new(
                (p.kl, p.reward),
                6,
                c.filled(),
            )))
            .map_err(|e| err(&e))?;
    }
    root.present().map_err(|e| err(&e))?;
    Ok(PlotGrid {
        path: out.to_path_buf(),
        kl_step,
        reward_step,
        colours,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_and_ranges() {
        assert_eq!(nice_step(4.0), 0.5);
        assert_eq!(nice_step(0.8), 0.1);
        assert_eq!(nice_step(1.2), 0.2);
        assert_eq!(nice_step(f64::NAN), 1.0);
        // KL axis starts at 0 when no point is negative.
        assert_eq!(axis_range(&[0.0, 2.0], Some(0.0), 0.5), (0.0, 2.2));
        let (lo, hi) = axis_range(&[-0.1, 0.3], None, 0.1);
        assert!((lo + 0.14).abs() < 1e-12 && (hi - 0.34).abs() < 1e-12);
    }

    #[test]
    fn writes_a_png() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("reward_kl.png");
        let point = |method: &str, kl, reward| PlotPoint {
            method: method.into(),
            kl,
            reward,
            kl_std_error: 0.05,
            reward_std_error: 0.02,
        };
        let grid = plot_reward_kl(
            &[
                point("SFT", 0.0, 0.0),
                point("DPO", 1.5, 0.4),
                point("LiPO-λ", 2.0, 0.5),
            ],
            &out,
            400,
            300,
        )
        .unwrap();
        let bytes = std::fs::read(&out).unwrap();
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
        assert_eq!(grid.colours[1], ("DPO".to_string(), "#1f77b4".to_string()));
        assert_eq!(grid.kl_step, 0.5);
    }
}
