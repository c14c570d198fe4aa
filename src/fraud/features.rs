//! Per-account features: structural ones computed once (activity, amounts, velocity, bursts,
//! pass-through, detector signals, cluster and neighbourhood aggregates, PageRank), and
//! label-derived ones (guilt by association) computed from a given set of known labels.
//!
//! Label-derived features never see the label of the row they describe: callers pass a label
//! vector with the rows under evaluation hidden, and [`out_of_fold_label_features`] gives each
//! training row values computed with its own inner fold's labels hidden.

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use super::csr::{Csr, PageRankGraph, PageRankOptions};
use super::dataset::{Dataset, Label, NONE};
use super::detect::{Detections, Typology};
use super::forwarding::forwarding_features;
use super::gbm::{Gbm, GbmParams};
use super::graph::TxGraph;
use super::motifs::{Motifs, motif_counts};

const HOUR_SECS: i64 = 3_600;
const DAY_SECS: i64 = 86_400;
/// Neighbours with more links than this are skipped in two-hop sums (hubs).
const TWO_HOP_MAX_DEGREE: usize = 200;

/// Named feature columns, one value per account.
#[derive(Clone, Debug, Default)]
pub struct FeatureMatrix {
    /// Column names.
    pub names: Vec<String>,
    /// Columns (each of length `n_accounts`).
    pub columns: Vec<Vec<f32>>,
}

impl FeatureMatrix {
    fn push(&mut self, name: &str, col: Vec<f32>) {
        self.names.push(name.to_string());
        self.columns.push(
            col.into_iter()
                .map(|x| if x.is_finite() { x } else { 0.0 })
                .collect(),
        );
    }

    /// Column slices, for the model.
    pub fn slices(&self) -> Vec<&[f32]> {
        self.columns.iter().map(|c| c.as_slice()).collect()
    }

    /// Index of a column by name.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n == name)
    }

    /// Value of a named column for an account (0 when absent).
    pub fn get(&self, name: &str, account: u32) -> f32 {
        self.index_of(name)
            .map_or(0.0, |i| self.columns[i][account as usize])
    }
}

/// What feature computation needs, built once per scoring run.
pub struct FeatureContext<'a> {
    /// The data.
    pub ds: &'a Dataset,
    /// Aggregated graphs.
    pub graph: &'a TxGraph,
    /// Detector output.
    pub det: &'a Detections,
    /// Undirected money graph.
    pub money: &'a Csr,
    /// Accounts + non-hub identifiers, for personalized PageRank.
    ppr: PageRankGraph,
    /// Non-hub identifier → its accounts.
    entity_users: Vec<Vec<u32>>,
    /// Account → indices of clusters containing it.
    pub account_clusters: Vec<Vec<u32>>,
    /// Triangles, four-cycles and the like per account, and common counterparties per edge.
    pub motifs: Motifs,
    /// Start of each account's neighbour slots in `motifs.edge_common`.
    edge_start: Vec<usize>,
}

impl<'a> FeatureContext<'a> {
    /// Accounts using non-hub identifier `entity`.
    pub fn entity_users(&self, entity: u32) -> &[u32] {
        &self.entity_users[entity as usize]
    }

    /// Prepares the shared structures.
    pub fn new(ds: &'a Dataset, graph: &'a TxGraph, det: &'a Detections, money: &'a Csr) -> Self {
        let n = ds.n_accounts();
        let m = ds.entities.db_id.len();
        let mut is_hub = vec![false; m];
        for &h in &det.hub_entities {
            is_hub[h as usize] = true;
        }
        let mut entity_users: Vec<Vec<u32>> = vec![Vec::new(); m];
        for e in &ds.identity {
            if !is_hub[e.entity as usize] {
                entity_users[e.entity as usize].push(e.account);
            }
        }
        let mut edges: Vec<(u32, u32, f32)> = graph
            .money
            .pairs
            .iter()
            .map(|p| (p.src, p.dst, (1.0 + p.count as f32).ln()))
            .collect();
        for (j, users) in entity_users.iter().enumerate() {
            if users.len() >= 2 {
                for &a in users {
                    edges.push((a, (n + j) as u32, 1.0));
                }
            }
        }
        let ppr = PageRankGraph::new(&Csr::from_edges(n + m, &edges, true));
        let mut account_clusters: Vec<Vec<u32>> = vec![Vec::new(); n];
        for (c, cl) in det.clusters.iter().enumerate() {
            for &a in &cl.members {
                account_clusters[a as usize].push(c as u32);
            }
        }
        let motifs = motif_counts(money, &graph.money);
        let mut edge_start = Vec::with_capacity(n + 1);
        edge_start.push(0);
        for v in 0..n as u32 {
            edge_start.push(edge_start[v as usize] + money.degree(v));
        }
        Self {
            ds,
            graph,
            det,
            money,
            ppr,
            entity_users,
            account_clusters,
            motifs,
            edge_start,
        }
    }
}

fn log1p(x: f64) -> f32 {
    (x.max(0.0)).ln_1p() as f32
}

struct Activity {
    out_tx: f32,
    out_cp: f32,
    out_amount: f32,
    in_tx: f32,
    in_cp: f32,
    in_amount: f32,
    mean_amount: f32,
    amount_cv: f32,
    pass_through: f32,
    round_share: f32,
    near_threshold_share: f32,
    small_share: f32,
    declined: f32,
    declined_share: f32,
    merchant_tx: f32,
    merchants: f32,
    nonpositive: f32,
    max_1h: f32,
    max_24h: f32,
    span_days: f32,
    median_gap_hours: f32,
    dwell_hours: f32,
    promo_uses: f32,
    cards: f32,
    devices: f32,
    out_min_amount: f32,
    in_min_amount: f32,
    out_median_amount: f32,
    in_median_amount: f32,
    out_amount_cv: f32,
    in_amount_cv: f32,
    out_distinct_amount_share: f32,
    cash_out: f32,
    first_activity_secs: Option<i64>,
}

