//! Reading an export: gzip detection with a decompression cap, BOM and encoding checks,
//! delimiter sniffing, and a record reader that never holds more than the record cap.
//!
//! The reader splits records itself (quote-aware, CRLF, blank lines skipped) rather than through
//! the `csv` crate because the rejects file needs each record's original bytes and line number,
//! and because a record longer than the cap must be skipped without buffering it.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use memchr::{memchr, memchr2};

use super::error::IngestError;

/// Default record cap: longer records are rejected without being buffered.
pub const DEFAULT_RECORD_CAP_BYTES: usize = 4 << 20;
/// Default gzip cap: at most this many decompressed bytes per compressed byte…
pub const DEFAULT_GZIP_MAX_RATIO: u64 = 250;
/// …and never more than this many decompressed bytes in total.
pub const DEFAULT_GZIP_MAX_BYTES: u64 = 64 << 30;
/// How much of an over-long record the rejects file keeps.
const TOO_LONG_PREFIX_BYTES: usize = 4096;
const READ_BUFFER_BYTES: usize = 1 << 20;

/// Limits that keep hostile input from exhausting memory or time.
#[derive(Clone, Copy, Debug)]
pub struct SourceLimits {
    /// Longest record accepted, in bytes (a longer one is rejected and skipped).
    pub record_cap_bytes: usize,
    /// Decompressed bytes allowed per compressed byte of a `.gz` file.
    pub gzip_max_ratio: u64,
    /// Decompressed bytes allowed for one `.gz` file.
    pub gzip_max_bytes: u64,
}

impl Default for SourceLimits {
    fn default() -> Self {
        Self {
            record_cap_bytes: DEFAULT_RECORD_CAP_BYTES,
            gzip_max_ratio: DEFAULT_GZIP_MAX_RATIO,
            gzip_max_bytes: DEFAULT_GZIP_MAX_BYTES,
        }
    }
}

/// The text format of a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Format {
    /// Delimited text with a header line.
    Csv {
        /// The field delimiter byte.
        delimiter: u8,
    },
    /// One JSON object per line; the "header" is the keys of the first objects.
    JsonLines,
}

/// Raised inside the gzip reader when the decompression cap is passed.
#[derive(Debug)]
pub struct DecompressionLimitHit {
    /// The cap that was passed.
    pub limit_bytes: u64,
}

impl std::fmt::Display for DecompressionLimitHit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "decompressed data passed {} bytes", self.limit_bytes)
    }
}

impl std::error::Error for DecompressionLimitHit {}

/// Counts bytes read from the file itself (compressed bytes for `.gz`), for progress.
struct Counting<R> {
    inner: R,
    read: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Fails once more than `limit` bytes came out of the decompressor.
struct Capped<R> {
    inner: R,
    seen: u64,
    limit: u64,
}

impl<R: Read> Read for Capped<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.seen += n as u64;
        if self.seen > self.limit {
            return Err(io::Error::other(DecompressionLimitHit {
                limit_bytes: self.limit,
            }));
        }
        Ok(n)
    }
}

/// An opened file: its record reader positioned after the header, and what was learnt.
pub struct Opened {
    /// Reads the data records.
    pub records: RecordReader,
    /// Column names (CSV header, or the keys of the first JSON object).
    pub header: Vec<String>,
    /// CSV with its delimiter, or JSON Lines.
    pub format: Format,
    /// Whether the file is gzip-compressed.
    pub compressed: bool,
    /// Size of the file on disk.
    pub size_bytes: u64,
    /// Bytes of the file read so far (grows while reading).
    pub bytes_read: Arc<AtomicU64>,
    /// The first JSON object's line and where it was, kept for JSON Lines files (it is a
    /// data row too).
    pub first_json_line: Option<(RecordMeta, Vec<u8>)>,
}

/// Converts a read error into the error the user sees for this file.
pub fn read_error(path: &Path, compressed_bytes: u64, e: io::Error) -> IngestError {
    if let Some(hit) = e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<DecompressionLimitHit>())
    {
        return IngestError::DecompressionLimit {
            path: path.to_path_buf(),
            limit_bytes: hit.limit_bytes,
            compressed_bytes,
        };
    }
    IngestError::Unreadable {
        path: path.to_path_buf(),
        source: e,
    }
}

