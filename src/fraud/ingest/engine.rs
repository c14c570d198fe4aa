//! The load itself: for each planned file, hash it, skip or resume or start a load, then stream
//! it through a reader/parser thread into batched SQLite inserts on the calling thread.
//!
//! Why two threads: SQLite inserts are the bottleneck and are single-threaded, so everything
//! else (decompression, splitting, parsing, interning keys into ids) runs on a second thread
//! and hands over ready rows through a bounded channel, which also bounds memory.
//!
//! Crash safety: every batch is one SQLite transaction that also advances the load's counters
//! (`rows_committed`, `rejects_bytes`); a killed load leaves whole batches and `status =
//! 'running'`, and running the same file again resumes after `rows_committed`. A bulk load into
//! a small table drops the secondary transaction indexes in its first batch and rebuilds them
//! in its last; the dropped definitions are kept in `meta` (same transaction as the drop), so a
//! kill in between is repaired by the next run or by [`repair_indexes`].
//!
//! Dedup: a transaction's source id is its rowid when it is a canonical integer (schema v5,
//! `store::schema::tx_number`), so the insert's `ON CONFLICT DO NOTHING` finds a duplicate in
//! the table's own B-tree; other keys go to the unique `ext_key` with a rowid below zero.
//!
//! `SIGHTLINE_INGEST_TRACE=1` prints where a load spent its time (waiting for rows, inserting,
//! committing, rebuilding indexes, the writer thread's CPU time) to stderr, for profiling.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::time::Instant;

use rusqlite::{Connection, Statement, params};
use rustc_hash::FxHashMap;
use serde::Serialize;

use super::detect::{FilePlan, Plan, record_problem, split_record};
use super::error::IngestError;
use super::labels::LabelState;
use super::loads::{LoadRecord, latest_with_hash};
use super::mapping::{EntityKind, Field, FileRole, LabelRule};
use super::rejects::{RejectsWriter, rejects_path};
use super::rows::{Compiled, Interner, NewKeys, Row, RowOrigin, Sym, TxKey, TxRow, reason_of};
use super::source::{Cells, Format, SourceLimits, hash_file, open, read_error};
use crate::store::schema::{TEXT_KEY_FIRST_ID, tx_number};
use crate::store::{Workspace, now_secs};

/// `meta` key holding the `CREATE INDEX` statements a bulk load dropped (JSON array).
const DEFERRED_INDEXES_KEY: &str = "ingest.deferred_indexes";
/// Page cache while loading (KiB): holds the dedup index's hot pages and a batch's new pages.
const LOAD_CACHE_KIB: u32 = 65_536;
/// Page cache while rebuilding indexes (KiB): SQLite's sorter is faster with small runs that
/// stay in the CPU caches (measured: 1–2 MiB sorts 1M keys in half the time 64 MiB does;
/// sorting in memory instead of temp files, `temp_store = MEMORY`, doubles it).
const REBUILD_CACHE_KIB: u32 = 1000;
/// Helper threads SQLite may use to sort while rebuilding indexes. One: the parser thread is
/// done by then, so the second core is free; measured on an idle 2-core machine the rebuild of
/// the three indexes over 1M rows went from 1.17–1.28 s to 0.77–0.97 s (on cores busy with
/// other builds a helper costs more CPU than it saves).
const REBUILD_SORT_THREADS: u32 = 1;
/// Rows per message from the parser thread to the writer.
const CHUNK_ROWS: usize = 8192;
/// Messages in flight between the threads (bounds memory to a few chunks).
const CHANNEL_CHUNKS: usize = 4;

/// Whether a large load drops and rebuilds the secondary transaction indexes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IndexStrategy {
    /// Rebuild when the file is large compared with the rows already there.
    #[default]
    Auto,
    /// Always maintain indexes row by row.
    Keep,
    /// Always drop and rebuild (for transactions files).
    Rebuild,
}

/// Options of a load.
#[derive(Clone, Debug)]
pub struct IngestOptions {
    /// Drop every label column and skip labels files.
    pub no_labels: bool,
    /// Record and decompression caps.
    pub limits: SourceLimits,
    /// Rows per committed batch.
    pub batch_rows: usize,
    /// Index maintenance during large loads.
    pub index_strategy: IndexStrategy,
    /// The caller expects no other connection to the workspace during the load (the command
    /// line): the load then writes pages straight into the file under a rollback journal
    /// instead of through the WAL, which saves copying every page a second time at the
    /// checkpoint. It falls back to the WAL when another connection already has the file
    /// open, and returns the file to WAL mode at the end.
    pub sole_writer: bool,
}

impl Default for IngestOptions {
    fn default() -> Self {
        Self {
            no_labels: false,
            limits: SourceLimits::default(),
            batch_rows: 250_000,
            index_strategy: IndexStrategy::Auto,
            sole_writer: false,
        }
    }
}

/// What the load is doing now.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Hashing the file (to skip or resume it).
    Hashing,
    /// Reading and inserting rows.
    Loading,
    /// Rebuilding indexes after a bulk load.
    Indexing,
    /// The file is done.
    Done,
}

/// A progress report, sent after every chunk of rows (a few thousand).
#[derive(Clone, Debug, Serialize)]
pub struct IngestProgress {
    /// Which file (0-based) of how many.
    pub file_index: usize,
    /// Files in the plan.
    pub file_count: usize,
    /// The file.
    pub path: PathBuf,
    /// What is happening.
    pub phase: Phase,
    /// Rows of this file read so far.
    pub rows_read: u64,
    /// Rows loaded so far.
    pub loaded: u64,
    /// Rows rejected so far.
    pub rejected: u64,
    /// Rows found already loaded.
    pub duplicates: u64,
    /// Bytes of the file read (compressed bytes for `.gz`).
    pub bytes_read: u64,
    /// Size of the file.
    pub bytes_total: u64,
}

/// What happened to one file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FileOutcome {
    /// Loaded from the start.
    Loaded,
    /// An interrupted load of the same file was resumed and completed.
    Resumed,
    /// The same file (same hash) was loaded before: nothing was read.
    AlreadyLoaded,
    /// Not loaded by design (ground truth, labels under `--no-labels`).
    Skipped,
    /// Stopped by the cancel flag; committed batches stay, running it again resumes.
    Cancelled,
}

/// Counts for one file. For a resumed load they include the rows committed before.
#[derive(Clone, Debug, Serialize)]
pub struct FileSummary {
    /// The file.
    pub path: PathBuf,
    /// What it held.
    pub role: FileRole,
    /// The preset or mapping that read it.
    pub preset: String,
    /// Its load id, when a load was recorded.
    pub load_id: Option<i64>,
    /// What happened.
    pub outcome: FileOutcome,
    /// Rows read.
    pub rows_read: u64,
    /// Rows loaded.
    pub loaded: u64,
    /// Rows rejected.
    pub rejected: u64,
    /// Rows already in the workspace.
    pub duplicates: u64,
    /// Accounts created.
    pub accounts_created: u64,
    /// The rejects file, when rows were rejected.
    pub rejects_path: Option<PathBuf>,
    /// Why a file was skipped, or other things to know.
    pub message: Option<String>,
    /// Wall time spent on this file in this run.
    pub elapsed_secs: f64,
}

