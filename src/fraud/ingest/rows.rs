//! From cells to canonical rows: a file section compiled against a header, the per-row parse
//! (every problem of a row is collected, for the preview and the rejects file), and the
//! interner that turns account and entity keys into workspace ids.
//!
//! The interner lives on the parsing thread so the SQLite thread only binds integers; it is
//! loaded from the workspace at the start of a run and assigns the next free ids itself (the
//! run is the workspace's one writer).

use std::borrow::Cow;
use std::path::Path;

use rusqlite::Connection;
use rustc_hash::FxHashMap;
use serde::Serialize;

use super::error::IngestError;
use super::mapping::{EntityKind, Field, FileMapping, FileRole, LabelRule, Source, resolve_column};
use super::source::Cells;
use super::values::{AmountParser, TimeParser, parse_label, parse_status};

/// One field's source columns, resolved to positions (`None`: an optional column that is
/// absent from this file).
#[derive(Clone, Debug)]
struct Col {
    idx: Vec<Option<usize>>,
    sep: String,
    strip_leading_zeros: bool,
}

impl Col {
    fn text<'a>(&self, cells: &'a Cells) -> Option<Cow<'a, str>> {
        if let [one] = self.idx.as_slice() {
            let s = one.map(|i| cells.get(i).trim()).unwrap_or("");
            if s.is_empty() {
                return None;
            }
            return Some(if self.strip_leading_zeros {
                strip_zeros(s)
            } else {
                Cow::Borrowed(s)
            });
        }
        let parts: Vec<Cow<'a, str>> = self
            .idx
            .iter()
            .map(|i| {
                let s = i.map(|i| cells.get(i).trim()).unwrap_or("");
                if self.strip_leading_zeros {
                    strip_zeros(s)
                } else {
                    Cow::Borrowed(s)
                }
            })
            .collect();
        if parts.iter().all(|p| p.is_empty()) {
            return None;
        }
        Some(Cow::Owned(parts.join(&self.sep)))
    }
}

fn strip_zeros(s: &str) -> Cow<'_, str> {
    if s.len() > 1 && s.starts_with('0') && s.bytes().all(|c| c.is_ascii_digit()) {
        let t = s.trim_start_matches('0');
        Cow::Borrowed(if t.is_empty() { "0" } else { t })
    } else {
        Cow::Borrowed(s)
    }
}

/// A problem with one cell of a row.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Problem {
    /// The field that could not be read (None: the row as a whole, e.g. its column count).
    pub field: Option<Field>,
    /// Why, as written to the rejects file.
    pub reason: String,
}

/// The reason of a rejected row: its problems joined.
pub fn reason_of(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(|p| p.reason.as_str())
        .collect::<Vec<_>>()
        .join("; ")
}

/// A file section compiled against one header.
#[derive(Clone, Debug)]
pub struct Compiled {
    /// What the file holds.
    pub role: FileRole,
    cols: FxHashMap<Field, Col>,
    identity: Vec<(usize, EntityKind)>,
    time: TimeParser,
    amount: AmountParser,
    currency_default: String,
    currency_aliases: FxHashMap<String, String>,
    id_prefix: String,
    merchant_prefix: Option<String>,
    /// Which accounts a labelled transaction labels.
    pub label_rule: LabelRule,
    /// Whether labels are read (false under `--no-labels`).
    pub with_labels: bool,
    header_len: usize,
}

/// The columns of a section missing from a header: (column, what it was for).
pub fn missing_columns(fm: &FileMapping, header: &[String]) -> Vec<(String, String)> {
    fm.referenced_columns()
        .into_iter()
        .filter(|(c, _)| resolve_column(header, c).is_none() && !fm.is_optional(c))
        .collect()
}

