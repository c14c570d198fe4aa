//! The library's command-line front end: `sightline assets import|list` and
//! `sightline enhance`. Arguments are parsed here; the work is the same library code the GUI
//! runs. Progress goes to stderr, summaries to stdout; a run where anything failed exits 1.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use anyhow::{Context, bail};
use clap::{Args, Subcommand, ValueEnum};

use super::batch::{BatchReport, BatchTarget, OutputOptions, apply_to_assets, enhance_paths};
use super::{AssetFilter, ImportOptions, list_filtered, read_metadata_csv, recipe_by_name};
use crate::imaging::Recipe;
use crate::imaging::encode::OutputFormat;
use crate::store::{OpenMode, Workspace};

/// `sightline assets …`
#[derive(Debug, Subcommand)]
pub enum AssetsCommand {
    /// Import image files and folders (recursively) into the workspace's library.
    Import(ImportArgs),
    /// List the library's assets.
    List(ListArgs),
}

/// Arguments of `assets import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Product metadata CSV (sku,name,price,category,colour[,image]); rows match assets by
    /// image file name, else by SKU (or a file named SKU.jpg).
    #[arg(long, value_name = "products.csv")]
    pub metadata: Option<PathBuf>,
    /// Tag every imported asset (repeatable; commas separate several).
    #[arg(long = "tag", value_name = "TAG")]
    pub tags: Vec<String>,
    /// Image files (JPEG, PNG, WebP) and folders.
    #[arg(value_name = "DIR|FILE")]
    pub paths: Vec<PathBuf>,
}

/// Arguments of `assets list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only assets whose SKU, name, category, colour, tags or file name contain this.
    #[arg(long)]
    pub filter: Option<String>,
    /// Only this category.
    #[arg(long)]
    pub category: Option<String>,
    /// Only assets with this tag.
    #[arg(long)]
    pub tag: Option<String>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Output formats of `enhance`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    Png,
    Jpeg,
    Webp,
}

/// Arguments of `enhance`.
#[derive(Debug, Args)]
pub struct EnhanceArgs {
    /// A preset (restore-2x, marketplace-square, clean, banner), a recipe JSON file, or the
    /// name of a recipe saved in the workspace.
    #[arg(long, value_name = "PRESET|FILE.json")]
    pub recipe: String,
    /// Output folder (created if missing).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Images rendered at once (default: one per core).
    #[arg(long, value_name = "N")]
    pub jobs: Option<usize>,
    /// Output format.
    #[arg(long, value_enum, default_value = "png")]
    pub format: FormatArg,
    /// JPEG quality, 1–100.
    #[arg(long, value_name = "Q", default_value_t = 90, value_parser = clap::value_parser!(u8).range(1..=100))]
    pub quality: u8,
    /// Enhance every asset of the workspace's library (outputs named after SKUs).
    #[arg(long, conflicts_with = "inputs")]
    pub all: bool,
    /// Image files and folders.
    #[arg(value_name = "IN", required_unless_present = "all")]
    pub inputs: Vec<PathBuf>,
}

/// Runs `assets import|list` against `workspace`.
pub fn run_assets(workspace: &Path, command: AssetsCommand) -> anyhow::Result<()> {
    match command {
        AssetsCommand::Import(args) => import(workspace, args),
        AssetsCommand::List(args) => list(workspace, args),
    }
}

fn import(workspace: &Path, args: ImportArgs) -> anyhow::Result<()> {
    if args.paths.is_empty() && args.metadata.is_none() {
        bail!("nothing to import: name image files or folders (or --metadata products.csv)");
    }
    let metadata = match &args.metadata {
        Some(csv) => {
            let file = std::fs::File::open(csv)
                .with_context(|| format!("could not open metadata file {}", csv.display()))?;
            read_metadata_csv(&csv.display().to_string(), file)?
        }
        None => Vec::new(),
    };
    let created = !workspace.exists();
    let mut ws = Workspace::open(workspace, OpenMode::CreateIfMissing)?;
    if created {
        eprintln!("created workspace {}", workspace.display());
    }
    let opts = ImportOptions {
        metadata,
        tags: args.tags,
    };
    let cancel = AtomicBool::new(false);
    let summary = super::import_paths(&mut ws, &args.paths, &opts, &cancel, &|done, total, f| {
        eprintln!("[{done:>4}/{total}] {}", f.display());
    })?;
    println!("{}: {}", workspace.display(), summary.headline());
    for d in &summary.duplicates {
        println!("  duplicate: {} (already asset {})", d.0.display(), d.1);
    }
    for f in &summary.failed {
        println!("  failed: {}", f.reason);
    }
    if let Some(m) = &summary.metadata {
        for sku in &m.unmatched {
            println!("  metadata row {sku} matched no asset");
        }
    }
    if !args.paths.is_empty() && summary.files() == 0 {
        bail!("no image files found in the given paths (JPEG, PNG and WebP are imported)");
    }
    if summary.files() > 0 && summary.failed.len() == summary.files() {
        bail!("every file failed to import");
    }
    Ok(())
}

