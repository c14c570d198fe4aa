//! Fan-in, fan-out, scatter-gather and gather-scatter: many counterparties around one account
//! inside a time window. A window with more counterparties than `max_fan` is a business hub
//! (a payroll run, a popular shop) and is kept only as a feature, never as a ring.
//!
//! A fan spread over weeks hides among an active account's ordinary traffic in any one week, so
//! each side is also searched for a look-alike episode: the most distinct counterparties whose
//! amounts lie within 25% of each other inside 30 days. It is kept when that many is unlikely
//! either against how often the account moves money of that size (a Poisson tail on its own
//! rate) or against how often transfers of the whole workspace are that size (a binomial tail
//! over the account's transfers in those days, corrected for the bands tried).

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
    /// How unlikely a look-alike episode is; `None` for a plain time-window fan.
    pub alike: Option<Alike>,
}

/// Why a look-alike episode stands out.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Alike {
    /// -log10 of the smaller of the two tails (own rate, workspace amount mix).
    pub surprise: f64,
    /// Transfers of that size the account's own rate predicts in 30 days.
    pub expected: f64,
    /// Share of all the workspace's transfers that are of that size.
    pub size_share: f64,
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
                let mut strength =
                    (0.15 + 0.25 * alike * alike + 0.2 * size_term) * (0.3 + 0.7 * one_off);
                if let Some(a) = h.alike {
                    strength += 0.25 * (a.surprise / 8.0).min(1.0) * one_off;
                }
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

/// One side of an account: its time-window fan (or hub peak) and its look-alike episode.
type SideFans = (FanResult, Option<FanHit>);

/// Amounts of a look-alike episode lie within this ratio of each other.
const ALIKE_BAND: f64 = 1.25;
/// Time span of a look-alike episode.
const ALIKE_WINDOW_SECS: i64 = 30 * 86_400;
/// Look-alike episodes are kept from this surprise on (-log10 of the tail).
const ALIKE_MIN_SURPRISE: f64 = 3.0;
/// Fewest counterparties in a look-alike episode (three like-sized payments are everyday: a
/// bill shared by friends).
const ALIKE_MIN_COUNT: usize = 4;
/// Sides with more transfers than this are not searched for look-alike episodes (bounds the
/// quadratic band scan; such an account is a hub).
const ALIKE_MAX_EVENTS: usize = 3_000;

/// -log10 P(X >= k) for X ~ Poisson(lambda).
fn poisson_surprise(k: usize, lambda: f64) -> f64 {
    if k == 0 {
        return 0.0;
    }
    let lambda = lambda.max(1e-9);
    // P(X <= k - 1), summed in log space term by term.
    let mut term = (-lambda).exp();
    let mut below = term;
    for i in 1..k {
        term *= lambda / i as f64;
        below += term;
    }
    let tail = (1.0 - below).max(0.0);
    if tail > 1e-300 {
        -tail.log10()
    } else {
        // The first tail term dominates: k ln(lambda) - lambda - ln k!.
        let ln_fact: f64 = (1..=k).map(|i| (i as f64).ln()).sum();
        -(k as f64 * lambda.ln() - lambda - ln_fact) / std::f64::consts::LN_10
    }
}

/// -log10 P(X >= k) for X ~ Binomial(n, p), summed in log space.
fn binomial_surprise(k: usize, n: usize, p: f64) -> f64 {
    if k == 0 || n == 0 {
        return 0.0;
    }
    let p = p.clamp(1e-12, 1.0 - 1e-12);
    let ln_choose = |i: usize| -> f64 {
        (1..=i)
            .map(|j| ((n - i + j) as f64 / j as f64).ln())
            .sum::<f64>()
    };
    let terms: Vec<f64> = (k.min(n)..=n)
        .map(|i| ln_choose(i) + i as f64 * p.ln() + (n - i) as f64 * (1.0 - p).ln())
        .collect();
    let top = terms.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let ln_tail = top + terms.iter().map(|t| (t - top).exp()).sum::<f64>().ln();
    (-ln_tail / std::f64::consts::LN_10).max(0.0)
}