impl Compiled {
    /// Resolves a section's columns against `header`; fails naming the first missing column.
    pub fn new(
        fm: &FileMapping,
        mapping_name: &str,
        header: &[String],
        path: &Path,
        with_labels: bool,
    ) -> Result<Self, IngestError> {
        fm.validate(mapping_name)?;
        if let Some((column, field)) = missing_columns(fm, header).into_iter().next() {
            return Err(IngestError::MappingColumnMissing {
                path: path.to_path_buf(),
                mapping: mapping_name.to_string(),
                column,
                field,
                header: header.join(", "),
            });
        }
        let mut cols = FxHashMap::default();
        for (field, source) in &fm.fields {
            if *field == Field::Label && !with_labels {
                continue;
            }
            let (sep, strip) = match source {
                Source::Composite {
                    sep,
                    strip_leading_zeros,
                    ..
                } => (
                    sep.clone()
                        .unwrap_or_else(|| field.default_separator().to_string()),
                    *strip_leading_zeros,
                ),
                _ => (field.default_separator().to_string(), false),
            };
            let idx = source
                .columns()
                .iter()
                .map(|c| resolve_column(header, c))
                .collect();
            cols.insert(
                *field,
                Col {
                    idx,
                    sep,
                    strip_leading_zeros: strip,
                },
            );
        }
        let identity = fm
            .identity
            .iter()
            .filter_map(|(c, kind)| resolve_column(header, c).map(|i| (i, *kind)))
            .collect();
        let time = TimeParser::new(&fm.timestamp).map_err(|problem| IngestError::BadMapping {
            mapping: mapping_name.to_string(),
            problem,
        })?;
        Ok(Self {
            role: fm.role,
            cols,
            identity,
            time,
            amount: AmountParser::new(&fm.amount),
            currency_default: fm.currency.clone().unwrap_or_else(|| "USD".into()),
            currency_aliases: fm
                .currency_aliases
                .iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
                .collect(),
            id_prefix: fm.id_prefix.clone(),
            merchant_prefix: fm.merchant_prefix.clone().filter(|p| !p.is_empty()),
            label_rule: fm.label_rule,
            with_labels,
            header_len: header.len(),
        })
    }

    /// Whether this file carries a label column that is read.
    pub fn has_labels(&self) -> bool {
        self.with_labels && self.cols.contains_key(&Field::Label)
    }

    /// The currency of rows without a currency column.
    pub fn default_currency(&self) -> &str {
        &self.currency_default
    }

    /// Whether rows of this file can fill `f` (mapped, or derived: merchants from a prefix,
    /// devices/IPs/cards from identity columns).
    pub fn fills(&self, f: Field) -> bool {
        self.cols.contains_key(&f)
            || (f == Field::Merchant && self.merchant_prefix.is_some())
            || f.entity_kind()
                .is_some_and(|k| self.identity.iter().any(|(_, ik)| *ik == k))
    }

