//! Candidate rings: typology detectors over the aggregated graphs, each bounded so a hub cannot
//! blow up its work, and the merge of their hits into clusters.
//!
//! Every hit carries structured [`Evidence`] (entity and account indices, transaction indices,
//! amounts, times) from which reasons are worded and against which tests re-query SQLite.

mod bursts;
mod cycles;
mod dense;
mod fans;
mod identity;
mod relay;
mod takeover;

use std::sync::atomic::{AtomicBool, Ordering};

use super::csr::{Csr, UnionFind, label_propagation_with};
use super::dataset::{AccountEvents, Dataset};
use super::graph::TxGraph;

pub use bursts::detect_card_bursts;
pub use cycles::detect_cycles;
pub use dense::{DenseInput, densest_blocks};
pub use fans::{Alike, FanHit, detect_fans, detect_gather_scatter, detect_scatter_gather};
pub use identity::detect_shared_identity;
pub use relay::detect_relays;
pub use takeover::detect_takeovers;

const DAY_SECS: i64 = 86_400;

/// Detector settings. Windows are in seconds; every enumeration has a bound.
#[derive(Clone, Debug)]
pub struct DetectOptions {
    /// An identifier used by more accounts than this is a hub (public Wi-Fi, shop kiosk) and
    /// links nobody.
    pub max_accounts_per_identifier: usize,
    /// Largest shared-identity component: links that would grow one past this are skipped.
    pub max_identity_component: usize,
    /// Longest directed cycle searched.
    pub max_cycle_len: usize,
    /// A cycle's transfers must follow each other in time within this span.
    pub cycle_window_secs: i64,
    /// Nodes with more distinct payees than this are not walked through by the cycle search.
    pub cycle_max_out_degree: usize,
    /// Search steps per cycle start node.
    pub cycle_steps_per_start: usize,
    /// Search steps over the whole graph.
    pub cycle_steps_total: usize,
    /// Cycles reported at most.
    pub max_cycles: usize,
    /// Window for fan-in, fan-out, scatter-gather and gather-scatter.
    pub fan_window_secs: i64,
    /// Distinct counterparties in the window that make a fan.
    pub min_fan: usize,
    /// More distinct counterparties than this in the window is a business hub, not a ring.
    pub max_fan: usize,
    /// Intermediates needed for scatter-gather.
    pub min_intermediates: usize,
    /// Intermediates with more payees than this are not followed (they are not mules).
    pub max_intermediate_out_degree: usize,
    /// Window of a card-testing burst.
    pub burst_window_secs: i64,
    /// Attempts in the window that make a burst.
    pub min_burst_attempts: usize,
    /// Dense blocks extracted per bipartite graph.
    pub max_dense_blocks: usize,
    /// Smallest dense block reported (accounts).
    pub min_block_accounts: usize,
    /// Largest cluster a merge may produce.
    pub max_cluster_size: usize,
    /// Label propagation sweeps.
    pub lpa_max_sweeps: usize,
    /// Seed for the randomised steps (label propagation order).
    pub seed: u64,
}

impl Default for DetectOptions {
    fn default() -> Self {
        Self {
            max_accounts_per_identifier: 25,
            max_identity_component: 30,
            max_cycle_len: 10,
            cycle_window_secs: 30 * DAY_SECS,
            cycle_max_out_degree: 100,
            cycle_steps_per_start: 500,
            cycle_steps_total: 20_000_000,
            max_cycles: 50_000,
            fan_window_secs: 7 * DAY_SECS,
            min_fan: 3,
            max_fan: 60,
            min_intermediates: 3,
            max_intermediate_out_degree: 20,
            burst_window_secs: 10 * 60,
            min_burst_attempts: 10,
            max_dense_blocks: 6,
            min_block_accounts: 3,
            max_cluster_size: 200,
            lpa_max_sweeps: 30,
            seed: 0,
        }
    }
}

/// What kind of ring a candidate looks like.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Typology {
    /// Accounts tied by shared devices, cards, IPs, e-mails, phones or ids.
    SharedIdentity,
    /// Money returning to where it started.
    Cycle,
    /// Many payers into one account in a short window.
    FanIn,
    /// One account paying many in a short window.
    FanOut,
    /// One source splits money over intermediates that pay one sink.
    ScatterGather,
    /// One account gathers from many and pays out to many.
    GatherScatter,
    /// Many small or declined card attempts at one merchant in minutes.
    CardTesting,
    /// Several accounts drained, into a payee or to cash, on a device or IP address the payee
    /// uses and they rarely do.
    AccountTakeover,
    /// Money passed on within days along a chain or fan of accounts (mule layering).
    RapidRelay,
    /// A block of accounts and merchants/devices/codes with far more links than chance.
    DenseBlock,
    /// A tight community of the money graph.
    MoneyCommunity,
}

