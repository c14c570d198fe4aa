//! Criterion benchmarks for the hot enhancement chain and its parts on a 1200×1200 photo:
//! levels → 2× Lanczos3 → unsharp (the batch chain), each step alone, JPEG q90 encoding of the
//! 2400×2400 result, and a 1024 px preview of `restore-2x` from a 2 MP source.

use std::hint::black_box;
use std::sync::atomic::AtomicBool;

use criterion::{Criterion, criterion_group, criterion_main};
use image::{Rgba, RgbaImage};
use sightline::imaging::encode::{OutputFormat, encode};
use sightline::imaging::ops::levels::{LevelPoints, apply_levels};
use sightline::imaging::ops::resize::{ResizeFilter, resize_rgba};
use sightline::imaging::ops::sharpen::{Sharpen, unsharp_mask};
use sightline::imaging::recipe::{Preset, Recipe};
use sightline::imaging::render::{RenderOptions, render};

/// A deterministic photo-like test image (smooth gradients, edges and fine texture).
fn photo(w: u32, h: u32) -> RgbaImage {
    RgbaImage::from_fn(w, h, |x, y| {
        let fx = x as f32 / w as f32;
        let fy = y as f32 / h as f32;
        let ring = (((fx - 0.5).powi(2) + (fy - 0.5).powi(2)).sqrt() * 40.0).sin();
        let tex = ((x * 7919 + y * 104_729) % 23) as f32;
        let v = |k: f32| (40.0 + 150.0 * fx * k + 40.0 * ring + tex).clamp(0.0, 255.0) as u8;
        Rgba([v(1.0), v(0.7), v(0.4), 255])
    })
}

fn chain() -> Recipe {
    let restore = Preset::Restore2x.recipe();
    Recipe {
        levels: restore.levels,
        upscale: restore.upscale,
        sharpen: Some(Sharpen {
            amount: 0.5,
            radius_px: 1.0,
            threshold_levels: 0.0,
        }),
        ..Recipe::default()
    }
}

fn benches(c: &mut Criterion) {
    let src = photo(1200, 1200);
    let up = resize_rgba(&src, 2400, 2400, ResizeFilter::Lanczos3).unwrap_or_else(|_| src.clone());
    let recipe = chain();
    let opts = RenderOptions::default();
    c.bench_function("chain levels+2x lanczos3+unsharp 1200px", |b| {
        b.iter(|| render(black_box(&src), &recipe, &opts))
    });
    c.bench_function("resize 2x lanczos3 1200px", |b| {
        b.iter(|| resize_rgba(black_box(&src), 2400, 2400, ResizeFilter::Lanczos3))
    });
    c.bench_function("unsharp 2400px", |b| {
        b.iter_batched_ref(
            || up.clone(),
            |img| unsharp_mask(img, &Sharpen::default(), None),
            criterion::BatchSize::LargeInput,
        )
    });
    c.bench_function("levels lut 2400px", |b| {
        b.iter_batched_ref(
            || up.clone(),
            |img| {
                apply_levels(
                    img,
                    LevelPoints {
                        black: 10,
                        white: 240,
                    },
                )
            },
            criterion::BatchSize::LargeInput,
        )
    });
    c.bench_function("encode jpeg q90 2400px", |b| {
        b.iter(|| encode(black_box(&up), OutputFormat::Jpeg { quality: 90 }))
    });
    let two_mp = photo(1732, 1155);
    let never = AtomicBool::new(false);
    let restore = Preset::Restore2x.recipe();
    c.bench_function("preview restore-2x 2MP -> 1024px", |b| {
        b.iter(|| {
            render(
                black_box(&two_mp),
                &restore,
                &RenderOptions::preview(1024, &never),
            )
        })
    });
}

criterion_group! {
    name = enhance;
    config = Criterion::default().sample_size(10);
    targets = benches
}
criterion_main!(enhance);
