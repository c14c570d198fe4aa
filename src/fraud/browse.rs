//! Read-only queries behind the fraud views: workspace totals and pages of accounts and
//! transactions. Pages are keyed by offset so a table can fetch only what is on screen, which
//! keeps a million-row workspace as quick to browse as the demo.

use rusqlite::{Connection, params};
use serde::Serialize;

/// Counts that summarise a workspace's fraud data.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct Overview {
    pub accounts: i64,
    pub transactions: i64,
    pub declined: i64,
    pub entities_by_kind: Vec<(String, i64)>,
    pub labelled_fraud: i64,
    pub labelled_legit: i64,
    pub first_ts: Option<i64>,
    pub last_ts: Option<i64>,
    pub loads: i64,
}

/// One row of the accounts table.
#[derive(Clone, Debug, PartialEq)]
pub struct AccountRow {
    pub ext_id: String,
    pub name: Option<String>,
    pub sent_count: i64,
    pub sent_total: f64,
    pub received_count: i64,
    pub label: Option<String>,
}

/// One row of the transactions table.
#[derive(Clone, Debug, PartialEq)]
pub struct TransactionRow {
    pub ext_id: String,
    pub ts: i64,
    pub src: String,
    /// Destination account, or the merchant for card payments.
    pub dst: String,
    pub amount: f64,
    pub currency: String,
    pub channel: Option<String>,
    pub status: String,
}

/// Workspace totals (a handful of indexed counts; fast on large files).
pub fn overview(conn: &Connection) -> rusqlite::Result<Overview> {
    let count = |sql: &str| conn.query_row(sql, [], |r| r.get::<_, i64>(0));
    let mut by_kind = conn.prepare(
        "SELECT kind, count(*) FROM entities GROUP BY kind ORDER BY count(*) DESC, kind",
    )?;
    let entities_by_kind = by_kind
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<Vec<_>, _>>()?;
    let (first_ts, last_ts) =
        conn.query_row("SELECT min(ts), max(ts) FROM transactions", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
    let label_count = |label: &str| -> rusqlite::Result<i64> {
        conn.query_row(
            &format!("SELECT count(*) FROM ({EFFECTIVE_LABELS}) WHERE label = ?1"),
            [label],
            |r| r.get(0),
        )
    };
    Ok(Overview {
        accounts: count("SELECT count(*) FROM accounts")?,
        transactions: count("SELECT count(*) FROM transactions")?,
        declined: count("SELECT count(*) FROM transactions WHERE status = 'declined'")?,
        entities_by_kind,
        labelled_fraud: label_count("fraud")?,
        labelled_legit: label_count("legit")?,
        first_ts,
        last_ts,
        loads: count("SELECT count(*) FROM loads")?,
    })
}

/// The effective label of each labelled account: its newest unrevoked label row.
pub const EFFECTIVE_LABELS: &str = "SELECT account_id, label FROM labels l
     WHERE revoked_at IS NULL
       AND id = (SELECT max(id) FROM labels l2
                 WHERE l2.account_id = l.account_id AND l2.revoked_at IS NULL)";

/// Number of accounts whose id or name contains `filter` (all when empty).
pub fn account_count(conn: &Connection, filter: &str) -> rusqlite::Result<i64> {
    conn.query_row(
        "SELECT count(*) FROM accounts WHERE ?1 = '' OR ext_id LIKE ?2 OR name LIKE ?2",
        params![filter, like(filter)],
        |r| r.get(0),
    )
}

/// Accounts ordered by id, `limit` rows from `offset`, matching `filter`.
pub fn account_page(
    conn: &Connection,
    filter: &str,
    offset: i64,
    limit: i64,
) -> rusqlite::Result<Vec<AccountRow>> {
    let sql = format!(
        "WITH page AS (
             SELECT id, ext_id, name FROM accounts
             WHERE ?1 = '' OR ext_id LIKE ?2 OR name LIKE ?2
             ORDER BY ext_id LIMIT ?3 OFFSET ?4)
         SELECT p.ext_id, p.name,
                (SELECT count(*) FROM transactions t WHERE t.src_account = p.id),
                (SELECT coalesce(sum(amount), 0) FROM transactions t
                  WHERE t.src_account = p.id AND t.status = 'approved'),
                (SELECT count(*) FROM transactions t WHERE t.dst_account = p.id),
                (SELECT label FROM ({EFFECTIVE_LABELS}) el WHERE el.account_id = p.id)
         FROM page p ORDER BY p.ext_id"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params![filter, like(filter), limit, offset], |r| {
        Ok(AccountRow {
            ext_id: r.get(0)?,
            name: r.get(1)?,
            sent_count: r.get(2)?,
            sent_total: r.get(3)?,
            received_count: r.get(4)?,
            label: r.get(5)?,
        })
    })?;
    rows.collect()
}