fn cv_of(v: &[f64]) -> f32 {
    if v.len() < 2 {
        return 0.0;
    }
    let mean = v.iter().sum::<f64>() / v.len() as f64;
    if mean <= 0.0 {
        return 0.0;
    }
    ((v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / v.len() as f64).sqrt() / mean) as f32
}

fn max_in_window(times: &[i64], window_secs: i64) -> usize {
    let mut best = 0;
    let mut lo = 0;
    for hi in 0..times.len() {
        while times[hi] - times[lo] > window_secs {
            lo += 1;
        }
        best = best.max(hi + 1 - lo);
    }
    best
}

fn median(v: &mut [f64]) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn activity(ds: &Dataset, g: &TxGraph, v: u32, events: &[u32]) -> Activity {
    let tx = &ds.tx;
    let (mut out_tx, mut in_tx, mut out_amt, mut in_amt) = (0u32, 0u32, 0.0f64, 0.0f64);
    let (mut round, mut near, mut small, mut declined, mut merchant_tx, mut nonpos, mut promo) =
        (0u32, 0u32, 0u32, 0u32, 0u32, 0u32, 0u32);
    let mut amounts = Vec::with_capacity(events.len());
    let mut times = Vec::with_capacity(events.len());
    let mut cards = Vec::new();
    let mut devices = Vec::new();
    let mut last_in: Option<i64> = None;
    let mut dwell = Vec::new();
    let mut out_amounts: Vec<f64> = Vec::new();
    let mut cash_out = 0u32;
    let mut in_amounts: Vec<f64> = Vec::new();
    for &t in events {
        let t = t as usize;
        let a = tx.amount[t];
        let ts = tx.ts_secs[t];
        times.push(ts);
        if a <= 0.0 {
            nonpos += 1;
        }
        let a = a.max(0.0);
        let outgoing = tx.src[t] == v;
        if tx.declined[t] {
            declined += 1;
        }
        if outgoing {
            if tx.card[t] != NONE {
                cards.push(tx.card[t]);
            }
            if tx.device[t] != NONE {
                devices.push(tx.device[t]);
            }
            if tx.promo[t] != NONE {
                promo += 1;
            }
        }
        if tx.declined[t] {
            continue;
        }
        amounts.push(a);
        if a > 0.0 && (a % 100.0).abs() < 1e-9 {
            round += 1;
        }
        // Just under the usual reporting and review thresholds.
        if (9_000.0..10_000.0).contains(&a) || (4_500.0..5_000.0).contains(&a) {
            near += 1;
        }
        if a <= 5.0 {
            small += 1;
        }
        if outgoing {
            if tx.dst[t] == NONE && tx.merchant[t] == NONE {
                // A cash-out: money leaves the platform, which is what mules do.
                cash_out += 1;
                out_amt += a;
                out_amounts.push(a);
                if let Some(t_in) = last_in.take() {
                    dwell.push((ts - t_in) as f64 / HOUR_SECS as f64);
                }
            } else if tx.dst[t] == NONE {
                merchant_tx += 1;
            } else {
                out_tx += 1;
                out_amt += a;
                out_amounts.push(a);
                if let Some(t_in) = last_in.take() {
                    dwell.push((ts - t_in) as f64 / HOUR_SECS as f64);
                }
            }
        } else {
            in_tx += 1;
            in_amt += a;
            in_amounts.push(a);
            if last_in.is_none() {
                last_in = Some(ts);
            }
        }
    }
    cards.sort_unstable();
    cards.dedup();
    devices.sort_unstable();
    devices.dedup();
    let k = amounts.len().max(1) as f64;
    let mean = amounts.iter().sum::<f64>() / k;
    let cv = if mean > 0.0 && amounts.len() > 1 {
        (amounts.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / k).sqrt() / mean
    } else {
        0.0
    };
    let mut gaps: Vec<f64> = times
        .windows(2)
        .map(|w| (w[1] - w[0]) as f64 / HOUR_SECS as f64)
        .collect();
    let span = times.last().zip(times.first()).map_or(0, |(l, f)| l - f);
    let pass = if in_amt > 0.0 && out_amt > 0.0 {
        (in_amt.min(out_amt) / in_amt.max(out_amt)) as f32
    } else {
        0.0
    };
    let n_ev = events.len().max(1) as f32;
    let out_cv = cv_of(&out_amounts);
    let in_cv = cv_of(&in_amounts);
    let out_n = out_amounts.len();
    let out_median = median(&mut out_amounts);
    let in_median = median(&mut in_amounts);
    let out_min = out_amounts.first().copied();
    let in_min = in_amounts.first().copied();
    out_amounts.dedup();
    Activity {
        out_min_amount: out_min.map_or(-1.0, log1p),
        in_min_amount: in_min.map_or(-1.0, log1p),
        out_median_amount: if out_n > 0 { log1p(out_median) } else { -1.0 },
        in_median_amount: if in_min.is_some() {
            log1p(in_median)
        } else {
            -1.0
        },
        out_amount_cv: out_cv,
        in_amount_cv: in_cv,
        cash_out: log1p(f64::from(cash_out)),
        first_activity_secs: times.first().copied(),
        out_distinct_amount_share: if out_n > 0 {
            out_amounts.len() as f32 / out_n as f32
        } else {
            1.0
        },
        out_tx: log1p(f64::from(out_tx)),
        out_cp: log1p(g.money.out_pairs(v).len() as f64),
        out_amount: log1p(out_amt),
        in_tx: log1p(f64::from(in_tx)),
        in_cp: log1p(g.money.in_pair_ids(v).len() as f64),
        in_amount: log1p(in_amt),
        mean_amount: log1p(mean),
        amount_cv: cv as f32,
        pass_through: pass,
        round_share: round as f32 / k as f32,
        near_threshold_share: near as f32 / k as f32,
        small_share: small as f32 / k as f32,
        declined: log1p(f64::from(declined)),
        declined_share: declined as f32 / n_ev,
        merchant_tx: log1p(f64::from(merchant_tx)),
        merchants: log1p(g.payments.out_pairs(v).len() as f64),
        nonpositive: log1p(f64::from(nonpos)),
        max_1h: max_in_window(&times, HOUR_SECS) as f32,
        max_24h: max_in_window(&times, DAY_SECS) as f32,
        span_days: (span as f64 / DAY_SECS as f64) as f32,
        median_gap_hours: log1p(median(&mut gaps)),
        dwell_hours: if dwell.is_empty() {
            -1.0
        } else {
            log1p(median(&mut dwell))
        },
        promo_uses: log1p(f64::from(promo)),
        cards: cards.len() as f32,
        devices: devices.len() as f32,
    }
}