/// Opens `path`, strips a BOM, sniffs the format and reads the header.
pub fn open(
    path: &Path,
    limits: &SourceLimits,
    delimiter: Option<u8>,
) -> Result<Opened, IngestError> {
    let unreadable = |source| IngestError::Unreadable {
        path: path.to_path_buf(),
        source,
    };
    let file = File::open(path).map_err(unreadable)?;
    let meta = file.metadata().map_err(unreadable)?;
    if meta.is_dir() {
        return Err(unreadable(io::Error::other("it is a folder")));
    }
    let size_bytes = meta.len();
    let bytes_read = Arc::new(AtomicU64::new(0));
    let mut raw = BufReader::with_capacity(
        64 << 10,
        Counting {
            inner: file,
            read: bytes_read.clone(),
        },
    );
    let magic = raw.fill_buf().map_err(unreadable)?;
    let compressed = magic.starts_with(&[0x1f, 0x8b]);
    let inner: Box<dyn BufRead + Send> = if compressed {
        let limit = size_bytes
            .saturating_mul(limits.gzip_max_ratio)
            .min(limits.gzip_max_bytes)
            .max(1 << 20);
        Box::new(BufReader::with_capacity(
            READ_BUFFER_BYTES,
            Capped {
                inner: flate2::bufread::MultiGzDecoder::new(raw),
                seen: 0,
                limit,
            },
        ))
    } else {
        Box::new(BufReader::with_capacity(READ_BUFFER_BYTES, raw))
    };
    let mut records = RecordReader::new(inner, b',', limits.record_cap_bytes);
    let err = |e| read_error(path, size_bytes, e);
    let head = records.inner.fill_buf().map_err(err)?;
    if head.starts_with(&[0xef, 0xbb, 0xbf]) {
        records.inner.consume(3);
    } else if head.starts_with(&[0xff, 0xfe]) || head.starts_with(&[0xfe, 0xff]) {
        return Err(IngestError::Encoding {
            path: path.to_path_buf(),
            encoding: "UTF-16".into(),
        });
    }
    let head = records.inner.fill_buf().map_err(err)?;
    let first = head.iter().copied().find(|c| !c.is_ascii_whitespace());
    let json = first == Some(b'{');
    records.json = json;
    let mut line = Vec::new();
    let Some(meta_rec) = records.next_into(&mut line).map_err(err)? else {
        return Err(IngestError::Empty {
            path: path.to_path_buf(),
        });
    };
    if meta_rec.status != RecordStatus::Complete {
        return Err(IngestError::HeaderTooLong {
            path: path.to_path_buf(),
            cap_bytes: limits.record_cap_bytes,
        });
    }
    if json {
        let header = json_keys(&line).map_err(|reason| IngestError::BadJsonHeader {
            path: path.to_path_buf(),
            reason,
        })?;
        // The first object is data (row 1); the reader goes on from row 2.
        return Ok(Opened {
            records,
            header,
            format: Format::JsonLines,
            compressed,
            size_bytes,
            bytes_read,
            first_json_line: Some((meta_rec, line)),
        });
    }
    if line.iter().filter(|c| **c == 0).count() > 0 {
        return Err(IngestError::Encoding {
            path: path.to_path_buf(),
            encoding: "binary (it contains NUL bytes)".into(),
        });
    }
    let delim = delimiter.unwrap_or_else(|| sniff_delimiter(&line));
    records.delimiter = delim;
    let mut cells = Cells::default();
    split_csv(&line, delim, &mut cells);
    let header = (0..cells.len())
        .map(|i| {
            String::from_utf8_lossy(cells.get_bytes(i))
                .trim()
                .to_string()
        })
        .collect();
    // Data rows are numbered from 1 after the header.
    records.record_no = 0;
    Ok(Opened {
        records,
        header,
        format: Format::Csv { delimiter: delim },
        compressed,
        size_bytes,
        bytes_read,
        first_json_line: None,
    })
}

/// The most frequent of `,` `;` tab `|` outside quotes in the header line (`,` on a tie).
pub fn sniff_delimiter(line: &[u8]) -> u8 {
    let candidates = [b',', b';', b'\t', b'|'];
    let mut counts = [0usize; 4];
    let mut quoted = false;
    for &c in line {
        if c == b'"' {
            quoted = !quoted;
        } else if !quoted && let Some(i) = candidates.iter().position(|d| *d == c) {
            counts[i] += 1;
        }
    }
    let mut best = 0;
    for i in 1..candidates.len() {
        if counts[i] > counts[best] {
            best = i;
        }
    }
    candidates[best]
}

