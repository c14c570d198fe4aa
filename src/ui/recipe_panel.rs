//! The recipe panel: presets and saved recipes, every operation with a checkbox and its
//! parameters, and the page's actions (save, render, export, apply to many). Every change is
//! sent as a whole new recipe with the name of the parameter, so the app can merge one
//! slider drag into one undo step.

use crate::app::library::{
    AssetPage, BatchScope, LibraryCommand, LibraryDialog, PageCommand, PageMode,
};
use crate::app::{Command, LibraryState};
use crate::imaging::ops::background::{Background, BackgroundFill};
use crate::imaging::ops::denoise::Denoise;
use crate::imaging::ops::frame::{Frame, Shadow};
use crate::imaging::ops::levels::Levels;
use crate::imaging::ops::resize::{ResizeFilter, Upscale, UpscaleSize};
use crate::imaging::ops::sharpen::Sharpen;
use crate::imaging::ops::white_balance::{WhiteBalance, WhiteBalanceMethod};
use crate::imaging::{Preset, Recipe};

fn page(cmd: PageCommand) -> Command {
    Command::Library(LibraryCommand::Page(cmd))
}

/// What changed this frame, if anything.
type Changed = Option<String>;

/// Draws the recipe panel.
pub fn recipe_panel_ui(
    ui: &mut egui::Ui,
    lib: &LibraryState,
    p: &AssetPage,
    cmds: &mut Vec<Command>,
) {
    egui::ScrollArea::vertical()
        .auto_shrink(false)
        .show(ui, |ui| {
            ui.add_space(6.0);
            ui.horizontal(|ui| {
                ui.heading("Recipe");
                ui.weak(recipe_title(lib, &p.recipe));
            });
            presets_ui(ui, lib, p, cmds);
            ui.separator();
            let mut r = p.recipe.clone();
            let mut changed: Changed = None;
            ui.add_enabled_ui(p.is_loaded(), |ui| {
                operations_ui(ui, &mut r, &mut changed);
                mask_edits_ui(ui, p, &mut r, &mut changed, cmds);
            });
            if let Some(what) = changed {
                cmds.push(page(PageCommand::Edit {
                    recipe: Box::new(r),
                    what,
                }));
            }
            ui.separator();
            actions_ui(ui, lib, p, cmds);
        });
}

/// "marketplace-square", "marketplace-square (edited)", a saved name, or "No edits".
fn recipe_title(lib: &LibraryState, r: &Recipe) -> String {
    if *r == Recipe::default() {
        return "No edits".into();
    }
    let matches = |other: &Recipe| {
        let mut a = r.clone();
        a.name.clear();
        let mut b = other.clone();
        b.name.clear();
        a == b
    };
    if let Some(p) = Preset::ALL.iter().find(|p| matches(&p.recipe())) {
        return p.name().into();
    }
    if let Some((name, _)) = lib.named.iter().find(|(_, n)| matches(n)) {
        return name.clone();
    }
    if r.name.is_empty() {
        "Custom".into()
    } else {
        format!("{} (edited)", r.name)
    }
}

fn presets_ui(ui: &mut egui::Ui, lib: &LibraryState, p: &AssetPage, cmds: &mut Vec<Command>) {
    ui.label("Presets");
    ui.horizontal_wrapped(|ui| {
        for preset in Preset::ALL {
            let on = p.recipe == preset.recipe();
            let button = ui
                .add_enabled(p.is_loaded(), egui::Button::selectable(on, preset.name()))
                .on_hover_text(preset_hint(preset));
            if button.clicked() {
                cmds.push(page(PageCommand::Edit {
                    recipe: Box::new(preset.recipe()),
                    what: format!("preset {}", preset.name()),
                }));
            }
        }
        if ui
            .add_enabled(p.recipe != Recipe::default(), egui::Button::new("Reset"))
            .on_hover_text("Back to the original (no operations)")
            .clicked()
        {
            cmds.push(page(PageCommand::Edit {
                recipe: Box::new(Recipe::default()),
                what: "reset".into(),
            }));
        }
    });
    if !lib.named.is_empty() {
        ui.label("Saved recipes");
        for (name, recipe) in &lib.named {
            ui.horizontal(|ui| {
                let on = p.recipe == *recipe;
                if ui
                    .add_enabled(p.is_loaded(), egui::Button::selectable(on, name))
                    .clicked()
                {
                    cmds.push(page(PageCommand::Edit {
                        recipe: Box::new(recipe.clone()),
                        what: format!("recipe {name}"),
                    }));
                }
                if ui
                    .small_button("Delete")
                    .on_hover_text(format!("Delete the saved recipe {name:?}"))
                    .clicked()
                {
                    cmds.push(page(PageCommand::DeleteNamed(name.clone())));
                }
            });
        }
    }
}

