//! Recipes: the serde (JSON) description of a non-destructive edit, stored beside an asset,
//! and the built-in presets.
//!
//! A recipe lists which operations run and with what parameters; the order is fixed by
//! [`crate::imaging::render`] (colour, tone and noise first, then resampling, then background
//! before sharpening, then framing), so a recipe cannot ask for an order that creates halos.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::ops::background::{Background, BackgroundFill, BrushStroke};
use super::ops::denoise::Denoise;
use super::ops::frame::{Frame, Shadow};
use super::ops::levels::Levels;
use super::ops::resize::{Upscale, UpscaleSize};
use super::ops::sharpen::Sharpen;
use super::ops::white_balance::WhiteBalance;

/// The recipe format version this build writes and reads.
pub const RECIPE_VERSION: u32 = 1;

/// A non-destructive edit. Absent operations do not run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Recipe {
    /// Format version; see [`RECIPE_VERSION`].
    pub version: u32,
    /// Display name (a preset's name, or the user's).
    pub name: String,
    /// Colour-cast removal.
    pub white_balance: Option<WhiteBalance>,
    /// Auto levels on luminance.
    pub levels: Option<Levels>,
    /// Edge-preserving denoise.
    pub denoise: Option<Denoise>,
    /// Upscale.
    pub upscale: Option<Upscale>,
    /// Background cleanup.
    pub background: Option<Background>,
    /// Unsharp mask.
    pub sharpen: Option<Sharpen>,
    /// Crop/pad to a canvas.
    pub frame: Option<Frame>,
    /// User corrections to the automatic product mask, applied in order.
    pub mask_edits: Vec<BrushStroke>,
}

impl Default for Recipe {
    fn default() -> Self {
        Self {
            version: RECIPE_VERSION,
            name: String::new(),
            white_balance: None,
            levels: None,
            denoise: None,
            upscale: None,
            background: None,
            sharpen: None,
            frame: None,
            mask_edits: Vec::new(),
        }
    }
}

/// Why a recipe could not be loaded or used.
#[derive(Debug, thiserror::Error)]
pub enum RecipeError {
    /// The JSON did not parse or had unknown fields.
    #[error(
        "recipe {origin} is not valid recipe JSON: {source}; fix the named field or re-export the recipe"
    )]
    Parse {
        /// File path or "(inline)".
        origin: String,
        /// serde's message (with line and column).
        #[source]
        source: serde_json::Error,
    },
    /// The file could not be read or written.
    #[error("could not access recipe file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// Written by a newer Sightline.
    #[error(
        "recipe {origin} has format version {found}, but this build reads up to {RECIPE_VERSION}; update Sightline"
    )]
    UnsupportedVersion {
        /// File path or "(inline)".
        origin: String,
        /// The version in the file.
        found: u32,
    },
    /// A parameter is out of range.
    #[error("recipe {origin}: {field} = {value} is out of range ({expected})")]
    Invalid {
        /// File path or "(inline)".
        origin: String,
        /// The parameter.
        field: &'static str,
        /// Its value.
        value: String,
        /// The accepted range.
        expected: &'static str,
    },
    /// No preset by that name.
    #[error("no preset named {name:?}; choose one of {}", Preset::names().join(", "))]
    UnknownPreset {
        /// The requested name.
        name: String,
    },
}

/// Built-in recipes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Preset {
    /// White balance, levels, denoise, 2× upscale, sharpen; no crop or background.
    Restore2x,
    /// Clean backdrop to white and place on a 2000 px square filling 85 %.
    MarketplaceSquare,
    /// Colour, tone, denoise, white backdrop, sharpen; keeps the framing.
    Clean,
    /// White backdrop on a 16:9 banner with a soft contact shadow.
    Banner,
}

impl Preset {
    /// Every preset, in menu order.
    pub const ALL: [Preset; 4] = [
        Preset::Restore2x,
        Preset::MarketplaceSquare,
        Preset::Clean,
        Preset::Banner,
    ];

