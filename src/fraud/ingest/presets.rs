//! The built-in presets: mappings shipped as TOML beside this file, parsed like a user's
//! mapping so both take one code path (and `docs/formats.md` can show them verbatim).

use super::error::IngestError;
use super::mapping::Mapping;

/// Every preset name `--preset` accepts, besides `auto`.
pub const PRESET_NAMES: &[&str] = &[
    "native",
    "amlsim",
    "amlsim-sample",
    "amlworld",
    "paysim",
    "ieee-cis",
];

/// The TOML text of a preset.
pub fn preset_toml(name: &str) -> Option<&'static str> {
    Some(match name {
        "native" => include_str!("presets/native.toml"),
        "amlsim" => include_str!("presets/amlsim.toml"),
        "amlsim-sample" => include_str!("presets/amlsim-sample.toml"),
        "amlworld" => include_str!("presets/amlworld.toml"),
        "paysim" => include_str!("presets/paysim.toml"),
        "ieee-cis" => include_str!("presets/ieee-cis.toml"),
        _ => return None,
    })
}

/// A preset by name, parsed.
pub fn preset(name: &str) -> Result<Mapping, IngestError> {
    let text = preset_toml(name).ok_or_else(|| IngestError::UnknownPreset {
        name: name.to_string(),
        known: format!("auto, {}", PRESET_NAMES.join(", ")),
    })?;
    // The presets are tested to parse; a failure here is a build defect, reported plainly.
    Mapping::from_toml_str(text).map_err(|problem| IngestError::BadMapping {
        mapping: name.to_string(),
        problem,
    })
}

/// The presets `detect` tries for a `--preset` value (`auto`: all of them, in order).
pub fn presets_for(choice: &str) -> Result<Vec<Mapping>, IngestError> {
    if choice.is_empty() || choice == "auto" {
        PRESET_NAMES.iter().map(|n| preset(n)).collect()
    } else {
        Ok(vec![preset(choice)?])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_preset_parses_and_is_named_after_itself() {
        for name in PRESET_NAMES {
            let m = preset(name).unwrap_or_else(|e| panic!("preset {name}: {e}"));
            assert_eq!(m.name, *name);
        }
        assert!(preset("nope").is_err());
    }
}
