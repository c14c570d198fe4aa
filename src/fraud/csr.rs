//! Compressed sparse row graphs and the iterative algorithms that run on them: connected
//! components, label propagation, PageRank and personalized PageRank.
//!
//! petgraph's adjacency lists are fine for building and browsing, but its `page_rank` is
//! quadratic-ish and far too slow at a million edges; these kernels walk flat arrays instead.
//! Every kernel is deterministic: parallel loops write disjoint slots and reductions are summed
//! in a fixed chunk order, so the same input (and seed) gives bit-identical output.

use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

/// Nodes per parallel work item: large enough that scheduling costs nothing.
const CHUNK_NODES: usize = 4096;

/// A graph in compressed sparse row form: the neighbours of `v` are
/// `targets[offsets[v]..offsets[v + 1]]`, with matching `weights`.
#[derive(Clone, Debug, Default)]
pub struct Csr {
    offsets: Vec<usize>,
    targets: Vec<u32>,
    weights: Vec<f32>,
}

impl Csr {
    /// Builds from `(from, to, weight)` edges over `n` nodes. With `undirected`, each edge is
    /// stored in both directions. Self-loops are dropped (they carry no relation between nodes);
    /// duplicate edges are kept, so callers aggregate first when they want one edge per pair.
    pub fn from_edges(n: usize, edges: &[(u32, u32, f32)], undirected: bool) -> Self {
        let mut degree = vec![0usize; n + 1];
        for &(a, b, _) in edges {
            if a == b {
                continue;
            }
            degree[a as usize] += 1;
            if undirected {
                degree[b as usize] += 1;
            }
        }
        let mut offsets = vec![0usize; n + 1];
        for v in 0..n {
            offsets[v + 1] = offsets[v] + degree[v];
        }
        let m = offsets[n];
        let mut targets = vec![0u32; m];
        let mut weights = vec![0f32; m];
        let mut cursor = offsets.clone();
        for &(a, b, w) in edges {
            if a == b {
                continue;
            }
            let slot = cursor[a as usize];
            targets[slot] = b;
            weights[slot] = w;
            cursor[a as usize] += 1;
            if undirected {
                let slot = cursor[b as usize];
                targets[slot] = a;
                weights[slot] = w;
                cursor[b as usize] += 1;
            }
        }
        Self {
            offsets,
            targets,
            weights,
        }
    }

    /// The same graph with every edge reversed.
    pub fn transpose(&self) -> Self {
        let n = self.n_nodes();
        let mut edges = Vec::with_capacity(self.targets.len());
        for v in 0..n {
            for (t, w) in self.neighbors(v as u32).iter().zip(self.weights(v as u32)) {
                edges.push((*t, v as u32, *w));
            }
        }
        Self::from_edges(n, &edges, false)
    }

    /// Number of nodes.
    pub fn n_nodes(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }

    /// Number of stored (directed) edges.
    pub fn n_edges(&self) -> usize {
        self.targets.len()
    }

    /// Neighbours of `v`.
    pub fn neighbors(&self, v: u32) -> &[u32] {
        let v = v as usize;
        &self.targets[self.offsets[v]..self.offsets[v + 1]]
    }

    /// Weights of the edges to [`Csr::neighbors`] of `v`.
    pub fn weights(&self, v: u32) -> &[f32] {
        let v = v as usize;
        &self.weights[self.offsets[v]..self.offsets[v + 1]]
    }

    /// Number of neighbours of `v`.
    pub fn degree(&self, v: u32) -> usize {
        let v = v as usize;
        self.offsets[v + 1] - self.offsets[v]
    }
}

/// Connected components: a component id per node, numbered 0.. in order of each component's
/// smallest node, so ids are stable across runs.
#[derive(Clone, Debug, Default)]
pub struct Components {
    /// Component id per node.
    pub id: Vec<u32>,
    /// Size of each component.
    pub sizes: Vec<u32>,
}