/// The result of a run: totals over all files at the top (the `--json` contract:
/// `rows_read == loaded + rejected + duplicates`), then one entry per file.
#[derive(Clone, Debug, Default, Serialize)]
pub struct IngestSummary {
    /// Rows read, all files.
    pub rows_read: u64,
    /// Rows loaded, all files.
    pub loaded: u64,
    /// Rows rejected, all files.
    pub rejected: u64,
    /// Rows already in the workspace, all files.
    pub duplicates: u64,
    /// Accounts created, all files.
    pub accounts_created: u64,
    /// Whether the run was cancelled.
    pub cancelled: bool,
    /// The workspace file.
    pub workspace: PathBuf,
    /// Wall time of the run.
    pub elapsed_secs: f64,
    /// Whether the load wrote under a rollback journal (see [`IngestOptions::sole_writer`])
    /// rather than through the WAL.
    pub rollback_journal: bool,
    /// Per file, in load order.
    pub files: Vec<FileSummary>,
}

impl IngestSummary {
    fn add(&mut self, f: FileSummary) {
        self.rows_read += f.rows_read;
        self.loaded += f.loaded;
        self.rejected += f.rejected;
        self.duplicates += f.duplicates;
        self.accounts_created += f.accounts_created;
        self.files.push(f);
    }
}

/// Loads the files of `plan` into the workspace. Call it on the workspace's writer (e.g.
/// inside `Writer::run`); it blocks until done, cancelled (`cancel` set: committed batches
/// stay, the summary says `cancelled`) or failed.
pub fn run(
    ws: &mut Workspace,
    plan: &Plan,
    opts: &IngestOptions,
    cancel: &AtomicBool,
    progress: &dyn Fn(&IngestProgress),
) -> Result<IngestSummary, IngestError> {
    let started = Instant::now();
    let ws_path = ws.path().to_path_buf();
    let conn = ws.conn_mut();
    // Ids come from the interner and rows this run inserted, so the per-row foreign key
    // lookups are redundant; they are switched off for the run and back on after it.
    // The background checkpointer copies the WAL while the load goes on; the writer itself
    // does not stop at every commit to do it.
    // `synchronous = OFF` for the load only: no fsync at commits or checkpoints. In WAL mode
    // this is still safe against the process being killed (every committed frame is in the
    // OS's page cache, and a kill never leaves a half-written batch: the load resumes after its
    // last commit); only an OS crash or power cut during the load could lose or damage it.
    // The run ends with `synchronous = NORMAL` and a checkpoint under it.
    conn.execute_batch(&format!(
        "PRAGMA foreign_keys = OFF; PRAGMA synchronous = OFF; PRAGMA cache_size = -{LOAD_CACHE_KIB}; PRAGMA wal_autocheckpoint = 0;"
    ))?;
    let rollback = opts.sole_writer && leave_wal(conn);
    let checkpointer = (!rollback).then(|| Checkpointer::start(&ws_path));
    let result = run_files(conn, &ws_path, plan, opts, cancel, progress);
    drop(checkpointer);
    let t_end = Instant::now();
    let repaired = rebuild_deferred_indexes(conn);
    let restored = conn.execute_batch(
        "PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL; PRAGMA cache_size = -2000; PRAGMA wal_autocheckpoint = 1000;",
    );
    // Under the WAL the run ends with a checkpoint made under `synchronous = NORMAL` (it
    // syncs the file); after a rollback-journal load the pages are in the file already, so
    // the file is synced and handed back to the WAL.
    let settled = if rollback {
        let synced = sync_file(&ws_path);
        // A connection that came in during the load can hold the lock the switch needs; the
        // file then stays on the rollback journal until the next open switches it back.
        if let Err(e) = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0)) {
            tracing::warn!(error = %e, "the workspace stays on a rollback journal until reopened");
        }
        synced
    } else {
        conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
            .map_err(IngestError::from)
    };
    if std::env::var_os("SIGHTLINE_INGEST_TRACE").is_some() {
        eprintln!(
            "trace: run {:.2} s, epilogue {:.2} s ({})",
            (t_end - started).as_secs_f64(),
            t_end.elapsed().as_secs_f64(),
            if rollback { "rollback journal" } else { "WAL" }
        );
    }
    let mut summary = result?;
    repaired?;
    restored?;
    settled?;
    summary.workspace = ws_path;
    summary.rollback_journal = rollback;
    summary.elapsed_secs = started.elapsed().as_secs_f64();
    Ok(summary)
}

/// Flushes the workspace file to the disk (what `synchronous = NORMAL` does at a checkpoint).
fn sync_file(path: &Path) -> Result<(), IngestError> {
    std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .and_then(|f| f.sync_all())
        .map_err(|source| IngestError::Sync {
            path: path.to_path_buf(),
            source,
        })
}

/// Switches the load's connection from WAL to a rollback journal when no other connection has
/// the file open (leaving WAL needs the file to itself: with a reader attached the switch is
/// refused at once, without waiting, and the load goes through the WAL as usual).
/// A rollback-journal transaction writes its pages into the file directly, journalling only
/// the pages it overwrites; with `synchronous = OFF` for the load the safety is the WAL's: a
/// killed load rolls back to its last committed batch on the next open.
fn leave_wal(conn: &Connection) -> bool {
    if let Err(e) = conn.busy_timeout(std::time::Duration::ZERO) {
        tracing::debug!(error = %e, "the load stays in WAL mode");
        return false;
    }
    let mode = conn.query_row("PRAGMA journal_mode = DELETE", [], |r| {
        r.get::<_, String>(0)
    });
    if let Err(e) = conn.busy_timeout(crate::store::BUSY_TIMEOUT) {
        tracing::debug!(error = %e, "busy timeout not restored");
    }
    match mode {
        Ok(m) => m.eq_ignore_ascii_case("delete"),
        Err(e) => {
            tracing::debug!(error = %e, "the load stays in WAL mode");
            false
        }
    }
}

