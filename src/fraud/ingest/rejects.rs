//! The rejects file: one CSV per load beside the workspace (`NAME.rejects/<load>-<file>.csv`)
//! with `file,line,reason,original` for every row that was not loaded.
//!
//! Rejects are flushed before the batch that counts them commits, and the load records the
//! file's length at that commit; a resumed load cuts the file back to that length, so a killed
//! load never leaves a reject counted twice.

use std::borrow::Cow;
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::error::IngestError;

const HEADER: &str = "file,line,reason,original\n";

/// The folder of rejects files beside a workspace (`demo.sqlite` → `demo.rejects/`).
pub fn rejects_dir(workspace: &Path) -> PathBuf {
    workspace.with_extension("rejects")
}

/// The rejects file of one load.
pub fn rejects_path(workspace: &Path, load_id: i64, file: &Path) -> PathBuf {
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_else(|| "input".into());
    let name = name.strip_suffix(".gz").unwrap_or(&name);
    let name = if name.ends_with(".csv") {
        name.to_string()
    } else {
        format!("{name}.csv")
    };
    rejects_dir(workspace).join(format!("{load_id}-{name}"))
}

/// Appends rejected rows to one load's rejects file, created on the first reject.
pub struct RejectsWriter {
    path: PathBuf,
    file: Option<BufWriter<File>>,
    /// Length of the file including what is buffered.
    len_bytes: u64,
    /// Length at the last commit: what a resumed load keeps.
    committed_bytes: u64,
    label: String,
}

impl RejectsWriter {
    /// A writer for `path`, keeping its first `committed_bytes` (0 for a new load).
    pub fn new(path: PathBuf, committed_bytes: u64, file_label: &str) -> Self {
        Self {
            path,
            file: None,
            len_bytes: committed_bytes,
            committed_bytes,
            label: file_label.to_string(),
        }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether any reject was ever written (the file exists).
    pub fn exists(&self) -> bool {
        self.len_bytes > 0
    }

    fn err(&self, source: std::io::Error) -> IngestError {
        IngestError::Rejects {
            path: self.path.clone(),
            source,
        }
    }

    fn open(&mut self) -> Result<&mut BufWriter<File>, IngestError> {
        if self.file.is_none() {
            if let Some(dir) = self.path.parent() {
                std::fs::create_dir_all(dir).map_err(|e| self.err(e))?;
            }
            let f = OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&self.path)
                .map_err(|e| self.err(e))?;
            // Cut back to the committed length: rows after it were never committed.
            f.set_len(self.committed_bytes).map_err(|e| self.err(e))?;
            let mut w = BufWriter::with_capacity(256 << 10, f);
            use std::io::Seek;
            w.seek(std::io::SeekFrom::Start(self.committed_bytes))
                .map_err(|e| self.err(e))?;
            if self.committed_bytes == 0 {
                w.write_all(HEADER.as_bytes()).map_err(|e| self.err(e))?;
                self.len_bytes = HEADER.len() as u64;
            }
            self.file = Some(w);
        }
        self.file
            .as_mut()
            .ok_or_else(|| IngestError::Pipeline("rejects file not open".into()))
    }

    /// Appends one rejected row.
    pub fn write(&mut self, line: u64, reason: &str, original: &[u8]) -> Result<(), IngestError> {
        let mut rec = String::with_capacity(original.len() + reason.len() + 32);
        push_field(&mut rec, &self.label);
        rec.push(',');
        rec.push_str(&line.to_string());
        rec.push(',');
        push_field(&mut rec, reason);
        rec.push(',');
        push_field(&mut rec, &escape_original(original));
        rec.push('\n');
        let w = self.open()?;
        let r = w.write_all(rec.as_bytes());
        r.map_err(|e| self.err(e))?;
        self.len_bytes += rec.len() as u64;
        Ok(())
    }

    /// Flushes buffered rejects to the OS; returns the length to record with the commit.
    pub fn flush(&mut self) -> Result<u64, IngestError> {
        if let Some(w) = self.file.as_mut() {
            let r = w.flush();
            r.map_err(|e| self.err(e))?;
        }
        Ok(self.len_bytes)
    }

    /// Marks the flushed length as committed (call after the database commit).
    pub fn committed(&mut self) {
        self.committed_bytes = self.len_bytes;
    }
}

fn push_field(out: &mut String, s: &str) {
    if s.contains([',', '"', '\n', '\r']) {
        out.push('"');
        out.push_str(&s.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(s);
    }
}

/// The original bytes as text; bytes that are not UTF-8 appear as `\xNN` so nothing is lost.
pub fn escape_original(bytes: &[u8]) -> Cow<'_, str> {
    if let Ok(s) = std::str::from_utf8(bytes) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(bytes.len() + 16);
    for chunk in bytes.utf8_chunks() {
        out.push_str(chunk.valid());
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02X}"));
        }
    }
    Cow::Owned(out)
}

/// One rejected row, as the rejects viewer shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RejectRecord {
    /// The input file.
    pub file: String,
    /// Line where the row starts.
    pub line: u64,
    /// Why it was rejected.
    pub reason: String,
    /// The row as it was in the file.
    pub original: String,
}

/// Reads up to `limit` rejects starting at the `skip`-th, for the rejects viewer.
pub fn read_rejects(
    path: &Path,
    skip: usize,
    limit: usize,
) -> Result<Vec<RejectRecord>, IngestError> {
    let bad = |reason: String| IngestError::RejectsRead {
        path: path.to_path_buf(),
        reason,
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_path(path)
        .map_err(|e| bad(e.to_string()))?;
    let mut out = Vec::new();
    for rec in reader.records().skip(skip).take(limit) {
        let rec = rec.map_err(|e| bad(e.to_string()))?;
        out.push(RejectRecord {
            file: rec.get(0).unwrap_or("").to_string(),
            line: rec.get(1).and_then(|l| l.parse().ok()).unwrap_or(0),
            reason: rec.get(2).unwrap_or("").to_string(),
            original: rec.get(3).unwrap_or("").to_string(),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_bytes_are_escaped_not_dropped() {
        assert_eq!(escape_original(b"ok"), "ok");
        assert_eq!(escape_original(b"a\xffb"), "a\\xFFb");
    }

    #[test]
    fn a_resumed_writer_cuts_back_to_the_committed_length() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("r.csv");
        let mut w = RejectsWriter::new(path.clone(), 0, "in.csv");
        w.write(2, "bad amount", b"1,x").expect("write");
        let committed = w.flush().expect("flush");
        w.committed();
        w.write(3, "lost on kill", b"2,y").expect("write");
        w.flush().expect("flush");
        drop(w);
        let mut again = RejectsWriter::new(path.clone(), committed, "in.csv");
        again
            .write(3, "bad amount, again", b"2,\"y\"")
            .expect("write");
        again.flush().expect("flush");
        let rows = read_rejects(&path, 0, 10).expect("read");
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1].reason, "bad amount, again");
        assert_eq!(rows[1].original, "2,\"y\"");
    }
}