/// A union-find forest with path halving; the smaller index becomes the root so results do not
/// depend on the order of unions.
#[derive(Clone, Debug)]
pub struct UnionFind {
    parent: Vec<u32>,
}

impl UnionFind {
    /// `n` singletons.
    pub fn new(n: usize) -> Self {
        Self {
            parent: (0..n as u32).collect(),
        }
    }

    /// The root of `v`'s set.
    pub fn find(&mut self, mut v: u32) -> u32 {
        while self.parent[v as usize] != v {
            let grand = self.parent[self.parent[v as usize] as usize];
            self.parent[v as usize] = grand;
            v = grand;
        }
        v
    }

    /// Merges the sets of `a` and `b`; returns whether they were apart.
    pub fn union(&mut self, a: u32, b: u32) -> bool {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra == rb {
            return false;
        }
        let (lo, hi) = if ra < rb { (ra, rb) } else { (rb, ra) };
        self.parent[hi as usize] = lo;
        true
    }

    /// Dense component ids.
    pub fn components(mut self) -> Components {
        let n = self.parent.len();
        let mut id = vec![u32::MAX; n];
        let mut sizes = Vec::new();
        let mut root_id = vec![u32::MAX; n];
        for v in 0..n as u32 {
            let r = self.find(v) as usize;
            if root_id[r] == u32::MAX {
                root_id[r] = sizes.len() as u32;
                sizes.push(0);
            }
            id[v as usize] = root_id[r];
            sizes[root_id[r] as usize] += 1;
        }
        Components { id, sizes }
    }
}

/// Connected components of `n` nodes joined by `edges` (direction ignored).
pub fn connected_components(n: usize, edges: impl IntoIterator<Item = (u32, u32)>) -> Components {
    let mut uf = UnionFind::new(n);
    for (a, b) in edges {
        uf.union(a, b);
    }
    uf.components()
}

/// Connected components of a CSR graph (treated as undirected).
pub fn csr_components(g: &Csr) -> Components {
    let n = g.n_nodes();
    connected_components(
        n,
        (0..n as u32).flat_map(|v| g.neighbors(v).iter().map(move |&t| (v, t))),
    )
}

/// Asynchronous label propagation (Raghavan et al. 2007) on an undirected weighted graph.
///
/// Nodes are visited in a seeded random order each sweep; a node takes a label carrying the
/// most edge weight among its neighbours, ties broken by the seeded generator. Stops once every
/// node holds a dominant label, or after `max_sweeps`. Returns dense community ids numbered by
/// each community's smallest node.
pub fn label_propagation(g: &Csr, seed: u64, max_sweeps: usize) -> Vec<u32> {
    label_propagation_with(g, seed, max_sweeps, false)
}

