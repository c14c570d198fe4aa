//! Applying a recipe to many images: files and folders (the CLI's `enhance IN...`) or library
//! assets (the GUI's "Apply recipe to selection", `enhance --workspace W --all`), either
//! rendered into an output folder or saved as each asset's recipe.
//!
//! Rendering goes through `imaging::batch::enhance_files`, which writes each output atomically
//! and records per-file failures; this module adds the output-folder check up front, names
//! outputs after SKUs, and turns blob paths back into asset names in messages.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::{AssetRow, LibraryError, asset, import::collect_files};
use crate::imaging::Recipe;
use crate::imaging::batch::{
    BatchFileError, BatchSummary, OutputNaming, OutputSpec, enhance_files,
};
use crate::imaging::encode::OutputFormat;
use crate::store::{BlobStore, Workspace};

/// Where rendered files go.
#[derive(Clone, Debug, PartialEq)]
pub struct OutputOptions {
    /// Output folder (created if missing).
    pub dir: PathBuf,
    /// File format.
    pub format: OutputFormat,
}

/// What a library batch does with each asset.
#[derive(Clone, Debug, PartialEq)]
pub enum BatchTarget {
    /// Render full size into a folder (names from SKUs).
    Folder(OutputOptions),
    /// Store the recipe with each asset (non-destructive; renders happen on demand).
    SaveToAssets,
}

/// One input that failed.
#[derive(Clone, Debug, PartialEq)]
pub struct BatchFailure {
    /// The input as people know it (SKU, file name or path).
    pub input: String,
    /// Why.
    pub reason: String,
}

/// What a batch did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BatchReport {
    /// Inputs in the batch.
    pub total: usize,
    /// Inputs that succeeded (files written or recipes saved).
    pub succeeded: usize,
    /// Files written, in input order.
    pub written: Vec<PathBuf>,
    /// Inputs that failed, with reasons.
    pub failures: Vec<BatchFailure>,
    /// Inputs not done because the batch was cancelled.
    pub not_done: usize,
    /// Whether the batch was cancelled.
    pub cancelled: bool,
    /// Wall-clock time.
    pub elapsed: Duration,
}

impl BatchReport {
    /// One line for a toast or the terminal.
    pub fn headline(&self) -> String {
        let mut s = format!(
            "{} of {} done, {} failed",
            self.succeeded,
            self.total,
            self.failures.len()
        );
        if self.cancelled {
            s.push_str(&format!(", cancelled ({} not done)", self.not_done));
        }
        s.push_str(&format!(" in {:.1} s", self.elapsed.as_secs_f32()));
        s
    }

    fn from_summary(summary: BatchSummary, total: usize, label: impl Fn(&Path) -> String) -> Self {
        let mut report = BatchReport {
            total,
            cancelled: summary.cancelled,
            elapsed: summary.elapsed,
            ..Self::default()
        };
        for outcome in summary.outcomes {
            match outcome.result {
                Ok(path) => {
                    report.succeeded += 1;
                    report.written.push(path);
                }
                Err(BatchFileError::Cancelled { .. }) => report.not_done += 1,
                Err(e) => {
                    let name = label(&outcome.input);
                    let reason = e
                        .to_string()
                        .replace(&outcome.input.display().to_string(), &name);
                    report.failures.push(BatchFailure {
                        input: name,
                        reason,
                    });
                }
            }
        }
        report
    }
}

