//! Individual enhancement operations on RGBA8 sRGB images; [`crate::imaging::render`] chains them.
//!
//! Each operation is a plain function over pixels with a serde parameter struct, so recipes can
//! store them and tests can call them alone.

pub mod background;
pub mod blur;
pub mod denoise;
pub mod frame;
pub mod levels;
pub mod resize;
pub mod segment;
pub mod sharpen;
pub mod white_balance;

/// Why an operation could not run.
#[derive(Debug, thiserror::Error)]
pub enum OpError {
    /// A requested output size is zero or too large to allocate sensibly.
    #[error(
        "{operation}: output of {width_px}×{height_px} px is outside the allowed range (1 px to {max_megapixels} MP); choose a smaller scale or target size"
    )]
    BadOutputSize {
        /// The operation that was asked for this size.
        operation: &'static str,
        /// Requested width.
        width_px: u32,
        /// Requested height.
        height_px: u32,
        /// The ceiling in megapixels.
        max_megapixels: u64,
    },
    /// The input image has no pixels.
    #[error("{operation}: the input image is empty (0 px); decode a real image first")]
    EmptyInput {
        /// The operation that received it.
        operation: &'static str,
    },
    /// The resizer rejected the buffers (should not happen with well-formed images).
    #[error("resize from {from_px:?} to {to_px:?} failed: {detail}")]
    Resize {
        /// Source size.
        from_px: (u32, u32),
        /// Target size.
        to_px: (u32, u32),
        /// The resizer's message.
        detail: String,
    },
}

/// Largest output any operation will allocate (pixels); 400 MP of RGBA8 is 1.6 GB.
pub const MAX_OUTPUT_PIXELS: u64 = 400_000_000;

/// Checks a requested output size against [`MAX_OUTPUT_PIXELS`].
pub fn check_output_size(
    operation: &'static str,
    width_px: u32,
    height_px: u32,
) -> Result<(), OpError> {
    if width_px == 0
        || height_px == 0
        || u64::from(width_px) * u64::from(height_px) > MAX_OUTPUT_PIXELS
    {
        return Err(OpError::BadOutputSize {
            operation,
            width_px,
            height_px,
            max_megapixels: MAX_OUTPUT_PIXELS / 1_000_000,
        });
    }
    Ok(())
}

/// Rec. 709 luma of gamma-encoded sRGB values, in 0..=255 (weights sum to 256).
#[inline]
pub fn luma_u8(r: u8, g: u8, b: u8) -> u8 {
    ((54 * u32::from(r) + 183 * u32::from(g) + 19 * u32::from(b) + 128) >> 8) as u8
}

/// Rec. 709 luma as f32 in 0..=255.
#[inline]
pub fn luma_f32(r: f32, g: f32, b: f32) -> f32 {
    0.2126 * r + 0.7152 * g + 0.0722 * b
}

/// True when every pixel's alpha is 255.
pub fn is_opaque(img: &image::RgbaImage) -> bool {
    img.as_raw().chunks_exact(4).all(|p| p[3] == 255)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn luma_of_grey_is_grey() {
        for v in [0u8, 1, 77, 128, 254, 255] {
            assert_eq!(luma_u8(v, v, v), v);
        }
    }

    #[test]
    fn output_size_limits() {
        assert!(check_output_size("t", 0, 5).is_err());
        assert!(check_output_size("t", 30_000, 30_000).is_err());
        assert!(check_output_size("t", 2_000, 2_000).is_ok());
    }
}
