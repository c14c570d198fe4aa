//! The transaction-import dialog: files and preset, the detected plan with a preview whose
//! problem cells are highlighted, a mapping editor for unknown headers, progress with rows/s
//! and cancel, the summary, and the rejects viewer.

use crate::app::import::{ImportStage, ImportState, MappingDraft};
use crate::app::{Command, PickPurpose};
use crate::fraud::ingest::{FileOutcome, FileRole, PRESET_NAMES, Plan};

use super::{Model, theme};

/// Draws the dialog and, when open, the rejects viewer.
pub fn import_ui(
    ctx: &egui::Context,
    model: &Model<'_>,
    draft: &mut Option<MappingDraft>,
    cmds: &mut Vec<Command>,
) {
    let Some(state) = model.import else { return };
    let mut open = true;
    egui::Window::new("Import transactions")
        .open(&mut open)
        .collapsible(false)
        .default_size([940.0, 600.0])
        .anchor(egui::Align2::CENTER_CENTER, egui::Vec2::ZERO)
        .show(ctx, |ui| {
            files_ui(ui, state, cmds);
            ui.separator();
            match &state.stage {
                ImportStage::Empty => {
                    ui.label(
                        "Choose files, or drop CSV, CSV.gz or JSON Lines files onto the window.",
                    );
                }
                ImportStage::Detecting => {
                    ui.horizontal(|ui| {
                        ui.spinner();
                        ui.label("Reading headers and the first rows…");
                    });
                }
                ImportStage::Failed { message, unknown } => {
                    ui.colored_label(theme::danger(ui.visuals()), message);
                    if unknown.is_some() {
                        ui.add_space(6.0);
                        if let Some(d) = draft.as_mut() {
                            mapping_editor_ui(ui, d, cmds);
                        }
                    }
                }
                ImportStage::Planned(plan) => plan_ui(ui, plan, cmds),
                ImportStage::Loading { job, .. } => {
                    let info = model.jobs.iter().find(|j| j.id == *job);
                    let fraction = info.and_then(|j| j.fraction).unwrap_or(0.0);
                    ui.label("Loading…");
                    let mut text = format!("{:.0}%", fraction * 100.0);
                    if let Some(eta) = info.and_then(|j| j.eta()) {
                        text.push_str(&format!(" · about {} s left", eta.as_secs()));
                    }
                    ui.add(egui::ProgressBar::new(fraction).text(text));
                    if let Some(j) = info {
                        ui.weak(&j.message);
                    }
                    if ui.button("Cancel import").clicked() {
                        cmds.push(Command::CloseImport);
                    }
                }
                ImportStage::Done(summary) => summary_ui(ui, summary, cmds),
            }
        });
    if !open {
        cmds.push(Command::CloseImport);
    }
    if let Some(rejects) = &state.rejects {
        rejects_ui(ctx, rejects, cmds);
    }
}

fn files_ui(ui: &mut egui::Ui, state: &ImportState, cmds: &mut Vec<Command>) {
    let busy = matches!(state.stage, ImportStage::Loading { .. });
    ui.horizontal(|ui| {
        ui.strong("Files");
        if ui
            .add_enabled(!busy, egui::Button::new("Add files…"))
            .clicked()
        {
            cmds.push(Command::Pick(PickPurpose::ImportFiles));
        }
        ui.separator();
        ui.label("Preset");
        let mut preset = state.preset.clone();
        egui::ComboBox::from_id_salt("import_preset")
            .selected_text(&preset)
            .show_ui(ui, |ui| {
                for name in std::iter::once("auto").chain(PRESET_NAMES.iter().copied()) {
                    ui.selectable_value(&mut preset, name.to_string(), name);
                }
            });
        if preset != state.preset {
            cmds.push(Command::ImportSetPreset(preset));
        }
        let mut no_labels = state.no_labels;
        if ui
            .add_enabled(
                !busy,
                egui::Checkbox::new(&mut no_labels, "Drop label columns"),
            )
            .on_hover_text(
                "Load the data without any column that reveals the answer (isFraud, is_sar, …)",
            )
            .changed()
        {
            cmds.push(Command::ImportSetNoLabels(no_labels));
        }
        if ui
            .add_enabled(!busy, egui::Button::new("Load mapping…"))
            .clicked()
        {
            cmds.push(Command::Pick(PickPurpose::MappingFile));
        }
    });
    for f in &state.files {
        ui.monospace(f.display().to_string());
    }
    if let Some(m) = &state.mapping {
        ui.weak(format!("Using mapping {:?}", m.name));
    }
}

