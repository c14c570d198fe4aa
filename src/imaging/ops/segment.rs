//! Product segmentation for background cleanup, the part that works from edges rather than
//! colour: sharp edges (thin ridges of the colour gradient that are crisper than a shadow's
//! soft ramp), the backdrop flooded in from the border through everything that is neither
//! colour-different nor an edge, enclosed regions sorted into see-through holes (the inside of
//! a handle) and product (glass, a white sole on white paper), and the final boundary decided
//! pixel by pixel against the local product and backdrop colours.
//!
//! Why edges: a clear glass body or a white sole on off-white paper differs from the backdrop
//! by less than the noise in colour, but its outline is a clean, sharp edge. Soft floor shadows
//! also have gradients, but spread over several pixels; comparing the gradient at two scales
//! tells the two apart without knowing the contrast.

use std::collections::VecDeque;

use rayon::prelude::*;

use super::blur::{box_blur_f32, gaussian_blur_f32};

/// Scale (px) at which edges are found.
const EDGE_SIGMA_PX: f32 = 1.0;
/// Coarser scale (px) used to judge how sharp an edge is.
const COARSE_SIGMA_PX: f32 = 2.5;
/// Edge hysteresis thresholds, as multiples of the border's gradient noise (99th percentile).
const EDGE_LOW_X_NOISE: f32 = 2.0;
const EDGE_HIGH_X_NOISE: f32 = 4.0;
/// Where between "no sharper than a ramp" (ratio 1) and the image's typical product edge an
/// edge must lie to count; measured on the fixtures, product edges ≈ 2.0, shadow edges ≈ 1.35.
const SHARPNESS_FRACTION: f32 = 0.6;
/// Gaps in an outline up to about twice this radius (px) do not let the backdrop flood in.
pub const GAP_BRIDGE_RADIUS_PX: i32 = 2;

/// Box-blurred 0/1 masks carry running-sum rounding; below this is "none in the window",
/// above [`FULL`] is "all of it".
const EMPTY: f32 = 1e-3;
/// A hole's texture is judged on its pixels at the first of these distances (Chebyshev) from
/// its outline that leaves five or more of them: closer in, the blur ramp of the edge around
/// it dominates.
const TEXTURE_INSETS_PX: [usize; 2] = [4, 3];
/// A thin enclosed region opens as a see-through hole when 90 % of its pixels are within this
/// fraction of the low colour threshold from the backdrop (shadow-tolerant distance) (a glass
/// body's reflections reach about 0.6; backdrop seen through a gap about 0.3–0.4 on the
/// fixtures).
const THIN_HOLE_SPREAD: f32 = 0.45;
/// Or when 90 % of its pixels are within this multiple of the border's luminance noise from
/// the backdrop's luminance: JPEG smears colour over 2-px blocks, so in a compressed photo the
/// straps' colour bleeds across a narrow gap while its luminance stays clean (gaps measured at
/// 3.5–3.8× on the fixtures, PNG and JPEG; product slivers at 20× and more).
const THIN_HOLE_LUMA_SPREAD: f32 = 4.5;
const FULL: f32 = 1.0 - 1e-3;

/// Thin, sharp edges of an image and the gradient they come from.
pub struct EdgeMap {
    /// Edge pixels (one pixel wide ridges).
    pub edges: Vec<bool>,
    /// Gradient noise on the border (99th percentile), levels per pixel.
    pub noise: f32,
}

/// Per-channel Gaussian derivatives (central differences of the blurred plane).
fn derivatives(plane: &[f32], w: usize, h: usize, sigma: f32) -> (Vec<f32>, Vec<f32>) {
    let b = gaussian_blur_f32(plane, w, h, sigma);
    let mut gx = vec![0f32; w * h];
    let mut gy = vec![0f32; w * h];
    for y in 0..h {
        let (ym, yp) = (y.saturating_sub(1), (y + 1).min(h - 1));
        for x in 0..w {
            let (xm, xp) = (x.saturating_sub(1), (x + 1).min(w - 1));
            let i = y * w + x;
            gx[i] = 0.5 * (b[y * w + xp] - b[y * w + xm]);
            gy[i] = 0.5 * (b[yp * w + x] - b[ym * w + x]);
        }
    }
    (gx, gy)
}

fn bilinear(v: &[f32], w: usize, h: usize, x: f32, y: f32) -> f32 {
    let x = x.clamp(0.0, (w - 1) as f32);
    let y = y.clamp(0.0, (h - 1) as f32);
    let (x0, y0) = (x.floor() as usize, y.floor() as usize);
    let (x1, y1) = ((x0 + 1).min(w - 1), (y0 + 1).min(h - 1));
    let (fx, fy) = (x - x0 as f32, y - y0 as f32);
    let top = v[y0 * w + x0] * (1.0 - fx) + v[y0 * w + x1] * fx;
    let bottom = v[y1 * w + x0] * (1.0 - fx) + v[y1 * w + x1] * fx;
    top * (1.0 - fy) + bottom * fy
}