impl Typology {
    /// Whether hits of this typology merge into one cluster only when they overlap well
    /// (hub-centred patterns, where one shared account is chance), not on any shared account.
    pub fn merges_on_overlap(self) -> bool {
        matches!(
            self,
            Self::FanIn | Self::FanOut | Self::ScatterGather | Self::GatherScatter
        )
    }

    /// The name written to `clusters.csv`.
    pub fn name(self) -> &'static str {
        match self {
            Self::SharedIdentity => "shared_identity",
            Self::Cycle => "cycle",
            Self::FanIn => "fan_in",
            Self::FanOut => "fan_out",
            Self::ScatterGather => "scatter_gather",
            Self::GatherScatter => "gather_scatter",
            Self::CardTesting => "card_testing",
            Self::AccountTakeover => "account_takeover",
            Self::RapidRelay => "rapid_relay",
            Self::DenseBlock => "dense_block",
            Self::MoneyCommunity => "money_community",
        }
    }

    /// All typologies, in a fixed order (feature columns follow it).
    pub const ALL: [Typology; 11] = [
        Self::SharedIdentity,
        Self::Cycle,
        Self::FanIn,
        Self::FanOut,
        Self::ScatterGather,
        Self::GatherScatter,
        Self::CardTesting,
        Self::AccountTakeover,
        Self::RapidRelay,
        Self::DenseBlock,
        Self::MoneyCommunity,
    ];
}

/// A node in a dense block that is not an account.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockObject {
    /// An entity (merchant, device, card, IP, ...).
    Entity(u32),
    /// A promo code index.
    Promo(u32),
    /// An account on the receiving side of transfers.
    Payee(u32),
}

/// The facts behind a hit, by index into the [`Dataset`].
#[derive(Clone, Debug, PartialEq)]
pub enum Evidence {
    /// Accounts sharing one identifier; times are the span of their first uses.
    SharedEntity {
        /// Entity index.
        entity: u32,
        /// Accounts using it (sorted).
        accounts: Vec<u32>,
        /// Earliest first use, when recorded.
        first_ts_secs: Option<i64>,
        /// Latest first use, when recorded.
        last_ts_secs: Option<i64>,
    },
    /// Accounts holding near-identical identifiers of one kind (sequential national ids or
    /// phone numbers, e-mail addresses that differ only in digits).
    SimilarIdentifiers {
        /// Entity indices, in value order.
        entities: Vec<u32>,
        /// Accounts holding them (sorted).
        accounts: Vec<u32>,
    },
    /// A time-ordered cycle of transfers.
    Cycle {
        /// Accounts in cycle order (the first is paid again by the last).
        accounts: Vec<u32>,
        /// One transaction index per hop, in time order.
        tx: Vec<u32>,
    },
    /// Many payers into one account.
    FanIn(FanHit),
    /// One payer into many accounts.
    FanOut(FanHit),
    /// Source → intermediates → sink.
    ScatterGather {
        /// The splitting account.
        source: u32,
        /// The gathering account.
        sink: u32,
        /// Accounts in between (sorted).
        intermediates: Vec<u32>,
        /// Transfers source→intermediates, then intermediates→sink (transaction indices).
        tx: Vec<u32>,
    },
    /// In from many, out to many.
    GatherScatter {
        /// The fan-in side.
        gather: FanHit,
        /// The fan-out side.
        scatter: FanHit,
    },
    /// A burst of card attempts at one merchant.
    CardBurst {
        /// Merchant entity index.
        merchant: u32,
        /// Transaction indices in the burst, in time order.
        tx: Vec<u32>,
    },
    /// Payments from several accounts on a device their payee uses itself, and cash-outs by
    /// others on it around them (account takeover).
    Takeover {
        /// Device or IP address entity index.
        identifier: u32,
        /// The taken-over accounts, which paid the payees or cashed out on the device (sorted).
        payers: Vec<u32>,
        /// The accounts paid, which use the device themselves (sorted).
        payees: Vec<u32>,
        /// The payments and cash-outs, in time order.
        tx: Vec<u32>,
    },
    /// A dense block (FRAUDAR).
    DenseBlock {
        /// Accounts in the block (sorted).
        accounts: Vec<u32>,
        /// The other side of the block.
        objects: Vec<BlockObject>,
        /// Links inside the block.
        edges: u32,
        /// Weighted links per node (FRAUDAR's objective).
        density: f64,
    },
    /// Money an account received and passed on soon after (a mule's or collector's trail).
    Forwarded {
        /// The account that passed the money on.
        account: u32,
        /// The incoming transfer (transaction index).
        receipt: u32,
        /// The outgoing transfers and cash-outs that carried it on, in time order.
        onward: Vec<u32>,
        /// How much of the receipt they carried (at most the receipt's amount).
        passed_on: f64,
    },
    /// A community found by label propagation on the money graph.
    Community {
        /// Members (sorted).
        accounts: Vec<u32>,
        /// Account pairs with transfers inside.
        internal_pairs: u32,
        /// Pairs crossing the boundary.
        boundary_pairs: u32,
    },
}

