//! The lookbook area's Library: a grid of product photos with their metadata and a filter.

use crate::app::{Command, OpenWorkspace, ViewInput};
use crate::library::AssetRow;

use super::{Model, theme};

const TILE_SIDE: f32 = 168.0;

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
    ui.horizontal(|ui| {
        ui.heading("Library");
        ui.separator();
        let edit = ui.add(
            egui::TextEdit::singleline(&mut input.library_filter)
                .hint_text("Filter by SKU, name, category, colour")
                .desired_width(260.0),
        );
        if edit.changed() {
            cmds.push(Command::SetLibraryFilter(input.library_filter.clone()));
        }
        ui.weak(format!("{} photos", ws.assets.len()));
    });
    ui.separator();
    if ws.assets.is_empty() {
        ui.vertical_centered(|ui| {
            ui.add_space(40.0);
            if ws.library_filter.is_empty() {
                ui.label(
                    "The library is empty. Import product photos with `sightline assets import`.",
                );
            } else {
                ui.label("No photos match the filter.");
            }
        });
        return;
    }
    if let Some(selected) = input
        .selected_asset
        .and_then(|id| ws.assets.iter().find(|a| a.id == id))
    {
        egui::Panel::right("asset_details")
            .default_size(280.0)
            .show(ui, |ui| details_ui(ui, ws, selected, cmds));
    }
    let spacing = ui.spacing().item_spacing;
    let tile_outer = egui::vec2(TILE_SIDE + 14.0, TILE_SIDE + 62.0);
    let columns =
        (((ui.available_width() + spacing.x) / (tile_outer.x + spacing.x)).floor() as usize).max(1);
    let rows = ws.assets.len().div_ceil(columns);
    // Only the rows on screen are laid out, so a 10,000-photo library scrolls smoothly.
    egui::ScrollArea::vertical().auto_shrink(false).show_rows(
        ui,
        tile_outer.y,
        rows,
        |ui, visible| {
            for row in visible {
                ui.horizontal(|ui| {
                    for asset in ws.assets.iter().skip(row * columns).take(columns) {
                        tile_ui(ui, ws, asset, input.selected_asset == Some(asset.id), cmds);
                    }
                });
            }
        },
    );
}

fn tile_ui(
    ui: &mut egui::Ui,
    ws: &OpenWorkspace,
    asset: &AssetRow,
    selected: bool,
    cmds: &mut Vec<Command>,
) {
    let fill = theme::tile_fill(ui.visuals());
    let stroke = if selected {
        egui::Stroke::new(2.0, theme::accent(ui.visuals()))
    } else {
        egui::Stroke::new(1.0, ui.visuals().widgets.noninteractive.bg_stroke.color)
    };
    let response = egui::Frame::new()
        .fill(fill)
        .stroke(stroke)
        .corner_radius(6.0)
        .inner_margin(6.0)
        .show(ui, |ui| {
            ui.set_width(TILE_SIDE);
            ui.vertical(|ui| {
                let size = egui::vec2(TILE_SIDE, TILE_SIDE);
                match ws.thumbnails.get(&asset.blob_hash) {
                    Some(tex) => {
                        ui.add(
                            egui::Image::new(tex)
                                .fit_to_exact_size(size)
                                .maintain_aspect_ratio(true),
                        );
                    }
                    None => {
                        ui.allocate_ui(size, |ui| {
                            ui.centered_and_justified(|ui| {
                                ui.spinner();
                            });
                        });
                    }
                }
                ui.add(egui::Label::new(egui::RichText::new(title(asset)).strong()).truncate());
                ui.horizontal(|ui| {
                    ui.weak(asset.sku.as_deref().unwrap_or(&asset.file_name));
                    if let Some(price) = asset.price {
                        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                            ui.label(format!("${price:.2}"));
                        });
                    }
                });
            });
        })
        .response
        .interact(egui::Sense::click());
    if response.clicked() {
        cmds.push(Command::SelectAsset(if selected {
            None
        } else {
            Some(asset.id)
        }));
    }
}

fn title(asset: &AssetRow) -> String {
    asset
        .name
        .clone()
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| asset.file_name.clone())
}

fn details_ui(ui: &mut egui::Ui, ws: &OpenWorkspace, asset: &AssetRow, cmds: &mut Vec<Command>) {
    ui.horizontal(|ui| {
        ui.heading(title(asset));
        if ui.small_button("×").on_hover_text("Close").clicked() {
            cmds.push(Command::SelectAsset(None));
        }
    });
    if let Some(tex) = ws.thumbnails.get(&asset.blob_hash) {
        ui.add(
            egui::Image::new(tex)
                .max_width(ui.available_width())
                .maintain_aspect_ratio(true),
        );
    }
    egui::Grid::new("asset_meta")
        .num_columns(2)
        .spacing([12.0, 4.0])
        .show(ui, |ui| {
            let rows: [(&str, String); 7] = [
                ("SKU", asset.sku.clone().unwrap_or_default()),
                ("Category", asset.category.clone().unwrap_or_default()),
                ("Colour", asset.colour.clone().unwrap_or_default()),
                (
                    "Price",
                    asset.price.map(|p| format!("${p:.2}")).unwrap_or_default(),
                ),
                (
                    "Size",
                    format!("{} × {} px", asset.width_px, asset.height_px),
                ),
                ("File", asset.file_name.clone()),
                ("Tags", asset.tags.clone()),
            ];
            for (k, v) in rows {
                ui.weak(k);
                ui.label(if v.is_empty() { "—".to_string() } else { v });
                ui.end_row();
            }
        });
}
