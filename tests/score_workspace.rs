//! `score_workspace` end to end on small workspaces written with SQL: output shape, model
//! choice, determinism, persisted scores, reasons re-checked against SQLite, and bad input.

mod common;

use std::collections::HashSet;
use std::sync::atomic::AtomicBool;

use common::*;
use rusqlite::Connection;
use sightline::fraud::detect::Evidence;
use sightline::fraud::forwarding::FORWARD_WINDOW_SECS;
use sightline::fraud::score::evidence_transactions;
use sightline::fraud::{ModelKind, ScoreOptions, ScoreReport, score_workspace};

fn score(conn: &Connection, opts: &ScoreOptions) -> ScoreReport {
    score_workspace(conn, opts, &AtomicBool::new(false), &|_| {}).expect("scoring")
}

fn assert_sane(report: &ScoreReport, n_accounts: usize) {
    assert_eq!(report.accounts.len(), n_accounts);
    let ids: HashSet<&str> = report.accounts.iter().map(|a| a.ext_id.as_str()).collect();
    assert_eq!(ids.len(), n_accounts, "every account exactly once");
    for a in &report.accounts {
        assert!(
            a.score.is_finite() && (0.0..=1.0).contains(&a.score),
            "{}: {}",
            a.ext_id,
            a.score
        );
        assert!(!a.reasons.is_empty(), "{} has no reason", a.ext_id);
    }
    for c in &report.clusters {
        assert!(c.score.is_finite() && (0.0..=1.0).contains(&c.score));
    }
    let csv = report.accounts_csv();
    assert!(!csv.contains("NaN") && !csv.contains("inf"));
    assert_eq!(csv.lines().count(), n_accounts + 1);
}

#[test]
fn empty_workspace_gives_empty_files_and_says_unsupervised() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ws = WsBuilder::new(&dir.path().join("w.sqlite")).finish();
    let report = score(ws.conn(), &ScoreOptions::default());
    assert_sane(&report, 0);
    assert_eq!(report.metrics.model, ModelKind::Unsupervised);
    assert!(report.metrics.model_reason.contains("no labels"));
    let out = dir.path().join("out");
    report.write_dir(&out).expect("write");
    let accounts = std::fs::read_to_string(out.join("accounts.csv")).expect("accounts.csv");
    assert_eq!(accounts, "account_id,score,cluster_id,reasons\n");
    let metrics = std::fs::read_to_string(out.join("metrics.json")).expect("metrics.json");
    assert!(metrics.contains("\"model\": \"unsupervised\""));
}

#[test]
fn planted_rings_rank_high_without_labels_and_the_output_says_which_model() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut b = WsBuilder::new(&dir.path().join("w.sqlite"));
    let p = planted_world(&mut b, 400, false);
    let ws = b.finish();
    let report = score(ws.conn(), &ScoreOptions::default());
    assert_sane(&report, 400);
    assert_eq!(report.metrics.model, ModelKind::Unsupervised);
    let mut ranked: Vec<(f64, i64)> = report.accounts.iter().map(|a| (a.score, a.db_id)).collect();
    ranked.sort_by(|a, b| b.0.total_cmp(&a.0));
    let top: HashSet<i64> = ranked.iter().take(60).map(|x| x.1).collect();
    for ring in [&p.cycle, &p.device_ring, &p.testers] {
        let hit = ring.iter().filter(|a| top.contains(a)).count();
        assert!(2 * hit >= ring.len(), "ring {ring:?}: {hit} in the top 60");
    }
    // The hub IP used by 60 accounts links none of them.
    let hub_users: HashSet<i64> = (1..=60).collect();
    for c in &report.clusters {
        if c.typology.name() == "shared_identity" {
            let members: HashSet<i64> = c
                .members
                .iter()
                .map(|&m| report.accounts[m as usize].db_id)
                .collect();
            assert!(
                members.intersection(&hub_users).count() < 3,
                "hub IP glued a cluster: {members:?}"
            );
        }
    }
}

#[test]
fn same_seed_gives_byte_identical_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut b = WsBuilder::new(&dir.path().join("w.sqlite"));
    planted_world(&mut b, 300, true);
    let ws = b.finish();
    let opts = ScoreOptions {
        seed: 42,
        ..Default::default()
    };
    let a = score(ws.conn(), &opts);
    let b = score(ws.conn(), &opts);
    assert_eq!(a.metrics.model, ModelKind::Supervised);
    let (da, db) = (dir.path().join("a"), dir.path().join("b"));
    a.write_dir(&da).expect("write a");
    b.write_dir(&db).expect("write b");
    for f in ["accounts.csv", "clusters.csv", "metrics.json"] {
        let x = std::fs::read(da.join(f)).expect("read");
        let y = std::fs::read(db.join(f)).expect("read");
        assert!(x == y, "{f} differs between two runs with the same seed");
    }
}

