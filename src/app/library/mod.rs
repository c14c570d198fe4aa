//! The product library as the app holds it: the listed assets and filter menus, the
//! selection, thumbnail textures, the open asset page, and the jobs behind them. Views read
//! [`LibraryState`] and send [`LibraryCommand`]s; this module applies them once a frame.

pub mod commands;
pub mod history;
pub mod jobs;
pub mod page;
pub mod thumbs;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Instant;

pub use commands::{BatchScope, LibraryCommand, LibraryDialog, PageCommand, PageMode, SelectHow};
pub use jobs::LibraryOutput;
pub use page::AssetPage;
pub use thumbs::ThumbTextures;

use super::{JobOutput, SightlineApp, ToastKind, WorkspaceState};
use crate::imaging::ops::background::BrushMode;
use crate::imaging::{Preset, Recipe};
use crate::jobs::{CancelToken, JobFailure};
use crate::library::batch::{BatchReport, BatchTarget};
use crate::library::{AssetFilter, AssetRow, Facets, ImportSummary};

/// The library part of an open workspace.
#[derive(Default)]
pub struct LibraryState {
    /// The filter the listing was asked for.
    pub filter: AssetFilter,
    /// Assets under the filter, in grid order.
    pub assets: Vec<AssetRow>,
    /// Categories and tags for the filter menus.
    pub facets: Facets,
    /// Selected asset ids.
    pub selection: BTreeSet<i64>,
    /// The last clicked asset (details panel, Shift-click ranges).
    pub anchor: Option<i64>,
    /// Thumbnail textures.
    pub thumbs: ThumbTextures,
    /// The open asset page.
    pub page: Option<AssetPage>,
    /// The user's named recipes.
    pub named: Vec<(String, Recipe)>,
    /// The open library dialog.
    pub dialog: Option<LibraryDialog>,
    /// What the last import did.
    pub last_import: Option<ImportSummary>,
    /// What the last batch did.
    pub last_batch: Option<BatchReport>,
    /// A listing job is running.
    pub listing_pending: bool,
    /// An import job is running.
    pub importing: bool,
    /// Where the recipe of the page to open at start comes from (`--recipe`).
    pub launch_recipe: Option<String>,
}

impl LibraryState {
    /// A library showing `assets` (the unfiltered listing).
    pub fn new(assets: Vec<AssetRow>, facets: Facets) -> Self {
        Self {
            assets,
            facets,
            ..Self::default()
        }
    }

    /// The primary selected asset (shown in the details panel).
    pub fn primary(&self) -> Option<&AssetRow> {
        let id = self.anchor.filter(|id| self.selection.contains(id))?;
        self.assets.iter().find(|a| a.id == id)
    }

    /// Whether everything on screen has arrived (screenshots and tests wait for this).
    pub fn settled(&self) -> bool {
        !self.listing_pending
            && self.thumbs.pending() == 0
            && self.page.as_ref().is_none_or(|p| {
                p.error.is_some()
                    || (p.is_loaded()
                        && p.preview_current()
                        && p.preview_job.is_none()
                        && p.full_job.is_none())
            })
    }

    fn select(&mut self, id: i64, how: SelectHow) {
        match how {
            SelectHow::Replace => {
                self.selection.clear();
                self.selection.insert(id);
                self.anchor = Some(id);
            }
            SelectHow::Toggle => {
                if !self.selection.remove(&id) {
                    self.selection.insert(id);
                }
                self.anchor = Some(id);
            }
            SelectHow::Range => {
                let pos = |x: i64| self.assets.iter().position(|a| a.id == x);
                match (self.anchor.and_then(pos), pos(id)) {
                    (Some(a), Some(b)) => {
                        let (lo, hi) = (a.min(b), a.max(b));
                        self.selection = self.assets[lo..=hi].iter().map(|a| a.id).collect();
                    }
                    _ => self.select(id, SelectHow::Replace),
                }
            }
        }
    }
}

/// Output formats offered for batch runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FormatChoice {
    #[default]
    Png,
    Jpeg,
    Webp,
}

/// Which recipe a batch applies.
#[derive(Clone, Debug, PartialEq)]
pub enum RecipeChoice {
    /// The recipe on the open asset page.
    Page,
    /// A built-in preset.
    Preset(Preset),
    /// A named recipe.
    Named(String),
}

impl Default for RecipeChoice {
    fn default() -> Self {
        Self::Preset(Preset::MarketplaceSquare)
    }
}