    /// The preset's stable name (used in CLI flags and stored recipes).
    pub fn name(self) -> &'static str {
        match self {
            Self::Restore2x => "restore-2x",
            Self::MarketplaceSquare => "marketplace-square",
            Self::Clean => "clean",
            Self::Banner => "banner",
        }
    }

    /// All preset names.
    pub fn names() -> Vec<&'static str> {
        Self::ALL.iter().map(|p| p.name()).collect()
    }

    /// Looks a preset up by name.
    pub fn from_name(name: &str) -> Result<Self, RecipeError> {
        Self::ALL
            .into_iter()
            .find(|p| p.name() == name)
            .ok_or_else(|| RecipeError::UnknownPreset {
                name: name.to_owned(),
            })
    }

    /// The preset's recipe.
    pub fn recipe(self) -> Recipe {
        let base = Recipe {
            name: self.name().to_owned(),
            white_balance: Some(WhiteBalance::default()),
            levels: Some(Levels::default()),
            denoise: Some(Denoise::default()),
            ..Recipe::default()
        };
        let product_sharpen = Sharpen {
            amount: 0.5,
            radius_px: 1.0,
            threshold_levels: 4.0,
        };
        match self {
            Self::Restore2x => Recipe {
                upscale: Some(Upscale {
                    size: UpscaleSize::Factor { factor: 2.0 },
                    ..Upscale::default()
                }),
                sharpen: Some(restore_sharpen()),
                ..base
            },
            Self::MarketplaceSquare => Recipe {
                background: Some(Background::default()),
                sharpen: Some(product_sharpen),
                frame: Some(Frame::square_2000()),
                ..base
            },
            Self::Clean => Recipe {
                background: Some(Background::default()),
                sharpen: Some(product_sharpen),
                ..base
            },
            Self::Banner => Recipe {
                background: Some(Background {
                    fill: BackgroundFill::White,
                    ..Background::default()
                }),
                sharpen: Some(product_sharpen),
                frame: Some(Frame {
                    shadow: Some(Shadow::default()),
                    ..Frame::banner_16x9()
                }),
                ..base
            },
        }
    }
}

/// The sharpening used after a 2× upscale: gentle, with a threshold above JPEG and residual
/// noise, since strong sharpening of a restored image lowers fidelity.
fn restore_sharpen() -> Sharpen {
    Sharpen {
        amount: 0.2,
        radius_px: 1.0,
        threshold_levels: 2.0,
    }
}

impl Recipe {
    /// Parses a recipe from JSON and validates it.
    pub fn from_json(json: &str) -> Result<Self, RecipeError> {
        Self::parse(json, "(inline)")
    }

    fn parse(json: &str, origin: &str) -> Result<Self, RecipeError> {
        let recipe: Recipe = serde_json::from_str(json).map_err(|source| RecipeError::Parse {
            origin: origin.to_owned(),
            source,
        })?;
        recipe.validate_as(origin)?;
        Ok(recipe)
    }

