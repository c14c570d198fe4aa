//! Account labels: the rules that turn data into labels, and the analyst's import and revoke.
//!
//! Labels live only in the `labels` table, apart from the data; scoring reads nothing else. The
//! effective label of an account is its newest (highest id) row with `revoked_at IS NULL`.
//!
//! Data labels (a transaction's `is_sar`, a node's `isFraud`) follow one rule: `fraud` wins —
//! a data `fraud` is added unless the account is already fraud (a `legit` written earlier by
//! the same load is turned into `fraud` in place); a data `legit` is added only to an account
//! with no label. Imported labels are the analyst's word: the newest wins.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension, params};
use rustc_hash::FxHashMap;
use serde::Serialize;

use super::error::IngestError;
use super::rejects::{RejectsWriter, rejects_dir};
use super::source::{Cells, SourceLimits, open, split_csv};
use super::values::parse_label;
use crate::store::{Workspace, now_secs};

#[derive(Clone, Debug)]
struct Effective {
    row_id: i64,
    fraud: bool,
    source: String,
}

/// The effective label of every labelled account, kept in step with the rows written.
#[derive(Debug, Default)]
pub struct LabelState {
    effective: FxHashMap<i64, Effective>,
}

impl LabelState {
    /// Loads the effective labels of the workspace.
    pub fn load(conn: &Connection) -> Result<Self, rusqlite::Error> {
        let mut effective = FxHashMap::default();
        let mut stmt = conn.prepare(
            "SELECT account_id, id, label, source FROM labels WHERE revoked_at IS NULL ORDER BY id",
        )?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let label: String = r.get(2)?;
            effective.insert(
                r.get(0)?,
                Effective {
                    row_id: r.get(1)?,
                    fraud: label == "fraud",
                    source: r.get(3)?,
                },
            );
        }
        Ok(Self { effective })
    }

    /// The effective label of an account: `Some(true)` fraud, `Some(false)` legit.
    pub fn get(&self, account: i64) -> Option<bool> {
        self.effective.get(&account).map(|e| e.fraud)
    }

    /// Applies a label read from data under the "fraud wins" rule. Returns whether a row was
    /// written.
    pub fn apply_data(
        &mut self,
        conn: &Connection,
        account: i64,
        fraud: bool,
        source: &str,
    ) -> Result<bool, rusqlite::Error> {
        match self.effective.get_mut(&account) {
            Some(e) if e.fraud || !fraud => Ok(false),
            Some(e) if e.source == source => {
                conn.prepare_cached("UPDATE labels SET label = 'fraud' WHERE id = ?1")?
                    .execute([e.row_id])?;
                e.fraud = true;
                Ok(true)
            }
            _ => {
                self.insert(conn, account, fraud, source)?;
                Ok(true)
            }
        }
    }

    /// Applies an analyst's label: added unless it is already the effective one. Returns
    /// whether a row was written.
    pub fn apply_explicit(
        &mut self,
        conn: &Connection,
        account: i64,
        fraud: bool,
        source: &str,
    ) -> Result<bool, rusqlite::Error> {
        if self.get(account) == Some(fraud) {
            return Ok(false);
        }
        self.insert(conn, account, fraud, source)?;
        Ok(true)
    }

    fn insert(
        &mut self,
        conn: &Connection,
        account: i64,
        fraud: bool,
        source: &str,
    ) -> Result<(), rusqlite::Error> {
        conn.prepare_cached(
            "INSERT INTO labels(account_id, label, source, created_at) VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute(params![
            account,
            if fraud { "fraud" } else { "legit" },
            source,
            now_secs()
        ])?;
        self.effective.insert(
            account,
            Effective {
                row_id: conn.last_insert_rowid(),
                fraud,
                source: source.to_string(),
            },
        );
        Ok(())
    }
}

/// What a labels import or revoke did. `rows_read == loaded + rejected + duplicates`.
#[derive(Clone, Debug, Default, Serialize)]
pub struct LabelsSummary {
    /// Data rows read.
    pub rows_read: u64,
    /// Labels added (import) or accounts whose labels were revoked (revoke).
    pub loaded: u64,
    /// Rows naming an unknown account or a bad label.
    pub rejected: u64,
    /// Rows that changed nothing (the account already had that label / had no label).
    pub duplicates: u64,
    /// Where rejected rows were written, if any were.
    pub rejects_path: Option<PathBuf>,
}

/// Imports `entity_id,label` rows (label `fraud|legit`) as the analyst's labels, tagged with
/// `source` (e.g. `analyst`). Rows naming unknown accounts go to a rejects file.
pub fn import(ws: &mut Workspace, path: &Path, source: &str) -> Result<LabelsSummary, IngestError> {
    edit_from_file(ws, path, source, Edit::Import)
}

/// Revokes the labels of the accounts named in `path` (a labels file or a file with an
/// `entity_id`/`account_id` column, or one id per line).
pub fn revoke_file(ws: &mut Workspace, path: &Path) -> Result<LabelsSummary, IngestError> {
    edit_from_file(ws, path, "revoke", Edit::Revoke)
}

