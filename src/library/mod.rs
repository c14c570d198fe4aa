//! The product-image library: importing image files into the workspace (originals kept
//! byte-exact in the blob folder, content-addressed), product metadata, tags, recipes stored
//! with each asset, the thumbnail and render caches beside the workspace, and batch runs.
//!
//! Import writes the blob first, then the `blobs` and `assets` rows in one transaction, so a
//! crash leaves at worst an orphan file that the next open sweeps, never a half-written asset.
//! Nothing here knows about egui: the GUI and the CLI (`library::cli`) call the same functions.

pub mod batch;
pub mod cache;
pub mod cli;
pub mod edit;
pub mod import;
mod query;

use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};

use crate::imaging::decode::{DecodeError, DecodeLimits, decode_with_limits};
use crate::imaging::{Recipe, RecipeError};
use crate::store::{BlobStore, StoreError, Workspace, now_secs};

pub use cache::{RenderCache, ThumbCache};
pub use edit::{
    add_tags, delete_named_recipe, named_recipes, parse_tags, remove_tag, save_named_recipe,
    set_recipe,
};
pub use import::{ImportOptions, ImportSummary, MetadataSummary, apply_metadata, import_paths};
pub use query::{AssetFilter, Facets, asset, asset_recipe, facets, list, list_filtered};

/// Largest image side accepted on import (decompression-bomb guard).
pub const MAX_SIDE_PX: u32 = 30_000;
/// Side of the square thumbnails, in pixels.
pub const THUMB_SIDE_PX: u32 = 256;

/// Errors of the library.
#[derive(Debug, thiserror::Error)]
pub enum LibraryError {
    #[error("{file}: {source}")]
    Decode {
        file: String,
        #[source]
        source: DecodeError,
    },
    #[error("{file}: could not read it: {source}")]
    Read {
        file: String,
        source: std::io::Error,
    },
    #[error("product metadata {file}, line {line}: {reason}")]
    Metadata {
        file: String,
        line: u64,
        reason: String,
    },
    #[error("asset {id} is not in the library (it may have been removed); reload the library")]
    NoSuchAsset { id: i64 },
    #[error("recipe name must not be empty")]
    EmptyRecipeName,
    #[error("no preset or saved recipe named {name:?}; choose one of {known}")]
    UnknownRecipe { name: String, known: String },
    #[error(
        "output folder {dir} cannot be used: {reason}; choose a folder you can write to (--out)"
    )]
    Output { dir: String, reason: String },
    #[error("cache {path}: {source}")]
    Cache {
        path: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Recipe(#[from] RecipeError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
}

/// Product metadata of an asset.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ProductMeta {
    pub sku: String,
    pub name: String,
    pub price: Option<f64>,
    pub category: String,
    pub colour: String,
}

/// One asset as listed in the library.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AssetRow {
    pub id: i64,
    pub blob_hash: String,
    pub file_name: String,
    pub width_px: u32,
    pub height_px: u32,
    pub sku: Option<String>,
    pub name: Option<String>,
    pub price: Option<f64>,
    pub category: Option<String>,
    pub colour: Option<String>,
    /// Comma-separated tags (see [`parse_tags`]).
    pub tags: String,
    /// Whether an enhancement recipe is saved with the asset.
    pub has_recipe: bool,
}

impl AssetRow {
    /// What people call the asset: its product name, else its file name.
    pub fn title(&self) -> &str {
        self.name
            .as_deref()
            .filter(|n| !n.is_empty())
            .unwrap_or(&self.file_name)
    }

    /// A short identifier for messages and output names: the SKU, else the file stem.
    pub fn label(&self) -> String {
        match self.sku.as_deref().filter(|s| !s.is_empty()) {
            Some(sku) => sku.to_string(),
            None => file_stem(&self.file_name),
        }
    }

    /// The asset's tags.
    pub fn tag_list(&self) -> Vec<String> {
        parse_tags(&self.tags)
    }
}

/// `"photos/mug.final.jpg"` → `"mug.final"`.
pub fn file_stem(file_name: &str) -> String {
    std::path::Path::new(file_name)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| file_name.to_string())
}

/// What an import did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Imported {
    /// A new asset with this id.
    New(i64),
    /// The same bytes were already in the library as this asset.
    Duplicate(i64),
}

impl Imported {
    /// The asset id either way.
    pub fn id(self) -> i64 {
        match self {
            Imported::New(id) | Imported::Duplicate(id) => id,
        }
    }
}

/// Imports one image file's bytes, unchanged, with optional product metadata.
pub fn import_image(
    ws: &mut Workspace,
    file_name: &str,
    bytes: &[u8],
    meta: Option<&ProductMeta>,
) -> Result<Imported, LibraryError> {
    import_image_with(ws, file_name, bytes, meta, None)
}

