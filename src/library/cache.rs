//! The caches beside a workspace (`NAME.cache/`): thumbnails (`thumbs/<hash>-256.png`), so
//! reopening a library is instant, and full-size renders (`renders/<asset>-<recipe>.png`),
//! bounded in size and evicted least-recently-used first (by file modification time, which a
//! cache hit refreshes).
//!
//! Caches hold only what can be recomputed from the originals and the recipes, so every file
//! is written atomically (temporary file, then rename) and a damaged or missing entry is simply
//! rebuilt. Deleting `NAME.cache/` is always safe.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use image::RgbaImage;

use super::{LibraryError, THUMB_SIDE_PX};
use crate::imaging::batch::write_atomic;
use crate::imaging::encode::{OutputFormat, encode};
use crate::imaging::{Recipe, decode, thumbnail};
use crate::store::BlobStore;

/// Default size cap of the render cache: 512 MiB.
pub const DEFAULT_RENDER_CACHE_BYTES: u64 = 512 * 1024 * 1024;

/// The cache folder of a workspace (`demo.sqlite` → `demo.cache/`).
pub fn cache_dir(workspace: &Path) -> PathBuf {
    workspace.with_extension("cache")
}

fn cache_err(path: &Path) -> impl Fn(std::io::Error) -> LibraryError + '_ {
    move |source| LibraryError::Cache {
        path: path.display().to_string(),
        source,
    }
}

fn write_png(path: &Path, img: &RgbaImage) -> Result<(), LibraryError> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(cache_err(dir))?;
    }
    let bytes = encode(img, OutputFormat::Png).map_err(|e| LibraryError::Cache {
        path: path.display().to_string(),
        source: std::io::Error::other(e.to_string()),
    })?;
    write_atomic(path, &bytes).map_err(cache_err(path))
}

fn read_png(path: &Path) -> Option<RgbaImage> {
    let bytes = std::fs::read(path).ok()?;
    match image::load_from_memory_with_format(&bytes, image::ImageFormat::Png) {
        Ok(img) => Some(img.into_rgba8()),
        Err(e) => {
            tracing::warn!("damaged cache entry {} ignored: {e}", path.display());
            None
        }
    }
}

/// Where a thumbnail came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ThumbSource {
    /// Read from the cache folder.
    Cached,
    /// Decoded from the original (and now cached).
    Generated,
}

/// Thumbnails on disk, keyed by the original's content hash.
#[derive(Clone, Debug)]
pub struct ThumbCache {
    dir: PathBuf,
}

impl ThumbCache {
    /// The thumbnail cache of a workspace (created on first write).
    pub fn beside(workspace: &Path) -> Self {
        Self {
            dir: cache_dir(workspace).join("thumbs"),
        }
    }

    /// The file of one thumbnail.
    pub fn path_of(&self, hash: &str) -> PathBuf {
        self.dir.join(format!("{hash}-{THUMB_SIDE_PX}.png"))
    }

    /// The cached thumbnail, if present and readable.
    pub fn load(&self, hash: &str) -> Option<RgbaImage> {
        read_png(&self.path_of(hash))
    }

    /// Stores a thumbnail.
    pub fn store(&self, hash: &str, thumb: &RgbaImage) -> Result<(), LibraryError> {
        write_png(&self.path_of(hash), thumb)
    }

    /// The cached thumbnail, or one made from the original in `blobs` and cached.
    pub fn get_or_make(
        &self,
        blobs: &BlobStore,
        hash: &str,
    ) -> Result<(RgbaImage, ThumbSource), LibraryError> {
        if let Some(img) = self.load(hash) {
            return Ok((img, ThumbSource::Cached));
        }
        let bytes = blobs.read(hash)?;
        let original = decode(&bytes).map_err(|source| LibraryError::Decode {
            file: hash.to_string(),
            source,
        })?;
        let thumb = thumbnail(&original, THUMB_SIDE_PX);
        if let Err(e) = self.store(hash, &thumb) {
            tracing::warn!("thumbnail cache: {e}");
        }
        Ok((thumb, ThumbSource::Generated))
    }
}

/// A short, stable hash of what a recipe renders (its name does not count).
pub fn recipe_hash(recipe: &Recipe) -> String {
    let mut r = recipe.clone();
    r.name.clear();
    let json = serde_json::to_string(&r).unwrap_or_default();
    blake3::hash(json.as_bytes()).to_hex()[..16].to_string()
}

/// What a trim did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TrimReport {
    /// Files removed.
    pub removed: usize,
    /// Bytes left in the cache.
    pub kept_bytes: u64,
}

/// Full-size renders on disk, bounded in size.
#[derive(Clone, Debug)]
pub struct RenderCache {
    dir: PathBuf,
    cap_bytes: u64,
}

impl RenderCache {
    /// The render cache of a workspace with the default cap.
    pub fn beside(workspace: &Path) -> Self {
        Self {
            dir: cache_dir(workspace).join("renders"),
            cap_bytes: DEFAULT_RENDER_CACHE_BYTES,
        }
    }

    /// The same cache with another size cap.
    pub fn with_cap(mut self, cap_bytes: u64) -> Self {
        self.cap_bytes = cap_bytes;
        self
    }

    /// The file of one render.
    pub fn path_of(&self, asset_hash: &str, recipe: &Recipe) -> PathBuf {
        self.dir
            .join(format!("{asset_hash}-{}.png", recipe_hash(recipe)))
    }

    /// A cached render, refreshing its place in the LRU order.
    pub fn get(&self, asset_hash: &str, recipe: &Recipe) -> Option<RgbaImage> {
        let path = self.path_of(asset_hash, recipe);
        let img = read_png(&path)?;
        let touched = std::fs::File::options()
            .write(true)
            .open(&path)
            .and_then(|f| f.set_modified(SystemTime::now()));
        if let Err(e) = touched {
            tracing::debug!("render cache: could not refresh {}: {e}", path.display());
        }
        Some(img)
    }