/// The `p` quantile (0..1) of `v`, or `None` when empty.
pub fn percentile(mut v: Vec<f32>, p: f32) -> Option<f32> {
    if v.is_empty() {
        return None;
    }
    let k = (((v.len() - 1) as f32) * p).round() as usize;
    v.select_nth_unstable_by(k, f32::total_cmp);
    Some(v[k])
}

/// Finds sharp edges. `border` marks the pixels that measure the gradient noise (the image
/// border band); `colour` is the colour-evidence mask, whose outline sets the image's own
/// "product edge" sharpness; `sensitivity` scales the thresholds like the colour ones.
pub fn sharp_edges(
    planes: &[Vec<f32>; 3],
    w: usize,
    h: usize,
    border: &[bool],
    colour: &[bool],
    sensitivity: f32,
) -> EdgeMap {
    let n = w * h;
    let mut mag = vec![0f32; n];
    let (mut jxx, mut jyy, mut jxy) = (vec![0f32; n], vec![0f32; n], vec![0f32; n]);
    let mut coarse = vec![0f32; n];
    for plane in planes {
        let (gx, gy) = derivatives(plane, w, h, EDGE_SIGMA_PX);
        for i in 0..n {
            jxx[i] += gx[i] * gx[i];
            jyy[i] += gy[i] * gy[i];
            jxy[i] += gx[i] * gy[i];
        }
        let (cx, cy) = derivatives(plane, w, h, COARSE_SIGMA_PX);
        for i in 0..n {
            coarse[i] += cx[i] * cx[i] + cy[i] * cy[i];
        }
    }
    for i in 0..n {
        mag[i] = (jxx[i] + jyy[i]).sqrt();
        coarse[i] = coarse[i].sqrt();
    }
    // Non-maximum suppression across the dominant gradient direction (structure tensor).
    let ridge: Vec<bool> = (0..n)
        .into_par_iter()
        .map(|i| {
            if mag[i] <= 0.0 {
                return false;
            }
            // Dominant eigenvector of [[jxx, jxy], [jxy, jyy]], without trigonometry.
            let (a, b, c) = (jxx[i], jxy[i], jyy[i]);
            let lambda = 0.5 * (a + c) + (0.25 * (a - c) * (a - c) + b * b).sqrt();
            let (vx, vy) = if (lambda - c).abs() >= (lambda - a).abs() {
                (lambda - c, b)
            } else {
                (b, lambda - a)
            };
            let len = (vx * vx + vy * vy).sqrt();
            let (dx, dy) = if len > 0.0 {
                (vx / len, vy / len)
            } else {
                (1.0, 0.0)
            };
            let (x, y) = ((i % w) as f32, (i / w) as f32);
            mag[i] >= bilinear(&mag, w, h, x + dx, y + dy)
                && mag[i] >= bilinear(&mag, w, h, x - dx, y - dy)
        })
        .collect();
    let border_mag: Vec<f32> = (0..n).filter(|&i| border[i]).map(|i| mag[i]).collect();
    // A floor keeps noiseless synthetic images from turning rounding steps into edges.
    let noise = percentile(border_mag, 0.99).unwrap_or(0.0).max(0.5);
    let sens = sensitivity.clamp(0.1, 10.0);
    let (lo, hi) = (
        EDGE_LOW_X_NOISE * noise / sens,
        EDGE_HIGH_X_NOISE * noise / sens,
    );
    let ratio = |i: usize| mag[i] / coarse[i].max(1e-3);

    // The image's own product-edge sharpness: strong ridges on the outline of the colour mask.
    let on_colour_outline = |i: usize| {
        let (x, y) = (i % w, i / w);
        let mut any_in = false;
        let mut any_out = false;
        for ny in y.saturating_sub(1)..(y + 2).min(h) {
            for nx in x.saturating_sub(1)..(x + 2).min(w) {
                if colour[ny * w + nx] {
                    any_in = true;
                } else {
                    any_out = true;
                }
            }
        }
        any_in && any_out
    };
    let reference: Vec<f32> = (0..n)
        .filter(|&i| ridge[i] && mag[i] > hi && on_colour_outline(i))
        .map(ratio)
        .collect();
    let reference_sharpness = if reference.len() > 20 {
        percentile(reference, 0.5).unwrap_or(2.0).clamp(1.2, 4.0)
    } else {
        2.0
    };
    let min_sharpness = 1.0 + SHARPNESS_FRACTION * (reference_sharpness - 1.0);
    let candidate: Vec<f32> = (0..n)
        .map(|i| {
            if ridge[i] && ratio(i) >= min_sharpness {
                mag[i]
            } else {
                0.0
            }
        })
        .collect();
    let mut edges = vec![false; n];
    let mut queue = VecDeque::new();
    for (i, &c) in candidate.iter().enumerate() {
        if c > hi {
            edges[i] = true;
            queue.push_back(i);
        }
    }
    while let Some(i) = queue.pop_front() {
        let (x, y) = (i % w, i / w);
        for ny in y.saturating_sub(1)..(y + 2).min(h) {
            for nx in x.saturating_sub(1)..(x + 2).min(w) {
                let j = ny * w + nx;
                if !edges[j] && candidate[j] > lo {
                    edges[j] = true;
                    queue.push_back(j);
                }
            }
        }
    }
    EdgeMap { edges, noise }
}

