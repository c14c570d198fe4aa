//! Numbered schema migrations of the workspace file. A migration is applied once, in order,
//! inside one transaction together with the `user_version` bump, so a crash leaves the file at
//! either the old or the new version, never between.

/// Every migration, in order. Index 0 is version 1. Never edit a shipped migration: add one.
pub const MIGRATIONS: &[&str] = &[V1, V2, V3_SCORES, V4_NAMED_RECIPES, V5_TX_KEY_AS_ROWID];

/// The first rowid handed to a transaction whose source id is not a [`tx_number`] (text ids,
/// file hash + row number). Such rows count up from here towards 0, so they never take a rowid
/// a numeric source id could claim.
pub const TEXT_KEY_FIRST_ID: i64 = -(1 << 62);

/// The rowid that carries a transaction's source id, when the id is a non-negative integer
/// written canonically (ASCII digits, no sign, no leading zero, fits in an `i64`): `"42"` is
/// rowid 42, while `"042"`, `"+42"`, `"-1"` and `"T42"` are text keys kept in `ext_key`.
/// The same rule is spelt in SQL in [`V5_TX_KEY_AS_ROWID`]; the two must agree.
pub fn tx_number(ext_id: &str) -> Option<i64> {
    let b = ext_id.as_bytes();
    let canonical =
        !b.is_empty() && b.iter().all(u8::is_ascii_digit) && (b[0] != b'0' || b.len() == 1);
    if canonical { ext_id.parse().ok() } else { None }
}

/// The schema version this build writes and understands.
pub fn latest_version() -> u32 {
    MIGRATIONS.len() as u32
}

/// Schema v1: accounts and their identity attributes, transactions, entities, labels, loads,
/// assets and blobs. Times are Unix seconds (UTC); amounts are in the row's currency.
const V1: &str = r#"
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

-- One row per file load (ingest); a load is complete only when its status says so.
CREATE TABLE loads (
    id             INTEGER PRIMARY KEY,
    file_name      TEXT NOT NULL,
    file_hash      TEXT NOT NULL,
    preset         TEXT NOT NULL,
    started_at     INTEGER NOT NULL,
    finished_at    INTEGER,
    status         TEXT NOT NULL CHECK (status IN ('running', 'complete', 'cancelled', 'failed')),
    rows_read      INTEGER NOT NULL DEFAULT 0,
    loaded         INTEGER NOT NULL DEFAULT 0,
    rejected       INTEGER NOT NULL DEFAULT 0,
    duplicates     INTEGER NOT NULL DEFAULT 0,
    rows_committed INTEGER NOT NULL DEFAULT 0,
    rejects_path   TEXT
);
CREATE INDEX loads_by_hash ON loads(file_hash);

CREATE TABLE accounts (
    id         INTEGER PRIMARY KEY,
    ext_id     TEXT NOT NULL UNIQUE,
    name       TEXT,
    created_at INTEGER,
    load_id    INTEGER REFERENCES loads(id)
);

-- Devices, cards, IPs, e-mails, phones, merchants, national ids, addresses.
CREATE TABLE entities (
    id    INTEGER PRIMARY KEY,
    kind  TEXT NOT NULL CHECK (kind IN ('device', 'card', 'ip', 'email', 'phone', 'merchant',
                                        'national_id', 'address')),
    value TEXT NOT NULL,
    name  TEXT,
    UNIQUE (kind, value)
);

-- Identity edges: an account uses an entity (declared in an accounts file or seen on a transaction).
CREATE TABLE account_entities (
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    entity_id  INTEGER NOT NULL REFERENCES entities(id),
    first_seen INTEGER,
    last_seen  INTEGER,
    uses       INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (account_id, entity_id)
) WITHOUT ROWID;
CREATE INDEX account_entities_by_entity ON account_entities(entity_id, account_id);

CREATE TABLE transactions (
    id          INTEGER PRIMARY KEY,
    ext_id      TEXT NOT NULL UNIQUE,
    ts          INTEGER NOT NULL,
    src_account INTEGER NOT NULL REFERENCES accounts(id),
    dst_account INTEGER REFERENCES accounts(id),
    merchant_id INTEGER REFERENCES entities(id),
    amount      REAL NOT NULL,
    currency    TEXT NOT NULL DEFAULT 'USD',
    channel     TEXT,
    status      TEXT NOT NULL DEFAULT 'approved' CHECK (status IN ('approved', 'declined')),
    mcc         TEXT,
    promo_code  TEXT,
    device_id   INTEGER REFERENCES entities(id),
    ip_id       INTEGER REFERENCES entities(id),
    card_id     INTEGER REFERENCES entities(id),
    load_id     INTEGER REFERENCES loads(id)
);
CREATE INDEX transactions_by_src ON transactions(src_account, ts);
CREATE INDEX transactions_by_dst ON transactions(dst_account, ts);
CREATE INDEX transactions_by_ts ON transactions(ts);
CREATE INDEX transactions_by_merchant ON transactions(merchant_id, ts) WHERE merchant_id IS NOT NULL;

