//! Importing files and folders into the library: folders are walked recursively, each file
//! is imported on its own (a bad file is reported and the rest go on), duplicates are found
//! by content hash, then tags and product metadata are applied. The summary says what
//! happened to every file.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use rusqlite::{Connection, params};

use super::{Imported, LibraryError, ProductMeta, ThumbCache, add_tags, import_image_with};
use crate::imaging::decode::DecodeLimits;
use crate::store::Workspace;

/// Extensions the importer picks up when walking a folder. Formats Sightline cannot read are
/// included on purpose, so a folder of GIFs is reported file by file rather than ignored.
const IMAGE_EXTENSIONS: &[&str] = &[
    "jpg", "jpeg", "png", "webp", "gif", "bmp", "tif", "tiff", "heic", "heif", "avif",
];

/// What to do besides storing the files.
#[derive(Clone, Debug, Default)]
pub struct ImportOptions {
    /// Product metadata rows (from [`super::read_metadata_csv`]), applied after the import.
    pub metadata: Vec<(Option<String>, ProductMeta)>,
    /// Tags added to every imported (and duplicate) asset.
    pub tags: Vec<String>,
}

/// One file that could not be imported.
#[derive(Clone, Debug, PartialEq)]
pub struct ImportFailure {
    /// The file.
    pub path: PathBuf,
    /// Why, for people.
    pub reason: String,
}

/// What applying product metadata did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MetadataSummary {
    /// Assets whose metadata was set.
    pub updated_assets: usize,
    /// SKUs of CSV rows that matched no asset.
    pub unmatched: Vec<String>,
}

/// What an import did, file by file.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ImportSummary {
    /// New assets, in import order.
    pub imported: Vec<i64>,
    /// Files whose bytes were already in the library, with the existing asset.
    pub duplicates: Vec<(PathBuf, i64)>,
    /// Files that failed, with the reason.
    pub failed: Vec<ImportFailure>,
    /// Non-image files passed over while walking folders.
    pub skipped: usize,
    /// Whether the import was cancelled (files after that point were not looked at).
    pub cancelled: bool,
    /// What the metadata CSV did, when one was given.
    pub metadata: Option<MetadataSummary>,
}

impl ImportSummary {
    /// Files looked at (imported, duplicate or failed).
    pub fn files(&self) -> usize {
        self.imported.len() + self.duplicates.len() + self.failed.len()
    }

    /// One line for a toast or the terminal.
    pub fn headline(&self) -> String {
        let mut s = format!(
            "{} imported, {} duplicate{}, {} failed",
            self.imported.len(),
            self.duplicates.len(),
            if self.duplicates.len() == 1 { "" } else { "s" },
            self.failed.len()
        );
        if self.skipped > 0 {
            s.push_str(&format!(", {} non-image file(s) skipped", self.skipped));
        }
        if let Some(m) = &self.metadata {
            s.push_str(&format!("; metadata set on {} asset(s)", m.updated_assets));
            if !m.unmatched.is_empty() {
                s.push_str(&format!(
                    ", {} CSV row(s) matched nothing",
                    m.unmatched.len()
                ));
            }
        }
        if self.cancelled {
            s.push_str(" (cancelled)");
        }
        s
    }
}

/// Expands files and folders (recursively, sorted, hidden entries skipped) into the image
/// files to import; returns them and how many other files were passed over. Paths that do
/// not exist are kept so the import reports them.
pub fn collect_files(paths: &[PathBuf]) -> (Vec<PathBuf>, usize) {
    let mut files = Vec::new();
    let mut skipped = 0;
    for path in paths {
        if path.is_dir() {
            walk(path, &mut files, &mut skipped);
        } else {
            files.push(path.clone());
        }
    }
    (files, skipped)
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>, skipped: &mut usize) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        // Reported as a failure by the import when it was named directly; inside a tree an
        // unreadable folder is noted in the log.
        tracing::warn!("could not read folder {}", dir.display());
        return;
    };
    let mut entries: Vec<_> = entries.flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name();
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        let path = entry.path();
        // `DirEntry::file_type` does not follow symlinks, so a linked folder cannot loop.
        match entry.file_type() {
            Ok(t) if t.is_dir() => walk(&path, files, skipped),
            Ok(_) if is_image_name(&path) => files.push(path),
            Ok(_) => *skipped += 1,
            Err(_) => *skipped += 1,
        }
    }
}

