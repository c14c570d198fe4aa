//! Detectors and label-derived features on tiny hand-made datasets.

mod common;

use std::sync::atomic::AtomicBool;

use common::*;
use sightline::fraud::dataset::{EntityKind, IdentityEdge, Label};
use sightline::fraud::detect::{
    Candidate, DetectOptions, Evidence, Typology, detect_all, detect_cycles, detect_fans,
    merge_candidates,
};
use sightline::fraud::features::{FeatureContext, label_features, out_of_fold_label_features};
use sightline::fraud::graph::TxGraph;
use sightline::fraud::model::{NO_FOLD, grouped_folds};
use sightline::fraud::score::{ScoreOptions, cv_fold_assignment};

#[test]
fn cycle_finder_finds_time_ordered_cycles_and_respects_its_bounds() {
    // 0→1→2→0 in time order; 3→4→5→3 out of order (not a flow of funds).
    let ds = dataset_from_transfers(
        6,
        &[
            (T0, 0, 1, 1000.0),
            (T0 + HOUR, 1, 2, 990.0),
            (T0 + 2 * HOUR, 2, 0, 980.0),
            (T0 + 2 * HOUR, 3, 4, 500.0),
            (T0 + HOUR, 4, 5, 500.0),
            (T0, 5, 3, 500.0),
        ],
    );
    let g = TxGraph::build(&ds);
    let hits = detect_cycles(&ds, &g, &DetectOptions::default());
    assert_eq!(hits.candidates.len(), 1);
    assert_eq!(hits.candidates[0].members, vec![0, 1, 2]);

    // A ring of 8 is within the default bound (AMLSim cycles run to 10 accounts); a bound of 6
    // misses it.
    let ring: Vec<(i64, u32, u32, f64)> = (0..8u32)
        .map(|k| (T0 + i64::from(k) * HOUR, k, (k + 1) % 8, 100.0))
        .collect();
    let ds = dataset_from_transfers(8, &ring);
    let g = TxGraph::build(&ds);
    assert_eq!(
        detect_cycles(&ds, &g, &DetectOptions::default())
            .candidates
            .len(),
        1
    );
    let short = DetectOptions {
        max_cycle_len: 6,
        ..Default::default()
    };
    assert!(detect_cycles(&ds, &g, &short).candidates.is_empty());

    // The step bound stops a dense clique from exploding.
    let mut clique = Vec::new();
    for a in 0..30u32 {
        for b in 0..30u32 {
            if a != b {
                clique.push((T0 + i64::from(a * 30 + b), a, b, 10.0));
            }
        }
    }
    let ds = dataset_from_transfers(30, &clique);
    let g = TxGraph::build(&ds);
    let tight = DetectOptions {
        cycle_steps_per_start: 50,
        ..Default::default()
    };
    let hits = detect_cycles(&ds, &g, &tight);
    assert!(hits.candidates.len() <= 30 * 16);
    assert!(hits.notes.iter().any(|n| n.contains("step bound")));
}

#[test]
fn fan_in_and_fan_out_windows_and_the_hub_guard() {
    let mut t = Vec::new();
    // Fan-in: 6 payers to account 0 within a day.
    for k in 1..=6u32 {
        t.push((T0 + i64::from(k) * HOUR, k, 0, 1000.0));
    }
    // Fan-out spread over 60 days never has 3 payees in a week.
    for k in 0..5u32 {
        t.push((T0 + i64::from(k) * 20 * DAY, 7, 8 + k, 100.0));
    }
    // A hub pays 100 accounts on one day: a payroll run, not a ring.
    for k in 0..100u32 {
        t.push((T0 + i64::from(k), 20, 21 + k, 2500.0));
    }
    let ds = dataset_from_transfers(130, &t);
    let g = TxGraph::build(&ds);
    let fans = detect_fans(&ds, &g, &DetectOptions::default());
    assert_eq!(fans.fan_in.len(), 1);
    assert_eq!(fans.fan_in[0].center, 0);
    assert_eq!(fans.fan_in[0].counterparties, vec![1, 2, 3, 4, 5, 6]);
    assert!(fans.fan_out.iter().all(|h| h.center != 7));
    assert!(fans.fan_out.iter().all(|h| h.center != 20));
    assert_eq!(fans.peaks_out, vec![(20, 100)]);
}

