//! The Library grid: filters (text, category, tag), import buttons, the virtualised grid of
//! thumbnail tiles (only rows on screen are laid out; only their thumbnails are requested),
//! multi-select, and the details panel of the selected photo.

use crate::app::library::{BatchScope, LibraryCommand, LibraryDialog, LibraryInput, SelectHow};
use crate::app::{Command, LibraryState};
use crate::library::{AssetFilter, AssetRow};

use super::theme;

/// Tile size in points (thumbnail square plus caption).
const TILE: egui::Vec2 = egui::vec2(176.0, 228.0);
const TILE_GAP: f32 = 12.0;

fn lib(cmd: LibraryCommand) -> Command {
    Command::Library(cmd)
}

/// Draws the Library tab.
pub fn library_ui(
    ui: &mut egui::Ui,
    lib_state: &LibraryState,
    input: &mut LibraryInput,
    cmds: &mut Vec<Command>,
) {
    toolbar_ui(ui, lib_state, input, cmds);
    if !lib_state.selection.is_empty() {
        selection_bar_ui(ui, lib_state, input, cmds);
    }
    ui.separator();
    if lib_state.assets.is_empty() {
        empty_ui(ui, lib_state, cmds);
        return;
    }
    if let Some(primary) = lib_state.primary() {
        egui::Panel::right("asset_details")
            .default_size(300.0)
            .size_range(240.0..=420.0)
            .show(ui, |ui| details_ui(ui, lib_state, primary, input, cmds));
    }
    grid_ui(ui, lib_state, cmds);
}

fn toolbar_ui(
    ui: &mut egui::Ui,
    lib_state: &LibraryState,
    input: &mut LibraryInput,
    cmds: &mut Vec<Command>,
) {
    ui.horizontal(|ui| {
        ui.heading("Library");
        ui.separator();
        let filter = &lib_state.filter;
        let edit = ui.add(
            egui::TextEdit::singleline(&mut input.filter_text)
                .hint_text("Search SKU, name, colour, tag")
                .desired_width(220.0),
        );
        if edit.changed() {
            cmds.push(lib(LibraryCommand::SetFilter(AssetFilter {
                text: input.filter_text.clone(),
                ..filter.clone()
            })));
        }
        let choose =
            |ui: &mut egui::Ui, id: &str, label: &str, current: &str, values: Vec<String>| {
                let mut picked = None;
                let shown = if current.is_empty() {
                    format!("All {label}")
                } else {
                    current.to_string()
                };
                egui::ComboBox::from_id_salt(id)
                    .selected_text(shown)
                    .width(150.0)
                    .show_ui(ui, |ui| {
                        if ui
                            .selectable_label(current.is_empty(), format!("All {label}"))
                            .clicked()
                        {
                            picked = Some(String::new());
                        }
                        for v in values {
                            if ui.selectable_label(current == v, &v).clicked() {
                                picked = Some(v);
                            }
                        }
                    });
                picked
            };
        let categories = lib_state.facets.categories.clone();
        if let Some(category) = choose(
            ui,
            "category_filter",
            "categories",
            &filter.category,
            categories,
        ) {
            cmds.push(lib(LibraryCommand::SetFilter(AssetFilter {
                category,
                ..filter.clone()
            })));
        }
        let tags = lib_state
            .facets
            .tags
            .iter()
            .map(|(t, _)| t.clone())
            .collect();
        if let Some(tag) = choose(ui, "tag_filter", "tags", &filter.tag, tags) {
            cmds.push(lib(LibraryCommand::SetFilter(AssetFilter {
                tag,
                ..filter.clone()
            })));
        }
        if *filter != AssetFilter::default() && ui.button("Clear filters").clicked() {
            input.filter_text.clear();
            cmds.push(lib(LibraryCommand::SetFilter(AssetFilter::default())));
        }
        if lib_state.listing_pending {
            ui.spinner();
        }
        ui.weak(format!(
            "{} of {} photos",
            lib_state.assets.len(),
            lib_state.facets.total
        ));
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            if ui
                .button("Apply to whole library…")
                .on_hover_text("Run a recipe over every photo as a job")
                .clicked()
            {
                cmds.push(lib(LibraryCommand::ShowDialog(Some(LibraryDialog::Apply(
                    BatchScope::Library,
                )))));
            }
            if ui
                .add_enabled(!lib_state.importing, egui::Button::new("Import folder…"))
                .clicked()
            {
                cmds.push(lib(LibraryCommand::PickImportFolder));
            }
            if ui
                .add_enabled(!lib_state.importing, egui::Button::new("Import photos…"))
                .on_hover_text("Or drag photos and folders onto the window")
                .clicked()
            {
                cmds.push(lib(LibraryCommand::PickImport));
            }
        });
    });
}

