//! Throughput benchmark driver, run by `scripts/bench-enhance.sh`.
//!
//! `bench_enhance batch <in-dir> <out-dir> <jpeg90|png> [jobs]` runs the hot chain — auto
//! levels on luminance, 2× Lanczos3 upscale, unsharp mask — over every JPEG in `<in-dir>` with
//! the real batch code (decode, render, encode, atomic write) and prints output megapixels per
//! second. `bench_enhance preview <image>` times preview renders of every preset at 1024 px
//! and a full-size restore, with per-step timings.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use sightline::imaging::batch::{OutputNaming, OutputSpec, enhance_files};
use sightline::imaging::decode::decode_file;
use sightline::imaging::encode::OutputFormat;
use sightline::imaging::ops::levels::Levels;
use sightline::imaging::ops::resize::{ResizeFilter, Upscale, UpscaleSize};
use sightline::imaging::ops::sharpen::Sharpen;
use sightline::imaging::recipe::{Preset, Recipe};
use sightline::imaging::render::{RenderOptions, render, render_timed};

/// The benchmarked chain, in render order: levels → 2× Lanczos3 → unsharp.
fn chain() -> Recipe {
    Recipe {
        name: "bench-chain".into(),
        // Always stretch (no "already fine" shortcut) so the work matches the other tools.
        levels: Some(Levels {
            dark_tolerance_levels: 0,
            light_tolerance_levels: 0,
            require_both_ends: false,
            max_black_level: 255,
            min_white_level: 0,
            ..Levels::default()
        }),
        upscale: Some(Upscale {
            size: UpscaleSize::Factor { factor: 2.0 },
            filter: ResizeFilter::Lanczos3,
        }),
        sharpen: Some(Sharpen {
            amount: 0.5,
            radius_px: 1.0,
            threshold_levels: 0.0,
        }),
        ..Recipe::default()
    }
}

fn main() {
    if let Err(e) = run() {
        eprintln!("bench_enhance: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("batch") => {
            let input = PathBuf::from(args.get(1).ok_or("missing <in-dir>")?);
            let output = PathBuf::from(args.get(2).ok_or("missing <out-dir>")?);
            let format = match args.get(3).map(String::as_str) {
                Some("png") => OutputFormat::Png,
                _ => OutputFormat::Jpeg { quality: 90 },
            };
            let jobs: usize = args.get(4).and_then(|j| j.parse().ok()).unwrap_or(2);
            batch(&input, &output, format, jobs)
        }
        Some("preview") => preview(Path::new(args.get(1).ok_or("missing <image>")?)),
        _ => Err(
            "usage: bench_enhance batch <in> <out> <jpeg90|png> [jobs] | preview <image>".into(),
        ),
    }
}

fn batch(input: &Path, output: &Path, format: OutputFormat, jobs: usize) -> Result<(), String> {
    let mut inputs: Vec<PathBuf> = std::fs::read_dir(input)
        .map_err(|e| format!("{}: {e}", input.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "jpg"))
        .collect();
    inputs.sort();
    std::fs::create_dir_all(output).map_err(|e| e.to_string())?;
    let never = AtomicBool::new(false);
    let spec = OutputSpec {
        dir: output,
        format,
        naming: OutputNaming::SameStem,
    };
    let start = Instant::now();
    let summary = enhance_files(&inputs, &chain(), &spec, jobs, &never, |_| {});
    let secs = start.elapsed().as_secs_f64();
    if !summary.failures().is_empty() {
        return Err(format!(
            "{} files failed: {:?}",
            summary.failures().len(),
            summary.failures()
        ));
    }
    let mp = summary.output_megapixels();
    println!(
        "sightline files {} output_mp {:.1} seconds {:.2} mp_per_s {:.2}",
        summary.succeeded(),
        mp,
        secs,
        mp / secs
    );
    Ok(())
}

fn preview(path: &Path) -> Result<(), String> {
    let img = decode_file(path).map_err(|e| e.to_string())?;
    println!(
        "source {}x{} ({:.1} MP)",
        img.width(),
        img.height(),
        f64::from(img.width() * img.height()) / 1e6
    );
    let never = AtomicBool::new(false);
    for preset in Preset::ALL {
        let recipe = preset.recipe();
        // Warm up once, then take the best of five (the UI re-renders on every change).
        render(&img, &recipe, &RenderOptions::preview(1024, &never)).map_err(|e| e.to_string())?;
        let mut best = f64::INFINITY;
        let mut steps = Vec::new();
        for _ in 0..5 {
            let t = Instant::now();
            let (_, s) = render_timed(&img, &recipe, &RenderOptions::preview(1024, &never))
                .map_err(|e| e.to_string())?;
            let ms = t.elapsed().as_secs_f64() * 1e3;
            if ms < best {
                best = ms;
                steps = s;
            }
        }
        let detail: Vec<String> = steps
            .iter()
            .map(|(step, d)| format!("{step:?} {:.1}", d.as_secs_f64() * 1e3))
            .collect();
        println!(
            "preview 1024 px {:<20} {best:7.1} ms  [{}]",
            preset.name(),
            detail.join(", ")
        );
    }
    let t = Instant::now();
    let (out, steps) = render_timed(&img, &Preset::Restore2x.recipe(), &RenderOptions::default())
        .map_err(|e| e.to_string())?;
    let detail: Vec<String> = steps
        .iter()
        .map(|(step, d)| format!("{step:?} {:.0}", d.as_secs_f64() * 1e3))
        .collect();
    println!(
        "full restore-2x -> {}x{} {:.0} ms [{}]",
        out.width(),
        out.height(),
        t.elapsed().as_secs_f64() * 1e3,
        detail.join(", ")
    );
    Ok(())
}
