//! The scoring input: one read of the workspace into dense, index-addressed columns.
//!
//! Accounts, entities and promo codes get dense `u32` indices so every later stage (graph,
//! detectors, features, model) works on plain arrays instead of SQLite ids. Transactions are
//! kept in time order. Input is sanitised here once: non-finite amounts become zero, and the
//! effective label of an account is its newest unrevoked label row (no row = unknown).

use rayon::prelude::*;
use rustc_hash::FxHashMap as HashMap;

use rusqlite::Connection;

/// "No value" in an optional `u32` index column (no destination account, no device, ...).
pub const NONE: u32 = u32::MAX;

/// Errors reading the workspace into memory.
#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    #[error(
        "could not read the {table} table of the workspace: {source}; the file may be from an older Sightline or damaged — re-run `sightline ingest` into a new workspace"
    )]
    Read {
        table: &'static str,
        #[source]
        source: rusqlite::Error,
    },
    #[error(
        "the workspace has {count} accounts, more than scoring supports ({max}); split the data into several workspaces"
    )]
    TooLarge { count: usize, max: usize },
}

/// What kind of identifier an entity is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EntityKind {
    /// A phone, laptop or kiosk seen on logins or payments.
    Device,
    /// A payment card.
    Card,
    /// An IP address.
    Ip,
    /// An e-mail address.
    Email,
    /// A phone number.
    Phone,
    /// A merchant (a payee that is not an account).
    Merchant,
    /// A national identity number.
    NationalId,
    /// A postal address.
    Address,
}

impl EntityKind {
    /// Parses the `entities.kind` column.
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "device" => Self::Device,
            "card" => Self::Card,
            "ip" => Self::Ip,
            "email" => Self::Email,
            "phone" => Self::Phone,
            "merchant" => Self::Merchant,
            "national_id" => Self::NationalId,
            "address" => Self::Address,
            _ => return None,
        })
    }

    /// The word used in reasons ("device", "IP address", ...).
    pub fn noun(self) -> &'static str {
        match self {
            Self::Device => "device",
            Self::Card => "card",
            Self::Ip => "IP address",
            Self::Email => "e-mail address",
            Self::Phone => "phone number",
            Self::Merchant => "merchant",
            Self::NationalId => "national id",
            Self::Address => "address",
        }
    }
}

/// An account's effective label.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Label {
    /// No unrevoked label: unknown, never assumed legit.
    Unknown,
    /// Labelled fraud.
    Fraud,
    /// Labelled legitimate.
    Legit,
}

/// Accounts by dense index.
#[derive(Clone, Debug, Default)]
pub struct Accounts {
    /// `accounts.id` per index.
    pub db_id: Vec<i64>,
    /// `accounts.ext_id` per index (what the user knows the account by).
    pub ext_id: Vec<String>,
    /// `accounts.created_at` (Unix seconds) per index, when known.
    pub created_at_secs: Vec<Option<i64>>,
}

/// Entities (devices, cards, IPs, merchants, ...) by dense index.
#[derive(Clone, Debug, Default)]
pub struct Entities {
    /// `entities.id` per index.
    pub db_id: Vec<i64>,
    /// Kind per index.
    pub kind: Vec<EntityKind>,
    /// `entities.value` per index (the identifier as ingested).
    pub value: Vec<String>,
}

/// Transactions as columns, sorted by time then id.
#[derive(Clone, Debug, Default)]
pub struct Transactions {
    /// `transactions.id`.
    pub db_id: Vec<i64>,
    /// Unix seconds.
    pub ts_secs: Vec<i64>,
    /// Paying account index.
    pub src: Vec<u32>,
    /// Receiving account index, or [`NONE`] for a payment to a merchant.
    pub dst: Vec<u32>,
    /// Merchant entity index, or [`NONE`].
    pub merchant: Vec<u32>,
    /// Amount in the row's currency; non-finite values were replaced by 0.
    pub amount: Vec<f64>,
    /// Whether the payment was declined.
    pub declined: Vec<bool>,
    /// Device entity index, or [`NONE`].
    pub device: Vec<u32>,
    /// IP entity index, or [`NONE`].
    pub ip: Vec<u32>,
    /// Card entity index, or [`NONE`].
    pub card: Vec<u32>,
    /// Promo code index into [`Dataset::promo_codes`], or [`NONE`].
    pub promo: Vec<u32>,
}

impl Transactions {
    /// Number of transactions.
    pub fn len(&self) -> usize {
        self.db_id.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.db_id.is_empty()
    }
}

