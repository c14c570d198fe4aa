//! The asset page: a toolbar (back, view mode, zoom, undo/redo), the recipe panel on the
//! right, the canvas in the middle and a status line with the preview's timing.

use crate::app::library::{
    AssetPage, CanvasInput, LibraryCommand, LibraryInput, PageCommand, PageMode,
};
use crate::app::{Command, LibraryState};

use super::{image_view, recipe_panel, theme};

fn page(cmd: PageCommand) -> Command {
    Command::Library(LibraryCommand::Page(cmd))
}

/// Draws an open asset page.
pub fn asset_page_ui(
    ui: &mut egui::Ui,
    lib: &LibraryState,
    page_state: &AssetPage,
    input: &mut LibraryInput,
    cmds: &mut Vec<Command>,
) {
    toolbar_ui(ui, page_state, &mut input.canvas, cmds);
    ui.separator();
    egui::Panel::right("recipe_panel")
        .default_size(330.0)
        .size_range(280.0..=460.0)
        .show(ui, |ui| {
            recipe_panel::recipe_panel_ui(ui, lib, page_state, cmds)
        });
    egui::Panel::bottom("asset_status")
        .show_separator_line(false)
        .show(ui, |ui| status_ui(ui, page_state));
    if let Some(error) = &page_state.error
        && !page_state.is_loaded()
    {
        ui.vertical_centered(|ui| {
            ui.add_space(60.0);
            ui.colored_label(
                theme::danger(ui.visuals()),
                "This photo could not be opened",
            );
            ui.label(error);
            if ui.button("Back to the library").clicked() {
                cmds.push(page(PageCommand::Close));
            }
        });
        return;
    }
    if page_state.mode == PageMode::Mask {
        brush_bar_ui(ui, page_state, &mut input.canvas, cmds);
    }
    image_view::canvas_ui(ui, page_state, &mut input.canvas, cmds);
}

fn brush_bar_ui(
    ui: &mut egui::Ui,
    page_state: &AssetPage,
    canvas: &mut CanvasInput,
    cmds: &mut Vec<Command>,
) {
    use crate::imaging::ops::background::BrushMode;
    ui.horizontal(|ui| {
        ui.strong("Brush");
        ui.selectable_value(&mut canvas.brush_mode, BrushMode::Add, "Add to product");
        ui.selectable_value(
            &mut canvas.brush_mode,
            BrushMode::Remove,
            "Remove (backdrop)",
        );
        ui.separator();
        ui.label("Size");
        let mut pct = canvas.brush_radius_frac * 100.0;
        if ui
            .add(
                egui::Slider::new(&mut pct, 0.5..=15.0)
                    .suffix("%")
                    .max_decimals(1),
            )
            .on_hover_text("Brush radius, as a share of the photo's shorter side")
            .changed()
        {
            canvas.brush_radius_frac = pct / 100.0;
        }
        ui.separator();
        let strokes = page_state.recipe.mask_edits.len();
        ui.weak(format!(
            "{strokes} stroke{}",
            if strokes == 1 { "" } else { "s" }
        ));
        if ui
            .add_enabled(strokes > 0, egui::Button::new("Clear strokes"))
            .clicked()
        {
            let mut recipe = page_state.recipe.clone();
            recipe.mask_edits.clear();
            cmds.push(page(PageCommand::Edit {
                recipe: Box::new(recipe),
                what: "mask_edits.clear".into(),
            }));
        }
        ui.weak("Right-drag to pan");
    });
}

fn toolbar_ui(
    ui: &mut egui::Ui,
    page_state: &AssetPage,
    canvas: &mut CanvasInput,
    cmds: &mut Vec<Command>,
) {
    ui.horizontal(|ui| {
        if ui
            .button("< Library")
            .on_hover_text("Back to the grid")
            .clicked()
        {
            cmds.push(page(PageCommand::Close));
        }
        ui.separator();
        ui.heading(page_state.asset.title());
        if let Some(sku) = &page_state.asset.sku {
            ui.weak(sku);
        }
        let [w, h] = page_state.original_size_px();
        let [ow, oh] = page_state.output_size_px();
        ui.weak(if [w, h] == [ow, oh] {
            format!("{w} × {h} px")
        } else {
            format!("{w} × {h} px, renders at {ow} × {oh} px")
        });
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            if ui
                .add_enabled(page_state.history.can_redo(), egui::Button::new("Redo"))
                .on_hover_text("Redo (Ctrl+Shift+Z)")
                .clicked()
            {
                cmds.push(page(PageCommand::Redo));
            }
            if ui
                .add_enabled(page_state.history.can_undo(), egui::Button::new("Undo"))
                .on_hover_text("Undo (Ctrl+Z)")
                .clicked()
            {
                cmds.push(page(PageCommand::Undo));
            }
            ui.separator();
            if ui
                .selectable_label(
                    canvas.zoom.is_some() && (canvas.shown_zoom_pct - 100.0).abs() < 0.5,
                    "100%",
                )
                .on_hover_text("One image pixel per screen pixel")
                .clicked()
            {
                canvas.zoom = Some(1.0 / ui.ctx().pixels_per_point());
            }
            if ui
                .selectable_label(canvas.zoom.is_none(), "Fit")
                .on_hover_text("Fit the image to the window")
                .clicked()
            {
                canvas.zoom = None;
                canvas.center = [0.5, 0.5];
            }
            ui.weak(format!("{:.0}%", canvas.shown_zoom_pct));
            ui.separator();
            for (mode, label, hint) in [
                (
                    PageMode::Mask,
                    "Mask brush",
                    "Correct the product cut-out with a brush",
                ),
                (
                    PageMode::Compare,
                    "Before / after",
                    "Compare the original and the result",
                ),
            ] {
                if ui
                    .selectable_label(page_state.mode == mode, label)
                    .on_hover_text(hint)
                    .clicked()
                {
                    cmds.push(page(PageCommand::Mode(mode)));
                }
            }
        });
    });
}

fn status_ui(ui: &mut egui::Ui, p: &AssetPage) {
    ui.horizontal(|ui| {
        if !p.is_loaded() && p.error.is_none() {
            ui.spinner();
            ui.weak("Opening the original…");
            return;
        }
        if p.preview_job.is_some() {
            ui.spinner();
            ui.weak("Updating preview…");
        } else if let (Some(elapsed), Some(tex)) = (p.preview_elapsed, &p.preview) {
            let [w, h] = tex.texture.size();
            // The settled preview computes the cut-out finely; say so, since it takes longer.
            let fine = if p.shown_settled && p.recipe.background.is_some() {
                ", fine cut-out"
            } else {
                ""
            };
            ui.weak(format!(
                "Preview {w} × {h} px{fine} in {} ms",
                elapsed.as_millis()
            ));
        }
        if p.full_job.is_some() {
            ui.separator();
            ui.spinner();
            ui.weak("Rendering full size…");
        } else if p.current_full().is_some() {
            ui.separator();
            ui.weak("Showing the full-size render");
        }
        if p.unsaved() {
            ui.separator();
            ui.weak("Recipe not saved with the photo");
        }
        if let Some(error) = &p.error {
            ui.separator();
            ui.colored_label(theme::danger(ui.visuals()), error);
        }
    });
}