/// One detector hit.
#[derive(Clone, Debug, PartialEq)]
pub struct Candidate {
    /// Ring kind.
    pub typology: Typology,
    /// Accounts involved (sorted, deduplicated).
    pub members: Vec<u32>,
    /// Detector's own suspicion in [0, 1], before any learning.
    pub strength: f64,
    /// Facts behind it.
    pub evidence: Vec<Evidence>,
}

/// A merged group of hits of one typology: what `clusters.csv` lists.
#[derive(Clone, Debug, PartialEq)]
pub struct Cluster {
    /// Dominant typology.
    pub typology: Typology,
    /// Accounts (sorted).
    pub members: Vec<u32>,
    /// Strongest hit's strength, nudged up by the number of hits.
    pub strength: f64,
    /// Evidence of the strongest hits (at most a few).
    pub evidence: Vec<Evidence>,
    /// Number of hits merged.
    pub hits: u32,
}

/// Per-account numbers the detectors produce, used as features.
#[derive(Clone, Debug, Default)]
pub struct AccountSignals {
    /// Time-ordered cycles through the account.
    pub cycles: Vec<f32>,
    /// Shortest such cycle (0 = none).
    pub min_cycle_len: Vec<f32>,
    /// Largest number of distinct payers in one fan window.
    pub fan_in_peak: Vec<f32>,
    /// Largest number of distinct payees in one fan window.
    pub fan_out_peak: Vec<f32>,
    /// Coefficient of variation of the amounts in the peak fan-in window.
    pub fan_in_amount_cv: Vec<f32>,
    /// Coefficient of variation of the amounts in the peak fan-out window.
    pub fan_out_amount_cv: Vec<f32>,
    /// Times the account was a payer in someone's fan-in.
    pub in_fan_of_other: Vec<f32>,
    /// Times the account was a payee in someone's fan-out.
    pub in_fan_out_of_other: Vec<f32>,
    /// Surprise of the account's look-alike fan-in episode (-log10 of the smaller tail: that
    /// many like-sized receipts against its own rate or the workspace's mix of sizes; 0 = none).
    pub fan_in_surprise: Vec<f32>,
    /// Surprise of its look-alike fan-out episode.
    pub fan_out_surprise: Vec<f32>,
    /// Largest surprise of a look-alike fan-in the account paid into.
    pub payer_fan_surprise: Vec<f32>,
    /// Largest surprise of a look-alike fan-out the account was paid from.
    pub payee_fan_surprise: Vec<f32>,
    /// Scatter-gather roles (source, intermediate or sink).
    pub scatter_gather: Vec<f32>,
    /// Gather-scatter roles.
    pub gather_scatter: Vec<f32>,
    /// Attempts in card bursts the account took part in.
    pub burst_attempts: Vec<f32>,
    /// Density of the densest block holding the account (0 = none).
    pub block_density: Vec<f32>,
    /// Size of the account's shared-identity component (1 = alone).
    pub identity_component: Vec<f32>,
    /// Most accounts sharing any one of its non-hub identifiers.
    pub max_identifier_sharing: Vec<f32>,
    /// Distinct kinds of identifier it shares with others.
    pub shared_identifier_kinds: Vec<f32>,
    /// Hub identifiers it uses.
    pub hub_identifiers: Vec<f32>,
    /// Strength of its own most telling shared identifier (not its component's).
    pub identity_strength: Vec<f32>,
    /// Strongest raw hit holding the account, per typology (in [`Typology::ALL`] order).
    pub hit_strength: Vec<[f32; Typology::ALL.len()]>,
    /// Days between the first and last first-use of its most shared identifier.
    pub sharing_span_days: Vec<f32>,
    /// Size of its label-propagation community.
    pub community_size: Vec<f32>,
    /// Share of its community's transfer pairs that stay inside.
    pub community_internal_share: Vec<f32>,
}

