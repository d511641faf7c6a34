//! Horizontal bar charts (PNG) of scores, with published values as markers.
//!
//! Text needs a TrueType font at run time: the first of `$PREFOPT_FONT` and a few common
//! system paths (DejaVu, Liberation, Noto, Arial). Without one the chart is drawn without
//! labels and a warning is logged.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use plotters::prelude::*;

use crate::{Error, Result};

const FONT_FAMILY: &str = "prefopt-bench-sans";

fn font_available() -> bool {
    static FONT: OnceLock<bool> = OnceLock::new();
    *FONT.get_or_init(|| {
        let mut candidates: Vec<PathBuf> = std::env::var_os("PREFOPT_FONT")
            .map(PathBuf::from)
            .into_iter()
            .collect();
        candidates.extend(
            [
                "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
                "/usr/share/fonts/dejavu/DejaVuSans.ttf",
                "/usr/share/fonts/TTF/DejaVuSans.ttf",
                "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
                "/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf",
                "/System/Library/Fonts/Supplemental/Arial.ttf",
                "/Library/Fonts/Arial.ttf",
                "C:\\Windows\\Fonts\\arial.ttf",
            ]
            .map(PathBuf::from),
        );
        for path in candidates {
            if let Ok(bytes) = std::fs::read(&path) {
                let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
                if plotters::style::register_font(FONT_FAMILY, FontStyle::Normal, bytes).is_ok() {
                    return true;
                }
            }
        }
        tracing::warn!("no TrueType font found (set PREFOPT_FONT); charts are drawn without text");
        false
    })
}

/// One bar.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    /// Label.
    pub label: String,
    /// Our percentage.
    pub value: f64,
    /// A published percentage, drawn as a marker.
    pub reference: Option<f64>,
}

/// Draws a horizontal bar chart of percentages (0–100) to `path`.
pub fn bar_chart(path: &Path, title: &str, bars: &[Bar]) -> Result<()> {
    let err = |message: String| Error::Chart {
        path: path.to_path_buf(),
        message,
    };
    let text = font_available();
    let (width, row_h, top, left, right) = (900u32, 34i32, 56i32, 230i32, 90i32);
    let height = (top + row_h * bars.len() as i32 + 40) as u32;
    let root = BitMapBackend::new(path, (width, height)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(e.to_string()))?;
    let plot_w = width as i32 - left - right;
    let x = |v: f64| left + (plot_w as f64 * v.clamp(0.0, 100.0) / 100.0).round() as i32;
    let font = |size: f64| (FONT_FAMILY, size).into_font();
    if text {
        root.draw(&Text::new(title.to_string(), (12, 14), font(22.0)))
            .map_err(|e| err(e.to_string()))?;
    }
    if text && bars.iter().any(|b| b.reference.is_some()) {
        root.draw(&Text::new(
            "red mark: published value".to_string(),
            (width as i32 - 260, 18),
            font(14.0).color(&RGBColor(200, 40, 40)),
        ))
        .map_err(|e| err(e.to_string()))?;
    }
    // Grid at 0, 25, 50, 75, 100.
    let bottom = top + row_h * bars.len() as i32;
    for g in [0.0, 25.0, 50.0, 75.0, 100.0] {
        let gx = x(g);
        root.draw(&PathElement::new(
            vec![(gx, top - 6), (gx, bottom)],
            RGBColor(200, 200, 200),
        ))
        .map_err(|e| err(e.to_string()))?;
        if text {
            root.draw(&Text::new(
                format!("{g:.0}"),
                (gx - 8, bottom + 8),
                font(14.0),
            ))
            .map_err(|e| err(e.to_string()))?;
        }
    }
    for (i, bar) in bars.iter().enumerate() {
        let y0 = top + row_h * i as i32 + 5;
        let y1 = y0 + row_h - 10;
        if bar.value.is_finite() {
            root.draw(&Rectangle::new(
                [(left, y0), (x(bar.value), y1)],
                RGBColor(66, 114, 196).filled(),
            ))
            .map_err(|e| err(e.to_string()))?;
        }
        if let Some(r) = bar.reference.filter(|r| r.is_finite()) {
            root.draw(&PathElement::new(
                vec![(x(r), y0 - 3), (x(r), y1 + 3)],
                ShapeStyle::from(&RGBColor(200, 40, 40)).stroke_width(3),
            ))
            .map_err(|e| err(e.to_string()))?;
        }
        if text {
            root.draw(&Text::new(bar.label.clone(), (10, y0 + 4), font(16.0)))
                .map_err(|e| err(e.to_string()))?;
            let value = if bar.value.is_finite() {
                format!("{:.2}", bar.value)
            } else {
                "n/a".to_string()
            };
            root.draw(&Text::new(
                value,
                (width as i32 - right + 8, y0 + 4),
                font(16.0),
            ))
            .map_err(|e| err(e.to_string()))?;
        }
    }
    root.present().map_err(|e| err(e.to_string()))?;
    Ok(())
}