/// Label propagation with a choice of tie rule. With `keep_own`, a node whose label is among
/// the dominant ones keeps it: propagation then settles early into small, tight communities
/// (a finer resolution) instead of flooding whole regions — what ring features want on money
/// graphs where background traffic ties everything together. Without it, ties are broken at
/// random as in the original algorithm, which recovers large planted groups best.
pub fn label_propagation_with(g: &Csr, seed: u64, max_sweeps: usize, keep_own: bool) -> Vec<u32> {
    let n = g.n_nodes();
    let mut label: Vec<u32> = (0..n as u32).collect();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut order: Vec<u32> = (0..n as u32).filter(|&v| g.degree(v) > 0).collect();
    let mut acc = vec![0f64; n];
    let mut touched: Vec<u32> = Vec::new();
    let mut best: Vec<u32> = Vec::new();
    // Fills `best` with the dominant labels around `v`.
    let mut dominant = |v: u32, label: &[u32], best: &mut Vec<u32>| {
        touched.clear();
        for (&t, &w) in g.neighbors(v).iter().zip(g.weights(v)) {
            let l = label[t as usize];
            if acc[l as usize] == 0.0 {
                touched.push(l);
            }
            acc[l as usize] += f64::from(w.max(f32::MIN_POSITIVE));
        }
        let mut max_w = 0.0;
        best.clear();
        for &l in &touched {
            let w = acc[l as usize];
            if w > max_w {
                max_w = w;
                best.clear();
                best.push(l);
            } else if w == max_w {
                best.push(l);
            }
        }
        for &l in &touched {
            acc[l as usize] = 0.0;
        }
        best.sort_unstable();
    };
    for _ in 0..max_sweeps {
        order.shuffle(&mut rng);
        let mut changed = 0usize;
        for &v in &order {
            dominant(v, &label, &mut best);
            let own = label[v as usize];
            if keep_own && best.binary_search(&own).is_ok() {
                continue;
            }
            let pick = match best.len() {
                0 => continue,
                1 => best[0],
                k => best[rng.random_range(0..k)],
            };
            changed += usize::from(pick != own);
            label[v as usize] = pick;
        }
        if keep_own && changed == 0 {
            break;
        }
        let settled = order.iter().all(|&v| {
            dominant(v, &label, &mut best);
            best.is_empty() || best.binary_search(&label[v as usize]).is_ok()
        });
        if settled {
            break;
        }
    }
    dense_ids(&label)
}

/// Renumbers arbitrary labels 0.. in order of first appearance by node index.
pub fn dense_ids(label: &[u32]) -> Vec<u32> {
    let mut map = std::collections::HashMap::new();
    label
        .iter()
        .map(|l| {
            let next = map.len() as u32;
            *map.entry(*l).or_insert(next)
        })
        .collect()
}

/// PageRank settings.
#[derive(Clone, Copy, Debug)]
pub struct PageRankOptions {
    /// Probability of following an edge (igraph and networkx default 0.85).
    pub damping: f64,
    /// Upper bound on power iterations.
    pub max_iterations: usize,
    /// Stop when the L1 change of the rank vector falls below this.
    pub tolerance: f64,
}

impl Default for PageRankOptions {
    fn default() -> Self {
        Self {
            damping: 0.85,
            max_iterations: 100,
            tolerance: 1e-10,
        }
    }
}

/// A graph prepared for repeated (personalized) PageRank runs: the transpose with each edge's
/// weight divided by its source's out-weight, plus the dangling nodes.
#[derive(Clone, Debug)]
pub struct PageRankGraph {
    incoming: Csr,
    norm_weights: Vec<f64>,
    dangling: Vec<u32>,
}

impl PageRankGraph {
    /// Prepares `g` (edges are followed from source to target; pass a symmetric graph for an
    /// undirected walk).
    pub fn new(g: &Csr) -> Self {
        let n = g.n_nodes();
        let out_weight: Vec<f64> = (0..n as u32)
            .map(|v| g.weights(v).iter().map(|w| f64::from(w.max(0.0))).sum())
            .collect();
        let incoming = g.transpose();
        let mut norm_weights = Vec::with_capacity(incoming.n_edges());
        for v in 0..n as u32 {
            for (&u, &w) in incoming.neighbors(v).iter().zip(incoming.weights(v)) {
                let total = out_weight[u as usize];
                norm_weights.push(if total > 0.0 {
                    f64::from(w.max(0.0)) / total
                } else {
                    0.0
                });
            }
        }
        let dangling = (0..n as u32)
            .filter(|&v| out_weight[v as usize] <= 0.0)
            .collect();
        Self {
            incoming,
            norm_weights,
            dangling,
        }
    }

    /// Number of nodes.
    pub fn n_nodes(&self) -> usize {
        self.incoming.n_nodes()
    }

