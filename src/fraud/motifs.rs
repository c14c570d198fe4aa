//! Small-motif counts per account on the money graph: triangles (undirected and by direction),
//! reciprocated counterparties, four-cycles and the k-core number.
//!
//! Why: a laundering typology adds transfers among its members on top of their everyday
//! payments (a fan-in's origins also pay each other, a cycle closes on itself, a scatter-gather
//! joins both ends through the same mules), so members close more triangles and squares than an
//! account whose counterparties are strangers to each other — even when none of the member's
//! own transfers looks unusual. Neighbours with more links than [`MOTIF_MAX_DEGREE`] are not
//! walked through (hub guard), and an account with more links than [`MOTIF_MAX_OWN_DEGREE`] gets
//! no counts at all, so a hub with a million links costs no more than an ordinary account.

use rayon::prelude::*;

use super::csr::Csr;
use super::graph::PairGraph;

/// Neighbours with more links than this are not walked through.
pub const MOTIF_MAX_DEGREE: usize = 500;
/// Accounts with more links than this get zero counts (their motifs say nothing about rings).
pub const MOTIF_MAX_OWN_DEGREE: usize = 20_000;

/// Motif counts, one value per account.
#[derive(Clone, Debug, Default)]
pub struct Motifs {
    /// Triangles through the account on the undirected money graph.
    pub triangles: Vec<u32>,
    /// Triangles over possible triangles among its counterparties.
    pub clustering: Vec<f32>,
    /// Counterparties the account both pays and is paid by.
    pub reciprocal: Vec<u32>,
    /// Directed 3-cycles v→a→b→v.
    pub cycle3: Vec<u32>,
    /// Feed-forward triangles where the account is the source (v→a→b and v→b).
    pub ff_source: Vec<u32>,
    /// Feed-forward triangles where the account is the sink (a→b→v and a→v).
    pub ff_sink: Vec<u32>,
    /// Paths a→v→b whose ends also trade with each other.
    pub ff_middle: Vec<u32>,
    /// Four-cycles v–a–w–b–v on the undirected money graph.
    pub squares: Vec<u64>,
    /// k-core number on the undirected money graph.
    pub core: Vec<u32>,
    /// Per undirected edge slot (aligned with the money graph's neighbour lists): common
    /// counterparties of its two ends (0 when the neighbour is a hub, not walked through).
    pub edge_common: Vec<u32>,
}

/// Deduplicated directed adjacency without self-loops, in CSR form.
struct Adj {
    off: Vec<usize>,
    tg: Vec<u32>,
}

impl Adj {
    fn of(&self, v: u32) -> &[u32] {
        &self.tg[self.off[v as usize]..self.off[v as usize + 1]]
    }
}

fn directed(n: usize, pairs: &PairGraph) -> (Adj, Adj) {
    let mut out_off = vec![0usize; n + 1];
    let mut in_off = vec![0usize; n + 1];
    for p in &pairs.pairs {
        if p.src != p.dst {
            out_off[p.src as usize + 1] += 1;
            in_off[p.dst as usize + 1] += 1;
        }
    }
    for v in 0..n {
        out_off[v + 1] += out_off[v];
        in_off[v + 1] += in_off[v];
    }
    let mut out_tg = vec![0u32; out_off[n]];
    let mut in_tg = vec![0u32; in_off[n]];
    let (mut oc, mut ic) = (out_off.clone(), in_off.clone());
    for p in &pairs.pairs {
        if p.src != p.dst {
            out_tg[oc[p.src as usize]] = p.dst;
            oc[p.src as usize] += 1;
            in_tg[ic[p.dst as usize]] = p.src;
            ic[p.dst as usize] += 1;
        }
    }
    (
        Adj {
            off: out_off,
            tg: out_tg,
        },
        Adj {
            off: in_off,
            tg: in_tg,
        },
    )
}

const OUT: u8 = 1;
const IN: u8 = 2;
const ANY: u8 = 4;

/// Per-thread scratch: neighbour marks and two-hop path counts.
struct Scratch {
    mark: Vec<u8>,
    paths: Vec<u32>,
    touched: Vec<u32>,
}

#[derive(Default)]
struct Row {
    tri: u32,
    recip: u32,
    cyc3: u32,
    ff_src: u32,
    ff_sink: u32,
    ff_mid: u32,
    squares: u64,
    common: Vec<u32>,
}