#[test]
fn cycle_search_spends_its_step_bound_on_prompt_hops_first() {
    // 0 → 41 → 42 → 0 within two hours; 41 also pays 40 accounts five days later, each of which
    // starts a long chain. Those come first in the graph's order and would use up a small step
    // bound before the hop to 42 is tried.
    let mut t = vec![
        (T0, 0, 41, 1000.0),
        (T0 + HOUR, 41, 42, 980.0),
        (T0 + 2 * HOUR, 42, 0, 960.0),
    ];
    for k in 1..=40u32 {
        t.push((T0 + 5 * DAY, 41, k, 300.0));
        if k < 40 {
            t.push((T0 + 6 * DAY, k, k + 1, 290.0));
        }
    }
    let ds = dataset_from_transfers(43, &t);
    let g = TxGraph::build(&ds);
    let tight = DetectOptions {
        cycle_steps_per_start: 20,
        ..Default::default()
    };
    let hits = detect_cycles(&ds, &g, &tight);
    assert!(
        hits.candidates.iter().any(|c| c.members == vec![0, 41, 42]),
        "{:?}",
        hits.candidates
    );
}

/// Transfers among accounts 100..160 with sizes spread over $100–$2,000: the workspace's mix.
fn background(t: &mut Vec<(i64, u32, u32, f64)>) {
    for k in 0..400u32 {
        let from = 100 + k % 60;
        let to = 100 + (k * 7 + 3) % 60;
        if from != to {
            let amount = 100.0 + f64::from((k * 37) % 1900);
            t.push((T0 + i64::from(k) * 6 * HOUR, from, to, amount));
        }
    }
}

#[test]
fn look_alike_fan_spread_over_weeks_is_found_and_a_bill_collector_is_not() {
    let mut t = Vec::new();
    background(&mut t);
    // A quiet account receives six one-off payments of about $500, four days apart: never three
    // in a week, so no time-window fan, but six alike sizes in three weeks.
    for k in 0..6u32 {
        let amount = 490.0 + f64::from(k) * 4.0;
        t.push((T0 + i64::from(k) * 4 * DAY, 1 + k, 0, amount));
    }
    // A bill collector: the same ten customers each month, with amounts that vary widely.
    for month in 0..4u32 {
        for c in 0..10u32 {
            let amount = 100.0 + f64::from((c * 173 + month * 311) % 1900);
            t.push((T0 + i64::from(month * 30 + c % 5) * DAY, 20 + c, 10, amount));
        }
    }
    let ds = dataset_from_transfers(170, &t);
    let g = TxGraph::build(&ds);
    let fans = detect_fans(&ds, &g, &DetectOptions::default());
    let quiet: Vec<_> = fans.fan_in.iter().filter(|h| h.center == 0).collect();
    assert_eq!(quiet.len(), 1, "{:?}", fans.fan_in);
    let alike = quiet[0].alike.expect("a look-alike episode");
    assert_eq!(quiet[0].counterparties, vec![1, 2, 3, 4, 5, 6]);
    assert!(alike.surprise >= 3.0, "{alike:?}");
    assert!(
        fans.fan_in
            .iter()
            .all(|h| h.center != 10 || h.alike.is_none()),
        "the bill collector's customers are not a look-alike fan: {:?}",
        fans.fan_in
    );
}

