//! Detection and preview: which preset and role fit each file, how its columns map, and its
//! first rows read into canonical fields with every problem — all without writing anything.
//!
//! The GUI's import dialog shows a [`Plan`], lets the analyst edit the chosen section, and calls
//! [`detect`] again with the edited [`Mapping`]; the CLI prints the plan's notes and runs it.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::error::IngestError;
use super::mapping::{FileMapping, FileRole, Mapping, resolve_column};
use super::presets::presets_for;
use super::rows::{Compiled, Problem, missing_columns};
use super::source::{
    Cells, Format, RecordStatus, SourceLimits, logical_name, open, split_csv, split_json,
};

/// Options of a detection.
#[derive(Clone, Debug)]
pub struct DetectOptions {
    /// How many data rows to read into the preview of each file.
    pub preview_rows: usize,
    /// Record and decompression caps.
    pub limits: SourceLimits,
    /// Whether label columns are dropped (shown as such in the column list).
    pub no_labels: bool,
}

impl Default for DetectOptions {
    fn default() -> Self {
        Self {
            preview_rows: 20,
            limits: SourceLimits::default(),
            no_labels: false,
        }
    }
}

/// What one header column feeds.
#[derive(Clone, Debug, Serialize)]
pub struct ColumnUse {
    /// The column's name in the header.
    pub column: String,
    /// The canonical fields it feeds, `label column`, or empty when ignored.
    pub used_for: Vec<String>,
}

/// One previewed row: canonical values, and the problems that would reject it.
#[derive(Clone, Debug, Serialize)]
pub struct PreviewRow {
    /// Line of the file where the row starts.
    pub line: u64,
    /// (field, value) pairs as they would be stored.
    pub values: Vec<(String, String)>,
    /// Empty when the row would load.
    pub problems: Vec<Problem>,
}

/// How one file will be read.
#[derive(Clone, Debug, Serialize)]
pub struct FilePlan {
    /// The file.
    pub path: PathBuf,
    /// What it holds.
    pub role: FileRole,
    /// The preset or mapping that recognised it (recorded in `loads.preset`).
    pub mapping_name: String,
    /// The section of that mapping applied to it.
    pub section: FileMapping,
    /// CSV (with delimiter) or JSON Lines.
    pub format: Format,
    /// Whether it is gzip-compressed.
    pub compressed: bool,
    /// Size on disk.
    pub size_bytes: u64,
    /// Its column names.
    pub header: Vec<String>,
    /// What each column feeds.
    pub columns: Vec<ColumnUse>,
    /// Its first rows, read into fields.
    pub preview: Vec<PreviewRow>,
    /// Things the user should know (skipped file, label columns dropped, a mapping that did not
    /// fit and was passed over…).
    pub notes: Vec<String>,
}

/// How a set of files will be loaded, in load order.
#[derive(Clone, Debug, Serialize)]
pub struct Plan {
    /// One entry per file, accounts first, labels last.
    pub files: Vec<FilePlan>,
}

struct Candidate<'m> {
    mapping: &'m Mapping,
    section: &'m FileMapping,
    score: usize,
}

fn best<'m>(mappings: &'m [Mapping], header: &[String], file_name: &str) -> Option<Candidate<'m>> {
    let mut best: Option<Candidate<'m>> = None;
    for mapping in mappings {
        for section in &mapping.files {
            let score = if section.role == FileRole::GroundTruth {
                if section
                    .file_names
                    .iter()
                    .any(|n| n.eq_ignore_ascii_case(file_name))
                {
                    usize::MAX
                } else {
                    continue;
                }
            } else {
                if !missing_columns(section, header).is_empty() {
                    continue;
                }
                section
                    .referenced_columns()
                    .iter()
                    .filter(|(c, _)| resolve_column(header, c).is_some())
                    .count()
            };
            if best.as_ref().is_none_or(|b| score > b.score) {
                best = Some(Candidate {
                    mapping,
                    section,
                    score,
                });
            }
        }
    }
    best
}

