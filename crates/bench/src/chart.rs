//! Horizontal bar charts (PNG) of percentage scores, with published values as red markers,
//! drawn with `prefopt-plot` (title, labelled bars, the value at each bar's end, a `score (%)`
//! axis with ticks, and a legend when there are published values). The font is embedded, so
//! the text is there on every machine.

use std::path::Path;

use prefopt_plot::{Axis, BarChart};

use crate::{Error, Result};

pub use prefopt_plot::Bar;

/// Draws a horizontal bar chart of percentages (0–100) to `path`, 900 pixels wide.
pub fn bar_chart(path: &Path, title: &str, bars: &[Bar]) -> Result<()> {
    BarChart::new(title, bars.to_vec())
        .with_value_axis(Axis::new("score (%)").with_range(0.0, 100.0))
        .with_legend("this run", "published")
        .write_png(path)
        .map_err(|e| Error::Chart {
            path: path.to_path_buf(),
            message: e.to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_a_900_pixel_wide_png() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("primary.png");
        let bar = |label: &str, value, reference| Bar {
            label: label.into(),
            value,
            reference,
        };
        bar_chart(
            &path,
            "Primary dimensions (overall 55.00)",
            &[bar("Style", 80.0, Some(85.0)), bar("Text", f64::NAN, None)],
        )
        .unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
        assert_eq!(&bytes[16..20], &900u32.to_be_bytes());
        let err = bar_chart(&dir.path().join("primary.png/x.png"), "t", &[]).unwrap_err();
        assert!(matches!(err, Error::Chart { .. }), "{err}");
    }
}