#[test]
fn supervised_run_reports_cross_validation_and_persists_scores() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut b = WsBuilder::new(&dir.path().join("w.sqlite"));
    planted_world(&mut b, 300, true);
    let ws = b.finish();
    let report = score(ws.conn(), &ScoreOptions::default());
    assert_sane(&report, 300);
    let cv = report
        .metrics
        .cross_validation
        .as_ref()
        .expect("cross-validation");
    assert!(cv.pr_auc.is_some_and(|x| x.is_finite()));
    assert!(cv.roc_auc.is_some());
    assert!(cv.calibration.is_some());
    report.persist(ws.conn(), 1).expect("persist");
    report
        .persist(ws.conn(), 2)
        .expect("persist again replaces");
    let (runs, rows): (i64, i64) = ws
        .conn()
        .query_row(
            "SELECT (SELECT count(*) FROM score_runs), (SELECT count(*) FROM account_scores)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("count");
    assert_eq!((runs, rows), (1, 300));
    let model: String = ws
        .conn()
        .query_row("SELECT model FROM score_runs", [], |r| r.get(0))
        .expect("model");
    assert_eq!(model, "supervised");
}

#[test]
fn one_class_of_labels_falls_back_to_unsupervised_with_a_clear_reason() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut b = WsBuilder::new(&dir.path().join("w.sqlite"));
    planted_world(&mut b, 200, false);
    for a in 1..=50 {
        b.label(a, "legit");
    }
    let ws = b.finish();
    let report = score(ws.conn(), &ScoreOptions::default());
    assert_sane(&report, 200);
    assert_eq!(report.metrics.model, ModelKind::Unsupervised);
    assert!(
        report.metrics.model_reason.contains("0 fraud"),
        "{}",
        report.metrics.model_reason
    );
}

#[test]
fn self_loops_zero_negative_amounts_and_out_of_order_times_are_harmless() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut b = WsBuilder::new(&dir.path().join("w.sqlite"));
    b.accounts(20);
    // Inserted out of time order on purpose.
    for k in 0..40i64 {
        let ts = T0 + (40 - k) * HOUR;
        let src = 1 + k % 20;
        b.transfer(ts, src, src, 100.0); // self-loop
        b.transfer(
            ts,
            src,
            1 + (k + 3) % 20,
            if k % 2 == 0 { 0.0 } else { -250.0 },
        );
        b.transfer(ts - 5 * DAY, 1 + (k + 7) % 20, src, f64::MAX);
    }
    b.label(1, "fraud");
    b.label(2, "legit");
    let ws = b.finish();
    let report = score(ws.conn(), &ScoreOptions::default());
    assert_sane(&report, 20);
}

#[test]
fn a_hub_with_a_million_transfers_is_bounded() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut b = WsBuilder::new(&dir.path().join("w.sqlite"));
    let n = 20_000usize;
    b.accounts(n);
    let mut rng = Lcg(3);
    // Account 1 is a payment gateway: a million transfers with everybody, both ways.
    for k in 0..1_000_000i64 {
        let other = 2 + rng.below(n as u64 - 1) as i64;
        let ts = T0 + k * 7;
        if k % 2 == 0 {
            b.transfer(ts, 1, other, 10.0);
        } else {
            b.transfer(ts, other, 1, 10.0);
        }
    }
    let d = b.entity("device", "GATEWAY");
    for a in 1..=n as i64 {
        b.uses(a, d, T0);
    }
    let ws = b.finish();
    let started = std::time::Instant::now();
    let report = score(ws.conn(), &ScoreOptions::default());
    assert_sane(&report, n);
    assert!(
        started.elapsed().as_secs() < 120,
        "took {:?}",
        started.elapsed()
    );
    assert!(report.clusters.iter().all(|c| c.members.len() <= 200));
}