    /// Runs PageRank. `restart` is the teleport distribution (it is normalised here; `None`
    /// means uniform, i.e. classic PageRank). Dangling nodes teleport along `restart` too, as
    /// igraph and networkx do. Returns scores summing to 1 (all zero for an empty graph or an
    /// all-zero restart vector).
    pub fn run(&self, restart: Option<&[f64]>, opts: PageRankOptions) -> Vec<f64> {
        let n = self.n_nodes();
        if n == 0 {
            return Vec::new();
        }
        let p: Vec<f64> = match restart {
            Some(r) => {
                let total: f64 = r.iter().filter(|x| x.is_finite() && **x > 0.0).sum();
                if total <= 0.0 {
                    return vec![0.0; n];
                }
                r.iter()
                    .map(|x| {
                        if x.is_finite() && *x > 0.0 {
                            x / total
                        } else {
                            0.0
                        }
                    })
                    .collect()
            }
            None => vec![1.0 / n as f64; n],
        };
        let d = opts.damping;
        let mut rank = p.clone();
        let mut next = vec![0f64; n];
        for _ in 0..opts.max_iterations {
            let dangling_mass: f64 = self.dangling.iter().map(|&v| rank[v as usize]).sum();
            let teleport = 1.0 - d + d * dangling_mass;
            let offsets = &self.incoming.offsets;
            let changes: Vec<f64> = next
                .par_chunks_mut(CHUNK_NODES)
                .enumerate()
                .map(|(c, out)| {
                    let base = c * CHUNK_NODES;
                    let mut change = 0.0;
                    for (i, slot) in out.iter_mut().enumerate() {
                        let v = base + i;
                        let (lo, hi) = (offsets[v], offsets[v + 1]);
                        let mut s = 0.0;
                        for e in lo..hi {
                            s += rank[self.incoming.targets[e] as usize] * self.norm_weights[e];
                        }
                        let value = d * s + teleport * p[v];
                        change += (value - rank[v]).abs();
                        *slot = value;
                    }
                    change
                })
                .collect();
            std::mem::swap(&mut rank, &mut next);
            if changes.iter().sum::<f64>() < opts.tolerance {
                break;
            }
        }
        rank
    }
}

/// Classic PageRank of `g`.
pub fn pagerank(g: &Csr, opts: PageRankOptions) -> Vec<f64> {
    PageRankGraph::new(g).run(None, opts)
}

/// Seeded random permutation of `0..n`, shared by callers that need reproducible orders.
pub fn seeded_permutation(n: usize, seed: u64) -> Vec<u32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut order: Vec<u32> = (0..n as u32).collect();
    order.shuffle(&mut rng);
    order
}

