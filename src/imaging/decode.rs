//! Decoding JPEG, PNG and WebP bytes into RGBA8 sRGB images, safely, plus thumbnails.
//!
//! Every path into the enhancement pipeline goes through [`decode`], so the guarantees live
//! here: EXIF orientation is applied, embedded ICC profiles are converted to sRGB with
//! `moxcms`, and the declared image size is checked against [`DecodeLimits`] *before* any pixel
//! buffer is allocated, so a decompression bomb fails fast with a clear message.

use std::io::Cursor;
use std::path::{Path, PathBuf};

use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, RgbaImage};

use crate::imaging::ops::resize::{ResizeFilter, resize_rgba};

/// Size limits enforced before decoding; the defaults reject anything over 100 megapixels or
/// over 30000 px on a side.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecodeLimits {
    /// Largest accepted width.
    pub max_width_px: u32,
    /// Largest accepted height.
    pub max_height_px: u32,
    /// Largest accepted width × height.
    pub max_pixels: u64,
    /// Largest accepted encoded input.
    pub max_input_bytes: u64,
}

impl Default for DecodeLimits {
    fn default() -> Self {
        Self {
            max_width_px: 30_000,
            max_height_px: 30_000,
            max_pixels: 100_000_000,
            max_input_bytes: 512 * 1024 * 1024,
        }
    }
}

/// What happened to an embedded colour profile during decoding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IccOutcome {
    /// No profile was embedded; the pixels are taken as sRGB.
    NoProfile,
    /// The embedded RGB profile was converted to sRGB.
    ConvertedToSrgb,
    /// A profile was embedded but could not be used; the pixels are taken as sRGB.
    Ignored {
        /// Why the profile was not applied.
        reason: String,
    },
}

/// A decoded image and what the decoder did to get it.
#[derive(Clone, Debug)]
pub struct DecodedImage {
    /// The pixels, RGBA8, sRGB, upright.
    pub image: RgbaImage,
    /// The container format the bytes were in.
    pub format: ImageFormat,
    /// Colour-profile handling.
    pub icc: IccOutcome,
    /// Whether a non-identity EXIF orientation was applied.
    pub orientation_applied: bool,
}

/// Why decoding failed. Each message names the input's problem and what the user can do.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// The input has no bytes at all.
    #[error("the image data is empty (0 bytes); choose a non-empty JPEG, PNG or WebP file")]
    Empty,
    /// The bytes are not a format Sightline reads.
    #[error(
        "unsupported image format ({detail}); Sightline reads JPEG, PNG and WebP: convert the file to one of these"
    )]
    Unsupported {
        /// What was found instead.
        detail: String,
    },
    /// The encoded input is larger than allowed.
    #[error(
        "the file is {size_bytes} bytes, over the {max_bytes}-byte limit; re-export it at a smaller size"
    )]
    InputTooLarge {
        /// Size of the input.
        size_bytes: u64,
        /// The limit in force.
        max_bytes: u64,
    },
    /// The declared dimensions exceed the limits (a likely decompression bomb).
    #[error(
        "the image declares {width_px}×{height_px} px, over the limit of {max_width_px}×{max_height_px} px and {max_megapixels} MP; it was rejected before decoding (possible decompression bomb): downscale it before importing"
    )]
    TooLarge {
        /// Declared width.
        width_px: u32,
        /// Declared height.
        height_px: u32,
        /// Width limit.
        max_width_px: u32,
        /// Height limit.
        max_height_px: u32,
        /// Pixel-count limit in megapixels.
        max_megapixels: u64,
    },
    /// The declared dimensions are zero.
    #[error(
        "the {format:?} image declares a zero size ({width_px}×{height_px} px); the file is damaged: re-export it"
    )]
    ZeroSize {
        /// The container format.
        format: ImageFormat,
        /// Declared width.
        width_px: u32,
        /// Declared height.
        height_px: u32,
    },
    /// The codec failed: corrupt or truncated data.
    #[error(
        "could not decode the {format:?} data ({source}); the file is corrupt or truncated: re-export or re-download it"
    )]
    Corrupt {
        /// The container format.
        format: ImageFormat,
        /// The codec's own message.
        #[source]
        source: image::ImageError,
    },
    /// The file could not be read.
    #[error("could not read image file {path}: {source}; check that it exists and is readable")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

