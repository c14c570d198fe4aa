//! End-to-end scoring benchmark: the 1,000,000-transaction / 200,000-account fixture (with its
//! planted rings and partial noisy labels) is generated, ingested into a workspace, and scored
//! from the workspace — load, graph, detectors, features, cross-validation and the final fit.
//! Prints stage timings and peak memory. `scripts/bench-score.sh` runs it.
//!
//! Usage: bench_score [--workspace PATH] [--config benchmark|demo] [--folds N]
//! An existing workspace at PATH is reused (so repeated runs time scoring only).

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use anyhow::{Context, bail};
use sightline::fixtures::transactions::{TxGenConfig, write_dir};
use sightline::fraud::ingest;
use sightline::fraud::{ScoreOptions, score_workspace};
use sightline::store::{OpenMode, Workspace};

fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let mut ws_path = PathBuf::from("target/bench-score/benchmark.sqlite");
    let mut config = "benchmark".to_string();
    let mut folds = 5usize;
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--workspace" => ws_path = it.next().context("--workspace needs a path")?.into(),
            "--config" => config = it.next().context("--config needs a name")?,
            "--folds" => folds = it.next().context("--folds needs a number")?.parse()?,
            other => bail!("unknown argument {other}"),
        }
    }
    if !ws_path.exists() {
        let cfg = match config.as_str() {
            "benchmark" => TxGenConfig::benchmark(),
            "demo" => TxGenConfig::demo(),
            other => bail!("--config {other}: use benchmark or demo"),
        };
        let data = ws_path.with_extension("data");
        let t = Instant::now();
        let s = write_dir(&cfg, &data, false)?;
        eprintln!(
            "generated {} transactions, {} accounts in {:.1}s",
            s.transactions,
            s.accounts,
            t.elapsed().as_secs_f64()
        );
        let files: Vec<PathBuf> = [
            "accounts.csv",
            "merchants.csv",
            "transactions.csv",
            "labels.csv",
        ]
        .iter()
        .map(|f| data.join(f))
        .collect();
        let mut ws = Workspace::open(&ws_path, OpenMode::CreateIfMissing)?;
        let t = Instant::now();
        let plan = ingest::detect(&files, "native", None, &ingest::DetectOptions::default())?;
        let summary = ingest::run(
            &mut ws,
            &plan,
            &ingest::IngestOptions::default(),
            &AtomicBool::new(false),
            &|_| {},
        )?;
        eprintln!(
            "ingested {} rows in {:.1}s",
            summary.loaded,
            t.elapsed().as_secs_f64()
        );
    }
    let ws = Workspace::open(&ws_path, OpenMode::Existing)?;
    let opts = ScoreOptions {
        folds,
        ..Default::default()
    };
    let t = Instant::now();
    let report = score_workspace(ws.conn(), &opts, &AtomicBool::new(false), &|_| {})?;
    let total = t.elapsed().as_secs_f64();
    let m = &report.metrics;
    println!(
        "scored {} accounts, {} transactions ({} fraud / {} legit labels, model {}) in {total:.2} s on {} threads; peak memory {:.0} MiB",
        m.accounts,
        m.transactions,
        m.labelled_fraud,
        m.labelled_legit,
        m.model.name(),
        rayon::current_num_threads(),
        peak_rss_mib().unwrap_or(f64::NAN)
    );
    for (stage, secs) in &report.timings_secs {
        println!("  {stage:<18} {secs:>7.2} s");
    }
    if let Some(cv) = &m.cross_validation {
        println!("  CV PR-AUC {:?} ROC-AUC {:?}", cv.pr_auc, cv.roc_auc);
    }
    for n in &m.notes {
        println!("  note: {n}");
    }
    Ok(())
}