/// Share of the workspace's transfers with amounts in `[lo, hi]` (`sorted` ascending).
fn size_share(sorted: &[f64], lo: f64, hi: f64) -> f64 {
    if sorted.is_empty() {
        return 1.0;
    }
    let a = sorted.partition_point(|&x| x < lo);
    let b = sorted.partition_point(|&x| x <= hi);
    (b - a) as f64 / sorted.len() as f64
}

/// The most surprising look-alike episode of one side: (event indices, why).
fn alike_episode(
    ds: &Dataset,
    events: &[(i64, u32, u32)],
    all_amounts: &[f64],
    opts: &DetectOptions,
    counts: &mut [u32],
) -> Option<(Vec<usize>, Alike)> {
    let n = events.len();
    if n < opts.min_fan || n > ALIKE_MAX_EVENTS {
        return None;
    }
    let amount = |i: usize| ds.tx.amount[events[i].1 as usize];
    let span = (events[n - 1].0 - events[0].0).max(ALIKE_WINDOW_SECS) as f64;
    let mut by_amount: Vec<usize> = (0..n).filter(|&i| amount(i) > 0.0).collect();
    by_amount.sort_by(|&a, &b| amount(a).total_cmp(&amount(b)).then(a.cmp(&b)));
    let mut best: Option<(Vec<usize>, Alike)> = None;
    let mut band: Vec<usize> = Vec::new();
    let mut hi = 0;
    let mut last_hi = usize::MAX;
    // Bands an episode could have come from (a Bonferroni correction for picking the best).
    let bands_tried = match (by_amount.first(), by_amount.last()) {
        (Some(&a), Some(&b)) => ((amount(b) / amount(a)).ln() / ALIKE_BAND.ln()).max(1.0),
        _ => 1.0,
    };
    for lo in 0..by_amount.len() {
        let cap = amount(by_amount[lo]) * ALIKE_BAND;
        hi = hi.max(lo);
        while hi < by_amount.len() && amount(by_amount[hi]) <= cap {
            hi += 1;
        }
        if hi == last_hi {
            continue; // a sub-band of the previous one
        }
        last_hi = hi;
        if hi - lo < opts.min_fan {
            continue;
        }
        band.clear();
        band.extend_from_slice(&by_amount[lo..hi]);
        band.sort_unstable(); // time order
        let sub: Vec<(i64, u32, u32)> = band.iter().map(|&i| events[i]).collect();
        let (k, a, b) = best_window(&sub, ALIKE_WINDOW_SECS, counts);
        if k < opts.min_fan.max(ALIKE_MIN_COUNT) {
            continue;
        }
        let expected = band.len() as f64 * ALIKE_WINDOW_SECS as f64 / span;
        let own = poisson_surprise(k, expected);
        // Against the workspace's mix of sizes: of the account's transfers in those days, how
        // many would be this size by chance.
        let (t0, t1) = (sub[a].0, sub[b - 1].0);
        let in_days = events.partition_point(|e| e.0 <= t1) - events.partition_point(|e| e.0 < t0);
        let a_lo = amount(by_amount[lo]);
        let share = size_share(all_amounts, a_lo, a_lo * ALIKE_BAND);
        let mix = binomial_surprise(k, in_days.max(k), share) - bands_tried.log10();
        let surprise = own.max(mix);
        if surprise >= ALIKE_MIN_SURPRISE && best.as_ref().is_none_or(|b| surprise > b.1.surprise) {
            best = Some((
                band[a..b].to_vec(),
                Alike {
                    surprise,
                    expected,
                    size_share: share,
                },
            ));
        }
    }
    best
}

