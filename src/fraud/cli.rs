//! `sightline score`: command-line arguments and the thin driver over [`score_workspace`].

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

use anyhow::Context;

use super::score::{ScoreOptions, ScoreProgress, ScoreStage, score_workspace};
use crate::store::{OpenMode, Workspace, now_secs};

/// Arguments of `sightline score`.
#[derive(clap::Args, Debug, Clone)]
pub struct ScoreArgs {
    /// Workspace file to score.
    #[arg(long)]
    pub workspace: PathBuf,
    /// Folder for accounts.csv, clusters.csv and metrics.json (created if missing).
    #[arg(long)]
    pub out: PathBuf,
    /// Seed for every random step; the same seed gives byte-identical files.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Cross-validation folds.
    #[arg(long, default_value_t = 5)]
    pub folds: usize,
    /// Use the unsupervised score even when the workspace has labels.
    #[arg(long)]
    pub unsupervised: bool,
    /// Do not keep the scores in the workspace (files only).
    #[arg(long)]
    pub no_persist: bool,
    /// Print nothing but errors.
    #[arg(long)]
    pub quiet: bool,
}

/// Runs `sightline score`.
pub fn run_score_cli(args: ScoreArgs) -> anyhow::Result<()> {
    let ws = Workspace::open(&args.workspace, OpenMode::Existing)
        .with_context(|| format!("opening workspace {}", args.workspace.display()))?;
    let opts = ScoreOptions {
        seed: args.seed,
        folds: args.folds,
        unsupervised: args.unsupervised,
        ..Default::default()
    };
    let cancel = AtomicBool::new(false);
    let quiet = args.quiet;
    let progress = move |p: ScoreProgress| {
        if !quiet && !matches!(p.stage, ScoreStage::Done) {
            eprintln!("score: {:>3.0}% {:?}", p.fraction * 100.0, p.stage);
        }
    };
    let report = score_workspace(ws.conn(), &opts, &cancel, &progress)
        .with_context(|| format!("scoring workspace {}", args.workspace.display()))?;
    report.write_dir(&args.out)?;
    if !args.no_persist {
        report.persist(ws.conn(), now_secs())?;
    }
    if !quiet {
        let m = &report.metrics;
        eprintln!(
            "score: model in use: {} ({})",
            m.model.name(),
            m.model_reason
        );
        if let Some(cv) = &m.cross_validation {
            let fmt = |x: Option<f64>| x.map_or("n/a".to_string(), |v| format!("{v:.3}"));
            eprintln!(
                "score: cross-validated PR-AUC {} ROC-AUC {} R-precision {} on {} labelled accounts",
                fmt(cv.pr_auc),
                fmt(cv.roc_auc),
                fmt(cv.r_precision),
                cv.evaluated
            );
        }
        let total: f64 = report.timings_secs.iter().map(|t| t.1).sum();
        let parts: Vec<String> = report
            .timings_secs
            .iter()
            .map(|(k, v)| format!("{k} {v:.2}s"))
            .collect();
        eprintln!(
            "score: {} accounts, {} clusters in {total:.2}s ({})",
            m.accounts,
            m.clusters,
            parts.join(", ")
        );
        eprintln!("score: wrote {}", args.out.display());
    }
    Ok(())
}
