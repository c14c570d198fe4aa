//! Changing assets after import: tags, the recipe stored with an asset, and the user's named
//! recipes. Each call that touches several rows is one transaction.

use rusqlite::{Connection, params};

use super::LibraryError;
use crate::imaging::Recipe;
use crate::store::now_secs;

/// Splits a comma-separated tag list into clean tags: trimmed, lower-case, inner whitespace
/// collapsed, no empties, no repeats (first occurrence kept).
pub fn parse_tags(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for raw in text.split(',') {
        let tag = raw
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase();
        if !tag.is_empty() && !out.contains(&tag) {
            out.push(tag);
        }
    }
    out
}

fn update_tags(
    conn: &mut Connection,
    ids: &[i64],
    change: impl Fn(&mut Vec<String>),
) -> Result<usize, LibraryError> {
    let tx = conn.transaction()?;
    let mut changed = 0;
    {
        let mut read = tx.prepare_cached("SELECT tags FROM assets WHERE id = ?1")?;
        let mut write = tx.prepare_cached("UPDATE assets SET tags = ?2 WHERE id = ?1")?;
        for &id in ids {
            let current: String = read
                .query_row([id], |r| r.get(0))
                .map_err(|_| LibraryError::NoSuchAsset { id })?;
            let mut tags = parse_tags(&current);
            change(&mut tags);
            let joined = tags.join(",");
            if joined != current {
                write.execute(params![id, joined])?;
                changed += 1;
            }
        }
    }
    tx.commit()?;
    Ok(changed)
}

/// Adds tags (comma-separated allowed) to every asset in `ids`; returns how many changed.
pub fn add_tags(
    conn: &mut Connection,
    ids: &[i64],
    tags: &[String],
) -> Result<usize, LibraryError> {
    let new: Vec<String> = tags.iter().flat_map(|t| parse_tags(t)).collect();
    update_tags(conn, ids, |current| {
        for tag in &new {
            if !current.contains(tag) {
                current.push(tag.clone());
            }
        }
    })
}

/// Removes one tag from every asset in `ids`; returns how many changed.
pub fn remove_tag(conn: &mut Connection, ids: &[i64], tag: &str) -> Result<usize, LibraryError> {
    let gone = parse_tags(tag);
    update_tags(conn, ids, |current| current.retain(|t| !gone.contains(t)))
}

/// Stores `recipe` with the asset (`None` clears it). The original is never touched.
pub fn set_recipe(conn: &Connection, id: i64, recipe: Option<&Recipe>) -> Result<(), LibraryError> {
    if let Some(r) = recipe {
        r.validate()?;
    }
    let n = conn.execute(
        "UPDATE assets SET recipe = ?2 WHERE id = ?1",
        params![id, recipe.map(|r| r.to_json())],
    )?;
    if n == 0 {
        return Err(LibraryError::NoSuchAsset { id });
    }
    Ok(())
}

/// Saves (or replaces) a named recipe. The stored recipe carries the name.
pub fn save_named_recipe(
    conn: &Connection,
    name: &str,
    recipe: &Recipe,
) -> Result<(), LibraryError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(LibraryError::EmptyRecipeName);
    }
    recipe.validate()?;
    let mut recipe = recipe.clone();
    recipe.name = name.to_string();
    conn.execute(
        "INSERT INTO named_recipes(name, recipe, updated_at) VALUES (?1, ?2, ?3)
         ON CONFLICT(name) DO UPDATE SET recipe = excluded.recipe, updated_at = excluded.updated_at",
        params![name, recipe.to_json(), now_secs()],
    )?;
    Ok(())
}

/// Every named recipe, by name. A stored recipe that no longer parses (written by a newer
/// build) is skipped with a warning rather than hiding the others.
pub fn named_recipes(conn: &Connection) -> Result<Vec<(String, Recipe)>, LibraryError> {
    let mut stmt = conn.prepare_cached("SELECT name, recipe FROM named_recipes ORDER BY name")?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
    let mut out = Vec::new();
    for row in rows {
        let (name, json) = row?;
        match Recipe::from_json(&json) {
            Ok(recipe) => out.push((name, recipe)),
            Err(e) => tracing::warn!("named recipe {name:?} skipped: {e}"),
        }
    }
    Ok(out)
}