/// Account-takeover signals: the account's own payments made from a device or IP it rarely
/// uses while other accounts use it too (a fraudster's kit), as a count, an amount share, and
/// how many other accounts that kit serves.
fn foreign_kit(ctx: &FeatureContext<'_>, v: u32, events: &[u32]) -> [f32; 3] {
    let tx = &ctx.ds.tx;
    let mut uses: Vec<(u32, u32)> = Vec::new();
    let mut tagged = 0u32;
    let mut total_amount = 0.0;
    for &i in events {
        let i = i as usize;
        if tx.src[i] != v {
            continue;
        }
        total_amount += tx.amount[i].abs();
        for e in [tx.device[i], tx.ip[i]] {
            if e == NONE {
                continue;
            }
            tagged += 1;
            match uses.iter_mut().find(|(d, _)| *d == e) {
                Some(u) => u.1 += 1,
                None => uses.push((e, 1)),
            }
        }
    }
    if uses.len() < 2 {
        return [0.0; 3];
    }
    let foreign = |e: u32| -> bool {
        let mine = uses.iter().find(|(d, _)| *d == e).map_or(0, |u| u.1);
        4 * mine < tagged && ctx.entity_users(e).iter().any(|&u| u != v)
    };
    let (mut count, mut amount) = (0u32, 0.0);
    for &i in events {
        let i = i as usize;
        if tx.src[i] == v
            && [tx.device[i], tx.ip[i]]
                .iter()
                .any(|&e| e != NONE && foreign(e))
        {
            count += 1;
            amount += tx.amount[i].abs();
        }
    }
    let mut sharers: Vec<u32> = uses
        .iter()
        .filter(|(e, _)| foreign(*e))
        .flat_map(|(e, _)| ctx.entity_users(*e).iter().copied())
        .filter(|&u| u != v)
        .collect();
    sharers.sort_unstable();
    sharers.dedup();
    [
        count as f32,
        if total_amount > 0.0 {
            (amount / total_amount) as f32
        } else {
            0.0
        },
        log1p(sharers.len() as f64),
    ]
}

