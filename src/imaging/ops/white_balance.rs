//! White balance: estimate the scene illuminant and divide it out with per-channel gains.
//!
//! Estimation and correction happen in linear light (a cast is a multiplication of linear
//! light by the illuminant's colour); the correction is still one 256-entry table per channel.
//!
//! Product shots on a near-white backdrop are balanced by white patch on the detected
//! background (the backdrop is meant to be neutral, so its colour *is* the cast). Other photos
//! fall back to a grey-edge estimate (edges average to grey far more often than whole scenes
//! do, so it errs less than grey world), applied only partly and only when the cast is clear,
//! because a wrong correction costs more than a missed one.

use image::RgbaImage;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::background::border_backdrop;
use super::blur::gaussian_blur_f32;
use super::resize::{ResizeFilter, resize_rgba};

/// How the illuminant is estimated.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case", tag = "method")]
pub enum WhiteBalanceMethod {
    /// Backdrop white patch when a near-neutral bright backdrop is found, else damped grey edge.
    #[default]
    Auto,
    /// The mean colour is taken as grey.
    GreyWorld,
    /// The mean edge colour (Minkowski p = 6 of gradients) is taken as grey.
    GreyEdge,
    /// The detected backdrop (or, without one, the brightest unsaturated pixels) is taken as white.
    WhitePatch,
    /// Fixed gains for R, G, B.
    Manual {
        /// Multipliers for R, G, B.
        gains: [f32; 3],
    },
}

/// Parameters of the white-balance operation.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct WhiteBalance {
    /// Estimator.
    pub method: WhiteBalanceMethod,
    /// 0 = no change, 1 = full correction (in log space).
    pub strength: f32,
    /// Corrections whose largest gain deviation is below this (fraction) are skipped as noise.
    pub min_cast: f32,
    /// Gains are clamped to [1 - max_cast, 1 + max_cast] around luminance-neutral.
    pub max_cast: f32,
}

impl Default for WhiteBalance {
    fn default() -> Self {
        Self {
            method: WhiteBalanceMethod::Auto,
            strength: 1.0,
            min_cast: 0.01,
            max_cast: 0.4,
        }
    }
}

/// An illuminant estimate: relative R, G, B (any scale) and where it came from.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Illuminant {
    /// Relative colour of the light.
    pub rgb: [f32; 3],
    /// Which estimator produced it.
    pub source: IlluminantSource,
}

/// The estimator actually used (Auto resolves to one of these).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IlluminantSource {
    /// White patch on the backdrop.
    Backdrop,
    /// Brightest pixels.
    Brightest,
    /// Grey world.
    GreyWorld,
    /// Grey edge.
    GreyEdge,
    /// Given by the recipe.
    Manual,
}

/// Longest side of the working copy used for estimation; more pixels add nothing but time.
const ESTIMATE_SIDE_PX: u32 = 384;

fn working_copy(img: &RgbaImage) -> RgbaImage {
    let (w, h) = img.dimensions();
    if w.max(h) <= ESTIMATE_SIDE_PX {
        return img.clone();
    }
    let s = f64::from(ESTIMATE_SIDE_PX) / f64::from(w.max(h));
    let tw = ((f64::from(w) * s).round() as u32).max(1);
    let th = ((f64::from(h) * s).round() as u32).max(1);
    resize_rgba(img, tw, th, ResizeFilter::Box).unwrap_or_else(|_| img.clone())
}

/// Pixels usable for estimation: opaque, not clipped, not near black.
fn usable(p: &[u8]) -> bool {
    p[3] > 250 && p[..3].iter().all(|&c| (8..=250).contains(&c))
}

/// sRGB-encoded level → linear light (0..1).
pub fn srgb_to_linear(level: u8) -> f32 {
    let v = f32::from(level) / 255.0;
    if v <= 0.04045 {
        v / 12.92
    } else {
        ((v + 0.055) / 1.055).powf(2.4)
    }
}

/// Linear light (0..1) → sRGB-encoded level (0..255, unrounded).
pub fn linear_to_srgb(v: f32) -> f32 {
    let v = v.clamp(0.0, 1.0);
    255.0
        * if v <= 0.003_130_8 {
            v * 12.92
        } else {
            1.055 * v.powf(1.0 / 2.4) - 0.055
        }
}

static TO_LINEAR: std::sync::LazyLock<[f32; 256]> =
    std::sync::LazyLock::new(|| std::array::from_fn(|i| srgb_to_linear(i as u8)));

