//! What the library views can ask for: the grid (filters, selection, import, tags, batch
//! runs) and the asset page (recipe edits, undo, brush strokes, renders, export).

use std::path::PathBuf;

use crate::imaging::Recipe;
use crate::imaging::ops::background::BrushStroke;
use crate::library::AssetFilter;
use crate::library::batch::BatchTarget;

/// How a click changes the selection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SelectHow {
    /// Select only this asset.
    Replace,
    /// Add or remove this asset (Ctrl/Cmd-click).
    Toggle,
    /// Select from the anchor to this asset (Shift-click).
    Range,
}

/// Which assets a batch covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BatchScope {
    /// The selected assets.
    Selection,
    /// Every asset in the library (not just the filtered ones).
    Library,
}

/// Library dialogs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LibraryDialog {
    /// Apply a recipe to the selection or the library.
    Apply(BatchScope),
    /// Save the page's recipe under a name.
    SaveNamed,
    /// What the last import did, file by file.
    ImportReport,
    /// What the last batch did.
    BatchReport,
}

/// What the asset page shows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PageMode {
    /// Before/after with a split slider.
    #[default]
    Compare,
    /// The original with the product mask and the brush.
    Mask,
}

/// A request from the library grid or its dialogs.
#[derive(Clone, Debug, PartialEq)]
pub enum LibraryCommand {
    /// Re-list the library under this filter.
    SetFilter(AssetFilter),
    /// These thumbnails (by content hash) were drawn this frame.
    Visible(Vec<String>),
    /// Change the selection.
    Select { id: i64, how: SelectHow },
    /// Select every listed asset.
    SelectAll,
    /// Clear the selection.
    ClearSelection,
    /// Open the asset page.
    Open(i64),
    /// Choose photos to import with the system file dialog.
    PickImport,
    /// Choose a folder to import with the system file dialog.
    PickImportFolder,
    /// Import these files and folders.
    Import(Vec<PathBuf>),
    /// Add comma-separated tags to assets.
    AddTags { ids: Vec<i64>, tags: String },
    /// Remove a tag from assets.
    RemoveTag { ids: Vec<i64>, tag: String },
    /// Open or close a dialog.
    ShowDialog(Option<LibraryDialog>),
    /// Choose the batch output folder with the system file dialog.
    PickBatchFolder,
    /// Run a recipe over assets as a job.
    ApplyRecipe {
        scope: BatchScope,
        recipe: Box<Recipe>,
        target: BatchTarget,
    },
    /// Something on the asset page.
    Page(PageCommand),
}

/// A request from the asset page.
#[derive(Clone, Debug, PartialEq)]
pub enum PageCommand {
    /// Back to the grid.
    Close,
    /// Replace the recipe (one undo step per gesture: edits of the same `what` in quick
    /// succession merge).
    Edit { recipe: Box<Recipe>, what: String },
    /// Undo the last recipe edit.
    Undo,
    /// Redo the last undone edit.
    Redo,
    /// Switch between before/after and the mask brush.
    Mode(PageMode),
    /// The canvas needs previews this large (longer side, physical pixels).
    Viewport(u32),
    /// Add a brush stroke to the recipe's mask edits.
    AddStroke(BrushStroke),
    /// Render the current recipe at full size in the background.
    RenderFull,
    /// Store the recipe with the asset.
    SaveToAsset,
    /// Save the recipe under a name.
    SaveNamed(String),
    /// Delete a named recipe.
    DeleteNamed(String),
    /// Choose where to export the full-size render.
    PickExport,
}