#[test]
fn hub_centred_hits_merge_only_when_they_share_enough() {
    let fan = |members: Vec<u32>| Candidate {
        typology: Typology::FanIn,
        members,
        strength: 0.5,
        evidence: Vec::new(),
    };
    // Two fans sharing one payer stay two rings; a fan that repeats most of another merges.
    let cands = vec![
        fan(vec![0, 1, 2, 3]),
        fan(vec![3, 4, 5, 6]),
        fan(vec![0, 1, 2, 7]),
    ];
    let clusters = merge_candidates(&cands, 100);
    let mut members: Vec<Vec<u32>> = clusters.iter().map(|c| c.members.clone()).collect();
    members.sort();
    assert_eq!(members, vec![vec![0, 1, 2, 3, 7], vec![3, 4, 5, 6]]);
    // Cycles sharing an account still merge: a ring's cycles run through each other.
    let cycle = |members: Vec<u32>| Candidate {
        typology: Typology::Cycle,
        ..fan(members)
    };
    let clusters = merge_candidates(&[cycle(vec![0, 1, 2]), cycle(vec![2, 3, 4])], 100);
    assert_eq!(clusters.len(), 1);
}

#[test]
fn card_testing_burst_is_found_and_a_busy_merchant_is_not() {
    let mut ds = dataset_from_transfers(10, &[]);
    let merchant = add_entity(&mut ds, EntityKind::Merchant, "M-77");
    let busy = add_entity(&mut ds, EntityKind::Merchant, "M-1");
    let mut rows: Vec<(i64, u32, u32, f64, bool, u32)> = Vec::new();
    // 28 attempts in 4 minutes, most declined, many cards.
    for k in 0..28u32 {
        let card = add_entity(&mut ds, EntityKind::Card, &format!("C-{k}"));
        rows.push((
            T0 + i64::from(k) * 8,
            k % 2,
            merchant,
            1.0,
            k % 3 != 0,
            card,
        ));
    }
    // A busy shop: 12 sales every 10 minutes all day, approved, normal amounts.
    for k in 0..(12 * 6 * 24) {
        rows.push((
            T0 + i64::from(k) * 50,
            2 + k % 8,
            busy,
            40.0,
            false,
            sightline::fraud::dataset::NONE,
        ));
    }
    rows.sort_by_key(|r| r.0);
    let tx = &mut ds.tx;
    for (i, r) in rows.iter().enumerate() {
        tx.db_id.push(i as i64 + 1);
        tx.ts_secs.push(r.0);
        tx.src.push(r.1);
        tx.dst.push(sightline::fraud::dataset::NONE);
        tx.merchant.push(r.2);
        tx.amount.push(r.3);
        tx.declined.push(r.4);
        tx.device.push(sightline::fraud::dataset::NONE);
        tx.ip.push(sightline::fraud::dataset::NONE);
        tx.card.push(r.5);
        tx.promo.push(sightline::fraud::dataset::NONE);
    }
    let bursts = sightline::fraud::detect::detect_card_bursts(&ds, &DetectOptions::default());
    assert_eq!(bursts.len(), 1, "{bursts:?}");
    assert_eq!(bursts[0].typology, Typology::CardTesting);
    match &bursts[0].evidence[0] {
        Evidence::CardBurst { merchant: m, tx } => {
            assert_eq!(*m, merchant);
            assert_eq!(tx.len(), 28);
        }
        other => panic!("unexpected evidence {other:?}"),
    }
}

fn ring_world() -> sightline::fraud::dataset::Dataset {
    // Three rings of four accounts sharing a device each, plus 40 loosely connected accounts.
    let mut t = Vec::new();
    let mut rng = Lcg(11);
    for _ in 0..200 {
        let a = rng.below(52) as u32;
        let b = rng.below(52) as u32;
        if a != b {
            t.push((T0 + rng.below(30 * DAY as u64) as i64, a, b, 50.0));
        }
    }
    let mut ds = dataset_from_transfers(52, &t);
    for r in 0..3u32 {
        let d = add_entity(&mut ds, EntityKind::Device, &format!("D-{r}"));
        for k in 0..4u32 {
            ds.identity.push(IdentityEdge {
                account: 40 + r * 4 + k,
                entity: d,
                first_seen_secs: Some(T0),
                last_seen_secs: Some(T0),
                uses: 1,
            });
        }
    }
    ds.identity.sort_by_key(|e| (e.account, e.entity));
    for v in 0..52usize {
        ds.labels[v] = if v >= 40 {
            if v % 2 == 0 {
                Label::Fraud
            } else {
                Label::Legit
            }
        } else if v % 3 == 0 {
            Label::Legit
        } else {
            Label::Unknown
        };
    }
    ds
}

