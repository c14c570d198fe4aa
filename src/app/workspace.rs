//! The open workspace as the UI sees it, and the background jobs that load it: opening and
//! migrating the file, the overview, pages of rows, the asset list and its thumbnails.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::fraud::browse::{self, AccountRow, Overview, TransactionRow};
use crate::fraud::ingest::loads::LoadRecord;
use crate::jobs::{JobCtx, JobFailure};
use crate::library::{self, AssetRow};
use crate::store::{OpenMode, Workspace};

use super::paged::{PAGE_ROWS, Paged};

/// Side of the square thumbnails in the library grid, in pixels.
pub const THUMB_SIDE_PX: u32 = 256;
/// Thumbnails decoded per background job (they stream in batch by batch).
pub const THUMBS_PER_JOB: usize = 16;

/// Where the workspace is in its life.
pub enum WorkspaceState {
    /// No workspace chosen (home page offers to open or build one).
    None,
    /// Opening or building in the background.
    Loading { path: PathBuf, since: Instant },
    /// Open and browsable.
    Open(Box<OpenWorkspace>),
    /// Could not be opened; the message says why and what to do.
    Failed { path: PathBuf, message: String },
}

impl WorkspaceState {
    /// The open workspace, if any.
    pub fn open(&self) -> Option<&OpenWorkspace> {
        match self {
            WorkspaceState::Open(ws) => Some(ws),
            _ => None,
        }
    }
}

/// A loaded workspace.
pub struct OpenWorkspace {
    pub path: PathBuf,
    pub overview: Overview,
    pub accounts: Paged<AccountRow>,
    pub transactions: Paged<TransactionRow>,
    pub assets: Vec<AssetRow>,
    pub loads: Vec<LoadRecord>,
    pub library_filter: String,
    pub thumbnails: HashMap<String, egui::TextureHandle>,
    pub thumbnails_pending: usize,
}

/// What opening a workspace yields.
pub struct Opened {
    pub path: PathBuf,
    pub overview: Overview,
    pub assets: Vec<AssetRow>,
    pub loads: Vec<LoadRecord>,
}

/// Opens (migrating if needed) and summarises a workspace. Runs on a job thread.
pub fn open_job(path: &Path, ctx: &JobCtx<super::JobOutput>) -> Result<Opened, JobFailure> {
    ctx.progress(Some(0.1), "Opening workspace");
    let ws =
        Workspace::open(path, OpenMode::Existing).map_err(|e| JobFailure::Failed(e.to_string()))?;
    ctx.progress(Some(0.5), "Reading summary");
    let overview = browse::overview(ws.conn()).map_err(|e| fail(path, e))?;
    let assets = library::list(ws.conn(), "").map_err(|e| fail(path, e))?;
    let loads = crate::fraud::ingest::loads::list(ws.conn()).map_err(|e| fail(path, e))?;
    Ok(Opened {
        path: path.to_path_buf(),
        overview,
        assets,
        loads,
    })
}

fn fail(path: &Path, e: impl std::fmt::Display) -> JobFailure {
    JobFailure::Failed(format!("reading workspace {}: {e}", path.display()))
}

/// Fetches one page of accounts.
pub fn account_page(path: &Path, filter: &str, page: usize) -> Result<Vec<AccountRow>, JobFailure> {
    let conn = Workspace::connect(path).map_err(|e| JobFailure::Failed(e.to_string()))?;
    browse::account_page(&conn, filter, (page * PAGE_ROWS) as i64, PAGE_ROWS as i64)
        .map_err(|e| fail(path, e))
}

/// Fetches one page of transactions.
pub fn transaction_page(
    path: &Path,
    filter: &str,
    page: usize,
) -> Result<Vec<TransactionRow>, JobFailure> {
    let conn = Workspace::connect(path).map_err(|e| JobFailure::Failed(e.to_string()))?;
    browse::transaction_page(&conn, filter, (page * PAGE_ROWS) as i64, PAGE_ROWS as i64)
        .map_err(|e| fail(path, e))
}

/// Counts accounts and transactions under a filter.
pub fn counts(path: &Path, filter: &str) -> Result<(usize, usize), JobFailure> {
    let conn = Workspace::connect(path).map_err(|e| JobFailure::Failed(e.to_string()))?;
    let a = browse::account_count(&conn, filter).map_err(|e| fail(path, e))?;
    let t = browse::transaction_count(&conn, filter).map_err(|e| fail(path, e))?;
    Ok((a as usize, t as usize))
}

/// Lists assets under a library filter.
pub fn assets(path: &Path, filter: &str) -> Result<Vec<AssetRow>, JobFailure> {
    let conn = Workspace::connect(path).map_err(|e| JobFailure::Failed(e.to_string()))?;
    library::list(&conn, filter).map_err(|e| fail(path, e))
}

/// Decodes and shrinks a batch of originals into thumbnails.
pub fn thumbnails(
    path: &Path,
    hashes: &[String],
    ctx: &JobCtx<super::JobOutput>,
) -> Result<Vec<(String, egui::ColorImage)>, JobFailure> {
    let blobs =
        crate::store::BlobStore::beside(path).map_err(|e| JobFailure::Failed(e.to_string()))?;
    let mut out = Vec::with_capacity(hashes.len());
    for hash in hashes {
        if ctx.is_cancelled() {
            return Err(JobFailure::Cancelled);
        }
        let bytes = match blobs.read(hash) {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!("thumbnail {hash}: {e}");
                continue;
            }
        };
        let img = match image::load_from_memory(&bytes) {
            Ok(img) => img,
            Err(e) => {
                tracing::warn!("thumbnail {hash}: {e}");
                continue;
            }
        };
        let thumb = img.thumbnail(THUMB_SIDE_PX, THUMB_SIDE_PX).to_rgba8();
        let size = [thumb.width() as usize, thumb.height() as usize];
        out.push((
            hash.clone(),
            egui::ColorImage::from_rgba_unmultiplied(size, thumb.as_raw()),
        ));
    }
    Ok(out)
}