/// How a record ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordStatus {
    /// A whole record.
    Complete,
    /// Longer than the cap: only a prefix was kept, the rest skipped.
    TooLong {
        /// The record's full length.
        len_bytes: u64,
    },
    /// The file ended inside a quoted field.
    Unterminated,
}

/// Where a record came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordMeta {
    /// Line of the file where the record starts (1-based, header included).
    pub line: u64,
    /// Data row number (1-based, header excluded): with the file hash, the dedup key of rows
    /// without an id.
    pub record_no: u64,
    /// Whether the record is whole.
    pub status: RecordStatus,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scan {
    FieldStart,
    Unquoted,
    Quoted,
    QuoteInQuoted,
}

/// Splits a stream into records, holding at most `cap` bytes of one record.
pub struct RecordReader {
    inner: Box<dyn BufRead + Send>,
    delimiter: u8,
    json: bool,
    cap: usize,
    line: u64,
    record_no: u64,
}

impl RecordReader {
    /// Reads records from `inner`.
    pub fn new(inner: Box<dyn BufRead + Send>, delimiter: u8, cap: usize) -> Self {
        Self {
            inner,
            delimiter,
            json: false,
            cap: cap.max(1),
            line: 0,
            record_no: 0,
        }
    }

    /// Appends the next record's bytes (without its line end) to `out`. Blank lines are
    /// skipped. `None` at the end of the stream.
    pub fn next_into(&mut self, out: &mut Vec<u8>) -> io::Result<Option<RecordMeta>> {
        loop {
            let start = out.len();
            let start_line = self.line + 1;
            let mut state = Scan::FieldStart;
            let mut len: u64 = 0;
            let mut newlines: u64 = 0;
            let mut any = false;
            let ended = loop {
                let buf = self.inner.fill_buf()?;
                if buf.is_empty() {
                    break false;
                }
                any = true;
                let (take, found, nl) = if self.json {
                    match memchr(b'\n', buf) {
                        Some(k) => (k, true, 0),
                        None => (buf.len(), false, 0),
                    }
                } else {
                    scan_csv(buf, self.delimiter, &mut state)
                };
                newlines += nl;
                let room = self.cap.saturating_sub((out.len() - start).min(self.cap));
                let keep = take.min(room);
                out.extend_from_slice(&buf[..keep]);
                len += take as u64;
                self.inner.consume(if found { take + 1 } else { take });
                if found {
                    break true;
                }
            };
            if !any && !ended {
                return Ok(None);
            }
            self.line += 1 + newlines;
            // CRLF: the CR belongs to the line end (only when the record is whole).
            if len as usize <= self.cap && out.len() > start && out[out.len() - 1] == b'\r' {
                out.pop();
                len -= 1;
            }
            if len == 0 {
                if !ended && out.len() == start {
                    return Ok(None);
                }
                continue; // blank line
            }
            self.record_no += 1;
            let status = if len > self.cap as u64 {
                out.truncate(start + TOO_LONG_PREFIX_BYTES.min(self.cap));
                RecordStatus::TooLong { len_bytes: len }
            } else if !self.json && state == Scan::Quoted {
                RecordStatus::Unterminated
            } else {
                RecordStatus::Complete
            };
            return Ok(Some(RecordMeta {
                line: start_line,
                record_no: self.record_no,
                status,
            }));
        }
    }
}

