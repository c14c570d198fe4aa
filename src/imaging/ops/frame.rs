//! Smart crop and pad to marketplace canvases: the product (from its matte) is scaled so its
//! larger relative side fills a set share of the canvas, centred, with an optional soft contact
//! shadow beneath it.

use image::{GrayImage, RgbaImage};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::resize::{ResizeFilter, resize_gray_crop, resize_rgba_crop};
use super::{OpError, check_output_size};

/// A soft elliptical shadow under the product's base.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Shadow {
    /// Darkening at the shadow's centre (0..1).
    pub opacity: f32,
    /// Shadow width as a share of the product width.
    pub width_frac: f32,
    /// Shadow height as a share of the product width.
    pub height_frac: f32,
}

impl Default for Shadow {
    fn default() -> Self {
        Self {
            opacity: 0.28,
            width_frac: 0.9,
            height_frac: 0.07,
        }
    }
}

/// Canvas spec.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Frame {
    /// Canvas width.
    pub width_px: u32,
    /// Canvas height.
    pub height_px: u32,
    /// Share of the canvas the product's limiting side fills (0.85 = 85 %).
    pub fill_frac: f32,
    /// Optional contact shadow.
    pub shadow: Option<Shadow>,
}

impl Default for Frame {
    fn default() -> Self {
        Self::square_2000()
    }
}

impl Frame {
    /// Marketplace square: 2000×2000, product fills 85 %.
    pub fn square_2000() -> Self {
        Self {
            width_px: 2000,
            height_px: 2000,
            fill_frac: 0.85,
            shadow: None,
        }
    }

    /// 4:5 portrait: 1600×2000, product fills 85 %.
    pub fn portrait_4x5() -> Self {
        Self {
            width_px: 1600,
            height_px: 2000,
            ..Self::square_2000()
        }
    }

    /// 16:9 banner: 1920×1080, product fills 80 % of the height.
    pub fn banner_16x9() -> Self {
        Self {
            width_px: 1920,
            height_px: 1080,
            fill_frac: 0.8,
            shadow: None,
        }
    }
}

/// Bounding box (x0, y0, x1, y1), exclusive ends, of matte values ≥ 128; `None` if empty.
pub fn product_bbox(alpha: &GrayImage) -> Option<(u32, u32, u32, u32)> {
    let (w, h) = alpha.dimensions();
    let mut bb: Option<(u32, u32, u32, u32)> = None;
    for y in 0..h {
        for x in 0..w {
            if alpha.get_pixel(x, y)[0] >= 128 {
                bb = Some(match bb {
                    None => (x, y, x + 1, y + 1),
                    Some((x0, y0, x1, y1)) => (x0.min(x), y0.min(y), x1.max(x + 1), y1.max(y + 1)),
                });
            }
        }
    }
    bb
}