fn preset_hint(preset: Preset) -> &'static str {
    match preset {
        Preset::Restore2x => "Colour, tone and noise fixed, then 2× upscale with gentle sharpening",
        Preset::MarketplaceSquare => "Clean white backdrop, product centred on a 2000 px square",
        Preset::Clean => "Colour, tone, noise and a white backdrop; keeps the framing",
        Preset::Banner => "White backdrop on a 16:9 banner with a soft contact shadow",
    }
}

/// A checkbox that switches an operation on (with its defaults) or off; returns whether on.
fn toggle<T: Clone>(
    ui: &mut egui::Ui,
    slot: &mut Option<T>,
    label: &str,
    hint: &str,
    default: impl FnOnce() -> T,
    key: &str,
    changed: &mut Changed,
) -> bool {
    let mut on = slot.is_some();
    if ui.checkbox(&mut on, label).on_hover_text(hint).changed() {
        *slot = if on { Some(default()) } else { None };
        *changed = Some(key.to_string());
    }
    on
}

fn slider(
    ui: &mut egui::Ui,
    value: &mut f32,
    range: std::ops::RangeInclusive<f32>,
    label: &str,
    key: &str,
    changed: &mut Changed,
) {
    ui.horizontal(|ui| {
        ui.add_space(18.0);
        let response = ui.add(egui::Slider::new(value, range).text(label).max_decimals(2));
        if response.changed() {
            *changed = Some(key.to_string());
        }
    });
}

