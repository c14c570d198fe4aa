//! Everything the UI can ask for. Views push commands; the app applies them once a frame, so
//! no view mutates application state directly.

use std::path::PathBuf;

use super::settings::{ThemeChoice, View};
use crate::jobs::JobId;

/// Which paged table a request is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Table {
    Accounts,
    Transactions,
}

/// Why a file dialog was opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PickPurpose {
    /// Open an existing workspace.
    OpenWorkspace,
    /// Choose where to build a new demo workspace.
    NewDemoWorkspace,
    /// Choose the default folder for new workspaces.
    WorkspaceFolder,
    /// Choose transaction/account/label files to import.
    ImportFiles,
    /// Choose a mapping file (TOML) for the import.
    MappingFile,
}

/// A request from the UI.
#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    SetView(View),
    OpenWorkspace(PathBuf),
    BuildDemo(PathBuf),
    Pick(PickPurpose),
    ForgetRecent(PathBuf),
    CancelJob(JobId),
    ShowSettings(bool),
    ShowHelp(bool),
    SetTheme(ThemeChoice),
    SetUiScale(f32),
    SetWorkerThreads(usize),
    SetFilter {
        table: Table,
        filter: String,
    },
    RequestPages {
        table: Table,
        pages: Vec<usize>,
    },
    Library(super::library::LibraryCommand),
    DismissToast(u64),
    /// Files dropped onto the window.
    FilesDropped(Vec<PathBuf>),
    /// Open the import dialog with these files (none: the user picks).
    OpenImport(Vec<PathBuf>),
    ImportSetPreset(String),
    ImportSetNoLabels(bool),
    /// Detect again with this mapping (from the editor, or a loaded file); save it too when a
    /// path is given.
    ImportUseMapping {
        mapping: Box<crate::fraud::ingest::Mapping>,
        save_to: Option<PathBuf>,
    },
    StartImport,
    CloseImport,
    /// Score every account and ring now (trains on the current labels).
    ScoreNow,
    ShowRejects(PathBuf),
    CloseRejects,
}
