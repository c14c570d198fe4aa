//! The eframe application: owns the state, runs jobs, applies the UI's commands once a frame
//! and hands the views what they draw. Views live in `crate::ui`.

mod commands;
pub mod import;
mod launch;
pub mod library;
mod paged;
pub mod settings;
mod toasts;
mod workspace;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub use commands::{Command, PickPurpose, Table};
pub use launch::{LaunchOptions, OpenAsset, WINDOW_SIZE, run_gui};
pub use library::{LibraryCommand, LibraryInput, LibraryState, PageCommand, PageMode};
pub use paged::{PAGE_ROWS, Paged};
pub use settings::{Settings, ThemeChoice, View};
pub use toasts::{Toast, ToastKind, Toasts};
pub use workspace::{OpenWorkspace, Opened, Rings, WorkspaceState};

use crate::fraud::browse::{AccountRow, TransactionRow};
use crate::jobs::{JobFailure, JobManager};

/// Key of the settings in eframe's storage.
const SETTINGS_KEY: &str = "sightline.settings";
/// Time spent draining job results per frame, so a flood never stalls drawing.
const POLL_BUDGET: Duration = Duration::from_millis(8);

/// Results that background jobs hand back to the app.
pub enum JobOutput {
    Opened(Box<Opened>),
    DemoBuilt(PathBuf),
    AccountPage {
        generation: u64,
        page: usize,
        rows: Vec<AccountRow>,
    },
    TransactionPage {
        generation: u64,
        page: usize,
        rows: Vec<TransactionRow>,
    },
    Counts {
        generation: (u64, u64),
        accounts: usize,
        transactions: usize,
    },
    Library(library::LibraryOutput),
    Picked(PickPurpose, Option<PathBuf>),
    PickedMany(PickPurpose, Vec<PathBuf>),
    ImportDetected {
        files: Vec<PathBuf>,
        result: Result<Box<crate::fraud::ingest::Plan>, import::DetectFailure>,
    },
    ImportDone(Box<crate::fraud::ingest::IngestSummary>),
    Scored(String),
    Rejects {
        path: PathBuf,
        rows: Vec<crate::fraud::ingest::rejects::RejectRecord>,
    },
}

/// Open dialogs.
#[derive(Debug, Default)]
pub struct Dialogs {
    pub settings: bool,
    pub help: bool,
}

/// Ephemeral per-view input (filter boxes, selection); not application state.
#[derive(Debug, Default)]
pub struct ViewInput {
    pub fraud_tab: FraudTab,
    pub account_filter: String,
    pub transaction_filter: String,
    pub library: LibraryInput,
    /// The mapping being drafted for an unknown header.
    pub mapping_draft: Option<import::MappingDraft>,
}

/// Tabs of the fraud view.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FraudTab {
    #[default]
    Accounts,
    Transactions,
    Rings,
    Loads,
}

/// Where a `--screenshot` run reports whether the PNG was written.
pub type ScreenshotOutcome = Arc<Mutex<Option<Result<(), String>>>>;

/// A screenshot requested from the command line (`--screenshot OUT.png`).
struct ScreenshotPlan {
    out: PathBuf,
    ready_frames: u32,
    requested: bool,
    started: Instant,
    image: Arc<Mutex<Option<Arc<egui::ColorImage>>>>,
    outcome: ScreenshotOutcome,
}

/// Wait at most this long for the workspace before taking the screenshot anyway.
const SCREENSHOT_TIMEOUT: Duration = Duration::from_secs(90);

static PROCESS_START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();

/// Records when the process started, for the first-frame timing (call first thing in `main`).
pub fn mark_process_start() {
    let _ = PROCESS_START.set(Instant::now());
}

/// The application.
pub struct SightlineApp {
    pub settings: Settings,
    pub workspace: WorkspaceState,
    pub jobs: JobManager<JobOutput>,
    pub toasts: Toasts,
    pub dialogs: Dialogs,
    pub input: ViewInput,
    pub import: Option<import::ImportState>,
    pending_import: Vec<PathBuf>,
    commands: Vec<Command>,
    persist: bool,
    screenshot: Option<ScreenshotPlan>,
    egui_ctx: egui::Context,
    first_frame_logged: bool,
    /// An asset page to open once the workspace is open (`--open-asset`).
    launch_asset: Option<launch::OpenAsset>,
    /// The fraud tab to show once the first workspace is open (`--fraud-tab`).
    launch_fraud_tab: Option<FraudTab>,
}

