//! Auto levels on luminance: one black point and one white point for all three channels.
//!
//! Stretching each channel separately would push a saturated product towards grey or black
//! (a red product's green and blue channels are near zero and would be "stretched" to full
//! range); a single luminance-derived mapping keeps hues and only changes contrast.

use image::RgbaImage;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::luma_u8;

/// Parameters of the auto-levels operation.
///
/// Auto levels is meant to undo a flat capture (lifted blacks *and* dimmed whites), not to
/// re-grade photos whose range is their look: a dim scene or a pale one keeps its range, and
/// neither point moves further than a plausible capture fault.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Levels {
    /// Share of pixels (percent) allowed to clip to black.
    pub clip_dark_pct: f32,
    /// Share of pixels (percent) allowed to clip to white.
    pub clip_light_pct: f32,
    /// The dark end counts as compressed when the black point is above this level.
    pub dark_tolerance_levels: u8,
    /// The light end counts as compressed when the white point is below 255 minus this.
    pub light_tolerance_levels: u8,
    /// Act only when both ends are compressed (a flat capture), not just one (a dim or pale
    /// scene).
    pub require_both_ends: bool,
    /// The black point never moves above this level.
    pub max_black_level: u8,
    /// The white point never moves below this level.
    pub min_white_level: u8,
}

impl Default for Levels {
    fn default() -> Self {
        Self {
            clip_dark_pct: 0.05,
            clip_light_pct: 0.05,
            dark_tolerance_levels: 8,
            light_tolerance_levels: 12,
            require_both_ends: true,
            max_black_level: 40,
            min_white_level: 200,
        }
    }
}

/// Black and white points found by [`auto_levels_points`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LevelPoints {
    /// Input level mapped to 0.
    pub black: u8,
    /// Input level mapped to 255.
    pub white: u8,
}

impl LevelPoints {
    /// The identity mapping.
    pub const IDENTITY: Self = Self {
        black: 0,
        white: 255,
    };

    /// The 256-entry lookup table implementing this mapping.
    pub fn lut(&self) -> [u8; 256] {
        let mut lut = [0u8; 256];
        let b = f32::from(self.black);
        let span = (f32::from(self.white) - b).max(1.0);
        for (i, v) in lut.iter_mut().enumerate() {
            *v = ((i as f32 - b) * 255.0 / span).round().clamp(0.0, 255.0) as u8;
        }
        lut
    }
}

/// Histogram of luma over pixels with non-zero alpha.
pub fn luma_histogram(img: &RgbaImage) -> [u64; 256] {
    img.as_raw()
        .par_chunks(4 * 4096)
        .fold(
            || [0u64; 256],
            |mut h, chunk| {
                for p in chunk.chunks_exact(4) {
                    if p[3] != 0 {
                        h[usize::from(luma_u8(p[0], p[1], p[2]))] += 1;
                    }
                }
                h
            },
        )
        .reduce(
            || [0u64; 256],
            |mut a, b| {
                a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
                a
            },
        )
}

/// Finds the black and white points from a luma histogram.
pub fn points_from_histogram(hist: &[u64; 256], params: &Levels) -> LevelPoints {
    let total: u64 = hist.iter().sum();
    if total == 0 {
        return LevelPoints::IDENTITY;
    }
    let dark_budget = (total as f64 * f64::from(params.clip_dark_pct) / 100.0) as u64;
    let light_budget = (total as f64 * f64::from(params.clip_light_pct) / 100.0) as u64;
    let mut acc = 0u64;
    let mut black = 0usize;
    for (i, &c) in hist.iter().enumerate() {
        acc += c;
        if acc > dark_budget {
            black = i;
            break;
        }
    }
    acc = 0;
    let mut white = 255usize;
    for (i, &c) in hist.iter().enumerate().rev() {
        acc += c;
        if acc > light_budget {
            white = i;
            break;
        }
    }
    let dark_off = black > usize::from(params.dark_tolerance_levels);
    let light_off = white < 255 - usize::from(params.light_tolerance_levels);
    let act = if params.require_both_ends {
        dark_off && light_off
    } else {
        dark_off || light_off
    };
    if !act || white <= black {
        return LevelPoints::IDENTITY;
    }
    let black = if dark_off {
        black.min(usize::from(params.max_black_level))
    } else {
        0
    };
    let white = if light_off {
        white.max(usize::from(params.min_white_level))
    } else {
        255
    };
    if white <= black {
        return LevelPoints::IDENTITY;
    }
    LevelPoints {
        black: black as u8,
        white: white as u8,
    }
}