/// Detects role and mapping for each file and previews its first rows. Nothing is written.
///
/// `preset` is `auto` or a preset name; `mapping` (a user's `--mapping` file) is tried first.
/// Fails — before anything is written — on an unreadable file, a header no preset or mapping
/// recognises, or a mapping naming a column the file lacks.
pub fn detect(
    paths: &[PathBuf],
    preset: &str,
    mapping: Option<&Mapping>,
    opts: &DetectOptions,
) -> Result<Plan, IngestError> {
    let presets = presets_for(preset)?;
    let user: Vec<Mapping> = mapping.cloned().into_iter().collect();
    let mut files = Vec::with_capacity(paths.len());
    for path in paths {
        files.push(detect_file(path, &presets, &user, opts)?);
    }
    files.sort_by_key(|f| f.role.load_order());
    Ok(Plan { files })
}

fn detect_file(
    path: &Path,
    presets: &[Mapping],
    user: &[Mapping],
    opts: &DetectOptions,
) -> Result<FilePlan, IngestError> {
    let user_delim = user
        .iter()
        .flat_map(|m| &m.files)
        .find_map(|f| f.delimiter)
        .filter(char::is_ascii)
        .map(|c| c as u8);
    let mut opened = open(path, &opts.limits, user_delim)?;
    let header = opened.header.clone();
    let file_name = logical_name(path);
    let mut notes = Vec::new();
    let chosen = match best(user, &header, &file_name) {
        Some(c) => c,
        None => {
            let fallback = best(presets, &header, &file_name);
            match (user.first(), fallback) {
                (Some(m), Some(c)) => {
                    notes.push(format!(
                        "mapping {:?} does not fit this file ({}); using preset {:?}",
                        m.name,
                        describe_missing(m, &header),
                        c.mapping.name
                    ));
                    c
                }
                (Some(m), None) => return Err(missing_error(path, m, &header)),
                (None, Some(c)) => c,
                (None, None) => {
                    return Err(IngestError::UnknownHeader {
                        path: path.to_path_buf(),
                        header: header.join(","),
                        hint: closest_hint(presets, &header),
                    });
                }
            }
        }
    };
    let section = chosen.section.clone();
    let mapping_name = chosen.mapping.name.clone();
    let columns = column_uses(&section, &header, opts.no_labels);
    if section.role == FileRole::GroundTruth {
        notes.push(format!(
            "{file_name} is ground truth for tests; it is not loaded"
        ));
        return Ok(FilePlan {
            path: path.to_path_buf(),
            role: section.role,
            mapping_name,
            section,
            format: opened.format,
            compressed: opened.compressed,
            size_bytes: opened.size_bytes,
            header,
            columns,
            preview: Vec::new(),
            notes,
        });
    }
    if section.role == FileRole::Labels && opts.no_labels {
        notes.push("--no-labels: this labels file is skipped".into());
    }
    let dropped: Vec<&str> = columns
        .iter()
        .filter(|c| c.used_for.iter().any(|u| u.starts_with("label")))
        .map(|c| c.column.as_str())
        .collect();
    if opts.no_labels && !dropped.is_empty() {
        notes.push(format!("--no-labels: dropping {}", dropped.join(", ")));
    }
    let compiled = Compiled::new(&section, &mapping_name, &header, path, !opts.no_labels)?;
    let mut preview = Vec::new();
    let mut cells = Cells::default();
    let mut raw = Vec::new();
    let mut first = opened.first_json_line.take();
    while preview.len() < opts.preview_rows {
        raw.clear();
        let meta = match first.take() {
            Some((meta, line)) => {
                raw = line;
                meta
            }
            None => match opened
                .records
                .next_into(&mut raw)
                .map_err(|e| super::source::read_error(path, opened.size_bytes, e))?
            {
                Some(m) => m,
                None => break,
            },
        };
        preview.push(preview_row(
            &compiled,
            opened.format,
            &header,
            meta.line,
            meta.status,
            &raw,
            &mut cells,
        ));
    }
    Ok(FilePlan {
        path: path.to_path_buf(),
        role: section.role,
        mapping_name,
        section,
        format: opened.format,
        compressed: opened.compressed,
        size_bytes: opened.size_bytes,
        header,
        columns,
        preview,
        notes,
    })
}

