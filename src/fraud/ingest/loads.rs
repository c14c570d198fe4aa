//! The record of loads: one row per file loaded (name, hash, counts, status, times), read by
//! the GUI's load history and `sightline ingest` when deciding to skip or resume a file.

use std::path::PathBuf;

use rusqlite::{Connection, OptionalExtension, Row};
use serde::Serialize;

/// One load of one file.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LoadRecord {
    /// The load's id (rejects files and data rows carry it).
    pub id: i64,
    /// The file as it was given.
    pub file_name: String,
    /// BLAKE3 of the file's bytes.
    pub file_hash: String,
    /// The preset or mapping that read it.
    pub preset: String,
    /// What the file held (`transactions`, `accounts`…).
    pub role: Option<String>,
    /// Unix seconds.
    pub started_at: i64,
    /// Unix seconds, once complete or stopped.
    pub finished_at: Option<i64>,
    /// `running` (or killed), `complete`, `cancelled`, `failed`.
    pub status: String,
    /// Rows read so far.
    pub rows_read: i64,
    /// Rows loaded.
    pub loaded: i64,
    /// Rows rejected (see the rejects file).
    pub rejected: i64,
    /// Rows already in the workspace.
    pub duplicates: i64,
    /// Rows covered by committed batches (a resumed load starts after them).
    pub rows_committed: i64,
    /// Accounts this load created.
    pub accounts_created: i64,
    /// Whether the file's labels were read.
    pub has_labels: bool,
    /// The rejects file, when rows were rejected.
    pub rejects_path: Option<PathBuf>,
    /// Bytes of the rejects file that belong to committed batches.
    pub rejects_bytes: i64,
}

const COLUMNS: &str = "id, file_name, file_hash, preset, role, started_at, finished_at, status, \
     rows_read, loaded, rejected, duplicates, rows_committed, accounts_created, has_labels, \
     rejects_path, rejects_bytes";

fn from_row(r: &Row<'_>) -> rusqlite::Result<LoadRecord> {
    Ok(LoadRecord {
        id: r.get(0)?,
        file_name: r.get(1)?,
        file_hash: r.get(2)?,
        preset: r.get(3)?,
        role: r.get(4)?,
        started_at: r.get(5)?,
        finished_at: r.get(6)?,
        status: r.get(7)?,
        rows_read: r.get(8)?,
        loaded: r.get(9)?,
        rejected: r.get(10)?,
        duplicates: r.get(11)?,
        rows_committed: r.get(12)?,
        accounts_created: r.get(13)?,
        has_labels: r.get::<_, i64>(14)? != 0,
        rejects_path: r.get::<_, Option<String>>(15)?.map(PathBuf::from),
        rejects_bytes: r.get(16)?,
    })
}

/// Every load, newest first.
pub fn list(conn: &Connection) -> Result<Vec<LoadRecord>, rusqlite::Error> {
    let mut stmt = conn.prepare(&format!("SELECT {COLUMNS} FROM loads ORDER BY id DESC"))?;
    let rows = stmt.query_map([], from_row)?;
    rows.collect()
}

/// The newest load of a file with this hash, if any.
pub fn latest_with_hash(
    conn: &Connection,
    hash: &str,
) -> Result<Option<LoadRecord>, rusqlite::Error> {
    conn.query_row(
        &format!("SELECT {COLUMNS} FROM loads WHERE file_hash = ?1 ORDER BY id DESC LIMIT 1"),
        [hash],
        from_row,
    )
    .optional()
}

/// One load by id.
pub fn get(conn: &Connection, id: i64) -> Result<Option<LoadRecord>, rusqlite::Error> {
    conn.query_row(
        &format!("SELECT {COLUMNS} FROM loads WHERE id = ?1"),
        [id],
        from_row,
    )
    .optional()
}