/// Number of transactions touching an account whose id contains `filter` (all when empty).
pub fn transaction_count(conn: &Connection, filter: &str) -> rusqlite::Result<i64> {
    if filter.is_empty() {
        return conn.query_row("SELECT count(*) FROM transactions", [], |r| r.get(0));
    }
    conn.query_row(
        &format!("SELECT count(*) FROM transactions t WHERE {TX_FILTER}"),
        params![like(filter)],
        |r| r.get(0),
    )
}

const TX_FILTER: &str = "t.src_account IN (SELECT id FROM accounts WHERE ext_id LIKE ?1)
     OR t.dst_account IN (SELECT id FROM accounts WHERE ext_id LIKE ?1)";

/// Transactions, newest first, `limit` rows from `offset`, touching accounts matching `filter`.
pub fn transaction_page(
    conn: &Connection,
    filter: &str,
    offset: i64,
    limit: i64,
) -> rusqlite::Result<Vec<TransactionRow>> {
    let filter_sql = if filter.is_empty() {
        "1 = 1 OR ?1 IS NULL".to_string()
    } else {
        TX_FILTER.to_string()
    };
    let sql = format!(
        "SELECT t.ext_id, t.ts, s.ext_id, coalesce(d.ext_id, m.value, ''), t.amount, t.currency,
                t.channel, t.status
         FROM transactions t
         JOIN accounts s ON s.id = t.src_account
         LEFT JOIN accounts d ON d.id = t.dst_account
         LEFT JOIN entities m ON m.id = t.merchant_id
         WHERE {filter_sql}
         ORDER BY t.ts DESC, t.id DESC LIMIT ?2 OFFSET ?3"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params![like(filter), limit, offset], |r| {
        Ok(TransactionRow {
            ext_id: r.get(0)?,
            ts: r.get(1)?,
            src: r.get(2)?,
            dst: r.get(3)?,
            amount: r.get(4)?,
            currency: r.get(5)?,
            channel: r.get(6)?,
            status: r.get(7)?,
        })
    })?;
    rows.collect()
}

fn like(filter: &str) -> String {
    let escaped = filter.replace(['%', '_'], "");
    format!("%{escaped}%")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{OpenMode, Workspace};

    fn sample() -> (tempfile::TempDir, Workspace) {
        let dir = tempfile::tempdir().expect("tempdir");
        let ws =
            Workspace::open(&dir.path().join("w.sqlite"), OpenMode::CreateIfMissing).expect("open");
        ws.conn()
            .execute_batch(
                "INSERT INTO accounts(id, ext_id, name) VALUES (1,'A-1','Ann'),(2,'A-2','Bob'),(3,'B-9',NULL);
                 INSERT INTO entities(id, kind, value) VALUES (1,'merchant','M-77'),(2,'device','D-1');
                 INSERT INTO transactions(ext_key, ts, src_account, dst_account, merchant_id, amount, status)
                   VALUES ('t1',100,1,2,NULL,10.0,'approved'),
                          ('t2',200,1,NULL,1,5.5,'declined'),
                          ('t3',300,2,1,NULL,7.0,'approved');
                 INSERT INTO labels(account_id,label,source,created_at) VALUES (1,'legit','t',1),(1,'fraud','t',2),(2,'fraud','t',1);
                 UPDATE labels SET revoked_at = 3 WHERE account_id = 2;",
            )
            .expect("seed");
        (dir, ws)
    }

    #[test]
    fn overview_counts_and_effective_labels() {
        let (_d, ws) = sample();
        let o = overview(ws.conn()).expect("overview");
        assert_eq!(o.accounts, 3);
        assert_eq!(o.transactions, 3);
        assert_eq!(o.declined, 1);
        // A-1's newest label is fraud; A-2's only label was revoked.
        assert_eq!((o.labelled_fraud, o.labelled_legit), (1, 0));
        assert_eq!((o.first_ts, o.last_ts), (Some(100), Some(300)));
    }

    #[test]
    fn account_page_aggregates_and_filters() {
        let (_d, ws) = sample();
        let rows = account_page(ws.conn(), "", 0, 10).expect("page");
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0].ext_id, "A-1");
        assert_eq!(rows[0].sent_count, 2);
        assert!(
            (rows[0].sent_total - 10.0).abs() < 1e-9,
            "declined excluded"
        );
        assert_eq!(rows[0].label.as_deref(), Some("fraud"));
        assert_eq!(rows[1].label, None);
        assert_eq!(account_count(ws.conn(), "A-").expect("count"), 2);
        assert_eq!(
            account_page(ws.conn(), "Bob", 0, 10).expect("page")[0].ext_id,
            "A-2"
        );
    }

    #[test]
    fn transaction_page_is_newest_first_and_names_merchants() {
        let (_d, ws) = sample();
        let rows = transaction_page(ws.conn(), "", 0, 10).expect("page");
        assert_eq!(
            rows.iter().map(|r| r.ts).collect::<Vec<_>>(),
            vec![300, 200, 100]
        );
        assert_eq!(rows[1].dst, "M-77");
        assert_eq!(transaction_count(ws.conn(), "A-2").expect("count"), 2);
        assert_eq!(
            transaction_page(ws.conn(), "", 1, 1).expect("page")[0].ext_id,
            "t2"
        );
    }
}