/// What the batch dialog's fields hold.
#[derive(Clone, Debug, Default)]
pub struct BatchInput {
    pub recipe: RecipeChoice,
    pub save_to_assets: bool,
    pub folder: String,
    pub format: FormatChoice,
}

/// A drag in progress on the canvas.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CanvasDrag {
    #[default]
    None,
    Split,
    Pan,
    Brush,
}

/// The canvas's view state: zoom, pan, split and brush (ephemeral, not application state).
#[derive(Clone, Debug)]
pub struct CanvasInput {
    /// Points per output pixel; `None` fits the image to the canvas.
    pub zoom: Option<f32>,
    /// The content point at the canvas centre, as fractions of width and height.
    pub center: [f32; 2],
    /// The before/after split, as a fraction of the image width.
    pub split: f32,
    /// Brush radius as a fraction of the image's shorter side.
    pub brush_radius_frac: f32,
    /// Add to (true) or remove from the product.
    pub brush_mode: BrushMode,
    /// The stroke being painted, normalised points.
    pub stroke: Vec<[f32; 2]>,
    /// What the current drag does.
    pub drag: CanvasDrag,
    /// The zoom the canvas drew last frame, in percent of full size (for the toolbar).
    pub shown_zoom_pct: f32,
}

impl Default for CanvasInput {
    fn default() -> Self {
        Self {
            zoom: None,
            center: [0.5, 0.5],
            split: 0.5,
            brush_radius_frac: 0.03,
            brush_mode: BrushMode::Add,
            stroke: Vec::new(),
            drag: CanvasDrag::None,
            shown_zoom_pct: 100.0,
        }
    }
}

/// Ephemeral input of the library views (text boxes, dialog fields, canvas view).
#[derive(Clone, Debug, Default)]
pub struct LibraryInput {
    pub filter_text: String,
    pub tag_text: String,
    pub save_name: String,
    pub batch: BatchInput,
    pub canvas: CanvasInput,
}

impl SightlineApp {
    fn library_mut(&mut self) -> Option<(&mut LibraryState, PathBuf)> {
        match &mut self.workspace {
            WorkspaceState::Open(ws) => Some((&mut ws.library, ws.path.clone())),
            _ => None,
        }
    }

    /// Applies a library command.
    pub(super) fn apply_library(&mut self, command: LibraryCommand) {
        let Some((lib, path)) = self.library_mut() else {
            return;
        };
        match command {
            LibraryCommand::SetFilter(filter) => {
                lib.filter = filter.clone();
                self.refresh_listing();
            }
            LibraryCommand::Visible(hashes) => lib.thumbs.drawn(&hashes),
            LibraryCommand::Select { id, how } => lib.select(id, how),
            LibraryCommand::SelectAll => {
                lib.selection = lib.assets.iter().map(|a| a.id).collect();
            }
            LibraryCommand::ClearSelection => lib.selection.clear(),
            LibraryCommand::Open(id) => self.open_page(id, None),
            LibraryCommand::PickImport => self.pick_library(Pick::ImportFiles),
            LibraryCommand::PickImportFolder => self.pick_library(Pick::ImportFolder),
            LibraryCommand::PickBatchFolder => self.pick_library(Pick::BatchFolder),
            LibraryCommand::Import(paths) => {
                if paths.is_empty() {
                    return;
                }
                lib.importing = true;
                let title = match paths.as_slice() {
                    [one] => format!("Importing {}", super::file_label(one)),
                    many => format!("Importing {} items", many.len()),
                };
                self.settings.view = super::View::Lookbook;
                self.jobs.spawn(title, move |ctx| {
                    jobs::import(&path, &paths, ctx).map(JobOutput::Library)
                });
            }
            LibraryCommand::AddTags { ids, tags } => {
                self.jobs.spawn_quiet(move |_| {
                    jobs::tags(&path, &ids, Some(&tags), None).map(JobOutput::Library)
                });
            }
            LibraryCommand::RemoveTag { ids, tag } => {
                self.jobs.spawn_quiet(move |_| {
                    jobs::tags(&path, &ids, None, Some(&tag)).map(JobOutput::Library)
                });
            }
            LibraryCommand::ShowDialog(dialog) => {
                lib.dialog = dialog;
                let has_page = lib.page.is_some();
                if let Some(LibraryDialog::Apply(_)) = dialog {
                    let batch = &mut self.input.library.batch;
                    if has_page {
                        batch.recipe = RecipeChoice::Page;
                    }
                    if batch.folder.is_empty() {
                        let dir = path.parent().unwrap_or(std::path::Path::new("."));
                        batch.folder = dir.join("exports").display().to_string();
                    }
                }
                let Some((lib, _)) = self.library_mut() else {
                    return;
                };
                let name = match dialog {
                    Some(LibraryDialog::SaveNamed) => {
                        lib.page.as_ref().map(|p| p.recipe.name.clone())
                    }
                    _ => None,
                };
                if let Some(name) = name {
                    self.input.library.save_name = name;
                }
            }
            LibraryCommand::ApplyRecipe {
                scope,
                recipe,
                target,
            } => self.start_batch(scope, *recipe, target),
            LibraryCommand::Page(cmd) => self.apply_page(cmd),
        }
    }

