//! Horizontal bar charts: one labelled bar per row, its value written at its end, and an
//! optional reference value (a published number) drawn as a marker on it.

use std::path::Path;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::axis::Axis;
use crate::colour::Rgb;
use crate::error::{PlotError, Result};
use crate::font::FONT_FAMILY;
use crate::png::{Canvas, render_png, write_png};
use crate::size::PlotSize;
use crate::style::{Layout, text_width};
use crate::ticks::{TickedRange, Ticks};

/// The bar colour.
const BAR: Rgb = Rgb(66, 114, 196);
/// The reference marker colour.
const REFERENCE: Rgb = Rgb(200, 40, 40);
/// Height of one bar's row, in pixels (at scale 1).
const ROW_PX: u32 = 34;

/// One bar.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    /// The label left of the bar.
    pub label: String,
    /// The bar's length (a non-finite value draws no bar and writes `n/a`).
    pub value: f64,
    /// A reference value (e.g. a published score), drawn as a marker across the bar.
    pub reference: Option<f64>,
}

/// A horizontal bar chart; its height follows from the number of bars.
///
/// ```
/// use prefopt_plot::{Axis, Bar, BarChart};
///
/// let chart = BarChart::new(
///     "Primary dimensions",
///     vec![
///         Bar { label: "Style".into(), value: 81.5, reference: Some(85.0) },
///         Bar { label: "Layout".into(), value: 64.0, reference: None },
///     ],
/// )
/// .with_value_axis(Axis::new("score (%)").with_range(0.0, 100.0));
/// let png = chart.render()?;
/// assert_eq!(&png[1..4], b"PNG");
/// # Ok::<(), prefopt_plot::PlotError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct BarChart {
    /// The title above the chart.
    pub title: String,
    /// The value axis (under the bars): its label and range (fitted from 0 when `None`).
    pub value_axis: Axis,
    /// The bars, top to bottom.
    pub bars: Vec<Bar>,
    /// The PNG width (the height follows from the bar count).
    pub width: u32,
    /// The legend entry of the bars (shown when some bar has a reference).
    pub value_name: String,
    /// The legend entry of the reference markers.
    pub reference_name: String,
    /// Decimals of the values written at the bars' ends.
    pub decimals: usize,
}

impl BarChart {
    /// A chart of `bars`, 900 pixels wide, values with 2 decimals.
    pub fn new(title: impl Into<String>, bars: Vec<Bar>) -> Self {
        Self {
            title: title.into(),
            value_axis: Axis::new("value"),
            bars,
            width: 900,
            value_name: "value".to_string(),
            reference_name: "reference".to_string(),
            decimals: 2,
        }
    }

    /// Sets the value axis.
    #[must_use]
    pub fn with_value_axis(mut self, axis: Axis) -> Self {
        self.value_axis = axis;
        self
    }

    /// Sets the legend entries of the bars and of the reference markers.
    #[must_use]
    pub fn with_legend(
        mut self,
        value_name: impl Into<String>,
        reference_name: impl Into<String>,
    ) -> Self {
        self.value_name = value_name.into();
        self.reference_name = reference_name.into();
        self
    }

    /// Sets the width in pixels.
    #[must_use]
    pub fn with_width(mut self, width: u32) -> Self {
        self.width = width;
        self
    }

    /// The PNG size: the width, and a row per bar plus title, legend and axis.
    pub fn size(&self) -> PlotSize {
        let rows = self.bars.len().max(1) as u32;
        let layout = Layout::for_size(PlotSize::new(self.width, 500), true);
        let height = 2 * layout.margin
            + 2 * layout.title_px
            + if self.has_references() {
                layout.label_px * 2
            } else {
                0
            }
            + rows * ROW_PX
            + layout.x_label_area();
        PlotSize::new(self.width, height)
    }