impl SightlineApp {
    /// Builds the app. `stored` is what eframe persisted last time (ignored when `persist` is
    /// false, e.g. screenshots and tests, so they are reproducible).
    pub fn new(
        egui_ctx: &egui::Context,
        runtime: tokio::runtime::Handle,
        launch: &LaunchOptions,
        stored: Option<Settings>,
    ) -> Self {
        let persist = launch.screenshot.is_none() && !launch.ephemeral;
        let mut settings = if persist {
            stored.unwrap_or_default().sanitized()
        } else {
            Settings::default()
        };
        if let Some(view) = launch.view {
            settings.view = view;
        }
        if settings.worker_threads > 0 {
            // Only possible before anything used rayon; otherwise the default pool stays.
            let _ = rayon::ThreadPoolBuilder::new()
                .num_threads(settings.worker_threads)
                .thread_name(|i| format!("sightline-worker-{i}"))
                .build_global();
        }
        let repaint_ctx = egui_ctx.clone();
        let jobs = JobManager::new(runtime, Arc::new(move || repaint_ctx.request_repaint()));
        let mut app = Self {
            settings,
            workspace: WorkspaceState::None,
            jobs,
            toasts: Toasts::default(),
            dialogs: Dialogs::default(),
            input: ViewInput::default(),
            import: None,
            pending_import: launch.import.clone(),
            commands: Vec::new(),
            persist,
            screenshot: launch.screenshot.as_ref().map(|out| ScreenshotPlan {
                out: out.clone(),
                ready_frames: 0,
                requested: false,
                started: Instant::now(),
                image: Arc::default(),
                outcome: Arc::default(),
            }),
            egui_ctx: egui_ctx.clone(),
            first_frame_logged: false,
            launch_asset: launch.open_asset.clone(),
            launch_fraud_tab: launch.fraud_tab,
        };
        crate::ui::theme::install_fonts(egui_ctx);
        crate::ui::theme::apply(egui_ctx, &app.settings);
        let path = launch.workspace.clone();
        if path.exists() {
            app.commands.push(Command::OpenWorkspace(path));
        } else {
            // First start (or a new path): build the offline demo there, then open it.
            app.commands.push(Command::BuildDemo(path));
        }
        app
    }

    /// Loads persisted settings from eframe's storage.
    pub fn stored_settings(storage: Option<&dyn eframe::Storage>) -> Option<Settings> {
        storage.and_then(|s| eframe::get_value(s, SETTINGS_KEY))
    }

    /// Queues a command as if a view had sent it (tests, shortcuts).
    pub fn send(&mut self, command: Command) {
        self.commands.push(command);
    }

    /// One frame: results in, views drawn, commands applied.
    pub fn frame_ui(&mut self, ui: &mut egui::Ui) {
        if !self.first_frame_logged {
            self.first_frame_logged = true;
            if let Some(start) = PROCESS_START.get() {
                tracing::info!(
                    first_frame_ms = start.elapsed().as_millis() as u64,
                    "first frame"
                );
            }
        }
        self.poll_jobs();
        self.toasts.expire();
        crate::ui::shortcuts(ui.ctx(), &mut self.commands);
        let dropped: Vec<PathBuf> = ui.ctx().input(|i| {
            i.raw
                .dropped_files
                .iter()
                .map(|f| f.path().to_path_buf())
                .collect()
        });
        if !dropped.is_empty() {
            self.commands.push(Command::FilesDropped(dropped));
        }
        crate::ui::root_ui(
            ui,
            &crate::ui::Model {
                settings: &self.settings,
                workspace: &self.workspace,
                jobs: self.jobs.running(),
                toasts: self.toasts.items(),
                dialogs: &self.dialogs,
                import: self.import.as_ref(),
            },
            &mut self.input,
            &mut self.commands,
        );
        let commands = std::mem::take(&mut self.commands);
        for command in commands {
            self.apply(command);
        }
        self.library_tick();
        self.drive_screenshot(ui.ctx());
        if !self.jobs.running().is_empty() || !self.toasts.items().is_empty() {
            ui.ctx().request_repaint_after(Duration::from_millis(250));
        }
    }

