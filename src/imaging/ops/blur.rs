//! Separable blur kernels shared by the operations: fixed-point Gaussian on u8 planes (the
//! sharpening hot path), float Gaussian and box filters for masks, shadows and metrics.
//!
//! The loops are written so the compiler vectorises them: each pass accumulates whole rows
//! (`acc[x] += w * row[x]`), never a per-pixel gather.

use rayon::prelude::*;

/// Normalised 1-D Gaussian weights, radius `ceil(truncate · sigma)` (at least 1).
pub fn gaussian_kernel(sigma: f32, truncate: f32) -> Vec<f32> {
    let sigma = sigma.max(1e-3);
    let radius = ((truncate * sigma).ceil() as usize).max(1);
    let mut k: Vec<f32> = (0..=2 * radius)
        .map(|i| {
            let x = i as f32 - radius as f32;
            (-0.5 * x * x / (sigma * sigma)).exp()
        })
        .collect();
    let sum: f32 = k.iter().sum();
    k.iter_mut().for_each(|v| *v /= sum);
    k
}

/// Fixed-point scale of the u8 blur weights (sum of weights = 2^14).
const WEIGHT_BITS: u32 = 14;

fn fixed_kernel(sigma: f32) -> Vec<i32> {
    let k = gaussian_kernel(sigma, 3.0);
    let scale = (1 << WEIGHT_BITS) as f32;
    let mut fixed: Vec<i32> = k.iter().map(|v| (v * scale).round() as i32).collect();
    // Put the rounding remainder on the centre tap so flat areas stay exactly flat.
    let sum: i32 = fixed.iter().sum();
    let centre = fixed.len() / 2;
    fixed[centre] += (1 << WEIGHT_BITS) - sum;
    fixed
}

/// Gaussian blur of a u8 plane; the result is in 8.8 fixed point (value × 256) so callers can
/// take fine differences without a float pass. Edges clamp.
pub fn gaussian_blur_u8_to_u16(src: &[u8], width: usize, height: usize, sigma: f32) -> Vec<u16> {
    debug_assert_eq!(src.len(), width * height);
    let kernel = fixed_kernel(sigma);
    let radius = kernel.len() / 2;
    let mut out = vec![0u16; width * height];
    if width == 0 || height == 0 {
        return out;
    }
    // Rows are processed in bands so each rayon task keeps its scratch buffers.
    let band_rows = 32usize;
    out.par_chunks_mut(width * band_rows)
        .enumerate()
        .for_each(|(band, out_band)| {
            let mut acc = vec![0i32; width];
            let mut vert = vec![0u16; width + 2 * radius];
            let mut hacc = vec![0i32; width];
            for (i, out_row) in out_band.chunks_mut(width).enumerate() {
                let y = band * band_rows + i;
                acc.iter_mut().for_each(|a| *a = 0);
                for (k, &w) in kernel.iter().enumerate() {
                    let sy = (y + k).saturating_sub(radius).min(height - 1);
                    let row = &src[sy * width..(sy + 1) * width];
                    for (a, &v) in acc.iter_mut().zip(row) {
                        *a += w * i32::from(v);
                    }
                }
                // 14-bit weights × 8-bit values → keep 8 fractional bits.
                for (d, &a) in vert[radius..radius + width].iter_mut().zip(&acc) {
                    *d = ((a + (1 << 5)) >> 6) as u16;
                }
                let first = vert[radius];
                let last = vert[radius + width - 1];
                vert[..radius].iter_mut().for_each(|v| *v = first);
                vert[radius + width..].iter_mut().for_each(|v| *v = last);
                hacc.iter_mut().for_each(|a| *a = 1 << (WEIGHT_BITS - 1));
                for (k, &w) in kernel.iter().enumerate() {
                    let shifted = &vert[k..k + width];
                    for (a, &v) in hacc.iter_mut().zip(shifted) {
                        // 65535 × 16384 fits in i32.
                        *a += w * i32::from(v);
                    }
                }
                for (o, &a) in out_row.iter_mut().zip(&hacc) {
                    *o = (a >> WEIGHT_BITS) as u16;
                }
            }
        });
    out
}

/// Index into a signal of length `n` with scipy's "reflect" rule (d c b a | a b c d | d c b a).
#[inline]
pub fn reflect_index(i: isize, n: usize) -> usize {
    let n = n as isize;
    if n == 1 {
        return 0;
    }
    let period = 2 * n;
    let mut m = i.rem_euclid(period);
    if m >= n {
        m = period - 1 - m;
    }
    m as usize
}

/// Separable convolution of an f64 plane with a symmetric kernel, "reflect" borders.
pub fn convolve_separable_f64(
    src: &[f64],
    width: usize,
    height: usize,
    kernel: &[f64],
) -> Vec<f64> {
    let radius = (kernel.len() / 2) as isize;
    let mut tmp = vec![0.0f64; width * height];
    tmp.par_chunks_mut(width.max(1))
        .enumerate()
        .for_each(|(y, row)| {
            for (k, &w) in kernel.iter().enumerate() {
                let sy = reflect_index(y as isize + k as isize - radius, height);
                let srow = &src[sy * width..(sy + 1) * width];
                for (d, &s) in row.iter_mut().zip(srow) {
                    *d += w * s;
                }
            }
        });
    let mut out = vec![0.0f64; width * height];
    out.par_chunks_mut(width.max(1))
        .enumerate()
        .for_each(|(y, row)| {
            let srow = &tmp[y * width..(y + 1) * width];
            let padded: Vec<f64> = (-radius..width as isize + radius)
                .map(|x| srow[reflect_index(x, width)])
                .collect();
            for (k, &w) in kernel.iter().enumerate() {
                for (d, &s) in row.iter_mut().zip(&padded[k..k + width]) {
                    *d += w * s;
                }
            }
        });
    out
}

