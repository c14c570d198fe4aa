//! Account takeover: several accounts paying the same payee from one device that the payee
//! used first and the payers rarely use. A fraudster who has broken into accounts drains them
//! on its own kit, so the victims' payments carry the taker's device, not their own.

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

/// Finds devices on which several accounts paid the device's own users.
pub fn detect_takeovers(ds: &Dataset, hub_entities: &[u32]) -> Vec<Candidate> {
    let tx = &ds.tx;
    let n = ds.n_accounts();
    // (account, device, time) per payment the account made on a device, sorted, then
    // summed per pair: ((account, device), uses, first use).
    let mut own: Vec<(u32, u32, i64)> = (0..tx.len())
        .filter(|&i| tx.device[i] != NONE)
        .map(|i| (tx.src[i], tx.device[i], tx.ts_secs[i]))
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
    let pair = |a: u32, d: u32| -> Option<(usize, i64)> {
        pairs
            .binary_search_by(|p| p.0.cmp(&(a, d)))
            .ok()
            .map(|i| (pairs[i].1, pairs[i].2))
    };
    // (device, transaction) for payments made on the payee's device, rarely the payer's.
    let mut hits: Vec<(u32, u32)> = Vec::new();
    for i in 0..tx.len() {
        let (src, dst, d) = (tx.src[i], tx.dst[i], tx.device[i]);
        if dst == NONE || dst == src || d == NONE || tx.declined[i] {
            continue;
        }
        if hub_entities.binary_search(&d).is_ok() {
            continue;
        }
        let (main_device, main_uses) = main[src as usize];
        let (Some((payer_uses, payer_first)), Some((_, payee_first))) =
            (pair(src, d), pair(dst, d))
        else {
            continue;
        };
        // Not the payer's own device: a small share of its payments, or one the payee used
        // first and the payer uses at most half as often as its usual one.
        let foreign = (payer_uses as f64) < RARE_SHARE * total[src as usize] as f64
            || (payee_first < payer_first
                && payer_uses as f64 <= SECONDARY_SHARE * main_uses as f64);
        if main_device != d && foreign {
            hits.push((d, i as u32));
        }
    }
    hits.sort_unstable();
    let mut out = Vec::new();
    for group in hits.chunk_by(|a, b| a.0 == b.0) {
        let device = group[0].0;
        let mut payers: Vec<u32> = group.iter().map(|&(_, t)| tx.src[t as usize]).collect();
        payers.sort_unstable();
        payers.dedup();
        if payers.len() < MIN_PAYERS {
            continue;
        }
        let mut payees: Vec<u32> = group.iter().map(|&(_, t)| tx.dst[t as usize]).collect();
        payees.sort_unstable();
        payees.dedup();
        let mut members: Vec<u32> = payers.iter().chain(&payees).copied().collect();
        members.sort_unstable();
        members.dedup();
        let mut tx_list: Vec<u32> = group.iter().map(|&(_, t)| t).collect();
        tx_list.truncate(MAX_EVIDENCE_TX);
        out.push(Candidate {
            typology: Typology::AccountTakeover,
            members,
            strength: (0.5 + 0.1 * (payers.len() - MIN_PAYERS) as f64).min(0.9),
            evidence: vec![Evidence::Takeover {
                device,
                payers,
                payees,
                tx: tx_list,
            }],
        });
    }
    out
}