impl AccountSignals {
    fn zeros(n: usize) -> Self {
        let z = vec![0f32; n];
        Self {
            cycles: z.clone(),
            min_cycle_len: z.clone(),
            fan_in_peak: z.clone(),
            fan_out_peak: z.clone(),
            fan_in_amount_cv: z.clone(),
            fan_out_amount_cv: z.clone(),
            in_fan_of_other: z.clone(),
            in_fan_out_of_other: z.clone(),
            fan_in_surprise: z.clone(),
            fan_out_surprise: z.clone(),
            payer_fan_surprise: z.clone(),
            payee_fan_surprise: z.clone(),
            scatter_gather: z.clone(),
            gather_scatter: z.clone(),
            burst_attempts: z.clone(),
            block_density: z.clone(),
            identity_component: vec![1.0; n],
            max_identifier_sharing: z.clone(),
            shared_identifier_kinds: z.clone(),
            hub_identifiers: z.clone(),
            identity_strength: z.clone(),
            hit_strength: vec![[0.0; Typology::ALL.len()]; n],
            sharing_span_days: z.clone(),
            community_size: vec![1.0; n],
            community_internal_share: z,
        }
    }
}

/// All detector output.
#[derive(Clone, Debug, Default)]
pub struct Detections {
    /// Raw hits.
    pub candidates: Vec<Candidate>,
    /// Merged clusters, strongest first.
    pub clusters: Vec<Cluster>,
    /// Per-account signals.
    pub signals: AccountSignals,
    /// Label-propagation community per account.
    pub community: Vec<u32>,
    /// Identifiers judged hubs (entity indices).
    pub hub_entities: Vec<u32>,
    /// Notes on bounds that were hit (shown in metrics).
    pub notes: Vec<String>,
    /// Each account's transactions in time order (read once, shared with features and
    /// reasons).
    pub events: AccountEvents,
    /// Per transaction, the amount its receiver passed on soon after
    /// ([`crate::fraud::forwarding::forwarded_amounts`]).
    pub forwarded: Vec<f64>,
}