#[test]
fn grouped_folds_never_split_a_component_between_train_and_test() {
    let ds = ring_world();
    let (groups, folds) = cv_fold_assignment(&ds, &ScoreOptions::default());
    for a in 0..ds.n_accounts() {
        for b in 0..ds.n_accounts() {
            if groups[a] == groups[b] && folds[a] != NO_FOLD && folds[b] != NO_FOLD {
                assert_eq!(folds[a], folds[b], "accounts {a} and {b} share a component");
            }
        }
    }
    // Each device ring is one component.
    for r in 0..3usize {
        let base = 40 + r * 4;
        assert!((base..base + 4).all(|v| groups[v] == groups[base]));
    }
    assert!(
        grouped_folds(&groups, &ds.labels, 3, 1)
            .iter()
            .any(|&f| f != NO_FOLD)
    );
}

#[test]
fn label_features_of_held_out_accounts_ignore_their_own_labels() {
    let mut ds = ring_world();
    let g = TxGraph::build(&ds);
    let money = g.money_undirected(ds.n_accounts());
    let det = detect_all(
        &ds,
        &g,
        &money,
        &DetectOptions::default(),
        &AtomicBool::new(false),
    )
    .expect("not cancelled");
    let held_out: Vec<u32> = vec![40, 44, 45, 3];
    let train: Vec<u32> = (0..52u32)
        .filter(|v| !held_out.contains(v) && ds.labels[*v as usize] != Label::Unknown)
        .collect();
    let features = |ds: &sightline::fraud::dataset::Dataset| {
        let ctx = FeatureContext::new(ds, &g, &det, &money);
        let mut known = ds.labels.clone();
        for &v in &held_out {
            known[v as usize] = Label::Unknown;
        }
        out_of_fold_label_features(&ctx, &known, &train, 3, 9)
    };
    let before = features(&ds);
    for &v in &held_out {
        ds.labels[v as usize] = match ds.labels[v as usize] {
            Label::Fraud => Label::Legit,
            _ => Label::Fraud,
        };
    }
    let after = features(&ds);
    for (c, name) in before.names.iter().enumerate() {
        for &v in &held_out {
            assert_eq!(
                before.columns[c][v as usize], after.columns[c][v as usize],
                "{name} of held-out account {v} moved"
            );
        }
    }
    // And a training row's own label never reaches its own label features.
    let ctx = FeatureContext::new(&ds, &g, &det, &money);
    let mut flipped = ds.labels.clone();
    let v = 42usize;
    flipped[v] = Label::Legit;
    let mut hidden = ds.labels.clone();
    hidden[v] = Label::Unknown;
    let with_own = label_features(&ctx, &ds.labels);
    let without = label_features(&ctx, &hidden);
    let flipped_f = label_features(&ctx, &flipped);
    let ppr = with_own.index_of("ppr_fraud").expect("column");
    assert!(
        with_own.columns[ppr][v] > without.columns[ppr][v],
        "own seed would leak through PageRank"
    );
    assert!(flipped_f.columns[ppr][v] <= without.columns[ppr][v] + 1e-6);
}