/// Features that use no labels.
pub fn structural_features(ctx: &FeatureContext<'_>) -> FeatureMatrix {
    let ds = ctx.ds;
    let n = ds.n_accounts();
    let events = &ctx.det.events;
    let acts: Vec<Activity> = (0..n)
        .into_par_iter()
        .map(|v| activity(ds, ctx.graph, v as u32, events.of(v as u32)))
        .collect();
    let kit: Vec<[f32; 3]> = (0..n)
        .into_par_iter()
        .map(|v| foreign_kit(ctx, v as u32, events.of(v as u32)))
        .collect();
    let mut fm = FeatureMatrix::default();
    for (i, name) in [
        "foreign_kit_payments",
        "foreign_kit_amount_share",
        "foreign_kit_sharers",
    ]
    .iter()
    .enumerate()
    {
        fm.push(name, kit.iter().map(|r| r[i]).collect());
    }
    let fwd = forwarding_features(ds, &ctx.det.forwarded);
    fm.push("received_forwarded_max", fwd.received_forwarded_max);
    fm.push("received_forwarded_share", fwd.received_forwarded_share);
    fm.push("sent_forwarded_amount", fwd.sent_forwarded_amount);
    fm.push("sent_forwarded_payees", fwd.sent_forwarded_payees);
    macro_rules! col {
        ($name:literal, $field:ident) => {
            fm.push($name, acts.iter().map(|a| a.$field).collect());
        };
    }
    col!("out_tx", out_tx);
    col!("out_counterparties", out_cp);
    col!("out_amount", out_amount);
    col!("in_tx", in_tx);
    col!("in_counterparties", in_cp);
    col!("in_amount", in_amount);
    col!("mean_amount", mean_amount);
    col!("amount_cv", amount_cv);
    col!("pass_through", pass_through);
    col!("round_amount_share", round_share);
    col!("near_threshold_share", near_threshold_share);
    col!("small_amount_share", small_share);
    col!("declined", declined);
    col!("declined_share", declined_share);
    col!("merchant_tx", merchant_tx);
    col!("merchants", merchants);
    col!("nonpositive_amounts", nonpositive);
    col!("max_tx_1h", max_1h);
    col!("max_tx_24h", max_24h);
    col!("active_span_days", span_days);
    col!("median_gap_hours", median_gap_hours);
    col!("dwell_hours", dwell_hours);
    col!("promo_uses", promo_uses);
    col!("cards", cards);
    col!("devices", devices);
    col!("out_min_amount", out_min_amount);
    col!("in_min_amount", in_min_amount);
    col!("out_median_amount", out_median_amount);
    col!("in_median_amount", in_median_amount);
    col!("out_amount_cv", out_amount_cv);
    col!("in_amount_cv", in_amount_cv);
    col!("out_distinct_amount_share", out_distinct_amount_share);
    col!("cash_out", cash_out);
    // Account age at first activity, and how many accounts opened within a week of it share
    // one of its identifiers (fabricated accounts come in batches).
    let created = &ds.accounts.created_at_secs;
    fm.push(
        "age_at_first_tx_days",
        (0..n)
            .map(|v| match (created[v], acts[v].first_activity_secs) {
                (Some(c), Some(f)) => ((f - c) as f64 / DAY_SECS as f64) as f32,
                _ => -1.0,
            })
            .collect(),
    );
    let mut batch = vec![0f32; n];
    for users in &ctx.entity_users {
        if users.len() < 2 {
            continue;
        }
        for &a in users {
            let Some(ca) = created[a as usize] else {
                continue;
            };
            let k = users
                .iter()
                .filter(|&&b| {
                    b != a && created[b as usize].is_some_and(|cb| (cb - ca).abs() <= 7 * DAY_SECS)
                })
                .count() as f32;
            batch[a as usize] = batch[a as usize].max(k);
        }
    }
    fm.push("opened_with_sharers", batch);
    // Repeated transfers on one pair within a day (structuring), per direction.
    let money = &ctx.graph.money;
    let pair_burst: Vec<u32> = (0..money.pairs.len())
        .into_par_iter()
        .map(|i| {
            let times: Vec<i64> = money
                .txs_of(i)
                .iter()
                .filter(|&&t| !ds.tx.declined[t as usize])
                .map(|&t| ds.tx.ts_secs[t as usize])
                .collect();
            max_in_window(&times, DAY_SECS) as u32
        })
        .collect();
    let mut out_burst = vec![0f32; n];
    let mut in_burst = vec![0f32; n];
    let mut out_burst_tx = vec![0f32; n];
    let mut in_burst_tx = vec![0f32; n];
    for (i, p) in money.pairs.iter().enumerate() {
        let b = pair_burst[i] as f32;
        out_burst[p.src as usize] = out_burst[p.src as usize].max(b);
        in_burst[p.dst as usize] = in_burst[p.dst as usize].max(b);
        if b >= 2.0 {
            out_burst_tx[p.src as usize] += p.count as f32;
            in_burst_tx[p.dst as usize] += p.count as f32;
        }
    }
    let mean_tx_per_pair = |v: usize, out: bool| {
        let (pairs, tx): (usize, u32) = if out {
            let ps = money.out_pairs(v as u32);
            (ps.len(), ps.iter().map(|p| p.count).sum())
        } else {
            let ids = money.in_pair_ids(v as u32);
            (
                ids.len(),
                ids.iter().map(|&i| money.pairs[i as usize].count).sum(),
            )
        };
        if pairs == 0 {
            0.0
        } else {
            tx as f32 / pairs as f32
        }
    };
    fm.push(
        "out_tx_per_payee",
        (0..n).map(|v| mean_tx_per_pair(v, true)).collect(),
    );
    fm.push(
        "in_tx_per_payer",
        (0..n).map(|v| mean_tx_per_pair(v, false)).collect(),
    );
    // Payers' and payees' profiles (the strongest of each).
    let small: Vec<f32> = acts.iter().map(|a| a.small_share).collect();
    let out_min: Vec<f32> = acts.iter().map(|a| a.out_min_amount).collect();
    let out_cv: Vec<f32> = acts.iter().map(|a| a.out_amount_cv).collect();
    let max1h: Vec<f32> = acts.iter().map(|a| a.max_1h).collect();
    let side_max = |v: usize, payers: bool, col: &[f32]| -> f32 {
        if payers {
            money
                .in_pair_ids(v as u32)
                .iter()
                .map(|&i| col[money.pairs[i as usize].src as usize])
                .fold(0.0, f32::max)
        } else {
            money
                .out_pairs(v as u32)
                .iter()
                .map(|p| col[p.dst as usize])
                .fold(0.0, f32::max)
        }
    };
    let side_min = |v: usize, payers: bool, col: &[f32]| -> f32 {
        let it: Vec<f32> = if payers {
            money
                .in_pair_ids(v as u32)
                .iter()
                .map(|&i| col[money.pairs[i as usize].src as usize])
                .collect()
        } else {
            money
                .out_pairs(v as u32)
                .iter()
                .map(|p| col[p.dst as usize])
                .collect()
        };
        it.into_iter()
            .filter(|x| *x >= 0.0)
            .fold(f32::MAX, f32::min)
            .min(20.0)
    };
    fm.push(
        "payer_max_out_pair_burst",
        (0..n).map(|v| side_max(v, true, &out_burst)).collect(),
    );
    fm.push(
        "payer_max_small_share",
        (0..n).map(|v| side_max(v, true, &small)).collect(),
    );
    fm.push(
        "payer_max_out_amount_cv",
        (0..n).map(|v| side_max(v, true, &out_cv)).collect(),
    );
    fm.push(
        "payer_max_tx_1h",
        (0..n).map(|v| side_max(v, true, &max1h)).collect(),
    );
    fm.push(
        "payer_min_out_min_amount",
        (0..n).map(|v| side_min(v, true, &out_min)).collect(),
    );
    fm.push(
        "payee_max_in_pair_burst",
        (0..n).map(|v| side_max(v, false, &in_burst)).collect(),
    );
    fm.push(
        "payee_max_small_share",
        (0..n).map(|v| side_max(v, false, &small)).collect(),
    );
    fm.push(
        "payee_max_out_amount_cv",
        (0..n).map(|v| side_max(v, false, &out_cv)).collect(),
    );
    fm.push(
        "payee_max_tx_1h",
        (0..n).map(|v| side_max(v, false, &max1h)).collect(),
    );
    fm.push("out_pair_burst", out_burst);
    fm.push("in_pair_burst", in_burst);
    fm.push("out_burst_tx", out_burst_tx);
    fm.push("in_burst_tx", in_burst_tx);
    fm.push(
        "self_transfers",
        ctx.graph
            .self_transfers
            .iter()
            .map(|&c| log1p(f64::from(c)))
            .collect(),
    );
    let s = &ctx.det.signals;
    for (name, col) in [
        ("cycles", &s.cycles),
        ("min_cycle_len", &s.min_cycle_len),
        ("fan_in_peak", &s.fan_in_peak),
        ("fan_out_peak", &s.fan_out_peak),
        ("fan_in_amount_cv", &s.fan_in_amount_cv),
        ("fan_out_amount_cv", &s.fan_out_amount_cv),
        ("payer_in_fan_in", &s.in_fan_of_other),
        ("payee_in_fan_out", &s.in_fan_out_of_other),
        ("fan_in_surprise", &s.fan_in_surprise),
        ("fan_out_surprise", &s.fan_out_surprise),
        ("payer_fan_surprise", &s.payer_fan_surprise),
        ("payee_fan_surprise", &s.payee_fan_surprise),
        ("scatter_gather_roles", &s.scatter_gather),
        ("gather_scatter_roles", &s.gather_scatter),
        ("burst_attempts", &s.burst_attempts),
        ("dense_block_density", &s.block_density),
        ("identity_component", &s.identity_component),
        ("max_identifier_sharing", &s.max_identifier_sharing),
        ("shared_identifier_kinds", &s.shared_identifier_kinds),
        ("hub_identifiers", &s.hub_identifiers),
        ("identity_strength", &s.identity_strength),
        ("sharing_span_days", &s.sharing_span_days),
        ("community_size", &s.community_size),
        ("community_internal_share", &s.community_internal_share),
    ] {
        fm.push(name, col.clone());
    }
    for (t, typ) in Typology::ALL.iter().enumerate() {
        fm.push(
            &format!("hit_{}", typ.name()),
            s.hit_strength.iter().map(|h| h[t]).collect(),
        );
    }
    // Cluster memberships: strongest cluster per typology, and the best overall.
    let clusters = &ctx.det.clusters;
    for t in Typology::ALL {
        let col = (0..n)
            .map(|v| {
                ctx.account_clusters[v]
                    .iter()
                    .map(|&c| &clusters[c as usize])
                    .filter(|c| c.typology == t)
                    .map(|c| c.strength as f32)
                    .fold(0.0, f32::max)
            })
            .collect();
        fm.push(&format!("cluster_{}", t.name()), col);
    }
    fm.push(
        "clusters",
        ctx.account_clusters
            .iter()
            .map(|c| c.len() as f32)
            .collect(),
    );
    fm.push(
        "best_cluster_size",
        ctx.account_clusters
            .iter()
            .map(|c| {
                c.first()
                    .map_or(0.0, |&i| log1p(clusters[i as usize].members.len() as f64))
            })
            .collect(),
    );
    // Neighbourhood aggregates over the undirected money graph.
    let g = ctx.money;
    let in_cluster: Vec<bool> = ctx.account_clusters.iter().map(|c| !c.is_empty()).collect();
    let nb: Vec<[f32; 5]> = (0..n as u32)
        .into_par_iter()
        .map(|v| {
            let nbrs = g.neighbors(v);
            if nbrs.is_empty() {
                return [0.0; 5];
            }
            let k = nbrs.len() as f32;
            let mean_deg = nbrs.iter().map(|&u| g.degree(u) as f32).sum::<f32>() / k;
            let max_cycles = nbrs
                .iter()
                .map(|&u| s.cycles[u as usize])
                .fold(0.0, f32::max);
            let mean_fan_in = nbrs.iter().map(|&u| s.fan_in_peak[u as usize]).sum::<f32>() / k;
            let clustered = nbrs.iter().filter(|&&u| in_cluster[u as usize]).count() as f32 / k;
            let two_hop: usize = nbrs
                .iter()
                .map(|&u| g.degree(u).min(TWO_HOP_MAX_DEGREE))
                .sum();
            [
                log1p(f64::from(mean_deg)),
                max_cycles,
                mean_fan_in,
                clustered,
                log1p(two_hop as f64),
            ]
        })
        .collect();
    for (i, name) in [
        "nbr_mean_degree",
        "nbr_max_cycles",
        "nbr_mean_fan_in_peak",
        "nbr_clustered_share",
        "two_hop_reach",
    ]
    .iter()
    .enumerate()
    {
        fm.push(name, nb.iter().map(|r| r[i]).collect());
    }
    let directed = ctx.graph.money_directed(n);
    let pr = super::csr::pagerank(
        &directed,
        PageRankOptions {
            max_iterations: 50,
            tolerance: 1e-9,
            ..Default::default()
        },
    );
    fm.push(
        "pagerank",
        pr.iter().map(|p| (p * n as f64) as f32).collect(),
    );
    let m = &ctx.motifs;
    let logs = |v: &[u32]| v.iter().map(|&x| log1p(f64::from(x))).collect::<Vec<f32>>();
    fm.push("triangles", logs(&m.triangles));
    fm.push("clustering", m.clustering.clone());
    fm.push("reciprocal_counterparties", logs(&m.reciprocal));
    fm.push("cycle_triangles", logs(&m.cycle3));
    fm.push("feed_forward_source", logs(&m.ff_source));
    fm.push("feed_forward_sink", logs(&m.ff_sink));
    fm.push("feed_forward_middle", logs(&m.ff_middle));
    fm.push(
        "four_cycles",
        m.squares.iter().map(|&x| log1p(x as f64)).collect(),
    );
    fm.push("core_number", m.core.iter().map(|&x| x as f32).collect());
    fm
}

