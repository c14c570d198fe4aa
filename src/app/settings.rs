//! The user's settings and UI state that persist between runs (one serde struct, defaults for
//! anything missing so older files keep loading). Provider keys never live here.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Which work area is shown.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum View {
    /// Recent workspaces and the workspace summary.
    #[default]
    Home,
    /// Product library and lookbooks.
    Lookbook,
    /// Accounts, transactions and rings.
    Fraud,
}

impl View {
    /// The label on the view's tab.
    pub fn label(self) -> &'static str {
        match self {
            View::Home => "Home",
            View::Lookbook => "Lookbook",
            View::Fraud => "Fraud graph",
        }
    }

    /// Every view, in tab order.
    pub const ALL: [View; 3] = [View::Home, View::Lookbook, View::Fraud];
}

/// Light, dark, or follow the system.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum ThemeChoice {
    #[default]
    System,
    Light,
    Dark,
}

/// Everything that persists between runs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Colour theme.
    pub theme: ThemeChoice,
    /// UI zoom factor (1.0 = 100 %).
    pub ui_scale: f32,
    /// Where new workspaces are created by default.
    pub workspace_folder: PathBuf,
    /// Worker threads for CPU jobs; 0 = one per core. Takes effect on the next start.
    pub worker_threads: usize,
    /// Most recently opened workspaces, newest first.
    pub recent_workspaces: Vec<PathBuf>,
    /// The view shown last.
    pub view: View,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            theme: ThemeChoice::System,
            ui_scale: 1.0,
            workspace_folder: crate::store::default_workspace_path()
                .parent()
                .map(|p| p.to_path_buf())
                .unwrap_or_default(),
            worker_threads: 0,
            recent_workspaces: Vec::new(),
            view: View::Home,
        }
    }
}

/// How many recent workspaces are remembered.
pub const MAX_RECENT: usize = 10;

impl Settings {
    /// Puts `path` first in the recent list (no duplicates, bounded).
    pub fn remember(&mut self, path: &std::path::Path) {
        self.recent_workspaces.retain(|p| p != path);
        self.recent_workspaces.insert(0, path.to_path_buf());
        self.recent_workspaces.truncate(MAX_RECENT);
    }

    /// Clamps values a hand-edited or old file may have out of range.
    pub fn sanitized(mut self) -> Self {
        if !(0.5..=3.0).contains(&self.ui_scale) {
            self.ui_scale = 1.0;
        }
        self.worker_threads = self.worker_threads.min(256);
        self.recent_workspaces.truncate(MAX_RECENT);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recent_list_is_newest_first_without_duplicates() {
        let mut s = Settings::default();
        for p in ["a", "b", "a", "c"] {
            s.remember(std::path::Path::new(p));
        }
        let names: Vec<_> = s
            .recent_workspaces
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        assert_eq!(names, ["c", "a", "b"]);
        for i in 0..30 {
            s.remember(std::path::Path::new(&format!("w{i}")));
        }
        assert_eq!(s.recent_workspaces.len(), MAX_RECENT);
    }

    #[test]
    fn old_or_partial_files_load_with_defaults() {
        let s: Settings = serde_json::from_str(r#"{"ui_scale": 9.0, "view": "Fraud"}"#)
            .expect("partial settings parse");
        let s = s.sanitized();
        assert_eq!(s.view, View::Fraud);
        assert_eq!(s.ui_scale, 1.0);
        assert_eq!(s.theme, ThemeChoice::System);
    }
}