    fn text<'a>(&self, f: Field, cells: &'a Cells) -> Option<Cow<'a, str>> {
        self.cols.get(&f).and_then(|c| c.text(cells))
    }

    fn check_width(&self, cells: &Cells, csv: bool) -> Result<(), Vec<Problem>> {
        if csv && cells.len() != self.header_len {
            return Err(vec![Problem {
                field: None,
                reason: format!(
                    "wrong column count: expected {}, found {}",
                    self.header_len,
                    cells.len()
                ),
            }]);
        }
        Ok(())
    }

    /// Reads a row into canonical values without touching the workspace.
    pub fn extract<'a>(&self, cells: &'a Cells, csv: bool) -> Result<Parsed<'a>, Vec<Problem>> {
        self.check_width(cells, csv)?;
        let mut problems = Vec::new();
        let need = |f: Field, what: &str, problems: &mut Vec<Problem>| {
            let v = self.text(f, cells);
            if v.is_none() && self.cols.contains_key(&f) {
                problems.push(Problem {
                    field: Some(f),
                    reason: format!("missing {what}"),
                });
            }
            v
        };
        let label = match self.text(Field::Label, cells) {
            Some(v) if self.with_labels => match parse_label(&v) {
                Ok(l) => l,
                Err(reason) => {
                    problems.push(Problem {
                        field: Some(Field::Label),
                        reason,
                    });
                    None
                }
            },
            _ => None,
        };
        let mut entities = Vec::new();
        for f in [
            Field::Device,
            Field::Ip,
            Field::Card,
            Field::Email,
            Field::Phone,
            Field::NationalId,
            Field::Address,
        ] {
            if let (Some(kind), Some(v)) = (f.entity_kind(), self.text(f, cells)) {
                entities.push((kind, v));
            }
        }
        for (i, kind) in &self.identity {
            let v = cells.get(*i).trim();
            if !v.is_empty() {
                entities.push((*kind, Cow::Borrowed(v)));
            }
        }
        let parsed = match self.role {
            FileRole::Transactions => {
                let tx_id = need(Field::TxId, "transaction id", &mut problems);
                let ts = match self.text(Field::Timestamp, cells) {
                    Some(v) => self.time.parse(&v).map_err(|reason| Problem {
                        field: Some(Field::Timestamp),
                        reason,
                    }),
                    None => Err(Problem {
                        field: Some(Field::Timestamp),
                        reason: "missing timestamp".into(),
                    }),
                };
                let ts = ts.map_err(|p| problems.push(p)).unwrap_or(0);
                let src = need(Field::SrcAccount, "source account", &mut problems);
                let amount = match self.text(Field::Amount, cells) {
                    Some(v) => self.amount.parse(&v).map_err(|reason| Problem {
                        field: Some(Field::Amount),
                        reason,
                    }),
                    None => Err(Problem {
                        field: Some(Field::Amount),
                        reason: "missing amount".into(),
                    }),
                };
                let amount = amount.map_err(|p| problems.push(p)).unwrap_or(0.0);
                let status = match self.text(Field::Status, cells) {
                    Some(v) => parse_status(&v)
                        .map_err(|reason| {
                            problems.push(Problem {
                                field: Some(Field::Status),
                                reason,
                            })
                        })
                        .unwrap_or("approved"),
                    None => "approved",
                };
                let mut dst = self.text(Field::DstAccount, cells);
                let mut merchant = self.text(Field::Merchant, cells);
                if let (Some(prefix), Some(d)) = (&self.merchant_prefix, &dst)
                    && merchant.is_none()
                    && d.starts_with(prefix.as_str())
                {
                    merchant = dst.take();
                }
                Parsed::Tx(TxParsed {
                    tx_id,
                    ts,
                    src: src.unwrap_or_default(),
                    dst,
                    merchant,
                    amount,
                    currency: self.text(Field::Currency, cells),
                    channel: self.text(Field::Channel, cells),
                    status,
                    mcc: self.text(Field::Mcc, cells),
                    promo: self.text(Field::PromoCode, cells),
                    entities,
                    label,
                })
            }
            FileRole::Accounts => {
                let id = need(Field::AccountId, "account id", &mut problems);
                let created_at = match self.text(Field::CreatedAt, cells) {
                    Some(v) => self
                        .time
                        .parse(&v)
                        .map_err(|reason| {
                            problems.push(Problem {
                                field: Some(Field::CreatedAt),
                                reason,
                            })
                        })
                        .ok(),
                    None => None,
                };
                Parsed::Account(AccountParsed {
                    id: id.unwrap_or_default(),
                    name: self.text(Field::Name, cells),
                    created_at,
                    entities,
                    label,
                })
            }
            FileRole::Merchants => {
                let id = need(Field::MerchantId, "merchant id", &mut problems);
                Parsed::Merchant(MerchantParsed {
                    id: id.unwrap_or_default(),
                    name: self.text(Field::Name, cells),
                })
            }
            FileRole::Identity => {
                let tx_id = self.text(Field::TxId, cells);
                let account = self.text(Field::AccountId, cells);
                if tx_id.is_none() && account.is_none() {
                    problems.push(Problem {
                        field: Some(if self.cols.contains_key(&Field::TxId) {
                            Field::TxId
                        } else {
                            Field::AccountId
                        }),
                        reason: "missing id".into(),
                    });
                }
                Parsed::Identity(IdentityParsed {
                    tx_id,
                    account,
                    entities,
                })
            }
            FileRole::Labels => {
                let id = need(Field::EntityId, "entity id", &mut problems);
                if label.is_none() && problems.is_empty() {
                    problems.push(Problem {
                        field: Some(Field::Label),
                        reason: "missing label".into(),
                    });
                }
                Parsed::Label(LabelParsed {
                    id: id.unwrap_or_default(),
                    fraud: label.unwrap_or(false),
                })
            }
            FileRole::GroundTruth => {
                return Err(vec![Problem {
                    field: None,
                    reason: "ground truth files are not loaded".into(),
                }]);
            }
        };
        if problems.is_empty() {
            Ok(parsed)
        } else {
            Err(problems)
        }
    }

    /// The transaction key of a row: the prefixed source id, or the file hash and row number.
    pub fn tx_key(&self, tx_id: Option<&str>, file_key: &str, record_no: u64) -> String {
        let mut s = String::new();
        self.push_tx_key(&mut s, tx_id, file_key, record_no);
        s
    }

    /// Appends the transaction key of a row to `out`.
    fn push_tx_key(&self, out: &mut String, tx_id: Option<&str>, file_key: &str, record_no: u64) {
        use std::fmt::Write;
        match tx_id {
            Some(id) => {
                out.push_str(&self.id_prefix);
                out.push_str(id);
            }
            None => {
                let _ = write!(out, "{file_key}:{record_no}");
            }
        }
    }

    /// A currency cell (or the default) as a code.
    fn currency<'a>(&self, v: Option<&'a str>) -> Cow<'a, str> {
        match v {
            None => Cow::Owned(self.currency_default.to_string()),
            Some(c) => match self.currency_aliases.get(&c.to_ascii_lowercase()) {
                Some(code) => Cow::Owned(code.clone()),
                None if c.len() == 3 && c.bytes().all(|b| b.is_ascii_alphabetic()) => {
                    Cow::Owned(c.to_ascii_uppercase())
                }
                None => Cow::Borrowed(c),
            },
        }
    }
}

