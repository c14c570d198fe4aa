//! Background cleanup: separate a product from a near-uniform backdrop and replace the backdrop
//! with white, a colour or transparency, without a fringe.
//!
//! Steps: (1) fit a smooth colour model of the backdrop (a quadratic surface per channel, so
//! gradients and vignetting are part of "background") robustly to the image border; (2) measure
//! each pixel's distance from that model, with the thresholds set from the border's own noise;
//! (3) hysteresis: pixels clearly off the model seed the product, and weaker pixels join when
//! connected to a seed, which keeps thin straps and faint edges without admitting noise;
//! (4) sharp edges (see [`super::segment`]) join the colour evidence as barriers, and the
//! backdrop is what the border reaches without crossing them, so glass bodies and white-on-white
//! parts outlined by edges stay product; (5) enclosed regions are reopened only when they are
//! ringed by opaque product, backdrop-hued and smooth (the inside of a handle loop); (6) the
//! outline is re-decided against local product and backdrop colours, contact shadows going to
//! the backdrop; (7) user brush strokes are applied; (8) at the edge, alpha is solved from the
//! mixing equation I = αF + (1−α)B with F from nearby product pixels, edge colours are
//! decontaminated (the old backdrop is removed from them), and the feather softens inwards only
//! before compositing over the new background.

use std::collections::VecDeque;

use image::{GrayImage, Luma, RgbaImage};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::blur::{box_blur_f32, gaussian_blur_f32};
use super::segment;
use super::{OpError, luma_f32};

/// What replaces the backdrop.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum BackgroundFill {
    /// Pure white (255, 255, 255).
    #[default]
    White,
    /// A solid sRGB colour.
    Colour {
        /// The colour.
        rgb: [u8; 3],
    },
    /// Alpha 0.
    Transparent,
}

impl BackgroundFill {
    /// The RGBA value of a pure-background pixel.
    pub fn rgba(self) -> [u8; 4] {
        match self {
            Self::White => [255, 255, 255, 255],
            Self::Colour { rgb } => [rgb[0], rgb[1], rgb[2], 255],
            Self::Transparent => [255, 255, 255, 0],
        }
    }
}

/// Parameters of background cleanup.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Background {
    /// The replacement.
    pub fill: BackgroundFill,
    /// Gaussian sigma of the edge feather, in output pixels (0 = hard edge).
    pub feather_px: f32,
    /// Scales the detection thresholds: above 1 keeps fainter detail, below 1 is stricter.
    pub sensitivity: f32,
}

impl Default for Background {
    fn default() -> Self {
        Self {
            fill: BackgroundFill::White,
            feather_px: 0.6,
            sensitivity: 1.0,
        }
    }
}

/// Whether a brush stroke adds to or removes from the product mask.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BrushMode {
    /// Paint as product.
    Add,
    /// Paint as background.
    Remove,
}

/// A user correction to the automatic mask, stored in the recipe. Coordinates are normalised
/// (0..1 across width and height) so a stroke applies at any render scale.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BrushStroke {
    /// Polyline through the stroke, each point `[x, y]` in 0..1 of width and height.
    pub points: Vec<[f32; 2]>,
    /// Brush radius as a fraction of the image's shorter side.
    pub radius_frac: f32,
    /// Add or remove.
    pub mode: BrushMode,
}

/// A smooth model of the backdrop colour: per channel, c(x, y) = a + b·x + c·y + d·x² + e·y² + f·xy
/// over normalised coordinates.
#[derive(Clone, Debug, PartialEq)]
pub struct BackdropModel {
    coeffs: [[f32; 6]; 3],
    /// Robust spread of the border residuals (RGB distance, levels).
    pub residual_levels: f32,
    /// Share of border samples that fit the model.
    pub inlier_frac: f32,
    /// Median backdrop colour over the border.
    pub median_colour: [f32; 3],
}

fn basis(xn: f32, yn: f32) -> [f32; 6] {
    [1.0, xn, yn, xn * xn, yn * yn, xn * yn]
}

impl BackdropModel {
    /// The modelled backdrop colour at pixel (`x`, `y`) of a `width`×`height` image.
    #[inline]
    pub fn colour_at(&self, x: f32, y: f32, width: u32, height: u32) -> [f32; 3] {
        let b = basis((x + 0.5) / width as f32, (y + 0.5) / height as f32);
        self.coeffs
            .map(|c| c.iter().zip(&b).map(|(k, v)| k * v).sum())
    }

    /// Fits the model to the image border. `None` when the border gives too few samples.
    pub fn fit_border(img: &RgbaImage) -> Option<Self> {
        let (w, h) = img.dimensions();
        if w < 4 || h < 4 {
            return None;
        }
        let band = ((w.min(h) as f32 * 0.03).round() as u32).clamp(1, 64);
        // Subsample so the fit costs the same for any image size.
        let perimeter = 2 * (w + h) * band;
        let step = (perimeter / 20_000).max(1) as usize;
        let mut samples: Vec<([f32; 6], [f32; 3])> = Vec::new();
        let mut k = 0usize;
        for y in 0..h {
            let in_band_y = y < band || y >= h - band;
            let xs: Box<dyn Iterator<Item = u32>> = if in_band_y {
                Box::new(0..w)
            } else {
                Box::new((0..band).chain(w - band..w))
            };
            for x in xs {
                k += 1;
                if !k.is_multiple_of(step) {
                    continue;
                }
                let p = img.get_pixel(x, y);
                if p[3] < 128 {
                    continue;
                }
                let b = basis((x as f32 + 0.5) / w as f32, (y as f32 + 0.5) / h as f32);
                samples.push((b, [f32::from(p[0]), f32::from(p[1]), f32::from(p[2])]));
            }
        }
        if samples.len() < 12 {
            return None;
        }
        let mut median_colour = [0f32; 3];
        for (c, m) in median_colour.iter_mut().enumerate() {
            let mut v: Vec<f32> = samples.iter().map(|s| s.1[c]).collect();
            let mid = v.len() / 2;
            v.select_nth_unstable_by(mid, f32::total_cmp);
            *m = v[mid];
        }
        let mut coeffs = [[0f32; 6]; 3];
        for (c, co) in coeffs.iter_mut().enumerate() {
            co[0] = median_colour[c];
        }
        let mut model = Self {
            coeffs,
            residual_levels: 0.0,
            inlier_frac: 0.0,
            median_colour,
        };
        let residual = |m: &Self, s: &([f32; 6], [f32; 3])| -> f32 {
            let mut d2 = 0.0;
            for c in 0..3 {
                let pred: f32 = m.coeffs[c].iter().zip(&s.0).map(|(k, v)| k * v).sum();
                d2 += (s.1[c] - pred).powi(2);
            }
            d2.sqrt()
        };
        // Start from the median (robust to a product touching the border), then alternate
        // trimming outliers and refitting.
        let mut cutoff = {
            let mut r: Vec<f32> = samples.iter().map(|s| residual(&model, s)).collect();
            let mid = r.len() / 2;
            r.select_nth_unstable_by(mid, f32::total_cmp);
            (3.0 * r[mid]).max(8.0)
        };
        for _ in 0..4 {
            let inliers: Vec<&([f32; 6], [f32; 3])> = samples
                .iter()
                .filter(|s| residual(&model, s) < cutoff)
                .collect();
            if inliers.len() < 12 {
                break;
            }
            if let Some(c) = least_squares(&inliers) {
                model.coeffs = c;
            }
            let mut r: Vec<f32> = samples.iter().map(|s| residual(&model, s)).collect();
            let mid = r.len() / 2;
            r.select_nth_unstable_by(mid, f32::total_cmp);
            cutoff = (3.0 * r[mid]).max(6.0);
        }
        let res: Vec<f32> = samples.iter().map(|s| residual(&model, s)).collect();
        let inliers: Vec<f32> = res.iter().copied().filter(|&r| r < cutoff).collect();
        model.inlier_frac = inliers.len() as f32 / res.len() as f32;
        let mut sorted = inliers;
        sorted.sort_by(f32::total_cmp);
        model.residual_levels = sorted
            .get(sorted.len().saturating_sub(1) * 99 / 100)
            .copied()
            .unwrap_or(0.0);
        Some(model)
    }
}

