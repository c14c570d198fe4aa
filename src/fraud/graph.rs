//! The transaction graph: transfers aggregated per (payer, payee) pair, payments aggregated per
//! (account, merchant) pair, CSR views for the kernels, and the heterogeneous petgraph used by
//! the explorer (accounts and entities as nodes; transfer, payment and identity edges).
//!
//! Aggregation sorts `(pair, time)` keys with rayon's parallel sort, the one step at a million
//! transactions that pays for threads; everything else is a linear scan.

use petgraph::graph::{Graph, NodeIndex};
use rayon::prelude::*;

use super::csr::Csr;
use super::dataset::{Dataset, EntityKind, NONE};

/// All transfers (or payments) from one account to one counterparty.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PairEdge {
    /// Paying account index.
    pub src: u32,
    /// Receiving account index (money graph) or merchant entity index (payments).
    pub dst: u32,
    /// Number of transactions, declined ones included.
    pub count: u32,
    /// Sum of approved, positive amounts.
    pub total_amount: f64,
    /// Earliest transaction, Unix seconds.
    pub first_ts_secs: i64,
    /// Latest transaction, Unix seconds.
    pub last_ts_secs: i64,
    /// Start of this pair's transactions in [`PairGraph::pair_tx`] (its end is the next start).
    pub tx_start: u32,
}

/// Pairs sorted by (src, dst), with per-pair transaction lists and both adjacency directions.
#[derive(Clone, Debug, Default)]
pub struct PairGraph {
    /// Aggregated pairs, sorted by (src, dst).
    pub pairs: Vec<PairEdge>,
    /// Transaction indices grouped by pair, in time order within a pair.
    pub pair_tx: Vec<u32>,
    /// `out_offsets[v]..out_offsets[v+1]` are the pairs paid by `v` (indices into `pairs`).
    pub out_offsets: Vec<u32>,
    /// Pair indices grouped by receiver; `in_offsets` delimits each receiver's run.
    pub in_pairs: Vec<u32>,
    /// Offsets into `in_pairs` per receiver.
    pub in_offsets: Vec<u32>,
}

impl PairGraph {
    /// Aggregates `(src, dst, tx index)` triples. `n_src`/`n_dst` size the two index spaces.
    fn build(n_src: usize, n_dst: usize, mut keys: Vec<(u64, u32)>, ds: &Dataset) -> Self {
        keys.par_sort_unstable();
        let mut pairs: Vec<PairEdge> = Vec::new();
        let mut pair_tx = Vec::with_capacity(keys.len());
        for &(key, t) in &keys {
            let (src, dst) = ((key >> 32) as u32, key as u32);
            let tu = t as usize;
            let ts = ds.tx.ts_secs[tu];
            let amount = if ds.tx.declined[tu] {
                0.0
            } else {
                ds.tx.amount[tu].max(0.0)
            };
            match pairs.last_mut() {
                Some(p) if p.src == src && p.dst == dst => {
                    p.count += 1;
                    p.total_amount += amount;
                    p.first_ts_secs = p.first_ts_secs.min(ts);
                    p.last_ts_secs = p.last_ts_secs.max(ts);
                }
                _ => pairs.push(PairEdge {
                    src,
                    dst,
                    count: 1,
                    total_amount: amount,
                    first_ts_secs: ts,
                    last_ts_secs: ts,
                    tx_start: pair_tx.len() as u32,
                }),
            }
            pair_tx.push(t);
        }
        let mut out_offsets = vec![0u32; n_src + 1];
        for p in &pairs {
            out_offsets[p.src as usize + 1] += 1;
        }
        for v in 0..n_src {
            out_offsets[v + 1] += out_offsets[v];
        }
        let mut in_offsets = vec![0u32; n_dst + 1];
        for p in &pairs {
            in_offsets[p.dst as usize + 1] += 1;
        }
        for v in 0..n_dst {
            in_offsets[v + 1] += in_offsets[v];
        }
        let mut cursor = in_offsets.clone();
        let mut in_pairs = vec![0u32; pairs.len()];
        for (i, p) in pairs.iter().enumerate() {
            let c = &mut cursor[p.dst as usize];
            in_pairs[*c as usize] = i as u32;
            *c += 1;
        }
        Self {
            pairs,
            pair_tx,
            out_offsets,
            in_pairs,
            in_offsets,
        }
    }

    /// Pairs paid by `v`.
    pub fn out_pairs(&self, v: u32) -> &[PairEdge] {
        let v = v as usize;
        &self.pairs[self.out_offsets[v] as usize..self.out_offsets[v + 1] as usize]
    }

    /// Indices of the pairs received by `v`.
    pub fn in_pair_ids(&self, v: u32) -> &[u32] {
        let v = v as usize;
        &self.in_pairs[self.in_offsets[v] as usize..self.in_offsets[v + 1] as usize]
    }

    /// Transaction indices of pair `i`, in time order.
    pub fn txs_of(&self, i: usize) -> &[u32] {
        let start = self.pairs[i].tx_start as usize;
        let end = self
            .pairs
            .get(i + 1)
            .map_or(self.pair_tx.len(), |p| p.tx_start as usize);
        &self.pair_tx[start..end]
    }

    /// Index of the pair (src, dst), if any.
    pub fn find(&self, src: u32, dst: u32) -> Option<usize> {
        let lo = self.out_offsets[src as usize] as usize;
        let run = self.out_pairs(src);
        run.binary_search_by_key(&dst, |p| p.dst)
            .ok()
            .map(|i| lo + i)
    }
}