    /// Pretty JSON for storage beside an asset.
    pub fn to_json(&self) -> String {
        // Serialising plain data with string keys cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Loads a custom recipe file.
    pub fn load(path: &Path) -> Result<Self, RecipeError> {
        let text = std::fs::read_to_string(path).map_err(|source| RecipeError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text, &path.display().to_string())
    }

    /// Saves this recipe as JSON.
    pub fn save(&self, path: &Path) -> Result<(), RecipeError> {
        std::fs::write(path, self.to_json()).map_err(|source| RecipeError::Io {
            path: path.to_path_buf(),
            source,
        })
    }

    /// Checks parameter ranges.
    pub fn validate(&self) -> Result<(), RecipeError> {
        self.validate_as("(inline)")
    }

    fn validate_as(&self, origin: &str) -> Result<(), RecipeError> {
        let bad = |field: &'static str, value: String, expected: &'static str| {
            Err(RecipeError::Invalid {
                origin: origin.to_owned(),
                field,
                value,
                expected,
            })
        };
        if self.version > RECIPE_VERSION {
            return Err(RecipeError::UnsupportedVersion {
                origin: origin.to_owned(),
                found: self.version,
            });
        }
        if let Some(wb) = &self.white_balance
            && !(0.0..=1.0).contains(&wb.strength)
        {
            return bad("white_balance.strength", wb.strength.to_string(), "0 to 1");
        }
        if let Some(d) = &self.denoise {
            if !(0.0..=5.0).contains(&d.strength) {
                return bad("denoise.strength", d.strength.to_string(), "0 to 5");
            }
            if d.search_radius_px > 10 || d.patch_radius_px > 4 {
                return bad(
                    "denoise.search_radius_px/patch_radius_px",
                    format!("{}/{}", d.search_radius_px, d.patch_radius_px),
                    "search ≤ 10, patch ≤ 4",
                );
            }
        }
        if let Some(u) = &self.upscale {
            match u.size {
                UpscaleSize::Factor { factor } if !(factor > 0.0 && factor <= 8.0) => {
                    return bad("upscale.factor", factor.to_string(), "above 0, at most 8");
                }
                UpscaleSize::Fit {
                    width_px,
                    height_px,
                } if width_px == 0 || height_px == 0 || width_px > 20_000 || height_px > 20_000 => {
                    return bad(
                        "upscale.width_px/height_px",
                        format!("{width_px}×{height_px}"),
                        "1 to 20000 px",
                    );
                }
                _ => {}
            }
        }
        if let Some(s) = &self.sharpen {
            if !(0.0..=5.0).contains(&s.amount) {
                return bad("sharpen.amount", s.amount.to_string(), "0 to 5");
            }
            if !(0.1..=20.0).contains(&s.radius_px) {
                return bad("sharpen.radius_px", s.radius_px.to_string(), "0.1 to 20");
            }
        }
        if let Some(b) = &self.background
            && !(0.0..=20.0).contains(&b.feather_px)
        {
            return bad("background.feather_px", b.feather_px.to_string(), "0 to 20");
        }
        if let Some(f) = &self.frame {
            if f.width_px == 0 || f.height_px == 0 || f.width_px > 12_000 || f.height_px > 12_000 {
                return bad(
                    "frame.width_px/height_px",
                    format!("{}×{}", f.width_px, f.height_px),
                    "1 to 12000 px",
                );
            }
            if !(f.fill_frac > 0.0 && f.fill_frac <= 1.0) {
                return bad(
                    "frame.fill_frac",
                    f.fill_frac.to_string(),
                    "above 0, at most 1",
                );
            }
        }
        for s in &self.mask_edits {
            if !(0.0..=1.0).contains(&s.radius_frac) {
                return bad(
                    "mask_edits.radius_frac",
                    s.radius_frac.to_string(),
                    "0 to 1",
                );
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::imaging::ops::background::BrushMode;

    #[test]
    fn presets_exist_and_round_trip() {
        for p in Preset::ALL {
            let r = p.recipe();
            assert_eq!(r.name, p.name());
            r.validate().unwrap();
            let back = Recipe::from_json(&r.to_json()).unwrap();
            assert_eq!(back, r, "{}", p.name());
            assert_eq!(Preset::from_name(p.name()).unwrap(), p);
        }
        assert_eq!(
            Preset::names(),
            vec!["restore-2x", "marketplace-square", "clean", "banner"]
        );
    }

    #[test]
    fn restore_2x_has_no_crop_or_background() {
        let r = Preset::Restore2x.recipe();
        assert!(r.background.is_none() && r.frame.is_none());
        assert!(r.white_balance.is_some() && r.levels.is_some() && r.denoise.is_some());
        assert!(r.upscale.is_some() && r.sharpen.is_some());
    }

    #[test]
    fn mask_edits_round_trip() {
        let mut r = Preset::Clean.recipe();
        r.mask_edits.push(BrushStroke {
            points: vec![[0.25, 0.5], [0.3, 0.55]],
            radius_frac: 0.02,
            mode: BrushMode::Remove,
        });
        let json = r.to_json();
        assert!(json.contains("\"remove\""));
        assert_eq!(Recipe::from_json(&json).unwrap(), r);
    }

    #[test]
    fn custom_json_with_defaults_loads() {
        let json = r#"{ "name": "mine", "upscale": { "size": { "mode": "factor", "factor": 4 } },
                        "sharpen": { "amount": 1.0 } }"#;
        let r = Recipe::from_json(json).unwrap();
        assert_eq!(r.version, RECIPE_VERSION);
        assert_eq!(r.sharpen.unwrap().amount, 1.0);
        assert_eq!(r.sharpen.unwrap().radius_px, Sharpen::default().radius_px);
        assert!(r.white_balance.is_none());
    }

    #[test]
    fn bad_recipes_give_clear_errors() {
        let typo = Recipe::from_json(r#"{ "sharpn": {} }"#).unwrap_err();
        assert!(typo.to_string().contains("sharpn"), "{typo}");
        let range =
            Recipe::from_json(r#"{ "upscale": { "size": { "mode": "factor", "factor": 100 } } }"#)
                .unwrap_err();
        assert!(range.to_string().contains("upscale.factor"), "{range}");
        let newer = Recipe::from_json(r#"{ "version": 99 }"#).unwrap_err();
        assert!(matches!(
            newer,
            RecipeError::UnsupportedVersion { found: 99, .. }
        ));
        assert!(Preset::from_name("nope").is_err());
    }

    #[test]
    fn load_and_save_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.json");
        let r = Preset::Banner.recipe();
        r.save(&path).unwrap();
        assert_eq!(Recipe::load(&path).unwrap(), r);
        let missing = Recipe::load(&dir.path().join("missing.json")).unwrap_err();
        assert!(matches!(missing, RecipeError::Io { .. }));
    }
}