/// Places the product of `img` (located by `alpha`) on a canvas of the spec's size filled
/// with `pad`. `canvas_scale` shrinks the canvas for previews (1.0 = spec size). When
/// `pad_is_background` (the backdrop was already replaced by `pad`), pixels outside the matte
/// are reset to exactly `pad` after resampling. Returns the canvas and the product matte on it.
pub fn frame_product(
    img: &RgbaImage,
    alpha: &GrayImage,
    spec: &Frame,
    pad: [u8; 4],
    pad_is_background: bool,
    canvas_scale: f64,
) -> Result<(RgbaImage, GrayImage), OpError> {
    let cw = ((f64::from(spec.width_px) * canvas_scale).round() as u32).max(1);
    let ch = ((f64::from(spec.height_px) * canvas_scale).round() as u32).max(1);
    check_output_size("frame", cw, ch)?;
    let (w, h) = img.dimensions();
    if w == 0 || h == 0 {
        return Err(OpError::EmptyInput { operation: "frame" });
    }
    let (bx0, by0, bx1, by1) = product_bbox(alpha).unwrap_or((0, 0, w, h));
    let (bw, bh) = (f64::from(bx1 - bx0), f64::from(by1 - by0));
    let fill = f64::from(spec.fill_frac.clamp(0.05, 1.0));
    let s = fill * (f64::from(cw) / bw).min(f64::from(ch) / bh);
    let (cx, cy) = (f64::from(bx0 + bx1) / 2.0, f64::from(by0 + by1) / 2.0);
    let left = cx - f64::from(cw) / (2.0 * s);
    let top = cy - f64::from(ch) / (2.0 * s);
    // The visible part of the source and where it lands on the canvas (whole pixels).
    let ix0 = left.max(0.0);
    let iy0 = top.max(0.0);
    let ix1 = (left + f64::from(cw) / s).min(f64::from(w));
    let iy1 = (top + f64::from(ch) / s).min(f64::from(h));
    let dx0 = (((ix0 - left) * s).round() as u32).min(cw);
    let dy0 = (((iy0 - top) * s).round() as u32).min(ch);
    let dx1 = (((ix1 - left) * s).round() as u32).clamp(dx0, cw);
    let dy1 = (((iy1 - top) * s).round() as u32).clamp(dy0, ch);

    let mut canvas = RgbaImage::from_pixel(cw, ch, image::Rgba(pad));
    let mut canvas_alpha = GrayImage::new(cw, ch);
    if dx1 > dx0 && dy1 > dy0 {
        // Exact source rectangle of the whole destination pixels, clamped inside the image.
        let sx = (left + f64::from(dx0) / s).clamp(0.0, f64::from(w));
        let sy = (top + f64::from(dy0) / s).clamp(0.0, f64::from(h));
        let sw = (f64::from(dx1 - dx0) / s).min(f64::from(w) - sx);
        let sh = (f64::from(dy1 - dy0) / s).min(f64::from(h) - sy);
        let crop = (sx, sy, sw, sh);
        let (pw, ph) = (dx1 - dx0, dy1 - dy0);
        let filter = if s < 1.0 {
            ResizeFilter::Lanczos3
        } else {
            ResizeFilter::CatmullRom
        };
        let part = resize_rgba_crop(img, crop, pw, ph, filter)?;
        let part_alpha = resize_gray_crop(alpha, crop, pw, ph, ResizeFilter::Bilinear)?;
        image::imageops::replace(&mut canvas, &part, i64::from(dx0), i64::from(dy0));
        image::imageops::replace(
            &mut canvas_alpha,
            &part_alpha,
            i64::from(dx0),
            i64::from(dy0),
        );
        if pad_is_background {
            // Resampling rings a little at the product edge; where the matte says backdrop,
            // restore the exact fill so no grey halo appears around the product.
            for (p, a) in canvas.pixels_mut().zip(canvas_alpha.pixels()) {
                if a[0] == 0 {
                    p.0 = pad;
                }
            }
        }
    }
    if let Some(shadow) = spec.shadow {
        let product_w = bw * s;
        let base = (
            (cx - left) * s,
            // The product's base on the canvas.
            (f64::from(by1) - top) * s,
        );
        draw_shadow(&mut canvas, &canvas_alpha, &shadow, base, product_w);
    }
    Ok((canvas, canvas_alpha))
}

