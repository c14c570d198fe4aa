//! Product-image enhancement: operations, recipes, presets and quality metrics. No egui here.
//!
//! Layout: [`decode`] turns bytes into RGBA8 sRGB; [`ops`] holds the individual operations;
//! [`recipe`] is the serde description of an edit (stored beside an asset, never touching the
//! original) plus the built-in presets; [`render`] applies a recipe in a fixed order;
//! [`batch`] runs a recipe over many files; [`encode`] writes results; [`metrics`] scores
//! restorations against references.

pub mod batch;
pub mod decode;
pub mod encode;
pub mod metrics;
pub mod ops;
pub mod recipe;
pub mod render;

pub use batch::{BatchProgress, BatchSummary, OutputNaming, OutputSpec, enhance_files};
pub use decode::{DecodeError, DecodeLimits, decode, decode_file, thumbnail};
pub use encode::{EncodeError, OutputFormat};
pub use recipe::{Preset, Recipe, RecipeError};
pub use render::{ImagingError, RenderOptions, background_mask, render};