/// Runs every detector. Returns `None` when `cancel` was set.
pub fn detect_all(
    ds: &Dataset,
    g: &TxGraph,
    money_undirected: &Csr,
    opts: &DetectOptions,
    cancel: &AtomicBool,
) -> Option<Detections> {
    let n = ds.n_accounts();
    let mut det = Detections {
        signals: AccountSignals::zeros(n),
        ..Default::default()
    };
    let stop = || cancel.load(Ordering::Relaxed);

    let timed = |name: &'static str, t: std::time::Instant| {
        tracing::debug!(
            detector = name,
            secs = t.elapsed().as_secs_f64(),
            "detector finished"
        );
    };
    let ((ident, cyc), (fans, (bursts, community))) = rayon::join(
        || {
            rayon::join(
                || {
                    let t = std::time::Instant::now();
                    let r = detect_shared_identity(ds, opts);
                    timed("identity", t);
                    r
                },
                || {
                    let t = std::time::Instant::now();
                    let r = detect_cycles(ds, g, opts);
                    timed("cycles", t);
                    r
                },
            )
        },
        || {
            rayon::join(
                || {
                    let t = std::time::Instant::now();
                    let r = detect_fans(ds, g, opts);
                    timed("fans", t);
                    r
                },
                || {
                    rayon::join(
                        || {
                            let t = std::time::Instant::now();
                            let r = detect_card_bursts(ds, opts);
                            timed("bursts", t);
                            r
                        },
                        || {
                            let t = std::time::Instant::now();
                            // Fine resolution: small tight communities, not flooded regions.
                            let r = label_propagation_with(
                                money_undirected,
                                opts.seed,
                                opts.lpa_max_sweeps,
                                true,
                            );
                            timed("label_propagation", t);
                            r
                        },
                    )
                },
            )
        },
    );
    if stop() {
        return None;
    }
    // Identity.
    for (i, v) in ident.signals.component_size.iter().enumerate() {
        det.signals.identity_component[i] = *v;
    }
    det.signals.max_identifier_sharing = ident.signals.max_sharing;
    det.signals.shared_identifier_kinds = ident.signals.shared_kinds;
    det.signals.hub_identifiers = ident.signals.hubs_used;
    det.signals.identity_strength = ident.signals.account_strength;
    det.signals.sharing_span_days = ident.signals.span_days;
    det.hub_entities = ident.hubs;
    det.candidates.extend(ident.candidates);
    let t = std::time::Instant::now();
    det.candidates
        .extend(detect_takeovers(ds, &det.hub_entities));
    timed("takeover", t);
    let t = std::time::Instant::now();
    det.events = ds.account_events();
    det.forwarded = crate::fraud::forwarding::forwarded_amounts(ds, &det.events);
    det.candidates
        .extend(detect_relays(ds, g, &det.forwarded, &det.events));
    timed("relay", t);
    // Cycles.
    for c in &cyc.candidates {
        let len = c.members.len() as f32;
        for &m in &c.members {
            det.signals.cycles[m as usize] += 1.0;
            let cur = &mut det.signals.min_cycle_len[m as usize];
            if *cur == 0.0 || len < *cur {
                *cur = len;
            }
        }
    }
    det.notes.extend(cyc.notes);
    det.candidates.extend(cyc.candidates);
    // Fans and the patterns built on them.
    for h in &fans.fan_in {
        let s = &mut det.signals;
        s.fan_in_peak[h.center as usize] =
            s.fan_in_peak[h.center as usize].max(h.counterparties.len() as f32);
        s.fan_in_amount_cv[h.center as usize] = h.amount_cv as f32;
        for &c in &h.counterparties {
            s.in_fan_of_other[c as usize] += 1.0;
        }
        note_alike(h, &mut s.fan_in_surprise, &mut s.payer_fan_surprise);
    }
    for h in &fans.fan_out {
        let s = &mut det.signals;
        s.fan_out_peak[h.center as usize] =
            s.fan_out_peak[h.center as usize].max(h.counterparties.len() as f32);
        s.fan_out_amount_cv[h.center as usize] = h.amount_cv as f32;
        for &c in &h.counterparties {
            s.in_fan_out_of_other[c as usize] += 1.0;
        }
        note_alike(h, &mut s.fan_out_surprise, &mut s.payee_fan_surprise);
    }
    for (center, peak) in &fans.peaks_in {
        let s = &mut det.signals.fan_in_peak[*center as usize];
        *s = s.max(*peak as f32);
    }
    for (center, peak) in &fans.peaks_out {
        let s = &mut det.signals.fan_out_peak[*center as usize];
        *s = s.max(*peak as f32);
    }
    let t = std::time::Instant::now();
    let sg = detect_scatter_gather(ds, g, opts);
    let gs = detect_gather_scatter(&fans, opts);
    timed("scatter_gather", t);
    for c in &sg {
        for &m in &c.members {
            det.signals.scatter_gather[m as usize] += 1.0;
        }
    }
    for c in &gs {
        for &m in &c.members {
            det.signals.gather_scatter[m as usize] += 1.0;
        }
    }
    det.candidates.extend(fans.candidates(opts));
    det.candidates.extend(sg);
    det.candidates.extend(gs);
    if stop() {
        return None;
    }
    // Card bursts.
    for c in &bursts {
        if let Some(Evidence::CardBurst { tx, .. }) = c.evidence.first() {
            for &t in tx {
                det.signals.burst_attempts[ds.tx.src[t as usize] as usize] += 1.0;
            }
        }
    }
    det.candidates.extend(bursts);
    // Dense blocks: accounts × (merchants, identifiers, promo codes), and payers × payees.
    let inputs = [
        DenseInput::objects(ds, g, &det.hub_entities),
        DenseInput::money(g, n),
    ];
    let t = std::time::Instant::now();
    let blocks: Vec<Vec<Candidate>> = {
        use rayon::prelude::*;
        inputs
            .par_iter()
            .map(|input| densest_blocks(input, opts))
            .collect()
    };
    timed("dense_blocks", t);
    for c in blocks.into_iter().flatten() {
        if let Some(Evidence::DenseBlock { density, .. }) = c.evidence.first() {
            for &m in &c.members {
                let s = &mut det.signals.block_density[m as usize];
                *s = s.max(*density as f32);
            }
        }
        det.candidates.push(c);
    }
    if stop() {
        return None;
    }
    // Money communities.
    let t = std::time::Instant::now();
    community_candidates(g, &community, opts, &mut det);
    det.community = community;
    det.candidates.sort_by(|a, b| {
        (a.typology, &a.members)
            .cmp(&(b.typology, &b.members))
            .then(b.strength.total_cmp(&a.strength))
    });
    det.candidates
        .dedup_by(|a, b| a.typology == b.typology && a.members == b.members);
    for c in &det.candidates {
        let t = Typology::ALL
            .iter()
            .position(|x| *x == c.typology)
            .unwrap_or(0);
        for &m in &c.members {
            let slot = &mut det.signals.hit_strength[m as usize][t];
            *slot = slot.max(c.strength as f32);
        }
    }
    for (v, s) in det.signals.identity_strength.iter().enumerate() {
        // A shared-identity component counts for each member only as much as its own
        // identifiers say.
        let slot = &mut det.signals.hit_strength[v][0];
        *slot = slot.min(*s);
    }
    det.clusters = merge_candidates(&det.candidates, opts.max_cluster_size);
    timed("communities_and_merge", t);
    Some(det)
}