/// Decodes JPEG, PNG or WebP bytes into an upright RGBA8 sRGB image with default limits.
pub fn decode(bytes: &[u8]) -> Result<RgbaImage, DecodeError> {
    decode_with_limits(bytes, &DecodeLimits::default()).map(|d| d.image)
}

/// Reads and decodes an image file with default limits.
pub fn decode_file(path: &Path) -> Result<RgbaImage, DecodeError> {
    let limits = DecodeLimits::default();
    let size_bytes = std::fs::metadata(path)
        .map_err(|source| DecodeError::Io {
            path: path.to_path_buf(),
            source,
        })?
        .len();
    if size_bytes > limits.max_input_bytes {
        return Err(DecodeError::InputTooLarge {
            size_bytes,
            max_bytes: limits.max_input_bytes,
        });
    }
    let bytes = std::fs::read(path).map_err(|source| DecodeError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    decode_with_limits(&bytes, &limits).map(|d| d.image)
}

/// Decodes with explicit limits and reports what was done to the pixels.
pub fn decode_with_limits(
    bytes: &[u8],
    limits: &DecodeLimits,
) -> Result<DecodedImage, DecodeError> {
    if bytes.is_empty() {
        return Err(DecodeError::Empty);
    }
    if bytes.len() as u64 > limits.max_input_bytes {
        return Err(DecodeError::InputTooLarge {
            size_bytes: bytes.len() as u64,
            max_bytes: limits.max_input_bytes,
        });
    }
    let format = match image::guess_format(bytes) {
        Ok(f @ (ImageFormat::Jpeg | ImageFormat::Png | ImageFormat::WebP)) => f,
        Ok(other) => {
            return Err(DecodeError::Unsupported {
                detail: format!("{other:?}"),
            });
        }
        Err(_) => {
            let head: Vec<String> = bytes.iter().take(8).map(|b| format!("{b:02x}")).collect();
            return Err(DecodeError::Unsupported {
                detail: format!("unrecognised leading bytes {}", head.join(" ")),
            });
        }
    };
    let corrupt = |source| DecodeError::Corrupt { format, source };

    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    // The codec's own allocation limit is a backstop; the explicit dimension check below gives
    // the clear message. 16-bit RGBA is the widest layout the codecs produce (8 bytes/pixel).
    let mut codec_limits = image::Limits::default();
    codec_limits.max_image_width = Some(limits.max_width_px);
    codec_limits.max_image_height = Some(limits.max_height_px);
    codec_limits.max_alloc = Some(limits.max_pixels.saturating_mul(8).saturating_add(1 << 24));
    reader.limits(codec_limits);
    let mut decoder = match reader.into_decoder() {
        Ok(d) => d,
        Err(image::ImageError::Limits(_)) => {
            return Err(too_large_from_header(bytes, format, limits));
        }
        Err(source) => return Err(corrupt(source)),
    };
    let (width_px, height_px) = decoder.dimensions();
    check_dimensions(format, width_px, height_px, limits)?;

    let icc_bytes = decoder.icc_profile().unwrap_or(None);
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut dynamic = DynamicImage::from_decoder(decoder).map_err(corrupt)?;
    let orientation_applied = orientation != image::metadata::Orientation::NoTransforms;
    dynamic.apply_orientation(orientation);
    let mut rgba = dynamic.into_rgba8();
    let icc = match icc_bytes {
        None => IccOutcome::NoProfile,
        Some(profile) => convert_icc_to_srgb(&mut rgba, &profile),
    };
    Ok(DecodedImage {
        image: rgba,
        format,
        icc,
        orientation_applied,
    })
}

fn check_dimensions(
    format: ImageFormat,
    width_px: u32,
    height_px: u32,
    limits: &DecodeLimits,
) -> Result<(), DecodeError> {
    if width_px == 0 || height_px == 0 {
        return Err(DecodeError::ZeroSize {
            format,
            width_px,
            height_px,
        });
    }
    if width_px > limits.max_width_px
        || height_px > limits.max_height_px
        || u64::from(width_px) * u64::from(height_px) > limits.max_pixels
    {
        return Err(too_large(width_px, height_px, limits));
    }
    Ok(())
}

fn too_large(width_px: u32, height_px: u32, limits: &DecodeLimits) -> DecodeError {
    DecodeError::TooLarge {
        width_px,
        height_px,
        max_width_px: limits.max_width_px,
        max_height_px: limits.max_height_px,
        max_megapixels: limits.max_pixels / 1_000_000,
    }
}

/// The codec refused the header on limits; re-read the dimensions without limits (header
/// parsing allocates nothing large) so the message can say how big the image claimed to be.
fn too_large_from_header(bytes: &[u8], format: ImageFormat, limits: &DecodeLimits) -> DecodeError {
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut header_limits = image::Limits::no_limits();
    header_limits.max_alloc = Some(1 << 26);
    reader.limits(header_limits);
    match reader.into_dimensions() {
        Ok((w, h)) => too_large(w, h, limits),
        // A PNG cut right after its header still names its size in IHDR (fixed offsets).
        Err(_) if format == ImageFormat::Png && bytes.len() >= 24 => {
            let be =
                |i: usize| u32::from_be_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
            too_large(be(16), be(20), limits)
        }
        Err(_) => too_large(0, 0, limits),
    }
}

/// Converts pixels tagged with an RGB ICC profile to sRGB in place.
fn convert_icc_to_srgb(img: &mut RgbaImage, profile_bytes: &[u8]) -> IccOutcome {
    let source = match moxcms::ColorProfile::new_from_slice(profile_bytes) {
        Ok(p) => p,
        Err(e) => {
            return IccOutcome::Ignored {
                reason: format!("unreadable ICC profile: {e}"),
            };
        }
    };
    if source.color_space != moxcms::DataColorSpace::Rgb {
        return IccOutcome::Ignored {
            reason: format!(
                "{:?} profiles are not converted; pixels taken as sRGB",
                source.color_space
            ),
        };
    }
    let srgb = moxcms::ColorProfile::new_srgb();
    let transform = match source.create_transform_8bit(
        moxcms::Layout::Rgba,
        &srgb,
        moxcms::Layout::Rgba,
        moxcms::TransformOptions::default(),
    ) {
        Ok(t) => t,
        Err(e) => {
            return IccOutcome::Ignored {
                reason: format!("cannot build a transform from this ICC profile: {e}"),
            };
        }
    };
    let src = img.as_raw().clone();
    match transform.transform(&src, img.as_mut()) {
        Ok(()) => IccOutcome::ConvertedToSrgb,
        Err(e) => {
            img.as_mut().copy_from_slice(&src);
            IccOutcome::Ignored {
                reason: format!("ICC transform failed: {e}"),
            }
        }
    }
}

/// A downscaled copy whose longer side is at most `max_side_px` (Lanczos3, aspect kept).
/// Images already small enough are returned as a copy; `max_side_px` of 0 is treated as 1.
pub fn thumbnail(img: &RgbaImage, max_side_px: u32) -> RgbaImage {
    let (w, h) = img.dimensions();
    let max_side_px = max_side_px.max(1);
    if w.max(h) <= max_side_px || w == 0 || h == 0 {
        return img.clone();
    }
    let scale = f64::from(max_side_px) / f64::from(w.max(h));
    let tw = ((f64::from(w) * scale).round() as u32).clamp(1, max_side_px);
    let th = ((f64::from(h) * scale).round() as u32).clamp(1, max_side_px);
    // Both sizes are non-zero and smaller than the source, so the resize cannot fail; the
    // fallback keeps the signature infallible for UI callers.
    resize_rgba(img, tw, th, ResizeFilter::Lanczos3).unwrap_or_else(|_| img.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{ImageEncoder, Rgba};

    fn encode_png(img: &RgbaImage) -> Vec<u8> {
        let mut out = Vec::new();
        image::codecs::png::PngEncoder::new(&mut out)
            .write_image(
                img.as_raw(),
                img.width(),
                img.height(),
                image::ExtendedColorType::Rgba8,
            )
            .unwrap();
        out
    }

    fn gradient(w: u32, h: u32) -> RgbaImage {
        RgbaImage::from_fn(w, h, |x, y| Rgba([(x * 7) as u8, (y * 5) as u8, 90, 255]))
    }

    #[test]
    fn png_round_trips() {
        let img = gradient(37, 21);
        let back = decode(&encode_png(&img)).unwrap();
        assert_eq!(back, img);
    }

    #[test]
    fn jpeg_and_webp_decode() {
        let img = gradient(40, 30);
        let mut jpeg = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 90)
            .write_image(img.as_raw(), 40, 30, image::ExtendedColorType::Rgba8)
            .unwrap_or_else(|_| {
                let rgb = DynamicImage::ImageRgba8(img.clone()).into_rgb8();
                image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 90)
                    .write_image(rgb.as_raw(), 40, 30, image::ExtendedColorType::Rgb8)
                    .unwrap();
            });
        assert_eq!(decode(&jpeg).unwrap().dimensions(), (40, 30));
        let mut webp = Vec::new();
        image::codecs::webp::WebPEncoder::new_lossless(&mut webp)
            .write_image(img.as_raw(), 40, 30, image::ExtendedColorType::Rgba8)
            .unwrap();
        assert_eq!(decode(&webp).unwrap(), img);
    }

    #[test]
    fn empty_input_is_an_error() {
        assert!(matches!(decode(&[]), Err(DecodeError::Empty)));
    }

    #[test]
    fn garbage_is_unsupported() {
        let err = decode(b"this is not an image at all").unwrap_err();
        assert!(matches!(err, DecodeError::Unsupported { .. }), "{err}");
        assert!(err.to_string().contains("JPEG, PNG and WebP"));
    }

    #[test]
    fn truncated_png_is_corrupt() {
        let bytes = encode_png(&gradient(64, 64));
        for cut in [20, 40, bytes.len() / 2, bytes.len() - 13] {
            let err = decode(&bytes[..cut]).unwrap_err();
            assert!(
                matches!(err, DecodeError::Corrupt { .. }),
                "cut {cut}: {err}"
            );
        }
    }

    #[test]
    fn truncated_jpeg_does_not_panic() {
        let rgb = DynamicImage::ImageRgba8(gradient(64, 64)).into_rgb8();
        let mut jpeg = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 80)
            .write_image(rgb.as_raw(), 64, 64, image::ExtendedColorType::Rgb8)
            .unwrap();
        // Either an error or a (grey-padded) image is acceptable for a cut JPEG; a panic is not.
        for cut in [3, 10, 100, jpeg.len() / 2] {
            let _ = decode(&jpeg[..cut]);
        }
        assert!(decode(&jpeg[..10]).is_err());
    }

    /// Writes a PNG header claiming `w`×`h` with no pixel data behind it.
    fn png_bomb_header(w: u32, h: u32) -> Vec<u8> {
        let mut out = vec![0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a];
        let mut ihdr = Vec::new();
        ihdr.extend_from_slice(b"IHDR");
        ihdr.extend_from_slice(&w.to_be_bytes());
        ihdr.extend_from_slice(&h.to_be_bytes());
        ihdr.extend_from_slice(&[8, 6, 0, 0, 0]);
        out.extend_from_slice(&13u32.to_be_bytes());
        out.extend_from_slice(&ihdr);
        out.extend_from_slice(&crc32(&ihdr).to_be_bytes());
        // A highly compressible IDAT, as in a real bomb: a few KB that would inflate to GBs.
        use std::io::Write;
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        z.write_all(&vec![0u8; 1 << 16]).unwrap();
        let data = z.finish().unwrap();
        let mut idat = b"IDAT".to_vec();
        idat.extend_from_slice(&data);
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        out.extend_from_slice(&idat);
        out.extend_from_slice(&crc32(&idat).to_be_bytes());
        out.extend_from_slice(&0u32.to_be_bytes());
        out.extend_from_slice(b"IEND");
        out.extend_from_slice(&crc32(b"IEND").to_be_bytes());
        out
    }

    fn crc32(data: &[u8]) -> u32 {
        let mut crc = 0xffff_ffffu32;
        for &b in data {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 != 0 {
                    (crc >> 1) ^ 0xedb8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }

    #[test]
    fn decompression_bomb_is_rejected_before_allocating() {
        for (w, h) in [(40_000, 10), (20_000, 20_000), (10, 40_000)] {
            let err = decode(&png_bomb_header(w, h)).unwrap_err();
            match err {
                DecodeError::TooLarge {
                    width_px,
                    height_px,
                    ..
                } => {
                    assert_eq!((width_px, height_px), (w, h));
                }
                other => panic!("{w}x{h}: expected TooLarge, got {other}"),
            }
        }
    }

    #[test]
    fn custom_limits_apply() {
        let bytes = encode_png(&gradient(100, 100));
        let limits = DecodeLimits {
            max_pixels: 5_000,
            ..DecodeLimits::default()
        };
        assert!(matches!(
            decode_with_limits(&bytes, &limits),
            Err(DecodeError::TooLarge { .. })
        ));
    }

    #[test]
    fn zero_size_png_is_rejected() {
        let err = decode(&png_bomb_header(0, 10)).unwrap_err();
        assert!(
            matches!(
                err,
                DecodeError::ZeroSize { .. } | DecodeError::Corrupt { .. }
            ),
            "{err}"
        );
    }

    /// Minimal EXIF (TIFF, little endian) with one Orientation entry.
    fn exif_orientation(value: u16) -> Vec<u8> {
        let mut t = Vec::new();
        t.extend_from_slice(b"II");
        t.extend_from_slice(&42u16.to_le_bytes());
        t.extend_from_slice(&8u32.to_le_bytes());
        t.extend_from_slice(&1u16.to_le_bytes());
        t.extend_from_slice(&0x0112u16.to_le_bytes());
        t.extend_from_slice(&3u16.to_le_bytes());
        t.extend_from_slice(&1u32.to_le_bytes());
        t.extend_from_slice(&value.to_le_bytes());
        t.extend_from_slice(&[0, 0]);
        t.extend_from_slice(&0u32.to_le_bytes());
        t
    }

    #[test]
    fn exif_orientation_is_applied() {
        // 4x2 image, red pixel at top-left; orientation 6 = rotate 90° clockwise to display.
        let mut img = RgbaImage::from_pixel(4, 2, Rgba([0, 0, 255, 255]));
        img.put_pixel(0, 0, Rgba([255, 0, 0, 255]));
        let mut out = Vec::new();
        let mut enc = image::codecs::png::PngEncoder::new(&mut out);
        enc.set_exif_metadata(exif_orientation(6)).unwrap();
        enc.write_image(img.as_raw(), 4, 2, image::ExtendedColorType::Rgba8)
            .unwrap();
        let d = decode_with_limits(&out, &DecodeLimits::default()).unwrap();
        assert!(d.orientation_applied);
        assert_eq!(d.image.dimensions(), (2, 4));
        // After a clockwise turn the old top-left lands top-right.
        assert_eq!(d.image.get_pixel(1, 0), &Rgba([255, 0, 0, 255]));
    }

    #[test]
    fn icc_profile_is_converted_to_srgb() {
        let p3 = moxcms::ColorProfile::new_display_p3().encode().unwrap();
        let img = RgbaImage::from_pixel(8, 8, Rgba([40, 200, 60, 255]));
        let mut out = Vec::new();
        let mut enc = image::codecs::png::PngEncoder::new(&mut out);
        enc.set_icc_profile(p3).unwrap();
        enc.write_image(img.as_raw(), 8, 8, image::ExtendedColorType::Rgba8)
            .unwrap();
        let d = decode_with_limits(&out, &DecodeLimits::default()).unwrap();
        assert_eq!(d.icc, IccOutcome::ConvertedToSrgb);
        let px = d.image.get_pixel(3, 3);
        // Display-P3 green is more saturated than sRGB can show: the red channel goes to ~0
        // and green rises. Untouched pixels would still read (40, 200, 60).
        assert!(px[0] < 25, "{px:?}");
        assert!(px[1] > 200, "{px:?}");
        assert_eq!(px[3], 255);
    }

    #[test]
    fn garbage_icc_is_ignored_not_fatal() {
        let img = gradient(8, 8);
        let mut out = Vec::new();
        let mut enc = image::codecs::png::PngEncoder::new(&mut out);
        enc.set_icc_profile(vec![1, 2, 3, 4, 5, 6, 7, 8]).unwrap();
        enc.write_image(img.as_raw(), 8, 8, image::ExtendedColorType::Rgba8)
            .unwrap();
        let d = decode_with_limits(&out, &DecodeLimits::default()).unwrap();
        assert!(matches!(d.icc, IccOutcome::Ignored { .. }));
        assert_eq!(d.image, img);
    }

    #[test]
    fn thumbnail_fits_and_keeps_aspect() {
        let img = gradient(400, 200);
        let t = thumbnail(&img, 100);
        assert_eq!(t.dimensions(), (100, 50));
        assert_eq!(thumbnail(&img, 1000).dimensions(), (400, 200));
    }
}
