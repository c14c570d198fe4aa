//! The real window under a display (Xvfb in CI): the binary opens a workspace on a view,
//! saves a screenshot and exits 0. Skipped, with a note, only when no display is present.

mod common;

use std::process::Command;

fn has_display() -> bool {
    std::env::var_os("DISPLAY").is_some() || std::env::var_os("WAYLAND_DISPLAY").is_some()
}

fn screenshot(workspace: &std::path::Path, view: &str, out: &std::path::Path) {
    let status = Command::new(env!("CARGO_BIN_EXE_sightline"))
        .args(["--workspace"])
        .arg(workspace)
        .args(["--view", view, "--screenshot"])
        .arg(out)
        .env("SIGHTLINE_EPHEMERAL", "1")
        .status()
        .expect("run sightline");
    assert!(
        status.success(),
        "sightline --screenshot exited with {status}"
    );
}

/// Checks the PNG is the window's size and shows real content (many distinct colours, not a
/// flat fill).
fn assert_real_screenshot(out: &std::path::Path) {
    let img = image::open(out).expect("screenshot is a PNG").to_rgba8();
    assert_eq!((img.width(), img.height()), (1280, 800), "window size");
    let mut colours = std::collections::HashSet::new();
    for p in img.pixels().step_by(7) {
        colours.insert(p.0);
    }
    assert!(
        colours.len() > 50,
        "screenshot looks blank: {} colours",
        colours.len()
    );
}

#[test]
fn real_window_screenshots_of_both_views() {
    if !has_display() {
        eprintln!("no DISPLAY: the real-window test needs Xvfb (CI runs it under xvfb-run)");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let workspace = common::small_workspace(dir.path());
    for view in ["fraud", "lookbook"] {
        let out = dir.path().join(format!("{view}.png"));
        screenshot(&workspace, view, &out);
        assert_real_screenshot(&out);
    }
}

#[test]
fn first_start_builds_the_demo_then_screenshots_it() {
    if !has_display() {
        eprintln!("no DISPLAY: the real-window test needs Xvfb (CI runs it under xvfb-run)");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let workspace = dir.path().join("fresh/demo.sqlite");
    let out = dir.path().join("home.png");
    screenshot(&workspace, "fraud", &out);
    assert!(
        workspace.exists(),
        "the demo workspace was built on first start"
    );
    assert_real_screenshot(&out);
}