    fn start_batch(&mut self, scope: BatchScope, recipe: Recipe, target: BatchTarget) {
        let Some((lib, path)) = self.library_mut() else {
            return;
        };
        lib.dialog = None;
        let ids: Option<Vec<i64>> = match scope {
            BatchScope::Selection => Some(lib.selection.iter().copied().collect()),
            BatchScope::Library => None,
        };
        let count = ids.as_ref().map_or(lib.facets.total, |ids| ids.len());
        if count == 0 {
            self.toasts.push(
                ToastKind::Info,
                "Nothing to apply the recipe to: select photos first",
            );
            return;
        }
        let name = if recipe.name.is_empty() {
            "recipe".to_string()
        } else {
            recipe.name.clone()
        };
        let what = match &target {
            BatchTarget::SaveToAssets => "Saving",
            BatchTarget::Folder(_) => "Rendering",
        };
        self.jobs
            .spawn(format!("{what} {name} on {count} photo(s)"), move |ctx| {
                let ids = match ids {
                    Some(ids) => ids,
                    None => {
                        let conn = crate::store::Workspace::connect(&path)
                            .map_err(|e| JobFailure::Failed(e.to_string()))?;
                        crate::library::list_filtered(&conn, &AssetFilter::default())
                            .map_err(|e| JobFailure::Failed(e.to_string()))?
                            .iter()
                            .map(|a| a.id)
                            .collect()
                    }
                };
                jobs::batch(&path, &ids, &recipe, &target, ctx).map(JobOutput::Library)
            });
    }

    /// Re-lists the library under its current filter.
    pub(super) fn refresh_listing(&mut self) {
        let Some((lib, path)) = self.library_mut() else {
            return;
        };
        lib.listing_pending = true;
        let filter = lib.filter.clone();
        self.jobs
            .spawn_quiet(move |_| jobs::listing(&path, filter).map(JobOutput::Library));
    }

    /// Opens the asset page of `id`; `recipe` (a preset, named recipe or file) replaces the
    /// stored recipe once loaded.
    pub(super) fn open_page(&mut self, id: i64, recipe: Option<String>) {
        let Some((lib, path)) = self.library_mut() else {
            return;
        };
        let Some(asset) = lib.assets.iter().find(|a| a.id == id).cloned() else {
            return;
        };
        if let Some(old) = lib.page.take()
            && let Some(job) = old.preview_job
        {
            job.cancel.cancel();
        }
        lib.launch_recipe = recipe;
        lib.page = Some(AssetPage::loading(asset));
        lib.select(id, SelectHow::Replace);
        self.input.library.canvas = CanvasInput::default();
        self.jobs
            .spawn_quiet(move |_| Ok(JobOutput::Library(jobs::load_page(&path, id))));
    }

