//! Workspace file handling: migrations, bad files, orphan blobs, and surviving `kill -9`.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use sightline::store::{BlobStore, OpenMode, StoreError, Workspace, schema};

fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().expect("tempdir")
}

#[test]
fn new_workspace_gets_latest_schema_wal_and_foreign_keys() {
    let dir = tmp();
    let path = dir.path().join("sub/folder/w.sqlite");
    let ws = Workspace::open(&path, OpenMode::CreateIfMissing).expect("create");
    let version: u32 = ws
        .conn()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .expect("version");
    assert_eq!(version, schema::latest_version());
    let mode: String = ws
        .conn()
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .expect("mode");
    assert_eq!(mode, "wal");
    let fk: i64 = ws
        .conn()
        .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
        .expect("fk");
    assert_eq!(fk, 1);
    // Foreign keys are enforced: a transaction from a missing account is refused.
    let err = ws.conn().execute(
        "INSERT INTO transactions(ext_key, ts, src_account, amount) VALUES ('t', 1, 999, 1.0)",
        [],
    );
    assert!(err.is_err(), "foreign key must be enforced");
    ws.integrity_check().expect("integrity");
}

#[test]
fn reopening_applies_no_migration_twice_and_keeps_data() {
    let dir = tmp();
    let path = dir.path().join("w.sqlite");
    {
        let ws = Workspace::open(&path, OpenMode::CreateIfMissing).expect("create");
        ws.conn()
            .execute("INSERT INTO accounts(ext_id) VALUES ('A-1')", [])
            .expect("insert");
    }
    let ws = Workspace::open(&path, OpenMode::Existing).expect("reopen");
    let n: i64 = ws
        .conn()
        .query_row("SELECT count(*) FROM accounts", [], |r| r.get(0))
        .expect("count");
    assert_eq!(n, 1);
}

#[test]
fn migrates_an_older_file_forward() {
    // A file at version 0 with the application id set (as an interrupted first open leaves it).
    let dir = tmp();
    let path = dir.path().join("old.sqlite");
    {
        let conn = rusqlite::Connection::open(&path).expect("raw");
        conn.execute_batch("PRAGMA application_id = 1397180500;")
            .expect("app id");
    }
    let ws = Workspace::open(&path, OpenMode::Existing).expect("migrate");
    let version: u32 = ws
        .conn()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .expect("version");
    assert_eq!(version, schema::latest_version());
}

#[test]
fn v4_transactions_move_to_rowid_keys_keeping_ids_labels_and_indexes() {
    // A workspace at schema v4 (transaction ids autonumbered, source ids as text) with numeric,
    // non-canonical and text ids and a transaction label.
    let dir = tmp();
    let path = dir.path().join("v4.sqlite");
    {
        let conn = rusqlite::Connection::open(&path).expect("raw");
        for m in &schema::MIGRATIONS[..4] {
            conn.execute_batch(m).expect("old migration");
        }
        conn.execute_batch(
            "PRAGMA user_version = 4; PRAGMA application_id = 1397180500;
             INSERT INTO accounts(id, ext_id) VALUES (1, 'A'), (2, 'B');
             INSERT INTO transactions(id, ext_id, ts, src_account, dst_account, amount)
               VALUES (1, '7', 10, 1, 2, 1.0), (2, 'T-1', 20, 2, 1, 2.0), (3, '007', 30, 1, 2, 3.0),
                      (4, '1', 40, 2, 1, 4.0), (5, '99999999999999999999', 50, 1, 2, 5.0);
             INSERT INTO transaction_labels(transaction_id, label) VALUES (2, 'fraud'), (4, 'fraud');",
        )
        .expect("v4 data");
    }
    let ws = Workspace::open(&path, OpenMode::Existing).expect("migrate");
    let conn = ws.conn();
    let rows: Vec<(i64, Option<String>, String, i64)> = conn
        .prepare("SELECT id, ext_key, ext_id, ts FROM transactions ORDER BY ts")
        .expect("prepare")
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows");
    let first = schema::TEXT_KEY_FIRST_ID;
    assert_eq!(
        rows,
        vec![
            (7, None, "7".into(), 10),
            (first + 1, Some("T-1".into()), "T-1".into(), 20),
            (first + 2, Some("007".into()), "007".into(), 30),
            (1, None, "1".into(), 40),
            (
                first + 4,
                Some("99999999999999999999".into()),
                "99999999999999999999".into(),
                50
            ),
        ]
    );
    let labelled: Vec<i64> = conn
        .prepare("SELECT t.ts FROM transaction_labels l JOIN transactions t ON t.id = l.transaction_id ORDER BY t.ts")
        .expect("prepare")
        .query_map([], |r| r.get(0))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("labels");
    assert_eq!(labelled, vec![20, 40]);
    // The indexes the graph and browse views use are back; text keys stay unique.
    for index in [
        "transactions_by_src",
        "transactions_by_dst",
        "transactions_by_ts",
        "transactions_by_merchant",
        "transactions_by_ext_key",
    ] {
        let n: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = ?1",
                [index],
                |r| r.get(0),
            )
            .expect("index");
        assert_eq!(n, 1, "{index}");
    }
    assert!(
        conn.execute(
            "INSERT INTO transactions(id, ext_key, ts, src_account, amount) VALUES (-5, 'T-1', 1, 1, 1.0)",
            [],
        )
        .is_err(),
        "a text key is unique"
    );
    let fk: i64 = conn
        .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
        .expect("fk");
    assert_eq!(fk, 1, "foreign keys are back on after migrating");
    let violations: i64 = conn
        .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
            r.get(0)
        })
        .expect("fk check");
    assert_eq!(violations, 0);
    ws.integrity_check().expect("integrity");
}

