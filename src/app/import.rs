//! The transaction-import dialog's state and jobs: detection with a preview, an optional
//! mapping drafted for unknown headers, the load itself (on the workspace, cancellable), its
//! summary and the rejects viewer. The ingest engine does the work; this only drives it.

use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::fraud::ingest::{
    self, DetectOptions, Field, FileMapping, FileRole, IngestError, IngestOptions, IngestSummary,
    Mapping, Plan, rejects::RejectRecord,
};
use crate::jobs::{JobCtx, JobFailure, JobId};
use crate::store::{OpenMode, Workspace};

/// Rows of each file shown in the preview.
pub const PREVIEW_ROWS: usize = 12;
/// Rejected rows shown in the viewer.
pub const REJECTS_SHOWN: usize = 500;

/// Where the dialog is.
pub enum ImportStage {
    /// Waiting for the user to pick files.
    Empty,
    /// Reading headers and the first rows.
    Detecting,
    /// Ready to load; the plan says how each file will be read.
    Planned(Box<Plan>),
    /// Detection failed; with the header when a mapping would fix it.
    Failed {
        message: String,
        unknown: Option<(PathBuf, Vec<String>)>,
    },
    /// Loading, as job `job`.
    Loading { job: JobId, started: Instant },
    /// Finished (or cancelled part-way: committed batches stay).
    Done(Box<IngestSummary>),
}

/// The open import dialog.
pub struct ImportState {
    pub files: Vec<PathBuf>,
    pub preset: String,
    pub no_labels: bool,
    pub mapping: Option<Mapping>,
    pub stage: ImportStage,
    pub rejects: Option<RejectsView>,
}

impl ImportState {
    /// A dialog for `files` (may be empty: the user picks next).
    pub fn new(files: Vec<PathBuf>) -> Self {
        Self {
            stage: if files.is_empty() {
                ImportStage::Empty
            } else {
                ImportStage::Detecting
            },
            files,
            preset: "auto".into(),
            no_labels: false,
            mapping: None,
            rejects: None,
        }
    }
}

/// Rejected rows of one load, for the viewer.
pub struct RejectsView {
    pub path: PathBuf,
    pub rows: Vec<RejectRecord>,
}

/// A mapping drafted in the dialog for a file whose header no preset knows.
#[derive(Clone, Debug)]
pub struct MappingDraft {
    pub file: PathBuf,
    pub header: Vec<String>,
    pub role: FileRole,
    /// The field each column feeds (same order as `header`).
    pub fields: Vec<Option<Field>>,
    pub timestamp_format: String,
    pub timezone: String,
    pub name: String,
}

impl MappingDraft {
    /// A draft with every column ignored.
    pub fn new(file: PathBuf, header: Vec<String>) -> Self {
        let name = file
            .file_stem()
            .map(|s| s.to_string_lossy().trim_end_matches(".csv").to_string())
            .unwrap_or_else(|| "custom".into());
        Self {
            fields: vec![None; header.len()],
            file,
            header,
            role: FileRole::Transactions,
            timestamp_format: "auto".into(),
            timezone: "UTC".into(),
            name,
        }
    }

    /// The mapping the draft describes, validated.
    pub fn to_mapping(&self) -> Result<Mapping, String> {
        let mut section = FileMapping {
            role: self.role,
            file_names: Vec::new(),
            fields: Default::default(),
            optional: Vec::new(),
            label_columns: Vec::new(),
            identity: Default::default(),
            timestamp: Default::default(),
            amount: Default::default(),
            delimiter: None,
            currency: None,
            currency_aliases: Default::default(),
            id_prefix: String::new(),
            label_rule: Default::default(),
            merchant_prefix: None,
        };
        section.timestamp.format = self.timestamp_format.trim().to_string();
        section.timestamp.timezone = self.timezone.trim().to_string();
        for (column, field) in self.header.iter().zip(&self.fields) {
            if let Some(field) = field {
                if section.fields.contains_key(field) {
                    return Err(format!(
                        "{} is mapped from two columns; map each field once",
                        field.as_str()
                    ));
                }
                section
                    .fields
                    .insert(*field, ingest::Source::Column(column.clone()));
            }
        }
        let missing: Vec<&str> = self
            .role
            .required_fields()
            .iter()
            .filter(|f| !section.fields.contains_key(f))
            .map(|f| f.as_str())
            .collect();
        if !missing.is_empty() {
            return Err(format!(
                "a {} file needs: {}",
                self.role.as_str(),
                missing.join(", ")
            ));
        }
        let mapping = Mapping {
            name: self.name.clone(),
            description: format!("Drafted in Sightline for {}", self.file.display()),
            files: vec![section],
        };
        mapping.files[0]
            .validate(&mapping.name)
            .map_err(|e| e.to_string())?;
        Ok(mapping)
    }
}

