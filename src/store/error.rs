//! The store's error type: every message names the workspace file and says what to do.

use std::path::PathBuf;

/// Errors opening, migrating or writing a workspace.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "workspace {path} does not exist; create it with `sightline demo --workspace {path}` or pick another file"
    )]
    Missing { path: PathBuf },
    #[error(
        "workspace {path} is not a Sightline workspace (not a readable SQLite database: {reason}); nothing was changed — open another file or restore it from a backup"
    )]
    NotAWorkspace { path: PathBuf, reason: String },
    #[error(
        "workspace {path} is read-only; Sightline needs to write to it — copy it somewhere writable or fix its permissions"
    )]
    ReadOnly { path: PathBuf },
    #[error(
        "workspace {path} has schema version {found}, newer than this Sightline understands ({supported}); update Sightline to open it — nothing was changed"
    )]
    NewerSchema {
        path: PathBuf,
        found: u32,
        supported: u32,
    },
    #[error(
        "workspace {path} failed its integrity check ({detail}); restore it from a backup or re-create it"
    )]
    Corrupt { path: PathBuf, detail: String },
    #[error("could not create the folder for workspace {path}: {source}")]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("blob store {path}: {source}")]
    Blob {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "blob {hash} is missing from the blob folder; the workspace refers to a file that is gone"
    )]
    BlobMissing { hash: String },
    #[error("the workspace writer has stopped")]
    WriterGone,
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
}