    /// Draws the chart and writes it to `path` (atomically; parent directories are created).
    ///
    /// # Errors
    /// See [`BarChart::render`]; [`PlotError::Write`] if the file cannot be written.
    pub fn write_png(&self, path: &Path) -> Result<()> {
        let png = self.render_named(path)?;
        write_png(path, &png)
    }

    /// Draws the chart into PNG bytes.
    ///
    /// # Errors
    /// [`PlotError::InvalidChart`] for a zero width or an empty or inverted fixed range;
    /// [`PlotError::Draw`] if the backend fails.
    pub fn render(&self) -> Result<Vec<u8>> {
        self.render_named(Path::new("<memory>"))
    }

    fn has_references(&self) -> bool {
        self.bars
            .iter()
            .any(|b| b.reference.is_some_and(f64::is_finite))
    }

    /// The value range: the fixed one, or `[min(0, values), 1.1 × max(values)]`.
    fn range(&self) -> Result<(f64, f64)> {
        if let Some((lo, hi)) = self.value_axis.range {
            if lo.is_finite() && hi.is_finite() && lo < hi {
                return Ok((lo, hi));
            }
            return Err(PlotError::InvalidChart(format!(
                "bar chart `{}`: range [{lo}, {hi}] is empty",
                self.title
            )));
        }
        let values = self
            .bars
            .iter()
            .flat_map(|b| [Some(b.value), b.reference])
            .flatten()
            .filter(|v| v.is_finite());
        let (lo, hi) = values.fold((0.0f64, 0.0f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
        let span = if hi - lo > 0.0 { hi - lo } else { 1.0 };
        Ok((
            if lo < 0.0 { lo - 0.1 * span } else { 0.0 },
            hi + 0.1 * span,
        ))
    }

    fn render_named(&self, path: &Path) -> Result<Vec<u8>> {
        let (lo, hi) = self.range()?;
        let size = self.size();
        let layout = Layout::for_size(PlotSize::new(self.width, 500), true);
        let ticks = Ticks::linear(lo, hi, layout.max_x_intervals());
        let (png, ()) = render_png(path, size, |root| {
            self.draw(root, &layout, (lo, hi), &ticks)
                .map_err(|e| PlotError::draw(path, e))
        })?;
        Ok(png)
    }

    fn draw(
        &self,
        root: &Canvas<'_>,
        layout: &Layout,
        (lo, hi): (f64, f64),
        ticks: &Ticks,
    ) -> std::result::Result<(), Box<dyn std::error::Error>> {
        let label_font = (FONT_FAMILY, layout.label_px).into_font();
        let legend = if self.has_references() {
            2 * layout.label_px
        } else {
            0
        };
        let (top, area) = root.split_vertically(layout.margin + 2 * layout.title_px + legend);
        top.draw(&Text::new(
            self.title.clone(),
            (
                i32::try_from(self.width / 2).unwrap_or(0),
                i32::try_from(layout.margin + layout.title_px).unwrap_or(0),
            ),
            layout
                .title_font()
                .pos(Pos::new(HPos::Center, VPos::Center)),
        ))?;
        if self.has_references() {
            self.draw_legend(&top, layout)?;
        }

        let n = self.bars.len().max(1) as f64;
        let label_width = self
            .bars
            .iter()
            .map(|b| text_width(&b.label, layout.label_px))
            .max()
            .unwrap_or(0);
        let value_width = text_width(
            &format!("{:.*}", self.decimals, hi.max(-lo)),
            layout.label_px,
        );
        let mut chart = ChartBuilder::on(&area)
            .margin(layout.margin)
            .margin_top(0)
            .margin_right(layout.margin + value_width + 12)
            .x_label_area_size(layout.x_label_area())
            .y_label_area_size(label_width + 16)
            .build_cartesian_2d(
                TickedRange {
                    lo,
                    hi,
                    ticks: ticks.values.clone(),
                },
                TickedRange {
                    lo: 0.0,
                    hi: n,
                    ticks: (0..self.bars.len()).map(|i| i as f64 + 0.5).collect(),
                },
            )?;
        let bar_label = |v: &f64| {
            let row = self.bars.len() as f64 - 1.0 - v.floor();
            self.bars
                .get(row as usize)
                .map(|b| b.label.clone())
                .unwrap_or_default()
        };
        let value_label = |v: &f64| ticks.label(*v);
        chart
            .configure_mesh()
            .disable_y_mesh()
            .x_desc(self.value_axis.label.as_str())
            .x_label_formatter(&value_label)
            .y_label_formatter(&bar_label)
            .label_style(label_font.clone())
            .axis_desc_style((FONT_FAMILY, layout.desc_px))
            .bold_line_style(RGBColor(222, 222, 222))
            .axis_style(RGBColor(60, 60, 60))
            .draw()?;

        let bar = BAR.to_plotters();
        let reference = REFERENCE.to_plotters();
        for (i, b) in self.bars.iter().enumerate() {
            let row = n - 1.0 - i as f64;
            let value = b.value.clamp(lo, hi);
            if b.value.is_finite() {
                chart.draw_series(std::iter::once(Rectangle::new(
                    [(lo.max(0.0).min(hi), row + 0.18), (value, row + 0.82)],
                    bar.filled(),
                )))?;
            }
            if let Some(r) = b.reference.filter(|r| r.is_finite()) {
                let r = r.clamp(lo, hi);
                chart.draw_series(LineSeries::new(
                    [(r, row + 0.08), (r, row + 0.92)],
                    reference.stroke_width(3),
                ))?;
            }
            let text = if b.value.is_finite() {
                format!("{:.*}", self.decimals, b.value)
            } else {
                "n/a".to_string()
            };
            // Right of the bar and of its marker, so that neither crosses the number.
            let end = [Some(b.value), b.reference]
                .into_iter()
                .flatten()
                .filter(|v| v.is_finite())
                .map(|v| v.clamp(lo, hi))
                .fold(lo, f64::max);
            let (x, y) = chart.backend_coord(&(end, row + 0.5));
            root.draw(&Text::new(
                text,
                (x + 6, y),
                TextStyle::from(label_font.clone()).pos(Pos::new(HPos::Left, VPos::Center)),
            ))?;
        }
        Ok(())
    }

    /// The legend under the title: a bar swatch and a reference marker with their names.
    fn draw_legend(
        &self,
        top: &Canvas<'_>,
        layout: &Layout,
    ) -> std::result::Result<(), Box<dyn std::error::Error>> {
        let font = TextStyle::from((FONT_FAMILY, layout.label_px).into_font())
            .pos(Pos::new(HPos::Left, VPos::Center));
        let px = |v: u32| i32::try_from(v).unwrap_or(i32::MAX);
        let y = px(layout.margin + 2 * layout.title_px + layout.label_px / 2);
        let swatch = px(layout.label_px);
        let gap = px(layout.label_px);
        let value_w = px(text_width(&self.value_name, layout.label_px));
        let reference_w = px(text_width(&self.reference_name, layout.label_px));
        let total = 2 * (swatch + 6) + value_w + gap + reference_w;
        let mut x = (px(self.width) - total) / 2;
        top.draw(&Rectangle::new(
            [(x, y - swatch / 2), (x + swatch, y + swatch / 2)],
            BAR.to_plotters().filled(),
        ))?;
        x += swatch + 6;
        top.draw(&Text::new(self.value_name.clone(), (x, y), font.clone()))?;
        x += value_w + gap + swatch / 2;
        top.draw(&PathElement::new(
            vec![(x, y - swatch / 2 - 2), (x, y + swatch / 2 + 2)],
            REFERENCE.to_plotters().stroke_width(3),
        ))?;
        x += swatch / 2 + 6;
        top.draw(&Text::new(self.reference_name.clone(), (x, y), font))?;
        Ok(())
    }
}
