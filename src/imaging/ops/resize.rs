//! Resampling with `fast_image_resize` (SIMD): upscale by a factor or to a target size, and
//! downscale for previews, thumbnails and masks.

use fast_image_resize::images::{Image, ImageRef};
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
use image::{GrayImage, RgbaImage};
use serde::{Deserialize, Serialize};

use super::{OpError, check_output_size, is_opaque};

/// Resampling kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ResizeFilter {
    /// Lanczos windowed sinc, 3 lobes: the sharpest of these, slight ringing.
    #[default]
    Lanczos3,
    /// Catmull-Rom cubic: a little softer, less ringing.
    CatmullRom,
    /// Bilinear: fast, soft; used for masks.
    Bilinear,
    /// Area average: for large reductions.
    Box,
}

impl ResizeFilter {
    fn alg(self) -> ResizeAlg {
        ResizeAlg::Convolution(match self {
            Self::Lanczos3 => FilterType::Lanczos3,
            Self::CatmullRom => FilterType::CatmullRom,
            Self::Bilinear => FilterType::Bilinear,
            Self::Box => FilterType::Box,
        })
    }
}

/// How an upscale step picks its output size.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "mode")]
pub enum UpscaleSize {
    /// Multiply both sides by `factor` (2 and 4 are the usual choices).
    Factor {
        /// Scale factor, > 0.
        factor: f32,
    },
    /// Scale (keeping aspect) so the image fits inside the box; never shrinks.
    Fit {
        /// Box width.
        width_px: u32,
        /// Box height.
        height_px: u32,
    },
}

/// Parameters of the upscale operation.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Upscale {
    /// Output size rule.
    pub size: UpscaleSize,
    /// Kernel.
    pub filter: ResizeFilter,
}

impl Default for Upscale {
    fn default() -> Self {
        Self {
            size: UpscaleSize::Factor { factor: 2.0 },
            filter: ResizeFilter::Lanczos3,
        }
    }
}

impl Upscale {
    /// The output size for an input of `width_px`×`height_px`.
    pub fn output_size(&self, width_px: u32, height_px: u32) -> (u32, u32) {
        let scale = self.scale_for(width_px, height_px);
        (
            ((f64::from(width_px) * scale).round() as u32).max(1),
            ((f64::from(height_px) * scale).round() as u32).max(1),
        )
    }

    /// The linear scale factor this step applies to an input of the given size.
    pub fn scale_for(&self, width_px: u32, height_px: u32) -> f64 {
        match self.size {
            UpscaleSize::Factor { factor } => f64::from(factor.max(0.0)),
            UpscaleSize::Fit {
                width_px: bw,
                height_px: bh,
            } => {
                let s = (f64::from(bw) / f64::from(width_px.max(1)))
                    .min(f64::from(bh) / f64::from(height_px.max(1)));
                s.max(1.0)
            }
        }
    }
}

/// Resizes an RGBA8 image. Alpha is premultiplied during filtering only when the image has
/// transparency (opaque images skip that pass).
pub fn resize_rgba(
    img: &RgbaImage,
    width_px: u32,
    height_px: u32,
    filter: ResizeFilter,
) -> Result<RgbaImage, OpError> {
    check_output_size("resize", width_px, height_px)?;
    if img.width() == 0 || img.height() == 0 {
        return Err(OpError::EmptyInput {
            operation: "resize",
        });
    }
    if img.dimensions() == (width_px, height_px) {
        return Ok(img.clone());
    }
    let use_alpha = !is_opaque(img);
    let out = resize_raw(
        img.as_raw(),
        img.dimensions(),
        (width_px, height_px),
        PixelType::U8x4,
        filter,
        use_alpha,
    )?;
    RgbaImage::from_raw(width_px, height_px, out).ok_or(OpError::Resize {
        from_px: img.dimensions(),
        to_px: (width_px, height_px),
        detail: "output buffer size mismatch".into(),
    })
}

/// Resizes a single-channel image (masks, alpha).
pub fn resize_gray(
    img: &GrayImage,
    width_px: u32,
    height_px: u32,
    filter: ResizeFilter,
) -> Result<GrayImage, OpError> {
    check_output_size("resize mask", width_px, height_px)?;
    if img.dimensions() == (width_px, height_px) {
        return Ok(img.clone());
    }
    let out = resize_raw(
        img.as_raw(),
        img.dimensions(),
        (width_px, height_px),
        PixelType::U8,
        filter,
        false,
    )?;
    GrayImage::from_raw(width_px, height_px, out).ok_or(OpError::Resize {
        from_px: img.dimensions(),
        to_px: (width_px, height_px),
        detail: "output buffer size mismatch".into(),
    })
}

/// A source rectangle in pixels (fractional): left, top, width, height.
pub type CropRect = (f64, f64, f64, f64);