fn selection_bar_ui(
    ui: &mut egui::Ui,
    lib_state: &LibraryState,
    input: &mut LibraryInput,
    cmds: &mut Vec<Command>,
) {
    let ids: Vec<i64> = lib_state.selection.iter().copied().collect();
    ui.horizontal(|ui| {
        ui.strong(format!("{} selected", ids.len()));
        if ui.small_button("Select all").clicked() {
            cmds.push(lib(LibraryCommand::SelectAll));
        }
        if ui.small_button("Clear selection").clicked() {
            cmds.push(lib(LibraryCommand::ClearSelection));
        }
        ui.separator();
        let edit = ui.add(
            egui::TextEdit::singleline(&mut input.tag_text)
                .hint_text("tag, another tag")
                .desired_width(160.0),
        );
        let enter = edit.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
        let add = ui.add_enabled(
            !input.tag_text.trim().is_empty(),
            egui::Button::new("Add tags"),
        );
        if (add.clicked() || enter) && !input.tag_text.trim().is_empty() {
            cmds.push(lib(LibraryCommand::AddTags {
                ids: ids.clone(),
                tags: std::mem::take(&mut input.tag_text),
            }));
        }
        ui.separator();
        if ui.button("Apply recipe to selection…").clicked() {
            cmds.push(lib(LibraryCommand::ShowDialog(Some(LibraryDialog::Apply(
                BatchScope::Selection,
            )))));
        }
    });
}

fn empty_ui(ui: &mut egui::Ui, lib_state: &LibraryState, cmds: &mut Vec<Command>) {
    ui.vertical_centered(|ui| {
        ui.add_space(60.0);
        if lib_state.filter == AssetFilter::default() {
            ui.heading("The library is empty");
            ui.label("Import product photos (JPEG, PNG, WebP), or drag them onto the window.");
            ui.add_space(8.0);
            if ui.button("Import photos…").clicked() {
                cmds.push(lib(LibraryCommand::PickImport));
            }
        } else {
            ui.label("No photos match the filters.");
            if ui.button("Clear filters").clicked() {
                cmds.push(lib(LibraryCommand::SetFilter(AssetFilter::default())));
            }
        }
    });
}

fn grid_ui(ui: &mut egui::Ui, lib_state: &LibraryState, cmds: &mut Vec<Command>) {
    let columns =
        (((ui.available_width() + TILE_GAP) / (TILE.x + TILE_GAP)).floor() as usize).max(1);
    let rows = lib_state.assets.len().div_ceil(columns);
    let mut visible = Vec::new();
    // Only the rows on screen are laid out, so a 10,000-photo library scrolls smoothly.
    egui::ScrollArea::vertical().auto_shrink(false).show_rows(
        ui,
        TILE.y + TILE_GAP,
        rows,
        |ui, range| {
            for row in range {
                ui.horizontal(|ui| {
                    ui.spacing_mut().item_spacing.x = TILE_GAP;
                    for asset in lib_state.assets.iter().skip(row * columns).take(columns) {
                        tile_ui(ui, lib_state, asset, cmds);
                        visible.push(asset.blob_hash.clone());
                    }
                });
                ui.add_space(TILE_GAP - ui.spacing().item_spacing.y);
            }
        },
    );
    cmds.push(lib(LibraryCommand::Visible(visible)));
}

