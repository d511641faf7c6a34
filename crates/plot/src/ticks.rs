//! Axis ranges and tick positions: round values (1, 2 or 5 × 10ⁿ apart) and their labels.

use std::ops::Range;

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};

/// The smallest of 1, 2, 5 × 10ⁿ that cuts `span` into at most `max_intervals` intervals
/// (1 for an empty, infinite or NaN span).
pub fn nice_step(span: f64, max_intervals: usize) -> f64 {
    if !(span.is_finite() && span > 0.0) {
        return 1.0;
    }
    let raw = span / max_intervals.max(1) as f64;
    let base = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * base)
        .find(|&s| s >= raw * (1.0 - 1e-9))
        .unwrap_or(10.0 * base)
}

/// `[min, max]` of the finite `values` widened by `padding` × its span on each side; a width-0
/// range becomes `value ± 0.5`, an empty one `[0, 1]`.
pub fn padded_range(values: impl IntoIterator<Item = f64>, padding: f64) -> (f64, f64) {
    let (lo, hi) = values
        .into_iter()
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    if hi - lo <= f64::EPSILON * lo.abs().max(1.0) {
        return (lo - 0.5, hi + 0.5);
    }
    let pad = padding * (hi - lo);
    (lo - pad, hi + pad)
}

/// The ticks of one axis: where they are and how they are labelled.
#[derive(Debug, Clone, PartialEq)]
pub struct Ticks {
    /// Distance between neighbouring ticks (in decades, log₁₀ units, on a log axis).
    pub step: f64,
    /// Tick positions, ascending (log₁₀ of the value on a log axis).
    pub values: Vec<f64>,
    /// Whether the axis is logarithmic: positions are log₁₀ of the values shown.
    pub log: bool,
}

impl Ticks {
    /// Multiples of [`nice_step`]`(hi - lo, max_intervals)` inside `[lo, hi]`.
    pub fn linear(lo: f64, hi: f64, max_intervals: usize) -> Self {
        let step = nice_step(hi - lo, max_intervals);
        Self {
            step,
            values: multiples(lo, hi, step),
            log: false,
        }
    }

    /// Ticks of a log axis whose range `[lo, hi]` is in log₁₀ units: whole decades, or 1, 2, 5
    /// × 10ⁿ when the range holds fewer than three whole decades.
    pub fn log10(lo: f64, hi: f64, max_intervals: usize) -> Self {
        let step = nice_step(hi - lo, max_intervals).max(1.0);
        let mut values = multiples(lo, hi, step);
        if values.len() < 3 {
            values = (lo.floor() as i32..=hi.ceil() as i32)
                .flat_map(|d| [1.0f64, 2.0, 5.0].map(|m| f64::from(d) + m.log10()))
                .filter(|v| (lo..=hi).contains(v))
                .collect();
        }
        Self {
            step,
            values,
            log: true,
        }
    }

    /// The text of the tick at `position`: as few decimals as the step needs, scientific
    /// notation for very large or small magnitudes.
    pub fn label(&self, position: f64) -> String {
        if self.log {
            return format_log_tick(position);
        }
        format_tick(position, self.step)
    }
}

/// `k × step` for every integer `k` with the product inside `[lo, hi]` (tiny values snap to 0).
fn multiples(lo: f64, hi: f64, step: f64) -> Vec<f64> {
    if !(lo.is_finite() && hi.is_finite() && step > 0.0) {
        return Vec::new();
    }
    let first = (lo / step - 1e-9).ceil() as i64;
    let last = (hi / step + 1e-9).floor() as i64;
    (first..=last)
        .map(|k| {
            let v = k as f64 * step;
            if v.abs() < 1e-9 * step { 0.0 } else { v }
        })
        .collect()
}