/// Copies committed WAL frames into the database file on its own thread and connection while
/// the load goes on, so the copy overlaps with parsing and inserting instead of following them
/// (a passive checkpoint never blocks the writer). Stops when dropped.
struct Checkpointer {
    stop: Option<std::sync::mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Checkpointer {
    const PERIOD: std::time::Duration = std::time::Duration::from_millis(250);

    fn start(path: &Path) -> Self {
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        let path = path.to_path_buf();
        let thread = std::thread::Builder::new()
            .name("ingest-checkpoint".into())
            .spawn(move || {
                let conn = match Workspace::connect(&path) {
                    Ok(c) => c,
                    Err(e) => {
                        tracing::debug!(error = %e, "no background checkpoints for this load");
                        return;
                    }
                };
                // Its checkpoints follow the load's `synchronous = OFF` (see `run`).
                if let Err(e) = conn.execute_batch("PRAGMA synchronous = OFF") {
                    tracing::debug!(error = %e, "background checkpoints keep their fsyncs");
                }
                while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
                    stopped.recv_timeout(Self::PERIOD)
                {
                    // Busy or failed checkpoints are harmless: the run ends with its own.
                    if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
                    {
                        tracing::debug!(error = %e, "background checkpoint skipped");
                    }
                }
            })
            .ok();
        Self {
            stop: Some(stop),
            thread,
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.stop.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// CPU time of the calling thread (Linux; 0 elsewhere), for the load trace.
fn thread_cpu_secs() -> f64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .next()
                .and_then(|n| n.parse::<f64>().ok())
        })
        .map_or(0.0, |ns| ns / 1e9)
}

/// Rebuilds transaction indexes a killed bulk load left dropped. Returns whether any were.
pub fn repair_indexes(ws: &mut Workspace) -> Result<bool, IngestError> {
    rebuild_deferred_indexes(ws.conn_mut())
}

fn run_files(
    conn: &mut Connection,
    ws_path: &Path,
    plan: &Plan,
    opts: &IngestOptions,
    cancel: &AtomicBool,
    progress: &dyn Fn(&IngestProgress),
) -> Result<IngestSummary, IngestError> {
    let mut summary = IngestSummary::default();
    let mut interner: Option<Interner> = None;
    let mut labels = LabelState::load(conn)?;
    let count = plan.files.len();
    for (index, fp) in plan.files.iter().enumerate() {
        let skip = |message: String| FileSummary {
            path: fp.path.clone(),
            role: fp.role,
            preset: fp.mapping_name.clone(),
            load_id: None,
            outcome: FileOutcome::Skipped,
            rows_read: 0,
            loaded: 0,
            rejected: 0,
            duplicates: 0,
            accounts_created: 0,
            rejects_path: None,
            message: Some(message),
            elapsed_secs: 0.0,
        };
        if summary.cancelled {
            summary.add(skip("not started: the load was cancelled".into()));
            continue;
        }
        if fp.role == FileRole::GroundTruth {
            summary.add(skip("ground truth for tests; not loaded".into()));
            continue;
        }
        if fp.role == FileRole::Labels && opts.no_labels {
            summary.add(skip("--no-labels: labels file not loaded".into()));
            continue;
        }
        if interner.is_none() {
            interner = Some(Interner::load(conn)?);
        }
        let Some(interner_ref) = interner.as_mut() else {
            return Err(IngestError::Pipeline("interner missing".into()));
        };
        let ctx = FileCtx {
            ws_path,
            fp,
            opts,
            cancel,
            progress,
            index,
            count,
        };
        let file = load_file(conn, &ctx, interner_ref, &mut labels)?;
        if file.outcome == FileOutcome::Cancelled {
            summary.cancelled = true;
        }
        summary.add(file);
    }
    Ok(summary)
}

struct FileCtx<'a> {
    ws_path: &'a Path,
    fp: &'a FilePlan,
    opts: &'a IngestOptions,
    cancel: &'a AtomicBool,
    progress: &'a dyn Fn(&IngestProgress),
    index: usize,
    count: usize,
}

impl FileCtx<'_> {
    fn report(&self, phase: Phase, c: &Counters, bytes_read: u64) {
        (self.progress)(&IngestProgress {
            file_index: self.index,
            file_count: self.count,
            path: self.fp.path.clone(),
            phase,
            rows_read: c.rows_read,
            loaded: c.loaded,
            rejected: c.rejected,
            duplicates: c.duplicates,
            bytes_read,
            bytes_total: self.fp.size_bytes,
        });
    }
}

/// Counters of one load, committed with each batch.
#[derive(Clone, Copy, Debug, Default)]
struct Counters {
    rows_read: u64,
    loaded: u64,
    rejected: u64,
    duplicates: u64,
    accounts_created: u64,
    rows_committed: u64,
}

impl Counters {
    fn from_load(l: &LoadRecord) -> Self {
        let n = |v: i64| v.max(0) as u64;
        Self {
            rows_read: n(l.rows_read),
            loaded: n(l.loaded),
            rejected: n(l.rejected),
            duplicates: n(l.duplicates),
            accounts_created: n(l.accounts_created),
            rows_committed: n(l.rows_committed),
        }
    }
}

/// A rejected row on its way to the rejects file.
struct Reject {
    line: u64,
    reason: String,
    original: Vec<u8>,
}

/// What the parser thread sends: rows ready to write, rejects, and the keys to insert first.
struct Chunk {
    rows: Vec<Row>,
    rejects: Vec<Reject>,
    new: NewKeys,
    /// Records this chunk covers (rows + rejects).
    records: u64,
    /// Record number of its last record.
    last_record_no: u64,
    /// Bytes of the file read when it was sent.
    bytes_read: u64,
}

enum Msg {
    Chunk(Chunk),
    /// The file ended (`cancelled`: the parser stopped early on the cancel flag).
    End {
        cancelled: bool,
    },
    Failed(IngestError),
}