/// A uniform draw in `[0, 1)` from a seeded generator, for callers that need only a few.
pub fn seeded_unit(rng: &mut ChaCha8Rng) -> f64 {
    rng.random::<f64>()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn undirected(n: usize, pairs: &[(u32, u32)]) -> Csr {
        let e: Vec<_> = pairs.iter().map(|&(a, b)| (a, b, 1.0)).collect();
        Csr::from_edges(n, &e, true)
    }

    #[test]
    fn csr_stores_both_directions_and_drops_self_loops() {
        let g = undirected(3, &[(0, 1), (1, 2), (2, 2)]);
        assert_eq!(g.n_edges(), 4);
        assert_eq!(g.neighbors(1), &[0, 2]);
        assert_eq!(g.degree(2), 1);
    }

    #[test]
    fn components_on_a_tiny_graph() {
        // 0-1-2   3-4   5
        let c = connected_components(6, [(0, 1), (2, 1), (4, 3)]);
        assert_eq!(c.id, vec![0, 0, 0, 1, 1, 2]);
        assert_eq!(c.sizes, vec![3, 2, 1]);
        let g = undirected(6, &[(0, 1), (2, 1), (4, 3)]);
        assert_eq!(csr_components(&g).id, c.id);
    }

    #[test]
    fn label_propagation_separates_two_cliques_joined_by_one_edge() {
        let mut pairs = Vec::new();
        for a in 0..5u32 {
            for b in a + 1..5 {
                pairs.push((a, b));
                pairs.push((a + 5, b + 5));
            }
        }
        pairs.push((4, 5));
        let g = undirected(10, &pairs);
        for seed in 0..5 {
            let l = label_propagation(&g, seed, 100);
            assert!(l[..5].iter().all(|&x| x == l[0]), "seed {seed}: {l:?}");
            assert!(l[5..].iter().all(|&x| x == l[5]), "seed {seed}: {l:?}");
            assert_ne!(l[0], l[5]);
        }
    }

    #[test]
    fn label_propagation_is_deterministic_per_seed_and_ignores_isolated_nodes() {
        let g = undirected(7, &[(0, 1), (1, 2), (2, 0), (3, 4), (4, 5)]);
        assert_eq!(label_propagation(&g, 9, 50), label_propagation(&g, 9, 50));
        let l = label_propagation(&g, 9, 50);
        assert_eq!(
            l[6],
            *l.iter().max().unwrap_or(&0),
            "isolated node keeps its own label"
        );
    }

    /// Dense power iteration straight from the definition.
    fn brute_pagerank(n: usize, edges: &[(u32, u32, f32)], p: &[f64], d: f64) -> Vec<f64> {
        let mut m = vec![vec![0f64; n]; n]; // m[to][from]
        let mut out = vec![0f64; n];
        for &(a, _, w) in edges {
            out[a as usize] += f64::from(w);
        }
        for &(a, b, w) in edges {
            m[b as usize][a as usize] += f64::from(w) / out[a as usize];
        }
        let mut r = p.to_vec();
        for _ in 0..2000 {
            let dangling: f64 = (0..n).filter(|&v| out[v] == 0.0).map(|v| r[v]).sum();
            r = (0..n)
                .map(|v| {
                    let s: f64 = (0..n).map(|u| m[v][u] * r[u]).sum();
                    d * s + (1.0 - d + d * dangling) * p[v]
                })
                .collect();
        }
        r
    }

    #[test]
    fn pagerank_matches_brute_force_power_iteration() {
        let edges = vec![
            (0, 1, 1.0),
            (1, 2, 2.0),
            (2, 0, 1.0),
            (2, 3, 0.5),
            (3, 4, 1.0),
            (5, 0, 3.0),
            // node 4 is dangling, node 6 isolated
        ];
        let n = 7;
        let g = Csr::from_edges(n, &edges, false);
        let uniform = vec![1.0 / n as f64; n];
        let ours = pagerank(&g, PageRankOptions::default());
        let brute = brute_pagerank(n, &edges, &uniform, 0.85);
        for (a, b) in ours.iter().zip(&brute) {
            assert!((a - b).abs() < 1e-9, "{ours:?} vs {brute:?}");
        }
        assert!((ours.iter().sum::<f64>() - 1.0).abs() < 1e-9);

        let mut restart = vec![0.0; n];
        restart[3] = 2.0;
        restart[5] = 1.0;
        let p: Vec<f64> = restart.iter().map(|x| x / 3.0).collect();
        let ours = PageRankGraph::new(&g).run(Some(&restart), PageRankOptions::default());
        let brute = brute_pagerank(n, &edges, &p, 0.85);
        for (a, b) in ours.iter().zip(&brute) {
            assert!((a - b).abs() < 1e-9, "{ours:?} vs {brute:?}");
        }
    }

    #[test]
    fn pagerank_on_empty_inputs_is_empty_or_zero() {
        let g = Csr::from_edges(0, &[], false);
        assert!(pagerank(&g, PageRankOptions::default()).is_empty());
        let g = Csr::from_edges(3, &[], true);
        let r = PageRankGraph::new(&g).run(Some(&[0.0, 0.0, 0.0]), PageRankOptions::default());
        assert_eq!(r, vec![0.0; 3]);
    }
}