    fn poll_jobs(&mut self) {
        for (info, result) in self.jobs.poll(POLL_BUDGET) {
            match result {
                Ok(output) => {
                    if !info.title.is_empty() {
                        tracing::info!(
                            job = %info.title,
                            elapsed_ms = info.started.elapsed().as_millis() as u64,
                            "job finished"
                        );
                    }
                    self.on_output(output)
                }
                Err(JobFailure::Cancelled) => {
                    self.toasts
                        .push(ToastKind::Info, format!("{} cancelled", info.title));
                    if matches!(self.workspace, WorkspaceState::Loading { .. }) {
                        self.workspace = WorkspaceState::None;
                    }
                }
                Err(JobFailure::Failed(message)) => {
                    if let WorkspaceState::Loading { path, .. } = &self.workspace {
                        self.workspace = WorkspaceState::Failed {
                            path: path.clone(),
                            message: message.clone(),
                        };
                    }
                    self.toasts
                        .push(ToastKind::Error, format!("{}: {message}", info.title));
                }
            }
        }
    }

    fn on_output(&mut self, output: JobOutput) {
        match output {
            JobOutput::Opened(opened) => {
                let Opened {
                    path,
                    overview,
                    assets,
                    facets,
                    loads,
                    rings,
                } = *opened;
                let reload = self.workspace.open().is_some_and(|w| w.path == path);
                if !reload {
                    // A new workspace starts on fresh tabs, the first one on the launch's.
                    self.input = ViewInput {
                        fraud_tab: self.launch_fraud_tab.take().unwrap_or_default(),
                        ..ViewInput::default()
                    };
                }
                self.settings.remember(&path);
                let mut ws = OpenWorkspace {
                    path,
                    overview,
                    accounts: Paged::default(),
                    transactions: Paged::default(),
                    library: LibraryState::new(assets, facets),
                    loads,
                    rings,
                };
                ws.accounts.reset(&self.input.account_filter);
                ws.transactions.reset(&self.input.transaction_filter);
                if let WorkspaceState::Open(old) = &mut self.workspace
                    && reload
                {
                    // Reopened after a data import: the library, its open page and its
                    // thumbnails carry over.
                    ws.library = std::mem::take(&mut old.library);
                }
                self.workspace = WorkspaceState::Open(Box::new(ws));
                self.refresh_counts();
                self.open_launch_asset();
                if !self.pending_import.is_empty() {
                    let files = std::mem::take(&mut self.pending_import);
                    self.apply(Command::OpenImport(files));
                }
            }
            JobOutput::DemoBuilt(path) => {
                self.toasts.push(
                    ToastKind::Success,
                    format!("Demo workspace ready: {}", path.display()),
                );
                self.apply(Command::OpenWorkspace(path));
            }
            JobOutput::AccountPage {
                generation,
                page,
                rows,
            } => {
                if let WorkspaceState::Open(ws) = &mut self.workspace {
                    ws.accounts.insert(generation, page, rows);
                }
            }
            JobOutput::TransactionPage {
                generation,
                page,
                rows,
            } => {
                if let WorkspaceState::Open(ws) = &mut self.workspace {
                    ws.transactions.insert(generation, page, rows);
                }
            }
            JobOutput::Counts {
                generation,
                accounts,
                transactions,
            } => {
                if let WorkspaceState::Open(ws) = &mut self.workspace {
                    ws.accounts.set_total(generation.0, accounts);
                    ws.transactions.set_total(generation.1, transactions);
                }
            }
            JobOutput::Library(output) => self.on_library_output(output),
            JobOutput::Picked(PickPurpose::ImportFiles, Some(path)) => {
                self.apply(Command::OpenImport(vec![path]))
            }
            JobOutput::Picked(PickPurpose::MappingFile, Some(path)) => {
                match crate::fraud::ingest::Mapping::load(&path) {
                    Ok(mapping) => self.apply(Command::ImportUseMapping {
                        mapping: Box::new(mapping),
                        save_to: None,
                    }),
                    Err(e) => self.toasts.push(ToastKind::Error, e.to_string()),
                }
            }
            JobOutput::Picked(purpose, Some(path)) => match purpose {
                PickPurpose::OpenWorkspace => self.apply(Command::OpenWorkspace(path)),
                PickPurpose::NewDemoWorkspace => self.apply(Command::BuildDemo(path)),
                PickPurpose::WorkspaceFolder => self.settings.workspace_folder = path,
                PickPurpose::ImportFiles | PickPurpose::MappingFile => {}
            },
            JobOutput::Picked(_, None) => {}
            JobOutput::PickedMany(_, files) => {
                if !files.is_empty() {
                    self.apply(Command::OpenImport(files));
                }
            }
            JobOutput::ImportDetected { files, result } => {
                if let Some(import) = &mut self.import
                    && import.files == files
                    && matches!(import.stage, import::ImportStage::Detecting)
                {
                    import.stage = match result {
                        Ok(plan) => import::ImportStage::Planned(plan),
                        Err((message, unknown)) => {
                            if let Some((file, header)) = &unknown {
                                self.input.mapping_draft =
                                    Some(import::MappingDraft::new(file.clone(), header.clone()));
                            }
                            import::ImportStage::Failed { message, unknown }
                        }
                    };
                }
            }
            JobOutput::ImportDone(summary) => {
                let text = format!(
                    "Import {}: {} rows read, {} loaded, {} rejected, {} duplicates",
                    if summary.cancelled {
                        "cancelled"
                    } else {
                        "finished"
                    },
                    summary.rows_read,
                    summary.loaded,
                    summary.rejected,
                    summary.duplicates
                );
                let kind = if summary.cancelled {
                    ToastKind::Info
                } else {
                    ToastKind::Success
                };
                self.toasts.push(kind, text);
                if let Some(import) = &mut self.import {
                    import.stage = import::ImportStage::Done(summary);
                }
                if let Some(ws) = self.workspace.open() {
                    let path = ws.path.clone();
                    self.reload_workspace(path);
                }
            }
            JobOutput::Scored(message) => {
                self.toasts.push(ToastKind::Success, message);
                if let Some(ws) = self.workspace.open() {
                    let path = ws.path.clone();
                    self.reload_workspace(path);
                }
            }
            JobOutput::Rejects { path, rows } => {
                if let Some(import) = &mut self.import {
                    import.rejects = Some(import::RejectsView { path, rows });
                }
            }
        }
    }

