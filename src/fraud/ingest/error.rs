//! The ingest error type: every message names the file (or mapping) and says what to do.
//!
//! Row-level problems are not errors: they become rejected rows in the rejects file. These
//! variants stop a file (or the whole run) and, when raised by `detect`, stop before anything is
//! written.

use std::path::PathBuf;

use crate::store::StoreError;

/// Errors that stop a detection or a load.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("could not read {path}: {source}; check the path and its permissions")]
    Unreadable {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is empty (no header line); export it again with a header row")]
    Empty { path: PathBuf },
    #[error(
        "{path} is {encoding}; Sightline reads UTF-8 only — save it as UTF-8 (CSV UTF-8) and load it again"
    )]
    Encoding { path: PathBuf, encoding: String },
    #[error(
        "{path} has a header line longer than the {cap_bytes}-byte record cap; is it really a CSV or JSON Lines file? Raise the cap (--record-cap) if it is"
    )]
    HeaderTooLong { path: PathBuf, cap_bytes: usize },
    #[error(
        "{path}: the first line is not a JSON object ({reason}); JSON Lines files need one object per line"
    )]
    BadJsonHeader { path: PathBuf, reason: String },
    #[error(
        "{path}: no preset recognises its header ({header}); pass --mapping MAP.toml describing its columns (see docs/formats.md), or --preset if it is one of Sightline's formats{hint}"
    )]
    UnknownHeader {
        path: PathBuf,
        header: String,
        hint: String,
    },
    #[error(
        "{path}: the mapping {mapping:?} names column {column:?} (for {field}) but the file has no such column; its columns are: {header}. Fix the mapping or pick the right file"
    )]
    MappingColumnMissing {
        path: PathBuf,
        mapping: String,
        column: String,
        field: String,
        header: String,
    },
    #[error("mapping {mapping:?}: {problem}; fix the mapping file (see docs/formats.md)")]
    BadMapping { mapping: String, problem: String },
    #[error(
        "could not read mapping file {path}: {reason}; fix the file (see docs/formats.md for its shape)"
    )]
    MappingFile { path: PathBuf, reason: String },
    #[error("could not write mapping file {path}: {source}")]
    MappingWrite {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("unknown preset {name:?}; use one of: {known}")]
    UnknownPreset { name: String, known: String },
    #[error(
        "{path}: decompressed data passed {limit_bytes} bytes (compressed file {compressed_bytes} bytes); this looks like a decompression bomb. If the file is genuine, raise the gzip limit (--gzip-max-ratio / --gzip-max-bytes); rows committed before the limit stay loaded"
    )]
    DecompressionLimit {
        path: PathBuf,
        limit_bytes: u64,
        compressed_bytes: u64,
    },
    #[error(
        "could not write the rejects file {path}: {source}; check free disk space and permissions beside the workspace"
    )]
    Rejects {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("could not read the rejects file {path}: {reason}")]
    RejectsRead { path: PathBuf, reason: String },
    #[error(
        "no account with id {id:?} in the workspace; load the data that has it first, or check the id"
    )]
    UnknownAccount { id: String },
    #[error(
        "the ingest pipeline stopped unexpectedly ({0}); run the load again — it resumes after the last committed batch"
    )]
    Pipeline(String),
    #[error(
        "the load is committed but {path} could not be flushed to disk ({source}); check the disk, then run the load again (it adds nothing twice)"
    )]
    Sync {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<rusqlite::Error> for IngestError {
    fn from(e: rusqlite::Error) -> Self {
        IngestError::Store(StoreError::Sqlite(e))
    }
}