/// A row read into canonical values (borrowing the record's cells).
#[derive(Debug)]
pub enum Parsed<'a> {
    Tx(TxParsed<'a>),
    Account(AccountParsed<'a>),
    Merchant(MerchantParsed<'a>),
    Identity(IdentityParsed<'a>),
    Label(LabelParsed<'a>),
}

/// A transaction row before interning.
#[derive(Debug)]
pub struct TxParsed<'a> {
    pub tx_id: Option<Cow<'a, str>>,
    pub ts: i64,
    pub src: Cow<'a, str>,
    pub dst: Option<Cow<'a, str>>,
    pub merchant: Option<Cow<'a, str>>,
    pub amount: f64,
    pub currency: Option<Cow<'a, str>>,
    pub channel: Option<Cow<'a, str>>,
    pub status: &'static str,
    pub mcc: Option<Cow<'a, str>>,
    pub promo: Option<Cow<'a, str>>,
    pub entities: Vec<(EntityKind, Cow<'a, str>)>,
    pub label: Option<bool>,
}

/// An account row before interning.
#[derive(Debug)]
pub struct AccountParsed<'a> {
    pub id: Cow<'a, str>,
    pub name: Option<Cow<'a, str>>,
    pub created_at: Option<i64>,
    pub entities: Vec<(EntityKind, Cow<'a, str>)>,
    pub label: Option<bool>,
}

/// A merchant row before interning.
#[derive(Debug)]
pub struct MerchantParsed<'a> {
    pub id: Cow<'a, str>,
    pub name: Option<Cow<'a, str>>,
}

/// An identity row before interning.
#[derive(Debug)]
pub struct IdentityParsed<'a> {
    pub tx_id: Option<Cow<'a, str>>,
    pub account: Option<Cow<'a, str>>,
    pub entities: Vec<(EntityKind, Cow<'a, str>)>,
}

/// A label row before lookup.
#[derive(Debug)]
pub struct LabelParsed<'a> {
    pub id: Cow<'a, str>,
    pub fraud: bool,
}

impl Parsed<'_> {
    /// The canonical values as (field, text) pairs, for the preview.
    pub fn display(&self, c: &Compiled) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        let mut put = |k: &str, v: Option<&str>| {
            if let Some(v) = v {
                out.push((k.to_string(), v.to_string()));
            }
        };
        let ts_text = |secs: i64| {
            jiff::Timestamp::from_second(secs)
                .map(|t| t.to_string())
                .unwrap_or_else(|_| secs.to_string())
        };
        match self {
            Parsed::Tx(t) => {
                let key = match t.tx_id.as_deref() {
                    Some(id) => c.tx_key(Some(id), "", 0),
                    None => "<file hash>:<row>".to_string(),
                };
                put("tx_id", Some(&key));
                put("timestamp", Some(&ts_text(t.ts)));
                put("src_account", Some(&t.src));
                put("dst_account", t.dst.as_deref());
                put("merchant", t.merchant.as_deref());
                put("amount", Some(&t.amount.to_string()));
                put("currency", Some(&c.currency(t.currency.as_deref())));
                put("channel", t.channel.as_deref());
                put("status", Some(t.status));
                put("mcc", t.mcc.as_deref());
                put("promo_code", t.promo.as_deref());
                for (k, v) in &t.entities {
                    put(k.as_str(), Some(v));
                }
                put("label", t.label.map(|l| if l { "fraud" } else { "legit" }));
            }
            Parsed::Account(a) => {
                put("account_id", Some(&a.id));
                put("name", a.name.as_deref());
                put("created_at", a.created_at.map(ts_text).as_deref());
                for (k, v) in &a.entities {
                    put(k.as_str(), Some(v));
                }
                put("label", a.label.map(|l| if l { "fraud" } else { "legit" }));
            }
            Parsed::Merchant(m) => {
                put("merchant_id", Some(&m.id));
                put("name", m.name.as_deref());
            }
            Parsed::Identity(i) => {
                put("tx_id", i.tx_id.as_deref());
                put("account_id", i.account.as_deref());
                for (k, v) in &i.entities {
                    put(k.as_str(), Some(v));
                }
            }
            Parsed::Label(l) => {
                put("entity_id", Some(&l.id));
                put("label", Some(if l.fraud { "fraud" } else { "legit" }));
            }
        }
        out
    }
}