fn preview_row(
    compiled: &Compiled,
    format: Format,
    header: &[String],
    line: u64,
    status: RecordStatus,
    raw: &[u8],
    cells: &mut Cells,
) -> PreviewRow {
    let fail = |reason: String| PreviewRow {
        line,
        values: Vec::new(),
        problems: vec![Problem {
            field: None,
            reason,
        }],
    };
    if let Some(reason) = record_problem(status) {
        return fail(reason);
    }
    if let Err(e) = std::str::from_utf8(raw) {
        return fail(format!("invalid UTF-8 at byte {}", e.valid_up_to()));
    }
    if let Err(reason) = split_record(format, header, raw, cells) {
        return fail(reason);
    }
    match compiled.extract(cells, matches!(format, Format::Csv { .. })) {
        Ok(parsed) => PreviewRow {
            line,
            values: parsed.display(compiled),
            problems: Vec::new(),
        },
        // Show the raw cells beside the problems so the analyst sees what was there.
        Err(problems) => PreviewRow {
            line,
            values: (0..cells.len())
                .map(|i| {
                    (
                        header
                            .get(i)
                            .cloned()
                            .unwrap_or_else(|| format!("#{}", i + 1)),
                        cells.get(i).to_string(),
                    )
                })
                .collect(),
            problems,
        },
    }
}

/// Why a record cannot be read at all, if it cannot.
pub fn record_problem(status: RecordStatus) -> Option<String> {
    match status {
        RecordStatus::Complete => None,
        RecordStatus::TooLong { len_bytes } => Some(format!(
            "record of {len_bytes} bytes is longer than the record cap; split it or raise --record-cap"
        )),
        RecordStatus::Unterminated => {
            Some("unterminated quoted field (a \" opens a field that never closes)".into())
        }
    }
}

/// Splits a raw record into cells for its format; the error is the reject reason.
pub fn split_record(
    format: Format,
    header: &[String],
    raw: &[u8],
    cells: &mut Cells,
) -> Result<(), String> {
    match format {
        Format::Csv { delimiter } => {
            split_csv(raw, delimiter, cells);
            Ok(())
        }
        Format::JsonLines => split_json(raw, header, cells),
    }
}

fn column_uses(section: &FileMapping, header: &[String], no_labels: bool) -> Vec<ColumnUse> {
    let mut uses: Vec<ColumnUse> = header
        .iter()
        .map(|h| ColumnUse {
            column: h.clone(),
            used_for: Vec::new(),
        })
        .collect();
    for (column, what) in section.referenced_columns() {
        if let Some(i) = resolve_column(header, &column) {
            let label = what == "label" || what == "label column";
            let text = match (label, no_labels) {
                (true, true) => "label (dropped: --no-labels)".to_string(),
                (true, false) if what == "label column" => "label column (never loaded)".into(),
                _ => what,
            };
            uses[i].used_for.push(text);
        }
    }
    uses
}

fn describe_missing(m: &Mapping, header: &[String]) -> String {
    let best = m
        .files
        .iter()
        .map(|f| missing_columns(f, header))
        .min_by_key(Vec::len)
        .unwrap_or_default();
    best.iter()
        .map(|(c, f)| format!("no column {c:?} for {f}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn missing_error(path: &Path, m: &Mapping, header: &[String]) -> IngestError {
    let (column, field) = m
        .files
        .iter()
        .map(|f| missing_columns(f, header))
        .filter(|v| !v.is_empty())
        .min_by_key(Vec::len)
        .and_then(|v| v.into_iter().next())
        .unwrap_or_else(|| ("?".into(), "?".into()));
    IngestError::MappingColumnMissing {
        path: path.to_path_buf(),
        mapping: m.name.clone(),
        column,
        field,
        header: header.join(", "),
    }
}

/// "closest: preset X lacks columns …" for the unknown-header message.
fn closest_hint(presets: &[Mapping], header: &[String]) -> String {
    struct Closest<'m> {
        found: usize,
        mapping: &'m Mapping,
        section: &'m FileMapping,
        missing: Vec<(String, String)>,
    }
    let mut best: Option<Closest<'_>> = None;
    for m in presets {
        for f in &m.files {
            if f.role == FileRole::GroundTruth {
                continue;
            }
            let missing = missing_columns(f, header);
            let found = f.referenced_columns().len() - missing.len();
            if found > 0 && best.as_ref().is_none_or(|b| found > b.found) {
                best = Some(Closest {
                    found,
                    mapping: m,
                    section: f,
                    missing,
                });
            }
        }
    }
    match best {
        Some(Closest {
            mapping: m,
            section: f,
            missing,
            ..
        }) => format!(
            " (closest: preset {} {} file, which also needs {})",
            m.name,
            f.role.as_str(),
            missing
                .iter()
                .map(|(c, _)| format!("{c:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        None => String::new(),
    }
}
