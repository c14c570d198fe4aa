//! The asset page's state: the recipe being edited with its undo history, and the images
//! the canvas shows — the original, the live preview (rendered at viewport resolution on a
//! job thread, newest edit wins), the "before" in the recipe's framing, the product mask, and
//! the full-size render once asked for.

use std::sync::Arc;
use std::time::{Duration, Instant};

use image::RgbaImage;

use super::commands::PageMode;
use super::history::History;
use crate::imaging::Recipe;
use crate::jobs::CancelToken;
use crate::library::AssetRow;
use crate::library::cache::recipe_hash;

/// Smallest and largest preview side, in pixels.
pub const PREVIEW_SIDE_RANGE_PX: (u32, u32) = (256, 2048);
/// Largest texture side the canvas uploads (bigger full renders are shown downscaled).
pub const MAX_TEXTURE_SIDE_PX: u32 = 8192;
/// While edits keep coming closer together than this, previews are drafts at a lower
/// resolution so the image follows a slider; when they stop, the preview is refined.
pub const DRAFT_WINDOW: Duration = Duration::from_millis(350);
/// Longest side of a draft preview.
const DRAFT_SIDE_PX: u32 = 512;

/// An image on the GPU and what it was made from.
pub struct Shown {
    /// The texture.
    pub texture: egui::TextureHandle,
    /// Which recipe revision (previews) or recipe hash (full renders) it shows.
    pub key: String,
}

/// A preview render in flight.
pub struct PreviewJob {
    /// The revision it renders.
    pub revision: u64,
    /// Cancels it (when the page closes).
    pub cancel: CancelToken,
}

/// One open asset page.
pub struct AssetPage {
    /// The asset.
    pub asset: AssetRow,
    /// The decoded original (None while loading).
    pub original: Option<Arc<RgbaImage>>,
    /// The original on the GPU.
    pub original_texture: Option<egui::TextureHandle>,
    /// Why the page could not load or render, shown in place.
    pub error: Option<String>,
    /// The recipe being edited.
    pub recipe: Recipe,
    /// The recipe stored with the asset.
    pub saved: Option<Recipe>,
    /// Undo/redo of recipe edits.
    pub history: History,
    /// Bumped on every recipe change.
    pub revision: u64,
    /// Compare or mask view.
    pub mode: PageMode,
    /// Longer side of previews, in pixels (set by the canvas).
    pub preview_side_px: u32,
    /// The latest preview (kept on screen while the next one renders).
    pub preview: Option<Shown>,
    /// The revision of the latest preview.
    pub preview_revision: Option<u64>,
    /// How long the latest preview took.
    pub preview_elapsed: Option<Duration>,
    /// "Before" in the recipe's framing (only when the recipe frames the product).
    pub before: Option<Shown>,
    /// The product mask overlay (mask mode).
    pub mask: Option<Shown>,
    /// The revision and side the mask shows.
    pub mask_revision: Option<u64>,
    /// A full-size render (key: recipe hash).
    pub full: Option<Shown>,
    /// The preview job in flight.
    pub preview_job: Option<PreviewJob>,
    /// The recipe hash of the full-size render in flight.
    pub full_job: Option<String>,
    /// Side the preview on screen was rendered at.
    pub shown_side_px: u32,
    /// Whether the preview on screen is the finer one rendered once edits paused.
    pub shown_settled: bool,
    /// When the recipe last changed (drafts follow quick edits).
    pub last_edit: Option<Instant>,
    /// The upstream stage of the last preview.
    pub stage: Option<super::jobs::Stage>,
}

impl AssetPage {
    /// A page that is loading `asset`.
    pub fn loading(asset: AssetRow) -> Self {
        Self {
            asset,
            original: None,
            original_texture: None,
            error: None,
            recipe: Recipe::default(),
            saved: None,
            history: History::default(),
            revision: 0,
            mode: PageMode::Compare,
            preview_side_px: 1024,
            preview: None,
            preview_revision: None,
            preview_elapsed: None,
            before: None,
            mask: None,
            mask_revision: None,
            full: None,
            preview_job: None,
            full_job: None,
            shown_side_px: 0,
            shown_settled: false,
            last_edit: None,
            stage: None,
        }
    }

    /// Whether the original has loaded.
    pub fn is_loaded(&self) -> bool {
        self.original.is_some()
    }

    /// Whether the preview on screen shows the current recipe (and mask, in mask mode).
    pub fn preview_current(&self) -> bool {
        self.preview_revision == Some(self.revision)
            && (self.mode != PageMode::Mask || self.mask_revision == Some(self.revision))
    }

    /// Whether the preview on screen is current and at the canvas's full resolution.
    pub fn preview_settled(&self) -> bool {
        self.preview_current() && self.shown_side_px == self.preview_side_px && self.shown_settled
    }

