//! 8-bit RGB images ↔ model pixels in `[-1, 1]`, channel-first.

use crate::Result;
use crate::shapes::RgbImage;

/// Appends `image` as `[3, h, w]` floats in `[-1, 1]` (`v / 127.5 − 1`) to `out`.
pub fn image_to_pixels(image: &RgbImage, out: &mut Vec<f32>) {
    let (w, h) = (image.width(), image.height());
    let raw = image.as_raw();
    for c in 0..3 {
        for y in 0..h {
            for x in 0..w {
                out.push(f32::from(raw[(y * w + x) * 3 + c]) / 127.5 - 1.0);
            }
        }
    }
}

/// One `[3, h, w]` image in `[-1, 1]` (values outside are clamped) → 8-bit RGB.
///
/// # Errors
/// When `pixels` does not hold `3·h·w` values.
pub fn pixels_to_image(pixels: &[f32], width: usize, height: usize) -> Result<RgbImage> {
    let plane = width * height;
    let mut data = vec![0u8; plane * 3];
    if pixels.len() == plane * 3 {
        for c in 0..3 {
            for i in 0..plane {
                let v = (pixels[c * plane + i].clamp(-1.0, 1.0) + 1.0) * 127.5;
                data[i * 3 + c] = v.round() as u8;
            }
        }
    }
    RgbImage::from_raw(
        width,
        height,
        if pixels.len() == plane * 3 {
            data
        } else {
            Vec::new()
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_is_exact_for_bytes() {
        let raw: Vec<u8> = (0..4 * 2 * 3).map(|i| (i * 11 % 256) as u8).collect();
        let image = RgbImage::from_raw(4, 2, raw).unwrap();
        let mut px = Vec::new();
        image_to_pixels(&image, &mut px);
        assert!(px.iter().all(|v| (-1.0..=1.0).contains(v)));
        assert_eq!(pixels_to_image(&px, 4, 2).unwrap(), image);
        assert!(pixels_to_image(&px[1..], 4, 2).is_err());
    }
}
