//! The real app in egui_kittest: click between views by label and check what is shown.

mod common;

use std::time::{Duration, Instant};

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use sightline::app::{FraudTab, LaunchOptions, SightlineApp, ThemeChoice, View, WorkspaceState};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .expect("runtime")
}

fn harness<'a>(
    rt: &tokio::runtime::Runtime,
    workspace: std::path::PathBuf,
) -> Harness<'a, SightlineApp> {
    harness_with(
        rt,
        &LaunchOptions {
            workspace,
            view: Some(View::Home),
            import: Vec::new(),
            ephemeral: true,
            ..LaunchOptions::default()
        },
    )
}

fn harness_with<'a>(
    rt: &tokio::runtime::Runtime,
    launch: &LaunchOptions,
) -> Harness<'a, SightlineApp> {
    let ctx = egui::Context::default();
    let app = SightlineApp::new(&ctx, rt.handle().clone(), launch, None);
    Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .build_ui_state(|ui, app: &mut SightlineApp| app.frame_ui(ui), app)
}

/// Steps the UI until `done` holds (jobs finish on other threads), or panics after a while.
fn step_until(h: &mut Harness<'_, SightlineApp>, what: &str, done: impl Fn(&SightlineApp) -> bool) {
    let start = Instant::now();
    while !done(h.state()) {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "timed out waiting for {what}"
        );
        h.step();
        std::thread::sleep(Duration::from_millis(10));
    }
    h.run_steps(3);
}

fn open_and_settled(app: &SightlineApp) -> bool {
    match &app.workspace {
        WorkspaceState::Open(ws) => {
            app.jobs.is_idle() && ws.accounts.total.is_some() && ws.library.settled()
        }
        _ => false,
    }
}

#[test]
fn clicking_between_views_shows_workspace_data() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = common::small_workspace(dir.path());
    let rt = runtime();
    let mut h = harness(&rt, path);
    step_until(&mut h, "workspace to open", open_and_settled);
    h.get_by_label("Welcome to Sightline");
    h.get_by_label("Go to Fraud graph");

    h.get_by_label("Fraud graph").click();
    h.run_steps(4);
    assert_eq!(h.state().settings.view, View::Fraud);
    step_until(&mut h, "account rows", |app| {
        app.workspace
            .open()
            .is_some_and(|ws| ws.accounts.row(0).is_some())
            && app.jobs.is_idle()
    });
    h.get_by_label("A-0001");
    h.get_by_label("Ada Lovelace");
    h.get_by_label("fraud"); // Ben's label

    h.get_by_label("Transactions").click();
    step_until(&mut h, "transaction rows", |app| {
        app.workspace
            .open()
            .is_some_and(|ws| ws.transactions.row(0).is_some())
            && app.jobs.is_idle()
    });
    h.run_steps(4);
    h.get_by_label("T-4"); // newest first
    assert!(
        h.query_all_by_label("declined").count() >= 2,
        "summary caption and the T-2 cell"
    );

    h.get_by_label("Lookbook").click();
    h.run_steps(3);
    assert_eq!(h.state().settings.view, View::Lookbook);
    h.get_by_label("Library");
    h.get_by_label("Stoneware mug").click();
    h.run_steps(4);
    h.get_by_label("$18.00"); // in the details panel of the selected photo
}

#[test]
fn settings_dialog_changes_theme_and_help_lists_shortcuts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = common::small_workspace(dir.path());
    let rt = runtime();
    let mut h = harness(&rt, path);
    step_until(&mut h, "workspace to open", open_and_settled);

    h.get_by_label("Settings").click();
    h.run_steps(4);
    assert!(h.state().dialogs.settings);
    h.get_by_label("Dark").click();
    h.run_steps(4);
    assert_eq!(h.state().settings.theme, ThemeChoice::Dark);

    h.key_press(egui::Key::Escape);
    h.run_steps(4);
    assert!(!h.state().dialogs.settings, "Esc closes settings");

    h.key_press(egui::Key::F1);
    h.run_steps(4);
    assert!(h.state().dialogs.help);
    h.get_by_label("Open a workspace…"); // only listed in the overlay
    h.get_by_label("F1");
    assert!(
        h.query_all_by_label("Keyboard shortcuts").count() >= 2,
        "window title and F1 row"
    );
}