fn grey_world(img: &RgbaImage) -> Option<[f32; 3]> {
    let lin = &*TO_LINEAR;
    let mut sum = [0f64; 3];
    let mut n = 0u64;
    for p in img.as_raw().chunks_exact(4).filter(|p| usable(p)) {
        for c in 0..3 {
            sum[c] += f64::from(lin[usize::from(p[c])]);
        }
        n += 1;
    }
    (n > 16).then(|| sum.map(|s| (s / n as f64) as f32))
}

fn grey_edge(img: &RgbaImage, p_norm: f32) -> Option<[f32; 3]> {
    let (w, h) = (img.width() as usize, img.height() as usize);
    if w < 3 || h < 3 {
        return None;
    }
    let raw = img.as_raw();
    let mut est = [0f32; 3];
    let valid: Vec<bool> = raw.chunks_exact(4).map(usable).collect();
    let lin = &*TO_LINEAR;
    for (c, e) in est.iter_mut().enumerate() {
        let plane: Vec<f32> = raw
            .chunks_exact(4)
            .map(|p| lin[usize::from(p[c])])
            .collect();
        let smooth = gaussian_blur_f32(&plane, w, h, 1.0);
        let acc: f64 = (1..h - 1)
            .into_par_iter()
            .map(|y| {
                let mut s = 0f64;
                for x in 1..w - 1 {
                    let i = y * w + x;
                    if !(valid[i] && valid[i - 1] && valid[i + 1] && valid[i - w] && valid[i + w]) {
                        continue;
                    }
                    let gx = smooth[i + 1] - smooth[i - 1];
                    let gy = smooth[i + w] - smooth[i - w];
                    let g = (gx * gx + gy * gy).sqrt();
                    s += f64::from(g).powf(f64::from(p_norm));
                }
                s
            })
            .sum();
        *e = acc.powf(1.0 / f64::from(p_norm)) as f32;
    }
    (est.iter().all(|&v| v > 0.0)).then_some(est)
}

fn brightest(img: &RgbaImage) -> Option<[f32; 3]> {
    let mut px: Vec<[u8; 3]> = img
        .as_raw()
        .chunks_exact(4)
        .filter(|p| usable(p))
        .map(|p| [p[0], p[1], p[2]])
        .collect();
    if px.len() < 100 {
        return None;
    }
    let key = |p: &[u8; 3]| u32::from(p[0]) + u32::from(p[1]) + u32::from(p[2]);
    let top = px.len() / 100;
    px.select_nth_unstable_by_key(top, |p| std::cmp::Reverse(key(p)));
    let lin = &*TO_LINEAR;
    let mut sum = [0f64; 3];
    for p in &px[..top.max(1)] {
        for c in 0..3 {
            sum[c] += f64::from(lin[usize::from(p[c])]);
        }
    }
    Some(sum.map(|s| s as f32))
}

/// Estimates the illuminant of `img` with `method`. `None` when the image gives no usable
/// evidence (e.g. all clipped) — the caller then leaves colours alone.
pub fn estimate_illuminant(img: &RgbaImage, method: WhiteBalanceMethod) -> Option<Illuminant> {
    let small = working_copy(img);
    let make = |rgb: [f32; 3], source| Illuminant { rgb, source };
    match method {
        WhiteBalanceMethod::Manual { gains } => Some(make(
            gains.map(|g| if g > 0.0 { 1.0 / g } else { 1.0 }),
            IlluminantSource::Manual,
        )),
        WhiteBalanceMethod::GreyWorld => {
            grey_world(&small).map(|e| make(e, IlluminantSource::GreyWorld))
        }
        WhiteBalanceMethod::GreyEdge => {
            grey_edge(&small, 6.0).map(|e| make(e, IlluminantSource::GreyEdge))
        }
        WhiteBalanceMethod::WhitePatch => match border_backdrop(&small) {
            Some(b) if b.is_light_and_plain() => {
                Some(make(linearise(b.colour), IlluminantSource::Backdrop))
            }
            _ => brightest(&small).map(|e| make(e, IlluminantSource::Brightest)),
        },
        WhiteBalanceMethod::Auto => match border_backdrop(&small) {
            Some(b) if b.is_light_and_plain() => {
                Some(make(linearise(b.colour), IlluminantSource::Backdrop))
            }
            _ => grey_edge(&small, 6.0).map(|e| make(e, IlluminantSource::GreyEdge)),
        },
    }
}