#[test]
fn tx_number_accepts_only_canonical_non_negative_integers() {
    assert_eq!(schema::tx_number("0"), Some(0));
    assert_eq!(schema::tx_number("42"), Some(42));
    assert_eq!(schema::tx_number("9223372036854775807"), Some(i64::MAX));
    for text in [
        "",
        "042",
        "+4",
        "-4",
        "4.0",
        " 4",
        "T4",
        "9223372036854775808",
    ] {
        assert_eq!(schema::tx_number(text), None, "{text:?}");
    }
}

#[test]
fn missing_workspace_is_reported_not_created() {
    let dir = tmp();
    let path = dir.path().join("nope.sqlite");
    let err = Workspace::open(&path, OpenMode::Existing)
        .err()
        .expect("must fail");
    assert!(matches!(err, StoreError::Missing { .. }), "{err}");
    assert!(err.to_string().contains("nope.sqlite"));
    assert!(!path.exists());
}

fn assert_untouched(path: &Path, before: &[u8]) {
    assert_eq!(
        std::fs::read(path).expect("read"),
        before,
        "file must not be modified"
    );
    assert!(
        !Path::new(&format!("{}-wal", path.display())).exists(),
        "no WAL created"
    );
}

#[test]
fn garbage_file_is_refused_and_left_untouched() {
    let dir = tmp();
    let path = dir.path().join("garbage.sqlite");
    let bytes = b"this is not a database, it is a shopping list\n".repeat(100);
    std::fs::write(&path, &bytes).expect("write");
    let err = Workspace::open(&path, OpenMode::Existing)
        .err()
        .expect("must fail");
    assert!(matches!(err, StoreError::NotAWorkspace { .. }), "{err}");
    assert!(err.to_string().contains("garbage.sqlite"), "{err}");
    assert_untouched(&path, &bytes);
}

