//! Fan-in, fan-out, scatter-gather and gather-scatter: many counterparties around one account
//! inside a time window. A window with more counterparties than `max_fan` is a business hub
//! (a payroll run, a popular shop) and is kept only as a feature, never as a ring.

use std::collections::BTreeMap;

use rayon::prelude::*;

use super::{Candidate, DetectOptions, Evidence, Typology};
use crate::fraud::dataset::Dataset;
use crate::fraud::graph::TxGraph;

/// Many counterparties around one account in one window.
#[derive(Clone, Debug, PartialEq)]
pub struct FanHit {
    /// The account at the centre.
    pub center: u32,
    /// Distinct counterparties in the window (sorted).
    pub counterparties: Vec<u32>,
    /// Transactions in the window, in time order.
    pub tx: Vec<u32>,
    /// Sum of their amounts.
    pub total_amount: f64,
    /// First transaction, Unix seconds.
    pub first_ts_secs: i64,
    /// Last transaction, Unix seconds.
    pub last_ts_secs: i64,
    /// Coefficient of variation of the amounts (low = structured, look-alike amounts).
    pub amount_cv: f64,
    /// Share of the counterparties that also deal with the centre well outside the window
    /// (payroll and rent recur with the same people; a mule episode does not).
    pub recurring_share: f64,
}

/// Fan detector output.
#[derive(Clone, Debug, Default)]
pub struct Fans {
    /// Fan-in rings.
    pub fan_in: Vec<FanHit>,
    /// Fan-out rings.
    pub fan_out: Vec<FanHit>,
    /// Peak distinct payers of hub accounts (above `max_fan`).
    pub peaks_in: Vec<(u32, usize)>,
    /// Peak distinct payees of hub accounts.
    pub peaks_out: Vec<(u32, usize)>,
}

impl Fans {
    /// Candidates for the fan hits.
    pub fn candidates(&self, opts: &DetectOptions) -> Vec<Candidate> {
        let mut out = Vec::new();
        for (hits, typology) in [
            (&self.fan_in, Typology::FanIn),
            (&self.fan_out, Typology::FanOut),
        ] {
            for h in hits {
                let mut members = h.counterparties.clone();
                members.push(h.center);
                members.sort_unstable();
                members.dedup();
                let k = h.counterparties.len() as f64;
                let size_term = ((k - opts.min_fan as f64) / 10.0).clamp(0.0, 1.0);
                let alike = (1.0 - h.amount_cv).clamp(0.0, 1.0);
                let one_off = 1.0 - h.recurring_share;
                let strength =
                    (0.15 + 0.25 * alike * alike + 0.2 * size_term) * (0.3 + 0.7 * one_off);
                let evidence = match typology {
                    Typology::FanIn => Evidence::FanIn(h.clone()),
                    _ => Evidence::FanOut(h.clone()),
                };
                out.push(Candidate {
                    typology,
                    members,
                    strength,
                    evidence: vec![evidence],
                });
            }
        }
        out
    }
}

fn cv(values: &[f64]) -> f64 {
    if values.len() < 2 {
        return 0.0;
    }
    let mean = values.iter().sum::<f64>() / values.len() as f64;
    if mean <= 0.0 {
        return 1.0;
    }
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / values.len() as f64;
    var.sqrt() / mean
}

/// One side (in or out) of an account: its approved transactions, time-ordered, with the
/// counterparty of each.
fn side(ds: &Dataset, g: &TxGraph, v: u32, incoming: bool, out: &mut Vec<(i64, u32, u32)>) {
    out.clear();
    let money = &g.money;
    let mut push = |i: usize, other: u32| {
        for &t in money.txs_of(i) {
            if !ds.tx.declined[t as usize] {
                out.push((ds.tx.ts_secs[t as usize], t, other));
            }
        }
    };
    if incoming {
        for &i in money.in_pair_ids(v) {
            push(i as usize, money.pairs[i as usize].src);
        }
    } else {
        let lo = money.out_offsets[v as usize] as usize;
        for (k, p) in money.out_pairs(v).iter().enumerate() {
            push(lo + k, p.dst);
        }
    }
    out.sort_unstable();
}

