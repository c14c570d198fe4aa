//! The library's batch API at scale: a 500-image batch reports progress for every file and
//! stops cleanly when cancelled midway (the flag is set from the progress callback, as the
//! GUI's Cancel button does through the job's token), leaving only whole output files.

mod common;

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use sightline::imaging::Preset;
use sightline::imaging::encode::OutputFormat;
use sightline::library::batch::{OutputOptions, enhance_paths};

#[test]
fn a_500_image_batch_reports_progress_and_cancels_midway() {
    let dir = tempfile::tempdir().expect("tempdir");
    let inputs = dir.path().join("in");
    std::fs::create_dir_all(&inputs).expect("mkdir");
    for i in 0..500u32 {
        std::fs::write(
            inputs.join(format!("img-{i:03}.png")),
            common::product_png(24, 20, i),
        )
        .expect("write");
    }
    let out = OutputOptions {
        dir: dir.path().join("out"),
        format: OutputFormat::Png,
    };
    let cancel = AtomicBool::new(false);
    let calls = AtomicUsize::new(0);
    let totals = Mutex::new(Vec::new());
    let mut recipe = Preset::Clean.recipe();
    recipe.denoise = None;
    let report = enhance_paths(
        std::slice::from_ref(&inputs),
        &recipe,
        &out,
        2,
        &cancel,
        &|done, total, _| {
            calls.fetch_add(1, Ordering::Relaxed);
            if let Ok(mut t) = totals.lock() {
                t.push(total);
            }
            if done == 150 {
                cancel.store(true, Ordering::Relaxed);
            }
        },
    )
    .expect("batch");
    assert!(report.cancelled);
    assert_eq!(report.total, 500);
    assert!(
        (150..=160).contains(&report.succeeded),
        "stopped soon after the cancel: {}",
        report.headline()
    );
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    assert_eq!(report.succeeded + report.not_done, 500);
    assert!(totals.lock().expect("lock").iter().all(|&t| t == 500));
    assert_eq!(
        calls.load(Ordering::Relaxed),
        500,
        "every file is reported, done or skipped"
    );
    let written: Vec<std::path::PathBuf> = std::fs::read_dir(&out.dir)
        .expect("out")
        .map(|e| e.expect("dir entry").path())
        .collect();
    assert_eq!(
        written.len(),
        report.succeeded,
        "no partial or temporary files"
    );
    // Every file that is there is a whole image: a render cancelled midway leaves nothing.
    for path in &written {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        assert!(
            name.as_deref()
                .is_some_and(|n| !n.starts_with('.') && n.ends_with(".png")),
            "unexpected file {path:?}"
        );
        let img = image::open(path).unwrap_or_else(|e| panic!("{path:?} does not decode: {e}"));
        assert_eq!((img.width(), img.height()), (24, 20), "{path:?}");
    }
    assert!(
        report.headline().contains("cancelled (3"),
        "{}",
        report.headline()
    );
}
