//! Account takeover: several accounts paying the same payee from one device (or IP address)
//! that the payee used first and the payers rarely use. A fraudster who has broken into
//! accounts drains them on its own kit, so the victims' payments carry the taker's device and
//! connection, not their own. Once a
//! device drains at least one account into its own users, other accounts that cashed out on it
//! as rarely, in the same weeks, are drained victims too: the taker also empties accounts
//! straight to cash.

use super::{Candidate, Evidence, Typology};
use crate::fraud::dataset::{Dataset, NONE};

/// A device carrying under this share of an account's payments is not the account's own.
const RARE_SHARE: f64 = 0.25;
/// Nor is one its payee used first that carries at most this share of the payer's main
/// device's payments.
const SECONDARY_SHARE: f64 = 0.5;
/// Distinct payers a device must have drained into its own users to be reported.
const MIN_PAYERS: usize = 2;
/// Transactions kept as evidence per device at most.
const MAX_EVIDENCE_TX: usize = 200;
/// Cash-outs on the device count this long before its first or after its last drain payment.
const CASH_OUT_WINDOW_SECS: i64 = 30 * 86_400;
/// A payee moves drained money on (withdraws it or pays it away) within this long of its last
/// drain payment.
const ONWARD_WINDOW_SECS: i64 = 3 * 86_400;
/// Share of a hit's strength kept when none of the drained money moved on.
const STILL_MONEY_STRENGTH: f64 = 0.7;

/// Finds devices, then IP addresses, on which several accounts paid the identifier's own users
/// (or one did and others cashed out there). A kit often has several devices behind one
/// connection, so a victim drained on one of them is linked through the IP.
pub fn detect_takeovers(ds: &Dataset, hub_entities: &[u32]) -> Vec<Candidate> {
    let mut out = on_identifier(ds, &ds.tx.device, hub_entities);
    out.extend(on_identifier(ds, &ds.tx.ip, hub_entities));
    out
}

