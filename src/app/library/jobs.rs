//! The library's background work, run on job threads: listing, thumbnails, import, tags,
//! loading an asset page, previews, full-size renders, export and batch runs. Each returns a
//! [`LibraryOutput`] for the app to apply; none touches the UI.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use image::{GrayImage, RgbaImage};

use super::page::{MAX_TEXTURE_SIDE_PX, geometry_only};
use crate::imaging::encode::{OutputFormat, encode};
use crate::imaging::render::{ImagingError, RenderOptions, background_mask, render};
use crate::imaging::{Recipe, decode, thumbnail};
use crate::jobs::{JobCtx, JobFailure};
use crate::library::batch::{BatchReport, BatchTarget, apply_to_assets};
use crate::library::{
    self, AssetFilter, AssetRow, Facets, ImportOptions, ImportSummary, RenderCache, ThumbCache,
};
use crate::store::{BlobStore, OpenMode, Workspace};

/// What library jobs hand back.
pub enum LibraryOutput {
    /// The assets under a filter, and the filter menus' values.
    Listing {
        filter: AssetFilter,
        rows: Vec<AssetRow>,
        facets: Facets,
    },
    /// Decoded thumbnails (None: could not be made).
    Thumbnails(Vec<(String, Option<egui::ColorImage>)>),
    /// An import finished.
    Imported(ImportSummary),
    /// Tags changed on this many assets.
    TagsChanged(usize),
    /// An asset page's data.
    PageLoaded(Box<PageData>),
    /// An asset page could not load.
    PageFailed { asset_id: i64, message: String },
    /// A preview finished (or failed).
    Preview(Box<PreviewData>),
    /// A full-size render finished, failed or was cancelled.
    FullRender {
        asset_id: i64,
        key: String,
        result: Result<egui::ColorImage, JobFailure>,
    },
    /// The recipe stored with an asset changed.
    RecipeSaved {
        asset_id: i64,
        recipe: Option<Recipe>,
    },
    /// The named recipes, after a change.
    NamedRecipes(Vec<(String, Recipe)>),
    /// A batch run finished (possibly cancelled).
    BatchDone(BatchReport),
    /// A render was exported to this file.
    Exported(PathBuf),
    /// Files chosen to import.
    PickedImport(Vec<PathBuf>),
    /// The batch output folder chosen.
    PickedBatchFolder(PathBuf),
    /// Where to export.
    PickedExport(PathBuf),
}

/// Everything an asset page needs to show.
pub struct PageData {
    pub asset: AssetRow,
    pub original: Arc<RgbaImage>,
    pub original_image: egui::ColorImage,
    pub saved: Option<Recipe>,
    pub named: Vec<(String, Recipe)>,
}

/// A finished preview.
pub struct PreviewData {
    pub asset_id: i64,
    pub revision: u64,
    /// The side it was rendered at.
    pub side_px: u32,
    /// Whether it is the finer preview rendered once edits paused.
    pub settled: bool,
    /// The upstream stage it used (to keep for the next preview).
    pub stage: Option<Stage>,
    /// The preview, or why it failed.
    pub result: Result<PreviewImages, JobFailure>,
}

/// The images of one preview.
pub struct PreviewImages {
    pub after: egui::ColorImage,
    /// The original in the recipe's framing, keyed by what it was made from.
    pub before: Option<(String, egui::ColorImage)>,
    pub mask: Option<egui::ColorImage>,
    pub elapsed: Duration,
}

fn failed(e: impl std::fmt::Display) -> JobFailure {
    JobFailure::Failed(e.to_string())
}

/// RGBA8 → egui image.
pub fn color_image(img: &RgbaImage) -> egui::ColorImage {
    egui::ColorImage::from_rgba_unmultiplied(
        [img.width() as usize, img.height() as usize],
        img.as_raw(),
    )
}

/// The mask as an overlay: opaque where the backdrop will be replaced, clear on the
/// product (the view tints it with the theme's mask colour).
fn mask_overlay(mask: &GrayImage) -> egui::ColorImage {
    let pixels = mask
        .pixels()
        .map(|p| {
            let a = ((255 - u16::from(p[0])) * 110 / 255) as u8;
            egui::Color32::from_rgba_unmultiplied(255, 255, 255, a)
        })
        .collect();
    egui::ColorImage::new([mask.width() as usize, mask.height() as usize], pixels)
}

/// Lists the library under `filter`.
pub fn listing(path: &Path, filter: AssetFilter) -> Result<LibraryOutput, JobFailure> {
    let conn = Workspace::connect(path).map_err(failed)?;
    let rows = library::list_filtered(&conn, &filter).map_err(failed)?;
    let facets = library::facets(&conn).map_err(failed)?;
    Ok(LibraryOutput::Listing {
        filter,
        rows,
        facets,
    })
}