/// Features computed from `known` labels only (hide what must not be seen before calling).
/// A first-stage model whose scores stand in for the labels an account's counterparties do not
/// have: gradient-boosted trees on the structural columns, trained on the labels visible to the
/// call (so a row hidden from [`label_features_with`] is scored by a model that never saw it).
pub struct NeighbourModel<'a> {
    /// Structural feature columns (no label-derived ones).
    pub columns: Vec<&'a [f32]>,
    /// Learner settings for the first stage.
    pub params: GbmParams,
}

impl NeighbourModel<'_> {
    /// Scores of every account from a model fitted on the labelled ones in `known`; `None`
    /// when `known` holds one class only.
    fn scores(&self, known: &[Label]) -> Option<Vec<f32>> {
        let rows: Vec<u32> = (0..known.len() as u32)
            .filter(|&v| known[v as usize] != Label::Unknown)
            .collect();
        let y: Vec<bool> = rows
            .iter()
            .map(|&v| known[v as usize] == Label::Fraud)
            .collect();
        if !y.iter().any(|b| *b) || y.iter().all(|b| *b) {
            return None;
        }
        let model = Gbm::fit(&self.columns, &rows, &y, None, &self.params).ok()?;
        let all: Vec<u32> = (0..known.len() as u32).collect();
        Some(
            model
                .predict_proba(&self.columns, &all)
                .into_iter()
                .map(|p| p as f32)
                .collect(),
        )
    }
}

