//! Unsharp mask on luminance, with a threshold so flat-area noise is not amplified.
//!
//! Only luma is sharpened and the same delta is added to R, G and B: sharpening channels
//! separately creates coloured fringes at edges. The blur is a separable fixed-point Gaussian,
//! and the amount/threshold curve is a lookup table, so the whole pass is integer arithmetic.

use image::{GrayImage, RgbaImage};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::blur::gaussian_blur_u8_to_u16;
use super::luma_u8;

/// Parameters of the unsharp mask.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Sharpen {
    /// Gain on the detail layer (0.5 = +50 % local contrast).
    pub amount: f32,
    /// Gaussian sigma of the blur, in output pixels.
    pub radius_px: f32,
    /// Luma differences (0–255 levels) below this are left alone; between 1× and 2× the
    /// threshold the effect ramps in, avoiding a visible step.
    pub threshold_levels: f32,
}

impl Default for Sharpen {
    fn default() -> Self {
        Self {
            amount: 0.6,
            radius_px: 1.0,
            threshold_levels: 3.0,
        }
    }
}

/// Fixed-point detail values are 8.8; the table is indexed by detail >> 4 (1/16 level steps).
const LUT_SHIFT: i32 = 4;
const LUT_HALF: i32 = (255 << 8) >> LUT_SHIFT;

fn delta_lut(p: &Sharpen) -> Vec<i16> {
    let thr = p.threshold_levels.max(0.0);
    (-LUT_HALF..=LUT_HALF)
        .map(|i| {
            let detail = (i << LUT_SHIFT) as f32 / 256.0;
            let mag = detail.abs();
            let ramp = if thr <= 0.0 {
                1.0
            } else {
                ((mag - thr) / thr).clamp(0.0, 1.0)
            };
            (p.amount * detail * ramp).round().clamp(-255.0, 255.0) as i16
        })
        .collect()
}

/// Sharpens `img` in place. With `weight`, the effect at each pixel is scaled by weight/255
/// (the product matte), so a replaced background stays exactly flat.
pub fn unsharp_mask(img: &mut RgbaImage, p: &Sharpen, weight: Option<&GrayImage>) {
    let (w, h) = (img.width() as usize, img.height() as usize);
    if w == 0 || h == 0 || p.amount == 0.0 {
        return;
    }
    if let Some(m) = weight
        && (m.width() as usize, m.height() as usize) != (w, h)
    {
        // A mismatched matte would shift the effect; sharpen everything rather than guess.
        return unsharp_mask(img, p, None);
    }
    let luma: Vec<u8> = img
        .as_raw()
        .par_chunks(4 * w)
        .flat_map_iter(|row| row.chunks_exact(4).map(|q| luma_u8(q[0], q[1], q[2])))
        .collect();
    let blurred = gaussian_blur_u8_to_u16(&luma, w, h, p.radius_px.max(0.3));
    let lut = delta_lut(p);
    let weights = weight.map(|m| m.as_raw().as_slice());
    img.as_mut()
        .par_chunks_mut(4 * w)
        .enumerate()
        .for_each(|(y, row)| {
            let lrow = &luma[y * w..(y + 1) * w];
            let brow = &blurred[y * w..(y + 1) * w];
            let wrow = weights.map(|m| &m[y * w..(y + 1) * w]);
            for x in 0..w {
                let detail = (i32::from(lrow[x]) << 8) - i32::from(brow[x]);
                let mut d = i32::from(lut[((detail >> LUT_SHIFT) + LUT_HALF) as usize]);
                if let Some(m) = wrow {
                    d = (d * i32::from(m[x]) + 127) / 255;
                }
                if d == 0 {
                    continue;
                }
                let px = &mut row[4 * x..4 * x + 3];
                for c in px {
                    *c = (i32::from(*c) + d).clamp(0, 255) as u8;
                }
            }
        });
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgba;

    fn step_edge() -> RgbaImage {
        RgbaImage::from_fn(40, 10, |x, _| {
            if x < 20 {
                Rgba([80, 80, 80, 255])
            } else {
                Rgba([170, 170, 170, 255])
            }
        })
    }

    #[test]
    fn raises_edge_contrast() {
        let mut img = step_edge();
        unsharp_mask(&mut img, &Sharpen::default(), None);
        // Dark side darker and light side lighter right at the edge; far away unchanged.
        assert!(img.get_pixel(19, 5)[0] < 80);
        assert!(img.get_pixel(20, 5)[0] > 170);
        assert_eq!(img.get_pixel(2, 5)[0], 80);
        assert_eq!(img.get_pixel(37, 5)[0], 170);
    }

    #[test]
    fn leaves_low_amplitude_noise_alone() {
        // ±2 level checkerboard noise, below the 3-level threshold.
        let img = RgbaImage::from_fn(32, 32, |x, y| {
            let v = if (x + y) % 2 == 0 { 126 } else { 130 };
            Rgba([v, v, v, 255])
        });
        let mut out = img.clone();
        unsharp_mask(&mut out, &Sharpen::default(), None);
        assert_eq!(out, img);
        // Without a threshold the same noise is amplified.
        let mut amplified = img.clone();
        let p = Sharpen {
            threshold_levels: 0.0,
            ..Sharpen::default()
        };
        unsharp_mask(&mut amplified, &p, None);
        assert_ne!(amplified, img);
    }

    #[test]
    fn zero_weight_blocks_the_effect() {
        let mut img = step_edge();
        let before = img.clone();
        let weight = GrayImage::new(40, 10);
        unsharp_mask(&mut img, &Sharpen::default(), Some(&weight));
        assert_eq!(img, before);
    }

    #[test]
    fn colour_ratios_shift_together() {
        let mut img = RgbaImage::from_fn(40, 10, |x, _| {
            if x < 20 {
                Rgba([120, 60, 30, 255])
            } else {
                Rgba([200, 140, 110, 255])
            }
        });
        unsharp_mask(&mut img, &Sharpen::default(), None);
        let p = img.get_pixel(20, 5);
        let d0 = i32::from(p[0]) - 200;
        let d1 = i32::from(p[1]) - 140;
        assert!(d0 > 0 && d0 == d1, "{p:?}");
    }
}