    /// Records a recipe change.
    pub fn edited(&mut self, now: Instant) {
        self.revision += 1;
        self.last_edit = Some(now);
    }

    /// Whether edits are coming in quick succession (a slider drag, a brush).
    pub fn interacting(&self, now: Instant) -> bool {
        self.last_edit
            .is_some_and(|t| now.duration_since(t) < DRAFT_WINDOW)
    }

    /// The side the next preview should have: a draft while interacting, else the canvas's.
    pub fn target_side_px(&self, now: Instant) -> u32 {
        if self.interacting(now) {
            (self.preview_side_px / 2)
                .clamp(PREVIEW_SIDE_RANGE_PX.0, DRAFT_SIDE_PX)
                .min(self.preview_side_px)
        } else {
            self.preview_side_px
        }
    }

    /// Whether a new preview should start now (one at a time; the newest recipe wins).
    pub fn wants_preview(&self, now: Instant) -> bool {
        self.is_loaded()
            && self.preview_job.is_none()
            && (!self.preview_current()
                || self.shown_side_px != self.target_side_px(now)
                || (!self.shown_settled && !self.interacting(now)))
    }

    /// The current recipe's hash (names the full render and the render cache entry).
    pub fn recipe_key(&self) -> String {
        recipe_hash(&self.recipe)
    }

    /// The full-size render, if it shows the current recipe.
    pub fn current_full(&self) -> Option<&Shown> {
        self.full.as_ref().filter(|f| f.key == self.recipe_key())
    }

    /// Whether the recipe differs from the one stored with the asset.
    pub fn unsaved(&self) -> bool {
        match &self.saved {
            Some(saved) => *saved != self.recipe,
            None => self.recipe != Recipe::default(),
        }
    }

    /// Size of the full-size output, in pixels (what 100 % zoom shows).
    pub fn output_size_px(&self) -> [u32; 2] {
        let (w, h) = (self.asset.width_px.max(1), self.asset.height_px.max(1));
        output_size_px(&self.recipe, w, h)
    }

    /// Size of the original, in pixels.
    pub fn original_size_px(&self) -> [u32; 2] {
        [self.asset.width_px.max(1), self.asset.height_px.max(1)]
    }
}

/// The size `recipe` renders a `w`×`h` original at: the frame's canvas, else the upscaled
/// size, else the original's.
pub fn output_size_px(recipe: &Recipe, w: u32, h: u32) -> [u32; 2] {
    if let Some(f) = &recipe.frame {
        return [f.width_px, f.height_px];
    }
    match &recipe.upscale {
        Some(u) => {
            let (w, h) = u.output_size(w, h);
            [w, h]
        }
        None => [w, h],
    }
}

/// The part of `recipe` that moves pixels around (the frame and the mask it is placed by),
/// without any tone, colour or backdrop change: rendering it gives the original in the same
/// framing as the result, so the before/after split compares like with like.
pub fn geometry_only(recipe: &Recipe) -> Option<Recipe> {
    let frame = recipe.frame?;
    Some(Recipe {
        name: String::new(),
        frame: Some(crate::imaging::ops::frame::Frame {
            shadow: None,
            ..frame
        }),
        mask_edits: recipe.mask_edits.clone(),
        ..Recipe::default()
    })
}

/// Rounds a canvas's longer side (physical pixels) to the preview size to render: steps of
/// 128 px so resizing the window does not re-render on every pixel.
pub fn preview_side_for(canvas_side_px: f32) -> u32 {
    let (lo, hi) = PREVIEW_SIDE_RANGE_PX;
    let side = (canvas_side_px.max(1.0) / 128.0).ceil() as u32 * 128;
    side.clamp(lo, hi)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::imaging::Preset;

    #[test]
    fn output_size_follows_frame_then_upscale() {
        assert_eq!(
            output_size_px(&Preset::MarketplaceSquare.recipe(), 640, 480),
            [2000, 2000]
        );
        assert_eq!(
            output_size_px(&Preset::Restore2x.recipe(), 640, 480),
            [1280, 960]
        );
        assert_eq!(
            output_size_px(&Preset::Clean.recipe(), 640, 480),
            [640, 480]
        );
        assert!(geometry_only(&Preset::Clean.recipe()).is_none());
        let g = geometry_only(&Preset::Banner.recipe()).expect("framed");
        assert!(g.background.is_none() && g.sharpen.is_none() && g.white_balance.is_none());
        assert!(g.frame.is_some_and(|f| f.shadow.is_none()));
    }

    #[test]
    fn preview_side_is_stepped_and_bounded() {
        assert_eq!(preview_side_for(10.0), 256);
        assert_eq!(preview_side_for(900.0), 1024);
        assert_eq!(preview_side_for(1025.0), 1152);
        assert_eq!(preview_side_for(9000.0), 2048);
    }
}