fn list(workspace: &Path, args: ListArgs) -> anyhow::Result<()> {
    let conn = Workspace::connect(workspace)?;
    let filter = AssetFilter {
        text: args.filter.unwrap_or_default(),
        category: args.category.unwrap_or_default(),
        tag: args.tag.unwrap_or_default(),
    };
    let rows = list_filtered(&conn, &filter)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    println!(
        "{:>5}  {:<12} {:<32} {:<12} {:>9}  {:>11}  {:<20} file",
        "id", "sku", "name", "category", "price", "size", "tags"
    );
    for r in &rows {
        println!(
            "{:>5}  {:<12} {:<32} {:<12} {:>9}  {:>11}  {:<20} {}",
            r.id,
            r.sku.as_deref().unwrap_or("-"),
            truncate(r.name.as_deref().unwrap_or("-"), 32),
            truncate(r.category.as_deref().unwrap_or("-"), 12),
            r.price
                .map(|p| format!("{p:.2}"))
                .unwrap_or_else(|| "-".into()),
            format!("{}x{}", r.width_px, r.height_px),
            truncate(&r.tags, 20),
            r.file_name
        );
    }
    eprintln!("{} asset(s)", rows.len());
    Ok(())
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

/// Resolves `--recipe`: a JSON file, a preset, or a recipe saved in the workspace.
fn resolve_recipe(spec: &str, workspace: Option<&Path>) -> anyhow::Result<Recipe> {
    let path = Path::new(spec);
    if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"))
        || path.is_file()
    {
        return Ok(Recipe::load(path)?);
    }
    let conn = match workspace.filter(|w| w.exists()) {
        Some(w) => Some(Workspace::connect(w)?),
        None => None,
    };
    Ok(recipe_by_name(conn.as_ref(), spec)?)
}

/// Runs `enhance`. `workspace` is used with `--all` and to resolve saved recipe names.
pub fn run_enhance(workspace: &Path, args: EnhanceArgs) -> anyhow::Result<()> {
    let recipe = resolve_recipe(&args.recipe, Some(workspace))?;
    let format = match args.format {
        FormatArg::Png => OutputFormat::Png,
        FormatArg::Jpeg => OutputFormat::Jpeg {
            quality: args.quality,
        },
        FormatArg::Webp => OutputFormat::WebpLossless,
    };
    let jobs = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    let out = OutputOptions {
        dir: args.out.clone(),
        format,
    };
    let cancel = AtomicBool::new(false);
    let progress = |done: usize, total: usize, name: &str| {
        let pct = (done * 100).checked_div(total).unwrap_or(100);
        eprintln!("[{pct:>3}%] {done}/{total} {name}");
    };
    let report = if args.all {
        let conn = Workspace::connect(workspace)?;
        let ids: Vec<i64> = list_filtered(&conn, &AssetFilter::default())?
            .iter()
            .map(|r| r.id)
            .collect();
        drop(conn);
        if ids.is_empty() {
            bail!("the library of {} has no assets", workspace.display());
        }
        apply_to_assets(
            workspace,
            &ids,
            &recipe,
            &BatchTarget::Folder(out),
            jobs,
            &cancel,
            &progress,
        )?
    } else {
        enhance_paths(&args.inputs, &recipe, &out, jobs, &cancel, &progress)?
    };
    print_report(&report, &args.out, &recipe);
    if report.total == 0 {
        bail!("no image files found in the given inputs");
    }
    if !report.failures.is_empty() {
        bail!(
            "{} of {} image(s) failed",
            report.failures.len(),
            report.total
        );
    }
    Ok(())
}

fn print_report(report: &BatchReport, out: &Path, recipe: &Recipe) {
    let name = if recipe.name.is_empty() {
        "custom recipe"
    } else {
        &recipe.name
    };
    println!(
        "enhance ({name}) into {}: {}",
        out.display(),
        report.headline()
    );
    for f in &report.failures {
        println!("  failed: {}: {}", f.input, f.reason);
    }
}