/// Revokes every active label of the named accounts (by external id). Unknown ids are errors
/// before anything is changed.
pub fn revoke(ws: &mut Workspace, account_ids: &[String]) -> Result<LabelsSummary, IngestError> {
    let conn = ws.conn_mut();
    let mut ids = Vec::with_capacity(account_ids.len());
    for ext in account_ids {
        let id: Option<i64> = conn
            .prepare_cached("SELECT id FROM accounts WHERE ext_id = ?1")?
            .query_row([ext], |r| r.get(0))
            .optional()?;
        ids.push(id.ok_or_else(|| IngestError::UnknownAccount { id: ext.clone() })?);
    }
    let tx = conn.transaction()?;
    let mut summary = LabelsSummary::default();
    let now = now_secs();
    for id in ids {
        summary.rows_read += 1;
        let n = tx
            .prepare_cached(
                "UPDATE labels SET revoked_at = ?2 WHERE account_id = ?1 AND revoked_at IS NULL",
            )?
            .execute(params![id, now])?;
        if n > 0 {
            summary.loaded += 1;
        } else {
            summary.duplicates += 1;
        }
    }
    tx.commit()?;
    Ok(summary)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Edit {
    Import,
    Revoke,
}

fn edit_from_file(
    ws: &mut Workspace,
    path: &Path,
    source: &str,
    edit: Edit,
) -> Result<LabelsSummary, IngestError> {
    let limits = SourceLimits::default();
    let mut opened = open(path, &limits, None)?;
    let header = opened.header.clone();
    let id_col = ["entity_id", "account_id", "id"]
        .iter()
        .find_map(|n| super::mapping::resolve_column(&header, n));
    let label_col = super::mapping::resolve_column(&header, "label");
    // A one-column revoke file without a header names an account on its first line too.
    let headerless = edit == Edit::Revoke && id_col.is_none() && header.len() == 1;
    let (id_col, label_col) = match (edit, id_col, label_col) {
        (Edit::Import, Some(i), Some(l)) => (i, Some(l)),
        (Edit::Revoke, Some(i), _) => (i, None),
        (Edit::Revoke, None, _) if headerless => (0, None),
        _ => {
            return Err(IngestError::UnknownHeader {
                path: path.to_path_buf(),
                header: header.join(","),
                hint: " (a labels file has the columns entity_id,label with label fraud or legit)"
                    .into(),
            });
        }
    };
    let delimiter = match opened.format {
        super::source::Format::Csv { delimiter } => delimiter,
        super::source::Format::JsonLines => {
            return Err(IngestError::UnknownHeader {
                path: path.to_path_buf(),
                header: header.join(","),
                hint: " (labels files are CSV: entity_id,label)".into(),
            });
        }
    };
    let ws_path = ws.path().to_path_buf();
    let conn = ws.conn_mut();
    let mut state = LabelState::load(conn)?;
    let stamp = now_secs();
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let kind = if edit == Edit::Import {
        "labels"
    } else {
        "revoke"
    };
    let mut rejects = RejectsWriter::new(
        rejects_dir(&ws_path).join(format!("{kind}-{stamp}-{file_name}")),
        0,
        &file_name,
    );
    let tx = conn.transaction()?;
    let mut summary = LabelsSummary::default();
    let mut cells = Cells::default();
    let mut raw = Vec::new();
    let mut pending = Vec::new();
    if headerless {
        pending.push((1u64, header[0].as_bytes().to_vec()));
    }
    loop {
        let (line, bytes) = if let Some(p) = pending.pop() {
            p
        } else {
            raw.clear();
            let Some(meta) = opened
                .records
                .next_into(&mut raw)
                .map_err(|e| super::source::read_error(path, opened.size_bytes, e))?
            else {
                break;
            };
            if let Some(reason) = super::detect::record_problem(meta.status) {
                summary.rows_read += 1;
                summary.rejected += 1;
                rejects.write(meta.line, &reason, &raw)?;
                continue;
            }
            (meta.line, raw.clone())
        };
        summary.rows_read += 1;
        // Row problems become rejects; database errors stop the import (the transaction rolls back).
        let outcome: Result<bool, String> = (|| -> Result<Result<bool, String>, IngestError> {
            if let Err(e) = std::str::from_utf8(&bytes) {
                return Ok(Err(format!("invalid UTF-8 at byte {}", e.valid_up_to())));
            }
            split_csv(&bytes, delimiter, &mut cells);
            let ext = cells.get(id_col).trim();
            if ext.is_empty() {
                return Ok(Err("missing entity id".into()));
            }
            let account: Option<i64> = tx
                .prepare_cached("SELECT id FROM accounts WHERE ext_id = ?1")?
                .query_row([ext], |r| r.get(0))
                .optional()?;
            let Some(account) = account else {
                return Ok(Err(format!(
                    "unknown account {ext:?}: no account with this id is loaded"
                )));
            };
            Ok(Ok(match edit {
                Edit::Import => {
                    let label = label_col.map(|l| cells.get(l)).unwrap_or("");
                    let fraud = match parse_label(label) {
                        Ok(Some(f)) => f,
                        Ok(None) => return Ok(Err("missing label".into())),
                        Err(reason) => return Ok(Err(reason)),
                    };
                    state.apply_explicit(&tx, account, fraud, source)?
                }
                Edit::Revoke => {
                    tx.prepare_cached(
                        "UPDATE labels SET revoked_at = ?2 WHERE account_id = ?1 AND revoked_at IS NULL",
                    )?
                    .execute(params![account, stamp])?
                        > 0
                }
            }))
        })()?;
        match outcome {
            Ok(true) => summary.loaded += 1,
            Ok(false) => summary.duplicates += 1,
            Err(reason) => {
                summary.rejected += 1;
                rejects.write(line, &reason, &bytes)?;
            }
        }
    }
    rejects.flush()?;
    tx.commit()?;
    if rejects.exists() {
        summary.rejects_path = Some(rejects.path().to_path_buf());
    }
    Ok(summary)
}