fn disk_offsets(r: i32) -> Vec<(i32, i32)> {
    let mut v = Vec::new();
    for dy in -r..=r {
        for dx in -r..=r {
            if dx * dx + dy * dy <= r * r {
                v.push((dx, dy));
            }
        }
    }
    v
}

/// The backdrop: everything reachable from the image border without crossing a `barrier`
/// pixel or squeezing through a gap narrower than about 2·`gap_radius` + 1 px (the free space
/// is opened by a disc, flooded 4-connected from the border, and grown back by the disc).
pub fn backdrop_from_border(barrier: &[bool], w: usize, h: usize, gap_radius: i32) -> Vec<bool> {
    let n = w * h;
    let disk = disk_offsets(gap_radius.max(0));
    let at = |x: i32, y: i32| x >= 0 && y >= 0 && (x as usize) < w && (y as usize) < h;
    // Outside the image counts as free, so the flood can start at a border pixel next to it.
    let roomy: Vec<bool> = (0..n)
        .map(|i| {
            let (x, y) = ((i % w) as i32, (i / w) as i32);
            disk.iter().all(|&(dx, dy)| {
                let (nx, ny) = (x + dx, y + dy);
                !at(nx, ny) || !barrier[ny as usize * w + nx as usize]
            })
        })
        .collect();
    let mut reached = vec![false; n];
    let mut queue = VecDeque::new();
    let mut seed = |i: usize, reached: &mut Vec<bool>| {
        if roomy[i] && !reached[i] {
            reached[i] = true;
            queue.push_back(i);
        }
    };
    for x in 0..w {
        seed(x, &mut reached);
        seed((h - 1) * w + x, &mut reached);
    }
    for y in 0..h {
        seed(y * w, &mut reached);
        seed(y * w + w - 1, &mut reached);
    }
    while let Some(i) = queue.pop_front() {
        let (x, y) = (i % w, i / w);
        let mut push = |j: usize| {
            if roomy[j] && !reached[j] {
                reached[j] = true;
                queue.push_back(j);
            }
        };
        if x > 0 {
            push(i - 1);
        }
        if x + 1 < w {
            push(i + 1);
        }
        if y > 0 {
            push(i - w);
        }
        if y + 1 < h {
            push(i + w);
        }
    }
    // Grow back by the disc, but never onto a barrier.
    let mut back = reached.clone();
    for (i, _) in reached.iter().enumerate().filter(|(_, r)| **r) {
        let (x, y) = ((i % w) as i32, (i / w) as i32);
        for &(dx, dy) in &disk {
            let (nx, ny) = (x + dx, y + dy);
            if at(nx, ny) {
                let j = ny as usize * w + nx as usize;
                if !barrier[j] {
                    back[j] = true;
                }
            }
        }
    }
    back
}

/// Which neighbours join a pixel to a component.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Connectivity {
    /// Left, right, up, down.
    Four,
    /// The four plus the diagonals.
    Eight,
}

/// Labels the connected components of `true` pixels; returns (labels, sizes), label 0 = none.
pub(super) fn components(
    mask: &[bool],
    w: usize,
    h: usize,
    connectivity: Connectivity,
) -> (Vec<u32>, Vec<usize>) {
    let mut labels = vec![0u32; mask.len()];
    let mut sizes = vec![0usize];
    let mut stack = Vec::new();
    for start in 0..mask.len() {
        if !mask[start] || labels[start] != 0 {
            continue;
        }
        let label = sizes.len() as u32;
        let mut size = 0usize;
        labels[start] = label;
        stack.push(start);
        while let Some(i) = stack.pop() {
            size += 1;
            let (x, y) = (i % w, i / w);
            let (left, right, up, down) = (x > 0, x + 1 < w, y > 0, y + 1 < h);
            let diagonal = connectivity == Connectivity::Eight;
            let nb = [
                left.then(|| i - 1),
                right.then(|| i + 1),
                up.then(|| i - w),
                down.then(|| i + w),
                (diagonal && left && up).then(|| i - w - 1),
                (diagonal && right && up).then(|| i - w + 1),
                (diagonal && left && down).then(|| i + w - 1),
                (diagonal && right && down).then(|| i + w + 1),
            ];
            for j in nb.into_iter().flatten() {
                if mask[j] && labels[j] == 0 {
                    labels[j] = label;
                    stack.push(j);
                }
            }
        }
        sizes.push(size);
    }
    (labels, sizes)
}