/// Creates the output folder if needed and proves it can be written (by writing and removing
/// a probe file: permission bits alone say nothing for root or on network shares).
pub fn prepare_output_dir(dir: &Path) -> Result<(), LibraryError> {
    let fail = |reason: String| LibraryError::Output {
        dir: dir.display().to_string(),
        reason,
    };
    std::fs::create_dir_all(dir).map_err(|e| fail(format!("it cannot be created ({e})")))?;
    let probe = dir.join(format!(".sightline-probe-{}", std::process::id()));
    std::fs::write(&probe, b"probe").map_err(|e| fail(format!("it is not writable ({e})")))?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

/// Renders `recipe` over files and folders (walked recursively) into `out`, `jobs` at a time.
/// `progress(done, total, input)` is called after each file; `cancel` stops the batch.
pub fn enhance_paths(
    inputs: &[PathBuf],
    recipe: &Recipe,
    out: &OutputOptions,
    jobs: usize,
    cancel: &AtomicBool,
    progress: &(dyn Fn(usize, usize, &str) + Sync),
) -> Result<BatchReport, LibraryError> {
    prepare_output_dir(&out.dir)?;
    let (files, _) = collect_files(inputs);
    let spec = OutputSpec {
        dir: &out.dir,
        format: out.format,
        naming: OutputNaming::SameStem,
    };
    let summary = enhance_files(&files, recipe, &spec, jobs, cancel, |p| {
        progress(p.done, p.total, &p.outcome.input.display().to_string())
    });
    Ok(BatchReport::from_summary(summary, files.len(), |p| {
        p.display().to_string()
    }))
}

/// Applies `recipe` to library assets: renders them into a folder (each named after its SKU,
/// else its file name) or saves the recipe with each. Unknown ids are reported as failures.
pub fn apply_to_assets(
    workspace: &Path,
    ids: &[i64],
    recipe: &Recipe,
    target: &BatchTarget,
    jobs: usize,
    cancel: &AtomicBool,
    progress: &(dyn Fn(usize, usize, &str) + Sync),
) -> Result<BatchReport, LibraryError> {
    recipe.validate()?;
    let started = Instant::now();
    let mut conn = Workspace::connect(workspace)?;
    let mut rows: Vec<AssetRow> = Vec::with_capacity(ids.len());
    let mut missing = Vec::new();
    for &id in ids {
        match asset(&conn, id) {
            Ok(row) => rows.push(row),
            Err(LibraryError::NoSuchAsset { id }) => missing.push(BatchFailure {
                input: format!("asset {id}"),
                reason: LibraryError::NoSuchAsset { id }.to_string(),
            }),
            Err(e) => return Err(e),
        }
    }
    let mut report = match target {
        BatchTarget::SaveToAssets => save_to_assets(&mut conn, &rows, recipe, cancel, progress)?,
        BatchTarget::Folder(out) => {
            prepare_output_dir(&out.dir)?;
            let blobs = BlobStore::beside(workspace)?;
            let inputs: Vec<PathBuf> = rows.iter().map(|r| blobs.path_of(&r.blob_hash)).collect();
            let names: HashMap<PathBuf, String> = inputs
                .iter()
                .zip(&rows)
                .map(|(p, r)| (p.clone(), r.label()))
                .collect();
            let spec = OutputSpec {
                dir: &out.dir,
                format: out.format,
                naming: OutputNaming::Map(&names),
            };
            let summary = enhance_files(&inputs, recipe, &spec, jobs, cancel, |p| {
                let name = names.get(&p.outcome.input).map_or("", String::as_str);
                progress(p.done, p.total, name)
            });
            BatchReport::from_summary(summary, rows.len(), |p| {
                names
                    .get(p)
                    .cloned()
                    .unwrap_or_else(|| p.display().to_string())
            })
        }
    };
    report.total += missing.len();
    report.failures.splice(0..0, missing);
    report.elapsed = started.elapsed();
    Ok(report)
}

/// Saves the recipe on every asset in one transaction; a cancel rolls all of it back.
fn save_to_assets(
    conn: &mut rusqlite::Connection,
    rows: &[AssetRow],
    recipe: &Recipe,
    cancel: &AtomicBool,
    progress: &(dyn Fn(usize, usize, &str) + Sync),
) -> Result<BatchReport, LibraryError> {
    let json = recipe.to_json();
    let tx = conn.transaction()?;
    {
        let mut stmt = tx.prepare_cached("UPDATE assets SET recipe = ?2 WHERE id = ?1")?;
        for (i, row) in rows.iter().enumerate() {
            if cancel.load(Ordering::Relaxed) {
                return Ok(BatchReport {
                    total: rows.len(),
                    not_done: rows.len(),
                    cancelled: true,
                    ..BatchReport::default()
                });
            }
            stmt.execute(rusqlite::params![row.id, json])?;
            if (i + 1) % 100 == 0 || i + 1 == rows.len() {
                progress(i + 1, rows.len(), &row.label());
            }
        }
    }
    tx.commit()?;
    Ok(BatchReport {
        total: rows.len(),
        succeeded: rows.len(),
        ..BatchReport::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::imaging::Preset;
    use crate::library::{ProductMeta, asset_recipe, import_image};
    use crate::store::OpenMode;

    fn small_png(seed: u32) -> Vec<u8> {
        let img = image::RgbImage::from_fn(24, 18, |x, y| {
            let inside = (6..18).contains(&x) && (5..13).contains(&y);
            if inside {
                image::Rgb([(40 + seed % 100) as u8, 70, 150])
            } else {
                image::Rgb([238, 236, 230])
            }
        });
        let mut out = Vec::new();
        img.write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
            .expect("encode");
        out
    }

    fn quick_recipe() -> Recipe {
        let mut r = Preset::Clean.recipe();
        r.denoise = None;
        r
    }

    #[test]
    fn assets_render_under_their_sku_and_recipes_save() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("w.sqlite");
        let mut ws = Workspace::open(&path, OpenMode::CreateIfMissing).expect("open");
        let meta = ProductMeta {
            sku: "SL-MUG-001".into(),
            ..ProductMeta::default()
        };
        let a = import_image(&mut ws, "mug.png", &small_png(1), Some(&meta))
            .expect("a")
            .id();
        let b = import_image(&mut ws, "plain.png", &small_png(2), None)
            .expect("b")
            .id();
        let out = dir.path().join("out");
        let report = apply_to_assets(
            &path,
            &[a, b, 999],
            &quick_recipe(),
            &BatchTarget::Folder(OutputOptions {
                dir: out.clone(),
                format: OutputFormat::Jpeg { quality: 90 },
            }),
            2,
            &AtomicBool::new(false),
            &|_, _, _| {},
        )
        .expect("batch");
        assert_eq!(report.succeeded, 2, "{report:?}");
        assert_eq!(report.total, 3);
        assert_eq!(report.failures.len(), 1);
        assert_eq!(report.failures[0].input, "asset 999");
        assert!(out.join("SL-MUG-001.jpg").exists());
        assert!(out.join("plain.jpg").exists());

        let report = apply_to_assets(
            &path,
            &[a, b],
            &quick_recipe(),
            &BatchTarget::SaveToAssets,
            1,
            &AtomicBool::new(false),
            &|_, _, _| {},
        )
        .expect("save");
        assert_eq!(report.succeeded, 2);
        assert_eq!(
            asset_recipe(ws.conn(), b).expect("recipe"),
            Some(quick_recipe())
        );
    }

    #[test]
    fn output_folder_under_a_file_is_refused_up_front() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("plain-file");
        std::fs::write(&file, b"x").expect("write");
        let err = prepare_output_dir(&file.join("out")).expect_err("impossible folder");
        let msg = err.to_string();
        assert!(
            msg.contains("cannot be created") && msg.contains("plain-file"),
            "{msg}"
        );
    }
}
