//! A contact sheet: many images of one size in a grid, scaled up by pixel repetition.

use super::image::RgbImage;
use crate::{Result, TaskError};

/// The largest side a contact sheet may have.
const MAX_SHEET_SIDE: usize = 8192;

/// Lays `images` (all one size) out in rows of `columns`, each pixel repeated `scale × scale`
/// times, with `gap` pixels of `gap_rgb` between and around the cells.
///
/// # Errors
/// No images, zero `columns` or `scale`, images of different sizes, or a sheet side above
/// 8192 pixels.
pub fn contact_sheet(
    images: &[RgbImage],
    columns: usize,
    scale: usize,
    gap: usize,
    gap_rgb: [u8; 3],
) -> Result<RgbImage> {
    let first = images
        .first()
        .ok_or_else(|| TaskError::InvalidInput("a contact sheet needs images".into()))?;
    if columns == 0 || scale == 0 {
        return Err(TaskError::InvalidInput(format!(
            "a contact sheet needs columns ≥ 1 and scale ≥ 1 (got {columns}, {scale})"
        )));
    }
    let (w, h) = (first.width(), first.height());
    if let Some((i, img)) = images
        .iter()
        .enumerate()
        .find(|(_, im)| (im.width(), im.height()) != (w, h))
    {
        return Err(TaskError::InvalidInput(format!(
            "contact sheet: image {i} is {}×{}, the first is {w}×{h}",
            img.width(),
            img.height()
        )));
    }
    let columns = columns.min(images.len());
    let rows = images.len().div_ceil(columns);
    let (cw, ch) = (w * scale, h * scale);
    let sheet_w = columns * (cw + gap) + gap;
    let sheet_h = rows * (ch + gap) + gap;
    if sheet_w > MAX_SHEET_SIDE || sheet_h > MAX_SHEET_SIDE {
        return Err(TaskError::InvalidInput(format!(
            "a {sheet_w}×{sheet_h} contact sheet is above the {MAX_SHEET_SIDE}-pixel limit"
        )));
    }
    let mut sheet = RgbImage::filled(sheet_w, sheet_h, gap_rgb);
    for (k, img) in images.iter().enumerate() {
        let (ox, oy) = (
            gap + (k % columns) * (cw + gap),
            gap + (k / columns) * (ch + gap),
        );
        for y in 0..ch {
            for x in 0..cw {
                sheet.set(ox + x, oy + y, img.get(x / scale, y / scale));
            }
        }
    }
    Ok(sheet)
}