/// Like [`import_image`], also writing the thumbnail into `thumbs` from the pixels decoded for
/// the size check (so the grid never decodes the original again).
pub fn import_image_with(
    ws: &mut Workspace,
    file_name: &str,
    bytes: &[u8],
    meta: Option<&ProductMeta>,
    thumbs: Option<&ThumbCache>,
) -> Result<Imported, LibraryError> {
    let hash = BlobStore::hash(bytes);
    if let Some(id) = asset_by_hash(ws.conn(), &hash)? {
        return Ok(Imported::Duplicate(id));
    }
    let decoded = decode_for_import(file_name, bytes)?;
    let (width_px, height_px) = decoded.image.dimensions();
    let mime = match decoded.format {
        image::ImageFormat::Png => "image/png",
        image::ImageFormat::WebP => "image/webp",
        _ => "image/jpeg",
    };
    if let Some(thumbs) = thumbs {
        // A cache write failing only costs a decode later; the import itself goes on.
        if let Err(e) = thumbs.store(
            &hash,
            &crate::imaging::thumbnail(&decoded.image, THUMB_SIDE_PX),
        ) {
            tracing::warn!("thumbnail for {file_name}: {e}");
        }
    }
    drop(decoded);
    ws.blobs().write_file(&hash, bytes)?;
    let tx = ws.conn_mut().transaction()?;
    tx.execute(
        "INSERT INTO blobs(hash, size_bytes, mime, created_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT(hash) DO NOTHING",
        params![hash, bytes.len() as i64, mime, now_secs()],
    )?;
    tx.execute(
        "INSERT INTO assets(blob_hash, kind, file_name, width_px, height_px, sku, name, price,
                            category, colour, created_at)
         VALUES (?1, 'image', ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![
            hash,
            file_name,
            width_px,
            height_px,
            meta.map(|m| m.sku.as_str()).filter(|s| !s.is_empty()),
            meta.map(|m| m.name.as_str()).filter(|s| !s.is_empty()),
            meta.and_then(|m| m.price),
            meta.map(|m| m.category.as_str()).filter(|s| !s.is_empty()),
            meta.map(|m| m.colour.as_str()).filter(|s| !s.is_empty()),
            now_secs(),
        ],
    )?;
    let id = tx.last_insert_rowid();
    tx.commit()?;
    Ok(Imported::New(id))
}

/// Decodes with the library's limits (EXIF orientation applied, ICC converted to sRGB), so
/// the stored width and height are those of the upright image.
fn decode_for_import(
    file_name: &str,
    bytes: &[u8],
) -> Result<crate::imaging::decode::DecodedImage, LibraryError> {
    let limits = DecodeLimits {
        max_width_px: MAX_SIDE_PX,
        max_height_px: MAX_SIDE_PX,
        ..DecodeLimits::default()
    };
    decode_with_limits(bytes, &limits).map_err(|source| LibraryError::Decode {
        file: file_name.to_string(),
        source,
    })
}

pub(crate) fn asset_by_hash(conn: &Connection, hash: &str) -> rusqlite::Result<Option<i64>> {
    conn.query_row("SELECT id FROM assets WHERE blob_hash = ?1", [hash], |r| {
        r.get(0)
    })
    .optional()
}

/// Reads product metadata (`sku,name,price,category,colour[,image]`) keyed by the image file
/// name when the column is present, else by SKU.
pub fn read_metadata_csv(
    file: &str,
    reader: impl std::io::Read,
) -> Result<Vec<(Option<String>, ProductMeta)>, LibraryError> {
    let mut csv = csv::ReaderBuilder::new()
        .flexible(false)
        .from_reader(reader);
    let headers = csv
        .headers()
        .map_err(|e| LibraryError::Metadata {
            file: file.into(),
            line: 1,
            reason: e.to_string(),
        })?
        .clone();
    let col = |name: &str| {
        headers
            .iter()
            .position(|h| h.trim().eq_ignore_ascii_case(name))
    };
    let sku = col("sku").ok_or_else(|| LibraryError::Metadata {
        file: file.into(),
        line: 1,
        reason: "no `sku` column; expected sku,name,price,category,colour[,image]".into(),
    })?;
    let (name, price, category, colour, image) = (
        col("name"),
        col("price"),
        col("category"),
        col("colour").or_else(|| col("color")),
        col("image"),
    );
    let mut out = Vec::new();
    for (i, record) in csv.records().enumerate() {
        let line = i as u64 + 2;
        let record = record.map_err(|e| LibraryError::Metadata {
            file: file.into(),
            line,
            reason: e.to_string(),
        })?;
        let get = |c: Option<usize>| {
            c.and_then(|c| record.get(c))
                .unwrap_or("")
                .trim()
                .to_string()
        };
        let price_text = get(price);
        let price = if price_text.is_empty() {
            None
        } else {
            Some(
                price_text
                    .parse::<f64>()
                    .map_err(|_| LibraryError::Metadata {
                        file: file.into(),
                        line,
                        reason: format!("price {price_text:?} is not a number"),
                    })?,
            )
        };
        let image = Some(get(image)).filter(|s| !s.is_empty());
        out.push((
            image,
            ProductMeta {
                sku: get(Some(sku)),
                name: get(name),
                price,
                category: get(category),
                colour: get(colour),
            },
        ));
    }
    Ok(out)
}