/// The window with the most distinct counterparties: (peak, start, end) over `events`.
fn best_window(
    events: &[(i64, u32, u32)],
    window_secs: i64,
    counts: &mut [u32],
) -> (usize, usize, usize) {
    let (mut best, mut best_lo, mut best_hi) = (0usize, 0usize, 0usize);
    let mut distinct = 0usize;
    let mut lo = 0usize;
    for hi in 0..events.len() {
        let c = events[hi].2 as usize;
        counts[c] += 1;
        if counts[c] == 1 {
            distinct += 1;
        }
        while events[hi].0 - events[lo].0 > window_secs {
            let c = events[lo].2 as usize;
            counts[c] -= 1;
            if counts[c] == 0 {
                distinct -= 1;
            }
            lo += 1;
        }
        if distinct > best {
            (best, best_lo, best_hi) = (distinct, lo, hi + 1);
        }
    }
    for e in events {
        counts[e.2 as usize] = 0;
    }
    (best, best_lo, best_hi)
}

enum FanResult {
    None,
    Hit(FanHit),
    Hub(u32, usize),
}

fn fan_of(
    ds: &Dataset,
    g: &TxGraph,
    v: u32,
    incoming: bool,
    opts: &DetectOptions,
    buf: &mut (Vec<u32>, Vec<(i64, u32, u32)>),
) -> FanResult {
    let distinct_total = if incoming {
        g.money.in_pair_ids(v).len()
    } else {
        g.money.out_pairs(v).len()
    };
    if distinct_total < opts.min_fan {
        return FanResult::None;
    }
    let (counts, events) = buf;
    side(ds, g, v, incoming, events);
    let (peak, lo, hi) = best_window(events, opts.fan_window_secs, counts);
    if peak < opts.min_fan {
        return FanResult::None;
    }
    if peak > opts.max_fan {
        return FanResult::Hub(v, peak);
    }
    let window = &events[lo..hi];
    let mut counterparties: Vec<u32> = window.iter().map(|e| e.2).collect();
    counterparties.sort_unstable();
    counterparties.dedup();
    let amounts: Vec<f64> = window
        .iter()
        .map(|e| ds.tx.amount[e.1 as usize].max(0.0))
        .collect();
    let (first, last) = (window[0].0, window[window.len() - 1].0);
    let mut recurring: Vec<u32> = events
        .iter()
        .filter(|e| e.0 < first - opts.fan_window_secs || e.0 > last + opts.fan_window_secs)
        .map(|e| e.2)
        .filter(|c| counterparties.binary_search(c).is_ok())
        .collect();
    recurring.sort_unstable();
    recurring.dedup();
    FanResult::Hit(FanHit {
        recurring_share: recurring.len() as f64 / counterparties.len() as f64,
        center: v,
        counterparties,
        tx: window.iter().map(|e| e.1).collect(),
        total_amount: amounts.iter().sum(),
        first_ts_secs: window[0].0,
        last_ts_secs: window[window.len() - 1].0,
        amount_cv: cv(&amounts),
    })
}

/// Fan-in and fan-out windows of every account.
pub fn detect_fans(ds: &Dataset, g: &TxGraph, opts: &DetectOptions) -> Fans {
    let n = ds.n_accounts();
    let results: Vec<(FanResult, FanResult)> = (0..n as u32)
        .into_par_iter()
        .map_init(
            || (vec![0u32; n], Vec::new()),
            |buf, v| {
                (
                    fan_of(ds, g, v, true, opts, buf),
                    fan_of(ds, g, v, false, opts, buf),
                )
            },
        )
        .collect();
    let mut fans = Fans::default();
    for (fin, fout) in results {
        match fin {
            FanResult::Hit(h) => fans.fan_in.push(h),
            FanResult::Hub(v, p) => fans.peaks_in.push((v, p)),
            FanResult::None => {}
        }
        match fout {
            FanResult::Hit(h) => fans.fan_out.push(h),
            FanResult::Hub(v, p) => fans.peaks_out.push((v, p)),
            FanResult::None => {}
        }
    }
    fans
}

