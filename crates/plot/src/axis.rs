//! The description of one axis of an [`XyChart`](crate::XyChart).

/// One axis: its label, an optional fixed range and whether it is logarithmic.
#[derive(Debug, Clone, PartialEq)]
pub struct Axis {
    /// The axis label (units included, e.g. `"KL(π ‖ π_SFT) (nats)"`).
    pub label: String,
    /// A fixed `(min, max)`; `None` fits the data with 5 % padding.
    pub range: Option<(f64, f64)>,
    /// Logarithmic (base 10). Values ≤ 0 are left out of the chart.
    pub log_scale: bool,
}

impl Axis {
    /// A linear axis labelled `label`, fitted to the data.
    pub fn new(label: impl Into<String>) -> Self {
        Self {
            label: label.into(),
            range: None,
            log_scale: false,
        }
    }

    /// Shows exactly `[min, max]` (on a log axis, in data units, both > 0).
    #[must_use]
    pub fn with_range(mut self, min: f64, max: f64) -> Self {
        self.range = Some((min, max));
        self
    }

    /// Makes the axis logarithmic (base 10).
    #[must_use]
    pub fn with_log_scale(mut self) -> Self {
        self.log_scale = true;
        self
    }
}