#[test]
fn corrupted_workspace_is_refused_with_a_clear_message() {
    let dir = tmp();
    let path = dir.path().join("w.sqlite");
    {
        let ws = Workspace::open(&path, OpenMode::CreateIfMissing).expect("create");
        ws.conn()
            .execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
            .expect("checkpoint");
    }
    // Scribble over the schema page, keeping the SQLite header.
    let mut bytes = std::fs::read(&path).expect("read");
    for b in bytes.iter_mut().skip(100).take(3000) {
        *b = 0xA5;
    }
    std::fs::write(&path, &bytes).expect("write");
    let err = Workspace::open(&path, OpenMode::Existing)
        .err()
        .expect("must fail");
    assert!(
        matches!(
            err,
            StoreError::Corrupt { .. } | StoreError::NotAWorkspace { .. }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("w.sqlite"), "{err}");
}

#[test]
fn other_applications_database_is_not_migrated() {
    let dir = tmp();
    let path = dir.path().join("other.sqlite");
    {
        let conn = rusqlite::Connection::open(&path).expect("raw");
        conn.execute_batch("CREATE TABLE recipes(id INTEGER PRIMARY KEY, name TEXT);")
            .expect("t");
    }
    let err = Workspace::open(&path, OpenMode::Existing)
        .err()
        .expect("must fail");
    assert!(matches!(err, StoreError::NotAWorkspace { .. }), "{err}");
    let conn = rusqlite::Connection::open(&path).expect("raw");
    let tables: i64 = conn
        .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
        .expect("n");
    assert_eq!(tables, 1, "nothing added to a stranger's database");
}

#[test]
fn newer_schema_is_refused_and_nothing_changes() {
    let dir = tmp();
    let path = dir.path().join("future.sqlite");
    {
        let ws = Workspace::open(&path, OpenMode::CreateIfMissing).expect("create");
        ws.conn()
            .execute_batch(&format!(
                "PRAGMA user_version = {};",
                schema::latest_version() + 5
            ))
            .expect("bump");
    }
    let err = Workspace::open(&path, OpenMode::Existing)
        .err()
        .expect("must fail");
    match &err {
        StoreError::NewerSchema {
            found, supported, ..
        } => {
            assert_eq!(*found, schema::latest_version() + 5);
            assert_eq!(*supported, schema::latest_version());
        }
        other => panic!("expected NewerSchema, got {other}"),
    }
    assert!(err.to_string().contains("update Sightline"), "{err}");
}

#[test]
fn read_only_workspace_is_refused() {
    let dir = tmp();
    let path = dir.path().join("ro.sqlite");
    {
        Workspace::open(&path, OpenMode::CreateIfMissing).expect("create");
    }
    // Root ignores permission bits, so make the file immutable to the process another way
    // where possible; with plain bits, non-root runs see the read-only error.
    let mut perms = std::fs::metadata(&path).expect("meta").permissions();
    perms.set_readonly(true);
    std::fs::set_permissions(&path, perms).expect("chmod");
    let err = Workspace::open(&path, OpenMode::Existing)
        .err()
        .expect("must fail");
    assert!(matches!(err, StoreError::ReadOnly { .. }), "{err}");
    assert!(err.to_string().contains("read-only"), "{err}");
}

#[test]
fn two_handles_share_a_workspace_safely() {
    let dir = tmp();
    let path = dir.path().join("shared.sqlite");
    let a = Workspace::open(&path, OpenMode::CreateIfMissing).expect("a");
    let b = Workspace::open(&path, OpenMode::Existing).expect("b");
    a.conn()
        .execute("INSERT INTO accounts(ext_id) VALUES ('A-1')", [])
        .expect("a writes");
    b.conn()
        .execute("INSERT INTO accounts(ext_id) VALUES ('A-2')", [])
        .expect("b writes");
    let n: i64 = a
        .conn()
        .query_row("SELECT count(*) FROM accounts", [], |r| r.get(0))
        .expect("n");
    assert_eq!(n, 2);
}

#[test]
fn orphan_blobs_are_swept_but_young_and_known_ones_stay() {
    let dir = tmp();
    let path = dir.path().join("w.sqlite");
    let (known, orphan_old, orphan_young);
    {
        let ws = Workspace::open(&path, OpenMode::CreateIfMissing).expect("create");
        known = ws
            .blobs()
            .put(ws.conn(), b"kept", "text/plain")
            .expect("put");
        let old_hash = BlobStore::hash(b"orphan");
        orphan_old = ws.blobs().write_file(&old_hash, b"orphan").expect("write");
        orphan_young = ws
            .blobs()
            .write_file(&BlobStore::hash(b"young"), b"young")
            .expect("write");
        let past = std::time::SystemTime::now() - Duration::from_secs(3600);
        let f = std::fs::File::options()
            .write(true)
            .open(&orphan_old)
            .expect("open");
        f.set_modified(past).expect("age it");
        let kf = std::fs::File::options()
            .write(true)
            .open(ws.blobs().path_of(&known))
            .expect("open");
        kf.set_modified(past).expect("age it");
    }
    let ws = Workspace::open(&path, OpenMode::Existing).expect("reopen sweeps");
    assert!(
        ws.blobs().path_of(&known).exists(),
        "a blob with a row stays"
    );
    assert!(!orphan_old.exists(), "an old orphan is swept");
    assert!(
        orphan_young.exists(),
        "a young orphan may belong to a writer mid-commit"
    );
}

/// Child side of `workspace_survives_kill_9`: writes multi-row transactions forever.
/// It only does anything when the parent test sets `SIGHTLINE_KILL_CHILD`.
#[test]
fn kill_child_writer() {
    let Some(path) = std::env::var_os("SIGHTLINE_KILL_CHILD") else {
        return;
    };
    let mut ws = Workspace::open(Path::new(&path), OpenMode::Existing).expect("open");
    for batch in 0.. {
        let tx = ws.conn_mut().transaction().expect("tx");
        for i in 0..500 {
            tx.execute(
                "INSERT INTO accounts(ext_id, name) VALUES (?1, 'writer')",
                [format!("A-{batch}-{i}")],
            )
            .expect("insert");
        }
        tx.execute(
            "INSERT INTO meta(key, value) VALUES ('batches', ?1)
                    ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            [batch.to_string()],
        )
        .expect("meta");
        tx.commit().expect("commit");
        let hash = ws
            .blobs()
            .put(ws.conn(), format!("blob {batch}").as_bytes(), "text/plain")
            .expect("blob");
        assert!(!hash.is_empty());
    }
}

#[test]
fn workspace_survives_kill_9_during_writes() {
    let dir = tmp();
    let path = dir.path().join("kill.sqlite");
    Workspace::open(&path, OpenMode::CreateIfMissing).expect("create");
    let exe = std::env::current_exe().expect("test binary");
    for round in 0..3 {
        let mut child = Command::new(&exe)
            .args([
                "kill_child_writer",
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("SIGHTLINE_KILL_CHILD", &path)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn child writer");
        std::thread::sleep(Duration::from_millis(400 + 150 * round));
        child.kill().expect("SIGKILL");
        child.wait().expect("reap");
        let ws = Workspace::open(&path, OpenMode::Existing).expect("reopen after kill");
        ws.integrity_check().expect("integrity_check after kill -9");
        // Every committed batch is whole: accounts come in exact multiples of 500.
        let (accounts, batches): (i64, Option<String>) = ws
            .conn()
            .query_row(
                "SELECT (SELECT count(*) FROM accounts), (SELECT value FROM meta WHERE key = 'batches')",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .expect("count");
        assert_eq!(accounts % 500, 0, "a batch was half-written: {accounts}");
        if let Some(b) = batches {
            let b: i64 = b.parse().expect("number");
            assert!(
                accounts >= 500 * (b + 1),
                "meta says {b} batches, {accounts} rows"
            );
        }
        // The next writer continues where the data is (unique ids would clash otherwise).
        ws.conn()
            .execute("DELETE FROM accounts", [])
            .expect("reset");
        ws.conn().execute("DELETE FROM meta", []).expect("reset");
    }
}

#[test]
fn a_connection_can_join_while_another_process_loads_under_a_rollback_journal() {
    // `sightline ingest`, alone on a file, loads under a rollback journal and holds the write
    // lock for each batch; a reader arriving then cannot switch the file to WAL, and must
    // still connect and read the committed rows.
    let dir = tmp();
    let path = dir.path().join("w.sqlite");
    drop(Workspace::open(&path, OpenMode::CreateIfMissing).expect("create"));
    let loader = rusqlite::Connection::open(&path).expect("loader");
    let mode: String = loader
        .query_row("PRAGMA journal_mode = DELETE", [], |r| r.get(0))
        .expect("leave WAL");
    assert_eq!(mode, "delete");
    loader
        .execute_batch(
            "INSERT INTO meta(key, value) VALUES ('committed', '1');
             BEGIN IMMEDIATE;
             INSERT INTO meta(key, value) VALUES ('in-flight', '1');",
        )
        .expect("a batch in flight");
    let reader = Workspace::connect(&path).expect("connects during the load");
    let keys: Vec<String> = reader
        .prepare("SELECT key FROM meta WHERE key IN ('committed', 'in-flight')")
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .expect("reads");
    assert_eq!(keys, vec!["committed".to_string()]);
    loader.execute_batch("COMMIT").expect("commit");
}