/// What decides whether an enclosed region is a see-through hole.
pub struct HoleCues<'a> {
    /// Colour evidence (opaque product).
    pub colour: &'a [bool],
    /// Colour evidence or edge.
    pub barrier: &'a [bool],
    /// Shadow-tolerant distance from the backdrop model, levels.
    pub dist: &'a [f32],
    /// Low colour threshold, levels.
    pub t_lo: f32,
    /// The image's colour planes, levels.
    pub planes: &'a [Vec<f32>; 3],
    /// Gradient noise on the border at [`EDGE_SIGMA_PX`], levels per pixel.
    pub noise: f32,
    /// Per pixel, |luminance − the backdrop model's luminance|, levels.
    pub luma_dev: &'a [f32],
    /// 90th percentile of `luma_dev` over the border's backdrop pixels, levels.
    pub luma_noise: f32,
}

/// Colour gradient magnitude inside `region` only, at [`EDGE_SIGMA_PX`]: the planes are
/// smoothed by normalised convolution over region pixels and differenced between region
/// pixels, so the strong edge just outside a thin region (the strap beside a narrow gap) does
/// not bleed into it. Outside the region the result is 0.
fn region_gradient(planes: &[Vec<f32>; 3], region: &[bool], w: usize, h: usize) -> Vec<f32> {
    let n = w * h;
    let weight: Vec<f32> = region.iter().map(|&r| if r { 1.0 } else { 0.0 }).collect();
    let weight_blur = gaussian_blur_f32(&weight, w, h, EDGE_SIGMA_PX);
    let mut sq = vec![0f32; n];
    for plane in planes {
        let masked: Vec<f32> = (0..n).map(|i| plane[i] * weight[i]).collect();
        let blurred = gaussian_blur_f32(&masked, w, h, EDGE_SIGMA_PX);
        let smooth: Vec<f32> = (0..n)
            .map(|i| {
                if region[i] {
                    blurred[i] / weight_blur[i].max(1e-6)
                } else {
                    0.0
                }
            })
            .collect();
        // Central difference where both neighbours are in the region, one-sided where one is.
        let diff = |i: usize, before: Option<usize>, after: Option<usize>| -> f32 {
            let before = before.filter(|&j| region[j]);
            let after = after.filter(|&j| region[j]);
            match (before, after) {
                (Some(a), Some(b)) => 0.5 * (smooth[b] - smooth[a]),
                (Some(a), None) => smooth[i] - smooth[a],
                (None, Some(b)) => smooth[b] - smooth[i],
                (None, None) => 0.0,
            }
        };
        for i in 0..n {
            if !region[i] {
                continue;
            }
            let (x, y) = (i % w, i / w);
            let gx = diff(i, (x > 0).then(|| i - 1), (x + 1 < w).then(|| i + 1));
            let gy = diff(i, (y > 0).then(|| i - w), (y + 1 < h).then(|| i + w));
            sq[i] += gx * gx + gy * gy;
        }
    }
    sq.into_iter().map(f32::sqrt).collect()
}

/// Share of a see-through hole's outline that must be next to opaque product. Every handle and
/// strap loop of the fixtures has 100%; the clear bottle saved as JPEG has 81% (75% was the
/// bar before, which opened its body once JPEG grain made the backdrop as rough as the glass).
const HOLE_RING_SHARE: f32 = 0.9;

