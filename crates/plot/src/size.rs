//! The pixel size of a chart.

/// Size of a PNG, in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlotSize {
    /// Width.
    pub width: u32,
    /// Height.
    pub height: u32,
}

impl PlotSize {
    /// `width × height`.
    pub const fn new(width: u32, height: u32) -> Self {
        Self { width, height }
    }
}

impl Default for PlotSize {
    /// 800 × 500.
    fn default() -> Self {
        Self::new(800, 500)
    }
}