/// Where a row came from: what its key and its reject are made of.
#[derive(Clone, Copy, Debug)]
pub struct RowOrigin<'a> {
    /// The first 16 hex digits of the file's hash.
    pub file_key: &'a str,
    /// Data row number (1-based).
    pub record_no: u64,
    /// Line where the row starts.
    pub line: u64,
    /// The row's bytes.
    pub original: &'a [u8],
}

/// A new account the writer must insert before the rows naming it.
#[derive(Debug)]
pub struct NewAccount {
    pub id: i64,
    pub ext_id: Box<str>,
}

/// A new entity the writer must insert before the rows naming it.
#[derive(Debug)]
pub struct NewEntity {
    pub id: i64,
    pub kind: EntityKind,
    pub value: Box<str>,
}

/// A short, repetitive string (currency, channel, mcc) by number; the writer keeps the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sym(pub u32);

/// A transaction ready to insert. Strings live in the chunk ([`NewKeys`]) it travels with, so
/// the writer frees one buffer per chunk rather than a few per row.
#[derive(Debug)]
pub struct TxRow {
    /// The dedup key: a number carried by the rowid, or text kept in `ext_key`.
    pub key: TxKey,
    pub ts: i64,
    pub src: i64,
    pub dst: Option<i64>,
    pub merchant: Option<i64>,
    pub amount: f64,
    pub currency: Sym,
    pub channel: Option<Sym>,
    pub status: &'static str,
    pub mcc: Option<Sym>,
    pub promo: Option<String>,
    pub device: Option<i64>,
    pub ip: Option<i64>,
    pub card: Option<i64>,
    /// Other identity entities of the source account seen on this row.
    pub other_entities: Vec<i64>,
    pub label: Option<bool>,
}

/// A transaction's dedup key as the table stores it (see `store::schema::tx_number`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TxKey {
    /// A canonical non-negative integer: the row's id.
    Number(i64),
    /// Byte range of the key in [`NewKeys::text`].
    Text(u32, u32),
}

/// An account row ready to apply.
#[derive(Debug)]
pub struct AccountRow {
    pub id: i64,
    pub is_new: bool,
    pub ext_id: Box<str>,
    pub name: Option<String>,
    pub created_at: Option<i64>,
    pub entities: Vec<i64>,
    pub label: Option<bool>,
}

/// A merchant row ready to apply.
#[derive(Debug)]
pub struct MerchantRow {
    pub entity_id: i64,
    pub name: Option<String>,
}

/// An identity row: resolved entities, and the transaction or account they belong to.
#[derive(Debug)]
pub struct IdentityRow {
    pub tx_ext_id: Option<String>,
    pub account: Option<i64>,
    pub entities: Vec<(EntityKind, i64)>,
    /// Kept so the writer can reject the row when its transaction is unknown.
    pub line: u64,
    pub original: Vec<u8>,
}

/// A label row with its account resolved.
#[derive(Debug)]
pub struct LabelRow {
    pub account: i64,
    pub fraud: bool,
}

/// A row ready for the writer.
#[derive(Debug)]
pub enum Row {
    Tx(TxRow),
    Account(AccountRow),
    Merchant(MerchantRow),
    Identity(IdentityRow),
    Label(LabelRow),
}

