//! Rapid forwarding: how much of each incoming transfer its receiver passed on (to another
//! account or as a cash-out) soon after it arrived, the pattern of money mules and collectors.
//!
//! Each account's outgoing money (transfers and cash-outs, not merchant payments) is matched,
//! oldest first, against what it received in the preceding [`FORWARD_WINDOW_SECS`]; money that
//! waited longer counts as kept. The result is one matched amount per incoming transfer, from
//! which the features take the receiver's side (what it passed on) and the payer's side (how
//! much of what it sent was passed on, and by how many payees).

use std::collections::VecDeque;

use rayon::prelude::*;

use super::dataset::{AccountEvents, Dataset, NONE};
use super::detect::Evidence;

/// How long received money may wait and still count as forwarded.
pub const FORWARD_WINDOW_SECS: i64 = 7 * 86_400;
/// Share of an incoming transfer that must leave within the window for the payer's side to
/// count it as passed on.
pub const FORWARDED_SHARE: f64 = 0.8;

/// Per incoming transfer (indexed like `ds.tx`): the amount its receiver passed on within the
/// window; zero for merchant payments, cash-outs, declined and self transfers.
pub fn forwarded_amounts(ds: &Dataset, events: &AccountEvents) -> Vec<f64> {
    let n = ds.n_accounts();
    let per_account: Vec<Vec<(u32, f64)>> = (0..n)
        .into_par_iter()
        .map(|v| forwarded_by(ds, v as u32, events.of(v as u32)))
        .collect();
    let mut out = vec![0.0; ds.tx.len()];
    for list in per_account {
        for (t, m) in list {
            out[t as usize] = m;
        }
    }
    out
}

/// Matches account `v`'s outgoing money against its recent receipts; `events` are its
/// transactions in time order. Returns (incoming tx, outgoing tx, amount) links in the order
/// the outgoing payments were made.
fn links(ds: &Dataset, v: u32, events: &[u32]) -> Vec<(u32, u32, f64)> {
    let tx = &ds.tx;
    // (tx, arrival, amount not yet matched)
    let mut open: VecDeque<(u32, i64, f64)> = VecDeque::new();
    let mut out = Vec::new();
    for &t in events {
        let i = t as usize;
        let a = tx.amount[i];
        if tx.declined[i] || a <= 0.0 || a.is_nan() || tx.src[i] == tx.dst[i] {
            continue;
        }
        let ts = tx.ts_secs[i];
        if tx.dst[i] == v {
            open.push_back((t, ts, a));
            continue;
        }
        if tx.src[i] != v || tx.merchant[i] != NONE {
            continue;
        }
        while open
            .front()
            .is_some_and(|&(_, at, _)| ts - at > FORWARD_WINDOW_SECS)
        {
            open.pop_front();
        }
        let mut left = a;
        while left > 0.0 {
            let Some(front) = open.front_mut() else {
                break;
            };
            let take = left.min(front.2);
            front.2 -= take;
            left -= take;
            out.push((front.0, t, take));
            if front.2 <= 1e-9 {
                open.pop_front();
            }
        }
    }
    out
}

/// (incoming tx, amount passed on) for each of `v`'s receipts with some of it passed on.
fn forwarded_by(ds: &Dataset, v: u32, events: &[u32]) -> Vec<(u32, f64)> {
    per_receipt(&links(ds, v, events))
}

/// Sums links per receipt, in receipt order.
fn per_receipt(links: &[(u32, u32, f64)]) -> Vec<(u32, f64)> {
    let mut sums: Vec<(u32, f64)> = links.iter().map(|&(r, _, m)| (r, m)).collect();
    sums.sort_by_key(|&(r, _)| r);
    let mut merged: Vec<(u32, f64)> = Vec::with_capacity(sums.len());
    for (r, m) in sums {
        match merged.last_mut() {
            Some(last) if last.0 == r => last.1 += m,
            _ => merged.push((r, m)),
        }
    }
    merged
}

/// The receipt account `v` passed on most of (the earliest among equals), as evidence: the
/// incoming transfer, the outgoing payments that carried it and the amount; `events` are its
/// transactions in time order. `None` when nothing was passed on.
pub fn largest_forward(ds: &Dataset, v: u32, events: &[u32]) -> Option<Evidence> {
    let links = links(ds, v, events);
    let (receipt, passed_on) =
        per_receipt(&links)
            .into_iter()
            .fold(None, |best: Option<(u32, f64)>, r| match best {
                Some(b) if b.1 >= r.1 => Some(b),
                _ => Some(r),
            })?;
    let mut onward: Vec<u32> = links
        .iter()
        .filter(|l| l.0 == receipt)
        .map(|l| l.1)
        .collect();
    onward.dedup();
    Some(Evidence::Forwarded {
        account: v,
        receipt,
        onward,
        passed_on,
    })
}

/// Per-account forwarding features, from [`forwarded_amounts`].
pub struct ForwardingFeatures {
    /// log1p of the largest amount passed on from a single receipt.
    pub received_forwarded_max: Vec<f32>,
    /// Share of that receipt passed on (0 when nothing was).
    pub received_forwarded_share: Vec<f32>,
    /// log1p of the money this account sent that its payees passed on (each such payment
    /// counted when at least [`FORWARDED_SHARE`] of it left within the window).
    pub sent_forwarded_amount: Vec<f32>,
    /// Distinct payees that passed on a payment from this account.
    pub sent_forwarded_payees: Vec<f32>,
}

/// Aggregates the matched amounts per receiver and per payer.
pub fn forwarding_features(ds: &Dataset, forwarded: &[f64]) -> ForwardingFeatures {
    let n = ds.n_accounts();
    let tx = &ds.tx;
    let mut best = vec![(0.0f64, 0.0f64); n];
    let mut sent = vec![0.0f64; n];
    let mut payees: Vec<(u32, u32)> = Vec::new();
    for (i, &m) in forwarded.iter().enumerate() {
        if m <= 0.0 {
            continue;
        }
        let (src, dst, a) = (tx.src[i], tx.dst[i], tx.amount[i]);
        let b = &mut best[dst as usize];
        if m > b.0 {
            *b = (m, m / a);
        }
        if m >= FORWARDED_SHARE * a {
            sent[src as usize] += m;
            payees.push((src, dst));
        }
    }
    payees.sort_unstable();
    payees.dedup();
    let mut payee_count = vec![0f32; n];
    for (s, _) in payees {
        payee_count[s as usize] += 1.0;
    }
    ForwardingFeatures {
        received_forwarded_max: best.iter().map(|b| b.0.ln_1p() as f32).collect(),
        received_forwarded_share: best.iter().map(|b| b.1.min(1.0) as f32).collect(),
        sent_forwarded_amount: sent.iter().map(|s| s.ln_1p() as f32).collect(),
        sent_forwarded_payees: payee_count,
    }
}
