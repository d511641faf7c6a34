#![doc = include_str!("../README.md")]

mod axis;
mod bar_chart;
mod colour;
mod error;
mod font;
mod png;
mod size;
mod style;
mod ticks;
mod xy_chart;

pub use axis::Axis;
pub use bar_chart::{Bar, BarChart};
pub use colour::{PALETTE, Rgb};
pub use error::{PlotError, Result};
pub use font::{FONT_FAMILY, ensure_font};
pub use size::PlotSize;
pub use ticks::{Ticks, nice_step, padded_range};
pub use xy_chart::{DrawnAxes, Mark, Series, XyChart};