#[test]
fn broken_workspace_shows_the_reason_in_the_ui() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("broken.sqlite");
    std::fs::write(&path, b"not a database at all, just text".repeat(50)).expect("write");
    let rt = runtime();
    let mut h = harness(&rt, path.clone());
    step_until(&mut h, "the failure", |app| {
        matches!(app.workspace, WorkspaceState::Failed { .. })
    });
    h.get_by_label("Fraud graph").click();
    h.run_steps(4);
    let shown = format!("Could not open {}", path.display());
    h.get_by_label(&shown);
    h.get_by_label("Open another workspace…");
    assert_eq!(
        std::fs::read(&path).expect("read"),
        b"not a database at all, just text".repeat(50),
        "the broken file is left as it was"
    );
}

#[test]
fn keyboard_shortcuts_switch_views() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = common::small_workspace(dir.path());
    let rt = runtime();
    let mut h = harness(&rt, path);
    step_until(&mut h, "workspace to open", open_and_settled);
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Num3);
    h.run_steps(4);
    assert_eq!(h.state().settings.view, View::Fraud);
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Num2);
    h.run_steps(4);
    assert_eq!(h.state().settings.view, View::Lookbook);
}

/// eframe storage in memory, to check what the app persists between runs.
#[derive(Default)]
struct MemStorage(std::collections::HashMap<String, String>);

impl eframe::Storage for MemStorage {
    fn get_string(&self, key: &str) -> Option<String> {
        self.0.get(key).cloned()
    }
    fn set_string(&mut self, key: &str, value: String) {
        self.0.insert(key.to_string(), value);
    }
    fn remove_string(&mut self, key: &str) {
        self.0.remove(key);
    }
    fn flush(&mut self) {}
}

#[test]
fn settings_and_view_persist_between_runs() {
    use eframe::App;
    let dir = tempfile::tempdir().expect("tempdir");
    let path = common::small_workspace(dir.path());
    let rt = runtime();
    let launch = LaunchOptions {
        workspace: path.clone(),
        ..LaunchOptions::default()
    };
    let ctx = egui::Context::default();
    let mut storage = MemStorage::default();
    {
        let mut app = SightlineApp::new(&ctx, rt.handle().clone(), &launch, None);
        app.send(sightline::app::Command::SetView(View::Lookbook));
        app.send(sightline::app::Command::SetTheme(ThemeChoice::Light));
        let mut h =
            Harness::builder().build_ui_state(|ui, app: &mut SightlineApp| app.frame_ui(ui), app);
        step_until(&mut h, "workspace to open", open_and_settled);
        let mut app = h.into_state();
        app.save(&mut storage);
    }
    let stored = SightlineApp::stored_settings(Some(&storage));
    let app = SightlineApp::new(&ctx, rt.handle().clone(), &launch, stored);
    assert_eq!(app.settings.view, View::Lookbook);
    assert_eq!(app.settings.theme, ThemeChoice::Light);
    assert_eq!(app.settings.recent_workspaces.first(), Some(&path));
}

#[test]
fn rings_tab_scores_the_workspace_and_says_which_model() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = common::small_workspace(dir.path());
    let rt = runtime();
    let mut h = harness(&rt, path);
    step_until(&mut h, "workspace to open", open_and_settled);
    h.get_by_label("Fraud graph").click();
    h.run_steps(4);
    h.get_by_label("Rings").click();
    h.run_steps(4);
    h.get_by_label("Not scored yet.");
    h.get_by_label("Score now").click();
    step_until(&mut h, "the scoring run", |app| {
        app.workspace.open().is_some_and(|ws| ws.rings.is_some()) && app.jobs.is_idle()
    });
    // One fraud label is too few to train on: the unsupervised score is used, and said so.
    let rings = h
        .state()
        .workspace
        .open()
        .and_then(|ws| ws.rings.as_ref())
        .expect("rings");
    assert_eq!(rings.run.model, "unsupervised");
    assert_eq!(rings.run.accounts, 3);
    h.get_by_label_contains("Model in use: unsupervised");
}

#[test]
fn launch_can_open_the_fraud_view_on_its_rings_tab() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = common::small_workspace(dir.path());
    let rt = runtime();
    let mut h = harness_with(
        &rt,
        &LaunchOptions {
            workspace: path,
            view: Some(View::Fraud),
            fraud_tab: Some(FraudTab::Rings),
            ephemeral: true,
            ..LaunchOptions::default()
        },
    );
    step_until(&mut h, "workspace to open", open_and_settled);
    // Only the Rings tab has these; the fraud view's default tab is Accounts.
    h.get_by_label("Not scored yet.");
    h.get_by_label("Score now");
}
