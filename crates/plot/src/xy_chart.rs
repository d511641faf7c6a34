//! Line and scatter charts: several named series of `(x, y)` on labelled, ticked axes, with a
//! title and a legend naming every series.

use std::path::Path;

use plotters::prelude::*;

use crate::axis::Axis;
use crate::colour::Rgb;
use crate::error::{PlotError, Result};
use crate::font::FONT_FAMILY;
use crate::png::{Canvas, render_png, write_png};
use crate::size::PlotSize;
use crate::style::{Layout, text_width};
use crate::ticks::{TickedRange, Ticks, padded_range};

/// How a series is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mark {
    /// A polyline through the points, in order.
    #[default]
    Line,
    /// A filled circle per point (a scatter), with error whiskers if the series has them.
    Points,
}

/// One named series.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// The name shown in the legend.
    pub name: String,
    /// The points; non-finite ones (and ≤ 0 ones on a log axis) are left out.
    pub points: Vec<(f64, f64)>,
    /// Half-widths `(x ±, y ±)` of the error whiskers, one per point; empty for none.
    pub errors: Vec<(f64, f64)>,
    /// Line or points.
    pub mark: Mark,
    /// The colour; `None` takes the next colour of the palette.
    pub colour: Option<Rgb>,
}

impl Series {
    /// A line through `points`.
    pub fn line(name: impl Into<String>, points: impl IntoIterator<Item = (f64, f64)>) -> Self {
        Self {
            name: name.into(),
            points: points.into_iter().collect(),
            errors: Vec::new(),
            mark: Mark::Line,
            colour: None,
        }
    }

    /// A scatter of `points`.
    pub fn points(name: impl Into<String>, points: impl IntoIterator<Item = (f64, f64)>) -> Self {
        Self {
            mark: Mark::Points,
            ..Self::line(name, points)
        }
    }

    /// Draws the series in `colour`.
    #[must_use]
    pub fn with_colour(mut self, colour: Rgb) -> Self {
        self.colour = Some(colour);
        self
    }

    /// Adds error whiskers: `(x ±, y ±)` for each point, in order.
    #[must_use]
    pub fn with_errors(mut self, errors: impl IntoIterator<Item = (f64, f64)>) -> Self {
        self.errors = errors.into_iter().collect();
        self
    }
}

/// What was drawn on the axes: the ticks (grid lines) of each.
#[derive(Debug, Clone, PartialEq)]
pub struct DrawnAxes {
    /// Ticks of the x axis.
    pub x: Ticks,
    /// Ticks of the y axis.
    pub y: Ticks,
    /// The series colours actually used, in series order.
    pub colours: Vec<Rgb>,
}

/// A chart of series on an x and a y axis.
///
/// ```
/// use prefopt_plot::{Axis, Series, XyChart};
///
/// let chart = XyChart::new("loss", Axis::new("step"), Axis::new("loss"))
///     .with_series(Series::line("train", (1..=20).map(|s| (s as f64, 1.0 / s as f64))))
///     .with_series(Series::line("eval", [(10.0, 0.2), (20.0, 0.15)]));
/// let (png, axes) = chart.render()?;
/// assert_eq!(&png[1..4], b"PNG");
/// assert_eq!(axes.x.step, 5.0);
/// # Ok::<(), prefopt_plot::PlotError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct XyChart {
    /// The title above the chart.
    pub title: String,
    /// The horizontal axis.
    pub x: Axis,
    /// The vertical axis.
    pub y: Axis,
    /// The series, drawn in order (later on top).
    pub series: Vec<Series>,
    /// The PNG size.
    pub size: PlotSize,
}

/// A point as drawn: plot coordinates (log₁₀ on a log axis) and whisker ends.
#[derive(Debug, Clone, Copy)]
struct Drawn {
    x: f64,
    y: f64,
    x_span: (f64, f64),
    y_span: (f64, f64),
}

impl XyChart {
    /// A chart without series, of the default size.
    pub fn new(title: impl Into<String>, x: Axis, y: Axis) -> Self {
        Self {
            title: title.into(),
            x,
            y,
            series: Vec::new(),
            size: PlotSize::default(),
        }
    }

    /// Adds a series.
    #[must_use]
    pub fn with_series(mut self, series: Series) -> Self {
        self.series.push(series);
        self
    }

    /// Sets the PNG size.
    #[must_use]
    pub fn with_size(mut self, size: PlotSize) -> Self {
        self.size = size;
        self
    }

    /// Draws the chart and writes it to `path` (atomically; parent directories are created).
    ///
    /// # Errors
    /// See [`XyChart::render`]; [`PlotError::Write`] if the file cannot be written.
    pub fn write_png(&self, path: &Path) -> Result<DrawnAxes> {
        let (png, axes) = self.render_named(path)?;
        write_png(path, &png)?;
        Ok(axes)
    }