/// A region enclosed by the product is a see-through hole (the inside of a handle or strap
/// loop) when it is ringed by opaque product (colour evidence within 2 px of at least
/// [`HOLE_RING_SHARE`] of its outline: a loop is its handle all round, while a clear bottle's
/// body is bounded by bare glass walls over a fifth of its outline), looks like the backdrop
/// (hue within half the low threshold; darkening from the product's shadow allowed) and is as
/// smooth as the backdrop (90th-percentile gradient below 1.4× the border's noise, measured
/// inside the region only and away from its outline so that the straps' own edges and their
/// blur do not count; a region too thin for that measure must instead keep its colour within
/// [`THIN_HOLE_SPREAD`] of the low threshold or its luminance within [`THIN_HOLE_LUMA_SPREAD`]
/// of the border's luminance noise). Anything else enclosed — the body of a glass bottle
/// ringed by its own rims, a white sole outlined by shading — is product.
pub fn open_see_through_holes(mask: &mut [bool], cues: &HoleCues<'_>, w: usize, h: usize) {
    let n = w * h;
    let free_inside: Vec<bool> = (0..n).map(|i| mask[i] && !cues.barrier[i]).collect();
    let (labels, sizes) = components(&free_inside, w, h, Connectivity::Four);
    let min_px = (n / 4000).max(9);
    let near = |v: &[bool], r: usize| -> Vec<f32> {
        let f: Vec<f32> = v.iter().map(|&b| if b { 1.0 } else { 0.0 }).collect();
        box_blur_f32(&f, w, h, r)
    };
    let colour_near = near(cues.colour, 2);
    let barrier_near2 = near(cues.barrier, 2);
    let barrier_near1 = near(cues.barrier, 1);
    let k = sizes.len();
    let mut ring = vec![0usize; k];
    let mut ring_colour = vec![0usize; k];
    for i in 0..n {
        if labels[i] != 0 {
            continue;
        }
        let (x, y) = (i % w, i / w);
        let mut seen = [0u32; 4];
        let nb = [
            (x > 0).then(|| i - 1),
            (x + 1 < w).then(|| i + 1),
            (y > 0).then(|| i - w),
            (y + 1 < h).then(|| i + w),
        ];
        for (s, j) in nb.into_iter().enumerate() {
            let Some(j) = j else { continue };
            let l = labels[j];
            if l == 0 || seen[..s].contains(&l) {
                continue;
            }
            seen[s] = l;
            ring[l as usize] += 1;
            if colour_near[i] > EMPTY {
                ring_colour[l as usize] += 1;
            }
        }
    }
    let mut core2: Vec<Vec<usize>> = vec![Vec::new(); k];
    let mut core1: Vec<Vec<usize>> = vec![Vec::new(); k];
    for i in 0..n {
        let l = labels[i] as usize;
        if l == 0 || sizes[l] < min_px {
            continue;
        }
        if barrier_near2[i] < EMPTY {
            core2[l].push(i);
        } else if barrier_near1[i] < EMPTY {
            core1[l].push(i);
        }
    }
    let mut texture: Option<Vec<f32>> = None;
    let mut outside_near: Option<[Vec<f32>; 2]> = None;
    let open: Vec<bool> = (0..k)
        .map(|l| {
            if l == 0 || sizes[l] < min_px || ring[l] == 0 {
                return false;
            }
            if (ring_colour[l] as f32) < HOLE_RING_SHARE * ring[l] as f32 {
                return false;
            }
            let core = if core2[l].len() >= 5 {
                &core2[l]
            } else {
                &core1[l]
            };
            if core.len() < 5 {
                return false;
            }
            let hue = percentile(core.iter().map(|&i| cues.dist[i]).collect(), 0.5)
                .unwrap_or(f32::INFINITY);
            if hue >= 0.5 * cues.t_lo {
                return false;
            }
            if core.len() == core2[l].len() && core2[l].len() * 4 < sizes[l] {
                // A thin region (a gap between two straps, at least 5 px wide somewhere):
                // mostly close to its outline, so the gradient averages too few pixels to be
                // judged against the border's noise. Its colour must instead stay close to the
                // backdrop throughout. Thinner slivers (a watch lug) stay product.
                let p90 = |v: &[f32]| {
                    percentile(core.iter().map(|&i| v[i]).collect(), 0.9).unwrap_or(f32::INFINITY)
                };
                return p90(cues.dist) < THIN_HOLE_SPREAD * cues.t_lo
                    || p90(cues.luma_dev) < THIN_HOLE_LUMA_SPREAD * cues.luma_noise;
            }
            let texture =
                texture.get_or_insert_with(|| region_gradient(cues.planes, &free_inside, w, h));
            // The region's own rim is the soft ramp of the surrounding edge (lens blur spreads
            // a dark handle a pixel or two into its hole): judge the texture deeper inside when
            // the region has a deeper inside.
            let outside = outside_near.get_or_insert_with(|| {
                let out: Vec<bool> = free_inside.iter().map(|&f| !f).collect();
                TEXTURE_INSETS_PX.map(|r| near(&out, r))
            });
            let deep = outside.iter().find_map(|o| {
                let deep: Vec<usize> = core.iter().copied().filter(|&i| o[i] < EMPTY).collect();
                (deep.len() >= 5).then_some(deep)
            });
            let judged = deep.as_ref().unwrap_or(core);
            let tex = percentile(judged.iter().map(|&i| texture[i]).collect(), 0.9)
                .unwrap_or(f32::INFINITY);
            tex < 1.4 * cues.noise
        })
        .collect();
    for i in 0..n {
        if open[labels[i] as usize] && labels[i] != 0 {
            mask[i] = false;
        }
    }
}

