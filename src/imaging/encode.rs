//! Encoding rendered images to PNG, JPEG or lossless WebP bytes.
//!
//! JPEG goes through `jpeg-encoder` (SIMD colour conversion and DCT), which is several times
//! faster than `image`'s encoder on large outputs; JPEG has no alpha, so transparent pixels are
//! flattened onto white first. Opaque images are written to PNG as RGB (a quarter smaller and
//! faster to compress).

use image::{ImageEncoder, RgbaImage};
use serde::{Deserialize, Serialize};

use super::ops::is_opaque;

/// Output file format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "format")]
pub enum OutputFormat {
    /// Lossless PNG (fast compression).
    Png,
    /// Baseline JPEG.
    Jpeg {
        /// 1–100.
        quality: u8,
    },
    /// Lossless WebP.
    WebpLossless,
}

impl OutputFormat {
    /// The file extension (without the dot).
    pub fn extension(self) -> &'static str {
        match self {
            Self::Png => "png",
            Self::Jpeg { .. } => "jpg",
            Self::WebpLossless => "webp",
        }
    }
}

/// Why encoding failed.
#[derive(Debug, thiserror::Error)]
pub enum EncodeError {
    /// The image is too large for the format (JPEG is limited to 65535 px a side).
    #[error(
        "{format:?} cannot hold a {width_px}×{height_px} px image; choose PNG or a smaller size"
    )]
    TooLarge {
        /// The format.
        format: OutputFormat,
        /// Width.
        width_px: u32,
        /// Height.
        height_px: u32,
    },
    /// The codec failed.
    #[error("encoding {format:?} failed: {detail}")]
    Codec {
        /// The format.
        format: OutputFormat,
        /// The codec's message.
        detail: String,
    },
}

/// Encodes `img` as `format`.
pub fn encode(img: &RgbaImage, format: OutputFormat) -> Result<Vec<u8>, EncodeError> {
    let (w, h) = img.dimensions();
    let codec = |e: &dyn std::fmt::Display| EncodeError::Codec {
        format,
        detail: e.to_string(),
    };
    let mut out = Vec::with_capacity((w as usize * h as usize) / 2);
    match format {
        OutputFormat::Jpeg { quality } => {
            let (Ok(w16), Ok(h16)) = (u16::try_from(w), u16::try_from(h)) else {
                return Err(EncodeError::TooLarge {
                    format,
                    width_px: w,
                    height_px: h,
                });
            };
            let flat;
            let src = if is_opaque(img) {
                img
            } else {
                flat = flatten_on_white(img);
                &flat
            };
            let enc = jpeg_encoder::Encoder::new(&mut out, quality.clamp(1, 100));
            enc.encode(src.as_raw(), w16, h16, jpeg_encoder::ColorType::Rgba)
                .map_err(|e| codec(&e))?;
        }
        OutputFormat::Png => {
            let enc = image::codecs::png::PngEncoder::new_with_quality(
                &mut out,
                image::codecs::png::CompressionType::Fast,
                image::codecs::png::FilterType::Adaptive,
            );
            if is_opaque(img) {
                let rgb: Vec<u8> = img
                    .as_raw()
                    .chunks_exact(4)
                    .flat_map(|p| [p[0], p[1], p[2]])
                    .collect();
                enc.write_image(&rgb, w, h, image::ExtendedColorType::Rgb8)
                    .map_err(|e| codec(&e))?;
            } else {
                enc.write_image(img.as_raw(), w, h, image::ExtendedColorType::Rgba8)
                    .map_err(|e| codec(&e))?;
            }
        }
        OutputFormat::WebpLossless => {
            image::codecs::webp::WebPEncoder::new_lossless(&mut out)
                .write_image(img.as_raw(), w, h, image::ExtendedColorType::Rgba8)
                .map_err(|e| codec(&e))?;
        }
    }
    Ok(out)
}

fn flatten_on_white(img: &RgbaImage) -> RgbaImage {
    let mut out = img.clone();
    for p in out.pixels_mut() {
        let a = u32::from(p[3]);
        for c in 0..3 {
            p[c] = ((u32::from(p[c]) * a + 255 * (255 - a) + 127) / 255) as u8;
        }
        p[3] = 255;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::imaging::decode::decode;
    use image::Rgba;

    fn sample() -> RgbaImage {
        RgbaImage::from_fn(64, 48, |x, y| {
            Rgba([(x * 4) as u8, (y * 5) as u8, 100, 255])
        })
    }

    #[test]
    fn lossless_formats_round_trip() {
        let img = sample();
        for f in [OutputFormat::Png, OutputFormat::WebpLossless] {
            assert_eq!(decode(&encode(&img, f).unwrap()).unwrap(), img, "{f:?}");
        }
        let mut t = img.clone();
        t.put_pixel(3, 3, Rgba([1, 2, 3, 0]));
        assert_eq!(decode(&encode(&t, OutputFormat::Png).unwrap()).unwrap(), t);
    }

    #[test]
    fn jpeg_is_close_and_flattens_alpha() {
        let img = sample();
        let back = decode(&encode(&img, OutputFormat::Jpeg { quality: 92 }).unwrap()).unwrap();
        let err: f64 = img
            .as_raw()
            .iter()
            .zip(back.as_raw())
            .map(|(&a, &b)| (f64::from(a) - f64::from(b)).abs())
            .sum::<f64>()
            / img.as_raw().len() as f64;
        assert!(err < 3.0, "mean abs error {err}");
        let clear = RgbaImage::from_pixel(16, 16, Rgba([0, 0, 0, 0]));
        let flat = decode(&encode(&clear, OutputFormat::Jpeg { quality: 90 }).unwrap()).unwrap();
        assert!(flat.get_pixel(8, 8)[0] > 250);
    }
}