    /// Draws the chart into PNG bytes.
    ///
    /// # Errors
    /// [`PlotError::InvalidChart`] for a zero size or an empty, inverted or (on a log axis)
    /// non-positive fixed range; [`PlotError::Draw`] if the backend fails.
    pub fn render(&self) -> Result<(Vec<u8>, DrawnAxes)> {
        self.render_named(Path::new("<memory>"))
    }

    fn render_named(&self, path: &Path) -> Result<(Vec<u8>, DrawnAxes)> {
        let series: Vec<Vec<Drawn>> = self.series.iter().map(|s| self.transform(s)).collect();
        let extent = |f: fn(&Drawn) -> [f64; 2]| -> Vec<f64> {
            series.iter().flatten().flat_map(f).collect()
        };
        let (x0, x1) = axis_range(&self.x, &extent(|p| [p.x_span.0, p.x_span.1]))?;
        let (y0, y1) = axis_range(&self.y, &extent(|p| [p.y_span.0, p.y_span.1]))?;
        let layout = Layout::for_size(self.size, !self.title.is_empty());
        let x_ticks = ticks(&self.x, x0, x1, layout.max_x_intervals());
        let y_ticks = ticks(&self.y, y0, y1, layout.max_y_intervals());
        let colours: Vec<Rgb> = self
            .series
            .iter()
            .enumerate()
            .map(|(i, s)| s.colour.unwrap_or_else(|| Rgb::palette(i)))
            .collect();
        let (png, ()) = render_png(path, self.size, |root| {
            self.draw(
                root,
                &layout,
                &series,
                &colours,
                [x0, x1, y0, y1],
                &x_ticks,
                &y_ticks,
            )
            .map_err(|e| PlotError::draw(path, e))
        })?;
        Ok((
            png,
            DrawnAxes {
                x: x_ticks,
                y: y_ticks,
                colours,
            },
        ))
    }

    /// The drawable points of `series` in plot coordinates.
    fn transform(&self, series: &Series) -> Vec<Drawn> {
        let tx = |v: f64| axis_value(&self.x, v);
        let ty = |v: f64| axis_value(&self.y, v);
        series
            .points
            .iter()
            .enumerate()
            .filter_map(|(i, &(x, y))| {
                let (ex, ey) = series.errors.get(i).copied().unwrap_or((0.0, 0.0));
                let (ex, ey) = (finite_or_zero(ex).abs(), finite_or_zero(ey).abs());
                let (px, py) = (tx(x)?, ty(y)?);
                let span = |t: &dyn Fn(f64) -> Option<f64>, v: f64, e: f64, p: f64| {
                    (t(v - e).unwrap_or(p), t(v + e).unwrap_or(p))
                };
                Some(Drawn {
                    x: px,
                    y: py,
                    x_span: span(&tx, x, ex, px),
                    y_span: span(&ty, y, ey, py),
                })
            })
            .collect()
    }

    #[allow(clippy::too_many_arguments)]
    fn draw(
        &self,
        root: &Canvas<'_>,
        layout: &Layout,
        series: &[Vec<Drawn>],
        colours: &[Rgb],
        [x0, x1, y0, y1]: [f64; 4],
        x_ticks: &Ticks,
        y_ticks: &Ticks,
    ) -> std::result::Result<(), Box<dyn std::error::Error>> {
        let y_label_width = y_ticks
            .values
            .iter()
            .map(|&v| text_width(&y_ticks.label(v), layout.label_px))
            .max()
            .unwrap_or(0);
        let mut builder = ChartBuilder::on(root);
        builder
            .margin(layout.margin)
            .margin_right(layout.margin + layout.label_px)
            .x_label_area_size(layout.x_label_area())
            .y_label_area_size(layout.y_label_area(y_label_width));
        if !self.title.is_empty() {
            builder.caption(&self.title, layout.title_font());
        }
        let x_range = TickedRange {
            lo: x0,
            hi: x1,
            ticks: x_ticks.values.clone(),
        };
        let y_range = TickedRange {
            lo: y0,
            hi: y1,
            ticks: y_ticks.values.clone(),
        };
        let mut chart = builder.build_cartesian_2d(x_range, y_range)?;
        let x_label = |v: &f64| x_ticks.label(*v);
        let y_label = |v: &f64| y_ticks.label(*v);
        chart
            .configure_mesh()
            .x_desc(self.x.label.as_str())
            .y_desc(self.y.label.as_str())
            .x_label_formatter(&x_label)
            .y_label_formatter(&y_label)
            .label_style((FONT_FAMILY, layout.label_px))
            .axis_desc_style((FONT_FAMILY, layout.desc_px))
            .bold_line_style(RGBColor(222, 222, 222))
            .axis_style(RGBColor(60, 60, 60))
            .draw()?;
        // The frame's top and right sides, and a darker line at y = 0 inside the range.
        let frame = RGBColor(60, 60, 60);
        chart.draw_series(LineSeries::new([(x0, y1), (x1, y1), (x1, y0)], frame))?;
        if !self.y.log_scale && y0 < 0.0 && y1 > 0.0 {
            chart.draw_series(LineSeries::new(
                [(x0, 0.0), (x1, 0.0)],
                RGBColor(140, 140, 140),
            ))?;
        }
        for ((spec, points), &colour) in self.series.iter().zip(series).zip(colours) {
            let c = colour.to_plotters();
            let style = c.stroke_width(layout.line_px);
            let annotation = match spec.mark {
                Mark::Line => {
                    chart.draw_series(LineSeries::new(points.iter().map(|p| (p.x, p.y)), style))?
                }
                Mark::Points => {
                    for p in points.iter().filter(|p| p.x_span.0 < p.x_span.1) {
                        chart.draw_series(LineSeries::new(
                            [(p.x_span.0, p.y), (p.x_span.1, p.y)],
                            style,
                        ))?;
                    }
                    for p in points.iter().filter(|p| p.y_span.0 < p.y_span.1) {
                        chart.draw_series(LineSeries::new(
                            [(p.x, p.y_span.0), (p.x, p.y_span.1)],
                            style,
                        ))?;
                    }
                    chart.draw_series(
                        points
                            .iter()
                            .map(|p| Circle::new((p.x, p.y), layout.marker_px, c.filled())),
                    )?
                }
            };
            // The legend's sample: a short line, or a marker, in the series' colour.
            let (line_end, radius) = match spec.mark {
                Mark::Line => (20, 0),
                Mark::Points => (10, layout.marker_px),
            };
            let line_px = layout.line_px;
            annotation.label(spec.name.as_str()).legend(move |(x, y)| {
                EmptyElement::at((x, y))
                    + PathElement::new(
                        vec![(10 - line_end / 2, 0), (10 + line_end / 2, 0)],
                        c.stroke_width(line_px),
                    )
                    + Circle::new((10, 0), radius, c.filled())
            });
        }
        if !self.series.is_empty() {
            chart
                .configure_series_labels()
                .position(legend_corner(series, [x0, x1, y0, y1]))
                .margin(10)
                .label_font((FONT_FAMILY, layout.label_px))
                .background_style(WHITE.mix(0.9))
                .border_style(RGBColor(120, 120, 120))
                .draw()?;
        }
        Ok(())
    }
}