/// Whether `px` is a shadowed backdrop pixel carrying only the lens spill of the product next
/// to it: px ≈ a·F + b·B with a at most [`SPILL_SHADOW_MAX_COVER`] and the backdrop share
/// darkened by a plausible shadow, fitting clearly better than the product/backdrop mix (whose
/// squared residual is `r_mix`). The contact line right under a product is such a pixel: dark
/// from the shadow, tinted by the product's blurred bottom edge. Only decided when F and B
/// differ in hue (are not nearly colinear), since otherwise a shadow and a product mix are the
/// same colour.
fn spilled_shadow(px: [f32; 3], f: [f32; 3], b: [f32; 3], r_mix: f32) -> bool {
    let dot = |u: [f32; 3], v: [f32; 3]| (0..3).map(|c| u[c] * v[c]).sum::<f32>();
    let (ff, bb, fbd) = (dot(f, f), dot(b, b), dot(f, b));
    let det = ff * bb - fbd * fbd;
    // sin² of the angle between F and B.
    if ff < 1.0 || bb < 1.0 || det / (ff * bb) < SPILL_SHADOW_MIN_SIN2 {
        return false;
    }
    let (pf, pb) = (dot(px, f), dot(px, b));
    let a = (pf * bb - pb * fbd) / det;
    let beta = (pb * ff - pf * fbd) / det;
    if !(0.0..=SPILL_SHADOW_MAX_COVER).contains(&a) {
        return false;
    }
    let t = beta / (1.0 - a);
    if !(0.2..1.0).contains(&t) {
        return false;
    }
    let resid: f32 = (0..3)
        .map(|c| (px[c] - a * f[c] - beta * b[c]).powi(2))
        .sum();
    resid * SPILL_SHADOW_EVIDENCE < r_mix
}

/// Most product coverage a shadowed backdrop pixel may show from lens spill (the fixture lens,
/// a 3×3 binomial, spreads a quarter of an edge pixel onto its neighbour; noise adds a little).
const SPILL_SHADOW_MAX_COVER: f32 = 0.3;
/// How much better the spill-and-shadow fit must be than the plain mix.
const SPILL_SHADOW_EVIDENCE: f32 = 3.0;
/// F and B must differ in direction by at least asin(√this) (~18°).
const SPILL_SHADOW_MIN_SIN2: f32 = 0.1;

/// Squared RGB residual (over three channels, ~12 levels each) beyond which a pixel is not a
/// mix of the local product colour and the backdrop: it is a third colour, another material.
pub const MAX_MIX_MISS: f32 = 400.0;