/// Source → several low-activity intermediates → one sink, each leg inside the fan window.
pub fn detect_scatter_gather(ds: &Dataset, g: &TxGraph, opts: &DetectOptions) -> Vec<Candidate> {
    let money = &g.money;
    let n = ds.n_accounts() as u32;
    let per_source: Vec<Vec<Candidate>> = (0..n)
        .into_par_iter()
        .map(|s| {
            let outs = money.out_pairs(s);
            if outs.len() < opts.min_intermediates || outs.len() > opts.max_fan {
                return Vec::new();
            }
            // sink -> [(intermediate, tx s→m, tx m→t)]
            let mut sinks: BTreeMap<u32, Vec<(u32, u32, u32)>> = BTreeMap::new();
            let lo = money.out_offsets[s as usize] as usize;
            for (k, p) in outs.iter().enumerate() {
                let m = p.dst;
                let m_outs = money.out_pairs(m);
                if m_outs.len() > opts.max_intermediate_out_degree {
                    continue;
                }
                let Some(&t_sm) = money
                    .txs_of(lo + k)
                    .iter()
                    .find(|&&t| !ds.tx.declined[t as usize])
                else {
                    continue;
                };
                let ts_sm = ds.tx.ts_secs[t_sm as usize];
                let m_lo = money.out_offsets[m as usize] as usize;
                for (j, q) in m_outs.iter().enumerate() {
                    if q.dst == s {
                        continue;
                    }
                    let leg = money.txs_of(m_lo + j).iter().find(|&&t| {
                        let ts = ds.tx.ts_secs[t as usize];
                        !ds.tx.declined[t as usize]
                            && ts >= ts_sm
                            && ts - ts_sm <= opts.fan_window_secs
                    });
                    if let Some(&t_mt) = leg {
                        sinks.entry(q.dst).or_default().push((m, t_sm, t_mt));
                    }
                }
            }
            let mut out = Vec::new();
            for (t, legs) in sinks {
                if legs.len() < opts.min_intermediates {
                    continue;
                }
                let mut intermediates: Vec<u32> = legs.iter().map(|l| l.0).collect();
                intermediates.sort_unstable();
                let mut members = intermediates.clone();
                members.push(s);
                members.push(t);
                members.sort_unstable();
                members.dedup();
                let mut tx: Vec<u32> = legs.iter().map(|l| l.1).collect();
                tx.extend(legs.iter().map(|l| l.2));
                let out_amt: f64 = legs
                    .iter()
                    .map(|l| ds.tx.amount[l.1 as usize].max(0.0))
                    .sum();
                let in_amt: f64 = legs
                    .iter()
                    .map(|l| ds.tx.amount[l.2 as usize].max(0.0))
                    .sum();
                let retention = if out_amt > 0.0 {
                    (in_amt / out_amt).min(1.0)
                } else {
                    0.0
                };
                let k = legs.len() as f64;
                out.push(Candidate {
                    typology: Typology::ScatterGather,
                    members,
                    strength: 0.35 + 0.35 * retention + 0.2 * ((k - 3.0) / 7.0).clamp(0.0, 1.0),
                    evidence: vec![Evidence::ScatterGather {
                        source: s,
                        sink: t,
                        intermediates,
                        tx,
                    }],
                });
            }
            out
        })
        .collect();
    per_source.into_iter().flatten().collect()
}

/// An account that gathers from many and pays out to many within the fan window.
pub fn detect_gather_scatter(fans: &Fans, opts: &DetectOptions) -> Vec<Candidate> {
    let mut out_by_center: BTreeMap<u32, &FanHit> = BTreeMap::new();
    for h in &fans.fan_out {
        out_by_center.insert(h.center, h);
    }
    let mut out = Vec::new();
    for gin in &fans.fan_in {
        let Some(gout) = out_by_center.get(&gin.center) else {
            continue;
        };
        let follows = gout.last_ts_secs >= gin.first_ts_secs
            && gout.first_ts_secs <= gin.last_ts_secs + opts.fan_window_secs;
        if !follows {
            continue;
        }
        let mut members: Vec<u32> = gin.counterparties.clone();
        members.extend(&gout.counterparties);
        members.push(gin.center);
        members.sort_unstable();
        members.dedup();
        let ratio = if gin.total_amount > 0.0 {
            (gout.total_amount / gin.total_amount)
                .min(gin.total_amount / gout.total_amount.max(1e-9))
        } else {
            0.0
        };
        out.push(Candidate {
            typology: Typology::GatherScatter,
            members,
            strength: 0.35 + 0.4 * ratio.clamp(0.0, 1.0),
            evidence: vec![Evidence::GatherScatter {
                gather: gin.clone(),
                scatter: (*gout).clone(),
            }],
        });
    }
    out
}