fn load_file(
    conn: &mut Connection,
    ctx: &FileCtx<'_>,
    interner: &mut Interner,
    labels: &mut LabelState,
) -> Result<FileSummary, IngestError> {
    let started = Instant::now();
    let fp = ctx.fp;
    let mut counters = Counters::default();
    ctx.report(Phase::Hashing, &counters, 0);
    let hash = hash_file(&fp.path, &|_| {})?;
    let previous = latest_with_hash(conn, &hash)?;
    let mut summary = FileSummary {
        path: fp.path.clone(),
        role: fp.role,
        preset: fp.mapping_name.clone(),
        load_id: None,
        outcome: FileOutcome::Loaded,
        rows_read: 0,
        loaded: 0,
        rejected: 0,
        duplicates: 0,
        accounts_created: 0,
        rejects_path: None,
        message: None,
        elapsed_secs: 0.0,
    };
    let (load_id, rejects_committed) = match &previous {
        Some(p) if p.status == "complete" => {
            summary.load_id = Some(p.id);
            summary.outcome = FileOutcome::AlreadyLoaded;
            summary.message = Some(format!(
                "already loaded as load {} ({} rows loaded); nothing added",
                p.id, p.loaded
            ));
            ctx.report(Phase::Done, &counters, fp.size_bytes);
            return Ok(summary);
        }
        Some(p) => {
            counters = Counters::from_load(p);
            summary.outcome = FileOutcome::Resumed;
            summary.message = Some(format!(
                "resumed load {} after {} committed rows",
                p.id, p.rows_committed
            ));
            conn.execute(
                "UPDATE loads SET status = 'running', preset = ?2, role = ?3 WHERE id = ?1",
                params![p.id, fp.mapping_name, fp.role.as_str()],
            )?;
            (p.id, p.rejects_bytes.max(0) as u64)
        }
        None => {
            let mapping = toml::to_string(&fp.section).unwrap_or_default();
            conn.execute(
                "INSERT INTO loads(file_name, file_hash, preset, role, mapping, started_at, status)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'running')",
                params![
                    fp.path.display().to_string(),
                    hash,
                    fp.mapping_name,
                    fp.role.as_str(),
                    mapping,
                    now_secs()
                ],
            )?;
            (conn.last_insert_rowid(), 0)
        }
    };
    summary.load_id = Some(load_id);
    let rpath = rejects_path(ctx.ws_path, load_id, &fp.path);
    let file_label = fp
        .path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let mut rejects = RejectsWriter::new(rpath.clone(), rejects_committed, &file_label);

    let outcome = stream_file(
        conn,
        ctx,
        interner,
        labels,
        load_id,
        &hash,
        &mut counters,
        &mut rejects,
    );
    let end = match outcome {
        Ok(end) => end,
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            let _ = conn.execute(
                "UPDATE loads SET status = 'failed', finished_at = ?2 WHERE id = ?1",
                params![load_id, now_secs()],
            );
            return Err(e);
        }
    };
    summary.rows_read = counters.rows_read;
    summary.loaded = counters.loaded;
    summary.rejected = counters.rejected;
    summary.duplicates = counters.duplicates;
    summary.accounts_created = counters.accounts_created;
    if rejects.exists() {
        summary.rejects_path = Some(rpath);
    }
    if end == StreamEnd::Cancelled {
        summary.outcome = FileOutcome::Cancelled;
        summary.message = Some(format!(
            "cancelled after {} rows; run the same load again to resume",
            counters.rows_committed
        ));
    }
    summary.elapsed_secs = started.elapsed().as_secs_f64();
    ctx.report(Phase::Done, &counters, fp.size_bytes);
    Ok(summary)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum StreamEnd {
    Complete,
    Cancelled,
}

/// Estimated data rows of a file, from its size and the preview (for the index decision).
fn estimate_rows(fp: &FilePlan) -> u64 {
    let per_row = 64u64;
    let raw = if fp.compressed {
        fp.size_bytes.saturating_mul(5)
    } else {
        fp.size_bytes
    };
    raw / per_row
}

#[allow(clippy::too_many_arguments)]
fn stream_file(
    conn: &mut Connection,
    ctx: &FileCtx<'_>,
    interner: &mut Interner,
    labels: &mut LabelState,
    load_id: i64,
    hash: &str,
    counters: &mut Counters,
    rejects: &mut RejectsWriter,
) -> Result<StreamEnd, IngestError> {
    let fp = ctx.fp;
    let delimiter = match fp.format {
        Format::Csv { delimiter } => Some(delimiter),
        Format::JsonLines => None,
    };
    let mut opened = open(&fp.path, &ctx.opts.limits, delimiter)?;
    if opened.header != fp.header && fp.format != Format::JsonLines {
        return Err(IngestError::Pipeline(format!(
            "{} changed since it was previewed (its header is now {}); preview it again",
            fp.path.display(),
            opened.header.join(",")
        )));
    }
    let compiled = Compiled::new(
        &fp.section,
        &fp.mapping_name,
        &fp.header,
        &fp.path,
        !ctx.opts.no_labels,
    )?;
    if compiled.has_labels() {
        conn.execute("UPDATE loads SET has_labels = 1 WHERE id = ?1", [load_id])?;
    }
    let bulk = fp.role == FileRole::Transactions && {
        let existing: i64 =
            conn.query_row("SELECT count(*) FROM transactions", [], |r| r.get(0))?;
        let incoming = estimate_rows(fp).saturating_sub(counters.rows_committed);
        match ctx.opts.index_strategy {
            IndexStrategy::Keep => false,
            IndexStrategy::Rebuild => true,
            IndexStrategy::Auto => incoming >= 20_000 && (existing.max(0) as u64) < incoming * 2,
        }
    };
    let bytes_read = opened.bytes_read.clone();
    let skip = counters.rows_committed;
    let file_key = hash[..16].to_string();
    interner.reset_symbols();
    let (sender, receiver) = sync_channel::<Msg>(CHANNEL_CHUNKS);
    let first_json = opened.first_json_line.take();
    let path = fp.path.clone();
    let size_bytes = fp.size_bytes;
    let cancel = ctx.cancel;
    std::thread::scope(|scope| {
        let compiled_ref = &compiled;
        let producer = std::thread::Builder::new()
            .name("ingest-parse".into())
            .spawn_scoped(scope, move || {
                let records = opened.records;
                parse_loop(ParseJob {
                    records,
                    first_json,
                    format: fp.format,
                    header: &fp.header,
                    compiled: compiled_ref,
                    interner,
                    file_key: &file_key,
                    skip,
                    cancel,
                    sender,
                    bytes_read: &bytes_read,
                    path: &path,
                    size_bytes,
                })
            })
            .map_err(|e| {
                IngestError::Pipeline(format!("could not start the parser thread: {e}"))
            })?;
        let mut writer = FileWriter {
            conn,
            compiled: &compiled,
            labels,
            load_id,
            source: format!("load:{load_id}"),
            counters,
            rejects,
            agg: FxHashMap::default(),
            pending_labels: PendingLabels::default(),
            symbols: Vec::new(),
            bulk,
            in_tx: false,
            batch_records: 0,
            next_text_id: TEXT_KEY_FIRST_ID,
        };
        let result = writer.consume(&receiver, ctx);
        drop(receiver);
        let joined = producer.join();
        match joined {
            Ok(()) => result,
            Err(_) => Err(IngestError::Pipeline("the parser thread panicked".into())),
        }
    })
}

struct ParseJob<'a> {
    records: super::source::RecordReader,
    first_json: Option<(super::source::RecordMeta, Vec<u8>)>,
    format: Format,
    header: &'a [String],
    compiled: &'a Compiled,
    interner: &'a mut Interner,
    file_key: &'a str,
    skip: u64,
    cancel: &'a AtomicBool,
    sender: SyncSender<Msg>,
    bytes_read: &'a std::sync::atomic::AtomicU64,
    path: &'a Path,
    size_bytes: u64,
}