/// An identity edge: an account used an entity (declared, or seen on its transactions).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct IdentityEdge {
    /// Account index.
    pub account: u32,
    /// Entity index (never a merchant).
    pub entity: u32,
    /// First use, Unix seconds, when known.
    pub first_seen_secs: Option<i64>,
    /// Last use, Unix seconds, when known.
    pub last_seen_secs: Option<i64>,
    /// Number of uses.
    pub uses: u32,
}

/// Everything scoring reads from a workspace.
#[derive(Clone, Debug, Default)]
pub struct Dataset {
    /// Accounts.
    pub accounts: Accounts,
    /// Entities.
    pub entities: Entities,
    /// Transactions in time order.
    pub tx: Transactions,
    /// Identity edges, sorted by (account, entity), one per pair.
    pub identity: Vec<IdentityEdge>,
    /// Distinct promo codes.
    pub promo_codes: Vec<String>,
    /// Effective label per account.
    pub labels: Vec<Label>,
}

/// Each account's transactions (as payer or payee) in time order, as compressed rows.
#[derive(Clone, Debug, Default)]
pub struct AccountEvents {
    offsets: Vec<usize>,
    events: Vec<u32>,
}

impl AccountEvents {
    /// Account `v`'s transaction indices, in time order.
    pub fn of(&self, v: u32) -> &[u32] {
        &self.events[self.offsets[v as usize]..self.offsets[v as usize + 1]]
    }
}

impl Dataset {
    /// Transaction indices per account (as payer or payee), in time order.
    pub fn account_events(&self) -> AccountEvents {
        let n = self.n_accounts();
        let tx = &self.tx;
        let mut off = vec![0usize; n + 1];
        for i in 0..tx.len() {
            off[tx.src[i] as usize + 1] += 1;
            if tx.dst[i] != NONE && tx.dst[i] != tx.src[i] {
                off[tx.dst[i] as usize + 1] += 1;
            }
        }
        for v in 0..n {
            off[v + 1] += off[v];
        }
        let mut cur = off.clone();
        let mut ev = vec![0u32; off[n]];
        for i in 0..tx.len() {
            let s = tx.src[i] as usize;
            ev[cur[s]] = i as u32;
            cur[s] += 1;
            let d = tx.dst[i];
            if d != NONE && d != tx.src[i] {
                ev[cur[d as usize]] = i as u32;
                cur[d as usize] += 1;
            }
        }
        AccountEvents {
            offsets: off,
            events: ev,
        }
    }

    /// Number of accounts.
    pub fn n_accounts(&self) -> usize {
        self.accounts.db_id.len()
    }

    /// Counts of (fraud, legit) labels.
    pub fn label_counts(&self) -> (usize, usize) {
        let fraud = self.labels.iter().filter(|l| **l == Label::Fraud).count();
        let legit = self.labels.iter().filter(|l| **l == Label::Legit).count();
        (fraud, legit)
    }

    /// Reads the whole workspace. Rows that point at missing accounts or entities are skipped
    /// (foreign keys normally prevent them).
    pub fn load(conn: &Connection) -> Result<Self, DatasetError> {
        let mut ds = Dataset::default();
        let t = std::time::Instant::now();
        let account_index = load_accounts(conn, &mut ds.accounts)?;
        if ds.accounts.db_id.len() >= NONE as usize {
            return Err(DatasetError::TooLarge {
                count: ds.accounts.db_id.len(),
                max: NONE as usize - 1,
            });
        }
        let entity_index = load_entities(conn, &mut ds.entities)?;
        let mut promo_index: HashMap<String, u32> = HashMap::default();
        load_transactions(
            conn,
            &account_index,
            &entity_index,
            &mut promo_index,
            &mut ds.tx,
        )?;
        tracing::debug!(
            secs = t.elapsed().as_secs_f64(),
            "loaded accounts, entities, transactions"
        );
        let t = std::time::Instant::now();
        let mut promos: Vec<(u32, String)> = promo_index.into_iter().map(|(k, v)| (v, k)).collect();
        promos.sort_unstable();
        ds.promo_codes = promos.into_iter().map(|(_, k)| k).collect();
        ds.identity = load_identity(conn, &account_index, &entity_index, &ds)?;
        ds.labels = load_labels(conn, &account_index, ds.accounts.db_id.len())?;
        tracing::debug!(
            secs = t.elapsed().as_secs_f64(),
            edges = ds.identity.len(),
            "loaded identity edges and labels"
        );
        Ok(ds)
    }
}

