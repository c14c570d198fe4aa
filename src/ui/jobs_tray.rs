//! The status bar's jobs tray (progress, ETA, cancel for every long job) and the toasts.

use crate::app::Command;

use super::{Model, theme};

/// Draws the status bar with running jobs.
pub fn status_bar_ui(ui: &mut egui::Ui, model: &Model<'_>, cmds: &mut Vec<Command>) {
    ui.horizontal(|ui| {
        if model.jobs.is_empty() {
            ui.weak("No jobs running");
            return;
        }
        for job in model.jobs {
            ui.group(|ui| {
                ui.label(&job.title);
                let fraction = job.fraction.unwrap_or(0.0);
                let mut text = format!("{:.0}%", fraction * 100.0);
                if let Some(eta) = job.eta() {
                    text.push_str(&format!(" · {} left", human_duration(eta.as_secs())));
                }
                ui.add(
                    egui::ProgressBar::new(fraction)
                        .desired_width(160.0)
                        .text(text),
                );
                if !job.message.is_empty() {
                    ui.weak(&job.message);
                }
                let cancel = ui.add_enabled(!job.cancel_requested(), egui::Button::new("Cancel"));
                if cancel.clicked() {
                    cmds.push(Command::CancelJob(job.id));
                }
            });
        }
    });
}

/// `95` → `1 min 35 s`.
pub fn human_duration(secs: u64) -> String {
    match secs {
        0..=59 => format!("{secs} s"),
        60..=3599 => format!("{} min {} s", secs / 60, secs % 60),
        _ => format!("{} h {} min", secs / 3600, (secs % 3600) / 60),
    }
}

/// Draws the toasts in the bottom-right corner.
pub fn toasts_ui(ctx: &egui::Context, model: &Model<'_>, cmds: &mut Vec<Command>) {
    if model.toasts.is_empty() {
        return;
    }
    egui::Area::new(egui::Id::unique("sightline-toasts"))
        .anchor(egui::Align2::RIGHT_BOTTOM, egui::vec2(-12.0, -40.0))
        .order(egui::Order::Foreground)
        .show(ctx, |ui| {
            ui.set_max_width(420.0);
            for toast in model.toasts {
                egui::Frame::popup(ui.style()).show(ui, |ui| {
                    ui.horizontal(|ui| {
                        let (dot, _) =
                            ui.allocate_exact_size(egui::vec2(10.0, 10.0), egui::Sense::hover());
                        ui.painter().circle_filled(
                            dot.center(),
                            4.0,
                            theme::toast(ui.visuals(), toast.kind),
                        );
                        ui.add(egui::Label::new(&toast.text).wrap());
                        if ui.small_button("×").on_hover_text("Dismiss").clicked() {
                            cmds.push(Command::DismissToast(toast.id));
                        }
                    });
                });
            }
        });
}

#[cfg(test)]
mod tests {
    #[test]
    fn durations_read_naturally() {
        assert_eq!(super::human_duration(5), "5 s");
        assert_eq!(super::human_duration(95), "1 min 35 s");
        assert_eq!(super::human_duration(7260), "2 h 1 min");
    }
}
