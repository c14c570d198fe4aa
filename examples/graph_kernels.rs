//! Times the CSR kernels (connected components, PageRank, label propagation) on a
//! 1,000,000-edge planted-partition graph (1,000 groups of 200) and writes the edge list so
//! `scripts/compare-igraph.sh` can time python-igraph's C core on the very same graph.
//!
//! Usage: graph_kernels [EDGE_LIST_OUT]

use std::io::Write;
use std::time::Instant;

use sightline::fixtures::graphs::{nmi, planted_partition};
use sightline::fraud::csr::{Csr, PageRankOptions, csr_components, label_propagation, pagerank};

fn cpu_secs() -> f64 {
    // utime + stime of this process, from /proc (Linux); NaN elsewhere.
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return f64::NAN;
    };
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|x| x.parse::<f64>().ok())
            .unwrap_or(f64::NAN)
    };
    (ticks(11) + ticks(12)) / 100.0
}

fn timed<T>(name: &str, f: impl FnOnce() -> T) -> T {
    let (w, c) = (Instant::now(), cpu_secs());
    let out = f();
    println!(
        "rust   {name:<20} wall {:>7.3} s  cpu {:>7.3} s",
        w.elapsed().as_secs_f64(),
        cpu_secs() - c
    );
    out
}

fn main() -> std::io::Result<()> {
    let edges = planted_partition(1000, 200, 4, 1, 7);
    let n = 200_000;
    if let Some(path) = std::env::args().nth(1) {
        let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
        for (a, b) in &edges {
            writeln!(f, "{a} {b}")?;
        }
    }
    println!(
        "graph: {n} nodes, {} edges (1,000 planted groups of 200)",
        edges.len()
    );
    let weighted: Vec<(u32, u32, f32)> = edges.iter().map(|&(a, b)| (a, b, 1.0)).collect();
    let undirected = timed("build undirected CSR", || {
        Csr::from_edges(n, &weighted, true)
    });
    let directed = timed("build directed CSR", || {
        Csr::from_edges(n, &weighted, false)
    });
    let comps = timed("components", || csr_components(&undirected));
    println!("       components: {}", comps.sizes.len());
    let pr = timed("pagerank", || {
        pagerank(&directed, PageRankOptions::default())
    });
    println!("       pagerank sum {:.6}", pr.iter().sum::<f64>());
    let lpa = timed("label propagation", || {
        label_propagation(&undirected, 1, 100)
    });
    let truth: Vec<u32> = (0..n as u32).map(|v| v / 200).collect();
    let k = lpa.iter().copied().max().map_or(0, |m| m + 1);
    println!(
        "       label propagation: {k} communities, NMI vs planted {:.4}",
        nmi(&lpa, &truth)
    );
    Ok(())
}