/// A key of up to 23 bytes stored inline as three words (the last byte holds the length), so
/// a lookup hashes three integers and touches one cache line instead of chasing a pointer to a
/// heap string (account lookups dominate the parser's time otherwise).
#[derive(Clone, Copy, PartialEq, Eq)]
struct SmallKey([u64; 3]);

impl std::hash::Hash for SmallKey {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        h.write_u64(self.0[0]);
        h.write_u64(self.0[1]);
        h.write_u64(self.0[2]);
    }
}

impl SmallKey {
    fn new(s: &str) -> Option<Self> {
        let b = s.as_bytes();
        if b.len() > 23 {
            return None;
        }
        let mut buf = [0u8; 24];
        buf[..b.len()].copy_from_slice(b);
        buf[23] = b.len() as u8;
        let word = |i: usize| {
            let mut w = [0u8; 8];
            w.copy_from_slice(&buf[i * 8..i * 8 + 8]);
            u64::from_le_bytes(w)
        };
        Some(Self([word(0), word(1), word(2)]))
    }
}

/// Keys that are small canonical decimals (`0`, `17`, `99999`, not `017`) index a flat array.
const DENSE_KEY_LIMIT: usize = 1 << 21;

/// String key → id. Synthetic data names accounts by small numbers (AMLSim's `0`…`99999`):
/// those index a flat array, one cache line per lookup and no hashing; other short keys are
/// stored inline ([`SmallKey`]); long ones on the heap. A key always takes the same path.
#[derive(Default)]
struct KeyMap {
    dense: Vec<i64>,
    short: FxHashMap<SmallKey, i64>,
    long: FxHashMap<Box<str>, i64>,
}

impl std::fmt::Debug for KeyMap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let dense = self.dense.iter().filter(|id| **id != 0).count();
        write!(
            f,
            "KeyMap({} keys)",
            dense + self.short.len() + self.long.len()
        )
    }
}

/// The value of a canonical decimal key below [`DENSE_KEY_LIMIT`].
fn dense_index(k: &str) -> Option<usize> {
    let b = k.as_bytes();
    if b.is_empty() || b.len() > 7 || (b.len() > 1 && b[0] == b'0') {
        return None;
    }
    let mut n = 0usize;
    for &c in b {
        if !c.is_ascii_digit() {
            return None;
        }
        n = n * 10 + usize::from(c - b'0');
    }
    (n < DENSE_KEY_LIMIT).then_some(n)
}

impl KeyMap {
    fn get(&self, k: &str) -> Option<i64> {
        if let Some(i) = dense_index(k) {
            return self.dense.get(i).copied().filter(|id| *id != 0);
        }
        match SmallKey::new(k) {
            Some(sk) => self.short.get(&sk).copied(),
            None => self.long.get(k).copied(),
        }
    }

    /// Ids are positive (SQLite rowids from 1), so 0 marks an empty slot.
    fn insert(&mut self, k: &str, id: i64) {
        if let Some(i) = dense_index(k) {
            if i >= self.dense.len() {
                self.dense
                    .resize((i + 1).next_power_of_two().min(DENSE_KEY_LIMIT), 0);
            }
            self.dense[i] = id;
            return;
        }
        match SmallKey::new(k) {
            Some(sk) => {
                self.short.insert(sk, id);
            }
            None => {
                self.long.insert(k.into(), id);
            }
        }
    }
}

#[cfg(test)]
mod key_tests {
    use super::*;

    #[test]
    fn keys_take_one_path_each_and_never_collide() {
        let mut m = KeyMap::default();
        for (k, id) in [
            ("0", 1),
            ("7", 2),
            ("07", 3),
            ("2097151", 4),
            ("2097152", 5),
            ("abc", 6),
        ] {
            m.insert(k, id);
        }
        let long = "x".repeat(40);
        m.insert(&long, 7);
        for (k, id) in [
            ("0", 1),
            ("7", 2),
            ("07", 3),
            ("2097151", 4),
            ("2097152", 5),
            ("abc", 6),
        ] {
            assert_eq!(m.get(k), Some(id), "{k}");
        }
        assert_eq!(m.get(&long), Some(7));
        assert_eq!(m.get("8"), None);
        assert_eq!(m.get("99999999"), None);
        assert_eq!(m.get(""), None);
    }
}

/// Account and entity keys → workspace ids, loaded at the start of a run.
#[derive(Debug, Default)]
pub struct Interner {
    accounts: KeyMap,
    next_account: i64,
    entities: [KeyMap; 8],
    next_entity: i64,
    symbols: FxHashMap<Box<str>, u32>,
}