fn is_image_name(path: &Path) -> bool {
    path.extension()
        .map(|e| e.to_string_lossy().to_lowercase())
        .is_some_and(|e| IMAGE_EXTENSIONS.contains(&e.as_str()))
}

/// Imports files and folders into `ws`. Never stops at a bad file; `cancel` stops between
/// files. `progress(done, total, file)` is called after each file.
pub fn import_paths(
    ws: &mut Workspace,
    paths: &[PathBuf],
    opts: &ImportOptions,
    cancel: &AtomicBool,
    progress: &dyn Fn(usize, usize, &Path),
) -> Result<ImportSummary, LibraryError> {
    let (files, skipped) = collect_files(paths);
    let thumbs = ThumbCache::beside(ws.path());
    let mut summary = ImportSummary {
        skipped,
        ..ImportSummary::default()
    };
    for (i, file) in files.iter().enumerate() {
        if cancel.load(Ordering::Relaxed) {
            summary.cancelled = true;
            break;
        }
        match import_file(ws, file, &thumbs) {
            Ok(Imported::New(id)) => summary.imported.push(id),
            Ok(Imported::Duplicate(id)) => summary.duplicates.push((file.clone(), id)),
            Err(e @ (LibraryError::Store(_) | LibraryError::Sqlite(_))) => {
                // The workspace itself failed (disk full, locked): no point trying the rest.
                summary.failed.push(ImportFailure {
                    path: file.clone(),
                    reason: e.to_string(),
                });
                return Err(e);
            }
            Err(e) => summary.failed.push(ImportFailure {
                path: file.clone(),
                reason: e.to_string(),
            }),
        }
        progress(i + 1, files.len(), file);
    }
    let touched: Vec<i64> = summary
        .imported
        .iter()
        .copied()
        .chain(summary.duplicates.iter().map(|d| d.1))
        .collect();
    if !opts.tags.is_empty() && !touched.is_empty() {
        add_tags(ws.conn_mut(), &touched, &opts.tags)?;
    }
    if !opts.metadata.is_empty() {
        summary.metadata = Some(apply_metadata(ws.conn_mut(), &opts.metadata)?);
    }
    Ok(summary)
}

fn import_file(
    ws: &mut Workspace,
    file: &Path,
    thumbs: &ThumbCache,
) -> Result<Imported, LibraryError> {
    let display = file.display().to_string();
    let read_err = |source| LibraryError::Read {
        file: display.clone(),
        source,
    };
    let meta = std::fs::metadata(file).map_err(read_err)?;
    if meta.is_dir() {
        return Err(read_err(std::io::Error::other("it is a folder")));
    }
    let max = DecodeLimits::default().max_input_bytes;
    if meta.len() > max {
        return Err(LibraryError::Decode {
            file: display.clone(),
            source: crate::imaging::DecodeError::InputTooLarge {
                size_bytes: meta.len(),
                max_bytes: max,
            },
        });
    }
    let bytes = std::fs::read(file).map_err(read_err)?;
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| display.clone());
    import_image_with(ws, &name, &bytes, None, Some(thumbs)).map_err(|e| match e {
        // Name the full path the user gave, not just the file name.
        LibraryError::Decode { source, .. } => LibraryError::Decode {
            file: display.clone(),
            source,
        },
        other => other,
    })
}

