//! Views and widgets. They read the [`Model`] and push [`Command`]s; they never do I/O and
//! never mutate application state.

mod asset_page;
mod dialogs;
mod fraud;
mod home;
mod image_view;
mod import_dialog;
mod jobs_tray;
mod library_dialogs;
mod library_grid;
mod lookbook;
mod recipe_panel;
pub mod theme;

use egui::{Key, KeyboardShortcut, Modifiers};

use crate::app::{
    Command, Dialogs, LibraryCommand, PageCommand, Settings, Toast, View, ViewInput, WorkspaceState,
};
use crate::jobs::JobInfo;

/// What the views read, borrowed from the app for one frame.
pub struct Model<'a> {
    pub settings: &'a Settings,
    pub workspace: &'a WorkspaceState,
    pub jobs: &'a [JobInfo],
    pub toasts: &'a [Toast],
    pub dialogs: &'a Dialogs,
    pub import: Option<&'a crate::app::import::ImportState>,
}

/// A keyboard shortcut and what it does, as listed in the help overlay.
pub struct Shortcut {
    pub keys: KeyboardShortcut,
    pub what: &'static str,
}

/// Every shortcut; the help overlay lists exactly these.
pub fn shortcut_list() -> Vec<(Shortcut, Command)> {
    let cmd = |key| KeyboardShortcut::new(Modifiers::COMMAND, key);
    vec![
        (
            Shortcut {
                keys: cmd(Key::Num1),
                what: "Home",
            },
            Command::SetView(View::Home),
        ),
        (
            Shortcut {
                keys: cmd(Key::Num2),
                what: "Lookbook",
            },
            Command::SetView(View::Lookbook),
        ),
        (
            Shortcut {
                keys: cmd(Key::Num3),
                what: "Fraud graph",
            },
            Command::SetView(View::Fraud),
        ),
        (
            Shortcut {
                keys: cmd(Key::O),
                what: "Open a workspace…",
            },
            Command::Pick(crate::app::PickPurpose::OpenWorkspace),
        ),
        (
            Shortcut {
                keys: cmd(Key::Comma),
                what: "Settings",
            },
            Command::ShowSettings(true),
        ),
        (
            Shortcut {
                keys: KeyboardShortcut::new(Modifiers::NONE, Key::F1),
                what: "Keyboard shortcuts",
            },
            Command::ShowHelp(true),
        ),
        // Redo before undo: Ctrl+Z also matches while Shift is held.
        (
            Shortcut {
                keys: KeyboardShortcut::new(Modifiers::COMMAND | Modifiers::SHIFT, Key::Z),
                what: "Redo a recipe edit",
            },
            Command::Library(LibraryCommand::Page(PageCommand::Redo)),
        ),
        (
            Shortcut {
                keys: cmd(Key::Z),
                what: "Undo a recipe edit",
            },
            Command::Library(LibraryCommand::Page(PageCommand::Undo)),
        ),
    ]
}

/// Turns pressed shortcuts into commands (Esc closes dialogs).
pub fn shortcuts(ctx: &egui::Context, commands: &mut Vec<Command>) {
    if ctx.egui_wants_keyboard_input() {
        return;
    }
    for (shortcut, command) in shortcut_list() {
        if ctx.input_mut(|i| i.consume_shortcut(&shortcut.keys)) {
            commands.push(command);
        }
    }
    if ctx.input(|i| i.key_pressed(Key::Escape)) {
        commands.push(Command::ShowHelp(false));
        commands.push(Command::ShowSettings(false));
        commands.push(Command::Library(LibraryCommand::ShowDialog(None)));
    }
}

/// Draws the whole window.
pub fn root_ui(
    ui: &mut egui::Ui,
    model: &Model<'_>,
    input: &mut ViewInput,
    cmds: &mut Vec<Command>,
) {
    egui::Panel::top("top_bar").show(ui, |ui| top_bar_ui(ui, model, cmds));
    egui::Panel::bottom("status_bar").show(ui, |ui| jobs_tray::status_bar_ui(ui, model, cmds));
    egui::CentralPanel::default().show(ui, |ui| match model.settings.view {
        View::Home => home::home_ui(ui, model, cmds),
        View::Lookbook => lookbook::lookbook_ui(ui, model, input, cmds),
        View::Fraud => fraud::fraud_ui(ui, model, input, cmds),
    });
    dialogs::settings_ui(ui.ctx(), model, cmds);
    dialogs::help_ui(ui.ctx(), model, cmds);
    import_dialog::import_ui(ui.ctx(), model, &mut input.mapping_draft, cmds);
    jobs_tray::toasts_ui(ui.ctx(), model, cmds);
    lookbook::file_drop_ui(ui.ctx(), model);
}

fn top_bar_ui(ui: &mut egui::Ui, model: &Model<'_>, cmds: &mut Vec<Command>) {
    ui.horizontal(|ui| {
        ui.heading("Sightline");
        ui.separator();
        for view in View::ALL {
            if ui
                .selectable_label(model.settings.view == view, view.label())
                .clicked()
            {
                cmds.push(Command::SetView(view));
            }
        }
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            if ui
                .button("?")
                .on_hover_text("Keyboard shortcuts (F1)")
                .clicked()
            {
                cmds.push(Command::ShowHelp(true));
            }
            if ui.button("Settings").clicked() {
                cmds.push(Command::ShowSettings(true));
            }
            ui.separator();
            let label = match model.workspace {
                WorkspaceState::Open(ws) => crate::app::file_label(&ws.path),
                WorkspaceState::Loading { path, .. } => {
                    format!("Loading {}…", crate::app::file_label(path))
                }
                WorkspaceState::Failed { path, .. } => {
                    format!("{} (failed)", crate::app::file_label(path))
                }
                WorkspaceState::None => "No workspace".into(),
            };
            ui.label(label);
        });
    });
}

/// Shared empty/loading/failed states for views that need an open workspace. Returns the
/// workspace when it is open.
fn need_workspace<'a>(
    ui: &mut egui::Ui,
    model: &'a Model<'_>,
    cmds: &mut Vec<Command>,
) -> Option<&'a crate::app::OpenWorkspace> {
    match model.workspace {
        WorkspaceState::Open(ws) => Some(ws),
        WorkspaceState::Loading { path, .. } => {
            ui.centered_and_justified(|ui| {
                ui.horizontal_centered(|ui| {
                    ui.spinner();
                    ui.label(format!("Loading workspace {}…", path.display()));
                });
            });
            None
        }
        WorkspaceState::Failed { path, message } => {
            ui.vertical_centered(|ui| {
                ui.add_space(60.0);
                ui.colored_label(
                    theme::danger(ui.visuals()),
                    format!("Could not open {}", path.display()),
                );
                ui.label(message);
                ui.add_space(8.0);
                if ui.button("Open another workspace…").clicked() {
                    cmds.push(Command::Pick(crate::app::PickPurpose::OpenWorkspace));
                }
            });
            None
        }
        WorkspaceState::None => {
            ui.vertical_centered(|ui| {
                ui.add_space(60.0);
                ui.label("No workspace is open.");
                if ui.button("Open a workspace…").clicked() {
                    cmds.push(Command::Pick(crate::app::PickPurpose::OpenWorkspace));
                }
            });
            None
        }
    }
}