fn fan_of(
    ds: &Dataset,
    g: &TxGraph,
    v: u32,
    incoming: bool,
    all_amounts: &[f64],
    opts: &DetectOptions,
    buf: &mut (Vec<u32>, Vec<(i64, u32, u32)>),
) -> SideFans {
    let distinct_total = if incoming {
        g.money.in_pair_ids(v).len()
    } else {
        g.money.out_pairs(v).len()
    };
    if distinct_total < opts.min_fan {
        return (FanResult::None, None);
    }
    let (counts, events) = buf;
    side(ds, g, v, incoming, events);
    let (peak, lo, hi) = best_window(events, opts.fan_window_secs, counts);
    if peak > opts.max_fan {
        return (FanResult::Hub(v, peak), None);
    }
    let alike = alike_episode(ds, events, all_amounts, opts, counts).map(|(idx, why)| {
        let window: Vec<(i64, u32, u32)> = idx.iter().map(|&i| events[i]).collect();
        let mut hit = hit_of(ds, v, &window, events, opts);
        hit.alike = Some(why);
        hit
    });
    if peak < opts.min_fan {
        return (FanResult::None, alike);
    }
    let hit = hit_of(ds, v, &events[lo..hi], events, opts);
    // A look-alike episode that adds nobody to the window's fan says nothing new.
    let alike = alike.filter(|a| {
        a.counterparties
            .iter()
            .any(|c| hit.counterparties.binary_search(c).is_err())
    });
    (FanResult::Hit(hit), alike)
}

/// The fan made of `window` (time-ordered events of `v`'s side), judged against all its events.
fn hit_of(
    ds: &Dataset,
    v: u32,
    window: &[(i64, u32, u32)],
    events: &[(i64, u32, u32)],
    opts: &DetectOptions,
) -> FanHit {
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
    FanHit {
        recurring_share: recurring.len() as f64 / counterparties.len() as f64,
        center: v,
        counterparties,
        tx: window.iter().map(|e| e.1).collect(),
        total_amount: amounts.iter().sum(),
        first_ts_secs: window[0].0,
        last_ts_secs: window[window.len() - 1].0,
        amount_cv: cv(&amounts),
        alike: None,
    }
}

/// Fan-in and fan-out windows of every account.
pub fn detect_fans(ds: &Dataset, g: &TxGraph, opts: &DetectOptions) -> Fans {
    let n = ds.n_accounts();
    let mut all_amounts: Vec<f64> = g
        .money
        .pairs
        .iter()
        .enumerate()
        .flat_map(|(i, _)| g.money.txs_of(i).iter())
        .filter(|&&t| !ds.tx.declined[t as usize])
        .map(|&t| ds.tx.amount[t as usize])
        .filter(|a| *a > 0.0)
        .collect();
    all_amounts.par_sort_unstable_by(f64::total_cmp);
    let all_amounts = &all_amounts;
    let results: Vec<(SideFans, SideFans)> = (0..n as u32)
        .into_par_iter()
        .map_init(
            || (vec![0u32; n], Vec::new()),
            |buf, v| {
                (
                    fan_of(ds, g, v, true, all_amounts, opts, buf),
                    fan_of(ds, g, v, false, all_amounts, opts, buf),
                )
            },
        )
        .collect();
    let mut fans = Fans::default();
    for ((fin, alike_in), (fout, alike_out)) in results {
        fans.fan_in.extend(alike_in);
        fans.fan_out.extend(alike_out);
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

#[cfg(test)]
mod tests {
    use super::{binomial_surprise, poisson_surprise};

    #[test]
    fn tails_match_closed_forms() {
        // P(X >= 3), X ~ Poisson(1) = 1 - 2.5 / e.
        let p = 1.0 - 2.5 / std::f64::consts::E;
        assert!((poisson_surprise(3, 1.0) + p.log10()).abs() < 1e-9);
        // Far in the tail the first term dominates and stays finite.
        assert!(poisson_surprise(200, 0.5).is_finite());
        assert!(poisson_surprise(200, 0.5) > 100.0);
        // P(X >= 2), X ~ Binomial(3, 1/2) = 1/2; P(X >= 8), X ~ Binomial(8, 0.05) = 0.05^8.
        assert!((binomial_surprise(2, 3, 0.5) - 2f64.log10()).abs() < 1e-9);
        assert!((binomial_surprise(8, 8, 0.05) + 8.0 * 0.05f64.log10()).abs() < 1e-9);
        assert_eq!(poisson_surprise(0, 3.0), 0.0);
        assert_eq!(binomial_surprise(0, 5, 0.1), 0.0);
    }
}
