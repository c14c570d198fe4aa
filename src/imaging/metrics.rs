//! Quality metrics for restorations: SSIM, PSNR, mean CIEDE2000 and mask IoU.
//!
//! SSIM follows scikit-image's `structural_similarity(a, b, channel_axis=2,
//! gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=255)`, which is the
//! Wang et al. (2004) setting: an 11×11 Gaussian window (σ = 1.5, truncated at 3.5σ), population
//! covariances, K1 = 0.01, K2 = 0.03, "reflect" borders, a 5-pixel border cropped before
//! averaging, computed per R, G, B channel and averaged (alpha ignored).

use image::{GrayImage, RgbaImage};
use rayon::prelude::*;

use super::ops::blur::convolve_separable_f64;

/// Why a metric could not be computed.
#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    /// The images differ in size.
    #[error("cannot compare a {a:?} px image with a {b:?} px image; resize one to match first")]
    SizeMismatch {
        /// First size.
        a: (u32, u32),
        /// Second size.
        b: (u32, u32),
    },
    /// Too small for the SSIM window.
    #[error("SSIM needs images of at least 11×11 px, got {size:?}")]
    TooSmall {
        /// The size.
        size: (u32, u32),
    },
}

fn same_size(a: (u32, u32), b: (u32, u32)) -> Result<(), MetricsError> {
    if a == b {
        Ok(())
    } else {
        Err(MetricsError::SizeMismatch { a, b })
    }
}

/// scipy.ndimage's Gaussian kernel: radius int(truncate·σ + 0.5).
fn scipy_gaussian_kernel(sigma: f64, truncate: f64) -> Vec<f64> {
    let radius = (truncate * sigma + 0.5) as i64;
    let mut k: Vec<f64> = (-radius..=radius)
        .map(|x| (-0.5 * (x * x) as f64 / (sigma * sigma)).exp())
        .collect();
    let sum: f64 = k.iter().sum();
    k.iter_mut().for_each(|v| *v /= sum);
    k
}

/// SSIM of one channel given as f64 planes.
pub fn ssim_plane(a: &[f64], b: &[f64], width: usize, height: usize) -> f64 {
    let kernel = scipy_gaussian_kernel(1.5, 3.5);
    let pad = kernel.len() / 2;
    let f = |p: &[f64]| convolve_separable_f64(p, width, height, &kernel);
    let ux = f(a);
    let uy = f(b);
    let aa: Vec<f64> = a.iter().map(|v| v * v).collect();
    let bb: Vec<f64> = b.iter().map(|v| v * v).collect();
    let ab: Vec<f64> = a.iter().zip(b).map(|(x, y)| x * y).collect();
    let uxx = f(&aa);
    let uyy = f(&bb);
    let uxy = f(&ab);
    let c1 = (0.01f64 * 255.0).powi(2);
    let c2 = (0.03f64 * 255.0).powi(2);
    let mut sum = 0.0;
    let mut n = 0usize;
    for y in pad..height - pad {
        for x in pad..width - pad {
            let i = y * width + x;
            let vx = uxx[i] - ux[i] * ux[i];
            let vy = uyy[i] - uy[i] * uy[i];
            let vxy = uxy[i] - ux[i] * uy[i];
            let s = ((2.0 * ux[i] * uy[i] + c1) * (2.0 * vxy + c2))
                / ((ux[i] * ux[i] + uy[i] * uy[i] + c1) * (vx + vy + c2));
            sum += s;
            n += 1;
        }
    }
    sum / n as f64
}

/// Mean SSIM over R, G and B (see the module docs for the conventions).
pub fn ssim(a: &RgbaImage, b: &RgbaImage) -> Result<f64, MetricsError> {
    same_size(a.dimensions(), b.dimensions())?;
    let (w, h) = a.dimensions();
    if w < 11 || h < 11 {
        return Err(MetricsError::TooSmall { size: (w, h) });
    }
    let plane = |img: &RgbaImage, c: usize| -> Vec<f64> {
        img.as_raw()
            .chunks_exact(4)
            .map(|p| f64::from(p[c]))
            .collect()
    };
    let per_channel: Vec<f64> = (0..3)
        .into_par_iter()
        .map(|c| ssim_plane(&plane(a, c), &plane(b, c), w as usize, h as usize))
        .collect();
    Ok(per_channel.iter().sum::<f64>() / 3.0)
}

