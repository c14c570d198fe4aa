//! The open workspace as the UI sees it, and the background jobs that load it: opening and
//! migrating the file, the overview, pages of rows and the first asset listing.

use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::fraud::browse::{self, AccountRow, Overview, TransactionRow};
use crate::fraud::ingest::loads::LoadRecord;
use crate::fraud::rings_view::{self, RingRow, RunSummary};
use crate::jobs::{JobCtx, JobFailure};
use crate::library::{self, AssetRow, Facets};
use crate::store::{OpenMode, Workspace};

use super::library::LibraryState;
use super::paged::{PAGE_ROWS, Paged};

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
    pub library: LibraryState,
    pub loads: Vec<LoadRecord>,
    pub rings: Option<Rings>,
}

/// What opening a workspace yields.
pub struct Opened {
    pub path: PathBuf,
    pub overview: Overview,
    pub assets: Vec<AssetRow>,
    pub facets: Facets,
    pub loads: Vec<LoadRecord>,
    pub rings: Option<Rings>,
}

/// The latest scoring run and its top rings.
pub struct Rings {
    pub run: RunSummary,
    pub top: Vec<RingRow>,
}

/// Rings listed in the view.
pub const RINGS_SHOWN: i64 = 300;

/// Opens (migrating if needed) and summarises a workspace. Runs on a job thread.
pub fn open_job(path: &Path, ctx: &JobCtx<super::JobOutput>) -> Result<Opened, JobFailure> {
    ctx.progress(Some(0.1), "Opening workspace");
    let ws =
        Workspace::open(path, OpenMode::Existing).map_err(|e| JobFailure::Failed(e.to_string()))?;
    ctx.progress(Some(0.5), "Reading summary");
    let overview = browse::overview(ws.conn()).map_err(|e| fail(path, e))?;
    let assets = library::list(ws.conn(), "").map_err(|e| fail(path, e))?;
    let facets = library::facets(ws.conn()).map_err(|e| fail(path, e))?;
    let loads = crate::fraud::ingest::loads::list(ws.conn()).map_err(|e| fail(path, e))?;
    let rings = match rings_view::latest_run(ws.conn()).map_err(|e| fail(path, e))? {
        Some(run) => {
            let top = rings_view::top_rings(ws.conn(), run.run_id, RINGS_SHOWN)
                .map_err(|e| fail(path, e))?;
            Some(Rings { run, top })
        }
        None => None,
    };
    Ok(Opened {
        path: path.to_path_buf(),
        overview,
        assets,
        facets,
        loads,
        rings,
    })
}

/// Scores the workspace with the default options and keeps the run in it.
pub fn score_job(path: &Path, ctx: &JobCtx<super::JobOutput>) -> Result<String, JobFailure> {
    let conn = Workspace::connect(path).map_err(|e| JobFailure::Failed(e.to_string()))?;
    let opts = crate::fraud::ScoreOptions::default();
    let report = crate::fraud::score_workspace(&conn, &opts, ctx.cancel_token().flag(), &|p| {
        ctx.progress(Some(p.fraction), format!("{:?}", p.stage))
    })
    .map_err(|e| match e {
        crate::fraud::ScoreError::Cancelled => JobFailure::Cancelled,
        other => JobFailure::Failed(other.to_string()),
    })?;
    report
        .persist(&conn, crate::store::now_secs())
        .map_err(|e| JobFailure::Failed(e.to_string()))?;
    Ok(format!(
        "Scored {} accounts with the {} model; {} candidate rings",
        report.accounts.len(),
        report.metrics.model.name(),
        report.clusters.len()
    ))
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
