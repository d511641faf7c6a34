//! Locating benchmark images (`{index}_{j}.png`) and turning them into data URIs for the judge.

use std::io::{Cursor, Read};
use std::path::{Path, PathBuf};

use base64::Engine as _;

use crate::{Error, Result};

const PNG_MAGIC: [u8; 8] = [0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1a, b'\n'];

/// How an image is sent to the judge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageEncoding {
    /// Re-encoded as JPEG with this quality (the official vLLM path uses 95).
    Jpeg(u8),
    /// The PNG file as it is (the official Gemini path sends the original file).
    Png,
}

impl Default for ImageEncoding {
    fn default() -> Self {
        Self::Jpeg(95)
    }
}

/// The path of image `j` of prompt `index` under `dir`: `dir/{index}_{j}.png`.
pub fn image_path(dir: &Path, index: usize, j: usize) -> PathBuf {
    dir.join(format!("{index}_{j}.png"))
}

/// Checks that `path` exists and starts with the PNG signature (cheap: reads 8 bytes).
pub fn check_png_header(path: &Path) -> Result<()> {
    let mut file = std::fs::File::open(path).map_err(|e| Error::Image {
        path: path.to_path_buf(),
        message: format!("cannot open the image: {e}"),
    })?;
    let mut head = [0u8; 8];
    let n = read_up_to(&mut file, &mut head).map_err(|e| Error::io(path, e))?;
    if n < 8 || head != PNG_MAGIC {
        return Err(not_png(path, &head[..n]));
    }
    Ok(())
}

fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

fn not_png(path: &Path, head: &[u8]) -> Error {
    let what = match head {
        [0xff, 0xd8, ..] => "it is a JPEG".to_string(),
        [b'R', b'I', b'F', b'F', ..] => "it looks like WebP/RIFF".to_string(),
        [] => "the file is empty".to_string(),
        _ => format!("it starts with {head:02x?}"),
    };
    Error::Image {
        path: path.to_path_buf(),
        message: format!("not a PNG ({what}); UniGenBench images must be `{{index}}_{{j}}.png`"),
    }
}

/// Reads a PNG and returns a `data:` URI in `encoding`.
pub fn image_data_uri(path: &Path, encoding: ImageEncoding) -> Result<String> {
    let bytes = std::fs::read(path).map_err(|e| Error::Image {
        path: path.to_path_buf(),
        message: format!("cannot read the image: {e}"),
    })?;
    png_bytes_data_uri(path, &bytes, encoding)
}

/// As [`image_data_uri`], from bytes already read; `path` is for messages.
pub fn png_bytes_data_uri(path: &Path, bytes: &[u8], encoding: ImageEncoding) -> Result<String> {
    if !bytes.starts_with(&PNG_MAGIC) {
        return Err(not_png(path, &bytes[..bytes.len().min(8)]));
    }
    let b64 = base64::engine::general_purpose::STANDARD;
    match encoding {
        ImageEncoding::Png => {
            // Decode anyway so a corrupt file fails here, naming the file.
            decode(path, bytes)?;
            Ok(format!("data:image/png;base64,{}", b64.encode(bytes)))
        }
        ImageEncoding::Jpeg(quality) => {
            let rgb = decode(path, bytes)?.to_rgb8();
            let mut out = Vec::with_capacity(bytes.len() / 2);
            let encoder =
                image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality.clamp(1, 100));
            rgb.write_with_encoder(encoder).map_err(|e| Error::Image {
                path: path.to_path_buf(),
                message: format!("JPEG encoding failed: {e}"),
            })?;
            Ok(format!("data:image/jpeg;base64,{}", b64.encode(&out)))
        }
    }
}

fn decode(path: &Path, bytes: &[u8]) -> Result<image::DynamicImage> {
    image::ImageReader::with_format(Cursor::new(bytes), image::ImageFormat::Png)
        .decode()
        .map_err(|e| Error::Image {
            path: path.to_path_buf(),
            message: format!("PNG does not decode: {e}"),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(w: u32, h: u32) -> Vec<u8> {
        let img = image::RgbImage::from_fn(w, h, |x, y| image::Rgb([x as u8, y as u8, 128]));
        let mut out = Vec::new();
        img.write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png)
            .unwrap();
        out
    }

    #[test]
    fn jpeg_data_uri_round_trips() {
        let uri =
            png_bytes_data_uri(Path::new("a.png"), &png(16, 8), ImageEncoding::Jpeg(95)).unwrap();
        let b64 = uri.strip_prefix("data:image/jpeg;base64,").unwrap();
        let jpeg = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap();
        let img = image::load_from_memory_with_format(&jpeg, image::ImageFormat::Jpeg).unwrap();
        assert_eq!((img.width(), img.height()), (16, 8));
    }

    #[test]
    fn png_passthrough_is_byte_identical() {
        let bytes = png(4, 4);
        let uri = png_bytes_data_uri(Path::new("a.png"), &bytes, ImageEncoding::Png).unwrap();
        let b64 = uri.strip_prefix("data:image/png;base64,").unwrap();
        assert_eq!(
            base64::engine::general_purpose::STANDARD
                .decode(b64)
                .unwrap(),
            bytes
        );
    }

    #[test]
    fn non_png_is_named() {
        let err = png_bytes_data_uri(
            Path::new("dir/3_1.png"),
            &[0xff, 0xd8, 0xff, 0xe0],
            ImageEncoding::Png,
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.starts_with("dir/3_1.png: not a PNG (it is a JPEG)"),
            "{err}"
        );
        let mut truncated = png(4, 4);
        truncated.truncate(20);
        let err = png_bytes_data_uri(Path::new("x.png"), &truncated, ImageEncoding::Jpeg(95))
            .unwrap_err()
            .to_string();
        assert!(err.contains("x.png: PNG does not decode"), "{err}");
    }
}