    fn apply(&mut self, command: Command) {
        match command {
            Command::SetView(view) => self.settings.view = view,
            Command::OpenWorkspace(path) => self.open_workspace(path),
            Command::BuildDemo(path) => self.build_demo(path),
            Command::Pick(purpose) => self.pick(purpose),
            Command::ForgetRecent(path) => self.settings.recent_workspaces.retain(|p| *p != path),
            Command::CancelJob(id) => self.jobs.cancel(id),
            Command::ShowSettings(open) => self.dialogs.settings = open,
            Command::ShowHelp(open) => self.dialogs.help = open,
            Command::SetTheme(theme) => {
                self.settings.theme = theme;
                crate::ui::theme::apply(&self.egui_ctx, &self.settings);
            }
            Command::SetUiScale(scale) => {
                self.settings.ui_scale = scale.clamp(0.5, 3.0);
                crate::ui::theme::apply(&self.egui_ctx, &self.settings);
            }
            Command::SetWorkerThreads(n) => self.settings.worker_threads = n.min(256),
            Command::SetFilter { table, filter } => self.set_filter(table, filter),
            Command::RequestPages { table, pages } => self.request_pages(table, pages),
            Command::Library(command) => self.apply_library(command),
            Command::DismissToast(id) => self.toasts.dismiss(id),
            Command::FilesDropped(files) => {
                // Data files go to the fraud importer; photos and folders to the library.
                let (data, photos): (Vec<PathBuf>, Vec<PathBuf>) =
                    files.into_iter().partition(|f| import::is_data_file(f));
                if !data.is_empty() {
                    self.settings.view = View::Fraud;
                    self.apply(Command::OpenImport(data));
                }
                if !photos.is_empty() {
                    self.apply_library(LibraryCommand::Import(photos));
                }
            }
            Command::OpenImport(files) => {
                if self.workspace.open().is_none() {
                    self.toasts
                        .push(ToastKind::Error, "Open a workspace before importing data");
                    return;
                }
                if let Some(import) = &self.import
                    && matches!(import.stage, import::ImportStage::Loading { .. })
                {
                    self.toasts
                        .push(ToastKind::Info, "An import is already running");
                    return;
                }
                let mut state = import::ImportState::new(Vec::new());
                if let Some(old) = self.import.take() {
                    state.files = old.files;
                    state.preset = old.preset;
                    state.no_labels = old.no_labels;
                    state.mapping = old.mapping;
                }
                for f in files {
                    if !state.files.contains(&f) {
                        state.files.push(f);
                    }
                }
                self.import = Some(state);
                self.detect_import();
            }
            Command::ImportSetPreset(preset) => {
                if let Some(import) = &mut self.import {
                    import.preset = preset;
                }
                self.detect_import();
            }
            Command::ImportSetNoLabels(no_labels) => {
                if let Some(import) = &mut self.import {
                    import.no_labels = no_labels;
                }
                self.detect_import();
            }
            Command::ImportUseMapping { mapping, save_to } => {
                if let Some(path) = save_to
                    && let Err(e) = mapping.save(&path)
                {
                    self.toasts.push(ToastKind::Error, e.to_string());
                    return;
                }
                if let Some(import) = &mut self.import {
                    import.mapping = Some(*mapping);
                    import.preset = "auto".into();
                }
                self.input.mapping_draft = None;
                self.detect_import();
            }
            Command::StartImport => self.start_import(),
            Command::ScoreNow => {
                if let Some(ws) = self.workspace.open() {
                    let path = ws.path.clone();
                    self.jobs.spawn("Scoring accounts", move |ctx| {
                        workspace::score_job(&path, ctx).map(JobOutput::Scored)
                    });
                }
            }
            Command::CloseImport => {
                if let Some(import) = &self.import
                    && let import::ImportStage::Loading { job, .. } = import.stage
                {
                    self.jobs.cancel(job);
                    return;
                }
                self.import = None;
                self.input.mapping_draft = None;
            }
            Command::ShowRejects(path) => {
                self.jobs.spawn_quiet(move |_| {
                    let rows = import::rejects_job(&path)?;
                    Ok(JobOutput::Rejects { path, rows })
                });
            }
            Command::CloseRejects => {
                if let Some(import) = &mut self.import {
                    import.rejects = None;
                }
            }
        }
    }

