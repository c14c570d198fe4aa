//! The lookbook area: its Library tab (the product-photo grid) or, when one is open, an
//! asset page; the library's dialogs; and the drop target for photos dragged onto the window.

use crate::app::{Command, ViewInput};

use super::{Model, asset_page, library_dialogs, library_grid, theme};

/// Draws the lookbook area.
pub fn lookbook_ui(
    ui: &mut egui::Ui,
    model: &Model<'_>,
    input: &mut ViewInput,
    cmds: &mut Vec<Command>,
) {
    let Some(ws) = super::need_workspace(ui, model, cmds) else {
        return;
    };
    let lib = &ws.library;
    match &lib.page {
        Some(page) => asset_page::asset_page_ui(ui, lib, page, &mut input.library, cmds),
        None => library_grid::library_ui(ui, lib, &mut input.library, cmds),
    }
    library_dialogs::dialogs_ui(ui.ctx(), lib, &mut input.library, cmds);
}

/// While files are dragged over the window, shows where they will go (the app routes the
/// drop itself: photos and folders to the library, data files to the fraud importer).
pub fn file_drop_ui(ctx: &egui::Context, model: &Model<'_>) {
    if model.workspace.open().is_none() {
        return;
    }
    let hovering = ctx.input(|i| i.raw.hovered_files.len());
    if hovering == 0 {
        return;
    }
    let screen = ctx.content_rect();
    let painter = ctx.layer_painter(egui::LayerId::new(
        egui::Order::Foreground,
        egui::Id::unique("file-drop-veil"),
    ));
    let visuals = ctx.global_style().visuals.clone();
    painter.rect_filled(screen, 0.0, theme::drop_veil(&visuals));
    painter.rect_stroke(
        screen.shrink(16.0),
        12.0,
        egui::Stroke::new(2.0, theme::accent(&visuals)),
        egui::StrokeKind::Inside,
    );
    painter.text(
        screen.center(),
        egui::Align2::CENTER_CENTER,
        format!(
            "Drop {} to import\nPhotos (JPEG, PNG, WebP) and folders go to the library;\n\
             CSV and JSON data go to the fraud importer",
            if hovering == 1 { "it" } else { "them" }
        ),
        egui::FontId::proportional(22.0),
        visuals.strong_text_color(),
    );
}
