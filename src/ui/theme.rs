//! The look: theme choice, zoom, spacing, and every literal colour the views use.

use egui::{Color32, Context, ThemePreference, Visuals};

use crate::app::{Settings, ThemeChoice, ToastKind};

/// Applies theme and zoom from the settings.
pub fn apply(ctx: &Context, settings: &Settings) {
    ctx.set_theme(match settings.theme {
        ThemeChoice::System => ThemePreference::System,
        ThemeChoice::Light => ThemePreference::Light,
        ThemeChoice::Dark => ThemePreference::Dark,
    });
    ctx.set_zoom_factor(settings.ui_scale);
    ctx.all_styles_mut(|style| {
        style.spacing.item_spacing = egui::vec2(8.0, 6.0);
        style.spacing.button_padding = egui::vec2(8.0, 4.0);
    });
}

/// Sightline's accent (selected tabs, progress).
pub fn accent(visuals: &Visuals) -> Color32 {
    if visuals.dark_mode {
        Color32::from_rgb(110, 168, 255)
    } else {
        Color32::from_rgb(28, 100, 210)
    }
}

/// Colour for fraud labels and errors.
pub fn danger(visuals: &Visuals) -> Color32 {
    if visuals.dark_mode {
        Color32::from_rgb(255, 120, 110)
    } else {
        Color32::from_rgb(190, 40, 30)
    }
}

/// Colour for legit labels and successes.
pub fn good(visuals: &Visuals) -> Color32 {
    if visuals.dark_mode {
        Color32::from_rgb(120, 210, 140)
    } else {
        Color32::from_rgb(30, 130, 60)
    }
}

/// Colour of a toast's marker.
pub fn toast(visuals: &Visuals, kind: ToastKind) -> Color32 {
    match kind {
        ToastKind::Info => accent(visuals),
        ToastKind::Success => good(visuals),
        ToastKind::Error => danger(visuals),
    }
}

/// Background of a thumbnail tile.
pub fn tile_fill(visuals: &Visuals) -> Color32 {
    if visuals.dark_mode {
        Color32::from_gray(38)
    } else {
        Color32::from_gray(246)
    }
}

/// Size of big numbers on summary cards, in points.
pub const STAT_SIZE: f32 = 22.0;