    fn apply_page(&mut self, command: PageCommand) {
        let Some((lib, path)) = self.library_mut() else {
            return;
        };
        let Some(page) = lib.page.as_mut() else {
            return;
        };
        let now = Instant::now();
        match command {
            PageCommand::Close => {
                if let Some(job) = page.preview_job.take() {
                    job.cancel.cancel();
                }
                lib.page = None;
            }
            PageCommand::Edit { recipe, what } => {
                if *recipe != page.recipe {
                    page.history.record(&page.recipe, &what, now);
                    page.recipe = *recipe;
                    page.edited(now);
                }
            }
            PageCommand::Undo => {
                if let Some(r) = page.history.undo(&page.recipe) {
                    page.recipe = r;
                    page.edited(now);
                }
            }
            PageCommand::Redo => {
                if let Some(r) = page.history.redo(&page.recipe) {
                    page.recipe = r;
                    page.edited(now);
                }
            }
            PageCommand::Mode(mode) => page.mode = mode,
            PageCommand::Viewport(side) => page.preview_side_px = side,
            PageCommand::AddStroke(stroke) => {
                if stroke.points.is_empty() {
                    return;
                }
                // A unique key: strokes never merge into one undo step.
                let what = format!("brush-{}", page.recipe.mask_edits.len());
                page.history.record(&page.recipe, &what, now);
                page.recipe.mask_edits.push(stroke);
                page.edited(now);
            }
            PageCommand::RenderFull => {
                let key = page.recipe_key();
                if page.current_full().is_some() || page.full_job.as_ref() == Some(&key) {
                    return;
                }
                let Some(original) = page.original.clone() else {
                    return;
                };
                page.full_job = Some(key);
                let (asset, recipe) = (page.asset.clone(), page.recipe.clone());
                self.jobs.spawn(
                    format!("Rendering {} at full size", asset.label()),
                    move |ctx| {
                        Ok(JobOutput::Library(jobs::full_render(
                            &path, &asset, &original, &recipe, ctx,
                        )))
                    },
                );
            }
            PageCommand::SaveToAsset => {
                let (id, recipe) = (page.asset.id, page.recipe.clone());
                let recipe = (recipe != Recipe::default()).then_some(recipe);
                self.jobs.spawn_quiet(move |_| {
                    jobs::save_recipe(&path, id, recipe).map(JobOutput::Library)
                });
            }
            PageCommand::SaveNamed(name) => {
                let recipe = page.recipe.clone();
                lib.dialog = None;
                self.jobs.spawn_quiet(move |_| {
                    jobs::named(&path, Some((name, recipe)), None).map(JobOutput::Library)
                });
            }
            PageCommand::DeleteNamed(name) => {
                self.jobs.spawn_quiet(move |_| {
                    jobs::named(&path, None, Some(name)).map(JobOutput::Library)
                });
            }
            PageCommand::PickExport => self.pick_library(Pick::Export),
        }
    }

    fn pick_library(&mut self, pick: Pick) {
        let suggested = self
            .workspace
            .open()
            .and_then(|ws| {
                ws.library
                    .page
                    .as_ref()
                    .map(|p| format!("{}.png", p.asset.label()))
            })
            .unwrap_or_else(|| "export.png".into());
        self.jobs.spawn_quiet(move |_| {
            let dialog = rfd::FileDialog::new();
            let out = match pick {
                Pick::ImportFiles => dialog
                    .add_filter("Photos", &["jpg", "jpeg", "png", "webp"])
                    .pick_files()
                    .map(LibraryOutput::PickedImport),
                Pick::ImportFolder => dialog
                    .pick_folder()
                    .map(|f| LibraryOutput::PickedImport(vec![f])),
                Pick::BatchFolder => dialog.pick_folder().map(LibraryOutput::PickedBatchFolder),
                Pick::Export => dialog
                    .add_filter("PNG", &["png"])
                    .add_filter("JPEG", &["jpg", "jpeg"])
                    .add_filter("WebP", &["webp"])
                    .set_file_name(suggested)
                    .save_file()
                    .map(LibraryOutput::PickedExport),
            };
            Ok(JobOutput::Library(
                out.unwrap_or(LibraryOutput::PickedImport(Vec::new())),
            ))
        });
    }

    /// Starts the jobs the library needs this frame: thumbnails for tiles on screen and the
    /// preview of the newest recipe edit.
    pub(super) fn library_tick(&mut self) {
        let Some((lib, path)) = self.library_mut() else {
            return;
        };
        let batches: Vec<Vec<String>> = std::iter::from_fn(|| lib.thumbs.next_batch()).collect();
        let now = Instant::now();
        let preview = lib.page.as_mut().and_then(|p| start_preview(p, now));
        // After a draft, come back when the edits have settled to refine it.
        if let Some(p) = &lib.page
            && p.preview_job.is_none()
            && let Some(t) = p.last_edit
            && (p.shown_side_px != p.preview_side_px || !p.shown_settled)
        {
            let wait = page::DRAFT_WINDOW.saturating_sub(now.duration_since(t));
            self.egui_ctx
                .request_repaint_after(wait + std::time::Duration::from_millis(10));
        }
        for batch in batches {
            let path = path.clone();
            self.jobs.spawn_quiet(move |ctx| {
                Ok(JobOutput::Library(jobs::thumbnails(&path, batch, ctx)))
            });
        }
        if let Some((request, cancel)) = preview {
            self.jobs.spawn_quiet(move |_| {
                Ok(JobOutput::Library(jobs::preview(request, cancel.flag())))
            });
        }
    }