-- Labels are kept apart from the data: analysts add and revoke them; scoring reads only here.
-- The effective label of an account is its newest unrevoked row.
CREATE TABLE labels (
    id         INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    label      TEXT NOT NULL CHECK (label IN ('fraud', 'legit')),
    source     TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);
CREATE INDEX labels_by_account ON labels(account_id);

-- Content-addressed binary files living in the blob folder beside the workspace file.
CREATE TABLE blobs (
    hash       TEXT PRIMARY KEY,
    size_bytes INTEGER NOT NULL,
    mime       TEXT NOT NULL,
    created_at INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE assets (
    id         INTEGER PRIMARY KEY,
    blob_hash  TEXT NOT NULL UNIQUE REFERENCES blobs(hash),
    kind       TEXT NOT NULL CHECK (kind IN ('image', 'video')),
    file_name  TEXT NOT NULL,
    width_px   INTEGER,
    height_px  INTEGER,
    sku        TEXT,
    name       TEXT,
    price      REAL,
    category   TEXT,
    colour     TEXT,
    tags       TEXT NOT NULL DEFAULT '',
    recipe     TEXT,
    created_at INTEGER NOT NULL
);
CREATE INDEX assets_by_sku ON assets(sku);
"#;

/// Schema v2: what ingest needs to resume a load and to keep labels apart from the data.
///
/// - `loads` learns the file's role, the mapping it was read with, how many accounts it
///   created, whether it carried labels and how many bytes of its rejects file belong to
///   committed batches (a resumed load truncates the file back to that length).
/// - `transaction_labels` keeps the transactions a source marked positive (`is_sar`, `isFraud`,
///   `Is Laundering`…); the account labels derived from them live in `labels` as before.
const V2: &str = r#"
ALTER TABLE loads ADD COLUMN role TEXT;
ALTER TABLE loads ADD COLUMN mapping TEXT;
ALTER TABLE loads ADD COLUMN accounts_created INTEGER NOT NULL DEFAULT 0;
ALTER TABLE loads ADD COLUMN has_labels INTEGER NOT NULL DEFAULT 0;
ALTER TABLE loads ADD COLUMN rejects_bytes INTEGER NOT NULL DEFAULT 0;
CREATE INDEX loads_by_status ON loads(status);

CREATE TABLE transaction_labels (
    transaction_id INTEGER PRIMARY KEY REFERENCES transactions(id),
    label          TEXT NOT NULL CHECK (label IN ('fraud', 'legit')),
    load_id        INTEGER REFERENCES loads(id)
);
"#;

/// Schema v3, scores: the latest scoring run (model, metrics) with per-account scores, clusters and their
/// members, so the explorer shows them without rescoring. Reasons are JSON arrays of sentences.
const V3_SCORES: &str = r#"
CREATE TABLE score_runs (
    id           INTEGER PRIMARY KEY,
    created_at   INTEGER NOT NULL,
    model        TEXT NOT NULL CHECK (model IN ('supervised', 'unsupervised')),
    seed         INTEGER NOT NULL,
    metrics_json TEXT NOT NULL
);

CREATE TABLE account_scores (
    run_id     INTEGER NOT NULL REFERENCES score_runs(id) ON DELETE CASCADE,
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    score      REAL NOT NULL,
    cluster_id INTEGER,
    reasons    TEXT NOT NULL,
    PRIMARY KEY (run_id, account_id)
) WITHOUT ROWID;
CREATE INDEX account_scores_by_score ON account_scores(run_id, score DESC);

CREATE TABLE score_clusters (
    run_id     INTEGER NOT NULL REFERENCES score_runs(id) ON DELETE CASCADE,
    cluster_id INTEGER NOT NULL,
    score      REAL NOT NULL,
    typology   TEXT NOT NULL,
    size       INTEGER NOT NULL,
    reasons    TEXT NOT NULL,
    PRIMARY KEY (run_id, cluster_id)
) WITHOUT ROWID;

CREATE TABLE score_cluster_members (
    run_id     INTEGER NOT NULL,
    cluster_id INTEGER NOT NULL,
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    PRIMARY KEY (run_id, cluster_id, account_id),
    FOREIGN KEY (run_id, cluster_id) REFERENCES score_clusters(run_id, cluster_id) ON DELETE CASCADE
) WITHOUT ROWID;
CREATE INDEX score_cluster_members_by_account ON score_cluster_members(run_id, account_id);
"#;

/// Schema v4: named enhancement recipes saved by the user (the JSON of `imaging::Recipe`),
/// listed beside the built-in presets.
const V4_NAMED_RECIPES: &str = r#"
CREATE TABLE IF NOT EXISTS named_recipes (
    name       TEXT PRIMARY KEY,
    recipe     TEXT NOT NULL,
    updated_at INTEGER NOT NULL
) WITHOUT ROWID;
"#;

/// Schema v5: the transaction's source id is the table's rowid when it is a number, so
/// deduplication needs no second B-tree and every insert writes one instead of two.
///
/// - `id` is the source id when [`tx_number`] accepts it (`ext_key` is then NULL); any other key
///   (text ids, file hash + row number) lives in `ext_key`, unique through a partial index that
///   numeric rows do not enter, with a rowid counting up from [`TEXT_KEY_FIRST_ID`] (< 0).
/// - `ext_id` stays readable as before, as a virtual column computed from the two (not stored).
/// - Existing rows move to their new ids; `transaction_labels` follows them. Both tables are
///   rebuilt (a rowid cannot be renumbered in place without collisions). The migration runs
///   with foreign keys off (see `migrate`), as SQLite's table-rebuild procedure requires.
/// - Any secondary indexes a killed bulk load had left dropped are created here, so the pending
///   list in `meta` is cleared.
const V5_TX_KEY_AS_ROWID: &str = r#"
CREATE TEMP TABLE tx_v5_ids AS
    SELECT id AS old_id,
           CASE WHEN ext_id <> '' AND ext_id NOT GLOB '*[^0-9]*'
                     AND CAST(CAST(ext_id AS INTEGER) AS TEXT) = ext_id
                THEN CAST(ext_id AS INTEGER)
                ELSE -4611686018427387904 - 1 + row_number() OVER (ORDER BY id)
           END AS new_id
    FROM transactions;
CREATE UNIQUE INDEX temp.tx_v5_ids_old ON tx_v5_ids(old_id);

CREATE TABLE transactions_v5 (
    id          INTEGER PRIMARY KEY,
    ext_key     TEXT,
    ext_id      TEXT GENERATED ALWAYS AS (coalesce(ext_key, CAST(id AS TEXT))) VIRTUAL,
    ts          INTEGER NOT NULL,
    src_account INTEGER NOT NULL REFERENCES accounts(id),
    dst_account INTEGER REFERENCES accounts(id),
    merchant_id INTEGER REFERENCES entities(id),
    amount      REAL NOT NULL,
    currency    TEXT NOT NULL DEFAULT 'USD',
    channel     TEXT,
    status      TEXT NOT NULL DEFAULT 'approved' CHECK (status IN ('approved', 'declined')),
    mcc         TEXT,
    promo_code  TEXT,
    device_id   INTEGER REFERENCES entities(id),
    ip_id       INTEGER REFERENCES entities(id),
    card_id     INTEGER REFERENCES entities(id),
    load_id     INTEGER REFERENCES loads(id)
);
INSERT INTO transactions_v5(id, ext_key, ts, src_account, dst_account, merchant_id, amount,
                            currency, channel, status, mcc, promo_code, device_id, ip_id,
                            card_id, load_id)
    SELECT m.new_id, CASE WHEN m.new_id < 0 THEN t.ext_id END, t.ts, t.src_account,
           t.dst_account, t.merchant_id, t.amount, t.currency, t.channel, t.status, t.mcc,
           t.promo_code, t.device_id, t.ip_id, t.card_id, t.load_id
    FROM transactions t JOIN tx_v5_ids m ON m.old_id = t.id
    ORDER BY m.new_id;

CREATE TABLE transaction_labels_v5 (
    transaction_id INTEGER PRIMARY KEY REFERENCES transactions(id),
    label          TEXT NOT NULL CHECK (label IN ('fraud', 'legit')),
    load_id        INTEGER REFERENCES loads(id)
);
INSERT INTO transaction_labels_v5(transaction_id, label, load_id)
    SELECT m.new_id, l.label, l.load_id
    FROM transaction_labels l JOIN tx_v5_ids m ON m.old_id = l.transaction_id
    ORDER BY m.new_id;

DROP TABLE transaction_labels;
DROP TABLE transactions;
ALTER TABLE transactions_v5 RENAME TO transactions;
ALTER TABLE transaction_labels_v5 RENAME TO transaction_labels;
DROP TABLE temp.tx_v5_ids;

CREATE UNIQUE INDEX transactions_by_ext_key ON transactions(ext_key) WHERE ext_key IS NOT NULL;
CREATE INDEX transactions_by_src ON transactions(src_account, ts);
CREATE INDEX transactions_by_dst ON transactions(dst_account, ts);
CREATE INDEX transactions_by_ts ON transactions(ts);
CREATE INDEX transactions_by_merchant ON transactions(merchant_id, ts) WHERE merchant_id IS NOT NULL;
DELETE FROM meta WHERE key = 'ingest.deferred_indexes';
"#;