/// Deletes a named recipe; returns whether it existed.
pub fn delete_named_recipe(conn: &Connection, name: &str) -> Result<bool, LibraryError> {
    Ok(conn.execute("DELETE FROM named_recipes WHERE name = ?1", [name])? > 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::library::{AssetFilter, asset_recipe, import_image, list, list_filtered};
    use crate::store::{OpenMode, Workspace};

    #[test]
    fn tags_are_normalised() {
        assert_eq!(
            parse_tags(" Summer  Sale, new,,NEW , sale "),
            vec!["summer sale", "new", "sale"]
        );
        assert!(parse_tags(" , ").is_empty());
    }

    #[test]
    fn tags_add_remove_and_filter() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut ws =
            Workspace::open(&dir.path().join("w.sqlite"), OpenMode::CreateIfMissing).expect("open");
        let a = import_image(
            &mut ws,
            "a.png",
            &crate::library::tests::png_bytes(8, 8),
            None,
        )
        .expect("a")
        .id();
        let b = import_image(
            &mut ws,
            "b.png",
            &crate::library::tests::png_bytes(9, 9),
            None,
        )
        .expect("b")
        .id();
        let changed = add_tags(ws.conn_mut(), &[a, b], &["sale, hero".into()]).expect("add");
        assert_eq!(changed, 2);
        assert_eq!(
            add_tags(ws.conn_mut(), &[a], &["Sale".into()]).expect("again"),
            0
        );
        remove_tag(ws.conn_mut(), &[b], "hero").expect("remove");
        let heroes = list_filtered(
            ws.conn(),
            &AssetFilter {
                tag: "HERO".into(),
                ..AssetFilter::default()
            },
        )
        .expect("list");
        assert_eq!(heroes.iter().map(|r| r.id).collect::<Vec<_>>(), vec![a]);
        // "her" is not the tag "hero"
        let partial = list_filtered(
            ws.conn(),
            &AssetFilter {
                tag: "her".into(),
                ..AssetFilter::default()
            },
        )
        .expect("list");
        assert!(partial.is_empty());
        assert_eq!(list(ws.conn(), "sale").expect("text").len(), 2);
    }

    #[test]
    fn recipe_is_stored_with_the_asset_and_named_recipes_round_trip() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut ws =
            Workspace::open(&dir.path().join("w.sqlite"), OpenMode::CreateIfMissing).expect("open");
        let bytes = crate::library::tests::png_bytes(8, 8);
        let id = import_image(&mut ws, "a.png", &bytes, None)
            .expect("a")
            .id();
        assert_eq!(asset_recipe(ws.conn(), id).expect("none"), None);
        let recipe = crate::imaging::Preset::MarketplaceSquare.recipe();
        set_recipe(ws.conn(), id, Some(&recipe)).expect("set");
        assert_eq!(
            asset_recipe(ws.conn(), id).expect("some"),
            Some(recipe.clone())
        );
        assert!(list(ws.conn(), "").expect("list")[0].has_recipe);
        let row = list(ws.conn(), "").expect("list").remove(0);
        assert_eq!(
            ws.blobs().read(&row.blob_hash).expect("blob"),
            bytes,
            "original untouched"
        );

        save_named_recipe(ws.conn(), "  shop  ", &recipe).expect("save");
        save_named_recipe(ws.conn(), "shop", &crate::imaging::Preset::Clean.recipe())
            .expect("replace");
        let named = named_recipes(ws.conn()).expect("named");
        assert_eq!(named.len(), 1);
        assert_eq!(named[0].0, "shop");
        assert_eq!(named[0].1.name, "shop");
        assert!(named[0].1.frame.is_none(), "replaced by the clean recipe");
        assert!(matches!(
            save_named_recipe(ws.conn(), " ", &recipe),
            Err(LibraryError::EmptyRecipeName)
        ));
        assert!(delete_named_recipe(ws.conn(), "shop").expect("delete"));
        assert!(named_recipes(ws.conn()).expect("named").is_empty());
    }
}