/// Solves the 6×6 normal equations per channel; `None` if singular.
fn least_squares(samples: &[&([f32; 6], [f32; 3])]) -> Option<[[f32; 6]; 3]> {
    let mut ata = [[0f64; 6]; 6];
    let mut atb = [[0f64; 3]; 6];
    for (b, rgb) in samples {
        for i in 0..6 {
            for j in 0..6 {
                ata[i][j] += f64::from(b[i] * b[j]);
            }
            for c in 0..3 {
                atb[i][c] += f64::from(b[i] * rgb[c]);
            }
        }
    }
    // Small ridge keeps the system solvable when the border is thin.
    for (i, row) in ata.iter_mut().enumerate() {
        row[i] += 1e-6;
    }
    let mut out = [[0f32; 6]; 3];
    for c in 0..3 {
        let mut m = ata;
        let mut v: [f64; 6] = std::array::from_fn(|i| atb[i][c]);
        for col in 0..6 {
            let piv = (col..6).max_by(|&a, &b| m[a][col].abs().total_cmp(&m[b][col].abs()))?;
            if m[piv][col].abs() < 1e-12 {
                return None;
            }
            m.swap(col, piv);
            v.swap(col, piv);
            for r in 0..6 {
                if r != col {
                    let f = m[r][col] / m[col][col];
                    let pivot_row = m[col];
                    for (v, p) in m[r].iter_mut().zip(pivot_row).skip(col) {
                        *v -= f * p;
                    }
                    v[r] -= f * v[col];
                }
            }
        }
        for i in 0..6 {
            out[c][i] = (v[i] / m[i][i]) as f32;
        }
    }
    Some(out)
}

/// Border statistics used by white balance to decide whether a backdrop is present.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BackdropStats {
    /// Median border colour.
    pub colour: [f32; 3],
    /// Share of the border that fits a smooth backdrop.
    pub plain_frac: f32,
    /// Border residual spread (levels).
    pub residual_levels: f32,
}

impl BackdropStats {
    /// A light, plain, near-neutral backdrop: the kind that is meant to be white or grey, so its
    /// colour can be trusted as the illuminant.
    pub fn is_light_and_plain(&self) -> bool {
        let [r, g, b] = self.colour;
        let luma = luma_f32(r, g, b);
        let max = r.max(g).max(b);
        let min = r.min(g).min(b).max(1.0);
        luma >= 140.0 && self.plain_frac >= 0.6 && self.residual_levels < 40.0 && max / min < 1.5
    }
}

/// Measures the border of `img` as a potential backdrop.
pub fn border_backdrop(img: &RgbaImage) -> Option<BackdropStats> {
    let m = BackdropModel::fit_border(img)?;
    Some(BackdropStats {
        colour: m.median_colour,
        plain_frac: m.inlier_frac,
        residual_levels: m.residual_levels,
    })
}

/// Darkening (as a share of the encoded backdrop level) that a floor shadow may cause without
/// counting as product; 0.3 in sRGB-encoded terms is about 57 % less light.
pub const SHADOW_DARKENING_ALLOWANCE: f32 = 0.3;

/// The automatic matte and the decontaminated colours that go with it.
#[derive(Clone, Debug)]
pub struct Matte {
    /// Product coverage, 0 = backdrop, 255 = product; feathered.
    pub alpha: GrayImage,
    /// Pixel colours with the old backdrop removed from edge pixels (alpha channel 255).
    pub colour: RgbaImage,
    /// The fitted backdrop model.
    pub model: BackdropModel,
}