/// Re-decides every pixel within 2 px of the mask's outline: with F the local product colour
/// (normalised convolution over pixels ≥ 3 px inside) and B the local backdrop (the same over
/// pixels ≥ 3 px outside, so a contact shadow's darkness is part of B; the model where there
/// are none), the pixel is product when the mixing equation gives α ≥ ½. Where F and B are too
/// close to tell apart (a white product on white) the edge-based decision stands. A pixel
/// better explained as darkened backdrop (a contact shadow) than as that mix is backdrop,
/// provided darkened backdrop actually fits it, and unless the product colour darkened (the
/// product's own shaded rim) fits it far better still, or fits it as well where no floor
/// shadow can fall (beside or above the product: the walls of clear glass). Under the product,
/// in a pool of shade, darkened backdrop that fits is enough. A pixel neither the mix nor a
/// shadow explains is a third colour and product.
pub fn refine_boundary(
    planes: &[Vec<f32>; 3],
    mask: &mut [bool],
    model: &[[f32; 3]],
    w: usize,
    h: usize,
) {
    const PASSES: usize = 2;
    // Box window (running sums: the preview budget cannot afford Gaussians here).
    const WINDOW_RADIUS_PX: usize = 4;
    const MIN_CONTRAST_LEVELS: f32 = 20.0;
    // Deeper darkening than this (share of the backdrop's level) is not read as shadow.
    const MIN_SHADOW_SCALE: f32 = 0.35;
    // Down to this, when a darkened backdrop explains the pixel ten times better than the mix
    // (the contact line right under a product, darkest where the product touches the paper).
    const MIN_DEEP_SHADOW_SCALE: f32 = 0.2;
    const DEEP_SHADOW_EVIDENCE: f32 = 10.0;
    // A shadow is the backdrop darkened: a pixel it misses by more than this (squared residual
    // over three channels, ~12 levels each) is some other colour, e.g. a thin coloured rim
    // between a pale product's inside and the paper, which the product/paper mix cannot
    // explain either; the mixing equation decides it.
    const MAX_SHADOW_MISS: f32 = 400.0;
    // A product's rim may be this much darker than its body.
    const MIN_SHADED_PRODUCT: f32 = 0.6;
    const SHADED_PRODUCT_EVIDENCE: f32 = 10.0;
    // …and only where the darkened backdrop misses the pixel by more than the noise (squared
    // residual over three channels, ~7 levels each): a faint darkening beside pale glass fits
    // both within the noise and stays decided as before.
    const SHADED_MIN_SHADOW_MISS: f32 = 150.0;
    // The local backdrop is in shade when it is darker than this share of the modelled one.
    const SHADOW_POOL_LEVEL: f32 = 0.9;
    let n = w * h;
    let before = mask.to_vec();
    for pass in 0..PASSES {
        let m: Vec<f32> = mask.iter().map(|&b| if b { 1.0 } else { 0.0 }).collect();
        let near3 = box_blur_f32(&m, w, h, 3);
        let near2 = box_blur_f32(&m, w, h, 2);
        let inner: Vec<f32> = near3
            .iter()
            .map(|&v| if v > FULL { 1.0 } else { 0.0 })
            .collect();
        let outer: Vec<f32> = near3
            .iter()
            .map(|&v| if v < EMPTY { 1.0 } else { 0.0 })
            .collect();
        let wf = box_blur_f32(&inner, w, h, WINDOW_RADIUS_PX);
        let wb = box_blur_f32(&outer, w, h, WINDOW_RADIUS_PX);
        let conv = |weights: &[f32], c: usize| {
            let p: Vec<f32> = (0..n).map(|i| planes[c][i] * weights[i]).collect();
            box_blur_f32(&p, w, h, WINDOW_RADIUS_PX)
        };
        let f: [Vec<f32>; 3] = std::array::from_fn(|c| conv(&inner, c));
        let b: [Vec<f32>; 3] = std::array::from_fn(|c| conv(&outer, c));
        // Product (true) or backdrop (false), or None where the colours cannot tell.
        let decide = |i: usize| -> Option<bool> {
            if wf[i] < 0.02 {
                return None;
            }
            let fc: [f32; 3] = std::array::from_fn(|c| f[c][i] / wf[i]);
            let bc: [f32; 3] = if wb[i] >= 0.02 {
                std::array::from_fn(|c| b[c][i] / wb[i])
            } else {
                model[i]
            };
            let fb: [f32; 3] = std::array::from_fn(|c| fc[c] - bc[c]);
            let fb2: f32 = fb.iter().map(|v| v * v).sum();
            if fb2 <= MIN_CONTRAST_LEVELS * MIN_CONTRAST_LEVELS {
                return None;
            }
            let px: [f32; 3] = std::array::from_fn(|c| planes[c][i]);
            let alpha =
                ((0..3).map(|c| fb[c] * (px[c] - bc[c])).sum::<f32>() / fb2).clamp(0.0, 1.0);
            // A contact shadow can be as dark as the product's base; it is backdrop when a
            // darkened backdrop (the lighter of the local and the modelled one, scaled by s)
            // explains the pixel better than the product/backdrop mix does.
            let resid = |q: [f32; 3]| (0..3).map(|c| (px[c] - q[c]).powi(2)).sum::<f32>();
            let mix: [f32; 3] = std::array::from_fn(|c| alpha * fc[c] + (1.0 - alpha) * bc[c]);
            let lit: [f32; 3] = std::array::from_fn(|c| bc[c].max(model[i][c]));
            let lit2: f32 = lit.iter().map(|v| v * v).sum::<f32>().max(1.0);
            let s = (0..3).map(|c| px[c] * lit[c]).sum::<f32>() / lit2;
            let (r_shadow, r_mix) = (resid(std::array::from_fn(|c| s * lit[c])), resid(mix));
            // Under the product, with the paper around it in shade, a floor shadow is expected:
            // a pixel darkened paper fits is shadow however well the mix fits it too (the
            // contact row of a near-neutral product, where the two are the same colour).
            let in_pool = bc.iter().sum::<f32>() < SHADOW_POOL_LEVEL * model[i].iter().sum::<f32>();
            let under = product_above(&m, i, w, h);
            let expected = in_pool && under;
            let shadow = ((MIN_SHADOW_SCALE..1.0).contains(&s)
                && (r_shadow < r_mix || expected)
                && r_shadow < MAX_SHADOW_MISS)
                || ((MIN_DEEP_SHADOW_SCALE..MIN_SHADOW_SCALE).contains(&s)
                    && r_shadow * DEEP_SHADOW_EVIDENCE < r_mix)
                || spilled_shadow(px, fc, lit, r_mix);
            // The product's own shading at its silhouette (a rim turning away from the light)
            // is darker than its body but keeps its hue: when the product colour, darkened,
            // explains the pixel far better than the darkened backdrop, it is product.
            let f2: f32 = fc.iter().map(|v| v * v).sum::<f32>().max(1.0);
            let k = (0..3).map(|c| px[c] * fc[c]).sum::<f32>() / f2;
            let r_shaded = resid(std::array::from_fn(|c| k * fc[c]));
            let shaded_by_colour =
                r_shadow > SHADED_MIN_SHADOW_MISS && r_shaded * SHADED_PRODUCT_EVIDENCE < r_shadow;
            // Where the product's colour is the backdrop's (clear glass), its darkened wall and
            // a darkened backdrop explain the pixel equally well: a floor shadow lies under the
            // product, so beside or above it the pixel is the wall.
            let shaded_by_place =
                r_shadow <= SHADED_MIN_SHADOW_MISS && r_shaded <= SHADED_MIN_SHADOW_MISS && !under;
            let shaded =
                (MIN_SHADED_PRODUCT..=1.0).contains(&k) && (shaded_by_colour || shaded_by_place);
            // Neither the product/backdrop mix nor a darkened backdrop explains the pixel: it
            // is a third colour, a thin rim of another material between the product's body and
            // the paper (the tan sole line under a black shoe), which the mix alone would call
            // half backdrop.
            let third_colour = r_mix > MAX_MIX_MISS && r_shadow > MAX_SHADOW_MISS;
            Some((alpha >= 0.5 || third_colour) && (!shadow || shaded))
        };
        for i in 0..n {
            // Band: within 2 px (Chebyshev) of a mask change.
            if near2[i] < EMPTY || near2[i] > FULL {
                continue;
            }
            if let Some(product) = decide(i) {
                mask[i] = product;
            }
        }
        if pass + 1 == PASSES {
            // The band moved with the outline, so a one-pixel line can be left standing between
            // pixels just turned to backdrop (the middle row of a contact shadow): decide those
            // too. Lines only, so a solid product cannot be eroded further. Where no product
            // pixel is near enough to decide by colour, a line whose both sides this
            // refinement turned to backdrop goes with them.
            for i in 0..n {
                if mask[i] && thin_line(mask, i, w, h) {
                    mask[i] = decide(i).unwrap_or_else(|| !between_removed(&before, mask, i, w, h));
                }
            }
        }
    }
}

