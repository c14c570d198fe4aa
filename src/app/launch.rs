//! Starting the native window: viewport and renderer options, persisted settings, and the
//! exit status of a `--screenshot` run.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use super::FraudTab;
use super::SightlineApp;
use super::settings::View;

/// Window size on first start (and of every `--screenshot`), in points.
pub const WINDOW_SIZE: [f32; 2] = [1280.0, 800.0];

/// An asset page to open at start (`--open-asset`), e.g. for screenshots.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OpenAsset {
    /// SKU, file name or id of the asset.
    pub asset: String,
    /// A preset or named recipe, or recipe JSON, to put on the page instead of the stored one.
    pub recipe: Option<String>,
    /// Compare (default) or mask view.
    pub mode: Option<super::PageMode>,
    /// Position of the before/after split (0..1).
    pub split: Option<f32>,
}

/// How the GUI was asked to start.
#[derive(Clone, Debug, Default)]
pub struct LaunchOptions {
    /// The workspace to open (built as the demo when it does not exist).
    pub workspace: PathBuf,
    /// Start on this view instead of the remembered one.
    pub view: Option<View>,
    /// Start the fraud view on this tab.
    pub fraud_tab: Option<FraudTab>,
    /// Save a PNG of the window once loaded, then exit.
    pub screenshot: Option<PathBuf>,
    /// Files to open the import dialog with once the workspace is open.
    pub import: Vec<PathBuf>,
    /// Neither read nor write persisted settings (tests).
    pub ephemeral: bool,
    /// Where settings persist (default: the platform config folder).
    pub config_dir: Option<PathBuf>,
    /// Open this asset's page once the workspace is open.
    pub open_asset: Option<OpenAsset>,
}

type Outcome = super::ScreenshotOutcome;

/// Runs the GUI until its window closes.
pub fn run_gui(launch: LaunchOptions, runtime: tokio::runtime::Handle) -> anyhow::Result<()> {
    let screenshot = launch.screenshot.is_some();
    let viewport = egui::ViewportBuilder::default()
        .with_title("Sightline")
        .with_app_id("sightline")
        .with_inner_size(WINDOW_SIZE)
        .with_min_inner_size([720.0, 480.0])
        .with_drag_and_drop(true);
    let options = eframe::NativeOptions {
        viewport,
        renderer: eframe::Renderer::Glow,
        persist_window: !screenshot && !launch.ephemeral,
        persistence_path: launch.config_dir.as_ref().map(|d| d.join("ui-state.ron")),
        ..Default::default()
    };
    let outcome_slot: Arc<Mutex<Option<Outcome>>> = Arc::default();
    let slot = outcome_slot.clone();
    eframe::run_native(
        "sightline",
        options,
        Box::new(move |cc| {
            let stored = SightlineApp::stored_settings(cc.storage);
            let app = SightlineApp::new(&cc.egui_ctx, runtime, &launch, stored);
            if let Ok(mut s) = slot.lock() {
                *s = app.screenshot_outcome();
            }
            Ok(Box::new(app))
        }),
    )
    .map_err(|e| anyhow::anyhow!("could not open the Sightline window: {e}"))?;
    if !screenshot {
        return Ok(());
    }
    let outcome = outcome_slot
        .lock()
        .ok()
        .and_then(|s| s.clone())
        .and_then(|o| o.lock().ok().and_then(|r| r.clone()));
    match outcome {
        Some(Ok(())) => Ok(()),
        Some(Err(e)) => Err(anyhow::anyhow!(e)),
        None => Err(anyhow::anyhow!(
            "the window closed before the screenshot was taken"
        )),
    }
}