/// Computes the product matte of `img`, applying `strokes` on top of the automatic mask.
pub fn compute_matte(
    img: &RgbaImage,
    params: &Background,
    strokes: &[BrushStroke],
) -> Result<Matte, OpError> {
    let (w, h) = img.dimensions();
    if w < 4 || h < 4 {
        return Err(OpError::EmptyInput {
            operation: "background cleanup (image smaller than 4×4 px)",
        });
    }
    let (wu, hu) = (w as usize, h as usize);
    let n = wu * hu;
    let model = match BackdropModel::fit_border(img) {
        Some(m) => m,
        None => {
            return Err(OpError::EmptyInput {
                operation: "background cleanup (no opaque border to model the backdrop)",
            });
        }
    };
    // Backdrop colour per pixel.
    let bg: Vec<[f32; 3]> = (0..n)
        .into_par_iter()
        .map(|i| model.colour_at((i % wu) as f32, (i / wu) as f32, w, h))
        .collect();
    // Lightly smoothed channels: distance from a noisy pixel to the model is biased upwards by
    // the noise, so average a little first.
    let raw = img.as_raw();
    let smooth: Vec<Vec<f32>> = (0..3)
        .map(|c| {
            let plane: Vec<f32> = raw.chunks_exact(4).map(|p| f32::from(p[c])).collect();
            gaussian_blur_f32(&plane, wu, hu, 0.7)
        })
        .collect();
    let alpha_in: Vec<bool> = raw.chunks_exact(4).map(|p| p[3] >= 128).collect();
    // Two distances from the backdrop model: the full colour distance, and a shadow-tolerant
    // one. A cast shadow darkens the backdrop without changing its hue, so a pixel close to
    // t·B (0 < t < 1) is shadow-like: only its hue deviation counts, plus any darkening beyond
    // what a floor shadow plausibly does. Brighter-than-backdrop pixels (a white product on
    // off-white paper) always count in full.
    let (dist, _dist_full): (Vec<f32>, Vec<f32>) = (0..n)
        .into_par_iter()
        .map(|i| {
            if !alpha_in[i] {
                return (0.0, 0.0);
            }
            let b = bg[i];
            let px = [smooth[0][i], smooth[1][i], smooth[2][i]];
            let full = px
                .iter()
                .zip(&b)
                .map(|(p, q)| (p - q).powi(2))
                .sum::<f32>()
                .sqrt();
            let bb: f32 = b.iter().map(|v| v * v).sum();
            if bb <= 1.0 {
                return (full, full);
            }
            let t = px.iter().zip(&b).map(|(p, q)| p * q).sum::<f32>() / bb;
            if t >= 1.0 {
                return (full, full);
            }
            let hue_dev = px
                .iter()
                .zip(&b)
                .map(|(p, q)| (p - t * q).powi(2))
                .sum::<f32>()
                .sqrt();
            let excess_dark = ((1.0 - t) - SHADOW_DARKENING_ALLOWANCE).max(0.0) * bb.sqrt();
            ((hue_dev * hue_dev + excess_dark * excess_dark).sqrt(), full)
        })
        .unzip();

    // Noise floor from the border (same band as the fit).
    let band = ((w.min(h) as f32 * 0.03).round() as usize).clamp(1, 64);
    let mut border_d: Vec<f32> = Vec::new();
    for y in 0..hu {
        for x in 0..wu {
            if x < band || x >= wu - band || y < band || y >= hu - band {
                border_d.push(dist[y * wu + x]);
            }
        }
    }
    border_d.sort_by(f32::total_cmp);
    // The border holds product pixels too when the product touches the edge; the 90th
    // percentile of the lower 80% stays on the backdrop's noise.
    let floor = border_d
        .get(border_d.len() * 72 / 100)
        .copied()
        .unwrap_or(0.0);
    let sens = params.sensitivity.clamp(0.1, 10.0);
    let t_lo = (floor * 2.0 + 2.5).max(3.5) / sens;
    let t_hi = (t_lo * 2.5).max(10.0) / sens;

    // Hysteresis from strong seeds through weak pixels (8-connected).
    let mut mask = vec![false; n];
    let mut queue: VecDeque<usize> = VecDeque::new();
    for i in 0..n {
        if dist[i] > t_hi {
            mask[i] = true;
            queue.push_back(i);
        }
    }
    flood(&mut mask, &mut queue, wu, hu, |i| dist[i] > t_lo);
    let colour_evidence = mask;

    // Edges close what colour cannot see (glass walls, a white sole on white paper); the
    // backdrop is what the border reaches without crossing either, and enclosed regions are
    // product unless they are clearly a see-through hole.
    let planes: [Vec<f32>; 3] =
        std::array::from_fn(|c| raw.chunks_exact(4).map(|p| f32::from(p[c])).collect());
    let in_border: Vec<bool> = (0..n)
        .map(|i| {
            let (x, y) = (i % wu, i / wu);
            x < band || x >= wu - band || y < band || y >= hu - band
        })
        .collect();
    let edges = segment::sharp_edges(&planes, wu, hu, &in_border, &colour_evidence, sens);
    let barrier: Vec<bool> = (0..n)
        .map(|i| colour_evidence[i] || edges.edges[i])
        .collect();
    // Luminance noise of the backdrop: JPEG keeps luminance at full resolution while it
    // smears colour over 2-px blocks, so thin gaps are judged on luminance (see `HoleCues`).
    let luma_dev: Vec<f32> = (0..n)
        .map(|i| {
            let b = bg[i];
            (luma_f32(planes[0][i], planes[1][i], planes[2][i]) - luma_f32(b[0], b[1], b[2])).abs()
        })
        .collect();
    let luma_noise = segment::percentile(
        (0..n)
            .filter(|&i| in_border[i] && !colour_evidence[i] && !edges.edges[i])
            .map(|i| luma_dev[i])
            .collect(),
        0.9,
    )
    .unwrap_or(0.0);
    let backdrop = segment::backdrop_from_border(&barrier, wu, hu, segment::GAP_BRIDGE_RADIUS_PX);
    let mut mask: Vec<bool> = backdrop.iter().map(|&b| !b).collect();
    segment::open_see_through_holes(
        &mut mask,
        &segment::HoleCues {
            colour: &colour_evidence,
            barrier: &barrier,
            dist: &dist,
            t_lo,
            planes: &planes,
            noise: edges.noise,
            luma_dev: &luma_dev,
            luma_noise,
        },
        wu,
        hu,
    );
    remove_small_components(&mut mask, wu, hu, (n / 5000).max(4));
    segment::refine_boundary(&planes, &mut mask, &bg, wu, hu);
    smooth_outline(&mut mask, wu, hu);
    remove_small_components(&mut mask, wu, hu, (n / 5000).max(4));
    apply_strokes(&mut mask, strokes, wu, hu);

    // Soft alpha at the boundary by solving the mixing equation.
    let (alpha_f, colour) = soften_and_decontaminate(img, &mask, &bg, &dist, wu, hu);
    let mut alpha = alpha_f;
    force_strokes(&mut alpha, strokes, wu, hu);
    // The feather softens the edge inwards only: it may lower coverage next to the backdrop but
    // never raise it, since spreading coverage onto backdrop pixels would paint a rim of product
    // colour (or of the old shadow) on the new background.
    let feathered = if params.feather_px > 0.05 {
        let blurred = gaussian_blur_f32(&alpha, wu, hu, params.feather_px);
        alpha.iter().zip(blurred).map(|(&a, b)| a.min(b)).collect()
    } else {
        alpha
    };
    let alpha_img = GrayImage::from_fn(w, h, |x, y| {
        let v = feathered[y as usize * wu + x as usize];
        Luma([(v * 255.0).round().clamp(0.0, 255.0) as u8])
    });
    Ok(Matte {
        alpha: alpha_img,
        colour,
        model,
    })
}

fn neighbours8(i: usize, w: usize, h: usize) -> impl Iterator<Item = usize> {
    let (x, y) = ((i % w) as isize, (i / w) as isize);
    (-1isize..=1)
        .flat_map(move |dy| (-1isize..=1).map(move |dx| (dx, dy)))
        .filter(|&(dx, dy)| dx != 0 || dy != 0)
        .filter_map(move |(dx, dy)| {
            let (nx, ny) = (x + dx, y + dy);
            (nx >= 0 && ny >= 0 && nx < w as isize && ny < h as isize)
                .then(|| ny as usize * w + nx as usize)
        })
}

fn flood(
    mask: &mut [bool],
    queue: &mut VecDeque<usize>,
    w: usize,
    h: usize,
    admit: impl Fn(usize) -> bool,
) {
    while let Some(i) = queue.pop_front() {
        for j in neighbours8(i, w, h) {
            if !mask[j] && admit(j) {
                mask[j] = true;
                queue.push_back(j);
            }
        }
    }
}

/// One pass of a 3×3 majority vote over the mask: a pixel keeps the state of at least five of
/// the nine. The per-pixel outline decisions leave one-pixel notches and spurs where noise or
/// JPEG blocks tip them (a ragged edge on screen); the vote removes those and keeps anything
/// two pixels wide or more. Border pixels are left as they are.
fn smooth_outline(mask: &mut [bool], w: usize, h: usize) {
    // Of the 8 neighbours: this few in the mask and a mask pixel leaves; this many and an
    // outside pixel joins.
    const LEAVE_AT_MOST: usize = 3;
    const JOIN_AT_LEAST: usize = 5;
    let before = mask.to_vec();
    for y in 1..h - 1 {
        for x in 1..w - 1 {
            let i = y * w + x;
            let k = neighbours8(i, w, h).filter(|&j| before[j]).count();
            if before[i] && k <= LEAVE_AT_MOST {
                mask[i] = false;
            } else if !before[i] && k >= JOIN_AT_LEAST {
                mask[i] = true;
            }
        }
    }
}

fn remove_small_components(mask: &mut [bool], w: usize, h: usize, min_px: usize) {
    let (labels, sizes) = segment::components(mask, w, h, segment::Connectivity::Eight);
    for (m, &l) in mask.iter_mut().zip(&labels) {
        if l != 0 && sizes[l as usize] < min_px {
            *m = false;
        }
    }
}