fn plan_ui(ui: &mut egui::Ui, plan: &Plan, cmds: &mut Vec<Command>) {
    let danger = theme::danger(ui.visuals());
    egui::ScrollArea::vertical()
        .max_height(420.0)
        .show(ui, |ui| {
            for (i, file) in plan.files.iter().enumerate() {
                let title = format!(
                    "{} — {} via {} ({:.1} MB{})",
                    crate::app::file_label(&file.path),
                    file.role.as_str(),
                    file.mapping_name,
                    file.size_bytes as f64 / 1e6,
                    if file.compressed { ", gzip" } else { "" }
                );
                egui::CollapsingHeader::new(title)
                    .id_salt(("plan_file", i))
                    .default_open(true)
                    .show(ui, |ui| {
                        ui.horizontal_wrapped(|ui| {
                            for c in &file.columns {
                                if c.used_for.is_empty() {
                                    ui.weak(format!("{} (ignored)", c.column));
                                } else {
                                    ui.label(format!("{}: {}", c.column, c.used_for.join("+")));
                                }
                            }
                        });
                        for note in &file.notes {
                            ui.weak(format!("Note: {note}"));
                        }
                        if file.role != FileRole::GroundTruth && !file.preview.is_empty() {
                            preview_grid_ui(ui, file, i, danger);
                        }
                    });
            }
        });
    ui.add_space(6.0);
    let problems: usize = plan
        .files
        .iter()
        .flat_map(|f| &f.preview)
        .filter(|r| !r.problems.is_empty())
        .count();
    ui.horizontal(|ui| {
        if ui
            .button(format!("Load {} file(s)", plan.files.len()))
            .clicked()
        {
            cmds.push(Command::StartImport);
        }
        if problems > 0 {
            ui.colored_label(
                danger,
                format!(
                    "{problems} previewed row(s) would be rejected; they go to the rejects file"
                ),
            );
        }
    });
}

fn preview_grid_ui(
    ui: &mut egui::Ui,
    file: &crate::fraud::ingest::FilePlan,
    i: usize,
    danger: egui::Color32,
) {
    // Columns: every field any previewed row has, in first-seen order; a rejected row may lack
    // the fields that failed to parse, so cells are looked up by field, not by position.
    let mut fields: Vec<&str> = Vec::new();
    let ok_rows: Vec<_> = file
        .preview
        .iter()
        .filter(|r| r.problems.is_empty())
        .collect();
    let source = if ok_rows.is_empty() {
        file.preview.iter().collect()
    } else {
        ok_rows
    };
    for row in source {
        for (k, _) in &row.values {
            if !fields.contains(&k.as_str()) {
                fields.push(k);
            }
        }
    }
    egui::ScrollArea::horizontal()
        .id_salt(("preview_scroll", i))
        .show(ui, |ui| {
            egui::Grid::new(("preview", i))
                .striped(true)
                .show(ui, |ui| {
                    ui.strong("line");
                    for f in &fields {
                        ui.strong(*f);
                    }
                    ui.strong("problems");
                    ui.end_row();
                    for row in &file.preview {
                        ui.label(row.line.to_string());
                        for field in &fields {
                            let value = row
                                .values
                                .iter()
                                .find(|(k, _)| k == field)
                                .map(|(_, v)| v.as_str())
                                .unwrap_or("");
                            let bad = row
                                .problems
                                .iter()
                                .any(|p| p.field.map(|f| f.as_str()) == Some(*field));
                            if bad {
                                ui.colored_label(
                                    danger,
                                    if value.is_empty() { "?" } else { value },
                                );
                            } else {
                                ui.label(value);
                            }
                        }
                        let reasons: Vec<&str> =
                            row.problems.iter().map(|p| p.reason.as_str()).collect();
                        if reasons.is_empty() {
                            ui.weak("ok");
                        } else {
                            ui.colored_label(danger, reasons.join("; "));
                        }
                        ui.end_row();
                    }
                });
        });
}