fn row(v: u32, und: &Csr, out: &Adj, inc: &Adj, s: &mut Scratch) -> Row {
    let mut r = Row::default();
    let nbrs = und.neighbors(v);
    if nbrs.len() > MOTIF_MAX_OWN_DEGREE {
        r.common = vec![0; nbrs.len()];
        return r;
    }
    let small = |u: u32| und.degree(u) <= MOTIF_MAX_DEGREE;
    for &a in nbrs {
        s.mark[a as usize] |= ANY;
    }
    for &a in out.of(v) {
        s.mark[a as usize] |= OUT;
    }
    for &a in inc.of(v) {
        s.mark[a as usize] |= IN;
        if s.mark[a as usize] & OUT != 0 {
            r.recip += 1;
        }
    }
    let mut tri2 = 0u32;
    r.common = vec![0; nbrs.len()];
    for (i, &a) in nbrs.iter().enumerate() {
        if !small(a) {
            continue;
        }
        for &b in und.neighbors(a) {
            if b == v {
                continue;
            }
            if s.mark[b as usize] & ANY != 0 {
                tri2 += 1;
                r.common[i] += 1;
            }
            if s.paths[b as usize] == 0 {
                s.touched.push(b);
            }
            s.paths[b as usize] += 1;
        }
    }
    r.tri = tri2 / 2;
    for &b in &s.touched {
        let c = u64::from(s.paths[b as usize]);
        r.squares += c * (c - 1) / 2;
        s.paths[b as usize] = 0;
    }
    // Each four-cycle through v is counted once, at the corner opposite v.
    s.touched.clear();
    for &a in out.of(v).iter().filter(|&&a| small(a)) {
        for &b in out.of(a) {
            let m = s.mark[b as usize];
            if b != v {
                r.cyc3 += u32::from(m & IN != 0);
                r.ff_src += u32::from(m & OUT != 0);
            }
        }
    }
    for &b in inc.of(v).iter().filter(|&&b| small(b)) {
        for &a in inc.of(b) {
            if a != v && s.mark[a as usize] & IN != 0 {
                r.ff_sink += 1;
            }
        }
    }
    for &a in inc.of(v).iter().filter(|&&a| small(a)) {
        for &b in und.neighbors(a) {
            if b != v && b != a && s.mark[b as usize] & OUT != 0 {
                r.ff_mid += 1;
            }
        }
    }
    for &a in nbrs {
        s.mark[a as usize] = 0;
    }
    r
}

/// k-core numbers by repeatedly peeling the lowest-degree account (bucket queue, O(edges)).
pub fn core_numbers(g: &Csr) -> Vec<u32> {
    let n = g.n_nodes();
    let mut deg: Vec<usize> = (0..n as u32).map(|v| g.degree(v)).collect();
    let max_deg = deg.iter().copied().max().unwrap_or(0);
    let mut bin = vec![0usize; max_deg + 2];
    for &d in &deg {
        bin[d] += 1;
    }
    let mut start = 0;
    for b in bin.iter_mut() {
        let c = *b;
        *b = start;
        start += c;
    }
    let mut pos = vec![0usize; n];
    let mut vert = vec![0u32; n];
    for v in 0..n {
        pos[v] = bin[deg[v]];
        vert[pos[v]] = v as u32;
        bin[deg[v]] += 1;
    }
    for d in (1..=max_deg + 1).rev() {
        bin[d] = bin[d - 1];
    }
    if !bin.is_empty() {
        bin[0] = 0;
    }
    for i in 0..n {
        let v = vert[i] as usize;
        for &u in g.neighbors(v as u32) {
            let u = u as usize;
            if deg[u] > deg[v] {
                let du = deg[u];
                let pu = pos[u];
                let pw = bin[du];
                let w = vert[pw] as usize;
                if u != w {
                    pos[u] = pw;
                    vert[pu] = w as u32;
                    pos[w] = pu;
                    vert[pw] = u as u32;
                }
                bin[du] += 1;
                deg[u] -= 1;
            }
        }
    }
    deg.into_iter().map(|d| d as u32).collect()
}

/// Counts the motifs of every account. `und` is the deduplicated undirected money graph and
/// `pairs` the payer→payee pairs it was built from.
pub fn motif_counts(und: &Csr, pairs: &PairGraph) -> Motifs {
    let n = und.n_nodes();
    let (out, inc) = directed(n, pairs);
    let rows: Vec<Row> = (0..n as u32)
        .into_par_iter()
        .map_init(
            || Scratch {
                mark: vec![0; n],
                paths: vec![0; n],
                touched: Vec::new(),
            },
            |s, v| row(v, und, &out, &inc, s),
        )
        .collect();
    let clustering = rows
        .iter()
        .enumerate()
        .map(|(v, r)| {
            let d = und.degree(v as u32) as f64;
            if d < 2.0 {
                0.0
            } else {
                (f64::from(r.tri) / (d * (d - 1.0) / 2.0)).min(1.0) as f32
            }
        })
        .collect();
    Motifs {
        triangles: rows.iter().map(|r| r.tri).collect(),
        clustering,
        reciprocal: rows.iter().map(|r| r.recip).collect(),
        cycle3: rows.iter().map(|r| r.cyc3).collect(),
        ff_source: rows.iter().map(|r| r.ff_src).collect(),
        ff_sink: rows.iter().map(|r| r.ff_sink).collect(),
        ff_middle: rows.iter().map(|r| r.ff_mid).collect(),
        squares: rows.iter().map(|r| r.squares).collect(),
        core: core_numbers(und),
        edge_common: rows.into_iter().flat_map(|r| r.common).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_numbers_of_a_triangle_with_a_tail() {
        // 0-1-2 triangle, 2-3 tail.
        let g = Csr::from_edges(
            4,
            &[(0, 1, 1.0), (1, 2, 1.0), (0, 2, 1.0), (2, 3, 1.0)],
            true,
        );
        assert_eq!(core_numbers(&g), vec![2, 2, 2, 1]);
    }

    #[test]
    fn core_numbers_of_an_empty_graph() {
        let g = Csr::from_edges(0, &[], true);
        assert!(core_numbers(&g).is_empty());
    }
}
