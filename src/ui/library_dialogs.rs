//! The library's dialogs: apply a recipe to the selection or the whole library, save a
//! recipe under a name, and the reports of the last import and batch.

use std::path::PathBuf;

use crate::app::library::{
    BatchScope, FormatChoice, LibraryCommand, LibraryDialog, LibraryInput, PageCommand,
    RecipeChoice,
};
use crate::app::{Command, LibraryState};
use crate::imaging::encode::OutputFormat;
use crate::imaging::{Preset, Recipe};
use crate::library::batch::{BatchTarget, OutputOptions};

use super::theme;

fn lib(cmd: LibraryCommand) -> Command {
    Command::Library(cmd)
}

/// Draws whichever library dialog is open.
pub fn dialogs_ui(
    ctx: &egui::Context,
    state: &LibraryState,
    input: &mut LibraryInput,
    cmds: &mut Vec<Command>,
) {
    let Some(dialog) = state.dialog else {
        return;
    };
    let title = match dialog {
        LibraryDialog::Apply(BatchScope::Selection) => "Apply a recipe to the selection",
        LibraryDialog::Apply(BatchScope::Library) => "Apply a recipe to the whole library",
        LibraryDialog::SaveNamed => "Save as named recipe",
        LibraryDialog::ImportReport => "Import report",
        LibraryDialog::BatchReport => "Batch report",
    };
    let mut open = true;
    egui::Window::new(title)
        .open(&mut open)
        .collapsible(false)
        .resizable(true)
        .default_width(460.0)
        .anchor(egui::Align2::CENTER_CENTER, egui::Vec2::ZERO)
        .show(ctx, |ui| match dialog {
            LibraryDialog::Apply(scope) => apply_ui(ui, state, scope, input, cmds),
            LibraryDialog::SaveNamed => save_named_ui(ui, input, cmds),
            LibraryDialog::ImportReport => import_report_ui(ui, state),
            LibraryDialog::BatchReport => batch_report_ui(ui, state),
        });
    if !open {
        cmds.push(lib(LibraryCommand::ShowDialog(None)));
    }
}

fn choice_label(choice: &RecipeChoice) -> String {
    match choice {
        RecipeChoice::Page => "This photo's recipe".into(),
        RecipeChoice::Preset(p) => p.name().into(),
        RecipeChoice::Named(n) => n.clone(),
    }
}

fn chosen_recipe(state: &LibraryState, choice: &RecipeChoice) -> Option<Recipe> {
    match choice {
        RecipeChoice::Page => state.page.as_ref().map(|p| p.recipe.clone()),
        RecipeChoice::Preset(p) => Some(p.recipe()),
        RecipeChoice::Named(n) => state
            .named
            .iter()
            .find(|(name, _)| name == n)
            .map(|(_, r)| r.clone()),
    }
}

