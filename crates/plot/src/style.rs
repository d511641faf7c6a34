//! Sizes of text, lines and margins, scaled with the chart.

use plotters::prelude::*;
use plotters::style::FontStyle;

use crate::font::FONT_FAMILY;
use crate::size::PlotSize;

/// Font sizes, line widths and margins for one chart size.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Layout {
    pub(crate) size: PlotSize,
    pub(crate) margin: u32,
    pub(crate) title_px: u32,
    pub(crate) desc_px: u32,
    pub(crate) label_px: u32,
    pub(crate) line_px: u32,
    pub(crate) marker_px: u32,
    has_title: bool,
}

impl Layout {
    /// Sizes for an 800 × 500 chart, scaled (by ¾ to 1½) with the chart's smaller side.
    pub(crate) fn for_size(size: PlotSize, has_title: bool) -> Self {
        let scale = (f64::from(size.width) / 800.0)
            .min(f64::from(size.height) / 500.0)
            .clamp(0.75, 1.5);
        let px = |v: f64| (v * scale).round() as u32;
        Self {
            size,
            margin: px(14.0),
            title_px: px(24.0),
            desc_px: px(17.0),
            label_px: px(15.0),
            line_px: px(2.0).max(1),
            marker_px: px(6.0),
            has_title,
        }
    }

    /// The bold title font.
    pub(crate) fn title_font(&self) -> TextStyle<'static> {
        TextStyle::from((FONT_FAMILY, self.title_px, FontStyle::Bold).into_font())
    }

    /// Height of the area under the x axis: tick marks, tick labels, the axis label.
    pub(crate) fn x_label_area(&self) -> u32 {
        self.label_px + self.desc_px + 22
    }

    /// Width of the area left of the y axis for tick labels `label_width` pixels wide.
    pub(crate) fn y_label_area(&self, label_width: u32) -> u32 {
        label_width + self.desc_px + 24
    }

    /// Height of the title line (0 without a title).
    fn title_area(&self) -> u32 {
        if self.has_title { self.title_px * 2 } else { 0 }
    }

    /// At most one x tick per 90 pixels of the plot's width (2 to 10 intervals).
    pub(crate) fn max_x_intervals(&self) -> usize {
        let plot = self.size.width.saturating_sub(2 * self.margin + 90);
        (plot / 90).clamp(2, 10) as usize
    }

    /// At most one y tick per 50 pixels of the plot's height (2 to 10 intervals).
    pub(crate) fn max_y_intervals(&self) -> usize {
        let plot = self
            .size
            .height
            .saturating_sub(2 * self.margin + self.title_area() + self.x_label_area());
        (plot / 50).clamp(2, 10) as usize
    }
}

/// The width in pixels of `text` at `px` in the embedded font (the font must be registered).
pub(crate) fn text_width(text: &str, px: u32) -> u32 {
    (FONT_FAMILY, px).into_font().box_size(text).map_or_else(
        |_| (text.chars().count() as u32 * px * 3).div_ceil(5),
        |(w, _)| w,
    )
}