    /// Applies a library job's result.
    pub(super) fn on_library_output(&mut self, output: LibraryOutput) {
        let ctx = self.egui_ctx.clone();
        let Some((lib, _)) = self.library_mut() else {
            return;
        };
        match output {
            LibraryOutput::Listing {
                filter,
                rows,
                facets,
            } => {
                if filter == lib.filter {
                    lib.assets = rows;
                    lib.facets = facets;
                    lib.listing_pending = false;
                }
            }
            LibraryOutput::Thumbnails(results) => lib.thumbs.finish_batch(&ctx, results),
            LibraryOutput::Imported(summary) => {
                lib.importing = false;
                if !summary.imported.is_empty() {
                    lib.selection = summary.imported.iter().copied().collect();
                    lib.anchor = summary.imported.first().copied();
                }
                let kind = if summary.failed.is_empty() {
                    ToastKind::Success
                } else {
                    lib.dialog = Some(LibraryDialog::ImportReport);
                    ToastKind::Error
                };
                let text = format!("Import: {}", summary.headline());
                lib.last_import = Some(summary);
                self.toasts.push(kind, text);
                self.refresh_listing();
            }
            LibraryOutput::TagsChanged(_) => self.refresh_listing(),
            LibraryOutput::PageLoaded(data) => {
                let data = *data;
                lib.named = data.named;
                let launch_recipe = lib.launch_recipe.take();
                let Some(page) = lib.page.as_mut().filter(|p| p.asset.id == data.asset.id) else {
                    return;
                };
                page.original_texture = Some(ctx.load_texture(
                    format!("original-{}", data.asset.id),
                    data.original_image,
                    egui::TextureOptions::LINEAR,
                ));
                page.original = Some(data.original);
                page.asset = data.asset;
                page.recipe = data.saved.clone().unwrap_or_default();
                page.saved = data.saved;
                page.revision += 1;
                page.stage = None;
                if let Some(spec) = launch_recipe {
                    match launch_recipe_from(&spec, &lib.named) {
                        Ok(recipe) => {
                            page.history.record(&page.recipe, "launch", Instant::now());
                            page.recipe = recipe;
                            page.revision += 1;
                        }
                        Err(e) => page.error = Some(e),
                    }
                }
            }
            LibraryOutput::PageFailed { asset_id, message } => {
                if let Some(page) = lib.page.as_mut().filter(|p| p.asset.id == asset_id) {
                    page.error = Some(message);
                }
            }
            LibraryOutput::Preview(data) => {
                let Some(page) = lib.page.as_mut().filter(|p| p.asset.id == data.asset_id) else {
                    return;
                };
                page.preview_job = None;
                if data.stage.is_some() {
                    page.stage = data.stage;
                }
                match data.result {
                    Ok(images) => {
                        let key = data.revision.to_string();
                        set_texture(
                            &ctx,
                            &mut page.preview,
                            "preview",
                            key.clone(),
                            images.after,
                        );
                        if let Some(mask) = images.mask {
                            set_texture(&ctx, &mut page.mask, "mask", key, mask);
                            page.mask_revision = Some(data.revision);
                        }
                        if let Some((before_key, before)) = images.before {
                            set_texture(&ctx, &mut page.before, "before", before_key, before);
                        }
                        page.preview_revision = Some(data.revision);
                        page.shown_side_px = data.side_px;
                        page.shown_settled = data.settled;
                        page.preview_elapsed = Some(images.elapsed);
                        page.error = None;
                    }
                    Err(JobFailure::Cancelled) => {}
                    Err(JobFailure::Failed(message)) => {
                        // Marked as shown so a recipe that cannot render is not retried
                        // every frame; the message stays until the next edit renders.
                        page.preview_revision = Some(data.revision);
                        page.mask_revision = Some(data.revision);
                        page.shown_side_px = data.side_px;
                        page.shown_settled = true;
                        page.error = Some(message);
                    }
                }
            }
            LibraryOutput::FullRender {
                asset_id,
                key,
                result,
            } => {
                let Some(page) = lib.page.as_mut().filter(|p| p.asset.id == asset_id) else {
                    return;
                };
                if page.full_job.as_ref() == Some(&key) {
                    page.full_job = None;
                }
                match result {
                    Ok(image) => set_texture(&ctx, &mut page.full, "full", key, image),
                    Err(JobFailure::Cancelled) => {}
                    Err(JobFailure::Failed(message)) => {
                        self.toasts.push(
                            ToastKind::Error,
                            format!("Full-size render failed: {message}"),
                        );
                    }
                }
            }
            LibraryOutput::RecipeSaved { asset_id, recipe } => {
                if let Some(page) = lib.page.as_mut().filter(|p| p.asset.id == asset_id) {
                    page.saved = recipe.clone();
                }
                if let Some(row) = lib.assets.iter_mut().find(|a| a.id == asset_id) {
                    row.has_recipe = recipe.is_some();
                }
                self.toasts.push(
                    ToastKind::Success,
                    if recipe.is_some() {
                        "Recipe saved with the photo (the original is unchanged)"
                    } else {
                        "Recipe cleared from the photo"
                    },
                );
            }
            LibraryOutput::NamedRecipes(named) => {
                lib.named = named;
                self.toasts
                    .push(ToastKind::Success, "Named recipes updated");
            }
            LibraryOutput::BatchDone(report) => {
                let kind = if !report.failures.is_empty() {
                    lib.dialog = Some(LibraryDialog::BatchReport);
                    ToastKind::Error
                } else if report.cancelled {
                    ToastKind::Info
                } else {
                    ToastKind::Success
                };
                let text = format!("Batch: {}", report.headline());
                lib.last_batch = Some(report);
                self.toasts.push(kind, text);
                self.refresh_listing();
            }
            LibraryOutput::Exported(out) => {
                self.toasts
                    .push(ToastKind::Success, format!("Exported {}", out.display()));
            }
            LibraryOutput::PickedImport(paths) => {
                self.apply_library(LibraryCommand::Import(paths));
            }
            LibraryOutput::PickedBatchFolder(dir) => {
                self.input.library.batch.folder = dir.display().to_string();
            }
            LibraryOutput::PickedExport(out) => self.start_export(out),
        }
    }

