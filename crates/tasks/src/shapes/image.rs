//! A plain 8-bit RGB image (`[h][w][3]`, row-major) with PNG reading and writing.

use std::io::Cursor;
use std::path::Path;

use crate::{Result, TaskError};

/// The largest PNG side the reader accepts (the header is checked before decoding).
pub const MAX_PNG_SIDE: u32 = 4096;

/// The largest PNG file the reader opens (64 MiB).
pub const MAX_PNG_BYTES: u64 = 64 << 20;

/// An 8-bit RGB image stored row-major as `[height][width][3]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RgbImage {
    width: usize,
    height: usize,
    data: Vec<u8>,
}

impl RgbImage {
    /// A `width × height` image filled with `rgb`.
    pub fn filled(width: usize, height: usize, rgb: [u8; 3]) -> Self {
        let mut data = Vec::with_capacity(width * height * 3);
        for _ in 0..width * height {
            data.extend_from_slice(&rgb);
        }
        Self {
            width,
            height,
            data,
        }
    }

    /// Wraps `[height][width][3]` bytes; errors when the length does not match.
    pub fn from_raw(width: usize, height: usize, data: Vec<u8>) -> Result<Self> {
        if data.len() != width * height * 3 {
            return Err(TaskError::InvalidInput(format!(
                "an RGB image of {width}×{height} needs {} bytes, got {}",
                width * height * 3,
                data.len()
            )));
        }
        Ok(Self {
            width,
            height,
            data,
        })
    }

    /// Width in pixels.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> usize {
        self.height
    }

    /// The `[height][width][3]` bytes.
    pub fn as_raw(&self) -> &[u8] {
        &self.data
    }

    /// The bytes, consuming the image.
    pub fn into_raw(self) -> Vec<u8> {
        self.data
    }

    /// The pixel at column `x`, row `y`.
    ///
    /// # Panics
    /// If `(x, y)` is outside the image.
    pub fn get(&self, x: usize, y: usize) -> [u8; 3] {
        let i = (y * self.width + x) * 3;
        [self.data[i], self.data[i + 1], self.data[i + 2]]
    }

    /// Sets the pixel at column `x`, row `y`.
    ///
    /// # Panics
    /// If `(x, y)` is outside the image.
    pub fn set(&mut self, x: usize, y: usize, rgb: [u8; 3]) {
        let i = (y * self.width + x) * 3;
        self.data[i..i + 3].copy_from_slice(&rgb);
    }

    /// PNG bytes (8-bit RGB).
    pub fn to_png(&self) -> Result<Vec<u8>> {
        let img =
            image::RgbImage::from_raw(self.width as u32, self.height as u32, self.data.clone())
                .ok_or_else(|| {
                    TaskError::InvalidInput("image buffer has the wrong length".into())
                })?;
        let mut out = Vec::new();
        img.write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png)
            .map_err(|e| TaskError::Image {
                path: "<memory>".into(),
                message: format!("PNG encoding failed: {e}"),
            })?;
        Ok(out)
    }

    /// Writes a PNG atomically.
    pub fn write_png(&self, path: &Path) -> Result<()> {
        prefopt_core::write_atomic(path, &self.to_png()?)?;
        Ok(())
    }

    /// Reads an 8-bit RGB PNG. Other modes (grey, RGBA, 16-bit, palette) are refused with an
    /// error naming the file and the mode; sides above [`MAX_PNG_SIDE`] are refused before
    /// decoding.
    pub fn read_png(path: &Path) -> Result<Self> {
        let len = std::fs::metadata(path)
            .map_err(|e| TaskError::io(path, e))?
            .len();
        if len > MAX_PNG_BYTES {
            return Err(TaskError::Image {
                path: path.to_path_buf(),
                message: format!("{len} bytes is above the {MAX_PNG_BYTES}-byte limit for a PNG"),
            });
        }
        let bytes = std::fs::read(path).map_err(|e| TaskError::io(path, e))?;
        Self::from_png(path, &bytes)
    }

    /// As [`read_png`](Self::read_png), from bytes; `path` is for messages.
    pub fn from_png(path: &Path, bytes: &[u8]) -> Result<Self> {
        let bad = |message: String| TaskError::Image {
            path: path.to_path_buf(),
            message,
        };
        let reader = image::ImageReader::with_format(Cursor::new(bytes), image::ImageFormat::Png);
        let decoder = reader
            .into_decoder()
            .map_err(|e| bad(format!("not a readable PNG: {e}")))?;
        let (w, h) = image::ImageDecoder::dimensions(&decoder);
        if w > MAX_PNG_SIDE || h > MAX_PNG_SIDE {
            return Err(bad(format!(
                "{w}×{h} pixels is above the {MAX_PNG_SIDE}-pixel limit per side"
            )));
        }
        let colour = image::ImageDecoder::color_type(&decoder);
        if colour != image::ColorType::Rgb8 {
            return Err(bad(format!(
                "the PNG is {colour:?}; the shapes world reads 8-bit RGB (Rgb8) only"
            )));
        }
        let img = image::DynamicImage::from_decoder(decoder)
            .map_err(|e| bad(format!("PNG does not decode: {e}")))?;
        Self::from_raw(w as usize, h as usize, img.into_rgb8().into_raw())
    }
}