#[test]
fn forwarding_matches_money_passed_on_soon_oldest_first() {
    use sightline::fraud::forwarding::{forwarded_amounts, forwarding_features};
    const H: i64 = 3_600;
    const D: i64 = 86_400;
    let ds = dataset_from_transfers(
        10,
        &[
            // A mule: 9,600 in, 9,000 on a day later.
            (0, 0, 1, 9_600.0),
            (D, 1, 2, 9_000.0),
            // Kept for ten days: not forwarded.
            (0, 3, 4, 5_000.0),
            (10 * D, 4, 5, 5_000.0),
            // Oldest first: 100 then 950 of 1,000 are passed on by one payment of 1,050.
            (0, 7, 6, 100.0),
            (H, 8, 6, 1_000.0),
            (2 * H, 6, 9, 1_050.0),
        ],
    );
    let fwd = forwarded_amounts(&ds, &ds.account_events());
    let amount_of = |src: u32, dst: u32| {
        let i = (0..ds.tx.len())
            .find(|&i| ds.tx.src[i] == src && ds.tx.dst[i] == dst)
            .expect("transfer");
        fwd[i]
    };
    assert!((amount_of(0, 1) - 9_000.0).abs() < 1e-9);
    assert_eq!(
        amount_of(3, 4),
        0.0,
        "money kept ten days was not forwarded"
    );
    assert!((amount_of(7, 6) - 100.0).abs() < 1e-9);
    assert!((amount_of(8, 6) - 950.0).abs() < 1e-9);
    // Outgoing payments are never receipts.
    assert_eq!(amount_of(1, 2), 0.0);
    let f = forwarding_features(&ds, &fwd);
    assert!((f.received_forwarded_max[1] - 9_001f32.ln()).abs() < 1e-4);
    assert!((f.received_forwarded_share[1] - 9_000.0 / 9_600.0).abs() < 1e-4);
    assert_eq!(f.received_forwarded_max[4], 0.0);
    // Payers whose payees passed on at least 80 % of a payment.
    assert_eq!(f.sent_forwarded_payees[0], 1.0);
    assert_eq!(f.sent_forwarded_payees[7], 1.0);
    assert_eq!(f.sent_forwarded_payees[8], 1.0);
    assert_eq!(f.sent_forwarded_payees[3], 0.0);
    assert_eq!(f.sent_forwarded_amount[3], 0.0);
}