fn format_tick(value: f64, step: f64) -> String {
    if value == 0.0 {
        return "0".to_string();
    }
    let magnitude = value.abs().log10().floor();
    let step_magnitude = step.log10().floor();
    if value.abs() >= 1e5 || step < 1e-3 {
        let digits = (magnitude - step_magnitude).max(0.0) as usize;
        let text = format!("{value:.digits$e}");
        // `1.0e-4` → `1e-4`: no trailing zeros in the mantissa.
        return match text.split_once('e') {
            Some((mantissa, exponent)) if mantissa.contains('.') => format!(
                "{}e{exponent}",
                mantissa.trim_end_matches('0').trim_end_matches('.')
            ),
            _ => text,
        };
    }
    let decimals = (-step_magnitude).max(0.0) as usize;
    format!("{value:.decimals$}")
}

fn format_log_tick(position: f64) -> String {
    let value = 10f64.powf(position);
    let decade = position.floor();
    if (-3.0..=4.0).contains(&decade) {
        let decimals = (-decade).max(0.0) as usize;
        format!("{value:.decimals$}")
    } else {
        let mantissa = value / 10f64.powf(decade);
        format!("{mantissa:.0}e{decade}")
    }
}

/// A linear plotters coordinate whose key points (grid lines and labels) are exactly the
/// given ticks.
#[derive(Debug, Clone)]
pub(crate) struct TickedRange {
    pub(crate) lo: f64,
    pub(crate) hi: f64,
    pub(crate) ticks: Vec<f64>,
}

impl Ranged for TickedRange {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let fraction = (value - self.lo) / (self.hi - self.lo);
        let length = f64::from(limit.1 - limit.0);
        limit.0 + (length * fraction + 1e-3).floor() as i32
    }

    fn key_points<H: KeyPointHint>(&self, hint: H) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.ticks.clone()
        }
    }

    fn range(&self) -> Range<f64> {
        self.lo..self.hi
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps() {
        assert_eq!(nice_step(4.0, 8), 0.5);
        assert_eq!(nice_step(0.8, 8), 0.1);
        assert_eq!(nice_step(1.2, 8), 0.2);
        assert_eq!(nice_step(100.0, 5), 20.0);
        assert_eq!(nice_step(f64::NAN, 8), 1.0);
        assert_eq!(nice_step(0.0, 8), 1.0);
    }

    #[test]
    fn ranges() {
        assert_eq!(padded_range([1.0, 3.0], 0.05), (0.9, 3.1));
        assert_eq!(padded_range([2.0, f64::NAN], 0.05), (1.5, 2.5));
        assert_eq!(padded_range([], 0.05), (0.0, 1.0));
    }

    #[test]
    fn linear_ticks_and_labels() {
        let t = Ticks::linear(-0.14, 0.34, 8);
        assert_eq!(t.step, 0.1);
        assert_eq!(t.values, vec![-0.1, 0.0, 0.1, 0.2, 0.30000000000000004]);
        let labels: Vec<String> = t.values.iter().map(|&v| t.label(v)).collect();
        assert_eq!(labels, ["-0.1", "0", "0.1", "0.2", "0.3"]);
        let steps = Ticks::linear(0.0, 21.0, 8);
        assert_eq!(steps.values, vec![0.0, 5.0, 10.0, 15.0, 20.0]);
        assert_eq!(steps.label(15.0), "15");
        let lr = Ticks::linear(0.0, 1.2e-4, 6);
        assert_eq!(lr.step, 2e-5);
        assert_eq!(lr.label(4e-5), "4e-5");
        assert_eq!(lr.label(1.2e-4), "1.2e-4");
        assert_eq!(lr.label(1e-4), "1e-4");
        assert_eq!(Ticks::linear(0.0, 3e5, 3).label(2e5), "2e5");
    }

    #[test]
    fn log_ticks() {
        let t = Ticks::log10(-3.2, 0.1, 8);
        assert_eq!(t.values, vec![-3.0, -2.0, -1.0, 0.0]);
        assert_eq!(t.label(-3.0), "0.001");
        assert_eq!(t.label(0.0), "1");
        assert_eq!(t.label(-6.0), "1e-6");
        let narrow = Ticks::log10(-0.5, 0.2, 8);
        let labels: Vec<String> = narrow.values.iter().map(|&v| narrow.label(v)).collect();
        assert_eq!(labels, ["0.5", "1"]);
    }
}