/// Resizes the `crop` rectangle of `img` (which must lie inside it) to `width_px`×`height_px`.
pub fn resize_rgba_crop(
    img: &RgbaImage,
    crop: CropRect,
    width_px: u32,
    height_px: u32,
    filter: ResizeFilter,
) -> Result<RgbaImage, OpError> {
    check_output_size("crop and resize", width_px, height_px)?;
    let out = resize_raw_crop(
        img.as_raw(),
        img.dimensions(),
        (width_px, height_px),
        PixelType::U8x4,
        filter,
        !is_opaque(img),
        Some(crop),
    )?;
    RgbaImage::from_raw(width_px, height_px, out).ok_or(OpError::Resize {
        from_px: img.dimensions(),
        to_px: (width_px, height_px),
        detail: "output buffer size mismatch".into(),
    })
}

/// Single-channel version of [`resize_rgba_crop`].
pub fn resize_gray_crop(
    img: &GrayImage,
    crop: CropRect,
    width_px: u32,
    height_px: u32,
    filter: ResizeFilter,
) -> Result<GrayImage, OpError> {
    check_output_size("crop and resize mask", width_px, height_px)?;
    let out = resize_raw_crop(
        img.as_raw(),
        img.dimensions(),
        (width_px, height_px),
        PixelType::U8,
        filter,
        false,
        Some(crop),
    )?;
    GrayImage::from_raw(width_px, height_px, out).ok_or(OpError::Resize {
        from_px: img.dimensions(),
        to_px: (width_px, height_px),
        detail: "output buffer size mismatch".into(),
    })
}

fn resize_raw(
    src: &[u8],
    from_px: (u32, u32),
    to_px: (u32, u32),
    pixel_type: PixelType,
    filter: ResizeFilter,
    use_alpha: bool,
) -> Result<Vec<u8>, OpError> {
    resize_raw_crop(src, from_px, to_px, pixel_type, filter, use_alpha, None)
}

fn resize_raw_crop(
    src: &[u8],
    from_px: (u32, u32),
    to_px: (u32, u32),
    pixel_type: PixelType,
    filter: ResizeFilter,
    use_alpha: bool,
    crop: Option<CropRect>,
) -> Result<Vec<u8>, OpError> {
    let err = |detail: String| OpError::Resize {
        from_px,
        to_px,
        detail,
    };
    if from_px.0 == 0 || from_px.1 == 0 {
        return Err(OpError::EmptyInput {
            operation: "resize",
        });
    }
    let src_view =
        ImageRef::new(from_px.0, from_px.1, src, pixel_type).map_err(|e| err(e.to_string()))?;
    let mut dst = Image::new(to_px.0, to_px.1, pixel_type);
    let mut options = ResizeOptions::new()
        .resize_alg(filter.alg())
        .use_alpha(use_alpha);
    if let Some((left, top, width, height)) = crop {
        options = options.crop(left, top, width, height);
    }
    Resizer::new()
        .resize(&src_view, &mut dst, &options)
        .map_err(|e| err(e.to_string()))?;
    Ok(dst.into_vec())
}

/// Applies an [`Upscale`] step.
pub fn upscale(img: &RgbaImage, params: &Upscale) -> Result<RgbaImage, OpError> {
    let (w, h) = params.output_size(img.width(), img.height());
    resize_rgba(img, w, h, params.filter)
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgba;

    #[test]
    fn upscale_factors_give_expected_dimensions() {
        let img = RgbaImage::from_pixel(30, 20, Rgba([10, 20, 30, 255]));
        for (factor, dims) in [(2.0, (60, 40)), (4.0, (120, 80)), (1.5, (45, 30))] {
            let p = Upscale {
                size: UpscaleSize::Factor { factor },
                ..Upscale::default()
            };
            let out = upscale(&img, &p).unwrap();
            assert_eq!(out.dimensions(), dims);
            assert_eq!(out.get_pixel(7, 7), &Rgba([10, 20, 30, 255]));
        }
    }

    #[test]
    fn fit_keeps_aspect_and_never_shrinks() {
        let p = Upscale {
            size: UpscaleSize::Fit {
                width_px: 2000,
                height_px: 2000,
            },
            ..Upscale::default()
        };
        assert_eq!(p.output_size(500, 250), (2000, 1000));
        assert_eq!(p.output_size(3000, 100), (3000, 100));
    }

    #[test]
    fn zero_and_huge_sizes_are_errors() {
        let img = RgbaImage::from_pixel(4, 4, Rgba([0, 0, 0, 255]));
        assert!(resize_rgba(&img, 0, 4, ResizeFilter::Lanczos3).is_err());
        assert!(resize_rgba(&img, 100_000, 100_000, ResizeFilter::Lanczos3).is_err());
    }

    #[test]
    fn transparent_edges_do_not_darken() {
        // White opaque square on transparent black: premultiplied filtering keeps the colour
        // of partly transparent output pixels white instead of grey.
        let img = RgbaImage::from_fn(8, 8, |x, _| {
            if x < 4 {
                Rgba([255, 255, 255, 255])
            } else {
                Rgba([0, 0, 0, 0])
            }
        });
        let out = resize_rgba(&img, 16, 16, ResizeFilter::Lanczos3).unwrap();
        for p in out.pixels().filter(|p| p[3] > 40) {
            assert!(p[0] > 230, "{p:?}");
        }
    }
}