/// Separable convolution of an f32 plane with a symmetric kernel, clamped borders.
pub fn convolve_separable_f32(
    src: &[f32],
    width: usize,
    height: usize,
    kernel: &[f32],
) -> Vec<f32> {
    let radius = kernel.len() / 2;
    let mut tmp = vec![0.0f32; width * height];
    if width == 0 || height == 0 {
        return tmp;
    }
    tmp.par_chunks_mut(width).enumerate().for_each(|(y, row)| {
        for (k, &w) in kernel.iter().enumerate() {
            let sy = (y + k).saturating_sub(radius).min(height - 1);
            let srow = &src[sy * width..(sy + 1) * width];
            for (d, &s) in row.iter_mut().zip(srow) {
                *d += w * s;
            }
        }
    });
    let mut out = vec![0.0f32; width * height];
    out.par_chunks_mut(width).enumerate().for_each(|(y, row)| {
        let srow = &tmp[y * width..(y + 1) * width];
        let mut padded = Vec::with_capacity(width + 2 * radius);
        padded.extend(std::iter::repeat_n(srow[0], radius));
        padded.extend_from_slice(srow);
        padded.extend(std::iter::repeat_n(srow[width - 1], radius));
        for (k, &w) in kernel.iter().enumerate() {
            for (d, &s) in row.iter_mut().zip(&padded[k..k + width]) {
                *d += w * s;
            }
        }
    });
    out
}

/// Gaussian blur of an f32 plane (clamped borders, kernel radius 3σ).
pub fn gaussian_blur_f32(src: &[f32], width: usize, height: usize, sigma: f32) -> Vec<f32> {
    convolve_separable_f32(src, width, height, &gaussian_kernel(sigma, 3.0))
}

/// Mean over a (2r+1)² window with clamped borders, via running sums (O(1) per pixel).
pub fn box_blur_f32(src: &[f32], width: usize, height: usize, radius: usize) -> Vec<f32> {
    if width == 0 || height == 0 {
        return Vec::new();
    }
    let n = (2 * radius + 1) as f32;
    let mut tmp = vec![0.0f32; width * height];
    tmp.par_chunks_mut(width).enumerate().for_each(|(y, row)| {
        let srow = &src[y * width..(y + 1) * width];
        let at = |x: isize| srow[x.clamp(0, width as isize - 1) as usize];
        let r = radius as isize;
        let mut sum: f32 = (-r..=r).map(at).sum();
        for (x, d) in row.iter_mut().enumerate() {
            *d = sum / n;
            let x = x as isize;
            sum += at(x + r + 1) - at(x - r);
        }
    });
    // Vertical running sums, row-vectorised.
    let mut out = vec![0.0f32; width * height];
    let r = radius as isize;
    let row_at = |y: isize| {
        let y = y.clamp(0, height as isize - 1) as usize;
        &tmp[y * width..(y + 1) * width]
    };
    let mut sum = vec![0.0f32; width];
    for dy in -r..=r {
        for (s, &v) in sum.iter_mut().zip(row_at(dy)) {
            *s += v;
        }
    }
    for y in 0..height {
        let out_row = &mut out[y * width..(y + 1) * width];
        for (o, &s) in out_row.iter_mut().zip(&sum) {
            *o = s / n;
        }
        let yi = y as isize;
        let (add, sub) = (row_at(yi + r + 1), row_at(yi - r));
        for ((s, &a), &b) in sum.iter_mut().zip(add).zip(sub) {
            *s += a - b;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_is_normalised_and_symmetric() {
        let k = gaussian_kernel(1.5, 3.5);
        assert_eq!(k.len(), 2 * 6 + 1);
        assert!((k.iter().sum::<f32>() - 1.0).abs() < 1e-5);
        assert!((k[0] - k[12]).abs() < 1e-9);
    }

    #[test]
    fn u8_blur_keeps_flat_planes_exact() {
        let src = vec![137u8; 50 * 40];
        let out = gaussian_blur_u8_to_u16(&src, 50, 40, 1.3);
        assert!(out.iter().all(|&v| v == 137 * 256), "{:?}", &out[..4]);
    }

    #[test]
    fn u8_blur_matches_float_blur() {
        let (w, h) = (40, 30);
        let src: Vec<u8> = (0..w * h).map(|i| ((i * 37) % 251) as u8).collect();
        let fixed = gaussian_blur_u8_to_u16(&src, w, h, 1.0);
        let f: Vec<f32> = src.iter().map(|&v| f32::from(v)).collect();
        let float = gaussian_blur_f32(&f, w, h, 1.0);
        for (a, b) in fixed.iter().zip(&float) {
            assert!((f32::from(*a) / 256.0 - b).abs() < 0.05, "{a} vs {b}");
        }
    }

    #[test]
    fn reflect_matches_scipy_rule() {
        let idx: Vec<usize> = (-4..8).map(|i| reflect_index(i, 4)).collect();
        assert_eq!(idx, vec![3, 2, 1, 0, 0, 1, 2, 3, 3, 2, 1, 0]);
    }

    #[test]
    fn box_blur_averages() {
        let src = vec![0.0, 0.0, 3.0, 0.0, 0.0];
        let out = box_blur_f32(&src, 5, 1, 1);
        assert_eq!(out, vec![0.0, 1.0, 1.0, 1.0, 0.0]);
    }
}