/// Soft guilt by association: each counterparty counts with its label when it has one and
/// with the first-stage score otherwise, summed per direction, over the undirected money
/// graph, weighted by the triangles the pair closes, and averaged two hops out.
fn soft_label_features(
    ctx: &FeatureContext<'_>,
    known: &[Label],
    first: &[f32],
    fm: &mut FeatureMatrix,
) {
    let n = ctx.ds.n_accounts();
    let q: Vec<f32> = (0..n)
        .map(|v| match known[v] {
            Label::Fraud => 1.0,
            Label::Legit => 0.0,
            Label::Unknown => first[v],
        })
        .collect();
    let pairs = &ctx.graph.money;
    let g = ctx.money;
    let rows: Vec<[f32; 7]> = (0..n as u32)
        .into_par_iter()
        .map(|v| {
            let ins = pairs.in_pair_ids(v);
            let payers: f32 = ins
                .iter()
                .map(|&i| pairs.pairs[i as usize].src)
                .filter(|&u| u != v)
                .map(|u| q[u as usize])
                .sum();
            let outs = pairs.out_pairs(v);
            let payees: f32 = outs
                .iter()
                .filter(|p| p.dst != v)
                .map(|p| q[p.dst as usize])
                .sum();
            let nbrs = g.neighbors(v);
            let around: f32 = nbrs.iter().map(|&u| q[u as usize]).sum();
            let common =
                &ctx.motifs.edge_common[ctx.edge_start[v as usize]..ctx.edge_start[v as usize + 1]];
            let triangles: f32 = nbrs
                .iter()
                .zip(common)
                .map(|(&u, &c)| q[u as usize] * c as f32)
                .sum();
            [
                payers,
                payers / (ins.len() as f32 + 1.0),
                payees,
                payees / (outs.len() as f32 + 1.0),
                around,
                around / (nbrs.len() as f32 + 1.0),
                triangles,
            ]
        })
        .collect();
    let two_hop: Vec<f32> = (0..n as u32)
        .into_par_iter()
        .map(|v| {
            let nbrs: Vec<u32> = g
                .neighbors(v)
                .iter()
                .copied()
                .filter(|&u| g.degree(u) <= TWO_HOP_MAX_DEGREE)
                .collect();
            if nbrs.is_empty() {
                return 0.0;
            }
            nbrs.iter().map(|&u| rows[u as usize][5]).sum::<f32>() / nbrs.len() as f32
        })
        .collect();
    // Siblings: the other payees of the account's payers (a fan-out's mules) and the other
    // payers of its payees (a fan-in's feeders), as a q-weighted share.
    let siblings: Vec<[f32; 2]> = (0..n as u32)
        .into_par_iter()
        .map(|v| {
            let (mut payee_sum, mut payee_n) = (0f32, 0u32);
            for &i in pairs.in_pair_ids(v) {
                let u = pairs.pairs[i as usize].src;
                let outs = pairs.out_pairs(u);
                if u == v || outs.len() > TWO_HOP_MAX_DEGREE {
                    continue;
                }
                for p in outs.iter().filter(|p| p.dst != v && p.dst != u) {
                    payee_sum += q[p.dst as usize];
                    payee_n += 1;
                }
            }
            let (mut payer_sum, mut payer_n) = (0f32, 0u32);
            for p in pairs.out_pairs(v) {
                let ins = pairs.in_pair_ids(p.dst);
                if p.dst == v || ins.len() > TWO_HOP_MAX_DEGREE {
                    continue;
                }
                for &i in ins {
                    let w = pairs.pairs[i as usize].src;
                    if w != v && w != p.dst {
                        payer_sum += q[w as usize];
                        payer_n += 1;
                    }
                }
            }
            [
                payee_sum / (payee_n as f32 + 1.0),
                payer_sum / (payer_n as f32 + 1.0),
            ]
        })
        .collect();
    fm.push(
        "soft_fraud_copayee_share",
        siblings.iter().map(|r| r[0]).collect(),
    );
    fm.push(
        "soft_fraud_copayer_share",
        siblings.iter().map(|r| r[1]).collect(),
    );
    for (i, name) in [
        "soft_fraud_payers",
        "soft_fraud_payer_share",
        "soft_fraud_payees",
        "soft_fraud_payee_share",
        "soft_fraud_neighbours",
        "soft_fraud_neighbour_share",
        "soft_fraud_triangles",
    ]
    .iter()
    .enumerate()
    {
        fm.push(name, rows.iter().map(|r| r[i]).collect());
    }
    fm.push("soft_fraud_two_hop_share", two_hop);
}