fn linearise(srgb: [f32; 3]) -> [f32; 3] {
    srgb.map(|v| {
        let v = (v / 255.0).clamp(0.0, 1.0);
        if v <= 0.04045 {
            v / 12.92
        } else {
            ((v + 0.055) / 1.055).powf(2.4)
        }
    })
}

/// Luminance-preserving gains that neutralise `illuminant`, scaled by `strength` in log space
/// and clamped to `max_cast`.
pub fn gains_for(illuminant: [f32; 3], params: &WhiteBalance) -> [f32; 3] {
    let luma = 0.2126 * illuminant[0] + 0.7152 * illuminant[1] + 0.0722 * illuminant[2];
    if luma <= 0.0 || illuminant.iter().any(|&v| v <= 0.0) {
        return [1.0; 3];
    }
    let strength = params.strength.clamp(0.0, 1.0);
    let full = illuminant.map(|e| luma / e);
    let max_dev = full.iter().map(|g| (g - 1.0).abs()).fold(0.0, f32::max);
    if max_dev < params.min_cast {
        return [1.0; 3];
    }
    let lo = 1.0 - params.max_cast;
    let hi = 1.0 + params.max_cast;
    full.map(|g| g.powf(strength).clamp(lo, hi))
}

/// Multiplies the linear light of R, G, B by `gains` through lookup tables.
pub fn apply_gains(img: &mut RgbaImage, gains: [f32; 3]) {
    if gains == [1.0; 3] {
        return;
    }
    let lin = &*TO_LINEAR;
    let luts: Vec<[u8; 256]> = gains
        .iter()
        .map(|&g| {
            let mut lut = [0u8; 256];
            for (i, v) in lut.iter_mut().enumerate() {
                *v = linear_to_srgb(lin[i] * g).round() as u8;
            }
            lut
        })
        .collect();
    img.as_mut().par_chunks_mut(4 * 4096).for_each(|chunk| {
        for p in chunk.chunks_exact_mut(4) {
            p[0] = luts[0][usize::from(p[0])];
            p[1] = luts[1][usize::from(p[1])];
            p[2] = luts[2][usize::from(p[2])];
        }
    });
}

/// Angle (degrees) between an illuminant estimate and neutral grey.
pub fn cast_angle_deg(illuminant: [f32; 3]) -> f32 {
    let norm = illuminant.iter().map(|v| v * v).sum::<f32>().sqrt();
    if norm <= 0.0 {
        return 0.0;
    }
    let cos = illuminant.iter().sum::<f32>() / (norm * 3f32.sqrt());
    cos.clamp(-1.0, 1.0).acos().to_degrees()
}

/// Estimates and removes the colour cast; returns the gains applied (all 1.0 when nothing was
/// done).
pub fn white_balance(img: &mut RgbaImage, params: &WhiteBalance) -> [f32; 3] {
    let Some(ill) = estimate_illuminant(img, params.method) else {
        return [1.0; 3];
    };
    let mut p = *params;
    if ill.source == IlluminantSource::GreyEdge && matches!(params.method, WhiteBalanceMethod::Auto)
    {
        // Without a neutral backdrop, grey edge is a guess. Casts from real light sources are
        // moderate; a much larger apparent cast is more likely the scene's own colour (a red
        // close-up, a sunset), so the correction fades out as the estimate gets extreme.
        let angle = cast_angle_deg(ill.rgb);
        let fade = ((AUTO_FADE_END_DEG - angle) / (AUTO_FADE_END_DEG - AUTO_FADE_START_DEG))
            .clamp(0.0, 1.0);
        p.strength *= AUTO_GREY_EDGE_STRENGTH * fade;
    }
    let gains = gains_for(ill.rgb, &p);
    apply_gains(img, gains);
    gains
}

