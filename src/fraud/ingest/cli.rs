//! The `sightline ingest` and `sightline labels` subcommands: argument structs for `main` and
//! the functions that run them and print the summary (human-readable, or one JSON object).

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use anyhow::Context;

use super::{
    DEFAULT_GZIP_MAX_BYTES, DEFAULT_GZIP_MAX_RATIO, DEFAULT_RECORD_CAP_BYTES, DetectOptions,
    FileOutcome, IndexStrategy, IngestOptions, IngestProgress, IngestSummary, Mapping, Phase,
    SourceLimits, detect, labels, run,
};
use crate::store::{OpenMode, Workspace};

/// `sightline ingest`: load transaction exports into a workspace.
#[derive(clap::Args, Debug, Clone)]
pub struct IngestArgs {
    /// The workspace file (created if missing).
    #[arg(long, env = "SIGHTLINE_WORKSPACE")]
    pub workspace: PathBuf,
    /// The format: auto-detected from each header, or one of native, amlsim, amlsim-sample,
    /// amlworld, paysim, ieee-cis.
    #[arg(long, default_value = "auto")]
    pub preset: String,
    /// A mapping file (TOML) for exports no preset knows; see docs/formats.md.
    #[arg(long)]
    pub mapping: Option<PathBuf>,
    /// Drop every label column (isFraud, is_sar, Is Laundering, …) and skip labels files.
    #[arg(long)]
    pub no_labels: bool,
    /// Print the summary as one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
    /// Only detect and preview: print the plan, write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Longest record accepted, in bytes; longer ones are rejected.
    #[arg(long, default_value_t = DEFAULT_RECORD_CAP_BYTES)]
    pub record_cap: usize,
    /// Decompressed bytes allowed per compressed byte of a .gz file.
    #[arg(long, default_value_t = DEFAULT_GZIP_MAX_RATIO)]
    pub gzip_max_ratio: u64,
    /// Decompressed bytes allowed per .gz file.
    #[arg(long, default_value_t = DEFAULT_GZIP_MAX_BYTES)]
    pub gzip_max_bytes: u64,
    /// Rows per committed batch.
    #[arg(long, default_value_t = 250_000)]
    pub batch_rows: usize,
    /// Index maintenance for large loads: auto, keep or rebuild.
    #[arg(long, default_value = "auto", value_parser = parse_strategy)]
    pub indexes: IndexStrategy,
    /// The files: CSV (any delimiter), .csv.gz or JSON Lines.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
}

fn parse_strategy(s: &str) -> Result<IndexStrategy, String> {
    match s {
        "auto" => Ok(IndexStrategy::Auto),
        "keep" => Ok(IndexStrategy::Keep),
        "rebuild" => Ok(IndexStrategy::Rebuild),
        other => Err(format!("{other:?}: use auto, keep or rebuild")),
    }
}

/// `sightline labels`: the analyst's labels, kept apart from the data.
#[derive(clap::Args, Debug, Clone)]
pub struct LabelsArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: LabelsCommand,
}

/// The `labels` subcommands.
#[derive(clap::Subcommand, Debug, Clone)]
pub enum LabelsCommand {
    /// Import `entity_id,label` rows (label fraud or legit).
    Import {
        /// The workspace file.
        #[arg(long, env = "SIGHTLINE_WORKSPACE")]
        workspace: PathBuf,
        /// Recorded with each label (who or what said so).
        #[arg(long, default_value = "analyst")]
        source: String,
        /// Print the summary as JSON.
        #[arg(long)]
        json: bool,
        /// The labels file.
        file: PathBuf,
    },
    /// Revoke the labels of accounts, named on the command line or in a file.
    Revoke {
        /// The workspace file.
        #[arg(long, env = "SIGHTLINE_WORKSPACE")]
        workspace: PathBuf,
        /// A file of account ids (entity_id column, or one id per line).
        #[arg(long)]
        file: Option<PathBuf>,
        /// Print the summary as JSON.
        #[arg(long)]
        json: bool,
        /// Account ids.
        ids: Vec<String>,
    },
}

impl IngestArgs {
    fn limits(&self) -> SourceLimits {
        SourceLimits {
            record_cap_bytes: self.record_cap,
            gzip_max_ratio: self.gzip_max_ratio,
            gzip_max_bytes: self.gzip_max_bytes,
        }
    }
}