/// The detector over one identifier column of the transactions (`device` or `ip`); "device"
/// below stands for either.
fn on_identifier(ds: &Dataset, column: &[u32], hub_entities: &[u32]) -> Vec<Candidate> {
    let tx = &ds.tx;
    let n = ds.n_accounts();
    // (account, device, time) per payment the account made on a device, sorted, then
    // summed per pair: ((account, device), uses, first use).
    let mut own: Vec<(u32, u32, i64)> = (0..tx.len())
        .filter(|&i| column[i] != NONE)
        .map(|i| (tx.src[i], column[i], tx.ts_secs[i]))
        .collect();
    own.sort_unstable();
    let pairs: Vec<((u32, u32), usize, i64)> = own
        .chunk_by(|a, b| (a.0, a.1) == (b.0, b.1))
        .map(|run| ((run[0].0, run[0].1), run.len(), run[0].2))
        .collect();
    drop(own);
    // Each account's most-used device and its number of uses.
    let mut main = vec![(NONE, 0usize); n];
    let mut total = vec![0usize; n];
    for &((a, d), uses, _) in &pairs {
        total[a as usize] += uses;
        if uses > main[a as usize].1 {
            main[a as usize] = (d, uses);
        }
    }
    // When each device was first used, by anyone.
    let mut device_first = vec![i64::MAX; ds.entities.db_id.len()];
    for &((_, d), _, first) in &pairs {
        let slot = &mut device_first[d as usize];
        *slot = (*slot).min(first);
    }
    let pair = |a: u32, d: u32| -> Option<(usize, i64)> {
        pairs
            .binary_search_by(|p| p.0.cmp(&(a, d)))
            .ok()
            .map(|i| (pairs[i].1, pairs[i].2))
    };
    // Whether device `d`, which someone else used before `first_user_ts`, is foreign to
    // `src`: a small share of its payments, or one used first by another account that `src`
    // uses at most half as often as its usual one.
    let foreign = |src: u32, d: u32, first_user_ts: i64| -> bool {
        let (main_device, main_uses) = main[src as usize];
        let Some((uses, first)) = pair(src, d) else {
            return false;
        };
        main_device != d
            && ((uses as f64) < RARE_SHARE * total[src as usize] as f64
                || (first_user_ts < first && uses as f64 <= SECONDARY_SHARE * main_uses as f64))
    };
    // (device, transaction) for payments made on the payee's device, rarely the payer's, and
    // for cash-outs on a device someone else used first, rarely the account's.
    let mut hits: Vec<(u32, u32)> = Vec::new();
    let mut cash_hits: Vec<(u32, u32)> = Vec::new();
    for (i, &d) in column.iter().enumerate() {
        let (src, dst) = (tx.src[i], tx.dst[i]);
        if dst == src || d == NONE || tx.declined[i] || hub_entities.binary_search(&d).is_ok() {
            continue;
        }
        if dst == NONE {
            if tx.merchant[i] == NONE && foreign(src, d, device_first[d as usize]) {
                cash_hits.push((d, i as u32));
            }
        } else if let Some((_, payee_first)) = pair(dst, d)
            && foreign(src, d, payee_first)
        {
            hits.push((d, i as u32));
        }
    }
    cash_hits.sort_unstable();
    hits.sort_unstable();
    let mut out = Vec::new();
    for group in hits.chunk_by(|a, b| a.0 == b.0) {
        let device = group[0].0;
        let mut payees: Vec<u32> = group.iter().map(|&(_, t)| tx.dst[t as usize]).collect();
        payees.sort_unstable();
        payees.dedup();
        let mut tx_list: Vec<u32> = group.iter().map(|&(_, t)| t).collect();
        // Cash-outs by other accounts on the same device around the drain payments.
        let first = tx.ts_secs[group[0].1 as usize] - CASH_OUT_WINDOW_SECS;
        let last = tx.ts_secs[group[group.len() - 1].1 as usize] + CASH_OUT_WINDOW_SECS;
        let start = cash_hits.partition_point(|&(d, _)| d < device);
        tx_list.extend(
            cash_hits[start..]
                .iter()
                .take_while(|&&(d, _)| d == device)
                .map(|&(_, t)| t)
                .filter(|&t| {
                    let (a, ts) = (tx.src[t as usize], tx.ts_secs[t as usize]);
                    (first..=last).contains(&ts) && payees.binary_search(&a).is_err()
                }),
        );
        tx_list.sort_unstable_by_key(|&t| (tx.ts_secs[t as usize], t));
        let mut payers: Vec<u32> = tx_list.iter().map(|&t| tx.src[t as usize]).collect();
        payers.sort_unstable();
        payers.dedup();
        if payers.len() < MIN_PAYERS {
            continue;
        }
        let mut members: Vec<u32> = payers.iter().chain(&payees).copied().collect();
        members.sort_unstable();
        members.dedup();
        tx_list.truncate(MAX_EVIDENCE_TX);
        out.push(Candidate {
            typology: Typology::AccountTakeover,
            members,
            strength: (0.5 + 0.1 * (payers.len() - MIN_PAYERS) as f64).min(0.9),
            evidence: vec![Evidence::Takeover {
                identifier: device,
                payers,
                payees,
                tx: tx_list,
            }],
        });
    }
    weigh_by_size(ds, &mut out);
    weigh_by_onward(ds, &mut out);
    out
}