/// Scans `buf` for the end of the current CSV record. Returns how many bytes belong to the
/// record, whether its line end was found (at that index), and the newlines inside quotes.
fn scan_csv(buf: &[u8], delim: u8, state: &mut Scan) -> (usize, bool, u64) {
    let mut i = 0;
    let mut newlines = 0u64;
    loop {
        match *state {
            Scan::Quoted => match memchr(b'"', &buf[i..]) {
                Some(k) => {
                    newlines += count_newlines(&buf[i..i + k]);
                    i += k + 1;
                    *state = Scan::QuoteInQuoted;
                }
                None => {
                    newlines += count_newlines(&buf[i..]);
                    return (buf.len(), false, newlines);
                }
            },
            Scan::QuoteInQuoted => {
                let Some(&c) = buf.get(i) else {
                    return (buf.len(), false, newlines);
                };
                if c == b'\n' {
                    return (i, true, newlines);
                }
                *state = if c == b'"' {
                    Scan::Quoted
                } else if c == delim {
                    Scan::FieldStart
                } else {
                    Scan::Unquoted
                };
                i += 1;
            }
            Scan::FieldStart | Scan::Unquoted => match memchr2(b'\n', b'"', &buf[i..]) {
                None => {
                    if buf.len() > i {
                        *state = if buf[buf.len() - 1] == delim {
                            Scan::FieldStart
                        } else {
                            Scan::Unquoted
                        };
                    }
                    return (buf.len(), false, newlines);
                }
                Some(k) => {
                    let j = i + k;
                    if buf[j] == b'\n' {
                        return (j, true, newlines);
                    }
                    let at_field_start = if j > i {
                        buf[j - 1] == delim
                    } else {
                        *state == Scan::FieldStart
                    };
                    *state = if at_field_start {
                        Scan::Quoted
                    } else {
                        Scan::Unquoted
                    };
                    i = j + 1;
                }
            },
        }
    }
}

fn count_newlines(b: &[u8]) -> u64 {
    memchr::memchr_iter(b'\n', b).count() as u64
}

/// The cells of one record: unescaped bytes and their bounds, reused between records.
#[derive(Default, Debug)]
pub struct Cells {
    buf: Vec<u8>,
    bounds: Vec<(u32, u32)>,
}

impl Cells {
    /// Number of cells.
    pub fn len(&self) -> usize {
        self.bounds.len()
    }

    /// Cell `i` as bytes (empty when out of range).
    pub fn get_bytes(&self, i: usize) -> &[u8] {
        match self.bounds.get(i) {
            Some(&(s, e)) => &self.buf[s as usize..e as usize],
            None => &[],
        }
    }

    /// Cell `i` as text; callers validate UTF-8 of the whole record first.
    pub fn get(&self, i: usize) -> &str {
        std::str::from_utf8(self.get_bytes(i)).unwrap_or("")
    }

    fn clear(&mut self) {
        self.buf.clear();
        self.bounds.clear();
    }

    fn push(&mut self, bytes: &[u8]) {
        let s = self.buf.len() as u32;
        self.buf.extend_from_slice(bytes);
        self.bounds.push((s, self.buf.len() as u32));
    }
}

/// Splits one CSV record into unescaped cells (`""` inside quotes is one quote; text after a
/// closing quote is kept, as spreadsheets write it).
pub fn split_csv(raw: &[u8], delim: u8, cells: &mut Cells) {
    cells.clear();
    if memchr(b'"', raw).is_none() {
        cells.buf.extend_from_slice(raw);
        let mut s = 0u32;
        for i in memchr::memchr_iter(delim, raw) {
            cells.bounds.push((s, i as u32));
            s = i as u32 + 1;
        }
        cells.bounds.push((s, raw.len() as u32));
        return;
    }
    let mut state = Scan::FieldStart;
    let mut start = 0u32;
    for &c in raw {
        match state {
            Scan::FieldStart => {
                if c == b'"' {
                    state = Scan::Quoted;
                } else if c == delim {
                    cells.bounds.push((start, cells.buf.len() as u32));
                    start = cells.buf.len() as u32;
                } else {
                    cells.buf.push(c);
                    state = Scan::Unquoted;
                }
            }
            Scan::Unquoted => {
                if c == delim {
                    cells.bounds.push((start, cells.buf.len() as u32));
                    start = cells.buf.len() as u32;
                    state = Scan::FieldStart;
                } else {
                    cells.buf.push(c);
                }
            }
            Scan::Quoted => {
                if c == b'"' {
                    state = Scan::QuoteInQuoted;
                } else {
                    cells.buf.push(c);
                }
            }
            Scan::QuoteInQuoted => {
                if c == b'"' {
                    cells.buf.push(b'"');
                    state = Scan::Quoted;
                } else if c == delim {
                    cells.bounds.push((start, cells.buf.len() as u32));
                    start = cells.buf.len() as u32;
                    state = Scan::FieldStart;
                } else {
                    cells.buf.push(c);
                    state = Scan::Unquoted;
                }
            }
        }
    }
    cells.bounds.push((start, cells.buf.len() as u32));
}