fn community_candidates(
    g: &TxGraph,
    community: &[u32],
    opts: &DetectOptions,
    det: &mut Detections,
) {
    let n_comm = community
        .iter()
        .copied()
        .max()
        .map_or(0, |m| m as usize + 1);
    let mut size = vec![0u32; n_comm];
    for &c in community {
        size[c as usize] += 1;
    }
    let mut internal = vec![0u32; n_comm];
    let mut boundary = vec![0u32; n_comm];
    for p in &g.money.pairs {
        let (a, b) = (community[p.src as usize], community[p.dst as usize]);
        if a == b {
            internal[a as usize] += 1;
        } else {
            boundary[a as usize] += 1;
            boundary[b as usize] += 1;
        }
    }
    let mut members: Vec<Vec<u32>> = vec![Vec::new(); n_comm];
    for (v, &comm) in community.iter().enumerate() {
        let c = comm as usize;
        det.signals.community_size[v] = size[c] as f32;
        let total = internal[c] + boundary[c];
        det.signals.community_internal_share[v] = if total > 0 {
            internal[c] as f32 / total as f32
        } else {
            0.0
        };
        if (3..=opts.max_cluster_size.min(50) as u32).contains(&size[c]) {
            members[c].push(v as u32);
        }
    }
    for (c, m) in members.into_iter().enumerate() {
        if m.is_empty() {
            continue;
        }
        let total = internal[c] + boundary[c];
        let share = internal[c] as f64 / f64::from(total.max(1));
        let k = m.len() as f64;
        // A tree needs k-1 pairs; more internal pairs than that and a closed boundary mark a
        // ring rather than a random neighbourhood.
        if share < 0.5 || f64::from(internal[c]) < k {
            continue;
        }
        det.candidates.push(Candidate {
            typology: Typology::MoneyCommunity,
            strength: (0.15 + 0.4 * (share - 0.5)).clamp(0.0, 0.4),
            evidence: vec![Evidence::Community {
                accounts: m.clone(),
                internal_pairs: internal[c],
                boundary_pairs: boundary[c],
            }],
            members: m,
        });
    }
}

/// Records a look-alike fan's surprise on its centre (`hub`) and its counterparties
/// (`members`), keeping each account's largest.
fn note_alike(h: &FanHit, hub: &mut [f32], members: &mut [f32]) {
    let Some(a) = h.alike else { return };
    let x = a.surprise as f32;
    let raise = |slot: &mut f32| *slot = slot.max(x);
    raise(&mut hub[h.center as usize]);
    for &c in &h.counterparties {
        raise(&mut members[c as usize]);
    }
}

/// Hits an account is looked up in when hub-centred hits are merged (bounds the overlap count
/// for an account that sits in thousands of fans).
const MAX_HOLDERS_PER_ACCOUNT: usize = 64;

/// Pieces of evidence a cluster keeps.
const CLUSTER_EVIDENCE: usize = 3;