/// Loads thumbnails from the cache beside the workspace, making missing ones.
pub fn thumbnails(
    path: &Path,
    hashes: Vec<String>,
    ctx: &JobCtx<super::super::JobOutput>,
) -> LibraryOutput {
    let cache = ThumbCache::beside(path);
    let blobs = BlobStore::beside(path);
    let out = hashes
        .into_iter()
        .map(|hash| {
            if ctx.is_cancelled() {
                return (hash, None);
            }
            let made = match &blobs {
                Ok(b) => cache.get_or_make(b, &hash).map(|t| color_image(&t.0)),
                Err(e) => Err(library::LibraryError::Cache {
                    path: path.display().to_string(),
                    source: std::io::Error::other(e.to_string()),
                }),
            };
            match made {
                Ok(img) => (hash, Some(img)),
                Err(e) => {
                    tracing::warn!("thumbnail {hash}: {e}");
                    (hash, None)
                }
            }
        })
        .collect();
    LibraryOutput::Thumbnails(out)
}

/// Imports files and folders, reporting progress per file.
pub fn import(
    path: &Path,
    paths: &[PathBuf],
    ctx: &JobCtx<super::super::JobOutput>,
) -> Result<LibraryOutput, JobFailure> {
    let mut ws = Workspace::open(path, OpenMode::Existing).map_err(failed)?;
    let summary = library::import_paths(
        &mut ws,
        paths,
        &ImportOptions::default(),
        ctx.cancel_token().flag(),
        &|done, total, file| {
            let name = file
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            ctx.progress(
                Some(done as f32 / total.max(1) as f32),
                format!("{done}/{total} {name}"),
            );
        },
    )
    .map_err(failed)?;
    Ok(LibraryOutput::Imported(summary))
}

/// Adds or removes tags.
pub fn tags(
    path: &Path,
    ids: &[i64],
    add: Option<&str>,
    remove: Option<&str>,
) -> Result<LibraryOutput, JobFailure> {
    let mut conn = Workspace::connect(path).map_err(failed)?;
    let mut changed = 0;
    if let Some(tags) = add {
        changed += library::add_tags(&mut conn, ids, &[tags.to_string()]).map_err(failed)?;
    }
    if let Some(tag) = remove {
        changed += library::remove_tag(&mut conn, ids, tag).map_err(failed)?;
    }
    Ok(LibraryOutput::TagsChanged(changed))
}

/// Decodes an asset's original and reads its recipe and the named recipes.
pub fn load_page(path: &Path, id: i64) -> LibraryOutput {
    let load = || -> Result<PageData, library::LibraryError> {
        let conn = Workspace::connect(path)?;
        let asset = library::asset(&conn, id)?;
        let saved = library::asset_recipe(&conn, id)?;
        let named = library::named_recipes(&conn)?;
        drop(conn);
        let bytes = BlobStore::beside(path)?.read(&asset.blob_hash)?;
        let original = decode(&bytes).map_err(|source| library::LibraryError::Decode {
            file: asset.file_name.clone(),
            source,
        })?;
        let shown = if original.width().max(original.height()) > MAX_TEXTURE_SIDE_PX {
            thumbnail(&original, MAX_TEXTURE_SIDE_PX)
        } else {
            original.clone()
        };
        Ok(PageData {
            asset,
            original_image: color_image(&shown),
            original: Arc::new(original),
            saved,
            named,
        })
    };
    match load() {
        Ok(data) => LibraryOutput::PageLoaded(Box::new(data)),
        Err(e) => LibraryOutput::PageFailed {
            asset_id: id,
            message: e.to_string(),
        },
    }
}

/// The colour, tone, noise and upscale part of a preview, kept between previews so edits
/// further down the chain (backdrop, sharpening, frame, brush) skip the costly denoise.
#[derive(Clone)]
pub struct Stage {
    /// What it was made from (upstream recipe and preview side).
    pub key: String,
    /// The image after upscale, at preview scale.
    pub image: Arc<RgbaImage>,
}

/// What a preview job renders.
pub struct PreviewRequest {
    pub asset_id: i64,
    pub revision: u64,
    pub side_px: u32,
    /// Edits have paused: render the finer preview (see `RenderOptions::settled_preview`).
    pub settled: bool,
    pub original: Arc<RgbaImage>,
    pub recipe: Recipe,
    pub want_mask: bool,
    /// The key of the "before" image on screen (it is re-rendered only when this changes).
    pub before_key: Option<String>,
    /// The upstream stage of the last preview, reused when it still applies.
    pub stage: Option<Stage>,
}