fn operations_ui(ui: &mut egui::Ui, r: &mut Recipe, changed: &mut Changed) {
    ui.spacing_mut().slider_width = 150.0;

    toggle(
        ui,
        &mut r.white_balance,
        "White balance",
        "Remove colour casts",
        WhiteBalance::default,
        "white_balance",
        changed,
    );
    if let Some(wb) = &mut r.white_balance {
        ui.horizontal(|ui| {
            ui.add_space(18.0);
            let methods = [
                (WhiteBalanceMethod::Auto, "Auto"),
                (WhiteBalanceMethod::WhitePatch, "White patch"),
                (WhiteBalanceMethod::GreyEdge, "Grey edge"),
                (WhiteBalanceMethod::GreyWorld, "Grey world"),
            ];
            let current = methods
                .iter()
                .find(|(m, _)| *m == wb.method)
                .map_or("Manual", |(_, n)| n);
            egui::ComboBox::from_id_salt("wb_method")
                .selected_text(current)
                .show_ui(ui, |ui| {
                    for (m, name) in methods {
                        if ui.selectable_label(wb.method == m, name).clicked() {
                            wb.method = m;
                            *changed = Some("white_balance.method".into());
                        }
                    }
                });
            ui.label("method");
        });
        slider(
            ui,
            &mut wb.strength,
            0.0..=1.0,
            "strength",
            "white_balance.strength",
            changed,
        );
    }

    toggle(
        ui,
        &mut r.levels,
        "Levels",
        "Stretch a flat, washed-out capture",
        Levels::default,
        "levels",
        changed,
    );
    if let Some(l) = &mut r.levels {
        slider(
            ui,
            &mut l.clip_dark_pct,
            0.0..=2.0,
            "clip darks %",
            "levels.clip_dark_pct",
            changed,
        );
        slider(
            ui,
            &mut l.clip_light_pct,
            0.0..=2.0,
            "clip lights %",
            "levels.clip_light_pct",
            changed,
        );
        ui.horizontal(|ui| {
            ui.add_space(18.0);
            if ui
                .checkbox(&mut l.require_both_ends, "only flat captures")
                .on_hover_text("Act only when both blacks and whites are compressed")
                .changed()
            {
                *changed = Some("levels.require_both_ends".into());
            }
        });
    }

    toggle(
        ui,
        &mut r.denoise,
        "Denoise",
        "Edge-preserving noise removal",
        Denoise::default,
        "denoise",
        changed,
    );
    if let Some(d) = &mut r.denoise {
        slider(
            ui,
            &mut d.strength,
            0.0..=2.0,
            "strength",
            "denoise.strength",
            changed,
        );
    }

    toggle(
        ui,
        &mut r.upscale,
        "Upscale",
        "Enlarge (restores small photos)",
        Upscale::default,
        "upscale",
        changed,
    );
    if let Some(u) = &mut r.upscale {
        let mut factor = match u.size {
            UpscaleSize::Factor { factor } => factor,
            UpscaleSize::Fit { .. } => 2.0,
        };
        ui.horizontal(|ui| {
            ui.add_space(18.0);
            if ui
                .add(
                    egui::Slider::new(&mut factor, 1.0..=4.0)
                        .step_by(0.5)
                        .suffix("×")
                        .text("factor"),
                )
                .changed()
            {
                u.size = UpscaleSize::Factor { factor };
                *changed = Some("upscale.factor".into());
            }
        });
        ui.horizontal(|ui| {
            ui.add_space(18.0);
            for (f, name) in [
                (ResizeFilter::Lanczos3, "Sharp"),
                (ResizeFilter::CatmullRom, "Soft"),
            ] {
                if ui.selectable_label(u.filter == f, name).clicked() && u.filter != f {
                    u.filter = f;
                    *changed = Some("upscale.filter".into());
                }
            }
        });
    }

    toggle(
        ui,
        &mut r.background,
        "Background",
        "Replace the backdrop behind the product",
        Background::default,
        "background",
        changed,
    );
    if let Some(b) = &mut r.background {
        ui.horizontal(|ui| {
            ui.add_space(18.0);
            for (fill, name) in [
                (BackgroundFill::White, "White"),
                (BackgroundFill::Transparent, "Transparent"),
            ] {
                if ui.selectable_label(b.fill == fill, name).clicked() && b.fill != fill {
                    b.fill = fill;
                    *changed = Some("background.fill".into());
                }
            }
            let mut rgb = match b.fill {
                BackgroundFill::Colour { rgb } => rgb,
                _ => [240, 236, 228],
            };
            let is_colour = matches!(b.fill, BackgroundFill::Colour { .. });
            if ui.selectable_label(is_colour, "Colour").clicked() && !is_colour {
                b.fill = BackgroundFill::Colour { rgb };
                *changed = Some("background.fill".into());
            }
            if is_colour && ui.color_edit_button_srgb(&mut rgb).changed() {
                b.fill = BackgroundFill::Colour { rgb };
                *changed = Some("background.colour".into());
            }
        });
        slider(
            ui,
            &mut b.feather_px,
            0.0..=4.0,
            "edge feather px",
            "background.feather_px",
            changed,
        );
        slider(
            ui,
            &mut b.sensitivity,
            0.5..=2.0,
            "detail kept",
            "background.sensitivity",
            changed,
        );
    }

    toggle(
        ui,
        &mut r.sharpen,
        "Sharpen",
        "Unsharp mask, weighted to the product",
        Sharpen::default,
        "sharpen",
        changed,
    );
    if let Some(s) = &mut r.sharpen {
        slider(
            ui,
            &mut s.amount,
            0.0..=2.0,
            "amount",
            "sharpen.amount",
            changed,
        );
        slider(
            ui,
            &mut s.radius_px,
            0.3..=3.0,
            "radius px",
            "sharpen.radius_px",
            changed,
        );
        slider(
            ui,
            &mut s.threshold_levels,
            0.0..=10.0,
            "threshold",
            "sharpen.threshold_levels",
            changed,
        );
    }

    toggle(
        ui,
        &mut r.frame,
        "Frame",
        "Centre the product on a fixed canvas",
        Frame::square_2000,
        "frame",
        changed,
    );
    if let Some(f) = &mut r.frame {
        ui.horizontal(|ui| {
            ui.add_space(18.0);
            for (spec, name) in [
                (Frame::square_2000(), "Square"),
                (Frame::portrait_4x5(), "4:5"),
                (Frame::banner_16x9(), "16:9"),
            ] {
                let on = (f.width_px, f.height_px) == (spec.width_px, spec.height_px);
                if ui
                    .selectable_label(on, name)
                    .on_hover_text(format!("{} × {} px", spec.width_px, spec.height_px))
                    .clicked()
                    && !on
                {
                    f.width_px = spec.width_px;
                    f.height_px = spec.height_px;
                    *changed = Some("frame.size".into());
                }
            }
        });
        slider(
            ui,
            &mut f.fill_frac,
            0.5..=1.0,
            "product fills",
            "frame.fill_frac",
            changed,
        );
        let mut shadow = f.shadow.is_some();
        ui.horizontal(|ui| {
            ui.add_space(18.0);
            if ui.checkbox(&mut shadow, "contact shadow").changed() {
                f.shadow = shadow.then(Shadow::default);
                *changed = Some("frame.shadow".into());
            }
        });
        if let Some(s) = &mut f.shadow {
            slider(
                ui,
                &mut s.opacity,
                0.0..=0.8,
                "shadow",
                "frame.shadow.opacity",
                changed,
            );
        }
    }
}

