//! Directed, time-ordered cycles of transfers (money that comes back), found by a depth-first
//! search bounded in length, in time window, in the out-degree of the nodes it walks through
//! and in steps per start node.
//!
//! The walk from each account follows transfers forward in time, so it finds the cycles whose
//! money starts there; a cycle found from several accounts is reported once.

use std::collections::HashSet;

use rayon::prelude::*;

use super::{Candidate, DetectOptions, Evidence, Typology};
use crate::fraud::dataset::Dataset;
use crate::fraud::graph::{PairGraph, TxGraph};

/// Cycles found per start node at most (a ring rarely needs more to be seen).
const MAX_CYCLES_PER_START: usize = 16;
/// First-hop transfers tried per pair (earliest, middle, latest).
const FIRST_HOP_TRIES: usize = 3;

/// A cycle: accounts in order and one transaction per hop.
type FoundCycle = (Vec<u32>, Vec<u32>);

/// Cycle detector output.
#[derive(Clone, Debug, Default)]
pub struct CycleHits {
    /// One candidate per cycle.
    pub candidates: Vec<Candidate>,
    /// Bounds that were hit.
    pub notes: Vec<String>,
}

struct Search<'a> {
    ds: &'a Dataset,
    money: &'a PairGraph,
    opts: &'a DetectOptions,
    start: u32,
    deadline_secs: i64,
    steps: usize,
    path: Vec<u32>,
    tx: Vec<u32>,
    found: Vec<FoundCycle>,
    seen: HashSet<Vec<u32>>,
    /// Candidate next hops per depth (reused buffers): (cost, account, transaction).
    next: Vec<Vec<(f64, u32, u32)>>,
}

impl Search<'_> {
    /// Earliest transfer of pair `i` at or after `after_secs` and by the deadline.
    fn next_tx(&self, i: usize, after_secs: i64) -> Option<u32> {
        let txs = self.money.txs_of(i);
        let ts = &self.ds.tx.ts_secs;
        let k = txs.partition_point(|&t| ts[t as usize] < after_secs);
        let t = *txs.get(k)?;
        (ts[t as usize] <= self.deadline_secs).then_some(t)
    }

    fn walk(&mut self, u: u32, arrival_secs: i64) {
        if self.steps >= self.opts.cycle_steps_per_start || self.found.len() >= MAX_CYCLES_PER_START
        {
            return;
        }
        self.steps += 1;
        let lo = self.money.out_offsets[u as usize] as usize;
        let hi = self.money.out_offsets[u as usize + 1] as usize;
        let depth = self.path.len();
        if self.next.len() <= depth {
            self.next.resize_with(depth + 1, Vec::new);
        }
        let mut next = std::mem::take(&mut self.next[depth]);
        next.clear();
        let arriving = self
            .tx
            .last()
            .map_or(0.0, |&t| self.ds.tx.amount[t as usize]);
        for i in lo..hi {
            let w = self.money.pairs[i].dst;
            if w == self.start {
                if self.path.len() >= 3
                    && !self.seen.contains(&self.path)
                    && let Some(t) = self.next_tx(i, arrival_secs)
                {
                    let mut tx = self.tx.clone();
                    tx.push(t);
                    self.seen.insert(self.path.clone());
                    self.found.push((self.path.clone(), tx));
                }
                continue;
            }
            if self.path.len() >= self.opts.max_cycle_len
                || self.path.contains(&w)
                || self.money.out_pairs(w).len() > self.opts.cycle_max_out_degree
            {
                continue;
            }
            let Some(t) = self.next_tx(i, arrival_secs) else {
                continue;
            };
            next.push((hop_cost(self.ds, t, arrival_secs, arriving), w, t));
        }
        // Money that moves on soon, and about as much as arrived, first: the step bound then
        // spends itself on the paths a laundering cycle takes.
        next.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        for &(_, w, t) in &next {
            self.path.push(w);
            self.tx.push(t);
            self.walk(w, self.ds.tx.ts_secs[t as usize]);
            self.path.pop();
            self.tx.pop();
            if self.steps >= self.opts.cycle_steps_per_start {
                break;
            }
        }
        self.next[depth] = next;
    }
}

/// Order of the next hops: days until the transfer leaves, plus how far its amount is from the
/// amount that arrived (a factor of e counts as three days).
fn hop_cost(ds: &Dataset, t: u32, arrival_secs: i64, arriving: f64) -> f64 {
    let gap_days = (ds.tx.ts_secs[t as usize] - arrival_secs).max(0) as f64 / 86_400.0;
    let amount = ds.tx.amount[t as usize];
    let drift = if arriving > 0.0 && amount > 0.0 {
        (amount / arriving).ln().abs()
    } else {
        1.0
    };
    gap_days + 3.0 * drift
}

