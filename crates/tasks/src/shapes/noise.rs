//! Image corruptions for measuring the checker: Gaussian pixel noise and a box blur.

use prefopt_core::SplitMix64;
use serde::{Deserialize, Serialize};

use super::image::RgbImage;

/// A corruption applied to a ground-truth render before checking it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Corruption {
    /// The render as it is.
    None,
    /// Independent Gaussian noise of this standard deviation (in 0–255 units) on every
    /// channel, rounded and clamped.
    Gaussian(f32),
    /// A 3×3 box blur (edges replicate).
    Blur,
    /// The blur, then Gaussian noise.
    BlurGaussian(f32),
}

impl Corruption {
    /// A short label for tables.
    pub fn label(self) -> String {
        match self {
            Self::None => "clean".to_string(),
            Self::Gaussian(s) => format!("noise σ={s}"),
            Self::Blur => "blur 3×3".to_string(),
            Self::BlurGaussian(s) => format!("blur 3×3 + noise σ={s}"),
        }
    }

    /// Applies the corruption (noise drawn from `rng`).
    pub fn apply(self, image: &RgbImage, rng: &mut SplitMix64) -> RgbImage {
        match self {
            Self::None => image.clone(),
            Self::Gaussian(s) => gaussian_noise(image, s, rng),
            Self::Blur => box_blur(image),
            Self::BlurGaussian(s) => gaussian_noise(&box_blur(image), s, rng),
        }
    }
}

/// Adds independent Gaussian noise of standard deviation `sigma` to every channel.
pub fn gaussian_noise(image: &RgbImage, sigma: f32, rng: &mut SplitMix64) -> RgbImage {
    let data = image
        .as_raw()
        .iter()
        .map(|v| {
            (f32::from(*v) + sigma * rng.next_normal())
                .round()
                .clamp(0.0, 255.0) as u8
        })
        .collect();
    RgbImage::from_raw(image.width(), image.height(), data)
        .unwrap_or_else(|_| unreachable!("same length"))
}

/// A 3×3 box blur; pixels beyond the edge repeat the edge.
pub fn box_blur(image: &RgbImage) -> RgbImage {
    let (w, h) = (image.width(), image.height());
    let mut out = image.clone();
    for y in 0..h {
        for x in 0..w {
            let mut sum = [0u32; 3];
            for dy in -1isize..=1 {
                for dx in -1isize..=1 {
                    let nx = (x as isize + dx).clamp(0, w as isize - 1) as usize;
                    let ny = (y as isize + dy).clamp(0, h as isize - 1) as usize;
                    let p = image.get(nx, ny);
                    for k in 0..3 {
                        sum[k] += u32::from(p[k]);
                    }
                }
            }
            out.set(x, y, sum.map(|s| ((s + 4) / 9) as u8));
        }
    }
    out
}
