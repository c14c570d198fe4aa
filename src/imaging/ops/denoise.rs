//! Edge-preserving denoise: a compact non-local means with automatic noise estimation.
//!
//! Each pixel becomes a weighted mean of pixels in a small search window whose surrounding
//! patches look alike, so edges (whose patches differ) are kept while flat-area noise
//! averages out. Patch distances for one offset are computed for a whole band of rows at once
//! with separable running sums, so the cost per pixel is a few dozen flops per offset rather
//! than a patch comparison; bands run in parallel.
//!
//! The noise level sets the filter. White sensor noise is measured directly (Immerkær's
//! Laplacian-difference mask), but JPEG removes exactly the high frequencies that estimator
//! looks at, while leaving blocky mid-frequency noise behind. So for JPEG-decoded input the
//! quantisation step of the low DCT coefficients is recovered from the pixels (decoded
//! coefficients cluster on multiples of the step), and the effective noise level is taken as a
//! share of that step; the larger of the two estimates wins.

use image::RgbaImage;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// Parameters of the denoise operation.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Denoise {
    /// Filtering strength relative to the noise level (h = strength × sigma).
    pub strength: f32,
    /// Noise standard deviation in 0–255 levels; `None` estimates it from the image.
    pub sigma_levels: Option<f32>,
    /// Effective noise level per unit of detected JPEG quantisation step.
    pub jpeg_sigma_per_step: f32,
    /// Search window radius.
    pub search_radius_px: u32,
    /// Patch radius (1 = 3×3 patches).
    pub patch_radius_px: u32,
    /// Below this estimated noise (levels) the image is left alone.
    pub min_sigma_levels: f32,
}

impl Default for Denoise {
    fn default() -> Self {
        Self {
            strength: 0.66,
            sigma_levels: None,
            jpeg_sigma_per_step: 0.45,
            search_radius_px: 3,
            patch_radius_px: 1,
            min_sigma_levels: 0.8,
        }
    }
}

/// Estimates the noise standard deviation (levels) of `img`: the median absolute response to
/// Immerkær's Laplacian-difference mask, which cancels smooth structure, rescaled for Gaussian
/// noise. Using the median keeps edges and texture from inflating the estimate.
pub fn estimate_noise_sigma(img: &RgbaImage) -> f32 {
    let (w, h) = (img.width() as usize, img.height() as usize);
    if w < 3 || h < 3 {
        return 0.0;
    }
    let raw = img.as_raw();
    let step = ((w * h) / 250_000).max(1); // subsample rows on big images
    let mut sigmas = [0f32; 3];
    for (c, s) in sigmas.iter_mut().enumerate() {
        let at = |x: usize, y: usize| i32::from(raw[4 * (y * w + x) + c]);
        let mut resp: Vec<u16> = Vec::with_capacity((w - 2) * (h - 2) / step + 1);
        for y in (1..h - 1).step_by(step) {
            for x in 1..w - 1 {
                let v = at(x - 1, y - 1) + at(x + 1, y - 1) + at(x - 1, y + 1) + at(x + 1, y + 1)
                    - 2 * (at(x, y - 1) + at(x - 1, y) + at(x + 1, y) + at(x, y + 1))
                    + 4 * at(x, y);
                resp.push(v.unsigned_abs() as u16);
            }
        }
        if resp.is_empty() {
            continue;
        }
        let mid = resp.len() / 2;
        let (_, median, _) = resp.select_nth_unstable(mid);
        // For Gaussian noise the response has std 6σ and median |·| = 0.6745 × 6σ.
        *s = f32::from(*median) / (0.6745 * 6.0);
    }
    (sigmas[0] + sigmas[1] + sigmas[2]) / 3.0
}

/// The noise level denoise uses when none is given: the larger of the white-noise estimate
/// and the JPEG-step estimate.
pub fn effective_sigma(img: &RgbaImage, p: &Denoise) -> f32 {
    let white = estimate_noise_sigma(img);
    let jpeg = estimate_jpeg_step(img).map_or(0.0, |q| q * p.jpeg_sigma_per_step);
    white.max(jpeg)
}

/// Low-frequency luma DCT coefficients whose quantisation step is probed: (row, column).
const PROBE_COEFFS: [(usize, usize); 5] = [(0, 1), (1, 0), (1, 1), (0, 2), (2, 0)];