    fn start_export(&mut self, out: PathBuf) {
        let Some((lib, path)) = self.library_mut() else {
            return;
        };
        let Some(page) = lib.page.as_ref() else {
            return;
        };
        let Some(original) = page.original.clone() else {
            return;
        };
        let (asset, recipe) = (page.asset.clone(), page.recipe.clone());
        self.jobs.spawn(
            format!("Exporting {}", super::file_label(&out)),
            move |ctx| {
                jobs::export(&path, &asset, &original, &recipe, &out, ctx).map(JobOutput::Library)
            },
        );
    }
}

/// Marks a preview as started when the page needs one; returns what the job renders.
fn start_preview(
    page: &mut AssetPage,
    now: Instant,
) -> Option<(jobs::PreviewRequest, CancelToken)> {
    if !page.wants_preview(now) {
        return None;
    }
    let side_px = page.target_side_px(now);
    let original = page.original.clone()?;
    let cancel = CancelToken::default();
    page.preview_job = Some(page::PreviewJob {
        revision: page.revision,
        cancel: cancel.clone(),
    });
    let request = jobs::PreviewRequest {
        asset_id: page.asset.id,
        revision: page.revision,
        side_px,
        settled: !page.interacting(now),
        original,
        recipe: page.recipe.clone(),
        want_mask: page.mode == PageMode::Mask,
        before_key: page.before.as_ref().map(|b| b.key.clone()),
        stage: page.stage.clone(),
    };
    Some((request, cancel))
}

/// Uploads `image` into the slot's texture (reusing it when there is one).
fn set_texture(
    ctx: &egui::Context,
    slot: &mut Option<page::Shown>,
    name: &str,
    key: String,
    image: egui::ColorImage,
) {
    match slot {
        Some(shown) => {
            shown.texture.set(image, egui::TextureOptions::LINEAR);
            shown.key = key;
        }
        None => {
            *slot = Some(page::Shown {
                texture: ctx.load_texture(name, image, egui::TextureOptions::LINEAR),
                key,
            });
        }
    }
}

/// A `--recipe` given at launch: a preset or named recipe (a file was read by the launcher).
fn launch_recipe_from(spec: &str, named: &[(String, Recipe)]) -> Result<Recipe, String> {
    if let Ok(p) = Preset::from_name(spec) {
        return Ok(p.recipe());
    }
    if let Some((_, r)) = named.iter().find(|(n, _)| n == spec) {
        return Ok(r.clone());
    }
    Recipe::from_json(spec).map_err(|e| format!("--recipe {spec:?}: {e}"))
}

/// System dialogs the library opens.
#[derive(Clone, Copy, Debug)]
enum Pick {
    ImportFiles,
    ImportFolder,
    BatchFolder,
    Export,
}