/// [`label_features_with`] without the first-stage model.
pub fn label_features(ctx: &FeatureContext<'_>, known: &[Label]) -> FeatureMatrix {
    label_features_with(ctx, known, None)
}

/// Features computed from `known` labels only (hide what must not be seen before calling);
/// with `neighbours`, also the soft guilt-by-association columns, whose first-stage model is
/// fitted on `known` too.
pub fn label_features_with(
    ctx: &FeatureContext<'_>,
    known: &[Label],
    neighbours: Option<&NeighbourModel<'_>>,
) -> FeatureMatrix {
    let n = ctx.ds.n_accounts();
    let total = ctx.ppr.n_nodes();
    let seeds = |l: Label| -> Vec<f64> {
        let mut r = vec![0.0; total];
        for (v, k) in known.iter().enumerate() {
            if *k == l {
                r[v] = 1.0;
            }
        }
        r
    };
    // Fifteen steps leave at most 0.85^15 ≈ 9% of the mass unsettled: plenty for a feature.
    let opts = PageRankOptions {
        damping: 0.85,
        max_iterations: 15,
        tolerance: 1e-6,
    };
    let t = std::time::Instant::now();
    let (ppr_f, ppr_l) = rayon::join(
        || ctx.ppr.run(Some(&seeds(Label::Fraud)), opts),
        || ctx.ppr.run(Some(&seeds(Label::Legit)), opts),
    );
    tracing::debug!(
        secs = t.elapsed().as_secs_f64(),
        "personalized PageRank from labels"
    );
    let mut fm = FeatureMatrix::default();
    let scale = n as f64;
    fm.push(
        "ppr_fraud",
        (0..n).map(|v| log1p(ppr_f[v] * scale * 100.0)).collect(),
    );
    fm.push(
        "ppr_legit",
        (0..n).map(|v| log1p(ppr_l[v] * scale * 100.0)).collect(),
    );
    fm.push(
        "ppr_fraud_share",
        (0..n)
            .map(|v| {
                let (f, l) = (ppr_f[v], ppr_l[v]);
                if f + l > 0.0 {
                    (f / (f + l)) as f32
                } else {
                    0.0
                }
            })
            .collect(),
    );
    let g = ctx.money;
    let is_fraud: Vec<bool> = known.iter().map(|l| *l == Label::Fraud).collect();
    let is_legit: Vec<bool> = known.iter().map(|l| *l == Label::Legit).collect();
    let nf: Vec<u32> = (0..n as u32)
        .map(|v| {
            g.neighbors(v)
                .iter()
                .filter(|&&u| is_fraud[u as usize])
                .count() as u32
        })
        .collect();
    let nl: Vec<u32> = (0..n as u32)
        .map(|v| {
            g.neighbors(v)
                .iter()
                .filter(|&&u| is_legit[u as usize])
                .count() as u32
        })
        .collect();
    let money_pairs = &ctx.graph.money;
    let fraud_payers: Vec<f32> = (0..n as u32)
        .map(|v| {
            money_pairs
                .in_pair_ids(v)
                .iter()
                .filter(|&&i| is_fraud[money_pairs.pairs[i as usize].src as usize])
                .count() as f32
        })
        .collect();
    let fraud_payees: Vec<f32> = (0..n as u32)
        .map(|v| {
            money_pairs
                .out_pairs(v)
                .iter()
                .filter(|p| is_fraud[p.dst as usize])
                .count() as f32
        })
        .collect();
    let legit_payers: Vec<f32> = (0..n as u32)
        .map(|v| {
            money_pairs
                .in_pair_ids(v)
                .iter()
                .filter(|&&i| is_legit[money_pairs.pairs[i as usize].src as usize])
                .count() as f32
        })
        .collect();
    let legit_payees: Vec<f32> = (0..n as u32)
        .map(|v| {
            money_pairs
                .out_pairs(v)
                .iter()
                .filter(|p| is_legit[p.dst as usize])
                .count() as f32
        })
        .collect();
    // Co-payers: others paying the same payees (fan-in rings); co-payees likewise (fan-out).
    let copayer: Vec<f32> = (0..n as u32)
        .map(|v| {
            money_pairs
                .out_pairs(v)
                .iter()
                .filter(|p| money_pairs.in_pair_ids(p.dst).len() <= TWO_HOP_MAX_DEGREE)
                .map(|p| fraud_payers[p.dst as usize] - f32::from(u8::from(is_fraud[v as usize])))
                .sum()
        })
        .collect();
    let copayee: Vec<f32> = (0..n as u32)
        .map(|v| {
            money_pairs
                .in_pair_ids(v)
                .iter()
                .map(|&i| money_pairs.pairs[i as usize].src)
                .filter(|&u| money_pairs.out_pairs(u).len() <= TWO_HOP_MAX_DEGREE)
                .map(|u| fraud_payees[u as usize] - f32::from(u8::from(is_fraud[v as usize])))
                .sum()
        })
        .collect();
    fm.push(
        "fraud_payer_share",
        (0..n)
            .map(|v| fraud_payers[v] / (fraud_payers[v] + legit_payers[v] + 1.0))
            .collect(),
    );
    fm.push(
        "fraud_payee_share",
        (0..n)
            .map(|v| fraud_payees[v] / (fraud_payees[v] + legit_payees[v] + 1.0))
            .collect(),
    );
    fm.push("fraud_payers", fraud_payers);
    fm.push("fraud_payees", fraud_payees);
    fm.push("fraud_copayers", copayer);
    fm.push("fraud_copayees", copayee);
    fm.push("fraud_neighbours", nf.iter().map(|&x| x as f32).collect());
    fm.push("legit_neighbours", nl.iter().map(|&x| x as f32).collect());
    fm.push(
        "fraud_neighbour_share",
        (0..n)
            .map(|v| nf[v] as f32 / (nf[v] + nl[v] + 1) as f32)
            .collect(),
    );
    fm.push(
        "fraud_two_hop",
        (0..n as u32)
            .map(|v| {
                g.neighbors(v)
                    .iter()
                    .filter(|&&u| g.degree(u) <= TWO_HOP_MAX_DEGREE)
                    .map(|&u| nf[u as usize] - u32::from(is_fraud[v as usize]))
                    .sum::<u32>() as f32
            })
            .collect(),
    );
    // Fraud-labelled accounts sharing a non-hub identifier.
    let mut shared_fraud = vec![0f32; n];
    for e in &ctx.ds.identity {
        let users = &ctx.entity_users[e.entity as usize];
        if users.len() < 2 {
            continue;
        }
        let f = users
            .iter()
            .filter(|&&u| u != e.account && is_fraud[u as usize])
            .count();
        shared_fraud[e.account as usize] += f as f32;
    }
    fm.push("fraud_sharing_identifiers", shared_fraud);
    // Labelled share inside the account's clusters and community.
    let clusters = &ctx.det.clusters;
    let cl_counts: Vec<(u32, u32)> = clusters
        .iter()
        .map(|c| {
            c.members.iter().fold((0, 0), |(f, l), &m| {
                (
                    f + u32::from(is_fraud[m as usize]),
                    l + u32::from(is_legit[m as usize]),
                )
            })
        })
        .collect();
    let mut cl_share = vec![0f32; n];
    let mut cl_fraud = vec![0f32; n];
    for v in 0..n {
        for &c in &ctx.account_clusters[v] {
            let (f, l) = cl_counts[c as usize];
            cl_share[v] = cl_share[v].max(f as f32 / (f + l + 1) as f32);
            cl_fraud[v] = cl_fraud[v].max(f as f32);
        }
    }
    fm.push("cluster_fraud_share", cl_share);
    fm.push("cluster_fraud_labels", cl_fraud);
    let comm = &ctx.det.community;
    let n_comm = comm.iter().copied().max().map_or(0, |m| m as usize + 1);
    let mut cf = vec![(0u32, 0u32); n_comm];
    for v in 0..n {
        let c = &mut cf[comm[v] as usize];
        c.0 += u32::from(is_fraud[v]);
        c.1 += u32::from(is_legit[v]);
    }
    fm.push(
        "community_fraud_share",
        (0..n)
            .map(|v| {
                let (f, l) = cf[comm[v] as usize];
                f as f32 / (f + l + 1) as f32
            })
            .collect(),
    );
    if let Some(model) = neighbours {
        // One class only: no first stage, counterparties without labels count as 0.
        let first = model.scores(known).unwrap_or_else(|| vec![0.0; n]);
        soft_label_features(ctx, known, &first, &mut fm);
    }
    fm
}