/// The parser thread: reads records, skips the committed ones, parses and interns, and sends
/// chunks. Stops when the writer hangs up, on the cancel flag, or at the end of the file.
fn parse_loop(job: ParseJob<'_>) {
    let ParseJob {
        mut records,
        mut first_json,
        format,
        header,
        compiled,
        interner,
        file_key,
        skip,
        cancel,
        sender,
        bytes_read,
        path,
        size_bytes,
    } = job;
    let csv = matches!(format, Format::Csv { .. });
    let mut cells = Cells::default();
    let mut raw: Vec<u8> = Vec::with_capacity(4096);
    let new_chunk = || Chunk {
        rows: Vec::with_capacity(CHUNK_ROWS),
        rejects: Vec::new(),
        new: NewKeys::default(),
        records: 0,
        last_record_no: 0,
        bytes_read: 0,
    };
    let mut chunk = new_chunk();
    loop {
        raw.clear();
        let meta = match first_json.take() {
            Some((meta, line)) => {
                raw = line;
                meta
            }
            None => match records.next_into(&mut raw) {
                Ok(Some(m)) => m,
                Ok(None) => break,
                Err(e) => {
                    let _ = sender.send(Msg::Failed(read_error(path, size_bytes, e)));
                    return;
                }
            },
        };
        if meta.record_no <= skip {
            continue;
        }
        chunk.records += 1;
        chunk.last_record_no = meta.record_no;
        let parsed = (|| -> Result<Row, String> {
            if let Some(reason) = record_problem(meta.status) {
                return Err(reason);
            }
            std::str::from_utf8(&raw)
                .map_err(|e| format!("invalid UTF-8 at byte {}", e.valid_up_to()))?;
            split_record(format, header, &raw, &mut cells)?;
            let p = compiled.extract(&cells, csv).map_err(|p| reason_of(&p))?;
            let origin = RowOrigin {
                file_key,
                record_no: meta.record_no,
                line: meta.line,
                original: &raw,
            };
            compiled.resolve(p, interner, &mut chunk.new, &origin)
        })();
        match parsed {
            Ok(row) => chunk.rows.push(row),
            Err(reason) => chunk.rejects.push(Reject {
                line: meta.line,
                reason,
                original: raw.clone(),
            }),
        }
        if chunk.records as usize >= CHUNK_ROWS {
            chunk.bytes_read = bytes_read.load(Ordering::Relaxed);
            let full = std::mem::replace(&mut chunk, new_chunk());
            if sender.send(Msg::Chunk(full)).is_err() {
                return;
            }
            if cancel.load(Ordering::Relaxed) {
                let _ = sender.send(Msg::End { cancelled: true });
                return;
            }
        }
    }
    chunk.bytes_read = bytes_read.load(Ordering::Relaxed);
    if chunk.records > 0 && sender.send(Msg::Chunk(chunk)).is_err() {
        return;
    }
    let _ = sender.send(Msg::End { cancelled: false });
}

/// How an account used an entity in one batch (merged into `account_entities` at commit).
#[derive(Clone, Copy, Debug)]
struct EdgeUse {
    first_secs: i64,
    last_secs: i64,
    uses: i64,
}

/// Account labels seen in a batch: account → any fraud. Account ids are dense (the interner
/// hands them out in order), so a flat array beats a hash map on the per-row path.
#[derive(Debug, Default)]
struct PendingLabels {
    /// 0: not seen, 1: seen legit only, 2: seen fraud.
    state: Vec<u8>,
    touched: Vec<i64>,
}

impl PendingLabels {
    fn note(&mut self, account: i64, fraud: bool) {
        let Ok(i) = usize::try_from(account) else {
            return;
        };
        if i >= self.state.len() {
            self.state.resize((i + 1).next_power_of_two(), 0);
        }
        let v = &mut self.state[i];
        if *v == 0 {
            self.touched.push(account);
        }
        *v = (*v).max(if fraud { 2 } else { 1 });
    }

    /// The batch's labels in account order, clearing the set.
    fn drain(&mut self) -> Vec<(i64, bool)> {
        self.touched.sort_unstable();
        let out = self
            .touched
            .iter()
            .map(|a| (*a, self.state[*a as usize] == 2))
            .collect();
        for a in self.touched.drain(..) {
            self.state[a as usize] = 0;
        }
        out
    }
}

/// Prepared statements of one file's load.
struct Stmts<'c> {
    account: Statement<'c>,
    entity: Statement<'c>,
    tx: Option<(Statement<'c>, Vec<Field>)>,
    tx_label: Statement<'c>,
}

struct FileWriter<'a> {
    conn: &'a Connection,
    compiled: &'a Compiled,
    labels: &'a mut LabelState,
    load_id: i64,
    source: String,
    counters: &'a mut Counters,
    rejects: &'a mut RejectsWriter,
    /// account_entities uses seen in this batch: (account, entity) → (first, last, uses).
    agg: FxHashMap<(i64, i64), EdgeUse>,
    /// Account labels seen in this batch: account → any fraud.
    pending_labels: PendingLabels,
    /// This file's symbols by number (see [`Sym`]).
    symbols: Vec<Box<str>>,
    bulk: bool,
    in_tx: bool,
    batch_records: u64,
    /// The rowid the next text-keyed transaction gets (re-read at each batch's start, under
    /// the write lock, so two processes loading together never hand out the same one).
    next_text_id: i64,
}

/// The transaction columns a file fills: only those are bound, the rest take their defaults
/// (fewer bound columns is measurably faster on million-row files).
fn tx_columns(c: &Compiled) -> Vec<Field> {
    let mut cols = vec![
        Field::TxId,
        Field::Timestamp,
        Field::SrcAccount,
        Field::Amount,
    ];
    for f in [
        Field::Currency,
        Field::DstAccount,
        Field::Merchant,
        Field::Channel,
        Field::Status,
        Field::Mcc,
        Field::PromoCode,
        Field::Device,
        Field::Ip,
        Field::Card,
    ] {
        if c.fills(f) {
            cols.push(f);
        }
    }
    cols
}

/// The insert for a file's columns; the load id and a file-wide currency are literals. A key
/// already there (the rowid for numeric ids, `ext_key` otherwise) skips the row.
fn tx_insert_sql(cols: &[Field], currency: &str, load_id: i64) -> String {
    let name = |f: &Field| match f {
        Field::TxId => "id, ext_key",
        Field::Timestamp => "ts",
        Field::SrcAccount => "src_account",
        Field::DstAccount => "dst_account",
        Field::Merchant => "merchant_id",
        Field::Amount => "amount",
        Field::Currency => "currency",
        Field::Channel => "channel",
        Field::Status => "status",
        Field::Mcc => "mcc",
        Field::PromoCode => "promo_code",
        Field::Device => "device_id",
        Field::Ip => "ip_id",
        Field::Card => "card_id",
        _ => "load_id",
    };
    let mut names: Vec<&str> = cols.iter().map(name).collect();
    let mut marks: Vec<String> = (1..=tx_params(cols)).map(|i| format!("?{i}")).collect();
    names.push("load_id");
    marks.push(load_id.to_string());
    if !cols.contains(&Field::Currency) {
        names.push("currency");
        marks.push(format!("'{}'", currency.replace('\'', "''")));
    }
    format!(
        "INSERT INTO transactions({}) VALUES ({}) ON CONFLICT DO NOTHING",
        names.join(", "),
        marks.join(", ")
    )
}

/// Bound parameters per transaction row of the insert (the key takes two: id and ext_key).
fn tx_params(cols: &[Field]) -> usize {
    cols.iter()
        .map(|f| if *f == Field::TxId { 2 } else { 1 })
        .sum()
}