/// Recovers the luma quantisation step of a JPEG-decoded image (8×8 grid at the origin), or
/// `None` when the pixels show no quantisation (not a JPEG, or cropped off-grid). Decoded
/// coefficients sit near multiples of their step; the largest step (2–40) under which most
/// non-zero coefficients are near a multiple is taken, per probed coefficient, and the median
/// across coefficients is returned.
pub fn estimate_jpeg_step(img: &RgbaImage) -> Option<f32> {
    let (w, h) = (img.width() as usize, img.height() as usize);
    let (bw, bh) = (w / 8, h / 8);
    if bw == 0 || bh == 0 {
        return None;
    }
    let step = ((bw * bh) / 20_000).max(1);
    let basis: Vec<[[f32; 8]; 8]> = PROBE_COEFFS
        .iter()
        .map(|&(u, v)| {
            let alpha = |k: usize| {
                if k == 0 {
                    (1.0f32 / 8.0).sqrt()
                } else {
                    (2.0f32 / 8.0).sqrt()
                }
            };
            let mut b = [[0f32; 8]; 8];
            for (y, row) in b.iter_mut().enumerate() {
                for (x, val) in row.iter_mut().enumerate() {
                    let cy = ((2 * y + 1) as f32 * u as f32 * std::f32::consts::PI / 16.0).cos();
                    let cx = ((2 * x + 1) as f32 * v as f32 * std::f32::consts::PI / 16.0).cos();
                    *val = alpha(u) * alpha(v) * cy * cx;
                }
            }
            b
        })
        .collect();
    let raw = img.as_raw();
    let mut coeffs: Vec<Vec<f32>> = vec![Vec::new(); PROBE_COEFFS.len()];
    for blk in (0..bw * bh).step_by(step) {
        let (bx, by) = (blk % bw, blk / bw);
        let mut block = [[0f32; 8]; 8];
        for (y, row) in block.iter_mut().enumerate() {
            for (x, val) in row.iter_mut().enumerate() {
                let i = 4 * ((by * 8 + y) * w + bx * 8 + x);
                // JPEG's own luma (BT.601).
                *val = 0.299 * f32::from(raw[i])
                    + 0.587 * f32::from(raw[i + 1])
                    + 0.114 * f32::from(raw[i + 2]);
            }
        }
        for (k, b) in basis.iter().enumerate() {
            let mut c = 0.0;
            for y in 0..8 {
                for x in 0..8 {
                    c += b[y][x] * block[y][x];
                }
            }
            coeffs[k].push(c);
        }
    }
    let mut steps: Vec<f32> = coeffs
        .iter()
        .map(|cs| {
            let mut best = 0u32;
            for q in 2..=40u32 {
                let qf = q as f32;
                let nonzero: Vec<f32> = cs.iter().copied().filter(|c| c.abs() > 0.5 * qf).collect();
                if nonzero.len() < 50 {
                    continue;
                }
                let near = nonzero
                    .iter()
                    .filter(|&&c| {
                        let r = c / qf;
                        (r - r.round()).abs() < 0.2
                    })
                    .count();
                if near as f32 > 0.6 * nonzero.len() as f32 {
                    best = q;
                }
            }
            best as f32
        })
        .collect();
    steps.sort_by(f32::total_cmp);
    let median = steps[steps.len() / 2];
    (median >= 2.0).then_some(median)
}

/// Weight table resolution: entries per unit of (distance − 2σ²)/h².
const LUT_PER_UNIT: f32 = 64.0;
const LUT_UNITS: f32 = 6.0;

/// Denoises `img`; alpha is copied through. Returns the input unchanged (cloned) when the
/// noise is below `min_sigma_levels`.
pub fn denoise(img: &RgbaImage, p: &Denoise) -> RgbaImage {
    let sigma = p.sigma_levels.unwrap_or_else(|| effective_sigma(img, p));
    if sigma < p.min_sigma_levels || p.strength <= 0.0 || img.width() < 2 || img.height() < 2 {
        return img.clone();
    }
    nl_means(img, sigma, p)
}