/// Label features for every account where each row in `train` gets values computed with its
/// own inner fold hidden (so it never sees its own label), and every other row gets values
/// from all of `known`.
pub fn out_of_fold_label_features(
    ctx: &FeatureContext<'_>,
    known: &[Label],
    train: &[u32],
    inner_folds: usize,
    seed: u64,
) -> FeatureMatrix {
    out_of_fold_label_features_with(ctx, known, train, inner_folds, seed, None)
}

/// [`out_of_fold_label_features`] with the soft guilt-by-association columns: each inner fold's
/// first-stage model is fitted with that fold's rows hidden, like every other label feature.
pub fn out_of_fold_label_features_with(
    ctx: &FeatureContext<'_>,
    known: &[Label],
    train: &[u32],
    inner_folds: usize,
    seed: u64,
    neighbours: Option<&NeighbourModel<'_>>,
) -> FeatureMatrix {
    let mut full = label_features_with(ctx, known, neighbours);
    if train.is_empty() || inner_folds < 2 {
        return full;
    }
    // Stratified random inner folds over the training rows.
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x1ab3_1f01);
    let mut fraud: Vec<u32> = train
        .iter()
        .copied()
        .filter(|&v| known[v as usize] == Label::Fraud)
        .collect();
    let mut other: Vec<u32> = train
        .iter()
        .copied()
        .filter(|&v| known[v as usize] != Label::Fraud)
        .collect();
    fraud.shuffle(&mut rng);
    other.shuffle(&mut rng);
    let mut fold_of: Vec<(u32, usize)> = Vec::with_capacity(train.len());
    for (i, &v) in fraud.iter().chain(other.iter()).enumerate() {
        fold_of.push((v, i % inner_folds));
    }
    let per_fold: Vec<(Vec<u32>, FeatureMatrix)> = (0..inner_folds)
        .map(|f| {
            let rows: Vec<u32> = fold_of.iter().filter(|x| x.1 == f).map(|x| x.0).collect();
            let mut hidden = known.to_vec();
            for &v in &rows {
                hidden[v as usize] = Label::Unknown;
            }
            (rows, label_features_with(ctx, &hidden, neighbours))
        })
        .collect();
    for (rows, fm) in per_fold {
        for (c, col) in fm.columns.iter().enumerate() {
            for &v in &rows {
                full.columns[c][v as usize] = col[v as usize];
            }
        }
    }
    full
}