    fn detect_import(&mut self) {
        let Some(import) = &mut self.import else {
            return;
        };
        if import.files.is_empty() {
            import.stage = import::ImportStage::Empty;
            return;
        }
        import.stage = import::ImportStage::Detecting;
        let (files, preset, mapping, no_labels) = (
            import.files.clone(),
            import.preset.clone(),
            import.mapping.clone(),
            import.no_labels,
        );
        self.jobs.spawn_quiet(move |_| {
            let result =
                import::detect_job(&files, &preset, mapping.as_ref(), no_labels).map(Box::new);
            Ok(JobOutput::ImportDetected { files, result })
        });
    }

    fn start_import(&mut self) {
        let Some(path) = self.workspace.open().map(|ws| ws.path.clone()) else {
            return;
        };
        let Some(import) = &mut self.import else {
            return;
        };
        let import::ImportStage::Planned(plan) = &import.stage else {
            return;
        };
        let plan = plan.clone();
        let no_labels = import.no_labels;
        let job = self.jobs.spawn(
            format!("Importing {} file(s)", plan.files.len()),
            move |ctx| {
                let summary = import::load_job(&path, &plan, no_labels, ctx)?;
                Ok(JobOutput::ImportDone(Box::new(summary)))
            },
        );
        import.stage = import::ImportStage::Loading {
            job,
            started: Instant::now(),
        };
    }

