//! Dense blocks in bipartite graphs, in the spirit of FRAUDAR (Hooi et al., KDD 2016): greedy
//! peeling of the node with the least weighted degree, keeping the densest set seen, with
//! each column's edges weighted `1 / ln(degree + 5)` so popular merchants or payees (which
//! honest accounts also use) count for little. Blocks are removed and the search repeated.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::{BlockObject, Candidate, DetectOptions, Evidence, Typology};
use crate::fraud::dataset::{Dataset, EntityKind};
use crate::fraud::graph::TxGraph;

/// Smallest fill (links / possible links) of a reported block.
const MIN_FILL: f64 = 0.3;
/// Columns linked to more accounts than this (a supermarket, a payroll account) cannot be part
/// of a small dense ring and are left out before peeling.
const MAX_COLUMN_DEGREE: u32 = 50;

/// A bipartite graph: rows are accounts, columns are objects.
#[derive(Clone, Debug, Default)]
pub struct DenseInput {
    /// Number of account rows (row `i` is account `i`).
    pub n_rows: usize,
    /// Column objects.
    pub columns: Vec<BlockObject>,
    /// (row, column) links, deduplicated.
    pub edges: Vec<(u32, u32)>,
}

impl DenseInput {
    /// Accounts × (merchants paid, identifiers used, promo codes redeemed), hubs left out.
    pub fn objects(ds: &Dataset, g: &TxGraph, hubs: &[u32]) -> Self {
        let n = ds.n_accounts();
        let m = ds.entities.db_id.len();
        let mut is_hub = vec![false; m];
        for &h in hubs {
            is_hub[h as usize] = true;
        }
        let mut edges: Vec<(u32, u64)> = Vec::new(); // (row, object key)
        for p in &g.payments.pairs {
            if !is_hub[p.dst as usize] {
                edges.push((p.src, u64::from(p.dst)));
            }
        }
        for e in &ds.identity {
            if !is_hub[e.entity as usize]
                && ds.entities.kind[e.entity as usize] != EntityKind::Merchant
            {
                edges.push((e.account, u64::from(e.entity)));
            }
        }
        for (i, &promo) in ds.tx.promo.iter().enumerate() {
            if promo != crate::fraud::dataset::NONE {
                edges.push((ds.tx.src[i], (1u64 << 32) | u64::from(promo)));
            }
        }
        edges.sort_unstable();
        edges.dedup();
        let mut keys: Vec<u64> = edges.iter().map(|e| e.1).collect();
        keys.sort_unstable();
        keys.dedup();
        let columns = keys
            .iter()
            .map(|&k| {
                if k >> 32 == 1 {
                    BlockObject::Promo(k as u32)
                } else {
                    BlockObject::Entity(k as u32)
                }
            })
            .collect();
        let edges = edges
            .iter()
            .map(|&(r, k)| (r, keys.binary_search(&k).unwrap_or(0) as u32))
            .collect();
        Self {
            n_rows: n,
            columns,
            edges,
        }
    }

    /// Payers × payees of the money graph.
    pub fn money(g: &TxGraph, n: usize) -> Self {
        Self {
            n_rows: n,
            columns: (0..n as u32).map(BlockObject::Payee).collect(),
            edges: g.money.pairs.iter().map(|p| (p.src, p.dst)).collect(),
        }
    }
}

/// Removes rows and columns with fewer than two links until none is left (a 2-core), which
/// cannot change any block worth reporting and shrinks the work a lot.
fn two_core(n_nodes: usize, edges: &[(u32, u32)], offset: u32) -> Vec<bool> {
    let mut degree = vec![0u32; n_nodes];
    for &(r, c) in edges {
        degree[r as usize] += 1;
        degree[(c + offset) as usize] += 1;
    }
    let mut adj_start = vec![0usize; n_nodes + 1];
    for v in 0..n_nodes {
        adj_start[v + 1] = adj_start[v] + degree[v] as usize;
    }
    let mut adj = vec![0u32; adj_start[n_nodes]];
    let mut cur = adj_start.clone();
    for &(r, c) in edges {
        let (a, b) = (r as usize, (c + offset) as usize);
        adj[cur[a]] = b as u32;
        cur[a] += 1;
        adj[cur[b]] = a as u32;
        cur[b] += 1;
    }
    let mut alive = vec![true; n_nodes];
    let mut stack: Vec<u32> = (0..n_nodes as u32)
        .filter(|&v| degree[v as usize] < 2)
        .collect();
    while let Some(v) = stack.pop() {
        if !alive[v as usize] {
            continue;
        }
        alive[v as usize] = false;
        for &u in &adj[adj_start[v as usize]..adj_start[v as usize + 1]] {
            if alive[u as usize] {
                degree[u as usize] -= 1;
                if degree[u as usize] == 1 {
                    stack.push(u);
                }
            }
        }
    }
    alive
}