    /// Stores a render, then trims the cache to its cap (the new entry is kept).
    pub fn put(
        &self,
        asset_hash: &str,
        recipe: &Recipe,
        img: &RgbaImage,
    ) -> Result<PathBuf, LibraryError> {
        let path = self.path_of(asset_hash, recipe);
        write_png(&path, img)?;
        self.trim_keeping(Some(&path))?;
        Ok(path)
    }

    /// Removes least-recently-used renders until the cache fits its cap.
    pub fn trim(&self) -> Result<TrimReport, LibraryError> {
        self.trim_keeping(None)
    }

    fn trim_keeping(&self, keep: Option<&Path>) -> Result<TrimReport, LibraryError> {
        let mut entries = self.entries()?;
        let mut total: u64 = entries.iter().map(|e| e.1).sum();
        // Oldest first; the name breaks ties so the order is stable.
        entries.sort_by(|a, b| a.2.cmp(&b.2).then_with(|| a.0.cmp(&b.0)));
        let mut removed = 0;
        for (path, size, _) in entries {
            if total <= self.cap_bytes {
                break;
            }
            if Some(path.as_path()) == keep {
                continue;
            }
            if std::fs::remove_file(&path).is_ok() {
                total = total.saturating_sub(size);
                removed += 1;
            }
        }
        Ok(TrimReport {
            removed,
            kept_bytes: total,
        })
    }

    /// Bytes the cache holds now.
    pub fn size_bytes(&self) -> Result<u64, LibraryError> {
        Ok(self.entries()?.iter().map(|e| e.1).sum())
    }

    fn entries(&self) -> Result<Vec<(PathBuf, u64, SystemTime)>, LibraryError> {
        let dir = match std::fs::read_dir(&self.dir) {
            Ok(d) => d,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(cache_err(&self.dir)(e)),
        };
        let mut out = Vec::new();
        for entry in dir.flatten() {
            let path = entry.path();
            if path.extension().is_none_or(|e| e != "png") {
                continue;
            }
            if let Ok(meta) = entry.metadata() {
                let modified = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
                out.push((path, meta.len(), modified));
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn noisy(w: u32, h: u32, seed: u32) -> RgbaImage {
        RgbaImage::from_fn(w, h, |x, y| {
            let v = (x.wrapping_mul(2654435761) ^ y.wrapping_mul(40503) ^ seed) as u8;
            image::Rgba([v, v.wrapping_mul(3), v.wrapping_add(seed as u8), 255])
        })
    }

    fn age(path: &Path, secs_ago: u64) {
        std::fs::File::options()
            .write(true)
            .open(path)
            .and_then(|f| f.set_modified(SystemTime::now() - Duration::from_secs(secs_ago)))
            .expect("set mtime");
    }

    #[test]
    fn render_cache_is_bounded_and_evicts_least_recently_used() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ws = dir.path().join("w.sqlite");
        let img = noisy(64, 64, 1);
        let one = RenderCache::beside(&ws).with_cap(u64::MAX);
        let recipes: Vec<Recipe> = crate::imaging::Preset::ALL
            .iter()
            .map(|p| p.recipe())
            .collect();
        let p0 = one.put("aaa", &recipes[0], &img).expect("put");
        let entry_bytes = std::fs::metadata(&p0).expect("meta").len();
        let cache = RenderCache::beside(&ws).with_cap(entry_bytes * 2 + entry_bytes / 2);
        let p1 = cache.put("aaa", &recipes[1], &img).expect("put");
        age(&p0, 300);
        age(&p1, 200);
        // A hit makes p0 the most recently used.
        assert_eq!(cache.get("aaa", &recipes[0]), Some(img.clone()));
        let p2 = cache.put("aaa", &recipes[2], &img).expect("put");
        assert!(
            p0.exists() && p2.exists(),
            "recently used and new entries stay"
        );
        assert!(!p1.exists(), "the least recently used entry is evicted");
        assert!(cache.size_bytes().expect("size") <= entry_bytes * 2 + entry_bytes / 2);
        assert_eq!(cache.get("aaa", &recipes[1]), None);
    }

    #[test]
    fn recipe_hash_ignores_the_name_only() {
        let a = crate::imaging::Preset::Clean.recipe();
        let mut b = a.clone();
        b.name = "renamed".into();
        assert_eq!(recipe_hash(&a), recipe_hash(&b));
        b.sharpen = None;
        assert_ne!(recipe_hash(&a), recipe_hash(&b));
    }

    #[test]
    fn thumbnails_are_cached_and_reused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ws = dir.path().join("w.sqlite");
        let blobs = BlobStore::beside(&ws).expect("blobs");
        let bytes = crate::library::tests::png_bytes(600, 300);
        let hash = BlobStore::hash(&bytes);
        blobs.write_file(&hash, &bytes).expect("blob");
        let cache = ThumbCache::beside(&ws);
        let (first, src) = cache.get_or_make(&blobs, &hash).expect("make");
        assert_eq!(src, ThumbSource::Generated);
        assert_eq!(first.dimensions(), (256, 128));
        assert!(cache.path_of(&hash).ends_with(format!("{hash}-256.png")));
        // With the original gone, the cached copy still serves.
        std::fs::remove_file(blobs.path_of(&hash)).expect("rm");
        let (again, src) = cache.get_or_make(&blobs, &hash).expect("cached");
        assert_eq!(src, ThumbSource::Cached);
        assert_eq!(again, first);
    }
}