/// Sets product metadata on existing assets, in one transaction. A row matches the asset
/// whose file name is the row's `image`; without one (or no such file), the asset whose SKU
/// is the row's SKU, or whose file is named after it (`SKU.jpg`).
pub fn apply_metadata(
    conn: &mut Connection,
    rows: &[(Option<String>, ProductMeta)],
) -> Result<MetadataSummary, LibraryError> {
    let tx = conn.transaction()?;
    let mut summary = MetadataSummary::default();
    {
        let mut by_file = tx.prepare_cached(
            "UPDATE assets SET sku = ?2, name = nullif(?3, ''), price = ?4,
                    category = nullif(?5, ''), colour = nullif(?6, '')
             WHERE file_name = ?1",
        )?;
        let mut by_sku = tx.prepare_cached(
            "UPDATE assets SET sku = ?1, name = nullif(?2, ''), price = ?3,
                    category = nullif(?4, ''), colour = nullif(?5, '')
             WHERE sku = ?1 OR (coalesce(sku, '') = '' AND (file_name = ?1 OR file_name LIKE ?6))",
        )?;
        for (image, m) in rows {
            if m.sku.is_empty() && image.is_none() {
                continue;
            }
            let mut n = 0;
            if let Some(image) = image {
                n = by_file.execute(params![
                    image,
                    Some(m.sku.as_str()).filter(|s| !s.is_empty()),
                    m.name,
                    m.price,
                    m.category,
                    m.colour
                ])?;
            }
            if n == 0 && !m.sku.is_empty() {
                let stem_pattern = format!("{}.%", m.sku.replace(['%', '_'], ""));
                n = by_sku.execute(params![
                    m.sku,
                    m.name,
                    m.price,
                    m.category,
                    m.colour,
                    stem_pattern
                ])?;
            }
            if n == 0 {
                summary.unmatched.push(if m.sku.is_empty() {
                    image.clone().unwrap_or_default()
                } else {
                    m.sku.clone()
                });
            }
            summary.updated_assets += n;
        }
    }
    tx.commit()?;
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::library::{list, read_metadata_csv};
    use crate::store::OpenMode;

    fn png(w: u32, h: u32, seed: u8) -> Vec<u8> {
        let img = image::RgbImage::from_fn(w, h, |x, y| {
            image::Rgb([x as u8 ^ seed, y as u8, seed.wrapping_mul(7)])
        });
        let mut out = Vec::new();
        img.write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
            .expect("encode");
        out
    }

    /// A PNG whose header declares 30000×30000 (a decompression bomb): the IHDR is valid, the
    /// data is a few bytes.
    fn bomb_png() -> Vec<u8> {
        let mut bytes = png(4, 4, 1);
        bytes[16..20].copy_from_slice(&30_000u32.to_be_bytes());
        bytes[20..24].copy_from_slice(&30_000u32.to_be_bytes());
        // Fix the IHDR CRC so the decoder reads the header instead of failing on it.
        let crc = crc32(&bytes[12..29]);
        bytes[29..33].copy_from_slice(&crc.to_be_bytes());
        bytes
    }

    fn crc32(data: &[u8]) -> u32 {
        let mut crc = 0xFFFF_FFFFu32;
        for &b in data {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 != 0 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }

    #[test]
    fn folder_import_reports_each_bad_file_and_goes_on() {
        let dir = tempfile::tempdir().expect("tempdir");
        let photos = dir.path().join("photos");
        std::fs::create_dir_all(photos.join("sub")).expect("mkdir");
        std::fs::write(photos.join("a.png"), png(40, 30, 1)).expect("a");
        std::fs::write(photos.join("sub/b.png"), png(30, 40, 2)).expect("b");
        std::fs::write(photos.join("sub/b-copy.png"), png(30, 40, 2)).expect("dup");
        let mut cut = png(64, 64, 3);
        cut.truncate(cut.len() / 2);
        std::fs::write(photos.join("cut.png"), cut).expect("cut");
        std::fs::write(photos.join("empty.jpg"), b"").expect("empty");
        std::fs::write(photos.join("bomb.png"), bomb_png()).expect("bomb");
        std::fs::write(photos.join("anim.gif"), b"GIF89a\x01\x00\x01\x00").expect("gif");
        std::fs::write(photos.join("notes.txt"), b"not an image").expect("txt");
        std::fs::write(photos.join(".DS_Store"), b"junk").expect("hidden");

        let mut ws =
            Workspace::open(&dir.path().join("w.sqlite"), OpenMode::CreateIfMissing).expect("open");
        let seen = std::sync::Mutex::new(0);
        let summary = import_paths(
            &mut ws,
            &[photos.clone(), dir.path().join("missing.png")],
            &ImportOptions {
                tags: vec!["spring".into()],
                ..ImportOptions::default()
            },
            &AtomicBool::new(false),
            &|_, _, _| *seen.lock().expect("lock") += 1,
        )
        .expect("import");
        assert_eq!(summary.imported.len(), 2, "{summary:?}");
        assert_eq!(summary.duplicates.len(), 1);
        assert_eq!(summary.skipped, 1, "notes.txt");
        assert_eq!(*seen.lock().expect("lock"), 8);
        let reason = |name: &str| {
            summary
                .failed
                .iter()
                .find(|f| f.path.ends_with(name))
                .map(|f| f.reason.clone())
                .unwrap_or_else(|| panic!("{name} not reported: {summary:?}"))
        };
        assert!(
            reason("cut.png").contains("corrupt or truncated"),
            "{}",
            reason("cut.png")
        );
        assert!(
            reason("empty.jpg").contains("empty (0 bytes)"),
            "{}",
            reason("empty.jpg")
        );
        let bomb = reason("bomb.png");
        assert!(
            bomb.contains("30000×30000") && bomb.contains("decompression bomb"),
            "{bomb}"
        );
        assert!(reason("anim.gif").contains("unsupported image format"));
        assert!(reason("missing.png").contains("could not read"));
        assert_eq!(summary.failed.len(), 5);
        assert!(
            summary
                .headline()
                .starts_with("2 imported, 1 duplicate, 5 failed")
        );

        let rows = list(ws.conn(), "").expect("list");
        assert_eq!(rows.len(), 2, "no half-written assets");
        assert!(rows.iter().all(|r| r.tags == "spring"));
        let blobs: i64 = ws
            .conn()
            .query_row("SELECT count(*) FROM blobs", [], |r| r.get(0))
            .expect("count");
        assert_eq!(blobs, 2);
        for r in &rows {
            assert!(ThumbCache::beside(ws.path()).path_of(&r.blob_hash).exists());
        }
    }

    #[test]
    fn metadata_matches_by_file_name_or_sku() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut ws =
            Workspace::open(&dir.path().join("w.sqlite"), OpenMode::CreateIfMissing).expect("open");
        let files = [
            ("IMG_0001.jpg.png", 1),
            ("SL-SHO-002.png", 2),
            ("other.png", 3),
        ];
        for (name, seed) in files {
            std::fs::write(dir.path().join(name), png(16, 16, seed)).expect("write");
        }
        let csv = "sku,name,price,category,colour,image\n\
                   SL-BAG-001,Tote,34.90,Bags,Natural,IMG_0001.jpg.png\n\
                   SL-SHO-002,Pump,129.00,Shoes,Black,\n\
                   SL-GONE-009,Ghost,1.00,None,None,ghost.jpg\n";
        let rows = read_metadata_csv("products.csv", csv.as_bytes()).expect("csv");
        let paths: Vec<PathBuf> = files.iter().map(|f| dir.path().join(f.0)).collect();
        let summary = import_paths(
            &mut ws,
            &paths,
            &ImportOptions {
                metadata: rows,
                ..ImportOptions::default()
            },
            &AtomicBool::new(false),
            &|_, _, _| {},
        )
        .expect("import");
        let meta = summary.metadata.expect("metadata summary");
        assert_eq!(meta.updated_assets, 2);
        assert_eq!(meta.unmatched, vec!["SL-GONE-009".to_string()]);
        let rows = list(ws.conn(), "").expect("list");
        let by_file = |f: &str| rows.iter().find(|r| r.file_name == f).expect("row");
        assert_eq!(
            by_file("IMG_0001.jpg.png").sku.as_deref(),
            Some("SL-BAG-001")
        );
        assert_eq!(by_file("IMG_0001.jpg.png").price, Some(34.9));
        assert_eq!(by_file("SL-SHO-002.png").name.as_deref(), Some("Pump"));
        assert_eq!(by_file("SL-SHO-002.png").category.as_deref(), Some("Shoes"));
        assert_eq!(by_file("other.png").sku, None);
    }

    #[test]
    fn cancelled_import_stops_between_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        for i in 0..5u8 {
            std::fs::write(dir.path().join(format!("{i}.png")), png(8, 8, i)).expect("write");
        }
        let mut ws =
            Workspace::open(&dir.path().join("w.sqlite"), OpenMode::CreateIfMissing).expect("open");
        let cancel = AtomicBool::new(false);
        let summary = import_paths(
            &mut ws,
            &[dir.path().to_path_buf()],
            &ImportOptions::default(),
            &cancel,
            &|done, _, _| {
                if done == 2 {
                    cancel.store(true, Ordering::Relaxed);
                }
            },
        )
        .expect("import");
        assert!(summary.cancelled);
        assert_eq!(summary.imported.len(), 2);
        assert_eq!(list(ws.conn(), "").expect("list").len(), 2);
    }
}
