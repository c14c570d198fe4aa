//! The library and the asset page in egui_kittest, against the real app: open a photo by
//! clicking, edit its recipe and see the preview follow, undo and redo, paint a mask
//! correction, select several photos, import dropped files, and run (and cancel) a batch.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use sightline::app::library::PageMode;
use sightline::app::{LaunchOptions, LibraryState, SightlineApp, View, WorkspaceState};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .expect("runtime")
}

fn harness<'a>(rt: &tokio::runtime::Runtime, workspace: PathBuf) -> Harness<'a, SightlineApp> {
    let launch = LaunchOptions {
        workspace,
        view: Some(View::Lookbook),
        ephemeral: true,
        ..LaunchOptions::default()
    };
    let ctx = egui::Context::default();
    let app = SightlineApp::new(&ctx, rt.handle().clone(), &launch, None);
    Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .build_ui_state(|ui, app: &mut SightlineApp| app.frame_ui(ui), app)
}

fn library(app: &SightlineApp) -> Option<&LibraryState> {
    match &app.workspace {
        WorkspaceState::Open(ws) => Some(&ws.library),
        _ => None,
    }
}

/// Steps the UI until `done` holds (jobs finish on other threads), or panics after a while.
fn step_until(
    h: &mut Harness<'_, SightlineApp>,
    what: &str,
    timeout: Duration,
    done: impl Fn(&SightlineApp) -> bool,
) {
    let start = Instant::now();
    while !done(h.state()) {
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        h.step();
        std::thread::sleep(Duration::from_millis(10));
    }
    h.run_steps(2);
}

fn settled(app: &SightlineApp) -> bool {
    app.jobs.is_idle() && library(app).is_some_and(|l| l.settled() && !l.assets.is_empty())
}

fn page_settled(app: &SightlineApp) -> bool {
    app.jobs.is_idle()
        && library(app)
            .and_then(|l| l.page.as_ref())
            .is_some_and(|p| p.is_loaded() && p.preview_settled() && p.preview_job.is_none())
}

/// Opens the photo titled `title` by clicking its tile, then "Open".
fn open_by_clicking(h: &mut Harness<'_, SightlineApp>, title: &str) {
    step_until(h, "the library", Duration::from_secs(60), settled);
    h.get_by_label(title).click();
    h.run_steps(3);
    h.get_by_label("Open").click();
    step_until(h, "the asset page", Duration::from_secs(60), page_settled);
}

#[test]
fn asset_page_opens_by_click_and_previews_follow_edits_with_undo_redo() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = common::library_workspace(dir.path(), 3, 160);
    let rt = runtime();
    let mut h = harness(&rt, path);
    open_by_clicking(&mut h, "Test product 1");
    let page = |app: &SightlineApp| {
        library(app).and_then(|l| l.page.as_ref()).map(|p| {
            (
                p.revision,
                p.recipe.clone(),
                p.preview_revision,
                p.preview.is_some(),
            )
        })
    };
    let (rev0, recipe0, shown0, has_preview) = page(h.state()).expect("page open");
    assert_eq!(
        recipe0,
        sightline::imaging::Recipe::default(),
        "no recipe saved yet"
    );
    assert_eq!(shown0, Some(rev0));
    assert!(has_preview);
    h.get_by_label("Test product 1"); // the page's heading

    // A preset, then one parameter: each is an edit that the preview catches up with.
    h.get_by_label("clean").click();
    step_until(
        &mut h,
        "the preset's preview",
        Duration::from_secs(60),
        page_settled,
    );
    h.get_by_label("Frame").click();
    step_until(
        &mut h,
        "the frame's preview",
        Duration::from_secs(60),
        page_settled,
    );
    let (rev2, recipe2, shown2, _) = page(h.state()).expect("page");
    assert!(rev2 >= rev0 + 2);
    assert_eq!(shown2, Some(rev2), "the preview shows the newest recipe");
    assert!(recipe2.frame.is_some() && recipe2.background.is_some());
    let p = library(h.state())
        .and_then(|l| l.page.as_ref())
        .expect("page");
    assert_eq!(p.output_size_px(), [2000, 2000]);
    assert!(
        p.before.is_some(),
        "the before side is framed like the result"
    );

    // Undo twice (button, then Ctrl+Z), redo once (Ctrl+Shift+Z).
    h.get_by_label("Undo").click();
    h.run_steps(3);
    assert!(page(h.state()).expect("page").1.frame.is_none());
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Z);
    h.run_steps(3);
    assert_eq!(page(h.state()).expect("page").1, recipe0);
    h.key_press_modifiers(
        egui::Modifiers::COMMAND | egui::Modifiers::SHIFT,
        egui::Key::Z,
    );
    h.run_steps(3);
    let (_, redone, _, _) = page(h.state()).expect("page");
    assert_eq!(redone, sightline::imaging::Preset::Clean.recipe());
    step_until(
        &mut h,
        "the redone preview",
        Duration::from_secs(60),
        page_settled,
    );

    // Back to the grid.
    h.get_by_label("< Library").click();
    h.run_steps(3);
    assert!(library(h.state()).is_some_and(|l| l.page.is_none()));
}

