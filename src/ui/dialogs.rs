//! The settings dialog and the keyboard-shortcut overlay.

use crate::app::{Command, PickPurpose, ThemeChoice};

use super::Model;

/// The settings window.
pub fn settings_ui(ctx: &egui::Context, model: &Model<'_>, cmds: &mut Vec<Command>) {
    if !model.dialogs.settings {
        return;
    }
    let mut open = true;
    egui::Window::new("Settings")
        .open(&mut open)
        .collapsible(false)
        .resizable(false)
        .anchor(egui::Align2::CENTER_CENTER, egui::Vec2::ZERO)
        .show(ctx, |ui| {
            let s = model.settings;
            egui::Grid::new("settings_grid")
                .num_columns(2)
                .spacing([16.0, 10.0])
                .show(ui, |ui| {
                    ui.label("Theme");
                    ui.horizontal(|ui| {
                        for (choice, label) in [
                            (ThemeChoice::System, "System"),
                            (ThemeChoice::Light, "Light"),
                            (ThemeChoice::Dark, "Dark"),
                        ] {
                            if ui.selectable_label(s.theme == choice, label).clicked() {
                                cmds.push(Command::SetTheme(choice));
                            }
                        }
                    });
                    ui.end_row();

                    ui.label("UI scale");
                    let mut scale = s.ui_scale;
                    let slider = ui.add(
                        egui::Slider::new(&mut scale, 0.5..=2.5)
                            .suffix("×")
                            .step_by(0.05),
                    );
                    if slider.changed() {
                        cmds.push(Command::SetUiScale(scale));
                    }
                    ui.end_row();

                    ui.label("Default workspace folder");
                    ui.horizontal(|ui| {
                        ui.label(s.workspace_folder.display().to_string());
                        if ui.button("Change…").clicked() {
                            cmds.push(Command::Pick(PickPurpose::WorkspaceFolder));
                        }
                    });
                    ui.end_row();

                    ui.label("Worker threads");
                    ui.horizontal(|ui| {
                        let mut threads = s.worker_threads;
                        let cores = std::thread::available_parallelism()
                            .map(|n| n.get())
                            .unwrap_or(1);
                        let drag = ui.add(
                            egui::DragValue::new(&mut threads)
                                .range(0..=256)
                                .custom_formatter(move |n, _| {
                                    if n == 0.0 {
                                        format!("auto ({cores})")
                                    } else {
                                        format!("{n}")
                                    }
                                }),
                        );
                        if drag.changed() {
                            cmds.push(Command::SetWorkerThreads(threads));
                        }
                        ui.weak("applies on next start");
                    });
                    ui.end_row();
                });
        });
    if !open {
        cmds.push(Command::ShowSettings(false));
    }
}

/// The keyboard-shortcut overlay.
pub fn help_ui(ctx: &egui::Context, model: &Model<'_>, cmds: &mut Vec<Command>) {
    if !model.dialogs.help {
        return;
    }
    let mut open = true;
    egui::Window::new("Keyboard shortcuts")
        .open(&mut open)
        .collapsible(false)
        .resizable(false)
        .anchor(egui::Align2::CENTER_CENTER, egui::Vec2::ZERO)
        .show(ctx, |ui| {
            egui::Grid::new("shortcuts_grid")
                .num_columns(2)
                .striped(true)
                .show(ui, |ui| {
                    for (shortcut, _) in super::shortcut_list() {
                        ui.monospace(ctx.format_shortcut(&shortcut.keys));
                        ui.label(shortcut.what);
                        ui.end_row();
                    }
                    ui.monospace("Esc");
                    ui.label("Close this window");
                    ui.end_row();
                });
        });
    if !open {
        cmds.push(Command::ShowHelp(false));
    }
}