/// Re-queries SQLite for the facts behind a reason.
fn check_evidence(
    conn: &Connection,
    report: &ScoreReport,
    ev: &Evidence,
    ds: &sightline::fraud::dataset::Dataset,
) {
    let tx_db = |t: u32| ds.tx.db_id[t as usize];
    match ev {
        Evidence::SharedEntity {
            entity,
            accounts,
            first_ts_secs,
            last_ts_secs,
        } => {
            let entity_db = ds.entities.db_id[*entity as usize];
            let mut st = conn
                .prepare(
                    "SELECT account_id, first_seen FROM account_entities WHERE entity_id = ?1
                     UNION SELECT src_account, min(ts) FROM transactions
                       WHERE device_id = ?1 OR ip_id = ?1 OR card_id = ?1 GROUP BY src_account",
                )
                .expect("prepare");
            let rows: Vec<(i64, i64)> = st
                .query_map([entity_db], |r| Ok((r.get(0)?, r.get(1)?)))
                .expect("query")
                .collect::<Result<_, _>>()
                .expect("rows");
            let users: HashSet<i64> = rows.iter().map(|r| r.0).collect();
            let named: HashSet<i64> = accounts
                .iter()
                .map(|&a| report.accounts[a as usize].db_id)
                .collect();
            assert_eq!(users, named, "accounts sharing entity {entity_db}");
            let lo = rows.iter().map(|r| r.1).min().expect("rows");
            let hi = rows.iter().map(|r| r.1).max().expect("rows");
            assert_eq!((Some(lo), Some(hi)), (*first_ts_secs, *last_ts_secs));
        }
        Evidence::Cycle { accounts, tx } => {
            let mut prev_ts = i64::MIN;
            for (k, &t) in tx.iter().enumerate() {
                let (src, dst, ts): (i64, i64, i64) = conn
                    .query_row(
                        "SELECT src_account, dst_account, ts FROM transactions WHERE id = ?1",
                        [tx_db(t)],
                        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                    )
                    .expect("cycle hop");
                let want_src = report.accounts[accounts[k] as usize].db_id;
                let want_dst = report.accounts[accounts[(k + 1) % accounts.len()] as usize].db_id;
                assert_eq!((src, dst), (want_src, want_dst), "hop {k}");
                assert!(ts >= prev_ts, "hops in time order");
                prev_ts = ts;
            }
        }
        Evidence::CardBurst { merchant, tx } => {
            let first = ds.tx.ts_secs[tx[0] as usize];
            let last = ds.tx.ts_secs[tx[tx.len() - 1] as usize];
            let count: i64 = conn
                .query_row(
                    "SELECT count(*) FROM transactions WHERE merchant_id = ?1 AND ts BETWEEN ?2 AND ?3",
                    rusqlite::params![ds.entities.db_id[*merchant as usize], first, last],
                    |r| r.get(0),
                )
                .expect("burst count");
            assert_eq!(count as usize, tx.len());
        }
        Evidence::FanIn(h) => {
            let center = report.accounts[h.center as usize].db_id;
            let mut total = 0.0;
            for &t in &h.tx {
                let (dst, amount): (i64, f64) = conn
                    .query_row(
                        "SELECT dst_account, amount FROM transactions WHERE id = ?1",
                        [tx_db(t)],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )
                    .expect("fan-in tx");
                assert_eq!(dst, center);
                total += amount;
            }
            assert!((total - h.total_amount).abs() < 1e-6);
        }
        Evidence::Takeover {
            identifier,
            payers,
            payees,
            tx,
        } => {
            let db = |a: &u32| report.accounts[*a as usize].db_id;
            let payers: HashSet<i64> = payers.iter().map(db).collect();
            let payees: HashSet<i64> = payees.iter().map(db).collect();
            for &t in tx {
                type Row = (i64, Option<i64>, Option<i64>, Option<i64>, Option<i64>);
                let (src, dst, merchant, device, ip): Row = conn
                    .query_row(
                        "SELECT src_account, dst_account, merchant_id, device_id, ip_id FROM transactions WHERE id = ?1",
                        [tx_db(t)],
                        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
                    )
                    .expect("takeover payment");
                assert!(payers.contains(&src));
                // A payment to a payee, or a cash-out (no payee, no merchant).
                match dst {
                    Some(dst) => assert!(payees.contains(&dst)),
                    None => assert_eq!(merchant, None),
                }
                // Made on the device or from the IP address named.
                let named = Some(ds.entities.db_id[*identifier as usize]);
                assert!(device == named || ip == named);
            }
        }
        Evidence::Forwarded {
            account,
            receipt,
            onward,
            passed_on,
        } => {
            let who = report.accounts[*account as usize].db_id;
            let (dst, received_at, received): (i64, i64, f64) = conn
                .query_row(
                    "SELECT dst_account, ts, amount FROM transactions WHERE id = ?1",
                    [tx_db(*receipt)],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .expect("receipt");
            assert_eq!(dst, who, "the receipt was paid to the account");
            assert!(*passed_on > 0.0 && *passed_on <= received + 1e-6);
            let mut carried = 0.0;
            for &o in onward {
                let (src, merchant, ts, amount): (i64, Option<i64>, i64, f64) = conn
                    .query_row(
                        "SELECT src_account, merchant_id, ts, amount FROM transactions WHERE id = ?1",
                        [tx_db(o)],
                        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
                    )
                    .expect("onward payment");
                assert_eq!(src, who, "the account paid it on");
                assert_eq!(merchant, None, "a transfer or cash-out, not a purchase");
                assert!(ts >= received_at && ts - received_at <= FORWARD_WINDOW_SECS);
                carried += amount;
            }
            assert!(carried + 1e-6 >= *passed_on);
        }
        other => {
            for t in evidence_transactions(other) {
                let found: i64 = conn
                    .query_row(
                        "SELECT count(*) FROM transactions WHERE id = ?1",
                        [tx_db(t)],
                        |r| r.get(0),
                    )
                    .expect("tx exists");
                assert_eq!(found, 1);
            }
        }
    }
}

#[test]
fn reasons_name_evidence_that_sqlite_confirms() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut b = WsBuilder::new(&dir.path().join("w.sqlite"));
    let p = planted_world(&mut b, 300, false);
    let ws = b.finish();
    let report = score(ws.conn(), &ScoreOptions::default());
    let ds = sightline::fraud::dataset::Dataset::load(ws.conn()).expect("load");
    let mut checked = std::collections::BTreeMap::new();
    for r in report
        .accounts
        .iter()
        .flat_map(|a| &a.reasons)
        .chain(report.clusters.iter().flat_map(|c| &c.reasons))
    {
        if let Some(ev) = &r.evidence {
            let kind = format!("{:?}", std::mem::discriminant(ev));
            let n = checked.entry(kind).or_insert(0usize);
            if *n < 20 {
                check_evidence(ws.conn(), &report, ev, &ds);
                *n += 1;
            }
        }
    }
    assert!(checked.len() >= 3, "checked kinds: {checked:?}");
    // The cycle's members pass its money on: each says so with the transfers as evidence.
    let forwarding = report
        .accounts
        .iter()
        .flat_map(|a| &a.reasons)
        .filter(|r| matches!(r.evidence, Some(Evidence::Forwarded { .. })))
        .inspect(|r| assert!(r.text.contains(" passed on $"), "{}", r.text))
        .count();
    assert!(forwarding >= 2, "{forwarding} forwarding reasons");
    // An account's reason names the account, or says it is its cluster's evidence.
    let mut member_reasons = 0;
    for a in &report.accounts {
        for r in &a.reasons {
            let Some(ev) = &r.evidence else { continue };
            if r.text
                .starts_with(sightline::fraud::reasons::CLUSTER_MEMBER_PREFIX)
            {
                member_reasons += 1;
                // "member of cluster 12 (…": that cluster holds the account.
                let id: u32 = r.text[sightline::fraud::reasons::CLUSTER_MEMBER_PREFIX.len()..]
                    .split_whitespace()
                    .next()
                    .and_then(|w| w.parse().ok())
                    .unwrap_or_else(|| panic!("no cluster id in {}", r.text));
                let c = report
                    .clusters
                    .iter()
                    .find(|c| c.id == id)
                    .expect("cluster");
                assert!(c.members.contains(&a.account), "{}", r.text);
            } else {
                assert!(
                    sightline::fraud::reasons::involves(&ds, ev, a.account),
                    "reason of {} does not name it: {}",
                    a.ext_id,
                    r.text
                );
            }
        }
    }
    println!("{member_reasons} account reasons quote their cluster's evidence");
    // The sentences name what the analyst needs.
    let texts: Vec<&str> = report
        .clusters
        .iter()
        .flat_map(|c| c.reasons.iter().map(|r| r.text.as_str()))
        .collect();
    assert!(
        texts
            .iter()
            .any(|t| t.contains("6 accounts share device D-1042")),
        "{texts:#?}"
    );
    assert!(
        texts
            .iter()
            .any(|t| t.starts_with("funds cycle") && t.contains("$9,800")),
        "{texts:#?}"
    );
    assert!(
        texts
            .iter()
            .any(|t| t.contains("28 card attempts at merchant M-77")),
        "{texts:#?}"
    );
    let _ = p;
}
