//! Reading the library: filtered listings, one asset, its saved recipe, and the facets
//! (categories and tags) the filter menus offer.

use std::collections::BTreeMap;

use rusqlite::{Connection, OptionalExtension, params};

use super::{AssetRow, LibraryError, parse_tags};
use crate::imaging::Recipe;

/// What the library grid is filtered by. Empty fields do not filter.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AssetFilter {
    /// Substring of SKU, name, category, colour, tags or file name (case-insensitive).
    pub text: String,
    /// Exact category (case-insensitive).
    pub category: String,
    /// One tag the asset must carry (case-insensitive).
    pub tag: String,
}

impl AssetFilter {
    /// A text-only filter.
    pub fn text(text: &str) -> Self {
        Self {
            text: text.to_string(),
            ..Self::default()
        }
    }
}

/// The values the filter menus offer, over the whole library.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Facets {
    /// Distinct categories, sorted.
    pub categories: Vec<String>,
    /// Distinct tags with how many assets carry each, sorted by tag.
    pub tags: Vec<(String, usize)>,
    /// Assets in the library.
    pub total: usize,
}

const COLUMNS: &str = "id, blob_hash, file_name, coalesce(width_px, 0), coalesce(height_px, 0),
     sku, name, price, category, colour, tags, recipe IS NOT NULL";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<AssetRow> {
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
        has_recipe: r.get(11)?,
    })
}

/// Assets whose SKU, name, category, colour, tags or file name contain `filter`, by SKU.
pub fn list(conn: &Connection, filter: &str) -> rusqlite::Result<Vec<AssetRow>> {
    list_filtered(conn, &AssetFilter::text(filter))
}

/// Assets matching every part of `filter`, ordered by SKU (file name when there is none).
pub fn list_filtered(conn: &Connection, filter: &AssetFilter) -> rusqlite::Result<Vec<AssetRow>> {
    let text = filter.text.trim();
    let pattern = format!("%{}%", text.replace(['%', '_'], ""));
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS}
         FROM assets
         WHERE kind = 'image'
           AND (?1 = '' OR sku LIKE ?2 OR name LIKE ?2 OR category LIKE ?2
                OR colour LIKE ?2 OR tags LIKE ?2 OR file_name LIKE ?2)
           AND (?3 = '' OR category = ?3 COLLATE NOCASE)
           AND (?4 = '' OR instr(',' || lower(tags) || ',', ',' || lower(?4) || ',') > 0)
         ORDER BY coalesce(sku, file_name), id"
    ))?;
    let rows = stmt.query_map(
        params![text, pattern, filter.category.trim(), filter.tag.trim()],
        row,
    )?;
    rows.collect()
}

/// One asset by id.
pub fn asset(conn: &Connection, id: i64) -> Result<AssetRow, LibraryError> {
    conn.query_row(
        &format!("SELECT {COLUMNS} FROM assets WHERE id = ?1"),
        [id],
        row,
    )
    .optional()?
    .ok_or(LibraryError::NoSuchAsset { id })
}

/// The recipe saved with an asset, if any.
pub fn asset_recipe(conn: &Connection, id: i64) -> Result<Option<Recipe>, LibraryError> {
    let json: Option<Option<String>> = conn
        .query_row("SELECT recipe FROM assets WHERE id = ?1", [id], |r| {
            r.get(0)
        })
        .optional()?;
    match json {
        None => Err(LibraryError::NoSuchAsset { id }),
        Some(None) => Ok(None),
        Some(Some(json)) => Ok(Some(Recipe::from_json(&json)?)),
    }
}

/// Categories and tags across the library, for the filter menus.
pub fn facets(conn: &Connection) -> rusqlite::Result<Facets> {
    let mut categories = Vec::new();
    let mut stmt = conn.prepare_cached(
        "SELECT DISTINCT category FROM assets
         WHERE kind = 'image' AND category IS NOT NULL AND category != ''
         ORDER BY category COLLATE NOCASE",
    )?;
    for c in stmt.query_map([], |r| r.get::<_, String>(0))? {
        categories.push(c?);
    }
    let mut tags: BTreeMap<String, usize> = BTreeMap::new();
    let mut stmt =
        conn.prepare_cached("SELECT tags FROM assets WHERE kind = 'image' AND tags != ''")?;
    for t in stmt.query_map([], |r| r.get::<_, String>(0))? {
        for tag in parse_tags(&t?) {
            *tags.entry(tag).or_default() += 1;
        }
    }
    let total: i64 = conn.query_row(
        "SELECT count(*) FROM assets WHERE kind = 'image'",
        [],
        |r| r.get(0),
    )?;
    Ok(Facets {
        categories,
        tags: tags.into_iter().collect(),
        total: total as usize,
    })
}
