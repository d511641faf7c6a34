//! Integration tests of prefopt-plot (one binary).

mod bar_chart;
mod pixels;
mod xy_chart;