    /// Re-reads the workspace summary and tables after a change, keeping the view.
    fn reload_workspace(&mut self, path: PathBuf) {
        self.jobs.spawn_quiet(move |ctx| {
            workspace::open_job(&path, ctx).map(|o| JobOutput::Opened(Box::new(o)))
        });
    }

    fn open_workspace(&mut self, path: PathBuf) {
        self.workspace = WorkspaceState::Loading {
            path: path.clone(),
            since: Instant::now(),
        };
        self.jobs
            .spawn(format!("Opening {}", file_label(&path)), move |ctx| {
                workspace::open_job(&path, ctx).map(|o| JobOutput::Opened(Box::new(o)))
            });
    }

    fn build_demo(&mut self, path: PathBuf) {
        self.workspace = WorkspaceState::Loading {
            path: path.clone(),
            since: Instant::now(),
        };
        self.jobs.spawn("Building demo workspace", move |ctx| {
            crate::demo::build(
                &path,
                &|f, msg| ctx.progress(Some(f), msg),
                ctx.cancel_token().flag(),
            )
            .map_err(|e| match e {
                crate::demo::DemoError::Cancelled => JobFailure::Cancelled,
                other => JobFailure::Failed(other.to_string()),
            })?;
            Ok(JobOutput::DemoBuilt(path))
        });
    }

    fn pick(&mut self, purpose: PickPurpose) {
        let folder = self.settings.workspace_folder.clone();
        self.jobs.spawn_quiet(move |_| {
            let dialog = rfd::FileDialog::new().set_directory(&folder);
            let picked = match purpose {
                PickPurpose::OpenWorkspace => dialog
                    .add_filter("Sightline workspace", &["sqlite", "sightline", "db"])
                    .pick_file(),
                PickPurpose::NewDemoWorkspace => dialog.set_file_name("demo.sqlite").save_file(),
                PickPurpose::WorkspaceFolder => dialog.pick_folder(),
                PickPurpose::ImportFiles => {
                    let files = rfd::FileDialog::new()
                        .add_filter("Data files", &["csv", "gz", "jsonl", "json", "tsv", "txt"])
                        .pick_files()
                        .unwrap_or_default();
                    return Ok(JobOutput::PickedMany(purpose, files));
                }
                PickPurpose::MappingFile => dialog.add_filter("Mapping", &["toml"]).pick_file(),
            };
            Ok(JobOutput::Picked(purpose, picked))
        });
    }

    fn set_filter(&mut self, table: Table, filter: String) {
        let WorkspaceState::Open(ws) = &mut self.workspace else {
            return;
        };
        match table {
            Table::Accounts => {
                ws.accounts.reset(&filter);
            }
            Table::Transactions => {
                ws.transactions.reset(&filter);
            }
        }
        self.refresh_counts();
    }

    fn refresh_counts(&mut self) {
        let WorkspaceState::Open(ws) = &self.workspace else {
            return;
        };
        let path = ws.path.clone();
        let (af, tf) = (ws.accounts.filter.clone(), ws.transactions.filter.clone());
        let generation = (ws.accounts.generation(), ws.transactions.generation());
        self.jobs.spawn_quiet(move |_| {
            let (accounts, _) = workspace::counts(&path, &af)?;
            let (_, transactions) = workspace::counts(&path, &tf)?;
            Ok(JobOutput::Counts {
                generation,
                accounts,
                transactions,
            })
        });
    }

    fn request_pages(&mut self, table: Table, pages: Vec<usize>) {
        let WorkspaceState::Open(ws) = &self.workspace else {
            return;
        };
        for page in pages {
            let path = ws.path.clone();
            match table {
                Table::Accounts => {
                    let (filter, generation) =
                        (ws.accounts.filter.clone(), ws.accounts.generation());
                    self.jobs.spawn_quiet(move |_| {
                        let rows = workspace::account_page(&path, &filter, page)?;
                        Ok(JobOutput::AccountPage {
                            generation,
                            page,
                            rows,
                        })
                    });
                }
                Table::Transactions => {
                    let (filter, generation) =
                        (ws.transactions.filter.clone(), ws.transactions.generation());
                    self.jobs.spawn_quiet(move |_| {
                        let rows = workspace::transaction_page(&path, &filter, page)?;
                        Ok(JobOutput::TransactionPage {
                            generation,
                            page,
                            rows,
                        })
                    });
                }
            }
        }
    }