fn apply_ui(
    ui: &mut egui::Ui,
    state: &LibraryState,
    scope: BatchScope,
    input: &mut LibraryInput,
    cmds: &mut Vec<Command>,
) {
    let count = match scope {
        BatchScope::Selection => state.selection.len(),
        BatchScope::Library => state.facets.total,
    };
    let batch = &mut input.batch;
    if batch.recipe == RecipeChoice::Page && state.page.is_none() {
        batch.recipe = RecipeChoice::default();
    }
    ui.label(format!(
        "{count} photo{}",
        if count == 1 { "" } else { "s" }
    ));
    ui.add_space(4.0);
    egui::Grid::new("apply_grid")
        .num_columns(2)
        .spacing([12.0, 8.0])
        .show(ui, |ui| {
            ui.label("Recipe");
            egui::ComboBox::from_id_salt("apply_recipe")
                .selected_text(choice_label(&batch.recipe))
                .width(240.0)
                .show_ui(ui, |ui| {
                    let mut choices = Vec::new();
                    if state.page.is_some() {
                        choices.push(RecipeChoice::Page);
                    }
                    choices.extend(Preset::ALL.into_iter().map(RecipeChoice::Preset));
                    choices.extend(
                        state
                            .named
                            .iter()
                            .map(|(n, _)| RecipeChoice::Named(n.clone())),
                    );
                    for c in choices {
                        let label = choice_label(&c);
                        ui.selectable_value(&mut batch.recipe, c, label);
                    }
                });
            ui.end_row();

            ui.label("Result");
            ui.vertical(|ui| {
                ui.radio_value(
                    &mut batch.save_to_assets,
                    true,
                    "Save the recipe with each photo",
                )
                .on_hover_text(
                    "Non-destructive: originals stay as they are; renders are made on demand",
                );
                ui.radio_value(
                    &mut batch.save_to_assets,
                    false,
                    "Render full size into a folder",
                );
            });
            ui.end_row();

            if !batch.save_to_assets {
                ui.label("Folder");
                ui.horizontal(|ui| {
                    ui.add(
                        egui::TextEdit::singleline(&mut batch.folder)
                            .hint_text("/path/to/output")
                            .desired_width(240.0),
                    );
                    if ui.button("Choose…").clicked() {
                        cmds.push(lib(LibraryCommand::PickBatchFolder));
                    }
                });
                ui.end_row();

                ui.label("Format");
                ui.horizontal(|ui| {
                    ui.selectable_value(&mut batch.format, FormatChoice::Png, "PNG");
                    ui.selectable_value(&mut batch.format, FormatChoice::Jpeg, "JPEG");
                    ui.selectable_value(&mut batch.format, FormatChoice::Webp, "WebP");
                });
                ui.end_row();
            }
        });
    if !batch.save_to_assets {
        ui.weak("Files are named after each photo's SKU (or its file name).");
    }
    ui.add_space(8.0);
    let recipe = chosen_recipe(state, &batch.recipe);
    let folder_ok = batch.save_to_assets || !batch.folder.trim().is_empty();
    ui.horizontal(|ui| {
        let start = ui.add_enabled(
            count > 0 && recipe.is_some() && folder_ok,
            egui::Button::new("Start"),
        );
        if start.clicked()
            && let Some(recipe) = recipe
        {
            let target = if batch.save_to_assets {
                BatchTarget::SaveToAssets
            } else {
                BatchTarget::Folder(OutputOptions {
                    dir: PathBuf::from(batch.folder.trim()),
                    format: match batch.format {
                        FormatChoice::Png => OutputFormat::Png,
                        FormatChoice::Jpeg => OutputFormat::Jpeg { quality: 92 },
                        FormatChoice::Webp => OutputFormat::WebpLossless,
                    },
                })
            };
            cmds.push(lib(LibraryCommand::ApplyRecipe {
                scope,
                recipe: Box::new(recipe),
                target,
            }));
        }
        if ui.button("Cancel").clicked() {
            cmds.push(lib(LibraryCommand::ShowDialog(None)));
        }
        if !folder_ok {
            ui.weak("Choose an output folder");
        }
    });
}

fn save_named_ui(ui: &mut egui::Ui, input: &mut LibraryInput, cmds: &mut Vec<Command>) {
    ui.label("Name");
    let edit = ui.add(
        egui::TextEdit::singleline(&mut input.save_name)
            .hint_text("e.g. catalogue-white")
            .desired_width(280.0),
    );
    let enter = edit.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
    ui.weak("A recipe with the same name is replaced.");
    ui.horizontal(|ui| {
        let ok = !input.save_name.trim().is_empty();
        if ok && (ui.add_enabled(ok, egui::Button::new("Save")).clicked() || enter) {
            cmds.push(lib(LibraryCommand::Page(PageCommand::SaveNamed(
                input.save_name.trim().to_string(),
            ))));
        }
        if ui.button("Cancel").clicked() {
            cmds.push(lib(LibraryCommand::ShowDialog(None)));
        }
    });
}

fn import_report_ui(ui: &mut egui::Ui, state: &LibraryState) {
    let Some(summary) = &state.last_import else {
        ui.label("No import yet.");
        return;
    };
    ui.strong(summary.headline());
    report_list_ui(
        ui,
        summary
            .failed
            .iter()
            .map(|f| (f.path.display().to_string(), f.reason.clone())),
    );
    if !summary.duplicates.is_empty() {
        ui.collapsing(format!("{} duplicate(s)", summary.duplicates.len()), |ui| {
            for (path, id) in &summary.duplicates {
                ui.label(format!(
                    "{} (already in the library as asset {id})",
                    path.display()
                ));
            }
        });
    }
}

fn batch_report_ui(ui: &mut egui::Ui, state: &LibraryState) {
    let Some(report) = &state.last_batch else {
        ui.label("No batch yet.");
        return;
    };
    ui.strong(report.headline());
    report_list_ui(
        ui,
        report
            .failures
            .iter()
            .map(|f| (f.input.clone(), f.reason.clone())),
    );
}

fn report_list_ui(ui: &mut egui::Ui, rows: impl Iterator<Item = (String, String)>) {
    egui::ScrollArea::vertical()
        .max_height(320.0)
        .show(ui, |ui| {
            for (what, why) in rows {
                ui.add_space(4.0);
                ui.colored_label(theme::danger(ui.visuals()), what);
                ui.add(egui::Label::new(why).wrap());
            }
        });
}