fn mask_edits_ui(
    ui: &mut egui::Ui,
    p: &AssetPage,
    r: &mut Recipe,
    changed: &mut Changed,
    cmds: &mut Vec<Command>,
) {
    ui.add_space(4.0);
    ui.horizontal(|ui| {
        let n = r.mask_edits.len();
        ui.label(format!(
            "Mask corrections: {n} stroke{}",
            if n == 1 { "" } else { "s" }
        ));
        if p.mode != PageMode::Mask && ui.small_button("Edit mask…").clicked() {
            cmds.push(page(PageCommand::Mode(PageMode::Mask)));
        }
        if n > 0 && ui.small_button("Clear").clicked() {
            r.mask_edits.clear();
            *changed = Some("mask_edits.clear".into());
        }
    });
}

fn actions_ui(ui: &mut egui::Ui, lib: &LibraryState, p: &AssetPage, cmds: &mut Vec<Command>) {
    let loaded = p.is_loaded();
    ui.add_enabled_ui(loaded, |ui| {
        ui.horizontal_wrapped(|ui| {
            if ui
                .add_enabled(p.unsaved(), egui::Button::new("Save recipe to asset"))
                .on_hover_text("Store the recipe with this photo; the original never changes")
                .clicked()
            {
                cmds.push(page(PageCommand::SaveToAsset));
            }
            if ui.button("Save as named recipe…").clicked() {
                cmds.push(Command::Library(LibraryCommand::ShowDialog(Some(
                    LibraryDialog::SaveNamed,
                ))));
            }
        });
        ui.horizontal_wrapped(|ui| {
            let rendering = p.full_job.is_some();
            if ui
                .add_enabled(
                    !rendering && p.current_full().is_none(),
                    egui::Button::new("Render full size"),
                )
                .on_hover_text("Render at full resolution in the background (cached)")
                .clicked()
            {
                cmds.push(page(PageCommand::RenderFull));
            }
            if ui
                .button("Export…")
                .on_hover_text("Write the full-size result as PNG, JPEG or WebP")
                .clicked()
            {
                cmds.push(page(PageCommand::PickExport));
            }
        });
    });
    ui.add_space(4.0);
    ui.horizontal_wrapped(|ui| {
        let selected = lib.selection.len();
        if ui
            .add_enabled(
                selected > 0,
                egui::Button::new(format!("Apply to selection ({selected})…")),
            )
            .clicked()
        {
            cmds.push(Command::Library(LibraryCommand::ShowDialog(Some(
                LibraryDialog::Apply(BatchScope::Selection),
            ))));
        }
        if ui.button("Apply to whole library…").clicked() {
            cmds.push(Command::Library(LibraryCommand::ShowDialog(Some(
                LibraryDialog::Apply(BatchScope::Library),
            ))));
        }
    });
}