fn finite_or_zero(v: f64) -> f64 {
    if v.is_finite() { v } else { 0.0 }
}

/// `v` in plot coordinates: itself, or log₁₀ on a log axis; `None` when it cannot be drawn.
fn axis_value(axis: &Axis, v: f64) -> Option<f64> {
    let t = if axis.log_scale {
        (v > 0.0).then(|| v.log10())?
    } else {
        v
    };
    t.is_finite().then_some(t)
}

/// The plot-coordinate range of `axis`: its fixed range, or the data's with 5 % padding.
fn axis_range(axis: &Axis, values: &[f64]) -> Result<(f64, f64)> {
    let Some((lo, hi)) = axis.range else {
        return Ok(padded_range(values.iter().copied(), 0.05));
    };
    match (axis_value(axis, lo), axis_value(axis, hi)) {
        (Some(a), Some(b)) if a < b => Ok((a, b)),
        _ => Err(PlotError::InvalidChart(format!(
            "axis `{}`: range [{lo}, {hi}] is empty{}",
            axis.label,
            if axis.log_scale {
                " or not positive (log scale)"
            } else {
                ""
            }
        ))),
    }
}

fn ticks(axis: &Axis, lo: f64, hi: f64, max_intervals: usize) -> Ticks {
    if axis.log_scale {
        Ticks::log10(lo, hi, max_intervals)
    } else {
        Ticks::linear(lo, hi, max_intervals)
    }
}

/// The corner of the plot with the fewest points (segments sampled), for the legend.
fn legend_corner(series: &[Vec<Drawn>], [x0, x1, y0, y1]: [f64; 4]) -> SeriesLabelPosition {
    let mut counts = [0usize; 4];
    let mut count = |x: f64, y: f64| {
        let (u, v) = ((x - x0) / (x1 - x0), (y - y0) / (y1 - y0));
        let corner = match (u < 0.4, u > 0.6, v < 0.4, v > 0.6) {
            (false, true, false, true) => 0, // upper right
            (true, false, false, true) => 1, // upper left
            (false, true, true, false) => 2, // lower right
            (true, false, true, false) => 3, // lower left
            _ => return,
        };
        counts[corner] += 1;
    };
    for points in series {
        for p in points {
            count(p.x, p.y);
        }
        for w in points.windows(2) {
            for k in 1..16 {
                let t = f64::from(k) / 16.0;
                count(
                    w[0].x + t * (w[1].x - w[0].x),
                    w[0].y + t * (w[1].y - w[0].y),
                );
            }
        }
    }
    match (0..4).min_by_key(|&i| counts[i]) {
        Some(1) => SeriesLabelPosition::UpperLeft,
        Some(2) => SeriesLabelPosition::LowerRight,
        Some(3) => SeriesLabelPosition::LowerLeft,
        _ => SeriesLabelPosition::UpperRight,
    }
}