/// The keys of a JSON object line, in the order serde_json gives them.
pub fn json_keys(line: &[u8]) -> Result<Vec<String>, String> {
    let value: serde_json::Value = serde_json::from_slice(line).map_err(|e| e.to_string())?;
    match value {
        serde_json::Value::Object(map) => Ok(map.keys().cloned().collect()),
        other => Err(format!("found {}", json_kind(&other))),
    }
}

fn json_kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// Fills `cells` with the values of `header`'s keys from one JSON object line (a missing key is
/// an empty cell; nested values keep their JSON text).
pub fn split_json(line: &[u8], header: &[String], cells: &mut Cells) -> Result<(), String> {
    cells.clear();
    let value: serde_json::Value =
        serde_json::from_slice(line).map_err(|e| format!("not valid JSON ({e})"))?;
    let serde_json::Value::Object(map) = value else {
        return Err(format!("not a JSON object (found {})", json_kind(&value)));
    };
    for key in header {
        match map.get(key) {
            None | Some(serde_json::Value::Null) => cells.push(b""),
            Some(serde_json::Value::String(s)) => cells.push(s.as_bytes()),
            Some(serde_json::Value::Bool(b)) => cells.push(if *b { b"true" } else { b"false" }),
            Some(other) => cells.push(other.to_string().as_bytes()),
        }
    }
    Ok(())
}

/// A path with a `.gz` suffix removed, for matching file names such as `rings.csv`.
pub fn logical_name(path: &Path) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    name.strip_suffix(".gz").unwrap_or(&name).to_string()
}

/// The BLAKE3 hash of a file's bytes (hex), read in large blocks.
pub fn hash_file(path: &Path, progress: &dyn Fn(u64)) -> Result<String, IngestError> {
    let unreadable = |source| IngestError::Unreadable {
        path: PathBuf::from(path),
        source,
    };
    let mut file = File::open(path).map_err(unreadable)?;
    let mut hasher = blake3::Hasher::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        let n = file.read(&mut buf).map_err(unreadable)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        total += n as u64;
        progress(total);
    }
    Ok(hasher.finalize().to_hex().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(text: &[u8], cap: usize) -> Vec<(RecordMeta, Vec<u8>)> {
        let mut r = RecordReader::new(Box::new(io::Cursor::new(text.to_vec())), b',', cap);
        let mut out = Vec::new();
        loop {
            let mut buf = Vec::new();
            match r.next_into(&mut buf).expect("in-memory read") {
                Some(m) => out.push((m, buf)),
                None => return out,
            }
        }
    }

    #[test]
    fn records_split_on_line_ends_outside_quotes() {
        let got = records(b"a,b\r\n1,\"x\ny\"\n\n2,\"q\"\"z\"\n3,4", 1024);
        let lines: Vec<_> = got.iter().map(|(m, _)| (m.line, m.record_no)).collect();
        assert_eq!(lines, vec![(1, 1), (2, 2), (5, 3), (6, 4)]);
        assert_eq!(got[0].1, b"a,b");
        assert_eq!(got[1].1, b"1,\"x\ny\"");
        let mut cells = Cells::default();
        split_csv(&got[2].1, b',', &mut cells);
        assert_eq!(cells.get(1), "q\"z");
        split_csv(&got[1].1, b',', &mut cells);
        assert_eq!(cells.get(1), "x\ny");
    }

    #[test]
    fn a_record_over_the_cap_is_cut_and_the_next_one_survives() {
        let mut text = b"h\n".to_vec();
        text.extend(std::iter::repeat_n(b'x', 100));
        text.extend_from_slice(b"\nshort\n");
        let got = records(&text, 50);
        assert_eq!(got[1].0.status, RecordStatus::TooLong { len_bytes: 100 });
        assert!(got[1].1.len() <= 50);
        assert_eq!(got[2].1, b"short");
        assert_eq!(got[2].0.line, 3);
    }

    #[test]
    fn an_unterminated_quote_is_reported_not_fatal() {
        let got = records(b"h\n\"abc\n", 1024);
        assert_eq!(got[1].0.status, RecordStatus::Unterminated);
    }

    #[test]
    fn delimiters_are_sniffed_outside_quotes() {
        assert_eq!(sniff_delimiter(b"a;b;c"), b';');
        assert_eq!(sniff_delimiter(b"\"a,b\";c;d"), b';');
        assert_eq!(sniff_delimiter(b"a\tb"), b'\t');
        assert_eq!(sniff_delimiter(b"single"), b',');
    }
}
