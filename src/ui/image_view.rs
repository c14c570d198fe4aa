//! The asset page's canvas: before/after with a split slider, or the original with the
//! product mask and a brush. Zoom (fit, 100 %, wheel about the pointer) and pan (drag, or
//! right/middle drag in mask mode) are the canvas's own transform: content pixels are mapped
//! to screen points by `scale` and the content point at the canvas centre.

use egui::{Color32, Pos2, Rect, Sense, Stroke, Vec2, pos2, vec2};

use crate::app::Command;
use crate::app::library::page::preview_side_for;
use crate::app::library::{
    AssetPage, CanvasDrag, CanvasInput, LibraryCommand, PageCommand, PageMode,
};
use crate::imaging::ops::background::{BackgroundFill, BrushMode, BrushStroke};

use super::theme;

/// Largest zoom, in screen pixels per image pixel.
const MAX_ZOOM: f32 = 8.0;
/// How close to the divider (points) a drag grabs it instead of panning.
const SPLIT_GRAB_PT: f32 = 14.0;

fn page(cmd: PageCommand) -> Command {
    Command::Library(LibraryCommand::Page(cmd))
}

const FULL_UV: Rect = Rect::from_min_max(Pos2::ZERO, pos2(1.0, 1.0));

/// Draws the canvas and handles zoom, pan, the split and the brush.
pub fn canvas_ui(
    ui: &mut egui::Ui,
    p: &AssetPage,
    canvas: &mut CanvasInput,
    cmds: &mut Vec<Command>,
) {
    let (rect, response) = ui.allocate_exact_size(ui.available_size(), Sense::click_and_drag());
    let label = match p.mode {
        PageMode::Compare => "Before and after canvas",
        PageMode::Mask => "Mask brush canvas",
    };
    response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Image, true, label));
    let ppp = ui.ctx().pixels_per_point();
    let side = preview_side_for(rect.width().max(rect.height()) * ppp);
    if side != p.preview_side_px {
        cmds.push(page(PageCommand::Viewport(side)));
    }

    let mask_mode = p.mode == PageMode::Mask;
    let [cw, ch] = if mask_mode {
        p.original_size_px()
    } else {
        p.output_size_px()
    };
    let content = vec2(cw as f32, ch as f32);
    let fit = (rect.width() / content.x).min(rect.height() / content.y) * 0.95;
    if canvas.zoom.is_none() {
        canvas.center = [0.5, 0.5];
    }
    let mut scale = canvas.zoom.unwrap_or(fit);

    // Wheel (and pinch / Ctrl+wheel) zooms about the pointer.
    if let Some(pointer) = response.hover_pos() {
        let (scroll, pinch) = ui.input(|i| (i.smooth_scroll_delta.y, i.zoom_delta()));
        let factor = pinch * (scroll * 0.0025).exp();
        if (factor - 1.0).abs() > 1e-4 {
            let min = fit.min(1.0 / ppp) * 0.5;
            let new_scale = (scale * factor).clamp(min, MAX_ZOOM / ppp);
            let image_min = origin(rect, canvas, content, scale);
            let at = (pointer - image_min) / scale;
            let new_min = pointer - at * new_scale;
            canvas.center = [
                (rect.center().x - new_min.x) / (content.x * new_scale),
                (rect.center().y - new_min.y) / (content.y * new_scale),
            ];
            scale = new_scale;
            canvas.zoom = Some(new_scale);
        }
    }
    let image_rect = Rect::from_min_size(origin(rect, canvas, content, scale), content * scale);
    canvas.shown_zoom_pct = scale * ppp * 100.0;
    let split_x = image_rect.left() + canvas.split.clamp(0.0, 1.0) * image_rect.width();

    handle_drag(
        ui, &response, p, canvas, rect, image_rect, content, split_x, fit, cmds,
    );

    let painter = ui.painter_at(rect);
    painter.rect_filled(rect, 0.0, theme::canvas_backdrop(ui.visuals()));
    if transparent_result(p) && !mask_mode {
        checkerboard(&painter, image_rect.intersect(rect), ui.visuals());
    }
    if mask_mode {
        paint_mask_view(
            ui, &painter, p, canvas, image_rect, content, scale, &response,
        );
    } else {
        paint_compare(ui, &painter, p, canvas, rect, image_rect);
        // Past the preview's resolution, ask for the full-size render (once).
        if let Some(preview) = &p.preview {
            let preview_w = preview.texture.size()[0] as f32;
            if image_rect.width() * ppp > preview_w * 1.25
                && p.current_full().is_none()
                && p.full_job.is_none()
                && p.preview_current()
            {
                cmds.push(page(PageCommand::RenderFull));
            }
        }
    }
    if !p.is_loaded() {
        egui::Spinner::new().paint_at(ui, Rect::from_center_size(rect.center(), vec2(32.0, 32.0)));
    }
}

/// Screen position of the content's top-left corner.
fn origin(rect: Rect, canvas: &CanvasInput, content: Vec2, scale: f32) -> Pos2 {
    rect.center()
        - vec2(
            canvas.center[0] * content.x * scale,
            canvas.center[1] * content.y * scale,
        )
}