fn kind_slot(kind: EntityKind) -> usize {
    match kind {
        EntityKind::Device => 0,
        EntityKind::Card => 1,
        EntityKind::Ip => 2,
        EntityKind::Email => 3,
        EntityKind::Phone => 4,
        EntityKind::Merchant => 5,
        EntityKind::NationalId => 6,
        EntityKind::Address => 7,
    }
}

/// What a chunk's rows need besides themselves: accounts and entities to insert first, new
/// symbols, and the text of the transaction keys.
#[derive(Debug, Default)]
pub struct NewKeys {
    pub accounts: Vec<NewAccount>,
    pub entities: Vec<NewEntity>,
    /// Symbols first used in this chunk, in number order.
    pub symbols: Vec<Box<str>>,
    /// Transaction keys, concatenated.
    pub text: String,
}

impl NewKeys {
    /// The text of a transaction key ([`TxKey::Text`]).
    pub fn key_text(&self, start: u32, end: u32) -> &str {
        self.text.get(start as usize..end as usize).unwrap_or("")
    }
}

impl Interner {
    /// Loads every account and entity key of the workspace.
    pub fn load(conn: &Connection) -> Result<Self, rusqlite::Error> {
        let mut me = Interner::default();
        let mut stmt = conn.prepare("SELECT id, ext_id FROM accounts")?;
        let mut rows = stmt.query([])?;
        let mut max_id = 0;
        while let Some(r) = rows.next()? {
            let id: i64 = r.get(0)?;
            let ext: String = r.get(1)?;
            max_id = max_id.max(id);
            me.accounts.insert(&ext, id);
        }
        me.next_account = max_id + 1;
        let mut stmt = conn.prepare("SELECT id, kind, value FROM entities")?;
        let mut rows = stmt.query([])?;
        let mut max_id = 0;
        while let Some(r) = rows.next()? {
            let id: i64 = r.get(0)?;
            let kind: String = r.get(1)?;
            let value: String = r.get(2)?;
            max_id = max_id.max(id);
            if let Some(k) = EntityKind::parse(&kind) {
                me.entities[kind_slot(k)].insert(&value, id);
            }
        }
        me.next_entity = max_id + 1;
        Ok(me)
    }

    /// The id of an existing account.
    pub fn account_id(&self, ext: &str) -> Option<i64> {
        self.accounts.get(ext)
    }

    /// The id of an account, creating it (recorded in `new`) when unknown.
    pub fn account(&mut self, ext: &str, new: &mut NewKeys) -> i64 {
        let (id, is_new) = self.account_flagged(ext);
        if is_new {
            new.accounts.push(NewAccount {
                id,
                ext_id: ext.into(),
            });
        }
        id
    }

    /// The id of an account and whether this call created it (the caller inserts it).
    pub fn account_flagged(&mut self, ext: &str) -> (i64, bool) {
        if let Some(id) = self.accounts.get(ext) {
            return (id, false);
        }
        let id = self.next_account;
        self.next_account += 1;
        self.accounts.insert(ext, id);
        (id, true)
    }

    /// The id of an entity, creating it (recorded in `new`) when unknown.
    pub fn entity(&mut self, kind: EntityKind, value: &str, new: &mut NewKeys) -> i64 {
        let map = &mut self.entities[kind_slot(kind)];
        if let Some(id) = map.get(value) {
            return id;
        }
        let id = self.next_entity;
        self.next_entity += 1;
        map.insert(value, id);
        new.entities.push(NewEntity {
            id,
            kind,
            value: value.into(),
        });
        id
    }

    /// The number of a short, repetitive string (currency, channel, mcc); numbers restart
    /// with each file ([`Interner::reset_symbols`]).
    fn symbol(&mut self, s: &str, new: &mut NewKeys) -> Sym {
        if let Some(n) = self.symbols.get(s) {
            return Sym(*n);
        }
        let n = self.symbols.len() as u32;
        self.symbols.insert(s.into(), n);
        new.symbols.push(s.into());
        Sym(n)
    }

    /// Forgets the symbols (each file's writer starts an empty symbol table).
    pub fn reset_symbols(&mut self) {
        self.symbols.clear();
    }
}