/// Why a detection failed: the message, and for an unknown header the file and its columns.
pub type DetectFailure = (String, Option<(PathBuf, Vec<String>)>);

/// Reads the files' headers and first rows. On an unknown header, returns the header so the
/// dialog can offer the mapping editor.
pub fn detect_job(
    files: &[PathBuf],
    preset: &str,
    mapping: Option<&Mapping>,
    no_labels: bool,
) -> Result<Plan, DetectFailure> {
    let opts = DetectOptions {
        preview_rows: PREVIEW_ROWS,
        no_labels,
        ..DetectOptions::default()
    };
    ingest::detect(files, preset, mapping, &opts).map_err(|e| {
        let unknown = match &e {
            IngestError::UnknownHeader { path, header, .. } => Some((
                path.clone(),
                header.split(',').map(|c| c.trim().to_string()).collect(),
            )),
            _ => None,
        };
        (e.to_string(), unknown)
    })
}

/// Loads `plan` into the workspace at `path`, reporting rows, rows/s and an ETA.
pub fn load_job<T>(
    path: &Path,
    plan: &Plan,
    no_labels: bool,
    ctx: &JobCtx<T>,
) -> Result<IngestSummary, JobFailure> {
    let mut ws =
        Workspace::open(path, OpenMode::Existing).map_err(|e| JobFailure::Failed(e.to_string()))?;
    let opts = IngestOptions {
        no_labels,
        ..IngestOptions::default()
    };
    let started = Instant::now();
    let report = |p: &ingest::IngestProgress| {
        let within = if p.bytes_total > 0 {
            p.bytes_read as f32 / p.bytes_total as f32
        } else {
            0.0
        };
        let fraction = (p.file_index as f32 + within) / p.file_count.max(1) as f32;
        let secs = started.elapsed().as_secs_f64().max(1e-3);
        ctx.progress(
            Some(fraction),
            format!(
                "{} rows · {:.0} rows/s · {} rejected",
                p.rows_read,
                p.rows_read as f64 / secs,
                p.rejected
            ),
        );
    };
    let summary = ingest::run(&mut ws, plan, &opts, ctx.cancel_token().flag(), &report)
        .map_err(|e| JobFailure::Failed(e.to_string()))?;
    Ok(summary)
}

/// Reads the first rejected rows of a load.
pub fn rejects_job(path: &Path) -> Result<Vec<RejectRecord>, JobFailure> {
    ingest::rejects::read_rejects(path, 0, REJECTS_SHOWN)
        .map_err(|e| JobFailure::Failed(e.to_string()))
}

/// Whether a dropped file looks like transaction data (as opposed to a photo).
pub fn is_data_file(path: &Path) -> bool {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    [
        ".csv",
        ".csv.gz",
        ".jsonl",
        ".jsonl.gz",
        ".json",
        ".tsv",
        ".txt",
        ".gz",
    ]
    .iter()
    .any(|ext| name.ends_with(ext))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draft_needs_the_roles_required_fields() {
        let header: Vec<String> = ["ref", "when", "from", "to", "value"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let mut d = MappingDraft::new(PathBuf::from("bank.csv"), header);
        assert!(d.to_mapping().is_err(), "nothing mapped yet");
        d.fields = vec![
            Some(Field::TxId),
            Some(Field::Timestamp),
            Some(Field::SrcAccount),
            Some(Field::DstAccount),
            Some(Field::Amount),
        ];
        let m = d.to_mapping().expect("complete draft");
        assert_eq!(m.files[0].fields.len(), 5);
        let text = m.to_toml_string().expect("toml");
        assert_eq!(Mapping::from_toml_str(&text).expect("parse back"), m);
        d.fields[1] = Some(Field::TxId);
        assert!(d.to_mapping().unwrap_err().contains("two columns"));
    }

    #[test]
    fn data_files_are_told_from_photos() {
        assert!(is_data_file(Path::new("/x/transactions.csv.gz")));
        assert!(is_data_file(Path::new("Export.CSV")));
        assert!(!is_data_file(Path::new("shoe.jpg")));
    }
}