fn search_from(
    ds: &Dataset,
    money: &PairGraph,
    opts: &DetectOptions,
    s: u32,
) -> (Vec<FoundCycle>, bool) {
    if money.out_pairs(s).len() > opts.cycle_max_out_degree {
        return (Vec::new(), false);
    }
    let mut search = Search {
        ds,
        money,
        opts,
        start: s,
        deadline_secs: 0,
        steps: 0,
        path: vec![s],
        tx: Vec::new(),
        found: Vec::new(),
        seen: HashSet::new(),
        next: Vec::new(),
    };
    let lo = money.out_offsets[s as usize] as usize;
    let hi = money.out_offsets[s as usize + 1] as usize;
    for i in lo..hi {
        let v = money.pairs[i].dst;
        if money.out_pairs(v).len() > opts.cycle_max_out_degree {
            continue;
        }
        let txs = money.txs_of(i);
        let picks: Vec<u32> = if txs.len() <= FIRST_HOP_TRIES {
            txs.to_vec()
        } else {
            vec![txs[0], txs[txs.len() / 2], txs[txs.len() - 1]]
        };
        for t in picks {
            let t0 = ds.tx.ts_secs[t as usize];
            search.deadline_secs = t0.saturating_add(opts.cycle_window_secs);
            search.path.push(v);
            search.tx.push(t);
            search.walk(v, t0);
            search.path.pop();
            search.tx.pop();
        }
    }
    let exhausted =
        search.steps >= opts.cycle_steps_per_start || search.found.len() >= MAX_CYCLES_PER_START;
    (search.found, exhausted)
}

/// Finds time-ordered cycles of 3 to `max_cycle_len` accounts.
pub fn detect_cycles(ds: &Dataset, g: &TxGraph, opts: &DetectOptions) -> CycleHits {
    let n = ds.n_accounts() as u32;
    let per_start: Vec<(Vec<FoundCycle>, bool)> = (0..n)
        .into_par_iter()
        .map(|s| search_from(ds, &g.money, opts, s))
        .collect();
    let mut hits = CycleHits::default();
    let exhausted = per_start.iter().filter(|(_, e)| *e).count();
    if exhausted > 0 {
        hits.notes.push(format!(
            "cycle search hit its step bound ({} steps) or {MAX_CYCLES_PER_START} cycles at {exhausted} start accounts",
            opts.cycle_steps_per_start
        ));
    }
    let mut reported: HashSet<Vec<u32>> = HashSet::new();
    'outer: for (cycles, _) in per_start {
        for (path, tx) in cycles {
            let lo = path
                .iter()
                .enumerate()
                .min_by_key(|x| x.1)
                .map_or(0, |x| x.0);
            let mut key = path[lo..].to_vec();
            key.extend(&path[..lo]);
            if !reported.insert(key) {
                continue;
            }
            if hits.candidates.len() >= opts.max_cycles {
                hits.notes.push(format!(
                    "cycle search stopped at {} cycles",
                    opts.max_cycles
                ));
                break 'outer;
            }
            let strength = cycle_strength(ds, &tx);
            let mut members = path.clone();
            members.sort_unstable();
            hits.candidates.push(Candidate {
                typology: Typology::Cycle,
                members,
                strength,
                evidence: vec![Evidence::Cycle { accounts: path, tx }],
            });
        }
    }
    hits
}

/// Laundering cycles pass on most of what they get, quickly; bill-splitting cycles do not.
fn cycle_strength(ds: &Dataset, tx: &[u32]) -> f64 {
    let amounts: Vec<f64> = tx
        .iter()
        .map(|&t| ds.tx.amount[t as usize].max(0.0))
        .collect();
    let max = amounts.iter().copied().fold(0.0, f64::max);
    let min = amounts.iter().copied().fold(f64::MAX, f64::min);
    let retention = if max > 0.0 { min / max } else { 0.0 };
    let first = ds.tx.ts_secs[tx[0] as usize];
    let last = ds.tx.ts_secs[tx[tx.len() - 1] as usize];
    let span_days = (last - first).max(0) as f64 / 86_400.0;
    let speed = (1.0 - span_days / 30.0).clamp(0.0, 1.0);
    (0.1 + 0.6 * retention.powi(2) * (0.5 + 0.5 * speed) + 0.1 * speed).min(1.0)
}
