//! The reward–KL scatter of the demo (the DPO paper's Fig. 2 left, one point per method),
//! drawn with `prefopt-plot`: a title, the KL to the reference policy (the demo's SFT model,
//! the real-model run's base; nats) on the x axis and the
//! mean ground-truth reward on the y axis, ticks at round values (whose spacing [`PlotGrid`]
//! returns), a darker line at reward 0, one colour per method ([`method_colour`]) named in
//! the legend, and whiskers of ± one standard error on each axis.

use std::path::{Path, PathBuf};

use prefopt_plot::{Axis, PALETTE, PlotSize, Rgb, Series, XyChart};
use serde::{Deserialize, Serialize};

use crate::error::{Result, TaskError};

/// One point of the scatter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlotPoint {
    /// Method name (decides the colour).
    pub method: String,
    /// KL(π ‖ π_ref) in nats (0 for the reference).
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
pub fn method_colour(method: &str) -> Rgb {
    let m = method.to_ascii_lowercase();
    if m.starts_with("sft") {
        Rgb::BLACK
    } else if m.starts_with("dpo") {
        Rgb(31, 119, 180)
    } else if m.starts_with("lipo") {
        Rgb(214, 39, 40)
    } else if m.starts_with("best") {
        Rgb(44, 160, 44)
    } else {
        Rgb::GREY
    }
}

/// Colours after [`PALETTE`] for plots with more methods than it has (the rest of
/// matplotlib's `tab10`, then navy and black).
const MORE_COLOURS: [Rgb; 4] = [
    Rgb(188, 189, 34),
    Rgb(23, 190, 207),
    Rgb(0, 0, 128),
    Rgb::BLACK,
];

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

/// Draws the scatter into `out` (PNG, `width × height` pixels) and says where its grid is;
/// `reference` names the policy the KL is taken to (`SFT`, `base`).
///
/// Each method gets [`method_colour`], or the first unused palette colour when an earlier
/// method already has that colour.
pub fn plot_reward_kl(
    points: &[PlotPoint],
    reference: &str,
    out: &Path,
    width: u32,
    height: u32,
) -> Result<PlotGrid> {
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
    let title = format!("Ground-truth reward vs KL to the {reference} policy");
    let x_label = format!("KL(π ‖ π_{reference}) (nats)");
    let mut chart = XyChart::new(
        title.as_str(),
        Axis::new(x_label.as_str()).with_range(x0, x1),
        Axis::new("mean ground-truth reward").with_range(y0, y1),
    )
    .with_size(PlotSize::new(width, height));
    let mut colours = Vec::new();
    for p in points
        .iter()
        .filter(|p| p.kl.is_finite() && p.reward.is_finite())
    {
        // Two methods of one family (say two DPO β) must still be told apart.
        let used = |c: &Rgb| colours.iter().any(|(_, hex)| *hex == c.hex());
        let mut colour = method_colour(&p.method);
        if used(&colour) {
            colour = PALETTE
                .into_iter()
                .chain(MORE_COLOURS)
                .find(|c| !used(c))
                .unwrap_or(colour);
        }
        colours.push((p.method.clone(), colour.hex()));
        chart = chart.with_series(
            Series::points(p.method.as_str(), [(p.kl, p.reward)])
                .with_errors([(p.kl_std_error, p.reward_std_error)])
                .with_colour(colour),
        );
    }
    let axes = chart.write_png(out).map_err(|e| TaskError::Plot {
        path: out.to_path_buf(),
        reason: e.to_string(),
    })?;
    Ok(PlotGrid {
        path: out.to_path_buf(),
        kl_step: axes.x.step,
        reward_step: axes.y.step,
        colours,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        // KL axis starts at 0 when no point is negative.
        assert_eq!(axis_range(&[0.0, 2.0], Some(0.0), 0.5), (0.0, 2.2));
        let (lo, hi) = axis_range(&[-0.1, 0.3], None, 0.1);
        assert!((lo + 0.14).abs() < 1e-12 && (hi - 0.34).abs() < 1e-12);
        // A single point gets at least `min_span`.
        let (lo, hi) = axis_range(&[1.0], None, 0.5);
        assert!((lo - 0.7).abs() < 1e-12 && (hi - 1.3).abs() < 1e-12);
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
            "SFT",
            &out,
            800,
            600,
        )
        .unwrap();
        let bytes = std::fs::read(&out).unwrap();
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
        let (w, h) = (&bytes[16..20], &bytes[20..24]);
        assert_eq!(
            (w, h),
            (&800u32.to_be_bytes()[..], &600u32.to_be_bytes()[..])
        );
        assert_eq!(grid.colours[1], ("DPO".to_string(), "#1f77b4".to_string()));
        assert_eq!(grid.kl_step, 0.5);
        assert_eq!(grid.reward_step, 0.1);
        assert_eq!(grid.colours.len(), 3);
        // A second DPO point gets a colour of its own.
        let grid = plot_reward_kl(
            &[point("DPO β=0.1", 1.5, 0.4), point("DPO β=0.5", 0.5, 0.2)],
            "SFT",
            &out,
            800,
            600,
        )
        .unwrap();
        assert_eq!(grid.colours[0].1, "#1f77b4");
        assert_ne!(grid.colours[1].1, "#1f77b4");
        // Ten methods (the real-model run's table) get ten different colours.
        let names = [
            "base",
            "DPO (LoRA)",
            "LiPO-λ (LoRA)",
            "LiPO pair-hinge (LoRA)",
            "LiPO list-MLE (LoRA)",
            "LiPO softmax (LoRA)",
            "LiPO point-MSE (LoRA)",
            "DPO (full)",
            "LiPO-λ (full)",
            "best-of-4",
        ];
        let points: Vec<PlotPoint> = names.iter().map(|n| point(n, 1.0, 0.1)).collect();
        let grid = plot_reward_kl(&points, "base", &out, 800, 600).unwrap();
        let mut hexes: Vec<&str> = grid.colours.iter().map(|c| c.1.as_str()).collect();
        hexes.sort_unstable();
        hexes.dedup();
        assert_eq!(hexes.len(), names.len(), "{:?}", grid.colours);
    }
}