/// Computes the black and white points for `img`.
pub fn auto_levels_points(img: &RgbaImage, params: &Levels) -> LevelPoints {
    points_from_histogram(&luma_histogram(img), params)
}

/// Applies one mapping to R, G and B through a lookup table; alpha is untouched.
pub fn apply_levels(img: &mut RgbaImage, points: LevelPoints) {
    if points == LevelPoints::IDENTITY {
        return;
    }
    let lut = points.lut();
    img.as_mut().par_chunks_mut(4 * 4096).for_each(|chunk| {
        for p in chunk.chunks_exact_mut(4) {
            p[0] = lut[usize::from(p[0])];
            p[1] = lut[usize::from(p[1])];
            p[2] = lut[usize::from(p[2])];
        }
    });
}

/// Auto levels in one call.
pub fn auto_levels(img: &mut RgbaImage, params: &Levels) -> LevelPoints {
    let points = auto_levels_points(img, params);
    apply_levels(img, points);
    points
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgba;

    /// A dull red product on a greyish background: low contrast overall.
    fn dull_red_product() -> RgbaImage {
        RgbaImage::from_fn(100, 100, |x, y| {
            let inside = (30..70).contains(&x) && (30..70).contains(&y);
            if inside {
                Rgba([150, 40, 40, 255])
            } else {
                Rgba([200, 200, 200, 255])
            }
        })
    }

    #[test]
    fn red_product_stays_red() {
        let mut img = dull_red_product();
        let pts = auto_levels(&mut img, &Levels::default());
        assert_ne!(pts, LevelPoints::IDENTITY);
        let p = img.get_pixel(50, 50);
        // Per-channel stretching would map this product's red (the red channel's minimum, 150)
        // to 0, turning it black; one luminance mapping keeps it clearly red.
        assert!(p[0] > 140, "{p:?}");
        assert!(u16::from(p[0]) > u16::from(p[1]) + 100, "{p:?}");
        assert_eq!(p[1], p[2]);
        // Background went to white, staying neutral.
        assert_eq!(img.get_pixel(5, 5), &Rgba([255, 255, 255, 255]));
    }

    #[test]
    fn full_range_image_is_untouched() {
        let img = RgbaImage::from_fn(64, 4, |x, _| {
            let v = (x * 4) as u8;
            Rgba([v, v, v, 255])
        });
        let mut out = img.clone();
        let mut wide = img.clone();
        wide.put_pixel(63, 0, Rgba([255, 255, 255, 255]));
        out.put_pixel(63, 0, Rgba([255, 255, 255, 255]));
        assert_eq!(
            auto_levels(&mut out, &Levels::default()),
            LevelPoints::IDENTITY
        );
        assert_eq!(out, wide);
    }

    #[test]
    fn one_sided_range_is_left_alone() {
        // A dim scene: deep blacks, whites only reach 190. Its range is its look.
        let img = RgbaImage::from_fn(64, 4, |x, _| {
            let v = (x * 3) as u8;
            Rgba([v, v, v, 255])
        });
        assert_eq!(
            auto_levels_points(&img, &Levels::default()),
            LevelPoints::IDENTITY
        );
        let both = Levels {
            require_both_ends: false,
            ..Levels::default()
        };
        assert_ne!(auto_levels_points(&img, &both), LevelPoints::IDENTITY);
    }

    #[test]
    fn point_moves_are_capped() {
        // A pale, flat image (levels 120–135): points move at most to 40 and 200.
        let img = RgbaImage::from_fn(64, 4, |x, _| {
            let v = 120 + (x % 16) as u8;
            Rgba([v, v, v, 255])
        });
        let pts = auto_levels_points(&img, &Levels::default());
        assert_eq!(
            pts,
            LevelPoints {
                black: 40,
                white: 200
            }
        );
    }
}