#[test]
fn the_mask_brush_adds_a_stroke_to_the_recipe() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = common::library_workspace(dir.path(), 1, 160);
    let rt = runtime();
    let mut h = harness(&rt, path);
    open_by_clicking(&mut h, "Test product 0");
    h.get_by_label("Mask brush").click();
    step_until(&mut h, "the mask", Duration::from_secs(60), |app| {
        page_settled(app)
            && library(app)
                .and_then(|l| l.page.as_ref())
                .is_some_and(|p| p.mode == PageMode::Mask && p.mask.is_some())
    });
    let canvas = h.get_by_label("Mask brush canvas").rect();
    let from = canvas.center() - egui::vec2(60.0, 0.0);
    let to = canvas.center() + egui::vec2(60.0, 20.0);
    h.hover_at(from);
    h.run_steps(1);
    h.drag_at(from);
    h.run_steps(1);
    for i in 1..=6 {
        h.hover_at(from + (to - from) * (i as f32 / 6.0));
        h.run_steps(1);
    }
    h.drop_at(to);
    h.run_steps(3);
    let p = library(h.state())
        .and_then(|l| l.page.as_ref())
        .expect("page");
    assert_eq!(p.recipe.mask_edits.len(), 1, "one stroke recorded");
    let stroke = &p.recipe.mask_edits[0];
    assert!(stroke.points.len() >= 3, "{:?}", stroke.points);
    assert!(stroke.points.iter().all(|pt| (0.0..=1.0).contains(&pt[0])));
    assert!(
        stroke.points[0][0] < stroke.points[stroke.points.len() - 1][0],
        "left to right"
    );
    step_until(
        &mut h,
        "the corrected mask",
        Duration::from_secs(60),
        page_settled,
    );
    h.get_by_label("Undo").click();
    h.run_steps(3);
    let p = library(h.state())
        .and_then(|l| l.page.as_ref())
        .expect("page");
    assert!(p.recipe.mask_edits.is_empty(), "undo removes the stroke");
}

#[test]
fn ctrl_and_shift_click_select_several_and_tags_filter() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = common::library_workspace(dir.path(), 6, 64);
    let rt = runtime();
    let mut h = harness(&rt, path);
    step_until(&mut h, "the library", Duration::from_secs(60), settled);
    h.get_by_label("Test product 1").click();
    h.run_steps(2);
    h.get_by_label("Test product 3")
        .click_modifiers(egui::Modifiers::COMMAND);
    h.run_steps(2);
    let sel = |app: &SightlineApp| library(app).map(|l| l.selection.len()).unwrap_or(0);
    assert_eq!(sel(h.state()), 2);
    h.get_by_label("Test product 5")
        .click_modifiers(egui::Modifiers::SHIFT);
    h.run_steps(2);
    assert_eq!(
        sel(h.state()),
        3,
        "shift-click selects from the anchor (3) to 5"
    );
    h.get_by_label("3 selected");
    h.get_by_label("Clear selection").click();
    h.run_steps(2);
    assert_eq!(sel(h.state()), 0);

    // The tag filter lists the tags in use; choosing one narrows the grid.
    h.get_by_label("All tags").click();
    h.run_steps(2);
    h.get_by_label("hero").click();
    step_until(
        &mut h,
        "the filtered grid",
        Duration::from_secs(30),
        settled,
    );
    let shown: Vec<String> = library(h.state())
        .expect("library")
        .assets
        .iter()
        .filter_map(|a| a.sku.clone())
        .collect();
    assert_eq!(shown, vec!["SL-TST-000", "SL-TST-003"]);
}