fn transparent_result(p: &AssetPage) -> bool {
    p.recipe
        .background
        .is_some_and(|b| b.fill == BackgroundFill::Transparent)
}

#[expect(clippy::too_many_arguments)]
fn handle_drag(
    ui: &egui::Ui,
    response: &egui::Response,
    p: &AssetPage,
    canvas: &mut CanvasInput,
    rect: Rect,
    image_rect: Rect,
    content: Vec2,
    split_x: f32,
    fit: f32,
    cmds: &mut Vec<Command>,
) {
    let mask_mode = p.mode == PageMode::Mask;
    let normalised = |pos: Pos2| {
        let v = (pos - image_rect.min) / image_rect.size();
        [v.x.clamp(0.0, 1.0), v.y.clamp(0.0, 1.0)]
    };
    if response.drag_started() {
        let start = ui
            .input(|i| i.pointer.press_origin())
            .or(response.interact_pointer_pos())
            .unwrap_or(rect.center());
        let primary = response.dragged_by(egui::PointerButton::Primary);
        canvas.drag = if !primary {
            CanvasDrag::Pan
        } else if mask_mode {
            canvas.stroke = vec![normalised(start)];
            CanvasDrag::Brush
        } else if (start.x - split_x).abs() <= SPLIT_GRAB_PT {
            CanvasDrag::Split
        } else {
            CanvasDrag::Pan
        };
    }
    if response.dragged() {
        let pos = response.interact_pointer_pos();
        match canvas.drag {
            CanvasDrag::Split => {
                if let Some(pos) = pos {
                    canvas.split =
                        ((pos.x - image_rect.left()) / image_rect.width().max(1.0)).clamp(0.0, 1.0);
                }
            }
            CanvasDrag::Pan => {
                let scale = image_rect.width() / content.x;
                if canvas.zoom.is_none() {
                    canvas.zoom = Some(fit);
                }
                let d = response.drag_delta();
                canvas.center[0] -= d.x / (content.x * scale);
                canvas.center[1] -= d.y / (content.y * scale);
            }
            CanvasDrag::Brush => {
                if let Some(pos) = pos {
                    let n = normalised(pos);
                    let far_enough = canvas.stroke.last().is_none_or(|last| {
                        let (dx, dy) = (last[0] - n[0], last[1] - n[1]);
                        (dx * dx + dy * dy).sqrt() > canvas.brush_radius_frac * 0.25
                    });
                    if far_enough {
                        canvas.stroke.push(n);
                    }
                }
            }
            CanvasDrag::None => {}
        }
    }
    if response.drag_stopped() {
        if canvas.drag == CanvasDrag::Brush {
            finish_stroke(canvas, content, cmds);
        }
        canvas.drag = CanvasDrag::None;
    }
    if response.clicked()
        && let Some(pos) = response.interact_pointer_pos()
    {
        if mask_mode {
            canvas.stroke = vec![normalised(pos)];
            finish_stroke(canvas, content, cmds);
        } else {
            canvas.split =
                ((pos.x - image_rect.left()) / image_rect.width().max(1.0)).clamp(0.0, 1.0);
        }
    }
}

fn finish_stroke(canvas: &mut CanvasInput, content: Vec2, cmds: &mut Vec<Command>) {
    let points = std::mem::take(&mut canvas.stroke);
    if points.is_empty() || content.x <= 0.0 {
        return;
    }
    cmds.push(page(PageCommand::AddStroke(BrushStroke {
        points,
        radius_frac: canvas.brush_radius_frac.clamp(0.002, 0.5),
        mode: canvas.brush_mode,
    })));
}