fn read_err(table: &'static str) -> impl Fn(rusqlite::Error) -> DatasetError {
    move |source| DatasetError::Read { table, source }
}

fn load_accounts(conn: &Connection, out: &mut Accounts) -> Result<HashMap<i64, u32>, DatasetError> {
    let err = read_err("accounts");
    let mut stmt = conn
        .prepare("SELECT id, ext_id, created_at FROM accounts ORDER BY id")
        .map_err(&err)?;
    let mut rows = stmt.query([]).map_err(&err)?;
    let mut index = HashMap::default();
    while let Some(row) = rows.next().map_err(&err)? {
        let id: i64 = row.get(0).map_err(&err)?;
        let ext: String = row.get(1).map_err(&err)?;
        index.insert(id, out.db_id.len() as u32);
        out.db_id.push(id);
        out.ext_id.push(ext);
        out.created_at_secs.push(row.get(2).map_err(&err)?);
    }
    Ok(index)
}

fn load_entities(conn: &Connection, out: &mut Entities) -> Result<HashMap<i64, u32>, DatasetError> {
    let err = read_err("entities");
    let mut stmt = conn
        .prepare("SELECT id, kind, value FROM entities ORDER BY id")
        .map_err(&err)?;
    let mut rows = stmt.query([]).map_err(&err)?;
    let mut index = HashMap::default();
    while let Some(row) = rows.next().map_err(&err)? {
        let id: i64 = row.get(0).map_err(&err)?;
        let kind: String = row.get(1).map_err(&err)?;
        let value: String = row.get(2).map_err(&err)?;
        let Some(kind) = EntityKind::parse(&kind) else {
            continue; // the schema's CHECK keeps this from happening
        };
        index.insert(id, out.db_id.len() as u32);
        out.db_id.push(id);
        out.kind.push(kind);
        out.value.push(value);
    }
    Ok(index)
}

fn lookup(index: &HashMap<i64, u32>, id: Option<i64>) -> u32 {
    id.and_then(|id| index.get(&id).copied()).unwrap_or(NONE)
}

fn load_transactions(
    conn: &Connection,
    accounts: &HashMap<i64, u32>,
    entities: &HashMap<i64, u32>,
    promos: &mut HashMap<String, u32>,
    out: &mut Transactions,
) -> Result<(), DatasetError> {
    let err = read_err("transactions");
    // Read in table order (sequential pages) and sort in memory: walking the ts index would
    // look up every row in the table B-tree at random.
    let mut stmt = conn
        .prepare(
            "SELECT id, ts, src_account, dst_account, merchant_id, amount, status, promo_code,
                    device_id, ip_id, card_id
             FROM transactions",
        )
        .map_err(&err)?;
    let mut rows = stmt.query([]).map_err(&err)?;
    while let Some(row) = rows.next().map_err(&err)? {
        let src = lookup(accounts, row.get(2).map_err(&err)?);
        if src == NONE {
            continue;
        }
        let amount: f64 = row.get::<_, Option<f64>>(5).map_err(&err)?.unwrap_or(0.0);
        let status: String = row.get(6).map_err(&err)?;
        let promo: Option<String> = row.get(7).map_err(&err)?;
        let promo = match promo.filter(|p| !p.is_empty()) {
            Some(p) => {
                let next = promos.len() as u32;
                *promos.entry(p).or_insert(next)
            }
            None => NONE,
        };
        out.db_id.push(row.get(0).map_err(&err)?);
        out.ts_secs.push(row.get(1).map_err(&err)?);
        out.src.push(src);
        out.dst.push(lookup(accounts, row.get(3).map_err(&err)?));
        out.merchant
            .push(lookup(entities, row.get(4).map_err(&err)?));
        out.amount
            .push(if amount.is_finite() { amount } else { 0.0 });
        out.declined.push(status == "declined");
        out.promo.push(promo);
        out.device.push(lookup(entities, row.get(8).map_err(&err)?));
        out.ip.push(lookup(entities, row.get(9).map_err(&err)?));
        out.card.push(lookup(entities, row.get(10).map_err(&err)?));
    }
    let mut order: Vec<u32> = (0..out.db_id.len() as u32).collect();
    order.par_sort_unstable_by_key(|&i| (out.ts_secs[i as usize], out.db_id[i as usize]));
    if order.windows(2).any(|w| w[0] > w[1]) {
        fn permute<T: Copy + Send + Sync>(v: &mut Vec<T>, order: &[u32]) {
            *v = order.par_iter().map(|&i| v[i as usize]).collect();
        }
        permute(&mut out.db_id, &order);
        permute(&mut out.ts_secs, &order);
        permute(&mut out.src, &order);
        permute(&mut out.dst, &order);
        permute(&mut out.merchant, &order);
        permute(&mut out.amount, &order);
        permute(&mut out.declined, &order);
        permute(&mut out.device, &order);
        permute(&mut out.ip, &order);
        permute(&mut out.card, &order);
        permute(&mut out.promo, &order);
    }
    Ok(())
}