/// The aggregated graphs scoring works on.
#[derive(Clone, Debug, Default)]
pub struct TxGraph {
    /// Account-to-account transfers (self-transfers left out).
    pub money: PairGraph,
    /// Account-to-merchant payments.
    pub payments: PairGraph,
    /// Self-transfers per account (kept apart: they move no money between parties).
    pub self_transfers: Vec<u32>,
}

impl TxGraph {
    /// Aggregates the dataset's transactions.
    pub fn build(ds: &Dataset) -> Self {
        let n = ds.n_accounts();
        let tx = &ds.tx;
        let mut self_transfers = vec![0u32; n];
        let mut money_keys = Vec::with_capacity(tx.len());
        let mut pay_keys = Vec::new();
        for i in 0..tx.len() {
            let (s, d, m) = (tx.src[i], tx.dst[i], tx.merchant[i]);
            if d != NONE {
                if d == s {
                    self_transfers[s as usize] += 1;
                } else {
                    money_keys.push(((u64::from(s) << 32) | u64::from(d), i as u32));
                }
            } else if m != NONE {
                pay_keys.push(((u64::from(s) << 32) | u64::from(m), i as u32));
            }
        }
        let n_entities = ds.entities.db_id.len();
        let (money, payments) = rayon::join(
            || PairGraph::build(n, n, money_keys, ds),
            || PairGraph::build(n, n_entities, pay_keys, ds),
        );
        Self {
            money,
            payments,
            self_transfers,
        }
    }

    /// The undirected money graph as CSR, weighted by `ln(1 + transactions)` so one chatty
    /// pair does not outweigh many counterparties.
    /// Reciprocal pairs become one edge, so each neighbour appears once.
    pub fn money_undirected(&self, n: usize) -> Csr {
        let mut keyed: Vec<(u32, u32, u32)> = self
            .money
            .pairs
            .iter()
            .map(|p| (p.src.min(p.dst), p.src.max(p.dst), p.count))
            .collect();
        keyed.par_sort_unstable();
        let mut edges: Vec<(u32, u32, f32)> = Vec::with_capacity(keyed.len());
        let mut last: Option<(u32, u32, u32)> = None;
        for (a, b, c) in keyed {
            match last.as_mut() {
                Some(l) if l.0 == a && l.1 == b => l.2 += c,
                _ => {
                    if let Some(l) = last {
                        edges.push((l.0, l.1, (1.0 + l.2 as f32).ln()));
                    }
                    last = Some((a, b, c));
                }
            }
        }
        if let Some(l) = last {
            edges.push((l.0, l.1, (1.0 + l.2 as f32).ln()));
        }
        Csr::from_edges(n, &edges, true)
    }

    /// The directed money graph as CSR, weighted by approved amount (plus a little per
    /// transaction so declined-only pairs still count).
    pub fn money_directed(&self, n: usize) -> Csr {
        let edges: Vec<(u32, u32, f32)> = self
            .money
            .pairs
            .iter()
            .map(|p| (p.src, p.dst, p.total_amount as f32 + p.count as f32))
            .collect();
        Csr::from_edges(n, &edges, false)
    }
}

/// A node of the explorer's graph.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GraphNode {
    /// An account (dense index).
    Account(u32),
    /// An entity (dense index) and its kind.
    Entity(u32, EntityKind),
}

/// An edge of the explorer's graph.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum GraphEdge {
    /// Transfers from one account to another, aggregated.
    Transfer {
        /// Number of transfers.
        count: u32,
        /// Approved amount.
        total_amount: f64,
        /// First transfer, Unix seconds.
        first_ts_secs: i64,
        /// Last transfer, Unix seconds.
        last_ts_secs: i64,
    },
    /// Payments from an account to a merchant, aggregated.
    Payment {
        /// Number of payments.
        count: u32,
        /// Approved amount.
        total_amount: f64,
        /// First payment, Unix seconds.
        first_ts_secs: i64,
        /// Last payment, Unix seconds.
        last_ts_secs: i64,
    },
    /// An account uses a device, card, IP, e-mail, phone, national id or address.
    Uses {
        /// Number of uses.
        uses: u32,
    },
}

/// The heterogeneous graph: node `i < n_accounts` is account `i`, node `n_accounts + j` is
/// entity `j`.
pub fn build_petgraph(ds: &Dataset, g: &TxGraph) -> Graph<GraphNode, GraphEdge> {
    let n = ds.n_accounts();
    let m = ds.entities.db_id.len();
    let edges = g.money.pairs.len() + g.payments.pairs.len() + ds.identity.len();
    let mut graph = Graph::with_capacity(n + m, edges);
    for a in 0..n as u32 {
        graph.add_node(GraphNode::Account(a));
    }
    for (j, kind) in ds.entities.kind.iter().enumerate() {
        graph.add_node(GraphNode::Entity(j as u32, *kind));
    }
    let entity_node = |j: u32| NodeIndex::new(n + j as usize);
    for p in &g.money.pairs {
        graph.add_edge(
            NodeIndex::new(p.src as usize),
            NodeIndex::new(p.dst as usize),
            GraphEdge::Transfer {
                count: p.count,
                total_amount: p.total_amount,
                first_ts_secs: p.first_ts_secs,
                last_ts_secs: p.last_ts_secs,
            },
        );
    }
    for p in &g.payments.pairs {
        graph.add_edge(
            NodeIndex::new(p.src as usize),
            entity_node(p.dst),
            GraphEdge::Payment {
                count: p.count,
                total_amount: p.total_amount,
                first_ts_secs: p.first_ts_secs,
                last_ts_secs: p.last_ts_secs,
            },
        );
    }
    for e in &ds.identity {
        graph.add_edge(
            NodeIndex::new(e.account as usize),
            entity_node(e.entity),
            GraphEdge::Uses { uses: e.uses },
        );
    }
    graph
}
