//! Decoding rendered PNGs and comparing their pixels.

use image::RgbImage;

/// Decodes PNG bytes (panics if they are not a PNG).
pub fn decode(png: &[u8]) -> RgbImage {
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
    image::load_from_memory(png).expect("decodes").to_rgb8()
}

/// The bounding box `(x0, y0, x1, y1)` (inclusive) of the pixels where `a` and `b` differ;
/// `None` when they are identical. Both images must have one size.
pub fn diff_box(a: &RgbImage, b: &RgbImage) -> Option<(u32, u32, u32, u32)> {
    assert_eq!(a.dimensions(), b.dimensions());
    a.enumerate_pixels()
        .filter(|&(x, y, p)| b.get_pixel(x, y) != p)
        .fold(None, |acc, (x, y, _)| {
            let (x0, y0, x1, y1) = acc.unwrap_or((x, y, x, y));
            Some((x0.min(x), y0.min(y), x1.max(x), y1.max(y)))
        })
}

/// How many pixels in the rectangle are dark (text or lines, not background or grid).
pub fn dark_pixels(img: &RgbImage, (x0, y0, x1, y1): (u32, u32, u32, u32)) -> usize {
    (y0..=y1)
        .flat_map(|y| (x0..=x1).map(move |x| (x, y)))
        .filter(|&(x, y)| img.get_pixel(x, y).0.iter().all(|&c| c < 128))
        .count()
}