#[test]
fn dropped_files_are_imported_as_a_job_with_a_report() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = common::library_workspace(dir.path(), 1, 64);
    let drop_dir = dir.path().join("dropped");
    std::fs::create_dir_all(&drop_dir).expect("mkdir");
    std::fs::write(drop_dir.join("new-a.png"), common::product_png(80, 60, 41)).expect("a");
    std::fs::write(drop_dir.join("new-b.png"), common::product_png(60, 80, 42)).expect("b");
    std::fs::write(drop_dir.join("broken.jpg"), b"\xff\xd8\xff\xe0 not really").expect("bad");
    let rt = runtime();
    let mut h = harness(&rt, path);
    step_until(&mut h, "the library", Duration::from_secs(60), settled);
    h.input_mut()
        .dropped_files
        .push(std::sync::Arc::new(Dropped(drop_dir.clone())));
    h.run_steps(2);
    step_until(&mut h, "the import", Duration::from_secs(60), |app| {
        library(app).is_some_and(|l| l.last_import.is_some() && !l.listing_pending)
    });
    let lib = library(h.state()).expect("library");
    let summary = lib.last_import.as_ref().expect("summary");
    assert_eq!(summary.imported.len(), 2);
    assert_eq!(summary.failed.len(), 1);
    assert!(summary.failed[0].path.ends_with("broken.jpg"));
    assert_eq!(lib.assets.len(), 3);
    h.run_steps(2);
    h.get_by_label("Import report"); // opened because a file failed
}

/// A file dropped on the window, as the windowing backend reports it.
#[derive(Debug)]
struct Dropped(PathBuf);

impl egui::DroppedFile for Dropped {
    fn path(&self) -> &Path {
        &self.0
    }
    fn bytes(&self) -> Result<Vec<u8>, String> {
        std::fs::read(&self.0).map_err(|e| e.to_string())
    }
}

#[test]
fn apply_to_selection_runs_as_a_job_and_can_be_cancelled() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = common::library_workspace(dir.path(), 40, 480);
    let rt = runtime();
    let mut h = harness(&rt, path);
    step_until(&mut h, "the library", Duration::from_secs(60), settled);
    h.get_by_label("Test product 0").click();
    h.run_steps(2);
    h.get_by_label("Select all").click();
    h.run_steps(2);
    h.get_by_label("Apply recipe to selection…").click();
    h.run_steps(3);
    h.get_by_label("Render full size into a folder").click();
    h.run_steps(2);
    h.get_by_label("Start").click();
    h.run_steps(2);
    assert_eq!(
        h.state().jobs.running().len(),
        1,
        "the batch shows in the jobs tray"
    );
    step_until(&mut h, "some progress", Duration::from_secs(120), |app| {
        app.jobs
            .running()
            .first()
            .is_some_and(|j| j.fraction.unwrap_or(0.0) > 0.0)
    });
    h.get_by_label("Cancel").click();
    step_until(
        &mut h,
        "the cancelled batch",
        Duration::from_secs(120),
        |app| app.jobs.running().is_empty() && library(app).is_some_and(|l| l.last_batch.is_some()),
    );
    let report = library(h.state())
        .and_then(|l| l.last_batch.clone())
        .expect("report");
    assert!(report.cancelled, "{report:?}");
    assert!(report.succeeded >= 1 && report.succeeded < 40, "{report:?}");
    assert_eq!(
        report.succeeded + report.not_done + report.failures.len(),
        40
    );
    let written: Vec<_> = std::fs::read_dir(dir.path().join("exports"))
        .expect("exports folder")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(written.len(), report.succeeded, "{written:?}");
    assert!(
        written
            .iter()
            .all(|n| n.starts_with("SL-TST-") && n.ends_with(".png"))
    );
}