/// Share of the product's excess on one side of a pixel that its excess above must beat for
/// the pixel to count as under it (see [`product_above`]).
const STEEP_SIDE: f32 = 0.75;

/// Whether `i` lies under the product: more of the product above it than below (within 3 rows
/// and 2 columns), and the outline running across rather than down there (the excess above
/// beats [`STEEP_SIDE`] of the excess on either side), so the side of a tapering heel or leg,
/// where the product also widens upwards, is not under it. A floor shadow falls under the
/// product.
fn product_above(m: &[f32], i: usize, w: usize, h: usize) -> bool {
    let (x, y) = (i % w, i / w);
    let sum = |xs: std::ops::Range<usize>, ys: std::ops::Range<usize>| -> f32 {
        ys.flat_map(|yy| xs.clone().map(move |xx| m[yy * w + xx]))
            .sum()
    };
    let (cols, rows) = (
        x.saturating_sub(2)..(x + 3).min(w),
        y.saturating_sub(2)..(y + 3).min(h),
    );
    let above = sum(cols.clone(), y.saturating_sub(3)..y);
    let below = sum(cols, (y + 1).min(h)..(y + 4).min(h));
    let left = sum(x.saturating_sub(3)..x, rows.clone());
    let right = sum((x + 1).min(w)..(x + 4).min(w), rows);
    let (down, across) = (above - below, (left - right).abs());
    down > 2.0 && down > STEEP_SIDE * across
}

/// Whether both neighbours of `i` along one axis were in the mask `before` and are out now.
fn between_removed(before: &[bool], mask: &[bool], i: usize, w: usize, h: usize) -> bool {
    let (x, y) = (i % w, i / w);
    let removed = |j: usize| before[j] && !mask[j];
    (x > 0 && x + 1 < w && removed(i - 1) && removed(i + 1))
        || (y > 0 && y + 1 < h && removed(i - w) && removed(i + w))
}

/// A mask pixel whose two opposite 4-neighbours (left and right, or above and below) are both
/// outside the mask.
fn thin_line(mask: &[bool], i: usize, w: usize, h: usize) -> bool {
    let (x, y) = (i % w, i / w);
    let out = |j: Option<usize>| j.is_none_or(|j| !mask[j]);
    let horizontal = out((x > 0).then(|| i - 1)) && out((x + 1 < w).then(|| i + 1));
    let vertical = out((y > 0).then(|| i - w)) && out((y + 1 < h).then(|| i + w));
    horizontal || vertical
}