fn paint_compare(
    ui: &egui::Ui,
    painter: &egui::Painter,
    p: &AssetPage,
    canvas: &CanvasInput,
    rect: Rect,
    image_rect: Rect,
) {
    let after = p
        .current_full()
        .or(p.preview.as_ref())
        .map(|s| s.texture.id());
    let before = if p.recipe.frame.is_some() {
        p.before.as_ref().map(|s| s.texture.id())
    } else {
        p.original_texture.as_ref().map(|t| t.id())
    };
    let split = canvas.split.clamp(0.0, 1.0);
    let split_x = image_rect.left() + split * image_rect.width();
    if let Some(before) = before {
        let r = Rect::from_min_max(image_rect.min, pos2(split_x, image_rect.max.y));
        let uv = Rect::from_min_max(Pos2::ZERO, pos2(split, 1.0));
        painter.image(before, r, uv, Color32::WHITE);
    }
    if let Some(after) = after {
        let r = Rect::from_min_max(pos2(split_x, image_rect.min.y), image_rect.max);
        let uv = Rect::from_min_max(pos2(split, 0.0), pos2(1.0, 1.0));
        painter.image(after, r, uv, Color32::WHITE);
    }
    let visible = image_rect.intersect(rect);
    if split_x < visible.left() - 1.0 || split_x > visible.right() + 1.0 {
        return;
    }
    // The divider: a white line with a soft shadow, and a round knob with arrows.
    let top = visible.top();
    let bottom = visible.bottom();
    painter.line_segment(
        [pos2(split_x + 1.5, top), pos2(split_x + 1.5, bottom)],
        Stroke::new(2.0, theme::SPLIT_SHADOW),
    );
    painter.line_segment(
        [pos2(split_x, top), pos2(split_x, bottom)],
        Stroke::new(2.0, theme::SPLIT_LINE),
    );
    let knob = pos2(split_x, visible.center().y);
    painter.circle(
        knob,
        15.0,
        theme::SPLIT_LINE,
        Stroke::new(1.0, theme::SPLIT_SHADOW),
    );
    for dir in [-1.0f32, 1.0] {
        let tip = knob + vec2(dir * 10.0, 0.0);
        let back = knob + vec2(dir * 4.0, 0.0);
        painter.add(egui::Shape::convex_polygon(
            vec![tip, back + vec2(0.0, -5.0), back + vec2(0.0, 5.0)],
            theme::SPLIT_SHADOW,
            Stroke::NONE,
        ));
    }
    let font = egui::FontId::proportional(13.0);
    if split > 0.08 {
        label(
            painter,
            pos2(visible.left().max(image_rect.left()) + 10.0, top + 10.0),
            "Before",
            &font,
            false,
        );
    }
    if split < 0.92 {
        label(
            painter,
            pos2(visible.right().min(image_rect.right()) - 10.0, top + 10.0),
            "After",
            &font,
            true,
        );
    }
    let _ = ui;
}

/// A small pill with text, anchored at its top-left (or top-right when `right`).
fn label(painter: &egui::Painter, at: Pos2, text: &str, font: &egui::FontId, right: bool) {
    let galley = painter.layout_no_wrap(text.to_string(), font.clone(), theme::CANVAS_LABEL_TEXT);
    let size = galley.size() + vec2(16.0, 8.0);
    let min = if right { at - vec2(size.x, 0.0) } else { at };
    let r = Rect::from_min_size(min, size);
    painter.rect_filled(r, 10.0, theme::CANVAS_LABEL_BG);
    painter.galley(r.min + vec2(8.0, 4.0), galley, theme::CANVAS_LABEL_TEXT);
}

#[expect(clippy::too_many_arguments)]
fn paint_mask_view(
    ui: &egui::Ui,
    painter: &egui::Painter,
    p: &AssetPage,
    canvas: &CanvasInput,
    image_rect: Rect,
    content: Vec2,
    scale: f32,
    response: &egui::Response,
) {
    if let Some(tex) = &p.original_texture {
        painter.image(tex.id(), image_rect, FULL_UV, Color32::WHITE);
    }
    if let Some(mask) = &p.mask {
        painter.image(mask.texture.id(), image_rect, FULL_UV, theme::MASK_TINT);
    }
    let colour = match canvas.brush_mode {
        BrushMode::Add => theme::BRUSH_ADD,
        BrushMode::Remove => theme::BRUSH_REMOVE,
    };
    let radius = canvas.brush_radius_frac * content.x.min(content.y) * scale;
    let to_screen = |n: &[f32; 2]| image_rect.min + vec2(n[0], n[1]) * image_rect.size();
    if !canvas.stroke.is_empty() {
        let fill = colour.gamma_multiply(0.45);
        let points: Vec<Pos2> = canvas.stroke.iter().map(to_screen).collect();
        for w in points.windows(2) {
            painter.line_segment([w[0], w[1]], Stroke::new(radius * 2.0, fill));
        }
        for pt in &points {
            painter.circle_filled(*pt, radius, fill);
        }
    }
    if let Some(pos) = response.hover_pos() {
        painter.circle_stroke(pos, radius, Stroke::new(1.5, colour));
        painter.circle_stroke(pos, radius + 1.5, Stroke::new(1.0, theme::SPLIT_SHADOW));
        ui.ctx().set_cursor_icon(egui::CursorIcon::Crosshair);
    }
    let font = egui::FontId::proportional(13.0);
    let hint = match canvas.brush_mode {
        BrushMode::Add => "Paint over parts of the product the cut-out missed",
        BrushMode::Remove => "Paint over backdrop the cut-out kept",
    };
    label(
        painter,
        image_rect.intersect(response.rect).min + vec2(10.0, 10.0),
        hint,
        &font,
        false,
    );
}

fn checkerboard(painter: &egui::Painter, area: Rect, visuals: &egui::Visuals) {
    if !area.is_positive() {
        return;
    }
    let (a, b) = theme::checker(visuals);
    painter.rect_filled(area, 0.0, a);
    let cell = 12.0;
    let cols = (area.width() / cell).ceil() as usize;
    let rows = (area.height() / cell).ceil() as usize;
    if cols * rows > 20_000 {
        return;
    }
    for r in 0..rows {
        for c in ((r % 2)..cols).step_by(2) {
            let min = area.min + vec2(c as f32 * cell, r as f32 * cell);
            let cell_rect = Rect::from_min_size(min, vec2(cell, cell)).intersect(area);
            painter.rect_filled(cell_rect, 0.0, b);
        }
    }
}
