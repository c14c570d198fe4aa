//! Batch enhancement: run one recipe over many files, writing results atomically, recording
//! per-file failures and carrying on.
//!
//! Concurrency: `jobs` dispatcher threads each take the next file from a shared counter and
//! render it inside a rayon pool of `jobs` threads (so the operations' own parallel loops use
//! the same cores). A file is only picked up when a dispatcher is free, so at most `jobs`
//! images are in memory at once whatever the batch size. Work-stealing is kept out of the
//! file level on purpose: a rayon worker blocked in a join could otherwise start another
//! whole file and hold two images.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::decode::{DecodeError, decode_file};
use super::encode::{EncodeError, OutputFormat, encode};
use super::recipe::Recipe;
use super::render::{ImagingError, RenderOptions, render};

/// How output files are named (the extension comes from the format).
#[derive(Clone, Copy)]
pub enum OutputNaming<'a> {
    /// The input's file stem.
    SameStem,
    /// A stem per input path (the app passes SKUs); unmapped inputs keep their stem.
    Map(&'a HashMap<PathBuf, String>),
    /// A function from input path to stem.
    Callback(&'a (dyn Fn(&Path) -> String + Sync)),
}

impl std::fmt::Debug for OutputNaming<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::SameStem => write!(f, "SameStem"),
            Self::Map(m) => write!(f, "Map({} entries)", m.len()),
            Self::Callback(_) => write!(f, "Callback"),
        }
    }
}

/// Where and how results are written.
#[derive(Clone, Copy, Debug)]
pub struct OutputSpec<'a> {
    /// Output directory (must exist).
    pub dir: &'a Path,
    /// File format.
    pub format: OutputFormat,
    /// File naming.
    pub naming: OutputNaming<'a>,
}

/// Why one file failed.
#[derive(Debug, thiserror::Error)]
pub enum BatchFileError {
    /// Could not read or decode the input.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// The recipe failed on this image.
    #[error("rendering {input} failed: {source}")]
    Render {
        /// The input.
        input: PathBuf,
        /// The cause.
        #[source]
        source: ImagingError,
    },
    /// Could not encode the result.
    #[error("encoding the result of {input} failed: {source}")]
    Encode {
        /// The input.
        input: PathBuf,
        /// The cause.
        #[source]
        source: EncodeError,
    },
    /// Could not write the output.
    #[error(
        "could not write {path}: {source}; check that the output folder exists, is writable and has space"
    )]
    Write {
        /// The output (or its temporary file).
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The batch was cancelled before or while this file was processed.
    #[error("cancelled before {input} was finished")]
    Cancelled {
        /// The input.
        input: PathBuf,
    },
}

/// The result for one input.
#[derive(Debug)]
pub struct FileOutcome {
    /// The input path.
    pub input: PathBuf,
    /// The written file, or why there is none.
    pub result: Result<PathBuf, BatchFileError>,
    /// Output size in pixels (0 on failure).
    pub output_pixels: u64,
}

/// Reported after each file.
#[derive(Debug)]
pub struct BatchProgress<'a> {
    /// Files finished so far (including failures).
    pub done: usize,
    /// Files in the batch.
    pub total: usize,
    /// The file just finished.
    pub outcome: &'a FileOutcome,
}

/// What a batch did.
#[derive(Debug, Default)]
pub struct BatchSummary {
    /// One entry per input, in input order.
    pub outcomes: Vec<FileOutcome>,
    /// Whether the cancel flag stopped the batch.
    pub cancelled: bool,
    /// Wall-clock time.
    pub elapsed: Duration,
}

impl BatchSummary {
    /// Files written.
    pub fn succeeded(&self) -> usize {
        self.outcomes.iter().filter(|o| o.result.is_ok()).count()
    }

