//! Times a live-preview render per step for the demo photos and a 2-megapixel upscale of one,
//! at the sizes the asset page asks for (`cargo run --release --example preview_timing`).

use std::sync::atomic::AtomicBool;

use sightline::imaging::render::render_timed;
use sightline::imaging::{Preset, RenderOptions, decode};

fn main() {
    let never = AtomicBool::new(false);
    let (_, bytes) = sightline::fixtures::embedded::PRODUCT_PHOTOS[6];
    let small = match decode(bytes) {
        Ok(img) => img,
        Err(e) => {
            eprintln!("decode: {e}");
            return;
        }
    };
    let big = image::imageops::resize(&small, 1632, 1224, image::imageops::FilterType::Triangle);
    for (label, img) in [("512×512", &small), ("1632×1224 (2 MP)", &big)] {
        for preset in Preset::ALL {
            for side in [512u32, 1024] {
                let opts = RenderOptions::preview(side, &never);
                let start = std::time::Instant::now();
                match render_timed(img, &preset.recipe(), &opts) {
                    Ok((out, steps)) => {
                        let detail: Vec<String> = steps
                            .iter()
                            .filter(|(_, d)| d.as_millis() > 0)
                            .map(|(s, d)| format!("{s:?} {}", d.as_millis()))
                            .collect();
                        println!(
                            "{label:>18} {:<20} side {side:>4} -> {}x{}: {:>4} ms  [{}]",
                            preset.name(),
                            out.width(),
                            out.height(),
                            start.elapsed().as_millis(),
                            detail.join(", ")
                        );
                    }
                    Err(e) => println!("{label} {}: {e}", preset.name()),
                }
            }
        }
    }
}