#[test]
fn takeover_finds_accounts_drained_on_their_payees_device() {
    use sightline::fraud::dataset::NONE;
    use sightline::fraud::detect::detect_takeovers;
    const D: i64 = 86_400;
    // (ts, src, dst, amount, device name)
    let mut rows: Vec<(i64, u32, u32, f64, &str)> = vec![
        // The taker (0) uses its kit K itself first.
        (T0, 0, 5, 20.0, "K"),
        // Victims 1 and 2 pay on their own phones for weeks…
        // …then are drained to 0 on K.
        (T0 + 30 * D, 1, 0, 900.0, "K"),
        (T0 + 31 * D, 2, 0, 1_200.0, "K"),
        (T0 + 31 * D + 60, 2, 0, 700.0, "K"),
        // Victim 10 is emptied straight to cash on K; the taker's own cash-out (all it took,
        // two days later) is not a victim's, nor is one on K two months after the drain.
        (T0 + 32 * D + 3_600, 10, NONE, 800.0, "K"),
        (T0 + 33 * D, 0, NONE, 2_800.0, "K"),
        (T0 + 95 * D, 11, NONE, 300.0, "K"),
        // A family tablet F is the main device of both parent 3 and child 4: not foreign.
        (T0 + 32 * D, 4, 3, 50.0, "F"),
        (T0 + 33 * D, 3, 4, 50.0, "F"),
        // One payer on another account's device is not a ring.
        (T0 + 34 * D, 8, 9, 20.0, "P"),
        (T0 + 35 * D, 7, 8, 400.0, "P"),
    ];
    for k in 0..10 {
        rows.push((T0 + k * D + 100, 1, 6, 30.0, "V1"));
        rows.push((T0 + k * D + 200, 2, 6, 30.0, "V2"));
        rows.push((T0 + k * D + 300, 3, 6, 30.0, "F"));
        rows.push((T0 + k * D + 400, 4, 6, 30.0, "F"));
        rows.push((T0 + k * D + 500, 7, 6, 30.0, "V7"));
        rows.push((T0 + k * D + 600, 10, 6, 30.0, "V10"));
        rows.push((T0 + k * D + 700, 11, 6, 30.0, "V11"));
    }
    let transfers: Vec<(i64, u32, u32, f64)> = rows.iter().map(|r| (r.0, r.1, r.2, r.3)).collect();
    let mut ds = dataset_from_transfers(12, &transfers);
    let mut names: Vec<&str> = rows.iter().map(|r| r.4).collect();
    names.sort_unstable();
    names.dedup();
    let ids: Vec<u32> = names
        .iter()
        .map(|n| add_entity(&mut ds, EntityKind::Device, n))
        .collect();
    let device_of = |name: &str| ids[names.iter().position(|n| *n == name).expect("name")];
    for i in 0..ds.tx.len() {
        let r = rows.iter().find(|r| r.0 == ds.tx.ts_secs[i]).expect("row");
        ds.tx.device[i] = device_of(r.4);
    }
    let hits = detect_takeovers(&ds, &[]);
    assert_eq!(hits.len(), 1, "{hits:?}");
    let hit = &hits[0];
    assert_eq!(hit.typology, Typology::AccountTakeover);
    assert_eq!(hit.members, vec![0, 1, 2, 10]);
    match &hit.evidence[0] {
        Evidence::Takeover {
            identifier,
            payers,
            payees,
            tx,
        } => {
            assert_eq!(*identifier, device_of("K"));
            assert_eq!(payers, &vec![1, 2, 10]);
            assert_eq!(payees, &vec![0]);
            assert_eq!(tx.len(), 4);
            assert!(tx.is_sorted_by_key(|&t| ds.tx.ts_secs[t as usize]));
            // Drains of 25–40× the victims' usual $30, withdrawn at once, keep the full
            // strength for 3 victims…
            assert!((hit.strength - 0.6).abs() < 1e-9, "{}", hit.strength);
            // …money the taker keeps leaves 70% of the share not cashed out by the victims
            // themselves ($2,800 of $3,600 stays put): 0.6 × (0.7 + 0.3 × 800 / 3600).
            let mut kept = ds.clone();
            let withdrawal = (0..kept.tx.len())
                .find(|&i| kept.tx.src[i] == 0 && kept.tx.dst[i] == NONE)
                .expect("the taker's withdrawal");
            kept.tx.ts_secs[withdrawal] += 10 * D;
            let held = detect_takeovers(&kept, &[]);
            let expected = 0.6 * (0.7 + 0.3 * 800.0 / 3_600.0);
            assert!(
                (held[0].strength - expected).abs() < 1e-9,
                "{}",
                held[0].strength
            );
            // …moves of their usual size keep 60% of it.
            let mut usual = ds.clone();
            for &t in tx {
                usual.tx.amount[t as usize] = 30.0;
            }
            let weak = detect_takeovers(&usual, &[]);
            assert!(
                (weak[0].strength - 0.36).abs() < 1e-9,
                "{}",
                weak[0].strength
            );
        }
        other => panic!("{other:?}"),
    }
    // A hub identifier (public Wi-Fi, a shop's kiosk) links nobody.
    assert!(detect_takeovers(&ds, &[device_of("K")]).is_empty());
}

