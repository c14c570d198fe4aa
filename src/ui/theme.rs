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

/// Fonts: egui's defaults, with its monospace face as the last fallback of the proportional
/// family, so symbols the proportional face lacks (the arrows of "funds cycle A→B→C→A") get a
/// glyph instead of a box. Call once; fonts are rebuilt on every call.
pub fn install_fonts(ctx: &Context) {
    let mut fonts = egui::FontDefinitions::default();
    let mono = fonts
        .families
        .get(&egui::FontFamily::Monospace)
        .and_then(|f| f.first())
        .cloned();
    if let (Some(mono), Some(prop)) = (
        mono,
        fonts.families.get_mut(&egui::FontFamily::Proportional),
    ) && !prop.contains(&mono)
    {
        prop.push(mono);
    }
    ctx.set_fonts(fonts);
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

/// Behind the image on the asset page's canvas (neutral so colours are judged fairly).
pub fn canvas_backdrop(visuals: &Visuals) -> Color32 {
    if visuals.dark_mode {
        Color32::from_gray(28)
    } else {
        Color32::from_gray(214)
    }
}

/// The two squares of the transparency checkerboard.
pub fn checker(visuals: &Visuals) -> (Color32, Color32) {
    if visuals.dark_mode {
        (Color32::from_gray(60), Color32::from_gray(80))
    } else {
        (Color32::from_gray(235), Color32::from_gray(250))
    }
}

/// The before/after divider and its knob.
pub const SPLIT_LINE: Color32 = Color32::WHITE;
/// The knob's outline and arrows, and the shadow line beside the divider.
pub const SPLIT_SHADOW: Color32 = Color32::from_rgba_premultiplied(0, 0, 0, 110);

/// Background and text of the "Before" / "After" labels on the canvas.
pub const CANVAS_LABEL_BG: Color32 = Color32::from_rgba_premultiplied(0, 0, 0, 150);
/// Text on canvas labels.
pub const CANVAS_LABEL_TEXT: Color32 = Color32::WHITE;

/// Tint of the mask overlay (the backdrop the recipe will replace).
pub const MASK_TINT: Color32 = Color32::from_rgb(236, 64, 122);

/// Brush outline and in-progress stroke when adding to the product.
pub const BRUSH_ADD: Color32 = Color32::from_rgb(80, 220, 120);
/// Brush outline and in-progress stroke when removing from the product.
pub const BRUSH_REMOVE: Color32 = Color32::from_rgb(255, 90, 90);

/// Paper behind thumbnails in the grid (the photos' own backdrops read against it).
pub fn thumb_paper(visuals: &Visuals) -> Color32 {
    if visuals.dark_mode {
        Color32::from_gray(52)
    } else {
        Color32::WHITE
    }
}

/// The "Edited" badge on tiles whose photo has a saved recipe.
pub fn badge(visuals: &Visuals) -> (Color32, Color32) {
    (accent(visuals), Color32::WHITE)
}

/// Veil over the window while files are dragged over it.
pub fn drop_veil(visuals: &Visuals) -> Color32 {
    if visuals.dark_mode {
        Color32::from_rgba_premultiplied(10, 20, 40, 200)
    } else {
        Color32::from_rgba_premultiplied(230, 238, 250, 220)
    }
}

#[cfg(test)]
mod tests {
    use super::install_fonts;

    /// Whether the proportional font renders `c` after one frame of `ctx`.
    fn renders(ctx: &egui::Context, c: char) -> bool {
        let mut out = ctx.run_ui(egui::RawInput::default(), |_| {});
        out.textures_delta.clear(); // no renderer here to take the font atlas
        ctx.fonts_mut(|f| f.has_glyph(&egui::FontId::proportional(14.0), c))
    }

    #[test]
    fn cycle_arrows_have_a_glyph() {
        let plain = egui::Context::default();
        assert!(
            !renders(&plain, '→'),
            "egui's default proportional face gained the arrow"
        );
        let ctx = egui::Context::default();
        install_fonts(&ctx);
        assert!(renders(&ctx, '→'));
        assert!(renders(&ctx, 'A'));
    }
}