/// Merges hits of the same typology that share an account into one cluster, never past
/// `max_size` accounts, strongest hits first so a merge cap keeps the best ones together.
pub fn merge_candidates(cands: &[Candidate], max_size: usize) -> Vec<Cluster> {
    let mut clusters = Vec::new();
    for t in Typology::ALL {
        let mut idx: Vec<usize> = (0..cands.len())
            .filter(|&i| cands[i].typology == t)
            .collect();
        idx.sort_by(|&a, &b| {
            cands[b]
                .strength
                .total_cmp(&cands[a].strength)
                .then(a.cmp(&b))
        });
        let mut uf = UnionFind::new(idx.len());
        let mut size: Vec<usize> = idx.iter().map(|&i| cands[i].members.len()).collect();
        let join = |uf: &mut UnionFind, size: &mut [usize], a: u32, b: u32| {
            let (ra, rb) = (uf.find(a), uf.find(b));
            if ra != rb && size[ra as usize] + size[rb as usize] <= max_size {
                let merged = size[ra as usize] + size[rb as usize];
                uf.union(ra, rb);
                let r = uf.find(ra);
                size[r as usize] = merged; // an upper bound: shared members count twice
            }
        };
        if t.merges_on_overlap() {
            // Hub-centred hits: one shared account is chance (anyone pays two shops), so two hits
            // merge only when they share at least two accounts and half of the smaller one.
            let mut holders: std::collections::HashMap<u32, Vec<u32>> =
                std::collections::HashMap::new();
            let mut shared: std::collections::HashMap<u32, usize> =
                std::collections::HashMap::new();
            for (k, &i) in idx.iter().enumerate() {
                shared.clear();
                for &m in &cands[i].members {
                    let h = holders.entry(m).or_default();
                    for &j in h.iter() {
                        *shared.entry(j).or_default() += 1;
                    }
                    if h.len() < MAX_HOLDERS_PER_ACCOUNT {
                        h.push(k as u32);
                    }
                }
                let mut close: Vec<u32> = shared
                    .iter()
                    .filter(|&(&j, &n)| {
                        let smaller = cands[i]
                            .members
                            .len()
                            .min(cands[idx[j as usize]].members.len());
                        n >= 2 && 2 * n >= smaller
                    })
                    .map(|(&j, _)| j)
                    .collect();
                close.sort_unstable(); // strongest first, for a deterministic cap
                for j in close {
                    join(&mut uf, &mut size, k as u32, j);
                }
            }
        } else {
            let mut owner: std::collections::HashMap<u32, u32> = std::collections::HashMap::new();
            for (k, &i) in idx.iter().enumerate() {
                for &m in &cands[i].members {
                    match owner.get(&m) {
                        None => {
                            owner.insert(m, k as u32);
                        }
                        Some(&other) => join(&mut uf, &mut size, k as u32, other),
                    }
                }
            }
        }
        let comps = uf.components();
        let mut groups: Vec<Vec<usize>> = vec![Vec::new(); comps.sizes.len()];
        for (k, &c) in comps.id.iter().enumerate() {
            groups[c as usize].push(idx[k]);
        }
        for g in groups {
            let mut members: Vec<u32> = g
                .iter()
                .flat_map(|&i| cands[i].members.iter().copied())
                .collect();
            members.sort_unstable();
            members.dedup();
            let best = g.iter().map(|&i| cands[i].strength).fold(0.0f64, f64::max);
            let hits = g.len() as u32;
            let strength = (best + 0.05 * (hits as f64 - 1.0).min(4.0)).min(1.0);
            // One piece from each of the strongest hits first, then more from the same hits
            // (a relay group's several forwarding accounts), three at most.
            let mut evidence: Vec<Evidence> = g
                .iter()
                .take(CLUSTER_EVIDENCE)
                .filter_map(|&i| cands[i].evidence.first().cloned())
                .collect();
            for &i in &g {
                for e in cands[i].evidence.iter().skip(1) {
                    if evidence.len() < CLUSTER_EVIDENCE {
                        evidence.push(e.clone());
                    }
                }
            }
            clusters.push(Cluster {
                typology: t,
                members,
                strength,
                evidence,
                hits,
            });
        }
    }
    clusters.sort_by(|a, b| {
        b.strength
            .total_cmp(&a.strength)
            .then(b.members.len().cmp(&a.members.len()))
            .then(a.members.cmp(&b.members))
    });
    clusters
}
