//! Opening a workspace file: checks before touching it, pragmas, migrations, blob sweep.
//!
//! Nothing is written to a file that fails a check (missing, read-only, not SQLite, another
//! application's database, newer schema). Two processes may share a workspace: SQLite's WAL
//! locking serialises their writes, and the blob sweep leaves young files alone.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, OpenFlags, TransactionBehavior};

use super::blobs::BlobStore;
use super::error::StoreError;
use super::schema::{MIGRATIONS, latest_version};

/// `PRAGMA application_id` of Sightline workspaces ("SGHT"), so we never migrate a stranger's DB.
const APPLICATION_ID: i32 = 0x5347_4854;
const SQLITE_MAGIC: &[u8; 16] = b"SQLite format 3\0";
/// Page size of new workspace files.
const NEW_PAGE_SIZE_BYTES: u32 = 16_384;

/// How long a connection waits for another one's lock before giving up with "busy".
pub const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Whether opening may create a new, empty workspace.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpenMode {
    /// Create the file (and its folder) when it does not exist.
    CreateIfMissing,
    /// Fail with [`StoreError::Missing`] when it does not exist.
    Existing,
}

/// An open workspace: the SQLite connection plus its blob folder.
pub struct Workspace {
    path: PathBuf,
    conn: Connection,
    blobs: BlobStore,
}

impl Workspace {
    /// Opens (or creates) the workspace at `path` and brings its schema up to date.
    pub fn open(path: &Path, mode: OpenMode) -> Result<Self, StoreError> {
        let conn = open_connection(path, mode)?;
        migrate(&conn, path)?;
        let blobs = BlobStore::beside(path)?;
        blobs.sweep_orphans(&conn)?;
        Ok(Self {
            path: path.to_path_buf(),
            conn,
            blobs,
        })
    }

    /// Opens an extra connection to an already-open workspace (readers, job threads).
    pub fn connect(path: &Path) -> Result<Connection, StoreError> {
        open_connection(path, OpenMode::Existing)
    }

    /// The workspace file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The connection (the owner of a `Workspace` is its one writer).
    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    /// The connection, mutably, for transactions.
    pub fn conn_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }

    /// The content-addressed blob folder beside the file.
    pub fn blobs(&self) -> &BlobStore {
        &self.blobs
    }

    /// Runs SQLite's full integrity check; `Ok` when it reports "ok".
    pub fn integrity_check(&self) -> Result<(), StoreError> {
        let detail: String = self
            .conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
        if detail == "ok" {
            Ok(())
        } else {
            Err(StoreError::Corrupt {
                path: self.path.clone(),
                detail,
            })
        }
    }

    /// A value from the `meta` table.
    pub fn meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        use rusqlite::OptionalExtension;
        Ok(self
            .conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()?)
    }

    /// Sets a value in the `meta` table.
    pub fn set_meta(&self, key: &str, value: &str) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO meta(key, value) VALUES (?1, ?2)
             ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            [key, value],
        )?;
        Ok(())
    }
}

/// The default workspace: `demo.sqlite` in the platform data directory
/// (e.g. `~/.local/share/sightline/` on Linux).
pub fn default_workspace_path() -> PathBuf {
    directories::ProjectDirs::from("org", "Sightline", "sightline")
        .map(|d| d.data_dir().to_path_buf())
        .unwrap_or_else(|| PathBuf::from("."))
        .join("demo.sqlite")
}

/// Seconds since the Unix epoch, now.
pub fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn open_connection(path: &Path, mode: OpenMode) -> Result<Connection, StoreError> {
    let exists = path.exists();
    if exists {
        precheck_existing(path)?;
    } else {
        if mode == OpenMode::Existing {
            return Err(StoreError::Missing {
                path: path.to_path_buf(),
            });
        }
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir {
                path: path.to_path_buf(),
                source,
            })?;
        }
    }
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(|e| classify(path, e))?;
    conn.busy_timeout(BUSY_TIMEOUT)
        .map_err(|e| classify(path, e))?;
    // A new file gets 16 KiB pages (the size is fixed once the first table exists): bulk loads
    // of a million transactions write and sort a quarter of the pages they would at 4 KiB.
    let empty = !exists
        || std::fs::metadata(path)
            .map(|m| m.len() == 0)
            .unwrap_or(false);
    if empty {
        conn.execute_batch(&format!("PRAGMA page_size = {NEW_PAGE_SIZE_BYTES};"))
            .map_err(|e| classify(path, e))?;
    }
    // journal_mode answers with a row; a corrupt header fails here, before anything is written.
    let mode: String = match conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0)) {
        Ok(mode) => mode,
        // Another process is writing under a rollback journal (`sightline ingest` alone on the
        // file switches to one for its load) and holds the lock the switch needs; SQLite does
        // not wait for it. Use the file as it is: the load hands it back to the WAL when it
        // ends, and this connection follows.
        Err(e) if is_busy(&e) => conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .map_err(|e| classify(path, e))?,
        Err(e) => return Err(classify(path, e)),
    };
    if !["wal", "delete"]
        .iter()
        .any(|m| mode.eq_ignore_ascii_case(m))
    {
        return Err(StoreError::NotAWorkspace {
            path: path.to_path_buf(),
            reason: format!("could not switch to WAL journal (got {mode})"),
        });
    }
    conn.execute_batch("PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;")
        .map_err(|e| classify(path, e))?;
    Ok(conn)
}

