//! Rapid relays: groups of accounts that pass money on within days of receiving it — a chain
//! (A pays B, B passes it on to C, C passes it on again) or a fan (one account pays several
//! that each pass most of it on at once, or one account passes on what several paid it).
//! This is how mule networks layer money, whatever shape the ring has.
//!
//! A relay link is a transfer whose receiver passed on at least
//! [`FORWARDED_SHARE`](crate::fraud::forwarding::FORWARDED_SHARE) of it within the forwarding
//! window; groups are the connected components of those links.

use super::{Candidate, Typology};
use crate::fraud::csr::UnionFind;
use crate::fraud::dataset::{AccountEvents, Dataset};
use crate::fraud::forwarding::{FORWARDED_SHARE, largest_forward};
use crate::fraud::graph::TxGraph;

/// Smallest transfer that counts as a relay link (in the data's currency).
const MIN_LINK_AMOUNT: f64 = 500.0;
/// A link's payer paid its receiver at most this many times in all (one-off money, not wages
/// or rent).
const MAX_PAIR_TRANSFERS: u32 = 2;
/// Accounts in a group at least.
const MIN_GROUP: usize = 3;
/// Larger groups are a busy corner of the economy rather than a ring; they are not reported.
const MAX_GROUP: usize = 30;
/// Relaying accounts quoted as evidence per group at most.
const MAX_EVIDENCE: usize = 5;

/// Finds relay groups from the amounts each transfer's receiver passed on (`forwarded`,
/// indexed like `ds.tx`) and each account's transactions (`events`). Only one-off
/// transfers count as links: a payer's recurring payments passed on are ordinary budgeting.
pub fn detect_relays(
    ds: &Dataset,
    g: &TxGraph,
    forwarded: &[f64],
    events: &AccountEvents,
) -> Vec<Candidate> {
    let tx = &ds.tx;
    let n = ds.n_accounts();
    // Transfers on a pair: recurring payments (wages, rent) passed on are ordinary budgeting.
    let pair_count = |a: u32, b: u32| -> u32 {
        let out = g.money.out_pairs(a);
        out.binary_search_by_key(&b, |p| p.dst)
            .map_or(0, |k| out[k].count)
    };
    let mut links: Vec<(u32, u32)> = (0..tx.len())
        .filter(|&i| {
            tx.amount[i] >= MIN_LINK_AMOUNT
                && forwarded[i] >= FORWARDED_SHARE * tx.amount[i]
                && pair_count(tx.src[i], tx.dst[i]) <= MAX_PAIR_TRANSFERS
        })
        .map(|i| (tx.src[i], tx.dst[i]))
        .collect();
    let mut uf = UnionFind::new(n);
    for &(a, b) in &links {
        uf.union(a, b);
    }
    let comps = uf.components();
    // Per account: distinct accounts it paid that relayed, and that paid it and it relayed.
    links.sort_unstable();
    links.dedup();
    let mut relayed_payees = vec![0u32; n];
    let mut relayed_payers = vec![0u32; n];
    for &(a, b) in &links {
        relayed_payees[a as usize] += 1;
        relayed_payers[b as usize] += 1;
    }
    let mut groups: Vec<Vec<u32>> = vec![Vec::new(); comps.sizes.len()];
    for (v, &c) in comps.id.iter().enumerate() {
        if relayed_payees[v] > 0 || relayed_payers[v] > 0 {
            groups[c as usize].push(v as u32);
        }
    }
    let mut out = Vec::new();
    for members in groups {
        if members.len() < MIN_GROUP || members.len() > MAX_GROUP {
            continue;
        }
        // A chain: someone relayed money and also paid an account that relayed it on.
        let chain = members
            .iter()
            .any(|&v| relayed_payers[v as usize] > 0 && relayed_payees[v as usize] > 0);
        let fan = members
            .iter()
            .any(|&v| relayed_payees[v as usize] >= 2 || relayed_payers[v as usize] >= 2);
        if !chain && !fan {
            continue;
        }
        let evidence = members
            .iter()
            .filter(|&&v| relayed_payers[v as usize] > 0)
            .filter_map(|&v| largest_forward(ds, v, events.of(v)))
            .take(MAX_EVIDENCE)
            .collect();
        let strength =
            0.5 + if chain { 0.15 } else { 0.0 } + 0.05 * (members.len() - MIN_GROUP).min(4) as f64;
        out.push(Candidate {
            typology: Typology::RapidRelay,
            members,
            strength,
            evidence,
        });
    }
    out
}