fn tile_ui(ui: &mut egui::Ui, lib_state: &LibraryState, asset: &AssetRow, cmds: &mut Vec<Command>) {
    let selected = lib_state.selection.contains(&asset.id);
    let (rect, response) = ui.allocate_exact_size(TILE, egui::Sense::click());
    let title = asset.title().to_string();
    response.widget_info(|| egui::WidgetInfo::selected(egui::Role::Button, true, selected, &title));
    if ui.is_rect_visible(rect) {
        paint_tile(ui, lib_state, asset, rect, selected, response.hovered());
    }
    if response.double_clicked() {
        cmds.push(lib(LibraryCommand::Open(asset.id)));
    } else if response.clicked() {
        let m = ui.input(|i| i.modifiers);
        let how = if m.shift {
            SelectHow::Range
        } else if m.command || m.ctrl {
            SelectHow::Toggle
        } else {
            SelectHow::Replace
        };
        cmds.push(lib(LibraryCommand::Select { id: asset.id, how }));
    }
    response.on_hover_text(format!(
        "{}\nDouble-click to open; Ctrl-click or Shift-click to select several",
        asset.file_name
    ));
}

fn paint_tile(
    ui: &egui::Ui,
    lib_state: &LibraryState,
    asset: &AssetRow,
    rect: egui::Rect,
    selected: bool,
    hovered: bool,
) {
    let visuals = ui.visuals();
    let painter = ui.painter();
    let stroke = if selected {
        egui::Stroke::new(2.5, theme::accent(visuals))
    } else if hovered {
        visuals.widgets.hovered.bg_stroke
    } else {
        egui::Stroke::new(1.0, visuals.widgets.noninteractive.bg_stroke.color)
    };
    painter.rect(
        rect,
        8.0,
        theme::tile_fill(visuals),
        stroke,
        egui::StrokeKind::Inside,
    );
    let pad = 8.0;
    let image_area = egui::Rect::from_min_size(
        rect.min + egui::vec2(pad, pad),
        egui::vec2(TILE.x - 2.0 * pad, TILE.x - 2.0 * pad),
    );
    painter.rect_filled(image_area, 4.0, theme::thumb_paper(visuals));
    match lib_state.thumbs.get(&asset.blob_hash) {
        Some(tex) => {
            let size = tex.size_vec2();
            let scale = (image_area.width() / size.x).min(image_area.height() / size.y);
            let shown = egui::Rect::from_center_size(image_area.center(), size * scale);
            painter.image(
                tex.id(),
                shown,
                egui::Rect::from_min_max(egui::Pos2::ZERO, egui::pos2(1.0, 1.0)),
                egui::Color32::WHITE,
            );
        }
        None if lib_state.thumbs.is_failed(&asset.blob_hash) => {
            painter.text(
                image_area.center(),
                egui::Align2::CENTER_CENTER,
                "No preview",
                egui::FontId::proportional(13.0),
                visuals.weak_text_color(),
            );
        }
        None => {
            egui::Spinner::new().paint_at(
                ui,
                egui::Rect::from_center_size(image_area.center(), egui::vec2(24.0, 24.0)),
            );
        }
    }
    if asset.has_recipe {
        let (bg, fg) = theme::badge(visuals);
        let galley = painter.layout_no_wrap("Edited".into(), egui::FontId::proportional(11.0), fg);
        let badge = egui::Rect::from_min_size(
            image_area.min + egui::vec2(6.0, 6.0),
            galley.size() + egui::vec2(10.0, 4.0),
        );
        painter.rect_filled(badge, 8.0, bg);
        painter.galley(badge.min + egui::vec2(5.0, 2.0), galley, fg);
    }
    if selected {
        let c = egui::pos2(image_area.right() - 14.0, image_area.top() + 14.0);
        painter.circle_filled(c, 10.0, theme::accent(visuals));
        let tick = [
            c + egui::vec2(-4.5, 0.0),
            c + egui::vec2(-1.0, 3.5),
            c + egui::vec2(5.0, -3.5),
        ];
        let s = egui::Stroke::new(2.0, egui::Color32::WHITE);
        painter.line_segment([tick[0], tick[1]], s);
        painter.line_segment([tick[1], tick[2]], s);
    }
    let text_left = rect.left() + pad;
    let width = TILE.x - 2.0 * pad;
    let title_galley = painter.layout(
        asset.title().to_string(),
        egui::FontId::proportional(14.0),
        visuals.strong_text_color(),
        width,
    );
    let title_galley = truncate_galley(painter, title_galley, asset.title(), width, visuals);
    let y = image_area.bottom() + 8.0;
    painter.galley(
        egui::pos2(text_left, y),
        title_galley,
        visuals.strong_text_color(),
    );
    let small = egui::FontId::proportional(12.5);
    painter.text(
        egui::pos2(text_left, y + 22.0),
        egui::Align2::LEFT_TOP,
        asset.sku.as_deref().unwrap_or(&asset.file_name),
        small.clone(),
        visuals.weak_text_color(),
    );
    if let Some(price) = asset.price {
        painter.text(
            egui::pos2(rect.right() - pad, y + 22.0),
            egui::Align2::RIGHT_TOP,
            format!("${price:.2}"),
            small,
            visuals.text_color(),
        );
    }
}

