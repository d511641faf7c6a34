//! Drawing into memory, encoding PNG, writing atomically.

use std::path::Path;

use image::ImageEncoder;
use image::codecs::png::PngEncoder;
use plotters::coord::Shift;
use plotters::prelude::{BitMapBackend, DrawingArea, IntoDrawingArea, WHITE};

use crate::error::{PlotError, Result};
use crate::font::ensure_font;
use crate::size::PlotSize;

/// The drawing area handed to a chart's drawing code.
pub(crate) type Canvas<'a> = DrawingArea<BitMapBackend<'a>, Shift>;

/// Draws with `draw` on a white `size` canvas and returns the PNG bytes and what `draw`
/// returned. `path` only names the chart in errors.
pub(crate) fn render_png<T>(
    path: &Path,
    size: PlotSize,
    draw: impl FnOnce(&Canvas<'_>) -> Result<T>,
) -> Result<(Vec<u8>, T)> {
    if size.width == 0 || size.height == 0 {
        return Err(PlotError::InvalidChart(format!(
            "size {}×{} has no pixels",
            size.width, size.height
        )));
    }
    ensure_font()?;
    let mut rgb = vec![0u8; size.width as usize * size.height as usize * 3];
    let drawn = {
        let root =
            BitMapBackend::with_buffer(&mut rgb, (size.width, size.height)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| PlotError::draw(path, e))?;
        let drawn = draw(&root)?;
        root.present().map_err(|e| PlotError::draw(path, e))?;
        drawn
    };
    let mut png = Vec::new();
    PngEncoder::new(&mut png)
        .write_image(
            &rgb,
            size.width,
            size.height,
            image::ExtendedColorType::Rgb8,
        )
        .map_err(|e| PlotError::Encode {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
    Ok((png, drawn))
}

/// Writes PNG bytes to `path` atomically (parent directories are created).
pub(crate) fn write_png(path: &Path, png: &[u8]) -> Result<()> {
    prefopt_core::write_atomic(path, png)?;
    tracing::debug!(path = %path.display(), bytes = png.len(), "chart written");
    Ok(())
}
