//! Content-addressed blob folder beside the workspace file (`NAME.blobs/ab/abcdef…`).
//!
//! A blob is written (temp file, fsync, rename) before the row that names it is committed; a
//! crash between the two leaves an orphan file, which the sweep on open removes. Files younger
//! than [`SWEEP_MIN_AGE`] are left alone so another process mid-write is never robbed.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use rusqlite::{Connection, OptionalExtension};

use super::error::StoreError;
use super::workspace::now_secs;

/// Orphans younger than this survive a sweep (another process may be about to commit them).
pub const SWEEP_MIN_AGE: Duration = Duration::from_secs(600);

/// The blob folder of one workspace.
#[derive(Clone, Debug)]
pub struct BlobStore {
    dir: PathBuf,
}

impl BlobStore {
    /// The blob folder beside `workspace` (`demo.sqlite` → `demo.blobs/`), created if needed.
    pub fn beside(workspace: &Path) -> Result<Self, StoreError> {
        let dir = workspace.with_extension("blobs");
        std::fs::create_dir_all(&dir).map_err(|source| StoreError::Blob {
            path: dir.clone(),
            source,
        })?;
        Ok(Self { dir })
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where the blob with this hash lives.
    pub fn path_of(&self, hash: &str) -> PathBuf {
        let shard = hash.get(..2).unwrap_or("__");
        self.dir.join(shard).join(hash)
    }

    /// The content hash used as a blob's name (BLAKE3, hex).
    pub fn hash(bytes: &[u8]) -> String {
        blake3::hash(bytes).to_hex().to_string()
    }

    /// Writes `bytes` durably under their hash and records the row in `blobs` (idempotent).
    /// Returns the hash. The file is on disk before the row is inserted.
    pub fn put(&self, conn: &Connection, bytes: &[u8], mime: &str) -> Result<String, StoreError> {
        let hash = Self::hash(bytes);
        self.write_file(&hash, bytes)?;
        conn.execute(
            "INSERT INTO blobs(hash, size_bytes, mime, created_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT(hash) DO NOTHING",
            rusqlite::params![hash, bytes.len() as i64, mime, now_secs()],
        )?;
        Ok(hash)
    }

    /// Writes the file only (for callers that insert the row in their own transaction).
    pub fn write_file(&self, hash: &str, bytes: &[u8]) -> Result<PathBuf, StoreError> {
        let path = self.path_of(hash);
        if path.exists() {
            return Ok(path);
        }
        let err = |source| StoreError::Blob {
            path: path.clone(),
            source,
        };
        let shard = path.parent().unwrap_or(&self.dir);
        std::fs::create_dir_all(shard).map_err(err)?;
        let mut tmp = tempfile_in(shard).map_err(err)?;
        tmp.1.write_all(bytes).map_err(err)?;
        tmp.1.sync_all().map_err(err)?;
        std::fs::rename(&tmp.0, &path).map_err(err)?;
        Ok(path)
    }

    /// Reads a blob's bytes.
    pub fn read(&self, hash: &str) -> Result<Vec<u8>, StoreError> {
        std::fs::read(self.path_of(hash)).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                StoreError::BlobMissing {
                    hash: hash.to_string(),
                }
            } else {
                StoreError::Blob {
                    path: self.path_of(hash),
                    source: e,
                }
            }
        })
    }

    /// Removes files that no `blobs` row names and leftover temp files, older than
    /// [`SWEEP_MIN_AGE`]. Returns how many were removed.
    pub fn sweep_orphans(&self, conn: &Connection) -> Result<usize, StoreError> {
        let mut removed = 0;
        let mut known = conn.prepare_cached("SELECT 1 FROM blobs WHERE hash = ?1")?;
        let Ok(shards) = std::fs::read_dir(&self.dir) else {
            return Ok(0);
        };
        for shard in shards.flatten() {
            let Ok(files) = std::fs::read_dir(shard.path()) else {
                continue;
            };
            for file in files.flatten() {
                let name = file.file_name().to_string_lossy().to_string();
                if !old_enough(&file.path()) {
                    continue;
                }
                let orphan = name.starts_with(".tmp")
                    || known.query_row([&name], |_| Ok(())).optional()?.is_none();
                if orphan && std::fs::remove_file(file.path()).is_ok() {
                    removed += 1;
                }
            }
        }
        if removed > 0 {
            tracing::info!(removed, dir = %self.dir.display(), "swept orphan blobs");
        }
        Ok(removed)
    }
}

fn old_enough(path: &Path) -> bool {
    std::fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| SystemTime::now().duration_since(t).ok())
        .is_some_and(|age| age >= SWEEP_MIN_AGE)
}

/// A uniquely named temp file in `dir` (`.tmp-<pid>-<n>`).
fn tempfile_in(dir: &Path) -> std::io::Result<(PathBuf, std::fs::File)> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    loop {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = dir.join(format!(".tmp-{}-{n}", std::process::id()));
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(f) => return Ok((path, f)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
}