/// Scales each hit's strength by how much of the drained money left at once: a taker
/// withdraws or pays on what it took within days, while a housemate repaid on a shared tablet
/// keeps it. The share is the payees' withdrawals and payments to other accounts (not back to
/// the payers, not at merchants) within [`ONWARD_WINDOW_SECS`] of their last drain payment, at
/// most what each received, plus the victims' own cash-outs on the device (gone already), over
/// everything drained. None moved on keeps [`STILL_MONEY_STRENGTH`] of the strength.
fn weigh_by_onward(ds: &Dataset, hits: &mut [Candidate]) {
    let tx = &ds.tx;
    let involved = accounts_of(hits, Side::Payees);
    // Each involved payee's withdrawals and payments to accounts: (time, payee, amount).
    let mut out_moves: Vec<Vec<(i64, u32, f64)>> = vec![Vec::new(); involved.len()];
    for i in 0..tx.len() {
        if !tx.declined[i]
            && tx.merchant[i] == NONE
            && let Ok(k) = involved.binary_search(&tx.src[i])
        {
            out_moves[k].push((tx.ts_secs[i], tx.dst[i], tx.amount[i]));
        }
    }
    for c in hits.iter_mut() {
        let Evidence::Takeover {
            payers,
            payees,
            tx: moves,
            ..
        } = &c.evidence[0]
        else {
            continue;
        };
        // Per payee: what it received in the drain, and when the drain payments came.
        let mut received = vec![(0.0f64, i64::MAX, i64::MIN); payees.len()];
        let mut cashed = 0.0f64;
        for &t in moves {
            let t = t as usize;
            match payees.binary_search(&tx.dst[t]) {
                Ok(k) => {
                    let r = &mut received[k];
                    r.0 += tx.amount[t].max(0.0);
                    r.1 = r.1.min(tx.ts_secs[t]);
                    r.2 = r.2.max(tx.ts_secs[t]);
                }
                Err(_) => cashed += tx.amount[t].max(0.0),
            }
        }
        let drained = received.iter().map(|r| r.0).sum::<f64>() + cashed;
        if drained <= 0.0 {
            continue;
        }
        let mut moved = cashed;
        for (&payee, &(got, first, last)) in payees.iter().zip(&received) {
            let Ok(k) = involved.binary_search(&payee) else {
                continue;
            };
            let window = first..=last.saturating_add(ONWARD_WINDOW_SECS);
            let onward: f64 = out_moves[k]
                .iter()
                .filter(|&&(ts, to, _)| window.contains(&ts) && payers.binary_search(&to).is_err())
                .map(|&(_, _, amount)| amount.max(0.0))
                .sum();
            moved += onward.min(got);
        }
        let share = (moved / drained).clamp(0.0, 1.0);
        c.strength *= STILL_MONEY_STRENGTH + (1.0 - STILL_MONEY_STRENGTH) * share;
    }
}

/// Which accounts of a takeover hit [`accounts_of`] lists.
#[derive(Clone, Copy)]
enum Side {
    Payers,
    Payees,
}

/// The payers (or payees) of every takeover hit, sorted, each once.
fn accounts_of(hits: &[Candidate], side: Side) -> Vec<u32> {
    let mut out: Vec<u32> = hits
        .iter()
        .flat_map(|c| match (&c.evidence[0], side) {
            (Evidence::Takeover { payers, .. }, Side::Payers) => payers.as_slice(),
            (Evidence::Takeover { payees, .. }, Side::Payees) => payees.as_slice(),
            _ => &[],
        })
        .copied()
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// Scales each hit's strength by how large the moves on the device are against what the
/// accounts usually pay: a drain empties an account in a few large transfers, while a friend
/// paying back a dinner on someone else's phone moves what it always moves. Moves at 20× the
/// accounts' median payment or more keep the full strength; at their usual size, 60% of it.
fn weigh_by_size(ds: &Dataset, hits: &mut [Candidate]) {
    let tx = &ds.tx;
    let involved = accounts_of(hits, Side::Payers);
    // Each involved account's payments (all of them, any device), then their median.
    let mut paid: Vec<Vec<f64>> = vec![Vec::new(); involved.len()];
    for i in 0..tx.len() {
        if !tx.declined[i]
            && let Ok(k) = involved.binary_search(&tx.src[i])
        {
            paid[k].push(tx.amount[i]);
        }
    }
    let median: Vec<f64> = paid
        .iter_mut()
        .map(|v| {
            v.sort_unstable_by(f64::total_cmp);
            v.get(v.len() / 2).copied().unwrap_or(0.0)
        })
        .collect();
    for c in hits.iter_mut() {
        let Evidence::Takeover { tx: moves, .. } = &c.evidence[0] else {
            continue;
        };
        let mut ratios: Vec<f64> = moves
            .iter()
            .filter_map(|&t| {
                let t = t as usize;
                let k = involved.binary_search(&tx.src[t]).ok()?;
                (median[k] > 0.0).then(|| tx.amount[t] / median[k])
            })
            .collect();
        ratios.sort_unstable_by(f64::total_cmp);
        let Some(&ratio) = ratios.get(ratios.len() / 2) else {
            continue;
        };
        let size = (ratio.max(1.0).log10() / 20f64.log10()).min(1.0);
        c.strength *= 0.6 + 0.4 * size;
    }
}