fn nl_means(img: &RgbaImage, sigma: f32, p: &Denoise) -> RgbaImage {
    let (w, h) = (img.width() as usize, img.height() as usize);
    let s = p.search_radius_px.clamp(1, 10) as isize;
    let pr = p.patch_radius_px.clamp(0, 4) as isize;
    let pad = (s + pr) as usize;
    let pw = w + 2 * pad;
    let ph = h + 2 * pad;
    // Mirror-padded float planes so every offset read is in bounds.
    let mirror = |i: isize, n: usize| -> usize {
        let n = n as isize;
        let mut i = i;
        while i < 0 || i >= n {
            i = if i < 0 { -i } else { 2 * (n - 1) - i };
        }
        i as usize
    };
    let raw = img.as_raw();
    let mut planes = vec![vec![0f32; pw * ph]; 3];
    for (c, plane) in planes.iter_mut().enumerate() {
        for py in 0..ph {
            let sy = mirror(py as isize - pad as isize, h);
            for px in 0..pw {
                let sx = mirror(px as isize - pad as isize, w);
                plane[py * pw + px] = f32::from(raw[4 * (sy * w + sx) + c]);
            }
        }
    }
    let h_filter = (p.strength * sigma).max(0.1);
    let inv_h2 = 1.0 / (h_filter * h_filter);
    let two_sigma2 = 2.0 * sigma * sigma;
    let lut_len = (LUT_UNITS * LUT_PER_UNIT) as usize;
    let lut: Vec<f32> = (0..=lut_len)
        .map(|i| (-(i as f32) / LUT_PER_UNIT).exp())
        .collect();
    let patch_n = ((2 * pr + 1) * (2 * pr + 1) * 3) as f32;

    let mut out = img.clone();
    let band_rows = 16usize;
    out.as_mut()
        .par_chunks_mut(4 * w * band_rows)
        .enumerate()
        .for_each(|(band, out_band)| {
            let y0 = band * band_rows;
            let rows = out_band.len() / (4 * w);
            // Diff² plane covers the band plus patch margins, in padded coordinates.
            let dw = w + 2 * pr as usize;
            let dh = rows + 2 * pr as usize;
            let mut diff = vec![0f32; dw * dh];
            let mut hsum = vec![0f32; w * dh];
            let mut dist = vec![0f32; w * rows];
            let mut acc = vec![[0f32; 3]; w * rows];
            let mut wsum = vec![0f32; w * rows];
            let mut wmax = vec![0f32; w * rows];
            for dy in -s..=s {
                for dx in -s..=s {
                    if dx == 0 && dy == 0 {
                        continue;
                    }
                    // diff(x, y) for padded x in [pad-pr, pad+w+pr), y likewise.
                    for j in 0..dh {
                        let py = (y0 + j + pad) as isize - pr;
                        let qy = py + dy;
                        let base = py as usize * pw + pad - pr as usize;
                        let qbase = (qy as usize) * pw + (pad as isize - pr + dx) as usize;
                        let drow = &mut diff[j * dw..(j + 1) * dw];
                        drow.iter_mut().for_each(|d| *d = 0.0);
                        for plane in &planes {
                            let a = &plane[base..base + dw];
                            let b = &plane[qbase..qbase + dw];
                            for ((d, &u), &v) in drow.iter_mut().zip(a).zip(b) {
                                let t = u - v;
                                *d += t * t;
                            }
                        }
                    }
                    // Horizontal patch sums.
                    let k = (2 * pr + 1) as usize;
                    for j in 0..dh {
                        let drow = &diff[j * dw..(j + 1) * dw];
                        let hrow = &mut hsum[j * w..(j + 1) * w];
                        hrow.iter_mut().for_each(|v| *v = 0.0);
                        for t in 0..k {
                            for (hv, &d) in hrow.iter_mut().zip(&drow[t..t + w]) {
                                *hv += d;
                            }
                        }
                    }
                    // Vertical patch sums.
                    for i in 0..rows {
                        let drow = &mut dist[i * w..(i + 1) * w];
                        drow.iter_mut().for_each(|v| *v = 0.0);
                        for t in 0..k {
                            let hrow = &hsum[(i + t) * w..(i + t + 1) * w];
                            for (d, &hv) in drow.iter_mut().zip(hrow) {
                                *d += hv;
                            }
                        }
                    }
                    // Weights and accumulation.
                    for i in 0..rows {
                        let qy = (y0 + i + pad) as isize + dy;
                        let qrow = qy as usize * pw;
                        for x in 0..w {
                            let idx = i * w + x;
                            let d = dist[idx] / patch_n;
                            let u = (d - two_sigma2).max(0.0) * inv_h2 * LUT_PER_UNIT;
                            if u >= lut_len as f32 {
                                continue;
                            }
                            let wt = lut[u as usize];
                            let q = qrow + (x as isize + pad as isize + dx) as usize;
                            let a = &mut acc[idx];
                            a[0] += wt * planes[0][q];
                            a[1] += wt * planes[1][q];
                            a[2] += wt * planes[2][q];
                            wsum[idx] += wt;
                            if wt > wmax[idx] {
                                wmax[idx] = wt;
                            }
                        }
                    }
                }
            }
            for i in 0..rows {
                let py = (y0 + i + pad) * pw;
                for x in 0..w {
                    let idx = i * w + x;
                    let q = py + x + pad;
                    // The centre pixel gets the best neighbour's weight (its own distance is 0
                    // and would otherwise dominate).
                    let self_w = if wmax[idx] > 0.0 { wmax[idx] } else { 1.0 };
                    let total = wsum[idx] + self_w;
                    let o = &mut out_band[4 * idx..4 * idx + 3];
                    for c in 0..3 {
                        let v = (acc[idx][c] + self_w * planes[c][q]) / total;
                        o[c] = v.round().clamp(0.0, 255.0) as u8;
                    }
                }
            }
        });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgba;

    /// Deterministic pseudo-Gaussian noise (sum of uniforms).
    fn noise(seed: &mut u64) -> f32 {
        let mut s = 0.0;
        for _ in 0..4 {
            *seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            s += ((*seed >> 33) as f32 / (1u64 << 31) as f32) - 0.5;
        }
        s * 3.0f32.sqrt()
    }

    fn noisy_edge(sigma: f32) -> (RgbaImage, RgbaImage) {
        let clean = RgbaImage::from_fn(64, 64, |x, _| {
            if x < 32 {
                Rgba([60, 70, 80, 255])
            } else {
                Rgba([190, 180, 170, 255])
            }
        });
        let mut seed = 7u64;
        let mut noisy = clean.clone();
        for p in noisy.pixels_mut() {
            for c in 0..3 {
                p[c] = (f32::from(p[c]) + sigma * noise(&mut seed))
                    .round()
                    .clamp(0.0, 255.0) as u8;
            }
        }
        (clean, noisy)
    }

    fn mse(a: &RgbaImage, b: &RgbaImage) -> f64 {
        a.as_raw()
            .iter()
            .zip(b.as_raw())
            .map(|(&x, &y)| (f64::from(x) - f64::from(y)).powi(2))
            .sum::<f64>()
            / a.as_raw().len() as f64
    }

    #[test]
    fn noise_estimate_is_close() {
        let (_, noisy) = noisy_edge(8.0);
        let est = estimate_noise_sigma(&noisy);
        assert!((est - 8.0).abs() < 1.6, "estimated {est}");
        let (clean, _) = noisy_edge(0.0);
        assert!(estimate_noise_sigma(&clean) < 0.5);
    }

    #[test]
    fn reduces_noise_and_keeps_the_edge() {
        let (clean, noisy) = noisy_edge(10.0);
        let out = denoise(&noisy, &Denoise::default());
        assert!(mse(&out, &clean) < 0.4 * mse(&noisy, &clean));
        // The edge stays a step: columns 30 and 33 remain far apart.
        let left = out.get_pixel(30, 30)[0];
        let right = out.get_pixel(33, 30)[0];
        assert!(right > left + 100, "{left} {right}");
    }

    fn jpeg_round_trip(img: &RgbaImage, quality: u8) -> RgbaImage {
        let rgb = image::DynamicImage::ImageRgba8(img.clone()).into_rgb8();
        let mut out = Vec::new();
        image::ImageEncoder::write_image(
            image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality),
            rgb.as_raw(),
            img.width(),
            img.height(),
            image::ExtendedColorType::Rgb8,
        )
        .unwrap();
        image::load_from_memory(&out).unwrap().into_rgba8()
    }

    fn textured() -> RgbaImage {
        RgbaImage::from_fn(256, 256, |x, y| {
            let v = |c: u32| (((x * (7 + c) + y * 13 + (x * y) % 29) % 200) + 20) as u8;
            Rgba([v(0), v(1), v(2), 255])
        })
    }

    #[test]
    fn jpeg_step_is_recovered() {
        let img = textured();
        assert_eq!(estimate_jpeg_step(&img), None);
        // Standard luma table entries (0,1) (1,0) (1,1) (0,2) (2,0) are 11 12 12 10 14; quality
        // 60 scales them by 0.8 (rounded): 9 10 10 8 11 → median 10.
        let q60 = estimate_jpeg_step(&jpeg_round_trip(&img, 60)).unwrap();
        assert!((9.0..=11.0).contains(&q60), "{q60}");
        let q90 = estimate_jpeg_step(&jpeg_round_trip(&img, 90)).unwrap_or(0.0);
        assert!(q90 <= 3.0, "{q90}");
    }

    #[test]
    fn clean_images_pass_through() {
        let (clean, _) = noisy_edge(0.0);
        assert_eq!(denoise(&clean, &Denoise::default()), clean);
    }
}