    /// Opens the asset page asked for on the command line, once the workspace is open.
    fn open_launch_asset(&mut self) {
        let Some(launch) = self.launch_asset.take() else {
            return;
        };
        let Some(ws) = self.workspace.open() else {
            return;
        };
        let found = ws.library.assets.iter().find(|a| {
            a.sku.as_deref() == Some(launch.asset.as_str())
                || a.file_name == launch.asset
                || a.id.to_string() == launch.asset
        });
        match found {
            Some(asset) => {
                let id = asset.id;
                self.settings.view = View::Lookbook;
                self.open_page(id, launch.recipe);
                if let Some(mode) = launch.mode {
                    self.apply_library(LibraryCommand::Page(PageCommand::Mode(mode)));
                }
                if let Some(split) = launch.split {
                    self.input.library.canvas.split = split.clamp(0.0, 1.0);
                }
            }
            None => self.toasts.push(
                ToastKind::Error,
                format!("No asset with SKU, file name or id {:?}", launch.asset),
            ),
        }
    }

    /// Whether everything the current view needs has arrived (used before screenshots).
    fn view_settled(&self) -> bool {
        match &self.workspace {
            WorkspaceState::Open(ws) => {
                self.jobs.is_idle()
                    && ws.library.settled()
                    && !ws.accounts.is_loading()
                    && !ws.transactions.is_loading()
            }
            WorkspaceState::Failed { .. } => true,
            _ => false,
        }
    }

    fn drive_screenshot(&mut self, ctx: &egui::Context) {
        let settled = self.view_settled();
        let Some(plan) = &mut self.screenshot else {
            return;
        };
        if let Some(img) = plan.image.lock().ok().and_then(|mut g| g.take()) {
            let result = save_png(&plan.out, &img);
            if let Err(e) = &result {
                eprintln!("error: {e}");
            }
            if let Ok(mut o) = plan.outcome.lock() {
                *o = Some(result);
            }
            ctx.send_viewport_cmd(egui::ViewportCommand::Close);
            return;
        }
        if plan.requested {
            ctx.request_repaint();
            return;
        }
        let timed_out = plan.started.elapsed() > SCREENSHOT_TIMEOUT;
        if settled || timed_out {
            plan.ready_frames += 1;
        }
        // A few settled frames so layout (table widths, fonts) has converged.
        if plan.ready_frames >= 4 {
            plan.requested = true;
            let slot = plan.image.clone();
            let repaint = ctx.clone();
            ctx.request_screenshot(move |img| {
                if let Ok(mut s) = slot.lock() {
                    *s = Some(img);
                }
                repaint.request_repaint();
            });
        }
        ctx.request_repaint();
    }

    /// The screenshot result, once the window has closed (`None` if none was asked for).
    pub fn screenshot_outcome(&self) -> Option<ScreenshotOutcome> {
        self.screenshot.as_ref().map(|p| p.outcome.clone())
    }
}

impl eframe::App for SightlineApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.frame_ui(ui);
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        if self.persist {
            eframe::set_value(storage, SETTINGS_KEY, &self.settings);
        }
    }

    fn persist_egui_memory(&self) -> bool {
        self.persist
    }
}

/// The file name of a path, for titles.
pub fn file_label(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_else(|| path.display().to_string())
}

/// Writes the screenshot as PNG atomically.
fn save_png(out: &Path, img: &egui::ColorImage) -> Result<(), String> {
    let [w, h] = img.size;
    let mut rgba = Vec::with_capacity(w * h * 4);
    for p in &img.pixels {
        rgba.extend_from_slice(&p.to_srgba_unmultiplied());
    }
    let buf = image::RgbaImage::from_raw(w as u32, h as u32, rgba)
        .ok_or_else(|| "screenshot had an unexpected size".to_string())?;
    let tmp = out.with_extension("png.tmp");
    buf.save_with_format(&tmp, image::ImageFormat::Png)
        .and_then(|_| std::fs::rename(&tmp, out).map_err(image::ImageError::IoError))
        .map_err(|e| format!("could not write screenshot {}: {e}", out.display()))
}