/// (account, entity, declared?, first seen, last seen, uses) before merging.
type IdentityRow = (u32, u32, bool, Option<i64>, Option<i64>, u32);

/// Declared identity edges merged with those seen on transactions (device, IP, card).
fn load_identity(
    conn: &Connection,
    accounts: &HashMap<i64, u32>,
    entities: &HashMap<i64, u32>,
    ds: &Dataset,
) -> Result<Vec<IdentityEdge>, DatasetError> {
    let err = read_err("account_entities");
    // (account, entity, declared?, first, last, uses) rows, merged after one parallel sort.
    let mut rows_out: Vec<IdentityRow> = Vec::new();
    let mut stmt = conn
        .prepare("SELECT account_id, entity_id, first_seen, last_seen, uses FROM account_entities")
        .map_err(&err)?;
    let mut rows = stmt.query([]).map_err(&err)?;
    while let Some(row) = rows.next().map_err(&err)? {
        let account = lookup(accounts, row.get(0).map_err(&err)?);
        let entity = lookup(entities, row.get(1).map_err(&err)?);
        if account == NONE
            || entity == NONE
            || ds.entities.kind[entity as usize] == EntityKind::Merchant
        {
            continue;
        }
        let uses: i64 = row.get(4).map_err(&err)?;
        rows_out.push((
            account,
            entity,
            true,
            row.get(2).map_err(&err)?,
            row.get(3).map_err(&err)?,
            uses.clamp(0, u32::MAX as i64) as u32,
        ));
    }
    let tx = &ds.tx;
    for i in 0..tx.len() {
        for entity in [tx.device[i], tx.ip[i], tx.card[i]] {
            if entity != NONE {
                let ts = Some(tx.ts_secs[i]);
                rows_out.push((tx.src[i], entity, false, ts, ts, 1));
            }
        }
    }
    // Declared rows first within a pair: they carry the recorded number of uses.
    rows_out.par_sort_unstable_by_key(|r| (r.0, r.1, !r.2, r.3));
    let mut edges: Vec<IdentityEdge> = Vec::new();
    let mut last_declared = false;
    for (account, entity, declared, first, last, uses) in rows_out {
        match edges.last_mut() {
            Some(e) if e.account == account && e.entity == entity => {
                let widen_first = first.map(|f| e.first_seen_secs.map_or(f, |x| x.min(f)));
                let widen_last = last.map(|l| e.last_seen_secs.map_or(l, |x| x.max(l)));
                e.first_seen_secs = widen_first.or(e.first_seen_secs);
                e.last_seen_secs = widen_last.or(e.last_seen_secs);
                if !last_declared {
                    e.uses = e.uses.saturating_add(uses);
                }
            }
            _ => {
                last_declared = declared;
                edges.push(IdentityEdge {
                    account,
                    entity,
                    first_seen_secs: first,
                    last_seen_secs: last,
                    uses,
                });
            }
        }
    }
    Ok(edges)
}

fn load_labels(
    conn: &Connection,
    accounts: &HashMap<i64, u32>,
    n: usize,
) -> Result<Vec<Label>, DatasetError> {
    let err = read_err("labels");
    let mut labels = vec![Label::Unknown; n];
    // Ascending, so the newest unrevoked row of each account is written last.
    let mut stmt = conn
        .prepare(
            "SELECT account_id, label FROM labels WHERE revoked_at IS NULL
             ORDER BY created_at, id",
        )
        .map_err(&err)?;
    let mut rows = stmt.query([]).map_err(&err)?;
    while let Some(row) = rows.next().map_err(&err)? {
        let account = lookup(accounts, row.get(0).map_err(&err)?);
        if account == NONE {
            continue;
        }
        let label: String = row.get(1).map_err(&err)?;
        labels[account as usize] = match label.as_str() {
            "fraud" => Label::Fraud,
            "legit" => Label::Legit,
            _ => continue,
        };
    }
    Ok(labels)
}