/// One line of title, cut with an ellipsis when too wide.
fn truncate_galley(
    painter: &egui::Painter,
    galley: std::sync::Arc<egui::Galley>,
    text: &str,
    width: f32,
    visuals: &egui::Visuals,
) -> std::sync::Arc<egui::Galley> {
    if galley.rows.len() <= 1 {
        return galley;
    }
    let font = egui::FontId::proportional(14.0);
    let mut cut: String = text.to_string();
    while !cut.is_empty() {
        cut.pop();
        let candidate = painter.layout_no_wrap(
            format!("{}…", cut.trim_end()),
            font.clone(),
            visuals.strong_text_color(),
        );
        if candidate.size().x <= width {
            return candidate;
        }
    }
    galley
}

fn details_ui(
    ui: &mut egui::Ui,
    lib_state: &LibraryState,
    asset: &AssetRow,
    input: &mut LibraryInput,
    cmds: &mut Vec<Command>,
) {
    let _ = input;
    ui.add_space(6.0);
    ui.horizontal(|ui| {
        ui.add(egui::Label::new(egui::RichText::new(asset.title()).heading()).wrap());
    });
    ui.add_space(4.0);
    if let Some(tex) = lib_state.thumbs.get(&asset.blob_hash) {
        ui.add(
            egui::Image::new(tex)
                .max_width(ui.available_width())
                .maintain_aspect_ratio(true)
                .corner_radius(4.0),
        );
    }
    ui.add_space(6.0);
    ui.horizontal(|ui| {
        if ui
            .button("Open")
            .on_hover_text("Open the photo to enhance it (or double-click the tile)")
            .clicked()
        {
            cmds.push(lib(LibraryCommand::Open(asset.id)));
        }
        if asset.has_recipe {
            ui.weak("Has a saved recipe");
        }
    });
    ui.add_space(6.0);
    egui::Grid::new("asset_meta")
        .num_columns(2)
        .spacing([12.0, 4.0])
        .show(ui, |ui| {
            let rows: [(&str, String); 6] = [
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
            ];
            for (k, v) in rows {
                ui.weak(k);
                ui.label(if v.is_empty() { "—".to_string() } else { v });
                ui.end_row();
            }
        });
    ui.add_space(6.0);
    ui.weak("Tags");
    ui.horizontal_wrapped(|ui| {
        let tags = asset.tag_list();
        if tags.is_empty() {
            ui.weak("none yet — add some above");
        }
        for tag in tags {
            let chip = ui
                .add(
                    egui::Button::new(format!("{tag}  ×"))
                        .small()
                        .corner_radius(10.0),
                )
                .on_hover_text(format!("Remove the tag {tag:?}"));
            if chip.clicked() {
                cmds.push(lib(LibraryCommand::RemoveTag {
                    ids: vec![asset.id],
                    tag,
                }));
            }
        }
    });
}
