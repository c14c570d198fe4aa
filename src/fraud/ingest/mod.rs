//! Ingest: analysts' transaction exports (CSV, `.csv.gz`, JSON Lines) into the workspace.
//!
//! One engine, many formats: a preset is a built-in [`Mapping`], and a user's mapping file goes
//! through the same path. The flow the CLI and the GUI share:
//!
//! 1. [`detect`] reads each file's header and first rows and returns a [`Plan`] (role, preset,
//!    column mapping, preview with per-cell problems) without writing anything; unreadable
//!    files, unknown headers and mappings naming missing columns fail here.
//! 2. [`run`] loads the plan on the workspace's writer, reporting [`IngestProgress`] and
//!    honouring a cancel flag; every row ends loaded, rejected (into the rejects file beside the
//!    workspace) or counted as a duplicate, and the [`IngestSummary`] says so.
//!
//! Labels stay apart from the data ([`labels`]); [`loads`] lists what was loaded; [`rejects`]
//! reads the rejects files back. `docs/formats.md` documents formats, presets and mappings.

pub mod cli;
mod detect;
mod engine;
mod error;
pub mod labels;
pub mod loads;
mod mapping;
mod presets;
pub mod rejects;
mod rows;
mod source;
mod values;

pub use detect::{ColumnUse, DetectOptions, FilePlan, Plan, PreviewRow, detect};
pub use engine::{
    FileOutcome, FileSummary, IndexStrategy, IngestOptions, IngestProgress, IngestSummary, Phase,
    repair_indexes, run,
};
pub use error::IngestError;
pub use mapping::{
    AmountSpec, EntityKind, Field, FileMapping, FileRole, LabelRule, Mapping, Source, TimestampSpec,
};
pub use presets::{PRESET_NAMES, preset, preset_toml};
pub use rows::Problem;
pub use source::{
    DEFAULT_GZIP_MAX_BYTES, DEFAULT_GZIP_MAX_RATIO, DEFAULT_RECORD_CAP_BYTES, Format, SourceLimits,
};

/// The row parser as one function, for the fuzz test and benchmarks: splits `bytes` into
/// records under `limits`, and reads each into canonical fields under `section`. Returns
/// (rows read, rows accepted). Never panics, whatever the bytes.
#[doc(hidden)]
pub fn parse_bytes_for_test(
    bytes: &[u8],
    header: &[String],
    section: &FileMapping,
    limits: &SourceLimits,
) -> (u64, u64) {
    use std::io::Cursor;
    let Ok(compiled) = rows::Compiled::new(
        section,
        "test",
        header,
        std::path::Path::new("<bytes>"),
        true,
    ) else {
        return (0, 0);
    };
    let mut reader = source::RecordReader::new(
        Box::new(Cursor::new(bytes.to_vec())),
        b',',
        limits.record_cap_bytes,
    );
    let mut interner = rows::Interner::default();
    let mut new = rows::NewKeys::default();
    let mut cells = source::Cells::default();
    let mut raw = Vec::new();
    let (mut read, mut ok) = (0u64, 0u64);
    loop {
        raw.clear();
        let meta = match reader.next_into(&mut raw) {
            Ok(Some(m)) => m,
            _ => break,
        };
        read += 1;
        if detect::record_problem(meta.status).is_some() || std::str::from_utf8(&raw).is_err() {
            continue;
        }
        source::split_csv(&raw, b',', &mut cells);
        if let Ok(p) = compiled.extract(&cells, true)
            && compiled
                .resolve(
                    p,
                    &mut interner,
                    &mut new,
                    &rows::RowOrigin {
                        file_key: "0000",
                        record_no: meta.record_no,
                        line: meta.line,
                        original: &raw,
                    },
                )
                .is_ok()
        {
            ok += 1;
        }
    }
    (read, ok)
}