/// Runs `sightline ingest`: detect, then load, then print the summary.
pub fn run_ingest_cli(args: IngestArgs) -> anyhow::Result<()> {
    let mapping = match &args.mapping {
        Some(p) => Some(Mapping::load(p)?),
        None => None,
    };
    let detect_opts = DetectOptions {
        preview_rows: if args.dry_run { 5 } else { 0 },
        limits: args.limits(),
        no_labels: args.no_labels,
    };
    let plan = detect(&args.files, &args.preset, mapping.as_ref(), &detect_opts)?;
    if args.dry_run {
        if args.json {
            println!("{}", serde_json::to_string_pretty(&plan)?);
        } else {
            for f in &plan.files {
                println!(
                    "{}: {} ({}), columns: {}",
                    f.path.display(),
                    f.role.as_str(),
                    f.mapping_name,
                    f.columns
                        .iter()
                        .map(|c| if c.used_for.is_empty() {
                            format!("{} (ignored)", c.column)
                        } else {
                            format!("{} → {}", c.column, c.used_for.join("+"))
                        })
                        .collect::<Vec<_>>()
                        .join(", ")
                );
                for n in &f.notes {
                    println!("  note: {n}");
                }
                for r in &f.preview {
                    let vals: Vec<String> =
                        r.values.iter().map(|(k, v)| format!("{k}={v}")).collect();
                    let probs: Vec<&str> = r.problems.iter().map(|p| p.reason.as_str()).collect();
                    if probs.is_empty() {
                        println!("  line {}: {}", r.line, vals.join(" "));
                    } else {
                        println!("  line {}: REJECT {}", r.line, probs.join("; "));
                    }
                }
            }
        }
        return Ok(());
    }
    if !args.json {
        for f in &plan.files {
            for n in &f.notes {
                eprintln!("{}: {n}", f.path.display());
            }
        }
    }
    let mut ws = Workspace::open(&args.workspace, OpenMode::CreateIfMissing)
        .with_context(|| format!("opening workspace {}", args.workspace.display()))?;
    let opts = IngestOptions {
        no_labels: args.no_labels,
        limits: args.limits(),
        batch_rows: args.batch_rows.max(1),
        index_strategy: args.indexes,
        // This process holds the workspace for the load (another one already connected to it
        // keeps the load in WAL mode).
        sole_writer: true,
    };
    let cancel = AtomicBool::new(false);
    let chatty = !args.json && std::io::stderr().is_terminal();
    let last = std::cell::Cell::new(Instant::now());
    let progress = |p: &IngestProgress| {
        if chatty && (last.get().elapsed() > Duration::from_secs(2) || p.phase == Phase::Indexing) {
            last.set(Instant::now());
            eprintln!(
                "{}: {:?} {} rows ({} loaded, {} rejected, {} duplicates), {} of {} MB",
                p.path.display(),
                p.phase,
                p.rows_read,
                p.loaded,
                p.rejected,
                p.duplicates,
                p.bytes_read >> 20,
                p.bytes_total >> 20
            );
        }
    };
    let summary = run(&mut ws, &plan, &opts, &cancel, &progress)?;
    print_summary(&summary, args.json)
}

fn print_summary(s: &IngestSummary, json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string(s)?);
        return Ok(());
    }
    for f in &s.files {
        let what = match f.outcome {
            FileOutcome::Loaded => "loaded",
            FileOutcome::Resumed => "resumed",
            FileOutcome::AlreadyLoaded => "already loaded",
            FileOutcome::Skipped => "skipped",
            FileOutcome::Cancelled => "cancelled",
        };
        println!(
            "{}: {} ({}), {}: {} rows read = {} loaded + {} rejected + {} duplicates; {} accounts created ({:.2} s)",
            f.path.display(),
            f.role.as_str(),
            f.preset,
            what,
            f.rows_read,
            f.loaded,
            f.rejected,
            f.duplicates,
            f.accounts_created,
            f.elapsed_secs
        );
        if let Some(m) = &f.message {
            println!("  {m}");
        }
        if let Some(r) = &f.rejects_path {
            println!("  rejected rows: {}", r.display());
        }
    }
    println!(
        "total: {} rows read = {} loaded + {} rejected + {} duplicates in {:.2} s{}",
        s.rows_read,
        s.loaded,
        s.rejected,
        s.duplicates,
        s.elapsed_secs,
        if s.cancelled {
            " (cancelled: run again to resume)"
        } else {
            ""
        }
    );
    Ok(())
}

/// Runs `sightline labels import|revoke` and prints what changed.
pub fn run_labels_cli(args: LabelsArgs) -> anyhow::Result<()> {
    let (summary, json) = match args.command {
        LabelsCommand::Import {
            workspace,
            source,
            json,
            file,
        } => {
            let mut ws = Workspace::open(&workspace, OpenMode::Existing)?;
            (labels::import(&mut ws, &file, &source)?, json)
        }
        LabelsCommand::Revoke {
            workspace,
            file,
            json,
            ids,
        } => {
            if file.is_none() && ids.is_empty() {
                anyhow::bail!("name the accounts to revoke: account ids, or --file FILE");
            }
            let mut ws = Workspace::open(&workspace, OpenMode::Existing)?;
            let mut total = labels::revoke(&mut ws, &ids)?;
            if let Some(f) = file {
                let s = labels::revoke_file(&mut ws, &f)?;
                total.rows_read += s.rows_read;
                total.loaded += s.loaded;
                total.rejected += s.rejected;
                total.duplicates += s.duplicates;
                total.rejects_path = s.rejects_path;
            }
            (total, json)
        }
    };
    if json {
        println!("{}", serde_json::to_string(&summary)?);
    } else {
        println!(
            "{} rows read = {} changed + {} rejected + {} unchanged",
            summary.rows_read, summary.loaded, summary.rejected, summary.duplicates
        );
        if let Some(r) = &summary.rejects_path {
            println!("  rejected rows: {}", r.display());
        }
    }
    Ok(())
}
