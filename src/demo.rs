//! Builds the offline demo workspace from the fixtures embedded in the binary: synthetic
//! transactions with planted rings (through the one ingest engine, `native` preset) and the
//! product photos with their metadata (through the library import).
//!
//! The workspace is built under a temporary name and renamed into place at the end, so a
//! crash or cancel never leaves a half-built demo where the app would open it.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use crate::fixtures::embedded;
use crate::fraud::ingest;
use crate::library::{self, LibraryError};
use crate::store::{OpenMode, StoreError, Workspace};

/// Errors building the demo.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("{path} already exists; the demo is only built into a new file")]
    Exists { path: PathBuf },
    #[error("demo build cancelled")]
    Cancelled,
    #[error("building the demo workspace at {path}: {message}")]
    Build { path: PathBuf, message: String },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Library(#[from] LibraryError),
}

/// Progress callback: fraction done (0..=1) and what is happening.
pub type Progress<'a> = &'a dyn Fn(f32, String);

/// Builds the demo workspace at `path` (which must not exist yet).
pub fn build(path: &Path, progress: Progress<'_>, cancel: &AtomicBool) -> Result<(), DemoError> {
    if path.exists() {
        return Err(DemoError::Exists {
            path: path.to_path_buf(),
        });
    }
    let staging = staging_path(path);
    remove_workspace_files(&staging);
    let result = build_into(&staging, progress, cancel);
    if let Err(e) = result {
        remove_workspace_files(&staging);
        return Err(e);
    }
    let err = |e: std::io::Error| DemoError::Build {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    // Blobs first, then the database file: its appearance is the commit point.
    std::fs::rename(
        staging.with_extension("blobs"),
        path.with_extension("blobs"),
    )
    .map_err(err)?;
    std::fs::rename(&staging, path).map_err(err)?;
    progress(1.0, "Demo workspace ready".into());
    Ok(())
}

fn staging_path(path: &Path) -> PathBuf {
    let name = path
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_else(|| "workspace".into());
    path.with_file_name(format!(".{name}-building.sqlite"))
}

fn remove_workspace_files(db: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let mut p = db.as_os_str().to_owned();
        p.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(p));
    }
    let _ = std::fs::remove_dir_all(db.with_extension("blobs"));
    let _ = std::fs::remove_dir_all(db.with_extension("fixtures"));
    let _ = std::fs::remove_dir_all(db.with_extension("rejects"));
}

fn check(cancel: &AtomicBool) -> Result<(), DemoError> {
    if cancel.load(Ordering::Relaxed) {
        Err(DemoError::Cancelled)
    } else {
        Ok(())
    }
}

fn build_into(path: &Path, progress: Progress<'_>, cancel: &AtomicBool) -> Result<(), DemoError> {
    progress(0.02, "Creating workspace".into());
    let mut ws = Workspace::open(path, OpenMode::CreateIfMissing)?;
    check(cancel)?;
    load_transactions(&mut ws, path, progress, cancel)?;
    load_products(&mut ws, progress, cancel)?;
    score(&ws, path, progress, cancel)?;
    ws.set_meta("demo", "1")?;
    ws.conn()
        .execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
        .map_err(StoreError::from)?;
    Ok(())
}

fn load_transactions(
    ws: &mut Workspace,
    path: &Path,
    progress: Progress<'_>,
    cancel: &AtomicBool,
) -> Result<(), DemoError> {
    progress(0.05, "Unpacking demo transactions".into());
    // The ingest engine reads files, so the embedded fixtures are written beside the staging
    // workspace first; the folder goes away with it.
    let dir = path.with_extension("fixtures");
    let build_err = |message: String| DemoError::Build {
        path: path.to_path_buf(),
        message,
    };
    std::fs::create_dir_all(&dir).map_err(|e| build_err(e.to_string()))?;
    let mut files = Vec::new();
    for (name, bytes) in embedded::DEMO_TRANSACTION_FILES {
        let file = dir.join(name);
        std::fs::write(&file, bytes).map_err(|e| build_err(e.to_string()))?;
        files.push(file);
    }
    let plan = ingest::detect(&files, "native", None, &ingest::DetectOptions::default())
        .map_err(|e| build_err(e.to_string()))?;
    let report = |p: &ingest::IngestProgress| {
        let within = if p.bytes_total > 0 {
            p.bytes_read as f32 / p.bytes_total as f32
        } else {
            0.0
        };
        let overall = (p.file_index as f32 + within) / p.file_count.max(1) as f32;
        progress(
            0.08 + 0.7 * overall,
            format!("Loading demo transactions ({} rows)", p.rows_read),
        );
    };
    let summary = ingest::run(
        ws,
        &plan,
        &ingest::IngestOptions::default(),
        cancel,
        &report,
    );
    let _ = std::fs::remove_dir_all(&dir);
    let summary = summary.map_err(|e| build_err(e.to_string()))?;
    if summary.cancelled {
        return Err(DemoError::Cancelled);
    }
    if summary.rejected > 0 {
        return Err(build_err(format!(
            "{} fixture rows were rejected; the embedded fixtures are out of step with the loader",
            summary.rejected
        )));
    }
    Ok(())
}

/// Scores the demo once so its rings are there on first open (rescoring is one click).
fn score(
    ws: &Workspace,
    path: &Path,
    progress: Progress<'_>,
    cancel: &AtomicBool,
) -> Result<(), DemoError> {
    progress(0.985, "Scoring accounts".into());
    let opts = crate::fraud::ScoreOptions::default();
    let report =
        crate::fraud::score_workspace(ws.conn(), &opts, cancel, &|_| {}).map_err(|e| match e {
            crate::fraud::ScoreError::Cancelled => DemoError::Cancelled,
            other => DemoError::Build {
                path: path.to_path_buf(),
                message: other.to_string(),
            },
        })?;
    report
        .persist(ws.conn(), crate::store::now_secs())
        .map_err(|e| DemoError::Build {
            path: path.to_path_buf(),
            message: e.to_string(),
        })
}

fn load_products(
    ws: &mut Workspace,
    progress: Progress<'_>,
    cancel: &AtomicBool,
) -> Result<(), DemoError> {
    let meta = library::read_metadata_csv("products.csv", embedded::PRODUCTS_CSV)?;
    let photos = embedded::PRODUCT_PHOTOS;
    for (i, (file_name, bytes)) in photos.iter().enumerate() {
        check(cancel)?;
        let product = meta
            .iter()
            .find(|(image, _)| image.as_deref() == Some(*file_name))
            .map(|(_, m)| m);
        library::import_image(ws, file_name, bytes, product)?;
        progress(
            0.8 + 0.18 * (i + 1) as f32 / photos.len() as f32,
            format!("Importing product photos ({}/{})", i + 1, photos.len()),
        );
    }
    Ok(())
}