/// PSNR in dB over R, G and B (alpha ignored); infinite for identical images.
pub fn psnr(a: &RgbaImage, b: &RgbaImage) -> Result<f64, MetricsError> {
    same_size(a.dimensions(), b.dimensions())?;
    let (sum, n) = a
        .as_raw()
        .par_chunks(4 * 1024)
        .zip(b.as_raw().par_chunks(4 * 1024))
        .map(|(x, y)| {
            let mut s = 0u64;
            let mut n = 0u64;
            for (p, q) in x.chunks_exact(4).zip(y.chunks_exact(4)) {
                for c in 0..3 {
                    let d = i64::from(p[c]) - i64::from(q[c]);
                    s += (d * d) as u64;
                }
                n += 3;
            }
            (s, n)
        })
        .reduce(|| (0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
    if sum == 0 || n == 0 {
        return Ok(f64::INFINITY);
    }
    let mse = sum as f64 / n as f64;
    Ok(10.0 * (255.0f64 * 255.0 / mse).log10())
}

/// CIE L*a*b* (D65).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Lab {
    /// Lightness.
    pub l: f64,
    /// Green–red.
    pub a: f64,
    /// Blue–yellow.
    pub b: f64,
}

fn srgb_to_linear(v: f64) -> f64 {
    if v <= 0.04045 {
        v / 12.92
    } else {
        ((v + 0.055) / 1.055).powf(2.4)
    }
}

/// Converts an sRGB8 colour to L*a*b* under D65.
pub fn srgb_to_lab(rgb: [u8; 3]) -> Lab {
    let [r, g, b] = rgb.map(|c| srgb_to_linear(f64::from(c) / 255.0));
    let x = 0.412_456_4 * r + 0.357_576_1 * g + 0.180_437_5 * b;
    let y = 0.212_672_9 * r + 0.715_152_2 * g + 0.072_175_0 * b;
    let z = 0.019_333_9 * r + 0.119_192_0 * g + 0.950_304_1 * b;
    let (xn, yn, zn) = (0.950_47, 1.0, 1.088_83);
    let eps = 216.0 / 24389.0;
    let kappa = 24389.0 / 27.0;
    let f = |t: f64| {
        if t > eps {
            t.cbrt()
        } else {
            (kappa * t + 16.0) / 116.0
        }
    };
    let (fx, fy, fz) = (f(x / xn), f(y / yn), f(z / zn));
    Lab {
        l: 116.0 * fy - 16.0,
        a: 500.0 * (fx - fy),
        b: 200.0 * (fy - fz),
    }
}

/// CIEDE2000 colour difference (kL = kC = kH = 1), per Sharma, Wu and Dalal (2005).
pub fn ciede2000(c1: Lab, c2: Lab) -> f64 {
    use std::f64::consts::PI;
    let deg = |r: f64| r * 180.0 / PI;
    let rad = |d: f64| d * PI / 180.0;
    let c1ab = (c1.a * c1.a + c1.b * c1.b).sqrt();
    let c2ab = (c2.a * c2.a + c2.b * c2.b).sqrt();
    let cbar = (c1ab + c2ab) / 2.0;
    let cbar7 = cbar.powi(7);
    let g = 0.5 * (1.0 - (cbar7 / (cbar7 + 25f64.powi(7))).sqrt());
    let a1p = (1.0 + g) * c1.a;
    let a2p = (1.0 + g) * c2.a;
    let c1p = (a1p * a1p + c1.b * c1.b).sqrt();
    let c2p = (a2p * a2p + c2.b * c2.b).sqrt();
    let hue = |b: f64, ap: f64| {
        if b == 0.0 && ap == 0.0 {
            0.0
        } else {
            let h = deg(b.atan2(ap));
            if h < 0.0 { h + 360.0 } else { h }
        }
    };
    let h1p = hue(c1.b, a1p);
    let h2p = hue(c2.b, a2p);
    let dlp = c2.l - c1.l;
    let dcp = c2p - c1p;
    let dhp = if c1p * c2p == 0.0 {
        0.0
    } else if (h2p - h1p).abs() <= 180.0 {
        h2p - h1p
    } else if h2p - h1p > 180.0 {
        h2p - h1p - 360.0
    } else {
        h2p - h1p + 360.0
    };
    let dhp_big = 2.0 * (c1p * c2p).sqrt() * rad(dhp / 2.0).sin();
    let lbarp = (c1.l + c2.l) / 2.0;
    let cbarp = (c1p + c2p) / 2.0;
    let hbarp = if c1p * c2p == 0.0 {
        h1p + h2p
    } else if (h1p - h2p).abs() <= 180.0 {
        (h1p + h2p) / 2.0
    } else if h1p + h2p < 360.0 {
        (h1p + h2p + 360.0) / 2.0
    } else {
        (h1p + h2p - 360.0) / 2.0
    };
    let t = 1.0 - 0.17 * rad(hbarp - 30.0).cos()
        + 0.24 * rad(2.0 * hbarp).cos()
        + 0.32 * rad(3.0 * hbarp + 6.0).cos()
        - 0.20 * rad(4.0 * hbarp - 63.0).cos();
    let dtheta = 30.0 * (-((hbarp - 275.0) / 25.0).powi(2)).exp();
    let cbarp7 = cbarp.powi(7);
    let rc = 2.0 * (cbarp7 / (cbarp7 + 25f64.powi(7))).sqrt();
    let sl = 1.0 + 0.015 * (lbarp - 50.0).powi(2) / (20.0 + (lbarp - 50.0).powi(2)).sqrt();
    let sc = 1.0 + 0.045 * cbarp;
    let sh = 1.0 + 0.015 * cbarp * t;
    let rt = -rad(2.0 * dtheta).sin() * rc;
    let (tl, tc, th) = (dlp / sl, dcp / sc, dhp_big / sh);
    (tl * tl + tc * tc + th * th + rt * tc * th).sqrt()
}

/// Mean CIEDE2000 over all pixels (alpha ignored).
pub fn mean_ciede2000(a: &RgbaImage, b: &RgbaImage) -> Result<f64, MetricsError> {
    same_size(a.dimensions(), b.dimensions())?;
    let n = (a.width() as usize * a.height() as usize).max(1);
    let total: f64 = a
        .as_raw()
        .par_chunks(4)
        .zip(b.as_raw().par_chunks(4))
        .map(|(p, q)| {
            ciede2000(
                srgb_to_lab([p[0], p[1], p[2]]),
                srgb_to_lab([q[0], q[1], q[2]]),
            )
        })
        .sum();
    Ok(total / n as f64)
}

/// Intersection over union of two masks thresholded at 128; 1.0 when both are empty.
pub fn mask_iou(a: &GrayImage, b: &GrayImage) -> Result<f64, MetricsError> {
    same_size(a.dimensions(), b.dimensions())?;
    let (mut inter, mut union) = (0u64, 0u64);
    for (&x, &y) in a.as_raw().iter().zip(b.as_raw()) {
        let (p, q) = (x >= 128, y >= 128);
        inter += u64::from(p && q);
        union += u64::from(p || q);
    }
    Ok(if union == 0 {
        1.0
    } else {
        inter as f64 / union as f64
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{Luma, Rgba};

    /// Deterministic test image shared with the scikit-image reference computation:
    /// value(x, y, c) = (x·7 + y·13 + c·50 + (x·y) mod 17) mod 256.
    fn pattern(w: u32, h: u32) -> RgbaImage {
        RgbaImage::from_fn(w, h, |x, y| {
            let v = |c: u32| ((x * 7 + y * 13 + c * 50 + (x * y) % 17) % 256) as u8;
            Rgba([v(0), v(1), v(2), 255])
        })
    }

    /// `pattern` with a fixed perturbation: +20 on a checkerboard of 4-px cells, clamped.
    fn perturbed(w: u32, h: u32) -> RgbaImage {
        let mut img = pattern(w, h);
        for (x, y, p) in img.enumerate_pixels_mut() {
            if ((x / 4) + (y / 4)) % 2 == 0 {
                for c in 0..3 {
                    p[c] = p[c].saturating_add(20);
                }
            }
        }
        img
    }

    #[test]
    fn ssim_identity_and_constant_cases() {
        let a = pattern(32, 24);
        assert!((ssim(&a, &a).unwrap() - 1.0).abs() < 1e-12);
        // Two constant images: SSIM reduces to the luminance term (2μxμy+C1)/(μx²+μy²+C1).
        let x = RgbaImage::from_pixel(20, 20, Rgba([100, 100, 100, 255]));
        let y = RgbaImage::from_pixel(20, 20, Rgba([150, 150, 150, 255]));
        let c1 = (0.01f64 * 255.0).powi(2);
        let expected = (2.0 * 100.0 * 150.0 + c1) / (100.0f64.powi(2) + 150.0f64.powi(2) + c1);
        assert!((ssim(&x, &y).unwrap() - expected).abs() < 1e-12);
    }

    #[test]
    fn ssim_matches_scikit_image() {
        // Reference: skimage.metrics.structural_similarity(pattern, perturbed, channel_axis=2,
        // gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=255)
        // computed with scikit-image 0.26 on the arrays these functions build.
        let s = ssim(&pattern(48, 40), &perturbed(48, 40)).unwrap();
        assert!((s - SKIMAGE_REFERENCE_SSIM).abs() < 1e-6, "{s}");
    }

    /// See `ssim_matches_scikit_image`.
    const SKIMAGE_REFERENCE_SSIM: f64 = 0.942_465_130_228_180_2;

    #[test]
    fn psnr_hand_checked() {
        let a = RgbaImage::from_pixel(10, 10, Rgba([100, 100, 100, 255]));
        let b = RgbaImage::from_pixel(10, 10, Rgba([110, 100, 100, 0]));
        // MSE over three channels = 100/3.
        let expected = 10.0 * (255.0f64.powi(2) / (100.0 / 3.0)).log10();
        assert!((psnr(&a, &b).unwrap() - expected).abs() < 1e-9);
        assert!(psnr(&a, &a).unwrap().is_infinite());
        assert!(psnr(&a, &RgbaImage::new(3, 3)).is_err());
    }

    /// Sharma, Wu and Dalal (2005), Table 1: (L1, a1, b1, L2, a2, b2, ΔE00).
    const SHARMA: [[f64; 7]; 34] = [
        [50.0, 2.6772, -79.7751, 50.0, 0.0, -82.7485, 2.0425],
        [50.0, 3.1571, -77.2803, 50.0, 0.0, -82.7485, 2.8615],
        [50.0, 2.8361, -74.0200, 50.0, 0.0, -82.7485, 3.4412],
        [50.0, -1.3802, -84.2814, 50.0, 0.0, -82.7485, 1.0000],
        [50.0, -1.1848, -84.8006, 50.0, 0.0, -82.7485, 1.0000],
        [50.0, -0.9009, -85.5211, 50.0, 0.0, -82.7485, 1.0000],
        [50.0, 0.0, 0.0, 50.0, -1.0, 2.0, 2.3669],
        [50.0, -1.0, 2.0, 50.0, 0.0, 0.0, 2.3669],
        [50.0, 2.4900, -0.0010, 50.0, -2.4900, 0.0009, 7.1792],
        [50.0, 2.4900, -0.0010, 50.0, -2.4900, 0.0010, 7.1792],
        [50.0, 2.4900, -0.0010, 50.0, -2.4900, 0.0011, 7.2195],
        [50.0, 2.4900, -0.0010, 50.0, -2.4900, 0.0012, 7.2195],
        [50.0, -0.0010, 2.4900, 50.0, 0.0009, -2.4900, 4.8045],
        [50.0, -0.0010, 2.4900, 50.0, 0.0010, -2.4900, 4.8045],
        [50.0, -0.0010, 2.4900, 50.0, 0.0011, -2.4900, 4.7461],
        [50.0, 2.5, 0.0, 50.0, 0.0, -2.5, 4.3065],
        [50.0, 2.5, 0.0, 73.0, 25.0, -18.0, 27.1492],
        [50.0, 2.5, 0.0, 61.0, -5.0, 29.0, 22.8977],
        [50.0, 2.5, 0.0, 56.0, -27.0, -3.0, 31.9030],
        [50.0, 2.5, 0.0, 58.0, 24.0, 15.0, 19.4535],
        [50.0, 2.5, 0.0, 50.0, 3.1736, 0.5854, 1.0000],
        [50.0, 2.5, 0.0, 50.0, 3.2972, 0.0, 1.0000],
        [50.0, 2.5, 0.0, 50.0, 1.8634, 0.5757, 1.0000],
        [50.0, 2.5, 0.0, 50.0, 3.2592, 0.3350, 1.0000],
        [
            60.2574, -34.0099, 36.2677, 60.4626, -34.1751, 39.4387, 1.2644,
        ],
        [
            63.0109, -31.0961, -5.8663, 62.8187, -29.7946, -4.0864, 1.2630,
        ],
        [61.2901, 3.7196, -5.3901, 61.4292, 2.2480, -4.9620, 1.8731],
        [35.0831, -44.1164, 3.7933, 35.0232, -40.0716, 1.5901, 1.8645],
        [
            22.7233, 20.0904, -46.6940, 23.0331, 14.9730, -42.5619, 2.0373,
        ],
        [36.4612, 47.8580, 18.3852, 36.2715, 50.5065, 21.2231, 1.4146],
        [90.8027, -2.0831, 1.4410, 91.1528, -1.6435, 0.0447, 1.4441],
        [90.9257, -0.5406, -0.9208, 88.6381, -0.8985, -0.7239, 1.5381],
        [6.7747, -0.2908, -2.4247, 5.8714, -0.0985, -2.2286, 0.6377],
        [2.0776, 0.0795, -1.1350, 0.9033, -0.0636, -0.5514, 0.9082],
    ];

    #[test]
    fn ciede2000_matches_sharma_pairs() {
        for (i, row) in SHARMA.iter().enumerate() {
            let c1 = Lab {
                l: row[0],
                a: row[1],
                b: row[2],
            };
            let c2 = Lab {
                l: row[3],
                a: row[4],
                b: row[5],
            };
            let d = ciede2000(c1, c2);
            assert!(
                (d - row[6]).abs() < 5e-5,
                "pair {}: {d} vs {}",
                i + 1,
                row[6]
            );
            assert!(
                (ciede2000(c2, c1) - d).abs() < 1e-9,
                "pair {} not symmetric",
                i + 1
            );
        }
    }

    #[test]
    fn lab_of_white_black_and_red() {
        let w = srgb_to_lab([255, 255, 255]);
        assert!(
            (w.l - 100.0).abs() < 0.01 && w.a.abs() < 0.01 && w.b.abs() < 0.01,
            "{w:?}"
        );
        let k = srgb_to_lab([0, 0, 0]);
        assert!(k.l.abs() < 1e-9);
        // Published sRGB red: L 53.24, a 80.09, b 67.20.
        let r = srgb_to_lab([255, 0, 0]);
        assert!(
            (r.l - 53.24).abs() < 0.02 && (r.a - 80.09).abs() < 0.05 && (r.b - 67.20).abs() < 0.05,
            "{r:?}"
        );
    }

    #[test]
    fn mean_ciede2000_of_identical_is_zero() {
        let a = pattern(16, 16);
        assert_eq!(mean_ciede2000(&a, &a).unwrap(), 0.0);
        assert!(mean_ciede2000(&a, &perturbed(16, 16)).unwrap() > 1.0);
    }

    #[test]
    fn iou_hand_checked() {
        let a = GrayImage::from_fn(10, 10, |x, _| Luma([if x < 6 { 255 } else { 0 }]));
        let b = GrayImage::from_fn(10, 10, |x, _| Luma([if x >= 4 { 200 } else { 0 }]));
        // Intersection columns 4–5 (20 px), union all 100 px.
        assert!((mask_iou(&a, &b).unwrap() - 0.2).abs() < 1e-12);
        let empty = GrayImage::new(10, 10);
        assert_eq!(mask_iou(&empty, &empty).unwrap(), 1.0);
    }
}