/// The recipe split in two at the background step: `upstream` (white balance, levels,
/// denoise, upscale) runs on the original; `downstream` (background, sharpen, frame, brush)
/// runs on its result. Pixel-sized downstream parameters are pre-scaled by `source_scale`,
/// the factor a one-shot preview render shrinks the original by, so the two stages give the
/// one-shot preview's pixels.
pub fn split_recipe(recipe: &Recipe, source_scale: f64) -> (Recipe, Recipe) {
    let upstream = Recipe {
        name: String::new(),
        white_balance: recipe.white_balance,
        levels: recipe.levels,
        denoise: recipe.denoise,
        upscale: recipe.upscale,
        ..Recipe::default()
    };
    let s = source_scale as f32;
    let downstream = Recipe {
        name: String::new(),
        background: recipe.background.map(|mut b| {
            b.feather_px *= s;
            b
        }),
        sharpen: recipe.sharpen.map(|mut sh| {
            // The render floors the radius at 0.3 px anyway; 0.1 keeps the recipe valid.
            sh.radius_px = (sh.radius_px * s).max(0.1);
            sh
        }),
        frame: recipe.frame,
        mask_edits: recipe.mask_edits.clone(),
        ..Recipe::default()
    };
    (upstream, downstream)
}

/// Renders a preview at `side_px` (plus the mask and the framed "before" when needed),
/// reusing the upstream stage when only downstream parameters changed.
pub fn preview(req: PreviewRequest, cancel: &AtomicBool) -> LibraryOutput {
    let started = Instant::now();
    let opts = if req.settled {
        RenderOptions::settled_preview(req.side_px, cancel)
    } else {
        RenderOptions::preview(req.side_px, cancel)
    };
    let (w, h) = req.original.dimensions();
    let scale = crate::imaging::render::render_scale(&req.recipe, w, h, Some(req.side_px));
    let (upstream, downstream) = split_recipe(&req.recipe, scale.source);
    let stage_key = format!("{}-{}", library::cache::recipe_hash(&upstream), req.side_px);
    let run = || -> Result<(PreviewImages, Stage), ImagingError> {
        let stage = match req.stage.clone().filter(|s| s.key == stage_key) {
            Some(stage) => stage,
            None => Stage {
                key: stage_key.clone(),
                image: Arc::new(render(&req.original, &upstream, &opts)?),
            },
        };
        let after = render(&stage.image, &downstream, &opts)?;
        let mask = if req.want_mask {
            Some(mask_overlay(&background_mask(
                &stage.image,
                &downstream,
                &opts,
            )?))
        } else {
            None
        };
        let elapsed = started.elapsed();
        let before = match geometry_only(&req.recipe) {
            Some(g) => {
                let key = format!("{}-{}", library::cache::recipe_hash(&g), req.side_px);
                if req.before_key.as_deref() == Some(key.as_str()) {
                    None
                } else {
                    Some((key, color_image(&render(&req.original, &g, &opts)?)))
                }
            }
            None => None,
        };
        Ok((
            PreviewImages {
                after: color_image(&after),
                before,
                mask,
                elapsed,
            },
            stage,
        ))
    };
    let (result, stage) = match run() {
        Ok((images, stage)) => (Ok(images), Some(stage)),
        Err(ImagingError::Cancelled) => (Err(JobFailure::Cancelled), None),
        Err(other) => (Err(failed(other)), None),
    };
    LibraryOutput::Preview(Box::new(PreviewData {
        asset_id: req.asset_id,
        revision: req.revision,
        side_px: req.side_px,
        settled: req.settled,
        stage,
        result,
    }))
}

/// The full-size render of `recipe`, from the render cache or rendered (and cached).
fn full_size(
    path: &Path,
    asset_hash: &str,
    original: &RgbaImage,
    recipe: &Recipe,
    cancel: &AtomicBool,
) -> Result<RgbaImage, JobFailure> {
    let cache = RenderCache::beside(path);
    if let Some(img) = cache.get(asset_hash, recipe) {
        return Ok(img);
    }
    let img = render(original, recipe, &RenderOptions::full(cancel)).map_err(|e| match e {
        ImagingError::Cancelled => JobFailure::Cancelled,
        other => failed(other),
    })?;
    if let Err(e) = cache.put(asset_hash, recipe, &img) {
        tracing::warn!("render cache: {e}");
    }
    Ok(img)
}

/// Renders the page's recipe at full size for the canvas.
pub fn full_render(
    path: &Path,
    asset: &AssetRow,
    original: &RgbaImage,
    recipe: &Recipe,
    ctx: &JobCtx<super::super::JobOutput>,
) -> LibraryOutput {
    ctx.progress(None, "Rendering");
    let result = full_size(
        path,
        &asset.blob_hash,
        original,
        recipe,
        ctx.cancel_token().flag(),
    )
    .map(|img| {
        if img.width().max(img.height()) > MAX_TEXTURE_SIDE_PX {
            color_image(&thumbnail(&img, MAX_TEXTURE_SIDE_PX))
        } else {
            color_image(&img)
        }
    });
    LibraryOutput::FullRender {
        asset_id: asset.id,
        key: library::cache::recipe_hash(recipe),
        result,
    }
}