/// Darkens the canvas under an elliptical Gaussian centred on the product base, weighted by
/// (1 − product alpha) so the product itself is untouched.
fn draw_shadow(
    canvas: &mut RgbaImage,
    product_alpha: &GrayImage,
    shadow: &Shadow,
    base: (f64, f64),
    product_w: f64,
) {
    let (cw, ch) = canvas.dimensions();
    let sx = (product_w * f64::from(shadow.width_frac) / 2.0).max(1.0) as f32;
    let sy = (product_w * f64::from(shadow.height_frac) / 2.0).max(0.5) as f32;
    let (bx, by) = (base.0 as f32, base.1 as f32);
    let opacity = shadow.opacity.clamp(0.0, 1.0);
    let y0 = ((by - 3.0 * sy).floor().max(0.0) as u32).min(ch);
    let y1 = ((by + 3.0 * sy).ceil().max(0.0) as u32).min(ch);
    let x0 = ((bx - 1.6 * sx).floor().max(0.0) as u32).min(cw);
    let x1 = ((bx + 1.6 * sx).ceil().max(0.0) as u32).min(cw);
    let w = cw as usize;
    let alpha = product_alpha.as_raw();
    canvas
        .as_mut()
        .par_chunks_mut(4 * w)
        .enumerate()
        .skip(y0 as usize)
        .take((y1 - y0) as usize)
        .for_each(|(y, row)| {
            let v = (y as f32 + 0.5 - by) / sy;
            for x in x0..x1 {
                let u = (x as f32 + 0.5 - bx) / sx;
                // A wide soft falloff plus a tighter core at the contact line.
                let r2 = u * u + v * v;
                let s = 0.6 * (-1.5 * r2).exp() + 0.4 * (-6.0 * r2).exp();
                let uncovered = 1.0 - f32::from(alpha[y * w + x as usize]) / 255.0;
                let dark = opacity * s * uncovered;
                if dark <= 0.002 {
                    continue;
                }
                let p = &mut row[4 * x as usize..4 * x as usize + 4];
                if p[3] == 255 {
                    for c in &mut p[..3] {
                        *c = (f32::from(*c) * (1.0 - dark)).round() as u8;
                    }
                } else {
                    // Transparent canvas: lay black under with the shadow's coverage.
                    let a = f32::from(p[3]) / 255.0;
                    let na = a + (1.0 - a) * dark;
                    for c in &mut p[..3] {
                        *c = (f32::from(*c) * a / na.max(1e-6)).round() as u8;
                    }
                    p[3] = (na * 255.0).round() as u8;
                }
            }
        });
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{Luma, Rgba};

    fn product(w: u32, h: u32, rect: (u32, u32, u32, u32)) -> (RgbaImage, GrayImage) {
        let inside = |x: u32, y: u32| x >= rect.0 && x < rect.2 && y >= rect.1 && y < rect.3;
        let img = RgbaImage::from_fn(w, h, |x, y| {
            if inside(x, y) {
                Rgba([200, 30, 30, 255])
            } else {
                Rgba([255, 255, 255, 255])
            }
        });
        let alpha = GrayImage::from_fn(w, h, |x, y| Luma([if inside(x, y) { 255 } else { 0 }]));
        (img, alpha)
    }

    #[test]
    fn square_crop_fills_85_percent() {
        let (img, alpha) = product(800, 600, (100, 200, 300, 500));
        let spec = Frame::square_2000();
        let (out, out_alpha) = frame_product(&img, &alpha, &spec, [255; 4], true, 0.25).unwrap();
        assert_eq!(out.dimensions(), (500, 500));
        let (x0, y0, x1, y1) = product_bbox(&out_alpha).unwrap();
        // Product is 200×300: its height limits, so it spans ~85 % of the canvas height.
        let frac = f64::from(y1 - y0) / 500.0;
        assert!((frac - 0.85).abs() < 0.01, "{frac}");
        // Centred.
        let cx = f64::from(x0 + x1) / 2.0;
        assert!((cx - 250.0).abs() <= 1.0, "{cx}");
        assert_eq!(out.get_pixel(2, 2), &Rgba([255, 255, 255, 255]));
        assert_eq!(out.get_pixel(250, 250)[0], 200);
    }

    #[test]
    fn presets_have_the_right_shapes() {
        assert_eq!(
            (Frame::portrait_4x5().width_px * 5),
            Frame::portrait_4x5().height_px * 4
        );
        let b = Frame::banner_16x9();
        assert_eq!(b.width_px * 9, b.height_px * 16);
    }

    #[test]
    fn product_touching_the_edge_is_padded() {
        let (img, alpha) = product(400, 300, (0, 0, 390, 300));
        let (out, _) = frame_product(
            &img,
            &alpha,
            &Frame::square_2000(),
            [0, 0, 255, 255],
            false,
            0.1,
        )
        .unwrap();
        assert_eq!(out.dimensions(), (200, 200));
        // Top rows are padding in the pad colour.
        assert_eq!(out.get_pixel(100, 2), &Rgba([0, 0, 255, 255]));
    }

    #[test]
    fn shadow_darkens_below_product_only() {
        let (img, alpha) = product(400, 400, (150, 100, 250, 300));
        let spec = Frame {
            shadow: Some(Shadow::default()),
            ..Frame::square_2000()
        };
        let (out, out_alpha) = frame_product(&img, &alpha, &spec, [255; 4], true, 0.25).unwrap();
        let (_, _, _, y1) = product_bbox(&out_alpha).unwrap();
        let below = out.get_pixel(250, y1 + 1);
        assert!(below[0] < 240, "no shadow under the product: {below:?}");
        assert_eq!(out.get_pixel(250, 10), &Rgba([255, 255, 255, 255]));
        // Product colour untouched at the base.
        assert_eq!(out.get_pixel(250, y1 - 10)[0], 200);
    }
}