    /// Inputs that failed (cancellations excluded) with their errors.
    pub fn failures(&self) -> Vec<(&Path, &BatchFileError)> {
        self.outcomes
            .iter()
            .filter_map(|o| match &o.result {
                Err(BatchFileError::Cancelled { .. }) | Ok(_) => None,
                Err(e) => Some((o.input.as_path(), e)),
            })
            .collect()
    }

    /// Inputs skipped or stopped by cancellation.
    pub fn cancelled_count(&self) -> usize {
        self.outcomes
            .iter()
            .filter(|o| matches!(o.result, Err(BatchFileError::Cancelled { .. })))
            .count()
    }

    /// Output megapixels written.
    pub fn output_megapixels(&self) -> f64 {
        self.outcomes
            .iter()
            .map(|o| o.output_pixels as f64)
            .sum::<f64>()
            / 1e6
    }
}

/// Makes a stem safe as a single file name.
fn sanitise_stem(stem: &str) -> String {
    let s: String = stem
        .chars()
        .map(|c| match c {
            '/' | '\\' | ':' | '\0' => '_',
            c => c,
        })
        .collect();
    let s = s.trim().trim_start_matches('.').to_owned();
    if s.is_empty() { "image".to_owned() } else { s }
}

/// Output paths for every input, with `-2`, `-3`… appended to repeated names.
fn output_paths(inputs: &[PathBuf], out: &OutputSpec<'_>) -> Vec<PathBuf> {
    let own_stem = |p: &Path| {
        p.file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    let mut used = HashSet::new();
    inputs
        .iter()
        .map(|p| {
            let stem = match out.naming {
                OutputNaming::SameStem => own_stem(p),
                OutputNaming::Map(m) => m.get(p).cloned().unwrap_or_else(|| own_stem(p)),
                OutputNaming::Callback(f) => f(p),
            };
            let stem = sanitise_stem(&stem);
            let mut name = stem.clone();
            let mut k = 2;
            while !used.insert(name.clone()) {
                name = format!("{stem}-{k}");
                k += 1;
            }
            out.dir.join(format!("{name}.{}", out.format.extension()))
        })
        .collect()
}

static TEMP_COUNTER: AtomicUsize = AtomicUsize::new(0);

/// Writes `bytes` to `path` via a temporary file in the same directory and a rename, so a
/// reader never sees a half-written output and a crash leaves no truncated file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), std::io::Error> {
    use std::io::Write;
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(
        ".{name}.{}.{}.tmp",
        std::process::id(),
        TEMP_COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

fn process_one(
    input: &Path,
    output: &Path,
    recipe: &Recipe,
    format: OutputFormat,
    cancel: &AtomicBool,
) -> Result<u64, BatchFileError> {
    let original = decode_file(input)?;
    let rendered =
        render(&original, recipe, &RenderOptions::full(cancel)).map_err(|e| match e {
            ImagingError::Cancelled => BatchFileError::Cancelled {
                input: input.to_path_buf(),
            },
            source => BatchFileError::Render {
                input: input.to_path_buf(),
                source,
            },
        })?;
    drop(original);
    let bytes = encode(&rendered, format).map_err(|source| BatchFileError::Encode {
        input: input.to_path_buf(),
        source,
    })?;
    let pixels = u64::from(rendered.width()) * u64::from(rendered.height());
    drop(rendered);
    write_atomic(output, &bytes).map_err(|source| BatchFileError::Write {
        path: output.to_path_buf(),
        source,
    })?;
    Ok(pixels)
}

/// Runs `recipe` over `inputs`, writing one file per input into `out.dir`. Failures are
/// recorded per file and the batch continues; `cancel` stops it (files not yet started are
/// reported as cancelled). `progress` is called from worker threads after each file.
pub fn enhance_files(
    inputs: &[PathBuf],
    recipe: &Recipe,
    out: &OutputSpec<'_>,
    jobs: usize,
    cancel: &AtomicBool,
    progress: impl Fn(BatchProgress<'_>) + Sync,
) -> BatchSummary {
    let started = Instant::now();
    let jobs = jobs.clamp(1, 64);
    let outputs = output_paths(inputs, out);
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let slots: Mutex<Vec<Option<FileOutcome>>> =
        Mutex::new((0..inputs.len()).map(|_| None).collect());
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs)
        .thread_name(|i| format!("sightline-batch-{i}"))
        .build()
        .ok();

    let worker = || {
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(input) = inputs.get(i) else { break };
            let result = if cancel.load(Ordering::Relaxed) {
                Err(BatchFileError::Cancelled {
                    input: input.clone(),
                })
            } else {
                let run = || process_one(input, &outputs[i], recipe, out.format, cancel);
                match &pool {
                    Some(p) => p.install(run),
                    None => run(),
                }
            };
            let (result, output_pixels) = match result {
                Ok(px) => (Ok(outputs[i].clone()), px),
                Err(e) => (Err(e), 0),
            };
            let outcome = FileOutcome {
                input: input.clone(),
                result,
                output_pixels,
            };
            let finished = done.fetch_add(1, Ordering::Relaxed) + 1;
            progress(BatchProgress {
                done: finished,
                total: inputs.len(),
                outcome: &outcome,
            });
            if let Ok(mut s) = slots.lock() {
                s[i] = Some(outcome);
            }
        }
    };
    std::thread::scope(|s| {
        for _ in 0..jobs.min(inputs.len().max(1)) {
            s.spawn(worker);
        }
    });

    let outcomes: Vec<FileOutcome> = slots
        .into_inner()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .into_iter()
        .zip(inputs)
        .map(|(o, input)| {
            o.unwrap_or_else(|| FileOutcome {
                input: input.clone(),
                result: Err(BatchFileError::Cancelled {
                    input: input.clone(),
                }),
                output_pixels: 0,
            })
        })
        .collect();
    BatchSummary {
        cancelled: cancel.load(Ordering::Relaxed),
        outcomes,
        elapsed: started.elapsed(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::imaging::recipe::Preset;
    use image::{Rgba, RgbaImage};

    fn write_png(path: &Path, w: u32, h: u32) {
        let img = RgbaImage::from_fn(w, h, |x, y| {
            let inside = (w / 4..3 * w / 4).contains(&x) && (h / 4..3 * h / 4).contains(&y);
            if inside {
                Rgba([30, 60, 150, 255])
            } else {
                Rgba([240, 238, 235, 255])
            }
        });
        std::fs::write(path, encode(&img, OutputFormat::Png).unwrap()).unwrap();
    }

    fn small_recipe() -> Recipe {
        let mut r = Preset::Restore2x.recipe();
        r.denoise = None;
        r
    }

    #[test]
    fn batch_continues_past_failures_and_lists_them() {
        let dir = tempfile::tempdir().unwrap();
        let out = tempfile::tempdir().unwrap();
        let good1 = dir.path().join("a.png");
        let good2 = dir.path().join("b.png");
        let corrupt = dir.path().join("corrupt.png");
        let missing = dir.path().join("missing.png");
        write_png(&good1, 40, 30);
        write_png(&good2, 30, 40);
        std::fs::write(&corrupt, b"\x89PNG\r\n\x1a\nnot really").unwrap();
        let inputs = vec![
            good1.clone(),
            corrupt.clone(),
            missing.clone(),
            good2.clone(),
        ];
        let never = AtomicBool::new(false);
        let seen = AtomicUsize::new(0);
        let spec = OutputSpec {
            dir: out.path(),
            format: OutputFormat::Png,
            naming: OutputNaming::SameStem,
        };
        let summary = enhance_files(&inputs, &small_recipe(), &spec, 2, &never, |p| {
            assert_eq!(p.total, 4);
            seen.fetch_add(1, Ordering::Relaxed);
        });
        assert_eq!(seen.load(Ordering::Relaxed), 4);
        assert_eq!(summary.succeeded(), 2);
        let failed: Vec<&Path> = summary.failures().iter().map(|f| f.0).collect();
        assert_eq!(failed, vec![corrupt.as_path(), missing.as_path()]);
        assert!(out.path().join("a.png").exists() && out.path().join("b.png").exists());
        let a = crate::imaging::decode::decode_file(&out.path().join("a.png")).unwrap();
        assert_eq!(a.dimensions(), (80, 60));
        // No temporary files left behind.
        let names: Vec<String> = std::fs::read_dir(out.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(names.iter().all(|n| !n.ends_with(".tmp")), "{names:?}");
    }

    #[test]
    fn naming_by_map_and_callback_with_collisions() {
        let dir = tempfile::tempdir().unwrap();
        let out = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.png");
        let b = dir.path().join("b.png");
        write_png(&a, 20, 20);
        write_png(&b, 20, 20);
        let map: HashMap<PathBuf, String> = [
            (a.clone(), "SKU-1".to_owned()),
            (b.clone(), "SKU-1".to_owned()),
        ]
        .into();
        let never = AtomicBool::new(false);
        let spec = OutputSpec {
            dir: out.path(),
            format: OutputFormat::Jpeg { quality: 90 },
            naming: OutputNaming::Map(&map),
        };
        let s = enhance_files(
            &[a.clone(), b.clone()],
            &small_recipe(),
            &spec,
            1,
            &never,
            |_| {},
        );
        assert_eq!(s.succeeded(), 2);
        assert!(out.path().join("SKU-1.jpg").exists());
        assert!(out.path().join("SKU-1-2.jpg").exists());
        let cb = |p: &Path| format!("x/{}", p.file_stem().unwrap().to_string_lossy());
        let spec = OutputSpec {
            naming: OutputNaming::Callback(&cb),
            format: OutputFormat::WebpLossless,
            ..spec
        };
        let s = enhance_files(&[a], &small_recipe(), &spec, 1, &never, |_| {});
        assert_eq!(s.succeeded(), 1);
        assert!(out.path().join("x_a.webp").exists());
    }

    #[test]
    fn cancel_stops_a_batch() {
        let dir = tempfile::tempdir().unwrap();
        let out = tempfile::tempdir().unwrap();
        let inputs: Vec<PathBuf> = (0..6)
            .map(|i| {
                let p = dir.path().join(format!("{i}.png"));
                write_png(&p, 32, 32);
                p
            })
            .collect();
        let cancel = AtomicBool::new(false);
        let spec = OutputSpec {
            dir: out.path(),
            format: OutputFormat::Png,
            naming: OutputNaming::SameStem,
        };
        // Cancel after the first file finishes (single job so the order is fixed).
        let s = enhance_files(&inputs, &small_recipe(), &spec, 1, &cancel, |_| {
            cancel.store(true, Ordering::Relaxed);
        });
        assert!(s.cancelled);
        assert_eq!(s.succeeded(), 1);
        assert_eq!(s.cancelled_count(), 5);
        assert!(s.failures().is_empty());
        assert_eq!(std::fs::read_dir(out.path()).unwrap().count(), 1);
    }

    #[test]
    fn unwritable_output_is_a_per_file_error() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.png");
        write_png(&a, 16, 16);
        let missing_dir = dir.path().join("no-such-dir");
        let never = AtomicBool::new(false);
        let spec = OutputSpec {
            dir: &missing_dir,
            format: OutputFormat::Png,
            naming: OutputNaming::SameStem,
        };
        let s = enhance_files(&[a.clone(), a], &small_recipe(), &spec, 2, &never, |_| {});
        assert_eq!(s.failures().len(), 2);
        assert!(matches!(s.failures()[0].1, BatchFileError::Write { .. }));
        assert!(s.failures()[0].1.to_string().contains("writable"));
    }

    #[test]
    fn stems_are_sanitised() {
        assert_eq!(sanitise_stem("../etc/passwd"), "_etc_passwd");
        assert_eq!(sanitise_stem("  "), "image");
    }
}
