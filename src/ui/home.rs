//! The home page: the open workspace at a glance, recent workspaces, open or build one.

use crate::app::{Command, PickPurpose, View, WorkspaceState};

use super::{Model, theme};

/// Draws the home page.
pub fn home_ui(ui: &mut egui::Ui, model: &Model<'_>, cmds: &mut Vec<Command>) {
    egui::ScrollArea::vertical().show(ui, |ui| {
        ui.add_space(8.0);
        ui.heading("Welcome to Sightline");
        ui.label("Build campaign lookbooks from product photos, and hunt fraud rings in transaction graphs — offline.");
        ui.add_space(12.0);
        workspace_card_ui(ui, model, cmds);
        ui.add_space(16.0);
        ui.horizontal(|ui| {
            if ui.button("Open workspace…").clicked() {
                cmds.push(Command::Pick(PickPurpose::OpenWorkspace));
            }
            if ui.button("New demo workspace…").clicked() {
                cmds.push(Command::Pick(PickPurpose::NewDemoWorkspace));
            }
        });
        ui.add_space(16.0);
        ui.strong("Recent workspaces");
        if model.settings.recent_workspaces.is_empty() {
            ui.weak("None yet: workspaces you open are listed here.");
        }
        for path in &model.settings.recent_workspaces {
            ui.horizontal(|ui| {
                let exists = path.exists();
                let open = ui.add_enabled(exists, egui::Button::new(crate::app::file_label(path)));
                if open.clicked() {
                    cmds.push(Command::OpenWorkspace(path.clone()));
                }
                ui.weak(path.display().to_string());
                if !exists {
                    ui.colored_label(theme::danger(ui.visuals()), "missing");
                }
                if ui.small_button("Forget").clicked() {
                    cmds.push(Command::ForgetRecent(path.clone()));
                }
            });
        }
    });
}

fn workspace_card_ui(ui: &mut egui::Ui, model: &Model<'_>, cmds: &mut Vec<Command>) {
    egui::Frame::group(ui.style())
        .inner_margin(12.0)
        .show(ui, |ui| {
            ui.set_min_width(ui.available_width());
            match model.workspace {
                WorkspaceState::Open(ws) => {
                    ui.strong(format!("Workspace: {}", ws.path.display()));
                    ui.add_space(6.0);
                    ui.horizontal_wrapped(|ui| {
                        let o = &ws.overview;
                        stat_ui(ui, "accounts", o.accounts);
                        stat_ui(ui, "transactions", o.transactions);
                        stat_ui(ui, "labelled fraud", o.labelled_fraud);
                        stat_ui(ui, "product photos", ws.library.facets.total as i64);
                    });
                    ui.add_space(6.0);
                    ui.horizontal(|ui| {
                        if ui.button("Go to Lookbook").clicked() {
                            cmds.push(Command::SetView(View::Lookbook));
                        }
                        if ui.button("Go to Fraud graph").clicked() {
                            cmds.push(Command::SetView(View::Fraud));
                        }
                    });
                }
                WorkspaceState::Loading { path, .. } => {
                    ui.horizontal(|ui| {
                        ui.spinner();
                        ui.label(format!(
                            "Loading {} — progress is in the jobs tray below.",
                            path.display()
                        ));
                    });
                }
                WorkspaceState::Failed { path, message } => {
                    ui.colored_label(
                        theme::danger(ui.visuals()),
                        format!("Could not open {}", path.display()),
                    );
                    ui.label(message);
                }
                WorkspaceState::None => {
                    ui.label("No workspace is open.");
                }
            }
        });
}

/// A big number with a caption.
pub fn stat_ui(ui: &mut egui::Ui, caption: &str, value: i64) {
    ui.vertical(|ui| {
        ui.label(
            egui::RichText::new(group_thousands(value))
                .size(theme::STAT_SIZE)
                .strong(),
        );
        ui.weak(caption);
    });
    ui.add_space(18.0);
}

/// `12345` → `12,345`.
pub fn group_thousands(value: i64) -> String {
    let digits = value.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if value < 0 { format!("-{out}") } else { out }
}

#[cfg(test)]
mod tests {
    #[test]
    fn thousands_are_grouped() {
        assert_eq!(super::group_thousands(0), "0");
        assert_eq!(super::group_thousands(999), "999");
        assert_eq!(super::group_thousands(1000), "1,000");
        assert_eq!(super::group_thousands(-1234567), "-1,234,567");
    }
}