/// Checks an existing file without opening it for writing.
fn precheck_existing(path: &Path) -> Result<(), StoreError> {
    let meta = std::fs::metadata(path).map_err(|e| StoreError::NotAWorkspace {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    if meta.is_dir() {
        return Err(StoreError::NotAWorkspace {
            path: path.to_path_buf(),
            reason: "it is a folder".into(),
        });
    }
    if meta.permissions().readonly() || !writable(path) {
        return Err(StoreError::ReadOnly {
            path: path.to_path_buf(),
        });
    }
    if meta.len() == 0 {
        return Ok(()); // an empty file is a new database to SQLite
    }
    let mut header = [0u8; 16];
    let read = std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut header))
        .map(|_| ());
    if read.is_err() || &header != SQLITE_MAGIC {
        return Err(StoreError::NotAWorkspace {
            path: path.to_path_buf(),
            reason: "the file does not start with the SQLite header".into(),
        });
    }
    Ok(())
}

/// Whether we may write the file (root ignores mode bits, so ask the OS by opening it).
fn writable(path: &Path) -> bool {
    std::fs::OpenOptions::new().append(true).open(path).is_ok()
        && path
            .parent()
            .map(|d| {
                let d = if d.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    d
                };
                std::fs::metadata(d)
                    .map(|m| !m.permissions().readonly())
                    .unwrap_or(false)
            })
            .unwrap_or(true)
}

/// Whether `e` is SQLite's "busy" or "locked": another connection holds the lock.
fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

fn classify(path: &Path, e: rusqlite::Error) -> StoreError {
    use rusqlite::ErrorCode;
    match e.sqlite_error_code() {
        Some(ErrorCode::NotADatabase) => StoreError::NotAWorkspace {
            path: path.to_path_buf(),
            reason: e.to_string(),
        },
        Some(ErrorCode::DatabaseCorrupt) => StoreError::Corrupt {
            path: path.to_path_buf(),
            detail: e.to_string(),
        },
        Some(ErrorCode::ReadOnly)
        | Some(ErrorCode::CannotOpen)
        | Some(ErrorCode::PermissionDenied) => StoreError::ReadOnly {
            path: path.to_path_buf(),
        },
        _ => StoreError::Sqlite(e),
    }
}

/// Applies pending migrations, each in its own immediate transaction with the version bump.
fn migrate(conn: &Connection, path: &Path) -> Result<(), StoreError> {
    let app_id: i32 = conn
        .query_row("PRAGMA application_id", [], |r| r.get(0))
        .map_err(|e| classify(path, e))?;
    let tables: i64 = conn
        .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
        .map_err(|e| classify(path, e))?;
    if app_id != APPLICATION_ID && tables > 0 {
        return Err(StoreError::NotAWorkspace {
            path: path.to_path_buf(),
            reason: "it is a SQLite database of another application".into(),
        });
    }
    let supported = latest_version();
    // Migrations that rebuild a table (create, copy, drop, rename) need foreign keys off, or
    // the drop would cascade into the rows that still reference it; they keep every id valid.
    // The pragma is a no-op inside a transaction, so it is switched here, around them all.
    conn.execute_batch("PRAGMA foreign_keys = OFF")?;
    let result = apply_migrations(conn, path, supported);
    conn.execute_batch("PRAGMA foreign_keys = ON")?;
    result
}

fn apply_migrations(conn: &Connection, path: &Path, supported: u32) -> Result<(), StoreError> {
    loop {
        let version: u32 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if version > supported {
            return Err(StoreError::NewerSchema {
                path: path.to_path_buf(),
                found: version,
                supported,
            });
        }
        if version == supported {
            return Ok(());
        }
        // Immediate: take the write lock first, then re-read the version, so two processes
        // opening a new file together cannot both apply the same migration.
        let tx = rusqlite::Transaction::new_unchecked(conn, TransactionBehavior::Immediate)?;
        let current: u32 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if current == version {
            tx.execute_batch(MIGRATIONS[version as usize])?;
            tx.execute_batch(&format!(
                "PRAGMA user_version = {}; PRAGMA application_id = {APPLICATION_ID};",
                version + 1
            ))?;
        }
        tx.commit()?;
    }
}