#[test]
fn takeover_links_victims_drained_on_two_devices_of_one_kit_through_its_ip() {
    use sightline::fraud::dataset::NONE;
    use sightline::fraud::detect::detect_takeovers;
    const D: i64 = 86_400;
    // (ts, src, dst, amount, device, IP). The taker 0 has two phones, K1 and K2, behind one
    // connection X. Victim 1 is drained to 0 on K1, victim 2 straight to cash on K2: each
    // device alone has one victim, which is no ring; the IP has both.
    let mut rows: Vec<(i64, u32, u32, f64, &str, &str)> = vec![
        (T0, 0, 5, 20.0, "K1", "X"),
        (T0 + D, 0, 5, 20.0, "K2", "X"),
        (T0 + 30 * D, 1, 0, 900.0, "K1", "X"),
        (T0 + 31 * D, 2, NONE, 1_400.0, "K2", "X"),
    ];
    for k in 0..10 {
        rows.push((T0 + k * D + 100, 1, 6, 30.0, "P1", "H1"));
        rows.push((T0 + k * D + 200, 2, 6, 30.0, "P2", "H2"));
    }
    let transfers: Vec<(i64, u32, u32, f64)> = rows.iter().map(|r| (r.0, r.1, r.2, r.3)).collect();
    let mut ds = dataset_from_transfers(7, &transfers);
    let entity =
        |kind: EntityKind, name: &str, ds: &mut sightline::fraud::dataset::Dataset| match (0..ds
            .entities
            .value
            .len())
            .find(|&j| ds.entities.value[j] == name)
        {
            Some(j) => j as u32,
            None => add_entity(ds, kind, name),
        };
    for i in 0..ds.tx.len() {
        let r = *rows.iter().find(|r| r.0 == ds.tx.ts_secs[i]).expect("row");
        ds.tx.device[i] = entity(EntityKind::Device, r.4, &mut ds);
        ds.tx.ip[i] = entity(EntityKind::Ip, r.5, &mut ds);
    }
    let hits = detect_takeovers(&ds, &[]);
    assert_eq!(hits.len(), 1, "{hits:?}");
    assert_eq!(hits[0].members, vec![0, 1, 2]);
    let Evidence::Takeover {
        identifier, payers, ..
    } = &hits[0].evidence[0]
    else {
        panic!("{:?}", hits[0].evidence);
    };
    assert_eq!(ds.entities.value[*identifier as usize], "X");
    assert_eq!(payers, &vec![1, 2]);
}

#[test]
fn relays_group_one_off_money_passed_on_and_leave_wages_and_rent_alone() {
    use sightline::fraud::detect::detect_relays;
    use sightline::fraud::forwarding::forwarded_amounts;
    const H: i64 = 3_600;
    const D: i64 = 86_400;
    let mut t = vec![
        // A chain: 0 → 1 → 2 → 3, 1 and 2 each passing the money on within a day.
        (T0, 0, 1, 5_000.0),
        (T0 + 20 * H, 1, 2, 4_900.0),
        (T0 + 40 * H, 2, 3, 4_800.0),
        // A fan: 4 pays 5 and 6 once each; both pass it on at once.
        (T0, 4, 5, 2_000.0),
        (T0 + 2 * H, 4, 6, 2_000.0),
        (T0 + 5 * H, 5, 10, 1_900.0),
        (T0 + 6 * H, 6, 11, 1_950.0),
        // A small chain under the amount floor.
        (T0, 12, 13, 100.0),
        (T0 + H, 13, 14, 100.0),
        (T0 + 2 * H, 14, 15, 100.0),
    ];
    // Wages passed on as rent every month: 7 pays 8, 8 pays 9 (its landlord), 9 pays 16.
    for m in 0..3 {
        t.push((T0 + m * 30 * D, 7, 8, 2_500.0));
        t.push((T0 + m * 30 * D + D, 8, 9, 2_400.0));
        t.push((T0 + m * 30 * D + 2 * D, 9, 16, 2_300.0));
    }
    let ds = dataset_from_transfers(17, &t);
    let g = TxGraph::build(&ds);
    let events = ds.account_events();
    let fwd = forwarded_amounts(&ds, &events);
    let hits = detect_relays(&ds, &g, &fwd, &events);
    let mut groups: Vec<Vec<u32>> = hits.iter().map(|c| c.members.clone()).collect();
    groups.sort();
    // 3 keeps what it got: it is where the chain ends, not a relay.
    assert_eq!(groups, vec![vec![0, 1, 2], vec![4, 5, 6]], "{hits:?}");
    for c in &hits {
        assert_eq!(c.typology, Typology::RapidRelay);
        assert!(!c.evidence.is_empty());
        for e in &c.evidence {
            let Evidence::Forwarded { account, .. } = e else {
                panic!("{e:?}")
            };
            assert!(c.members.contains(account));
        }
    }
    // The chain is stronger than the fan.
    let strength = |first: u32| {
        hits.iter()
            .find(|c| c.members[0] == first)
            .map(|c| c.strength)
            .expect("group")
    };
    assert!(strength(0) > strength(4));
}