/// Distance (px) from (x, y) to the segment a–b.
fn segment_distance(x: f32, y: f32, a: [f32; 2], b: [f32; 2]) -> f32 {
    let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
    let len2 = dx * dx + dy * dy;
    let t = if len2 > 0.0 {
        (((x - a[0]) * dx + (y - a[1]) * dy) / len2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    let (px, py) = (a[0] + t * dx, a[1] + t * dy);
    ((x - px).powi(2) + (y - py).powi(2)).sqrt()
}

/// Coverage (0..1) of pixel centre (x, y) by a stroke in pixel units, anti-aliased over 1 px.
fn stroke_coverage(stroke: &BrushStroke, x: f32, y: f32, w: usize, h: usize) -> f32 {
    let scale = [w as f32, h as f32];
    let pts: Vec<[f32; 2]> = stroke
        .points
        .iter()
        .map(|p| [p[0] * scale[0], p[1] * scale[1]])
        .collect();
    let r = stroke.radius_frac.max(0.0) * w.min(h) as f32;
    let d = match pts.len() {
        0 => return 0.0,
        1 => segment_distance(x, y, pts[0], pts[0]),
        _ => pts
            .windows(2)
            .map(|s| segment_distance(x, y, s[0], s[1]))
            .fold(f32::INFINITY, f32::min),
    };
    (r - d + 0.5).clamp(0.0, 1.0)
}

fn stroke_bbox(stroke: &BrushStroke, w: usize, h: usize) -> (usize, usize, usize, usize) {
    let r = stroke.radius_frac.max(0.0) * w.min(h) as f32 + 2.0;
    let xs = stroke.points.iter().map(|p| p[0] * w as f32);
    let ys = stroke.points.iter().map(|p| p[1] * h as f32);
    let x0 = xs.clone().fold(f32::INFINITY, f32::min) - r;
    let x1 = xs.fold(f32::NEG_INFINITY, f32::max) + r;
    let y0 = ys.clone().fold(f32::INFINITY, f32::min) - r;
    let y1 = ys.fold(f32::NEG_INFINITY, f32::max) + r;
    let cl = |v: f32, n: usize| v.clamp(0.0, n as f32) as usize;
    (cl(x0, w), cl(x1, w), cl(y0, h), cl(y1, h))
}

fn apply_strokes(mask: &mut [bool], strokes: &[BrushStroke], w: usize, h: usize) {
    for s in strokes.iter().filter(|s| !s.points.is_empty()) {
        let (x0, x1, y0, y1) = stroke_bbox(s, w, h);
        for y in y0..y1 {
            for x in x0..x1 {
                if stroke_coverage(s, x as f32 + 0.5, y as f32 + 0.5, w, h) >= 0.5 {
                    mask[y * w + x] = s.mode == BrushMode::Add;
                }
            }
        }
    }
}

fn force_strokes(alpha: &mut [f32], strokes: &[BrushStroke], w: usize, h: usize) {
    for s in strokes.iter().filter(|s| !s.points.is_empty()) {
        let (x0, x1, y0, y1) = stroke_bbox(s, w, h);
        for y in y0..y1 {
            for x in x0..x1 {
                let c = stroke_coverage(s, x as f32 + 0.5, y as f32 + 0.5, w, h);
                let a = &mut alpha[y * w + x];
                *a = match s.mode {
                    BrushMode::Add => a.max(c),
                    BrushMode::Remove => a.min(1.0 - c),
                };
            }
        }
    }
}

/// Coverage a soft lens spreads from an edge pixel onto its outside neighbour: a binomial or
/// Gaussian blur of about 0.7 px moves up to a quarter of the product's colour one pixel out.
const EDGE_SPILL: f32 = 0.25;

/// Product/backdrop colour difference (RGB distance, levels) below which the mixing equation
/// is not solved for a pixel's coverage.
const MIN_SOLVE_CONTRAST: f32 = 20.0;

/// Product/backdrop colour difference (levels) below which a product counts as faint for the
/// coverage of its outermost pixels (see [`FAINT_OUTLINE_MIN_COVER`]).
const FAINT_CONTRAST: f32 = 40.0;

/// Least solved coverage a faint product's outermost pixel keeps; below it the pixel goes to
/// the backdrop.
const FAINT_OUTLINE_MIN_COVER: f32 = 0.9;

/// Removes lens spill from a solved coverage: at most [`EDGE_SPILL`] is spill (backdrop with a
/// trace of the neighbour's colour) and becomes 0; as much the other way becomes 1; half stays
/// half, so the outline at 50 % coverage does not move.
fn choke(a: f32) -> f32 {
    ((a - EDGE_SPILL) / (1.0 - 2.0 * EDGE_SPILL)).clamp(0.0, 1.0)
}

/// Turns the binary mask into soft alpha near its boundary and removes backdrop colour from
/// edge pixels. Returns (alpha 0..1, decontaminated colours).
fn soften_and_decontaminate(
    img: &RgbaImage,
    mask: &[bool],
    bg: &[[f32; 3]],
    dist: &[f32],
    w: usize,
    h: usize,
) -> (Vec<f32>, RgbaImage) {
    let n = w * h;
    // Boundary band: pixels within 2 px (Chebyshev) of a mask change.
    let m: Vec<f32> = mask.iter().map(|&b| if b { 1.0 } else { 0.0 }).collect();
    let near = box_blur_f32(&m, w, h, 2);
    // Tolerances: the box blur's running sums leave rounding on 0/1 masks.
    let in_band = |i: usize| near[i] > 1e-3 && near[i] < 1.0 - 1e-3;
    // Confident product pixels: at least 2 px inside the mask, so the smoothed detection's
    // slightly wide boundary never lends mixed edge colours to the product estimate.
    let inner = box_blur_f32(&m, w, h, 2);
    let confident: Vec<f32> = (0..n)
        .map(|i| {
            if mask[i] && inner[i] > 0.999 {
                1.0
            } else {
                0.0
            }
        })
        .collect();
    let raw = img.as_raw();
    // Local product colour by normalised convolution over confident pixels.
    let wsum = gaussian_blur_f32(&confident, w, h, 2.0);
    let local: Vec<Vec<f32>> = (0..3)
        .map(|c| {
            let plane: Vec<f32> = (0..n)
                .map(|i| f32::from(raw[4 * i + c]) * confident[i])
                .collect();
            gaussian_blur_f32(&plane, w, h, 2.0)
        })
        .collect();

    // A mask pixel with a 4-neighbour outside the mask.
    let on_outline = |i: usize| {
        let (x, y) = (i % w, i / w);
        (x > 0 && !mask[i - 1])
            || (x + 1 < w && !mask[i + 1])
            || (y > 0 && !mask[i - w])
            || (y + 1 < h && !mask[i + w])
    };
    let mut alpha = m.clone();
    let mut colour = img.clone();
    let out = colour.as_mut();
    for i in 0..n {
        if !in_band(i) {
            continue;
        }
        let px = [
            f32::from(raw[4 * i]),
            f32::from(raw[4 * i + 1]),
            f32::from(raw[4 * i + 2]),
        ];
        let b = bg[i];
        let f = if wsum[i] > 0.02 {
            [
                local[0][i] / wsum[i],
                local[1][i] / wsum[i],
                local[2][i] / wsum[i],
            ]
        } else {
            // Thin structures (straps, cords) have no interior: take the most product-like
            // pixel within 2 px as their colour.
            let (x, y) = (i % w, i / w);
            let mut best = i;
            for ny in y.saturating_sub(2)..(y + 3).min(h) {
                for nx in x.saturating_sub(2)..(x + 3).min(w) {
                    let j = ny * w + nx;
                    if mask[j] && dist[j] > dist[best] {
                        best = j;
                    }
                }
            }
            [
                f32::from(raw[4 * best]),
                f32::from(raw[4 * best + 1]),
                f32::from(raw[4 * best + 2]),
            ]
        };
        let fb: [f32; 3] = std::array::from_fn(|c| f[c] - b[c]);
        let ib: [f32; 3] = std::array::from_fn(|c| px[c] - b[c]);
        let fb2: f32 = fb.iter().map(|v| v * v).sum();
        // Alpha from the mixing equation when product and backdrop differ enough; otherwise keep
        // the binary decision (a near-backdrop-coloured product edge is not solvable by colour).
        let outline = mask[i] && on_outline(i);
        let solvable = fb2 > MIN_SOLVE_CONTRAST * MIN_SOLVE_CONTRAST;
        // Against a faint product (clear glass, a pale mug) the backdrop's noise and the lens
        // spill of a dark wall move the solve by a large share, so the outermost pixel keeps
        // its coverage only when the solve calls it nearly whole (a hard white-on-cream edge).
        let faint_outline = outline && fb2 <= FAINT_CONTRAST * FAINT_CONTRAST;
        let a = if solvable {
            let proj: f32 = fb.iter().zip(&ib).map(|(x, y)| x * y).sum::<f32>() / fb2;
            let solved = proj.clamp(0.0, 1.0);
            // Inside the mask a pixel at least as far from the backdrop as its product colour
            // is fully product; outside, the solve can only add partial coverage.
            // Outside the mask the solve is not trusted: a floor shadow next to a dark product
            // also "moves towards" the product colour and would be read as partial cover,
            // leaving a grey rim. The detection threshold is low enough that real partial
            // cover is already inside the mask.
            // A product pixel the product/backdrop mix misses is another material (the tan
            // sole line under a black shoe): its own colour is its product colour.
            let mix_miss = || -> f32 {
                (0..3)
                    .map(|c| (px[c] - b[c] - solved * fb[c]).powi(2))
                    .sum()
            };
            if !mask[i] || faint_outline && solved < FAINT_OUTLINE_MIN_COVER {
                0.0
            } else if mix_miss() > segment::MAX_MIX_MISS {
                1.0
            } else {
                solved
            }
        } else if outline {
            // Product and backdrop too alike to solve: the outline was placed on the edge's
            // gradient ridge, which straddles the true edge, so its outermost pixel is as
            // likely backdrop as product. It goes to the backdrop: a lost half-covered pixel
            // is invisible, an old-paper rim on the new background is not.
            0.0
        } else {
            m[i]
        };
        alpha[i] = if solvable { choke(a) } else { a };
        // Decontaminate: recover the product colour of the mixed pixel. Where alpha is high the
        // equation is well conditioned; where low, the local product colour is safer.
        let fg: [f32; 3] = if a >= 0.5 {
            std::array::from_fn(|c| ((px[c] - (1.0 - a) * b[c]) / a).clamp(0.0, 255.0))
        } else {
            f
        };
        for c in 0..3 {
            out[4 * i + c] = fg[c].round().clamp(0.0, 255.0) as u8;
        }
    }
    for p in out.chunks_exact_mut(4) {
        p[3] = 255;
    }
    (alpha, colour)
}

/// Composites the decontaminated colours over `fill` using the matte.
pub fn apply_fill(matte: &Matte, fill: BackgroundFill) -> RgbaImage {
    let (w, h) = matte.colour.dimensions();
    let bgc = fill.rgba();
    let mut out = RgbaImage::new(w, h);
    out.as_mut()
        .par_chunks_mut(4 * w as usize)
        .zip(matte.colour.as_raw().par_chunks(4 * w as usize))
        .zip(matte.alpha.as_raw().par_chunks(w as usize))
        .for_each(|((orow, crow), arow)| {
            for ((o, c), &a) in orow.chunks_exact_mut(4).zip(crow.chunks_exact(4)).zip(arow) {
                match (fill, a) {
                    (BackgroundFill::Transparent, _) => {
                        o.copy_from_slice(&[c[0], c[1], c[2], a]);
                    }
                    (_, 0) => o.copy_from_slice(&bgc),
                    (_, 255) => o.copy_from_slice(&[c[0], c[1], c[2], 255]),
                    _ => {
                        let af = u32::from(a);
                        for k in 0..3 {
                            o[k] = ((u32::from(c[k]) * af + u32::from(bgc[k]) * (255 - af) + 127)
                                / 255) as u8;
                        }
                        o[3] = 255;
                    }
                }
            }
        });
    out
}

/// Replaces the backdrop of `img` in one call; returns the result and the matte used.
pub fn replace_background(
    img: &RgbaImage,
    params: &Background,
    strokes: &[BrushStroke],
) -> Result<(RgbaImage, GrayImage), OpError> {
    let matte = compute_matte(img, params, strokes)?;
    let out = apply_fill(&matte, params.fill);
    Ok((out, matte.alpha))
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgba;

    /// A photo of `scene` as the fixtures shoot it: softened by the lens (a 3×3 binomial), with
    /// uniform noise of ±`noise` levels from `seed`.
    fn lens_photo(
        w: u32,
        h: u32,
        seed: u64,
        noise: f32,
        scene: impl Fn(u32, u32) -> [f32; 3],
    ) -> RgbaImage {
        let mut seed = seed;
        let span = 2 * noise as u64 + 1;
        RgbaImage::from_fn(w, h, |x, y| {
            let mut acc = [0.0f32; 3];
            for (dy, wy) in [(-1i32, 1.0f32), (0, 2.0), (1, 1.0)] {
                for (dx, wx) in [(-1i32, 1.0f32), (0, 2.0), (1, 1.0)] {
                    let sx = (x as i32 + dx).clamp(0, w as i32 - 1) as u32;
                    let sy = (y as i32 + dy).clamp(0, h as i32 - 1) as u32;
                    let p = scene(sx, sy);
                    for c in 0..3 {
                        acc[c] += p[c] * wx * wy / 16.0;
                    }
                }
            }
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
            let n = ((seed >> 40) % span) as f32 - noise;
            Rgba(std::array::from_fn(|c| {
                if c == 3 { 255 } else { (acc[c] + n) as u8 }
            }))
        })
    }

    #[test]
    fn small_handle_loop_softened_by_the_lens_is_backdrop() {
        // A dark bottle with a thick carry handle, as the fixtures shoot it: the hole in the
        // handle is only ~12 px tall and the lens blur spreads the handle's darkness two pixels
        // into it, so its rim is anything but smooth.
        let (w, h) = (160u32, 160u32);
        let mut seed = 5u64;
        let sharp: Vec<f32> = (0..w * h)
            .map(|i| {
                let (x, y) = ((i % w) as f32 + 0.5, (i / w) as f32 + 0.5);
                let r = ((x - 80.0).powi(2) + (y - 70.0).powi(2)).sqrt();
                let body = (40.0..120.0).contains(&x) && (70.0..150.0).contains(&y);
                let handle = y < 70.0 && (12.0..20.0).contains(&r);
                if body || handle { 45.0 } else { 205.0 }
            })
            .collect();
        let soft = gaussian_blur_f32(&sharp, w as usize, h as usize, 1.0);
        let img = RgbaImage::from_fn(w, h, |x, y| {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
            let n = ((seed >> 40) % 7) as f32 - 3.0;
            let v = soft[(y * w + x) as usize] + n;
            Rgba([v as u8, (v - 3.0) as u8, (v - 20.0).max(0.0) as u8, 255])
        });
        let matte = compute_matte(&img, &Background::default(), &[]).unwrap();
        assert!(matte.alpha.get_pixel(80, 110)[0] > 250, "body lost");
        assert!(matte.alpha.get_pixel(80, 55)[0] > 250, "handle lost");
        for y in 62..68 {
            assert!(
                matte.alpha.get_pixel(80, y)[0] < 10,
                "hole kept at y = {y}: {}",
                matte.alpha.get_pixel(80, y)[0]
            );
        }
    }

    /// Off-white backdrop with a soft vertical gradient, a dark bag body, a 2-px strap loop
    /// and light noise. Returns the image and the exact product mask.
    fn bag_scene() -> (RgbaImage, Vec<bool>) {
        let (w, h) = (240u32, 200u32);
        let mut mask = vec![false; (w * h) as usize];
        let mut seed = 11u64;
        let img = RgbaImage::from_fn(w, h, |x, y| {
            let body = (70..170).contains(&x) && (90..180).contains(&y);
            // Strap: an arc (upper half of a ring) of width 2 px above the body.
            let (cx, cy) = (120.0f32, 90.0f32);
            let r = ((x as f32 + 0.5 - cx).powi(2) + (y as f32 + 0.5 - cy).powi(2)).sqrt();
            let strap = (y as f32) < cy && (39.0..41.0).contains(&r);
            let inside = body || strap;
            mask[(y * w + x) as usize] = inside;
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
            let n = ((seed >> 40) % 5) as f32 - 2.0;
            let bgv = 238.0 - 10.0 * y as f32 / h as f32 + n;
            let v: [f32; 3] = if inside {
                [90.0 + n, 50.0 + n, 40.0 + n]
            } else {
                [bgv, bgv - 2.0, bgv - 5.0]
            };
            Rgba([v[0] as u8, v[1] as u8, v[2] as u8, 255])
        });
        (img, mask)
    }

    fn iou(a: &GrayImage, truth: &[bool]) -> f64 {
        let mut inter = 0;
        let mut uni = 0;
        for (p, &t) in a.as_raw().iter().zip(truth) {
            let m = *p >= 128;
            inter += usize::from(m && t);
            uni += usize::from(m || t);
        }
        inter as f64 / uni as f64
    }

    #[test]
    fn finds_bag_and_thin_strap() {
        let (img, truth) = bag_scene();
        let matte = compute_matte(&img, &Background::default(), &[]).unwrap();
        let score = iou(&matte.alpha, &truth);
        assert!(score > 0.95, "IoU {score}");
        // The strap's top (y ≈ 50) is product; the inside of the loop stays backdrop.
        assert!(matte.alpha.get_pixel(120, 50)[0] > 128 || matte.alpha.get_pixel(120, 49)[0] > 128);
        assert!(matte.alpha.get_pixel(120, 70)[0] < 10);
    }

    #[test]
    fn edges_have_no_fringe_on_white() {
        let (img, truth) = bag_scene();
        let (out, _) = replace_background(&img, &Background::default(), &[]).unwrap();
        // Pixels 1.5–3 px outside the true product must be white within a small tolerance.
        let (w, h) = (240usize, 200usize);
        let mut checked = 0;
        for y in 3..h - 3 {
            for x in 3..w - 3 {
                if truth[y * w + x] {
                    continue;
                }
                let mut near = f32::INFINITY;
                for dy in -3isize..=3 {
                    for dx in -3isize..=3 {
                        let j = (y as isize + dy) as usize * w + (x as isize + dx) as usize;
                        if truth[j] {
                            near = near.min(((dx * dx + dy * dy) as f32).sqrt());
                        }
                    }
                }
                if near > 1.5 && near <= 3.0 {
                    checked += 1;
                    let p = out.get_pixel(x as u32, y as u32);
                    // The feather may leave a trace (< 8 levels) of the product's own colour.
                    assert!(
                        p.0[..3].iter().all(|&c| c >= 247),
                        "fringe at {x},{y}: {p:?}"
                    );
                }
            }
        }
        assert!(checked > 200);
        // Far from the product the backdrop is exactly white.
        assert_eq!(out.get_pixel(5, 5), &Rgba([255, 255, 255, 255]));
    }

    #[test]
    fn edge_pixels_are_decontaminated() {
        // A partly covered edge column: 60 % dark product over off-white. (Pixels covered less
        // than half go to the backdrop since the boundary re-decision, so the edge never
        // spreads outwards; exactly 50 % would sit on that threshold.)
        let img = RgbaImage::from_fn(80, 60, |x, y| {
            let inside = (20..60).contains(&x) && (20..40).contains(&y);
            let edge = x == 60 && (20..40).contains(&y);
            if inside {
                Rgba([40, 40, 120, 255])
            } else if edge {
                Rgba([120, 118, 168, 255])
            } else {
                Rgba([240, 236, 240, 255])
            }
        });
        let params = Background {
            fill: BackgroundFill::Colour { rgb: [0, 200, 0] },
            feather_px: 0.0,
            ..Background::default()
        };
        let (out, alpha) = replace_background(&img, &params, &[]).unwrap();
        // The solved 0.6 goes through the spill choke: (0.6 − 0.25) / 0.5 = 0.7.
        let a = alpha.get_pixel(60, 30)[0];
        assert!((165..=192).contains(&a), "alpha {a}");
        let p = out.get_pixel(60, 30);
        // Mix of product blue and the new green; no trace of the old off-white (which would
        // lift red above ~60).
        assert!(p[0] < 40, "{p:?}");
        assert!(p[1] > 80, "{p:?}");
    }

    #[test]
    fn transparent_fill_sets_alpha() {
        let (img, _) = bag_scene();
        let params = Background {
            fill: BackgroundFill::Transparent,
            ..Background::default()
        };
        let (out, _) = replace_background(&img, &params, &[]).unwrap();
        assert_eq!(out.get_pixel(5, 5)[3], 0);
        assert_eq!(out.get_pixel(120, 140)[3], 255);
    }

    #[test]
    fn brush_strokes_override_the_automatic_mask() {
        let (img, _) = bag_scene();
        let remove = BrushStroke {
            points: vec![[0.5, 0.7]],
            radius_frac: 0.05,
            mode: BrushMode::Remove,
        };
        let add = BrushStroke {
            points: vec![[0.1, 0.1], [0.2, 0.1]],
            radius_frac: 0.03,
            mode: BrushMode::Add,
        };
        let matte = compute_matte(&img, &Background::default(), &[remove, add]).unwrap();
        assert_eq!(matte.alpha.get_pixel(120, 140)[0], 0);
        assert_eq!(matte.alpha.get_pixel(36, 20)[0], 255);
        assert!(matte.alpha.get_pixel(36, 60)[0] < 5);
    }

    #[test]
    fn low_contrast_white_on_off_white() {
        let (w, h) = (160u32, 120u32);
        let truth: Vec<bool> = (0..w * h)
            .map(|i| {
                let (x, y) = (i % w, i / w);
                (x as i32 - 80).pow(2) + (y as i32 - 60).pow(2) < 35 * 35
            })
            .collect();
        let mut seed = 5u64;
        let img = RgbaImage::from_fn(w, h, |x, y| {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
            let n = ((seed >> 40) % 3) as u8;
            if truth[(y * w + x) as usize] {
                Rgba([252 - n, 252 - n, 251 - n, 255])
            } else {
                Rgba([236 - n, 233 - n, 226 - n, 255])
            }
        });
        let matte = compute_matte(&img, &Background::default(), &[]).unwrap();
        let score = iou(&matte.alpha, &truth);
        assert!(score > 0.95, "IoU {score}");
    }

    #[test]
    fn tinted_glass_hole_is_filled_but_clean_loop_is_not() {
        let (w, h) = (200u32, 120u32);
        let img = RgbaImage::from_fn(w, h, |x, y| {
            let ring = |cx: i32, r_in: i32, r_out: i32| {
                let d2 = (x as i32 - cx).pow(2) + (y as i32 - 60).pow(2);
                (d2 >= r_in * r_in, d2 < r_out * r_out)
            };
            // Left: glass — dark rim with a faintly tinted body. Right: a handle loop.
            let (out_l, in_l) = ring(55, 0, 40);
            let (rim_l, _) = ring(55, 36, 40);
            let (rim_r, in_r) = ring(145, 32, 40);
            if in_l && rim_l && out_l || rim_r && in_r {
                Rgba([60, 70, 80, 255])
            } else if in_l {
                Rgba([239, 242, 241, 255])
            } else {
                Rgba([242, 242, 242, 255])
            }
        });
        let matte = compute_matte(&img, &Background::default(), &[]).unwrap();
        assert!(matte.alpha.get_pixel(55, 60)[0] > 200, "glass body dropped");
        assert!(matte.alpha.get_pixel(145, 60)[0] < 20, "loop interior kept");
    }

    #[test]
    fn narrow_gap_between_two_straps_is_backdrop() {
        // A dark body with two 2-px straps rising from it and meeting at the top: the
        // backdrop between them is a tall gap narrowing from 10 px to nothing, mostly within
        // 2 px of a strap edge.
        let (w, h) = (200u32, 200u32);
        let mut seed = 5u64;
        let strap = |x: f32, y: f32, x0: f32| {
            // Straps lean inwards from x0 at y = 120 to the apex at (100, 40).
            let t = ((120.0 - y) / 80.0).clamp(0.0, 1.0);
            let cx = x0 + (100.0 - x0) * t;
            (40.0..=120.0).contains(&y) && (x - cx).abs() < 1.0
        };
        let img = RgbaImage::from_fn(w, h, |x, y| {
            let (xf, yf) = (x as f32 + 0.5, y as f32 + 0.5);
            let body = (50..150).contains(&x) && (120..180).contains(&y);
            let inside = body || strap(xf, yf, 94.0) || strap(xf, yf, 106.0);
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
            let n = ((seed >> 40) % 5) as f32 - 2.0;
            let v: [f32; 3] = if inside {
                [90.0 + n, 50.0 + n, 40.0 + n]
            } else {
                [214.0 + n, 200.0 + n, 212.0 + n]
            };
            Rgba([v[0] as u8, v[1] as u8, v[2] as u8, 255])
        });
        let matte = compute_matte(&img, &Background::default(), &[]).unwrap();
        // The straps' inner edges are 3 px apart at y 96 and 8 px apart at y 112.
        for y in [96, 105, 112] {
            assert!(
                matte.alpha.get_pixel(100, y)[0] < 10,
                "gap at y {y} kept as product"
            );
        }
        assert!(matte.alpha.get_pixel(100, 150)[0] > 245, "body lost");
    }

    #[test]
    fn dark_contact_line_under_a_product_is_backdrop() {
        // A dark product standing on light paper, with the contact shadow darkest (to 28 % of
        // the paper's light) on the row right under it and fading over a few pixels.
        let (w, h) = (200u32, 160u32);
        let img = RgbaImage::from_fn(w, h, |x, y| {
            if (60..140).contains(&x) && (30..110).contains(&y) {
                return Rgba([78, 43, 30, 255]);
            }
            let below = y as f32 - 109.5;
            let shade = if (60..140).contains(&x) && below > 0.0 {
                0.72 * (-(below - 0.5) / 2.5).exp()
            } else {
                0.0
            };
            let v = 235.0 * (1.0 - shade);
            Rgba([v as u8, (v * 0.96) as u8, v as u8, 255])
        });
        let matte = compute_matte(&img, &Background::default(), &[]).unwrap();
        assert!(
            matte.alpha.get_pixel(100, 110)[0] < 10,
            "contact line kept as product: {}",
            matte.alpha.get_pixel(100, 110)[0]
        );
        assert!(matte.alpha.get_pixel(100, 105)[0] > 245, "product lost");
    }

    #[test]
    fn contact_line_tinted_by_lens_spill_is_backdrop() {
        // As above, but the lens softens the scene (3×3 binomial), so the contact row carries a
        // quarter of the brown product's edge on top of the shadow: neither a pure shadow nor a
        // half-covered product pixel.
        let (w, h) = (200u32, 160u32);
        let scene = |x: u32, y: u32| -> [f32; 3] {
            if (60..140).contains(&x) && (30..110).contains(&y) {
                return [78.0, 43.0, 30.0];
            }
            let below = y as f32 - 109.5;
            let shade = if (60..140).contains(&x) && below > 0.0 {
                0.70 * (-(below - 0.5) / 2.5).exp()
            } else {
                0.0
            };
            let v = 235.0 * (1.0 - shade);
            [v, v * 0.96, v]
        };
        let img = lens_photo(w, h, 3, 2.0, scene);
        let matte = compute_matte(&img, &Background::default(), &[]).unwrap();
        for x in [80, 100, 120] {
            assert!(
                matte.alpha.get_pixel(x, 110)[0] < 10,
                "contact line kept as product at x = {x}: {}",
                matte.alpha.get_pixel(x, 110)[0]
            );
            assert!(matte.alpha.get_pixel(x, 105)[0] > 245, "product lost");
        }
    }

    #[test]
    fn shaded_rim_of_a_pale_product_stays_product() {
        // A beige product on pale green paper, nearly the same brightness: its outer three
        // pixels turn away from the light and are 10% darker than its body. Darkened paper
        // explains them about as well as the plain product/paper mix does, but the product
        // colour, darkened, explains them far better.
        let (w, h) = (200u32, 160u32);
        let (f, b) = ([190.0f32, 185.0, 150.0], [196.0f32, 210.0, 190.0]);
        let radius = |x: u32, y: u32| {
            ((x as f32 + 0.5 - 100.0).powi(2) + (y as f32 + 0.5 - 80.0).powi(2)).sqrt()
        };
        let scene = |x: u32, y: u32| -> [f32; 3] {
            match radius(x, y) {
                r if r < 37.0 => f,
                r if r < 40.0 => f.map(|v| 0.90 * v),
                _ => b,
            }
        };
        let img = lens_photo(w, h, 11, 3.0, scene);
        let matte = compute_matte(&img, &Background::default(), &[]).unwrap();
        let (mut rim, mut kept) = (0, 0);
        for y in 0..h {
            for x in 0..w {
                if (38.0..39.5).contains(&radius(x, y)) {
                    rim += 1;
                    kept += usize::from(matte.alpha.get_pixel(x, y)[0] > 127);
                }
            }
        }
        assert!(kept * 10 >= rim * 9, "{kept} of {rim} rim pixels kept");
        assert!(matte.alpha.get_pixel(100, 80)[0] > 250, "body lost");
        assert!(matte.alpha.get_pixel(100, 37)[0] < 10, "paper kept");
    }

    #[test]
    fn thin_coloured_rim_beside_a_pale_inside_stays_product() {
        // A bowl's far rim seen from above: a 2-px blue lip on pale green paper, a sliver of
        // the pale inside, then the blue body. Near the lip the local product colour is a blend
        // of the pale inside and the body, so the product/paper mix cannot explain the lip's
        // blue, and neither can darkened paper.
        let (w, h) = (200u32, 160u32);
        let scene = |x: u32, y: u32| -> [f32; 3] {
            if !(40..160).contains(&x) || !(40..130).contains(&y) {
                return [196.0, 210.0, 196.0];
            }
            match y {
                40..42 => [75.0, 95.0, 140.0],
                42..45 => [212.0, 212.0, 196.0],
                _ => [60.0, 80.0, 150.0],
            }
        };
        let img = lens_photo(w, h, 17, 3.0, scene);
        let matte = compute_matte(&img, &Background::default(), &[]).unwrap();
        let kept = (50..150)
            .filter(|&x| matte.alpha.get_pixel(x, 41)[0] > 127)
            .count();
        assert!(kept >= 90, "{kept} of 100 lip pixels kept");
        assert!(matte.alpha.get_pixel(100, 43)[0] > 250, "inside lost");
        assert!(matte.alpha.get_pixel(100, 37)[0] < 10, "paper kept");
    }

    #[test]
    fn pale_sole_line_under_a_dark_shoe_stays_product() {
        // A black pump on cool grey paper with a 3-px tan sole line along its bottom edge. The
        // line is as light as a half-covered black/paper pixel, so the mix alone calls it half
        // backdrop; but it is warm where such a mix would be neutral and a shadow cool.
        let (w, h) = (200u32, 160u32);
        let scene = |x: u32, y: u32| -> [f32; 3] {
            if !(50..150).contains(&x) || !(40..103).contains(&y) {
                return [190.0, 198.0, 212.0];
            }
            if y >= 100 {
                [165.0, 140.0, 118.0]
            } else {
                [22.0, 21.0, 24.0]
            }
        };
        let img = lens_photo(w, h, 23, 2.0, scene);
        let matte = compute_matte(&img, &Background::default(), &[]).unwrap();
        let kept = (60..140)
            .filter(|&x| matte.alpha.get_pixel(x, 101)[0] > 127)
            .count();
        assert!(kept >= 72, "{kept} of 80 sole pixels kept");
        assert!(matte.alpha.get_pixel(100, 70)[0] > 250, "body lost");
        assert!(matte.alpha.get_pixel(100, 106)[0] < 10, "paper kept");
    }

    /// A clear glass box on pale grey paper, as the lens sees it: a 3-px wall 20 % darker than
    /// the paper round a body 7 % darker. Returns the photo and the exact product mask.
    fn glass_scene() -> (RgbaImage, Vec<bool>) {
        let (w, h) = (200u32, 160u32);
        let paper = [200.0f32, 204.0, 210.0];
        let inside = |x: u32, y: u32, m: u32| {
            (60 + m..140 - m).contains(&x) && (30 + m..130 - m).contains(&y)
        };
        let scene = |x: u32, y: u32| -> [f32; 3] {
            if inside(x, y, 3) {
                paper.map(|v| 0.93 * v)
            } else if inside(x, y, 0) {
                paper.map(|v| 0.80 * v)
            } else {
                paper
            }
        };
        let truth = (0..w * h).map(|i| inside(i % w, i / w, 0)).collect();
        (lens_photo(w, h, 29, 3.0, scene), truth)
    }

    #[test]
    fn clear_glass_walls_stay_product() {
        // The walls are a darkened backdrop as much as a darkened product; they stand beside
        // and above the glass, where no floor shadow falls, so they stay.
        let (img, truth) = glass_scene();
        let matte = compute_matte(&img, &Background::default(), &[]).unwrap();
        let walls: Vec<(u32, u32)> = (45..115).flat_map(|y| [(61, y), (138, y)]).collect();
        let kept = walls
            .iter()
            .filter(|&&(x, y)| matte.alpha.get_pixel(x, y)[0] > 127)
            .count();
        assert!(
            kept * 20 >= walls.len() * 19,
            "{kept} of {} wall pixels kept",
            walls.len()
        );
        // The wall it stands on is under it, where a contact shadow would be: that one goes.
        let score = iou(&matte.alpha, &truth);
        assert!(score > 0.95, "IoU {score}");
    }

    #[test]
    fn majority_vote_removes_spurs_and_notches_but_keeps_straps() {
        let (w, h) = (40usize, 30usize);
        let mut mask = vec![false; w * h];
        for y in 5..20 {
            for x in 5..20 {
                mask[y * w + x] = true;
            }
        }
        mask[12 * w + 20] = true; // a one-pixel spur on the right edge
        mask[5 * w + 12] = false; // a one-pixel notch in the top edge
        for x in 20..35 {
            // a two-pixel strap leaving the square
            mask[16 * w + x] = true;
            mask[17 * w + x] = true;
        }
        mask[25 * w + 30] = true; // a speck
        smooth_outline(&mut mask, w, h);
        assert!(!mask[12 * w + 20], "spur kept");
        assert!(mask[5 * w + 12], "notch kept");
        assert!(!mask[25 * w + 30], "speck kept");
        assert!(
            (21..34).all(|x| mask[16 * w + x] && mask[17 * w + x]),
            "strap cut"
        );
        assert!(mask[10 * w + 10] && !mask[2 * w + 2], "square changed");
    }

    #[test]
    fn soft_floor_shadow_is_not_product() {
        // A dark box standing on light grey paper with a soft shadow pool in front of it that
        // darkens the paper by up to 35 % of its light (hue unchanged).
        let (w, h) = (200u32, 160u32);
        let truth: Vec<bool> = (0..w * h)
            .map(|i| {
                let (x, y) = (i % w, i / w);
                (60..140).contains(&x) && (30..110).contains(&y)
            })
            .collect();
        let img = RgbaImage::from_fn(w, h, |x, y| {
            if truth[(y * w + x) as usize] {
                return Rgba([70, 40, 110, 255]);
            }
            let dx = (x as f32 - 100.0) / 60.0;
            let dy = (y as f32 - 112.0) / 14.0;
            let shade = 0.35 * (-(dx * dx + dy * dy)).exp();
            let lin = 0.88 * (1.0 - shade);
            let v = (255.0 * lin.powf(1.0 / 2.2)) as u8;
            Rgba([v, v, v.saturating_sub(2), 255])
        });
        let matte = compute_matte(&img, &Background::default(), &[]).unwrap();
        let score = iou(&matte.alpha, &truth);
        assert!(score > 0.95, "IoU {score}");
        assert!(
            matte.alpha.get_pixel(100, 118)[0] < 10,
            "shadow kept as product"
        );
    }

    #[test]
    fn model_follows_a_gradient() {
        let img = RgbaImage::from_fn(100, 80, |x, _| {
            let v = 200 + (x / 3) as u8;
            Rgba([v, v, v, 255])
        });
        let m = BackdropModel::fit_border(&img).unwrap();
        let c = m.colour_at(50.0, 40.0, 100, 80);
        assert!((c[0] - (200.0 + 50.0 / 3.0)).abs() < 1.5, "{c:?}");
    }
}