/// Channel spelling: lower case, spaces and dashes as underscores (`CASH_OUT` → `cash_out`,
/// `Credit Card` → `credit_card`).
fn normalise_channel(s: &str) -> Cow<'_, str> {
    if s.bytes()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_')
    {
        return Cow::Borrowed(s);
    }
    Cow::Owned(
        s.chars()
            .map(|c| match c {
                ' ' | '-' => '_',
                c => c.to_ascii_lowercase(),
            })
            .collect(),
    )
}

impl Compiled {
    /// Turns a parsed row into a row for the writer, creating accounts and entities it names.
    pub fn resolve(
        &self,
        parsed: Parsed<'_>,
        interner: &mut Interner,
        new: &mut NewKeys,
        origin: &RowOrigin<'_>,
    ) -> Result<Row, String> {
        let RowOrigin {
            file_key,
            record_no,
            line,
            original,
        } = *origin;
        Ok(match parsed {
            Parsed::Tx(t) => {
                let src = interner.account(&t.src, new);
                let dst = t.dst.as_deref().map(|d| interner.account(d, new));
                let merchant = t
                    .merchant
                    .as_deref()
                    .map(|m| interner.entity(EntityKind::Merchant, m, new));
                let (mut device, mut ip, mut card) = (None, None, None);
                let mut other_entities = Vec::new();
                for (kind, v) in &t.entities {
                    let id = interner.entity(*kind, v, new);
                    match kind {
                        EntityKind::Device if device.is_none() => device = Some(id),
                        EntityKind::Ip if ip.is_none() => ip = Some(id),
                        EntityKind::Card if card.is_none() => card = Some(id),
                        _ => other_entities.push(id),
                    }
                }
                let currency = self.currency(t.currency.as_deref());
                let start = new.text.len();
                self.push_tx_key(&mut new.text, t.tx_id.as_deref(), file_key, record_no);
                let key = match crate::store::schema::tx_number(&new.text[start..]) {
                    Some(n) => {
                        new.text.truncate(start);
                        TxKey::Number(n)
                    }
                    None => TxKey::Text(start as u32, new.text.len() as u32),
                };
                TxRow {
                    key,
                    ts: t.ts,
                    src,
                    dst,
                    merchant,
                    amount: t.amount,
                    currency: interner.symbol(&currency, new),
                    channel: t
                        .channel
                        .as_deref()
                        .map(|c| interner.symbol(&normalise_channel(c), new)),
                    status: t.status,
                    mcc: t.mcc.as_deref().map(|m| interner.symbol(m, new)),
                    promo: t.promo.map(Cow::into_owned),
                    device,
                    ip,
                    card,
                    other_entities,
                    label: t.label,
                }
                .into()
            }
            Parsed::Account(a) => {
                let (id, is_new) = interner.account_flagged(&a.id);
                let entities = a
                    .entities
                    .iter()
                    .map(|(k, v)| interner.entity(*k, v, new))
                    .collect();
                Row::Account(AccountRow {
                    id,
                    is_new,
                    ext_id: a.id.as_ref().into(),
                    name: a.name.map(Cow::into_owned),
                    created_at: a.created_at,
                    entities,
                    label: a.label,
                })
            }
            Parsed::Merchant(m) => Row::Merchant(MerchantRow {
                entity_id: interner.entity(EntityKind::Merchant, &m.id, new),
                name: m.name.map(Cow::into_owned),
            }),
            Parsed::Identity(i) => {
                let account = i.account.as_deref().map(|a| interner.account(a, new));
                let entities = i
                    .entities
                    .iter()
                    .map(|(k, v)| (*k, interner.entity(*k, v, new)))
                    .collect();
                Row::Identity(IdentityRow {
                    tx_ext_id: i
                        .tx_id
                        .as_deref()
                        .map(|t| self.tx_key(Some(t), file_key, record_no)),
                    account,
                    entities,
                    line,
                    original: original.to_vec(),
                })
            }
            Parsed::Label(l) => match interner.account_id(&l.id) {
                Some(account) => Row::Label(LabelRow {
                    account,
                    fraud: l.fraud,
                }),
                None => {
                    return Err(format!(
                        "unknown account {:?}: no account with this id is loaded",
                        l.id
                    ));
                }
            },
        })
    }
}

impl From<TxRow> for Row {
    fn from(t: TxRow) -> Self {
        Row::Tx(t)
    }
}