/// Finds a preset or, when a connection is given, a saved named recipe by name.
pub fn recipe_by_name(conn: Option<&Connection>, name: &str) -> Result<Recipe, LibraryError> {
    if let Ok(preset) = crate::imaging::Preset::from_name(name) {
        return Ok(preset.recipe());
    }
    let mut known: Vec<String> = crate::imaging::Preset::names()
        .into_iter()
        .map(String::from)
        .collect();
    if let Some(conn) = conn {
        for (saved, recipe) in named_recipes(conn)? {
            if saved == name {
                return Ok(recipe);
            }
            known.push(saved);
        }
    }
    Err(LibraryError::UnknownRecipe {
        name: name.to_string(),
        known: known.join(", "),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::OpenMode;
    use std::io::Cursor;

    pub(crate) fn png_bytes(w: u32, h: u32) -> Vec<u8> {
        let img = image::RgbImage::from_fn(w, h, |x, y| image::Rgb([x as u8, y as u8, 90]));
        let mut out = Vec::new();
        img.write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png)
            .expect("encode");
        out
    }

    #[test]
    fn import_keeps_bytes_exact_and_detects_duplicates() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut ws =
            Workspace::open(&dir.path().join("w.sqlite"), OpenMode::CreateIfMissing).expect("open");
        let bytes = png_bytes(40, 30);
        let meta = ProductMeta {
            sku: "SL-MUG-001".into(),
            name: "White mug".into(),
            price: Some(12.5),
            category: "home".into(),
            colour: "white".into(),
        };
        let first = import_image(&mut ws, "mug.png", &bytes, Some(&meta)).expect("import");
        assert!(matches!(first, Imported::New(_)));
        let again = import_image(&mut ws, "copy.png", &bytes, None).expect("import");
        assert_eq!(again, Imported::Duplicate(first.id()));
        let rows = list(ws.conn(), "").expect("list");
        assert_eq!(rows.len(), 1);
        assert_eq!((rows[0].width_px, rows[0].height_px), (40, 30));
        assert_eq!(rows[0].sku.as_deref(), Some("SL-MUG-001"));
        assert_eq!(ws.blobs().read(&rows[0].blob_hash).expect("blob"), bytes);
        assert_eq!(list(ws.conn(), "mug").expect("list").len(), 1);
        assert!(list(ws.conn(), "shoe").expect("list").is_empty());
    }

    #[test]
    fn corrupt_and_empty_files_are_refused_without_rows() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut ws =
            Workspace::open(&dir.path().join("w.sqlite"), OpenMode::CreateIfMissing).expect("open");
        let mut truncated = png_bytes(64, 64);
        truncated.truncate(truncated.len() / 2);
        for (name, bytes) in [
            ("empty.png", Vec::new()),
            ("cut.png", truncated),
            ("x.png", b"hello".to_vec()),
        ] {
            let err = import_image(&mut ws, name, &bytes, None).expect_err("must fail");
            assert!(err.to_string().contains(name), "{err}");
        }
        assert!(list(ws.conn(), "").expect("list").is_empty());
        let blobs: i64 = ws
            .conn()
            .query_row("SELECT count(*) FROM blobs", [], |r| r.get(0))
            .expect("count");
        assert_eq!(blobs, 0);
    }

    #[test]
    fn metadata_csv_reports_line_of_bad_price() {
        let csv = "sku,name,price,category,colour,image\nA,Bag,10.00,bags,red,a.jpg\nB,Shoe,ten,shoes,black,b.jpg\n";
        let err = read_metadata_csv("products.csv", csv.as_bytes()).expect_err("bad price");
        assert!(err.to_string().contains("line 3"), "{err}");
        let ok =
            read_metadata_csv("p.csv", &csv.as_bytes()[..csv.find("B,").expect("B")]).expect("ok");
        assert_eq!(ok[0].0.as_deref(), Some("a.jpg"));
        assert_eq!(ok[0].1.price, Some(10.0));
    }

    #[test]
    fn presets_and_named_recipes_resolve_by_name() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ws =
            Workspace::open(&dir.path().join("w.sqlite"), OpenMode::CreateIfMissing).expect("open");
        assert_eq!(recipe_by_name(None, "clean").expect("preset").name, "clean");
        let mut mine = crate::imaging::Preset::Clean.recipe();
        mine.name = "catalogue".into();
        save_named_recipe(ws.conn(), "catalogue", &mine).expect("save");
        assert_eq!(
            recipe_by_name(Some(ws.conn()), "catalogue").expect("named"),
            mine
        );
        let err = recipe_by_name(Some(ws.conn()), "nope").expect_err("unknown");
        assert!(err.to_string().contains("catalogue"), "{err}");
    }
}
