//! The product-image library: importing image files into the workspace (originals kept
//! byte-exact in the blob folder, content-addressed), their product metadata, and listing.
//!
//! Import writes the blob first, then the `blobs` and `assets` rows in one transaction, so a
//! crash leaves at worst an orphan file that the next open sweeps.

use std::io::Cursor;

use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};

use crate::store::{BlobStore, StoreError, Workspace, now_secs};

/// Largest image side accepted on import (decompression-bomb guard).
pub const MAX_SIDE_PX: u32 = 30_000;
/// Largest decoded size accepted on import.
pub const MAX_ALLOC_BYTES: u64 = 512 * 1024 * 1024;

/// Errors of the library.
#[derive(Debug, thiserror::Error)]
pub enum LibraryError {
    #[error("{file}: not an image Sightline can read ({reason}); use JPEG, PNG or WebP")]
    Decode { file: String, reason: String },
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
#[derive(Clone, Debug, PartialEq)]
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
    pub tags: String,
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
    let hash = BlobStore::hash(bytes);
    if let Some(id) = asset_by_hash(ws.conn(), &hash)? {
        return Ok(Imported::Duplicate(id));
    }
    let (width_px, height_px, mime) = probe(file_name, bytes)?;
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
            meta.map(|m| m.sku.as_str()),
            meta.map(|m| m.name.as_str()),
            meta.and_then(|m| m.price),
            meta.map(|m| m.category.as_str()),
            meta.map(|m| m.colour.as_str()),
            now_secs(),
        ],
    )?;
    let id = tx.last_insert_rowid();
    tx.commit()?;
    Ok(Imported::New(id))
}

fn asset_by_hash(conn: &Connection, hash: &str) -> rusqlite::Result<Option<i64>> {
    conn.query_row("SELECT id FROM assets WHERE blob_hash = ?1", [hash], |r| {
        r.get(0)
    })
    .optional()
}

/// Checks that the bytes decode as a supported image within the limits; returns its size and
/// MIME type.
fn probe(file_name: &str, bytes: &[u8]) -> Result<(u32, u32, &'static str), LibraryError> {
    let err = |reason: String| LibraryError::Decode {
        file: file_name.to_string(),
        reason,
    };
    if bytes.is_empty() {
        return Err(err("the file is empty".into()));
    }
    let mut reader = image::ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| err(e.to_string()))?;
    let format = reader
        .format()
        .ok_or_else(|| err("unrecognised file format".into()))?;
    let mime = match format {
        image::ImageFormat::Jpeg => "image/jpeg",
        image::ImageFormat::Png => "image/png",
        image::ImageFormat::WebP => "image/webp",
        other => return Err(err(format!("{other:?} is not supported"))),
    };
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_SIDE_PX);
    limits.max_image_height = Some(MAX_SIDE_PX);
    limits.max_alloc = Some(MAX_ALLOC_BYTES);
    reader.limits(limits);
    let img = reader.decode().map_err(|e| err(e.to_string()))?;
    if img.width() == 0 || img.height() == 0 {
        return Err(err("the image has no pixels".into()));
    }
    Ok((img.width(), img.height(), mime))
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

/// Assets whose SKU, name, category, colour, tags or file name contain `filter`, by SKU.
pub fn list(conn: &Connection, filter: &str) -> rusqlite::Result<Vec<AssetRow>> {
    let pattern = format!("%{}%", filter.replace(['%', '_'], ""));
    let mut stmt = conn.prepare_cached(
        "SELECT id, blob_hash, file_name, coalesce(width_px, 0), coalesce(height_px, 0), sku, name,
                price, category, colour, tags
         FROM assets
         WHERE kind = 'image' AND (?1 = '' OR sku LIKE ?2 OR name LIKE ?2 OR category LIKE ?2
                OR colour LIKE ?2 OR tags LIKE ?2 OR file_name LIKE ?2)
         ORDER BY coalesce(sku, file_name), id",
    )?;
    let rows = stmt.query_map(params![filter, pattern], |r| {
        Ok(AssetRow {
            id: r.get(0)?,
            blob_hash: r.get(1)?,
            file_name: r.get(2)?,
            width_px: r.get(3)?,
            height_px: r.get(4)?,
            sku: r.get(5)?,
            name: r.get(6)?,
            price: r.get(7)?,
            category: r.get(8)?,
            colour: r.get(9)?,
            tags: r.get(10)?,
        })
    })?;
    rows.collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::OpenMode;

    fn png_bytes(w: u32, h: u32) -> Vec<u8> {
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
}