/// Renders at full size and writes `out` in the format its extension names.
pub fn export(
    path: &Path,
    asset: &AssetRow,
    original: &RgbaImage,
    recipe: &Recipe,
    out: &Path,
    ctx: &JobCtx<super::super::JobOutput>,
) -> Result<LibraryOutput, JobFailure> {
    let ext = out
        .extension()
        .map(|e| e.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    let format = match ext.as_str() {
        "jpg" | "jpeg" => OutputFormat::Jpeg { quality: 92 },
        "webp" => OutputFormat::WebpLossless,
        _ => OutputFormat::Png,
    };
    let out = if ext.is_empty() {
        out.with_extension("png")
    } else {
        out.to_path_buf()
    };
    ctx.progress(Some(0.1), "Rendering");
    let img = full_size(
        path,
        &asset.blob_hash,
        original,
        recipe,
        ctx.cancel_token().flag(),
    )?;
    ctx.progress(Some(0.7), "Encoding");
    let bytes = encode(&img, format).map_err(failed)?;
    crate::imaging::batch::write_atomic(&out, &bytes)
        .map_err(|e| failed(format!("could not write {}: {e}", out.display())))?;
    Ok(LibraryOutput::Exported(out))
}

/// Runs a recipe over assets as a batch with progress.
pub fn batch(
    path: &Path,
    ids: &[i64],
    recipe: &Recipe,
    target: &BatchTarget,
    ctx: &JobCtx<super::super::JobOutput>,
) -> Result<LibraryOutput, JobFailure> {
    let jobs = std::thread::available_parallelism().map_or(1, |n| n.get());
    let report = apply_to_assets(
        path,
        ids,
        recipe,
        target,
        jobs,
        ctx.cancel_token().flag(),
        &|done, total, name| {
            ctx.progress(
                Some(done as f32 / total.max(1) as f32),
                format!("{done}/{total} {name}"),
            )
        },
    )
    .map_err(failed)?;
    Ok(LibraryOutput::BatchDone(report))
}

/// Saves (or clears) the recipe stored with an asset.
pub fn save_recipe(
    path: &Path,
    id: i64,
    recipe: Option<Recipe>,
) -> Result<LibraryOutput, JobFailure> {
    let conn = Workspace::connect(path).map_err(failed)?;
    library::set_recipe(&conn, id, recipe.as_ref()).map_err(failed)?;
    Ok(LibraryOutput::RecipeSaved {
        asset_id: id,
        recipe,
    })
}

/// Saves or deletes a named recipe and returns the list.
pub fn named(
    path: &Path,
    save: Option<(String, Recipe)>,
    delete: Option<String>,
) -> Result<LibraryOutput, JobFailure> {
    let conn = Workspace::connect(path).map_err(failed)?;
    if let Some((name, recipe)) = save {
        library::save_named_recipe(&conn, &name, &recipe).map_err(failed)?;
    }
    if let Some(name) = delete {
        library::delete_named_recipe(&conn, &name).map_err(failed)?;
    }
    Ok(LibraryOutput::NamedRecipes(
        library::named_recipes(&conn).map_err(failed)?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::imaging::Preset;
    use crate::imaging::ops::background::{BrushMode, BrushStroke};

    #[test]
    fn staged_preview_matches_the_one_shot_render() {
        let (_, bytes) = crate::fixtures::embedded::PRODUCT_PHOTOS[9];
        let original = decode(bytes).expect("decode");
        let never = AtomicBool::new(false);
        let mut with_brush = Preset::Clean.recipe();
        with_brush.mask_edits.push(BrushStroke {
            points: vec![[0.1, 0.1], [0.2, 0.15]],
            radius_frac: 0.05,
            mode: BrushMode::Add,
        });
        let mut recipes: Vec<Recipe> = Preset::ALL.iter().map(|p| p.recipe()).collect();
        recipes.push(with_brush);
        for recipe in recipes {
            for side in [256u32, 768] {
                let opts = RenderOptions::preview(side, &never);
                let one_shot = render(&original, &recipe, &opts).expect("one shot");
                let (w, h) = original.dimensions();
                let scale = crate::imaging::render::render_scale(&recipe, w, h, Some(side));
                let (up, down) = split_recipe(&recipe, scale.source);
                let stage = render(&original, &up, &opts).expect("upstream");
                let staged = render(&stage, &down, &opts).expect("downstream");
                assert_eq!(
                    one_shot.dimensions(),
                    staged.dimensions(),
                    "{}",
                    recipe.name
                );
                assert!(
                    one_shot == staged,
                    "{} at {side}: staged preview differs",
                    recipe.name
                );
            }
        }
    }
}