/// Extracts up to `max_dense_blocks` dense blocks.
pub fn densest_blocks(input: &DenseInput, opts: &DetectOptions) -> Vec<Candidate> {
    let r = input.n_rows;
    let n_nodes = r + input.columns.len();
    let offset = r as u32;
    let mut col_degree = vec![0u32; input.columns.len()];
    for &(_, c) in &input.edges {
        col_degree[c as usize] += 1;
    }
    let mut edges: Vec<(u32, u32)> = input
        .edges
        .iter()
        .copied()
        .filter(|&(_, c)| col_degree[c as usize] <= MAX_COLUMN_DEGREE)
        .collect();
    let mut out = Vec::new();
    for _ in 0..opts.max_dense_blocks {
        let alive = two_core(n_nodes, &edges, offset);
        edges.retain(|&(a, c)| alive[a as usize] && alive[(c + offset) as usize]);
        if edges.len() < 4 {
            break;
        }
        let Some((rows, cols, links, density)) = peel(n_nodes, r, &edges) else {
            break;
        };
        // Remove the block's links and look again.
        let mut in_block = vec![false; n_nodes];
        for &v in rows.iter().chain(&cols) {
            in_block[v as usize] = true;
        }
        edges.retain(|&(a, c)| !(in_block[a as usize] && in_block[(c + offset) as usize]));
        let fill = links as f64 / (rows.len() * cols.len()).max(1) as f64;
        let objects: Vec<BlockObject> = cols
            .iter()
            .map(|&c| input.columns[(c - offset) as usize])
            .collect();
        let mut accounts: Vec<u32> = rows.clone();
        accounts.extend(objects.iter().filter_map(|o| match o {
            BlockObject::Payee(a) => Some(*a),
            _ => None,
        }));
        accounts.sort_unstable();
        accounts.dedup();
        if rows.len() < opts.min_block_accounts || cols.len() < 2 || fill < MIN_FILL {
            continue;
        }
        if accounts.len() > opts.max_cluster_size {
            continue;
        }
        out.push(Candidate {
            typology: Typology::DenseBlock,
            strength: (0.2 + 0.4 * fill + 0.2 * ((rows.len() as f64 - 2.0) / 8.0).clamp(0.0, 1.0))
                .min(1.0),
            evidence: vec![Evidence::DenseBlock {
                accounts: accounts.clone(),
                objects,
                edges: links,
                density,
            }],
            members: accounts,
        });
    }
    out
}

/// One FRAUDAR peel: returns (rows, column node ids, links, density) of the densest set.
fn peel(n_nodes: usize, r: usize, edges: &[(u32, u32)]) -> Option<(Vec<u32>, Vec<u32>, u32, f64)> {
    let offset = r as u32;
    let mut col_degree = vec![0u32; n_nodes];
    for &(_, c) in edges {
        col_degree[(c + offset) as usize] += 1;
    }
    let weight = |c: u32| 1.0 / (f64::from(col_degree[(c + offset) as usize]) + 5.0).ln();
    // Adjacency with edge ids so each edge is removed once.
    let mut degree = vec![0usize; n_nodes];
    for &(a, c) in edges {
        degree[a as usize] += 1;
        degree[(c + offset) as usize] += 1;
    }
    let mut start = vec![0usize; n_nodes + 1];
    for v in 0..n_nodes {
        start[v + 1] = start[v] + degree[v];
    }
    let mut adj = vec![(0u32, 0u32); start[n_nodes]];
    let mut cur = start.clone();
    let mut prio = vec![0f64; n_nodes];
    let mut present = vec![false; n_nodes];
    let mut total = 0.0;
    for (e, &(a, c)) in edges.iter().enumerate() {
        let (a, b) = (a as usize, (c + offset) as usize);
        let w = weight(c);
        adj[cur[a]] = (b as u32, e as u32);
        cur[a] += 1;
        adj[cur[b]] = (a as u32, e as u32);
        cur[b] += 1;
        prio[a] += w;
        prio[b] += w;
        present[a] = true;
        present[b] = true;
        total += w;
    }
    let mut live_nodes = present.iter().filter(|p| **p).count();
    if live_nodes == 0 {
        return None;
    }
    // Priorities as integers of 1e-9 units so the heap order is total and reproducible.
    let key = |p: f64| (p * 1e9).round() as i64;
    let mut heap: BinaryHeap<Reverse<(i64, u32)>> = (0..n_nodes as u32)
        .filter(|&v| present[v as usize])
        .map(|v| Reverse((key(prio[v as usize]), v)))
        .collect();
    let mut edge_alive = vec![true; edges.len()];
    let mut removed_order: Vec<u32> = Vec::with_capacity(live_nodes);
    let mut best = total / live_nodes as f64;
    let mut best_step = 0usize;
    while let Some(Reverse((k, v))) = heap.pop() {
        if !present[v as usize] || k != key(prio[v as usize]) {
            continue;
        }
        present[v as usize] = false;
        removed_order.push(v);
        live_nodes -= 1;
        for &(u, e) in &adj[start[v as usize]..start[v as usize + 1]] {
            if !edge_alive[e as usize] {
                continue;
            }
            edge_alive[e as usize] = false;
            let w = weight(edges[e as usize].1);
            total -= w;
            prio[u as usize] -= w;
            if present[u as usize] {
                heap.push(Reverse((key(prio[u as usize]), u)));
            }
        }
        if live_nodes > 0 {
            let f = total / live_nodes as f64;
            if f > best {
                best = f;
                best_step = removed_order.len();
            }
        }
    }
    let mut keep = vec![false; n_nodes];
    for &v in &removed_order[best_step..] {
        keep[v as usize] = true;
    }
    let rows: Vec<u32> = (0..r as u32).filter(|&v| keep[v as usize]).collect();
    let cols: Vec<u32> = (r as u32..n_nodes as u32)
        .filter(|&v| keep[v as usize])
        .collect();
    let links = edges
        .iter()
        .filter(|&&(a, c)| keep[a as usize] && keep[(c + offset) as usize])
        .count() as u32;
    Some((rows, cols, links, best))
}
