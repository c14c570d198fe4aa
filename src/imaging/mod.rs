//! Product-image enhancement: operations, recipes, presets and quality metrics. No egui here.