/// Share of a grey-edge correction that Auto applies (log space).
pub const AUTO_GREY_EDGE_STRENGTH: f32 = 0.85;
/// Grey-edge casts up to this angle from neutral are corrected fully.
pub const AUTO_FADE_START_DEG: f32 = 10.0;
/// Grey-edge casts beyond this angle are taken as scene colour and left alone.
pub const AUTO_FADE_END_DEG: f32 = 20.0;

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgba;

    /// A grey-ish scene with varied neutral and coloured patches on a white backdrop.
    fn product_scene(cast: [f32; 3]) -> RgbaImage {
        RgbaImage::from_fn(200, 160, |x, y| {
            let base: [f32; 3] = if (60..140).contains(&x) && (40..120).contains(&y) {
                if x < 100 {
                    [180.0, 60.0, 50.0]
                } else {
                    [70.0, 90.0, 160.0]
                }
            } else {
                [245.0, 245.0, 245.0]
            };
            let px = base.map(|v| v);
            Rgba([
                (px[0] * cast[0]).min(255.0) as u8,
                (px[1] * cast[1]).min(255.0) as u8,
                (px[2] * cast[2]).min(255.0) as u8,
                255,
            ])
        })
    }

    #[test]
    fn backdrop_cast_is_removed() {
        let mut img = product_scene([1.0, 0.96, 0.88]);
        let gains = white_balance(&mut img, &WhiteBalance::default());
        assert!(gains[2] > gains[0], "{gains:?}");
        let bg = img.get_pixel(5, 5);
        let spread = bg.0[..3].iter().max().unwrap() - bg.0[..3].iter().min().unwrap();
        assert!(spread <= 3, "backdrop still tinted: {bg:?}");
    }

    #[test]
    fn neutral_scene_is_left_alone() {
        let img = product_scene([1.0, 1.0, 1.0]);
        let mut out = img.clone();
        let gains = white_balance(&mut out, &WhiteBalance::default());
        assert_eq!(gains, [1.0; 3]);
        assert_eq!(out, img);
    }

    #[test]
    fn manual_gains_apply() {
        let mut img = RgbaImage::from_pixel(4, 4, Rgba([100, 100, 100, 255]));
        let p = WhiteBalance {
            method: WhiteBalanceMethod::Manual {
                gains: [1.2, 1.0, 0.8],
            },
            ..WhiteBalance::default()
        };
        white_balance(&mut img, &p);
        let px = img.get_pixel(0, 0);
        assert!(px[0] > px[1] && px[1] > px[2], "{px:?}");
    }

    #[test]
    fn grey_world_finds_cast_on_grey_texture() {
        let img = RgbaImage::from_fn(64, 64, |x, y| {
            let v = srgb_to_linear(60 + ((x * 13 + y * 7) % 120) as u8);
            let enc = |g: f32| linear_to_srgb(v * g).round() as u8;
            Rgba([enc(1.1), enc(1.0), enc(0.8), 255])
        });
        let ill = estimate_illuminant(&img, WhiteBalanceMethod::GreyWorld).unwrap();
        let r_over_b = ill.rgb[0] / ill.rgb[2];
        assert!((r_over_b - 1.1 / 0.8).abs() < 0.03, "{ill:?}");
        let ge = estimate_illuminant(&img, WhiteBalanceMethod::GreyEdge).unwrap();
        assert!((ge.rgb[0] / ge.rgb[2] - 1.1 / 0.8).abs() < 0.1, "{ge:?}");
    }
}

#[cfg(test)]
mod fade_tests {
    use super::*;
    use image::Rgba;

    fn textured(cast: [f32; 3]) -> RgbaImage {
        RgbaImage::from_fn(96, 96, |x, y| {
            let v = srgb_to_linear(40 + ((x * 29 + y * 17 + (x * y) % 23) % 180) as u8);
            let enc = |g: f32| linear_to_srgb(v * g).round() as u8;
            Rgba([enc(cast[0]), enc(cast[1]), enc(cast[2]), 255])
        })
    }

    #[test]
    fn moderate_cast_on_a_photo_is_corrected() {
        let mut img = textured([1.09, 0.98, 0.84]);
        let gains = white_balance(&mut img, &WhiteBalance::default());
        assert!(gains[2] > 1.1 && gains[0] < 0.97, "{gains:?}");
    }

    #[test]
    fn extreme_apparent_cast_is_taken_as_scene_colour() {
        let img = textured([1.8, 0.7, 0.4]);
        let mut out = img.clone();
        assert_eq!(white_balance(&mut out, &WhiteBalance::default()), [1.0; 3]);
        assert_eq!(out, img);
    }

    #[test]
    fn angle_of_neutral_is_zero() {
        assert!(cast_angle_deg([0.5, 0.5, 0.5]) < 1e-3);
        assert!((cast_angle_deg([1.09, 0.98, 0.84]) - 6.0).abs() < 0.3);
    }
}