fn mapping_editor_ui(ui: &mut egui::Ui, d: &mut MappingDraft, cmds: &mut Vec<Command>) {
    ui.strong(format!(
        "Map the columns of {}",
        crate::app::file_label(&d.file)
    ));
    ui.horizontal(|ui| {
        ui.label("The file holds");
        egui::ComboBox::from_id_salt("draft_role")
            .selected_text(d.role.as_str())
            .show_ui(ui, |ui| {
                for role in [
                    FileRole::Transactions,
                    FileRole::Accounts,
                    FileRole::Merchants,
                    FileRole::Labels,
                ] {
                    ui.selectable_value(&mut d.role, role, role.as_str());
                }
            });
        ui.label("Time format");
        ui.add(egui::TextEdit::singleline(&mut d.timestamp_format).desired_width(140.0))
            .on_hover_text(
                "iso8601, epoch_secs, epoch_millis, steps, auto, or a format like %d/%m/%Y %H:%M",
            );
        ui.label("Time zone");
        ui.add(egui::TextEdit::singleline(&mut d.timezone).desired_width(90.0));
        ui.label("Name");
        ui.add(egui::TextEdit::singleline(&mut d.name).desired_width(120.0));
    });
    let allowed = d.role.allowed_fields();
    egui::ScrollArea::vertical()
        .max_height(260.0)
        .show(ui, |ui| {
            egui::Grid::new("draft_columns")
                .striped(true)
                .num_columns(2)
                .show(ui, |ui| {
                    for (i, column) in d.header.iter().enumerate() {
                        ui.monospace(column);
                        let current = d.fields[i].map(|f| f.as_str()).unwrap_or("(ignore)");
                        egui::ComboBox::from_id_salt(("draft_field", i))
                            .selected_text(current)
                            .show_ui(ui, |ui| {
                                ui.selectable_value(&mut d.fields[i], None, "(ignore)");
                                for f in allowed {
                                    ui.selectable_value(&mut d.fields[i], Some(*f), f.as_str());
                                }
                            });
                        ui.end_row();
                    }
                });
        });
    match d.to_mapping() {
        Ok(mapping) => {
            ui.horizontal(|ui| {
                if ui.button("Use this mapping").clicked() {
                    cmds.push(Command::ImportUseMapping {
                        mapping: Box::new(mapping.clone()),
                        save_to: None,
                    });
                }
                if ui
                    .button("Save mapping and use it")
                    .on_hover_text(
                        "Saves it beside the file, so the next import of this export is automatic",
                    )
                    .clicked()
                {
                    let save_to = d.file.with_file_name(format!("{}.mapping.toml", d.name));
                    cmds.push(Command::ImportUseMapping {
                        mapping: Box::new(mapping),
                        save_to: Some(save_to),
                    });
                }
            });
        }
        Err(why) => {
            ui.weak(why);
        }
    }
}

fn summary_ui(ui: &mut egui::Ui, s: &crate::fraud::ingest::IngestSummary, cmds: &mut Vec<Command>) {
    ui.strong(if s.cancelled {
        "Cancelled: committed batches were kept; importing the same files again resumes."
    } else {
        "Import finished."
    });
    egui::Grid::new("import_summary")
        .striped(true)
        .show(ui, |ui| {
            for h in [
                "File",
                "Role",
                "Outcome",
                "Read",
                "Loaded",
                "Rejected",
                "Duplicates",
                "",
            ] {
                ui.strong(h);
            }
            ui.end_row();
            for f in &s.files {
                ui.label(crate::app::file_label(&f.path));
                ui.label(f.role.as_str());
                ui.label(match f.outcome {
                    FileOutcome::Loaded => "loaded",
                    FileOutcome::Resumed => "resumed",
                    FileOutcome::AlreadyLoaded => "already loaded",
                    FileOutcome::Skipped => "skipped",
                    FileOutcome::Cancelled => "cancelled",
                });
                ui.label(f.rows_read.to_string());
                ui.label(f.loaded.to_string());
                ui.label(f.rejected.to_string());
                ui.label(f.duplicates.to_string());
                match &f.rejects_path {
                    Some(p) if f.rejected > 0 => {
                        if ui.small_button("View rejects").clicked() {
                            cmds.push(Command::ShowRejects(p.clone()));
                        }
                    }
                    _ => {
                        ui.label("");
                    }
                }
                ui.end_row();
            }
            ui.strong("Total");
            ui.label("");
            ui.label("");
            ui.strong(s.rows_read.to_string());
            ui.strong(s.loaded.to_string());
            ui.strong(s.rejected.to_string());
            ui.strong(s.duplicates.to_string());
            ui.end_row();
        });
    ui.add_space(6.0);
    if ui.button("Close").clicked() {
        cmds.push(Command::CloseImport);
    }
}

fn rejects_ui(
    ctx: &egui::Context,
    view: &crate::app::import::RejectsView,
    cmds: &mut Vec<Command>,
) {
    let mut open = true;
    egui::Window::new("Rejected rows")
        .open(&mut open)
        .default_size([800.0, 420.0])
        .show(ctx, |ui| {
            ui.weak(format!(
                "{} (first {} rows)",
                view.path.display(),
                view.rows.len()
            ));
            egui::ScrollArea::both().show(ui, |ui| {
                egui::Grid::new("rejects_grid")
                    .striped(true)
                    .show(ui, |ui| {
                        for h in ["Line", "Reason", "Original text"] {
                            ui.strong(h);
                        }
                        ui.end_row();
                        for r in &view.rows {
                            ui.label(r.line.to_string());
                            ui.label(&r.reason);
                            ui.monospace(&r.original);
                            ui.end_row();
                        }
                    });
            });
        });
    if !open {
        cmds.push(Command::CloseRejects);
    }
}