/// Binds one transaction's values to the parameters of `stmt`, in `cols` order.
fn bind_tx(
    stmt: &mut Statement<'_>,
    cols: &[Field],
    t: &TxRow,
    tx_id: i64,
    new: &NewKeys,
    symbols: &[Box<str>],
) -> Result<(), rusqlite::Error> {
    let sym = |s: Sym| symbols.get(s.0 as usize).map_or("", |b| &**b);
    let mut idx = 0;
    for f in cols {
        idx += 1;
        match f {
            Field::TxId => {
                stmt.raw_bind_parameter(idx, tx_id)?;
                idx += 1;
                match t.key {
                    TxKey::Number(_) => stmt.raw_bind_parameter(idx, rusqlite::types::Null)?,
                    TxKey::Text(a, b) => stmt.raw_bind_parameter(idx, new.key_text(a, b))?,
                }
            }
            Field::Timestamp => stmt.raw_bind_parameter(idx, t.ts)?,
            Field::SrcAccount => stmt.raw_bind_parameter(idx, t.src)?,
            Field::DstAccount => stmt.raw_bind_parameter(idx, t.dst)?,
            Field::Merchant => stmt.raw_bind_parameter(idx, t.merchant)?,
            Field::Amount => stmt.raw_bind_parameter(idx, t.amount)?,
            Field::Currency => stmt.raw_bind_parameter(idx, sym(t.currency))?,
            Field::Channel => stmt.raw_bind_parameter(idx, t.channel.map(sym))?,
            Field::Status => stmt.raw_bind_parameter(idx, t.status)?,
            Field::Mcc => stmt.raw_bind_parameter(idx, t.mcc.map(sym))?,
            Field::PromoCode => stmt.raw_bind_parameter(idx, t.promo.as_deref())?,
            Field::Device => stmt.raw_bind_parameter(idx, t.device)?,
            Field::Ip => stmt.raw_bind_parameter(idx, t.ip)?,
            Field::Card => stmt.raw_bind_parameter(idx, t.card)?,
            _ => {}
        }
    }
    Ok(())
}

