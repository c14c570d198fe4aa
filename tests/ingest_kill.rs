//! A real `kill -9` of `sightline ingest` in the middle of a load: the workspace stays whole
//! (integrity check, committed batches only), and running the same command again resumes the
//! load and ends with every row accounted for exactly once.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const ROWS: u64 = 400_000;
const BROKEN_EVERY: u64 = 10_000;

/// An AMLSim `transactions.csv` with one broken amount every `BROKEN_EVERY` rows.
fn write_amlsim(path: &Path) {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    writeln!(
        f,
        "tran_id,orig_acct,bene_acct,tx_type,base_amt,tran_timestamp,is_sar,alert_id"
    )
    .unwrap();
    for i in 1..=ROWS {
        let amount = if i % BROKEN_EVERY == 0 {
            "oops".to_string()
        } else {
            format!("{}.25", i % 5000)
        };
        writeln!(
            f,
            "{i},{},{},TRANSFER,{amount},2017-01-{:02}T{:02}:{:02}:00Z,False,-1",
            i % 4999,
            (i * 7) % 4993,
            1 + i % 28,
            i % 24,
            i % 60
        )
        .unwrap();
    }
}

fn ingest(ws: &Path, file: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sightline"));
    cmd.args(["ingest", "--json", "--batch-rows", "10000", "--workspace"])
        .arg(ws)
        .arg(file)
        .env_remove("SIGHTLINE_WORKSPACE");
    cmd
}

fn committed_rows(ws: &Path) -> i64 {
    let Ok(conn) = rusqlite::Connection::open_with_flags(
        ws,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    ) else {
        return 0;
    };
    conn.busy_timeout(Duration::from_secs(1)).ok();
    conn.query_row("SELECT count(*) FROM transactions", [], |r| r.get(0))
        .unwrap_or(0)
}

#[test]
fn ingest_killed_mid_load_resumes_to_the_same_end_state() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("transactions.csv");
    write_amlsim(&file);
    let ws = dir.path().join("w.sqlite");

    // Kill as soon as at least one batch is committed, long before the end.
    let mut child = ingest(&ws, &file)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn ingest");
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut seen = 0;
    while seen == 0 {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the load ended before a kill could land; make the file larger"
        );
        assert!(Instant::now() < deadline, "no batch committed in 120 s");
        std::thread::sleep(Duration::from_millis(5));
        seen = committed_rows(&ws);
    }
    child.kill().expect("kill -9");
    child.wait().unwrap();

    {
        let conn = rusqlite::Connection::open(&ws).unwrap();
        let check: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(check, "ok");
        let partial: i64 = conn
            .query_row("SELECT count(*) FROM transactions", [], |r| r.get(0))
            .unwrap();
        assert!(
            partial > 0 && partial < (ROWS - ROWS / BROKEN_EVERY) as i64,
            "killed mid-load: {partial} rows committed"
        );
        let status: String = conn
            .query_row("SELECT status FROM loads", [], |r| r.get(0))
            .unwrap();
        assert_eq!(status, "running", "a killed load is not marked done");
    }

    // The same command again resumes and completes it.
    let out = ingest(&ws, &file).output().expect("rerun ingest");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json summary");
    assert_eq!(summary["files"][0]["outcome"], "resumed", "{summary}");
    let n = |k: &str| summary[k].as_u64().unwrap();
    assert_eq!(n("rows_read"), ROWS);
    assert_eq!(n("rejected"), ROWS / BROKEN_EVERY);
    assert_eq!(n("duplicates"), 0);
    assert_eq!(n("loaded"), ROWS - ROWS / BROKEN_EVERY);

    let conn = rusqlite::Connection::open(&ws).unwrap();
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    let (rows, distinct): (i64, i64) = conn
        .query_row(
            "SELECT count(*), count(DISTINCT ext_id) FROM transactions",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(rows, (ROWS - ROWS / BROKEN_EVERY) as i64);
    assert_eq!(distinct, rows, "no row loaded twice");
    let (loads, status): (i64, String) = conn
        .query_row("SELECT count(*), max(status) FROM loads", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!((loads, status.as_str()), (1, "complete"));
    let indexes: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND tbl_name = 'transactions' AND sql IS NOT NULL",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(indexes >= 3, "the bulk-load indexes are back: {indexes}");

    // And the rejects file holds every broken row once.
    let rejects = summary["files"][0]["rejects_path"]
        .as_str()
        .expect("rejects");
    let text = std::fs::read_to_string(rejects).unwrap();
    let broken = text.lines().filter(|l| l.contains("oops")).count() as u64;
    assert_eq!(
        broken,
        ROWS / BROKEN_EVERY,
        "no reject lost or written twice"
    );
}