impl FileWriter<'_> {
    fn begin(&mut self) -> Result<(), IngestError> {
        if !self.in_tx {
            self.conn.execute_batch("BEGIN IMMEDIATE")?;
            self.in_tx = true;
            let last: Option<i64> =
                self.conn
                    .query_row("SELECT max(id) FROM transactions WHERE id < 0", [], |r| {
                        r.get(0)
                    })?;
            self.next_text_id = last.map_or(TEXT_KEY_FIRST_ID, |l| l + 1);
            if self.bulk {
                drop_secondary_indexes(self.conn)?;
            }
        }
        Ok(())
    }

    fn commit(&mut self, last_record_no: u64, status: Option<&str>) -> Result<(), IngestError> {
        self.begin()?;
        self.flush_agg()?;
        let rejects_bytes = self.rejects.flush()?;
        if last_record_no > self.counters.rows_committed {
            self.counters.rows_committed = last_record_no;
        }
        let c = *self.counters;
        let rejects = if self.rejects.exists() {
            Some(self.rejects.path().display().to_string())
        } else {
            None
        };
        self.conn.execute(
            "UPDATE loads SET rows_read = ?2, loaded = ?3, rejected = ?4, duplicates = ?5,
                 rows_committed = ?6, accounts_created = ?7, rejects_bytes = ?8, rejects_path = ?9
             WHERE id = ?1",
            params![
                self.load_id,
                c.rows_read as i64,
                c.loaded as i64,
                c.rejected as i64,
                c.duplicates as i64,
                c.rows_committed as i64,
                c.accounts_created as i64,
                rejects_bytes as i64,
                rejects
            ],
        )?;
        if let Some(status) = status {
            self.conn.execute(
                "UPDATE loads SET status = ?2, finished_at = ?3 WHERE id = ?1",
                params![self.load_id, status, now_secs()],
            )?;
        }
        self.conn.execute_batch("COMMIT")?;
        self.in_tx = false;
        self.rejects.committed();
        self.batch_records = 0;
        Ok(())
    }

    fn consume(
        &mut self,
        receiver: &Receiver<Msg>,
        ctx: &FileCtx<'_>,
    ) -> Result<StreamEnd, IngestError> {
        let conn = self.conn;
        let mut stmts = Stmts {
            account: conn.prepare("INSERT INTO accounts(id, ext_id, load_id) VALUES (?1, ?2, ?3)")?,
            entity: conn.prepare("INSERT INTO entities(id, kind, value) VALUES (?1, ?2, ?3)")?,
            tx: None,
            tx_label: conn.prepare(
                "INSERT OR IGNORE INTO transaction_labels(transaction_id, label, load_id) VALUES (?1, ?2, ?3)",
            )?,
        };
        if self.compiled.role == FileRole::Transactions {
            let cols = tx_columns(self.compiled);
            let sql = tx_insert_sql(&cols, self.compiled.default_currency(), self.load_id);
            stmts.tx = Some((conn.prepare(&sql)?, cols));
        }
        let mut last_record_no = self.counters.rows_committed;
        let trace = std::env::var_os("SIGHTLINE_INGEST_TRACE").is_some();
        let cpu0 = thread_cpu_secs();
        let (mut t_wait, mut t_write, mut t_commit) = (0.0f64, 0.0f64, 0.0f64);
        loop {
            let t0 = Instant::now();
            let msg = receiver
                .recv()
                .map_err(|_| IngestError::Pipeline("the parser thread stopped".into()))?;
            t_wait += t0.elapsed().as_secs_f64();
            match msg {
                Msg::Failed(e) => return Err(e),
                Msg::End { cancelled } => {
                    if cancelled {
                        self.commit(last_record_no, Some("cancelled"))?;
                        return Ok(StreamEnd::Cancelled);
                    }
                    let t1 = Instant::now();
                    let cpu1 = thread_cpu_secs();
                    self.finish(last_record_no, ctx)?;
                    if trace {
                        eprintln!(
                            "trace: wait {t_wait:.2} s, write {t_write:.2} s, commits {t_commit:.2} s, finish {:.2} s; writer cpu load {:.2} s, finish {:.2} s",
                            t1.elapsed().as_secs_f64(),
                            cpu1 - cpu0,
                            thread_cpu_secs() - cpu1
                        );
                    }
                    return Ok(StreamEnd::Complete);
                }
                Msg::Chunk(chunk) => {
                    let t1 = Instant::now();
                    self.begin()?;
                    self.write_chunk(&mut stmts, chunk.new, chunk.rows)?;
                    t_write += t1.elapsed().as_secs_f64();
                    for r in &chunk.rejects {
                        self.rejects.write(r.line, &r.reason, &r.original)?;
                    }
                    self.counters.rows_read += chunk.records;
                    self.counters.rejected += chunk.rejects.len() as u64;
                    self.batch_records += chunk.records;
                    last_record_no = chunk.last_record_no;
                    ctx.report(Phase::Loading, self.counters, chunk.bytes_read);
                    if ctx.cancel.load(Ordering::Relaxed) {
                        self.commit(last_record_no, Some("cancelled"))?;
                        return Ok(StreamEnd::Cancelled);
                    }
                    if self.batch_records >= ctx.opts.batch_rows as u64 {
                        let t2 = Instant::now();
                        self.commit(last_record_no, None)?;
                        t_commit += t2.elapsed().as_secs_f64();
                    }
                }
            }
        }
    }

    fn finish(&mut self, last_record_no: u64, ctx: &FileCtx<'_>) -> Result<(), IngestError> {
        self.begin()?;
        if self.bulk {
            ctx.report(Phase::Indexing, self.counters, ctx.fp.size_bytes);
            let t0 = Instant::now();
            self.flush_agg()?;
            let t1 = Instant::now();
            rebuild_in_tx(self.conn)?;
            if std::env::var_os("SIGHTLINE_INGEST_TRACE").is_some() {
                eprintln!(
                    "trace: finish: labels and edges {:.2} s, index rebuild {:.2} s",
                    (t1 - t0).as_secs_f64(),
                    t1.elapsed().as_secs_f64()
                );
            }
        }
        self.commit(last_record_no, Some("complete"))
    }

    fn write_chunk(
        &mut self,
        st: &mut Stmts<'_>,
        new: NewKeys,
        rows: Vec<Row>,
    ) -> Result<(), IngestError> {
        for a in &new.accounts {
            st.account
                .execute(params![a.id, &*a.ext_id, self.load_id])?;
            self.counters.accounts_created += 1;
        }
        for e in &new.entities {
            st.entity
                .execute(params![e.id, e.kind.as_str(), &*e.value])?;
        }
        self.symbols.extend(new.symbols.iter().cloned());
        for row in rows {
            match row {
                Row::Tx(t) => self.write_tx(st, &new, &t)?,
                Row::Account(a) => {
                    let mut changed = false;
                    if a.is_new {
                        self.conn
                            .prepare_cached(
                                "INSERT INTO accounts(id, ext_id, name, created_at, load_id) VALUES (?1, ?2, ?3, ?4, ?5)",
                            )?
                            .execute(params![a.id, &*a.ext_id, a.name, a.created_at, self.load_id])?;
                        self.counters.accounts_created += 1;
                        changed = true;
                    } else {
                        if a.name.is_some() {
                            changed |= self
                                .conn
                                .prepare_cached(
                                    "UPDATE accounts SET name = ?2 WHERE id = ?1 AND name IS NOT ?2",
                                )?
                                .execute(params![a.id, a.name])?
                                > 0;
                        }
                        if a.created_at.is_some() {
                            changed |= self
                                .conn
                                .prepare_cached(
                                    "UPDATE accounts SET created_at = ?2 WHERE id = ?1 AND created_at IS NOT ?2",
                                )?
                                .execute(params![a.id, a.created_at])?
                                > 0;
                        }
                    }
                    for e in &a.entities {
                        changed |= self
                            .conn
                            .prepare_cached(
                                "INSERT INTO account_entities(account_id, entity_id, uses) VALUES (?1, ?2, 1)
                                 ON CONFLICT(account_id, entity_id) DO NOTHING",
                            )?
                            .execute(params![a.id, e])?
                            > 0;
                    }
                    if let Some(fraud) = a.label {
                        changed |= self
                            .labels
                            .apply_data(self.conn, a.id, fraud, &self.source)?;
                    }
                    self.count(changed);
                }
                Row::Merchant(m) => {
                    let changed = self
                        .conn
                        .prepare_cached(
                            "UPDATE entities SET name = ?2 WHERE id = ?1 AND name IS NOT ?2",
                        )?
                        .execute(params![m.entity_id, m.name])?
                        > 0;
                    let is_new = new.entities.iter().any(|e| e.id == m.entity_id);
                    self.count(changed || is_new);
                }
                Row::Identity(i) => self.write_identity(i)?,
                Row::Label(l) => {
                    let changed =
                        self.labels
                            .apply_explicit(self.conn, l.account, l.fraud, &self.source)?;
                    self.count(changed);
                }
            }
        }
        Ok(())
    }

    fn count(&mut self, changed: bool) {
        if changed {
            self.counters.loaded += 1;
        } else {
            self.counters.duplicates += 1;
        }
    }

    fn write_tx(
        &mut self,
        st: &mut Stmts<'_>,
        new: &NewKeys,
        t: &TxRow,
    ) -> Result<(), IngestError> {
        let Some((stmt, cols)) = st.tx.as_mut() else {
            return Err(IngestError::Pipeline(
                "transaction statement missing".into(),
            ));
        };
        let tx_id = match t.key {
            TxKey::Number(n) => n,
            TxKey::Text(..) => self.next_text_id,
        };
        bind_tx(stmt, cols, t, tx_id, new, &self.symbols)?;
        let inserted = stmt.raw_execute()? > 0;
        if !inserted {
            self.counters.duplicates += 1;
            return Ok(());
        }
        if matches!(t.key, TxKey::Text(..)) {
            self.next_text_id += 1;
        }
        self.inserted(st, t, tx_id)
    }

    /// Counts an inserted transaction and notes what it implies: identity edges and labels.
    fn inserted(&mut self, st: &mut Stmts<'_>, t: &TxRow, tx_id: i64) -> Result<(), IngestError> {
        self.counters.loaded += 1;
        for e in [t.device, t.ip, t.card]
            .into_iter()
            .flatten()
            .chain(t.other_entities.iter().copied())
        {
            let u = self.agg.entry((t.src, e)).or_insert(EdgeUse {
                first_secs: t.ts,
                last_secs: t.ts,
                uses: 0,
            });
            u.first_secs = u.first_secs.min(t.ts);
            u.last_secs = u.last_secs.max(t.ts);
            u.uses += 1;
        }
        if let Some(fraud) = t.label {
            if fraud {
                st.tx_label.execute(params![tx_id, "fraud", self.load_id])?;
            }
            // Account labels are applied once per account per batch ("fraud wins" does not
            // depend on order), not once per row.
            let rule = self.compiled.label_rule;
            if rule != LabelRule::Destination {
                self.pending_labels.note(t.src, fraud);
            }
            if rule != LabelRule::Source
                && let Some(d) = t.dst
            {
                self.pending_labels.note(d, fraud);
            }
        }
        Ok(())
    }

    fn write_identity(&mut self, i: super::rows::IdentityRow) -> Result<(), IngestError> {
        let conn = self.conn;
        let (account, tx) = match &i.tx_ext_id {
            Some(ext) => {
                let row = |r: &rusqlite::Row<'_>| -> rusqlite::Result<(i64, i64, i64)> {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                };
                // Numeric source ids are the rowid; other keys sit in `ext_key` (schema v5).
                let found = match tx_number(ext) {
                    Some(n) => conn
                        .prepare_cached(
                            "SELECT id, src_account, ts FROM transactions WHERE id = ?1",
                        )?
                        .query_row([n], row),
                    None => conn
                        .prepare_cached(
                            "SELECT id, src_account, ts FROM transactions WHERE ext_key = ?1",
                        )?
                        .query_row([ext], row),
                };
                match found {
                    Ok((id, src, ts)) => (src, Some((id, ts))),
                    Err(rusqlite::Error::QueryReturnedNoRows) => {
                        self.counters.rejected += 1;
                        let reason = format!(
                            "no transaction with id {ext:?} is loaded (load the transactions file first)"
                        );
                        self.rejects.write(i.line, &reason, &i.original)?;
                        return Ok(());
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            None => match i.account {
                Some(a) => (a, None),
                None => return Err(IngestError::Pipeline("identity row without a key".into())),
            },
        };
        let mut changed = false;
        for (kind, entity) in &i.entities {
            let column = match kind {
                EntityKind::Device => Some("device_id"),
                EntityKind::Ip => Some("ip_id"),
                EntityKind::Card => Some("card_id"),
                _ => None,
            };
            let fresh = match (tx, column) {
                (Some((tx_id, _)), Some(col)) => {
                    conn.prepare_cached(&format!(
                        "UPDATE transactions SET {col} = ?2 WHERE id = ?1 AND {col} IS NULL"
                    ))?
                    .execute(params![tx_id, entity])?
                        > 0
                }
                _ => true,
            };
            if !fresh {
                continue;
            }
            let ts = tx.map(|(_, ts)| ts);
            let n = conn
                .prepare_cached(
                    "INSERT INTO account_entities(account_id, entity_id, first_seen, last_seen, uses)
                     VALUES (?1, ?2, ?3, ?3, 1)
                     ON CONFLICT(account_id, entity_id) DO UPDATE SET
                        first_seen = min(coalesce(first_seen, excluded.first_seen), coalesce(excluded.first_seen, first_seen)),
                        last_seen = max(coalesce(last_seen, excluded.last_seen), coalesce(excluded.last_seen, last_seen)),
                        uses = uses + 1
                     WHERE ?4",
                )?
                .execute(params![account, entity, ts, tx.is_some()])?;
            changed |= n > 0;
        }
        self.count(changed);
        Ok(())
    }

    fn flush_agg(&mut self) -> Result<(), IngestError> {
        for (account, fraud) in self.pending_labels.drain() {
            self.labels
                .apply_data(self.conn, account, fraud, &self.source)?;
        }
        if self.agg.is_empty() {
            return Ok(());
        }
        let mut stmt = self.conn.prepare_cached(
            "INSERT INTO account_entities(account_id, entity_id, first_seen, last_seen, uses)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT(account_id, entity_id) DO UPDATE SET
                first_seen = min(coalesce(first_seen, excluded.first_seen), coalesce(excluded.first_seen, first_seen)),
                last_seen = max(coalesce(last_seen, excluded.last_seen), coalesce(excluded.last_seen, last_seen)),
                uses = uses + excluded.uses",
        )?;
        for ((a, e), u) in self.agg.drain() {
            stmt.execute(params![a, e, u.first_secs, u.last_secs, u.uses])?;
        }
        Ok(())
    }
}

/// Drops the secondary indexes of `transactions`, remembering them in `meta` (same
/// transaction), unless a previous drop is still pending.
fn drop_secondary_indexes(conn: &Connection) -> Result<(), IngestError> {
    let pending: Option<String> = conn
        .query_row(
            "SELECT value FROM meta WHERE key = ?1",
            [DEFERRED_INDEXES_KEY],
            |r| r.get(0),
        )
        .map(Some)
        .or_else(|e| match e {
            rusqlite::Error::QueryReturnedNoRows => Ok(None),
            e => Err(e),
        })?;
    if pending.is_some() {
        return Ok(());
    }
    // Only plain secondary indexes: a unique one is the dedup of text keys and must hold during
    // the load, and a partial one (merchant, text key) costs nothing per row outside it while
    // rebuilding it would scan the whole table.
    let mut stmt = conn.prepare(
        "SELECT m.name, m.sql FROM sqlite_master m
         JOIN pragma_index_list('transactions') l ON l.name = m.name
         WHERE m.type = 'index' AND m.sql IS NOT NULL AND l.\"unique\" = 0 AND l.partial = 0
         ORDER BY m.name",
    )?;
    let indexes: Vec<(String, String)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<Vec<(String, String)>, _>>()?;
    if indexes.is_empty() {
        return Ok(());
    }
    let sqls: Vec<&str> = indexes.iter().map(|(_, s)| s.as_str()).collect();
    let json = serde_json::to_string(&sqls).map_err(|e| IngestError::Pipeline(e.to_string()))?;
    conn.execute(
        "INSERT INTO meta(key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        params![DEFERRED_INDEXES_KEY, json],
    )?;
    for (name, _) in &indexes {
        conn.execute_batch(&format!(
            "DROP INDEX IF EXISTS \"{}\"",
            name.replace('"', "\"\"")
        ))?;
    }
    Ok(())
}

/// Recreates the dropped indexes inside the caller's transaction.
fn rebuild_in_tx(conn: &Connection) -> Result<bool, IngestError> {
    let pending: Option<String> = conn
        .query_row(
            "SELECT value FROM meta WHERE key = ?1",
            [DEFERRED_INDEXES_KEY],
            |r| r.get(0),
        )
        .map(Some)
        .or_else(|e| match e {
            rusqlite::Error::QueryReturnedNoRows => Ok(None),
            e => Err(e),
        })?;
    let Some(json) = pending else {
        return Ok(false);
    };
    let sqls: Vec<String> = serde_json::from_str(&json).map_err(|e| {
        IngestError::Pipeline(format!("meta {DEFERRED_INDEXES_KEY} is not readable: {e}"))
    })?;
    // SQLite's index sorter is faster with a small cache (its runs stay in the CPU caches).
    conn.execute_batch(&format!(
        "PRAGMA cache_size = -{REBUILD_CACHE_KIB}; PRAGMA threads = {REBUILD_SORT_THREADS}"
    ))?;
    for sql in sqls {
        let sql = match sql.strip_prefix("CREATE INDEX ") {
            Some(rest) if !rest.starts_with("IF NOT EXISTS") => {
                format!("CREATE INDEX IF NOT EXISTS {rest}")
            }
            _ => sql,
        };
        conn.execute_batch(&sql)?;
    }
    conn.execute("DELETE FROM meta WHERE key = ?1", [DEFERRED_INDEXES_KEY])?;
    conn.execute_batch(&format!(
        "PRAGMA cache_size = -{LOAD_CACHE_KIB}; PRAGMA threads = 0"
    ))?;
    Ok(true)
}

fn rebuild_deferred_indexes(conn: &mut Connection) -> Result<bool, IngestError> {
    let tx = conn.transaction()?;
    let rebuilt = rebuild_in_tx(&tx)?;
    tx.commit()?;
    Ok(rebuilt)
}
